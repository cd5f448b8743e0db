use motcua_domain::Role;
use motcua_tests::{TestApp, bearer, on_both_backends, problem};
use serde_json::{Value, json};

on_both_backends!(
    citizen_registers_and_signs_in,
    registration_rules,
    refresh_rotates_and_reuse_revokes_the_family,
    refresh_tokens_expire_on_the_app_clock,
    logout_ends_the_session,
    failed_logins_are_throttled_per_account,
    failed_logins_are_throttled_per_address,
    tokens_are_checked,
    integration_accounts_use_client_credentials,
);

fn citizen(id: &str) -> Value {
    json!({"id_number": id, "full_name": "Lê Thị Hoa", "phone": "+84 988 123 456", "email": "Hoa@Example.vn", "password": "hoa-mat-khau-2026"})
}

async fn citizen_registers_and_signs_in(app: TestApp) {
    let res = app
        .post("/api/v1/auth/register")
        .json(&citizen("079203001234"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let user: Value = res.json().await.unwrap();
    assert_eq!(user["username"], "079203001234");
    assert_eq!(user["role"], "citizen");
    assert!(user.get("password_hash").is_none());
    let tokens = app.login("079203001234", "hoa-mat-khau-2026").await;
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 900);
    let access = tokens["access_token"].as_str().unwrap();
    let res = app
        .get("/api/v1/me")
        .header("authorization", bearer(access))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let me: Value = res.json().await.unwrap();
    assert_eq!(me["role"], "citizen");
    assert_eq!(me["applicant"]["id_number"], "079203001234");
    assert_eq!(me["applicant"]["phone"], "0988123456");
    assert_eq!(me["email"], "hoa@example.vn");
    assert!(me["last_login_at"].is_string());
    // The same ID number cannot register twice.
    let res = app
        .post("/api/v1/auth/register")
        .json(&citizen("079203001234"))
        .send()
        .await
        .unwrap();
    problem(res, 409, "already_exists").await;
}

async fn registration_rules(app: TestApp) {
    let mut bad = citizen("12345");
    bad["phone"] = json!("123");
    bad["password"] = json!("short");
    let res = app
        .post("/api/v1/auth/register")
        .json(&bad)
        .send()
        .await
        .unwrap();
    let body = problem(res, 422, "validation_failed").await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["id_number", "phone", "password"]);
    let res = app
        .post("/api/v1/auth/register")
        .json(&citizen("003203001234"))
        .send()
        .await
        .unwrap();
    let body = problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["code"], "invalid_citizen_id");
    // Nothing was written by the refused attempts.
    let res = app
        .post("/api/v1/auth/login")
        .json(&json!({"username": "12345", "password": "short"}))
        .send()
        .await
        .unwrap();
    problem(res, 401, "invalid_credentials").await;
}

/// Issued, checked and expired on the server's clock: a refresh token dies
/// when the clock passes its lifetime (30 days by default), without waiting.
async fn refresh_tokens_expire_on_the_app_clock(app: TestApp) {
    let (user, password) = app.account(Role::Officer);
    app.clock.set(app.clock.now());
    let tokens = app.login(&user, &password).await;
    let lifetime = tokens["refresh_expires_in"].as_i64().unwrap();
    let refresh = |token: Value| {
        app.post("/api/v1/auth/refresh")
            .json(&json!({"refresh_token": token}))
            .send()
    };
    app.clock.advance(chrono::Duration::seconds(lifetime - 1));
    let res = refresh(tokens["refresh_token"].clone()).await.unwrap();
    assert_eq!(res.status(), 200, "alive a second before its end");
    let renewed: Value = res.json().await.unwrap();
    app.clock.advance(chrono::Duration::seconds(lifetime));
    let res = refresh(renewed["refresh_token"].clone()).await.unwrap();
    problem(res, 401, "invalid_refresh_token").await;
}

