//! Writes to the catalog: create, update, abolish and import, each keeping
//! the new version whole and its audit entries, in one transaction.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use motcua_domain::audit::{Actor, Change, EntityType};
use motcua_domain::procedure::{AdminLevel, ProcedureRecord, ProcedureSpec, ProcedureStatus};
use motcua_domain::text::fold;
use motcua_domain::validation::{FieldError, Problem};
use serde::Serialize;

use super::{get, get_by_id, resolve_agency};
use crate::repo::audit;
use crate::schema::{procedure_versions, procedures, sectors};
use crate::time::to_db;
use crate::{AnyConnection, StoreError, StoreResult, insert_or_ignore, write_tx};

fn levels_text(levels: &[AdminLevel]) -> String {
    let mut text = String::from(",");
    for level in levels {
        text.push_str(level.as_str());
        text.push(',');
    }
    text
}

fn ensure_sector(conn: &mut AnyConnection, spec: &ProcedureSpec) -> StoreResult<String> {
    let code = spec.sector_code();
    insert_or_ignore!(
        &mut *conn,
        sectors::table,
        (sectors::code.eq(&code), sectors::name.eq(&spec.sector))
    )?;
    Ok(code)
}

fn spec_json(spec: &ProcedureSpec) -> StoreResult<String> {
    serde_json::to_string(spec).map_err(StoreError::corrupt)
}

/// The procedure as its audit entries show it: content, not timestamps.
fn audit_json(record: &ProcedureRecord) -> serde_json::Value {
    serde_json::json!({
        "version": record.version,
        "status": record.spec.status,
        "agency": record.agency,
        "spec": record.spec,
    })
}

/// Keeps the version `after` whole, and appends its audit entry; a changed
/// fee schedule gets an entry of its own (`procedure_fees`), so every change
/// of money is found by one filter. In the caller's transaction.
fn log_change(
    conn: &mut AnyConnection,
    actor: &Actor,
    action: &str,
    before: Option<&ProcedureRecord>,
    after: &ProcedureRecord,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let (_, name) = audit::actor_names(conn, actor)?;
    let agency_id = after.agency.as_ref().map(|a| a.id);
    diesel::insert_into(procedure_versions::table)
        .values((
            procedure_versions::procedure_id.eq(after.id),
            procedure_versions::version.eq(after.version),
            procedure_versions::code.eq(&after.spec.code),
            procedure_versions::action.eq(action),
            procedure_versions::status.eq(after.spec.status.as_str()),
            procedure_versions::agency_id.eq(agency_id),
            procedure_versions::spec.eq(spec_json(&after.spec)?),
            procedure_versions::changed_at.eq(to_db(after.updated_at)),
            procedure_versions::changed_by.eq(actor.user_id),
            procedure_versions::changed_by_name.eq(name),
        ))
        .execute(conn)?;
    audit::record(
        conn,
        actor,
        &Change::new(
            EntityType::Procedure,
            &after.spec.code,
            action,
            before.map(audit_json),
            Some(audit_json(after)),
        ),
        at,
    )?;
    let fees =
        |r: &ProcedureRecord| serde_json::to_value(&r.spec.fees).map_err(StoreError::corrupt);
    let fees_before = before.map(fees).transpose()?;
    let fees_after = fees(after)?;
    let first_without_fees = before.is_none() && after.spec.fees.is_empty();
    if fees_before.as_ref() != Some(&fees_after) && !first_without_fees {
        audit::record(
            conn,
            actor,
            &Change::new(
                EntityType::ProcedureFees,
                &after.spec.code,
                action,
                fees_before,
                Some(fees_after),
            ),
            at,
        )?;
    }
    Ok(())
}

/// Inserts a prepared spec. A taken code is a `Conflict` on `code`.
pub fn create(
    conn: &mut AnyConnection,
    spec: &ProcedureSpec,
    agency_id: Option<i64>,
    actor: &Actor,
    at: DateTime<Utc>,
) -> StoreResult<ProcedureRecord> {
    insert_new(conn, spec, agency_id, actor, "create", at)
}

