//! The background workers of a server process: the payment jobs (expiry,
//! status queries) every `payments.jobs_interval_secs`, and yesterday's
//! reconciliation once a day. They run in production and in the tests alike;
//! the first round comes one interval after the start.

use chrono::{Duration, NaiveDate};
use motcua_domain::calendar::WorkingCalendar;

use crate::App;
use crate::payments::jobs::{self, JobReport};

/// The running workers; dropping this stops them (a round in progress finishes).
#[derive(Debug, Default)]
pub struct Workers {
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Workers {
    /// How many workers run.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl App {
    /// Starts the workers on the current Tokio runtime (an interval of 0 turns
    /// the payment jobs off). Keep the result for as long as they should run.
    pub fn start_workers(&self) -> Workers {
        let mut workers = Workers::default();
        let every = self.settings.payments.jobs_interval_secs;
        if every > 0 {
            let app = self.clone();
            let every = std::time::Duration::from_secs(every);
            workers.tasks.push(tokio::spawn(async move {
                let start = tokio::time::Instant::now() + every;
                let mut ticker = tokio::time::interval_at(start, every);
                let mut reconciled: Option<NaiveDate> = None;
                loop {
                    ticker.tick().await;
                    let app = app.clone();
                    let done = reconciled;
                    match tokio::task::spawn_blocking(move || app.payment_round(done)).await {
                        Ok(day) => reconciled = day.or(reconciled),
                        Err(error) => tracing::error!(%error, "payment jobs panicked"),
                    }
                }
            }));
        }
        workers
    }

    /// One round of the payment jobs at the clock's time, then yesterday's
    /// reconciliation unless `reconciled` already covers it. Blocking.
    /// Returns the day reconciled now, if any.
    pub fn payment_round(&self, reconciled: Option<NaiveDate>) -> Option<NaiveDate> {
        let first = Duration::seconds(
            i64::try_from(self.settings.payments.requery_after_secs).unwrap_or(60),
        );
        let now = self.clock.now();
        let report = jobs::run(&self.pool, self.gateway.as_ref(), first, now);
        if report != JobReport::default() {
            tracing::info!(?report, "payment jobs");
        }
        let yesterday = WorkingCalendar::local_date(now) - Duration::days(1);
        if reconciled == Some(yesterday) {
            return None;
        }
        match jobs::reconcile(&self.pool, self.gateway.as_ref(), yesterday) {
            Ok(run) => {
                tracing::info!(day = %yesterday, matched = run.matched, missing = run.missing, mismatch = run.mismatch, "reconciliation");
                Some(yesterday)
            }
            Err(error) => {
                tracing::warn!(day = %yesterday, %error, "reconciliation failed; will retry");
                None
            }
        }
    }
}
