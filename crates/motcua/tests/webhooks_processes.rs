//! Webhooks seen from outside: two `motcua` server processes on one database
//! (PostgreSQL, and a SQLite file in WAL mode) run their webhook workers next
//! to each other while dossiers are filed and received through both APIs. A
//! receiver started here records every request and fails the first attempt
//! of some events. Every event of the feed reaches it exactly once as a
//! success (a failed one: its failure, then one success, retried by a worker
//! or redelivered through the API), every signature checks with an
//! implementation written here from the Standard Webhooks text (not the
//! server's own), and the delivery log the API shows agrees.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod processes;

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use diesel::{QueryDsl, RunQueryDsl};
use hmac::{Hmac, KeyInit, Mac};
use motcua_persistence::Backend;
use motcua_persistence::testing::TestDb;
use serde_json::{Value, json};
use sha2::Sha256;

use processes::{collect, free_port, workdir};

const BIN: &str = env!("CARGO_BIN_EXE_motcua");
const JWT: &str = "webhook-process-test-jwt-secret-0123456789abcdef";
/// Dossiers filed (each one `dossier.submitted` and `dossier.received`).
const DOSSIERS: usize = 26;
/// The receiver fails the first attempt of every this many distinct events.
const FAIL_EVERY: usize = 7;
const CITIZEN: &str = "001099012345";
const OFFICER: &str = "demo.officer";
const ADMIN: &str = "demo.admin";

// ---------------------------------------------------------------- servers

struct Server {
    child: Child,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
    base: String,
}

/// A server process with its webhook worker every 100 ms, allowed to send to
/// the loopback receiver.
fn start(dir: &Path, database_url: &str) -> Server {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = Command::new(BIN)
        .current_dir(dir)
        .args([
            "serve",
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--database-url",
            database_url,
        ])
        .env_remove("DATABASE_URL")
        .env_remove("RUST_LOG")
        .env("LOG_FORMAT", "json")
        .env("MOTCUA__AUTH__JWT_SECRET", JWT)
        .env("MOTCUA__SERVER__PUBLIC_BASE_URL", &base)
        .env("MOTCUA__WEBHOOKS__INTERVAL_MS", "100")
        .env("MOTCUA__WEBHOOKS__TIMEOUT_MS", "5000")
        .env("MOTCUA__WEBHOOKS__ALLOW_PRIVATE_TARGETS", "true")
        .env("MOTCUA__NOTIFICATIONS__INTERVAL_MS", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = collect(child.stdout.take().unwrap());
    let stderr = collect(child.stderr.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(60);
    while !stderr
        .lock()
        .unwrap()
        .iter()
        .any(|l| l.contains("listening on"))
    {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("server exited {status}: {:?}", stderr.lock().unwrap());
        }
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Server {
        child,
        stdout,
        stderr,
        base,
    }
}

/// A failing test does not leave its servers running.
impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Server {
    fn stop(mut self) -> Vec<String> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "server did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
        self.stderr.lock().unwrap().clone()
    }

    /// The demo password the seeding process printed for `user`.
    fn password(&self, user: &str) -> String {
        let out = self.stdout.lock().unwrap().join("\n");
        out.lines()
            .find(|l| l.contains(&format!(" {user} ")))
            .and_then(|l| l.split(": ").last())
            .unwrap()
            .trim()
            .to_owned()
    }

    fn api(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.base)
    }
}

// --------------------------------------------------------------- receiver

/// One request as the receiver saw it, and what it answered.
#[derive(Debug, Clone)]
struct Hit {
    id: String,
    timestamp: String,
    signature: String,
    body: Vec<u8>,
    status: u16,
}

#[derive(Default)]
struct Log {
    hits: Vec<Hit>,
    distinct: usize,
}

struct Receiver {
    url: String,
    log: Arc<Mutex<Log>>,
}

async fn record(req: HttpRequest, body: web::Bytes, log: web::Data<Mutex<Log>>) -> HttpResponse {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let id = header("webhook-id");
    let mut log = log.lock().unwrap();
    let first = !log.hits.iter().any(|h| h.id == id);
    if first {
        log.distinct += 1;
    }
    let status = if first && log.distinct.is_multiple_of(FAIL_EVERY) {
        500
    } else {
        200
    };
    log.hits.push(Hit {
        id,
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body: body.to_vec(),
        status,
    });
    drop(log);
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
        .body(if status == 200 { "ok" } else { "try again" })
}

