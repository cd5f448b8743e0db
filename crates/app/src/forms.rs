//! E-forms (docs/forms.md): reading and replacing a procedure's form
//! definition, what the applicant's record and earlier dossiers pre-fill,
//! checking a filing's form data, and the fields a supplement request
//! points at. The rules are the domain's ([`motcua_domain::forms`]).

use chrono::{DateTime, Utc};
use motcua_domain::Role;
use motcua_domain::audit::{Actor, Change, EntityType};
use motcua_domain::event::{EventType, ProcedureEventData};
use motcua_domain::forms::{
    self, FORM_DATA, FormDefinition, PrefillValue, PrefilledField, Profile,
};
use motcua_domain::procedure::ProcedureRecord;
use motcua_domain::rule::RuleCode;
use motcua_domain::validation::{FieldErrors, Problem};
use motcua_persistence::repo::applicants::{self, Applicant};
use motcua_persistence::repo::forms::{self as store, NewDossierForm, StoredForm};
use motcua_persistence::repo::{audit, events, procedures, users};
use motcua_persistence::{AnyConnection, StoreError, StoreResult, write_tx};
use serde_json::Value;

use crate::dossiers::{Principal, WorkflowError, WorkflowResult};

/// The procedure named by `code`, or 404.
fn procedure(conn: &mut AnyConnection, code: &str) -> WorkflowResult<ProcedureRecord> {
    match procedures::get(conn, code.trim()) {
        Ok(p) => Ok(p),
        Err(StoreError::NotFound) => Err(WorkflowError::NotFound),
        Err(e) => Err(e.into()),
    }
}

/// A procedure's form: its latest version, or the one asked for; 404 when
/// the procedure has none.
pub fn definition(
    conn: &mut AnyConnection,
    code: &str,
    version: Option<i32>,
) -> WorkflowResult<(ProcedureRecord, StoredForm)> {
    let procedure = procedure(conn, code)?;
    let form = match version {
        Some(v) => store::at_version(conn, procedure.id, v)?,
        None => store::current(conn, procedure.id)?,
    };
    form.map(|f| (procedure, f)).ok_or(WorkflowError::NotFound)
}

/// Stores a new version of a procedure's form (admins) once the domain
/// accepts it, with its audit entry, and reports `procedure.changed` with
/// the form's version. Dossiers filed before keep the version they were
/// filed under.
pub fn replace_definition(
    conn: &mut AnyConnection,
    caller: Principal,
    actor: &Actor,
    code: &str,
    definition: &FormDefinition,
    now: DateTime<Utc>,
) -> WorkflowResult<(ProcedureRecord, StoredForm)> {
    if caller.role != Role::Admin {
        return Err(WorkflowError::Forbidden);
    }
    forms::check_definition(definition)?;
    write_tx(conn, |conn| {
        let procedure = match procedures::lock(conn, code.trim()) {
            Ok(p) => p,
            Err(StoreError::NotFound) => return Err(WorkflowError::NotFound),
            Err(e) => return Err(e.into()),
        };
        let stored = publish(conn, &procedure, definition, actor, None, now)?;
        Ok((procedure, stored))
    })
}

/// A form version as its audit entries show it.
fn audit_json(form: &StoredForm) -> Value {
    serde_json::json!({"version": form.version, "definition": form.definition})
}

/// Stores `definition` as the next version of the procedure's form, in the
/// caller's transaction (the procedure written or locked there): its audit
/// entry (`procedure_form`; `create` for the first version, else `update`,
/// or the `action` given) and its `procedure.changed` event with the form's
/// version.
pub(crate) fn publish(
    conn: &mut AnyConnection,
    procedure: &ProcedureRecord,
    definition: &FormDefinition,
    actor: &Actor,
    action: Option<&str>,
    now: DateTime<Utc>,
) -> StoreResult<StoredForm> {
    let before = store::current(conn, procedure.id)?;
    let stored = store::add_version(conn, procedure.id, definition, actor.user_id, now)?;
    let action = action.unwrap_or(if before.is_some() { "update" } else { "create" });
    audit::record(
        conn,
        actor,
        &Change::new(
            EntityType::ProcedureForm,
            &procedure.spec.code,
            action,
            before.as_ref().map(audit_json),
            Some(audit_json(&stored)),
        ),
        now,
    )?;
    events::record(
        conn,
        EventType::ProcedureChanged,
        &procedure.spec.code,
        procedure.agency.as_ref().map(|a| a.id),
        now,
        &ProcedureEventData {
            form_version: Some(stored.version),
            ..ProcedureEventData::of(procedure)
        },
    )?;
    Ok(stored)
}

/// What a form pre-fills for a citizen.
#[derive(Debug, Clone)]
pub struct Prefill {
    pub procedure: ProcedureRecord,
    pub form_version: i32,
    pub values: Vec<PrefillValue>,
}

/// What the applicant's record offers a form.
fn profile_of(applicant: &Applicant) -> Profile {
    Profile {
        full_name: Some(applicant.full_name.clone()),
        id_number: applicant.id_number.clone(),
        tax_code: applicant.tax_code.clone(),
        phone: applicant.phone.clone(),
        email: applicant.email.clone(),
        address: applicant.address.clone(),
        date_of_birth: applicant.date_of_birth.map(|d| d.to_string()),
    }
}

/// What the form pre-fills for an applicant: its record, and the same
/// fields of its latest earlier dossier for the procedure.
fn offered(
    conn: &mut AnyConnection,
    form: &FormDefinition,
    procedure_id: i64,
    applicant: &Applicant,
) -> WorkflowResult<Vec<PrefillValue>> {
    let earlier = store::latest_of_applicant(conn, applicant.id, procedure_id)?;
    Ok(forms::prefill(
        form,
        &profile_of(applicant),
        earlier.as_ref().map(|(code, data)| (code.as_str(), data)),
    ))
}

