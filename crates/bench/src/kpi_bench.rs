//! `kpi-bench`: latency of `/kpi/summary` and `/kpi/agencies` at a given
//! number of dossiers, on SQLite or PostgreSQL. Fills a database of its own
//! with `motcua generate`'s synthetic data (or reuses one), starts the real
//! server in this process, and times sequential requests from one client.
//! Prints p50/p95/max per query and per endpoint. A program, not a test:
//! run it with `--release` (docs/kpi.md has the figures and the commands).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::Datelike;
use clap::Parser;
use diesel::connection::{Instrumentation, InstrumentationEvent};
use motcua_app::password::random_token;
use motcua_app::settings::Secret;
use motcua_app::{App, Settings};
use motcua_domain::Role;
use motcua_domain::numeric::ceil_i64;
use motcua_domain::user::User;
use motcua_http::auth::TokenService;
use motcua_persistence::repo::{kpi, procedures, users};

const BENCH_SECTOR: &str = "du-lich";

#[derive(Parser)]
#[command(
    name = "kpi-bench",
    about = "Times the KPI endpoints over synthetic data"
)]
struct Args {
    /// `sqlite` or `postgres`.
    #[arg(long, default_value = "sqlite")]
    backend: String,
    #[arg(long, default_value_t = 10_000)]
    dossiers: u64,
    #[arg(long, default_value_t = 64)]
    procedures: u32,
    /// Timed requests per query, after 10 untimed ones.
    #[arg(long, default_value_t = 200)]
    requests: usize,
    /// The PostgreSQL server; the benchmark uses a database `motcua_bench_<dossiers>` on it.
    #[arg(
        long,
        env = "MOTCUA_BENCH_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    postgres_url: String,
    /// Where SQLite files and the placeholder document go.
    #[arg(long, default_value = "target/bench")]
    dir: String,
    /// Keep the database of an earlier run (generating only what is missing).
    #[arg(long)]
    reuse: bool,
    /// After the timings, send each query once more and print every SQL
    /// statement it ran with its duration (to stderr).
    #[arg(long)]
    trace_queries: bool,
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ceil_i64((sorted.len() as f64) * p)
        .and_then(|r| usize::try_from(r).ok())
        .unwrap_or(sorted.len());
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1000.0
}

fn line(endpoint: &str, query: &str, samples: &mut [Duration]) {
    samples.sort();
    println!(
        "| {endpoint:<14} | {query:<34} | {:>7.2} | {:>7.2} | {:>7.2} |",
        percentile(samples, 0.5),
        percentile(samples, 0.95),
        percentile(samples, 1.0)
    );
}

/// Whether the query tracer prints: only around the traced requests.
static TRACING: AtomicBool = AtomicBool::new(false);

fn query_tracer() -> Option<Box<dyn Instrumentation>> {
    let mut started: Option<Instant> = None;
    Some(Box::new(move |event: InstrumentationEvent<'_>| {
        if !TRACING.load(Ordering::SeqCst) {
            return;
        }
        match event {
            InstrumentationEvent::StartQuery { .. } => started = Some(Instant::now()),
            InstrumentationEvent::FinishQuery { query, .. } => {
                if let Some(at) = started.take() {
                    let sql: String = query.to_string().chars().take(140).collect();
                    eprintln!("{:>8.2} ms  {sql}", at.elapsed().as_secs_f64() * 1000.0);
                }
            }
            _ => {}
        }
    }))
}

/// The database to measure: a fresh (or, with `--reuse`, the earlier) SQLite
/// file or PostgreSQL database named by the dossier count.
fn database_url(args: &Args) -> anyhow::Result<String> {
    let n = args.dossiers;
    Ok(match args.backend.as_str() {
        "sqlite" => {
            let path = std::path::Path::new(&args.dir).join(format!("kpi-{n}.db"));
            if !args.reuse {
                for suffix in ["", "-wal", "-shm"] {
                    let file = format!("{}{suffix}", path.display());
                    if std::path::Path::new(&file).exists() {
                        std::fs::remove_file(&file)?;
                    }
                }
            }
            format!("sqlite://{}", path.display())
        }
        "postgres" => motcua_persistence::db::postgres_database(
            &args.postgres_url,
            &format!("motcua_bench_{n}"),
            !args.reuse,
        )?,
        other => bail!("--backend must be sqlite or postgres, not {other}"),
    })
}

