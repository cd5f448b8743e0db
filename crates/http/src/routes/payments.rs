//! Payments of a dossier's fees: attempts, their gateway callbacks, refunds,
//! reconciliation.

use actix_web::http::StatusCode;
use actix_web::http::header::CONTENT_SECURITY_POLICY;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{Duration, NaiveDate};
use motcua_app::dossiers as workflow;
use motcua_domain::Role;
use motcua_domain::payment::{
    AmountProblem, Payment, PaymentMethod, PaymentStatus, Refund, RefundStatus, check_amount,
};
use motcua_domain::rule::RuleCode;
use motcua_domain::rules::{Reason, ReceiptNumber, TextRule};
use motcua_domain::validation::Problem;
use motcua_persistence::repo::dossiers as dossier_repo;
use motcua_persistence::repo::payments::{
    self as repo, ApproveRefusal, CounterRefusal, GatewayFacts, Overpayment, PaymentEvent,
    PaymentFilter, ReconciliationItem, ReconciliationRun, RefundRefusal, Transition,
};
use motcua_persistence::{AnyConnection, StoreError, write_tx};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{Json, Query, from_value};
use crate::idempotency::{self, Written};
use crate::routes::PageView;
use crate::routes::auth::client_address;
use crate::routes::dossiers::who;
use crate::routes::users::page_request;
use crate::state::AppState;
use motcua_app::payments::gateway::Checkout;
use motcua_app::payments::jobs::{self, JobReport};

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

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentView {
    #[serde(flatten)]
    pub payment: Payment,
    /// Where to send the citizen; for the payer, while the attempt is open.
    pub next_url: Option<String>,
    pub refundable_vnd: i64,
    pub refunds: Vec<Refund>,
    pub events: Vec<PaymentEvent>,
}

fn amount_error(field: &str, problem: AmountProblem) -> ApiError {
    let rule = match problem {
        AmountProblem::NotPositive => RuleCode::AmountNotPositive,
        AmountProblem::TooLarge => RuleCode::AmountTooLarge,
    };
    ApiError::field(field, Problem::rule(rule))
}

fn view(conn: &mut AnyConnection, payment: Payment, show_link: bool) -> ApiResult<PaymentView> {
    let refundable_vnd = repo::refundable_of(conn, &payment)?;
    let refunds = repo::refunds_of(conn, &payment.id)?;
    let events = repo::events(conn, &payment.id)?;
    let next_url = if show_link && payment.status == PaymentStatus::Started {
        payment.next_url.clone()
    } else {
        None
    };
    Ok(PaymentView {
        payment,
        next_url,
        refundable_vnd,
        refunds,
        events,
    })
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
    let request: CreatePaymentRequest = from_value(body.0)?;
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
    let me = who(&caller);
    let client_ip = client_address(&req, state.settings.server.trust_forwarded_for);
    let expiry =
        Duration::seconds(i64::try_from(state.settings.payments.expiry_secs).unwrap_or(900));
    let base = state
        .settings
        .server
        .public_base_url
        .trim_end_matches('/')
        .to_owned();
    let gateway = state.gateway.clone();
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
                if request.amount_vnd.is_some_and(|a| a != outstanding) {
                    return Err(ApiError::field(
                        "amount_vnd",
                        Problem::rule(RuleCode::AmountMismatch),
                    )
                    .extension("amount_due_vnd", serde_json::json!(outstanding)));
                }
                let id = uuid::Uuid::new_v4();
                Ok(match method {
                    PaymentMethod::Counter => match repo::record_counter(
                        conn,
                        &repo::CounterPayment {
                            id: &id.to_string(),
                            dossier_id: dossier.id,
                            amount_vnd: outstanding,
                            receipt_number: receipt.as_deref().unwrap_or(""),
                            recorded_by: me.user_id,
                        },
                    ) {
                        Ok(Ok(p)) => p,
                        Ok(Err(CounterRefusal::AttemptPending(open))) => {
                            return Err(ApiError::new(ErrorCode::PaymentInProgress)
                                .extension("payment_id", serde_json::json!(open)));
                        }
                        Err(e) if repo::is_once_per_dossier_conflict(&e) => {
                            return Err(ApiError::new(ErrorCode::AlreadyPaid));
                        }
                        Err(e) => return Err(e.into()),
                    },
                    PaymentMethod::Online => {
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
                                method,
                                gateway: gateway.name(),
                                txn_ref: &txn_ref,
                                amount_vnd: outstanding,
                                client_ip: Some(&client_ip),
                                created_by: me.user_id,
                                created_at: now,
                                expires_at: now + expiry,
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
                            locale: locale.to_owned(),
                            return_url: format!("{base}/api/v1/payments/gateways/vnpay/return"),
                        });
                        repo::set_next_url(conn, &created.id, &url)?;
                        let facts = GatewayFacts {
                            gateway: gateway.name().to_owned(),
                            kind: "checkout".into(),
                            ..Default::default()
                        };
                        match repo::transition(
                            conn,
                            &created.id,
                            PaymentStatus::Started,
                            None,
                            &facts,
                            now,
                        )? {
                            Transition::Applied(p) => p,
                            other => {
                                return Err(ApiError::internal(
                                    "start payment",
                                    format!("{other:?}"),
                                ));
                            }
                        }
                    }
                })
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

