//! The National Public Service Portal (Cổng Dịch vụ công quốc gia): the
//! dossier-sync message built from a dossier, the portal's own validation of
//! such a message (what its sandbox answers), the status transitions the
//! portal accepts, the catch-up path when several changes were not pushed
//! yet, the per-dossier sync status and the retry back-off.
//!
//! Status codes are the portal's 1–10 (`DossierStatus::portal_code`).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::dossier::{Dossier, DossierStatus};
use crate::identity::{CitizenId, TaxCode, is_valid_agency_code};
use crate::procedure::is_valid_procedure_code;

/// The portal's code of a dossier being returned by post (`posting`, added
/// with results by post). Until that status exists here a posting dossier
/// is still `result_ready`, which is also 9.
pub const POSTING_CODE: u8 = 9;

/// The applicant's identity as the portal knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ApplicantIdentity {
    /// 1: citizen ID number (12 digits); 2: tax code (organizations).
    pub id_type: u8,
    #[cfg_attr(feature = "openapi", schema(example = "079203001234"))]
    pub id_number: String,
    pub full_name: String,
}

/// One dossier-sync message (one status of one dossier, with its fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SyncMessage {
    #[cfg_attr(feature = "openapi", schema(example = "000.00.20.H56-261123-0001"))]
    pub dossier_code: String,
    #[cfg_attr(feature = "openapi", schema(example = "1.000591"))]
    pub procedure_code: String,
    #[cfg_attr(feature = "openapi", schema(example = "000.00.20.H56"))]
    pub agency_code: String,
    pub applicant: ApplicantIdentity,
    /// How it was filed: 1 counter, 2 online, 3 postal.
    pub channel: u8,
    /// How the result is returned: 1 counter, 2 online, 3 postal.
    pub result_channel: u8,
    /// The portal's status code, 1–10.
    pub status: u8,
    pub submitted_at: DateTime<Utc>,
    pub received_at: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub fees_due_vnd: i64,
    pub fees_paid_vnd: i64,
    /// Every requested fee is paid (or none was requested).
    pub paid: bool,
    /// The outcome once there is one: `issued`, `refused`, `rejected`,
    /// `withdrawn` or `cancelled`.
    pub result: Option<String>,
}

/// The outcome a status stands for, as the message carries it.
pub fn result_of(status: DossierStatus) -> Option<&'static str> {
    match status {
        DossierStatus::ResultReady | DossierStatus::Returned => Some("issued"),
        DossierStatus::Refused => Some("refused"),
        DossierStatus::Rejected => Some("rejected"),
        DossierStatus::Withdrawn => Some("withdrawn"),
        DossierStatus::Cancelled => Some("cancelled"),
        _ => None,
    }
}

impl SyncMessage {
    /// The message for the dossier as it stands now (`status`: the code to
    /// send, normally `dossier.portal_status()`; an earlier one on a catch-up).
    pub fn of(dossier: &Dossier, status: u8) -> Self {
        let (id_type, id_number) = match (&dossier.applicant.id_number, &dossier.applicant.tax_code)
        {
            (Some(id), _) => (1, id.clone()),
            (None, Some(tax)) => (2, tax.clone()),
            (None, None) => (1, String::new()),
        };
        let current = dossier.portal_status() == status;
        Self {
            dossier_code: dossier.code.clone(),
            procedure_code: dossier.procedure.code.clone(),
            agency_code: dossier.agency.code.clone(),
            applicant: ApplicantIdentity {
                id_type,
                id_number,
                full_name: dossier.applicant.full_name.clone(),
            },
            channel: dossier.channel.portal_code(),
            result_channel: dossier.result_channel.portal_code(),
            status,
            submitted_at: dossier.submitted_at,
            received_at: dossier.received_at.filter(|_| status != 1),
            due_at: dossier.due_at.filter(|_| status != 1),
            finished_at: dossier.finished_at.filter(|_| current),
            fees_due_vnd: dossier.fees_due_vnd,
            fees_paid_vnd: dossier.fees_paid_vnd,
            paid: !dossier.fees_unpaid(),
            result: result_of(dossier.status)
                .filter(|_| current)
                .map(str::to_owned),
        }
    }
}

/// Codes after which the portal accepts nothing more.
pub fn is_final(code: u8) -> bool {
    matches!(code, 3 | 7 | 8 | 10)
}

/// The codes a dossier's first message may carry: newly registered,
/// received at the counter, or waiting for fees requested at filing.
pub const FIRST_CODES: [u8; 3] = [1, 2, 6];

