//! The audit trail of administrative changes (admin): read it page by page,
//! or export it whole as CSV or JSON.

use actix_web::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, get, web};
use chrono::{DateTime, NaiveDate, Utc};
use motcua_domain::Role;
use motcua_domain::audit::{Actor, AuditEntry, EntityType, csv_cell};
use motcua_domain::numeric::count_i64;
use motcua_domain::rule::RuleCode;
use motcua_domain::validation::{FieldError, Problem};
use motcua_persistence::repo::audit::{self, AuditFilter};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::Query;
use crate::middleware::RequestId;
use crate::routes::PageView;
use crate::routes::auth::client_address;
use crate::routes::users::page_request;
use crate::state::AppState;

/// Who is acting in this request, and from where, for the audit log.
pub fn actor(req: &HttpRequest, caller: &Caller) -> Actor {
    let trust = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|s| s.settings.server.trust_forwarded_for);
    let request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
    Actor::user(caller.user_id, Some(client_address(req, trust)), request_id)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// `user`, `agency`, `procedure`, `procedure_fees`, `procedure_form`, `calendar_day`, `payment_config`, `integration_grant`.
    pub entity_type: Option<String>,
    /// The entity's id as recorded: an account or agency id, a procedure code, a date.
    pub entity_id: Option<String>,
    /// The acting account's id.
    pub actor: Option<i64>,
    /// From this instant (RFC 3339) or day (`2026-11-23`, from its start, UTC), inclusive.
    pub from: Option<String>,
    /// Up to this instant (RFC 3339, exclusive) or day (`2026-11-23`, through its end, UTC).
    pub to: Option<String>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `csv` (default) or `json`.
    pub format: Option<String>,
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub actor: Option<i64>,
    pub from: Option<String>,
    pub to: Option<String>,
}

fn bad_query(field: &str, problem: Problem) -> ApiError {
    let mut e = ApiError::new(ErrorCode::InvalidQuery);
    e.errors.push(FieldError {
        field: field.to_owned(),
        problem,
    });
    e
}

/// An instant, or a day's first instant (`end = false`) or the next day's (`end = true`).
fn instant(field: &str, raw: &str, end: bool) -> ApiResult<DateTime<Utc>> {
    let raw = raw.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(raw) {
        return Ok(at.with_timezone(&Utc));
    }
    let day = NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .and_then(|d| if end { d.succ_opt() } else { Some(d) })
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .ok_or_else(|| bad_query(field, Problem::format("2026-11-23")))?;
    Ok(day.and_utc())
}

fn filter(
    entity_type: Option<String>,
    entity_id: Option<String>,
    actor: Option<i64>,
    from: Option<String>,
    to: Option<String>,
) -> ApiResult<AuditFilter> {
    let entity_type = match entity_type.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(t) => Some(t.parse::<EntityType>().map_err(|()| {
            let all: Vec<&str> = EntityType::ALL.iter().map(|t| t.as_str()).collect();
            bad_query("entity_type", Problem::one_of(&all))
        })?),
    };
    let from = from
        .as_deref()
        .map(|f| instant("from", f, false))
        .transpose()?;
    let to = to.as_deref().map(|t| instant("to", t, true)).transpose()?;
    if let (Some(from), Some(to)) = (from, to)
        && from > to
    {
        return Err(bad_query("to", Problem::rule(RuleCode::BeforeFrom)));
    }
    Ok(AuditFilter {
        entity_type,
        entity_id: entity_id
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty()),
        actor_id: actor,
        from,
        to,
    })
}

/// The audit log, newest first (admin): who changed which account, agency,
/// procedure, fee schedule or calendar day, when, from where, before → after.
#[utoipa::path(operation_id = "list_audit_entries", tag = "audit", security(("bearer" = [])), params(AuditQuery), responses((status = 200, body = PageView<AuditEntry>)))]
#[get("/audit")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<AuditQuery>,
) -> ApiResult<HttpResponse> {
    caller.require(&[Role::Admin])?;
    let q = query.0;
    let page = page_request(q.page, q.per_page)?;
    let filter = filter(q.entity_type, q.entity_id, q.actor, q.from, q.to)?;
    let found = state
        .db(move |conn| Ok(audit::list(conn, &filter, page)?))
        .await?;
    Ok(HttpResponse::Ok().json(PageView::from(found)))
}

