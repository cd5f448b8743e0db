//! Reading the aggregates: flows, stock, catalog and status counts.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool};
use motcua_domain::dossier::Channel;
use motcua_domain::kpi::{self, CatalogCounts, Counters, Grain, Span};
use motcua_domain::procedure::{AdminLevel, OnlineLevel, ProcedureStatus};

use crate::db::Db;
use crate::schema::{dossiers, kpi_agg, payments, procedures};
use crate::{AnyConnection, StoreResult, parse_enum};

/// Which dossiers a KPI query is about.
#[derive(Debug, Clone, Default)]
pub struct KpiFilter {
    /// The receiving agency.
    pub agency_id: Option<i64>,
    /// Procedures of a sector, or one procedure; `None` for all.
    pub procedure_ids: Option<Vec<i64>>,
    pub channel: Option<Channel>,
}

type Condition = Box<dyn BoxableExpression<kpi_agg::table, Db, SqlType = Bool>>;

/// The rows of `spans` that `filter` keeps; `None` without spans.
fn condition(filter: &KpiFilter, spans: &[Span]) -> Option<Condition> {
    // SQLite binds at most 32,766 values: a sector's procedure list repeated
    // in each of a long time series' branches could pass that, so such a list
    // goes once outside the ORs (a slower plan, but a correct one).
    const MAX_REPEATED_IDS: usize = 8_000;
    let ids_per_branch = filter
        .procedure_ids
        .as_ref()
        .filter(|ids| ids.len() * spans.len() <= MAX_REPEATED_IDS);
    let within = crate::repo::within_spans!(kpi_agg, spans, |branch| {
        let mut cond = branch;
        if let Some(agency) = filter.agency_id {
            cond = Box::new(cond.and(kpi_agg::agency_id.eq(agency)));
        }
        cond = match (&filter.procedure_ids, ids_per_branch) {
            (Some(_), Some(ids)) => Box::new(cond.and(kpi_agg::procedure_id.eq_any(ids.clone()))),
            (Some(_), None) => cond,
            (None, _) => Box::new(cond.and(kpi_agg::procedure_id.eq(kpi::ALL_PROCEDURES))),
        };
        if let Some(channel) = filter.channel {
            cond = Box::new(cond.and(kpi_agg::channel.eq(channel.as_str())));
        }
        cond
    })?;
    Some(match (&filter.procedure_ids, ids_per_branch) {
        (Some(ids), None) => Box::new(within.and(kpi_agg::procedure_id.eq_any(ids.clone()))),
        _ => within,
    })
}

/// Flow counters summed over `spans`, per receiving agency.
pub fn flows_by_agency(
    conn: &mut AnyConnection,
    filter: &KpiFilter,
    spans: &[Span],
) -> StoreResult<BTreeMap<i64, Counters>> {
    let Some(cond) = condition(filter, spans) else {
        return Ok(BTreeMap::new());
    };
    let rows = with_counters!(sums!(conn, cond, kpi_agg::agency_id, i64));
    Ok(rows.into_iter().collect())
}

/// Flow counters summed over `spans`, per stored period (grain and first day).
pub fn flows_by_period(
    conn: &mut AnyConnection,
    filter: &KpiFilter,
    spans: &[Span],
) -> StoreResult<Vec<(Grain, NaiveDate, Counters)>> {
    let Some(cond) = condition(filter, spans) else {
        return Ok(Vec::new());
    };
    let rows = with_counters!(sums!(
        conn,
        cond,
        (kpi_agg::grain, kpi_agg::period),
        (String, NaiveDate)
    ));
    rows.into_iter()
        .map(|((grain, period), c)| Ok((parse_enum(&grain)?, period, c)))
        .collect()
}

/// The stock counters (received, ended, due, due and ended) summed over
/// every day before `end`, per receiving agency: what is in progress at `end`.
pub fn stock_by_agency(
    conn: &mut AnyConnection,
    filter: &KpiFilter,
    end: NaiveDate,
) -> StoreResult<BTreeMap<i64, Counters>> {
    let Some(cond) = condition(filter, &kpi::cover(kpi::epoch(), end)) else {
        return Ok(BTreeMap::new());
    };
    let rows = sums!((conn, cond, kpi_agg::agency_id, i64) received, ended, due, due_finished);
    Ok(rows.into_iter().collect())
}

