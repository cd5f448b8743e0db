//! Webhook subscriptions, their deliveries and the log of attempts. Storage
//! only: what to send, how to sign it, when to retry and when to switch a
//! subscription off are the caller's (the app's webhook worker).
//!
//! Two steps make a delivery, both safe with several processes on one
//! database:
//! - [`fan_out`]: for one subscription, in one transaction, the events after
//!   its cursor (with its filters) become deliveries (insert-or-ignore on
//!   `UNIQUE (subscription, event)`) and the cursor moves past them.
//! - [`claim_due`]: due deliveries are leased to one process. On PostgreSQL the
//!   subscriptions are picked `FOR UPDATE SKIP LOCKED` and a subscription with a
//!   delivery still under someone's lease is left alone, so one process at a
//!   time sends a subscription's deliveries, in feed order; on SQLite the write
//!   transaction serializes claimers. A lease left by a dead process is taken
//!   over once it has passed.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use motcua_domain::event::EventType;
use motcua_domain::webhook::SubscriptionStatus;

use crate::repo::events::Cursor;
use crate::schema::{events as ev, webhook_attempts, webhook_deliveries, webhook_subscriptions};
use crate::time::{from_db, to_db};
use crate::{AnyConnection, Backend, StoreError, StoreResult, parse_enum, write_tx};

/// A subscription to create.
#[derive(Debug, Clone)]
pub struct NewSubscription<'a> {
    pub owner_id: i64,
    pub url: &'a str,
    /// Empty: every type.
    pub event_types: &'a [EventType],
    /// Only this agency's events; `None`: everyone's.
    pub agency_id: Option<i64>,
    /// The secret's text (`whsec_…`).
    pub secret: &'a str,
    pub at: DateTime<Utc>,
}

/// A subscription as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub id: i64,
    pub owner_id: i64,
    pub url: String,
    pub event_types: Vec<EventType>,
    pub agency_id: Option<i64>,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<DateTime<Utc>>,
    pub status: SubscriptionStatus,
    pub disabled_reason: Option<String>,
    pub consecutive_failures: i32,
    pub failing_since: Option<DateTime<Utc>>,
    pub cursor: Cursor,
    pub created_at: DateTime<Utc>,
}

type SubscriptionRow = (
    i64,
    i64,
    String,
    String,
    Option<i64>,
    String,
    Option<String>,
    Option<chrono::NaiveDateTime>,
    String,
    Option<String>,
    i32,
    Option<chrono::NaiveDateTime>,
    i64,
    i64,
    chrono::NaiveDateTime,
);

macro_rules! subscription_columns {
    () => {
        (
            webhook_subscriptions::id,
            webhook_subscriptions::owner_id,
            webhook_subscriptions::url,
            webhook_subscriptions::event_types,
            webhook_subscriptions::agency_id,
            webhook_subscriptions::secret,
            webhook_subscriptions::previous_secret,
            webhook_subscriptions::previous_secret_until,
            webhook_subscriptions::status,
            webhook_subscriptions::disabled_reason,
            webhook_subscriptions::consecutive_failures,
            webhook_subscriptions::failing_since,
            webhook_subscriptions::cursor_tx,
            webhook_subscriptions::cursor_position,
            webhook_subscriptions::created_at,
        )
    };
}
macro_rules! delivery_columns {
    () => {
        (
            webhook_deliveries::id,
            webhook_deliveries::subscription_id,
            webhook_deliveries::event_id,
            webhook_deliveries::event_position,
            webhook_deliveries::status,
            webhook_deliveries::attempts,
            webhook_deliveries::next_attempt_at,
            webhook_deliveries::claimed_by,
            webhook_deliveries::lease_until,
            webhook_deliveries::created_at,
        )
    };
}

