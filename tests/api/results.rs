//! Results by post (with a failed delivery), a postal-channel intake at the
//! counter, corrections with their KPI effect, revocations, results of
//! several files, and verification of a result's (and a revocation's)
//! signature by an Ed25519 implementation other than the server's (ring),
//! across a key rotation; the steps in the dossier's trail; the results'
//! counts under the KPI filters.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use motcua::seed::DEMO_CITIZEN_ID;
use motcua_domain::Role;
use motcua_tests::{PDF, TestApp, bearer, on_both_backends, problem};
use serde_json::{Value, json};

use crate::dossiers::{submit_reissue, to_review};

on_both_backends!(
    postal_return_with_a_failed_delivery_then_a_delivery,
    a_reception_officer_records_a_postal_dossier,
    results_verify_through_corrections_and_a_key_rotation,
    a_revoked_result_answers_revoked_signed_as_such,
    every_result_file_is_hashed_and_signed,
    concurrent_revocations_and_corrections_let_one_win,
);

/// A fresh online dossier driven to `result_ready` with a result file;
/// returns its code.
async fn issued(app: &TestApp, citizen: &str) -> String {
    issued_with(app, citizen, &[PDF]).await
}

/// A fresh online dossier driven to `result_ready` with these result files.
async fn issued_with(app: &TestApp, citizen: &str, files: &[&[u8]]) -> String {
    let code = submit_reissue(app, citizen).await.code().to_owned();
    to_review(app, &code).await;
    let handler = app.token_of("demo.handler").await;
    app.act_ok(&handler, &code, &json!({"action": "propose"}))
        .await;
    let leader = app.token(Role::Leader).await;
    app.act_ok(&leader, &code, &json!({"action": "approve"}))
        .await;
    for file in files {
        let res = app
            .upload_to(
                &handler,
                &code,
                file,
                &[("kind", "result"), ("title", "Giấy phép (cấp lại)")],
            )
            .await;
        assert_eq!(res.status(), 201);
    }
    let issued = app
        .act_ok(&handler, &code, &json!({"action": "issue_result"}))
        .await;
    assert_eq!(issued.body["status"], "result_ready");
    code
}

/// The dossier's trail as (action, note) pairs.
async fn trail(app: &TestApp, token: &str, code: &str) -> Vec<(String, Value)> {
    let history = app
        .get_json(token, &format!("/api/v1/dossiers/{code}/history"))
        .await;
    history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap().to_owned(), e["note"].clone()))
        .collect()
}

async fn put_postal(app: &TestApp, token: &str, code: &str, body: &Value) -> reqwest::Response {
    app.put(&format!("/api/v1/dossiers/{code}/postal-return"))
        .header("authorization", bearer(token))
        .json(body)
        .send()
        .await
        .unwrap()
}

fn postal_body() -> Value {
    json!({"recipient": "Nguyễn Văn An", "address": "12 Lê Lợi, phường 1, Bến Tre",
           "phone": "0912345678", "fee_vnd": 30000})
}

/// The applicant chooses the post while the dossier is in progress.
async fn choosing_the_post(app: &TestApp, citizen: &str, leader: &str) {
    let code = submit_reissue(app, citizen).await.code().to_owned();
    // The applicant chooses the post while the dossier is in progress.
    let res = put_postal(app, citizen, &code, &json!({"phone": "12"})).await;
    let body = problem(res, 422, "validation_failed").await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["recipient", "address", "phone"]);
    let res = put_postal(app, citizen, &code, &postal_body()).await;
    assert_eq!(res.status(), 200);
    let chosen: Value = res.json().await.unwrap();
    assert_eq!(chosen["postal_return"]["fee_vnd"], 30000);
    let shown = app.dossier(citizen, &code).await;
    assert_eq!(shown.body["result_channel"], "postal");
    assert_eq!(chosen["dossier_etag"], shown.etag.as_str());
    // The choice is a line of the dossier's trail, the status unchanged.
    let history = app
        .get_json(citizen, &format!("/api/v1/dossiers/{code}/history"))
        .await;
    let last = history["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (&last["action"], &last["from_status"], &last["to_status"]),
        (
            &json!("choose_postal_return"),
            &json!("submitted"),
            &json!("submitted")
        ),
        "{last}"
    );
    assert_eq!(last["data"]["fee_vnd"], 30000);
    // Someone else's dossier is not found.
    problem(
        put_postal(app, leader, &code, &postal_body()).await,
        403,
        "forbidden",
    )
    .await;
}

