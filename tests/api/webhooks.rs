//! Webhooks end to end: events appended to the outbox reach a local receiver
//! signed (checked with the domain's `verify`, as a receiver would), once and
//! in order; a failing receiver gets retries on schedule (the App clock moves,
//! nobody waits) and its subscription ends switched off with an event saying
//! so; two server processes on one database send each attempt once; a rotated
//! secret verifies with both secrets during the overlap; private targets are
//! refused when not allowed.

use std::net::TcpListener;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use motcua_app::App;
use motcua_domain::event::{EventType, SubjectKind};
use motcua_domain::webhook::{self, DeliveryStatus, Secret, SubscriptionStatus};
use motcua_persistence::Backend;
use motcua_persistence::repo::events::{self, NewEvent};
use motcua_persistence::repo::webhooks::{self as store, NewSubscription, Subscription};
use motcua_tests::TestApp;
use serde_json::{Value, json};

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    id: String,
    timestamp: String,
    signature: String,
    body: Vec<u8>,
}

/// A local receiver: records every request and answers with `status`.
struct Receiver {
    base: String,
    seen: Arc<Mutex<Vec<Received>>>,
    status: Arc<AtomicU16>,
    handle: actix_web::dev::ServerHandle,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

async fn record(
    req: HttpRequest,
    body: web::Bytes,
    seen: web::Data<Mutex<Vec<Received>>>,
    status: web::Data<AtomicU16>,
) -> HttpResponse {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    seen.lock().unwrap().push(Received {
        path: req.path().to_owned(),
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body: body.to_vec(),
    });
    let code = status.load(Ordering::SeqCst);
    HttpResponse::build(actix_web::http::StatusCode::from_u16(code).unwrap()).body("thanks")
}

impl Receiver {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = web::Data::new(Mutex::new(Vec::new()));
        let status = web::Data::new(AtomicU16::new(200));
        let (s, t) = (seen.clone(), status.clone());
        let server = actix_web::HttpServer::new(move || {
            actix_web::App::new()
                .app_data(s.clone())
                .app_data(t.clone())
                .default_service(web::to(record))
        })
        .workers(2)
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Self {
            base: format!("http://127.0.0.1:{port}"),
            seen: seen.into_inner(),
            status: status.into_inner(),
            handle,
        }
    }

    fn seen(&self) -> Vec<Received> {
        self.seen.lock().unwrap().clone()
    }

