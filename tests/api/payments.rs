//! Online payment of fees through the built-in sandbox gateway: every case at
//! the end of PAYMENTS.md, on both databases.

use std::collections::BTreeMap;

use motcua::seed::DEMO_CITIZEN_ID;
use motcua_app::settings::SANDBOX_SECRET;
use motcua_domain::Role;
use motcua_domain::vnpay;
use motcua_tests::{TestApp, bearer, on_both_backends, problem};
use serde_json::{Value, json};

on_both_backends!(
    a_citizen_pays_in_the_sandbox,
    creation_is_idempotent_and_validated,
    notifications_are_verified_in_order,
    twenty_parallel_duplicate_notifications_apply_once,
    finished_states_absorb_late_and_contradicting_news,
    held_payments_wait_and_jobs_settle_or_expire,
    a_success_after_expiry_is_a_corrected_success,
    cancel_and_counter_payments,
    refunds_never_exceed_what_was_paid,
    reconciliation_lists_discrepancies,
);

/// A citizen's dossier for 1.004610 (fee 1,500,000 đồng, payable online).
pub(crate) async fn dossier_with_fees(app: &TestApp) -> (String, String) {
    let citizen = app.token_of(DEMO_CITIZEN_ID).await;
    let doc = app.upload(&citizen, "don.pdf").await;
    let d = app.submit_ok(&citizen, &json!({"procedure_code": "1.004610", "documents": [{"requirement": "D1", "document_id": doc}]})).await;
    (citizen, d.code().to_owned())
}

pub(crate) async fn start(app: &TestApp, token: &str, code: &str) -> Value {
    let res = app
        .post(&format!("/api/v1/dossiers/{code}/payments"))
        .header("authorization", bearer(token))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    body
}

/// The citizen opens the gateway page (the sandbox records the transaction).
pub(crate) async fn visit(app: &TestApp, payment: &Value) -> String {
    let url = payment["next_url"].as_str().unwrap();
    let res = app.client.get(url).send().await.unwrap();
    assert_eq!(res.status(), 200, "{url}");
    let html = res.text().await.unwrap();
    assert!(html.contains("Cổng thanh toán thử nghiệm"));
    payment["txn_ref"].as_str().unwrap().to_owned()
}

