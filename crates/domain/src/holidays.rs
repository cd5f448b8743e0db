//! The public holidays the Labour Code fixes for any year (Bộ luật Lao động
//! 2019, art. 112), used where no official notice has been entered yet.
//!
//! The law fixes the holidays; the Government's yearly notice picks the exact
//! Tết span and the day next to National Day, and adds swaps (make-up
//! Saturdays). Without that notice this module makes the usual choice — the
//! last day of the lunar year and the first four of the new one; the day
//! before or after 2 September that joins a weekend — and applies the
//! compensatory rule: a holiday on a Saturday or Sunday gives the next working
//! day off. Such days are provisional until an admin confirms the year.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use chrono::{Datelike, Days, NaiveDate, Weekday};

use crate::lunar::{self, LunarDate};

/// The years for which holidays are generated (the calendar API's range).
pub const YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

/// A weekday off under the Labour Code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatutoryDay {
    pub date: NaiveDate,
    pub name: String,
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

fn ymd(year: i32, month: u32, day: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year, month, day)
}

/// The holidays themselves, weekends included, in date order.
fn holidays(year: i32) -> Vec<(NaiveDate, String)> {
    let mut days = Vec::new();
    if let Some(day) = ymd(year, 1, 1) {
        days.push((day, "Tết Dương lịch".to_owned()));
    }
    if let Some(first) = lunar::new_year(year) {
        let eve = first.pred_opt();
        let new_year_days = (0..4).filter_map(|n| first.checked_add_days(Days::new(n)));
        for (n, day) in eve.into_iter().chain(new_year_days).enumerate() {
            let label = if n == 0 {
                "ngày cuối năm âm lịch".to_owned()
            } else {
                format!("mùng {n} Tết")
            };
            days.push((day, format!("Tết Nguyên đán ({label})")));
        }
    }
    let hung_kings = lunar::to_solar(LunarDate {
        day: 10,
        month: 3,
        year,
        leap: false,
    });
    if let Some(day) = hung_kings {
        days.push((day, "Giỗ Tổ Hùng Vương (10/3 âm lịch)".to_owned()));
    }
    if let Some(day) = ymd(year, 4, 30) {
        days.push((
            day,
            "Ngày Giải phóng miền Nam, thống nhất đất nước".to_owned(),
        ));
    }
    if let Some(day) = ymd(year, 5, 1) {
        days.push((day, "Ngày Quốc tế Lao động".to_owned()));
    }
    if let Some(national_day) = ymd(year, 9, 2) {
        days.push((national_day, "Quốc khánh".to_owned()));
        if let Some(adjacent) = national_day_adjacent(national_day) {
            days.push((adjacent, "Quốc khánh (ngày liền kề)".to_owned()));
        }
    }
    days.sort_by_key(|(day, _)| *day);
    days.dedup_by_key(|(day, _)| *day);
    days
}

/// The day before or after 2 September: the weekday that joins a weekend
/// (Monday 1 or Friday 3), else the day before if it is a weekday, else the
/// day after — the choices of the notices of 2021–2026.
fn national_day_adjacent(national_day: NaiveDate) -> Option<NaiveDate> {
    let before = national_day.pred_opt()?;
    let after = national_day.succ_opt()?;
    let joins_weekend = |day: NaiveDate| matches!(day.weekday(), Weekday::Mon | Weekday::Fri);
    [before, after]
        .into_iter()
        .find(|day| joins_weekend(*day))
        .or_else(|| [before, after].into_iter().find(|day| !is_weekend(*day)))
}

/// The weekdays off in `year`: the holidays on weekdays, and for each holiday
/// on a weekend the next weekday that is not already a day off.
pub fn statutory_days(year: i32) -> Vec<StatutoryDay> {
    let holidays = holidays(year);
    let mut off: BTreeMap<NaiveDate, String> = holidays
        .iter()
        .filter(|(day, _)| !is_weekend(*day))
        .cloned()
        .collect();
    for (day, name) in holidays.iter().filter(|(day, _)| is_weekend(*day)) {
        let mut candidate = *day;
        loop {
            candidate = match candidate.succ_opt() {
                Some(next) => next,
                None => break,
            };
            let taken = off.contains_key(&candidate)
                || holidays.iter().any(|(holiday, _)| *holiday == candidate);
            if !is_weekend(candidate) && !taken {
                off.insert(candidate, format!("Nghỉ bù {name}"));
                break;
            }
        }
    }
    off.into_iter()
        .map(|(date, name)| StatutoryDay { date, name })
        .collect()
}

