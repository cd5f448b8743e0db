//! KPI aggregates kept with every change agree with a rebuild from the
//! stored dossiers, over paths that cross months, Tết, transfers,
//! supplements, payments and cancellations.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use diesel::prelude::*;
use motcua_app::dossiers::{
    self as workflow, ActionInput, ApplicantInput, DocumentInput, Submission,
};
use motcua_domain::agency::NewAgency;
use motcua_domain::calendar::{WorkingCalendar, WorkingHours};
use motcua_domain::dossier::{Action, DossierStatus};
use motcua_domain::feedback::FeedbackAction;
use motcua_domain::kpi;
use motcua_domain::kpi::FeedbackCounts;
use motcua_domain::procedure::{AdminLevel, Fee, SupplementClock};
use motcua_persistence::repo::feedback::{self, NewFeedback, Reply};
use motcua_persistence::repo::kpi::{self as agg, KpiFilter};
use motcua_persistence::repo::{agencies, calendar, payments, procedures};
use motcua_persistence::schema::kpi_agg;
use motcua_persistence::{AnyConnection, Backend, Pool};

use crate::on_both_backends;
use crate::workflow::{
    World, act, action, local, request_supplement, supplement, to_review, world,
};

on_both_backends!(
    kept_aggregates_agree_with_a_rebuild,
    generated_data_leaves_the_database_usable,
    feedback_is_counted_by_how_it_was_handled,
    upgrading_from_per_minute_waits_keeps_the_figures,
    a_long_series_over_many_procedures_stays_within_bind_limits,
    days_waiting_for_a_supplement_are_not_used_days
);

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

/// How many shards the aggregate rows use.
fn shards_in_use(conn: &mut AnyConnection) -> usize {
    kpi_agg::table
        .select(kpi_agg::shard)
        .distinct()
        .load::<i32>(conn)
        .unwrap()
        .len()
}

fn with_note(a: Action) -> ActionInput {
    ActionInput {
        note: Some("Lý do".into()),
        ..action(a)
    }
}

/// Proposes, approves and issues a paper result at `at`.
fn decide(conn: &mut AnyConnection, w: &World, code: &str, at: DateTime<Utc>) {
    act(conn, w.admin, code, action(Action::Propose), at);
    act(conn, w.admin, code, action(Action::Approve), at);
    act(
        conn,
        w.admin,
        code,
        ActionInput {
            paper_result: true,
            ..action(Action::IssueResult)
        },
        at,
    );
}

/// Another agency (to transfer to; its id) and a procedure of `dept` with a fee.
fn a_second_agency_and_a_paid_procedure(conn: &mut AnyConnection, dept: i64) -> i64 {
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
    procedures::create(
        conn,
        &paid,
        Some(dept),
        &motcua_domain::audit::Actor::system("test"),
        chrono::Utc::now(),
    )
    .unwrap();
    other
}

