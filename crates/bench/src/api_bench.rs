//! `api-bench`: throughput and latency of the API's hot paths against the
//! bare SQL of the same work, through the same database, in one run.
//!
//! Fills a fresh database (demo accounts, `motcua generate`'s synthetic
//! catalog and dossiers), starts the real server in this process, and for
//! each path runs `--connections` concurrent clients for `--seconds`, then
//! the bare-SQL baseline with as many threads. Prints per path: req/s,
//! p50/p99, statements per request (the pool's counter), the ratio to the
//! baseline and the process's peak RSS. A program, not a test: run it with
//! `--release` (docs/performance.md has the figures and the command).

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use motcua_app::password::random_token;
use motcua_app::settings::Secret;
use motcua_app::{App, Settings};
use motcua_domain::Role;
use motcua_http::auth::TokenService;
use motcua_persistence::repo::users;
use motcua_persistence::{AnyConnection, Pool, PoolOptions, baseline, build_pool};
use serde_json::{Value, json};

#[derive(Parser)]
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
}

/// Latencies and outcomes of one phase.
#[derive(Default)]
struct Samples {
    latencies: Vec<Duration>,
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
    fn percentile(&mut self, p: f64) -> f64 {
        self.latencies.sort_unstable();
        if self.latencies.is_empty() {
            return 0.0;
        }
        let rank = ((self.latencies.len() as f64) * p).ceil() as usize;
        self.latencies[rank.clamp(1, self.latencies.len()) - 1].as_secs_f64() * 1000.0
    }
    fn statements_each(&self) -> f64 {
        self.statements as f64 / (self.done() + self.errors).max(1) as f64
    }
    fn merge(&mut self, other: Samples) {
        self.latencies.extend(other.latencies);
        self.errors += other.errors;
    }
}

