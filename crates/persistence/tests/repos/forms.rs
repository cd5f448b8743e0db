//! E-forms in storage: versions of a procedure's form, the form data a
//! dossier is filed with, and form-data reuse counted in the KPI aggregates
//! the same way whether kept step by step or rebuilt.

use motcua_app::dossiers::{self as workflow, ApplicantInput, DocumentInput, Submission};
use motcua_domain::dossier::Action;
use motcua_domain::forms::FormDefinition;
use motcua_domain::procedure::SupplementClock;
use motcua_persistence::repo::{forms, kpi, procedures};
use motcua_persistence::{AnyConnection, Pool};
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::workflow::{World, act, action, local, world};

on_both_backends!(form_versions_and_reused_form_data_in_the_kpis);

fn definition(title: &str) -> FormDefinition {
    serde_json::from_value(json!({
        "title": title,
        "schema": {"type": "object", "required": ["venue"], "properties": {"venue": {"type": "string"}}},
        "sections": [{"title": "Địa điểm", "fields": [{"pointer": "/venue", "label": "Địa điểm", "prefill": "dossier"}]}]
    }))
    .unwrap()
}

fn file(conn: &mut AnyConnection, w: &World, data: Value, hour: u32) -> String {
    let submission = Submission {
        procedure_code: "1.000001".into(),
        applicant: Some(ApplicantInput {
            id_number: Some("079203001234".into()),
            full_name: "Nguyễn Văn An".into(),
            ..Default::default()
        }),
        documents: vec![DocumentInput {
            requirement: Some("D1".into()),
            document_id: None,
            paper: true,
        }],
        form_data: Some(data),
        ..Default::default()
    };
    let at = local(2026, 11, 24, hour, 0);
    let filed = workflow::submit(conn, w.officer, submission, at).unwrap();
    let code = filed.dossier.code;
    act(conn, w.officer, &code, action(Action::Receive), at);
    code
}

fn form_versions_and_reused_form_data_in_the_kpis(pool: &Pool) {
    let mut conn = pool.get().unwrap();
    let w = world(&mut conn, SupplementClock::Pause);
    let procedure = procedures::get(&mut conn, "1.000001").unwrap();
    assert_eq!(forms::current(&mut conn, procedure.id).unwrap(), None);
    let at = local(2026, 11, 23, 8, 0);
    let v1 =
        forms::add_version(&mut conn, procedure.id, &definition("Tờ khai 1"), None, at).unwrap();
    assert_eq!(v1.version, 1);

    let first = file(&mut conn, &w, json!({"venue": "Nhà hát Lớn"}), 9);
    let v2 = forms::add_version(
        &mut conn,
        procedure.id,
        &definition("Tờ khai 2"),
        Some(w.admin.user_id),
        at,
    )
    .unwrap();
    assert_eq!(v2.version, 2);
    assert_eq!(
        forms::current(&mut conn, procedure.id)
            .unwrap()
            .unwrap()
            .definition
            .title,
        "Tờ khai 2"
    );
    assert_eq!(
        forms::at_version(&mut conn, procedure.id, 1)
            .unwrap()
            .unwrap()
            .definition
            .title,
        "Tờ khai 1"
    );
    let second = file(&mut conn, &w, json!({"venue": "Nhà hát Lớn"}), 10);

    let id_of = |conn: &mut AnyConnection, code: &str| {
        motcua_persistence::repo::dossiers::by_code(conn, code)
            .unwrap()
            .id
    };
    let (first_id, second_id) = (id_of(&mut conn, &first), id_of(&mut conn, &second));
    let a = forms::of_dossier(&mut conn, first_id).unwrap().unwrap();
    let b = forms::of_dossier(&mut conn, second_id).unwrap().unwrap();
    assert_eq!((a.form_version, a.reused), (1, false));
    assert_eq!((b.form_version, b.reused), (2, true));
    assert_eq!(
        forms::form_data_of(&mut conn, second_id).unwrap(),
        Some(json!({"venue": "Nhà hát Lớn"}))
    );
    let applicant = b_applicant(&mut conn, second_id);
    let (latest, _) = forms::latest_of_applicant(&mut conn, applicant, procedure.id)
        .unwrap()
        .unwrap();
    assert_eq!(latest, second);

    // The kept counters count one reusing dossier, and a rebuild agrees.
    let kept = kpi::snapshot(&mut conn).unwrap();
    // (Each dossier sits in several rows: compare with the received count.)
    let day = kept.iter().filter(|r| r.grain == "d");
    let (received, reused): (i64, i64) = day
        .map(|r| (r.counters().received, r.counters().reused))
        .fold((0, 0), |(a, b), (c, d)| (a + c, b + d));
    assert!(received > 0);
    assert_eq!(
        2 * reused,
        received,
        "one of the two received dossiers reused"
    );
    kpi::rebuild(&mut conn).unwrap();
    assert_eq!(kpi::snapshot(&mut conn).unwrap(), kept);
}

fn b_applicant(conn: &mut AnyConnection, dossier_id: i64) -> i64 {
    motcua_persistence::repo::dossiers::by_id(conn, dossier_id)
        .unwrap()
        .applicant
        .id
}
