//! KPI reports assembled from the kept aggregates, the catalog, feedback and
//! the counter queue: a summary, a time series and a ranking of agencies.
//! Each reads a bounded number of aggregate rows, whatever the history.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use motcua_domain::agency::{Agency, AgencyRef};
use motcua_domain::dossier::Channel;
use motcua_domain::kpi::{
    self, CatalogCounts, CatalogRates, Counters, DossierCounts, FeedbackCounts, Granularity, Group,
    Rates, Scoring, SyncCounts, WaitingTime,
};
use serde::Serialize;

use crate::repo::kpi::{self as agg, KpiFilter};
use crate::repo::portal::{self as portal_sync, SyncFilter};
use crate::repo::{agencies, feedback, queue};
use crate::{AnyConnection, StoreResult};

/// What a report is about: days `[from, to)` (local), seen at `as_of`.
#[derive(Debug, Clone)]
pub struct ReportScope {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub as_of: DateTime<Utc>,
    /// The receiving agency; `None` for all.
    pub agency: Option<Agency>,
    pub sector: Option<String>,
    /// A single procedure (its code), or `None`.
    pub procedure: Option<String>,
    /// The procedures the sector or procedure filter leaves; `None` for all.
    pub procedures: Option<Vec<(i64, String)>>,
    pub channel: Option<Channel>,
}

impl ReportScope {
    fn filter(&self) -> KpiFilter {
        KpiFilter {
            agency_id: self.agency.as_ref().map(|a| a.id),
            procedure_ids: self
                .procedures
                .as_ref()
                .map(|p| p.iter().map(|(id, _)| *id).collect()),
            channel: self.channel,
        }
    }

    fn sync_filter(&self, agency_id: Option<i64>) -> SyncFilter {
        let filter = self.filter();
        SyncFilter {
            agency_id,
            procedure_ids: filter.procedure_ids,
            channel: filter.channel,
        }
    }

    fn procedure_codes(&self) -> Option<Vec<String>> {
        self.procedures
            .as_ref()
            .map(|p| p.iter().map(|(_, code)| code.clone()).collect())
    }

    fn instant(day: NaiveDate) -> DateTime<Utc> {
        motcua_domain::local_time::instant(day, NaiveTime::MIN)
    }

    /// The queue is counted per agency: no figure for a sector, a procedure
    /// or a channel other than the counter.
    fn has_queue(&self) -> bool {
        self.procedures.is_none() && self.channel.is_none_or(|c| c == Channel::Counter)
    }

    fn view(&self) -> ScopeView {
        ScopeView {
            from: self.from,
            to: self.to.pred_opt().unwrap_or(self.to),
            as_of: self.as_of,
            agency: self.agency.as_ref().map(agencies::reference),
            sector: self.sector.clone(),
            procedure: self.procedure.clone(),
            channel: self.channel,
        }
    }
}

/// The period and filters a report answers for.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScopeView {
    pub from: NaiveDate,
    /// Last day, inclusive (cut to today).
    pub to: NaiveDate,
    /// When the report was computed: what is in progress is counted at the end of `to` or now.
    pub as_of: DateTime<Utc>,
    pub agency: Option<AgencyRef>,
    pub sector: Option<String>,
    pub procedure: Option<String>,
    pub channel: Option<Channel>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Summary {
    pub scope: ScopeView,
    pub dossiers: DossierCounts,
    pub rates: Rates,
    pub catalog: CatalogCounts,
    pub catalog_rates: CatalogRates,
    pub feedback: FeedbackCounts,
    /// Counter waiting time; `null` when filtered by sector, procedure or a
    /// channel other than `counter`.
    pub waiting_time: Option<WaitingTime>,
    /// Decision 766 groups, each scored from the rates beside it (docs/kpi.md).
    pub groups: Vec<Group>,
    /// Sum of the group scores, out of 100.
    pub total_score: f64,
}

struct Parts<'a> {
    flows: &'a Counters,
    stock: &'a Counters,
    catalog: CatalogCounts,
    feedback: FeedbackCounts,
    waits: Option<&'a BTreeMap<i64, i64>>,
    synced: SyncCounts,
}

fn assemble(scope: ScopeView, parts: Parts<'_>, scoring: &Scoring) -> Summary {
    let (dossiers, rates) = kpi::summarize(parts.flows, parts.stock);
    let groups = kpi::score(
        &dossiers,
        parts.flows,
        &parts.catalog,
        &parts.feedback,
        Some(&parts.synced),
        scoring,
    );
    Summary {
        scope,
        total_score: kpi::total(&groups),
        dossiers,
        rates,
        catalog_rates: parts.catalog.rates(),
        catalog: parts.catalog,
        feedback: parts.feedback,
        waiting_time: parts.waits.map(kpi::waiting_time),
        groups,
    }
}

fn merged<T: Clone, F: Fn(&mut T, &T)>(by_agency: &BTreeMap<i64, T>, zero: T, add: F) -> T {
    let mut total = zero;
    for value in by_agency.values() {
        add(&mut total, value);
    }
    total
}

