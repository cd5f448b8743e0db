//! Issued results: results by post, corrections (đính chính) and the public
//! verification of every result version.
//!
//! A result is issued as version 1; each correction adds a version and
//! supersedes the one before, which stays readable. Every version has an
//! unguessable public code and is signed, at issue, by its agency's Ed25519
//! key over [`canonical_text`]; the signing itself (and the randomness) is
//! the app's.

use chrono::{DateTime, Utc};

use crate::Role;
use crate::calendar::WorkingCalendar;
use crate::dossier::{Actor, DossierStatus};
use crate::procedure::TimeUnit;
use crate::rules::{PersonName, Reason, TextRule};
use crate::text::nfc;
use crate::validation::{FieldError, FieldErrors, Problem};

/// Working days to correct a result when the procedure names none.
pub const DEFAULT_CORRECTION_DAYS: u32 = 5;
/// Random bytes of a verification code: 160 bits.
pub const VERIFY_CODE_BYTES: usize = 20;
/// Characters of a verification code (base32 of [`VERIFY_CODE_BYTES`]).
pub const VERIFY_CODE_LEN: usize = 32;
/// The most characters of a postal address.
pub const MAX_ADDRESS: u64 = 500;
/// What a tracking number looks like (letters, digits, dashes; 4 to 40).
pub const TRACKING_EXAMPLE: &str = "EE123456789VN";

crate::string_enum! {
    /// Where an issued result version stands.
    pub enum Standing {
        /// The result in force.
        Valid => "valid",
        /// Replaced by a corrected version.
        Superseded => "superseded",
        /// Withdrawn by the agency.
        Revoked => "revoked",
    }
}

crate::string_enum! {
    /// Who asked for a correction.
    pub enum Requester {
        Applicant => "applicant",
        Agency => "agency",
    }
}

