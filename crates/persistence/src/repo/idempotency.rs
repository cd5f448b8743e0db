//! `Idempotency-Key` records: the first request with a key claims it; the
//! response is stored in the same transaction as the work it describes.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;

use crate::schema::idempotency_keys;
use crate::time::{from_db, to_db};
use crate::{AnyConnection, StoreResult, insert_or_ignore, write_tx};

/// Keys are kept this long.
pub const KEY_LIFETIME: Duration = Duration::hours(24);
/// An in-flight claim older than this is taken to be abandoned (its process died).
pub const ABANDONED_AFTER: Duration = Duration::seconds(60);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key is ours: do the work, then [`complete`] (or [`release`] on failure).
    Claimed,
    /// Done before with the same request: here is what was answered.
    Replay {
        status: u16,
        body: String,
        resource_id: Option<String>,
    },
    /// Used before with a different request.
    Mismatch,
    /// Another request with this key is being processed right now.
    InFlight,
}

/// Claims a key in a transaction of its own (see [`claim_in_tx`]).
pub fn claim(
    conn: &mut AnyConnection,
    caller: &str,
    key: &str,
    fingerprint: &str,
    at: DateTime<Utc>,
) -> StoreResult<Claim> {
    write_tx(conn, |conn| claim_in_tx(conn, caller, key, fingerprint, at))
}

/// Claims a key in the caller's write transaction, e.g. the one doing the
/// work: a concurrent claim of the same key waits for it to end.
pub fn claim_in_tx(
    conn: &mut AnyConnection,
    caller: &str,
    key: &str,
    fingerprint: &str,
    at: DateTime<Utc>,
) -> StoreResult<Claim> {
    {
        // Expired keys and abandoned claims make room for a new claim.
        diesel::delete(
            idempotency_keys::table
                .filter(idempotency_keys::caller.eq(caller))
                .filter(idempotency_keys::key.eq(key))
                .filter(
                    idempotency_keys::created_at
                        .lt(to_db(at - KEY_LIFETIME))
                        .or(idempotency_keys::state
                            .eq("in_flight")
                            .and(idempotency_keys::created_at.lt(to_db(at - ABANDONED_AFTER)))),
                ),
        )
        .execute(conn)?;
        let inserted = insert_or_ignore!(
            &mut *conn,
            idempotency_keys::table,
            (
                idempotency_keys::caller.eq(caller),
                idempotency_keys::key.eq(key),
                idempotency_keys::fingerprint.eq(fingerprint),
                idempotency_keys::state.eq("in_flight"),
                idempotency_keys::created_at.eq(to_db(at)),
            )
        )?;
        if inserted == 1 {
            return Ok(Claim::Claimed);
        }
        let (stored, state, status, body, resource): (
            String,
            String,
            Option<i32>,
            Option<String>,
            Option<String>,
        ) = idempotency_keys::table
            .find((caller, key))
            .select((
                idempotency_keys::fingerprint,
                idempotency_keys::state,
                idempotency_keys::response_status,
                idempotency_keys::response_body,
                idempotency_keys::resource_id,
            ))
            .first(conn)?;
        if stored != fingerprint {
            return Ok(Claim::Mismatch);
        }
        match (state.as_str(), status, body) {
            ("done", Some(status), Some(body)) => Ok(Claim::Replay {
                status: u16::try_from(status).unwrap_or(200),
                body,
                resource_id: resource,
            }),
            _ => Ok(Claim::InFlight),
        }
    }
}

/// Records the response of a claimed key; call inside the transaction that did the work.
pub fn complete(
    conn: &mut AnyConnection,
    caller: &str,
    key: &str,
    status: u16,
    body: &str,
    resource_id: Option<&str>,
) -> StoreResult<()> {
    diesel::update(idempotency_keys::table.find((caller, key)))
        .set((
            idempotency_keys::state.eq("done"),
            idempotency_keys::response_status.eq(i32::from(status)),
            idempotency_keys::response_body.eq(body),
            idempotency_keys::resource_id.eq(resource_id),
        ))
        .execute(conn)?;
    Ok(())
}

/// Gives a claimed key back when the request failed, so a corrected retry may use it.
pub fn release(conn: &mut AnyConnection, caller: &str, key: &str) -> StoreResult<()> {
    diesel::delete(
        idempotency_keys::table
            .find((caller, key))
            .filter(idempotency_keys::state.eq("in_flight")),
    )
    .execute(conn)?;
    Ok(())
}

pub fn created_at(
    conn: &mut AnyConnection,
    caller: &str,
    key: &str,
) -> StoreResult<Option<DateTime<Utc>>> {
    Ok(idempotency_keys::table
        .find((caller, key))
        .select(idempotency_keys::created_at)
        .first::<chrono::NaiveDateTime>(conn)
        .optional()?
        .map(from_db))
}
