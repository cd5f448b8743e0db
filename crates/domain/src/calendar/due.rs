//! Due-date arithmetic on the working calendar: counting working days,
//! adding working time, pausing and resuming the clock, outcomes.

use std::ops::Bound::{Excluded, Included};

use chrono::{DateTime, Days, NaiveDate, NaiveTime, TimeDelta, Utc};

use super::{
    DayKind, MAX_IDLE_DAYS, MINUTES_PER_WORKING_DAY, Outcome, Progress, Remaining, WorkingCalendar,
    is_weekend,
};
use crate::procedure::TimeUnit;

impl WorkingCalendar {
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
