//! A dossier's fee is settled once, by whatever route the money comes: parallel
//! attempts, a counter payment racing an online one, a gateway confirming an
//! attempt we had closed, duplicate notifications. Money that arrives anyway
//! is recorded, shown as an overpayment and proposed for refund. On both
//! databases; the races run repeatedly.

use motcua_domain::Role;
use motcua_tests::{TestApp, bearer, on_both_backends, problem};
use serde_json::{Value, json};

use crate::payments::{
    complete, dossier_with_fees, ipn, notification, payment, run_jobs, set_payment_expired, signed,
    start, visit,
};

on_both_backends!(
    parallel_creations_with_distinct_keys_settle_once,
    parallel_creations_without_keys_settle_once,
    parallel_creations_with_one_key_open_one_attempt,
    counter_and_online_payments_settle_once,
    late_money_is_recorded_flagged_and_proposed_for_refund,
    duplicate_late_notifications_record_the_surplus_once,
    reconciliation_flags_overpaid_dossiers_and_records_found_money,
    the_database_refuses_a_second_open_attempt_or_settlement,
);

const DUE: i64 = 1_500_000;
const TRIALS: usize = 10;
const PARALLEL: usize = 5;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Keys {
    Distinct,
    None,
    Same,
}

/// Payments of a dossier as the citizen lists them.
async fn payments_of(app: &TestApp, token: &str, code: &str) -> Vec<Value> {
    app.get_json(
        token,
        &format!("/api/v1/payments?dossier_code={code}&per_page=100"),
    )
    .await["items"]
        .as_array()
        .unwrap()
        .clone()
}

async fn fees_paid(app: &TestApp, token: &str, code: &str) -> i64 {
    app.dossier(token, code).await.body["fees_paid_vnd"]
        .as_i64()
        .unwrap()
}

/// `PARALLEL` creations at once for one dossier, `TRIALS` times; every attempt
/// opened is then paid at the sandbox. At most one may open, and the dossier
/// is paid exactly once.
async fn race_creations(app: &TestApp, keys: Keys) {
    let mut trials_with_several = 0;
    let mut max_opened = 0;
    let mut max_paid = 0;
    let mut max_settled = 0;
    let mut unexpected = Vec::new();
    for trial in 0..TRIALS {
        let (citizen, code) = dossier_with_fees(app).await;
        let url = format!("/api/v1/dossiers/{code}/payments");
        let sends = (0..PARALLEL).map(|i| {
            let mut req = app
                .post(&url)
                .header("authorization", bearer(&citizen))
                .json(&json!({"amount_vnd": DUE}));
            match keys {
                Keys::Distinct => req = req.header("idempotency-key", format!("k-{trial}-{i}")),
                Keys::Same => req = req.header("idempotency-key", format!("k-{trial}")),
                Keys::None => {}
            }
            async move {
                let res = req.send().await.unwrap();
                let status = res.status().as_u16();
                (status, res.json::<Value>().await.unwrap_or(Value::Null))
            }
        });
        let answers = futures_util::future::join_all(sends).await;
        let mut opened: Vec<Value> = Vec::new();
        for (status, body) in &answers {
            match (status, body["code"].as_str()) {
                (200 | 201, _) => {
                    if !opened.iter().any(|o| o["id"] == body["id"]) {
                        opened.push(body.clone());
                    }
                }
                (409, Some("payment_in_progress" | "idempotency_in_flight")) => {}
                _ => unexpected.push(format!("{status} {body}")),
            }
        }
        for p in &opened {
            let txn_ref = visit(app, p).await;
            complete(app, &txn_ref, "pay", "once").await;
        }
        let paid = fees_paid(app, &citizen, &code).await;
        let settled = payments_of(app, &citizen, &code)
            .await
            .iter()
            .filter(|p| p["status"] == "success")
            .count();
        if opened.len() > 1 {
            trials_with_several += 1;
        }
        max_opened = max_opened.max(opened.len());
        max_paid = max_paid.max(paid);
        max_settled = max_settled.max(settled);
        assert!(!opened.is_empty(), "one attempt opens: {answers:?}");
    }
    eprintln!(
        "FIGURES backend={:?} keys={keys:?} trials={TRIALS} parallel={PARALLEL} \
         trials_with_several_attempts={trials_with_several} max_opened={max_opened} \
         max_settled={max_settled} max_paid_vnd={max_paid}",
        app.backend
    );
    assert!(unexpected.is_empty(), "{unexpected:?}");
    assert_eq!(trials_with_several, 0, "several attempts opened");
    assert_eq!(max_settled, 1, "settled once");
    assert_eq!(max_paid, DUE, "paid once");
}

