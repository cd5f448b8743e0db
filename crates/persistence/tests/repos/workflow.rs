//! The dossier workflow with a controlled clock: due dates through receipts
//! after the cut-off, supplement pauses across Tết, and the restart rule.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use motcua_app::dossiers::{
    self as workflow, ActionInput, ApplicantInput, DocumentInput, Principal, Submission,
    WorkflowError,
};
use motcua_domain::Role;
use motcua_domain::agency::NewAgency;
use motcua_domain::calendar::{DayKind, WorkingHours};
use motcua_domain::dossier::{Action, DossierStatus};
use motcua_domain::procedure::{AdminLevel, SupplementClock};
use motcua_persistence::repo::calendar::{self, DayOverride};
use motcua_persistence::repo::{agencies, procedures, users};
use motcua_persistence::{AnyConnection, Pool};

use crate::on_both_backends;

on_both_backends!(
    pause_and_resume_the_same_evening_keeps_the_due_date,
    pause_across_tet_moves_the_due_date,
    restart_clock_counts_again_from_the_supplement,
    stale_versions_and_refusals_change_nothing,
);

pub(crate) fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    motcua_domain::local_time::instant(
        NaiveDate::from_ymd_opt(y, m, d).unwrap(),
        NaiveTime::from_hms_opt(h, min, 0).unwrap(),
    )
}

pub(crate) struct World {
    pub(crate) officer: Principal,
    pub(crate) admin: Principal,
}

pub(crate) fn world(conn: &mut AnyConnection, clock: SupplementClock) -> World {
    #[derive(serde::Deserialize)]
    struct File {
        days: Vec<Day>,
    }
    #[derive(serde::Deserialize)]
    struct Day {
        date: NaiveDate,
        kind: DayKind,
        name: String,
    }
    let file: File = serde_json::from_str(include_str!("../../../../data/holidays.json")).unwrap();
    let days: Vec<DayOverride> = file
        .days
        .into_iter()
        .map(|d| DayOverride {
            date: d.date,
            kind: d.kind,
            name: d.name,
        })
        .collect();
    calendar::seed(conn, &days, chrono::Utc::now()).unwrap();
    let dept = agencies::insert(
        conn,
        &NewAgency {
            code: "000.00.20.H56".into(),
            name: "Sở".into(),
            level: AdminLevel::Province,
            parent_id: None,
            receiving_point: false,
        },
        chrono::Utc::now(),
    )
    .unwrap();
    let mut spec = crate::catalog::spec("1.000001", "Thủ tục thử", "Du lịch");
    spec.supplement_clock = clock;
    procedures::create(
        conn,
        &spec,
        Some(dept.id),
        &motcua_domain::audit::Actor::system("test"),
        chrono::Utc::now(),
    )
    .unwrap();
    let user = |conn: &mut AnyConnection, name: &str, role: Role, agency: Option<i64>| {
        users::insert(
            conn,
            &users::NewUser {
                username: name,
                password_hash: "x",
                role,
                agency_id: agency,
                applicant_id: None,
                full_name: name,
                phone: None,
                email: None,
                demo: false,
            },
            chrono::Utc::now(),
        )
        .unwrap()
        .id
    };
    let officer = user(conn, "officer", Role::Officer, Some(dept.id));
    let admin = user(conn, "admin", Role::Admin, None);
    World {
        officer: Principal {
            user_id: officer,
            role: Role::Officer,
            agency_id: Some(dept.id),
        },
        admin: Principal {
            user_id: admin,
            role: Role::Admin,
            agency_id: None,
        },
    }
}

