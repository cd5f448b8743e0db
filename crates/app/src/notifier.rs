//! Messages to citizens behind one trait, [`Notifier`]: the one-time codes
//! of identity verification and the notifications of `crate::notifications`
//! go through the same senders, one per channel ([`Senders`], built from the
//! settings by [`senders`]): the development sink (log, file), an HTTP SMS
//! gateway, SMTP. See `docs/notifications.md`.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

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

/// SMS through an HTTP gateway: `POST` of `{"to", "message"}` as JSON with
/// `Authorization: Bearer <token>`; any 2xx is accepted. Most Vietnamese
/// brandname-SMS providers take this shape behind a small adapter.
pub struct HttpSms {
    agent: ureq::Agent,
    endpoint: String,
    token: Option<String>,
}

impl HttpSms {
    pub fn new(endpoint: &str, token: Option<&str>, timeout: Duration) -> Self {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent("motcua-notifications/1")
            .build();
        Self {
            agent: ureq::Agent::new_with_config(config),
            endpoint: endpoint.to_owned(),
            token: token.map(str::to_owned),
        }
    }
}

impl Notifier for HttpSms {
    fn send(&self, message: &Message) -> Result<(), String> {
        let body = serde_json::json!({ "to": message.to, "message": message.body });
        let mut request = self
            .agent
            .post(&self.endpoint)
            .header("content-type", "application/json");
        if let Some(token) = &self.token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        match request.send(body.to_string().as_bytes()) {
            Ok(response) if response.status().is_success() => Ok(()),
            Ok(mut response) => {
                let status = response.status().as_u16();
                let excerpt = response
                    .body_mut()
                    .with_config()
                    .limit(300)
                    .read_to_string()
                    .unwrap_or_default();
                Err(format!("SMS gateway answered {status}: {excerpt}"))
            }
            Err(error) => Err(format!("SMS gateway unreachable: {error}")),
        }
    }
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    StartTls,
    Tls,
    /// Plain text: a relay on the local network, or a test's server.
    None,
}

/// E-mail through an SMTP relay (lettre, rustls). Blocking: called off the
/// async threads. Bodies go as UTF-8 plain text, base64-encoded.
pub struct Smtp {
    transport: lettre::SmtpTransport,
    from: lettre::message::Mailbox,
}

impl Smtp {
    pub fn new(
        host: &str,
        port: u16,
        security: SmtpSecurity,
        credentials: Option<(String, String)>,
        from: &str,
        timeout: Duration,
    ) -> Result<Self, String> {
        use lettre::transport::smtp::authentication::Credentials;
        let builder = match security {
            SmtpSecurity::StartTls => {
                lettre::SmtpTransport::starttls_relay(host).map_err(|e| e.to_string())?
            }
            SmtpSecurity::Tls => lettre::SmtpTransport::relay(host).map_err(|e| e.to_string())?,
            SmtpSecurity::None => lettre::SmtpTransport::builder_dangerous(host),
        };
        let mut builder = builder.port(port).timeout(Some(timeout));
        if let Some((user, password)) = credentials {
            builder = builder.credentials(Credentials::new(user, password));
        }
        Ok(Self {
            transport: builder.build(),
            from: from
                .parse()
                .map_err(|e| format!("notifications.email_from: {e}"))?,
        })
    }
}

impl Notifier for Smtp {
    fn send(&self, message: &Message) -> Result<(), String> {
        use lettre::Transport as _;
        use lettre::message::SinglePart;
        use lettre::message::header::{ContentTransferEncoding, ContentType};
        let to: lettre::message::Mailbox = message
            .to
            .parse()
            .map_err(|e| format!("bad e-mail address {}: {e}", message.to))?;
        let email = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(message.subject.clone())
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .header(ContentTransferEncoding::Base64)
                    .body(message.body.clone()),
            )
            .map_err(|e| e.to_string())?;
        self.transport
            .send(&email)
            .map(|_| ())
            .map_err(|e| format!("SMTP: {e}"))
    }
}

/// One sender per channel: what notifications and one-time codes both go
/// through.
pub struct Senders {
    pub sms: Arc<dyn Notifier>,
    pub email: Arc<dyn Notifier>,
}

impl Notifier for Senders {
    fn send(&self, message: &Message) -> Result<(), String> {
        match message.channel {
            ContactChannel::Sms => self.sms.send(message),
            ContactChannel::Email => self.email.send(message),
        }
    }
}

/// The senders the settings configure: HTTP SMS gateway and SMTP when set,
/// the development sink (a file when `notifications.sink_path` or
/// `identity.outbox_path` is set, the log otherwise) for what is not.
pub fn senders(settings: &crate::Settings) -> Arc<dyn Notifier> {
    let n = &settings.notifications;
    let sink: Arc<dyn Notifier> = match n
        .sink_path
        .as_ref()
        .or(settings.identity.outbox_path.as_ref())
    {
        Some(path) => Arc::new(FileOutbox::new(path)),
        None => Arc::new(LogSink {
            production: settings.is_production(),
        }),
    };
    let sms: Arc<dyn Notifier> = match n.sms_endpoint.as_deref().filter(|e| !e.trim().is_empty()) {
        Some(endpoint) => Arc::new(HttpSms::new(
            endpoint,
            n.sms_token.as_ref().map(|t| t.expose()),
            Duration::from_millis(n.sms_timeout_ms.max(1)),
        )),
        None => sink.clone(),
    };
    let email: Arc<dyn Notifier> = match n.smtp_host.as_deref().filter(|h| !h.trim().is_empty()) {
        Some(host) => {
            let security = match n.smtp_security.as_str() {
                "tls" => SmtpSecurity::Tls,
                "none" => SmtpSecurity::None,
                _ => SmtpSecurity::StartTls,
            };
            let credentials = n.smtp_username.clone().map(|user| {
                (
                    user,
                    n.smtp_password
                        .as_ref()
                        .map(|p| p.expose().to_owned())
                        .unwrap_or_default(),
                )
            });
            match Smtp::new(
                host,
                n.smtp_port,
                security,
                credentials,
                &n.email_from,
                Duration::from_millis(n.smtp_timeout_ms.max(1)),
            ) {
                Ok(smtp) => Arc::new(smtp),
                Err(error) => {
                    tracing::error!(%error, "SMTP sender not usable; e-mails go to the development sink");
                    sink.clone()
                }
            }
        }
        None => sink.clone(),
    };
    Arc::new(Senders { sms, email })
}
