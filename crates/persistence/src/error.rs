use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// What a repository call can go wrong with, in terms the HTTP layer can map
/// without ever showing database text to a client.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness or foreign-key rule refused the write; names the constraint or table.
    #[error("conflict on {0}")]
    Conflict(String),
    /// The database could not be reached or the pool gave no connection in time.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// SQLite: another connection held the write lock past the busy timeout.
    #[error("database busy: {0}")]
    Busy(String),
    #[error("migration failed: {0}")]
    Migration(String),
    /// Stored data that does not parse back into domain types.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(DieselError),
}

impl From<DieselError> for StoreError {
    fn from(error: DieselError) -> Self {
        match error {
            DieselError::NotFound => StoreError::NotFound,
            DieselError::DatabaseError(kind, info) => match kind {
                DatabaseErrorKind::UniqueViolation | DatabaseErrorKind::ForeignKeyViolation => {
                    let what = info
                        .constraint_name()
                        .or(info.table_name())
                        .map(str::to_owned)
                        .unwrap_or_else(|| unique_target(info.message()));
                    StoreError::Conflict(what)
                }
                DatabaseErrorKind::ClosedConnection => {
                    StoreError::Unavailable(info.message().to_owned())
                }
                // SQLITE_BUSY / SQLITE_LOCKED come through as "unknown" with these texts.
                _ if is_busy_message(info.message()) => StoreError::Busy(info.message().to_owned()),
                _ => StoreError::Database(DieselError::DatabaseError(kind, info)),
            },
            other => StoreError::Database(other),
        }
    }
}

fn is_busy_message(message: &str) -> bool {
    message.starts_with("database is locked")
        || message.starts_with("database table is locked")
        || message.starts_with("database is busy")
}

/// SQLite reports `UNIQUE constraint failed: users.username` without a
/// constraint name; keep the `table.column` part.
fn unique_target(message: &str) -> String {
    message.rsplit(": ").next().unwrap_or(message).to_owned()
}

impl From<diesel::r2d2::PoolError> for StoreError {
    fn from(error: diesel::r2d2::PoolError) -> Self {
        StoreError::Unavailable(error.to_string())
    }
}

impl StoreError {
    pub fn corrupt(what: impl std::fmt::Display) -> Self {
        StoreError::Corrupt(what.to_string())
    }

    /// Whether a conflict concerns the named column or constraint (either spelling).
    pub fn is_conflict_on(&self, needle: &str) -> bool {
        matches!(self, StoreError::Conflict(what) if what.contains(needle))
    }
}

pub type StoreResult<T> = Result<T, StoreError>;
