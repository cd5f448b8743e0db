//! The state machine: where a status goes on an action, and who may take it.

use serde::{Deserialize, Serialize};

use super::{Action, DossierStatus};
use crate::Role;

/// What a rule needs to know about the dossier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusFacts {
    pub status: DossierStatus,
    /// The status a supplement request came from, to return to it.
    pub supplement_from: Option<DossierStatus>,
}

/// Who acts, relative to the dossier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub role: Role,
    /// The citizen is the dossier's applicant.
    pub is_applicant: bool,
    /// Staff of the agency that received the dossier (reception, return).
    pub at_receiving_agency: bool,
    /// Staff of the agency now handling it (after inter-agency transfers).
    pub at_handling_agency: bool,
}

impl Actor {
    /// Staff of the dossier's agencies (receiving or handling), or an admin.
    pub fn is_agency_staff(self) -> bool {
        self.role == Role::Admin
            || (matches!(self.role, Role::Officer | Role::Leader)
                && (self.at_receiving_agency || self.at_handling_agency))
    }

    /// Pays online for the dossier: its applicant (the portal only for what
    /// it filed itself), or an admin.
    pub fn is_payer(self) -> bool {
        self.is_applicant || self.role == Role::Admin
    }

    /// Takes a payment at the counter: an officer of the receiving agency, or an admin.
    pub fn may_take_counter_payment(self) -> bool {
        self.role == Role::Admin || (self.role == Role::Officer && self.at_receiving_agency)
    }
}

/// Where a status goes on an action, ignoring who acts.
fn target(facts: StatusFacts, action: Action) -> Option<DossierStatus> {
    use Action as A;
    use DossierStatus as S;
    let status = facts.status;
    if status.is_finished() {
        return None;
    }
    match (status, action) {
        // With the post, the result is out of anyone's hands until delivered or back.
        (S::Posting, A::Withdraw | A::Cancel | A::Apology) => None,
        (_, A::Withdraw) => Some(S::Withdrawn),
        (_, A::Cancel) => Some(S::Cancelled),
        (S::Submitted, A::Apology) => None,
        (_, A::Apology) => Some(status),
        (S::Submitted, A::Receive) => Some(S::Received),
        (S::Submitted, A::Refuse) => Some(S::Refused),
        (S::Submitted | S::InReview, A::RequestSupplement) => Some(S::SupplementRequested),
        (S::Received | S::InReview, A::Assign) => Some(S::InReview),
        (S::InReview, A::Propose) => Some(S::PendingApproval),
        (S::InReview, A::Transfer) => Some(S::InReview),
        (S::PendingApproval, A::Approve) => Some(S::Approved),
        (S::PendingApproval, A::SendBack) => Some(S::InReview),
        (S::PendingApproval, A::Reject) => Some(S::Rejected),
        (S::Approved, A::IssueResult) => Some(S::ResultReady),
        (S::ResultReady, A::Return) => Some(S::Returned),
        (S::ResultReady, A::Post) => Some(S::Posting),
        (S::Posting, A::Deliver) => Some(S::Returned),
        (S::Posting, A::DeliveryFailed) => Some(S::ResultReady),
        (S::SupplementRequested, A::Supplement) => {
            Some(facts.supplement_from.unwrap_or(S::InReview))
        }
        _ => None,
    }
}

/// Whether the actor's role and place may take the action at all, whatever the status.
pub fn may_act(actor: Actor, action: Action, status: DossierStatus) -> bool {
    use Action as A;
    if actor.role == Role::Admin {
        return true;
    }
    let officer = actor.role == Role::Officer;
    let leader = actor.role == Role::Leader;
    let staff_anywhere = actor.is_agency_staff();
    match action {
        A::Receive | A::Refuse | A::Return | A::Post | A::Deliver | A::DeliveryFailed => {
            officer && actor.at_receiving_agency
        }
        A::RequestSupplement => {
            officer
                && if status == DossierStatus::Submitted {
                    actor.at_receiving_agency
                } else {
                    actor.at_handling_agency
                }
        }
        A::Assign => (officer || leader) && actor.at_handling_agency,
        A::Propose | A::IssueResult => officer && actor.at_handling_agency,
        A::Approve | A::SendBack | A::Reject => leader && actor.at_handling_agency,
        A::Transfer => (officer || leader) && actor.at_handling_agency,
        A::Cancel | A::Apology => staff_anywhere,
        A::Supplement | A::Withdraw => {
            // The portal acts for the applicant only on what it filed itself.
            matches!(actor.role, Role::Citizen | Role::Integration) && actor.is_applicant
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The actor may not take this action on this dossier (403).
    Forbidden,
    /// Not from the current status (409); what the actor could do instead.
    NotAllowed { allowed: Vec<Action> },
}

/// The status an action leads to, or why it may not be taken.
pub fn decide(facts: StatusFacts, action: Action, actor: Actor) -> Result<DossierStatus, Refusal> {
    if !may_act(actor, action, facts.status) {
        return Err(Refusal::Forbidden);
    }
    target(facts, action).ok_or_else(|| Refusal::NotAllowed {
        allowed: allowed_actions(facts, actor),
    })
}

/// Actions the actor could take now, in table order.
pub fn allowed_actions(facts: StatusFacts, actor: Actor) -> Vec<Action> {
    Action::ALL
        .iter()
        .copied()
        .filter(|a| target(facts, *a).is_some() && may_act(actor, *a, facts.status))
        .collect()
}

/// Why a result may not be handed over yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReturnBlocked {
    /// Fees requested for the dossier are not paid (online or at the counter).
    FeesUnpaid,
    /// The dossier is late: an apology letter with a new appointment must exist first.
    ApologyRequired,
    /// Sent by post, but nobody said where to: the postal return is not chosen.
    PostalReturnMissing,
}

pub fn check_return(
    is_late: bool,
    has_apology: bool,
    fees_due_vnd: i64,
    fees_paid_vnd: i64,
) -> Result<(), ReturnBlocked> {
    if fees_paid_vnd < fees_due_vnd {
        return Err(ReturnBlocked::FeesUnpaid);
    }
    if is_late && !has_apology {
        return Err(ReturnBlocked::ApologyRequired);
    }
    Ok(())
}
