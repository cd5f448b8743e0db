//! The gateway's word: notifications (IPN) that settle payments, and the
//! browser's return, which only displays.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use motcua_domain::payment::{PaymentMethod, PaymentStatus};
use motcua_domain::settlement::target;
use motcua_domain::vnpay::{self, Reply, Verdict};
use motcua_persistence::repo::payments::{self as repo, GatewayFacts, Transition};
use motcua_persistence::{AnyConnection, StoreResult};

use super::gateway::Gateway;

/// Query parameters as sent; a repeated name keeps its first value.
pub fn parse(raw_query: &str) -> BTreeMap<String, String> {
    let mut params = BTreeMap::new();
    for (key, value) in form_urlencoded::parse(raw_query.as_bytes()) {
        params
            .entry(key.into_owned())
            .or_insert_with(|| value.into_owned());
    }
    params
}

/// The notification pipeline: keep the raw query, verify the signature, find
/// our reference, check merchant, amount and currency, apply the transition
/// once with its event, reply. A bad signature changes nothing.
pub fn handle(
    conn: &mut AnyConnection,
    gateway: &dyn Gateway,
    raw_query: &str,
    requery_after: Duration,
    now: DateTime<Utc>,
) -> Reply {
    let params = parse(raw_query);
    let reply = match decide(conn, gateway, &params, now, requery_after) {
        Ok(reply) => reply,
        Err(error) => {
            tracing::error!(%error, "payment notification failed");
            Reply::Unexpected
        }
    };
    let txn_ref = params.get("vnp_TxnRef").map(String::as_str);
    if let Err(error) =
        repo::record_notification(conn, gateway.name(), raw_query, txn_ref, reply.code(), now)
    {
        tracing::error!(%error, "could not keep the raw notification");
    }
    tracing::info!(
        txn_ref = txn_ref.unwrap_or(""),
        reply = reply.code(),
        "payment notification"
    );
    reply
}

fn decide(
    conn: &mut AnyConnection,
    gateway: &dyn Gateway,
    params: &BTreeMap<String, String>,
    now: DateTime<Utc>,
    requery_after: Duration,
) -> StoreResult<Reply> {
    if !vnpay::verify(params, gateway.secret())
        || params.get("vnp_TmnCode").map(String::as_str) != Some(gateway.tmn_code())
    {
        return Ok(Reply::BadSignature);
    }
    let get = |k: &str| params.get(k).map(String::as_str).unwrap_or("");
    let payment = match repo::by_txn_ref(conn, get("vnp_TxnRef"))? {
        Some(p) if p.method == PaymentMethod::Online && p.gateway == gateway.name() => p,
        _ => return Ok(Reply::OrderNotFound),
    };
    let amount_ok =
        get("vnp_Amount").parse::<i64>().ok() == vnpay::to_gateway_amount(payment.amount_vnd);
    let currency_ok = params.get("vnp_CurrCode").is_none_or(|c| c == "VND");
    if !amount_ok || !currency_ok {
        return Ok(Reply::AmountMismatch);
    }
    let verdict = vnpay::verdict(get("vnp_ResponseCode"), get("vnp_TransactionStatus"));
    let (to, code, kind) = target(verdict, "notification");
    let facts = GatewayFacts {
        gateway: gateway.name().to_owned(),
        txn_no: Some(get("vnp_TransactionNo").to_owned()).filter(|s| !s.is_empty()),
        kind,
        bank_code: Some(get("vnp_BankCode").to_owned()).filter(|s| !s.is_empty()),
        paid_at: (verdict == Verdict::Paid)
            .then(|| vnpay::parse_time(get("vnp_PayDate")))
            .flatten(),
        detail: Some(format!(
            "response {} / status {}",
            get("vnp_ResponseCode"),
            get("vnp_TransactionStatus")
        )),
    };
    Ok(
        match repo::transition(conn, &payment.id, to, code, &facts, now)? {
            Transition::Applied(p) => {
                if p.status == PaymentStatus::Submitted {
                    repo::schedule_requery(conn, &p.id, now + requery_after)?;
                }
                Reply::Accepted
            }
            Transition::Corrected(p) => {
                // Money arrived for an attempt we had closed: recorded (a surplus is
                // proposed for refund), and an operator must look.
                tracing::error!(payment = %p.id, dossier = %p.dossier_code, surplus_vnd = p.surplus_vnd, alert = "late_payment", "payment succeeded after the attempt was closed");
                Reply::Accepted
            }
            Transition::Repeat(_) | Transition::Refused(_) => Reply::AlreadyConfirmed,
        },
    )
}
