//! Access ends when it is taken away (issue 9, point 3): locking, a role or
//! agency change, a new password and "log out everywhere" take effect on the
//! very next request, in this server process and in another one on the same
//! database.

use motcua_domain::Role;
use motcua_tests::{TestApp, bearer, on_both_backends, problem};
use serde_json::{Value, json};

on_both_backends!(
    locking_ends_access_on_the_next_request,
    a_demoted_admin_loses_admin_rights_at_once,
    an_officer_moved_to_another_agency_loses_the_old_scope,
    a_new_password_ends_existing_access_tokens,
    logout_all_ends_every_session,
    a_change_made_by_one_server_is_seen_by_another,
    this_server_sees_its_own_change_despite_its_cache,
);

async fn me(app: &TestApp, base: Option<&str>, token: &str) -> reqwest::Response {
    let url = match base {
        Some(base) => format!("{base}/api/v1/me"),
        None => app.url("/api/v1/me"),
    };
    app.client
        .get(url)
        .header("authorization", bearer(token))
        .send()
        .await
        .unwrap()
}

async fn change_user(app: &TestApp, admin: &str, id: i64, body: Value) {
    let res = app
        .patch(&format!("/api/v1/users/{id}"))
        .header("authorization", bearer(admin))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let out: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "PATCH user {id} {body}: {out}");
}

fn access_token(session: &Value) -> String {
    session["access_token"].as_str().unwrap().to_owned()
}

async fn locking_ends_access_on_the_next_request(app: TestApp) {
    let admin = app.token(Role::Admin).await;
    let (user, password) = app.account(Role::Officer);
    let token = access_token(&app.login(&user, &password).await);
    assert_eq!(me(&app, None, &token).await.status(), 200);
    let id = app.user_id(&user).await;
    change_user(&app, &admin, id, json!({"active": false})).await;
    problem(me(&app, None, &token).await, 403, "account_disabled").await;
    // Unlocking does not bring the old token back: it was issued before the lock.
    change_user(&app, &admin, id, json!({"active": true})).await;
    problem(me(&app, None, &token).await, 401, "invalid_token").await;
    let fresh = access_token(&app.login(&user, &password).await);
    assert_eq!(me(&app, None, &fresh).await.status(), 200);
}

