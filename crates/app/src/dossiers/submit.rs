//! Filing a dossier, and the documents an applicant may reuse.
//!
//! A filing checks everything first, then writes the dossier under its id and
//! only at the very end takes the agency's next number of the day and sets the
//! code with it (one statement on PostgreSQL), then appends its
//! `dossier.submitted` event (which names the code): the shared counter row is
//! held from that statement to the commit, two statements, not through the
//! whole filing. The answer is built from what was written, without reading
//! it back.

use std::collections::HashMap;

use chrono::{DateTime, SubsecRound, Utc};
use motcua_domain::Role;
use motcua_domain::access::{Holding, IdentityStatus, Viewer};
use motcua_domain::agency::AgencyRef;
use motcua_domain::document::{Document, DocumentKind, DocumentStage};
use motcua_domain::dossier::{
    Actor, ApplicantRef, Channel, Dossier, DossierStatus, ProcedureRef, dossier_code_prefix,
};
use motcua_domain::identity::normalize_phone;
use motcua_domain::local_time;
use motcua_domain::procedure::{Fee, FeeChoiceError, ProcedureRecord, ProcedureStatus};
use motcua_domain::representation::{self, Authorisation, Contact, Representative};
use motcua_domain::rule::RuleCode;
use motcua_domain::rules::{Note, TextRule};
use motcua_domain::submission::{
    self, AgencyChoice, ApplicantIdentity, ApplicantInput, DocumentHolding, DocumentLine,
    DocumentUse, DocumentUser, Intake,
};
use motcua_domain::text::{fold, nfc};
use motcua_domain::validation::{FieldErrors, Problem};
use motcua_persistence::repo::applicants::{self, Applicant};
use motcua_persistence::repo::dossiers::{
    self, DossierDocument, NewDossier, NewDossierDocument, NewEvent, Numbering,
};
use motcua_persistence::repo::representatives::{self, NewRepresentative, StoredRepresentative};
use motcua_persistence::repo::{agencies, documents, procedures, users};
use motcua_persistence::{AnyConnection, StoreError, write_tx};
use rand::Rng;

use super::{
    Principal, Submission, WorkflowError, WorkflowResult, actor_with, check_applicant, invalid,
    viewer,
};

/// A dossier just filed, as written: what the answer to the filer shows.
#[derive(Debug, Clone)]
pub struct Filed {
    pub dossier: Dossier,
    /// Whom the filer acts as on it.
    pub actor: Actor,
    /// Its document lines, in the order written.
    pub documents: Vec<DossierDocument>,
    /// Its form data, when filed with some.
    pub form: Option<motcua_persistence::repo::forms::DossierForm>,
    /// Who filed it on behalf of the applicant, if anyone.
    pub representative: Option<StoredRepresentative>,
}

/// A checked representative, its authorisation and the contact chosen.
struct Representation {
    representative: Representative,
    authorisation: Authorisation,
    contact: Contact,
}

/// Files a dossier in a transaction of its own (see [`file`]).
pub fn submit(
    conn: &mut AnyConnection,
    caller: Principal,
    input: Submission,
    now: DateTime<Utc>,
) -> WorkflowResult<Filed> {
    if !submission::may_submit(caller.role) {
        return Err(WorkflowError::Forbidden);
    }
    write_tx(conn, |conn| file(conn, caller, input, now))
}