const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// The public verification code of `random` bytes: RFC 4648 base32,
/// lower case, no padding (32 characters for 20 bytes).
pub fn verify_code(random: &[u8; VERIFY_CODE_BYTES]) -> String {
    let mut out = String::with_capacity(VERIFY_CODE_LEN);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for byte in random {
        buffer = (buffer << 8) | u32::from(*byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(BASE32[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(BASE32[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Whether `code` could be a verification code (checked before any read,
/// so junk costs nothing; the answer to junk is the same 404).
pub fn is_verify_code(code: &str) -> bool {
    code.len() == VERIFY_CODE_LEN && code.bytes().all(|b| BASE32.contains(&b))
}

/// The number printed on a result version: the dossier code, `KQ` and the
/// version (`…/KQ1`, a first correction `…/KQ2`).
pub fn result_number(dossier_code: &str, version: i32) -> String {
    format!("{dossier_code}/KQ{version}")
}

/// The facts of an issued result version that its agency's key signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedFacts {
    pub code: String,
    pub dossier_code: String,
    pub version: i32,
    pub number: String,
    pub issued_at: DateTime<Utc>,
    pub agency_code: String,
    pub agency_name: String,
    pub procedure_code: String,
    pub procedure_name: String,
    /// SHA-256 of each result file, hex, in the order they were attached;
    /// empty for a result on paper only. The v1 text signs the first only.
    pub files_sha256: Vec<String>,
    /// The shape of the signed text.
    pub format: SignedFormat,
}

/// The shape of the text a result version's signature covers. Every format
/// stays verifiable: a version keeps the one it was signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignedFormat {
    /// `motcua-result-v1`: the first file's hash only (`-` for none).
    V1,
    /// `motcua-result-v2`: the count of files and each file's hash.
    V2,
}

impl SignedFormat {
    /// The format new versions are signed in.
    pub const CURRENT: Self = Self::V2;

    pub fn number(self) -> i32 {
        match self {
            Self::V1 => 1,
            Self::V2 => 2,
        }
    }

    pub fn from_number(n: i32) -> Option<Self> {
        match n {
            1 => Some(Self::V1),
            2 => Some(Self::V2),
            _ => None,
        }
    }
}

/// One value on one line: backslashes and line breaks escaped.
fn line_value(value: &str) -> String {
    nfc(value)
        .replace('\\', "\\\\")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
}

/// `key=value` lines, each value escaped and each line ending in `\n`,
/// after the header line.
fn lines_text(header: &str, lines: &[(&str, String)]) -> String {
    let mut text = format!("{header}\n");
    for (key, value) in lines {
        text.push_str(key);
        text.push('=');
        text.push_str(&line_value(value));
        text.push('\n');
    }
    text
}

fn utc_seconds(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The canonical text signed for a result version (UTF-8, NFC, one
/// `key=value` line each in this order, `\n` after every line, the moment
/// in UTC to the second). v1 ends with the first file's hash (`-` for a
/// paper-only result); v2 with `files=<n>` and one `file_sha256` line per file.
pub fn canonical_text(f: &IssuedFacts) -> String {
    let mut lines = vec![
        ("code", f.code.clone()),
        ("dossier", f.dossier_code.clone()),
        ("version", f.version.to_string()),
        ("number", f.number.clone()),
        ("issued_at", utc_seconds(f.issued_at)),
        ("agency_code", f.agency_code.clone()),
        ("agency_name", f.agency_name.clone()),
        ("procedure_code", f.procedure_code.clone()),
        ("procedure_name", f.procedure_name.clone()),
    ];
    match f.format {
        SignedFormat::V1 => {
            let first = f.files_sha256.first().cloned().unwrap_or("-".into());
            lines.push(("file_sha256", first));
            lines_text("motcua-result-v1", &lines)
        }
        SignedFormat::V2 => {
            lines.push(("files", f.files_sha256.len().to_string()));
            lines.extend(f.files_sha256.iter().map(|h| ("file_sha256", h.clone())));
            lines_text("motcua-result-v2", &lines)
        }
    }
}

/// What the agency's key signs when it revokes a result version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationFacts {
    pub code: String,
    pub dossier_code: String,
    pub version: i32,
    pub number: String,
    pub agency_code: String,
    pub revoked_at: DateTime<Utc>,
    pub reason: String,
}

/// The canonical text of a revocation, like [`canonical_text`]:
/// `motcua-revocation-v1`, then code, dossier, version, number,
/// agency_code, revoked_at, reason.
pub fn revocation_text(f: &RevocationFacts) -> String {
    let lines = [
        ("code", f.code.clone()),
        ("dossier", f.dossier_code.clone()),
        ("version", f.version.to_string()),
        ("number", f.number.clone()),
        ("agency_code", f.agency_code.clone()),
        ("revoked_at", utc_seconds(f.revoked_at)),
        ("reason", f.reason.clone()),
    ];
    lines_text("motcua-revocation-v1", &lines)
}

/// Where and to whom a result goes by post, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostalAddress {
    pub recipient: String,
    pub address: String,
    pub phone: String,
    pub fee_vnd: i64,
}

/// Checks a postal return: recipient, address and phone required; the fee
/// (paid to the postal service) not negative.
pub fn check_postal(
    recipient: Option<&str>,
    address: Option<&str>,
    phone: Option<&str>,
    fee_vnd: Option<i64>,
) -> Result<PostalAddress, Vec<FieldError>> {
    let mut errors = FieldErrors::new();
    let recipient = recipient.map(nfc).unwrap_or_default();
    PersonName::check(&mut errors, "recipient", &recipient);
    let address = address.map(nfc).unwrap_or_default();
    if address.is_empty() {
        errors.add("address", Problem::Required);
    } else if u64::try_from(address.chars().count()).unwrap_or(u64::MAX) > MAX_ADDRESS {
        errors.add("address", Problem::TooLong { max: MAX_ADDRESS });
    }
    let phone = match phone.map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) => crate::rules::PhoneNumber::check(&mut errors, "phone", p),
        None => {
            errors.add("phone", Problem::Required);
            None
        }
    };
    let fee_vnd = fee_vnd.unwrap_or(0);
    if !(0..=crate::payment::MAX_AMOUNT_VND).contains(&fee_vnd) {
        errors.add(
            "fee_vnd",
            Problem::OutOfRange {
                min: 0,
                max: crate::payment::MAX_AMOUNT_VND,
            },
        );
    }
    errors.into_result()?;
    Ok(PostalAddress {
        recipient,
        address,
        phone: phone.unwrap_or_default(),
        fee_vnd,
    })
}

/// A result may be sent by post until it has left the counter.
pub fn may_choose_postal(status: DossierStatus) -> bool {
    !status.is_finished() && status != DossierStatus::Posting
}

/// The postal service's tracking number given when the result is handed over.
pub fn tracking_number(value: Option<&str>) -> Result<String, FieldError> {
    let error = |problem| FieldError {
        field: "tracking_number".to_owned(),
        problem,
    };
    let value = value.map(str::trim).unwrap_or_default();
    if value.is_empty() {
        return Err(error(Problem::Required));
    }
    let shaped = (4..=40).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if shaped {
        Ok(value.to_ascii_uppercase())
    } else {
        Err(error(Problem::format(TRACKING_EXAMPLE)))
    }
}

/// Who may say where a result goes by post: the applicant (or the portal
/// for what it filed), a reception officer of the receiving agency, an admin.
pub fn may_set_postal(actor: Actor) -> bool {
    match actor.role {
        Role::Admin => true,
        Role::Citizen | Role::Integration => actor.is_applicant,
        Role::Officer => actor.at_receiving_agency,
        Role::Leader => false,
    }
}

/// Who records a correction: an officer of the dossier's agencies, or an admin.
pub fn may_record_correction(actor: Actor) -> bool {
    match actor.role {
        Role::Admin => true,
        Role::Officer => actor.at_receiving_agency || actor.at_handling_agency,
        Role::Citizen | Role::Integration | Role::Leader => false,
    }
}

/// Who revokes an issued result: the role that approves results, a leader
/// of the dossier's agencies, or an admin.
pub fn may_revoke(actor: Actor) -> bool {
    match actor.role {
        Role::Admin => true,
        Role::Leader => actor.at_receiving_agency || actor.at_handling_agency,
        Role::Citizen | Role::Integration | Role::Officer => false,
    }
}

/// Why a result version cannot be revoked, or corrected further.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotInForce {
    /// A correction replaced it: revoke the version in force instead.
    Superseded,
    /// Revoked already: nothing more is done to it.
    Revoked,
}

/// Whether a version of this standing may be revoked (only the one in force).
pub fn check_revocable(standing: Standing) -> Result<(), NotInForce> {
    match standing {
        Standing::Valid => Ok(()),
        Standing::Superseded => Err(NotInForce::Superseded),
        Standing::Revoked => Err(NotInForce::Revoked),
    }
}

/// Whether a result whose latest version stands so may be corrected: not
/// once revoked (a revoked result is withdrawn, not corrected).
pub fn check_correctable(latest: Option<Standing>) -> Result<(), NotInForce> {
    match latest {
        Some(Standing::Revoked) => Err(NotInForce::Revoked),
        Some(Standing::Valid | Standing::Superseded) | None => Ok(()),
    }
}

/// A result may be corrected once issued: waiting to be returned, or returned.
pub fn may_correct(status: DossierStatus) -> bool {
    matches!(status, DossierStatus::ResultReady | DossierStatus::Returned)
}

/// A correction's or a revocation's reason: required, at most
/// [`Reason::MAX`] characters.
pub fn correction_reason(value: Option<&str>) -> Result<String, Vec<FieldError>> {
    let reason = value.map(nfc).unwrap_or_default();
    let mut errors = FieldErrors::new();
    Reason::check(&mut errors, "reason", &reason);
    errors.into_result()?;
    Ok(reason)
}

/// When a correction requested at `requested_at` is due: the procedure's
/// correction time (or [`DEFAULT_CORRECTION_DAYS`]) in working days,
/// counted like a dossier's due date.
pub fn correction_due(
    calendar: &WorkingCalendar,
    requested_at: DateTime<Utc>,
    days: Option<u32>,
) -> DateTime<Utc> {
    calendar.due(
        requested_at,
        days.unwrap_or(DEFAULT_CORRECTION_DAYS),
        TimeUnit::WorkingDays,
    )
}

#[cfg(test)]
#[path = "results_tests.rs"]
mod tests;
