//! The figures a department is judged by: per-dossier facts, the counters they
//! add to, rates with their numerator and denominator, and the Decision 766
//! groups scored from them.
//!
//! Counters are flows, each on a day: received on the day of receipt,
//! finished on the day it finished, and so on. A period's flows are the sums
//! over its days. What is *in progress* at the end of a period is a stock,
//! computed from flows since the beginning: received minus finished, and
//! overdue as "due before the end" minus "due and finished before the end".

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::calendar::Outcome;
use crate::dossier::{Channel, DossierStatus, RatingScore};

crate::string_enum! {
    /// How finely aggregates are kept: a period of each grain starts on its first day.
    pub enum Grain {
        Day => "d",
        Month => "m",
        Year => "y",
    }
}

/// What one dossier contributes, derived from its stored state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KpiFacts {
    pub agency_id: i64,
    pub procedure_id: i64,
    pub channel: Channel,
    /// Local day of receipt, once received.
    pub received: Option<NaiveDate>,
    /// Every input document exists electronically (checked at receipt and after scans).
    pub digitized: bool,
    /// At least one required document came from the applicant's store.
    pub reused: bool,
    pub fee_bearing: bool,
    /// Local due day while the clock runs (none while paused for a supplement).
    pub due: Option<NaiveDate>,
    /// Day and status when it finished.
    pub finished: Option<(NaiveDate, DossierStatus)>,
    /// Day processing ended: the result was issued, or it was rejected,
    /// refused, cancelled or withdrawn (Decision 766: a result waiting to be
    /// collected is no longer in progress).
    pub ended: Option<NaiveDate>,
    /// Against the due date, for dossiers decided with a result or a rejection.
    pub outcome: Option<Outcome>,
    /// Working days from the day after receipt to the end of processing.
    pub used_days: Option<i64>,
    pub regulated_days: i64,
    /// Day the result was issued, and whether it exists electronically.
    pub result: Option<(NaiveDate, bool)>,
    /// Day the fees were fully paid, and whether online.
    pub paid: Option<(NaiveDate, bool)>,
    pub rating: Option<(NaiveDate, RatingScore)>,
}

macro_rules! counters {
    ($($name:ident: $doc:literal),+ $(,)?) => {
        /// Flow counters of one bucket (or of a sum of buckets).
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
        pub struct Counters {
            $(#[doc = $doc] pub $name: i64,)+
        }

        /// One counter of [`Counters`].
        #[allow(non_camel_case_types)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Field { $($name),+ }

        impl Field {
            pub const ALL: &'static [Field] = &[$(Field::$name),+];

            pub fn as_str(self) -> &'static str {
                match self { $(Field::$name => stringify!($name)),+ }
            }
        }

        impl Counters {
            pub fn add(&mut self, field: Field, delta: i64) {
                match field { $(Field::$name => self.$name += delta),+ }
            }

            pub fn get(&self, field: Field) -> i64 {
                match field { $(Field::$name => self.$name),+ }
            }

            pub fn merge(&mut self, other: &Counters) {
                $(self.$name += other.$name;)+
            }

            pub fn minus(&self, other: &Counters) -> Counters {
                Counters { $($name: self.$name - other.$name,)+ }
            }

            pub fn is_zero(&self) -> bool {
                $(self.$name == 0 &&)+ true
            }
        }
    };
}

counters! {
    received: "Dossiers received.",
    received_online: "Of them, filed online.",
    digitized: "Received dossiers whose every input document is electronic.",
    reused: "Received dossiers that reused a stored document.",
    fee_bearing: "Received dossiers with fees.",
    returned: "Finished: result returned.",
    rejected: "Finished: rejected after review.",
    refused: "Finished: refused at intake.",
    withdrawn: "Finished: withdrawn by the applicant.",
    cancelled: "Finished: cancelled.",
    decided: "Processed with a result or a rejection (on the day processing ended).",
    early: "Decided before the due date.",
    on_time: "Decided on the due date.",
    late: "Decided after it.",
    ended: "Received dossiers whose processing ended (stock bookkeeping).",
    used_days: "Working days used, summed over decided dossiers.",
    regulated_days: "Regulated days, summed over the same dossiers.",
    results: "Results issued.",
    results_digital: "Results issued electronically.",
    digitized_through: "Results issued electronically for dossiers whose inputs were all electronic.",
    paid: "Dossiers whose fees were paid.",
    paid_online: "Of them, paid online.",
    ratings: "Ratings given.",
    ratings_satisfied: "Ratings 'satisfied'.",
    ratings_unsatisfied: "Ratings 'unsatisfied' (dislikes).",
    due: "Received dossiers by due day (stock bookkeeping).",
    due_finished: "Of them, by the later of due day and end of processing (stock bookkeeping).",
}