/// The payment and whether the caller may see it, as (payment, is payer, is staff).
fn visible(
    conn: &mut AnyConnection,
    caller: &Caller,
    id: &str,
) -> ApiResult<(Payment, bool, bool)> {
    let payment = match repo::get(conn, id) {
        Ok(p) => p,
        Err(StoreError::NotFound) => return Err(ApiError::not_found()),
        Err(e) => return Err(e.into()),
    };
    let (_, actor) = workflow::visible(conn, who(caller), &payment.dossier_code)?;
    Ok((payment, actor.is_payer(), actor.is_agency_staff()))
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    #[schema(value_type = motcua_domain::rules::AmountVnd)]
    pub amount_vnd: i64,
    /// Why, e.g. the dossier was rejected.
    #[schema(value_type = motcua_domain::rules::Reason)]
    pub reason: String,
}

/// Refunds part or all of a successful payment (staff of the dossier's agency,
/// admins). The sum of refunds never exceeds what was paid, whatever arrives
/// at once. Honours `Idempotency-Key`.
#[utoipa::path(operation_id = "refund_payment", 
    tag = "payments",
    security(("bearer" = [])),
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = RefundRequest,
    responses(
        (status = 201, body = Refund, headers(("Location" = String))),
        (status = 200, description = "A repeat of an earlier request with the same `Idempotency-Key`: the refund it made (`Idempotent-Replayed: true`)", body = Refund, headers(("Idempotent-Replayed" = String))),
        (status = 404, body = crate::error::ProblemBody),
        (status = 409, description = "Not paid, or more than is refundable", body = crate::error::ProblemBody),
    )
)]
#[post("/payments/{id}/refunds")]
pub async fn refund(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<String>,
    body: Json<serde_json::Value>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let key = idempotency::key_of(&req)?;
    let fingerprint =
        idempotency::fingerprint("POST", &format!("/api/v1/payments/{id}/refunds"), &body.0);
    let request: RefundRequest = from_value(body.0)?;
    check_amount(request.amount_vnd).map_err(|p| amount_error("amount_vnd", p))?;
    let reason = motcua_domain::text::nfc(&request.reason);
    let mut errors = motcua_domain::validation::FieldErrors::new();
    Reason::check(&mut errors, "reason", &reason);
    errors.into_result()?;
    let gateway = state.gateway.clone();
    let (caller_id, caller_copy) = (caller.user_id, caller.clone());
    let response = idempotency::once_unlocked(&state, &format!("user:{caller_id}"), key, fingerprint, move |pool| {
        let mut conn = pool.get().map_err(motcua_persistence::StoreError::from)?;
        let (payment, _, staff) = visible(&mut conn, &caller_copy, &id)?;
        if !staff {
            return Err(ApiError::forbidden());
        }
        let refund_id = uuid::Uuid::new_v4().to_string();
        let refund = match repo::create_refund(&mut conn, &payment.id, &refund_id, request.amount_vnd, &reason, caller_id)? {
            Ok(r) => r,
            Err(RefundRefusal::NotPaid) => return Err(ApiError::new(ErrorCode::NotPaid)),
            Err(RefundRefusal::Exceeds { refundable }) => {
                return Err(ApiError::new(ErrorCode::RefundExceeds).extension("refundable_vnd", serde_json::json!(refundable)));
            }
        };
        // The refund is on record as submitted (and counts against what is
        // refundable) before the gateway is asked; no transaction is held meanwhile.
        drop(conn);
        let full = request.amount_vnd == payment.amount_vnd;
        let (status, gateway_ref) = if payment.method == PaymentMethod::Counter {
            (RefundStatus::Success, Some("counter".to_owned()))
        } else {
            match gateway.refund(&payment.txn_ref, payment.gateway_txn_no.as_deref(), payment.created_at, request.amount_vnd, full, &format!("user-{caller_id}")) {
                Ok(r) => (RefundStatus::Success, Some(r)),
                Err(error) => {
                    tracing::warn!(payment = %payment.id, %error, "refund refused by the gateway");
                    (RefundStatus::Error, None)
                }
            }
        };
        let mut conn = pool.get().map_err(motcua_persistence::StoreError::from)?;
        repo::finish_refund(&mut conn, &refund.id, status, gateway_ref.as_deref())?;
        let refund = repo::refunds_of(&mut conn, &payment.id)?.into_iter().find(|r| r.id == refund.id).ok_or_else(ApiError::not_found)?;
        let body = serde_json::to_value(&refund).map_err(|e| ApiError::internal("serialise refund", e))?;
        Ok(Written { status: StatusCode::CREATED, body, location: Some(format!("/api/v1/payments/{}", payment.id)), etag: None })
    })
    .await?;
    Ok(response)
}

