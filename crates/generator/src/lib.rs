//! Realistic synthetic data at scale, for load tests and benchmarks: agencies,
//! procedures, applicants and dossiers spread over years with the channels,
//! outcomes, documents, payments, ratings, queue tickets and feedback a
//! provincial department sees.
//!
//! Every dossier's history is walked through the domain's transition rules
//! ([`motcua_domain::dossier::decide`], by typed [`Action`]s and real actors),
//! with due moments, supplement pauses and late results computed by the
//! working calendar, so no sequence the rules refuse can be generated
//! ([`story`]). The rows are then written in batches straight to the tables
//! (`motcua_persistence::bulk`, far faster per dossier than one use case per
//! action), and the KPI aggregates are rebuilt from them exactly as
//! `rebuild-kpi` does. Deterministic for a given seed.
//!
//! [`Action`]: motcua_domain::dossier::Action

mod dossier;
mod extras;
mod review;
mod setup;
pub mod story;

use std::time::Instant;

use chrono::{DateTime, Utc};
use motcua_domain::calendar::WorkingHours;
use motcua_persistence::bulk::{self, Batch};
use motcua_persistence::repo::{calendar, kpi};
use motcua_persistence::{AnyConnection, StoreError, write_tx};
use rand::SeedableRng;
use rand::rngs::StdRng;

pub use motcua_persistence::bulk::Placeholder;
pub use story::Illegal;

#[derive(Debug, Clone)]
pub struct Plan {
    pub dossiers: u64,
    pub procedures: u32,
    /// Dossiers are submitted over this many years up to `until`.
    pub years: u32,
    pub until: DateTime<Utc>,
    pub seed: u64,
    pub placeholder: Placeholder,
}

impl Plan {
    /// The first instant of the simulated years: agencies, accounts and
    /// procedures exist from then on.
    pub fn start(&self) -> DateTime<Utc> {
        self.until - chrono::Duration::days(365 * i64::from(self.years))
    }
}

#[derive(Debug, Clone, Default)]
pub struct Report {
    pub agencies: usize,
    pub procedures: usize,
    pub applicants: u64,
    pub dossiers: u64,
    pub documents: u64,
    pub events: u64,
    pub payments: u64,
    pub ratings: u64,
    pub tickets: u64,
    pub feedback: u64,
    pub aggregate_rows: usize,
    pub generate_secs: f64,
    pub rebuild_secs: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A generated step the rules refuse: a defect of the generator.
    #[error(transparent)]
    Illegal(#[from] Illegal),
}

/// Dossiers written per transaction.
const BATCH: u64 = 2000;

/// Generates `plan.dossiers` dossiers with everything around them, then
/// rebuilds the KPI aggregates. `progress` is told after every batch.
pub fn generate(
    conn: &mut AnyConnection,
    plan: &Plan,
    mut progress: impl FnMut(&Report),
) -> Result<Report, GenerateError> {
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(plan.seed);
    let world = write_tx(conn, |c| setup::world(c, plan, &mut rng))?;
    let cal = calendar::load(conn, WorkingHours::default())?;
    let ids: Vec<i64> = world.agencies.iter().map(|a| a.id).collect();
    let (dossier_seq, ticket_seq) = bulk::sequences(conn, &ids)?;
    let last = bulk::last_ids(conn)?;
    let mut st = dossier::State::new(dossier_seq, ticket_seq, last);
    st.report.agencies = world.agencies.len();
    st.report.procedures = world.procedures.len();
    while st.report.dossiers < plan.dossiers {
        let n = (plan.dossiers - st.report.dossiers).min(BATCH);
        let mut rows = Batch::default();
        for _ in 0..n {
            dossier::one(&mut rng, &mut st, &mut rows, &cal, plan, &world)?;
        }
        st.report.events += rows.events.len() as u64;
        st.report.documents += rows.documents.len() as u64;
        st.report.payments += rows.payments.len() as u64;
        st.report.ratings += rows.ratings.len() as u64;
        write_tx(conn, |c| bulk::write_batch(c, &rows, &plan.placeholder))?;
        progress(&st.report);
    }
    let feedback = extras::feedback(&mut rng, plan, &cal, &world.agencies, last.feedback + 1);
    st.report.feedback = feedback.len() as u64;
    let waits = extras::rolled_up_waits(&st.waits);
    write_tx(conn, |c| {
        bulk::write_sequences(c, &st.dossier_seq, &st.ticket_seq)?;
        bulk::add_queue_waits(c, waits)?;
        bulk::write_feedback(c, &feedback)
    })?;
    bulk::continue_ids(conn)?;
    st.report.generate_secs = started.elapsed().as_secs_f64();
    let rebuilding = Instant::now();
    st.report.aggregate_rows = kpi::rebuild(conn)?.rows;
    st.report.rebuild_secs = rebuilding.elapsed().as_secs_f64();
    Ok(st.report)
}
