//! One dossier's history, step by step through the domain's rules: every
//! transition is asked of [`decide`] with the acting account's role and place,
//! and a step the rules refuse is an error, never a row. The result of a
//! story is its events and the status it ends in.

use chrono::{DateTime, Utc};
use motcua_domain::Role;
use motcua_domain::dossier::{
    Action, Actor, DossierStatus, Refusal, ReturnBlocked, StatusFacts, check_return, decide,
};
use motcua_persistence::bulk::EventRow;

/// The account taking a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Who {
    pub user: i64,
    pub role: Role,
    /// The agency of staff; `None` for citizens.
    pub agency: Option<i64>,
    /// Acts as the dossier's applicant (filed it, or is the verified applicant).
    pub is_applicant: bool,
}

impl Who {
    pub fn staff(user: i64, role: Role, agency: i64) -> Self {
        Self {
            user,
            role,
            agency: Some(agency),
            is_applicant: false,
        }
    }

    pub fn applicant(user: i64) -> Self {
        Self {
            user,
            role: Role::Citizen,
            agency: None,
            is_applicant: true,
        }
    }
}

/// Why the rules refuse a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// [`decide`] refuses the transition.
    Transition(Refusal),
    /// [`check_return`] blocks the hand-over.
    Blocked(ReturnBlocked),
}

/// A step the rules refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("dossier {dossier}: {action} by {role} from {from} is refused ({why:?})")]
pub struct Illegal {
    pub dossier: i64,
    pub action: Action,
    pub role: Role,
    pub from: DossierStatus,
    pub why: Why,
}

/// The written reason of an action that needs one.
fn reason(action: Action) -> Option<&'static str> {
    action.needs_reason().then_some(match action {
        Action::Refuse => "Hồ sơ không thuộc thẩm quyền tiếp nhận.",
        Action::Reject => "Hồ sơ không đủ điều kiện giải quyết.",
        Action::Cancel => "Hủy theo đề nghị của cơ quan có thẩm quyền.",
        Action::SendBack => "Cần thẩm định lại.",
        _ => "Xin lỗi vì chậm trả kết quả.",
    })
}

pub struct Story {
    dossier: i64,
    facts: StatusFacts,
    receiving_agency: i64,
    handling_agency: i64,
    events: Vec<EventRow>,
}

impl Story {
    /// A dossier filed by `by` at `at` with `receiving_agency`.
    pub fn submitted(dossier: i64, receiving_agency: i64, by: Who, at: DateTime<Utc>) -> Self {
        Self {
            dossier,
            facts: StatusFacts {
                status: DossierStatus::Submitted,
                supplement_from: None,
            },
            receiving_agency,
            handling_agency: receiving_agency,
            events: vec![EventRow {
                dossier_id: dossier,
                action: None,
                from_status: None,
                to_status: DossierStatus::Submitted,
                actor_id: by.user,
                actor_role: by.role,
                actor_agency_id: by.agency,
                note: None,
                at,
            }],
        }
    }

    pub fn status(&self) -> DossierStatus {
        self.facts.status
    }

    pub fn supplement_from(&self) -> Option<DossierStatus> {
        self.facts.supplement_from
    }

    pub fn handling_agency(&self) -> i64 {
        self.handling_agency
    }

    /// Takes `action` if the rules allow it to `by` now; the status it led to.
    pub fn act(
        &mut self,
        action: Action,
        by: Who,
        at: DateTime<Utc>,
    ) -> Result<DossierStatus, Illegal> {
        let actor = Actor {
            role: by.role,
            is_applicant: by.is_applicant,
            at_receiving_agency: by.agency == Some(self.receiving_agency),
            at_handling_agency: by.agency == Some(self.handling_agency),
        };
        let from = self.facts.status;
        let to = decide(self.facts, action, actor)
            .map_err(|refusal| self.illegal(action, by, Why::Transition(refusal)))?;
        self.facts.supplement_from = match action {
            Action::RequestSupplement => Some(from),
            Action::Supplement => None,
            _ => self.facts.supplement_from,
        };
        self.facts.status = to;
        self.events.push(EventRow {
            dossier_id: self.dossier,
            action: Some(action),
            from_status: Some(from),
            to_status: to,
            actor_id: by.user,
            actor_role: by.role,
            actor_agency_id: by.agency,
            note: reason(action),
            at,
        });
        Ok(to)
    }

    fn illegal(&self, action: Action, by: Who, why: Why) -> Illegal {
        Illegal {
            dossier: self.dossier,
            action,
            role: by.role,
            from: self.facts.status,
            why,
        }
    }

