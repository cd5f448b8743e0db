//! Payment attempts: opened online or recorded at the counter, shown,
//! listed and cancelled.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{Duration, NaiveDate};
use motcua_app::dossiers as workflow;
use motcua_domain::payment::{Payment, PaymentMethod, PaymentStatus, check_amount};
use motcua_domain::rule::RuleCode;
use motcua_domain::rules::{ReceiptNumber, TextRule};
use motcua_domain::validation::Problem;
use motcua_persistence::repo::dossiers as dossier_repo;
use motcua_persistence::repo::payments::{
    self as repo, CounterRefusal, GatewayFacts, PaymentFilter, Transition,
};
use motcua_persistence::write_tx;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::{PaymentView, amount_error, view, visible};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{Json, Query, from_value};
use crate::idempotency::{self, Written};
use crate::routes::PageView;
use crate::routes::auth::client_address;
use crate::routes::dossiers::who;
use crate::routes::users::page_request;
use crate::state::AppState;
use motcua_app::clock::Clock;
use motcua_app::payments::gateway::{Checkout, Gateway};
use motcua_app::payments::jobs::{self};
use motcua_domain::dossier::Dossier;
use motcua_persistence::AnyConnection;
use std::sync::Arc;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePaymentRequest {
    /// `online` (default): through the gateway, by the applicant or the portal.
    /// `counter`: cash recorded by an officer of the receiving agency.
    #[serde(default)]
    pub method: Option<PaymentMethod>,
    /// The amount the client expects to pay; must equal the fees still due.
    #[serde(default)]
    #[schema(value_type = Option<motcua_domain::rules::AmountVnd>)]
    pub amount_vnd: Option<i64>,
    /// Counter payments: the number of the receipt handed over.
    #[serde(default)]
    #[schema(value_type = Option<motcua_domain::rules::ReceiptNumberOrBlank>)]
    pub receipt_number: Option<String>,
    /// Language of the gateway's pages: `vn` (default) or `en`.
    #[serde(default)]
    pub locale: Option<String>,
}

/// Starts paying a dossier's fees online (a gateway URL to send the citizen
/// to), or records a counter payment. The amount is what the dossier still
/// owes, frozen now. Honours `Idempotency-Key`.
#[utoipa::path(operation_id = "create_payment", 
    tag = "payments",
    security(("bearer" = [])),
    params(("code" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = CreatePaymentRequest,
    responses(
        (status = 201, body = PaymentView),
        (status = 200, description = "Replay of an earlier request with the same key", body = PaymentView),
        (status = 409, description = "Nothing to pay (`nothing_to_pay`, `already_paid`), not payable online, another attempt open (`payment_in_progress`), or the dossier is finished", body = crate::error::ProblemBody),
    )
)]
#[post("/dossiers/{code}/payments")]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    code: web::Path<String>,
    body: Json<serde_json::Value>,
) -> ApiResult<HttpResponse> {
    let code = code.into_inner();
    let key = idempotency::key_of(&req)?;
    let fingerprint = idempotency::fingerprint(
        "POST",
        &format!("/api/v1/dossiers/{code}/payments"),
        &body.0,
    );
    let Checked {
        amount_vnd,
        method,
        locale,
        receipt,
    } = check_request(from_value(body.0)?)?;
    let me = who(&caller);
    let online = OnlineStart {
        gateway: state.gateway.clone(),
        clock: state.clock.clone(),
        client_ip: client_address(&req, state.settings.server.trust_forwarded_for),
        expiry: Duration::seconds(
            i64::try_from(state.settings.payments.expiry_secs).unwrap_or(900),
        ),
        base: state
            .settings
            .server
            .public_base_url
            .trim_end_matches('/')
            .to_owned(),
        locale,
        created_by: me.user_id,
    };
    let clock = state.clock.clone();
    let response = idempotency::once(
        &state,
        &format!("user:{}", caller.user_id),
        key,
        fingerprint,
        move |conn| {
            let (dossier, actor) = workflow::visible(conn, me, &code)?;
            match method {
                PaymentMethod::Online if !actor.is_payer() => {
                    return Err(ApiError::forbidden());
                }
                PaymentMethod::Counter if !actor.may_take_counter_payment() => {
                    return Err(ApiError::forbidden());
                }
                _ => {}
            }
            // Under the dossier's lock: whoever comes second sees the first's
            // attempt or payment (and the database's indexes refuse it anyway).
            let payment = write_tx(conn, |conn| -> ApiResult<Payment> {
                repo::lock_dossier(conn, dossier.id)?;
                let dossier = dossier_repo::by_id(conn, dossier.id)?;
                if dossier.status.is_finished() {
                    return Err(ApiError::new(ErrorCode::DossierFinished));
                }
                let outstanding = dossier.fees_due_vnd - dossier.fees_paid_vnd;
                if outstanding <= 0 {
                    return Err(ApiError::new(ErrorCode::NothingToPay));
                }
                if amount_vnd.is_some_and(|a| a != outstanding) {
                    return Err(ApiError::field(
                        "amount_vnd",
                        Problem::rule(RuleCode::AmountMismatch),
                    )
                    .extension("amount_due_vnd", serde_json::json!(outstanding)));
                }
                let id = uuid::Uuid::new_v4();
                match method {
                    PaymentMethod::Counter => record_at_counter(
                        conn,
                        &repo::CounterPayment {
                            id: &id.to_string(),
                            dossier_id: dossier.id,
                            amount_vnd: outstanding,
                            receipt_number: receipt.as_deref().unwrap_or(""),
                            recorded_by: me.user_id,
                        },
                        clock.now(),
                    ),
                    PaymentMethod::Online => start_online(conn, &online, &dossier, id, outstanding),
                }
            })?;
            let view = view(conn, payment, true)?;
            let location = format!("/api/v1/payments/{}", view.payment.id);
            let body = serde_json::to_value(&view)
                .map_err(|e| ApiError::internal("serialise payment", e))?;
            Ok(Written {
                status: StatusCode::CREATED,
                body,
                location: Some(location),
                etag: None,
            })
        },
    )
    .await?;
    Ok(response)
}