/// The `i`-th dossier's path (one of eight, by `i % 8`) from its filing on
/// `day`; `other`: the agency a transfer goes to.
fn one_path(
    conn: &mut AnyConnection,
    (w, calendar): (&World, &WorkingCalendar),
    i: u32,
    (code, other): (&str, i64),
    day: NaiveDate,
) {
    let at = |offset: i64, hour: u32| {
        motcua_domain::local_time::instant(
            day + Duration::days(offset),
            NaiveTime::from_hms_opt(hour, 0, 0).unwrap(),
        )
    };
    match i % 8 {
        // Never received.
        0 if i > 0 => {}
        // Decided early and returned.
        0 | 1 => {
            to_review(conn, w, code, at(0, 9));
            decide(conn, w, code, at(1, 10));
            act(conn, w.officer, code, action(Action::Return), at(2, 10));
        }
        // Decided late: an apology, then returned.
        2 => {
            to_review(conn, w, code, at(0, 9));
            decide(conn, w, code, at(20, 10));
            let next = at(21, 10);
            act(
                conn,
                w.admin,
                code,
                ActionInput {
                    new_appointment_date: Some(
                        calendar.next_working_day(motcua_domain::local_time::date(next)),
                    ),
                    ..with_note(Action::Apology)
                },
                next,
            );
            act(conn, w.officer, code, action(Action::Return), at(22, 10));
        }
        // Rejected after review.
        3 => {
            to_review(conn, w, code, at(0, 9));
            act(conn, w.admin, code, action(Action::Propose), at(1, 9));
            act(conn, w.admin, code, with_note(Action::Reject), at(2, 9));
        }
        // Two supplement requests (late by rule), transferred, result waiting for collection.
        4 => {
            to_review(conn, w, code, at(0, 9));
            for k in 0..2 {
                act(conn, w.admin, code, request_supplement(), at(1 + k * 2, 9));
                act(conn, w.admin, code, supplement(), at(2 + k * 2, 9));
            }
            act(
                conn,
                w.admin,
                code,
                ActionInput {
                    target_agency_id: Some(other),
                    ..action(Action::Transfer)
                },
                at(5, 9),
            );
            decide(conn, w, code, at(6, 9));
        }
        // Cancelled, or withdrawn by the applicant.
        5 => {
            to_review(conn, w, code, at(0, 9));
            act(conn, w.admin, code, with_note(Action::Cancel), at(3, 9));
        }
        6 => {
            to_review(conn, w, code, at(0, 9));
            act(conn, w.admin, code, action(Action::Withdraw), at(1, 9));
        }
        // Fees paid at the counter, then returned; the last one stays open.
        _ => {
            to_review(conn, w, code, at(0, 9));
            if i < 20 {
                decide(conn, w, code, at(2, 9));
                let id = motcua_persistence::repo::dossiers::by_code(conn, code)
                    .unwrap()
                    .id;
                payments::record_counter(
                    conn,
                    &payments::CounterPayment {
                        id: &format!("PAY-{i}"),
                        dossier_id: id,
                        amount_vnd: 500_000,
                        receipt_number: &format!("BL-{i}"),
                        recorded_by: w.officer.user_id,
                    },
                    chrono::Utc::now(),
                )
                .unwrap()
                .unwrap();
                act(conn, w.officer, code, action(Action::Return), at(3, 9));
            }
        }
    }
}

fn kept_aggregates_agree_with_a_rebuild(pool: &Pool) {
    let mut conn = pool.get().unwrap();
    let w = world(&mut conn, SupplementClock::Pause);
    let dept = w.officer.agency_id.unwrap();
    let other = a_second_agency_and_a_paid_procedure(&mut conn, dept);

    let calendar = calendar::load(&mut conn, WorkingHours::default()).unwrap();
    let mut states = Vec::new();
    for i in 0..24_u32 {
        // Spread from mid-December 2025 across Tết 2026 (16–20 Feb) into March.
        let day = NaiveDate::from_ymd_opt(2025, 12, 15).unwrap() + Duration::days(i64::from(i) * 4);
        let at = |offset: i64, hour: u32| {
            motcua_domain::local_time::instant(
                day + Duration::days(offset),
                NaiveTime::from_hms_opt(hour, 0, 0).unwrap(),
            )
        };
        let procedure = if i % 8 == 7 { "1.000002" } else { "1.000001" };
        let code = submit(&mut conn, &w, procedure, at(0, 9));
        one_path(&mut conn, (&w, &calendar), i, (&code, other), day);
        states.push(
            motcua_persistence::repo::dossiers::by_code(&mut conn, &code)
                .unwrap()
                .status,
        );
    }
    assert!(states.contains(&DossierStatus::ResultReady));
    assert!(states.contains(&DossierStatus::Withdrawn));

    let kept = agg::snapshot(&mut conn).unwrap();
    assert!(!kept.is_empty());
    // On PostgreSQL the 24 dossiers added to several shards of the shared
    // rows (so their writers did not queue on one row lock); the snapshot
    // summed them. SQLite keeps one shard.
    let shards = shards_in_use(&mut conn);
    match conn.backend() {
        Backend::Postgres => assert!(shards > 4, "{shards} shards used"),
        Backend::Sqlite => assert_eq!(shards, 1),
    }
    let report = agg::rebuild(&mut conn).unwrap();
    assert_eq!(report.dossiers, 24);
    assert_eq!(shards_in_use(&mut conn), 1, "a rebuild writes shard 0 only");
    let rebuilt = agg::snapshot(&mut conn).unwrap();
    assert_eq!(kept.len(), rebuilt.len());
    for (k, r) in kept.iter().zip(&rebuilt) {
        assert_eq!(k, r);
    }

    // The whole story, summed: what the paths above add up to.
    let filter = KpiFilter::default();
    let spans = kpi::cover(
        NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(),
        NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
    );
    let by_agency = agg::flows_by_agency(&mut conn, &filter, &spans).unwrap();
    assert_eq!(
        by_agency.keys().copied().collect::<Vec<_>>(),
        [dept],
        "the transferred dossier counts for the agency that received it"
    );
    let flows = agg::total(&by_agency);
    let stock = agg::total(
        &agg::stock_by_agency(
            &mut conn,
            &filter,
            NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
        )
        .unwrap(),
    );
    let (counts, rates) = kpi::summarize(&flows, &stock);
    // 24 submitted, 2 never received (i = 8, 16).
    assert_eq!(counts.received, 22);
    // Decided: 0,1,9,17 early; 2,10,18 late; 3,11,19 rejected; 4,12,20 late (two supplements); 7,15 paid.
    assert_eq!(counts.decided, 4 + 3 + 3 + 3 + 2);
    assert_eq!(counts.late, 6);
    assert_eq!((counts.cancelled, counts.withdrawn), (3, 3));
    assert_eq!(counts.in_progress, 1, "23 stays open");
    assert_eq!(rates.on_time.denominator, 15);
    assert_eq!(rates.on_time.numerator, 9);
    assert_eq!((flows.paid, flows.paid_online), (2, 0));
}

