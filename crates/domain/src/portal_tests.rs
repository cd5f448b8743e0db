#![allow(clippy::unwrap_used)]

use chrono::{Duration, TimeZone, Utc};

use super::*;

fn message(status: u8) -> SyncMessage {
    let at = Utc.with_ymd_and_hms(2026, 11, 23, 2, 0, 0).unwrap();
    SyncMessage {
        dossier_code: "000.00.20.H56-261123-0001".into(),
        procedure_code: "1.000591".into(),
        agency_code: "000.00.20.H56".into(),
        applicant: ApplicantIdentity {
            id_type: 1,
            id_number: "079203001234".into(),
            full_name: "Nguyễn Văn An".into(),
        },
        channel: 2,
        result_channel: 2,
        status,
        submitted_at: at,
        received_at: (status != 1).then_some(at),
        due_at: (status != 1).then_some(at + Duration::days(5)),
        finished_at: is_final(status).then_some(at + Duration::days(3)),
        fees_due_vnd: 0,
        fees_paid_vnd: 0,
        paid: true,
        result: matches!(status, 3 | 7 | 8 | 9 | 10).then(|| "issued".to_owned()),
    }
}

#[test]
fn transitions_the_portal_accepts() {
    let cases: [(Option<u8>, u8, bool); 24] = [
        (None, 1, true),
        (None, 2, true),
        (None, 6, true),
        (None, 4, false),
        (None, 10, false),
        (Some(1), 2, true),
        (Some(1), 3, true),
        (Some(1), 7, true),
        (Some(1), 4, false),
        (Some(2), 4, true),
        (Some(2), 9, false),
        (Some(4), 4, true),
        (Some(4), 5, true),
        (Some(4), 9, true),
        (Some(4), 10, false),
        (Some(5), 4, true),
        (Some(6), 9, true),
        (Some(9), 10, true),
        (Some(9), 4, false),
        (Some(10), 10, false),
        (Some(3), 2, false),
        (Some(7), 1, false),
        (Some(8), 4, false),
        (Some(4), 11, false),
    ];
    for (from, to, allowed) in cases {
        assert_eq!(transition_allowed(from, to), allowed, "{from:?} → {to}");
    }
}

#[test]
fn catch_up_fills_the_changes_not_pushed() {
    let cases: [(Option<u8>, u8, &[u8]); 8] = [
        (None, 1, &[1]),
        (None, 4, &[2, 4]),
        (None, 10, &[2, 4, 9, 10]),
        (Some(1), 4, &[2, 4]),
        (Some(2), 10, &[4, 9, 10]),
        (Some(4), 10, &[9, 10]),
        (Some(9), 10, &[10]),
        // Nothing leads out of a final code: sent as is, and refused.
        (Some(10), 4, &[4]),
    ];
    for (from, to, path) in cases {
        assert_eq!(catch_up(from, to), path, "{from:?} → {to}");
        // Every step of a chain is one the portal accepts.
        if from.is_none_or(|f| !is_final(f)) {
            let mut last = from;
            for code in catch_up(from, to) {
                assert!(transition_allowed(last, code), "{last:?} → {code}");
                last = Some(code);
            }
        }
    }
}

#[test]
fn validation_refuses_malformed_messages() {
    let mut no_code = message(2);
    no_code.dossier_code = " ".into();
    let mut bad_agency = message(2);
    bad_agency.agency_code = "H56".into();
    let mut bad_dossier = message(2);
    bad_dossier.dossier_code = "000.00.20.H56-2611-1".into();
    let mut bad_id = message(2);
    bad_id.applicant.id_number = "12345".into();
    let mut bad_channel = message(2);
    bad_channel.channel = 4;
    let mut not_received = message(4);
    not_received.received_at = None;
    let mut no_result = message(9);
    no_result.result = None;
    let mut bad_procedure = message(2);
    bad_procedure.procedure_code = "abc".into();
    let cases: [(SyncMessage, Option<u8>, Option<&str>); 12] = [
        (message(1), None, None),
        (message(2), Some(1), None),
        (message(9), Some(4), None),
        (no_code, None, Some("missing_field")),
        (bad_agency, None, Some("bad_format")),
        (bad_dossier, None, Some("bad_format")),
        (bad_id, None, Some("bad_format")),
        (bad_channel, None, Some("bad_format")),
        (bad_procedure, None, Some("bad_format")),
        (not_received, Some(2), Some("missing_field")),
        (no_result, Some(4), Some("missing_field")),
        (message(10), Some(4), Some("bad_transition")),
    ];
    for (index, (m, last, code)) in cases.into_iter().enumerate() {
        let got = validate(&m, last).err().map(|r| r.code);
        assert_eq!(got.as_deref(), code, "case {index}");
    }
}

#[test]
fn back_off_grows_then_stops() {
    assert_eq!(retry_after(0), None);
    assert_eq!(retry_after(1), Some(Duration::seconds(30)));
    assert!(retry_after(2).unwrap() > retry_after(1).unwrap());
    assert_eq!(retry_after(6), Some(Duration::hours(4)));
    assert_eq!(retry_after(7), None);
}

#[test]
fn in_time_is_within_a_day_of_the_change() {
    let at = Utc.with_ymd_and_hms(2026, 11, 23, 2, 0, 0).unwrap();
    let cases = [
        (Duration::zero(), true),
        (Duration::hours(24), true),
        (Duration::hours(25), false),
    ];
    for (after, in_time) in cases {
        assert_eq!(synced_in_time(at, at + after), in_time, "{after}");
    }
}

#[test]
fn portal_codes_of_inbound_filings() {
    let cases = [
        ("G22.99-241123-000123", true),
        ("", false),
        ("a b", false),
        ("x/y", false),
    ];
    for (code, ok) in cases {
        assert_eq!(is_valid_portal_code(code), ok, "{code}");
    }
    assert!(!is_valid_portal_code(&"9".repeat(65)));
}
