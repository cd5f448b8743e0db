//! Choosing to receive the result by post, at submission or later, before
//! the result leaves the counter. The hand-over, the delivery and a failed
//! delivery are dossier actions (`post`, `deliver`, `delivery_failed`).

use chrono::{DateTime, Utc};
use motcua_domain::dossier::Dossier;
use motcua_domain::event::EventType;
use motcua_domain::results::{check_postal, may_choose_postal, may_set_postal};
use motcua_persistence::repo::dossiers;
use motcua_persistence::repo::results::{self as repo, PostalReturn};
use motcua_persistence::{AnyConnection, write_tx};

use crate::dossiers::{Principal, WorkflowError, WorkflowResult, visible};

/// Where and to whom the result goes by post.
#[derive(Debug, Clone, Default)]
pub struct PostalInput {
    pub recipient: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
    /// The postal service's fee, if any (đồng).
    pub fee_vnd: Option<i64>,
}

/// Records that the result goes by post (or changes where to). Checks, in
/// order: visible (404), the caller may (403), the version (412), the
/// status (409 `invalid_transition`), the input (422). The trail gets a
/// `choose_postal_return` line.
pub fn choose(
    conn: &mut AnyConnection,
    caller: Principal,
    code: &str,
    expected_version: Option<i32>,
    input: &PostalInput,
    now: DateTime<Utc>,
) -> WorkflowResult<(Dossier, PostalReturn)> {
    write_tx(conn, |conn| {
        let (dossier, actor) = visible(conn, caller, code)?;
        if !may_set_postal(actor) {
            return Err(WorkflowError::Forbidden);
        }
        if expected_version.is_some_and(|v| v != dossier.version) {
            return Err(WorkflowError::Stale {
                current: dossier.version,
            });
        }
        if !may_choose_postal(dossier.status) {
            return Err(WorkflowError::NotAllowed {
                status: dossier.status,
                allowed: Vec::new(),
            });
        }
        let postal = check_postal(
            input.recipient.as_deref(),
            input.address.as_deref(),
            input.phone.as_deref(),
            input.fee_vnd,
        )?;
        if !repo::choose_postal(conn, dossier.id, dossier.version, &postal, now)? {
            let current = dossiers::by_id(conn, dossier.id)?.version;
            return Err(WorkflowError::Stale { current });
        }
        let dossier = dossiers::by_id(conn, dossier.id)?;
        crate::outbox::dossier_change(conn, EventType::DossierPostalReturnChosen, &dossier, now)?;
        let chosen = repo::postal_of(conn, dossier.id)?.ok_or(WorkflowError::NotFound)?;
        super::trail(
            conn,
            caller,
            &dossier,
            "choose_postal_return",
            None,
            serde_json::json!({
                "recipient": chosen.recipient,
                "address": chosen.address,
                "fee_vnd": chosen.fee_vnd,
            }),
            now,
        )?;
        Ok((dossier, chosen))
    })
}