async fn parallel_creations_with_distinct_keys_settle_once(app: TestApp) {
    race_creations(&app, Keys::Distinct).await;
}

async fn parallel_creations_without_keys_settle_once(app: TestApp) {
    race_creations(&app, Keys::None).await;
}

async fn parallel_creations_with_one_key_open_one_attempt(app: TestApp) {
    race_creations(&app, Keys::Same).await;
}

async fn counter(app: &TestApp, officer: &str, code: &str, receipt: &str) -> reqwest::Response {
    app.post(&format!("/api/v1/dossiers/{code}/payments"))
        .header("authorization", bearer(officer))
        .json(&json!({"method": "counter", "receipt_number": receipt}))
        .send()
        .await
        .unwrap()
}

/// The payment's refunds still waiting for approval.
fn proposed(p: &Value) -> Vec<Value> {
    p["refunds"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "proposed")
        .cloned()
        .collect()
}

/// The late payment is recorded as a success whose money was not applied to
/// the fee, with a refund of all of it proposed.
fn assert_surplus(p: &Value) {
    assert_eq!(p["status"], "success", "{p}");
    assert_eq!(p["corrected"], true, "{p}");
    assert_eq!(p["applied_vnd"], 0, "{p}");
    assert_eq!(p["surplus_vnd"], DUE, "{p}");
    let refunds = proposed(p);
    assert_eq!(refunds.len(), 1, "{p}");
    assert_eq!(refunds[0]["amount_vnd"], DUE, "{p}");
    assert!(refunds[0]["created_by"].is_null(), "proposed by the system");
}

