//! KPI aggregates kept action by action agree with a rebuild after a random
//! mix of actions: every action, by officers and the admin, allowed or
//! refused, with payments between, on a clock that crosses months and Tết.
//! An action computes its facts from what it read and wrote instead of
//! reading the dossier's lines again; this is the check that the two agree.

use chrono::{DateTime, Duration, Utc};
use motcua_app::dossiers::{
    self as workflow, ActionInput, ApplicantInput, DocumentInput, Submission, WorkflowError,
};
use motcua_domain::Role;
use motcua_domain::agency::NewAgency;
use motcua_domain::calendar::WorkingHours;
use motcua_domain::dossier::{Action, Actor, Dossier, allowed_actions};
use motcua_domain::procedure::{AdminLevel, Fee, SupplementClock};
use motcua_persistence::repo::kpi as agg;
use motcua_persistence::repo::{agencies, calendar, dossiers, payments, procedures};
use motcua_persistence::{AnyConnection, Pool};

use crate::on_both_backends;
use crate::workflow::{World, action, local, world};

on_both_backends!(random_actions_keep_aggregates_equal_to_a_rebuild);

/// A small deterministic generator (xorshift64*), so a failure replays.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n).unwrap()).unwrap()
    }
}

const ACTIONS: [Action; 15] = [
    Action::Receive,
    Action::Refuse,
    Action::Assign,
    Action::RequestSupplement,
    Action::Supplement,
    Action::Propose,
    Action::Approve,
    Action::SendBack,
    Action::Reject,
    Action::IssueResult,
    Action::Return,
    Action::Withdraw,
    Action::Cancel,
    Action::Transfer,
    Action::Apology,
];

/// The steps from filing to handing the result back, latest first (the
/// first one allowed moves the dossier on).
const FORWARD: [Action; 7] = [
    Action::Return,
    Action::IssueResult,
    Action::Approve,
    Action::Propose,
    Action::Supplement,
    Action::Assign,
    Action::Receive,
];

fn submit(conn: &mut AnyConnection, w: &World, procedure: &str, at: DateTime<Utc>) -> String {
    let submission = Submission {
        procedure_code: procedure.into(),
        applicant: Some(ApplicantInput {
            id_number: Some("079203001234".into()),
            full_name: "Nguyễn Văn An".into(),
            ..Default::default()
        }),
        documents: vec![DocumentInput {
            requirement: Some("D1".into()),
            document_id: None,
            paper: true,
        }],
        ..Default::default()
    };
    workflow::submit(conn, w.officer, submission, at)
        .unwrap()
        .dossier
        .code
}

/// What each action carries in the mix: enough to be accepted when the
/// status allows it.
fn input_for(a: Action, w: &World, other: i64, next_working_day: chrono::NaiveDate) -> ActionInput {
    let mut input = action(a);
    if a.needs_reason() {
        input.note = Some("Lý do".into());
    }
    match a {
        Action::Assign => input.assignee_id = Some(w.officer.user_id),
        Action::RequestSupplement => input.missing = vec!["Bản sao".into()],
        Action::Supplement => input.note = Some("Đã bổ sung".into()),
        Action::IssueResult => input.paper_result = true,
        Action::Transfer => input.target_agency_id = Some(other),
        Action::Apology => input.new_appointment_date = Some(next_working_day),
        _ => {}
    }
    input
}

/// Mostly an action the status allows (the endings less often, so that
/// dossiers go far), sometimes any action (refused, it must change nothing).
fn pick(dice: &mut Dice, dossier: &Dossier) -> usize {
    let admin = Actor {
        role: Role::Admin,
        is_applicant: false,
        at_receiving_agency: false,
        at_handling_agency: false,
    };
    let ending = |a: &Action| {
        matches!(
            a,
            Action::Refuse | Action::Reject | Action::Cancel | Action::Withdraw
        )
    };
    let mut allowed = allowed_actions(dossier.facts(), admin);
    // Half the time the step that moves the dossier on, if there is one.
    if dice.below(2) == 0
        && let Some(forward) = FORWARD.iter().find(|a| allowed.contains(a))
    {
        return ACTIONS.iter().position(|a| a == forward).unwrap_or(0);
    }
    if dice.below(4) != 0 {
        allowed.retain(|a| !ending(a) && *a != Action::Apology);
    }
    match allowed.len() {
        0 => dice.below(ACTIONS.len()),
        _ if dice.below(5) == 0 => dice.below(ACTIONS.len()),
        n => {
            let chosen = allowed[dice.below(n)];
            ACTIONS.iter().position(|a| *a == chosen).unwrap_or(0)
        }
    }
}

