//! KPI aggregates, kept in step with the dossiers: every change to a dossier
//! recomputes its facts and applies the difference of their contributions to
//! the day, month and year counters, in the same transaction. `rebuild`
//! recomputes everything from the stored dossiers, documents, payments and
//! ratings; a test checks that the two agree.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool};
use diesel::upsert::excluded;
use motcua_domain::calendar::{WorkingCalendar, WorkingHours};
use motcua_domain::dossier::{Channel, Dossier, RatingScore};
use motcua_domain::kpi::{self, Bucket, CatalogCounts, Counters, Grain, KpiFacts, Span};
use motcua_domain::kpi_facts::{self, DossierRecord, RecordDocument, RecordPayment};
use motcua_domain::procedure::{AdminLevel, OnlineLevel, ProcedureStatus};

use crate::db::Db;
use crate::repo::dossiers::{DossierDocument, Rating, SupplementLine};
use crate::schema::{
    dossier_documents, dossier_facts, dossier_ratings, dossiers, kpi_agg, payments, procedures,
    supplement_requests,
};
use crate::time::from_db;
use crate::{AnyConnection, StoreError, StoreResult, parse_enum};

/// Calls `$callback!((args) counter, counter, …)` with every counter
/// column of `kpi_agg`: the one list the row type, the increments, the
/// rebuild and the sums are written from.
macro_rules! with_counters {
    ($callback:ident ! ( $($args:tt)* )) => {
        $callback! {
            ($($args)*)
            received, received_online, digitized, reused, fee_bearing, returned, rejected,
            refused, withdrawn, cancelled, decided, early, on_time, late, ended, used_days,
            regulated_days, results, results_digital, digitized_through, paid, paid_online,
            ratings, ratings_satisfied, ratings_unsatisfied, due, due_finished
        }
    };
}

macro_rules! agg_row {
    (() $($c:ident),+) => {
        /// One stored aggregate row.
        #[derive(Queryable, Selectable, Debug, Clone, PartialEq, Eq)]
        #[diesel(table_name = kpi_agg)]
        pub struct AggRow {
            pub grain: String,
            pub period: NaiveDate,
            pub agency_id: i64,
            pub procedure_id: i64,
            pub channel: String,
            $($c: i64,)+
        }

        impl AggRow {
            pub fn counters(&self) -> Counters {
                Counters { $($c: self.$c,)+ }
            }
        }
    };
}
with_counters! { agg_row!() }

/// A full row to insert.
macro_rules! row_values {
    (($b:expr, $counters:expr) $($c:ident),+) => {
        (
            kpi_agg::grain.eq($b.grain.as_str()),
            kpi_agg::period.eq($b.period),
            kpi_agg::agency_id.eq($b.agency_id),
            kpi_agg::procedure_id.eq($b.procedure_id),
            kpi_agg::channel.eq($b.channel.as_str()),
            $(kpi_agg::$c.eq($counters.$c),)+
        )
    };
}

/// Sums of the listed counters over the rows matching `$cond`, grouped by
/// `$group` (of Rust type `$key`): one row per group, the work done by the database.
macro_rules! sums {
    (($conn:expr, $cond:expr, $group:expr, $key:ty) $($c:ident),+) => {{
        macro_rules! bigint { ($x:ident) => { i64 } }
        let rows: Vec<($key, $(bigint!($c),)+)> = kpi_agg::table
            .filter($cond)
            .group_by($group)
            .select((
                $group,
                $(diesel::dsl::sql::<BigInt>(concat!(
                    "CAST(COALESCE(SUM(", stringify!($c), "), 0) AS BIGINT)"
                )),)+
            ))
            .load($conn)?;
        rows.into_iter()
            .map(|(key, $($c,)+)| {
                let mut counters = Counters::default();
                $(counters.$c = $c;)+
                (key, counters)
            })
            .collect::<Vec<($key, Counters)>>()
    }};
}

