//! Proving who a citizen account is (a one-time code to the contact on the
//! agency's records, or an officer at the counter), the name mismatches staff
//! follow up, and what an integration account is granted.

use actix_web::http::header::RETRY_AFTER;
use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use chrono::{DateTime, Duration, Utc};
use motcua_app::verification::{self, CodeEntry, CodeRequest, Linked};
use motcua_domain::Role;
use motcua_domain::access::{ContactChannel, OTP_DIGITS, VerificationMethod};
use motcua_domain::rule::RuleCode;
use motcua_domain::rules::{OneTimeCode, Reason, TextRule};
use motcua_domain::validation::Problem;
use motcua_persistence::repo::identity::{self, Mismatch, Verification};
use motcua_persistence::repo::integrations::{self, Access, Grant};
use motcua_persistence::repo::{agencies, users};
use motcua_persistence::write_tx;
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{Json, Query};
use crate::routes::PageView;
use crate::routes::users::page_request;
use crate::state::AppState;
use motcua_app::notifier::Message;

/// The digest stored for a code: keyed with the server's secret and bound to the account.
fn code_digest(key: &[u8], user_id: i64, code: &str) -> String {
    let mut h = Sha256::new();
    h.update(key);
    h.update(user_id.to_be_bytes());
    h.update(code.as_bytes());
    hex::encode(h.finalize())
}

fn name_mismatch() -> ApiError {
    ApiError::new(ErrorCode::IdentityNameMismatch)
}

/// A code was sent.
#[derive(Debug, Serialize, ToSchema)]
pub struct CodeSent {
    pub channel: ContactChannel,
    /// Where it went, masked: `*******321` or `b***@example.vn`.
    pub destination: String,
    pub expires_at: DateTime<Utc>,
}

