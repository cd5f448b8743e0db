//! Password hashing for requests: a bounded number of argon2 runs at once, on
//! the blocking pool (the hashing itself, with its memory reused, is
//! `motcua_app::password`).

use actix_web::web;
use tokio::sync::Semaphore;

use crate::error::ApiError;

/// Hashes and verifies passwords on the blocking pool, `permits` at a time.
pub struct Hasher {
    permits: Semaphore,
}

impl Hasher {
    /// `concurrency`: runs at once; the number of cores when `None`.
    pub fn new(concurrency: Option<usize>) -> Self {
        let permits = concurrency
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
            .max(1);
        motcua_app::password::keep_spare_blocks(permits);
        Self {
            permits: Semaphore::new(permits),
        }
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| ApiError::internal("password hashing closed", e))?;
        web::block(work)
            .await
            .map_err(|e| ApiError::internal("blocking task failed", e))
    }

    pub async fn hash(&self, password: String) -> Result<String, ApiError> {
        self.run(move || {
            motcua_app::password::hash_password(&password)
                .map_err(|e| ApiError::internal("hash password", e))
        })
        .await?
    }

    /// See [`motcua_app::password::verify_password`]: the same work whether or not an account was found.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<bool, ApiError> {
        self.run(move || motcua_app::password::verify_password(&password, stored.as_deref()))
            .await
    }
}
