//! The public procedure catalog, and its administration.

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, LOCATION};
use actix_web::{HttpRequest, HttpResponse, delete, get, post, put, web};
use motcua_app::catalog_import;
use motcua_domain::Role;
use motcua_domain::agency::AgencyRef;
use motcua_domain::procedure::{
    AdminLevel, OnlineFilter, OnlineLevel, ProcedureRecord, ProcedureSpec, ProcedureStatus,
    StatusFilter,
};
use motcua_domain::rule::RuleCode;
use motcua_domain::search::SearchQuery;
use motcua_domain::validation::Problem;
use motcua_persistence::repo::agencies;
use motcua_persistence::repo::procedures::{
    self, ImportOutcome, ImportReport, ProcedureFilter, ProcedureVersion, SectorCount,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Caller, MaybeCaller};
use crate::error::{ApiError, ApiResult, ErrorCode, FieldErrorBody};
use crate::etag::{self, IfMatch};
use crate::extract::{Json, Query, read_limited};
use crate::i18n::{Lang, field_message};
use crate::routes::PageView;
use crate::routes::audit;
use crate::routes::users::page_request;
use crate::state::AppState;

const PUBLIC_CACHE: &str = "public, max-age=60";

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProcedureQuery {
    /// Free text; accent- and case-insensitive (`giay phep bieu dien`).
    pub q: Option<String>,
    /// Sector code from `/sectors`, e.g. `du-lich`.
    pub sector: Option<String>,
    pub level: Option<AdminLevel>,
    pub agency_id: Option<i64>,
    /// `full`, `partial`, `none`, or `any` (full or partial).
    pub online: Option<OnlineFilter>,
    /// `active` (default), `abolished` or `all`.
    pub status: Option<StatusFilter>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

/// A catalog entry as listed.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProcedureSummary {
    pub code: String,
    pub name: String,
    pub sector: String,
    pub sector_code: String,
    pub levels: Vec<AdminLevel>,
    pub regulated_days: u32,
    pub committed_days: u32,
    pub time_unit: motcua_domain::procedure::TimeUnit,
    pub online_level: OnlineLevel,
    pub has_fees: bool,
    pub fees_payable_online: bool,
    pub status: ProcedureStatus,
    pub agency: Option<AgencyRef>,
}

impl From<ProcedureRecord> for ProcedureSummary {
    fn from(p: ProcedureRecord) -> Self {
        let has_fees = p.spec.has_fees();
        let fees_payable_online = p.spec.fees_payable_online();
        Self {
            code: p.spec.code,
            name: p.spec.name,
            sector: p.spec.sector,
            sector_code: p.sector_code,
            levels: p.spec.levels,
            regulated_days: p.spec.regulated_days,
            committed_days: p.spec.committed_days,
            time_unit: p.spec.time_unit,
            online_level: p.spec.online_level,
            has_fees,
            fees_payable_online,
            status: p.spec.status,
            agency: p.agency,
        }
    }
}

/// Public, searchable listing. Abolished procedures appear only with `status=abolished|all`.
#[utoipa::path(operation_id = "list_procedures", tag = "catalog", params(ProcedureQuery), responses((status = 200, body = PageView<ProcedureSummary>)))]
#[get("/procedures")]
pub async fn list(
    state: web::Data<AppState>,
    query: Query<ProcedureQuery>,
) -> ApiResult<HttpResponse> {
    let q = query.0;
    let page = page_request(q.page, q.per_page)?;
    let filter = ProcedureFilter {
        query: q.q.as_deref().and_then(SearchQuery::parse),
        sector: q
            .sector
            .map(|s| s.trim().to_lowercase())
            .filter(|s| !s.is_empty()),
        level: q.level,
        agency_id: q.agency_id,
        online: q.online,
        status: q.status,
    };
    let index = state.catalog.clone();
    let found = state
        .db(move |conn| Ok(procedures::list_indexed(conn, &index, &filter, page)?))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, PUBLIC_CACHE))
        .json(PageView::from(found.map(ProcedureSummary::from))))
}

