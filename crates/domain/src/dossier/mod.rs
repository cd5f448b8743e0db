//! Dossiers (hồ sơ): statuses, actions and who may take them.
//!
//! The transition table here is the one place the state machine is written
//! down; the API, the history and the tests all read it.
//!
//! `transitions` holds the table and who may act; `record` the dossier as
//! stored and shown.

mod record;
mod transitions;

pub use record::{
    ApplicantRef, Dossier, ProcedureRef, RatingScore, dossier_code, dossier_code_prefix, may_rate,
};
pub use transitions::{
    Actor, Refusal, ReturnBlocked, StatusFacts, allowed_actions, check_return, decide, may_act,
};

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
        /// The result is with the postal service on its way to the applicant.
        Posting => "posting",
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

    /// A result is issued: waiting at the counter, with the post, or returned.
    pub fn result_issued(self) -> bool {
        matches!(
            self,
            DossierStatus::ResultReady | DossierStatus::Posting | DossierStatus::Returned
        )
    }

    /// Processing is over (Decision 766): processed, returned, stopped or refused.
    pub fn ends_processing(self) -> bool {
        matches!(
            self,
            DossierStatus::ResultReady
                | DossierStatus::Posting
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
            // Processed, not yet in the applicant's hands.
            DossierStatus::ResultReady | DossierStatus::Posting => 9,
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
            DossierStatus::Posting => "Đang chuyển kết quả qua bưu chính",
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
        /// The result handed to the postal service (tracking number recorded).
        Post => "post",
        /// The postal service delivered the result to the applicant.
        Deliver => "deliver",
        /// The postal service could not deliver: the result is back at the counter.
        DeliveryFailed => "delivery_failed",
    }
}

impl Action {
    /// Actions that must carry a written reason.
    pub fn needs_reason(self) -> bool {
        matches!(
            self,
            Action::Refuse
                | Action::Reject
                | Action::Cancel
                | Action::SendBack
                | Action::Apology
                | Action::DeliveryFailed
        )
    }
}

#[cfg(test)]
mod tests;
