//! Issue 12's fast paths keep their behaviour: the catalog search index ranks
//! as the SQL path did and sees other processes' writes; the tracking limit,
//! counted in memory, is still shared between processes; the working
//! calendar, kept per process, follows another process's edits.

use std::time::Duration;

use motcua_domain::Role;
use motcua_domain::page::PageRequest;
use motcua_domain::procedure::{AdminLevel, OnlineFilter, StatusFilter};
use motcua_domain::search::SearchQuery;
use motcua_persistence::repo::catalog_index::CatalogIndex;
use motcua_persistence::repo::procedures::{self, ProcedureFilter};
use motcua_tests::{TestApp, bearer, on_both_backends};
use serde_json::Value;

on_both_backends!(
    search_index_ranks_as_the_sql_path,
    search_sees_procedures_written_by_another_process,
    tracking_limit_is_shared_between_processes,
    calendar_edits_of_another_process_reach_due_dates,
);

async fn search_index_ranks_as_the_sql_path(app: TestApp) {
    let pool = app.pool.clone();
    actix_web::rt::task::spawn_blocking(move || {
        let mut conn = pool.get().unwrap();
        let index = CatalogIndex::new();
        let queries = [
            "giay phep",
            "kinh doanh dich vu lu hanh",
            "1.001029",
            "c",
            "bieu d",
            "nghi dinh",
            "van ban de nghi",
            "to chuc",
            "khong co thu tuc nay",
            // No query: the listing, also served by the index.
            "",
        ];
        let filters = [
            ProcedureFilter::default(),
            ProcedureFilter {
                status: Some(StatusFilter::All),
                ..Default::default()
            },
            ProcedureFilter {
                online: Some(OnlineFilter::Any),
                level: Some(AdminLevel::Province),
                ..Default::default()
            },
            ProcedureFilter {
                sector: Some("du-lich".into()),
                ..Default::default()
            },
        ];
        let mut compared = 0;
        for q in queries {
            for base in &filters {
                for (page, per_page) in [(1, 100), (2, 3)] {
                    let filter = ProcedureFilter {
                        query: SearchQuery::parse(q),
                        ..base.clone()
                    };
                    let page = PageRequest::new(Some(page), Some(per_page)).unwrap();
                    let sql = procedures::list(&mut conn, &filter, page).unwrap();
                    let indexed =
                        procedures::list_indexed(&mut conn, &index, &filter, page).unwrap();
                    let ids = |p: &motcua_domain::page::Page<_>| -> Vec<i64> {
                        p.items
                            .iter()
                            .map(|r: &motcua_domain::procedure::ProcedureRecord| r.id)
                            .collect()
                    };
                    assert_eq!(ids(&indexed), ids(&sql), "{q} {filter:?}");
                    assert_eq!(indexed.total, sql.total, "{q} {filter:?}");
                    compared += usize::from(sql.total > 0);
                }
            }
        }
        assert!(compared > 20, "the queries find something: {compared}");
    })
    .await
    .unwrap();
}

async fn codes_on(app: &TestApp, base: &str, query: &str) -> Vec<String> {
    let res = app
        .client
        .get(format!("{base}/api/v1/procedures?{query}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let page: Value = res.json().await.unwrap();
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap().to_owned())
        .collect()
}

async fn search_sees_procedures_written_by_another_process(app: TestApp) {
    let other = app.peer(|_| {}).await;
    let query = "q=thu%20nghiem%20zyxqu";
    // Both processes have built their index before the write.
    assert!(codes_on(&app, &app.base, query).await.is_empty());
    assert!(codes_on(&app, &other.base, query).await.is_empty());
    let admin = bearer(&app.token(Role::Admin).await);
    let res = app
        .client
        .post(other.url("/api/v1/procedures"))
        .header("authorization", &admin)
        .json(&crate::catalog::spec(
            "1.900077",
            "Thử nghiệm Zyxqua tìm kiếm",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(codes_on(&app, &app.base, query).await, ["1.900077"]);
    // Abolished through this one: the other stops listing it.
    let res = app
        .delete("/api/v1/procedures/1.900077")
        .header("authorization", &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(codes_on(&app, &other.base, query).await.is_empty());
    assert_eq!(
        codes_on(&app, &other.base, &format!("{query}&status=all")).await,
        ["1.900077"]
    );
}

async fn track_status(app: &TestApp, base: &str) -> u16 {
    app.client
        .get(format!(
            "{base}/api/v1/tracking/000.00.20.H56-200101-0001?id_number=000000000000"
        ))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn tracking_limit_is_shared_between_processes(app: TestApp) {
    let strict = |s: &mut motcua_app::Settings| {
        s.tracking.per_window = 3;
        s.tracking.shared_flush_ms = 0;
    };
    let (a, b) = (app.peer(strict).await, app.peer(strict).await);
    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(track_status(&app, &a.base).await);
    }
    assert_eq!(seen, [404, 404, 404, 429], "the limit in one process");
    // A flush runs beside a request: one more request and a moment later,
    // every hit counted by `a` is in the shared counter.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(track_status(&app, &a.base).await, 429);
    tokio::time::sleep(Duration::from_millis(300)).await;
    // `b` has counted one hit of its own, far below the limit, and learns from
    // the shared counter (at its first flush) that the address is over it.
    assert_eq!(track_status(&app, &b.base).await, 404);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let res = app
        .client
        .get(b.url("/api/v1/tracking/000.00.20.H56-200101-0001?id_number=000000000000"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429, "over the limit across processes");
    assert!(res.headers().contains_key("retry-after"));
}

/// Files a counter dossier for the demo citizen and receives it; its due moment.
async fn received_due(app: &TestApp, officer: &str) -> chrono::DateTime<chrono::Utc> {
    let body = serde_json::json!({
        "procedure_code": "2.001584",
        "applicant": {"id_number": motcua::seed::DEMO_CITIZEN_ID},
        "documents": [{"requirement": "D1", "paper": true}, {"requirement": "D2", "paper": true}],
    });
    let code = app.submit_ok(officer, &body).await.code().to_owned();
    let received = app
        .act_ok(officer, &code, &serde_json::json!({"action": "receive"}))
        .await;
    received.body["due_at"].as_str().unwrap().parse().unwrap()
}

/// The calendar is kept per process and read again only when its generation
/// changed: a holiday entered (and removed) through another process moves
/// the next due date this process computes.
async fn calendar_edits_of_another_process_reach_due_dates(app: TestApp) {
    app.clock.set(app.clock.now());
    let other = app.peer(|_| {}).await;
    let officer = app.token(Role::Officer).await;
    // This process has its copy of the calendar before the edit.
    let due = received_due(&app, &officer).await;
    let due_day = (due + chrono::Duration::hours(7)).date_naive();
    let admin = bearer(&app.token(Role::Admin).await);
    let day = other.url(&format!("/api/v1/calendar/days/{due_day}"));
    let res = app
        .client
        .put(&day)
        .header("authorization", &admin)
        .json(&serde_json::json!({"kind": "holiday", "name": "Nghỉ đột xuất"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{due_day}");
    let later = received_due(&app, &officer).await;
    assert!(
        later > due,
        "{later} after {due}: the holiday on {due_day} was seen"
    );
    let res = app
        .client
        .delete(&day)
        .header("authorization", &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(
        received_due(&app, &officer).await,
        due,
        "the holiday removed"
    );
}
