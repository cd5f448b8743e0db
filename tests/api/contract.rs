//! What the contract promises beyond bodies: methods, headers a browser app
//! reads, and the OAuth2 token endpoint as standard clients call it.

use motcua_domain::Role;
use motcua_tests::{TestApp, bearer, on_both_backends, problem};
use serde_json::Value;

on_both_backends!(
    a_wrong_method_is_405_with_allow,
    browser_apps_can_read_the_headers_they_need,
    the_token_endpoint_takes_standard_oauth2_requests,
    account_updates_carry_etags_and_honour_if_match,
);

async fn account_updates_carry_etags_and_honour_if_match(app: TestApp) {
    let admin = bearer(&app.token(Role::Admin).await);
    let id = app.user_id("demo.officer").await;
    let path = format!("/api/v1/users/{id}");
    let read = app
        .get(&path)
        .header("authorization", &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    let etag = read.headers()["etag"].to_str().unwrap().to_owned();
    let change = |if_match: String, name: &'static str| {
        app.patch(&path)
            .header("authorization", &admin)
            .header("if-match", if_match)
            .json(&serde_json::json!({"full_name": name}))
            .send()
    };
    let res = change(etag.clone(), "Cán Bộ Một").await.unwrap();
    assert_eq!(res.status(), 200);
    let new_etag = res.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(new_etag, etag);
    // The tag read before the change is stale now.
    let res = change(etag, "Cán Bộ Hai").await.unwrap();
    assert_eq!(res.headers()["etag"].to_str().unwrap(), new_etag);
    problem(res, 412, "precondition_failed").await;
    let res = change("*".to_owned(), "Cán Bộ Ba").await.unwrap();
    assert_eq!(res.status(), 200);
}

async fn a_wrong_method_is_405_with_allow(app: TestApp) {
    let cases = [
        ("/api/v1/procedures", reqwest::Method::PATCH, "GET, POST"),
        (
            "/api/v1/procedures/1.001029",
            reqwest::Method::POST,
            "DELETE, GET, PUT",
        ),
        ("/api/v1/dossiers/ANY/actions", reqwest::Method::GET, "POST"),
        ("/health/live", reqwest::Method::DELETE, "GET"),
        ("/openapi.json", reqwest::Method::POST, "GET"),
    ];
    for (path, method, allow) in cases {
        let res = app
            .client
            .request(method.clone(), app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()["allow"], allow, "{method} {path}");
        problem(res, 405, "method_not_allowed").await;
    }
    let res = app.get("/api/v1/nothing-here").send().await.unwrap();
    assert!(!res.headers().contains_key("allow"));
    problem(res, 404, "route_not_found").await;
}

async fn browser_apps_can_read_the_headers_they_need(app: TestApp) {
    let res = app
        .get("/api/v1/procedures")
        .header("origin", "http://localhost:5173")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let exposed = res.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    for name in [
        "etag",
        "location",
        "content-disposition",
        "retry-after",
        "idempotent-replayed",
        "x-request-id",
    ] {
        assert!(exposed.contains(name), "{name} not exposed: {exposed}");
    }
    for path in [
        "/api/v1/procedures",
        "/api/v1/procedures/9.999999",
        "/health/live",
    ] {
        let res = app.get(path).send().await.unwrap();
        let vary: Vec<String> = res
            .headers()
            .get_all("vary")
            .iter()
            .map(|v| v.to_str().unwrap().to_ascii_lowercase())
            .collect();
        assert!(
            vary.iter().any(|v| v.contains("accept-language")),
            "{path}: {vary:?}"
        );
    }
}

async fn the_token_endpoint_takes_standard_oauth2_requests(app: TestApp) {
    let (id, secret) = app.account(Role::Integration);
    let check = |res: reqwest::Response| async move {
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["token_type"], "Bearer");
        body["access_token"].as_str().unwrap().to_owned()
    };
    // RFC 6749 §4.4.2: form-encoded, credentials in the body…
    let token = check(
        app.post("/api/v1/auth/token")
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", id.as_str()),
                ("client_secret", secret.as_str()),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    let me = app.get_json(&token, "/api/v1/me").await;
    assert_eq!(me["role"], "integration");
    // …or with HTTP Basic (§2.3.1).
    check(
        app.post("/api/v1/auth/token")
            .header("authorization", basic(&id, &secret))
            .form(&[("grant_type", "client_credentials"), ("scope", "")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    let res = app
        .post("/api/v1/auth/token")
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id.as_str()),
            ("client_secret", "wrong"),
        ])
        .send()
        .await
        .unwrap();
    problem(res, 401, "invalid_credentials").await;
    let res = app
        .post("/api/v1/auth/token")
        .form(&[("grant_type", "password"), ("client_id", id.as_str())])
        .send()
        .await
        .unwrap();
    let body = problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "grant_type");
    // Credentials both ways are refused rather than guessed between.
    let res = app
        .post("/api/v1/auth/token")
        .header("authorization", basic(&id, &secret))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id.as_str()),
            ("client_secret", secret.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let body = problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["code"], "credentials_twice");
}

/// `Authorization: Basic` for a client id and secret (RFC 7617).
fn basic(id: &str, secret: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = format!("{id}:{secret}").into_bytes();
    let mut out = String::from("Basic ");
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |n, b| (n << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
