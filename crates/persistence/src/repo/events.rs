//! The outbox: events appended in the caller's transaction, and the change
//! feed read back in an order no late commit can get behind (migration 000020
//! explains the PostgreSQL horizon). Storage only: which change makes which
//! event, and its payload, are the caller's.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use motcua_domain::event::{EventType, SubjectKind};

use crate::schema::{events, notification_feed};
use crate::time::{from_db, to_db};
use crate::{AnyConnection, Backend, StoreError, StoreResult, insert_or_ignore};

/// An event to append.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    /// Stable public id (a UUID), the receivers' de-duplication key.
    pub id: &'a str,
    pub event_type: EventType,
    pub version: i32,
    pub subject: &'a str,
    pub agency_id: Option<i64>,
    pub occurred_at: DateTime<Utc>,
    /// The payload as JSON text.
    pub payload: &'a str,
}

/// Appends one event. Call it inside the transaction that makes the change,
/// so both commit or neither does.
pub fn append(conn: &mut AnyConnection, event: &NewEvent<'_>) -> StoreResult<()> {
    diesel::insert_into(events::table)
        .values((
            events::id.eq(event.id),
            events::event_type.eq(event.event_type.as_str()),
            events::version.eq(event.version),
            events::subject_kind.eq(event.event_type.subject_kind().as_str()),
            events::subject.eq(event.subject),
            events::agency_id.eq(event.agency_id),
            events::occurred_at.eq(to_db(event.occurred_at)),
            events::payload.eq(event.payload),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records one event with its typed payload, in the caller's transaction:
/// the one place an event's id (a fresh UUID), payload version and JSON text
/// are made. Returns the event's id.
pub fn record<T: serde::Serialize>(
    conn: &mut AnyConnection,
    event_type: EventType,
    subject: &str,
    agency_id: Option<i64>,
    occurred_at: DateTime<Utc>,
    data: &T,
) -> StoreResult<String> {
    let payload = serde_json::to_string(data)
        .map_err(|e| StoreError::Corrupt(format!("event payload of {event_type}: {e}")))?;
    let id = uuid::Uuid::new_v4().to_string();
    append(
        conn,
        &NewEvent {
            id: &id,
            event_type,
            version: i32::from(motcua_domain::event::FIRST_VERSION),
            subject,
            agency_id,
            occurred_at,
            payload: &payload,
        },
    )?;
    Ok(id)
}

/// A place in the feed: after the event at (`tx`, `position`). Written as
/// `tx-position`; clients treat it as opaque.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Cursor {
    pub tx: i64,
    pub position: i64,
}

impl Cursor {
    /// Before the first event.
    pub const START: Cursor = Cursor { tx: 0, position: 0 };
}

/// The cursor of the outbox reader `feed` (a `notification_feed` row: the
/// notification and portal workers), its row locked until the caller's
/// transaction ends (PostgreSQL `FOR UPDATE`; SQLite's write transaction holds
/// the database). Call inside `write_tx`.
pub fn lock_feed_cursor(conn: &mut AnyConnection, feed: &str) -> StoreResult<Cursor> {
    let query = notification_feed::table.find(feed).select((
        notification_feed::cursor_tx,
        notification_feed::cursor_position,
    ));
    let found: Option<(i64, i64)> = match &mut *conn {
        AnyConnection::Postgresql(pg) => query.for_update().first(pg).optional()?,
        AnyConnection::Sqlite(lite) => query.first(lite).optional()?,
    };
    if let Some((tx, position)) = found {
        return Ok(Cursor { tx, position });
    }
    insert_or_ignore!(
        &mut *conn,
        notification_feed::table,
        (
            notification_feed::name.eq(feed),
            notification_feed::cursor_tx.eq(0_i64),
            notification_feed::cursor_position.eq(0_i64),
        )
    )?;
    Ok(Cursor::START)
}

/// Moves the cursor of `feed` (in the transaction of [`lock_feed_cursor`]).
pub fn set_feed_cursor(conn: &mut AnyConnection, feed: &str, cursor: Cursor) -> StoreResult<()> {
    diesel::update(notification_feed::table.find(feed))
        .set((
            notification_feed::cursor_tx.eq(cursor.tx),
            notification_feed::cursor_position.eq(cursor.position),
        ))
        .execute(conn)?;
    Ok(())
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.tx, self.position)
    }
}

/// A cursor that was not written by [`Cursor`]'s `Display`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a feed cursor")]
pub struct BadCursor;

impl FromStr for Cursor {
    type Err = BadCursor;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (tx, position) = s.split_once('-').ok_or(BadCursor)?;
        let tx: i64 = tx.parse().map_err(|_| BadCursor)?;
        let position: i64 = position.parse().map_err(|_| BadCursor)?;
        if tx < 0 || position < 0 {
            return Err(BadCursor);
        }
        Ok(Cursor { tx, position })
    }
}

/// One event as stored, with its place in the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub cursor: Cursor,
    pub id: String,
    pub event_type: EventType,
    pub version: i32,
    pub subject_kind: SubjectKind,
    pub subject: String,
    pub agency_id: Option<i64>,
    pub occurred_at: DateTime<Utc>,
    pub payload: String,
}

/// Which events a reader wants; empty lists mean all.
#[derive(Debug, Clone, Default)]
pub struct FeedFilter {
    pub types: Vec<EventType>,
    /// Only events of these agencies (a scoped reader); `None` is everyone's.
    pub agency_ids: Option<Vec<i64>>,
    /// With `agency_ids`, also the events that belong to no agency (catalog
    /// changes of province-wide procedures).
    pub with_unassigned: bool,
}

