//! The working calendar: public holidays and make-up working days.

use actix_web::{HttpRequest, HttpResponse, delete, get, post, put, web};
use chrono::{DateTime, Datelike, NaiveDate, Utc, Weekday};
use motcua_domain::Role;
use motcua_domain::audit::{Change, EntityType};
use motcua_domain::calendar::{DayInfo, DayKind, WorkingCalendar};
use motcua_domain::procedure::TimeUnit;
use motcua_domain::rule::RuleCode;
use motcua_domain::rules::{RangeRule, ShortText, TextRule, YearNumber};
use motcua_domain::validation::Problem;
use motcua_persistence::repo::audit;
use motcua_persistence::repo::calendar::{self, DayOverride};
use motcua_persistence::repo::procedures;
use motcua_persistence::write_tx;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{Json, Query};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct YearQuery {
    #[param(value_type = motcua_domain::rules::YearNumber, example = 2026)]
    pub year: i32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CalendarYear {
    pub year: i32,
    /// No official notice is confirmed for the year: besides any entered day,
    /// the Labour Code's holidays are generated and may still move.
    pub provisional: bool,
    /// Weekday holidays and weekend make-up working days; every other day follows Mon–Fri.
    pub days: Vec<CalendarDay>,
    /// Working days in the year.
    pub working_days: u32,
}

/// A day off or a make-up working day of a year.
#[derive(Debug, Serialize, ToSchema)]
pub struct CalendarDay {
    pub date: NaiveDate,
    pub kind: DayKind,
    pub name: String,
    /// Generated from the Labour Code for a provisional year, not entered.
    pub generated: bool,
}

/// The Labour Code's days of a provisional `year` that no entered day
/// overrides, as they would be entered.
fn generated_days(cal: &WorkingCalendar, of_year: i32) -> Vec<DayOverride> {
    motcua_domain::holidays::statutory_days(of_year)
        .into_iter()
        .filter_map(|statutory| {
            cal.provisional_name(statutory.date)
                .map(|name| DayOverride {
                    date: statutory.date,
                    kind: DayKind::Holiday,
                    name: name.to_owned(),
                })
        })
        .collect()
}

fn day_json(exception: &DayOverride) -> ApiResult<serde_json::Value> {
    serde_json::to_value(exception).map_err(|e| ApiError::internal("calendar day as json", e))
}

fn parse_date(raw: &str) -> ApiResult<NaiveDate> {
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| ApiError::not_found())
}