fn add_feedback(total: &mut FeedbackCounts, c: &FeedbackCounts) {
    total.received += c.received;
    total.handled_in_time += c.handled_in_time;
    total.overdue += c.overdue;
}

fn add_synced(total: &mut SyncCounts, c: &SyncCounts) {
    total.received += c.received;
    total.synced_in_time += c.synced_in_time;
}

fn add_histogram(total: &mut BTreeMap<i64, i64>, h: &BTreeMap<i64, i64>) {
    for (minutes, n) in h {
        *total.entry(*minutes).or_insert(0) += n;
    }
}

fn catalog_of(conn: &mut AnyConnection, scope: &ReportScope) -> StoreResult<CatalogCounts> {
    let ids = scope.filter().procedure_ids;
    let agency = scope.agency.as_ref().map(|a| [(a.id, a.level)]);
    let counts = agg::catalog_counts(conn, agency.as_ref().map(|a| &a[..]), ids.as_deref())?;
    Ok(counts.into_values().next().unwrap_or_default())
}

pub fn summary(
    conn: &mut AnyConnection,
    scope: &ReportScope,
    scoring: &Scoring,
) -> StoreResult<Summary> {
    let filter = scope.filter();
    let flows = agg::total(&agg::flows_by_agency(
        conn,
        &filter,
        &kpi::cover(scope.from, scope.to),
    )?);
    let stock = agg::total(&agg::stock_by_agency(conn, &filter, scope.to)?);
    let catalog = catalog_of(conn, scope)?;
    let codes = scope.procedure_codes();
    let feedback = merged(
        &feedback::counts_by_agency(
            conn,
            filter.agency_id,
            codes.as_deref(),
            ReportScope::instant(scope.from),
            ReportScope::instant(scope.to),
            scope.as_of,
        )?,
        FeedbackCounts::default(),
        add_feedback,
    );
    let waits = if scope.has_queue() {
        Some(merged(
            &queue::waits_by_agency(conn, filter.agency_id, &kpi::cover(scope.from, scope.to))?,
            BTreeMap::new(),
            add_histogram,
        ))
    } else {
        None
    };
    Ok(assemble(
        scope.view(),
        Parts {
            flows: &flows,
            stock: &stock,
            catalog,
            feedback,
            waits: waits.as_ref(),
            synced: merged(
                &portal_sync::kpi_counts_by_agency(
                    conn,
                    &scope.sync_filter(filter.agency_id),
                    ReportScope::instant(scope.from),
                    ReportScope::instant(scope.to),
                )?,
                SyncCounts::default(),
                add_synced,
            ),
        },
        scoring,
    ))
}

/// One bucket of a time series.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Point {
    pub from: NaiveDate,
    /// Last day, inclusive.
    pub to: NaiveDate,
    /// Flows of the bucket; in progress and overdue at its end.
    pub dossiers: DossierCounts,
    pub rates: Rates,
    /// Counter waiting time of the bucket; `null` when filtered by sector,
    /// procedure or a channel other than `counter`.
    pub waiting_time: Option<WaitingTime>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Timeseries {
    pub scope: ScopeView,
    pub granularity: Granularity,
    pub points: Vec<Point>,
}

/// At most this many buckets in one series.
pub const MAX_POINTS: usize = 400;

