//! Access tokens (JWT, HS256 pinned) and the `Caller` extractor every protected handler takes.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::dev::Payload;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpRequest, web};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use motcua_domain::Role;
use motcua_domain::user::User;
use motcua_persistence::repo::users;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use motcua_app::Clock;

use crate::error::{ApiError, ErrorCode};

/// Claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// User id.
    pub sub: String,
    pub role: Role,
    pub agency_id: Option<i64>,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub iss: String,
    /// The account's token version when issued; a token whose version is
    /// behind the account's stops working (lock, role or agency change,
    /// new password, logout everywhere).
    #[serde(default)]
    pub ver: i64,
}

/// Issues and verifies access tokens with one server-side key and algorithm.
#[derive(Clone)]
pub struct TokenService {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    pub access_ttl_secs: i64,
    /// Tokens are issued and expire on the app's clock.
    clock: Clock,
}

/// Seconds a token is still accepted past its `exp` (clocks of other servers drift).
const LEEWAY_SECS: i64 = 30;

impl TokenService {
    pub fn new(secret: &[u8], issuer: &str, access_ttl_secs: u64) -> Self {
        // The algorithm is ours to choose, never the token's: `alg: none` or an
        // RS256 header with our secret as "public key" fail validation.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[issuer]);
        validation.set_required_spec_claims(&["exp", "iat", "sub", "iss"]);
        // Expiry is checked against the app's clock in `verify`.
        validation.validate_exp = false;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            issuer: issuer.to_owned(),
            access_ttl_secs: i64::try_from(access_ttl_secs).unwrap_or(900),
            clock: Clock::system(),
        }
    }

    /// The same service on another clock (the app's).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// An access token for `user` at the account's current `token_version`.
    pub fn issue(&self, user: &User, token_version: i64) -> Result<String, ApiError> {
        let now = self.clock.now().timestamp();
        let claims = Claims {
            sub: user.id.to_string(),
            role: user.role,
            agency_id: user.agency_id,
            exp: now + self.access_ttl_secs,
            iat: now,
            jti: uuid::Uuid::new_v4().to_string(),
            iss: self.issuer.clone(),
            ver: token_version,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ApiError::internal("sign access token", e))
    }

    pub fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .ok()
            .filter(|claims| claims.exp.saturating_add(LEEWAY_SECS) >= self.clock.now().timestamp())
            .ok_or_else(|| ApiError::new(ErrorCode::InvalidToken))
    }
}

/// What is stored of a refresh token.
pub fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The authenticated caller, from a valid bearer token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user_id: i64,
    pub role: Role,
    pub agency_id: Option<i64>,
}

impl Caller {
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::forbidden())
        }
    }

    pub fn is(&self, role: Role) -> bool {
        self.role == role
    }
}

fn bearer(req: &HttpRequest) -> Result<Option<&str>, ApiError> {
    let Some(value) = req.headers().get(AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::new(ErrorCode::InvalidToken))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim()))
        }
        _ => Err(ApiError::new(ErrorCode::InvalidToken)),
    }
}

/// The accounts' role, agency, lock state and token version as this process
/// last read them, kept `auth.account_cache_ms` at most. A change made by
/// another process is seen through the database once an entry expires; this
/// process forgets an account at once when it changes it.
pub struct AccountCache {
    ttl: Duration,
    entries: Mutex<HashMap<i64, (Instant, users::Access)>>,
}

/// More entries than this and the cache starts over rather than grow.
const ACCOUNT_CACHE_MAX: usize = 10_000;

impl AccountCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn get(&self, user_id: i64) -> Option<users::Access> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries.lock().ok()?;
        entries
            .get(&user_id)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, access)| access.clone())
    }

    fn put(&self, user_id: i64, access: users::Access) {
        if self.ttl.is_zero() {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= ACCOUNT_CACHE_MAX {
                entries.clear();
            }
            entries.insert(user_id, (Instant::now(), access));
        }
    }

    /// Forgets an account this process just changed.
    pub fn forget(&self, user_id: i64) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(&user_id);
        }
    }
}

async fn caller_from(req: &HttpRequest) -> Result<Option<Caller>, ApiError> {
    let Some(token) = bearer(req)? else {
        return Ok(None);
    };
    let state = req
        .app_data::<web::Data<crate::state::AppState>>()
        .ok_or_else(|| ApiError::internal("auth", "application state missing"))?
        .clone();
    let claims = state.tokens.verify(token)?;
    let user_id: i64 = claims
        .sub
        .parse()
        .map_err(|_| ApiError::new(ErrorCode::InvalidToken))?;
    let access = match state.accounts.get(user_id) {
        Some(access) => access,
        None => {
            let found = state
                .db(move |conn| Ok(users::access(conn, user_id)?))
                .await?;
            let access = found.ok_or_else(|| ApiError::new(ErrorCode::InvalidToken))?;
            state.accounts.put(user_id, access.clone());
            access
        }
    };
    if !access.active {
        return Err(ApiError::new(ErrorCode::AccountDisabled));
    }
    if claims.ver != access.token_version {
        return Err(ApiError::new(ErrorCode::InvalidToken).detail(
            "Phiên đăng nhập đã kết thúc; vui lòng đăng nhập lại.",
            "This session has ended; sign in again.",
        ));
    }
    // The account row, not the token, says what the caller may do now.
    Ok(Some(Caller {
        user_id,
        role: access.role,
        agency_id: access.agency_id,
    }))
}

