//! Dossier flows end to end: submission to returned result, supplements,
//! late returns, fees, transfers.

use motcua::seed::DEMO_CITIZEN_ID;
use motcua_domain::Role;
use motcua_tests::{PDF, TestApp, bearer, on_both_backends, problem};
use serde_json::{Value, json};

on_both_backends!(
    citizen_online_to_returned_result,
    supplement_stops_and_restarts_the_clock,
    supplement_at_reception_returns_to_submitted,
    late_return_needs_an_apology_first,
    unpaid_fees_block_the_return,
    transfer_between_agencies_keeps_both_in_the_loop,
    counter_submission_for_a_new_applicant,
    an_organization_files_by_tax_code,
);

/// 2.001584: reissue of a printing licence, full online, no fee, D2 reusable.
pub async fn submit_reissue(app: &TestApp, citizen: &str) -> motcua_tests::Shown {
    let d1 = app.upload(citizen, "don-de-nghi.pdf").await;
    let d2 = app.upload(citizen, "giay-phep-cu.pdf").await;
    app.submit_ok(
        citizen,
        &json!({"procedure_code": "2.001584", "documents": [
            {"requirement": "D1", "document_id": d1},
            {"requirement": "D2", "document_id": d2}
        ]}),
    )
    .await
}

/// Drives a fresh dossier to `in_review`, assigned to the handling division's officer.
pub async fn to_review(app: &TestApp, code: &str) {
    let officer = app.token(Role::Officer).await;
    app.act_ok(&officer, code, &json!({"action": "receive"}))
        .await;
    let unit = app.agency_id("000.01.20.H56").await;
    let handler = app.user_id("demo.handler").await;
    app.act_ok(
        &officer,
        code,
        &json!({"action": "assign", "unit_id": unit, "assignee_id": handler}),
    )
    .await;
}

async fn citizen_online_to_returned_result(app: TestApp) {
    let citizen = app.token_of(DEMO_CITIZEN_ID).await;
    let submitted = submit_reissue(&app, &citizen).await;
    let code = submitted.code().to_owned();
    let today = chrono::Utc::now() + chrono::Duration::hours(7);
    assert_eq!(
        code,
        format!("000.00.20.H56-{}-0001", today.format("%y%m%d"))
    );
    assert_eq!(submitted.etag, "\"v1\"");
    assert_eq!(submitted.body["status"], "submitted");
    assert_eq!(submitted.body["portal_status"], 1);
    assert_eq!(submitted.body["channel"], "online");
    assert_eq!(submitted.body["allowed_actions"], json!(["withdraw"]));
    assert!(submitted.body["due_at"].is_null());

    let officer = app.token(Role::Officer).await;
    let received = app
        .act_ok(&officer, &code, &json!({"action": "receive"}))
        .await;
    assert_eq!(received.body["status"], "received");
    assert_eq!(received.etag, "\"v2\"");
    assert!(received.body["due_at"].is_string());
    assert_eq!(received.body["due_at"], received.body["appointment_at"]);
    assert_eq!(received.body["progress"], "within_time");
    // Received documents are now in the citizen's store.
    assert_eq!(
        app.get_json(&citizen, "/api/v1/me/documents").await["total"],
        2
    );

    let unit = app.agency_id("000.01.20.H56").await;
    let handler_id = app.user_id("demo.handler").await;
    let handler = app.token_of("demo.handler").await;
    // Before routing, the division cannot see it.
    let res = app
        .get(&format!("/api/v1/dossiers/{code}"))
        .header("authorization", bearer(&handler))
        .send()
        .await
        .unwrap();
    problem(res, 404, "not_found").await;
    let assigned = app
        .act_ok(
            &officer,
            &code,
            &json!({"action": "assign", "unit_id": unit, "assignee_id": handler_id}),
        )
        .await;
    assert_eq!(assigned.body["status"], "in_review");
    assert_eq!(assigned.body["assignee_id"], handler_id);
    app.act_ok(
        &handler,
        &code,
        &json!({"action": "propose", "note": "Đủ điều kiện cấp lại"}),
    )
    .await;
    let leader = app.token(Role::Leader).await;
    app.act_ok(&leader, &code, &json!({"action": "approve"}))
        .await;
    let res = app
        .upload_to(
            &handler,
            &code,
            PDF,
            &[
                ("kind", "result"),
                ("title", "Giấy phép hoạt động in (cấp lại)"),
            ],
        )
        .await;
    assert_eq!(res.status(), 201);
    let attached: Value = res.json().await.unwrap();
    let result_id = attached["document"]["id"].as_str().unwrap().to_owned();
    let issued = app
        .act_ok(&handler, &code, &json!({"action": "issue_result"}))
        .await;
    assert_eq!(issued.body["status"], "result_ready");
    assert_eq!(issued.body["portal_status"], 9);
    assert!(["early", "on_time"].contains(&issued.body["outcome"].as_str().unwrap()));
    the_result_is_the_applicants_once_returned(&app, (&citizen, &officer), &code, &result_id).await;

    rated_once(&app, &citizen, &code).await;
    the_trail_of_a_returned_dossier(&app, &citizen, &code, handler_id).await;
}