/// Files a dossier in the caller's write transaction (e.g. one that also
/// claims an idempotency key). Citizens file online for themselves; officers
/// at the counter (or by post) and integration accounts on behalf of an
/// applicant named by citizen ID number.
pub fn file(
    conn: &mut AnyConnection,
    caller: Principal,
    input: Submission,
    now: DateTime<Utc>,
) -> WorkflowResult<Filed> {
    if !submission::may_submit(caller.role) {
        return Err(WorkflowError::Forbidden);
    }
    // What is answered is what is stored, to the microsecond.
    let now = now.trunc_subsecs(6);
    let mut errors = FieldErrors::new();
    let procedure = open_procedure(conn, &input.procedure_code)?;
    let channel = submission::check_channel(
        caller.role,
        input.channel,
        procedure.spec.online_level,
        &mut errors,
    );
    let agency = receiving_agency(conn, &procedure, input.agency_id)?;
    let received_at = intake_point(conn, caller, agency.id)?;
    let applicant = applicant_for(
        conn,
        caller,
        input.applicant.as_ref(),
        input.representative.is_some(),
        &mut errors,
        now,
    )?;
    let representation =
        representation_for(conn, caller, &input, &applicant, channel, now, &mut errors)?;
    let mut uploads = HashMap::new();
    let mut uses = HashMap::new();
    for id in input
        .documents
        .iter()
        .filter(|d| !d.paper)
        .filter_map(|d| d.document_id.as_ref())
    {
        if let Some(doc) = stored_document(conn, id)? {
            uses.insert(id.clone(), use_of(conn, caller, applicant.id, &doc)?);
            uploads.insert(id.clone(), doc);
        }
    }
    let lines = submission::document_lines(
        &procedure.spec.required_documents,
        &input.documents,
        channel,
        |id| uses.get(id).copied().unwrap_or(DocumentUse::Unusable),
        &mut errors,
    );
    let fees = fees_chosen(&procedure, &input.fee_codes, &mut errors);
    let note = input.note.as_deref().map(nfc).filter(|n| !n.is_empty());
    Note::check_optional(&mut errors, "note", note.as_deref());
    let form = crate::forms::check_filing(
        conn,
        &procedure,
        &applicant,
        input.form_data.as_ref(),
        &mut errors,
    )?;
    errors.into_result()?;
    let filing = Filing {
        caller,
        procedure: &procedure,
        agency,
        received_at,
        applicant: &applicant,
        channel,
        result_channel: input.result_channel.unwrap_or(channel),
        fees,
        note,
        now,
    };
    write(
        conn,
        filing,
        &lines,
        &uploads,
        form.as_ref(),
        representation.as_ref(),
    )
}

/// The representative a filing names, checked: someone other than the
/// applicant (for a citizen filing online, the citizen itself), with the
/// authorisation document; and the contact chosen.
fn representation_for(
    conn: &mut AnyConnection,
    caller: Principal,
    input: &Submission,
    applicant: &Applicant,
    channel: Channel,
    now: DateTime<Utc>,
    errors: &mut FieldErrors,
) -> WorkflowResult<Option<Representation>> {
    let Some(given) = input.representative.as_ref() else {
        representation::contact(input.contact, false, errors);
        return Ok(None);
    };
    let identity = applicant_identity(applicant);
    let today = local_time::date(now);
    let checked = representation::check_representative(given, identity.as_ref(), today, errors);
    if caller.role == Role::Citizen
        && let Some(rep) = &checked
    {
        let own = match users::by_id(conn, caller.user_id)?.applicant_id {
            Some(id) => applicants::by_id(conn, id)?.id_number,
            None => None,
        };
        representation::check_citizen_is_representative(own.as_deref(), rep, errors);
    }
    let document = given
        .authorisation_document_id
        .as_deref()
        .map(str::trim)
        .filter(|id| !id.is_empty());
    let use_of = match document {
        Some(id) if !given.authorisation_paper => usable(conn, caller, applicant.id, id)?,
        _ => DocumentUse::Unusable,
    };
    let authorisation = representation::check_authorisation(given, channel, |_| use_of, errors);
    let contact = representation::contact(input.contact, true, errors);
    Ok(match (checked, authorisation) {
        (Some(representative), Some(authorisation)) => Some(Representation {
            representative,
            authorisation,
            contact,
        }),
        _ => None,
    })
}

/// Who an applicant record is, as the representative rules compare it.
fn applicant_identity(applicant: &Applicant) -> Option<ApplicantIdentity> {
    use motcua_domain::identity::{CitizenId, TaxCode};
    match (&applicant.id_number, &applicant.tax_code) {
        (Some(id), _) => CitizenId::parse(id).ok().map(ApplicantIdentity::Person),
        (None, Some(code)) => TaxCode::parse(code)
            .ok()
            .map(ApplicantIdentity::Organization),
        (None, None) => None,
    }
}

