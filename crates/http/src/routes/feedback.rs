//! Citizen feedback on administrative rules (phản ánh, kiến nghị): anyone
//! sends it (anonymous with a contact), staff of the agency concerned answer,
//! and the sender follows it with a tracking code.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Duration, Utc};
use motcua_domain::Role;
use motcua_domain::access::{self, AgencyView, StaffReach};
use motcua_domain::feedback::{Feedback, FeedbackAction, FeedbackStatus, deadline_days};
use motcua_domain::procedure::TimeUnit;
use motcua_domain::rule::RuleCode;
use motcua_domain::rules::{ContactOrBlank, Message, PersonName, ShortText, TextRule};
use motcua_domain::text::nfc;
use motcua_domain::validation::{FieldErrors, Problem};
use motcua_persistence::repo::feedback::{self as repo, FeedbackFilter, NewFeedback, Reply};
use motcua_persistence::repo::{agencies, calendar, procedures, rate_limits};
use motcua_persistence::{AnyConnection, StoreError};
use rand::Rng;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Caller, MaybeCaller};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{Json, Query};
use crate::routes::PageView;
use crate::routes::auth::client_address;
use crate::routes::users::page_request;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackRequest {
    /// The agency concerned; taken from the procedure when it has one.
    pub agency_id: Option<i64>,
    /// The procedure the feedback is about, if any.
    #[schema(example = "1.001234")]
    pub procedure_code: Option<String>,
    #[schema(
        value_type = motcua_domain::rules::ShortText,
        example = "Thành phần hồ sơ yêu cầu bản sao không cần thiết"
    )]
    pub subject: String,
    #[schema(value_type = motcua_domain::rules::Message)]
    pub content: String,
    /// Leave out to send anonymously.
    #[schema(value_type = Option<motcua_domain::rules::PersonNameOrBlank>)]
    pub sender_name: Option<String>,
    /// Phone or e-mail for the answer; required when not signed in.
    #[schema(value_type = Option<motcua_domain::rules::ContactOrBlank>, example = "0912345678")]
    pub contact: Option<String>,
}

/// Feedback as staff see it; the public and the sender see it without
/// `sender_name` and `contact`.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedbackView {
    #[serde(flatten)]
    pub feedback: Feedback,
    /// Past its due moment without an answer.
    pub overdue: bool,
}

impl FeedbackView {
    /// `now` from the app's clock: overdue is judged at that instant.
    fn staff(feedback: Feedback, now: DateTime<Utc>) -> Self {
        let overdue = feedback.handled_at.is_none()
            && matches!(
                feedback.status,
                FeedbackStatus::Received | FeedbackStatus::InfoRequested
            )
            && feedback.due_at < now;
        Self { feedback, overdue }
    }

    fn public(mut feedback: Feedback, now: DateTime<Utc>) -> Self {
        feedback.sender_name = None;
        feedback.contact = None;
        Self::staff(feedback, now)
    }
}

const FEEDBACK_BUCKET: &str = "feedback";
/// Feedback one address may send per hour.
const MAX_PER_HOUR: i32 = 10;

/// An unguessable code the sender follows the feedback with, e.g. `PA-7K3M-9QXD-2H`.
fn tracking_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    let mut chars = (0..10).map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]));
    let group = |n: usize, it: &mut dyn Iterator<Item = char>| it.take(n).collect::<String>();
    let (a, b, c) = (
        group(4, &mut chars),
        group(4, &mut chars),
        group(2, &mut chars),
    );
    format!("PA-{a}-{b}-{c}")
}

