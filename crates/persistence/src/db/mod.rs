//! Connections, pool and migrations for SQLite and PostgreSQL behind one type.

use std::time::Duration;

use diesel::Connection;
use diesel::connection::{SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;

mod maintenance;
mod migrations;
mod pool;
mod write_queue;

pub use maintenance::{
    ping, postgres_database, refresh_statistics, session_activity, sync_id_sequences, with_database,
};
pub use migrations::{
    POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS, migrations_current, migrations_for, run_migrations,
};
pub use pool::{
    DEFAULT_BUSY_TIMEOUT, Manager, Pool, PoolOptions, PooledConnection, StatementCounter,
    build_pool,
};
pub use write_queue::{WriteQueue, write_tx};

/// One connection type for both backends; queries written once run on either.
#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

/// The backend type of [`AnyConnection`], for boxed queries.
pub type Db = <AnyConnection as Connection>::Backend;

impl AnyConnection {
    pub fn backend(&self) -> Backend {
        match self {
            AnyConnection::Postgresql(_) => Backend::Postgres,
            AnyConnection::Sqlite(_) => Backend::Sqlite,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// A database URL whose scheme picks the backend: `postgres://…`/`postgresql://…`
/// or `sqlite://path` (`sqlite:path` and `sqlite::memory:` too). Anything else
/// is refused, because SQLite would happily treat any string as a file name.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    backend: Backend,
    /// What the driver gets: the full URL for PostgreSQL, the path for SQLite.
    target: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DatabaseUrlError {
    #[error("database URL must start with postgres://, postgresql:// or sqlite:// (got {0:?})")]
    UnknownScheme(String),
    #[error("sqlite URL has no file path")]
    EmptyPath,
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, DatabaseUrlError> {
        let raw = raw.trim();
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            return Ok(Self {
                backend: Backend::Postgres,
                target: raw.to_owned(),
            });
        }
        let path = raw
            .strip_prefix("sqlite://")
            .or_else(|| raw.strip_prefix("sqlite:"))
            .ok_or_else(|| DatabaseUrlError::UnknownScheme(scheme_of(raw)))?;
        if path.is_empty() {
            return Err(DatabaseUrlError::EmptyPath);
        }
        Ok(Self {
            backend: Backend::Sqlite,
            target: path.to_owned(),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The SQLite file path, if this is a SQLite URL.
    pub fn sqlite_path(&self) -> Option<&str> {
        (self.backend == Backend::Sqlite).then_some(self.target.as_str())
    }

    /// Safe to log: the password of a PostgreSQL URL is masked.
    pub fn redacted(&self) -> String {
        match self.backend {
            Backend::Sqlite => format!("sqlite://{}", self.target),
            Backend::Postgres => match url::Url::parse(&self.target) {
                Ok(mut url) => {
                    if url.password().is_some() {
                        let _ = url.set_password(Some("***"));
                    }
                    url.to_string()
                }
                Err(_) => "postgres://(unparseable)".to_owned(),
            },
        }
    }

    pub fn establish(&self) -> Result<AnyConnection, diesel::ConnectionError> {
        self.establish_with(DEFAULT_BUSY_TIMEOUT)
    }

    /// Connects; a SQLite connection waits up to `busy_timeout` for another's
    /// write lock before its statement fails as busy.
    pub fn establish_with(
        &self,
        busy_timeout: Duration,
    ) -> Result<AnyConnection, diesel::ConnectionError> {
        match self.backend {
            Backend::Postgres => {
                PgConnection::establish(&self.target).map(AnyConnection::Postgresql)
            }
            Backend::Sqlite => {
                let mut conn = SqliteConnection::establish(&self.target)?;
                // Per connection: foreign keys are off by default in SQLite, and
                // WAL plus a busy timeout let readers and one writer coexist.
                conn.batch_execute(&format!(
                    "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {}; \
                     PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;",
                    busy_timeout.as_millis()
                ))
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                Ok(AnyConnection::Sqlite(conn))
            }
        }
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

fn scheme_of(raw: &str) -> String {
    match raw.split_once("://") {
        Some((scheme, _)) => format!("{scheme}://…"),
        None => raw.chars().take(12).collect(),
    }
}

#[cfg(test)]
mod tests {
    use diesel::RunQueryDsl;

    use super::pool::Watch;

    use super::*;

    #[test]
    fn sqlite_writers_of_a_pool_queue_and_commits_do_not_checkpoint() {
        #[derive(diesel::QueryableByName)]
        struct Pages {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            wal_autocheckpoint: i64,
        }
        let dir = std::env::temp_dir().join(format!("motcua-db-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("queue.db");
        let url = DatabaseUrl::parse(&format!("sqlite://{}", path.display())).unwrap();
        let pool = build_pool(&url, &PoolOptions::default());
        let mut conn = pool.get().unwrap();
        conn.batch_execute("CREATE TABLE IF NOT EXISTS t (n INTEGER)")
            .unwrap();
        let inserted = write_tx(&mut conn, |c| {
            diesel::sql_query("INSERT INTO t (n) VALUES (1)").execute(c)
        })
        .unwrap();
        assert_eq!(inserted, 1);
        let watch = conn.instrumentation().downcast_ref::<Watch>().unwrap();
        assert!(watch.writers.is_some());
        let pages: Pages = diesel::sql_query("PRAGMA wal_autocheckpoint")
            .get_result(&mut *conn)
            .unwrap();
        assert_eq!(pages.wal_autocheckpoint, 0);
        drop(conn);
        drop(pool);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn urls_pick_backend_by_scheme() {
        let pg = DatabaseUrl::parse("postgres://u:secret@localhost/db").unwrap();
        assert_eq!(pg.backend(), Backend::Postgres);
        assert!(!pg.redacted().contains("secret"));
        assert_eq!(
            DatabaseUrl::parse("postgresql://h/db").unwrap().backend(),
            Backend::Postgres
        );
        let lite = DatabaseUrl::parse("sqlite://data/motcua.db").unwrap();
        assert_eq!(lite.sqlite_path(), Some("data/motcua.db"));
        assert_eq!(
            DatabaseUrl::parse("sqlite:x.db").unwrap().sqlite_path(),
            Some("x.db")
        );
        assert!(matches!(
            DatabaseUrl::parse("mysql://h/db"),
            Err(DatabaseUrlError::UnknownScheme(_))
        ));
        assert!(matches!(
            DatabaseUrl::parse("data/motcua.db"),
            Err(DatabaseUrlError::UnknownScheme(_))
        ));
        assert_eq!(
            DatabaseUrl::parse("sqlite://"),
            Err(DatabaseUrlError::EmptyPath)
        );
    }
}
