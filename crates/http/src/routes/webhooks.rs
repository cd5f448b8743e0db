//! Webhook subscriptions (docs/events.md): admins and integration accounts
//! subscribe a URL to events; each sees its own subscriptions, admins all.
//! The secret is shown once, at creation and at rotation.

use actix_web::{HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, Utc};
use motcua_domain::Role;
use motcua_domain::access;
use motcua_domain::event::EventType;
use motcua_domain::rule::RuleCode;
use motcua_domain::validation::Problem;
use motcua_domain::webhook::{self, DeliveryStatus, SubscriptionStatus};
use motcua_persistence::StoreError;
use motcua_persistence::repo::webhooks::{self as store, Attempt, Delivery, Subscription};
use motcua_persistence::repo::{agencies, integrations};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::state::AppState;

/// Registers the webhook operations (under `/api/v1`).
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(create)
        .service(list)
        .service(get)
        .service(update)
        .service(remove)
        .service(rotate_secret)
        .service(deliveries)
        .service(retry);
}

/// Deliveries shown per subscription (newest first).
const DELIVERIES_SHOWN: i64 = 100;

/// A new subscription.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// Where deliveries are posted: an absolute http(s) URL; in production a public address.
    #[schema(example = "https://portal.example.vn/hooks/motcua")]
    pub url: String,
    /// The event types to receive; empty or absent: every type.
    #[serde(default)]
    pub event_types: Vec<EventType>,
    /// Only this agency's events; absent: every agency's.
    pub agency_id: Option<i64>,
}

/// A subscription, without its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookView {
    pub id: i64,
    pub owner_id: i64,
    pub url: String,
    pub event_types: Vec<EventType>,
    pub agency_id: Option<i64>,
    pub status: SubscriptionStatus,
    pub disabled_reason: Option<String>,
    /// Failed attempts in a row (reset by a success).
    pub consecutive_failures: i32,
    pub failing_since: Option<DateTime<Utc>>,
    /// Until when the rotated-out secret still signs next to the current one.
    pub previous_secret_valid_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<&Subscription> for WebhookView {
    fn from(s: &Subscription) -> Self {
        Self {
            id: s.id,
            owner_id: s.owner_id,
            url: s.url.clone(),
            event_types: s.event_types.clone(),
            agency_id: s.agency_id,
            status: s.status,
            disabled_reason: s.disabled_reason.clone(),
            consecutive_failures: s.consecutive_failures,
            failing_since: s.failing_since,
            previous_secret_valid_until: s.previous_secret_until,
            created_at: s.created_at,
        }
    }
}

/// A subscription with its secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookWithSecret {
    #[serde(flatten)]
    pub webhook: WebhookView,
    /// `whsec_…`: keep it; it is never shown again.
    pub secret: String,
}

/// Subscriptions.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookList {
    pub items: Vec<WebhookView>,
}

/// A change of status.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    /// `disabled` stops deliveries; `active` resumes them (the failure run starts over).
    pub status: SubscriptionStatus,
}

/// One attempt of a delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    pub attempt: i32,
    pub at: DateTime<Utc>,
    /// The receiver's status; absent when no answer came.
    pub status_code: Option<i32>,
    pub latency_ms: i64,
    /// The start of the receiver's answer.
    pub response_excerpt: Option<String>,
    /// Why nothing was sent or received.
    pub error: Option<String>,
}

impl From<Attempt> for AttemptView {
    fn from(a: Attempt) -> Self {
        Self {
            attempt: a.attempt,
            at: a.at,
            status_code: a.status_code,
            latency_ms: a.latency_ms,
            response_excerpt: a.response_excerpt,
            error: a.error,
        }
    }
}

/// One event's delivery to a subscription, with its attempts.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    pub id: i64,
    /// The event's id (the `webhook-id` header).
    pub event_id: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    /// When the next attempt is due (pending deliveries).
    pub next_attempt_at: DateTime<Utc>,
    pub log: Vec<AttemptView>,
}

/// Deliveries, newest first (the last 100).
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryList {
    pub items: Vec<DeliveryView>,
}

