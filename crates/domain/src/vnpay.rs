//! VNPay (version 2.1.0) conventions: parameter signing, notification
//! verdicts and the reply codes of the notification endpoint.

use std::collections::BTreeMap;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha512;

pub const VERSION: &str = "2.1.0";
pub const HASH: &str = "vnp_SecureHash";
pub const HASH_TYPE: &str = "vnp_SecureHashType";

/// `key=value` pairs as sent: form-urlencoded values (space as `+`, upper-case
/// `%XX`), keys in byte order, empty values and the hash fields left out.
pub fn canonical(params: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    for (key, value) in params {
        if key == HASH || key == HASH_TYPE || value.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push('&');
        }
        out.extend(form_urlencoded::byte_serialize(key.as_bytes()));
        out.push('=');
        out.extend(form_urlencoded::byte_serialize(value.as_bytes()));
    }
    out
}

/// HMAC-SHA512 of the canonical form with the merchant secret, lower-case hex.
pub fn sign(params: &BTreeMap<String, String>, secret: &str) -> String {
    mac(params, secret)
        .map(|m| hex::encode(m.finalize().into_bytes()))
        .unwrap_or_default()
}

/// HMAC takes keys of any length, so this is always `Some`.
fn mac(params: &BTreeMap<String, String>, secret: &str) -> Option<Hmac<Sha512>> {
    let mut mac = <Hmac<Sha512> as KeyInit>::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(canonical(params).as_bytes());
    Some(mac)
}

/// Whether `params` carry a valid `vnp_SecureHash`: compared in constant time,
/// upper- or lower-case hex alike. Missing, truncated or malformed → false.
pub fn verify(params: &BTreeMap<String, String>, secret: &str) -> bool {
    let Some(given) = params.get(HASH) else {
        return false;
    };
    let Ok(given) = hex::decode(given.trim().to_ascii_lowercase()) else {
        return false;
    };
    mac(params, secret).is_some_and(|m| m.verify_slice(&given).is_ok())
}

/// HMAC-SHA512 of fields joined by `|`, as the merchant API (querydr, refund)
/// signs requests and responses.
pub fn sign_fields(fields: &[&str], secret: &str) -> String {
    let Ok(mut mac) = <Hmac<Sha512> as KeyInit>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(fields.join("|").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Adds `vnp_SecureHash` and returns the query string to append to a URL.
pub fn signed_query(params: &BTreeMap<String, String>, secret: &str) -> String {
    format!("{}&{HASH}={}", canonical(params), sign(params, secret))
}

/// `vnp_OrderInfo` must be ASCII without diacritics: folds Vietnamese text,
/// keeps letters, digits and a few separators, at most 255 characters.
pub fn order_info(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let mut out = String::new();
    for ch in text.nfd() {
        if unicode_normalization::char::is_combining_mark(ch) {
            continue;
        }
        let ch = match ch {
            'đ' => 'd',
            'Đ' => 'D',
            c => c,
        };
        if ch.is_ascii_alphanumeric() || " -_.:".contains(ch) {
            out.push(ch);
        } else if ch.is_whitespace() {
            out.push(' ');
        }
    }
    out.chars().take(255).collect::<String>().trim().to_owned()
}

/// What a notification or a status query says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// `vnp_ResponseCode` and `vnp_TransactionStatus` both `00`.
    Paid,
    /// `24`: the citizen cancelled at the gateway.
    CancelledByUser,
    /// `07`: held as suspected fraud; the outcome is not known yet.
    Held,
    /// Any other code: declined.
    Declined,
}

pub fn verdict(response_code: &str, transaction_status: &str) -> Verdict {
    match (response_code, transaction_status) {
        ("00", "00") => Verdict::Paid,
        ("24", _) => Verdict::CancelledByUser,
        ("07", _) | (_, "07") => Verdict::Held,
        _ => Verdict::Declined,
    }
}

/// Reply codes of the notification endpoint, checked in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    BadSignature,
    OrderNotFound,
    AmountMismatch,
    AlreadyConfirmed,
    Accepted,
    Unexpected,
}

impl Reply {
    pub fn code(self) -> &'static str {
        match self {
            Reply::BadSignature => "97",
            Reply::OrderNotFound => "01",
            Reply::AmountMismatch => "04",
            Reply::AlreadyConfirmed => "02",
            Reply::Accepted => "00",
            Reply::Unexpected => "99",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Reply::BadSignature => "Invalid signature",
            Reply::OrderNotFound => "Order not found",
            Reply::AmountMismatch => "Invalid amount",
            Reply::AlreadyConfirmed => "Order already confirmed",
            Reply::Accepted => "Confirm Success",
            Reply::Unexpected => "Unknown error",
        }
    }
}

/// `yyyyMMddHHmmss` in Vietnam time (UTC+7), as VNPay dates are written.
pub fn format_time(at: chrono::DateTime<chrono::Utc>) -> String {
    crate::local_time::wall(at)
        .format("%Y%m%d%H%M%S")
        .to_string()
}

pub fn parse_time(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::NaiveDateTime::parse_from_str(text, "%Y%m%d%H%M%S")
        .ok()
        .and_then(crate::local_time::from_wall)
}