    /// Waits (up to 30 s) until `count` requests came.
    async fn wait_for(&self, count: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let seen = self.seen();
            if seen.len() >= count {
                return seen;
            }
            assert!(Instant::now() < deadline, "{} of {count} came", seen.len());
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn new_secret() -> Secret {
    let mut bytes = [0u8; webhook::SECRET_LEN];
    let random = [uuid::Uuid::new_v4(), uuid::Uuid::new_v4()];
    let source: Vec<u8> = random.iter().flat_map(|u| *u.as_bytes()).collect();
    bytes.copy_from_slice(&source[..webhook::SECRET_LEN]);
    Secret::from_bytes(bytes).unwrap()
}

fn admin_id(app: &TestApp) -> i64 {
    use motcua_persistence::schema::users;
    let mut conn = app.pool.get().unwrap();
    users::table
        .filter(users::role.eq("admin"))
        .select(users::id)
        .order(users::id.asc())
        .first(&mut conn)
        .unwrap()
}

fn subscribe(app: &TestApp, url: &str, types: &[EventType]) -> (Subscription, Secret) {
    let secret = new_secret();
    let mut conn = app.pool.get().unwrap();
    let sub = store::create(
        &mut conn,
        &NewSubscription {
            owner_id: admin_id(app),
            url,
            event_types: types,
            agency_id: None,
            secret: &secret.expose(),
            at: app.clock.now(),
        },
    )
    .unwrap();
    (sub, secret)
}

/// Appends one event as a use case would, in its own transaction; returns its id.
fn append(app: &TestApp, event_type: EventType, subject: &str) -> String {
    let id = uuid::Uuid::new_v4().to_string();
    let payload = json!({ "code": subject }).to_string();
    let mut conn = app.pool.get().unwrap();
    motcua_persistence::write_tx(&mut conn, |c| {
        events::append(
            c,
            &NewEvent {
                id: &id,
                event_type,
                version: 1,
                subject,
                agency_id: None,
                occurred_at: app.clock.now(),
                payload: &payload,
            },
        )
    })
    .unwrap();
    id
}

async fn round(app: &App) -> motcua_app::webhooks::WebhookRound {
    let app = app.clone();
    actix_web::rt::task::spawn_blocking(move || app.webhook_round())
        .await
        .unwrap()
}

/// Waits until the feed's horizon has passed every event written so far: on
/// PostgreSQL a transaction still running anywhere on the server (other
/// tests) holds it back for a moment.
async fn settle(app: &TestApp) {
    use motcua_persistence::schema::events as ev;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (latest, last) = {
            let mut conn = app.pool.get().unwrap();
            let last: Option<(i64, i64)> = ev::table
                .select((ev::tx, ev::position))
                .order((ev::tx.desc(), ev::position.desc()))
                .first(&mut conn)
                .optional()
                .unwrap();
            (store::latest_cursor(&mut conn).unwrap(), last)
        };
        if last.is_none_or(|(tx, position)| latest == events::Cursor { tx, position }) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the feed's horizon does not move"
        );
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs rounds of `app` until the receiver got `count` requests.
async fn rounds_until(app: &TestApp, receiver: &Receiver, count: usize) -> Vec<Received> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        round(&app.app).await;
        let seen = receiver.seen();
        if seen.len() >= count {
            return seen;
        }
        assert!(Instant::now() < deadline, "{} of {count} came", seen.len());
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}

fn verifies(secret: &Secret, got: &Received, now: DateTime<Utc>) -> bool {
    webhook::verify(
        secret,
        &got.id,
        &got.timestamp,
        &got.body,
        &got.signature,
        now.timestamp(),
    )
    .is_ok()
}

#[actix_web::test]
async fn events_reach_the_receiver_signed_once_and_in_order_sqlite() {
    events_reach_the_receiver_signed_once_and_in_order(Backend::Sqlite).await;
}

#[actix_web::test]
async fn events_reach_the_receiver_signed_once_and_in_order_postgres() {
    events_reach_the_receiver_signed_once_and_in_order(Backend::Postgres).await;
}

/// The background worker (every 100 ms here) delivers what the outbox holds.
async fn events_reach_the_receiver_signed_once_and_in_order(backend: Backend) {
    let Some(app) = TestApp::start_with(backend, |s| s.webhooks.interval_ms = 100).await else {
        return eprintln!("skipped on {}: no database", backend.as_str());
    };
    let receiver = Receiver::start().await;
    // Before the subscription: never sent to it.
    append(&app, EventType::DossierReceived, "OLD-1");
    settle(&app).await;
    let url = format!("{}/hooks/a", receiver.base);
    let (sub, secret) = subscribe(
        &app,
        &url,
        &[EventType::DossierReceived, EventType::PaymentPaid],
    );
    let mut sent = Vec::new();
    for n in 0..6 {
        sent.push(append(&app, EventType::DossierReceived, &format!("D-{n}")));
        // Not among the subscription's types: filtered out.
        append(&app, EventType::DossierAssigned, &format!("D-{n}"));
    }
    sent.push(append(&app, EventType::PaymentPaid, "P-1"));
    let seen = receiver.wait_for(sent.len()).await;
    // A few more rounds: nothing comes twice.
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    let seen_after = receiver.seen();
    assert_eq!(seen_after.len(), sent.len(), "once each: {seen_after:?}");
    let ids: Vec<&str> = seen.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, sent, "in feed order");
    for got in &seen {
        assert_eq!(got.path, "/hooks/a");
        assert!(
            verifies(&secret, got, Utc::now()),
            "signature of {}",
            got.id
        );
        assert!(!verifies(&new_secret(), got, Utc::now()));
        let envelope: Value = serde_json::from_slice(&got.body).unwrap();
        assert_eq!(envelope["id"], got.id.as_str());
        assert_eq!(envelope["version"], 1);
        assert!(envelope["occurred_at"].as_str().is_some());
        assert!(envelope["type"] == "dossier.received" || envelope["type"] == "payment.paid");
        assert_eq!(envelope["data"]["code"], envelope["subject"]);
    }
    let mut conn = app.pool.get().unwrap();
    let deliveries = store::deliveries_of(&mut conn, sub.id, 100).unwrap();
    assert_eq!(deliveries.len(), sent.len());
    for delivery in &deliveries {
        assert_eq!(delivery.status, DeliveryStatus::Delivered);
        assert_eq!(delivery.attempts, 1);
        let log = store::attempts_of(&mut conn, delivery.id).unwrap();
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].status_code, Some(200));
        assert_eq!(log[0].response_excerpt.as_deref(), Some("thanks"));
        assert_eq!(log[0].instance, &*app.app.instance);
    }
}