pub fn total(by_agency: &BTreeMap<i64, Counters>) -> Counters {
    let mut total = Counters::default();
    for c in by_agency.values() {
        total.merge(c);
    }
    total
}

/// Procedure figures for the catalog indicators, per agency: the active
/// procedures an agency receives, its own and those of its whole level
/// (commune procedures every commune receives). Without `agencies`, the
/// whole catalog under the key 0.
pub fn catalog_counts(
    conn: &mut AnyConnection,
    agencies: Option<&[(i64, AdminLevel)]>,
    procedure_ids: Option<&[i64]>,
) -> StoreResult<BTreeMap<i64, CatalogCounts>> {
    let mut q = procedures::table
        .filter(procedures::status.eq(ProcedureStatus::Active.as_str()))
        .into_boxed::<Db>();
    if let Some(ids) = procedure_ids {
        q = q.filter(procedures::id.eq_any(ids.to_vec()));
    }
    let rows: Vec<(Option<i64>, String, String, bool, bool, bool)> = q
        .select((
            procedures::agency_id,
            procedures::levels,
            procedures::online_level,
            procedures::has_fees,
            procedures::fees_payable_online,
            procedures::complete,
        ))
        .load(conn)?;
    let mut out: BTreeMap<i64, CatalogCounts> = BTreeMap::new();
    for (owner, levels, online, has_fees, payable, complete) in rows {
        let receivers: Vec<i64> = match agencies {
            None => vec![0],
            Some(list) => list
                .iter()
                .filter(|(id, level)| match owner {
                    Some(owner) => owner == *id,
                    None => levels.contains(&format!(",{level},")),
                })
                .map(|(id, _)| *id)
                .collect(),
        };
        for agency in receivers {
            let c = out.entry(agency).or_default();
            c.active += 1;
            if online == OnlineLevel::Full.as_str() {
                c.full_online += 1;
            } else if online == OnlineLevel::Partial.as_str() {
                c.partial_online += 1;
            }
            if has_fees {
                c.fee_bearing += 1;
                if payable {
                    c.fee_bearing_payable_online += 1;
                }
            }
            if complete {
                c.complete += 1;
            }
        }
    }
    Ok(out)
}

/// Ids and codes of the procedures of a sector.
pub fn procedures_of_sector(
    conn: &mut AnyConnection,
    sector_code: &str,
) -> StoreResult<Vec<(i64, String)>> {
    Ok(procedures::table
        .filter(procedures::sector_code.eq(sector_code))
        .select((procedures::id, procedures::code))
        .load(conn)?)
}

/// The number of dossiers by status and the number overdue now, for gauges.
pub fn status_counts(
    conn: &mut AnyConnection,
    at: DateTime<Utc>,
) -> StoreResult<(Vec<(String, i64)>, i64)> {
    let by_status: Vec<(String, i64)> = dossiers::table
        .group_by(dossiers::status)
        .select((dossiers::status, diesel::dsl::count_star()))
        .load(conn)?;
    // Overdue: past its due moment, still being processed, clock running.
    let overdue: i64 = dossiers::table
        .filter(dossiers::processed_at.is_null())
        .filter(dossiers::finished_at.is_null())
        .filter(dossiers::paused_at.is_null())
        .filter(dossiers::due_at.lt(crate::time::to_db(at)))
        .count()
        .get_result(conn)?;
    Ok((by_status, overdue))
}

pub fn payment_status_counts(conn: &mut AnyConnection) -> StoreResult<Vec<(String, i64)>> {
    Ok(payments::table
        .group_by(payments::status)
        .select((payments::status, diesel::dsl::count_star()))
        .load(conn)?)
}

/// How many aggregate rows are kept (for operators and benchmarks).
pub fn row_count(conn: &mut AnyConnection) -> StoreResult<i64> {
    Ok(kpi_agg::table.count().get_result(conn)?)
}
