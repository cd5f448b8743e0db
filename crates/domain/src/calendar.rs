//! The working calendar (lịch làm việc) and the due-date rules built on it.
//!
//! Vietnam keeps a fixed UTC+7 offset (no daylight saving), so every instant
//! is a `DateTime<Utc>` and every day is a local (`Asia/Ho_Chi_Minh`)
//! `NaiveDate`. A day is a working day when it is Monday to Friday, unless the
//! official calendar overrides it: a `holiday` takes a weekday off, a
//! `working` day makes a weekend day a make-up working day (ngày làm bù).
//!
//! Every loop over days is bounded: after [`MAX_IDLE_DAYS`] consecutive days
//! without work (or at the end of `NaiveDate`'s range) the computation gives
//! up and returns the point it reached, so a calendar made only of holidays
//! cannot hang the caller.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound::{Excluded, Included};

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, TimeDelta, Utc, Weekday};

use crate::procedure::TimeUnit;

/// How many consecutive days without work a computation walks through before
/// giving up (three years; real calendars never have more than ten in a row).
pub const MAX_IDLE_DAYS: u32 = 3 * 366;

/// Working minutes in one working day for [`WorkingCalendar::working_days_used`]
/// (8 working hours, the conversion the regulations use).
const MINUTES_PER_WORKING_DAY: f64 = 480.0;

crate::string_enum! {
    /// An entry of the official calendar overriding the default week.
    pub enum DayKind {
        /// A weekday off (public holiday or swapped day off).
        Holiday => "holiday",
        /// A weekend day worked to make up for a swapped day off.
        Working => "working",
    }
}

crate::string_enum! {
    /// How a finished dossier compares with its due date.
    pub enum Outcome {
        /// Finished on a day before the due day.
        Early => "early",
        OnTime => "on_time",
        Late => "late",
    }
}

crate::string_enum! {
    /// Where an open dossier stands against its due date.
    pub enum Progress {
        WithinTime => "within_time",
        Overdue => "overdue",
    }
}

crate::string_enum! {
    /// Why a day is or is not a working day.
    pub enum DayType {
        /// Monday to Friday, no override.
        Weekday => "weekday",
        /// Saturday or Sunday, no override.
        Weekend => "weekend",
        /// A day off by the official calendar.
        Holiday => "holiday",
        /// A Saturday or Sunday worked by the official calendar.
        MakeUpWorking => "make_up_working",
    }
}

/// Invalid working hours.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error(
        "working sessions must be strictly increasing: morning start < morning end < afternoon start < afternoon end"
    )]
    SessionsNotIncreasing,
    #[error("the cut-off {cutoff} must fall within the working day ({start} to {end})")]
    CutoffOutsideWorkingDay {
        cutoff: NaiveTime,
        start: NaiveTime,
        end: NaiveTime,
    },
}

/// The daily working sessions and the reception cut-off, in local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkingHours {
    pub morning_start: NaiveTime,
    pub morning_end: NaiveTime,
    pub afternoon_start: NaiveTime,
    pub afternoon_end: NaiveTime,
    /// Dossiers received at or after this time count as received on the next
    /// working day.
    pub cutoff: NaiveTime,
}

const fn hm(hour: u32, minute: u32) -> NaiveTime {
    match NaiveTime::from_hms_opt(hour, minute, 0) {
        Some(time) => time,
        None => NaiveTime::MIN,
    }
}

impl Default for WorkingHours {
    /// 07:00–11:30 and 13:30–17:00 (8 working hours), cut-off 15:00.
    fn default() -> Self {
        WorkingHours {
            morning_start: hm(7, 0),
            morning_end: hm(11, 30),
            afternoon_start: hm(13, 30),
            afternoon_end: hm(17, 0),
            cutoff: hm(15, 0),
        }
    }
}

impl WorkingHours {
    /// Sessions must be strictly increasing and the cut-off must lie between
    /// the start of the morning and the end of the afternoon (inclusive).
    pub fn validate(&self) -> Result<(), CalendarError> {
        if !(self.morning_start < self.morning_end
            && self.morning_end < self.afternoon_start
            && self.afternoon_start < self.afternoon_end)
        {
            return Err(CalendarError::SessionsNotIncreasing);
        }
        if self.cutoff < self.morning_start || self.cutoff > self.afternoon_end {
            return Err(CalendarError::CutoffOutsideWorkingDay {
                cutoff: self.cutoff,
                start: self.morning_start,
                end: self.afternoon_end,
            });
        }
        Ok(())
    }

    /// The two sessions, forced into order so that even unvalidated hours
    /// give non-overlapping (possibly empty) sessions.
    fn sessions(&self) -> [(NaiveTime, NaiveTime); 2] {
        let morning_end = self.morning_end.max(self.morning_start);
        let afternoon_start = self.afternoon_start.max(morning_end);
        let afternoon_end = self.afternoon_end.max(afternoon_start);
        [
            (self.morning_start, morning_end),
            (afternoon_start, afternoon_end),
        ]
    }

    /// Working seconds in one working day.
    fn day_seconds(&self) -> i64 {
        self.sessions()
            .iter()
            .map(|(start, end)| (*end - *start).num_seconds())
            .sum()
    }
}

/// What is left of a processing time when the clock is paused for a supplement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "unit", content = "value", rename_all = "snake_case")]
pub enum Remaining {
    /// Working days, for procedures counted in working days.
    Days(u32),
    /// Working minutes, for procedures counted in working hours.
    Minutes(i64),
}

/// One day of the calendar as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DayInfo {
    pub date: NaiveDate,
    pub working: bool,
    pub day_type: DayType,
    /// The day's year has no confirmed official notice yet: its holidays are
    /// the Labour Code's, generated, and may still move.
    pub provisional: bool,
}

/// The default week plus the official overrides, and the daily hours.
#[derive(Debug, Clone)]
pub struct WorkingCalendar {
    overrides: BTreeMap<NaiveDate, DayKind>,
    /// Years whose official notice is entered; `None` means the overrides are
    /// the whole calendar (no generated days).
    official_years: Option<BTreeSet<i32>>,
    hours: WorkingHours,
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

impl WorkingCalendar {
    /// Later entries for the same date replace earlier ones.
    pub fn new(
        overrides: impl IntoIterator<Item = (NaiveDate, DayKind)>,
        hours: WorkingHours,
    ) -> Self {
        WorkingCalendar {
            overrides: overrides.into_iter().collect(),
            official_years: None,
            hours,
        }
    }

    /// The official overrides for `official_years`, and for every other year
    /// the Labour Code's holidays ([`crate::holidays`]), provisional. An
    /// override entered for a day of a provisional year still wins.
    pub fn with_official_years(
        overrides: impl IntoIterator<Item = (NaiveDate, DayKind)>,
        official_years: impl IntoIterator<Item = i32>,
        hours: WorkingHours,
    ) -> Self {
        WorkingCalendar {
            overrides: overrides.into_iter().collect(),
            official_years: Some(official_years.into_iter().collect()),
            hours,
        }
    }

    /// Whether `date`'s holidays are generated rather than confirmed.
    pub fn is_provisional(&self, date: NaiveDate) -> bool {
        self.official_years
            .as_ref()
            .is_some_and(|years| !years.contains(&date.year()))
    }

    /// Whether any day from `from` to `to` (inclusive) is provisional, so a
    /// due date computed across them may still move.
    pub fn rests_on_provisional(&self, from: NaiveDate, to: NaiveDate) -> bool {
        let Some(years) = &self.official_years else {
            return false;
        };
        (from.year()..=to.year()).any(|year| !years.contains(&year))
    }

