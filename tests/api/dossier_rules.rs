//! Dossier rules at the edges: codes under concurrency, idempotency,
//! optimistic concurrency, access, validation, uploads, reuse, receipts,
//! tracking, lists, the calendar.

use motcua::seed::DEMO_CITIZEN_ID;
use motcua_domain::Role;
use motcua_tests::{PDF, PNG, TestApp, bearer, on_both_backends, problem};
use serde_json::{Value, json};

use crate::dossiers::{submit_reissue, to_review};

on_both_backends!(
    codes_are_consecutive_under_concurrency,
    idempotency_key_returns_the_same_dossier,
    if_match_is_required_and_checked,
    visibility_and_roles,
    submission_is_validated_against_the_procedure,
    stored_documents_are_reused,
    receipt_json_and_printable_html,
    tracking_is_public_minimal_and_throttled,
    officer_lists_filter_and_sort_by_due,
    calendar_endpoints_and_their_effect_on_due_dates,
    rating_rules,
);

fn counter_body(id_number: &str) -> Value {
    json!({
        "procedure_code": "2.001584",
        "applicant": {"id_number": id_number, "full_name": "Người Nộp Quầy"},
        "documents": [{"requirement": "D1", "paper": true}, {"requirement": "D2", "paper": true}],
    })
}

async fn codes_are_consecutive_under_concurrency(app: TestApp) {
    let officer = app.token(Role::Officer).await;
    let requests = (0..50).map(|i| {
        let body = counter_body(&format!("0011990{i:05}"));
        let app = &app;
        let officer = officer.clone();
        async move { app.submit(&officer, &body).await }
    });
    let responses = futures_util::future::join_all(requests).await;
    let mut sequences = Vec::new();
    for res in responses {
        assert_eq!(res.status(), 201);
        let body: Value = res.json().await.unwrap();
        let code = body["code"].as_str().unwrap().to_owned();
        let (prefix, seq) = code.rsplit_once('-').unwrap();
        assert!(prefix.starts_with("000.00.20.H56-"), "{code}");
        assert_eq!(seq.len(), 4, "{code}");
        sequences.push(seq.parse::<u32>().unwrap());
    }
    sequences.sort_unstable();
    assert_eq!(
        sequences,
        (1..=50).collect::<Vec<_>>(),
        "50 distinct consecutive numbers"
    );
}

async fn idempotency_key_returns_the_same_dossier(app: TestApp) {
    let officer = app.token(Role::Officer).await;
    let body = counter_body("001199012345");
    let send = |key: &'static str, body: Value| {
        let req = app
            .post("/api/v1/dossiers")
            .header("authorization", bearer(&officer))
            .header("idempotency-key", key)
            .json(&body);
        async move { req.send().await.unwrap() }
    };
    let first = send("nop-ho-so-1", body.clone()).await;
    assert_eq!(first.status(), 201);
    assert!(!first.headers().contains_key("idempotent-replayed"));
    let first: Value = first.json().await.unwrap();
    // The same body, keys in another order: the same request.
    let reordered = json!({
        "documents": body["documents"], "applicant": {"full_name": "Người Nộp Quầy", "id_number": "001199012345"},
        "procedure_code": "2.001584",
    });
    let again = send("nop-ho-so-1", reordered).await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["code"], first["code"]);
    let mut other = body.clone();
    other["note"] = json!("khác");
    problem(
        send("nop-ho-so-1", other).await,
        422,
        "idempotency_key_reused",
    )
    .await;
    let res = app
        .post("/api/v1/dossiers")
        .header("authorization", bearer(&officer))
        .header("idempotency-key", "có dấu")
        .json(&body)
        .send()
        .await;
    if let Ok(res) = res {
        problem(res, 400, "invalid_header").await;
    }
    // A failed request does not burn its key.
    let mut invalid = body.clone();
    invalid["procedure_code"] = json!("9.999999");
    problem(send("nop-ho-so-2", invalid).await, 422, "validation_failed").await;
    assert_eq!(
        send("nop-ho-so-2", counter_body("001199012346"))
            .await
            .status(),
        201
    );
    // Ten at once with one key: one dossier.
    let burst = (0..10).map(|_| send("nop-ho-so-3", counter_body("001199012347")));
    let statuses: Vec<u16> = futures_util::future::join_all(burst)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert!(
        statuses.iter().all(|s| [200, 201, 409].contains(s)),
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    let listed: Value = app
        .get_json(&officer, "/api/v1/dossiers?q=001199012347")
        .await;
    assert_eq!(listed["total"], 1);
}

