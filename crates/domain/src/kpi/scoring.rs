//! The Decision 766 groups scored from the rates.

use serde::{Deserialize, Serialize};

use super::{CatalogCounts, Counters, DossierCounts, FeedbackCounts, Rate, SyncCounts};

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

/// `t2_synced_dossiers`, measured from the portal sync status where the
/// caller counted it (docs/portal.md), unmeasured otherwise.
fn synced_dossiers(synced: Option<&SyncCounts>, rules: &Scoring) -> Indicator {
    match synced {
        Some(s) => indicator(
            "t2_synced_dossiers",
            rules.t2_synced_dossiers,
            Rate::of(s.synced_in_time, s.received),
        ),
        None => Indicator {
            code: "t2_synced_dossiers",
            rate: Rate::of(0, 0),
            points: 0.0,
            max_points: rules.t2_synced_dossiers.points,
            measured: false,
        },
    }
}

/// The five Decision 766 groups: transparency, progress, online service,
/// digitization, satisfaction. How each indicator is counted is in docs/kpi.md.
pub fn score(
    counts: &DossierCounts,
    flows: &Counters,
    catalog: &CatalogCounts,
    feedback: &FeedbackCounts,
    synced: Option<&SyncCounts>,
    rules: &Scoring,
) -> Vec<Group> {
    let t2 = synced_dossiers(synced, rules);
    let decided = counts.decided;
    let handled = decided + counts.in_progress;
    let within = counts.early + counts.on_time + counts.in_progress_within_time;
    let feedback_clean = (feedback.received - feedback.overdue).max(0);
    let served_well = (decided - counts.late - flows.ratings_unsatisfied).max(0);
    vec![
        group(
            "transparency",
            vec![
                indicator(
                    "t1_complete_procedures",
                    rules.t1_complete_procedures,
                    Rate::of(catalog.complete, catalog.active),
                ),
                t2,
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
                    Rate::of(feedback_clean, feedback.received),
                ),
                indicator(
                    "s3_service_quality",
                    rules.s3_service_quality,
                    Rate::of(served_well, decided),
                ),
            ],
        ),
    ]
}

pub fn total(groups: &[Group]) -> f64 {
    (groups.iter().map(|g| g.score).sum::<f64>() * 100.0).round() / 100.0
}