/// `SET c = c + excluded.c` for every counter: what an upsert adds to a row
/// that exists.
macro_rules! add_excluded {
    (() $($c:ident),+) => {
        ($(kpi_agg::$c.eq(kpi_agg::$c + excluded(kpi_agg::$c)),)+)
    };
}

/// Adds each row's counters to the stored rows, creating the missing ones:
/// one `INSERT … ON CONFLICT DO UPDATE` for all of them (PostgreSQL, and
/// SQLite since 3.24). The rows go in bucket order, so concurrent writers
/// lock shared rows in one order.
fn add_to_rows(conn: &mut AnyConnection, rows: &BTreeMap<Bucket, Counters>) -> StoreResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let values: Vec<_> = rows
        .iter()
        .map(|(b, c)| with_counters!(row_values!(b, c)))
        .collect();
    let key = (
        kpi_agg::grain,
        kpi_agg::period,
        kpi_agg::agency_id,
        kpi_agg::procedure_id,
        kpi_agg::channel,
    );
    match conn {
        AnyConnection::Postgresql(c) => diesel::insert_into(kpi_agg::table)
            .values(values)
            .on_conflict(key)
            .do_update()
            .set(with_counters!(add_excluded!()))
            .execute(c)?,
        AnyConnection::Sqlite(c) => diesel::insert_into(kpi_agg::table)
            .values(values)
            .on_conflict(key)
            .do_update()
            .set(with_counters!(add_excluded!()))
            .execute(c)?,
    };
    Ok(())
}

struct DossierRow {
    agency_id: i64,
    procedure_id: i64,
    channel: String,
    status: String,
    received_at: Option<NaiveDateTime>,
    due_at: Option<NaiveDateTime>,
    paused_at: Option<NaiveDateTime>,
    processed_at: Option<NaiveDateTime>,
    finished_at: Option<NaiveDateTime>,
    supplement_count: i32,
    regulated_days: i32,
    time_unit: String,
    fees_due_vnd: i64,
}

type RawDossier = (
    i64,
    i64,
    i64,
    String,
    String,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    i32,
    i32,
    String,
    i64,
);

macro_rules! dossier_columns {
    () => {
        (
            dossiers::id,
            dossiers::agency_id,
            dossiers::procedure_id,
            dossiers::channel,
            dossiers::status,
            dossiers::received_at,
            dossiers::due_at,
            dossiers::paused_at,
            dossiers::processed_at,
            dossiers::finished_at,
            dossiers::supplement_count,
            dossiers::regulated_days,
            dossiers::time_unit,
            dossiers::fees_due_vnd,
        )
    };
}

fn split(raw: RawDossier) -> (i64, DossierRow) {
    let (
        id,
        agency_id,
        procedure_id,
        channel,
        status,
        received_at,
        due_at,
        paused_at,
        processed_at,
        finished_at,
        supplement_count,
        regulated_days,
        time_unit,
        fees_due_vnd,
    ) = raw;
    (
        id,
        DossierRow {
            agency_id,
            procedure_id,
            channel,
            status,
            received_at,
            due_at,
            paused_at,
            processed_at,
            finished_at,
            supplement_count,
            regulated_days,
            time_unit,
            fees_due_vnd,
        },
    )
}

/// (requirement, document id, paper, reused, stage)
type DocLine = (Option<String>, Option<String>, bool, bool, String);
/// (method, status, amount, paid or finished at)
type PayLine = (String, String, i64, Option<NaiveDateTime>);
/// A supplement request: (requested at, supplemented at).
type PauseLine = (NaiveDateTime, Option<NaiveDateTime>);

