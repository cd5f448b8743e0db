//! Per-address limits kept in memory, with a coarse shared backstop.
//!
//! Every request is counted in this process only (a fixed window per client
//! address, as the database counters had). Every `flush_ms` at most, one
//! background task adds the hits counted since the last flush to the shared
//! `rate_limits` rows in one transaction and reads back which addresses are over
//! the limit across all processes; those are refused here too until their window
//! ends. A public read therefore never waits on a durable write, and several
//! processes still share a limit, give or take what each counts between flushes.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, Utc};

/// One address's window in this process.
#[derive(Debug, Clone, Copy)]
struct Slot {
    resets_at: DateTime<Utc>,
    hits: u32,
    /// Hits not yet added to the shared counter.
    unflushed: u32,
}

#[derive(Debug, Default)]
struct Inner {
    slots: HashMap<String, Slot>,
    /// Over the limit across processes, as of the last flush, until when.
    blocked: HashMap<String, DateTime<Utc>>,
}

/// What a flush must write, taken from memory.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Batch {
    pub counted: Vec<(String, i32)>,
}

#[derive(Debug)]
pub struct Throttle {
    pub bucket: &'static str,
    pub limit: u32,
    pub window: Duration,
    flush_every: StdDuration,
    inner: Mutex<Inner>,
    last_flush: Mutex<Instant>,
    flushing: AtomicBool,
}

/// The answer to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Go on; `flush` says this request should start a flush (at most one runs).
    Allowed { flush: bool },
    /// Refused for this many seconds.
    Refused { retry_after_secs: i64, flush: bool },
}

impl Throttle {
    pub fn new(
        bucket: &'static str,
        limit: u32,
        window: StdDuration,
        flush_every: StdDuration,
    ) -> Self {
        Self {
            bucket,
            limit,
            window: Duration::from_std(window).unwrap_or(Duration::minutes(1)),
            flush_every,
            inner: Mutex::new(Inner::default()),
            last_flush: Mutex::new(Instant::now()),
            flushing: AtomicBool::new(false),
        }
    }

    /// Counts one request from `address`.
    pub fn check(&self, address: &str, now: DateTime<Utc>) -> Verdict {
        let flush = self.flush_due();
        let Ok(mut inner) = self.inner.lock() else {
            // A poisoned lock only means another request panicked mid-update:
            // counting nothing is safer than refusing everyone.
            return Verdict::Allowed { flush };
        };
        let window = self.window;
        let slot = inner.slots.entry(address.to_owned()).or_insert(Slot {
            resets_at: now + window,
            hits: 0,
            unflushed: 0,
        });
        if slot.resets_at <= now {
            slot.resets_at = now + window;
            slot.hits = 0;
        }
        slot.hits = slot.hits.saturating_add(1);
        slot.unflushed = slot.unflushed.saturating_add(1);
        let local = (slot.hits > self.limit).then_some(slot.resets_at);
        let shared = inner
            .blocked
            .get(address)
            .copied()
            .filter(|until| *until > now);
        match local.max(shared) {
            Some(until) => Verdict::Refused {
                retry_after_secs: (until - now).num_seconds().max(1),
                flush,
            },
            None => Verdict::Allowed { flush },
        }
    }

    fn flush_due(&self) -> bool {
        let due = self
            .last_flush
            .lock()
            .map(|last| last.elapsed() >= self.flush_every)
            .unwrap_or(false);
        due && !self.flushing.swap(true, Ordering::AcqRel)
    }

    /// Takes what the flush must write, and forgets windows that have ended.
    pub fn take(&self, now: DateTime<Utc>) -> Batch {
        let Ok(mut inner) = self.inner.lock() else {
            return Batch::default();
        };
        let counted = inner
            .slots
            .iter_mut()
            .filter(|(_, slot)| slot.unflushed > 0)
            .map(|(address, slot)| {
                let n = i32::try_from(std::mem::take(&mut slot.unflushed)).unwrap_or(i32::MAX);
                (address.clone(), n)
            })
            .collect();
        inner.slots.retain(|_, slot| slot.resets_at > now);
        inner.blocked.retain(|_, until| *until > now);
        Batch { counted }
    }

    /// Records the shared answer of a flush (or its failure: `None`) and lets the next one start.
    pub fn finish(&self, blocked: Option<Vec<(String, DateTime<Utc>)>>) {
        if let (Some(blocked), Ok(mut inner)) = (blocked, self.inner.lock()) {
            inner.blocked = blocked.into_iter().collect();
        }
        if let Ok(mut last) = self.last_flush.lock() {
            *last = Instant::now();
        }
        self.flushing.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle(limit: u32, flush_ms: u64) -> Throttle {
        Throttle::new(
            "t",
            limit,
            StdDuration::from_secs(60),
            StdDuration::from_millis(flush_ms),
        )
    }

    /// Any instant will do: the throttle only compares the ones it is given.
    fn instant() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn refused(v: Verdict) -> bool {
        matches!(v, Verdict::Refused { .. })
    }

    #[test]
    fn limit_per_address_and_window() {
        let t = throttle(3, 60_000);
        let now = instant();
        for _ in 0..3 {
            assert!(!refused(t.check("a", now)));
        }
        match t.check("a", now) {
            Verdict::Refused {
                retry_after_secs, ..
            } => assert_eq!(retry_after_secs, 60),
            other => panic!("{other:?}"),
        }
        assert!(!refused(t.check("b", now)), "other addresses are apart");
        assert!(
            !refused(t.check("a", now + Duration::seconds(61))),
            "a new window"
        );
    }

    #[test]
    fn flushes_one_at_a_time_and_shares_blocks() {
        let t = throttle(5, 0);
        let now = instant();
        assert_eq!(t.check("a", now), Verdict::Allowed { flush: true });
        assert_eq!(t.check("a", now), Verdict::Allowed { flush: false });
        let batch = t.take(now);
        assert_eq!(batch.counted, vec![("a".to_owned(), 2)]);
        assert_eq!(t.take(now), Batch::default(), "taken once");
        t.finish(Some(vec![("b".to_owned(), now + Duration::seconds(30))]));
        assert!(
            refused(t.check("b", now)),
            "over the limit in another process"
        );
        assert!(!refused(t.check("b", now + Duration::seconds(31))));
    }
}