/// A create-payment request, checked.
struct Checked {
    amount_vnd: Option<i64>,
    method: PaymentMethod,
    /// The gateway page's language.
    locale: &'static str,
    /// Counter payments only, trimmed.
    receipt: Option<String>,
}

fn check_request(request: CreatePaymentRequest) -> ApiResult<Checked> {
    if let Some(amount) = request.amount_vnd {
        check_amount(amount).map_err(|p| amount_error("amount_vnd", p))?;
    }
    let method = request.method.unwrap_or(PaymentMethod::Online);
    let locale = match request.locale.as_deref() {
        None | Some("vn") => "vn",
        Some("en") => "en",
        Some(_) => return Err(ApiError::field("locale", Problem::one_of(&["vn", "en"]))),
    };
    let receipt = request
        .receipt_number
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    match (method, &receipt) {
        (PaymentMethod::Counter, None) => {
            return Err(ApiError::field("receipt_number", Problem::Required));
        }
        (PaymentMethod::Counter, Some(r)) => {
            let mut errors = motcua_domain::validation::FieldErrors::new();
            ReceiptNumber::check(&mut errors, "receipt_number", r);
            errors.into_result()?;
        }
        (PaymentMethod::Online, Some(_)) => {
            return Err(ApiError::field(
                "receipt_number",
                Problem::rule(RuleCode::UnknownField),
            ));
        }
        _ => {}
    }
    Ok(Checked {
        amount_vnd: request.amount_vnd,
        method,
        locale,
        receipt,
    })
}

/// A counter payment, recorded under the dossier's lock.
fn record_at_counter(
    conn: &mut AnyConnection,
    payment: &repo::CounterPayment<'_>,
    now: chrono::DateTime<chrono::Utc>,
) -> ApiResult<Payment> {
    match repo::record_counter(conn, payment, now) {
        Ok(Ok(p)) => Ok(p),
        Ok(Err(CounterRefusal::AttemptPending(open))) => {
            Err(ApiError::new(ErrorCode::PaymentInProgress)
                .extension("payment_id", serde_json::json!(open)))
        }
        Err(e) if repo::is_once_per_dossier_conflict(&e) => {
            Err(ApiError::new(ErrorCode::AlreadyPaid))
        }
        Err(e) => Err(e.into()),
    }
}

/// What opening an online attempt needs besides the dossier.
struct OnlineStart {
    gateway: Arc<dyn Gateway>,
    clock: Clock,
    client_ip: String,
    /// How long the attempt stays open.
    expiry: Duration,
    /// The public base URL, without a trailing slash.
    base: String,
    locale: &'static str,
    created_by: i64,
}