const CSV_COLUMNS: [&str; 13] = [
    "id",
    "at",
    "actor_id",
    "actor_username",
    "actor_name",
    "client_addr",
    "request_id",
    "entity_type",
    "entity_id",
    "action",
    "changed",
    "before",
    "after",
];

/// Rows read per query while exporting.
const CHUNK: i64 = 1000;

/// The whole audit log matching the filters, oldest first, as CSV or a JSON
/// array (admin). CSV cells a spreadsheet would run as formulas start with `'`.
#[utoipa::path(operation_id = "export_audit_entries", 
    tag = "audit",
    security(("bearer" = [])),
    params(ExportQuery),
    responses((status = 200, description = "The entries", content(
        (Vec<AuditEntry> = "application/json"),
        (String = "text/csv"),
    )))
)]
#[get("/audit/export")]
pub async fn export(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<ExportQuery>,
) -> ApiResult<HttpResponse> {
    caller.require(&[Role::Admin])?;
    let q = query.0;
    let csv = match q.format.as_deref().map(str::trim) {
        None | Some("") | Some("csv") => true,
        Some("json") => false,
        Some(_) => return Err(bad_query("format", Problem::one_of(&["csv", "json"]))),
    };
    let filter = filter(q.entity_type, q.entity_id, q.actor, q.from, q.to)?;
    let entries = state
        .db(move |conn| {
            let mut all: Vec<AuditEntry> = Vec::new();
            let mut after = 0;
            loop {
                let chunk = audit::chunk(conn, &filter, after, CHUNK)?;
                let Some(last) = chunk.last() else { break };
                after = last.id;
                let full = count_i64(chunk.len()) == CHUNK;
                all.extend(chunk);
                if !full {
                    break;
                }
            }
            Ok(all)
        })
        .await?;
    let stamp = state.clock.now().format("%Y%m%dT%H%M%SZ");
    if !csv {
        return Ok(HttpResponse::Ok()
            .insert_header((
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"audit-{stamp}.json\""),
            ))
            .json(entries));
    }
    let body = AppState::cpu(move || to_csv(&entries)).await??;
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((
            CONTENT_DISPOSITION,
            format!("attachment; filename=\"audit-{stamp}.csv\""),
        ))
        .body(body))
}

fn to_csv(entries: &[AuditEntry]) -> ApiResult<Vec<u8>> {
    let fail = |e: csv::Error| ApiError::internal("write audit csv", e);
    // A byte-order mark, so spreadsheets read the Vietnamese names as UTF-8.
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut writer = csv::Writer::from_writer(&mut out);
        writer.write_record(CSV_COLUMNS).map_err(fail)?;
        for e in entries {
            let json = |v: &Option<serde_json::Value>| {
                v.as_ref().map(ToString::to_string).unwrap_or_default()
            };
            let cells = [
                e.id.to_string(),
                e.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                e.actor_id.map(|i| i.to_string()).unwrap_or_default(),
                e.actor_username.clone(),
                e.actor_name.clone(),
                e.client_addr.clone().unwrap_or_default(),
                e.request_id.clone().unwrap_or_default(),
                e.entity_type.clone(),
                e.entity_id.clone(),
                e.action.clone(),
                e.changed.join("|"),
                json(&e.before),
                json(&e.after),
            ];
            writer
                .write_record(cells.iter().map(|c| csv_cell(c).into_owned()))
                .map_err(fail)?;
        }
        writer
            .flush()
            .map_err(|e| ApiError::internal("write audit csv", e))?;
    }
    Ok(out)
}
