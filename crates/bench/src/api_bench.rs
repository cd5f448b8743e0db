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

use std::collections::BTreeMap;
use std::future::Future;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use motcua_app::password::random_token;
use motcua_app::settings::Secret;
use motcua_app::{App, Settings};
use motcua_domain::Role;
use motcua_http::auth::TokenService;
use motcua_persistence::baseline::{self, Template};
use motcua_persistence::repo::users;
use motcua_persistence::{AnyConnection, Pool, PoolOptions, build_pool};
use serde_json::{Value, json};

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

/// Latencies and outcomes of one phase.
#[derive(Default)]
struct Samples {
    latencies: Vec<Duration>,
    /// When each request completed, from the start of the phase.
    completions: Vec<Duration>,
    errors: u64,
    elapsed: Duration,
    statements: u64,
}

impl Samples {
    fn done(&self) -> u64 {
        self.latencies.len() as u64
    }
    fn per_second(&self) -> f64 {
        self.done() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
    /// The latency below which `per_mille` ‰ of the requests fall, in milliseconds.
    fn percentile(&mut self, per_mille: usize) -> f64 {
        self.latencies.sort_unstable();
        let n = self.latencies.len();
        if n == 0 {
            return 0.0;
        }
        // The nearest rank, `ceil(n·p)`.
        let rank = (n * per_mille.min(1000)).div_ceil(1000);
        self.latencies[rank.clamp(1, n) - 1].as_secs_f64() * 1000.0
    }
    /// The longest stretch of the phase, in milliseconds, in which no request
    /// completed (from the start to the first, between two, from the last to the end).
    fn longest_gap_ms(&mut self) -> f64 {
        self.completions.sort_unstable();
        let mut previous = Duration::ZERO;
        let mut longest = Duration::ZERO;
        for &at in self
            .completions
            .iter()
            .chain(std::iter::once(&self.elapsed))
        {
            longest = longest.max(at.saturating_sub(previous));
            previous = at;
        }
        longest.as_secs_f64() * 1000.0
    }
    fn statements_each(&self) -> f64 {
        self.statements as f64 / (self.done() + self.errors).max(1) as f64
    }
    fn merge(&mut self, other: Samples) {
        self.latencies.extend(other.latencies);
        self.completions.extend(other.completions);
        self.errors += other.errors;
    }
}

/// The peak resident set of a process, in MiB.
fn peak_rss_mib(pid: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// The machine's CPU time so far (`/proc/stat`), in ticks: busy (user and
/// system), waiting for I/O, idle.
#[derive(Debug, Clone, Copy, Default)]
struct CpuTicks {
    user: u64,
    system: u64,
    iowait: u64,
    idle: u64,
}

impl CpuTicks {
    fn now() -> Self {
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let fields: Vec<u64> = stat
            .lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .skip(1)
            .filter_map(|f| f.parse().ok())
            .collect();
        let at = |i: usize| fields.get(i).copied().unwrap_or(0);
        // user nice system idle iowait irq softirq steal
        Self {
            user: at(0) + at(1),
            system: at(2) + at(5) + at(6) + at(7),
            idle: at(3),
            iowait: at(4),
        }
    }

    /// "user 71 % system 22 % iowait 0 % idle 7 %" between `self` and `later`.
    fn split_until(self, later: Self) -> String {
        let user = later.user.saturating_sub(self.user);
        let system = later.system.saturating_sub(self.system);
        let iowait = later.iowait.saturating_sub(self.iowait);
        let idle = later.idle.saturating_sub(self.idle);
        let total = (user + system + iowait + idle).max(1) as f64;
        let pct = |t: u64| t as f64 * 100.0 / total;
        format!(
            "user {:.0} %, system {:.0} %, iowait {:.0} %, idle {:.0} %",
            pct(user),
            pct(system),
            pct(iowait),
            pct(idle)
        )
    }
}

/// Watches a phase: the machine's CPU split, and on PostgreSQL what the
/// benchmark database's sessions are doing, sampled every 100 ms.
struct Probe {
    cpu: CpuTicks,
    stop: Arc<AtomicBool>,
    sampler: Option<std::thread::JoinHandle<(u32, BTreeMap<String, i64>)>>,
}

impl Probe {
    fn start(watch: Option<Pool>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let sampler = watch.map(|pool| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut totals = BTreeMap::new();
                let mut samples = 0;
                let Ok(mut conn) = pool.get() else {
                    return (samples, totals);
                };
                while !stop.load(Ordering::Relaxed) {
                    if let Ok(rows) = motcua_persistence::db::session_activity(&mut conn) {
                        samples += 1;
                        for (what, sessions) in rows {
                            *totals.entry(what).or_insert(0) += sessions;
                        }
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                (samples, totals)
            })
        });
        Self {
            cpu: CpuTicks::now(),
            stop,
            sampler,
        }
    }

    /// Lines saying what the phase did to the machine and the database.
    fn finish(self) -> Vec<String> {
        let mut lines = vec![format!(
            "    cpu (whole machine): {}",
            self.cpu.split_until(CpuTicks::now())
        )];
        self.stop.store(true, Ordering::Relaxed);
        if let Some(Ok((samples, totals))) = self.sampler.map(std::thread::JoinHandle::join) {
            let mut sessions: Vec<_> = totals.into_iter().collect();
            sessions.sort_by_key(|s| std::cmp::Reverse(s.1));
            let each: Vec<String> = sessions
                .iter()
                .map(|(what, n)| format!("{what} {:.1}", *n as f64 / f64::from(samples.max(1))))
                .collect();
            lines.push(format!(
                "    postgres sessions, mean of {samples} samples: {}",
                if each.is_empty() {
                    "none busy".to_owned()
                } else {
                    each.join(", ")
                }
            ));
        }
        lines
    }
}

/// One server process: this program run with `--serve-database`. It prints
/// its port, then answers every line on its standard input with its pool's
/// statement count, and exits when its input closes.
struct ServerProcess {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
}

impl ServerProcess {
    fn start(args: &Args, url: &str, secret: &str) -> anyhow::Result<(Self, u16)> {
        let mut command = Command::new(std::env::current_exe()?);
        command
            .args(["--serve-database", url, "--dir", &args.dir])
            .args(["--log-level", &args.log_level])
            .args(["--log-writer", log_writer_name(args.log_writer)])
            .env(SECRET_ENV, secret)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        let mut child = command.spawn().context("starting a server process")?;
        let input = child.stdin.take().context("server stdin")?;
        let mut output = BufReader::new(child.stdout.take().context("server stdout")?);
        let mut line = String::new();
        output.read_line(&mut line)?;
        let port = line
            .trim()
            .strip_prefix("port ")
            .and_then(|p| p.parse().ok())
            .with_context(|| format!("the server process said {line:?}"))?;
        Ok((
            Self {
                child,
                input,
                output,
            },
            port,
        ))
    }

