//! Input rules, each defined once. The server checks a value with a rule's
//! own `check`, and (with the `openapi` feature) the OpenAPI document
//! publishes the schema the same rule builds from the same constants: request
//! types name a rule with `#[schema(value_type = …)]` instead of repeating its
//! numbers. Values stay plain strings and integers on the wire.
//!
//! Texts are trimmed before they are measured; a `…OrBlank` rule is the same
//! text where the field is optional and a blank value means "not given".
//!
//! Here the generic rules (texts, credential lengths, integer ranges);
//! `formats` the values checked by their shape (citizen IDs, tax codes,
//! phones, e-mails, codes), `credentials` account names, passwords and
//! one-time codes; with the `openapi` feature `schema` builds the schemas and
//! `named_schemas` publishes those of `formats` and `credentials`.

use crate::validation::{FieldErrors, Problem};

mod credentials;
mod formats;
#[cfg(feature = "openapi")]
mod named_schemas;
#[cfg(feature = "openapi")]
mod schema;

pub use credentials::{OneTimeCode, Password, Username};
pub use formats::{
    AgencyCode, CitizenIdNumber, CitizenIdNumberOrBlank, ContactOrBlank, Email, EmailOrBlank,
    PhoneNumber, PhoneNumberOrBlank, ProcedureCode, TaxCodeNumber, TaxCodeNumberOrBlank,
};

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

#[cfg(test)]
mod tests;
