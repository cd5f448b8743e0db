//! Statements per request: each path's round trips to the database are
//! counted (by the pool's statement counter) and must stay under a ceiling,
//! so a regression in round trips fails here rather than in a benchmark.
//! Figures and their history: docs/performance.md.

use motcua::seed::DEMO_CITIZEN_ID;
use motcua_domain::Role;
use motcua_persistence::Backend;
use motcua_tests::{TestApp, bearer, on_both_backends};
use serde_json::{Value, json};

on_both_backends!(
    list_page_of_50_reads_each_row_once,
    dossier_detail,
    one_action,
    submit,
    public_tracking,
    catalog_search,
);

/// The most statements a path may take, per backend: (sqlite, postgres).
struct Ceiling {
    sqlite: u64,
    postgres: u64,
}

impl Ceiling {
    fn check(&self, app: &TestApp, path: &str, counted: u64) {
        let max = match app.backend {
            Backend::Sqlite => self.sqlite,
            Backend::Postgres => self.postgres,
        };
        eprintln!("{path} on {}: {counted} statements", app.backend.as_str());
        assert!(
            counted <= max,
            "{path} on {}: {counted} statements, ceiling {max}",
            app.backend.as_str()
        );
        assert!(counted > 0, "{path}: the counter saw nothing");
    }
}

fn counter_body(i: usize) -> Value {
    json!({
        "procedure_code": "2.001584",
        "applicant": {"id_number": format!("0011990{i:05}"), "full_name": format!("Người Nộp {i}")},
        "documents": [{"requirement": "D1", "paper": true}, {"requirement": "D2", "paper": true}],
    })
}

/// A counter dossier for the demo citizen.
fn for_demo_citizen() -> Value {
    json!({
        "procedure_code": "2.001584",
        "applicant": {"id_number": DEMO_CITIZEN_ID},
        "documents": [{"requirement": "D1", "paper": true}, {"requirement": "D2", "paper": true}],
    })
}

/// Files `n` counter dossiers (each for its own applicant); returns their codes.
async fn file(app: &TestApp, officer: &str, n: usize) -> Vec<String> {
    let mut codes = Vec::with_capacity(n);
    for i in 0..n {
        codes.push(
            app.submit_ok(officer, &counter_body(i))
                .await
                .code()
                .to_owned(),
        );
    }
    codes
}

async fn get_ok(app: &TestApp, token: &str, path: &str) -> Value {
    let res = app
        .get(path)
        .header("authorization", bearer(token))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "GET {path}");
    res.json().await.unwrap()
}

async fn list_page_of_50_reads_each_row_once(app: TestApp) {
    let officer = app.token(Role::Officer).await;
    let mut codes = file(&app, &officer, 45).await;
    // Five for the demo citizen, whose own list is counted too.
    for _ in 0..5 {
        let shown = app.submit_ok(&officer, &for_demo_citizen()).await;
        codes.push(shown.code().to_owned());
    }
    // Some received, handed to a division: rows that differ in agencies and actions.
    for code in codes.iter().take(10) {
        app.act_ok(&officer, code, &json!({"action": "receive"}))
            .await;
    }
    let (page, big) = app
        .statements(|| get_ok(&app, &officer, "/api/v1/dossiers?per_page=50"))
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 50);
    let (small_page, small) = app
        .statements(|| get_ok(&app, &officer, "/api/v1/dossiers?per_page=5"))
        .await;
    assert_eq!(small_page["items"].as_array().unwrap().len(), 5);
    // A citizen's list: another scope, the same rule.
    let citizen = app.token_of(DEMO_CITIZEN_ID).await;
    let (own, mine) = app
        .statements(|| get_ok(&app, &citizen, "/api/v1/dossiers?per_page=50"))
        .await;
    assert_eq!(own["items"].as_array().unwrap().len(), 5);
    eprintln!("page of 5 on {}: {small} statements", app.backend.as_str());
    // The calendar is the process's copy: one read of its generation.
    Ceiling {
        sqlite: 9,
        postgres: 9,
    }
    .check(&app, "list page of 50", big);
    // No statement per row: a page of 50 costs what a page of 5 does.
    assert_eq!(big, small, "page of 50: {big} statements, of 5: {small}");
    Ceiling {
        sqlite: 12,
        postgres: 12,
    }
    .check(&app, "citizen's list", mine);
}

async fn dossier_detail(app: TestApp) {
    let officer = app.token(Role::Officer).await;
    let code = file(&app, &officer, 1).await.remove(0);
    app.act_ok(&officer, &code, &json!({"action": "receive"}))
        .await;
    let path = format!("/api/v1/dossiers/{code}");
    let (body, n) = app.statements(|| get_ok(&app, &officer, &path)).await;
    assert_eq!(body["code"], code.as_str());
    // The caller's account; the dossier joined with its references, the
    // caller's agency's passage, its rating, whether it has form data and
    // the calendar's generation (the process's calendar copy is current: no
    // calendar read); its documents, apology letters and payments' surplus.
    // It was 16, then 11 (docs/performance.md).
    Ceiling {
        sqlite: 7, // + the representative (docs/dossiers.md)
        postgres: 7,
    }
    .check(&app, "dossier detail", n);
}

