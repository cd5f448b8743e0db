use chrono::{NaiveDate, NaiveTime};

use super::*;
use crate::calendar::WorkingHours;
use crate::local_time;

fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    local_time::instant(
        NaiveDate::from_ymd_opt(y, m, d).unwrap(),
        NaiveTime::from_hms_opt(h, min, 0).unwrap(),
    )
}

#[test]
fn verify_codes_are_base32_of_160_bits() {
    // RFC 4648 test vector "foobar" → MZXW6YTBOI, padded out with zero bytes.
    let mut bytes = [0u8; VERIFY_CODE_BYTES];
    bytes[..6].copy_from_slice(b"foobar");
    let code = verify_code(&bytes);
    assert_eq!(code.len(), VERIFY_CODE_LEN);
    assert!(code.starts_with("mzxw6ytboi"), "{code}");
    assert!(is_verify_code(&code));
    assert_eq!(verify_code(&[0xff; VERIFY_CODE_BYTES]), "7".repeat(32));
    let cases = [
        ("", false),
        ("abc", false),
        (&*"a".repeat(32), true),
        (&*"A".repeat(32), false),
        (&*"1".repeat(32), false),
        (&*"a".repeat(33), false),
        ("../../../../etc/passwd/aaaaaaaaa", false),
    ];
    for (code, ok) in cases {
        assert_eq!(is_verify_code(code), ok, "{code}");
    }
}

#[test]
fn canonical_text_is_line_per_fact_in_fixed_order() {
    let facts = IssuedFacts {
        code: "a".repeat(32),
        dossier_code: "000.00.20.H56-261123-0001".into(),
        version: 2,
        number: result_number("000.00.20.H56-261123-0001", 2),
        issued_at: at(2026, 11, 23, 9, 30),
        agency_code: "000.00.20.H56".into(),
        agency_name: "Sở Văn hóa\nThể thao".into(),
        procedure_code: "1.001029".into(),
        procedure_name: "Cấp giấy phép".into(),
        files_sha256: Vec::new(),
        format: SignedFormat::V1,
    };
    let text = canonical_text(&facts);
    let expected = format!(
        "motcua-result-v1\ncode={}\ndossier=000.00.20.H56-261123-0001\nversion=2\n\
         number=000.00.20.H56-261123-0001/KQ2\nissued_at=2026-11-23T02:30:00Z\n\
         agency_code=000.00.20.H56\nagency_name=Sở Văn hóa\\nThể thao\n\
         procedure_code=1.001029\nprocedure_name=Cấp giấy phép\nfile_sha256=-\n",
        "a".repeat(32)
    );
    assert_eq!(text, expected);
    let with_file = IssuedFacts {
        files_sha256: vec!["ab".repeat(32), "cd".repeat(32)],
        ..facts.clone()
    };
    // v1 (versions signed before v2) covers the first file only.
    assert!(canonical_text(&with_file).ends_with(&format!("file_sha256={}\n", "ab".repeat(32))));
    // v2 covers every file, counted: (files, the text's tail).
    let (one, two) = ("ab".repeat(32), "cd".repeat(32));
    let cases = [
        (vec![], "procedure_name=Cấp giấy phép\nfiles=0\n".to_owned()),
        (
            vec![one.clone()],
            format!("procedure_name=Cấp giấy phép\nfiles=1\nfile_sha256={one}\n"),
        ),
        (
            vec![one.clone(), two.clone()],
            format!(
                "procedure_name=Cấp giấy phép\nfiles=2\nfile_sha256={one}\nfile_sha256={two}\n"
            ),
        ),
    ];
    for (files, tail) in cases {
        let v2 = IssuedFacts {
            files_sha256: files.clone(),
            format: SignedFormat::V2,
            ..facts.clone()
        };
        let text = canonical_text(&v2);
        assert!(text.starts_with("motcua-result-v2\ncode="), "{text}");
        assert!(text.ends_with(&tail), "{files:?}: {text}");
    }
    for format in [SignedFormat::V1, SignedFormat::V2] {
        assert_eq!(SignedFormat::from_number(format.number()), Some(format));
    }
    assert_eq!(SignedFormat::from_number(3), None);
}

#[test]
fn revocation_text_is_line_per_fact() {
    let facts = RevocationFacts {
        code: "b".repeat(32),
        dossier_code: "000.00.20.H56-261123-0001".into(),
        version: 1,
        number: result_number("000.00.20.H56-261123-0001", 1),
        agency_code: "000.00.20.H56".into(),
        revoked_at: at(2026, 11, 24, 8, 0),
        reason: "Cấp sai\nđối tượng".into(),
    };
    assert_eq!(
        revocation_text(&facts),
        format!(
            "motcua-revocation-v1\ncode={}\ndossier=000.00.20.H56-261123-0001\nversion=1\n\
             number=000.00.20.H56-261123-0001/KQ1\nagency_code=000.00.20.H56\n\
             revoked_at=2026-11-24T01:00:00Z\nreason=Cấp sai\\nđối tượng\n",
            "b".repeat(32)
        )
    );
}