/// Full detail: steps, required documents, processing time, fees, legal basis, online level.
#[utoipa::path(operation_id = "get_procedure", tag = "catalog", params(("code" = String, Path, example = "1.001029")), responses((status = 200, body = ProcedureRecord, headers(("ETag" = String, description = "Send it back in `If-Match` when updating"))), (status = 404, body = crate::error::ProblemBody)))]
#[get("/procedures/{code}")]
pub async fn get(state: web::Data<AppState>, code: web::Path<String>) -> ApiResult<HttpResponse> {
    let code = code.into_inner();
    let found = state
        .db(move |conn| Ok(procedures::get(conn, &code)?))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, PUBLIC_CACHE))
        .insert_header((ETAG, etag::of_version(found.version)))
        .json(found))
}

/// Where a spec goes: its own `agency_code`, else the caller's choice of default.
fn resolve_agency(
    conn: &mut motcua_persistence::AnyConnection,
    spec: &ProcedureSpec,
) -> ApiResult<Option<i64>> {
    let default = match spec.agency_code {
        None => Some(default_agency(conn)?),
        Some(_) => None,
    };
    procedures::resolve_agency(conn, spec.agency_code.as_deref(), default)?
        .map_err(|problem| ApiError::field("agency_code", problem))
}

/// With no `agency_code`, a procedure belongs to the first province-level
/// agency without a parent (the department itself).
fn default_agency(conn: &mut motcua_persistence::AnyConnection) -> ApiResult<i64> {
    agencies::list(conn)?
        .into_iter()
        .find(|a| a.level == AdminLevel::Province && a.parent_id.is_none())
        .map(|a| a.id)
        .ok_or_else(|| ApiError::field("agency_code", Problem::rule(RuleCode::AgencyRequired)))
}

/// Publishes a new procedure (admin).
#[utoipa::path(operation_id = "create_procedure", tag = "catalog", security(("bearer" = [])), request_body = ProcedureSpec, responses((status = 201, body = ProcedureRecord), (status = 409, body = crate::error::ProblemBody), (status = 422, body = crate::error::ProblemBody)))]
#[post("/procedures")]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: Json<ProcedureSpec>,
) -> ApiResult<HttpResponse> {
    let now = state.clock.now();
    caller.require(&[Role::Admin])?;
    let actor = audit::actor(&req, &caller);
    let spec = body.0.prepared()?;
    let created = state
        .db(move |conn| {
            let agency = resolve_agency(conn, &spec)?;
            motcua_app::catalog::create(conn, &spec, agency, &actor, now).map_err(|e| {
                if e.is_conflict_on("code") {
                    ApiError::new(ErrorCode::AlreadyExists).detail(
                        "Mã thủ tục đã tồn tại.",
                        "A procedure with this code exists.",
                    )
                } else {
                    e.into()
                }
            })
        })
        .await?;
    tracing::info!(code = %created.spec.code, by = caller.user_id, "procedure created");
    Ok(HttpResponse::Created()
        .insert_header((
            LOCATION,
            format!("/api/v1/procedures/{}", created.spec.code),
        ))
        .json(created))
}

/// Replaces a procedure's content (admin). The code in the body must match the path.
#[utoipa::path(operation_id = "update_procedure", tag = "catalog", security(("bearer" = [])),
    params(("code" = String, Path), ("If-Match" = Option<String>, Header, description = "Optional: the procedure's `ETag` as read (or `*`); a stale one gets 412")),
    request_body = ProcedureSpec,
    responses(
        (status = 200, body = ProcedureRecord, headers(("ETag" = String))),
        (status = 404, body = crate::error::ProblemBody),
        (status = 412, description = "`If-Match` names an older version; `ETag` gives the current one", body = crate::error::ProblemBody),
    ))]
