//! Feedback use cases that change it and that others follow: staff replies.

use chrono::{DateTime, Utc};
use motcua_domain::feedback::FeedbackAction;
use motcua_persistence::repo::feedback::{self as repo, Reply};
use motcua_persistence::{AnyConnection, StoreResult, write_tx};

/// Staff take `action` on feedback `id` (answer, refuse, ask for more,
/// close), with its `feedback.answered` event, when there is one, in the
/// same transaction.
pub fn reply(
    conn: &mut AnyConnection,
    id: i64,
    action: FeedbackAction,
    body: &str,
    staff_id: Option<i64>,
    at: DateTime<Utc>,
) -> StoreResult<Reply> {
    write_tx(conn, |conn| {
        let reply = repo::reply(conn, id, action, body, staff_id, at)?;
        if let Reply::Done(feedback) = &reply {
            crate::outbox::feedback(conn, feedback, action, at)?;
        }
        Ok(reply)
    })
}
