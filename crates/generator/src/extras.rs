//! Around the dossiers: feedback on regulations, and the queue waits rolled
//! up by day, month and year.

use std::collections::{BTreeMap, HashMap};

use chrono::{Duration, NaiveDate};
use motcua_domain::calendar::WorkingCalendar;
use motcua_domain::feedback::FeedbackStatus;
use motcua_domain::kpi::{Grain, period_start};
use motcua_domain::numeric::trunc_i64;
use motcua_domain::procedure::TimeUnit;
use motcua_persistence::bulk::FeedbackRow;
use motcua_persistence::repo::queue::{Histogram, MAX_WAIT_MINUTES};
use rand::Rng;
use rand::rngs::StdRng;

use crate::Plan;
use crate::dossier::at_local;
use crate::setup::{Agency, pick};

/// Working days an agency has to answer feedback.
const ANSWER_DAYS: u32 = 15;

/// Feedback spread over the plan's years: most answered in time, some late,
/// a few still open. Tracking codes continue from `first_id`.
pub fn feedback(
    rng: &mut StdRng,
    plan: &Plan,
    cal: &WorkingCalendar,
    agencies: &[Agency],
    first_id: i64,
) -> Vec<FeedbackRow> {
    let count = (plan.dossiers / 500).max(5);
    let days = i64::from(plan.years.max(1)) * 365;
    let start = WorkingCalendar::local_date(plan.until) - Duration::days(days);
    (0..count)
        .filter_map(|i| {
            let agency = pick(rng, agencies);
            let day = start + Duration::days(rng.random_range(0..days));
            let created = at_local(day, rng.random_range(0..24 * 60));
            let due = cal.due(created, ANSWER_DAYS, TimeUnit::WorkingDays);
            let handled = match rng.random_range(0..100) {
                0..85 => Some(
                    created
                        + Duration::minutes(
                            trunc_i64(
                                (due - created).num_minutes() as f64 * rng.random_range(0.1..0.95),
                            )
                            .unwrap_or(0),
                        ),
                ),
                85..93 => Some(due + Duration::days(rng.random_range(1..20))),
                _ => None,
            }
            .filter(|at| *at <= plan.until);
            (created <= plan.until).then(|| FeedbackRow {
                tracking_code: format!(
                    "PA-SYN-{}",
                    first_id + i64::try_from(i).unwrap_or(i64::MAX)
                ),
                agency_id: agency.id,
                status: if handled.is_some() {
                    FeedbackStatus::Answered
                } else {
                    FeedbackStatus::Received
                },
                handled_at: handled,
                due_at: due,
                created_at: created,
                staff_id: agency.officer,
            })
        })
        .collect()
}

/// Waits by (agency, day, minutes) added up by grain, period and agency.
pub fn rolled_up_waits(
    waits: &HashMap<(i64, NaiveDate, i64), i64>,
) -> BTreeMap<(Grain, NaiveDate, i64), Histogram> {
    let mut by_day: BTreeMap<(i64, NaiveDate), Histogram> = BTreeMap::new();
    for ((agency, day, minutes), n) in waits {
        *by_day
            .entry((*agency, *day))
            .or_default()
            .entry(*minutes)
            .or_insert(0) += n;
    }
    let mut rows: BTreeMap<(Grain, NaiveDate, i64), Histogram> = BTreeMap::new();
    for ((agency, day), histogram) in by_day {
        for grain in Grain::ALL {
            let merged = rows
                .entry((*grain, period_start(*grain, day), agency))
                .or_default();
            for (minutes, n) in &histogram {
                *merged
                    .entry((*minutes).clamp(0, MAX_WAIT_MINUTES))
                    .or_insert(0) += n;
            }
        }
    }
    rows
}
