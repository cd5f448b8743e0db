//! UTC instants at the storage boundary: `NaiveDateTime` in the database,
//! `DateTime<Utc>` everywhere else, truncated to microseconds so both
//! backends return exactly what was written.

use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};

pub fn to_db(at: DateTime<Utc>) -> NaiveDateTime {
    at.naive_utc().trunc_subsecs(6)
}

pub fn from_db(at: NaiveDateTime) -> DateTime<Utc> {
    at.and_utc()
}
