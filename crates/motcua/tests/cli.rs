//! The binary as operators and scripts use it: real processes, real signals,
//! captured output.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use motcua_persistence::testing::TestDb;

const BIN: &str = env!("CARGO_BIN_EXE_motcua");
const JWT: &str = "cli-test-jwt-secret-never-to-be-logged-0123456789";

fn workdir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("motcua-cli-{}", uuid()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn uuid() -> String {
    format!(
        "{:x}{:x}",
        std::process::id(),
        Instant::now().elapsed().as_nanos() ^ rand_seed()
    )
}

fn rand_seed() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

fn motcua(dir: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir)
        .env_remove("DATABASE_URL")
        .env_remove("RUST_LOG")
        .env_remove("LOG_FORMAT");
    for (key, _) in std::env::vars() {
        if key.starts_with("MOTCUA__") {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// A running `motcua serve` with its output collected line by line.
struct Server {
    child: Child,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
    port: u16,
}

fn collect(stream: impl Read + Send + 'static) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    lines
}

impl Server {
    fn start(mut cmd: Command) -> Server {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = collect(child.stdout.take().unwrap());
        let stderr = collect(child.stderr.take().unwrap());
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let found = stderr.lock().unwrap().iter().find_map(|l| {
                let rest = l.split("listening on http://").nth(1)?;
                let addr = rest.split([' ', '"', '(']).next()?;
                addr.rsplit(':').next()?.parse::<u16>().ok()
            });
            if let Some(port) = found {
                return Server {
                    child,
                    stdout,
                    stderr,
                    port,
                };
            }
            if let Some(status) = child.try_wait().unwrap() {
                panic!("server exited {status}: {:?}", stderr.lock().unwrap());
            }
            assert!(
                Instant::now() < deadline,
                "server did not start: {:?}",
                stderr.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn signal(&self, signal: &str) {
        let ok = Command::new("kill")
            .args([format!("-{signal}"), self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
    }

    fn wait(mut self) -> (std::process::ExitStatus, Vec<String>, Vec<String>) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "server did not stop");
            std::thread::sleep(Duration::from_millis(50));
        };
        std::thread::sleep(Duration::from_millis(100));
        let out = self.stdout.lock().unwrap().clone();
        let err = self.stderr.lock().unwrap().clone();
        (status, out, err)
    }
}

/// One HTTP/1.1 exchange with `Connection: close`; returns status and body.
fn http(port: u16, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let body = body.unwrap_or("");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    read_response(stream)
}

fn read_response(mut stream: TcpStream) -> (u16, String) {
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let status = raw
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = raw.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    (status, body)
}

fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("motcua.db").display())
}

#[test]
fn openapi_command_prints_the_committed_contract() {
    let out = motcua(&workdir()).arg("openapi").output().unwrap();
    assert!(out.status.success());
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../openapi/openapi.json"
    ))
    .unwrap();
    assert!(
        String::from_utf8(out.stdout).unwrap() == committed,
        "openapi/openapi.json is stale: run `cargo run -p motcua -- openapi > openapi/openapi.json`"
    );
}

