//! `api-bench`: throughput and latency of the API's hot paths against the
//! bare SQL of the same work, through the same database, in one run.
//!
//! Fills a fresh database (demo accounts, `motcua generate`'s synthetic
//! catalog and dossiers), starts the real server (in this process, or in
//! `--processes N` separate ones: this program run again as a server) and
//! for each path runs `--connections` concurrent clients for `--seconds`,
//! closed-loop or at a fixed `--rate`, then the bare-SQL baseline with as
//! many threads. Prints per path: req/s, p50/p99/max, the longest time
//! without a completed request, statements per request (the servers' pool
//! counters), the ratio to the baseline and the peak RSS; on PostgreSQL also
//! what the database sessions waited on and the machine's CPU split during
//! the phase. A program, not a test: run it with `--release`
//! (docs/performance.md has the figures and the commands).

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use motcua_app::password::random_token;
use motcua_app::{App, Settings};
use motcua_domain::Role;
use motcua_http::auth::TokenService;
use motcua_persistence::baseline::{self, Template};
use motcua_persistence::repo::users;
use motcua_persistence::{Pool, PoolOptions, build_pool};

mod load;
mod measure;
mod paths;
mod report;
mod servers;

use load::{Ctx, Load, drive, drive_sql};
use measure::{Probe, Samples, peak_rss_mib};
use paths::{WORDS, list_one, receive_one, search_one, submit_one, track_one};
use report::{HEADER, report};
use servers::{Servers, init_log, log_writer_name, serve_main, server_settings, start_servers};

/// Where a server process learns the token secret (never on its command line).
const SECRET_ENV: &str = "MOTCUA_BENCH_SECRET";

