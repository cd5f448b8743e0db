//! Dossiers: submission, the officer's lists, actions with optimistic
//! concurrency, the trail, documents, the receipt slip and the rating.

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, ACCEPT, ETAG, IF_MATCH, LOCATION};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, NaiveDate, Utc};
use motcua_app::dossiers::{
    self as workflow, ActionInput, ApplicantInput, DocumentInput, Filed, Submission,
};
use motcua_domain::calendar::{Outcome, Progress, WorkingCalendar};
use motcua_domain::dossier::{
    Action, Actor, Channel, Dossier, DossierStatus, RatingScore, allowed_actions,
};
use motcua_domain::handling::{self, ClockState};
use motcua_domain::rule::RuleCode;
use motcua_domain::rules::{DueWithinDays, Note, RangeRule, TextRule};
use motcua_domain::validation::Problem;
use motcua_persistence::AnyConnection;
use motcua_persistence::repo::calendar::{self, CalendarCache};
use motcua_persistence::repo::dossiers::{
    self, Apology, DossierDocument, DossierFilter, Event, Rating,
};
use motcua_persistence::repo::procedures;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{Json, Query, from_value};
use crate::idempotency::{self, Written};
use crate::routes::PageView;
use crate::routes::documents::{kind_for, read_upload, store_upload};
use crate::routes::users::page_request;
use crate::state::AppState;

mod dto;
mod papers;
mod papers_html;
mod receipt_html;
mod receipt_slip;

pub use dto::*;
pub use papers::{PaperFormat, PaperQuery, PdfDocument, paper};

/// The printed papers: the receipt slip and the official papers.
pub fn configure_papers(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(receipt).service(paper);
}
use receipt_html::receipt_html;
pub use receipt_slip::*;

pub fn who(caller: &Caller) -> workflow::Principal {
    workflow::Principal {
        user_id: caller.user_id,
        role: caller.role,
        agency_id: caller.agency_id,
    }
}

fn view(d: Dossier, actor: Actor, calendar: &WorkingCalendar, now: DateTime<Utc>) -> DossierView {
    let standing = handling::standing(
        ClockState {
            status: d.status,
            time_unit: d.time_unit,
            due_at: d.due_at,
            processed_at: d.processed_at,
            paused_at: d.paused_at,
        },
        calendar,
        now,
    );
    view_standing(d, actor, standing)
}

fn view_standing(
    d: Dossier,
    actor: Actor,
    (outcome, progress): (Option<Outcome>, Option<Progress>),
) -> DossierView {
    DossierView {
        status_label: d.status.label_vi(),
        portal_status: d.portal_status(),
        outcome,
        progress,
        allowed_actions: allowed_actions(d.facts(), actor),
        dossier: d,
    }
}

/// A dossier's detail from its joined read (`dossiers::for_action`: the
/// rating, whether it has form data and the calendar's generation come with
/// the dossier) and what else it shows.
fn detail(
    conn: &mut AnyConnection,
    read: dossiers::ForAction,
    actor: Actor,
    calendars: &CalendarCache,
    now: DateTime<Utc>,
) -> ApiResult<DossierDetail> {
    let d = read.dossier;
    let calendar = calendars.at_generation(conn, read.calendar_generation)?;
    let documents = dossiers::documents_of(conn, d.id)?;
    let form = match read.form_reused {
        Some(_) => motcua_persistence::repo::forms::of_dossier(conn, d.id)?,
        None => None,
    };
    let representative = motcua_persistence::repo::representatives::of_dossier(conn, d.id)?;
    let supplement_request = match d.status {
        DossierStatus::SupplementRequested => {
            dossiers::open_supplement_request(conn, d.id)?.map(|r| SupplementRequestView {
                missing: r.missing,
                fields: form
                    .as_ref()
                    .map(|f| f.supplement_fields.clone())
                    .unwrap_or_default(),
                deadline: r.deadline,
                requested_at: r.requested_at,
            })
        }
        _ => None,
    };
    let apologies = dossiers::apologies(conn, d.id)?;
    let rating = read.rating;
    let fees_overpaid_vnd = motcua_persistence::repo::payments::surplus_of_dossier(conn, d.id)?;
    Ok(DossierDetail {
        view: view(d, actor, &calendar, now),
        documents,
        supplement_request,
        apologies,
        rating,
        fees_overpaid_vnd,
        form: form.map(Into::into),
        representative: representative.map(Into::into),
    })
}

