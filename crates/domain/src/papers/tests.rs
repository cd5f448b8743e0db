use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;

use super::*;
use crate::dossier::DossierStatus;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.to_utc())
        .unwrap_or_default()
}

fn facts() -> PaperFacts {
    PaperFacts {
        code: "000.00.20.H56-261207-0001".to_owned(),
        agency_name: "Sở Văn hóa, Thể thao và Du lịch".to_owned(),
        handling_agency_name: "Sở Văn hóa, Thể thao và Du lịch".to_owned(),
        received_at_agency_name: None,
        procedure_code: "1.001234".to_owned(),
        procedure_name: "Cấp giấy phép tổ chức biểu diễn nghệ thuật".to_owned(),
        applicant_name: "Nguyễn Thị Phượng Hoàng Quỳnh Như Ý".to_owned(),
        applicant_id_number: Some("********6789".to_owned()),
        applicant_tax_code: None,
        status: DossierStatus::InReview,
        submitted_at: at("2026-12-07T01:00:00Z"),
        received_at: Some(at("2026-12-07T02:05:00Z")),
        received_by: Some("Trần Văn Bình".to_owned()),
        appointment_at: Some(at("2026-12-14T09:00:00Z")),
        due_at: Some(at("2026-12-14T09:00:00Z")),
        fees_due_vnd: 0,
        documents: vec![],
        supplements: vec![],
        refusal: None,
        apologies: vec![],
        steps: vec![],
        form_data: None,
        form: None,
        tracking_pin: None,
        tracking_link: "/api/v1/tracking/000.00.20.H56-261207-0001".to_owned(),
        printed_at: at("2026-12-07T02:05:00Z"),
    }
}

#[test]
fn which_papers_a_dossier_has() {
    use NotApplicable::{NoApology, NoSupplementRequest, NotReceived, NotRefused};
    use PaperKind::{Apology, ControlSheet, Declaration, Receipt, Refusal, SupplementRequest};
    let received = facts();
    let submitted = PaperFacts {
        received_at: None,
        ..facts()
    };
    let supplemented = PaperFacts {
        supplements: vec![SupplementFacts {
            missing: vec!["Bản sao kịch bản".to_owned()],
            deadline: NaiveDate::from_ymd_opt(2026, 12, 20).unwrap_or_default(),
            requested_at: at("2026-12-08T02:00:00Z"),
            requested_by: None,
            reason: None,
        }],
        ..facts()
    };
    let refused = PaperFacts {
        refusal: Some(RefusalFacts {
            reason: "Không thuộc thẩm quyền".to_owned(),
            at: at("2026-12-07T02:00:00Z"),
            by: None,
        }),
        received_at: None,
        ..facts()
    };
    let late = PaperFacts {
        apologies: vec![ApologyFacts {
            reason: "Chờ ý kiến cơ quan phối hợp".to_owned(),
            new_appointment_date: NaiveDate::from_ymd_opt(2026, 12, 21).unwrap_or_default(),
            at: at("2026-12-14T02:00:00Z"),
        }],
        ..facts()
    };
    let cases: [(&PaperFacts, PaperKind, Result<(), NotApplicable>); 14] = [
        (&received, Receipt, Ok(())),
        (&submitted, Receipt, Err(NotReceived)),
        (&received, ControlSheet, Ok(())),
        (&submitted, ControlSheet, Err(NotReceived)),
        (&submitted, Declaration, Ok(())),
        (&received, Declaration, Ok(())),
        (&received, SupplementRequest, Err(NoSupplementRequest)),
        (&supplemented, SupplementRequest, Ok(())),
        (&received, Refusal, Err(NotRefused)),
        (&refused, Refusal, Ok(())),
        (&refused, Receipt, Err(NotReceived)),
        (&received, Apology, Err(NoApology)),
        (&late, Apology, Ok(())),
        (&supplemented, Apology, Err(NoApology)),
    ];
    for (f, kind, expected) in cases {
        assert_eq!(applies(kind, f), expected, "{kind}");
    }
}