    /// The exception for `date`: an entered override, else a generated
    /// holiday when the year is provisional.
    fn exception(&self, date: NaiveDate) -> Option<DayKind> {
        self.overrides.get(&date).copied().or_else(|| {
            (self.is_provisional(date) && crate::holidays::all_statutory_days().contains_key(&date))
                .then_some(DayKind::Holiday)
        })
    }

    /// The name of `date`'s generated holiday, when it has one and its year
    /// is provisional.
    pub fn provisional_name(&self, date: NaiveDate) -> Option<&'static str> {
        if !self.is_provisional(date) || self.overrides.contains_key(&date) {
            return None;
        }
        crate::holidays::all_statutory_days()
            .get(&date)
            .map(String::as_str)
    }

    pub fn hours(&self) -> &WorkingHours {
        &self.hours
    }

    /// The local (UTC+7) date of an instant.
    pub fn local_date(at: DateTime<Utc>) -> NaiveDate {
        crate::local_time::date(at)
    }

    /// The instant of a local (UTC+7) wall time.
    pub fn local_datetime(date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
        crate::local_time::instant(date, time)
    }

    fn local_time(at: DateTime<Utc>) -> NaiveTime {
        crate::local_time::time(at)
    }

    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        match self.exception(date) {
            Some(DayKind::Holiday) => false,
            Some(DayKind::Working) => true,
            None => !is_weekend(date),
        }
    }

    /// Whether `date` is worked, and why. A `working` override on a weekday
    /// is just a weekday; a `holiday` override is a holiday even on a weekend.
    pub fn describe(&self, date: NaiveDate) -> DayInfo {
        let day_type = match (self.exception(date), is_weekend(date)) {
            (Some(DayKind::Holiday), _) => DayType::Holiday,
            (Some(DayKind::Working), true) => DayType::MakeUpWorking,
            (Some(DayKind::Working), false) | (None, false) => DayType::Weekday,
            (None, true) => DayType::Weekend,
        };
        DayInfo {
            date,
            working: self.is_working_day(date),
            day_type,
            provisional: self.is_provisional(date),
        }
    }

    /// The first working day strictly after `date`.
    pub fn next_working_day(&self, date: NaiveDate) -> NaiveDate {
        self.add_working_days(date, 1)
    }

    /// The `n`-th working day strictly after `date` (`date` itself for 0).
    /// Gives up, returning the day reached, after [`MAX_IDLE_DAYS`]
    /// consecutive non-working days or at the end of the representable dates.
    pub fn add_working_days(&self, date: NaiveDate, n: u32) -> NaiveDate {
        let mut day = date;
        let mut left = n;
        let mut idle = 0u32;
        while left > 0 {
            day = match day.succ_opt() {
                Some(next) => next,
                None => return day,
            };
            if self.is_working_day(day) {
                left -= 1;
                idle = 0;
            } else {
                idle += 1;
                if idle >= MAX_IDLE_DAYS {
                    return day;
                }
            }
        }
        day
    }

    /// The number of working days `d` with `from < d <= to`; 0 when
    /// `to <= from`. Computed in time proportional to the overrides in range.
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> u32 {
        if to <= from {
            return 0;
        }
        let span = (to - from).num_days();
        let mut count = span / 7 * 5;
        for offset in 1..=span % 7 {
            let weekday = from
                .checked_add_days(Days::new(offset.unsigned_abs()))
                .is_some_and(|day| !is_weekend(day));
            if weekday {
                count += 1;
            }
        }
        for (day, kind) in self.overrides.range((Excluded(from), Included(to))) {
            match (kind, is_weekend(*day)) {
                (DayKind::Holiday, false) => count -= 1,
                (DayKind::Working, true) => count += 1,
                _ => {}
            }
        }
        if self.rests_on_provisional(from, to) {
            let generated = crate::holidays::all_statutory_days()
                .range((Excluded(from), Included(to)))
                .map(|(day, _)| *day)
                .filter(|day| self.is_provisional(*day) && !self.overrides.contains_key(day));
            for day in generated {
                if !is_weekend(day) {
                    count -= 1;
                }
            }
        }
        u32::try_from(count.max(0)).unwrap_or(u32::MAX)
    }

    /// Working days `d` with `from < d <= to`, less those inside any pause
    /// `(stopped, resumed)` (working days `d` with `stopped < d <= resumed`,
    /// clipped to the span): the days a dossier's clock actually ran.
    /// Overlapping pauses are counted once.
    pub fn working_days_running(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        pauses: &[(NaiveDate, NaiveDate)],
    ) -> u32 {
        let mut clipped: Vec<(NaiveDate, NaiveDate)> = pauses
            .iter()
            .map(|(stopped, resumed)| ((*stopped).max(from), (*resumed).min(to)))
            .filter(|(stopped, resumed)| stopped < resumed)
            .collect();
        clipped.sort_unstable();
        let mut merged: Vec<(NaiveDate, NaiveDate)> = Vec::with_capacity(clipped.len());
        for (stopped, resumed) in clipped {
            match merged.last_mut() {
                Some(last) if stopped <= last.1 => last.1 = last.1.max(resumed),
                _ => merged.push((stopped, resumed)),
            }
        }
        let paused: u32 = merged
            .iter()
            .map(|(stopped, resumed)| self.working_days_between(*stopped, *resumed))
            .sum();
        self.working_days_between(from, to).saturating_sub(paused)
    }

    /// The day the processing time counts from: the local date of `received`
    /// if it is a working day and the local time is before the cut-off,
    /// otherwise the next working day after that date.
    pub fn effective_start_day(&self, received: DateTime<Utc>) -> NaiveDate {
        let date = Self::local_date(received);
        if self.is_working_day(date) && Self::local_time(received) < self.hours.cutoff {
            date
        } else {
            self.next_working_day(date)
        }
    }

    /// The end of the afternoon session on `date`.
    pub fn end_of_day(&self, date: NaiveDate) -> DateTime<Utc> {
        Self::local_datetime(date, self.hours.afternoon_end)
    }

    /// The due instant of a dossier received at `received` with a processing
    /// time of `amount` `unit`s.
    ///
    /// * Working days: the day of receipt is not counted (Civil Code 2015,
    ///   art. 148: a period in days starts on the day after the event). A
    ///   dossier received on a working day before the cut-off counts from that
    ///   day, so the first counted day is the next working day; one received at
    ///   or after the cut-off, or on a non-working day, is treated as received
    ///   on the next working day. The dossier is due at the end of the
    ///   afternoon session of the `amount`-th working day after the effective
    ///   start day (of the effective start day itself when `amount` is 0).
    /// * Working hours (1 working day = 8 working hours): there is no
    ///   cut-off; the clock starts at `received` if it falls inside a working
    ///   session, otherwise at the start of the next session, and runs for
    ///   `amount` × 60 working minutes across sessions and working days. The
    ///   result is that exact instant; time running out exactly at the end of
    ///   a session gives that end, not the next session's start.
    pub fn due(&self, received: DateTime<Utc>, amount: u32, unit: TimeUnit) -> DateTime<Utc> {
        match unit {
            TimeUnit::WorkingDays => {
                self.end_of_day(self.add_working_days(self.effective_start_day(received), amount))
            }
            TimeUnit::WorkingHours => self.add_working_minutes(received, i64::from(amount) * 60),
        }
    }

    /// Working seconds of `date`'s sessions that fall within `[from, to)`.
    fn worked_seconds_on(&self, date: NaiveDate, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        if !self.is_working_day(date) {
            return 0;
        }
        self.hours
            .sessions()
            .iter()
            .map(|(start, end)| {
                let start = Self::local_datetime(date, *start).max(from);
                let end = Self::local_datetime(date, *end).min(to);
                (end - start).num_seconds().max(0)
            })
            .sum()
    }

    /// Whole minutes inside the working sessions of working days between
    /// `from` and `to`; 0 if `to <= from`.
    pub fn working_minutes_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        if to <= from {
            return 0;
        }
        let first = Self::local_date(from);
        let last = Self::local_date(to);
        let seconds = if first == last {
            self.worked_seconds_on(first, from, to)
        } else {
            let whole_days = last.pred_opt().map_or(0, |before_last| {
                self.working_days_between(first, before_last)
            });
            self.worked_seconds_on(first, from, to)
                + i64::from(whole_days) * self.hours.day_seconds()
                + self.worked_seconds_on(last, from, to)
        };
        seconds / 60
    }

    /// The instant `minutes` working minutes after `from`. The clock starts at
    /// `from` if it is inside a working session, else at the next session
    /// start; time running out exactly at a session end gives that end.
    /// Zero or negative `minutes` give the instant the clock starts.
    pub fn add_working_minutes(&self, from: DateTime<Utc>, minutes: i64) -> DateTime<Utc> {
        let mut left = minutes.max(0).saturating_mul(60);
        let day_seconds = self.hours.day_seconds();
        let sessions = self.hours.sessions();
        let mut date = Self::local_date(from);
        let mut now = from;
        let mut idle = 0u32;
        loop {
            if day_seconds > 0 && self.is_working_day(date) {
                idle = 0;
                let day_start = Self::local_datetime(date, sessions[0].0);
                if now <= day_start && left > day_seconds {
                    // Skip whole working days, keeping some time for the last one.
                    let whole = u32::try_from((left - 1) / day_seconds).unwrap_or(u32::MAX);
                    let last_whole = self.add_working_days(date, whole - 1);
                    left -= i64::from(whole) * day_seconds;
                    date = match last_whole.succ_opt() {
                        Some(next) => next,
                        None => return self.end_of_day(last_whole),
                    };
                    now = Self::local_datetime(date, NaiveTime::MIN);
                    continue;
                }
                for (start, end) in sessions {
                    let end = Self::local_datetime(date, end);
                    if now < end {
                        let start = Self::local_datetime(date, start).max(now);
                        let available = (end - start).num_seconds().max(0);
                        if left <= available {
                            return start
                                .checked_add_signed(TimeDelta::seconds(left))
                                .unwrap_or(end);
                        }
                        left -= available;
                        now = end;
                    }
                }
            } else {
                idle += 1;
                if idle >= MAX_IDLE_DAYS {
                    return now;
                }
            }
            date = match date.succ_opt() {
                Some(next) => next,
                None => return now,
            };
            now = now.max(Self::local_datetime(date, NaiveTime::MIN));
        }
    }

    /// What is left when the clock is paused at `paused_at` for a supplement.
    /// In days, the day of the pause counts as used; in hours, the working
    /// minutes from the pause to the due instant (never negative).
    pub fn remaining_at_pause(
        &self,
        due: DateTime<Utc>,
        paused_at: DateTime<Utc>,
        unit: TimeUnit,
    ) -> Remaining {
        match unit {
            TimeUnit::WorkingDays => Remaining::Days(
                self.working_days_between(Self::local_date(paused_at), Self::local_date(due)),
            ),
            TimeUnit::WorkingHours => {
                Remaining::Minutes(self.working_minutes_between(paused_at, due).max(0))
            }
        }
    }

    /// The new due instant when the clock resumes at `resumed_at` with
    /// `remaining` left: days count like a fresh receipt (cut-off included),
    /// minutes like the hours unit of [`Self::due`]. A `remaining` of the
    /// other unit than `unit` is converted at 8 working hours per day.
    pub fn resume(
        &self,
        resumed_at: DateTime<Utc>,
        remaining: Remaining,
        unit: TimeUnit,
    ) -> DateTime<Utc> {
        match (unit, remaining) {
            (TimeUnit::WorkingDays, Remaining::Days(days)) => {
                self.end_of_day(self.add_working_days(self.effective_start_day(resumed_at), days))
            }
            (TimeUnit::WorkingDays, Remaining::Minutes(minutes)) => {
                // Rounded up: a started working day is a whole day.
                let days = if minutes > 0 {
                    (minutes - 1) / 480 + 1
                } else {
                    0
                };
                let days = u32::try_from(days).unwrap_or(u32::MAX);
                self.end_of_day(self.add_working_days(self.effective_start_day(resumed_at), days))
            }
            (TimeUnit::WorkingHours, Remaining::Minutes(minutes)) => {
                self.add_working_minutes(resumed_at, minutes)
            }
            (TimeUnit::WorkingHours, Remaining::Days(days)) => {
                self.add_working_minutes(resumed_at, i64::from(days) * 480)
            }
        }
    }

    /// Early, on time or late. In days, the local dates of finishing and of the
    /// due instant are compared. In hours, finishing after the due instant is
    /// late, finishing on an earlier local day than the due one is early, and
    /// anything else is on time.
    pub fn classify_finished(
        &self,
        due: DateTime<Utc>,
        finished: DateTime<Utc>,
        unit: TimeUnit,
    ) -> Outcome {
        let finished_day = Self::local_date(finished);
        let due_day = Self::local_date(due);
        match unit {
            TimeUnit::WorkingDays => match finished_day.cmp(&due_day) {
                std::cmp::Ordering::Less => Outcome::Early,
                std::cmp::Ordering::Equal => Outcome::OnTime,
                std::cmp::Ordering::Greater => Outcome::Late,
            },
            TimeUnit::WorkingHours => {
                if finished > due {
                    Outcome::Late
                } else if finished_day < due_day {
                    Outcome::Early
                } else {
                    Outcome::OnTime
                }
            }
        }
    }

    /// An open dossier is overdue once `at` is past its due instant.
    pub fn classify_open(due: DateTime<Utc>, at: DateTime<Utc>) -> Progress {
        if at > due {
            Progress::Overdue
        } else {
            Progress::WithinTime
        }
    }

    /// Working days spent on a dossier: the working minutes from the effective
    /// start (the start of the morning session of the effective start day, or
    /// `received` if that is later on the same day) to `finished`, divided by
    /// 480 (8 working hours a day). Never negative.
    pub fn working_days_used(&self, received: DateTime<Utc>, finished: DateTime<Utc>) -> f64 {
        let start_day = self.effective_start_day(received);
        let start = Self::local_datetime(start_day, self.hours.morning_start).max(received);
        let minutes = self.working_minutes_between(start, finished).max(0);
        minutes as f64 / MINUTES_PER_WORKING_DAY
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TimeUnit::{WorkingDays as D, WorkingHours as H};

    /// The official calendar shipped with the project.
    fn official() -> WorkingCalendar {
        #[derive(serde::Deserialize)]
        struct File {
            days: Vec<Entry>,
        }
        #[derive(serde::Deserialize)]
        struct Entry {
            date: NaiveDate,
            kind: DayKind,
        }
        let file: File = serde_json::from_str(include_str!("../../../data/holidays.json")).unwrap();
        WorkingCalendar::new(
            file.days.into_iter().map(|entry| (entry.date, entry.kind)),
            WorkingHours::default(),
        )
    }

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    /// A local (UTC+7) wall time, `YYYY-MM-DD HH:MM[:SS]`, as an instant,
    /// converted here independently of the code under test.
    fn at(text: &str) -> DateTime<Utc> {
        let naive = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
            .or_else(|_| chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M"))
            .unwrap();
        (naive - TimeDelta::hours(7)).and_utc()
    }

    /// An instant as local wall time, `YYYY-MM-DD HH:MM` (plus `:SS` if not 0).
    fn show(instant: DateTime<Utc>) -> String {
        let local = instant.naive_utc() + TimeDelta::hours(7);
        if local.format("%S").to_string() == "00" {
            local.format("%Y-%m-%d %H:%M").to_string()
        } else {
            local.format("%Y-%m-%d %H:%M:%S").to_string()
        }
    }

    #[test]
    fn local_time_is_utc_plus_seven() {
        let utc = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().to_utc();
        assert_eq!(
            WorkingCalendar::local_datetime(date("2025-03-03"), hm(7, 0)),
            utc("2025-03-03T00:00:00Z")
        );
        assert_eq!(
            WorkingCalendar::local_datetime(date("2025-03-03"), hm(0, 0)),
            utc("2025-03-02T17:00:00Z")
        );
        assert_eq!(
            WorkingCalendar::local_date(utc("2025-03-02T17:00:00Z")),
            date("2025-03-03")
        );
        assert_eq!(
            WorkingCalendar::local_date(utc("2025-03-02T16:59:59Z")),
            date("2025-03-02")
        );
        assert_eq!(
            official().end_of_day(date("2026-02-13")),
            utc("2026-02-13T10:00:00Z")
        );
    }

    #[test]
    fn due_dates() {
        // (received, local; amount; unit; expected due, local; label)
        let cases: &[(&str, u32, TimeUnit, &str, &str)] = &[
            // Working days: ordinary weeks.
            (
                "2025-03-03 09:00",
                5,
                D,
                "2025-03-10 17:00",
                "Monday morning, 5 days",
            ),
            (
                "2025-03-07 14:00",
                1,
                D,
                "2025-03-10 17:00",
                "Friday before the cut-off",
            ),
            (
                "2025-03-07 16:00",
                1,
                D,
                "2025-03-11 17:00",
                "Friday after the cut-off",
            ),
            (
                "2025-03-07 15:00:00",
                3,
                D,
                "2025-03-13 17:00",
                "Friday exactly at the cut-off counts as after",
            ),
            (
                "2025-03-07 14:59:59",
                3,
                D,
                "2025-03-12 17:00",
                "Friday one second before the cut-off",
            ),
            (
                "2025-03-08 09:00",
                2,
                D,
                "2025-03-12 17:00",
                "received on Saturday",
            ),
            (
                "2025-03-09 20:00",
                1,
                D,
                "2025-03-11 17:00",
                "received on Sunday evening",
            ),
            (
                "2025-03-03 06:30",
                1,
                D,
                "2025-03-04 17:00",
                "before the morning session counts that day",
            ),
            (
                "2025-03-03 22:00",
                1,
                D,
                "2025-03-05 17:00",
                "late evening is after the cut-off",
            ),
            (
                "2025-03-03 09:00",
                0,
                D,
                "2025-03-03 17:00",
                "amount 0 before the cut-off",
            ),
            (
                "2025-03-07 16:00",
                0,
                D,
                "2025-03-10 17:00",
                "amount 0 after the cut-off",
            ),
            // New Year 2025 and Tết 2025.
            (
                "2025-01-01 10:00",
                1,
                D,
                "2025-01-03 17:00",
                "received on New Year's Day 2025",
            ),
            (
                "2025-01-24 11:00",
                1,
                D,
                "2025-02-03 17:00",
                "Friday before Tết 2025",
            ),
            // 30/4–1/5 2025 with make-up Saturday 26 Apr.
            (
                "2025-04-25 10:00",
                1,
                D,
                "2025-04-26 17:00",
                "Friday, due on the make-up Saturday",
            ),
            (
                "2025-04-25 10:00",
                3,
                D,
                "2025-04-29 17:00",
                "Friday, 3 days through the make-up Saturday",
            ),
            (
                "2025-04-26 09:00",
                1,
                D,
                "2025-04-28 17:00",
                "make-up Saturday before the cut-off",
            ),
            (
                "2025-04-26 16:00",
                1,
                D,
                "2025-04-29 17:00",
                "make-up Saturday after the cut-off",
            ),
            (
                "2025-04-29 10:00",
                2,
                D,
                "2025-05-06 17:00",
                "Tuesday before the 30/4 break",
            ),
            (
                "2025-04-29 15:30",
                1,
                D,
                "2025-05-06 17:00",
                "Tuesday after the cut-off before 30/4",
            ),
            (
                "2025-05-01 09:00",
                1,
                D,
                "2025-05-06 17:00",
                "received on 1/5",
            ),
            // National Day 2025 (1–2 Sep).
            (
                "2025-08-29 10:00",
                1,
                D,
                "2025-09-03 17:00",
                "Friday before National Day 2025",
            ),
            (
                "2025-08-29 15:00",
                1,
                D,
                "2025-09-04 17:00",
                "Friday at the cut-off before National Day 2025",
            ),
            (
                "2025-09-02 08:00",
                0,
                D,
                "2025-09-03 17:00",
                "amount 0 on National Day 2025",
            ),
            // New Year 2026 with make-up Saturday 10 Jan.
            (
                "2025-12-31 10:00",
                2,
                D,
                "2026-01-06 17:00",
                "New Year's Eve 2025 before the cut-off",
            ),
            (
                "2025-12-31 16:00",
                1,
                D,
                "2026-01-06 17:00",
                "New Year's Eve 2025 after the cut-off",
            ),
            (
                "2026-01-09 10:00",
                1,
                D,
                "2026-01-10 17:00",
                "Friday, due on the make-up Saturday",
            ),
            (
                "2026-01-10 08:00",
                1,
                D,
                "2026-01-12 17:00",
                "make-up Saturday 10 Jan before the cut-off",
            ),
            (
                "2026-01-10 15:00",
                1,
                D,
                "2026-01-13 17:00",
                "make-up Saturday 10 Jan at the cut-off",
            ),
            // Tết 2026 (16–20 Feb off, weekends 14–15 and 21–22).
            (
                "2026-02-12 10:00",
                2,
                D,
                "2026-02-23 17:00",
                "Thursday before Tết 2026",
            ),
            (
                "2026-02-12 16:00",
                2,
                D,
                "2026-02-24 17:00",
                "Thursday after the cut-off before Tết 2026",
            ),
            (
                "2026-02-13 10:00",
                1,
                D,
                "2026-02-23 17:00",
                "Friday before Tết 2026",
            ),
            (
                "2026-02-13 15:00",
                1,
                D,
                "2026-02-24 17:00",
                "Friday at the cut-off before Tết 2026",
            ),
            (
                "2026-02-13 10:00",
                0,
                D,
                "2026-02-13 17:00",
                "amount 0 before Tết 2026",
            ),
            (
                "2026-02-13 16:00",
                0,
                D,
                "2026-02-23 17:00",
                "amount 0 after the cut-off before Tết 2026",
            ),
            (
                "2026-02-18 09:00",
                3,
                D,
                "2026-02-26 17:00",
                "received during Tết 2026",
            ),
            (
                "2026-02-09 09:00",
                15,
                D,
                "2026-03-09 17:00",
                "15 days across Tết 2026",
            ),
            // Hùng Kings 2026 (Mon 27 Apr) and 30/4–1/5 2026.
            (
                "2026-04-24 09:00",
                3,
                D,
                "2026-05-04 17:00",
                "across Hùng Kings and 30/4 2026",
            ),
            // National Day 2026 (31 Aug–2 Sep, make-up Saturday 22 Aug).
            (
                "2026-08-21 10:00",
                1,
                D,
                "2026-08-22 17:00",
                "Friday, due on the make-up Saturday 22 Aug",
            ),
            (
                "2026-08-22 14:00",
                5,
                D,
                "2026-08-28 17:00",
                "make-up Saturday 22 Aug before the cut-off",
            ),
            (
                "2026-08-28 10:00",
                1,
                D,
                "2026-09-03 17:00",
                "Friday before National Day 2026",
            ),
            // Working hours: no cut-off, sessions 07:00–11:30 and 13:30–17:00.
            (
                "2025-03-03 08:00",
                4,
                H,
                "2025-03-03 14:00",
                "hours across lunch",
            ),
            (
                "2025-03-03 12:00",
                2,
                H,
                "2025-03-03 15:30",
                "received between sessions",
            ),
            (
                "2025-03-03 12:00",
                8,
                H,
                "2025-03-04 11:30",
                "between sessions, ends exactly at a session end",
            ),
            (
                "2025-03-03 07:00",
                8,
                H,
                "2025-03-03 17:00",
                "one full day ends at 17:00, not next morning",
            ),
            (
                "2025-03-03 11:30",
                1,
                H,
                "2025-03-03 14:30",
                "received at the end of the morning session",
            ),
            (
                "2025-03-03 17:00",
                1,
                H,
                "2025-03-04 08:00",
                "received at the end of the day",
            ),
            (
                "2025-03-03 06:00",
                1,
                H,
                "2025-03-03 08:00",
                "received before the morning session",
            ),
            (
                "2025-03-03 10:15:30",
                1,
                H,
                "2025-03-03 11:15:30",
                "seconds are kept",
            ),
            (
                "2025-03-03 09:00",
                0,
                H,
                "2025-03-03 09:00",
                "0 hours inside a session",
            ),
            (
                "2025-03-03 12:00",
                0,
                H,
                "2025-03-03 13:30",
                "0 hours between sessions",
            ),
            (
                "2025-03-07 16:00",
                4,
                H,
                "2025-03-10 10:00",
                "hours across a weekend, no cut-off",
            ),
            (
                "2025-03-08 10:00",
                1,
                H,
                "2025-03-10 08:00",
                "hours received on Saturday",
            ),
            (
                "2025-04-26 10:00",
                2,
                H,
                "2025-04-26 14:00",
                "hours on the make-up Saturday",
            ),
            (
                "2026-01-09 16:00",
                2,
                H,
                "2026-01-10 08:00",
                "hours into the make-up Saturday 10 Jan",
            ),
            (
                "2026-02-13 15:00",
                8,
                H,
                "2026-02-23 15:00",
                "hours across Tết 2026",
            ),
            (
                "2025-04-29 16:30",
                24,
                H,
                "2025-05-07 16:30",
                "hours across 30/4 2025",
            ),
            (
                "2025-12-31 14:00",
                16,
                H,
                "2026-01-06 14:00",
                "hours across New Year 2026",
            ),
            (
                "2025-08-29 11:00",
                8,
                H,
                "2025-09-03 11:00",
                "hours across National Day 2025",
            ),
        ];
        assert!(cases.len() >= 30);
        let calendar = official();
        let mut failures = Vec::new();
        for (received, amount, unit, expected, label) in cases {
            let got = show(calendar.due(at(received), *amount, *unit));
            if got != *expected {
                failures.push(format!(
                    "{label}: {received} + {amount} {unit}: expected {expected}, got {got}"
                ));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn pause_and_resume() {
        // (unit; due; paused at; remaining; resumed at; new due; label), all local.
        let cases: &[(TimeUnit, &str, &str, Remaining, &str, &str, &str)] = &[
            (
                D,
                "2026-02-23 17:00",
                "2026-02-11 10:00",
                Remaining::Days(3),
                "2026-02-26 09:00",
                "2026-03-03 17:00",
                "paused before Tết 2026",
            ),
            (
                D,
                "2026-02-23 17:00",
                "2026-02-13 16:00",
                Remaining::Days(1),
                "2026-02-23 15:30",
                "2026-02-25 17:00",
                "resumed after the cut-off",
            ),
            (
                D,
                "2025-05-07 17:00",
                "2025-04-25 09:00",
                Remaining::Days(6),
                "2025-05-09 10:00",
                "2025-05-19 17:00",
                "paused before 30/4 2025",
            ),
            (
                D,
                "2025-03-07 17:00",
                "2025-03-07 09:00",
                Remaining::Days(0),
                "2025-03-10 08:00",
                "2025-03-10 17:00",
                "paused on the due day",
            ),
            (
                D,
                "2025-03-05 17:00",
                "2025-03-06 10:00",
                Remaining::Days(0),
                "2025-03-08 10:00",
                "2025-03-10 17:00",
                "paused when already overdue, resumed on Saturday",
            ),
            (
                D,
                "2025-03-12 17:00",
                "2025-03-08 10:00",
                Remaining::Days(3),
                "2025-03-11 14:00",
                "2025-03-14 17:00",
                "paused on a Saturday",
            ),
            (
                H,
                "2026-02-23 15:00",
                "2026-02-13 16:00",
                Remaining::Minutes(420),
                "2026-02-24 12:00",
                "2026-02-25 10:30",
                "hours paused before Tết 2026",
            ),
            (
                H,
                "2025-03-04 11:30",
                "2025-03-03 12:00",
                Remaining::Minutes(480),
                "2025-03-07 13:30",
                "2025-03-10 11:30",
                "hours paused at lunch, ends at a session end",
            ),
            (
                H,
                "2025-03-03 14:00",
                "2025-03-03 15:00",
                Remaining::Minutes(0),
                "2025-03-08 09:00",
                "2025-03-10 07:00",
                "hours paused when overdue",
            ),
            (
                H,
                "2025-05-05 10:00",
                "2025-04-29 16:00",
                Remaining::Minutes(240),
                "2025-05-06 16:30",
                "2025-05-07 10:30",
                "hours paused before 30/4 2025",
            ),
        ];
        let calendar = official();
        for (unit, due, paused, remaining, resumed, new_due, label) in cases {
            let got = calendar.remaining_at_pause(at(due), at(paused), *unit);
            assert_eq!(got, *remaining, "{label}: remaining");
            assert_eq!(
                show(calendar.resume(at(resumed), got, *unit)),
                *new_due,
                "{label}: new due"
            );
        }
    }

    #[test]
    fn resume_with_the_other_unit_converts_at_eight_hours_a_day() {
        let calendar = official();
        // 481 minutes round up to 2 days.
        assert_eq!(
            show(calendar.resume(at("2025-03-03 09:00"), Remaining::Minutes(481), D)),
            "2025-03-05 17:00"
        );
        assert_eq!(
            show(calendar.resume(at("2025-03-03 07:00"), Remaining::Days(1), H)),
            "2025-03-03 17:00"
        );
    }

    #[test]
    fn classification() {
        // (unit; due; finished; outcome; label), all local.
        let cases: &[(TimeUnit, &str, &str, Outcome, &str)] = &[
            (
                D,
                "2025-03-07 17:00",
                "2025-03-06 16:00",
                Outcome::Early,
                "days: the day before",
            ),
            (
                D,
                "2025-03-07 17:00",
                "2025-03-07 08:00",
                Outcome::OnTime,
                "days: the due day",
            ),
            (
                D,
                "2025-03-07 17:00",
                "2025-03-07 18:30",
                Outcome::OnTime,
                "days: the due day after hours",
            ),
            (
                D,
                "2025-03-07 17:00",
                "2025-03-07 23:59:59",
                Outcome::OnTime,
                "days: last second of the due day",
            ),
            (
                D,
                "2025-03-07 17:00",
                "2025-03-08 00:00",
                Outcome::Late,
                "days: local midnight is the next day",
            ),
            (
                D,
                "2025-03-07 17:00",
                "2025-03-10 09:00",
                Outcome::Late,
                "days: the next working day",
            ),
            (
                H,
                "2025-03-03 14:00",
                "2025-03-03 14:00",
                Outcome::OnTime,
                "hours: exactly at due",
            ),
            (
                H,
                "2025-03-03 14:00",
                "2025-03-03 14:00:01",
                Outcome::Late,
                "hours: one second late",
            ),
            (
                H,
                "2025-03-03 14:00",
                "2025-03-03 09:00",
                Outcome::OnTime,
                "hours: earlier the same day",
            ),
            (
                H,
                "2025-03-04 11:30",
                "2025-03-03 16:00",
                Outcome::Early,
                "hours: the day before",
            ),
            (
                H,
                "2025-03-03 14:00",
                "2025-03-03 18:00",
                Outcome::Late,
                "hours: same day after due",
            ),
        ];
        let calendar = official();
        for (unit, due, finished, outcome, label) in cases {
            assert_eq!(
                calendar.classify_finished(at(due), at(finished), *unit),
                *outcome,
                "{label}"
            );
        }

        let open: &[(&str, &str, Progress)] = &[
            ("2025-03-07 17:00", "2025-03-06 10:00", Progress::WithinTime),
            ("2025-03-07 17:00", "2025-03-07 17:00", Progress::WithinTime),
            ("2025-03-07 17:00", "2025-03-07 17:00:01", Progress::Overdue),
            ("2025-03-07 17:00", "2025-03-10 08:00", Progress::Overdue),
        ];
        for (due, now, progress) in open {
            assert_eq!(
                WorkingCalendar::classify_open(at(due), at(now)),
                *progress,
                "{due} at {now}"
            );
        }
    }

    #[test]
    fn working_days_between() {
        let cases: &[(&str, &str, u32, &str)] = &[
            ("2025-03-07", "2025-03-07", 0, "same day"),
            ("2025-03-07", "2025-03-06", 0, "reversed"),
            ("2025-03-07", "2025-03-10", 1, "Friday to Monday"),
            ("2025-03-03", "2025-03-10", 5, "one week"),
            ("2025-03-08", "2025-03-09", 0, "a weekend"),
            (
                "2025-04-25",
                "2025-05-05",
                4,
                "30/4 2025 with the make-up Saturday",
            ),
            ("2026-02-13", "2026-02-23", 1, "across Tết 2026"),
            ("2026-02-13", "2026-02-22", 0, "all of Tết 2026"),
            (
                "2025-12-31",
                "2026-01-12",
                7,
                "New Year 2026 with the make-up Saturday",
            ),
            (
                "2026-08-21",
                "2026-09-04",
                8,
                "National Day 2026 with the make-up Saturday",
            ),
            ("2026-04-24", "2026-05-04", 3, "Hùng Kings and 30/4 2026"),
            ("2025-01-01", "2025-12-31", 250, "the rest of 2025"),
        ];
        let calendar = official();
        for (from, to, expected, label) in cases {
            assert_eq!(
                calendar.working_days_between(date(from), date(to)),
                *expected,
                "{label}"
            );
        }
    }

    #[test]
    fn working_days_between_matches_counting_day_by_day() {
        let calendar = official();
        let first = date("2024-12-20");
        let days: Vec<NaiveDate> = first.iter_days().take(660).collect();
        for from in days.iter().step_by(13) {
            for to in days.iter().step_by(7) {
                let counted = days
                    .iter()
                    .filter(|d| *d > from && *d <= to && calendar.is_working_day(**d))
                    .count();
                assert_eq!(
                    calendar.working_days_between(*from, *to) as usize,
                    counted,
                    "{from} to {to}"
                );
            }
        }
    }

    #[test]
    fn working_minutes_between() {
        let cases: &[(&str, &str, i64, &str)] = &[
            (
                "2025-03-03 08:00",
                "2025-03-03 10:00",
                120,
                "within the morning",
            ),
            ("2025-03-03 08:00", "2025-03-03 14:00", 240, "across lunch"),
            ("2025-03-03 12:00", "2025-03-03 13:00", 0, "within lunch"),
            ("2025-03-03 07:00", "2025-03-03 17:00", 480, "a whole day"),
            ("2025-03-03 10:00", "2025-03-03 09:00", 0, "reversed"),
            ("2025-03-03 22:00", "2025-03-04 06:00", 0, "overnight"),
            (
                "2025-03-03 08:00:00",
                "2025-03-03 08:00:59",
                0,
                "under a minute",
            ),
            (
                "2025-03-03 08:00:30",
                "2025-03-03 08:01:30",
                1,
                "one minute with seconds",
            ),
            (
                "2025-03-07 16:00",
                "2025-03-10 08:00",
                120,
                "across a weekend",
            ),
            ("2025-03-08 08:00", "2025-03-09 16:00", 0, "a weekend"),
            (
                "2025-04-26 08:00",
                "2025-04-26 12:00",
                210,
                "the make-up Saturday",
            ),
            ("2025-03-05 10:00", "2025-03-12 10:00", 2400, "a week"),
            (
                "2026-02-13 07:00",
                "2026-02-23 17:00",
                960,
                "across Tết 2026",
            ),
        ];
        let calendar = official();
        for (from, to, expected, label) in cases {
            assert_eq!(
                calendar.working_minutes_between(at(from), at(to)),
                *expected,
                "{label}"
            );
        }
    }

    #[test]
    fn add_working_minutes() {
        let cases: &[(&str, i64, &str, &str)] = &[
            (
                "2025-03-03 08:00",
                0,
                "2025-03-03 08:00",
                "zero inside a session",
            ),
            (
                "2025-03-03 12:00",
                0,
                "2025-03-03 13:30",
                "zero between sessions",
            ),
            (
                "2025-03-03 12:00",
                -10,
                "2025-03-03 13:30",
                "negative is zero",
            ),
            (
                "2025-03-03 11:00",
                30,
                "2025-03-03 11:30",
                "exactly to the morning end",
            ),
            (
                "2025-03-03 11:00",
                31,
                "2025-03-03 13:31",
                "one minute past the morning end",
            ),
            (
                "2025-03-03 16:00",
                60,
                "2025-03-03 17:00",
                "exactly to the day end",
            ),
            (
                "2025-03-03 16:00",
                61,
                "2025-03-04 07:01",
                "one minute past the day end",
            ),
            (
                "2025-04-25 16:00",
                120,
                "2025-04-26 08:00",
                "into the make-up Saturday",
            ),
            (
                "2026-02-13 16:30",
                60,
                "2026-02-23 07:30",
                "across Tết 2026",
            ),
            (
                "2025-03-03 07:00",
                2400,
                "2025-03-07 17:00",
                "five whole days",
            ),
            (
                "2025-03-03 07:00",
                2401,
                "2025-03-10 07:01",
                "five days and a minute",
            ),
            (
                "2025-03-03 07:00",
                9600,
                "2025-03-28 17:00",
                "twenty whole days",
            ),
        ];
        let calendar = official();
        for (from, minutes, expected, label) in cases {
            assert_eq!(
                show(calendar.add_working_minutes(at(from), *minutes)),
                *expected,
                "{label}"
            );
        }
    }

    #[test]
    fn adding_then_measuring_minutes_round_trips() {
        let calendar = official();
        let starts = [
            "2025-04-24 09:10",
            "2026-02-12 13:45",
            "2025-12-31 08:00",
            "2026-08-21 16:59",
        ];
        for start in starts {
            for minutes in [1, 59, 270, 480, 481, 1000, 2400, 5000] {
                let end = calendar.add_working_minutes(at(start), minutes);
                assert_eq!(
                    calendar.working_minutes_between(at(start), end),
                    minutes,
                    "{start} + {minutes}"
                );
            }
        }
    }

    #[test]
    fn working_days_used() {
        let cases: &[(&str, &str, f64, &str)] = &[
            (
                "2025-03-03 09:00",
                "2025-03-03 13:00",
                0.3125,
                "from the receipt time",
            ),
            (
                "2025-03-03 06:00",
                "2025-03-03 17:00",
                1.0,
                "from the morning start",
            ),
            (
                "2025-03-03 14:00",
                "2025-03-04 17:00",
                1.375,
                "before the cut-off counts that afternoon",
            ),
            (
                "2025-03-07 16:00",
                "2025-03-10 11:00",
                0.5,
                "after the cut-off starts next working day",
            ),
            (
                "2025-03-07 16:00",
                "2025-03-07 16:30",
                0.0,
                "finished before the effective start",
            ),
            (
                "2025-03-08 10:00",
                "2025-03-12 17:00",
                3.0,
                "received on Saturday",
            ),
            (
                "2026-02-12 09:00",
                "2026-02-23 13:00",
                2.3125,
                "across Tết 2026",
            ),
        ];
        let calendar = official();
        for (received, finished, expected, label) in cases {
            let got = calendar.working_days_used(at(received), at(finished));
            assert!(
                (got - expected).abs() < 1e-9,
                "{label}: expected {expected}, got {got}"
            );
        }
    }

    #[test]
    fn describe() {
        let cases: &[(&str, bool, DayType)] = &[
            ("2025-03-03", true, DayType::Weekday),
            ("2025-03-08", false, DayType::Weekend),
            ("2025-03-09", false, DayType::Weekend),
            ("2025-04-26", true, DayType::MakeUpWorking),
            ("2025-04-30", false, DayType::Holiday),
            ("2025-09-02", false, DayType::Holiday),
            ("2026-01-02", false, DayType::Holiday),
            ("2026-01-10", true, DayType::MakeUpWorking),
            ("2026-02-17", false, DayType::Holiday),
            ("2026-02-21", false, DayType::Weekend),
            ("2026-02-23", true, DayType::Weekday),
            ("2026-04-27", false, DayType::Holiday),
            ("2026-08-22", true, DayType::MakeUpWorking),
        ];
        let calendar = official();
        for (day, working, day_type) in cases {
            let info = calendar.describe(date(day));
            assert_eq!(
                info,
                DayInfo {
                    date: date(day),
                    working: *working,
                    day_type: *day_type,
                    provisional: false,
                },
                "{day}"
            );
            assert_eq!(calendar.is_working_day(date(day)), *working, "{day}");
        }

        // Odd overrides: a holiday on a Sunday, a redundant working Monday.
        let odd = WorkingCalendar::new(
            [
                (date("2025-03-09"), DayKind::Holiday),
                (date("2025-03-10"), DayKind::Working),
            ],
            WorkingHours::default(),
        );
        assert_eq!(odd.describe(date("2025-03-09")).day_type, DayType::Holiday);
        assert!(!odd.describe(date("2025-03-09")).working);
        assert_eq!(odd.describe(date("2025-03-10")).day_type, DayType::Weekday);
        assert!(odd.describe(date("2025-03-10")).working);

        let json = serde_json::to_value(calendar.describe(date("2025-04-26"))).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"date": "2025-04-26", "working": true, "day_type": "make_up_working", "provisional": false})
        );
    }

    #[test]
    fn next_and_add_working_days() {
        let calendar = official();
        let cases: &[(&str, u32, &str)] = &[
            ("2025-03-07", 0, "2025-03-07"),
            ("2025-03-08", 0, "2025-03-08"),
            ("2025-03-07", 1, "2025-03-10"),
            ("2025-04-25", 1, "2025-04-26"),
            ("2025-04-29", 1, "2025-05-05"),
            ("2026-02-13", 1, "2026-02-23"),
            ("2026-02-13", 6, "2026-03-02"),
        ];
        for (from, n, expected) in cases {
            assert_eq!(
                calendar.add_working_days(date(from), *n),
                date(expected),
                "{from} + {n}"
            );
        }
        assert_eq!(
            calendar.next_working_day(date("2025-12-31")),
            date("2026-01-05")
        );
        assert_eq!(
            calendar.next_working_day(date("2026-01-09")),
            date("2026-01-10")
        );
    }

    #[test]
    fn an_all_holiday_calendar_terminates() {
        let start = date("2025-01-01");
        let holidays = start
            .iter_days()
            .take(5 * 366)
            .filter(|d| !is_weekend(*d))
            .map(|d| (d, DayKind::Holiday));
        let calendar = WorkingCalendar::new(holidays, WorkingHours::default());
        // Gives up after MAX_IDLE_DAYS (1098) days: 2025-01-01 + 1098 days.
        assert_eq!(calendar.next_working_day(start), date("2028-01-04"));
        assert_eq!(calendar.working_days_between(start, date("2029-12-31")), 0);
        let received = at("2025-01-01 09:00");
        let _ = calendar.due(received, 10, D);
        let _ = calendar.due(received, 10, H);
        let _ = calendar.resume(received, Remaining::Minutes(600), H);
        assert_eq!(
            calendar.working_minutes_between(received, at("2029-12-31 17:00")),
            0
        );
        assert_eq!(
            calendar.working_days_used(received, at("2029-12-31 17:00")),
            0.0
        );

        // Sessions of zero length never let time run out either.
        let nothing = WorkingHours {
            morning_start: hm(8, 0),
            morning_end: hm(8, 0),
            afternoon_start: hm(8, 0),
            afternoon_end: hm(8, 0),
            cutoff: hm(8, 0),
        };
        let empty = WorkingCalendar::new([], nothing);
        let _ = empty.due(received, 1, H);
    }

    #[test]
    fn far_future_amounts_terminate() {
        let calendar = official();
        // 2025-03-03 + 10 000 working days of an ordinary week pattern.
        let due = calendar.due(at("2025-03-03 09:00"), 10_000, D);
        assert!(WorkingCalendar::local_date(due) > date("2063-01-01"));
        let due = calendar.due(at("2025-03-03 09:00"), 80_000, H);
        assert!(WorkingCalendar::local_date(due) > date("2063-01-01"));
    }

    #[test]
    fn working_hours_default_and_validation() {
        let hours = WorkingHours::default();
        assert_eq!(
            (
                hours.morning_start,
                hours.morning_end,
                hours.afternoon_start,
                hours.afternoon_end,
                hours.cutoff
            ),
            (hm(7, 0), hm(11, 30), hm(13, 30), hm(17, 0), hm(15, 0))
        );
        assert_eq!(hours.validate(), Ok(()));
        assert_eq!(hours.day_seconds(), 8 * 3600);

        let overlapping = WorkingHours {
            afternoon_start: hm(11, 0),
            ..hours
        };
        assert_eq!(
            overlapping.validate(),
            Err(CalendarError::SessionsNotIncreasing)
        );
        let empty_morning = WorkingHours {
            morning_end: hm(7, 0),
            ..hours
        };
        assert_eq!(
            empty_morning.validate(),
            Err(CalendarError::SessionsNotIncreasing)
        );
        let late_cutoff = WorkingHours {
            cutoff: hm(17, 1),
            ..hours
        };
        assert!(matches!(
            late_cutoff.validate(),
            Err(CalendarError::CutoffOutsideWorkingDay { .. })
        ));
        let early_cutoff = WorkingHours {
            cutoff: hm(6, 59),
            ..hours
        };
        assert!(early_cutoff.validate().is_err());
        assert_eq!(
            WorkingHours {
                cutoff: hm(17, 0),
                ..hours
            }
            .validate(),
            Ok(())
        );
    }

    #[test]
    fn custom_hours_are_used() {
        let hours = WorkingHours {
            morning_start: hm(8, 0),
            morning_end: hm(12, 0),
            afternoon_start: hm(13, 0),
            afternoon_end: hm(17, 0),
            cutoff: hm(16, 0),
        };
        let calendar = WorkingCalendar::new([], hours);
        assert_eq!(calendar.hours(), &hours);
        assert_eq!(
            show(calendar.due(at("2025-03-07 15:30"), 1, D)),
            "2025-03-10 17:00"
        );
        assert_eq!(
            show(calendar.due(at("2025-03-03 12:30"), 1, H)),
            "2025-03-03 14:00"
        );
    }

    #[test]
    fn wire_names() {
        assert_eq!(
            serde_json::to_value(Remaining::Days(3)).unwrap(),
            serde_json::json!({"unit": "days", "value": 3})
        );
        assert_eq!(
            serde_json::to_value(Remaining::Minutes(420)).unwrap(),
            serde_json::json!({"unit": "minutes", "value": 420})
        );
        let back: Remaining = serde_json::from_str(r#"{"unit":"minutes","value":5}"#).unwrap();
        assert_eq!(back, Remaining::Minutes(5));
        assert_eq!("holiday".parse::<DayKind>(), Ok(DayKind::Holiday));
        assert_eq!(Outcome::OnTime.as_str(), "on_time");
        assert_eq!(Progress::WithinTime.as_str(), "within_time");
        assert_eq!(DayType::MakeUpWorking.as_str(), "make_up_working");
    }

    /// The shipped notices (2025, 2026) confirmed; every later year provisional.
    fn official_then_provisional() -> WorkingCalendar {
        let shipped = official();
        WorkingCalendar::with_official_years(shipped.overrides.clone(), [2025, 2026], shipped.hours)
    }

    #[test]
    fn due_dates_run_past_the_last_official_year() {
        let calendar = official_then_provisional();
        let cases = [
            // (received local, amount, unit, due local, why)
            (
                "2026-12-14 09:00",
                20,
                D,
                "2027-01-12 17:00",
                "1 Jan 2027 (Fri) is a holiday though no notice for 2027 exists",
            ),
            (
                "2027-02-04 09:00",
                3,
                D,
                "2027-02-16 17:00",
                "provisional Tết 2027: Fri 5 and Mon 8 – Thu 11 Feb off; Fri 12, Mon 15, Tue 16",
            ),
            (
                "2027-04-29 10:00",
                2,
                D,
                "2027-05-05 17:00",
                "30 Apr (Fri), 1 May on Saturday compensated on Mon 3 May",
            ),
            (
                "2026-12-31 16:00",
                1,
                D,
                "2027-01-05 17:00",
                "after the cut-off on 31 Dec: counts from Mon 4 Jan",
            ),
        ];
        for (received, amount, unit, expected, why) in cases {
            let due = calendar.due(at(received), amount, unit);
            assert_eq!(show(due), expected, "{why}");
        }
        // The same request on the overrides alone walks over New Year's Day.
        let overrides_only = official();
        assert_eq!(
            show(overrides_only.due(at("2026-12-14 09:00"), 20, D)),
            "2027-01-11 17:00"
        );
    }

    #[test]
    fn provisional_days_are_marked_and_overridable() {
        let calendar = official_then_provisional();
        let new_year = calendar.describe(date("2027-01-01"));
        assert_eq!(new_year.day_type, DayType::Holiday);
        assert!(new_year.provisional && !new_year.working);
        assert!(!calendar.describe(date("2026-01-01")).provisional);
        assert!(calendar.rests_on_provisional(date("2026-12-14"), date("2027-01-12")));
        assert!(!calendar.rests_on_provisional(date("2026-03-02"), date("2026-03-30")));
        assert_eq!(
            calendar.provisional_name(date("2027-04-16")),
            Some("Giỗ Tổ Hùng Vương (10/3 âm lịch)")
        );

        // An override entered for a provisional year wins over the generated day.
        let mut overrides = official().overrides;
        overrides.insert(date("2027-09-03"), DayKind::Working);
        overrides.insert(date("2027-01-04"), DayKind::Holiday);
        let edited =
            WorkingCalendar::with_official_years(overrides, [2025, 2026], WorkingHours::default());
        assert!(edited.is_working_day(date("2027-09-03")));
        assert!(!edited.is_working_day(date("2027-01-04")));
        assert_eq!(edited.provisional_name(date("2027-09-03")), None);

        // Confirming the year drops the generated days: only entered ones count.
        let confirmed = WorkingCalendar::with_official_years(
            official().overrides,
            [2025, 2026, 2027],
            WorkingHours::default(),
        );
        assert!(confirmed.is_working_day(date("2027-01-01")));
    }

    #[test]
    fn counting_working_days_sees_generated_holidays() {
        let calendar = official_then_provisional();
        // Dec 2026 – Jan 2027: 1 Jan 2027 is off.
        let cases = [
            ("2026-12-31", "2027-01-04", 1),
            ("2026-12-30", "2027-01-08", 6),
            ("2027-02-04", "2027-02-12", 1),
            // 261 weekdays (2027 starts on a Friday) less 11 days off.
            ("2027-01-01", "2027-12-31", 261 - 11),
        ];
        for (from, to, expected) in cases {
            let counted = calendar.working_days_between(date(from), date(to));
            let walked = (1..=400)
                .map(|n| date(from) + chrono::Days::new(n))
                .take_while(|day| *day <= date(to))
                .filter(|day| calendar.is_working_day(*day))
                .count();
            assert_eq!(counted as usize, walked, "{from}..{to} walked");
            assert_eq!(counted, expected, "{from}..{to}");
        }
    }

    #[test]
    fn running_days_leave_out_supplement_pauses() {
        let calendar = official();
        let d = |raw: &str| date(raw);
        /// (from, to, pauses, running days, why)
        type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], u32, &'a str);
        let cases: &[Case] = &[
            ("2026-03-02", "2026-03-30", &[], 20, "no pause"),
            (
                "2026-03-02",
                "2026-03-30",
                &[("2026-03-09", "2026-03-16")],
                15,
                "a week waiting for the applicant",
            ),
            (
                "2026-03-02",
                "2026-03-30",
                &[("2026-03-09", "2026-03-16"), ("2026-03-12", "2026-03-18")],
                13,
                "overlapping pauses count once",
            ),
            (
                "2026-03-02",
                "2026-03-30",
                &[("2026-02-20", "2026-03-04")],
                18,
                "a pause before reception is clipped",
            ),
            (
                "2026-02-13",
                "2026-02-27",
                &[("2026-02-13", "2026-02-24")],
                3,
                "Tết inside the pause: only 23, 24 paused; 25, 26, 27 ran",
            ),
            (
                "2026-03-02",
                "2026-03-30",
                &[("2026-03-16", "2026-03-09")],
                20,
                "reversed pause ignored",
            ),
        ];
        for (from, to, pauses, expected, why) in cases {
            let pauses: Vec<_> = pauses.iter().map(|(a, b)| (d(a), d(b))).collect();
            assert_eq!(
                calendar.working_days_running(d(from), d(to), &pauses),
                *expected,
                "{why}"
            );
        }
    }
}
