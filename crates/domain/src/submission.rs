//! Filing a dossier: who may file, through which channel, at which agency,
//! for which applicant and with which documents. Pure rules; the use case
//! looks up what they need and stores what they allow.

use chrono::NaiveDate;

use crate::Role;
use crate::document::DocumentKind;
use crate::dossier::Channel;
use crate::identity::{CitizenId, TaxCode, normalize_phone};
use crate::procedure::{OnlineLevel, RequiredDocument};
use crate::rule::RuleCode;
use crate::user::is_plausible_email;
use crate::validation::{FieldErrors, Problem};

/// The roles that file dossiers: citizens for themselves, officers at the
/// counter, the portal (integration) online, admins anything.
pub fn may_submit(role: Role) -> bool {
    matches!(
        role,
        Role::Citizen | Role::Officer | Role::Integration | Role::Admin
    )
}

/// The channel a filing takes when none is named: the counter for staff,
/// online for everyone else.
pub fn default_channel(role: Role) -> Channel {
    match role {
        Role::Officer | Role::Admin => Channel::Counter,
        _ => Channel::Online,
    }
}

/// The channel of a filing, with what is wrong with it: citizens and the
/// portal file online only, and only procedures offered online take online
/// filings.
pub fn check_channel(
    role: Role,
    requested: Option<Channel>,
    online_level: OnlineLevel,
    errors: &mut FieldErrors,
) -> Channel {
    let channel = requested.unwrap_or(default_channel(role));
    match (role, channel) {
        (Role::Citizen | Role::Integration, Channel::Online) | (Role::Officer | Role::Admin, _) => {
        }
        _ => errors.add("channel", Problem::one_of(&["online"])),
    }
    if channel == Channel::Online && online_level == OnlineLevel::None {
        errors.add("channel", Problem::rule(RuleCode::OnlineNotOffered));
    }
    channel
}

/// Which agency receives a filing, before it is looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgencyChoice {
    /// The procedure's own agency.
    Own(i64),
    /// One the filer chose, for a procedure offered at every agency of some
    /// levels; it must exist at one of them.
    Chosen(i64),
}

/// The receiving agency: the procedure's, or for procedures without one
/// (commune-wide procedures) the one the filer names.
pub fn choose_agency(
    procedure_agency: Option<i64>,
    requested: Option<i64>,
) -> Result<AgencyChoice, (&'static str, Problem)> {
    match (procedure_agency, requested) {
        (Some(own), None) => Ok(AgencyChoice::Own(own)),
        (Some(own), Some(chosen)) if chosen == own => Ok(AgencyChoice::Own(own)),
        (Some(_), Some(_)) => Err(("agency_id", Problem::rule(RuleCode::AgencyMismatch))),
        (None, Some(chosen)) => Ok(AgencyChoice::Chosen(chosen)),
        (None, None) => Err(("agency_id", Problem::Required)),
    }
}

/// Where an officer's counter filing is taken in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intake {
    /// At the competent agency itself (and every filing not made by an officer).
    AtAgency,
    /// At this receiving point, for the competent agency (Decree 118/2025).
    AtReceivingPoint(i64),
    Refused,
}

/// Officers file at their own agency; an officer of a receiving point (a
/// public service centre or commune counter) also for any other agency's
/// procedure, which that agency then handles.
pub fn intake(
    role: Role,
    own_agency: Option<i64>,
    own_is_receiving_point: bool,
    agency_id: i64,
) -> Intake {
    if role != Role::Officer {
        return Intake::AtAgency;
    }
    match own_agency {
        Some(own) if own == agency_id => Intake::AtAgency,
        Some(own) if own_is_receiving_point => Intake::AtReceivingPoint(own),
        _ => Intake::Refused,
    }
}

/// The applicant as a filer names it.
#[derive(Debug, Clone, Default)]
pub struct ApplicantInput {
    /// A person's 12-digit citizen ID number; or, for an organisation,
    pub id_number: Option<String>,
    /// its tax code. Exactly one of the two.
    pub tax_code: Option<String>,
    pub full_name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
}

/// Who an applicant is: a person by citizen ID number, an organisation by tax code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplicantIdentity {
    Person(CitizenId),
    Organization(TaxCode),
}

/// A value that was sent and is not blank.
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Checks a named applicant (lengths apart): exactly one of ID number and tax
/// code, valid; no birth date for an organisation; phone and e-mail as
/// written on forms. Returns who it is when that much is clear.
pub fn check_applicant(
    input: &ApplicantInput,
    errors: &mut FieldErrors,
) -> Option<ApplicantIdentity> {
    let identity = match (given(&input.id_number), given(&input.tax_code)) {
        (Some(id), None) => match CitizenId::parse(id) {
            Ok(id) => Some(ApplicantIdentity::Person(id)),
            Err(_) => {
                errors.add(
                    "applicant.id_number",
                    Problem::rule(RuleCode::InvalidCitizenId),
                );
                None
            }
        },
        (None, Some(code)) => match TaxCode::parse(code) {
            Ok(code) => Some(ApplicantIdentity::Organization(code)),
            Err(_) => {
                errors.add(
                    "applicant.tax_code",
                    Problem::rule(RuleCode::InvalidTaxCode),
                );
                None
            }
        },
        (Some(_), Some(_)) => {
            errors.add(
                "applicant.tax_code",
                Problem::rule(RuleCode::PersonOrOrganization),
            );
            None
        }
        (None, None) => {
            errors.add("applicant.id_number", Problem::Required);
            None
        }
    };
    if matches!(identity, Some(ApplicantIdentity::Organization(_))) && input.date_of_birth.is_some()
    {
        errors.add(
            "applicant.date_of_birth",
            Problem::rule(RuleCode::NotForOrganizations),
        );
    }
    if let Some(phone) = input.phone.as_deref().filter(|p| !p.trim().is_empty())
        && normalize_phone(phone).is_none()
    {
        errors.add("applicant.phone", Problem::format("0912345678"));
    }
    if let Some(email) = input.email.as_deref().filter(|e| !e.trim().is_empty())
        && !is_plausible_email(email.trim())
    {
        errors.add("applicant.email", Problem::format("name@example.vn"));
    }
    identity
}

