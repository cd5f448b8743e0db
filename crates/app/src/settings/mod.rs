//! Configuration: built-in defaults, then an optional TOML file, then
//! `MOTCUA__SECTION__KEY` environment variables, then `DATABASE_URL` and
//! `LOG_FORMAT`; the binary's command-line flags win over all of them.

use std::fmt;

use serde::Deserialize;

mod outbound;
mod payments;

pub use outbound::{NotificationSettings, PortalSettings, WebhookSettings};
pub use payments::{GatewayKind, PaymentSettings, SANDBOX_SECRET};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Environment {
    #[default]
    Development,
    Production,
}

/// A value that must never be printed: `Debug` shows `***`.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub environment: Environment,
    /// Where uploaded files and the default SQLite database live.
    pub data_dir: String,
    /// Seed demo agencies, accounts and the catalog into an empty database.
    /// Defaults to on in development, off in production.
    pub demo: Option<bool>,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub auth: AuthSettings,
    pub cors: CorsSettings,
    pub log: LogSettings,
    pub calendar: CalendarSettings,
    pub uploads: UploadSettings,
    pub payments: PaymentSettings,
    pub kpi: KpiSettings,
    pub identity: IdentitySettings,
    pub tracking: TrackingSettings,
    pub webhooks: WebhookSettings,
    pub notifications: NotificationSettings,
    pub portal: PortalSettings,
}

/// The public tracking look-up's limit per client address (see `docs/configuration.md`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrackingSettings {
    /// Look-ups allowed per client address within a window; more get 429.
    pub per_window: u32,
    pub window_secs: u64,
    /// How often, at most, a process adds its counts to the shared counters
    /// and learns which addresses other processes have seen too often.
    pub shared_flush_ms: u64,
}

impl Default for TrackingSettings {
    fn default() -> Self {
        Self {
            per_window: 20,
            window_secs: 60,
            shared_flush_ms: 2000,
        }
    }
}

/// Proving a citizen account's identity (see `docs/identity.md`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IdentitySettings {
    /// How long a one-time code stays valid.
    pub otp_ttl_secs: u64,
    /// The least time between two codes sent to one account.
    pub otp_resend_secs: u64,
    /// Development and tests: append outgoing messages (with their codes) to
    /// this JSON-lines file. Unset: messages go to the log (development) or
    /// are refused (production, until a provider is configured).
    pub outbox_path: Option<String>,
}