/// Sends a one-time code to the phone (or else the e-mail) on the agency's
/// record for the account's ID number, never to what the account typed.
/// One code at a time; a new one voids the last.
#[utoipa::path(operation_id = "request_verification_code", 
    tag = "identity",
    security(("bearer" = [])),
    responses(
        (status = 202, body = CodeSent),
        (status = 409, description = "`already_verified`, `identity_name_mismatch` or `verification_no_contact` (verify at the counter)", body = crate::error::ProblemBody),
        (status = 429, description = "A code was sent moments ago; see Retry-After", body = crate::error::ProblemBody),
    )
)]
#[post("/me/verification/otp")]
pub async fn request_code(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    caller.require(&[Role::Citizen])?;
    let code: String = {
        let mut rng = rand::rng();
        (0..OTP_DIGITS)
            .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
            .collect()
    };
    let digest = code_digest(&state.code_key, caller.user_id, &code);
    let settings = &state.settings.identity;
    let ttl = Duration::seconds(i64::try_from(settings.otp_ttl_secs).unwrap_or(600));
    let gap = Duration::seconds(i64::try_from(settings.otp_resend_secs).unwrap_or(60));
    let user_id = caller.user_id;
    let clock = state.clock.clone();
    let outcome = state
        .db(move |conn| {
            Ok(verification::request_code(
                conn,
                user_id,
                &digest,
                ttl,
                gap,
                clock.now(),
            )?)
        })
        .await?;
    let (channel, destination, masked, expires_at) = match outcome {
        CodeRequest::Send {
            channel,
            destination,
            masked,
            expires_at,
        } => (channel, destination, masked, expires_at),
        CodeRequest::AlreadyVerified => return Err(ApiError::new(ErrorCode::AlreadyVerified)),
        CodeRequest::NoContact => return Err(ApiError::new(ErrorCode::VerificationNoContact)),
        CodeRequest::NameMismatch => return Err(name_mismatch()),
        CodeRequest::TooSoon(wait) => {
            return Err(
                ApiError::new(ErrorCode::TooManyRequests).header(RETRY_AFTER, wait.to_string())
            );
        }
    };
    let minutes = ttl.num_minutes().max(1);
    let message = Message {
        channel: channel.clone(),
        to: destination,
        subject: "Mã xác thực danh tính / Identity code".to_owned(),
        body: format!(
            "Mã xác thực tài khoản dịch vụ công của bạn là {code}, hiệu lực {minutes} phút. Không cung cấp mã này cho bất kỳ ai."
        ),
    };
    let notifier = state.notifier.clone();
    AppState::cpu(move || notifier.send(&message))
        .await?
        .map_err(|error| {
            tracing::error!(%error, "one-time code not sent");
            ApiError::new(ErrorCode::NotificationFailed)
        })?;
    tracing::info!(user_id, ?channel, "identity code sent");
    Ok(HttpResponse::Accepted().json(CodeSent {
        channel,
        destination: masked,
        expires_at,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmCode {
    /// The 6 digits received.
    #[schema(value_type = motcua_domain::rules::OneTimeCode, example = "042917")]
    pub code: String,
}

/// Checks the code: right, the account is verified and sees everything filed
/// under its ID number. Five wrong entries void the code.
#[utoipa::path(operation_id = "confirm_verification_code", 
    tag = "identity",
    security(("bearer" = [])),
    request_body = ConfirmCode,
    responses(
        (status = 200, body = Verification),
        (status = 422, description = "`verification_code_invalid` (tries left in `tries_left`) or a malformed code", body = crate::error::ProblemBody),
        (status = 410, description = "`verification_code_expired` or `verification_code_exhausted`: request a new code", body = crate::error::ProblemBody),
        (status = 409, description = "`verification_not_requested` or `identity_name_mismatch`", body = crate::error::ProblemBody),
    )
)]
#[post("/me/verification/otp/confirm")]
pub async fn confirm_code(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<ConfirmCode>,
) -> ApiResult<HttpResponse> {
    caller.require(&[Role::Citizen])?;
    let code = body.0.code.trim().to_owned();
    if !OneTimeCode::is_valid(&code) {
        return Err(ApiError::field("code", Problem::format("6 digits")));
    }
    let digest = code_digest(&state.code_key, caller.user_id, &code);
    let user_id = caller.user_id;
    let clock = state.clock.clone();
    let entry = state
        .db(move |conn| {
            Ok(verification::enter_code(
                conn,
                user_id,
                &digest,
                clock.now(),
            )?)
        })
        .await?;
    match entry {
        CodeEntry::Verified(v) => Ok(HttpResponse::Ok().json(v)),
        CodeEntry::Wrong { left } => Err(ApiError::new(ErrorCode::VerificationCodeInvalid)
            .extension("tries_left", serde_json::json!(left))),
        CodeEntry::Expired => Err(ApiError::new(ErrorCode::VerificationCodeExpired)),
        CodeEntry::Exhausted => Err(ApiError::new(ErrorCode::VerificationCodeExhausted)),
        CodeEntry::NoneSent => Err(ApiError::new(ErrorCode::VerificationNotRequested)),
        CodeEntry::NameMismatch => Err(name_mismatch()),
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CounterVerification {
    /// What was checked, e.g. `CCCD gắn chip, đối chiếu ảnh`.
    #[serde(default)]
    #[schema(value_type = Option<motcua_domain::rules::ReasonOrBlank>)]
    pub note: Option<String>,
}

/// An officer (or admin) has checked the citizen's card at the counter and
/// verifies the account; recorded with who and when. Citizen accounts only;
/// refused when the account's name differs from the applicant record.
#[utoipa::path(operation_id = "verify_identity_at_counter", 
    tag = "identity",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The citizen account")),
    request_body = CounterVerification,
    responses(
        (status = 200, body = Verification),
        (status = 409, description = "`identity_name_mismatch`", body = crate::error::ProblemBody),
        (status = 404, description = "No such citizen account", body = crate::error::ProblemBody),
    )
)]
#[post("/users/{id}/verify-identity")]
pub async fn verify_at_counter(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
    body: Json<CounterVerification>,
) -> ApiResult<HttpResponse> {
    caller.require(&[Role::Officer, Role::Admin])?;
    let note = body
        .0
        .note
        .as_deref()
        .map(motcua_domain::text::nfc)
        .filter(|n| !n.is_empty());
    let mut errors = motcua_domain::validation::FieldErrors::new();
    Reason::check_optional(&mut errors, "note", note.as_deref());
    errors.into_result()?;
    let (user_id, officer) = (id.into_inner(), caller.user_id);
    let clock = state.clock.clone();
    let linked = state
        .db(move |conn| {
            // Staff accounts are not citizens: look like nothing is there.
            let found = users::by_id(conn, user_id).map_err(ApiError::from)?;
            if found.role != Role::Citizen {
                return Err(ApiError::not_found());
            }
            Ok(verification::verify(
                conn,
                user_id,
                VerificationMethod::Counter,
                Some(officer),
                note.as_deref(),
                clock.now(),
            )?)
        })
        .await?;
    match linked {
        Linked::Verified(v) => {
            tracing::info!(user_id, by = officer, "identity verified at the counter");
            Ok(HttpResponse::Ok().json(v))
        }
        Linked::NameMismatch => Err(name_mismatch()),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

/// Accounts whose name did not match the applicant record of their ID
/// number, newest first: for staff to follow up.
#[utoipa::path(operation_id = "list_identity_mismatches", 
    tag = "identity",
    security(("bearer" = [])),
    params(PageQuery),
    responses((status = 200, body = PageView<Mismatch>))
)]
#[get("/identity/mismatches")]
pub async fn mismatches(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    caller.require(&[Role::Officer, Role::Leader, Role::Admin])?;
    let page = page_request(query.0.page, query.0.per_page)?;
    let found = state
        .db(move |conn| Ok(identity::mismatches(conn, page)?))
        .await?;
    Ok(HttpResponse::Ok().json(PageView::from(found)))
}

fn integration_account(conn: &mut motcua_persistence::AnyConnection, id: i64) -> ApiResult<()> {
    match users::by_id(conn, id) {
        Ok(u) if u.role == Role::Integration => Ok(()),
        Ok(_) | Err(motcua_persistence::StoreError::NotFound) => Err(ApiError::not_found()),
        Err(e) => Err(e.into()),
    }
}

/// The agencies whose dossiers an integration account may read besides its own filings.
#[utoipa::path(operation_id = "list_integration_grants", 
    tag = "identity",
    security(("bearer" = [])),
    params(("user_id" = i64, Path, description = "The integration account")),
    responses((status = 200, body = Vec<Grant>))
)]
#[get("/integrations/{user_id}/grants")]
pub async fn grants(
    state: web::Data<AppState>,
    caller: Caller,
    user_id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    caller.require(&[Role::Admin])?;
    let user_id = user_id.into_inner();
    let found = state
        .db(move |conn| {
            integration_account(conn, user_id)?;
            Ok(integrations::grants_of(conn, user_id)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(found))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantRequest {
    pub agency_id: i64,
}

/// Grants an integration account read access to the dossiers an agency
/// receives. It still withdraws, supplements and pays only for what it filed.
#[utoipa::path(operation_id = "create_integration_grant", 
    tag = "identity",
    security(("bearer" = [])),
    params(("user_id" = i64, Path, description = "The integration account")),
    request_body = GrantRequest,
    responses((status = 201, body = Vec<Grant>), (status = 422, body = crate::error::ProblemBody))
)]
#[post("/integrations/{user_id}/grants")]
pub async fn grant(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    user_id: web::Path<i64>,
    body: Json<GrantRequest>,
) -> ApiResult<HttpResponse> {
    caller.require(&[Role::Admin])?;
    let (user_id, agency_id, admin) = (user_id.into_inner(), body.0.agency_id, caller.user_id);
    let actor = crate::routes::audit::actor(&req, &caller);
    let clock = state.clock.clone();
    let found = state
        .db(move |conn| {
            write_tx(conn, |conn| {
                integration_account(conn, user_id)?;
                match agencies::by_id(conn, agency_id) {
                    Ok(_) => {}
                    Err(motcua_persistence::StoreError::NotFound) => {
                        return Err(ApiError::field(
                            "agency_id",
                            Problem::rule(RuleCode::UnknownAgency),
                        ));
                    }
                    Err(e) => return Err(e.into()),
                }
                let before = integrations::grants_of(conn, user_id)?;
                integrations::grant(conn, user_id, agency_id, admin, clock.now())?;
                let after = integrations::grants_of(conn, user_id)?;
                audit_grants(conn, &actor, user_id, "grant", &before, &after, clock.now())?;
                Ok(after)
            })
        })
        .await?;
    tracing::info!(user_id, agency_id, by = admin, "integration grant added");
    Ok(HttpResponse::Created().json(found))
}

/// Takes a grant away.
#[utoipa::path(operation_id = "delete_integration_grant", 
    tag = "identity",
    security(("bearer" = [])),
    params(("user_id" = i64, Path), ("agency_id" = i64, Path)),
    responses((status = 204, description = "Revoked"), (status = 404, body = crate::error::ProblemBody))
)]
#[delete("/integrations/{user_id}/grants/{agency_id}")]
pub async fn revoke(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(i64, i64)>,
) -> ApiResult<HttpResponse> {
    caller.require(&[Role::Admin])?;
    let (user_id, agency_id) = path.into_inner();
    let actor = crate::routes::audit::actor(&req, &caller);
    let clock = state.clock.clone();
    let removed = state
        .db(move |conn| {
            write_tx(conn, |conn| {
                integration_account(conn, user_id)?;
                let before = integrations::grants_of(conn, user_id)?;
                let removed = integrations::revoke(conn, user_id, agency_id)?;
                if removed {
                    let after = integrations::grants_of(conn, user_id)?;
                    audit_grants(
                        conn,
                        &actor,
                        user_id,
                        "revoke",
                        &before,
                        &after,
                        clock.now(),
                    )?;
                }
                Ok(removed)
            })
        })
        .await?;
    if !removed {
        return Err(ApiError::not_found());
    }
    tracing::info!(
        user_id,
        agency_id,
        by = caller.user_id,
        "integration grant revoked"
    );
    Ok(HttpResponse::NoContent().finish())
}