/// The answer to a filing, from what was written: a dossier just filed has
/// no due moment yet (its clock starts at reception), so no outcome or
/// progress, and no supplement request, apology, rating or payment.
fn filed_detail(filed: Filed) -> DossierDetail {
    DossierDetail {
        view: view_standing(filed.dossier, filed.actor, (None, None)),
        documents: filed.documents,
        supplement_request: None,
        apologies: Vec::new(),
        rating: None,
        fees_overpaid_vnd: 0,
        form: filed.form.map(Into::into),
        representative: filed.representative.map(Into::into),
    }
}

fn written(detail: DossierDetail, status: StatusCode) -> ApiResult<Written> {
    let etag = detail.view.dossier.etag();
    let location = format!("/api/v1/dossiers/{}", detail.view.dossier.code);
    let body =
        serde_json::to_value(&detail).map_err(|e| ApiError::internal("serialise dossier", e))?;
    Ok(Written {
        status,
        body,
        location: Some(location),
        etag: Some(etag),
    })
}

/// Files a dossier. Citizens file online for themselves; officers at the
/// counter, or by post, for an applicant named by citizen ID number; the
/// provincial portal (integration account) online on behalf of a citizen.
/// Required documents must each be met by an upload, a stored document or,
/// at the counter, paper. Honours `Idempotency-Key`.
#[utoipa::path(operation_id = "submit_dossier", 
    tag = "dossiers",
    security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "1–255 of [A-Za-z0-9-]; a repeat returns the first response")),
    request_body = SubmitRequest,
    responses(
        (status = 201, body = DossierDetail, headers(("ETag" = String), ("Location" = String))),
        (status = 200, description = "Replay of an earlier request with the same key", body = DossierDetail),
        (status = 409, description = "Same key still in flight", body = crate::error::ProblemBody),
        (status = 422, description = "Invalid, or same key with another body", body = crate::error::ProblemBody),
    )
)]
#[post("/dossiers")]
pub async fn submit(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: Json<serde_json::Value>,
) -> ApiResult<HttpResponse> {
    if !motcua_domain::submission::may_submit(caller.role) {
        return Err(ApiError::forbidden());
    }
    let key = idempotency::key_of(&req)?;
    let fingerprint = idempotency::fingerprint("POST", "/api/v1/dossiers", &body.0);
    let request: SubmitRequest = from_value(body.0)?;
    let submission = Submission::from(request);
    let me = who(&caller);
    // In the write transaction that claims the key (if any) and stores the answer.
    let clock = state.clock.clone();
    let response = idempotency::once(
        &state,
        &format!("user:{}", caller.user_id),
        key,
        fingerprint,
        move |conn| {
            let filed = workflow::file(conn, me, submission, clock.now())?;
            written(filed_detail(filed), StatusCode::CREATED)
        },
    )
    .await?;
    Ok(response)
}

/// Dossiers the caller may see, soonest due first: citizens their own,
/// officers and leaders those that passed through their agency, admins and
/// the portal all.
#[utoipa::path(operation_id = "list_dossiers", tag = "dossiers", security(("bearer" = [])), params(DossierQuery), responses((status = 200, body = PageView<DossierView>)))]
#[get("/dossiers")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<DossierQuery>,
) -> ApiResult<HttpResponse> {
    let q = query.0;
    let page = page_request(q.page, q.per_page)?;
    let mut statuses = Vec::new();
    for part in q
        .status
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        statuses.push(
            part.parse::<DossierStatus>().map_err(|_| {
                ApiError::query_field("status", Problem::one_of(DossierStatus::NAMES))
            })?,
        );
    }
    if q.due_within
        .is_some_and(|n| !DueWithinDays::contains(n.into()))
    {
        return Err(ApiError::query_field(
            "due_within",
            DueWithinDays::problem(),
        ));
    }
    if let (Some(from), Some(to)) = (q.from, q.to)
        && from > to
    {
        return Err(ApiError::query_field(
            "to",
            Problem::rule(RuleCode::BeforeFrom),
        ));
    }
    let assignee = match q.assignee.as_deref() {
        None => None,
        Some("me") => Some(caller.user_id),
        Some(_) => return Err(ApiError::query_field("assignee", Problem::one_of(&["me"]))),
    };
    let (me, calendars) = (who(&caller), state.calendar.clone());
    let clock = state.clock.clone();
    let found = state
        .db(move |conn| {
            let Some(scope) = workflow::scope(conn, me)? else {
                return Ok(None);
            };
            let now = clock.now();
            let calendar = calendars.load(conn)?;
            let day_start = motcua_domain::local_time::start_of;
            let filter = DossierFilter {
                statuses,
                procedure_code: q
                    .procedure_code
                    .map(|c| c.trim().to_owned())
                    .filter(|c| !c.is_empty()),
                agency_id: q.agency_id,
                channel: q.channel,
                submitted_from: q.from.map(day_start),
                submitted_to: q.to.and_then(|d| d.succ_opt()).map(day_start),
                terms: q
                    .q
                    .as_deref()
                    .map(motcua_domain::text::search_terms)
                    .unwrap_or_default(),
                overdue_at: (q.overdue == Some(true)).then_some(now),
                due_by: q
                    .due_within
                    .map(|n| (now, handling::due_window_end(&calendar, now, n))),
                assignee_id: assignee,
            };
            let found = dossiers::list(conn, scope, &filter, page)?;
            let actors = workflow::actors(conn, me, &found.items)?;
            let items = found
                .items
                .into_iter()
                .zip(actors)
                .map(|(d, actor)| view(d, actor, &calendar, now))
                .collect();
            Ok(Some(PageView {
                items,
                page: found.page,
                per_page: found.per_page,
                total: found.total,
            }))
        })
        .await?;
    let page = found.unwrap_or(PageView {
        items: Vec::new(),
        page: page.page,
        per_page: page.per_page,
        total: 0,
    });
    Ok(HttpResponse::Ok().json(page))
}