#[put("/procedures/{code}")]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    code: web::Path<String>,
    body: Json<ProcedureSpec>,
) -> ApiResult<HttpResponse> {
    let now = state.clock.now();
    let precondition = IfMatch::of(&req);
    caller.require(&[Role::Admin])?;
    let actor = audit::actor(&req, &caller);
    let code = code.into_inner();
    if body.0.code.trim() != code {
        return Err(ApiError::field(
            "code",
            Problem::rule(RuleCode::CodeMismatch),
        ));
    }
    let spec = body.0.prepared()?;
    let updated = state
        .db(move |conn| {
            motcua_persistence::write_tx(conn, |conn| {
                // Locked first, then compared: two writers holding the same
                // `If-Match` cannot both see the version it names.
                let current = procedures::lock(conn, &spec.code)?;
                precondition.check(&etag::of_version(current.version))?;
                let agency = resolve_agency(conn, &spec)?;
                Ok(motcua_app::catalog::update(
                    conn, &spec, agency, &actor, now,
                )?)
            })
        })
        .await?;
    tracing::info!(code = %updated.spec.code, version = updated.version, by = caller.user_id, "procedure updated");
    Ok(HttpResponse::Ok()
        .insert_header((ETAG, etag::of_version(updated.version)))
        .json(updated))
}

/// Abolishes a procedure (admin): it stays readable, marked, out of default listings.
#[utoipa::path(operation_id = "abolish_procedure", tag = "catalog", security(("bearer" = [])), params(("code" = String, Path)), responses((status = 200, body = ProcedureRecord), (status = 404, body = crate::error::ProblemBody)))]
#[delete("/procedures/{code}")]
pub async fn abolish(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    code: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let now = state.clock.now();
    caller.require(&[Role::Admin])?;
    let actor = audit::actor(&req, &caller);
    let code = code.into_inner();
    let abolished = state
        .db(move |conn| Ok(motcua_app::catalog::abolish(conn, &code, &actor, now)?))
        .await?;
    tracing::info!(code = %abolished.spec.code, by = caller.user_id, "procedure abolished");
    Ok(HttpResponse::Ok().json(abolished))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// Agency for rows without `agency_code`; the department when omitted.
    pub default_agency_code: Option<String>,
}

pub const IMPORT_LIMIT: usize = 10 * 1024 * 1024;

/// Bulk import (admin): a JSON array of procedures, or CSV (`Content-Type: text/csv`).
/// All rows are written or none; the report names every bad row.
#[utoipa::path(operation_id = "import_procedures", 
    tag = "catalog",
    security(("bearer" = [])),
    params(ImportQuery),
    request_body(content((Vec<ProcedureSpec> = "application/json"), (String = "text/csv")), description = "JSON array of procedures (each may carry its e-form as `form`, a definition as `PUT /procedures/{code}/form` takes it), or CSV with the columns in docs/catalog-import.md"),
    responses((status = 200, body = ImportReportView), (status = 422, description = "Nothing imported; the problem carries `report`", body = crate::error::ProblemBody))
)]
#[post("/procedures/import")]
pub async fn import(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    query: Query<ImportQuery>,
    mut payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let now = state.clock.now();
    caller.require(&[Role::Admin])?;
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    let bytes = read_limited(&mut payload, IMPORT_LIMIT).await?;
    let (rows, first_index) = match content_type.as_str() {
        "application/json" => (catalog_import::parse_json_file(&bytes)?, 0),
        "text/csv" => (catalog_import::parse_csv(&bytes)?.into(), 1),
        _ => {
            return Err(ApiError::new(ErrorCode::UnsupportedMediaType).detail(
                "Gửi application/json hoặc text/csv.",
                "Send application/json or text/csv.",
            ));
        }
    };
    let default_code = query.0.default_agency_code;
    let actor = audit::actor(&req, &caller);
    let report = state
        .db(move |conn| {
            let default = match default_code {
                Some(code) => Some(
                    agencies::by_code(conn, &code)
                        .map_err(|_| {
                            let mut e = ApiError::new(ErrorCode::InvalidQuery);
                            e.errors.push(motcua_domain::validation::FieldError {
                                field: "default_agency_code".into(),
                                problem: Problem::rule(RuleCode::UnknownAgency),
                            });
                            e
                        })?
                        .id,
                ),
                None => default_agency(conn).ok(),
            };
            Ok(motcua_app::catalog::import(
                conn,
                rows,
                default,
                first_index,
                &actor,
                now,
            )?)
        })
        .await?;
    import_response(report, caller.user_id, Lang::of(&req))
}