async fn counter_and_online_payments_settle_once(app: TestApp) {
    let officer = app.token(Role::Officer).await;
    // Online attempt open, then cash at the counter: the counter settles, the
    // attempt is superseded; the gateway's late success is a surplus.
    let (citizen, code) = dossier_with_fees(&app).await;
    let online = start(&app, &citizen, &code).await;
    let txn_ref = visit(&app, &online).await;
    let res = counter(&app, &officer, &code, "BL-1").await;
    assert_eq!(res.status(), 201);
    let id = online["id"].as_str().unwrap();
    let report = complete(&app, &txn_ref, "pay", "once").await;
    assert_eq!(report["notifications"][0]["reply"]["RspCode"], "00");
    let paid = fees_paid(&app, &citizen, &code).await;
    eprintln!(
        "FIGURES backend={:?} case=online_then_counter paid_vnd={paid}",
        app.backend
    );
    assert_eq!(paid, DUE, "the fee is paid once");
    let late = payment(&app, &citizen, id).await;
    assert_surplus(&late);
    let dossier = app.dossier(&citizen, &code).await;
    assert_eq!(dossier.body["fees_overpaid_vnd"], DUE);
    // Counter first: nothing is left to pay online.
    let (citizen, code) = dossier_with_fees(&app).await;
    assert_eq!(counter(&app, &officer, &code, "BL-2").await.status(), 201);
    let res = app
        .post(&format!("/api/v1/dossiers/{code}/payments"))
        .header("authorization", bearer(&citizen))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    problem(res, 409, "nothing_to_pay").await;
    // The same counter payment twice (two officers at once): one settles.
    let pair = futures_util::future::join(
        counter(&app, &officer, &code, "BL-3"),
        counter(&app, &officer, &code, "BL-4"),
    )
    .await;
    assert_eq!(
        (pair.0.status().as_u16(), pair.1.status().as_u16()),
        (409, 409)
    );
    // In parallel: the gateway's notification and the counter payment, ten
    // times; exactly one settles, the other is refused or kept as a surplus.
    let mut max_paid = 0;
    let mut surpluses = 0;
    for trial in 0..TRIALS {
        let (citizen, code) = dossier_with_fees(&app).await;
        let online = start(&app, &citizen, &code).await;
        let txn_ref = visit(&app, &online).await;
        let report = complete(&app, &txn_ref, "pay", "never").await;
        let url = report["notification_url"].as_str().unwrap().to_owned();
        let receipt = format!("BL-P{trial}");
        let (res, reply) = futures_util::future::join(
            counter(&app, &officer, &code, &receipt),
            app.client.get(url).send(),
        )
        .await;
        let counter_status = res.status().as_u16();
        let reply: Value = reply.unwrap().json().await.unwrap();
        assert_eq!(reply["RspCode"], "00", "the money is accepted either way");
        let paid = fees_paid(&app, &citizen, &code).await;
        max_paid = max_paid.max(paid);
        let all = payments_of(&app, &citizen, &code).await;
        let applied: i64 = all.iter().filter_map(|p| p["applied_vnd"].as_i64()).sum();
        assert_eq!(applied, paid, "{all:?}");
        let attempt = payment(&app, &citizen, online["id"].as_str().unwrap()).await;
        assert_eq!(attempt["status"], "success");
        match counter_status {
            // The counter came first: the online money is a surplus.
            201 => {
                assert_surplus(&attempt);
                surpluses += 1;
            }
            // The gateway came first: the counter finds nothing to pay.
            409 => assert_eq!(attempt["applied_vnd"], DUE),
            other => panic!("counter payment answered {other}"),
        }
    }
    eprintln!(
        "FIGURES backend={:?} case=counter_vs_ipn_parallel trials={TRIALS} \
         counter_first={surpluses} max_paid_vnd={max_paid}",
        app.backend
    );
    assert_eq!(max_paid, DUE);
}

async fn metric(app: &TestApp, name: &str) -> f64 {
    let text = app
        .get("/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| {
            let (n, v) = l.split_once(' ')?;
            (n == name).then(|| v.trim().parse::<f64>().unwrap())
        })
        .unwrap_or_else(|| panic!("{name} missing"))
}

async fn discrepancies(app: &TestApp) -> Vec<Value> {
    let admin = app.token(Role::Admin).await;
    app.get_json(&admin, "/api/v1/payments/discrepancies").await["items"]
        .as_array()
        .unwrap()
        .clone()
}

/// Pays a second attempt of the dossier in full at the sandbox.
async fn pay_again(app: &TestApp, citizen: &str, code: &str) {
    let again = start(app, citizen, code).await;
    let r = visit(app, &again).await;
    complete(app, &r, "pay", "once").await;
}