/// Opens an online attempt for the `outstanding` fees under the dossier's
/// lock: stored, given the gateway's checkout URL, and started.
fn start_online(
    conn: &mut AnyConnection,
    start: &OnlineStart,
    dossier: &Dossier,
    id: uuid::Uuid,
    outstanding: i64,
) -> ApiResult<Payment> {
    let OnlineStart {
        gateway,
        clock,
        client_ip,
        expiry,
        base,
        locale,
        created_by,
    } = start;
    if !dossier.fees.iter().all(|f| f.payable_online) {
        return Err(ApiError::new(ErrorCode::NotPayableOnline));
    }
    if let Some(open) = repo::open_attempt(conn, dossier.id)? {
        return Err(ApiError::new(ErrorCode::PaymentInProgress)
            .extension("payment_id", serde_json::json!(open.id)));
    }
    let now = clock.now();
    let txn_ref = id.simple().to_string();
    let created = repo::insert(
        conn,
        &repo::NewPayment {
            id: &id.to_string(),
            dossier_id: dossier.id,
            method: PaymentMethod::Online,
            gateway: gateway.name(),
            txn_ref: &txn_ref,
            amount_vnd: outstanding,
            client_ip: Some(client_ip),
            created_by: *created_by,
            created_at: now,
            expires_at: now + *expiry,
        },
    )
    .map_err(|e| {
        if repo::is_once_per_dossier_conflict(&e) {
            ApiError::new(ErrorCode::PaymentInProgress)
        } else {
            e.into()
        }
    })?;
    let url = gateway.checkout_url(&Checkout {
        txn_ref,
        amount_vnd: outstanding,
        order_info: format!("Nop phi, le phi ho so {}", dossier.code),
        created_at: created.created_at,
        expires_at: created.expires_at,
        client_ip: client_ip.clone(),
        locale: (*locale).to_owned(),
        return_url: format!("{base}/api/v1/payments/gateways/vnpay/return"),
    });
    repo::set_next_url(conn, &created.id, &url)?;
    let facts = GatewayFacts {
        gateway: gateway.name().to_owned(),
        kind: "checkout".into(),
        ..Default::default()
    };
    match repo::transition(conn, &created.id, PaymentStatus::Started, None, &facts, now)? {
        Transition::Applied(p) => Ok(p),
        other => Err(ApiError::internal("start payment", format!("{other:?}"))),
    }
}

/// One payment with its refunds and transitions.
#[utoipa::path(operation_id = "get_payment", tag = "payments", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = PaymentView), (status = 404, body = crate::error::ProblemBody)))]
#[get("/payments/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let found = state
        .db(move |conn| {
            let (payment, payer, _) = visible(conn, &caller, &id)?;
            view(conn, payment, payer)
        })
        .await?;
    Ok(HttpResponse::Ok().json(found))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PaymentQuery {
    pub status: Option<PaymentStatus>,
    /// Created on or after this date (local).
    pub from: Option<NaiveDate>,
    /// Created on or before this date (local).
    pub to: Option<NaiveDate>,
    pub dossier_code: Option<String>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

/// Payments the caller may see: citizens their own, staff their agency's, admins all.
#[utoipa::path(operation_id = "list_payments", tag = "payments", security(("bearer" = [])), params(PaymentQuery), responses((status = 200, body = PageView<Payment>)))]
#[get("/payments")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<PaymentQuery>,
) -> ApiResult<HttpResponse> {
    let q = query.0;
    let page = page_request(q.page, q.per_page)?;
    let me = who(&caller);
    let found = state
        .db(move |conn| {
            let Some(scope) = workflow::scope(conn, me)? else {
                return Ok(None);
            };
            let filter = PaymentFilter {
                status: q.status,
                created_from: q.from.map(|d| jobs::day_bounds(d).0),
                created_to: q.to.map(|d| jobs::day_bounds(d).1),
                dossier_code: q.dossier_code,
            };
            Ok(Some(repo::list(conn, scope, &filter, page)?))
        })
        .await?;
    let page = match found {
        Some(p) => PageView::from(p),
        None => PageView {
            items: Vec::new(),
            page: page.page,
            per_page: page.per_page,
            total: 0,
        },
    };
    Ok(HttpResponse::Ok().json(page))
}

/// Cancels an attempt that has not reached the gateway's outcome (created or
/// started). Finished or pending ones → 409.
#[utoipa::path(operation_id = "cancel_payment", tag = "payments", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = PaymentView), (status = 409, body = crate::error::ProblemBody)))]
#[post("/payments/{id}/cancel")]
pub async fn cancel(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let now = state.clock.now();
    let result = state
        .db(move |conn| {
            let (payment, payer, staff) = visible(conn, &caller, &id)?;
            if !payer && !staff {
                return Err(ApiError::forbidden());
            }
            let facts = GatewayFacts {
                gateway: payment.gateway.clone(),
                kind: format!("cancelled_by_{}", caller.role),
                ..Default::default()
            };
            match repo::transition(
                conn,
                &payment.id,
                PaymentStatus::Cancelled,
                None,
                &facts,
                now,
            )? {
                Transition::Applied(p) | Transition::Repeat(p)
                    if p.status == PaymentStatus::Cancelled =>
                {
                    view(conn, p, payer)
                }
                Transition::Applied(p)
                | Transition::Repeat(p)
                | Transition::Refused(p)
                | Transition::Corrected(p) => Err(ApiError::new(ErrorCode::PaymentFinished)
                    .extension("payment_status", serde_json::json!(p.status))),
            }
        })
        .await?;
    Ok(HttpResponse::Ok().json(result))
}