fn delivery_view(
    conn: &mut motcua_persistence::AnyConnection,
    d: Delivery,
) -> ApiResult<DeliveryView> {
    let log = store::attempts_of(conn, d.id)?
        .into_iter()
        .map(AttemptView::from)
        .collect();
    Ok(DeliveryView {
        id: d.id,
        event_id: d.event_id,
        status: d.status,
        attempts: d.attempts,
        next_attempt_at: d.next_attempt_at,
        log,
    })
}

fn allowed(caller: &Caller) -> ApiResult<()> {
    caller.require(&[Role::Admin, Role::Integration])
}

/// The subscription if the caller may see it (its owner, or an admin);
/// not found otherwise, so ids of others' subscriptions say nothing.
fn visible(
    conn: &mut motcua_persistence::AnyConnection,
    caller: &Caller,
    id: i64,
) -> ApiResult<Subscription> {
    match store::find(conn, id)? {
        Some(s) if caller.is(Role::Admin) || s.owner_id == caller.user_id => Ok(s),
        _ => Err(ApiError::not_found()),
    }
}

fn new_secret() -> ApiResult<webhook::Secret> {
    webhook::Secret::from_bytes(rand::random()).map_err(|e| ApiError::internal("webhook secret", e))
}

/// Subscribes a URL to events (admin, integration). The secret is in this answer only.
#[utoipa::path(operation_id = "create_webhook", tag = "webhooks", security(("bearer" = [])), request_body = NewWebhook, responses((status = 201, body = WebhookWithSecret), (status = 422, body = crate::error::ProblemBody)))]
#[post("/webhooks")]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<NewWebhook>,
) -> ApiResult<HttpResponse> {
    allowed(&caller)?;
    let new = body.0;
    let url = url::Url::parse(new.url.trim())
        .map_err(|_| ApiError::field("url", Problem::format("an absolute http(s) URL")))?;
    webhook::check_target(&url, state.settings.allow_private_webhook_targets())
        .map_err(|p| ApiError::field("url", Problem::format(&format!("{p}"))))?;
    let secret = new_secret()?;
    let shown = secret.expose();
    let at = state.clock.now();
    let owner = caller.user_id;
    let role = caller.role;
    let created = state
        .db(move |conn| {
            if let Some(agency) = new.agency_id {
                match agencies::by_id(conn, agency) {
                    Ok(_) => {}
                    Err(StoreError::NotFound) => {
                        return Err(ApiError::field(
                            "agency_id",
                            Problem::rule(RuleCode::UnknownAgency),
                        ));
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            // Events reach a subscription as they reach its owner's feed.
            let granted: Vec<i64> = integrations::grants_of(conn, owner)?
                .into_iter()
                .map(|g| g.agency_id)
                .collect();
            access::event_reach(role, &granted, new.agency_id)
                .map_err(|_| ApiError::forbidden())?;
            Ok(store::create(
                conn,
                &store::NewSubscription {
                    owner_id: owner,
                    url: url.as_str(),
                    event_types: &new.event_types,
                    agency_id: new.agency_id,
                    secret: &shown,
                    at,
                },
            )?)
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            actix_web::http::header::LOCATION,
            format!("/api/v1/webhooks/{}", created.id),
        ))
        .json(WebhookWithSecret {
            webhook: WebhookView::from(&created),
            secret: secret.expose(),
        }))
}

/// The caller's subscriptions (admins: everyone's).
#[utoipa::path(operation_id = "list_webhooks", tag = "webhooks", security(("bearer" = [])), responses((status = 200, body = WebhookList)))]
#[get("/webhooks")]
pub async fn list(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    allowed(&caller)?;
    let owner = (!caller.is(Role::Admin)).then_some(caller.user_id);
    let all = state.db(move |conn| Ok(store::list(conn, owner)?)).await?;
    Ok(HttpResponse::Ok().json(WebhookList {
        items: all.iter().map(WebhookView::from).collect(),
    }))
}

/// One subscription.
#[utoipa::path(operation_id = "get_webhook", tag = "webhooks", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 200, body = WebhookView), (status = 404, body = crate::error::ProblemBody)))]
#[get("/webhooks/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    allowed(&caller)?;
    let id = id.into_inner();
    let found = state.db(move |conn| visible(conn, &caller, id)).await?;
    Ok(HttpResponse::Ok().json(WebhookView::from(&found)))
}

/// Switches a subscription off or on again.
#[utoipa::path(operation_id = "update_webhook", tag = "webhooks", security(("bearer" = [])), params(("id" = i64, Path)), request_body = WebhookPatch, responses((status = 200, body = WebhookView), (status = 404, body = crate::error::ProblemBody)))]
#[patch("/webhooks/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: Json<WebhookPatch>,
) -> ApiResult<HttpResponse> {
    allowed(&caller)?;
    let id = id.into_inner();
    let status = body.0.status;
    let updated = state
        .db(move |conn| {
            visible(conn, &caller, id)?;
            store::set_status(conn, id, status, Some("switched off by its owner"))?;
            visible(conn, &caller, id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(WebhookView::from(&updated)))
}

/// Deletes a subscription with its delivery log.
#[utoipa::path(operation_id = "delete_webhook", tag = "webhooks", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 204, description = "Deleted"), (status = 404, body = crate::error::ProblemBody)))]
#[delete("/webhooks/{id}")]
pub async fn remove(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    allowed(&caller)?;
    let id = id.into_inner();
    state
        .db(move |conn| {
            visible(conn, &caller, id)?;
            Ok(store::delete(conn, id)?)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A new secret, shown once; the old one keeps signing next to it for
/// `webhooks.rotation_overlap_secs`.
#[utoipa::path(operation_id = "rotate_webhook_secret", tag = "webhooks", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 200, body = WebhookWithSecret), (status = 404, body = crate::error::ProblemBody)))]
#[post("/webhooks/{id}/rotate-secret")]
pub async fn rotate_secret(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    allowed(&caller)?;
    let id = id.into_inner();
    let secret = new_secret()?;
    let shown = secret.expose();
    let overlap =
        i64::try_from(state.settings.webhooks.rotation_overlap_secs).unwrap_or(i64::MAX / 2);
    let until = state.clock.now() + chrono::Duration::seconds(overlap);
    let rotated = state
        .db(move |conn| {
            visible(conn, &caller, id)?;
            store::rotate_secret(conn, id, &shown, until)?;
            visible(conn, &caller, id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(WebhookWithSecret {
        webhook: WebhookView::from(&rotated),
        secret: secret.expose(),
    }))
}

/// The subscription's last deliveries with their attempts, newest first.
#[utoipa::path(operation_id = "list_webhook_deliveries", tag = "webhooks", security(("bearer" = [])), params(("id" = i64, Path)), responses((status = 200, body = DeliveryList), (status = 404, body = crate::error::ProblemBody)))]
#[get("/webhooks/{id}/deliveries")]
pub async fn deliveries(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    allowed(&caller)?;
    let id = id.into_inner();
    let items = state
        .db(move |conn| {
            visible(conn, &caller, id)?;
            store::deliveries_of(conn, id, DELIVERIES_SHOWN)?
                .into_iter()
                .map(|d| delivery_view(conn, d))
                .collect::<ApiResult<Vec<_>>>()
        })
        .await?;
    Ok(HttpResponse::Ok().json(DeliveryList { items }))
}

/// Sends a delivery again at the next round (manual redelivery).
#[utoipa::path(operation_id = "retry_webhook_delivery", tag = "webhooks", security(("bearer" = [])), params(("id" = i64, Path), ("delivery" = i64, Path)), responses((status = 202, body = DeliveryView), (status = 404, body = crate::error::ProblemBody), (status = 409, body = crate::error::ProblemBody)))]
#[post("/webhooks/{id}/deliveries/{delivery}/retry")]
pub async fn retry(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(i64, i64)>,
) -> ApiResult<HttpResponse> {
    allowed(&caller)?;
    let (id, delivery) = path.into_inner();
    let at = state.clock.now();
    let view = state
        .db(move |conn| {
            visible(conn, &caller, id)?;
            match store::delivery_by_id(conn, delivery)? {
                Some(d) if d.subscription_id == id => {}
                _ => return Err(ApiError::not_found()),
            }
            if !store::retry(conn, delivery, at)? {
                return Err(ApiError::new(crate::error::ErrorCode::Conflict)
                    .detail_same("the delivery is being sent right now"));
            }
            let d = store::delivery_by_id(conn, delivery)?.ok_or_else(ApiError::not_found)?;
            delivery_view(conn, d)
        })
        .await?;
    Ok(HttpResponse::Accepted().json(view))
}
