//! The events the use cases write, each in the transaction of its change (the
//! outbox): one builder per family, so a type's subject, agency and payload
//! are decided in one place. Payment events are written by the payments
//! store itself (`repo::payments`), inside the once-only settlement
//! transaction every route to a payment's status goes through.

use chrono::{DateTime, Utc};
use motcua_domain::dossier::{Action, Dossier, DossierStatus};
use motcua_domain::event::{DossierEventData, EventType, FeedbackEventData, ProcedureEventData};
use motcua_domain::feedback::{Feedback, FeedbackAction};
use motcua_domain::procedure::ProcedureRecord;
use motcua_persistence::repo::events;
use motcua_persistence::{AnyConnection, StoreResult};

/// A dossier filed (`action` `None`: `dossier.submitted`) or acted on, as it
/// stands after the change. Subject: its code; agency: the receiving agency.
pub fn dossier(
    conn: &mut AnyConnection,
    dossier: &Dossier,
    previous_status: Option<DossierStatus>,
    action: Option<Action>,
    at: DateTime<Utc>,
) -> StoreResult<String> {
    let event_type = action.map_or(EventType::DossierSubmitted, EventType::of_action);
    events::record(
        conn,
        event_type,
        &dossier.code,
        Some(dossier.agency.id),
        at,
        &DossierEventData::of(dossier, previous_status, action),
    )
}

/// A change to a dossier that is no action of the state machine (a postal
/// return chosen, a result corrected), as the dossier stands after it.
pub fn dossier_change(
    conn: &mut AnyConnection,
    event_type: EventType,
    dossier: &Dossier,
    at: DateTime<Utc>,
) -> StoreResult<String> {
    events::record(
        conn,
        event_type,
        &dossier.code,
        Some(dossier.agency.id),
        at,
        &DossierEventData::of(dossier, Some(dossier.status), None),
    )
}

/// Feedback after staff took `action` on it, when that action is one the
/// feed reports (an answer or a refusal with reasons). Subject: its id.
pub fn feedback(
    conn: &mut AnyConnection,
    feedback: &Feedback,
    action: FeedbackAction,
    at: DateTime<Utc>,
) -> StoreResult<Option<String>> {
    let Some(event_type) = EventType::of_feedback_action(action) else {
        return Ok(None);
    };
    events::record(
        conn,
        event_type,
        &feedback.id.to_string(),
        Some(feedback.agency_id),
        at,
        &FeedbackEventData::of(feedback, action),
    )
    .map(Some)
}

/// A procedure created, changed or abolished, as it stands after the change.
/// Subject: its code; agency: its handling agency (none for the communes').
pub fn procedure(
    conn: &mut AnyConnection,
    event_type: EventType,
    record: &ProcedureRecord,
    at: DateTime<Utc>,
) -> StoreResult<String> {
    events::record(
        conn,
        event_type,
        &record.spec.code,
        record.agency.as_ref().map(|a| a.id),
        at,
        &ProcedureEventData::of(record),
    )
}