async fn if_match_is_required_and_checked(app: TestApp) {
    let citizen = app.token_of(DEMO_CITIZEN_ID).await;
    let code = submit_reissue(&app, &citizen).await.code().to_owned();
    let officer = app.token(Role::Officer).await;
    let receive = json!({"action": "receive"});
    problem(
        app.act_raw(&officer, &code, None, &receive).await,
        428,
        "precondition_required",
    )
    .await;
    let res = app.act_raw(&officer, &code, Some("\"v7\""), &receive).await;
    assert_eq!(res.headers()["etag"], "\"v1\"");
    let body = problem(res, 412, "precondition_failed").await;
    assert_eq!(body["current_version"], 1);
    problem(
        app.act_raw(&officer, &code, Some("garbage"), &receive)
            .await,
        412,
        "precondition_failed",
    )
    .await;
    // Weak and bare forms of the current version are accepted.
    assert_eq!(
        app.act_raw(&officer, &code, Some("W/\"v1\""), &receive)
            .await
            .status(),
        200
    );
    // The old ETag is now stale: two officers cannot both act on one version.
    let assign = json!({"action": "assign", "assignee_id": app.user_id("demo.officer").await});
    problem(
        app.act_raw(&officer, &code, Some("\"v1\""), &assign).await,
        412,
        "precondition_failed",
    )
    .await;
    assert_eq!(
        app.act_raw(&officer, &code, Some("2"), &assign)
            .await
            .status(),
        200
    );
    // `If-Match: *` (RFC 9110 §13.1.1) acts on whatever version is current.
    let other = submit_reissue(&app, &citizen).await.code().to_owned();
    let res = app.act_raw(&officer, &other, Some("*"), &receive).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["etag"], "\"v2\"");
}

async fn visibility_and_roles(app: TestApp) {
    let citizen = app.token_of(DEMO_CITIZEN_ID).await;
    let code = submit_reissue(&app, &citizen).await.code().to_owned();
    app.post("/api/v1/auth/register")
        .json(&json!({"id_number": "079203005555", "full_name": "Người Khác", "phone": "0911222333", "password": "nguoi-khac-123"}))
        .send()
        .await
        .unwrap();
    let other = app.login("079203005555", "nguoi-khac-123").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    for path in [
        format!("/api/v1/dossiers/{code}"),
        format!("/api/v1/dossiers/{code}/history"),
        format!("/api/v1/dossiers/{code}/receipt"),
    ] {
        let res = app
            .get(&path)
            .header("authorization", bearer(&other))
            .send()
            .await
            .unwrap();
        problem(res, 404, "not_found").await;
    }
    problem(
        app.act_raw(
            &other,
            &code,
            Some("\"v1\""),
            &json!({"action": "withdraw"}),
        )
        .await,
        404,
        "not_found",
    )
    .await;
    let mine: Value = app.get_json(&other, "/api/v1/dossiers").await;
    assert_eq!(mine["total"], 0);
    let leader = app.token(Role::Leader).await;
    problem(
        app.act(&leader, &code, &json!({"action": "receive"})).await,
        403,
        "forbidden",
    )
    .await;
    problem(
        app.act(&citizen, &code, &json!({"action": "approve"}))
            .await,
        403,
        "forbidden",
    )
    .await;
    let officer = app.token(Role::Officer).await;
    let res = app
        .act(&officer, &code, &json!({"action": "propose"}))
        .await;
    let body = problem(res, 409, "invalid_transition").await;
    assert_eq!(body["dossier_status"], "submitted");
    assert_eq!(
        body["allowed_actions"],
        json!(["receive", "refuse", "request_supplement", "cancel"])
    );
    // The provincial portal reads only what it filed or is granted (tests/api/identity.rs).
    let portal = app.token(Role::Integration).await;
    let res = app
        .get(&format!("/api/v1/dossiers/{code}"))
        .header("authorization", bearer(&portal))
        .send()
        .await
        .unwrap();
    problem(res, 404, "not_found").await;
    // Unknown dossiers look like hidden ones.
    let res = app
        .get("/api/v1/dossiers/000.00.20.H56-000101-0001")
        .header("authorization", bearer(&officer))
        .send()
        .await
        .unwrap();
    problem(res, 404, "not_found").await;
    let res = app
        .get(&format!("/api/v1/dossiers/{code}"))
        .send()
        .await
        .unwrap();
    problem(res, 401, "unauthenticated").await;
}

