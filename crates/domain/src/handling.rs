//! The rules of the actions taken on a received dossier beyond its status:
//! supplement deadlines and the stopped clock, apologies, late returns, and
//! which stage a document attached later joins. The state machine itself is
//! [`crate::dossier::decide`].

use chrono::{DateTime, NaiveDate, Utc};

use crate::Role;
use crate::calendar::{Outcome, Progress, Remaining, WorkingCalendar};
use crate::document::{DocumentKind, DocumentStage};
use crate::dossier::{Actor, DossierStatus};
use crate::local_time;
use crate::procedure::{SupplementClock, TimeUnit};
use crate::rule::RuleCode;
use crate::validation::Problem;

/// Working days an applicant gets to supplement when the officer sets no deadline.
pub const DEFAULT_SUPPLEMENT_DAYS: u32 = 15;

/// The deadline of a supplement request: the one given, else
/// [`DEFAULT_SUPPLEMENT_DAYS`] working days from today; it must be after today.
pub fn supplement_deadline(
    calendar: &WorkingCalendar,
    requested: Option<NaiveDate>,
    now: DateTime<Utc>,
) -> Result<NaiveDate, Problem> {
    let today = local_time::date(now);
    let deadline =
        requested.unwrap_or_else(|| calendar.add_working_days(today, DEFAULT_SUPPLEMENT_DAYS));
    if deadline <= today {
        return Err(Problem::rule(RuleCode::DeadlineInPast));
    }
    Ok(deadline)
}

/// What is left of the processing time when the clock stops at `now` for a
/// supplement. Before its first counted day nothing of the time is used yet:
/// in working days, what is left counts from the morning of the deemed day of
/// receipt (a dossier received after the cut-off, or on a day off, is deemed
/// received on the next working day).
pub fn remaining_at_supplement(
    calendar: &WorkingCalendar,
    due: DateTime<Utc>,
    received_at: Option<DateTime<Utc>>,
    unit: TimeUnit,
    now: DateTime<Utc>,
) -> Remaining {
    let mut counted_from = now;
    if let (TimeUnit::WorkingDays, Some(received)) = (unit, received_at) {
        let deemed = calendar.effective_start_day(received);
        if local_time::date(now) < deemed {
            counted_from = local_time::instant(deemed, calendar.hours().morning_start);
        }
    }
    calendar.remaining_at_pause(due, counted_from, unit)
}

/// The due moment once the applicant supplements at `now`: the clock resumes
/// with what was left, or restarts from zero when the procedure says so (or
/// nothing was recorded).
pub fn due_after_supplement(
    calendar: &WorkingCalendar,
    clock: SupplementClock,
    remaining: Option<Remaining>,
    allowed_time: u32,
    unit: TimeUnit,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    match (clock, remaining) {
        (SupplementClock::Restart, _) | (_, None) => calendar.due(now, allowed_time, unit),
        (SupplementClock::Pause, Some(remaining)) => calendar.resume(now, remaining, unit),
    }
}

/// The appointment shown after a supplement: an apology's later appointment
/// stands; otherwise the new due moment.
pub fn appointment_after_supplement(
    appointment: Option<DateTime<Utc>>,
    due: DateTime<Utc>,
) -> DateTime<Utc> {
    appointment.map_or(due, |a| a.max(due))
}

/// An apology's new appointment is a working day, today or later.
pub fn check_apology_date(
    calendar: &WorkingCalendar,
    date: NaiveDate,
    now: DateTime<Utc>,
) -> Result<(), Problem> {
    if date < local_time::date(now) || !calendar.is_working_day(date) {
        return Err(Problem::rule(RuleCode::NotAFutureWorkingDay));
    }
    Ok(())
}

/// Whether a processed dossier was late against its due moment (its return
/// then needs an apology first).
pub fn processed_late(
    calendar: &WorkingCalendar,
    due: Option<DateTime<Utc>>,
    processed: Option<DateTime<Utc>>,
    unit: TimeUnit,
) -> bool {
    match (due, processed) {
        (Some(due), Some(done)) => calendar.classify_finished(due, done, unit) == Outcome::Late,
        _ => false,
    }
}

