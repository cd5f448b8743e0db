//! Input rules, each defined once. The server checks a value with a rule's
//! own `check`, and (with the `openapi` feature) the OpenAPI document
//! publishes the schema the same rule builds from the same constants: request
//! types name a rule with `#[schema(value_type = …)]` instead of repeating its
//! numbers. Values stay plain strings and integers on the wire.
//!
//! Texts are trimmed before they are measured; a `…OrBlank` rule is the same
//! text where the field is optional and a blank value means "not given".

use crate::identity::{CitizenId, PROVINCE_PREFIXES, TaxCode, normalize_phone};
use crate::validation::{FieldErrors, Problem};

/// A human text: trimmed, 1 to `MAX` characters.
pub trait TextRule {
    const MAX: u64;

    /// Required: blank is `required`, longer than `MAX` is `too_long`.
    fn check(errors: &mut FieldErrors, field: &str, value: &str) {
        errors.text(field, value, Self::MAX);
    }

    /// Optional: absent or blank passes, longer than `MAX` is `too_long`.
    fn check_optional(errors: &mut FieldErrors, field: &str, value: Option<&str>) {
        if let Some(value) = value.filter(|v| !v.trim().is_empty()) {
            errors.text(field, value, Self::MAX);
        }
    }
}

/// An integer accepted within `MIN..=MAX` (`out_of_range` otherwise).
pub trait RangeRule {
    const MIN: i64;
    const MAX: i64;

    fn contains(value: i64) -> bool {
        (Self::MIN..=Self::MAX).contains(&value)
    }

    fn problem() -> Problem {
        Problem::OutOfRange {
            min: Self::MIN,
            max: Self::MAX,
        }
    }

    fn check(errors: &mut FieldErrors, field: &str, value: i64) {
        if !Self::contains(value) {
            errors.add(field, Self::problem());
        }
    }
}

/// Matches what `str::trim` leaves non-empty: at least one non-space character.
pub const NOT_BLANK: &str = r"\S";

macro_rules! text_rules {
    ($($(#[doc = $doc:literal])* $name:ident, $blank:ident = $max:expr;)+) => {$(
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name;
        impl TextRule for $name {
            const MAX: u64 = $max;
        }
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                schema::text(Some(1), $name::MAX, Some(NOT_BLANK), concat!($($doc, "\n",)* ""))
            }
        }
        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {
            fn name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }
        }
        #[doc = concat!("[`", stringify!($name), "`] where the field is optional: blank means not given.")]
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $blank;
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $blank {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                schema::text(
                    None,
                    $name::MAX,
                    None,
                    concat!($($doc, "\n",)* "Blank means not given."),
                )
            }
        }
        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $blank {
            fn name() -> std::borrow::Cow<'static, str> {
                stringify!($blank).into()
            }
        }
    )+};
}

text_rules! {
    /// A person's or organisation's full name (trimmed, at most 200 characters).
    PersonName, PersonNameOrBlank = 200;
    /// A short title: a feedback subject, a holiday's name (at most 200 characters).
    ShortText, ShortTextOrBlank = 200;
    /// A message: feedback, its answer, a request for information (at most 5000 characters).
    Message, MessageOrBlank = 5000;
    /// A reason or remark kept on record (at most 500 characters).
    Reason, ReasonOrBlank = 500;
    /// A processing note on a dossier (at most 2000 characters).
    Note, NoteOrBlank = 2000;
    /// A comment with a rating (at most 1000 characters).
    Comment, CommentOrBlank = 1000;
    /// A counter receipt number (at most 50 characters).
    ReceiptNumber, ReceiptNumberOrBlank = 50;
    /// The name of a procedure, its result, or a fee (at most 500 characters).
    ProcedureName, ProcedureNameOrBlank = 500;
    /// A sector (lĩnh vực) name (at most 200 characters).
    SectorName, SectorNameOrBlank = 200;
    /// A paragraph of a procedure: a step, a legal basis, a document's name (at most 2000 characters).
    Paragraph, ParagraphOrBlank = 2000;
    /// A fee's code within its procedure (at most 20 characters).
    FeeCode, FeeCodeOrBlank = 20;
    /// An agency's name (at most 300 characters).
    AgencyName, AgencyNameOrBlank = 300;
}

