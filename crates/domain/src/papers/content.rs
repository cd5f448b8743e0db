//! The wording of each paper, after the forms of Circular 01/2018/TT-VPCP
//! (Mẫu 01 to 05) and a generic declaration (tờ khai).

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{Block, Paper, PaperFacts, PaperKind, Signature, dated};
use crate::forms::{FormDefinition, FormField, is_item_template};
use crate::local_time::on_forms;

/// The paper of `kind` for a dossier. Check [`super::applies`] first: a
/// paper that does not apply is drawn from whatever the facts hold.
pub fn paper(kind: PaperKind, f: &PaperFacts) -> Paper {
    let (suffix, title, subtitle, blocks, signatures) = match kind {
        PaperKind::Receipt => (
            "TNHS",
            "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
            None,
            receipt(f),
            vec![
                sign("NGƯỜI NỘP HỒ SƠ", Some(&f.applicant_name)),
                sign("NGƯỜI TIẾP NHẬN HỒ SƠ", f.received_by.as_deref()),
            ],
        ),
        PaperKind::SupplementRequest => (
            "BSHS",
            "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ",
            None,
            supplement(f),
            vec![sign(
                "NGƯỜI HƯỚNG DẪN",
                f.supplements.last().and_then(|s| s.requested_by.as_deref()),
            )],
        ),
        PaperKind::Refusal => (
            "TCHS",
            "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ",
            None,
            refusal(f),
            vec![sign(
                "NGƯỜI TIẾP NHẬN HỒ SƠ",
                f.refusal.as_ref().and_then(|r| r.by.as_deref()),
            )],
        ),
        PaperKind::Apology => (
            "XL",
            "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ",
            None,
            apology(f),
            vec![Signature {
                role: "THỦ TRƯỞNG CƠ QUAN".to_owned(),
                hint: "(Ký, ghi rõ họ tên và đóng dấu)".to_owned(),
                name: None,
            }],
        ),
        PaperKind::ControlSheet => (
            "KSQT",
            "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ",
            None,
            control_sheet(f),
            Vec::new(),
        ),
        PaperKind::Declaration => (
            "TK",
            "TỜ KHAI",
            Some(f.procedure_name.clone()),
            declaration(f),
            vec![sign("NGƯỜI KHAI", Some(&f.applicant_name))],
        ),
    };
    Paper {
        kind,
        agency: f.agency_name.to_uppercase(),
        number: format!("Số: {}/{suffix}", f.code),
        dated: capitalised(&dated(f.printed_at)),
        title: title.to_owned(),
        subtitle,
        code: f.code.clone(),
        tracking_link: f.tracking_link.clone(),
        blocks,
        signatures,
    }
}

fn sign(role: &str, name: Option<&str>) -> Signature {
    Signature {
        role: role.to_owned(),
        hint: "(Ký và ghi rõ họ tên)".to_owned(),
        name: name.map(str::to_owned),
    }
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map_or_else(String::new, |c| {
        c.to_uppercase().chain(chars).collect::<String>()
    })
}

fn field(label: &str, value: impl Into<String>) -> Block {
    Block::Field {
        label: label.to_owned(),
        value: value.into(),
    }
}

fn text(s: impl Into<String>) -> Block {
    Block::Text(s.into())
}

fn when(at: Option<DateTime<Utc>>) -> String {
    at.map_or_else(|| "—".to_owned(), on_forms)
}

fn fees(vnd: i64) -> String {
    if vnd > 0 {
        crate::payment::format_vnd(vnd)
    } else {
        "Không".to_owned()
    }
}

/// Who filed: the name, then the masked ID number or the tax code.
fn applicant(f: &PaperFacts) -> Vec<Block> {
    let mut blocks = vec![field("Ông/Bà (tổ chức)", &f.applicant_name)];
    match (&f.applicant_id_number, &f.applicant_tax_code) {
        (Some(n), _) => blocks.push(field("Số định danh cá nhân", n)),
        (None, Some(t)) => blocks.push(field("Mã số thuế", t)),
        (None, None) => {}
    }
    blocks.push(field(
        "Nội dung yêu cầu giải quyết",
        format!("{} (mã thủ tục {})", f.procedure_name, f.procedure_code),
    ));
    blocks
}

fn tracking(f: &PaperFacts) -> Block {
    text(match &f.tracking_pin {
        Some(pin) => format!(
            "Tra cứu tình trạng hồ sơ bằng mã QR, hoặc với mã hồ sơ {}, mã số thuế và mã tra cứu {} tại {}.",
            f.code, pin, f.tracking_link
        ),
        None => format!(
            "Tra cứu tình trạng hồ sơ bằng mã QR, hoặc với mã hồ sơ {} và số định danh cá nhân tại {}.",
            f.code, f.tracking_link
        ),
    })
}

