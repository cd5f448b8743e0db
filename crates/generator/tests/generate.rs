//! Generated data, read back from the database: every dossier's history is
//! a chain of steps the rules allow ending in the dossier's status, the same
//! seed gives the same data, and the KPI aggregates it leaves are the ones a
//! rebuild computes. Each on SQLite, and on PostgreSQL when
//! `MOTCUA_TEST_POSTGRES_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use motcua_domain::Role;
use motcua_domain::dossier::{Action, Actor, DossierStatus, StatusFacts, decide};
use motcua_generator::{Placeholder, Plan, generate};
use motcua_persistence::repo::kpi;
use motcua_persistence::schema::{apology_letters, dossier_events, dossiers, supplement_requests};
use motcua_persistence::testing::TestDb;
use motcua_persistence::{AnyConnection, Backend};

fn plan(seed: u64) -> Plan {
    Plan {
        dossiers: 1200,
        procedures: 16,
        years: 2,
        until: DateTime::parse_from_rfc3339("2026-11-30T03:00:00Z")
            .unwrap()
            .with_timezone(&Utc),
        seed,
        placeholder: Placeholder {
            storage_key: "synthetic-placeholder-pdf".into(),
            size_bytes: 1,
            sha256: "0".repeat(64),
        },
    }
}

fn on(backend: Backend, scenario: fn(&mut AnyConnection)) {
    let Some(db) = TestDb::for_backend(backend) else {
        eprintln!("skipped on {}: no server configured", backend.as_str());
        return;
    };
    scenario(&mut db.url.establish().unwrap());
}

macro_rules! on_both_backends {
    ($($scenario:ident),+ $(,)?) => {
        $(
            mod $scenario {
                #[test]
                fn sqlite() {
                    super::on(motcua_persistence::Backend::Sqlite, super::$scenario);
                }
                #[test]
                fn postgres() {
                    super::on(motcua_persistence::Backend::Postgres, super::$scenario);
                }
            }
        )+
    };
}

on_both_backends!(
    every_history_is_a_chain_the_rules_allow,
    the_same_seed_gives_the_same_data,
    the_aggregates_left_are_those_a_rebuild_computes,
);

type EventRow = (i64, String, Option<String>, String, String, NaiveDateTime);

fn every_history_is_a_chain_the_rules_allow(conn: &mut AnyConnection) {
    let report = generate(conn, &plan(5), |_| {}).unwrap();
    assert_eq!(report.dossiers, 1200);
    let events: Vec<EventRow> = dossier_events::table
        .order((dossier_events::dossier_id, dossier_events::id))
        .select((
            dossier_events::dossier_id,
            dossier_events::action,
            dossier_events::from_status,
            dossier_events::to_status,
            dossier_events::actor_role,
            dossier_events::at,
        ))
        .load(conn)
        .unwrap();
    let mut histories: BTreeMap<i64, Vec<EventRow>> = BTreeMap::new();
    for e in events {
        histories.entry(e.0).or_default().push(e);
    }
    let stored: Vec<(i64, String, i32)> = dossiers::table
        .select((dossiers::id, dossiers::status, dossiers::supplement_count))
        .load(conn)
        .unwrap();
    assert_eq!(stored.len(), 1200);
    let mut taken: BTreeMap<Action, usize> = BTreeMap::new();
    for (id, status, supplements) in stored {
        let history = &histories[&id];
        let (_, first, from, to, _, mut last_at) = history[0].clone();
        assert_eq!(
            (first.as_str(), from, to.as_str()),
            ("submit", None, "submitted")
        );
        let mut facts = StatusFacts {
            status: DossierStatus::Submitted,
            supplement_from: None,
        };
        for (_, action, from, to, role, at) in &history[1..] {
            let action: Action = action.parse().unwrap();
            let role: Role = role.parse().unwrap();
            assert_eq!(from.as_deref(), Some(facts.status.as_str()), "dossier {id}");
            // The role must be one that may take the action, wherever it sits.
            let actor = Actor {
                role,
                is_applicant: role == Role::Citizen,
                at_receiving_agency: true,
                at_handling_agency: true,
            };
            let next = decide(facts, action, actor);
            assert_eq!(
                next.as_ref().map(|s| s.as_str()),
                Ok(to.as_str()),
                "dossier {id}: {action} by {role} from {}",
                facts.status
            );
            assert!(*at >= last_at, "dossier {id}: {action} goes back in time");
            last_at = *at;
            facts.supplement_from = match action {
                Action::RequestSupplement => Some(facts.status),
                Action::Supplement => None,
                _ => facts.supplement_from,
            };
            facts.status = next.unwrap();
            *taken.entry(action).or_default() += 1;
        }
        assert_eq!(
            facts.status.as_str(),
            status,
            "dossier {id} ends where its story did"
        );
        let asked = history
            .iter()
            .filter(|e| e.1 == Action::RequestSupplement.as_str())
            .count();
        assert_eq!(asked, usize::try_from(supplements).unwrap(), "dossier {id}");
    }
    every_path_is_taken(conn, &taken);
}

