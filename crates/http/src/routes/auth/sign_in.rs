//! Sign-in with a password or client credentials, throttled per address
//! and per account.

use actix_web::{HttpRequest, HttpResponse, post, web};
use chrono::Duration;
use motcua_domain::Role;
use motcua_domain::rule::RuleCode;
use motcua_domain::rules::{OpaqueToken, ScopeList, Secret, SignInName};
use motcua_domain::user::User;
use motcua_persistence::repo::{rate_limits, users};
use serde::Deserialize;
use utoipa::ToSchema;
use validator::Validate;

use super::client_address;
use super::sessions::{TokenResponse, issue_tokens, token_version};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{Json, JsonOrForm, validate};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Citizen ID number for citizens; the account name for staff.
    #[validate(length(min = SignInName::MIN, max = SignInName::MAX))]
    #[schema(value_type = SignInName, example = "079203001234")]
    pub username: String,
    #[validate(length(min = Secret::MIN, max = Secret::MAX))]
    #[schema(value_type = Secret)]
    pub password: String,
}

/// An OAuth2 client-credentials token request (RFC 6749 §4.4.2), as JSON or
/// form-encoded. The client may authenticate with HTTP Basic instead of
/// `client_id`/`client_secret` in the body (§2.3.1).
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ClientCredentialsRequest {
    pub grant_type: GrantType,
    /// Required unless sent with HTTP Basic.
    #[validate(length(min = OpaqueToken::MIN, max = OpaqueToken::MAX))]
    #[schema(value_type = OpaqueToken)]
    #[serde(default)]
    pub client_id: Option<String>,
    /// Required unless sent with HTTP Basic.
    #[validate(length(min = Secret::MIN, max = Secret::MAX))]
    #[schema(value_type = Secret)]
    #[serde(default)]
    pub client_secret: Option<String>,
    /// Accepted and ignored: service accounts have no scopes.
    #[validate(length(max = ScopeList::MAX))]
    #[schema(value_type = ScopeList)]
    #[serde(default)]
    pub scope: Option<String>,
}

/// The only grant this endpoint serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    ClientCredentials,
}

