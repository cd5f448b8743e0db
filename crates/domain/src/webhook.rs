//! Webhook rules, after the Standard Webhooks convention
//! (<https://www.standardwebhooks.com>): how a delivery is signed and
//! verified, when a failed delivery is tried again, when a subscription is
//! switched off, and which target addresses a subscription may name.
//!
//! A delivery carries three headers: `webhook-id` (the event's stable id, the
//! receiver's de-duplication key), `webhook-timestamp` (seconds since the
//! epoch) and `webhook-signature` (`v1,` + base64 of HMAC-SHA256 over
//! `id.timestamp.body`, keyed with the secret's bytes). During a secret
//! rotation the header holds several signatures separated by spaces.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::Duration;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The prefix of a secret as shown to the subscriber.
pub const SECRET_PREFIX: &str = "whsec_";
/// Key bytes a new secret carries (192 bits; the convention allows 24–64).
pub const SECRET_LEN: usize = 24;
/// How far a timestamp may be from the receiver's clock, either way.
pub const TOLERANCE_SECS: i64 = 5 * 60;

/// A subscription's signing key, with its HMAC state keyed once.
#[derive(Clone)]
pub struct Secret {
    bytes: Vec<u8>,
    keyed: Hmac<Sha256>,
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl Eq for Secret {}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// Why a secret's text was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SecretProblem {
    #[error("a webhook secret starts with whsec_ followed by base64")]
    Malformed,
    #[error("a webhook secret holds 24 to 64 bytes")]
    BadLength,
}

impl Secret {
    fn from_vec(bytes: Vec<u8>) -> Result<Self, SecretProblem> {
        if !(24..=64).contains(&bytes.len()) {
            return Err(SecretProblem::BadLength);
        }
        let keyed = <Hmac<Sha256> as KeyInit>::new_from_slice(&bytes)
            .map_err(|_| SecretProblem::BadLength)?;
        Ok(Self { bytes, keyed })
    }

    /// A secret from fresh random bytes (the caller owns the randomness).
    pub fn from_bytes(bytes: [u8; SECRET_LEN]) -> Result<Self, SecretProblem> {
        Self::from_vec(bytes.to_vec())
    }

    /// Reads `whsec_<base64>` (the prefix is optional, as receivers' libraries accept).
    pub fn parse(text: &str) -> Result<Self, SecretProblem> {
        let encoded = text.strip_prefix(SECRET_PREFIX).unwrap_or(text);
        let bytes = STANDARD
            .decode(encoded)
            .map_err(|_| SecretProblem::Malformed)?;
        Self::from_vec(bytes)
    }

    /// The text shown once to the subscriber and stored for signing.
    pub fn expose(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(&self.bytes))
    }

    fn mac(&self, id: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
        let mut mac = self.keyed.clone();
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }

    /// The `webhook-signature` value for one delivery.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let tag = self.mac(id, timestamp, body).finalize().into_bytes();
        format!("v1,{}", STANDARD.encode(tag))
    }
}

/// Why a received delivery was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyProblem {
    #[error("webhook-timestamp is not a number of seconds")]
    BadTimestamp,
    #[error("webhook-timestamp is more than five minutes from now")]
    OutsideTolerance,
    #[error("no v1 signature in webhook-signature matches")]
    NoMatch,
}

/// Checks a delivery as a receiver would: the timestamp within
/// [`TOLERANCE_SECS`] of `now_secs`, and one of the `v1` signatures in the
/// header matching (compared in constant time).
pub fn verify(
    secret: &Secret,
    id: &str,
    timestamp: &str,
    body: &[u8],
    signatures: &str,
    now_secs: i64,
) -> Result<(), VerifyProblem> {
    let ts: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| VerifyProblem::BadTimestamp)?;
    if (now_secs - ts).abs() > TOLERANCE_SECS {
        return Err(VerifyProblem::OutsideTolerance);
    }
    let matched = signatures
        .split_whitespace()
        .filter_map(|one| one.strip_prefix("v1,"))
        .filter_map(|encoded| STANDARD.decode(encoded).ok())
        .any(|tag| secret.mac(id, ts, body).verify_slice(&tag).is_ok());
    if matched {
        Ok(())
    } else {
        Err(VerifyProblem::NoMatch)
    }
}

