//! Online payment of fees: the gateway adapters, the notification pipeline,
//! the built-in sandbox gateway and the background jobs.

pub mod gateway;
pub mod jobs;
pub mod notify;
pub mod sandbox;
