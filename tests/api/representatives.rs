//! Representatives (ủy quyền): dossiers filed on behalf of the applicant, at
//! the counter and online, with the authorisation document; whom tracking
//! and notifications reach; who sees the dossier, and for how long.

use std::time::{Duration, Instant};

use motcua::seed::DEMO_CITIZEN_ID;
use motcua_app::notifications::NotificationRound;
use motcua_domain::Role;
use motcua_persistence::Backend;
use motcua_tests::{TestApp, bearer, on_both_backends, problem};
use serde_json::{Value, json};

use crate::identity::register;

on_both_backends!(a_citizen_files_online_for_someone_else);

mod filed_at_the_counter_by_a_representative {
    #[actix_web::test]
    async fn sqlite() {
        super::filed_at_the_counter_by_a_representative(motcua_persistence::Backend::Sqlite).await;
    }
    #[actix_web::test]
    async fn postgres() {
        super::filed_at_the_counter_by_a_representative(motcua_persistence::Backend::Postgres)
            .await;
    }
}

/// The applicant a representative files for.
const APPLICANT_ID: &str = "079203001234";
const APPLICANT_NAME: &str = "Trần Thị Bích";
const APPLICANT_PHONE: &str = "0911111111";
const APPLICANT_EMAIL: &str = "bich@example.vn";
/// A representative who is nobody's account.
const REP_ID: &str = "038190005678";
const REP_NAME: &str = "Lê Văn Đại Diện";
const REP_PHONE: &str = "0922222222";
const REP_EMAIL: &str = "dai.dien@example.vn";

fn counter_body(representative: Value) -> Value {
    json!({
        "procedure_code": "2.001584",
        "applicant": {"id_number": APPLICANT_ID, "full_name": APPLICANT_NAME,
                      "phone": APPLICANT_PHONE, "email": APPLICANT_EMAIL},
        "documents": [{"requirement": "D1", "paper": true}, {"requirement": "D2", "paper": true}],
        "representative": representative,
    })
}

fn person(extra: Value) -> Value {
    let mut rep = json!({"kind": "person", "id_number": REP_ID, "full_name": REP_NAME,
                         "phone": REP_PHONE, "email": REP_EMAIL});
    if let (Some(map), Some(more)) = (rep.as_object_mut(), extra.as_object()) {
        for (k, v) in more {
            map.insert(k.clone(), v.clone());
        }
    }
    rep
}

