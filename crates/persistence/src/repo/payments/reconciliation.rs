//! Daily reconciliation runs and their items.

use crate::schema::{reconciliation_items, reconciliation_runs};
use crate::time::{from_db, to_db};
use crate::{AnyConnection, StoreResult, write_tx};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReconciliationItem {
    pub txn_ref: String,
    pub payment_id: Option<String>,
    /// `matched`, `missing` (one side only), `mismatch` (status or amount
    /// differ) or `overpaid` (a dossier received more than its fee; `txn_ref`
    /// is then `dossier:{code}`).
    pub result: String,
    pub our_status: Option<String>,
    pub our_amount_vnd: Option<i64>,
    pub gateway_status: Option<String>,
    pub gateway_amount_vnd: Option<i64>,
    pub detail: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReconciliationRun {
    pub day: NaiveDate,
    pub run_at: DateTime<Utc>,
    pub matched: i32,
    pub missing: i32,
    pub mismatch: i32,
    /// Dossiers that received more than their fee.
    pub overpaid: i32,
}

/// Replaces a day's reconciliation with a new run, made at `at`.
pub fn store_reconciliation(
    conn: &mut AnyConnection,
    day: NaiveDate,
    items: &[ReconciliationItem],
    at: DateTime<Utc>,
) -> StoreResult<ReconciliationRun> {
    write_tx(conn, |conn| {
        diesel::delete(reconciliation_items::table.filter(reconciliation_items::day.eq(day)))
            .execute(conn)?;
        diesel::delete(reconciliation_runs::table.find(day)).execute(conn)?;
        for item in items {
            diesel::insert_into(reconciliation_items::table)
                .values((
                    reconciliation_items::day.eq(day),
                    reconciliation_items::txn_ref.eq(&item.txn_ref),
                    reconciliation_items::payment_id.eq(&item.payment_id),
                    reconciliation_items::result.eq(&item.result),
                    reconciliation_items::our_status.eq(&item.our_status),
                    reconciliation_items::our_amount_vnd.eq(item.our_amount_vnd),
                    reconciliation_items::gateway_status.eq(&item.gateway_status),
                    reconciliation_items::gateway_amount_vnd.eq(item.gateway_amount_vnd),
                    reconciliation_items::detail.eq(&item.detail),
                ))
                .execute(conn)?;
        }
        let count = |r: &str| {
            i32::try_from(items.iter().filter(|i| i.result == r).count()).unwrap_or(i32::MAX)
        };
        let run = ReconciliationRun {
            day,
            run_at: at,
            matched: count("matched"),
            missing: count("missing"),
            mismatch: count("mismatch"),
            overpaid: count("overpaid"),
        };
        diesel::insert_into(reconciliation_runs::table)
            .values((
                reconciliation_runs::day.eq(day),
                reconciliation_runs::run_at.eq(to_db(run.run_at)),
                reconciliation_runs::matched.eq(run.matched),
                reconciliation_runs::missing.eq(run.missing),
                reconciliation_runs::mismatch.eq(run.mismatch),
                reconciliation_runs::overpaid.eq(run.overpaid),
            ))
            .execute(conn)?;
        Ok(run)
    })
}

type ItemRow = (
    String,
    Option<String>,
    String,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<i64>,
    Option<String>,
);

pub fn reconciliation(
    conn: &mut AnyConnection,
    day: NaiveDate,
) -> StoreResult<Option<(ReconciliationRun, Vec<ReconciliationItem>)>> {
    let run: Option<(NaiveDateTime, i32, i32, i32, i32)> = reconciliation_runs::table
        .find(day)
        .select((
            reconciliation_runs::run_at,
            reconciliation_runs::matched,
            reconciliation_runs::missing,
            reconciliation_runs::mismatch,
            reconciliation_runs::overpaid,
        ))
        .first(conn)
        .optional()?;
    let Some((run_at, matched, missing, mismatch, overpaid)) = run else {
        return Ok(None);
    };
    let rows: Vec<ItemRow> = reconciliation_items::table
        .filter(reconciliation_items::day.eq(day))
        .order(reconciliation_items::txn_ref.asc())
        .select((
            reconciliation_items::txn_ref,
            reconciliation_items::payment_id,
            reconciliation_items::result,
            reconciliation_items::our_status,
            reconciliation_items::our_amount_vnd,
            reconciliation_items::gateway_status,
            reconciliation_items::gateway_amount_vnd,
            reconciliation_items::detail,
        ))
        .load(conn)?;
    let items = rows
        .into_iter()
        .map(
            |(
                txn_ref,
                payment_id,
                result,
                our_status,
                our_amount_vnd,
                gateway_status,
                gateway_amount_vnd,
                detail,
            )| ReconciliationItem {
                txn_ref,
                payment_id,
                result,
                our_status,
                our_amount_vnd,
                gateway_status,
                gateway_amount_vnd,
                detail,
            },
        )
        .collect();
    Ok(Some((
        ReconciliationRun {
            day,
            run_at: from_db(run_at),
            matched,
            missing,
            mismatch,
            overpaid,
        },
        items,
    )))
}
