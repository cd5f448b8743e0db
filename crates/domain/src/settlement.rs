//! What the gateway's word does to a payment, and when to ask it again:
//! a verdict (from a notification, a status query or the daily list) as the
//! payment status it leads to, and the back-off of status queries.

use chrono::Duration;

use crate::payment::{FailureCode, PaymentStatus};
use crate::vnpay::Verdict;

/// The longest wait between two status queries of a pending payment.
pub const MAX_REQUERY_WAIT_SECS: i64 = 3600;

/// Where a verdict takes a payment, and the kind of the event that records
/// it: `<source>_<what>` (`notification_paid`, `query_held`, …).
pub fn target(verdict: Verdict, source: &str) -> (PaymentStatus, Option<FailureCode>, String) {
    let (status, code, what) = match verdict {
        Verdict::Paid => (PaymentStatus::Success, None, "paid"),
        Verdict::CancelledByUser => (
            PaymentStatus::Failed,
            Some(FailureCode::CancelledByUser),
            "cancelled",
        ),
        Verdict::Held => (PaymentStatus::Submitted, None, "held"),
        Verdict::Declined => (
            PaymentStatus::Failed,
            Some(FailureCode::Declined),
            "declined",
        ),
    };
    (status, code, format!("{source}_{what}"))
}

/// The gateway's side of a payment as reconciliation reports show it
/// (`pending` when it has no final word).
pub fn verdict_name(verdict: Option<Verdict>) -> &'static str {
    match verdict {
        Some(Verdict::Paid) => "paid",
        Some(Verdict::Declined) => "declined",
        Some(Verdict::CancelledByUser) => "cancelled",
        Some(Verdict::Held) => "held",
        None => "pending",
    }
}

/// Waiting time before the next status query after `attempts` inconclusive
/// ones: doubling from `first`, at most [`MAX_REQUERY_WAIT_SECS`].
pub fn backoff(first: Duration, attempts: i32) -> Duration {
    let factor = 2_i64.saturating_pow(u32::try_from(attempts.clamp(0, 12)).unwrap_or(12));
    let wait = first.num_seconds().saturating_mul(factor);
    Duration::seconds(wait.min(MAX_REQUERY_WAIT_SECS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_verdict_leads_to_one_status() {
        let table = [
            (
                Verdict::Paid,
                PaymentStatus::Success,
                None,
                "notification_paid",
            ),
            (
                Verdict::CancelledByUser,
                PaymentStatus::Failed,
                Some(FailureCode::CancelledByUser),
                "notification_cancelled",
            ),
            (
                Verdict::Held,
                PaymentStatus::Submitted,
                None,
                "notification_held",
            ),
            (
                Verdict::Declined,
                PaymentStatus::Failed,
                Some(FailureCode::Declined),
                "notification_declined",
            ),
        ];
        for (verdict, status, code, kind) in table {
            assert_eq!(
                target(verdict, "notification"),
                (status, code, kind.to_owned()),
                "{verdict:?}"
            );
        }
        assert_eq!(target(Verdict::Paid, "query").2, "query_paid");
    }

    #[test]
    fn gateway_codes_to_status() {
        // (vnp_ResponseCode, vnp_TransactionStatus) → payment status
        let table = [
            ("00", "00", PaymentStatus::Success),
            ("24", "02", PaymentStatus::Failed),
            ("07", "00", PaymentStatus::Submitted),
            ("00", "07", PaymentStatus::Submitted),
            ("51", "02", PaymentStatus::Failed),
            ("00", "02", PaymentStatus::Failed),
        ];
        for (response, status, expected) in table {
            let verdict = crate::vnpay::verdict(response, status);
            assert_eq!(target(verdict, "query").0, expected, "{response}/{status}");
        }
    }

    #[test]
    fn verdict_names() {
        let table = [
            (Some(Verdict::Paid), "paid"),
            (Some(Verdict::Declined), "declined"),
            (Some(Verdict::CancelledByUser), "cancelled"),
            (Some(Verdict::Held), "held"),
            (None, "pending"),
        ];
        for (verdict, name) in table {
            assert_eq!(verdict_name(verdict), name);
        }
    }

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        let first = Duration::seconds(60);
        let table = [
            (-3, 60),
            (0, 60),
            (1, 120),
            (2, 240),
            (5, 1920),
            (6, 3600),
            (12, 3600),
            (100, 3600),
            (i32::MAX, 3600),
        ];
        for (attempts, secs) in table {
            assert_eq!(
                backoff(first, attempts),
                Duration::seconds(secs),
                "{attempts}"
            );
        }
        assert_eq!(backoff(Duration::seconds(7200), 0), Duration::seconds(3600));
        assert_eq!(backoff(Duration::zero(), 3), Duration::zero());
    }
}
