//! The Vietnamese lunar calendar (âm lịch), for the holidays that move with it.
//!
//! Months start on the day of the astronomical new moon in Vietnam's time zone
//! (UTC+7, which is why some years differ from the Chinese calendar, kept at
//! UTC+8); the eleventh month holds the winter solstice, and a year with
//! thirteen months repeats the first month that holds no major solar term.
//! The astronomy is the published method of Hồ Ngọc Đức (new moons and solar
//! longitude after Meeus, *Astronomical Algorithms*), accurate to the day for
//! the years the calendar API accepts (checked against published Tết and Hùng
//! Kings dates in the tests).

use std::f64::consts::PI;

use chrono::{Datelike, NaiveDate};

/// Vietnam's time zone in hours east of UTC.
const TIME_ZONE_HOURS: f64 = 7.0;

/// Julian day number of 1900-01-01 12:00 minus a half day: the epoch of the
/// new-moon series (k = 0 is the new moon of 1900-01-01).
const NEW_MOON_EPOCH: f64 = 2_415_021.076_998_695;

/// Mean length of a synodic month in days.
const SYNODIC_MONTH: f64 = 29.530_588_853;

/// Julian day number of 0001-01-01 minus one: `jdn - JDN_CE_OFFSET` is chrono's
/// day count from the common era.
const JDN_CE_OFFSET: i64 = 1_721_425;

fn julian_day_number(date: NaiveDate) -> i64 {
    i64::from(date.num_days_from_ce()) + JDN_CE_OFFSET
}

fn date_of_julian_day(jdn: i64) -> Option<NaiveDate> {
    i32::try_from(jdn - JDN_CE_OFFSET)
        .ok()
        .and_then(NaiveDate::from_num_days_from_ce_opt)
}

/// The instant (Julian day, UT) of the `k`-th new moon after 1900-01-01.
fn new_moon(k: f64) -> f64 {
    let t = k / 1236.85;
    let t2 = t * t;
    let t3 = t2 * t;
    let dr = PI / 180.0;
    let mut jd1 = 2_415_020.759_33 + 29.530_588_68 * k + 0.000_117_8 * t2 - 0.000_000_155 * t3;
    jd1 += 0.000_33 * ((166.56 + 132.87 * t - 0.009_173 * t2) * dr).sin();
    let m = 359.2242 + 29.105_356_08 * k - 0.000_033_3 * t2 - 0.000_003_47 * t3;
    let mpr = 306.0253 + 385.816_918_06 * k + 0.010_730_6 * t2 + 0.000_012_36 * t3;
    let f = 21.2964 + 390.670_506_46 * k - 0.001_652_8 * t2 - 0.000_002_39 * t3;
    let mut c1 = (0.1734 - 0.000_393 * t) * (m * dr).sin() + 0.0021 * (2.0 * dr * m).sin();
    c1 = c1 - 0.4068 * (mpr * dr).sin() + 0.0161 * (dr * 2.0 * mpr).sin();
    c1 -= 0.0004 * (dr * 3.0 * mpr).sin();
    c1 = c1 + 0.0104 * (dr * 2.0 * f).sin() - 0.0051 * (dr * (m + mpr)).sin();
    c1 = c1 - 0.0074 * (dr * (m - mpr)).sin() + 0.0004 * (dr * (2.0 * f + m)).sin();
    c1 = c1 - 0.0004 * (dr * (2.0 * f - m)).sin() - 0.0006 * (dr * (2.0 * f + mpr)).sin();
    c1 = c1 + 0.0010 * (dr * (2.0 * f - mpr)).sin() + 0.0005 * (dr * (2.0 * mpr + m)).sin();
    let delta_t = if t < -11.0 {
        0.001 + 0.000_839 * t + 0.000_226_1 * t2 - 0.000_008_45 * t3 - 0.000_000_081 * t * t3
    } else {
        -0.000_278 + 0.000_265 * t + 0.000_262 * t2
    };
    jd1 + c1 - delta_t
}