#[actix_web::test]
async fn a_failing_receiver_is_retried_on_schedule_then_switched_off_sqlite() {
    a_failing_receiver_is_retried_on_schedule_then_switched_off(Backend::Sqlite).await;
}

#[actix_web::test]
async fn a_failing_receiver_is_retried_on_schedule_then_switched_off_postgres() {
    a_failing_receiver_is_retried_on_schedule_then_switched_off(Backend::Postgres).await;
}

/// The receiver answers 500 throughout. Rounds run whenever the clock
/// reaches the next due attempt; a new event comes whenever nothing is due.
async fn a_failing_receiver_is_retried_on_schedule_then_switched_off(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return eprintln!("skipped on {}: no database", backend.as_str());
    };
    let receiver = Receiver::start().await;
    receiver.status.store(500, Ordering::SeqCst);
    let start: DateTime<Utc> = "2027-03-01T01:00:00Z".parse().unwrap();
    app.clock.set(start);
    let (sub, _) = subscribe(&app, &format!("{}/down", receiver.base), &[]);
    let first = append(&app, EventType::DossierReceived, "F-1");
    settle(&app).await;
    let mut conn = app.pool.get().unwrap();
    let mut disabled = false;
    for _ in 0..100 {
        let done = round(&app.app).await;
        if done.disabled > 0 {
            disabled = true;
            break;
        }
        let due = store::deliveries_of(&mut conn, sub.id, 100)
            .unwrap()
            .into_iter()
            .filter(|d| d.status == DeliveryStatus::Pending)
            .map(|d| d.next_attempt_at)
            .min();
        match due {
            Some(at) => app.clock.set(at.max(app.clock.now())),
            None => {
                append(&app, EventType::DossierReceived, "F-next");
                settle(&app).await;
            }
        }
    }
    assert!(disabled, "switched off");
    let now = app.clock.now();
    let sub = store::find(&mut conn, sub.id).unwrap().unwrap();
    assert_eq!(sub.status, SubscriptionStatus::Disabled);
    assert!(sub.disabled_reason.is_some());
    let failing_for = now - sub.failing_since.unwrap();
    assert!(webhook::should_disable(
        u32::try_from(sub.consecutive_failures).unwrap(),
        failing_for
    ));
    // The first event was tried on the whole schedule, then given up.
    let deliveries = store::deliveries_of(&mut conn, sub.id, 100).unwrap();
    let first_delivery = deliveries.iter().find(|d| d.event_id == first).unwrap();
    assert_eq!(first_delivery.status, DeliveryStatus::Failed);
    let log = store::attempts_of(&mut conn, first_delivery.id).unwrap();
    assert_eq!(log.len(), webhook::MAX_ATTEMPTS);
    assert_eq!(log[0].at, start);
    for (n, pair) in log.windows(2).enumerate() {
        assert_eq!(
            pair[1].at - pair[0].at,
            webhook::retry_after(n + 1).unwrap()
        );
        assert_eq!(pair[0].status_code, Some(500));
    }
    // Every logged attempt reached the receiver, and no attempt twice.
    let logged: usize = deliveries
        .iter()
        .map(|d| store::attempts_of(&mut conn, d.id).unwrap().len())
        .sum();
    assert_eq!(receiver.seen().len(), logged);
    // The switch-off is an event of its own, about the subscription.
    let said = events::of_subject(&mut conn, SubjectKind::Webhook, &sub.id.to_string()).unwrap();
    assert_eq!(said.len(), 1);
    assert_eq!(said[0].event_type, EventType::WebhookDisabled);
    let payload: Value = serde_json::from_str(&said[0].payload).unwrap();
    assert_eq!(payload["subscription_id"], sub.id);
    // Switched off, nothing more is sent.
    let before = receiver.seen().len();
    app.clock.advance(chrono::Duration::days(2));
    append(&app, EventType::DossierReceived, "F-after");
    round(&app.app).await;
    assert_eq!(receiver.seen().len(), before);
}

