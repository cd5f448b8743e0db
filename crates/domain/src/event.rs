//! The events others may follow (change feed, webhooks, notifications): their
//! types, which change each one reports, and the envelope they travel in.
//!
//! Every change listed here is written as one event row in the same
//! transaction as the change itself (the outbox), so a rolled-back change has
//! no event and a committed one always has one.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::dossier::{Action, Dossier, DossierStatus};
use crate::feedback::{Feedback, FeedbackAction, FeedbackStatus};
use crate::payment::{FailureCode, Payment, PaymentMethod, PaymentStatus};
use crate::procedure::{ProcedureRecord, ProcedureStatus};

crate::string_enum! {
    /// What happened. The spelling is `subject.past_tense`, as receivers
    /// filter on it; new types may be added, existing ones never change meaning.
    pub enum EventType {
        DossierSubmitted => "dossier.submitted",
        DossierReceived => "dossier.received",
        DossierRefused => "dossier.refused",
        DossierAssigned => "dossier.assigned",
        DossierSupplementRequested => "dossier.supplement_requested",
        DossierSupplemented => "dossier.supplemented",
        DossierProposed => "dossier.proposed",
        DossierApproved => "dossier.approved",
        DossierSentBack => "dossier.sent_back",
        DossierRejected => "dossier.rejected",
        DossierResultIssued => "dossier.result_issued",
        DossierReturned => "dossier.returned",
        DossierWithdrawn => "dossier.withdrawn",
        DossierCancelled => "dossier.cancelled",
        DossierTransferred => "dossier.transferred",
        DossierApologised => "dossier.apologised",
        DossierPosted => "dossier.posted",
        DossierDelivered => "dossier.delivered",
        DossierDeliveryFailed => "dossier.delivery_failed",
        DossierResultCorrected => "dossier.result_corrected",
        DossierResultRevoked => "dossier.result_revoked",
        DossierPostalReturnChosen => "dossier.postal_return_chosen",
        PaymentCreated => "payment.created",
        PaymentPaid => "payment.paid",
        PaymentFailed => "payment.failed",
        PaymentRefunded => "payment.refunded",
        FeedbackAnswered => "feedback.answered",
        ProcedureCreated => "procedure.created",
        ProcedureChanged => "procedure.changed",
        ProcedureAbolished => "procedure.abolished",
        WebhookDisabled => "webhook.disabled",
    }
}

/// The payload version every type starts at; bumped per type when its
/// payload changes incompatibly (receivers read `version`).
pub const FIRST_VERSION: u16 = 1;

impl EventType {
    /// The event a dossier action reports. Every action is reported: staff
    /// steps (assign, propose, send back) matter to a portal mirroring the
    /// trail, and the apology letter is one the citizen must hear about.
    pub fn of_action(action: Action) -> Self {
        match action {
            Action::Receive => Self::DossierReceived,
            Action::Refuse => Self::DossierRefused,
            Action::Assign => Self::DossierAssigned,
            Action::RequestSupplement => Self::DossierSupplementRequested,
            Action::Supplement => Self::DossierSupplemented,
            Action::Propose => Self::DossierProposed,
            Action::Approve => Self::DossierApproved,
            Action::SendBack => Self::DossierSentBack,
            Action::Reject => Self::DossierRejected,
            Action::IssueResult => Self::DossierResultIssued,
            Action::Return => Self::DossierReturned,
            Action::Withdraw => Self::DossierWithdrawn,
            Action::Cancel => Self::DossierCancelled,
            Action::Transfer => Self::DossierTransferred,
            Action::Apology => Self::DossierApologised,
            Action::Post => Self::DossierPosted,
            Action::Deliver => Self::DossierDelivered,
            Action::DeliveryFailed => Self::DossierDeliveryFailed,
        }
    }

