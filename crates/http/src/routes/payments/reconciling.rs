//! Overpayments, the daily reconciliation with the gateway's records, and
//! the payment jobs run on demand.

use actix_web::{HttpResponse, get, post, web};
use chrono::NaiveDate;
use motcua_domain::Role;
use motcua_persistence::repo::payments::{
    self as repo, Overpayment, ReconciliationItem, ReconciliationRun,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::Query;
use crate::state::AppState;
use motcua_app::payments::jobs::{self, JobReport};

#[derive(Debug, Serialize, ToSchema)]
pub struct DiscrepancyList {
    /// Payments that brought money beyond their dossier's fee; unresolved first.
    pub items: Vec<Overpayment>,
    /// How many still hold money not given back, and how much.
    pub unresolved: i64,
    pub unresolved_vnd: i64,
}

/// Overpaid dossiers now (admins, leaders): every successful payment whose
/// money was not all counted toward its dossier's fee, with its refund.
/// Read from the payments at each request, not from the last reconciliation.
#[utoipa::path(operation_id = "list_payment_discrepancies", tag = "payments", security(("bearer" = [])), responses((status = 200, body = DiscrepancyList), (status = 403, body = crate::error::ProblemBody)))]
#[get("/payments/discrepancies")]
pub async fn discrepancies(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    caller.require(&[Role::Admin, Role::Leader])?;
    let items = state.db(|conn| Ok(repo::overpayments(conn)?)).await?;
    let open: Vec<&Overpayment> = items.iter().filter(|o| o.unresolved_vnd > 0).collect();
    let found = DiscrepancyList {
        unresolved: i64::try_from(open.len()).unwrap_or(i64::MAX),
        unresolved_vnd: open.iter().map(|o| o.unresolved_vnd).sum(),
        items,
    };
    Ok(HttpResponse::Ok().json(found))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DayQuery {
    /// The local day, `YYYY-MM-DD`.
    pub date: NaiveDate,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReconciliationView {
    pub run: ReconciliationRun,
    /// Items that did not match: `missing`, `mismatch` or `overpaid`.
    pub discrepancies: Vec<ReconciliationItem>,
}

fn reconciliation_view(
    run: ReconciliationRun,
    items: Vec<ReconciliationItem>,
) -> ReconciliationView {
    ReconciliationView {
        run,
        discrepancies: items
            .into_iter()
            .filter(|i| i.result != "matched")
            .collect(),
    }
}

/// A day's reconciliation: our online payments against the gateway's records.
#[utoipa::path(operation_id = "get_reconciliation", tag = "payments", security(("bearer" = [])), params(DayQuery), responses((status = 200, body = ReconciliationView), (status = 404, description = "Not reconciled yet", body = crate::error::ProblemBody)))]
#[get("/payments/reconciliation")]
pub async fn reconciliation(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<DayQuery>,
) -> ApiResult<HttpResponse> {
    caller.require(&[Role::Admin, Role::Leader])?;
    let day = query.0.date;
    let found = state
        .db(move |conn| Ok(repo::reconciliation(conn, day)?))
        .await?;
    let (run, items) = found.ok_or_else(|| {
        ApiError::not_found().detail(
            "Ngày này chưa được đối soát.",
            "This day has not been reconciled yet.",
        )
    })?;
    Ok(HttpResponse::Ok().json(reconciliation_view(run, items)))
}

/// Reconciles a day now (admin); the jobs do yesterday's every day.
#[utoipa::path(operation_id = "run_reconciliation", tag = "payments", security(("bearer" = [])), params(DayQuery), responses((status = 200, body = ReconciliationView), (status = 502, body = crate::error::ProblemBody)))]
#[post("/payments/reconciliation")]
pub async fn reconcile(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<DayQuery>,
) -> ApiResult<HttpResponse> {
    caller.require(&[Role::Admin])?;
    let day = query.0.date;
    let (pool, gateway) = (state.pool.clone(), state.gateway.clone());
    let now = state.clock.now();
    AppState::cpu(move || jobs::reconcile(&pool, gateway.as_ref(), day, now))
        .await?
        .map_err(|e| ApiError::new(ErrorCode::GatewayUnavailable).detail_same(e))?;
    let (run, items) = state
        .db(move |conn| Ok(repo::reconciliation(conn, day)?))
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(reconciliation_view(run, items)))
}

/// Runs the payment jobs now (admin): expiry of unfinished attempts and
/// status queries of pending ones. They also run on their own.
#[utoipa::path(operation_id = "run_payment_jobs", tag = "payments", security(("bearer" = [])), responses((status = 200, body = JobReport)))]
#[post("/payments/jobs/run")]
pub async fn run_jobs(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    caller.require(&[Role::Admin])?;
    let app = state.app.clone();
    let report = AppState::cpu(move || app.payment_jobs()).await?;
    Ok(HttpResponse::Ok().json(report))
}
