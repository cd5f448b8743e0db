use super::*;
use chrono::TimeDelta;

use crate::procedure::TimeUnit;
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
    let file: File = serde_json::from_str(include_str!("../../../../data/holidays.json")).unwrap();
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

/// (received, local; amount; unit; expected due, local; label)
const DUE_DATES: &[(&str, u32, TimeUnit, &str, &str)] = &[
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

#[test]
fn due_dates() {
    let cases = DUE_DATES;
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

/// (unit; due; paused at; remaining; resumed at; new due; label), all local.
const PAUSES: &[(TimeUnit, &str, &str, Remaining, &str, &str, &str)] = &[
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

#[test]
fn pause_and_resume() {
    let cases = PAUSES;
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
    /// (from, to, pauses, running days, why)
    type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], u32, &'a str);
    let calendar = official();
    let d = |raw: &str| date(raw);
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
