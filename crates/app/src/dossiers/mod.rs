//! Dossier use cases: the domain's rules applied to stored dossiers, each in
//! one transaction with the trail line it produces. Persistence stores the
//! rows; what may happen, and in which order it is checked, is decided here.

use motcua_domain::Role;
use motcua_domain::access::{self, Holding, IdentityStatus, ListScope, Viewer};
use motcua_domain::dossier::{Action, Actor, Channel, Dossier, DossierStatus, ReturnBlocked};
use motcua_domain::rules::{PersonName, TextRule};
use motcua_domain::submission::{self, ApplicantIdentity};
use motcua_domain::validation::{FieldError, FieldErrors, Problem};

use motcua_persistence::repo::dossiers::{self, DossierScope};
use motcua_persistence::repo::{identity, integrations, users};
use motcua_persistence::{AnyConnection, DieselError, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Missing, or not the caller's to see.
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    #[error("stale version")]
    Stale { current: i32 },
    #[error("action not allowed from the current status")]
    NotAllowed {
        status: DossierStatus,
        allowed: Vec<Action>,
    },
    #[error("blocked: {0:?}")]
    Blocked(ReturnBlocked),
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    #[error("already rated")]
    AlreadyRated,
    /// The result version is no longer in force (superseded or revoked).
    #[error("result not in force: {0:?}")]
    NotInForce(motcua_domain::results::NotInForce),
}

impl From<DieselError> for WorkflowError {
    fn from(e: DieselError) -> Self {
        WorkflowError::Store(e.into())
    }
}

impl From<Vec<FieldError>> for WorkflowError {
    fn from(errors: Vec<FieldError>) -> Self {
        WorkflowError::Invalid(errors)
    }
}

pub type WorkflowResult<T> = Result<T, WorkflowError>;

fn invalid(field: &str, problem: Problem) -> WorkflowError {
    WorkflowError::Invalid(vec![FieldError {
        field: field.to_owned(),
        problem,
    }])
}

/// Who acts on dossiers: the signed-in account, narrowed to what the use
/// cases need (the HTTP layer's `Caller` carries more).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Principal {
    pub user_id: i64,
    pub role: Role,
    pub agency_id: Option<i64>,
}

pub use motcua_domain::handling::DEFAULT_SUPPLEMENT_DAYS;
pub use motcua_domain::submission::{ApplicantInput, DocumentInput};

#[derive(Debug, Clone, Default)]
pub struct Submission {
    pub procedure_code: String,
    pub agency_id: Option<i64>,
    pub channel: Option<Channel>,
    pub result_channel: Option<Channel>,
    pub applicant: Option<ApplicantInput>,
    pub documents: Vec<DocumentInput>,
    pub fee_codes: Vec<String>,
    pub note: Option<String>,
    /// The declaration's data, checked against the procedure's e-form.
    pub form_data: Option<serde_json::Value>,
    /// Who files on behalf of the applicant, with the authorisation document.
    pub representative: Option<motcua_domain::representation::RepresentativeInput>,
    /// Whom tracking and notifications reach (default: the representative, if any).
    pub contact: Option<motcua_domain::representation::Contact>,
}

/// The caller as the access rule sees it: a citizen's applicant record and
/// whether it has proven it is that person.
pub fn viewer(conn: &mut AnyConnection, caller: Principal) -> WorkflowResult<Viewer> {
    let (applicant_id, identity) = if caller.role == Role::Citizen {
        let user = users::by_id(conn, caller.user_id)?;
        (
            user.applicant_id,
            identity::of(conn, caller.user_id)?.status,
        )
    } else {
        (None, IdentityStatus::Unverified)
    };
    Ok(Viewer {
        user_id: caller.user_id,
        role: caller.role,
        agency_id: caller.agency_id,
        applicant_id,
        identity,
    })
}

/// How a dossier is held, as far as the viewer's reach goes.
fn holding(conn: &mut AnyConnection, viewer: Viewer, dossier: &Dossier) -> WorkflowResult<Holding> {
    let passed_viewer_agency = match (viewer.role, viewer.agency_id) {
        (Role::Officer | Role::Leader, Some(agency)) => {
            dossiers::visible_to_agency(conn, dossier.id, agency)?
        }
        _ => false,
    };
    let granted_to_viewer = viewer.role == Role::Integration
        && integrations::is_granted(conn, viewer.user_id, dossier.agency.id)?;
    Ok(Holding {
        applicant_id: dossier.applicant.id,
        submitted_by: dossier.submitted_by,
        agency_id: dossier.agency.id,
        passed_viewer_agency,
        granted_to_viewer,
        finished: dossier.status.is_finished(),
    })
}

/// A dossier as read in one statement with how the caller's reach applies
/// to it (`dossiers::for_action`: whether it passed through the caller's
/// agency, its rating, whether it carries form data, the calendar's
/// generation).
pub struct Held {
    pub viewer: Viewer,
    pub read: dossiers::ForAction,
    pub holding: Holding,
}

/// Reads the dossier `code` for the caller as [`Held`]; `NotFound` when it
/// does not exist (whether the caller may see it is [`actor_with`]'s to say).
pub fn held(conn: &mut AnyConnection, caller: Principal, code: &str) -> WorkflowResult<Held> {
    let viewer = viewer(conn, caller)?;
    let staff_agency = match (viewer.role, viewer.agency_id) {
        (Role::Officer | Role::Leader, Some(agency)) => Some(agency),
        _ => None,
    };
    let read = dossiers::for_action(conn, code, staff_agency).map_err(|e| match e {
        StoreError::NotFound => WorkflowError::NotFound,
        other => other.into(),
    })?;
    let dossier = &read.dossier;
    let holding = Holding {
        applicant_id: dossier.applicant.id,
        submitted_by: dossier.submitted_by,
        agency_id: dossier.agency.id,
        passed_viewer_agency: read.passed_agency,
        granted_to_viewer: viewer.role == Role::Integration
            && integrations::is_granted(conn, viewer.user_id, dossier.agency.id)?,
        finished: dossier.status.is_finished(),
    };
    Ok(Held {
        viewer,
        read,
        holding,
    })
}

