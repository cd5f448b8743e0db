//! Claiming payments for the background jobs (expiry, status queries).

use super::load;
use crate::schema::payments;
use crate::time::to_db;
use crate::{AnyConnection, StoreResult, write_tx};
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use motcua_domain::payment::{Payment, PaymentMethod, PaymentStatus};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// Unfinished attempts past their expiry.
    Expiry,
    /// `submitted` attempts due for a status query.
    Requery,
}

/// The ids of payments a job should process at `at`, not claimed by anyone,
/// oldest deadline first: one selection for both backends, with the locking
/// clauses given (`for_update, skip_locked` on PostgreSQL).
macro_rules! due_ids {
    ($conn:expr, $job:expr, $at:expr, $limit:expr $(, $lock:ident)*) => {{
        let at = to_db($at);
        let base = payments::table
            .filter(payments::method.eq(PaymentMethod::Online.as_str()))
            .filter(
                payments::claimed_until
                    .is_null()
                    .or(payments::claimed_until.lt(at)),
            )
            .select(payments::id)
            .order(payments::expires_at.asc())
            .limit($limit);
        let ids: Vec<String> = match $job {
            Job::Expiry => base
                .filter(payments::status.eq_any([
                    PaymentStatus::Created.as_str(),
                    PaymentStatus::Started.as_str(),
                ]))
                .filter(payments::expires_at.lt(at))
                $(.$lock())*
                .load($conn)?,
            Job::Requery => base
                .filter(payments::status.eq(PaymentStatus::Submitted.as_str()))
                .filter(
                    payments::next_check_at
                        .is_null()
                        .or(payments::next_check_at.le(at)),
                )
                $(.$lock())*
                .load($conn)?,
        };
        ids
    }};
}

/// Claims up to `limit` payments a job should process now, for `lease`. On
/// PostgreSQL the rows are picked `FOR UPDATE SKIP LOCKED`, so processes running
/// the same job split the work instead of doing it twice.
pub fn claim(
    conn: &mut AnyConnection,
    job: Job,
    at: DateTime<Utc>,
    lease: Duration,
    limit: i64,
) -> StoreResult<Vec<Payment>> {
    write_tx(conn, |conn| {
        let ids = match conn {
            AnyConnection::Postgresql(pg) => due_ids!(pg, job, at, limit, for_update, skip_locked),
            AnyConnection::Sqlite(lite) => due_ids!(lite, job, at, limit),
        };
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        diesel::update(payments::table.filter(payments::id.eq_any(&ids)))
            .set(payments::claimed_until.eq(Some(to_db(at + lease))))
            .execute(conn)?;
        load(
            conn,
            payments::table
                .filter(payments::id.eq_any(ids))
                .into_boxed(),
        )
    })
}

/// After an inconclusive status query: try again later, waiting longer each time.
pub fn schedule_requery(
    conn: &mut AnyConnection,
    id: &str,
    next: DateTime<Utc>,
) -> StoreResult<()> {
    diesel::update(payments::table.find(id))
        .set((
            payments::next_check_at.eq(Some(to_db(next))),
            payments::check_attempts.eq(payments::check_attempts + 1),
            payments::claimed_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn release(conn: &mut AnyConnection, id: &str) -> StoreResult<()> {
    diesel::update(payments::table.find(id))
        .set(payments::claimed_until.eq(None::<NaiveDateTime>))
        .execute(conn)?;
    Ok(())
}

/// Online payments created between two instants (a reconciliation day).
pub fn online_between(
    conn: &mut AnyConnection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> StoreResult<Vec<Payment>> {
    load(
        conn,
        payments::table
            .filter(payments::method.eq(PaymentMethod::Online.as_str()))
            .filter(payments::created_at.ge(to_db(from)))
            .filter(payments::created_at.lt(to_db(to)))
            .into_boxed(),
    )
}