/// The (day, counter, delta) entries a dossier adds to the aggregates.
pub fn contributions(f: &KpiFacts) -> Vec<(NaiveDate, Field, i64)> {
    let mut out = Vec::new();
    if let Some(day) = f.received {
        out.push((day, Field::received, 1));
        if f.channel == Channel::Online {
            out.push((day, Field::received_online, 1));
        }
        if f.digitized {
            out.push((day, Field::digitized, 1));
        }
        if f.reused {
            out.push((day, Field::reused, 1));
        }
        if f.fee_bearing {
            out.push((day, Field::fee_bearing, 1));
        }
        if let Some(due) = f.due {
            out.push((due, Field::due, 1));
            if let Some(ended) = f.ended {
                out.push((due.max(ended), Field::due_finished, 1));
            }
        }
        if let Some(ended) = f.ended {
            out.push((ended, Field::ended, 1));
            if let Some(outcome) = f.outcome {
                out.push((ended, Field::decided, 1));
                let field = match outcome {
                    Outcome::Early => Field::early,
                    Outcome::OnTime => Field::on_time,
                    Outcome::Late => Field::late,
                };
                out.push((ended, field, 1));
                // A decided dossier always has both ends of its processing time.
                out.push((ended, Field::used_days, f.used_days.unwrap_or_default()));
                out.push((ended, Field::regulated_days, f.regulated_days));
            }
        }
    }
    if let Some((day, status)) = f.finished {
        let field = match status {
            DossierStatus::Returned => Some(Field::returned),
            DossierStatus::Rejected => Some(Field::rejected),
            DossierStatus::Refused => Some(Field::refused),
            DossierStatus::Withdrawn => Some(Field::withdrawn),
            DossierStatus::Cancelled => Some(Field::cancelled),
            _ => None,
        };
        if let Some(field) = field {
            out.push((day, field, 1));
        }
    }
    if let Some((day, digital)) = f.result {
        out.push((day, Field::results, 1));
        if digital {
            out.push((day, Field::results_digital, 1));
            if f.digitized {
                out.push((day, Field::digitized_through, 1));
            }
        }
    }
    if let Some((day, online)) = f.paid {
        out.push((day, Field::paid, 1));
        if online {
            out.push((day, Field::paid_online, 1));
        }
    }
    if let Some((day, score)) = f.rating {
        out.push((day, Field::ratings, 1));
        match score {
            RatingScore::Satisfied => out.push((day, Field::ratings_satisfied, 1)),
            RatingScore::Unsatisfied => out.push((day, Field::ratings_unsatisfied, 1)),
            RatingScore::Normal => {}
        }
    }
    out
}

/// One aggregate row: a period of one grain, for one receiving agency,
/// procedure and channel. Ordered, so that writers touch rows in one order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Bucket {
    pub grain: Grain,
    pub period: NaiveDate,
    pub agency_id: i64,
    pub procedure_id: i64,
    pub channel: Channel,
}

/// The `procedure_id` of the rows that add up every procedure of an agency
/// and channel: what queries without a procedure or sector filter read, so
/// their cost follows the number of agencies, not the size of the catalog.
pub const ALL_PROCEDURES: i64 = 0;

/// Adds `sign` × a dossier's contributions to the rows of every grain, for
/// its procedure and for all procedures.
pub fn accumulate(into: &mut BTreeMap<Bucket, Counters>, facts: &KpiFacts, sign: i64) {
    for (day, field, value) in contributions(facts) {
        for grain in Grain::ALL {
            for procedure_id in [facts.procedure_id, ALL_PROCEDURES] {
                let bucket = Bucket {
                    grain: *grain,
                    period: period_start(*grain, day),
                    agency_id: facts.agency_id,
                    procedure_id,
                    channel: facts.channel,
                };
                into.entry(bucket).or_default().add(field, sign * value);
            }
        }
    }
}

/// What changes in each row when a dossier's facts go from `old` to `new`
/// (either may be absent), without the rows that do not change.
pub fn change(old: Option<&KpiFacts>, new: Option<&KpiFacts>) -> BTreeMap<Bucket, Counters> {
    let mut rows = BTreeMap::new();
    if let Some(old) = old {
        accumulate(&mut rows, old, -1);
    }
    if let Some(new) = new {
        accumulate(&mut rows, new, 1);
    }
    rows.retain(|_, c| !c.is_zero());
    rows
}

/// First day of the period of `grain` containing `day`.
pub fn period_start(grain: Grain, day: NaiveDate) -> NaiveDate {
    match grain {
        Grain::Day => day,
        Grain::Month => day.with_day(1).unwrap_or(day),
        Grain::Year => NaiveDate::from_ymd_opt(day.year(), 1, 1).unwrap_or(day),
    }
}

fn next_start(grain: Grain, start: NaiveDate) -> NaiveDate {
    match grain {
        Grain::Day => start.succ_opt().unwrap_or(start),
        Grain::Month => {
            let (y, m) = if start.month() == 12 {
                (start.year() + 1, 1)
            } else {
                (start.year(), start.month() + 1)
            };
            NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(start)
        }
        Grain::Year => NaiveDate::from_ymd_opt(start.year() + 1, 1, 1).unwrap_or(start),
    }
}

