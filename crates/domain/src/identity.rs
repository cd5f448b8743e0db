//! Identifiers people and agencies present: citizen ID numbers, phone numbers,
//! tax codes and agency electronic codes.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Province prefixes of the 12-digit citizen ID number (Circular 07/2016/TT-BCA,
/// kept by Circular 59/2021/TT-BCA). The 2025 province mergers did not re-issue
/// numbers, so the 63 historical prefixes all remain valid.
pub(crate) const PROVINCE_PREFIXES: [u16; 63] = [
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
        let province: u16 = raw
            .get(..3)
            .and_then(|prefix| prefix.parse().ok())
            .ok_or(CitizenIdError::Length)?;
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
        // Twelve ASCII digits by construction, so the tail always exists.
        format!("********{}", self.0.get(8..).unwrap_or_default())
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

/// Normalises a Vietnamese phone number to its national form: a mobile
/// `0[35789]xxxxxxxx` (10 digits) or, since the 2017 area-code change, a
/// landline `02xxxxxxxxx` (11 digits: area code and subscriber number).
/// Accepts `+84`/`84` prefixes, spaces, dots, dashes and parentheses.
pub fn normalize_phone(raw: &str) -> Option<String> {
    let digits: String = raw
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')'))
        .collect();
    let national = if let Some(rest) = digits.strip_prefix("+84") {
        format!("0{rest}")
    } else if let Some(rest) = digits
        .strip_prefix("84")
        .filter(|_| digits.len() == 11 || digits.len() == 12)
    {
        format!("0{rest}")
    } else {
        digits
    };
    if !national.bytes().all(|b| b.is_ascii_digit()) || !national.starts_with('0') {
        return None;
    }
    let valid = matches!(
        (national.len(), national.as_bytes().get(1)),
        (10, Some(b'3' | b'5' | b'7' | b'8' | b'9')) | (11, Some(b'2'))
    );
    valid.then_some(national)
}

/// An enterprise or organisation tax code (mã số thuế / mã số doanh
/// nghiệp): 10 digits whose last is a check digit, plus `-` and 3 digits for
/// a branch. Kept canonical: `0100233488` or `0314409058-002`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TaxCode(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TaxCodeError {
    #[error("a tax code has 10 digits, or 13 for a branch")]
    Format,
    #[error("the check digit does not match")]
    CheckDigit,
}

/// Weights of the first nine digits for the tenth, the check digit.
const TAX_CODE_WEIGHTS: [u32; 9] = [31, 29, 23, 19, 17, 13, 7, 5, 3];

impl TaxCode {
    /// Accepts the spaces, dots and dash people type between groups.
    pub fn parse(raw: &str) -> Result<Self, TaxCodeError> {
        let digits: Vec<u32> = raw
            .chars()
            .filter(|c| !matches!(c, ' ' | '.' | '-'))
            .map(|c| c.to_digit(10).ok_or(TaxCodeError::Format))
            .collect::<Result<_, _>>()?;
        if digits.len() != 10 && digits.len() != 13 {
            return Err(TaxCodeError::Format);
        }
        let sequence_is_zero = digits[2..9].iter().all(|d| *d == 0);
        let branch_is_zero = digits.len() == 13 && digits[10..].iter().all(|d| *d == 0);
        if sequence_is_zero || branch_is_zero {
            return Err(TaxCodeError::Format);
        }
        let weighted: u32 = digits
            .iter()
            .zip(TAX_CODE_WEIGHTS)
            .map(|(d, w)| d * w)
            .sum();
        // 10 − (sum mod 11); a remainder of 0 would need "10", which no code has.
        if 10 - weighted % 11 != digits[9] {
            return Err(TaxCodeError::CheckDigit);
        }
        let text: String = digits
            .iter()
            .filter_map(|d| char::from_digit(*d, 10))
            .collect();
        Ok(Self(match text.split_at_checked(10) {
            Some((main, branch)) if !branch.is_empty() => format!("{main}-{branch}"),
            _ => text,
        }))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TaxCode {
    type Error = TaxCodeError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<TaxCode> for String {
    fn from(value: TaxCode) -> Self {
        value.0
    }
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
        && parts[3].get(1..).is_some_and(|tail| digits(tail, 2))
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
            ("028 3829 5000", Some("02838295000")),
            ("(0236) 382 1234", Some("02363821234")),
            ("+84 24 3123 4567", Some("02431234567")),
            ("842431234567", Some("02431234567")),
            ("0287654321", None),
            ("09123456789", None),
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
        let cases = [
            ("0100233488", Ok("0100233488")),
            ("0100112437", Ok("0100112437")),
            ("01.00.112.437", Ok("0100112437")),
            ("0314409058-002", Ok("0314409058-002")),
            ("0312 68 78 78 - 001", Ok("0312687878-001")),
            ("0314409058002", Ok("0314409058-002")),
            ("0100233480", Err(TaxCodeError::CheckDigit)),
            ("0301234567", Err(TaxCodeError::CheckDigit)),
            ("030123456", Err(TaxCodeError::Format)),
            ("0314409058-02", Err(TaxCodeError::Format)),
            ("0314409058-000", Err(TaxCodeError::Format)),
            ("0100000000", Err(TaxCodeError::Format)),
            ("01002334８8", Err(TaxCodeError::Format)),
            ("", Err(TaxCodeError::Format)),
        ];
        for (raw, expected) in cases {
            let parsed = TaxCode::parse(raw);
            assert_eq!(
                parsed.as_ref().map(TaxCode::as_str).map_err(|e| *e),
                expected,
                "{raw}"
            );
        }
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
