//! Counter queue tickets: taken, called to a counter, completed. The minutes
//! each ticket waited are counted per agency, sector and day when it is
//! called, so the KPIs read a small histogram instead of every ticket.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use motcua_domain::kpi::{self, Grain, Span};
use motcua_domain::queue::{Ticket, TicketStatus, waited_minutes};

use crate::schema::{queue_tickets, queue_waits};
use crate::time::{from_db, to_db};
use crate::{AnyConnection, StoreError, StoreResult, insert_or_ignore, parse_enum, write_tx};

#[derive(Queryable, Selectable)]
#[diesel(table_name = queue_tickets)]
struct Row {
    id: i64,
    agency_id: i64,
    sector_code: Option<String>,
    day: NaiveDate,
    number: i32,
    status: String,
    issued_at: NaiveDateTime,
    called_at: Option<NaiveDateTime>,
    counter: Option<String>,
    completed_at: Option<NaiveDateTime>,
}

impl Row {
    fn into_ticket(self) -> StoreResult<Ticket> {
        Ok(Ticket {
            id: self.id,
            agency_id: self.agency_id,
            sector_code: self.sector_code,
            day: self.day,
            number: self.number,
            status: parse_enum(&self.status)?,
            issued_at: from_db(self.issued_at),
            called_at: self.called_at.map(from_db),
            counter: self.counter,
            completed_at: self.completed_at.map(from_db),
        })
    }
}

pub fn get(conn: &mut AnyConnection, id: i64) -> StoreResult<Ticket> {
    queue_tickets::table
        .find(id)
        .select(Row::as_select())
        .first(conn)?
        .into_ticket()
}

/// Issues the next number of the agency's day.
pub fn take(
    conn: &mut AnyConnection,
    agency_id: i64,
    sector_code: Option<&str>,
    at: DateTime<Utc>,
) -> StoreResult<Ticket> {
    let day = motcua_domain::local_time::date(at);
    write_tx(conn, |conn| {
        let number = crate::repo::next_daily_number!(conn, ticket_sequences, agency_id, day)?;
        let number = i32::try_from(number).map_err(StoreError::corrupt)?;
        let id: i64 = diesel::insert_into(queue_tickets::table)
            .values((
                queue_tickets::agency_id.eq(agency_id),
                queue_tickets::sector_code.eq(sector_code),
                queue_tickets::day.eq(day),
                queue_tickets::number.eq(number),
                queue_tickets::status.eq(TicketStatus::Waiting.as_str()),
                queue_tickets::issued_at.eq(to_db(at)),
            ))
            .returning(queue_tickets::id)
            .get_result(conn)?;
        get(conn, id)
    })
}

/// Tickets of an agency's day still waiting (issued before `before`, if given).
pub fn waiting(
    conn: &mut AnyConnection,
    agency_id: i64,
    day: NaiveDate,
    before: Option<i64>,
) -> StoreResult<i64> {
    let mut q = queue_tickets::table
        .filter(queue_tickets::agency_id.eq(agency_id))
        .filter(queue_tickets::day.eq(day))
        .filter(queue_tickets::status.eq(TicketStatus::Waiting.as_str()))
        .into_boxed();
    if let Some(id) = before {
        q = q.filter(queue_tickets::id.lt(id));
    }
    Ok(q.count().get_result(conn)?)
}

/// Tickets of the same day still waiting before this one.
pub fn waiting_ahead(conn: &mut AnyConnection, ticket: &Ticket) -> StoreResult<i64> {
    waiting(conn, ticket.agency_id, ticket.day, Some(ticket.id))
}

