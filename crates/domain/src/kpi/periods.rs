//! Periods: grains of the aggregate rows, the covering of a range, display buckets and named periods.

use chrono::{Datelike, NaiveDate};

use super::Grain;

/// First day of the period of `grain` containing `day`.
pub fn period_start(grain: Grain, day: NaiveDate) -> NaiveDate {
    match grain {
        Grain::Day => day,
        Grain::Month => day.with_day(1).unwrap_or(day),
        Grain::Year => NaiveDate::from_ymd_opt(day.year(), 1, 1).unwrap_or(day),
    }
}

pub(super) fn next_start(grain: Grain, start: NaiveDate) -> NaiveDate {
    match grain {
        Grain::Day => start.succ_opt().unwrap_or(start),
        Grain::Month => {
            let (y, m) = if start.month() == 12 {
                (start.year() + 1, 1)
            } else {
                (start.year(), start.month() + 1)
            };
            NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(start)
        }
        Grain::Year => NaiveDate::from_ymd_opt(start.year() + 1, 1, 1).unwrap_or(start),
    }
}

/// A run of whole periods of one grain: `from` to `to`, exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub grain: Grain,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// The fewest whole days, months and years that exactly cover `[from, to)`.
pub fn cover(from: NaiveDate, to: NaiveDate) -> Vec<Span> {
    let mut spans = Vec::new();
    let mut at = from;
    let mut push = |grain: Grain, at: &mut NaiveDate, end: NaiveDate| {
        if end > *at {
            spans.push(Span {
                grain,
                from: *at,
                to: end,
            });
            *at = end;
        }
    };
    let month_of_to = period_start(Grain::Month, to);
    let year_of_to = period_start(Grain::Year, to);
    if at < to && period_start(Grain::Month, at) != at {
        let end = next_start(Grain::Month, period_start(Grain::Month, at)).min(to);
        push(Grain::Day, &mut at, end);
    }
    if at < to && period_start(Grain::Year, at) != at {
        let end = next_start(Grain::Year, period_start(Grain::Year, at)).min(month_of_to);
        push(Grain::Month, &mut at, end);
    }
    if at < to && period_start(Grain::Year, at) == at {
        push(Grain::Year, &mut at, year_of_to);
    }
    if at < to && period_start(Grain::Month, at) == at {
        push(Grain::Month, &mut at, month_of_to);
    }
    if at < to {
        push(Grain::Day, &mut at, to);
    }
    spans
}

/// The first day aggregates are kept from; stocks sum everything since.
pub fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or(NaiveDate::MIN)
}

crate::string_enum! {
    /// How a time series is cut.
    pub enum Granularity {
        Day => "day",
        /// ISO weeks, Monday to Sunday.
        Week => "week",
        Month => "month",
        Quarter => "quarter",
        Year => "year",
    }
}

/// First day of the bucket of `granularity` containing `day`.
pub fn bucket_start(granularity: Granularity, day: NaiveDate) -> NaiveDate {
    match granularity {
        Granularity::Day => day,
        Granularity::Week => {
            day - chrono::Duration::days(i64::from(day.weekday().num_days_from_monday()))
        }
        Granularity::Month => period_start(Grain::Month, day),
        Granularity::Quarter => {
            NaiveDate::from_ymd_opt(day.year(), (day.month0() / 3) * 3 + 1, 1).unwrap_or(day)
        }
        Granularity::Year => period_start(Grain::Year, day),
    }
}

fn bucket_after(granularity: Granularity, start: NaiveDate) -> NaiveDate {
    match granularity {
        Granularity::Day => next_start(Grain::Day, start),
        Granularity::Week => start + chrono::Duration::days(7),
        Granularity::Month => next_start(Grain::Month, start),
        Granularity::Quarter => next_start(
            Grain::Month,
            next_start(Grain::Month, next_start(Grain::Month, start)),
        ),
        Granularity::Year => next_start(Grain::Year, start),
    }
}

/// The buckets cutting `[from, to)`: calendar periods, the first and last
/// cut to the range.
pub fn buckets(
    granularity: Granularity,
    from: NaiveDate,
    to: NaiveDate,
) -> Vec<(NaiveDate, NaiveDate)> {
    let mut out = Vec::new();
    let mut at = from;
    while at < to {
        let end = bucket_after(granularity, bucket_start(granularity, at)).min(to);
        if end <= at {
            break;
        }
        out.push((at, end));
        at = end;
    }
    out
}

/// A named period: `2026`, `2026-Q2`, `2026-03` or `2026-03-05`, as `[from, to)`.
pub fn parse_period(text: &str) -> Option<(NaiveDate, NaiveDate)> {
    let text = text.trim();
    let year_of = |s: &str| {
        s.parse::<i32>()
            .ok()
            .filter(|y| (2000..=2100).contains(y) && s.len() == 4)
    };
    if let Some(year) = year_of(text) {
        let from = NaiveDate::from_ymd_opt(year, 1, 1)?;
        return Some((from, next_start(Grain::Year, from)));
    }
    let (year, rest) = text.split_once('-')?;
    let year = year_of(year)?;
    if let Some(q) = rest.strip_prefix('Q').or_else(|| rest.strip_prefix('q')) {
        let q: u32 = q.parse().ok().filter(|q| (1..=4).contains(q))?;
        let from = NaiveDate::from_ymd_opt(year, (q - 1) * 3 + 1, 1)?;
        return Some((from, bucket_after(Granularity::Quarter, from)));
    }
    if rest.len() == 2 {
        let month: u32 = rest.parse().ok()?;
        let from = NaiveDate::from_ymd_opt(year, month, 1)?;
        return Some((from, next_start(Grain::Month, from)));
    }
    let day = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    Some((day, next_start(Grain::Day, day)))
}