/// A small actix server on its own thread: records every request.
fn receiver() -> Receiver {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let log = Arc::new(Mutex::new(Log::default()));
    let shared = web::Data::from(log.clone());
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            actix_web::HttpServer::new(move || {
                actix_web::App::new()
                    .app_data(shared.clone())
                    .default_service(web::to(record))
            })
            .workers(2)
            .listen(listener)
            .unwrap()
            .run()
            .await
            .unwrap();
        });
    });
    Receiver {
        url: format!("http://127.0.0.1:{port}/hooks/motcua"),
        log,
    }
}

impl Receiver {
    fn hits(&self) -> Vec<Hit> {
        self.log.lock().unwrap().hits.clone()
    }
}

// ------------------------------------------------- independent verification

/// Standard Webhooks verification, written from the convention: the key is
/// the base64 after `whsec_`; the signed content is `id.timestamp.body`; the
/// header holds space-separated `v1,<base64 HMAC-SHA256>` entries, any of
/// which may match (compared in constant time by `verify_slice`).
fn independent_verify(secret: &str, id: &str, timestamp: &str, body: &[u8], header: &str) -> bool {
    let Some(encoded) = secret.strip_prefix("whsec_") else {
        return false;
    };
    let Ok(key) = STANDARD.decode(encoded) else {
        return false;
    };
    let Ok(keyed) = <Hmac<Sha256> as KeyInit>::new_from_slice(&key) else {
        return false;
    };
    let mut mac = keyed;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    header
        .split(' ')
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter_map(|sig| STANDARD.decode(sig).ok())
        .any(|given| mac.clone().verify_slice(&given).is_ok())
}

fn check_signatures(secret: &str, hits: &[Hit]) {
    let now = chrono::Utc::now().timestamp();
    for hit in hits {
        assert!(
            independent_verify(secret, &hit.id, &hit.timestamp, &hit.body, &hit.signature),
            "signature of {} does not verify: {}",
            hit.id,
            hit.signature
        );
        let at: i64 = hit.timestamp.parse().unwrap();
        assert!((now - at).abs() < 300, "timestamp {at} is not recent");
        let envelope: Value = serde_json::from_slice(&hit.body).unwrap();
        assert_eq!(envelope["id"], hit.id.as_str(), "the body is the event");
        // The verifier can say no: a changed body, id, timestamp or key fails.
        let mut tampered = hit.body.clone();
        tampered.push(b' ');
        assert!(!independent_verify(
            secret,
            &hit.id,
            &hit.timestamp,
            &tampered,
            &hit.signature
        ));
        let later = (at + 1).to_string();
        assert!(!independent_verify(
            secret,
            &hit.id,
            &later,
            &hit.body,
            &hit.signature
        ));
        assert!(!independent_verify(
            secret,
            "another-id",
            &hit.timestamp,
            &hit.body,
            &hit.signature
        ));
        let other_key = format!("whsec_{}", STANDARD.encode([7u8; 32]));
        assert!(!independent_verify(
            &other_key,
            &hit.id,
            &hit.timestamp,
            &hit.body,
            &hit.signature
        ));
    }
}

// -------------------------------------------------------------------- API

async fn send_json(request: reqwest::RequestBuilder) -> Value {
    let response = request.send().await.unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{status}: {body}");
    body
}

async fn login(client: &reqwest::Client, server: &Server, user: &str) -> String {
    let body = send_json(
        client
            .post(server.api("/auth/login"))
            .json(&json!({"username": user, "password": server.password(user)})),
    )
    .await;
    body["access_token"].as_str().unwrap().to_owned()
}

async fn upload(client: &reqwest::Client, server: &Server, token: &str) -> Value {
    let part = reqwest::multipart::Part::bytes(b"%PDF-1.4\n%x\n".to_vec()).file_name("don.pdf");
    let doc = send_json(
        client
            .post(server.api("/documents"))
            .bearer_auth(token)
            .multipart(reqwest::multipart::Form::new().part("file", part)),
    )
    .await;
    doc["id"].clone()
}