/// Every year's statutory weekdays off in [`YEARS`], computed once.
pub fn all_statutory_days() -> &'static BTreeMap<NaiveDate, String> {
    static TABLE: OnceLock<BTreeMap<NaiveDate, String>> = OnceLock::new();
    TABLE.get_or_init(|| {
        YEARS
            .flat_map(statutory_days)
            .map(|day| (day.date, day.name))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(raw: &str) -> NaiveDate {
        NaiveDate::parse_from_str(raw, "%Y-%m-%d").unwrap()
    }

    fn dates(year: i32) -> Vec<String> {
        statutory_days(year)
            .into_iter()
            .map(|d| d.date.format("%Y-%m-%d").to_string())
            .collect()
    }

    #[test]
    fn labour_code_days_of_a_year_without_notice() {
        // 2027: Fri 1 Jan; Tết Sat 6 Feb, so the eve (Fri 5 Feb), Mon 8 and
        // Tue 9 Feb (mùng 3–4) fall on weekdays and mùng 1–2 on the weekend
        // give Wed 10 and Thu 11 Feb; Hùng Kings Fri 16 Apr; Fri 30 Apr;
        // 1 May is a Saturday, so Mon 3 May; 2 Sep Thu with Fri 3 Sep.
        assert_eq!(
            dates(2027),
            [
                "2027-01-01",
                "2027-02-05",
                "2027-02-08",
                "2027-02-09",
                "2027-02-10",
                "2027-02-11",
                "2027-04-16",
                "2027-04-30",
                "2027-05-03",
                "2027-09-02",
                "2027-09-03",
            ]
        );
    }

    #[test]
    fn the_day_next_to_national_day_joins_a_weekend() {
        let cases = [
            // (year, weekday of 2 Sep, expected adjacent day)
            (2021, "2021-09-03"), // Thu → Fri 3
            (2022, "2022-09-01"), // Fri → Thu 1
            (2023, "2023-09-01"), // Sat → Fri 1
            (2024, "2024-09-03"), // Mon → Tue 3 (1 Sep is a Sunday)
            (2025, "2025-09-01"), // Tue → Mon 1
            (2026, "2026-09-01"), // Wed → Tue 1
            (2029, "2029-09-03"), // Sun → Mon 3
        ];
        for (year, expected) in cases {
            let national_day = NaiveDate::from_ymd_opt(year, 9, 2).unwrap();
            assert_eq!(
                national_day_adjacent(national_day),
                Some(date(expected)),
                "{year}"
            );
        }
    }

    #[test]
    fn weekend_holidays_are_compensated_on_the_next_free_weekday() {
        // 2023: 2 Sep is a Saturday, 1 Sep (Fri) is the adjacent day, so the
        // compensatory day is Mon 4 Sep, as the 2023 notice gave.
        let days = dates(2023);
        assert!(days.contains(&"2023-09-01".to_owned()));
        assert!(days.contains(&"2023-09-04".to_owned()));
        // 2029: 2 Sep Sunday, adjacent Mon 3 Sep, compensatory Tue 4 Sep.
        let days = dates(2029);
        assert!(days.contains(&"2029-09-03".to_owned()));
        assert!(days.contains(&"2029-09-04".to_owned()));
    }

    #[test]
    fn every_year_has_the_eleven_labour_code_days_off_on_weekdays() {
        for year in YEARS {
            let days = statutory_days(year);
            // 1 + 5 + 1 + 1 + 1 + 2 holidays, each moved to a weekday.
            assert_eq!(days.len(), 11, "{year}: {days:?}");
            assert!(days.iter().all(|d| !is_weekend(d.date)), "{year}");
        }
    }

    #[test]
    fn the_table_covers_every_year() {
        let table = all_statutory_days();
        assert!(table.contains_key(&date("2000-01-03"))); // 1 Jan 2000 was a Saturday
        assert!(table.contains_key(&date("2100-04-30")));
        assert_eq!(table.len(), YEARS.count() * 11);
    }
}
