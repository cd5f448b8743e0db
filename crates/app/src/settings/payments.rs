//! The payment gateway settings.

use serde::Deserialize;

use super::Secret;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum GatewayKind {
    /// The built-in sandbox: development only, refused in production.
    #[default]
    Sandbox,
    Vnpay,
}

/// The payment gateway and the payment jobs.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PaymentSettings {
    pub gateway: GatewayKind,
    /// Merchant code (`vnp_TmnCode`).
    pub tmn_code: String,
    /// Merchant signing secret (`vnp_HashSecret`). The sandbox uses a fixed
    /// development secret when none is set.
    pub hash_secret: Option<Secret>,
    /// Where citizens are sent to pay. Empty: the sandbox's own page.
    pub pay_url: String,
    /// The merchant API (status query, refund).
    pub api_url: String,
    /// Unfinished attempts expire after this long.
    pub expiry_secs: u64,
    /// First status query of a `submitted` payment after this long; then twice as long each time, up to an hour.
    pub requery_after_secs: u64,
    /// How often the payment jobs run in each server process; 0 turns them off.
    pub jobs_interval_secs: u64,
    /// The address the sandbox sends notifications to; `server.public_base_url` when empty.
    pub notify_base_url: String,
}

/// The sandbox's signing secret when none is configured: not a secret, the sandbox is not a bank.
pub const SANDBOX_SECRET: &str = "motcua-sandbox-secret-development-only-0000";

impl Default for PaymentSettings {
    fn default() -> Self {
        Self {
            gateway: GatewayKind::Sandbox,
            tmn_code: "SANDBOX1".into(),
            hash_secret: None,
            pay_url: String::new(),
            api_url: "https://sandbox.vnpayment.vn/merchant_webapi/api/transaction".into(),
            expiry_secs: 15 * 60,
            requery_after_secs: 60,
            jobs_interval_secs: 30,
            notify_base_url: String::new(),
        }
    }
}

impl PaymentSettings {
    pub fn secret(&self) -> &str {
        self.hash_secret
            .as_ref()
            .map_or(SANDBOX_SECRET, Secret::expose)
    }

    /// What the audit log keeps of this configuration: every setting that
    /// decides where money goes and when, never the signing secret itself —
    /// only the first 8 hex digits of its SHA-256, enough to see it rotated.
    pub fn audit_view(&self) -> serde_json::Value {
        use sha2::Digest as _;
        let digest = hex::encode(sha2::Sha256::digest(self.secret().as_bytes()));
        serde_json::json!({
            "gateway": match self.gateway {
                GatewayKind::Sandbox => "sandbox",
                GatewayKind::Vnpay => "vnpay",
            },
            "tmn_code": self.tmn_code,
            "pay_url": self.pay_url,
            "api_url": self.api_url,
            "notify_base_url": self.notify_base_url,
            "expiry_secs": self.expiry_secs,
            "requery_after_secs": self.requery_after_secs,
            "signing_key_fingerprint": digest.get(..8).unwrap_or_default(),
        })
    }
}