/// Sends feedback (no sign-in needed). The answer is due within 15 working
/// days; keep the tracking code to follow it.
#[utoipa::path(operation_id = "submit_feedback", 
    tag = "feedback",
    security((), ("bearer" = [])),
    request_body = FeedbackRequest,
    responses((status = 201, body = FeedbackView), (status = 429, body = crate::error::ProblemBody))
)]
#[post("/feedback")]
pub async fn submit(
    state: web::Data<AppState>,
    caller: MaybeCaller,
    req: HttpRequest,
    body: Json<FeedbackRequest>,
) -> ApiResult<HttpResponse> {
    let sender = caller.0.map(|c| c.user_id);
    let checked = check_request(body.0, sender.is_some())?;
    let address = client_address(&req, state.settings.server.trust_forwarded_for);
    let hours = state.hours;
    let now = state.clock.now();
    let created = state
        .db(move |conn| {
            let hits = rate_limits::hit(conn, FEEDBACK_BUCKET, &address, Duration::hours(1), now)?;
            if hits.hits > MAX_PER_HOUR {
                return Err(ApiError::too_many_requests(
                    (hits.resets_at - now).num_seconds(),
                ));
            }
            let agency_id =
                resolve_agency(conn, checked.procedure_code.as_deref(), checked.agency_id)?;
            let cal = calendar::load(conn, hours)?;
            let due_at = cal.due(
                now,
                deadline_days(FeedbackAction::Answer),
                TimeUnit::WorkingDays,
            );
            let code = tracking_code();
            Ok(repo::create(
                conn,
                &NewFeedback {
                    tracking_code: &code,
                    agency_id,
                    procedure_code: checked.procedure_code.as_deref(),
                    subject: &checked.subject,
                    content: &checked.content,
                    sender_name: checked.sender_name.as_deref(),
                    contact: checked.contact.as_deref(),
                    sender_user_id: sender,
                    due_at,
                    at: now,
                },
            )?)
        })
        .await?;
    tracing::info!(
        feedback = created.id,
        agency = created.agency_id,
        "feedback received"
    );
    Ok(HttpResponse::Created()
        .insert_header((
            actix_web::http::header::LOCATION,
            format!("/api/v1/feedback/tracking/{}", created.tracking_code),
        ))
        .json(FeedbackView::public(created, state.clock.now())))
}

/// A feedback request whose fields passed their rules, normalised.
struct CheckedFeedback {
    subject: String,
    content: String,
    sender_name: Option<String>,
    contact: Option<String>,
    procedure_code: Option<String>,
    agency_id: Option<i64>,
}

/// Every field's rule at once; an anonymous sender must leave a contact, and
/// the agency must be given unless the procedure names it.
fn check_request(body: FeedbackRequest, signed_in: bool) -> ApiResult<CheckedFeedback> {
    let mut errors = FieldErrors::new();
    let subject = nfc(&body.subject);
    let content = nfc(&body.content);
    ShortText::check(&mut errors, "subject", &subject);
    Message::check(&mut errors, "content", &content);
    let sender_name = body
        .sender_name
        .as_deref()
        .map(nfc)
        .filter(|n| !n.trim().is_empty());
    if let Some(name) = &sender_name {
        PersonName::check(&mut errors, "sender_name", name);
    }
    let given = body.contact.as_deref().filter(|c| !c.trim().is_empty());
    let contact = ContactOrBlank::check(&mut errors, "contact", given);
    if given.is_none() && !signed_in {
        errors.add("contact", Problem::Required);
    }
    let procedure_code = body
        .procedure_code
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned);
    if procedure_code.is_none() && body.agency_id.is_none() {
        errors.add("agency_id", Problem::Required);
    }
    errors.into_result()?;
    Ok(CheckedFeedback {
        subject,
        content,
        sender_name,
        contact,
        procedure_code,
        agency_id: body.agency_id,
    })
}