/// A dossier's facts from its stored state: what [`kpi::contributions`]
/// counts, decided by the domain's [`kpi_facts::facts`].
fn facts_from(
    d: &DossierRow,
    docs: &[DocLine],
    pays: &[PayLine],
    pauses: &[PauseLine],
    rating: Option<&(String, NaiveDateTime)>,
    calendar: &WorkingCalendar,
) -> StoreResult<KpiFacts> {
    let at = |t: &Option<NaiveDateTime>| t.map(from_db);
    let record = DossierRecord {
        agency_id: d.agency_id,
        procedure_id: d.procedure_id,
        channel: parse_enum(&d.channel)?,
        status: parse_enum(&d.status)?,
        time_unit: parse_enum(&d.time_unit)?,
        received_at: at(&d.received_at),
        due_at: at(&d.due_at),
        paused_at: at(&d.paused_at),
        processed_at: at(&d.processed_at),
        finished_at: at(&d.finished_at),
        supplement_count: d.supplement_count,
        regulated_days: d.regulated_days,
        fees_due_vnd: d.fees_due_vnd,
        documents: docs
            .iter()
            .map(|(requirement, document_id, _paper, reused, stage)| {
                Ok(RecordDocument {
                    requirement: requirement.clone(),
                    electronic: document_id.is_some(),
                    reused: *reused,
                    stage: parse_enum(stage)?,
                })
            })
            .collect::<StoreResult<_>>()?,
        payments: pays
            .iter()
            .map(|(method, status, applied_vnd, paid_at)| {
                Ok(RecordPayment {
                    method: parse_enum(method)?,
                    status: parse_enum(status)?,
                    applied_vnd: *applied_vnd,
                    paid_at: at(paid_at),
                })
            })
            .collect::<StoreResult<_>>()?,
        pauses: pauses
            .iter()
            .map(|(stopped, resumed)| (from_db(*stopped), at(resumed)))
            .collect(),
        rating: match rating {
            Some((score, at)) => Some((parse_enum::<RatingScore>(score)?, from_db(*at))),
            None => None,
        },
    };
    Ok(kpi_facts::facts(&record, calendar))
}

/// A payment of a dossier, as its KPI facts and its overpayment read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentLine {
    pub method: String,
    pub status: String,
    pub amount_vnd: i64,
    /// What it paid towards the fees.
    pub applied_vnd: i64,
    pub paid_at: Option<NaiveDateTime>,
}

/// A dossier's payments, in one statement.
pub fn payment_lines(conn: &mut AnyConnection, dossier_id: i64) -> StoreResult<Vec<PaymentLine>> {
    let rows: Vec<(String, String, i64, i64, Option<NaiveDateTime>)> = payments::table
        .filter(payments::dossier_id.eq(dossier_id))
        .select((
            payments::method,
            payments::status,
            payments::amount_vnd,
            payments::applied_vnd,
            payments::paid_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(method, status, amount_vnd, applied_vnd, paid_at)| PaymentLine {
                method,
                status,
                amount_vnd,
                applied_vnd,
                paid_at,
            },
        )
        .collect())
}

/// What successful payments received beyond what they paid towards the fees
/// (as `payments::surplus_of_dossier` counts it).
pub fn surplus(lines: &[PaymentLine]) -> i64 {
    lines
        .iter()
        .filter(|p| p.status == motcua_domain::payment::PaymentStatus::Success.as_str())
        .map(|p| (p.amount_vnd - p.applied_vnd).max(0))
        .sum()
}

/// What a dossier's facts read besides its row, as a use case holds them.
#[derive(Debug, Clone, Copy)]
pub struct FactLines<'a> {
    pub documents: &'a [DossierDocument],
    pub payments: &'a [PaymentLine],
    pub supplement_requests: &'a [SupplementLine],
    pub rating: Option<&'a Rating>,
}