#[actix_web::test]
async fn two_processes_send_each_attempt_once_sqlite() {
    two_processes_send_each_attempt_once(Backend::Sqlite).await;
}

#[actix_web::test]
async fn two_processes_send_each_attempt_once_postgres() {
    two_processes_send_each_attempt_once(Backend::Postgres).await;
}

/// Two servers on one database run rounds at the same time, with events
/// arriving meanwhile: the receiver gets every event once per subscription,
/// in order, and each delivery has one attempt logged.
async fn two_processes_send_each_attempt_once(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return eprintln!("skipped on {}: no database", backend.as_str());
    };
    let peer = app.peer(|s| s.webhooks.interval_ms = 0).await;
    let receiver = Receiver::start().await;
    let subs: Vec<Subscription> = (0..3)
        .map(|n| subscribe(&app, &format!("{}/s{n}", receiver.base), &[]).0)
        .collect();
    let mut sent = Vec::new();
    for batch in 0..4 {
        for n in 0..10 {
            sent.push(append(
                &app,
                EventType::DossierReceived,
                &format!("T-{batch}-{n}"),
            ));
        }
        for _ in 0..3 {
            let (a, b) = (app.app.clone(), peer.app.clone());
            let (ra, rb) = futures_util::future::join(
                actix_web::rt::task::spawn_blocking(move || a.webhook_round()),
                actix_web::rt::task::spawn_blocking(move || b.webhook_round()),
            )
            .await;
            ra.unwrap();
            rb.unwrap();
        }
    }
    // Rounds on both until everything came (on PostgreSQL the feed's horizon
    // may hold the last events back for a moment).
    let expected = sent.len() * subs.len();
    let deadline = Instant::now() + Duration::from_secs(30);
    while receiver.seen().len() < expected {
        assert!(
            Instant::now() < deadline,
            "{} of {expected} came",
            receiver.seen().len()
        );
        let (a, b) = (app.app.clone(), peer.app.clone());
        let (ra, rb) = futures_util::future::join(
            actix_web::rt::task::spawn_blocking(move || a.webhook_round()),
            actix_web::rt::task::spawn_blocking(move || b.webhook_round()),
        )
        .await;
        ra.unwrap();
        rb.unwrap();
    }
    let seen = receiver.seen();
    assert_eq!(seen.len(), expected, "each attempt once");
    for (n, sub) in subs.iter().enumerate() {
        let path = format!("/s{n}");
        let ids: Vec<&str> = seen
            .iter()
            .filter(|r| r.path == path)
            .map(|r| r.id.as_str())
            .collect();
        assert_eq!(ids, sent, "{path}: each event once, in order");
        let mut conn = app.pool.get().unwrap();
        for delivery in store::deliveries_of(&mut conn, sub.id, 1000).unwrap() {
            assert_eq!(delivery.status, DeliveryStatus::Delivered);
            assert_eq!(store::attempts_of(&mut conn, delivery.id).unwrap().len(), 1);
        }
    }
    let mut instances = std::collections::HashSet::new();
    let mut conn = app.pool.get().unwrap();
    for sub in &subs {
        for delivery in store::deliveries_of(&mut conn, sub.id, 1000).unwrap() {
            for attempt in store::attempts_of(&mut conn, delivery.id).unwrap() {
                instances.insert(attempt.instance);
            }
        }
    }
    eprintln!("attempts made by {} process(es)", instances.len());
}

