//! One error type for every handler, rendered as RFC 9457 problem+json with a
//! stable snake_case `code`. Titles follow the caller's language; codes never do.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use motcua_domain::validation::{FieldError, Problem};
use motcua_persistence::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

use crate::i18n::{Lang, Localized, field_message};

macro_rules! error_codes {
    ($($variant:ident => ($code:literal, $status:literal, $vi:literal, $en:literal)),+ $(,)?) => {
        /// Machine-readable error codes. Stable: clients branch on them.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ErrorCode { $($variant),+ }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code),+ }
            }

            pub fn status(self) -> StatusCode {
                match self { $(ErrorCode::$variant => StatusCode::from_u16($status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)),+ }
            }

            pub fn title(self, lang: Lang) -> &'static str {
                match self { $(ErrorCode::$variant => lang.pick($vi, $en)),+ }
            }
        }

        /// Published from the table itself, so the document lists every code.
        impl utoipa::PartialSchema for ErrorCode {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                let table = [$(format!("| `{}` | {} | {} |", $code, $status, $en)),+].join("\n");
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .description(Some(format!(
                        "Stable machine-readable error code; clients branch on it.\n\n| code | status | meaning |\n| --- | --- | --- |\n{table}"
                    )))
                    .enum_values(Some([$($code),+]))
                    .into()
            }
        }

        impl utoipa::ToSchema for ErrorCode {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed("ErrorCode")
            }
        }
    };
}

