use serde_json::{Value, json};

use super::*;

fn form() -> FormDefinition {
    serde_json::from_value(json!({
        "title": "Tờ khai thử",
        "schema": {
            "$schema": DIALECT,
            "type": "object",
            "required": ["event", "organizer"],
            "additionalProperties": false,
            "$defs": {"day": {"type": "string", "format": "date"}},
            "properties": {
                "organizer": {"type": "string", "minLength": 2, "maxLength": 10},
                "event": {
                    "type": "object",
                    "required": ["title", "start"],
                    "properties": {
                        "title": {"type": "string"},
                        "start": {"$ref": "#/$defs/day"},
                        "audience": {"type": "integer", "minimum": 1, "maximum": 1000},
                        "kind": {"enum": ["ca_nhac", "san_khau"]},
                        "phone": {"type": "string", "pattern": "^0[0-9]{9}$"}
                    }
                },
                "performers": {
                    "type": "array", "minItems": 1,
                    "items": {"type": "object", "properties": {"name": {"type": "string"}}}
                }
            }
        },
        "sections": [{"title": "Sự kiện", "fields": [
            {"pointer": "/organizer", "label": "Đơn vị tổ chức", "prefill": "profile.full_name"},
            {"pointer": "/event/title", "label": "Tên chương trình", "prefill": "dossier"},
            {"pointer": "/event/start", "label": "Ngày bắt đầu"},
            {"pointer": "/performers/0/name", "label": "Người biểu diễn", "prefill": "dossier"}
        ]}]
    }))
    .unwrap()
}

fn failures(data: Value) -> Vec<(String, String)> {
    match check_data(&form(), &data) {
        Ok(()) => Vec::new(),
        Err(errors) => {
            let mut out: Vec<(String, String)> = errors
                .into_iter()
                .map(|e| (e.field, e.problem.code().to_owned()))
                .collect();
            out.sort();
            out
        }
    }
}

#[test]
fn each_keyword_kind_maps_to_a_problem_at_its_pointer() {
    let valid =
        json!({"organizer": "Công ty A", "event": {"title": "Đêm nhạc", "start": "2027-01-02"}});
    let cases: Vec<(Value, Vec<(&str, &str)>)> = vec![
        (valid.clone(), vec![]),
        (
            json!({"event": {"title": "x", "start": "2027-01-02"}}),
            vec![("/form_data/organizer", "required")],
        ),
        (
            json!({"organizer": "AB", "event": {}}),
            vec![
                ("/form_data/event/start", "required"),
                ("/form_data/event/title", "required"),
            ],
        ),
        (
            json!({"organizer": 5, "event": {"title": "x", "start": "2027-01-02"}}),
            vec![("/form_data/organizer", "form_wrong_type")],
        ),
        (
            json!({"organizer": "A", "event": {"title": "x", "start": "2027-01-02"}}),
            vec![("/form_data/organizer", "too_short")],
        ),
        (
            json!({"organizer": "Công ty trách nhiệm hữu hạn", "event": {"title": "x", "start": "2027-01-02"}}),
            vec![("/form_data/organizer", "too_long")],
        ),
        (
            json!({"organizer": "AB", "event": {"title": "x", "start": "02/01/2027"}}),
            vec![("/form_data/event/start", "invalid_format")],
        ),
        (
            json!({"organizer": "AB", "event": {"title": "x", "start": "2027-01-02", "audience": 0}}),
            vec![("/form_data/event/audience", "form_below_minimum")],
        ),
        (
            json!({"organizer": "AB", "event": {"title": "x", "start": "2027-01-02", "audience": 5000}}),
            vec![("/form_data/event/audience", "form_above_maximum")],
        ),
        (
            json!({"organizer": "AB", "event": {"title": "x", "start": "2027-01-02", "kind": "xiec"}}),
            vec![("/form_data/event/kind", "not_allowed")],
        ),
        (
            json!({"organizer": "AB", "event": {"title": "x", "start": "2027-01-02", "phone": "12"}}),
            vec![("/form_data/event/phone", "form_pattern")],
        ),
        (
            json!({"organizer": "AB", "event": {"title": "x", "start": "2027-01-02"}, "performers": []}),
            vec![("/form_data/performers", "form_too_few_items")],
        ),
        (
            json!({"organizer": "AB", "event": {"title": "x", "start": "2027-01-02"}, "extra": 1}),
            vec![("/form_data", "form_unknown_field")],
        ),
        (
            json!({"organizer": "AB", "event": {"title": "x", "start": "2027-01-02"}, "performers": [{"name": 3}]}),
            vec![("/form_data/performers/0/name", "form_wrong_type")],
        ),
        (
            json!("not an object"),
            vec![("/form_data", "form_wrong_type")],
        ),
    ];
    for (data, expected) in cases {
        let mut expected: Vec<(String, String)> = expected
            .into_iter()
            .map(|(p, c)| (p.to_owned(), c.to_owned()))
            .collect();
        expected.sort();
        assert_eq!(failures(data.clone()), expected, "{data}");
    }
}

