//! Payments seen from outside the process: the logs never carry the signing
//! secret, a signature or a payment link; and two server processes sharing one
//! PostgreSQL expire each payment once and reconcile each day once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod processes;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use processes::{collect, free_port, workdir};

const BIN: &str = env!("CARGO_BIN_EXE_motcua");
const JWT: &str = "process-test-jwt-secret-never-to-be-logged-012345";
const MERCHANT_SECRET: &str = "process-test-merchant-secret-0123456789";

struct Server {
    child: Child,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
    base: String,
}

fn start(dir: &PathBuf, database_url: &str, envs: &[(&str, &str)]) -> Server {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir)
        .args([
            "serve",
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--database-url",
            database_url,
        ])
        .env_remove("DATABASE_URL")
        .env_remove("RUST_LOG")
        .env("LOG_FORMAT", "json")
        .env("MOTCUA__AUTH__JWT_SECRET", JWT)
        .env("MOTCUA__PAYMENTS__HASH_SECRET", MERCHANT_SECRET)
        .env("MOTCUA__SERVER__PUBLIC_BASE_URL", &base);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = collect(child.stdout.take().unwrap());
    let stderr = collect(child.stderr.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(60);
    while !stderr
        .lock()
        .unwrap()
        .iter()
        .any(|l| l.contains("listening on"))
    {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("server exited {status}: {:?}", stderr.lock().unwrap());
        }
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Server {
        child,
        stdout,
        stderr,
        base,
    }
}

impl Server {
    fn stop(mut self) -> (Vec<String>, Vec<String>) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "server did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(100));
        let out = self.stdout.lock().unwrap().clone();
        let err = self.stderr.lock().unwrap().clone();
        (out, err)
    }

    fn password(&self, user: &str) -> String {
        let out = self.stdout.lock().unwrap().join("\n");
        out.lines()
            .find(|l| l.contains(&format!(" {user} ")))
            .and_then(|l| l.split(": ").last())
            .unwrap()
            .trim()
            .to_owned()
    }
}