error_codes! {
    BadRequest => ("bad_request", 400, "Yêu cầu không hợp lệ", "Bad request"),
    MalformedJson => ("malformed_json", 400, "Nội dung JSON không đọc được", "Malformed JSON body"),
    InvalidQuery => ("invalid_query", 400, "Tham số truy vấn không hợp lệ", "Invalid query parameters"),
    InvalidCharacter => ("invalid_character", 400, "Dữ liệu chứa ký tự không được phép (NUL)", "The request contains a character that is not allowed (NUL)"),
    InvalidHeader => ("invalid_header", 400, "Tiêu đề yêu cầu không hợp lệ", "Invalid request header"),
    ValidationFailed => ("validation_failed", 422, "Dữ liệu không hợp lệ", "Validation failed"),
    Unauthenticated => ("unauthenticated", 401, "Cần đăng nhập", "Authentication required"),
    InvalidToken => ("invalid_token", 401, "Mã truy cập không hợp lệ hoặc đã hết hạn", "Invalid or expired access token"),
    InvalidCredentials => ("invalid_credentials", 401, "Tên đăng nhập hoặc mật khẩu không đúng", "Wrong username or password"),
    InvalidRefreshToken => ("invalid_refresh_token", 401, "Phiên đăng nhập không còn hiệu lực", "The refresh token is not valid"),
    RefreshTokenReused => ("refresh_token_reused", 401, "Phiên đăng nhập đã bị thu hồi do dùng lại mã làm mới", "Refresh token reused: the session was revoked"),
    Forbidden => ("forbidden", 403, "Không có quyền thực hiện", "Not allowed"),
    AccountDisabled => ("account_disabled", 403, "Tài khoản đã bị khóa", "The account is disabled"),
    NotFound => ("not_found", 404, "Không tìm thấy", "Not found"),
    RouteNotFound => ("route_not_found", 404, "Không có địa chỉ này", "No such route"),
    MethodNotAllowed => ("method_not_allowed", 405, "Phương thức không được hỗ trợ", "Method not allowed"),
    NotAcceptable => ("not_acceptable", 406, "Không có định dạng phản hồi phù hợp", "No acceptable representation"),
    Conflict => ("conflict", 409, "Xung đột dữ liệu", "Conflict"),
    AlreadyExists => ("already_exists", 409, "Đã tồn tại", "Already exists"),
    PayloadTooLarge => ("payload_too_large", 413, "Dữ liệu gửi lên quá lớn", "Payload too large"),
    UnsupportedMediaType => ("unsupported_media_type", 415, "Kiểu nội dung không được hỗ trợ", "Unsupported media type"),
    TooManyRequests => ("too_many_requests", 429, "Quá nhiều yêu cầu, vui lòng thử lại sau", "Too many requests, try again later"),
    InvalidTransition => ("invalid_transition", 409, "Không thể thực hiện thao tác này ở trạng thái hiện tại của hồ sơ", "This action is not allowed in the dossier's current status"),
    PaperNotApplicable => ("paper_not_applicable", 409, "Hồ sơ không có phiếu này", "The dossier has no such paper"),
    PreconditionFailed => ("precondition_failed", 412, "Dữ liệu đã được cập nhật, vui lòng tải lại", "It has changed since you read it; reload it and try again"),
    PreconditionRequired => ("precondition_required", 428, "Cần gửi If-Match với ETag hiện tại", "Send If-Match with the current ETag"),
    FeesUnpaid => ("fees_unpaid", 409, "Hồ sơ chưa hoàn thành nghĩa vụ tài chính", "The dossier's fees are not paid"),
    PostalReturnMissing => ("postal_return_missing", 409, "Chưa đăng ký địa chỉ nhận kết quả qua bưu chính", "No postal return is recorded: say where the result goes by post first"),
    ApologyRequired => ("apology_required", 409, "Hồ sơ trễ hạn phải có phiếu xin lỗi và hẹn lại trước khi trả kết quả", "A late dossier needs an apology letter with a new appointment before its result is returned"),
    AlreadyRated => ("already_rated", 409, "Hồ sơ đã được đánh giá", "This dossier has been rated already"),
    ResultRevoked => ("result_revoked", 409, "Kết quả đã bị thu hồi", "The result is revoked: it is neither revoked again nor corrected"),
    ResultSuperseded => ("result_superseded", 409, "Phiên bản kết quả này đã được đính chính bằng phiên bản khác", "This result version was superseded by a correction: act on the version in force"),
    IdentityNameMismatch => ("identity_name_mismatch", 409, "Họ tên của tài khoản không khớp với hồ sơ người nộp; vui lòng đến bộ phận một cửa", "The account's name does not match the applicant record; please visit the counter"),
    AlreadyVerified => ("already_verified", 409, "Tài khoản đã được xác thực danh tính", "The account's identity is already verified"),
    VerificationNoContact => ("verification_no_contact", 409, "Hồ sơ của cơ quan không có số điện thoại hoặc thư điện tử để gửi mã; vui lòng xác thực tại bộ phận một cửa", "The agency's records hold no phone or e-mail to send a code to; please verify at the counter"),
    VerificationNotRequested => ("verification_not_requested", 409, "Chưa có mã xác thực nào đang chờ; hãy yêu cầu mã mới", "No code is pending; request a new one"),
    VerificationCodeInvalid => ("verification_code_invalid", 422, "Mã xác thực không đúng", "The code is not correct"),
    VerificationCodeExpired => ("verification_code_expired", 410, "Mã xác thực đã hết hạn; hãy yêu cầu mã mới", "The code has expired; request a new one"),
    VerificationCodeExhausted => ("verification_code_exhausted", 410, "Nhập sai quá nhiều lần; mã đã bị hủy, hãy yêu cầu mã mới", "Too many wrong entries: the code is void; request a new one"),
    NotificationFailed => ("notification_failed", 503, "Không gửi được tin nhắn, vui lòng thử lại sau", "The message could not be sent; try again later"),
    IdempotencyKeyReused => ("idempotency_key_reused", 422, "Idempotency-Key đã được dùng cho một yêu cầu khác", "This Idempotency-Key was used for a different request"),
    IdempotencyInFlight => ("idempotency_in_flight", 409, "Một yêu cầu cùng Idempotency-Key đang được xử lý", "A request with this Idempotency-Key is still being processed"),
    NothingToPay => ("nothing_to_pay", 409, "Hồ sơ không còn khoản phí nào phải nộp", "The dossier has no fees left to pay"),
    NotPayableOnline => ("not_payable_online", 409, "Phí của thủ tục này không nộp trực tuyến được", "This procedure's fees cannot be paid online"),
    PaymentInProgress => ("payment_in_progress", 409, "Đang có một giao dịch thanh toán chưa kết thúc", "Another payment attempt is still open"),
    PaymentFinished => ("payment_finished", 409, "Giao dịch đã kết thúc hoặc đang chờ kết quả từ cổng thanh toán", "The payment is finished or awaiting the gateway's outcome"),
    RefundExceeds => ("refund_exceeds", 409, "Số tiền hoàn vượt quá số còn có thể hoàn", "The refund exceeds what can still be refunded"),
    NotPaid => ("not_paid", 409, "Giao dịch chưa được thanh toán thành công", "The payment did not succeed"),
    AlreadyPaid => ("already_paid", 409, "Phí của hồ sơ đã được thanh toán", "The dossier's fee has been paid already"),
    RefundNotProposed => ("refund_not_proposed", 409, "Khoản hoàn tiền không ở trạng thái chờ duyệt", "The refund is not a proposal awaiting approval"),
    DossierFinished => ("dossier_finished", 409, "Hồ sơ đã kết thúc", "The dossier is finished"),
    GatewayUnavailable => ("gateway_unavailable", 502, "Cổng thanh toán không phản hồi", "The payment gateway did not answer"),
    InternalError => ("internal_error", 500, "Lỗi hệ thống", "Internal server error"),
    DatabaseUnavailable => ("database_unavailable", 503, "Cơ sở dữ liệu tạm thời không truy cập được", "Database temporarily unavailable"),
    DatabaseBusy => ("database_busy", 503, "Cơ sở dữ liệu đang bận, vui lòng thử lại sau giây lát", "The database is busy, try again shortly"),
}

