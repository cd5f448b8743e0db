//! National portal synchronisation (migration 000025): the per-dossier sync
//! state, the worker's place in the outbox (`notification_feed` row
//! `portal`), and the codes of dossiers filed on the portal. Storage only:
//! what is sent and when to retry are the domain's (`domain::portal`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use motcua_domain::dossier::Channel;
use motcua_domain::kpi::SyncCounts;
use motcua_domain::portal::SyncStatus;

use crate::repo::events::{self, Cursor};
use crate::schema::{dossiers, portal_inbound, portal_sync};
use crate::time::{from_db, to_db};
use crate::{AnyConnection, StoreError, StoreResult, insert_or_ignore, parse_enum, write_tx};

/// The `notification_feed.name` of the portal worker.
const FEED: &str = "portal";

/// The worker's cursor, its row locked until the caller's transaction ends.
/// Call inside `write_tx`.
pub fn lock_cursor(conn: &mut AnyConnection) -> StoreResult<Cursor> {
    events::lock_feed_cursor(conn, FEED)
}

/// Moves the worker's cursor (in the transaction of [`lock_cursor`]).
pub fn set_cursor(conn: &mut AnyConnection, cursor: Cursor) -> StoreResult<()> {
    events::set_feed_cursor(conn, FEED, cursor)
}

/// The id of the dossier `code`, if there is one.
pub fn dossier_id(conn: &mut AnyConnection, code: &str) -> StoreResult<Option<i64>> {
    Ok(dossiers::table
        .filter(dossiers::code.eq(code))
        .select(dossiers::id)
        .first(conn)
        .optional()?)
}

/// A dossier's synchronisation as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncState {
    pub dossier_id: i64,
    pub status: SyncStatus,
    pub pushed_code: Option<u8>,
    pub generation: i64,
    pub attempts: u32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub changed_at: DateTime<Utc>,
    pub synced_at: Option<DateTime<Utc>>,
    pub late_changes: u32,
}

type Row = (
    i64,
    String,
    Option<i32>,
    i64,
    i32,
    Option<chrono::NaiveDateTime>,
    Option<String>,
    chrono::NaiveDateTime,
    Option<chrono::NaiveDateTime>,
    i32,
);

macro_rules! columns {
    () => {
        (
            portal_sync::dossier_id,
            portal_sync::status,
            portal_sync::pushed_code,
            portal_sync::generation,
            portal_sync::attempts,
            portal_sync::next_attempt_at,
            portal_sync::last_error,
            portal_sync::changed_at,
            portal_sync::synced_at,
            portal_sync::late_changes,
        )
    };
}

fn state(row: Row) -> StoreResult<SyncState> {
    let (id, status, pushed, generation, attempts, next, error, changed, synced, late) = row;
    Ok(SyncState {
        dossier_id: id,
        status: parse_enum(&status)?,
        pushed_code: pushed.and_then(|c| u8::try_from(c).ok()),
        generation,
        attempts: u32::try_from(attempts).unwrap_or(0),
        next_attempt_at: next.map(from_db),
        last_error: error,
        changed_at: from_db(changed),
        synced_at: synced.map(from_db),
        late_changes: u32::try_from(late).unwrap_or(0),
    })
}

/// The dossier changed at `at`: its sync is pending and due at `now`. The
/// oldest change not yet pushed is kept as `changed_at`.
pub fn mark_changed(
    conn: &mut AnyConnection,
    dossier_id: i64,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let current: Option<String> = portal_sync::table
        .find(dossier_id)
        .select(portal_sync::status)
        .first(conn)
        .optional()?;
    let pending = SyncStatus::Pending.as_str();
    let none: Option<&str> = None;
    match current {
        None => {
            insert_or_ignore!(
                &mut *conn,
                portal_sync::table,
                (
                    portal_sync::dossier_id.eq(dossier_id),
                    portal_sync::status.eq(pending),
                    portal_sync::next_attempt_at.eq(Some(to_db(now))),
                    portal_sync::changed_at.eq(to_db(at)),
                )
            )?;
        }
        Some(status) => {
            let row = portal_sync::table.find(dossier_id);
            let base = (
                portal_sync::status.eq(pending),
                portal_sync::generation.eq(portal_sync::generation + 1),
                portal_sync::attempts.eq(0),
                portal_sync::next_attempt_at.eq(Some(to_db(now))),
                portal_sync::last_error.eq(none),
            );
            if status == SyncStatus::Synced.as_str() {
                diesel::update(row)
                    .set((base, portal_sync::changed_at.eq(to_db(at))))
                    .execute(conn)?;
            } else {
                diesel::update(row).set(base).execute(conn)?;
            }
        }
    }
    Ok(())
}

