//! Identifiers people and agencies present: citizen ID numbers, phone numbers,
//! tax codes and agency electronic codes.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Province prefixes of the 12-digit citizen ID number (Circular 07/2016/TT-BCA,
/// kept by Circular 59/2021/TT-BCA). The 2025 province mergers did not re-issue
/// numbers, so the 63 historical prefixes all remain valid.
const PROVINCE_PREFIXES: [u16; 63] = [
    1, 2, 4, 6, 8, 10, 11, 12, 14, 15, 17, 19, 20, 22, 24, 25, 26, 27, 30, 31, 33, 34, 35, 36, 37,
    38, 40, 42, 44, 45, 46, 48, 49, 51, 52, 54, 56, 58, 60, 62, 64, 66, 67, 68, 70, 72, 74, 75, 77,
    79, 80, 82, 83, 84, 86, 87, 89, 91, 92, 93, 94, 95, 96,
];

/// A 12-digit citizen ID number (số định danh cá nhân / CCCD).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CitizenId(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CitizenIdError {
    #[error("a citizen ID number has exactly 12 digits")]
    Length,
    #[error("the first three digits are not a province code")]
    Province,
}

impl CitizenId {
    pub fn parse(raw: &str) -> Result<Self, CitizenIdError> {
        let raw = raw.trim();
        if raw.len() != 12 || !raw.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CitizenIdError::Length);
        }
        let province: u16 = raw[..3].parse().map_err(|_| CitizenIdError::Length)?;
        if !PROVINCE_PREFIXES.contains(&province) {
            return Err(CitizenIdError::Province);
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Shown on receipts and logs: only the last four digits.
    pub fn masked(&self) -> String {
        format!("********{}", &self.0[8..])
    }
}

impl TryFrom<String> for CitizenId {
    type Error = CitizenIdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<CitizenId> for String {
    fn from(value: CitizenId) -> Self {
        value.0
    }
}

impl fmt::Display for CitizenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Normalises a Vietnamese phone number to the national form `0xxxxxxxxx`.
/// Accepts `+84`/`84` prefixes, spaces, dots and dashes.
pub fn normalize_phone(raw: &str) -> Option<String> {
    let digits: String = raw
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')'))
        .collect();
    let national = if let Some(rest) = digits.strip_prefix("+84") {
        format!("0{rest}")
    } else if digits.len() == 11 && digits.starts_with("84") {
        format!("0{}", &digits[2..])
    } else {
        digits
    };
    let valid = national.len() == 10
        && national.bytes().all(|b| b.is_ascii_digit())
        && national.starts_with('0')
        && matches!(
            national.as_bytes()[1],
            b'2' | b'3' | b'5' | b'7' | b'8' | b'9'
        );
    valid.then_some(national)
}

/// Enterprise tax code: 10 digits, or 10 digits, a dash and 3 digits for a branch.
pub fn is_valid_tax_code(raw: &str) -> bool {
    let (main, branch) = match raw.split_once('-') {
        Some((main, branch)) => (main, Some(branch)),
        None => (raw, None),
    };
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    digits(main, 10) && branch.is_none_or(|b| digits(b, 3))
}

/// Agency electronic identifier per QCVN 102:2016/BTTTT, e.g. `000.00.20.H12`:
/// three dot-separated groups of 3, 2 and 2 digits, then a letter and two digits.
pub fn is_valid_agency_code(raw: &str) -> bool {
    let parts: Vec<&str> = raw.split('.').collect();
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    parts.len() == 4
        && digits(parts[0], 3)
        && digits(parts[1], 2)
        && digits(parts[2], 2)
        && parts[3].len() == 3
        && parts[3].as_bytes()[0].is_ascii_uppercase()
        && digits(&parts[3][1..], 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn citizen_ids() {
        let cases = [
            ("079203001234", Ok(())),
            ("001099000001", Ok(())),
            (" 083185009999 ", Ok(())),
            ("07920300123", Err(CitizenIdError::Length)),
            ("0792030012345", Err(CitizenIdError::Length)),
            ("07920300123a", Err(CitizenIdError::Length)),
            ("٠٧٩٢٠٣٠٠١٢٣٤", Err(CitizenIdError::Length)),
            ("003203001234", Err(CitizenIdError::Province)),
            ("099203001234", Err(CitizenIdError::Province)),
            ("000203001234", Err(CitizenIdError::Province)),
        ];
        for (raw, want) in cases {
            assert_eq!(CitizenId::parse(raw).map(|_| ()), want, "{raw:?}");
        }
        let id = CitizenId::parse("079203001234").unwrap();
        assert_eq!(id.masked(), "********1234");
    }

    #[test]
    fn phones() {
        let cases = [
            ("0912345678", Some("0912345678")),
            ("+84 912 345 678", Some("0912345678")),
            ("84912345678", Some("0912345678")),
            ("091-234-5678", Some("0912345678")),
            ("0287654321", Some("0287654321")),
            ("0112345678", None),
            ("091234567", None),
            ("abc", None),
        ];
        for (raw, want) in cases {
            assert_eq!(normalize_phone(raw).as_deref(), want, "{raw:?}");
        }
    }

    #[test]
    fn tax_codes() {
        assert!(is_valid_tax_code("0301234567"));
        assert!(is_valid_tax_code("0301234567-001"));
        assert!(!is_valid_tax_code("030123456"));
        assert!(!is_valid_tax_code("0301234567-01"));
    }

    #[test]
    fn agency_codes() {
        assert!(is_valid_agency_code("000.00.20.H12"));
        assert!(is_valid_agency_code("000.17.22.H56"));
        assert!(!is_valid_agency_code("000.00.20.h12"));
        assert!(!is_valid_agency_code("000.00.20"));
        assert!(!is_valid_agency_code("00.00.20.H12"));
        assert!(!is_valid_agency_code("000.00.20.H1"));
    }
}
