//! The change feed over HTTP: admins read every event, integration accounts
//! the events of the agencies they are granted (and catalog events), oldest
//! first, page after page by cursor; bad cursors, types and limits are 400s.

use motcua_domain::Role;
use motcua_domain::event::EventType;
use motcua_persistence::repo::events::{self, NewEvent};
use motcua_tests::{TestApp, bearer, on_both_backends, problem};
use serde_json::{Value, json};

on_both_backends!(
    admins_page_through_every_event_in_order,
    integrations_see_their_granted_agencies,
    bad_queries_are_refused,
);

/// Appends events as a change would (the use cases write them in their own transactions).
async fn append(app: &TestApp, events: Vec<(&'static str, EventType, Option<i64>)>) {
    let pool = app.pool.clone();
    actix_web::rt::task::spawn_blocking(move || {
        let mut conn = pool.get().unwrap();
        for (subject, event_type, agency_id) in events {
            let id = uuid::Uuid::now_v7().to_string();
            let payload = json!({"code": subject}).to_string();
            events::append(
                &mut conn,
                &NewEvent {
                    id: &id,
                    event_type,
                    version: 1,
                    subject,
                    agency_id,
                    occurred_at: chrono::Utc::now(),
                    payload: &payload,
                },
            )
            .unwrap();
        }
    })
    .await
    .unwrap();
}

/// Follows the feed from the start until `want` events arrived (the
/// PostgreSQL horizon may hold fresh events back for a moment).
async fn follow(app: &TestApp, token: &str, query: &str, want: usize) -> Vec<Value> {
    let mut after = String::new();
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while seen.len() < want {
        assert!(
            std::time::Instant::now() < deadline,
            "only {} of {want}",
            seen.len()
        );
        let page = app
            .get_json(
                token,
                &format!("/api/v1/events?limit=2&after={after}{query}"),
            )
            .await;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        after = page["next"].as_str().unwrap().to_owned();
        seen.extend(items.iter().cloned());
    }
    // Nothing more, and the cursor stays where it is.
    let page = app
        .get_json(token, &format!("/api/v1/events?after={after}{query}"))
        .await;
    assert_eq!(page["items"], json!([]));
    assert_eq!(page["next"], after.as_str());
    seen
}

fn subjects(items: &[Value]) -> Vec<&str> {
    items
        .iter()
        .map(|e| e["subject"].as_str().unwrap())
        .collect()
}

async fn admins_page_through_every_event_in_order(app: TestApp) {
    let admin = app.token(Role::Admin).await;
    let department = app.demo.department_id;
    append(
        &app,
        vec![
            ("D-1", EventType::DossierSubmitted, Some(department)),
            ("D-1", EventType::DossierReceived, Some(department)),
            ("P-1", EventType::PaymentPaid, Some(department)),
            ("1.001", EventType::ProcedureChanged, None),
            ("D-1", EventType::DossierResultIssued, Some(department)),
        ],
    )
    .await;
    let all = follow(&app, &admin, "", 5).await;
    assert_eq!(subjects(&all), ["D-1", "D-1", "P-1", "1.001", "D-1"]);
    assert_eq!(all[0]["type"], "dossier.submitted");
    assert_eq!(all[0]["subject_kind"], "dossier");
    assert_eq!(all[0]["version"], 1);
    assert_eq!(all[0]["data"]["code"], "D-1");
    assert_eq!(all[3]["agency_id"], Value::Null);
    let ids: std::collections::HashSet<&str> =
        all.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 5, "ids are distinct");

    let paid = follow(&app, &admin, "&types=payment.paid,dossier.result_issued", 2).await;
    assert_eq!(subjects(&paid), ["P-1", "D-1"]);
    let of_department = follow(&app, &admin, &format!("&agency={department}"), 4).await;
    assert_eq!(subjects(&of_department), ["D-1", "D-1", "P-1", "D-1"]);
}

async fn integrations_see_their_granted_agencies(app: TestApp) {
    let admin = app.token(Role::Admin).await;
    let portal = app.token(Role::Integration).await;
    let portal_id = app.user_id(&app.account(Role::Integration).0).await;
    let department = app.demo.department_id;
    append(
        &app,
        vec![
            ("D-1", EventType::DossierReceived, Some(department)),
            ("1.001", EventType::ProcedureCreated, None),
        ],
    )
    .await;
    // Without a grant: catalog events only; asking for the agency is refused.
    assert_eq!(subjects(&follow(&app, &portal, "", 1).await), ["1.001"]);
    let res = app
        .get(&format!("/api/v1/events?agency={department}"))
        .header("authorization", bearer(&portal))
        .send()
        .await
        .unwrap();
    problem(res, 403, "forbidden").await;

    let res = app
        .post(&format!("/api/v1/integrations/{portal_id}/grants"))
        .header("authorization", bearer(&admin))
        .json(&json!({"agency_id": department}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(
        subjects(&follow(&app, &portal, "", 2).await),
        ["D-1", "1.001"]
    );
    let only = follow(&app, &portal, &format!("&agency={department}"), 1).await;
    assert_eq!(subjects(&only), ["D-1"]);

    for role in [Role::Citizen, Role::Officer, Role::Leader] {
        let token = app.token(role).await;
        let res = app
            .get("/api/v1/events")
            .header("authorization", bearer(&token))
            .send()
            .await
            .unwrap();
        problem(res, 403, "forbidden").await;
    }
    let res = app.get("/api/v1/events").send().await.unwrap();
    assert_eq!(res.status(), 401);
}

async fn bad_queries_are_refused(app: TestApp) {
    let admin = app.token(Role::Admin).await;
    for (query, field) in [
        ("after=yesterday", "after"),
        ("after=1-2-3", "after"),
        ("after=-1-0", "after"),
        ("types=dossier.exploded", "types"),
        ("types=dossier.received,,nope", "types"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
    ] {
        let res = app
            .get(&format!("/api/v1/events?{query}"))
            .header("authorization", bearer(&admin))
            .send()
            .await
            .unwrap();
        let body = problem(res, 400, "invalid_query").await;
        assert_eq!(body["errors"][0]["field"], field, "{query}: {body}");
    }
    let res = app
        .get("/api/v1/events?cursor=0-0")
        .header("authorization", bearer(&admin))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400, "unknown parameters are refused");
}
