//! The servers under load: in this process or as child processes.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use super::{Args, LogWriter, SECRET_ENV, peak_rss_mib};
use anyhow::Context;
use motcua_app::settings::Secret;
use motcua_app::{App, Settings};
use motcua_persistence::Pool;

/// One server process: this program run with `--serve-database`. It prints
/// its port, then answers every line on its standard input with its pool's
/// statement count, and exits when its input closes.
pub(super) struct ServerProcess {
    pub(crate) child: Child,
    pub(crate) input: ChildStdin,
    pub(crate) output: BufReader<ChildStdout>,
}

impl ServerProcess {
    pub(crate) fn start(args: &Args, url: &str, secret: &str) -> anyhow::Result<(Self, u16)> {
        let mut command = Command::new(std::env::current_exe()?);
        command
            .args(["--serve-database", url, "--dir", &args.dir])
            .args(["--log-level", &args.log_level])
            .args(["--log-writer", log_writer_name(args.log_writer)])
            .args(["--log-sample-reads", &args.log_sample_reads.to_string()])
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

    pub(crate) fn statements(&mut self) -> u64 {
        let mut line = String::new();
        if writeln!(self.input).is_err() || self.output.read_line(&mut line).is_err() {
            return 0;
        }
        line.trim().parse().unwrap_or(0)
    }
}

pub(super) fn log_writer_name(writer: LogWriter) -> &'static str {
    match writer {
        LogWriter::Buffered => "buffered",
        LogWriter::Blocking => "blocking",
    }
}

/// The server(s) under test.
pub(super) enum Servers {
    InProcess {
        pool: Pool,
        handle: actix_web::dev::ServerHandle,
        thread: std::thread::JoinHandle<()>,
    },
    Processes(Vec<ServerProcess>),
}

impl Servers {
    /// Statements the servers' pools have sent so far.
    pub(crate) fn statements(&mut self) -> u64 {
        match self {
            Servers::InProcess { pool, .. } => pool.statements().get(),
            Servers::Processes(all) => all.iter_mut().map(ServerProcess::statements).sum(),
        }
    }

    /// The peak RSS of this process, or the sum of the server processes'.
    pub(crate) fn peak_rss_mib(&self) -> f64 {
        match self {
            Servers::InProcess { .. } => peak_rss_mib("self"),
            Servers::Processes(all) => all
                .iter()
                .map(|s| peak_rss_mib(&s.child.id().to_string()))
                .sum(),
        }
    }

    pub(crate) fn stop(self, runtime: &tokio::runtime::Runtime) {
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
pub(super) fn server_settings(url: &str, args: &Args, secret: &str) -> Settings {
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
    settings.log.sample_reads = args.log_sample_reads;
    settings
}

/// Installs the servers' logger as `--log-level`/`--log-writer` say; the
/// result must live as long as the server.
pub(super) fn init_log(args: &Args, settings: &Settings) -> Option<motcua::telemetry::LogGuard> {
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
pub(super) fn serve_main(args: &Args, url: &str) -> anyhow::Result<()> {
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
pub(super) fn start_servers(
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
