//! What one dossier contributes to the KPIs (Decision 766), from a plain
//! record of its stored state: which dossiers count as digitised, decided,
//! early/on time/late, paid, and when. Persistence reads the record; this
//! module decides.

use chrono::{DateTime, NaiveDate, Utc};

use crate::calendar::{Outcome, WorkingCalendar};
use crate::document::DocumentStage;
use crate::dossier::{Channel, DossierStatus, RatingScore};
use crate::kpi::KpiFacts;
use crate::local_time;
use crate::payment::{PaymentMethod, PaymentStatus};
use crate::procedure::TimeUnit;

/// A dossier as stored, with the lines the KPIs look at.
#[derive(Debug, Clone, PartialEq)]
pub struct DossierRecord {
    pub agency_id: i64,
    pub procedure_id: i64,
    pub channel: Channel,
    pub status: DossierStatus,
    pub time_unit: TimeUnit,
    pub received_at: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    /// Set while the clock stands still for a supplement.
    pub paused_at: Option<DateTime<Utc>>,
    pub processed_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Supplement requests made while the dossier was in review.
    pub supplement_count: i32,
    pub regulated_days: i32,
    pub fees_due_vnd: i64,
    pub documents: Vec<RecordDocument>,
    pub payments: Vec<RecordPayment>,
    /// Supplement requests: when the clock stopped and, once supplemented, resumed.
    pub pauses: Vec<(DateTime<Utc>, Option<DateTime<Utc>>)>,
    pub rating: Option<(RatingScore, DateTime<Utc>)>,
    /// Its form data reused an earlier dossier's (docs/forms.md).
    pub form_reused: bool,
}

/// A document line of a dossier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordDocument {
    /// The required document it meets (none for results).
    pub requirement: Option<String>,
    /// It exists as a file (not paper only).
    pub electronic: bool,
    /// Taken from the applicant's store.
    pub reused: bool,
    pub stage: DocumentStage,
}

/// A payment of a dossier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordPayment {
    pub method: PaymentMethod,
    pub status: PaymentStatus,
    /// What it paid towards the fees.
    pub applied_vnd: i64,
    pub paid_at: Option<DateTime<Utc>>,
}

