//! [`App`]: the one assembly of motcua. The binary, the black-box tests and
//! the bench all build it with [`App::build`] and start its workers with
//! [`App::start_workers`], so the tests run the server production runs.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use motcua_domain::calendar::WorkingHours;
use motcua_persistence::storage::{FileStore, LocalFileStore};
use motcua_persistence::{
    AnyConnection, Backend, DatabaseUrl, Pool, PoolOptions, build_pool, run_migrations,
};

use crate::clock::Clock;
use crate::notifier::Notifier;
use crate::payments::gateway::{self, Gateway};
use crate::settings::Settings;

/// How long a starting server waits for its database (a container may still be starting).
pub const DATABASE_WAIT: Duration = Duration::from_secs(30);

/// Everything a use case needs; cheap to clone (shared parts are `Arc`s).
/// Nothing in it matters across processes: several servers can run against
/// one PostgreSQL.
#[derive(Clone)]
pub struct App {
    pub pool: Pool,
    pub backend: Backend,
    pub settings: Arc<Settings>,
    /// What "now" is: the system's time, or a test's.
    pub clock: Clock,
    /// Where document files are kept.
    pub files: Arc<dyn FileStore>,
    /// Working sessions and cut-off for due dates.
    pub hours: WorkingHours,
    /// This process's working calendar (with `hours`), read again only when
    /// the calendar's generation in the database changed (any process's edit).
    pub calendar: Arc<motcua_persistence::repo::calendar::CalendarCache>,
    /// The payment gateway (VNPay, or the built-in sandbox).
    pub gateway: Arc<dyn Gateway>,
    /// Where one-time codes and notifications go: one sender per channel
    /// (SMS gateway, SMTP, or the development sink).
    pub notifier: Arc<dyn Notifier>,
    /// The key access tokens are signed with.
    pub jwt_secret: Arc<[u8]>,
    /// A random name of this process, for the job runs it claims.
    pub instance: Arc<str>,
    /// Where webhook deliveries go out (HTTP, checked against SSRF).
    pub webhook_sender: Arc<dyn crate::webhooks::Sender>,
    /// Notification attempts by channel and result since the start (`/metrics`).
    pub notification_counters: Arc<crate::notifications::NotificationCounters>,
    /// The national portal's sync API; `None` while `portal.url` is unset.
    pub portal_client: Option<Arc<dyn crate::portal::PortalClient>>,
}

impl App {
    /// Opens the database (waiting for it up to [`DATABASE_WAIT`]), applies
    /// pending migrations and assembles the rest, on the system clock.
    pub fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with_clock(settings, Clock::system())
    }

    /// [`App::build`] on a given clock (a test's).
    pub fn build_with_clock(settings: Settings, clock: Clock) -> anyhow::Result<Self> {
        let (pool, url) = connect(&settings, DATABASE_WAIT)?;
        let applied = migrate(&pool)?;
        if !applied.is_empty() {
            tracing::info!(database = %url.redacted(), applied = applied.len(), "migrations applied");
        }
        Ok(Self::from_parts(settings, pool, url.backend(), clock))
    }

    /// Assembles an app on a pool without touching the database (for a
    /// server whose database is not reachable yet; [`App::build`] otherwise).
    pub fn from_parts(settings: Settings, pool: Pool, backend: Backend, clock: Clock) -> Self {
        let files = Arc::new(LocalFileStore::new(
            std::path::Path::new(&settings.data_dir).join("files"),
        ));
        // `Settings::check` vets the hours before a server starts.
        let hours = settings.calendar.hours().unwrap_or_default();
        let gateway = gateway::build(
            &settings.payments,
            pool.clone(),
            &settings.server.public_base_url,
            &clock,
        );
        let notifier = crate::notifier::senders(&settings);
        let jwt_secret = jwt_secret(&settings).into();
        let webhook_sender = Arc::new(crate::webhooks::http_sender(&settings));
        let portal_client = crate::portal::client(&settings);
        Self {
            pool,
            backend,
            settings: Arc::new(settings),
            clock,
            files,
            hours,
            calendar: Arc::new(motcua_persistence::repo::calendar::CalendarCache::new(
                hours,
            )),
            gateway,
            notifier,
            jwt_secret,
            instance: crate::password::random_token(12).into(),
            webhook_sender,
            notification_counters: Arc::default(),
            portal_client,
        }
    }

    /// A connection from the pool (blocking).
    pub fn conn(&self) -> anyhow::Result<motcua_persistence::db::PooledConnection> {
        self.pool.get().context("getting a database connection")
    }

    /// Runs blocking database work with a connection of the pool.
    pub fn with_conn<T>(
        &self,
        work: impl FnOnce(&mut AnyConnection) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let mut conn = self.conn()?;
        work(&mut conn)
    }
}

/// Opens the pool; waits up to `wait` for the database.
pub fn connect(settings: &Settings, wait: Duration) -> anyhow::Result<(Pool, DatabaseUrl)> {
    let url = DatabaseUrl::parse(settings.database.url.expose())?;
    let sqlite_dir = url
        .sqlite_path()
        .and_then(|p| std::path::Path::new(p).parent())
        .filter(|p| !p.as_os_str().is_empty());
    if let Some(dir) = sqlite_dir {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let options = PoolOptions {
        max_size: settings.database.pool_size.max(1),
        connect_timeout: Duration::from_secs(settings.database.connect_timeout_secs.max(1)),
        busy_timeout: Duration::from_millis(settings.database.busy_timeout_ms),
        ..PoolOptions::default()
    };
    let pool = build_pool(&url, &options);
    let deadline = std::time::Instant::now() + wait;
    loop {
        match url.establish() {
            Ok(_) => return Ok((pool, url)),
            Err(e) if std::time::Instant::now() < deadline => {
                tracing::warn!(database = %url.redacted(), error = %e, "database not reachable yet; retrying");
                std::thread::sleep(Duration::from_secs(1));
            }
            Err(e) => bail!("cannot connect to {}: {e}", url.redacted()),
        }
    }
}

/// Applies pending migrations; returns their names.
pub fn migrate(pool: &Pool) -> anyhow::Result<Vec<String>> {
    let mut c = pool.get().context("getting a database connection")?;
    Ok(run_migrations(&mut c)?)
}

/// The JWT key: configured, or (development only) random for this run.
pub fn jwt_secret(settings: &Settings) -> Vec<u8> {
    match &settings.auth.jwt_secret {
        Some(secret) => secret.expose().as_bytes().to_vec(),
        None => {
            tracing::warn!(
                "no auth.jwt_secret configured: using a random key for this run (development only); \
                 tokens will not survive a restart or work across processes"
            );
            crate::password::random_token(48).into_bytes()
        }
    }
}