#[test]
fn several_failures_are_all_reported() {
    let got = failures(json!({"organizer": 1, "event": {"start": "hôm nay", "audience": -1}}));
    assert_eq!(got.len(), 4, "{got:?}");
}

#[test]
fn the_messages_of_form_problems_are_vietnamese() {
    for rule in [
        RuleCode::FormWrongType,
        RuleCode::FormPattern,
        RuleCode::FormBelowMinimum,
        RuleCode::FormUnknownField,
    ] {
        assert!(!rule.message_vi().is_ascii(), "{}", rule.as_str());
    }
}

#[test]
fn definitions_are_checked_before_saving() {
    assert_eq!(check_definition(&form()), Ok(()));
    let codes = |f: FormDefinition| -> Vec<(String, String)> {
        check_definition(&f)
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| (e.field, e.problem.code().to_owned()))
            .collect()
    };
    let mut bad = form();
    bad.schema = json!({"type": "object", "properties": {"a": {"type": "nonsense"}}});
    bad.sections[0].fields.truncate(0);
    assert_eq!(
        codes(bad),
        vec![("schema".into(), "invalid_form_schema".into())]
    );
    let mut old_dialect = form();
    old_dialect.schema["$schema"] = json!("http://json-schema.org/draft-07/schema#");
    assert_eq!(codes(old_dialect)[0].1, "invalid_form_schema");
    let mut not_object = form();
    not_object.schema = json!({"type": "string"});
    not_object.sections[0].fields.truncate(0);
    assert_eq!(
        codes(not_object),
        vec![("schema".into(), "invalid_form_schema".into())]
    );
    let mut remote = form();
    remote.schema["properties"]["x"] = json!({"$ref": "https://example.com/x.json"});
    assert_eq!(codes(remote)[0].1, "invalid_form_schema");
    let mut fields = form();
    fields.sections[0].fields[0].pointer = "/nowhere".into();
    fields.sections[0].fields[1].prefill = Some("registry".into());
    fields.sections[0].fields[2].pointer = "/event/title".into();
    fields.sections[0].fields[3].label = " ".into();
    assert_eq!(
        codes(fields),
        vec![
            (
                "sections[0].fields[0].pointer".into(),
                "form_unknown_field".into()
            ),
            (
                "sections[0].fields[1].prefill".into(),
                "unknown_prefill_source".into()
            ),
            ("sections[0].fields[2].pointer".into(), "duplicate".into()),
            ("sections[0].fields[3].label".into(), "required".into()),
        ]
    );
}

#[test]
fn pointers_resolve_through_properties_items_and_refs() {
    let f = form();
    for (pointer, found) in [
        ("/organizer", true),
        ("/event/start", true),
        ("/performers/0/name", true),
        ("/performers/x/name", false),
        ("/event/nothing", false),
        ("organizer", false),
        ("", false),
    ] {
        assert_eq!(schema_at(&f.schema, pointer).is_some(), found, "{pointer}");
    }
}

