//! Dossiers (hồ sơ): statuses, actions and who may take them.
//!
//! The transition table here is the one place the state machine is written
//! down; the API, the history and the tests all read it.

use serde::{Deserialize, Serialize};

use crate::Role;

crate::string_enum! {
    pub enum DossierStatus {
        /// Filed, not yet received by the one-stop counter.
        Submitted => "submitted",
        Received => "received",
        /// Not received (refused at intake), with written reasons.
        Refused => "refused",
        InReview => "in_review",
        PendingApproval => "pending_approval",
        Approved => "approved",
        /// Refused after review, with written reasons.
        Rejected => "rejected",
        SupplementRequested => "supplement_requested",
        ResultReady => "result_ready",
        Returned => "returned",
        Withdrawn => "withdrawn",
        Cancelled => "cancelled",
    }
}

impl DossierStatus {
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            DossierStatus::Returned
                | DossierStatus::Refused
                | DossierStatus::Rejected
                | DossierStatus::Withdrawn
                | DossierStatus::Cancelled
        )
    }

    /// Processing is over (Decision 766): processed, returned, stopped or refused.
    pub fn ends_processing(self) -> bool {
        matches!(
            self,
            DossierStatus::ResultReady
                | DossierStatus::Returned
                | DossierStatus::Rejected
                | DossierStatus::Refused
                | DossierStatus::Cancelled
        )
    }

    /// Status code of the National Public Service Portal. A dossier whose
    /// requested fees are unpaid shows 6 while it is unfinished.
    pub fn portal_code(self, fees_unpaid: bool) -> u8 {
        if fees_unpaid && !self.is_finished() {
            return 6;
        }
        match self {
            DossierStatus::Submitted => 1,
            DossierStatus::Received => 2,
            DossierStatus::Refused => 3,
            DossierStatus::InReview | DossierStatus::PendingApproval | DossierStatus::Approved => 4,
            DossierStatus::SupplementRequested => 5,
            DossierStatus::Withdrawn => 7,
            DossierStatus::Rejected | DossierStatus::Cancelled => 8,
            DossierStatus::ResultReady => 9,
            DossierStatus::Returned => 10,
        }
    }

    /// Vietnamese label shown to applicants.
    pub fn label_vi(self) -> &'static str {
        match self {
            DossierStatus::Submitted => "Mới đăng ký",
            DossierStatus::Received => "Đã tiếp nhận",
            DossierStatus::Refused => "Không tiếp nhận",
            DossierStatus::InReview => "Đang xử lý",
            DossierStatus::PendingApproval => "Chờ phê duyệt",
            DossierStatus::Approved => "Đã phê duyệt",
            DossierStatus::Rejected => "Từ chối giải quyết",
            DossierStatus::SupplementRequested => "Yêu cầu bổ sung",
            DossierStatus::ResultReady => "Có kết quả, chờ trả",
            DossierStatus::Returned => "Đã trả kết quả",
            DossierStatus::Withdrawn => "Đã rút hồ sơ",
            DossierStatus::Cancelled => "Đã hủy",
        }
    }
}

crate::string_enum! {
    /// How a dossier is filed, and separately how its result is returned.
    pub enum Channel {
        Counter => "counter",
        Online => "online",
        Postal => "postal",
    }
}

impl Channel {
    /// The portal's codes: 1 counter, 2 online, 3 postal.
    pub fn portal_code(self) -> u8 {
        match self {
            Channel::Counter => 1,
            Channel::Online => 2,
            Channel::Postal => 3,
        }
    }
}

crate::string_enum! {
    pub enum Action {
        Receive => "receive",
        Refuse => "refuse",
        Assign => "assign",
        RequestSupplement => "request_supplement",
        Supplement => "supplement",
        Propose => "propose",
        Approve => "approve",
        SendBack => "send_back",
        Reject => "reject",
        IssueResult => "issue_result",
        Return => "return",
        Withdraw => "withdraw",
        Cancel => "cancel",
        Transfer => "transfer",
        /// Records an apology letter with a new appointment date; no status change.
        Apology => "apology",
    }
}

impl Action {
    /// Actions that must carry a written reason.
    pub fn needs_reason(self) -> bool {
        matches!(
            self,
            Action::Refuse | Action::Reject | Action::Cancel | Action::SendBack | Action::Apology
        )
    }
}

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
        A::Receive | A::Refuse | A::Return => officer && actor.at_receiving_agency,
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