/// A citizen's dossier with a fee, paid or not, through the API of `server`.
async fn open_payment(client: &reqwest::Client, server: &Server, token: &str) -> Value {
    let part = reqwest::multipart::Part::bytes(b"%PDF-1.4\n%x\n".to_vec()).file_name("don.pdf");
    let doc: Value = client
        .post(format!("{}/api/v1/documents", server.base))
        .bearer_auth(token)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let dossier: Value = client
        .post(format!("{}/api/v1/dossiers", server.base))
        .bearer_auth(token)
        .json(&json!({"procedure_code": "1.004610", "documents": [{"requirement": "D1", "document_id": doc["id"]}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let code = dossier["code"].as_str().unwrap();
    let payment: Value = client
        .post(format!("{}/api/v1/dossiers/{code}/payments", server.base))
        .bearer_auth(token)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // The citizen opens the gateway page.
    let page = client
        .get(payment["next_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    payment
}

async fn login(client: &reqwest::Client, server: &Server, user: &str) -> String {
    let body: Value = client
        .post(format!("{}/api/v1/auth/login", server.base))
        .json(&json!({"username": user, "password": server.password(user)}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn logs_never_carry_secrets_signatures_or_payment_links() {
    let dir = workdir("motcua-pay");
    let url = format!("sqlite://{}", dir.join("motcua.db").display());
    // The most verbose logging there is.
    let server = start(
        &dir,
        &url,
        &[
            ("RUST_LOG", "trace"),
            ("MOTCUA__PAYMENTS__JOBS_INTERVAL_SECS", "1"),
        ],
    );
    let client = reqwest::Client::new();
    let token = login(&client, &server, "001099012345").await;
    let paid = open_payment(&client, &server, &token).await;
    let next_url = paid["next_url"].as_str().unwrap().to_owned();
    let txn_ref = paid["txn_ref"].as_str().unwrap();
    let report: Value = client
        .post(format!(
            "{}/sandbox/vnpay/transactions/{txn_ref}/complete",
            server.base
        ))
        .json(&json!({"outcome": "pay", "notify": "twice"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(report["notifications"][0]["reply"]["RspCode"], "00");
    // The browser's return page, and a forged notification.
    client
        .get(report["return_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let forged = report["notification_url"]
        .as_str()
        .unwrap()
        .replace("vnp_Amount=", "vnp_Amount=1");
    client.get(&forged).send().await.unwrap();
    let second = open_payment(&client, &server, &token).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (_, stderr) = server.stop();
    let logs = stderr.join("\n");
    assert!(
        logs.contains("payment notification"),
        "the notifications were logged"
    );
    let signature = next_url.split("vnp_SecureHash=").nth(1).unwrap().to_owned();
    let notified = report["notification_url"]
        .as_str()
        .unwrap()
        .split("vnp_SecureHash=")
        .nth(1)
        .unwrap()
        .to_owned();
    let second_link = second["next_url"].as_str().unwrap().to_owned();
    for (what, secret) in [
        ("merchant secret", MERCHANT_SECRET),
        ("JWT secret", JWT),
        ("checkout signature", signature.as_str()),
        ("notification signature", notified.as_str()),
        ("payment link", next_url.as_str()),
        ("payment link query", next_url.split('?').nth(1).unwrap()),
        ("second payment link", second_link.as_str()),
        ("signature field", "vnp_SecureHash"),
    ] {
        let leak = stderr
            .iter()
            .find(|l| l.contains(secret))
            .map(|l| l.chars().take(600).collect::<String>());
        assert!(leak.is_none(), "{what} found in the logs: {leak:?}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn two_processes_expire_each_payment_once_and_reconcile_once() {
    use diesel::prelude::*;
    use motcua_persistence::schema::{job_runs, payment_events, payments, sandbox_transactions};
    let Some(db) = motcua_persistence::testing::TestDb::postgres() else {
        eprintln!("skipped: MOTCUA_TEST_POSTGRES_URL not set");
        return;
    };
    let dir = workdir("motcua-pay");
    let url = db.url_string().to_owned();
    let seeding = start(&dir, &url, &[("MOTCUA__PAYMENTS__JOBS_INTERVAL_SECS", "0")]);
    let client = reqwest::Client::new();
    let token = login(&client, &seeding, "001099012345").await;
    let mut refs = Vec::new();
    for _ in 0..12 {
        refs.push(
            open_payment(&client, &seeding, &token).await["txn_ref"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    seeding.stop();

    let pg = || diesel::PgConnection::establish(&url).unwrap();
    let past = (chrono::Utc::now() - chrono::Duration::minutes(1)).naive_utc();
    diesel::update(payments::table)
        .set(payments::expires_at.eq(past))
        .execute(&mut pg())
        .unwrap();

    let jobs = [("MOTCUA__PAYMENTS__JOBS_INTERVAL_SECS", "1")];
    let (a, b) = (start(&dir, &url, &jobs), start(&dir, &url, &jobs));
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let open: i64 = payments::table
            .filter(payments::status.ne("failed"))
            .count()
            .get_result(&mut pg())
            .unwrap();
        if open == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{open} payments not expired in time"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Yesterday's reconciliation is claimed through the database: one of
    // the two servers runs it, once.
    loop {
        let done: i64 = job_runs::table
            .filter(job_runs::job.eq("reconciliation"))
            .filter(job_runs::finished_at.is_not_null())
            .count()
            .get_result(&mut pg())
            .unwrap();
        if done > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "no reconciliation in time");
        std::thread::sleep(Duration::from_millis(200));
    }
    // Further rounds of both servers find the day done.
    std::thread::sleep(Duration::from_millis(2500));
    let (a_out, a_logs) = a.stop();
    let (b_out, b_logs) = b.stop();
    let reconciliations = a_out
        .iter()
        .chain(&b_out)
        .chain(&a_logs)
        .chain(&b_logs)
        .filter(|line| line.contains("\"message\":\"reconciliation\""))
        .count();
    assert_eq!(
        reconciliations, 1,
        "the day was reconciled {reconciliations} times"
    );
    let mut conn = pg();
    let codes: Vec<Option<String>> = payments::table
        .select(payments::failure_code)
        .load(&mut conn)
        .unwrap();
    assert_eq!(codes.len(), 12);
    assert!(
        codes.iter().all(|c| c.as_deref() == Some("expired")),
        "{codes:?}"
    );
    for txn_ref in &refs {
        let queries: i32 = sandbox_transactions::table
            .find(txn_ref)
            .select(sandbox_transactions::queries)
            .first(&mut conn)
            .unwrap();
        assert_eq!(queries, 1, "{txn_ref} was asked about {queries} times");
    }
    let expired_events: i64 = payment_events::table
        .filter(payment_events::kind.eq("expired"))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(expired_events, 12);
    let _ = std::fs::remove_dir_all(dir);
}
