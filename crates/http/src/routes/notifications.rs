//! Citizen notifications (docs/notifications.md): admins edit the template
//! of each notifying event type and channel and preview it; a verified
//! citizen opts out of (or back into) a channel; staff list the messages of
//! a dossier with their status.

use actix_web::{HttpResponse, delete, get, post, put, web};
use chrono::{DateTime, Utc};
use motcua_app::dossiers as workflow;
use motcua_app::notifications::template_in_force;
use motcua_domain::Role;
use motcua_domain::event::EventType;
use motcua_domain::notification::{self as rules, Channel, RenderError, Status, Template};
use motcua_domain::validation::Problem;
use motcua_persistence::repo::notifications::{self as store, Notification, StoredTemplate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::state::AppState;

/// Registers the notification operations (under `/api/v1`).
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(list_templates)
        .service(get_template)
        .service(put_template)
        .service(reset_template)
        .service(preview)
        .service(my_opt_outs)
        .service(opt_out)
        .service(opt_in)
        .service(of_dossier);
}

/// A template as edited: an e-mail has a subject, an SMS none.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateInput {
    /// The e-mail subject (ignored for SMS), with `{{placeholders}}`.
    #[schema(example = "Hồ sơ {{dossier_code}} đã được tiếp nhận")]
    pub subject: Option<String>,
    /// The text, with `{{placeholders}}`; an SMS renders to at most 3 segments.
    #[schema(
        example = "Hồ sơ {{dossier_code}} đã được tiếp nhận. Ngày hẹn trả kết quả: {{appointment_date}}."
    )]
    pub body: String,
}

/// What to preview: a draft, or (`body` absent) the template in force.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewInput {
    /// The draft's e-mail subject (ignored for SMS).
    pub subject: Option<String>,
    /// The draft's text; absent: preview the template in force.
    pub body: Option<String>,
}

/// A placeholder a template may use.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlaceholderView {
    /// Written `{{name}}` in a template.
    pub name: String,
    pub description: String,
}

/// The template in force for an event type and channel.
#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateView {
    pub event_type: EventType,
    pub channel: Channel,
    pub subject: Option<String>,
    pub body: String,
    /// An admin's text (true) or the built-in one (false).
    pub customised: bool,
    pub updated_by: Option<i64>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// Every notifying event type and channel, with the placeholders templates may use.
#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateList {
    pub items: Vec<TemplateView>,
    pub placeholders: Vec<PlaceholderView>,
}

/// A template rendered with sample data of its event type.
#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewView {
    pub subject: Option<String>,
    pub body: String,
    /// How many SMS segments the text takes (SMS only).
    pub sms_segments: Option<usize>,
}

/// The channels the signed-in citizen opted out of.
#[derive(Debug, Serialize, ToSchema)]
pub struct OptOutsView {
    pub opted_out: Vec<Channel>,
}

/// One message to the applicant of a dossier.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationView {
    pub id: i64,
    pub event_id: String,
    pub event_type: EventType,
    pub channel: Channel,
    /// The phone number or e-mail address it went to.
    pub recipient: String,
    pub subject: Option<String>,
    pub body: String,
    pub status: Status,
    pub attempts: i32,
    /// When the next attempt is due (queued messages).
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

impl From<Notification> for NotificationView {
    fn from(n: Notification) -> Self {
        Self {
            id: n.id,
            event_id: n.event_id,
            event_type: n.event_type,
            channel: n.channel,
            recipient: n.recipient,
            subject: n.subject,
            body: n.body,
            status: n.status,
            attempts: n.attempts,
            next_attempt_at: n.next_attempt_at,
            last_error: n.last_error,
            created_at: n.created_at,
            sent_at: n.sent_at,
        }
    }
}

/// A dossier's messages, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationList {
    pub items: Vec<NotificationView>,
}

/// The event type and channel of a path; 404 for a type that notifies nobody.
fn key(path: &(String, String)) -> ApiResult<(EventType, Channel)> {
    let event: EventType = path.0.parse().map_err(|_| ApiError::not_found())?;
    let channel: Channel = path.1.parse().map_err(|_| ApiError::not_found())?;
    if !rules::notifies(event) {
        return Err(ApiError::not_found());
    }
    Ok((event, channel))
}

/// A render problem as a field error (422).
fn render_problem(field: &str, error: RenderError) -> ApiError {
    let problem = match &error {
        RenderError::Unknown(_) => Problem::one_of(&rules::PLACEHOLDERS.map(|(name, _)| name)),
        RenderError::Empty => Problem::Required,
        other => Problem::format(&other.to_string()),
    };
    let mut e = ApiError::field(field, problem);
    e = e.detail(
        format!("Mẫu thông báo không hợp lệ: {error}."),
        format!("The template is not valid: {error}."),
    );
    e
}

fn template_of(input: TemplateInput, channel: Channel) -> Template {
    Template {
        subject: match channel {
            Channel::Email => input.subject,
            Channel::Sms => None,
        },
        body: input.body,
    }
}

