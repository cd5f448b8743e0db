//! Identity before access: an account registered with someone's ID number
//! sees nothing filed for that person until it proves it is that person.

use std::path::PathBuf;

use motcua::seed::DEMO_CITIZEN_ID;
use motcua_domain::Role;
use motcua_persistence::Backend;
use motcua_tests::{PDF, Shown, TestApp, bearer, on_both_backends, problem};
use serde_json::{Value, json};

on_both_backends!(
    a_stranger_registering_an_id_number_sees_nothing,
    the_portal_reaches_what_it_filed_or_is_granted,
);

/// Scenarios that read the one-time codes from a development outbox file.
macro_rules! with_outbox {
    ($($scenario:ident),+ $(,)?) => {
        $(
            mod $scenario {
                #[actix_web::test]
                async fn sqlite() {
                    super::run_with_outbox(super::Backend::Sqlite, super::$scenario).await;
                }
                #[actix_web::test]
                async fn postgres() {
                    super::run_with_outbox(super::Backend::Postgres, super::$scenario).await;
                }
            }
        )+
    };
}

with_outbox!(
    the_owner_proves_it_by_a_code_sent_to_the_recorded_phone,
    expired_and_exhausted_codes_are_refused,
    an_officer_verifies_at_the_counter,
);

/// The development sink's file: one JSON message per line.
pub struct Outbox(PathBuf);

impl Outbox {
    /// The code in the last message sent to `to`.
    fn last_code_to(&self, to: &str) -> String {
        let text = std::fs::read_to_string(&self.0).unwrap_or_default();
        let message: Value = text
            .lines()
            .rev()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .find(|m| m["to"] == to)
            .unwrap_or_else(|| panic!("no message to {to} in {text}"));
        let body = message["body"].as_str().unwrap();
        body.split(|c: char| !c.is_ascii_digit())
            .find(|w| w.len() == 6)
            .unwrap()
            .to_owned()
    }

    fn count(&self) -> usize {
        std::fs::read_to_string(&self.0)
            .unwrap_or_default()
            .lines()
            .count()
    }
}

async fn run_with_outbox<F, Fut>(backend: Backend, scenario: F)
where
    F: FnOnce(TestApp, Outbox) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let path = std::env::temp_dir().join(format!(
        "motcua-outbox-{}.jsonl",
        uuid::Uuid::new_v4().simple()
    ));
    let outbox_path = path.display().to_string();
    match TestApp::start_with(backend, move |s| s.identity.outbox_path = Some(outbox_path)).await {
        Some(app) => scenario(app, Outbox(path)).await,
        None => eprintln!(
            "skipped on {}: MOTCUA_TEST_POSTGRES_URL not set",
            backend.as_str()
        ),
    }
}

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

