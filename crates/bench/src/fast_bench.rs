//! `fast-bench`: a small load generator for issue 12's paths, against a server
//! already running (`motcua serve`). It prints figures; it asserts nothing.
//!
//! - `load`: `--connections` clients send GET requests to the given paths in
//!   turn for `--secs` seconds; prints req/s, p50/p95/p99 and the statuses.
//!   With `--forwarded-per-ip N` each request carries an `X-Forwarded-For`
//!   address that changes every N requests (for per-address limits; the server
//!   must set `server.trust_forwarded_for`).
//! - `logins`: `--count` logins, `--concurrency` at a time, then the server's
//!   peak and current resident memory (`VmHWM`, `VmRSS` of `--pid`).
//!
//! docs/performance.md ("Tracking, memory, search") has the commands and figures.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use motcua_domain::numeric::ceil_i64;

#[derive(Parser)]
#[command(
    name = "fast-bench",
    about = "Load for the tracking, login and search paths"
)]
struct Args {
    /// The server, e.g. http://127.0.0.1:8080.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    base: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Load {
        /// Paths (with their query), sent in turn.
        #[arg(long = "path", required = true)]
        paths: Vec<String>,
        #[arg(long, default_value_t = 32)]
        connections: usize,
        #[arg(long, default_value_t = 10)]
        secs: u64,
        #[arg(long)]
        forwarded_per_ip: Option<u64>,
    },
    Logins {
        #[arg(long)]
        username: String,
        #[arg(long)]
        password: String,
        #[arg(long, default_value_t = 200)]
        count: usize,
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        /// The server's process id, for its memory.
        #[arg(long)]
        pid: u32,
    },
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

fn memory_of(pid: u32) -> anyhow::Result<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("process {pid}"))?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .map(|l| l.trim_start_matches(name).trim().to_owned())
            .unwrap_or_default()
    };
    Ok(format!(
        "VmHWM {} VmRSS {}",
        field("VmHWM:"),
        field("VmRSS:")
    ))
}

async fn load(
    base: &str,
    paths: Vec<String>,
    connections: usize,
    secs: u64,
    forwarded_per_ip: Option<u64>,
) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .build()?;
    let paths = Arc::new(paths);
    let counter = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..connections {
        let (client, paths, counter, base) = (
            client.clone(),
            paths.clone(),
            counter.clone(),
            base.to_owned(),
        );
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut statuses: Vec<(u16, u64)> = Vec::new();
            let mut i = c;
            while Instant::now() < deadline {
                let path = &paths[i % paths.len()];
                i += 1;
                let mut req = client.get(format!("{base}{path}"));
                if let Some(per) = forwarded_per_ip {
                    let n = counter.fetch_add(1, Ordering::Relaxed) / per.max(1);
                    req = req.header(
                        "x-forwarded-for",
                        format!("10.{}.{}.{}", (n >> 16) & 255, (n >> 8) & 255, n & 255),
                    );
                }
                let t = Instant::now();
                let status = match req.send().await {
                    Ok(res) => {
                        let status = res.status().as_u16();
                        let _ = res.bytes().await;
                        status
                    }
                    Err(_) => 0,
                };
                samples.push(t.elapsed());
                match statuses.iter_mut().find(|(s, _)| *s == status) {
                    Some((_, n)) => *n += 1,
                    None => statuses.push((status, 1)),
                }
            }
            (samples, statuses)
        }));
    }
    let mut samples = Vec::new();
    let mut statuses: Vec<(u16, u64)> = Vec::new();
    for task in tasks {
        let (s, st) = task.await?;
        samples.extend(s);
        for (status, n) in st {
            match statuses.iter_mut().find(|(s, _)| *s == status) {
                Some((_, m)) => *m += n,
                None => statuses.push((status, n)),
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    samples.sort();
    statuses.sort();
    println!(
        "requests {} in {elapsed:.1}s: {:.0} req/s; p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms; statuses {statuses:?}",
        samples.len(),
        samples.len() as f64 / elapsed,
        percentile(&samples, 0.5),
        percentile(&samples, 0.95),
        percentile(&samples, 0.99),
    );
    Ok(())
}

async fn logins(
    base: &str,
    username: String,
    password: String,
    count: usize,
    concurrency: usize,
    pid: u32,
) -> anyhow::Result<()> {
    println!("before: {}", memory_of(pid)?);
    let client = reqwest::Client::new();
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, next, base, username, password) = (
            client.clone(),
            next.clone(),
            base.to_owned(),
            username.clone(),
            password.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut failures = 0u64;
            while next.fetch_add(1, Ordering::Relaxed) < count as u64 {
                let res = client
                    .post(format!("{base}/api/v1/auth/login"))
                    .json(&serde_json::json!({"username": username, "password": password}))
                    .send()
                    .await;
                if !matches!(res, Ok(ref r) if r.status().is_success()) {
                    failures += 1;
                }
            }
            failures
        }));
    }
    let mut failures = 0;
    for task in tasks {
        failures += task.await?;
    }
    println!(
        "{count} logins, {concurrency} at a time, in {:.1}s ({failures} not 2xx); after: {}",
        started.elapsed().as_secs_f64(),
        memory_of(pid)?
    );
    if usize::try_from(failures) == Ok(count) {
        bail!("no login succeeded");
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    match args.command {
        Command::Load {
            paths,
            connections,
            secs,
            forwarded_per_ip,
        } => load(&args.base, paths, connections, secs, forwarded_per_ip).await,
        Command::Logins {
            username,
            password,
            count,
            concurrency,
            pid,
        } => logins(&args.base, username, password, count, concurrency, pid).await,
    }
}