fn bench_settings(args: &Args, url: String, secret: &str) -> Settings {
    let mut settings = Settings::default();
    settings.database.url = Secret::new(url);
    settings.database.pool_size = 8;
    settings.data_dir = args.dir.clone();
    settings.demo = Some(false);
    settings.server.workers = Some(2);
    settings.payments.jobs_interval_secs = 0;
    settings.auth.jwt_secret = Some(Secret::new(secret.to_owned()));
    settings
}

/// The number of KPI aggregate rows, the benchmark's admin with its token
/// version, and an agency handling the benchmark's sector.
fn bench_subjects(pool: &motcua_persistence::Pool) -> anyhow::Result<(i64, (User, i64), i64)> {
    let mut c = pool.get()?;
    let rows = kpi::row_count(&mut c)?;
    let admin = match users::credentials(&mut c, "bench.admin")? {
        Some((user, _)) => user,
        None => users::insert(
            &mut c,
            &users::NewUser {
                username: "bench.admin",
                password_hash: "bench-no-login",
                role: Role::Admin,
                agency_id: None,
                applicant_id: None,
                full_name: "Benchmark",
                phone: None,
                email: None,
                demo: true,
            },
            chrono::Utc::now(),
        )?,
    };
    // The agency filter names one that handles the sector, so the query has rows to sum.
    let (procedure, _) = kpi::procedures_of_sector(&mut c, BENCH_SECTOR)?
        .into_iter()
        .next()
        .context("the generated catalog has no tourism procedure")?;
    let agency = match procedures::get_by_id(&mut c, procedure)?.agency {
        Some(agency) => agency.id,
        None => bail!("the generated tourism procedure has no handling agency"),
    };
    let version = users::access(&mut c, admin.id)?.map_or(0, |a| a.token_version);
    Ok((rows, (admin, version), agency))
}

/// The durations of `requests` requests built by `request`, after 10 untimed ones.
async fn timings(
    request: impl Fn() -> reqwest::RequestBuilder,
    path: &str,
    requests: usize,
) -> anyhow::Result<Vec<Duration>> {
    let mut samples = Vec::with_capacity(requests);
    for i in 0..requests + 10 {
        let started = Instant::now();
        let res = request().send().await?;
        let status = res.status();
        let body = res.bytes().await?;
        let took = started.elapsed();
        if !status.is_success() {
            bail!("{path}: {status} {}", String::from_utf8_lossy(&body));
        }
        if i >= 10 {
            samples.push(took);
        }
    }
    Ok(samples)
}

/// Sends each query once more with the query tracer on.
async fn trace(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    queries: &[Query],
) -> anyhow::Result<()> {
    for (_, label, path, csv) in queries {
        eprintln!("-- {label}: {path}");
        let mut req = client.get(format!("{base}{path}")).bearer_auth(token);
        if *csv {
            req = req.header("accept", "text/csv");
        }
        TRACING.store(true, Ordering::SeqCst);
        let sent = req.send().await;
        TRACING.store(false, Ordering::SeqCst);
        sent?.bytes().await?;
    }
    Ok(())
}