async fn postal_return_with_a_failed_delivery_then_a_delivery(app: TestApp) {
    let citizen = app.token_of(DEMO_CITIZEN_ID).await;
    let officer = app.token(Role::Officer).await;
    let leader = app.token(Role::Leader).await;
    choosing_the_post(&app, &citizen, &leader).await;
    let code = {
        // The result is issued on another dossier of the same applicant, chosen for post later.
        let issued_code = issued(&app, &citizen).await;
        let res = put_postal(&app, &citizen, &issued_code, &postal_body()).await;
        assert_eq!(res.status(), 200);
        issued_code
    };
    let ready = app.dossier(&officer, &code).await;
    let allowed = ready.body["allowed_actions"].as_array().unwrap().clone();
    assert!(allowed.contains(&json!("post")), "{allowed:?}");
    // A tracking number is required; leaders do not hand results over.
    let res = app.act(&officer, &code, &json!({"action": "post"})).await;
    let body = problem(res, 422, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "tracking_number");
    problem(
        app.act(
            &leader,
            &code,
            &json!({"action": "post", "tracking_number": "EE1"}),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    let posted = app
        .act_ok(
            &officer,
            &code,
            &json!({"action": "post", "tracking_number": "ee000000001vn"}),
        )
        .await;
    assert_eq!(posted.body["status"], "posting");
    assert_eq!(posted.body["portal_status"], 9);
    assert_eq!(
        posted.body["allowed_actions"],
        json!(["deliver", "delivery_failed"])
    );
    // Once with the post, the address is fixed and nothing is withdrawn.
    problem(
        put_postal(&app, &citizen, &code, &postal_body()).await,
        409,
        "invalid_transition",
    )
    .await;
    problem(
        app.act(&citizen, &code, &json!({"action": "withdraw"}))
            .await,
        409,
        "invalid_transition",
    )
    .await;
    // A failed delivery needs a reason and brings the result back to the counter.
    let res = app
        .act(&officer, &code, &json!({"action": "delivery_failed"}))
        .await;
    problem(res, 422, "validation_failed").await;
    let back = app
        .act_ok(
            &officer,
            &code,
            &json!({"action": "delivery_failed", "note": "Không có người nhận"}),
        )
        .await;
    assert_eq!(back.body["status"], "result_ready");
    assert!(back.body["finished_at"].is_null());
    app.act_ok(
        &officer,
        &code,
        &json!({"action": "post", "tracking_number": "EE000000002VN"}),
    )
    .await;
    let delivered = app
        .act_ok(&officer, &code, &json!({"action": "deliver"}))
        .await;
    assert_eq!(delivered.body["status"], "returned");
    assert_eq!(delivered.body["portal_status"], 10);
    assert!(delivered.body["finished_at"].is_string());
    // On time is judged at the hand-over: the outcome is the issue's.
    assert!(["early", "on_time"].contains(&delivered.body["outcome"].as_str().unwrap()));
    after_the_delivery(&app, (&citizen, &officer), &code).await;
}

/// What a delivered postal return leaves: the tracking, the trail, the counts.
async fn after_the_delivery(app: &TestApp, (citizen, officer): (&str, &str), code: &str) {
    let postal = app
        .get_json(citizen, &format!("/api/v1/dossiers/{code}/postal-return"))
        .await;
    assert_eq!(postal["tracking_number"], "EE000000002VN");
    assert_eq!(postal["failures"], 1);
    assert!(postal["delivered_at"].is_string());
    let history = app
        .get_json(citizen, &format!("/api/v1/dossiers/{code}/history"))
        .await;
    let actions: Vec<&str> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.ends_with(&[
            "choose_postal_return",
            "post",
            "delivery_failed",
            "post",
            "deliver"
        ]),
        "{actions:?}"
    );
    // The KPIs count postal returns on their own.
    let counts = app.get_json(officer, "/api/v1/kpi/results").await;
    assert_eq!(
        (
            &counts["posted"],
            &counts["delivered"],
            &counts["with_failed_delivery"]
        ),
        (&json!(1), &json!(1), &json!(1)),
        "{counts}"
    );
}

async fn a_reception_officer_records_a_postal_dossier(app: TestApp) {
    let officer = app.token(Role::Officer).await;
    let body = json!({
        "procedure_code": "2.001584",
        "channel": "postal",
        "result_channel": "postal",
        "applicant": {"id_number": "001199000777", "full_name": "Người Gửi Bưu Điện"},
        "documents": [{"requirement": "D1", "paper": true}, {"requirement": "D2", "paper": true}],
    });
    let filed = app.submit_ok(&officer, &body).await;
    assert_eq!(filed.body["channel"], "postal");
    assert_eq!(filed.body["result_channel"], "postal");
    let code = filed.code().to_owned();
    let received = app
        .act_ok(&officer, &code, &json!({"action": "receive"}))
        .await;
    assert_eq!(received.body["status"], "received");
    assert!(received.body["due_at"].is_string());
    // The address is recorded by the counter for the applicant.
    let res = put_postal(&app, &officer, &code, &postal_body()).await;
    assert_eq!(res.status(), 200);
}

/// Whether `signature` (`kid`, `value`, `signed_text`) checks out against
/// the key it names in `/.well-known/motcua-keys`, with ring; and that a
/// changed text does not.
async fn signed_by_published_key(app: &TestApp, signature: &Value) -> bool {
    let res = app.get("/.well-known/motcua-keys").send().await.unwrap();
    assert_eq!(res.status(), 200);
    let keys: Value = res.json().await.unwrap();
    let key = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == signature["kid"])
        .expect("the signing key is published");
    assert_eq!(
        (&key["alg"], &key["crv"]),
        (&json!("EdDSA"), &json!("Ed25519"))
    );
    let (x, text, value) = (
        key["x"].as_str().unwrap(),
        signature["signed_text"].as_str().unwrap(),
        signature["value"].as_str().unwrap(),
    );
    assert!(!verifies(x, &format!("{text}x"), value));
    verifies(x, text, value)
}

