//! The connection pool: its manager, statement counter and SQLite checkpoints.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use diesel::Connection;
use diesel::connection::{Instrumentation, InstrumentationEvent, SimpleConnection};
use diesel::r2d2::{self, ManageConnection, R2D2Connection};

use super::{AnyConnection, Backend, DatabaseUrl, WriteQueue};

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
pub(super) struct Watch {
    statements: StatementCounter,
    closed: bool,
    default: Option<Box<dyn Instrumentation>>,
    /// SQLite: the pool's queue of writers.
    pub(super) writers: Option<Arc<WriteQueue>>,
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
pub(super) const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// SQLite: copies the write-ahead log into the database file from a thread
/// of its own. By default SQLite does it inside the `COMMIT` that makes the
/// log pass 1,000 pages (several times a second under load), with an fsync
/// of the database file, while that writer still holds its turn, so every
/// writer queued behind it waited for the disk; an fsync on a busy disk
/// takes seconds. Here commits never checkpoint (`wal_autocheckpoint = 0`
/// on the pool's connections) and a `PASSIVE` checkpoint runs every
/// [`CHECKPOINT_EVERY`] beside the writers, without blocking them.
pub(super) struct Checkpointer {
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
