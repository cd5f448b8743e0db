//! Online payment of fees: the gateway adapters, the notification (IPN)
//! pipeline and the background jobs.

pub mod gateway;
pub mod jobs;
pub mod notify;
