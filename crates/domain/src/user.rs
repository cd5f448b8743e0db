use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::Role;
use crate::identity::CitizenId;
use crate::rule::RuleCode;
use crate::rules::{CitizenIdNumber, Email, Password, PersonName, PhoneNumber, TextRule, Username};
use crate::text::nfc;
use crate::validation::{FieldErrors, Problem};

/// An account. Citizens link to their applicant record; officers and leaders
/// to their agency; integration accounts are service clients of the portal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub agency_id: Option<i64>,
    pub applicant_id: Option<i64>,
    pub full_name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub active: bool,
    /// Created by the demo seed; never in production.
    pub demo: bool,
    pub created_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
}

pub const MIN_PASSWORD: u64 = Password::MIN;
pub const MAX_PASSWORD: u64 = Password::MAX;

/// Password policy ([`Password`]): long enough, not absurdly long (hashing
/// cost), not only digits, and not the account's own identifier.
pub fn check_password(errors: &mut FieldErrors, field: &str, password: &str, username: &str) {
    Password::check(errors, field, password, username);
}

/// Checks a username for staff and service accounts ([`Username`]): 3–64 of `[a-z0-9._-]`.
pub fn check_username(errors: &mut FieldErrors, field: &str, username: &str) {
    Username::check(errors, field, username);
}

/// Simple shape check ([`Email`]); deliverability is not our business.
pub fn is_plausible_email(email: &str) -> bool {
    Email::is_valid(email)
}

/// Citizen self-registration, validated and normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub id_number: CitizenId,
    pub full_name: String,
    pub phone: String,
    pub email: Option<String>,
    pub date_of_birth: Option<NaiveDate>,
    pub password: String,
}

impl Registration {
    pub fn parse(
        id_number: &str,
        full_name: &str,
        phone: &str,
        email: Option<&str>,
        date_of_birth: Option<NaiveDate>,
        password: &str,
        today: NaiveDate,
    ) -> Result<Self, Vec<crate::validation::FieldError>> {
        let mut errors = FieldErrors::new();
        let id = CitizenIdNumber::check(&mut errors, "id_number", id_number);
        PersonName::check(&mut errors, "full_name", full_name);
        let phone = PhoneNumber::check(&mut errors, "phone", phone);
        let email = Email::check_optional(&mut errors, "email", email);
        if let Some(dob) = date_of_birth
            && (dob > today || dob < NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(dob))
        {
            errors.add(
                "date_of_birth",
                Problem::rule(RuleCode::ImplausibleDateOfBirth),
            );
        }
        check_password(&mut errors, "password", password, id_number.trim());
        errors.into_result()?;
        match (id, phone) {
            (Some(id_number), Some(phone)) => Ok(Self {
                id_number,
                full_name: nfc(full_name),
                phone,
                email,
                date_of_birth,
                password: password.to_owned(),
            }),
            _ => Err(Vec::new()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    }

    #[test]
    fn registration_accepts_and_normalises() {
        let r = Registration::parse(
            "079203001234",
            " Nguyễn Văn An ",
            "+84 912 345 678",
            Some(" An@Example.vn "),
            None,
            "mat-khau-dai-1",
            today(),
        )
        .unwrap();
        assert_eq!(r.full_name, "Nguyễn Văn An");
        assert_eq!(r.phone, "0912345678");
        assert_eq!(r.email.as_deref(), Some("an@example.vn"));
    }

    #[test]
    fn registration_reports_each_field() {
        let errors = Registration::parse(
            "123",
            "",
            "12",
            Some("x"),
            NaiveDate::from_ymd_opt(2030, 1, 1),
            "1234567890",
            today(),
        )
        .unwrap_err();
        let got: Vec<(&str, &str)> = errors
            .iter()
            .map(|e| (e.field.as_str(), e.problem.code()))
            .collect();
        assert_eq!(
            got,
            [
                ("id_number", "invalid_citizen_id"),
                ("full_name", "required"),
                ("phone", "invalid_format"),
                ("email", "invalid_format"),
                ("date_of_birth", "implausible_date_of_birth"),
                ("password", "password_only_digits"),
            ]
        );
    }

    #[test]
    fn password_rules() {
        let cases = [
            ("short", Some("too_short")),
            ("abcdefghij", None),
            ("0123456789", Some("password_only_digits")),
            ("079203001234", Some("password_only_digits")),
        ];
        for (pw, want) in cases {
            let mut e = FieldErrors::new();
            check_password(&mut e, "password", pw, "someone");
            let got = e.into_vec().first().map(|e| e.problem.code().to_owned());
            assert_eq!(got.as_deref(), want, "{pw}");
        }
        let mut e = FieldErrors::new();
        check_password(&mut e, "password", "Officer.One", "officer.one");
        assert_eq!(e.into_vec()[0].problem.code(), "password_equals_username");
    }

    #[test]
    fn usernames_and_emails() {
        let mut e = FieldErrors::new();
        check_username(&mut e, "username", "officer.vhttdl");
        check_username(&mut e, "username", "Bad Name");
        assert_eq!(e.into_vec().len(), 1);
        assert!(is_plausible_email("a@b.vn"));
        assert!(!is_plausible_email("a@b"));
        assert!(!is_plausible_email("a b@c.vn"));
    }
}