#[test]
fn every_paper_has_its_title_agency_and_code() {
    let f = facts();
    let titles = [
        (
            PaperKind::Receipt,
            "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
        ),
        (
            PaperKind::SupplementRequest,
            "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ",
        ),
        (
            PaperKind::Refusal,
            "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ",
        ),
        (
            PaperKind::Apology,
            "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ",
        ),
        (
            PaperKind::ControlSheet,
            "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ",
        ),
        (PaperKind::Declaration, "TỜ KHAI"),
    ];
    assert_eq!(titles.len(), PaperKind::ALL.len());
    for (kind, title) in titles {
        let p = paper(kind, &f);
        assert_eq!(p.title, title);
        assert_eq!(p.agency, "SỞ VĂN HÓA, THỂ THAO VÀ DU LỊCH");
        assert_eq!(p.code, f.code);
        assert_eq!(p.dated, "Ngày 07 tháng 12 năm 2026");
        assert!(p.number.starts_with("Số: 000.00.20.H56-261207-0001/"));
        let named = p.blocks.iter().any(|b| match b {
            Block::Field { value, .. } => value == "Nguyễn Thị Phượng Hoàng Quỳnh Như Ý",
            _ => false,
        });
        assert!(named, "{kind} names the applicant");
    }
}

#[test]
fn the_control_sheet_has_a_row_per_step() {
    let step = |action: &str, to, actor: Option<&str>| StepFacts {
        action: action.to_owned(),
        to_status: to,
        actor: actor.map(str::to_owned),
        agency: Some("UBND phường Bến Nghé".to_owned()),
        note: None,
        at: at("2026-12-07T02:05:00Z"),
    };
    let f = PaperFacts {
        steps: vec![
            step("submit", DossierStatus::Submitted, None),
            step("receive", DossierStatus::Received, Some("Trần Văn Bình")),
            step("assign", DossierStatus::InReview, Some("Lê Thị Hồng")),
        ],
        ..facts()
    };
    let p = paper(PaperKind::ControlSheet, &f);
    let rows = p.blocks.iter().find_map(|b| match b {
        Block::Table { rows, .. } => Some(rows.clone()),
        _ => None,
    });
    let rows = rows.unwrap_or_default();
    assert_eq!(rows.len(), 3);
    assert_eq!(
        rows[1],
        [
            "2",
            "09:05 07/12/2026",
            "Tiếp nhận hồ sơ",
            "Trần Văn Bình (UBND phường Bến Nghé)",
            DossierStatus::Received.label_vi()
        ]
    );
}

#[test]
fn form_data_reads_as_labelled_lines() {
    let cases = [
        (
            json!({"event_name": "Đêm nhạc Trịnh"}),
            vec![("Event name", "Đêm nhạc Trịnh")],
        ),
        (
            json!({"venue": {"name": "Nhà hát Lớn", "seats": 600}}),
            vec![("Venue › Name", "Nhà hát Lớn"), ("Venue › Seats", "600")],
        ),
        (
            json!({"dates": ["2026-12-24", "2026-12-25"]}),
            vec![("Dates", "2026-12-24; 2026-12-25")],
        ),
        (
            json!({"outdoor": false, "note": null}),
            vec![("Note", "—"), ("Outdoor", "Không")],
        ),
        (json!("một dòng"), vec![("Giá trị", "một dòng")]),
    ];
    for (data, expected) in cases {
        let rows = form_rows(&data);
        let expected: Vec<(String, String)> = expected
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        assert_eq!(rows, expected, "{data}");
    }
}

#[test]
fn the_declaration_without_form_data_says_so() {
    let p = paper(PaperKind::Declaration, &facts());
    assert_eq!(
        p.subtitle.as_deref(),
        Some("Cấp giấy phép tổ chức biểu diễn nghệ thuật")
    );
    assert!(
        p.blocks
            .iter()
            .any(|b| matches!(b, Block::Text(t) if t.contains("không có tờ khai điện tử")))
    );
}