    /// The event a payment reaching `status` reports, if any: an attempt
    /// opened, money taken, or an attempt closed without money (declined,
    /// expired, cancelled by staff or superseded by a counter payment, gateway
    /// error). The steps in between (`started`, `submitted`) are not reported.
    pub fn of_payment_status(status: PaymentStatus) -> Option<Self> {
        match status {
            PaymentStatus::Created => Some(Self::PaymentCreated),
            PaymentStatus::Success => Some(Self::PaymentPaid),
            PaymentStatus::Failed | PaymentStatus::Cancelled | PaymentStatus::Error => {
                Some(Self::PaymentFailed)
            }
            PaymentStatus::Started | PaymentStatus::Submitted => None,
        }
    }

    /// The event staff taking `action` on feedback reports, if any: the sender
    /// hears back, with an answer or with the reasons it is not handled.
    pub fn of_feedback_action(action: FeedbackAction) -> Option<Self> {
        match action {
            FeedbackAction::Answer | FeedbackAction::Refuse => Some(Self::FeedbackAnswered),
            FeedbackAction::RequestInfo | FeedbackAction::Close | FeedbackAction::Supplement => {
                None
            }
        }
    }

    /// The event a procedure written with `status`, from `previous` (`None`:
    /// it is new), reports.
    pub fn of_procedure_write(previous: Option<ProcedureStatus>, status: ProcedureStatus) -> Self {
        match (previous, status) {
            (None, _) => Self::ProcedureCreated,
            (Some(ProcedureStatus::Active), ProcedureStatus::Abolished) => Self::ProcedureAbolished,
            (Some(_), _) => Self::ProcedureChanged,
        }
    }

    /// What the event is about, as the feed's `subject_kind`.
    pub fn subject_kind(self) -> SubjectKind {
        let name = self.as_str();
        if name.starts_with("dossier.") {
            SubjectKind::Dossier
        } else if name.starts_with("payment.") {
            SubjectKind::Payment
        } else if name.starts_with("feedback.") {
            SubjectKind::Feedback
        } else if name.starts_with("procedure.") {
            SubjectKind::Procedure
        } else {
            SubjectKind::Webhook
        }
    }

    /// Whether the applicant is told of it (notifications): what asks
    /// something of them or gives them something.
    pub fn concerns_applicant(self) -> bool {
        matches!(
            self,
            Self::DossierReceived
                | Self::DossierRefused
                | Self::DossierSupplementRequested
                | Self::DossierResultIssued
                | Self::DossierApologised
                | Self::DossierCancelled
                | Self::PaymentCreated
                | Self::PaymentPaid
                | Self::PaymentRefunded
                | Self::FeedbackAnswered
        )
    }
}

crate::string_enum! {
    /// The kind of thing an event's `subject` names.
    pub enum SubjectKind {
        Dossier => "dossier",
        Payment => "payment",
        Feedback => "feedback",
        Procedure => "procedure",
        Webhook => "webhook",
    }
}

/// An event as the change feed lists it and a webhook delivers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Envelope {
    /// Stable across retries and redeliveries: de-duplicate by it.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "0193a0c4-5d1e-7c3a-9f00-2b7e4c1d9a55")
    )]
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// The payload version of this type (starts at 1).
    #[cfg_attr(feature = "openapi", schema(example = 1))]
    pub version: u16,
    pub occurred_at: DateTime<Utc>,
    pub subject_kind: SubjectKind,
    /// The dossier code, payment id, feedback id, procedure code or subscription id.
    pub subject: String,
    /// The agency the change belongs to, when it belongs to one.
    pub agency_id: Option<i64>,
    /// The type's payload: `DossierEventData` for `dossier.*`,
    /// `PaymentEventData` for `payment.*`, `FeedbackEventData` for
    /// `feedback.*`, `ProcedureEventData` for `procedure.*`,
    /// `WebhookEventData` for `webhook.*`.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub data: serde_json::Value,
}