/// Records the representative of dossier `id` filed by `caller` and its
/// authorisation document's owner, and puts "filed by representative X for
/// applicant Y" in the trail line's `data`; returns the row as stored.
fn record_representation(
    conn: &mut AnyConnection,
    (id, caller): (i64, Principal),
    applicant: &Applicant,
    representation: &Representation,
    data: &mut serde_json::Value,
    now: DateTime<Utc>,
) -> WorkflowResult<StoredRepresentative> {
    let Representation {
        representative,
        authorisation,
        contact,
    } = representation;
    if let (Some(doc), false) = (&authorisation.document_id, authorisation.reused) {
        documents::set_owner(conn, doc, applicant.id)?;
    }
    // A citizen filing online for someone else: its account's reach ends with the dossier.
    let user_id = (caller.role == Role::Citizen).then_some(caller.user_id);
    representatives::insert(
        conn,
        &NewRepresentative {
            dossier_id: id,
            representative,
            authorisation_document_id: authorisation.document_id.as_deref(),
            contact: *contact,
            user_id,
        },
        now,
    )?;
    let trail = serde_json::json!({
        "kind": representative.kind,
        "full_name": representative.full_name,
        "for": applicant.full_name,
        "contact": contact,
        "line": representation::trail_line(&representative.full_name, &applicant.full_name),
    });
    if let Some(map) = data.as_object_mut() {
        map.insert("representative".to_owned(), trail);
    }
    Ok(StoredRepresentative {
        dossier_id: id,
        representative: representative.clone(),
        authorisation_document_id: authorisation.document_id.clone(),
        contact: *contact,
        user_id,
        created_at: now,
        ended_at: None,
    })
}

/// Everything checked about a filing, ready to be written.
struct Filing<'a> {
    caller: Principal,
    procedure: &'a ProcedureRecord,
    agency: AgencyRef,
    /// The receiving point that took it in for `agency`, if another agency.
    received_at: Option<AgencyRef>,
    applicant: &'a Applicant,
    channel: Channel,
    result_channel: Channel,
    fees: Vec<Fee>,
    note: Option<String>,
    now: DateTime<Utc>,
}

/// Writes a checked filing: the dossier under its id, its documents and its
/// trail line, and last its number (the counter row is locked from there to
/// the commit only).
fn write(
    conn: &mut AnyConnection,
    filing: Filing<'_>,
    lines: &[DocumentLine],
    uploads: &HashMap<String, Document>,
    form: Option<&crate::forms::CheckedForm>,
    representation: Option<&Representation>,
) -> WorkflowResult<Filed> {
    let Filing {
        caller,
        procedure,
        agency,
        received_at,
        applicant,
        channel,
        result_channel,
        fees,
        note,
        now,
    } = filing;
    let fees_due: i64 = fees.iter().map(|f| f.amount_vnd).sum();
    let spec = &procedure.spec;
    let id = dossiers::insert(
        conn,
        &NewDossier {
            procedure_id: procedure.id,
            agency_id: agency.id,
            received_at_agency_id: received_at.as_ref().map(|point| point.id),
            applicant_id: applicant.id,
            submitted_by: caller.user_id,
            channel,
            result_channel,
            time_unit: spec.time_unit.as_str(),
            allowed_time: spec.committed_days,
            regulated_days: spec.regulated_days,
            submitted_at: now,
            fees: &fees,
            fees_due_vnd: fees_due,
            note: note.as_deref(),
        },
    )?;
    if applicant.tax_code.is_some() {
        let pin = format!("{:06}", rand::rng().random_range(0..1_000_000));
        dossiers::set_tracking_pin(conn, id, &pin)?;
    }
    for doc in lines
        .iter()
        .filter(|l| !l.reused)
        .filter_map(|l| l.document_id.as_deref())
    {
        documents::set_owner(conn, doc, applicant.id)?;
    }
    let rows = document_rows(lines, representation);
    dossiers::add_documents(conn, id, &rows, now)?;
    let form = form
        .map(|f| crate::forms::store_filing(conn, id, f))
        .transpose()?;
    let mut data = serde_json::json!({ "channel": channel, "fees_due_vnd": fees_due });
    let representative = representation
        .map(|r| record_representation(conn, (id, caller), applicant, r, &mut data, now))
        .transpose()?;
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
            data: Some(data),
            at: now,
        },
    )?;
    // Last before the commit: the agency's number of the day, and the code.
    let code = take_number(conn, id, &agency, applicant, now)?;
    let dossier = as_filed(
        id,
        code,
        Filing {
            caller,
            procedure,
            agency,
            received_at,
            applicant,
            channel,
            result_channel,
            fees,
            note,
            now,
        },
        fees_due,
    );
    crate::outbox::dossier(conn, &dossier, None, None, now)?;
    let documents = answer_documents(&rows, uploads, now);
    let actor = filer(caller, applicant, &dossier)?;
    Ok(Filed {
        dossier,
        actor,
        documents,
        form,
        representative,
    })
}