pub(crate) fn submit(conn: &mut AnyConnection, w: &World, at: DateTime<Utc>) -> String {
    let submission = Submission {
        procedure_code: "1.000001".into(),
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

pub(crate) fn act(
    conn: &mut AnyConnection,
    who: Principal,
    code: &str,
    input: ActionInput,
    at: DateTime<Utc>,
) -> motcua_domain::dossier::Dossier {
    let version = motcua_persistence::repo::dossiers::by_code(conn, code)
        .unwrap()
        .version;
    workflow::act(conn, who, code, version, input, WorkingHours::default(), at).unwrap()
}

pub(crate) fn action(a: Action) -> ActionInput {
    ActionInput {
        action: Some(a),
        ..Default::default()
    }
}

pub(crate) fn to_review(
    conn: &mut AnyConnection,
    w: &World,
    code: &str,
    at: DateTime<Utc>,
) -> motcua_domain::dossier::Dossier {
    act(conn, w.officer, code, action(Action::Receive), at);
    act(
        conn,
        w.officer,
        code,
        ActionInput {
            assignee_id: Some(w.officer.user_id),
            ..action(Action::Assign)
        },
        at,
    )
}

pub(crate) fn request_supplement() -> ActionInput {
    ActionInput {
        missing: vec!["Bản sao có chứng thực".into()],
        ..action(Action::RequestSupplement)
    }
}

pub(crate) fn supplement() -> ActionInput {
    ActionInput {
        note: Some("Đã bổ sung".into()),
        ..action(Action::Supplement)
    }
}

fn pause_and_resume_the_same_evening_keeps_the_due_date(pool: &Pool) {
    let mut conn = pool.get().unwrap();
    let w = world(&mut conn, SupplementClock::Pause);
    // Monday 23 Nov 2026, 17:00: after the cut-off, so deemed received Tuesday;
    // four working days counted from Wednesday: due Monday 30 Nov, 17:00.
    let code = submit(&mut conn, &w, local(2026, 11, 23, 17, 0));
    let d = to_review(&mut conn, &w, &code, local(2026, 11, 23, 17, 0));
    assert_eq!(d.due_at, Some(local(2026, 11, 30, 17, 0)));
    let paused = act(
        &mut conn,
        w.officer,
        &code,
        request_supplement(),
        local(2026, 11, 23, 17, 30),
    );
    assert_eq!(paused.status, DossierStatus::SupplementRequested);
    assert_eq!(paused.supplement_count, 1);
    let resumed = act(
        &mut conn,
        w.admin,
        &code,
        supplement(),
        local(2026, 11, 23, 17, 45),
    );
    assert_eq!(resumed.status, DossierStatus::InReview);
    assert_eq!(
        resumed.due_at,
        Some(local(2026, 11, 30, 17, 0)),
        "no counted day had passed"
    );
}

fn pause_across_tet_moves_the_due_date(pool: &Pool) {
    let mut conn = pool.get().unwrap();
    let w = world(&mut conn, SupplementClock::Pause);
    // Thursday 12 Feb 2026, 09:00: counted from Friday 13; Tết closes 16–20 Feb:
    // Fri 13, Mon 23, Tue 24, Wed 25 → due Wednesday 25 Feb, 17:00.
    let code = submit(&mut conn, &w, local(2026, 2, 12, 9, 0));
    let d = to_review(&mut conn, &w, &code, local(2026, 2, 12, 9, 0));
    assert_eq!(d.due_at, Some(local(2026, 2, 25, 17, 0)));
    // Paused Friday 13 at 10:00: that day is used; three remain (23, 24, 25).
    act(
        &mut conn,
        w.officer,
        &code,
        request_supplement(),
        local(2026, 2, 13, 10, 0),
    );
    // Supplemented Monday 23 at 09:00: counted again from Tuesday → 24, 25, 26.
    let resumed = act(
        &mut conn,
        w.admin,
        &code,
        supplement(),
        local(2026, 2, 23, 9, 0),
    );
    assert_eq!(resumed.due_at, Some(local(2026, 2, 26, 17, 0)));
    assert_eq!(resumed.appointment_at, resumed.due_at);
}

fn restart_clock_counts_again_from_the_supplement(pool: &Pool) {
    let mut conn = pool.get().unwrap();
    let w = world(&mut conn, SupplementClock::Restart);
    // Monday 23 Nov 2026, 09:00 → due Friday 27 Nov.
    let code = submit(&mut conn, &w, local(2026, 11, 23, 9, 0));
    let d = to_review(&mut conn, &w, &code, local(2026, 11, 23, 9, 0));
    assert_eq!(d.due_at, Some(local(2026, 11, 27, 17, 0)));
    act(
        &mut conn,
        w.officer,
        &code,
        request_supplement(),
        local(2026, 11, 25, 10, 0),
    );
    // Supplemented Thursday 26 at 09:00: four full days again from Friday → Wednesday 2 Dec.
    let resumed = act(
        &mut conn,
        w.admin,
        &code,
        supplement(),
        local(2026, 11, 26, 9, 0),
    );
    assert_eq!(resumed.due_at, Some(local(2026, 12, 2, 17, 0)));
}

fn stale_versions_and_refusals_change_nothing(pool: &Pool) {
    let mut conn = pool.get().unwrap();
    let w = world(&mut conn, SupplementClock::Pause);
    let at = local(2026, 11, 23, 9, 0);
    let code = submit(&mut conn, &w, at);
    let stale = workflow::act(
        &mut conn,
        w.officer,
        &code,
        7,
        action(Action::Receive),
        WorkingHours::default(),
        at,
    );
    assert!(matches!(stale, Err(WorkflowError::Stale { current: 1 })));
    let wrong = workflow::act(
        &mut conn,
        w.officer,
        &code,
        1,
        action(Action::Propose),
        WorkingHours::default(),
        at,
    );
    assert!(matches!(
        wrong,
        Err(WorkflowError::NotAllowed {
            status: DossierStatus::Submitted,
            ..
        })
    ));
    let no_reason = workflow::act(
        &mut conn,
        w.officer,
        &code,
        1,
        action(Action::Refuse),
        WorkingHours::default(),
        at,
    );
    assert!(matches!(no_reason, Err(WorkflowError::Invalid(_))));
    let d = motcua_persistence::repo::dossiers::by_code(&mut conn, &code).unwrap();
    assert_eq!((d.version, d.status), (1, DossierStatus::Submitted));
    assert_eq!(
        motcua_persistence::repo::dossiers::history(&mut conn, d.id)
            .unwrap()
            .len(),
        1
    );
}
