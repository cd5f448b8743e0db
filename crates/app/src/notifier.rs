//! Messages to citizens (one-time codes today) behind one trait, so a real
//! SMS or e-mail provider plugs in without touching the handlers. See
//! `docs/identity.md` for where a provider goes.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

use motcua_domain::access::ContactChannel;
use serde::Serialize;

/// One message to one address.
#[derive(Debug, Clone, Serialize)]
pub struct Message {
    pub channel: ContactChannel,
    /// A phone number (national form) or an e-mail address.
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// Delivers messages. Called off the async workers (it may block).
pub trait Notifier: Send + Sync {
    fn send(&self, message: &Message) -> Result<(), String>;
}

/// Development: writes each message to the log. In production it never logs
/// the body (it carries a code), only that nothing was delivered.
pub struct LogSink {
    pub production: bool,
}

impl Notifier for LogSink {
    fn send(&self, message: &Message) -> Result<(), String> {
        if self.production {
            tracing::error!(
                channel = ?message.channel,
                "no SMS/e-mail provider configured: message not delivered"
            );
            return Err("no notification provider configured".to_owned());
        }
        tracing::info!(channel = ?message.channel, to = %message.to, body = %message.body, "outbox (development sink)");
        Ok(())
    }
}

/// Development and tests: appends each message as a JSON line to a file,
/// and to the log.
pub struct FileOutbox {
    path: PathBuf,
    lock: Mutex<()>,
}

impl FileOutbox {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            lock: Mutex::new(()),
        }
    }
}

impl Notifier for FileOutbox {
    fn send(&self, message: &Message) -> Result<(), String> {
        let _guard = self.lock.lock().map_err(|e| e.to_string())?;
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| e.to_string())?;
        let line = serde_json::to_string(message).map_err(|e| e.to_string())?;
        writeln!(file, "{line}").map_err(|e| e.to_string())?;
        tracing::info!(channel = ?message.channel, to = %message.to, "outbox (development file sink)");
        Ok(())
    }
}
