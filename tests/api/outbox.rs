//! The outbox seen from outside: every change the use cases make is told
//! once, in order, on the change feed (dossiers through their life, payments
//! to paid and refunded, feedback answered, procedures created, changed and
//! abolished); a settlement raced by duplicate notifications and the status
//! query job is told once; the outbox metrics over `/metrics`.

use motcua::seed::DEMO_CITIZEN_ID;
use motcua_domain::Role;
use motcua_tests::{PDF, TestApp, bearer, on_both_backends};
use serde_json::{Value, json};

use crate::catalog::spec;
use crate::dossiers::{submit_reissue, to_review};
use crate::payments::{
    complete, dossier_with_fees, ipn, notification, payment, run_jobs, set_payment_expired, signed,
    start, visit,
};

on_both_backends!(
    a_dossier_life_and_its_payment_are_told_in_order,
    feedback_and_catalog_changes_are_told,
    a_raced_settlement_is_paid_once,
    a_failed_change_leaves_no_event_and_a_committed_one_has_one,
    outbox_metrics_count_lag_events_and_deliveries,
);

/// Follows the feed from the start as `token` until `want` events arrived
/// (on PostgreSQL the horizon is cluster-wide: other tests' transactions may
/// hold fresh events back for a moment), then checks nothing more comes.
async fn feed(app: &TestApp, token: &str, query: &str, want: usize) -> Vec<Value> {
    let mut after = String::new();
    let mut seen: Vec<Value> = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while seen.len() < want {
        assert!(
            std::time::Instant::now() < deadline,
            "only {} of {want}: {:?}",
            seen.len(),
            pairs(&seen)
        );
        let page = app
            .get_json(
                token,
                &format!("/api/v1/events?limit=100&after={after}{query}"),
            )
            .await;
        after = page["next"].as_str().unwrap().to_owned();
        let items = page["items"].as_array().unwrap();
        if items.is_empty() {
            actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        seen.extend(items.iter().cloned());
    }
    // Give a stray late event a moment to show, then insist there is none.
    actix_web::rt::time::sleep(std::time::Duration::from_millis(200)).await;
    let page = app
        .get_json(token, &format!("/api/v1/events?after={after}{query}"))
        .await;
    assert_eq!(
        page["items"],
        json!([]),
        "more than {want}: {:?}",
        pairs(&seen)
    );
    seen
}

fn pairs(items: &[Value]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap_or("?").to_owned(),
                e["subject"].as_str().unwrap_or("?").to_owned(),
            )
        })
        .collect()
}

fn expect(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(t, s)| ((*t).to_owned(), (*s).to_owned()))
        .collect()
}

async fn a_dossier_life_and_its_payment_are_told_in_order(app: TestApp) {
    let admin = app.token(Role::Admin).await;
    let citizen = app.token_of(DEMO_CITIZEN_ID).await;
    let officer = app.token(Role::Officer).await;
    let handler = app.token_of("demo.handler").await;
    let leader = app.token(Role::Leader).await;

    let a = the_full_life(&app, &citizen, &officer, &handler, &leader).await;

    let (b, c, d, commune) = refused_withdrawn_cancelled(&app, &citizen, &officer, &handler).await;

    let (e, payment_id) = paid_then_refunded(&app, &citizen, &officer).await;

    let pid = payment_id.as_str();
    let want = expect(&[
        ("dossier.submitted", &a),
        ("dossier.received", &a),
        ("dossier.assigned", &a),
        ("dossier.supplement_requested", &a),
        ("dossier.supplemented", &a),
        ("dossier.proposed", &a),
        ("dossier.approved", &a),
        ("dossier.result_issued", &a),
        ("dossier.returned", &a),
        ("dossier.submitted", &b),
        ("dossier.refused", &b),
        ("dossier.submitted", &c),
        ("dossier.withdrawn", &c),
        ("dossier.submitted", &d),
        ("dossier.received", &d),
        ("dossier.assigned", &d),
        ("dossier.transferred", &d),
        ("dossier.cancelled", &d),
        ("dossier.submitted", &e),
        ("payment.created", pid),
        ("payment.paid", pid),
        ("payment.refunded", pid),
    ]);
    let events = feed(&app, &admin, "", want.len()).await;
    assert_eq!(pairs(&events), want);

    check_payloads(&events, (&a, &e), pid, app.demo.department_id, commune);

    // A reader of one type and one subject's kind sees just those.
    let returns = feed(&app, &admin, "&types=dossier.returned,payment.paid", 2).await;
    assert_eq!(
        pairs(&returns),
        expect(&[("dossier.returned", &a), ("payment.paid", pid)])
    );
}

