//! The official papers as PDF: each one rendered for a dossier whose
//! applicant and agency have long Vietnamese names, its text extracted
//! again and checked; who may see them; papers a dossier does not have.

use motcua::seed::DEMO_CITIZEN_ID;
use motcua_domain::Role;
use motcua_tests::{TestApp, bearer, on_both_backends, problem};
use serde_json::{Value, json};

use crate::dossiers::{make_overdue, to_review};

on_both_backends!(
    every_paper_reads_back_with_its_vietnamese_names,
    the_refusal_notice_and_papers_a_dossier_lacks,
);

const NAME: &str = "Nguyễn Thị Phượng Hoàng Quỳnh Như Ý";
const ID_NUMBER: &str = "079190012345";
const AGENCY: &str =
    "Sở Văn hóa, Thể thao và Du lịch thành phố Hồ Chí Minh (Phòng Quản lý Nghệ thuật Biểu diễn)";

/// Renames the demo department to a long Vietnamese name.
fn rename_agency(app: &TestApp) {
    use diesel::prelude::*;
    use motcua_persistence::schema::agencies;
    let mut conn = app.pool.get().unwrap();
    diesel::update(agencies::table.filter(agencies::code.eq("000.00.20.H56")))
        .set(agencies::name.eq(AGENCY))
        .execute(&mut *conn)
        .unwrap();
}