/// The filing's document lines as stored: the requirements met, then the
/// authorisation document (a line that meets no requirement), if any.
fn document_rows<'a>(
    lines: &'a [DocumentLine],
    representation: Option<&'a Representation>,
) -> Vec<NewDossierDocument<'a>> {
    let mut rows: Vec<NewDossierDocument<'_>> = lines
        .iter()
        .map(|line| NewDossierDocument {
            requirement: Some(line.requirement.as_str()),
            document_id: line.document_id.as_deref(),
            paper: line.paper,
            reused: line.reused,
            stage: DocumentStage::Submission.as_str(),
        })
        .collect();
    rows.extend(representation.map(|r| NewDossierDocument {
        requirement: None,
        document_id: r.authorisation.document_id.as_deref(),
        paper: r.authorisation.paper,
        reused: r.authorisation.reused,
        stage: DocumentStage::Submission.as_str(),
    }));
    rows
}

/// Takes the agency's next number of the day for dossier `id` and sets its
/// code and search text with it; returns the code.
fn take_number(
    conn: &mut AnyConnection,
    id: i64,
    agency: &AgencyRef,
    applicant: &Applicant,
    now: DateTime<Utc>,
) -> WorkflowResult<String> {
    let day = local_time::date(now);
    let prefix = dossier_code_prefix(&agency.code, day);
    let search_tail = format!(
        " {} {} ",
        fold(&applicant.full_name),
        applicant
            .id_number
            .as_deref()
            .or(applicant.tax_code.as_deref())
            .unwrap_or("")
    );
    Ok(dossiers::number(
        conn,
        id,
        &Numbering {
            agency_id: agency.id,
            day,
            code_prefix: &prefix,
            // The code folded for search: its dashes become spaces.
            search_head: &format!(" {} ", fold(&prefix)),
            search_tail: &search_tail,
        },
    )?)
}

