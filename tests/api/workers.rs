//! The background workers run in the tests as in production, on the app's
//! clock: a scenario at a chosen instant needs no waiting, and work meant to
//! happen once across processes does.

use std::time::{Duration, Instant};

use chrono::Utc;
use motcua::seed::DEMO_CITIZEN_ID;
use motcua_persistence::Backend;
use motcua_persistence::repo::job_runs;
use motcua_tests::TestApp;

use crate::payments::{dossier_with_fees, payment, start};

#[actix_web::test]
async fn a_payment_expires_when_the_clock_passes_its_deadline_sqlite() {
    a_payment_expires_when_the_clock_passes_its_deadline(Backend::Sqlite).await;
}

#[actix_web::test]
async fn a_payment_expires_when_the_clock_passes_its_deadline_postgres() {
    a_payment_expires_when_the_clock_passes_its_deadline(Backend::Postgres).await;
}

/// Fifteen minutes pass on the clock, not on the wall: the worker (every
/// second here) expires the attempt at its next round.
async fn a_payment_expires_when_the_clock_passes_its_deadline(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, |s| s.payments.jobs_interval_secs = 1).await
    else {
        return eprintln!("skipped on {}: no database", backend.as_str());
    };
    app.clock.set(Utc::now());
    let (citizen, code) = dossier_with_fees(&app).await;
    let created = start(&app, &citizen, &code).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let expires_at: chrono::DateTime<Utc> =
        created["expires_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(expires_at, app.clock.now() + chrono::Duration::minutes(15));
    // Rounds pass while the clock stands still: nothing expires early.
    actix_web::rt::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        payment(&app, &citizen, &id).await["status"],
        created["status"]
    );
    assert_ne!(created["status"], "failed");
    app.clock.advance(chrono::Duration::minutes(16));
    // Access tokens expire on the same clock: the citizen signs in again.
    assert_eq!(
        app.get(&format!("/api/v1/payments/{id}"))
            .header("authorization", motcua_tests::bearer(&citizen))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let citizen = app.token_of(DEMO_CITIZEN_ID).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let p = payment(&app, &citizen, &id).await;
        if p["status"] == "failed" {
            assert_eq!(p["failure_code"], "expired");
            break;
        }
        assert!(Instant::now() < deadline, "not expired by the worker: {p}");
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    }
}

#[actix_web::test]
async fn the_daily_reconciliation_runs_once_across_processes_sqlite() {
    the_daily_reconciliation_runs_once_across_processes(Backend::Sqlite).await;
}

#[actix_web::test]
async fn the_daily_reconciliation_runs_once_across_processes_postgres() {
    the_daily_reconciliation_runs_once_across_processes(Backend::Postgres).await;
}

/// Two servers on one database, each running rounds of its workers at the
/// same instants: each day is reconciled by exactly one of them.
async fn the_daily_reconciliation_runs_once_across_processes(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return eprintln!("skipped on {}: no database", backend.as_str());
    };
    let peer = app.peer(|_| {}).await;
    let day_one = "2027-01-12T03:00:00Z".parse().unwrap();
    app.clock.set(day_one);
    let mut reconciled = Vec::new();
    for day in 0..2 {
        if day > 0 {
            app.clock.advance(chrono::Duration::days(1));
        }
        for _ in 0..3 {
            let (a, b) = (app.app.clone(), peer.app.clone());
            let (ra, rb) = futures_util::future::join(
                actix_web::rt::task::spawn_blocking(move || a.payment_round()),
                actix_web::rt::task::spawn_blocking(move || b.payment_round()),
            )
            .await;
            reconciled.extend(ra.unwrap().reconciled);
            reconciled.extend(rb.unwrap().reconciled);
        }
    }
    let days: Vec<String> = reconciled.iter().map(ToString::to_string).collect();
    assert_eq!(days, ["2027-01-11", "2027-01-12"], "one run per day");
    let mut conn = app.pool.get().unwrap();
    let runs = job_runs::of_job(&mut conn, motcua_app::workers::RECONCILIATION).unwrap();
    assert_eq!(runs.len(), 2);
    assert!(runs.iter().all(|r| r.finished_at.is_some()), "{runs:?}");
    for day in &reconciled {
        assert!(
            motcua_persistence::repo::payments::reconciliation(&mut conn, *day)
                .unwrap()
                .is_some(),
            "{day} reconciled"
        );
    }
    // A claim whose process died is taken over once its lease has passed.
    let now = app.clock.now();
    let lease = chrono::Duration::minutes(15);
    assert!(job_runs::claim(&mut conn, "test", "k", "dead", now, lease).unwrap());
    assert!(!job_runs::claim(&mut conn, "test", "k", "alive", now, lease).unwrap());
    let later = now + chrono::Duration::minutes(16);
    assert!(job_runs::claim(&mut conn, "test", "k", "alive", later, lease).unwrap());
    job_runs::finish(&mut conn, "test", "k", "alive", later).unwrap();
    let much_later = later + chrono::Duration::days(1);
    assert!(!job_runs::claim(&mut conn, "test", "k", "other", much_later, lease).unwrap());
}
