//! Online payment of fees: the payment and refund state machines, modelled on
//! GOV.UK Pay's public states. Amounts are integer đồng.

use serde::{Deserialize, Serialize};

crate::string_enum! {
    pub enum PaymentStatus {
        /// The row exists; the citizen has not been sent to the gateway.
        Created => "created",
        /// A gateway URL was issued; the citizen is at the gateway.
        Started => "started",
        /// The outcome is pending or unknown (timeout, "processing", held as suspected fraud).
        Submitted => "submitted",
        /// A verified notification or status query says paid, amount matching.
        Success => "success",
        /// Declined, expired or cancelled by the citizen (see the failure code).
        Failed => "failed",
        /// Cancelled by staff or by the service.
        Cancelled => "cancelled",
        /// Gateway or configuration error; no money taken.
        Error => "error",
    }
}

crate::string_enum! {
    pub enum FailureCode {
        Declined => "declined",
        Expired => "expired",
        CancelledByUser => "cancelled_by_user",
        /// Closed because the fee was paid by another route (cash at the counter).
        Superseded => "superseded",
    }
}

crate::string_enum! {
    /// How the money came: through a gateway, or at the counter (offline for the KPIs).
    pub enum PaymentMethod {
        Online => "online",
        Counter => "counter",
    }
}

crate::string_enum! {
    pub enum RefundStatus {
        /// Proposed by the system for money it may not keep (a surplus); waits for approval.
        Proposed => "proposed",
        Submitted => "submitted",
        Success => "success",
        Error => "error",
    }
}

impl PaymentStatus {
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            PaymentStatus::Success
                | PaymentStatus::Failed
                | PaymentStatus::Cancelled
                | PaymentStatus::Error
        )
    }

    /// Statuses from which `to` may be reached.
    pub fn sources_of(to: PaymentStatus) -> &'static [PaymentStatus] {
        use PaymentStatus as P;
        match to {
            P::Created => &[],
            P::Started => &[P::Created],
            P::Submitted => &[P::Started],
            P::Success => &[P::Started, P::Submitted],
            P::Failed => &[P::Created, P::Started, P::Submitted],
            P::Cancelled => &[P::Created, P::Started],
            P::Error => &[P::Started, P::Submitted],
        }
    }
}

/// What an event does to a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Move to the new status.
    Apply,
    /// Already there: the same event again changes nothing.
    Repeat,
    /// Money taken for an attempt we had closed (expired, declined, cancelled,
    /// superseded, error): never dropped; record a corrected success and raise an alert.
    CorrectedSuccess,
    /// Not allowed from the current status; nothing changes.
    Refused,
}

/// The effect of moving `from` to `to` (with `to`'s failure code when failing).
/// `created → failed` is only for expiry.
pub fn effect(
    from: PaymentStatus,
    from_code: Option<FailureCode>,
    to: PaymentStatus,
    to_code: Option<FailureCode>,
) -> Effect {
    use PaymentStatus as P;
    if from == to && from_code == to_code {
        return Effect::Repeat;
    }
    if from.is_finished() && from != P::Success && to == P::Success {
        return Effect::CorrectedSuccess;
    }
    if from == P::Created && to == P::Failed && to_code != Some(FailureCode::Expired) {
        return Effect::Refused;
    }
    if PaymentStatus::sources_of(to).contains(&from) {
        Effect::Apply
    } else {
        Effect::Refused
    }
}

/// How a successful payment counts toward a dossier's fee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settlement {
    /// Counted toward the fee (the dossier's paid fees grow by this much).
    pub applied: i64,
    /// Money beyond what was still due: kept on the payment, proposed for refund.
    pub surplus: i64,
}

/// Settles `amount` against a fee of `due` of which `already_paid` is paid:
/// never more than is still due is applied; the rest is a surplus.
pub fn settle(due: i64, already_paid: i64, amount: i64) -> Settlement {
    let amount = amount.max(0);
    let outstanding = (due - already_paid).max(0);
    let applied = amount.min(outstanding);
    Settlement {
        applied,
        surplus: amount - applied,
    }
}

/// How much of a paid amount can still be refunded.
pub fn refundable(
    paid_vnd: i64,
    refunds_vnd: impl IntoIterator<Item = (RefundStatus, i64)>,
) -> i64 {
    let taken: i64 = refunds_vnd
        .into_iter()
        .filter(|(status, _)| *status != RefundStatus::Error)
        .map(|(_, amount)| amount)
        .sum();
    (paid_vnd - taken).max(0)
}

