//! motcua's HTTP layer: actix-web handlers, the OpenAPI contract, auth and
//! error mapping. No SQL here: handlers call `motcua_app` and repositories.

pub mod access_log;
pub mod app;
pub mod auth;
pub mod docs;
pub mod error;
pub mod etag;
pub mod extract;
pub mod hashing;
pub mod i18n;
pub mod idempotency;
pub mod middleware;
pub mod openapi;
pub mod payments;
pub mod routes;
pub mod state;
pub mod throttle;

pub use app::{Shared, build_app, serve, state};