/// One dossier with its documents, open supplement request, apologies and rating.
/// `ETag` carries its version for `If-Match`.
#[utoipa::path(operation_id = "get_dossier", 
    tag = "dossiers",
    security(("bearer" = [])),
    params(("code" = String, Path, example = "000.00.20.H56-261123-0001")),
    responses((status = 200, body = DossierDetail, headers(("ETag" = String))), (status = 404, body = crate::error::ProblemBody))
)]
#[get("/dossiers/{code}")]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    code: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let (me, calendars, code) = (who(&caller), state.calendar.clone(), code.into_inner());
    let clock = state.clock.clone();
    let found = state
        .db(move |conn| {
            let (read, actor) = workflow::visible_held(conn, me, &code)?;
            detail(conn, read, actor, &calendars, clock.now())
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((ETAG, found.view.dossier.etag()))
        .json(found))
}

/// The version an `If-Match` header names: `"v3"`, `W/"v3"` or `3`; `None`
/// for `*` (RFC 9110 §13.1.1: any current representation).
fn if_match(req: &HttpRequest) -> ApiResult<Option<i32>> {
    let Some(value) = req.headers().get(IF_MATCH) else {
        return Err(ApiError::new(ErrorCode::PreconditionRequired));
    };
    let text = value.to_str().unwrap_or("").trim();
    if text == "*" {
        return Ok(None);
    }
    let text = text.strip_prefix("W/").unwrap_or(text).trim_matches('"');
    let number = text.strip_prefix('v').unwrap_or(text);
    // A tag that names no version (empty, not ours) matches no dossier: it is
    // answered in the workflow's order (404 for a dossier the caller cannot
    // see, then 412 with the current `ETag`), like a stale one.
    Ok(Some(number.parse::<i32>().unwrap_or(NO_VERSION)))
}

/// An optional `If-Match`: absent or `*` is whatever version is current.
pub(crate) fn if_match_optional(req: &HttpRequest) -> Option<i32> {
    req.headers().get(IF_MATCH)?;
    if_match(req).ok().flatten()
}

/// A version no dossier has (versions start at 1).
const NO_VERSION: i32 = 0;

