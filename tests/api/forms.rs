//! E-forms over HTTP (docs/forms.md): a procedure's form definition, form
//! data checked at filing (every failing place named), stored with its
//! version, kept when the admin publishes a new one, pre-filled from the
//! profile and an earlier dossier (counting toward the reuse KPI), and a
//! supplement request pointing at fields.

use motcua::seed::DEMO_CITIZEN_ID;
use motcua_domain::Role;
use motcua_tests::{TestApp, bearer, on_both_backends, problem};
use serde_json::{Value, json};

use crate::dossiers::to_review;

on_both_backends!(
    form_data_failing_in_several_places_names_each,
    a_valid_form_keeps_its_version_after_an_admin_change,
    prefill_from_an_earlier_dossier_counts_toward_reuse,
    a_supplement_request_points_at_fields,
);

pub(crate) const KARAOKE: &str = "1.007450";

pub(crate) fn karaoke_data(name: &str) -> Value {
    json!({
        "applicant": {
            "name": "Công ty TNHH Âm Nhạc Phương Nam",
            "registration_number": "0312345678",
            "address": "12 Nguyễn Huệ, phường Bến Nghé",
            "phone": "0912345678",
            "representative": "Nguyễn Văn An"
        },
        "establishment": {
            "name": name,
            "address": "45 Lê Lợi, phường Một Cửa",
            "rooms": 3,
            "room_areas": [24, 25.5, 30]
        }
    })
}

/// A citizen's online karaoke filing with its four documents uploaded.
pub(crate) async fn karaoke_body(app: &TestApp, citizen: &str, form_data: Value) -> Value {
    let mut documents = Vec::new();
    for i in 1..=4 {
        let id = app.upload(citizen, &format!("tai-lieu-{i}.pdf")).await;
        documents.push(json!({"requirement": format!("D{i}"), "document_id": id}));
    }
    json!({
        "procedure_code": KARAOKE,
        "documents": documents,
        "fee_codes": ["F4"],
        "form_data": form_data,
    })
}

async fn get_json(app: &TestApp, token: Option<&str>, path: &str) -> Value {
    let mut req = app.get(path);
    if let Some(token) = token {
        req = req.header("authorization", bearer(token));
    }
    let res = req.send().await.unwrap();
    assert_eq!(res.status(), 200, "{path}");
    res.json().await.unwrap()
}

