//! Table tests of [`super`]: representatives.

use chrono::NaiveDate;

use super::*;
use crate::identity::{CitizenId, TaxCode};
use crate::validation::FieldError;

const APPLICANT_ID: &str = "079203001234";
const REP_ID: &str = "001099012345";
const ORG: &str = "0100233488";

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, d).unwrap_or_default()
}

/// (input, applicant, (field, code) problems)
type RepresentativeCase<'a> = (
    RepresentativeInput,
    Option<&'a ApplicantIdentity>,
    Vec<(&'static str, &'static str)>,
);
/// (document id, paper, channel, use, (field, code) problems, paper taken)
type AuthorisationCase = (
    Option<&'static str>,
    bool,
    Channel,
    DocumentUse,
    &'static [(&'static str, &'static str)],
    Option<bool>,
);

fn codes(errors: FieldErrors) -> Vec<(String, String)> {
    errors
        .into_vec()
        .into_iter()
        .map(|FieldError { field, problem }| (field, problem.code().to_owned()))
        .collect()
}

fn person(id: &str) -> RepresentativeInput {
    RepresentativeInput {
        kind: Some(RepresentativeKind::Person),
        full_name: "Lê Văn Đại Diện".to_owned(),
        id_number: Some(id.to_owned()),
        authorisation_document_id: Some("doc".to_owned()),
        ..RepresentativeInput::default()
    }
}

fn organisation(code: &str) -> RepresentativeInput {
    RepresentativeInput {
        kind: Some(RepresentativeKind::Organisation),
        full_name: "Công ty Luật Minh Khuê".to_owned(),
        tax_code: Some(code.to_owned()),
        ..RepresentativeInput::default()
    }
}

#[test]
fn representatives_are_checked() {
    let applicant = CitizenId::parse(APPLICANT_ID)
        .map(ApplicantIdentity::Person)
        .ok();
    let org_applicant = TaxCode::parse(ORG)
        .map(ApplicantIdentity::Organization)
        .ok();
    let with = |mut input: RepresentativeInput, f: fn(&mut RepresentativeInput)| {
        f(&mut input);
        input
    };
    // (input, applicant, problems)
    let cases: Vec<RepresentativeCase<'_>> = vec![
        (person(REP_ID), applicant.as_ref(), vec![]),
        (organisation(ORG), applicant.as_ref(), vec![]),
        (
            person(APPLICANT_ID),
            applicant.as_ref(),
            vec![("representative.id_number", "representative_is_applicant")],
        ),
        (
            organisation(ORG),
            org_applicant.as_ref(),
            vec![("representative.tax_code", "representative_is_applicant")],
        ),
        (person(REP_ID), org_applicant.as_ref(), vec![]),
        (
            person("12345"),
            applicant.as_ref(),
            vec![("representative.id_number", "invalid_citizen_id")],
        ),
        (
            organisation("0100233489"),
            applicant.as_ref(),
            vec![("representative.tax_code", "invalid_tax_code")],
        ),
        (
            with(person(REP_ID), |i| i.kind = None),
            applicant.as_ref(),
            vec![("representative.kind", "required")],
        ),
        (
            with(person(REP_ID), |i| i.tax_code = Some(ORG.to_owned())),
            applicant.as_ref(),
            vec![("representative.tax_code", "person_or_organization")],
        ),
        (
            with(person(REP_ID), |i| i.id_number = None),
            applicant.as_ref(),
            vec![("representative.id_number", "required")],
        ),
        (
            with(organisation(ORG), |i| i.id_number = Some(REP_ID.to_owned())),
            applicant.as_ref(),
            vec![("representative.id_number", "person_or_organization")],
        ),
        (
            with(person(REP_ID), |i| i.full_name = "  ".to_owned()),
            applicant.as_ref(),
            vec![("representative.full_name", "required")],
        ),
        (
            with(person(REP_ID), |i| i.phone = Some("12".to_owned())),
            applicant.as_ref(),
            vec![("representative.phone", "invalid_format")],
        ),
        (
            with(person(REP_ID), |i| i.email = Some("not-mail".to_owned())),
            applicant.as_ref(),
            vec![("representative.email", "invalid_format")],
        ),
        // Valid through the filing day itself; expired the day before.
        (
            with(person(REP_ID), |i| i.valid_until = Some(day(8))),
            applicant.as_ref(),
            vec![],
        ),
        (
            with(person(REP_ID), |i| i.valid_until = Some(day(7))),
            applicant.as_ref(),
            vec![("representative.valid_until", "authorisation_expired")],
        ),
    ];
    for (i, (input, applicant, expected)) in cases.into_iter().enumerate() {
        let mut errors = FieldErrors::new();
        let checked = check_representative(&input, applicant, day(8), &mut errors);
        let got = codes(errors);
        let want: Vec<(String, String)> = expected
            .iter()
            .map(|(f, c)| ((*f).to_owned(), (*c).to_owned()))
            .collect();
        assert_eq!(got, want, "case {i}");
        assert_eq!(checked.is_some(), want.is_empty(), "case {i}");
    }
}

#[test]
fn representatives_are_normalised() {
    let mut input = person(REP_ID);
    input.phone = Some("+84 912 345 678".to_owned());
    input.email = Some(" Rep@Example.VN ".to_owned());
    input.address = Some("  ".to_owned());
    let mut errors = FieldErrors::new();
    let rep = check_representative(&input, None, day(8), &mut errors);
    assert!(errors.is_empty());
    let rep = rep.unwrap_or_else(|| panic!("checked"));
    assert_eq!(rep.phone.as_deref(), Some("0912345678"));
    assert_eq!(rep.email.as_deref(), Some("rep@example.vn"));
    assert_eq!(rep.address, None);
    assert_eq!(rep.id_number.as_deref(), Some(REP_ID));
}

