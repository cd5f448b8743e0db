//! Fees paid in cash at the counter.

use super::{
    GatewayFacts, Transition, announce, get, lock_dossier, open_attempt, settle_payment, transition,
};
use crate::schema::{payment_events, payments};
use crate::time::to_db;
use crate::{AnyConnection, StoreError, StoreResult, write_tx};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use motcua_domain::payment::{FailureCode, Payment, PaymentMethod, PaymentStatus};

pub struct CounterPayment<'a> {
    pub id: &'a str,
    pub dossier_id: i64,
    pub amount_vnd: i64,
    pub receipt_number: &'a str,
    pub recorded_by: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CounterRefusal {
    /// An online attempt awaits the gateway's outcome (money may be on its way).
    AttemptPending(String),
}

/// Fees paid in cash at the counter: recorded as a finished success. An online
/// attempt not yet at the gateway's outcome (`created`, `started`) is closed as
/// `superseded`; should the gateway take that money anyway it becomes a surplus.
/// One awaiting its outcome (`submitted`) refuses the counter payment.
pub fn record_counter(
    conn: &mut AnyConnection,
    c: &CounterPayment<'_>,
    at: DateTime<Utc>,
) -> StoreResult<Result<Payment, CounterRefusal>> {
    write_tx(conn, |conn| {
        lock_dossier(conn, c.dossier_id)?;
        if let Some(open) = open_attempt(conn, c.dossier_id)? {
            if open.status == PaymentStatus::Submitted {
                return Ok(Err(CounterRefusal::AttemptPending(open.id)));
            }
            let facts = GatewayFacts {
                gateway: open.gateway.clone(),
                kind: "superseded_by_counter".into(),
                detail: Some(format!("counter payment {}", c.id)),
                ..Default::default()
            };
            match transition(
                conn,
                &open.id,
                PaymentStatus::Cancelled,
                Some(FailureCode::Superseded),
                &facts,
                at,
            )? {
                Transition::Applied(_) => {}
                other => {
                    return Err(StoreError::Conflict(format!(
                        "payments_one_open_per_dossier: {other:?}"
                    )));
                }
            }
        }
        diesel::insert_into(payments::table)
            .values((
                payments::id.eq(c.id),
                payments::dossier_id.eq(c.dossier_id),
                payments::method.eq(PaymentMethod::Counter.as_str()),
                payments::gateway.eq("counter"),
                payments::txn_ref.eq(c.id),
                payments::amount_vnd.eq(c.amount_vnd),
                payments::status.eq(PaymentStatus::Success.as_str()),
                payments::receipt_number.eq(c.receipt_number),
                payments::created_by.eq(c.recorded_by),
                payments::created_at.eq(to_db(at)),
                payments::updated_at.eq(to_db(at)),
                payments::expires_at.eq(to_db(at)),
                payments::finished_at.eq(Some(to_db(at))),
                payments::paid_at.eq(Some(to_db(at))),
                payments::corrected.eq(false),
                payments::check_attempts.eq(0),
                payments::applied_vnd.eq(0_i64),
            ))
            .execute(conn)?;
        diesel::insert_into(payment_events::table)
            .values((
                payment_events::payment_id.eq(c.id),
                payment_events::gateway.eq("counter"),
                payment_events::gateway_txn_no.eq(Some(c.receipt_number)),
                payment_events::kind.eq("counter_receipt"),
                payment_events::from_status.eq(PaymentStatus::Created.as_str()),
                payment_events::to_status.eq(PaymentStatus::Success.as_str()),
                payment_events::at.eq(to_db(at)),
            ))
            .execute(conn)?;
        let p = get(conn, c.id)?;
        settle_payment(conn, &p, at, false)?;
        let paid = get(conn, c.id)?;
        // Paid on the spot: `payment.paid` only (no attempt was ever open).
        announce(conn, &paid, None, at)?;
        Ok(Ok(paid))
    })
}