async fn refresh_rotates_and_reuse_revokes_the_family(app: TestApp) {
    let (user, password) = app.account(Role::Officer);
    let first = app.login(&user, &password).await;
    let r1 = first["refresh_token"].as_str().unwrap().to_owned();
    let res = app
        .post("/api/v1/auth/refresh")
        .json(&json!({"refresh_token": r1}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let second: Value = res.json().await.unwrap();
    let r2 = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2);
    let access = second["access_token"].as_str().unwrap();
    assert_eq!(
        app.get("/api/v1/me")
            .header("authorization", bearer(access))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // r1 again: reuse. The family, r2 included, is revoked.
    let res = app
        .post("/api/v1/auth/refresh")
        .json(&json!({"refresh_token": r1}))
        .send()
        .await
        .unwrap();
    problem(res, 401, "refresh_token_reused").await;
    let res = app
        .post("/api/v1/auth/refresh")
        .json(&json!({"refresh_token": r2}))
        .send()
        .await
        .unwrap();
    problem(res, 401, "invalid_refresh_token").await;
    // Another login is a separate family and unaffected.
    let other = app.login(&user, &password).await;
    let res = app
        .post("/api/v1/auth/refresh")
        .json(&json!({"refresh_token": other["refresh_token"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = app
        .post("/api/v1/auth/refresh")
        .json(&json!({"refresh_token": "made-up"}))
        .send()
        .await
        .unwrap();
    problem(res, 401, "invalid_refresh_token").await;
}

async fn logout_ends_the_session(app: TestApp) {
    let (user, password) = app.account(Role::Leader);
    let tokens = app.login(&user, &password).await;
    let refresh = tokens["refresh_token"].clone();
    let res = app
        .post("/api/v1/auth/logout")
        .json(&json!({"refresh_token": refresh}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let res = app
        .post("/api/v1/auth/refresh")
        .json(&json!({"refresh_token": refresh}))
        .send()
        .await
        .unwrap();
    problem(res, 401, "invalid_refresh_token").await;
    let res = app
        .post("/api/v1/auth/logout")
        .json(&json!({"refresh_token": "unknown"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
}

async fn failed_logins_are_throttled_per_account(app: TestApp) {
    let (user, password) = app.account(Role::Officer);
    for _ in 0..5 {
        let res = app
            .post("/api/v1/auth/login")
            .json(&json!({"username": user, "password": "wrong-password"}))
            .send()
            .await
            .unwrap();
        problem(res, 401, "invalid_credentials").await;
    }
    // Even the right password waits now.
    let res = app
        .post("/api/v1/auth/login")
        .json(&json!({"username": user, "password": password}))
        .send()
        .await
        .unwrap();
    let retry: i64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    problem(res, 429, "too_many_requests").await;
    // Other accounts are not locked by it.
    let (leader, leader_pw) = app.account(Role::Leader);
    app.login(&leader, &leader_pw).await;
}

async fn failed_logins_are_throttled_per_address(app: TestApp) {
    // 30 failures from one address across many accounts.
    for i in 0..30 {
        let res = app
            .post("/api/v1/auth/login")
            .json(&json!({"username": format!("nobody{i}"), "password": "x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
    }
    let (user, password) = app.account(Role::Admin);
    let res = app
        .post("/api/v1/auth/login")
        .json(&json!({"username": user, "password": password}))
        .send()
        .await
        .unwrap();
    assert!(res.headers().contains_key("retry-after"));
    problem(res, 429, "too_many_requests").await;
}

async fn tokens_are_checked(app: TestApp) {
    let res = app.get("/api/v1/me").send().await.unwrap();
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
    problem(res, 401, "unauthenticated").await;
    for header in [
        "Bearer nonsense",
        "Basic YWJjOmRlZg==",
        "Bearer",
        "Bearer a.b.c",
    ] {
        let res = app
            .get("/api/v1/me")
            .header("authorization", header)
            .send()
            .await
            .unwrap();
        problem(res, 401, "invalid_token").await;
    }
    // Signed with another key.
    let other = motcua_http::auth::TokenService::new(
        b"another-key-another-key-another-key!",
        "motcua",
        900,
    );
    let (user, _) = app.account(Role::Admin);
    let admin_user = motcua_domain::user::User {
        id: 1,
        username: user,
        role: Role::Admin,
        agency_id: None,
        applicant_id: None,
        full_name: "x".into(),
        phone: None,
        email: None,
        active: true,
        demo: true,
        created_at: chrono::Utc::now(),
        last_login_at: None,
    };
    let forged = other.issue(&admin_user, 0).unwrap();
    let res = app
        .get("/api/v1/users")
        .header("authorization", bearer(&forged))
        .send()
        .await
        .unwrap();
    problem(res, 401, "invalid_token").await;
    // Expired (beyond the leeway), with the right key.
    let expired =
        motcua_http::auth::TokenService::new(motcua_tests::JWT_SECRET.as_bytes(), "motcua", 0);
    let mut token_svc = expired.clone();
    token_svc.access_ttl_secs = -120;
    let old = token_svc.issue(&admin_user, 0).unwrap();
    let res = app
        .get("/api/v1/users")
        .header("authorization", bearer(&old))
        .send()
        .await
        .unwrap();
    problem(res, 401, "invalid_token").await;
    // A citizen's valid token does not open admin endpoints.
    let citizen = app.token(Role::Citizen).await;
    let res = app
        .get("/api/v1/users")
        .header("authorization", bearer(&citizen))
        .send()
        .await
        .unwrap();
    problem(res, 403, "forbidden").await;
}

async fn integration_accounts_use_client_credentials(app: TestApp) {
    let token = app.token(Role::Integration).await;
    let res = app
        .get("/api/v1/me")
        .header("authorization", bearer(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["role"], "integration");
    let (id, secret) = app.account(Role::Integration);
    let res = app
        .post("/api/v1/auth/login")
        .json(&json!({"username": id, "password": secret}))
        .send()
        .await
        .unwrap();
    problem(res, 403, "forbidden").await;
    let res = app
        .post("/api/v1/auth/token")
        .json(&json!({"grant_type": "password", "client_id": id, "client_secret": secret}))
        .send()
        .await
        .unwrap();
    problem(res, 422, "validation_failed").await;
    let res = app
        .post("/api/v1/auth/token")
        .json(
            &json!({"grant_type": "client_credentials", "client_id": id, "client_secret": "wrong"}),
        )
        .send()
        .await
        .unwrap();
    problem(res, 401, "invalid_credentials").await;
    // A staff password is not a client secret.
    let (officer, pw) = app.account(Role::Officer);
    let res = app
        .post("/api/v1/auth/token")
        .json(
            &json!({"grant_type": "client_credentials", "client_id": officer, "client_secret": pw}),
        )
        .send()
        .await
        .unwrap();
    problem(res, 401, "invalid_credentials").await;
}
