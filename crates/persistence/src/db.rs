//! Connections, pool and migrations for SQLite and PostgreSQL behind one type.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

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
    /// SQLite: the pool's queue of writers.
    writers: Option<Arc<WriteQueue>>,
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
    writers: Option<Arc<WriteQueue>>,
    /// SQLite: the pool checkpoints from a thread of its own, so its
    /// connections never checkpoint at commit.
    checkpoints_in_background: bool,
}

impl ManageConnection for Manager {
    type Connection = AnyConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<AnyConnection, r2d2::Error> {
        let mut conn = self
            .url
            .establish_with(self.busy_timeout)
            .map_err(r2d2::Error::ConnectionError)?;
        if self.checkpoints_in_background {
            conn.batch_execute("PRAGMA wal_autocheckpoint = 0")
                .map_err(r2d2::Error::QueryError)?;
        }
        conn.set_instrumentation(Watch {
            statements: self.statements.clone(),
            closed: false,
            default: diesel::connection::get_default_instrumentation(),
            writers: self.writers.clone(),
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
    /// SQLite: the pool's checkpointer, stopped when the last clone goes.
    _checkpointer: Option<Arc<Checkpointer>>,
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
    let sqlite_file = url
        .sqlite_path()
        .filter(|path| !path.starts_with(':') && !path.contains("mode=memory"));
    let checkpointer = sqlite_file
        .and_then(|path| Checkpointer::start(url, path, options.busy_timeout))
        .map(Arc::new);
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
            // SQLite has one writer at a time: the pool's writers take turns
            // in order (see `write_tx`).
            writers: (url.backend() == Backend::Sqlite)
                .then(|| Arc::new(WriteQueue::new(options.busy_timeout))),
            checkpoints_in_background: checkpointer.is_some(),
        });
    Pool {
        inner,
        statements,
        _checkpointer: checkpointer,
    }
}

/// How often a SQLite pool's checkpointer copies the write-ahead log into
/// the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// SQLite: copies the write-ahead log into the database file from a thread
/// of its own. By default SQLite does it inside the `COMMIT` that makes the
/// log pass 1,000 pages (several times a second under load), with an fsync
/// of the database file, while that writer still holds its turn, so every
/// writer queued behind it waited for the disk; an fsync on a busy disk
/// takes seconds. Here commits never checkpoint (`wal_autocheckpoint = 0`
/// on the pool's connections) and a `PASSIVE` checkpoint runs every
/// [`CHECKPOINT_EVERY`] beside the writers, without blocking them.
struct Checkpointer {
    /// Dropping it (with the last clone of the pool) stops the thread.
    _stop: std::sync::mpsc::Sender<()>,
}

impl Checkpointer {
    fn start(url: &DatabaseUrl, path: &str, busy_timeout: Duration) -> Option<Self> {
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let (url, path) = (url.clone(), std::path::PathBuf::from(path));
        let spawned = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                let mut conn = None;
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(CHECKPOINT_EVERY)
                {
                    // Connect only to a database that exists: opening creates the file.
                    if conn.is_none() && path.exists() {
                        conn = url.establish_with(busy_timeout).ok();
                    }
                    if let Some(c) = &mut conn
                        && let Err(error) = c.batch_execute("PRAGMA wal_checkpoint(PASSIVE)")
                    {
                        tracing::warn!(%error, "checkpoint failed");
                        conn = None;
                    }
                }
            });
        match spawned {
            Ok(_) => Some(Self { _stop: stop }),
            Err(error) => {
                tracing::warn!(%error, "no checkpoint thread; commits will checkpoint");
                None
            }
        }
    }
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

/// SQLite admits one writer at a time. Left to SQLite, waiting writers
/// poll in its busy handler, sleeping up to 100 ms between tries: whoever
/// polls at the right moment wins, so under load some writers lose for
/// seconds. A pool's writers therefore wait here, first come first served,
/// before `BEGIN IMMEDIATE`; SQLite's busy timeout is left for writers of
/// other processes (and other pools).
#[derive(Debug)]
pub struct WriteQueue {
    state: Mutex<QueueState>,
    turn: Condvar,
    /// How long a writer waits for its turn before failing as busy.
    timeout: Duration,
}

#[derive(Debug, Default)]
struct QueueState {
    /// A writer holds the turn.
    held: bool,
    /// Tickets of the waiting writers, in arrival order.
    waiting: VecDeque<u64>,
    next_ticket: u64,
}

/// The turn of one writer; dropping it lets the next one in.
struct WriteTurn {
    queue: Arc<WriteQueue>,
}