fn generated_data_leaves_the_database_usable(pool: &Pool) {
    use motcua_generator::{self as synthetic, Placeholder, Plan};
    let mut conn = pool.get().unwrap();
    let w = world(&mut conn, SupplementClock::Pause);
    let plan = Plan {
        dossiers: 3000,
        procedures: 24,
        years: 3,
        until: chrono::Utc::now(),
        seed: 7,
        placeholder: Placeholder {
            storage_key: "synthetic-placeholder-pdf".into(),
            size_bytes: 1,
            sha256: "0".repeat(64),
        },
    };
    let mut batches = 0;
    let report = synthetic::generate(&mut conn, &plan, |_| batches += 1).unwrap();
    assert_eq!(report.dossiers, 3000);
    assert_eq!((report.agencies, report.procedures), (3, 24));
    assert!(batches >= 2);
    assert!(report.payments > 0 && report.ratings > 0 && report.tickets > 0 && report.feedback > 0);
    // Years of history, mostly finished, channels mixed.
    let filter = KpiFilter::default();
    let now = motcua_domain::local_time::date(chrono::Utc::now());
    let spans = kpi::cover(now - Duration::days(4 * 366), now + Duration::days(1));
    let flows = agg::total(&agg::flows_by_agency(&mut conn, &filter, &spans).unwrap());
    let stock =
        agg::total(&agg::stock_by_agency(&mut conn, &filter, now + Duration::days(1)).unwrap());
    let (counts, rates) = kpi::summarize(&flows, &stock);
    assert!(counts.received > 2800, "{counts:?}");
    assert!(
        counts.decided > 2000 && counts.in_progress < 300,
        "{counts:?}"
    );
    let online = rates.online_dossiers.value.unwrap();
    assert!((0.2..0.8).contains(&online), "{online}");
    // A second run adds to the first; real work carries on after both.
    synthetic::generate(
        &mut conn,
        &Plan {
            dossiers: 500,
            seed: 8,
            ..plan
        },
        |_| {},
    )
    .unwrap();
    let kept = agg::snapshot(&mut conn).unwrap();
    let code = submit(&mut conn, &w, "1.000001", chrono::Utc::now());
    assert!(code.ends_with("-0001"), "{code}");
    let dossier = motcua_persistence::repo::dossiers::by_code(&mut conn, &code).unwrap();
    assert!(dossier.id > 3500, "ids continue after the generated ones");
    agg::rebuild(&mut conn).unwrap();
    assert_eq!(
        agg::snapshot(&mut conn).unwrap(),
        kept,
        "submitted only: nothing counted yet"
    );
}