macro_rules! length_rules {
    ($($(#[doc = $doc:literal])* $name:ident = $min:expr, $max:expr;)+) => {$(
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name;
        impl $name {
            pub const MIN: u64 = $min;
            pub const MAX: u64 = $max;
        }
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                schema::text(
                    usize::try_from($name::MIN).ok().filter(|m| *m > 0),
                    $name::MAX,
                    None,
                    concat!($($doc, "\n",)* ""),
                )
            }
        }
        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {
            fn name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }
        }
    )+};
}

// Credentials are measured as sent (nothing is trimmed from a secret), with
// `validator`'s `length(min = Rule::MIN, max = Rule::MAX)`.
length_rules! {
    /// A sign-in name as sent: a citizen ID number or an account name (1 to 200 characters).
    SignInName = 1, 200;
    /// A password or client secret as sent (1 to 256 characters).
    Secret = 1, 256;
    /// An opaque token or client identifier as sent (1 to 200 characters).
    OpaqueToken = 1, 200;
    /// An OAuth2 scope list as sent (at most 200 characters).
    ScopeList = 0, 200;
}

macro_rules! range_rules {
    ($($(#[doc = $doc:literal])* $name:ident = $min:expr, $max:expr;)+) => {$(
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name;
        impl RangeRule for $name {
            const MIN: i64 = $min;
            const MAX: i64 = $max;
        }
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                schema::integer($name::MIN, $name::MAX, concat!($($doc, "\n",)* ""))
            }
        }
        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {
            fn name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }
        }
    )+};
}

range_rules! {
    /// An amount of money in đồng paid or refunded (1 to 10 billion).
    AmountVnd = 1, crate::payment::MAX_AMOUNT_VND;
    /// A fee's amount in đồng (1 to 1,000 billion).
    FeeAmountVnd = 1, crate::procedure::MAX_FEE_VND;
    /// A processing time in days (0 to 365).
    ProcessingDays = 0, crate::procedure::MAX_DAYS as i64;
    /// A calendar year the working calendar covers.
    YearNumber = 2000, 2100;
    /// Open dossiers due within this many working days (0 = today).
    DueWithinDays = 0, crate::handling::MAX_DUE_WITHIN as i64;
}

/// A 12-digit citizen ID number whose first three digits are a province code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CitizenIdNumber;

impl CitizenIdNumber {
    /// `^(001|002|…)[0-9]{9}$`, from the same province list the parser uses.
    pub fn pattern() -> String {
        let prefixes: Vec<String> = PROVINCE_PREFIXES
            .iter()
            .map(|p| format!("{p:03}"))
            .collect();
        format!("^({})[0-9]{{9}}$", prefixes.join("|"))
    }

    pub fn check(errors: &mut FieldErrors, field: &str, value: &str) -> Option<CitizenId> {
        let parsed = CitizenId::parse(value).ok();
        if parsed.is_none() {
            errors.add(
                field,
                Problem::rule(crate::rule::RuleCode::InvalidCitizenId),
            );
        }
        parsed
    }
}

/// [`CitizenIdNumber`] where the field is optional: blank means not given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CitizenIdNumberOrBlank;

/// [`TaxCodeNumber`] where the field is optional: blank means not given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaxCodeNumberOrBlank;

/// A tax code: 10 digits, or 10 and a 3-digit branch (`0314409058-002`).
/// The check digit is verified too, which a pattern cannot say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaxCodeNumber;

impl TaxCodeNumber {
    pub const PATTERN: &str = "^[0-9]{10}(-[0-9]{3})?$";

    pub fn parse(value: &str) -> Option<TaxCode> {
        TaxCode::parse(value).ok()
    }
}

/// A Vietnamese phone number: a 10-digit mobile `0[35789]…` or an 11-digit
/// landline `02…`, written nationally or with `+84`/`84`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhoneNumber;

/// [`PhoneNumber`] where the field is optional: blank means not given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhoneNumberOrBlank;

impl PhoneNumber {
    /// The national significant number: mobile or landline.
    const SUBSCRIBER: &str = "([35789][0-9]{8}|2[0-9]{9})";
    pub const EXAMPLE: &str = "0912345678";

    pub fn pattern() -> String {
        format!(r"^(\+84|84|0){}$", Self::SUBSCRIBER)
    }

