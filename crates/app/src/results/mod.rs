//! Issued results (docs/results.md): every result version signed by its
//! agency's key under a public verification code; the public answer to a
//! code; the published keys; corrections (`correct`); results by post
//! (`postal`, the actions themselves are in `dossiers::act`); revocations
//! (`revoke`).

use chrono::{DateTime, Utc};
use motcua_domain::dossier::Dossier;
use motcua_domain::results::{
    IssuedFacts, NotInForce, Requester, RevocationFacts, SignedFormat, Standing, VERIFY_CODE_BYTES,
    canonical_text, is_verify_code, result_number, revocation_text, verify_code,
};
use motcua_persistence::repo::dossiers::{self as dossier_repo, NewEvent};
use motcua_persistence::repo::results::{self as repo, ResultVersion};
use motcua_persistence::time::{from_db, to_db};
use motcua_persistence::{AnyConnection, StoreResult};
use rand::RngCore;
use serde::Serialize;

use crate::dossiers::{Principal, WorkflowError, WorkflowResult};

pub mod correct;
pub mod keys;
pub mod postal;
pub mod revoke;

pub use keys::SealingKey;

/// What a correction adds to its version.
#[derive(Debug, Clone)]
pub struct CorrectionFacts {
    pub reason: String,
    pub requested_by: Requester,
    pub requested_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
}

/// Issues the dossier's next result version: a fresh verification code,
/// the facts (every result file's hash) frozen and signed with the agency's
/// key in the current format; the version in force before (if any) becomes
/// superseded. A result revoked meanwhile is not corrected (409).
pub fn issue_version(
    conn: &mut AnyConnection,
    sealing: &SealingKey,
    dossier: &Dossier,
    files_sha256: Vec<String>,
    created_by: i64,
    correction: Option<CorrectionFacts>,
    now: DateTime<Utc>,
) -> WorkflowResult<ResultVersion> {
    let version = repo::versions_of(conn, dossier.id)?
        .last()
        .map_or(1, |v| v.version + 1);
    let mut random = [0u8; VERIFY_CODE_BYTES];
    rand::rng().fill_bytes(&mut random);
    let facts = IssuedFacts {
        code: verify_code(&random),
        dossier_code: dossier.code.clone(),
        version,
        number: result_number(&dossier.code, version),
        issued_at: from_db(to_db(now)),
        agency_code: dossier.agency.code.clone(),
        agency_name: dossier.agency.name.clone(),
        procedure_code: dossier.procedure.code.clone(),
        procedure_name: dossier.procedure.name.clone(),
        files_sha256,
        format: SignedFormat::CURRENT,
    };
    let signer = keys::signer_for(conn, sealing, dossier.agency.id, now)?;
    let signature = signer.sign(canonical_text(&facts).as_bytes());
    let row = ResultVersion {
        code: facts.code,
        dossier_id: dossier.id,
        dossier_code: facts.dossier_code,
        version,
        number: facts.number,
        issued_at: facts.issued_at,
        agency_code: facts.agency_code,
        agency_name: facts.agency_name,
        procedure_code: facts.procedure_code,
        procedure_name: facts.procedure_name,
        files_sha256: facts.files_sha256,
        signed_format: facts.format,
        standing: Standing::Valid,
        standing_changed_at: None,
        kid: signer.kid,
        signature,
        correction_reason: correction.as_ref().map(|c| c.reason.clone()),
        requested_by: correction.as_ref().map(|c| c.requested_by),
        requested_at: correction.as_ref().map(|c| c.requested_at),
        due_at: correction.as_ref().map(|c| c.due_at),
        created_by,
        revocation: None,
    };
    let superseded = repo::add_version(conn, &row)?;
    if version > 1 && superseded == 0 {
        // The version before was revoked by a concurrent request.
        return Err(WorkflowError::NotInForce(NotInForce::Revoked));
    }
    Ok(row)
}

/// Writes a trail line for a step that leaves the dossier's status as it
/// is (a correction, a postal return chosen, a revocation).
pub(crate) fn trail(
    conn: &mut AnyConnection,
    caller: Principal,
    dossier: &Dossier,
    action: &str,
    note: Option<&str>,
    data: serde_json::Value,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    dossier_repo::append_event(
        conn,
        &NewEvent {
            dossier_id: dossier.id,
            action,
            from_status: Some(dossier.status),
            to_status: dossier.status,
            actor_id: Some(caller.user_id),
            actor_role: caller.role,
            actor_agency_id: caller.agency_id,
            note,
            data: Some(data),
            at: now,
        },
    )?;
    Ok(())
}

/// The signature of a result version and how to check it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignatureView {
    /// Always `EdDSA` (Ed25519).
    pub alg: &'static str,
    /// The key's id in `/.well-known/motcua-keys`.
    pub kid: String,
    /// The 64-byte signature, base64url without padding.
    pub value: String,
    /// The exact UTF-8 text signed (docs/results.md, "The signed text").
    pub signed_text: String,
}

/// A revocation as the verification answer shows it, signed as such.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevocationView {
    pub revoked_at: DateTime<Utc>,
    pub reason: String,
    /// The agency's signature over `motcua-revocation-v1` (docs/results.md).
    pub signature: SignatureView,
}