/// `x` rounded down. Every value here is a Julian day, a new-moon index or a
/// sector of a date that chrono can represent (|x| < 10¹⁰), so it always fits.
fn day_floor(x: f64) -> i64 {
    crate::numeric::floor_i64(x).unwrap_or(0)
}

/// The local day (Julian day number) of the `k`-th new moon.
fn new_moon_day(k: i64) -> i64 {
    day_floor(new_moon(k as f64) + 0.5 + TIME_ZONE_HOURS / 24.0)
}

/// The sun's apparent longitude in radians, normalised to [0, 2π), at Julian
/// day `jd` (UT).
fn sun_longitude(jd: f64) -> f64 {
    let t = (jd - 2_451_545.0) / 36_525.0;
    let t2 = t * t;
    let dr = PI / 180.0;
    let m = 357.529_10 + 35_999.050_30 * t - 0.000_155_9 * t2 - 0.000_000_48 * t * t2;
    let l0 = 280.466_45 + 36_000.769_83 * t + 0.000_303_2 * t2;
    let mut dl = (1.914_600 - 0.004_817 * t - 0.000_014 * t2) * (dr * m).sin();
    dl += (0.019_993 - 0.000_101 * t) * (dr * 2.0 * m).sin() + 0.000_290 * (dr * 3.0 * m).sin();
    let l = (l0 + dl) * dr;
    l - 2.0 * PI * (l / (2.0 * PI)).floor()
}

/// Which of the twelve 30° sectors of the ecliptic the sun is in at the start
/// of local day `jdn` (0 = from the March equinox).
fn sun_sector(jdn: i64) -> i64 {
    day_floor(sun_longitude(jdn as f64 - 0.5 - TIME_ZONE_HOURS / 24.0) / PI * 6.0)
}

/// The first day (Julian day number) of the eleventh lunar month of the lunar
/// year mostly in Gregorian `year`: the month holding the winter solstice.
fn month_eleven_start(year: i32) -> i64 {
    let last_day = NaiveDate::from_ymd_opt(year, 12, 31).map_or(0, julian_day_number);
    let k = day_floor((last_day as f64 - 2_415_021.0) / SYNODIC_MONTH);
    let new_moon = new_moon_day(k);
    if sun_sector(new_moon) >= 9 {
        new_moon_day(k - 1)
    } else {
        new_moon
    }
}

/// Index of the leap month counted from month 11 of a thirteen-month year
/// starting at `month_eleven`: the first month without a major solar term.
fn leap_month_offset(month_eleven: i64) -> i64 {
    let k = day_floor((month_eleven as f64 - NEW_MOON_EPOCH) / SYNODIC_MONTH + 0.5);
    let mut i = 1;
    let mut sector = sun_sector(new_moon_day(k + i));
    loop {
        let last = sector;
        i += 1;
        sector = sun_sector(new_moon_day(k + i));
        if sector == last || i >= 14 {
            break;
        }
    }
    i - 1
}

/// A date of the lunar calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LunarDate {
    pub day: u32,
    pub month: u32,
    /// The lunar year, named by the Gregorian year in which its first month begins.
    pub year: i32,
    /// Whether `month` is the repeated (leap) month of that year.
    pub leap: bool,
}

/// The Gregorian date of a lunar date; `None` when the date does not exist
/// (a leap month the year does not have, day or month out of range).
pub fn to_solar(lunar: LunarDate) -> Option<NaiveDate> {
    if !(1..=30).contains(&lunar.day) || !(1..=12).contains(&lunar.month) {
        return None;
    }
    let (a11, b11) = if lunar.month < 11 {
        (
            month_eleven_start(lunar.year - 1),
            month_eleven_start(lunar.year),
        )
    } else {
        (
            month_eleven_start(lunar.year),
            month_eleven_start(lunar.year + 1),
        )
    };
    let k = day_floor(0.5 + (a11 as f64 - NEW_MOON_EPOCH) / SYNODIC_MONTH);
    let mut offset = (i64::from(lunar.month) - 11).rem_euclid(12);
    if b11 - a11 > 365 {
        let leap_offset = leap_month_offset(a11);
        let leap_month = (leap_offset - 2).rem_euclid(12);
        if lunar.leap && i64::from(lunar.month) != leap_month {
            return None;
        }
        if lunar.leap || offset >= leap_offset {
            offset += 1;
        }
    } else if lunar.leap {
        return None;
    }
    let month_start = new_moon_day(k + offset);
    let next_month_start = new_moon_day(k + offset + 1);
    let jdn = month_start + i64::from(lunar.day) - 1;
    if jdn >= next_month_start {
        return None;
    }
    date_of_julian_day(jdn)
}

