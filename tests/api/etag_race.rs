//! `If-Match` under concurrency: writers that all read the same state race
//! with that state's `ETag`; exactly one may win, the others get 412, on both
//! databases (PostgreSQL at read committed compares and writes under a row lock).

use futures_util::future::join_all;
use motcua_domain::Role;
use motcua_tests::{TestApp, bearer, on_both_backends};
use serde_json::{Value, json};

on_both_backends!(
    parallel_procedure_updates_with_one_etag_let_one_win,
    parallel_account_updates_with_one_etag_let_one_win,
);

const WRITERS: usize = 6;
const TRIALS: usize = 3;

/// Sends every request at once; returns (2xx count, 412 count), asserting no other status.
async fn race(requests: Vec<motcua_tests::client::RequestBuilder>) -> (usize, usize) {
    let statuses: Vec<u16> = join_all(requests.into_iter().map(|r| r.send()))
        .await
        .into_iter()
        .map(|r| r.unwrap().status().as_u16())
        .collect();
    let ok = statuses.iter().filter(|s| (200..300).contains(*s)).count();
    let stale = statuses.iter().filter(|s| **s == 412).count();
    assert_eq!(ok + stale, statuses.len(), "statuses: {statuses:?}");
    (ok, stale)
}

async fn parallel_procedure_updates_with_one_etag_let_one_win(app: TestApp) {
    let token = app.token(Role::Admin).await;
    let admin = bearer(&token);
    let path = "/api/v1/procedures/2.001584";
    let before = app.get_json(&token, path).await["version"]
        .as_i64()
        .unwrap();
    for trial in 0..TRIALS {
        let read = app.get(path).send().await.unwrap();
        assert_eq!(read.status(), 200);
        let etag = read.headers()["etag"].to_str().unwrap().to_owned();
        let mut spec: Value = read.json().await.unwrap();
        let record = spec.as_object_mut().unwrap();
        for key in [
            "id",
            "sector_code",
            "agency",
            "version",
            "created_at",
            "updated_at",
            "abolished_at",
        ] {
            record.remove(key);
        }
        let requests = (0..WRITERS)
            .map(|i| {
                let mut body = spec.clone();
                body["name"] = json!(format!("Thủ tục thử {trial}-{i}"));
                app.put(path)
                    .header("authorization", &admin)
                    .header("if-match", &etag)
                    .json(&body)
            })
            .collect();
        assert_eq!(race(requests).await, (1, WRITERS - 1), "trial {trial}");
    }
    let after = app.get_json(&token, path).await["version"]
        .as_i64()
        .unwrap();
    assert_eq!(after, before + i64::try_from(TRIALS).unwrap());
}

async fn parallel_account_updates_with_one_etag_let_one_win(app: TestApp) {
    let admin = bearer(&app.token(Role::Admin).await);
    let id = app.user_id("demo.officer").await;
    let path = format!("/api/v1/users/{id}");
    for trial in 0..TRIALS {
        let read = app
            .get(&path)
            .header("authorization", &admin)
            .send()
            .await
            .unwrap();
        assert_eq!(read.status(), 200);
        let etag = read.headers()["etag"].to_str().unwrap().to_owned();
        let requests = (0..WRITERS)
            .map(|i| {
                app.patch(&path)
                    .header("authorization", &admin)
                    .header("if-match", &etag)
                    .json(&json!({"full_name": format!("Cán Bộ Thử {trial}-{i}")}))
            })
            .collect();
        assert_eq!(race(requests).await, (1, WRITERS - 1), "trial {trial}");
    }
}