type Row = (
    i64,
    i64,
    String,
    String,
    i32,
    String,
    String,
    Option<i64>,
    chrono::NaiveDateTime,
    String,
);

/// The events after `after` that `filter` keeps (no visibility horizon).
fn matching<'a, ST: 'a>(
    query: events::BoxedQuery<'a, crate::db::Db, ST>,
    after: Cursor,
    filter: &FeedFilter,
) -> events::BoxedQuery<'a, crate::db::Db, ST> {
    // (tx, position) > (after.tx, after.position), spelled for both backends.
    let mut query = query.filter(
        events::tx.gt(after.tx).or(events::tx
            .eq(after.tx)
            .and(events::position.gt(after.position))),
    );
    if !filter.types.is_empty() {
        let types: Vec<&'static str> = filter.types.iter().map(|t| t.as_str()).collect();
        query = query.filter(events::event_type.eq_any(types));
    }
    match (&filter.agency_ids, filter.with_unassigned) {
        (None, _) => {}
        (Some(agencies), false) => {
            query = query.filter(events::agency_id.eq_any(agencies.clone()));
        }
        (Some(agencies), true) => {
            query = query.filter(
                events::agency_id
                    .eq_any(agencies.clone())
                    .or(events::agency_id.is_null()),
            );
        }
    }
    query
}

/// Up to `limit` events after `after`, oldest first, that can no longer be
/// overtaken: on PostgreSQL only those written by transactions older than
/// every transaction still running. Returns them and the cursor to continue
/// from (unchanged when nothing new is visible yet).
pub fn read_after(
    conn: &mut AnyConnection,
    after: Cursor,
    filter: &FeedFilter,
    limit: i64,
) -> StoreResult<(Vec<StoredEvent>, Cursor)> {
    let mut query = matching(
        events::table
            .select((
                events::tx,
                events::position,
                events::id,
                events::event_type,
                events::version,
                events::subject_kind,
                events::subject,
                events::agency_id,
                events::occurred_at,
                events::payload,
            ))
            .into_boxed(),
        after,
        filter,
    )
    .order((events::tx.asc(), events::position.asc()))
    .limit(limit);
    if conn.backend() == Backend::Postgres {
        query = query.filter(events::tx.lt(sql::<BigInt>(
            "pg_snapshot_xmin(pg_current_snapshot())::text::bigint",
        )));
    }
    let rows: Vec<Row> = query.load(conn)?;
    let mut next = after;
    let mut found = Vec::with_capacity(rows.len());
    for row in rows {
        let event = stored(row)?;
        next = event.cursor;
        found.push(event);
    }
    Ok((found, next))
}

/// When the oldest committed event after `after` that `filter` keeps
/// occurred, whether or not the feed's horizon lets it through yet (an
/// event held back by a long transaction is late all the same).
pub fn oldest_after(
    conn: &mut AnyConnection,
    after: Cursor,
    filter: &FeedFilter,
) -> StoreResult<Option<DateTime<Utc>>> {
    let oldest: Option<chrono::NaiveDateTime> = matching(
        events::table
            .select(diesel::dsl::min(events::occurred_at))
            .into_boxed(),
        after,
        filter,
    )
    .first(conn)?;
    Ok(oldest.map(from_db))
}

/// How many events the outbox holds.
pub fn count(conn: &mut AnyConnection) -> StoreResult<i64> {
    Ok(events::table.count().get_result(conn)?)
}

fn stored(row: Row) -> StoreResult<StoredEvent> {
    let (tx, position, id, event_type, version, subject_kind, subject, agency_id, at, payload) =
        row;
    let corrupt = |what: &str, value: &str| StoreError::Corrupt(format!("events.{what}: {value}"));
    Ok(StoredEvent {
        cursor: Cursor { tx, position },
        event_type: event_type
            .parse()
            .map_err(|_| corrupt("event_type", &event_type))?,
        subject_kind: subject_kind
            .parse()
            .map_err(|_| corrupt("subject_kind", &subject_kind))?,
        id,
        version,
        subject,
        agency_id,
        occurred_at: from_db(at),
        payload,
    })
}

/// The events about one subject, oldest first (a dossier's own history).
pub fn of_subject(
    conn: &mut AnyConnection,
    kind: SubjectKind,
    subject: &str,
) -> StoreResult<Vec<StoredEvent>> {
    let rows: Vec<Row> = events::table
        .select((
            events::tx,
            events::position,
            events::id,
            events::event_type,
            events::version,
            events::subject_kind,
            events::subject,
            events::agency_id,
            events::occurred_at,
            events::payload,
        ))
        .filter(events::subject_kind.eq(kind.as_str()))
        .filter(events::subject.eq(subject))
        .order(events::position.asc())
        .load(conn)?;
    rows.into_iter().map(stored).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_anything_else() {
        let cursor = Cursor {
            tx: 7_001,
            position: 42,
        };
        assert_eq!(cursor.to_string(), "7001-42");
        assert_eq!("7001-42".parse(), Ok(cursor));
        assert_eq!("0-0".parse(), Ok(Cursor::START));
        for bad in ["", "7", "7-", "-1-2", "a-b", "1-2-3", "1--2", " 1-2"] {
            assert_eq!(bad.parse::<Cursor>(), Err(BadCursor), "{bad:?}");
        }
        assert!(Cursor { tx: 1, position: 9 } < Cursor { tx: 2, position: 1 });
    }
}
