//! E-forms (migration 000027): the versions of each procedure's form
//! definition, and the form data each dossier was filed with.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use motcua_domain::forms::{FormDefinition, PrefilledField};
use serde_json::Value;

use crate::schema::{dossier_form_revisions, dossier_forms, dossiers, procedure_forms};
use crate::time::{from_db, to_db};
use crate::{AnyConnection, StoreError, StoreResult};

/// One version of a procedure's form.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredForm {
    pub procedure_id: i64,
    pub version: i32,
    pub definition: FormDefinition,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
}

type FormRow = (i64, i32, String, Option<i64>, NaiveDateTime);

fn stored(row: FormRow) -> StoreResult<StoredForm> {
    let (procedure_id, version, definition, created_by, created_at) = row;
    Ok(StoredForm {
        procedure_id,
        version,
        definition: serde_json::from_str(&definition).map_err(StoreError::corrupt)?,
        created_by,
        created_at: from_db(created_at),
    })
}

macro_rules! form_columns {
    () => {
        (
            procedure_forms::procedure_id,
            procedure_forms::version,
            procedure_forms::definition,
            procedure_forms::created_by,
            procedure_forms::created_at,
        )
    };
}

/// The form filings use now: the procedure's latest version, if any.
pub fn current(conn: &mut AnyConnection, procedure_id: i64) -> StoreResult<Option<StoredForm>> {
    let row: Option<FormRow> = procedure_forms::table
        .filter(procedure_forms::procedure_id.eq(procedure_id))
        .order(procedure_forms::version.desc())
        .select(form_columns!())
        .first(conn)
        .optional()?;
    row.map(stored).transpose()
}

/// One version of a procedure's form.
pub fn at_version(
    conn: &mut AnyConnection,
    procedure_id: i64,
    version: i32,
) -> StoreResult<Option<StoredForm>> {
    let row: Option<FormRow> = procedure_forms::table
        .find((procedure_id, version))
        .select(form_columns!())
        .first(conn)
        .optional()?;
    row.map(stored).transpose()
}

/// Stores a new version of a procedure's form (the next number); returns
/// it. Call in the transaction that locked the procedure.
pub fn add_version(
    conn: &mut AnyConnection,
    procedure_id: i64,
    definition: &FormDefinition,
    created_by: Option<i64>,
    at: DateTime<Utc>,
) -> StoreResult<StoredForm> {
    let last: Option<i32> = procedure_forms::table
        .filter(procedure_forms::procedure_id.eq(procedure_id))
        .select(diesel::dsl::max(procedure_forms::version))
        .first(conn)?;
    let version = last.unwrap_or(0) + 1;
    let text = serde_json::to_string(definition).map_err(StoreError::corrupt)?;
    let created_at = to_db(at);
    diesel::insert_into(procedure_forms::table)
        .values((
            procedure_forms::procedure_id.eq(procedure_id),
            procedure_forms::version.eq(version),
            procedure_forms::definition.eq(&text),
            procedure_forms::created_by.eq(created_by),
            procedure_forms::created_at.eq(created_at),
        ))
        .execute(conn)?;
    Ok(StoredForm {
        procedure_id,
        version,
        definition: definition.clone(),
        created_by,
        created_at: from_db(created_at),
    })
}

/// The form data a dossier is filed with.
#[derive(Debug, Clone)]
pub struct NewDossierForm<'a> {
    pub dossier_id: i64,
    pub procedure_id: i64,
    pub applicant_id: i64,
    pub form_version: i32,
    pub data: &'a Value,
    pub prefilled: &'a [PrefilledField],
    pub reused: bool,
}

pub fn insert_dossier_form(conn: &mut AnyConnection, form: &NewDossierForm<'_>) -> StoreResult<()> {
    let data = serde_json::to_string(form.data).map_err(StoreError::corrupt)?;
    let prefilled = serde_json::to_string(form.prefilled).map_err(StoreError::corrupt)?;
    diesel::insert_into(dossier_forms::table)
        .values((
            dossier_forms::dossier_id.eq(form.dossier_id),
            dossier_forms::procedure_id.eq(form.procedure_id),
            dossier_forms::applicant_id.eq(form.applicant_id),
            dossier_forms::form_version.eq(form.form_version),
            dossier_forms::data.eq(&data),
            dossier_forms::prefilled.eq(&prefilled),
            dossier_forms::reused.eq(form.reused),
            dossier_forms::supplement_fields.eq("[]"),
        ))
        .execute(conn)?;
    Ok(())
}

/// A dossier's form data as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct DossierForm {
    pub procedure_id: i64,
    /// The version of the procedure's form it was filed under.
    pub form_version: i32,
    pub data: Value,
    pub prefilled: Vec<PrefilledField>,
    /// Counts toward the data-reuse KPI.
    pub reused: bool,
    /// The fields the latest supplement request pointed at.
    pub supplement_fields: Vec<String>,
    /// 1 as filed; each correction sent with a supplement adds one.
    pub revision: i32,
}

fn parse<T: serde::de::DeserializeOwned>(text: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(StoreError::corrupt)
}