/// Answered in time, answered late, open past its due moment, open and not
/// yet due, and one outside the period: each lands in the right count, per
/// agency, as of the moment asked.
fn feedback_is_counted_by_how_it_was_handled(pool: &Pool) {
    let conn = &mut pool.get().unwrap();
    let w = world(conn, SupplementClock::Pause);
    let agency = w.officer.agency_id.unwrap();
    let sent = |conn: &mut AnyConnection, code: &str, at: DateTime<Utc>, due: DateTime<Utc>| {
        feedback::create(
            conn,
            &NewFeedback {
                tracking_code: code,
                agency_id: agency,
                procedure_code: Some("1.000001"),
                subject: "Góp ý",
                content: "Nội dung",
                sender_name: None,
                contact: Some("0900000000"),
                sender_user_id: None,
                due_at: due,
                at,
            },
        )
        .unwrap()
        .id
    };
    // (sent, due, answered): in time, late, open past due, open not yet due,
    // and one sent in April, outside the period.
    let items = [
        ((3, 2), (3, 20), Some((3, 10))),
        ((3, 3), (3, 23), Some((3, 25))),
        ((3, 4), (3, 24), None),
        ((3, 30), (4, 17), None),
        ((4, 2), (4, 22), None),
    ];
    for (i, (sent_on, due_on, answered_on)) in items.into_iter().enumerate() {
        let at = |(m, d): (u32, u32), h| local(2026, m, d, h, 0);
        let id = sent(
            conn,
            &format!("PA-AAAA-AAAA-0{i}"),
            at(sent_on, 9),
            at(due_on, 17),
        );
        if let Some(day) = answered_on {
            let reply = feedback::reply(
                conn,
                id,
                FeedbackAction::Answer,
                "Trả lời",
                None,
                at(day, 9),
            );
            assert!(matches!(reply.unwrap(), Reply::Done(_)));
        }
    }

    let march = |conn: &mut AnyConnection, as_of: DateTime<Utc>, codes: Option<&[String]>| {
        let from = local(2026, 3, 1, 0, 0);
        let to = local(2026, 4, 1, 0, 0);
        feedback::counts_by_agency(conn, Some(agency), codes, from, to, as_of).unwrap()
    };
    let counts = |received, handled_in_time, overdue| FeedbackCounts {
        received,
        handled_in_time,
        overdue,
    };
    let at_end = march(conn, local(2026, 4, 1, 0, 0), None);
    assert_eq!(at_end.get(&agency), Some(&counts(4, 1, 2)));
    // Before the third one fell due, only the late answer (still open then) was overdue.
    let earlier = march(conn, local(2026, 3, 24, 12, 0), None);
    assert_eq!(earlier.get(&agency), Some(&counts(4, 1, 1)));
    let none = march(
        conn,
        local(2026, 4, 1, 0, 0),
        Some(&["9.999999".to_owned()]),
    );
    assert!(none.is_empty());
}

/// Migration 000005 turns the aggregates kept by 000004 (per-procedure rows
/// only, one queue row per day, sector and minute) into the current shape
/// with the same figures, and its down migration turns them back.
fn upgrading_from_per_minute_waits_keeps_the_figures(pool: &Pool) {
    use diesel::RunQueryDsl;
    use diesel_migrations::MigrationHarness;
    use motcua_domain::kpi::{Grain, Span};
    use motcua_persistence::db;
    use motcua_persistence::repo::queue;

    let conn = &mut pool.get().unwrap();
    let backend = conn.backend();
    // Back to before 000005, reverting whatever later migrations came since.
    let before_kpi_at_scale = |conn: &mut AnyConnection| loop {
        let reverted = conn
            .revert_last_migration(db::migrations_for(backend))
            .unwrap();
        if reverted.to_string().contains("000005") {
            break;
        }
    };
    before_kpi_at_scale(conn);
    for statement in [
        "INSERT INTO kpi_agg (grain, period, agency_id, procedure_id, channel, received, decided) \
         VALUES ('d', '2026-03-02', 1, 11, 'online', 2, 1), ('d', '2026-03-02', 1, 12, 'online', 3, 0), \
                ('m', '2026-03-01', 1, 11, 'counter', 5, 0), ('d', '2026-03-02', 2, 13, 'online', 7, 0)",
        "INSERT INTO queue_waits (day, agency_id, sector_code, minutes, tickets) \
         VALUES ('2026-03-02', 1, '', 0, 2), ('2026-03-02', 1, 'du-lich', 0, 1), \
                ('2026-03-02', 1, '', 5, 1), ('2026-03-03', 1, '', 10, 4), ('2026-04-01', 1, '', 3, 9)",
    ] {
        diesel::sql_query(statement).execute(conn).unwrap();
    }
    db::run_migrations(conn).unwrap();

    let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).unwrap();
    let span = |grain, from, to| Span { grain, from, to };
    let agency_one = KpiFilter {
        agency_id: Some(1),
        ..Default::default()
    };
    let flows = agg::total(
        &agg::flows_by_agency(
            conn,
            &agency_one,
            &[
                span(Grain::Day, day(3, 2), day(3, 3)),
                span(Grain::Month, day(3, 1), day(4, 1)),
            ],
        )
        .unwrap(),
    );
    assert_eq!((flows.received, flows.decided), (10, 1));
    let march_days = [span(Grain::Day, day(3, 1), day(4, 1))];
    let march = [span(Grain::Month, day(3, 1), day(4, 1))];
    let expected = std::collections::BTreeMap::from([(0, 3), (5, 1), (10, 4)]);
    let check = |conn: &mut AnyConnection| {
        for spans in [&march_days[..], &march[..]] {
            let waits = queue::waits_by_agency(conn, Some(1), spans).unwrap();
            assert_eq!(waits.get(&1), Some(&expected), "{spans:?}");
        }
    };
    check(conn);

    // Down and up again: the same figures.
    before_kpi_at_scale(conn);
    db::run_migrations(conn).unwrap();
    check(conn);
}