/// The (field, code) pairs of a validation problem.
fn field_codes(body: &Value) -> Vec<(String, String)> {
    body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_owned(),
                e["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn submission_is_validated_against_the_procedure(app: TestApp) {
    let citizen = app.token_of(DEMO_CITIZEN_ID).await;
    let doc = app.upload(&citizen, "don.pdf").await;
    let cases = [
        (
            json!({"procedure_code": "9.999999"}),
            ("procedure_code", "unknown_procedure"),
        ),
        (
            json!({"procedure_code": "1.001420"}),
            ("procedure_code", "procedure_abolished"),
        ),
        (
            json!({"procedure_code": "1.003838", "documents": []}),
            ("channel", "online_not_offered"),
        ),
        (
            json!({"procedure_code": "1.000635"}),
            ("agency_id", "required"),
        ),
    ];
    for (body, (field, code)) in cases {
        let res = app.submit(&citizen, &body).await;
        let problem_body = problem(res, 422, "validation_failed").await;
        assert!(
            field_codes(&problem_body).contains(&(field.to_owned(), code.to_owned())),
            "{body} → {problem_body}"
        );
    }
    let res = app.submit(&citizen, &json!({"procedure_code": "2.001584", "documents": [{"requirement": "D1", "document_id": doc}, {"requirement": "D9", "document_id": doc}, {"requirement": "D1", "paper": true}]})).await;
    let body = problem(res, 422, "validation_failed").await;
    let got = field_codes(&body);
    assert!(
        got.contains(&(
            "documents[1].requirement".into(),
            "unknown_requirement".into()
        )),
        "{got:?}"
    );
    assert!(
        got.contains(&("documents[2].paper".into(), "paper_not_online".into())),
        "{got:?}"
    );
    assert!(
        got.contains(&("documents.D2".into(), "missing_document".into())),
        "{got:?}"
    );
    fee_tiers_are_chosen(&app, &citizen).await;
    // Who files how.
    let res = app
        .submit(
            &citizen,
            &json!({"procedure_code": "2.001584", "applicant": {"id_number": "079203001234"}}),
        )
        .await;
    assert!(
        field_codes(&problem(res, 422, "validation_failed").await)
            .contains(&("applicant".into(), "applicant_is_you".into()))
    );
    let officer = app.token(Role::Officer).await;
    let res = app
        .submit(&officer, &json!({"procedure_code": "2.001584"}))
        .await;
    assert_eq!(
        problem(res, 422, "validation_failed").await["errors"][0]["field"],
        "applicant"
    );
    let mut online = counter_body("001199000001");
    online["channel"] = json!("postal");
    assert_eq!(app.submit(&officer, &online).await.status(), 201);
    let leader = app.token(Role::Leader).await;
    problem(
        app.submit(&leader, &counter_body("001199000002")).await,
        403,
        "forbidden",
    )
    .await;
    commune_procedures_go_to_a_commune(&app, &citizen).await;
    // Bad JSON shapes.
    let res = app
        .submit(
            &citizen,
            &json!({"procedure_code": "2.001584", "channel": "fax"}),
        )
        .await;
    assert_eq!(
        problem(res, 422, "validation_failed").await["errors"][0]["field"],
        "channel"
    );
}

/// Commune-wide procedures go to a commune the applicant picks, not to a department.
async fn commune_procedures_go_to_a_commune(app: &TestApp, citizen: &str) {
    // Commune-wide procedures go to a commune the applicant picks.
    let commune = app.agency_id("000.00.31.H56").await;
    let notice = app.upload(citizen, "thong-bao.pdf").await;
    let filed = app.submit_ok(citizen, &json!({"procedure_code": "1.000635", "agency_id": commune, "documents": [{"requirement": "D1", "document_id": notice}]})).await;
    assert!(filed.code().starts_with("000.00.31.H56-"));
    let dept = app.agency_id("000.00.20.H56").await;
    let res = app
        .submit(
            citizen,
            &json!({"procedure_code": "1.000635", "agency_id": dept}),
        )
        .await;
    assert_eq!(
        problem(res, 422, "validation_failed").await["errors"][0]["code"],
        "unknown_agency"
    );
}

/// Fee tiers must be chosen; the same upload cannot serve a second dossier.
async fn fee_tiers_are_chosen(app: &TestApp, citizen: &str) {
    // Fee tiers must be chosen.
    let docs: Vec<Value> = {
        let mut v = Vec::new();
        for r in ["D1", "D2", "D3"] {
            v.push(json!({"requirement": r, "document_id": app.upload(citizen, "x.pdf").await}));
        }
        v
    };
    let res = app
        .submit(
            citizen,
            &json!({"procedure_code": "1.009397", "documents": docs}),
        )
        .await;
    let body = problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "fee_codes");
    assert_eq!(body["errors"][0]["code"], "not_allowed");
    let ok = app
        .submit_ok(
            citizen,
            &json!({"procedure_code": "1.009397", "documents": docs, "fee_codes": ["F2"]}),
        )
        .await;
    assert_eq!(ok.body["fees_due_vnd"], 2_000_000);
    // The same upload cannot serve a second dossier (it is not in the store yet).
    let res = app
        .submit(
            citizen,
            &json!({"procedure_code": "1.009397", "documents": docs, "fee_codes": ["F2"]}),
        )
        .await;
    let body = problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["code"], "document_not_usable");
}

