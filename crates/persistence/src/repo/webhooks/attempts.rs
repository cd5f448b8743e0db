//! Attempts at a delivery: recorded, released, retried, listed.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use motcua_domain::webhook::{DeliveryStatus, SubscriptionStatus};

use super::Delivery;
use super::deliveries::{DeliveryRow, delivery};
use crate::schema::{webhook_attempts, webhook_deliveries, webhook_subscriptions};
use crate::time::{from_db, to_db};
use crate::{AnyConnection, StoreResult, parse_enum};

/// One attempt to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAttempt<'a> {
    pub at: DateTime<Utc>,
    pub status_code: Option<i32>,
    pub latency_ms: i64,
    pub response_excerpt: Option<&'a str>,
    pub error: Option<&'a str>,
}

/// What becomes of the delivery after the attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterAttempt {
    Delivered,
    RetryAt(DateTime<Utc>),
    /// Every attempt spent.
    Failed,
}

/// The subscription's run of failures after an attempt was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureRun {
    pub subscription_id: i64,
    pub status: SubscriptionStatus,
    pub consecutive_failures: i32,
    pub failing_since: Option<DateTime<Utc>>,
}

/// Records the owner's attempt of a delivery, settles the delivery and
/// updates the subscription's run of failures (reset by a success), in the
/// caller's transaction. `None` when the delivery is no longer the owner's
/// (its lease passed and another process took it over): nothing is written.
pub fn record_attempt(
    conn: &mut AnyConnection,
    delivery_id: i64,
    owner: &str,
    attempt: &NewAttempt<'_>,
    after: AfterAttempt,
) -> StoreResult<Option<FailureRun>> {
    let mine = webhook_deliveries::table
        .find(delivery_id)
        .filter(webhook_deliveries::claimed_by.eq(owner))
        .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()));
    let current: Option<(i64, i32, chrono::NaiveDateTime)> = mine
        .select((
            webhook_deliveries::subscription_id,
            webhook_deliveries::attempts,
            webhook_deliveries::next_attempt_at,
        ))
        .first(conn)
        .optional()?;
    let Some((subscription_id, attempts, next_attempt_at)) = current else {
        return Ok(None);
    };
    let (status, next) = match after {
        AfterAttempt::Delivered => (DeliveryStatus::Delivered, next_attempt_at),
        AfterAttempt::RetryAt(when) => (DeliveryStatus::Pending, to_db(when)),
        AfterAttempt::Failed => (DeliveryStatus::Failed, next_attempt_at),
    };
    let updated = diesel::update(mine)
        .set((
            webhook_deliveries::status.eq(status.as_str()),
            webhook_deliveries::attempts.eq(attempts + 1),
            webhook_deliveries::next_attempt_at.eq(next),
            webhook_deliveries::claimed_by.eq(None::<String>),
            webhook_deliveries::lease_until.eq(None::<chrono::NaiveDateTime>),
        ))
        .execute(conn)?;
    if updated != 1 {
        return Ok(None);
    }
    diesel::insert_into(webhook_attempts::table)
        .values((
            webhook_attempts::delivery_id.eq(delivery_id),
            webhook_attempts::attempt.eq(attempts + 1),
            webhook_attempts::at.eq(to_db(attempt.at)),
            webhook_attempts::status_code.eq(attempt.status_code),
            webhook_attempts::latency_ms.eq(attempt.latency_ms),
            webhook_attempts::response_excerpt.eq(attempt.response_excerpt),
            webhook_attempts::error.eq(attempt.error),
            webhook_attempts::instance.eq(owner),
        ))
        .execute(conn)?;
    let sub = webhook_subscriptions::table.find(subscription_id);
    let (status, failures, since): (String, i32, Option<chrono::NaiveDateTime>) = sub
        .select((
            webhook_subscriptions::status,
            webhook_subscriptions::consecutive_failures,
            webhook_subscriptions::failing_since,
        ))
        .first(conn)?;
    // One process at a time sends to a subscription (see `claim_due`), so
    // nobody else moves its failure run meanwhile.
    let (failures, since) = if after == AfterAttempt::Delivered {
        (0, None)
    } else {
        (failures + 1, Some(since.unwrap_or(to_db(attempt.at))))
    };
    diesel::update(sub)
        .set((
            webhook_subscriptions::consecutive_failures.eq(failures),
            webhook_subscriptions::failing_since.eq(since),
        ))
        .execute(conn)?;
    Ok(Some(FailureRun {
        subscription_id,
        status: parse_enum(&status)?,
        consecutive_failures: failures,
        failing_since: since.map(from_db),
    }))
}

