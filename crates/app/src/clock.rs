//! The application's clock: system time in production; in tests a time that
//! stands still until set or advanced, so a scenario at a chosen instant
//! (a deadline passed, a day turned) needs no waiting.

use std::sync::{Arc, RwLock};

use chrono::{DateTime, Duration, SubsecRound, Utc};

/// Cheap to clone; clones share the same time.
#[derive(Debug, Clone, Default)]
pub struct Clock(Arc<RwLock<Option<DateTime<Utc>>>>);

impl Clock {
    /// The system's time.
    pub fn system() -> Self {
        Self::default()
    }

    /// A clock that stays at `at` until set or advanced.
    pub fn fixed(at: DateTime<Utc>) -> Self {
        Self(Arc::new(RwLock::new(Some(at))))
    }

    /// The current instant, at storage precision (microseconds).
    pub fn now(&self) -> DateTime<Utc> {
        let fixed = match self.0.read() {
            Ok(guard) => *guard,
            Err(poisoned) => *poisoned.into_inner(),
        };
        fixed.unwrap_or_else(Utc::now).trunc_subsecs(6)
    }

    /// Fixes the clock at `at` (a system clock stops there too).
    pub fn set(&self, at: DateTime<Utc>) {
        match self.0.write() {
            Ok(mut guard) => *guard = Some(at),
            Err(poisoned) => *poisoned.into_inner() = Some(at),
        }
    }

    /// Moves the clock forward (or back, for a negative `by`) and fixes it there.
    pub fn advance(&self, by: Duration) {
        let at = self.now() + by;
        self.set(at);
    }

    /// Whether the clock follows the system's time.
    pub fn is_system(&self) -> bool {
        self.0.read().map(|g| g.is_none()).unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_fixed_clock_moves_only_when_told() {
        let t = Utc
            .with_ymd_and_hms(2027, 1, 1, 1, 2, 3)
            .single()
            .unwrap_or_default();
        let clock = Clock::fixed(t);
        assert_eq!(clock.now(), t);
        let shared = clock.clone();
        clock.advance(Duration::minutes(16));
        assert_eq!(shared.now(), t + Duration::minutes(16));
        shared.set(t);
        assert_eq!(clock.now(), t);
        assert!(!clock.is_system());
    }

    #[test]
    fn the_system_clock_follows_time_until_set() {
        let clock = Clock::system();
        assert!(clock.is_system());
        let before = Utc::now() - Duration::seconds(1);
        assert!(clock.now() >= before);
        let t = Utc
            .with_ymd_and_hms(2030, 6, 1, 0, 0, 0)
            .single()
            .unwrap_or_default();
        clock.set(t);
        assert_eq!(clock.now(), t);
    }
}