/// The dossier figures per bucket. Two reads: every kept row inside the
/// range, grouped by period, and what was in progress when it began.
pub fn timeseries(
    conn: &mut AnyConnection,
    scope: &ReportScope,
    granularity: Granularity,
) -> StoreResult<Timeseries> {
    let buckets = kpi::buckets(granularity, scope.from, scope.to);
    let filter = scope.filter();
    let spans: Vec<kpi::Span> = buckets
        .iter()
        .flat_map(|(from, to)| kpi::cover(*from, *to))
        .collect();
    let mut flows = vec![Counters::default(); buckets.len()];
    for (_, period, counters) in agg::flows_by_period(conn, &filter, &spans)? {
        // A kept period lies inside the one bucket whose cover used it.
        let i = buckets.partition_point(|(from, _)| *from <= period);
        if let Some(bucket) = i.checked_sub(1).and_then(|i| flows.get_mut(i)) {
            bucket.merge(&counters);
        }
    }
    let mut waits: Option<Vec<BTreeMap<i64, i64>>> = None;
    if scope.has_queue() {
        let mut per_bucket = vec![BTreeMap::new(); buckets.len()];
        for (period, histogram) in queue::waits_by_period(conn, filter.agency_id, &spans)? {
            let i = buckets.partition_point(|(from, _)| *from <= period);
            if let Some(bucket) = i.checked_sub(1).and_then(|i| per_bucket.get_mut(i)) {
                add_histogram(bucket, &histogram);
            }
        }
        waits = Some(per_bucket);
    }
    let mut stock = agg::total(&agg::stock_by_agency(conn, &filter, scope.from)?);
    let points = buckets
        .iter()
        .zip(&flows)
        .enumerate()
        .map(|(i, ((from, to), f))| {
            stock.merge(f);
            let (dossiers, rates) = kpi::summarize(f, &stock);
            Point {
                from: *from,
                to: to.pred_opt().unwrap_or(*to),
                dossiers,
                rates,
                waiting_time: waits.as_ref().and_then(|w| w.get(i)).map(kpi::waiting_time),
            }
        })
        .collect();
    Ok(Timeseries {
        scope: scope.view(),
        granularity,
        points,
    })
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgencyRow {
    /// 1 for the highest total score.
    pub rank: usize,
    pub agency: AgencyRef,
    pub dossiers: DossierCounts,
    pub rates: Rates,
    pub catalog_rates: CatalogRates,
    pub waiting_time: Option<WaitingTime>,
    pub groups: Vec<Group>,
    pub total_score: f64,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Ranking {
    pub scope: ScopeView,
    /// Agencies ranked (all with dossiers, procedures, feedback or tickets).
    pub ranked: usize,
    pub agencies: Vec<AgencyRow>,
}

/// Every agency with something to count, ranked by total score, then on-time
/// rate, then dossiers received; agencies without dossiers in the period last. `only` keeps one agency's row (its rank
/// still among all).
pub fn ranking(
    conn: &mut AnyConnection,
    scope: &ReportScope,
    scoring: &Scoring,
    only: Option<i64>,
) -> StoreResult<Ranking> {
    let mut filter = scope.filter();
    filter.agency_id = None;
    let flows = agg::flows_by_agency(conn, &filter, &kpi::cover(scope.from, scope.to))?;
    let stock = agg::stock_by_agency(conn, &filter, scope.to)?;
    let all = agencies::list(conn)?;
    let levels: Vec<_> = all.iter().map(|a| (a.id, a.level)).collect();
    let catalog = agg::catalog_counts(conn, Some(&levels), filter.procedure_ids.as_deref())?;
    let codes = scope.procedure_codes();
    let feedback = feedback::counts_by_agency(
        conn,
        None,
        codes.as_deref(),
        ReportScope::instant(scope.from),
        ReportScope::instant(scope.to),
        scope.as_of,
    )?;
    let waits = if scope.has_queue() {
        queue::waits_by_agency(conn, None, &kpi::cover(scope.from, scope.to))?
    } else {
        BTreeMap::new()
    };
    let synced = portal_sync::kpi_counts_by_agency(
        conn,
        &scope.sync_filter(None),
        ReportScope::instant(scope.from),
        ReportScope::instant(scope.to),
    )?;
    let active: BTreeSet<i64> = flows
        .keys()
        .chain(stock.keys())
        .chain(catalog.keys())
        .chain(feedback.keys())
        .chain(waits.keys())
        .copied()
        .collect();
    let zero = Counters::default();
    let no_waits = BTreeMap::new();
    let mut rows: Vec<AgencyRow> = all
        .iter()
        .filter(|a| active.contains(&a.id))
        .map(|a| {
            let mut view = scope.view();
            view.agency = Some(agencies::reference(a));
            let s = assemble(
                view,
                Parts {
                    flows: flows.get(&a.id).unwrap_or(&zero),
                    stock: stock.get(&a.id).unwrap_or(&zero),
                    catalog: catalog.get(&a.id).copied().unwrap_or_default(),
                    feedback: feedback.get(&a.id).copied().unwrap_or_default(),
                    waits: scope
                        .has_queue()
                        .then(|| waits.get(&a.id).unwrap_or(&no_waits)),
                    synced: synced.get(&a.id).copied().unwrap_or_default(),
                },
                scoring,
            );
            AgencyRow {
                rank: 0,
                agency: agencies::reference(a),
                dossiers: s.dossiers,
                rates: s.rates,
                catalog_rates: s.catalog_rates,
                waiting_time: s.waiting_time,
                groups: s.groups,
                total_score: s.total_score,
            }
        })
        .collect();
    // Agencies without dossiers score full points where nothing could fail:
    // not comparable, so they come after those with dossiers.
    let has_dossiers =
        |r: &AgencyRow| r.dossiers.received + r.dossiers.decided + r.dossiers.in_progress > 0;
    rows.sort_by(|a, b| {
        has_dossiers(b)
            .cmp(&has_dossiers(a))
            .then_with(|| b.total_score.total_cmp(&a.total_score))
            .then_with(|| {
                let on_time = |r: &AgencyRow| r.rates.on_time.value.unwrap_or(-1.0);
                on_time(b).total_cmp(&on_time(a))
            })
            .then_with(|| b.dossiers.received.cmp(&a.dossiers.received))
            .then_with(|| a.agency.code.cmp(&b.agency.code))
    });
    for (i, row) in rows.iter_mut().enumerate() {
        row.rank = i + 1;
    }
    let ranked = rows.len();
    if let Some(id) = only {
        rows.retain(|r| r.agency.id == id);
    }
    Ok(Ranking {
        scope: scope.view(),
        ranked,
        agencies: rows,
    })
}
