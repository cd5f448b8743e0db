use motcua_domain::Role;
use motcua_tests::{TestApp, bearer, on_both_backends, problem};
use serde_json::{Value, json};

on_both_backends!(
    bad_bodies_are_problems,
    bad_queries_and_paths_are_problems,
    language_follows_accept_language,
    no_database_text_in_conflicts,
    cors_allows_configured_origins_only,
);

async fn bad_bodies_are_problems(app: TestApp) {
    let url = "/api/v1/auth/login";
    let res = app
        .post(url)
        .header("content-type", "application/json")
        .body("{\"username\": ")
        .send()
        .await
        .unwrap();
    problem(res, 400, "malformed_json").await;
    let res = app
        .post(url)
        .json(&json!({"username": 5, "password": "x"}))
        .send()
        .await
        .unwrap();
    let body = problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "username");
    assert_eq!(body["errors"][0]["code"], "invalid_type");
    let res = app
        .post(url)
        .json(&json!({"username": "a"}))
        .send()
        .await
        .unwrap();
    let body = problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "password");
    assert_eq!(body["errors"][0]["code"], "required");
    let res = app
        .post(url)
        .json(&json!({"username": "a", "password": "b", "admin": true}))
        .send()
        .await
        .unwrap();
    let body = problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["code"], "unknown_field");
    let res = app
        .post(url)
        .header("content-type", "text/plain")
        .body("username=a")
        .send()
        .await
        .unwrap();
    problem(res, 415, "unsupported_media_type").await;
    let huge = format!(
        "{{\"username\": \"{}\", \"password\": \"x\"}}",
        "a".repeat(2 * 1024 * 1024)
    );
    let res = app
        .post(url)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    problem(res, 413, "payload_too_large").await;
    let res = app
        .post(url)
        .json(&json!({"username": "", "password": ""}))
        .send()
        .await
        .unwrap();
    let body = problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"].as_array().unwrap().len(), 2);
}

async fn bad_queries_and_paths_are_problems(app: TestApp) {
    let cases = [
        ("/api/v1/procedures?online=maybe", "online", "not_allowed"),
        ("/api/v1/procedures?level=state", "level", "not_allowed"),
        ("/api/v1/procedures?page=abc", "page", "invalid_type"),
        ("/api/v1/procedures?page=0", "page", "out_of_range"),
        (
            "/api/v1/procedures?per_page=1000",
            "per_page",
            "out_of_range",
        ),
        ("/api/v1/procedures?colour=blue", "colour", "unknown_field"),
        (
            "/api/v1/procedures?agency_id=x",
            "agency_id",
            "invalid_type",
        ),
    ];
    for (path, field, code) in cases {
        let res = app.get(path).send().await.unwrap();
        let body = problem(res, 400, "invalid_query").await;
        assert_eq!(body["errors"][0]["field"], field, "{path}");
        assert_eq!(body["errors"][0]["code"], code, "{path}");
    }
    let admin = app.token(Role::Admin).await;
    let res = app
        .get("/api/v1/users/not-a-number")
        .header("authorization", bearer(&admin))
        .send()
        .await
        .unwrap();
    problem(res, 404, "not_found").await;
    let res = app
        .get("/api/v1/agencies/99999999999999999999")
        .send()
        .await
        .unwrap();
    problem(res, 404, "not_found").await;
    let res = app.get("/definitely/not/here").send().await.unwrap();
    let body = problem(res, 404, "route_not_found").await;
    assert_eq!(body["instance"], "/definitely/not/here");
    let res = app.delete("/health/live").send().await.unwrap();
    assert!(res.status().is_client_error());
    assert_eq!(res.headers()["content-type"], "application/problem+json");
}

async fn language_follows_accept_language(app: TestApp) {
    let res = app.get("/api/v1/procedures/9.999999").send().await.unwrap();
    assert_eq!(res.headers()["content-language"], "vi");
    let vi = problem(res, 404, "not_found").await;
    let res = app
        .get("/api/v1/procedures/9.999999")
        .header("accept-language", "en-US,en;q=0.9")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-language"], "en");
    let en = problem(res, 404, "not_found").await;
    assert_eq!(vi["title"], "Không tìm thấy");
    assert_eq!(en["title"], "Not found");
    let res = app
        .post("/api/v1/auth/register")
        .header("accept-language", "en")
        .json(&json!({"id_number": "123", "full_name": "A", "phone": "0912345678", "password": "mat-khau-dai-1"}))
        .send()
        .await
        .unwrap();
    let body = problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["code"], "invalid_citizen_id");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("A citizen ID number")
    );
}

async fn no_database_text_in_conflicts(app: TestApp) {
    let admin = app.token(Role::Admin).await;
    let agency = json!({"code": "000.00.20.H56", "name": "Trùng mã", "level": "province"});
    let res = app
        .post("/api/v1/agencies")
        .header("authorization", bearer(&admin))
        .json(&agency)
        .send()
        .await
        .unwrap();
    let body = problem(res, 409, "already_exists").await;
    let text = body.to_string().to_lowercase();
    for leak in [
        "unique",
        "constraint",
        "sqlite",
        "postgres",
        "duplicate key",
        "agencies_code",
        "agencies.code",
    ] {
        assert!(!text.contains(leak), "{leak} in {text}");
    }
}

async fn cors_allows_configured_origins_only(app: TestApp) {
    let res = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/v1/procedures"))
        .header("origin", "http://localhost:5173")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "http://localhost:5173"
    );
    let res = app
        .get("/api/v1/procedures/9.999999")
        .header("origin", "http://localhost:5173")
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "http://localhost:5173",
        "errors readable by the frontend"
    );
    let res = app
        .get("/api/v1/procedures")
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(!res.headers().contains_key("access-control-allow-origin"));
    if res.status().is_client_error() {
        assert_eq!(res.headers()["content-type"], "application/problem+json");
    }
    let body: Value = res.json().await.unwrap();
    assert!(body.is_object());
}
