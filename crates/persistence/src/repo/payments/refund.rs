//! Refunds: proposed, approved, created and finished.

use super::{announce, get};
use crate::schema::{payments, refunds};
use crate::time::{from_db, to_db};
use crate::{AnyConnection, StoreResult, parse_enum, write_tx};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use motcua_domain::payment::{Payment, PaymentStatus, Refund, RefundStatus, refundable};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundRefusal {
    /// Only successful payments can be refunded.
    NotPaid,
    /// More than what is still refundable.
    Exceeds { refundable: i64 },
}

type RefundRow = (
    String,
    String,
    i64,
    String,
    String,
    Option<i64>,
    NaiveDateTime,
    Option<NaiveDateTime>,
    Option<i64>,
    Option<NaiveDateTime>,
);

macro_rules! refund_columns {
    () => {
        (
            refunds::id,
            refunds::payment_id,
            refunds::amount_vnd,
            refunds::reason,
            refunds::status,
            refunds::created_by,
            refunds::created_at,
            refunds::finished_at,
            refunds::approved_by,
            refunds::approved_at,
        )
    };
}

fn refund_row(r: RefundRow) -> StoreResult<Refund> {
    let (
        id,
        payment_id,
        amount_vnd,
        reason,
        status,
        created_by,
        created_at,
        finished_at,
        approved_by,
        approved_at,
    ) = r;
    Ok(Refund {
        id,
        payment_id,
        amount_vnd,
        reason,
        status: parse_enum(&status)?,
        created_by,
        created_at: from_db(created_at),
        finished_at: finished_at.map(from_db),
        approved_by,
        approved_at: approved_at.map(from_db),
    })
}

pub fn refunds_of(conn: &mut AnyConnection, payment_id: &str) -> StoreResult<Vec<Refund>> {
    let rows: Vec<RefundRow> = refunds::table
        .filter(refunds::payment_id.eq(payment_id))
        .order((refunds::created_at.asc(), refunds::id.asc()))
        .select(refund_columns!())
        .load(conn)?;
    rows.into_iter().map(refund_row).collect()
}

/// A refund the system proposes (no author) for money it may not keep.
pub(super) fn propose_refund(
    conn: &mut AnyConnection,
    payment_id: &str,
    amount_vnd: i64,
    reason: &str,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    diesel::insert_into(refunds::table)
        .values((
            refunds::id.eq(uuid::Uuid::new_v4().to_string()),
            refunds::payment_id.eq(payment_id),
            refunds::amount_vnd.eq(amount_vnd),
            refunds::reason.eq(reason),
            refunds::status.eq(RefundStatus::Proposed.as_str()),
            refunds::created_by.eq(None::<i64>),
            refunds::created_at.eq(to_db(at)),
        ))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApproveRefusal {
    /// Not (or no longer) a proposal: already approved, or entered by a person.
    NotProposed(RefundStatus),
}

/// Approves a proposed refund: it becomes `submitted` (the caller then asks
/// the gateway, outside any transaction). The payment row is locked, so two
/// approvals at once approve it once.
pub fn approve_refund(
    conn: &mut AnyConnection,
    payment_id: &str,
    refund_id: &str,
    by: i64,
    at: DateTime<Utc>,
) -> StoreResult<Result<Refund, ApproveRefusal>> {
    write_tx(conn, |conn| {
        lock_payment(conn, payment_id)?;
        let row: RefundRow = refunds::table
            .find(refund_id)
            .filter(refunds::payment_id.eq(payment_id))
            .select(refund_columns!())
            .first(conn)?;
        let refund = refund_row(row)?;
        if refund.status != RefundStatus::Proposed {
            return Ok(Err(ApproveRefusal::NotProposed(refund.status)));
        }
        diesel::update(
            refunds::table
                .find(refund_id)
                .filter(refunds::status.eq(RefundStatus::Proposed.as_str())),
        )
        .set((
            refunds::status.eq(RefundStatus::Submitted.as_str()),
            refunds::approved_by.eq(Some(by)),
            refunds::approved_at.eq(Some(to_db(at))),
        ))
        .execute(conn)?;
        let row: RefundRow = refunds::table
            .find(refund_id)
            .select(refund_columns!())
            .first(conn)?;
        Ok(Ok(refund_row(row)?))
    })
}

pub fn refundable_of(conn: &mut AnyConnection, p: &Payment) -> StoreResult<i64> {
    if p.status != PaymentStatus::Success {
        return Ok(0);
    }
    let taken = refunds_of(conn, &p.id)?
        .into_iter()
        .map(|r| (r.status, r.amount_vnd));
    Ok(refundable(p.amount_vnd, taken))
}

/// Registers a refund in `submitted` if the amount is still refundable. The
/// payment row is locked first, so concurrent refunds queue and the sum of
/// refunds never exceeds what was paid.
pub fn create_refund(
    conn: &mut AnyConnection,
    payment_id: &str,
    refund_id: &str,
    amount_vnd: i64,
    reason: &str,
    by: i64,
    at: DateTime<Utc>,
) -> StoreResult<Result<Refund, RefundRefusal>> {
    write_tx(conn, |conn| {
        lock_payment(conn, payment_id)?;
        let p = get(conn, payment_id)?;
        if p.status != PaymentStatus::Success {
            return Ok(Err(RefundRefusal::NotPaid));
        }
        let left = refundable_of(conn, &p)?;
        if amount_vnd > left {
            return Ok(Err(RefundRefusal::Exceeds { refundable: left }));
        }
        diesel::insert_into(refunds::table)
            .values((
                refunds::id.eq(refund_id),
                refunds::payment_id.eq(payment_id),
                refunds::amount_vnd.eq(amount_vnd),
                refunds::reason.eq(reason),
                refunds::status.eq(RefundStatus::Submitted.as_str()),
                refunds::created_by.eq(Some(by)),
                refunds::created_at.eq(to_db(at)),
            ))
            .execute(conn)?;
        let row: RefundRow = refunds::table
            .find(refund_id)
            .select(refund_columns!())
            .first(conn)?;
        Ok(Ok(refund_row(row)?))
    })
}

/// `SELECT … FOR UPDATE` on PostgreSQL; SQLite's write transaction already excludes others.
fn lock_payment(conn: &mut AnyConnection, id: &str) -> StoreResult<()> {
    if let AnyConnection::Postgresql(c) = conn {
        payments::table
            .find(id)
            .select(payments::id)
            .for_update()
            .first::<String>(c)?;
    }
    Ok(())
}

/// Records the gateway's answer to a submitted refund, once; a refund that
/// succeeded writes `payment.refunded` in the same transaction.
pub fn finish_refund(
    conn: &mut AnyConnection,
    refund_id: &str,
    status: RefundStatus,
    gateway_ref: Option<&str>,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    write_tx(conn, |conn| {
        let n = diesel::update(
            refunds::table
                .find(refund_id)
                .filter(refunds::status.eq(RefundStatus::Submitted.as_str())),
        )
        .set((
            refunds::status.eq(status.as_str()),
            refunds::gateway_ref.eq(gateway_ref),
            refunds::finished_at.eq(Some(to_db(at))),
        ))
        .execute(conn)?;
        if n == 1 && status == RefundStatus::Success {
            let row: RefundRow = refunds::table
                .find(refund_id)
                .select(refund_columns!())
                .first(conn)?;
            let refund = refund_row(row)?;
            let payment = get(conn, &refund.payment_id)?;
            announce(conn, &payment, Some(&refund), at)?;
        }
        Ok(())
    })
}
