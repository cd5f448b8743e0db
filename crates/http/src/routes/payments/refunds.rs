//! Refunds: made by staff, or proposed by the system for a surplus and
//! approved by staff; sent to the gateway outside any transaction.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, post, web};
use motcua_domain::payment::{PaymentMethod, Refund, RefundStatus, check_amount};
use motcua_domain::rules::{Reason, TextRule};
use motcua_persistence::StoreError;
use motcua_persistence::repo::payments::{self as repo, ApproveRefusal, RefundRefusal};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{amount_error, visible};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{Json, from_value};
use crate::idempotency::{self, Written};
use crate::state::AppState;

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
    let clock = state.clock.clone();
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
        let refund = match repo::create_refund(&mut conn, &payment.id, &refund_id, request.amount_vnd, &reason, caller_id, clock.now())? {
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
        repo::finish_refund(&mut conn, &refund.id, status, gateway_ref.as_deref(), clock.now())?;
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
    let clock = state.clock.clone();
    let (id, refund_id) = path.into_inner();
    let (pool, gateway) = (state.pool.clone(), state.gateway.clone());
    let approved = AppState::cpu(move || -> ApiResult<Refund> {
        let mut conn = pool.get().map_err(StoreError::from)?;
        let (payment, _, staff) = visible(&mut conn, &caller, &id)?;
        if !staff {
            return Err(ApiError::forbidden());
        }
        let proposal = match repo::approve_refund(
            &mut conn,
            &payment.id,
            &refund_id,
            caller.user_id,
            clock.now(),
        ) {
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
        repo::finish_refund(
            &mut conn,
            &proposal.id,
            status,
            gateway_ref.as_deref(),
            clock.now(),
        )?;
        repo::refunds_of(&mut conn, &payment.id)?
            .into_iter()
            .find(|r| r.id == proposal.id)
            .ok_or_else(ApiError::not_found)
    })
    .await??;
    Ok(HttpResponse::Ok().json(approved))
}