/// A citizen files a dossier on `filing`; an officer receives it on `receiving`.
async fn file_and_receive(
    client: &reqwest::Client,
    (filing, citizen): (&Server, &str),
    (receiving, officer): (&Server, &str),
) {
    let d1 = upload(client, filing, citizen).await;
    let d2 = upload(client, filing, citizen).await;
    let dossier = send_json(
        client
            .post(filing.api("/dossiers"))
            .bearer_auth(citizen)
            .json(&json!({"procedure_code": "2.001584", "documents": [
                {"requirement": "D1", "document_id": d1},
                {"requirement": "D2", "document_id": d2}]})),
    )
    .await;
    let code = dossier["code"].as_str().unwrap();
    let shown = client
        .get(receiving.api(&format!("/dossiers/{code}")))
        .bearer_auth(officer)
        .send()
        .await
        .unwrap();
    assert_eq!(shown.status(), 200);
    let etag = shown.headers()["etag"].to_str().unwrap().to_owned();
    send_json(
        client
            .post(receiving.api(&format!("/dossiers/{code}/actions")))
            .bearer_auth(officer)
            .header("if-match", etag)
            .json(&json!({"action": "receive"})),
    )
    .await;
}

/// The feed after `after` (all pages): event ids in order, and the cursor.
async fn feed(
    client: &reqwest::Client,
    server: &Server,
    admin: &str,
    after: &str,
) -> (Vec<String>, String) {
    let mut ids = Vec::new();
    let mut next = after.to_owned();
    loop {
        let page = send_json(
            client
                .get(server.api("/events"))
                .bearer_auth(admin)
                .query(&[("after", next.as_str()), ("limit", "500")]),
        )
        .await;
        let items = page["items"].as_array().unwrap();
        ids.extend(items.iter().map(|e| e["id"].as_str().unwrap().to_owned()));
        next = page["next"].as_str().unwrap().to_owned();
        if items.is_empty() {
            return (ids, next);
        }
    }
}

async fn deliveries(
    client: &reqwest::Client,
    server: &Server,
    admin: &str,
    sub: i64,
) -> Vec<Value> {
    let list = send_json(
        client
            .get(server.api(&format!("/webhooks/{sub}/deliveries")))
            .bearer_auth(admin),
    )
    .await;
    list["items"].as_array().unwrap().clone()
}

// ------------------------------------------------------------------ checks

/// Answers per event id, in the order they were given.
fn answers_by_id(hits: &[Hit]) -> BTreeMap<String, Vec<u16>> {
    let mut by_id: BTreeMap<String, Vec<u16>> = BTreeMap::new();
    for hit in hits {
        by_id.entry(hit.id.clone()).or_default().push(hit.status);
    }
    by_id
}

fn delivered_ids(hits: &[Hit]) -> BTreeSet<String> {
    hits.iter()
        .filter(|h| (200..300).contains(&h.status))
        .map(|h| h.id.clone())
        .collect()
}

/// Each expected event: one success; a failed first attempt is followed by
/// exactly one success; nothing else arrived.
fn check_once(expected: &[String], hits: &[Hit]) -> usize {
    let by_id = answers_by_id(hits);
    let wanted: BTreeSet<&String> = expected.iter().collect();
    let got: BTreeSet<&String> = by_id.keys().collect();
    assert_eq!(got, wanted, "the receiver got exactly the feed's events");
    let mut retried = 0;
    for (id, answers) in &by_id {
        match answers.as_slice() {
            [200] => {}
            [500, 200] => retried += 1,
            other => panic!("{id}: answers {other:?}, expected one success"),
        }
    }
    retried
}

/// The delivery log agrees with what the receiver saw.
fn check_log(items: &[Value], hits: &[Hit]) {
    let by_id = answers_by_id(hits);
    assert_eq!(items.len(), by_id.len(), "one delivery per event");
    for item in items {
        let id = item["event_id"].as_str().unwrap();
        let answers = &by_id[id];
        assert_eq!(item["status"], "delivered", "{item}");
        assert_eq!(
            item["attempts"].as_u64().map(usize::try_from),
            Some(Ok(answers.len())),
            "{item}"
        );
        let logged: Vec<u16> = item["log"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| u16::try_from(a["status_code"].as_u64().unwrap()).unwrap())
            .collect();
        assert_eq!(&logged, answers, "{id}: the log and the receiver agree");
    }
}

// ------------------------------------------------------------------- tests

#[tokio::test]
async fn two_processes_deliver_each_event_once_postgres() {
    two_processes_deliver_each_event_once(Backend::Postgres).await;
}

#[tokio::test]
async fn two_processes_deliver_each_event_once_sqlite() {
    two_processes_deliver_each_event_once(Backend::Sqlite).await;
}

struct Tokens {
    citizen: String,
    officer: String,
    admin: String,
}

