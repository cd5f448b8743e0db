//! Table tests of [`super`]: filing rules.

use super::*;
use crate::validation::FieldError;

/// (role, channel asked, online level, channel taken, problems)
type ChannelCase = (
    Role,
    Option<Channel>,
    OnlineLevel,
    Channel,
    &'static [&'static str],
);
/// (applicant, identity known, (field, code) problems)
type ApplicantCase = (ApplicantInput, bool, Vec<(&'static str, &'static str)>);

fn codes(errors: FieldErrors) -> Vec<(String, String)> {
    errors
        .into_vec()
        .into_iter()
        .map(|FieldError { field, problem }| (field, problem.code().to_owned()))
        .collect()
}

#[test]
fn who_files_through_which_channel() {
    use Channel::{Counter as C, Online as O, Postal as P};
    use OnlineLevel as L;
    // (role, requested, online level, channel taken, problems)
    let cases: [ChannelCase; 10] = [
        (Role::Citizen, None, L::Full, O, &[]),
        (Role::Citizen, Some(C), L::Full, C, &["not_allowed"]),
        (Role::Citizen, None, L::None, O, &["online_not_offered"]),
        (Role::Integration, None, L::Partial, O, &[]),
        (Role::Integration, Some(P), L::Full, P, &["not_allowed"]),
        (Role::Officer, None, L::None, C, &[]),
        (Role::Officer, Some(P), L::None, P, &[]),
        (Role::Officer, Some(O), L::None, O, &["online_not_offered"]),
        (Role::Admin, None, L::Full, C, &[]),
        (Role::Leader, Some(C), L::Full, C, &["not_allowed"]),
    ];
    for (role, requested, level, want, problems) in cases {
        let mut errors = FieldErrors::new();
        let got = check_channel(role, requested, level, &mut errors);
        let got_problems: Vec<String> = codes(errors).into_iter().map(|(_, c)| c).collect();
        assert_eq!(
            (got, got_problems),
            (want, problems.iter().map(|s| (*s).to_owned()).collect()),
            "{role} {requested:?} {level:?}"
        );
    }
    let filers: Vec<Role> = Role::ALL
        .iter()
        .copied()
        .filter(|r| may_submit(*r))
        .collect();
    assert_eq!(
        filers,
        [Role::Citizen, Role::Officer, Role::Admin, Role::Integration]
    );
}

#[test]
fn receiving_agency() {
    let cases = [
        (Some(1), None, Ok(AgencyChoice::Own(1))),
        (Some(1), Some(1), Ok(AgencyChoice::Own(1))),
        (Some(1), Some(2), Err("agency_mismatch")),
        (None, Some(2), Ok(AgencyChoice::Chosen(2))),
        (None, None, Err("required")),
    ];
    for (own, requested, want) in cases {
        let got = choose_agency(own, requested).map_err(|(field, p)| {
            assert_eq!(field, "agency_id");
            p.code().to_owned()
        });
        assert_eq!(got, want.map_err(str::to_owned), "{own:?} {requested:?}");
    }
}

/// Officers file at their own agency; at a receiving point, for any agency (Decree 118/2025).
#[test]
fn where_a_filing_is_taken_in() {
    use Intake::{AtAgency, AtReceivingPoint, Refused};
    let table = [
        // (role, own agency, own is a receiving point, procedure's agency, intake)
        (Role::Officer, Some(3), false, 3, AtAgency),
        (Role::Officer, Some(3), true, 3, AtAgency),
        (Role::Officer, Some(3), false, 4, Refused),
        (Role::Officer, Some(3), true, 4, AtReceivingPoint(3)),
        (Role::Officer, None, true, 4, Refused),
        (Role::Admin, None, false, 4, AtAgency),
        (Role::Integration, None, false, 4, AtAgency),
        (Role::Citizen, None, false, 4, AtAgency),
    ];
    for (role, own, point, agency, expected) in table {
        assert_eq!(
            intake(role, own, point, agency),
            expected,
            "{role:?} {own:?} {point} {agency}"
        );
    }
}

fn firm() -> ApplicantInput {
    ApplicantInput {
        tax_code: Some("0100233488".to_owned()),
        full_name: "Công ty An Phát".to_owned(),
        ..ApplicantInput::default()
    }
}

#[test]
fn applicant_checks() {
    let person = |id: &str| ApplicantInput {
        id_number: Some(id.to_owned()),
        full_name: "Trần Thị Bích".to_owned(),
        ..ApplicantInput::default()
    };
    let firm = firm();
    let cases: Vec<ApplicantCase> = vec![
        (person("038190001234"), true, vec![]),
        (
            person("12"),
            false,
            vec![("applicant.id_number", "invalid_citizen_id")],
        ),
        (firm.clone(), true, vec![]),
        (
            ApplicantInput {
                tax_code: Some("12".to_owned()),
                ..ApplicantInput::default()
            },
            false,
            vec![("applicant.tax_code", "invalid_tax_code")],
        ),
        (
            ApplicantInput {
                tax_code: firm.tax_code.clone(),
                ..person("038190001234")
            },
            false,
            vec![("applicant.tax_code", "person_or_organization")],
        ),
        (
            ApplicantInput {
                id_number: Some("  ".to_owned()),
                ..ApplicantInput::default()
            },
            false,
            vec![("applicant.id_number", "required")],
        ),
        (
            ApplicantInput {
                date_of_birth: NaiveDate::from_ymd_opt(1990, 1, 1),
                ..firm.clone()
            },
            true,
            vec![("applicant.date_of_birth", "not_for_organizations")],
        ),
        (
            ApplicantInput {
                phone: Some("12ab".to_owned()),
                email: Some("not-an-email".to_owned()),
                ..person("038190001234")
            },
            true,
            vec![
                ("applicant.phone", "invalid_format"),
                ("applicant.email", "invalid_format"),
            ],
        ),
        (
            ApplicantInput {
                phone: Some("0912 345 678".to_owned()),
                email: Some(" an@example.vn ".to_owned()),
                ..person("038190001234")
            },
            true,
            vec![],
        ),
    ];
    for (input, known, want) in cases {
        let mut errors = FieldErrors::new();
        let identity = check_applicant(&input, &mut errors);
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(f, c)| ((*f).to_owned(), (*c).to_owned()))
            .collect();
        assert_eq!(
            (identity.is_some(), codes(errors)),
            (known, want),
            "{input:?}"
        );
    }
}

