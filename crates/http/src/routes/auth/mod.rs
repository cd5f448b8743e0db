//! Registration, login, token refresh with rotation, logout, and the caller.
//!
//! `registration` creates citizen accounts; `sign_in` checks passwords and
//! client credentials under throttling; `sessions` issues, rotates and ends
//! refresh tokens; `account` shows the signed-in account.

use actix_web::HttpRequest;

mod account;
mod registration;
mod sessions;
mod sign_in;

pub use account::{ApplicantView, MeView, me};
pub use registration::{RegisterRequest, register};
pub use sessions::{RefreshRequest, TokenResponse, logout, logout_all, refresh};
pub use sign_in::{ClientCredentialsRequest, GrantType, LoginRequest, login, token};

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

#[cfg(test)]
mod contract_tests;
