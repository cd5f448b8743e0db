//! National portal synchronisation end to end, against the sandbox portal the
//! server itself serves: a dossier's whole life reaches it as status codes in
//! order; it refuses malformed and out-of-order messages; a portal that fails
//! is retried on schedule (the App clock moves, nobody waits) and the failure
//! shows with its reason until a push goes through; filings from the portal
//! are idempotent by portal code, also when sent at once; Decision 766's
//! synced-dossier indicator is measured from the sync status.

use std::sync::Arc;
use std::time::Duration;

use motcua::seed::DEMO_CITIZEN_ID;
use motcua_app::portal::{HttpPortalClient, PortalRound};
use motcua_domain::Role;
use motcua_persistence::repo::events::{self, FeedFilter};
use motcua_persistence::repo::portal as portal_store;
use motcua_persistence::write_tx;
use motcua_tests::{PDF, TestApp, bearer, on_both_backends, problem};
use serde_json::{Value, json};

use crate::dossiers::{submit_reissue, to_review};

on_both_backends!(
    a_dossiers_whole_life_reaches_the_portal_in_order,
    the_sandbox_refuses_malformed_and_out_of_order_messages,
    a_failing_portal_is_retried_and_the_failure_shows,
    portal_filings_are_idempotent_by_portal_code,
);

