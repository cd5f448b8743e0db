//! Background work on payments: expiring unfinished attempts (after asking the
//! gateway), re-querying pending ones with back-off, and the daily
//! reconciliation. Items are claimed before they are worked on, so several
//! server processes sharing one PostgreSQL process each item once.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use motcua_domain::calendar::WorkingCalendar;
use motcua_domain::payment::{FailureCode, Payment, PaymentStatus};
use motcua_domain::settlement::{backoff, target, verdict_name};
use motcua_domain::vnpay::Verdict;
use motcua_persistence::repo::payments::{
    self as repo, GatewayFacts, Job, OverpaidDossier, ReconciliationItem, ReconciliationRun,
    Transition,
};
use motcua_persistence::{AnyConnection, Pool};
use serde::Serialize;

use super::gateway::{Gateway, GatewayError, GatewayStatus};

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobReport {
    /// Attempts expired (the gateway knew of no payment).
    pub expired: usize,
    /// Attempts the gateway's answer settled (paid, declined, cancelled).
    pub settled: usize,
    /// Still without a final answer; asked again later.
    pub pending: usize,
    /// Gateway or database errors; the items are tried again next round.
    pub errors: usize,
}

const LEASE_SECS: i64 = 120;
const BATCH: i64 = 50;

fn apply(
    conn: &mut motcua_persistence::AnyConnection,
    gateway: &dyn Gateway,
    p: &Payment,
    status: &GatewayStatus,
    at: DateTime<Utc>,
) -> Result<bool, motcua_persistence::StoreError> {
    let Some(verdict) = status.verdict else {
        return Ok(false);
    };
    if verdict == Verdict::Paid && status.amount_vnd.is_some_and(|a| a != p.amount_vnd) {
        tracing::error!(payment = %p.id, alert = "amount_mismatch", "gateway reports another amount");
        return Ok(false);
    }
    let (to, code, kind) = target(verdict, "query");
    let facts = GatewayFacts {
        gateway: gateway.name().to_owned(),
        txn_no: status.txn_no.clone(),
        kind,
        bank_code: status.bank_code.clone(),
        paid_at: status.paid_at,
        detail: None,
    };
    match repo::transition(conn, &p.id, to, code, &facts, at)? {
        Transition::Corrected(p) => {
            tracing::error!(payment = %p.id, dossier = %p.dossier_code, surplus_vnd = p.surplus_vnd, alert = "late_payment", "payment succeeded after the attempt was closed");
            Ok(true)
        }
        Transition::Applied(p) => Ok(p.status.is_finished()),
        Transition::Repeat(_) | Transition::Refused(_) => Ok(true),
    }
}