/// Four attempts paid after another attempt paid the fee: cancelled by the
/// citizen, declined, expired here, superseded by cash. Each: (case,
/// citizen's token, dossier code, payment id).
async fn four_late_payments(
    app: &TestApp,
    officer: &str,
) -> Vec<(&'static str, String, String, String)> {
    let mut late = Vec::new();
    // Cancelled by the citizen, then paid by another attempt; the gateway confirms the first.
    let (citizen, code) = dossier_with_fees(app).await;
    let p = start(app, &citizen, &code).await;
    let r = visit(app, &p).await;
    let id = p["id"].as_str().unwrap().to_owned();
    let res = app
        .post(&format!("/api/v1/payments/{id}/cancel"))
        .header("authorization", bearer(&citizen))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    pay_again(app, &citizen, &code).await;
    complete(app, &r, "pay", "once").await;
    late.push(("cancelled", citizen.clone(), code, id));
    // Declined, then paid by another attempt; a success for the declined one arrives.
    let (citizen, code) = dossier_with_fees(app).await;
    let p = start(app, &citizen, &code).await;
    let r = visit(app, &p).await;
    complete(app, &r, "decline", "once").await;
    pay_again(app, &citizen, &code).await;
    let reply = ipn(app, &signed(&notification(&r, DUE, "00", "00", "70000001"))).await;
    assert_eq!(reply, "00", "late money is accepted, not refused");
    late.push((
        "declined",
        citizen.clone(),
        code,
        p["id"].as_str().unwrap().to_owned(),
    ));
    // Expired here, then paid by another attempt; the gateway confirms late.
    let (citizen, code) = dossier_with_fees(app).await;
    let p = start(app, &citizen, &code).await;
    let r = visit(app, &p).await;
    let id = p["id"].as_str().unwrap().to_owned();
    set_payment_expired(app, &id);
    run_jobs(app).await;
    assert_eq!(payment(app, &citizen, &id).await["failure_code"], "expired");
    pay_again(app, &citizen, &code).await;
    complete(app, &r, "pay", "once").await;
    late.push(("expired", citizen.clone(), code, id));
    // Superseded by cash at the counter.
    let (citizen, code) = dossier_with_fees(app).await;
    let p = start(app, &citizen, &code).await;
    let r = visit(app, &p).await;
    assert_eq!(counter(app, officer, &code, "BL-9").await.status(), 201);
    let id = p["id"].as_str().unwrap().to_owned();
    let superseded = payment(app, &citizen, &id).await;
    assert_eq!(
        (
            superseded["status"].clone(),
            superseded["failure_code"].clone()
        ),
        (json!("cancelled"), json!("superseded"))
    );
    complete(app, &r, "pay", "once").await;
    late.push(("superseded", citizen.clone(), code, id));
    late
}