/// The agency concerned: the procedure's own, which a given agency must
/// match, or else the given one, which must exist.
fn resolve_agency(
    conn: &mut AnyConnection,
    procedure_code: Option<&str>,
    requested: Option<i64>,
) -> ApiResult<i64> {
    let from_procedure = match procedure_code {
        Some(code) => match procedures::get(conn, code) {
            Ok(p) => p.agency.map(|a| a.id),
            Err(StoreError::NotFound) => {
                return Err(ApiError::field(
                    "procedure_code",
                    Problem::rule(RuleCode::UnknownProcedure),
                ));
            }
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    match (from_procedure, requested) {
        (Some(own), Some(given)) if own != given => Err(ApiError::field(
            "agency_id",
            Problem::rule(RuleCode::AgencyMismatch),
        )),
        (Some(own), _) => Ok(own),
        (None, Some(given)) => match agencies::by_id(conn, given) {
            Ok(a) => Ok(a.id),
            Err(StoreError::NotFound) => Err(ApiError::field(
                "agency_id",
                Problem::rule(RuleCode::UnknownAgency),
            )),
            Err(e) => Err(e.into()),
        },
        (None, None) => Err(ApiError::field("agency_id", Problem::Required)),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FeedbackQuery {
    /// Staff only: one status or several separated by commas.
    pub status: Option<String>,
    /// Admins: one agency's feedback.
    pub agency_id: Option<i64>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

/// Staff: the feedback of their agency (admins: all), newest first. Everyone
/// else: answered feedback, as published, without the sender's details.
#[utoipa::path(operation_id = "list_feedback", tag = "feedback", security((), ("bearer" = [])), params(FeedbackQuery), responses((status = 200, body = PageView<FeedbackView>)))]
#[get("/feedback")]
pub async fn list(
    state: web::Data<AppState>,
    caller: MaybeCaller,
    query: Query<FeedbackQuery>,
) -> ApiResult<HttpResponse> {
    let q = query.0;
    let page = page_request(q.page, q.per_page)?;
    let staff = caller.0.filter(|c| c.role.is_staff());
    let statuses = match q.status.as_deref() {
        Some(raw) if staff.is_some() => Some(
            raw.split(',')
                .map(|s| s.trim().parse::<FeedbackStatus>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| {
                    ApiError::query_field("status", Problem::one_of(FeedbackStatus::NAMES))
                })?,
        ),
        Some(_) => {
            return Err(ApiError::query_field(
                "status",
                Problem::rule(RuleCode::StaffOnly),
            ));
        }
        None if staff.is_none() => Some(vec![FeedbackStatus::Answered, FeedbackStatus::Closed]),
        None => None,
    };
    let home = match &staff {
        Some(c) => home_of(&state, c).await?,
        None => None,
    };
    let agency_id = match access::agency_view(home, q.agency_id) {
        Ok(AgencyView::Home(id) | AgencyView::Chosen(id)) => Some(id),
        Ok(AgencyView::All) => None,
        Err(_) => return Err(ApiError::forbidden()),
    };
    let is_staff = staff.is_some();
    let page = state
        .db(move |conn| {
            Ok(repo::list(
                conn,
                &FeedbackFilter {
                    agency_id,
                    statuses,
                },
                page,
            )?)
        })
        .await?;
    let now = state.clock.now();
    let page = page.map(|feedback| {
        if is_staff {
            FeedbackView::staff(feedback, now)
        } else {
            FeedbackView::public(feedback, now)
        }
    });
    Ok(HttpResponse::Ok().json(PageView::from(page)))
}

/// The home agency staff act for; `None` for admins, who reach every agency.
async fn home_of(state: &AppState, caller: &Caller) -> ApiResult<Option<i64>> {
    match access::staff_reach(caller.role, caller.agency_id).map_err(|_| ApiError::forbidden())? {
        StaffReach::Home(agency) => {
            state
                .db(move |conn| Ok(Some(agencies::home_agency(conn, agency)?.id)))
                .await
        }
        StaffReach::Anywhere => Ok(None),
    }
}

/// Loads feedback that the caller, as staff, may handle: 404 otherwise.
async fn handled_by(state: &AppState, caller: &Caller, id: i64) -> ApiResult<Feedback> {
    caller.require(&[Role::Officer, Role::Leader, Role::Admin])?;
    let home = home_of(state, caller).await?;
    let fb = state.db(move |conn| Ok(repo::get(conn, id)?)).await?;
    if home.is_some_and(|h| h != fb.agency_id) {
        return Err(ApiError::not_found());
    }
    Ok(fb)
}

/// One feedback with its exchange (staff of the agency concerned).
#[utoipa::path(operation_id = "get_feedback", tag = "feedback", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 200, body = FeedbackView), (status = 404, body = crate::error::ProblemBody)))]
#[get("/feedback/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    let fb = handled_by(&state, &caller, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(FeedbackView::staff(fb, state.clock.now())))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyRequest {
    /// `answer`, `refuse` (with reasons), `request_info` or `close`.
    pub action: FeedbackAction,
    /// The answer, the reasons or the question; optional for `close`.
    #[serde(default)]
    #[schema(value_type = Option<motcua_domain::rules::MessageOrBlank>)]
    pub content: Option<String>,
}

fn transition_refused(status: FeedbackStatus, action: FeedbackAction) -> ApiError {
    ApiError::new(ErrorCode::Conflict).detail(
        format!("Không thể {action} phản ánh đang ở trạng thái {status}."),
        format!("Cannot {action} feedback that is {status}."),
    )
}

/// Answers, refuses, asks the sender for more, or closes (staff of the agency concerned).
#[utoipa::path(operation_id = "reply_to_feedback", 
    tag = "feedback",
    security(("bearer" = [])),
    params(("id" = i64, Path)),
    request_body = ReplyRequest,
    responses((status = 200, body = FeedbackView), (status = 409, description = "Not allowed in the current status", body = crate::error::ProblemBody))
)]
#[post("/feedback/{id}/reply")]
pub async fn reply(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: Json<ReplyRequest>,
) -> ApiResult<HttpResponse> {
    let ReplyRequest { action, content } = body.0;
    if !action.by_staff() {
        return Err(ApiError::field(
            "action",
            Problem::one_of(&["answer", "refuse", "request_info", "close"]),
        ));
    }
    let content = content.map(|c| nfc(&c)).unwrap_or_default();
    let mut errors = FieldErrors::new();
    if action == FeedbackAction::Close {
        Message::check_optional(&mut errors, "content", Some(&content));
    } else {
        Message::check(&mut errors, "content", &content);
    }
    errors.into_result()?;
    let fb = handled_by(&state, &caller, id.into_inner()).await?;
    let by = caller.user_id;
    let now = state.clock.now();
    let done = state
        .db(move |conn| {
            Ok(motcua_app::feedback::reply(
                conn,
                fb.id,
                action,
                content.trim(),
                Some(by),
                now,
            )?)
        })
        .await?;
    match done {
        Reply::Done(fb) => {
            tracing::info!(feedback = fb.id, action = %action, by, "feedback reply");
            Ok(HttpResponse::Ok().json(FeedbackView::staff(*fb, state.clock.now())))
        }
        Reply::NotAllowed(status) => Err(transition_refused(status, action)),
    }
}

/// Follows feedback with its tracking code (public; no sender details).
#[utoipa::path(operation_id = "track_feedback", tag = "feedback", params(("code" = String, Path, example = "PA-7K3M-9QXD-2H")), responses((status = 200, body = FeedbackView), (status = 404, body = crate::error::ProblemBody)))]
#[get("/feedback/tracking/{code}")]
pub async fn track(state: web::Data<AppState>, code: web::Path<String>) -> ApiResult<HttpResponse> {
    let code = code.into_inner().trim().to_uppercase();
    let fb = state
        .db(move |conn| Ok(repo::by_tracking_code(conn, &code)?))
        .await?;
    Ok(HttpResponse::Ok().json(FeedbackView::public(fb, state.clock.now())))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InfoRequest {
    /// What the agency asked for.
    #[schema(value_type = motcua_domain::rules::Message)]
    pub content: String,
}

/// The sender adds the information the agency asked for (with the tracking code).
#[utoipa::path(operation_id = "add_feedback_info", 
    tag = "feedback",
    params(("code" = String, Path)),
    request_body = InfoRequest,
    responses((status = 200, body = FeedbackView), (status = 409, description = "No information was asked for", body = crate::error::ProblemBody))
)]
#[post("/feedback/tracking/{code}/info")]
pub async fn add_info(
    state: web::Data<AppState>,
    code: web::Path<String>,
    body: Json<InfoRequest>,
) -> ApiResult<HttpResponse> {
    let content = nfc(&body.0.content);
    let mut errors = FieldErrors::new();
    Message::check(&mut errors, "content", &content);
    errors.into_result()?;
    let code = code.into_inner().trim().to_uppercase();
    let now = state.clock.now();
    let done = state
        .db(move |conn| {
            let fb = repo::by_tracking_code(conn, &code)?;
            Ok(motcua_app::feedback::reply(
                conn,
                fb.id,
                FeedbackAction::Supplement,
                content.trim(),
                None,
                now,
            )?)
        })
        .await?;
    match done {
        Reply::Done(fb) => {
            Ok(HttpResponse::Ok().json(FeedbackView::public(*fb, state.clock.now())))
        }
        Reply::NotAllowed(status) => Err(transition_refused(status, FeedbackAction::Supplement)),
    }
}
