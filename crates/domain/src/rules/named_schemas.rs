//! The schemas of the rules in `formats` and `credentials` (`openapi` feature).

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;

use super::schema;
use super::{
    AgencyCode, CitizenIdNumber, CitizenIdNumberOrBlank, ContactOrBlank, Email, EmailOrBlank,
    OneTimeCode, Password, PhoneNumber, PhoneNumberOrBlank, ProcedureCode, TaxCodeNumber,
    TaxCodeNumberOrBlank, Username,
};

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
