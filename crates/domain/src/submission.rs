//! Filing a dossier: who may file, through which channel, at which agency,
//! for which applicant and with which documents. Pure rules; the use case
//! looks up what they need and stores what they allow.

use crate::rule::RuleCode;
use chrono::NaiveDate;

use crate::Role;
use crate::document::DocumentKind;
use crate::dossier::Channel;
use crate::identity::{CitizenId, TaxCode, normalize_phone};
use crate::procedure::{OnlineLevel, RequiredDocument};
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

/// Officers file only at their own agency.
pub fn may_file_at(role: Role, own_agency: Option<i64>, agency_id: i64) -> bool {
    role != Role::Officer || own_agency == Some(agency_id)
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
mod tests {
    use super::*;
    use crate::validation::FieldError;

    /// (role, channel asked, online level, channel taken, problems)
    type ChannelCase = (Role, Option<Channel>, OnlineLevel, Channel, &'static [&'static str]);
    /// (applicant, identity known, (field, code) problems)
    type ApplicantCase = (ApplicantInput, bool, Vec<(&'static str, &'static str)>);

    fn codes(errors: FieldErrors) -> Vec<(String, String)> {
        errors
            .into_vec()
            .into_iter()
            .map(|FieldError { field, problem }| (field, problem.code().to_owned()))
            .collect()
    }

    #[test]
    fn who_files_through_which_channel() {
        use Channel::{Counter as C, Online as O, Postal as P};
        use OnlineLevel as L;
        // (role, requested, online level, channel taken, problems)
        let cases: [ChannelCase; 10] = [
            (Role::Citizen, None, L::Full, O, &[]),
            (Role::Citizen, Some(C), L::Full, C, &["not_allowed"]),
            (Role::Citizen, None, L::None, O, &["online_not_offered"]),
            (Role::Integration, None, L::Partial, O, &[]),
            (Role::Integration, Some(P), L::Full, P, &["not_allowed"]),
            (Role::Officer, None, L::None, C, &[]),
            (Role::Officer, Some(P), L::None, P, &[]),
            (Role::Officer, Some(O), L::None, O, &["online_not_offered"]),
            (Role::Admin, None, L::Full, C, &[]),
            (Role::Leader, Some(C), L::Full, C, &["not_allowed"]),
        ];
        for (role, requested, level, want, problems) in cases {
            let mut errors = FieldErrors::new();
            let got = check_channel(role, requested, level, &mut errors);
            let got_problems: Vec<String> = codes(errors).into_iter().map(|(_, c)| c).collect();
            assert_eq!(
                (got, got_problems),
                (want, problems.iter().map(|s| (*s).to_owned()).collect()),
                "{role} {requested:?} {level:?}"
            );
        }
        let filers: Vec<Role> = Role::ALL
            .iter()
            .copied()
            .filter(|r| may_submit(*r))
            .collect();
        assert_eq!(
            filers,
            [Role::Citizen, Role::Officer, Role::Admin, Role::Integration]
        );
    }

    #[test]
    fn receiving_agency() {
        let cases = [
            (Some(1), None, Ok(AgencyChoice::Own(1))),
            (Some(1), Some(1), Ok(AgencyChoice::Own(1))),
            (Some(1), Some(2), Err("agency_mismatch")),
            (None, Some(2), Ok(AgencyChoice::Chosen(2))),
            (None, None, Err("required")),
        ];
        for (own, requested, want) in cases {
            let got = choose_agency(own, requested).map_err(|(field, p)| {
                assert_eq!(field, "agency_id");
                p.code().to_owned()
            });
            assert_eq!(got, want.map_err(str::to_owned), "{own:?} {requested:?}");
        }
        assert!(may_file_at(Role::Officer, Some(3), 3));
        assert!(!may_file_at(Role::Officer, Some(3), 4));
        assert!(!may_file_at(Role::Officer, None, 4));
        assert!(may_file_at(Role::Admin, None, 4));
        assert!(may_file_at(Role::Integration, None, 4));
    }

    #[test]
    fn applicant_checks() {
        let person = |id: &str| ApplicantInput {
            id_number: Some(id.to_owned()),
            full_name: "Trần Thị Bích".to_owned(),
            ..ApplicantInput::default()
        };
        let firm = ApplicantInput {
            tax_code: Some("0100233488".to_owned()),
            full_name: "Công ty An Phát".to_owned(),
            ..ApplicantInput::default()
        };
        let cases: Vec<ApplicantCase> = vec![
            (person("038190001234"), true, vec![]),
            (
                person("12"),
                false,
                vec![("applicant.id_number", "invalid_citizen_id")],
            ),
            (firm.clone(), true, vec![]),
            (
                ApplicantInput {
                    tax_code: Some("12".to_owned()),
                    ..ApplicantInput::default()
                },
                false,
                vec![("applicant.tax_code", "invalid_tax_code")],
            ),
            (
                ApplicantInput {
                    tax_code: firm.tax_code.clone(),
                    ..person("038190001234")
                },
                false,
                vec![("applicant.tax_code", "person_or_organization")],
            ),
            (
                ApplicantInput {
                    id_number: Some("  ".to_owned()),
                    ..ApplicantInput::default()
                },
                false,
                vec![("applicant.id_number", "required")],
            ),
            (
                ApplicantInput {
                    date_of_birth: NaiveDate::from_ymd_opt(1990, 1, 1),
                    ..firm.clone()
                },
                true,
                vec![("applicant.date_of_birth", "not_for_organizations")],
            ),
            (
                ApplicantInput {
                    phone: Some("12ab".to_owned()),
                    email: Some("not-an-email".to_owned()),
                    ..person("038190001234")
                },
                true,
                vec![
                    ("applicant.phone", "invalid_format"),
                    ("applicant.email", "invalid_format"),
                ],
            ),
            (
                ApplicantInput {
                    phone: Some("0912 345 678".to_owned()),
                    email: Some(" an@example.vn ".to_owned()),
                    ..person("038190001234")
                },
                true,
                vec![],
            ),
        ];
        for (input, known, want) in cases {
            let mut errors = FieldErrors::new();
            let identity = check_applicant(&input, &mut errors);
            let want: Vec<(String, String)> = want
                .iter()
                .map(|(f, c)| ((*f).to_owned(), (*c).to_owned()))
                .collect();
            assert_eq!(
                (identity.is_some(), codes(errors)),
                (known, want),
                "{input:?}"
            );
        }
        let mut errors = FieldErrors::new();
        check_new_applicant(
            &ApplicantInput {
                full_name: " ".to_owned(),
                ..firm
            },
            &mut errors,
        );
        check_citizen_names_no_applicant(true, &mut errors);
        check_citizen_names_no_applicant(false, &mut errors);
        assert_eq!(
            codes(errors),
            [
                ("applicant.full_name".to_owned(), "required".to_owned()),
                ("applicant".to_owned(), "applicant_is_you".to_owned())
            ]
        );
    }

    #[test]
    fn who_may_use_which_document() {
        const ME: i64 = 1;
        const HER: i64 = 50;
        let stored = |uploaded_by| DocumentHolding {
            kind: DocumentKind::Input,
            uploaded_by,
            applicant_id: Some(HER),
            in_store: true,
            in_a_dossier: true,
        };
        let fresh = DocumentHolding {
            kind: DocumentKind::Input,
            uploaded_by: ME,
            applicant_id: None,
            in_store: false,
            in_a_dossier: false,
        };
        let user = |role, verified| DocumentUser {
            user_id: ME,
            role,
            verified,
            applicant_id: HER,
        };
        use DocumentUse::{Fresh, Stored, Unusable};
        let cases = [
            (None, user(Role::Officer, false), Unusable),
            (Some(fresh), user(Role::Citizen, false), Fresh),
            (
                Some(DocumentHolding {
                    in_a_dossier: true,
                    ..fresh
                }),
                user(Role::Citizen, false),
                Unusable,
            ),
            (
                Some(DocumentHolding {
                    uploaded_by: 9,
                    ..fresh
                }),
                user(Role::Officer, false),
                Unusable,
            ),
            (
                Some(DocumentHolding {
                    kind: DocumentKind::Result,
                    ..fresh
                }),
                user(Role::Citizen, false),
                Unusable,
            ),
            (Some(stored(9)), user(Role::Officer, false), Stored),
            (Some(stored(9)), user(Role::Citizen, true), Stored),
            (Some(stored(9)), user(Role::Citizen, false), Unusable),
            (Some(stored(ME)), user(Role::Citizen, false), Stored),
            (
                Some(DocumentHolding {
                    applicant_id: Some(7),
                    ..stored(9)
                }),
                user(Role::Officer, false),
                Unusable,
            ),
        ];
        for (doc, user, want) in cases {
            assert_eq!(document_use(doc, user), want, "{doc:?} {user:?}");
        }
    }

    #[test]
    fn document_lines_meet_requirements() {
        let req = |code: &str, reusable, optional| RequiredDocument {
            code: code.to_owned(),
            name: code.to_owned(),
            originals: 1,
            copies: 0,
            template: None,
            reusable,
            optional,
        };
        let required = [
            req("D1", false, false),
            req("D2", true, false),
            req("D3", false, true),
        ];
        let input = |r: &str, id: Option<&str>, paper| DocumentInput {
            requirement: Some(r.to_owned()),
            document_id: id.map(str::to_owned),
            paper,
        };
        let use_of = |id: &str| match id {
            "fresh" => DocumentUse::Fresh,
            "stored" => DocumentUse::Stored,
            _ => DocumentUse::Unusable,
        };
        let run = |inputs: &[DocumentInput], channel| {
            let mut errors = FieldErrors::new();
            let lines = document_lines(&required, inputs, channel, use_of, &mut errors);
            (lines.len(), codes(errors))
        };
        let e = |f: &str, c: &str| (f.to_owned(), c.to_owned());
        let ok = [
            input("D1", Some("fresh"), false),
            input(" D2 ", Some("stored"), false),
        ];
        assert_eq!(run(&ok, Channel::Online), (2, vec![]));
        let paper = [input("D1", None, true), input("D2", None, true)];
        assert_eq!(run(&paper, Channel::Counter), (2, vec![]));
        assert_eq!(
            run(&paper, Channel::Online),
            (
                0,
                vec![
                    e("documents[0].paper", "paper_not_online"),
                    e("documents[1].paper", "paper_not_online")
                ]
            )
        );
        let wrong = [
            input("D1", Some("stored"), false),
            input("D2", Some("gone"), false),
            input("D9", Some("fresh"), false),
            input("D3", Some("fresh"), true),
            input("D3", None, false),
        ];
        assert_eq!(
            run(&wrong, Channel::Counter),
            (
                0,
                vec![
                    e("documents[0].document_id", "not_reusable"),
                    e("documents[1].document_id", "document_not_usable"),
                    e("documents[2].requirement", "unknown_requirement"),
                    e("documents[3].paper", "paper_or_file"),
                    e("documents[4].document_id", "required"),
                ]
            )
        );
        assert_eq!(
            run(&[input("D3", Some("fresh"), false)], Channel::Online),
            (
                1,
                vec![
                    e("documents.D1", "missing_document"),
                    e("documents.D2", "missing_document")
                ]
            )
        );
    }
}
