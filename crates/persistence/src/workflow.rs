//! Dossier use cases: the domain's rules applied to stored dossiers, each in
//! one transaction with the trail line it produces.

use chrono::{DateTime, NaiveDate, Utc};
use motcua_domain::Role;
use motcua_domain::access::{self, Holding, IdentityStatus, ListScope, Viewer};
use motcua_domain::calendar::{Outcome, WorkingCalendar, WorkingHours};
use motcua_domain::document::{DocumentKind, DocumentStage};
use motcua_domain::dossier::{
    Action, Actor, Channel, Dossier, DossierStatus, Refusal, ReturnBlocked, check_return, decide,
    dossier_code,
};
use motcua_domain::identity::{CitizenId, TaxCode, normalize_phone};
use motcua_domain::procedure::{OnlineLevel, ProcedureStatus, SupplementClock, TimeUnit};
use motcua_domain::rules::{Comment, Note, PersonName, TextRule};
use motcua_domain::text::{fold, nfc};
use motcua_domain::user::is_plausible_email;
use motcua_domain::validation::{FieldError, FieldErrors, Problem};
use rand::Rng;

use crate::repo::dossiers::{self, Change, NewDossierDocument, NewEvent, Scope};
use crate::repo::{
    agencies, applicants, calendar, documents, identity, integrations, procedures, users,
};
use crate::{AnyConnection, StoreError, write_tx};

#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Missing, or not the caller's to see.
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    #[error("stale version")]
    Stale { current: i32 },
    #[error("action not allowed from the current status")]
    NotAllowed {
        status: DossierStatus,
        allowed: Vec<Action>,
    },
    #[error("blocked: {0:?}")]
    Blocked(ReturnBlocked),
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    #[error("already rated")]
    AlreadyRated,
}

impl From<diesel::result::Error> for WorkflowError {
    fn from(e: diesel::result::Error) -> Self {
        WorkflowError::Store(e.into())
    }
}

impl From<Vec<FieldError>> for WorkflowError {
    fn from(errors: Vec<FieldError>) -> Self {
        WorkflowError::Invalid(errors)
    }
}

pub type WorkflowResult<T> = Result<T, WorkflowError>;

fn invalid(field: &str, problem: Problem) -> WorkflowError {
    WorkflowError::Invalid(vec![FieldError {
        field: field.to_owned(),
        problem,
    }])
}

/// The signed-in caller, as far as dossiers care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub user_id: i64,
    pub role: Role,
    pub agency_id: Option<i64>,
}

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