/// A field error as sent to clients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = FieldError)]
pub struct FieldErrorBody {
    /// Path of the field, e.g. `fees[0].amount_vnd`.
    pub field: String,
    /// Stable code of the problem, e.g. `required`, `too_long`.
    #[schema(value_type = crate::i18n::FieldErrorCode)]
    pub code: String,
    /// The problem in the caller's language.
    pub message: String,
}

/// RFC 9457 problem details, as every error response carries.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:motcua:problem:validation_failed",
    "title": "Dữ liệu không hợp lệ",
    "status": 422,
    "detail": "Có 1 trường không hợp lệ.",
    "code": "validation_failed",
    "errors": [{"field": "id_number", "code": "invalid_citizen_id", "message": "Số định danh cá nhân phải gồm đúng 12 chữ số, bắt đầu bằng mã tỉnh hợp lệ."}],
    "request_id": "0b7c6f7e-3f0a-4a51-9a0e-6a2f3c1d9e21"
}))]
#[schema(as = Problem)]
pub struct ProblemBody {
    /// `urn:motcua:problem:<code>`.
    #[serde(rename = "type")]
    pub type_uri: String,
    /// Short summary of the code, in the caller's language.
    pub title: String,
    /// The HTTP status, repeated.
    #[schema(minimum = 400, maximum = 599)]
    pub status: u16,
    /// What happened in this occurrence, in the caller's language.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub detail: Option<String>,
    #[schema(value_type = ErrorCode)]
    pub code: String,
    /// One entry per invalid field (`validation_failed`, `invalid_query`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldErrorBody>,
    /// The request path.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub instance: Option<String>,
    /// The `X-Request-Id` of the request, for support.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub request_id: Option<String>,
    /// Extra members some problems carry; declared in the document by
    /// `openapi::problem_extensions`.
    #[serde(flatten)]
    #[schema(ignore)]
    pub extensions: serde_json::Map<String, serde_json::Value>,
}

pub const PROBLEM_JSON: &str = "application/problem+json";

/// What an error says; boxed inside [`ApiError`] so results stay small.
#[derive(Debug, Clone)]
pub struct ApiErrorData {
    pub code: ErrorCode,
    pub detail: Option<Localized>,
    pub errors: Vec<FieldError>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub extensions: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone)]
pub struct ApiError(Box<ApiErrorData>);

impl std::ops::Deref for ApiError {
    type Target = ApiErrorData;
    fn deref(&self) -> &ApiErrorData {
        &self.0
    }
}

impl std::ops::DerefMut for ApiError {
    fn deref_mut(&mut self) -> &mut ApiErrorData {
        &mut self.0
    }
}

impl ApiError {
    pub fn new(code: ErrorCode) -> Self {
        Self(Box::new(ApiErrorData {
            code,
            detail: None,
            errors: Vec::new(),
            headers: Vec::new(),
            extensions: serde_json::Map::new(),
        }))
    }

    pub fn detail(mut self, vi: impl Into<String>, en: impl Into<String>) -> Self {
        self.detail = Some(Localized::new(vi, en));
        self
    }

    pub fn detail_same(mut self, text: impl Into<String>) -> Self {
        self.detail = Some(Localized::same(text));
        self
    }

    pub fn header(mut self, name: HeaderName, value: impl TryInto<HeaderValue>) -> Self {
        if let Ok(value) = value.try_into() {
            self.headers.push((name, value));
        }
        self
    }