    fn statements(&mut self) -> u64 {
        let mut line = String::new();
        if writeln!(self.input).is_err() || self.output.read_line(&mut line).is_err() {
            return 0;
        }
        line.trim().parse().unwrap_or(0)
    }
}

fn log_writer_name(writer: LogWriter) -> &'static str {
    match writer {
        LogWriter::Buffered => "buffered",
        LogWriter::Blocking => "blocking",
    }
}

/// The server(s) under test.
enum Servers {
    InProcess {
        pool: Pool,
        handle: actix_web::dev::ServerHandle,
        thread: std::thread::JoinHandle<()>,
    },
    Processes(Vec<ServerProcess>),
}

impl Servers {
    /// Statements the servers' pools have sent so far.
    fn statements(&mut self) -> u64 {
        match self {
            Servers::InProcess { pool, .. } => pool.statements().get(),
            Servers::Processes(all) => all.iter_mut().map(ServerProcess::statements).sum(),
        }
    }

    /// The peak RSS of this process, or the sum of the server processes'.
    fn peak_rss_mib(&self) -> f64 {
        match self {
            Servers::InProcess { .. } => peak_rss_mib("self"),
            Servers::Processes(all) => all
                .iter()
                .map(|s| peak_rss_mib(&s.child.id().to_string()))
                .sum(),
        }
    }

