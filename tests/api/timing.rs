//! Which open dossiers are overdue: never one whose clock stands still for a
//! supplement, never one whose result is issued (DOMAIN.md, Time rules).

use motcua::seed::DEMO_CITIZEN_ID;
use motcua_domain::Role;
use motcua_tests::{TestApp, on_both_backends};
use serde_json::{Value, json};

use crate::dossiers::{make_overdue, submit_reissue, to_review};

on_both_backends!(overdue_excludes_stopped_clocks_and_issued_results);

async fn overdue_excludes_stopped_clocks_and_issued_results(app: TestApp) {
    let citizen = app.token_of(DEMO_CITIZEN_ID).await;
    let officer = app.token(Role::Officer).await;
    let handler = app.token_of("demo.handler").await;
    let leader = app.token(Role::Leader).await;

    let running = submit_reissue(&app, &citizen).await.code().to_owned();
    app.act_ok(&officer, &running, &json!({"action": "receive"}))
        .await;

    let waiting = submit_reissue(&app, &citizen).await.code().to_owned();
    to_review(&app, &waiting).await;
    let deadline = (chrono::Utc::now() + chrono::Duration::days(20)).date_naive();
    app.act_ok(
        &handler,
        &waiting,
        &json!({"action": "request_supplement", "missing": ["Tờ khai ký tên"], "deadline": deadline}),
    )
    .await;

    let issued = submit_reissue(&app, &citizen).await.code().to_owned();
    to_review(&app, &issued).await;
    app.act_ok(&handler, &issued, &json!({"action": "propose"}))
        .await;
    app.act_ok(&leader, &issued, &json!({"action": "approve"}))
        .await;
    app.act_ok(
        &handler,
        &issued,
        &json!({"action": "issue_result", "paper_result": true}),
    )
    .await;

    for code in [&running, &waiting, &issued] {
        make_overdue(&app, code);
    }
    let codes = |page: Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["code"].as_str().unwrap().to_owned())
            .collect()
    };
    let overdue = app
        .get_json(&officer, "/api/v1/dossiers?overdue=true")
        .await;
    assert_eq!(codes(overdue), [running.as_str()]);
    let soon = app
        .get_json(&officer, "/api/v1/dossiers?due_within=60")
        .await;
    assert!(
        codes(soon).is_empty(),
        "none is due soon: one overdue, two not counting"
    );

    // The views agree with the filter.
    let progress = |code: &String| {
        let (app, officer, code) = (&app, officer.clone(), code.clone());
        async move {
            app.get_json(&officer, &format!("/api/v1/dossiers/{code}"))
                .await["progress"]
                .clone()
        }
    };
    assert_eq!(progress(&running).await, "overdue");
    assert_eq!(progress(&waiting).await, "within_time");
    assert_eq!(progress(&issued).await, Value::Null);
}