fn insert_new(
    conn: &mut AnyConnection,
    spec: &ProcedureSpec,
    agency_id: Option<i64>,
    actor: &Actor,
    action: &str,
    at: DateTime<Utc>,
) -> StoreResult<ProcedureRecord> {
    write_tx(conn, |conn| {
        let sector_code = ensure_sector(conn, spec)?;
        let stored_at = to_db(at);
        let abolished_at = (spec.status == ProcedureStatus::Abolished).then_some(stored_at);
        let id: i64 = diesel::insert_into(procedures::table)
            .values((
                procedures::code.eq(&spec.code),
                procedures::name.eq(&spec.name),
                procedures::name_folded.eq(fold(&spec.name)),
                procedures::search_text.eq(spec.search_text()),
                procedures::sector_code.eq(sector_code),
                procedures::levels.eq(levels_text(&spec.levels)),
                procedures::online_level.eq(spec.online_level.as_str()),
                procedures::status.eq(spec.status.as_str()),
                procedures::agency_id.eq(agency_id),
                procedures::has_fees.eq(spec.has_fees()),
                procedures::fees_payable_online.eq(spec.fees_payable_online()),
                procedures::complete.eq(spec.is_complete()),
                procedures::spec.eq(spec_json(spec)?),
                procedures::version.eq(1),
                procedures::created_at.eq(stored_at),
                procedures::updated_at.eq(stored_at),
                procedures::abolished_at.eq(abolished_at),
            ))
            .returning(procedures::id)
            .get_result(conn)?;
        let created = get_by_id(conn, id)?;
        log_change(conn, actor, action, None, &created, at)?;
        Ok(created)
    })
}

/// Replaces the spec of an existing procedure (same code); bumps its version
/// and keeps the new version whole beside the earlier ones.
pub fn update(
    conn: &mut AnyConnection,
    spec: &ProcedureSpec,
    agency_id: Option<i64>,
    actor: &Actor,
    at: DateTime<Utc>,
) -> StoreResult<ProcedureRecord> {
    replace(conn, spec, agency_id, actor, "update", at)
}

fn replace(
    conn: &mut AnyConnection,
    spec: &ProcedureSpec,
    agency_id: Option<i64>,
    actor: &Actor,
    action: &str,
    at: DateTime<Utc>,
) -> StoreResult<ProcedureRecord> {
    write_tx(conn, |conn| {
        let current = get(conn, &spec.code)?;
        let sector_code = ensure_sector(conn, spec)?;
        let stored_at = to_db(at);
        let abolished_at = match (spec.status, current.abolished_at) {
            (ProcedureStatus::Active, _) => None,
            (ProcedureStatus::Abolished, Some(earlier)) => Some(to_db(earlier)),
            (ProcedureStatus::Abolished, None) => Some(stored_at),
        };
        diesel::update(procedures::table.filter(procedures::id.eq(current.id)))
            .set((
                procedures::name.eq(&spec.name),
                procedures::name_folded.eq(fold(&spec.name)),
                procedures::search_text.eq(spec.search_text()),
                procedures::sector_code.eq(sector_code),
                procedures::levels.eq(levels_text(&spec.levels)),
                procedures::online_level.eq(spec.online_level.as_str()),
                procedures::status.eq(spec.status.as_str()),
                procedures::agency_id.eq(agency_id),
                procedures::has_fees.eq(spec.has_fees()),
                procedures::fees_payable_online.eq(spec.fees_payable_online()),
                procedures::complete.eq(spec.is_complete()),
                procedures::spec.eq(spec_json(spec)?),
                procedures::version.eq(procedures::version + 1),
                procedures::updated_at.eq(stored_at),
                procedures::abolished_at.eq(abolished_at),
            ))
            .execute(conn)?;
        let updated = get_by_id(conn, current.id)?;
        log_change(conn, actor, action, Some(&current), &updated, at)?;
        Ok(updated)
    })
}