#[actix_web::test]
async fn a_rotated_secret_signs_next_to_the_old_one_during_the_overlap_sqlite() {
    a_rotated_secret_signs_next_to_the_old_one_during_the_overlap(Backend::Sqlite).await;
}

#[actix_web::test]
async fn a_rotated_secret_signs_next_to_the_old_one_during_the_overlap_postgres() {
    a_rotated_secret_signs_next_to_the_old_one_during_the_overlap(Backend::Postgres).await;
}

async fn a_rotated_secret_signs_next_to_the_old_one_during_the_overlap(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return eprintln!("skipped on {}: no database", backend.as_str());
    };
    let receiver = Receiver::start().await;
    app.clock.set(Utc::now());
    let (sub, old) = subscribe(&app, &format!("{}/r", receiver.base), &[]);
    let new = new_secret();
    let overlap_until = app.clock.now() + chrono::Duration::hours(1);
    {
        let mut conn = app.pool.get().unwrap();
        assert!(store::rotate_secret(&mut conn, sub.id, &new.expose(), overlap_until).unwrap());
    }
    append(&app, EventType::DossierReceived, "R-1");
    let during = rounds_until(&app, &receiver, 1).await;
    let now = app.clock.now();
    assert_eq!(during[0].signature.split(' ').count(), 2);
    assert!(verifies(&old, &during[0], now), "old secret");
    assert!(verifies(&new, &during[0], now), "new secret");
    // After the overlap only the new secret signs.
    app.clock.advance(chrono::Duration::hours(2));
    append(&app, EventType::DossierReceived, "R-2");
    let after = rounds_until(&app, &receiver, 2).await;
    let now = app.clock.now();
    assert_eq!(after[1].signature.split(' ').count(), 1);
    assert!(verifies(&new, &after[1], now));
    assert!(!verifies(&old, &after[1], now));
}

#[actix_web::test]
async fn private_targets_are_refused_unless_allowed_sqlite() {
    let Some(app) = TestApp::start_with(Backend::Sqlite, |s| {
        s.webhooks.allow_private_targets = Some(false);
    })
    .await
    else {
        return;
    };
    let receiver = Receiver::start().await;
    // The address literally, and a name that resolves to it.
    let port = receiver.base.rsplit(':').next().unwrap().to_owned();
    let literal = subscribe(&app, &format!("{}/x", receiver.base), &[]).0;
    let by_name = subscribe(&app, &format!("http://localhost:{port}/x"), &[]).0;
    append(&app, EventType::DossierReceived, "S-1");
    let done = round(&app.app).await;
    assert_eq!(done.retrying, 2, "{done:?}");
    actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    assert!(receiver.seen().is_empty(), "nothing reached the receiver");
    let mut conn = app.pool.get().unwrap();
    for sub in [literal, by_name] {
        let delivery = &store::deliveries_of(&mut conn, sub.id, 10).unwrap()[0];
        let log = store::attempts_of(&mut conn, delivery.id).unwrap();
        assert_eq!(log[0].status_code, None);
        assert!(
            log[0].error.as_deref().unwrap().contains("refused"),
            "{:?}",
            log[0].error
        );
    }
    // The resolver checks what a name resolves to, whatever the URL says.
    let sender = motcua_app::webhooks::HttpSender::new(Duration::from_secs(2), false);
    let url = format!("http://localhost:{port}/x");
    let sent = motcua_app::webhooks::Sender::send(
        &sender,
        &motcua_app::webhooks::Outgoing {
            url: &url,
            headers: &[],
            body: b"{}",
        },
    );
    assert_eq!(sent.status, None);
    assert!(sent.error.unwrap().contains("non-public"));
}
