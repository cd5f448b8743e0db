use motcua_tests::{TestApp, on_both_backends};
use serde_json::Value;

on_both_backends!(
    health_and_readiness,
    metrics_count_requests_by_route,
    request_ids,
    security_headers_everywhere,
    openapi_and_docs_are_served
);

async fn health_and_readiness(app: TestApp) {
    let res = app.get("/health/live").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "ok");
    let res = app.get("/health/ready").send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["database"], "ok");
    assert_eq!(body["backend"], app.backend.as_str());
}

async fn metrics_count_requests_by_route(app: TestApp) {
    for _ in 0..3 {
        app.get("/api/v1/procedures/1.004630").send().await.unwrap();
    }
    app.get("/api/v1/procedures/9.999999").send().await.unwrap();
    app.get("/no/such/route").send().await.unwrap();
    let res = app.get("/metrics").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = res.text().await.unwrap();
    let line = |needle: &str| {
        text.lines()
            .find(|l| l.contains(needle) && !l.starts_with('#'))
            .map(str::to_owned)
    };
    // Route pattern, not the raw path: no unbounded label values.
    let counter = |labels: &str| {
        text.lines()
            .find(|l| l.starts_with("motcua_http_requests_total{") && l.contains(labels))
            .map(str::to_owned)
    };
    let ok = counter(r#"endpoint="/api/v1/procedures/{code}",method="GET",status="200""#)
        .expect("counter by route");
    assert!(ok.ends_with(" 3"), "{ok}");
    assert!(
        counter(r#"endpoint="/api/v1/procedures/{code}",method="GET",status="404""#)
            .is_some_and(|l| l.ends_with(" 1"))
    );
    assert!(counter(r#"endpoint="UNMATCHED""#).is_some());
    assert!(!text.contains("9.999999") && !text.contains("/no/such/route"));
    assert!(text.contains("motcua_http_requests_duration_seconds_bucket"));
    assert!(line("motcua_db_pool_connections{state=\"idle\"}").is_some());
    assert!(line("motcua_db_pool_max_connections").is_some_and(|l| l.ends_with(" 4")));
}

async fn request_ids(app: TestApp) {
    let res = app.get("/health/live").send().await.unwrap();
    let generated = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(generated.len(), 36);
    let res = app
        .get("/health/live")
        .header("x-request-id", "portal-abc.123")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "portal-abc.123");
    // A hostile id is replaced, not echoed.
    let res = app
        .get("/health/live")
        .header("x-request-id", "a b<script>")
        .send()
        .await
        .unwrap();
    assert_ne!(res.headers()["x-request-id"], "a b<script>");
    // Errors carry it in the header and the body.
    let res = app
        .get("/api/v1/nothing")
        .header("x-request-id", "req-42")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "req-42");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["request_id"], "req-42");
}

async fn security_headers_everywhere(app: TestApp) {
    for path in [
        "/health/live",
        "/api/v1/procedures",
        "/api/v1/nothing",
        "/api/v1/procedures?page=0",
    ] {
        let res = app.get(path).send().await.unwrap();
        let h = res.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert!(h.contains_key("content-security-policy"), "{path}");
        assert!(h.contains_key("referrer-policy"), "{path}");
    }
}

async fn openapi_and_docs_are_served(app: TestApp) {
    let res = app.get("/openapi.json").send().await.unwrap();
    assert_eq!(res.status(), 200);
    let served: Value = res.json().await.unwrap();
    let committed: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../openapi/openapi.json"
        ))
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        served, committed,
        "served spec differs from openapi/openapi.json"
    );
    assert_eq!(served["openapi"], "3.1.0");
    assert!(served["components"]["securitySchemes"]["bearer"].is_object());
    let res = app.get("/docs").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let policy = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(policy.contains("script-src 'self';"), "{policy}");
    let html = res.text().await.unwrap();
    // Everything the page loads comes from this server: it renders offline.
    assert!(!html.contains("https://"), "{html}");
    for asset in ["/docs/scalar.js", "/docs/init.js"] {
        assert!(html.contains(asset), "{asset}");
        let res = app.get(asset).send().await.unwrap();
        assert_eq!(res.status(), 200, "{asset}");
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/javascript")
        );
        let body = res.text().await.unwrap();
        assert!(body.contains("createApiReference"), "{asset}");
    }
    let license = app.get("/docs/LICENSE").send().await.unwrap();
    assert!(license.text().await.unwrap().contains("MIT"));
}

on_both_backends!(readiness_is_503_when_the_database_is_unreachable);

/// A server whose database cannot be reached answers live but not ready.
async fn readiness_is_503_when_the_database_is_unreachable(app: TestApp) {
    let unreachable = match app.backend {
        motcua_persistence::Backend::Sqlite => {
            "sqlite:///nonexistent-directory-for-motcua/x.db".to_owned()
        }
        motcua_persistence::Backend::Postgres => "postgres://postgres@127.0.0.1:1/none".to_owned(),
    };
    let url = motcua_persistence::DatabaseUrl::parse(&unreachable).unwrap();
    let pool = motcua_persistence::build_pool(&url, &Default::default());
    let mut settings = motcua_tests::test_settings(&app.db);
    settings.database.url = motcua_app::settings::Secret::new(unreachable);
    let state = motcua_http::state(motcua_app::App::from_parts(
        settings,
        pool,
        app.backend,
        motcua_app::Clock::system(),
    ));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = motcua_http::serve(motcua_http::Shared::new(state).unwrap(), listener).unwrap();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    let base = format!("http://127.0.0.1:{port}");
    assert_eq!(
        app.client
            .get(format!("{base}/health/live"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let res = app
        .client
        .get(format!("{base}/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["database"], "unreachable");
    // A data endpoint says so as a problem, without the driver's text.
    let res = app
        .client
        .get(format!("{base}/api/v1/procedures"))
        .send()
        .await
        .unwrap();
    let body = motcua_tests::problem(res, 503, "database_unavailable").await;
    assert!(!body.to_string().contains("127.0.0.1:1") && !body.to_string().contains("nonexistent"));
    handle.stop(false).await;
}

#[actix_web::test]
async fn readiness_recovers_when_postgres_comes_back() {
    let Some(app) = TestApp::start(motcua_persistence::Backend::Postgres).await else {
        eprintln!("skipped: MOTCUA_TEST_POSTGRES_URL not set");
        return;
    };
    let (server, name) = app.db.postgres_name().unwrap();
    let (server, name) = (server.to_owned(), name.to_owned());
    let admin = move |sql: String| {
        let server = server.clone();
        async move {
            actix_web::rt::task::spawn_blocking(move || {
                use diesel::Connection;
                use diesel::connection::SimpleConnection;
                let mut c = diesel::PgConnection::establish(&server).unwrap();
                c.batch_execute(&sql).unwrap();
            })
            .await
            .unwrap()
        }
    };
    let ready = |app: &TestApp| {
        let req = app.get("/health/ready");
        async move { req.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(ready(&app).await, 200);
    admin(format!(
        "ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false; \
         SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid();"
    ))
    .await;
    let mut status = 0;
    for _ in 0..20 {
        status = ready(&app).await;
        if status == 503 {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(
        status, 503,
        "not ready while the database refuses connections"
    );
    admin(format!("ALTER DATABASE {name} WITH ALLOW_CONNECTIONS true")).await;
    for _ in 0..30 {
        status = ready(&app).await;
        if status == 200 {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(status, 200, "ready again without a restart");
    assert_eq!(
        app.get("/api/v1/procedures?per_page=1")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}
