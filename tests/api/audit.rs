//! Who changed what: every administrative change leaves an append-only audit
//! entry (who, when, from where, before → after), readable and exportable by
//! administrators; procedures keep every version.

use motcua_domain::Role;
use motcua_tests::{TestApp, bearer, on_both_backends, problem};
use serde_json::{Value, json};

on_both_backends!(
    account_changes_leave_entries,
    agency_and_calendar_changes_leave_entries,
    procedure_changes_and_fees_leave_entries_and_versions,
    a_refused_change_leaves_no_entry,
    the_log_refuses_update_and_delete,
    filters_and_pages,
    export_csv_and_json,
    only_admins_read_the_log,
    payment_configuration_changes_are_recorded,
);

/// The caller's account: (id, full name).
async fn me(app: &TestApp, token: &str) -> (i64, String) {
    let me = app.get_json(token, "/api/v1/me").await;
    (
        me["id"].as_i64().unwrap(),
        me["full_name"].as_str().unwrap().to_owned(),
    )
}

/// The entries of one entity, oldest first.
async fn entries(app: &TestApp, token: &str, entity_type: &str, entity_id: &str) -> Vec<Value> {
    let page = app
        .get_json(
            token,
            &format!("/api/v1/audit?entity_type={entity_type}&entity_id={entity_id}&per_page=100"),
        )
        .await;
    let mut items = page["items"].as_array().unwrap().clone();
    items.reverse();
    items
}

