//! Who may see which dossier, and how a citizen account proves it is the
//! person whose ID number it carries. One rule for every route that shows a
//! dossier, its documents, receipt, payments or acts on it.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::Role;
use crate::text::fold;

crate::string_enum! {
    /// Whether a citizen account has proven it is the person of its ID number.
    pub enum IdentityStatus {
        /// Self-registered: sees only what it filed itself.
        Unverified => "unverified",
        /// Proven: sees everything filed under its ID number.
        Verified => "verified",
    }
}

crate::string_enum! {
    /// How an account was verified.
    pub enum VerificationMethod {
        /// A one-time code sent to the contact on the agency's records.
        Otp => "otp",
        /// An officer checked the citizen's card at the counter.
        Counter => "counter",
        /// A national identity provider login (VNeID, OpenID Connect).
        Oidc => "oidc",
    }
}

/// The caller, as far as reaching dossiers goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewer {
    pub user_id: i64,
    pub role: Role,
    pub agency_id: Option<i64>,
    /// A citizen's applicant record (the person of its ID number).
    pub applicant_id: Option<i64>,
    pub identity: IdentityStatus,
}

/// What decides whether a viewer reaches a dossier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holding {
    pub applicant_id: i64,
    pub submitted_by: i64,
    /// The receiving agency.
    pub agency_id: i64,
    /// The viewer's agency is among those the dossier passed through.
    pub passed_viewer_agency: bool,
    /// An integration viewer holds a grant for the receiving agency.
    pub granted_to_viewer: bool,
    /// The dossier is finished ([`crate::dossier::DossierStatus::is_finished`]).
    pub finished: bool,
}

/// How a viewer stands to a dossier it reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reach {
    /// Acts as the applicant: withdraws, supplements, pays, rates. For the
    /// portal, only on dossiers it filed itself.
    pub as_applicant: bool,
}

/// Whether a viewer reaches a dossier, and how; `None` means it must look
/// as if the dossier did not exist.
pub fn reach(viewer: Viewer, dossier: Holding) -> Option<Reach> {
    let filed_it = dossier.submitted_by == viewer.user_id;
    match viewer.role {
        Role::Admin => Some(Reach {
            as_applicant: false,
        }),
        Role::Citizen => {
            let own = viewer.applicant_id == Some(dossier.applicant_id);
            let theirs = viewer.identity == IdentityStatus::Verified && own;
            // A citizen who filed for someone else is their representative:
            // its reach ends with the dossier.
            let filed_open = filed_it && (own || !dossier.finished);
            (theirs || filed_open).then_some(Reach { as_applicant: true })
        }
        Role::Integration => {
            if filed_it {
                Some(Reach { as_applicant: true })
            } else {
                dossier.granted_to_viewer.then_some(Reach {
                    as_applicant: false,
                })
            }
        }
        Role::Officer | Role::Leader => {
            (viewer.agency_id.is_some() && dossier.passed_viewer_agency).then_some(Reach {
                as_applicant: false,
            })
        }
    }
}

/// The same rule as [`reach`], as a filter for lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListScope {
    All,
    /// A citizen's: filed under its applicant record (when `verified`), or
    /// filed by this account for that record, or for someone else while open.
    Citizen {
        user_id: i64,
        applicant_id: Option<i64>,
        verified: bool,
    },
    /// Passed through this agency.
    Agency(i64),
    /// Filed by this integration account or received by an agency it is granted.
    Integration(i64),
    Nothing,
}

pub fn list_scope(viewer: Viewer) -> ListScope {
    match viewer.role {
        Role::Admin => ListScope::All,
        Role::Citizen => ListScope::Citizen {
            user_id: viewer.user_id,
            applicant_id: viewer.applicant_id,
            verified: viewer.identity == IdentityStatus::Verified,
        },
        Role::Integration => ListScope::Integration(viewer.user_id),
        Role::Officer | Role::Leader => viewer
            .agency_id
            .map_or(ListScope::Nothing, ListScope::Agency),
    }
}