    fn stop(self, runtime: &tokio::runtime::Runtime) {
        match self {
            Servers::InProcess { handle, thread, .. } => {
                runtime.block_on(handle.stop(true));
                let _ = thread.join();
            }
            Servers::Processes(all) => {
                for ServerProcess {
                    mut child, input, ..
                } in all
                {
                    drop(input);
                    let _ = child.wait();
                }
            }
        }
    }
}

/// The settings every server of the benchmark runs with.
fn server_settings(url: &str, args: &Args, secret: &str) -> Settings {
    let mut settings = Settings::default();
    settings.database.url = Secret::new(url);
    settings.data_dir = args.dir.clone();
    settings.demo = Some(true);
    settings.server.workers = Some(2);
    // Each tracking client is a citizen of its own (X-Forwarded-For), as behind a proxy.
    settings.server.trust_forwarded_for = true;
    settings.payments.jobs_interval_secs = 0;
    settings.auth.jwt_secret = Some(Secret::new(secret));
    settings.log.level = args.log_level.clone();
    settings
}

/// Installs the servers' logger as `--log-level`/`--log-writer` say; the
/// result must live as long as the server.
fn init_log(args: &Args, settings: &Settings) -> Option<motcua::telemetry::LogGuard> {
    if args.log_level == "off" {
        return None;
    }
    match args.log_writer {
        LogWriter::Buffered => Some(motcua::telemetry::init_server(settings)),
        LogWriter::Blocking => {
            motcua::telemetry::init(settings);
            None
        }
    }
}

/// `--serve-database`: one server process on the database the parent loaded.
fn serve_main(args: &Args, url: &str) -> anyhow::Result<()> {
    let secret = std::env::var(SECRET_ENV).context(SECRET_ENV)?;
    let settings = server_settings(url, args, &secret);
    let _log = init_log(args, &settings);
    let app = App::build(settings)?;
    let pool = app.pool.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    println!("port {}", listener.local_addr()?.port());
    std::io::stdout().flush()?;
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            if line.is_err() {
                break;
            }
            println!("{}", pool.statements().get());
            if std::io::stdout().flush().is_err() {
                break;
            }
        }
        // The parent is done (or gone).
        std::process::exit(0);
    });
    let state = motcua_http::state(app);
    actix_web::rt::System::new().block_on(async move {
        let server = motcua_http::serve(motcua_http::Shared::new(state)?, listener)?;
        server.await
    })?;
    Ok(())
}

/// Starts the servers: in this process, or `--processes` of them.
fn start_servers(
    args: &Args,
    app: App,
    url: &str,
    secret: &str,
) -> anyhow::Result<(Vec<String>, Servers)> {
    if let Some(count) = args.processes {
        let mut all = Vec::new();
        let mut bases = Vec::new();
        for _ in 0..count.max(1) {
            let (server, port) = ServerProcess::start(args, url, secret)?;
            all.push(server);
            bases.push(format!("http://127.0.0.1:{port}/api/v1"));
        }
        return Ok((bases, Servers::Processes(all)));
    }
    let pool = app.pool.clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let base = format!("http://{}/api/v1", listener.local_addr()?);
    let state = motcua_http::state(app);
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = motcua_http::Shared::new(state)
                .and_then(|shared| motcua_http::serve(shared, listener));
            match server {
                Ok(server) => {
                    let _ = tx.send(Ok(server.handle()));
                    let _ = server.await;
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                }
            }
        });
    });
    let handle = rx.recv()??;
    Ok((
        vec![base],
        Servers::InProcess {
            pool,
            handle,
            thread,
        },
    ))
}

/// What the clients share.
struct Ctx {
    client: reqwest::Client,
    bases: Vec<String>,
    token: String,
    /// Dossiers filed by the submit phase: code and applicant's ID number.
    filed: Mutex<Vec<(String, String)>>,
    /// The same, frozen after the submit phase, for tracking.
    tracked: OnceLock<Vec<(String, String)>>,
    /// Dossiers still to receive.
    to_receive: Mutex<Vec<String>>,
}

