//! The built-in sandbox gateway for development and tests. It plays VNPay's
//! part: a page where a person pays, declines or cancels, then a correctly
//! signed notification to our endpoint and a redirect back. Tests drive it by
//! API, including duplicate, out-of-order and missing notifications. Never
//! mounted in production.

use std::collections::BTreeMap;

use actix_web::http::header::{CONTENT_SECURITY_POLICY, LOCATION};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use motcua_domain::vnpay;
use motcua_persistence::repo::payments as repo;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::Json;
use crate::state::AppState;

const PAGE_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'";

fn return_url(state: &AppState) -> String {
    format!(
        "{}/api/v1/payments/gateways/vnpay/return",
        state.settings.server.public_base_url.trim_end_matches('/')
    )
}

fn notify_base(state: &AppState) -> String {
    let p = &state.settings.payments;
    let base = if p.notify_base_url.trim().is_empty() {
        &state.settings.server.public_base_url
    } else {
        &p.notify_base_url
    };
    base.trim_end_matches('/').to_owned()
}

/// The page a citizen lands on from `next_url`.
#[utoipa::path(operation_id = "sandbox_payment_page", 
    tag = "sandbox",
    params(("vnp_TxnRef" = String, Query), ("vnp_SecureHash" = String, Query)),
    responses((status = 200, description = "The sandbox payment page", body = String, content_type = "text/html"), (status = 400, body = crate::error::ProblemBody))
)]
#[get("/sandbox/vnpay/pay")]
pub async fn page(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    let now = state.clock.now();
    let params = motcua_app::payments::notify::parse(req.query_string());
    let gateway = state.gateway.clone();
    if !vnpay::verify(&params, gateway.secret())
        || params.get("vnp_TmnCode").map(String::as_str) != Some(gateway.tmn_code())
    {
        return Err(ApiError::new(ErrorCode::BadRequest)
            .detail("Chữ ký không hợp lệ.", "Invalid signature."));
    }
    let get = |k: &str| params.get(k).cloned().unwrap_or_default();
    let txn_ref = get("vnp_TxnRef");
    let amount: i64 = get("vnp_Amount")
        .parse()
        .map_err(|_| ApiError::new(ErrorCode::BadRequest))?;
    let expired = vnpay::parse_time(&get("vnp_ExpireDate")).is_some_and(|e| e < now);
    let txn_no = format!(
        "{}",
        10_000_000 + (uuid::Uuid::new_v4().as_u128() % 89_999_999)
    );
    let (r, no) = (txn_ref.clone(), txn_no);
    let tx = state
        .db(move |conn| Ok(repo::sandbox_open(conn, &r, &no, amount, now)?))
        .await?;
    let e = |s: &str| html_escape::encode_text(s).into_owned();
    let buttons = if expired || tx.status != "pending" {
        format!(
            "<p><strong>Giao dịch không còn chờ thanh toán ({}).</strong></p>",
            e(if expired { "hết hạn" } else { &tx.status })
        )
    } else {
        ["pay", "decline", "cancel"]
            .iter()
            .zip(["Thanh toán", "Ngân hàng từ chối", "Hủy giao dịch"])
            .map(|(outcome, label)| {
                format!(
                    r#"<form method="post" action="/sandbox/vnpay/pay"><input type="hidden" name="txn_ref" value="{}"><input type="hidden" name="outcome" value="{outcome}"><input type="hidden" name="return_url" value="{}"><button type="submit">{label}</button></form>"#,
                    e(&txn_ref),
                    e(&get("vnp_ReturnUrl"))
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let body = format!(
        r#"<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>Cổng thanh toán thử nghiệm</title>
<style>body{{font-family:sans-serif;max-width:520px;margin:3em auto}}form{{display:inline-block;margin:0 .5em .5em 0}}button{{padding:.6em 1.2em}}.demo{{color:#a00}}</style></head>
<body><h1>Cổng thanh toán thử nghiệm</h1><p class="demo">Môi trường thử nghiệm: không có tiền thật.</p>
<p>Đơn vị: {tmn}<br>Nội dung: {info}<br>Số tiền: <strong>{amount}</strong><br>Mã giao dịch: {txn}</p>
{buttons}</body></html>"#,
        tmn = e(&get("vnp_TmnCode")),
        info = e(&get("vnp_OrderInfo")),
        amount = motcua_domain::payment::format_vnd(amount / 100),
        txn = e(&txn_ref),
    );
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((CONTENT_SECURITY_POLICY, PAGE_POLICY))
        .body(body))
}

/// What the sandbox payer chooses (published as `SandboxOutcome`: the name
/// `Outcome` belongs to a dossier's timeliness).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SandboxOutcome {
    Pay,
    Decline,
    Cancel,
    /// Held as suspected fraud (code 07): the payment stays pending.
    Hold,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum Notify {
    #[default]
    Once,
    /// The same notification twice.
    Twice,
    /// No notification: only a status query will tell.
    Never,
    /// The notification, then a contradicting older one.
    OutOfOrder,
}

/// The page's form: which transaction, and the button pressed.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PageForm {
    txn_ref: String,
    outcome: SandboxOutcome,
    #[serde(default)]
    return_url: String,
}

/// The buttons of the page: settle, notify once, send the browser back.
#[utoipa::path(operation_id = "sandbox_choose_outcome", tag = "sandbox", request_body(content = PageForm, content_type = "application/x-www-form-urlencoded"), responses((status = 303, description = "Back to the return URL"), (status = 404, description = "No such sandbox transaction", body = crate::error::ProblemBody)))]
#[post("/sandbox/vnpay/pay")]
pub async fn choose(
    state: web::Data<AppState>,
    form: web::Form<PageForm>,
) -> ApiResult<HttpResponse> {
    let form = form.into_inner();
    let report = complete(&state, &form.txn_ref, form.outcome, Notify::Once).await?;
    let target = if form.return_url.is_empty() {
        return_url(&state)
    } else {
        form.return_url
    };
    Ok(HttpResponse::SeeOther()
        .insert_header((LOCATION, format!("{target}?{}", report.signed_query)))
        .finish())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteRequest {
    pub outcome: SandboxOutcome,
    #[serde(default)]
    pub notify: Notify,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationSent {
    /// Our endpoint's answer, e.g. `{"RspCode":"00","Message":"Confirm Success"}`.
    #[schema(value_type = Object)]
    pub reply: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CompleteReport {
    pub txn_ref: String,
    pub txn_no: String,
    pub status: String,
    pub notifications: Vec<NotificationSent>,
    /// The signed notification (to replay in tests).
    pub notification_url: String,
    /// Where the browser would be sent back.
    pub return_url: String,
    #[serde(skip)]
    pub signed_query: String,
}

/// Drives a transaction as a test would: the outcome, and how the notification arrives.
#[utoipa::path(operation_id = "sandbox_complete_transaction", 
    tag = "sandbox",
    params(("txn_ref" = String, Path)),
    request_body = CompleteRequest,
    responses((status = 200, body = CompleteReport), (status = 404, body = crate::error::ProblemBody), (status = 409, body = crate::error::ProblemBody))
)]
#[post("/sandbox/vnpay/transactions/{txn_ref}/complete")]
pub async fn complete_by_api(
    state: web::Data<AppState>,
    txn_ref: web::Path<String>,
    body: Json<CompleteRequest>,
) -> ApiResult<HttpResponse> {
    let report = complete(&state, &txn_ref.into_inner(), body.0.outcome, body.0.notify).await?;
    Ok(HttpResponse::Ok().json(report))
}

fn notification(
    state: &AppState,
    tx: &repo::SandboxTransaction,
    response_code: &str,
    status: &str,
    pay_date: &str,
) -> BTreeMap<String, String> {
    let gateway = &state.gateway;
    [
        ("vnp_Amount", tx.amount.to_string()),
        ("vnp_BankCode", "NCB".to_owned()),
        ("vnp_BankTranNo", format!("VNP{}", tx.txn_no)),
        ("vnp_CardType", "ATM".to_owned()),
        ("vnp_OrderInfo", format!("Thanh toan {}", tx.txn_ref)),
        ("vnp_PayDate", pay_date.to_owned()),
        ("vnp_ResponseCode", response_code.to_owned()),
        ("vnp_TmnCode", gateway.tmn_code().to_owned()),
        ("vnp_TransactionNo", tx.txn_no.clone()),
        ("vnp_TransactionStatus", status.to_owned()),
        ("vnp_TxnRef", tx.txn_ref.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

async fn send(url: String) -> ApiResult<serde_json::Value> {
    AppState::cpu(move || -> Result<serde_json::Value, String> {
        let mut response = ureq::get(&url).call().map_err(|e| e.to_string())?;
        response
            .body_mut()
            .read_json::<serde_json::Value>()
            .map_err(|e| e.to_string())
    })
    .await?
    .map_err(|e| ApiError::internal("sandbox notification", e))
}

async fn complete(
    state: &AppState,
    txn_ref: &str,
    outcome: SandboxOutcome,
    notify: Notify,
) -> ApiResult<CompleteReport> {
    let now = state.clock.now();
    let r = txn_ref.to_owned();
    let tx = state
        .db(move |conn| repo::sandbox_get(conn, &r)?.ok_or_else(ApiError::not_found))
        .await?;
    if tx.status != "pending" {
        return Err(ApiError::new(ErrorCode::Conflict)
            .detail("Giao dịch đã kết thúc.", "The transaction is over."));
    }
    let (status, response_code, txn_status) = match outcome {
        SandboxOutcome::Pay => ("paid", "00", "00"),
        SandboxOutcome::Decline => ("declined", "51", "02"),
        SandboxOutcome::Cancel => ("cancelled", "24", "02"),
        SandboxOutcome::Hold => ("held", "07", "07"),
    };
    let pay_date = vnpay::format_time(now);
    let (r, d) = (tx.txn_ref.clone(), pay_date.clone());
    state
        .db(move |conn| {
            Ok(repo::sandbox_settle(
                conn,
                &r,
                status,
                response_code,
                &d,
                now,
            )?)
        })
        .await?;
    let secret = state.gateway.secret().to_owned();
    let params = notification(state, &tx, response_code, txn_status, &pay_date);
    let signed_query = vnpay::signed_query(&params, &secret);
    let notification_url = format!(
        "{}/api/v1/payments/gateways/vnpay/ipn?{signed_query}",
        notify_base(state)
    );
    let mut notifications = Vec::new();
    let sends = match notify {
        Notify::Once => vec![notification_url.clone()],
        Notify::Twice => vec![notification_url.clone(), notification_url.clone()],
        Notify::Never => Vec::new(),
        Notify::OutOfOrder => {
            // An older, contradicting notification arriving after the real one.
            let (code, st) = if outcome == SandboxOutcome::Pay {
                ("51", "02")
            } else {
                ("00", "00")
            };
            let stale =
                vnpay::signed_query(&notification(state, &tx, code, st, &pay_date), &secret);
            vec![
                notification_url.clone(),
                format!(
                    "{}/api/v1/payments/gateways/vnpay/ipn?{stale}",
                    notify_base(state)
                ),
            ]
        }
    };
    for url in sends {
        notifications.push(NotificationSent {
            reply: send(url).await?,
        });
    }
    Ok(CompleteReport {
        txn_ref: tx.txn_ref,
        txn_no: tx.txn_no,
        status: status.to_owned(),
        notifications,
        notification_url,
        return_url: format!("{}?{signed_query}", return_url(state)),
        signed_query,
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SandboxView {
    pub txn_ref: String,
    pub txn_no: String,
    pub amount_vnd: i64,
    pub status: String,
    pub refunded_vnd: i64,
    /// Status queries received from the server's jobs.
    pub queries: i32,
}

/// The sandbox's side of a transaction.
#[utoipa::path(operation_id = "sandbox_get_transaction", tag = "sandbox", params(("txn_ref" = String, Path)), responses((status = 200, body = SandboxView), (status = 404, body = crate::error::ProblemBody)))]
#[get("/sandbox/vnpay/transactions/{txn_ref}")]
pub async fn transaction(
    state: web::Data<AppState>,
    txn_ref: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let r = txn_ref.into_inner();
    let tx = state
        .db(move |conn| repo::sandbox_get(conn, &r)?.ok_or_else(ApiError::not_found))
        .await?;
    Ok(HttpResponse::Ok().json(SandboxView {
        txn_ref: tx.txn_ref,
        txn_no: tx.txn_no,
        amount_vnd: tx.amount / 100,
        status: tx.status,
        refunded_vnd: tx.refunded / 100,
        queries: tx.queries,
    }))
}
