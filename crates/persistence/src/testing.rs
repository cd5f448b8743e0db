//! Throw-away databases for tests: a temporary SQLite file, or a fresh
//! PostgreSQL database cloned from a migrated template, one per test, so tests
//! run in parallel and the application's own transactions run for real.
//!
//! PostgreSQL is used when `MOTCUA_TEST_POSTGRES_URL` names a server
//! (e.g. `postgres://postgres@127.0.0.1:5432/postgres`).

use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::Once;
use std::time::{SystemTime, UNIX_EPOCH};

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use crate::db::{DatabaseUrl, Pool, PoolOptions, build_pool, run_migrations, with_database};

pub const POSTGRES_ENV: &str = "MOTCUA_TEST_POSTGRES_URL";

/// The PostgreSQL server for tests, if configured. Says once when it is not.
pub fn postgres_url() -> Option<String> {
    static NOTICE: Once = Once::new();
    let url = std::env::var(POSTGRES_ENV)
        .ok()
        .filter(|u| !u.trim().is_empty());
    if url.is_none() {
        NOTICE.call_once(|| {
            eprintln!("note: {POSTGRES_ENV} is not set: PostgreSQL tests are skipped, SQLite only")
        });
    }
    url
}

enum Cleanup {
    SqliteFile(PathBuf),
    Postgres { server: String, name: String },
}

/// A database that exists for the life of this value.
pub struct TestDb {
    pub url: DatabaseUrl,
    raw_url: String,
    cleanup: Cleanup,
}

impl TestDb {
    /// A migrated SQLite database in a temporary file.
    #[allow(clippy::expect_used)]
    pub fn sqlite() -> Self {
        let path =
            std::env::temp_dir().join(format!("motcua-test-{}.db", uuid::Uuid::new_v4().simple()));
        let raw_url = format!("sqlite://{}", path.display());
        let url = DatabaseUrl::parse(&raw_url).expect("sqlite url");
        let mut conn = url.establish().expect("create sqlite test database");
        run_migrations(&mut conn).expect("migrate sqlite test database");
        Self {
            url,
            raw_url,
            cleanup: Cleanup::SqliteFile(path),
        }
    }

    /// A migrated PostgreSQL database of its own, or `None` when no server is configured.
    #[allow(clippy::expect_used)]
    pub fn postgres() -> Option<Self> {
        let server = postgres_url()?;
        let template = ensure_template(&server);
        let stamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let name = format!(
            "motcua_t_{stamp}_{}",
            uuid::Uuid::new_v4()
                .simple()
                .to_string()
                .chars()
                .take(12)
                .collect::<String>()
        );
        let mut admin =
            PgConnection::establish(&server).expect("connect to the PostgreSQL test server");
        // Several tests clone the template at once; PostgreSQL refuses a clone
        // while another is copying, so retry briefly.
        let mut attempts = 0;
        loop {
            match admin.batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {template}")) {
                Ok(()) => break,
                Err(e)
                    if attempts < 50 && e.to_string().contains("being accessed by other users") =>
                {
                    attempts += 1;
                    std::thread::sleep(std::time::Duration::from_millis(50 + 20 * attempts));
                }
                Err(e) => panic!("create test database: {e}"),
            }
        }
        let raw_url = with_database(&server, &name);
        let url = DatabaseUrl::parse(&raw_url).expect("postgres url");
        Some(Self {
            url,
            raw_url,
            cleanup: Cleanup::Postgres { server, name },
        })
    }

    /// Either backend by name: `"sqlite"` or `"postgres"`.
    pub fn for_backend(backend: crate::Backend) -> Option<Self> {
        match backend {
            crate::Backend::Sqlite => Some(Self::sqlite()),
            crate::Backend::Postgres => Self::postgres(),
        }
    }

    pub fn pool(&self) -> Pool {
        build_pool(
            &self.url,
            &PoolOptions {
                max_size: 8,
                ..PoolOptions::default()
            },
        )
    }

    /// The PostgreSQL database name, when this is one.
    pub fn postgres_name(&self) -> Option<(&str, &str)> {
        match &self.cleanup {
            Cleanup::Postgres { server, name } => Some((server.as_str(), name.as_str())),
            Cleanup::SqliteFile(_) => None,
        }
    }

    /// The URL as a server would be given it on its command line.
    pub fn url_string(&self) -> &str {
        &self.raw_url
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::SqliteFile(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut p = path.clone().into_os_string();
                    p.push(suffix);
                    let _ = std::fs::remove_file(p);
                }
            }
            Cleanup::Postgres { server, name } => {
                if let Ok(mut admin) = PgConnection::establish(server) {
                    let _ = admin
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
                }
            }
        }
    }
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    datname: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Name of the template that holds the current migrations, built once per
/// migration set by whichever test gets the advisory lock first.
#[allow(clippy::expect_used)]
fn ensure_template(server: &str) -> String {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations/postgres");
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    let mut entries: Vec<PathBuf> = walk(dir.as_ref());
    entries.sort();
    for path in entries {
        path.file_name().hash(&mut hasher);
        std::fs::read(&path).unwrap_or_default().hash(&mut hasher);
    }
    let template = format!("motcua_tpl_{:016x}", hasher.finish());

    let mut admin = PgConnection::establish(server).expect("connect to the PostgreSQL test server");
    admin
        .batch_execute("SELECT pg_advisory_lock(7733001)")
        .expect("lock");
    let exists: i64 = diesel::sql_query("SELECT count(*) AS n FROM pg_database WHERE datname = $1")
        .bind::<Text, _>(&template)
        .get_result::<Count>(&mut admin)
        .expect("look up template")
        .n;
    if exists == 0 {
        let building = format!("{template}_building");
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"))
            .expect("drop");
        admin
            .batch_execute(&format!("CREATE DATABASE {building}"))
            .expect("create template");
        {
            let url = DatabaseUrl::parse(&with_database(server, &building)).expect("url");
            let mut conn = url.establish().expect("connect to template");
            run_migrations(&mut conn).expect("migrate template");
        }
        admin
            .batch_execute(&format!("ALTER DATABASE {building} RENAME TO {template}"))
            .expect("rename template");
        // Templates of older migration sets, and databases of crashed runs older than a day.
        let stale: Vec<Name> = diesel::sql_query(
            "SELECT datname FROM pg_database WHERE datname LIKE 'motcua_tpl_%' AND datname <> $1",
        )
        .bind::<Text, _>(&template)
        .load(&mut admin)
        .unwrap_or_default();
        for db in stale {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                db.datname
            ));
        }
    }
    let day_ago = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
        .saturating_sub(86_400);
    let leftovers: Vec<Name> =
        diesel::sql_query("SELECT datname FROM pg_database WHERE datname LIKE 'motcua_t_%'")
            .load(&mut admin)
            .unwrap_or_default();
    for db in leftovers {
        let stamp = db
            .datname
            .split('_')
            .nth(2)
            .and_then(|s| s.parse::<u64>().ok());
        if stamp.is_some_and(|s| s < day_ago) {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                db.datname
            ));
        }
    }
    admin
        .batch_execute("SELECT pg_advisory_unlock(7733001)")
        .expect("unlock");
    template
}

fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else {
                out.push(path);
            }
        }
    }
    out
}
