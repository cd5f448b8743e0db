//! motcua's persistence: diesel schema, migrations and repositories that run
//! unchanged on SQLite (embedded default) and PostgreSQL (production).

#[cfg(feature = "bench")]
pub mod baseline;
pub mod bulk;
pub mod db;
mod error;
pub mod repo;
pub mod reports;
pub mod schema;
pub mod storage;
pub mod time;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use db::{
    AnyConnection, Backend, DatabaseUrl, Pool, PoolOptions, StatementCounter, build_pool,
    run_migrations, write_tx,
};
pub use diesel::result::Error as DieselError;
pub use error::{StoreError, StoreResult};

/// Parses a stored enum text back into its domain type.
pub(crate) fn parse_enum<T: std::str::FromStr>(value: &str) -> StoreResult<T> {
    value
        .parse()
        .map_err(|_| StoreError::corrupt(format!("unknown stored value {value:?}")))
}

/// `INSERT … ON CONFLICT DO NOTHING` on either backend: diesel's multi-backend
/// connection cannot build it, so the same statement runs on the inner connection.
#[macro_export]
macro_rules! insert_or_ignore {
    ($conn:expr, $table:expr, $values:expr) => {{
        use diesel::RunQueryDsl as _;
        match $conn {
            $crate::db::AnyConnection::Postgresql(c) => diesel::insert_into($table)
                .values($values)
                .on_conflict_do_nothing()
                .execute(c),
            $crate::db::AnyConnection::Sqlite(c) => diesel::insert_into($table)
                .values($values)
                .on_conflict_do_nothing()
                .execute(c),
        }
    }};
}

/// A multi-row `INSERT` on either backend (the multi-backend connection cannot
/// batch): the same statement runs on the inner connection.
#[macro_export]
macro_rules! insert_many {
    ($conn:expr, $table:expr, $values:expr) => {{
        use diesel::RunQueryDsl as _;
        match $conn {
            $crate::db::AnyConnection::Postgresql(c) => {
                diesel::insert_into($table).values($values).execute(c)
            }
            $crate::db::AnyConnection::Sqlite(c) => {
                diesel::insert_into($table).values($values).execute(c)
            }
        }
    }};
}