fn view(
    conn: &mut motcua_persistence::AnyConnection,
    event: EventType,
    channel: Channel,
) -> ApiResult<TemplateView> {
    let saved = store::template(conn, event, channel)?;
    let in_force = template_in_force(conn, event, channel)?.ok_or_else(ApiError::not_found)?;
    Ok(TemplateView {
        event_type: event,
        channel,
        subject: in_force.subject,
        body: in_force.body,
        customised: saved.is_some(),
        updated_by: saved.as_ref().and_then(|s| s.updated_by),
        updated_at: saved.map(|s| s.updated_at),
    })
}

/// Every notifying event type and channel with the template in force (admin).
#[utoipa::path(operation_id = "list_notification_templates", tag = "notifications", security(("bearer" = [])), responses((status = 200, body = TemplateList), (status = 403, body = crate::error::ProblemBody)))]
#[get("/notification-templates")]
pub async fn list_templates(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    caller.require(&[Role::Admin])?;
    let items = state
        .db(|conn| {
            let mut items = Vec::new();
            for event in rules::NOTIFYING {
                for channel in Channel::ALL {
                    items.push(view(conn, event, *channel)?);
                }
            }
            Ok(items)
        })
        .await?;
    Ok(HttpResponse::Ok().json(TemplateList {
        items,
        placeholders: rules::PLACEHOLDERS
            .iter()
            .map(|(name, description)| PlaceholderView {
                name: (*name).to_owned(),
                description: (*description).to_owned(),
            })
            .collect(),
    }))
}

/// The template in force for an event type and channel (admin).
#[utoipa::path(operation_id = "get_notification_template", tag = "notifications", security(("bearer" = [])), params(("event_type" = String, Path, example = "dossier.received"), ("channel" = Channel, Path)), responses((status = 200, body = TemplateView), (status = 404, body = crate::error::ProblemBody)))]
#[get("/notification-templates/{event_type}/{channel}")]
pub async fn get_template(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    caller.require(&[Role::Admin])?;
    let (event, channel) = key(&path)?;
    let found = state.db(move |conn| view(conn, event, channel)).await?;
    Ok(HttpResponse::Ok().json(found))
}

/// Replaces the template of an event type and channel (admin). 422 when a
/// placeholder is unknown or not available for the type, or an SMS is too long.
#[utoipa::path(operation_id = "put_notification_template", tag = "notifications", security(("bearer" = [])), params(("event_type" = String, Path, example = "dossier.received"), ("channel" = Channel, Path)), request_body = TemplateInput, responses((status = 200, body = TemplateView), (status = 404, body = crate::error::ProblemBody), (status = 422, body = crate::error::ProblemBody)))]
#[put("/notification-templates/{event_type}/{channel}")]
pub async fn put_template(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    body: Json<TemplateInput>,
) -> ApiResult<HttpResponse> {
    caller.require(&[Role::Admin])?;
    let (event, channel) = key(&path)?;
    let template = template_of(body.0, channel);
    rules::check_template(event, channel, &template).map_err(|(f, e)| render_problem(f, e))?;
    let at = state.clock.now();
    let by = caller.user_id;
    let saved = state
        .db(move |conn| {
            store::put_template(
                conn,
                &StoredTemplate {
                    event_type: event,
                    channel,
                    subject: template.subject,
                    body: template.body,
                    updated_by: Some(by),
                    updated_at: at,
                },
            )?;
            view(conn, event, channel)
        })
        .await?;
    Ok(HttpResponse::Ok().json(saved))
}

/// Drops the admin's template: the built-in one is in force again (admin).
#[utoipa::path(operation_id = "reset_notification_template", tag = "notifications", security(("bearer" = [])), params(("event_type" = String, Path, example = "dossier.received"), ("channel" = Channel, Path)), responses((status = 200, body = TemplateView), (status = 404, body = crate::error::ProblemBody)))]
#[delete("/notification-templates/{event_type}/{channel}")]
pub async fn reset_template(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    caller.require(&[Role::Admin])?;
    let (event, channel) = key(&path)?;
    let found = state
        .db(move |conn| {
            store::delete_template(conn, event, channel)?;
            view(conn, event, channel)
        })
        .await?;
    Ok(HttpResponse::Ok().json(found))
}

/// Renders a template with sample data of the event type (admin): the draft
/// given, or the one in force when the draft has no body. 422 on an unknown placeholder.
#[utoipa::path(operation_id = "preview_notification_template", tag = "notifications", security(("bearer" = [])), params(("event_type" = String, Path, example = "dossier.received"), ("channel" = Channel, Path)), request_body = PreviewInput, responses((status = 200, body = PreviewView), (status = 404, body = crate::error::ProblemBody), (status = 422, body = crate::error::ProblemBody)))]
#[post("/notification-templates/{event_type}/{channel}/preview")]
pub async fn preview(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    body: Json<PreviewInput>,
) -> ApiResult<HttpResponse> {
    caller.require(&[Role::Admin])?;
    let (event, channel) = key(&path)?;
    let input = body.0;
    let template = match input.body {
        Some(text) => template_of(
            TemplateInput {
                subject: input.subject,
                body: text,
            },
            channel,
        ),
        None => state
            .db(move |conn| Ok(template_in_force(conn, event, channel)?))
            .await?
            .ok_or_else(ApiError::not_found)?,
    };
    let rendered =
        rules::check_template(event, channel, &template).map_err(|(f, e)| render_problem(f, e))?;
    let sms_segments = (channel == Channel::Sms).then(|| rules::sms_segments(&rendered.body));
    Ok(HttpResponse::Ok().json(PreviewView {
        subject: rendered.subject,
        body: rendered.body,
        sms_segments,
    }))
}

