//! The motcua commands: serve, migrate, create-admin, import-catalog,
//! generate, rebuild-kpi, openapi.
//! `main.rs` only parses arguments and calls these.

pub mod seed;
pub mod telemetry;

use std::io::BufRead;
use std::net::TcpListener;
use std::time::Duration;

use anyhow::{Context, bail};
use motcua_domain::Role;
use motcua_domain::user::{check_password, check_username};
use motcua_domain::validation::FieldErrors;
use motcua_http::Settings;
use motcua_http::auth::{hash_password, random_token};
use motcua_http::settings::Secret;
use motcua_persistence::repo::{agencies, procedures, users};
use motcua_persistence::{
    AnyConnection, DatabaseUrl, Pool, PoolOptions, build_pool, run_migrations,
};

/// Loads settings and applies command-line overrides, which win over everything.
pub fn settings(
    config: Option<&str>,
    bind: Option<String>,
    database_url: Option<String>,
) -> anyhow::Result<Settings> {
    let mut settings = Settings::load(config)?;
    if let Some(bind) = bind {
        settings.server.bind = bind;
    }
    if let Some(url) = database_url {
        settings.database.url = Secret::new(url);
    }
    Ok(settings)
}

/// Opens the pool; waits up to `wait` for the database (a container may still be starting).
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

fn conn(pool: &Pool) -> anyhow::Result<motcua_persistence::db::PooledConnection> {
    pool.get().context("getting a database connection")
}

pub fn migrate(pool: &Pool) -> anyhow::Result<Vec<String>> {
    let mut c = conn(pool)?;
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
            random_token(48).into_bytes()
        }
    }
}

/// Seeds demo data into an empty database (when enabled) and returns it for printing.
pub fn seed_if_empty(
    conn: &mut AnyConnection,
    demo: bool,
) -> anyhow::Result<Option<seed::DemoSeed>> {
    if !demo || !seed::is_empty(conn)? {
        return Ok(None);
    }
    Ok(Some(seed::demo(conn)?))
}

/// Appends a `payment_config` audit entry when the payment configuration a
/// server starts with differs from the one last recorded: it is read from the
/// configuration file and the environment, so no request changes it, and a
/// start-up is where a change shows. Returns whether an entry was written.
pub fn record_payment_config(
    pool: &Pool,
    payments: &motcua_http::settings::PaymentSettings,
) -> anyhow::Result<bool> {
    let mut c = conn(pool)?;
    Ok(motcua_persistence::repo::audit::record_if_changed(
        &mut c,
        &motcua_domain::audit::Actor::system("startup"),
        motcua_domain::audit::EntityType::PaymentConfig,
        "gateway",
        "configure",
        payments.audit_view(),
    )?)
}

/// `motcua serve`: migrate, seed, serve until SIGTERM/SIGINT.
pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    settings.check()?;
    let (pool, url) = connect(&settings, Duration::from_secs(30))?;
    let applied = migrate(&pool)?;
    tracing::info!(database = %url.redacted(), applied = applied.len(), "database ready");
    let seeded = {
        let mut c = conn(&pool)?;
        let years = seed::official_calendar(&mut c)?;
        if !years.is_empty() {
            tracing::info!(?years, "official holidays seeded");
        }
        seed_if_empty(&mut c, settings.demo_enabled())?
    };
    if let Some(seeded) = &seeded {
        seed::print_demo_accounts(seeded);
    }
    if record_payment_config(&pool, &settings.payments)? {
        tracing::info!(
            "payment configuration changed since the last start: recorded in the audit log"
        );
    }
    let listener = TcpListener::bind(&settings.server.bind)
        .with_context(|| format!("binding {}", settings.server.bind))?;
    let address = listener.local_addr()?;
    let mut settings = settings;
    if settings.server.public_base_url.trim().is_empty() {
        settings.server.public_base_url = format!("http://{address}");
    }
    let secret = jwt_secret(&settings);
    let backend = url.backend();
    let state = motcua_http::state(settings, pool, backend, secret);
    let shared = motcua_http::Shared::new(state)?;
    let jobs_every = shared.state.settings.payments.jobs_interval_secs;
    if jobs_every > 0 {
        motcua_http::payments::jobs::spawn(shared.state.clone(), Duration::from_secs(jobs_every));
    }
    let server = motcua_http::serve(shared, listener)?;
    stop_on_signals(server.handle())?;
    tracing::info!("motcua listening on http://{address} (API under /api/v1, docs at /docs)");
    server.await?;
    tracing::info!("stopped");
    Ok(())
}

/// Stops the server gracefully on SIGTERM or SIGINT. The handlers are in
/// place when this returns, before the server says it is listening.
fn stop_on_signals(handle: actix_web::dev::ServerHandle) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        actix_web::rt::spawn(async move {
            tokio::select! {
                _ = terminate.recv() => tracing::info!("SIGTERM received: finishing requests in flight"),
                _ = interrupt.recv() => tracing::info!("SIGINT received: finishing requests in flight"),
            }
            handle.stop(true).await;
        });
    }
    #[cfg(not(unix))]
    actix_web::rt::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            handle.stop(true).await;
        }
    });
    Ok(())
}

