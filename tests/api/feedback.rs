//! Citizen feedback (PAKN): sent without an account, answered by the
//! agency concerned, followed with a tracking code, counted in the KPIs.

use motcua_domain::Role;
use motcua_tests::{TestApp, bearer, on_both_backends, problem};
use serde_json::{Value, json};

on_both_backends!(
    anonymous_feedback_to_published_answer,
    feedback_is_checked_and_throttled
);

async fn send(app: &TestApp, body: &Value) -> reqwest::Response {
    app.post("/api/v1/feedback")
        .json(body)
        .send()
        .await
        .unwrap()
}

/// An anonymous proposal about a procedure, received by its agency with 15
/// working days to answer; returns its tracking code.
async fn send_a_proposal(app: &TestApp) -> String {
    let res = send(
        app,
        &json!({
            "procedure_code": "2.001584",
            "subject": "Bỏ yêu cầu nộp bản sao giấy phép cũ",
            "content": "Giấy phép cũ đã có trong hệ thống, đề nghị không yêu cầu nộp lại.",
            "contact": "0912 345 678"
        }),
    )
    .await;
    assert_eq!(res.status(), 201);
    let sent: Value = res.json().await.unwrap();
    let code = sent["tracking_code"].as_str().unwrap().to_owned();
    assert!(code.starts_with("PA-") && code.len() == 15, "{code}");
    assert_eq!(sent["status"], "received");
    assert_eq!(
        sent["agency_id"],
        app.agency_id("000.00.20.H56").await,
        "the procedure's agency"
    );
    assert_eq!(sent["contact"], Value::Null, "never echoed to the public");
    let created =
        chrono::DateTime::parse_from_rfc3339(sent["created_at"].as_str().unwrap()).unwrap();
    let due = chrono::DateTime::parse_from_rfc3339(sent["due_at"].as_str().unwrap()).unwrap();
    let days = (due - created).num_days();
    assert!(
        (19..=30).contains(&days),
        "15 working days: {days} calendar days"
    );
    code
}