fn changed(entry: &Value) -> Vec<&str> {
    entry["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect()
}

async fn send(req: motcua_tests::client::RequestBuilder, status: u16, request_id: &str) -> Value {
    let res = req.header("x-request-id", request_id).send().await.unwrap();
    let got = res.status().as_u16();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    assert_eq!(got, status, "{body}");
    body
}

async fn account_changes_leave_entries(app: TestApp) {
    let token = app.token(Role::Admin).await;
    let admin = bearer(&token);
    let (admin_id, admin_name) = me(&app, &token).await;
    let dept = app.agency_id("000.00.20.H56").await;
    let other = app.get_json(&token, "/api/v1/agencies?per_page=100").await["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] != dept)
        .unwrap()["id"]
        .as_i64()
        .unwrap();

    let created = send(
        app.post("/api/v1/users")
            .header("authorization", &admin)
            .json(&json!({
                "username": "canbo.audit", "password": "mat-khau-can-bo", "role": "officer",
                "agency_id": dept, "full_name": "Cán bộ Kiểm tra"
            })),
        201,
        "req-create-1",
    )
    .await;
    let id = created["id"].as_i64().unwrap();
    let path = format!("/api/v1/users/{id}");
    for (change, request) in [
        (json!({"phone": "0903 111 222"}), "req-phone"),
        (json!({"role": "leader"}), "req-role"),
        (json!({"agency_id": other}), "req-agency"),
        (json!({"password": "mat-khau-moi-dai"}), "req-password"),
        (json!({"active": false}), "req-lock"),
        (json!({"active": true}), "req-unlock"),
    ] {
        send(
            app.patch(&path)
                .header("authorization", &admin)
                .json(&change),
            200,
            request,
        )
        .await;
    }

    let log = entries(&app, &token, "user", &id.to_string()).await;
    let actions: Vec<&str> = log.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        [
            "create",
            "update",
            "role_change",
            "agency_change",
            "password_change",
            "lock",
            "unlock"
        ]
    );
    let requests: Vec<&str> = log
        .iter()
        .map(|e| e["request_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        requests,
        [
            "req-create-1",
            "req-phone",
            "req-role",
            "req-agency",
            "req-password",
            "req-lock",
            "req-unlock"
        ]
    );
    for e in &log {
        assert_eq!(e["actor_id"], admin_id, "{e}");
        assert_eq!(e["actor_name"], admin_name.as_str());
        assert_eq!(e["client_addr"], "127.0.0.1");
        assert_eq!(e["entity_type"], "user");
        assert_eq!(e["entity_id"], id.to_string());
        assert!(e["at"].as_str().is_some_and(|a| a.ends_with('Z')));
        let text = e.to_string();
        assert!(!text.contains("argon2"), "no password hash: {text}");
        assert!(!text.contains("mat-khau"), "no password: {text}");
    }
    each_change_is_recorded(&log, dept, other);
}

/// What each entry of the account's log says changed, before and after.
fn each_change_is_recorded(log: &[Value], dept: i64, other: i64) {
    let create = &log[0];
    assert!(create["before"].is_null());
    assert_eq!(create["after"]["username"], "canbo.audit");
    assert_eq!(create["after"]["role"], "officer");
    assert_eq!(create["after"]["agency_id"], dept);
    assert_eq!(changed(&log[1]), ["phone"]);
    assert!(log[1]["before"]["phone"].is_null());
    assert_eq!(log[1]["after"]["phone"], "0903111222");
    assert_eq!(changed(&log[2]), ["role"]);
    assert_eq!(
        (&log[2]["before"]["role"], &log[2]["after"]["role"]),
        (&json!("officer"), &json!("leader"))
    );
    assert_eq!(changed(&log[3]), ["agency_id"]);
    assert_eq!(
        (
            &log[3]["before"]["agency_id"],
            &log[3]["after"]["agency_id"]
        ),
        (&json!(dept), &json!(other))
    );
    assert_eq!(changed(&log[4]), ["password"]);
    assert_eq!(log[4]["after"]["password"], "changed");
    assert_eq!(changed(&log[5]), ["active"]);
    assert_eq!(
        (&log[5]["before"]["active"], &log[5]["after"]["active"]),
        (&json!(true), &json!(false))
    );
    assert_eq!(log[6]["after"]["active"], true);
}

async fn agency_and_calendar_changes_leave_entries(app: TestApp) {
    let token = app.token(Role::Admin).await;
    let admin = bearer(&token);
    let (admin_id, _) = me(&app, &token).await;
    let agency = send(
        app.post("/api/v1/agencies")
            .header("authorization", &admin)
            .json(&json!({"code": "000.00.21.H56", "name": "Sở Thử nghiệm", "level": "province"})),
        201,
        "req-agency",
    )
    .await;
    let id = agency["id"].as_i64().unwrap().to_string();
    let log = entries(&app, &token, "agency", &id).await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["action"], "create");
    assert_eq!(log[0]["actor_id"], admin_id);
    assert_eq!(log[0]["request_id"], "req-agency");
    assert!(log[0]["before"].is_null());
    assert_eq!(log[0]["after"]["code"], "000.00.21.H56");
    assert_eq!(log[0]["after"]["name"], "Sở Thử nghiệm");

    // A weekday made a holiday, renamed, then given back to the weekly rule.
    let day = "/api/v1/calendar/days/2027-03-10";
    send(
        app.put(day)
            .header("authorization", &admin)
            .json(&json!({"kind": "holiday", "name": "Nghỉ bù"})),
        200,
        "req-day-1",
    )
    .await;
    send(
        app.put(day)
            .header("authorization", &admin)
            .json(&json!({"kind": "holiday", "name": "Nghỉ lễ đặc biệt"})),
        200,
        "req-day-2",
    )
    .await;
    let res = app
        .delete(day)
        .header("authorization", &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    // Removing a day that is no exception changes nothing and records nothing.
    let res = app
        .delete(day)
        .header("authorization", &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let log = entries(&app, &token, "calendar_day", "2027-03-10").await;
    let actions: Vec<&str> = log.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["set", "set", "remove"]);
    assert!(log[0]["before"].is_null());
    assert_eq!(
        log[0]["after"],
        json!({"date": "2027-03-10", "kind": "holiday", "name": "Nghỉ bù"})
    );
    assert_eq!(log[1]["before"]["name"], "Nghỉ bù");
    assert_eq!(log[1]["after"]["name"], "Nghỉ lễ đặc biệt");
    assert_eq!(changed(&log[1]), ["name"]);
    assert_eq!(log[2]["before"]["name"], "Nghỉ lễ đặc biệt");
    assert!(log[2]["after"].is_null());
}

fn spec(code: &str, name: &str, fee: i64) -> Value {
    json!({
        "code": code,
        "name": name,
        "sector": "Nghệ thuật biểu diễn",
        "levels": ["province"],
        "regulated_days": 5,
        "committed_days": 4,
        "steps": ["Bước 1: Nộp hồ sơ", "Bước 2: Nhận kết quả"],
        "required_documents": [{"name": "Văn bản đề nghị", "originals": 1}],
        "fees": [{"code": "F1", "name": "Phí thẩm định", "amount_vnd": fee, "payable_online": true}],
        "legal_basis": ["Nghị định số 144/2020/NĐ-CP"],
        "result": "Giấy phép",
        "online_level": "full",
        "effective_date": "2026-01-01"
    })
}

async fn procedure_changes_and_fees_leave_entries_and_versions(app: TestApp) {
    let token = app.token(Role::Admin).await;
    let admin = bearer(&token);
    let (admin_id, admin_name) = me(&app, &token).await;
    let code = "1.900101";
    let path = format!("/api/v1/procedures/{code}");
    send(
        app.post("/api/v1/procedures")
            .header("authorization", &admin)
            .json(&spec(code, "Tên đầu tiên", 1_500_000)),
        201,
        "req-p1",
    )
    .await;
    // A new name, same fee.
    send(
        app.put(&path)
            .header("authorization", &admin)
            .json(&spec(code, "Tên thứ hai", 1_500_000)),
        200,
        "req-p2",
    )
    .await;
    // Same name, a new fee.
    send(
        app.put(&path)
            .header("authorization", &admin)
            .json(&spec(code, "Tên thứ hai", 2_000_000)),
        200,
        "req-p3",
    )
    .await;
    // Through the bulk import.
    let imported = send(
        app.post("/api/v1/procedures/import")
            .header("authorization", &admin)
            .json(&json!([spec(code, "Tên thứ ba", 2_000_000)])),
        200,
        "req-p4",
    )
    .await;
    assert_eq!(imported["updated"], 1);
    send(
        app.delete(&path).header("authorization", &admin),
        200,
        "req-p5",
    )
    .await;

    let log = entries(&app, &token, "procedure", code).await;
    let actions: Vec<&str> = log.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["create", "update", "update", "import", "abolish"]);
    for (i, e) in log.iter().enumerate() {
        assert_eq!(e["actor_id"], admin_id);
        assert_eq!(e["actor_name"], admin_name.as_str());
        assert_eq!(e["request_id"], format!("req-p{}", i + 1));
        assert_eq!(e["after"]["version"], i + 1);
    }
    assert!(log[0]["before"].is_null());
    assert_eq!(log[0]["after"]["spec"]["name"], "Tên đầu tiên");
    assert_eq!(log[1]["before"]["spec"]["name"], "Tên đầu tiên");
    assert_eq!(log[1]["after"]["spec"]["name"], "Tên thứ hai");
    assert_eq!(log[4]["before"]["status"], "active");
    assert_eq!(log[4]["after"]["status"], "abolished");

    // Money: the fee schedule on creation and its one change, nothing for the others.
    let fees = entries(&app, &token, "procedure_fees", code).await;
    let actions: Vec<&str> = fees.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["create", "update"]);
    assert_eq!(fees[1]["request_id"], "req-p3");
    assert_eq!(fees[1]["before"][0]["amount_vnd"], 1_500_000);
    assert_eq!(fees[1]["after"][0]["amount_vnd"], 2_000_000);

    every_version_is_listed_publicly(&app, &path).await;
    let as_admin = app.get_json(&token, &format!("{path}/history")).await;
    assert_eq!(as_admin["items"][0]["changed_by"]["id"], admin_id);
    assert_eq!(
        as_admin["items"][0]["changed_by"]["name"],
        admin_name.as_str()
    );
    let paged: Value = app
        .get(&format!("{path}/history?per_page=2&page=3"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(paged["items"].as_array().unwrap().len(), 1);
    assert_eq!(paged["items"][0]["version"], 1);

    each_version_reads_whole(&app, &path).await;
    // Seeded procedures have their first version too, by the system.
    let seeded = app.get_json(&token, "/api/v1/procedures?per_page=1").await;
    let seeded_code = seeded["items"][0]["code"].as_str().unwrap().to_owned();
    let h = app
        .get_json(&token, &format!("/api/v1/procedures/{seeded_code}/history"))
        .await;
    assert_eq!(h["total"], 1);
    assert_eq!(h["items"][0]["action"], "import");
    assert!(h["items"][0]["changed_by"]["id"].is_null());
    assert_eq!(h["items"][0]["changed_by"]["name"], "system:seed");
}

/// Every version, newest first, public like the catalog (without who changed it).
async fn every_version_is_listed_publicly(app: &TestApp, path: &str) {
    // Every version, newest first, public like the catalog.
    let res = app.get(&format!("{path}/history")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let history: Value = res.json().await.unwrap();
    assert_eq!(history["total"], 5);
    let versions: Vec<(i64, &str, &str)> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["version"].as_i64().unwrap(),
                v["action"].as_str().unwrap(),
                v["name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        versions,
        [
            (5, "abolish", "Tên thứ ba"),
            (4, "import", "Tên thứ ba"),
            (3, "update", "Tên thứ hai"),
            (2, "update", "Tên thứ hai"),
            (1, "create", "Tên đầu tiên"),
        ]
    );
    assert!(
        history["items"][0].get("changed_by").is_none(),
        "who changed it is for administrators"
    );
}

/// Each version whole: the first one as it was published, the fee of the third, the abolition; none past the last.
async fn each_version_reads_whole(app: &TestApp, path: &str) {
    // Each version whole: the first one as it was published.
    let first: Value = app
        .get(&format!("{path}/history/1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(first["version"], 1);
    assert_eq!(first["status"], "active");
    assert_eq!(first["spec"]["name"], "Tên đầu tiên");
    assert_eq!(first["spec"]["fees"][0]["amount_vnd"], 1_500_000);
    let third: Value = app
        .get(&format!("{path}/history/3"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(third["spec"]["fees"][0]["amount_vnd"], 2_000_000);
    let last: Value = app
        .get(&format!("{path}/history/5"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(last["status"], "abolished");
    let res = app.get(&format!("{path}/history/6")).send().await.unwrap();
    problem(res, 404, "not_found").await;
    let res = app
        .get("/api/v1/procedures/9.999999/history")
        .send()
        .await
        .unwrap();
    problem(res, 404, "not_found").await;
}

async fn a_refused_change_leaves_no_entry(app: TestApp) {
    let token = app.token(Role::Admin).await;
    let admin = bearer(&token);
    let before = app.get_json(&token, "/api/v1/audit?per_page=1").await["total"]
        .as_i64()
        .unwrap();
    let (taken, _) = app.account(Role::Officer);
    let dept = app.agency_id("000.00.20.H56").await;
    let res = app
        .post("/api/v1/users")
        .header("authorization", &admin)
        .json(&json!({"username": taken, "password": "mat-khau-can-bo", "role": "officer", "agency_id": dept, "full_name": "Trùng"}))
        .send()
        .await
        .unwrap();
    problem(res, 409, "already_exists").await;
    let res = app
        .patch("/api/v1/users/987654")
        .header("authorization", &admin)
        .json(&json!({"full_name": "Không có"}))
        .send()
        .await
        .unwrap();
    problem(res, 404, "not_found").await;
    let res = app
        .put("/api/v1/procedures/9.999999")
        .header("authorization", &admin)
        .json(&spec("9.999999", "Không có", 1))
        .send()
        .await
        .unwrap();
    problem(res, 404, "not_found").await;
    let after = app.get_json(&token, "/api/v1/audit?per_page=1").await["total"]
        .as_i64()
        .unwrap();
    assert_eq!(after, before);
}

async fn the_log_refuses_update_and_delete(app: TestApp) {
    use diesel::connection::SimpleConnection;
    let token = app.token(Role::Admin).await;
    let admin = bearer(&token);
    send(
        app.put("/api/v1/calendar/days/2027-03-10")
            .header("authorization", &admin)
            .json(&json!({"kind": "holiday", "name": "Nghỉ bù"})),
        200,
        "req-1",
    )
    .await;
    let count = |conn: &mut motcua_persistence::AnyConnection, table: &str| -> i64 {
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"))
            .get_result::<N>(conn)
            .unwrap()
            .n
    };
    let mut conn = app.pool.get().unwrap();
    let entries = count(&mut conn, "audit_log");
    let versions = count(&mut conn, "procedure_versions");
    assert!(entries > 0 && versions > 0);
    let mut refused = vec![
        "UPDATE audit_log SET action = 'nothing'",
        "UPDATE audit_log SET after_json = NULL WHERE entity_type = 'calendar_day'",
        "DELETE FROM audit_log",
        "DELETE FROM audit_log WHERE entity_type = 'calendar_day'",
        "UPDATE procedure_versions SET spec = '{}'",
        "DELETE FROM procedure_versions",
    ];
    if app.backend == motcua_persistence::Backend::Postgres {
        refused.extend(["TRUNCATE audit_log", "TRUNCATE procedure_versions"]);
    }
    for sql in refused {
        let err = conn
            .batch_execute(sql)
            .expect_err(&format!("{sql} must be refused"));
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    assert_eq!(count(&mut conn, "audit_log"), entries);
    assert_eq!(count(&mut conn, "procedure_versions"), versions);
    // Appending still works.
    drop(conn);
    send(
        app.delete("/api/v1/calendar/days/2027-03-10")
            .header("authorization", &admin),
        204,
        "req-2",
    )
    .await;
    let mut conn = app.pool.get().unwrap();
    assert_eq!(count(&mut conn, "audit_log"), entries + 1);
}

async fn filters_and_pages(app: TestApp) {
    let token = app.token(Role::Admin).await;
    let admin = bearer(&token);
    let (admin_id, _) = me(&app, &token).await;
    for (date, name) in [
        ("2027-03-10", "Một"),
        ("2027-03-11", "Hai"),
        ("2027-03-12", "Ba"),
    ] {
        send(
            app.put(&format!("/api/v1/calendar/days/{date}"))
                .header("authorization", &admin)
                .json(&json!({"kind": "holiday", "name": name})),
            200,
            "req",
        )
        .await;
    }
    let page = app
        .get_json(&token, "/api/v1/audit?entity_type=calendar_day&per_page=2")
        .await;
    assert_eq!(page["total"], 3);
    assert_eq!(page["page"], 1);
    assert_eq!(page["per_page"], 2);
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    // Newest first.
    assert_eq!(items[0]["entity_id"], "2027-03-12");
    assert!(items[0]["id"].as_i64() > items[1]["id"].as_i64());
    let page2 = app
        .get_json(
            &token,
            "/api/v1/audit?entity_type=calendar_day&per_page=2&page=2",
        )
        .await;
    assert_eq!(page2["items"][0]["entity_id"], "2027-03-10");

    let mine = app
        .get_json(
            &token,
            &format!("/api/v1/audit?actor={admin_id}&entity_type=calendar_day"),
        )
        .await;
    assert_eq!(mine["total"], 3);
    let nobody = app.get_json(&token, "/api/v1/audit?actor=987654").await;
    assert_eq!(nobody["total"], 0);
    // The seed's imports are the system's.
    let all = app
        .get_json(&token, "/api/v1/audit?entity_type=procedure&per_page=1")
        .await;
    assert!(all["total"].as_i64().unwrap() >= 40);
    assert_eq!(all["items"][0]["actor_name"], "system:seed");
    assert!(all["items"][0]["actor_id"].is_null());

    // Time windows: what was recorded is inside its own instant, and outside a window before it.
    let at = items[0]["at"].as_str().unwrap().to_owned();
    let encoded = at.replace('+', "%2B");
    let from_then = app
        .get_json(
            &token,
            &format!("/api/v1/audit?entity_type=calendar_day&from={encoded}"),
        )
        .await;
    assert!(
        from_then["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["entity_id"] == "2027-03-12")
    );
    let until_then = app
        .get_json(
            &token,
            &format!("/api/v1/audit?entity_type=calendar_day&to={encoded}"),
        )
        .await;
    assert!(
        !until_then["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["entity_id"] == "2027-03-12")
    );
    let old = app
        .get_json(
            &token,
            "/api/v1/audit?entity_type=calendar_day&from=2000-01-01&to=2000-12-31",
        )
        .await;
    assert_eq!(old["total"], 0);
    bad_queries_are_refused(&app, &admin).await;
}

async fn bad_queries_are_refused(app: &TestApp, admin: &str) {
    for bad in [
        "entity_type=users",
        "from=yesterday",
        "to=2026-13-01",
        "from=2026-02-01&to=2026-01-01",
        "actor=abc",
        "per_page=1000",
        "colour=blue",
    ] {
        let res = app
            .get(&format!("/api/v1/audit?{bad}"))
            .header("authorization", admin)
            .send()
            .await
            .unwrap();
        problem(res, 400, "invalid_query").await;
    }
}

/// Renames the administrator to a formula (it heads the actor_name cell of
/// every later entry), creates an officer and locks it; returns its id.
async fn rename_create_and_lock(app: &TestApp, token: &str, admin: &str) -> i64 {
    let (admin_id, _) = me(app, token).await;
    let dept = app.agency_id("000.00.20.H56").await;
    // The administrator's own name becomes one a spreadsheet would run as a
    // formula: it heads the actor_name cell of every later entry.
    send(
        app.patch(&format!("/api/v1/users/{admin_id}"))
            .header("authorization", admin)
            .json(&json!({"full_name": "=HYPERLINK(\"http://x\")"})),
        200,
        "req-rename",
    )
    .await;
    let created = send(
        app.post("/api/v1/users")
            .header("authorization", admin)
            .json(&json!({
                "username": "xuat.csv", "password": "mat-khau-can-bo", "role": "officer",
                "agency_id": dept, "full_name": "Cán bộ Xuất"
            })),
        201,
        "req-create",
    )
    .await;
    let id = created["id"].as_i64().unwrap();
    send(
        app.patch(&format!("/api/v1/users/{id}"))
            .header("authorization", admin)
            .json(&json!({"active": false})),
        200,
        "req-lock",
    )
    .await;
    id
}

async fn export_csv_and_json(app: TestApp) {
    let token = app.token(Role::Admin).await;
    let admin = bearer(&token);
    let id = rename_create_and_lock(&app, &token, &admin).await;

    let res = app
        .get("/api/v1/audit/export?format=json&entity_type=user")
        .header("authorization", &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains(".json")
    );
    let json: Vec<Value> = res.json().await.unwrap();
    let actions: Vec<&str> = json.iter().map(|e| e["action"].as_str().unwrap()).collect();
    // Oldest first; the seed records no account changes.
    assert_eq!(actions, ["update", "create", "lock"]);
    assert_eq!(json[2]["before"]["active"], true);
    assert_eq!(json[2]["after"]["active"], false);
    assert_eq!(json[2]["actor_name"], "=HYPERLINK(\"http://x\")");

    let res = app
        .get(&format!(
            "/api/v1/audit/export?format=csv&entity_type=user&entity_id={id}"
        ))
        .header("authorization", &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"].to_str().unwrap(),
        "text/csv; charset=utf-8"
    );
    let text = res.text().await.unwrap();
    let text = text.trim_start_matches('\u{feff}');
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "id,at,actor_id,actor_username,actor_name,client_addr,request_id,entity_type,entity_id,action,changed,before,after"
    );
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[1].contains(",req-create,user,"), "{}", lines[1]);
    assert!(lines[2].contains(",req-lock,user,"), "{}", lines[2]);
    assert!(lines[2].contains(",lock,active,"), "{}", lines[2]);
    // The name's cell starts with `'`: a spreadsheet shows it, never runs it.
    assert!(
        lines[2].contains(",\"'=HYPERLINK(\"\"http://x\"\")\","),
        "{}",
        lines[2]
    );
    assert!(!text.contains(",=HYPERLINK"), "{text}");
    assert!(!text.contains(",\"=HYPERLINK"), "{text}");
    // CSV is the default; the whole log exports.
    let res = app
        .get("/api/v1/audit/export")
        .header("authorization", &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let all = res.text().await.unwrap();
    let total = app.get_json(&token, "/api/v1/audit?per_page=1").await["total"]
        .as_i64()
        .unwrap();
    // One header line, one line per entry (JSON cells hold no raw newlines).
    assert_eq!(i64::try_from(all.lines().count()).unwrap(), total + 1);

    let res = app
        .get("/api/v1/audit/export?format=xml")
        .header("authorization", &admin)
        .send()
        .await
        .unwrap();
    problem(res, 400, "invalid_query").await;
}

async fn only_admins_read_the_log(app: TestApp) {
    for role in [
        Role::Officer,
        Role::Leader,
        Role::Citizen,
        Role::Integration,
    ] {
        let token = bearer(&app.token(role).await);
        for path in [
            "/api/v1/audit",
            "/api/v1/audit/export",
            "/api/v1/audit/export?format=json",
        ] {
            let res = app
                .get(path)
                .header("authorization", &token)
                .send()
                .await
                .unwrap();
            problem(res, 403, "forbidden").await;
        }
    }
    for path in ["/api/v1/audit", "/api/v1/audit/export"] {
        let res = app.get(path).send().await.unwrap();
        problem(res, 401, "unauthenticated").await;
    }
}

/// The payment configuration is read at start-up; a start with a different
/// one leaves an entry, a start with the same one does not.
async fn payment_configuration_changes_are_recorded(app: TestApp) {
    let token = app.token(Role::Admin).await;
    let record = |payments: motcua_app::settings::PaymentSettings| {
        let pool = app.pool.clone();
        async move {
            actix_web::rt::task::spawn_blocking(move || {
                motcua::record_payment_config(&pool, &payments, chrono::Utc::now()).unwrap()
            })
            .await
            .unwrap()
        }
    };
    let mut payments = motcua_app::settings::PaymentSettings::default();
    assert!(
        record(payments.clone()).await,
        "the first start is recorded"
    );
    assert!(!record(payments.clone()).await, "an unchanged start is not");
    payments.gateway = motcua_app::settings::GatewayKind::Vnpay;
    payments.tmn_code = "MERCHANT9".into();
    payments.hash_secret = Some(motcua_app::settings::Secret::new(
        "a-real-signing-secret-kept-out-of-logs",
    ));
    payments.expiry_secs = 600;
    assert!(record(payments.clone()).await);
    assert!(!record(payments.clone()).await);

    let log = entries(&app, &token, "payment_config", "gateway").await;
    assert_eq!(log.len(), 2);
    assert!(log[0]["before"].is_null());
    assert_eq!(log[0]["after"]["gateway"], "sandbox");
    assert_eq!(log[1]["action"], "configure");
    assert_eq!(log[1]["actor_name"], "system:startup");
    assert_eq!(log[1]["before"]["tmn_code"], "SANDBOX1");
    assert_eq!(log[1]["after"]["tmn_code"], "MERCHANT9");
    assert_eq!(
        changed(&log[1]),
        [
            "expiry_secs",
            "gateway",
            "signing_key_fingerprint",
            "tmn_code"
        ]
    );
    let text = log[1].to_string();
    assert!(!text.contains("a-real-signing-secret"), "{text}");
}