fn verifies(public_key_b64: &str, text: &str, signature_b64: &str) -> bool {
    let key = URL_SAFE_NO_PAD.decode(public_key_b64).unwrap();
    let signature = URL_SAFE_NO_PAD.decode(signature_b64).unwrap();
    ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, key)
        .verify(text.as_bytes(), &signature)
        .is_ok()
}

/// The public answer to a code, checked against the published keys.
async fn verified(app: &TestApp, code: &str) -> Value {
    let res = app
        .get(&format!("/api/v1/verify/{code}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let answer: Value = res.json().await.unwrap();
    let signature = &answer["signature"];
    assert!(signed_by_published_key(app, signature).await);
    // The signed text is the answer's facts, every file's hash among them.
    let text = signature["signed_text"].as_str().unwrap();
    assert!(text.starts_with("motcua-result-v2\n"), "{text}");
    assert!(text.contains(&format!(
        "\nnumber={}\n",
        answer["number"].as_str().unwrap()
    )));
    let files = answer["files_sha256"].as_array().unwrap();
    let mut tail = format!("\nfiles={}\n", files.len());
    for hash in files {
        tail.push_str(&format!("file_sha256={}\n", hash.as_str().unwrap()));
    }
    assert!(text.ends_with(&tail), "{text}");
    assert_eq!(
        answer["file_sha256"],
        files.first().cloned().unwrap_or(Value::Null)
    );
    answer
}

fn sha256_hex(bytes: &[u8]) -> String {
    let sha = ring::digest::digest(&ring::digest::SHA256, bytes);
    sha.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

async fn every_result_file_is_hashed_and_signed(app: TestApp) {
    let citizen = app.token_of(DEMO_CITIZEN_ID).await;
    let second = [PDF, b"\n%second file\n".as_slice()].concat();
    let code = issued_with(&app, &citizen, &[PDF, &second]).await;
    let versions = app
        .get_json(&citizen, &format!("/api/v1/dossiers/{code}/results"))
        .await;
    let first_code = versions[0]["verification"]["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let answer = verified(&app, &first_code).await;
    assert_eq!(
        answer["files_sha256"],
        json!([sha256_hex(PDF), sha256_hex(&second)])
    );
    assert_eq!(answer["file_sha256"], sha256_hex(PDF));
    // The second file's hash is signed: another hash in its place fails.
    let signature = &answer["signature"];
    let forged = signature["signed_text"]
        .as_str()
        .unwrap()
        .replace(&sha256_hex(&second), &sha256_hex(b"another file"));
    let forged =
        json!({"kid": signature["kid"], "value": signature["value"], "signed_text": forged});
    assert!(!signed_by_published_key(&app, &forged).await);
}

async fn revoke(
    app: &TestApp,
    token: &str,
    code: &str,
    version: i32,
    body: Value,
) -> reqwest::Response {
    app.post(&format!("/api/v1/dossiers/{code}/results/{version}/revoke"))
        .header("authorization", bearer(token))
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn a_revoked_result_answers_revoked_signed_as_such(app: TestApp) {
    let citizen = app.token_of(DEMO_CITIZEN_ID).await;
    let officer = app.token(Role::Officer).await;
    let leader = app.token(Role::Leader).await;
    let code = issued(&app, &citizen).await;
    let versions = app
        .get_json(&citizen, &format!("/api/v1/dossiers/{code}/results"))
        .await;
    let first_code = versions[0]["verification"]["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let reason = json!({"reason": "Cấp sai đối tượng"});
    // Leaders (the role that approves) revoke; officers and the applicant do not.
    for token in [&citizen, &officer] {
        problem(
            revoke(&app, token, &code, 1, reason.clone()).await,
            403,
            "forbidden",
        )
        .await;
    }
    problem(
        revoke(&app, &leader, &code, 2, reason.clone()).await,
        404,
        "not_found",
    )
    .await;
    problem(
        revoke(&app, &leader, &code, 1, json!({})).await,
        422,
        "validation_failed",
    )
    .await;
    let res = revoke(&app, &leader, &code, 1, reason.clone()).await;
    assert_eq!(res.status(), 200);
    let versions: Value = res.json().await.unwrap();
    assert_eq!(versions[0]["verification"]["standing"], "revoked");

    // The public answer: revoked, the signature still good, and the
    // revocation signed as such by the agency's published key.
    let answer = verified(&app, &first_code).await;
    assert_eq!(answer["standing"], "revoked");
    assert!(answer["standing_changed_at"].is_string());
    let revocation = &answer["revocation"];
    assert_eq!(revocation["reason"], "Cấp sai đối tượng");
    let text = revocation["signature"]["signed_text"].as_str().unwrap();
    assert!(
        text.starts_with(&format!("motcua-revocation-v1\ncode={first_code}\n")),
        "{text}"
    );
    assert!(text.ends_with("\nreason=Cấp sai đối tượng\n"), "{text}");
    assert!(signed_by_published_key(&app, &revocation["signature"]).await);

    after_the_revocation(&app, (&citizen, &officer, &leader), &code).await;
}

/// What a revocation leaves: no second one, no correction, its trail line,
/// its event and its count.
async fn after_the_revocation(
    app: &TestApp,
    (citizen, officer, leader): (&str, &str, &str),
    code: &str,
) {
    let reason = json!({"reason": "Cấp sai đối tượng"});
    // Not revoked twice, not corrected after.
    problem(
        revoke(app, leader, code, 1, reason.clone()).await,
        409,
        "result_revoked",
    )
    .await;
    problem(
        correction(
            app,
            officer,
            code,
            json!({"reason": "Sai tên", "paper": true}),
        )
        .await,
        409,
        "result_revoked",
    )
    .await;

    // The trail, the change feed and the counts say so.
    let steps = trail(app, citizen, code).await;
    assert_eq!(
        steps.last().unwrap(),
        &("revoke_result".to_owned(), json!("Cấp sai đối tượng"))
    );
    let counts = app.get_json(officer, "/api/v1/kpi/results").await;
    assert_eq!(counts["revoked"], 1, "{counts}");
    let admin = app.token(Role::Admin).await;
    revoked_in_the_feed(app, &admin, code).await;
}

/// The change feed carries `dossier.result_revoked` for the dossier.
async fn revoked_in_the_feed(app: &TestApp, admin: &str, code: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let page = app
            .get_json(admin, "/api/v1/events?types=dossier.result_revoked")
            .await;
        let items = page["items"].as_array().unwrap();
        if items.iter().any(|e| e["subject"] == code) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "no event: {page}");
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn results_verify_through_corrections_and_a_key_rotation(app: TestApp) {
    let citizen = app.token_of(DEMO_CITIZEN_ID).await;
    let officer = app.token(Role::Officer).await;
    let code = issued(&app, &citizen).await;
    let before = app.get_json(&officer, "/api/v1/kpi/summary").await;
    let versions = app
        .get_json(&citizen, &format!("/api/v1/dossiers/{code}/results"))
        .await;
    let first = versions[0]["verification"].clone();
    let first_code = first["code"].as_str().unwrap().to_owned();
    assert_eq!(first_code.len(), 32);
    assert!(
        versions[0]["qr_payload"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/api/v1/verify/{first_code}"))
    );
    let answer = verified(&app, &first_code).await;
    assert_eq!(answer["standing"], "valid");
    assert_eq!(answer["agency_code"], "000.00.20.H56");
    assert_eq!(answer["procedure_code"], "2.001584");
    assert_eq!(answer["number"], format!("{code}/KQ1"));
    assert_eq!(answer["file_sha256"], sha256_hex(PDF));
    assert_eq!(answer["files_sha256"], json!([sha256_hex(PDF)]));
    // Unknown and malformed codes answer the same 404.
    for unknown in ["a".repeat(32), "not-a-code".to_owned()] {
        let res = app
            .get(&format!("/api/v1/verify/{unknown}"))
            .send()
            .await
            .unwrap();
        problem(res, 404, "not_found").await;
    }

    // A correction: the applicant may not record it; an officer does, with a reason.
    let corrections = format!("/api/v1/dossiers/{code}/corrections");
    let correct = |token: &str, body: Value| {
        app.post(&corrections)
            .header("authorization", bearer(token))
            .json(&body)
            .send()
    };
    problem(
        correct(&citizen, json!({"reason": "Sai tên", "paper": true}))
            .await
            .unwrap(),
        403,
        "forbidden",
    )
    .await;
    problem(
        correct(&officer, json!({"paper": true})).await.unwrap(),
        422,
        "validation_failed",
    )
    .await;
    problem(
        correct(&officer, json!({"reason": "Sai tên"}))
            .await
            .unwrap(),
        422,
        "validation_failed",
    )
    .await;
    let res = correct(
        &officer,
        json!({"reason": "Sai ngày sinh", "requested_by": "applicant", "paper": true}),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 201);
    let versions: Value = res.json().await.unwrap();
    assert_eq!(versions.as_array().unwrap().len(), 2);
    let second = &versions[1];
    assert_eq!(second["verification"]["standing"], "valid");
    assert_eq!(second["verification"]["number"], format!("{code}/KQ2"));
    assert_eq!(second["requested_by"], "applicant");
    assert!(second["due_at"].is_string());
    assert!(second["verification"]["file_sha256"].is_null());
    after_the_correction(&app, &citizen, &code, &first_code).await;

    // The dossier's own KPIs are untouched; the correction counts on its own.
    let after = app.get_json(&officer, "/api/v1/kpi/summary").await;
    assert_eq!(before["counts"], after["counts"]);
    let counts = app.get_json(&officer, "/api/v1/kpi/results").await;
    assert_eq!(
        (&counts["corrections"], &counts["corrections_on_time"]),
        (&json!(1), &json!(1)),
        "{counts}"
    );
    counts_follow_the_kpi_filters(&app, &officer).await;

    a_rotation_keeps_old_signatures(&app, &officer, &code, &first_code).await;
}

/// After a correction: the version before is superseded (its signature
/// still good) and not revocable; the trail has the correction.
async fn after_the_correction(app: &TestApp, citizen: &str, code: &str, first_code: &str) {
    // The old version stays readable, superseded, its signature still good.
    let old = verified(app, first_code).await;
    assert_eq!(old["standing"], "superseded");
    assert_eq!(old["current_number"], format!("{code}/KQ2"));
    assert!(old["revocation"].is_null());
    // A superseded version is not revoked: the one in force is.
    let leader = app.token(Role::Leader).await;
    problem(
        revoke(app, &leader, code, 1, json!({"reason": "Sai"})).await,
        409,
        "result_superseded",
    )
    .await;
    // The correction is a line of the trail, with its reason.
    let steps = trail(app, citizen, code).await;
    assert_eq!(
        steps.last().unwrap(),
        &("correct_result".to_owned(), json!("Sai ngày sinh"))
    );
}

async fn correction(app: &TestApp, token: &str, code: &str, body: Value) -> reqwest::Response {
    app.post(&format!("/api/v1/dossiers/{code}/corrections"))
        .header("authorization", bearer(token))
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// A rotation: new versions are signed with the new key, old ones still verify.
async fn a_rotation_keeps_old_signatures(
    app: &TestApp,
    officer: &str,
    code: &str,
    first_code: &str,
) {
    let admin = app.token(Role::Admin).await;
    let agency = app.agency_id("000.00.20.H56").await;
    let res = app
        .post(&format!("/api/v1/agencies/{agency}/signing-keys"))
        .header("authorization", bearer(&admin))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let rotated: Value = res.json().await.unwrap();
    problem(
        app.post(&format!("/api/v1/agencies/{agency}/signing-keys"))
            .header("authorization", bearer(officer))
            .send()
            .await
            .unwrap(),
        403,
        "forbidden",
    )
    .await;
    let res = correction(
        app,
        officer,
        code,
        json!({"reason": "Sai địa chỉ", "paper": true}),
    )
    .await;
    let versions: Value = res.json().await.unwrap();
    let third = versions[2]["verification"]["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let newest = verified(app, &third).await;
    assert_eq!(newest["signature"]["kid"], rotated["kid"]);
    let oldest = verified(app, first_code).await;
    assert_ne!(oldest["signature"]["kid"], rotated["kid"]);
    let keys: Value = app
        .get("/.well-known/motcua-keys")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let retired = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == oldest["signature"]["kid"])
        .unwrap();
    assert!(retired["retired_at"].is_string());
}

/// `/kpi/results` narrows its counts like the other KPI endpoints: the one
/// correction is of an online dossier of procedure 2.001584 received by
/// 000.00.20.H56.
async fn counts_follow_the_kpi_filters(app: &TestApp, officer: &str) {
    let admin_token = app.token(Role::Admin).await;
    let admin = admin_token.as_str();
    let other_agency = app.agency_id("000.01.20.H56").await;
    let own_agency = app.agency_id("000.00.20.H56").await;
    // (who, query, corrections counted)
    let cases = [
        (officer, "procedure=2.001584".to_owned(), 1),
        (officer, "procedure=1.004610".to_owned(), 0),
        (officer, "channel=online".to_owned(), 1),
        (officer, "channel=counter".to_owned(), 0),
        (admin, format!("agency_id={own_agency}"), 1),
        (admin, format!("agency_id={other_agency}"), 0),
        (admin, "channel=online&procedure=2.001584".to_owned(), 1),
        (admin, "from=2026-01-01&to=2026-01-31".to_owned(), 0),
    ];
    for (token, query, want) in cases {
        let counts = app
            .get_json(token, &format!("/api/v1/kpi/results?{query}"))
            .await;
        assert_eq!(counts["corrections"], want, "{query}: {counts}");
    }
    problem(
        app.get("/api/v1/kpi/results?procedure=9.999999")
            .header("authorization", bearer(officer))
            .send()
            .await
            .unwrap(),
        400,
        "invalid_query",
    )
    .await;
}

/// Sends every request at once; returns the statuses, sorted.
async fn statuses(requests: Vec<motcua_tests::client::RequestBuilder>) -> Vec<u16> {
    let mut all: Vec<u16> = futures_util::future::join_all(requests.into_iter().map(|r| r.send()))
        .await
        .into_iter()
        .map(|r| r.unwrap().status().as_u16())
        .collect();
    all.sort_unstable();
    all
}

/// Revocations racing each other, and a revocation racing a correction:
/// one wins, the others get 409; a revoked result is never corrected.
async fn concurrent_revocations_and_corrections_let_one_win(app: TestApp) {
    let citizen = app.token_of(DEMO_CITIZEN_ID).await;
    let officer = bearer(&app.token(Role::Officer).await);
    let leader = bearer(&app.token(Role::Leader).await);
    let code = issued(&app, &citizen).await;
    let revoke_path = format!("/api/v1/dossiers/{code}/results/1/revoke");
    let requests = (0..5)
        .map(|i| {
            app.post(&revoke_path)
                .header("authorization", &leader)
                .json(&json!({"reason": format!("Thu hồi {i}")}))
        })
        .collect();
    assert_eq!(statuses(requests).await, [200, 409, 409, 409, 409]);

    for _ in 0..3 {
        let code = issued(&app, &citizen).await;
        let requests = vec![
            app.post(&format!("/api/v1/dossiers/{code}/results/1/revoke"))
                .header("authorization", &leader)
                .json(&json!({"reason": "Thu hồi"})),
            app.post(&format!("/api/v1/dossiers/{code}/corrections"))
                .header("authorization", &officer)
                .json(&json!({"reason": "Sai tên", "paper": true})),
        ];
        let got = statuses(requests).await;
        assert!(got == [200, 409] || got == [201, 409], "{got:?}");
        let versions = app
            .get_json(&citizen, &format!("/api/v1/dossiers/{code}/results"))
            .await;
        let standings: Vec<&str> = versions
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["verification"]["standing"].as_str().unwrap())
            .collect();
        // Revoked and left alone, or corrected (and the superseded one not revoked).
        assert!(
            standings == ["revoked"] || standings == ["superseded", "valid"],
            "{standings:?}"
        );
    }
}
