//! Overpayments: money received beyond a dossier's fee.

use super::{load, refunds_of};
use crate::schema::{dossiers, payments};
use crate::time::to_db;
use crate::{AnyConnection, StoreResult};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use motcua_domain::payment::{PaymentMethod, PaymentStatus, RefundStatus};
use serde::Serialize;

/// A successful payment whose money was not (all) counted toward its
/// dossier's fee: the surplus must go back to the payer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Overpayment {
    pub payment_id: String,
    pub dossier_code: String,
    pub method: PaymentMethod,
    pub amount_vnd: i64,
    pub applied_vnd: i64,
    pub surplus_vnd: i64,
    pub fees_due_vnd: i64,
    pub fees_paid_vnd: i64,
    /// Whether it came after we had closed the attempt.
    pub corrected: bool,
    pub paid_at: Option<DateTime<Utc>>,
    /// The refund of the surplus (the system's proposal, or what became of it).
    pub refund_id: Option<String>,
    pub refund_status: Option<RefundStatus>,
    /// Surplus refunded successfully so far.
    pub refunded_vnd: i64,
    /// Surplus not yet given back.
    pub unresolved_vnd: i64,
}

/// Every overpayment, unresolved first, newest first. Read now, from the
/// payments themselves, not from the last reconciliation.
pub fn overpayments(conn: &mut AnyConnection) -> StoreResult<Vec<Overpayment>> {
    let found = load(
        conn,
        payments::table
            .filter(payments::status.eq(PaymentStatus::Success.as_str()))
            .filter(payments::applied_vnd.lt(payments::amount_vnd))
            .order((payments::created_at.desc(), payments::id.asc()))
            .into_boxed(),
    )?;
    let mut out = Vec::with_capacity(found.len());
    for p in found {
        let (due, paid): (i64, i64) = dossiers::table
            .find(p.dossier_id)
            .select((dossiers::fees_due_vnd, dossiers::fees_paid_vnd))
            .first(conn)?;
        let refunds = refunds_of(conn, &p.id)?;
        let refunded: i64 = refunds
            .iter()
            .filter(|r| r.status == RefundStatus::Success)
            .map(|r| r.amount_vnd)
            .sum();
        let refund = refunds
            .iter()
            .rev()
            .find(|r| r.created_by.is_none())
            .or(refunds.last());
        out.push(Overpayment {
            payment_id: p.id.clone(),
            dossier_code: p.dossier_code.clone(),
            method: p.method,
            amount_vnd: p.amount_vnd,
            applied_vnd: p.applied_vnd,
            surplus_vnd: p.surplus_vnd,
            fees_due_vnd: due,
            fees_paid_vnd: paid,
            corrected: p.corrected,
            paid_at: p.paid_at,
            refund_id: refund.map(|r| r.id.clone()),
            refund_status: refund.map(|r| r.status),
            refunded_vnd: refunded.min(p.surplus_vnd),
            unresolved_vnd: (p.surplus_vnd - refunded).max(0),
        });
    }
    out.sort_by_key(|o| o.unresolved_vnd == 0);
    Ok(out)
}

/// Unresolved overpayments: how many, and how much money (for the gauges).
pub fn overpaid_totals(conn: &mut AnyConnection) -> StoreResult<(i64, i64)> {
    let open: Vec<Overpayment> = overpayments(conn)?
        .into_iter()
        .filter(|o| o.unresolved_vnd > 0)
        .collect();
    let count = i64::try_from(open.len()).unwrap_or(i64::MAX);
    Ok((count, open.iter().map(|o| o.unresolved_vnd).sum()))
}

/// Money the dossier received beyond its fee (surpluses of its payments).
pub fn surplus_of_dossier(conn: &mut AnyConnection, dossier_id: i64) -> StoreResult<i64> {
    let rows: Vec<(i64, i64)> = payments::table
        .filter(payments::dossier_id.eq(dossier_id))
        .filter(payments::status.eq(PaymentStatus::Success.as_str()))
        .select((payments::amount_vnd, payments::applied_vnd))
        .load(conn)?;
    Ok(rows.iter().map(|(a, applied)| (a - applied).max(0)).sum())
}

/// A dossier that received more than its fee, all routes together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverpaidDossier {
    pub code: String,
    pub fees_due_vnd: i64,
    pub received_vnd: i64,
    /// A payment holding the surplus.
    pub surplus_payment_id: Option<String>,
}

/// Dossiers with a payment created between two instants that received more
/// than their fee.
pub fn overpaid_dossiers_between(
    conn: &mut AnyConnection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> StoreResult<Vec<OverpaidDossier>> {
    let ids: Vec<i64> = payments::table
        .filter(payments::created_at.ge(to_db(from)))
        .filter(payments::created_at.lt(to_db(to)))
        .select(payments::dossier_id)
        .distinct()
        .load(conn)?;
    let mut out = Vec::new();
    for id in ids {
        let (code, due): (String, i64) = dossiers::table
            .find(id)
            .select((dossiers::code, dossiers::fees_due_vnd))
            .first(conn)?;
        let paid: Vec<(String, i64, i64)> = payments::table
            .filter(payments::dossier_id.eq(id))
            .filter(payments::status.eq(PaymentStatus::Success.as_str()))
            .order(payments::created_at.asc())
            .select((payments::id, payments::amount_vnd, payments::applied_vnd))
            .load(conn)?;
        let received: i64 = paid.iter().map(|p| p.1).sum();
        if received > due {
            let surplus = paid.iter().find(|p| p.2 < p.1).map(|p| p.0.clone());
            out.push(OverpaidDossier {
                code,
                fees_due_vnd: due,
                received_vnd: received,
                surplus_payment_id: surplus,
            });
        }
    }
    Ok(out)
}