async fn anonymous_feedback_to_published_answer(app: TestApp) {
    let code = send_a_proposal(&app).await;

    // Not public until answered.
    let public: Value = app
        .get("/api/v1/feedback")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(public["total"], 0);
    let officer = app.token(Role::Officer).await;
    let staff: Value = app
        .get_json(&officer, "/api/v1/feedback?status=received")
        .await;
    assert_eq!(staff["total"], 1);
    assert_eq!(staff["items"][0]["contact"], "0912345678");
    let id = staff["items"][0]["id"].as_i64().unwrap();

    let reply = |token: String, body: Value| {
        let app = &app;
        async move {
            app.post(&format!("/api/v1/feedback/{id}/reply"))
                .header("authorization", bearer(&token))
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let res = reply(
        officer.clone(),
        json!({"action": "request_info", "content": "Đề nghị cho biết số giấy phép cũ."}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let asked: Value = res.json().await.unwrap();
    assert_eq!(asked["status"], "info_requested");
    let res = app
        .post(&format!("/api/v1/feedback/tracking/{code}/info"))
        .json(&json!({"content": "Giấy phép số 12/GP-STTTT."}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = reply(officer.clone(), json!({"action": "answer"})).await;
    let body = problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "content");
    let res = reply(
        officer.clone(),
        json!({"action": "answer", "content": "Sở đã kiến nghị bỏ thành phần này."}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let answered: Value = res.json().await.unwrap();
    assert_eq!(answered["status"], "answered");
    assert!(answered["handled_at"].is_string());
    let res = reply(
        officer.clone(),
        json!({"action": "answer", "content": "Lần nữa"}),
    )
    .await;
    problem(res, 409, "conflict").await;
    let res = reply(
        officer.clone(),
        json!({"action": "supplement", "content": "x"}),
    )
    .await;
    problem(res, 422, "validation_failed").await;

    the_sender_follows_the_exchange(&app, &code).await;
    // Published, without the sender's details; staff of another agency do not see it.
    let public: Value = app
        .get("/api/v1/feedback")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(public["total"], 1);
    assert_eq!(public["items"][0]["contact"], Value::Null);
    let res = app
        .get("/api/v1/feedback?status=received")
        .send()
        .await
        .unwrap();
    problem(res, 400, "invalid_query").await;
    let admin = bearer(&app.token(Role::Admin).await);
    let other = commune_officer(&app, &admin).await;
    let res = app
        .get(&format!("/api/v1/feedback/{id}"))
        .header("authorization", bearer(&other))
        .send()
        .await
        .unwrap();
    problem(res, 404, "not_found").await;
    let res = reply(other, json!({"action": "close"})).await;
    problem(res, 404, "not_found").await;
    let res = reply(officer, json!({"action": "close"})).await;
    assert_eq!(res.status(), 200);

    counted_as_handled_in_time(&app, &admin).await;
}

/// Counted: one feedback, handled within 15 working days.
async fn counted_as_handled_in_time(app: &TestApp, admin: &str) {
    // Counted: one feedback, handled within 15 working days.
    let kpi: Value = app
        .get("/api/v1/kpi/summary")
        .header("authorization", admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        kpi["feedback"],
        json!({"received": 1, "handled_in_time": 1, "overdue": 0})
    );
}

/// A new officer of a commune; its token.
async fn commune_officer(app: &TestApp, admin: &str) -> String {
    let commune = app.agency_id("000.00.31.H56").await;
    let res = app
        .post("/api/v1/users")
        .header("authorization", admin)
        .json(&json!({"username": "canbo.xa", "password": "mat-khau-can-bo-xa", "role": "officer", "agency_id": commune, "full_name": "Cán bộ xã"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    app.login("canbo.xa", "mat-khau-can-bo-xa").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The sender follows the whole exchange by its tracking code, in any case; never its contact.
async fn the_sender_follows_the_exchange(app: &TestApp, code: &str) {
    // The sender follows the whole exchange.
    let followed: Value = app
        .get(&format!(
            "/api/v1/feedback/tracking/{}",
            code.to_lowercase()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let steps: Vec<(&str, bool)> = followed["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["action"].as_str().unwrap(),
                m["from_staff"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("request_info", true),
            ("supplement", false),
            ("answer", true)
        ]
    );
    assert_eq!(followed["contact"], Value::Null);
    let res = app
        .get("/api/v1/feedback/tracking/PA-AAAA-AAAA-AA")
        .send()
        .await
        .unwrap();
    problem(res, 404, "not_found").await;
}

async fn feedback_is_checked_and_throttled(app: TestApp) {
    let res = send(
        &app,
        &json!({"agency_id": 1, "subject": "Góp ý", "content": "Nội dung"}),
    )
    .await;
    let body = problem(res, 422, "validation_failed").await;
    assert_eq!(
        body["errors"][0]["field"], "contact",
        "anonymous needs a contact"
    );
    let res = send(
        &app,
        &json!({"agency_id": 1, "subject": " ", "content": "x", "contact": "not a phone"}),
    )
    .await;
    let body = problem(res, 422, "validation_failed").await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["subject", "contact"]);
    let res = send(
        &app,
        &json!({"subject": "Góp ý", "content": "Nội dung", "contact": "a@b.vn"}),
    )
    .await;
    problem(res, 422, "validation_failed").await;
    let res = send(&app, &json!({"procedure_code": "9.999999", "subject": "Góp ý", "content": "Nội dung", "contact": "a@b.vn"})).await;
    problem(res, 422, "validation_failed").await;
    let res = send(&app, &json!({"agency_id": 1, "subject": "Góp ý", "content": "Nội dung", "contact": "a@b.vn", "extra": true})).await;
    problem(res, 422, "validation_failed").await;
    // A signed-in citizen may leave the contact out.
    let citizen = app.token_of(motcua::seed::DEMO_CITIZEN_ID).await;
    let dept = app.agency_id("000.00.20.H56").await;
    let res = app
        .post("/api/v1/feedback")
        .header("authorization", bearer(&citizen))
        .json(&json!({"agency_id": dept, "subject": "Góp ý", "content": "Nội dung"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    // Ten an hour from one address: the unknown procedure and the citizen's
    // count, the requests refused by the form checks do not.
    let mut statuses = Vec::new();
    for i in 0..10 {
        let res = send(&app, &json!({"agency_id": dept, "subject": format!("Góp ý {i}"), "content": "Nội dung", "contact": "a@b.vn"})).await;
        statuses.push(res.status().as_u16());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        8,
        "{statuses:?}"
    );
    let res = send(
        &app,
        &json!({"agency_id": dept, "subject": "Góp ý", "content": "Nội dung", "contact": "a@b.vn"}),
    )
    .await;
    let body = problem(res, 429, "too_many_requests").await;
    assert!(body["detail"].as_str().is_some());
}