fn errors_of(body: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let message = e["message"].as_str().unwrap();
            assert!(!message.is_ascii(), "Vietnamese message: {e}");
            (
                e["field"].as_str().unwrap().to_owned(),
                e["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

async fn form_data_failing_in_several_places_names_each(app: TestApp) {
    let form = get_json(&app, None, &format!("/api/v1/procedures/{KARAOKE}/form")).await;
    assert_eq!(form["version"], 1);
    assert_eq!(form["procedure_code"], KARAOKE);
    assert!(form["title"].as_str().unwrap().contains("karaoke"));
    assert_eq!(
        form["sections"][1]["fields"][0]["pointer"],
        "/establishment/name"
    );
    let missing = app
        .get("/api/v1/procedures/2.001584/form")
        .send()
        .await
        .unwrap();
    problem(missing, 404, "not_found").await;

    let citizen = app.token_of(DEMO_CITIZEN_ID).await;
    let mut data = karaoke_data("Karaoke Hoa Mai");
    data["establishment"]
        .as_object_mut()
        .unwrap()
        .remove("name");
    data["establishment"]["rooms"] = json!("ba");
    data["establishment"]["room_areas"] = json!([24, 12]);
    data["applicant"]["phone"] = json!("123");
    data["establishment"]["karaoke_box"] = json!(true);
    let body = karaoke_body(&app, &citizen, data).await;
    let res = app.submit(&citizen, &body).await;
    let got = problem(res, 422, "validation_failed").await;
    assert_eq!(
        errors_of(&got),
        vec![
            (
                "/form_data/applicant/phone".to_owned(),
                "form_pattern".to_owned()
            ),
            (
                "/form_data/establishment".to_owned(),
                "form_unknown_field".to_owned()
            ),
            (
                "/form_data/establishment/name".to_owned(),
                "required".to_owned()
            ),
            (
                "/form_data/establishment/room_areas/1".to_owned(),
                "form_below_minimum".to_owned()
            ),
            (
                "/form_data/establishment/rooms".to_owned(),
                "form_wrong_type".to_owned()
            ),
        ],
        "{got}"
    );

    // A procedure without a form takes no form data.
    let d1 = app.upload(&citizen, "don.pdf").await;
    let d2 = app.upload(&citizen, "giay-phep.pdf").await;
    let res = app
        .submit(
            &citizen,
            &json!({"procedure_code": "2.001584", "documents": [
                {"requirement": "D1", "document_id": d1}, {"requirement": "D2", "document_id": d2}
            ], "form_data": {"x": 1}}),
        )
        .await;
    let got = problem(res, 422, "validation_failed").await;
    assert_eq!(got["errors"][0]["field"], "/form_data");
    assert_eq!(got["errors"][0]["code"], "form_not_offered");
}

async fn a_valid_form_keeps_its_version_after_an_admin_change(app: TestApp) {
    let citizen = app.token_of(DEMO_CITIZEN_ID).await;
    let officer = app.token(Role::Officer).await;
    let admin = app.token(Role::Admin).await;
    let data = karaoke_data("Karaoke Hoa Mai");
    let body = karaoke_body(&app, &citizen, data.clone()).await;
    let filed = app.submit_ok(&citizen, &body).await;
    let code = filed.code().to_owned();
    assert_eq!(filed.body["form"]["version"], 1);
    assert_eq!(filed.body["form"]["data"], data);
    // Officers see the data on the dossier.
    let seen = app.dossier(&officer, &code).await;
    assert_eq!(seen.body["form"]["data"]["establishment"]["rooms"], 3);

    // The admin publishes version 2: a new required field.
    let mut definition = get_json(&app, None, &format!("/api/v1/procedures/{KARAOKE}/form")).await;
    for key in ["procedure_code", "version", "created_at"] {
        definition.as_object_mut().unwrap().remove(key);
    }
    definition["schema"]["properties"]["establishment"]["properties"]["opening_hours"] =
        json!({"type": "string", "minLength": 1});
    definition["schema"]["properties"]["establishment"]["required"]
        .as_array_mut()
        .unwrap()
        .push(json!("opening_hours"));
    definition["sections"][1]["fields"]
        .as_array_mut()
        .unwrap()
        .push(json!({"pointer": "/establishment/opening_hours", "label": "Giờ hoạt động"}));
    let path = format!("/api/v1/procedures/{KARAOKE}/form");
    let res = app
        .put(&path)
        .header("authorization", bearer(&officer))
        .json(&definition)
        .send()
        .await
        .unwrap();
    problem(res, 403, "forbidden").await;
    let mut broken = definition.clone();
    broken["schema"]["properties"]["establishment"]["type"] = json!("objekt");
    broken["sections"][0]["fields"][0]["prefill"] = json!("registry.name");
    let res = app
        .put(&path)
        .header("authorization", bearer(&admin))
        .json(&broken)
        .send()
        .await
        .unwrap();
    let got = problem(res, 422, "validation_failed").await;
    assert_eq!(
        errors_of(&got),
        vec![
            ("schema".to_owned(), "invalid_form_schema".to_owned()),
            (
                "sections[0].fields[0].prefill".to_owned(),
                "unknown_prefill_source".to_owned()
            ),
        ]
    );
    let res = app
        .put(&path)
        .header("authorization", bearer(&admin))
        .json(&definition)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let v2: Value = res.json().await.unwrap();
    assert_eq!(v2["version"], 2);

    // The dossier keeps version 1; version 1 stays readable; new filings use 2.
    let seen = app.dossier(&officer, &code).await;
    assert_eq!(seen.body["form"]["version"], 1);
    let v1 = get_json(&app, None, &format!("{path}?version=1")).await;
    assert!(v1["schema"]["properties"]["establishment"]["properties"]["opening_hours"].is_null());
    assert_eq!(get_json(&app, None, &path).await["version"], 2);
    let body = karaoke_body(&app, &citizen, data.clone()).await;
    let got = problem(app.submit(&citizen, &body).await, 422, "validation_failed").await;
    assert_eq!(
        got["errors"][0]["field"],
        "/form_data/establishment/opening_hours"
    );
    let mut newer = data;
    newer["establishment"]["opening_hours"] = json!("8:00–24:00");
    let body = karaoke_body(&app, &citizen, newer).await;
    assert_eq!(
        app.submit_ok(&citizen, &body).await.body["form"]["version"],
        2
    );
}

fn reuse_of(summary: &Value) -> (i64, i64) {
    let r = &summary["rates"]["reuse"];
    (
        r["numerator"].as_i64().unwrap(),
        r["denominator"].as_i64().unwrap(),
    )
}

async fn prefill_from_an_earlier_dossier_counts_toward_reuse(app: TestApp) {
    let citizen = app.token_of(DEMO_CITIZEN_ID).await;
    let officer = app.token(Role::Officer).await;
    let admin = app.token(Role::Admin).await;
    let prefill_path = format!("/api/v1/me/prefill?procedure={KARAOKE}");

    // Nothing filed yet: the profile only.
    let first = get_json(&app, Some(&citizen), &prefill_path).await;
    assert_eq!(first["form_version"], 1);
    let sources: Vec<&str> = first["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["source"].as_str().unwrap())
        .collect();
    assert!(
        !sources.is_empty() && sources.iter().all(|s| *s == "profile"),
        "{first}"
    );
    assert!(first["data"]["applicant"]["name"].is_string());

    let a = app
        .submit_ok(
            &citizen,
            &karaoke_body(&app, &citizen, karaoke_data("Karaoke Hoa Mai")).await,
        )
        .await
        .code()
        .to_owned();
    app.act_ok(&officer, &a, &json!({"action": "receive"}))
        .await;

    // The earlier dossier now pre-fills the establishment, naming itself.
    let second = get_json(&app, Some(&citizen), &prefill_path).await;
    let name = second["values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["pointer"] == "/establishment/name")
        .unwrap_or_else(|| panic!("{second}"));
    assert_eq!(name["source"], "dossier");
    assert_eq!(name["dossier_code"], a.as_str());
    assert_eq!(name["value"], "Karaoke Hoa Mai");
    assert_eq!(second["data"]["establishment"]["rooms"], 3);

    // Filed with those values: reused, and counted once received.
    let b = app
        .submit_ok(
            &citizen,
            &karaoke_body(&app, &citizen, karaoke_data("Karaoke Hoa Mai")).await,
        )
        .await;
    assert_eq!(b.body["form"]["reused"], true);
    assert!(
        b.body["form"]["prefilled"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["pointer"] == "/establishment/name" && p["source"] == "dossier")
    );
    let b = b.code().to_owned();
    let before = get_json(&app, Some(&admin), "/api/v1/kpi/summary").await;
    assert_eq!(reuse_of(&before), (0, 1), "{before}");
    app.act_ok(&officer, &b, &json!({"action": "receive"}))
        .await;
    let after = get_json(&app, Some(&admin), "/api/v1/kpi/summary").await;
    assert_eq!(reuse_of(&after), (1, 2), "{after}");

    // Other values in every field an earlier dossier pre-fills: not reuse.
    let mut other = karaoke_data("Karaoke Sen Vàng");
    other["applicant"]["representative"] = json!("Trần Thị Bình");
    other["establishment"]["address"] = json!("7 Hai Bà Trưng");
    other["establishment"]["rooms"] = json!(2);
    other["establishment"]["room_areas"] = json!([40, 45]);
    let c = app
        .submit_ok(&citizen, &karaoke_body(&app, &citizen, other).await)
        .await;
    assert_eq!(c.body["form"]["reused"], false, "{}", c.body["form"]);

    // Pre-fill is the citizen's own.
    let res = app
        .get(&prefill_path)
        .header("authorization", bearer(&officer))
        .send()
        .await
        .unwrap();
    problem(res, 403, "forbidden").await;
}

async fn a_supplement_request_points_at_fields(app: TestApp) {
    let citizen = app.token_of(DEMO_CITIZEN_ID).await;
    let handler = app.token_of("demo.handler").await;
    let code = app
        .submit_ok(
            &citizen,
            &karaoke_body(&app, &citizen, karaoke_data("Karaoke Hoa Mai")).await,
        )
        .await
        .code()
        .to_owned();
    to_review(&app, &code).await;
    let res = app
        .act(
            &handler,
            &code,
            &json!({"action": "request_supplement", "missing": ["Diện tích phòng"],
                    "fields": ["/establishment/room_areas", "/establishment/karaoke_box"]}),
        )
        .await;
    let got = problem(res, 422, "validation_failed").await;
    assert_eq!(got["errors"][0]["field"], "fields[1]");
    assert_eq!(got["errors"][0]["code"], "form_unknown_field");
    let acted = app
        .act_ok(
            &handler,
            &code,
            &json!({"action": "request_supplement", "missing": ["Diện tích phòng"],
                    "fields": ["/establishment/room_areas", "/establishment/rooms"]}),
        )
        .await;
    let fields = json!(["/establishment/room_areas", "/establishment/rooms"]);
    assert_eq!(acted.body["supplement_request"]["fields"], fields);
    // The applicant sees which fields to correct.
    let seen = app.dossier(&citizen, &code).await;
    assert_eq!(seen.body["status"], "supplement_requested");
    assert_eq!(seen.body["supplement_request"]["fields"], fields);
    assert_eq!(seen.body["form"]["supplement_fields"], fields);
}
