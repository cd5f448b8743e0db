//! National Public Service Portal synchronisation (docs/portal.md): each
//! dossier's sync status for staff, the failures and a resync for admins,
//! a round run on demand, and the filings that come in from the portal
//! (integration accounts), idempotent by portal code.

use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, NaiveDate, Utc};
use motcua_app::dossiers::Submission;
use motcua_domain::Role;
use motcua_domain::dossier::DossierStatus;
use motcua_domain::portal::{self, SyncStatus};
use motcua_domain::validation::Problem;
use motcua_persistence::repo::portal::{self as store, SyncState};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Query};
use crate::routes::dossiers::{SubmitRequest, who};
use crate::state::AppState;

/// Registers the portal operations (under `/api/v1`).
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(dossier_sync)
        .service(list_sync)
        .service(resync)
        .service(run)
        .service(file);
}

/// Rows shown by the list.
const LISTED: i64 = 500;

/// Where a dossier's synchronisation with the national portal stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct PortalSyncView {
    pub dossier_code: String,
    /// `pending` (a change waits to be pushed), `synced`, or `failed` (see `last_error`).
    pub status: SyncStatus,
    /// The last status code (1–10) the portal accepted.
    pub pushed_code: Option<u8>,
    /// The dossier's status code now.
    pub current_code: Option<u8>,
    /// Failed attempts for the current change.
    pub attempts: u32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Why the last push failed (the portal's error code and message, or the transport's).
    pub last_error: Option<String>,
    /// The oldest change not yet pushed (the last one pushed, once synced).
    pub changed_at: DateTime<Utc>,
    pub synced_at: Option<DateTime<Utc>>,
    /// Changes that reached the portal later than the rule's time (Decision 766).
    pub late_changes: u32,
}

impl PortalSyncView {
    fn of(code: String, s: SyncState, current_code: Option<u8>) -> Self {
        Self {
            dossier_code: code,
            status: s.status,
            pushed_code: s.pushed_code,
            current_code,
            attempts: s.attempts,
            next_attempt_at: s.next_attempt_at,
            last_error: s.last_error,
            changed_at: s.changed_at,
            synced_at: s.synced_at,
            late_changes: s.late_changes,
        }
    }
}

/// A dossier's portal sync status: staff who may see the dossier.
#[utoipa::path(operation_id = "get_dossier_portal_sync", tag = "portal", security(("bearer" = [])), params(("code" = String, Path)),
    responses((status = 200, body = PortalSyncView), (status = 403, body = crate::error::ProblemBody), (status = 404, description = "No such dossier, or the portal never had to hear of it", body = crate::error::ProblemBody)))]
#[get("/dossiers/{code}/portal-sync")]
pub async fn dossier_sync(
    state: web::Data<AppState>,
    caller: Caller,
    code: web::Path<String>,
) -> ApiResult<HttpResponse> {
    if !caller.role.is_staff() {
        return Err(ApiError::forbidden());
    }
    let (me, code) = (who(&caller), code.into_inner());
    let view = state
        .db(move |conn| {
            let (dossier, _) = motcua_app::dossiers::visible(conn, me, &code)?;
            let found = store::of_dossier(conn, dossier.id)?.ok_or_else(ApiError::not_found)?;
            Ok(PortalSyncView::of(
                dossier.code.clone(),
                found,
                Some(dossier.portal_status()),
            ))
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SyncQuery {
    /// Only this status, e.g. `failed`.
    pub status: Option<SyncStatus>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PortalSyncList {
    /// Oldest change first, at most 500.
    pub items: Vec<PortalSyncView>,
}

/// Dossiers' sync states (e.g. `?status=failed`): admins all, officers and
/// leaders their agency's.
#[utoipa::path(operation_id = "list_portal_sync", tag = "portal", security(("bearer" = [])), params(SyncQuery),
    responses((status = 200, body = PortalSyncList), (status = 403, body = crate::error::ProblemBody)))]
#[get("/portal/sync")]
pub async fn list_sync(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<SyncQuery>,
) -> ApiResult<HttpResponse> {
    if !caller.role.is_staff() {
        return Err(ApiError::forbidden());
    }
    let agency = if caller.is(Role::Admin) {
        None
    } else {
        Some(caller.agency_id.ok_or_else(ApiError::forbidden)?)
    };
    let status = query.0.status;
    let rows = state
        .db(move |conn| Ok(store::list(conn, status, agency, LISTED)?))
        .await?;
    Ok(HttpResponse::Ok().json(PortalSyncList {
        items: rows
            .into_iter()
            .map(|(code, s)| PortalSyncView::of(code, s, None))
            .collect(),
    }))
}

/// A period to push again (local days, both included).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResyncRequest {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResyncAnswer {
    /// Dossiers filed in the period, now pending.
    pub marked: usize,
}

/// Pushes every dossier filed in a period again (admins): each becomes
/// pending and the next rounds send its current status.
#[utoipa::path(operation_id = "resync_portal", tag = "portal", security(("bearer" = [])), request_body = ResyncRequest,
    responses((status = 200, body = ResyncAnswer), (status = 403, body = crate::error::ProblemBody), (status = 422, body = crate::error::ProblemBody)))]