#[test]
fn serve_seeds_once_logs_json_without_secrets_and_stops_on_sigterm() {
    let dir = workdir();
    let db = TestDb::postgres();
    // trust auth ignores the password, so a fake one shows whether URLs are redacted.
    let (url, db_password) = match &db {
        Some(db) => (
            db.url_string()
                .replacen("postgres@", "postgres:db-pass-7f3a9@", 1),
            Some("db-pass-7f3a9"),
        ),
        None => (sqlite_url(&dir), None),
    };
    let start = || {
        let mut cmd = motcua(&dir);
        cmd.args(["serve", "--bind", "127.0.0.1:0", "--database-url", &url])
            .env("LOG_FORMAT", "json")
            .env("MOTCUA__AUTH__JWT_SECRET", JWT);
        Server::start(cmd)
    };
    let server = start();
    let port = server.port;
    std::thread::sleep(Duration::from_millis(200));
    let printed = server.stdout.lock().unwrap().join("\n");
    assert!(printed.contains("DEMO DATA"), "{printed}");
    let admin_password = printed
        .lines()
        .find(|l| l.contains("demo.admin"))
        .and_then(|l| l.rsplit("password: ").next())
        .unwrap()
        .trim()
        .to_owned();
    let login = format!(r#"{{"username":"demo.admin","password":"{admin_password}"}}"#);
    let (status, body) = http(port, "POST", "/api/v1/auth/login", Some(&login));
    assert_eq!(status, 200, "{body}");
    let (status, _) = http(
        port,
        "POST",
        "/api/v1/auth/login",
        Some(r#"{"username":"demo.admin","password":"wrong-pass-9d8c"}"#),
    );
    assert_eq!(status, 401);
    let (status, body) = http(
        port,
        "GET",
        "/api/v1/procedures?q=du%20lich&per_page=1",
        None,
    );
    assert_eq!(status, 200, "{body}");
    server.signal("TERM");
    let (status, _, stderr) = server.wait();
    assert!(status.success(), "exit {status}");

    // Logs: JSON lines, each request with its id; no secret anywhere.
    let logs = stderr.join("\n");
    assert!(!stderr.is_empty());
    for line in &stderr {
        let parsed: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(parsed["level"].is_string());
    }
    assert!(
        stderr
            .iter()
            .any(|l| l.contains("request_id") && l.contains("/api/v1/auth/login")),
        "{logs}"
    );
    for secret in [JWT, admin_password.as_str(), "wrong-pass-9d8c"] {
        assert!(!logs.contains(secret), "secret {secret:?} in logs");
    }
    if let Some(pw) = db_password {
        assert!(!logs.contains(pw), "database password in logs");
    }

    // Second start on the same database: nothing seeded, no passwords printed again.
    let server = start();
    std::thread::sleep(Duration::from_millis(200));
    server.signal("INT");
    let (status, stdout, _) = server.wait();
    assert!(status.success());
    assert!(!stdout.join("\n").contains("DEMO DATA"));
}

#[test]
fn graceful_shutdown_finishes_the_request_in_flight() {
    let dir = workdir();
    let mut cmd = motcua(&dir);
    cmd.args([
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--no-demo",
        "--database-url",
        &sqlite_url(&dir),
    ]);
    let server = Server::start(cmd);
    let body = r#"{"username":"someone","password":"whatever-password"}"#;
    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    write!(
        stream,
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        body.len(),
        body.get(..10).unwrap()
    )
    .unwrap();
    stream.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    server.signal("TERM");
    std::thread::sleep(Duration::from_millis(500));
    // New connections are no longer accepted…
    assert!(
        TcpStream::connect_timeout(
            &format!("127.0.0.1:{}", server.port).parse().unwrap(),
            Duration::from_secs(1)
        )
        .is_err()
    );
    // …but the request already under way gets its answer.
    write!(stream, "{}", body.get(10..).unwrap()).unwrap();
    let (status, response) = read_response(stream);
    assert_eq!(status, 401, "{response}");
    assert!(response.contains("invalid_credentials"));
    let (status, _, _) = server.wait();
    assert!(status.success());
}

#[test]
fn no_demo_serves_an_empty_installation_and_create_admin_reads_stdin() {
    let dir = workdir();
    let url = sqlite_url(&dir);
    let weak = motcua(&dir)
        .args([
            "create-admin",
            "--database-url",
            &url,
            "--username",
            "quantri",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child.stdin.take().unwrap().write_all(b"12345\n")?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("password"));
    let created = motcua(&dir)
        .args([
            "create-admin",
            "--database-url",
            &url,
            "--username",
            "QuanTri",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(b"mat-khau-quan-tri-2026\n")?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    assert!(!String::from_utf8_lossy(&created.stderr).contains("mat-khau-quan-tri-2026"));

    let mut cmd = motcua(&dir);
    cmd.args([
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--no-demo",
        "--database-url",
        &url,
    ])
    .env("MOTCUA__AUTH__JWT_SECRET", JWT);
    let server = Server::start(cmd);
    let (_, body) = http(server.port, "GET", "/api/v1/procedures", None);
    assert!(body.contains(r#""total":0"#), "{body}");
    let (status, body) = http(
        server.port,
        "POST",
        "/api/v1/auth/login",
        Some(r#"{"username":"quantri","password":"mat-khau-quan-tri-2026"}"#),
    );
    assert_eq!(status, 200, "{body}");
    server.signal("TERM");
    let (_, stdout, _) = server.wait();
    assert!(!stdout.join("\n").contains("DEMO DATA"));
}

#[test]
fn import_catalog_command_is_all_or_nothing() {
    let dir = workdir();
    let url = sqlite_url(&dir);
    // Seed the demo agencies and catalog with one start.
    let mut cmd = motcua(&dir);
    cmd.args(["serve", "--bind", "127.0.0.1:0", "--database-url", &url]);
    let server = Server::start(cmd);
    server.signal("TERM");
    server.wait();
    let header = "code,name,sector,levels,regulated_days,committed_days,online_level,effective_date,result,steps,required_documents,legal_basis,fees,fees_payable_online,inter_agency,agency_code,status\n";
    let good = format!(
        "{header}1.950001,Thủ tục thử,Du lịch,province,5,3,full,2026-01-01,Văn bản,Nộp|Nhận,Đơn,Luật Du lịch,,false,false,,active\n"
    );
    let bad = format!(
        "{good}1.950002,,Du lịch,province,5,9,full,2026-01-01,Văn bản,Nộp,Đơn,Luật,,false,false,,active\n"
    );
    std::fs::write(dir.join("bad.csv"), bad).unwrap();
    std::fs::write(dir.join("good.csv"), good).unwrap();
    let out = motcua(&dir)
        .args(["import-catalog", "bad.csv", "--database-url", &url])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["applied"], false);
    assert_eq!(report["invalid"], 1);
    let out = motcua(&dir)
        .args(["import-catalog", "good.csv", "--database-url", &url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["created"], 1);
}

#[test]
fn configuration_errors_are_clear() {
    let dir = workdir();
    let out = motcua(&dir)
        .args(["serve", "--database-url", "mysql://localhost/db"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("postgres://") && err.contains("sqlite://"),
        "{err}"
    );
    let out = motcua(&dir)
        .args(["serve", "--database-url", &sqlite_url(&dir)])
        .env("MOTCUA__ENVIRONMENT", "production")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("jwt_secret"));
    std::fs::write(
        dir.join("motcua.toml"),
        "[server]\nbind = \"127.0.0.1:0\"\nnot_a_setting = 1\n",
    )
    .unwrap();
    let out = motcua(&dir)
        .args(["serve", "--database-url", &sqlite_url(&dir)])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not_a_setting"));
}

#[test]
fn configuration_layers_file_then_environment_then_flags() {
    let dir = workdir();
    std::fs::write(
        dir.join("motcua.toml"),
        "[server]\nbind = \"127.0.0.1:1\"\n[log]\nformat = \"json\"\n[auth]\naccess_ttl_secs = 60\n",
    )
    .unwrap();
    let mut cmd = motcua(&dir);
    // The file's bind loses to the environment's, which loses to the flag's.
    cmd.args([
        "serve",
        "--no-demo",
        "--bind",
        "127.0.0.1:0",
        "--database-url",
        &sqlite_url(&dir),
    ])
    .env("MOTCUA__SERVER__BIND", "127.0.0.1:2")
    .env("MOTCUA__AUTH__JWT_SECRET", JWT);
    let server = Server::start(cmd);
    let logs = server.stderr.lock().unwrap().clone();
    assert!(
        logs.iter().all(|l| l.starts_with('{')),
        "JSON format from the file: {logs:?}"
    );
    server.signal("TERM");
    assert!(server.wait().0.success());
}

#[test]
fn generate_then_rebuild_kpi_then_serve_the_figures() {
    let dir = workdir();
    let out = motcua(&dir)
        .args([
            "generate",
            "--database-url",
            &sqlite_url(&dir),
            "--dossiers",
            "1500",
            "--procedures",
            "16",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("dossiers: 1500"), "{stdout}");
    // Every synthetic electronic document points at one stored file.
    assert!(
        dir.join("data/files/sy/synthetic-placeholder-pdf")
            .is_file()
    );
    let out = motcua(&dir)
        .args(["rebuild-kpi", "--database-url", &sqlite_url(&dir)])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with("KPI aggregates rebuilt: 1500 dossiers"),
        "{stdout}"
    );
    let refused = motcua(&dir)
        .args([
            "generate",
            "--database-url",
            &sqlite_url(&dir),
            "--procedures",
            "0",
        ])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let mut cmd = motcua(&dir);
    cmd.args([
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--database-url",
        &sqlite_url(&dir),
    ])
    .env("MOTCUA__AUTH__JWT_SECRET", JWT);
    let server = Server::start(cmd);
    let (status, body) = http(server.port, "GET", "/api/v1/kpi/public?period=2026", None);
    assert_eq!(status, 200, "{body}");
    let summary: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(
        summary["dossiers"]["received"].as_i64().unwrap() > 100,
        "{body}"
    );
    server.signal("TERM");
    assert!(server.wait().0.success());
}
