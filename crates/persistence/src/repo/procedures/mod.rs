//! The procedure catalog. The administrator's spec is stored whole as JSON;
//! the columns beside it are projections kept for filtering and search.
//!
//! Reads and the public listing here; writes and imports in [`write`], kept
//! versions in [`versions`].

mod versions;
mod write;

pub use versions::{ProcedureVersion, history, version};
pub use write::{
    ImportInput, ImportOutcome, ImportReport, ImportRow, abolish, create, import, update,
};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use motcua_domain::agency::AgencyRef;
use motcua_domain::page::{Page, PageRequest};
use motcua_domain::procedure::{
    AdminLevel, COMMUNE_AGENCY, OnlineFilter, OnlineLevel, ProcedureRecord, ProcedureSpec,
    ProcedureStatus, StatusFilter,
};
use motcua_domain::rule::RuleCode;
use motcua_domain::search::{Rank, Ranker, SearchQuery};
use motcua_domain::text::fold;
use motcua_domain::validation::Problem;
use serde::Serialize;

use crate::repo::catalog_index::CatalogIndex;
use crate::schema::{agencies, procedures, sectors};
use crate::time::from_db;
use crate::{AnyConnection, StoreError, StoreResult};

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
/// [`motcua_domain::search::rank`]; otherwise ordered by folded name and code.
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
            let ranker = Ranker::new(query);
            let mut ranked: Vec<(Rank, String, i64)> = candidates
                .into_iter()
                .filter_map(|(id, code, name, text)| {
                    ranker.rank(&code, &name, &text).map(|r| (r, name, id))
                })
                .collect();
            ranked.sort();
            let total = i64::try_from(ranked.len()).unwrap_or(i64::MAX);
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

/// Like [`list`], but through this process's `index` ([`CatalogIndex`]):
/// the same results, read from memory but for the page's rows.
pub fn list_indexed(
    conn: &mut AnyConnection,
    index: &CatalogIndex,
    filter: &ProcedureFilter,
    page: PageRequest,
) -> StoreResult<Page<ProcedureRecord>> {
    let (ids, total) = index.search(
        conn,
        filter,
        usize::try_from(page.offset()).unwrap_or(usize::MAX),
        page.per_page as usize,
    )?;
    page_of(conn, ids, total, page)
}

/// The records of `ids`, in that order.
fn page_of(
    conn: &mut AnyConnection,
    ids: Vec<i64>,
    total: i64,
    page: PageRequest,
) -> StoreResult<Page<ProcedureRecord>> {
    if ids.is_empty() {
        return Ok(Page::new(Vec::new(), page, total));
    }
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

pub fn count(conn: &mut AnyConnection) -> StoreResult<i64> {
    Ok(procedures::table.count().get_result(conn)?)
}

pub fn sector_exists(conn: &mut AnyConnection, code: &str) -> StoreResult<bool> {
    Ok(sectors::table.find(code).count().get_result::<i64>(conn)? > 0)
}