/// The peak resident set of this process (server, clients and baseline), in MiB.
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// `connections` tasks call `one(i)` with a fresh `i` until `seconds` pass or
/// one answers `None` (nothing left to do). `Some(true)` is a success.
async fn drive<F, Fut>(pool: &Pool, seconds: u64, connections: usize, one: F) -> Samples
where
    F: Fn(u64) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Option<bool>> + Send,
{
    let next = Arc::new(AtomicU64::new(0));
    let before = pool.statements().get();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let (one, next) = (one.clone(), next.clone());
            tokio::spawn(async move {
                let mut samples = Samples::default();
                while Instant::now() < deadline {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let at = Instant::now();
                    match one(i).await {
                        None => break,
                        Some(true) => samples.latencies.push(at.elapsed()),
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
    all.statements = pool.statements().get() - before;
    all
}

/// The baseline: `threads` threads, each with a connection of `pool`, call
/// `one(conn, i)` until `seconds` pass or one answers `None`.
fn drive_sql<F>(pool: &Pool, seconds: u64, threads: usize, one: F) -> Samples
where
    F: Fn(&mut AnyConnection, u64) -> Option<bool> + Sync,
{
    let next = AtomicU64::new(0);
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
                            Some(true) => samples.latencies.push(at.elapsed()),
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

fn report(path: &str, mut api: Samples, base: Option<Samples>) {
    let (base_rate, base_stmts, ratio) = match base {
        Some(b) => (
            format!("{:.0}", b.per_second()),
            format!("{:.1}", b.statements_each()),
            format!("{:.2}", api.per_second() / b.per_second().max(1e-9)),
        ),
        None => ("—".into(), "—".into(), "—".into()),
    };
    println!(
        "| {path:<16} | {:>7.0} | {:>7.1} | {:>7.1} | {:>6} | {:>6.1} | {base_rate:>8} | {base_stmts:>6} | {ratio:>5} | {:>6.0} |",
        api.per_second(),
        api.percentile(0.5),
        api.percentile(0.99),
        api.errors,
        api.statements_each(),
        peak_rss_mib(),
    );
}

/// A valid citizen ID number for the `i`th bench applicant.
fn citizen_id(i: u64) -> String {
    format!("0012990{:05}", i % 100_000)
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
    let url = database_url(&args)?;
    let secret = random_token(48);
    let mut settings = Settings::default();
    settings.database.url = Secret::new(url);
    settings.data_dir = args.dir.clone();
    settings.demo = Some(true);
    settings.server.workers = Some(2);
    // Each tracking client is a citizen of its own (X-Forwarded-For), as behind a proxy.
    settings.server.trust_forwarded_for = true;
    settings.payments.jobs_interval_secs = 0;
    settings.auth.jwt_secret = Some(Secret::new(secret.clone()));
    let app = App::build(settings.clone())?;
    let pool = app.pool.clone();
    let db_url = motcua_persistence::DatabaseUrl::parse(settings.database.url.expose())?;
    let started = Instant::now();
    let demo = {
        let mut c = pool.get()?;
        motcua::seed::official_calendar(&mut c)?;
        motcua::seed_if_empty(&mut c, true)?.context("the fresh database was not empty")?
    };
    motcua::generate(&settings, &pool, args.dossiers, args.procedures, 1, 1)?;
    let officer_name = demo
        .accounts
        .iter()
        .find(|a| a.role == Role::Officer)
        .map(|a| a.username.clone())
        .context("no demo officer")?;
    let (officer, template) = {
        let mut c = pool.get()?;
        let (user, _) = users::credentials(&mut c, &officer_name)?.context("demo officer")?;
        let version = users::access(&mut c, user.id)?.map_or(0, |a| a.token_version);
        let agency = user.agency_id.context("the officer has no agency")?;
        ((user, version, agency), baseline::template(&mut c)?)
    };
    let (officer, version, agency) = officer;
    let token = TokenService::new(secret.as_bytes(), &settings.auth.issuer, 3600)
        .issue(&officer, version)
        .map_err(|e| anyhow::anyhow!("issuing a token: {:?}", e.code))?;
    let backend = db_url.backend();
    println!(
        "api-bench: {}, {} synthetic dossiers, {} procedures, loaded in {:.0} s; {} s per path, {} connections",
        backend.as_str(),
        args.dossiers,
        args.procedures,
        started.elapsed().as_secs_f64(),
        args.seconds,
        args.connections
    );
    // The baseline's own pool on the same database.
    let bare = build_pool(
        &db_url,
        &PoolOptions {
            max_size: u32::try_from(args.connections).unwrap_or(32),
            ..PoolOptions::default()
        },
    );

    // The server, in this process, on its own actix system.
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let base = format!("http://{}/api/v1", listener.local_addr()?);
    let state = motcua_http::state(app);
    let (tx, rx) = std::sync::mpsc::channel();
    let server_thread = std::thread::spawn(move || {
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

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(args.connections)
            .build()?;
        let (secs, conns) = (args.seconds, args.connections);
        println!(
            "| path             |   req/s |  p50 ms |  p99 ms | errors | stmt/req | bare/s | stmt/op | ratio | RSS MiB |"
        );
        println!(
            "|------------------|---------|---------|---------|--------|----------|--------|---------|-------|---------|"
        );

        // Submit: counter dossiers, paper documents, a new applicant each.
        let filed: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let api = {
            let (client, base, token, filed) =
                (client.clone(), base.clone(), token.clone(), filed.clone());
            drive(&pool, secs, conns, move |i| {
                let (client, base, token, filed) =
                    (client.clone(), base.clone(), token.clone(), filed.clone());
                async move {
                    let id = citizen_id(i);
                    let body = json!({
                        "procedure_code": "2.001584",
                        "applicant": {"id_number": id, "full_name": format!("Người Nộp {i}")},
                        "documents": [{"requirement": "D1", "paper": true},
                                      {"requirement": "D2", "paper": true}],
                    });
                    let res = client
                        .post(format!("{base}/dossiers"))
                        .bearer_auth(&token)
                        .json(&body)
                        .send()
                        .await
                        .ok()?;
                    let ok = res.status() == 201;
                    let body: Value = res.json().await.unwrap_or(Value::Null);
                    if let (true, Some(code), Ok(mut list)) =
                        (ok, body["code"].as_str(), filed.lock())
                    {
                        list.push((code.to_owned(), id));
                    }
                    Some(ok)
                }
            })
            .await
        };
        let day = chrono::NaiveDate::from_ymd_opt(2000, 1, 3).context("a date")?;
        let bare_ids: Mutex<Vec<i64>> = Mutex::default();
        let base_submit = drive_sql(&bare, secs, conns, |conn, _| {
            let id = baseline::submit(conn, template, day).ok()?;
            bare_ids.lock().ok()?.push(id);
            Some(true)
        });
        report("submit", api, Some(base_submit));

        // Tracking: the dossiers just filed, each client a citizen of its own.
        let tracked: Arc<Vec<(String, String)>> =
            Arc::new(filed.lock().map(|l| l.clone()).unwrap_or_default());
        if tracked.is_empty() {
            bail!("no dossier was filed");
        }
        let api = {
            let (client, base, tracked) = (client.clone(), base.clone(), tracked.clone());
            drive(&pool, secs, conns, move |i| {
                let (client, base, tracked) = (client.clone(), base.clone(), tracked.clone());
                async move {
                    let (code, id) = &tracked[(i as usize) % tracked.len()];
                    let res = client
                        .get(format!("{base}/tracking/{code}?id_number={id}"))
                        .header("x-forwarded-for", format!("10.{}.{}.{}", i >> 16 & 255, i >> 8 & 255, i & 255))
                        .send()
                        .await
                        .ok()?;
                    let ok = res.status() == 200;
                    res.bytes().await.ok()?;
                    Some(ok)
                }
            })
            .await
        };
        let base_track = drive_sql(&bare, secs, conns, |conn, i| {
            let (code, _) = &tracked[(i as usize) % tracked.len()];
            Some(baseline::track(conn, code).ok()?.is_some())
        });
        report("tracking", api, Some(base_track));

        // Receive: each filed dossier once, at its first version.
        let queue: Arc<Mutex<Vec<String>>> =
            Arc::new(Mutex::new(tracked.iter().map(|(c, _)| c.clone()).collect()));
        let api = {
            let (client, base, token, queue) =
                (client.clone(), base.clone(), token.clone(), queue.clone());
            drive(&pool, secs, conns, move |_| {
                let (client, base, token, queue) =
                    (client.clone(), base.clone(), token.clone(), queue.clone());
                async move {
                    let code = queue.lock().ok()?.pop()?;
                    let res = client
                        .post(format!("{base}/dossiers/{code}/actions"))
                        .bearer_auth(&token)
                        .header("if-match", "\"v1\"")
                        .json(&json!({"action": "receive"}))
                        .send()
                        .await
                        .ok()?;
                    let ok = res.status() == 200;
                    res.bytes().await.ok()?;
                    Some(ok)
                }
            })
            .await
        };
        let base_receive = drive_sql(&bare, secs, conns, |conn, _| {
            let id = bare_ids.lock().ok()?.pop()?;
            baseline::receive(conn, id, template).ok()
        });
        report("receive", api, Some(base_receive));

        // Catalog search: words of the catalog, accents folded.
        const WORDS: [&str; 8] = [
            "kinh doanh", "giay phep", "dang ky", "cap lai", "xay dung", "du lich", "van hoa", "thanh lap",
        ];
        let api = {
            let (client, base) = (client.clone(), base.clone());
            drive(&pool, secs, conns, move |i| {
                let (client, base) = (client.clone(), base.clone());
                async move {
                    let word = WORDS[(i as usize) % WORDS.len()];
                    let res = client
                        .get(format!("{base}/procedures"))
                        .query(&[("q", word)])
                        .send()
                        .await
                        .ok()?;
                    let ok = res.status() == 200;
                    res.bytes().await.ok()?;
                    Some(ok)
                }
            })
            .await
        };
        let base_search = drive_sql(&bare, secs, conns, |conn, i| {
            let word = WORDS[(i as usize) % WORDS.len()];
            Some(baseline::search(conn, word).is_ok())
        });
        report("catalog search", api, Some(base_search));

        // The officer's list, a page of 50.
        let api = {
            let (client, base, token) = (client.clone(), base.clone(), token.clone());
            drive(&pool, secs, conns, move |_| {
                let (client, base, token) = (client.clone(), base.clone(), token.clone());
                async move {
                    let res = client
                        .get(format!("{base}/dossiers?per_page=50"))
                        .bearer_auth(&token)
                        .send()
                        .await
                        .ok()?;
                    let ok = res.status() == 200;
                    res.bytes().await.ok()?;
                    Some(ok)
                }
            })
            .await
        };
        let base_list = drive_sql(&bare, secs, conns, |conn, _| {
            Some(baseline::list_page(conn, agency).is_ok())
        });
        report("list page of 50", api, Some(base_list));
        Ok::<(), anyhow::Error>(())
    })?;
    runtime.block_on(handle.stop(true));
    let _ = server_thread.join();
    Ok(())
}