    /// The number in national form, or `invalid_format`.
    pub fn check(errors: &mut FieldErrors, field: &str, value: &str) -> Option<String> {
        let phone = normalize_phone(value.trim());
        if phone.is_none() {
            errors.add(field, Problem::format(Self::EXAMPLE));
        }
        phone
    }

    /// Absent or blank passes as `None`.
    pub fn check_optional(
        errors: &mut FieldErrors,
        field: &str,
        value: Option<&str>,
    ) -> Option<String> {
        value
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .and_then(|v| Self::check(errors, field, v))
    }
}

/// An e-mail address, checked for shape only (deliverability is not ours).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Email;

/// [`Email`] where the field is optional: blank means not given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmailOrBlank;

impl Email {
    pub const MAX: u64 = 254;
    /// Something before the first `@`, then a domain with a dot neither first nor last; no spaces.
    pub const PATTERN: &str = r"^[^@\s]+@[^\s.]\S*\.\S*[^\s.]$";
    pub const EXAMPLE: &str = "name@example.vn";

    pub fn is_valid(value: &str) -> bool {
        match value.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && value.chars().count() as u64 <= Self::MAX
                    && !value.chars().any(char::is_whitespace)
            }
            None => false,
        }
    }

    /// Absent or blank passes as `None`; a valid address comes back lower-cased.
    pub fn check_optional(
        errors: &mut FieldErrors,
        field: &str,
        value: Option<&str>,
    ) -> Option<String> {
        let value = value.map(str::trim).filter(|v| !v.is_empty())?;
        if Self::is_valid(value) {
            Some(value.to_lowercase())
        } else {
            errors.add(field, Problem::format(Self::EXAMPLE));
            None
        }
    }
}

/// A phone number or an e-mail address to answer on ([`PhoneNumber`] or
/// [`Email`]), optional: blank means not given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContactOrBlank;

impl ContactOrBlank {
    pub fn pattern() -> String {
        let inner = |p: &str| p.trim_start_matches('^').trim_end_matches('$').to_owned();
        format!(
            r"^(\s*|{}|{})$",
            inner(&PhoneNumber::pattern()),
            inner(Email::PATTERN)
        )
    }

    /// The phone number in national form or the address lower-cased;
    /// absent or blank passes as `None`.
    pub fn check(errors: &mut FieldErrors, field: &str, value: Option<&str>) -> Option<String> {
        let value = value.map(str::trim).filter(|v| !v.is_empty())?;
        let contact = if value.contains('@') {
            Email::is_valid(value).then(|| value.to_lowercase())
        } else {
            normalize_phone(value)
        };
        if contact.is_none() {
            errors.add(field, Problem::format("phone 0xxxxxxxxx or e-mail"));
        }
        contact
    }
}

/// A password: 10 to 128 characters, not only digits, not the account's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Password;

impl Password {
    pub const MIN: u64 = 10;
    pub const MAX: u64 = 128;
    /// At least one character that is not an ASCII digit.
    pub const PATTERN: &str = "[^0-9]";

    pub fn check(errors: &mut FieldErrors, field: &str, password: &str, username: &str) {
        let len = password.chars().count() as u64;
        if len < Self::MIN {
            errors.add(field, Problem::TooShort { min: Self::MIN });
        } else if len > Self::MAX {
            errors.add(field, Problem::TooLong { max: Self::MAX });
        } else if password.chars().all(|c| c.is_ascii_digit()) {
            errors.add(
                field,
                Problem::rule(crate::rule::RuleCode::PasswordOnlyDigits),
            );
        } else if password.eq_ignore_ascii_case(username) {
            errors.add(
                field,
                Problem::rule(crate::rule::RuleCode::PasswordEqualsUsername),
            );
        }
    }
}

/// A staff or service account name: 3 to 64 of `a-z 0-9 . _ -` (upper case is folded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Username;

impl Username {
    pub const MIN: usize = 3;
    pub const MAX: usize = 64;

    pub fn pattern() -> String {
        format!("^[a-z0-9._-]{{{},{}}}$", Self::MIN, Self::MAX)
    }

