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

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc, Weekday};

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
}

mod due;

#[cfg(test)]
mod tests;