impl Default for IdentitySettings {
    fn default() -> Self {
        Self {
            otp_ttl_secs: 600,
            otp_resend_secs: 60,
            outbox_path: None,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KpiSettings {
    /// Points and full-points thresholds of the Decision 766 indicators
    /// (docs/kpi.md), e.g. `[kpi.scoring.p1_within_time] points = 20`.
    pub scoring: motcua_domain::kpi::Scoring,
}

/// Working sessions and the cut-off hour, local time (Asia/Ho_Chi_Minh), `HH:MM`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CalendarSettings {
    pub morning_start: String,
    pub morning_end: String,
    pub afternoon_start: String,
    pub afternoon_end: String,
    /// Dossiers received at or after this hour count from the next working day.
    pub cutoff: String,
}

impl Default for CalendarSettings {
    fn default() -> Self {
        Self {
            morning_start: "07:00".into(),
            morning_end: "11:30".into(),
            afternoon_start: "13:30".into(),
            afternoon_end: "17:00".into(),
            cutoff: "15:00".into(),
        }
    }
}

impl CalendarSettings {
    pub fn hours(&self) -> Result<motcua_domain::calendar::WorkingHours, SettingsError> {
        let time = |name: &str, value: &str| {
            chrono::NaiveTime::parse_from_str(value.trim(), "%H:%M").map_err(|_| {
                SettingsError::Invalid(format!("calendar.{name} must be HH:MM (got {value:?})"))
            })
        };
        let hours = motcua_domain::calendar::WorkingHours {
            morning_start: time("morning_start", &self.morning_start)?,
            morning_end: time("morning_end", &self.morning_end)?,
            afternoon_start: time("afternoon_start", &self.afternoon_start)?,
            afternoon_end: time("afternoon_end", &self.afternoon_end)?,
            cutoff: time("cutoff", &self.cutoff)?,
        };
        hours
            .validate()
            .map_err(|e| SettingsError::Invalid(format!("calendar: {e}")))?;
        Ok(hours)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UploadSettings {
    /// Largest file accepted, in bytes.
    pub max_file_bytes: usize,
}

impl Default for UploadSettings {
    fn default() -> Self {
        Self {
            max_file_bytes: 20 * 1024 * 1024,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    pub bind: String,
    /// Worker threads; the number of cores when unset.
    pub workers: Option<usize>,
    /// How long in-flight requests may run after SIGTERM/SIGINT.
    pub shutdown_timeout_secs: u64,
    /// Largest JSON body accepted.
    pub max_json_bytes: usize,
    /// Take the client address from the last `X-Forwarded-For` entry (only
    /// when a proxy of ours, which appends the peer it saw, is the only client).
    pub trust_forwarded_for: bool,
    /// The address citizens and gateways reach this server at, for links we
    /// hand out (payment return, sandbox pages). Empty: `http://` + the bound address.
    pub public_base_url: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: Secret,
    pub pool_size: u32,
    pub connect_timeout_secs: u64,
    /// SQLite: how long a write waits for another connection's lock before
    /// the request answers 503 `database_busy` with `Retry-After`.
    pub busy_timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    /// HMAC key for access tokens, at least 32 bytes. Required in production;
    /// generated at start (with a warning) in development.
    pub jwt_secret: Option<Secret>,
    pub issuer: String,
    pub access_ttl_secs: u64,
    pub refresh_ttl_secs: u64,
    /// Failed logins allowed per account from one client address within the
    /// window before that address gets 429. Failures of an account from all
    /// addresses past this number only space its attempts out (see
    /// `attack_spacing_secs`); the owner is never locked out.
    pub max_failures_per_account: i32,
    /// Failed logins allowed per client address within the window before 429.
    pub max_failures_per_address: i32,
    pub failure_window_secs: u64,
    /// An account under attack from many addresses gets one login attempt per this many seconds.
    pub attack_spacing_secs: u64,
    /// How long a process trusts what it last read of an account (role,
    /// agency, lock, token version) before reading it again. Another
    /// process's lock or role change takes effect within this long.
    pub account_cache_ms: u64,
    /// Passwords hashed or verified at once (each argon2id run holds its
    /// memory cost, 19 MiB); the number of cores when unset.
    pub hash_concurrency: Option<usize>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CorsSettings {
    /// Exact origins allowed to call the API from a browser. When unset:
    /// none in production, common localhost origins in development.
    pub allowed_origins: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    #[default]
    Human,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSettings {
    pub format: LogFormat,
    /// `tracing` filter directives, e.g. `info` or `motcua_http=debug,info`.
    pub level: String,
    /// One successful read (GET or HEAD below 400) in this many gets its
    /// `request finished` line; every answer of 400 or more and every write
    /// keep theirs. 1: every request.
    pub sample_reads: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            environment: Environment::Development,
            data_dir: "data".into(),
            demo: None,
            server: ServerSettings::default(),
            database: DatabaseSettings::default(),
            auth: AuthSettings::default(),
            cors: CorsSettings::default(),
            log: LogSettings::default(),
            calendar: CalendarSettings::default(),
            uploads: UploadSettings::default(),
            payments: PaymentSettings::default(),
            kpi: KpiSettings::default(),
            identity: IdentitySettings::default(),
            tracking: TrackingSettings::default(),
            webhooks: WebhookSettings::default(),
            notifications: NotificationSettings::default(),
            portal: PortalSettings::default(),
        }
    }
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            workers: None,
            shutdown_timeout_secs: 30,
            max_json_bytes: 1024 * 1024,
            trust_forwarded_for: false,
            public_base_url: String::new(),
        }
    }
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: Secret::new("sqlite://data/motcua.db"),
            pool_size: 10,
            connect_timeout_secs: 5,
            busy_timeout_ms: 10_000,
        }
    }
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            jwt_secret: None,
            issuer: "motcua".into(),
            access_ttl_secs: 15 * 60,
            refresh_ttl_secs: 30 * 24 * 3600,
            max_failures_per_account: 5,
            max_failures_per_address: 30,
            failure_window_secs: 15 * 60,
            attack_spacing_secs: 2,
            account_cache_ms: 1000,
            hash_concurrency: None,
        }
    }
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            format: LogFormat::Human,
            level: "info".into(),
            sample_reads: 1,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("configuration: {0}")]
    Load(#[from] config::ConfigError),
    #[error("configuration: {0}")]
    Invalid(String),
}