/// Expires attempts past their time, asking the gateway first; re-queries
/// `submitted` ones that are due. Blocking.
pub fn run(
    pool: &Pool,
    gateway: &dyn Gateway,
    requery_after: Duration,
    at: DateTime<Utc>,
) -> JobReport {
    let mut report = JobReport::default();
    let Ok(mut conn) = pool.get() else {
        report.errors += 1;
        return report;
    };
    let lease = Duration::seconds(LEASE_SECS);
    match repo::claim(&mut conn, Job::Expiry, at, lease, BATCH) {
        Ok(items) => {
            for p in items {
                let outcome = match gateway.query(&p.txn_ref, p.created_at) {
                    Ok(status) => apply(&mut conn, gateway, &p, &status, at).map(|settled| {
                        if settled {
                            report.settled += 1;
                            true
                        } else if status.verdict == Some(Verdict::Held) {
                            report.pending += 1;
                            true
                        } else {
                            false
                        }
                    }),
                    Err(GatewayError::NotFound) => Ok(false),
                    Err(error) => {
                        tracing::warn!(payment = %p.id, %error, "status query before expiry failed");
                        report.errors += 1;
                        let _ = repo::release(&mut conn, &p.id);
                        continue;
                    }
                };
                match outcome {
                    Ok(true) => {}
                    Ok(false) => {
                        let facts = GatewayFacts {
                            gateway: gateway.name().to_owned(),
                            kind: "expired".into(),
                            ..Default::default()
                        };
                        match repo::transition(
                            &mut conn,
                            &p.id,
                            PaymentStatus::Failed,
                            Some(FailureCode::Expired),
                            &facts,
                            at,
                        ) {
                            Ok(Transition::Applied(_)) => report.expired += 1,
                            Ok(_) => {}
                            Err(error) => {
                                tracing::error!(payment = %p.id, %error, "expiry failed");
                                report.errors += 1;
                            }
                        }
                    }
                    Err(error) => {
                        tracing::error!(payment = %p.id, %error, "settling from a status query failed");
                        report.errors += 1;
                    }
                }
            }
        }
        Err(error) => {
            tracing::error!(%error, "claiming expired payments failed");
            report.errors += 1;
        }
    }
    match repo::claim(&mut conn, Job::Requery, at, lease, BATCH) {
        Ok(items) => {
            for p in items {
                let settled = match gateway.query(&p.txn_ref, p.created_at) {
                    Ok(status) if status.verdict != Some(Verdict::Held) => {
                        apply(&mut conn, gateway, &p, &status, at).unwrap_or(false)
                    }
                    Ok(_) | Err(GatewayError::NotFound) => false,
                    Err(error) => {
                        tracing::warn!(payment = %p.id, %error, "status query failed");
                        report.errors += 1;
                        false
                    }
                };
                if settled {
                    report.settled += 1;
                } else {
                    report.pending += 1;
                    let next = at + backoff(requery_after, p.check_attempts);
                    if let Err(error) = repo::schedule_requery(&mut conn, &p.id, next) {
                        tracing::error!(payment = %p.id, %error, "scheduling a status query failed");
                    }
                }
            }
        }
        Err(error) => {
            tracing::error!(%error, "claiming submitted payments failed");
            report.errors += 1;
        }
    }
    report
}

/// The instants bounding a local (UTC+7) calendar day.
pub fn day_bounds(day: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = WorkingCalendar::local_datetime(day, NaiveTime::MIN);
    (start, start + Duration::days(1))
}

/// Our online payments of a day against the gateway's: each `matched`,
/// `missing` (one side only, money involved) or `mismatch`. Money the gateway
/// took that we do not hold as settled is recorded now (still reported as a
/// mismatch for this run). Each dossier that received more than its fee is an
/// `overpaid` item of its own. Blocking.
pub fn reconcile(
    pool: &Pool,
    gateway: &dyn Gateway,
    day: NaiveDate,
    now: DateTime<Utc>,
) -> Result<ReconciliationRun, String> {
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let (from, to) = day_bounds(day);
    let ours = repo::online_between(&mut conn, from, to).map_err(|e| e.to_string())?;
    let theirs = gateway_side(gateway, &ours, from, to)?;
    let mut items: Vec<ReconciliationItem> = ours
        .iter()
        .map(|p| compare_ours(&mut conn, gateway, p, &theirs, now))
        .collect();
    items.extend(
        theirs
            .iter()
            .filter(|t| !ours.iter().any(|p| p.txn_ref == t.txn_ref))
            .map(gateway_only_item),
    );
    let overpaid =
        repo::overpaid_dossiers_between(&mut conn, from, to).map_err(|e| e.to_string())?;
    items.extend(overpaid.into_iter().map(overpaid_item));
    repo::store_reconciliation(&mut conn, day, &items, now).map_err(|e| e.to_string())
}

