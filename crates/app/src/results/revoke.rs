//! Revoking an issued result (thu hồi): the agency withdraws the version in
//! force, with a reason; the public verification then answers `revoked`,
//! with the revocation signed by the agency's key. A revoked result is not
//! revoked again nor corrected. The dossier's status and KPIs are untouched.

use chrono::{DateTime, Utc};
use motcua_domain::event::EventType;
use motcua_domain::results::{
    NotInForce, RevocationFacts, check_revocable, correction_reason, may_revoke, revocation_text,
};
use motcua_persistence::repo::results::{self as repo, Revocation};
use motcua_persistence::time::{from_db, to_db};
use motcua_persistence::{AnyConnection, write_tx};

use super::correct::Signing;
use super::{VersionView, keys, trail, versions};
use crate::dossiers::{Principal, WorkflowError, WorkflowResult, visible};

/// Revokes version `version` of the dossier's result. Checks, in order:
/// visible (404), the caller may (403: a leader of the dossier's agencies or
/// an admin), the version exists (404), it is in force (409
/// `result_superseded` / `result_revoked`), the reason (422). Writes the
/// trail line `revoke_result` and the event `dossier.result_revoked`.
pub fn revoke(
    conn: &mut AnyConnection,
    caller: Principal,
    code: &str,
    version: i32,
    reason: Option<&str>,
    signing: &Signing<'_>,
    now: DateTime<Utc>,
) -> WorkflowResult<Vec<VersionView>> {
    write_tx(conn, |conn| {
        let (dossier, actor) = visible(conn, caller, code)?;
        if !may_revoke(actor) {
            return Err(WorkflowError::Forbidden);
        }
        let target = repo::versions_of(conn, dossier.id)?
            .into_iter()
            .find(|v| v.version == version)
            .ok_or(WorkflowError::NotFound)?;
        check_revocable(target.standing).map_err(WorkflowError::NotInForce)?;
        let reason = correction_reason(reason)?;
        let revoked_at = from_db(to_db(now));
        let text = revocation_text(&RevocationFacts {
            code: target.code.clone(),
            dossier_code: target.dossier_code.clone(),
            version: target.version,
            number: target.number.clone(),
            agency_code: target.agency_code.clone(),
            revoked_at,
            reason: reason.clone(),
        });
        let signer = keys::signer_for(conn, signing.sealing, dossier.agency.id, now)?;
        let revocation = Revocation {
            signature: signer.sign(text.as_bytes()),
            kid: signer.kid,
            reason,
            revoked_by: caller.user_id,
            revoked_at,
        };
        if !repo::revoke(conn, &target.code, &revocation)? {
            // A concurrent revocation or correction got there first.
            let now_standing = repo::version_by_code(conn, &target.code)?.map(|v| v.standing);
            let why = now_standing
                .map_or(Err(NotInForce::Revoked), check_revocable)
                .err()
                .unwrap_or(NotInForce::Revoked);
            return Err(WorkflowError::NotInForce(why));
        }
        trail(
            conn,
            caller,
            &dossier,
            "revoke_result",
            Some(&revocation.reason),
            serde_json::json!({"version": target.version, "number": target.number}),
            now,
        )?;
        crate::outbox::dossier_change(conn, EventType::DossierResultRevoked, &dossier, now)?;
        Ok(versions(conn, dossier.id, signing.public_base_url)?)
    })
}