/// Waits before each retry of a failed delivery: attempt 1 is immediate, then
/// these, about three days in all (the last ones a day apart, so a receiver
/// down over a weekend still gets its events).
const RETRY_WAITS_SECS: [i64; 12] = [
    30,
    2 * 60,
    10 * 60,
    30 * 60,
    60 * 60,
    2 * 3600,
    4 * 3600,
    8 * 3600,
    12 * 3600,
    16 * 3600,
    24 * 3600,
    24 * 3600,
];

/// Attempts a delivery gets before it is given up (the first plus the retries).
pub const MAX_ATTEMPTS: usize = RETRY_WAITS_SECS.len() + 1;

/// How long to wait after the `failed_attempts`-th failure (1-based) before
/// trying again; `None` once every attempt is spent.
pub fn retry_after(failed_attempts: usize) -> Option<Duration> {
    let index = failed_attempts.checked_sub(1)?;
    RETRY_WAITS_SECS
        .get(index)
        .map(|secs| Duration::seconds(*secs))
}

/// A subscription is switched off (with an event saying so) when its
/// deliveries have failed without a single success for this long…
pub const DISABLE_AFTER_FAILING_FOR_DAYS: i64 = 5;
/// …and at least this many attempts in a row failed (so one event retried
/// over a quiet week does not switch off a healthy receiver).
pub const DISABLE_AFTER_FAILURES: u32 = 20;

/// Whether a run of failures is long enough to switch the subscription off.
pub fn should_disable(consecutive_failures: u32, failing_for: Duration) -> bool {
    consecutive_failures >= DISABLE_AFTER_FAILURES
        && failing_for >= Duration::days(DISABLE_AFTER_FAILING_FOR_DAYS)
}

/// Why a subscription's URL was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TargetProblem {
    #[error("the URL is not an absolute http(s) URL")]
    NotHttp,
    #[error("the URL carries a user name or password")]
    Credentials,
    #[error("the URL points at a loopback, private or reserved address")]
    NotPublic,
}

/// Checks a subscription's URL (SSRF): http(s) only, no credentials, and —
/// unless private targets are allowed (development, tests, a receiver inside
/// the province's network) — no host that names a non-public address. Hosts
/// given by name are checked again, address by address, when delivering.
pub fn check_target(url: &url::Url, allow_private: bool) -> Result<(), TargetProblem> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(TargetProblem::NotHttp);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(TargetProblem::Credentials);
    }
    let public = match url.host() {
        None => return Err(TargetProblem::NotHttp),
        Some(url::Host::Ipv4(ip)) => is_public(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => is_public(IpAddr::V6(ip)),
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            !(name == "localhost"
                || name.ends_with(".localhost")
                || name.ends_with(".local")
                || name.ends_with(".internal"))
        }
    };
    if public || allow_private {
        Ok(())
    } else {
        Err(TargetProblem::NotPublic)
    }
}

/// Whether an address is reachable on the public internet (not loopback,
/// private, link-local, carrier-grade NAT, documentation, multicast, …).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link-local
        || first == 0x2001 && ip.segments()[1] == 0x0db8) // documentation
}

crate::string_enum! {
    /// Whether a subscription receives deliveries.
    pub enum SubscriptionStatus {
        Active => "active",
        /// Switched off by its owner, or after a long run of failures.
        Disabled => "disabled",
    }
}

crate::string_enum! {
    /// Where one event's delivery to one subscription stands.
    pub enum DeliveryStatus {
        /// Waiting for its first attempt or a retry.
        Pending => "pending",
        /// A receiver answered 2xx.
        Delivered => "delivered",
        /// Every attempt failed (or the subscription was switched off).
        Failed => "failed",
    }
}

crate::string_enum! {
    /// How one delivery attempt went, as the metrics count the delivery log.
    pub enum AttemptResult {
        /// The receiver answered 2xx.
        Delivered => "delivered",
        /// The receiver answered, with another status.
        Rejected => "rejected",
        /// No answer: unreachable, timed out, or the address was refused.
        NoAnswer => "no_answer",
    }
}