fn receipt(f: &PaperFacts) -> Vec<Block> {
    let mut blocks = match &f.received_at_agency_name {
        Some(point) => vec![
            field("Nơi tiếp nhận hồ sơ", point),
            field("Cơ quan có thẩm quyền giải quyết", &f.agency_name),
            text(format!(
                "{point} tiếp nhận hồ sơ thay cho {} (tiếp nhận tại bất kỳ trung tâm phục vụ hành chính công, Nghị định 118/2025/NĐ-CP) của:",
                f.agency_name
            )),
        ],
        None => vec![text(format!("{} tiếp nhận hồ sơ của:", f.agency_name))],
    };
    blocks.extend(applicant(f));
    blocks.push(text("Thành phần hồ sơ nộp gồm:"));
    blocks.push(Block::Table {
        columns: vec![
            ("STT".to_owned(), 70),
            ("Tên giấy tờ".to_owned(), 470),
            ("Bản chính".to_owned(), 110),
            ("Bản sao".to_owned(), 100),
            ("Hình thức".to_owned(), 250),
        ],
        rows: f
            .documents
            .iter()
            .enumerate()
            .map(|(i, d)| {
                vec![
                    (i + 1).to_string(),
                    d.name.clone(),
                    d.originals.to_string(),
                    d.copies.to_string(),
                    match d.form.as_str() {
                        "paper" => "Bản giấy",
                        "reused" => "Dùng lại từ kho dữ liệu",
                        _ => "Bản điện tử",
                    }
                    .to_owned(),
                ]
            })
            .collect(),
    });
    blocks.push(field("Số lượng hồ sơ", "01 (bộ)"));
    blocks.push(field("Thời gian nhận hồ sơ", when(f.received_at)));
    blocks.push(field(
        "Thời gian trả kết quả giải quyết hồ sơ",
        when(f.appointment_at),
    ));
    blocks.push(field("Phí, lệ phí", fees(f.fees_due_vnd)));
    blocks.push(tracking(f));
    blocks
}

fn supplement(f: &PaperFacts) -> Vec<Block> {
    let mut blocks = vec![text(format!(
        "{} tiếp nhận hồ sơ của:",
        f.handling_agency_name
    ))];
    blocks.extend(applicant(f));
    let Some(s) = f.supplements.last() else {
        return blocks;
    };
    blocks.push(field("Ngày yêu cầu", on_forms(s.requested_at)));
    blocks.push(text(
        "Yêu cầu bổ sung, hoàn thiện hồ sơ gồm những nội dung sau:",
    ));
    for (i, item) in s.missing.iter().enumerate() {
        blocks.push(text(format!("{}. {item}", i + 1)));
    }
    if let Some(reason) = &s.reason {
        blocks.push(field("Lý do", reason));
    }
    blocks.push(field(
        "Hạn bổ sung, hoàn thiện",
        s.deadline.format("%d/%m/%Y").to_string(),
    ));
    blocks.push(text(
        "Trong quá trình hoàn thiện hồ sơ, nếu có vướng mắc, ông/bà liên hệ với người hướng dẫn dưới đây để được hướng dẫn.",
    ));
    blocks
}

fn refusal(f: &PaperFacts) -> Vec<Block> {
    let mut blocks = vec![text(format!("{} tiếp nhận hồ sơ của:", f.agency_name))];
    blocks.extend(applicant(f));
    let Some(r) = &f.refusal else {
        return blocks;
    };
    blocks.push(field("Thời điểm từ chối", on_forms(r.at)));
    blocks.push(text(
        "Sau khi xem xét, đối chiếu thành phần hồ sơ với quy định hiện hành, cơ quan, đơn vị từ chối tiếp nhận, giải quyết hồ sơ này vì lý do sau:",
    ));
    blocks.push(text(r.reason.clone()));
    blocks.push(text("Xin thông báo để ông/bà được biết và thực hiện."));
    blocks
}

