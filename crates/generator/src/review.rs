//! A received dossier's path to its end: assignment, an occasional transfer,
//! supplement requests that stop the clock, then a result (proposed, approved,
//! issued, with an apology first when late, and handed over once paid), a
//! rejection, a cancellation, a withdrawal, or nothing yet. Every step goes
//! through [`Story`], so through the domain's rules; steps after the plan's
//! end are not taken and the dossier stays where it is.

use chrono::{DateTime, Duration, Utc};
use motcua_domain::Role;
use motcua_domain::calendar::{Outcome, Remaining, WorkingCalendar};
use motcua_domain::document::{DocumentKind, DocumentStage};
use motcua_domain::dossier::{Action, RatingScore};
use motcua_domain::numeric::trunc_i64;
use motcua_domain::payment::PaymentMethod;
use motcua_domain::procedure::{SupplementClock, TimeUnit};
use motcua_persistence::bulk::{
    ApologyRow, Batch, DocumentRow, LineRow, PaymentRow, RatingRow, SupplementRequestRow,
};
use rand::Rng;
use rand::rngs::StdRng;

use crate::setup::{Agency, Procedure};
use crate::story::{Illegal, Story, Who};

/// Working days the applicant is given to supplement.
const SUPPLEMENT_DAYS: u32 = 15;
const UNIT: TimeUnit = TimeUnit::WorkingDays;

/// When a result is issued, as drawn.
#[derive(Debug, Clone, Copy)]
enum Issued {
    /// After this share of the processing time.
    Share(f64),
    /// This many minutes before the due moment.
    BeforeDue(i64),
    /// This many days after the due moment (late).
    AfterDue(i64),
}

/// How the dossier ends, as drawn.
#[derive(Debug, Clone, Copy)]
enum Ending {
    Issue(Issued),
    Reject(f64),
    Cancel,
    Withdraw,
    /// Still in review.
    Open,
}

impl Ending {
    fn draw(rng: &mut StdRng) -> Self {
        match rng.random_range(0..1000) {
            0..620 => Ending::Issue(Issued::Share(rng.random_range(0.2..0.85))),
            620..840 => Ending::Issue(Issued::BeforeDue(rng.random_range(60..8 * 60))),
            840..920 => Ending::Issue(Issued::AfterDue(rng.random_range(1..15))),
            920..950 => Ending::Reject(rng.random_range(0.2..0.9)),
            950..975 => Ending::Cancel,
            975..997 => Ending::Withdraw,
            _ => Ending::Open,
        }
    }

    /// The moment of the last step, for a processing time `span` (minutes)
    /// from `received` and the due moment `due`.
    fn at(self, received: DateTime<Utc>, span: i64, due: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let share =
            |s: f64| received + Duration::minutes(trunc_i64(span as f64 * s).unwrap_or(span));
        match self {
            Ending::Issue(Issued::Share(s)) | Ending::Reject(s) => Some(share(s)),
            Ending::Issue(Issued::BeforeDue(m)) => Some(due - Duration::minutes(m)),
            Ending::Issue(Issued::AfterDue(d)) => Some(due + Duration::days(d)),
            Ending::Cancel => Some(received + Duration::minutes(span / 3)),
            Ending::Withdraw => Some(received + Duration::minutes(span / 5)),
            Ending::Open => None,
        }
    }

    /// Whether the end may come while a supplement is awaited.
    fn during_pause(self) -> bool {
        matches!(self, Ending::Cancel | Ending::Withdraw | Ending::Open)
    }
}

/// The story so far, stopping for good at the first step after `until`.
pub struct Walk {
    pub story: Story,
    pub until: DateTime<Utc>,
    stopped: bool,
    pub last: DateTime<Utc>,
}

impl Walk {
    pub fn new(story: Story, until: DateTime<Utc>, at: DateTime<Utc>) -> Self {
        Self {
            story,
            until,
            stopped: false,
            last: at,
        }
    }

    /// Whether a step at `at` is taken (the caller then takes it).
    pub fn reaches(&mut self, at: DateTime<Utc>) -> bool {
        self.stopped |= at > self.until;
        if !self.stopped {
            self.last = at;
        }
        !self.stopped
    }
}

