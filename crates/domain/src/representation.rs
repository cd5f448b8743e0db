//! Representatives (ủy quyền): a dossier filed by a person or an organisation
//! on behalf of the applicant, with the authorisation document attached.
//! Pure rules: what a filing must say about its representative, whom tracking
//! and notifications reach, and how far the representative's reach goes.
//! Who sees the dossier is [`crate::access::reach`]'s rule (a citizen who
//! filed for someone else reaches it while it is open).

use chrono::NaiveDate;

use crate::dossier::Channel;
use crate::identity::{CitizenId, TaxCode, normalize_phone};
use crate::rule::RuleCode;
use crate::rules::{PersonName, Reason, TextRule};
use crate::submission::{ApplicantIdentity, DocumentUse};
use crate::user::is_plausible_email;
use crate::validation::{FieldErrors, Problem};

crate::string_enum! {
    /// Who represents the applicant.
    pub enum RepresentativeKind {
        /// A person, by citizen ID number.
        Person => "person",
        /// An organisation (a law firm, a service company), by tax code.
        Organisation => "organisation",
    }
}

crate::string_enum! {
    /// Whom tracking and notifications reach.
    pub enum Contact {
        Applicant => "applicant",
        Representative => "representative",
    }
}

/// The representative as a filer names it.
#[derive(Debug, Clone, Default)]
pub struct RepresentativeInput {
    pub kind: Option<RepresentativeKind>,
    pub full_name: String,
    /// A person's 12-digit citizen ID number.
    pub id_number: Option<String>,
    /// An organisation's tax code.
    pub tax_code: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
    /// The authorisation document: an upload (or a document of the applicant's store).
    pub authorisation_document_id: Option<String>,
    /// The authorisation handed in on paper (at the counter).
    pub authorisation_paper: bool,
    /// The last day the authorisation is valid, if it says one.
    pub valid_until: Option<NaiveDate>,
}

/// A representative as checked: formats normalised, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Representative {
    pub kind: RepresentativeKind,
    pub full_name: String,
    pub id_number: Option<String>,
    pub tax_code: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
    pub valid_until: Option<NaiveDate>,
}

/// How the authorisation document came with the filing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorisation {
    pub document_id: Option<String>,
    pub paper: bool,
    /// Taken from the applicant's store.
    pub reused: bool,
}

const FIELD: &str = "representative";

fn field(name: &str) -> String {
    format!("{FIELD}.{name}")
}

fn given(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|s| !s.is_empty())
}

/// The representative's identity: a person's citizen ID number or an
/// organisation's tax code, as its kind says (the other one left out).
fn identity(
    input: &RepresentativeInput,
    errors: &mut FieldErrors,
) -> Option<(Option<String>, Option<String>)> {
    let (id, tax) = (
        given(input.id_number.as_deref()),
        given(input.tax_code.as_deref()),
    );
    match input.kind {
        None => {
            errors.add(field("kind"), Problem::Required);
            None
        }
        Some(RepresentativeKind::Person) => {
            if tax.is_some() {
                errors.add(
                    field("tax_code"),
                    Problem::rule(RuleCode::PersonOrOrganization),
                );
            }
            match id.map(CitizenId::parse) {
                None => errors.add(field("id_number"), Problem::Required),
                Some(Err(_)) => errors.add(
                    field("id_number"),
                    Problem::rule(RuleCode::InvalidCitizenId),
                ),
                Some(Ok(id)) if tax.is_none() => return Some((Some(id.as_str().to_owned()), None)),
                Some(Ok(_)) => {}
            }
            None
        }
        Some(RepresentativeKind::Organisation) => {
            if id.is_some() {
                errors.add(
                    field("id_number"),
                    Problem::rule(RuleCode::PersonOrOrganization),
                );
            }
            match tax.map(TaxCode::parse) {
                None => errors.add(field("tax_code"), Problem::Required),
                Some(Err(_)) => {
                    errors.add(field("tax_code"), Problem::rule(RuleCode::InvalidTaxCode))
                }
                Some(Ok(code)) if id.is_none() => {
                    return Some((None, Some(code.as_str().to_owned())));
                }
                Some(Ok(_)) => {}
            }
            None
        }
    }
}

/// Checks a named representative: kind and identity, name, phone and e-mail
/// as written on forms, someone other than the applicant, an authorisation
/// not already expired `today` (the filing's local day).
pub fn check_representative(
    input: &RepresentativeInput,
    applicant: Option<&ApplicantIdentity>,
    today: NaiveDate,
    errors: &mut FieldErrors,
) -> Option<Representative> {
    let before = errors.len();
    let identity = identity(input, errors);
    PersonName::check(errors, &field("full_name"), &input.full_name);
    Reason::check_optional(errors, &field("address"), input.address.as_deref());
    let phone = given(input.phone.as_deref());
    let phone = match phone.map(normalize_phone) {
        Some(None) => {
            errors.add(field("phone"), Problem::format("0912345678"));
            None
        }
        Some(normalised) => normalised,
        None => None,
    };
    let email = given(input.email.as_deref()).map(str::to_lowercase);
    if email.as_deref().is_some_and(|e| !is_plausible_email(e)) {
        errors.add(field("email"), Problem::format("name@example.vn"));
    }
    if input.valid_until.is_some_and(|last| last < today) {
        errors.add(
            field("valid_until"),
            Problem::rule(RuleCode::AuthorisationExpired),
        );
    }
    let (id_number, tax_code) = identity?;
    if same_as_applicant(id_number.as_deref(), tax_code.as_deref(), applicant) {
        let name = if id_number.is_some() {
            "id_number"
        } else {
            "tax_code"
        };
        errors.add(
            field(name),
            Problem::rule(RuleCode::RepresentativeIsApplicant),
        );
    }
    (errors.len() == before).then(|| Representative {
        kind: input.kind.unwrap_or(RepresentativeKind::Person),
        full_name: crate::text::nfc(&input.full_name),
        id_number,
        tax_code,
        phone,
        email,
        address: given(input.address.as_deref()).map(crate::text::nfc),
        valid_until: input.valid_until,
    })
}

