//! KPIs over HTTP: figures that follow the dossiers as they move, who sees
//! what, the CSV export, the public figures, the gauges, and the kept
//! aggregates agreeing with a rebuild.

use motcua::seed::DEMO_CITIZEN_ID;
use motcua_domain::Role;
use motcua_persistence::repo::kpi;
use motcua_tests::{PDF, TestApp, bearer, on_both_backends, problem};
use serde_json::{Value, json};

use crate::dossiers::{submit_reissue, to_review};

on_both_backends!(
    figures_follow_the_dossiers,
    staff_see_their_agency_and_the_public_sees_aggregates,
    kpi_queries_are_checked,
);

async fn get_json(app: &TestApp, token: Option<&str>, path: &str) -> Value {
    let mut req = app.get(path);
    if let Some(token) = token {
        req = req.header("authorization", bearer(token));
    }
    let res = req.send().await.unwrap();
    assert_eq!(res.status(), 200, "{path}");
    res.json().await.unwrap()
}

fn today() -> String {
    (chrono::Utc::now() + chrono::Duration::hours(7))
        .format("%Y-%m-%d")
        .to_string()
}

fn rate(numerator: i64, denominator: i64, value: Option<f64>) -> Value {
    json!({"numerator": numerator, "denominator": denominator, "value": value})
}