/// The result document is the applicant's once the dossier is returned, and joins its store.
async fn the_result_is_the_applicants_once_returned(
    app: &TestApp,
    (citizen, officer): (&str, &str),
    code: &str,
    result_id: &str,
) {
    // Not the citizen's until returned.
    let res = app
        .get(&format!("/api/v1/documents/{result_id}"))
        .header("authorization", bearer(citizen))
        .send()
        .await
        .unwrap();
    problem(res, 404, "not_found").await;
    let returned = app
        .act_ok(officer, code, &json!({"action": "return"}))
        .await;
    assert_eq!(returned.body["status"], "returned");
    assert_eq!(returned.body["portal_status"], 10);
    assert!(returned.body["finished_at"].is_string());
    assert_eq!(returned.body["allowed_actions"], json!([]));
    let res = app
        .get(&format!("/api/v1/documents/{result_id}"))
        .header("authorization", bearer(citizen))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    assert_eq!(res.bytes().await.unwrap().as_ref(), PDF);
    assert_eq!(
        app.get_json(citizen, "/api/v1/me/documents").await["total"],
        3
    );
}

/// The trail the applicant reads: every step, who took it, what it carried.
async fn the_trail_of_a_returned_dossier(
    app: &TestApp,
    citizen: &str,
    code: &str,
    handler_id: i64,
) {
    let res = app
        .get(&format!("/api/v1/dossiers/{code}/history"))
        .header("authorization", bearer(citizen))
        .send()
        .await
        .unwrap();
    let history: Value = res.json().await.unwrap();
    let steps: Vec<(String, String, String)> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["to_status"].as_str().unwrap().to_owned(),
                e["actor_role"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let want = [
        ("submit", "submitted", "citizen"),
        ("receive", "received", "officer"),
        ("assign", "in_review", "officer"),
        ("propose", "pending_approval", "officer"),
        ("approve", "approved", "leader"),
        ("add_document", "approved", "officer"),
        ("issue_result", "result_ready", "officer"),
        ("return", "returned", "officer"),
    ];
    assert_eq!(
        steps,
        want.map(|(a, b, c)| (a.to_owned(), b.to_owned(), c.to_owned()))
    );
    assert_eq!(history["items"][2]["data"]["assignee_id"], handler_id);
    assert_eq!(history["items"][3]["note"], "Đủ điều kiện cấp lại");
    assert!(
        history["items"][1]["actor_name"]
            .as_str()
            .unwrap()
            .contains("demo")
    );
}

/// The applicant rates a returned dossier once.
async fn rated_once(app: &TestApp, citizen: &str, code: &str) {
    let res = app
        .post(&format!("/api/v1/dossiers/{code}/rating"))
        .header("authorization", bearer(citizen))
        .json(&json!({"score": "satisfied", "comment": "Nhanh gọn"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let res = app
        .post(&format!("/api/v1/dossiers/{code}/rating"))
        .header("authorization", bearer(citizen))
        .json(&json!({"score": "normal"}))
        .send()
        .await
        .unwrap();
    problem(res, 409, "already_rated").await;
}

async fn supplement_stops_and_restarts_the_clock(app: TestApp) {
    let citizen = app.token_of(DEMO_CITIZEN_ID).await;
    let code = submit_reissue(&app, &citizen).await.code().to_owned();
    to_review(&app, &code).await;
    let handler = app.token_of("demo.handler").await;
    let before = app.dossier(&handler, &code).await;
    let due_before: chrono::DateTime<chrono::Utc> =
        before.body["due_at"].as_str().unwrap().parse().unwrap();
    let deadline = (chrono::Utc::now() + chrono::Duration::days(20)).date_naive();
    let res = app
        .act(&handler, &code, &json!({"action": "request_supplement"}))
        .await;
    let body = problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "missing");
    let paused = app
        .act_ok(&handler, &code, &json!({"action": "request_supplement", "missing": ["Bản sao giấy phép có chứng thực"], "deadline": deadline, "note": "Bản sao chưa chứng thực"}))
        .await;
    assert_eq!(paused.body["status"], "supplement_requested");
    assert_eq!(paused.body["portal_status"], 5);
    assert_eq!(paused.body["supplement_count"], 1);
    assert!(paused.body["paused_at"].is_string());
    let seen = app.dossier(&citizen, &code).await;
    assert_eq!(
        seen.body["supplement_request"]["missing"],
        json!(["Bản sao giấy phép có chứng thực"])
    );
    assert_eq!(seen.body["supplement_request"]["deadline"], json!(deadline));
    assert_eq!(
        seen.body["allowed_actions"],
        json!(["supplement", "withdraw"])
    );
    // Nothing added yet.
    let res = app
        .act(&citizen, &code, &json!({"action": "supplement"}))
        .await;
    problem(res, 422, "validation_failed").await;
    let res = app
        .upload_to(
            &citizen,
            &code,
            PDF,
            &[("requirement", "D2"), ("title", "Bản sao có chứng thực")],
        )
        .await;
    assert_eq!(res.status(), 201);
    let resumed = app
        .act_ok(&citizen, &code, &json!({"action": "supplement"}))
        .await;
    assert_eq!(resumed.body["status"], "in_review");
    assert!(resumed.body["paused_at"].is_null());
    let due_after: chrono::DateTime<chrono::Utc> =
        resumed.body["due_at"].as_str().unwrap().parse().unwrap();
    assert!(due_after >= due_before, "{due_after} < {due_before}");
    let history: Value = app
        .get_json(&citizen, &format!("/api/v1/dossiers/{code}/history"))
        .await;
    let supplement = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "request_supplement")
        .unwrap();
    assert_eq!(
        supplement["data"]["missing"],
        json!(["Bản sao giấy phép có chứng thực"])
    );
    let docs = resumed.body["documents"].as_array().unwrap();
    assert!(
        docs.iter()
            .any(|d| d["stage"] == "supplement" && d["requirement"] == "D2")
    );
    // The supplied copy joins the citizen's store like the received ones.
    let store: Value = app.get_json(&citizen, "/api/v1/me/documents").await;
    assert_eq!(store["total"], 3, "{store}");
}

async fn supplement_at_reception_returns_to_submitted(app: TestApp) {
    let citizen = app.token_of(DEMO_CITIZEN_ID).await;
    let code = submit_reissue(&app, &citizen).await.code().to_owned();
    let officer = app.token(Role::Officer).await;
    let asked = app
        .act_ok(
            &officer,
            &code,
            &json!({"action": "request_supplement", "missing": ["Tờ khai ký tên"]}),
        )
        .await;
    assert_eq!(asked.body["supplement_from"], "submitted");
    assert_eq!(
        asked.body["supplement_count"], 0,
        "not counted: the dossier was not received yet"
    );
    let back = app
        .act_ok(
            &citizen,
            &code,
            &json!({"action": "supplement", "note": "Đã ký bổ sung tờ khai"}),
        )
        .await;
    assert_eq!(back.body["status"], "submitted");
    assert!(back.body["due_at"].is_null());
}

/// Moves a dossier's due moment into the past, as if it had been received long ago.
pub fn make_overdue(app: &TestApp, code: &str) {
    use diesel::prelude::*;
    use motcua_persistence::schema::dossiers;
    let past = (chrono::Utc::now() - chrono::Duration::days(10)).naive_utc();
    let mut conn = app.pool.get().unwrap();
    diesel::update(dossiers::table.filter(dossiers::code.eq(code)))
        .set((
            dossiers::due_at.eq(Some(past)),
            dossiers::appointment_at.eq(Some(past)),
        ))
        .execute(&mut *conn)
        .unwrap();
}

async fn late_return_needs_an_apology_first(app: TestApp) {
    let citizen = app.token_of(DEMO_CITIZEN_ID).await;
    let code = submit_reissue(&app, &citizen).await.code().to_owned();
    to_review(&app, &code).await;
    let handler = app.token_of("demo.handler").await;
    make_overdue(&app, &code);
    let overdue: Value = app
        .get_json(&handler, "/api/v1/dossiers?overdue=true")
        .await;
    assert_eq!(overdue["items"][0]["code"], code.as_str());
    assert_eq!(overdue["items"][0]["progress"], "overdue");
    app.act_ok(&handler, &code, &json!({"action": "propose"}))
        .await;
    let leader = app.token(Role::Leader).await;
    app.act_ok(&leader, &code, &json!({"action": "approve"}))
        .await;
    let ready = app
        .act_ok(
            &handler,
            &code,
            &json!({"action": "issue_result", "paper_result": true}),
        )
        .await;
    assert_eq!(ready.body["outcome"], "late");
    let officer = app.token(Role::Officer).await;
    let res = app.act(&officer, &code, &json!({"action": "return"})).await;
    problem(res, 409, "apology_required").await;
    let due_before = ready.body["due_at"].clone();
    let next_week =
        (chrono::Utc::now() + chrono::Duration::hours(7) + chrono::Duration::days(7)).date_naive();
    let next_working = {
        let day: Value = app
            .get(&format!("/api/v1/calendar/days/{next_week}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if day["working"] == true {
            next_week
        } else {
            next_week + chrono::Duration::days(2)
        }
    };
    let res = app
        .act(
            &officer,
            &code,
            &json!({"action": "apology", "new_appointment_date": next_working}),
        )
        .await;
    let body = problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["code"], "reason_required");
    let apologised = app
        .act_ok(&officer, &code, &json!({"action": "apology", "note": "Chờ ý kiến cơ quan phối hợp", "new_appointment_date": next_working}))
        .await;
    assert_eq!(
        apologised.body["due_at"], due_before,
        "the KPI due moment stays"
    );
    assert_ne!(apologised.body["appointment_at"], due_before);
    assert_eq!(
        apologised.body["apologies"][0]["new_appointment_date"],
        json!(next_working)
    );
    let returned = app
        .act_ok(&officer, &code, &json!({"action": "return"}))
        .await;
    assert_eq!(returned.body["status"], "returned");
    assert_eq!(
        returned.body["outcome"], "late",
        "an apology does not change the KPI"
    );
    // The tracking page shows the new appointment.
    let res = app
        .get(&format!(
            "/api/v1/tracking/{code}?id_number={DEMO_CITIZEN_ID}"
        ))
        .send()
        .await
        .unwrap();
    let tracked: Value = res.json().await.unwrap();
    assert_eq!(tracked["appointment_at"], apologised.body["appointment_at"]);
}

async fn unpaid_fees_block_the_return(app: TestApp) {
    let citizen = app.token_of(DEMO_CITIZEN_ID).await;
    let doc = app.upload(&citizen, "don.pdf").await;
    let submitted = app.submit_ok(&citizen, &json!({"procedure_code": "1.004610", "documents": [{"requirement": "D1", "document_id": doc}]})).await;
    assert!(submitted.body["fees_due_vnd"].as_i64().unwrap() > 0);
    assert_eq!(submitted.body["fees"].as_array().unwrap().len(), 1);
    assert_eq!(
        submitted.body["portal_status"], 6,
        "financial obligation requested"
    );
    let code = submitted.code().to_owned();
    to_review(&app, &code).await;
    let handler = app.token_of("demo.handler").await;
    app.act_ok(&handler, &code, &json!({"action": "propose"}))
        .await;
    app.act_ok(
        &app.token(Role::Leader).await,
        &code,
        &json!({"action": "approve"}),
    )
    .await;
    app.act_ok(
        &handler,
        &code,
        &json!({"action": "issue_result", "paper_result": true}),
    )
    .await;
    let res = app
        .act(
            &app.token(Role::Officer).await,
            &code,
            &json!({"action": "return"}),
        )
        .await;
    problem(res, 409, "fees_unpaid").await;
}

async fn transfer_between_agencies_keeps_both_in_the_loop(app: TestApp) {
    let citizen = app.token_of(DEMO_CITIZEN_ID).await;
    let code = submit_reissue(&app, &citizen).await.code().to_owned();
    to_review(&app, &code).await;
    // An officer of the commune agency, the other party of this one-stop chain.
    let admin = bearer(&app.token(Role::Admin).await);
    let commune = app.agency_id("000.00.31.H56").await;
    let res = app
        .post("/api/v1/users")
        .header("authorization", &admin)
        .json(&json!({"username": "canbo.xa", "password": "mat-khau-can-bo-xa", "role": "officer", "agency_id": commune, "full_name": "Cán bộ xã"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let commune_officer = app.login("canbo.xa", "mat-khau-can-bo-xa").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .get(&format!("/api/v1/dossiers/{code}"))
        .header("authorization", bearer(&commune_officer))
        .send()
        .await
        .unwrap();
    problem(res, 404, "not_found").await;
    let handler = app.token_of("demo.handler").await;
    let moved = app.act_ok(&handler, &code, &json!({"action": "transfer", "target_agency_id": commune, "note": "Xin ý kiến UBND phường"})).await;
    assert_eq!(moved.body["handling_agency"]["id"], commune);
    assert_eq!(moved.body["agency"]["code"], "000.00.20.H56");
    // Both agencies see it; the commune handles it now, the department no longer does.
    app.dossier(&commune_officer, &code).await;
    let officer = app.token(Role::Officer).await;
    let seen = app.dossier(&officer, &code).await;
    assert!(
        !seen.body["allowed_actions"]
            .as_array()
            .unwrap()
            .contains(&json!("propose"))
    );
    let res = app
        .act(&handler, &code, &json!({"action": "propose"}))
        .await;
    problem(res, 403, "forbidden").await;
    app.act_ok(&commune_officer, &code, &json!({"action": "propose"}))
        .await;
    let history: Value = app
        .get_json(
            &commune_officer,
            &format!("/api/v1/dossiers/{code}/history"),
        )
        .await;
    let transfer = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "transfer")
        .unwrap();
    assert_eq!(transfer["data"]["to_agency_id"], commune);
    let listed: Value = app.get_json(&commune_officer, "/api/v1/dossiers").await;
    assert_eq!(listed["total"], 1);
}

async fn counter_submission_for_a_new_applicant(app: TestApp) {
    let officer = app.token(Role::Officer).await;
    let body = json!({
        "procedure_code": "2.001584",
        "applicant": {"id_number": "038190001234", "full_name": "Trần Văn Bình", "phone": "0988 777 666"},
        "documents": [{"requirement": "D1", "paper": true}, {"requirement": "D2", "paper": true}],
    });
    let submitted = app.submit_ok(&officer, &body).await;
    assert_eq!(submitted.body["channel"], "counter");
    assert_eq!(submitted.body["applicant"]["full_name"], "Trần Văn Bình");
    let code = submitted.code().to_owned();
    app.act_ok(&officer, &code, &json!({"action": "receive"}))
        .await;
    // The applicant registers afterwards and finds the dossier filed for them.
    let res = app
        .post("/api/v1/auth/register")
        .json(&json!({"id_number": "038190001234", "full_name": "Trần Văn Bình", "phone": "0988777666", "password": "binh-mat-khau-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let binh_id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let binh = app.login("038190001234", "binh-mat-khau-1").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    // Only once the officer has checked the card (docs/identity.md).
    let mine: Value = app.get_json(&binh, "/api/v1/dossiers").await;
    assert_eq!(mine["total"], 0);
    let res = app
        .post(&format!("/api/v1/users/{binh_id}/verify-identity"))
        .header("authorization", bearer(&officer))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let mine: Value = app.get_json(&binh, "/api/v1/dossiers").await;
    assert_eq!(mine["total"], 1);
    assert_eq!(mine["items"][0]["code"], code.as_str());
    // Paper documents are on the dossier but not digitized; a scan digitizes one.
    let shown = app.dossier(&officer, &code).await;
    assert!(
        shown.body["documents"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["paper"] == true)
    );
    let res = app
        .upload_to(
            &officer,
            &code,
            PDF,
            &[("requirement", "D1"), ("title", "Bản quét đơn")],
        )
        .await;
    assert_eq!(res.status(), 201);
    let res = app.upload_to(&officer, &code, PDF, &[]).await;
    let body = problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "requirement");
}

/// A business files at the counter under its tax code, typed any way; it is
/// one applicant, found again by the canonical code, and tracks with it.
async fn an_organization_files_by_tax_code(app: TestApp) {
    let officer = app.token(Role::Officer).await;
    let filing = |tax_code: &str| {
        json!({
            "procedure_code": "2.001584",
            "applicant": {"tax_code": tax_code, "full_name": "Công ty TNHH In Một Cửa", "phone": "0243 123 4567"},
            "documents": [{"requirement": "D1", "paper": true}, {"requirement": "D2", "paper": true}],
        })
    };
    let first = app.submit_ok(&officer, &filing("0100233488")).await;
    let applicant = &first.body["applicant"];
    assert_eq!(applicant["kind"], "organization");
    assert_eq!(applicant["tax_code"], "0100233488");
    assert_eq!(applicant["id_number"], Value::Null);
    let second = app.submit_ok(&officer, &filing("01.00.233.488")).await;
    assert_eq!(second.body["applicant"]["id"], applicant["id"]);

    let code = first.code().to_owned();
    app.act_ok(&officer, &code, &json!({"action": "receive"}))
        .await;
    let receipt = app
        .get_json(&officer, &format!("/api/v1/dossiers/{code}/receipt"))
        .await;
    assert_eq!(receipt["applicant_tax_code"], "0100233488");
    assert_eq!(receipt["applicant_id_number"], Value::Null);
    // A tax code is public: tracking also wants the PIN printed on the receipt.
    let pin = receipt["tracking_pin"].as_str().unwrap().to_owned();
    assert_eq!(pin.len(), 6);
    let track = |query: String| app.get(&format!("/api/v1/tracking/{code}?{query}")).send();
    let res = track(format!("id_number=0100233488&pin={pin}"))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = track(format!("id_number=0100-233-488&pin={pin}"))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let wrong_pin = format!("{:06}", (pin.parse::<u32>().unwrap() + 1) % 1_000_000);
    for query in [
        "id_number=0100233488".to_owned(),
        format!("id_number=0100233488&pin={wrong_pin}"),
        format!("id_number=0100233480&pin={pin}"),
    ] {
        problem(track(query).await.unwrap(), 404, "not_found").await;
    }
    let html = app
        .get(&format!("/api/v1/dossiers/{code}/receipt"))
        .header("authorization", bearer(&officer))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("mã số thuế 0100233488"), "{html}");
    assert!(
        html.contains(&format!("mã tra cứu <strong>{pin}</strong>")),
        "{html}"
    );

    // A wrong check digit, both identities, or neither: refused, nothing filed.
    let cases = [
        (
            json!({"tax_code": "0100233480", "full_name": "X"}),
            "applicant.tax_code",
            "invalid_tax_code",
        ),
        (
            json!({"tax_code": "0100233488", "id_number": "038190001234", "full_name": "X"}),
            "applicant.tax_code",
            "person_or_organization",
        ),
        (json!({"full_name": "X"}), "applicant.id_number", "required"),
    ];
    for (applicant, field, rule) in cases {
        let mut body = filing("");
        body["applicant"] = applicant;
        let res = app.submit(&officer, &body).await;
        let problem_body = problem(res, 422, "validation_failed").await;
        assert_eq!(problem_body["errors"][0]["field"], field, "{problem_body}");
        assert_eq!(problem_body["errors"][0]["code"], rule, "{problem_body}");
    }
    let listed = app
        .get_json(&officer, "/api/v1/dossiers?q=0100233488")
        .await;
    assert_eq!(listed["total"], 2, "{listed}");
}
