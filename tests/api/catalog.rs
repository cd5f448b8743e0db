use motcua_domain::Role;
use motcua_tests::{TestApp, bearer, on_both_backends, problem};
use serde_json::{Value, json};

on_both_backends!(
    public_listing_search_and_filters,
    detail_and_sectors,
    admin_publishes_changes_and_abolishes,
    import_json_is_all_or_nothing,
    import_csv,
);

async fn list(app: &TestApp, query: &str) -> Value {
    let res = app
        .get(&format!("/api/v1/procedures?{query}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{query}");
    res.json().await.unwrap()
}

fn codes(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap().to_owned())
        .collect()
}

async fn public_listing_search_and_filters(app: TestApp) {
    let all = list(&app, "per_page=100").await;
    let total = all["total"].as_i64().unwrap();
    assert!(total >= 40, "{total}");
    // Abolished procedures stay out of the default listing.
    assert!(
        all["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["status"] == "active")
    );
    let page2 = list(&app, "page=2&per_page=10").await;
    assert_eq!(page2["items"].as_array().unwrap().len(), 10);
    assert_eq!(page2["page"], 2);

    search_is_folded_and_ranked(&app).await;
    // Filters.
    let tourism = list(&app, "sector=du-lich&per_page=100").await;
    assert!(tourism["total"].as_i64().unwrap() >= 5);
    assert!(
        tourism["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["sector"] == "Du lịch")
    );
    let full = list(&app, "online=full&per_page=100").await;
    assert!(
        full["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["online_level"] == "full")
    );
    let any = list(&app, "online=any&per_page=100").await;
    let none = list(&app, "online=none&per_page=100").await;
    assert_eq!(
        any["total"].as_i64().unwrap() + none["total"].as_i64().unwrap(),
        total
    );
    let commune = list(&app, "level=commune&per_page=100").await;
    assert!(commune["total"].as_i64().unwrap() >= 1);
    assert!(
        commune["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["levels"].as_array().unwrap().contains(&json!("commune")))
    );
    let abolished = list(&app, "status=abolished").await;
    assert!(abolished["total"].as_i64().unwrap() >= 1);
    assert_eq!(
        list(&app, "status=all&per_page=1").await["total"]
            .as_i64()
            .unwrap(),
        total + abolished["total"].as_i64().unwrap()
    );
    let agencies: Value = app
        .get("/api/v1/agencies")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let dept = agencies["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["code"] == "000.00.20.H56")
        .unwrap()["id"]
        .clone();
    let of_dept = list(&app, &format!("agency_id={dept}&per_page=1")).await;
    assert_eq!(
        of_dept["total"].as_i64().unwrap(),
        total - commune_only(&app).await
    );
}

/// Search ignores accents and case, matches `đ` with `d`, ranks names first.
async fn search_is_folded_and_ranked(app: &TestApp) {
    // Accent- and case-insensitive, both ways round.
    let plain = list(app, "q=kinh%20doanh%20dich%20vu%20lu%20hanh").await;
    let accented = list(
        app,
        "q=KINH%20DOANH%20D%E1%BB%8ACH%20V%E1%BB%A4%20L%E1%BB%AE%20H%C3%80NH",
    )
    .await;
    assert_eq!(codes(&plain), codes(&accented));
    assert!(plain["total"].as_i64().unwrap() >= 3);
    // Names holding the words rank above matches in documents or legal basis.
    for item in plain["items"].as_array().unwrap().iter().take(3) {
        let name = motcua_domain::text::fold(item["name"].as_str().unwrap());
        assert!(name.contains("kinh doanh dich vu lu hanh"), "{name}");
    }
    // `đ` matches `d`.
    let d = list(app, "q=dang%20ky").await;
    assert!(
        d["items"].as_array().unwrap().iter().any(|p| p["name"]
            .as_str()
            .unwrap()
            .contains("Đăng ký")
            || p["name"].as_str().unwrap().contains("đăng ký"))
    );
    // Ranked: the name that starts with the words comes first.
    let karaoke = list(
        app,
        "q=cap%20giay%20phep%20du%20dieu%20kien%20kinh%20doanh%20dich%20vu%20karaoke",
    )
    .await;
    assert_eq!(
        karaoke["items"][0]["name"],
        "Thủ tục cấp Giấy phép đủ điều kiện kinh doanh dịch vụ karaoke"
    );
    assert!(
        list(app, "q=zzzz").await["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

async fn commune_only(app: &TestApp) -> i64 {
    let all = list(app, "level=commune&per_page=100").await;
    let count = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["agency"].is_null())
        .count();
    i64::try_from(count).unwrap()
}

async fn detail_and_sectors(app: TestApp) {
    let res = app.get("/api/v1/procedures/1.004630").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "public, max-age=60");
    let p: Value = res.json().await.unwrap();
    for field in [
        "steps",
        "required_documents",
        "fees",
        "legal_basis",
        "levels",
    ] {
        assert!(p[field].is_array(), "{field}");
    }
    assert!(p["regulated_days"].as_u64().unwrap() >= p["committed_days"].as_u64().unwrap());
    assert!(
        p["required_documents"][0]["code"]
            .as_str()
            .unwrap()
            .starts_with('D')
    );
    assert_eq!(p["agency"]["code"], "000.00.20.H56");
    let res = app.get("/api/v1/procedures/1.999999").send().await.unwrap();
    problem(res, 404, "not_found").await;

    let res = app.get("/api/v1/sectors").send().await.unwrap();
    let sectors: Value = res.json().await.unwrap();
    let items = sectors["items"].as_array().unwrap();
    assert!(items.len() >= 10);
    let sum: i64 = items
        .iter()
        .map(|s| s["procedure_count"].as_i64().unwrap())
        .sum();
    assert_eq!(
        sum,
        list(&app, "per_page=1").await["total"].as_i64().unwrap()
    );
    let tourism = items.iter().find(|s| s["code"] == "du-lich").unwrap();
    assert_eq!(tourism["name"], "Du lịch");
    assert_eq!(
        tourism["procedure_count"].as_i64().unwrap(),
        list(&app, "sector=du-lich&per_page=1").await["total"]
            .as_i64()
            .unwrap()
    );
}

pub fn spec(code: &str, name: &str) -> Value {
    json!({
        "code": code,
        "name": name,
        "sector": "Nghệ thuật biểu diễn",
        "levels": ["province"],
        "regulated_days": 5,
        "committed_days": 4,
        "steps": ["Bước 1: Nộp hồ sơ", "Bước 2: Nhận kết quả"],
        "required_documents": [{"name": "Văn bản đề nghị", "originals": 1}],
        "fees": [{"code": "F1", "name": "Phí thẩm định", "amount_vnd": 1500000, "payable_online": true}],
        "legal_basis": ["Nghị định số 144/2020/NĐ-CP"],
        "result": "Giấy phép",
        "online_level": "full",
        "effective_date": "2026-01-01"
    })
}

async fn admin_publishes_changes_and_abolishes(app: TestApp) {
    let admin = bearer(&app.token(Role::Admin).await);
    let body = spec("1.900001", "Cấp giấy phép tổ chức biểu diễn thử nghiệm");
    let res = app
        .post("/api/v1/procedures")
        .header("authorization", &admin)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["location"], "/api/v1/procedures/1.900001");
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["version"], 1);
    // The spec's example search now finds it.
    let found = list(&app, "q=giay%20phep%20bieu%20dien").await;
    assert_eq!(codes(&found)[0], "1.900001");

    bad_specs_are_refused(&app, &admin, &body).await;

    let mut changed = body.clone();
    changed["committed_days"] = json!(3);
    let res = app
        .put("/api/v1/procedures/1.900001")
        .header("authorization", &admin)
        .json(&changed)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["etag"], "\"v2\"");
    let updated: Value = res.json().await.unwrap();
    assert_eq!(updated["version"], 2);
    assert_eq!(updated["committed_days"], 3);
    // Reads carry the ETag; a write naming an older one is refused, `*` is not.
    let read = app.get("/api/v1/procedures/1.900001").send().await.unwrap();
    assert_eq!(read.headers()["etag"], "\"v2\"");
    let res = app
        .put("/api/v1/procedures/1.900001")
        .header("authorization", &admin)
        .header("if-match", "\"v1\"")
        .json(&changed)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["etag"], "\"v2\"");
    problem(res, 412, "precondition_failed").await;
    for if_match in ["\"v2\"", "*"] {
        let res = app
            .put("/api/v1/procedures/1.900001")
            .header("authorization", &admin)
            .header("if-match", if_match)
            .json(&changed)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{if_match}");
    }
    let res = app
        .put("/api/v1/procedures/1.900009")
        .header("authorization", &admin)
        .json(&changed)
        .send()
        .await
        .unwrap();
    let b = problem(res, 422, "validation_failed").await;
    assert_eq!(b["errors"][0]["code"], "code_mismatch");
    let res = app
        .put("/api/v1/procedures/1.900009")
        .header("authorization", &admin)
        .json(&spec("1.900009", "Y"))
        .send()
        .await
        .unwrap();
    problem(res, 404, "not_found").await;

    let res = app
        .delete("/api/v1/procedures/1.900001")
        .header("authorization", &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let abolished: Value = res.json().await.unwrap();
    assert_eq!(abolished["status"], "abolished");
    assert!(abolished["abolished_at"].is_string());
    let res = app.get("/api/v1/procedures/1.900001").send().await.unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "abolished");
    assert!(
        !codes(&list(&app, "q=giay%20phep%20bieu%20dien").await).contains(&"1.900001".to_owned())
    );
    assert!(
        codes(&list(&app, "q=giay%20phep%20bieu%20dien&status=abolished").await)
            .contains(&"1.900001".to_owned())
    );

    only_administrators_publish(&app).await;
}

/// Only administrators publish procedures.
async fn only_administrators_publish(app: &TestApp) {
    let officer = bearer(&app.token(Role::Officer).await);
    let res = app
        .post("/api/v1/procedures")
        .header("authorization", &officer)
        .json(&spec("1.900004", "Z"))
        .send()
        .await
        .unwrap();
    problem(res, 403, "forbidden").await;
    let res = app
        .post("/api/v1/procedures")
        .json(&spec("1.900004", "Z"))
        .send()
        .await
        .unwrap();
    problem(res, 401, "unauthenticated").await;
}

/// A code taken already, invalid fields, a fractional fee: refused, nothing stored.
async fn bad_specs_are_refused(app: &TestApp, admin: &str, body: &Value) {
    let res = app
        .post("/api/v1/procedures")
        .header("authorization", admin)
        .json(&body)
        .send()
        .await
        .unwrap();
    problem(res, 409, "already_exists").await;
    let mut bad = spec("1.900002", "");
    bad["committed_days"] = json!(9);
    bad["fees"][0]["amount_vnd"] = json!(-5);
    let res = app
        .post("/api/v1/procedures")
        .header("authorization", admin)
        .json(&bad)
        .send()
        .await
        .unwrap();
    let problem_body = problem(res, 422, "validation_failed").await;
    let fields: Vec<&str> = problem_body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "committed_days", "fees[0].amount_vnd"]);
    let mut fractional = spec("1.900003", "X");
    fractional["fees"][0]["amount_vnd"] = json!(1500.5);
    let res = app
        .post("/api/v1/procedures")
        .header("authorization", admin)
        .json(&fractional)
        .send()
        .await
        .unwrap();
    problem(res, 422, "validation_failed").await;
    assert_eq!(
        app.get("/api/v1/procedures/1.900003")
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

async fn import_json_is_all_or_nothing(app: TestApp) {
    let admin = bearer(&app.token(Role::Admin).await);
    let before = list(&app, "status=all&per_page=1").await["total"]
        .as_i64()
        .unwrap();
    let mut bad = spec("1.900012", "Hai");
    bad["committed_days"] = json!(10);
    let rows =
        json!([spec("1.900011", "Một"), bad, {"code": "1.900013"}, spec("1.900011", "Một lặp")]);
    let res = app
        .post("/api/v1/procedures/import")
        .header("authorization", &admin)
        .json(&rows)
        .send()
        .await
        .unwrap();
    let body = problem(res, 422, "validation_failed").await;
    let report = &body["report"];
    assert_eq!(report["applied"], false);
    assert_eq!(report["invalid"], 3);
    let outcomes: Vec<&str> = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["created", "invalid", "invalid", "invalid"]);
    assert_eq!(report["rows"][1]["errors"][0]["field"], "committed_days");
    assert_eq!(report["rows"][2]["errors"][0]["code"], "required");
    assert_eq!(report["rows"][3]["errors"][0]["code"], "duplicate");
    assert_eq!(
        list(&app, "status=all&per_page=1").await["total"]
            .as_i64()
            .unwrap(),
        before
    );

    let mut existing: Value = app
        .get("/api/v1/procedures/1.004630")
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
        existing.as_object_mut().unwrap().remove(key);
    }
    existing["committed_days"] = json!(1);
    let rows = json!([spec("1.900011", "Một"), existing]);
    let res = app
        .post("/api/v1/procedures/import")
        .header("authorization", &admin)
        .json(&rows)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let report: Value = res.json().await.unwrap();
    assert_eq!(
        (report["created"].as_i64(), report["updated"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(
        app.get("/api/v1/procedures/1.004630")
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()["committed_days"],
        1
    );

    malformed_imports_are_refused(&app, &admin).await;
}

/// Broken JSON, another media type or an unknown default agency: refused.
async fn malformed_imports_are_refused(app: &TestApp, admin: &str) {
    let res = app
        .post("/api/v1/procedures/import")
        .header("authorization", admin)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    problem(res, 400, "malformed_json").await;
    let res = app
        .post("/api/v1/procedures/import")
        .header("authorization", admin)
        .header("content-type", "application/xml")
        .body("<x/>")
        .send()
        .await
        .unwrap();
    problem(res, 415, "unsupported_media_type").await;
    let res = app
        .post("/api/v1/procedures/import?default_agency_code=000.99.99.H99")
        .header("authorization", admin)
        .json(&json!([]))
        .send()
        .await
        .unwrap();
    problem(res, 400, "invalid_query").await;
}

async fn import_csv(app: TestApp) {
    let admin = bearer(&app.token(Role::Admin).await);
    let csv = "code,name,sector,levels,regulated_days,committed_days,online_level,effective_date,result,steps,required_documents,legal_basis,fees,fees_payable_online,inter_agency,agency_code,status\n\
               1.900021,Công nhận câu lạc bộ thể thao cơ sở,\"Thể dục, thể thao\",commune,7,5,partial,2025-07-01,Quyết định công nhận,Nộp hồ sơ|Thẩm định|Trả kết quả,Đơn đề nghị|Danh sách thành viên,Luật Thể dục thể thao,,false,false,COMMUNE,active\n\
               1.900022,Cấp phép X,Du lịch,province,10,8,full,2025-07-01,Giấy phép,Nộp|Trả,Đơn,Luật Du lịch,Lệ phí=3.000.000,true,false,,\n";
    let res = app
        .post("/api/v1/procedures/import")
        .header("authorization", &admin)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let report: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["created"], 2);
    let p: Value = app
        .get("/api/v1/procedures/1.900022")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(p["fees"][0]["amount_vnd"], 3_000_000);
    let club: Value = app
        .get("/api/v1/procedures/1.900021")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(club["agency"].is_null());
    assert_eq!(club["sector"], "Thể dục, thể thao");
    let bad = "code,name\n1,2\n";
    let res = app
        .post("/api/v1/procedures/import")
        .header("authorization", &admin)
        .header("content-type", "text/csv")
        .body(bad)
        .send()
        .await
        .unwrap();
    problem(res, 400, "bad_request").await;
}
