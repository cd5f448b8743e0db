//! Every version of a procedure, kept whole when it is written.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use motcua_domain::page::{Page, PageRequest};
use motcua_domain::procedure::{ProcedureSpec, ProcedureStatus};
use serde::Serialize;

use crate::schema::{procedure_versions, procedures};
use crate::time::from_db;
use crate::{AnyConnection, StoreError, StoreResult};

/// One kept version of a procedure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProcedureVersion {
    pub code: String,
    pub version: i32,
    /// `create`, `update`, `abolish`, `import`, or `baseline` for the version
    /// a procedure had when versions started being kept.
    pub action: String,
    pub status: ProcedureStatus,
    pub agency_id: Option<i64>,
    pub spec: ProcedureSpec,
    pub changed_at: chrono::DateTime<chrono::Utc>,
    /// The account that made it; `None` for the system.
    pub changed_by: Option<i64>,
    pub changed_by_name: String,
}

type VersionRow = (
    String,
    i32,
    String,
    String,
    Option<i64>,
    String,
    NaiveDateTime,
    Option<i64>,
    String,
);

fn version_of(row: VersionRow) -> StoreResult<ProcedureVersion> {
    let (code, version, action, status, agency_id, spec, changed_at, changed_by, name) = row;
    Ok(ProcedureVersion {
        code,
        version,
        action,
        status: crate::parse_enum(&status)?,
        agency_id,
        spec: serde_json::from_str(&spec).map_err(StoreError::corrupt)?,
        changed_at: from_db(changed_at),
        changed_by,
        changed_by_name: name,
    })
}

macro_rules! version_columns {
    () => {
        (
            procedure_versions::code,
            procedure_versions::version,
            procedure_versions::action,
            procedure_versions::status,
            procedure_versions::agency_id,
            procedure_versions::spec,
            procedure_versions::changed_at,
            procedure_versions::changed_by,
            procedure_versions::changed_by_name,
        )
    };
}

/// Every kept version of a procedure, newest first. `NotFound` for an unknown code.
pub fn history(
    conn: &mut AnyConnection,
    code: &str,
    page: PageRequest,
) -> StoreResult<Page<ProcedureVersion>> {
    let id: i64 = procedures::table
        .filter(procedures::code.eq(code))
        .select(procedures::id)
        .first(conn)?;
    let total: i64 = procedure_versions::table
        .filter(procedure_versions::procedure_id.eq(id))
        .count()
        .get_result(conn)?;
    let rows: Vec<VersionRow> = procedure_versions::table
        .filter(procedure_versions::procedure_id.eq(id))
        .order(procedure_versions::version.desc())
        .offset(page.offset())
        .limit(page.limit())
        .select(version_columns!())
        .load(conn)?;
    let items = rows
        .into_iter()
        .map(version_of)
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(Page::new(items, page, total))
}

/// One kept version of a procedure; `NotFound` when the code or version is unknown.
pub fn version(
    conn: &mut AnyConnection,
    code: &str,
    version: i32,
) -> StoreResult<ProcedureVersion> {
    let id: i64 = procedures::table
        .filter(procedures::code.eq(code))
        .select(procedures::id)
        .first(conn)?;
    let row: VersionRow = procedure_versions::table
        .find((id, version))
        .select(version_columns!())
        .first(conn)?;
    version_of(row)
}