/// A run of whole periods of one grain: `from` to `to`, exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub grain: Grain,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// The fewest whole days, months and years that exactly cover `[from, to)`.
pub fn cover(from: NaiveDate, to: NaiveDate) -> Vec<Span> {
    let mut spans = Vec::new();
    let mut at = from;
    let mut push = |grain: Grain, at: &mut NaiveDate, end: NaiveDate| {
        if end > *at {
            spans.push(Span {
                grain,
                from: *at,
                to: end,
            });
            *at = end;
        }
    };
    let month_of_to = period_start(Grain::Month, to);
    let year_of_to = period_start(Grain::Year, to);
    if at < to && period_start(Grain::Month, at) != at {
        let end = next_start(Grain::Month, period_start(Grain::Month, at)).min(to);
        push(Grain::Day, &mut at, end);
    }
    if at < to && period_start(Grain::Year, at) != at {
        let end = next_start(Grain::Year, period_start(Grain::Year, at)).min(month_of_to);
        push(Grain::Month, &mut at, end);
    }
    if at < to && period_start(Grain::Year, at) == at {
        push(Grain::Year, &mut at, year_of_to);
    }
    if at < to && period_start(Grain::Month, at) == at {
        push(Grain::Month, &mut at, month_of_to);
    }
    if at < to {
        push(Grain::Day, &mut at, to);
    }
    spans
}

/// The first day aggregates are kept from; stocks sum everything since.
pub fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or(NaiveDate::MIN)
}

crate::string_enum! {
    /// How a time series is cut.
    pub enum Granularity {
        Day => "day",
        /// ISO weeks, Monday to Sunday.
        Week => "week",
        Month => "month",
        Quarter => "quarter",
        Year => "year",
    }
}

/// First day of the bucket of `granularity` containing `day`.
pub fn bucket_start(granularity: Granularity, day: NaiveDate) -> NaiveDate {
    match granularity {
        Granularity::Day => day,
        Granularity::Week => {
            day - chrono::Duration::days(i64::from(day.weekday().num_days_from_monday()))
        }
        Granularity::Month => period_start(Grain::Month, day),
        Granularity::Quarter => {
            NaiveDate::from_ymd_opt(day.year(), (day.month0() / 3) * 3 + 1, 1).unwrap_or(day)
        }
        Granularity::Year => period_start(Grain::Year, day),
    }
}

fn bucket_after(granularity: Granularity, start: NaiveDate) -> NaiveDate {
    match granularity {
        Granularity::Day => next_start(Grain::Day, start),
        Granularity::Week => start + chrono::Duration::days(7),
        Granularity::Month => next_start(Grain::Month, start),
        Granularity::Quarter => next_start(
            Grain::Month,
            next_start(Grain::Month, next_start(Grain::Month, start)),
        ),
        Granularity::Year => next_start(Grain::Year, start),
    }
}

/// The buckets cutting `[from, to)`: calendar periods, the first and last
/// cut to the range.
pub fn buckets(
    granularity: Granularity,
    from: NaiveDate,
    to: NaiveDate,
) -> Vec<(NaiveDate, NaiveDate)> {
    let mut out = Vec::new();
    let mut at = from;
    while at < to {
        let end = bucket_after(granularity, bucket_start(granularity, at)).min(to);
        if end <= at {
            break;
        }
        out.push((at, end));
        at = end;
    }
    out
}

/// A named period: `2026`, `2026-Q2`, `2026-03` or `2026-03-05`, as `[from, to)`.
pub fn parse_period(text: &str) -> Option<(NaiveDate, NaiveDate)> {
    let text = text.trim();
    let year_of = |s: &str| {
        s.parse::<i32>()
            .ok()
            .filter(|y| (2000..=2100).contains(y) && s.len() == 4)
    };
    if let Some(year) = year_of(text) {
        let from = NaiveDate::from_ymd_opt(year, 1, 1)?;
        return Some((from, next_start(Grain::Year, from)));
    }
    let (year, rest) = text.split_once('-')?;
    let year = year_of(year)?;
    if let Some(q) = rest.strip_prefix('Q').or_else(|| rest.strip_prefix('q')) {
        let q: u32 = q.parse().ok().filter(|q| (1..=4).contains(q))?;
        let from = NaiveDate::from_ymd_opt(year, (q - 1) * 3 + 1, 1)?;
        return Some((from, bucket_after(Granularity::Quarter, from)));
    }
    if rest.len() == 2 {
        let month: u32 = rest.parse().ok()?;
        let from = NaiveDate::from_ymd_opt(year, month, 1)?;
        return Some((from, next_start(Grain::Month, from)));
    }
    let day = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    Some((day, next_start(Grain::Day, day)))
}

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

/// Points of one indicator: full when its rate reaches `full_at`, proportional below.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IndicatorRule {
    pub points: f64,
    /// The rate at which the full points are given (1.0 = 100%).
    pub full_at: f64,
}

