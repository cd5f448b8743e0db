//! Test support: start the real server on port 0 against a database of the
//! test's own, seeded with the demo data, and talk HTTP to it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod client;
pub mod contract;

use std::future::Future;
use std::net::TcpListener;

use motcua::seed::DemoSeed;
use motcua_app::settings::Secret;
use motcua_app::{App, Clock, Settings, Workers};
use motcua_domain::Role;
use motcua_persistence::testing::TestDb;
use motcua_persistence::{Backend, Pool};
use serde_json::{Value, json};

pub const JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123";

pub struct TestApp {
    pub base: String,
    /// Every response through it is checked against `openapi/openapi.json`.
    pub client: client::Client,
    pub pool: Pool,
    pub demo: DemoSeed,
    pub backend: Backend,
    /// The server's clock: the system's time until a test sets or advances it.
    pub clock: Clock,
    /// The server itself, as its handlers see it.
    pub app: App,
    handle: actix_web::dev::ServerHandle,
    _workers: Workers,
    // Dropped last: the server's connections go first.
    pub db: TestDb,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Sends the stop command now; nobody needs to wait for it.
        drop(self.handle.stop(false));
    }
}

pub fn test_settings(db: &TestDb) -> Settings {
    let mut settings = Settings::default();
    settings.database.url = Secret::new(db.url_string());
    settings.database.pool_size = 4;
    settings.server.bind = "127.0.0.1:0".into();
    settings.server.workers = Some(1);
    settings.server.shutdown_timeout_secs = 1;
    settings.auth.jwt_secret = Some(Secret::new(JWT_SECRET));
    // Every request reads the account: a change is seen on the next one.
    settings.auth.account_cache_ms = 0;
    // The workers run as in production, but a round comes only after an hour:
    // tests run the jobs when they ask (POST /payments/jobs/run, or
    // `App::payment_round` at a chosen instant), or set a shorter interval.
    settings.payments.jobs_interval_secs = 3600;
    // Webhook rounds would add statements to every test's pool: tests that
    // want the worker turn it on, or run `App::webhook_round` themselves.
    settings.webhooks.interval_ms = 0;
    // Likewise the portal sync: tests run `App::portal_round_with` themselves.
    settings.portal.interval_ms = 0;
    settings.data_dir = std::env::temp_dir()
        .join(format!("motcua-files-{}", uuid::Uuid::new_v4().simple()))
        .display()
        .to_string();
    settings
}

impl TestApp {
    pub async fn start(backend: Backend) -> Option<Self> {
        Self::start_with(backend, |_| {}).await
    }