/// The outcome of an import, row by row.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportReportView {
    /// Whether anything was written: all rows or none.
    pub applied: bool,
    pub created: usize,
    pub updated: usize,
    pub invalid: usize,
    pub rows: Vec<ImportRowView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportRowView {
    /// JSON: position in the array from 0. CSV: data row number from 1.
    pub index: usize,
    pub code: Option<String>,
    /// `created`, `updated`, or `invalid`.
    #[schema(example = "created")]
    pub outcome: String,
    pub errors: Vec<FieldErrorBody>,
}

impl ImportReportView {
    fn new(report: ImportReport, lang: Lang) -> Self {
        Self {
            applied: report.applied,
            created: report.created,
            updated: report.updated,
            invalid: report.invalid,
            rows: report
                .rows
                .into_iter()
                .map(|row| ImportRowView {
                    index: row.index,
                    code: row.code,
                    outcome: match row.outcome {
                        ImportOutcome::Created => "created",
                        ImportOutcome::Updated => "updated",
                        ImportOutcome::Invalid => "invalid",
                    }
                    .to_owned(),
                    errors: row
                        .errors
                        .iter()
                        .map(|e| FieldErrorBody {
                            field: e.field.clone(),
                            code: e.problem.code().to_owned(),
                            message: field_message(&e.problem, lang),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

fn import_response(report: ImportReport, by: i64, lang: Lang) -> ApiResult<HttpResponse> {
    let view = ImportReportView::new(report, lang);
    if view.applied {
        tracing::info!(
            created = view.created,
            updated = view.updated,
            by,
            "catalog imported"
        );
        return Ok(HttpResponse::Ok().json(view));
    }
    let n = view.invalid;
    let value =
        serde_json::to_value(&view).map_err(|e| ApiError::internal("serialise report", e))?;
    Err(ApiError::new(ErrorCode::ValidationFailed)
        .detail(
            format!("Không nhập gì: {n} dòng không hợp lệ."),
            format!("Nothing imported: {n} invalid row(s)."),
        )
        .extension("report", value))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SectorQuery {
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SectorView {
    #[schema(example = "nghe-thuat-bieu-dien")]
    pub code: String,
    #[schema(example = "Nghệ thuật biểu diễn")]
    pub name: String,
    /// Active procedures in the sector.
    pub procedure_count: i64,
}

impl From<SectorCount> for SectorView {
    fn from(s: SectorCount) -> Self {
        Self {
            code: s.code,
            name: s.name,
            procedure_count: s.procedure_count,
        }
    }
}

/// Sectors (lĩnh vực) with their active procedure counts.
#[utoipa::path(operation_id = "list_sectors", tag = "catalog", params(SectorQuery), responses((status = 200, body = PageView<SectorView>)))]
#[get("/sectors")]
pub async fn sectors(
    state: web::Data<AppState>,
    query: Query<SectorQuery>,
) -> ApiResult<HttpResponse> {
    let page = page_request(query.0.page, query.0.per_page)?;
    let all = state
        .db(|conn| Ok(procedures::sectors_with_counts(conn)?))
        .await?;
    let total = i64::try_from(all.len()).map_err(|e| ApiError::internal("counting sectors", e))?;
    let items: Vec<SectorView> = all
        .into_iter()
        .skip(usize::try_from(page.offset()).unwrap_or(usize::MAX))
        .take(page.per_page as usize)
        .map(SectorView::from)
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, PUBLIC_CACHE))
        .json(PageView {
            items,
            page: page.page,
            per_page: page.per_page,
            total,
        }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

/// A version of a procedure as listed in its history.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProcedureVersionSummary {
    pub version: i32,
    /// `create`, `update`, `abolish`, `import`; `baseline` for the version a
    /// procedure had when versions started being kept.
    pub action: String,
    pub status: ProcedureStatus,
    pub name: String,
    pub changed_at: chrono::DateTime<chrono::Utc>,
    /// Who made it: shown to administrators only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changed_by: Option<ChangedBy>,
}

/// The account that made a version (`id` is `null` for the system).
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangedBy {
    pub id: Option<i64>,
    pub name: String,
}

/// One version of a procedure, whole.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProcedureVersionView {
    pub code: String,
    pub version: i32,
    pub action: String,
    pub status: ProcedureStatus,
    pub agency_id: Option<i64>,
    pub changed_at: chrono::DateTime<chrono::Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changed_by: Option<ChangedBy>,
    pub spec: ProcedureSpec,
}

fn changed_by(v: &ProcedureVersion, admin: bool) -> Option<ChangedBy> {
    admin.then(|| ChangedBy {
        id: v.changed_by,
        name: v.changed_by_name.clone(),
    })
}

fn is_admin(caller: &MaybeCaller) -> bool {
    caller.0.as_ref().is_some_and(|c| c.is(Role::Admin))
}

/// Every version of a procedure, newest first (public, like the catalog;
/// administrators also see who made each).
#[utoipa::path(operation_id = "list_procedure_versions", tag = "catalog", security((), ("bearer" = [])), params(("code" = String, Path, example = "1.001029"), HistoryQuery), responses((status = 200, body = PageView<ProcedureVersionSummary>), (status = 404, body = crate::error::ProblemBody)))]
#[get("/procedures/{code}/history")]
pub async fn history(
    state: web::Data<AppState>,
    caller: MaybeCaller,
    code: web::Path<String>,
    query: Query<HistoryQuery>,
) -> ApiResult<HttpResponse> {
    let page = page_request(query.0.page, query.0.per_page)?;
    let code = code.into_inner();
    let admin = is_admin(&caller);
    let found = state
        .db(move |conn| Ok(procedures::history(conn, &code, page)?))
        .await?;
    let view = PageView::from(found.map(|v| ProcedureVersionSummary {
        changed_by: changed_by(&v, admin),
        version: v.version,
        action: v.action,
        status: v.status,
        name: v.spec.name,
        changed_at: v.changed_at,
    }));
    let cache = if admin {
        "private, no-store"
    } else {
        PUBLIC_CACHE
    };
    Ok(HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, cache))
        .json(view))
}

/// One version of a procedure, whole (public, like the catalog).
#[utoipa::path(operation_id = "get_procedure_version", tag = "catalog", security((), ("bearer" = [])), params(("code" = String, Path, example = "1.001029"), ("version" = i32, Path, example = 1)), responses((status = 200, body = ProcedureVersionView), (status = 404, body = crate::error::ProblemBody)))]
#[get("/procedures/{code}/history/{version}")]
pub async fn history_version(
    state: web::Data<AppState>,
    caller: MaybeCaller,
    path: web::Path<(String, i32)>,
) -> ApiResult<HttpResponse> {
    let (code, version) = path.into_inner();
    let admin = is_admin(&caller);
    let v = state
        .db(move |conn| Ok(procedures::version(conn, &code, version)?))
        .await?;
    let view = ProcedureVersionView {
        changed_by: changed_by(&v, admin),
        code: v.code,
        version: v.version,
        action: v.action,
        status: v.status,
        agency_id: v.agency_id,
        changed_at: v.changed_at,
        spec: v.spec,
    };
    let cache = if admin {
        "private, no-store"
    } else {
        PUBLIC_CACHE
    };
    Ok(HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, cache))
        .json(view))
}
