//! Receiving at any public service centre (Decree 118/2025): an officer of a
//! receiving point takes in a dossier for the department's procedure; the
//! department handles it, both agencies are on its trail, the KPIs count it
//! for the department, and the receipt names both.

use motcua_domain::Role;
use motcua_tests::{TestApp, bearer, on_both_backends, problem};
use serde_json::{Value, json};

on_both_backends!(
    a_commune_counter_receives_for_the_department,
    admins_choose_the_receiving_points
);

pub(crate) const DEPARTMENT: &str = "000.00.20.H56";
pub(crate) const COMMUNE: &str = "000.00.31.H56";
const DIVISION: &str = "000.02.20.H56";

/// An officer account at `agency_code`, signed in: its access token.
pub(crate) async fn officer_at(
    app: &TestApp,
    admin: &str,
    username: &str,
    agency_code: &str,
) -> String {
    let agency_id = app.agency_id(agency_code).await;
    let res = app
        .post("/api/v1/users")
        .header("authorization", bearer(admin))
        .json(
            &json!({"username": username, "password": "mat-khau-tiep-nhan-1", "role": "officer",
                      "agency_id": agency_id, "full_name": "Cán bộ tiếp nhận xã"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "officer created");
    app.login(username, "mat-khau-tiep-nhan-1").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

pub(crate) fn filing() -> Value {
    json!({
        "procedure_code": "2.001584",
        "applicant": {"id_number": "001203004005", "full_name": "Tôn Nữ Thị Phương Thảo",
                      "phone": "0912345678"},
        "documents": [{"requirement": "D1", "paper": true}, {"requirement": "D2", "paper": true}],
    })
}

async fn agency(app: &TestApp, token: &str, code: &str) -> Value {
    let id = app.agency_id(code).await;
    app.get_json(token, &format!("/api/v1/agencies/{id}")).await
}

async fn a_commune_counter_receives_for_the_department(app: TestApp) {
    let admin = app.token(Role::Admin).await;
    assert_eq!(agency(&app, &admin, COMMUNE).await["receiving_point"], true);
    assert_eq!(
        agency(&app, &admin, DEPARTMENT).await["receiving_point"],
        false
    );
    let commune_officer = officer_at(&app, &admin, "tiepnhan.xa", COMMUNE).await;
    let department_officer = app.token(Role::Officer).await;

    let filed = app.submit_ok(&commune_officer, &filing()).await;
    let code = filed.code().to_owned();
    let shown = &filed.body;
    assert_eq!(
        shown["agency"]["code"], DEPARTMENT,
        "the competent agency owns it"
    );
    assert_eq!(shown["handling_agency"]["code"], DEPARTMENT);
    assert_eq!(shown["received_at_agency"]["code"], COMMUNE);
    assert!(
        code.starts_with(DEPARTMENT),
        "numbered by the department: {code}"
    );

    // The counter that took it in receives it, with the appointment.
    let received = app
        .act_ok(&commune_officer, &code, &json!({"action": "receive"}))
        .await;
    assert_eq!(received.body["status"], "received");
    assert!(received.body["due_at"].is_string());

    // Both agencies see it, in the dossier and in their lists.
    for token in [&commune_officer, &department_officer] {
        let d = app
            .get_json(token, &format!("/api/v1/dossiers/{code}"))
            .await;
        assert_eq!(d["received_at_agency"]["code"], COMMUNE);
        let list = app.get_json(token, "/api/v1/dossiers").await;
        let codes: Vec<&str> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["code"].as_str().unwrap())
            .collect();
        assert!(codes.contains(&code.as_str()), "{codes:?}");
    }
    let commune_id = app.agency_id(COMMUNE).await;
    let by_point = app
        .get_json(&admin, &format!("/api/v1/dossiers?agency_id={commune_id}"))
        .await;
    assert_eq!(by_point["items"][0]["code"], code.as_str());

    // Handling is the department's: the counter cannot assign it, the department can.
    let res = app
        .act(&commune_officer, &code, &json!({"action": "assign"}))
        .await;
    assert_eq!(res.status(), 403, "the receiving point does not handle it");
    let assign = json!({"action": "assign", "assignee_id": app.user_id("demo.officer").await});
    let assigned = app.act_ok(&department_officer, &code, &assign).await;
    assert_eq!(assigned.body["status"], "in_review");

    // The trail shows both agencies' officers.
    let history = app
        .get_json(&admin, &format!("/api/v1/dossiers/{code}/history"))
        .await;
    let agencies: Vec<i64> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["actor_agency_id"].as_i64())
        .collect();
    let department_id = app.agency_id(DEPARTMENT).await;
    assert!(agencies.contains(&commune_id), "{history}");
    assert!(agencies.contains(&department_id), "{history}");

    // The KPIs count it for the department, not the commune.
    let received_by = |id: i64| format!("/api/v1/kpi/summary?agency_id={id}");
    assert_eq!(
        app.get_json(&admin, &received_by(department_id)).await["dossiers"]["received"],
        1
    );
    assert_eq!(
        app.get_json(&admin, &received_by(commune_id)).await["dossiers"]["received"],
        0
    );

    receipt_names_both(&app, &commune_officer, &code).await;
}

/// The receipt, as data and as the printed page, names both agencies.
async fn receipt_names_both(app: &TestApp, commune_officer: &str, code: &str) {
    let receipt = app
        .get_json(commune_officer, &format!("/api/v1/dossiers/{code}/receipt"))
        .await;
    assert_eq!(receipt["agency"]["code"], DEPARTMENT);
    assert_eq!(receipt["received_at_agency"]["code"], COMMUNE);
    let html = app
        .get(&format!("/api/v1/dossiers/{code}/receipt"))
        .header("authorization", bearer(commune_officer))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Sở Văn hóa, Thể thao và Du lịch (demo)"),
        "{html}"
    );
    assert!(
        html.contains("Nơi tiếp nhận hồ sơ: <strong>Ủy ban nhân dân phường Một Cửa (demo)"),
        "{html}"
    );
}