async fn feedback_and_catalog_changes_are_told(app: TestApp) {
    let admin = app.token(Role::Admin).await;
    let officer = app.token(Role::Officer).await;
    let (id, tracking) = answered_once_then_closed(&app, &officer).await;

    procedure_changes(&app, &admin).await;

    let subject = id.to_string();
    let want = expect(&[
        ("feedback.answered", &subject),
        ("procedure.created", "1.900001"),
        ("procedure.changed", "1.900001"),
        ("procedure.abolished", "1.900001"),
        ("procedure.created", "1.900002"),
        ("procedure.changed", "1.900001"),
    ]);
    let events = feed(&app, &admin, "", want.len()).await;
    assert_eq!(pairs(&events), want);
    let answered = &events[0]["data"];
    assert_eq!(answered["feedback_id"], id);
    assert_eq!(answered["tracking_code"], tracking.as_str());
    assert_eq!(answered["action"], "answer");
    assert_eq!(answered["status"], "answered");
    assert!(
        !events[0]["data"].to_string().contains("0912"),
        "no contact"
    );
    let versions: Vec<&Value> = events[1..].iter().map(|e| &e["data"]["version"]).collect();
    assert_eq!(
        versions,
        [&json!(1), &json!(2), &json!(3), &json!(1), &json!(4)]
    );
    assert_eq!(events[3]["data"]["status"], "abolished");
    assert_eq!(events[5]["data"]["status"], "active");
}

/// Dossier A: received, routed, supplemented, decided, issued and returned.
async fn the_full_life(
    app: &TestApp,
    citizen: &str,
    officer: &str,
    handler: &str,
    leader: &str,
) -> String {
    let a = submit_reissue(app, citizen).await.code().to_owned();
    to_review(app, &a).await;
    app.act_ok(
        handler,
        &a,
        &json!({"action": "request_supplement", "missing": ["Bản sao giấy phép có chứng thực"]}),
    )
    .await;
    let res = app
        .upload_to(
            citizen,
            &a,
            PDF,
            &[("requirement", "D2"), ("title", "Bản sao")],
        )
        .await;
    assert_eq!(res.status(), 201);
    app.act_ok(citizen, &a, &json!({"action": "supplement"}))
        .await;
    app.act_ok(
        handler,
        &a,
        &json!({"action": "propose", "note": "Đủ điều kiện"}),
    )
    .await;
    app.act_ok(leader, &a, &json!({"action": "approve"})).await;
    app.act_ok(
        handler,
        &a,
        &json!({"action": "issue_result", "paper_result": true}),
    )
    .await;
    let returned = app.act_ok(officer, &a, &json!({"action": "return"})).await;
    assert_eq!(returned.body["status"], "returned");
    a
}

/// B refused at reception, C withdrawn, D transferred (to the returned
/// commune) then cancelled.
async fn refused_withdrawn_cancelled(
    app: &TestApp,
    citizen: &str,
    officer: &str,
    handler: &str,
) -> (String, String, String, i64) {
    let b = submit_reissue(app, citizen).await.code().to_owned();
    app.act_ok(
        officer,
        &b,
        &json!({"action": "refuse", "note": "Không thuộc thẩm quyền"}),
    )
    .await;
    let c = submit_reissue(app, citizen).await.code().to_owned();
    app.act_ok(citizen, &c, &json!({"action": "withdraw"}))
        .await;
    let d = submit_reissue(app, citizen).await.code().to_owned();
    to_review(app, &d).await;
    let commune = app.agency_id("000.00.31.H56").await;
    app.act_ok(
        handler,
        &d,
        &json!({"action": "transfer", "target_agency_id": commune, "note": "Xin ý kiến"}),
    )
    .await;
    app.act_ok(
        officer,
        &d,
        &json!({"action": "cancel", "note": "Trùng hồ sơ"}),
    )
    .await;
    (b, c, d, commune)
}