/// A dossier's facts from the state a use case holds (the dossier as it
/// now stands and its lines), without reading anything: the same record
/// [`refresh`] and [`rebuild`] read from the tables.
pub fn facts_of(
    d: &Dossier,
    lines: FactLines<'_>,
    calendar: &WorkingCalendar,
) -> StoreResult<KpiFacts> {
    let record = DossierRecord {
        agency_id: d.agency.id,
        procedure_id: d.procedure.id,
        channel: d.channel,
        status: d.status,
        time_unit: d.time_unit,
        received_at: d.received_at,
        due_at: d.due_at,
        paused_at: d.paused_at,
        processed_at: d.processed_at,
        finished_at: d.finished_at,
        supplement_count: i32::try_from(d.supplement_count).unwrap_or(i32::MAX),
        regulated_days: i32::try_from(d.regulated_days).unwrap_or(i32::MAX),
        fees_due_vnd: d.fees_due_vnd,
        documents: lines
            .documents
            .iter()
            .map(|doc| {
                Ok(RecordDocument {
                    requirement: doc.requirement.clone(),
                    electronic: doc.document_id.is_some(),
                    reused: doc.reused,
                    stage: parse_enum(&doc.stage)?,
                })
            })
            .collect::<StoreResult<_>>()?,
        payments: lines
            .payments
            .iter()
            .map(|p| {
                Ok(RecordPayment {
                    method: parse_enum(&p.method)?,
                    status: parse_enum(&p.status)?,
                    applied_vnd: p.applied_vnd,
                    paid_at: p.paid_at.map(from_db),
                })
            })
            .collect::<StoreResult<_>>()?,
        pauses: lines
            .supplement_requests
            .iter()
            .map(|r| (r.requested_at, r.supplemented_at))
            .collect(),
        rating: lines.rating.map(|r| (r.score, r.rated_at)),
    };
    Ok(kpi_facts::facts(&record, calendar))
}

/// The calendar the aggregates use: only its days matter here.
fn calendar(conn: &mut AnyConnection) -> StoreResult<WorkingCalendar> {
    crate::repo::calendar::load(conn, WorkingHours::default())
}

fn load_facts(conn: &mut AnyConnection, dossier_id: i64) -> StoreResult<Option<KpiFacts>> {
    let text: Option<String> = dossier_facts::table
        .find(dossier_id)
        .select(dossier_facts::facts)
        .first(conn)
        .optional()?;
    text.as_deref().map(parse_facts).transpose()
}

fn save_facts(conn: &mut AnyConnection, dossier_id: i64, facts: &KpiFacts) -> StoreResult<()> {
    let text = serde_json::to_string(facts).map_err(StoreError::corrupt)?;
    let row = (
        dossier_facts::dossier_id.eq(dossier_id),
        dossier_facts::facts.eq(text),
    );
    let replace = dossier_facts::facts.eq(excluded(dossier_facts::facts));
    match conn {
        AnyConnection::Postgresql(c) => diesel::insert_into(dossier_facts::table)
            .values(row)
            .on_conflict(dossier_facts::dossier_id)
            .do_update()
            .set(replace)
            .execute(c)?,
        AnyConnection::Sqlite(c) => diesel::insert_into(dossier_facts::table)
            .values(row)
            .on_conflict(dossier_facts::dossier_id)
            .do_update()
            .set(replace)
            .execute(c)?,
    };
    Ok(())
}

/// Stores a dossier's new facts and adds the difference from `old` to the
/// aggregates: two statements whatever the number of rows touched, the
/// shared aggregate rows last, so that their locks are held only until the
/// commit that should follow. Nothing when the facts did not change.
pub fn write_change(
    conn: &mut AnyConnection,
    dossier_id: i64,
    old: Option<&KpiFacts>,
    new: &KpiFacts,
) -> StoreResult<()> {
    if old == Some(new) {
        return Ok(());
    }
    save_facts(conn, dossier_id, new)?;
    add_to_rows(conn, &kpi::change(old, Some(new)))
}

/// Facts as [`write_change`] stored them.
pub fn parse_facts(text: &str) -> StoreResult<KpiFacts> {
    serde_json::from_str(text).map_err(StoreError::corrupt)
}