/// An assignment names an officer, a unit (division) of the handling agency, or both.
pub fn check_assignment(assignee: Option<i64>, unit: Option<i64>) -> Result<(), Problem> {
    if assignee.is_none() && unit.is_none() {
        return Err(Problem::Required);
    }
    Ok(())
}

/// An assignee is an officer or leader of the handling agency, or of the unit
/// the dossier is routed to: `role_in_agency` and `role_in_unit` are their
/// roles there, if they belong.
pub fn assignee_fits(role_in_agency: Option<Role>, role_in_unit: Option<Role>) -> bool {
    matches!(
        role_in_agency.or(role_in_unit),
        Some(Role::Officer | Role::Leader)
    )
}

/// A transfer names another agency than the one handling the dossier.
pub fn check_transfer(handling_agency: i64, target: Option<i64>) -> Result<i64, Problem> {
    match target {
        None => Err(Problem::Required),
        Some(target) if target == handling_agency => Err(Problem::rule(RuleCode::SameAgency)),
        Some(target) => Ok(target),
    }
}

/// A result is issued as a file (new, or attached before) or on paper.
pub fn check_result_given(files: usize, attached_before: bool, paper: bool) -> Result<(), Problem> {
    if files == 0 && !attached_before && !paper {
        return Err(Problem::rule(RuleCode::ResultRequired));
    }
    Ok(())
}

/// A supplement brings documents (added now or uploaded since the request),
/// or at least a note.
pub fn check_supplement_given(documents: usize, note_given: bool) -> Result<(), Problem> {
    if documents == 0 && !note_given {
        return Err(Problem::Required);
    }
    Ok(())
}

/// What decides where a dossier stands against its due moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockState {
    pub status: DossierStatus,
    pub time_unit: TimeUnit,
    pub due_at: Option<DateTime<Utc>>,
    pub processed_at: Option<DateTime<Utc>>,
    /// Set while the clock stands still for a supplement.
    pub paused_at: Option<DateTime<Utc>>,
}

/// Where a dossier stands at `now`: once processed, early, on time or late
/// against its due moment; while open, within time or overdue (within time
/// while the clock stands still for a supplement); nothing before receipt, or
/// once stopped without processing.
pub fn standing(
    clock: ClockState,
    calendar: &WorkingCalendar,
    now: DateTime<Utc>,
) -> (Option<Outcome>, Option<Progress>) {
    let Some(due) = clock.due_at else {
        return (None, None);
    };
    match clock.processed_at {
        Some(done) => (
            Some(calendar.classify_finished(due, done, clock.time_unit)),
            None,
        ),
        None if clock.status.is_finished() => (None, None),
        None if clock.paused_at.is_some() => (None, Some(Progress::WithinTime)),
        None => (None, Some(WorkingCalendar::classify_open(due, now))),
    }
}

/// The widest "due within" window a list may ask for, in working days.
pub const MAX_DUE_WITHIN: u32 = 60;

/// The end of a "due within `days` working days" window at `now`: the end of
/// the `days`-th working day after today (0: today), counted from the next
/// working day when today is a day off.
pub fn due_window_end(calendar: &WorkingCalendar, now: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    let today = local_time::date(now);
    let first = if calendar.is_working_day(today) {
        today
    } else {
        calendar.next_working_day(today)
    };
    calendar.end_of_day(calendar.add_working_days(first, days))
}

/// Why a document may not be attached to a dossier now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttachRefusal {
    /// Not the caller's to attach (403).
    Forbidden,
    /// Not in the dossier's current status (409).
    NotNow,
}