/// Approves a refund the system proposed for a surplus (staff of the
/// dossier's agency, admins, as for any refund): it is sent to the gateway
/// now, outside any database transaction. Approving twice approves once.
#[utoipa::path(
    tag = "payments",
    security(("bearer" = [])),
    params(("id" = String, Path), ("refund_id" = String, Path)),
    responses(
        (status = 200, body = Refund),
        (status = 404, body = crate::error::ProblemBody),
        (status = 409, description = "Not a proposal awaiting approval (`refund_not_proposed`)", body = crate::error::ProblemBody)
    )
)]
#[post("/payments/{id}/refunds/{refund_id}/approve")]
pub async fn approve_refund(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (id, refund_id) = path.into_inner();
    let (pool, gateway) = (state.pool.clone(), state.gateway.clone());
    let approved = AppState::cpu(move || -> ApiResult<Refund> {
        let mut conn = pool.get().map_err(StoreError::from)?;
        let (payment, _, staff) = visible(&mut conn, &caller, &id)?;
        if !staff {
            return Err(ApiError::forbidden());
        }
        let proposal =
            match repo::approve_refund(&mut conn, &payment.id, &refund_id, caller.user_id) {
                Ok(Ok(r)) => r,
                Ok(Err(ApproveRefusal::NotProposed(status))) => {
                    return Err(ApiError::new(ErrorCode::RefundNotProposed)
                        .extension("refund_status", serde_json::json!(status)));
                }
                Err(StoreError::NotFound) => return Err(ApiError::not_found()),
                Err(e) => return Err(e.into()),
            };
        drop(conn);
        let full = proposal.amount_vnd == payment.amount_vnd;
        let (status, gateway_ref) = if payment.method == PaymentMethod::Counter {
            (RefundStatus::Success, Some("counter".to_owned()))
        } else {
            match gateway.refund(
                &payment.txn_ref,
                payment.gateway_txn_no.as_deref(),
                payment.created_at,
                proposal.amount_vnd,
                full,
                &format!("user-{}", caller.user_id),
            ) {
                Ok(r) => (RefundStatus::Success, Some(r)),
                Err(error) => {
                    tracing::warn!(payment = %payment.id, %error, "refund refused by the gateway");
                    (RefundStatus::Error, None)
                }
            }
        };
        let mut conn = pool.get().map_err(StoreError::from)?;
        repo::finish_refund(&mut conn, &proposal.id, status, gateway_ref.as_deref())?;
        repo::refunds_of(&mut conn, &payment.id)?
            .into_iter()
            .find(|r| r.id == proposal.id)
            .ok_or_else(ApiError::not_found)
    })
    .await??;
    Ok(HttpResponse::Ok().json(approved))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DiscrepancyList {
    /// Payments that brought money beyond their dossier's fee; unresolved first.
    pub items: Vec<Overpayment>,
    /// How many still hold money not given back, and how much.
    pub unresolved: i64,
    pub unresolved_vnd: i64,
}

/// Overpaid dossiers now (admins, leaders): every successful payment whose
/// money was not all counted toward its dossier's fee, with its refund.
/// Read from the payments at each request, not from the last reconciliation.
#[utoipa::path(operation_id = "list_payment_discrepancies", tag = "payments", security(("bearer" = [])), responses((status = 200, body = DiscrepancyList), (status = 403, body = crate::error::ProblemBody)))]
#[get("/payments/discrepancies")]
pub async fn discrepancies(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    caller.require(&[Role::Admin, Role::Leader])?;
    let items = state.db(|conn| Ok(repo::overpayments(conn)?)).await?;
    let open: Vec<&Overpayment> = items.iter().filter(|o| o.unresolved_vnd > 0).collect();
    let found = DiscrepancyList {
        unresolved: i64::try_from(open.len()).unwrap_or(i64::MAX),
        unresolved_vnd: open.iter().map(|o| o.unresolved_vnd).sum(),
        items,
    };
    Ok(HttpResponse::Ok().json(found))
}

/// VNPay's notification (IPN). Authenticated by its signature alone; always
/// answers 200 with `{"RspCode", "Message"}`: 97 bad signature, 01 unknown
/// order, 04 amount mismatch, 02 already confirmed, 00 accepted, 99 error.
#[utoipa::path(operation_id = "vnpay_ipn", tag = "payments", responses((status = 200, description = "Always 200: the outcome is in `RspCode`", body = IpnReply)))]
#[get("/payments/gateways/vnpay/ipn")]
pub async fn ipn(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let raw = req.query_string().to_owned();
    let gateway = state.gateway.clone();
    let requery =
        Duration::seconds(i64::try_from(state.settings.payments.requery_after_secs).unwrap_or(60));
    let now = state.clock.now();
    let reply = state
        .db(move |conn| {
            Ok(motcua_app::payments::notify::handle(
                conn,
                gateway.as_ref(),
                &raw,
                requery,
                now,
            ))
        })
        .await
        .unwrap_or(motcua_domain::vnpay::Reply::Unexpected);
    HttpResponse::Ok().json(IpnReply {
        rsp_code: reply.code(),
        message: reply.message(),
    })
}

/// The answer VNPay expects to an IPN call.
#[derive(Debug, Serialize, ToSchema)]
pub struct IpnReply {
    /// `00` accepted, `02` already confirmed, `01` unknown order, `04` amount
    /// mismatch, `97` bad signature, `99` error.
    #[serde(rename = "RspCode")]
    #[schema(example = "00")]
    pub rsp_code: &'static str,
    #[serde(rename = "Message")]
    #[schema(example = "Confirm Success")]
    pub message: &'static str,
}

/// Where the citizen's browser comes back from the gateway. It shows the
/// payment as we hold it; it never settles anything.
#[utoipa::path(operation_id = "vnpay_return", tag = "payments", responses((status = 200, description = "A page showing the payment's status", body = String, content_type = "text/html")))]
#[get("/payments/gateways/vnpay/return")]
pub async fn return_page(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    let params = motcua_app::payments::notify::parse(req.query_string());
    let authentic = motcua_domain::vnpay::verify(&params, state.gateway.secret());
    let txn_ref = params.get("vnp_TxnRef").cloned().unwrap_or_default();
    let payment = if authentic {
        state
            .db(move |conn| Ok(repo::by_txn_ref(conn, &txn_ref)?))
            .await?
    } else {
        None
    };
    let e = |s: &str| html_escape::encode_text(s).into_owned();
    let message = match &payment {
        None => {
            "Không xác thực được kết quả thanh toán. Vui lòng kiểm tra lại trong hồ sơ của bạn."
                .to_owned()
        }
        Some(p) => match p.status {
            PaymentStatus::Success => format!(
                "Đã thanh toán thành công {} đồng cho hồ sơ {}.",
                p.amount_vnd,
                e(&p.dossier_code)
            ),
            PaymentStatus::Failed | PaymentStatus::Cancelled | PaymentStatus::Error => {
                format!(
                    "Thanh toán cho hồ sơ {} không thành công.",
                    e(&p.dossier_code)
                )
            }
            _ => format!(
                "Đang chờ cổng thanh toán xác nhận kết quả cho hồ sơ {}. Vui lòng tải lại sau ít phút.",
                e(&p.dossier_code)
            ),
        },
    };
    let status = payment.as_ref().map_or("unknown", |p| p.status.as_str());
    let body = format!(
        r#"<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>Kết quả thanh toán</title></head>
<body><h1>Kết quả thanh toán</h1><p data-status="{status}">{message}</p></body></html>"#
    );
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((CONTENT_SECURITY_POLICY, "default-src 'none'"))
        .body(body))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DayQuery {
    /// The local day, `YYYY-MM-DD`.
    pub date: NaiveDate,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReconciliationView {
    pub run: ReconciliationRun,
    /// Items that did not match: `missing`, `mismatch` or `overpaid`.
    pub discrepancies: Vec<ReconciliationItem>,
}

fn reconciliation_view(
    run: ReconciliationRun,
    items: Vec<ReconciliationItem>,
) -> ReconciliationView {
    ReconciliationView {
        run,
        discrepancies: items
            .into_iter()
            .filter(|i| i.result != "matched")
            .collect(),
    }
}

/// A day's reconciliation: our online payments against the gateway's records.
#[utoipa::path(operation_id = "get_reconciliation", tag = "payments", security(("bearer" = [])), params(DayQuery), responses((status = 200, body = ReconciliationView), (status = 404, description = "Not reconciled yet", body = crate::error::ProblemBody)))]
#[get("/payments/reconciliation")]
pub async fn reconciliation(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<DayQuery>,
) -> ApiResult<HttpResponse> {
    caller.require(&[Role::Admin, Role::Leader])?;
    let day = query.0.date;
    let found = state
        .db(move |conn| Ok(repo::reconciliation(conn, day)?))
        .await?;
    let (run, items) = found.ok_or_else(|| {
        ApiError::not_found().detail(
            "Ngày này chưa được đối soát.",
            "This day has not been reconciled yet.",
        )
    })?;
    Ok(HttpResponse::Ok().json(reconciliation_view(run, items)))
}

/// Reconciles a day now (admin); the jobs do yesterday's every day.
#[utoipa::path(operation_id = "run_reconciliation", tag = "payments", security(("bearer" = [])), params(DayQuery), responses((status = 200, body = ReconciliationView), (status = 502, body = crate::error::ProblemBody)))]
#[post("/payments/reconciliation")]
pub async fn reconcile(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<DayQuery>,
) -> ApiResult<HttpResponse> {
    caller.require(&[Role::Admin])?;
    let day = query.0.date;
    let (pool, gateway) = (state.pool.clone(), state.gateway.clone());
    let now = state.clock.now();
    AppState::cpu(move || jobs::reconcile(&pool, gateway.as_ref(), day, now))
        .await?
        .map_err(|e| ApiError::new(ErrorCode::GatewayUnavailable).detail_same(e))?;
    let (run, items) = state
        .db(move |conn| Ok(repo::reconciliation(conn, day)?))
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(reconciliation_view(run, items)))
}

/// Runs the payment jobs now (admin): expiry of unfinished attempts and
/// status queries of pending ones. They also run on their own.
#[utoipa::path(operation_id = "run_payment_jobs", tag = "payments", security(("bearer" = [])), responses((status = 200, body = JobReport)))]
#[post("/payments/jobs/run")]
pub async fn run_jobs(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    caller.require(&[Role::Admin])?;
    let app = state.app.clone();
    let report = AppState::cpu(move || app.payment_jobs()).await?;
    Ok(HttpResponse::Ok().json(report))
}
