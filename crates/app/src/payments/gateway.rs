//! The gateway seen from our side: a signed redirect out, a status query, a
//! refund, and (where the gateway offers it) the list of a day's transactions.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use motcua_domain::vnpay::{self, Verdict};
use motcua_persistence::Pool;
use motcua_persistence::repo::payments as repo;

use crate::clock::Clock;
use crate::settings::{GatewayKind, PaymentSettings};

/// What the citizen is sent to pay.
#[derive(Debug, Clone)]
pub struct Checkout {
    pub txn_ref: String,
    pub amount_vnd: i64,
    pub order_info: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub client_ip: String,
    /// `vn` or `en`.
    pub locale: String,
    pub return_url: String,
}

/// What the gateway says of one of our references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayStatus {
    pub txn_ref: String,
    /// `None`: the gateway has no final word yet (pending).
    pub verdict: Option<Verdict>,
    pub amount_vnd: Option<i64>,
    pub txn_no: Option<String>,
    pub bank_code: Option<String>,
    pub paid_at: Option<DateTime<Utc>>,
}

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("the gateway does not know this transaction")]
    NotFound,
    #[error("gateway unreachable or answered badly: {0}")]
    Unavailable(String),
    #[error("gateway response failed verification")]
    BadSignature,
    #[error("store: {0}")]
    Store(#[from] motcua_persistence::StoreError),
}