/// The gateway's transactions of the period: its own list when it has one,
/// otherwise one status query per payment of ours.
fn gateway_side(
    gateway: &dyn Gateway,
    ours: &[Payment],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<GatewayStatus>, String> {
    match gateway.transactions(from, to).map_err(|e| e.to_string())? {
        Some(list) => Ok(list),
        None => ours
            .iter()
            .filter_map(|p| match gateway.query(&p.txn_ref, p.created_at) {
                Ok(status) => Some(Ok(status)),
                Err(GatewayError::NotFound) => None,
                Err(e) => Some(Err(e.to_string())),
            })
            .collect(),
    }
}

/// One payment of ours against what the gateway says of it.
fn compare_ours(
    conn: &mut AnyConnection,
    gateway: &dyn Gateway,
    p: &Payment,
    theirs: &[GatewayStatus],
    now: DateTime<Utc>,
) -> ReconciliationItem {
    let found = theirs.iter().find(|t| t.txn_ref == p.txn_ref);
    let paid_here = p.status == PaymentStatus::Success;
    let (result, detail) = match found {
        None if paid_here => (
            "missing",
            Some("paid here, unknown at the gateway".to_owned()),
        ),
        None => ("matched", None),
        Some(t) => {
            let paid_there = t.verdict == Some(Verdict::Paid);
            if paid_here != paid_there {
                let mut detail = format!(
                    "status: ours {}, gateway {}",
                    p.status,
                    verdict_name(t.verdict)
                );
                if paid_there
                    && t.amount_vnd == Some(p.amount_vnd)
                    && record_late_payment(conn, gateway, p, t, now)
                {
                    detail.push_str("; recorded now");
                }
                ("mismatch", Some(detail))
            } else if paid_here && t.amount_vnd != Some(p.amount_vnd) {
                ("mismatch", Some("amount differs".to_owned()))
            } else {
                ("matched", None)
            }
        }
    };
    ReconciliationItem {
        txn_ref: p.txn_ref.clone(),
        payment_id: Some(p.id.clone()),
        result: result.to_owned(),
        our_status: Some(p.status.as_str().to_owned()),
        our_amount_vnd: Some(p.amount_vnd),
        gateway_status: found.map(|t| verdict_name(t.verdict).to_owned()),
        gateway_amount_vnd: found.and_then(|t| t.amount_vnd),
        detail,
    }
}

/// Money the gateway took that we do not hold as settled: recorded now.
/// True when the payment was applied (or corrected) by this call.
fn record_late_payment(
    conn: &mut AnyConnection,
    gateway: &dyn Gateway,
    p: &Payment,
    t: &GatewayStatus,
    now: DateTime<Utc>,
) -> bool {
    let facts = GatewayFacts {
        gateway: gateway.name().to_owned(),
        txn_no: t.txn_no.clone(),
        kind: "reconciliation_paid".into(),
        bank_code: t.bank_code.clone(),
        paid_at: t.paid_at,
        detail: Some("found at reconciliation".into()),
    };
    match repo::transition(conn, &p.id, PaymentStatus::Success, None, &facts, now) {
        Ok(Transition::Applied(_) | Transition::Corrected(_)) => {
            tracing::error!(payment = %p.id, dossier = %p.dossier_code, alert = "late_payment", "payment found at reconciliation, recorded");
            true
        }
        Ok(_) => false,
        Err(error) => {
            tracing::error!(payment = %p.id, %error, "recording a payment found at reconciliation failed");
            false
        }
    }
}

fn gateway_only_item(t: &GatewayStatus) -> ReconciliationItem {
    ReconciliationItem {
        txn_ref: t.txn_ref.clone(),
        payment_id: None,
        result: "missing".to_owned(),
        our_status: None,
        our_amount_vnd: None,
        gateway_status: Some(verdict_name(t.verdict).to_owned()),
        gateway_amount_vnd: t.amount_vnd,
        detail: Some("known at the gateway, not here".to_owned()),
    }
}

fn overpaid_item(d: OverpaidDossier) -> ReconciliationItem {
    ReconciliationItem {
        txn_ref: format!("dossier:{}", d.code),
        payment_id: d.surplus_payment_id,
        result: "overpaid".to_owned(),
        our_status: None,
        our_amount_vnd: Some(d.received_vnd),
        gateway_status: None,
        gateway_amount_vnd: None,
        detail: Some(format!(
            "received {} on {} due",
            d.received_vnd, d.fees_due_vnd
        )),
    }
}