/// The document lines as written, with what the uploads' rows say.
fn answer_documents(
    rows: &[NewDossierDocument<'_>],
    uploads: &HashMap<String, Document>,
    now: DateTime<Utc>,
) -> Vec<DossierDocument> {
    rows.iter()
        .map(|row| {
            let upload = row.document_id.and_then(|id| uploads.get(id));
            DossierDocument {
                requirement: row.requirement.map(str::to_owned),
                document_id: row.document_id.map(str::to_owned),
                title: upload.map(|d| d.title.clone()),
                content_type: upload.map(|d| d.content_type.clone()),
                size_bytes: upload.map(|d| d.size_bytes),
                paper: row.paper,
                reused: row.reused,
                stage: row.stage.to_owned(),
                added_at: now,
            }
        })
        .collect()
}

/// The dossier as [`write`] stored it, numbered `code`.
fn as_filed(id: i64, code: String, filing: Filing<'_>, fees_due: i64) -> Dossier {
    let Filing {
        caller,
        procedure,
        agency,
        received_at,
        applicant,
        channel,
        result_channel,
        fees,
        note,
        now,
    } = filing;
    let spec = &procedure.spec;
    Dossier {
        id,
        code,
        procedure: ProcedureRef {
            id: procedure.id,
            code: spec.code.clone(),
            name: spec.name.clone(),
        },
        handling_agency: agency.clone(),
        agency,
        received_at_agency: received_at,
        applicant: ApplicantRef {
            id: applicant.id,
            kind: applicant.kind.clone(),
            full_name: applicant.full_name.clone(),
            id_number: applicant.id_number.clone(),
            tax_code: applicant.tax_code.clone(),
        },
        submitted_by: caller.user_id,
        channel,
        result_channel,
        status: DossierStatus::Submitted,
        assignee_id: None,
        assigned_unit_id: None,
        time_unit: spec.time_unit,
        allowed_time: spec.committed_days,
        regulated_days: spec.regulated_days,
        submitted_at: now,
        received_at: None,
        due_at: None,
        appointment_at: None,
        paused_at: None,
        paused_remaining: None,
        supplement_from: None,
        supplement_count: 0,
        processed_at: None,
        finished_at: None,
        fees_due_vnd: fees_due,
        fees_paid_vnd: 0,
        fees,
        note,
        version: 1,
        updated_at: now,
    }
}

/// Whom the filer acts as on what it just filed: the access rule on what is
/// known without a read (the dossier has passed only through the receiving
/// agency; whoever filed it reaches it, whatever their identity status).
fn filer(caller: Principal, applicant: &Applicant, dossier: &Dossier) -> WorkflowResult<Actor> {
    let viewer = Viewer {
        user_id: caller.user_id,
        role: caller.role,
        agency_id: caller.agency_id,
        applicant_id: (caller.role == Role::Citizen).then_some(applicant.id),
        identity: IdentityStatus::Unverified,
    };
    let holding = Holding {
        applicant_id: applicant.id,
        submitted_by: caller.user_id,
        agency_id: dossier.agency.id,
        passed_viewer_agency: caller.agency_id.is_some()
            && (caller.agency_id == Some(dossier.agency.id)
                || caller.agency_id == dossier.received_at_agency.as_ref().map(|point| point.id)),
        granted_to_viewer: false,
        finished: false,
    };
    actor_with(caller, viewer, holding, dossier)
}

/// The procedure filed for, if it is still open for filing.
fn open_procedure(conn: &mut AnyConnection, code: &str) -> WorkflowResult<ProcedureRecord> {
    let procedure = match procedures::get(conn, code.trim()) {
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
    Ok(procedure)
}

/// The receiving agency: the procedure's own (as the procedure row names it,
/// no further read), or the commune chosen for a commune-wide procedure.
fn receiving_agency(
    conn: &mut AnyConnection,
    procedure: &ProcedureRecord,
    requested: Option<i64>,
) -> WorkflowResult<AgencyRef> {
    let choice = submission::choose_agency(procedure.agency.as_ref().map(|a| a.id), requested)
        .map_err(|(field, problem)| invalid(field, problem))?;
    match (choice, &procedure.agency) {
        (AgencyChoice::Own(own), Some(agency)) if agency.id == own => Ok(agency.clone()),
        (AgencyChoice::Own(own), _) => Ok(agency_ref(agencies::by_id(conn, own)?)),
        (AgencyChoice::Chosen(chosen), _) => match agencies::by_id(conn, chosen) {
            Ok(a) if procedure.spec.levels.contains(&a.level) => Ok(agency_ref(a)),
            Ok(_) | Err(StoreError::NotFound) => {
                Err(invalid("agency_id", Problem::rule(RuleCode::UnknownAgency)))
            }
            Err(e) => Err(e.into()),
        },
    }
}

/// Where an officer's filing for `agency_id` is taken in: at that agency
/// (`None`), or at the officer's own agency when it is a receiving point.
fn intake_point(
    conn: &mut AnyConnection,
    caller: Principal,
    agency_id: i64,
) -> WorkflowResult<Option<AgencyRef>> {
    let own = match (caller.role, caller.agency_id) {
        (Role::Officer, Some(own)) if own != agency_id => Some(agencies::by_id(conn, own)?),
        _ => None,
    };
    let is_point = own.as_ref().is_some_and(|a| a.receiving_point);
    match submission::intake(caller.role, caller.agency_id, is_point, agency_id) {
        Intake::AtAgency => Ok(None),
        Intake::AtReceivingPoint(_) => Ok(own.map(agency_ref)),
        Intake::Refused => Err(WorkflowError::Forbidden),
    }
}

fn agency_ref(agency: motcua_domain::agency::Agency) -> AgencyRef {
    AgencyRef {
        id: agency.id,
        code: agency.code,
        name: agency.name,
    }
}

/// The applicant filed for: a citizen's own record, or the one the filer
/// names by ID number or tax code (created when new).
fn applicant_for(
    conn: &mut AnyConnection,
    caller: Principal,
    given: Option<&ApplicantInput>,
    representing: bool,
    errors: &mut FieldErrors,
    now: DateTime<Utc>,
) -> WorkflowResult<Applicant> {
    // A citizen files for itself, or as the representative of the applicant it names.
    if caller.role == Role::Citizen && !(representing && given.is_some()) {
        let user = users::by_id(conn, caller.user_id)?;
        let id = user.applicant_id.ok_or(WorkflowError::Forbidden)?;
        representation::check_citizen_filing(given.is_some(), representing, errors);
        return Ok(applicants::by_id(conn, id)?);
    }
    let Some(given) = given else {
        return Err(invalid("applicant", Problem::Required));
    };
    let Some(identity) = check_applicant(given, errors) else {
        return Err(WorkflowError::Invalid(std::mem::take(errors).into_vec()));
    };
    let known = match &identity {
        ApplicantIdentity::Person(id) => applicants::by_id_number(conn, id.as_str())?,
        ApplicantIdentity::Organization(code) => applicants::by_tax_code(conn, code.as_str())?,
    };
    if let Some(existing) = known {
        return Ok(existing);
    }
    submission::check_new_applicant(given, errors);
    if !errors.is_empty() {
        return Err(WorkflowError::Invalid(std::mem::take(errors).into_vec()));
    }
    let name = nfc(&given.full_name);
    let phone = given.phone.as_deref().and_then(normalize_phone);
    let email = given
        .email
        .as_deref()
        .map(|e| e.trim().to_lowercase())
        .filter(|e| !e.is_empty());
    let address = given.address.as_deref().map(nfc).filter(|a| !a.is_empty());
    Ok(match &identity {
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
            now,
        )?,
        ApplicantIdentity::Organization(code) => applicants::insert_organization(
            conn,
            &applicants::NewOrganization {
                tax_code: code.as_str(),
                full_name: &name,
                phone: phone.as_deref(),
                email: email.as_deref(),
                address: address.as_deref(),
            },
            now,
        )?,
    })
}

/// The fees the filer's codes select (the procedure's rule).
fn fees_chosen(
    procedure: &ProcedureRecord,
    codes: &[String],
    errors: &mut FieldErrors,
) -> Vec<Fee> {
    match procedure.spec.fees_due(codes) {
        Ok(fees) => fees.into_iter().cloned().collect(),
        Err(FeeChoiceError::Unknown(code)) => {
            errors.add("fee_codes", Problem::rule(RuleCode::UnknownFee));
            tracing::debug!(code, "unknown fee code");
            Vec::new()
        }
        Err(FeeChoiceError::TierRequired(codes)) => {
            errors.add("fee_codes", Problem::NotAllowed { allowed: codes });
            Vec::new()
        }
    }
}

/// How the caller may use a document for an applicant: the domain's
/// [`submission::document_use`] on what is stored about it.
pub(super) fn usable(
    conn: &mut AnyConnection,
    caller: Principal,
    applicant_id: i64,
    id: &str,
) -> WorkflowResult<DocumentUse> {
    match stored_document(conn, id)? {
        Some(doc) => use_of(conn, caller, applicant_id, &doc),
        None => Ok(DocumentUse::Unusable),
    }
}

/// A stored document, or `None` when there is no such id.
fn stored_document(conn: &mut AnyConnection, id: &str) -> WorkflowResult<Option<Document>> {
    match documents::get(conn, id) {
        Ok(doc) => Ok(Some(doc)),
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// [`usable`] for a document already read.
fn use_of(
    conn: &mut AnyConnection,
    caller: Principal,
    applicant_id: i64,
    doc: &Document,
) -> WorkflowResult<DocumentUse> {
    // Only what the rule can ask about is looked up.
    let in_a_dossier = doc.kind == DocumentKind::Input
        && doc.uploaded_by == caller.user_id
        && !documents::dossiers_of(conn, &doc.id)?.is_empty();
    // Verified as the applicant's own person (not as a representative of it).
    let verified =
        caller.role == Role::Citizen && doc.in_store && doc.uploaded_by != caller.user_id && {
            let me = viewer(conn, caller)?;
            me.identity == IdentityStatus::Verified && me.applicant_id == Some(applicant_id)
        };
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