pub trait Gateway: Send + Sync {
    /// `vnpay` or `sandbox`, as stored on payments.
    fn name(&self) -> &'static str;
    fn tmn_code(&self) -> &str;
    fn secret(&self) -> &str;
    /// The signed URL to send the citizen to.
    fn checkout_url(&self, checkout: &Checkout) -> String;
    /// Asks the gateway about a transaction (blocking).
    fn query(
        &self,
        txn_ref: &str,
        created_at: DateTime<Utc>,
    ) -> Result<GatewayStatus, GatewayError>;
    /// Refunds part or all of a payment (blocking); returns the gateway's reference.
    fn refund(
        &self,
        txn_ref: &str,
        txn_no: Option<&str>,
        created_at: DateTime<Utc>,
        amount_vnd: i64,
        full: bool,
        by: &str,
    ) -> Result<String, GatewayError>;
    /// The gateway's transactions created in `[from, to)`, when it can list them.
    fn transactions(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Option<Vec<GatewayStatus>>, GatewayError>;
}

/// The redirect parameters of VNPay 2.1.0, shared by the real gateway and the sandbox.
pub fn checkout_params(tmn_code: &str, c: &Checkout) -> BTreeMap<String, String> {
    let amount = vnpay::to_gateway_amount(c.amount_vnd).unwrap_or(0);
    [
        ("vnp_Version", vnpay::VERSION.to_owned()),
        ("vnp_Command", "pay".to_owned()),
        ("vnp_TmnCode", tmn_code.to_owned()),
        ("vnp_Amount", amount.to_string()),
        ("vnp_CurrCode", "VND".to_owned()),
        ("vnp_TxnRef", c.txn_ref.clone()),
        ("vnp_OrderInfo", vnpay::order_info(&c.order_info)),
        ("vnp_OrderType", "other".to_owned()),
        ("vnp_Locale", c.locale.clone()),
        ("vnp_ReturnUrl", c.return_url.clone()),
        ("vnp_IpAddr", c.client_ip.clone()),
        ("vnp_CreateDate", vnpay::format_time(c.created_at)),
        ("vnp_ExpireDate", vnpay::format_time(c.expires_at)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// The real VNPay merchant account.
pub struct Vnpay {
    tmn_code: String,
    secret: String,
    pay_url: String,
    api_url: String,
    agent: ureq::Agent,
    clock: Clock,
}

impl Vnpay {
    pub fn new(settings: &PaymentSettings, clock: Clock) -> Self {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(std::time::Duration::from_secs(20)))
            .build();
        Self {
            tmn_code: settings.tmn_code.clone(),
            secret: settings.secret().to_owned(),
            pay_url: settings.pay_url.clone(),
            api_url: settings.api_url.clone(),
            agent: ureq::Agent::new_with_config(config),
            clock,
        }
    }

    fn call(&self, body: &serde_json::Value) -> Result<serde_json::Value, GatewayError> {
        let mut response = self
            .agent
            .post(&self.api_url)
            .send_json(body)
            .map_err(|e| GatewayError::Unavailable(e.to_string()))?;
        response
            .body_mut()
            .read_json::<serde_json::Value>()
            .map_err(|e| GatewayError::Unavailable(e.to_string()))
    }
}

fn field(v: &serde_json::Value, key: &str) -> String {
    match &v[key] {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

impl Gateway for Vnpay {
    fn name(&self) -> &'static str {
        "vnpay"
    }

    fn tmn_code(&self) -> &str {
        &self.tmn_code
    }

    fn secret(&self) -> &str {
        &self.secret
    }

    fn checkout_url(&self, checkout: &Checkout) -> String {
        format!(
            "{}?{}",
            self.pay_url,
            vnpay::signed_query(&checkout_params(&self.tmn_code, checkout), &self.secret)
        )
    }

    /// `querydr`: request and response signed with `|`-joined fields.
    fn query(
        &self,
        txn_ref: &str,
        created_at: DateTime<Utc>,
    ) -> Result<GatewayStatus, GatewayError> {
        let request_id = uuid::Uuid::new_v4().simple().to_string();
        let now = vnpay::format_time(self.clock.now());
        let transaction_date = vnpay::format_time(created_at);
        let info = format!("Truy van giao dich {txn_ref}");
        let ip = "127.0.0.1";
        let hash = vnpay::sign_fields(
            &[
                &request_id,
                vnpay::VERSION,
                "querydr",
                &self.tmn_code,
                txn_ref,
                &transaction_date,
                &now,
                ip,
                &info,
            ],
            &self.secret,
        );
        let body = serde_json::json!({
            "vnp_RequestId": request_id, "vnp_Version": vnpay::VERSION, "vnp_Command": "querydr",
            "vnp_TmnCode": self.tmn_code, "vnp_TxnRef": txn_ref, "vnp_OrderInfo": info,
            "vnp_TransactionDate": transaction_date, "vnp_CreateDate": now, "vnp_IpAddr": ip, "vnp_SecureHash": hash,
        });
        let r = self.call(&body)?;
        let expected = vnpay::sign_fields(
            &[
                &field(&r, "vnp_ResponseId"),
                &field(&r, "vnp_Command"),
                &field(&r, "vnp_ResponseCode"),
                &field(&r, "vnp_Message"),
                &field(&r, "vnp_TmnCode"),
                &field(&r, "vnp_TxnRef"),
                &field(&r, "vnp_Amount"),
                &field(&r, "vnp_BankCode"),
                &field(&r, "vnp_PayDate"),
                &field(&r, "vnp_TransactionNo"),
                &field(&r, "vnp_TransactionType"),
                &field(&r, "vnp_TransactionStatus"),
                &field(&r, "vnp_OrderInfo"),
                &field(&r, "vnp_PromotionCode"),
                &field(&r, "vnp_PromotionAmount"),
            ],
            &self.secret,
        );
        if !field(&r, "vnp_SecureHash").eq_ignore_ascii_case(&expected) {
            return Err(GatewayError::BadSignature);
        }
        match field(&r, "vnp_ResponseCode").as_str() {
            "00" => {}
            "91" => return Err(GatewayError::NotFound),
            other => {
                return Err(GatewayError::Unavailable(format!(
                    "querydr answered {other}"
                )));
            }
        }
        let status = field(&r, "vnp_TransactionStatus");
        // `01`: not completed yet; the citizen may still be paying.
        let verdict = if status == "01" {
            None
        } else {
            Some(vnpay::verdict(
                if status == "00" { "00" } else { &status },
                &status,
            ))
        };
        Ok(GatewayStatus {
            txn_ref: txn_ref.to_owned(),
            verdict,
            amount_vnd: field(&r, "vnp_Amount").parse::<i64>().ok().map(|a| a / 100),
            txn_no: Some(field(&r, "vnp_TransactionNo")).filter(|s| !s.is_empty()),
            bank_code: Some(field(&r, "vnp_BankCode")).filter(|s| !s.is_empty()),
            paid_at: vnpay::parse_time(&field(&r, "vnp_PayDate")),
        })
    }

    fn refund(
        &self,
        txn_ref: &str,
        txn_no: Option<&str>,
        created_at: DateTime<Utc>,
        amount_vnd: i64,
        full: bool,
        by: &str,
    ) -> Result<String, GatewayError> {
        let request_id = uuid::Uuid::new_v4().simple().to_string();
        let now = vnpay::format_time(self.clock.now());
        let transaction_date = vnpay::format_time(created_at);
        let kind = if full { "02" } else { "03" };
        let amount = vnpay::to_gateway_amount(amount_vnd)
            .unwrap_or(0)
            .to_string();
        let info = format!("Hoan tien {txn_ref}");
        let ip = "127.0.0.1";
        let no = txn_no.unwrap_or("");
        let hash = vnpay::sign_fields(
            &[
                &request_id,
                vnpay::VERSION,
                "refund",
                &self.tmn_code,
                kind,
                txn_ref,
                &amount,
                no,
                &transaction_date,
                by,
                &now,
                ip,
                &info,
            ],
            &self.secret,
        );
        let body = serde_json::json!({
            "vnp_RequestId": request_id, "vnp_Version": vnpay::VERSION, "vnp_Command": "refund", "vnp_TmnCode": self.tmn_code,
            "vnp_TransactionType": kind, "vnp_TxnRef": txn_ref, "vnp_Amount": amount, "vnp_TransactionNo": no,
            "vnp_TransactionDate": transaction_date, "vnp_CreateBy": by, "vnp_CreateDate": now, "vnp_IpAddr": ip,
            "vnp_OrderInfo": info, "vnp_SecureHash": hash,
        });
        let r = self.call(&body)?;
        match field(&r, "vnp_ResponseCode").as_str() {
            "00" => Ok(field(&r, "vnp_TransactionNo")),
            other => Err(GatewayError::Unavailable(format!(
                "refund answered {other}"
            ))),
        }
    }

    fn transactions(
        &self,
        _from: DateTime<Utc>,
        _to: DateTime<Utc>,
    ) -> Result<Option<Vec<GatewayStatus>>, GatewayError> {
        // VNPay publishes reconciliation files out of band; each of our payments is queried instead.
        Ok(None)
    }
}

/// The built-in sandbox: its side of each transaction lives in the database,
/// so several server processes share it like a real gateway.
pub struct Sandbox {
    pool: Pool,
    tmn_code: String,
    secret: String,
    pay_url: String,
}

impl Sandbox {
    pub fn new(settings: &PaymentSettings, pool: Pool, public_base_url: &str) -> Self {
        let pay_url = if settings.pay_url.trim().is_empty() {
            format!(
                "{}/sandbox/vnpay/pay",
                public_base_url.trim_end_matches('/')
            )
        } else {
            settings.pay_url.clone()
        };
        Self {
            pool,
            tmn_code: settings.tmn_code.clone(),
            secret: settings.secret().to_owned(),
            pay_url,
        }
    }
}

pub fn sandbox_status(tx: &repo::SandboxTransaction) -> GatewayStatus {
    let verdict = match tx.status.as_str() {
        "paid" => Some(Verdict::Paid),
        "declined" => Some(Verdict::Declined),
        "cancelled" => Some(Verdict::CancelledByUser),
        "held" => Some(Verdict::Held),
        _ => None,
    };
    GatewayStatus {
        txn_ref: tx.txn_ref.clone(),
        verdict,
        amount_vnd: Some(tx.amount / 100),
        txn_no: Some(tx.txn_no.clone()),
        bank_code: Some("NCB".to_owned()),
        paid_at: tx.pay_date.as_deref().and_then(vnpay::parse_time),
    }
}

impl Gateway for Sandbox {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    fn tmn_code(&self) -> &str {
        &self.tmn_code
    }

    fn secret(&self) -> &str {
        &self.secret
    }

    fn checkout_url(&self, checkout: &Checkout) -> String {
        format!(
            "{}?{}",
            self.pay_url,
            vnpay::signed_query(&checkout_params(&self.tmn_code, checkout), &self.secret)
        )
    }

    fn query(
        &self,
        txn_ref: &str,
        _created_at: DateTime<Utc>,
    ) -> Result<GatewayStatus, GatewayError> {
        let mut conn = self
            .pool
            .get()
            .map_err(|e| GatewayError::Unavailable(e.to_string()))?;
        match repo::sandbox_query(&mut conn, txn_ref)? {
            Some(tx) => Ok(sandbox_status(&tx)),
            None => Err(GatewayError::NotFound),
        }
    }

    fn refund(
        &self,
        txn_ref: &str,
        _txn_no: Option<&str>,
        _created_at: DateTime<Utc>,
        amount_vnd: i64,
        _full: bool,
        _by: &str,
    ) -> Result<String, GatewayError> {
        let mut conn = self
            .pool
            .get()
            .map_err(|e| GatewayError::Unavailable(e.to_string()))?;
        let amount = vnpay::to_gateway_amount(amount_vnd).unwrap_or(i64::MAX);
        if repo::sandbox_refund(&mut conn, txn_ref, amount)? {
            Ok(format!("SBR{}", uuid::Uuid::new_v4().simple()))
        } else {
            Err(GatewayError::Unavailable(
                "the sandbox refused the refund".into(),
            ))
        }
    }

    fn transactions(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Option<Vec<GatewayStatus>>, GatewayError> {
        let mut conn = self
            .pool
            .get()
            .map_err(|e| GatewayError::Unavailable(e.to_string()))?;
        Ok(Some(
            repo::sandbox_between(&mut conn, from, to)?
                .iter()
                .map(sandbox_status)
                .collect(),
        ))
    }
}

pub fn build(
    settings: &PaymentSettings,
    pool: Pool,
    public_base_url: &str,
    clock: &Clock,
) -> Arc<dyn Gateway> {
    match settings.gateway {
        GatewayKind::Vnpay => Arc::new(Vnpay::new(settings, clock.clone())),
        GatewayKind::Sandbox => Arc::new(Sandbox::new(settings, pool, public_base_url)),
    }
}