/// `client_id`/`client_secret` from `Authorization: Basic` (each part
/// form-urlencoded first, RFC 6749 §2.3.1).
fn basic_credentials(req: &HttpRequest) -> Option<(String, String)> {
    use base64::Engine as _;
    let value = req.headers().get(actix_web::http::header::AUTHORIZATION)?;
    let encoded = value.to_str().ok()?.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let unescape = |s: &str| {
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((unescape(id)?, unescape(secret)?))
}

/// Failures of an account from anywhere: only slows it down, never locks it.
const ACCOUNT_BUCKET: &str = "login_account";
/// Failures of an account from one address: that address waits.
const ACCOUNT_ADDRESS_BUCKET: &str = "login_account_address";
/// One attempt per `auth.attack_spacing_secs` for an account under attack.
const SPACING_BUCKET: &str = "login_account_spacing";
const ADDRESS_BUCKET: &str = "login_address";

/// Checks a password with throttling that an attacker cannot turn against
/// the account's owner: failures count per client address and per account
/// and address, and those answer 429 with `Retry-After` before any check.
/// An account failing from many addresses is only slowed: once it has
/// `max_failures_per_account` recent failures in all, one attempt per
/// `attack_spacing_secs` is let through, from wherever it comes.
async fn authenticate(
    state: &AppState,
    req: &HttpRequest,
    username: String,
    password: String,
) -> ApiResult<User> {
    let auth = &state.settings.auth;
    let window = Duration::seconds(i64::try_from(auth.failure_window_secs).unwrap_or(900));
    let spacing = Duration::seconds(i64::try_from(auth.attack_spacing_secs).unwrap_or(2));
    let (max_account, max_address) = (auth.max_failures_per_account, auth.max_failures_per_address);
    let address = client_address(req, state.settings.server.trust_forwarded_for);
    let pair = format!("{username}\u{1f}{address}");
    let (name, addr, pair_key) = (username.clone(), address.clone(), pair.clone());
    let now = state.clock.now();
    let found = state
        .db(move |conn| {
            for (bucket, subject, max) in [
                (ADDRESS_BUCKET, &addr, max_address),
                (ACCOUNT_ADDRESS_BUCKET, &pair_key, max_account),
            ] {
                if let Some(w) = rate_limits::current(conn, bucket, subject, window, now)?
                    && w.hits >= max
                {
                    return Err(ApiError::too_many_requests(
                        (w.resets_at - now).num_seconds(),
                    ));
                }
            }
            let attacked = rate_limits::current(conn, ACCOUNT_BUCKET, &name, window, now)?
                .is_some_and(|w| w.hits >= max_account);
            if attacked && spacing > Duration::zero() {
                let slot = rate_limits::hit(conn, SPACING_BUCKET, &name, spacing, now)?;
                if slot.hits > 1 {
                    return Err(ApiError::too_many_requests(
                        (slot.resets_at - now).num_seconds(),
                    ));
                }
            }
            Ok(users::credentials(conn, &name)?)
        })
        .await?;
    let stored_hash = found.as_ref().map(|(_, hash)| hash.clone());
    let verified = state.hasher.verify(password, stored_hash).await?;
    match found {
        Some((user, _)) if verified => {
            if !user.active {
                return Err(ApiError::new(ErrorCode::AccountDisabled));
            }
            let id = user.id;
            state
                .db(move |conn| {
                    rate_limits::clear(conn, ACCOUNT_ADDRESS_BUCKET, &pair)?;
                    users::record_login(conn, id, now)?;
                    Ok(())
                })
                .await?;
            Ok(user)
        }
        _ => {
            state
                .db(move |conn| {
                    rate_limits::hit(conn, ACCOUNT_BUCKET, &username, window, now)?;
                    rate_limits::hit(conn, ACCOUNT_ADDRESS_BUCKET, &pair, window, now)?;
                    rate_limits::hit(conn, ADDRESS_BUCKET, &address, window, now)?;
                    Ok(())
                })
                .await?;
            tracing::info!("failed login");
            Err(ApiError::new(ErrorCode::InvalidCredentials))
        }
    }
}

/// Signs in with a username and password; returns an access token and a refresh token.
#[utoipa::path(operation_id = "sign_in", 
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, body = TokenResponse),
        (status = 401, description = "Wrong username or password", body = crate::error::ProblemBody),
        (status = 403, description = "The account is disabled, or is an integration account (those use `/auth/token`)", body = crate::error::ProblemBody),
        (status = 429, description = "Too many failed attempts; see Retry-After", body = crate::error::ProblemBody),
    )
)]
#[post("/auth/login")]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Json<LoginRequest>,
) -> ApiResult<HttpResponse> {
    validate(&body.0)?;
    let LoginRequest { username, password } = body.0;
    let user = authenticate(&state, &req, username.trim().to_lowercase(), password).await?;
    if user.role == Role::Integration {
        return Err(ApiError::forbidden().detail(
            "Tài khoản tích hợp đăng nhập qua /api/v1/auth/token.",
            "Integration accounts authenticate at /api/v1/auth/token.",
        ));
    }
    Ok(HttpResponse::Ok().json(issue_tokens(&state, &user, None).await?))
}

/// Service accounts (the provincial portal) exchange client credentials for an access token.
#[utoipa::path(operation_id = "issue_client_token", 
    tag = "auth",
    security((), ("client_credentials" = [])),
    request_body(content(
        (ClientCredentialsRequest = "application/x-www-form-urlencoded"),
        (ClientCredentialsRequest = "application/json"),
    )),
    responses(
        (status = 200, body = TokenResponse),
        (status = 401, body = crate::error::ProblemBody),
        (status = 429, description = "Too many failed attempts; see Retry-After", body = crate::error::ProblemBody),
    )
)]
#[post("/auth/token")]
pub async fn token(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: JsonOrForm<ClientCredentialsRequest>,
) -> ApiResult<HttpResponse> {
    validate(&body.0)?;
    let ClientCredentialsRequest {
        client_id,
        client_secret,
        ..
    } = body.0;
    let (client_id, client_secret) = match (basic_credentials(&req), client_id, client_secret) {
        (Some(basic), None, None) => basic,
        (None, Some(id), Some(secret)) => (id, secret),
        (Some(_), _, _) => {
            return Err(ApiError::field(
                "client_id",
                motcua_domain::validation::Problem::rule(RuleCode::CredentialsTwice),
            ));
        }
        (None, None, _) => {
            return Err(ApiError::field(
                "client_id",
                motcua_domain::validation::Problem::Required,
            ));
        }
        (None, Some(_), None) => {
            return Err(ApiError::field(
                "client_secret",
                motcua_domain::validation::Problem::Required,
            ));
        }
    };
    let user = authenticate(&state, &req, client_id.trim().to_lowercase(), client_secret).await?;
    if user.role != Role::Integration {
        return Err(ApiError::new(ErrorCode::InvalidCredentials));
    }
    let user_id = user.id;
    let version = state.db(move |conn| token_version(conn, user_id)).await?;
    let access_token = state.tokens.issue(&user, version)?;
    Ok(HttpResponse::Ok().json(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: state.tokens.access_ttl_secs,
        refresh_token: None,
        refresh_expires_in: None,
    }))
}