/// The deliveries of a subscription, newest first, up to `limit`.
pub fn deliveries_of(
    conn: &mut AnyConnection,
    subscription_id: i64,
    limit: i64,
) -> StoreResult<Vec<Delivery>> {
    let rows: Vec<DeliveryRow> = webhook_deliveries::table
        .filter(webhook_deliveries::subscription_id.eq(subscription_id))
        .order(webhook_deliveries::id.desc())
        .limit(limit)
        .select(delivery_columns!())
        .load(conn)?;
    rows.into_iter().map(delivery).collect()
}

/// Gives back the owner's claim of a delivery it did not send (its
/// subscription was switched off meanwhile).
pub fn release(conn: &mut AnyConnection, id: i64, owner: &str) -> StoreResult<()> {
    diesel::update(
        webhook_deliveries::table
            .find(id)
            .filter(webhook_deliveries::claimed_by.eq(owner)),
    )
    .set((
        webhook_deliveries::claimed_by.eq(None::<String>),
        webhook_deliveries::lease_until.eq(None::<chrono::NaiveDateTime>),
    ))
    .execute(conn)?;
    Ok(())
}

/// One delivery.
pub fn delivery_by_id(conn: &mut AnyConnection, id: i64) -> StoreResult<Option<Delivery>> {
    let row: Option<DeliveryRow> = webhook_deliveries::table
        .find(id)
        .select(delivery_columns!())
        .first(conn)
        .optional()?;
    row.map(delivery).transpose()
}

/// Queues a delivery again now (manual redelivery), unless a process holds
/// it. False when there is no such delivery or it is being sent.
pub fn retry(conn: &mut AnyConnection, id: i64, at: DateTime<Utc>) -> StoreResult<bool> {
    let now = to_db(at);
    let updated = diesel::update(
        webhook_deliveries::table.find(id).filter(
            webhook_deliveries::lease_until
                .is_null()
                .or(webhook_deliveries::lease_until.lt(now)),
        ),
    )
    .set((
        webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()),
        webhook_deliveries::next_attempt_at.eq(now),
        webhook_deliveries::claimed_by.eq(None::<String>),
        webhook_deliveries::lease_until.eq(None::<chrono::NaiveDateTime>),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

/// One attempt as logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub delivery_id: i64,
    pub attempt: i32,
    pub at: DateTime<Utc>,
    pub status_code: Option<i32>,
    pub latency_ms: i64,
    pub response_excerpt: Option<String>,
    pub error: Option<String>,
    pub instance: String,
}

/// The attempts of a delivery, first first.
pub fn attempts_of(conn: &mut AnyConnection, delivery_id: i64) -> StoreResult<Vec<Attempt>> {
    type Row = (
        i64,
        i32,
        chrono::NaiveDateTime,
        Option<i32>,
        i64,
        Option<String>,
        Option<String>,
        String,
    );
    let rows: Vec<Row> = webhook_attempts::table
        .filter(webhook_attempts::delivery_id.eq(delivery_id))
        .order(webhook_attempts::attempt.asc())
        .select((
            webhook_attempts::delivery_id,
            webhook_attempts::attempt,
            webhook_attempts::at,
            webhook_attempts::status_code,
            webhook_attempts::latency_ms,
            webhook_attempts::response_excerpt,
            webhook_attempts::error,
            webhook_attempts::instance,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(delivery_id, attempt, at, status_code, latency_ms, excerpt, error, instance)| {
                Attempt {
                    delivery_id,
                    attempt,
                    at: from_db(at),
                    status_code,
                    latency_ms,
                    response_excerpt: excerpt,
                    error,
                    instance,
                }
            },
        )
        .collect())
}

/// The delivery log's attempts by answer status (`None`: no answer came),
/// for the metrics.
pub fn attempts_by_status(conn: &mut AnyConnection) -> StoreResult<Vec<(Option<i32>, i64)>> {
    Ok(webhook_attempts::table
        .group_by(webhook_attempts::status_code)
        .select((webhook_attempts::status_code, diesel::dsl::count_star()))
        .load(conn)?)
}