#[test]
fn a_new_applicant_has_a_name_and_is_not_you() {
    let mut errors = FieldErrors::new();
    check_new_applicant(
        &ApplicantInput {
            full_name: " ".to_owned(),
            ..firm()
        },
        &mut errors,
    );
    check_citizen_names_no_applicant(true, &mut errors);
    check_citizen_names_no_applicant(false, &mut errors);
    assert_eq!(
        codes(errors),
        [
            ("applicant.full_name".to_owned(), "required".to_owned()),
            ("applicant".to_owned(), "applicant_is_you".to_owned())
        ]
    );
}

#[test]
fn who_may_use_which_document() {
    use DocumentUse::{Fresh, Stored, Unusable};
    const ME: i64 = 1;
    const HER: i64 = 50;
    let stored = |uploaded_by| DocumentHolding {
        kind: DocumentKind::Input,
        uploaded_by,
        applicant_id: Some(HER),
        in_store: true,
        in_a_dossier: true,
    };
    let fresh = DocumentHolding {
        kind: DocumentKind::Input,
        uploaded_by: ME,
        applicant_id: None,
        in_store: false,
        in_a_dossier: false,
    };
    let user = |role, verified| DocumentUser {
        user_id: ME,
        role,
        verified,
        applicant_id: HER,
    };
    let cases = [
        (None, user(Role::Officer, false), Unusable),
        (Some(fresh), user(Role::Citizen, false), Fresh),
        (
            Some(DocumentHolding {
                in_a_dossier: true,
                ..fresh
            }),
            user(Role::Citizen, false),
            Unusable,
        ),
        (
            Some(DocumentHolding {
                uploaded_by: 9,
                ..fresh
            }),
            user(Role::Officer, false),
            Unusable,
        ),
        (
            Some(DocumentHolding {
                kind: DocumentKind::Result,
                ..fresh
            }),
            user(Role::Citizen, false),
            Unusable,
        ),
        (Some(stored(9)), user(Role::Officer, false), Stored),
        (Some(stored(9)), user(Role::Citizen, true), Stored),
        (Some(stored(9)), user(Role::Citizen, false), Unusable),
        (Some(stored(ME)), user(Role::Citizen, false), Stored),
        (
            Some(DocumentHolding {
                applicant_id: Some(7),
                ..stored(9)
            }),
            user(Role::Officer, false),
            Unusable,
        ),
    ];
    for (doc, user, want) in cases {
        assert_eq!(document_use(doc, user), want, "{doc:?} {user:?}");
    }
}

#[test]
fn document_lines_meet_requirements() {
    let req = |code: &str, reusable, optional| RequiredDocument {
        code: code.to_owned(),
        name: code.to_owned(),
        originals: 1,
        copies: 0,
        template: None,
        reusable,
        optional,
    };
    let required = [
        req("D1", false, false),
        req("D2", true, false),
        req("D3", false, true),
    ];
    let input = |r: &str, id: Option<&str>, paper| DocumentInput {
        requirement: Some(r.to_owned()),
        document_id: id.map(str::to_owned),
        paper,
    };
    let use_of = |id: &str| match id {
        "fresh" => DocumentUse::Fresh,
        "stored" => DocumentUse::Stored,
        _ => DocumentUse::Unusable,
    };
    let run = |inputs: &[DocumentInput], channel| {
        let mut errors = FieldErrors::new();
        let lines = document_lines(&required, inputs, channel, use_of, &mut errors);
        (lines.len(), codes(errors))
    };
    let e = |f: &str, c: &str| (f.to_owned(), c.to_owned());
    let ok = [
        input("D1", Some("fresh"), false),
        input(" D2 ", Some("stored"), false),
    ];
    assert_eq!(run(&ok, Channel::Online), (2, vec![]));
    let paper = [input("D1", None, true), input("D2", None, true)];
    assert_eq!(run(&paper, Channel::Counter), (2, vec![]));
    assert_eq!(
        run(&paper, Channel::Online),
        (
            0,
            vec![
                e("documents[0].paper", "paper_not_online"),
                e("documents[1].paper", "paper_not_online")
            ]
        )
    );
    let wrong = [
        input("D1", Some("stored"), false),
        input("D2", Some("gone"), false),
        input("D9", Some("fresh"), false),
        input("D3", Some("fresh"), true),
        input("D3", None, false),
    ];
    assert_eq!(
        run(&wrong, Channel::Counter),
        (
            0,
            vec![
                e("documents[0].document_id", "not_reusable"),
                e("documents[1].document_id", "document_not_usable"),
                e("documents[2].requirement", "unknown_requirement"),
                e("documents[3].paper", "paper_or_file"),
                e("documents[4].document_id", "required"),
            ]
        )
    );
    assert_eq!(
        run(&[input("D3", Some("fresh"), false)], Channel::Online),
        (
            1,
            vec![
                e("documents.D1", "missing_document"),
                e("documents.D2", "missing_document")
            ]
        )
    );
}
