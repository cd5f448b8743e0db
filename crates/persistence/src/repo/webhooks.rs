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
use diesel::dsl::exists;
use diesel::prelude::*;
use motcua_domain::access;
use motcua_domain::event::EventType;
use motcua_domain::webhook::{DeliveryStatus, SubscriptionStatus};

use crate::repo::events::{self, Cursor, FeedFilter};
use crate::repo::{integrations, users};
use crate::schema::{events as ev, webhook_attempts, webhook_deliveries, webhook_subscriptions};
use crate::time::{from_db, to_db};
use crate::{
    AnyConnection, Backend, StoreError, StoreResult, insert_or_ignore, parse_enum, write_tx,
};

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

/// What a subscription is sent: its types, within its owner's reach now
/// (grants may have been revoked since it subscribed) and its agency filter.
fn filter_of(conn: &mut AnyConnection, sub: &Subscription) -> StoreResult<FeedFilter> {
    // The owner's reach now (grants may have been revoked since it subscribed).
    let owner = users::by_id(conn, sub.owner_id)?;
    let granted: Vec<i64> = integrations::grants_of(conn, owner.id)?
        .into_iter()
        .map(|g| g.agency_id)
        .collect();
    let reach =
        access::event_reach(owner.role, &granted, sub.agency_id).unwrap_or(access::EventReach {
            agency_ids: Some(Vec::new()),
            with_unassigned: false,
        });
    Ok(FeedFilter {
        types: sub.event_types.clone(),
        agency_ids: reach.agency_ids,
        with_unassigned: reach.with_unassigned,
    })
}

/// When the oldest event not yet fanned out occurred: among the events each
/// active subscription is sent (its types, its owner's reach), the oldest
/// one after its cursor, committed, whether or not the feed's horizon lets
/// it through yet. `None` when every active subscription is caught up (or
/// there is none). Reads one subscription at a time (they are few).
pub fn oldest_unfanned(conn: &mut AnyConnection) -> StoreResult<Option<DateTime<Utc>>> {
    let mut oldest: Option<DateTime<Utc>> = None;
    for id in active_ids(conn)? {
        let Some(sub) = find(conn, id)? else {
            continue;
        };
        if sub.status != SubscriptionStatus::Active {
            continue;
        }
        let filter = filter_of(conn, &sub)?;
        if let Some(at) = events::oldest_after(conn, sub.cursor, &filter)? {
            oldest = Some(oldest.map_or(at, |o| o.min(at)));
        }
    }
    Ok(oldest)
}

/// The delivery log's attempts by answer status (`None`: no answer came),
/// for the metrics.
pub fn attempts_by_status(conn: &mut AnyConnection) -> StoreResult<Vec<(Option<i32>, i64)>> {
    Ok(webhook_attempts::table
        .group_by(webhook_attempts::status_code)
        .select((webhook_attempts::status_code, diesel::dsl::count_star()))
        .load(conn)?)
}

/// Queues, for one active subscription, up to `limit` events after its
/// cursor (with its filters), due at `at`, and moves the cursor past them, in
/// one transaction. Returns how many deliveries were queued; 0 when another
/// process is fanning this subscription out right now.
pub fn fan_out(
    conn: &mut AnyConnection,
    id: i64,
    at: DateTime<Utc>,
    limit: i64,
) -> StoreResult<usize> {
    write_tx(conn, |conn| {
        let active = webhook_subscriptions::table
            .find(id)
            .filter(webhook_subscriptions::status.eq(SubscriptionStatus::Active.as_str()))
            .select(webhook_subscriptions::id);
        let mine: Option<i64> = match &mut *conn {
            AnyConnection::Postgresql(pg) => {
                active.for_update().skip_locked().first(pg).optional()?
            }
            AnyConnection::Sqlite(lite) => active.first(lite).optional()?,
        };
        if mine.is_none() {
            return Ok(0);
        }
        let Some(sub) = find(conn, id)? else {
            return Ok(0);
        };
        let filter = filter_of(conn, &sub)?;
        let (found, next) = events::read_after(conn, sub.cursor, &filter, limit)?;
        let mut queued = 0;
        for event in &found {
            queued += insert_or_ignore!(
                &mut *conn,
                webhook_deliveries::table,
                (
                    webhook_deliveries::subscription_id.eq(id),
                    webhook_deliveries::event_id.eq(&event.id),
                    webhook_deliveries::event_position.eq(event.cursor.position),
                    webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()),
                    webhook_deliveries::attempts.eq(0),
                    webhook_deliveries::next_attempt_at.eq(to_db(at)),
                    webhook_deliveries::created_at.eq(to_db(at)),
                )
            )?;
        }
        if next != sub.cursor {
            diesel::update(webhook_subscriptions::table.find(id))
                .set((
                    webhook_subscriptions::cursor_tx.eq(next.tx),
                    webhook_subscriptions::cursor_position.eq(next.position),
                ))
                .execute(conn)?;
        }
        Ok(queued)
    })
}