/// VNPay amounts are đồng × 100.
pub fn to_gateway_amount(vnd: i64) -> Option<i64> {
    vnd.checked_mul(100)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector() -> BTreeMap<String, String> {
        [
            ("vnp_Amount", "5000000"),
            ("vnp_Command", "pay"),
            ("vnp_CreateDate", "20250101103000"),
            ("vnp_CurrCode", "VND"),
            ("vnp_ExpireDate", "20250101104500"),
            ("vnp_IpAddr", "203.0.113.7"),
            ("vnp_Locale", "vn"),
            ("vnp_OrderInfo", "Nop le phi ho so HS000123"),
            ("vnp_OrderType", "other"),
            (
                "vnp_ReturnUrl",
                "https://dvc.example.gov.vn/payments/return",
            ),
            ("vnp_TmnCode", "TESTTMN1"),
            ("vnp_TxnRef", "HS000123"),
            ("vnp_Version", "2.1.0"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    const SECRET: &str = "TESTSECRET0123456789ABCDEFGHIJKL";
    const EXPECTED: &str = "3ca7b565a83954621fe3661224c253902cbde3c0a448388d2dacfa70b9b8bb26ab22ea90cd2e645520e083267dfdaae1276dad3b357d916a42a1824b76c0760d";

    #[test]
    fn known_answer_vector_from_payments_md() {
        let params = vector();
        assert_eq!(
            canonical(&params),
            "vnp_Amount=5000000&vnp_Command=pay&vnp_CreateDate=20250101103000&vnp_CurrCode=VND&vnp_ExpireDate=20250101104500&vnp_IpAddr=203.0.113.7&vnp_Locale=vn&vnp_OrderInfo=Nop+le+phi+ho+so+HS000123&vnp_OrderType=other&vnp_ReturnUrl=https%3A%2F%2Fdvc.example.gov.vn%2Fpayments%2Freturn&vnp_TmnCode=TESTTMN1&vnp_TxnRef=HS000123&vnp_Version=2.1.0"
        );
        assert_eq!(sign(&params, SECRET), EXPECTED);
    }

    #[test]
    fn verification_verdicts() {
        let mut params = vector();
        params.insert(HASH.into(), EXPECTED.into());
        assert!(verify(&params, SECRET));
        // Upper case is the same signature; the hash type field is ignored; empty values are skipped.
        params.insert(HASH.into(), EXPECTED.to_uppercase());
        params.insert(HASH_TYPE.into(), "HmacSHA512".into());
        params.insert("vnp_BankCode".into(), String::new());
        assert!(verify(&params, SECRET));
        assert!(!verify(&params, "another-secret"));
        // One parameter flipped after signing.
        let mut flipped = params.clone();
        flipped.insert("vnp_Amount".into(), "5000100".into());
        assert!(!verify(&flipped, SECRET));
        // Truncated, malformed, missing.
        let mut truncated = params.clone();
        truncated.insert(HASH.into(), EXPECTED.get(..64).unwrap().into());
        assert!(!verify(&truncated, SECRET));
        let mut garbage = params.clone();
        garbage.insert(HASH.into(), "not-hex-at-all".into());
        assert!(!verify(&garbage, SECRET));
        let mut empty = params.clone();
        empty.insert(HASH.into(), String::new());
        assert!(!verify(&empty, SECRET));
        params.remove(HASH);
        assert!(!verify(&params, SECRET));
    }

    #[test]
    fn verdict_table() {
        let cases = [
            ("00", "00", Verdict::Paid),
            ("00", "01", Verdict::Declined),
            ("00", "02", Verdict::Declined),
            ("24", "02", Verdict::CancelledByUser),
            ("07", "07", Verdict::Held),
            ("00", "07", Verdict::Held),
            ("51", "02", Verdict::Declined),
            ("99", "", Verdict::Declined),
        ];
        for (code, status, want) in cases {
            assert_eq!(verdict(code, status), want, "{code}/{status}");
        }
    }

    #[test]
    fn pipe_signatures_differ_by_field() {
        let a = sign_fields(&["1", "2.1.0", "querydr"], SECRET);
        assert_eq!(a.len(), 128);
        assert_eq!(a, sign_fields(&["1", "2.1.0", "querydr"], SECRET));
        assert_ne!(a, sign_fields(&["1", "2.1.0", "refund"], SECRET));
    }

    #[test]
    fn reply_codes() {
        let all = [
            Reply::BadSignature,
            Reply::OrderNotFound,
            Reply::AmountMismatch,
            Reply::AlreadyConfirmed,
            Reply::Accepted,
            Reply::Unexpected,
        ];
        assert_eq!(all.map(Reply::code), ["97", "01", "04", "02", "00", "99"]);
    }

    #[test]
    fn order_info_is_plain_ascii() {
        assert_eq!(
            order_info("Nộp lệ phí hồ sơ 000.00.20.H56-261123-0001"),
            "Nop le phi ho so 000.00.20.H56-261123-0001"
        );
        assert_eq!(order_info("Đăng ký & thanh toán!"), "Dang ky  thanh toan");
    }

    #[test]
    fn times_and_amounts() {
        let at = chrono::DateTime::parse_from_rfc3339("2025-01-01T03:30:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(format_time(at), "20250101103000");
        assert_eq!(parse_time("20250101103000"), Some(at));
        assert_eq!(parse_time("2025-01-01"), None);
        assert_eq!(to_gateway_amount(50_000), Some(5_000_000));
        assert_eq!(to_gateway_amount(i64::MAX), None);
    }
}
