//! Language of human-readable texts: Vietnamese by default, English on request.

use actix_web::HttpRequest;
use actix_web::http::header::ACCEPT_LANGUAGE;
use motcua_domain::rule::RuleCode;
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
        (Problem::Rule { rule }, lang) => {
            lang.pick(rule.message_vi(), rule.message_en()).to_owned()
        }
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

/// Every code a field error can carry, as published in the document.
pub struct FieldErrorCode;

impl utoipa::PartialSchema for FieldErrorCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let codes = PROBLEM_CODES
            .iter()
            .copied()
            .chain(RuleCode::ALL.iter().map(|rule| rule.as_str()));
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Rule messages come from the domain's table, in the caller's language.
    #[test]
    fn rule_messages_in_both_languages() {
        for rule in RuleCode::ALL {
            let problem = Problem::rule(*rule);
            assert_eq!(field_message(&problem, Lang::Vi), rule.message_vi());
            assert_eq!(field_message(&problem, Lang::En), rule.message_en());
            assert!(
                !PROBLEM_CODES.contains(&rule.as_str()),
                "{rule} shadows a generic code"
            );
        }
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
