//! The procedure catalog. The administrator's spec is stored whole as JSON;
//! the columns beside it are projections kept for filtering and search.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use motcua_domain::agency::AgencyRef;
use motcua_domain::page::{Page, PageRequest};
use motcua_domain::procedure::{
    AdminLevel, COMMUNE_AGENCY, OnlineFilter, OnlineLevel, ProcedureRecord, ProcedureSpec,
    ProcedureStatus, StatusFilter,
};
use motcua_domain::rule::RuleCode;
use motcua_domain::search::{SearchQuery, rank};
use motcua_domain::text::fold;
use motcua_domain::validation::{FieldError, Problem};
use serde::Serialize;

use motcua_domain::audit::{Actor, Change, EntityType};

use crate::repo::audit;
use crate::repo::catalog_index::CatalogIndex;
use crate::schema::{agencies, procedure_versions, procedures, sectors};
use crate::time::{from_db, now, to_db};
use crate::{AnyConnection, StoreError, StoreResult, insert_or_ignore, write_tx};

#[derive(Queryable, Selectable)]
#[diesel(table_name = procedures)]
struct Row {
    id: i64,
    sector_code: String,
    spec: String,
    version: i32,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    abolished_at: Option<NaiveDateTime>,
}

type AgencyCols = (Option<i64>, Option<String>, Option<String>);

fn into_record(row: Row, agency: AgencyCols) -> StoreResult<ProcedureRecord> {
    let spec: ProcedureSpec = serde_json::from_str(&row.spec).map_err(StoreError::corrupt)?;
    let agency = match agency {
        (Some(id), Some(code), Some(name)) => Some(AgencyRef { id, code, name }),
        _ => None,
    };
    Ok(ProcedureRecord {
        id: row.id,
        spec,
        sector_code: row.sector_code,
        agency,
        version: row.version,
        created_at: from_db(row.created_at),
        updated_at: from_db(row.updated_at),
        abolished_at: row.abolished_at.map(from_db),
    })
}

macro_rules! with_agency {
    ($query:expr) => {
        $query.left_join(agencies::table).select((
            Row::as_select(),
            (
                agencies::id.nullable(),
                agencies::code.nullable(),
                agencies::name.nullable(),
            ),
        ))
    };
}

pub fn get(conn: &mut AnyConnection, code: &str) -> StoreResult<ProcedureRecord> {
    let (row, agency): (Row, AgencyCols) =
        with_agency!(procedures::table.filter(procedures::code.eq(code))).first(conn)?;
    into_record(row, agency)
}

/// The procedure as it is, its row locked until the transaction ends
/// (`SELECT … FOR UPDATE` on PostgreSQL; SQLite's write transaction already
/// excludes other writers), so a version compared is the version replaced.
pub fn lock(conn: &mut AnyConnection, code: &str) -> StoreResult<ProcedureRecord> {
    if let AnyConnection::Postgresql(c) = conn {
        procedures::table
            .filter(procedures::code.eq(code))
            .select(procedures::id)
            .for_update()
            .first::<i64>(c)?;
    }
    get(conn, code)
}

pub fn get_by_id(conn: &mut AnyConnection, id: i64) -> StoreResult<ProcedureRecord> {
    let (row, agency): (Row, AgencyCols) =
        with_agency!(procedures::table.filter(procedures::id.eq(id))).first(conn)?;
    into_record(row, agency)
}

/// Where a spec's `agency_code` points: `Ok(None)` for every commune.
pub fn resolve_agency(
    conn: &mut AnyConnection,
    agency_code: Option<&str>,
    default_agency: Option<i64>,
) -> StoreResult<Result<Option<i64>, Problem>> {
    match agency_code {
        Some(COMMUNE_AGENCY) => Ok(Ok(None)),
        Some(code) => {
            let id: Option<i64> = agencies::table
                .filter(agencies::code.eq(code))
                .select(agencies::id)
                .first(conn)
                .optional()?;
            Ok(id
                .map(Some)
                .ok_or_else(|| Problem::rule(RuleCode::UnknownAgency)))
        }
        None => Ok(default_agency
            .map(Some)
            .ok_or_else(|| Problem::rule(RuleCode::AgencyRequired))),
    }
}

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
        )?;
    }
    Ok(())
}

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

/// Inserts a prepared spec. A taken code is a `Conflict` on `code`.
pub fn create(
    conn: &mut AnyConnection,
    spec: &ProcedureSpec,
    agency_id: Option<i64>,
    actor: &Actor,
) -> StoreResult<ProcedureRecord> {
    insert_new(conn, spec, agency_id, actor, "create")
}