fn apology(f: &PaperFacts) -> Vec<Block> {
    let mut blocks = vec![text(format!(
        "{}, {} tiếp nhận giải quyết hồ sơ của:",
        capitalised(&f.received_at.map(dated).unwrap_or_default()),
        f.agency_name
    ))];
    blocks.extend(applicant(f));
    blocks.push(field(
        "Thời hạn giải quyết hồ sơ theo quy định",
        when(f.due_at),
    ));
    let Some(a) = f.apologies.last() else {
        return blocks;
    };
    blocks.push(text(format!(
        "Tuy nhiên đến nay, {} chưa trả kết quả giải quyết hồ sơ của ông/bà.",
        f.handling_agency_name
    )));
    blocks.push(field("Lý do", &a.reason));
    blocks.push(text(format!(
        "Sự chậm trễ này đã gây phiền hà cho ông/bà. {} xin lỗi ông/bà và sẽ trả kết quả giải quyết hồ sơ cho ông/bà vào {}.",
        f.agency_name,
        a.new_appointment_date.format("ngày %d tháng %m năm %Y")
    )));
    blocks.push(text("Xin trân trọng cảm ơn sự hợp tác của ông/bà."));
    blocks
}

fn control_sheet(f: &PaperFacts) -> Vec<Block> {
    let mut blocks = vec![
        field("Mã hồ sơ", &f.code),
        field("Cơ quan tiếp nhận", &f.agency_name),
    ];
    if let Some(point) = &f.received_at_agency_name {
        blocks.push(field("Nơi tiếp nhận hồ sơ", point));
    }
    blocks.push(field("Cơ quan giải quyết", &f.handling_agency_name));
    blocks.extend(applicant(f));
    blocks.push(field("Thời gian nhận hồ sơ", when(f.received_at)));
    blocks.push(field("Hạn giải quyết", when(f.due_at)));
    blocks.push(text("Quá trình giao, nhận và giải quyết hồ sơ:"));
    blocks.push(Block::Table {
        columns: vec![
            ("STT".to_owned(), 60),
            ("Thời gian giao, nhận".to_owned(), 190),
            ("Bước xử lý".to_owned(), 210),
            ("Người thực hiện, cơ quan".to_owned(), 280),
            ("Kết quả, ghi chú".to_owned(), 260),
        ],
        rows: f
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let who = match (&s.actor, &s.agency) {
                    (Some(a), Some(g)) => format!("{a} ({g})"),
                    (Some(a), None) => a.clone(),
                    (None, Some(g)) => g.clone(),
                    (None, None) => "—".to_owned(),
                };
                let outcome = match &s.note {
                    Some(n) if !n.is_empty() => format!("{}: {n}", s.to_status.label_vi()),
                    _ => s.to_status.label_vi().to_owned(),
                };
                vec![
                    (i + 1).to_string(),
                    crate::local_time::wall(s.at)
                        .format("%H:%M %d/%m/%Y")
                        .to_string(),
                    action_label(&s.action).to_owned(),
                    who,
                    outcome,
                ]
            })
            .collect(),
    });
    blocks
}

fn declaration(f: &PaperFacts) -> Vec<Block> {
    let mut blocks = vec![text(format!("Kính gửi: {}", f.agency_name))];
    blocks.extend(applicant(f));
    blocks.push(field("Mã hồ sơ", &f.code));
    let sections = match (&f.form, &f.form_data) {
        (Some(form), Some(data)) => declaration_sections(form, data),
        (None, Some(data)) => vec![("Nội dung kê khai".to_owned(), form_rows(data))],
        _ => Vec::new(),
    };
    let sections: Vec<_> = sections
        .into_iter()
        .filter(|(_, r)| !r.is_empty())
        .collect();
    if sections.is_empty() {
        blocks.push(text(
            "Thủ tục này không có tờ khai điện tử; nội dung kê khai theo thành phần hồ sơ đã nộp.",
        ));
    }
    for (title, rows) in sections {
        blocks.push(text(format!("{title}:")));
        blocks.push(Block::Table {
            columns: vec![
                ("Nội dung".to_owned(), 380),
                ("Thông tin kê khai".to_owned(), 620),
            ],
            rows: rows.into_iter().map(|(k, v)| vec![k, v]).collect(),
        });
    }
    blocks.push(text(
        "Tôi xin cam đoan những thông tin kê khai trên là đúng sự thật và chịu trách nhiệm trước pháp luật.",
    ));
    blocks
}

/// Form data laid out by its form: each section in order with its fields'
/// Vietnamese labels in order (a list of objects item by item, each item's
/// fields labelled by the form's item fields, `/list/0/name`); data the form
/// labels nowhere last, under "Thông tin khác", by its keys.
pub fn declaration_sections(
    form: &FormDefinition,
    data: &Value,
) -> Vec<(String, Vec<(String, String)>)> {
    let fields: Vec<&FormField> = form.sections.iter().flat_map(|s| &s.fields).collect();
    let mut sections = Vec::new();
    for section in &form.sections {
        let mut rows = Vec::new();
        for field in section
            .fields
            .iter()
            .filter(|f| !is_item_template(&f.pointer))
        {
            match data.pointer(&field.pointer) {
                None => {}
                Some(Value::Array(items)) if items.iter().any(Value::is_object) => {
                    item_rows(&mut rows, field, items, &fields);
                }
                Some(value) => rows.push((field.label.clone(), scalar(value))),
            }
        }
        sections.push((section.title.clone(), rows));
    }
    let shown: Vec<&str> = fields
        .iter()
        .filter(|f| !is_item_template(&f.pointer))
        .map(|f| f.pointer.as_str())
        .collect();
    let mut other = Vec::new();
    push_unlabelled(&mut other, &shown, "", "", data);
    if !other.is_empty() {
        sections.push(("Thông tin khác".to_owned(), other));
    }
    sections
}

