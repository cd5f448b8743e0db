//! Registration, login, token refresh with rotation, logout, and the caller.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{Duration, NaiveDate, Utc};
use motcua_app::password::random_token;
use motcua_domain::Role;
use motcua_domain::access::IdentityStatus;
use motcua_domain::rule::RuleCode;
use motcua_domain::rules::{OpaqueToken, ScopeList, Secret, SignInName};
use motcua_domain::user::{Registration, User};
use motcua_persistence::repo::{agencies, applicants, identity, rate_limits, sessions, users};
use motcua_persistence::write_tx;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use crate::auth::{Caller, token_digest};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{Json, JsonOrForm, validate};
use crate::routes::users::UserView;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// 12-digit citizen ID number; it becomes the username.
    #[schema(value_type = motcua_domain::rules::CitizenIdNumber, example = "079203001234")]
    pub id_number: String,
    #[schema(value_type = motcua_domain::rules::PersonName, example = "Nguyễn Văn An")]
    pub full_name: String,
    #[schema(value_type = motcua_domain::rules::PhoneNumber, example = "0912345678")]
    pub phone: String,
    #[serde(default)]
    #[schema(value_type = Option<motcua_domain::rules::EmailOrBlank>)]
    pub email: Option<String>,
    #[serde(default)]
    pub date_of_birth: Option<NaiveDate>,
    /// At least 10 characters, not only digits.
    #[schema(value_type = motcua_domain::rules::Password, example = "mat-khau-cua-an")]
    pub password: String,
}

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

/// The address a request came from, for throttling: the peer, or, only when
/// `server.trust_forwarded_for` says a proxy of ours is the peer, the address
/// that proxy appended to `X-Forwarded-For` (the last one: the ones before it
/// are whatever the client chose to send).
pub fn client_address(req: &HttpRequest, trust_forwarded_for: bool) -> String {
    let forwarded = trust_forwarded_for
        .then(|| {
            req.headers()
                .get_all("x-forwarded-for")
                .filter_map(|v| v.to_str().ok())
                .last()
        })
        .flatten()
        .and_then(|v| v.rsplit(',').next())
        .map(str::trim)
        .filter(|s| !s.is_empty());
    match forwarded {
        Some(first) => first.to_owned(),
        None => req
            .peer_addr()
            .map_or_else(|| "unknown".to_owned(), |a| a.ip().to_string()),
    }
}

/// Failures of an account from anywhere: only slows it down, never locks it.
const ACCOUNT_BUCKET: &str = "login_account";
/// Failures of an account from one address: that address waits.
const ACCOUNT_ADDRESS_BUCKET: &str = "login_account_address";
/// One attempt per `auth.attack_spacing_secs` for an account under attack.
const SPACING_BUCKET: &str = "login_account_spacing";
const ADDRESS_BUCKET: &str = "login_address";
const REGISTER_BUCKET: &str = "register_address";