/// How far a caller's views by agency (KPIs, queue, feedback) reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaffReach {
    /// The home agency of this agency (a division acts for its department).
    Home(i64),
    /// Any agency: admins, accounts without an agency, the public where a
    /// view is public. Whether they may use the view at all is the view's rule.
    Anywhere,
}

/// The caller may not see this view by agency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotStaff;

/// Officers and leaders reach their own agency only (they must have one);
/// everyone else any agency.
pub fn staff_reach(role: Role, own_agency: Option<i64>) -> Result<StaffReach, NotStaff> {
    match (role.needs_agency(), own_agency) {
        (true, Some(agency)) => Ok(StaffReach::Home(agency)),
        (true, None) => Err(NotStaff),
        (false, _) => Ok(StaffReach::Anywhere),
    }
}

/// Which agency a view by agency covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgencyView {
    /// The caller's home agency.
    Home(i64),
    /// The one asked for (it must exist).
    Chosen(i64),
    /// Every agency.
    All,
}

/// The agency a view covers, once the home agency of a [`StaffReach::Home`]
/// is known: staff see their home agency and may not ask for another; whoever
/// reaches anywhere sees the one asked for, or all.
pub fn agency_view(home: Option<i64>, requested: Option<i64>) -> Result<AgencyView, NotStaff> {
    match (home, requested) {
        (Some(home), Some(id)) if id != home => Err(NotStaff),
        (Some(home), _) => Ok(AgencyView::Home(home)),
        (None, Some(id)) => Ok(AgencyView::Chosen(id)),
        (None, None) => Ok(AgencyView::All),
    }
}

/// Which events a reader of the change feed, or a webhook subscription,
/// receives: the agencies (`None`: all) and whether events that belong to no
/// agency (catalog changes) come too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventReach {
    pub agency_ids: Option<Vec<i64>>,
    pub with_unassigned: bool,
}

/// Admins read every event, or one agency's; integration accounts the
/// events of the agencies they are granted (and catalog events), or one
/// granted agency's; nobody else reads the feed.
pub fn event_reach(
    role: Role,
    granted: &[i64],
    requested: Option<i64>,
) -> Result<EventReach, NotStaff> {
    match (role, requested) {
        (Role::Admin, None) => Ok(EventReach {
            agency_ids: None,
            with_unassigned: true,
        }),
        (Role::Admin, Some(agency)) => Ok(EventReach {
            agency_ids: Some(vec![agency]),
            with_unassigned: false,
        }),
        (Role::Integration, None) => Ok(EventReach {
            agency_ids: Some(granted.to_vec()),
            with_unassigned: true,
        }),
        (Role::Integration, Some(agency)) if granted.contains(&agency) => Ok(EventReach {
            agency_ids: Some(vec![agency]),
            with_unassigned: false,
        }),
        _ => Err(NotStaff),
    }
}

/// Names match when they are the same letters, whatever the accents, case,
/// spacing and punctuation: `Trần Thị Bích` and `TRAN THI BICH`.
pub fn names_match(a: &str, b: &str) -> bool {
    let (a, b) = (fold(a), fold(b));
    !a.is_empty() && a == b
}

/// How long a one-time code stays valid.
pub const OTP_TTL_MINUTES: i64 = 10;
/// Wrong entries a code survives; the next one kills it.
pub const OTP_MAX_TRIES: i32 = 5;
/// Codes one account may be sent in 24 hours.
pub const OTP_MAX_PER_DAY: i64 = 5;
/// Digits of a one-time code.
pub const OTP_DIGITS: usize = 6;

/// A one-time code as stored (its hash, never the code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtpState {
    pub expires_at: DateTime<Utc>,
    /// Wrong entries so far.
    pub tries: i32,
}

/// What entering a code does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtpCheck {
    Accepted,
    /// Wrong; `left` more tries before the code dies.
    Wrong {
        left: i32,
    },
    Expired,
    /// Too many wrong entries: the code is dead, ask for a new one.
    Exhausted,
}