    /// Hands the result over ([`Action::Return`]) once [`check_return`] lets it go.
    pub fn hand_over(
        &mut self,
        by: Who,
        at: DateTime<Utc>,
        late: bool,
        apologised: bool,
        fees: (i64, i64),
    ) -> Result<DossierStatus, Illegal> {
        check_return(late, apologised, fees.0, fees.1)
            .map_err(|blocked| self.illegal(Action::Return, by, Why::Blocked(blocked)))?;
        self.act(Action::Return, by, at)
    }

    /// Transfers the dossier to `agency` (a [`Action::Transfer`] by `by`).
    pub fn transfer(&mut self, by: Who, agency: i64, at: DateTime<Utc>) -> Result<(), Illegal> {
        self.act(Action::Transfer, by, at)?;
        self.handling_agency = agency;
        Ok(())
    }

    pub fn into_events(self) -> Vec<EventRow> {
        self.events
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_780_000_000, 0).unwrap()
    }

    #[test]
    fn a_full_path_passes_and_records_every_step() {
        let officer = Who::staff(1, Role::Officer, 10);
        let leader = Who::staff(2, Role::Leader, 10);
        let citizen = Who::applicant(3);
        let mut s = Story::submitted(7, 10, citizen, at());
        for (action, by) in [
            (Action::Receive, officer),
            (Action::Assign, officer),
            (Action::RequestSupplement, officer),
            (Action::Supplement, citizen),
            (Action::Propose, officer),
            (Action::Approve, leader),
            (Action::IssueResult, officer),
            (Action::Return, officer),
        ] {
            s.act(action, by, at()).unwrap();
        }
        assert_eq!(s.status(), DossierStatus::Returned);
        let events = s.into_events();
        assert_eq!(events.len(), 9);
        assert_eq!(
            events[4].from_status,
            Some(DossierStatus::SupplementRequested)
        );
        assert_eq!(events[4].to_status, DossierStatus::InReview);
    }

    #[test]
    fn an_illegal_step_is_refused_and_not_recorded() {
        let officer = Who::staff(1, Role::Officer, 10);
        let mut s = Story::submitted(7, 10, officer, at());
        // Issuing a result before review and approval.
        let err = s.act(Action::IssueResult, officer, at()).unwrap_err();
        assert_eq!(err.from, DossierStatus::Submitted);
        assert!(matches!(
            err.why,
            Why::Transition(Refusal::NotAllowed { .. })
        ));
        // An officer approving: only leaders approve.
        s.act(Action::Receive, officer, at()).unwrap();
        s.act(Action::Assign, officer, at()).unwrap();
        s.act(Action::Propose, officer, at()).unwrap();
        let err = s.act(Action::Approve, officer, at()).unwrap_err();
        assert_eq!(err.why, Why::Transition(Refusal::Forbidden));
        // Staff of another agency may not receive; a citizen who is not the applicant may not withdraw.
        let mut t = Story::submitted(8, 10, officer, at());
        assert!(
            t.act(Action::Receive, Who::staff(4, Role::Officer, 11), at())
                .is_err()
        );
        let stranger = Who {
            is_applicant: false,
            ..Who::applicant(5)
        };
        assert!(t.act(Action::Withdraw, stranger, at()).is_err());
        assert_eq!(t.into_events().len(), 1, "only the submission");
        assert_eq!(s.status(), DossierStatus::PendingApproval);
    }

    #[test]
    fn after_a_transfer_the_new_agency_handles_and_the_first_returns() {
        let first = Who::staff(1, Role::Officer, 10);
        let second = Who::staff(2, Role::Officer, 11);
        let mut s = Story::submitted(7, 10, first, at());
        s.act(Action::Receive, first, at()).unwrap();
        s.act(Action::Assign, first, at()).unwrap();
        s.transfer(first, 11, at()).unwrap();
        assert!(s.act(Action::Propose, first, at()).is_err());
        s.act(Action::Propose, second, at()).unwrap();
        s.act(Action::Approve, Who::staff(3, Role::Leader, 11), at())
            .unwrap();
        s.act(Action::IssueResult, second, at()).unwrap();
        assert!(s.act(Action::Return, second, at()).is_err());
        // Unpaid fees, or late without an apology, block the hand-over.
        let err = s
            .hand_over(first, at(), false, false, (100, 0))
            .unwrap_err();
        assert_eq!(err.why, Why::Blocked(ReturnBlocked::FeesUnpaid));
        let err = s.hand_over(first, at(), true, false, (0, 0)).unwrap_err();
        assert_eq!(err.why, Why::Blocked(ReturnBlocked::ApologyRequired));
        s.hand_over(first, at(), true, true, (100, 100)).unwrap();
        assert_eq!(s.handling_agency(), 11);
    }
}