/// Creates a citizen account and its applicant record.
#[utoipa::path(operation_id = "register_citizen", 
    tag = "auth",
    request_body = RegisterRequest,
    responses((status = 201, body = UserView), (status = 409, description = "The ID number is already registered", body = crate::error::ProblemBody))
)]
#[post("/auth/register")]
pub async fn register(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Json<RegisterRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.0;
    let today = motcua_domain::local_time::date(Utc::now());
    let registration = Registration::parse(
        &body.id_number,
        &body.full_name,
        &body.phone,
        body.email.as_deref(),
        body.date_of_birth,
        &body.password,
        today,
    )?;
    let address = client_address(&req, state.settings.server.trust_forwarded_for);
    let window = Duration::hours(1);
    let hits = state
        .db(move |conn| {
            Ok(rate_limits::hit(
                conn,
                REGISTER_BUCKET,
                &address,
                window,
                Utc::now(),
            )?)
        })
        .await?;
    if hits.hits > 20 {
        return Err(ApiError::too_many_requests(
            (hits.resets_at - Utc::now()).num_seconds(),
        ));
    }
    let password = registration.password.clone();
    let hash = state.hasher.hash(password).await?;
    let user = state
        .db(move |conn| {
            write_tx(conn, |conn| {
                let id = registration.id_number.as_str();
                if users::credentials(conn, id)?.is_some() {
                    return Err(ApiError::new(ErrorCode::AlreadyExists).detail(
                        "Số định danh này đã có tài khoản.",
                        "An account already exists for this ID number.",
                    ));
                }
                // Counter staff may have filed for this person before: reuse their record.
                let applicant = match applicants::by_id_number(conn, id)? {
                    Some(existing) => existing,
                    None => applicants::insert_person(
                        conn,
                        &applicants::NewPerson {
                            id_number: id,
                            full_name: &registration.full_name,
                            date_of_birth: registration.date_of_birth,
                            phone: Some(&registration.phone),
                            email: registration.email.as_deref(),
                            address: None,
                        },
                    )?,
                };
                let user = users::insert(
                    conn,
                    &users::NewUser {
                        username: id,
                        password_hash: &hash,
                        role: Role::Citizen,
                        agency_id: None,
                        applicant_id: Some(applicant.id),
                        full_name: &registration.full_name,
                        phone: Some(&registration.phone),
                        email: registration.email.as_deref(),
                        demo: false,
                    },
                )
                .map_err(|e| {
                    if e.is_conflict_on("username") || e.is_conflict_on("applicant") {
                        ApiError::new(ErrorCode::AlreadyExists)
                    } else {
                        e.into()
                    }
                })?;
                Ok(user)
            })
        })
        .await?;
    tracing::info!(user_id = user.id, "citizen registered");
    Ok(HttpResponse::Created()
        .insert_header((actix_web::http::header::LOCATION, "/api/v1/me"))
        .json(UserView::from(user)))
}