async fn admins_choose_the_receiving_points(app: TestApp) {
    let admin = app.token(Role::Admin).await;
    let division_officer = officer_at(&app, &admin, "tiepnhan.phong", DIVISION).await;
    // Not a receiving point: another agency's procedure is refused.
    let res = app.submit(&division_officer, &filing()).await;
    problem(res, 403, "forbidden").await;

    let division = app.agency_id(DIVISION).await;
    let patch = |token: String, body: Value, id: i64| {
        let app = &app;
        async move {
            app.patch(&format!("/api/v1/agencies/{id}"))
                .header("authorization", bearer(&token))
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let officer = app.token(Role::Officer).await;
    problem(
        patch(officer, json!({"receiving_point": true}), division).await,
        403,
        "forbidden",
    )
    .await;
    problem(
        patch(admin.clone(), json!({"receiving_point": true}), 987_654).await,
        404,
        "not_found",
    )
    .await;
    let res = patch(admin.clone(), json!({"receiving": true}), division).await;
    assert!(res.status().is_client_error(), "unknown field refused");
    assert_eq!(
        agency(&app, &admin, DIVISION).await["receiving_point"],
        false
    );

    let res = patch(admin.clone(), json!({"receiving_point": true}), division).await;
    assert_eq!(res.status(), 200);
    let changed: Value = res.json().await.unwrap();
    assert_eq!(changed["receiving_point"], true);
    let filed = app.submit_ok(&division_officer, &filing()).await;
    assert_eq!(filed.body["received_at_agency"]["code"], DIVISION);

    // The change is in the audit log.
    let audit = app
        .get_json(
            &admin,
            &format!("/api/v1/audit?entity_type=agency&entity_id={division}"),
        )
        .await;
    assert_eq!(audit["items"][0]["action"], "update", "{audit}");
    assert_eq!(audit["items"][0]["after"]["receiving_point"], true);
}
