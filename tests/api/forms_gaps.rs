//! The small gaps of issue 15 over HTTP: corrected form data sent with a
//! supplement, the audit of a form's new version, forms carried by a catalog
//! import, and papers that name the receiving point and label the
//! declaration with the form's own labels (text extracted from the PDF).

use motcua::seed::DEMO_CITIZEN_ID;
use motcua_domain::Role;
use motcua_tests::{TestApp, bearer, on_both_backends, problem};
use serde_json::{Value, json};

use crate::dossiers::to_review;
use crate::forms::{KARAOKE, karaoke_body, karaoke_data};

on_both_backends!(
    a_supplement_brings_corrected_form_data,
    a_new_form_version_is_audited,
    a_catalog_import_carries_forms,
    a_receipt_taken_at_another_counter_names_both_in_the_pdf,
    the_declaration_reads_with_the_form_labels,
);

/// The paper's text, whitespace folded to single spaces (lines wrap).
async fn pdf_text(app: &TestApp, token: &str, code: &str, kind: &str) -> String {
    let res = app
        .get(&format!("/api/v1/dossiers/{code}/papers/{kind}"))
        .header("authorization", bearer(token))
        .header("accept", "application/pdf")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{kind}");
    let bytes = res.bytes().await.unwrap();
    let text = pdf_extract::extract_text_from_mem(&bytes).unwrap();
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn fields_of(problem: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_owned(),
                e["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

async fn a_supplement_brings_corrected_form_data(app: TestApp) {
    let citizen = app.token_of(DEMO_CITIZEN_ID).await;
    let handler = app.token_of("demo.handler").await;
    let officer = app.token(Role::Officer).await;
    let filed = karaoke_data("Karaoke Hoa Mai");
    let body = karaoke_body(&app, &citizen, filed.clone()).await;
    let code = app.submit_ok(&citizen, &body).await.code().to_owned();
    assert_eq!(
        app.dossier(&citizen, &code).await.body["form"]["revision"],
        1
    );
    to_review(&app, &code).await;
    app.act_ok(
        &handler,
        &code,
        &json!({"action": "request_supplement", "missing": ["Diện tích phòng hát"],
                "fields": ["/establishment/room_areas", "/establishment/rooms"]}),
    )
    .await;

    // Form data on another action is refused.
    let res = app
        .act(
            &handler,
            &code,
            &json!({"action": "assign", "form_data": filed}),
        )
        .await;
    let got = problem(res, 422, "validation_failed").await;
    assert_eq!(got["errors"][0]["field"], "form_data");

    // Corrected data failing in several places: each named, as at filing.
    let mut wrong = filed.clone();
    wrong["establishment"]["rooms"] = json!("bốn");
    wrong["establishment"]["room_areas"] = json!([24, 12]);
    wrong["establishment"]
        .as_object_mut()
        .unwrap()
        .remove("name");
    let res = app
        .act(
            &citizen,
            &code,
            &json!({"action": "supplement", "form_data": wrong}),
        )
        .await;
    let got = problem(res, 422, "validation_failed").await;
    let failing = |f: &str, c: &str| (f.to_owned(), c.to_owned());
    assert_eq!(
        fields_of(&got),
        vec![
            failing("/form_data/establishment/name", "required"),
            failing(
                "/form_data/establishment/room_areas/1",
                "form_below_minimum"
            ),
            failing("/form_data/establishment/rooms", "form_wrong_type"),
        ]
    );
    let seen = app.dossier(&officer, &code).await;
    assert_eq!(seen.body["status"], "supplement_requested");
    assert_eq!(seen.body["form"]["data"], filed, "nothing stored");

    // The correction alone is a supplement: stored as revision 2.
    let mut corrected = filed.clone();
    corrected["establishment"]["rooms"] = json!(4);
    corrected["establishment"]["room_areas"] = json!([24, 25.5, 30, 32]);
    let acted = app
        .act_ok(
            &citizen,
            &code,
            &json!({"action": "supplement", "form_data": corrected}),
        )
        .await;
    assert_eq!(acted.body["status"], "in_review");
    assert_eq!(acted.body["form"]["revision"], 2);
    assert_eq!(acted.body["form"]["version"], 1, "the form version stays");
    let seen = app.dossier(&officer, &code).await;
    assert_eq!(
        seen.body["form"]["data"], corrected,
        "officers see the new data"
    );
    assert_eq!(seen.body["form"]["revision"], 2);

    // The trail names the fields that changed and keeps the data replaced.
    let history = app
        .get_json(&officer, &format!("/api/v1/dossiers/{code}/history"))
        .await;
    let line = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .rfind(|e| e["action"] == "supplement")
        .unwrap()
        .clone();
    assert_eq!(
        line["data"]["form_fields"],
        json!(["/establishment/rooms", "/establishment/room_areas"])
    );
    assert_eq!(line["data"]["form_revision"], 2);
    assert_eq!(line["data"]["form_replaced"], filed);
}

async fn a_dossier_without_form_data_takes_no_correction(app: &TestApp) {
    let officer = app.token(Role::Officer).await;
    let citizen = app.token_of(DEMO_CITIZEN_ID).await;
    let body = karaoke_body(app, &citizen, Value::Null).await;
    let code = app.submit_ok(&citizen, &body).await.code().to_owned();
    app.act_ok(
        &officer,
        &code,
        &json!({"action": "request_supplement", "missing": ["Bản sao giấy tờ"]}),
    )
    .await;
    let res = app
        .act(
            &citizen,
            &code,
            &json!({"action": "supplement", "note": "Đã bổ sung", "form_data": {"a": 1}}),
        )
        .await;
    let got = problem(res, 422, "validation_failed").await;
    assert_eq!(got["errors"][0]["field"], "/form_data");
    assert_eq!(got["errors"][0]["code"], "form_not_offered");
}

/// A form's definition as PUT takes it.
async fn definition_of(app: &TestApp, code: &str) -> Value {
    let mut form: Value = app
        .get(&format!("/api/v1/procedures/{code}/form"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for key in ["procedure_code", "version", "created_at"] {
        form.as_object_mut().unwrap().remove(key);
    }
    form
}

async fn audit_of(app: &TestApp, admin: &str, code: &str) -> Vec<Value> {
    let page = app
        .get_json(
            admin,
            &format!("/api/v1/audit?entity_type=procedure_form&entity_id={code}&per_page=100"),
        )
        .await;
    let mut items = page["items"].as_array().unwrap().clone();
    items.reverse();
    items
}

async fn a_new_form_version_is_audited(app: TestApp) {
    let admin = app.token(Role::Admin).await;
    let mut form = definition_of(&app, KARAOKE).await;
    form["title"] = json!("Đơn đề nghị (mẫu sửa đổi)");
    let res = app
        .put(&format!("/api/v1/procedures/{KARAOKE}/form"))
        .header("authorization", bearer(&admin))
        .header("x-request-id", "form-put-1")
        .json(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let entries = audit_of(&app, &admin, KARAOKE).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    let entry = &entries[0];
    assert_eq!(entry["action"], "update");
    assert_eq!(entry["actor_id"], app.user_id("demo.admin").await);
    assert_eq!(entry["request_id"], "form-put-1");
    assert_eq!(entry["before"]["version"], 1);
    assert_eq!(entry["after"]["version"], 2);
    assert_eq!(
        entry["after"]["definition"]["title"],
        "Đơn đề nghị (mẫu sửa đổi)"
    );
    // A refused definition leaves no entry.
    form["schema"] = json!({"type": "string"});
    let res = app
        .put(&format!("/api/v1/procedures/{KARAOKE}/form"))
        .header("authorization", bearer(&admin))
        .json(&form)
        .send()
        .await
        .unwrap();
    problem(res, 422, "validation_failed").await;
    assert_eq!(audit_of(&app, &admin, KARAOKE).await.len(), 1);
    a_dossier_without_form_data_takes_no_correction(&app).await;
}

/// A procedure as the import takes it, from the catalog's own answer.
async fn spec_of(app: &TestApp, code: &str) -> Value {
    let mut spec: Value = app
        .get(&format!("/api/v1/procedures/{code}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for key in [
        "id",
        "sector_code",
        "agency",
        "version",
        "created_at",
        "updated_at",
        "abolished_at",
    ] {
        spec.as_object_mut().unwrap().remove(key);
    }
    spec
}

async fn import(app: &TestApp, admin: &str, rows: &Value) -> reqwest::Response {
    app.post("/api/v1/procedures/import")
        .header("authorization", bearer(admin))
        .json(rows)
        .send()
        .await
        .unwrap()
}

async fn a_catalog_import_carries_forms(app: TestApp) {
    let admin = app.token(Role::Admin).await;
    // 1.004630 (travel agency) has a form; 2.001584 has none yet.
    let plain = "2.001584";
    assert_eq!(
        app.get(&format!("/api/v1/procedures/{plain}/form"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let mut form = definition_of(&app, KARAOKE).await;
    form["title"] = json!("Tờ khai nhập từ danh mục");
    let mut with_form = spec_of(&app, plain).await;
    with_form["form"] = form.clone();

    // A broken form refuses the whole import.
    let mut broken = with_form.clone();
    broken["form"]["sections"][0]["fields"][0]["pointer"] = json!("/khong_co");
    let got = problem(
        import(&app, &admin, &json!([broken])).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(got["report"]["applied"], false);
    assert_eq!(
        got["report"]["rows"][0]["errors"][0]["field"],
        "form.sections[0].fields[0].pointer"
    );

    let res = import(
        &app,
        &admin,
        &json!([with_form, spec_of(&app, KARAOKE).await]),
    )
    .await;
    assert_eq!(res.status(), 200);
    let stored: Value = app
        .get(&format!("/api/v1/procedures/{plain}/form"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stored["version"], 1);
    assert_eq!(stored["title"], "Tờ khai nhập từ danh mục");
    assert_eq!(stored["sections"], form["sections"]);
    let entries = audit_of(&app, &admin, plain).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["action"], "import");
    // An entry without a form leaves the procedure's form alone; the same
    // form imported again adds no version.
    assert!(audit_of(&app, &admin, KARAOKE).await.is_empty());
    assert_eq!(
        import(&app, &admin, &json!([with_form])).await.status(),
        200
    );
    assert_eq!(audit_of(&app, &admin, plain).await.len(), 1);
    let latest: Value = app
        .get(&format!("/api/v1/procedures/{plain}/form"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(latest["version"], 1);
}

async fn a_receipt_taken_at_another_counter_names_both_in_the_pdf(app: TestApp) {
    use crate::reception::{COMMUNE, filing, officer_at};
    let admin = app.token(Role::Admin).await;
    let commune_officer = officer_at(&app, &admin, "tiepnhan.giay", COMMUNE).await;
    let code = app
        .submit_ok(&commune_officer, &filing())
        .await
        .code()
        .to_owned();
    app.act_ok(&commune_officer, &code, &json!({"action": "receive"}))
        .await;
    let department = "Sở Văn hóa, Thể thao và Du lịch (demo)";
    let point = "Ủy ban nhân dân phường Một Cửa (demo)";
    let receipt = pdf_text(&app, &commune_officer, &code, "receipt").await;
    for needle in [
        format!("Nơi tiếp nhận hồ sơ: {point}"),
        format!("Cơ quan có thẩm quyền giải quyết: {department}"),
        format!("{point} tiếp nhận hồ sơ thay cho {department}"),
    ] {
        assert!(receipt.contains(&needle), "{needle:?} not in {receipt}");
    }
    let sheet = pdf_text(&app, &commune_officer, &code, "control_sheet").await;
    for needle in [
        format!("Cơ quan tiếp nhận: {department}"),
        format!("Nơi tiếp nhận hồ sơ: {point}"),
        format!("Cơ quan giải quyết: {department}"),
    ] {
        assert!(sheet.contains(&needle), "{needle:?} not in {sheet}");
    }
    assert!(
        sheet.contains(&format!("({point})")),
        "the receive step names the point: {sheet}"
    );
}

async fn the_declaration_reads_with_the_form_labels(app: TestApp) {
    let citizen = app.token_of(DEMO_CITIZEN_ID).await;
    let body = karaoke_body(&app, &citizen, karaoke_data("Karaoke Hoa Mai")).await;
    let code = app.submit_ok(&citizen, &body).await.code().to_owned();
    let text = pdf_text(&app, &citizen, &code, "declaration").await;
    let in_order = [
        "Thông tin tổ chức, cá nhân đề nghị:",
        "Tên tổ chức, cá nhân đề nghị Công ty TNHH Âm Nhạc Phương Nam",
        "Người đại diện theo pháp luật Nguyễn Văn An",
        "Cơ sở kinh doanh:",
        "Tên cơ sở kinh doanh Karaoke Hoa Mai",
        "Địa điểm kinh doanh 45 Lê Lợi, phường Một Cửa",
        "Số phòng hát 3",
        "Diện tích từng phòng (m²) 24; 25.5; 30",
    ];
    let mut rest = text.as_str();
    for needle in in_order {
        let (_, after) = rest
            .split_once(needle)
            .unwrap_or_else(|| panic!("{needle:?} not in order in {text}"));
        rest = after;
    }
    for raw in ["Establishment", "Room areas", "Registration number"] {
        assert!(!text.contains(raw), "raw key {raw:?} in {text}");
    }
}