/// A dossier the caller may see, for its detail: [`held`] and whom the
/// caller acts as (the rule of [`visible`], in one statement fewer or more).
pub fn visible_held(
    conn: &mut AnyConnection,
    caller: Principal,
    code: &str,
) -> WorkflowResult<(dossiers::ForAction, Actor)> {
    let held = held(conn, caller, code)?;
    let actor = actor_with(caller, held.viewer, held.holding, &held.read.dossier)?;
    Ok((held.read, actor))
}

/// Whom a caller acts as on a dossier, or `NotFound` when it is not theirs to
/// see: the domain's [`access::reach`] decides, for every route.
fn actor_for(
    conn: &mut AnyConnection,
    caller: Principal,
    dossier: &Dossier,
) -> WorkflowResult<Actor> {
    let viewer = viewer(conn, caller)?;
    let holding = holding(conn, viewer, dossier)?;
    actor_with(caller, viewer, holding, dossier)
}

/// Whom a caller acts as on each of a page of dossiers, read in at most three
/// statements whatever the page size (the same rule as [`visible`]).
pub fn actors(
    conn: &mut AnyConnection,
    caller: Principal,
    page: &[Dossier],
) -> WorkflowResult<Vec<Actor>> {
    let viewer = viewer(conn, caller)?;
    let passed = match (viewer.role, viewer.agency_id) {
        (Role::Officer | Role::Leader, Some(agency)) if !page.is_empty() => {
            let ids: Vec<i64> = page.iter().map(|d| d.id).collect();
            dossiers::passed_agency(conn, &ids, agency)?
        }
        _ => Default::default(),
    };
    let granted: Vec<i64> = if viewer.role == Role::Integration && !page.is_empty() {
        integrations::grants_of(conn, viewer.user_id)?
            .into_iter()
            .map(|g| g.agency_id)
            .collect()
    } else {
        Vec::new()
    };
    page.iter()
        .map(|dossier| {
            let holding = Holding {
                applicant_id: dossier.applicant.id,
                submitted_by: dossier.submitted_by,
                agency_id: dossier.agency.id,
                passed_viewer_agency: passed.contains(&dossier.id),
                granted_to_viewer: granted.contains(&dossier.agency.id),
                finished: dossier.status.is_finished(),
            };
            actor_with(caller, viewer, holding, dossier)
        })
        .collect()
}

fn actor_with(
    caller: Principal,
    viewer: Viewer,
    holding: Holding,
    dossier: &Dossier,
) -> WorkflowResult<Actor> {
    let reach = access::reach(viewer, holding).ok_or(WorkflowError::NotFound)?;
    let mut actor = Actor {
        role: caller.role,
        is_applicant: reach.as_applicant,
        at_receiving_agency: false,
        at_handling_agency: false,
    };
    if let (Role::Officer | Role::Leader, Some(agency)) = (caller.role, caller.agency_id) {
        // The receiving point that took it in receives, refuses and returns too.
        actor.at_receiving_agency = agency == dossier.agency.id
            || dossier
                .received_at_agency
                .as_ref()
                .is_some_and(|point| point.id == agency);
        // The division a dossier is routed to handles it with its agency.
        actor.at_handling_agency =
            agency == dossier.handling_agency.id || Some(agency) == dossier.assigned_unit_id;
    }
    Ok(actor)
}

/// Which dossiers a caller's lists show (the same rule as [`visible`]);
/// `None` when nothing.
pub fn scope(conn: &mut AnyConnection, caller: Principal) -> WorkflowResult<Option<DossierScope>> {
    Ok(match access::list_scope(viewer(conn, caller)?) {
        ListScope::All => Some(DossierScope::All),
        ListScope::Citizen {
            user_id,
            applicant_id,
            verified,
        } => Some(DossierScope::Citizen {
            user: user_id,
            applicant: applicant_id,
            verified,
        }),
        ListScope::Agency(a) => Some(DossierScope::Agency(a)),
        ListScope::Integration(u) => Some(DossierScope::Integration(u)),
        ListScope::Nothing => None,
    })
}

/// A dossier the caller may see.
pub fn visible(
    conn: &mut AnyConnection,
    caller: Principal,
    code: &str,
) -> WorkflowResult<(Dossier, Actor)> {
    let dossier = dossiers::by_code(conn, code).map_err(|e| match e {
        StoreError::NotFound => WorkflowError::NotFound,
        other => other.into(),
    })?;
    let actor = actor_for(conn, caller, &dossier)?;
    Ok((dossier, actor))
}

/// The applicant checks of the domain, and the length limit of a name.
fn check_applicant(input: &ApplicantInput, errors: &mut FieldErrors) -> Option<ApplicantIdentity> {
    let identity = submission::check_applicant(input, errors);
    let length = u64::try_from(input.full_name.trim().chars().count()).unwrap_or(u64::MAX);
    if length > PersonName::MAX {
        errors.add(
            "applicant.full_name",
            Problem::TooLong {
                max: PersonName::MAX,
            },
        );
    }
    identity
}

mod act;
mod attachments;
mod rating;
mod submit;

pub use act::*;
pub use attachments::*;
pub use rating::*;
pub use submit::*;
