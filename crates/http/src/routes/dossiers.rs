//! Dossiers: submission, the officer's lists, actions with optimistic
//! concurrency, the trail, documents, the receipt slip and the rating.

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, ACCEPT, ETAG, IF_MATCH, LOCATION};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, NaiveDate, Utc};
use motcua_domain::calendar::{Outcome, Progress, WorkingCalendar, WorkingHours};
use motcua_domain::dossier::{
    Action, Actor, Channel, Dossier, DossierStatus, RatingScore, allowed_actions,
};
use motcua_domain::handling::{self, ClockState};
use motcua_domain::rule::RuleCode;
use motcua_domain::rules::{DueWithinDays, Note, RangeRule, TextRule};
use motcua_domain::validation::Problem;
use motcua_persistence::AnyConnection;
use motcua_persistence::repo::dossiers::{
    self, Apology, DossierDocument, DossierFilter, Event, Rating,
};
use motcua_persistence::repo::{calendar, procedures};
use motcua_persistence::workflow::{self, ActionInput, ApplicantInput, DocumentInput, Submission};
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

pub fn who(caller: &Caller) -> workflow::Principal {
    workflow::Principal {
        user_id: caller.user_id,
        role: caller.role,
        agency_id: caller.agency_id,
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicantBody {
    /// A person's 12-digit citizen ID number. Give this or `tax_code`.
    #[serde(default)]
    #[schema(value_type = Option<motcua_domain::rules::CitizenIdNumberOrBlank>, example = "079203001234")]
    pub id_number: Option<String>,
    /// An organisation's tax code (10 digits, or 10-3 for a branch), when a
    /// business or association files.
    #[serde(default)]
    #[schema(value_type = Option<motcua_domain::rules::TaxCodeNumberOrBlank>, example = "0100233488")]
    pub tax_code: Option<String>,
    /// Required when the applicant is new to the system.
    #[serde(default)]
    #[schema(value_type = Option<motcua_domain::rules::PersonNameOrBlank>)]
    pub full_name: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<motcua_domain::rules::PhoneNumberOrBlank>)]
    pub phone: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<motcua_domain::rules::EmailOrBlank>)]
    pub email: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub date_of_birth: Option<NaiveDate>,
}

/// One required document met: by an uploaded file, a file from the applicant's
/// store, or (at the counter) paper.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentRef {
    /// Code of the procedure's required document, e.g. `D1`.
    #[serde(default)]
    pub requirement: Option<String>,
    /// Id from `POST /documents`, or of a document in the applicant's store.
    #[serde(default)]
    pub document_id: Option<String>,
    /// Handed in on paper at the counter (counter and postal dossiers only).
    #[serde(default)]
    pub paper: bool,
}