/// The dossier's timing columns, as its story leaves them.
#[derive(Default)]
pub struct Clock {
    pub received: Option<DateTime<Utc>>,
    pub due: Option<DateTime<Utc>>,
    pub appointment: Option<DateTime<Utc>>,
    pub paused_at: Option<DateTime<Utc>>,
    pub paused_remaining: Option<Remaining>,
    pub supplements: i32,
    pub processed: Option<DateTime<Utc>>,
    pub finished: Option<DateTime<Utc>>,
    pub paid: i64,
}

/// Who works on the dossier, and on what.
pub struct Case<'a> {
    pub dossier: i64,
    pub applicant_id: i64,
    pub procedure: &'a Procedure,
    pub receiving: &'a Agency,
    /// The agency it is transferred to, if any.
    pub transfer_to: Option<&'a Agency>,
    pub citizen: Who,
    /// How far into the plan's years (0..1): digital results grow with it.
    pub t: f64,
}

fn officer(a: &Agency) -> Who {
    Who::staff(a.officer, Role::Officer, a.id)
}

fn leader(a: &Agency) -> Who {
    Who::staff(a.leader, Role::Leader, a.id)
}

/// What is left of the processing time when the clock stops at `asked`: the
/// act use case's rule, `handling::remaining_at_supplement`.
fn remaining_at(
    cal: &WorkingCalendar,
    due: DateTime<Utc>,
    received: DateTime<Utc>,
    asked: DateTime<Utc>,
) -> Remaining {
    motcua_domain::handling::remaining_at_supplement(cal, due, Some(received), UNIT, asked)
}

/// A supplement round: asked, supplied, and the due moment after it.
struct Round {
    asked: DateTime<Utc>,
    supplied: DateTime<Utc>,
    remaining: Remaining,
    due_after: DateTime<Utc>,
}

/// The supplement rounds (at most `drawn`) that fit before the end, and the
/// end moment (it may depend on the due moment they leave).
fn plan_rounds(
    cal: &WorkingCalendar,
    case: &Case<'_>,
    received: DateTime<Utc>,
    drawn: i64,
    ending: Ending,
) -> (Vec<Round>, Option<DateTime<Utc>>) {
    let first_due = cal.due(received, case.procedure.regulated_days, UNIT);
    let span = (first_due - received).num_minutes().max(60);
    for n in (0..=drawn).rev() {
        let mut due = first_due;
        let mut rounds = Vec::new();
        for k in 0..n {
            // A quarter of the time apart, and never before the last one was supplied.
            let asked = (received + Duration::minutes(span / 4 * (k + 1))).max(
                rounds
                    .last()
                    .map_or(received, |r: &Round| r.supplied + Duration::hours(1)),
            );
            let supplied = asked + Duration::hours(20);
            let remaining = remaining_at(cal, due, received, asked);
            due = match case.procedure.supplement_clock {
                SupplementClock::Restart => cal.due(supplied, case.procedure.regulated_days, UNIT),
                SupplementClock::Pause => cal.resume(supplied, remaining, UNIT),
            };
            rounds.push(Round {
                asked,
                supplied,
                remaining,
                due_after: due,
            });
        }
        let end = ending.at(received, span, due);
        let fits = match (rounds.last(), end) {
            (None, _) | (_, None) => true,
            (Some(r), Some(end)) if ending.during_pause() => r.asked < end,
            (Some(r), Some(end)) => r.supplied + Duration::minutes(4) < end,
        };
        if fits {
            return (rounds, end);
        }
    }
    (Vec::new(), ending.at(received, span, first_due))
}

