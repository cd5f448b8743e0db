//! Connections, pool and migrations for SQLite and PostgreSQL behind one type.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use diesel::connection::{
    AnsiTransactionManager, Instrumentation, InstrumentationEvent, SimpleConnection,
    TransactionManager,
};
use diesel::pg::PgConnection;
use diesel::r2d2::{self, ManageConnection, R2D2Connection};
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::StoreError;

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

/// How many statements a pool's connections have sent to the database: every
/// query, batch and transaction statement (`BEGIN`, `COMMIT`, savepoints) is
/// one, so the count is the number of round trips. One counter per pool, so
/// servers (and tests) running side by side do not see each other's work.
#[derive(Debug, Clone, Default)]
pub struct StatementCounter(Arc<AtomicU64>);

impl StatementCounter {
    /// Statements sent so far.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Watches one connection: counts its statements into the pool's counter and
/// remembers when the server closed it, so the pool drops it instead of
/// handing it out again (there is no `SELECT 1` on checkout to find out).
/// Events also reach the process's default instrumentation, if one is set
/// (`diesel::connection::set_default_instrumentation`, e.g. a query tracer).
struct Watch {
    statements: StatementCounter,
    closed: bool,
    default: Option<Box<dyn Instrumentation>>,
}

impl Instrumentation for Watch {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        match &event {
            InstrumentationEvent::StartQuery { .. } => {
                self.statements.0.fetch_add(1, Ordering::Relaxed);
            }
            InstrumentationEvent::FinishQuery {
                error:
                    Some(diesel::result::Error::DatabaseError(
                        diesel::result::DatabaseErrorKind::ClosedConnection
                        | diesel::result::DatabaseErrorKind::UnableToSendCommand,
                        _,
                    )),
                ..
            } => self.closed = true,
            _ => {}
        }
        if let Some(default) = &mut self.default {
            default.on_connection_event(event);
        }
    }
}

/// r2d2 manager that connects through [`DatabaseUrl`], so the real PostgreSQL
/// connection error reaches the log instead of a SQLite fallback's.
#[derive(Debug, Clone)]
pub struct Manager {
    url: DatabaseUrl,
    busy_timeout: Duration,
    statements: StatementCounter,
}

impl ManageConnection for Manager {
    type Connection = AnyConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<AnyConnection, r2d2::Error> {
        let mut conn = self
            .url
            .establish_with(self.busy_timeout)
            .map_err(r2d2::Error::ConnectionError)?;
        conn.set_instrumentation(Watch {
            statements: self.statements.clone(),
            closed: false,
            default: diesel::connection::get_default_instrumentation(),
        });
        Ok(conn)
    }

    fn is_valid(&self, conn: &mut AnyConnection) -> Result<(), r2d2::Error> {
        conn.ping().map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut AnyConnection) -> bool {
        conn.is_broken()
            || conn
                .instrumentation()
                .downcast_ref::<Watch>()
                .is_some_and(|watch| watch.closed)
    }
}

/// The connection pool, with the count of statements its connections sent.
/// It dereferences to the r2d2 pool (`get`, `state`, …).
#[derive(Clone)]
pub struct Pool {
    inner: r2d2::Pool<Manager>,
    statements: StatementCounter,
}

impl Pool {
    /// The statements this pool's connections have sent so far.
    pub fn statements(&self) -> &StatementCounter {
        &self.statements
    }
}

impl std::ops::Deref for Pool {
    type Target = r2d2::Pool<Manager>;

    fn deref(&self) -> &Self::Target {
        &self.inner
    }
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("state", &self.inner.state())
            .field("statements", &self.statements.get())
            .finish()
    }
}

pub type PooledConnection = r2d2::PooledConnection<Manager>;

#[derive(Debug, Clone)]
pub struct PoolOptions {
    pub max_size: u32,
    pub connect_timeout: Duration,
    /// SQLite only: how long a statement waits for another connection's write lock.
    pub busy_timeout: Duration,
    /// Ping (`SELECT 1`) every connection as it leaves the pool: one more
    /// round trip per request. Off by default: a connection the server
    /// closed fails its request once and is then dropped, and idle ones are
    /// closed after `idle_timeout` before servers or firewalls drop them.
    pub test_on_check_out: bool,
    /// How long a connection may sit unused in the pool before it is closed.
    pub idle_timeout: Duration,
}

/// SQLite's wait for a write lock when none is configured.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            max_size: 10,
            connect_timeout: Duration::from_secs(5),
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
            test_on_check_out: false,
            idle_timeout: Duration::from_secs(300),
        }
    }
}

