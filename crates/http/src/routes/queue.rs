//! The counter queue: a kiosk (or an officer) takes a number for an agency
//! and sector, an officer calls the next one to a counter and completes it.
//! Numbers restart every day per agency.

use actix_web::{HttpResponse, get, post, web};
use motcua_domain::Role;
use motcua_domain::access::{self, AgencyView, StaffReach};
use motcua_domain::queue::Ticket;
use motcua_domain::rule::RuleCode;
use motcua_domain::validation::Problem;
use motcua_persistence::StoreError;
use motcua_persistence::repo::queue::{self, Completion};
use motcua_persistence::repo::{agencies, procedures};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::Json;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TakeTicket {
    /// The agency whose counter serves the ticket (staff: their own, the default).
    pub agency_id: Option<i64>,
    /// Sector code from `/sectors`, when counters are split by sector.
    #[schema(example = "du-lich")]
    pub sector: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TicketView {
    #[serde(flatten)]
    pub ticket: Ticket,
    /// Tickets of the same day still waiting before this one.
    pub waiting_ahead: i64,
}

/// The agency staff act for: their own (a division acts for its department).
async fn staff_agency(state: &AppState, caller: &Caller, requested: Option<i64>) -> ApiResult<i64> {
    let own = caller.agency_id;
    let role = caller.role;
    state
        .db(move |conn| {
            let home = match access::staff_reach(role, own).map_err(|_| ApiError::forbidden())? {
                StaffReach::Home(id) => Some(agencies::home_agency(conn, id)?.id),
                StaffReach::Anywhere => None,
            };
            match access::agency_view(home, requested).map_err(|_| ApiError::forbidden())? {
                AgencyView::Home(home) => Ok(home),
                AgencyView::Chosen(id) => match agencies::by_id(conn, id) {
                    Ok(a) => Ok(a.id),
                    Err(StoreError::NotFound) => Err(ApiError::field(
                        "agency_id",
                        Problem::rule(RuleCode::UnknownAgency),
                    )),
                    Err(e) => Err(e.into()),
                },
                AgencyView::All => Err(ApiError::field("agency_id", Problem::Required)),
            }
        })
        .await
}

fn clean(text: Option<&str>) -> Option<String> {
    text.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Takes a number (kiosks and the portal as integration accounts, officers, admins).
#[utoipa::path(operation_id = "take_queue_ticket", 
    tag = "queue",
    security(("bearer" = [])),
    request_body = TakeTicket,
    responses((status = 201, body = TicketView))
)]
#[post("/queue/tickets")]
pub async fn take(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<TakeTicket>,
) -> ApiResult<HttpResponse> {
    caller.require(&[Role::Integration, Role::Officer, Role::Leader, Role::Admin])?;
    let agency_id = staff_agency(&state, &caller, body.0.agency_id).await?;
    let sector = clean(body.0.sector.as_deref());
    let now = state.clock.now();
    let view = state
        .db(move |conn| {
            if let Some(code) = &sector
                && !procedures::sector_exists(conn, code)?
            {
                return Err(ApiError::field(
                    "sector",
                    Problem::rule(RuleCode::UnknownSector),
                ));
            }
            let ticket = queue::take(conn, agency_id, sector.as_deref(), now)?;
            let waiting_ahead = queue::waiting_ahead(conn, &ticket)?;
            Ok(TicketView {
                ticket,
                waiting_ahead,
            })
        })
        .await?;
    tracing::info!(
        ticket = view.ticket.id,
        agency = agency_id,
        number = view.ticket.number,
        "queue ticket taken"
    );
    Ok(HttpResponse::Created()
        .insert_header((
            actix_web::http::header::LOCATION,
            format!("/api/v1/queue/tickets/{}", view.ticket.id),
        ))
        .json(view))
}

/// A ticket and how many are still ahead of it (public: tickets carry no personal data).
#[utoipa::path(operation_id = "get_queue_ticket", tag = "queue", params(("id" = i64, Path)), responses((status = 200, body = TicketView), (status = 404, body = crate::error::ProblemBody)))]
#[get("/queue/tickets/{id}")]
pub async fn get(state: web::Data<AppState>, id: web::Path<i64>) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let view = state
        .db(move |conn| {
            let ticket = queue::get(conn, id)?;
            let waiting_ahead = queue::waiting_ahead(conn, &ticket)?;
            Ok(TicketView {
                ticket,
                waiting_ahead,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallNext {
    /// Only tickets of this sector.
    pub sector: Option<String>,
    /// Admins only: the agency whose queue to call from.
    pub agency_id: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Called {
    /// The ticket now called to the counter; `null` when nobody is waiting.
    pub ticket: Option<Ticket>,
    /// Tickets still waiting after this call.
    pub waiting: i64,
}

fn counter_name(raw: &str) -> ApiResult<String> {
    let name = raw.trim();
    let ok = !name.is_empty()
        && name.chars().count() <= 32
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.'));
    if ok {
        Ok(name.to_owned())
    } else {
        Err(ApiError::field(
            "counter",
            Problem::format("1–32 letters, digits, spaces, - _ ."),
        ))
    }
}

/// Calls the longest-waiting ticket of today to the counter (officers), and
/// completes the ticket the counter was serving. Two counters calling at
/// once never get the same ticket.
#[utoipa::path(operation_id = "call_next_ticket", 
    tag = "queue",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The counter, e.g. `3`")),
    request_body(content = CallNext, description = "Optional"),
    responses((status = 200, body = Called))
)]
#[post("/queue/counters/{id}/call-next")]
pub async fn call_next(
    state: web::Data<AppState>,
    caller: Caller,
    counter: web::Path<String>,
    body: Option<Json<CallNext>>,
) -> ApiResult<HttpResponse> {
    caller.require(&[Role::Officer, Role::Leader, Role::Admin])?;
    let counter = counter_name(&counter)?;
    let input = body.map(|b| b.0).unwrap_or_default();
    let agency_id = staff_agency(&state, &caller, input.agency_id).await?;
    let sector = clean(input.sector.as_deref());
    let by = caller.user_id;
    let now = state.clock.now();
    let called = state
        .db(move |conn| {
            let ticket = queue::call_next(conn, agency_id, &counter, sector.as_deref(), by, now)?;
            let today = motcua_domain::local_time::date(now);
            let waiting = queue::waiting(conn, agency_id, today, None)?;
            Ok(Called { ticket, waiting })
        })
        .await?;
    Ok(HttpResponse::Ok().json(called))
}

/// Marks a called ticket served (officers of its agency).
#[utoipa::path(operation_id = "complete_queue_ticket", 
    tag = "queue",
    security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = Ticket), (status = 409, description = "Not called (waiting or already completed)", body = crate::error::ProblemBody))
)]
#[post("/queue/tickets/{id}/complete")]
pub async fn complete(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    caller.require(&[Role::Officer, Role::Leader, Role::Admin])?;
    let id = id.into_inner();
    let ticket = state.db(move |conn| Ok(queue::get(conn, id)?)).await?;
    staff_agency(&state, &caller, Some(ticket.agency_id)).await?;
    let now = state.clock.now();
    let done = state
        .db(move |conn| Ok(queue::complete(conn, id, now)?))
        .await?;
    match done {
        Completion::Done(ticket) => Ok(HttpResponse::Ok().json(ticket)),
        Completion::NotCalled(ticket) => Err(ApiError::new(ErrorCode::Conflict).detail(
            format!("Số {} chưa được gọi hoặc đã hoàn thành.", ticket.number),
            format!(
                "Ticket {} is not called, or is completed already.",
                ticket.number
            ),
        )),
    }
}
