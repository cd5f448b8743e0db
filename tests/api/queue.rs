//! The counter queue: numbers per agency and day, calls to counters (never
//! the same ticket twice), completion, and the waiting time in the KPIs.

use std::collections::BTreeSet;

use motcua_domain::Role;
use motcua_tests::{TestApp, bearer, on_both_backends, problem};
use serde_json::{Value, json};

on_both_backends!(
    tickets_are_numbered_called_and_completed,
    concurrent_kiosks_and_counters
);

async fn take(app: &TestApp, token: &str, body: &Value) -> Value {
    let res = app
        .post("/api/v1/queue/tickets")
        .header("authorization", bearer(token))
        .json(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    res.json().await.unwrap()
}

async fn call(app: &TestApp, token: &str, counter: &str) -> Value {
    let res = app
        .post(&format!("/api/v1/queue/counters/{counter}/call-next"))
        .header("authorization", bearer(token))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

async fn tickets_are_numbered_called_and_completed(app: TestApp) {
    let officer = app.token(Role::Officer).await;
    let kiosk = app.token(Role::Integration).await;
    let dept = app.agency_id("000.00.20.H56").await;
    let procedure: Value = app
        .get("/api/v1/procedures/2.001584")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sector = procedure["sector_code"].as_str().unwrap().to_owned();

    let first = take(&app, &officer, &json!({})).await;
    assert_eq!(
        (first["number"].as_i64(), first["agency_id"].as_i64()),
        (Some(1), Some(dept))
    );
    assert_eq!(first["status"], "waiting");
    assert_eq!(first["waiting_ahead"], 0);
    let second = take(&app, &kiosk, &json!({"agency_id": dept, "sector": sector})).await;
    assert_eq!(second["number"], 2);
    assert_eq!(second["waiting_ahead"], 1);
    bad_tickets_are_refused(&app, &kiosk, dept).await;

    // Anyone can look a ticket up: no personal data in it.
    let shown: Value = app
        .get(&format!("/api/v1/queue/tickets/{}", second["id"]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shown["waiting_ahead"], 1);

    let called = call(&app, &officer, "1").await;
    assert_eq!(called["ticket"]["number"], 1);
    assert_eq!(called["ticket"]["status"], "called");
    assert_eq!(called["ticket"]["counter"], "1");
    assert_eq!(called["waiting"], 1);
    let called = call(&app, &officer, "2").await;
    assert_eq!(called["ticket"]["number"], 2);
    // Counter 1 calls again: its ticket is done, nobody is waiting.
    let none = call(&app, &officer, "1").await;
    assert_eq!(none["ticket"], Value::Null);
    let first_now: Value = app
        .get(&format!("/api/v1/queue/tickets/{}", first["id"]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(first_now["status"], "completed");

    let complete = |id: &Value| {
        app.post(&format!("/api/v1/queue/tickets/{id}/complete"))
            .header("authorization", bearer(&officer))
            .send()
    };
    let res = complete(&second["id"]).await.unwrap();
    assert_eq!(res.status(), 200);
    let done: Value = res.json().await.unwrap();
    assert_eq!(done["status"], "completed");
    problem(complete(&second["id"]).await.unwrap(), 409, "conflict").await;
    let res = app
        .post("/api/v1/queue/counters/%20/call-next")
        .header("authorization", bearer(&officer))
        .send()
        .await
        .unwrap();
    problem(res, 422, "validation_failed").await;

    // An officer of another agency cannot complete the department's tickets.
    let admin_token = app.token(Role::Admin).await;
    let admin = bearer(&admin_token);
    let commune = app.agency_id("000.00.31.H56").await;
    let res = app
        .post("/api/v1/users")
        .header("authorization", &admin)
        .json(&json!({"username": "canbo.xa", "password": "mat-khau-can-bo-xa", "role": "officer", "agency_id": commune, "full_name": "Cán bộ xã"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let other = app.login("canbo.xa", "mat-khau-can-bo-xa").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let third = take(&app, &officer, &json!({})).await;
    call(&app, &officer, "1").await;
    let res = app
        .post(&format!("/api/v1/queue/tickets/{}/complete", third["id"]))
        .header("authorization", bearer(&other))
        .send()
        .await
        .unwrap();
    problem(res, 403, "forbidden").await;
    // The commune's numbers start at 1.
    let theirs = take(&app, &other, &json!({})).await;
    assert_eq!(theirs["number"], 1);

    waits_are_counted(&app, (&admin_token, &admin), dept).await;
}

/// Three tickets called today, waits under a minute; day by day; nothing by sector or for online dossiers.
async fn waits_are_counted(app: &TestApp, (admin_token, admin): (&str, &str), dept: i64) {
    // Three tickets called today, waits under a minute.
    let kpi: Value = app
        .get(&format!("/api/v1/kpi/summary?agency_id={dept}"))
        .header("authorization", admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        kpi["waiting_time"],
        json!({"tickets_called": 3, "average_minutes": 0.0, "p90_minutes": 0})
    );
    // Day by day: today's three calls, none the day before.
    let local_today = (chrono::Utc::now() + chrono::Duration::hours(7)).date_naive();
    let days = app
        .get_json(
            admin_token,
            &format!(
                "/api/v1/kpi/timeseries?granularity=day&agency_id={dept}&from={}&to={local_today}",
                local_today - chrono::Duration::days(1)
            ),
        )
        .await;
    let waits: Vec<&Value> = days["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["waiting_time"])
        .collect();
    assert_eq!(
        waits,
        [
            &json!({"tickets_called": 0, "average_minutes": null, "p90_minutes": null}),
            &json!({"tickets_called": 3, "average_minutes": 0.0, "p90_minutes": 0})
        ]
    );
    let by_sector = app
        .get_json(
            admin_token,
            "/api/v1/kpi/timeseries?granularity=day&sector=du-lich",
        )
        .await;
    assert_eq!(by_sector["points"][0]["waiting_time"], Value::Null);
    let online: Value = app
        .get("/api/v1/kpi/summary?channel=online")
        .header("authorization", admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(online["waiting_time"], Value::Null);
}

/// The kiosk must say which agency; sectors must exist; citizens use a kiosk.
async fn bad_tickets_are_refused(app: &TestApp, kiosk: &str, dept: i64) {
    let res = app
        .post("/api/v1/queue/tickets")
        .header("authorization", bearer(kiosk))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    problem(res, 422, "validation_failed").await;
    let res = app
        .post("/api/v1/queue/tickets")
        .header("authorization", bearer(kiosk))
        .json(&json!({"agency_id": dept, "sector": "khong-co"}))
        .send()
        .await
        .unwrap();
    problem(res, 422, "validation_failed").await;
    let citizen = app.token_of(motcua::seed::DEMO_CITIZEN_ID).await;
    let res = app
        .post("/api/v1/queue/tickets")
        .header("authorization", bearer(&citizen))
        .json(&json!({"agency_id": dept}))
        .send()
        .await
        .unwrap();
    problem(res, 403, "forbidden").await;
}

async fn concurrent_kiosks_and_counters(app: TestApp) {
    let officer = app.token(Role::Officer).await;
    let taken = {
        let empty = json!({});
        futures_util::future::join_all((0..20).map(|_| take(&app, &officer, &empty))).await
    };
    let numbers: BTreeSet<i64> = taken
        .iter()
        .map(|t| t["number"].as_i64().unwrap())
        .collect();
    assert_eq!(
        numbers,
        (1..=20).collect(),
        "consecutive and never repeated"
    );
    let counters = ["1", "2", "3", "4"];
    let mut called = Vec::new();
    for _ in 0..6 {
        let round =
            futures_util::future::join_all(counters.iter().map(|c| call(&app, &officer, c))).await;
        called.extend(
            round
                .into_iter()
                .filter_map(|r| r["ticket"]["number"].as_i64()),
        );
    }
    let distinct: BTreeSet<i64> = called.iter().copied().collect();
    assert_eq!(called.len(), 20, "every ticket called: {called:?}");
    assert_eq!(distinct.len(), 20, "none called twice: {called:?}");
}