/// From reception on: receive, assign, maybe transfer, supplements, the end.
pub fn review(
    rng: &mut StdRng,
    cal: &WorkingCalendar,
    walk: &mut Walk,
    rows: &mut Batch,
    case: &Case<'_>,
    received: DateTime<Utc>,
) -> Result<Clock, Illegal> {
    let mut clock = Clock::default();
    let receiver = officer(case.receiving);
    if !walk.reaches(received) {
        return Ok(clock);
    }
    walk.story.act(Action::Receive, receiver, received)?;
    let due = cal.due(received, case.procedure.regulated_days, UNIT);
    clock.received = Some(received);
    clock.due = Some(due);
    clock.appointment = Some(due);
    let drawn = match rng.random_range(0..100) {
        0 => 2,
        1..9 => 1,
        _ => 0,
    };
    let ending = Ending::draw(rng);
    let (rounds, end) = plan_rounds(cal, case, received, drawn, ending);
    let mut handling = case.receiving;
    if walk.reaches(received + Duration::minutes(1)) {
        walk.story.act(Action::Assign, receiver, walk.last)?;
    }
    if let Some(target) = case.transfer_to
        && walk.reaches(received + Duration::minutes(2))
    {
        walk.story.transfer(receiver, target.id, walk.last)?;
        rows.dossier_agencies.push((case.dossier, target.id));
        handling = target;
    }
    for round in &rounds {
        if end.is_some_and(|end| round.asked >= end) || !walk.reaches(round.asked) {
            break;
        }
        walk.story
            .act(Action::RequestSupplement, officer(handling), round.asked)?;
        clock.supplements += 1;
        clock.paused_at = Some(round.asked);
        clock.paused_remaining = Some(round.remaining);
        let supplied = end.is_none_or(|end| round.supplied < end) && walk.reaches(round.supplied);
        rows.supplement_requests.push(SupplementRequestRow {
            dossier_id: case.dossier,
            requested_by: officer(handling).user,
            requested_at: round.asked,
            items: vec!["Bản sao giấy tờ còn thiếu".into()],
            deadline: cal
                .add_working_days(WorkingCalendar::local_date(round.asked), SUPPLEMENT_DAYS),
            supplemented_at: supplied.then_some(round.supplied),
        });
        if !supplied {
            break;
        }
        walk.story
            .act(Action::Supplement, case.citizen, round.supplied)?;
        clock.paused_at = None;
        clock.paused_remaining = None;
        clock.due = Some(round.due_after);
        clock.appointment = clock.appointment.max(Some(round.due_after));
    }
    let Some(end) = end else { return Ok(clock) };
    let end = end.max(walk.last + Duration::minutes(4));
    match ending {
        Ending::Issue(_) => issue(rng, cal, walk, rows, case, handling, &mut clock, end)?,
        Ending::Reject(_) => {
            let propose = walk.last + (end - walk.last) / 2;
            if walk.reaches(propose) {
                walk.story
                    .act(Action::Propose, officer(handling), propose)?;
            }
            if walk.reaches(end) {
                walk.story.act(Action::Reject, leader(handling), end)?;
                clock.processed = Some(end);
                clock.finished = Some(end);
            }
        }
        Ending::Cancel => {
            if walk.reaches(end) {
                walk.story.act(Action::Cancel, officer(handling), end)?;
                clock.processed = Some(end);
                clock.finished = Some(end);
            }
        }
        Ending::Withdraw => {
            if walk.reaches(end) {
                walk.story.act(Action::Withdraw, case.citizen, end)?;
                clock.finished = Some(end);
            }
        }
        Ending::Open => {}
    }
    Ok(clock)
}