#[test]
fn the_authorisation_document_is_required() {
    use Channel::{Counter as C, Online as O};
    use DocumentUse::{Fresh, Stored, Unusable};
    // (document id, paper, channel, use, problems, paper taken)
    let cases: [AuthorisationCase; 8] = [
        (Some("d"), false, O, Fresh, &[], Some(false)),
        (Some("d"), false, O, Stored, &[], Some(false)),
        (
            Some("d"),
            false,
            C,
            Unusable,
            &[(
                "representative.authorisation_document_id",
                "document_not_usable",
            )],
            None,
        ),
        (
            None,
            false,
            O,
            Fresh,
            &[(
                "representative.authorisation_document_id",
                "authorisation_required",
            )],
            None,
        ),
        (
            Some("  "),
            false,
            C,
            Fresh,
            &[(
                "representative.authorisation_document_id",
                "authorisation_required",
            )],
            None,
        ),
        (None, true, C, Fresh, &[], Some(true)),
        (
            None,
            true,
            O,
            Fresh,
            &[("representative.authorisation_paper", "paper_not_online")],
            None,
        ),
        (
            Some("d"),
            true,
            C,
            Fresh,
            &[("representative.authorisation_paper", "paper_or_file")],
            None,
        ),
    ];
    for (i, (id, paper, channel, usable, expected, taken)) in cases.into_iter().enumerate() {
        let input = RepresentativeInput {
            authorisation_document_id: id.map(str::to_owned),
            authorisation_paper: paper,
            ..person(REP_ID)
        };
        let mut errors = FieldErrors::new();
        let got = check_authorisation(&input, channel, |_| usable, &mut errors);
        let want: Vec<(String, String)> = expected
            .iter()
            .map(|(f, c)| ((*f).to_owned(), (*c).to_owned()))
            .collect();
        assert_eq!(codes(errors), want, "case {i}");
        assert_eq!(got.map(|a| a.paper), taken, "case {i}");
    }
}

#[test]
fn the_contact_defaults_to_the_representative() {
    use Contact::{Applicant as A, Representative as R};
    // (asked, has a representative, contact, problems)
    let cases: [(Option<Contact>, bool, Contact, usize); 6] = [
        (None, true, R, 0),
        (None, false, A, 0),
        (Some(A), true, A, 0),
        (Some(R), true, R, 0),
        (Some(A), false, A, 0),
        (Some(R), false, A, 1),
    ];
    for (i, (asked, has, want, problems)) in cases.into_iter().enumerate() {
        let mut errors = FieldErrors::new();
        assert_eq!(contact(asked, has, &mut errors), want, "case {i}");
        assert_eq!(errors.len(), problems, "case {i}");
    }
}

#[test]
fn notifications_reach_the_chosen_contact() {
    let applicant = Reachable {
        phone: Some("0911111111"),
        email: Some("a@example.vn"),
    };
    let rep = Reachable {
        phone: Some("0922222222"),
        email: None,
    };
    assert_eq!(
        contact_details(Contact::Representative, applicant, Some(rep)),
        rep
    );
    assert_eq!(
        contact_details(Contact::Applicant, applicant, Some(rep)),
        applicant
    );
    assert_eq!(
        contact_details(Contact::Representative, applicant, None),
        applicant
    );
}

#[test]
fn citizens_file_for_others_as_their_representative() {
    // (applicant named, representative named, problems)
    let cases = [
        (false, false, vec![]),
        (true, true, vec![]),
        (true, false, vec![("applicant", "applicant_is_you")]),
        (false, true, vec![("applicant", "representative_for")]),
    ];
    for (i, (applicant, rep, expected)) in cases.into_iter().enumerate() {
        let mut errors = FieldErrors::new();
        check_citizen_filing(applicant, rep, &mut errors);
        let want: Vec<(String, String)> = expected
            .iter()
            .map(|(f, c)| ((*f).to_owned(), (*c).to_owned()))
            .collect();
        assert_eq!(codes(errors), want, "case {i}");
    }
    let mut errors = FieldErrors::new();
    let rep = check_representative(&person(REP_ID), None, day(8), &mut errors)
        .unwrap_or_else(|| panic!("checked"));
    // (own ID number, is the representative)
    for (own, ok) in [
        (Some(REP_ID), true),
        (Some(APPLICANT_ID), false),
        (None, false),
    ] {
        let mut errors = FieldErrors::new();
        check_citizen_is_representative(own, &rep, &mut errors);
        assert_eq!(errors.is_empty(), ok, "{own:?}");
    }
}

#[test]
fn the_representatives_tracking_ends_with_the_dossier() {
    // (applicant's number, representative's number, finished, may track)
    let cases = [
        (true, false, false, true),
        (true, false, true, true),
        (false, true, false, true),
        (false, true, true, false),
        (false, false, false, false),
    ];
    for (applicant, rep, finished, want) in cases {
        assert_eq!(may_track(applicant, rep, finished), want);
    }
}

#[test]
fn the_trail_names_both() {
    assert_eq!(
        trail_line("Lê Văn Đại Diện", "Trần Thị Bích"),
        "Nộp bởi người đại diện Lê Văn Đại Diện cho Trần Thị Bích"
    );
}
