//! The calendar past the official notices: generated Labour Code holidays for
//! unconfirmed years, marked provisional, confirmed by an admin; the
//! appointment preview; the receipt's provisional flag.

use diesel::prelude::*;
use motcua_domain::Role;
use motcua_tests::{TestApp, bearer, on_both_backends, problem};
use serde_json::{Value, json};

use crate::dossiers::submit_reissue;

on_both_backends!(
    a_year_without_notice_gets_the_labour_code_days,
    appointment_preview_crosses_into_the_next_year,
    confirming_a_year,
    receipt_says_when_the_appointment_is_provisional,
);

async fn get(app: &TestApp, path: &str) -> Value {
    let res = app.get(path).send().await.unwrap();
    assert_eq!(res.status(), 200, "{path}");
    res.json().await.unwrap()
}

async fn a_year_without_notice_gets_the_labour_code_days(app: TestApp) {
    let official = get(&app, "/api/v1/calendar/days?year=2026").await;
    assert_eq!(official["provisional"], false);
    assert!(
        official["days"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["generated"] == false)
    );

    let next = get(&app, "/api/v1/calendar/days?year=2027").await;
    assert_eq!(next["provisional"], true);
    let generated: Vec<&str> = next["days"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["generated"] == true && d["kind"] == "holiday")
        .map(|d| d["date"].as_str().unwrap())
        .collect();
    assert_eq!(
        generated,
        [
            "2027-01-01",
            "2027-02-05",
            "2027-02-08",
            "2027-02-09",
            "2027-02-10",
            "2027-02-11",
            "2027-04-16",
            "2027-04-30",
            "2027-05-03",
            "2027-09-02",
            "2027-09-03",
        ]
    );
    // 261 weekdays less the 11 Labour Code days off.
    assert_eq!(next["working_days"], 250);

    let new_year = get(&app, "/api/v1/calendar/days/2027-01-01").await;
    assert_eq!(
        (
            &new_year["working"],
            &new_year["day_type"],
            &new_year["provisional"]
        ),
        (&json!(false), &json!("holiday"), &json!(true))
    );
    assert_eq!(new_year["name"], "Tết Dương lịch");
    let hung_kings = get(&app, "/api/v1/calendar/days/2027-04-16").await;
    assert!(hung_kings["name"].as_str().unwrap().contains("Hùng Vương"));
}

async fn appointment_preview_crosses_into_the_next_year(app: TestApp) {
    // 1.004580 commits 20 working days. Received Mon 14 Dec 2026, 09:00:
    // 1 Jan 2027 is off though no notice for 2027 exists, so Tue 12 Jan.
    let preview = get(
        &app,
        "/api/v1/procedures/1.004580/appointment?at=2026-12-14T02:00:00Z",
    )
    .await;
    assert_eq!(preview["allowed_time"], 20);
    assert_eq!(preview["counts_from"], "2026-12-14");
    assert_eq!(preview["due_at"], "2027-01-12T10:00:00Z");
    assert_eq!(preview["provisional"], true);
    let off: Vec<&str> = preview["days_off"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["day_type"] == "holiday")
        .map(|d| d["date"].as_str().unwrap())
        .collect();
    assert_eq!(off, ["2027-01-01"]);

    // Inside a confirmed year: Mon 2 Mar 2026 → Mon 30 Mar, weekends only.
    let preview = get(
        &app,
        "/api/v1/procedures/1.004580/appointment?at=2026-03-02T02:00:00Z",
    )
    .await;
    assert_eq!(preview["due_at"], "2026-03-30T10:00:00Z");
    assert_eq!(preview["provisional"], false);
    assert_eq!(preview["days_off"].as_array().unwrap().len(), 8);

    problem(
        app.get("/api/v1/procedures/9.999999/appointment")
            .send()
            .await
            .unwrap(),
        404,
        "not_found",
    )
    .await;
    problem(
        app.get("/api/v1/procedures/1.004580/appointment?at=tomorrow")
            .send()
            .await
            .unwrap(),
        400,
        "invalid_query",
    )
    .await;
}

