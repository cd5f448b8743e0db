//! The webhook API over real HTTP: who may subscribe, who sees what, the
//! secret shown once, rotation, the delivery log and manual redelivery.

use motcua_domain::Role;
use motcua_domain::event::EventType;
use motcua_persistence::repo::events::{self, NewEvent};
use motcua_tests::{TestApp, bearer, on_both_backends, problem};
use serde_json::{Value, json};

on_both_backends!(subscriptions_are_owned_rotated_logged_and_redelivered);

async fn create(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    app.post("/api/v1/webhooks")
        .header("authorization", bearer(token))
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn subscriptions_are_owned_rotated_logged_and_redelivered(app: TestApp) {
    let admin = app.token(Role::Admin).await;
    let portal = app.token(Role::Integration).await;
    let citizen = app.token(Role::Citizen).await;
    let body = json!({"url": "http://127.0.0.1:9/hooks", "event_types": ["dossier.received"]});
    problem(create(&app, &citizen, &body).await, 403, "forbidden").await;
    problem(
        create(&app, &portal, &json!({"url": "ftp://portal.example.vn/"})).await,
        422,
        "validation_failed",
    )
    .await;
    // An agency that does not exist is a field error; one the account is not
    // granted is not its to follow (its feed would not show those events).
    let body_for = |agency: i64| json!({"url": "http://127.0.0.1:9/hooks", "event_types": [], "agency_id": agency});
    let unknown = problem(
        create(&app, &admin, &body_for(987_654)).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(unknown["errors"][0]["field"], "agency_id");
    let department = app.demo.department_id;
    problem(
        create(&app, &portal, &body_for(department)).await,
        403,
        "forbidden",
    )
    .await;
    let res = create(&app, &portal, &body).await;
    assert_eq!(res.status(), 201);
    let mine: Value = res.json().await.unwrap();
    let id = mine["id"].as_i64().unwrap();
    let secret = mine["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(mine["status"], "active");
    assert_eq!(mine["event_types"], json!(["dossier.received"]));
    let res = create(
        &app,
        &admin,
        &json!({"url": "https://portal.example.vn/all"}),
    )
    .await;
    assert_eq!(res.status(), 201);
    let theirs: Value = res.json().await.unwrap();
    // Each sees its own; admins see all; the secret is never shown again.
    let listed = app.get_json(&portal, "/api/v1/webhooks").await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert!(listed["items"][0].get("secret").is_none());
    let listed = app.get_json(&admin, "/api/v1/webhooks").await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 2);
    let other = format!("/api/v1/webhooks/{}", theirs["id"]);
    let res = app
        .get(&other)
        .header("authorization", bearer(&portal))
        .send()
        .await
        .unwrap();
    problem(res, 404, "not_found").await;
    let path = format!("/api/v1/webhooks/{id}");
    assert_eq!(app.get_json(&admin, &path).await["id"], id);
    // Rotation: a new secret, shown once; the old one still signs for a while.
    let rotated: Value = app
        .post(&format!("{path}/rotate-secret"))
        .header("authorization", bearer(&portal))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_ne!(rotated["secret"], secret.as_str());
    assert!(rotated["previous_secret_valid_until"].as_str().is_some());
    delivery_log_retry_and_removal(&app, &portal, &admin, &path).await;
}

/// An event, rounds against a closed port: a failed attempt in the log, a
/// manual retry, switched off, deleted.
async fn delivery_log_retry_and_removal(app: &TestApp, portal: &str, admin: &str, path: &str) {
    let (portal, admin) = (portal.to_owned(), admin.to_owned());
    {
        let mut conn = app.pool.get().unwrap();
        let event_id = uuid::Uuid::new_v4().to_string();
        events::append(
            &mut conn,
            &NewEvent {
                id: &event_id,
                event_type: EventType::DossierReceived,
                version: 1,
                subject: "H-1",
                agency_id: None,
                occurred_at: app.clock.now(),
                payload: "{}",
            },
        )
        .unwrap();
    }
    // Rounds until it is tried (on PostgreSQL the feed's horizon may hold it back a moment).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let log = loop {
        let worker = app.app.clone();
        actix_web::rt::task::spawn_blocking(move || worker.webhook_round())
            .await
            .unwrap();
        let log = app.get_json(&portal, &format!("{path}/deliveries")).await;
        if !log["items"].as_array().unwrap().is_empty() {
            break log;
        }
        assert!(std::time::Instant::now() < deadline, "never tried");
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let delivery = &log["items"][0];
    assert_eq!(delivery["status"], "pending");
    assert_eq!(delivery["attempts"], 1);
    assert!(delivery["log"][0]["error"].as_str().is_some(), "{log}");
    let res = app
        .post(&format!("{path}/deliveries/{}/retry", delivery["id"]))
        .header("authorization", bearer(&portal))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let retried: Value = res.json().await.unwrap();
    assert_eq!(retried["status"], "pending");
    // Switched off and on; deleted.
    let res = app
        .patch(path)
        .header("authorization", bearer(&portal))
        .json(&json!({"status": "disabled"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "disabled");
    let res = app
        .delete(path)
        .header("authorization", bearer(&portal))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let res = app
        .get(path)
        .header("authorization", bearer(&admin))
        .send()
        .await
        .unwrap();
    problem(res, 404, "not_found").await;
}