/// The dossier's KPI facts.
pub fn facts(d: &DossierRecord, calendar: &WorkingCalendar) -> KpiFacts {
    let day = local_time::date;
    let received = d.received_at.map(day);
    let inputs: Vec<&RecordDocument> = d
        .documents
        .iter()
        .filter(|l| l.stage != DocumentStage::Result && l.requirement.is_some())
        .collect();
    let mut requirements: Vec<&str> = inputs
        .iter()
        .filter_map(|l| l.requirement.as_deref())
        .collect();
    requirements.sort_unstable();
    requirements.dedup();
    // Digitised: every requirement handed in has an electronic copy.
    let digitized = !requirements.is_empty()
        && requirements.iter().all(|r| {
            inputs
                .iter()
                .any(|l| l.requirement.as_deref() == Some(*r) && l.electronic)
        });
    let reused = inputs.iter().any(|l| l.reused) || d.form_reused;
    let finished = match (d.status.is_finished(), d.finished_at) {
        (true, Some(at)) => Some((day(at), d.status)),
        _ => None,
    };
    // Processing ends when the result is issued or the dossier is stopped;
    // a withdrawal has no processed moment, only its finish.
    let ended = match (d.processed_at, finished) {
        (Some(at), _) => Some(day(at)),
        (None, Some((finished_day, _))) => Some(finished_day),
        (None, None) => None,
    };
    // Decided: a result issued or a rejection. A result with the post is
    // judged at the hand-over: delivery time is not the agency's.
    let decided = d.status.result_issued() || d.status == DossierStatus::Rejected;
    let (outcome, used_days) = match (decided, d.received_at, d.due_at, d.processed_at) {
        (true, Some(received_at), Some(due), Some(done)) => {
            // More than one supplement request counts as late (Decision 766).
            let outcome = if d.supplement_count > 1 {
                Outcome::Late
            } else {
                calendar.classify_finished(due, done, d.time_unit)
            };
            // The days waiting for a supplement are not the agency's (DOMAIN.md, KPIs).
            let pauses: Vec<(NaiveDate, NaiveDate)> = d
                .pauses
                .iter()
                .map(|(stopped, resumed)| (day(*stopped), day(resumed.unwrap_or(done))))
                .collect();
            let used = calendar.working_days_running(day(received_at), day(done), &pauses);
            (Some(outcome), Some(i64::from(used)))
        }
        _ => (None, None),
    };
    let result = match (d.status, d.processed_at) {
        (status, Some(at)) if status.result_issued() => Some((
            day(at),
            d.documents
                .iter()
                .any(|l| l.stage == DocumentStage::Result && l.electronic),
        )),
        _ => None,
    };
    let successes: Vec<&RecordPayment> = d
        .payments
        .iter()
        .filter(|p| p.status == PaymentStatus::Success)
        .collect();
    let paid_total: i64 = successes.iter().map(|p| p.applied_vnd).sum();
    // Paid: the fees in full, on the day of the last payment; online when
    // online payments alone cover them.
    let paid = if d.fees_due_vnd > 0 && paid_total >= d.fees_due_vnd {
        let paid_day = successes.iter().filter_map(|p| p.paid_at).max().map(day);
        let online: i64 = successes
            .iter()
            .filter(|p| p.method == PaymentMethod::Online)
            .map(|p| p.applied_vnd)
            .sum();
        paid_day.map(|paid_day| (paid_day, online >= d.fees_due_vnd))
    } else {
        None
    };
    KpiFacts {
        agency_id: d.agency_id,
        procedure_id: d.procedure_id,
        channel: d.channel,
        received,
        digitized: received.is_some() && digitized,
        reused: received.is_some() && reused,
        fee_bearing: d.fees_due_vnd > 0,
        // A paused clock has no due date.
        due: if received.is_some() && d.paused_at.is_none() {
            d.due_at.map(day)
        } else {
            None
        },
        finished,
        ended,
        outcome,
        used_days,
        regulated_days: i64::from(d.regulated_days),
        result,
        paid,
        rating: d.rating.map(|(score, at)| (day(at), score)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::WorkingHours;
    use chrono::NaiveTime;

    /// Labour Code holidays for every year (Tết 2027 included).
    fn calendar() -> WorkingCalendar {
        WorkingCalendar::with_official_years([], [], WorkingHours::default())
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        local_time::instant(
            day(y, m, d),
            NaiveTime::from_hms_opt(h, 0, 0).unwrap_or_default(),
        )
    }

    fn doc(requirement: Option<&str>, electronic: bool, stage: DocumentStage) -> RecordDocument {
        RecordDocument {
            requirement: requirement.map(str::to_owned),
            electronic,
            reused: false,
            stage,
        }
    }

    /// Received Friday 29 Jan 2027 9:00, due (5 working days) Friday 5 Feb
    /// would be Tết: with Tết off the due day is later.
    fn received() -> DossierRecord {
        let cal = calendar();
        let received_at = at(2027, 1, 29, 9);
        DossierRecord {
            agency_id: 1,
            procedure_id: 2,
            channel: Channel::Online,
            status: DossierStatus::InReview,
            time_unit: TimeUnit::WorkingDays,
            received_at: Some(received_at),
            due_at: Some(cal.due(received_at, 5, TimeUnit::WorkingDays)),
            paused_at: None,
            processed_at: None,
            finished_at: None,
            supplement_count: 0,
            regulated_days: 5,
            fees_due_vnd: 0,
            documents: vec![doc(Some("D1"), true, DocumentStage::Submission)],
            payments: Vec::new(),
            pauses: Vec::new(),
            rating: None,
            form_reused: false,
        }
    }

    #[test]
    fn reused_form_data_counts_as_reuse_once_received() {
        let cal = calendar();
        let reused = DossierRecord {
            form_reused: true,
            ..received()
        };
        assert!(facts(&reused, &cal).reused);
        assert!(!facts(&received(), &cal).reused);
        let submitted = DossierRecord {
            received_at: None,
            ..reused
        };
        assert!(!facts(&submitted, &cal).reused);
    }

    #[test]
    fn due_day_skips_tet_and_pauses_hide_it() {
        let cal = calendar();
        let d = received();
        let f = facts(&d, &cal);
        // Mon 1 – Thu 4 Feb are four days; Tết 2027 takes 5–11 Feb (the
        // weekend in it given back on Wed 10 and Thu 11); the fifth is Fri 12.
        assert_eq!(f.due, Some(day(2027, 2, 12)));
        assert_eq!(f.received, Some(day(2027, 1, 29)));
        assert_eq!(
            (f.outcome, f.used_days, f.ended, f.finished),
            (None, None, None, None)
        );
        let paused = DossierRecord {
            paused_at: Some(at(2027, 2, 2, 10)),
            ..d
        };
        assert_eq!(facts(&paused, &cal).due, None);
        let submitted = DossierRecord {
            received_at: None,
            due_at: None,
            status: DossierStatus::Submitted,
            ..received()
        };
        let f = facts(&submitted, &cal);
        assert_eq!((f.due, f.received, f.digitized), (None, None, false));
    }

    #[test]
    fn outcomes_and_days_used() {
        let cal = calendar();
        let decided = |status, done, supplements, pauses| DossierRecord {
            status,
            processed_at: Some(done),
            supplement_count: supplements,
            pauses,
            ..received()
        };
        let cases = [
            // Done Thu 4 Feb, before Tết: early; four working days.
            (
                decided(DossierStatus::ResultReady, at(2027, 2, 4, 15), 0, vec![]),
                Some(Outcome::Early),
                Some(4),
            ),
            // Done on the due day after Tết: on time.
            (
                decided(DossierStatus::Returned, at(2027, 2, 12, 15), 0, vec![]),
                Some(Outcome::OnTime),
                Some(5),
            ),
            (
                decided(DossierStatus::Rejected, at(2027, 2, 15, 9), 0, vec![]),
                Some(Outcome::Late),
                Some(6),
            ),
            // Two supplement requests: late whatever the date.
            (
                decided(DossierStatus::ResultReady, at(2027, 2, 2, 9), 2, vec![]),
                Some(Outcome::Late),
                Some(2),
            ),
            // Waiting Tue 2 to Wed 3 Feb for a supplement: those days are not the agency's.
            (
                decided(
                    DossierStatus::ResultReady,
                    at(2027, 2, 4, 15),
                    1,
                    vec![(at(2027, 2, 2, 10), Some(at(2027, 2, 3, 10)))],
                ),
                Some(Outcome::Early),
                Some(3),
            ),
            // Withdrawn or cancelled: not decided.
            (
                decided(DossierStatus::Cancelled, at(2027, 2, 4, 15), 0, vec![]),
                None,
                None,
            ),
            (
                decided(DossierStatus::InReview, at(2027, 2, 4, 15), 0, vec![]),
                None,
                None,
            ),
        ];
        for (record, outcome, used) in cases {
            let f = facts(&record, &cal);
            assert_eq!(
                (f.outcome, f.used_days),
                (outcome, used),
                "{:?} {:?}",
                record.status,
                record.processed_at
            );
        }
    }

    #[test]
    fn digitised_results_payments_and_ratings() {
        use PaymentMethod::{Counter, Online};
        use PaymentStatus::{Failed, Success};
        let cal = calendar();
        let base = received();
        let with_docs = |documents| DossierRecord {
            documents,
            ..received()
        };
        let cases = [
            (vec![doc(Some("D1"), true, DocumentStage::Submission)], true),
            // Paper for D1, then a scan of it: digitised.
            (
                vec![
                    doc(Some("D1"), false, DocumentStage::Submission),
                    doc(Some("D1"), true, DocumentStage::Submission),
                ],
                true,
            ),
            (
                vec![
                    doc(Some("D1"), true, DocumentStage::Submission),
                    doc(Some("D2"), false, DocumentStage::Submission),
                ],
                false,
            ),
            // Results do not count, nor does a dossier with no input lines.
            (vec![doc(None, true, DocumentStage::Result)], false),
            (vec![], false),
        ];
        for (documents, digitized) in cases {
            assert_eq!(
                facts(&with_docs(documents.clone()), &cal).digitized,
                digitized,
                "{documents:?}"
            );
        }
        let issued = DossierRecord {
            status: DossierStatus::ResultReady,
            processed_at: Some(at(2027, 2, 4, 15)),
            documents: vec![
                doc(Some("D1"), true, DocumentStage::Submission),
                doc(None, true, DocumentStage::Result),
            ],
            ..base.clone()
        };
        assert_eq!(facts(&issued, &cal).result, Some((day(2027, 2, 4), true)));
        // With the post, the result and its outcome stay those of the hand-over.
        let posting = DossierRecord {
            status: DossierStatus::Posting,
            ..issued.clone()
        };
        let (issued_facts, posting_facts) = (facts(&issued, &cal), facts(&posting, &cal));
        assert_eq!(posting_facts.result, issued_facts.result);
        assert_eq!(posting_facts.outcome, issued_facts.outcome);
        assert_eq!(posting_facts.ended, issued_facts.ended);
        let pay = |method, status, applied_vnd, d| RecordPayment {
            method,
            status,
            applied_vnd,
            paid_at: Some(at(2027, 2, d, 9)),
        };
        let fees = |payments| DossierRecord {
            fees_due_vnd: 100_000,
            payments,
            ..base.clone()
        };
        let cases = [
            (
                vec![pay(Online, Success, 100_000, 1)],
                Some((day(2027, 2, 1), true)),
            ),
            (
                vec![
                    pay(Online, Success, 60_000, 1),
                    pay(Counter, Success, 40_000, 3),
                ],
                Some((day(2027, 2, 3), false)),
            ),
            (
                vec![
                    pay(Online, Success, 60_000, 1),
                    pay(Online, Failed, 40_000, 3),
                ],
                None,
            ),
            (vec![], None),
        ];
        for (payments, paid) in cases {
            let f = facts(&fees(payments.clone()), &cal);
            assert_eq!((f.paid, f.fee_bearing), (paid, true), "{payments:?}");
        }
        let rated = DossierRecord {
            rating: Some((RatingScore::Satisfied, at(2027, 2, 4, 23))),
            ..base
        };
        assert_eq!(
            facts(&rated, &cal).rating,
            Some((day(2027, 2, 4), RatingScore::Satisfied))
        );
    }
}
