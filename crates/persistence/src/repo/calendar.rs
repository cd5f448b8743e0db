//! The working calendar's exceptions: public holidays on weekdays and
//! make-up working days on weekends; and [`CalendarCache`], one process's
//! copy of the working calendar, re-read only when it changed.

use std::sync::{Arc, PoisonError, RwLock};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use diesel::prelude::*;
use motcua_domain::calendar::{DayKind, WorkingCalendar, WorkingHours};
use serde::Serialize;

use crate::schema::{calendar_days, calendar_generation, calendar_seeded_years};
use crate::time::to_db;
use crate::{AnyConnection, StoreResult, insert_or_ignore, parse_enum, write_tx};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DayOverride {
    pub date: NaiveDate,
    pub kind: DayKind,
    pub name: String,
}

/// The entered days, with the Labour Code's holidays generated for every
/// year whose official notice is not confirmed (not seeded from the shipped
/// notices, nor confirmed by an admin).
pub fn load(conn: &mut AnyConnection, hours: WorkingHours) -> StoreResult<WorkingCalendar> {
    let rows: Vec<(NaiveDate, String)> = calendar_days::table
        .select((calendar_days::day, calendar_days::kind))
        .load(conn)?;
    let overrides = rows
        .into_iter()
        .map(|(day, kind)| Ok((day, parse_enum::<DayKind>(&kind)?)))
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(WorkingCalendar::with_official_years(
        overrides,
        official_years(conn)?,
        hours,
    ))
}

/// The calendar's change counter: triggers bump it on every write to
/// `calendar_days` and `calendar_seeded_years`, from any process
/// (migration 000033).
pub fn generation(conn: &mut AnyConnection) -> StoreResult<i64> {
    Ok(calendar_generation::table
        .find(1)
        .select(calendar_generation::generation)
        .first(conn)?)
}

/// [`generation`] as a scalar subquery, to read it inside another
/// statement (the action's joined read of its dossier) at no extra round
/// trip. Typed, not plain SQL: diesel prepares a statement holding an SQL
/// literal anew on every run, so PostgreSQL planned the action's ten-table
/// read on every action (receive fell to less than half).
#[allow(clippy::type_complexity)]
pub fn generation_subquery() -> diesel::dsl::SingleValue<
    diesel::dsl::Select<
        diesel::dsl::Find<calendar_generation::table, i32>,
        calendar_generation::generation,
    >,
> {
    calendar_generation::table
        .find(1)
        .select(calendar_generation::generation)
        .single_value()
}

/// One process's working calendar, kept as fresh as the database: it is
/// read again only when the calendar's [`generation`] differs from the one
/// it was read at, so a request whose statement already carries the
/// generation (`dossiers::for_action`) gets the calendar for no round trip,
/// and any other request for one (the generation's primary-key read)
/// instead of two. An edit made through another process bumps the
/// generation in the database, so the next request of this one sees it.
#[derive(Debug)]
pub struct CalendarCache {
    hours: WorkingHours,
    current: RwLock<Option<(i64, Arc<WorkingCalendar>)>>,
}

impl CalendarCache {
    pub fn new(hours: WorkingHours) -> Self {
        Self {
            hours,
            current: RwLock::new(None),
        }
    }

    /// The working hours the calendar is built with.
    pub fn hours(&self) -> WorkingHours {
        self.hours
    }

    /// The calendar as of its current generation (one statement when the
    /// copy is current, three when it is read again).
    pub fn load(&self, conn: &mut AnyConnection) -> StoreResult<Arc<WorkingCalendar>> {
        let now = generation(conn)?;
        self.at_generation(conn, Some(now))
    }

    /// The calendar at `generation`, read by the caller before (inside a
    /// statement of its own): no statement when the copy is of that
    /// generation, otherwise the calendar's two reads. A copy read after the
    /// generation may hold a later write than its label says; the next
    /// request then sees a newer generation and reads again.
    pub fn at_generation(
        &self,
        conn: &mut AnyConnection,
        generation: Option<i64>,
    ) -> StoreResult<Arc<WorkingCalendar>> {
        let generation = match generation {
            Some(g) => g,
            None => self::generation(conn)?,
        };
        let cached = self
            .current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .filter(|(g, _)| *g == generation)
            .map(|(_, calendar)| calendar.clone());
        if let Some(calendar) = cached {
            return Ok(calendar);
        }
        let calendar = Arc::new(load(conn, self.hours)?);
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        // Never replace a newer copy (another request's) with an older one.
        if current.as_ref().is_none_or(|(g, _)| *g <= generation) {
            *current = Some((generation, calendar.clone()));
        }
        Ok(calendar)
    }
}

/// The years whose official notice is in the table.
pub fn official_years(conn: &mut AnyConnection) -> StoreResult<Vec<i32>> {
    Ok(calendar_seeded_years::table
        .select(calendar_seeded_years::year)
        .order(calendar_seeded_years::year.asc())
        .load(conn)?)
}