/// The exceptions of a year (public).
#[utoipa::path(operation_id = "list_calendar_days", tag = "calendar", params(YearQuery), responses((status = 200, body = CalendarYear)))]
#[get("/calendar/days")]
pub async fn year(state: web::Data<AppState>, query: Query<YearQuery>) -> ApiResult<HttpResponse> {
    let year = query.0.year;
    if !YearNumber::contains(year.into()) {
        return Err(ApiError::query_field("year", YearNumber::problem()));
    }
    let hours = state.hours;
    let (first, last) = (
        NaiveDate::from_ymd_opt(year, 1, 1),
        NaiveDate::from_ymd_opt(year, 12, 31),
    );
    let body = state
        .db(move |conn| {
            let cal = calendar::load(conn, hours)?;
            let generated = generated_days(&cal, year);
            let mut days: Vec<CalendarDay> = calendar::year(conn, year)?
                .into_iter()
                .map(|d| (d, false))
                .chain(generated.into_iter().map(|d| (d, true)))
                .map(|(d, generated)| CalendarDay {
                    date: d.date,
                    kind: d.kind,
                    name: d.name,
                    generated,
                })
                .collect();
            days.sort_by_key(|d| d.date);
            let provisional = first.is_some_and(|jan_first| cal.is_provisional(jan_first));
            let working_days = match (first, last) {
                (Some(first), Some(last)) => {
                    cal.working_days_between(first, last) + u32::from(cal.is_working_day(first))
                }
                _ => 0,
            };
            Ok(CalendarYear {
                year,
                provisional,
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
            let name = match calendar::get(conn, date)? {
                Some(entered) => Some(entered.name),
                None => cal.provisional_name(date).map(str::to_owned),
            };
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
    #[schema(value_type = motcua_domain::rules::ShortText, example = "Tết Nguyên đán")]
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
    req: HttpRequest,
    date: web::Path<String>,
    body: Json<DayRequest>,
) -> ApiResult<HttpResponse> {
    let now = state.clock.now();
    caller.require(&[Role::Admin])?;
    let actor = crate::routes::audit::actor(&req, &caller);
    let date = parse_date(&date)?;
    let DayRequest { kind, name } = body.0;
    let name = motcua_domain::text::nfc(&name);
    let mut errors = motcua_domain::validation::FieldErrors::new();
    ShortText::check(&mut errors, "name", &name);
    let weekend = matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
    match kind {
        DayKind::Holiday if weekend => {
            errors.add("kind", Problem::rule(RuleCode::HolidayOnWeekend))
        }
        DayKind::Working if !weekend => {
            errors.add("kind", Problem::rule(RuleCode::WorkingOnWeekday))
        }
        _ => {}
    }
    errors.into_result()?;
    let (hours, by) = (state.hours, caller.user_id);
    let view = state
        .db(move |conn| {
            let exception = DayOverride {
                date,
                kind,
                name: name.clone(),
            };
            write_tx(conn, |conn| {
                let before = calendar::get(conn, date)?;
                calendar::put(conn, &exception, Some(by), now)?;
                audit::record(
                    conn,
                    &actor,
                    &Change::new(
                        EntityType::CalendarDay,
                        date,
                        "set",
                        before.as_ref().map(day_json).transpose()?,
                        Some(day_json(&exception)?),
                    ),
                    now,
                )?;
                Ok::<_, ApiError>(())
            })?;
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
    req: HttpRequest,
    date: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let now = state.clock.now();
    caller.require(&[Role::Admin])?;
    let actor = crate::routes::audit::actor(&req, &caller);
    let date = parse_date(&date)?;
    let removed = state
        .db(move |conn| {
            write_tx(conn, |conn| {
                let Some(before) = calendar::get(conn, date)? else {
                    return Ok(false);
                };
                calendar::delete(conn, date)?;
                audit::record(
                    conn,
                    &actor,
                    &Change::new(
                        EntityType::CalendarDay,
                        date,
                        "remove",
                        Some(day_json(&before)?),
                        None,
                    ),
                    now,
                )?;
                Ok(true)
            })
        })
        .await?;
    if !removed {
        return Err(ApiError::not_found());
    }
    tracing::info!(%date, by = caller.user_id, "calendar day removed");
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmYearRequest {
    /// Also enter the generated Labour Code days not yet entered (for a notice
    /// that only repeats them). Without it, only the entered days count.
    #[serde(default)]
    pub adopt_generated: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConfirmedYear {
    pub year: i32,
    /// Days written from the generated ones (with `adopt_generated`).
    pub adopted: Vec<DayOverride>,
    pub working_days: u32,
}

/// Confirms a year's official notice (admin): from now on the year's entered
/// days are its calendar and no day is generated for it. Enter the notice's
/// days first (`PUT /calendar/days/{date}`), or adopt the generated ones.
/// A year without any entered holiday cannot be confirmed without adopting.
#[utoipa::path(operation_id = "confirm_calendar_year", 
    tag = "calendar",
    security(("bearer" = [])),
    params(("year" = i32, Path, example = 2027)),
    request_body(content = Option<ConfirmYearRequest>),
    responses(
        (status = 200, body = ConfirmedYear),
        (status = 409, description = "Already confirmed, or nothing entered", body = crate::error::ProblemBody)
    )
)]
#[post("/calendar/years/{year}/confirm")]
pub async fn confirm_year(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<i32>,
    body: Option<Json<ConfirmYearRequest>>,
) -> ApiResult<HttpResponse> {
    let now = state.clock.now();
    caller.require(&[Role::Admin])?;
    let target_year = path.into_inner();
    let (Some(first), Some(last)) = (
        NaiveDate::from_ymd_opt(target_year, 1, 1),
        NaiveDate::from_ymd_opt(target_year, 12, 31),
    ) else {
        return Err(ApiError::not_found());
    };
    if !motcua_domain::holidays::YEARS.contains(&target_year) {
        return Err(ApiError::not_found());
    }
    let adopt = body.map(|b| b.0).unwrap_or_default().adopt_generated;
    let (hours, by) = (state.hours, caller.user_id);
    let confirmed = state
        .db(move |conn| {
            let cal = calendar::load(conn, hours)?;
            if !cal.is_provisional(first) {
                return Err(ApiError::new(ErrorCode::Conflict).detail(
                    "Lịch của năm này đã được xác nhận.",
                    "This year's calendar is already confirmed.",
                ));
            }
            let adopted = if adopt { generated_days(&cal, target_year) } else { Vec::new() };
            let entered_holiday = calendar::year(conn, target_year)?
                .iter()
                .any(|d| d.kind == DayKind::Holiday);
            if !entered_holiday && adopted.is_empty() {
                return Err(ApiError::new(ErrorCode::Conflict).detail(
                    "Chưa nhập ngày nghỉ nào của năm này: nhập theo thông báo chính thức, hoặc xác nhận với adopt_generated.",
                    "No holiday of this year is entered: enter the official notice's days, or confirm with adopt_generated.",
                ));
            }
            calendar::confirm(conn, target_year, &adopted, Some(by), now)?;
            let cal = calendar::load(conn, hours)?;
            let working_days =
                cal.working_days_between(first, last) + u32::from(cal.is_working_day(first));
            Ok(ConfirmedYear {
                year: target_year,
                adopted,
                working_days,
            })
        })
        .await?;
    tracing::info!(
        year = target_year,
        adopt,
        by = caller.user_id,
        "calendar year confirmed"
    );
    Ok(HttpResponse::Ok().json(confirmed))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AppointmentQuery {
    /// The moment of receipt to compute from (RFC 3339); now by default.
    #[param(value_type = Option<String>, format = DateTime, example = "2026-12-14T09:00:00+07:00")]
    pub at: Option<DateTime<Utc>>,
}

/// The appointment the rules would give a dossier of this procedure received
/// at `at`: the same computation as receipt.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppointmentPreview {
    pub procedure_code: String,
    pub received_at: DateTime<Utc>,
    /// The day the processing time counts from (after the cut-off or on a
    /// day off, the next working day).
    pub counts_from: NaiveDate,
    pub allowed_time: u32,
    pub time_unit: TimeUnit,
    pub due_at: DateTime<Utc>,
    /// Counted across a year whose holidays are not confirmed yet.
    pub provisional: bool,
    /// The days off crossed between the start and the due day.
    pub days_off: Vec<DayView>,
}

/// Appointment preview for a procedure (public): when a dossier received at
/// `at` (default now) would be due, with the days off it crosses.
#[utoipa::path(operation_id = "preview_appointment", 
    tag = "calendar",
    params(("code" = String, Path, example = "1.001029"), AppointmentQuery),
    responses(
        (status = 200, body = AppointmentPreview),
        (status = 404, body = crate::error::ProblemBody)
    )
)]
#[get("/procedures/{code}/appointment")]
pub async fn appointment(
    state: web::Data<AppState>,
    code: web::Path<String>,
    query: Query<AppointmentQuery>,
) -> ApiResult<HttpResponse> {
    let (code, hours) = (code.into_inner(), state.hours);
    let received_at = query.0.at.unwrap_or_else(Utc::now);
    let preview = state
        .db(move |conn| {
            let procedure = procedures::get(conn, &code)?;
            let spec = &procedure.spec;
            let cal = calendar::load(conn, hours)?;
            let due_at = cal.due(received_at, spec.committed_days, spec.time_unit);
            let counts_from = cal.effective_start_day(received_at);
            let due_day = motcua_domain::local_time::date(due_at);
            let days_off = counts_from
                .iter_days()
                .take_while(|d| *d <= due_day)
                .filter(|d| !cal.is_working_day(*d))
                .map(|d| {
                    Ok(DayView {
                        info: cal.describe(d),
                        name: match calendar::get(conn, d)? {
                            Some(entered) => Some(entered.name),
                            None => cal.provisional_name(d).map(str::to_owned),
                        },
                    })
                })
                .collect::<ApiResult<Vec<_>>>()?;
            Ok(AppointmentPreview {
                procedure_code: spec.code.clone(),
                received_at,
                counts_from,
                allowed_time: spec.committed_days,
                time_unit: spec.time_unit,
                due_at,
                provisional: cal
                    .rests_on_provisional(motcua_domain::local_time::date(received_at), due_day),
                days_off,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(preview))
}
