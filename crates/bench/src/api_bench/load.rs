//! Driving load: concurrent clients over HTTP, threads over bare SQL.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::{Samples, Servers};
use motcua_persistence::{AnyConnection, Pool};

/// What the clients share.
pub(super) struct Ctx {
    pub(crate) client: reqwest::Client,
    pub(crate) bases: Vec<String>,
    pub(crate) token: String,
    /// Dossiers filed by the submit phase: code and applicant's ID number.
    pub(crate) filed: Mutex<Vec<(String, String)>>,
    /// The same, frozen after the submit phase, for tracking.
    pub(crate) tracked: OnceLock<Vec<(String, String)>>,
    /// Dossiers still to receive.
    pub(crate) to_receive: Mutex<Vec<String>>,
}

impl Ctx {
    /// The server the `i`th request goes to: each in turn.
    pub(crate) fn base(&self, i: usize) -> &str {
        &self.bases[i % self.bases.len()]
    }
}

/// How a phase is driven.
#[derive(Clone, Copy)]
pub(super) struct Load {
    pub(crate) seconds: u64,
    pub(crate) connections: usize,
    pub(crate) rate: Option<f64>,
}

/// `connections` tasks call `one(ctx, i)` with a fresh `i` until the phase
/// ends or one answers `None` (nothing left to do). `Some(true)` is a
/// success. At a fixed rate, request `i` waits for its slot `i / rate`.
pub(super) async fn drive<F, Fut>(
    ctx: &Arc<Ctx>,
    servers: &Mutex<Servers>,
    load: Load,
    one: F,
) -> Samples
where
    F: Fn(Arc<Ctx>, usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Option<bool>> + Send,
{
    let statements = || servers.lock().map_or(0, |mut s| s.statements());
    let next = Arc::new(AtomicUsize::new(0));
    let before = statements();
    let started = tokio::time::Instant::now();
    let deadline = started + Duration::from_secs(load.seconds);
    let tasks: Vec<_> = (0..load.connections)
        .map(|_| {
            let (one, next, ctx) = (one.clone(), next.clone(), ctx.clone());
            tokio::spawn(async move {
                let mut samples = Samples::default();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let at = match load.rate {
                        Some(rate) => started + Duration::from_secs_f64(i as f64 / rate),
                        None => tokio::time::Instant::now(),
                    };
                    if at >= deadline {
                        break;
                    }
                    tokio::time::sleep_until(at).await;
                    match one(ctx.clone(), i).await {
                        None => break,
                        Some(true) => {
                            samples.latencies.push(at.elapsed());
                            samples.completions.push(started.elapsed());
                        }
                        Some(false) => samples.errors += 1,
                    }
                }
                samples
            })
        })
        .collect();
    let mut all = Samples::default();
    for task in tasks {
        if let Ok(samples) = task.await {
            all.merge(samples);
        }
    }
    all.elapsed = started.elapsed();
    all.statements = statements().saturating_sub(before);
    all
}

/// The baseline: `threads` threads, each with a connection of `pool`, call
/// `one(conn, i)` until `seconds` pass or one answers `None`.
pub(super) fn drive_sql<F>(pool: &Pool, seconds: u64, threads: usize, one: F) -> Samples
where
    F: Fn(&mut AnyConnection, usize) -> Option<bool> + Sync,
{
    let next = AtomicUsize::new(0);
    let before = pool.statements().get();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut all = Samples::default();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut samples = Samples::default();
                    let Ok(mut conn) = pool.get() else {
                        samples.errors += 1;
                        return samples;
                    };
                    while Instant::now() < deadline {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let at = Instant::now();
                        match one(&mut conn, i) {
                            None => break,
                            Some(true) => {
                                samples.latencies.push(at.elapsed());
                                samples.completions.push(started.elapsed());
                            }
                            Some(false) => samples.errors += 1,
                        }
                    }
                    samples
                })
            })
            .collect();
        for handle in handles {
            if let Ok(samples) = handle.join() {
                all.merge(samples);
            }
        }
    });
    all.elapsed = started.elapsed();
    all.statements = pool.statements().get() - before;
    all
}
