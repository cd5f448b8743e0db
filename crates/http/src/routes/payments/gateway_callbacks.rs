//! What the gateway calls (the IPN) and where the citizen's browser comes
//! back to.

use actix_web::http::header::CONTENT_SECURITY_POLICY;
use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::Duration;
use motcua_domain::payment::PaymentStatus;
use motcua_persistence::repo::payments::{self as repo};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiResult;
use crate::state::AppState;

/// VNPay's notification (IPN). Authenticated by its signature alone; always
/// answers 200 with `{"RspCode", "Message"}`: 97 bad signature, 01 unknown
/// order, 04 amount mismatch, 02 already confirmed, 00 accepted, 99 error.
#[utoipa::path(operation_id = "vnpay_ipn", tag = "payments", responses((status = 200, description = "Always 200: the outcome is in `RspCode`", body = IpnReply)))]
#[get("/payments/gateways/vnpay/ipn")]
pub async fn ipn(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let raw = req.query_string().to_owned();
    let gateway = state.gateway.clone();
    let requery =
        Duration::seconds(i64::try_from(state.settings.payments.requery_after_secs).unwrap_or(60));
    let now = state.clock.now();
    let reply = state
        .db(move |conn| {
            Ok(motcua_app::payments::notify::handle(
                conn,
                gateway.as_ref(),
                &raw,
                requery,
                now,
            ))
        })
        .await
        .unwrap_or(motcua_domain::vnpay::Reply::Unexpected);
    HttpResponse::Ok().json(IpnReply {
        rsp_code: reply.code(),
        message: reply.message(),
    })
}

/// The answer VNPay expects to an IPN call.
#[derive(Debug, Serialize, ToSchema)]
pub struct IpnReply {
    /// `00` accepted, `02` already confirmed, `01` unknown order, `04` amount
    /// mismatch, `97` bad signature, `99` error.
    #[serde(rename = "RspCode")]
    #[schema(example = "00")]
    pub rsp_code: &'static str,
    #[serde(rename = "Message")]
    #[schema(example = "Confirm Success")]
    pub message: &'static str,
}

/// Where the citizen's browser comes back from the gateway. It shows the
/// payment as we hold it; it never settles anything.
#[utoipa::path(operation_id = "vnpay_return", tag = "payments", responses((status = 200, description = "A page showing the payment's status", body = String, content_type = "text/html")))]
#[get("/payments/gateways/vnpay/return")]
pub async fn return_page(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    let params = motcua_app::payments::notify::parse(req.query_string());
    let authentic = motcua_domain::vnpay::verify(&params, state.gateway.secret());
    let txn_ref = params.get("vnp_TxnRef").cloned().unwrap_or_default();
    let payment = if authentic {
        state
            .db(move |conn| Ok(repo::by_txn_ref(conn, &txn_ref)?))
            .await?
    } else {
        None
    };
    let e = |s: &str| html_escape::encode_text(s).into_owned();
    let message = match &payment {
        None => {
            "Không xác thực được kết quả thanh toán. Vui lòng kiểm tra lại trong hồ sơ của bạn."
                .to_owned()
        }
        Some(p) => match p.status {
            PaymentStatus::Success => format!(
                "Đã thanh toán thành công {} đồng cho hồ sơ {}.",
                p.amount_vnd,
                e(&p.dossier_code)
            ),
            PaymentStatus::Failed | PaymentStatus::Cancelled | PaymentStatus::Error => {
                format!(
                    "Thanh toán cho hồ sơ {} không thành công.",
                    e(&p.dossier_code)
                )
            }
            _ => format!(
                "Đang chờ cổng thanh toán xác nhận kết quả cho hồ sơ {}. Vui lòng tải lại sau ít phút.",
                e(&p.dossier_code)
            ),
        },
    };
    let status = payment.as_ref().map_or("unknown", |p| p.status.as_str());
    let body = format!(
        r#"<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>Kết quả thanh toán</title></head>
<body><h1>Kết quả thanh toán</h1><p data-status="{status}">{message}</p></body></html>"#
    );
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((CONTENT_SECURITY_POLICY, "default-src 'none'"))
        .body(body))
}
