//! Counter queue tickets (số thứ tự): numbers restart every day per agency.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

crate::string_enum! {
    pub enum TicketStatus {
        Waiting => "waiting",
        Called => "called",
        Completed => "completed",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Ticket {
    pub id: i64,
    pub agency_id: i64,
    pub sector_code: Option<String>,
    pub day: NaiveDate,
    /// The number shown to the citizen, from 1 each day.
    pub number: i32,
    pub status: TicketStatus,
    pub issued_at: DateTime<Utc>,
    pub called_at: Option<DateTime<Utc>>,
    /// The counter that called it.
    pub counter: Option<String>,
    pub completed_at: Option<DateTime<Utc>>,
}

/// Whole minutes waited from ticket to call (never negative).
pub fn waited_minutes(issued: DateTime<Utc>, called: DateTime<Utc>) -> i64 {
    (called - issued).num_minutes().max(0)
}