/// A citizen with a long name, registered and signed in.
async fn long_named_citizen(app: &TestApp) -> String {
    let res = app
        .post("/api/v1/auth/register")
        .json(&json!({"id_number": ID_NUMBER, "full_name": NAME, "phone": "0912000111", "password": "mat-khau-nhu-y-2026"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "register");
    app.login(ID_NUMBER, "mat-khau-nhu-y-2026").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn submit(app: &TestApp, citizen: &str) -> String {
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
    .code()
    .to_owned()
}

async fn fetch(app: &TestApp, token: &str, code: &str, kind: &str) -> reqwest::Response {
    app.get(&format!("/api/v1/dossiers/{code}/papers/{kind}"))
        .header("authorization", bearer(token))
        .header("accept", "application/pdf")
        .send()
        .await
        .unwrap()
}

/// The paper's text, whitespace folded to single spaces (lines wrap).
async fn text_of(app: &TestApp, token: &str, code: &str, kind: &str) -> String {
    let res = fetch(app, token, code, kind).await;
    assert_eq!(res.status(), 200, "{kind}");
    assert_eq!(res.headers()["content-type"], "application/pdf");
    let bytes = res.bytes().await.unwrap();
    assert!(bytes.starts_with(b"%PDF-"), "{kind}");
    let text = pdf_extract::extract_text_from_mem(&bytes).unwrap();
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn assert_has(text: &str, kind: &str, needles: &[&str]) {
    for needle in needles {
        assert!(text.contains(needle), "{kind}: {needle:?} not in {text}");
    }
}

async fn every_paper_reads_back_with_its_vietnamese_names(app: TestApp) {
    rename_agency(&app);
    let citizen = long_named_citizen(&app).await;
    let code = submit(&app, &citizen).await;
    let common = [
        NAME,
        AGENCY,
        code.as_str(),
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "********2345",
    ];
    let declaration = text_of(&app, &citizen, &code, "declaration").await;
    assert_has(&declaration, "declaration", &common);
    assert_has(
        &declaration,
        "declaration",
        &["TỜ KHAI", "NGƯỜI KHAI", "Tôi xin cam đoan"],
    );
    let res = fetch(&app, &citizen, &code, "receipt").await;
    problem(res, 409, "paper_not_applicable").await;

    to_review(&app, &code).await;
    let officer = app.token(Role::Officer).await;
    let shown = app.dossier(&officer, &code).await;
    let appointment: chrono::DateTime<chrono::Utc> = shown.body["appointment_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let appointment = motcua_domain::local_time::on_forms(appointment);
    let receipt = text_of(&app, &citizen, &code, "receipt").await;
    assert_has(&receipt, "receipt", &common);
    assert_has(
        &receipt,
        "receipt",
        &[
            "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
            appointment.as_str(),
            "Cán bộ một cửa (demo)",
        ],
    );

    let handler = app.token_of("demo.handler").await;
    let deadline = (chrono::Utc::now() + chrono::Duration::days(20)).date_naive();
    app.act_ok(&handler, &code, &json!({"action": "request_supplement", "missing": ["Bản sao giấy phép xuất bản có chứng thực của Ủy ban nhân dân phường"], "deadline": deadline, "note": "Bản sao chưa được chứng thực"}))
        .await;
    let supplement = text_of(&app, &citizen, &code, "supplement_request").await;
    assert_has(&supplement, "supplement_request", &common);
    assert_has(
        &supplement,
        "supplement_request",
        &[
            "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ",
            "1. Bản sao giấy phép xuất bản có chứng thực của Ủy ban nhân dân phường",
            &deadline.format("%d/%m/%Y").to_string(),
            "Bản sao chưa được chứng thực",
        ],
    );

    make_overdue(&app, &code);
    let next_working = next_working_day(&app).await;
    app.act_ok(&officer, &code, &json!({"action": "apology", "note": "Chờ ý kiến thẩm định của Cục Nghệ thuật biểu diễn", "new_appointment_date": next_working}))
        .await;
    let apology = text_of(&app, &citizen, &code, "apology").await;
    assert_has(&apology, "apology", &common);
    assert_has(
        &apology,
        "apology",
        &[
            "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ",
            "Chờ ý kiến thẩm định của Cục Nghệ thuật biểu diễn",
            &next_working.format("ngày %d tháng %m năm %Y").to_string(),
        ],
    );

    let sheet = text_of(&app, &officer, &code, "control_sheet").await;
    assert_has(&sheet, "control_sheet", &common);
    assert_has(
        &sheet,
        "control_sheet",
        &[
            "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ",
            "Nộp hồ sơ",
            "Tiếp nhận hồ sơ",
            "Giao xử lý",
            "Yêu cầu bổ sung",
            "Xin lỗi, hẹn lại ngày trả",
        ],
    );

    screens_and_strangers(&app, &citizen, &code).await;
}

/// HTML for screens, by query or by Accept; another citizen sees none of it.
async fn screens_and_strangers(app: &TestApp, citizen: &str, code: &str) {
    let res = app
        .get(&format!(
            "/api/v1/dossiers/{code}/papers/control_sheet?format=html"
        ))
        .header("authorization", bearer(citizen))
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
    assert!(html.contains("PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ") && html.contains(NAME));
    let res = app
        .get(&format!("/api/v1/dossiers/{code}/papers/receipt"))
        .header("authorization", bearer(citizen))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ")
    );

    // Another citizen sees none of it.
    let other = app.token_of(DEMO_CITIZEN_ID).await;
    for kind in ["receipt", "declaration", "control_sheet"] {
        problem(fetch(app, &other, code, kind).await, 404, "not_found").await;
    }
}

async fn next_working_day(app: &TestApp) -> chrono::NaiveDate {
    let mut day =
        (chrono::Utc::now() + chrono::Duration::hours(7) + chrono::Duration::days(7)).date_naive();
    loop {
        let shown: Value = app
            .get(&format!("/api/v1/calendar/days/{day}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if shown["working"] == true {
            return day;
        }
        day += chrono::Duration::days(1);
    }
}

async fn the_refusal_notice_and_papers_a_dossier_lacks(app: TestApp) {
    rename_agency(&app);
    let citizen = long_named_citizen(&app).await;
    let code = submit(&app, &citizen).await;
    let officer = app.token(Role::Officer).await;
    for kind in ["refusal", "supplement_request", "apology", "control_sheet"] {
        let body = problem(
            fetch(&app, &citizen, &code, kind).await,
            409,
            "paper_not_applicable",
        )
        .await;
        assert!(body["detail"].is_string(), "{kind}");
    }
    app.act_ok(&officer, &code, &json!({"action": "refuse", "note": "Hồ sơ không thuộc thẩm quyền giải quyết của Sở; đề nghị nộp tại Ủy ban nhân dân quận Bình Thạnh"}))
        .await;
    let refusal = text_of(&app, &citizen, &code, "refusal").await;
    assert_has(
        &refusal,
        "refusal",
        &[
            NAME,
            AGENCY,
            code.as_str(),
            "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ",
            "Hồ sơ không thuộc thẩm quyền giải quyết của Sở; đề nghị nộp tại Ủy ban nhân dân quận Bình Thạnh",
            "Cán bộ một cửa (demo)",
        ],
    );
    problem(
        fetch(&app, &citizen, &code, "receipt").await,
        409,
        "paper_not_applicable",
    )
    .await;
    problem(
        fetch(&app, &citizen, &code, "certificate").await,
        404,
        "not_found",
    )
    .await;
    problem(
        fetch(&app, &citizen, "000.00.20.H56-000000-0000", "receipt").await,
        404,
        "not_found",
    )
    .await;
    let res = app
        .get(&format!(
            "/api/v1/dossiers/{code}/papers/refusal?format=docx"
        ))
        .header("authorization", bearer(&citizen))
        .send()
        .await
        .unwrap();
    problem(res, 400, "invalid_query").await;
}