async fn two_processes_deliver_each_event_once(backend: Backend) {
    let Some(db) = TestDb::for_backend(backend) else {
        eprintln!(
            "skipped on {}: MOTCUA_TEST_POSTGRES_URL not set",
            backend.as_str()
        );
        return;
    };
    let dir = workdir("motcua-hooks");
    let url = db.url_string().to_owned();
    // A seeds (migrations, demo accounts); B joins the same database.
    let a = start(&dir, &url);
    let b = start(&dir, &url);
    let client = reqwest::Client::new();
    let tokens = Tokens {
        citizen: login(&client, &a, CITIZEN).await,
        officer: login(&client, &a, OFFICER).await,
        admin: login(&client, &a, ADMIN).await,
    };
    let receiver = receiver();
    // Where the feed ends now: the new subscription hears what follows.
    let (_, start_cursor) = feed(&client, &a, &tokens.admin, "").await;
    let created = send_json(
        client
            .post(a.api("/webhooks"))
            .bearer_auth(&tokens.admin)
            .json(&json!({"url": receiver.url})),
    )
    .await;
    let sub = created["id"].as_i64().unwrap();
    let secret = created["secret"].as_str().unwrap().to_owned();
    for n in 0..DOSSIERS {
        let (filing, receiving) = if n.is_multiple_of(2) {
            (&a, &b)
        } else {
            (&b, &a)
        };
        file_and_receive(
            &client,
            (filing, &tokens.citizen),
            (receiving, &tokens.officer),
        )
        .await;
    }
    let expected = wait_for_all(
        &client,
        (&a, &b),
        &tokens.admin,
        sub,
        &start_cursor,
        &receiver,
    )
    .await;
    // Rounds keep running on both: nothing more may arrive.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let hits = receiver.hits();
    assert!(expected.len() >= 2 * DOSSIERS, "{} events", expected.len());
    let retried = check_once(&expected, &hits);
    assert!(retried >= expected.len() / FAIL_EVERY, "{retried} retried");
    check_signatures(&secret, &hits);
    check_log(&deliveries(&client, &b, &tokens.admin, sub).await, &hits);
    report_instances(&db, hits.len(), retried);
    a.stop();
    b.stop();
    let _ = std::fs::remove_dir_all(dir);
}

/// Waits (up to 50 s) until every event of the feed after `after` has come
/// through as a success. Failed first attempts are left to the workers'
/// retry (30 s later), except every other one, redelivered through B's API.
async fn wait_for_all(
    client: &reqwest::Client,
    (a, b): (&Server, &Server),
    admin: &str,
    sub: i64,
    after: &str,
    receiver: &Receiver,
) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(50);
    let mut redelivered = false;
    loop {
        let (expected, _) = feed(client, a, admin, after).await;
        let hits = receiver.hits();
        let delivered = delivered_ids(&hits);
        if expected.len() >= 2 * DOSSIERS && expected.iter().all(|id| delivered.contains(id)) {
            return expected;
        }
        let tried: BTreeSet<&String> = hits.iter().map(|h| &h.id).collect();
        if !redelivered
            && expected.len() >= 2 * DOSSIERS
            && expected.iter().all(|id| tried.contains(id))
        {
            redeliver_every_other_failure(client, b, admin, sub).await;
            redelivered = true;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {} events delivered; the receiver saw {} requests",
            delivered.len(),
            expected.len(),
            hits.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Manual redelivery through the API of `server` for every other delivery
/// whose first attempt failed (pending, its retry due later).
async fn redeliver_every_other_failure(
    client: &reqwest::Client,
    server: &Server,
    admin: &str,
    sub: i64,
) {
    // Let the last attempts be recorded.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let items = deliveries(client, server, admin, sub).await;
    let failed: Vec<&Value> = items.iter().filter(|d| d["status"] == "pending").collect();
    assert!(
        !failed.is_empty(),
        "the receiver failed some first attempts"
    );
    for delivery in failed.iter().step_by(2) {
        assert_eq!(delivery["attempts"], 1, "{delivery}");
        let id = delivery["id"].as_i64().unwrap();
        let answer = send_json(
            client
                .post(server.api(&format!("/webhooks/{sub}/deliveries/{id}/retry")))
                .bearer_auth(admin),
        )
        .await;
        assert_eq!(answer["id"], id);
    }
}

/// Which processes made the attempts (from the log's `instance`).
fn report_instances(db: &TestDb, requests: usize, retried: usize) {
    use motcua_persistence::schema::webhook_attempts;
    let mut conn = db.pool().get().unwrap();
    let instances: Vec<String> = webhook_attempts::table
        .select(webhook_attempts::instance)
        .distinct()
        .load(&mut conn)
        .unwrap();
    eprintln!(
        "{requests} requests ({retried} retried) sent by {} process(es)",
        instances.len()
    );
}
