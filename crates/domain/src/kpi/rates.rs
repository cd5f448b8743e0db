//! Counts and rates of a period, with the waiting-time histogram.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Counters;

/// A rate with what it was computed from. No denominator: no value (not 0, not 100).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rate {
    pub numerator: i64,
    pub denominator: i64,
    /// Between 0 and 1, rounded to four decimals; `null` when the denominator is 0.
    pub value: Option<f64>,
}

impl Rate {
    pub fn of(numerator: i64, denominator: i64) -> Self {
        let value = (denominator != 0)
            .then(|| (numerator as f64 / denominator as f64 * 10_000.0).round() / 10_000.0);
        Self {
            numerator,
            denominator,
            value,
        }
    }
}

/// Catalog figures, for the procedure indicators.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CatalogCounts {
    pub active: i64,
    pub full_online: i64,
    pub partial_online: i64,
    pub complete: i64,
    pub fee_bearing: i64,
    pub fee_bearing_payable_online: i64,
}

/// Citizen feedback figures of a period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeedbackCounts {
    pub received: i64,
    /// Answered (or refused) within 15 working days.
    pub handled_in_time: i64,
    /// Open past 15 working days, or answered after them.
    pub overdue: i64,
}

/// Dossiers received in a period and, of them, those the national portal
/// holds with every change pushed within `portal::SYNC_WITHIN_HOURS`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncCounts {
    pub received: i64,
    pub synced_in_time: i64,
}

/// Counter queue figures of a period: waiting minutes from ticket to call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WaitingTime {
    pub tickets_called: i64,
    pub average_minutes: Option<f64>,
    pub p90_minutes: Option<i64>,
}

/// Average and 90th percentile from a histogram of whole minutes.
pub fn waiting_time(histogram: &BTreeMap<i64, i64>) -> WaitingTime {
    let total: i64 = histogram.values().sum();
    if total == 0 {
        return WaitingTime::default();
    }
    let sum: i64 = histogram.iter().map(|(minute, n)| minute * n).sum();
    let rank = (total * 9 + 9) / 10;
    let mut seen = 0;
    let mut p90 = None;
    for (minute, n) in histogram {
        seen += n;
        if seen >= rank {
            p90 = Some(*minute);
            break;
        }
    }
    WaitingTime {
        tickets_called: total,
        average_minutes: Some((sum as f64 / total as f64 * 10.0).round() / 10.0),
        p90_minutes: p90,
    }
}

/// Dossier counts of a period, with what is in progress at its end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DossierCounts {
    pub received: i64,
    pub received_online: i64,
    pub finished: i64,
    /// Processed with a result or a rejection; split into early, on time and late.
    pub decided: i64,
    pub early: i64,
    pub on_time: i64,
    pub late: i64,
    pub returned: i64,
    pub rejected: i64,
    pub refused: i64,
    pub withdrawn: i64,
    pub cancelled: i64,
    /// At the end of the period: received, processing not ended.
    pub in_progress: i64,
    pub in_progress_within_time: i64,
    pub in_progress_overdue: i64,
}

/// Rates of the dossiers of a period.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rates {
    /// (early + on time) / decided.
    pub on_time: Rate,
    /// Filed online / received.
    pub online_dossiers: Rate,
    /// Dossiers paid online / dossiers paid.
    pub online_payment_transactions: Rate,
    /// Received with every input electronic / received.
    pub digitization: Rate,
    /// Results issued electronically / results issued.
    pub digitized_results: Rate,
    /// Received reusing a stored document / received.
    pub reuse: Rate,
    /// Satisfied / ratings.
    pub satisfaction: Rate,
    /// 1 − average working days used / average regulated days, for decided dossiers.
    pub time_saved: Option<f64>,
    pub average_days_used: Option<f64>,
}

/// Rates of the catalog as it stands.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CatalogRates {
    /// Active procedures fully online / active procedures.
    pub full_online_procedures: Rate,
    /// Active procedures partly online / active procedures.
    pub partial_online_procedures: Rate,
    /// Procedures with fees payable online / procedures with fees.
    pub online_payment_procedures: Rate,
    /// Procedures published with every component / active procedures.
    pub complete_procedures: Rate,
}

impl CatalogCounts {
    pub fn rates(&self) -> CatalogRates {
        CatalogRates {
            full_online_procedures: Rate::of(self.full_online, self.active),
            partial_online_procedures: Rate::of(self.partial_online, self.active),
            online_payment_procedures: Rate::of(self.fee_bearing_payable_online, self.fee_bearing),
            complete_procedures: Rate::of(self.complete, self.active),
        }
    }
}

/// The counts and rates of a period.
pub fn summarize(flows: &Counters, stock_at_end: &Counters) -> (DossierCounts, Rates) {
    let finished =
        flows.returned + flows.rejected + flows.refused + flows.withdrawn + flows.cancelled;
    let in_progress = stock_at_end.received - stock_at_end.ended;
    let overdue = (stock_at_end.due - stock_at_end.due_finished).clamp(0, in_progress.max(0));
    let counts = DossierCounts {
        received: flows.received,
        received_online: flows.received_online,
        finished,
        decided: flows.decided,
        early: flows.early,
        on_time: flows.on_time,
        late: flows.late,
        returned: flows.returned,
        rejected: flows.rejected,
        refused: flows.refused,
        withdrawn: flows.withdrawn,
        cancelled: flows.cancelled,
        in_progress,
        in_progress_within_time: in_progress - overdue,
        in_progress_overdue: overdue,
    };
    let average = |sum: i64, n: i64| (n > 0).then(|| sum as f64 / n as f64);
    let used = average(flows.used_days, flows.decided);
    let regulated = average(flows.regulated_days, flows.decided);
    let time_saved = match (used, regulated) {
        (Some(u), Some(r)) if r > 0.0 => Some(((1.0 - u / r) * 10_000.0).round() / 10_000.0),
        _ => None,
    };
    let rates = Rates {
        on_time: Rate::of(flows.early + flows.on_time, flows.decided),
        online_dossiers: Rate::of(flows.received_online, flows.received),
        online_payment_transactions: Rate::of(flows.paid_online, flows.paid),
        digitization: Rate::of(flows.digitized, flows.received),
        digitized_results: Rate::of(flows.results_digital, flows.results),
        reuse: Rate::of(flows.reused, flows.received),
        satisfaction: Rate::of(flows.ratings_satisfied, flows.ratings),
        time_saved,
        average_days_used: used.map(|u| (u * 100.0).round() / 100.0),
    };
    (counts, rates)
}
