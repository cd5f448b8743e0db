//! Repositories: one module per aggregate. Every function takes a connection,
//! so callers choose the transaction.

pub mod agencies;
pub mod applicants;
pub mod calendar;
pub mod documents;
pub mod dossiers;
pub mod idempotency;
pub mod payments;
pub mod procedures;
pub mod rate_limits;
pub mod sessions;
pub mod users;