    pub fn check(errors: &mut FieldErrors, field: &str, username: &str) {
        let ok = (Self::MIN..=Self::MAX).contains(&username.len())
            && username
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
        if !ok {
            errors.add(field, Problem::format("3-64 characters: a-z 0-9 . _ -"));
        }
    }
}

/// A national procedure code: `1.001029`, `2.000500` (1–2 digits, a dot, 5–7 digits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcedureCode;

impl ProcedureCode {
    pub const PATTERN: &str = r"^[0-9]{1,2}\.[0-9]{5,7}$";

    pub fn is_valid(code: &str) -> bool {
        crate::procedure::is_valid_procedure_code(code)
    }
}

/// An agency's electronic code (QCVN 102:2016/BTTTT), e.g. `000.00.20.H12`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgencyCode;

impl AgencyCode {
    pub const PATTERN: &str = r"^[0-9]{3}\.[0-9]{2}\.[0-9]{2}\.[A-Z][0-9]{2}$";

    pub fn is_valid(code: &str) -> bool {
        crate::identity::is_valid_agency_code(code)
    }
}

/// A one-time code as received: `OTP_DIGITS` digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OneTimeCode;

impl OneTimeCode {
    pub fn pattern() -> String {
        format!("^[0-9]{{{}}}$", crate::access::OTP_DIGITS)
    }

    pub fn is_valid(code: &str) -> bool {
        code.len() == crate::access::OTP_DIGITS && code.bytes().all(|b| b.is_ascii_digit())
    }
}

#[cfg(feature = "openapi")]
mod schema {
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::{Object, ObjectBuilder, Schema, SchemaType, Type};

    fn done(object: Object) -> RefOr<Schema> {
        RefOr::T(Schema::Object(object))
    }

    fn string(description: &str) -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::String))
            .description(Some(description.trim()))
    }

    pub fn text(
        min: Option<usize>,
        max: u64,
        pattern: Option<&str>,
        description: &str,
    ) -> RefOr<Schema> {
        done(
            string(description)
                .min_length(min)
                .max_length(usize::try_from(max).ok())
                .pattern(pattern)
                .build(),
        )
    }

    pub fn integer(min: i64, max: i64, description: &str) -> RefOr<Schema> {
        done(
            ObjectBuilder::new()
                .schema_type(SchemaType::new(Type::Integer))
                .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                    utoipa::openapi::KnownFormat::Int64,
                )))
                .minimum(Some(min))
                .maximum(Some(max))
                .description(Some(description.trim()))
                .build(),
        )
    }

    pub fn pattern(
        pattern: String,
        max: Option<u64>,
        example: &str,
        description: &str,
    ) -> RefOr<Schema> {
        done(
            string(description)
                .pattern(Some(pattern))
                .max_length(max.and_then(|m| usize::try_from(m).ok()))
                .examples([example])
                .build(),
        )
    }

    /// `^(?:\s*|…)$`: the pattern, or blank (optional fields).
    pub fn or_blank(pattern: &str) -> String {
        let inner = pattern.trim_start_matches('^').trim_end_matches('$');
        format!(r"^(\s*|{inner})$")
    }
}

#[cfg(feature = "openapi")]
mod schemas {
    use super::*;
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::Schema;