/// Takes an action on a dossier (see the state machine in the docs). Needs
/// `If-Match` with the current `ETag`: 428 without it, 412 when stale. An
/// action the status does not allow → 409 with `allowed_actions`; a role that
/// may not take it → 403; a dossier the caller may not see → 404.
#[utoipa::path(operation_id = "act_on_dossier", 
    tag = "dossiers",
    security(("bearer" = [])),
    params(("code" = String, Path), ("If-Match" = String, Header, description = "The dossier's ETag, e.g. `\"v3\"`, or `*` for whatever version is current")),
    request_body = ActionRequest,
    responses(
        (status = 200, body = DossierDetail, headers(("ETag" = String))),
        (status = 403, body = crate::error::ProblemBody),
        (status = 404, body = crate::error::ProblemBody),
        (status = 409, description = "Not allowed from the current status, or payment / apology missing", body = crate::error::ProblemBody),
        (status = 412, description = "Stale If-Match", body = crate::error::ProblemBody),
        (status = 428, description = "If-Match missing", body = crate::error::ProblemBody),
    )
)]
#[post("/dossiers/{code}/actions")]
pub async fn act(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    code: web::Path<String>,
    body: Json<ActionRequest>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    // What the body states is checked before the precondition: an invalid
    // body is refused (422) whatever `If-Match` says.
    let mut errors = motcua_domain::validation::FieldErrors::new();
    let note = b.note.as_deref().map(motcua_domain::text::nfc);
    Note::check_optional(&mut errors, "note", note.as_deref());
    if b.form_data.is_some() && b.action != Action::Supplement {
        errors.add("form_data", Problem::rule(RuleCode::UnknownField));
    }
    errors.into_result()?;
    let version = if_match(&req)?;
    let input = ActionInput {
        action: Some(b.action),
        note: b.note,
        assignee_id: b.assignee_id,
        unit_id: b.unit_id,
        target_agency_id: b.target_agency_id,
        missing: b.missing,
        fields: b.fields,
        deadline: b.deadline,
        documents: b.documents.into_iter().map(Into::into).collect(),
        form_data: b.form_data,
        paper_result: b.paper_result,
        new_appointment_date: b.new_appointment_date,
        tracking_number: b.tracking_number,
        sealing: Some(motcua_app::results::SealingKey::from_settings(
            &state.settings,
        )),
    };
    let (me, calendars, code) = (who(&caller), state.calendar.clone(), code.into_inner());
    let action = b.action;
    let clock = state.clock.clone();
    let result = state
        .db(move |conn| {
            let now = clock.now();
            // `If-Match: *` (no version): whatever version is current when
            // the action reads it; the write itself still refuses a
            // concurrent change.
            let acted = workflow::act_and_show(conn, me, &code, version, input, &calendars, now)?;
            // The response from what the action read and wrote; only the
            // apology letters are read again, and the form data if it has any.
            let apologies = dossiers::apologies(conn, acted.dossier.id)?;
            let form = if acted.has_form {
                motcua_persistence::repo::forms::of_dossier(conn, acted.dossier.id)?
            } else {
                None
            };
            let fields = form
                .as_ref()
                .map(|f| f.supplement_fields.clone())
                .unwrap_or_default();
            let representative =
                motcua_persistence::repo::representatives::of_dossier(conn, acted.dossier.id)?;
            Ok::<_, ApiError>(DossierDetail {
                form: form.map(Into::into),
                representative: representative.map(Into::into),
                supplement_request: acted.open_supplement.map(|r| SupplementRequestView {
                    missing: r.missing,
                    fields,
                    deadline: r.deadline,
                    requested_at: r.requested_at,
                }),
                view: view(acted.dossier, acted.actor, &acted.calendar, now),
                documents: acted.documents,
                apologies,
                rating: acted.rating,
                fees_overpaid_vnd: acted.fees_overpaid_vnd,
            })
        })
        .await?;
    tracing::info!(dossier = %result.view.dossier.code, %action, to = %result.view.dossier.status, "dossier action");
    Ok(HttpResponse::Ok()
        .insert_header((ETAG, result.view.dossier.etag()))
        .json(result))
}

/// Every step of a dossier: who, in which role and agency, when, from which
/// status to which, with the note and details.
#[utoipa::path(operation_id = "get_dossier_history", tag = "dossiers", security(("bearer" = [])), params(("code" = String, Path)), responses((status = 200, body = PageView<Event>)))]
#[get("/dossiers/{code}/history")]
pub async fn history(
    state: web::Data<AppState>,
    caller: Caller,
    code: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let (me, code) = (who(&caller), code.into_inner());
    let events = state
        .db(move |conn| {
            let (dossier, _) = workflow::visible(conn, me, &code)?;
            Ok(dossiers::history(conn, dossier.id)?)
        })
        .await?;
    let total = i64::try_from(events.len()).unwrap_or(i64::MAX);
    Ok(HttpResponse::Ok().json(PageView {
        items: events,
        page: 1,
        per_page: u32::try_from(total.max(1)).unwrap_or(u32::MAX),
        total,
    }))
}