/// Judges an entered code: expiry and exhaustion first, so a dead code
/// never says whether a guess was right.
pub fn check_otp(state: &OtpState, matches: bool, now: DateTime<Utc>) -> OtpCheck {
    if state.tries >= OTP_MAX_TRIES {
        return OtpCheck::Exhausted;
    }
    if now >= state.expires_at {
        return OtpCheck::Expired;
    }
    if matches {
        return OtpCheck::Accepted;
    }
    let left = OTP_MAX_TRIES - state.tries - 1;
    if left == 0 {
        OtpCheck::Exhausted
    } else {
        OtpCheck::Wrong { left }
    }
}

/// Seconds to wait before another code may be sent, if any.
pub fn resend_wait(last_sent: Option<DateTime<Utc>>, gap: Duration, now: DateTime<Utc>) -> i64 {
    match last_sent {
        Some(at) if now < at + gap => (at + gap - now).num_seconds().max(1),
        _ => 0,
    }
}

/// Where a one-time code goes: the agency's record, never what the account typed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ContactChannel {
    Sms,
    Email,
}

/// The phone (preferred) or e-mail on record, masked for display.
pub fn pick_contact(phone: Option<&str>, email: Option<&str>) -> Option<(ContactChannel, String)> {
    let phone = phone.map(str::trim).filter(|p| !p.is_empty());
    let email = email.map(str::trim).filter(|e| e.contains('@'));
    match (phone, email) {
        (Some(p), _) => Some((ContactChannel::Sms, p.to_owned())),
        (None, Some(e)) => Some((ContactChannel::Email, e.to_owned())),
        (None, None) => None,
    }
}

