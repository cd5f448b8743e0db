//! What a run measures: latency samples, peak memory, CPU split, database waits.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use motcua_persistence::Pool;

/// Latencies and outcomes of one phase.
#[derive(Default)]
pub(super) struct Samples {
    pub(crate) latencies: Vec<Duration>,
    /// When each request completed, from the start of the phase.
    pub(crate) completions: Vec<Duration>,
    pub(crate) errors: u64,
    pub(crate) elapsed: Duration,
    pub(crate) statements: u64,
}

impl Samples {
    pub(crate) fn done(&self) -> u64 {
        self.latencies.len() as u64
    }
    pub(crate) fn per_second(&self) -> f64 {
        self.done() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
    /// The latency below which `per_mille` ‰ of the requests fall, in milliseconds.
    pub(crate) fn percentile(&mut self, per_mille: usize) -> f64 {
        self.latencies.sort_unstable();
        let n = self.latencies.len();
        if n == 0 {
            return 0.0;
        }
        // The nearest rank, `ceil(n·p)`.
        let rank = (n * per_mille.min(1000)).div_ceil(1000);
        self.latencies[rank.clamp(1, n) - 1].as_secs_f64() * 1000.0
    }
    /// The longest stretch of the phase, in milliseconds, in which no request
    /// completed (from the start to the first, between two, from the last to the end).
    pub(crate) fn longest_gap_ms(&mut self) -> f64 {
        self.completions.sort_unstable();
        let mut previous = Duration::ZERO;
        let mut longest = Duration::ZERO;
        for &at in self
            .completions
            .iter()
            .chain(std::iter::once(&self.elapsed))
        {
            longest = longest.max(at.saturating_sub(previous));
            previous = at;
        }
        longest.as_secs_f64() * 1000.0
    }
    pub(crate) fn statements_each(&self) -> f64 {
        self.statements as f64 / (self.done() + self.errors).max(1) as f64
    }
    pub(crate) fn merge(&mut self, other: Samples) {
        self.latencies.extend(other.latencies);
        self.completions.extend(other.completions);
        self.errors += other.errors;
    }
}

/// The peak resident set of a process, in MiB.
pub(super) fn peak_rss_mib(pid: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// The machine's CPU time so far (`/proc/stat`), in ticks: busy (user and
/// system), waiting for I/O, idle.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct CpuTicks {
    pub(crate) user: u64,
    pub(crate) system: u64,
    pub(crate) iowait: u64,
    pub(crate) idle: u64,
}

impl CpuTicks {
    pub(crate) fn now() -> Self {
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let fields: Vec<u64> = stat
            .lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .skip(1)
            .filter_map(|f| f.parse().ok())
            .collect();
        let at = |i: usize| fields.get(i).copied().unwrap_or(0);
        // user nice system idle iowait irq softirq steal
        Self {
            user: at(0) + at(1),
            system: at(2) + at(5) + at(6) + at(7),
            idle: at(3),
            iowait: at(4),
        }
    }

    /// "user 71 % system 22 % iowait 0 % idle 7 %" between `self` and `later`.
    pub(crate) fn split_until(self, later: Self) -> String {
        let user = later.user.saturating_sub(self.user);
        let system = later.system.saturating_sub(self.system);
        let iowait = later.iowait.saturating_sub(self.iowait);
        let idle = later.idle.saturating_sub(self.idle);
        let total = (user + system + iowait + idle).max(1) as f64;
        let pct = |t: u64| t as f64 * 100.0 / total;
        format!(
            "user {:.0} %, system {:.0} %, iowait {:.0} %, idle {:.0} %",
            pct(user),
            pct(system),
            pct(iowait),
            pct(idle)
        )
    }
}

/// Watches a phase: the machine's CPU split, and on PostgreSQL what the
/// benchmark database's sessions are doing, sampled every 100 ms.
pub(super) struct Probe {
    pub(crate) cpu: CpuTicks,
    pub(crate) stop: Arc<AtomicBool>,
    pub(crate) sampler: Option<std::thread::JoinHandle<(u32, BTreeMap<String, i64>)>>,
}

impl Probe {
    pub(crate) fn start(watch: Option<Pool>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let sampler = watch.map(|pool| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut totals = BTreeMap::new();
                let mut samples = 0;
                let Ok(mut conn) = pool.get() else {
                    return (samples, totals);
                };
                while !stop.load(Ordering::Relaxed) {
                    if let Ok(rows) = motcua_persistence::db::session_activity(&mut conn) {
                        samples += 1;
                        for (what, sessions) in rows {
                            *totals.entry(what).or_insert(0) += sessions;
                        }
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                (samples, totals)
            })
        });
        Self {
            cpu: CpuTicks::now(),
            stop,
            sampler,
        }
    }

    /// Lines saying what the phase did to the machine and the database.
    pub(crate) fn finish(self) -> Vec<String> {
        let mut lines = vec![format!(
            "    cpu (whole machine): {}",
            self.cpu.split_until(CpuTicks::now())
        )];
        self.stop.store(true, Ordering::Relaxed);
        if let Some(Ok((samples, totals))) = self.sampler.map(std::thread::JoinHandle::join) {
            let mut sessions: Vec<_> = totals.into_iter().collect();
            sessions.sort_by_key(|s| std::cmp::Reverse(s.1));
            let each: Vec<String> = sessions
                .iter()
                .map(|(what, n)| format!("{what} {:.1}", *n as f64 / f64::from(samples.max(1))))
                .collect();
            lines.push(format!(
                "    postgres sessions, mean of {samples} samples: {}",
                if each.is_empty() {
                    "none busy".to_owned()
                } else {
                    each.join(", ")
                }
            ));
        }
        lines
    }
}
