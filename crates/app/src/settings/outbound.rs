//! The settings of what the server sends out: webhooks and citizen notifications.

use serde::Deserialize;

use super::{Secret, SettingsError};

/// Webhook deliveries (see `docs/events.md`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookSettings {
    /// How often each server process fans events out and sends what is due; 0 turns it off.
    pub interval_ms: u64,
    /// How long one delivery may take, connecting included.
    pub timeout_ms: u64,
    /// Deliver to loopback, private and reserved addresses (a receiver inside
    /// the province's network). Defaults to off in production, on in development.
    pub allow_private_targets: Option<bool>,
    /// How long a rotated-out secret keeps signing next to the new one.
    pub rotation_overlap_secs: u64,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            interval_ms: 2000,
            timeout_ms: 10_000,
            allow_private_targets: None,
            rotation_overlap_secs: 24 * 3600,
        }
    }
}

/// Citizen notifications and the senders one-time codes share (see
/// `docs/notifications.md`). An SMS goes to `sms_endpoint` when set, an
/// e-mail to `smtp_host` when set; otherwise to the development sink (the
/// log, and `sink_path` when set).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotificationSettings {
    /// How often each server process turns new events into messages and
    /// sends what is due; 0 turns it off.
    pub interval_ms: u64,
    /// Attempts per message before it is marked failed.
    pub max_attempts: u32,
    /// The wait after the first failed attempt; doubled after each next one.
    pub retry_base_ms: u64,
    /// Development: append every message as a JSON line to this file.
    pub sink_path: Option<String>,
    /// HTTP SMS gateway: `POST {"to", "message", "reference"}` as JSON here.
    pub sms_endpoint: Option<String>,
    /// Sent as `Authorization: Bearer …` to the SMS gateway.
    pub sms_token: Option<Secret>,
    pub sms_timeout_ms: u64,
    /// SMTP relay for e-mail.
    pub smtp_host: Option<String>,
    pub smtp_port: u16,
    /// `starttls` (default), `tls` (implicit, port 465) or `none` (a relay on
    /// the local network or a test server only).
    pub smtp_security: String,
    pub smtp_username: Option<String>,
    pub smtp_password: Option<Secret>,
    pub smtp_timeout_ms: u64,
    /// The sender of e-mails, `Name <address>`.
    pub email_from: String,
}

impl Default for NotificationSettings {
    fn default() -> Self {
        Self {
            interval_ms: 2000,
            max_attempts: 8,
            retry_base_ms: 30_000,
            sink_path: None,
            sms_endpoint: None,
            sms_token: None,
            sms_timeout_ms: 10_000,
            smtp_host: None,
            smtp_port: 587,
            smtp_security: "starttls".into(),
            smtp_username: None,
            smtp_password: None,
            smtp_timeout_ms: 15_000,
            email_from: "Bộ phận Một cửa <no-reply@motcua.invalid>".into(),
        }
    }
}

impl NotificationSettings {
    /// Rules between the notification values; part of [`Settings::check`].
    pub fn check(&self) -> Result<(), SettingsError> {
        let invalid = |m: &str| Err(SettingsError::Invalid(format!("notifications.{m}")));
        if self.max_attempts == 0 {
            return invalid("max_attempts must be positive");
        }
        if !matches!(self.smtp_security.as_str(), "starttls" | "tls" | "none") {
            return invalid("smtp_security must be starttls, tls or none");
        }
        if self.sms_timeout_ms == 0 || self.smtp_timeout_ms == 0 {
            return invalid("sms_timeout_ms and smtp_timeout_ms must be positive");
        }
        if let Some(endpoint) = &self.sms_endpoint
            && !(endpoint.starts_with("https://") || endpoint.starts_with("http://"))
        {
            return invalid("sms_endpoint must be an http(s) URL");
        }
        Ok(())
    }
}

/// National Public Service Portal synchronisation (see `docs/portal.md`),
/// `MOTCUA__PORTAL__URL`, `MOTCUA__PORTAL__TOKEN`. Without a URL: off in
/// production; in development the binary's own sandbox portal.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PortalSettings {
    /// The portal's dossier-sync endpoint base: messages go to `{url}/dossiers`.
    /// In development the binary's own sandbox, `{public_base_url}/sandbox/portal`.
    pub url: Option<String>,
    /// Sent as `Authorization: Bearer …`.
    pub token: Option<Secret>,
    /// How often each server process pushes what changed; 0 turns it off.
    pub interval_ms: u64,
    /// How long one push may take, connecting included.
    pub timeout_ms: u64,
}

impl Default for PortalSettings {
    fn default() -> Self {
        Self {
            url: None,
            token: None,
            interval_ms: 5000,
            timeout_ms: 10_000,
        }
    }
}
