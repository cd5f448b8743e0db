//! Account names, passwords and one-time codes.

use crate::validation::{FieldErrors, Problem};

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