fn insert_new(
    conn: &mut AnyConnection,
    spec: &ProcedureSpec,
    agency_id: Option<i64>,
    actor: &Actor,
    action: &str,
) -> StoreResult<ProcedureRecord> {
    write_tx(conn, |conn| {
        let sector_code = ensure_sector(conn, spec)?;
        let at = to_db(now());
        let abolished_at = (spec.status == ProcedureStatus::Abolished).then_some(at);
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
                procedures::created_at.eq(at),
                procedures::updated_at.eq(at),
                procedures::abolished_at.eq(abolished_at),
            ))
            .returning(procedures::id)
            .get_result(conn)?;
        let created = get_by_id(conn, id)?;
        log_change(conn, actor, action, None, &created)?;
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
) -> StoreResult<ProcedureRecord> {
    replace(conn, spec, agency_id, actor, "update")
}

fn replace(
    conn: &mut AnyConnection,
    spec: &ProcedureSpec,
    agency_id: Option<i64>,
    actor: &Actor,
    action: &str,
) -> StoreResult<ProcedureRecord> {
    write_tx(conn, |conn| {
        let current = get(conn, &spec.code)?;
        let sector_code = ensure_sector(conn, spec)?;
        let at = to_db(now());
        let abolished_at = match (spec.status, current.abolished_at) {
            (ProcedureStatus::Active, _) => None,
            (ProcedureStatus::Abolished, Some(earlier)) => Some(to_db(earlier)),
            (ProcedureStatus::Abolished, None) => Some(at),
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
                procedures::updated_at.eq(at),
                procedures::abolished_at.eq(abolished_at),
            ))
            .execute(conn)?;
        let updated = get_by_id(conn, current.id)?;
        log_change(conn, actor, action, Some(&current), &updated)?;
        Ok(updated)
    })
}

/// Marks a procedure abolished; it stays readable. Idempotent.
pub fn abolish(
    conn: &mut AnyConnection,
    code: &str,
    actor: &Actor,
) -> StoreResult<ProcedureRecord> {
    write_tx(conn, |conn| {
        let current = get(conn, code)?;
        if current.spec.status == ProcedureStatus::Abolished {
            return Ok(current);
        }
        let mut spec = current.spec.clone();
        spec.status = ProcedureStatus::Abolished;
        let at = to_db(now());
        diesel::update(procedures::table.filter(procedures::id.eq(current.id)))
            .set((
                procedures::status.eq(ProcedureStatus::Abolished.as_str()),
                procedures::spec.eq(spec_json(&spec)?),
                procedures::version.eq(procedures::version + 1),
                procedures::updated_at.eq(at),
                procedures::abolished_at.eq(Some(at)),
            ))
            .execute(conn)?;
        let abolished = get_by_id(conn, current.id)?;
        log_change(conn, actor, "abolish", Some(&current), &abolished)?;
        Ok(abolished)
    })
}

#[derive(Debug, Clone, Default)]
pub struct ProcedureFilter {
    pub query: Option<SearchQuery>,
    pub sector: Option<String>,
    pub level: Option<AdminLevel>,
    pub agency_id: Option<i64>,
    pub online: Option<OnlineFilter>,
    pub status: Option<StatusFilter>,
}

type Boxed<'a> = procedures::BoxedQuery<'a, crate::db::Db>;

fn filtered(filter: &ProcedureFilter) -> Boxed<'_> {
    let mut q = procedures::table.into_boxed();
    match filter.status.unwrap_or(StatusFilter::Active) {
        StatusFilter::Active => {
            q = q.filter(procedures::status.eq(ProcedureStatus::Active.as_str()))
        }
        StatusFilter::Abolished => {
            q = q.filter(procedures::status.eq(ProcedureStatus::Abolished.as_str()))
        }
        StatusFilter::All => {}
    }
    if let Some(sector) = &filter.sector {
        q = q.filter(procedures::sector_code.eq(sector.clone()));
    }
    if let Some(level) = filter.level {
        q = q.filter(procedures::levels.like(format!("%,{level},%")));
    }
    if let Some(agency) = filter.agency_id {
        q = q.filter(procedures::agency_id.eq(agency));
    }
    match filter.online {
        Some(OnlineFilter::Full) => {
            q = q.filter(procedures::online_level.eq(OnlineLevel::Full.as_str()))
        }
        Some(OnlineFilter::Partial) => {
            q = q.filter(procedures::online_level.eq(OnlineLevel::Partial.as_str()))
        }
        Some(OnlineFilter::None) => {
            q = q.filter(procedures::online_level.eq(OnlineLevel::None.as_str()))
        }
        Some(OnlineFilter::Any) => {
            q = q.filter(
                procedures::online_level
                    .eq_any([OnlineLevel::Full.as_str(), OnlineLevel::Partial.as_str()]),
            )
        }
        None => {}
    }
    if let Some(query) = &filter.query {
        for pattern in query.like_patterns() {
            q = q.filter(procedures::search_text.like(pattern));
        }
    }
    q
}