/// Ids of active subscriptions with a delivery due at `at` (on PostgreSQL
/// locked, skipping those another claimer holds).
macro_rules! due_subscriptions {
    ($conn:expr, $at:expr, $limit:expr $(, $lock:ident)*) => {{
        let due = webhook_deliveries::table
            .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()))
            .filter(webhook_deliveries::next_attempt_at.le($at))
            .select(webhook_deliveries::subscription_id);
        let ids: Vec<i64> = webhook_subscriptions::table
            .filter(webhook_subscriptions::status.eq(SubscriptionStatus::Active.as_str()))
            .filter(webhook_subscriptions::id.eq_any(due))
            .select(webhook_subscriptions::id)
            .order(webhook_subscriptions::id.asc())
            .limit($limit)
            $(.$lock())*
            .load($conn)?;
        ids
    }};
}

mod attempts;
mod deliveries;

pub use attempts::{
    AfterAttempt, Attempt, FailureRun, NewAttempt, attempts_by_status, attempts_of, deliveries_of,
    delivery_by_id, record_attempt, release, retry,
};
pub use deliveries::{Claimed, Delivery, EventToSend, claim_due, fan_out, oldest_unfanned};

fn subscription(row: SubscriptionRow) -> StoreResult<Subscription> {
    let (
        id,
        owner_id,
        url,
        types,
        agency_id,
        secret,
        previous_secret,
        previous_secret_until,
        status,
        disabled_reason,
        consecutive_failures,
        failing_since,
        cursor_tx,
        cursor_position,
        created_at,
    ) = row;
    let event_types = types
        .split_whitespace()
        .map(parse_enum)
        .collect::<StoreResult<Vec<EventType>>>()?;
    Ok(Subscription {
        id,
        owner_id,
        url,
        event_types,
        agency_id,
        secret,
        previous_secret,
        previous_secret_until: previous_secret_until.map(from_db),
        status: parse_enum(&status)?,
        disabled_reason,
        consecutive_failures,
        failing_since: failing_since.map(from_db),
        cursor: Cursor {
            tx: cursor_tx,
            position: cursor_position,
        },
        created_at: from_db(created_at),
    })
}