/// What anyone holding a verification code learns about the result.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResultVerification {
    pub code: String,
    pub standing: Standing,
    /// When it stopped being valid (superseded or revoked).
    pub standing_changed_at: Option<DateTime<Utc>>,
    /// For a superseded version: the number of the version now in force.
    pub current_number: Option<String>,
    pub number: String,
    pub version: i32,
    pub issued_at: DateTime<Utc>,
    pub dossier_code: String,
    pub agency_code: String,
    pub agency_name: String,
    pub procedure_code: String,
    pub procedure_name: String,
    /// SHA-256 of the (first) result file, hex; absent for a result on paper only.
    pub file_sha256: Option<String>,
    /// SHA-256 of every result file, hex, in the order attached (empty on
    /// paper only). A `motcua-result-v2` signature covers them all; a v1
    /// signature (versions issued before) covers the first only.
    pub files_sha256: Vec<String>,
    /// A correction's reason, on the versions a correction made.
    pub correction_reason: Option<String>,
    pub signature: SignatureView,
    /// For a revoked version: when, why, and the agency's signature of it.
    pub revocation: Option<RevocationView>,
}

impl ResultVerification {
    fn of(v: ResultVersion, current_number: Option<String>) -> Self {
        let facts = IssuedFacts {
            code: v.code.clone(),
            dossier_code: v.dossier_code.clone(),
            version: v.version,
            number: v.number.clone(),
            issued_at: v.issued_at,
            agency_code: v.agency_code.clone(),
            agency_name: v.agency_name.clone(),
            procedure_code: v.procedure_code.clone(),
            procedure_name: v.procedure_name.clone(),
            files_sha256: v.files_sha256.clone(),
            format: v.signed_format,
        };
        let revocation = v.revocation.map(|r| {
            let text = revocation_text(&RevocationFacts {
                code: v.code.clone(),
                dossier_code: v.dossier_code.clone(),
                version: v.version,
                number: v.number.clone(),
                agency_code: v.agency_code.clone(),
                revoked_at: r.revoked_at,
                reason: r.reason.clone(),
            });
            RevocationView {
                revoked_at: r.revoked_at,
                reason: r.reason,
                signature: SignatureView {
                    alg: "EdDSA",
                    kid: r.kid,
                    value: r.signature,
                    signed_text: text,
                },
            }
        });
        ResultVerification {
            signature: SignatureView {
                alg: "EdDSA",
                kid: v.kid,
                value: v.signature,
                signed_text: canonical_text(&facts),
            },
            code: v.code,
            standing: v.standing,
            standing_changed_at: v.standing_changed_at,
            current_number,
            number: v.number,
            version: v.version,
            issued_at: v.issued_at,
            dossier_code: v.dossier_code,
            agency_code: v.agency_code,
            agency_name: v.agency_name,
            procedure_code: v.procedure_code,
            procedure_name: v.procedure_name,
            file_sha256: v.files_sha256.first().cloned(),
            files_sha256: v.files_sha256,
            correction_reason: v.correction_reason,
            revocation,
        }
    }
}

/// The public answer to a verification code; `None` for any code that is
/// not one (malformed or unknown alike).
pub fn verify(conn: &mut AnyConnection, code: &str) -> StoreResult<Option<ResultVerification>> {
    if !is_verify_code(code) {
        return Ok(None);
    }
    let Some(version) = repo::version_by_code(conn, code)? else {
        return Ok(None);
    };
    let current = match version.standing {
        Standing::Superseded => repo::versions_of(conn, version.dossier_id)?
            .into_iter()
            .find(|v| v.standing == Standing::Valid)
            .map(|v| v.number),
        Standing::Valid | Standing::Revoked => None,
    };
    Ok(Some(ResultVerification::of(version, current)))
}

/// A dossier's result versions as staff and the applicant see them.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VersionView {
    pub verification: ResultVerification,
    /// What a QR code on the result carries: the public verification address.
    pub qr_payload: String,
    pub requested_by: Option<Requester>,
    pub requested_at: Option<DateTime<Utc>>,
    /// A correction's due moment (its own, from the procedure's correction time).
    pub due_at: Option<DateTime<Utc>>,
}

/// The verification address of a code, the payload of its QR code.
pub fn qr_payload(public_base_url: &str, code: &str) -> String {
    format!(
        "{}/api/v1/verify/{code}",
        public_base_url.trim_end_matches('/')
    )
}

/// A dossier's result versions, first issued first.
pub fn versions(
    conn: &mut AnyConnection,
    dossier_id: i64,
    public_base_url: &str,
) -> StoreResult<Vec<VersionView>> {
    let all = repo::versions_of(conn, dossier_id)?;
    let current = all
        .iter()
        .find(|v| v.standing == Standing::Valid)
        .map(|v| v.number.clone());
    Ok(all
        .into_iter()
        .map(|v| {
            let superseded = v.standing == Standing::Superseded;
            VersionView {
                qr_payload: qr_payload(public_base_url, &v.code),
                requested_by: v.requested_by,
                requested_at: v.requested_at,
                due_at: v.due_at,
                verification: ResultVerification::of(v, current.clone().filter(|_| superseded)),
            }
        })
        .collect())
}

/// A published key.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicKey {
    pub kid: String,
    /// Always `EdDSA`.
    pub alg: &'static str,
    /// Always `OKP` with curve `Ed25519` (as in a JWK).
    pub kty: &'static str,
    pub crv: &'static str,
    /// The 32-byte public key, base64url without padding (a JWK's `x`).
    pub x: String,
    pub agency_id: i64,
    pub created_at: DateTime<Utc>,
    /// Retired keys sign nothing new but still verify what they signed.
    pub retired_at: Option<DateTime<Utc>>,
}

/// Every key, in use or retired.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeySet {
    pub keys: Vec<PublicKey>,
}

pub fn key_set(conn: &mut AnyConnection) -> StoreResult<KeySet> {
    let keys = repo::all_keys(conn)?
        .into_iter()
        .map(|k| PublicKey {
            kid: k.kid,
            alg: "EdDSA",
            kty: "OKP",
            crv: "Ed25519",
            x: k.public_key,
            agency_id: k.agency_id,
            created_at: k.created_at,
            retired_at: k.retired_at,
        })
        .collect();
    Ok(KeySet { keys })
}