impl Ctx {
    /// The server the `i`th request goes to: each in turn.
    fn base(&self, i: usize) -> &str {
        &self.bases[i % self.bases.len()]
    }
}

/// How a phase is driven.
#[derive(Clone, Copy)]
struct Load {
    seconds: u64,
    connections: usize,
    rate: Option<f64>,
}

/// `connections` tasks call `one(ctx, i)` with a fresh `i` until the phase
/// ends or one answers `None` (nothing left to do). `Some(true)` is a
/// success. At a fixed rate, request `i` waits for its slot `i / rate`.
async fn drive<F, Fut>(ctx: &Arc<Ctx>, servers: &Mutex<Servers>, load: Load, one: F) -> Samples
where
    F: Fn(Arc<Ctx>, usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Option<bool>> + Send,
{
    let statements = || servers.lock().map_or(0, |mut s| s.statements());
    let next = Arc::new(AtomicUsize::new(0));
    let before = statements();
    let started = tokio::time::Instant::now();
    let deadline = started + Duration::from_secs(load.seconds);
    let tasks: Vec<_> = (0..load.connections)
        .map(|_| {
            let (one, next, ctx) = (one.clone(), next.clone(), ctx.clone());
            tokio::spawn(async move {
                let mut samples = Samples::default();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let at = match load.rate {
                        Some(rate) => started + Duration::from_secs_f64(i as f64 / rate),
                        None => tokio::time::Instant::now(),
                    };
                    if at >= deadline {
                        break;
                    }
                    tokio::time::sleep_until(at).await;
                    match one(ctx.clone(), i).await {
                        None => break,
                        Some(true) => {
                            samples.latencies.push(at.elapsed());
                            samples.completions.push(started.elapsed());
                        }
                        Some(false) => samples.errors += 1,
                    }
                }
                samples
            })
        })
        .collect();
    let mut all = Samples::default();
    for task in tasks {
        if let Ok(samples) = task.await {
            all.merge(samples);
        }
    }
    all.elapsed = started.elapsed();
    all.statements = statements().saturating_sub(before);
    all
}

/// The baseline: `threads` threads, each with a connection of `pool`, call
/// `one(conn, i)` until `seconds` pass or one answers `None`.
fn drive_sql<F>(pool: &Pool, seconds: u64, threads: usize, one: F) -> Samples
where
    F: Fn(&mut AnyConnection, usize) -> Option<bool> + Sync,
{
    let next = AtomicUsize::new(0);
    let before = pool.statements().get();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut all = Samples::default();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut samples = Samples::default();
                    let Ok(mut conn) = pool.get() else {
                        samples.errors += 1;
                        return samples;
                    };
                    while Instant::now() < deadline {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let at = Instant::now();
                        match one(&mut conn, i) {
                            None => break,
                            Some(true) => {
                                samples.latencies.push(at.elapsed());
                                samples.completions.push(started.elapsed());
                            }
                            Some(false) => samples.errors += 1,
                        }
                    }
                    samples
                })
            })
            .collect();
        for handle in handles {
            if let Ok(samples) = handle.join() {
                all.merge(samples);
            }
        }
    });
    all.elapsed = started.elapsed();
    all.statements = pool.statements().get() - before;
    all
}

const HEADER: &str = "| path             |   req/s |  p50 ms |  p99 ms |  max ms |  gap ms | errors | stmt/req | bare/s | stmt/op | ratio | RSS MiB |\n\
                      |------------------|---------|---------|---------|---------|---------|--------|----------|--------|---------|-------|---------|";

