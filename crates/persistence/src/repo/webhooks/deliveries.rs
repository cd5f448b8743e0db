//! Fan-out of events into deliveries, and claiming the due ones.

use chrono::{DateTime, Utc};
use diesel::dsl::exists;
use diesel::prelude::*;
use motcua_domain::access;
use motcua_domain::event::EventType;
use motcua_domain::webhook::{DeliveryStatus, SubscriptionStatus};

use super::{Subscription, find};
use crate::repo::events::{self, FeedFilter};
use crate::repo::{integrations, users};
use crate::schema::{events as ev, webhook_deliveries, webhook_subscriptions};
use crate::time::{from_db, to_db};
use crate::{AnyConnection, StoreError, StoreResult, insert_or_ignore, parse_enum, write_tx};

/// What a subscription is sent: its types, within its owner's reach now
/// (grants may have been revoked since it subscribed) and its agency filter.
fn filter_of(conn: &mut AnyConnection, sub: &Subscription) -> StoreResult<FeedFilter> {
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
    for id in super::active_ids(conn)? {
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

pub(super) type DeliveryRow = (
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

pub(super) fn delivery(row: DeliveryRow) -> StoreResult<Delivery> {
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

pub(super) fn event_to_send(conn: &mut AnyConnection, id: &str) -> StoreResult<EventToSend> {
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