/// Rounds of the portal worker against this server's sandbox portal, until
/// it has read every committed event (on PostgreSQL the feed holds back
/// events while older transactions, other tests' included, are running).
async fn round(app: &TestApp) -> PortalRound {
    let client = Arc::new(HttpPortalClient::new(
        &app.url("/sandbox/portal"),
        None,
        Duration::from_secs(10),
    ));
    let mut total = PortalRound::default();
    for _ in 0..200 {
        let (server, client) = (app.app.clone(), client.clone());
        let (done, backlog) = actix_web::rt::task::spawn_blocking(move || {
            let done = server.portal_round_with(client.as_ref());
            let mut conn = server.pool.get().unwrap();
            let backlog = write_tx(&mut conn, |conn| {
                let cursor = portal_store::lock_cursor(conn)?;
                events::oldest_after(conn, cursor, &FeedFilter::default())
            })
            .unwrap();
            (done, backlog.is_some())
        })
        .await
        .unwrap();
        total.changes += done.changes;
        total.synced += done.synced;
        total.failed += done.failed;
        if !backlog {
            return total;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the portal worker never caught up with the outbox");
}

/// The status codes the sandbox portal accepted for a dossier, in order.
async fn received(app: &TestApp, code: &str) -> Vec<u64> {
    let res = app
        .get(&format!("/sandbox/portal/dossiers/{code}"))
        .send()
        .await
        .unwrap();
    if res.status() == 404 {
        return Vec::new();
    }
    let body: Value = res.json().await.unwrap();
    body["statuses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_u64().unwrap())
        .collect()
}

fn deduped(mut codes: Vec<u64>) -> Vec<u64> {
    codes.dedup();
    codes
}

async fn sync_of(app: &TestApp, token: &str, code: &str) -> Value {
    app.get_json(token, &format!("/api/v1/dossiers/{code}/portal-sync"))
        .await
}

async fn a_dossiers_whole_life_reaches_the_portal_in_order(app: TestApp) {
    let citizen = app.token_of(DEMO_CITIZEN_ID).await;
    let officer = app.token(Role::Officer).await;
    let admin = app.token(Role::Admin).await;
    let code = submit_reissue(&app, &citizen).await.code().to_owned();
    round(&app).await;
    assert_eq!(received(&app, &code).await, [1]);
    let sync = sync_of(&app, &officer, &code).await;
    assert_eq!(sync["status"], "synced", "{sync}");
    assert_eq!(sync["pushed_code"], 1);

    app.act_ok(&officer, &code, &json!({"action": "receive"}))
        .await;
    round(&app).await;
    assert_eq!(received(&app, &code).await, [1, 2]);

    // Assigned then proposed before the next round: one push of 4.
    let unit = app.agency_id("000.01.20.H56").await;
    let handler_id = app.user_id("demo.handler").await;
    app.act_ok(
        &officer,
        &code,
        &json!({"action": "assign", "unit_id": unit, "assignee_id": handler_id}),
    )
    .await;
    let handler = app.token_of("demo.handler").await;
    app.act_ok(&handler, &code, &json!({"action": "propose"}))
        .await;
    round(&app).await;
    // (Twice 4 when the two changes were read in two rounds; the portal takes
    // a repeat as an update.)
    assert_eq!(deduped(received(&app, &code).await), [1, 2, 4]);

    let leader = app.token(Role::Leader).await;
    app.act_ok(&leader, &code, &json!({"action": "approve"}))
        .await;
    let res = app
        .upload_to(
            &handler,
            &code,
            PDF,
            &[("kind", "result"), ("title", "Giấy phép")],
        )
        .await;
    assert_eq!(res.status(), 201);
    app.act_ok(&handler, &code, &json!({"action": "issue_result"}))
        .await;
    round(&app).await;
    app.act_ok(&officer, &code, &json!({"action": "return"}))
        .await;
    round(&app).await;
    assert_eq!(deduped(received(&app, &code).await), [1, 2, 4, 9, 10]);
    let last: Value = app
        .get(&format!("/sandbox/portal/dossiers/{code}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(last["last"]["result"], "issued");
    assert_eq!(last["last"]["procedure_code"], "2.001584");
    assert_eq!(last["last"]["applicant"]["id_number"], DEMO_CITIZEN_ID);
    assert!(last["last"]["finished_at"].is_string());
    let sync = sync_of(&app, &officer, &code).await;
    assert_eq!(sync["status"], "synced");
    assert_eq!(sync["pushed_code"], 10);
    assert_eq!(sync["current_code"], 10);
    // Nothing changed since: a round pushes nothing.
    assert_eq!(round(&app).await, PortalRound::default());

    // The citizen does not see the sync status.
    let res = app
        .get(&format!("/api/v1/dossiers/{code}/portal-sync"))
        .header("authorization", bearer(&citizen))
        .send()
        .await
        .unwrap();
    problem(res, 403, "forbidden").await;

    the_synced_indicator_is_measured(&app, &admin).await;
}

/// Decision 766's t2: the received dossier synced in time counts.
async fn the_synced_indicator_is_measured(app: &TestApp, admin: &str) {
    let summary = app.get_json(admin, "/api/v1/kpi/summary").await;
    let t2 = summary["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["indicators"].as_array().unwrap().iter())
        .find(|i| i["code"] == "t2_synced_dossiers")
        .unwrap()
        .clone();
    assert_eq!(t2["measured"], true, "{t2}");
    assert!(t2["points"].as_f64().unwrap() > 0.0, "{t2}");
    assert!(t2["rate"]["numerator"].as_i64().unwrap() >= 1, "{t2}");
}

fn message(code: &str, status: u8) -> Value {
    json!({
        "dossier_code": code,
        "procedure_code": "2.001584",
        "agency_code": "000.00.20.H56",
        "applicant": {"id_type": 1, "id_number": DEMO_CITIZEN_ID, "full_name": "Nguyễn Văn An"},
        "channel": 2,
        "result_channel": 2,
        "status": status,
        "submitted_at": "2026-11-23T02:00:00Z",
        "received_at": if status == 1 { Value::Null } else { json!("2026-11-23T03:00:00Z") },
        "due_at": if status == 1 { Value::Null } else { json!("2026-11-30T10:00:00Z") },
        "finished_at": Value::Null,
        "fees_due_vnd": 0,
        "fees_paid_vnd": 0,
        "paid": true,
        "result": Value::Null
    })
}

async fn send(app: &TestApp, body: &Value) -> (u16, Value) {
    let res = app
        .post("/sandbox/portal/dossiers")
        .json(body)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

async fn the_sandbox_refuses_malformed_and_out_of_order_messages(app: TestApp) {
    let code = "000.00.20.H56-261123-0042";
    let (status, answer) = send(&app, &json!({"dossier_code": code})).await;
    assert_eq!((status, &answer["error_code"]), (400, &json!("bad_format")));
    assert_eq!(answer["success"], false);
    // A first message must register the dossier, not jump to in process.
    let (status, answer) = send(&app, &message(code, 4)).await;
    assert_eq!(
        (status, &answer["error_code"]),
        (422, &json!("bad_transition"))
    );
    let mut bad = message(code, 1);
    bad["agency_code"] = json!("H56");
    let (status, answer) = send(&app, &bad).await;
    assert_eq!((status, &answer["error_code"]), (422, &json!("bad_format")));
    let mut bad = message(code, 2);
    bad["received_at"] = Value::Null;
    let (status, answer) = send(&app, &bad).await;
    assert_eq!(
        (status, &answer["error_code"]),
        (422, &json!("missing_field"))
    );
    let (status, answer) = send(&app, &message(code, 1)).await;
    assert_eq!((status, &answer["success"]), (200, &json!(true)));
    // Out of order: returned right after registered.
    let mut returned = message(code, 10);
    returned["finished_at"] = json!("2026-11-25T03:00:00Z");
    returned["result"] = json!("issued");
    let (status, answer) = send(&app, &returned).await;
    assert_eq!(
        (status, &answer["error_code"]),
        (422, &json!("bad_transition"))
    );
    assert!(answer["message"].as_str().unwrap().contains("10"));
    let (status, _) = send(&app, &message(code, 2)).await;
    assert_eq!(status, 200);
    assert_eq!(received(&app, code).await, [1, 2]);
}

async fn a_failing_portal_is_retried_and_the_failure_shows(app: TestApp) {
    let citizen = app.token_of(DEMO_CITIZEN_ID).await;
    let officer = app.token(Role::Officer).await;
    let admin = app.token(Role::Admin).await;
    let code = submit_reissue(&app, &citizen).await.code().to_owned();
    to_review(&app, &code).await;
    let res = app
        .post("/sandbox/portal/failures")
        .json(&json!({"times": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let first = round(&app).await;
    assert!(first.failed >= 1, "{first:?}");
    let sync = sync_of(&app, &officer, &code).await;
    assert_eq!(sync["status"], "failed", "{sync}");
    assert_eq!(sync["attempts"], 1);
    assert!(
        sync["last_error"].as_str().unwrap().contains("unavailable"),
        "{sync}"
    );
    assert!(sync["next_attempt_at"].is_string());
    let failed = app
        .get_json(&admin, "/api/v1/portal/sync?status=failed")
        .await;
    assert!(
        failed["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["dossier_code"] == code.as_str()),
        "{failed}"
    );
    // Not due yet: nothing is sent.
    round(&app).await;
    assert_eq!(sync_of(&app, &officer, &code).await["attempts"], 1);
    assert!(received(&app, &code).await.is_empty());

    // Retried after each wait until the portal answers: the second attempt fails
    // too, the third goes through. On PostgreSQL a change of the dossier may
    // reach the worker a round late (the feed reads below the snapshot horizon,
    // which other databases' transactions hold back), which starts the count
    // again; so the rounds go on until synced, within a bound.
    let mut sync = Value::Null;
    for _ in 0..8 {
        app.clock.advance(chrono::Duration::minutes(5));
        round(&app).await;
        sync = sync_of(&app, &officer, &code).await;
        if sync["status"] == "synced" {
            break;
        }
        assert!(
            sync["status"] == "failed" || sync["status"] == "pending",
            "{sync}"
        );
    }
    assert_eq!(sync["status"], "synced", "{sync}");
    assert!(sync["last_error"].is_null());
    // The changes not pushed are caught up in order: received, in process.
    assert_eq!(received(&app, &code).await, [2, 4]);
    let failed = app
        .get_json(&admin, "/api/v1/portal/sync?status=failed")
        .await;
    assert_eq!(failed["items"], json!([]));

    // A resync of the day pushes it again; officers may not ask for one.
    let today = (chrono::Utc::now() + chrono::Duration::hours(7)).date_naive();
    let period = json!({"from": today, "to": today});
    let res = app
        .post("/api/v1/portal/resync")
        .header("authorization", bearer(&officer))
        .json(&period)
        .send()
        .await
        .unwrap();
    problem(res, 403, "forbidden").await;
    let res = app
        .post("/api/v1/portal/resync")
        .header("authorization", bearer(&admin))
        .json(&period)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let marked: Value = res.json().await.unwrap();
    assert!(marked["marked"].as_u64().unwrap() >= 1, "{marked}");
    assert_eq!(sync_of(&app, &officer, &code).await["status"], "pending");
    round(&app).await;
    assert_eq!(received(&app, &code).await, [2, 4, 4]);
}

fn filing(portal_code: &str, d1: &str, d2: &str) -> Value {
    json!({
        "portal_code": portal_code,
        "dossier": {
            "procedure_code": "2.001584",
            "applicant": {"id_number": "079190009999", "full_name": "Phạm Văn Dũng"},
            "documents": [{"requirement": "D1", "document_id": d1}, {"requirement": "D2", "document_id": d2}]
        }
    })
}

async fn file(app: &TestApp, token: &str, body: &Value) -> (u16, Value) {
    let res = app
        .post("/api/v1/portal/dossiers")
        .header("authorization", bearer(token))
        .json(body)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

async fn portal_filings_are_idempotent_by_portal_code(app: TestApp) {
    let portal = app.token(Role::Integration).await;
    let officer = app.token(Role::Officer).await;
    let d1 = app.upload(&portal, "don.pdf").await;
    let d2 = app.upload(&portal, "giay-phep.pdf").await;
    let body = filing("G22.99-261123-000123", &d1, &d2);
    let (status, first) = file(&app, &portal, &body).await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["created"], true);
    assert_eq!(first["portal_status"], 1);
    let (status, again) = file(&app, &portal, &body).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["created"], false);
    assert_eq!(again["dossier_code"], first["dossier_code"]);
    let list = app.get_json(&portal, "/api/v1/dossiers").await;
    assert_eq!(list["total"], 1, "{list}");
    let shown = app
        .dossier(&portal, first["dossier_code"].as_str().unwrap())
        .await;
    assert_eq!(shown.body["channel"], "online");

    // Only integration accounts file from the portal.
    let (status, _) = file(&app, &officer, &filing("G22.99-261123-000124", &d1, &d2)).await;
    assert_eq!(status, 403);
    let (status, bad) = file(&app, &portal, &filing("no spaces", &d1, &d2)).await;
    assert_eq!(status, 422, "{bad}");

    // The same new code sent eight times at once: one dossier.
    let d3 = app.upload(&portal, "don-2.pdf").await;
    let d4 = app.upload(&portal, "giay-phep-2.pdf").await;
    let body = filing("G22.99-261123-000200", &d3, &d4);
    let answers = futures_util::future::join_all((0..8).map(|_| file(&app, &portal, &body))).await;
    let created = answers.iter().filter(|(s, _)| *s == 201).count();
    assert_eq!(created, 1, "{answers:?}");
    assert!(
        answers.iter().all(|(s, _)| *s == 200 || *s == 201),
        "{answers:?}"
    );
    let codes: std::collections::BTreeSet<&str> = answers
        .iter()
        .map(|(_, b)| b["dossier_code"].as_str().unwrap())
        .collect();
    assert_eq!(codes.len(), 1, "{answers:?}");
    let list = app.get_json(&portal, "/api/v1/dossiers").await;
    assert_eq!(list["total"], 2, "{list}");
}
