//! A payment's event trail and the gateway notifications kept.

use crate::schema::{gateway_notifications, payment_events};
use crate::time::{from_db, to_db};
use crate::{AnyConnection, StoreResult};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PaymentEvent {
    pub kind: String,
    pub from_status: String,
    pub to_status: String,
    pub gateway_txn_no: Option<String>,
    pub at: DateTime<Utc>,
}

pub fn events(conn: &mut AnyConnection, id: &str) -> StoreResult<Vec<PaymentEvent>> {
    let rows: Vec<(String, String, String, Option<String>, NaiveDateTime)> = payment_events::table
        .filter(payment_events::payment_id.eq(id))
        .order(payment_events::id.asc())
        .select((
            payment_events::kind,
            payment_events::from_status,
            payment_events::to_status,
            payment_events::gateway_txn_no,
            payment_events::at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(kind, from_status, to_status, gateway_txn_no, at)| PaymentEvent {
                kind,
                from_status,
                to_status,
                gateway_txn_no,
                at: from_db(at),
            },
        )
        .collect())
}

pub fn record_notification(
    conn: &mut AnyConnection,
    gateway: &str,
    raw: &str,
    txn_ref: Option<&str>,
    reply: &str,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    diesel::insert_into(gateway_notifications::table)
        .values((
            gateway_notifications::gateway.eq(gateway),
            gateway_notifications::raw_query.eq(raw),
            gateway_notifications::txn_ref.eq(txn_ref),
            gateway_notifications::reply_code.eq(reply),
            gateway_notifications::received_at.eq(to_db(at)),
        ))
        .execute(conn)?;
    Ok(())
}