impl WriteQueue {
    pub fn new(timeout: Duration) -> Self {
        Self {
            state: Mutex::new(QueueState::default()),
            turn: Condvar::new(),
            timeout,
        }
    }

    /// Waits for this writer's turn; `None` when the timeout passed first.
    fn enter(self: &Arc<Self>) -> Option<WriteTurn> {
        let deadline = Instant::now() + self.timeout;
        // A poisoned lock only means a writer panicked; the state is still whole.
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let ticket = state.next_ticket;
        state.next_ticket += 1;
        state.waiting.push_back(ticket);
        loop {
            if !state.held && state.waiting.front() == Some(&ticket) {
                state.waiting.pop_front();
                state.held = true;
                return Some(WriteTurn {
                    queue: self.clone(),
                });
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                state.waiting.retain(|&t| t != ticket);
                drop(state);
                // The next in line may be free to go now that we are not in front.
                self.turn.notify_all();
                return None;
            }
            state = self
                .turn
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

impl Drop for WriteTurn {
    fn drop(&mut self) {
        let mut state = self
            .queue
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        state.held = false;
        drop(state);
        self.queue.turn.notify_all();
    }
}

/// The error of a writer whose turn did not come within the busy timeout:
/// the same as SQLite's own, so callers see `StoreError::Busy`.
fn queue_timeout() -> diesel::result::Error {
    diesel::result::Error::DatabaseError(
        diesel::result::DatabaseErrorKind::Unknown,
        Box::new(String::from(
            "database is locked (waiting in the write queue)",
        )),
    )
}

/// Runs `f` in a transaction that takes the write lock up front on SQLite
/// (`BEGIN IMMEDIATE`), so two writers queue instead of failing with
/// "database is locked" when a read turns into a write; a pool's writers
/// queue in order ([`WriteQueue`]). On PostgreSQL it is an ordinary
/// transaction; row locks do the queueing.
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
    let queue = conn
        .instrumentation()
        .downcast_ref::<Watch>()
        .and_then(|watch| watch.writers.clone());
    let _turn = match &queue {
        Some(queue) => Some(queue.enter().ok_or_else(|| E::from(queue_timeout()))?),
        None => None,
    };
    let AnyConnection::Sqlite(inner) = conn else {
        return conn.transaction(f);
    };
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

/// PostgreSQL: what the other sessions on this database are doing right
/// now, counted by state and wait event (`active CPU` is running, `active
/// Lock:transactionid` waits for another transaction's row lock, `idle in
/// transaction Client:ClientRead` waits for its client inside a
/// transaction). For benchmarks telling a CPU bound from a lock; empty on SQLite.
pub fn session_activity(conn: &mut AnyConnection) -> Result<Vec<(String, i64)>, StoreError> {
    #[derive(diesel::QueryableByName)]
    struct Activity {
        #[diesel(sql_type = diesel::sql_types::Text)]
        what: String,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        sessions: i64,
    }
    if conn.backend() != Backend::Postgres {
        return Ok(Vec::new());
    }
    let rows: Vec<Activity> = diesel::sql_query(
        "SELECT state || ' ' || COALESCE(wait_event_type || ':' || wait_event, 'CPU') AS what, \
                COUNT(*) AS sessions \
         FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid() \
           AND state IN ('active', 'idle in transaction') \
         GROUP BY 1",
    )
    .load(conn)?;
    Ok(rows.into_iter().map(|r| (r.what, r.sessions)).collect())
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

    fn waiting(queue: &WriteQueue) -> usize {
        queue.state.lock().unwrap().waiting.len()
    }

    #[test]
    fn writers_take_turns_in_arrival_order() {
        let queue = Arc::new(WriteQueue::new(Duration::from_secs(60)));
        let first = queue.enter().unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut writers = Vec::new();
        for i in 0..5 {
            let (mine, order) = (queue.clone(), order.clone());
            writers.push(std::thread::spawn(move || {
                let _turn = mine.enter().unwrap();
                order.lock().unwrap().push(i);
            }));
            // The next writer arrives only once this one waits.
            while waiting(&queue) < i + 1 {
                std::thread::yield_now();
            }
        }
        drop(first);
        for writer in writers {
            writer.join().unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn a_writer_gives_up_after_the_timeout_and_leaves_the_queue() {
        let queue = Arc::new(WriteQueue::new(Duration::from_millis(20)));
        let held = queue.enter().unwrap();
        assert!(queue.enter().is_none());
        assert_eq!(waiting(&queue), 0);
        drop(held);
        assert!(queue.enter().is_some());
    }

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