#[derive(Debug, Clone, Default)]
pub struct DocumentInput {
    /// Code of the procedure's required document it meets (`D1`…).
    pub requirement: Option<String>,
    /// A file uploaded by the submitter, or one from the applicant's store.
    pub document_id: Option<String>,
    /// Handed in on paper at the counter.
    pub paper: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Submission {
    pub procedure_code: String,
    pub agency_id: Option<i64>,
    pub channel: Option<Channel>,
    pub result_channel: Option<Channel>,
    pub applicant: Option<ApplicantInput>,
    pub documents: Vec<DocumentInput>,
    pub fee_codes: Vec<String>,
    pub note: Option<String>,
}

/// The caller as the access rule sees it: a citizen's applicant record and
/// whether it has proven it is that person.
pub fn viewer(conn: &mut AnyConnection, caller: Caller) -> WorkflowResult<Viewer> {
    let (applicant_id, identity) = if caller.role == Role::Citizen {
        let user = users::by_id(conn, caller.user_id)?;
        (
            user.applicant_id,
            identity::of(conn, caller.user_id)?.status,
        )
    } else {
        (None, IdentityStatus::Unverified)
    };
    Ok(Viewer {
        user_id: caller.user_id,
        role: caller.role,
        agency_id: caller.agency_id,
        applicant_id,
        identity,
    })
}

/// How a dossier is held, as far as the viewer's reach goes.
fn holding(conn: &mut AnyConnection, viewer: Viewer, dossier: &Dossier) -> WorkflowResult<Holding> {
    let passed_viewer_agency = match (viewer.role, viewer.agency_id) {
        (Role::Officer | Role::Leader, Some(agency)) => {
            dossiers::visible_to_agency(conn, dossier.id, agency)?
        }
        _ => false,
    };
    let granted_to_viewer = viewer.role == Role::Integration
        && integrations::is_granted(conn, viewer.user_id, dossier.agency.id)?;
    Ok(Holding {
        applicant_id: dossier.applicant.id,
        submitted_by: dossier.submitted_by,
        agency_id: dossier.agency.id,
        passed_viewer_agency,
        granted_to_viewer,
    })
}

/// Whom a caller acts as on a dossier, or `NotFound` when it is not theirs to
/// see: the domain's [`access::reach`] decides, for every route.
fn actor_for(conn: &mut AnyConnection, caller: Caller, dossier: &Dossier) -> WorkflowResult<Actor> {
    let viewer = viewer(conn, caller)?;
    let holding = holding(conn, viewer, dossier)?;
    actor_with(caller, viewer, holding, dossier)
}

/// Whom a caller acts as on each of a page of dossiers, read in at most three
/// statements whatever the page size (the same rule as [`visible`]).
pub fn actors(
    conn: &mut AnyConnection,
    caller: Caller,
    page: &[Dossier],
) -> WorkflowResult<Vec<Actor>> {
    let viewer = viewer(conn, caller)?;
    let passed = match (viewer.role, viewer.agency_id) {
        (Role::Officer | Role::Leader, Some(agency)) if !page.is_empty() => {
            let ids: Vec<i64> = page.iter().map(|d| d.id).collect();
            dossiers::passed_agency(conn, &ids, agency)?
        }
        _ => Default::default(),
    };
    let granted: Vec<i64> = if viewer.role == Role::Integration && !page.is_empty() {
        integrations::grants_of(conn, viewer.user_id)?
            .into_iter()
            .map(|g| g.agency_id)
            .collect()
    } else {
        Vec::new()
    };
    page.iter()
        .map(|dossier| {
            let holding = Holding {
                applicant_id: dossier.applicant.id,
                submitted_by: dossier.submitted_by,
                agency_id: dossier.agency.id,
                passed_viewer_agency: passed.contains(&dossier.id),
                granted_to_viewer: granted.contains(&dossier.agency.id),
            };
            actor_with(caller, viewer, holding, dossier)
        })
        .collect()
}

fn actor_with(
    caller: Caller,
    viewer: Viewer,
    holding: Holding,
    dossier: &Dossier,
) -> WorkflowResult<Actor> {
    let reach = access::reach(viewer, holding).ok_or(WorkflowError::NotFound)?;
    let mut actor = Actor {
        role: caller.role,
        is_applicant: reach.as_applicant,
        at_receiving_agency: false,
        at_handling_agency: false,
    };
    if let (Role::Officer | Role::Leader, Some(agency)) = (caller.role, caller.agency_id) {
        actor.at_receiving_agency = agency == dossier.agency.id;
        // The division a dossier is routed to handles it with its agency.
        actor.at_handling_agency =
            agency == dossier.handling_agency.id || Some(agency) == dossier.assigned_unit_id;
    }
    Ok(actor)
}

/// Which dossiers a caller's lists show (the same rule as [`visible`]);
/// `None` when nothing.
pub fn scope(conn: &mut AnyConnection, caller: Caller) -> WorkflowResult<Option<Scope>> {
    Ok(match access::list_scope(viewer(conn, caller)?) {
        ListScope::All => Some(Scope::All),
        ListScope::Applicant(a) => Some(Scope::Applicant(a)),
        ListScope::Submitter(u) => Some(Scope::Submitter(u)),
        ListScope::Agency(a) => Some(Scope::Agency(a)),
        ListScope::Integration(u) => Some(Scope::Integration(u)),
        ListScope::Nothing => None,
    })
}

/// A dossier the caller may see.
pub fn visible(
    conn: &mut AnyConnection,
    caller: Caller,
    code: &str,
) -> WorkflowResult<(Dossier, Actor)> {
    let dossier = dossiers::by_code(conn, code).map_err(|e| match e {
        StoreError::NotFound => WorkflowError::NotFound,
        other => other.into(),
    })?;
    let actor = actor_for(conn, caller, &dossier)?;
    Ok((dossier, actor))
}

/// A value that was sent and is not blank.
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Who an applicant is: a person by citizen ID number, an organisation by tax code.
enum Identity {
    Person(CitizenId),
    Organization(TaxCode),
}

fn check_applicant(input: &ApplicantInput, errors: &mut FieldErrors) -> Option<Identity> {
    let identity = match (given(&input.id_number), given(&input.tax_code)) {
        (Some(id), None) => match CitizenId::parse(id) {
            Ok(id) => Some(Identity::Person(id)),
            Err(_) => {
                errors.add("applicant.id_number", Problem::rule("invalid_citizen_id"));
                None
            }
        },
        (None, Some(code)) => match TaxCode::parse(code) {
            Ok(code) => Some(Identity::Organization(code)),
            Err(_) => {
                errors.add("applicant.tax_code", Problem::rule("invalid_tax_code"));
                None
            }
        },
        (Some(_), Some(_)) => {
            errors.add(
                "applicant.tax_code",
                Problem::rule("person_or_organization"),
            );
            None
        }
        (None, None) => {
            errors.add("applicant.id_number", Problem::Required);
            None
        }
    };
    if matches!(identity, Some(Identity::Organization(_))) && input.date_of_birth.is_some() {
        errors.add(
            "applicant.date_of_birth",
            Problem::rule("not_for_organizations"),
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
    if input.full_name.trim().chars().count() as u64 > PersonName::MAX {
        errors.add(
            "applicant.full_name",
            Problem::TooLong {
                max: PersonName::MAX,
            },
        );
    }
    identity
}

/// Files a dossier. Citizens file online for themselves; officers at the
/// counter (or by post) and integration accounts on behalf of an applicant
/// named by citizen ID number.
pub fn submit(
    conn: &mut AnyConnection,
    caller: Caller,
    input: Submission,
    now: DateTime<Utc>,
) -> WorkflowResult<Dossier> {
    if !matches!(
        caller.role,
        Role::Citizen | Role::Officer | Role::Integration | Role::Admin
    ) {
        return Err(WorkflowError::Forbidden);
    }
    write_tx(conn, |conn| {
        let mut errors = FieldErrors::new();
        let procedure = match procedures::get(conn, input.procedure_code.trim()) {
            Ok(p) => p,
            Err(StoreError::NotFound) => {
                return Err(invalid(
                    "procedure_code",
                    Problem::rule("unknown_procedure"),
                ));
            }
            Err(e) => return Err(e.into()),
        };
        if procedure.spec.status == ProcedureStatus::Abolished {
            return Err(invalid(
                "procedure_code",
                Problem::rule("procedure_abolished"),
            ));
        }
        let default_channel = match caller.role {
            Role::Officer | Role::Admin => Channel::Counter,
            _ => Channel::Online,
        };
        let channel = input.channel.unwrap_or(default_channel);
        match (caller.role, channel) {
            (Role::Citizen | Role::Integration, Channel::Online)
            | (Role::Officer | Role::Admin, _) => {}
            _ => errors.add("channel", Problem::one_of(&["online"])),
        }
        if channel == Channel::Online && procedure.spec.online_level == OnlineLevel::None {
            errors.add("channel", Problem::rule("online_not_offered"));
        }
        let result_channel = input.result_channel.unwrap_or(channel);

        // The receiving agency: the procedure's, or a commune for commune-wide procedures.
        let agency = match (procedure.agency.as_ref(), input.agency_id) {
            (Some(own), None) => agencies::by_id(conn, own.id)?,
            (Some(own), Some(chosen)) if chosen == own.id => agencies::by_id(conn, own.id)?,
            (Some(_), Some(_)) => {
                return Err(invalid("agency_id", Problem::rule("agency_mismatch")));
            }
            (None, Some(chosen)) => match agencies::by_id(conn, chosen) {
                Ok(a) if procedure.spec.levels.contains(&a.level) => a,
                Ok(_) | Err(StoreError::NotFound) => {
                    return Err(invalid("agency_id", Problem::rule("unknown_agency")));
                }
                Err(e) => return Err(e.into()),
            },
            (None, None) => return Err(invalid("agency_id", Problem::Required)),
        };
        if caller.role == Role::Officer && caller.agency_id != Some(agency.id) {
            return Err(WorkflowError::Forbidden);
        }

        // The applicant.
        let applicant = match caller.role {
            Role::Citizen => {
                let user = users::by_id(conn, caller.user_id)?;
                let id = user.applicant_id.ok_or(WorkflowError::Forbidden)?;
                if input.applicant.is_some() {
                    errors.add("applicant", Problem::rule("applicant_is_you"));
                }
                applicants::by_id(conn, id)?
            }
            _ => {
                let Some(given) = input.applicant.as_ref() else {
                    return Err(invalid("applicant", Problem::Required));
                };
                let Some(identity) = check_applicant(given, &mut errors) else {
                    return Err(WorkflowError::Invalid(errors.into_vec()));
                };
                let known = match &identity {
                    Identity::Person(id) => applicants::by_id_number(conn, id.as_str())?,
                    Identity::Organization(code) => applicants::by_tax_code(conn, code.as_str())?,
                };
                match known {
                    Some(existing) => existing,
                    None => {
                        if given.full_name.trim().is_empty() {
                            errors.add("applicant.full_name", Problem::Required);
                        }
                        if !errors.is_empty() {
                            return Err(WorkflowError::Invalid(errors.into_vec()));
                        }
                        let name = nfc(&given.full_name);
                        let phone = given.phone.as_deref().and_then(normalize_phone);
                        let email = given
                            .email
                            .as_deref()
                            .map(|e| e.trim().to_lowercase())
                            .filter(|e| !e.is_empty());
                        let address = given.address.as_deref().map(nfc).filter(|a| !a.is_empty());
                        match &identity {
                            Identity::Person(id) => applicants::insert_person(
                                conn,
                                &applicants::NewPerson {
                                    id_number: id.as_str(),
                                    full_name: &name,
                                    date_of_birth: given.date_of_birth,
                                    phone: phone.as_deref(),
                                    email: email.as_deref(),
                                    address: address.as_deref(),
                                },
                            )?,
                            Identity::Organization(code) => applicants::insert_organization(
                                conn,
                                &applicants::NewOrganization {
                                    tax_code: code.as_str(),
                                    full_name: &name,
                                    phone: phone.as_deref(),
                                    email: email.as_deref(),
                                    address: address.as_deref(),
                                },
                            )?,
                        }
                    }
                }
            }
        };

        // Documents: each requirement met by an upload, a stored copy, or paper at the counter.
        let mut lines: Vec<(Option<String>, Option<String>, bool, bool)> = Vec::new();
        for (i, doc) in input.documents.iter().enumerate() {
            let field = format!("documents[{i}]");
            let requirement = doc.requirement.as_deref().map(str::trim).unwrap_or("");
            let Some(required) = procedure
                .spec
                .required_documents
                .iter()
                .find(|r| r.code == requirement)
            else {
                errors.add(
                    format!("{field}.requirement"),
                    Problem::rule("unknown_requirement"),
                );
                continue;
            };
            match (&doc.document_id, doc.paper) {
                (None, true) if channel != Channel::Online => {
                    lines.push((Some(required.code.clone()), None, true, false));
                }
                (None, true) => {
                    errors.add(format!("{field}.paper"), Problem::rule("paper_not_online"))
                }
                (Some(_), true) => {
                    errors.add(format!("{field}.paper"), Problem::rule("paper_or_file"))
                }
                (None, false) => errors.add(format!("{field}.document_id"), Problem::Required),
                (Some(id), false) => match usable(conn, caller, applicant.id, id)? {
                    Usable::Fresh => {
                        lines.push((Some(required.code.clone()), Some(id.clone()), false, false))
                    }
                    Usable::Stored if required.reusable => {
                        lines.push((Some(required.code.clone()), Some(id.clone()), false, true))
                    }
                    Usable::Stored => errors.add(
                        format!("{field}.document_id"),
                        Problem::rule("not_reusable"),
                    ),
                    Usable::No => errors.add(
                        format!("{field}.document_id"),
                        Problem::rule("document_not_usable"),
                    ),
                },
            }
        }
        for required in procedure
            .spec
            .required_documents
            .iter()
            .filter(|r| !r.optional)
        {
            if !input
                .documents
                .iter()
                .any(|d| d.requirement.as_deref().map(str::trim) == Some(required.code.as_str()))
            {
                errors.add(
                    format!("documents.{}", required.code),
                    Problem::rule("missing_document"),
                );
            }
        }
        let fees = match procedure.spec.fees_due(&input.fee_codes) {
            Ok(fees) => fees.into_iter().cloned().collect::<Vec<_>>(),
            Err(motcua_domain::procedure::FeeChoiceError::Unknown(code)) => {
                errors.add("fee_codes", Problem::rule("unknown_fee"));
                tracing::debug!(code, "unknown fee code");
                Vec::new()
            }
            Err(motcua_domain::procedure::FeeChoiceError::TierRequired(codes)) => {
                errors.add("fee_codes", Problem::NotAllowed { allowed: codes });
                Vec::new()
            }
        };
        let note = input.note.as_deref().map(nfc).filter(|n| !n.is_empty());
        if note
            .as_ref()
            .is_some_and(|n| n.chars().count() as u64 > Note::MAX)
        {
            errors.add("note", Problem::TooLong { max: Note::MAX });
        }
        errors.into_result()?;

        let day = WorkingCalendar::local_date(now);
        let sequence = dossiers::next_sequence(conn, agency.id, day)?;
        let code = dossier_code(&agency.code, day, sequence);
        let search_text = format!(
            " {} {} {} ",
            fold(&code),
            fold(&applicant.full_name),
            applicant
                .id_number
                .as_deref()
                .or(applicant.tax_code.as_deref())
                .unwrap_or("")
        );
        let fees_due: i64 = fees.iter().map(|f| f.amount_vnd).sum();
        let id = dossiers::insert(
            conn,
            &dossiers::NewDossier {
                code: &code,
                procedure_id: procedure.id,
                agency_id: agency.id,
                applicant_id: applicant.id,
                submitted_by: caller.user_id,
                channel,
                result_channel,
                time_unit: procedure.spec.time_unit.as_str(),
                allowed_time: procedure.spec.committed_days,
                regulated_days: procedure.spec.regulated_days,
                submitted_at: now,
                fees: &fees,
                fees_due_vnd: fees_due,
                search_text: &search_text,
                note: note.as_deref(),
            },
        )?;
        if applicant.tax_code.is_some() {
            let pin = format!("{:06}", rand::rng().random_range(0..1_000_000));
            dossiers::set_tracking_pin(conn, id, &pin)?;
        }
        for (requirement, document_id, paper, reused) in &lines {
            if let Some(doc) = document_id
                && !reused
            {
                documents::set_owner(conn, doc, applicant.id)?;
            }
            dossiers::add_document(
                conn,
                id,
                &NewDossierDocument {
                    requirement: requirement.as_deref(),
                    document_id: document_id.as_deref(),
                    paper: *paper,
                    reused: *reused,
                    stage: DocumentStage::Submission.as_str(),
                },
            )?;
        }
        dossiers::append_event(
            conn,
            &NewEvent {
                dossier_id: id,
                action: dossiers::SUBMIT,
                from_status: None,
                to_status: DossierStatus::Submitted,
                actor_id: Some(caller.user_id),
                actor_role: caller.role,
                actor_agency_id: caller.agency_id,
                note: note.as_deref(),
                data: Some(serde_json::json!({ "channel": channel, "fees_due_vnd": fees_due })),
                at: now,
            },
        )?;
        Ok(dossiers::by_id(conn, id)?)
    })
}

enum Usable {
    /// Uploaded by this caller and not yet part of any dossier.
    Fresh,
    /// In the applicant's store.
    Stored,
    No,
}

fn usable(
    conn: &mut AnyConnection,
    caller: Caller,
    applicant_id: i64,
    id: &str,
) -> WorkflowResult<Usable> {
    let doc = match documents::get(conn, id) {
        Ok(doc) => doc,
        Err(StoreError::NotFound) => return Ok(Usable::No),
        Err(e) => return Err(e.into()),
    };
    if doc.in_store && doc.applicant_id == Some(applicant_id) {
        // An unverified account reuses only what it uploaded itself.
        let may = caller.role != Role::Citizen
            || doc.uploaded_by == caller.user_id
            || viewer(conn, caller)?.identity == IdentityStatus::Verified;
        return Ok(if may { Usable::Stored } else { Usable::No });
    }
    if doc.kind == DocumentKind::Input
        && doc.uploaded_by == caller.user_id
        && documents::dossiers_of(conn, id)?.is_empty()
    {
        return Ok(Usable::Fresh);
    }
    Ok(Usable::No)
}

/// What an action carries besides its name.
#[derive(Debug, Clone, Default)]
pub struct ActionInput {
    pub action: Option<Action>,
    /// Reason or remark; required for refuse, reject, cancel, send back and apology.
    pub note: Option<String>,
    pub assignee_id: Option<i64>,
    pub unit_id: Option<i64>,
    pub target_agency_id: Option<i64>,
    /// What the applicant must add (request_supplement).
    pub missing: Vec<String>,
    pub deadline: Option<NaiveDate>,
    /// Documents added (supplement) or issued (issue_result: document ids).
    pub documents: Vec<DocumentInput>,
    /// The result exists on paper only (issue_result without a digital copy).
    pub paper_result: bool,
    pub new_appointment_date: Option<NaiveDate>,
}

/// Days an applicant gets to supplement when the officer sets no deadline.
pub const DEFAULT_SUPPLEMENT_DAYS: u32 = 15;

/// Takes an action on a dossier at `expected_version`. Checks, in order:
/// visible (404), permitted for the caller (403), current version (412),
/// permitted from the status (409), the action's own input (422), then
/// preconditions such as payment and apology (409).
pub fn act(
    conn: &mut AnyConnection,
    caller: Caller,
    code: &str,
    expected_version: i32,
    input: ActionInput,
    hours: WorkingHours,
    now: DateTime<Utc>,
) -> WorkflowResult<Dossier> {
    let Some(action) = input.action else {
        return Err(invalid("action", Problem::Required));
    };
    write_tx(conn, |conn| {
        let (dossier, actor) = visible(conn, caller, code)?;
        let to = match decide(dossier.facts(), action, actor) {
            Err(Refusal::Forbidden) => return Err(WorkflowError::Forbidden),
            Ok(_) | Err(Refusal::NotAllowed { .. }) if dossier.version != expected_version => {
                return Err(WorkflowError::Stale {
                    current: dossier.version,
                });
            }
            Err(Refusal::NotAllowed { allowed }) => {
                return Err(WorkflowError::NotAllowed {
                    status: dossier.status,
                    allowed,
                });
            }
            Ok(to) => to,
        };
        let note = input.note.as_deref().map(nfc).filter(|n| !n.is_empty());
        if action.needs_reason() && note.is_none() {
            return Err(invalid("note", Problem::rule("reason_required")));
        }
        if note
            .as_ref()
            .is_some_and(|n| n.chars().count() as u64 > Note::MAX)
        {
            return Err(invalid("note", Problem::TooLong { max: Note::MAX }));
        }
        let calendar = calendar::load(conn, hours)?;
        let mut change = Change::from(&dossier);
        change.status = to;
        let mut data = serde_json::Map::new();
        let from = dossier.status;

        match action {
            Action::Receive => {
                let due = calendar.due(now, dossier.allowed_time, dossier.time_unit);
                change.received_at = Some(now);
                change.due_at = Some(due);
                change.appointment_at = Some(due);
                data.insert("due_at".into(), serde_json::json!(due));
                // Accepted documents join the applicant's store.
                let accepted: Vec<String> = dossiers::documents_of(conn, dossier.id)?
                    .into_iter()
                    .filter(|d| d.stage != DocumentStage::Result.as_str() && !d.reused)
                    .filter_map(|d| d.document_id)
                    .collect();
                documents::store(conn, &accepted)?;
            }
            Action::Assign => {
                if input.assignee_id.is_none() && input.unit_id.is_none() {
                    return Err(invalid("assignee_id", Problem::Required));
                }
                let handling = dossier.handling_agency.id;
                if let Some(unit) = input.unit_id {
                    match agencies::by_id(conn, unit) {
                        Ok(a) if a.parent_id == Some(handling) => {}
                        Ok(_) | Err(StoreError::NotFound) => {
                            return Err(invalid(
                                "unit_id",
                                Problem::rule("not_in_handling_agency"),
                            ));
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
                let unit = input.unit_id.or(dossier.assigned_unit_id);
                if let Some(user) = input.assignee_id {
                    let in_agency = dossiers::user_in_agency(conn, user, handling)?;
                    let in_unit = match unit {
                        Some(u) => dossiers::user_in_agency(conn, user, u)?,
                        None => None,
                    };
                    if !matches!(in_agency.or(in_unit), Some(Role::Officer | Role::Leader)) {
                        return Err(invalid(
                            "assignee_id",
                            Problem::rule("not_in_handling_agency"),
                        ));
                    }
                }
                if let Some(u) = input.unit_id {
                    dossiers::add_agency(conn, dossier.id, u)?;
                }
                change.assignee_id = input.assignee_id;
                change.assigned_unit_id = unit;
                data.insert("assignee_id".into(), serde_json::json!(input.assignee_id));
                data.insert("unit_id".into(), serde_json::json!(input.unit_id));
            }
            Action::RequestSupplement => {
                let missing: Vec<String> = input
                    .missing
                    .iter()
                    .map(|m| nfc(m))
                    .filter(|m| !m.is_empty())
                    .collect();
                if missing.is_empty() {
                    return Err(invalid("missing", Problem::Required));
                }
                if missing.iter().any(|m| m.chars().count() > 500) {
                    return Err(invalid("missing", Problem::TooLong { max: 500 }));
                }
                let today = WorkingCalendar::local_date(now);
                let deadline = input
                    .deadline
                    .unwrap_or_else(|| calendar.add_working_days(today, DEFAULT_SUPPLEMENT_DAYS));
                if deadline <= today {
                    return Err(invalid("deadline", Problem::rule("deadline_in_past")));
                }
                dossiers::add_supplement_request(
                    conn,
                    dossier.id,
                    caller.user_id,
                    &missing,
                    deadline,
                    now,
                )?;
                change.supplement_from = Some(from);
                if from == DossierStatus::InReview {
                    // The clock stops while the applicant gathers what is missing.
                    change.supplement_count += 1;
                    if let Some(due) = dossier.due_at {
                        change.paused_at = Some(now);
                        // Before its first counted day nothing of the time is used yet:
                        // count what is left from the deemed day of receipt.
                        let mut counted_from = now;
                        if let (TimeUnit::WorkingDays, Some(received)) =
                            (dossier.time_unit, dossier.received_at)
                        {
                            let deemed = calendar.effective_start_day(received);
                            if WorkingCalendar::local_date(now) < deemed {
                                counted_from = WorkingCalendar::local_datetime(
                                    deemed,
                                    calendar.hours().morning_start,
                                );
                            }
                        }
                        change.paused_remaining =
                            Some(calendar.remaining_at_pause(due, counted_from, dossier.time_unit));
                    }
                }
                data.insert("missing".into(), serde_json::json!(missing));
                data.insert("deadline".into(), serde_json::json!(deadline));
            }
            Action::Supplement => {
                let applicant = dossier.applicant.id;
                let mut added = 0;
                for (i, doc) in input.documents.iter().enumerate() {
                    let Some(id) = doc.document_id.as_deref() else {
                        return Err(invalid(
                            &format!("documents[{i}].document_id"),
                            Problem::Required,
                        ));
                    };
                    let reused = match usable(conn, caller, applicant, id)? {
                        Usable::Fresh => false,
                        Usable::Stored => true,
                        Usable::No => {
                            return Err(invalid(
                                &format!("documents[{i}].document_id"),
                                Problem::rule("document_not_usable"),
                            ));
                        }
                    };
                    if !reused {
                        documents::set_owner(conn, id, applicant)?;
                    }
                    dossiers::add_document(
                        conn,
                        dossier.id,
                        &NewDossierDocument {
                            requirement: doc.requirement.as_deref(),
                            document_id: Some(id),
                            paper: false,
                            reused,
                            stage: DocumentStage::Supplement.as_str(),
                        },
                    )?;
                    added += 1;
                }
                let open = dossiers::open_supplement_request(conn, dossier.id)?;
                // Files uploaded to the dossier since the request count too.
                if let Some(request) = &open {
                    added += dossiers::documents_of(conn, dossier.id)?
                        .iter()
                        .filter(|d| {
                            d.stage == DocumentStage::Supplement.as_str()
                                && d.added_at >= request.requested_at
                        })
                        .count();
                }
                if added == 0 && note.is_none() {
                    return Err(invalid("documents", Problem::Required));
                }
                if let Some(request) = open {
                    dossiers::close_supplement_request(conn, request.id, now)?;
                }
                // Accepted with the dossier, supplement documents join the
                // applicant's store like those checked at reception (a dossier
                // not yet received stores them when it is).
                if dossier.received_at.is_some() {
                    let supplied: Vec<String> = dossiers::documents_of(conn, dossier.id)?
                        .into_iter()
                        .filter(|d| d.stage == DocumentStage::Supplement.as_str() && !d.reused)
                        .filter_map(|d| d.document_id)
                        .collect();
                    documents::store(conn, &supplied)?;
                }
                if dossier.supplement_from == Some(DossierStatus::InReview) {
                    let clock = procedures::get_by_id(conn, dossier.procedure.id)?
                        .spec
                        .supplement_clock;
                    let due = match (clock, dossier.paused_remaining) {
                        (SupplementClock::Restart, _) | (_, None) => {
                            calendar.due(now, dossier.allowed_time, dossier.time_unit)
                        }
                        (SupplementClock::Pause, Some(remaining)) => {
                            calendar.resume(now, remaining, dossier.time_unit)
                        }
                    };
                    change.due_at = Some(due);
                    // An apology's later appointment stands; otherwise the applicant sees the new due date.
                    change.appointment_at =
                        Some(dossier.appointment_at.map_or(due, |a| a.max(due)));
                    data.insert("due_at".into(), serde_json::json!(due));
                }
                change.paused_at = None;
                change.paused_remaining = None;
                change.supplement_from = None;
                data.insert("documents_added".into(), serde_json::json!(added));
            }
            Action::Transfer => {
                let Some(target) = input.target_agency_id else {
                    return Err(invalid("target_agency_id", Problem::Required));
                };
                if target == dossier.handling_agency.id {
                    return Err(invalid("target_agency_id", Problem::rule("same_agency")));
                }
                match agencies::by_id(conn, target) {
                    Ok(_) => {}
                    Err(StoreError::NotFound) => {
                        return Err(invalid("target_agency_id", Problem::rule("unknown_agency")));
                    }
                    Err(e) => return Err(e.into()),
                }
                dossiers::add_agency(conn, dossier.id, target)?;
                change.handling_agency_id = target;
                change.assignee_id = None;
                change.assigned_unit_id = None;
                data.insert(
                    "from_agency_id".into(),
                    serde_json::json!(dossier.handling_agency.id),
                );
                data.insert("to_agency_id".into(), serde_json::json!(target));
            }
            Action::IssueResult => {
                let mut issued = Vec::new();
                for (i, doc) in input.documents.iter().enumerate() {
                    let Some(id) = doc.document_id.as_deref() else {
                        return Err(invalid(
                            &format!("documents[{i}].document_id"),
                            Problem::Required,
                        ));
                    };
                    let d = match documents::get(conn, id) {
                        Ok(d) => d,
                        Err(StoreError::NotFound) => {
                            return Err(invalid(
                                &format!("documents[{i}].document_id"),
                                Problem::rule("document_not_usable"),
                            ));
                        }
                        Err(e) => return Err(e.into()),
                    };
                    let fresh = d.kind == DocumentKind::Result
                        && d.uploaded_by == caller.user_id
                        && documents::dossiers_of(conn, id)?.is_empty();
                    if !fresh {
                        return Err(invalid(
                            &format!("documents[{i}].document_id"),
                            Problem::rule("document_not_usable"),
                        ));
                    }
                    documents::set_owner(conn, id, dossier.applicant.id)?;
                    dossiers::add_document(
                        conn,
                        dossier.id,
                        &NewDossierDocument {
                            requirement: None,
                            document_id: Some(id),
                            paper: false,
                            reused: false,
                            stage: DocumentStage::Result.as_str(),
                        },
                    )?;
                    issued.push(id.to_owned());
                }
                let attached = dossiers::documents_of(conn, dossier.id)?
                    .iter()
                    .any(|d| d.stage == DocumentStage::Result.as_str() && d.document_id.is_some());
                if issued.is_empty() && !attached && !input.paper_result {
                    return Err(invalid("documents", Problem::rule("result_required")));
                }
                if input.paper_result {
                    dossiers::add_document(
                        conn,
                        dossier.id,
                        &NewDossierDocument {
                            requirement: None,
                            document_id: None,
                            paper: true,
                            reused: false,
                            stage: DocumentStage::Result.as_str(),
                        },
                    )?;
                }
                change.processed_at = Some(now);
                data.insert("result_documents".into(), serde_json::json!(issued));
            }
            Action::Return => {
                let late = match (dossier.due_at, dossier.processed_at) {
                    (Some(due), Some(done)) => {
                        calendar.classify_finished(due, done, dossier.time_unit) == Outcome::Late
                    }
                    _ => false,
                };
                let apologised = !dossiers::apologies(conn, dossier.id)?.is_empty();
                check_return(
                    late,
                    apologised,
                    dossier.fees_due_vnd,
                    dossier.fees_paid_vnd,
                )
                .map_err(WorkflowError::Blocked)?;
                let results: Vec<String> = dossiers::documents_of(conn, dossier.id)?
                    .into_iter()
                    .filter(|d| d.stage == DocumentStage::Result.as_str())
                    .filter_map(|d| d.document_id)
                    .collect();
                documents::store(conn, &results)?;
                change.finished_at = Some(now);
                data.insert("late".into(), serde_json::json!(late));
            }
            Action::Apology => {
                let Some(date) = input.new_appointment_date else {
                    return Err(invalid("new_appointment_date", Problem::Required));
                };
                let today = WorkingCalendar::local_date(now);
                if date < today || !calendar.is_working_day(date) {
                    return Err(invalid(
                        "new_appointment_date",
                        Problem::rule("not_a_future_working_day"),
                    ));
                }
                let reason = note.clone().unwrap_or_default();
                dossiers::add_apology(
                    conn,
                    dossier.id,
                    &dossiers::Apology {
                        reason,
                        new_appointment_date: date,
                        created_by: caller.user_id,
                        created_at: now,
                    },
                )?;
                change.appointment_at = Some(calendar.end_of_day(date));
                data.insert("new_appointment_date".into(), serde_json::json!(date));
            }
            Action::Refuse | Action::Reject | Action::Cancel => {
                change.processed_at = Some(dossier.processed_at.unwrap_or(now));
                change.finished_at = Some(now);
            }
            Action::Withdraw => {
                change.finished_at = Some(now);
            }
            Action::Propose | Action::Approve | Action::SendBack => {}
        }
        if !dossiers::update(conn, dossier.id, dossier.version, &change)? {
            let current = dossiers::by_id(conn, dossier.id)?.version;
            return Err(WorkflowError::Stale { current });
        }
        dossiers::append_event(
            conn,
            &NewEvent {
                dossier_id: dossier.id,
                action: action.as_str(),
                from_status: Some(from),
                to_status: to,
                actor_id: Some(caller.user_id),
                actor_role: caller.role,
                actor_agency_id: caller.agency_id,
                note: note.as_deref(),
                data: (!data.is_empty()).then_some(serde_json::Value::Object(data)),
                at: now,
            },
        )?;
        crate::repo::kpi::refresh(conn, dossier.id)?;
        Ok(dossiers::by_id(conn, dossier.id)?)
    })
}

/// The applicant rates the service once, after the outcome.
pub fn rate(
    conn: &mut AnyConnection,
    caller: Caller,
    code: &str,
    score: motcua_domain::dossier::RatingScore,
    comment: Option<&str>,
) -> WorkflowResult<dossiers::Rating> {
    write_tx(conn, |conn| {
        let (dossier, actor) = visible(conn, caller, code)?;
        if !actor.is_applicant {
            return Err(WorkflowError::Forbidden);
        }
        if !motcua_domain::dossier::may_rate(dossier.status) {
            return Err(WorkflowError::NotAllowed {
                status: dossier.status,
                allowed: Vec::new(),
            });
        }
        if dossiers::rating(conn, dossier.id)?.is_some() {
            return Err(WorkflowError::AlreadyRated);
        }
        let comment = comment.map(nfc).filter(|c| !c.is_empty());
        if comment
            .as_ref()
            .is_some_and(|c| c.chars().count() as u64 > Comment::MAX)
        {
            return Err(invalid("comment", Problem::TooLong { max: Comment::MAX }));
        }
        let rating = dossiers::rate(conn, dossier.id, caller.user_id, score, comment.as_deref())
            .map_err(|e| {
                if matches!(e, StoreError::Conflict(_)) {
                    WorkflowError::AlreadyRated
                } else {
                    e.into()
                }
            })?;
        crate::repo::kpi::refresh(conn, dossier.id)?;
        Ok(rating)
    })
}

/// The applicant record of a citizen caller.
pub fn applicant_of(conn: &mut AnyConnection, caller: Caller) -> WorkflowResult<Option<i64>> {
    if caller.role != Role::Citizen {
        return Ok(None);
    }
    Ok(users::by_id(conn, caller.user_id)?.applicant_id)
}

/// Attaches a freshly uploaded document to a dossier: the applicant's
/// supplement, a scan of paper handed in at the counter, or the result.
pub fn attach(
    conn: &mut AnyConnection,
    caller: Caller,
    code: &str,
    document_id: &str,
    requirement: Option<&str>,
    now: DateTime<Utc>,
) -> WorkflowResult<Dossier> {
    write_tx(conn, |conn| {
        let (dossier, actor) = visible(conn, caller, code)?;
        let doc = documents::get(conn, document_id)?;
        let staff = caller.role == Role::Admin
            || (matches!(caller.role, Role::Officer | Role::Leader)
                && (actor.at_receiving_agency || actor.at_handling_agency));
        let applicant_side = actor.is_applicant;
        let stage = match doc.kind {
            DocumentKind::Result if staff => {
                if dossier.status != DossierStatus::Approved {
                    return Err(WorkflowError::NotAllowed {
                        status: dossier.status,
                        allowed: Vec::new(),
                    });
                }
                DocumentStage::Result
            }
            DocumentKind::Input if applicant_side => {
                if dossier.status != DossierStatus::SupplementRequested {
                    return Err(WorkflowError::NotAllowed {
                        status: dossier.status,
                        allowed: Vec::new(),
                    });
                }
                DocumentStage::Supplement
            }
            DocumentKind::Input if staff => {
                if dossier.status.is_finished() {
                    return Err(WorkflowError::NotAllowed {
                        status: dossier.status,
                        allowed: Vec::new(),
                    });
                }
                DocumentStage::Submission
            }
            _ => return Err(WorkflowError::Forbidden),
        };
        let procedure = procedures::get_by_id(conn, dossier.procedure.id)?;
        let requirement = requirement.map(str::trim).filter(|r| !r.is_empty());
        if let Some(r) = requirement
            && !procedure
                .spec
                .required_documents
                .iter()
                .any(|d| d.code == r)
        {
            return Err(invalid("requirement", Problem::rule("unknown_requirement")));
        }
        if stage == DocumentStage::Submission && requirement.is_none() {
            return Err(invalid("requirement", Problem::Required));
        }
        documents::set_owner(conn, document_id, dossier.applicant.id)?;
        dossiers::add_document(
            conn,
            dossier.id,
            &NewDossierDocument {
                requirement,
                document_id: Some(document_id),
                paper: false,
                reused: false,
                stage: stage.as_str(),
            },
        )?;
        if stage == DocumentStage::Submission && dossier.received_at.is_some() {
            // A scan of a received paper joins the store like the other accepted documents.
            documents::store(conn, &[document_id.to_owned()])?;
        }
        if !dossiers::update(conn, dossier.id, dossier.version, &Change::from(&dossier))? {
            return Err(WorkflowError::Stale {
                current: dossier.version,
            });
        }
        dossiers::append_event(
            conn,
            &NewEvent {
                dossier_id: dossier.id,
                action: "add_document",
                from_status: Some(dossier.status),
                to_status: dossier.status,
                actor_id: Some(caller.user_id),
                actor_role: caller.role,
                actor_agency_id: caller.agency_id,
                note: None,
                data: Some(
                    serde_json::json!({ "document_id": document_id, "stage": stage, "requirement": requirement }),
                ),
                at: now,
            },
        )?;
        crate::repo::kpi::refresh(conn, dossier.id)?;
        Ok(dossiers::by_id(conn, dossier.id)?)
    })
}

/// Whether the caller may download a document: its uploader, admins, and
/// whoever reaches a dossier holding it ([`visible`]); an applicant gets a
/// result only once it is in their store (returned, fees paid).
pub fn may_read_document(
    conn: &mut AnyConnection,
    caller: Caller,
    doc: &motcua_domain::document::Document,
) -> WorkflowResult<bool> {
    if caller.role == Role::Admin || doc.uploaded_by == caller.user_id {
        return Ok(true);
    }
    let viewer = viewer(conn, caller)?;
    if caller.role == Role::Citizen
        && viewer.identity == IdentityStatus::Verified
        && viewer.applicant_id.is_some()
        && doc.applicant_id == viewer.applicant_id
        && (doc.kind == DocumentKind::Input || doc.in_store)
    {
        return Ok(true);
    }
    for id in documents::dossiers_of(conn, &doc.id)? {
        let dossier = dossiers::by_id(conn, id)?;
        let Some(reach) = access::reach(viewer, holding(conn, viewer, &dossier)?) else {
            continue;
        };
        let applicant_side = reach.as_applicant && caller.role == Role::Citizen;
        if !applicant_side || doc.kind == DocumentKind::Input || doc.in_store {
            return Ok(true);
        }
    }
    Ok(false)
}
