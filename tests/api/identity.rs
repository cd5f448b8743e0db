//! Identity before access: an account registered with someone's ID number
//! sees nothing filed for that person until it proves it is that person.

use motcua_domain::Role;
use motcua_tests::{PDF, TestApp, bearer, on_both_backends};
use serde_json::{Value, json};

on_both_backends!(a_stranger_registering_an_id_number_sees_nothing,);

const VICTIM_ID: &str = "079190004321";
const VICTIM_NAME: &str = "Trần Thị Bích";
const VICTIM_PHONE: &str = "0987654321";
const VICTIM_EMAIL: &str = "bich@example.vn";

/// A counter filing by the reception officer for a person, received, with a
/// scan of the application form: (dossier code, document id).
pub async fn counter_filing(app: &TestApp, id_number: &str, name: &str) -> (String, String) {
    let officer = app.token(Role::Officer).await;
    let filed = app
        .submit_ok(
            &officer,
            &json!({
                "procedure_code": "2.001584",
                "applicant": {"id_number": id_number, "full_name": name,
                              "phone": VICTIM_PHONE, "email": VICTIM_EMAIL},
                "documents": [{"requirement": "D1", "paper": true}, {"requirement": "D2", "paper": true}],
            }),
        )
        .await;
    let code = filed.code().to_owned();
    app.act_ok(&officer, &code, &json!({"action": "receive"}))
        .await;
    let res = app
        .upload_to(&officer, &code, PDF, &[("requirement", "D1")])
        .await;
    assert_eq!(res.status(), 201, "scan uploaded");
    let doc: Value = res.json().await.unwrap();
    (code, doc["document"]["id"].as_str().unwrap().to_owned())
}

/// Registers a citizen account and signs it in; returns its access token.
pub async fn register(app: &TestApp, id_number: &str, name: &str, phone: &str) -> String {
    let res = app
        .post("/api/v1/auth/register")
        .json(&json!({"id_number": id_number, "full_name": name, "phone": phone,
                      "password": "mat-khau-cua-toi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "register");
    app.login(id_number, "mat-khau-cua-toi").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// What the account can reach of a dossier and its scan: each leak as (what, status).
pub async fn leaks(app: &TestApp, token: &str, code: &str, doc: &str) -> Vec<(String, u16)> {
    let mut found = Vec::new();
    let list = app.get_json(token, "/api/v1/dossiers").await;
    let listed = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == code)
        .count();
    if listed > 0 {
        found.push(("list".to_owned(), 200));
    }
    for path in [
        format!("/api/v1/dossiers/{code}"),
        format!("/api/v1/dossiers/{code}/receipt"),
        format!("/api/v1/dossiers/{code}/history"),
        format!("/api/v1/documents/{doc}"),
    ] {
        let res = app
            .get(&path)
            .header("authorization", bearer(token))
            .send()
            .await
            .unwrap();
        if res.status().is_success() {
            found.push((path, res.status().as_u16()));
        }
    }
    let me = app.get_json(token, "/api/v1/me").await;
    if me["applicant"]["phone"] == VICTIM_PHONE || me["applicant"]["email"] == VICTIM_EMAIL {
        found.push(("me: the record's phone/e-mail".to_owned(), 200));
    }
    found
}

async fn a_stranger_registering_an_id_number_sees_nothing(app: TestApp) {
    let (code, doc) = counter_filing(&app, VICTIM_ID, VICTIM_NAME).await;
    let stranger = register(&app, VICTIM_ID, "Kẻ Lạ Mặt", "0911111111").await;
    let mut leaked = leaks(&app, &stranger, &code, &doc).await;
    // The gravest: withdrawing her dossier.
    let officer = app.token(Role::Officer).await;
    let etag = app.dossier(&officer, &code).await.etag;
    let res = app
        .act_raw(&stranger, &code, Some(&etag), &json!({"action": "withdraw"}))
        .await;
    if res.status().is_success() {
        leaked.push(("withdraw".to_owned(), res.status().as_u16()));
    }
    eprintln!("{} leaks on {:?}: {leaked:?}", leaked.len(), app.backend);
    assert!(leaked.is_empty(), "the stranger reached: {leaked:?}");
    assert_eq!(
        app.dossier(&officer, &code).await.status(),
        "received",
        "her dossier is untouched"
    );
}