/// Points and thresholds of the Decision 766 indicators this system can
/// measure. The official split inside each group is not fully public: these
/// are defaults, configurable under `[kpi.scoring]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scoring {
    pub t1_complete_procedures: IndicatorRule,
    pub t2_synced_dossiers: IndicatorRule,
    pub p1_within_time: IndicatorRule,
    pub o1_online_procedures: IndicatorRule,
    pub o2_online_dossiers: IndicatorRule,
    pub o3_payable_procedures: IndicatorRule,
    pub o4_paid_online: IndicatorRule,
    pub d1_electronic_results: IndicatorRule,
    pub d2_digitized_dossiers: IndicatorRule,
    pub d3_reuse: IndicatorRule,
    pub s1_feedback_in_time: IndicatorRule,
    pub s2_feedback_clean: IndicatorRule,
    pub s3_service_quality: IndicatorRule,
}

impl Scoring {
    fn rules(&self) -> [(&'static str, IndicatorRule); 13] {
        [
            ("t1_complete_procedures", self.t1_complete_procedures),
            ("t2_synced_dossiers", self.t2_synced_dossiers),
            ("p1_within_time", self.p1_within_time),
            ("o1_online_procedures", self.o1_online_procedures),
            ("o2_online_dossiers", self.o2_online_dossiers),
            ("o3_payable_procedures", self.o3_payable_procedures),
            ("o4_paid_online", self.o4_paid_online),
            ("d1_electronic_results", self.d1_electronic_results),
            ("d2_digitized_dossiers", self.d2_digitized_dossiers),
            ("d3_reuse", self.d3_reuse),
            ("s1_feedback_in_time", self.s1_feedback_in_time),
            ("s2_feedback_clean", self.s2_feedback_clean),
            ("s3_service_quality", self.s3_service_quality),
        ]
    }

    /// Points are finite and not negative; thresholds are in (0, 1].
    pub fn check(&self) -> Result<(), String> {
        for (code, rule) in self.rules() {
            if !(rule.points.is_finite() && rule.points >= 0.0) {
                return Err(format!("{code}.points must be a number of at least 0"));
            }
            if !(rule.full_at > 0.0 && rule.full_at <= 1.0) {
                return Err(format!("{code}.full_at must be above 0 and at most 1"));
            }
        }
        Ok(())
    }
}

const fn rule(points: f64, full_at: f64) -> IndicatorRule {
    IndicatorRule { points, full_at }
}

impl Default for Scoring {
    fn default() -> Self {
        Self {
            t1_complete_procedures: rule(10.0, 1.0),
            t2_synced_dossiers: rule(8.0, 1.0),
            p1_within_time: rule(20.0, 1.0),
            o1_online_procedures: rule(6.0, 0.8),
            o2_online_dossiers: rule(6.0, 0.5),
            o3_payable_procedures: rule(5.0, 0.8),
            o4_paid_online: rule(5.0, 1.0),
            d1_electronic_results: rule(8.0, 1.0),
            d2_digitized_dossiers: rule(7.0, 0.8),
            d3_reuse: rule(7.0, 0.8),
            s1_feedback_in_time: rule(6.0, 1.0),
            s2_feedback_clean: rule(6.0, 1.0),
            s3_service_quality: rule(6.0, 0.9),
        }
    }
}

/// One scored indicator.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Indicator {
    pub code: &'static str,
    pub rate: Rate,
    pub points: f64,
    pub max_points: f64,
    /// False for what this system cannot observe (scored 0).
    pub measured: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Group {
    pub code: &'static str,
    pub score: f64,
    pub max_points: f64,
    pub indicators: Vec<Indicator>,
}

fn points(rule: IndicatorRule, rate: &Rate) -> f64 {
    // Nothing to measure (no denominator): nothing failed, full points.
    let Some(value) = rate.value else {
        return rule.points;
    };
    let share = if rule.full_at <= 0.0 {
        1.0
    } else {
        (value / rule.full_at).min(1.0)
    };
    (rule.points * share * 100.0).round() / 100.0
}

fn indicator(code: &'static str, rule: IndicatorRule, rate: Rate) -> Indicator {
    Indicator {
        code,
        points: points(rule, &rate),
        max_points: rule.points,
        rate,
        measured: true,
    }
}

fn group(code: &'static str, indicators: Vec<Indicator>) -> Group {
    let score = (indicators.iter().map(|i| i.points).sum::<f64>() * 100.0).round() / 100.0;
    let max_points = indicators.iter().map(|i| i.max_points).sum();
    Group {
        code,
        score,
        max_points,
        indicators,
    }
}

/// The five Decision 766 groups: transparency, progress, online service,
/// digitization, satisfaction. How each indicator is counted is in docs/kpi.md.
pub fn score(
    counts: &DossierCounts,
    flows: &Counters,
    catalog: &CatalogCounts,
    feedback: &FeedbackCounts,
    rules: &Scoring,
) -> Vec<Group> {
    let unmeasured = Indicator {
        code: "t2_synced_dossiers",
        rate: Rate::of(0, 0),
        points: 0.0,
        max_points: rules.t2_synced_dossiers.points,
        measured: false,
    };
    let decided = counts.decided;
    let handled = decided + counts.in_progress;
    let within = counts.early + counts.on_time + counts.in_progress_within_time;
    vec![
        group(
            "transparency",
            vec![
                indicator(
                    "t1_complete_procedures",
                    rules.t1_complete_procedures,
                    Rate::of(catalog.complete, catalog.active),
                ),
                unmeasured,
            ],
        ),
        group(
            "progress",
            vec![indicator(
                "p1_within_time",
                rules.p1_within_time,
                Rate::of(within, handled),
            )],
        ),
        group(
            "online_service",
            vec![
                indicator(
                    "o1_online_procedures",
                    rules.o1_online_procedures,
                    Rate::of(catalog.full_online + catalog.partial_online, catalog.active),
                ),
                indicator(
                    "o2_online_dossiers",
                    rules.o2_online_dossiers,
                    Rate::of(flows.received_online, flows.received),
                ),
                indicator(
                    "o3_payable_procedures",
                    rules.o3_payable_procedures,
                    Rate::of(catalog.fee_bearing_payable_online, catalog.fee_bearing),
                ),
                indicator(
                    "o4_paid_online",
                    rules.o4_paid_online,
                    Rate::of(flows.paid_online, flows.paid),
                ),
            ],
        ),
        group(
            "digitization",
            vec![
                indicator(
                    "d1_electronic_results",
                    rules.d1_electronic_results,
                    Rate::of(flows.results_digital, flows.results),
                ),
                indicator(
                    "d2_digitized_dossiers",
                    rules.d2_digitized_dossiers,
                    Rate::of(flows.digitized_through, flows.results),
                ),
                indicator(
                    "d3_reuse",
                    rules.d3_reuse,
                    Rate::of(flows.reused, flows.received),
                ),
            ],
        ),
        group(
            "satisfaction",
            vec![
                indicator(
                    "s1_feedback_in_time",
                    rules.s1_feedback_in_time,
                    Rate::of(feedback.handled_in_time, feedback.received),
                ),
                indicator(
                    "s2_feedback_clean",
                    rules.s2_feedback_clean,
                    Rate::of(
                        (feedback.received - feedback.overdue).max(0),
                        feedback.received,
                    ),
                ),
                indicator(
                    "s3_service_quality",
                    rules.s3_service_quality,
                    Rate::of(
                        (decided - counts.late - flows.ratings_unsatisfied).max(0),
                        decided,
                    ),
                ),
            ],
        ),
    ]
}

pub fn total(groups: &[Group]) -> f64 {
    (groups.iter().map(|g| g.score).sum::<f64>() * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn facts(received: Option<NaiveDate>) -> KpiFacts {
        KpiFacts {
            agency_id: 1,
            procedure_id: 1,
            channel: Channel::Counter,
            received,
            digitized: false,
            reused: false,
            fee_bearing: false,
            due: None,
            finished: None,
            ended: None,
            outcome: None,
            used_days: None,
            regulated_days: 5,
            result: None,
            paid: None,
            rating: None,
        }
    }

    /// Sums the contributions of many dossiers into flows over `[from, to)` and the stock at `to`.
    fn period(all: &[KpiFacts], from: NaiveDate, to: NaiveDate) -> (Counters, Counters) {
        let (mut flows, mut stock) = (Counters::default(), Counters::default());
        for f in all {
            for (day, field, value) in contributions(f) {
                if day >= from && day < to {
                    flows.add(field, value);
                }
                if day < to {
                    stock.add(field, value);
                }
            }
        }
        (flows, stock)
    }

    #[test]
    fn the_seed_departments_2021() {
        // 100 dossiers received in 2021: 91 returned early or on time, 2 still in
        // progress on 3 Dec, 7 cancelled (Bến Tre report).
        let mut all = Vec::new();
        for i in 0..100u32 {
            let received = d(2021, 1 + i % 11, 1 + i % 28);
            let mut f = facts(Some(received));
            f.due = Some(received + chrono::Duration::days(10));
            match i {
                0..=90 => {
                    let done = received + chrono::Duration::days(if i % 2 == 0 { 5 } else { 10 });
                    f.finished = Some((done, DossierStatus::Returned));
                    f.ended = Some(done);
                    f.outcome = Some(if i % 2 == 0 {
                        Outcome::Early
                    } else {
                        Outcome::OnTime
                    });
                    f.used_days = Some(if i % 2 == 0 { 3 } else { 5 });
                }
                91 | 92 => {
                    // Received late in November; still open on 3 December, one overdue.
                    f.received = Some(d(2021, 11, 20 + i - 91));
                    f.due = Some(if i == 91 {
                        d(2021, 12, 1)
                    } else {
                        d(2021, 12, 10)
                    });
                }
                _ => {
                    let cancelled = received + chrono::Duration::days(2);
                    f.finished = Some((cancelled, DossierStatus::Cancelled));
                    f.ended = Some(cancelled);
                }
            }
            all.push(f);
        }
        let (flows, stock) = period(&all, d(2021, 1, 1), d(2021, 12, 4));
        let (counts, rates) = summarize(&flows, &stock);
        assert_eq!(counts.received, 100);
        assert_eq!(counts.finished, 98);
        assert_eq!((counts.early, counts.on_time, counts.late), (46, 45, 0));
        assert_eq!(counts.cancelled, 7);
        assert_eq!(counts.in_progress, 2);
        assert_eq!(
            (counts.in_progress_within_time, counts.in_progress_overdue),
            (1, 1)
        );
        assert_eq!(
            rates.on_time,
            Rate {
                numerator: 91,
                denominator: 91,
                value: Some(1.0)
            }
        );
        // No ratings, no payments: rates are null, not 0 or 100.
        assert_eq!(
            rates.satisfaction,
            Rate {
                numerator: 0,
                denominator: 0,
                value: None
            }
        );
        assert_eq!(rates.online_payment_transactions.value, None);
        // Average 4 working days used against 5 regulated (46×3 + 45×5 = 363 over 91).
        assert_eq!(rates.average_days_used, Some(3.99));
        assert_eq!(rates.time_saved, Some(0.2022));
    }

    #[test]
    fn periods_cut_through_a_dossiers_life() {
        // Received 20 Jan, due 10 Feb, returned 20 Feb (late).
        let mut f = facts(Some(d(2026, 1, 20)));
        f.due = Some(d(2026, 2, 10));
        f.finished = Some((d(2026, 2, 20), DossierStatus::Returned));
        f.ended = Some(d(2026, 2, 20));
        f.outcome = Some(Outcome::Late);
        let all = [f];
        let table = [
            // (from, to, received, finished, late, in progress, overdue)
            (d(2026, 1, 1), d(2026, 2, 1), 1, 0, 0, 1, 0),
            (d(2026, 2, 1), d(2026, 2, 15), 0, 0, 0, 1, 1),
            (d(2026, 2, 15), d(2026, 3, 1), 0, 1, 1, 0, 0),
            (d(2026, 2, 20), d(2026, 2, 21), 0, 1, 1, 0, 0),
            // Due at 17:00 on 10 Feb: still within time at the end of 9 Feb, overdue by the end of the 10th.
            (d(2026, 2, 9), d(2026, 2, 10), 0, 0, 0, 1, 0),
            (d(2026, 2, 10), d(2026, 2, 11), 0, 0, 0, 1, 1),
            (d(2026, 2, 11), d(2026, 2, 12), 0, 0, 0, 1, 1),
            (d(2026, 1, 1), d(2027, 1, 1), 1, 1, 1, 0, 0),
        ];
        for (from, to, received, finished, late, in_progress, overdue) in table {
            let (flows, stock) = period(&all, from, to);
            let (c, _) = summarize(&flows, &stock);
            assert_eq!(
                (
                    c.received,
                    c.finished,
                    c.late,
                    c.in_progress,
                    c.in_progress_overdue
                ),
                (received, finished, late, in_progress, overdue),
                "{from}..{to}"
            );
        }
    }

    #[test]
    fn a_result_waiting_for_collection_is_neither_in_progress_nor_overdue() {
        // Received 2 Mar, due 9 Mar, result issued 6 Mar (early), collected 20 Mar.
        let mut f = facts(Some(d(2026, 3, 2)));
        f.due = Some(d(2026, 3, 9));
        f.ended = Some(d(2026, 3, 6));
        f.outcome = Some(Outcome::Early);
        f.result = Some((d(2026, 3, 6), true));
        let waiting = f.clone();
        f.finished = Some((d(2026, 3, 20), DossierStatus::Returned));
        for (facts, returned) in [(waiting, 0), (f, 1)] {
            let (flows, stock) = period(&[facts], d(2026, 3, 1), d(2026, 4, 1));
            let (c, rates) = summarize(&flows, &stock);
            assert_eq!(
                (
                    c.decided,
                    c.early,
                    c.returned,
                    c.in_progress,
                    c.in_progress_overdue
                ),
                (1, 1, returned, 0, 0)
            );
            assert_eq!(rates.on_time.value, Some(1.0));
        }
    }

    #[test]
    fn transferred_dossiers_count_for_the_receiving_agency() {
        // Facts carry the receiving agency whatever agency handles the dossier now:
        // the sums per agency are the sums of the facts per agency.
        let mut a = facts(Some(d(2026, 3, 2)));
        a.agency_id = 10;
        let mut b = facts(Some(d(2026, 3, 2)));
        b.agency_id = 20;
        let per_agency = |agency: i64| {
            let mine: Vec<KpiFacts> = [a.clone(), b.clone()]
                .into_iter()
                .filter(|f| f.agency_id == agency)
                .collect();
            period(&mine, d(2026, 3, 1), d(2026, 4, 1)).0.received
        };
        assert_eq!((per_agency(10), per_agency(20)), (1, 1));
    }

    #[test]
    fn changes_touch_only_what_moved() {
        let mut before = facts(Some(d(2026, 3, 2)));
        before.due = Some(d(2026, 3, 9));
        let mut after = before.clone();
        after.finished = Some((d(2026, 3, 5), DossierStatus::Returned));
        after.ended = Some(d(2026, 3, 5));
        after.outcome = Some(Outcome::Early);
        let rows = change(Some(&before), Some(&after));
        let day = |day: NaiveDate| Bucket {
            grain: Grain::Day,
            period: day,
            agency_id: 1,
            procedure_id: 1,
            channel: Channel::Counter,
        };
        // Two days, one month, one year; for the procedure and for all procedures.
        assert_eq!(rows.len(), 8, "{rows:?}");
        let finished = rows[&day(d(2026, 3, 5))];
        assert_eq!(
            (finished.returned, finished.early, finished.decided),
            (1, 1, 1)
        );
        assert_eq!(rows[&day(d(2026, 3, 9))].due_finished, 1);
        assert_eq!(
            rows[&Bucket {
                procedure_id: ALL_PROCEDURES,
                ..day(d(2026, 3, 5))
            }],
            finished
        );
        let year = rows.keys().find(|b| b.grain == Grain::Year).unwrap();
        assert_eq!(
            (year.period, rows[year].received, rows[year].returned),
            (d(2026, 1, 1), 0, 1)
        );
        assert!(change(Some(&after), Some(&after)).is_empty());
        // A dossier moved to another agency leaves one row and joins another.
        let mut moved = after.clone();
        moved.agency_id = 2;
        let rows = change(Some(&after), Some(&moved));
        let received: Vec<(i64, i64)> = rows
            .iter()
            .filter(|(b, _)| {
                b.grain == Grain::Day
                    && b.period == d(2026, 3, 2)
                    && b.procedure_id != ALL_PROCEDURES
            })
            .map(|(b, c)| (b.agency_id, c.received))
            .collect();
        assert_eq!(received, [(1, -1), (2, 1)]);
    }

    #[test]
    fn covers_are_exact_and_minimal() {
        let cases = [
            (
                d(2026, 1, 1),
                d(2027, 1, 1),
                vec![(Grain::Year, d(2026, 1, 1), d(2027, 1, 1))],
            ),
            (
                d(2026, 3, 1),
                d(2026, 6, 1),
                vec![(Grain::Month, d(2026, 3, 1), d(2026, 6, 1))],
            ),
            (
                d(2026, 3, 5),
                d(2026, 3, 9),
                vec![(Grain::Day, d(2026, 3, 5), d(2026, 3, 9))],
            ),
            (
                d(2025, 11, 20),
                d(2027, 2, 3),
                vec![
                    (Grain::Day, d(2025, 11, 20), d(2025, 12, 1)),
                    (Grain::Month, d(2025, 12, 1), d(2026, 1, 1)),
                    (Grain::Year, d(2026, 1, 1), d(2027, 1, 1)),
                    (Grain::Month, d(2027, 1, 1), d(2027, 2, 1)),
                    (Grain::Day, d(2027, 2, 1), d(2027, 2, 3)),
                ],
            ),
            (
                d(2026, 3, 31),
                d(2026, 4, 2),
                vec![
                    (Grain::Day, d(2026, 3, 31), d(2026, 4, 1)),
                    (Grain::Day, d(2026, 4, 1), d(2026, 4, 2)),
                ],
            ),
            (d(2026, 5, 1), d(2026, 5, 1), vec![]),
        ];
        for (from, to, want) in cases {
            let got: Vec<(Grain, NaiveDate, NaiveDate)> = cover(from, to)
                .into_iter()
                .map(|s| (s.grain, s.from, s.to))
                .collect();
            assert_eq!(got, want, "{from}..{to}");
        }
        // Every day of a long range is covered exactly once.
        let (from, to) = (d(2019, 7, 15), d(2026, 11, 23));
        let mut days = 0;
        for span in cover(from, to) {
            let mut at = span.from;
            while at < span.to {
                assert_eq!(period_start(span.grain, at), at);
                at = next_start(span.grain, at);
                days += match span.grain {
                    Grain::Day => 1,
                    _ => 0,
                };
            }
            if span.grain != Grain::Day {
                days += (span.to - span.from).num_days();
            }
        }
        assert_eq!(days, (to - from).num_days());
    }

    #[test]
    fn periods_by_name() {
        let cases = [
            ("2021", Some((d(2021, 1, 1), d(2022, 1, 1)))),
            ("2026-Q1", Some((d(2026, 1, 1), d(2026, 4, 1)))),
            ("2026-q4", Some((d(2026, 10, 1), d(2027, 1, 1)))),
            ("2026-02", Some((d(2026, 2, 1), d(2026, 3, 1)))),
            ("2026-12", Some((d(2026, 12, 1), d(2027, 1, 1)))),
            ("2026-02-17", Some((d(2026, 2, 17), d(2026, 2, 18)))),
            ("2026-Q5", None),
            ("2026-13", None),
            ("2026-02-30", None),
            ("26", None),
            ("1999", None),
            ("", None),
            ("năm 2026", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_period(text), want, "{text}");
        }
    }

    #[test]
    fn buckets_follow_the_calendar_and_cut_the_ends() {
        use Granularity as G;
        let cases = [
            // Tết 2026 falls in ISO weeks 8 and 9; Monday 16 Feb starts week 8.
            (
                G::Week,
                d(2026, 2, 11),
                d(2026, 3, 1),
                vec![
                    (d(2026, 2, 11), d(2026, 2, 16)),
                    (d(2026, 2, 16), d(2026, 2, 23)),
                    (d(2026, 2, 23), d(2026, 3, 1)),
                ],
            ),
            (
                G::Quarter,
                d(2025, 11, 15),
                d(2026, 5, 1),
                vec![
                    (d(2025, 11, 15), d(2026, 1, 1)),
                    (d(2026, 1, 1), d(2026, 4, 1)),
                    (d(2026, 4, 1), d(2026, 5, 1)),
                ],
            ),
            (
                G::Month,
                d(2026, 1, 31),
                d(2026, 2, 2),
                vec![
                    (d(2026, 1, 31), d(2026, 2, 1)),
                    (d(2026, 2, 1), d(2026, 2, 2)),
                ],
            ),
            (G::Year, d(2026, 1, 1), d(2026, 1, 1), vec![]),
            (
                G::Day,
                d(2026, 2, 28),
                d(2026, 3, 2),
                vec![
                    (d(2026, 2, 28), d(2026, 3, 1)),
                    (d(2026, 3, 1), d(2026, 3, 2)),
                ],
            ),
        ];
        for (g, from, to, want) in cases {
            assert_eq!(buckets(g, from, to), want, "{g} {from}..{to}");
        }
        assert_eq!(
            bucket_start(G::Week, d(2026, 11, 29)),
            d(2026, 11, 23),
            "Sunday belongs to the week of Monday"
        );
    }

    #[test]
    fn rates_are_null_without_a_denominator() {
        assert_eq!(Rate::of(0, 0).value, None);
        assert_eq!(Rate::of(1, 3).value, Some(0.3333));
        assert_eq!(Rate::of(0, 5).value, Some(0.0));
    }

    #[test]
    fn waiting_time_average_and_p90() {
        let hist: BTreeMap<i64, i64> = [(2, 5), (10, 4), (45, 1)].into_iter().collect();
        let w = waiting_time(&hist);
        assert_eq!(w.tickets_called, 10);
        assert_eq!(w.average_minutes, Some(9.5));
        assert_eq!(w.p90_minutes, Some(10));
        assert_eq!(waiting_time(&BTreeMap::new()).average_minutes, None);
    }

    #[test]
    fn scoring_is_proportional_below_the_threshold() {
        let rules = Scoring::default();
        let catalog = CatalogCounts {
            active: 10,
            full_online: 4,
            partial_online: 2,
            complete: 10,
            fee_bearing: 5,
            fee_bearing_payable_online: 4,
        };
        let flows = Counters {
            received: 100,
            received_online: 25,
            reused: 40,
            results: 50,
            results_digital: 50,
            digitized_through: 40,
            paid: 10,
            paid_online: 5,
            ..Default::default()
        };
        let counts = DossierCounts {
            received: 100,
            returned: 50,
            decided: 50,
            early: 40,
            on_time: 5,
            late: 5,
            in_progress: 50,
            in_progress_within_time: 45,
            in_progress_overdue: 5,
            ..Default::default()
        };
        let groups = score(
            &counts,
            &flows,
            &catalog,
            &FeedbackCounts::default(),
            &rules,
        );
        let by = |code: &str| {
            groups
                .iter()
                .flat_map(|g| &g.indicators)
                .find(|i| i.code == code)
                .unwrap()
                .points
        };
        assert_eq!(by("t1_complete_procedures"), 10.0);
        assert_eq!(by("t2_synced_dossiers"), 0.0);
        assert_eq!(
            by("o1_online_procedures"),
            4.5,
            "60% of a full-at-80% indicator: 3/4 of 6"
        );
        assert_eq!(
            by("o2_online_dossiers"),
            3.0,
            "25% of a full-at-50% indicator"
        );
        assert_eq!(
            by("o3_payable_procedures"),
            5.0,
            "80% reaches the threshold"
        );
        assert_eq!(by("p1_within_time"), 18.0, "90 of 100 within time");
        assert_eq!(by("d3_reuse"), 3.5);
        assert_eq!(
            by("s1_feedback_in_time"),
            6.0,
            "no feedback, nothing failed"
        );
        let sum: f64 = groups.iter().map(|g| g.max_points).sum();
        assert_eq!(sum, 100.0);
        assert_eq!(
            groups.iter().map(|g| g.max_points).collect::<Vec<_>>(),
            [18.0, 20.0, 22.0, 22.0, 18.0]
        );
        assert_eq!(rules.check(), Ok(()));
        let mut bad = rules.clone();
        bad.o2_online_dossiers.full_at = 0.0;
        assert!(bad.check().unwrap_err().starts_with("o2_online_dossiers"));
    }
}
