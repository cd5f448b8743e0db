//! The background workers of a server process: the webhook deliveries every
//! `webhooks.interval_ms` (`crate::webhooks`), the citizen notifications
//! every `notifications.interval_ms` (`crate::notifications`), the payment jobs (expiry,
//! status queries) every `payments.jobs_interval_secs`, and yesterday's
//! reconciliation, claimed through the database (`job_runs`) so that it runs
//! once a day whatever the number of processes. They run in production and
//! in the tests alike; the first round comes one interval after the start.

use std::time::Duration as StdDuration;

use chrono::{Duration, NaiveDate};
use motcua_domain::calendar::WorkingCalendar;
use motcua_persistence::repo::job_runs;

use crate::App;
use crate::payments::jobs::{self, JobReport};

/// The `job_runs.job` of the daily reconciliation (its `run_key` is the day).
pub const RECONCILIATION: &str = "reconciliation";

/// How long a process may hold a reconciliation before another may take it over.
const RECONCILIATION_LEASE_MINUTES: i64 = 15;

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

/// What one round did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Round {
    pub jobs: JobReport,
    /// The day this process reconciled in this round, if it did.
    pub reconciled: Option<NaiveDate>,
}

impl Workers {
    /// Runs `round` on the blocking pool every `period` (zero: never), the
    /// first one period after the start. A slow round delays the next rather
    /// than stacking rounds up; a round that did something is logged.
    fn every<R>(&mut self, app: &App, period: StdDuration, name: &'static str, round: fn(&App) -> R)
    where
        R: Default + PartialEq + std::fmt::Debug + Send + 'static,
    {
        if period.is_zero() {
            return;
        }
        let app = app.clone();
        self.tasks.push(tokio::spawn(async move {
            let start = tokio::time::Instant::now() + period;
            let mut ticker = tokio::time::interval_at(start, period);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                let app = app.clone();
                match tokio::task::spawn_blocking(move || round(&app)).await {
                    Ok(done) if done != R::default() => tracing::info!(round = ?done, "{name}"),
                    Ok(_) => {}
                    Err(error) => tracing::error!(%error, worker = name, "worker panicked"),
                }
            }
        }));
    }
}

impl App {
    /// Starts the workers on the current Tokio runtime (an interval of 0 turns
    /// the payment jobs, the webhooks, the notifications or the portal sync
    /// off). Keep the result for as long as they should run.
    pub fn start_workers(&self) -> Workers {
        let settings = &self.settings;
        let mut workers = Workers::default();
        let payments = StdDuration::from_secs(settings.payments.jobs_interval_secs);
        workers.every(self, payments, "payment jobs", App::payment_round);
        let webhooks = StdDuration::from_millis(settings.webhooks.interval_ms);
        workers.every(self, webhooks, "webhooks", App::webhook_round);
        let notifications = StdDuration::from_millis(settings.notifications.interval_ms);
        workers.every(
            self,
            notifications,
            "notifications",
            App::notification_round,
        );
        if self.portal_client.is_some() {
            let portal = StdDuration::from_millis(settings.portal.interval_ms);
            workers.every(self, portal, "portal sync", App::portal_round);
        }
        workers
    }

    /// One round of the payment jobs at the clock's time, then yesterday's
    /// reconciliation if no process has done it yet. Blocking.
    pub fn payment_round(&self) -> Round {
        let report = self.payment_jobs();
        let yesterday = WorkingCalendar::local_date(self.clock.now()) - Duration::days(1);
        Round {
            jobs: report,
            reconciled: self.reconcile_once(yesterday).then_some(yesterday),
        }
    }

    /// Expiry of unfinished attempts and status queries of pending ones, at
    /// the clock's time. Blocking.
    pub fn payment_jobs(&self) -> JobReport {
        let first = Duration::seconds(
            i64::try_from(self.settings.payments.requery_after_secs).unwrap_or(60),
        );
        jobs::run(&self.pool, self.gateway.as_ref(), first, self.clock.now())
    }

    /// Reconciles `day` if this process wins its claim; true when it did.
    /// A failed reconciliation gives the claim back for the next round.
    pub fn reconcile_once(&self, day: NaiveDate) -> bool {
        let key = day.to_string();
        let now = self.clock.now();
        let lease = Duration::minutes(RECONCILIATION_LEASE_MINUTES);
        let claimed = self
            .pool
            .get()
            .map_err(|e| e.to_string())
            .and_then(|mut c| {
                job_runs::claim(&mut c, RECONCILIATION, &key, &self.instance, now, lease)
                    .map_err(|e| e.to_string())
            });
        match claimed {
            Ok(true) => {}
            Ok(false) => return false,
            Err(error) => {
                tracing::warn!(%day, %error, "claiming the reconciliation failed; will retry");
                return false;
            }
        }
        let outcome = jobs::reconcile(&self.pool, self.gateway.as_ref(), day, now);
        let settle = self
            .pool
            .get()
            .map_err(|e| e.to_string())
            .and_then(|mut c| {
                match &outcome {
                    Ok(_) => job_runs::finish(
                        &mut c,
                        RECONCILIATION,
                        &key,
                        &self.instance,
                        self.clock.now(),
                    ),
                    Err(_) => job_runs::release(&mut c, RECONCILIATION, &key, &self.instance),
                }
                .map_err(|e| e.to_string())
            });
        if let Err(error) = settle {
            tracing::error!(%day, %error, "recording the reconciliation's claim failed");
        }
        match outcome {
            Ok(run) => {
                tracing::info!(%day, matched = run.matched, missing = run.missing, mismatch = run.mismatch, "reconciliation");
                true
            }
            Err(error) => {
                tracing::warn!(%day, %error, "reconciliation failed; will retry");
                false
            }
        }
    }
}
