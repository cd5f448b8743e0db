//! Language of human-readable texts: Vietnamese by default, English on request.

use actix_web::HttpRequest;
use actix_web::http::header::ACCEPT_LANGUAGE;
use motcua_domain::validation::Problem;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Vi,
    En,
}

impl Lang {
    /// Picks the preferred supported language of an `Accept-Language` header.
    pub fn from_header(header: Option<&str>) -> Lang {
        let Some(header) = header else {
            return Lang::Vi;
        };
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',') {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = pieces
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            let lang = match tag.split('-').next() {
                Some("vi") => Lang::Vi,
                Some("en") => Lang::En,
                _ => continue,
            };
            if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::Vi, |(_, lang)| lang)
    }

    pub fn of(req: &HttpRequest) -> Lang {
        Lang::from_header(
            req.headers()
                .get(ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok()),
        )
    }

    pub fn pick<'a>(self, vi: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Vi => vi,
            Lang::En => en,
        }
    }
}

/// A text in both languages, chosen when the response is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Localized {
    pub vi: String,
    pub en: String,
}

impl Localized {
    pub fn new(vi: impl Into<String>, en: impl Into<String>) -> Self {
        Self {
            vi: vi.into(),
            en: en.into(),
        }
    }

    /// A technical text that is the same in both languages.
    pub fn same(text: impl Into<String>) -> Self {
        let text = text.into();
        Self {
            vi: text.clone(),
            en: text,
        }
    }

    pub fn get(&self, lang: Lang) -> &str {
        lang.pick(&self.vi, &self.en)
    }
}

/// Message for a field problem, in the caller's language.
pub fn field_message(problem: &Problem, lang: Lang) -> String {
    match (problem, lang) {
        (Problem::Required, Lang::Vi) => "Trường này là bắt buộc.".into(),
        (Problem::Required, Lang::En) => "This field is required.".into(),
        (Problem::TooShort { min }, Lang::Vi) => format!("Cần ít nhất {min} ký tự."),
        (Problem::TooShort { min }, Lang::En) => format!("Must have at least {min} characters."),
        (Problem::TooLong { max }, Lang::Vi) => format!("Không được quá {max} ký tự."),
        (Problem::TooLong { max }, Lang::En) => format!("Must have at most {max} characters."),
        (Problem::OutOfRange { min, max }, Lang::Vi) => {
            format!("Phải nằm trong khoảng {min} đến {max}.")
        }
        (Problem::OutOfRange { min, max }, Lang::En) => format!("Must be between {min} and {max}."),
        (Problem::InvalidFormat { expected }, Lang::Vi) => {
            format!("Sai định dạng (ví dụ đúng: {expected}).")
        }
        (Problem::InvalidFormat { expected }, Lang::En) => {
            format!("Invalid format (expected like: {expected}).")
        }
        (Problem::NotAllowed { allowed }, Lang::Vi) => format!(
            "Giá trị không được chấp nhận; chọn một trong: {}.",
            allowed.join(", ")
        ),
        (Problem::NotAllowed { allowed }, Lang::En) => {
            format!("Value not accepted; use one of: {}.", allowed.join(", "))
        }
        (Problem::Duplicate, Lang::Vi) => "Giá trị bị trùng lặp.".into(),
        (Problem::Duplicate, Lang::En) => "Duplicate value.".into(),
        (Problem::Rule { rule }, lang) => rule_message(rule, lang).to_owned(),
    }
}

/// Codes of the generic field problems (`Problem`'s own variants).
pub const PROBLEM_CODES: &[&str] = &[
    "required",
    "too_short",
    "too_long",
    "out_of_range",
    "invalid_format",
    "not_allowed",
    "duplicate",
];

