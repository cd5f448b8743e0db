use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use motcua_app::App;
use motcua_persistence::AnyConnection;

use crate::auth::TokenService;
use crate::error::{ApiError, ApiResult};

/// Everything handlers share: the [`App`] (reached through `Deref`: `state.pool`,
/// `state.settings`, `state.clock`, …) and what only the wire needs. Nothing
/// in it matters across processes: several servers can run against one PostgreSQL.
pub struct AppState {
    pub app: App,
    pub tokens: TokenService,
    /// Accounts' access state, read from the database at most every `auth.account_cache_ms`.
    pub accounts: crate::auth::AccountCache,
    /// Keys the digest of one-time codes, so a stored digest cannot be
    /// reversed by trying the million codes without the server's secret.
    pub code_key: Arc<[u8]>,
    /// Password hashing, a bounded number at once.
    pub hasher: crate::hashing::Hasher,
    /// The public tracking look-up's limit per client address.
    pub tracking_limit: crate::throttle::Throttle,
    /// This process's catalog search index, kept as fresh as the database.
    pub catalog: Arc<motcua_persistence::repo::catalog_index::CatalogIndex>,
    /// Which successful reads get an access-log line (`log.sample_reads`).
    pub log_sampling: crate::middleware::LogSampling,
    /// The sandbox national portal's memory (development and tests).
    pub portal_sandbox: Arc<crate::routes::portal_sandbox::PortalSandbox>,
}

impl std::ops::Deref for AppState {
    type Target = App;

    fn deref(&self) -> &App {
        &self.app
    }
}

impl AppState {
    /// Runs database work on the blocking pool so no actix worker waits on I/O.
    pub async fn db<T, F>(&self, work: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> ApiResult<T> + Send + 'static,
    {
        let pool = self.pool.clone();
        web::block(move || {
            let mut conn = pool.get().map_err(motcua_persistence::StoreError::from)?;
            work(&mut conn)
        })
        .await
        .map_err(|e| ApiError::internal("blocking task failed", e))?
    }

    /// Like [`AppState::db`] with a short wait for a connection, for health checks.
    pub async fn db_quick<T, F>(&self, wait: Duration, work: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> ApiResult<T> + Send + 'static,
    {
        let pool = self.pool.clone();
        web::block(move || {
            let mut conn = pool
                .get_timeout(wait)
                .map_err(motcua_persistence::StoreError::from)?;
            work(&mut conn)
        })
        .await
        .map_err(|e| ApiError::internal("blocking task failed", e))?
    }

    /// CPU-heavy work (password hashing) off the async workers.
    pub async fn cpu<T, F>(work: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        web::block(work)
            .await
            .map_err(|e| ApiError::internal("blocking task failed", e))
    }
}