/// Whether the portal accepts `to` after `from` (`None`: nothing received
/// yet for the dossier). Derived from the state machine of DOMAIN.md:
/// receive 1→2, refuse 1→3, assign 2→4, supplement requests →5 and back,
/// withdraw or cancel from any unfinished state →7/8, reject 4→8, issue
/// 4→9, return 9→10; 6 (fees unpaid) may come and go while unfinished. A
/// repeat of the same unfinished code is an update of the other fields.
pub fn transition_allowed(from: Option<u8>, to: u8) -> bool {
    let Some(from) = from else {
        return FIRST_CODES.contains(&to);
    };
    if is_final(from) || !(1..=10).contains(&to) {
        return false;
    }
    if from == to {
        return true;
    }
    let next: &[u8] = match from {
        1 => &[2, 3, 5, 6, 7, 8],
        2 => &[4, 5, 6, 7, 8],
        4 => &[5, 6, 7, 8, 9],
        5 => &[1, 2, 4, 6, 7, 8],
        6 => &[1, 2, 4, 5, 7, 8, 9],
        9 => &[6, 10],
        _ => &[],
    };
    next.contains(&to)
}

/// The codes to send, in order, to bring the portal from `from` to `to`:
/// just `to` when the portal accepts it directly, otherwise the shortest
/// chain of accepted codes ending in `to` (changes made between two pushes
/// are caught up). `[to]` when no chain exists: the portal then refuses it
/// and the refusal is the dossier's sync failure.
pub fn catch_up(from: Option<u8>, to: u8) -> Vec<u8> {
    if transition_allowed(from, to) {
        return vec![to];
    }
    // Breadth-first over the ten codes; `prev[c]` is where c was reached from.
    let mut prev: [Option<Option<u8>>; 11] = [None; 11];
    let mut queue: std::collections::VecDeque<Option<u8>> = std::collections::VecDeque::new();
    queue.push_back(from);
    while let Some(at) = queue.pop_front() {
        for code in 1..=10u8 {
            let seen =
                prev.get(usize::from(code)).copied().flatten().is_some() || Some(code) == from;
            if seen || !transition_allowed(at, code) {
                continue;
            }
            if let Some(slot) = prev.get_mut(usize::from(code)) {
                *slot = Some(at);
            }
            if code == to {
                let mut path = vec![to];
                let mut cursor = at;
                while let Some(c) = cursor {
                    if Some(c) == from {
                        break;
                    }
                    path.push(c);
                    cursor = prev.get(usize::from(c)).copied().flatten().flatten();
                }
                path.reverse();
                return path;
            }
            if MAIN_LINE.contains(&code) {
                queue.push_back(Some(code));
            }
        }
    }
    vec![to]
}

/// The codes a catch-up may pass through: the main line of a dossier's
/// life (registered, received, in process, processed), never a state it
/// was not in such as fees owed or a supplement request.
const MAIN_LINE: [u8; 4] = [1, 2, 4, 9];

/// The portal's answer to a message: success, or its error code and message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PortalAnswer {
    pub success: bool,
    /// `missing_field`, `bad_format`, `bad_transition`, `unauthorized` or `unavailable`.
    pub error_code: Option<String>,
    pub message: Option<String>,
}

impl PortalAnswer {
    pub fn ok() -> Self {
        Self {
            success: true,
            error_code: None,
            message: None,
        }
    }

    pub fn error(code: &str, message: impl Into<String>) -> Self {
        Self {
            success: false,
            error_code: Some(code.to_owned()),
            message: Some(message.into()),
        }
    }
}

/// Why the portal refused a message: its error code and message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    /// `missing_field`, `bad_format` or `bad_transition`.
    pub code: String,
    pub message: String,
}