/// What a procedure's form pre-fills for the calling citizen.
pub fn prefill_for(
    conn: &mut AnyConnection,
    caller: Principal,
    code: &str,
) -> WorkflowResult<Prefill> {
    if caller.role != Role::Citizen {
        return Err(WorkflowError::Forbidden);
    }
    let user = users::by_id(conn, caller.user_id)?;
    let applicant_id = user.applicant_id.ok_or(WorkflowError::Forbidden)?;
    let procedure = procedure(conn, code)?;
    let form = store::current(conn, procedure.id)?.ok_or(WorkflowError::NotFound)?;
    let applicant = applicants::by_id(conn, applicant_id)?;
    let values = offered(conn, &form.definition, procedure.id, &applicant)?;
    Ok(Prefill {
        procedure,
        form_version: form.version,
        values,
    })
}

/// Form data checked for a filing, ready to store with the dossier.
#[derive(Debug, Clone)]
pub struct CheckedForm {
    pub procedure_id: i64,
    pub applicant_id: i64,
    pub version: i32,
    pub data: Value,
    pub prefilled: Vec<PrefilledField>,
    pub reused: bool,
}

/// Checks a filing's form data against the procedure's current form,
/// adding each failing place to `errors`; notes which values equal what
/// pre-fill offered (and so whether the filing reuses data).
pub(crate) fn check_filing(
    conn: &mut AnyConnection,
    procedure: &ProcedureRecord,
    applicant: &Applicant,
    data: Option<&Value>,
    errors: &mut FieldErrors,
) -> WorkflowResult<Option<CheckedForm>> {
    let Some(data) = data else {
        return Ok(None);
    };
    let Some(form) = store::current(conn, procedure.id)? else {
        errors.add(FORM_DATA, Problem::rule(RuleCode::FormNotOffered));
        return Ok(None);
    };
    if let Err(failures) = forms::check_data(&form.definition, data) {
        for f in failures {
            errors.add(f.field, f.problem);
        }
        return Ok(None);
    }
    let offered = offered(conn, &form.definition, procedure.id, applicant)?;
    let prefilled = forms::prefilled(data, &offered);
    Ok(Some(CheckedForm {
        procedure_id: procedure.id,
        applicant_id: applicant.id,
        version: form.version,
        data: data.clone(),
        reused: forms::counts_as_reuse(&prefilled),
        prefilled,
    }))
}

/// Stores checked form data with the dossier just written.
pub(crate) fn store_filing(
    conn: &mut AnyConnection,
    dossier_id: i64,
    form: &CheckedForm,
) -> WorkflowResult<store::DossierForm> {
    store::insert_dossier_form(
        conn,
        &NewDossierForm {
            dossier_id,
            procedure_id: form.procedure_id,
            applicant_id: form.applicant_id,
            form_version: form.version,
            data: &form.data,
            prefilled: &form.prefilled,
            reused: form.reused,
        },
    )?;
    Ok(store::DossierForm {
        procedure_id: form.procedure_id,
        form_version: form.version,
        data: form.data.clone(),
        prefilled: form.prefilled.clone(),
        reused: form.reused,
        supplement_fields: Vec::new(),
        revision: 1,
    })
}

/// The fields a supplement request points at, checked against the form the
/// dossier was filed under and recorded (none: the dossier's earlier
/// pointers are cleared).
pub(crate) fn point_supplement(
    conn: &mut AnyConnection,
    dossier_id: i64,
    fields: &[String],
) -> WorkflowResult<Vec<String>> {
    let filed = store::of_dossier(conn, dossier_id)?;
    if fields.is_empty() {
        if filed.is_some() {
            store::set_supplement_fields(conn, dossier_id, &[])?;
        }
        return Ok(Vec::new());
    }
    let definition = match &filed {
        Some(f) => store::at_version(conn, f.procedure_id, f.form_version)?.map(|s| s.definition),
        None => None,
    };
    let fields = forms::check_supplement_fields(definition.as_ref(), fields)?;
    store::set_supplement_fields(conn, dossier_id, &fields)?;
    Ok(fields)
}

/// A dossier's form data corrected with a supplement.
#[derive(Debug, Clone)]
pub(crate) struct Corrected {
    /// The new revision (1 was the data as filed).
    pub revision: i32,
    /// The fields of the form whose value changed.
    pub changed: Vec<String>,
    /// The data it replaces (revision `revision - 1`), for the trail.
    pub previous: Value,
}

/// Corrected form data sent with a supplement: checked against the form
/// version the dossier was filed under (422 with each failing place, as at
/// filing), then stored as the dossier's next revision; the one it replaces
/// is kept. A dossier filed without form data: `form_not_offered`.
pub(crate) fn correct(
    conn: &mut AnyConnection,
    dossier_id: i64,
    data: &Value,
    by: i64,
    now: DateTime<Utc>,
) -> WorkflowResult<Corrected> {
    let filed = store::of_dossier(conn, dossier_id)?;
    let definition = match &filed {
        Some(f) => store::at_version(conn, f.procedure_id, f.form_version)?.map(|s| s.definition),
        None => None,
    };
    let (Some(filed), Some(definition)) = (filed, definition) else {
        return Err(vec![motcua_domain::validation::FieldError {
            field: FORM_DATA.to_owned(),
            problem: Problem::rule(RuleCode::FormNotOffered),
        }]
        .into());
    };
    forms::check_data(&definition, data)?;
    let changed = forms::changed(&definition, &filed.data, data);
    let revision = store::revise(conn, dossier_id, &filed, data, Some(by), now)?;
    Ok(Corrected {
        revision,
        changed,
        previous: filed.data,
    })
}