/// A dossier's form data, if it was filed with some.
pub fn of_dossier(conn: &mut AnyConnection, dossier_id: i64) -> StoreResult<Option<DossierForm>> {
    let row: Option<(i64, i32, String, String, bool, String, i32)> = dossier_forms::table
        .find(dossier_id)
        .select((
            dossier_forms::procedure_id,
            dossier_forms::form_version,
            dossier_forms::data,
            dossier_forms::prefilled,
            dossier_forms::reused,
            dossier_forms::supplement_fields,
            dossier_forms::revision,
        ))
        .first(conn)
        .optional()?;
    row.map(
        |(procedure_id, form_version, data, prefilled, reused, fields, revision)| {
            Ok(DossierForm {
                procedure_id,
                form_version,
                data: parse(&data)?,
                prefilled: parse(&prefilled)?,
                reused,
                supplement_fields: parse(&fields)?,
                revision,
            })
        },
    )
    .transpose()
}

/// The form data (the declaration) of a dossier, for papers and views.
pub fn form_data_of(conn: &mut AnyConnection, dossier_id: i64) -> StoreResult<Option<Value>> {
    let text: Option<String> = dossier_forms::table
        .find(dossier_id)
        .select(dossier_forms::data)
        .first(conn)
        .optional()?;
    text.map(|t| parse(&t)).transpose()
}

/// The code and form data of the applicant's latest dossier for a
/// procedure that carries form data, before `before_dossier` if given.
pub fn latest_of_applicant(
    conn: &mut AnyConnection,
    applicant_id: i64,
    procedure_id: i64,
) -> StoreResult<Option<(String, Value)>> {
    let row: Option<(String, String)> = dossier_forms::table
        .inner_join(dossiers::table)
        .filter(dossier_forms::applicant_id.eq(applicant_id))
        .filter(dossier_forms::procedure_id.eq(procedure_id))
        .order(dossier_forms::dossier_id.desc())
        .select((dossiers::code, dossier_forms::data))
        .first(conn)
        .optional()?;
    row.map(|(code, data)| Ok((code, parse(&data)?)))
        .transpose()
}

/// Records the fields a supplement request points at.
pub fn set_supplement_fields(
    conn: &mut AnyConnection,
    dossier_id: i64,
    fields: &[String],
) -> StoreResult<()> {
    let text = serde_json::to_string(fields).map_err(StoreError::corrupt)?;
    diesel::update(dossier_forms::table.find(dossier_id))
        .set(dossier_forms::supplement_fields.eq(text))
        .execute(conn)?;
    Ok(())
}

/// Replaces a dossier's form data with a corrected revision (sent with a
/// supplement): the data it replaces is kept in `dossier_form_revisions`
/// under its revision number. Returns the new revision. Call in the
/// transaction that locked the dossier, with `current` as read there.
pub fn revise(
    conn: &mut AnyConnection,
    dossier_id: i64,
    current: &DossierForm,
    data: &Value,
    by: Option<i64>,
    at: DateTime<Utc>,
) -> StoreResult<i32> {
    let old = serde_json::to_string(&current.data).map_err(StoreError::corrupt)?;
    let new = serde_json::to_string(data).map_err(StoreError::corrupt)?;
    diesel::insert_into(dossier_form_revisions::table)
        .values((
            dossier_form_revisions::dossier_id.eq(dossier_id),
            dossier_form_revisions::revision.eq(current.revision),
            dossier_form_revisions::data.eq(&old),
            dossier_form_revisions::replaced_at.eq(to_db(at)),
            dossier_form_revisions::replaced_by.eq(by),
        ))
        .execute(conn)?;
    let revision = current.revision + 1;
    diesel::update(dossier_forms::table.find(dossier_id))
        .set((
            dossier_forms::data.eq(&new),
            dossier_forms::revision.eq(revision),
        ))
        .execute(conn)?;
    Ok(revision)
}

/// A superseded revision of a dossier's form data.
#[derive(Debug, Clone, PartialEq)]
pub struct FormRevision {
    pub revision: i32,
    pub data: Value,
    pub replaced_at: DateTime<Utc>,
    pub replaced_by: Option<i64>,
}

/// The superseded revisions of a dossier's form data, oldest first.
pub fn revisions_of(conn: &mut AnyConnection, dossier_id: i64) -> StoreResult<Vec<FormRevision>> {
    let rows: Vec<(i32, String, NaiveDateTime, Option<i64>)> = dossier_form_revisions::table
        .filter(dossier_form_revisions::dossier_id.eq(dossier_id))
        .order(dossier_form_revisions::revision.asc())
        .select((
            dossier_form_revisions::revision,
            dossier_form_revisions::data,
            dossier_form_revisions::replaced_at,
            dossier_form_revisions::replaced_by,
        ))
        .load(conn)?;
    rows.into_iter()
        .map(|(revision, data, at, by)| {
            Ok(FormRevision {
                revision,
                data: parse(&data)?,
                replaced_at: from_db(at),
                replaced_by: by,
            })
        })
        .collect()
}

/// Whether a dossier's form data reused an earlier dossier's.
pub fn reused_of(conn: &mut AnyConnection, dossier_id: i64) -> StoreResult<bool> {
    Ok(dossier_forms::table
        .find(dossier_id)
        .select(dossier_forms::reused)
        .first::<bool>(conn)
        .optional()?
        .unwrap_or(false))
}

/// The dossiers with ids in `first..=last` whose form data reused an
/// earlier dossier's.
pub fn reused_between(
    conn: &mut AnyConnection,
    first_id: i64,
    last_id: i64,
) -> StoreResult<HashSet<i64>> {
    let ids: Vec<i64> = dossier_forms::table
        .filter(dossier_forms::dossier_id.between(first_id, last_id))
        .filter(dossier_forms::reused.eq(true))
        .select(dossier_forms::dossier_id)
        .load(conn)?;
    Ok(ids.into_iter().collect())
}