#[post("/portal/resync")]
pub async fn resync(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<ResyncRequest>,
) -> ApiResult<HttpResponse> {
    caller.require(&[Role::Admin])?;
    let ResyncRequest { from, to } = body.0;
    if to < from || (to - from).num_days() > 366 {
        return Err(ApiError::field(
            "to",
            Problem::format("a day on or after `from`, at most a year later"),
        ));
    }
    let app = state.app.clone();
    let marked = crate::state::AppState::cpu(move || app.portal_resync(from, to))
        .await?
        .map_err(|e| ApiError::internal("portal resync", e))?;
    Ok(HttpResponse::Ok().json(ResyncAnswer { marked }))
}

/// What a round did.
#[derive(Debug, Serialize, ToSchema)]
pub struct PortalRoundView {
    /// Whether a portal is configured (`portal.url`); nothing is pushed otherwise.
    pub configured: bool,
    /// Dossier changes read from the outbox.
    pub changes: usize,
    pub synced: usize,
    pub failed: usize,
}

/// Runs a synchronisation round now (admins), as the worker does every
/// `portal.interval_ms`.
#[utoipa::path(operation_id = "run_portal_sync", tag = "portal", security(("bearer" = [])),
    responses((status = 200, body = PortalRoundView), (status = 403, body = crate::error::ProblemBody)))]
#[post("/portal/sync/run")]
pub async fn run(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    caller.require(&[Role::Admin])?;
    let app = state.app.clone();
    let configured = app.portal_client.is_some();
    let round = crate::state::AppState::cpu(move || app.portal_round()).await?;
    Ok(HttpResponse::Ok().json(PortalRoundView {
        configured,
        changes: round.changes,
        synced: round.synced,
        failed: round.failed,
    }))
}

/// A dossier filed on the national portal.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PortalFilingRequest {
    /// The portal's code of the filing: 1–64 of `[A-Za-z0-9._-]`, kept with the dossier.
    #[schema(example = "G22.99-261123-000123")]
    pub portal_code: String,
    /// The filing, as `POST /dossiers` takes it (the channel is `online`).
    pub dossier: SubmitRequest,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PortalFilingView {
    pub portal_code: String,
    /// False when the code had been filed before: the dossier it became.
    pub created: bool,
    pub dossier_code: String,
    pub status: DossierStatus,
    /// The portal's status code of the dossier.
    pub portal_status: u8,
}

/// Accepts a dossier filed on the national portal (integration accounts),
/// online on behalf of its applicant, once per portal code: 201 the first
/// time, 200 with the same dossier for the same code again.
#[utoipa::path(operation_id = "file_portal_dossier", tag = "portal", security(("bearer" = [])), request_body = PortalFilingRequest,
    responses((status = 201, body = PortalFilingView), (status = 200, description = "Filed before under this portal code", body = PortalFilingView),
        (status = 403, body = crate::error::ProblemBody), (status = 422, body = crate::error::ProblemBody)))]
#[post("/portal/dossiers")]
pub async fn file(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<PortalFilingRequest>,
) -> ApiResult<HttpResponse> {
    caller.require(&[Role::Integration])?;
    let PortalFilingRequest {
        portal_code,
        dossier: request,
    } = body.0;
    let portal_code = portal_code.trim().to_owned();
    if !portal::is_valid_portal_code(&portal_code) {
        return Err(ApiError::field(
            "portal_code",
            Problem::format("1–64 of [A-Za-z0-9._-]"),
        ));
    }
    let submission = Submission::from(request);
    let (me, clock) = (who(&caller), state.clock.clone());
    let code = portal_code.clone();
    let filing = state
        .db(move |conn| {
            motcua_app::portal::file_from_portal(conn, me, &code, submission, clock.now())
                .map_err(ApiError::from)
        })
        .await?;
    let view = PortalFilingView {
        portal_code,
        created: filing.created,
        dossier_code: filing.dossier.code.clone(),
        status: filing.dossier.status,
        portal_status: filing.dossier.portal_status(),
    };
    Ok(if filing.created {
        HttpResponse::Created().json(view)
    } else {
        HttpResponse::Ok().json(view)
    })
}
