//! Fixed-window counters kept in the database, so that every server process
//! sharing it enforces the same limits.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;

use crate::schema::rate_limits;
use crate::time::{from_db, to_db};
use crate::{AnyConnection, StoreResult, insert_or_ignore, write_tx};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub hits: i32,
    pub resets_at: DateTime<Utc>,
}

/// Hits so far in the current window, without counting a new one.
pub fn current(
    conn: &mut AnyConnection,
    bucket: &str,
    subject: &str,
    window: Duration,
    at: DateTime<Utc>,
) -> StoreResult<Option<Window>> {
    let row: Option<(chrono::NaiveDateTime, i32)> = rate_limits::table
        .find((bucket, subject))
        .select((rate_limits::window_start, rate_limits::hits))
        .first(conn)
        .optional()?;
    Ok(row.and_then(|(start, hits)| {
        let resets_at = from_db(start) + window;
        (resets_at > at).then_some(Window { hits, resets_at })
    }))
}

/// Counts one hit, starting a new window when the old one has passed.
pub fn hit(
    conn: &mut AnyConnection,
    bucket: &str,
    subject: &str,
    window: Duration,
    at: DateTime<Utc>,
) -> StoreResult<Window> {
    write_tx(conn, |conn| add(conn, bucket, subject, 1, window, at))
}

/// Counts `hits` at once, in the caller's transaction.
fn add(
    conn: &mut AnyConnection,
    bucket: &str,
    subject: &str,
    hits: i32,
    window: Duration,
    at: DateTime<Utc>,
) -> StoreResult<Window> {
    insert_or_ignore!(
        &mut *conn,
        rate_limits::table,
        (
            rate_limits::bucket.eq(bucket),
            rate_limits::subject.eq(subject),
            rate_limits::window_start.eq(to_db(at)),
            rate_limits::hits.eq(0),
        )
    )?;
    let key = rate_limits::table.find((bucket, subject));
    diesel::update(key.filter(rate_limits::window_start.le(to_db(at - window))))
        .set((
            rate_limits::window_start.eq(to_db(at)),
            rate_limits::hits.eq(0),
        ))
        .execute(conn)?;
    diesel::update(key)
        .set(rate_limits::hits.eq(rate_limits::hits + hits))
        .execute(conn)?;
    let (start, hits): (chrono::NaiveDateTime, i32) = key
        .select((rate_limits::window_start, rate_limits::hits))
        .first(conn)?;
    Ok(Window {
        hits,
        resets_at: from_db(start) + window,
    })
}

/// Adds hits counted elsewhere (one process's since its last flush) in one
/// transaction, and returns every subject of the bucket over `limit` in its
/// current window, with when that window ends: the shared backstop of limits
/// kept in memory, written once per flush rather than once per request.
pub fn flush(
    conn: &mut AnyConnection,
    bucket: &str,
    counted: &[(String, i32)],
    limit: i32,
    window: Duration,
    at: DateTime<Utc>,
) -> StoreResult<Vec<(String, DateTime<Utc>)>> {
    write_tx(conn, |conn| {
        for (subject, hits) in counted {
            add(conn, bucket, subject, *hits, window, at)?;
        }
        let over: Vec<(String, chrono::NaiveDateTime)> = rate_limits::table
            .filter(rate_limits::bucket.eq(bucket))
            .filter(rate_limits::hits.gt(limit))
            .filter(rate_limits::window_start.gt(to_db(at - window)))
            .select((rate_limits::subject, rate_limits::window_start))
            .load(conn)?;
        Ok(over
            .into_iter()
            .map(|(subject, start)| (subject, from_db(start) + window))
            .collect())
    })
}

pub fn clear(conn: &mut AnyConnection, bucket: &str, subject: &str) -> StoreResult<()> {
    diesel::delete(rate_limits::table.find((bucket, subject))).execute(conn)?;
    Ok(())
}