fn setting(conn: &mut AnyConnection) -> (World, i64) {
    let w = world(conn, SupplementClock::Pause);
    let dept = w.officer.agency_id.unwrap();
    let other = agencies::insert(
        conn,
        &NewAgency {
            code: "000.00.21.H56".into(),
            name: "Sở Xây dựng".into(),
            level: AdminLevel::Province,
            parent_id: None,
            receiving_point: false,
        },
        chrono::Utc::now(),
    )
    .unwrap()
    .id;
    let mut paid = crate::catalog::spec("1.000002", "Thủ tục có phí", "Du lịch");
    paid.fees = vec![Fee {
        code: "F1".into(),
        name: "Phí thẩm định".into(),
        amount_vnd: 500_000,
        payable_online: true,
        applies_when: None,
    }];
    let system = motcua_domain::audit::Actor::system("test");
    procedures::create(conn, &paid, Some(dept), &system, chrono::Utc::now()).unwrap();
    (w, other)
}

fn random_actions_keep_aggregates_equal_to_a_rebuild(pool: &Pool) {
    let mut conn = pool.get().unwrap();
    let (w, other) = setting(&mut conn);
    let cal = calendar::load(&mut conn, WorkingHours::default()).unwrap();
    let mut dice = Dice(0x9E37_79B9_7F4A_7C15);
    // From mid-December 2025 across Tết 2026 (16–20 Feb) into spring.
    let mut now = local(2025, 12, 15, 9, 0);
    let mut codes: Vec<String> = Vec::new();
    let mut taken = [0_usize; ACTIONS.len()];
    let mut paid = 0;
    for step in 0..600 {
        now += Duration::minutes(i64::try_from(dice.below(20 * 60)).unwrap());
        if codes.len() < 3 || dice.below(8) == 0 {
            let procedure = if dice.below(3) == 0 {
                "1.000002"
            } else {
                "1.000001"
            };
            codes.push(submit(&mut conn, &w, procedure, now));
            continue;
        }
        let code = codes[dice.below(codes.len())].clone();
        if dice.below(12) == 0 {
            let id = dossiers::by_code(&mut conn, &code).unwrap().id;
            let counter = payments::CounterPayment {
                id: &format!("PAY-{step}"),
                dossier_id: id,
                amount_vnd: 500_000,
                receipt_number: &format!("BL-{step}"),
                recorded_by: w.officer.user_id,
            };
            if let Ok(Ok(_)) = payments::record_counter(&mut conn, &counter, chrono::Utc::now()) {
                paid += 1;
            }
            continue;
        }
        let dossier = dossiers::by_code(&mut conn, &code).unwrap();
        let which = pick(&mut dice, &dossier);
        let who = if dice.below(2) == 0 {
            w.officer
        } else {
            w.admin
        };
        let next_day = cal.next_working_day(motcua_domain::local_time::date(now));
        let input = input_for(ACTIONS[which], &w, other, next_day);
        match workflow::act(
            &mut conn,
            who,
            &code,
            dossier.version,
            input,
            WorkingHours::default(),
            now,
        ) {
            Ok(_) => taken[which] += 1,
            Err(WorkflowError::Store(e)) => panic!("{:?} on {code}: {e}", ACTIONS[which]),
            // Refused by the rules: nothing changed.
            Err(_) => {}
        }
    }
    eprintln!("actions taken, in the order of ACTIONS: {taken:?}; payments: {paid}");
    let kinds = taken.iter().filter(|n| **n > 0).count();
    assert!(kinds >= 10, "too few kinds of action taken: {taken:?}");
    assert!(paid > 0, "no payment recorded");

    let kept = agg::snapshot(&mut conn).unwrap();
    assert!(!kept.is_empty());
    agg::rebuild(&mut conn).unwrap();
    let rebuilt = agg::snapshot(&mut conn).unwrap();
    for (k, r) in kept.iter().zip(&rebuilt) {
        assert_eq!(k, r, "kept row differs from the rebuild");
    }
    assert_eq!(kept.len(), rebuilt.len(), "row counts differ");
}