#[test]
fn a_receipt_taken_at_another_counter_names_both_agencies() {
    let texts = |p: &Paper| -> Vec<String> {
        p.blocks
            .iter()
            .map(|b| match b {
                Block::Text(t) => t.clone(),
                Block::Field { label, value } => format!("{label}: {value}"),
                Block::Table { .. } => String::new(),
            })
            .collect()
    };
    let point = "Trung tâm Phục vụ hành chính công tỉnh";
    let f = PaperFacts {
        received_at_agency_name: Some(point.to_owned()),
        ..facts()
    };
    let cases = [
        (&facts(), PaperKind::Receipt, None),
        (
            &f,
            PaperKind::Receipt,
            Some(format!("Nơi tiếp nhận hồ sơ: {point}")),
        ),
        (
            &f,
            PaperKind::ControlSheet,
            Some(format!("Nơi tiếp nhận hồ sơ: {point}")),
        ),
    ];
    for (facts, kind, expected) in cases {
        let lines = texts(&paper(kind, facts));
        let found = lines.iter().find(|l| l.starts_with("Nơi tiếp nhận hồ sơ"));
        assert_eq!(found, expected.as_ref(), "{kind}");
        assert!(
            lines
                .iter()
                .any(|l| l.contains("Sở Văn hóa, Thể thao và Du lịch")),
            "{kind}"
        );
    }
    let receipt = texts(&paper(PaperKind::Receipt, &f));
    assert!(
        receipt
            .iter()
            .any(|l| l.starts_with(&format!("{point} tiếp nhận hồ sơ thay cho Sở Văn hóa")))
    );
}

fn karaoke_form() -> crate::forms::FormDefinition {
    serde_json::from_value(json!({
        "title": "Đơn đề nghị",
        "schema": {"type": "object", "properties": {
            "establishment": {"type": "object", "properties": {
                "name": {"type": "string"}, "rooms": {"type": "integer"},
                "room_areas": {"type": "array", "items": {"type": "number"}}}},
            "staff": {"type": "array", "items": {"type": "object", "properties": {
                "name": {"type": "string"}, "role": {"type": "string"}}}},
            "applicant": {"type": "object", "properties": {"name": {"type": "string"}}}}},
        "sections": [
            {"title": "Người đề nghị", "fields": [{"pointer": "/applicant/name", "label": "Tên tổ chức"}]},
            {"title": "Cơ sở kinh doanh", "fields": [
                {"pointer": "/establishment/rooms", "label": "Số phòng hát"},
                {"pointer": "/establishment/name", "label": "Tên cơ sở"},
                {"pointer": "/establishment/room_areas", "label": "Diện tích từng phòng (m²)"},
                {"pointer": "/staff", "label": "Nhân viên"},
                {"pointer": "/staff/0/name", "label": "Họ tên"},
                {"pointer": "/staff/0/role", "label": "Chức danh"}]}]
    }))
    .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn the_declaration_follows_the_form_labels_sections_and_order() {
    let data = json!({
        "applicant": {"name": "Công ty TNHH Âm Nhạc Phương Nam"},
        "establishment": {"name": "Karaoke Hoa Mai", "rooms": 3, "room_areas": [24, 25.5], "wifi": true},
        "staff": [{"name": "Lê Văn Tám", "role": "Quản lý"}, {"name": "Phạm Thị Hà"}],
    });
    let row = |k: &str, v: &str| (k.to_owned(), v.to_owned());
    let expected = vec![
        (
            "Người đề nghị".to_owned(),
            vec![row("Tên tổ chức", "Công ty TNHH Âm Nhạc Phương Nam")],
        ),
        (
            "Cơ sở kinh doanh".to_owned(),
            vec![
                row("Số phòng hát", "3"),
                row("Tên cơ sở", "Karaoke Hoa Mai"),
                row("Diện tích từng phòng (m²)", "24; 25.5"),
                row("Nhân viên 1 › Họ tên", "Lê Văn Tám"),
                row("Nhân viên 1 › Chức danh", "Quản lý"),
                row("Nhân viên 2 › Họ tên", "Phạm Thị Hà"),
            ],
        ),
        (
            "Thông tin khác".to_owned(),
            vec![row("Establishment › Wifi", "Có")],
        ),
    ];
    assert_eq!(declaration_sections(&karaoke_form(), &data), expected);
    let f = PaperFacts {
        form: Some(karaoke_form()),
        form_data: Some(data),
        ..facts()
    };
    let p = paper(PaperKind::Declaration, &f);
    let titles: Vec<&str> = p
        .blocks
        .iter()
        .filter_map(|b| match b {
            Block::Text(t) if t.ends_with(':') => Some(t.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        titles,
        ["Người đề nghị:", "Cơ sở kinh doanh:", "Thông tin khác:"]
    );
}