async fn a_demoted_admin_loses_admin_rights_at_once(app: TestApp) {
    let admin = app.token(Role::Admin).await;
    let res = app
        .post("/api/v1/users")
        .header("authorization", bearer(&admin))
        .json(&json!({"username": "quantri.hai", "password": "mat-khau-quan-tri-2", "role": "admin", "full_name": "Quản trị Hai"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let second: Value = res.json().await.unwrap();
    let second_token = access_token(&app.login("quantri.hai", "mat-khau-quan-tri-2").await);
    let users = |token: String| {
        app.get("/api/v1/users")
            .header("authorization", bearer(&token))
            .send()
    };
    assert_eq!(users(second_token.clone()).await.unwrap().status(), 200);
    let agency = app.agency_id("000.00.20.H56").await;
    change_user(
        &app,
        &admin,
        second["id"].as_i64().unwrap(),
        json!({"role": "officer", "agency_id": agency}),
    )
    .await;
    problem(users(second_token).await.unwrap(), 401, "invalid_token").await;
    // Signed in again, the account is what the row says: an officer.
    let again = access_token(&app.login("quantri.hai", "mat-khau-quan-tri-2").await);
    problem(users(again.clone()).await.unwrap(), 403, "forbidden").await;
    let shown: Value = me(&app, None, &again).await.json().await.unwrap();
    assert_eq!(shown["role"], "officer");
}

async fn an_officer_moved_to_another_agency_loses_the_old_scope(app: TestApp) {
    let admin = app.token(Role::Admin).await;
    let (user, password) = app.account(Role::Officer);
    let token = access_token(&app.login(&user, &password).await);
    let before: Value = me(&app, None, &token).await.json().await.unwrap();
    let old_agency = before["agency_id"].as_i64().unwrap();
    let agencies: Value = app
        .get("/api/v1/agencies?per_page=100")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let other = agencies["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_i64().unwrap())
        .find(|id| *id != old_agency)
        .unwrap();
    let dossiers = |token: String| {
        app.get("/api/v1/dossiers")
            .header("authorization", bearer(&token))
            .send()
    };
    assert_eq!(dossiers(token.clone()).await.unwrap().status(), 200);
    change_user(
        &app,
        &admin,
        before["id"].as_i64().unwrap(),
        json!({"agency_id": other}),
    )
    .await;
    problem(dossiers(token.clone()).await.unwrap(), 401, "invalid_token").await;
    problem(me(&app, None, &token).await, 401, "invalid_token").await;
    let fresh = access_token(&app.login(&user, &password).await);
    let after: Value = me(&app, None, &fresh).await.json().await.unwrap();
    assert_eq!(after["agency_id"], other);
}

async fn a_new_password_ends_existing_access_tokens(app: TestApp) {
    let admin = app.token(Role::Admin).await;
    let (user, password) = app.account(Role::Leader);
    let session = app.login(&user, &password).await;
    let token = access_token(&session);
    assert_eq!(me(&app, None, &token).await.status(), 200);
    let id = app.user_id(&user).await;
    change_user(
        &app,
        &admin,
        id,
        json!({"password": "mat-khau-moi-cua-lanh-dao"}),
    )
    .await;
    problem(me(&app, None, &token).await, 401, "invalid_token").await;
    let res = app
        .post("/api/v1/auth/refresh")
        .json(&json!({"refresh_token": session["refresh_token"]}))
        .send()
        .await
        .unwrap();
    problem(res, 401, "invalid_refresh_token").await;
    let fresh = access_token(&app.login(&user, "mat-khau-moi-cua-lanh-dao").await);
    assert_eq!(me(&app, None, &fresh).await.status(), 200);
    // A contact change is not an access change: the token keeps working.
    change_user(&app, &admin, id, json!({"phone": "0903111222"})).await;
    assert_eq!(me(&app, None, &fresh).await.status(), 200);
}

async fn logout_all_ends_every_session(app: TestApp) {
    let (user, password) = app.account(Role::Citizen);
    let phone = app.login(&user, &password).await;
    let laptop = app.login(&user, &password).await;
    let res = app.post("/api/v1/auth/logout-all").send().await.unwrap();
    problem(res, 401, "unauthenticated").await;
    let res = app
        .post("/api/v1/auth/logout-all")
        .header("authorization", bearer(&access_token(&laptop)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    for session in [&phone, &laptop] {
        problem(
            me(&app, None, &access_token(session)).await,
            401,
            "invalid_token",
        )
        .await;
        let res = app
            .post("/api/v1/auth/refresh")
            .json(&json!({"refresh_token": session["refresh_token"]}))
            .send()
            .await
            .unwrap();
        problem(res, 401, "invalid_refresh_token").await;
    }
    let fresh = access_token(&app.login(&user, &password).await);
    assert_eq!(me(&app, None, &fresh).await.status(), 200);
}

async fn a_change_made_by_one_server_is_seen_by_another(app: TestApp) {
    let other = app.peer(|_| {}).await;
    let admin = app.token(Role::Admin).await;
    let (user, password) = app.account(Role::Officer);
    // Signed in on the other server; its token works on both.
    let res = app
        .client
        .post(other.url("/api/v1/auth/login"))
        .json(&json!({"username": user, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let token = access_token(&res.json().await.unwrap());
    assert_eq!(me(&app, Some(&other.base), &token).await.status(), 200);
    assert_eq!(me(&app, None, &token).await.status(), 200);
    // Locked through this server: the other refuses the token on its next request.
    let id = app.user_id(&user).await;
    change_user(&app, &admin, id, json!({"active": false})).await;
    problem(
        me(&app, Some(&other.base), &token).await,
        403,
        "account_disabled",
    )
    .await;
    change_user(&app, &admin, id, json!({"active": true})).await;
    problem(
        me(&app, Some(&other.base), &token).await,
        401,
        "invalid_token",
    )
    .await;
    // Log out everywhere on the other server: this one refuses too.
    let fresh = access_token(&app.login(&user, &password).await);
    let res = app
        .client
        .post(other.url("/api/v1/auth/logout-all"))
        .header("authorization", bearer(&fresh))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    problem(me(&app, None, &fresh).await, 401, "invalid_token").await;
}

async fn this_server_sees_its_own_change_despite_its_cache(app: TestApp) {
    // A server that caches accounts for a minute still forgets one it changes.
    let cached = app.peer(|s| s.auth.account_cache_ms = 60_000).await;
    let admin_session = app
        .client
        .post(cached.url("/api/v1/auth/login"))
        .json(&json!({"username": app.account(Role::Admin).0, "password": app.account(Role::Admin).1}))
        .send()
        .await
        .unwrap();
    let admin = access_token(&admin_session.json().await.unwrap());
    let (user, password) = app.account(Role::Leader);
    let token = access_token(&app.login(&user, &password).await);
    assert_eq!(me(&app, Some(&cached.base), &token).await.status(), 200);
    let id = app.user_id(&user).await;
    let res = app
        .client
        .patch(cached.url(&format!("/api/v1/users/{id}")))
        .header("authorization", bearer(&admin))
        .json(&json!({"active": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    problem(
        me(&app, Some(&cached.base), &token).await,
        403,
        "account_disabled",
    )
    .await;
}
