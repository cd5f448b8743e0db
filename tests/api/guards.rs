//! Smaller defects found under attack (issue 9, point 4): NUL characters,
//! a SQLite write lock held too long, login throttling that could lock an
//! owner out, weak production JWT keys, huge declared bodies, readiness when
//! uploads cannot be written.

use std::io::{Read, Write};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use motcua::seed::DEMO_CITIZEN_ID;
use motcua_app::settings::{Environment, GatewayKind, Secret};
use motcua_domain::Role;
use motcua_persistence::Backend;
use motcua_tests::{TestApp, bearer, on_both_backends, problem};
use serde_json::{Value, json};

on_both_backends!(
    nul_characters_are_refused_before_the_database,
    a_huge_declared_body_is_refused_at_once,
);

async fn nul_characters_are_refused_before_the_database(app: TestApp) {
    let post = |path: &str, body: Value| app.post(path).json(&body).send();
    let cases = vec![
        (
            "login",
            post(
                "/api/v1/auth/login",
                json!({"username": "079203\u{0}001234", "password": "x"}),
            )
            .await,
        ),
        (
            "register",
            post(
                "/api/v1/auth/register",
                json!({"id_number": "079203001299", "full_name": "Lê\u{0} Hoa", "phone": "0988123456", "password": "hoa-mat-khau-2026"}),
            )
            .await,
        ),
        (
            "feedback",
            post(
                "/api/v1/feedback",
                json!({"procedure_code": "2.001584", "subject": "Góp ý\u{0}", "content": "Nội dung góp ý đủ dài.", "contact": "0912345678"}),
            )
            .await,
        ),
        (
            "procedure search",
            app.get("/api/v1/procedures?q=gi%00ay").send().await,
        ),
        (
            "procedure look-up",
            app.get("/api/v1/procedures/1.00%004630").send().await,
        ),
        (
            "tracking by id number",
            app.get("/api/v1/tracking/000.00.20.H56-200101-0001?id_number=0792%0003001234")
                .send()
                .await,
        ),
        (
            "tracking by code",
            app.get(&format!(
                "/api/v1/tracking/000.00.20.H56%00?id_number={DEMO_CITIZEN_ID}"
            ))
            .send()
            .await,
        ),
        (
            "feedback tracking",
            app.get("/api/v1/feedback/tracking/PA-%00").send().await,
        ),
    ];
    for (what, res) in cases {
        let body = problem(res.unwrap(), 400, "invalid_character").await;
        assert!(body["detail"].as_str().is_some(), "{what}: {body}");
    }
    // Signed in too, and in JSON keys; an escaped backslash before `u0000` is only text.
    let citizen = app.token(Role::Citizen).await;
    let res = app
        .post("/api/v1/dossiers")
        .header("authorization", bearer(&citizen))
        .header("content-type", "application/json")
        .body(r#"{"procedure_code":"2.001584","note\u0000":"x"}"#)
        .send()
        .await
        .unwrap();
    problem(res, 400, "invalid_character").await;
    let res = app
        .post("/api/v1/auth/login")
        .header("content-type", "application/json")
        .body(r#"{"username":"a\\u0000b","password":"x"}"#)
        .send()
        .await
        .unwrap();
    problem(res, 401, "invalid_credentials").await;
}

/// Sends the head of a request that declares `length` bytes, then a few, and
/// reads what the server answers (a read timeout stands for "still waiting").
fn declare_and_read(base: &str, path: &str, content_type: &str, length: u64) -> String {
    let address = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: {content_type}\r\nContent-Length: {length}\r\n\r\n{{"
    );
    stream.write_all(head.as_bytes()).unwrap();
    let mut answer = vec![0u8; 4096];
    match stream.read(&mut answer) {
        Ok(n) => String::from_utf8_lossy(&answer[..n]).into_owned(),
        Err(e) => format!("no answer: {e}"),
    }
}

async fn a_huge_declared_body_is_refused_at_once(app: TestApp) {
    for (path, content_type, length) in [
        ("/api/v1/auth/login", "application/json", 100_000_000),
        ("/api/v1/feedback", "application/json", 100_000_000),
        (
            "/api/v1/documents",
            "multipart/form-data; boundary=x",
            100_000_000,
        ),
        // Above the JSON limit though below an upload's: a JSON route refuses it from the header.
        ("/api/v1/auth/register", "application/json", 5_000_000),
    ] {
        let base = app.base.clone();
        let answer = actix_web::rt::task::spawn_blocking(move || {
            declare_and_read(&base, path, content_type, length)
        })
        .await
        .unwrap();
        assert!(
            answer.starts_with("HTTP/1.1 413"),
            "{path} declaring {length} bytes: {answer}"
        );
        assert!(answer.contains("payload_too_large"), "{path}: {answer}");
    }
}

on_both_backends!(
    failures_from_one_address_hold_back_that_address_only,
    an_account_attacked_from_many_addresses_is_slowed_not_locked,
    forwarded_addresses_are_ignored_unless_trusted,
);

async fn login(app: &TestApp, from: &str, user: &str, password: &str) -> reqwest::Response {
    app.post("/api/v1/auth/login")
        .header("x-forwarded-for", from)
        .json(&json!({"username": user, "password": password}))
        .send()
        .await
        .unwrap()
}

fn retry_after(res: &reqwest::Response) -> u64 {
    res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

async fn failures_from_one_address_hold_back_that_address_only(app: TestApp) {
    // Behind a trusted proxy, so each attempt can come from its own address.
    let app = TestApp::start_with(app.backend, |s| {
        s.server.trust_forwarded_for = true;
        s.auth.attack_spacing_secs = 0;
    })
    .await
    .unwrap();
    let (user, password) = app.account(Role::Citizen);
    for _ in 0..5 {
        let res = login(&app, "203.0.113.9", &user, "doan-mat-khau").await;
        problem(res, 401, "invalid_credentials").await;
    }
    // That address waits for the window, even with the right password…
    let res = login(&app, "203.0.113.9", &user, &password).await;
    let wait = retry_after(&res);
    assert!(wait > 60, "{wait}");
    problem(res, 429, "too_many_requests").await;
    // …and the owner, from her own address, is not locked out.
    assert_eq!(
        login(&app, "192.0.2.10", &user, &password).await.status(),
        200
    );
    // The same address may still sign in to other accounts.
    let (officer, officer_pw) = app.account(Role::Officer);
    assert_eq!(
        login(&app, "203.0.113.9", &officer, &officer_pw)
            .await
            .status(),
        200
    );
}

async fn an_account_attacked_from_many_addresses_is_slowed_not_locked(app: TestApp) {
    let app = TestApp::start_with(app.backend, |s| {
        s.server.trust_forwarded_for = true;
        s.auth.attack_spacing_secs = 1;
    })
    .await
    .unwrap();
    let (user, password) = app.account(Role::Citizen);
    let (mut refused, mut slowed) = (0, 0);
    for i in 0..12 {
        let res = login(&app, &format!("198.51.100.{i}"), &user, "doan-mat-khau").await;
        match res.status().as_u16() {
            401 => refused += 1,
            429 => {
                assert_eq!(retry_after(&res), 1, "only spaced out, never locked");
                slowed += 1;
            }
            other => panic!("attempt {i}: {other}"),
        }
    }
    assert!(refused >= 5, "{refused} refused, {slowed} slowed");
    // The owner gets in, waiting at most the spacing (as Retry-After says).
    let mut waits = 0;
    loop {
        let res = login(&app, "192.0.2.10", &user, &password).await;
        if res.status() == 200 {
            break;
        }
        assert_eq!(res.status(), 429);
        assert_eq!(retry_after(&res), 1, "the owner is slowed, not locked");
        waits += 1;
        assert!(waits < 5, "the owner never got in");
        actix_web::rt::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn forwarded_addresses_are_ignored_unless_trusted(app: TestApp) {
    // Not behind a trusted proxy: a forged X-Forwarded-For does not make new addresses.
    let (user, password) = app.account(Role::Leader);
    for i in 0..5 {
        let res = login(&app, &format!("198.51.100.{i}"), &user, "doan-mat-khau").await;
        problem(res, 401, "invalid_credentials").await;
    }
    let res = login(&app, "198.51.100.77", &user, &password).await;
    assert!(retry_after(&res) > 60);
    problem(res, 429, "too_many_requests").await;
    // Another account from the same peer is not affected.
    let (officer, officer_pw) = app.account(Role::Officer);
    app.login(&officer, &officer_pw).await;
}

on_both_backends!(readiness_fails_when_uploads_cannot_be_written);

async fn readiness_fails_when_uploads_cannot_be_written(app: TestApp) {
    let data_dir = std::env::temp_dir().join(format!("motcua-ready-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&data_dir).unwrap();
    let dir = data_dir.display().to_string();
    let app = TestApp::start_with(app.backend, |s| s.data_dir = dir)
        .await
        .unwrap();
    let ready = || app.get("/health/ready").send();
    assert_eq!(ready().await.unwrap().status(), 200);
    // A file where the uploads directory should be: as good as read-only, even for root.
    let files = data_dir.join("files");
    let _ = std::fs::remove_dir_all(&files);
    std::fs::write(&files, b"not a directory").unwrap();
    let res = ready().await.unwrap();
    assert_eq!(res.status(), 503);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["uploads"], "not_writable", "{body}");
    assert_eq!(body["database"], "ok");
    let citizen = app.token(Role::Citizen).await;
    let res = app
        .upload_raw(&citizen, motcua_tests::PDF, "a.pdf", &[])
        .await;
    assert_eq!(res.status(), 500, "the upload itself cannot succeed either");
    // Fixed: ready again, without a restart.
    std::fs::remove_file(&files).unwrap();
    assert_eq!(ready().await.unwrap().status(), 200);
    let _ = std::fs::remove_dir_all(&data_dir);
}

/// SQLite lets one writer in at a time; a lock held past the busy timeout
/// answers 503 `database_busy` with `Retry-After`, not 500.
#[actix_web::test]
async fn a_sqlite_write_lock_held_too_long_is_503_database_busy() {
    let app = TestApp::start_with(Backend::Sqlite, |s| s.database.busy_timeout_ms = 200)
        .await
        .unwrap();
    let mut holder = app.db.url.establish().unwrap();
    holder.batch_execute("BEGIN IMMEDIATE").unwrap();
    let body = json!({"id_number": "079203001288", "full_name": "Lê Thị Hoa", "phone": "0988123456", "password": "hoa-mat-khau-2026"});
    let res = app
        .post("/api/v1/auth/register")
        .json(&body)
        .send()
        .await
        .unwrap();
    let wait = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    problem(res, 503, "database_busy").await;
    assert!(wait.is_some_and(|w| w.parse::<u64>().is_ok_and(|w| w >= 1)));
    holder.batch_execute("ROLLBACK").unwrap();
    let res = app
        .post("/api/v1/auth/register")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
}

fn production() -> motcua_app::Settings {
    let mut s = motcua_app::Settings {
        environment: Environment::Production,
        ..Default::default()
    };
    s.server.public_base_url = "https://motcua.example.gov.vn".into();
    s.payments.gateway = GatewayKind::Vnpay;
    s.payments.tmn_code = "MERCHANT".into();
    s.payments.hash_secret = Some(Secret::new("merchant-secret"));
    s.payments.pay_url = "https://pay.example.vn".into();
    s
}

#[test]
fn production_refuses_a_predictable_jwt_secret() {
    for (secret, reason) in [
        (" ".repeat(32), "distinct"),
        ("ab".repeat(20), "distinct"),
        ("0123456789".into(), "32 bytes"),
        (
            "dev-only-secret-change-me-0123456789abcdef".into(),
            "placeholder",
        ),
    ] {
        let mut s = production();
        s.auth.jwt_secret = Some(Secret::new(secret.clone()));
        let error = s.check().unwrap_err().to_string();
        assert!(error.contains("auth.jwt_secret"), "{secret:?}: {error}");
        assert!(error.contains(reason), "{secret:?}: {error}");
    }
    let mut s = production();
    s.auth.jwt_secret = Some(Secret::new("q8Zr3vN1xK7pW2mT9bF4hY6cJ0sL5dGaE+uQ/o="));
    s.check().unwrap();
    let mut s = production();
    s.auth.jwt_secret = None;
    assert!(s.check().unwrap_err().to_string().contains("required"));
}