/// Payload of `dossier.*` events, version 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DossierEventData {
    pub code: String,
    pub procedure_code: String,
    pub status: DossierStatus,
    /// The status before the change (absent on submission).
    pub previous_status: Option<DossierStatus>,
    /// The action that made the change (absent on submission).
    pub action: Option<Action>,
    /// The appointment for the result, once received.
    pub due_at: Option<DateTime<Utc>>,
    /// The appointment shown to the applicant (moved by an apology letter).
    #[serde(default)]
    pub appointment_at: Option<DateTime<Utc>>,
    /// The agency handling the dossier now (differs from the event's
    /// `agency_id`, the receiving agency, after a transfer).
    #[serde(default)]
    pub handling_agency_id: Option<i64>,
}

impl DossierEventData {
    /// The payload of an event about `dossier` as it stands after the change
    /// (`action` and `previous_status` are absent on submission).
    pub fn of(
        dossier: &Dossier,
        previous_status: Option<DossierStatus>,
        action: Option<Action>,
    ) -> Self {
        Self {
            code: dossier.code.clone(),
            procedure_code: dossier.procedure.code.clone(),
            status: dossier.status,
            previous_status,
            action,
            due_at: dossier.due_at,
            appointment_at: dossier.appointment_at,
            handling_agency_id: Some(dossier.handling_agency.id),
        }
    }
}

/// Payload of `payment.*` events, version 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PaymentEventData {
    pub payment_id: String,
    pub dossier_code: String,
    pub amount_vnd: i64,
    pub status: PaymentStatus,
    #[serde(default)]
    pub method: Option<PaymentMethod>,
    /// Why an attempt closed without money (`payment.failed`).
    #[serde(default)]
    pub failure_code: Option<FailureCode>,
    /// On `payment.refunded`: the refund and the amount it gave back.
    #[serde(default)]
    pub refund_id: Option<String>,
    #[serde(default)]
    pub refunded_vnd: Option<i64>,
}

impl PaymentEventData {
    /// The payload of an event about `payment` as it stands after the change.
    pub fn of(payment: &Payment) -> Self {
        Self {
            payment_id: payment.id.clone(),
            dossier_code: payment.dossier_code.clone(),
            amount_vnd: payment.amount_vnd,
            status: payment.status,
            method: Some(payment.method),
            failure_code: payment.failure_code,
            refund_id: None,
            refunded_vnd: None,
        }
    }
}

/// Payload of `feedback.*` events, version 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FeedbackEventData {
    pub feedback_id: i64,
    pub tracking_code: String,
    /// What staff did: `answer` or `refuse`.
    #[serde(default)]
    pub action: Option<FeedbackAction>,
    /// The feedback's status after it.
    #[serde(default)]
    pub status: Option<FeedbackStatus>,
    /// The procedure the feedback is about, if any.
    #[serde(default)]
    pub procedure_code: Option<String>,
}

impl FeedbackEventData {
    /// The payload of an event about `feedback` after staff took `action`:
    /// no sender name, contact or text (the feed is for systems; the sender
    /// reads the answer with the tracking code).
    pub fn of(feedback: &Feedback, action: FeedbackAction) -> Self {
        Self {
            feedback_id: feedback.id,
            tracking_code: feedback.tracking_code.clone(),
            action: Some(action),
            status: Some(feedback.status),
            procedure_code: feedback.procedure_code.clone(),
        }
    }
}

/// Payload of `procedure.*` events, version 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProcedureEventData {
    pub code: String,
    /// The procedure's version after the change.
    pub version: i32,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub status: Option<ProcedureStatus>,
    /// Set when the change is a new version of the procedure's e-form
    /// (docs/forms.md): that version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form_version: Option<i32>,
}

impl ProcedureEventData {
    pub fn of(record: &ProcedureRecord) -> Self {
        Self {
            code: record.spec.code.clone(),
            version: record.version,
            name: Some(record.spec.name.clone()),
            status: Some(record.spec.status),
            form_version: None,
        }
    }
}

