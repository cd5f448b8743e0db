//! Values checked by their shape: citizen ID numbers, tax codes, phone
//! numbers, e-mail addresses, procedure and agency codes.

use crate::identity::{CitizenId, PROVINCE_PREFIXES, TaxCode, normalize_phone};
use crate::validation::{FieldErrors, Problem};

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
