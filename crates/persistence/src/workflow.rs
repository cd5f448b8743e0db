//! Dossier use cases: the domain's rules applied to stored dossiers, each in
//! one transaction with the trail line it produces.

use chrono::{DateTime, NaiveDate, Utc};
use motcua_domain::Role;
use motcua_domain::access::{self, Holding, IdentityStatus, ListScope, Viewer};
use motcua_domain::calendar::WorkingHours;
use motcua_domain::document::{DocumentKind, DocumentStage};
use motcua_domain::dossier::{
    Action, Actor, Channel, Dossier, DossierStatus, Refusal, ReturnBlocked, check_return, decide,
    dossier_code,
};
use motcua_domain::handling::{self, AttachRefusal};
use motcua_domain::identity::normalize_phone;
use motcua_domain::local_time;
use motcua_domain::procedure::ProcedureStatus;
use motcua_domain::rule::RuleCode;
use motcua_domain::rules::{Comment, Note, PersonName, TextRule};
use motcua_domain::submission::{
    self, AgencyChoice, ApplicantIdentity, DocumentHolding, DocumentUse, DocumentUser,
};
use motcua_domain::text::{fold, nfc};
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

/// Who acts on dossiers: the signed-in account, narrowed to what the use
/// cases need (the HTTP layer's `Caller` carries more).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Principal {
    pub user_id: i64,
    pub role: Role,
    pub agency_id: Option<i64>,
}