/// A new applicant record needs a name.
pub fn check_new_applicant(input: &ApplicantInput, errors: &mut FieldErrors) {
    if input.full_name.trim().is_empty() {
        errors.add("applicant.full_name", Problem::Required);
    }
}

/// A citizen files for itself: it names no applicant.
pub fn check_citizen_names_no_applicant(named: bool, errors: &mut FieldErrors) {
    if named {
        errors.add("applicant", Problem::rule(RuleCode::ApplicantIsYou));
    }
}

/// One document line of a filing, as sent.
#[derive(Debug, Clone, Default)]
pub struct DocumentInput {
    /// Code of the procedure's required document it meets (`D1`…).
    pub requirement: Option<String>,
    /// A file uploaded by the submitter, or one from the applicant's store.
    pub document_id: Option<String>,
    /// Handed in on paper at the counter.
    pub paper: bool,
}

/// What decides whether a filer may use an existing document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocumentHolding {
    pub kind: DocumentKind,
    pub uploaded_by: i64,
    /// Its owner, once it belongs to an applicant.
    pub applicant_id: Option<i64>,
    pub in_store: bool,
    /// Already part of some dossier.
    pub in_a_dossier: bool,
}

/// Who uses a document, for which applicant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocumentUser {
    pub user_id: i64,
    pub role: Role,
    /// A citizen account that proved it is the person of its ID number.
    pub verified: bool,
    pub applicant_id: i64,
}

/// How a filer may use a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentUse {
    /// Uploaded by this filer and not yet part of any dossier.
    Fresh,
    /// In the applicant's store.
    Stored,
    /// Missing, someone else's, or already used.
    Unusable,
}

/// Whether (and how) a filer may attach a document: from the applicant's
/// store (an unverified citizen account only what it uploaded itself), or
/// a fresh upload of its own.
pub fn document_use(doc: Option<DocumentHolding>, user: DocumentUser) -> DocumentUse {
    let Some(doc) = doc else {
        return DocumentUse::Unusable;
    };
    if doc.in_store && doc.applicant_id == Some(user.applicant_id) {
        let may = user.role != Role::Citizen || doc.uploaded_by == user.user_id || user.verified;
        return if may {
            DocumentUse::Stored
        } else {
            DocumentUse::Unusable
        };
    }
    if doc.kind == DocumentKind::Input && doc.uploaded_by == user.user_id && !doc.in_a_dossier {
        return DocumentUse::Fresh;
    }
    DocumentUse::Unusable
}

/// A document line the filing will store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentLine {
    pub requirement: String,
    pub document_id: Option<String>,
    pub paper: bool,
    /// Taken from the applicant's store (not a fresh upload).
    pub reused: bool,
}

/// The document lines of a filing: each requirement met by an upload, a
/// stored copy (when the requirement allows reuse), or paper at the counter;
/// every requirement that is not optional met. `use_of` says how the filer
/// may use a document id.
pub fn document_lines(
    required: &[RequiredDocument],
    inputs: &[DocumentInput],
    channel: Channel,
    mut use_of: impl FnMut(&str) -> DocumentUse,
    errors: &mut FieldErrors,
) -> Vec<DocumentLine> {
    let mut lines = Vec::new();
    for (i, doc) in inputs.iter().enumerate() {
        let field = format!("documents[{i}]");
        let requirement = doc.requirement.as_deref().map_or("", str::trim);
        let Some(req) = required.iter().find(|r| r.code == requirement) else {
            errors.add(
                format!("{field}.requirement"),
                Problem::rule(RuleCode::UnknownRequirement),
            );
            continue;
        };
        let line = |document_id: Option<&String>, paper, reused| DocumentLine {
            requirement: req.code.clone(),
            document_id: document_id.cloned(),
            paper,
            reused,
        };
        match (&doc.document_id, doc.paper) {
            (None, true) if channel != Channel::Online => lines.push(line(None, true, false)),
            (None, true) => errors.add(
                format!("{field}.paper"),
                Problem::rule(RuleCode::PaperNotOnline),
            ),
            (Some(_), true) => errors.add(
                format!("{field}.paper"),
                Problem::rule(RuleCode::PaperOrFile),
            ),
            (None, false) => errors.add(format!("{field}.document_id"), Problem::Required),
            (Some(id), false) => match use_of(id) {
                DocumentUse::Fresh => lines.push(line(Some(id), false, false)),
                DocumentUse::Stored if req.reusable => lines.push(line(Some(id), false, true)),
                DocumentUse::Stored => errors.add(
                    format!("{field}.document_id"),
                    Problem::rule(RuleCode::NotReusable),
                ),
                DocumentUse::Unusable => errors.add(
                    format!("{field}.document_id"),
                    Problem::rule(RuleCode::DocumentNotUsable),
                ),
            },
        }
    }
    for req in required.iter().filter(|r| !r.optional) {
        let met = inputs
            .iter()
            .any(|d| d.requirement.as_deref().map(str::trim) == Some(req.code.as_str()));
        if !met {
            errors.add(
                format!("documents.{}", req.code),
                Problem::rule(RuleCode::MissingDocument),
            );
        }
    }
    lines
}

#[cfg(test)]
#[path = "submission_tests.rs"]
mod tests;