/// `1.500.000 đồng`: đồng grouped by dots, as Vietnamese forms print money.
pub fn format_vnd(vnd: i64) -> String {
    let digits = vnd.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(ch);
    }
    format!("{}{out} đồng", if vnd < 0 { "-" } else { "" })
}

/// Largest amount accepted anywhere, far above any fee (10 billion đồng).
pub const MAX_AMOUNT_VND: i64 = 10_000_000_000;

/// Why an amount is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AmountProblem {
    NotPositive,
    TooLarge,
}

/// An amount paid or refunded: within [`crate::rules::AmountVnd`].
pub fn check_amount(vnd: i64) -> Result<i64, AmountProblem> {
    use crate::rules::{AmountVnd, RangeRule};
    if vnd < AmountVnd::MIN {
        Err(AmountProblem::NotPositive)
    } else if vnd > AmountVnd::MAX {
        Err(AmountProblem::TooLarge)
    } else {
        Ok(vnd)
    }
}

/// One payment attempt of a dossier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Payment {
    pub id: String,
    pub dossier_id: i64,
    pub dossier_code: String,
    pub method: PaymentMethod,
    /// `vnpay`, `sandbox` or `counter`.
    pub gateway: String,
    /// Our reference at the gateway (`vnp_TxnRef`).
    pub txn_ref: String,
    pub amount_vnd: i64,
    pub status: PaymentStatus,
    pub failure_code: Option<FailureCode>,
    /// Where to send the citizen; only while the attempt is open.
    #[serde(skip)]
    pub next_url: Option<String>,
    #[serde(skip)]
    pub client_ip: Option<String>,
    pub receipt_number: Option<String>,
    pub created_by: i64,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    pub expires_at: chrono::DateTime<chrono::Utc>,
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
    pub gateway_txn_no: Option<String>,
    pub bank_code: Option<String>,
    pub paid_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Success recorded after we had closed the attempt: money was taken late.
    pub corrected: bool,
    /// The part of a successful payment counted toward the dossier's fee.
    pub applied_vnd: i64,
    /// Money received beyond what was due (`amount_vnd - applied_vnd` once
    /// successful): to be refunded.
    pub surplus_vnd: i64,
    #[serde(skip)]
    pub next_check_at: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(skip)]
    pub check_attempts: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Refund {
    pub id: String,
    pub payment_id: String,
    pub amount_vnd: i64,
    pub reason: String,
    pub status: RefundStatus,
    /// Who asked for it; `null` when the system proposed it (a surplus).
    pub created_by: Option<i64>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Who approved a proposed refund, and when.
    pub approved_by: Option<i64>,
    pub approved_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use FailureCode as F;
    use PaymentStatus as P;

    /// (from, its failure code, to, its failure code, what the transition does)
    type TransitionCase = (
        PaymentStatus,
        Option<FailureCode>,
        PaymentStatus,
        Option<FailureCode>,
        Effect,
    );

    const TRANSITIONS: &[TransitionCase] = &[
        (P::Created, None, P::Started, None, Effect::Apply),
        (P::Created, None, P::Cancelled, None, Effect::Apply),
        (P::Created, None, P::Failed, Some(F::Expired), Effect::Apply),
        (
            P::Created,
            None,
            P::Failed,
            Some(F::Declined),
            Effect::Refused,
        ),
        (P::Created, None, P::Success, None, Effect::Refused),
        (P::Started, None, P::Submitted, None, Effect::Apply),
        (P::Started, None, P::Success, None, Effect::Apply),
        (
            P::Started,
            None,
            P::Failed,
            Some(F::Declined),
            Effect::Apply,
        ),
        (
            P::Started,
            None,
            P::Failed,
            Some(F::CancelledByUser),
            Effect::Apply,
        ),
        (P::Started, None, P::Cancelled, None, Effect::Apply),
        (P::Started, None, P::Error, None, Effect::Apply),
        (P::Submitted, None, P::Success, None, Effect::Apply),
        (
            P::Submitted,
            None,
            P::Failed,
            Some(F::Declined),
            Effect::Apply,
        ),
        (P::Submitted, None, P::Error, None, Effect::Apply),
        (P::Submitted, None, P::Cancelled, None, Effect::Refused),
        (P::Submitted, None, P::Started, None, Effect::Refused),
        (P::Success, None, P::Success, None, Effect::Repeat),
        (
            P::Success,
            None,
            P::Failed,
            Some(F::Declined),
            Effect::Refused,
        ),
        (P::Success, None, P::Cancelled, None, Effect::Refused),
        (
            P::Failed,
            Some(F::Declined),
            P::Failed,
            Some(F::Declined),
            Effect::Repeat,
        ),
        (
            P::Failed,
            Some(F::Declined),
            P::Success,
            None,
            Effect::CorrectedSuccess,
        ),
        (
            P::Failed,
            Some(F::CancelledByUser),
            P::Success,
            None,
            Effect::CorrectedSuccess,
        ),
        (
            P::Cancelled,
            Some(F::Superseded),
            P::Success,
            None,
            Effect::CorrectedSuccess,
        ),
        (
            P::Cancelled,
            Some(F::Superseded),
            P::Cancelled,
            None,
            Effect::Refused,
        ),
        (
            P::Created,
            None,
            P::Cancelled,
            Some(F::Superseded),
            Effect::Apply,
        ),
        (
            P::Started,
            None,
            P::Cancelled,
            Some(F::Superseded),
            Effect::Apply,
        ),
        (
            P::Failed,
            Some(F::Expired),
            P::Success,
            None,
            Effect::CorrectedSuccess,
        ),
        (P::Cancelled, None, P::Cancelled, None, Effect::Repeat),
        (
            P::Cancelled,
            None,
            P::Success,
            None,
            Effect::CorrectedSuccess,
        ),
        (P::Error, None, P::Success, None, Effect::CorrectedSuccess),
        (
            P::Cancelled,
            None,
            P::Failed,
            Some(F::Declined),
            Effect::Refused,
        ),
    ];

    #[test]
    fn transition_table() {
        for &(from, from_code, to, to_code, want) in TRANSITIONS {
            assert_eq!(
                effect(from, from_code, to, to_code),
                want,
                "{from}/{from_code:?} → {to}/{to_code:?}"
            );
        }
    }

    #[test]
    fn a_fee_is_settled_once() {
        // (due, already paid, amount) → (applied, surplus)
        let cases = [
            (1_500_000, 0, 1_500_000, 1_500_000, 0),
            (1_500_000, 1_500_000, 1_500_000, 0, 1_500_000),
            (1_500_000, 1_000_000, 1_500_000, 500_000, 1_000_000),
            (1_500_000, 0, 500_000, 500_000, 0),
            (0, 0, 50_000, 0, 50_000),
            // Paid beyond due already (old data): nothing more applies.
            (1_500_000, 3_000_000, 1_500_000, 0, 1_500_000),
            (1_500_000, 0, 0, 0, 0),
            (1_500_000, 0, -5, 0, 0),
        ];
        for (due, paid, amount, applied, surplus) in cases {
            assert_eq!(
                settle(due, paid, amount),
                Settlement { applied, surplus },
                "due {due}, paid {paid}, amount {amount}"
            );
        }
    }

    #[test]
    fn proposed_refunds_count_against_what_is_refundable() {
        assert_eq!(refundable(100_000, [(RefundStatus::Proposed, 100_000)]), 0);
    }

    #[test]
    fn refunds_never_exceed_what_was_paid() {
        assert_eq!(refundable(100_000, []), 100_000);
        assert_eq!(
            refundable(
                100_000,
                [
                    (RefundStatus::Success, 30_000),
                    (RefundStatus::Submitted, 20_000)
                ]
            ),
            50_000
        );
        assert_eq!(
            refundable(100_000, [(RefundStatus::Error, 90_000)]),
            100_000
        );
        assert_eq!(refundable(100_000, [(RefundStatus::Success, 100_000)]), 0);
    }

    #[test]
    fn money_is_grouped_vietnamese_style() {
        assert_eq!(format_vnd(0), "0 đồng");
        assert_eq!(format_vnd(999), "999 đồng");
        assert_eq!(format_vnd(50_000), "50.000 đồng");
        assert_eq!(format_vnd(1_500_000), "1.500.000 đồng");
        assert_eq!(format_vnd(-2_000), "-2.000 đồng");
    }

    #[test]
    fn amounts() {
        assert_eq!(check_amount(50_000), Ok(50_000));
        assert_eq!(check_amount(0), Err(AmountProblem::NotPositive));
        assert_eq!(check_amount(-1), Err(AmountProblem::NotPositive));
        assert_eq!(
            check_amount(MAX_AMOUNT_VND + 1),
            Err(AmountProblem::TooLarge)
        );
    }
}