/// Named rules of the domain and the API, with their Vietnamese and English
/// messages. The document's `FieldErrorCode` enum is generated from this table,
/// and a test fails when a rule used in the code is missing from it.
pub const RULES: &[(&str, &str, &str)] = &[
    (
        "credentials_twice",
        "Gửi thông tin xác thực ứng dụng qua Authorization: Basic hoặc trong nội dung, không cả hai.",
        "Send the client credentials with Authorization: Basic or in the body, not both.",
    ),
    (
        "invalid_citizen_id",
        "Số định danh cá nhân phải gồm đúng 12 chữ số, bắt đầu bằng mã tỉnh hợp lệ.",
        "A citizen ID number has exactly 12 digits starting with a valid province code.",
    ),
    (
        "invalid_tax_code",
        "Mã số thuế gồm 10 chữ số (hoặc 10 chữ số, dấu gạch ngang và 3 chữ số đối với chi nhánh) với chữ số kiểm tra hợp lệ.",
        "A tax code has 10 digits (or 10 digits, a dash and 3 digits for a branch) with a valid check digit.",
    ),
    (
        "not_for_organizations",
        "Tổ chức không có thông tin này; chỉ cá nhân mới khai.",
        "Organisations have no such detail; only people give it.",
    ),
    (
        "person_or_organization",
        "Người nộp là cá nhân (số định danh) hoặc tổ chức (mã số thuế), không phải cả hai.",
        "An applicant is a person (citizen ID number) or an organisation (tax code), not both.",
    ),
    (
        "committed_exceeds_regulated",
        "Thời hạn cam kết không được dài hơn thời hạn theo quy định.",
        "The committed time cannot exceed the regulated time.",
    ),
    (
        "no_original_nor_copy",
        "Cần ít nhất một bản chính hoặc bản sao.",
        "At least one original or copy is needed.",
    ),
    (
        "password_only_digits",
        "Mật khẩu không được chỉ gồm chữ số.",
        "The password cannot be digits only.",
    ),
    (
        "password_equals_username",
        "Mật khẩu không được trùng tên đăng nhập.",
        "The password cannot equal the username.",
    ),
    (
        "implausible_date_of_birth",
        "Ngày sinh không hợp lệ.",
        "Implausible date of birth.",
    ),
    (
        "unknown_agency",
        "Không tìm thấy cơ quan có mã này.",
        "No agency has this code.",
    ),
    (
        "agency_required",
        "Cần chỉ rõ cơ quan giải quyết.",
        "The handling agency must be given.",
    ),
    (
        "agency_not_allowed",
        "Vai trò này không thuộc cơ quan nào.",
        "This role does not belong to an agency.",
    ),
    (
        "code_mismatch",
        "Mã trong nội dung khác mã trên đường dẫn.",
        "The code in the body differs from the one in the path.",
    ),
    (
        "role_change_not_allowed",
        "Không thể đổi vai trò của tài khoản công dân hoặc tài khoản tích hợp.",
        "Citizen and integration accounts cannot change role.",
    ),
    (
        "cannot_lock_yourself",
        "Không thể tự khóa hoặc tự bỏ quyền quản trị của mình.",
        "You cannot lock yourself or drop your own admin role.",
    ),
    (
        "unknown_procedure",
        "Không có thủ tục với mã này.",
        "No procedure has this code.",
    ),
    (
        "procedure_abolished",
        "Thủ tục đã bị bãi bỏ.",
        "The procedure has been abolished.",
    ),
    (
        "online_not_offered",
        "Thủ tục này không cung cấp dịch vụ công trực tuyến.",
        "This procedure is not offered online.",
    ),
    (
        "agency_mismatch",
        "Thủ tục này do cơ quan khác giải quyết.",
        "Another agency handles this procedure.",
    ),
    (
        "applicant_is_you",
        "Công dân nộp hồ sơ cho chính mình; không ghi người nộp.",
        "Citizens file for themselves; leave the applicant out.",
    ),
    (
        "unknown_requirement",
        "Thủ tục không có thành phần hồ sơ này.",
        "The procedure has no such required document.",
    ),
    (
        "paper_not_online",
        "Hồ sơ trực tuyến không nhận bản giấy.",
        "Online dossiers take no paper documents.",
    ),
    (
        "paper_or_file",
        "Chọn bản giấy hoặc tệp, không cả hai.",
        "Either paper or a file, not both.",
    ),
    (
        "not_reusable",
        "Thành phần này không được dùng lại từ kho dữ liệu.",
        "This document cannot be reused from the store.",
    ),
    (
        "document_not_usable",
        "Không dùng được tài liệu này.",
        "This document cannot be used here.",
    ),
    (
        "missing_document",
        "Thiếu thành phần hồ sơ bắt buộc.",
        "A required document is missing.",
    ),
    ("unknown_fee", "Không có khoản phí này.", "No such fee."),
    (
        "reason_required",
        "Cần ghi rõ lý do.",
        "A reason is required.",
    ),
    (
        "not_in_handling_agency",
        "Không thuộc cơ quan đang giải quyết hồ sơ.",
        "Not part of the agency handling the dossier.",
    ),
    (
        "deadline_in_past",
        "Hạn bổ sung phải sau hôm nay.",
        "The deadline must be after today.",
    ),
    (
        "same_agency",
        "Hồ sơ đang ở cơ quan này.",
        "The dossier is already at this agency.",
    ),
    (
        "result_required",
        "Cần tệp kết quả, hoặc ghi nhận kết quả bản giấy.",
        "Attach the result, or mark it as paper only.",
    ),
    (
        "not_a_future_working_day",
        "Ngày hẹn phải là ngày làm việc từ hôm nay trở đi.",
        "The appointment must be a working day from today on.",
    ),
    (
        "holiday_on_weekend",
        "Ngày nghỉ lễ chỉ đặt vào ngày thường (thứ Hai đến thứ Sáu).",
        "A holiday goes on a weekday (Monday to Friday).",
    ),
    (
        "working_on_weekday",
        "Ngày làm bù chỉ đặt vào thứ Bảy hoặc Chủ nhật.",
        "A make-up working day goes on a Saturday or Sunday.",
    ),
    (
        "amount_mismatch",
        "Số tiền khác số phí còn phải nộp.",
        "The amount differs from the fees still due.",
    ),
    (
        "amount_not_positive",
        "Số tiền phải là số nguyên dương (đồng).",
        "The amount must be a positive whole number of đồng.",
    ),
    (
        "amount_too_large",
        "Số tiền quá lớn.",
        "The amount is too large.",
    ),
    (
        "invalid_type",
        "Kiểu dữ liệu không đúng.",
        "Wrong data type.",
    ),
    (
        "unknown_field",
        "Trường không được hỗ trợ.",
        "Unsupported field.",
    ),
    ("invalid_value", "Giá trị không hợp lệ.", "Invalid value."),
    (
        "invalid_date",
        "Ngày không hợp lệ (định dạng YYYY-MM-DD).",
        "Invalid date (format YYYY-MM-DD).",
    ),
    (
        "before_from",
        "Ngày kết thúc không được trước ngày bắt đầu.",
        "The end date cannot be before the start date.",
    ),
    ("empty_file", "Tệp rỗng.", "The file is empty."),
    (
        "not_in_sector",
        "Thủ tục không thuộc lĩnh vực này.",
        "The procedure is not in this sector.",
    ),
    (
        "period_or_dates",
        "Chọn kỳ báo cáo hoặc khoảng ngày, không cả hai.",
        "Give a period or a date range, not both.",
    ),
    (
        "range_too_long",
        "Khoảng thời gian quá dài.",
        "The date range is too long.",
    ),
    (
        "staff_only",
        "Chỉ cán bộ được dùng tham số này.",
        "Only staff may use this parameter.",
    ),
    (
        "too_many_points",
        "Quá nhiều điểm dữ liệu; chọn khoảng ngắn hơn hoặc bước lớn hơn.",
        "Too many data points; choose a shorter range or a coarser step.",
    ),
    (
        "unknown_sector",
        "Không có lĩnh vực với mã này.",
        "No sector has this code.",
    ),
];