/// The field and code of each error of a 422.
async fn field_errors(res: reqwest::Response) -> Vec<(String, String)> {
    let body = problem(res, 422, "validation_failed").await;
    body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_owned(),
                e["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn one(field: &str, code: &str) -> Vec<(String, String)> {
    vec![(field.to_owned(), code.to_owned())]
}

/// Filed at the counter by a person for the applicant, the authorisation on
/// paper; the wrong filings answer 422 with the field; the trail names both;
/// notifications reach the chosen contact.
async fn filed_at_the_counter_by_a_representative(backend: Backend) {
    let sink = std::env::temp_dir()
        .join(format!(
            "motcua-sink-{}.jsonl",
            uuid::Uuid::new_v4().simple()
        ))
        .display()
        .to_string();
    let Some(app) = TestApp::start_with(backend, |s| {
        // The test runs the notification rounds itself.
        s.notifications.interval_ms = 0;
        s.notifications.sink_path = Some(sink.clone());
    })
    .await
    else {
        eprintln!(
            "skipped on {}: MOTCUA_TEST_POSTGRES_URL not set",
            backend.as_str()
        );
        return;
    };
    let officer = app.token(Role::Officer).await;
    wrong_counter_filings(&app, &officer).await;
    // Filed by the representative, who is the contact by default.
    let filed = app
        .submit_ok(
            &officer,
            &counter_body(person(
                json!({"authorisation_paper": true, "valid_until": "2099-12-31"}),
            )),
        )
        .await;
    let rep = &filed.body["representative"];
    assert_eq!(rep["kind"], "person");
    assert_eq!(rep["full_name"], REP_NAME);
    assert_eq!(rep["id_number"], REP_ID);
    assert_eq!(rep["contact"], "representative");
    assert_eq!(rep["filed_online"], false);
    assert_eq!(rep["valid_until"], "2099-12-31");
    assert!(rep["authorisation_document_id"].is_null());
    assert_eq!(filed.body["applicant"]["id_number"], APPLICANT_ID);
    let documents = filed.body["documents"].as_array().unwrap();
    assert_eq!(documents.len(), 3, "D1, D2 and the authorisation");
    assert!(documents[2]["requirement"].is_null() && documents[2]["paper"] == true);
    let code = filed.code().to_owned();
    // Detail agrees with the answer to the filing.
    let shown = app.dossier(&officer, &code).await;
    assert_eq!(shown.body["representative"], filed.body["representative"]);
    // The trail: filed by representative X for applicant Y.
    let history = app
        .get_json(&officer, &format!("/api/v1/dossiers/{code}/history"))
        .await;
    let by = &history["items"][0]["data"]["representative"];
    assert_eq!(by["full_name"], REP_NAME);
    assert_eq!(by["for"], APPLICANT_NAME);
    assert_eq!(
        by["line"],
        format!("Nộp bởi người đại diện {REP_NAME} cho {APPLICANT_NAME}")
    );

    // The same applicant, the applicant chosen as contact.
    let mut body = counter_body(person(json!({"authorisation_paper": true})));
    body["contact"] = json!("applicant");
    let second = app.submit_ok(&officer, &body).await;
    assert_eq!(second.body["representative"]["contact"], "applicant");
    let second = second.code().to_owned();
    app.act_ok(&officer, &second, &json!({"action": "receive"}))
        .await;
    // The authorisation handed in on paper is a named line of the receipt.
    let receipt = app
        .get_json(&officer, &format!("/api/v1/dossiers/{second}/receipt"))
        .await;
    let lines = receipt["documents"].as_array().unwrap();
    let authorisation = lines.iter().find(|l| l["requirement"] == "").unwrap();
    assert_eq!(authorisation["name"], "Văn bản ủy quyền");
    assert_eq!(authorisation["form"], "paper");

    // An organisation represents, by tax code.
    let org = json!({"kind": "organisation", "tax_code": "0100233488",
                     "full_name": "Công ty Luật Minh Khuê", "authorisation_paper": true});
    let third = app.submit_ok(&officer, &counter_body(org)).await;
    assert_eq!(third.body["representative"]["tax_code"], "0100233488");
    assert!(third.body["representative"]["id_number"].is_null());

    tracking_ends_with_the_dossier(&app, &officer, &code).await;
    notifications_reach_the_contact(&app, &sink, &code, &second).await;
}

/// Filings with a wrong representative answer 422 with the field.
async fn wrong_counter_filings(app: &TestApp, officer: &str) {
    let cases = [
        (
            person(json!({})),
            one(
                "representative.authorisation_document_id",
                "authorisation_required",
            ),
        ),
        (
            person(json!({"id_number": APPLICANT_ID, "authorisation_paper": true})),
            one("representative.id_number", "representative_is_applicant"),
        ),
        (
            person(json!({"authorisation_paper": true, "valid_until": "2020-01-01"})),
            one("representative.valid_until", "authorisation_expired"),
        ),
        (
            person(json!({"authorisation_document_id": "khong-co", "authorisation_paper": false})),
            one(
                "representative.authorisation_document_id",
                "document_not_usable",
            ),
        ),
        (
            json!({"id_number": REP_ID, "full_name": REP_NAME, "authorisation_paper": true}),
            one("representative.kind", "required"),
        ),
    ];
    for (rep, want) in cases {
        let res = app.submit(officer, &counter_body(rep.clone())).await;
        assert_eq!(field_errors(res).await, want, "{rep}");
    }
    let mut no_rep = counter_body(Value::Null);
    no_rep["contact"] = json!("representative");
    let res = app.submit(officer, &no_rep).await;
    assert_eq!(
        field_errors(res).await,
        one("contact", "contact_without_representative")
    );
}

/// Public tracking: the applicant's ID number; the representative's while
/// the dossier is open.
async fn tracking_ends_with_the_dossier(app: &TestApp, officer: &str, code: &str) {
    for id in [APPLICANT_ID, REP_ID] {
        let res = app
            .get(&format!("/api/v1/tracking/{code}?id_number={id}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "tracking with {id}");
    }
    app.act_ok(
        officer,
        code,
        &json!({"action": "refuse", "note": "Không thuộc thẩm quyền"}),
    )
    .await;
    let res = app
        .get(&format!("/api/v1/tracking/{code}?id_number={REP_ID}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        404,
        "the representative's tracking ends with the dossier"
    );
    let res = app
        .get(&format!("/api/v1/tracking/{code}?id_number={APPLICANT_ID}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let ended = app.dossier(officer, code).await;
    assert!(ended.body["representative"]["ended_at"].is_string());
}

/// Runs the notification rounds until both dossiers' messages are out; each
/// went to its contact's phone and e-mail only.
async fn notifications_reach_the_contact(
    app: &TestApp,
    sink: &str,
    to_rep: &str,
    to_applicant: &str,
) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let worker = app.app.clone();
        let round: NotificationRound =
            actix_web::rt::task::spawn_blocking(move || worker.notification_round())
                .await
                .unwrap();
        let lines = sink_lines(sink);
        let mentions = |code: &str| {
            lines
                .iter()
                .filter(|l| l["body"].as_str().unwrap_or_default().contains(code))
                .count()
        };
        if round.is_idle() && mentions(to_rep) > 0 && mentions(to_applicant) > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "no messages: {lines:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let lines = sink_lines(sink);
    for line in &lines {
        let body = line["body"].as_str().unwrap_or_default();
        let to = line["to"].as_str().unwrap_or_default();
        if body.contains(to_rep) {
            assert!([REP_PHONE, REP_EMAIL].contains(&to), "{line}");
        } else if body.contains(to_applicant) {
            assert!([APPLICANT_PHONE, APPLICANT_EMAIL].contains(&to), "{line}");
        }
    }
    let to = |code: &str| -> Vec<String> {
        let mut to: Vec<String> = lines
            .iter()
            .filter(|l| l["body"].as_str().unwrap_or_default().contains(code))
            .map(|l| l["to"].as_str().unwrap_or_default().to_owned())
            .collect();
        to.sort();
        to.dedup();
        to
    };
    assert_eq!(to(to_rep), vec![REP_PHONE.to_owned(), REP_EMAIL.to_owned()]);
    assert_eq!(
        to(to_applicant),
        vec![APPLICANT_PHONE.to_owned(), APPLICANT_EMAIL.to_owned()]
    );
}

fn sink_lines(path: &str) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

async fn total(app: &TestApp, token: &str) -> i64 {
    app.get_json(token, "/api/v1/dossiers").await["total"]
        .as_i64()
        .unwrap()
}

async fn detail_status(app: &TestApp, token: &str, code: &str) -> u16 {
    app.get(&format!("/api/v1/dossiers/{code}"))
        .header("authorization", bearer(token))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The demo citizen files online for Bích as her representative: it sees the
/// dossier while it is open; Bích sees it once her account is verified (not
/// before); once finished, the representative no longer does. List and
/// detail agree at every step.
async fn a_citizen_files_online_for_someone_else(app: TestApp) {
    let citizen = app.token_of(DEMO_CITIZEN_ID).await;
    let d1 = app.upload(&citizen, "don-de-nghi.pdf").await;
    let d2 = app.upload(&citizen, "giay-phep-cu.pdf").await;
    let authorisation = app.upload(&citizen, "giay-uy-quyen.pdf").await;
    let body = |rep: Value| {
        json!({
            "procedure_code": "2.001584",
            "applicant": {"id_number": APPLICANT_ID, "full_name": APPLICANT_NAME},
            "documents": [{"requirement": "D1", "document_id": d1},
                          {"requirement": "D2", "document_id": d2}],
            "representative": rep,
        })
    };
    let me = |extra: Value| {
        let mut rep = json!({"kind": "person", "id_number": DEMO_CITIZEN_ID,
                             "full_name": "Nguyễn Văn Dân", "phone": REP_PHONE,
                             "authorisation_document_id": authorisation});
        if let (Some(map), Some(more)) = (rep.as_object_mut(), extra.as_object()) {
            for (k, v) in more {
                map.insert(k.clone(), v.clone());
            }
        }
        rep
    };
    wrong_online_filings(&app, &citizen, &body, &me).await;

    let filed = app.submit_ok(&citizen, &body(me(json!({})))).await;
    let code = filed.code().to_owned();
    assert_eq!(filed.body["representative"]["filed_online"], true);
    assert_eq!(
        filed.body["representative"]["authorisation_document_id"],
        authorisation.as_str()
    );
    assert_eq!(filed.body["applicant"]["id_number"], APPLICANT_ID);
    assert_eq!(filed.body["allowed_actions"], json!(["withdraw"]));
    // The representative sees it while it is open.
    assert_eq!(total(&app, &citizen).await, 1);
    assert_eq!(detail_status(&app, &citizen, &code).await, 200);

    // Bích registers: unverified, she sees nothing.
    let (bich, bich_id) = register(&app, APPLICANT_ID, APPLICANT_NAME, APPLICANT_PHONE).await;
    assert_eq!(total(&app, &bich).await, 0);
    assert_eq!(detail_status(&app, &bich, &code).await, 404);
    // Verified at the counter, she sees it, though her representative filed it.
    let officer = app.token(Role::Officer).await;
    let res = app
        .post(&format!("/api/v1/users/{bich_id}/verify-identity"))
        .header("authorization", bearer(&officer))
        .json(&json!({"note": "Đối chiếu CCCD gắn chip"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(total(&app, &bich).await, 1);
    let seen = app.dossier(&bich, &code).await;
    assert_eq!(seen.body["representative"]["full_name"], "Nguyễn Văn Dân");
    let listed = app.get_json(&bich, "/api/v1/dossiers").await;
    assert_eq!(listed["items"][0]["code"], code.as_str());

    // Finished: the representative's reach ends (404 like any unseen dossier).
    app.act_ok(
        &officer,
        &code,
        &json!({"action": "refuse", "note": "Không thuộc thẩm quyền"}),
    )
    .await;
    assert_eq!(total(&app, &citizen).await, 0);
    assert_eq!(detail_status(&app, &citizen, &code).await, 404);
    let res = app
        .get(&format!("/api/v1/dossiers/{code}/history"))
        .header("authorization", bearer(&citizen))
        .send()
        .await
        .unwrap();
    problem(res, 404, "not_found").await;
    // The applicant keeps it.
    assert_eq!(total(&app, &bich).await, 1);
    assert_eq!(detail_status(&app, &bich, &code).await, 200);

    // What the citizen files for itself stays its own, finished or not.
    let own = crate::dossiers::submit_reissue(&app, &citizen).await;
    let own = own.code().to_owned();
    app.act_ok(
        &officer,
        &own,
        &json!({"action": "refuse", "note": "Không thuộc thẩm quyền"}),
    )
    .await;
    assert_eq!(total(&app, &citizen).await, 1);
    assert_eq!(detail_status(&app, &citizen, &own).await, 200);
    assert_eq!(total(&app, &bich).await, 1);
}

/// A citizen naming the applicant alone, a representative other than
/// itself, no authorisation, or paper online: 422 with the field.
async fn wrong_online_filings(
    app: &TestApp,
    citizen: &str,
    body: &dyn Fn(Value) -> Value,
    me: &dyn Fn(Value) -> Value,
) {
    // Naming the applicant alone; or a representative other than itself.
    let mut alone = body(Value::Null);
    alone.as_object_mut().unwrap().remove("representative");
    let res = app.submit(citizen, &alone).await;
    assert_eq!(
        field_errors(res).await,
        one("applicant", "applicant_is_you")
    );
    let res = app
        .submit(citizen, &body(me(json!({"id_number": REP_ID}))))
        .await;
    assert_eq!(
        field_errors(res).await,
        one("representative.id_number", "representative_is_you")
    );
    let res = app
        .submit(
            citizen,
            &body(me(json!({"authorisation_document_id": null}))),
        )
        .await;
    assert_eq!(
        field_errors(res).await,
        one(
            "representative.authorisation_document_id",
            "authorisation_required"
        )
    );
    let res = app
        .submit(
            citizen,
            &body(me(
                json!({"authorisation_document_id": null, "authorisation_paper": true}),
            )),
        )
        .await;
    assert_eq!(
        field_errors(res).await,
        one("representative.authorisation_paper", "paper_not_online")
    );
}