/// Registers a citizen account and signs it in: (access token, account id).
pub async fn register(app: &TestApp, id_number: &str, name: &str, phone: &str) -> (String, i64) {
    let res = app
        .post("/api/v1/auth/register")
        .json(
            &json!({"id_number": id_number, "full_name": name, "phone": phone,
                      "password": "mat-khau-cua-toi"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "register");
    let id = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let token = app.login(id_number, "mat-khau-cua-toi").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    (token, id)
}

async fn request_code(app: &TestApp, token: &str) -> reqwest::Response {
    app.post("/api/v1/me/verification/otp")
        .header("authorization", bearer(token))
        .send()
        .await
        .unwrap()
}

async fn confirm(app: &TestApp, token: &str, code: &str) -> reqwest::Response {
    app.post("/api/v1/me/verification/otp/confirm")
        .header("authorization", bearer(token))
        .json(&json!({ "code": code }))
        .send()
        .await
        .unwrap()
}

/// A six-digit code that is not `code`.
fn other_than(code: &str, n: u32) -> String {
    let value: u32 = code.parse().unwrap();
    format!("{:06}", (value + n) % 1_000_000)
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
    let (stranger, stranger_id) = register(&app, VICTIM_ID, "Kẻ Lạ Mặt", "0911111111").await;
    let mut leaked = leaks(&app, &stranger, &code, &doc).await;
    // The gravest: withdrawing her dossier.
    let officer = app.token(Role::Officer).await;
    let etag = app.dossier(&officer, &code).await.etag;
    let res = app
        .act_raw(
            &stranger,
            &code,
            Some(&etag),
            &json!({"action": "withdraw"}),
        )
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

    // Not her name: no code is sent, and staff see the attempt.
    problem(
        request_code(&app, &stranger).await,
        409,
        "identity_name_mismatch",
    )
    .await;
    // Nor does an officer link it at the counter.
    let res = app
        .post(&format!("/api/v1/users/{stranger_id}/verify-identity"))
        .header("authorization", bearer(&officer))
        .json(&json!({"note": "CCCD không khớp"}))
        .send()
        .await
        .unwrap();
    problem(res, 409, "identity_name_mismatch").await;
    let listed = app.get_json(&officer, "/api/v1/identity/mismatches").await;
    assert_eq!(listed["total"], 2, "{listed}");
    for m in listed["items"].as_array().unwrap() {
        assert_eq!(m["user_id"], stranger_id);
        assert_eq!(m["account_name"], "Kẻ Lạ Mặt");
        assert_eq!(m["record_name"], VICTIM_NAME);
    }
    assert_eq!(listed["items"][0]["method"], "counter");
    assert_eq!(listed["items"][1]["method"], "otp");
    let res = app
        .get("/api/v1/identity/mismatches")
        .header("authorization", bearer(&stranger))
        .send()
        .await
        .unwrap();
    problem(res, 403, "forbidden").await;
    assert!(leaks(&app, &stranger, &code, &doc).await.is_empty());
    let me = app.get_json(&stranger, "/api/v1/me").await;
    assert_eq!(me["identity"]["status"], "unverified");
    assert_eq!(
        me["applicant"]["full_name"], "Kẻ Lạ Mặt",
        "not her name from the record"
    );

    // It may still file for itself, and sees just that.
    let own = crate::dossiers::submit_reissue(&app, &stranger).await;
    let list = app.get_json(&stranger, "/api/v1/dossiers").await;
    assert_eq!(list["total"], 1, "{list}");
    assert_eq!(list["items"][0]["code"], own.code());
    app.dossier(&stranger, own.code()).await;
    // Her scan cannot be slipped into its own filing from the store either.
    let res = app
        .submit(
            &stranger,
            &json!({"procedure_code": "2.001584", "documents": [
                {"requirement": "D1", "document_id": doc},
                {"requirement": "D2", "document_id": doc}
            ]}),
        )
        .await;
    let body = problem(res, 422, "validation_failed").await;
    let refused = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["code"] == "document_not_usable")
        .count();
    assert_eq!(refused, 2, "{body}");
    let store = app.get_json(&stranger, "/api/v1/me/documents").await;
    assert!(
        store["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["id"] != doc.as_str()),
        "{store}"
    );
    assert_eq!(app.dossier(&officer, &code).await.status(), "received");
}

/// Everything of her dossier is there for the account once verified.
async fn reaches_everything(app: &TestApp, token: &str, code: &str, doc: &str) {
    let got: Vec<String> = leaks(app, token, code, doc)
        .await
        .into_iter()
        .map(|(what, _)| what)
        .collect();
    assert_eq!(
        got.len(),
        6,
        "list, detail, receipt, history, scan, record: {got:?}"
    );
}

async fn the_owner_proves_it_by_a_code_sent_to_the_recorded_phone(app: TestApp, outbox: Outbox) {
    let (code, doc) = counter_filing(&app, VICTIM_ID, VICTIM_NAME).await;
    // Her own account, her name typed without accents, another phone.
    let (owner, _) = register(&app, VICTIM_ID, "TRAN THI BICH", "0933333333").await;
    assert!(leaks(&app, &owner, &code, &doc).await.is_empty());
    problem(
        confirm(&app, &owner, "123456").await,
        409,
        "verification_not_requested",
    )
    .await;

    let res = request_code(&app, &owner).await;
    assert_eq!(res.status(), 202);
    let sent: Value = res.json().await.unwrap();
    assert_eq!(sent["channel"], "sms");
    assert_eq!(sent["destination"], "*******321");
    // To the phone on the agency's record, not the one the account typed.
    let code_sent = outbox.last_code_to(VICTIM_PHONE);
    assert_eq!(outbox.count(), 1);
    // Resending at once is throttled.
    let res = request_code(&app, &owner).await;
    assert!(res.headers().contains_key("retry-after"));
    problem(res, 429, "too_many_requests").await;
    assert_eq!(outbox.count(), 1);

    let body = problem(
        confirm(&app, &owner, &other_than(&code_sent, 1)).await,
        422,
        "verification_code_invalid",
    )
    .await;
    assert_eq!(body["tries_left"], 4);
    problem(
        confirm(&app, &owner, "12ab56").await,
        422,
        "validation_failed",
    )
    .await;
    assert!(
        leaks(&app, &owner, &code, &doc).await.is_empty(),
        "a wrong code opens nothing"
    );

    let res = confirm(&app, &owner, &code_sent).await;
    assert_eq!(res.status(), 200);
    let verified: Value = res.json().await.unwrap();
    assert_eq!(verified["status"], "verified");
    assert_eq!(verified["method"], "otp");
    reaches_everything(&app, &owner, &code, &doc).await;
    let me = app.get_json(&owner, "/api/v1/me").await;
    assert_eq!(me["identity"]["status"], "verified");
    assert_eq!(me["applicant"]["phone"], VICTIM_PHONE);
    problem(request_code(&app, &owner).await, 409, "already_verified").await;
    // The code is spent.
    problem(
        confirm(&app, &owner, &code_sent).await,
        409,
        "verification_not_requested",
    )
    .await;
}

async fn expired_and_exhausted_codes_are_refused(app: TestApp, outbox: Outbox) {
    const OTHER_ID: &str = "079190004322";
    use diesel::prelude::*;
    use motcua_persistence::schema::identity_attempts;
    // An expired code.
    let (code, doc) = counter_filing(&app, VICTIM_ID, VICTIM_NAME).await;
    let (owner, owner_id) = register(&app, VICTIM_ID, VICTIM_NAME, "0933333333").await;
    assert_eq!(request_code(&app, &owner).await.status(), 202);
    let sent = outbox.last_code_to(VICTIM_PHONE);
    {
        let past = (chrono::Utc::now() - chrono::Duration::minutes(1)).naive_utc();
        let mut conn = app.pool.get().unwrap();
        let n = diesel::update(
            identity_attempts::table.filter(identity_attempts::user_id.eq(owner_id)),
        )
        .set(identity_attempts::expires_at.eq(Some(past)))
        .execute(&mut *conn)
        .unwrap();
        assert_eq!(n, 1);
    }
    problem(
        confirm(&app, &owner, &sent).await,
        410,
        "verification_code_expired",
    )
    .await;
    problem(
        confirm(&app, &owner, &sent).await,
        409,
        "verification_not_requested",
    )
    .await;
    assert!(leaks(&app, &owner, &code, &doc).await.is_empty());

    // Too many tries: five wrong entries and the code is dead, the right one too.
    let (code2, doc2) = counter_filing(&app, OTHER_ID, "Lê Văn Cường").await;
    let (other, _) = register(&app, OTHER_ID, "Lê Văn Cường", "0944444444").await;
    assert_eq!(request_code(&app, &other).await.status(), 202);
    let right = outbox.last_code_to(VICTIM_PHONE);
    assert_ne!(right, sent);
    for n in 1..=4 {
        let body = problem(
            confirm(&app, &other, &other_than(&right, n)).await,
            422,
            "verification_code_invalid",
        )
        .await;
        assert_eq!(body["tries_left"], 5 - i64::from(n));
    }
    problem(
        confirm(&app, &other, &other_than(&right, 5)).await,
        410,
        "verification_code_exhausted",
    )
    .await;
    problem(
        confirm(&app, &other, &right).await,
        409,
        "verification_not_requested",
    )
    .await;
    assert!(leaks(&app, &other, &code2, &doc2).await.is_empty());
    let me = app.get_json(&other, "/api/v1/me").await;
    assert_eq!(me["identity"]["status"], "unverified");
    // What is stored is a digest, never the code.
    {
        let mut conn = app.pool.get().unwrap();
        let hashes: Vec<Option<String>> = identity_attempts::table
            .select(identity_attempts::code_hash)
            .load(&mut *conn)
            .unwrap();
        assert_eq!(hashes.len(), 2);
        for h in hashes.into_iter().flatten() {
            assert_eq!(h.len(), 64);
            assert!(!h.contains(&right) && !h.contains(&sent));
        }
    }

    // Five codes a day at most, however patiently one waits between them.
    let mut sent_today = 1;
    loop {
        {
            let mut conn = app.pool.get().unwrap();
            let earlier = diesel::dsl::sql::<diesel::sql_types::Timestamp>(
                if app.backend == Backend::Sqlite {
                    "datetime(created_at, '-2 minutes')"
                } else {
                    "created_at - interval '2 minutes'"
                },
            );
            diesel::update(
                identity_attempts::table.filter(identity_attempts::user_id.eq(owner_id)),
            )
            .set(identity_attempts::created_at.eq(earlier))
            .execute(&mut *conn)
            .unwrap();
        }
        let res = request_code(&app, &owner).await;
        if sent_today == 5 {
            problem(res, 429, "too_many_requests").await;
            break;
        }
        assert_eq!(res.status(), 202, "code {}", sent_today + 1);
        sent_today += 1;
    }
}

async fn an_officer_verifies_at_the_counter(app: TestApp, outbox: Outbox) {
    // Filed at the counter without phone or e-mail: no code can go anywhere.
    let officer = app.token(Role::Officer).await;
    let filed = app
        .submit_ok(
            &officer,
            &json!({
                "procedure_code": "2.001584",
                "applicant": {"id_number": VICTIM_ID, "full_name": VICTIM_NAME},
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
    let doc = res.json::<Value>().await.unwrap()["document"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let (owner, owner_id) = register(&app, VICTIM_ID, "trần thị bích", "0933333333").await;
    problem(
        request_code(&app, &owner).await,
        409,
        "verification_no_contact",
    )
    .await;
    assert_eq!(outbox.count(), 0);
    assert!(leaks(&app, &owner, &code, &doc).await.is_empty());
    // Only staff verify, and only citizen accounts.
    let path = format!("/api/v1/users/{owner_id}/verify-identity");
    let res = app
        .post(&path)
        .header("authorization", bearer(&owner))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    problem(res, 403, "forbidden").await;
    let officer_id = app.user_id("demo.officer").await;
    let res = app
        .post(&format!("/api/v1/users/{officer_id}/verify-identity"))
        .header("authorization", bearer(&officer))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    problem(res, 404, "not_found").await;

    let res = app
        .post(&path)
        .header("authorization", bearer(&officer))
        .json(&json!({"note": "Đối chiếu CCCD gắn chip"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let verified: Value = res.json().await.unwrap();
    assert_eq!(verified["status"], "verified");
    assert_eq!(verified["method"], "counter");
    assert_eq!(verified["verified_by"], officer_id);
    assert!(verified["verified_at"].is_string());
    let got = leaks(&app, &owner, &code, &doc).await;
    assert_eq!(
        got.len(),
        5,
        "all but the record's contact, which it has none: {got:?}"
    );
    let me = app.get_json(&owner, "/api/v1/me").await;
    assert_eq!(me["identity"]["method"], "counter");
    assert_eq!(me["applicant"]["full_name"], VICTIM_NAME);
}

/// A citizen's dossier with a payment open: the dossier and the payment id.
async fn a_payment_open(app: &TestApp) -> (Shown, String) {
    let citizen = app.token_of(DEMO_CITIZEN_ID).await;
    let form = app.upload(&citizen, "don.pdf").await;
    let paid = app
        .submit_ok(&citizen, &json!({"procedure_code": "1.004610", "documents": [{"requirement": "D1", "document_id": form}]}))
        .await;
    let res = app
        .post(&format!("/api/v1/dossiers/{}/payments", paid.code()))
        .header("authorization", bearer(&citizen))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let payment = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (paid, payment)
}

async fn the_portal_reaches_what_it_filed_or_is_granted(app: TestApp) {
    let portal = app.token(Role::Integration).await;
    let admin = app.token(Role::Admin).await;
    let portal_id = app.user_id(&app.account(Role::Integration).0).await;
    let (code, doc) = counter_filing(&app, VICTIM_ID, VICTIM_NAME).await;
    let (paid, payment) = a_payment_open(&app).await;

    let status_of = |path: String, method: &'static str| {
        let req = match method {
            "GET" => app.get(&path),
            _ => app.post(&path).json(&json!({})),
        };
        let req = req.header("authorization", bearer(&portal));
        async move { req.send().await.unwrap().status().as_u16() }
    };
    // Nothing it did not file.
    let list = app.get_json(&portal, "/api/v1/dossiers").await;
    assert_eq!(list["total"], 0, "{list}");
    for (path, method) in [
        (format!("/api/v1/dossiers/{code}"), "GET"),
        (format!("/api/v1/dossiers/{code}/receipt"), "GET"),
        (format!("/api/v1/documents/{doc}"), "GET"),
        (format!("/api/v1/payments/{payment}"), "GET"),
        (format!("/api/v1/payments/{payment}/cancel"), "POST"),
    ] {
        assert_eq!(
            status_of(path.clone(), method).await,
            404,
            "{method} {path}"
        );
    }
    let officer = app.token(Role::Officer).await;
    let etag = app.dossier(&officer, &code).await.etag;
    let res = app
        .act_raw(&portal, &code, Some(&etag), &json!({"action": "withdraw"}))
        .await;
    problem(res, 404, "not_found").await;

    let own = files_for_a_citizen(&app, &portal).await;

    // A grant for the receiving agency: it reads, but still acts only on its own.
    let agency = app.dossier(&officer, &code).await.body["agency"]["id"]
        .as_i64()
        .unwrap();
    let grants = format!("/api/v1/integrations/{portal_id}/grants");
    grant_an_agency(&app, (&officer, &admin), &grants, agency).await;
    app.dossier(&portal, &code).await;
    assert_eq!(
        status_of(format!("/api/v1/documents/{doc}"), "GET").await,
        200
    );
    let list = app.get_json(&portal, "/api/v1/dossiers").await;
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["code"] == code.as_str())
    );
    let res = app
        .act_raw(&portal, &code, Some(&etag), &json!({"action": "withdraw"}))
        .await;
    problem(res, 403, "forbidden").await;
    let paid_agency = paid.body["agency"]["id"].as_i64().unwrap();
    if paid_agency == agency {
        assert_eq!(
            status_of(format!("/api/v1/payments/{payment}/cancel"), "POST").await,
            403
        );
    }
    let res = app
        .act(&portal, own.code(), &json!({"action": "withdraw"}))
        .await;
    assert_eq!(res.status(), 200, "its own filing");

    every_request_is_on_record(
        &app,
        (&admin, &officer),
        portal_id,
        (&code, own.code()),
        &payment,
    )
    .await;
    // Revoked: gone again.
    let res = app
        .delete(&format!("{grants}/{agency}"))
        .header("authorization", bearer(&admin))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(
        status_of(format!("/api/v1/dossiers/{code}"), "GET").await,
        404
    );
    let res = app
        .delete(&format!("{grants}/{agency}"))
        .header("authorization", bearer(&admin))
        .send()
        .await
        .unwrap();
    problem(res, 404, "not_found").await;

    grant_changes_are_audited(&app, &admin, portal_id, agency).await;
}

/// Only an administrator grants the portal an agency.
async fn grant_an_agency(app: &TestApp, (officer, admin): (&str, &str), grants: &str, agency: i64) {
    let res = app
        .post(grants)
        .header("authorization", bearer(officer))
        .json(&json!({"agency_id": agency}))
        .send()
        .await
        .unwrap();
    problem(res, 403, "forbidden").await;
    let res = app
        .post(grants)
        .header("authorization", bearer(admin))
        .json(&json!({"agency_id": agency}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let listed = app.get_json(admin, grants).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["agency_id"], agency);
}

/// What the portal files for a citizen is its own to act on; returns that dossier.
async fn files_for_a_citizen(app: &TestApp, portal: &str) -> Shown {
    // What it files for a citizen is its own to act on.
    let d1 = app.upload(portal, "don.pdf").await;
    let d2 = app.upload(portal, "giay-phep.pdf").await;
    let own = app
        .submit_ok(
            portal,
            &json!({"procedure_code": "2.001584", "applicant": {"id_number": "079190009999", "full_name": "Phạm Văn Dũng"},
                    "documents": [{"requirement": "D1", "document_id": d1}, {"requirement": "D2", "document_id": d2}]}),
        )
        .await;
    let list = app.get_json(portal, "/api/v1/dossiers").await;
    assert_eq!(list["total"], 1);
    own
}

/// Every request the portal made is on record for the admin (not for an officer): refused ones, reads, its own filing, the payment it tried to cancel.
async fn every_request_is_on_record(
    app: &TestApp,
    (admin, officer): (&str, &str),
    portal_id: i64,
    (code, own): (&str, &str),
    payment: &str,
) {
    // Every request it made is on record for the admin.
    let log = app
        .get_json(
            admin,
            &format!("/api/v1/integrations/{portal_id}/access-log?per_page=100"),
        )
        .await;
    let entries = log["items"].as_array().unwrap();
    let on_hers: Vec<(String, i64)> = entries
        .iter()
        .filter(|e| e["dossier_code"] == code)
        .map(|e| {
            (
                e["method"].as_str().unwrap().to_owned(),
                e["status"].as_i64().unwrap(),
            )
        })
        .collect();
    assert!(on_hers.contains(&("POST".to_owned(), 404)), "{on_hers:?}");
    assert!(on_hers.contains(&("POST".to_owned(), 403)), "{on_hers:?}");
    assert!(on_hers.contains(&("GET".to_owned(), 200)), "{on_hers:?}");
    assert!(
        entries
            .iter()
            .any(|e| e["dossier_code"] == own && e["method"] == "POST" && e["status"] == 201)
    );
    assert!(
        entries
            .iter()
            .any(|e| e["path"] == format!("/api/v1/payments/{payment}/cancel"))
    );
    let res = app
        .get(&format!("/api/v1/integrations/{portal_id}/access-log"))
        .header("authorization", bearer(officer))
        .send()
        .await
        .unwrap();
    problem(res, 403, "forbidden").await;
}

/// Both grant changes are in the audit log, with the grants before and after.
async fn grant_changes_are_audited(app: &TestApp, admin: &str, portal_id: i64, agency: i64) {
    // Both changes are in the audit log, with the grants before and after.
    let audit = app
        .get_json(
            admin,
            &format!("/api/v1/audit?entity_type=integration_grant&entity_id={portal_id}"),
        )
        .await;
    let entries = audit["items"].as_array().unwrap();
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["revoke", "grant"], "newest first");
    assert_eq!(entries[1]["before"], json!({"grants": []}));
    assert_eq!(entries[1]["after"]["grants"][0]["agency_id"], agency);
    assert_eq!(entries[0]["after"], json!({"grants": []}));
}
