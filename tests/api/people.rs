use motcua_domain::Role;
use motcua_tests::{TestApp, bearer, on_both_backends, problem};
use serde_json::{Value, json};

on_both_backends!(
    admin_manages_accounts,
    locking_an_account_ends_its_sessions,
    agencies_public_list_and_admin_create
);

async fn admin_manages_accounts(app: TestApp) {
    let admin = app.token(Role::Admin).await;
    let auth = bearer(&admin);
    let res = app
        .get("/api/v1/agencies?per_page=100")
        .send()
        .await
        .unwrap();
    let agencies: Value = res.json().await.unwrap();
    let dept = agencies["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["code"] == "000.00.20.H56")
        .unwrap()["id"]
        .clone();
    let new = json!({"username": "Canbo.Moi", "password": "mat-khau-can-bo", "role": "officer", "agency_id": dept, "full_name": "Cán bộ Mới", "phone": "0903 111 222"});
    let res = app
        .post("/api/v1/users")
        .header("authorization", &auth)
        .json(&new)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["username"], "canbo.moi");
    assert_eq!(created["phone"], "0903111222");
    assert!(created.get("client_secret").is_none());
    let id = created["id"].as_i64().unwrap();
    app.login("canbo.moi", "mat-khau-can-bo").await;

    let res = app
        .post("/api/v1/users")
        .header("authorization", &auth)
        .json(&new)
        .send()
        .await
        .unwrap();
    problem(res, 409, "already_exists").await;
    let bad = json!({"username": "x y", "role": "officer", "full_name": "", "password": "123"});
    let res = app
        .post("/api/v1/users")
        .header("authorization", &auth)
        .json(&bad)
        .send()
        .await
        .unwrap();
    let body = problem(res, 422, "validation_failed").await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["username", "full_name", "agency_id", "password"]);
    accounts_that_cannot_be(&app, &auth).await;

    an_integration_account_gets_a_secret(&app, &auth).await;
    let res = app
        .get("/api/v1/users?role=officer&per_page=50")
        .header("authorization", &auth)
        .send()
        .await
        .unwrap();
    let page: Value = res.json().await.unwrap();
    assert_eq!(page["total"], 3);
    assert!(
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["role"] == "officer")
    );
    let res = app
        .get(&format!("/api/v1/users/{id}"))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.json::<Value>().await.unwrap()["full_name"],
        "Cán bộ Mới"
    );
    let res = app
        .get("/api/v1/users/999999")
        .header("authorization", &auth)
        .send()
        .await
        .unwrap();
    problem(res, 404, "not_found").await;
    let officer = app.token(Role::Officer).await;
    let res = app
        .post("/api/v1/users")
        .header("authorization", bearer(&officer))
        .json(&new)
        .send()
        .await
        .unwrap();
    problem(res, 403, "forbidden").await;
}

/// An integration account is created with a client secret it can get a token with.
async fn an_integration_account_gets_a_secret(app: &TestApp, auth: &str) {
    let portal =
        json!({"username": "cong.tinh", "role": "integration", "full_name": "Cổng DVC tỉnh"});
    let res = app
        .post("/api/v1/users")
        .header("authorization", auth)
        .json(&portal)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let secret = res.json::<Value>().await.unwrap()["client_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .post("/api/v1/auth/token")
        .json(&json!({"grant_type": "client_credentials", "client_id": "cong.tinh", "client_secret": secret}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

/// A citizen account is not made by an administrator; nor staff of an unknown agency.
async fn accounts_that_cannot_be(app: &TestApp, auth: &str) {
    let citizen = json!({"username": "dan", "role": "citizen", "full_name": "Dân", "password": "mat-khau-dai-1"});
    let res = app
        .post("/api/v1/users")
        .header("authorization", auth)
        .json(&citizen)
        .send()
        .await
        .unwrap();
    problem(res, 422, "validation_failed").await;
    let ghost = json!({"username": "ghost", "role": "leader", "agency_id": 987654, "full_name": "G", "password": "mat-khau-dai-1"});
    let res = app
        .post("/api/v1/users")
        .header("authorization", auth)
        .json(&ghost)
        .send()
        .await
        .unwrap();
    let body = problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["code"], "unknown_agency");
}

async fn locking_an_account_ends_its_sessions(app: TestApp) {
    let admin_token = app.token(Role::Admin).await;
    let auth = bearer(&admin_token);
    let (user, password) = app.account(Role::Leader);
    let session = app.login(&user, &password).await;
    let me: Value = app
        .get("/api/v1/me")
        .header(
            "authorization",
            bearer(session["access_token"].as_str().unwrap()),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = me["id"].as_i64().unwrap();
    let res = app
        .patch(&format!("/api/v1/users/{id}"))
        .header("authorization", &auth)
        .json(&json!({"active": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["active"], false);
    let res = app
        .post("/api/v1/auth/refresh")
        .json(&json!({"refresh_token": session["refresh_token"]}))
        .send()
        .await
        .unwrap();
    problem(res, 401, "invalid_refresh_token").await;
    let res = app
        .post("/api/v1/auth/login")
        .json(&json!({"username": user, "password": password}))
        .send()
        .await
        .unwrap();
    problem(res, 403, "account_disabled").await;
    // An admin cannot lock themselves out.
    let admin_me: Value = app
        .get("/api/v1/me")
        .header("authorization", &auth)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let res = app
        .patch(&format!("/api/v1/users/{}", admin_me["id"]))
        .header("authorization", &auth)
        .json(&json!({"active": false}))
        .send()
        .await
        .unwrap();
    problem(res, 422, "validation_failed").await;
    // Unlock with a new password; `null` clears the phone.
    let res = app
        .patch(&format!("/api/v1/users/{id}"))
        .header("authorization", &auth)
        .json(&json!({"active": true, "password": "mat-khau-moi-2026", "phone": null}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    app.login(&user, "mat-khau-moi-2026").await;
}

async fn agencies_public_list_and_admin_create(app: TestApp) {
    let res = app.get("/api/v1/agencies").send().await.unwrap();
    let page: Value = res.json().await.unwrap();
    assert_eq!(page["total"], 4);
    let admin = app.token(Role::Admin).await;
    let body = json!({"code": "000.00.32.H56", "name": "  Ủy ban nhân dân xã Hòa Bình  ", "level": "commune"});
    let res = app
        .post("/api/v1/agencies")
        .header("authorization", bearer(&admin))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["name"], "Ủy ban nhân dân xã Hòa Bình");
    let res = app
        .get(&format!("/api/v1/agencies/{}", created["id"]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let bad = json!({"code": "H56", "name": "", "level": "state"});
    let res = app
        .post("/api/v1/agencies")
        .header("authorization", bearer(&admin))
        .json(&bad)
        .send()
        .await
        .unwrap();
    problem(res, 422, "validation_failed").await;
    let bad = json!({"code": "000.00.33.H56", "name": "X", "level": "commune"});
    let res = app
        .post("/api/v1/agencies")
        .json(&bad)
        .send()
        .await
        .unwrap();
    problem(res, 401, "unauthenticated").await;
}