/// The stage a document uploaded to an existing dossier joins: staff attach
/// the result of an approved dossier, or a scan of paper to an unfinished
/// one; the applicant a supplement while one is requested.
pub fn attach_stage(
    kind: DocumentKind,
    actor: Actor,
    status: DossierStatus,
) -> Result<DocumentStage, AttachRefusal> {
    let staff = actor.is_agency_staff();
    let (stage, allowed) = match kind {
        DocumentKind::Result if staff => (DocumentStage::Result, status == DossierStatus::Approved),
        DocumentKind::Input if actor.is_applicant => (
            DocumentStage::Supplement,
            status == DossierStatus::SupplementRequested,
        ),
        DocumentKind::Input if staff => (DocumentStage::Submission, !status.is_finished()),
        _ => return Err(AttachRefusal::Forbidden),
    };
    if allowed {
        Ok(stage)
    } else {
        Err(AttachRefusal::NotNow)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::WorkingHours;
    use chrono::NaiveTime;

    /// Labour Code holidays generated for every year. Tết 2027 is Fri 5 to
    /// Tue 9 Feb; its Saturday and Sunday are given back on Wed 10 and Thu
    /// 11, so there is no work from Fri 5 to Thu 11 Feb.
    fn calendar() -> WorkingCalendar {
        WorkingCalendar::with_official_years([], [], WorkingHours::default())
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    /// A local wall time as an instant.
    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        local_time::instant(
            day(y, m, d),
            NaiveTime::from_hms_opt(h, min, 0).unwrap_or_default(),
        )
    }

    #[test]
    fn supplement_deadlines() {
        let cal = calendar();
        let cases = [
            // Friday 4 Dec 2026: fifteen working days, over three weekends.
            (at(2026, 12, 4, 9, 0), None, Ok(day(2026, 12, 25))),
            // Tuesday 2 Feb 2027: two days, Tết (5–11 Feb), then thirteen more.
            (at(2027, 2, 2, 9, 0), None, Ok(day(2027, 3, 2))),
            (
                at(2026, 12, 4, 9, 0),
                Some(day(2026, 12, 5)),
                Ok(day(2026, 12, 5)),
            ),
            (
                at(2026, 12, 4, 9, 0),
                Some(day(2026, 12, 4)),
                Err("deadline_in_past"),
            ),
            // 23:30 local on the 4th is still the 4th, not UTC's 4th 16:30.
            (
                at(2026, 12, 4, 23, 30),
                Some(day(2026, 12, 4)),
                Err("deadline_in_past"),
            ),
            // 00:30 local on the 5th is already the 5th.
            (
                at(2026, 12, 5, 0, 30),
                Some(day(2026, 12, 5)),
                Err("deadline_in_past"),
            ),
        ];
        for (now, requested, want) in cases {
            let got = supplement_deadline(&cal, requested, now).map_err(|p| p.code().to_owned());
            assert_eq!(got, want.map_err(str::to_owned), "{now} {requested:?}");
        }
    }

    #[test]
    fn the_clock_stops_from_the_deemed_day_of_receipt() {
        let cal = calendar();
        let d = TimeUnit::WorkingDays;
        // Received Friday 4 Dec 2026 at 16:30 (after the cut-off): deemed
        // received Monday 7 Dec; 5 working days: due Mon 14 Dec.
        let received = at(2026, 12, 4, 16, 30);
        let due = cal.due(received, 5, d);
        assert_eq!(local_time::date(due), day(2026, 12, 14));
        let cases = [
            // Stopped the same evening or over the weekend: nothing used yet.
            (at(2026, 12, 4, 17, 0), Remaining::Days(5)),
            (at(2026, 12, 6, 10, 0), Remaining::Days(5)),
            // Stopped on the deemed day itself: that day counts as used.
            (at(2026, 12, 7, 10, 0), Remaining::Days(5)),
            (at(2026, 12, 8, 10, 0), Remaining::Days(4)),
        ];
        for (now, want) in cases {
            assert_eq!(
                remaining_at_supplement(&cal, due, Some(received), d, now),
                want,
                "{now}"
            );
        }
        // Hours count from the pause itself.
        let h = TimeUnit::WorkingHours;
        let received = at(2026, 12, 7, 8, 0);
        let due = cal.due(received, 8, h);
        assert_eq!(
            remaining_at_supplement(&cal, due, Some(received), h, at(2026, 12, 7, 10, 0)),
            Remaining::Minutes(6 * 60)
        );
    }

    #[test]
    fn the_clock_resumes_or_restarts() {
        let cal = calendar();
        let d = TimeUnit::WorkingDays;
        // Supplemented Thursday 4 Feb 2027 at 9:00, just before Tết (5–11 Feb):
        // two days left end Mon 15 Feb; five anew end Thu 18 Feb.
        let now = at(2027, 2, 4, 9, 0);
        let cases = [
            (
                SupplementClock::Pause,
                Some(Remaining::Days(2)),
                day(2027, 2, 15),
            ),
            (
                SupplementClock::Restart,
                Some(Remaining::Days(2)),
                day(2027, 2, 18),
            ),
            (SupplementClock::Pause, None, day(2027, 2, 18)),
        ];
        for (clock, remaining, want) in cases {
            let due = due_after_supplement(&cal, clock, remaining, 5, d, now);
            assert_eq!(local_time::date(due), want, "{clock:?} {remaining:?}");
        }
        let due = at(2027, 2, 18, 17, 0);
        assert_eq!(appointment_after_supplement(None, due), due);
        assert_eq!(
            appointment_after_supplement(Some(at(2027, 2, 1, 17, 0)), due),
            due
        );
        let later = at(2027, 2, 19, 17, 0);
        assert_eq!(appointment_after_supplement(Some(later), due), later);
    }

    #[test]
    fn apology_dates() {
        let cal = calendar();
        let now = at(2027, 2, 4, 16, 0);
        let cases = [
            (day(2027, 2, 4), true),
            (day(2027, 2, 3), false),
            // Tết, and its weekend given back on Wed 10 and Thu 11.
            (day(2027, 2, 5), false),
            (day(2027, 2, 8), false),
            (day(2027, 2, 10), false),
            (day(2027, 2, 11), false),
            (day(2027, 2, 12), true),
            (day(2027, 2, 13), false),
            (day(2027, 2, 15), true),
        ];
        for (date, ok) in cases {
            assert_eq!(check_apology_date(&cal, date, now).is_ok(), ok, "{date}");
        }
    }

    #[test]
    fn late_processing() {
        let cal = calendar();
        let due = at(2026, 12, 14, 17, 0);
        let d = TimeUnit::WorkingDays;
        let cases = [
            (Some(due), Some(at(2026, 12, 14, 23, 0)), false),
            (Some(due), Some(at(2026, 12, 15, 0, 10)), true),
            (None, Some(at(2026, 12, 15, 0, 10)), false),
            (Some(due), None, false),
        ];
        for (due, done, late) in cases {
            assert_eq!(processed_late(&cal, due, done, d), late, "{due:?} {done:?}");
        }
    }

    #[test]
    fn assignments_transfers_results_and_supplements() {
        let code = |r: Result<(), Problem>| r.map_err(|p| p.code().to_owned());
        let err = |c: &str| Err(c.to_owned());
        assert_eq!(code(check_assignment(None, None)), err("required"));
        assert_eq!(code(check_assignment(Some(1), None)), Ok(()));
        assert_eq!(code(check_assignment(None, Some(2))), Ok(()));
        let fits = [
            (Some(Role::Officer), None, true),
            (None, Some(Role::Leader), true),
            (Some(Role::Admin), Some(Role::Officer), false),
            (None, Some(Role::Citizen), false),
            (None, None, false),
        ];
        for (agency, unit, want) in fits {
            assert_eq!(assignee_fits(agency, unit), want, "{agency:?} {unit:?}");
        }
        let transfers = [
            (None, Err("required")),
            (Some(7), Err("same_agency")),
            (Some(8), Ok(8)),
        ];
        for (target, want) in transfers {
            let got = check_transfer(7, target).map_err(|p| p.code().to_owned());
            assert_eq!(got, want.map_err(str::to_owned), "{target:?}");
        }
        let results = [
            (0, false, false, err("result_required")),
            (1, false, false, Ok(())),
            (0, true, false, Ok(())),
            (0, false, true, Ok(())),
        ];
        for (files, before, paper, want) in results {
            assert_eq!(code(check_result_given(files, before, paper)), want);
        }
        assert_eq!(code(check_supplement_given(0, false)), err("required"));
        assert_eq!(code(check_supplement_given(0, true)), Ok(()));
        assert_eq!(code(check_supplement_given(2, false)), Ok(()));
    }

    #[test]
    fn where_a_dossier_stands() {
        use DossierStatus as S;
        let cal = calendar();
        let due = at(2027, 2, 12, 17, 0);
        let clock = |status, processed_at, paused_at| ClockState {
            status,
            time_unit: TimeUnit::WorkingDays,
            due_at: Some(due),
            processed_at,
            paused_at,
        };
        let now = at(2027, 2, 15, 9, 0);
        let cases = [
            (
                ClockState {
                    due_at: None,
                    ..clock(S::Submitted, None, None)
                },
                (None, None),
            ),
            // Open past the due moment: overdue; not while the clock stands still.
            (
                clock(S::InReview, None, None),
                (None, Some(Progress::Overdue)),
            ),
            (
                clock(S::SupplementRequested, None, Some(at(2027, 2, 3, 9, 0))),
                (None, Some(Progress::WithinTime)),
            ),
            // Processed on Thu 4 Feb, before Tết: early; on Mon 15: late.
            (
                clock(S::ResultReady, Some(at(2027, 2, 4, 9, 0)), None),
                (Some(Outcome::Early), None),
            ),
            (
                clock(S::Returned, Some(at(2027, 2, 15, 8, 0)), None),
                (Some(Outcome::Late), None),
            ),
            (clock(S::Withdrawn, None, None), (None, None)),
        ];
        for (state, want) in cases {
            assert_eq!(standing(state, &cal, now), want, "{state:?}");
        }
        assert_eq!(
            standing(
                clock(S::InReview, None, None),
                &cal,
                at(2027, 2, 12, 16, 59)
            ),
            (None, Some(Progress::WithinTime))
        );
    }

    #[test]
    fn due_within_windows() {
        let cal = calendar();
        let cases = [
            // A Wednesday: today, then two working days later.
            (at(2026, 12, 9, 10, 0), 0, day(2026, 12, 9)),
            (at(2026, 12, 9, 10, 0), 2, day(2026, 12, 11)),
            // A Saturday counts from Monday.
            (at(2026, 12, 12, 10, 0), 0, day(2026, 12, 14)),
            (at(2026, 12, 12, 10, 0), 1, day(2026, 12, 15)),
            // New Year's Day 2027 (Fri) is off: from Mon 4 Jan.
            (at(2026, 12, 31, 10, 0), 1, day(2027, 1, 4)),
            (at(2027, 1, 1, 10, 0), 0, day(2027, 1, 4)),
            // From Thu 4 Feb 2027 one working day is past Tết: Fri 12 Feb.
            (at(2027, 2, 4, 10, 0), 1, day(2027, 2, 12)),
        ];
        for (now, days, want) in cases {
            assert_eq!(
                due_window_end(&cal, now, days),
                cal.end_of_day(want),
                "{now} {days}"
            );
        }
    }

    #[test]
    fn attaching_documents() {
        use AttachRefusal::{Forbidden, NotNow};
        use DocumentKind::{Input, Result as Res};
        use DossierStatus as S;
        let actor = |role, is_applicant, here| Actor {
            role,
            is_applicant,
            at_receiving_agency: here,
            at_handling_agency: false,
        };
        let officer = actor(Role::Officer, false, true);
        let elsewhere = actor(Role::Officer, false, false);
        let admin = actor(Role::Admin, false, false);
        let citizen = actor(Role::Citizen, true, false);
        let cases = [
            (Res, officer, S::Approved, Ok(DocumentStage::Result)),
            (Res, officer, S::InReview, Err(NotNow)),
            (Res, admin, S::Approved, Ok(DocumentStage::Result)),
            (Res, elsewhere, S::Approved, Err(Forbidden)),
            (Res, citizen, S::Approved, Err(Forbidden)),
            (
                Input,
                citizen,
                S::SupplementRequested,
                Ok(DocumentStage::Supplement),
            ),
            (Input, citizen, S::InReview, Err(NotNow)),
            (Input, officer, S::InReview, Ok(DocumentStage::Submission)),
            (Input, officer, S::Returned, Err(NotNow)),
            (Input, elsewhere, S::InReview, Err(Forbidden)),
        ];
        for (kind, actor, status, want) in cases {
            assert_eq!(
                attach_stage(kind, actor, status),
                want,
                "{kind} {actor:?} {status}"
            );
        }
    }
}
