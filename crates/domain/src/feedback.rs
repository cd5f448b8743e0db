//! Citizen feedback on administrative rules (phản ánh, kiến nghị — PAKN).

use chrono::{DateTime, Utc};
use serde::Serialize;

crate::string_enum! {
    pub enum FeedbackStatus {
        Received => "received",
        /// The agency asked the sender for more information.
        InfoRequested => "info_requested",
        Answered => "answered",
        /// Not accepted for handling (with reasons).
        Refused => "refused",
        Closed => "closed",
    }
}

crate::string_enum! {
    pub enum FeedbackAction {
        Answer => "answer",
        Refuse => "refuse",
        RequestInfo => "request_info",
        Close => "close",
        /// The sender adds what was asked for (with the tracking code).
        Supplement => "supplement",
    }
}

impl FeedbackAction {
    /// Whether staff of the agency take it (the sender takes the others).
    pub fn by_staff(self) -> bool {
        !matches!(self, FeedbackAction::Supplement)
    }
}

/// Working days allowed: an answer within 15, a refusal within 2, a request
/// for information within 5 (Decree 20/2008/NĐ-CP as amended).
pub fn deadline_days(action: FeedbackAction) -> u32 {
    match action {
        FeedbackAction::Answer | FeedbackAction::Close | FeedbackAction::Supplement => 15,
        FeedbackAction::Refuse => 2,
        FeedbackAction::RequestInfo => 5,
    }
}

/// Where a reply takes feedback, or `None` when not allowed from its status.
pub fn after(status: FeedbackStatus, action: FeedbackAction) -> Option<FeedbackStatus> {
    use FeedbackAction as A;
    use FeedbackStatus as S;
    match (status, action) {
        (S::Received | S::InfoRequested, A::Answer) => Some(S::Answered),
        (S::Received | S::InfoRequested, A::Refuse) => Some(S::Refused),
        (S::Received, A::RequestInfo) => Some(S::InfoRequested),
        (S::Answered | S::Refused, A::Close) => Some(S::Closed),
        (S::InfoRequested, A::Supplement) => Some(S::Received),
        _ => None,
    }
}

/// One step of the exchange: a staff reply or what the sender added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeedbackMessage {
    pub action: FeedbackAction,
    pub from_status: FeedbackStatus,
    pub to_status: FeedbackStatus,
    pub body: String,
    /// True when written by staff of the agency.
    pub from_staff: bool,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Feedback {
    pub id: i64,
    /// Given to the sender to follow the feedback.
    pub tracking_code: String,
    /// The agency concerned, which answers.
    pub agency_id: i64,
    pub procedure_code: Option<String>,
    pub subject: String,
    pub content: String,
    /// Absent for anonymous feedback.
    pub sender_name: Option<String>,
    /// Phone or e-mail to answer to; shown to staff only.
    pub contact: Option<String>,
    pub status: FeedbackStatus,
    /// When it was first answered or refused.
    pub handled_at: Option<DateTime<Utc>>,
    /// Answer due by (15 working days from receipt).
    pub due_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub messages: Vec<FeedbackMessage>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_transitions() {
        use FeedbackAction as A;
        use FeedbackStatus as S;
        let cases = [
            (S::Received, A::Answer, Some(S::Answered)),
            (S::Received, A::Refuse, Some(S::Refused)),
            (S::Received, A::RequestInfo, Some(S::InfoRequested)),
            (S::InfoRequested, A::Answer, Some(S::Answered)),
            (S::InfoRequested, A::RequestInfo, None),
            (S::Answered, A::Close, Some(S::Closed)),
            (S::Answered, A::Answer, None),
            (S::Received, A::Close, None),
            (S::Closed, A::Answer, None),
            (S::InfoRequested, A::Supplement, Some(S::Received)),
            (S::Received, A::Supplement, None),
        ];
        for (status, action, want) in cases {
            assert_eq!(after(status, action), want, "{status} {action}");
        }
        assert_eq!(
            [A::Answer, A::Refuse, A::RequestInfo].map(deadline_days),
            [15, 2, 5]
        );
    }
}