#[test]
fn who_revokes_and_what_is_revocable() {
    let actor = |role, receiving, handling| Actor {
        role,
        is_applicant: false,
        at_receiving_agency: receiving,
        at_handling_agency: handling,
    };
    // (actor, may revoke)
    let cases = [
        (actor(Role::Admin, false, false), true),
        (actor(Role::Leader, true, false), true),
        (actor(Role::Leader, false, true), true),
        (actor(Role::Leader, false, false), false),
        (actor(Role::Officer, true, true), false),
        (actor(Role::Citizen, false, false), false),
        (actor(Role::Integration, false, false), false),
    ];
    for (who, ok) in cases {
        assert_eq!(may_revoke(who), ok, "{who:?}");
    }
    // (standing, revocable, correctable when the latest)
    let standings = [
        (Standing::Valid, Ok(()), Ok(())),
        (Standing::Superseded, Err(NotInForce::Superseded), Ok(())),
        (
            Standing::Revoked,
            Err(NotInForce::Revoked),
            Err(NotInForce::Revoked),
        ),
    ];
    for (standing, revocable, correctable) in standings {
        assert_eq!(check_revocable(standing), revocable, "{standing}");
        assert_eq!(check_correctable(Some(standing)), correctable, "{standing}");
    }
    assert_eq!(check_correctable(None), Ok(()));
}

/// (recipient, address, phone, fee, fields in error)
type PostalCase<'a> = (
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
    Option<i64>,
    &'a [&'a str],
);

#[test]
fn postal_returns_are_checked() {
    let ok = check_postal(
        Some(" Nguyễn Văn A "),
        Some("12 Lê Lợi, Bến Tre"),
        Some("+84912345678"),
        None,
    )
    .unwrap();
    assert_eq!(
        (ok.recipient.as_str(), ok.phone.as_str(), ok.fee_vnd),
        ("Nguyễn Văn A", "0912345678", 0)
    );
    let long = "x".repeat(501);
    // (recipient, address, phone, fee, fields in error)
    let cases: [PostalCase; 4] = [
        (None, None, None, None, &["recipient", "address", "phone"]),
        (
            Some("A"),
            Some(&long),
            Some("0912345678"),
            None,
            &["address"],
        ),
        (
            Some("A"),
            Some("B"),
            Some("12"),
            Some(-1),
            &["phone", "fee_vnd"],
        ),
        (Some("A"), Some("B"), Some("0912345678"), Some(30_000), &[]),
    ];
    for (recipient, address, phone, fee, fields) in cases {
        let got: Vec<String> = check_postal(recipient, address, phone, fee)
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(got, fields, "{recipient:?} {address:?} {phone:?} {fee:?}");
    }
}

#[test]
fn tracking_numbers() {
    let cases = [
        (None, Err("required")),
        (Some("  "), Err("required")),
        (Some("ee123456789vn"), Ok("EE123456789VN")),
        (Some("ABC"), Err("invalid_format")),
        (Some("EE 1234"), Err("invalid_format")),
        (Some("VN-2026-0001"), Ok("VN-2026-0001")),
    ];
    for (given, want) in cases {
        let got = tracking_number(given);
        let got = got.as_deref().map_err(|e| e.problem.code());
        assert_eq!(got, want, "{given:?}");
    }
}

#[test]
fn who_may_choose_post_and_what_may_be_corrected() {
    use DossierStatus as S;
    for status in S::ALL {
        let postal = !status.is_finished() && *status != S::Posting;
        assert_eq!(may_choose_postal(*status), postal, "{status}");
        let correct = matches!(status, S::ResultReady | S::Returned);
        assert_eq!(may_correct(*status), correct, "{status}");
    }
}

#[test]
fn corrections_are_due_in_working_days() {
    let cal = WorkingCalendar::with_official_years([], [], WorkingHours::default());
    // Requested Monday 23 Nov 2026 at 09:00: five working days end Monday 30 Nov.
    let requested = at(2026, 11, 23, 9, 0);
    let due = correction_due(&cal, requested, None);
    assert_eq!(due, cal.due(requested, 5, TimeUnit::WorkingDays));
    assert_eq!(
        local_time::date(due),
        NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()
    );
    let two = correction_due(&cal, requested, Some(2));
    assert_eq!(
        local_time::date(two),
        NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()
    );
    assert!(correction_reason(Some("  ")).is_err());
    assert_eq!(
        correction_reason(Some(" Sai ngày sinh ")).unwrap(),
        "Sai ngày sinh"
    );
}

#[test]
fn who_sets_the_postal_return_and_who_records_corrections() {
    let actor = |role, is_applicant, receiving, handling| Actor {
        role,
        is_applicant,
        at_receiving_agency: receiving,
        at_handling_agency: handling,
    };
    // (actor, may set the postal return, may record a correction)
    let cases = [
        (actor(Role::Citizen, true, false, false), true, false),
        (actor(Role::Citizen, false, false, false), false, false),
        (actor(Role::Integration, true, false, false), true, false),
        (actor(Role::Officer, false, true, false), true, true),
        (actor(Role::Officer, false, false, true), false, true),
        (actor(Role::Officer, false, false, false), false, false),
        (actor(Role::Leader, false, true, true), false, false),
        (actor(Role::Admin, false, false, false), true, true),
    ];
    for (a, postal, correction) in cases {
        assert_eq!(
            (may_set_postal(a), may_record_correction(a)),
            (postal, correction),
            "{a:?}"
        );
    }
}
