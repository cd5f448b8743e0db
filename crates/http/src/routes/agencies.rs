//! Agencies: departments, divisions, People's Committees, with their electronic codes.

use actix_web::{HttpRequest, HttpResponse, get, patch, post, web};
use motcua_domain::Role;
use motcua_domain::agency::{Agency, AgencyChanges, NewAgency};
use motcua_domain::audit::{Change, EntityType};
use motcua_domain::numeric::count_i64;
use motcua_domain::rule::RuleCode;
use motcua_domain::validation::Problem;
use motcua_persistence::repo::{agencies, audit};
use motcua_persistence::write_tx;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{Json, Query};
use crate::routes::PageView;
use crate::routes::users::page_request;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AgencyQuery {
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

/// Every agency (public).
#[utoipa::path(operation_id = "list_agencies", tag = "agencies", params(AgencyQuery), responses((status = 200, body = PageView<Agency>)))]
#[get("/agencies")]
pub async fn list(
    state: web::Data<AppState>,
    query: Query<AgencyQuery>,
) -> ApiResult<HttpResponse> {
    let page = page_request(query.0.page, query.0.per_page)?;
    let all = state.db(|conn| Ok(agencies::list(conn)?)).await?;
    let total = count_i64(all.len());
    let items = all
        .into_iter()
        .skip(usize::try_from(page.offset()).unwrap_or(usize::MAX))
        .take(page.per_page as usize)
        .collect();
    Ok(HttpResponse::Ok().json(PageView {
        items,
        page: page.page,
        per_page: page.per_page,
        total,
    }))
}

/// One agency (public).
#[utoipa::path(operation_id = "get_agency", tag = "agencies", params(("id" = i64, Path)), responses((status = 200, body = Agency)))]
#[get("/agencies/{id}")]
pub async fn get(state: web::Data<AppState>, id: web::Path<i64>) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    Ok(HttpResponse::Ok().json(state.db(move |conn| Ok(agencies::by_id(conn, id)?)).await?))
}

/// Adds an agency (admin).
#[utoipa::path(operation_id = "create_agency", tag = "agencies", security(("bearer" = [])), request_body = NewAgency, responses((status = 201, body = Agency), (status = 409, body = crate::error::ProblemBody)))]
#[post("/agencies")]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: Json<NewAgency>,
) -> ApiResult<HttpResponse> {
    let now = state.clock.now();
    caller.require(&[Role::Admin])?;
    let actor = crate::routes::audit::actor(&req, &caller);
    let agency = body.0.normalized();
    agency.validate()?;
    let created = state
        .db(move |conn| {
            write_tx(conn, |conn| {
                if let Some(parent) = agency.parent_id {
                    agencies::by_id(conn, parent).map_err(|_| {
                        ApiError::field("parent_id", Problem::rule(RuleCode::UnknownAgency))
                    })?;
                }
                let created = agencies::insert(conn, &agency, now).map_err(|e| {
                    if e.is_conflict_on("code") {
                        ApiError::new(ErrorCode::AlreadyExists)
                    } else {
                        ApiError::from(e)
                    }
                })?;
                let after = serde_json::to_value(&created)
                    .map_err(|e| ApiError::internal("agency as json", e))?;
                audit::record(
                    conn,
                    &actor,
                    &Change::new(EntityType::Agency, created.id, "create", None, Some(after)),
                    now,
                )?;
                Ok(created)
            })
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            actix_web::http::header::LOCATION,
            format!("/api/v1/agencies/{}", created.id),
        ))
        .json(created))
}

/// Changes an agency (admin): whether it is a receiving point that takes in
/// dossiers for other agencies' procedures (Decree 118/2025).
#[utoipa::path(operation_id = "update_agency", tag = "agencies", security(("bearer" = [])), params(("id" = i64, Path)), request_body = AgencyChanges, responses((status = 200, body = Agency), (status = 404, body = crate::error::ProblemBody)))]
#[patch("/agencies/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<i64>,
    body: Json<AgencyChanges>,
) -> ApiResult<HttpResponse> {
    let now = state.clock.now();
    caller.require(&[Role::Admin])?;
    let actor = crate::routes::audit::actor(&req, &caller);
    let (id, changes) = (id.into_inner(), body.0);
    let updated = state
        .db(move |conn| {
            write_tx(conn, |conn| {
                let before = agencies::by_id(conn, id)?;
                let Some(receiving_point) = changes.receiving_point else {
                    return Ok(before);
                };
                let after = agencies::set_receiving_point(conn, id, receiving_point)?;
                if after != before {
                    let as_json = |a: &Agency| {
                        serde_json::to_value(a).map_err(|e| ApiError::internal("agency as json", e))
                    };
                    audit::record(
                        conn,
                        &actor,
                        &Change::new(
                            EntityType::Agency,
                            id,
                            "update",
                            Some(as_json(&before)?),
                            Some(as_json(&after)?),
                        ),
                        now,
                    )?;
                }
                Ok(after)
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(updated))
}
