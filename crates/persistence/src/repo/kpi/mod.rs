//! KPI aggregates, kept in step with the dossiers: every change to a dossier
//! recomputes its facts and applies the difference of their contributions to
//! the day, month and year counters, in the same transaction. `rebuild`
//! recomputes everything from the stored dossiers, documents, payments and
//! ratings; a test checks that the two agree.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::upsert::excluded;
use motcua_domain::kpi::{Bucket, Counters};

use crate::schema::kpi_agg;
use crate::{AnyConnection, StoreResult};

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

            /// The row of `key` holding `counters`.
            fn with(key: AggKey, counters: &Counters) -> Self {
                let (grain, period, agency_id, procedure_id, channel) = key;
                Self { grain, period, agency_id, procedure_id, channel, $($c: counters.$c,)+ }
            }
        }
    };
}
with_counters! { agg_row!() }

/// A full row to insert.
macro_rules! row_values {
    (($b:expr, $counters:expr, $shard:expr) $($c:ident),+) => {
        (
            kpi_agg::shard.eq($shard),
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

mod facts;
mod queries;
mod rebuild;

pub use facts::{
    FactLines, PaymentLine, facts_of, parse_facts, payment_lines, refresh, surplus, write_change,
};
pub use queries::{
    KpiFilter, catalog_counts, flows_by_agency, flows_by_period, payment_status_counts,
    procedures_of_sector, row_count, status_counts, stock_by_agency, total,
};
pub use rebuild::{RebuildReport, rebuild, snapshot};

/// The key of an aggregate row, shards summed.
type AggKey = (String, NaiveDate, i64, i64, String);

/// Shards of each aggregate row on PostgreSQL (migration 000024): writers of
/// one agency meet on the same shard one time in this many.
const SHARDS: i64 = 8;

/// The shard a dossier's changes are added to: always the same one for a
/// dossier, spread over [`SHARDS`] across dossiers. SQLite has one writer at
/// a time, so nothing would be gained by spreading there.
fn shard_of(conn: &AnyConnection, dossier_id: i64) -> i32 {
    match conn {
        AnyConnection::Postgresql(_) => {
            i32::try_from(dossier_id.rem_euclid(SHARDS)).unwrap_or_default()
        }
        AnyConnection::Sqlite(_) => 0,
    }
}

/// Adds each row's counters to the stored rows of `shard`, creating the missing ones:
/// one `INSERT … ON CONFLICT DO UPDATE` for all of them (PostgreSQL, and
/// SQLite since 3.24). The rows go in bucket order, so concurrent writers
/// lock shared rows in one order.
fn add_to_rows(
    conn: &mut AnyConnection,
    shard: i32,
    rows: &BTreeMap<Bucket, Counters>,
) -> StoreResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let values: Vec<_> = rows
        .iter()
        .map(|(b, c)| with_counters!(row_values!(b, c, shard)))
        .collect();
    let key = (
        kpi_agg::grain,
        kpi_agg::period,
        kpi_agg::agency_id,
        kpi_agg::procedure_id,
        kpi_agg::channel,
        kpi_agg::shard,
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