/// Uploads a file straight into a dossier (multipart/form-data): the
/// applicant's supplement while one is requested; a staff scan of paper
/// handed in (`requirement` names it); or the result (`kind=result`, once approved).
#[utoipa::path(operation_id = "upload_dossier_document", 
    tag = "dossiers",
    security(("bearer" = [])),
    params(("code" = String, Path)),
    request_body(content = crate::routes::documents::UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, body = AttachedDocument, headers(("ETag" = String))), (status = 413, body = crate::error::ProblemBody), (status = 415, body = crate::error::ProblemBody))
)]
#[post("/dossiers/{code}/documents")]
pub async fn upload_to_dossier(
    state: web::Data<AppState>,
    caller: Caller,
    code: web::Path<String>,
    form: Multipart,
) -> ApiResult<HttpResponse> {
    let (me, code) = (who(&caller), code.into_inner());
    // Check the dossier first so nothing is stored for a dossier the caller cannot see.
    let lookup = code.clone();
    state
        .db(move |conn| Ok(workflow::visible(conn, me, &lookup)?))
        .await?;
    let upload = read_upload(form, state.settings.uploads.max_file_bytes).await?;
    let kind = kind_for(&caller, upload.kind)?;
    let doc = store_upload(&state, &caller, &upload, kind).await?;
    let (doc_id, requirement) = (doc.id.clone(), upload.requirement.clone());
    let clock = state.clock.clone();
    let attached = state
        .db(move |conn| {
            Ok(workflow::attach(
                conn,
                me,
                &code,
                &doc_id,
                requirement.as_deref(),
                clock.now(),
            )?)
        })
        .await;
    match attached {
        Ok(dossier) => {
            let etag = dossier.etag();
            Ok(HttpResponse::Created()
                .insert_header((ETAG, etag.clone()))
                .insert_header((LOCATION, format!("/api/v1/documents/{}", doc.id)))
                .json(AttachedDocument {
                    document: doc,
                    dossier_etag: etag,
                }))
        }
        Err(error) => {
            // The upload was for this dossier only; do not keep it around.
            let (files, id) = (state.files.clone(), doc.id.clone());
            let _ = AppState::cpu(move || files.delete(&id)).await;
            let id = doc.id;
            let _ = state
                .db(move |conn| Ok(motcua_persistence::repo::documents::delete(conn, &id)?))
                .await;
            Err(error)
        }
    }
}

/// The applicant rates the service once, after the outcome (returned, rejected or refused).
#[utoipa::path(operation_id = "rate_dossier", 
    tag = "dossiers",
    security(("bearer" = [])),
    params(("code" = String, Path)),
    request_body = RatingRequest,
    responses((status = 201, body = Rating), (status = 409, description = "Not finished yet, or rated already", body = crate::error::ProblemBody))
)]
#[post("/dossiers/{code}/rating")]
pub async fn rate(
    state: web::Data<AppState>,
    caller: Caller,
    code: web::Path<String>,
    body: Json<RatingRequest>,
) -> ApiResult<HttpResponse> {
    let now = state.clock.now();
    let (me, code) = (who(&caller), code.into_inner());
    let RatingRequest { score, comment } = body.0;
    let rating = state
        .db(move |conn| {
            Ok(workflow::rate(
                conn,
                me,
                &code,
                score,
                comment.as_deref(),
                now,
            )?)
        })
        .await?;
    Ok(HttpResponse::Created().json(rating))
}

/// The receipt slip: JSON, or a printable Vietnamese HTML page.
#[utoipa::path(operation_id = "get_dossier_receipt", 
    tag = "dossiers",
    security(("bearer" = [])),
    params(("code" = String, Path), ReceiptQuery),
    responses((status = 200, description = "The receipt slip; with `format=html` or `Accept: text/html`, the printable page",
        content((Receipt = "application/json"), (String = "text/html"))),
        (status = 404, body = crate::error::ProblemBody),
        (status = 409, description = "The dossier has not been received yet, so it has no receipt", body = crate::error::ProblemBody))
)]
#[get("/dossiers/{code}/receipt")]
pub async fn receipt(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    code: web::Path<String>,
    query: Query<ReceiptQuery>,
) -> ApiResult<HttpResponse> {
    let html = match query.0.format {
        Some(ReceiptFormat::Html) => true,
        Some(ReceiptFormat::Json) => false,
        None => req
            .headers()
            .get(ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/html") && !a.contains("application/json")),
    };
    let (me, code, hours) = (who(&caller), code.into_inner(), state.hours);
    let receipt = state
        .db(move |conn| {
            let (dossier, _) = workflow::visible(conn, me, &code)?;
            receipt_of(conn, &dossier, hours)
        })
        .await?;
    if html {
        return Ok(HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .insert_header((
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'",
            ))
            .body(receipt_html(&receipt)));
    }
    Ok(HttpResponse::Ok().json(receipt))
}