    /// Starts a server whose settings `customize` may change first.
    pub async fn start_with(
        backend: Backend,
        customize: impl FnOnce(&mut Settings),
    ) -> Option<Self> {
        let db = TestDb::for_backend(backend)?;
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
        let port = listener.local_addr().unwrap().port();
        let mut settings = test_settings(&db);
        settings.server.public_base_url = format!("http://127.0.0.1:{port}");
        customize(&mut settings);
        let clock = Clock::system();
        let (app, demo) = {
            let clock = clock.clone();
            actix_web::rt::task::spawn_blocking(move || {
                let app = App::build_with_clock(settings, clock).expect("build the app");
                let mut conn = app.conn().expect("connection");
                motcua::seed::official_calendar(&mut conn, app.clock.now())
                    .expect("seed the official calendar");
                let demo = motcua::seed::demo(&mut conn, app.clock.now()).expect("seed demo data");
                (app, demo)
            })
            .await
            .expect("seed task")
        };
        let pool = app.pool.clone();
        let workers = app.start_workers();
        let shared =
            motcua_http::Shared::new(motcua_http::state(app.clone())).expect("shared state");
        let server = motcua_http::serve(shared, listener).expect("server");
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Some(Self {
            base: format!("http://127.0.0.1:{port}"),
            client: client::Client::new(
                reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .unwrap(),
            ),
            pool,
            demo,
            backend,
            clock,
            app,
            handle,
            _workers: workers,
            db,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Runs `f` (requests to this server) and returns its output with the
    /// number of statements the server's pool sent meanwhile.
    pub async fn statements<T, Fut>(&self, f: impl FnOnce() -> Fut) -> (T, u64)
    where
        Fut: Future<Output = T>,
    {
        let before = self.pool.statements().get();
        let out = f().await;
        (out, self.pool.statements().get() - before)
    }

    /// The demo account of a role: (username, password). `officer` is the reception officer.
    pub fn account(&self, role: Role) -> (String, String) {
        let a = self
            .demo
            .accounts
            .iter()
            .find(|a| a.role == role)
            .expect("demo account");
        (a.username.clone(), a.password.clone())
    }

    pub fn password_of(&self, username: &str) -> String {
        self.demo
            .accounts
            .iter()
            .find(|a| a.username == username)
            .expect("demo account")
            .password
            .clone()
    }

    pub async fn login(&self, username: &str, password: &str) -> Value {
        let res = self
            .client
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "login {username}");
        res.json().await.unwrap()
    }

    /// An access token for the demo account of a role.
    pub async fn token(&self, role: Role) -> String {
        if role == Role::Integration {
            let (id, secret) = self.account(role);
            let res = self
                .client
                .post(self.url("/api/v1/auth/token"))
                .json(&json!({"grant_type": "client_credentials", "client_id": id, "client_secret": secret}))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            let body: Value = res.json().await.unwrap();
            return body["access_token"].as_str().unwrap().to_owned();
        }
        let (user, password) = self.account(role);
        self.login(&user, &password).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn token_of(&self, username: &str) -> String {
        let password = self.password_of(username);
        self.login(username, &password).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub fn get(&self, path: &str) -> client::RequestBuilder {
        self.client.get(self.url(path))
    }

    pub fn post(&self, path: &str) -> client::RequestBuilder {
        self.client.post(self.url(path))
    }

    pub fn put(&self, path: &str) -> client::RequestBuilder {
        self.client.put(self.url(path))
    }

    pub fn patch(&self, path: &str) -> client::RequestBuilder {
        self.client.patch(self.url(path))
    }

    pub fn delete(&self, path: &str) -> client::RequestBuilder {
        self.client.delete(self.url(path))
    }

    /// GET with a bearer token; expects 200 and returns the JSON body.
    pub async fn get_json(&self, token: &str, path: &str) -> Value {
        let res = self
            .get(path)
            .header("authorization", bearer(token))
            .send()
            .await
            .unwrap();
        let status = res.status();
        let body: Value = res.json().await.unwrap();
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }
}

/// A second server on the same database as a [`TestApp`], as another process
/// behind a load balancer would be: its own pool, caches and settings.
pub struct Peer {
    pub base: String,
    /// The peer's own app (its pool, caches and workers); it shares the test's clock.
    pub app: App,
    handle: actix_web::dev::ServerHandle,
    _workers: Workers,
}

impl Drop for Peer {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

impl Peer {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl TestApp {
    /// Starts another server on this app's database; `customize` may change its settings.
    pub async fn peer(&self, customize: impl FnOnce(&mut Settings)) -> Peer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
        let port = listener.local_addr().unwrap().port();
        let mut settings = test_settings(&self.db);
        settings.server.public_base_url = format!("http://127.0.0.1:{port}");
        customize(&mut settings);
        let clock = self.clock.clone();
        let app = actix_web::rt::task::spawn_blocking(move || {
            App::build_with_clock(settings, clock).expect("build the peer")
        })
        .await
        .expect("build task");
        let workers = app.start_workers();
        let shared =
            motcua_http::Shared::new(motcua_http::state(app.clone())).expect("shared state");
        let server = motcua_http::serve(shared, listener).expect("server");
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Peer {
            base: format!("http://127.0.0.1:{port}"),
            app,
            handle,
            _workers: workers,
        }
    }
}

/// The smallest files the server's content sniffing accepts.
pub const PDF: &[u8] = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n";
pub const PNG: &[u8] = &[
    0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, b'I', b'H', b'D', b'R', 0, 0, 0,
    1, 0, 0, 0, 1, 8, 2, 0, 0, 0,
];

/// A dossier as the API returned it, with its ETag.
pub struct Shown {
    pub body: Value,
    pub etag: String,
}

impl Shown {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap()
    }
    pub fn status(&self) -> &str {
        self.body["status"].as_str().unwrap()
    }
}

impl TestApp {
    /// Uploads a file as `POST /documents`; returns the response.
    pub async fn upload_raw(
        &self,
        token: &str,
        bytes: &[u8],
        name: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name.to_owned()),
        );
        for (k, v) in fields {
            form = form.text((*k).to_owned(), (*v).to_owned());
        }
        self.post("/api/v1/documents")
            .header("authorization", bearer(token))
            .multipart(form)
            .send()
            .await
            .unwrap()
    }

    /// Uploads a PDF and returns its document id.
    pub async fn upload(&self, token: &str, name: &str) -> String {
        let res = self.upload_raw(token, PDF, name, &[]).await;
        assert_eq!(res.status(), 201, "upload");
        res.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Uploads a file straight into a dossier.
    pub async fn upload_to(
        &self,
        token: &str,
        code: &str,
        bytes: &[u8],
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes.to_vec()).file_name("tep.pdf"),
        );
        for (k, v) in fields {
            form = form.text((*k).to_owned(), (*v).to_owned());
        }
        self.post(&format!("/api/v1/dossiers/{code}/documents"))
            .header("authorization", bearer(token))
            .multipart(form)
            .send()
            .await
            .unwrap()
    }

    pub async fn submit(&self, token: &str, body: &Value) -> reqwest::Response {
        self.post("/api/v1/dossiers")
            .header("authorization", bearer(token))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Submits and expects 201.
    pub async fn submit_ok(&self, token: &str, body: &Value) -> Shown {
        let res = self.submit(token, body).await;
        let status = res.status();
        let etag = res
            .headers()
            .get("etag")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let body: Value = res.json().await.unwrap();
        assert_eq!(status, 201, "submit: {body}");
        Shown { body, etag }
    }

    pub async fn dossier(&self, token: &str, code: &str) -> Shown {
        let res = self
            .get(&format!("/api/v1/dossiers/{code}"))
            .header("authorization", bearer(token))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "get dossier {code}");
        let etag = res.headers()["etag"].to_str().unwrap().to_owned();
        Shown {
            body: res.json().await.unwrap(),
            etag,
        }
    }

    /// An action with an explicit `If-Match` (or none).
    pub async fn act_raw(
        &self,
        token: &str,
        code: &str,
        if_match: Option<&str>,
        body: &Value,
    ) -> reqwest::Response {
        let mut req = self
            .post(&format!("/api/v1/dossiers/{code}/actions"))
            .header("authorization", bearer(token))
            .json(body);
        if let Some(etag) = if_match {
            req = req.header("if-match", etag);
        }
        req.send().await.unwrap()
    }

    /// An action at the dossier's current version (read with `reader`'s token).
    pub async fn act(&self, token: &str, code: &str, body: &Value) -> reqwest::Response {
        let current = self.dossier(token, code).await;
        self.act_raw(token, code, Some(&current.etag), body).await
    }

    /// An action that must succeed; returns the dossier after it.
    pub async fn act_ok(&self, token: &str, code: &str, body: &Value) -> Shown {
        let res = self.act(token, code, body).await;
        let status = res.status();
        let etag = res
            .headers()
            .get("etag")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let body_out: Value = res.json().await.unwrap();
        assert_eq!(status, 200, "{body} → {body_out}");
        Shown {
            body: body_out,
            etag,
        }
    }

    /// The id of an agency by its code.
    pub async fn agency_id(&self, code: &str) -> i64 {
        let page: Value = self
            .get("/api/v1/agencies?per_page=100")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["code"] == code)
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    }