async fn issue_tokens(
    state: &AppState,
    user: &User,
    family: Option<String>,
) -> ApiResult<TokenResponse> {
    let refresh_token = random_token(32);
    let ttl = i64::try_from(state.settings.auth.refresh_ttl_secs).unwrap_or(30 * 24 * 3600);
    let digest = token_digest(&refresh_token);
    let user_id = user.id;
    let family = family.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let version = state
        .db(move |conn| {
            sessions::insert(
                conn,
                &sessions::NewToken {
                    user_id,
                    family_id: &family,
                    token_hash: &digest,
                    expires_at: Utc::now() + Duration::seconds(ttl),
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
fn token_version(conn: &mut motcua_persistence::AnyConnection, user_id: i64) -> ApiResult<i64> {
    users::access(conn, user_id)?
        .map(|a| a.token_version)
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidCredentials))
}

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
    let found = state
        .db(move |conn| {
            let now = Utc::now();
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
                    users::record_login(conn, id)?;
                    Ok(())
                })
                .await?;
            Ok(user)
        }
        _ => {
            state
                .db(move |conn| {
                    let now = Utc::now();
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
    let (user, family) = state
        .db(move |conn| match sessions::consume(conn, &digest)? {
            sessions::Rotation::Rotated { user_id, family_id } => {
                let user = users::by_id(conn, user_id)?;
                if !user.active {
                    sessions::revoke_family(conn, &family_id)?;
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
    state
        .db(move |conn| Ok(sessions::revoke_by_token(conn, &digest)?))
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
    let revoked = state
        .db(move |conn| {
            write_tx(conn, |conn| {
                let revoked = sessions::revoke_user(conn, user_id)?;
                users::bump_token_version(conn, user_id)?;
                Ok(revoked)
            })
        })
        .await?;
    state.accounts.forget(user_id);
    tracing::info!(user_id, revoked, "signed out everywhere");
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeView {
    #[serde(flatten)]
    pub user: UserView,
    pub agency: Option<motcua_domain::agency::AgencyRef>,
    /// The citizen's own applicant record. Until the account is verified it
    /// shows what the account typed, not what the agency holds.
    pub applicant: Option<ApplicantView>,
    /// Citizens: whether the account has proven it is the person of its ID number.
    pub identity: Option<motcua_persistence::repo::identity::Verification>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicantView {
    pub id: i64,
    pub id_number: Option<String>,
    pub full_name: String,
    pub date_of_birth: Option<NaiveDate>,
    pub phone: Option<String>,
    pub email: Option<String>,
}

/// The signed-in account.
#[utoipa::path(operation_id = "get_me", tag = "auth", security(("bearer" = [])), responses((status = 200, body = MeView)))]
#[get("/me")]
pub async fn me(state: web::Data<AppState>, caller: Caller) -> ApiResult<HttpResponse> {
    let view = state
        .db(move |conn| {
            let user = users::by_id(conn, caller.user_id)?;
            let agency = match user.agency_id {
                Some(id) => Some(agencies::reference(&agencies::by_id(conn, id)?)),
                None => None,
            };
            let identity = match user.role {
                Role::Citizen => Some(identity::of(conn, user.id)?),
                _ => None,
            };
            let verified = identity
                .as_ref()
                .is_some_and(|v| v.status == IdentityStatus::Verified);
            let applicant = match user.applicant_id {
                Some(id) if verified => {
                    let a = applicants::by_id(conn, id)?;
                    Some(ApplicantView {
                        id: a.id,
                        id_number: a.id_number,
                        full_name: a.full_name,
                        date_of_birth: a.date_of_birth,
                        phone: a.phone,
                        email: a.email,
                    })
                }
                // Not proven yet: nothing from the agency's record but the number.
                Some(id) => {
                    let a = applicants::by_id(conn, id)?;
                    Some(ApplicantView {
                        id: a.id,
                        id_number: a.id_number,
                        full_name: user.full_name.clone(),
                        date_of_birth: None,
                        phone: user.phone.clone(),
                        email: user.email.clone(),
                    })
                }
                None => None,
            };
            Ok(MeView {
                user: UserView::from(user),
                agency,
                applicant,
                identity,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[cfg(test)]
mod contract_tests {
    use super::*;
    use serde::de::DeserializeOwned;
    use serde_json::{Value, json};

    /// The lengths the document publishes are the ones `validator` enforces:
    /// at the published bounds a value passes, one past them it fails.
    fn lengths_agree<T: DeserializeOwned + Validate + utoipa::PartialSchema>(
        base: &Value,
        field: &str,
    ) {
        let schema = serde_json::to_value(T::schema()).unwrap();
        // The field names its rule; the rule's schema is in the document.
        let reference = schema["properties"][field]["$ref"]
            .as_str()
            .unwrap_or_else(|| panic!("{field}: no rule"));
        let doc = crate::openapi::document();
        let prop = doc
            .pointer(reference.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("{field}: {reference} not in the document"));
        let max = prop["maxLength"]
            .as_u64()
            .unwrap_or_else(|| panic!("{field}: no maxLength")) as usize;
        let min = prop["minLength"].as_u64().unwrap_or(0) as usize;
        let with = |n: usize| {
            let mut v = base.clone();
            v[field] = json!("a".repeat(n));
            serde_json::from_value::<T>(v).unwrap().validate().is_ok()
        };
        assert!(with(max), "{field} at maxLength {max}");
        assert!(!with(max + 1), "{field} past maxLength {max}");
        assert!(with(min.max(1)), "{field} at minLength");
        if min > 0 {
            assert!(!with(min - 1), "{field} under minLength {min}");
        }
    }

    #[test]
    fn published_lengths_are_the_validated_ones() {
        let sign_in = json!({"username": "u", "password": "p"});
        lengths_agree::<LoginRequest>(&sign_in, "username");
        lengths_agree::<LoginRequest>(&sign_in, "password");
        let client =
            json!({"grant_type": "client_credentials", "client_id": "c", "client_secret": "s"});
        for field in ["client_id", "client_secret", "scope"] {
            lengths_agree::<ClientCredentialsRequest>(&client, field);
        }
        lengths_agree::<RefreshRequest>(&json!({"refresh_token": "t"}), "refresh_token");
    }
}
