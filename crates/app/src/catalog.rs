//! Catalog use cases that change procedures, each with its `procedure.*`
//! event in the same transaction (created, changed, abolished). The catalog
//! seeded at first start is initial data, not a change: it writes none.

use chrono::{DateTime, Utc};
use motcua_domain::audit::Actor;
use motcua_domain::event::EventType;
use motcua_domain::forms::FormDefinition;
use motcua_domain::procedure::{ProcedureRecord, ProcedureSpec, ProcedureStatus};
use motcua_persistence::repo::procedures::{self, ImportOutcome, ImportReport};

use crate::catalog_import::CatalogFile;
use motcua_persistence::{AnyConnection, StoreError, StoreResult, write_tx};

/// Publishes a new procedure. A taken code is a `Conflict` on `code`.
pub fn create(
    conn: &mut AnyConnection,
    spec: &ProcedureSpec,
    agency_id: Option<i64>,
    actor: &Actor,
    at: DateTime<Utc>,
) -> StoreResult<ProcedureRecord> {
    write_tx(conn, |conn| {
        let created = procedures::create(conn, spec, agency_id, actor, at)?;
        announce(conn, None, &created)?;
        Ok(created)
    })
}

/// Replaces an existing procedure's content (the caller may have locked and
/// checked its version in the same transaction).
pub fn update(
    conn: &mut AnyConnection,
    spec: &ProcedureSpec,
    agency_id: Option<i64>,
    actor: &Actor,
    at: DateTime<Utc>,
) -> StoreResult<ProcedureRecord> {
    write_tx(conn, |conn| {
        let before = procedures::get(conn, &spec.code)?.spec.status;
        let updated = procedures::update(conn, spec, agency_id, actor, at)?;
        announce(conn, Some(before), &updated)?;
        Ok(updated)
    })
}

/// Abolishes a procedure; abolishing it again changes nothing and reports nothing.
pub fn abolish(
    conn: &mut AnyConnection,
    code: &str,
    actor: &Actor,
    at: DateTime<Utc>,
) -> StoreResult<ProcedureRecord> {
    write_tx(conn, |conn| {
        let before = procedures::get(conn, code)?;
        let abolished = procedures::abolish(conn, code, actor, at)?;
        if abolished.version != before.version {
            announce(conn, Some(before.spec.status), &abolished)?;
        }
        Ok(abolished)
    })
}

/// Imports procedures, all or none; each one written reports its event.
/// An entry's e-form, when it differs from the procedure's current one,
/// becomes its next version (audited as `import`, with its own
/// `procedure.changed` event).
pub fn import(
    conn: &mut AnyConnection,
    file: CatalogFile,
    default_agency: Option<i64>,
    first_index: usize,
    actor: &Actor,
    at: DateTime<Utc>,
) -> StoreResult<ImportReport> {
    let CatalogFile {
        rows: inputs,
        forms,
    } = file;
    write_tx(conn, |conn| {
        let mut before: Vec<(String, Option<ProcedureStatus>)> = Vec::new();
        for spec in inputs.iter().flatten() {
            // The code as the import will write it.
            let Ok(prepared) = spec.clone().prepared() else {
                continue;
            };
            let code = prepared.code;
            let status = match procedures::get(conn, &code) {
                Ok(p) => Some(p.spec.status),
                Err(StoreError::NotFound) => None,
                Err(e) => return Err(e),
            };
            before.push((code, status));
        }
        let report = procedures::import(conn, inputs, default_agency, first_index, actor, at)?;
        if !report.applied {
            return Ok(report);
        }
        for row in &report.rows {
            let (Some(code), ImportOutcome::Created | ImportOutcome::Updated) =
                (&row.code, row.outcome)
            else {
                continue;
            };
            let written = procedures::get(conn, code)?;
            let previous = match row.outcome {
                ImportOutcome::Created => None,
                _ => before
                    .iter()
                    .find(|(c, _)| c == code)
                    .and_then(|(_, status)| *status),
            };
            announce(conn, previous, &written)?;
        }
        import_forms(conn, &report, forms, actor, at)?;
        Ok(report)
    })
}

/// The e-forms of an applied import: each one that differs from its
/// procedure's current form is stored as the next version.
fn import_forms(
    conn: &mut AnyConnection,
    report: &ImportReport,
    forms: Vec<Option<FormDefinition>>,
    actor: &Actor,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    for (row, form) in report.rows.iter().zip(forms) {
        let (Some(code), Some(form)) = (&row.code, form) else {
            continue;
        };
        let procedure = procedures::get(conn, code)?;
        let current = motcua_persistence::repo::forms::current(conn, procedure.id)?;
        if current.is_some_and(|c| c.definition == form) {
            continue;
        }
        crate::forms::publish(conn, &procedure, &form, actor, Some("import"), at)?;
    }
    Ok(())
}

/// Writes the event of a procedure written from `previous` (`None`: new).
fn announce(
    conn: &mut AnyConnection,
    previous: Option<ProcedureStatus>,
    record: &ProcedureRecord,
) -> StoreResult<()> {
    let event_type = EventType::of_procedure_write(previous, record.spec.status);
    crate::outbox::procedure(conn, event_type, record, record.updated_at)?;
    Ok(())
}