/// Every code a field error can carry, as published in the document.
pub struct FieldErrorCode;

impl utoipa::PartialSchema for FieldErrorCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let codes = PROBLEM_CODES
            .iter()
            .copied()
            .chain(RULES.iter().map(|(code, _, _)| *code));
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some(
                "Stable code of a field problem: a generic one (`required`, `too_long`…) or a named rule.",
            ))
            .enum_values(Some(codes))
            .into()
    }
}

impl utoipa::ToSchema for FieldErrorCode {
    fn name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("FieldErrorCode")
    }
}

/// Named rules of the domain and the API.
fn rule_message(rule: &str, lang: Lang) -> &'static str {
    let (vi, en) = RULES.iter().find(|(code, _, _)| *code == rule).map_or(
        ("Giá trị không hợp lệ.", "Invalid value."),
        |(_, vi, en)| (*vi, *en),
    );
    lang.pick(vi, en)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `Problem::rule("…")` written anywhere in the workspace has a
    /// message in both languages, and no rule is listed twice.
    #[test]
    fn every_rule_has_both_messages() {
        let mut seen = std::collections::HashSet::new();
        for (code, vi, en) in RULES {
            assert!(seen.insert(*code), "{code} listed twice");
            assert!(!vi.is_empty() && !en.is_empty() && vi != en, "{code}");
            assert!(
                !PROBLEM_CODES.contains(code),
                "{code} shadows a generic code"
            );
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut used = std::collections::BTreeSet::new();
        let mut dirs = vec![root];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    for (i, _) in text.match_indices("rule(\"") {
                        let rest = &text[i + 6..];
                        let name: String = rest
                            .chars()
                            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                            .collect();
                        if rest[name.len()..].starts_with('"') && !name.is_empty() {
                            used.insert(name);
                        }
                    }
                }
            }
        }
        assert!(used.len() > 20, "found only {used:?}");
        let missing: Vec<_> = used.iter().filter(|r| !seen.contains(r.as_str())).collect();
        assert!(missing.is_empty(), "rules without messages: {missing:?}");
    }

    #[test]
    fn accept_language() {
        let cases = [
            (None, Lang::Vi),
            (Some("en"), Lang::En),
            (Some("en-US,en;q=0.9"), Lang::En),
            (Some("fr, en;q=0.5"), Lang::En),
            (Some("vi-VN, en;q=0.8"), Lang::Vi),
            (Some("en;q=0.2, vi;q=0.9"), Lang::Vi),
            (Some("de"), Lang::Vi),
            (Some("en;q=0"), Lang::Vi),
            (Some("garbage;;;"), Lang::Vi),
        ];
        for (header, want) in cases {
            assert_eq!(Lang::from_header(header), want, "{header:?}");
        }
    }
}