/// The items of a list field, one row per item field (`Thành viên 2 › Họ
/// tên`), or one per item when the form labels no item field.
fn item_rows(
    rows: &mut Vec<(String, String)>,
    field: &FormField,
    items: &[Value],
    fields: &[&FormField],
) {
    let template = format!("{}/0", field.pointer);
    let parts: Vec<&&FormField> = fields
        .iter()
        .filter(|f| f.pointer.starts_with(&format!("{template}/")))
        .collect();
    for (i, item) in items.iter().enumerate() {
        let head = format!("{} {}", field.label, i + 1);
        if parts.is_empty() {
            rows.push((head, scalar(item)));
            continue;
        }
        for part in &parts {
            let inner = part
                .pointer
                .strip_prefix(template.as_str())
                .unwrap_or_default();
            if let Some(v) = item.pointer(inner) {
                rows.push((format!("{head} › {}", part.label), scalar(v)));
            }
        }
    }
}

/// The leaves of the data no field of the form shows, labelled by their keys.
fn push_unlabelled(
    rows: &mut Vec<(String, String)>,
    shown: &[&str],
    pointer: &str,
    label: &str,
    value: &Value,
) {
    let covered = shown
        .iter()
        .any(|p| pointer == *p || pointer.starts_with(&format!("{p}/")));
    if covered {
        return;
    }
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                let next = format!("{pointer}/{}", key.replace('~', "~0").replace('/', "~1"));
                let name = label_of(key);
                let name = if label.is_empty() {
                    name
                } else {
                    format!("{label} › {name}")
                };
                push_unlabelled(rows, shown, &next, &name, v);
            }
        }
        other if !pointer.is_empty() => rows.push((label.to_owned(), scalar(other))),
        other => rows.push(("Giá trị".to_owned(), scalar(other))),
    }
}

/// The Vietnamese name of a step of the trail.
pub fn action_label(action: &str) -> &str {
    match action {
        "submit" => "Nộp hồ sơ",
        "receive" => "Tiếp nhận hồ sơ",
        "refuse" => "Từ chối tiếp nhận",
        "assign" => "Giao xử lý",
        "request_supplement" => "Yêu cầu bổ sung",
        "supplement" => "Bổ sung hồ sơ",
        "propose" => "Trình phê duyệt",
        "approve" => "Phê duyệt",
        "send_back" => "Trả lại để xử lý lại",
        "reject" => "Từ chối giải quyết",
        "issue_result" => "Ban hành kết quả",
        "return" => "Trả kết quả",
        "withdraw" => "Rút hồ sơ",
        "cancel" => "Hủy hồ sơ",
        "transfer" => "Chuyển cơ quan giải quyết",
        "apology" => "Xin lỗi, hẹn lại ngày trả",
        other => other,
    }
}

/// Form data as labelled lines: each field of an object (nested ones with
/// their parent's label first), lists joined with `; `.
pub fn form_rows(data: &Value) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    push_rows(&mut rows, "", data);
    rows
}

fn push_rows(rows: &mut Vec<(String, String)>, prefix: &str, value: &Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                let label = label_of(key);
                let label = if prefix.is_empty() {
                    label
                } else {
                    format!("{prefix} › {label}")
                };
                push_rows(rows, &label, v);
            }
        }
        other => rows.push((
            if prefix.is_empty() {
                "Giá trị".to_owned()
            } else {
                prefix.to_owned()
            },
            scalar(other),
        )),
    }
}

fn scalar(value: &Value) -> String {
    match value {
        Value::Null => "—".to_owned(),
        Value::Bool(true) => "Có".to_owned(),
        Value::Bool(false) => "Không".to_owned(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(scalar).collect::<Vec<_>>().join("; "),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| format!("{}: {}", label_of(k), scalar(v)))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// `venue_address` → `Venue address`: a field name read as a label.
fn label_of(key: &str) -> String {
    capitalised(&key.replace('_', " "))
}