impl AttemptResult {
    /// The result of an attempt that got `status` (`None`: no answer).
    pub fn of(status: Option<i32>) -> Self {
        match status {
            Some(s) if (200..300).contains(&s) => Self::Delivered,
            Some(_) => Self::Rejected,
            None => Self::NoAnswer,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_are_delivered_rejected_or_unanswered() {
        let table = [
            (Some(200), AttemptResult::Delivered),
            (Some(204), AttemptResult::Delivered),
            (Some(299), AttemptResult::Delivered),
            (Some(199), AttemptResult::Rejected),
            (Some(300), AttemptResult::Rejected),
            (Some(410), AttemptResult::Rejected),
            (Some(503), AttemptResult::Rejected),
            (None, AttemptResult::NoAnswer),
        ];
        for (status, expected) in table {
            assert_eq!(AttemptResult::of(status), expected, "{status:?}");
        }
    }

    // The example of the Standard Webhooks reference libraries.
    const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const SPEC_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const SPEC_TS: i64 = 1_614_265_330;
    const SPEC_BODY: &str = r#"{"test": 2432232314}"#;
    const SPEC_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn signs_like_the_reference_libraries() {
        let secret = Secret::parse(SPEC_SECRET).unwrap();
        assert_eq!(
            secret.sign(SPEC_ID, SPEC_TS, SPEC_BODY.as_bytes()),
            SPEC_SIGNATURE
        );
        assert_eq!(secret.expose(), SPEC_SECRET);
    }

    #[test]
    fn verifies_as_a_receiver_would() {
        let secret = Secret::parse(SPEC_SECRET).unwrap();
        let other = Secret::from_bytes([7; SECRET_LEN]).unwrap();
        let ts = SPEC_TS.to_string();
        let body = SPEC_BODY.as_bytes();
        let ok = |sigs: &str, now: i64| verify(&secret, SPEC_ID, &ts, body, sigs, now);
        assert_eq!(ok(SPEC_SIGNATURE, SPEC_TS), Ok(()));
        // During a rotation: old and new signatures side by side, in any order.
        let rotated = format!("{} {SPEC_SIGNATURE}", other.sign(SPEC_ID, SPEC_TS, body));
        assert_eq!(ok(&rotated, SPEC_TS + 60), Ok(()));
        assert_eq!(ok(SPEC_SIGNATURE, SPEC_TS + TOLERANCE_SECS), Ok(()));
        let cases = [
            (
                SPEC_SIGNATURE,
                SPEC_TS + TOLERANCE_SECS + 1,
                VerifyProblem::OutsideTolerance,
            ),
            (
                SPEC_SIGNATURE,
                SPEC_TS - TOLERANCE_SECS - 1,
                VerifyProblem::OutsideTolerance,
            ),
            ("v1,AAAA", SPEC_TS, VerifyProblem::NoMatch),
            (
                "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
                SPEC_TS,
                VerifyProblem::NoMatch,
            ),
            ("", SPEC_TS, VerifyProblem::NoMatch),
            ("v1,not base64!", SPEC_TS, VerifyProblem::NoMatch),
        ];
        for (sigs, now, problem) in cases {
            assert_eq!(ok(sigs, now), Err(problem), "{sigs} at {now}");
        }
        // A changed body, id or timestamp no longer matches.
        assert_eq!(
            verify(&secret, SPEC_ID, &ts, b"{}", SPEC_SIGNATURE, SPEC_TS),
            Err(VerifyProblem::NoMatch)
        );
        assert_eq!(
            verify(&secret, "msg_other", &ts, body, SPEC_SIGNATURE, SPEC_TS),
            Err(VerifyProblem::NoMatch)
        );
        let later = (SPEC_TS + 1).to_string();
        assert_eq!(
            verify(&secret, SPEC_ID, &later, body, SPEC_SIGNATURE, SPEC_TS),
            Err(VerifyProblem::NoMatch)
        );
        assert_eq!(
            verify(&secret, SPEC_ID, "soon", body, SPEC_SIGNATURE, SPEC_TS),
            Err(VerifyProblem::BadTimestamp)
        );
    }

    #[test]
    fn secrets_parse_only_in_their_form() {
        assert_eq!(Secret::parse("whsec_???"), Err(SecretProblem::Malformed));
        assert_eq!(Secret::parse("whsec_AAAA"), Err(SecretProblem::BadLength));
        let made = Secret::from_bytes([42; SECRET_LEN]).unwrap();
        assert_eq!(Secret::parse(&made.expose()), Ok(made.clone()));
        assert_eq!(format!("{made:?}"), "Secret(…)", "never printed");
    }

    #[test]
    fn retries_spread_over_about_three_days() {
        assert_eq!(retry_after(0), None);
        assert_eq!(retry_after(1), Some(Duration::seconds(30)));
        let total: i64 = (1..MAX_ATTEMPTS)
            .map(|n| retry_after(n).unwrap().num_seconds())
            .sum();
        assert!(
            (Duration::days(3).num_seconds()..=Duration::days(4).num_seconds()).contains(&total),
            "{total} s"
        );
        assert_eq!(retry_after(MAX_ATTEMPTS), None);
        let waits: Vec<i64> = (1..MAX_ATTEMPTS)
            .map(|n| retry_after(n).unwrap().num_seconds())
            .collect();
        assert!(
            waits.windows(2).all(|w| w[0] <= w[1]),
            "never shorter: {waits:?}"
        );
    }

    #[test]
    fn switched_off_only_after_a_long_run_of_failures() {
        let cases = [
            (0, 0, false),
            (19, 30, false),
            (20, 4, false),
            (20, 5, true),
            (500, 6, true),
            (1000, 1, false),
        ];
        for (failures, days, off) in cases {
            assert_eq!(
                should_disable(failures, Duration::days(days)),
                off,
                "{failures} over {days} d"
            );
        }
    }

    #[test]
    fn target_urls_must_be_public_http() {
        let cases = [
            ("https://portal.example.vn/hooks", false, Ok(())),
            (
                "http://203.0.113.9/hooks",
                false,
                Err(TargetProblem::NotPublic),
            ),
            ("http://8.8.8.8/hooks", false, Ok(())),
            (
                "ftp://portal.example.vn/",
                false,
                Err(TargetProblem::NotHttp),
            ),
            (
                "https://user:pw@portal.example.vn/",
                false,
                Err(TargetProblem::Credentials),
            ),
            (
                "http://localhost:8080/",
                false,
                Err(TargetProblem::NotPublic),
            ),
            ("http://LOCALHOST./", false, Err(TargetProblem::NotPublic)),
            (
                "http://api.localhost/",
                false,
                Err(TargetProblem::NotPublic),
            ),
            ("http://127.0.0.1/", false, Err(TargetProblem::NotPublic)),
            ("http://10.1.2.3/", false, Err(TargetProblem::NotPublic)),
            ("http://172.16.0.1/", false, Err(TargetProblem::NotPublic)),
            ("http://192.168.1.1/", false, Err(TargetProblem::NotPublic)),
            (
                "http://169.254.169.254/latest/meta-data",
                false,
                Err(TargetProblem::NotPublic),
            ),
            ("http://100.64.0.1/", false, Err(TargetProblem::NotPublic)),
            ("http://0.0.0.0/", false, Err(TargetProblem::NotPublic)),
            ("http://[::1]/", false, Err(TargetProblem::NotPublic)),
            ("http://[fd00::1]/", false, Err(TargetProblem::NotPublic)),
            ("http://[fe80::1]/", false, Err(TargetProblem::NotPublic)),
            (
                "http://[::ffff:127.0.0.1]/",
                false,
                Err(TargetProblem::NotPublic),
            ),
            ("http://[2606:4700::1111]/", false, Ok(())),
            ("http://2130706433/", false, Err(TargetProblem::NotPublic)), // 127.0.0.1 as a number
            ("http://127.0.0.1:9000/", true, Ok(())),
            ("http://localhost/", true, Ok(())),
        ];
        for (text, allow, expected) in cases {
            let url = url::Url::parse(text).unwrap();
            assert_eq!(
                check_target(&url, allow),
                expected,
                "{text} (allow private: {allow})"
            );
        }
    }
}