/// The event a delivery carries, as the envelope needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventToSend {
    pub id: String,
    pub event_type: EventType,
    pub version: i32,
    pub subject: String,
    pub agency_id: Option<i64>,
    pub occurred_at: DateTime<Utc>,
    pub payload: String,
}

/// One delivery as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: i64,
    pub subscription_id: i64,
    pub event_id: String,
    pub event_position: i64,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub claimed_by: Option<String>,
    pub lease_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

type DeliveryRow = (
    i64,
    i64,
    String,
    i64,
    String,
    i32,
    chrono::NaiveDateTime,
    Option<String>,
    Option<chrono::NaiveDateTime>,
    chrono::NaiveDateTime,
);

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

fn delivery(row: DeliveryRow) -> StoreResult<Delivery> {
    let (id, subscription_id, event_id, event_position, status, attempts, next, by, lease, created) =
        row;
    Ok(Delivery {
        id,
        subscription_id,
        event_id,
        event_position,
        status: parse_enum(&status)?,
        attempts,
        next_attempt_at: from_db(next),
        claimed_by: by,
        lease_until: lease.map(from_db),
        created_at: from_db(created),
    })
}

/// A delivery leased to this process, with what it takes to send it.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub delivery: Delivery,
    pub subscription: Subscription,
    pub event: EventToSend,
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

/// Leases to `owner` until `at + lease` the due deliveries (up to
/// `per_subscription` each, in feed order) of up to `subscriptions`
/// subscriptions that no other process is sending to right now.
pub fn claim_due(
    conn: &mut AnyConnection,
    owner: &str,
    at: DateTime<Utc>,
    lease: chrono::Duration,
    subscriptions: i64,
    per_subscription: i64,
) -> StoreResult<Vec<Claimed>> {
    let now = to_db(at);
    let claimed_ids = write_tx(conn, |conn| {
        let subs = match &mut *conn {
            AnyConnection::Postgresql(pg) => {
                due_subscriptions!(pg, now, subscriptions, for_update, skip_locked)
            }
            AnyConnection::Sqlite(lite) => due_subscriptions!(lite, now, subscriptions),
        };
        let mut claimed = Vec::new();
        for sub in subs {
            // A delivery of this subscription still under a lease: its sender
            // is at work (or died and its lease has not passed); wait for it.
            let busy: bool = diesel::select(exists(
                webhook_deliveries::table
                    .filter(webhook_deliveries::subscription_id.eq(sub))
                    .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()))
                    .filter(webhook_deliveries::lease_until.ge(now)),
            ))
            .get_result(conn)?;
            if busy {
                continue;
            }
            let ids: Vec<i64> = webhook_deliveries::table
                .filter(webhook_deliveries::subscription_id.eq(sub))
                .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()))
                .filter(webhook_deliveries::next_attempt_at.le(now))
                .order(webhook_deliveries::id.asc())
                .limit(per_subscription)
                .select(webhook_deliveries::id)
                .load(conn)?;
            diesel::update(webhook_deliveries::table.filter(webhook_deliveries::id.eq_any(&ids)))
                .set((
                    webhook_deliveries::claimed_by.eq(Some(owner)),
                    webhook_deliveries::lease_until.eq(Some(to_db(at + lease))),
                ))
                .execute(conn)?;
            claimed.extend(ids);
        }
        Ok::<_, StoreError>(claimed)
    })?;
    if claimed_ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<DeliveryRow> = webhook_deliveries::table
        .filter(webhook_deliveries::id.eq_any(&claimed_ids))
        .order(webhook_deliveries::id.asc())
        .select(delivery_columns!())
        .load(conn)?;
    let mut found = Vec::with_capacity(rows.len());
    let mut subscriptions_seen: Vec<Subscription> = Vec::new();
    for row in rows {
        let delivery = delivery(row)?;
        let subscription = match subscriptions_seen
            .iter()
            .find(|s| s.id == delivery.subscription_id)
        {
            Some(known) => known.clone(),
            None => {
                let loaded = find(conn, delivery.subscription_id)?.ok_or_else(|| {
                    StoreError::corrupt(format!("delivery {} has no subscription", delivery.id))
                })?;
                subscriptions_seen.push(loaded.clone());
                loaded
            }
        };
        let event = event_to_send(conn, &delivery.event_id)?;
        found.push(Claimed {
            delivery,
            subscription,
            event,
        });
    }
    Ok(found)
}

fn event_to_send(conn: &mut AnyConnection, id: &str) -> StoreResult<EventToSend> {
    type Row = (
        String,
        String,
        i32,
        String,
        Option<i64>,
        chrono::NaiveDateTime,
        String,
    );
    let (id, event_type, version, subject, agency_id, occurred_at, payload): Row = ev::table
        .filter(ev::id.eq(id))
        .select((
            ev::id,
            ev::event_type,
            ev::version,
            ev::subject,
            ev::agency_id,
            ev::occurred_at,
            ev::payload,
        ))
        .first(conn)?;
    Ok(EventToSend {
        id,
        event_type: parse_enum(&event_type)?,
        version,
        subject,
        agency_id,
        occurred_at: from_db(occurred_at),
        payload,
    })
}

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