async fn one_action(app: TestApp) {
    let officer = app.token(Role::Officer).await;
    let code = file(&app, &officer, 1).await.remove(0);
    let etag = app.dossier(&officer, &code).await.etag;
    let receive = json!({"action": "receive"});
    let (res, n) = app
        .statements(|| app.act_raw(&officer, &code, Some(&etag), &receive))
        .await;
    assert_eq!(res.status(), 200);
    // The caller's account; begin, the dossier (joined with its access,
    // rating, KPI facts, form data's reuse and the calendar's generation: the
    // process's calendar copy is current, so no calendar read), its
    // documents, its supplement requests, the update, the trail line, its
    // outbox event, its payments, its facts, the aggregate rows (one
    // upsert), commit; then the apology letters for the response (the form
    // data only for a dossier that has some). It was 46, then 18
    // (docs/performance.md, Receive).
    Ceiling {
        // + the representative of the answer (docs/dossiers.md)
        sqlite: 15,
        postgres: 15,
    }
    .check(&app, "receive", n);
}

async fn submit(app: TestApp) {
    let officer = app.token(Role::Officer).await;
    // The first of the day creates the counter row; count a later one.
    file(&app, &officer, 1).await;
    let body = counter_body(1);
    let (res, n) = app.statements(|| app.submit(&officer, &body)).await;
    assert_eq!(res.status(), 201);
    // Authentication (two), BEGIN, the procedure, the applicant looked up
    // and created, the dossier, its agency, its documents (one insert), its
    // trail line, its number and code (one statement; two on SQLite), its
    // outbox event, COMMIT. No read-back: the answer is built from what was
    // written.
    Ceiling {
        sqlite: 14,
        postgres: 13,
    }
    .check(&app, "submit", n);
}

async fn public_tracking(app: TestApp) {
    let officer = app.token(Role::Officer).await;
    let code = app
        .submit_ok(&officer, &for_demo_citizen())
        .await
        .code()
        .to_owned();
    let path = format!("/api/v1/tracking/{code}?id_number={DEMO_CITIZEN_ID}");
    let (res, n) = app
        .statements(|| async { app.get(&path).send().await.unwrap() })
        .await;
    assert_eq!(res.status(), 200);
    Ceiling {
        sqlite: 1,
        postgres: 1,
    }
    .check(&app, "tracking", n);
}

async fn catalog_search(app: TestApp) {
    // The first search of a process builds its index from the catalog (a
    // few statements, once); what a search costs is the steady state after.
    let first = app.get("/api/v1/procedures?q=giay").send().await.unwrap();
    assert_eq!(first.status(), 200);
    let (res, n) = app
        .statements(|| async {
            app.get("/api/v1/procedures?q=kinh%20doanh")
                .send()
                .await
                .unwrap()
        })
        .await;
    assert_eq!(res.status(), 200);
    let page: Value = res.json().await.unwrap();
    assert!(page["total"].as_i64().unwrap() > 0);
    // The catalog's generation, then the page's procedures by id.
    Ceiling {
        sqlite: 2,
        postgres: 2,
    }
    .check(&app, "catalog search", n);
}

mod closed_connection {
    use diesel::RunQueryDsl;
    use motcua_persistence::{Backend, PoolOptions, build_pool};

    /// No `SELECT 1` on checkout: a connection the server closed fails one
    /// use, is then dropped, and the next checkout connects afresh.
    #[actix_web::test]
    async fn is_dropped_after_one_failure() {
        let Some(db) = motcua_persistence::testing::TestDb::for_backend(Backend::Postgres) else {
            eprintln!("skipped: MOTCUA_TEST_POSTGRES_URL not set");
            return;
        };
        let pool = build_pool(
            &db.url,
            &PoolOptions {
                max_size: 1,
                ..PoolOptions::default()
            },
        );
        let pid = |conn: &mut motcua_persistence::AnyConnection| {
            diesel::select(diesel::dsl::sql::<diesel::sql_types::Integer>(
                "pg_backend_pid()",
            ))
            .get_result::<i32>(conn)
        };
        let first = pid(&mut pool.get().unwrap()).unwrap();
        let mut admin = db.url.establish().unwrap();
        diesel::sql_query(format!("SELECT pg_terminate_backend({first})"))
            .execute(&mut admin)
            .unwrap();
        // Give the server a moment to close it.
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert!(
            pid(&mut pool.get().unwrap()).is_err(),
            "the closed connection fails once"
        );
        let second = pid(&mut pool.get().unwrap()).unwrap();
        assert_ne!(first, second, "then a fresh connection serves");
        assert_eq!(pool.state().connections, 1);
    }
}