pub const DEV_ORIGINS: [&str; 6] = [
    "http://localhost:3000",
    "http://127.0.0.1:3000",
    "http://localhost:5173",
    "http://127.0.0.1:5173",
    "http://localhost:8080",
    "http://127.0.0.1:8080",
];

/// A production JWT key must use at least this many different byte values:
/// 32 spaces, or `abab…`, are not keys. Random base64 of 32 characters has
/// 17 or more, random hex of 32 characters 10 or more in all but 1 in 10,000.
pub const MIN_SECRET_DISTINCT_BYTES: usize = 10;

fn distinct_bytes(text: &str) -> usize {
    let mut seen = [false; 256];
    for b in text.bytes() {
        seen[usize::from(b)] = true;
    }
    seen.iter().filter(|s| **s).count()
}

impl Settings {
    /// Loads from `file` (must exist when given; `motcua.toml` is read if present
    /// otherwise), then the environment.
    pub fn load(file: Option<&str>) -> Result<Self, SettingsError> {
        let mut builder = config::Config::builder();
        match file {
            Some(path) => {
                builder = builder.add_source(config::File::with_name(path).required(true))
            }
            None => builder = builder.add_source(config::File::with_name("motcua").required(false)),
        }
        builder = builder.add_source(
            config::Environment::with_prefix("MOTCUA")
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true)
                .list_separator(",")
                .with_list_parse_key("cors.allowed_origins"),
        );
        if let Ok(url) = std::env::var("DATABASE_URL")
            && !url.trim().is_empty()
        {
            builder = builder.set_override("database.url", url)?;
        }
        if let Ok(format) = std::env::var("LOG_FORMAT") {
            builder = builder.set_override("log.format", format.to_lowercase())?;
        }
        let settings: Settings = builder.build()?.try_deserialize()?;
        Ok(settings)
    }

    /// Counts and durations that must not be zero.
    fn check_positive(&self) -> Result<(), SettingsError> {
        if self.tracking.per_window == 0 || self.tracking.window_secs == 0 {
            return Err(SettingsError::Invalid(
                "tracking.per_window and tracking.window_secs must be positive".into(),
            ));
        }
        if self.log.sample_reads == 0 {
            return Err(SettingsError::Invalid(
                "log.sample_reads must be positive (1: log every request)".into(),
            ));
        }
        if self.auth.hash_concurrency == Some(0) {
            return Err(SettingsError::Invalid(
                "auth.hash_concurrency must be positive".into(),
            ));
        }
        if self.auth.access_ttl_secs == 0 || self.auth.refresh_ttl_secs == 0 {
            return Err(SettingsError::Invalid(
                "token lifetimes must be positive".into(),
            ));
        }
        Ok(())
    }

    /// Rules that depend on several values; run before serving.
    pub fn check(&self) -> Result<(), SettingsError> {
        if let Some(secret) = &self.auth.jwt_secret {
            if secret.expose().len() < 32 {
                return Err(SettingsError::Invalid(
                    "auth.jwt_secret must be at least 32 bytes".into(),
                ));
            }
            let lower = secret.expose().to_ascii_lowercase();
            if self.is_production() && (lower.contains("change-me") || lower.contains("dev-only")) {
                return Err(SettingsError::Invalid(
                    "auth.jwt_secret is a published development placeholder; \
                     generate one with `openssl rand -base64 48`"
                        .into(),
                ));
            }
            let distinct = distinct_bytes(secret.expose());
            if self.is_production() && distinct < MIN_SECRET_DISTINCT_BYTES {
                return Err(SettingsError::Invalid(format!(
                    "auth.jwt_secret is too predictable: it has {distinct} distinct characters, \
                     at least {MIN_SECRET_DISTINCT_BYTES} are required in production; \
                     generate one with `openssl rand -base64 48`"
                )));
            }
        } else if self.environment == Environment::Production {
            return Err(SettingsError::Invalid(
                "auth.jwt_secret is required in production (MOTCUA__AUTH__JWT_SECRET)".into(),
            ));
        }
        self.check_positive()?;
        motcua_persistence::DatabaseUrl::parse(self.database.url.expose())
            .map_err(|e| SettingsError::Invalid(e.to_string()))?;
        self.calendar.hours()?;
        if self.is_production() && !self.server.public_base_url.starts_with("https://") {
            return Err(SettingsError::Invalid(
                "server.public_base_url must be the public https:// address in production".into(),
            ));
        }
        if self.is_production() && self.identity.outbox_path.is_some() {
            return Err(SettingsError::Invalid(
                "identity.outbox_path writes one-time codes to a file: development only (docs/identity.md)".into(),
            ));
        }
        if self.identity.otp_ttl_secs == 0 {
            return Err(SettingsError::Invalid(
                "identity.otp_ttl_secs must be positive".into(),
            ));
        }
        let pay = &self.payments;
        if self.is_production() && pay.gateway == GatewayKind::Sandbox {
            return Err(SettingsError::Invalid(
                "payments.gateway = \"sandbox\" is refused in production: configure the merchant account (docs/payments.md)".into(),
            ));
        }
        let incomplete = pay.tmn_code.trim().is_empty()
            || pay.hash_secret.is_none()
            || pay.pay_url.trim().is_empty();
        if pay.gateway == GatewayKind::Vnpay && incomplete {
            return Err(SettingsError::Invalid(
                "payments.gateway = \"vnpay\" needs payments.tmn_code, payments.hash_secret and payments.pay_url".into(),
            ));
        }
        if pay.expiry_secs < 60 {
            return Err(SettingsError::Invalid(
                "payments.expiry_secs must be at least 60".into(),
            ));
        }
        self.kpi
            .scoring
            .check()
            .map_err(|e| SettingsError::Invalid(format!("kpi.scoring: {e}")))?;
        if self.webhooks.timeout_ms == 0 {
            return Err(SettingsError::Invalid(
                "webhooks.timeout_ms must be positive".into(),
            ));
        }
        self.notifications.check()?;
        if self.is_production() && self.notifications.sink_path.is_some() {
            return Err(SettingsError::Invalid(
                "notifications.sink_path writes messages (and one-time codes) to a file: development only (docs/notifications.md)".into(),
            ));
        }
        if self.uploads.max_file_bytes == 0 {
            return Err(SettingsError::Invalid(
                "uploads.max_file_bytes must be positive".into(),
            ));
        }
        Ok(())
    }

    /// Whether webhooks may target non-public addresses (see [`WebhookSettings`]).
    pub fn allow_private_webhook_targets(&self) -> bool {
        self.webhooks
            .allow_private_targets
            .unwrap_or(!self.is_production())
    }

    pub fn demo_enabled(&self) -> bool {
        self.demo.unwrap_or(!self.is_production())
    }

    pub fn is_production(&self) -> bool {
        self.environment == Environment::Production
    }

    pub fn allowed_origins(&self) -> Vec<String> {
        match &self.cors.allowed_origins {
            Some(list) => list
                .iter()
                .map(|o| o.trim().trim_end_matches('/').to_owned())
                .filter(|o| !o.is_empty())
                .collect(),
            None if self.is_production() => Vec::new(),
            None => DEV_ORIGINS.iter().map(|s| (*s).to_owned()).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from_toml(text: &str) -> Result<Settings, SettingsError> {
        Ok(config::Config::builder()
            .add_source(config::File::from_str(text, config::FileFormat::Toml))
            .build()?
            .try_deserialize()?)
    }

    /// `log.sample_reads`: the value read, and whether the settings pass
    /// `check` (`None`: refused while parsing).
    #[test]
    fn log_sample_reads_is_parsed_and_checked() {
        let cases: [(&str, Option<(u32, bool)>); 7] = [
            ("", Some((1, true))),
            ("[log]\nsample_reads = 1", Some((1, true))),
            ("[log]\nsample_reads = 10", Some((10, true))),
            ("[log]\nsample_reads = \"25\"", Some((25, true))),
            ("[log]\nsample_reads = 0", Some((0, false))),
            ("[log]\nsample_reads = -3", None),
            ("[log]\nsample_reads = \"often\"", None),
        ];
        for (text, want) in cases {
            let got = from_toml(text)
                .ok()
                .map(|s| (s.log.sample_reads, s.check().is_ok()));
            assert_eq!(got, want, "{text:?}");
        }
    }
}