/// `0987654321` → `*******321`; `bich@example.vn` → `b***@example.vn`.
pub fn mask_contact(channel: &ContactChannel, value: &str) -> String {
    match channel {
        ContactChannel::Sms => {
            let n = value.chars().count();
            let shown: String = value.chars().skip(n.saturating_sub(3)).collect();
            format!("{}{shown}", "*".repeat(n.saturating_sub(3)))
        }
        ContactChannel::Email => match value.split_once('@') {
            Some((local, domain)) => {
                let first: String = local.chars().take(1).collect();
                format!("{first}***@{domain}")
            }
            None => "***".to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: i64 = 10;
    const HER: i64 = 77;

    fn viewer(role: Role, identity: IdentityStatus) -> Viewer {
        Viewer {
            user_id: ME,
            role,
            agency_id: role.needs_agency().then_some(5),
            applicant_id: (role == Role::Citizen).then_some(HER),
            identity,
        }
    }

    fn dossier(submitted_by: i64, passed: bool, granted: bool) -> Holding {
        Holding {
            applicant_id: HER,
            submitted_by,
            agency_id: 5,
            passed_viewer_agency: passed,
            granted_to_viewer: granted,
            finished: false,
        }
    }

    /// Filed for `applicant`, open or finished.
    fn for_applicant(submitted_by: i64, applicant_id: i64, finished: bool) -> Holding {
        Holding {
            applicant_id,
            finished,
            ..dossier(submitted_by, false, false)
        }
    }

    #[test]
    fn a_representatives_reach_ends_with_the_dossier() {
        use IdentityStatus::{Unverified as U, Verified as V};
        const SOMEONE_ELSE: i64 = 99;
        let officer_filed = 1;
        // (identity, dossier, reaches)
        let cases = [
            // The citizen filed for someone else: while open only.
            (U, for_applicant(ME, SOMEONE_ELSE, false), true),
            (U, for_applicant(ME, SOMEONE_ELSE, true), false),
            (V, for_applicant(ME, SOMEONE_ELSE, false), true),
            (V, for_applicant(ME, SOMEONE_ELSE, true), false),
            // For itself: always, verified or not.
            (U, for_applicant(ME, HER, true), true),
            (V, for_applicant(ME, HER, true), true),
            // Filed for her by a representative: she sees it once verified.
            (V, for_applicant(officer_filed, HER, false), true),
            (V, for_applicant(officer_filed, HER, true), true),
            (U, for_applicant(officer_filed, HER, false), false),
        ];
        for (identity, d, want) in cases {
            let v = viewer(Role::Citizen, identity);
            assert_eq!(reach(v, d).is_some(), want, "{identity} {d:?}");
        }
    }

    #[test]
    fn who_reaches_which_dossier() {
        use IdentityStatus::{Unverified as U, Verified as V};
        let officer_filed = 1;
        let yes = |a| Some(Reach { as_applicant: a });
        let cases = [
            // A counter filing under her ID number.
            (Role::Citizen, U, dossier(officer_filed, false, false), None),
            (
                Role::Citizen,
                V,
                dossier(officer_filed, false, false),
                yes(true),
            ),
            // What the account filed itself.
            (Role::Citizen, U, dossier(ME, false, false), yes(true)),
            (Role::Citizen, V, dossier(ME, false, false), yes(true)),
            // The portal: its own filings, or read-only by grant.
            (
                Role::Integration,
                U,
                dossier(officer_filed, true, false),
                None,
            ),
            (
                Role::Integration,
                U,
                dossier(officer_filed, false, true),
                yes(false),
            ),
            (Role::Integration, U, dossier(ME, false, false), yes(true)),
            (
                Role::Officer,
                U,
                dossier(officer_filed, true, false),
                yes(false),
            ),
            (Role::Officer, U, dossier(officer_filed, false, true), None),
            (Role::Leader, U, dossier(ME, false, false), None),
            (
                Role::Admin,
                U,
                dossier(officer_filed, false, false),
                yes(false),
            ),
        ];
        for (role, identity, d, want) in cases {
            assert_eq!(
                reach(viewer(role, identity), d),
                want,
                "{role} {identity} {d:?}"
            );
        }
    }

    #[test]
    fn list_scope_agrees_with_reach() {
        use IdentityStatus::{Unverified as U, Verified as V};
        for role in Role::ALL {
            for identity in [U, V] {
                let v = viewer(*role, identity);
                let scope = list_scope(v);
                for (submitted_by, applicant_id, passed, granted, finished) in holdings() {
                    let d = Holding {
                        applicant_id,
                        finished,
                        ..dossier(submitted_by, passed, granted)
                    };
                    // What the persistence query says, written out.
                    let listed = match scope {
                        ListScope::All => true,
                        ListScope::Citizen {
                            user_id,
                            applicant_id,
                            verified,
                        } => {
                            let own = applicant_id == Some(d.applicant_id);
                            (verified && own) || (user_id == d.submitted_by && (own || !d.finished))
                        }
                        ListScope::Agency(_) => d.passed_viewer_agency,
                        ListScope::Integration(u) => u == d.submitted_by || d.granted_to_viewer,
                        ListScope::Nothing => false,
                    };
                    assert_eq!(listed, reach(v, d).is_some(), "{role} {identity} {d:?}");
                }
            }
        }
    }

    /// Every combination of (submitted by, applicant, passed, granted, finished).
    fn holdings() -> Vec<(i64, i64, bool, bool, bool)> {
        let mut out = Vec::new();
        for submitted_by in [1, ME] {
            for applicant in [HER, 99] {
                for passed in [false, true] {
                    for granted in [false, true] {
                        for finished in [false, true] {
                            out.push((submitted_by, applicant, passed, granted, finished));
                        }
                    }
                }
            }
        }
        out
    }

    #[test]
    fn views_by_agency() {
        let cases = [
            (Role::Officer, Some(5), Ok(StaffReach::Home(5))),
            (Role::Leader, Some(5), Ok(StaffReach::Home(5))),
            (Role::Officer, None, Err(NotStaff)),
            (Role::Admin, None, Ok(StaffReach::Anywhere)),
            (Role::Admin, Some(5), Ok(StaffReach::Anywhere)),
            (Role::Citizen, None, Ok(StaffReach::Anywhere)),
            (Role::Integration, Some(5), Ok(StaffReach::Anywhere)),
        ];
        for (role, own, want) in cases {
            assert_eq!(staff_reach(role, own), want, "{role} {own:?}");
        }
        let cases = [
            (Some(3), None, Ok(AgencyView::Home(3))),
            (Some(3), Some(3), Ok(AgencyView::Home(3))),
            (Some(3), Some(4), Err(NotStaff)),
            (None, Some(4), Ok(AgencyView::Chosen(4))),
            (None, None, Ok(AgencyView::All)),
        ];
        for (home, requested, want) in cases {
            assert_eq!(agency_view(home, requested), want, "{home:?} {requested:?}");
        }
    }

    #[test]
    fn names_match_without_accents_or_case() {
        let cases = [
            ("Trần Thị Bích", "TRAN THI BICH", true),
            ("Trần Thị Bích", "tran  thi   bich", true),
            ("Đặng Văn Đức", "dang van duc", true),
            ("Trần Thị Bích", "Trần Thị Bích Ngọc", false),
            ("Trần Thị Bích", "Kẻ Lạ Mặt", false),
            ("", "", false),
        ];
        for (a, b, want) in cases {
            assert_eq!(names_match(a, b), want, "{a} / {b}");
        }
    }

    #[test]
    fn otp_checks() {
        let now = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let fresh = OtpState {
            expires_at: now + Duration::minutes(10),
            tries: 0,
        };
        let cases = [
            (fresh.clone(), true, now, OtpCheck::Accepted),
            (fresh.clone(), false, now, OtpCheck::Wrong { left: 4 }),
            (
                OtpState {
                    tries: 3,
                    ..fresh.clone()
                },
                false,
                now,
                OtpCheck::Wrong { left: 1 },
            ),
            (
                OtpState {
                    tries: 4,
                    ..fresh.clone()
                },
                false,
                now,
                OtpCheck::Exhausted,
            ),
            // A dead code stays dead, even for the right code.
            (
                OtpState {
                    tries: 5,
                    ..fresh.clone()
                },
                true,
                now,
                OtpCheck::Exhausted,
            ),
            (
                fresh.clone(),
                true,
                now + Duration::minutes(10),
                OtpCheck::Expired,
            ),
            (fresh, false, now + Duration::minutes(11), OtpCheck::Expired),
        ];
        for (state, matches, at, want) in cases {
            assert_eq!(check_otp(&state, matches, at), want, "{state:?} {matches}");
        }
    }

    #[test]
    fn resend_gap_and_contacts() {
        let now = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let gap = Duration::seconds(60);
        assert_eq!(resend_wait(None, gap, now), 0);
        assert_eq!(resend_wait(Some(now - Duration::seconds(20)), gap, now), 40);
        assert_eq!(resend_wait(Some(now - Duration::seconds(60)), gap, now), 0);
        assert_eq!(
            pick_contact(Some("0987654321"), Some("b@x.vn")),
            Some((ContactChannel::Sms, "0987654321".to_owned()))
        );
        assert_eq!(
            pick_contact(None, Some("b@x.vn")),
            Some((ContactChannel::Email, "b@x.vn".to_owned()))
        );
        assert_eq!(pick_contact(Some(" "), None), None);
        assert_eq!(
            mask_contact(&ContactChannel::Sms, "0987654321"),
            "*******321"
        );
        assert_eq!(
            mask_contact(&ContactChannel::Email, "bich@example.vn"),
            "b***@example.vn"
        );
    }

    #[test]
    fn event_reach_follows_role_and_grants() {
        let all = |agencies: Option<Vec<i64>>, unassigned| {
            Ok(EventReach {
                agency_ids: agencies,
                with_unassigned: unassigned,
            })
        };
        let cases = [
            (Role::Admin, vec![], None, all(None, true)),
            (Role::Admin, vec![], Some(4), all(Some(vec![4]), false)),
            (
                Role::Integration,
                vec![1, 2],
                None,
                all(Some(vec![1, 2]), true),
            ),
            (Role::Integration, vec![], None, all(Some(vec![]), true)),
            (
                Role::Integration,
                vec![1, 2],
                Some(2),
                all(Some(vec![2]), false),
            ),
            (Role::Integration, vec![1, 2], Some(3), Err(NotStaff)),
            (Role::Officer, vec![], None, Err(NotStaff)),
            (Role::Leader, vec![], Some(1), Err(NotStaff)),
            (Role::Citizen, vec![], None, Err(NotStaff)),
        ];
        for (role, granted, requested, expected) in cases {
            assert_eq!(
                event_reach(role, &granted, requested),
                expected,
                "{role} {requested:?}"
            );
        }
    }
}