/// Payload of `webhook.*` events, version 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookEventData {
    pub subscription_id: i64,
    /// Why it was switched off.
    pub reason: String,
    pub consecutive_failures: u32,
    /// The subscription's URL.
    #[serde(default)]
    pub url: Option<String>,
    /// When the run of failures began.
    #[serde(default)]
    pub failing_since: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_is_reported_under_its_own_type() {
        let mut seen = std::collections::HashSet::new();
        for action in Action::ALL {
            let event = EventType::of_action(*action);
            assert_eq!(event.subject_kind(), SubjectKind::Dossier, "{action}");
            assert!(seen.insert(event), "{action} shares {event}");
        }
        assert!(
            !seen.contains(&EventType::DossierSubmitted),
            "submission is no action"
        );
    }

    #[test]
    fn names_are_subject_dot_past_tense_and_round_trip() {
        for event in EventType::ALL {
            let name = event.as_str();
            let (subject, what) = name.split_once('.').unwrap();
            assert_eq!(subject, event.subject_kind().as_str(), "{name}");
            assert!(!what.is_empty() && what.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
            assert_eq!(name.parse::<EventType>(), Ok(*event));
        }
    }

    #[test]
    fn applicants_hear_of_what_asks_something_of_them() {
        let told = [
            (EventType::DossierReceived, true),
            (EventType::DossierSupplementRequested, true),
            (EventType::DossierResultIssued, true),
            (EventType::DossierApologised, true),
            (EventType::PaymentCreated, true),
            (EventType::FeedbackAnswered, true),
            (EventType::DossierAssigned, false),
            (EventType::DossierProposed, false),
            (EventType::ProcedureChanged, false),
            (EventType::WebhookDisabled, false),
        ];
        for (event, expected) in told {
            assert_eq!(event.concerns_applicant(), expected, "{event}");
        }
    }

    #[test]
    fn feedback_is_reported_when_the_sender_hears_back() {
        let table = [
            (FeedbackAction::Answer, Some(EventType::FeedbackAnswered)),
            (FeedbackAction::Refuse, Some(EventType::FeedbackAnswered)),
            (FeedbackAction::RequestInfo, None),
            (FeedbackAction::Close, None),
            (FeedbackAction::Supplement, None),
        ];
        assert_eq!(table.len(), FeedbackAction::ALL.len());
        for (action, expected) in table {
            assert_eq!(EventType::of_feedback_action(action), expected, "{action}");
        }
    }

    #[test]
    fn procedure_writes_are_created_changed_or_abolished() {
        use ProcedureStatus::{Abolished, Active};
        let table = [
            (None, Active, EventType::ProcedureCreated),
            (None, Abolished, EventType::ProcedureCreated),
            (Some(Active), Active, EventType::ProcedureChanged),
            (Some(Active), Abolished, EventType::ProcedureAbolished),
            (Some(Abolished), Abolished, EventType::ProcedureChanged),
            (Some(Abolished), Active, EventType::ProcedureChanged),
        ];
        for (previous, status, expected) in table {
            assert_eq!(
                EventType::of_procedure_write(previous, status),
                expected,
                "{previous:?} -> {status}"
            );
        }
    }

    #[test]
    fn payments_report_opening_money_taken_and_closing_without_money() {
        let table = [
            (PaymentStatus::Created, Some(EventType::PaymentCreated)),
            (PaymentStatus::Started, None),
            (PaymentStatus::Submitted, None),
            (PaymentStatus::Success, Some(EventType::PaymentPaid)),
            (PaymentStatus::Failed, Some(EventType::PaymentFailed)),
            (PaymentStatus::Cancelled, Some(EventType::PaymentFailed)),
            (PaymentStatus::Error, Some(EventType::PaymentFailed)),
        ];
        assert_eq!(table.len(), PaymentStatus::ALL.len());
        for (status, expected) in table {
            assert_eq!(EventType::of_payment_status(status), expected, "{status}");
        }
    }
}