/// 400 daily points for a sector of 120 procedures would bind about 50,000
/// values if every branch repeated the list; SQLite allows 32,766.
fn a_long_series_over_many_procedures_stays_within_bind_limits(pool: &Pool) {
    use motcua_domain::kpi::{Grain, Span};

    let conn = &mut pool.get().unwrap();
    let w = world(conn, SupplementClock::Pause);
    let code = submit(conn, &w, "1.000001", local(2026, 3, 2, 9, 0));
    act(
        conn,
        w.officer,
        &code,
        action(Action::Receive),
        local(2026, 3, 2, 9, 5),
    );
    let procedure = procedures::get(conn, "1.000001").unwrap().id;
    let start = NaiveDate::from_ymd_opt(2025, 6, 1).unwrap();
    let spans: Vec<Span> = (0..400)
        .map(|i| {
            let from = start + Duration::days(i);
            Span {
                grain: Grain::Day,
                from,
                to: from + Duration::days(1),
            }
        })
        .collect();
    let filter = KpiFilter {
        procedure_ids: Some((procedure..procedure + 120).collect()),
        ..Default::default()
    };
    let points = agg::flows_by_period(conn, &filter, &spans).unwrap();
    let received: i64 = points.iter().map(|(_, _, c)| c.received).sum();
    assert_eq!(received, 1);
}

/// Decision 766's time saving reads working days used; the week the applicant
/// took to supplement is not the agency's.
fn days_waiting_for_a_supplement_are_not_used_days(pool: &Pool) {
    let mut conn = pool.get().unwrap();
    let w = world(&mut conn, SupplementClock::Pause);
    // Received Mon 2 Mar 2026, supplement asked Mon 9, given Mon 16, decided Mon 30:
    // 20 working days elapsed, 5 of them (10–13 and 16 Mar) waiting.
    let code = submit(&mut conn, &w, "1.000001", local(2026, 3, 2, 9, 0));
    to_review(&mut conn, &w, &code, local(2026, 3, 2, 9, 30));
    act(
        &mut conn,
        w.admin,
        &code,
        request_supplement(),
        local(2026, 3, 9, 9, 0),
    );
    act(
        &mut conn,
        w.admin,
        &code,
        supplement(),
        local(2026, 3, 16, 9, 0),
    );
    decide(&mut conn, &w, &code, local(2026, 3, 30, 9, 0));

    let spans = kpi::cover(
        NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
    );
    let used = |conn: &mut AnyConnection| {
        let flows = agg::total(&agg::flows_by_agency(conn, &KpiFilter::default(), &spans).unwrap());
        (flows.decided, flows.used_days)
    };
    assert_eq!(used(&mut conn), (1, 15));
    agg::rebuild(&mut conn).unwrap();
    assert_eq!(used(&mut conn), (1, 15), "a rebuild agrees");
}