/// `motcua create-admin`: an administrator whose password is read from standard input.
pub fn create_admin(
    pool: &Pool,
    username: &str,
    full_name: &str,
    input: &mut dyn BufRead,
) -> anyhow::Result<i64> {
    let username = username.trim().to_lowercase();
    let mut password = String::new();
    input
        .read_line(&mut password)
        .context("reading the password from standard input")?;
    let password = password.trim_end_matches(['\n', '\r']).to_owned();
    let mut errors = FieldErrors::new();
    check_username(&mut errors, "username", &username);
    check_password(&mut errors, "password", &password, &username);
    if let Err(errors) = errors.into_result() {
        let list: Vec<String> = errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.problem.code()))
            .collect();
        bail!("refused: {}", list.join(", "));
    }
    let hash = hash_password(&password).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut c = conn(pool)?;
    let user = motcua_persistence::write_tx(&mut c, |c| {
        let user = users::insert(
            c,
            &users::NewUser {
                username: &username,
                password_hash: &hash,
                role: Role::Admin,
                agency_id: None,
                applicant_id: None,
                full_name,
                phone: None,
                email: None,
                demo: false,
            },
        )
        .map_err(|e| {
            if e.is_conflict_on("username") {
                anyhow::anyhow!("the username {username:?} is taken")
            } else {
                anyhow::Error::from(e)
            }
        })?;
        let after = serde_json::json!({
            "id": user.id,
            "username": user.username,
            "role": user.role,
            "agency_id": user.agency_id,
            "full_name": user.full_name,
            "active": user.active,
        });
        motcua_persistence::repo::audit::record(
            c,
            &motcua_domain::audit::Actor::system("cli"),
            &motcua_domain::audit::Change::new(
                motcua_domain::audit::EntityType::User,
                user.id,
                "create",
                None,
                Some(after),
            ),
        )?;
        Ok::<_, anyhow::Error>(user)
    })?;
    Ok(user.id)
}

/// `motcua import-catalog FILE`: JSON or CSV by extension, all or nothing.
pub fn import_catalog(
    pool: &Pool,
    file: &str,
    agency: Option<&str>,
) -> anyhow::Result<procedures::ImportReport> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {file}"))?;
    let rows = if file.to_ascii_lowercase().ends_with(".csv") {
        motcua_http::catalog_import::parse_csv(&bytes)
    } else {
        motcua_http::catalog_import::parse_json(&bytes)
    }
    .map_err(|e| {
        anyhow::anyhow!(
            "{file}: {}",
            e.detail
                .as_ref()
                .map(|d| d.en.clone())
                .unwrap_or_else(|| e.code.as_str().to_owned())
        )
    })?;
    let mut c = conn(pool)?;
    let default = match agency {
        Some(code) => Some(
            agencies::by_code(&mut c, code)
                .with_context(|| format!("no agency with code {code}"))?
                .id,
        ),
        None => agencies::list(&mut c)?
            .into_iter()
            .find(|a| {
                a.parent_id.is_none() && a.level == motcua_domain::procedure::AdminLevel::Province
            })
            .map(|a| a.id),
    };
    let first = if file.to_ascii_lowercase().ends_with(".csv") {
        1
    } else {
        0
    };
    Ok(procedures::import(
        &mut c,
        rows,
        default,
        first,
        &motcua_domain::audit::Actor::system("cli"),
    )?)
}

/// A one-page PDF every synthetic electronic document points at.
const PLACEHOLDER_PDF: &[u8] = b"%PDF-1.4
1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj
2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj
3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj
trailer<</Root 1 0 R>>
%%EOF
";

/// `motcua generate`: synthetic data at scale (see `motcua_persistence::synthetic`).
pub fn generate(
    settings: &Settings,
    pool: &Pool,
    dossiers: u64,
    procedures: u32,
    years: u32,
    seed: u64,
) -> anyhow::Result<motcua_persistence::synthetic::Report> {
    use motcua_persistence::storage::{FileStore, LocalFileStore};
    use sha2::{Digest, Sha256};
    if procedures == 0 || years == 0 {
        bail!("--procedures and --years must be at least 1");
    }
    let mut c = conn(pool)?;
    seed::official_calendar(&mut c)?;
    if let Some(seeded) = seed_if_empty(&mut c, settings.demo_enabled())? {
        seed::print_demo_accounts(&seeded);
    }
    let key = "synthetic-placeholder-pdf";
    LocalFileStore::new(std::path::Path::new(&settings.data_dir).join("files"))
        .put(key, PLACEHOLDER_PDF)
        .context("storing the placeholder document")?;
    let plan = motcua_persistence::synthetic::Plan {
        dossiers,
        procedures,
        years,
        until: chrono::Utc::now(),
        seed,
        placeholder: motcua_persistence::synthetic::Placeholder {
            storage_key: key.to_owned(),
            size_bytes: PLACEHOLDER_PDF.len() as i64,
            sha256: hex::encode(Sha256::digest(PLACEHOLDER_PDF)),
        },
    };
    let started = std::time::Instant::now();
    let mut shown = 0;
    let report = motcua_persistence::synthetic::generate(&mut c, &plan, |r| {
        if r.dossiers >= shown + 100_000 || r.dossiers == dossiers {
            shown = r.dossiers;
            eprintln!(
                "  {:>9} dossiers written ({:.0} s)",
                r.dossiers,
                started.elapsed().as_secs_f64()
            );
        }
    })?;
    Ok(report)
}

/// `motcua rebuild-kpi`: recomputes every KPI aggregate from the stored dossiers.
pub fn rebuild_kpi(pool: &Pool) -> anyhow::Result<motcua_persistence::repo::kpi::RebuildReport> {
    let mut c = conn(pool)?;
    Ok(motcua_persistence::repo::kpi::rebuild(&mut c)?)
}