/// Marks a procedure abolished; it stays readable. Idempotent.
pub fn abolish(
    conn: &mut AnyConnection,
    code: &str,
    actor: &Actor,
    at: DateTime<Utc>,
) -> StoreResult<ProcedureRecord> {
    write_tx(conn, |conn| {
        let current = get(conn, code)?;
        if current.spec.status == ProcedureStatus::Abolished {
            return Ok(current);
        }
        let mut spec = current.spec.clone();
        spec.status = ProcedureStatus::Abolished;
        let stored_at = to_db(at);
        diesel::update(procedures::table.filter(procedures::id.eq(current.id)))
            .set((
                procedures::status.eq(ProcedureStatus::Abolished.as_str()),
                procedures::spec.eq(spec_json(&spec)?),
                procedures::version.eq(procedures::version + 1),
                procedures::updated_at.eq(stored_at),
                procedures::abolished_at.eq(Some(stored_at)),
            ))
            .execute(conn)?;
        let abolished = get_by_id(conn, current.id)?;
        log_change(conn, actor, "abolish", Some(&current), &abolished, at)?;
        Ok(abolished)
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportOutcome {
    Created,
    Updated,
    Invalid,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportRow {
    /// Position in the submitted file, from 0; for CSV, the data row number from 1.
    pub index: usize,
    pub code: Option<String>,
    pub outcome: ImportOutcome,
    pub errors: Vec<FieldError>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// Whether anything was written: all rows or none.
    pub applied: bool,
    pub created: usize,
    pub updated: usize,
    pub invalid: usize,
    pub rows: Vec<ImportRow>,
}

/// One row of an import before validation: the parsed spec, or what made it unreadable.
pub type ImportInput = Result<ProcedureSpec, Vec<FieldError>>;

/// Validates every row first; writes all of them in one transaction only when none is invalid.
pub fn import(
    conn: &mut AnyConnection,
    inputs: Vec<ImportInput>,
    default_agency: Option<i64>,
    first_index: usize,
    actor: &Actor,
    at: DateTime<Utc>,
) -> StoreResult<ImportReport> {
    write_tx(conn, |conn| {
        let mut prepared: Vec<(usize, ProcedureSpec, Option<i64>)> = Vec::new();
        let mut rows = Vec::new();
        let mut seen: Vec<String> = Vec::new();
        for (offset, input) in inputs.into_iter().enumerate() {
            let index = first_index + offset;
            let checked = input.and_then(ProcedureSpec::prepared);
            match checked {
                Ok(spec) => {
                    let mut errors = Vec::new();
                    if seen.contains(&spec.code) {
                        errors.push(FieldError {
                            field: "code".into(),
                            problem: Problem::Duplicate,
                        });
                    }
                    seen.push(spec.code.clone());
                    let agency = resolve_agency(conn, spec.agency_code.as_deref(), default_agency)?;
                    let agency = match agency {
                        Ok(agency) => agency,
                        Err(problem) => {
                            errors.push(FieldError {
                                field: "agency_code".into(),
                                problem,
                            });
                            None
                        }
                    };
                    if errors.is_empty() {
                        rows.push(ImportRow {
                            index,
                            code: Some(spec.code.clone()),
                            outcome: ImportOutcome::Created,
                            errors,
                        });
                        prepared.push((rows.len() - 1, spec, agency));
                    } else {
                        rows.push(ImportRow {
                            index,
                            code: Some(spec.code),
                            outcome: ImportOutcome::Invalid,
                            errors,
                        });
                    }
                }
                Err(errors) => rows.push(ImportRow {
                    index,
                    code: None,
                    outcome: ImportOutcome::Invalid,
                    errors,
                }),
            }
        }
        let invalid = rows
            .iter()
            .filter(|r| r.outcome == ImportOutcome::Invalid)
            .count();
        if invalid > 0 {
            for row in rows
                .iter_mut()
                .filter(|r| r.outcome != ImportOutcome::Invalid)
            {
                row.outcome = ImportOutcome::Created;
            }
            return Ok(ImportReport {
                applied: false,
                created: 0,
                updated: 0,
                invalid,
                rows,
            });
        }
        let (mut created, mut updated) = (0, 0);
        for (row, spec, agency) in prepared {
            let exists = procedures::table
                .filter(procedures::code.eq(&spec.code))
                .count()
                .get_result::<i64>(conn)?
                > 0;
            if exists {
                replace(conn, &spec, agency, actor, "import", at)?;
                rows[row].outcome = ImportOutcome::Updated;
                updated += 1;
            } else {
                insert_new(conn, &spec, agency, actor, "import", at)?;
                created += 1;
            }
        }
        Ok(ImportReport {
            applied: true,
            created,
            updated,
            invalid: 0,
            rows,
        })
    })
}
