//! Refresh tokens: issued at sign-in, rotated on every use, revoked on
//! sign-out.

use actix_web::{HttpResponse, post, web};
use chrono::Duration;
use motcua_app::password::random_token;
use motcua_domain::rules::OpaqueToken;
use motcua_domain::user::User;
use motcua_persistence::repo::{sessions, users};
use motcua_persistence::write_tx;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use crate::auth::{Caller, token_digest};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{Json, validate};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    #[validate(length(min = OpaqueToken::MIN, max = OpaqueToken::MAX))]
    #[schema(value_type = OpaqueToken)]
    pub refresh_token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Absent for service accounts, which authenticate again instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_expires_in: Option<i64>,
}

pub(super) async fn issue_tokens(
    state: &AppState,
    user: &User,
    family: Option<String>,
) -> ApiResult<TokenResponse> {
    let refresh_token = random_token(32);
    let ttl = i64::try_from(state.settings.auth.refresh_ttl_secs).unwrap_or(30 * 24 * 3600);
    let digest = token_digest(&refresh_token);
    let user_id = user.id;
    let now = state.clock.now();
    let family = family.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let version = state
        .db(move |conn| {
            sessions::insert(
                conn,
                &sessions::NewToken {
                    user_id,
                    family_id: &family,
                    token_hash: &digest,
                    created_at: now,
                    expires_at: now + Duration::seconds(ttl),
                },
            )?;
            token_version(conn, user_id)
        })
        .await?;
    let access_token = state.tokens.issue(user, version)?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: state.tokens.access_ttl_secs,
        refresh_token: Some(refresh_token),
        refresh_expires_in: Some(ttl),
    })
}

/// The version new access tokens of the account carry.
pub(super) fn token_version(
    conn: &mut motcua_persistence::AnyConnection,
    user_id: i64,
) -> ApiResult<i64> {
    users::access(conn, user_id)?
        .map(|a| a.token_version)
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidCredentials))
}

/// Exchanges a refresh token for new tokens. Each refresh token works once;
/// presenting a used one revokes every token of its session.
#[utoipa::path(operation_id = "refresh_session", 
    tag = "auth",
    request_body = RefreshRequest,
    responses((status = 200, body = TokenResponse), (status = 401, body = crate::error::ProblemBody))
)]
#[post("/auth/refresh")]
pub async fn refresh(
    state: web::Data<AppState>,
    body: Json<RefreshRequest>,
) -> ApiResult<HttpResponse> {
    validate(&body.0)?;
    let digest = token_digest(&body.0.refresh_token);
    let now = state.clock.now();
    let (user, family) = state
        .db(move |conn| match sessions::consume(conn, &digest, now)? {
            sessions::Rotation::Rotated { user_id, family_id } => {
                let user = users::by_id(conn, user_id)?;
                if !user.active {
                    sessions::revoke_family(conn, &family_id, now)?;
                    return Err(ApiError::new(ErrorCode::AccountDisabled));
                }
                Ok((user, family_id))
            }
            sessions::Rotation::Reused => {
                tracing::warn!("refresh token reused; session revoked");
                Err(ApiError::new(ErrorCode::RefreshTokenReused))
            }
            _ => Err(ApiError::new(ErrorCode::InvalidRefreshToken)),
        })
        .await?;
    Ok(HttpResponse::Ok().json(issue_tokens(&state, &user, Some(family)).await?))
}

/// Ends the session of a refresh token. Always 204, known token or not.
#[utoipa::path(operation_id = "sign_out", tag = "auth", request_body = RefreshRequest, responses((status = 204, description = "Signed out")))]
#[post("/auth/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    body: Json<RefreshRequest>,
) -> ApiResult<HttpResponse> {
    validate(&body.0)?;
    let digest = token_digest(&body.0.refresh_token);
    let now = state.clock.now();
    state
        .db(move |conn| Ok(sessions::revoke_by_token(conn, &digest, now)?))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Ends every session of the signed-in account, on every device: its refresh
/// tokens are revoked and its access tokens stop working on the next request.
#[utoipa::path(operation_id = "sign_out_everywhere", 
    tag = "auth",
    security(("bearer" = [])),
    responses((status = 204, description = "Every session ended"), (status = 401, body = crate::error::ProblemBody))
)]
#[post("/auth/logout-all")]
pub async fn logout_all(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    let user_id = caller.user_id;
    let now = state.clock.now();
    let revoked = state
        .db(move |conn| {
            write_tx(conn, |conn| {
                let revoked = sessions::revoke_user(conn, user_id, now)?;
                users::bump_token_version(conn, user_id)?;
                Ok(revoked)
            })
        })
        .await?;
    state.accounts.forget(user_id);
    tracing::info!(user_id, revoked, "signed out everywhere");
    Ok(HttpResponse::NoContent().finish())
}
