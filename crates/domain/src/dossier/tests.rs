use super::*;
use crate::Role;
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

/// Each case: (status, action, actor, what `decide` answers).
fn check_transitions(cases: Vec<(DossierStatus, Action, Actor, Result<DossierStatus, Refusal>)>) {
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
fn transition_table() {
    check_transitions(vec![
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
    ]);
}

/// Role refusals come first.
#[test]
fn refusals_by_role() {
    check_transitions(vec![
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
    ]);
}

/// Then the status.
#[test]
fn refusals_by_status() {
    check_transitions(vec![
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
    ]);
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
        (S::Posting, false, 9),
        (S::Posting, true, 6),
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

/// Results by post: handed to the post, then delivered or back at the counter.
#[test]
fn postal_return_path() {
    check_transitions(vec![
        (S::ResultReady, A::Post, OFFICER, Ok(S::Posting)),
        (S::Posting, A::Deliver, OFFICER, Ok(S::Returned)),
        (S::Posting, A::DeliveryFailed, OFFICER, Ok(S::ResultReady)),
        (S::Posting, A::Deliver, ADMIN, Ok(S::Returned)),
        (S::ResultReady, A::Post, LEADER, Err(Refusal::Forbidden)),
        (S::ResultReady, A::Post, APPLICANT, Err(Refusal::Forbidden)),
        (
            S::ResultReady,
            A::Post,
            OTHER_OFFICER,
            Err(Refusal::Forbidden),
        ),
        (S::Posting, A::Deliver, APPLICANT, Err(Refusal::Forbidden)),
        (
            S::Posting,
            A::DeliveryFailed,
            LEADER,
            Err(Refusal::Forbidden),
        ),
        (
            S::Approved,
            A::Post,
            OFFICER,
            Err(Refusal::NotAllowed {
                allowed: vec![A::IssueResult, A::Cancel, A::Apology],
            }),
        ),
        (
            S::ResultReady,
            A::Deliver,
            OFFICER,
            Err(Refusal::NotAllowed {
                allowed: vec![A::Return, A::Cancel, A::Apology, A::Post],
            }),
        ),
        // With the post, nobody withdraws, cancels or apologises.
        (
            S::Posting,
            A::Withdraw,
            APPLICANT,
            Err(Refusal::NotAllowed { allowed: vec![] }),
        ),
        (
            S::Posting,
            A::Cancel,
            OFFICER,
            Err(Refusal::NotAllowed {
                allowed: vec![A::Deliver, A::DeliveryFailed],
            }),
        ),
        (
            S::Posting,
            A::Return,
            OFFICER,
            Err(Refusal::NotAllowed {
                allowed: vec![A::Deliver, A::DeliveryFailed],
            }),
        ),
    ]);
    let receiving_only = Actor {
        at_handling_agency: false,
        ..OFFICER
    };
    let handling_only = Actor {
        at_receiving_agency: false,
        ..OFFICER
    };
    for action in [A::Post, A::Deliver, A::DeliveryFailed] {
        assert!(may_act(receiving_only, action, S::Posting), "{action}");
        assert!(!may_act(handling_only, action, S::Posting), "{action}");
    }
    assert!(A::DeliveryFailed.needs_reason());
    assert!(!A::Post.needs_reason() && !A::Deliver.needs_reason());
    assert!(!S::Posting.is_finished() && S::Posting.ends_processing());
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