impl From<DocumentRef> for DocumentInput {
    fn from(d: DocumentRef) -> Self {
        DocumentInput {
            requirement: d.requirement,
            document_id: d.document_id,
            paper: d.paper,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitRequest {
    #[schema(value_type = motcua_domain::rules::ProcedureCode, example = "1.004630")]
    pub procedure_code: String,
    /// The receiving agency, for procedures every commune handles.
    #[serde(default)]
    pub agency_id: Option<i64>,
    /// `online` for citizens and the portal; `counter` (default) or `postal` for officers.
    #[serde(default)]
    pub channel: Option<Channel>,
    /// How the result goes back; defaults to the submission channel.
    #[serde(default)]
    pub result_channel: Option<Channel>,
    /// Officers and integration accounts: whom the dossier is for. Citizens leave it out.
    #[serde(default)]
    pub applicant: Option<ApplicantBody>,
    #[serde(default)]
    pub documents: Vec<DocumentRef>,
    /// For procedures with fee tiers: the codes that apply.
    #[serde(default)]
    pub fee_codes: Vec<String>,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DossierView {
    #[serde(flatten)]
    pub dossier: Dossier,
    /// The status in Vietnamese, for display.
    pub status_label: &'static str,
    /// Status code of the National Public Service Portal (1–10).
    pub portal_status: u8,
    /// Once processing ended: `early`, `on_time` or `late` against `due_at`.
    pub outcome: Option<Outcome>,
    /// While open: `within_time` or `overdue` now.
    pub progress: Option<Progress>,
    /// What the caller may do next.
    pub allowed_actions: Vec<Action>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SupplementRequestView {
    pub missing: Vec<String>,
    pub deadline: NaiveDate,
    pub requested_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DossierDetail {
    #[serde(flatten)]
    pub view: DossierView,
    pub documents: Vec<DossierDocument>,
    pub supplement_request: Option<SupplementRequestView>,
    pub apologies: Vec<Apology>,
    pub rating: Option<Rating>,
    /// Money received beyond the fee (a payment that arrived after the fee was
    /// paid by another route); each surplus has a refund proposed or made.
    pub fees_overpaid_vnd: i64,
}

fn view(d: Dossier, actor: Actor, calendar: &WorkingCalendar, now: DateTime<Utc>) -> DossierView {
    let (outcome, progress) = handling::standing(
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
    DossierView {
        status_label: d.status.label_vi(),
        portal_status: d.portal_status(),
        outcome,
        progress,
        allowed_actions: allowed_actions(d.facts(), actor),
        dossier: d,
    }
}

fn detail(
    conn: &mut AnyConnection,
    d: Dossier,
    actor: Actor,
    hours: WorkingHours,
    now: DateTime<Utc>,
) -> ApiResult<DossierDetail> {
    let calendar = calendar::load(conn, hours)?;
    let documents = dossiers::documents_of(conn, d.id)?;
    let supplement_request = match d.status {
        DossierStatus::SupplementRequested => {
            dossiers::open_supplement_request(conn, d.id)?.map(|r| SupplementRequestView {
                missing: r.missing,
                deadline: r.deadline,
                requested_at: r.requested_at,
            })
        }
        _ => None,
    };
    let apologies = dossiers::apologies(conn, d.id)?;
    let rating = dossiers::rating(conn, d.id)?;
    let fees_overpaid_vnd = motcua_persistence::repo::payments::surplus_of_dossier(conn, d.id)?;
    Ok(DossierDetail {
        view: view(d, actor, &calendar, now),
        documents,
        supplement_request,
        apologies,
        rating,
        fees_overpaid_vnd,
    })
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
    let submission = Submission {
        procedure_code: request.procedure_code,
        agency_id: request.agency_id,
        channel: request.channel,
        result_channel: request.result_channel,
        applicant: request.applicant.map(|a| ApplicantInput {
            id_number: a.id_number,
            tax_code: a.tax_code,
            full_name: a.full_name.unwrap_or_default(),
            phone: a.phone,
            email: a.email,
            address: a.address,
            date_of_birth: a.date_of_birth,
        }),
        documents: request.documents.into_iter().map(Into::into).collect(),
        fee_codes: request.fee_codes,
        note: request.note,
    };
    let (me, hours) = (who(&caller), state.hours);
    let response = idempotency::once(
        &state,
        &format!("user:{}", caller.user_id),
        key,
        fingerprint,
        move |conn| {
            let now = motcua_persistence::time::now();
            let dossier = workflow::submit(conn, me, submission, now)?;
            let (dossier, actor) = workflow::visible(conn, me, &dossier.code)?;
            written(
                detail(conn, dossier, actor, hours, now)?,
                StatusCode::CREATED,
            )
        },
    )
    .await?;
    Ok(response)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DossierQuery {
    /// One status or several separated by commas, e.g. `received,in_review`.
    pub status: Option<String>,
    pub procedure_code: Option<String>,
    /// Receiving or handling agency (admins and the portal; staff see their agency anyway).
    pub agency_id: Option<i64>,
    /// `true`: open dossiers past their due moment.
    pub overdue: Option<bool>,
    /// Open dossiers due within this many working days (0 = today), not yet overdue.
    #[param(value_type = Option<motcua_domain::rules::DueWithinDays>)]
    pub due_within: Option<u32>,
    pub channel: Option<Channel>,
    /// Submitted on or after this date (local).
    pub from: Option<NaiveDate>,
    /// Submitted on or before this date (local).
    pub to: Option<NaiveDate>,
    /// Code, applicant name or ID number.
    pub q: Option<String>,
    /// `me`: dossiers assigned to the caller.
    pub assignee: Option<String>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
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
    let (me, hours) = (who(&caller), state.hours);
    let found = state
        .db(move |conn| {
            let Some(scope) = workflow::scope(conn, me)? else {
                return Ok(None);
            };
            let now = motcua_persistence::time::now();
            let calendar = calendar::load(conn, hours)?;
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
    let (me, hours, code) = (who(&caller), state.hours, code.into_inner());
    let found = state
        .db(move |conn| {
            let (dossier, actor) = workflow::visible(conn, me, &code)?;
            detail(conn, dossier, actor, hours, motcua_persistence::time::now())
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((ETAG, found.view.dossier.etag()))
        .json(found))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionRequest {
    pub action: Action,
    /// Remark, or the written reason (required to refuse, reject, cancel, send back, apologise).
    #[serde(default)]
    #[schema(value_type = Option<motcua_domain::rules::NoteOrBlank>)]
    pub note: Option<String>,
    /// assign: the officer to handle it.
    #[serde(default)]
    pub assignee_id: Option<i64>,
    /// assign: the division to route it to.
    #[serde(default)]
    pub unit_id: Option<i64>,
    /// transfer: the agency to hand it to (inter-agency one-stop).
    #[serde(default)]
    pub target_agency_id: Option<i64>,
    /// request_supplement: what is missing.
    #[serde(default)]
    pub missing: Vec<String>,
    /// request_supplement: date to supplement by (default: 15 working days).
    #[serde(default)]
    pub deadline: Option<NaiveDate>,
    /// supplement: documents added; issue_result: result documents (uploaded as `kind=result`).
    #[serde(default)]
    pub documents: Vec<DocumentRef>,
    /// issue_result: the result exists on paper only.
    #[serde(default)]
    pub paper_result: bool,
    /// apology: the new appointment date (a working day).
    #[serde(default)]
    pub new_appointment_date: Option<NaiveDate>,
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
    errors.into_result()?;
    let version = if_match(&req)?;
    let input = ActionInput {
        action: Some(b.action),
        note: b.note,
        assignee_id: b.assignee_id,
        unit_id: b.unit_id,
        target_agency_id: b.target_agency_id,
        missing: b.missing,
        deadline: b.deadline,
        documents: b.documents.into_iter().map(Into::into).collect(),
        paper_result: b.paper_result,
        new_appointment_date: b.new_appointment_date,
    };
    let (me, hours, code) = (who(&caller), state.hours, code.into_inner());
    let action = b.action;
    let result = state
        .db(move |conn| {
            let now = motcua_persistence::time::now();
            let version = match version {
                Some(version) => version,
                // `If-Match: *`: whatever version is current when we read it;
                // the write itself still refuses a concurrent change.
                None => workflow::visible(conn, me, &code)?.0.version,
            };
            let dossier = workflow::act(conn, me, &code, version, input, hours, now)?;
            let (dossier, actor) = workflow::visible(conn, me, &dossier.code)?;
            detail(conn, dossier, actor, hours, now)
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
    let total = events.len() as i64;
    Ok(HttpResponse::Ok().json(PageView {
        items: events,
        page: 1,
        per_page: u32::try_from(total.max(1)).unwrap_or(u32::MAX),
        total,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttachedDocument {
    pub document: motcua_domain::document::Document,
    /// The dossier's new version.
    pub dossier_etag: String,
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
    let attached = state
        .db(move |conn| {
            Ok(workflow::attach(
                conn,
                me,
                &code,
                &doc_id,
                requirement.as_deref(),
                motcua_persistence::time::now(),
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RatingRequest {
    pub score: RatingScore,
    #[serde(default)]
    #[schema(value_type = Option<motcua_domain::rules::CommentOrBlank>)]
    pub comment: Option<String>,
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
    let (me, code) = (who(&caller), code.into_inner());
    let RatingRequest { score, comment } = body.0;
    let rating = state
        .db(move |conn| Ok(workflow::rate(conn, me, &code, score, comment.as_deref())?))
        .await?;
    Ok(HttpResponse::Created().json(rating))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReceiptLine {
    pub requirement: String,
    pub name: String,
    pub originals: u8,
    pub copies: u8,
    /// `paper`, `electronic` or `reused` (from the applicant's store).
    pub form: &'static str,
}

/// The receipt slip (giấy tiếp nhận hồ sơ và hẹn trả kết quả).
#[derive(Debug, Serialize, ToSchema)]
pub struct Receipt {
    pub code: String,
    pub agency: motcua_domain::agency::AgencyRef,
    pub procedure: motcua_domain::dossier::ProcedureRef,
    pub applicant_name: String,
    /// Only the last four digits.
    pub applicant_id_number: Option<String>,
    /// An organisation's tax code, in full (it is public).
    pub applicant_tax_code: Option<String>,
    pub channel: Channel,
    pub received_at: DateTime<Utc>,
    /// The appointment to collect the result (after any apology letter).
    pub appointment_at: Option<DateTime<Utc>>,
    /// The appointment was counted across days of a year whose official
    /// holiday notice is not confirmed yet (Labour Code days assumed), so it
    /// may still move.
    pub appointment_provisional: bool,
    pub documents: Vec<ReceiptLine>,
    pub fees_due_vnd: i64,
    pub received_by: Option<String>,
    /// For an organisation's dossier: the PIN that tracking asks for with the
    /// tax code (a tax code is public, so it cannot be the secret alone).
    pub tracking_pin: Option<String>,
}

fn receipt_of(
    conn: &mut AnyConnection,
    d: &Dossier,
    hours: motcua_domain::calendar::WorkingHours,
) -> ApiResult<Receipt> {
    let Some(received_at) = d.received_at else {
        return Err(ApiError::new(ErrorCode::InvalidTransition).detail(
            "Hồ sơ chưa được tiếp nhận nên chưa có giấy tiếp nhận.",
            "The dossier has not been received, so it has no receipt yet.",
        ));
    };
    let spec = procedures::get_by_id(conn, d.procedure.id)?.spec;
    let mut documents = Vec::new();
    for line in dossiers::documents_of(conn, d.id)?
        .into_iter()
        .filter(|l| l.stage != "result")
    {
        let requirement = line.requirement.clone().unwrap_or_default();
        let required = spec
            .required_documents
            .iter()
            .find(|r| r.code == requirement);
        documents.push(ReceiptLine {
            name: required.map_or_else(
                || line.title.clone().unwrap_or_default(),
                |r| r.name.clone(),
            ),
            originals: required.map_or(1, |r| r.originals),
            copies: required.map_or(0, |r| r.copies),
            form: if line.paper {
                "paper"
            } else if line.reused {
                "reused"
            } else {
                "electronic"
            },
            requirement,
        });
    }
    let received_by = dossiers::history(conn, d.id)?
        .into_iter()
        .rev()
        .find(|e| e.action == Action::Receive.as_str())
        .and_then(|e| e.actor_name);
    Ok(Receipt {
        code: d.code.clone(),
        agency: d.agency.clone(),
        procedure: d.procedure.clone(),
        applicant_name: d.applicant.full_name.clone(),
        applicant_id_number: d
            .applicant
            .id_number
            .as_deref()
            .map(|n| format!("********{}", &n[n.len().saturating_sub(4)..])),
        applicant_tax_code: d.applicant.tax_code.clone(),
        channel: d.channel,
        received_at,
        appointment_at: d.appointment_at,
        appointment_provisional: match d.appointment_at {
            Some(appointment) => calendar::load(conn, hours)?.rests_on_provisional(
                motcua_domain::local_time::date(received_at),
                motcua_domain::local_time::date(appointment),
            ),
            None => false,
        },
        documents,
        fees_due_vnd: d.fees_due_vnd,
        received_by,
        tracking_pin: dossiers::tracking_pin(conn, d.id)?,
    })
}

/// Local (UTC+7) wall time, as printed on Vietnamese forms.
fn local(at: DateTime<Utc>) -> String {
    motcua_domain::local_time::on_forms(at)
}

fn receipt_html(r: &Receipt) -> String {
    let e = |s: &str| html_escape::encode_text(s).into_owned();
    let mut rows = String::new();
    for (i, line) in r.documents.iter().enumerate() {
        let form = match line.form {
            "paper" => "Bản giấy",
            "reused" => "Dùng lại từ kho dữ liệu",
            _ => "Bản điện tử",
        };
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            i + 1,
            e(&line.name),
            line.originals,
            line.copies,
            form
        ));
    }
    let mut appointment = r
        .appointment_at
        .map(local)
        .unwrap_or_else(|| "—".to_owned());
    if r.appointment_provisional {
        appointment.push_str(
            " (dự kiến: lịch nghỉ lễ của năm chưa có thông báo chính thức, ngày hẹn có thể thay đổi)",
        );
    }
    format!(
        r#"<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>Giấy tiếp nhận hồ sơ {code}</title>
<style>body{{font-family:"Times New Roman",serif;max-width:800px;margin:2em auto;line-height:1.5}}
h1{{font-size:1.3em;text-align:center;text-transform:uppercase}}table{{border-collapse:collapse;width:100%}}
td,th{{border:1px solid #000;padding:4px 6px;text-align:left}}.muted{{color:#444}}
@media print{{body{{margin:0}}}}</style></head>
<body>
<p><strong>{agency}</strong><br><span class="muted">Mã cơ quan: {agency_code}</span></p>
<p style="text-align:center"><strong>CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM</strong><br>Độc lập - Tự do - Hạnh phúc</p>
<h1>Giấy tiếp nhận hồ sơ và hẹn trả kết quả</h1>
<p>Mã hồ sơ: <strong>{code}</strong></p>
<p>Bộ phận tiếp nhận và trả kết quả đã tiếp nhận hồ sơ của: <strong>{applicant}</strong>{id}</p>
<p>Nội dung yêu cầu giải quyết: {procedure} (mã thủ tục {procedure_code})</p>
<p>Thành phần hồ sơ nộp gồm:</p>
<table><thead><tr><th>STT</th><th>Tên giấy tờ</th><th>Bản chính</th><th>Bản sao</th><th>Hình thức</th></tr></thead>
<tbody>
{rows}</tbody></table>
<p>Thời gian nhận hồ sơ: {received}</p>
<p>Thời gian trả kết quả giải quyết hồ sơ: <strong>{appointment}</strong></p>
<p>Phí, lệ phí: {fees}</p>
<p>Người tiếp nhận: {officer}</p>
<p class="muted">Tra cứu tình trạng hồ sơ với mã hồ sơ và {tracking} tại /api/v1/tracking/{code}.</p>
</body></html>
"#,
        tracking = match &r.tracking_pin {
            Some(pin) => format!("mã số thuế kèm mã tra cứu <strong>{}</strong>", e(pin)),
            None => "số định danh cá nhân".to_owned(),
        },
        code = e(&r.code),
        agency = e(&r.agency.name),
        agency_code = e(&r.agency.code),
        applicant = e(&r.applicant_name),
        id = match (&r.applicant_id_number, &r.applicant_tax_code) {
            (Some(n), _) => format!(" (số định danh {})", e(n)),
            (None, Some(code)) => format!(" (mã số thuế {})", e(code)),
            (None, None) => String::new(),
        },
        procedure = e(&r.procedure.name),
        procedure_code = e(&r.procedure.code),
        rows = rows,
        received = local(r.received_at),
        appointment = appointment,
        fees = if r.fees_due_vnd > 0 {
            motcua_domain::payment::format_vnd(r.fees_due_vnd)
        } else {
            "Không".to_owned()
        },
        officer = e(r.received_by.as_deref().unwrap_or("—")),
    )
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReceiptQuery {
    /// `json` (default) or `html`; `Accept: text/html` also gives the printable page.
    #[param(inline)]
    pub format: Option<ReceiptFormat>,
}

/// How the receipt is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptFormat {
    Json,
    Html,
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