/// The representative is the applicant itself: same ID number or tax code.
fn same_as_applicant(
    id_number: Option<&str>,
    tax_code: Option<&str>,
    applicant: Option<&ApplicantIdentity>,
) -> bool {
    match applicant {
        Some(ApplicantIdentity::Person(id)) => id_number == Some(id.as_str()),
        Some(ApplicantIdentity::Organization(code)) => tax_code == Some(code.as_str()),
        None => false,
    }
}

/// The authorisation document: required; an upload of the filer's (or a
/// document of the applicant's store), or paper at the counter. `use_of`
/// says how the filer may use a document id.
pub fn check_authorisation(
    input: &RepresentativeInput,
    channel: Channel,
    use_of: impl FnOnce(&str) -> DocumentUse,
    errors: &mut FieldErrors,
) -> Option<Authorisation> {
    let id = given(input.authorisation_document_id.as_deref());
    let doc_field = field("authorisation_document_id");
    match (id, input.authorisation_paper) {
        (None, false) => errors.add(doc_field, Problem::rule(RuleCode::AuthorisationRequired)),
        (Some(_), true) => errors.add(
            field("authorisation_paper"),
            Problem::rule(RuleCode::PaperOrFile),
        ),
        (None, true) if channel == Channel::Online => errors.add(
            field("authorisation_paper"),
            Problem::rule(RuleCode::PaperNotOnline),
        ),
        (None, true) => {
            return Some(Authorisation {
                document_id: None,
                paper: true,
                reused: false,
            });
        }
        (Some(id), false) => match use_of(id) {
            DocumentUse::Unusable => {
                errors.add(doc_field, Problem::rule(RuleCode::DocumentNotUsable))
            }
            usable => {
                return Some(Authorisation {
                    document_id: Some(id.to_owned()),
                    paper: false,
                    reused: usable == DocumentUse::Stored,
                });
            }
        },
    }
    None
}

/// Whom tracking and notifications reach: the one asked for; when none is,
/// the representative when there is one, else the applicant.
pub fn contact(
    requested: Option<Contact>,
    has_representative: bool,
    errors: &mut FieldErrors,
) -> Contact {
    match (requested, has_representative) {
        (Some(Contact::Representative), false) => {
            errors.add(
                "contact",
                Problem::rule(RuleCode::ContactWithoutRepresentative),
            );
            Contact::Applicant
        }
        (Some(chosen), _) => chosen,
        (None, true) => Contact::Representative,
        (None, false) => Contact::Applicant,
    }
}

/// What a citizen filing names: for itself nothing; for someone else both
/// the applicant and itself as representative.
pub fn check_citizen_filing(
    applicant_named: bool,
    representative_named: bool,
    errors: &mut FieldErrors,
) {
    match (applicant_named, representative_named) {
        (true, false) => errors.add("applicant", Problem::rule(RuleCode::ApplicantIsYou)),
        (false, true) => errors.add("applicant", Problem::rule(RuleCode::RepresentativeFor)),
        _ => {}
    }
}

/// A citizen filing for someone else is the representative: a person with
/// the account's own ID number.
pub fn check_citizen_is_representative(
    own_id_number: Option<&str>,
    representative: &Representative,
    errors: &mut FieldErrors,
) {
    let is_you = representative.kind == RepresentativeKind::Person
        && own_id_number.is_some()
        && representative.id_number.as_deref() == own_id_number;
    if !is_you {
        errors.add(
            field("id_number"),
            Problem::rule(RuleCode::RepresentativeIsYou),
        );
    }
}

/// A phone and an e-mail to reach someone on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reachable<'a> {
    pub phone: Option<&'a str>,
    pub email: Option<&'a str>,
}

/// Where notifications of a dossier go: the chosen contact's phone and
/// e-mail (the applicant's when there is no representative).
pub fn contact_details<'a>(
    contact: Contact,
    applicant: Reachable<'a>,
    representative: Option<Reachable<'a>>,
) -> Reachable<'a> {
    match (contact, representative) {
        (Contact::Representative, Some(rep)) => rep,
        _ => applicant,
    }
}

/// Public tracking by ID number: the applicant's always; the
/// representative's (person or organisation) only while the dossier is open.
pub fn may_track(applicant_matches: bool, representative_matches: bool, finished: bool) -> bool {
    applicant_matches || (representative_matches && !finished)
}

/// The trail's words for a filing by a representative.
pub fn trail_line(representative: &str, applicant: &str) -> String {
    format!("Nộp bởi người đại diện {representative} cho {applicant}")
}

#[cfg(test)]
#[path = "representation_tests.rs"]
mod tests;