/// `<agency code>-<yymmdd>-<sequence>`, the sequence at least four digits.
pub fn dossier_code(agency_code: &str, day: chrono::NaiveDate, sequence: i64) -> String {
    format!("{}{sequence:04}", dossier_code_prefix(agency_code, day))
}

/// What a dossier's code is before its number of the day: the number is
/// appended in at least four digits (storage does it as it takes the number).
pub fn dossier_code_prefix(agency_code: &str, day: chrono::NaiveDate) -> String {
    format!("{agency_code}-{}-", day.format("%y%m%d"))
}

/// The procedure a dossier is for, as shown inside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProcedureRef {
    pub id: i64,
    pub code: String,
    pub name: String,
}

/// The applicant as shown inside a dossier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApplicantRef {
    pub id: i64,
    /// `person` or `organization`.
    pub kind: String,
    pub full_name: String,
    pub id_number: Option<String>,
    pub tax_code: Option<String>,
}

/// A dossier as stored: what it is for, where it stands, and its clock.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Dossier {
    pub id: i64,
    #[cfg_attr(feature = "openapi", schema(example = "000.00.20.H56-261123-0001"))]
    pub code: String,
    pub procedure: ProcedureRef,
    /// The agency that received it and returns the result.
    pub agency: crate::agency::AgencyRef,
    /// The agency handling it now (differs after an inter-agency transfer).
    pub handling_agency: crate::agency::AgencyRef,
    pub applicant: ApplicantRef,
    pub submitted_by: i64,
    pub channel: Channel,
    pub result_channel: Channel,
    pub status: DossierStatus,
    pub assignee_id: Option<i64>,
    pub assigned_unit_id: Option<i64>,
    pub time_unit: crate::procedure::TimeUnit,
    /// Working days (or hours) allowed: the agency's committed time.
    pub allowed_time: u32,
    pub regulated_days: u32,
    pub submitted_at: chrono::DateTime<chrono::Utc>,
    pub received_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The due moment the KPIs judge by (supplement pauses included, apologies not).
    pub due_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The appointment shown to the applicant (moved by an apology letter).
    pub appointment_at: Option<chrono::DateTime<chrono::Utc>>,
    pub paused_at: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(skip)]
    pub paused_remaining: Option<crate::calendar::Remaining>,
    pub supplement_from: Option<DossierStatus>,
    /// Supplement requests made while in review.
    pub supplement_count: u32,
    /// When processing ended: result ready, rejected, refused or cancelled.
    pub processed_at: Option<chrono::DateTime<chrono::Utc>>,
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
    pub fees_due_vnd: i64,
    pub fees_paid_vnd: i64,
    /// Fee items charged, frozen at submission.
    pub fees: Vec<crate::procedure::Fee>,
    pub note: Option<String>,
    pub version: i32,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl Dossier {
    pub fn facts(&self) -> StatusFacts {
        StatusFacts {
            status: self.status,
            supplement_from: self.supplement_from,
        }
    }

    /// The `ETag` of this version.
    pub fn etag(&self) -> String {
        format!("\"v{}\"", self.version)
    }

    pub fn fees_unpaid(&self) -> bool {
        self.fees_paid_vnd < self.fees_due_vnd
    }

    pub fn portal_status(&self) -> u8 {
        self.status.portal_code(self.fees_unpaid())
    }
}

crate::string_enum! {
    /// The satisfaction scale of a rating.
    pub enum RatingScore {
        Satisfied => "satisfied",
        Normal => "normal",
        Unsatisfied => "unsatisfied",
    }
}