    /// Adds a member to the problem body. The RFC 9457 members and ours are
    /// reserved: an extension may never shadow them.
    pub fn extension(mut self, key: &str, value: serde_json::Value) -> Self {
        const RESERVED: [&str; 8] = [
            "type",
            "title",
            "status",
            "detail",
            "code",
            "errors",
            "instance",
            "request_id",
        ];
        debug_assert!(
            !RESERVED.contains(&key),
            "problem extension {key:?} shadows a standard member"
        );
        if !RESERVED.contains(&key) {
            self.extensions.insert(key.to_owned(), value);
        }
        self
    }

    pub fn validation(errors: Vec<FieldError>) -> Self {
        let n = errors.len();
        let mut e = Self::new(ErrorCode::ValidationFailed).detail(
            format!("Có {n} trường không hợp lệ."),
            format!("{n} field(s) are invalid."),
        );
        e.errors = errors;
        e
    }

    pub fn field(field: &str, problem: Problem) -> Self {
        Self::validation(vec![FieldError {
            field: field.to_owned(),
            problem,
        }])
    }

    /// A bad query parameter (400 `invalid_query`, with the field).
    pub fn query_field(field: &str, problem: Problem) -> Self {
        let mut e = Self::field(field, problem);
        e.code = ErrorCode::InvalidQuery;
        e
    }

    pub fn not_found() -> Self {
        Self::new(ErrorCode::NotFound)
    }

    pub fn forbidden() -> Self {
        Self::new(ErrorCode::Forbidden)
    }

    pub fn internal(context: &str, error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, "{context}");
        Self::new(ErrorCode::InternalError)
    }

    pub fn too_many_requests(retry_after_secs: i64) -> Self {
        let secs = retry_after_secs.max(1);
        Self::new(ErrorCode::TooManyRequests)
            .detail(
                format!("Vui lòng thử lại sau {secs} giây."),
                format!("Retry in {secs} seconds."),
            )
            .header(header::RETRY_AFTER, secs.to_string())
    }

    pub fn body(&self, lang: Lang) -> ProblemBody {
        ProblemBody {
            type_uri: format!("urn:motcua:problem:{}", self.code.as_str()),
            title: self.code.title(lang).to_owned(),
            status: self.code.status().as_u16(),
            detail: self.detail.as_ref().map(|d| d.get(lang).to_owned()),
            code: self.code.as_str().to_owned(),
            errors: self
                .errors
                .iter()
                .map(|e| FieldErrorBody {
                    field: e.field.clone(),
                    code: e.problem.code().to_owned(),
                    message: field_message(&e.problem, lang),
                })
                .collect(),
            instance: None,
            request_id: None,
            extensions: self.extensions.clone(),
        }
    }

    /// The response in a given language; the problem middleware calls it with
    /// the request's language, instance and request id.
    pub fn render(
        &self,
        lang: Lang,
        instance: Option<String>,
        request_id: Option<String>,
    ) -> HttpResponse {
        let mut body = self.body(lang);
        body.instance = instance;
        body.request_id = request_id;
        let mut response = HttpResponse::build(self.code.status());
        response.content_type(PROBLEM_JSON);
        if lang == Lang::En {
            response.insert_header((header::CONTENT_LANGUAGE, "en"));
        } else {
            response.insert_header((header::CONTENT_LANGUAGE, "vi"));
        }
        if self.code == ErrorCode::Unauthenticated || self.code == ErrorCode::InvalidToken {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        for (name, value) in &self.headers {
            response.insert_header((name.clone(), value.clone()));
        }
        if let Some(id) = &body.request_id {
            response.insert_header((crate::middleware::REQUEST_ID, id.as_str()));
        }
        response.json(body)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.code.as_str())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.code.status()
    }

    fn error_response(&self) -> HttpResponse {
        self.render(Lang::Vi, None, None)
    }
}

impl From<ErrorCode> for ApiError {
    fn from(code: ErrorCode) -> Self {
        ApiError::new(code)
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => ApiError::not_found(),
            StoreError::Conflict(what) => {
                tracing::info!(constraint = %what, "write refused by a constraint");
                ApiError::new(ErrorCode::Conflict)
            }
            StoreError::Busy(reason) => {
                tracing::warn!(%reason, "database busy past its timeout");
                ApiError::new(ErrorCode::DatabaseBusy).header(header::RETRY_AFTER, "2")
            }
            StoreError::Unavailable(reason) => {
                tracing::warn!(%reason, "database unavailable");
                ApiError::new(ErrorCode::DatabaseUnavailable).header(header::RETRY_AFTER, "5")
            }
            other => ApiError::internal("database error", other),
        }
    }
}

impl From<motcua_app::password::HashError> for ApiError {
    fn from(error: motcua_app::password::HashError) -> Self {
        ApiError::internal("hash password", error)
    }
}