/// Three dossiers today: one returned with a digital result and rated, one
/// transferred to the commune and still in review, one filed on paper at the
/// counter and cancelled.
async fn three_dossiers(app: &TestApp) {
    let citizen = app.token_of(DEMO_CITIZEN_ID).await;
    let officer = app.token(Role::Officer).await;
    let handler = app.token_of("demo.handler").await;
    let leader = app.token(Role::Leader).await;

    let done = submit_reissue(app, &citizen).await.code().to_owned();
    to_review(app, &done).await;
    app.act_ok(&handler, &done, &json!({"action": "propose"}))
        .await;
    app.act_ok(&leader, &done, &json!({"action": "approve"}))
        .await;
    let res = app
        .upload_to(
            &handler,
            &done,
            PDF,
            &[("kind", "result"), ("title", "Giấy phép")],
        )
        .await;
    assert_eq!(res.status(), 201);
    app.act_ok(&handler, &done, &json!({"action": "issue_result"}))
        .await;
    app.act_ok(&officer, &done, &json!({"action": "return"}))
        .await;
    let res = app
        .post(&format!("/api/v1/dossiers/{done}/rating"))
        .header("authorization", bearer(&citizen))
        .json(&json!({"score": "satisfied"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);

    let moved = submit_reissue(app, &citizen).await.code().to_owned();
    to_review(app, &moved).await;
    let commune = app.agency_id("000.00.31.H56").await;
    app.act_ok(
        &handler,
        &moved,
        &json!({"action": "transfer", "target_agency_id": commune, "note": "Xin ý kiến"}),
    )
    .await;

    let paper = app
        .submit_ok(
            &officer,
            &json!({
                "procedure_code": "2.001584",
                "applicant": {"id_number": "038190001234", "full_name": "Trần Văn Bình"},
                "documents": [{"requirement": "D1", "paper": true}, {"requirement": "D2", "paper": true}],
            }),
        )
        .await
        .code()
        .to_owned();
    app.act_ok(&officer, &paper, &json!({"action": "receive"}))
        .await;
    app.act_ok(
        &officer,
        &paper,
        &json!({"action": "cancel", "note": "Người nộp đề nghị dừng"}),
    )
    .await;
}

async fn figures_follow_the_dossiers(app: TestApp) {
    let admin = app.token(Role::Admin).await;
    let empty = get_json(&app, Some(&admin), "/api/v1/kpi/summary").await;
    assert_eq!(empty["dossiers"]["received"], 0);
    // No denominator: no value, neither 0 nor 100.
    assert_eq!(empty["rates"]["on_time"], rate(0, 0, None));
    assert_eq!(empty["rates"]["satisfaction"], rate(0, 0, None));

    three_dossiers(&app).await;
    let s = get_json(
        &app,
        Some(&admin),
        &format!("/api/v1/kpi/summary?period={}", today()),
    )
    .await;
    let d = &s["dossiers"];
    assert_eq!(d["received"], 3, "{s}");
    assert_eq!(d["received_online"], 2);
    assert_eq!(d["decided"], 1);
    assert_eq!(
        d["early"].as_i64().unwrap() + d["on_time"].as_i64().unwrap(),
        1
    );
    assert_eq!(d["returned"], 1);
    assert_eq!(d["cancelled"], 1);
    assert_eq!(d["in_progress"], 1);
    assert_eq!(d["in_progress_overdue"], 0);
    assert_eq!(s["rates"]["on_time"], rate(1, 1, Some(1.0)));
    assert_eq!(s["rates"]["online_dossiers"], rate(2, 3, Some(0.6667)));
    assert_eq!(s["rates"]["digitization"], rate(2, 3, Some(0.6667)));
    assert_eq!(s["rates"]["digitized_results"], rate(1, 1, Some(1.0)));
    assert_eq!(s["rates"]["satisfaction"], rate(1, 1, Some(1.0)));
    assert_eq!(s["rates"]["online_payment_transactions"], rate(0, 0, None));
    let groups: Vec<&str> = s["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        groups,
        [
            "transparency",
            "progress",
            "online_service",
            "digitization",
            "satisfaction"
        ]
    );
    let total: f64 = s["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["score"].as_f64().unwrap())
        .sum();
    assert!((total - s["total_score"].as_f64().unwrap()).abs() < 0.01);

    filters_narrow_the_figures(&app, &admin).await;
    // The same, day by day.
    let series = get_json(
        &app,
        Some(&admin),
        &format!("/api/v1/kpi/timeseries?granularity=day&to={}", today()),
    )
    .await;
    let points = series["points"].as_array().unwrap();
    let last = points.last().unwrap();
    assert_eq!(last["to"], today());
    assert_eq!(last["dossiers"]["received"], 3);
    assert_eq!(last["dossiers"]["in_progress"], 1);
    let earlier: i64 = points[..points.len() - 1]
        .iter()
        .map(|p| p["dossiers"]["received"].as_i64().unwrap())
        .sum();
    assert_eq!(earlier, 0);

    ranked_with_a_csv_export(&app, &admin).await;
    // Gauges for operators.
    let metrics = app
        .get("/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "motcua_dossiers{status=\"returned\"} 1",
        "motcua_dossiers{status=\"cancelled\"} 1",
        "motcua_dossiers{status=\"in_review\"} 1",
        "motcua_dossiers_overdue 0",
        "motcua_payments{status=\"success\"} 0",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} missing");
    }

    // What was kept step by step is what a rebuild computes from scratch.
    let pool = app.pool.clone();
    actix_web::rt::task::spawn_blocking(move || {
        let mut conn = pool.get().unwrap();
        let kept = kpi::snapshot(&mut conn).unwrap();
        assert!(!kept.is_empty());
        kpi::rebuild(&mut conn).unwrap();
        assert_eq!(kpi::snapshot(&mut conn).unwrap(), kept);
    })
    .await
    .unwrap();
}

/// The transferred dossier counts for the department that received it; channel and procedure filters.
async fn filters_narrow_the_figures(app: &TestApp, admin: &str) {
    // The transferred dossier counts for the department that received it.
    let dept = app.agency_id("000.00.20.H56").await;
    let commune = app.agency_id("000.00.31.H56").await;
    let of = |id: i64| format!("/api/v1/kpi/summary?agency_id={id}");
    assert_eq!(
        get_json(app, Some(admin), &of(dept)).await["dossiers"]["received"],
        3
    );
    assert_eq!(
        get_json(app, Some(admin), &of(commune)).await["dossiers"]["received"],
        0
    );
    let online = get_json(app, Some(admin), "/api/v1/kpi/summary?channel=counter").await;
    assert_eq!(online["dossiers"]["received"], 1);
    let by_procedure = get_json(app, Some(admin), "/api/v1/kpi/summary?procedure=1.004610").await;
    assert_eq!(by_procedure["dossiers"]["received"], 0);
}

/// Ranked: the department (with dossiers) first, CSV with a BOM, headers in the caller's language.
async fn ranked_with_a_csv_export(app: &TestApp, admin: &str) {
    // Ranked: the department (with dossiers) first, CSV with a BOM.
    let ranking = get_json(app, Some(admin), "/api/v1/kpi/agencies").await;
    assert_eq!(ranking["agencies"][0]["agency"]["code"], "000.00.20.H56");
    assert_eq!(ranking["agencies"][0]["rank"], 1);
    let res = app
        .get("/api/v1/kpi/agencies")
        .header("authorization", bearer(admin))
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    let bytes = res.bytes().await.unwrap();
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF");
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    assert!(text.starts_with("Hạng,Mã cơ quan,Tên cơ quan,"), "{text}");
    let first = text.lines().nth(1).unwrap();
    assert!(
        first.starts_with("1,000.00.20.H56,\"Sở Văn hóa, Thể thao và Du lịch"),
        "{first}"
    );
    let res = app
        .get("/api/v1/kpi/agencies")
        .header("authorization", bearer(admin))
        .header("accept", "text/csv")
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    assert!(
        res.text()
            .await
            .unwrap()
            .starts_with("\u{feff}Rank,Agency code")
    );
}

async fn staff_see_their_agency_and_the_public_sees_aggregates(app: TestApp) {
    three_dossiers(&app).await;
    let dept = app.agency_id("000.00.20.H56").await;
    let commune = app.agency_id("000.00.31.H56").await;
    let officer = app.token(Role::Officer).await;
    let mine = get_json(&app, Some(&officer), "/api/v1/kpi/summary").await;
    assert_eq!(mine["scope"]["agency"]["id"], dept);
    assert_eq!(mine["dossiers"]["received"], 3);
    // A division's staff see the department they belong to.
    let handler = app.token_of("demo.handler").await;
    let theirs = get_json(&app, Some(&handler), "/api/v1/kpi/summary").await;
    assert_eq!(theirs["scope"]["agency"]["id"], dept);
    let res = app
        .get(&format!("/api/v1/kpi/summary?agency_id={commune}"))
        .header("authorization", bearer(&officer))
        .send()
        .await
        .unwrap();
    problem(res, 403, "forbidden").await;
    // Staff get their own row of the ranking, ranked among all.
    let ranking = get_json(&app, Some(&officer), "/api/v1/kpi/agencies").await;
    assert_eq!(ranking["agencies"].as_array().unwrap().len(), 1);
    assert_eq!(ranking["agencies"][0]["agency"]["id"], dept);
    assert!(ranking["ranked"].as_i64().unwrap() >= 2);

    let citizen = app.token_of(DEMO_CITIZEN_ID).await;
    let res = app
        .get("/api/v1/kpi/summary")
        .header("authorization", bearer(&citizen))
        .send()
        .await
        .unwrap();
    problem(res, 403, "forbidden").await;
    let res = app.get("/api/v1/kpi/summary").send().await.unwrap();
    problem(res, 401, "unauthenticated").await;

    // The portal's figures need no sign-in and carry no dossier.
    let res = app.get("/api/v1/kpi/public").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "public, max-age=300");
    let public: Value = res.json().await.unwrap();
    assert_eq!(public["dossiers"]["received"], 3);
    assert!(
        !public.to_string().contains("000.00.20.H56-"),
        "no dossier codes"
    );
    let of_commune = get_json(
        &app,
        None,
        &format!("/api/v1/kpi/public?agency_id={commune}"),
    )
    .await;
    assert_eq!(of_commune["dossiers"]["received"], 0);
}

async fn kpi_queries_are_checked(app: TestApp) {
    let admin = app.token(Role::Admin).await;
    let cases = [
        ("/api/v1/kpi/summary?period=2026&from=2026-01-01", "from"),
        ("/api/v1/kpi/summary?period=2026-13", "period"),
        ("/api/v1/kpi/summary?period=n%C4%83m+2026", "period"),
        ("/api/v1/kpi/summary?from=2026-03-01&to=2026-02-01", "to"),
        ("/api/v1/kpi/summary?from=1990-01-01", "from"),
        ("/api/v1/kpi/summary?sector=khong-co", "sector"),
        ("/api/v1/kpi/summary?procedure=9.999999", "procedure"),
        ("/api/v1/kpi/summary?agency_id=999999", "agency_id"),
        ("/api/v1/kpi/summary?channel=fax", "channel"),
        ("/api/v1/kpi/summary?color=red", "color"),
        (
            "/api/v1/kpi/timeseries?granularity=day&from=2024-01-01&to=2025-12-31",
            "granularity",
        ),
        (
            "/api/v1/kpi/timeseries?granularity=fortnight",
            "granularity",
        ),
    ];
    for (path, field) in cases {
        let res = app
            .get(path)
            .header("authorization", bearer(&admin))
            .send()
            .await
            .unwrap();
        let body = problem(res, 400, "invalid_query").await;
        let fields: Vec<&str> = body["errors"]
            .as_array()
            .map(|e| e.iter().filter_map(|e| e["field"].as_str()).collect())
            .unwrap_or_default();
        assert!(fields.contains(&field), "{path}: {body}");
    }
    // A quarter as a named period; a future period is cut to today.
    let q = get_json(&app, Some(&admin), "/api/v1/kpi/summary?period=2026-Q1").await;
    assert_eq!(q["scope"]["from"], "2026-01-01");
    assert_eq!(q["scope"]["to"], "2026-03-31");
    let series = get_json(
        &app,
        Some(&admin),
        "/api/v1/kpi/timeseries?period=2026&granularity=quarter",
    )
    .await;
    let points = series["points"].as_array().unwrap();
    assert!(!points.is_empty() && points.len() <= 4);
    assert_eq!(points[0]["from"], "2026-01-01");
    assert_eq!(points[0]["to"], "2026-03-31");
}