/// Leases to `owner` until `now + lease` up to `limit` dossiers whose push
/// is due (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite: one writer).
pub fn claim_due(
    conn: &mut AnyConnection,
    owner: &str,
    now: DateTime<Utc>,
    lease: chrono::Duration,
    limit: i64,
) -> StoreResult<Vec<SyncState>> {
    let at = to_db(now);
    let ids = write_tx(conn, |conn| {
        let due = portal_sync::table
            .filter(portal_sync::next_attempt_at.le(at))
            .filter(
                portal_sync::lease_until
                    .is_null()
                    .or(portal_sync::lease_until.lt(at)),
            )
            .order(portal_sync::next_attempt_at.asc())
            .limit(limit)
            .select(portal_sync::dossier_id);
        let ids: Vec<i64> = match &mut *conn {
            AnyConnection::Postgresql(pg) => due.for_update().skip_locked().load(pg)?,
            AnyConnection::Sqlite(lite) => due.load(lite)?,
        };
        diesel::update(portal_sync::table.filter(portal_sync::dossier_id.eq_any(&ids)))
            .set((
                portal_sync::claimed_by.eq(Some(owner)),
                portal_sync::lease_until.eq(Some(to_db(now + lease))),
            ))
            .execute(conn)?;
        Ok::<_, StoreError>(ids)
    })?;
    let rows: Vec<Row> = portal_sync::table
        .filter(portal_sync::dossier_id.eq_any(&ids))
        .select(columns!())
        .load(conn)?;
    rows.into_iter().map(state).collect()
}

/// What came of pushing a claimed dossier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pushed<'a> {
    /// The portal accepted its current status.
    Synced { late: bool },
    /// It refused or could not be reached; try again at `next` (`None`:
    /// the attempts are spent).
    Failed {
        error: &'a str,
        next: Option<DateTime<Utc>>,
    },
}

/// Records a push of the dossier `owner` claimed at `generation`; the last
/// code the portal accepted is `pushed_code`. A change that came meanwhile
/// (another generation) keeps the row pending and due. False when the
/// lease had passed to another process (nothing recorded).
pub fn record(
    conn: &mut AnyConnection,
    claimed: &SyncState,
    owner: &str,
    pushed_code: Option<u8>,
    at: DateTime<Utc>,
    outcome: &Pushed<'_>,
) -> StoreResult<bool> {
    write_tx(conn, |conn| {
        let generation: Option<i64> = portal_sync::table
            .find(claimed.dossier_id)
            .filter(portal_sync::claimed_by.eq(owner))
            .select(portal_sync::generation)
            .first(conn)
            .optional()?;
        let Some(generation) = generation else {
            return Ok(false);
        };
        let row = portal_sync::table.find(claimed.dossier_id);
        let none: Option<&str> = None;
        let none_at: Option<chrono::NaiveDateTime> = None;
        let code = pushed_code.map(i32::from);
        let release = (
            portal_sync::pushed_code.eq(code),
            portal_sync::claimed_by.eq(none),
            portal_sync::lease_until.eq(none_at),
        );
        let raced = generation != claimed.generation;
        match outcome {
            Pushed::Synced { late } => {
                let late = i32::from(*late);
                if raced {
                    diesel::update(row)
                        .set((
                            release,
                            portal_sync::late_changes.eq(portal_sync::late_changes + late),
                        ))
                        .execute(conn)?;
                } else {
                    diesel::update(row)
                        .set((
                            release,
                            portal_sync::status.eq(SyncStatus::Synced.as_str()),
                            portal_sync::attempts.eq(0),
                            portal_sync::next_attempt_at.eq(none_at),
                            portal_sync::last_error.eq(none),
                            portal_sync::synced_at.eq(Some(to_db(at))),
                            portal_sync::late_changes.eq(portal_sync::late_changes + late),
                        ))
                        .execute(conn)?;
                }
            }
            Pushed::Failed { error, next } => {
                let next = if raced { Some(at) } else { *next };
                diesel::update(row)
                    .set((
                        release,
                        portal_sync::status.eq(SyncStatus::Failed.as_str()),
                        portal_sync::attempts.eq(portal_sync::attempts + 1),
                        portal_sync::next_attempt_at.eq(next.map(to_db)),
                        portal_sync::last_error.eq(Some(*error)),
                    ))
                    .execute(conn)?;
            }
        }
        Ok::<_, StoreError>(true)
    })
}

/// The dossier's sync state; `None` when the portal was never due to hear of it.
pub fn of_dossier(conn: &mut AnyConnection, dossier_id: i64) -> StoreResult<Option<SyncState>> {
    let row: Option<Row> = portal_sync::table
        .find(dossier_id)
        .select(columns!())
        .first(conn)
        .optional()?;
    row.map(state).transpose()
}

