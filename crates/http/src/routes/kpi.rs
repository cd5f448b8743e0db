//! KPIs: a summary, a time series and a ranking of agencies for staff, and
//! the public figures for the portal. Staff see their agency; admins all.

use actix_web::http::header::{self, ACCEPT};
use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::{Datelike, Duration, NaiveDate};
use motcua_domain::access::{self, AgencyView, StaffReach};
use motcua_domain::dossier::Channel;
use motcua_domain::kpi::{Granularity, Rate, parse_period};
use motcua_domain::rule::RuleCode;
use motcua_domain::validation::Problem;
use motcua_persistence::repo::{agencies, kpi as agg, procedures};
use motcua_persistence::reports::{
    self, AgencyRow, MAX_POINTS, Ranking, ReportScope, Summary, Timeseries,
};
use motcua_persistence::{AnyConnection, StoreError};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::Query;
use crate::i18n::Lang;
use crate::state::AppState;

/// Declares a query type with the filters every KPI endpoint takes, plus its own.
macro_rules! kpi_query {
    ($(#[$meta:meta])* $name:ident { $($extra:tt)* }) => {
        $(#[$meta])*
        #[derive(Debug, Default, Deserialize, IntoParams)]
        #[serde(deny_unknown_fields)]
        #[into_params(parameter_in = Query)]
        pub struct $name {
            /// A named period: `2026`, `2026-Q2`, `2026-03` or `2026-03-05`.
            /// Default: this year up to today.
            pub period: Option<String>,
            /// First day (local), instead of `period`.
            pub from: Option<NaiveDate>,
            /// Last day, inclusive, instead of `period`.
            pub to: Option<NaiveDate>,
            /// The receiving agency (staff: their own, the default).
            pub agency_id: Option<i64>,
            /// Sector code from `/sectors`, e.g. `du-lich`.
            pub sector: Option<String>,
            /// Procedure code, e.g. `1.001234`.
            pub procedure: Option<String>,
            pub channel: Option<Channel>,
            $($extra)*
        }

        impl $name {
            fn filters(&self) -> Filters {
                Filters {
                    period: self.period.clone(),
                    from: self.from,
                    to: self.to,
                    agency_id: self.agency_id,
                    sector: self.sector.clone(),
                    procedure: self.procedure.clone(),
                    channel: self.channel,
                }
            }
        }
    };
}

kpi_query!(KpiQuery {});
kpi_query!(TimeseriesQuery {
    /// `day`, `week` (ISO, from Monday), `month` (default), `quarter` or `year`.
    pub granularity: Option<Granularity>,
});

/// The filters, once read from any of the query types.
#[derive(Debug, Clone)]
struct Filters {
    period: Option<String>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    agency_id: Option<i64>,
    sector: Option<String>,
    procedure: Option<String>,
    channel: Option<Channel>,
}

/// The longest range one request may cover.
const MAX_YEARS: i64 = 20;

/// Days `[from, to)` of the request, cut to today.
fn days(f: &Filters, today: NaiveDate) -> ApiResult<(NaiveDate, NaiveDate)> {
    let (from, to) = match (&f.period, f.from, f.to) {
        (Some(_), Some(_), _) => {
            return Err(ApiError::query_field(
                "from",
                Problem::rule(RuleCode::PeriodOrDates),
            ));
        }
        (Some(_), None, Some(_)) => {
            return Err(ApiError::query_field(
                "to",
                Problem::rule(RuleCode::PeriodOrDates),
            ));
        }
        (Some(text), None, None) => parse_period(text).ok_or_else(|| {
            ApiError::query_field(
                "period",
                Problem::format("2026, 2026-Q2, 2026-03 or 2026-03-05"),
            )
        })?,
        (None, from, to) => {
            let from = from
                .unwrap_or_else(|| NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today));
            let to = to.unwrap_or(today);
            if to < from {
                return Err(ApiError::query_field(
                    "to",
                    Problem::rule(RuleCode::BeforeFrom),
                ));
            }
            (from, to.succ_opt().unwrap_or(to))
        }
    };
    if from < kpi_epoch() || (to - from) > Duration::days(366 * MAX_YEARS) {
        return Err(ApiError::query_field(
            if f.period.is_some() { "period" } else { "from" },
            Problem::rule(RuleCode::RangeTooLong),
        ));
    }
    let end = to.min(today.succ_opt().unwrap_or(today)).max(from);
    Ok((from, end))
}

fn kpi_epoch() -> NaiveDate {
    motcua_domain::kpi::epoch()
}

/// Whose figures the caller may read: `Ok(None)` for everyone's.
pub(crate) enum Audience {
    Public,
    Staff(Caller),
}

/// The procedures a report is limited to (id, code): those of the sector,
/// or the one procedure (which must be in the sector when both are given);
/// `None` for all.
fn procedures_in_scope(
    conn: &mut AnyConnection,
    sector: Option<&str>,
    procedure: Option<&str>,
) -> ApiResult<Option<Vec<(i64, String)>>> {
    let in_sector = match sector {
        Some(code) => {
            let list = agg::procedures_of_sector(conn, code)?;
            if list.is_empty() {
                return Err(ApiError::query_field(
                    "sector",
                    Problem::rule(RuleCode::UnknownSector),
                ));
            }
            Some(list)
        }
        None => None,
    };
    let Some(code) = procedure else {
        return Ok(in_sector);
    };
    let p = match procedures::get(conn, code) {
        Ok(p) => p,
        Err(StoreError::NotFound) => {
            return Err(ApiError::query_field(
                "procedure",
                Problem::rule(RuleCode::UnknownProcedure),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    if in_sector
        .as_ref()
        .is_some_and(|list| !list.iter().any(|(id, _)| *id == p.id))
    {
        return Err(ApiError::query_field(
            "procedure",
            Problem::rule(RuleCode::NotInSector),
        ));
    }
    Ok(Some(vec![(p.id, p.spec.code.clone())]))
}

/// Resolves the filters into a report scope, enforcing who sees what.
async fn scope(
    state: &AppState,
    f: Filters,
    audience: Audience,
) -> ApiResult<(ReportScope, Option<i64>)> {
    let now = state.clock.now();
    let today = motcua_domain::local_time::date(now);
    let (from, to) = days(&f, today)?;
    let staff_agency = match &audience {
        Audience::Public => None,
        Audience::Staff(caller) if caller.role.is_staff() => {
            match access::staff_reach(caller.role, caller.agency_id)
                .map_err(|_| ApiError::forbidden())?
            {
                StaffReach::Home(agency) => Some(agency),
                StaffReach::Anywhere => None,
            }
        }
        Audience::Staff(_) => return Err(ApiError::forbidden()),
    };
    let sector = f
        .sector
        .as_ref()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    let procedure = f
        .procedure
        .as_ref()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    let requested = f.agency_id;
    state
        .db(move |conn| {
            let home = staff_agency
                .map(|id| agencies::home_agency(conn, id))
                .transpose()?;
            let view = access::agency_view(home.as_ref().map(|h| h.id), requested)
                .map_err(|_| ApiError::forbidden())?;
            let agency = match view {
                AgencyView::Home(_) => home,
                AgencyView::Chosen(id) => match agencies::by_id(conn, id) {
                    Ok(a) => Some(a),
                    Err(StoreError::NotFound) => {
                        return Err(ApiError::query_field(
                            "agency_id",
                            Problem::rule(RuleCode::UnknownAgency),
                        ));
                    }
                    Err(e) => return Err(e.into()),
                },
                AgencyView::All => None,
            };
            let procedures = procedures_in_scope(conn, sector.as_deref(), procedure.as_deref())?;
            let only = staff_agency.and(agency.as_ref().map(|a| a.id));
            Ok((
                ReportScope {
                    from,
                    to,
                    as_of: now,
                    agency,
                    sector,
                    procedure,
                    procedures,
                    channel: f.channel,
                },
                only,
            ))
        })
        .await
}

/// The KPI routes (the results' counts are in `routes::results`).
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(summary)
        .service(timeseries)
        .service(agencies_ranked)
        .service(public);
}

/// The report scope a KPI query asks for, as far as the caller may read.
pub(crate) async fn report_scope(
    state: &AppState,
    query: KpiQuery,
    audience: Audience,
) -> ApiResult<ReportScope> {
    scope(state, query.filters(), audience)
        .await
        .map(|(s, _)| s)
}

/// Counts, rates (each with numerator and denominator; `null` without a
/// denominator) and the Decision 766 groups scored beside them.
#[utoipa::path(operation_id = "get_kpi_summary", tag = "kpi", security(("bearer" = [])), params(KpiQuery), responses((status = 200, body = Summary)))]
#[get("/kpi/summary")]
pub async fn summary(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<KpiQuery>,
) -> ApiResult<HttpResponse> {
    let (scope, _) = scope(&state, query.0.filters(), Audience::Staff(caller)).await?;
    let scoring = state.settings.kpi.scoring.clone();
    let body = state
        .db(move |conn| Ok(reports::summary(conn, &scope, &scoring)?))
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// The same figures per day, week, month, quarter or year (at most 400 points).
#[utoipa::path(operation_id = "get_kpi_timeseries", tag = "kpi", security(("bearer" = [])), params(TimeseriesQuery), responses((status = 200, body = Timeseries)))]
#[get("/kpi/timeseries")]
pub async fn timeseries(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<TimeseriesQuery>,
) -> ApiResult<HttpResponse> {
    let granularity = query.0.granularity.unwrap_or(Granularity::Month);
    let (scope, _) = scope(&state, query.0.filters(), Audience::Staff(caller)).await?;
    if motcua_domain::kpi::buckets(granularity, scope.from, scope.to).len() > MAX_POINTS {
        return Err(ApiError::query_field(
            "granularity",
            Problem::rule(RuleCode::TooManyPoints),
        ));
    }
    let body = state
        .db(move |conn| Ok(reports::timeseries(conn, &scope, granularity)?))
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// One row per agency, ranked by total score. Staff get their agency's row
/// (ranked among all). `Accept: text/csv` gives a spreadsheet (UTF-8 with BOM).
#[utoipa::path(operation_id = "rank_agencies_by_kpi", 
    tag = "kpi",
    security(("bearer" = [])),
    params(KpiQuery),
    responses(
        (status = 200, description = "The ranking; with `Accept: text/csv`, the same rows as CSV (UTF-8 with a byte-order mark) sent as an attachment",
            content((Ranking = "application/json"), (String = "text/csv")),
            headers(("Content-Disposition" = String, description = "CSV only: `attachment; filename=\"kpi-agencies-<from>-<to>.csv\"`")))
    )
)]
#[get("/kpi/agencies")]
pub async fn agencies_ranked(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    query: Query<KpiQuery>,
) -> ApiResult<HttpResponse> {
    let csv = req
        .headers()
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("text/csv"));
    let (scope, only) = scope(&state, query.0.filters(), Audience::Staff(caller)).await?;
    let scoring = state.settings.kpi.scoring.clone();
    let ranking = state
        .db(move |conn| Ok(reports::ranking(conn, &scope, &scoring, only)?))
        .await?;
    if !csv {
        return Ok(HttpResponse::Ok().json(ranking));
    }
    let body = ranking_csv(&ranking, Lang::of(&req))?;
    let name = format!(
        "kpi-agencies-{}-{}.csv",
        ranking.scope.from, ranking.scope.to
    );
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .body(body))
}

fn percent(rate: &Rate) -> String {
    rate.value
        .map(|v| format!("{:.2}", v * 100.0))
        .unwrap_or_default()
}

fn ranking_csv(ranking: &Ranking, lang: Lang) -> ApiResult<Vec<u8>> {
    let header = [
        lang.pick("Hạng", "Rank"),
        lang.pick("Mã cơ quan", "Agency code"),
        lang.pick("Tên cơ quan", "Agency"),
        lang.pick("Tiếp nhận", "Received"),
        lang.pick("Đã giải quyết", "Decided"),
        lang.pick("Trước hạn", "Early"),
        lang.pick("Đúng hạn", "On time"),
        lang.pick("Trễ hạn", "Late"),
        lang.pick("Đang giải quyết", "In progress"),
        lang.pick("Quá hạn", "Overdue"),
        lang.pick("Tỷ lệ đúng hạn (%)", "On-time rate (%)"),
        lang.pick("Tỷ lệ trực tuyến (%)", "Online rate (%)"),
        lang.pick("Tỷ lệ số hóa (%)", "Digitization rate (%)"),
        lang.pick("Tỷ lệ tái sử dụng (%)", "Reuse rate (%)"),
        lang.pick("Tỷ lệ hài lòng (%)", "Satisfaction rate (%)"),
        lang.pick("Công khai, minh bạch", "Transparency"),
        lang.pick("Tiến độ giải quyết", "Progress"),
        lang.pick("Dịch vụ công trực tuyến", "Online service"),
        lang.pick("Số hóa hồ sơ", "Digitization"),
        lang.pick("Mức độ hài lòng", "Satisfaction"),
        lang.pick("Tổng điểm", "Total score"),
    ];
    // The byte-order mark tells spreadsheet programs the file is UTF-8.
    let mut out = "\u{feff}".as_bytes().to_vec();
    {
        let mut w = csv::Writer::from_writer(&mut out);
        let fail = |e: csv::Error| ApiError::internal("write csv", e);
        w.write_record(header).map_err(fail)?;
        for row in &ranking.agencies {
            w.write_record(csv_row(row)).map_err(fail)?;
        }
        w.flush().map_err(|e| ApiError::internal("write csv", e))?;
    }
    Ok(out)
}

fn csv_row(row: &AgencyRow) -> Vec<String> {
    let d = &row.dossiers;
    let mut cells = vec![
        row.rank.to_string(),
        row.agency.code.clone(),
        row.agency.name.clone(),
        d.received.to_string(),
        d.decided.to_string(),
        d.early.to_string(),
        d.on_time.to_string(),
        d.late.to_string(),
        d.in_progress.to_string(),
        d.in_progress_overdue.to_string(),
        percent(&row.rates.on_time),
        percent(&row.rates.online_dossiers),
        percent(&row.rates.digitization),
        percent(&row.rates.reuse),
        percent(&row.rates.satisfaction),
    ];
    cells.extend(row.groups.iter().map(|g| format!("{:.2}", g.score)));
    cells.push(format!("{:.2}", row.total_score));
    cells
}

/// What the public portal shows: aggregate figures only, no sign-in.
#[utoipa::path(operation_id = "get_public_kpi", tag = "kpi", params(KpiQuery), responses((status = 200, body = Summary)))]
#[get("/kpi/public")]
pub async fn public(state: web::Data<AppState>, query: Query<KpiQuery>) -> ApiResult<HttpResponse> {
    let (scope, _) = scope(&state, query.0.filters(), Audience::Public).await?;
    let scoring = state.settings.kpi.scoring.clone();
    let body = state
        .db(move |conn| Ok(reports::summary(conn, &scope, &scoring)?))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(body))
}