/// Every request the integration account made on dossiers, documents and payments, newest first.
#[utoipa::path(operation_id = "list_integration_access", 
    tag = "identity",
    security(("bearer" = [])),
    params(("user_id" = i64, Path), PageQuery),
    responses((status = 200, body = PageView<Access>))
)]
#[get("/integrations/{user_id}/access-log")]
pub async fn access_log(
    state: web::Data<AppState>,
    caller: Caller,
    user_id: web::Path<i64>,
    query: Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    caller.require(&[Role::Admin])?;
    let page = page_request(query.0.page, query.0.per_page)?;
    let user_id = user_id.into_inner();
    let found = state
        .db(move |conn| {
            integration_account(conn, user_id)?;
            Ok(integrations::access_log(conn, user_id, page)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(PageView::from(found)))
}

/// An integration account's grants before and after a change, in the audit log.
fn audit_grants<T: serde::Serialize>(
    conn: &mut motcua_persistence::AnyConnection,
    actor: &motcua_domain::audit::Actor,
    user_id: i64,
    action: &str,
    before: &T,
    after: &T,
    now: chrono::DateTime<chrono::Utc>,
) -> ApiResult<()> {
    let as_json = |list: &T| {
        serde_json::to_value(list)
            .map(|list| serde_json::json!({ "grants": list }))
            .map_err(|e| ApiError::internal("grants as json", e))
    };
    motcua_persistence::repo::audit::record_integration_grant(
        conn,
        actor,
        user_id,
        action,
        Some(as_json(before)?),
        Some(as_json(after)?),
        now,
    )?;
    Ok(())
}