fn types_text(types: &[EventType]) -> String {
    types
        .iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The feed's cursor after the last event no late commit can get behind
/// (on PostgreSQL, below the oldest running transaction): a new subscription
/// starts there, so it hears of what happens from now on, and of nothing
/// committed before, nor misses an event of a transaction still running.
pub fn latest_cursor(conn: &mut AnyConnection) -> StoreResult<Cursor> {
    let mut query = ev::table
        .select((ev::tx, ev::position))
        .order((ev::tx.desc(), ev::position.desc()))
        .into_boxed();
    if conn.backend() == Backend::Postgres {
        query = query.filter(ev::tx.lt(diesel::dsl::sql::<diesel::sql_types::BigInt>(
            "pg_snapshot_xmin(pg_current_snapshot())::text::bigint",
        )));
    }
    let last: Option<(i64, i64)> = query.first(conn).optional()?;
    Ok(last.map_or(Cursor::START, |(tx, position)| Cursor { tx, position }))
}

/// Creates an active subscription following the feed from now on.
pub fn create(conn: &mut AnyConnection, new: &NewSubscription<'_>) -> StoreResult<Subscription> {
    write_tx(conn, |conn| {
        let cursor = latest_cursor(conn)?;
        let id: i64 = diesel::insert_into(webhook_subscriptions::table)
            .values((
                webhook_subscriptions::owner_id.eq(new.owner_id),
                webhook_subscriptions::url.eq(new.url),
                webhook_subscriptions::event_types.eq(types_text(new.event_types)),
                webhook_subscriptions::agency_id.eq(new.agency_id),
                webhook_subscriptions::secret.eq(new.secret),
                webhook_subscriptions::status.eq(SubscriptionStatus::Active.as_str()),
                webhook_subscriptions::consecutive_failures.eq(0),
                webhook_subscriptions::cursor_tx.eq(cursor.tx),
                webhook_subscriptions::cursor_position.eq(cursor.position),
                webhook_subscriptions::created_at.eq(to_db(new.at)),
            ))
            .returning(webhook_subscriptions::id)
            .get_result(conn)?;
        find(conn, id)?.ok_or_else(|| StoreError::corrupt("a new subscription vanished"))
    })
}

/// One subscription.
pub fn find(conn: &mut AnyConnection, id: i64) -> StoreResult<Option<Subscription>> {
    let row: Option<SubscriptionRow> = webhook_subscriptions::table
        .find(id)
        .select(subscription_columns!())
        .first(conn)
        .optional()?;
    row.map(subscription).transpose()
}

/// The subscriptions of one owner, or everyone's (`None`), oldest first.
pub fn list(conn: &mut AnyConnection, owner_id: Option<i64>) -> StoreResult<Vec<Subscription>> {
    let mut query = webhook_subscriptions::table
        .select(subscription_columns!())
        .order(webhook_subscriptions::id.asc())
        .into_boxed();
    if let Some(owner) = owner_id {
        query = query.filter(webhook_subscriptions::owner_id.eq(owner));
    }
    let rows: Vec<SubscriptionRow> = query.load(conn)?;
    rows.into_iter().map(subscription).collect()
}

/// The ids of the active subscriptions.
pub fn active_ids(conn: &mut AnyConnection) -> StoreResult<Vec<i64>> {
    Ok(webhook_subscriptions::table
        .filter(webhook_subscriptions::status.eq(SubscriptionStatus::Active.as_str()))
        .select(webhook_subscriptions::id)
        .order(webhook_subscriptions::id.asc())
        .load(conn)?)
}

/// Makes `secret` the signing secret; the one it replaces keeps signing too
/// until `previous_until`. False when there is no such subscription.
pub fn rotate_secret(
    conn: &mut AnyConnection,
    id: i64,
    secret: &str,
    previous_until: DateTime<Utc>,
) -> StoreResult<bool> {
    write_tx(conn, |conn| {
        let current: Option<String> = webhook_subscriptions::table
            .find(id)
            .select(webhook_subscriptions::secret)
            .first(conn)
            .optional()?;
        let Some(current) = current else {
            return Ok(false);
        };
        diesel::update(webhook_subscriptions::table.find(id))
            .set((
                webhook_subscriptions::secret.eq(secret),
                webhook_subscriptions::previous_secret.eq(Some(current)),
                webhook_subscriptions::previous_secret_until.eq(Some(to_db(previous_until))),
            ))
            .execute(conn)?;
        Ok(true)
    })
}

/// Switches a subscription on (its failure run starts over) or off with a
/// reason. Returns whether the status changed.
pub fn set_status(
    conn: &mut AnyConnection,
    id: i64,
    status: SubscriptionStatus,
    reason: Option<&str>,
) -> StoreResult<bool> {
    let target = webhook_subscriptions::table
        .find(id)
        .filter(webhook_subscriptions::status.ne(status.as_str()));
    let changed = match status {
        SubscriptionStatus::Active => diesel::update(target)
            .set((
                webhook_subscriptions::status.eq(status.as_str()),
                webhook_subscriptions::disabled_reason.eq(None::<String>),
                webhook_subscriptions::consecutive_failures.eq(0),
                webhook_subscriptions::failing_since.eq(None::<chrono::NaiveDateTime>),
            ))
            .execute(conn)?,
        SubscriptionStatus::Disabled => diesel::update(target)
            .set((
                webhook_subscriptions::status.eq(status.as_str()),
                webhook_subscriptions::disabled_reason.eq(reason),
            ))
            .execute(conn)?,
    };
    Ok(changed == 1)
}

/// Deletes a subscription with its deliveries and their log. False when
/// there was none.
pub fn delete(conn: &mut AnyConnection, id: i64) -> StoreResult<bool> {
    write_tx(conn, |conn| {
        let deliveries = webhook_deliveries::table
            .filter(webhook_deliveries::subscription_id.eq(id))
            .select(webhook_deliveries::id);
        diesel::delete(
            webhook_attempts::table.filter(webhook_attempts::delivery_id.eq_any(deliveries)),
        )
        .execute(conn)?;
        diesel::delete(
            webhook_deliveries::table.filter(webhook_deliveries::subscription_id.eq(id)),
        )
        .execute(conn)?;
        let gone = diesel::delete(webhook_subscriptions::table.find(id)).execute(conn)?;
        Ok(gone == 1)
    })
}
