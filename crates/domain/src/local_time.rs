//! Local time in Vietnam: UTC+7 all year round (no daylight saving). Every
//! instant is kept as `DateTime<Utc>`; days, wall times on forms and the
//! gateway's timestamps are local. The one place the offset is written.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Utc};

/// Vietnam's offset from UTC: +07:00 all year round.
pub const OFFSET: FixedOffset = match FixedOffset::east_opt(7 * 3600) {
    Some(offset) => offset,
    None => panic!("+07:00 is a valid offset"),
};

/// The offset as a duration, for wall-time arithmetic.
fn offset() -> TimeDelta {
    TimeDelta::hours(7)
}

/// The local date of an instant.
pub fn date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&OFFSET).date_naive()
}

/// The local wall-clock time of an instant.
pub fn time(at: DateTime<Utc>) -> NaiveTime {
    at.with_timezone(&OFFSET).time()
}

/// The local wall time (date and time) of an instant.
pub fn wall(at: DateTime<Utc>) -> NaiveDateTime {
    at.with_timezone(&OFFSET).naive_local()
}

/// The instant of a local wall time; `None` only before the start of time.
pub fn from_wall(local: NaiveDateTime) -> Option<DateTime<Utc>> {
    local.checked_sub_signed(offset()).map(|utc| utc.and_utc())
}

/// The instant of a local wall time on `date`, clamped to the earliest
/// instant at the very start of the calendar.
pub fn instant(date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    from_wall(date.and_time(time)).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// The instant a local day starts (00:00 local).
pub fn start_of(date: NaiveDate) -> DateTime<Utc> {
    instant(date, NaiveTime::MIN)
}

/// `14 giờ 05, ngày 07/12/2026`: a wall time as printed on Vietnamese forms.
pub fn on_forms(at: DateTime<Utc>) -> String {
    wall(at).format("%H giờ %M, ngày %d/%m/%Y").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|d| d.to_utc())
            .unwrap_or_default()
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    #[test]
    fn days_turn_at_local_midnight() {
        let cases = [
            // 16:59:59 UTC is 23:59:59 local: still the same day.
            ("2026-12-31T16:59:59Z", day(2026, 12, 31), "23:59:59"),
            // 17:00 UTC is midnight local: New Year's Day already.
            ("2026-12-31T17:00:00Z", day(2027, 1, 1), "00:00:00"),
            // The eve of Tết 2027 (Fri 5 Feb) begins on Thursday in UTC.
            ("2027-02-04T17:00:00Z", day(2027, 2, 5), "00:00:00"),
            ("2026-03-01T00:00:00Z", day(2026, 3, 1), "07:00:00"),
        ];
        for (instant, want_day, want_time) in cases {
            let at = utc(instant);
            assert_eq!(date(at), want_day, "{instant}");
            assert_eq!(time(at).to_string(), want_time, "{instant}");
            assert_eq!(wall(at), want_day.and_time(time(at)), "{instant}");
            assert_eq!(from_wall(wall(at)), Some(at), "{instant}");
        }
        assert_eq!(start_of(day(2027, 1, 1)), utc("2026-12-31T17:00:00Z"));
        assert_eq!(
            instant(
                day(2026, 12, 7),
                NaiveTime::from_hms_opt(7, 30, 0).unwrap_or_default()
            ),
            utc("2026-12-07T00:30:00Z")
        );
        assert_eq!(
            instant(NaiveDate::MIN, NaiveTime::MIN),
            DateTime::<Utc>::MIN_UTC
        );
        assert_eq!(
            on_forms(utc("2026-12-07T07:05:00Z")),
            "14 giờ 05, ngày 07/12/2026"
        );
    }
}