/// The apology of a late dossier, with a new appointment on the first
/// working day from `end`.
fn apologise(
    cal: &WorkingCalendar,
    walk: &mut Walk,
    rows: &mut Batch,
    (case, handling): (&Case<'_>, &Agency),
    clock: &mut Clock,
    end: DateTime<Utc>,
) -> Result<(), Illegal> {
    walk.story
        .act(Action::Apology, officer(handling), walk.last)?;
    let mut day = WorkingCalendar::local_date(end);
    while !cal.is_working_day(day) {
        day = day.succ_opt().unwrap_or(day);
    }
    rows.apologies.push(ApologyRow {
        dossier_id: case.dossier,
        reason: "Xin lỗi vì chậm trả kết quả.",
        new_appointment_date: day,
        created_by: handling.officer,
        created_at: walk.last,
    });
    clock.appointment = Some(cal.end_of_day(day));
    Ok(())
}

/// The result: a digital document (more so each year) or paper.
fn result_document(
    rng: &mut StdRng,
    rows: &mut Batch,
    case: &Case<'_>,
    handling: &Agency,
    end: DateTime<Utc>,
) {
    let digital = rng.random_bool(0.4 + 0.55 * case.t);
    let doc = digital.then(|| {
        let id = format!("syn-{}-r", case.dossier);
        rows.documents.push(DocumentRow {
            id: id.clone(),
            owner: case.applicant_id,
            uploaded_by: handling.officer,
            kind: DocumentKind::Result,
            created_at: end,
        });
        id
    });
    rows.lines.push(LineRow {
        dossier_id: case.dossier,
        requirement: None,
        document_id: doc,
        paper: !digital,
        reused: false,
        stage: DocumentStage::Result,
        added_at: end,
    });
}

/// The fee, paid online or at the counter some minutes after reception
/// (no later than `end`).
fn fee_paid(
    rng: &mut StdRng,
    rows: &mut Batch,
    case: &Case<'_>,
    clock: &mut Clock,
    end: DateTime<Utc>,
) {
    let p = case.procedure;
    let received = clock.received.unwrap_or(end);
    let pay_at = received + Duration::minutes(rng.random_range(5..240));
    let online = p.payable_online && rng.random_bool(0.2 + 0.6 * case.t);
    rows.payments.push(PaymentRow {
        id: format!("SYN-{}", case.dossier),
        dossier_id: case.dossier,
        method: if online {
            PaymentMethod::Online
        } else {
            PaymentMethod::Counter
        },
        amount_vnd: p.fee,
        created_by: case.receiving.officer,
        paid_at: pay_at.min(end),
    });
    clock.paid = p.fee;
}

/// Proposed, approved and issued at `end` (an apology first when late), paid,
/// then handed over and perhaps rated.
#[allow(clippy::too_many_arguments)]
fn issue(
    rng: &mut StdRng,
    cal: &WorkingCalendar,
    walk: &mut Walk,
    rows: &mut Batch,
    case: &Case<'_>,
    handling: &Agency,
    clock: &mut Clock,
    end: DateTime<Utc>,
) -> Result<(), Illegal> {
    let due = clock.due.unwrap_or(end);
    let late = cal.classify_finished(due, end, UNIT) == Outcome::Late;
    let start = walk.last;
    let gap = (end - start) / 4;
    let apologised = late && walk.reaches(start + gap);
    if apologised {
        apologise(cal, walk, rows, (case, handling), clock, end)?;
    }
    if walk.reaches(start + gap * 2) {
        walk.story
            .act(Action::Propose, officer(handling), walk.last)?;
    }
    if walk.reaches(start + gap * 3) {
        walk.story
            .act(Action::Approve, leader(handling), walk.last)?;
    }
    if !walk.reaches(end) {
        return Ok(());
    }
    walk.story
        .act(Action::IssueResult, officer(handling), end)?;
    clock.processed = Some(end);
    let p = case.procedure;
    result_document(rng, rows, case, handling, end);
    let returned = end + Duration::hours(rng.random_range(1..5 * 24));
    if p.fee > 0 {
        fee_paid(rng, rows, case, clock, end);
    }
    if !walk.reaches(returned) {
        return Ok(());
    }
    walk.story.hand_over(
        officer(case.receiving),
        returned,
        late,
        apologised,
        (p.fee, clock.paid),
    )?;
    clock.finished = Some(returned);
    if rng.random_bool(0.35) {
        let score = match rng.random_range(0..100) {
            0..85 => RatingScore::Satisfied,
            85..96 => RatingScore::Normal,
            _ => RatingScore::Unsatisfied,
        };
        let rated = (returned + Duration::hours(rng.random_range(1..72))).min(walk.until);
        rows.ratings.push(RatingRow {
            dossier_id: case.dossier,
            score,
            rated_by: case.citizen.user,
            rated_at: rated,
        });
    }
    Ok(())
}
