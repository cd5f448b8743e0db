//! The motcua commands: serve, migrate, create-admin, import-catalog,
//! generate, rebuild-kpi, openapi.
//! `main.rs` only parses arguments and calls these.

pub mod seed;
pub mod telemetry;

use chrono::{DateTime, Utc};
use std::io::BufRead;
use std::net::TcpListener;

use anyhow::{Context, bail};
use motcua_app::password::hash_password;
use motcua_app::settings::Secret;
use motcua_app::{App, Settings};
use motcua_domain::Role;
use motcua_domain::user::{check_password, check_username};
use motcua_domain::validation::FieldErrors;
use motcua_persistence::repo::{agencies, procedures, users};
use motcua_persistence::{AnyConnection, Pool};

pub use motcua_app::app::{connect, migrate};

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

fn conn(pool: &Pool) -> anyhow::Result<motcua_persistence::db::PooledConnection> {
    pool.get().context("getting a database connection")
}

/// Seeds demo data into an empty database (when enabled) and returns it for printing.
pub fn seed_if_empty(
    conn: &mut AnyConnection,
    demo: bool,
    at: DateTime<Utc>,
) -> anyhow::Result<Option<seed::DemoSeed>> {
    if !demo || !seed::is_empty(conn)? {
        return Ok(None);
    }
    Ok(Some(seed::demo(conn, at)?))
}

/// Appends a `payment_config` audit entry when the payment configuration a
/// server starts with differs from the one last recorded: it is read from the
/// configuration file and the environment, so no request changes it, and a
/// start-up is where a change shows. Returns whether an entry was written.
pub fn record_payment_config(
    pool: &Pool,
    payments: &motcua_app::settings::PaymentSettings,
    at: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let mut c = conn(pool)?;
    Ok(motcua_persistence::repo::audit::record_if_changed(
        &mut c,
        &motcua_domain::audit::Actor::system("startup"),
        motcua_domain::audit::EntityType::PaymentConfig,
        "gateway",
        "configure",
        payments.audit_view(),
        at,
    )?)
}

/// `motcua serve`: migrate, seed, serve until SIGTERM/SIGINT, with the
/// background workers running.
pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    settings.check()?;
    let listener = TcpListener::bind(&settings.server.bind)
        .with_context(|| format!("binding {}", settings.server.bind))?;
    let address = listener.local_addr()?;
    let mut settings = settings;
    if settings.server.public_base_url.trim().is_empty() {
        settings.server.public_base_url = format!("http://{address}");
    }
    let app = App::build(settings)?;
    tracing::info!(backend = ?app.backend, "database ready");
    let seeded = {
        let mut c = app.conn()?;
        let years = seed::official_calendar(&mut c, app.clock.now())?;
        if !years.is_empty() {
            tracing::info!(?years, "official holidays seeded");
        }
        seed_if_empty(&mut c, app.settings.demo_enabled(), app.clock.now())?
    };
    if let Some(seeded) = &seeded {
        seed::print_demo_accounts(seeded);
    }
    if record_payment_config(&app.pool, &app.settings.payments, app.clock.now())? {
        tracing::info!(
            "payment configuration changed since the last start: recorded in the audit log"
        );
    }
    let workers = app.start_workers();
    let shared = motcua_http::Shared::new(motcua_http::state(app))?;
    let server = motcua_http::serve(shared, listener)?;
    stop_on_signals(server.handle())?;
    tracing::info!("motcua listening on http://{address} (API under /api/v1, docs at /docs)");
    server.await?;
    drop(workers);
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
    let now = motcua_app::Clock::system().now();
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
            now,
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
            now,
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
        motcua_app::catalog_import::parse_csv(&bytes).map(Into::into)
    } else {
        motcua_app::catalog_import::parse_json_file(&bytes)
    }
    .map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
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
    Ok(motcua_app::catalog::import(
        &mut c,
        rows,
        default,
        first,
        &motcua_domain::audit::Actor::system("cli"),
        motcua_app::Clock::system().now(),
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

/// `motcua generate`: synthetic data at scale (see `motcua_generator`).
pub fn generate(
    settings: &Settings,
    pool: &Pool,
    dossiers: u64,
    procedures: u32,
    years: u32,
    seed: u64,
) -> anyhow::Result<motcua_generator::Report> {
    use motcua_persistence::storage::{FileStore, LocalFileStore};
    use sha2::{Digest, Sha256};
    if procedures == 0 || years == 0 {
        bail!("--procedures and --years must be at least 1");
    }
    let mut c = conn(pool)?;
    let now = motcua_app::Clock::system().now();
    seed::official_calendar(&mut c, now)?;
    if let Some(seeded) = seed_if_empty(&mut c, settings.demo_enabled(), now)? {
        seed::print_demo_accounts(&seeded);
    }
    let key = "synthetic-placeholder-pdf";
    LocalFileStore::new(std::path::Path::new(&settings.data_dir).join("files"))
        .put(key, PLACEHOLDER_PDF)
        .context("storing the placeholder document")?;
    let plan = motcua_generator::Plan {
        dossiers,
        procedures,
        years,
        until: now,
        seed,
        placeholder: motcua_generator::Placeholder {
            storage_key: key.to_owned(),
            size_bytes: motcua_domain::numeric::count_i64(PLACEHOLDER_PDF.len()),
            sha256: hex::encode(Sha256::digest(PLACEHOLDER_PDF)),
        },
    };
    let started = std::time::Instant::now();
    let mut shown = 0;
    let report = motcua_generator::generate(&mut c, &plan, |r| {
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