/// Statuses in which the applicant has had the outcome and may rate the service.
pub fn may_rate(status: DossierStatus) -> bool {
    matches!(
        status,
        DossierStatus::Returned | DossierStatus::Rejected | DossierStatus::Refused
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action as A;
    use DossierStatus as S;

    const OFFICER: Actor = Actor {
        role: Role::Officer,
        is_applicant: false,
        at_receiving_agency: true,
        at_handling_agency: true,
    };

    #[test]
    fn staff_payers_and_counter_payments() {
        let actor = |role, is_applicant, receiving, handling| Actor {
            role,
            is_applicant,
            at_receiving_agency: receiving,
            at_handling_agency: handling,
        };
        // (actor, agency staff, payer, takes counter payments)
        let cases = [
            (actor(Role::Officer, false, true, false), true, false, true),
            (actor(Role::Officer, false, false, true), true, false, false),
            (
                actor(Role::Officer, false, false, false),
                false,
                false,
                false,
            ),
            (actor(Role::Leader, false, true, true), true, false, false),
            (actor(Role::Admin, false, false, false), true, true, true),
            (actor(Role::Citizen, true, false, false), false, true, false),
            (
                actor(Role::Integration, true, false, false),
                false,
                true,
                false,
            ),
            (
                actor(Role::Integration, false, false, false),
                false,
                false,
                false,
            ),
        ];
        for (a, staff, payer, counter) in cases {
            assert_eq!(
                (
                    a.is_agency_staff(),
                    a.is_payer(),
                    a.may_take_counter_payment()
                ),
                (staff, payer, counter),
                "{a:?}"
            );
        }
    }
    const LEADER: Actor = Actor {
        role: Role::Leader,
        ..OFFICER
    };
    const ADMIN: Actor = Actor {
        role: Role::Admin,
        at_receiving_agency: false,
        at_handling_agency: false,
        ..OFFICER
    };
    const APPLICANT: Actor = Actor {
        role: Role::Citizen,
        is_applicant: true,
        at_receiving_agency: false,
        at_handling_agency: false,
    };
    const STRANGER: Actor = Actor {
        is_applicant: false,
        ..APPLICANT
    };
    /// The portal on a dossier it filed.
    const PORTAL: Actor = Actor {
        role: Role::Integration,
        ..APPLICANT
    };
    /// The portal on a dossier it may only read (a grant).
    const PORTAL_READER: Actor = Actor {
        role: Role::Integration,
        ..STRANGER
    };
    const OTHER_OFFICER: Actor = Actor {
        at_receiving_agency: false,
        at_handling_agency: false,
        ..OFFICER
    };

    fn facts(status: DossierStatus) -> StatusFacts {
        StatusFacts {
            status,
            supplement_from: None,
        }
    }

    #[test]
    fn transition_table() {
        let cases = [
            (S::Submitted, A::Receive, OFFICER, Ok(S::Received)),
            (S::Submitted, A::Refuse, OFFICER, Ok(S::Refused)),
            (
                S::Submitted,
                A::RequestSupplement,
                OFFICER,
                Ok(S::SupplementRequested),
            ),
            (S::Received, A::Assign, OFFICER, Ok(S::InReview)),
            (S::Received, A::Assign, LEADER, Ok(S::InReview)),
            (S::InReview, A::Assign, OFFICER, Ok(S::InReview)),
            (S::InReview, A::Propose, OFFICER, Ok(S::PendingApproval)),
            (
                S::InReview,
                A::RequestSupplement,
                OFFICER,
                Ok(S::SupplementRequested),
            ),
            (S::InReview, A::Transfer, LEADER, Ok(S::InReview)),
            (S::PendingApproval, A::Approve, LEADER, Ok(S::Approved)),
            (S::PendingApproval, A::SendBack, LEADER, Ok(S::InReview)),
            (S::PendingApproval, A::Reject, LEADER, Ok(S::Rejected)),
            (S::Approved, A::IssueResult, OFFICER, Ok(S::ResultReady)),
            (S::ResultReady, A::Return, OFFICER, Ok(S::Returned)),
            (S::InReview, A::Withdraw, APPLICANT, Ok(S::Withdrawn)),
            (S::ResultReady, A::Cancel, LEADER, Ok(S::Cancelled)),
            (S::InReview, A::Apology, OFFICER, Ok(S::InReview)),
            (S::Submitted, A::Withdraw, PORTAL, Ok(S::Withdrawn)),
            (S::PendingApproval, A::Approve, ADMIN, Ok(S::Approved)),
            // Role refusals come first.
            (
                S::PendingApproval,
                A::Approve,
                OFFICER,
                Err(Refusal::Forbidden),
            ),
            (S::InReview, A::Propose, LEADER, Err(Refusal::Forbidden)),
            (S::Submitted, A::Receive, APPLICANT, Err(Refusal::Forbidden)),
            (S::InReview, A::Withdraw, STRANGER, Err(Refusal::Forbidden)),
            (
                S::InReview,
                A::Withdraw,
                PORTAL_READER,
                Err(Refusal::Forbidden),
            ),
            (
                S::SupplementRequested,
                A::Supplement,
                PORTAL_READER,
                Err(Refusal::Forbidden),
            ),
            (S::InReview, A::Withdraw, OFFICER, Err(Refusal::Forbidden)),
            (
                S::Submitted,
                A::Receive,
                OTHER_OFFICER,
                Err(Refusal::Forbidden),
            ),
            (
                S::Received,
                A::Cancel,
                OTHER_OFFICER,
                Err(Refusal::Forbidden),
            ),
            // Then the status.
            (
                S::Returned,
                A::Withdraw,
                APPLICANT,
                Err(Refusal::NotAllowed { allowed: vec![] }),
            ),
            (
                S::Submitted,
                A::Apology,
                OFFICER,
                Err(Refusal::NotAllowed {
                    allowed: vec![A::Receive, A::Refuse, A::RequestSupplement, A::Cancel],
                }),
            ),
            (
                S::Received,
                A::Propose,
                OFFICER,
                Err(Refusal::NotAllowed {
                    allowed: vec![A::Assign, A::Cancel, A::Apology],
                }),
            ),
            (
                S::Approved,
                A::Approve,
                LEADER,
                Err(Refusal::NotAllowed {
                    allowed: vec![A::Cancel, A::Apology],
                }),
            ),
        ];
        for (status, action, actor, want) in cases {
            assert_eq!(
                decide(facts(status), action, actor),
                want,
                "{status} {action} by {:?}",
                actor.role
            );
        }
    }

    #[test]
    fn supplement_returns_where_it_came_from() {
        let at_reception = StatusFacts {
            status: S::SupplementRequested,
            supplement_from: Some(S::Submitted),
        };
        assert_eq!(
            decide(at_reception, A::Supplement, APPLICANT),
            Ok(S::Submitted)
        );
        let in_review = StatusFacts {
            status: S::SupplementRequested,
            supplement_from: Some(S::InReview),
        };
        assert_eq!(decide(in_review, A::Supplement, APPLICANT), Ok(S::InReview));
    }

    #[test]
    fn request_supplement_at_reception_belongs_to_the_receiving_agency() {
        let receiving_only = Actor {
            at_handling_agency: false,
            ..OFFICER
        };
        let handling_only = Actor {
            at_receiving_agency: false,
            ..OFFICER
        };
        assert!(may_act(receiving_only, A::RequestSupplement, S::Submitted));
        assert!(!may_act(handling_only, A::RequestSupplement, S::Submitted));
        assert!(may_act(handling_only, A::RequestSupplement, S::InReview));
        assert!(!may_act(receiving_only, A::RequestSupplement, S::InReview));
        assert!(may_act(receiving_only, A::Return, S::ResultReady));
        assert!(!may_act(handling_only, A::Return, S::ResultReady));
    }

    #[test]
    fn finished_states_accept_nothing() {
        for status in S::ALL.iter().filter(|s| s.is_finished()) {
            for action in A::ALL {
                assert!(
                    decide(facts(*status), *action, ADMIN).is_err(),
                    "{status} {action}"
                );
            }
        }
    }

    #[test]
    fn portal_codes() {
        let cases = [
            (S::Submitted, false, 1),
            (S::Received, false, 2),
            (S::Refused, false, 3),
            (S::InReview, false, 4),
            (S::PendingApproval, false, 4),
            (S::Approved, false, 4),
            (S::SupplementRequested, false, 5),
            (S::InReview, true, 6),
            (S::ResultReady, true, 6),
            (S::Withdrawn, false, 7),
            (S::Rejected, false, 8),
            (S::Cancelled, false, 8),
            (S::ResultReady, false, 9),
            (S::Returned, false, 10),
            (S::Returned, true, 10),
        ];
        for (status, unpaid, code) in cases {
            assert_eq!(status.portal_code(unpaid), code, "{status} unpaid={unpaid}");
        }
        assert_eq!(
            [Channel::Counter, Channel::Online, Channel::Postal].map(Channel::portal_code),
            [1, 2, 3]
        );
    }

    #[test]
    fn return_needs_payment_then_apology_when_late() {
        assert_eq!(check_return(false, false, 0, 0), Ok(()));
        assert_eq!(
            check_return(false, false, 50_000, 0),
            Err(ReturnBlocked::FeesUnpaid)
        );
        assert_eq!(
            check_return(true, false, 50_000, 50_000),
            Err(ReturnBlocked::ApologyRequired)
        );
        assert_eq!(check_return(true, true, 50_000, 50_000), Ok(()));
    }

    #[test]
    fn codes_have_four_digit_sequences() {
        let day = chrono::NaiveDate::from_ymd_opt(2021, 5, 31).unwrap();
        assert_eq!(
            dossier_code("000.17.22.H56", day, 1),
            "000.17.22.H56-210531-0001"
        );
        assert_eq!(
            dossier_code("000.17.22.H56", day, 12345),
            "000.17.22.H56-210531-12345"
        );
    }
}