/// Calls the longest-waiting ticket of the agency's day (of one sector, if
/// given) to `counter`, completing the ticket the counter was serving. On
/// PostgreSQL the ticket is picked `FOR UPDATE SKIP LOCKED`, so two counters
/// calling at once get different tickets.
pub fn call_next(
    conn: &mut AnyConnection,
    agency_id: i64,
    counter: &str,
    sector_code: Option<&str>,
    called_by: i64,
    at: DateTime<Utc>,
) -> StoreResult<Option<Ticket>> {
    let day = motcua_domain::local_time::date(at);
    write_tx(conn, |conn| {
        diesel::update(
            queue_tickets::table
                .filter(queue_tickets::agency_id.eq(agency_id))
                .filter(queue_tickets::counter.eq(counter))
                .filter(queue_tickets::status.eq(TicketStatus::Called.as_str())),
        )
        .set((
            queue_tickets::status.eq(TicketStatus::Completed.as_str()),
            queue_tickets::completed_at.eq(to_db(at)),
        ))
        .execute(conn)?;
        macro_rules! oldest_waiting {
            ($tickets:expr) => {
                $tickets
                    .filter(queue_tickets::agency_id.eq(agency_id))
                    .filter(queue_tickets::day.eq(day))
                    .filter(queue_tickets::status.eq(TicketStatus::Waiting.as_str()))
                    .order(queue_tickets::id.asc())
                    .select(queue_tickets::id)
            };
        }
        let of_sector = queue_tickets::sector_code.eq(sector_code.unwrap_or_default());
        let next: Option<i64> = match (&mut *conn, sector_code.is_some()) {
            (AnyConnection::Postgresql(pg), false) => oldest_waiting!(queue_tickets::table)
                .for_update()
                .skip_locked()
                .first(pg)
                .optional()?,
            (AnyConnection::Postgresql(pg), true) => {
                oldest_waiting!(queue_tickets::table.filter(of_sector))
                    .for_update()
                    .skip_locked()
                    .first(pg)
                    .optional()?
            }
            // SQLite: the write transaction already serializes callers.
            (AnyConnection::Sqlite(lite), false) => oldest_waiting!(queue_tickets::table)
                .first(lite)
                .optional()?,
            (AnyConnection::Sqlite(lite), true) => {
                oldest_waiting!(queue_tickets::table.filter(of_sector))
                    .first(lite)
                    .optional()?
            }
        };
        let Some(id) = next else { return Ok(None) };
        diesel::update(
            queue_tickets::table
                .find(id)
                .filter(queue_tickets::status.eq(TicketStatus::Waiting.as_str())),
        )
        .set((
            queue_tickets::status.eq(TicketStatus::Called.as_str()),
            queue_tickets::called_at.eq(to_db(at)),
            queue_tickets::counter.eq(counter),
            queue_tickets::called_by.eq(called_by),
        ))
        .execute(conn)?;
        let ticket = get(conn, id)?;
        count_wait(conn, &ticket, at)?;
        Ok(Some(ticket))
    })
}

/// Waits are counted up to this many minutes ("this long or more").
pub const MAX_WAIT_MINUTES: i64 = 600;

/// A histogram of waits: whole minutes → tickets.
pub type Histogram = BTreeMap<i64, i64>;

/// Adds waits on `day` (minutes → tickets) to the agency's day, month and
/// year rows: read, add, write, under the row's lock.
pub fn add_waits(
    conn: &mut AnyConnection,
    agency_id: i64,
    day: NaiveDate,
    waits: &Histogram,
) -> StoreResult<()> {
    let added: i64 = waits.values().sum();
    for grain in Grain::ALL {
        let period = kpi::period_start(*grain, day);
        insert_or_ignore!(
            &mut *conn,
            queue_waits::table,
            (
                queue_waits::grain.eq(grain.as_str()),
                queue_waits::period.eq(period),
                queue_waits::agency_id.eq(agency_id),
                queue_waits::tickets.eq(0_i64),
                queue_waits::histogram.eq("{}"),
            )
        )?;
        let row = queue_waits::table.find((grain.as_str(), period, agency_id));
        // Taking the row lock first (PostgreSQL) so two counters calling at
        // once add up instead of overwriting each other; SQLite's write
        // transaction already serializes them.
        diesel::update(row)
            .set(queue_waits::tickets.eq(queue_waits::tickets + added))
            .execute(conn)?;
        let text: String = row.select(queue_waits::histogram).first(conn)?;
        let mut histogram: Histogram = serde_json::from_str(&text).map_err(StoreError::corrupt)?;
        for (minutes, n) in waits {
            *histogram
                .entry((*minutes).clamp(0, MAX_WAIT_MINUTES))
                .or_insert(0) += n;
        }
        let text = serde_json::to_string(&histogram).map_err(StoreError::corrupt)?;
        diesel::update(row)
            .set(queue_waits::histogram.eq(text))
            .execute(conn)?;
    }
    Ok(())
}