    macro_rules! named {
        ($($name:ident => $schema:expr;)+) => {$(
            impl utoipa::PartialSchema for $name {
                fn schema() -> RefOr<Schema> {
                    $schema
                }
            }
            impl utoipa::ToSchema for $name {
                fn name() -> std::borrow::Cow<'static, str> {
                    stringify!($name).into()
                }
            }
        )+};
    }

    named! {
        CitizenIdNumber => schema::pattern(
            CitizenIdNumber::pattern(),
            None,
            "079203001234",
            "A 12-digit citizen ID number (số định danh cá nhân); the first three digits are a province code.",
        );
        CitizenIdNumberOrBlank => schema::pattern(
            schema::or_blank(&CitizenIdNumber::pattern()),
            None,
            "079203001234",
            "A citizen ID number (see `CitizenIdNumber`); blank means not given.",
        );
        TaxCodeNumberOrBlank => schema::pattern(
            schema::or_blank(TaxCodeNumber::PATTERN),
            None,
            "0100233488",
            "A tax code (see `TaxCodeNumber`); blank means not given.",
        );
        TaxCodeNumber => schema::pattern(
            TaxCodeNumber::PATTERN.to_owned(),
            None,
            "0100233488",
            "A tax code: 10 digits, the last a check digit, or 10 and a 3-digit branch (`0314409058-002`).",
        );
        PhoneNumber => schema::pattern(
            PhoneNumber::pattern(),
            None,
            PhoneNumber::EXAMPLE,
            "A Vietnamese phone number: mobile `0[35789]` and 8 digits, or landline `02` and 9 digits; `+84` or `84` may replace the leading 0.",
        );
        PhoneNumberOrBlank => schema::pattern(
            schema::or_blank(&PhoneNumber::pattern()),
            None,
            PhoneNumber::EXAMPLE,
            "A Vietnamese phone number (see `PhoneNumber`); blank means not given.",
        );
        Email => schema::pattern(
            Email::PATTERN.to_owned(),
            Some(Email::MAX),
            Email::EXAMPLE,
            "An e-mail address (shape only).",
        );
        EmailOrBlank => schema::pattern(
            schema::or_blank(Email::PATTERN),
            Some(Email::MAX),
            Email::EXAMPLE,
            "An e-mail address (shape only); blank means not given.",
        );
        ContactOrBlank => schema::pattern(
            ContactOrBlank::pattern(),
            Some(Email::MAX),
            PhoneNumber::EXAMPLE,
            "A phone number (see `PhoneNumber`) or an e-mail address (see `Email`); blank means not given.",
        );
        Password => RefOr::T(Schema::Object(
            utoipa::openapi::schema::ObjectBuilder::new()
                .schema_type(utoipa::openapi::schema::SchemaType::new(utoipa::openapi::schema::Type::String))
                .min_length(usize::try_from(Password::MIN).ok())
                .max_length(usize::try_from(Password::MAX).ok())
                .pattern(Some(Password::PATTERN))
                .description(Some("10 to 128 characters, not only digits, not the account's own name."))
                .build(),
        ));
        Username => schema::pattern(
            Username::pattern(),
            None,
            "canbo.vhttdl",
            "An account name: 3 to 64 of `a-z 0-9 . _ -`.",
        );
        ProcedureCode => schema::pattern(
            ProcedureCode::PATTERN.to_owned(),
            None,
            "1.001029",
            "A national procedure code: 1–2 digits, a dot, 5–7 digits.",
        );
        AgencyCode => schema::pattern(
            AgencyCode::PATTERN.to_owned(),
            None,
            "000.00.20.H56",
            "An agency's electronic code (QCVN 102:2016/BTTTT): groups of 3, 2 and 2 digits, then a capital letter and 2 digits.",
        );
        OneTimeCode => schema::pattern(
            OneTimeCode::pattern(),
            None,
            "042917",
            "The digits of a one-time code as received.",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_and_blank_forms() {
        assert!(CitizenIdNumber::pattern().starts_with("^(001|002|004|"));
        assert_eq!(
            PhoneNumber::pattern(),
            r"^(\+84|84|0)([35789][0-9]{8}|2[0-9]{9})$"
        );
        assert_eq!(Username::pattern(), "^[a-z0-9._-]{3,64}$");
        assert_eq!(OneTimeCode::pattern(), "^[0-9]{6}$");
    }

    #[test]
    fn text_rules_measure_trimmed_characters() {
        let mut e = FieldErrors::new();
        PersonName::check(&mut e, "a", &"ễ".repeat(200));
        PersonName::check_optional(&mut e, "b", Some("  "));
        PersonName::check_optional(&mut e, "c", None);
        assert!(e.is_empty());
        PersonName::check(&mut e, "d", &"ễ".repeat(201));
        PersonName::check(&mut e, "e", " ");
        let codes: Vec<String> = e
            .into_vec()
            .iter()
            .map(|e| format!("{}:{}", e.field, e.problem.code()))
            .collect();
        assert_eq!(codes, ["d:too_long", "e:required"]);
    }

    #[test]
    fn emails() {
        assert!(Email::is_valid("a@b.vn"));
        assert!(!Email::is_valid("a@b"));
        assert!(!Email::is_valid("a b@c.vn"));
        assert!(!Email::is_valid("a@.b.vn"));
    }
}
