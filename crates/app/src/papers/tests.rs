use chrono::{DateTime, Utc};
use motcua_domain::dossier::DossierStatus;
use motcua_domain::papers::{PaperFacts, PaperKind, StepFacts, paper};

use super::*;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.to_utc())
        .unwrap_or_default()
}

const NAME: &str = "Nguyễn Thị Phượng Hoàng Quỳnh Như Ý";
const AGENCY: &str = "Sở Văn hóa, Thể thao và Du lịch thành phố Hồ Chí Minh";

fn facts(steps: usize) -> PaperFacts {
    PaperFacts {
        code: "000.00.20.H56-261207-0001".to_owned(),
        agency_name: AGENCY.to_owned(),
        handling_agency_name: AGENCY.to_owned(),
        received_at_agency_name: None,
        procedure_code: "1.001234".to_owned(),
        procedure_name: "Cấp giấy phép tổ chức biểu diễn nghệ thuật, trình diễn thời trang"
            .to_owned(),
        applicant_name: NAME.to_owned(),
        applicant_id_number: Some("********6789".to_owned()),
        applicant_tax_code: None,
        status: DossierStatus::InReview,
        submitted_at: at("2026-12-07T01:00:00Z"),
        received_at: Some(at("2026-12-07T02:05:00Z")),
        received_by: Some("Trần Văn Bình".to_owned()),
        appointment_at: Some(at("2026-12-14T09:00:00Z")),
        due_at: Some(at("2026-12-14T09:00:00Z")),
        fees_due_vnd: 500_000,
        documents: Vec::new(),
        supplements: Vec::new(),
        refusal: None,
        apologies: Vec::new(),
        steps: (0..steps)
            .map(|_| StepFacts {
                action: "assign".to_owned(),
                to_status: DossierStatus::InReview,
                actor: Some("Lê Thị Hồng Nhung".to_owned()),
                agency: Some(AGENCY.to_owned()),
                note: Some("Chuyển phòng Quản lý nghệ thuật xem xét".to_owned()),
                at: at("2026-12-07T03:00:00Z"),
            })
            .collect(),
        form_data: None,
        form: None,
        tracking_pin: None,
        tracking_link: "http://localhost:8080/api/v1/tracking/000.00.20.H56-261207-0001".to_owned(),
        printed_at: at("2026-12-07T02:05:00Z"),
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn a_receipt_is_a_pdf_whose_vietnamese_text_reads_back() {
    let bytes = pdf(&paper(PaperKind::Receipt, &facts(0))).unwrap();
    assert!(bytes.starts_with(b"%PDF"));
    let text = one_line(&pdf_extract::extract_text_from_mem(&bytes).unwrap());
    for expected in [
        NAME,
        "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
        "000.00.20.H56-261207-0001",
        "Độc lập - Tự do - Hạnh phúc",
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "16 giờ 00, ngày 14/12/2026",
        "Trần Văn Bình",
    ] {
        assert!(text.contains(expected), "{expected:?} not in {text}");
    }
}

#[test]
fn a_long_control_sheet_breaks_onto_more_pages() {
    let bytes = pdf(&paper(PaperKind::ControlSheet, &facts(60))).unwrap();
    let text = pdf_extract::extract_text_from_mem(&bytes).unwrap();
    assert!(text.contains("trang 2/"), "{text}");
}

#[test]
fn nothing_is_drawn_past_the_margins() {
    let metrics = fonts::Metrics::load().unwrap();
    for kind in PaperKind::ALL {
        for ops in lay_out(&paper(*kind, &facts(30)), &metrics, &[]) {
            for op in ops {
                if let Op::Text {
                    x,
                    y,
                    size,
                    bold,
                    text,
                } = op
                {
                    let right = x + metrics.width(&text, size, bold);
                    assert!(
                        x >= 40.0 && right <= layout::PAGE_W - 30.0,
                        "{kind}: {text} at {x}..{right}"
                    );
                    assert!(y <= layout::PAGE_H - 20.0, "{kind}: {text} at y {y}");
                }
            }
        }
    }
}

#[test]
fn decomposed_input_is_drawn_composed() {
    let decomposed = "Nguye\u{302}\u{303}n";
    let mut f = facts(0);
    f.applicant_name = decomposed.to_owned();
    let bytes = pdf(&paper(PaperKind::Declaration, &f)).unwrap();
    let text = pdf_extract::extract_text_from_mem(&bytes).unwrap();
    assert!(text.contains("Nguyễn"), "{text}");
}