async fn late_money_is_recorded_flagged_and_proposed_for_refund(app: TestApp) {
    let officer = app.token(Role::Officer).await;
    let late = four_late_payments(&app, &officer).await;
    let mut max_paid = 0;
    for (case, citizen, code, _) in &late {
        let paid = fees_paid(&app, citizen, code).await;
        max_paid = max_paid.max(paid);
        eprintln!(
            "FIGURES backend={:?} case=late_after_{case} paid_vnd={paid}",
            app.backend
        );
    }
    assert_eq!(max_paid, DUE, "the fee is counted once");
    for (case, citizen, code, id) in &late {
        let p = payment(&app, citizen, id).await;
        assert_surplus(&p);
        let dossier = app.dossier(citizen, code).await;
        assert_eq!(dossier.body["fees_overpaid_vnd"], DUE, "{case}");
    }
    // At once in the discrepancy list and the gauges.
    let listed = discrepancies(&app).await;
    assert_eq!(listed.len(), 4, "{listed:?}");
    for (_, _, code, id) in &late {
        let item = listed.iter().find(|i| i["payment_id"] == *id).unwrap();
        assert_eq!(item["dossier_code"], *code);
        assert_eq!(item["surplus_vnd"], DUE);
        assert_eq!(item["fees_due_vnd"], DUE);
        assert_eq!(item["refund_status"], "proposed");
    }
    assert_eq!(metric(&app, "motcua_payments_overpaid").await, 4.0);
    assert_eq!(
        metric(&app, "motcua_payments_overpaid_vnd").await,
        4.0 * DUE as f64
    );
    a_late_success_alone_pays_the_fee(&app).await;

    // The proposed refund of the superseded attempt is approved: money goes back.
    let (_, citizen, _, id) = &late[3];
    let refund_id = proposed(&payment(&app, citizen, id).await)[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let url = format!("/api/v1/payments/{id}/refunds/{refund_id}/approve");
    let res = app
        .post(&url)
        .header("authorization", bearer(citizen))
        .send()
        .await
        .unwrap();
    problem(res, 403, "forbidden").await;
    let res = app
        .post(&url)
        .header("authorization", bearer(&officer))
        .send()
        .await
        .unwrap();
    let status = res.status();
    let refund: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{refund}");
    assert_eq!(refund["status"], "success", "{refund}");
    assert!(refund["approved_by"].is_i64(), "{refund}");
    let res = app
        .post(&url)
        .header("authorization", bearer(&officer))
        .send()
        .await
        .unwrap();
    problem(res, 409, "refund_not_proposed").await;
    let after = payment(&app, citizen, id).await;
    assert_eq!(after["refundable_vnd"], 0);
    let still = discrepancies(&app).await;
    let item = still.iter().find(|i| i["payment_id"] == *id).unwrap();
    assert_eq!(item["refund_status"], "success");
    assert_eq!(item["unresolved_vnd"], 0);
    assert_eq!(metric(&app, "motcua_payments_overpaid").await, 3.0);
    assert_eq!(
        metric(&app, "motcua_payments_overpaid_vnd").await,
        3.0 * DUE as f64
    );
    // Citizens do not read the discrepancy list.
    let res = app
        .get("/api/v1/payments/discrepancies")
        .header("authorization", bearer(citizen))
        .send()
        .await
        .unwrap();
    problem(res, 403, "forbidden").await;
}

/// Nothing else paid: a late success pays the fee, no surplus.
async fn a_late_success_alone_pays_the_fee(app: &TestApp) {
    // Nothing else paid: a late success pays the fee, no surplus.
    let (citizen, code) = dossier_with_fees(app).await;
    let p = start(app, &citizen, &code).await;
    let r = visit(app, &p).await;
    let id = p["id"].as_str().unwrap();
    app.post(&format!("/api/v1/payments/{id}/cancel"))
        .header("authorization", bearer(&citizen))
        .send()
        .await
        .unwrap();
    complete(app, &r, "pay", "once").await;
    let p = payment(app, &citizen, id).await;
    assert_eq!(
        (
            p["status"].clone(),
            p["applied_vnd"].clone(),
            p["surplus_vnd"].clone()
        ),
        (json!("success"), json!(DUE), json!(0))
    );
    assert!(proposed(&p).is_empty());
    assert_eq!(fees_paid(app, &citizen, &code).await, DUE);
    assert_eq!(discrepancies(app).await.len(), 4);
}

async fn duplicate_late_notifications_record_the_surplus_once(app: TestApp) {
    let officer = app.token(Role::Officer).await;
    let (citizen, code) = dossier_with_fees(&app).await;
    let p = start(&app, &citizen, &code).await;
    let r = visit(&app, &p).await;
    assert_eq!(counter(&app, &officer, &code, "BL-7").await.status(), 201);
    let report = complete(&app, &r, "pay", "never").await;
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
    let late = payment(&app, &citizen, p["id"].as_str().unwrap()).await;
    assert_surplus(&late);
    assert_eq!(fees_paid(&app, &citizen, &code).await, DUE);
    assert_eq!(discrepancies(&app).await.len(), 1);
}

async fn reconciliation_flags_overpaid_dossiers_and_records_found_money(app: TestApp) {
    let officer = app.token(Role::Officer).await;
    // Overpaid: cash at the counter, and the superseded online attempt paid too.
    let (citizen, code) = dossier_with_fees(&app).await;
    let p = start(&app, &citizen, &code).await;
    let r = visit(&app, &p).await;
    assert_eq!(counter(&app, &officer, &code, "BL-5").await.status(), 201);
    complete(&app, &r, "pay", "once").await;
    // Paid at the gateway, the notification lost: reconciliation records it.
    let (_, lost_code) = dossier_with_fees(&app).await;
    let lost = start(&app, &citizen, &lost_code).await;
    let lost_ref = visit(&app, &lost).await;
    complete(&app, &lost_ref, "pay", "never").await;
    let today = (chrono::Utc::now() + chrono::Duration::hours(7)).date_naive();
    let admin = app.token(Role::Admin).await;
    let res = app
        .post(&format!("/api/v1/payments/reconciliation?date={today}"))
        .header("authorization", bearer(&admin))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let view: Value = res.json().await.unwrap();
    assert_eq!(view["run"]["overpaid"], 1, "{view}");
    let items = view["discrepancies"].as_array().unwrap();
    let over = items
        .iter()
        .find(|i| i["result"] == "overpaid")
        .unwrap_or_else(|| panic!("{view}"));
    assert_eq!(over["txn_ref"], format!("dossier:{code}"));
    assert_eq!(over["our_amount_vnd"], 2 * DUE, "received in all");
    let found = items
        .iter()
        .find(|i| i["txn_ref"] == lost_ref)
        .unwrap_or_else(|| panic!("{view}"));
    assert_eq!(found["result"], "mismatch");
    let recorded = payment(&app, &citizen, lost["id"].as_str().unwrap()).await;
    assert_eq!(recorded["status"], "success", "found money is recorded");
    assert!(
        recorded["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "reconciliation_paid")
    );
    assert_eq!(fees_paid(&app, &citizen, &lost_code).await, DUE);
    // Run again: the lost payment now matches; the overpayment stays flagged.
    let view: Value = app
        .post(&format!("/api/v1/payments/reconciliation?date={today}"))
        .header("authorization", bearer(&admin))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(view["run"]["mismatch"], 0, "{view}");
    assert_eq!(view["run"]["overpaid"], 1, "{view}");
}

/// Below the API: the database itself refuses a second open attempt, a second
/// settlement of the fee, and more paid than due.
async fn the_database_refuses_a_second_open_attempt_or_settlement(app: TestApp) {
    use diesel::prelude::*;
    use motcua_persistence::schema::{dossiers, payments};
    let (citizen, code) = dossier_with_fees(&app).await;
    let p = start(&app, &citizen, &code).await;
    let mut conn = app.pool.get().unwrap();
    let dossier_id: i64 = dossiers::table
        .filter(dossiers::code.eq(&code))
        .select(dossiers::id)
        .first(&mut *conn)
        .unwrap();
    let user: i64 = payments::table
        .find(p["id"].as_str().unwrap())
        .select(payments::created_by)
        .first(&mut *conn)
        .unwrap();
    let at = chrono::Utc::now().naive_utc();
    let insert =
        |conn: &mut motcua_persistence::AnyConnection, id: &str, status: &str, applied: i64| {
            diesel::insert_into(payments::table)
                .values((
                    (
                        payments::id.eq(id),
                        payments::dossier_id.eq(dossier_id),
                        payments::method.eq("online"),
                        payments::gateway.eq("sandbox"),
                        payments::txn_ref.eq(id),
                        payments::amount_vnd.eq(DUE),
                        payments::status.eq(status),
                        payments::created_by.eq(user),
                    ),
                    (
                        payments::created_at.eq(at),
                        payments::updated_at.eq(at),
                        payments::expires_at.eq(at),
                        payments::corrected.eq(false),
                        payments::check_attempts.eq(0),
                        payments::applied_vnd.eq(applied),
                    ),
                ))
                .execute(conn)
        };
    let second = insert(&mut conn, "second-open", "started", 0);
    assert!(
        matches!(
            second,
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _
            ))
        ),
        "{second:?}"
    );
    insert(&mut conn, "settled-1", "success", DUE).unwrap();
    let twice = insert(&mut conn, "settled-2", "success", DUE);
    assert!(
        matches!(
            twice,
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _
            ))
        ),
        "{twice:?}"
    );
    // A surplus (nothing applied) may be recorded; the fee cannot be exceeded.
    insert(&mut conn, "surplus-1", "success", 0).unwrap();
    let over = diesel::update(dossiers::table.find(dossier_id))
        .set(dossiers::fees_paid_vnd.eq(DUE + 1))
        .execute(&mut *conn);
    assert!(over.is_err(), "{over:?}");
}