async fn stored_documents_are_reused(app: TestApp) {
    let citizen = app.token_of(DEMO_CITIZEN_ID).await;
    let first = submit_reissue(&app, &citizen).await;
    let officer = app.token(Role::Officer).await;
    app.act_ok(&officer, first.code(), &json!({"action": "receive"}))
        .await;
    let store: Value = app.get_json(&citizen, "/api/v1/me/documents").await;
    let stored: Vec<String> = store["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(stored.len(), 2);
    let lines = first.body["documents"].as_array().unwrap();
    let d2 = lines.iter().find(|l| l["requirement"] == "D2").unwrap()["document_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let d1 = lines.iter().find(|l| l["requirement"] == "D1").unwrap()["document_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let fresh = app.upload(&citizen, "don-moi.pdf").await;
    // D2 (the earlier licence) is reusable; D1 (the request form) is not.
    let res = app.submit(&citizen, &json!({"procedure_code": "2.001584", "documents": [{"requirement": "D1", "document_id": d1}, {"requirement": "D2", "document_id": d2}]})).await;
    assert_eq!(
        problem(res, 422, "validation_failed").await["errors"][0]["code"],
        "not_reusable"
    );
    let second = app.submit_ok(&citizen, &json!({"procedure_code": "2.001584", "documents": [{"requirement": "D1", "document_id": fresh}, {"requirement": "D2", "document_id": d2}]})).await;
    let reused = second.body["documents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["requirement"] == "D2")
        .unwrap()
        .clone();
    assert_eq!(reused["reused"], true);
    assert_eq!(reused["document_id"], d2.as_str());
    // Another citizen cannot cite it.
    app.post("/api/v1/auth/register")
        .json(&json!({"id_number": "079203006666", "full_name": "Người Khác", "phone": "0911222334", "password": "nguoi-khac-123"}))
        .send()
        .await
        .unwrap();
    let other = app.login("079203006666", "nguoi-khac-123").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let theirs = app.upload(&other, "don.pdf").await;
    let res = app.submit(&other, &json!({"procedure_code": "2.001584", "documents": [{"requirement": "D1", "document_id": theirs}, {"requirement": "D2", "document_id": d2}]})).await;
    assert_eq!(
        problem(res, 422, "validation_failed").await["errors"][0]["code"],
        "document_not_usable"
    );
    let res = app
        .get(&format!("/api/v1/documents/{d2}"))
        .header("authorization", bearer(&other))
        .send()
        .await
        .unwrap();
    problem(res, 404, "not_found").await;
    // The handling officer can read it; the demo handler (another division, not routed) cannot.
    assert_eq!(
        app.get(&format!("/api/v1/documents/{d2}"))
            .header("authorization", bearer(&officer))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let handler = app.token_of("demo.handler").await;
    problem(
        app.get(&format!("/api/v1/documents/{d2}"))
            .header("authorization", bearer(&handler))
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
}

async fn receipt_json_and_printable_html(app: TestApp) {
    let citizen = app.token_of(DEMO_CITIZEN_ID).await;
    let code = submit_reissue(&app, &citizen).await.code().to_owned();
    let path = format!("/api/v1/dossiers/{code}/receipt");
    problem(
        app.get(&path)
            .header("authorization", bearer(&citizen))
            .send()
            .await
            .unwrap(),
        409,
        "invalid_transition",
    )
    .await;
    let officer = app.token(Role::Officer).await;
    let received = app
        .act_ok(&officer, &code, &json!({"action": "receive"}))
        .await;
    let receipt: Value = app.get_json(&citizen, &path).await;
    assert_eq!(receipt["code"], code.as_str());
    assert_eq!(receipt["agency"]["code"], "000.00.20.H56");
    assert_eq!(receipt["applicant_id_number"], "********2345");
    assert_eq!(receipt["appointment_at"], received.body["appointment_at"]);
    assert_eq!(receipt["documents"].as_array().unwrap().len(), 2);
    assert_eq!(receipt["documents"][0]["form"], "electronic");
    assert!(receipt["received_by"].as_str().unwrap().contains("demo"));
    let res = app
        .get(&path)
        .header("authorization", bearer(&citizen))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = res.text().await.unwrap();
    for needle in [
        "Giấy tiếp nhận hồ sơ và hẹn trả kết quả",
        code.as_str(),
        "Nguyễn Văn Dân (demo)",
        "Thời gian trả kết quả",
        "Sở Văn hóa, Thể thao và Du lịch (demo)",
    ] {
        assert!(html.contains(needle), "{needle} missing");
    }
    let html2 = app
        .get(&format!("{path}?format=html"))
        .header("authorization", bearer(&citizen))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(html, html2);
    let res = app
        .get(&format!("{path}?format=xml"))
        .header("authorization", bearer(&citizen))
        .send()
        .await
        .unwrap();
    problem(res, 400, "invalid_query").await;
}

async fn tracking_is_public_minimal_and_throttled(app: TestApp) {
    let citizen = app.token_of(DEMO_CITIZEN_ID).await;
    let code = submit_reissue(&app, &citizen).await.code().to_owned();
    app.act_ok(
        &app.token(Role::Officer).await,
        &code,
        &json!({"action": "receive"}),
    )
    .await;
    let res = app
        .get(&format!(
            "/api/v1/tracking/{code}?id_number={DEMO_CITIZEN_ID}"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let tracked: Value = res.json().await.unwrap();
    let mut keys: Vec<&str> = tracked
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "appointment_at",
            "code",
            "current_stage",
            "received_at",
            "status",
            "status_label"
        ]
    );
    assert_eq!(tracked["status"], "received");
    assert!(
        tracked["current_stage"]
            .as_str()
            .unwrap()
            .contains("Sở Văn hóa")
    );
    let strip = |mut v: Value| {
        v.as_object_mut().unwrap().remove("request_id");
        v.as_object_mut().unwrap().remove("instance");
        v
    };
    let wrong_id = app
        .get(&format!("/api/v1/tracking/{code}?id_number=079203001234"))
        .send()
        .await
        .unwrap();
    let unknown = app
        .get(&format!(
            "/api/v1/tracking/000.00.20.H56-200101-0001?id_number={DEMO_CITIZEN_ID}"
        ))
        .send()
        .await
        .unwrap();
    let a = strip(problem(wrong_id, 404, "not_found").await);
    let b = strip(problem(unknown, 404, "not_found").await);
    assert_eq!(a, b, "a wrong ID number and an unknown code look the same");
    problem(
        app.get(&format!("/api/v1/tracking/{code}"))
            .send()
            .await
            .unwrap(),
        400,
        "invalid_query",
    )
    .await;
    let mut last = 0;
    for _ in 0..20 {
        last = app
            .get(&format!("/api/v1/tracking/{code}?id_number=000000000000"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
    }
    assert_eq!(last, 429, "throttled per address");
    let res = app
        .get(&format!(
            "/api/v1/tracking/{code}?id_number={DEMO_CITIZEN_ID}"
        ))
        .send()
        .await
        .unwrap();
    assert!(res.headers().contains_key("retry-after"));
    problem(res, 429, "too_many_requests").await;
}

async fn officer_lists_filter_and_sort_by_due(app: TestApp) {
    let citizen = app.token_of(DEMO_CITIZEN_ID).await;
    let officer = app.token(Role::Officer).await;
    let a = submit_reissue(&app, &citizen).await.code().to_owned();
    let b = submit_reissue(&app, &citizen).await.code().to_owned();
    let c = app
        .submit_ok(&officer, &counter_body("038190005555"))
        .await
        .code()
        .to_owned();
    to_review(&app, &a).await;
    app.act_ok(&officer, &b, &json!({"action": "receive"}))
        .await;
    crate::dossiers::make_overdue(&app, &b);
    let list = |query: &str| {
        let req = app
            .get(&format!("/api/v1/dossiers?{query}"))
            .header("authorization", bearer(&officer));
        let query = query.to_owned();
        async move {
            let res = req.send().await.unwrap();
            assert_eq!(res.status(), 200, "{query}");
            let page: Value = res.json().await.unwrap();
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["code"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    // Soonest due first; not yet received (no due date) last.
    assert_eq!(list("").await, [b.clone(), a.clone(), c.clone()]);
    assert_eq!(list("overdue=true").await, vec![b.clone()]);
    assert_eq!(list("status=in_review").await, vec![a.clone()]);
    assert_eq!(
        list("status=received,in_review").await,
        [b.clone(), a.clone()]
    );
    assert_eq!(list("channel=counter").await, vec![c.clone()]);
    assert_eq!(list("q=nguoi%20nop%20quay").await, vec![c.clone()]);
    assert_eq!(list(&format!("q={a}")).await, vec![a.clone()]);
    assert_eq!(
        list("due_within=60").await,
        vec![a.clone()],
        "overdue ones are not 'due within'"
    );
    assert_eq!(list("procedure_code=2.001584&per_page=2").await.len(), 2);
    let today = (chrono::Utc::now() + chrono::Duration::hours(7)).date_naive();
    assert_eq!(list(&format!("from={today}&to={today}")).await.len(), 3);
    assert!(list("from=2020-01-01&to=2020-01-31").await.is_empty());
    let handler = app.token_of("demo.handler").await;
    let mine: Value = app.get_json(&handler, "/api/v1/dossiers?assignee=me").await;
    assert_eq!(mine["items"][0]["code"], a.as_str());
    for bad in [
        "status=nope",
        "overdue=maybe",
        "due_within=100",
        "from=2026-13-01",
        "from=2026-02-01&to=2026-01-01",
        "assignee=someone",
    ] {
        let res = app
            .get(&format!("/api/v1/dossiers?{bad}"))
            .header("authorization", bearer(&officer))
            .send()
            .await
            .unwrap();
        problem(res, 400, "invalid_query").await;
    }
    let own: Value = app.get_json(&citizen, "/api/v1/dossiers").await;
    assert_eq!(own["total"], 2);
}

async fn calendar_endpoints_and_their_effect_on_due_dates(app: TestApp) {
    the_published_calendar_reads(&app).await;

    let admin = bearer(&app.token(Role::Admin).await);
    let officer = app.token(Role::Officer).await;
    let res = app
        .put("/api/v1/calendar/days/2027-02-08")
        .header("authorization", bearer(&officer))
        .json(&json!({"kind": "holiday", "name": "Tết"}))
        .send()
        .await
        .unwrap();
    problem(res, 403, "forbidden").await;
    let res = app
        .put("/api/v1/calendar/days/2027-02-06")
        .header("authorization", &admin)
        .json(&json!({"kind": "holiday", "name": "Tết"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(res, 422, "validation_failed").await["errors"][0]["code"],
        "holiday_on_weekend"
    );

    // A holiday on a dossier's due date pushes the next dossier's due date on.
    let citizen = app.token_of(DEMO_CITIZEN_ID).await;
    let first = submit_reissue(&app, &citizen).await.code().to_owned();
    let first = app
        .act_ok(&officer, &first, &json!({"action": "receive"}))
        .await;
    let due: chrono::DateTime<chrono::Utc> =
        first.body["due_at"].as_str().unwrap().parse().unwrap();
    let due_day = (due + chrono::Duration::hours(7)).date_naive();
    let res = app
        .put(&format!("/api/v1/calendar/days/{due_day}"))
        .header("authorization", &admin)
        .json(&json!({"kind": "holiday", "name": "Nghỉ đột xuất"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{due_day}");
    let second = submit_reissue(&app, &citizen).await.code().to_owned();
    let second = app
        .act_ok(&officer, &second, &json!({"action": "receive"}))
        .await;
    let later: chrono::DateTime<chrono::Utc> =
        second.body["due_at"].as_str().unwrap().parse().unwrap();
    assert!(later > due, "{later} after {due}");
    let res = app
        .delete(&format!("/api/v1/calendar/days/{due_day}"))
        .header("authorization", &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    problem(
        app.delete(&format!("/api/v1/calendar/days/{due_day}"))
            .header("authorization", &admin)
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
}

/// The 2026 calendar as published: holidays, make-up days, the count of working days.
async fn the_published_calendar_reads(app: &TestApp) {
    // READ-MARK
    let year: Value = app
        .get("/api/v1/calendar/days?year=2026")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let days = year["days"].as_array().unwrap();
    assert!(
        days.iter()
            .any(|d| d["date"] == "2026-02-17" && d["kind"] == "holiday")
    );
    assert!(
        days.iter()
            .any(|d| d["date"] == "2026-01-10" && d["kind"] == "working")
    );
    // 261 weekdays, 13 weekday holidays, 2 make-up Saturdays.
    assert_eq!(year["working_days"], 250);
    let tet: Value = app
        .get("/api/v1/calendar/days/2026-02-17")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (tet["working"].clone(), tet["day_type"].clone()),
        (json!(false), json!("holiday"))
    );
    assert!(tet["name"].as_str().unwrap().contains("Tết"));
    let makeup: Value = app
        .get("/api/v1/calendar/days/2026-01-10")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (makeup["working"].clone(), makeup["day_type"].clone()),
        (json!(true), json!("make_up_working"))
    );
    problem(
        app.get("/api/v1/calendar/days/2026-02-30")
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
    problem(
        app.get("/api/v1/calendar/days?year=1800")
            .send()
            .await
            .unwrap(),
        400,
        "invalid_query",
    )
    .await;
}

async fn rating_rules(app: TestApp) {
    let citizen = app.token_of(DEMO_CITIZEN_ID).await;
    let code = submit_reissue(&app, &citizen).await.code().to_owned();
    let rate = |token: &str, body: Value| {
        let req = app
            .post(&format!("/api/v1/dossiers/{code}/rating"))
            .header("authorization", bearer(token))
            .json(&body);
        async move { req.send().await.unwrap() }
    };
    problem(
        rate(&citizen, json!({"score": "satisfied"})).await,
        409,
        "invalid_transition",
    )
    .await;
    let officer = app.token(Role::Officer).await;
    app.act_ok(
        &officer,
        &code,
        &json!({"action": "refuse", "note": "Không thuộc thẩm quyền"}),
    )
    .await;
    problem(
        rate(&officer, json!({"score": "satisfied"})).await,
        403,
        "forbidden",
    )
    .await;
    problem(
        rate(&citizen, json!({"score": "great"})).await,
        422,
        "validation_failed",
    )
    .await;
    problem(
        rate(
            &citizen,
            json!({"score": "unsatisfied", "comment": "x".repeat(1001)}),
        )
        .await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(
        rate(
            &citizen,
            json!({"score": "unsatisfied", "comment": "Từ chối không rõ lý do"})
        )
        .await
        .status(),
        201
    );
    let shown = app.dossier(&citizen, &code).await;
    assert_eq!(shown.body["rating"]["score"], "unsatisfied");
}

/// Upload limits run with a small cap so the test stays quick.
#[actix_web::test]
async fn uploads_are_sniffed_limited_and_guarded() {
    for backend in [
        motcua_persistence::Backend::Sqlite,
        motcua_persistence::Backend::Postgres,
    ] {
        let Some(app) = TestApp::start_with(backend, |s| s.uploads.max_file_bytes = 4096).await
        else {
            continue;
        };
        let citizen = app.token_of(DEMO_CITIZEN_ID).await;
        problem(
            app.upload_raw(&citizen, &[b'%'; 5000], "big.pdf", &[])
                .await,
            413,
            "payload_too_large",
        )
        .await;
        problem(
            app.upload_raw(&citizen, b"just some text, not a PDF", "fake.pdf", &[])
                .await,
            415,
            "unsupported_media_type",
        )
        .await;
        problem(
            app.upload_raw(&citizen, b"", "empty.pdf", &[]).await,
            422,
            "validation_failed",
        )
        .await;
        let res = app
            .upload_raw(&citizen, PNG, "anh-chup.pdf", &[("title", "Ảnh chụp")])
            .await;
        assert_eq!(res.status(), 201);
        let png: Value = res.json().await.unwrap();
        assert_eq!(png["content_type"], "image/png", "by content, not by name");
        assert_eq!(png["title"], "Ảnh chụp");
        let res = app.upload_raw(&citizen, PDF, "don.pdf", &[]).await;
        let pdf: Value = res.json().await.unwrap();
        assert_eq!(
            pdf["sha256"],
            "a8ea9f63d81e0927b1935af65c5c4ae12be654d6d1d57907772491a65a562aa5"
        );
        assert_eq!(pdf["sha256"].as_str().unwrap().len(), 64);
        assert_eq!(pdf["size_bytes"], PDF.len());
        problem(
            app.upload_raw(&citizen, PDF, "don.pdf", &[("kind", "result")])
                .await,
            403,
            "forbidden",
        )
        .await;
        problem(
            app.upload_raw(&citizen, PDF, "don.pdf", &[("colour", "blue")])
                .await,
            422,
            "validation_failed",
        )
        .await;
        let form = reqwest::multipart::Form::new().text("title", "no file");
        let res = app
            .post("/api/v1/documents")
            .header("authorization", bearer(&citizen))
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(
            problem(res, 422, "validation_failed").await["errors"][0]["field"],
            "file"
        );
        let id = pdf["id"].as_str().unwrap();
        let res = app
            .get(&format!("/api/v1/documents/{id}"))
            .header("authorization", bearer(&citizen))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert!(
            res.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .contains("don.pdf")
        );
        let officer = app.token(Role::Officer).await;
        problem(
            app.get(&format!("/api/v1/documents/{id}"))
                .header("authorization", bearer(&officer))
                .send()
                .await
                .unwrap(),
            404,
            "not_found",
        )
        .await;
        problem(
            app.get("/api/v1/documents/not-a-uuid")
                .header("authorization", bearer(&citizen))
                .send()
                .await
                .unwrap(),
            404,
            "not_found",
        )
        .await;
        problem(
            app.upload_raw("nope", PDF, "x.pdf", &[]).await,
            401,
            "invalid_token",
        )
        .await;
    }
}