fn report(path: &str, mut api: Samples, base: Option<Samples>, rss: f64, probe: &[String]) {
    let (base_rate, base_stmts, ratio) = match base {
        Some(b) => (
            format!("{:.0}", b.per_second()),
            format!("{:.1}", b.statements_each()),
            format!("{:.2}", api.per_second() / b.per_second().max(1e-9)),
        ),
        None => ("—".into(), "—".into(), "—".into()),
    };
    println!(
        "| {path:<16} | {:>7.0} | {:>7.1} | {:>7.1} | {:>7.0} | {:>7.0} | {:>6} | {:>8.1} | {base_rate:>6} | {base_stmts:>7} | {ratio:>5} | {rss:>7.0} |",
        api.per_second(),
        api.percentile(500),
        api.percentile(990),
        api.percentile(1000),
        api.longest_gap_ms(),
        api.errors,
        api.statements_each(),
    );
    for line in probe {
        println!("{line}");
    }
}

/// A valid citizen ID number for the `i`th bench applicant.
fn citizen_id(i: usize) -> String {
    format!("0012990{:05}", i % 100_000)
}

async fn submit_one(ctx: Arc<Ctx>, i: usize) -> Option<bool> {
    let id = citizen_id(i);
    let body = json!({
        "procedure_code": "2.001584",
        "applicant": {"id_number": id, "full_name": format!("Người Nộp {i}")},
        "documents": [{"requirement": "D1", "paper": true},
                      {"requirement": "D2", "paper": true}],
    });
    let res = ctx
        .client
        .post(format!("{}/dossiers", ctx.base(i)))
        .bearer_auth(&ctx.token)
        .json(&body)
        .send()
        .await
        .ok()?;
    let ok = res.status() == 201;
    let body: Value = res.json().await.unwrap_or(Value::Null);
    if let (true, Some(code), Ok(mut list)) = (ok, body["code"].as_str(), ctx.filed.lock()) {
        list.push((code.to_owned(), id));
    }
    Some(ok)
}

async fn track_one(ctx: Arc<Ctx>, i: usize) -> Option<bool> {
    let tracked = ctx.tracked.get().filter(|t| !t.is_empty())?;
    let (code, id) = &tracked[i % tracked.len()];
    let res = ctx
        .client
        .get(format!("{}/tracking/{code}?id_number={id}", ctx.base(i)))
        .header(
            "x-forwarded-for",
            format!("10.{}.{}.{}", i >> 16 & 255, i >> 8 & 255, i & 255),
        )
        .send()
        .await
        .ok()?;
    let ok = res.status() == 200;
    res.bytes().await.ok()?;
    Some(ok)
}

async fn receive_one(ctx: Arc<Ctx>, i: usize) -> Option<bool> {
    let code = ctx.to_receive.lock().ok()?.pop()?;
    let res = ctx
        .client
        .post(format!("{}/dossiers/{code}/actions", ctx.base(i)))
        .bearer_auth(&ctx.token)
        .header("if-match", "\"v1\"")
        .json(&json!({"action": "receive"}))
        .send()
        .await
        .ok()?;
    let ok = res.status() == 200;
    res.bytes().await.ok()?;
    Some(ok)
}

/// Catalog search: words of the catalog, accents folded.
const WORDS: [&str; 8] = [
    "kinh doanh",
    "giay phep",
    "dang ky",
    "cap lai",
    "xay dung",
    "du lich",
    "van hoa",
    "thanh lap",
];

async fn search_one(ctx: Arc<Ctx>, i: usize) -> Option<bool> {
    let res = ctx
        .client
        .get(format!("{}/procedures", ctx.base(i)))
        .query(&[("q", WORDS[i % WORDS.len()])])
        .send()
        .await
        .ok()?;
    let ok = res.status() == 200;
    res.bytes().await.ok()?;
    Some(ok)
}

async fn list_one(ctx: Arc<Ctx>, i: usize) -> Option<bool> {
    let res = ctx
        .client
        .get(format!("{}/dossiers?per_page=50", ctx.base(i)))
        .bearer_auth(&ctx.token)
        .send()
        .await
        .ok()?;
    let ok = res.status() == 200;
    res.bytes().await.ok()?;
    Some(ok)
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
        motcua::seed::official_calendar(&mut c)?;
        motcua::seed_if_empty(&mut c, true)?.context("the fresh database was not empty")?
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
        "api-bench: {}, {} synthetic dossiers, {} procedures, loaded in {:.0} s; {} s per path, {} connections, {}, {}, log {} ({})",
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