#[derive(Parser, Clone)]
#[command(name = "api-bench", about = "API hot paths against their bare SQL")]
struct Args {
    /// `sqlite` or `postgres`.
    #[arg(long, default_value = "sqlite")]
    backend: String,
    /// Seconds per path, for the API and for the baseline each.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Concurrent clients (API) and threads (baseline).
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Open loop: this many requests per second, sent at fixed intervals by
    /// the `--connections` clients; latency counts from each request's
    /// scheduled time, so a stall shows as the wait of everything behind it.
    #[arg(long)]
    rate: Option<f64>,
    /// Serve from this many separate server processes (this program again),
    /// each with its own pool, on their own ports; clients take them in turn.
    /// Without it the server runs inside this process.
    #[arg(long)]
    processes: Option<usize>,
    /// The paths to run, in this order; tracking and receive use the
    /// dossiers the submit phase filed.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "submit,tracking,receive,search,list"
    )]
    paths: Vec<PathName>,
    /// Skip the bare-SQL baselines.
    #[arg(long)]
    no_baseline: bool,
    /// The servers' log filter (`info` writes one line per request); `off`
    /// installs no logger at all. Lines go to standard error.
    #[arg(long, default_value = "off")]
    log_level: String,
    /// How the servers write log lines: `buffered` (the server's own writer
    /// thread, `telemetry::init_server`) or `blocking` (each request's
    /// thread writes its line to standard error itself).
    #[arg(long, value_enum, default_value = "buffered")]
    log_writer: LogWriter,
    /// The servers' `log.sample_reads`: one successful read in N gets its line.
    #[arg(long, default_value_t = 1)]
    log_sample_reads: u32,
    /// Synthetic dossiers loaded before the run.
    #[arg(long, default_value_t = 2_000)]
    dossiers: u64,
    /// Procedures in the catalog (synthetic ones beside the demo catalog).
    #[arg(long, default_value_t = 5_000)]
    procedures: u32,
    /// The PostgreSQL server; the benchmark uses a fresh database `motcua_api_bench` on it.
    #[arg(
        long,
        env = "MOTCUA_BENCH_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    postgres_url: String,
    /// Where the SQLite file and stored documents go.
    #[arg(long, default_value = "target/bench")]
    dir: String,
    /// Internal: run as one server process on this database URL.
    #[arg(long, hide = true)]
    serve_database: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum PathName {
    Submit,
    Tracking,
    Receive,
    Search,
    List,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogWriter {
    Buffered,
    Blocking,
}

/// What the baselines need.
struct Bare {
    pool: Pool,
    template: Template,
    agency: i64,
    /// Dossiers the bare submit filed, for the bare receive.
    ids: Mutex<Vec<i64>>,
    /// PostgreSQL: the pool the probe samples `pg_stat_activity` through.
    watch: Option<Pool>,
}

/// The bare SQL of a path, or `None` when `--no-baseline`.
fn run_baseline(args: &Args, bare: &Bare, path: PathName, ctx: &Ctx) -> Option<Samples> {
    if args.no_baseline {
        return None;
    }
    let (secs, threads) = (args.seconds, args.connections);
    let day = chrono::NaiveDate::from_ymd_opt(2000, 1, 3)?;
    let tracked = ctx.tracked.get().cloned().unwrap_or_default();
    Some(match path {
        PathName::Submit => drive_sql(&bare.pool, secs, threads, |conn, _| {
            let id = baseline::submit(conn, bare.template, day).ok()?;
            bare.ids.lock().ok()?.push(id);
            Some(true)
        }),
        PathName::Tracking => drive_sql(&bare.pool, secs, threads, |conn, i| {
            let (code, _) = tracked.get(i % tracked.len().max(1))?;
            Some(baseline::track(conn, code).ok()?.is_some())
        }),
        PathName::Receive => drive_sql(&bare.pool, secs, threads, |conn, _| {
            let id = bare.ids.lock().ok()?.pop()?;
            baseline::receive(conn, id, bare.template).ok()
        }),
        PathName::Search => drive_sql(&bare.pool, secs, threads, |conn, i| {
            Some(baseline::search(conn, WORDS[i % WORDS.len()]).is_ok())
        }),
        PathName::List => drive_sql(&bare.pool, secs, threads, |conn, _| {
            Some(baseline::list_page(conn, bare.agency).is_ok())
        }),
    })
}

/// Runs one path against the API, then its baseline, and prints the row.
async fn run_path(
    args: &Args,
    ctx: &Arc<Ctx>,
    servers: &Mutex<Servers>,
    bare: &Bare,
    path: PathName,
) -> anyhow::Result<()> {
    let load = Load {
        seconds: args.seconds,
        connections: args.connections,
        rate: args.rate,
    };
    let probe = Probe::start(bare.watch.clone());
    let (name, api) = match path {
        PathName::Submit => ("submit", drive(ctx, servers, load, submit_one).await),
        PathName::Tracking => ("tracking", drive(ctx, servers, load, track_one).await),
        PathName::Receive => ("receive", drive(ctx, servers, load, receive_one).await),
        PathName::Search => (
            "catalog search",
            drive(ctx, servers, load, search_one).await,
        ),
        PathName::List => ("list page of 50", drive(ctx, servers, load, list_one).await),
    };
    let probed = probe.finish();
    let rss = servers.lock().map_or(0.0, |s| s.peak_rss_mib());
    if path == PathName::Submit {
        let filed = ctx.filed.lock().map(|l| l.clone()).unwrap_or_default();
        if let Ok(mut queue) = ctx.to_receive.lock() {
            queue.extend(filed.iter().map(|(code, _)| code.clone()));
        }
        let _ = ctx.tracked.set(filed);
    }
    if matches!(path, PathName::Tracking | PathName::Receive)
        && ctx.tracked.get().is_none_or(Vec::is_empty)
    {
        bail!("{name} needs dossiers: run submit first (--paths submit,{name})");
    }
    let base = run_baseline(args, bare, path, ctx);
    report(name, api, base, rss, &probed);
    Ok(())
}

/// Fills the fresh database; returns the demo officer (user, token version, agency).
fn load_data(
    args: &Args,
    settings: &Settings,
    pool: &Pool,
) -> anyhow::Result<(motcua_domain::user::User, i64, i64, Template)> {
    let demo = {
        let mut c = pool.get()?;
        let now = chrono::Utc::now();
        motcua::seed::official_calendar(&mut c, now)?;
        motcua::seed_if_empty(&mut c, true, now)?.context("the fresh database was not empty")?
    };
    motcua::generate(settings, pool, args.dossiers, args.procedures, 1, 1)?;
    let officer_name = demo
        .accounts
        .iter()
        .find(|a| a.role == Role::Officer)
        .map(|a| a.username.clone())
        .context("no demo officer")?;
    let mut c = pool.get()?;
    let (user, _) = users::credentials(&mut c, &officer_name)?.context("demo officer")?;
    let version = users::access(&mut c, user.id)?.map_or(0, |a| a.token_version);
    let agency = user.agency_id.context("the officer has no agency")?;
    Ok((user, version, agency, baseline::template(&mut c)?))
}

fn database_url(args: &Args) -> anyhow::Result<String> {
    Ok(match args.backend.as_str() {
        "sqlite" => {
            let path = std::path::Path::new(&args.dir).join("api-bench.db");
            for suffix in ["", "-wal", "-shm"] {
                let file = format!("{}{suffix}", path.display());
                if std::path::Path::new(&file).exists() {
                    std::fs::remove_file(&file)?;
                }
            }
            format!("sqlite://{}", path.display())
        }
        "postgres" => {
            motcua_persistence::db::postgres_database(&args.postgres_url, "motcua_api_bench", true)?
        }
        other => bail!("--backend must be sqlite or postgres, not {other}"),
    })
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    std::fs::create_dir_all(&args.dir).with_context(|| format!("creating {}", args.dir))?;
    if let Some(url) = &args.serve_database {
        return serve_main(&args, url);
    }
    let url = database_url(&args)?;
    let secret = random_token(48);
    let settings = server_settings(&url, &args, &secret);
    let _log = init_log(&args, &settings);
    let app = App::build(settings.clone())?;
    let started = Instant::now();
    let (officer, version, agency, template) = load_data(&args, &settings, &app.pool)?;
    let token = TokenService::new(secret.as_bytes(), &settings.auth.issuer, 3600)
        .issue(&officer, version)
        .map_err(|e| anyhow::anyhow!("issuing a token: {:?}", e.code))?;
    let db_url = motcua_persistence::DatabaseUrl::parse(&url)?;
    println!(
        "api-bench: {}, {} synthetic dossiers, {} procedures, loaded in {:.0} s; {} s per path, {} connections, {}, {}, log {} ({}, reads 1 in {})",
        db_url.backend().as_str(),
        args.dossiers,
        args.procedures,
        started.elapsed().as_secs_f64(),
        args.seconds,
        args.connections,
        args.rate.map_or("closed loop".to_owned(), |r| format!(
            "open loop at {r} req/s"
        )),
        args.processes
            .map_or("server in this process".to_owned(), |n| format!(
                "{n} server processes"
            )),
        args.log_level,
        log_writer_name(args.log_writer),
        args.log_sample_reads,
    );
    // The baseline's own pool on the same database, and the probe's.
    let options = PoolOptions {
        max_size: u32::try_from(args.connections).unwrap_or(32),
        ..PoolOptions::default()
    };
    let bare = Bare {
        pool: build_pool(&db_url, &options),
        template,
        agency,
        ids: Mutex::default(),
        watch: (db_url.backend() == motcua_persistence::Backend::Postgres).then(|| {
            build_pool(
                &db_url,
                &PoolOptions {
                    max_size: 1,
                    ..PoolOptions::default()
                },
            )
        }),
    };
    let (bases, servers) = start_servers(&args, app, &url, &secret)?;
    let servers = Mutex::new(servers);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let ctx = Arc::new(Ctx {
        client: reqwest::Client::builder()
            .pool_max_idle_per_host(args.connections)
            .build()?,
        bases,
        token,
        filed: Mutex::default(),
        tracked: OnceLock::new(),
        to_receive: Mutex::default(),
    });
    println!("{HEADER}");
    let outcome = runtime.block_on(async {
        for &path in &args.paths {
            run_path(&args, &ctx, &servers, &bare, path).await?;
        }
        Ok::<(), anyhow::Error>(())
    });
    if let Ok(servers) = servers.into_inner() {
        servers.stop(&runtime);
    }
    outcome
}