/// Every path the generator knows is taken at this size (`taken`: how often
/// each action was), with the stores behind the steps.
fn every_path_is_taken(conn: &mut AnyConnection, taken: &BTreeMap<Action, usize>) {
    // Every path the generator knows is taken at this size.
    for action in [
        Action::Receive,
        Action::Refuse,
        Action::Assign,
        Action::Transfer,
        Action::RequestSupplement,
        Action::Supplement,
        Action::Propose,
        Action::Approve,
        Action::Reject,
        Action::IssueResult,
        Action::Return,
        Action::Withdraw,
        Action::Cancel,
        Action::Apology,
    ] {
        assert!(
            taken.contains_key(&action),
            "{action} never generated: {taken:?}"
        );
    }
    // The stores behind the steps: one request per supplement asked, one letter per apology.
    let requests: i64 = supplement_requests::table.count().get_result(conn).unwrap();
    let letters: i64 = apology_letters::table.count().get_result(conn).unwrap();
    assert_eq!(
        usize::try_from(requests).unwrap(),
        taken[&Action::RequestSupplement]
    );
    assert_eq!(usize::try_from(letters).unwrap(), taken[&Action::Apology]);
}

type Fingerprint = Vec<(String, String, NaiveDateTime, Option<NaiveDateTime>, i64)>;

fn fingerprint(conn: &mut AnyConnection) -> (Fingerprint, i64) {
    let rows = dossiers::table
        .order(dossiers::id)
        .select((
            dossiers::code,
            dossiers::status,
            dossiers::submitted_at,
            dossiers::due_at,
            dossiers::fees_paid_vnd,
        ))
        .load(conn)
        .unwrap();
    let events = dossier_events::table.count().get_result(conn).unwrap();
    (rows, events)
}

fn the_same_seed_gives_the_same_data(conn: &mut AnyConnection) {
    generate(conn, &plan(9), |_| {}).unwrap();
    let first = fingerprint(conn);
    let backend = conn.backend();
    let other = |seed: u64| {
        let db = TestDb::for_backend(backend).unwrap();
        let mut c = db.url.establish().unwrap();
        generate(&mut c, &plan(seed), |_| {}).unwrap();
        fingerprint(&mut c)
    };
    assert_eq!(other(9), first, "same seed, same data");
    assert_ne!(other(10), first, "another seed, other data");
}

fn the_aggregates_left_are_those_a_rebuild_computes(conn: &mut AnyConnection) {
    let report = generate(conn, &plan(3), |_| {}).unwrap();
    assert!(report.aggregate_rows > 0);
    let kept = kpi::snapshot(conn).unwrap();
    let rebuilt = kpi::rebuild(conn).unwrap();
    assert_eq!(rebuilt.rows, report.aggregate_rows);
    assert_eq!(kpi::snapshot(conn).unwrap(), kept);
}