pub(crate) async fn complete(app: &TestApp, txn_ref: &str, outcome: &str, notify: &str) -> Value {
    let res = app
        .post(&format!("/sandbox/vnpay/transactions/{txn_ref}/complete"))
        .json(&json!({"outcome": outcome, "notify": notify}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

pub(crate) async fn ipn(app: &TestApp, query: &str) -> String {
    let res = app
        .get(&format!("/api/v1/payments/gateways/vnpay/ipn?{query}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    body["RspCode"].as_str().unwrap().to_owned()
}

pub(crate) async fn payment(app: &TestApp, token: &str, id: &str) -> Value {
    let res = app
        .get(&format!("/api/v1/payments/{id}"))
        .header("authorization", bearer(token))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

pub(crate) async fn run_jobs(app: &TestApp) -> Value {
    let admin = app.token(Role::Admin).await;
    let res = app
        .post("/api/v1/payments/jobs/run")
        .header("authorization", bearer(&admin))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// A notification as the gateway would send it, signed with the sandbox's secret.
pub(crate) fn notification(
    txn_ref: &str,
    amount_vnd: i64,
    response: &str,
    status: &str,
    txn_no: &str,
) -> BTreeMap<String, String> {
    [
        ("vnp_Amount", (amount_vnd * 100).to_string()),
        ("vnp_BankCode", "NCB".to_owned()),
        ("vnp_PayDate", vnpay::format_time(chrono::Utc::now())),
        ("vnp_ResponseCode", response.to_owned()),
        ("vnp_TmnCode", "SANDBOX1".to_owned()),
        ("vnp_TransactionNo", txn_no.to_owned()),
        ("vnp_TransactionStatus", status.to_owned()),
        ("vnp_TxnRef", txn_ref.to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

pub(crate) fn signed(params: &BTreeMap<String, String>) -> String {
    vnpay::signed_query(params, SANDBOX_SECRET)
}

pub(crate) fn set_payment_expired(app: &TestApp, id: &str) {
    use diesel::prelude::*;
    use motcua_persistence::schema::payments;
    let past = (chrono::Utc::now() - chrono::Duration::minutes(5)).naive_utc();
    let mut conn = app.pool.get().unwrap();
    diesel::update(payments::table.find(id))
        .set(payments::expires_at.eq(past))
        .execute(&mut *conn)
        .unwrap();
}

async fn a_citizen_pays_in_the_sandbox(app: TestApp) {
    let (citizen, code) = dossier_with_fees(&app).await;
    let before = app.dossier(&citizen, &code).await;
    assert_eq!(
        before.body["portal_status"], 6,
        "financial obligation requested"
    );
    let p = start(&app, &citizen, &code).await;
    assert_eq!(p["status"], "started");
    assert_eq!(p["amount_vnd"], 1_500_000);
    assert_eq!(p["method"], "online");
    let next_url = p["next_url"].as_str().unwrap();
    assert!(
        next_url.contains("/sandbox/vnpay/pay?")
            && next_url.contains("vnp_SecureHash=")
            && next_url.contains("vnp_Amount=150000000")
    );
    let expires: chrono::DateTime<chrono::Utc> = p["expires_at"].as_str().unwrap().parse().unwrap();
    assert!(expires > chrono::Utc::now() + chrono::Duration::minutes(14));
    let txn_ref = visit(&app, &p).await;
    let report = complete(&app, &txn_ref, "pay", "once").await;
    assert_eq!(report["notifications"][0]["reply"]["RspCode"], "00");
    let paid = payment(&app, &citizen, p["id"].as_str().unwrap()).await;
    assert_eq!(paid["status"], "success");
    assert_eq!(paid["refundable_vnd"], 1_500_000);
    assert!(paid["next_url"].is_null(), "no link once finished");
    assert_eq!(paid["gateway_txn_no"], report["txn_no"]);
    let kinds: Vec<&str> = paid["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["checkout", "notification_paid"]);
    let after = app.dossier(&citizen, &code).await;
    assert_eq!(after.body["fees_paid_vnd"], 1_500_000);
    assert_eq!(after.body["portal_status"], 1);
    // The browser's return shows what we hold; the page says paid.
    let res = app
        .client
        .get(report["return_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let html = res.text().await.unwrap();
    assert!(html.contains(r#"data-status="success""#), "{html}");
    // A forged return changes nothing and says nothing.
    let forged = report["return_url"]
        .as_str()
        .unwrap()
        .replace("vnp_ResponseCode=00", "vnp_ResponseCode=24");
    let html = app
        .client
        .get(forged)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(r#"data-status="unknown""#));
    // Paid: nothing more to pay, and the result can be returned.
    let res = app
        .post(&format!("/api/v1/dossiers/{code}/payments"))
        .header("authorization", bearer(&citizen))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    problem(res, 409, "nothing_to_pay").await;
    let history: Value = app
        .get_json(&citizen, &format!("/api/v1/dossiers/{code}/history"))
        .await;
    assert!(
        history["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "payment" && e["data"]["amount_vnd"] == 1_500_000)
    );
    let list: Value = app
        .get_json(&citizen, "/api/v1/payments?status=success")
        .await;
    assert_eq!(list["total"], 1);
}

async fn creation_is_idempotent_and_validated(app: TestApp) {
    let (citizen, code) = dossier_with_fees(&app).await;
    let url = format!("/api/v1/dossiers/{code}/payments");
    for bad in [
        json!({"amount_vnd": 0}),
        json!({"amount_vnd": -1500000}),
        json!({"amount_vnd": 1500000.5}),
        json!({"amount_vnd": "1500000"}),
        json!({"amount_vnd": 1500001}),
        json!({"locale": "fr"}),
    ] {
        let res = app
            .post(&url)
            .header("authorization", bearer(&citizen))
            .json(&bad)
            .send()
            .await
            .unwrap();
        let body = problem(res, 422, "validation_failed").await;
        assert!(
            body["errors"][0]["field"] == "amount_vnd" || body["errors"][0]["field"] == "locale",
            "{bad} → {body}"
        );
    }
    let listed: Value = app
        .get_json(&citizen, &format!("/api/v1/payments?dossier_code={code}"))
        .await;
    assert_eq!(listed["total"], 0, "nothing written by refused requests");
    // Ten at once with one key and one body: one payment.
    let send = |key: &'static str, body: Value| {
        let req = app
            .post(&url)
            .header("authorization", bearer(&citizen))
            .header("idempotency-key", key)
            .json(&body);
        async move { req.send().await.unwrap() }
    };
    let burst = (0..10).map(|_| send("thanh-toan-1", json!({"amount_vnd": 1500000})));
    let responses = futures_util::future::join_all(burst).await;
    let statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [200, 201, 409].contains(s)),
        "{statuses:?}"
    );
    let listed: Value = app
        .get_json(&citizen, &format!("/api/v1/payments?dossier_code={code}"))
        .await;
    assert_eq!(listed["total"], 1);
    let replay = send("thanh-toan-1", json!({"amount_vnd": 1500000})).await;
    assert_eq!(replay.status(), 200);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    let replayed: Value = replay.json().await.unwrap();
    assert_eq!(replayed["id"], listed["items"][0]["id"]);
    problem(
        send("thanh-toan-1", json!({"locale": "en"})).await,
        422,
        "idempotency_key_reused",
    )
    .await;
    // Another key while an attempt is open.
    let res = send("thanh-toan-2", json!({})).await;
    let body = problem(res, 409, "payment_in_progress").await;
    assert_eq!(body["payment_id"], listed["items"][0]["id"]);
    // Only the applicant (or the portal) pays online.
    let officer = app.token(Role::Officer).await;
    let res = app
        .post(&url)
        .header("authorization", bearer(&officer))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    problem(res, 403, "forbidden").await;
    a_fee_not_payable_online_is_refused(&app, &citizen).await;
    // Another citizen's dossier does not exist for them.
    let portal = app.token(Role::Integration).await;
    let res = app
        .get(&format!(
            "/api/v1/payments/{}",
            listed["items"][0]["id"].as_str().unwrap()
        ))
        .header("authorization", bearer(&portal))
        .send()
        .await
        .unwrap();
    // The portal reads only payments of dossiers it filed or is granted (tests/api/identity.rs).
    assert_eq!(res.status(), 404, "not the portal's to read");
}

/// A fee that cannot be paid online: the procedure says so, the payment is refused.
async fn a_fee_not_payable_online_is_refused(app: &TestApp, citizen: &str) {
    // A fee that cannot be paid online.
    let admin = bearer(&app.token(Role::Admin).await);
    let mut spec: Value = app
        .get("/api/v1/procedures/1.004610")
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
    spec["code"] = json!("1.999610");
    spec["fees"][0]["payable_online"] = json!(false);
    assert_eq!(
        app.post("/api/v1/procedures")
            .header("authorization", &admin)
            .json(&spec)
            .send()
            .await
            .unwrap()
            .status(),
        201
    );
    let doc = app.upload(citizen, "don.pdf").await;
    let other = app.submit_ok(citizen, &json!({"procedure_code": "1.999610", "documents": [{"requirement": "D1", "document_id": doc}]})).await;
    let res = app
        .post(&format!("/api/v1/dossiers/{}/payments", other.code()))
        .header("authorization", bearer(citizen))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    problem(res, 409, "not_payable_online").await;
}

async fn notifications_are_verified_in_order(app: TestApp) {
    let (citizen, code) = dossier_with_fees(&app).await;
    let p = start(&app, &citizen, &code).await;
    let txn_ref = visit(&app, &p).await;
    let id = p["id"].as_str().unwrap().to_owned();
    let good = notification(&txn_ref, 1_500_000, "00", "00", "12345678");
    // Bad, missing, truncated signatures: 97, nothing changes.
    let query = signed(&good);
    let flipped = query.replace("vnp_BankCode=NCB", "vnp_BankCode=VCB");
    assert_eq!(ipn(&app, &flipped).await, "97");
    let unsigned = vnpay::canonical(&good);
    assert_eq!(ipn(&app, &unsigned).await, "97");
    let truncated = query.get(..query.len() - 10).unwrap();
    assert_eq!(ipn(&app, truncated).await, "97");
    assert_eq!(ipn(&app, "garbage=1&vnp_SecureHash=zz").await, "97");
    assert_eq!(ipn(&app, "").await, "97");
    let mut wrong_merchant = good.clone();
    wrong_merchant.insert("vnp_TmnCode".into(), "OTHER".into());
    assert_eq!(ipn(&app, &signed(&wrong_merchant)).await, "97");
    assert_eq!(payment(&app, &citizen, &id).await["status"], "started");
    // Unknown reference: 01.
    assert_eq!(
        ipn(
            &app,
            &signed(&notification("nosuchref", 1_500_000, "00", "00", "1"))
        )
        .await,
        "01"
    );
    // One đồng off: 04, nothing changes.
    assert_eq!(
        ipn(
            &app,
            &signed(&notification(&txn_ref, 1_500_001, "00", "00", "12345678"))
        )
        .await,
        "04"
    );
    assert_eq!(
        ipn(
            &app,
            &signed(&notification(&txn_ref, 1_499_999, "00", "00", "12345678"))
        )
        .await,
        "04"
    );
    assert_eq!(payment(&app, &citizen, &id).await["status"], "started");
    // `00` with a transaction status that is not `00` is not a success.
    assert_eq!(
        ipn(
            &app,
            &signed(&notification(&txn_ref, 1_500_000, "00", "02", "12345678"))
        )
        .await,
        "00"
    );
    let declined = payment(&app, &citizen, &id).await;
    assert_eq!(
        (declined["status"].clone(), declined["failure_code"].clone()),
        (json!("failed"), json!("declined"))
    );
    // Upper-case hex is the same signature.
    let (_, code2) = dossier_with_fees(&app).await;
    let p2 = start(&app, &citizen, &code2).await;
    let ref2 = visit(&app, &p2).await;
    let params = notification(&ref2, 1_500_000, "00", "00", "22222222");
    let upper = format!(
        "{}&vnp_SecureHash={}",
        vnpay::canonical(&params),
        vnpay::sign(&params, SANDBOX_SECRET).to_uppercase()
    );
    assert_eq!(ipn(&app, &upper).await, "00");
    assert_eq!(
        payment(&app, &citizen, p2["id"].as_str().unwrap()).await["status"],
        "success"
    );
}

async fn twenty_parallel_duplicate_notifications_apply_once(app: TestApp) {
    let (citizen, code) = dossier_with_fees(&app).await;
    let p = start(&app, &citizen, &code).await;
    let txn_ref = visit(&app, &p).await;
    let report = complete(&app, &txn_ref, "pay", "never").await;
    assert!(report["notifications"].as_array().unwrap().is_empty());
    let url = report["notification_url"].as_str().unwrap().to_owned();
    let sends = (0..20).map(|_| {
        let req = app.client.get(url.clone());
        async move {
            req.send().await.unwrap().json::<Value>().await.unwrap()["RspCode"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    });
    let replies = futures_util::future::join_all(sends).await;
    assert_eq!(
        replies.iter().filter(|r| *r == "00").count(),
        1,
        "{replies:?}"
    );
    assert_eq!(
        replies.iter().filter(|r| *r == "02").count(),
        19,
        "{replies:?}"
    );
    let paid = payment(&app, &citizen, p["id"].as_str().unwrap()).await;
    assert_eq!(paid["status"], "success");
    let paid_events = paid["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "notification_paid")
        .count();
    assert_eq!(paid_events, 1);
    let dossier = app.dossier(&citizen, &code).await;
    assert_eq!(
        dossier.body["fees_paid_vnd"], 1_500_000,
        "the money is counted once"
    );
}

async fn finished_states_absorb_late_and_contradicting_news(app: TestApp) {
    let (citizen, code) = dossier_with_fees(&app).await;
    let p = start(&app, &citizen, &code).await;
    let txn_ref = visit(&app, &p).await;
    // The success, then an older contradicting failure: stays success.
    let report = complete(&app, &txn_ref, "pay", "out_of_order").await;
    let replies: Vec<&str> = report["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["reply"]["RspCode"].as_str().unwrap())
        .collect();
    assert_eq!(replies, ["00", "02"]);
    assert_eq!(
        payment(&app, &citizen, p["id"].as_str().unwrap()).await["status"],
        "success"
    );
    // The same notification twice: the second is "already confirmed".
    let (_, code2) = dossier_with_fees(&app).await;
    let p2 = start(&app, &citizen, &code2).await;
    let ref2 = visit(&app, &p2).await;
    let report = complete(&app, &ref2, "decline", "twice").await;
    let replies: Vec<&str> = report["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["reply"]["RspCode"].as_str().unwrap())
        .collect();
    assert_eq!(replies, ["00", "02"]);
    let failed = payment(&app, &citizen, p2["id"].as_str().unwrap()).await;
    assert_eq!(
        (failed["status"].clone(), failed["failure_code"].clone()),
        (json!("failed"), json!("declined"))
    );
    // The citizen cancels at the gateway: failed, cancelled_by_user; a new attempt is allowed.
    let p3 = start(&app, &citizen, &code2).await;
    let ref3 = visit(&app, &p3).await;
    complete(&app, &ref3, "cancel", "once").await;
    let cancelled = payment(&app, &citizen, p3["id"].as_str().unwrap()).await;
    assert_eq!(cancelled["failure_code"], "cancelled_by_user");
    start(&app, &citizen, &code2).await;
    // A success after a decline is money taken: never dropped. It is recorded
    // as a corrected success (and, nothing else being paid, pays the fee).
    let (_, code4) = dossier_with_fees(&app).await;
    let p4 = start(&app, &citizen, &code4).await;
    let ref4 = visit(&app, &p4).await;
    let report = complete(&app, &ref4, "decline", "once").await;
    assert_eq!(
        ipn(
            &app,
            &signed(&notification(
                &ref4,
                1_500_000,
                "00",
                "00",
                report["txn_no"].as_str().unwrap()
            ))
        )
        .await,
        "00"
    );
    let late = payment(&app, &citizen, p4["id"].as_str().unwrap()).await;
    assert_eq!(
        (
            late["status"].clone(),
            late["corrected"].clone(),
            late["applied_vnd"].clone()
        ),
        (json!("success"), json!(true), json!(1_500_000))
    );
}

async fn held_payments_wait_and_jobs_settle_or_expire(app: TestApp) {
    let (citizen, code) = dossier_with_fees(&app).await;
    let p = start(&app, &citizen, &code).await;
    let txn_ref = visit(&app, &p).await;
    let id = p["id"].as_str().unwrap().to_owned();
    complete(&app, &txn_ref, "hold", "once").await;
    assert_eq!(payment(&app, &citizen, &id).await["status"], "submitted");
    let res = app
        .post(&format!("/api/v1/payments/{id}/cancel"))
        .header("authorization", bearer(&citizen))
        .send()
        .await
        .unwrap();
    problem(res, 409, "payment_finished").await;
    // Never notified, paid at the gateway, expired here: the sweep asks first and finds the money.
    let (_, code2) = dossier_with_fees(&app).await;
    let p2 = start(&app, &citizen, &code2).await;
    let ref2 = visit(&app, &p2).await;
    complete(&app, &ref2, "pay", "never").await;
    let id2 = p2["id"].as_str().unwrap().to_owned();
    assert_eq!(
        run_jobs(&app).await["settled"],
        0,
        "not expired yet: nothing to do"
    );
    set_payment_expired(&app, &id2);
    let report = run_jobs(&app).await;
    assert_eq!(report["settled"], 1, "{report}");
    let settled = payment(&app, &citizen, &id2).await;
    assert_eq!(settled["status"], "success");
    assert!(
        settled["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "query_paid")
    );
    let sandbox: Value = app
        .get(&format!("/sandbox/vnpay/transactions/{ref2}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(sandbox["queries"], 1);
    // An abandoned attempt (never reached the gateway) expires.
    let (_, code3) = dossier_with_fees(&app).await;
    let p3 = start(&app, &citizen, &code3).await;
    let id3 = p3["id"].as_str().unwrap().to_owned();
    set_payment_expired(&app, &id3);
    assert_eq!(run_jobs(&app).await["expired"], 1);
    let expired = payment(&app, &citizen, &id3).await;
    assert_eq!(
        (expired["status"].clone(), expired["failure_code"].clone()),
        (json!("failed"), json!("expired"))
    );
    // Run again: nothing left.
    assert_eq!(
        run_jobs(&app).await,
        json!({"expired": 0, "settled": 0, "pending": 0, "errors": 0}),
        "the held one waits for its next query"
    );
    let held: Value = app
        .get(&format!("/sandbox/vnpay/transactions/{txn_ref}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(held["status"], "held");
}

async fn a_success_after_expiry_is_a_corrected_success(app: TestApp) {
    let (citizen, code) = dossier_with_fees(&app).await;
    let p = start(&app, &citizen, &code).await;
    let txn_ref = visit(&app, &p).await;
    let id = p["id"].as_str().unwrap().to_owned();
    set_payment_expired(&app, &id);
    run_jobs(&app).await;
    assert_eq!(
        payment(&app, &citizen, &id).await["failure_code"],
        "expired"
    );
    // The bank took the money after all and tells us late.
    let report = complete(&app, &txn_ref, "pay", "once").await;
    assert_eq!(report["notifications"][0]["reply"]["RspCode"], "00");
    let corrected = payment(&app, &citizen, &id).await;
    assert_eq!(corrected["status"], "success");
    assert_eq!(corrected["corrected"], true);
    assert_eq!(
        app.dossier(&citizen, &code).await.body["fees_paid_vnd"],
        1_500_000
    );
}

async fn cancel_and_counter_payments(app: TestApp) {
    let (citizen, code) = dossier_with_fees(&app).await;
    let p = start(&app, &citizen, &code).await;
    let id = p["id"].as_str().unwrap().to_owned();
    let res = app
        .post(&format!("/api/v1/payments/{id}/cancel"))
        .header("authorization", bearer(&citizen))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "cancelled");
    let res = app
        .post(&format!("/api/v1/payments/{id}/cancel"))
        .header("authorization", bearer(&citizen))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        200,
        "cancelling a cancelled attempt again is a no-op"
    );
    // Cash at the counter, by the receiving officer.
    let url = format!("/api/v1/dossiers/{code}/payments");
    let res = app
        .post(&url)
        .header("authorization", bearer(&citizen))
        .json(&json!({"method": "counter", "receipt_number": "BL-0001"}))
        .send()
        .await
        .unwrap();
    problem(res, 403, "forbidden").await;
    let officer = app.token(Role::Officer).await;
    let res = app
        .post(&url)
        .header("authorization", bearer(&officer))
        .json(&json!({"method": "counter"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(res, 422, "validation_failed").await["errors"][0]["field"],
        "receipt_number"
    );
    let res = app
        .post(&url)
        .header("authorization", bearer(&officer))
        .json(&json!({"method": "counter", "receipt_number": "BL-0001"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let counter: Value = res.json().await.unwrap();
    assert_eq!(
        (
            counter["method"].clone(),
            counter["status"].clone(),
            counter["receipt_number"].clone()
        ),
        (json!("counter"), json!("success"), json!("BL-0001"))
    );
    let res = app
        .post(&format!(
            "/api/v1/payments/{}/cancel",
            counter["id"].as_str().unwrap()
        ))
        .header("authorization", bearer(&officer))
        .send()
        .await
        .unwrap();
    problem(res, 409, "payment_finished").await;
    assert_eq!(
        app.dossier(&citizen, &code).await.body["fees_paid_vnd"],
        1_500_000
    );
    let res = app
        .post(&url)
        .header("authorization", bearer(&citizen))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    problem(res, 409, "nothing_to_pay").await;
}

async fn refunds_never_exceed_what_was_paid(app: TestApp) {
    let (citizen, code) = dossier_with_fees(&app).await;
    let p = start(&app, &citizen, &code).await;
    let txn_ref = visit(&app, &p).await;
    complete(&app, &txn_ref, "pay", "once").await;
    let id = p["id"].as_str().unwrap().to_owned();
    let officer = app.token(Role::Officer).await;
    let url = format!("/api/v1/payments/{id}/refunds");
    let refund = |token: &str, body: Value| {
        let req = app
            .post(&url)
            .header("authorization", bearer(token))
            .json(&body);
        async move { req.send().await.unwrap() }
    };
    problem(
        refund(&citizen, json!({"amount_vnd": 1000, "reason": "x"})).await,
        403,
        "forbidden",
    )
    .await;
    for bad in [
        json!({"amount_vnd": 0, "reason": "x"}),
        json!({"amount_vnd": -1, "reason": "x"}),
        json!({"amount_vnd": 0.5, "reason": "x"}),
        json!({"amount_vnd": "1000", "reason": "x"}),
        json!({"amount_vnd": 1000, "reason": ""}),
    ] {
        problem(refund(&officer, bad).await, 422, "validation_failed").await;
    }
    let res = refund(
        &officer,
        json!({"amount_vnd": 500_000, "reason": "Thu thừa"}),
    )
    .await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "success");
    let body = problem(
        refund(
            &officer,
            json!({"amount_vnd": 1_000_001, "reason": "Quá số"}),
        )
        .await,
        409,
        "refund_exceeds",
    )
    .await;
    assert_eq!(body["refundable_vnd"], 1_000_000);
    // Ten refunds of 600,000 at once: one fits.
    let burst = (0..10).map(|i| {
        refund(
            &officer,
            json!({"amount_vnd": 600_000, "reason": format!("Hoàn {i}")}),
        )
    });
    let statuses: Vec<u16> = futures_util::future::join_all(burst)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        9,
        "{statuses:?}"
    );
    let after = payment(&app, &officer, &id).await;
    assert_eq!(after["refundable_vnd"], 400_000);
    let total: i64 = after["refunds"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "success")
        .map(|r| r["amount_vnd"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 1_100_000);
    let sandbox: Value = app
        .get(&format!("/sandbox/vnpay/transactions/{txn_ref}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(sandbox["refunded_vnd"], 1_100_000);

    rejected_dossiers_are_refunded_in_full(&app, &citizen, &officer).await;
}

/// A rejected dossier gets its fees back in full (once, whatever the retries); a payment that did not succeed is not refunded.
async fn rejected_dossiers_are_refunded_in_full(app: &TestApp, citizen: &str, officer: &str) {
    // A rejected dossier gets its fees back in full.
    let (_, code2) = dossier_with_fees(app).await;
    let p2 = start(app, citizen, &code2).await;
    let ref2 = visit(app, &p2).await;
    complete(app, &ref2, "pay", "once").await;
    crate::dossiers::to_review(app, &code2).await;
    let handler = app.token_of("demo.handler").await;
    app.act_ok(&handler, &code2, &json!({"action": "propose"}))
        .await;
    app.act_ok(
        &app.token(Role::Leader).await,
        &code2,
        &json!({"action": "reject", "note": "Không đủ điều kiện"}),
    )
    .await;
    let res = app
        .post(&format!(
            "/api/v1/payments/{}/refunds",
            p2["id"].as_str().unwrap()
        ))
        .header("authorization", bearer(officer))
        .header("idempotency-key", "hoan-1")
        .json(&json!({"amount_vnd": 1_500_000, "reason": "Hồ sơ bị từ chối"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let res = app
        .post(&format!(
            "/api/v1/payments/{}/refunds",
            p2["id"].as_str().unwrap()
        ))
        .header("authorization", bearer(officer))
        .header("idempotency-key", "hoan-1")
        .json(&json!({"amount_vnd": 1_500_000, "reason": "Hồ sơ bị từ chối"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "the retry is the same refund");
    assert_eq!(
        payment(app, officer, p2["id"].as_str().unwrap()).await["refundable_vnd"],
        0
    );
    // Refunding a payment that did not succeed.
    let (_, code3) = dossier_with_fees(app).await;
    let p3 = start(app, citizen, &code3).await;
    let res = app
        .post(&format!(
            "/api/v1/payments/{}/refunds",
            p3["id"].as_str().unwrap()
        ))
        .header("authorization", bearer(officer))
        .json(&json!({"amount_vnd": 1000, "reason": "x"}))
        .send()
        .await
        .unwrap();
    problem(res, 409, "not_paid").await;
}

async fn reconciliation_lists_discrepancies(app: TestApp) {
    let (citizen, code) = dossier_with_fees(&app).await;
    let p = start(&app, &citizen, &code).await;
    let paid_ref = visit(&app, &p).await;
    complete(&app, &paid_ref, "pay", "once").await;
    let (_, code2) = dossier_with_fees(&app).await;
    let p2 = start(&app, &citizen, &code2).await;
    let declined_ref = visit(&app, &p2).await;
    complete(&app, &declined_ref, "decline", "once").await;
    // The gateway took money we never heard of (paid, notification lost): a mismatch.
    let (_, code3) = dossier_with_fees(&app).await;
    let p3 = start(&app, &citizen, &code3).await;
    let lost_ref = visit(&app, &p3).await;
    complete(&app, &lost_ref, "pay", "never").await;
    // A transaction at the gateway we have no record of: missing.
    {
        let mut conn = app.pool.get().unwrap();
        motcua_persistence::repo::payments::sandbox_open(
            &mut conn,
            "ghost-ref",
            "99999999",
            100_000,
            app.clock.now(),
        )
        .unwrap();
    }
    let today = (chrono::Utc::now() + chrono::Duration::hours(7)).date_naive();
    let admin = app.token(Role::Admin).await;
    let res = app
        .get(&format!("/api/v1/payments/reconciliation?date={today}"))
        .header("authorization", bearer(&admin))
        .send()
        .await
        .unwrap();
    problem(res, 404, "not_found").await;
    let res = app
        .post(&format!("/api/v1/payments/reconciliation?date={today}"))
        .header("authorization", bearer(&admin))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let view: Value = res.json().await.unwrap();
    assert_eq!(view["run"]["matched"], 2, "{view}");
    assert_eq!(view["run"]["mismatch"], 1, "{view}");
    assert_eq!(view["run"]["missing"], 1, "{view}");
    let results: Vec<(String, String)> = view["discrepancies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["txn_ref"].as_str().unwrap().to_owned(),
                i["result"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        results.contains(&(lost_ref.clone(), "mismatch".to_owned())),
        "{results:?}"
    );
    assert!(
        results.contains(&("ghost-ref".to_owned(), "missing".to_owned())),
        "{results:?}"
    );
    let leader = app.token(Role::Leader).await;
    let res = app
        .get(&format!("/api/v1/payments/reconciliation?date={today}"))
        .header("authorization", bearer(&leader))
        .send()
        .await
        .unwrap();
    assert_eq!(res.json::<Value>().await.unwrap()["run"]["mismatch"], 1);
    let res = app
        .get(&format!("/api/v1/payments/reconciliation?date={today}"))
        .header("authorization", bearer(&citizen))
        .send()
        .await
        .unwrap();
    problem(res, 403, "forbidden").await;
    problem(
        app.get("/api/v1/payments/reconciliation?date=yesterday")
            .header("authorization", bearer(&admin))
            .send()
            .await
            .unwrap(),
        400,
        "invalid_query",
    )
    .await;
}