/// Sync states with their dossier codes, oldest change first, optionally of
/// one status and one receiving agency.
pub fn list(
    conn: &mut AnyConnection,
    status: Option<SyncStatus>,
    agency_id: Option<i64>,
    limit: i64,
) -> StoreResult<Vec<(String, SyncState)>> {
    let mut query = portal_sync::table
        .inner_join(dossiers::table)
        .select((dossiers::code, columns!()))
        .order((portal_sync::changed_at.asc(), portal_sync::dossier_id.asc()))
        .limit(limit)
        .into_boxed();
    if let Some(status) = status {
        query = query.filter(portal_sync::status.eq(status.as_str()));
    }
    if let Some(agency) = agency_id {
        query = query.filter(dossiers::agency_id.eq(agency));
    }
    let rows: Vec<(String, Row)> = query.load(conn)?;
    rows.into_iter()
        .map(|(code, row)| Ok((code, state(row)?)))
        .collect()
}

/// Marks every dossier filed in `[from, to)` pending, due at `now`; how many.
pub fn resync(
    conn: &mut AnyConnection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> StoreResult<usize> {
    write_tx(conn, |conn| {
        let ids: Vec<(i64, chrono::NaiveDateTime)> = dossiers::table
            .filter(dossiers::submitted_at.ge(to_db(from)))
            .filter(dossiers::submitted_at.lt(to_db(to)))
            .select((dossiers::id, dossiers::updated_at))
            .load(conn)?;
        for (id, updated) in &ids {
            mark_changed(conn, *id, from_db(*updated), now)?;
        }
        Ok::<_, StoreError>(ids.len())
    })
}

/// The dossier a portal code was filed as, if any.
pub fn inbound(conn: &mut AnyConnection, portal_code: &str) -> StoreResult<Option<i64>> {
    Ok(portal_inbound::table
        .find(portal_code)
        .select(portal_inbound::dossier_id)
        .first(conn)
        .optional()?)
}

/// Keeps the portal code of a dossier filed on the portal (in the filing's
/// transaction: a second filing of the code fails on the primary key).
pub fn add_inbound(
    conn: &mut AnyConnection,
    portal_code: &str,
    dossier_id: i64,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    diesel::insert_into(portal_inbound::table)
        .values((
            portal_inbound::portal_code.eq(portal_code),
            portal_inbound::dossier_id.eq(dossier_id),
            portal_inbound::received_at.eq(to_db(at)),
        ))
        .execute(conn)?;
    Ok(())
}

/// The portal code of a dossier filed on the portal.
pub fn portal_code_of(conn: &mut AnyConnection, dossier_id: i64) -> StoreResult<Option<String>> {
    Ok(portal_inbound::table
        .filter(portal_inbound::dossier_id.eq(dossier_id))
        .select(portal_inbound::portal_code)
        .first(conn)
        .optional()?)
}

/// Which dossiers Decision 766's synced-dossier indicator counts.
#[derive(Debug, Clone, Default)]
pub struct SyncFilter {
    pub agency_id: Option<i64>,
    pub procedure_ids: Option<Vec<i64>>,
    pub channel: Option<Channel>,
}

/// Per receiving agency: dossiers received in `[from, to)` and, of them,
/// those the portal holds with every change pushed in time.
pub fn kpi_counts_by_agency(
    conn: &mut AnyConnection,
    filter: &SyncFilter,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> StoreResult<BTreeMap<i64, SyncCounts>> {
    macro_rules! per_agency {
        ($query:expr) => {{
            let mut query = $query
                .filter(dossiers::received_at.ge(to_db(from)))
                .filter(dossiers::received_at.lt(to_db(to)))
                .group_by(dossiers::agency_id)
                .select((dossiers::agency_id, diesel::dsl::count_star()))
                .into_boxed();
            if let Some(agency) = filter.agency_id {
                query = query.filter(dossiers::agency_id.eq(agency));
            }
            if let Some(ids) = &filter.procedure_ids {
                query = query.filter(dossiers::procedure_id.eq_any(ids.clone()));
            }
            if let Some(channel) = filter.channel {
                query = query.filter(dossiers::channel.eq(channel.as_str()));
            }
            let rows: Vec<(i64, i64)> = query.load(conn)?;
            rows
        }};
    }
    let received = per_agency!(dossiers::table);
    let synced = per_agency!(
        dossiers::table.inner_join(portal_sync::table).filter(
            portal_sync::status
                .eq(SyncStatus::Synced.as_str())
                .and(portal_sync::late_changes.eq(0))
        )
    );
    let mut counts: BTreeMap<i64, SyncCounts> = BTreeMap::new();
    for (agency, n) in received {
        counts.entry(agency).or_default().received = n;
    }
    for (agency, n) in synced {
        counts.entry(agency).or_default().synced_in_time = n;
    }
    Ok(counts)
}