impl From<motcua_app::catalog_import::FileError> for ApiError {
    fn from(error: motcua_app::catalog_import::FileError) -> Self {
        use motcua_app::catalog_import::FileError;
        match error {
            FileError::Nul => crate::extract::nul_error(),
            FileError::NotJsonArray(e) => ApiError::new(ErrorCode::MalformedJson).detail(
                format!("Tệp phải là một mảng JSON các thủ tục: {e}"),
                format!("The file must be a JSON array of procedures: {e}"),
            ),
            FileError::Csv(e) => {
                ApiError::new(ErrorCode::BadRequest).detail_same(format!("CSV: {e}"))
            }
            FileError::MissingColumns(missing) => ApiError::new(ErrorCode::BadRequest).detail(
                format!("Thiếu cột: {}", missing.join(", ")),
                format!("Missing columns: {}", missing.join(", ")),
            ),
        }
    }
}

impl From<motcua_persistence::DieselError> for ApiError {
    fn from(error: motcua_persistence::DieselError) -> Self {
        StoreError::from(error).into()
    }
}

impl From<motcua_app::dossiers::WorkflowError> for ApiError {
    fn from(error: motcua_app::dossiers::WorkflowError) -> Self {
        use motcua_app::dossiers::WorkflowError as W;
        use motcua_domain::dossier::ReturnBlocked;
        use motcua_domain::results::NotInForce;
        match error {
            W::Store(e) => e.into(),
            W::NotFound => ApiError::not_found(),
            W::Forbidden => ApiError::forbidden(),
            W::Stale { current } => ApiError::new(ErrorCode::PreconditionFailed)
                .header(header::ETAG, format!("\"v{current}\""))
                .extension("current_version", serde_json::json!(current)),
            W::NotAllowed { status, allowed } => {
                let names: Vec<&str> = allowed.iter().map(|a| a.as_str()).collect();
                ApiError::new(ErrorCode::InvalidTransition)
                    .detail(
                        format!(
                            "Trạng thái hiện tại: {}. Có thể: {}.",
                            status.label_vi(),
                            list_or_none(&names, "không có")
                        ),
                        format!(
                            "Current status: {status}. Allowed: {}.",
                            list_or_none(&names, "none")
                        ),
                    )
                    .extension("dossier_status", serde_json::json!(status))
                    .extension("allowed_actions", serde_json::json!(names))
            }
            W::Blocked(ReturnBlocked::FeesUnpaid) => ApiError::new(ErrorCode::FeesUnpaid),
            W::Blocked(ReturnBlocked::ApologyRequired) => ApiError::new(ErrorCode::ApologyRequired),
            W::Blocked(ReturnBlocked::PostalReturnMissing) => {
                ApiError::new(ErrorCode::PostalReturnMissing)
            }
            W::Invalid(errors) => ApiError::validation(errors),
            W::AlreadyRated => ApiError::new(ErrorCode::AlreadyRated),
            W::NotInForce(NotInForce::Revoked) => ApiError::new(ErrorCode::ResultRevoked),
            W::NotInForce(NotInForce::Superseded) => ApiError::new(ErrorCode::ResultSuperseded),
        }
    }
}

fn list_or_none(items: &[&str], none: &str) -> String {
    if items.is_empty() {
        none.to_owned()
    } else {
        items.join(", ")
    }
}

impl From<Vec<FieldError>> for ApiError {
    fn from(errors: Vec<FieldError>) -> Self {
        ApiError::validation(errors)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;
    use motcua_domain::rule::RuleCode;

    #[test]
    fn codes_are_unique_snake_case_with_both_titles() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "duplicate {s}");
            assert!(
                s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{s}"
            );
            assert!(code.status().is_client_error() || code.status().is_server_error());
            assert_ne!(code.title(Lang::Vi), code.title(Lang::En), "{s}");
        }
    }

    #[test]
    fn problem_body_in_both_languages() {
        let e = ApiError::field("id_number", Problem::rule(RuleCode::InvalidCitizenId));
        let vi = e.body(Lang::Vi);
        let en = e.body(Lang::En);
        assert_eq!(vi.code, "validation_failed");
        assert_eq!(vi.code, en.code);
        assert_eq!(vi.status, 422);
        assert_eq!(vi.errors[0].code, "invalid_citizen_id");
        assert_ne!(vi.errors[0].message, en.errors[0].message);
        assert_eq!(vi.type_uri, "urn:motcua:problem:validation_failed");
    }
}