async fn confirming_a_year(app: TestApp) {
    let admin = bearer(&app.token(Role::Admin).await);
    let officer = bearer(&app.token(Role::Officer).await);
    let confirm = |token: String, body: Value| {
        let req = app
            .post("/api/v1/calendar/years/2027/confirm")
            .header("authorization", token)
            .json(&body);
        async move { req.send().await.unwrap() }
    };
    problem(confirm(officer, json!({})).await, 403, "forbidden").await;
    // Nothing entered for 2027 yet: confirming would drop every holiday.
    problem(confirm(admin.clone(), json!({})).await, 409, "conflict").await;

    // The official notice moves the day next to National Day to Wed 1 Sep
    // and makes Mon 4 Jan a day off; the admin enters it, then confirms.
    for (date, name) in [
        ("2027-01-01", "Tết Dương lịch"),
        ("2027-01-04", "Nghỉ hoán đổi"),
        ("2027-09-01", "Quốc khánh (ngày liền kề)"),
        ("2027-09-02", "Quốc khánh"),
    ] {
        let res = app
            .put(&format!("/api/v1/calendar/days/{date}"))
            .header("authorization", &admin)
            .json(&json!({"kind": "holiday", "name": name}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{date}");
    }
    let res = confirm(admin.clone(), json!({})).await;
    assert_eq!(res.status(), 200);
    let confirmed: Value = res.json().await.unwrap();
    assert_eq!(confirmed["adopted"], json!([]));
    // Only the four entered days count now.
    assert_eq!(confirmed["working_days"], 261 - 4);
    let year = get(&app, "/api/v1/calendar/days?year=2027").await;
    assert_eq!(year["provisional"], false);
    assert_eq!(year["days"].as_array().unwrap().len(), 4);
    let friday = get(&app, "/api/v1/calendar/days/2027-09-03").await;
    assert_eq!(
        (&friday["working"], &friday["provisional"]),
        (&json!(true), &json!(false))
    );
    problem(confirm(admin.clone(), json!({})).await, 409, "conflict").await;

    // Adopting: 2028's generated days become entered ones.
    let res = app
        .post("/api/v1/calendar/years/2028/confirm")
        .header("authorization", &admin)
        .json(&json!({"adopt_generated": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let adopted: Value = res.json().await.unwrap();
    assert_eq!(adopted["adopted"].as_array().unwrap().len(), 11);
    let year = get(&app, "/api/v1/calendar/days?year=2028").await;
    assert_eq!(year["provisional"], false);
    assert!(
        year["days"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["generated"] == false)
    );
    assert_eq!(year["days"].as_array().unwrap().len(), 11);
}

async fn receipt_says_when_the_appointment_is_provisional(app: TestApp) {
    use motcua_persistence::schema::calendar_seeded_years::dsl::*;
    let officer = app.token(Role::Officer).await;
    let citizen = app.token_of(motcua::seed::DEMO_CITIZEN_ID).await;
    let receipt_of = |code: String| {
        let (app, officer) = (&app, officer.clone());
        async move {
            app.act_ok(&officer, &code, &json!({"action": "receive"}))
                .await;
            let receipt = app
                .get_json(&officer, &format!("/api/v1/dossiers/{code}/receipt"))
                .await;
            let html = app
                .get(&format!("/api/v1/dossiers/{code}/receipt?format=html"))
                .header("authorization", bearer(&officer))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            (receipt, html)
        }
    };
    // Every year around today confirmed: a firm appointment.
    let this_year = chrono::Datelike::year(&chrono::Utc::now().date_naive());
    {
        let mut conn = app.pool.get().unwrap();
        for y in this_year - 1..=this_year + 1 {
            diesel::delete(calendar_seeded_years.filter(year.eq(y)))
                .execute(&mut conn)
                .unwrap();
            diesel::insert_into(calendar_seeded_years)
                .values((year.eq(y), seeded_at.eq(chrono::Utc::now().naive_utc())))
                .execute(&mut conn)
                .unwrap();
        }
    }
    let code = submit_reissue(&app, &citizen).await.code().to_owned();
    let (receipt, html) = receipt_of(code).await;
    assert_eq!(receipt["appointment_provisional"], false);
    assert!(!html.contains("dự kiến"));

    // No year confirmed: the appointment rests on generated days.
    {
        let mut conn = app.pool.get().unwrap();
        diesel::delete(calendar_seeded_years)
            .execute(&mut conn)
            .unwrap();
    }
    let code = submit_reissue(&app, &citizen).await.code().to_owned();
    let (receipt, html) = receipt_of(code).await;
    assert_eq!(receipt["appointment_provisional"], true);
    assert!(html.contains("dự kiến"), "{html}");
}