/// Marks `year`'s entered days as its official notice: generated days stop
/// applying. With `adopt_generated`, the generated days not already entered
/// are first written as entered days (for a notice that only confirms the
/// Labour Code's days). Returns false when the year was already official.
pub fn confirm(
    conn: &mut AnyConnection,
    year: i32,
    adopt_generated: &[DayOverride],
    by: Option<i64>,
    at: DateTime<Utc>,
) -> StoreResult<bool> {
    write_tx(conn, |conn| {
        let inserted = insert_or_ignore!(
            &mut *conn,
            calendar_seeded_years::table,
            (
                calendar_seeded_years::year.eq(year),
                calendar_seeded_years::seeded_at.eq(to_db(at))
            )
        )?;
        if inserted == 0 {
            return Ok(false);
        }
        for day in adopt_generated.iter().filter(|d| d.date.year() == year) {
            insert_or_ignore!(
                &mut *conn,
                calendar_days::table,
                (
                    calendar_days::day.eq(day.date),
                    calendar_days::kind.eq(day.kind.as_str()),
                    calendar_days::name.eq(&day.name),
                    calendar_days::updated_at.eq(to_db(at)),
                    calendar_days::updated_by.eq(by),
                )
            )?;
        }
        Ok(true)
    })
}

pub fn year(conn: &mut AnyConnection, year: i32) -> StoreResult<Vec<DayOverride>> {
    let (first, last) = year_bounds(year);
    let rows: Vec<(NaiveDate, String, String)> = calendar_days::table
        .filter(calendar_days::day.between(first, last))
        .order(calendar_days::day.asc())
        .select((calendar_days::day, calendar_days::kind, calendar_days::name))
        .load(conn)?;
    rows.into_iter()
        .map(|(date, kind, name)| {
            Ok(DayOverride {
                date,
                kind: parse_enum(&kind)?,
                name,
            })
        })
        .collect()
}

fn year_bounds(year: i32) -> (NaiveDate, NaiveDate) {
    let first = NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(NaiveDate::MIN);
    let last = NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or(NaiveDate::MAX);
    (first, last)
}

pub fn get(conn: &mut AnyConnection, date: NaiveDate) -> StoreResult<Option<DayOverride>> {
    let row: Option<(String, String)> = calendar_days::table
        .find(date)
        .select((calendar_days::kind, calendar_days::name))
        .first(conn)
        .optional()?;
    row.map(|(kind, name)| {
        Ok(DayOverride {
            date,
            kind: parse_enum(&kind)?,
            name,
        })
    })
    .transpose()
}

/// Sets a day's exception, replacing any earlier one.
pub fn put(
    conn: &mut AnyConnection,
    day: &DayOverride,
    by: Option<i64>,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    write_tx(conn, |conn| {
        diesel::delete(calendar_days::table.find(day.date)).execute(conn)?;
        diesel::insert_into(calendar_days::table)
            .values((
                calendar_days::day.eq(day.date),
                calendar_days::kind.eq(day.kind.as_str()),
                calendar_days::name.eq(&day.name),
                calendar_days::updated_at.eq(to_db(at)),
                calendar_days::updated_by.eq(by),
            ))
            .execute(conn)?;
        Ok(())
    })
}

/// Removes a day's exception; the day follows the weekly rule again.
pub fn delete(conn: &mut AnyConnection, date: NaiveDate) -> StoreResult<bool> {
    Ok(diesel::delete(calendar_days::table.find(date)).execute(conn)? > 0)
}

/// Seeds the official days of each year not seeded before; a year an admin
/// has already edited is left alone. Returns the years seeded now.
pub fn seed(
    conn: &mut AnyConnection,
    days: &[DayOverride],
    at: DateTime<Utc>,
) -> StoreResult<Vec<i32>> {
    let mut years: Vec<i32> = days.iter().map(|d| d.date.year()).collect();
    years.sort_unstable();
    years.dedup();
    write_tx(conn, |conn| {
        let mut seeded = Vec::new();
        for year in years {
            let inserted = insert_or_ignore!(
                &mut *conn,
                calendar_seeded_years::table,
                (
                    calendar_seeded_years::year.eq(year),
                    calendar_seeded_years::seeded_at.eq(to_db(at))
                )
            )?;
            if inserted == 0 {
                continue;
            }
            for day in days.iter().filter(|d| d.date.year() == year) {
                insert_or_ignore!(
                    &mut *conn,
                    calendar_days::table,
                    (
                        calendar_days::day.eq(day.date),
                        calendar_days::kind.eq(day.kind.as_str()),
                        calendar_days::name.eq(&day.name),
                        calendar_days::updated_at.eq(to_db(at)),
                        calendar_days::updated_by.eq(None::<i64>),
                    )
                )?;
            }
            seeded.push(year);
        }
        Ok(seeded)
    })
}