#[test]
fn prefill_takes_the_profile_and_the_latest_dossier() {
    let profile = Profile {
        full_name: Some("Nguyễn Thị Ánh".into()),
        ..Profile::default()
    };
    let earlier =
        json!({"event": {"title": "Đêm nhạc Trịnh"}, "performers": [{"name": "Ca sĩ B"}]});
    let values = prefill(&form(), &profile, Some(("H56.1-261207-0001", &earlier)));
    let got: Vec<(&str, PrefillOrigin)> = values
        .iter()
        .map(|v| (v.pointer.as_str(), v.source))
        .collect();
    assert_eq!(
        got,
        vec![
            ("/organizer", PrefillOrigin::Profile),
            ("/event/title", PrefillOrigin::Dossier),
            ("/performers/0/name", PrefillOrigin::Dossier),
        ]
    );
    assert_eq!(values[1].dossier_code.as_deref(), Some("H56.1-261207-0001"));
    assert_eq!(
        assemble(&values),
        json!({"organizer": "Nguyễn Thị Ánh", "event": {"title": "Đêm nhạc Trịnh"}, "performers": {"0": {"name": "Ca sĩ B"}}})
    );
    // Nothing earlier, nothing in the record: nothing offered.
    assert!(prefill(&form(), &Profile::default(), None).is_empty());
}

#[test]
fn reuse_counts_values_from_an_earlier_dossier_only() {
    let offered = vec![
        PrefillValue {
            pointer: "/organizer".into(),
            value: json!("A"),
            source: PrefillOrigin::Profile,
            dossier_code: None,
        },
        PrefillValue {
            pointer: "/event/title".into(),
            value: json!("Đêm nhạc"),
            source: PrefillOrigin::Dossier,
            dossier_code: Some("X".into()),
        },
    ];
    let same = json!({"organizer": "A", "event": {"title": "Đêm nhạc"}});
    let changed = json!({"organizer": "A", "event": {"title": "Đêm nhạc mới"}});
    assert!(counts_as_reuse(&prefilled(&same, &offered)));
    assert_eq!(prefilled(&changed, &offered).len(), 1);
    assert!(!counts_as_reuse(&prefilled(&changed, &offered)));
    assert!(prefilled(&json!({}), &offered).is_empty());
}

#[test]
fn supplement_fields_must_be_fields_of_the_form() {
    let f = form();
    assert_eq!(
        check_supplement_fields(Some(&f), &["/event/start".into(), "/event/start".into()]),
        Ok(vec!["/event/start".to_owned()])
    );
    let err =
        check_supplement_fields(Some(&f), &["/event/start".into(), "/nope".into()]).unwrap_err();
    assert_eq!(
        (err[0].field.as_str(), err[0].problem.code()),
        ("fields[1]", "form_unknown_field")
    );
    let err = check_supplement_fields(None, &["/a".into()]).unwrap_err();
    assert_eq!(err[0].problem.code(), "form_not_offered");
}

#[test]
fn a_correction_names_the_fields_that_changed() {
    let before = json!({"organizer": "Nhà hát", "event": {"title": "Đêm nhạc", "start": "2026-12-24"},
        "performers": [{"name": "An"}]});
    let cases = [
        (before.clone(), vec![]),
        (
            json!({"organizer": "Nhà hát", "event": {"title": "Đêm nhạc Trịnh", "start": "2026-12-25"},
                "performers": [{"name": "Bình"}]}),
            vec!["/event/title", "/event/start"],
        ),
        (
            json!({"event": {"title": "Đêm nhạc", "start": "2026-12-24"}}),
            vec!["/organizer"],
        ),
    ];
    for (after, expected) in cases {
        assert_eq!(changed(&form(), &before, &after), expected, "{after}");
    }
    for (pointer, template) in [
        ("/performers/0/name", true),
        ("/event/title", false),
        ("/a/10", true),
        ("/", false),
    ] {
        assert_eq!(is_item_template(pointer), template, "{pointer}");
    }
}