    /// The id of a user by name (admin look-up).
    pub async fn user_id(&self, username: &str) -> i64 {
        let admin = self.token(Role::Admin).await;
        let page: Value = self
            .get(&format!("/api/v1/users?q={username}&per_page=100"))
            .header("authorization", bearer(&admin))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["username"] == username)
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    }
}

/// Runs a scenario against a fresh server on one backend; skips when that backend is not configured.
pub async fn run<F, Fut>(backend: Backend, scenario: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    match TestApp::start(backend).await {
        Some(app) => scenario(app).await,
        None => eprintln!(
            "skipped on {}: MOTCUA_TEST_POSTGRES_URL not set",
            backend.as_str()
        ),
    }
}

/// Declares `<scenario>::sqlite` and `<scenario>::postgres` tests for each async scenario fn.
#[macro_export]
macro_rules! on_both_backends {
    ($($scenario:ident),+ $(,)?) => {
        $(
            mod $scenario {
                #[actix_web::test]
                async fn sqlite() {
                    $crate::run(motcua_persistence::Backend::Sqlite, super::$scenario).await;
                }
                #[actix_web::test]
                async fn postgres() {
                    $crate::run(motcua_persistence::Backend::Postgres, super::$scenario).await;
                }
            }
        )+
    };
}

/// Asserts a problem+json response and returns its body.
pub async fn problem(res: reqwest::Response, status: u16, code: &str) -> Value {
    let got = res.status().as_u16();
    let content_type = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    assert_eq!(got, status, "status; body: {body}");
    assert_eq!(
        content_type, "application/problem+json",
        "content type; body: {body}"
    );
    assert_eq!(body["code"], code, "code; body: {body}");
    assert_eq!(body["status"], status);
    assert!(body["title"].as_str().is_some_and(|t| !t.is_empty()));
    body
}

pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}
