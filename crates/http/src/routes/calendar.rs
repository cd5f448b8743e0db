//! The working calendar: public holidays and make-up working days.

use actix_web::{HttpResponse, delete, get, put, web};
use chrono::{Datelike, NaiveDate, Weekday};
use motcua_domain::Role;
use motcua_domain::calendar::{DayInfo, DayKind};
use motcua_domain::validation::Problem;
use motcua_persistence::repo::calendar::{self, DayOverride};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Query};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct YearQuery {
    #[param(example = 2026)]
    pub year: i32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CalendarYear {
    pub year: i32,
    /// Weekday holidays and weekend make-up working days; every other day follows Mon–Fri.
    pub days: Vec<DayOverride>,
    /// Working days in the year.
    pub working_days: u32,
}

fn parse_date(raw: &str) -> ApiResult<NaiveDate> {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| ApiError::not_found())
}

/// The exceptions of a year (public).
#[utoipa::path(operation_id = "list_calendar_days", tag = "calendar", params(YearQuery), responses((status = 200, body = CalendarYear)))]
#[get("/calendar/days")]
pub async fn year(state: web::Data<AppState>, query: Query<YearQuery>) -> ApiResult<HttpResponse> {
    let year = query.0.year;
    if !(2000..=2100).contains(&year) {
        return Err(ApiError::query_field(
            "year",
            Problem::OutOfRange {
                min: 2000,
                max: 2100,
            },
        ));
    }
    let hours = state.hours;
    let body = state
        .db(move |conn| {
            let days = calendar::year(conn, year)?;
            let cal = calendar::load(conn, hours)?;
            let (first, last) = (
                NaiveDate::from_ymd_opt(year, 1, 1),
                NaiveDate::from_ymd_opt(year, 12, 31),
            );
            let working_days = match (first, last) {
                (Some(first), Some(last)) => {
                    cal.working_days_between(first, last) + u32::from(cal.is_working_day(first))
                }
                _ => 0,
            };
            Ok(CalendarYear {
                year,
                days,
                working_days,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DayView {
    #[serde(flatten)]
    pub info: DayInfo,
    /// The holiday or make-up day's name, when the day is an exception.
    pub name: Option<String>,
}

/// One day: working or not, and why (public).
#[utoipa::path(operation_id = "get_calendar_day", tag = "calendar", params(("date" = String, Path, example = "2026-02-17")), responses((status = 200, body = DayView)))]
#[get("/calendar/days/{date}")]
pub async fn day(state: web::Data<AppState>, date: web::Path<String>) -> ApiResult<HttpResponse> {
    let date = parse_date(&date)?;
    let hours = state.hours;
    let view = state
        .db(move |conn| {
            let cal = calendar::load(conn, hours)?;
            let name = calendar::get(conn, date)?.map(|d| d.name);
            Ok(DayView {
                info: cal.describe(date),
                name,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DayRequest {
    /// `holiday` (a weekday off) or `working` (a weekend make-up working day).
    pub kind: DayKind,
    #[schema(example = "Tết Nguyên đán")]
    pub name: String,
}

/// Sets a day's exception (admin). Due dates computed from now on follow it;
/// dossiers already received keep their appointments.
#[utoipa::path(operation_id = "set_calendar_day", 
    tag = "calendar",
    security(("bearer" = [])),
    params(("date" = String, Path, example = "2027-02-08")),
    request_body = DayRequest,
    responses((status = 200, body = DayView))
)]
#[put("/calendar/days/{date}")]
pub async fn set(
    state: web::Data<AppState>,
    caller: Caller,
    date: web::Path<String>,
    body: Json<DayRequest>,
) -> ApiResult<HttpResponse> {
    caller.require(&[Role::Admin])?;
    let date = parse_date(&date)?;
    let DayRequest { kind, name } = body.0;
    let name = motcua_domain::text::nfc(&name);
    let mut errors = motcua_domain::validation::FieldErrors::new();
    errors.text("name", &name, 200);
    let weekend = matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
    match kind {
        DayKind::Holiday if weekend => errors.add("kind", Problem::rule("holiday_on_weekend")),
        DayKind::Working if !weekend => errors.add("kind", Problem::rule("working_on_weekday")),
        _ => {}
    }
    errors.into_result()?;
    let (hours, by) = (state.hours, caller.user_id);
    let view = state
        .db(move |conn| {
            calendar::put(
                conn,
                &DayOverride {
                    date,
                    kind,
                    name: name.clone(),
                },
                Some(by),
            )?;
            let cal = calendar::load(conn, hours)?;
            Ok(DayView {
                info: cal.describe(date),
                name: Some(name),
            })
        })
        .await?;
    tracing::info!(%date, kind = %kind, by = caller.user_id, "calendar day set");
    Ok(HttpResponse::Ok().json(view))
}

/// Removes a day's exception (admin): it follows Monday–Friday again.
#[utoipa::path(operation_id = "remove_calendar_day", tag = "calendar", security(("bearer" = [])), params(("date" = String, Path)), responses((status = 204, description = "Removed"), (status = 404, body = crate::error::ProblemBody)))]
#[delete("/calendar/days/{date}")]
pub async fn remove(
    state: web::Data<AppState>,
    caller: Caller,
    date: web::Path<String>,
) -> ApiResult<HttpResponse> {
    caller.require(&[Role::Admin])?;
    let date = parse_date(&date)?;
    let removed = state
        .db(move |conn| Ok(calendar::delete(conn, date)?))
        .await?;
    if !removed {
        return Err(ApiError::not_found());
    }
    tracing::info!(%date, by = caller.user_id, "calendar day removed");
    Ok(HttpResponse::NoContent().finish())
}