fn count_wait(conn: &mut AnyConnection, ticket: &Ticket, called: DateTime<Utc>) -> StoreResult<()> {
    let waited = Histogram::from([(waited_minutes(ticket.issued_at, called), 1)]);
    add_waits(conn, ticket.agency_id, ticket.day, &waited)
}

#[derive(Debug, PartialEq, Eq)]
pub enum Completion {
    Done(Ticket),
    /// Only a called ticket can be completed.
    NotCalled(Ticket),
}

pub fn complete(conn: &mut AnyConnection, id: i64, at: DateTime<Utc>) -> StoreResult<Completion> {
    write_tx(conn, |conn| {
        let n = diesel::update(
            queue_tickets::table
                .find(id)
                .filter(queue_tickets::status.eq(TicketStatus::Called.as_str())),
        )
        .set((
            queue_tickets::status.eq(TicketStatus::Completed.as_str()),
            queue_tickets::completed_at.eq(to_db(at)),
        ))
        .execute(conn)?;
        let ticket = get(conn, id)?;
        Ok(if n == 1 {
            Completion::Done(ticket)
        } else {
            Completion::NotCalled(ticket)
        })
    })
}

/// The stored histograms of `spans`: (agency, period's first day, histogram).
fn stored_waits(
    conn: &mut AnyConnection,
    agency_id: Option<i64>,
    spans: &[Span],
) -> StoreResult<Vec<(i64, NaiveDate, Histogram)>> {
    let within = crate::repo::within_spans!(queue_waits, spans, |branch| match agency_id {
        Some(agency) => Box::new(branch.and(queue_waits::agency_id.eq(agency))),
        None => branch,
    });
    let Some(within) = within else {
        return Ok(Vec::new());
    };
    let rows: Vec<(i64, NaiveDate, String)> = queue_waits::table
        .filter(within)
        .select((
            queue_waits::agency_id,
            queue_waits::period,
            queue_waits::histogram,
        ))
        .load(conn)?;
    rows.into_iter()
        .map(|(agency, period, text)| {
            let histogram = serde_json::from_str(&text).map_err(StoreError::corrupt)?;
            Ok((agency, period, histogram))
        })
        .collect()
}

/// Sums histograms under the key `key` picks from each stored row.
fn merge_waits<K: Ord>(
    rows: Vec<(i64, NaiveDate, Histogram)>,
    key: impl Fn(i64, NaiveDate) -> K,
) -> BTreeMap<K, Histogram> {
    let mut out: BTreeMap<K, Histogram> = BTreeMap::new();
    for (agency, period, histogram) in rows {
        let merged = out.entry(key(agency, period)).or_default();
        for (minutes, n) in histogram {
            *merged.entry(minutes).or_insert(0) += n;
        }
    }
    out
}

/// Tickets called on the days of `spans`, per stored period (its first day)
/// and whole minutes waited, all agencies of the filter together.
pub fn waits_by_period(
    conn: &mut AnyConnection,
    agency_id: Option<i64>,
    spans: &[Span],
) -> StoreResult<BTreeMap<NaiveDate, Histogram>> {
    Ok(merge_waits(
        stored_waits(conn, agency_id, spans)?,
        |_, period| period,
    ))
}

/// Tickets called on the days of `spans`, by agency and whole minutes waited.
pub fn waits_by_agency(
    conn: &mut AnyConnection,
    agency_id: Option<i64>,
    spans: &[Span],
) -> StoreResult<BTreeMap<i64, Histogram>> {
    Ok(merge_waits(
        stored_waits(conn, agency_id, spans)?,
        |agency, _| agency,
    ))
}