/// Recomputes one dossier's facts and applies the change to the aggregates.
/// Call inside the transaction that changed the dossier.
pub fn refresh(conn: &mut AnyConnection, dossier_id: i64) -> StoreResult<()> {
    let raw: RawDossier = dossiers::table
        .find(dossier_id)
        .select(dossier_columns!())
        .first(conn)?;
    let (_, row) = split(raw);
    let docs: Vec<DocLine> = dossier_documents::table
        .filter(dossier_documents::dossier_id.eq(dossier_id))
        .select((
            dossier_documents::requirement,
            dossier_documents::document_id,
            dossier_documents::paper,
            dossier_documents::reused,
            dossier_documents::stage,
        ))
        .load(conn)?;
    let pays: Vec<PayLine> = payments::table
        .filter(payments::dossier_id.eq(dossier_id))
        .select((
            payments::method,
            payments::status,
            payments::applied_vnd,
            payments::paid_at,
        ))
        .load(conn)?;
    let rating: Option<(String, NaiveDateTime)> = dossier_ratings::table
        .find(dossier_id)
        .select((dossier_ratings::score, dossier_ratings::rated_at))
        .first(conn)
        .optional()?;
    let pauses: Vec<PauseLine> = supplement_requests::table
        .filter(supplement_requests::dossier_id.eq(dossier_id))
        .select((
            supplement_requests::requested_at,
            supplement_requests::supplemented_at,
        ))
        .load(conn)?;
    let cal = calendar(conn)?;
    let new = facts_from(&row, &docs, &pays, &pauses, rating.as_ref(), &cal)?;
    let old = load_facts(conn, dossier_id)?;
    write_change(conn, dossier_id, old.as_ref(), &new)
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RebuildReport {
    pub dossiers: usize,
    pub rows: usize,
}

/// The lines of the dossiers with ids in `first..=last`, by dossier: four
/// statements for a batch of the rebuild.
struct BatchLines {
    docs: HashMap<i64, Vec<DocLine>>,
    pays: HashMap<i64, Vec<PayLine>>,
    pauses: HashMap<i64, Vec<PauseLine>>,
    ratings: HashMap<i64, (String, NaiveDateTime)>,
}

fn batch_lines(conn: &mut AnyConnection, first_id: i64, last_id: i64) -> StoreResult<BatchLines> {
    let mut docs: HashMap<i64, Vec<DocLine>> = HashMap::new();
    let rows: Vec<(i64, DocLine)> = dossier_documents::table
        .filter(dossier_documents::dossier_id.between(first_id, last_id))
        .select((
            dossier_documents::dossier_id,
            (
                dossier_documents::requirement,
                dossier_documents::document_id,
                dossier_documents::paper,
                dossier_documents::reused,
                dossier_documents::stage,
            ),
        ))
        .load(conn)?;
    for (id, line) in rows {
        docs.entry(id).or_default().push(line);
    }
    let mut pays: HashMap<i64, Vec<PayLine>> = HashMap::new();
    let rows: Vec<(i64, String, String, i64, Option<NaiveDateTime>)> = payments::table
        .filter(payments::dossier_id.between(first_id, last_id))
        .select((
            payments::dossier_id,
            payments::method,
            payments::status,
            payments::applied_vnd,
            payments::paid_at,
        ))
        .load(conn)?;
    for (id, a, b, c, d) in rows {
        pays.entry(id).or_default().push((a, b, c, d));
    }
    let mut pauses: HashMap<i64, Vec<PauseLine>> = HashMap::new();
    let rows: Vec<(i64, NaiveDateTime, Option<NaiveDateTime>)> = supplement_requests::table
        .filter(supplement_requests::dossier_id.between(first_id, last_id))
        .select((
            supplement_requests::dossier_id,
            supplement_requests::requested_at,
            supplement_requests::supplemented_at,
        ))
        .load(conn)?;
    for (id, requested, supplemented) in rows {
        pauses
            .entry(id)
            .or_default()
            .push((requested, supplemented));
    }
    let ratings: HashMap<i64, (String, NaiveDateTime)> = dossier_ratings::table
        .filter(dossier_ratings::dossier_id.between(first_id, last_id))
        .select((
            dossier_ratings::dossier_id,
            dossier_ratings::score,
            dossier_ratings::rated_at,
        ))
        .load::<(i64, String, NaiveDateTime)>(conn)?
        .into_iter()
        .map(|(id, s, at)| (id, (s, at)))
        .collect();
    Ok(BatchLines {
        docs,
        pays,
        pauses,
        ratings,
    })
}

/// Dossiers read per batch by [`rebuild`].
const REBUILD_BATCH: i64 = 5000;

/// Recomputes every dossier's facts and all aggregates from the stored data.
pub fn rebuild(conn: &mut AnyConnection) -> StoreResult<RebuildReport> {
    crate::write_tx(conn, |conn| {
        diesel::delete(kpi_agg::table).execute(conn)?;
        diesel::delete(dossier_facts::table).execute(conn)?;
        let cal = calendar(conn)?;
        let mut totals: BTreeMap<Bucket, Counters> = BTreeMap::new();
        let mut report = RebuildReport::default();
        let mut after = 0_i64;
        loop {
            let raws: Vec<RawDossier> = dossiers::table
                .filter(dossiers::id.gt(after))
                .order(dossiers::id.asc())
                .limit(REBUILD_BATCH)
                .select(dossier_columns!())
                .load(conn)?;
            let Some(last) = raws.last() else { break };
            let (first_id, last_id) = (raws[0].0, last.0);
            after = last_id;
            let BatchLines {
                docs,
                pays,
                pauses,
                ratings,
            } = batch_lines(conn, first_id, last_id)?;
            let mut batch_facts = Vec::with_capacity(raws.len());
            for raw in raws {
                let (id, row) = split(raw);
                let facts = facts_from(
                    &row,
                    docs.get(&id).map_or(&[][..], Vec::as_slice),
                    pays.get(&id).map_or(&[][..], Vec::as_slice),
                    pauses.get(&id).map_or(&[][..], Vec::as_slice),
                    ratings.get(&id),
                    &cal,
                )?;
                kpi::accumulate(&mut totals, &facts, 1);
                batch_facts.push((
                    id,
                    serde_json::to_string(&facts).map_err(StoreError::corrupt)?,
                ));
                report.dossiers += 1;
            }
            for chunk in batch_facts.chunks(1000) {
                let values: Vec<_> = chunk
                    .iter()
                    .map(|(id, f)| {
                        (
                            dossier_facts::dossier_id.eq(*id),
                            dossier_facts::facts.eq(f),
                        )
                    })
                    .collect();
                crate::insert_many!(&mut *conn, dossier_facts::table, values)?;
            }
        }
        totals.retain(|_, c| !c.is_zero());
        let rows: Vec<(&Bucket, &Counters)> = totals.iter().collect();
        for chunk in rows.chunks(500) {
            let values: Vec<_> = chunk
                .iter()
                .map(|(b, c)| with_counters!(row_values!(b, c)))
                .collect();
            crate::insert_many!(&mut *conn, kpi_agg::table, values)?;
        }
        report.rows = totals.len();
        Ok(report)
    })
    .and_then(|report| {
        crate::db::refresh_statistics(conn)?;
        Ok(report)
    })
}

/// Every aggregate row, ordered: to compare the kept counters with a rebuild.
pub fn snapshot(conn: &mut AnyConnection) -> StoreResult<Vec<AggRow>> {
    Ok(kpi_agg::table
        .order((
            kpi_agg::grain.asc(),
            kpi_agg::period.asc(),
            kpi_agg::agency_id.asc(),
            kpi_agg::procedure_id.asc(),
            kpi_agg::channel.asc(),
        ))
        .select(AggRow::as_select())
        .load::<AggRow>(conn)?
        .into_iter()
        // A row whose counters went back to zero holds nothing.
        .filter(|r| !r.counters().is_zero())
        .collect())
}

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