/// Public listing. With a search query, candidates are ranked by
/// [`motcua_domain::search::rank`]; otherwise ordered by name.
pub fn list(
    conn: &mut AnyConnection,
    filter: &ProcedureFilter,
    page: PageRequest,
) -> StoreResult<Page<ProcedureRecord>> {
    let (ids, total): (Vec<i64>, i64) = match &filter.query {
        Some(query) => {
            let candidates: Vec<(i64, String, String, String)> = filtered(filter)
                .select((
                    procedures::id,
                    procedures::code,
                    procedures::name_folded,
                    procedures::search_text,
                ))
                .load(conn)?;
            let mut ranked: Vec<(motcua_domain::search::Rank, String, i64)> = candidates
                .into_iter()
                .filter_map(|(id, code, name, text)| {
                    rank(query, &code, &name, &text).map(|r| (r, name, id))
                })
                .collect();
            ranked.sort();
            let total = ranked.len() as i64;
            let ids = ranked
                .into_iter()
                .skip(usize::try_from(page.offset()).unwrap_or(usize::MAX))
                .take(page.per_page as usize)
                .map(|(_, _, id)| id)
                .collect();
            (ids, total)
        }
        None => {
            let total: i64 = filtered(filter).count().get_result(conn)?;
            let ids = filtered(filter)
                .order((procedures::name_folded.asc(), procedures::code.asc()))
                .offset(page.offset())
                .limit(page.limit())
                .select(procedures::id)
                .load(conn)?;
            (ids, total)
        }
    };
    page_of(conn, ids, total, page)
}

/// Like [`list`], but a search goes through this process's `index`
/// ([`CatalogIndex`]): the same results, without loading every candidate.
pub fn list_indexed(
    conn: &mut AnyConnection,
    index: &CatalogIndex,
    filter: &ProcedureFilter,
    page: PageRequest,
) -> StoreResult<Page<ProcedureRecord>> {
    match &filter.query {
        Some(query) => {
            let (ids, total) = index.search(
                conn,
                query,
                filter,
                usize::try_from(page.offset()).unwrap_or(usize::MAX),
                page.per_page as usize,
            )?;
            page_of(conn, ids, total, page)
        }
        None => list(conn, filter, page),
    }
}

/// The records of `ids`, in that order.
fn page_of(
    conn: &mut AnyConnection,
    ids: Vec<i64>,
    total: i64,
    page: PageRequest,
) -> StoreResult<Page<ProcedureRecord>> {
    let rows: Vec<(Row, AgencyCols)> =
        with_agency!(procedures::table.filter(procedures::id.eq_any(&ids))).load(conn)?;
    let mut records = rows
        .into_iter()
        .map(|(r, a)| into_record(r, a))
        .collect::<StoreResult<Vec<_>>>()?;
    records.sort_by_key(|r| ids.iter().position(|id| *id == r.id));
    Ok(Page::new(records, page, total))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SectorCount {
    pub code: String,
    pub name: String,
    /// Active procedures in the sector.
    pub procedure_count: i64,
}

pub fn sectors_with_counts(conn: &mut AnyConnection) -> StoreResult<Vec<SectorCount>> {
    let all: Vec<(String, String)> = sectors::table
        .select((sectors::code, sectors::name))
        .load(conn)?;
    let counts: Vec<(String, i64)> = procedures::table
        .filter(procedures::status.eq(ProcedureStatus::Active.as_str()))
        .group_by(procedures::sector_code)
        .select((procedures::sector_code, diesel::dsl::count_star()))
        .load(conn)?;
    let mut out: Vec<SectorCount> = all
        .into_iter()
        .map(|(code, name)| {
            let procedure_count = counts
                .iter()
                .find(|(c, _)| *c == code)
                .map_or(0, |(_, n)| *n);
            SectorCount {
                code,
                name,
                procedure_count,
            }
        })
        .collect();
    out.sort_by_key(|s| fold(&s.name));
    Ok(out)
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
                replace(conn, &spec, agency, actor, "import")?;
                rows[row].outcome = ImportOutcome::Updated;
                updated += 1;
            } else {
                insert_new(conn, &spec, agency, actor, "import")?;
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

pub fn count(conn: &mut AnyConnection) -> StoreResult<i64> {
    Ok(procedures::table.count().get_result(conn)?)
}

pub fn sector_exists(conn: &mut AnyConnection, code: &str) -> StoreResult<bool> {
    Ok(sectors::table.find(code).count().get_result::<i64>(conn)? > 0)
}