impl Refusal {
    fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

fn required(message: &SyncMessage) -> Result<(), Refusal> {
    let missing = |field: &str| Refusal::new("missing_field", format!("{field} is required"));
    for (field, value) in [
        ("dossier_code", &message.dossier_code),
        ("procedure_code", &message.procedure_code),
        ("agency_code", &message.agency_code),
        ("applicant.id_number", &message.applicant.id_number),
        ("applicant.full_name", &message.applicant.full_name),
    ] {
        if value.trim().is_empty() {
            return Err(missing(field));
        }
    }
    if matches!(message.status, 2 | 4 | 5 | 9 | 10) && message.received_at.is_none() {
        return Err(missing("received_at"));
    }
    if matches!(message.status, 4 | 9) && message.due_at.is_none() {
        return Err(missing("due_at"));
    }
    if is_final(message.status) && message.finished_at.is_none() {
        return Err(missing("finished_at"));
    }
    if matches!(message.status, 3 | 8 | 9 | 10) && message.result.is_none() {
        return Err(missing("result"));
    }
    Ok(())
}

fn formats(message: &SyncMessage) -> Result<(), Refusal> {
    let bad = |field: &str, what: &str| Refusal::new("bad_format", format!("{field}: {what}"));
    if !is_valid_agency_code(&message.agency_code) {
        return Err(bad("agency_code", "not an electronic agency identifier"));
    }
    if !is_valid_procedure_code(&message.procedure_code) {
        return Err(bad("procedure_code", "not a national catalog code"));
    }
    let prefix = format!("{}-", message.agency_code);
    let rest = message.dossier_code.strip_prefix(&prefix).unwrap_or("");
    let well_formed = rest.split_once('-').is_some_and(|(day, seq)| {
        day.len() == 6
            && day.bytes().all(|b| b.is_ascii_digit())
            && seq.len() >= 4
            && seq.bytes().all(|b| b.is_ascii_digit())
    });
    if !well_formed {
        return Err(bad("dossier_code", "not <agency code>-<yymmdd>-<sequence>"));
    }
    let identity_ok = match message.applicant.id_type {
        1 => CitizenId::parse(&message.applicant.id_number).is_ok(),
        2 => TaxCode::parse(&message.applicant.id_number).is_ok(),
        _ => false,
    };
    if !identity_ok {
        return Err(bad(
            "applicant",
            "not a citizen ID number (1) or tax code (2)",
        ));
    }
    if !(1..=3).contains(&message.channel) || !(1..=3).contains(&message.result_channel) {
        return Err(bad("channel", "1 counter, 2 online or 3 postal"));
    }
    if !(1..=10).contains(&message.status) {
        return Err(bad("status", "a code from 1 to 10"));
    }
    if message.fees_due_vnd < 0 || message.fees_paid_vnd < 0 {
        return Err(bad("fees", "amounts are not negative"));
    }
    Ok(())
}

/// The portal's check of a message, given the last status it accepted for
/// the dossier: required fields, code formats, then the transition.
pub fn validate(message: &SyncMessage, last: Option<u8>) -> Result<(), Refusal> {
    required(message)?;
    formats(message)?;
    if !transition_allowed(last, message.status) {
        let from = last.map_or_else(|| "nothing".to_owned(), |c| c.to_string());
        return Err(Refusal::new(
            "bad_transition",
            format!("status {} may not follow {from}", message.status),
        ));
    }
    Ok(())
}

crate::string_enum! {
    /// Where a dossier's synchronisation stands.
    pub enum SyncStatus {
        /// A change waits to be pushed.
        Pending => "pending",
        /// The portal holds the dossier's current status.
        Synced => "synced",
        /// The last push failed (see the reason); retried with back-off
        /// until the attempts are spent, then on the next change or a resync.
        Failed => "failed",
    }
}

/// Waits after the 1st, 2nd, … failed push of one change.
const RETRY_WAITS_SECS: [i64; 6] = [30, 120, 600, 1800, 3600, 4 * 3600];

/// How long to wait after the `failed_attempts`-th failure (1-based);
/// `None` once the attempts are spent.
pub fn retry_after(failed_attempts: u32) -> Option<Duration> {
    let index = usize::try_from(failed_attempts.checked_sub(1)?).ok()?;
    RETRY_WAITS_SECS.get(index).map(|s| Duration::seconds(*s))
}

/// Decision 766's time for a change to reach the portal: a dossier counts
/// as synced in time when each of its changes was pushed within this long.
pub const SYNC_WITHIN_HOURS: i64 = 24;

/// Whether a change made at `changed_at` and pushed at `synced_at` was on time.
pub fn synced_in_time(changed_at: DateTime<Utc>, synced_at: DateTime<Utc>) -> bool {
    synced_at - changed_at <= Duration::hours(SYNC_WITHIN_HOURS)
}

/// A portal code of an inbound filing: 1–64 of `[A-Za-z0-9._-]`.
pub fn is_valid_portal_code(code: &str) -> bool {
    (1..=64).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

#[cfg(test)]
#[path = "portal_tests.rs"]
mod tests;