/// The caller of a request with a valid bearer token, if any, for
/// middleware that looks without refusing.
pub async fn peek_caller(req: &HttpRequest) -> Option<Caller> {
    caller_from(req).await.ok().flatten()
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            caller_from(&req)
                .await
                .and_then(|c| c.ok_or_else(|| ApiError::new(ErrorCode::Unauthenticated)))
        })
    }
}

/// For public endpoints that show more to signed-in callers. A present but
/// invalid token is still an error: silently downgrading would hide bugs.
#[derive(Debug, Clone)]
pub struct MaybeCaller(pub Option<Caller>);

impl FromRequest for MaybeCaller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { caller_from(&req).await.map(MaybeCaller) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_expire_on_the_app_clock() {
        let clock = Clock::fixed(Clock::system().now());
        let tokens = TokenService::new(SECRET, "motcua", 900).with_clock(clock.clone());
        let token = tokens.issue(&user(Role::Officer), 0).unwrap();
        clock.advance(chrono::Duration::seconds(900 + LEEWAY_SECS));
        assert!(tokens.verify(&token).is_ok(), "within the leeway");
        clock.advance(chrono::Duration::seconds(1));
        assert!(tokens.verify(&token).is_err(), "expired on the clock");
    }

    fn user(role: Role) -> User {
        User {
            id: 7,
            username: "u".into(),
            role,
            agency_id: Some(3),
            applicant_id: None,
            full_name: "U".into(),
            phone: None,
            email: None,
            active: true,
            demo: false,
            created_at: Clock::system().now(),
            last_login_at: None,
        }
    }

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn issue_and_verify() {
        let tokens = TokenService::new(SECRET, "motcua", 900);
        let token = tokens.issue(&user(Role::Officer), 4).unwrap();
        let claims = tokens.verify(&token).unwrap();
        assert_eq!(claims.sub, "7");
        assert_eq!(claims.role, Role::Officer);
        assert_eq!(claims.agency_id, Some(3));
        assert_eq!(claims.exp - claims.iat, 900);
        assert!(!claims.jti.is_empty());
        assert_eq!(claims.ver, 4);
    }

    #[test]
    fn rejects_tampering_other_keys_algorithms_and_expiry() {
        let tokens = TokenService::new(SECRET, "motcua", 900);
        let token = tokens.issue(&user(Role::Citizen), 0).unwrap();
        let other = TokenService::new(b"another-secret-another-secret-xx", "motcua", 900);
        assert!(other.verify(&token).is_err());
        let wrong_issuer = TokenService::new(SECRET, "someone-else", 900);
        assert!(wrong_issuer.verify(&token).is_err());

        // Swap the payload for an admin one, keep the signature.
        let parts: Vec<&str> = token.split('.').collect();
        let forged_claims = Claims {
            sub: "7".into(),
            role: Role::Admin,
            agency_id: None,
            exp: Clock::system().now().timestamp() + 900,
            iat: Clock::system().now().timestamp(),
            jti: "x".into(),
            iss: "motcua".into(),
            ver: 0,
        };
        let b64 =
            |v: &[u8]| base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, v);
        let forged = format!(
            "{}.{}.{}",
            parts[0],
            b64(&serde_json::to_vec(&forged_claims).unwrap()),
            parts[2]
        );
        assert!(tokens.verify(&forged).is_err());
        // alg: none.
        let none = format!("{}.{}.", b64(br#"{"alg":"none","typ":"JWT"}"#), parts[1]);
        assert!(tokens.verify(&none).is_err());
        // HS512 with the same secret: not the pinned algorithm.
        let hs512 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS512),
            &forged_claims,
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap();
        assert!(tokens.verify(&hs512).is_err());
        // Expired beyond the leeway.
        let expired = Claims {
            exp: Clock::system().now().timestamp() - 120,
            iat: Clock::system().now().timestamp() - 1000,
            ..forged_claims
        };
        let old = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &expired,
            &EncodingKey::from_secret(SECRET),
        )
        .unwrap();
        assert!(tokens.verify(&old).is_err());
        assert!(tokens.verify("not.a.jwt").is_err());
    }

    #[test]
    fn random_tokens_differ_and_digest_is_hex() {
        let a = motcua_app::password::random_token(32);
        assert_ne!(a, motcua_app::password::random_token(32));
        assert_eq!(a.len(), 43);
        assert_eq!(token_digest("abc").len(), 64);
    }
}
