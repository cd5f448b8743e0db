//! Embedded migrations of both dialects.

use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::{AnyConnection, Backend};
use crate::StoreError;

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// The embedded migrations of a backend.
pub fn migrations_for(backend: Backend) -> EmbeddedMigrations {
    match backend {
        Backend::Sqlite => SQLITE_MIGRATIONS,
        Backend::Postgres => POSTGRES_MIGRATIONS,
    }
}

/// Applies every pending migration of the connection's backend; returns their names.
pub fn run_migrations(conn: &mut AnyConnection) -> Result<Vec<String>, StoreError> {
    let source = migrations_for(conn.backend());
    let applied = conn
        .run_pending_migrations(source)
        .map_err(|e| StoreError::Migration(e.to_string()))?;
    Ok(applied.iter().map(ToString::to_string).collect())
}

/// True when every embedded migration of the backend has been applied.
pub fn migrations_current(conn: &mut AnyConnection) -> Result<bool, StoreError> {
    let source = migrations_for(conn.backend());
    let pending = conn
        .has_pending_migration(source)
        .map_err(|e| StoreError::Migration(e.to_string()))?;
    Ok(!pending)
}