/// E: fees paid online, then partly refunded; its code and the payment's id.
async fn paid_then_refunded(app: &TestApp, citizen: &str, officer: &str) -> (String, String) {
    let (_, e) = dossier_with_fees(app).await;
    let p = start(app, citizen, &e).await;
    let payment_id = p["id"].as_str().unwrap().to_owned();
    let txn_ref = visit(app, &p).await;
    complete(app, &txn_ref, "pay", "once").await;
    let res = app
        .post(&format!("/api/v1/payments/{payment_id}/refunds"))
        .header("authorization", bearer(officer))
        .json(&json!({"amount_vnd": 500_000, "reason": "Thu thừa"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    (e, payment_id)
}

/// Payloads: typed, the agency the dossier belongs to, distinct ids, no
/// personal data.
fn check_payloads(
    events: &[Value],
    (a, e): (&str, &str),
    pid: &str,
    department: i64,
    commune: i64,
) {
    let ids: std::collections::HashSet<&str> =
        events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), events.len());
    for event in events {
        assert_eq!(event["agency_id"], department, "{event}");
        assert_eq!(event["version"], 1);
    }
    let submitted = &events[0]["data"];
    assert_eq!(submitted["code"], a);
    assert_eq!(submitted["procedure_code"], "2.001584");
    assert_eq!(submitted["status"], "submitted");
    assert_eq!(submitted["previous_status"], Value::Null);
    assert_eq!(submitted["action"], Value::Null);
    let received = &events[1]["data"];
    assert_eq!(received["status"], "received");
    assert_eq!(received["previous_status"], "submitted");
    assert_eq!(received["action"], "receive");
    assert!(received["due_at"].is_string());
    assert_eq!(received["due_at"], received["appointment_at"]);
    let transferred = &events[16]["data"];
    assert_eq!(transferred["handling_agency_id"], commune);
    let paid = &events[20]["data"];
    assert_eq!(paid["payment_id"], pid);
    assert_eq!(paid["dossier_code"], e);
    assert_eq!(paid["amount_vnd"], 1_500_000);
    assert_eq!(paid["status"], "success");
    assert_eq!(paid["method"], "online");
    let refunded = &events[21]["data"];
    assert_eq!(refunded["refunded_vnd"], 500_000);
    assert!(refunded["refund_id"].is_string());
    for event in events {
        let text = event["data"].to_string();
        assert!(
            !text.contains("Nguyễn") && !text.contains(DEMO_CITIZEN_ID),
            "{text}"
        );
    }
}

/// A feedback asked more of, answered, refused a second answer and closed:
/// its id and tracking code.
async fn answered_once_then_closed(app: &TestApp, officer: &str) -> (i64, String) {
    let res = app
        .post("/api/v1/feedback")
        .json(&json!({
            "procedure_code": "2.001584",
            "subject": "Bỏ yêu cầu nộp bản sao giấy phép cũ",
            "content": "Giấy phép cũ đã có trong hệ thống.",
            "contact": "0912 345 678"
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let sent: Value = res.json().await.unwrap();
    let tracking = sent["tracking_code"].as_str().unwrap().to_owned();
    let id = sent["id"].as_i64().unwrap();
    let reply = |body: Value| {
        let req = app
            .post(&format!("/api/v1/feedback/{id}/reply"))
            .header("authorization", bearer(officer))
            .json(&body);
        async move { req.send().await.unwrap() }
    };
    // Asking for more is not an answer; answering is; closing is not.
    let res = reply(json!({"action": "request_info", "content": "Số giấy phép cũ?"})).await;
    assert_eq!(res.status(), 200);
    let res = app
        .post(&format!("/api/v1/feedback/tracking/{tracking}/info"))
        .json(&json!({"content": "Giấy phép số 12/GP-STTTT."}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = reply(json!({"action": "answer", "content": "Sở đã kiến nghị bỏ."})).await;
    assert_eq!(res.status(), 200);
    // A refused second answer writes nothing.
    let res = reply(json!({"action": "answer", "content": "Lần nữa"})).await;
    assert_eq!(res.status(), 409);
    let res = reply(json!({"action": "close"})).await;
    assert_eq!(res.status(), 200);
    (id, tracking)
}

/// 1.900001 created (a second create refused), changed, abolished twice,
/// then imported again with the new 1.900002.
async fn procedure_changes(app: &TestApp, admin: &str) {
    let auth = bearer(admin);
    let res = app
        .post("/api/v1/procedures")
        .header("authorization", &auth)
        .json(&spec(
            "1.900001",
            "Cấp giấy phép tổ chức biểu diễn thử nghiệm",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    // A taken code is refused and tells nothing.
    let res = app
        .post("/api/v1/procedures")
        .header("authorization", &auth)
        .json(&spec("1.900001", "Trùng mã"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    let res = app
        .put("/api/v1/procedures/1.900001")
        .header("authorization", &auth)
        .json(&spec(
            "1.900001",
            "Cấp giấy phép tổ chức biểu diễn (sửa đổi)",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    for _ in 0..2 {
        // Abolishing twice tells once.
        let res = app
            .delete("/api/v1/procedures/1.900001")
            .header("authorization", &auth)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    let res = app
        .post("/api/v1/procedures/import")
        .header("authorization", &auth)
        .json(&json!([
            spec("1.900002", "Thủ tục nhập mới"),
            spec("1.900001", "Cấp giấy phép tổ chức biểu diễn (nhập lại)")
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

/// Makes every write to `table` fail, in this test's database, from now on
/// (a trigger raising an error: statements already prepared by the pool's
/// connections fail too).
fn fail_writes(app: &TestApp, table: &str) {
    use diesel::connection::SimpleConnection;
    let sql = match app.backend {
        motcua_persistence::Backend::Sqlite => format!(
            "CREATE TRIGGER forced_{table}_insert BEFORE INSERT ON {table} \
             BEGIN SELECT RAISE(ABORT, 'forced failure'); END; \
             CREATE TRIGGER forced_{table}_update BEFORE UPDATE ON {table} \
             BEGIN SELECT RAISE(ABORT, 'forced failure'); END;"
        ),
        motcua_persistence::Backend::Postgres => format!(
            "CREATE OR REPLACE FUNCTION forced_failure() RETURNS trigger LANGUAGE plpgsql \
             AS $$ BEGIN RAISE EXCEPTION 'forced failure'; END $$; \
             CREATE TRIGGER forced_{table} BEFORE INSERT OR UPDATE ON {table} \
             FOR EACH ROW EXECUTE FUNCTION forced_failure();"
        ),
    };
    app.pool.get().unwrap().batch_execute(&sql).unwrap();
}

fn allow_writes(app: &TestApp, table: &str) {
    use diesel::connection::SimpleConnection;
    let sql = match app.backend {
        motcua_persistence::Backend::Sqlite => {
            format!("DROP TRIGGER forced_{table}_insert; DROP TRIGGER forced_{table}_update;")
        }
        motcua_persistence::Backend::Postgres => {
            format!("DROP TRIGGER forced_{table} ON {table};")
        }
    };
    app.pool.get().unwrap().batch_execute(&sql).unwrap();
}

/// A change that fails after its event was appended leaves no event (the
/// dossier's KPI facts are written after its event); a change whose event
/// cannot be written does not happen (filing, feedback answer, procedure,
/// payment settlement); once writes work again, each change has one event.
async fn a_failed_change_leaves_no_event_and_a_committed_one_has_one(app: TestApp) {
    let admin = app.token(Role::Admin).await;
    let citizen = app.token_of(DEMO_CITIZEN_ID).await;
    let officer = app.token(Role::Officer).await;
    let a = submit_reissue(&app, &citizen).await.code().to_owned();
    let (_, e) = dossier_with_fees(&app).await;
    let p = start(&app, &citizen, &e).await;
    let pid = p["id"].as_str().unwrap().to_owned();
    let txn_ref = visit(&app, &p).await;
    let report = complete(&app, &txn_ref, "pay", "never").await;
    let ipn_url = report["notification_url"].as_str().unwrap().to_owned();
    let res = app
        .post("/api/v1/feedback")
        .json(&json!({"procedure_code": "2.001584", "subject": "Góp ý", "content": "Nội dung góp ý.", "contact": "0912345678"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let feedback = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let answer = || {
        let req = app
            .post(&format!("/api/v1/feedback/{feedback}/reply"))
            .header("authorization", bearer(&officer))
            .json(&json!({"action": "answer", "content": "Đã tiếp thu."}));
        async move { req.send().await.unwrap().status().as_u16() }
    };
    let create_procedure = || {
        let req = app
            .post("/api/v1/procedures")
            .header("authorization", bearer(&admin))
            .json(&spec("1.900001", "Thủ tục mới"));
        async move { req.send().await.unwrap().status().as_u16() }
    };
    let ipn = || {
        let req = app.client.get(ipn_url.clone());
        async move { req.send().await.unwrap().json::<Value>().await.unwrap()["RspCode"].clone() }
    };

    // The receipt's event is appended, then its KPI facts fail: all undone.
    fail_writes(&app, "dossier_facts");
    let res = app.act(&officer, &a, &json!({"action": "receive"})).await;
    assert_eq!(res.status(), 500);
    allow_writes(&app, "dossier_facts");
    assert_eq!(app.dossier(&officer, &a).await.body["status"], "submitted");

    // No event can be written: no change happens either.
    fail_writes(&app, "events");
    let d1 = app.upload(&citizen, "don.pdf").await;
    let d2 = app.upload(&citizen, "giay-phep-cu.pdf").await;
    let res = app
        .submit(
            &citizen,
            &json!({"procedure_code": "2.001584", "documents": [
                {"requirement": "D1", "document_id": d1},
                {"requirement": "D2", "document_id": d2}
            ]}),
        )
        .await;
    assert_eq!(res.status(), 500);
    assert_eq!(answer().await, 500);
    assert_eq!(create_procedure().await, 500);
    assert_eq!(ipn().await, "99");
    allow_writes(&app, "events");
    let listed = app.get_json(&admin, "/api/v1/dossiers").await;
    assert_eq!(listed["total"], 2, "the failed filing left no dossier");
    let res = app.get("/api/v1/procedures/1.900001").send().await.unwrap();
    assert_eq!(res.status(), 404);
    let shown = crate::payments::payment(&app, &citizen, &pid).await;
    assert_ne!(shown["status"], "success");

    // Writes work again: each change once, with its one event.
    app.act_ok(&officer, &a, &json!({"action": "receive"}))
        .await;
    assert_eq!(answer().await, 200);
    assert_eq!(create_procedure().await, 201);
    assert_eq!(ipn().await, "00");
    assert_eq!(ipn().await, "02", "already confirmed: no second event");
    let want = expect(&[
        ("dossier.submitted", &a),
        ("dossier.submitted", &e),
        ("payment.created", &pid),
        ("dossier.received", &a),
        ("feedback.answered", &feedback.to_string()),
        ("procedure.created", "1.900001"),
        ("payment.paid", &pid),
    ]);
    assert_eq!(pairs(&feed(&app, &admin, "", want.len()).await), want);
}

/// Settles one payment by every route at once, repeatedly: the gateway's
/// notification sent five times in parallel with the payment jobs (the
/// expiry sweep that asks the gateway first, or the status query of a payment
/// the gateway had answered "processing"), and the return page opened twice
/// (it only shows; it never settles). One `payment.paid` each.
async fn a_raced_settlement_is_paid_once(app: TestApp) {
    let admin = app.token(Role::Admin).await;
    let mut paid_ids = Vec::new();
    for trial in 0..4 {
        let (citizen, code) = dossier_with_fees(&app).await;
        let p = start(&app, &citizen, &code).await;
        let id = p["id"].as_str().unwrap().to_owned();
        let txn_ref = visit(&app, &p).await;
        let report = complete(&app, &txn_ref, "pay", "never").await;
        let url = report["notification_url"].as_str().unwrap().to_owned();
        let return_url = url.replace("/vnpay/ipn?", "/vnpay/return?");
        if trial % 2 == 0 {
            set_payment_expired(&app, &id);
        } else {
            // "Processing" first: the payment waits for its status query, due now.
            let txn_no = format!("HELD{trial}");
            let held = signed(&notification(&txn_ref, 1_500_000, "07", "07", &txn_no));
            assert_eq!(ipn(&app, &held).await, "00", "held");
            assert_eq!(payment(&app, &citizen, &id).await["status"], "submitted");
            set_requery_due(&app, &id);
        }
        let notifications = (0..5).map(|_| {
            let req = app.client.get(url.clone());
            async move { req.send().await.unwrap().status().as_u16() }
        });
        let returns = (0..2).map(|_| {
            let req = app.client.get(return_url.clone());
            async move { req.send().await.unwrap().status().as_u16() }
        });
        let (statuses, shown, _) = futures_util::future::join3(
            futures_util::future::join_all(notifications),
            futures_util::future::join_all(returns),
            run_jobs(&app),
        )
        .await;
        assert!(
            statuses.iter().chain(&shown).all(|s| *s == 200),
            "{statuses:?} {shown:?}"
        );
        assert_eq!(payment(&app, &citizen, &id).await["status"], "success");
        paid_ids.push(id);
    }
    let paid = feed(&app, &admin, "&types=payment.paid", paid_ids.len()).await;
    let subjects: Vec<&str> = paid
        .iter()
        .map(|e| e["subject"].as_str().unwrap())
        .collect();
    let mut sorted = subjects.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(
        sorted.len(),
        paid_ids.len(),
        "one payment.paid each: {subjects:?}"
    );
    for id in &paid_ids {
        assert!(subjects.contains(&id.as_str()), "{id} paid");
    }
}

/// Makes a `submitted` payment's next status query due now.
fn set_requery_due(app: &TestApp, id: &str) {
    use diesel::prelude::*;
    use motcua_persistence::schema::payments;
    let past = (chrono::Utc::now() - chrono::Duration::minutes(5)).naive_utc();
    let mut conn = app.pool.get().unwrap();
    diesel::update(payments::table.find(id))
        .set(payments::next_check_at.eq(Some(past)))
        .execute(&mut *conn)
        .unwrap();
}

/// The value of an unlabelled (or labelled) sample in a Prometheus text page.
fn sample(page: &str, name: &str) -> Option<f64> {
    page.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        let (key, value) = l.rsplit_once(' ')?;
        (key == name).then(|| value.parse().ok()).flatten()
    })
}

async fn metrics(app: &TestApp) -> String {
    let res = app.get("/metrics").send().await.unwrap();
    assert_eq!(res.status(), 200);
    res.text().await.unwrap()
}

async fn outbox_metrics_count_lag_events_and_deliveries(app: TestApp) {
    let page = metrics(&app).await;
    assert_eq!(
        sample(&page, "motcua_outbox_events_total"),
        Some(0.0),
        "{page}"
    );
    assert_eq!(sample(&page, "motcua_outbox_lag_seconds"), Some(0.0));
    for result in ["delivered", "rejected", "no_answer"] {
        assert_eq!(
            sample(
                &page,
                &format!("motcua_webhook_deliveries_total{{result=\"{result}\"}}")
            ),
            Some(0.0),
            "{result}"
        );
    }
    // Events with nobody subscribed are no lag: nothing waits to be fanned out.
    let citizen = app.token_of(DEMO_CITIZEN_ID).await;
    submit_reissue(&app, &citizen).await;
    let page = metrics(&app).await;
    assert_eq!(sample(&page, "motcua_outbox_events_total"), Some(1.0));
    assert_eq!(sample(&page, "motcua_outbox_lag_seconds"), Some(0.0));

    // A subscription to a receiver that refuses: what it has not been fanned
    // out yet ages; once fanned out and tried, the lag is back to 0 and the
    // attempt is counted as rejected.
    let receiver = Receiver::start(500).await;
    let admin = app.token(Role::Admin).await;
    let res = app
        .post("/api/v1/webhooks")
        .header("authorization", bearer(&admin))
        .json(&json!({"url": receiver.url, "event_types": ["dossier.submitted"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    submit_reissue(&app, &citizen).await;
    // Another type, which the subscription does not take: never lag.
    let res = app
        .post("/api/v1/procedures")
        .header("authorization", bearer(&admin))
        .json(&spec("1.900003", "Thủ tục không ai theo dõi"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    actix_web::rt::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let page = metrics(&app).await;
    assert_eq!(sample(&page, "motcua_outbox_events_total"), Some(3.0));
    let lag = sample(&page, "motcua_outbox_lag_seconds").unwrap();
    assert!((1.0..60.0).contains(&lag), "lag {lag}");

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        assert!(std::time::Instant::now() < deadline, "never fanned out");
        let round = app.app.clone();
        actix_web::rt::task::spawn_blocking(move || round.webhook_round())
            .await
            .unwrap();
        let page = metrics(&app).await;
        let rejected = sample(
            &page,
            "motcua_webhook_deliveries_total{result=\"rejected\"}",
        )
        .unwrap();
        if rejected >= 1.0 {
            assert_eq!(
                sample(&page, "motcua_outbox_lag_seconds"),
                Some(0.0),
                "{page}"
            );
            assert_eq!(
                sample(
                    &page,
                    "motcua_webhook_deliveries_total{result=\"delivered\"}"
                ),
                Some(0.0)
            );
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(receiver.hits() >= 1);
}

/// A local HTTP receiver answering every request with one status.
struct Receiver {
    url: String,
    hits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Receiver {
    async fn start(status: u16) -> Receiver {
        let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = hits.clone();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            use std::io::{Read, Write};
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut buf = [0_u8; 65536];
                let _ = stream.read(&mut buf);
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\nno"
                );
            }
        });
        Receiver {
            url: format!("http://127.0.0.1:{port}/hook"),
            hits,
        }
    }

    fn hits(&self) -> usize {
        self.hits.load(std::sync::atomic::Ordering::SeqCst)
    }
}