/// (endpoint, what the query asks, path, as CSV)
type Query = (&'static str, String, String, bool);

/// The measured queries; `ragged` is a 26-month range with ragged ends.
fn bench_queries(agency: i64, ragged: &str) -> Vec<Query> {
    let year = chrono::Utc::now().date_naive().year();
    vec![
        (
            "/kpi/summary",
            "this year to date".into(),
            "/api/v1/kpi/summary".into(),
            false,
        ),
        (
            "/kpi/summary",
            format!("period={}", year - 1),
            format!("/api/v1/kpi/summary?period={}", year - 1),
            false,
        ),
        (
            "/kpi/summary",
            "26 months, ragged ends".into(),
            format!("/api/v1/kpi/summary?{ragged}"),
            false,
        ),
        (
            "/kpi/summary",
            "one agency and sector, this year".into(),
            format!("/api/v1/kpi/summary?agency_id={agency}&sector={BENCH_SECTOR}"),
            false,
        ),
        (
            "/kpi/agencies",
            "this year to date".into(),
            "/api/v1/kpi/agencies".into(),
            false,
        ),
        (
            "/kpi/agencies",
            "26 months, ragged ends".into(),
            format!("/api/v1/kpi/agencies?{ragged}"),
            false,
        ),
        (
            "/kpi/agencies",
            "this year, CSV".into(),
            "/api/v1/kpi/agencies".into(),
            true,
        ),
    ]
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    std::fs::create_dir_all(&args.dir).with_context(|| format!("creating {}", args.dir))?;
    let n = args.dossiers;
    let url = database_url(&args)?;
    let secret = random_token(48);
    let settings = bench_settings(&args, url, &secret);
    if args.trace_queries {
        diesel::connection::set_default_instrumentation(query_tracer)?;
    }
    let app = App::build(settings.clone())?;
    let pool = app.pool.clone();
    let redacted =
        motcua_persistence::DatabaseUrl::parse(settings.database.url.expose())?.redacted();

    let existing: i64 = {
        let mut c = pool.get()?;
        kpi::status_counts(&mut c, chrono::Utc::now())?
            .0
            .iter()
            .map(|(_, n)| n)
            .sum()
    };
    let missing = n.saturating_sub(u64::try_from(existing).unwrap_or(0));
    let mut generated = None;
    if missing > 0 {
        eprintln!("generating {missing} dossiers into {redacted}");
        generated = Some(motcua::generate(
            &settings,
            &pool,
            missing,
            args.procedures,
            5,
            1,
        )?);
    }
    let (rows, admin, agency) = bench_subjects(&pool)?;
    let (admin, version) = admin;
    let token = TokenService::new(secret.as_bytes(), &settings.auth.issuer, 3600)
        .issue(&admin, version)
        .map_err(|e| anyhow::anyhow!("issuing a token: {:?}", e.code))?;
    let backend = app.backend;

    println!(
        "kpi-bench: {} with {existing_after} dossiers, {rows} aggregate rows{gen}",
        backend.as_str(),
        existing_after = existing.max(0).unsigned_abs() + missing,
        gen = generated
            .map(|r| format!(
                " (generated in {:.0} s, aggregates rebuilt in {:.0} s)",
                r.generate_secs, r.rebuild_secs
            ))
            .unwrap_or_default()
    );
    let runtime = actix_web::rt::System::new();
    runtime.block_on(async move {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let base = format!("http://{}", listener.local_addr()?);
        let _workers = app.start_workers();
        let server =
            motcua_http::serve(motcua_http::Shared::new(motcua_http::state(app))?, listener)?;
        let handle = server.handle();
        actix_web::rt::spawn(server);
        let client = reqwest::Client::new();
        let today = chrono::Utc::now().date_naive();
        let year = today.year();
        let ragged = format!("from={}-09-17&to={}", year - 2, today.format("%Y-%m-%d"));
        let queries = bench_queries(agency, &ragged);
        println!(
            "| endpoint       | query                              | p50 ms  | p95 ms  | max ms  |"
        );
        println!(
            "|----------------|------------------------------------|---------|---------|---------|"
        );
        let mut by_endpoint: Vec<(&str, Vec<Duration>)> = Vec::new();
        for (endpoint, label, path, csv) in &queries {
            let request = || {
                let req = client.get(format!("{base}{path}")).bearer_auth(&token);
                if *csv {
                    req.header("accept", "text/csv")
                } else {
                    req
                }
            };
            let samples = timings(request, path, args.requests).await?;
            line(endpoint, label, &mut samples.clone());
            match by_endpoint.iter_mut().find(|(e, _)| e == endpoint) {
                Some((_, all)) => all.extend(samples),
                None => by_endpoint.push((endpoint, samples)),
            }
        }
        for (endpoint, mut all) in by_endpoint {
            line(endpoint, "all of the above", &mut all);
        }
        if args.trace_queries {
            trace(&client, &base, &token, &queries).await?;
        }
        handle.stop(true).await;
        Ok(())
    })
}
