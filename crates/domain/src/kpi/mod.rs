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

use chrono::NaiveDate;
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

mod periods;
mod rates;
mod scoring;

pub use periods::*;
pub use rates::*;
pub use scoring::*;

#[cfg(test)]
mod tests;