/// The citizen's applicant record, when the account proved it is that person.
fn verified_applicant(
    conn: &mut motcua_persistence::AnyConnection,
    caller: &Caller,
) -> ApiResult<i64> {
    let viewer = workflow::viewer(conn, crate::routes::dossiers::who(caller))?;
    match viewer.applicant_id {
        Some(id) if rules::may_change_opt_outs(viewer.identity) => Ok(id),
        _ => Err(ApiError::forbidden().detail(
            "Cần xác minh danh tính tài khoản trước khi thay đổi việc nhận thông báo.".to_owned(),
            "Verify the account's identity before changing notifications.".to_owned(),
        )),
    }
}

/// The channels the signed-in (verified) citizen opted out of.
#[utoipa::path(operation_id = "list_my_notification_opt_outs", tag = "notifications", security(("bearer" = [])), responses((status = 200, body = OptOutsView), (status = 403, body = crate::error::ProblemBody)))]
#[get("/me/notification-opt-outs")]
pub async fn my_opt_outs(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    caller.require(&[Role::Citizen])?;
    let opted_out = state
        .db(move |conn| {
            let applicant = verified_applicant(conn, &caller)?;
            Ok(store::opt_outs(conn, applicant)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(OptOutsView { opted_out }))
}

/// Stops notifications on a channel (one-time codes still come). Idempotent.
#[utoipa::path(operation_id = "create_my_notification_opt_out", tag = "notifications", security(("bearer" = [])), params(("channel" = Channel, Path)), responses((status = 200, body = OptOutsView), (status = 403, body = crate::error::ProblemBody), (status = 404, body = crate::error::ProblemBody)))]
#[put("/me/notification-opt-outs/{channel}")]
pub async fn opt_out(
    state: web::Data<AppState>,
    caller: Caller,
    channel: web::Path<String>,
) -> ApiResult<HttpResponse> {
    caller.require(&[Role::Citizen])?;
    let channel: Channel = channel.parse().map_err(|_| ApiError::not_found())?;
    let at = state.clock.now();
    let opted_out = state
        .db(move |conn| {
            let applicant = verified_applicant(conn, &caller)?;
            store::opt_out(conn, applicant, channel, at)?;
            Ok(store::opt_outs(conn, applicant)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(OptOutsView { opted_out }))
}

/// Receives notifications on a channel again. Idempotent.
#[utoipa::path(operation_id = "delete_my_notification_opt_out", tag = "notifications", security(("bearer" = [])), params(("channel" = Channel, Path)), responses((status = 200, body = OptOutsView), (status = 403, body = crate::error::ProblemBody), (status = 404, body = crate::error::ProblemBody)))]
#[delete("/me/notification-opt-outs/{channel}")]
pub async fn opt_in(
    state: web::Data<AppState>,
    caller: Caller,
    channel: web::Path<String>,
) -> ApiResult<HttpResponse> {
    caller.require(&[Role::Citizen])?;
    let channel: Channel = channel.parse().map_err(|_| ApiError::not_found())?;
    let opted_out = state
        .db(move |conn| {
            let applicant = verified_applicant(conn, &caller)?;
            store::opt_in(conn, applicant, channel)?;
            Ok(store::opt_outs(conn, applicant)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(OptOutsView { opted_out }))
}

/// The messages sent (or not) to a dossier's applicant, with their status:
/// staff who may see the dossier, and admins.
#[utoipa::path(operation_id = "list_dossier_notifications", tag = "notifications", security(("bearer" = [])), params(("code" = String, Path)), responses((status = 200, body = NotificationList), (status = 403, body = crate::error::ProblemBody), (status = 404, body = crate::error::ProblemBody)))]
#[get("/dossiers/{code}/notifications")]
pub async fn of_dossier(
    state: web::Data<AppState>,
    caller: Caller,
    code: web::Path<String>,
) -> ApiResult<HttpResponse> {
    caller.require(&[Role::Officer, Role::Leader, Role::Admin])?;
    let me = crate::routes::dossiers::who(&caller);
    let code = code.into_inner();
    let items = state
        .db(move |conn| {
            let (dossier, _) = workflow::visible(conn, me, &code)?;
            Ok(store::of_dossier(conn, &dossier.code)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(NotificationList {
        items: items.into_iter().map(NotificationView::from).collect(),
    }))
}