/// The first day of the lunar year `year` (mùng 1 Tết).
pub fn new_year(year: i32) -> Option<NaiveDate> {
    to_solar(LunarDate {
        day: 1,
        month: 1,
        year,
        leap: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(raw: &str) -> NaiveDate {
        NaiveDate::parse_from_str(raw, "%Y-%m-%d").unwrap()
    }

    /// Tết Nguyên đán as published (Vietnamese calendar, UTC+7); the years
    /// where it differs from the Chinese calendar (UTC+8) are the sharp tests.
    const TET: &[(i32, &str)] = &[
        (1985, "1985-01-21"), // differs from the Chinese calendar (20 Feb)
        (2007, "2007-02-17"), // differs from the Chinese calendar (18 Feb)
        (2020, "2020-01-25"),
        (2021, "2021-02-12"),
        (2022, "2022-02-01"),
        (2023, "2023-01-22"),
        (2024, "2024-02-10"),
        (2025, "2025-01-29"),
        (2026, "2026-02-17"),
        (2027, "2027-02-06"),
        (2028, "2028-01-26"),
        (2029, "2029-02-13"),
        (2030, "2030-02-02"), // differs from the Chinese calendar (3 Feb)
        (2031, "2031-01-23"),
        (2032, "2032-02-11"),
        (2033, "2033-01-31"),
        (2034, "2034-02-19"),
        (2035, "2035-02-08"),
    ];

    /// Giỗ Tổ Hùng Vương (10th day of the 3rd lunar month) as published, and
    /// agreeing with the Chinese calendar for these years.
    const HUNG_KINGS: &[(i32, &str)] = &[
        (2020, "2020-04-02"),
        (2021, "2021-04-21"),
        (2022, "2022-04-10"),
        (2023, "2023-04-29"),
        (2024, "2024-04-18"),
        (2025, "2025-04-07"),
        (2026, "2026-04-26"),
        (2027, "2027-04-16"),
        (2028, "2028-04-04"),
        (2029, "2029-04-23"),
        (2030, "2030-04-12"),
        (2031, "2031-04-01"),
        (2032, "2032-04-19"),
        (2033, "2033-04-09"),
        (2034, "2034-04-28"),
        (2035, "2035-04-17"),
    ];

    #[test]
    fn lunar_new_year_matches_published_dates() {
        for (year, expected) in TET {
            assert_eq!(new_year(*year), Some(date(expected)), "Tết {year}");
        }
    }

    #[test]
    fn hung_kings_day_matches_published_dates() {
        for (year, expected) in HUNG_KINGS {
            let day = to_solar(LunarDate {
                day: 10,
                month: 3,
                year: *year,
                leap: false,
            });
            assert_eq!(day, Some(date(expected)), "Hùng Kings {year}");
        }
    }

    #[test]
    fn leap_months_exist_only_where_the_year_has_one() {
        // 2023 repeated the 2nd month (nhuận tháng 2: 2023-03-22 .. 2023-04-19).
        let leap = LunarDate {
            day: 1,
            month: 2,
            year: 2023,
            leap: true,
        };
        assert_eq!(to_solar(leap), Some(date("2023-03-22")));
        assert_eq!(to_solar(LunarDate { month: 3, ..leap }), None);
        assert_eq!(to_solar(LunarDate { year: 2024, ..leap }), None);
    }

    #[test]
    fn impossible_dates_are_none() {
        for (day, month) in [(0, 1), (31, 1), (1, 0), (1, 13)] {
            let lunar = LunarDate {
                day,
                month,
                year: 2026,
                leap: false,
            };
            assert_eq!(to_solar(lunar), None, "{day}/{month}");
        }
    }
}