pub use motcua_domain::handling::DEFAULT_SUPPLEMENT_DAYS;
pub use motcua_domain::submission::{ApplicantInput, DocumentInput};

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
pub fn viewer(conn: &mut AnyConnection, caller: Principal) -> WorkflowResult<Viewer> {
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
fn actor_for(
    conn: &mut AnyConnection,
    caller: Principal,
    dossier: &Dossier,
) -> WorkflowResult<Actor> {
    let viewer = viewer(conn, caller)?;
    let holding = holding(conn, viewer, dossier)?;
    actor_with(caller, viewer, holding, dossier)
}

/// Whom a caller acts as on each of a page of dossiers, read in at most three
/// statements whatever the page size (the same rule as [`visible`]).
pub fn actors(
    conn: &mut AnyConnection,
    caller: Principal,
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
    caller: Principal,
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
pub fn scope(conn: &mut AnyConnection, caller: Principal) -> WorkflowResult<Option<Scope>> {
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
    caller: Principal,
    code: &str,
) -> WorkflowResult<(Dossier, Actor)> {
    let dossier = dossiers::by_code(conn, code).map_err(|e| match e {
        StoreError::NotFound => WorkflowError::NotFound,
        other => other.into(),
    })?;
    let actor = actor_for(conn, caller, &dossier)?;
    Ok((dossier, actor))
}

/// The applicant checks of the domain, and the length limit of a name.
fn check_applicant(input: &ApplicantInput, errors: &mut FieldErrors) -> Option<ApplicantIdentity> {
    let identity = submission::check_applicant(input, errors);
    if input.full_name.trim().chars().count() > PersonName::MAX as usize {
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
    caller: Principal,
    input: Submission,
    now: DateTime<Utc>,
) -> WorkflowResult<Dossier> {
    if !submission::may_submit(caller.role) {
        return Err(WorkflowError::Forbidden);
    }
    write_tx(conn, |conn| {
        let mut errors = FieldErrors::new();
        let procedure = match procedures::get(conn, input.procedure_code.trim()) {
            Ok(p) => p,
            Err(StoreError::NotFound) => {
                return Err(invalid(
                    "procedure_code",
                    Problem::rule(RuleCode::UnknownProcedure),
                ));
            }
            Err(e) => return Err(e.into()),
        };
        if procedure.spec.status == ProcedureStatus::Abolished {
            return Err(invalid(
                "procedure_code",
                Problem::rule(RuleCode::ProcedureAbolished),
            ));
        }
        let channel = submission::check_channel(
            caller.role,
            input.channel,
            procedure.spec.online_level,
            &mut errors,
        );
        let result_channel = input.result_channel.unwrap_or(channel);

        // The receiving agency: the procedure's, or a commune for commune-wide procedures.
        let choice =
            submission::choose_agency(procedure.agency.as_ref().map(|a| a.id), input.agency_id)
                .map_err(|(field, problem)| invalid(field, problem))?;
        let agency = match choice {
            AgencyChoice::Own(own) => agencies::by_id(conn, own)?,
            AgencyChoice::Chosen(chosen) => match agencies::by_id(conn, chosen) {
                Ok(a) if procedure.spec.levels.contains(&a.level) => a,
                Ok(_) | Err(StoreError::NotFound) => {
                    return Err(invalid("agency_id", Problem::rule(RuleCode::UnknownAgency)));
                }
                Err(e) => return Err(e.into()),
            },
        };
        if !submission::may_file_at(caller.role, caller.agency_id, agency.id) {
            return Err(WorkflowError::Forbidden);
        }

        // The applicant.
        let applicant = match caller.role {
            Role::Citizen => {
                let user = users::by_id(conn, caller.user_id)?;
                let id = user.applicant_id.ok_or(WorkflowError::Forbidden)?;
                submission::check_citizen_names_no_applicant(
                    input.applicant.is_some(),
                    &mut errors,
                );
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
                    ApplicantIdentity::Person(id) => applicants::by_id_number(conn, id.as_str())?,
                    ApplicantIdentity::Organization(code) => {
                        applicants::by_tax_code(conn, code.as_str())?
                    }
                };
                match known {
                    Some(existing) => existing,
                    None => {
                        submission::check_new_applicant(given, &mut errors);
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
                            ApplicantIdentity::Person(id) => applicants::insert_person(
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
                            ApplicantIdentity::Organization(code) => {
                                applicants::insert_organization(
                                    conn,
                                    &applicants::NewOrganization {
                                        tax_code: code.as_str(),
                                        full_name: &name,
                                        phone: phone.as_deref(),
                                        email: email.as_deref(),
                                        address: address.as_deref(),
                                    },
                                )?
                            }
                        }
                    }
                }
            }
        };

        // Documents: each requirement met by an upload, a stored copy, or paper at the counter.
        let mut uses = std::collections::HashMap::new();
        for doc in input.documents.iter().filter(|d| !d.paper) {
            if let Some(id) = &doc.document_id {
                uses.insert(id.clone(), usable(conn, caller, applicant.id, id)?);
            }
        }
        let lines = submission::document_lines(
            &procedure.spec.required_documents,
            &input.documents,
            channel,
            |id| uses.get(id).copied().unwrap_or(DocumentUse::Unusable),
            &mut errors,
        );
        let fees = match procedure.spec.fees_due(&input.fee_codes) {
            Ok(fees) => fees.into_iter().cloned().collect::<Vec<_>>(),
            Err(motcua_domain::procedure::FeeChoiceError::Unknown(code)) => {
                errors.add("fee_codes", Problem::rule(RuleCode::UnknownFee));
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

        let day = local_time::date(now);
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
        for line in &lines {
            if let Some(doc) = &line.document_id
                && !line.reused
            {
                documents::set_owner(conn, doc, applicant.id)?;
            }
            dossiers::add_document(
                conn,
                id,
                &NewDossierDocument {
                    requirement: Some(line.requirement.as_str()),
                    document_id: line.document_id.as_deref(),
                    paper: line.paper,
                    reused: line.reused,
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

/// How the caller may use a document for an applicant: the domain's
/// [`submission::document_use`] on what is stored about it.
fn usable(
    conn: &mut AnyConnection,
    caller: Principal,
    applicant_id: i64,
    id: &str,
) -> WorkflowResult<DocumentUse> {
    let doc = match documents::get(conn, id) {
        Ok(doc) => doc,
        Err(StoreError::NotFound) => return Ok(DocumentUse::Unusable),
        Err(e) => return Err(e.into()),
    };
    // Only what the rule can ask about is looked up.
    let in_a_dossier = doc.kind == DocumentKind::Input
        && doc.uploaded_by == caller.user_id
        && !documents::dossiers_of(conn, id)?.is_empty();
    let verified = caller.role == Role::Citizen
        && doc.in_store
        && doc.uploaded_by != caller.user_id
        && viewer(conn, caller)?.identity == IdentityStatus::Verified;
    Ok(submission::document_use(
        Some(DocumentHolding {
            kind: doc.kind,
            uploaded_by: doc.uploaded_by,
            applicant_id: doc.applicant_id,
            in_store: doc.in_store,
            in_a_dossier,
        }),
        DocumentUser {
            user_id: caller.user_id,
            role: caller.role,
            verified,
            applicant_id,
        },
    ))
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

/// Takes an action on a dossier at `expected_version`. Checks, in order:
/// visible (404), permitted for the caller (403), current version (412),
/// permitted from the status (409), the action's own input (422), then
/// preconditions such as payment and apology (409).
pub fn act(
    conn: &mut AnyConnection,
    caller: Principal,
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
            return Err(invalid("note", Problem::rule(RuleCode::ReasonRequired)));
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
                handling::check_assignment(input.assignee_id, input.unit_id)
                    .map_err(|problem| invalid("assignee_id", problem))?;
                let handling = dossier.handling_agency.id;
                if let Some(unit) = input.unit_id {
                    match agencies::by_id(conn, unit) {
                        Ok(a) if a.parent_id == Some(handling) => {}
                        Ok(_) | Err(StoreError::NotFound) => {
                            return Err(invalid(
                                "unit_id",
                                Problem::rule(RuleCode::NotInHandlingAgency),
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
                    if !handling::assignee_fits(in_agency, in_unit) {
                        return Err(invalid(
                            "assignee_id",
                            Problem::rule(RuleCode::NotInHandlingAgency),
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
                let deadline = handling::supplement_deadline(&calendar, input.deadline, now)
                    .map_err(|problem| invalid("deadline", problem))?;
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
                        change.paused_remaining = Some(handling::remaining_at_supplement(
                            &calendar,
                            due,
                            dossier.received_at,
                            dossier.time_unit,
                            now,
                        ));
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
                        DocumentUse::Fresh => false,
                        DocumentUse::Stored => true,
                        DocumentUse::Unusable => {
                            return Err(invalid(
                                &format!("documents[{i}].document_id"),
                                Problem::rule(RuleCode::DocumentNotUsable),
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
                handling::check_supplement_given(added, note.is_some())
                    .map_err(|problem| invalid("documents", problem))?;
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
                    let due = handling::due_after_supplement(
                        &calendar,
                        clock,
                        dossier.paused_remaining,
                        dossier.allowed_time,
                        dossier.time_unit,
                        now,
                    );
                    change.due_at = Some(due);
                    change.appointment_at = Some(handling::appointment_after_supplement(
                        dossier.appointment_at,
                        due,
                    ));
                    data.insert("due_at".into(), serde_json::json!(due));
                }
                change.paused_at = None;
                change.paused_remaining = None;
                change.supplement_from = None;
                data.insert("documents_added".into(), serde_json::json!(added));
            }
            Action::Transfer => {
                let target =
                    handling::check_transfer(dossier.handling_agency.id, input.target_agency_id)
                        .map_err(|problem| invalid("target_agency_id", problem))?;
                match agencies::by_id(conn, target) {
                    Ok(_) => {}
                    Err(StoreError::NotFound) => {
                        return Err(invalid(
                            "target_agency_id",
                            Problem::rule(RuleCode::UnknownAgency),
                        ));
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
                                Problem::rule(RuleCode::DocumentNotUsable),
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
                            Problem::rule(RuleCode::DocumentNotUsable),
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
                handling::check_result_given(issued.len(), attached, input.paper_result)
                    .map_err(|problem| invalid("documents", problem))?;
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
                let late = handling::processed_late(
                    &calendar,
                    dossier.due_at,
                    dossier.processed_at,
                    dossier.time_unit,
                );
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
                handling::check_apology_date(&calendar, date, now)
                    .map_err(|problem| invalid("new_appointment_date", problem))?;
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
    caller: Principal,
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
pub fn applicant_of(conn: &mut AnyConnection, caller: Principal) -> WorkflowResult<Option<i64>> {
    if caller.role != Role::Citizen {
        return Ok(None);
    }
    Ok(users::by_id(conn, caller.user_id)?.applicant_id)
}

/// Attaches a freshly uploaded document to a dossier: the applicant's
/// supplement, a scan of paper handed in at the counter, or the result.
pub fn attach(
    conn: &mut AnyConnection,
    caller: Principal,
    code: &str,
    document_id: &str,
    requirement: Option<&str>,
    now: DateTime<Utc>,
) -> WorkflowResult<Dossier> {
    write_tx(conn, |conn| {
        let (dossier, actor) = visible(conn, caller, code)?;
        let doc = documents::get(conn, document_id)?;
        let stage =
            handling::attach_stage(doc.kind, actor, dossier.status).map_err(
                |refusal| match refusal {
                    AttachRefusal::Forbidden => WorkflowError::Forbidden,
                    AttachRefusal::NotNow => WorkflowError::NotAllowed {
                        status: dossier.status,
                        allowed: Vec::new(),
                    },
                },
            )?;
        let procedure = procedures::get_by_id(conn, dossier.procedure.id)?;
        let requirement = requirement.map(str::trim).filter(|r| !r.is_empty());
        if let Some(r) = requirement
            && !procedure
                .spec
                .required_documents
                .iter()
                .any(|d| d.code == r)
        {
            return Err(invalid(
                "requirement",
                Problem::rule(RuleCode::UnknownRequirement),
            ));
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
    caller: Principal,
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
