//! The events others may follow (change feed, webhooks, notifications): their
//! types, which change each one reports, and the envelope they travel in.
//!
//! Every change listed here is written as one event row in the same
//! transaction as the change itself (the outbox), so a rolled-back change has
//! no event and a committed one always has one.

use crate::dossier::Action;

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
}