/// Builds the pool without connecting: start-up and readiness decide what an
/// unreachable database means, and the pool reconnects by itself later.
pub fn build_pool(url: &DatabaseUrl, options: &PoolOptions) -> Pool {
    let statements = StatementCounter::default();
    let inner = r2d2::Pool::builder()
        .max_size(options.max_size)
        .min_idle(Some(0))
        .connection_timeout(options.connect_timeout)
        .test_on_check_out(options.test_on_check_out)
        .idle_timeout(Some(options.idle_timeout))
        .build_unchecked(Manager {
            url: url.clone(),
            busy_timeout: options.busy_timeout,
            statements: statements.clone(),
        });
    Pool { inner, statements }
}

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

/// Runs `f` in a transaction that takes the write lock up front on SQLite
/// (`BEGIN IMMEDIATE`), so two writers queue on the busy timeout instead of
/// failing with "database is locked" when a read turns into a write. On
/// PostgreSQL it is an ordinary transaction; row locks do the queueing.
pub fn write_tx<T, E>(
    conn: &mut AnyConnection,
    f: impl FnOnce(&mut AnyConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    let AnyConnection::Sqlite(inner) = conn else {
        return conn.transaction(f);
    };
    if AnsiTransactionManager::transaction_manager_status_mut(inner)
        .transaction_depth()
        .map_err(E::from)?
        .is_some()
    {
        // Already inside a transaction: a savepoint is all we can take.
        return conn.transaction(f);
    }
    AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE").map_err(E::from)?;
    match f(conn) {
        Ok(value) => {
            if let AnyConnection::Sqlite(inner) = conn {
                AnsiTransactionManager::commit_transaction(inner).map_err(E::from)?;
            }
            Ok(value)
        }
        Err(error) => {
            if let AnyConnection::Sqlite(inner) = conn
                && let Err(rollback) = AnsiTransactionManager::rollback_transaction(inner)
            {
                tracing::error!(error = %rollback, "rollback failed");
            }
            Err(error)
        }
    }
}

/// Cheap liveness query used by readiness checks.
pub fn ping(conn: &mut AnyConnection) -> Result<(), StoreError> {
    diesel::sql_query("SELECT 1").execute(conn)?;
    Ok(())
}

/// After a bulk load, refreshes PostgreSQL's planner statistics, which
/// autovacuum would only do later: without them it mis-estimates the KPI
/// span conditions and reads every row of an agency instead of seeking each
/// span (7.6 ms instead of 0.8 ms at 10k dossiers). SQLite's planner picks
/// the span indexes without statistics.
pub fn refresh_statistics(conn: &mut AnyConnection) -> Result<(), StoreError> {
    if let AnyConnection::Postgresql(pg) = conn {
        pg.batch_execute("ANALYZE")?;
    }
    Ok(())
}

/// After rows were inserted with explicit ids, moves PostgreSQL's id
/// sequences past them (SQLite's AUTOINCREMENT follows by itself).
pub fn sync_id_sequences(conn: &mut AnyConnection, tables: &[&str]) -> Result<(), StoreError> {
    if let AnyConnection::Postgresql(pg) = conn {
        for table in tables {
            // Table names are ours, never input.
            if !table.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                return Err(StoreError::Conflict(format!("not a table name: {table}")));
            }
            pg.batch_execute(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                 GREATEST((SELECT COALESCE(MAX(id), 0) FROM {table}), 1))"
            ))?;
        }
    }
    Ok(())
}

/// The URL of database `name` on the PostgreSQL server at `server`.
pub fn with_database(server: &str, name: &str) -> String {
    match url::Url::parse(server) {
        Ok(mut url) => {
            url.set_path(&format!("/{name}"));
            url.to_string()
        }
        Err(_) => format!("{}/{name}", server.trim_end_matches('/')),
    }
}

/// Database `name` on the PostgreSQL server at `server` (dropped first when
/// `fresh`, created when missing), as a URL. For tools such as benchmarks.
pub fn postgres_database(server: &str, name: &str, fresh: bool) -> Result<String, StoreError> {
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(StoreError::Conflict(format!("not a database name: {name}")));
    }
    let mut admin = PgConnection::establish(server)
        .map_err(|e| StoreError::Conflict(format!("connect to {server}: {e}")))?;
    if fresh {
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
    }
    let exists = diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(&format!(
        "EXISTS (SELECT 1 FROM pg_database WHERE datname = '{name}')"
    )))
    .get_result::<bool>(&mut admin)?;
    if !exists {
        admin.batch_execute(&format!("CREATE DATABASE {name}"))?;
    }
    Ok(with_database(server, name))
}

#[cfg(test)]
mod tests {
    use super::*;

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
