//! Cross-cutting request handling: request ids, problem+json for every error,
//! panics turned into 500 responses, security headers.

use std::panic::AssertUnwindSafe;

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpResponse};
use futures_util::FutureExt;
use tracing::Span;
use tracing_actix_web::RootSpanBuilder;

use crate::error::{ApiError, ErrorCode, PROBLEM_JSON};
use crate::i18n::Lang;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of one request: the caller's `X-Request-Id` when it is sane, else a new UUID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

fn incoming_request_id(req: &ServiceRequest) -> Option<String> {
    let value = req.headers().get(REQUEST_ID)?.to_str().ok()?.trim();
    let sane = (1..=64).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    sane.then(|| value.to_owned())
}

/// When a request arrived, for its duration in the access log.
#[derive(Debug, Clone, Copy)]
struct Started(std::time::Instant);

/// Which answers get their `request finished` line: every answer of 400 or
/// more and every write, and one successful read (GET, HEAD) in
/// `log.sample_reads`. Kept in [`crate::state::AppState`], so the workers
/// share the count.
#[derive(Debug, Default)]
pub struct LogSampling {
    every: u64,
    reads: std::sync::atomic::AtomicU64,
}

impl LogSampling {
    /// One successful read in `every` keeps its line (0 and 1: all).
    pub fn new(every: u32) -> Self {
        Self {
            every: u64::from(every.max(1)),
            reads: std::sync::atomic::AtomicU64::new(0),
        }
    }

    fn keeps(&self, method: &Method, status: u16) -> bool {
        if self.every <= 1 || !is_successful_read(method, status) {
            return true;
        }
        let nth = self
            .reads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        keeps_line(method, status, self.every, nth)
    }
}

fn is_successful_read(method: &Method, status: u16) -> bool {
    status < 400 && (method == Method::GET || method == Method::HEAD)
}

/// Whether an answer's access-log line is written: always for an answer of
/// 400 or more and for a write (any method but GET and HEAD); for a
/// successful read, when it is the first of each `every` (`nth` counts the
/// successful reads from 0).
pub fn keeps_line(method: &Method, status: u16, every: u64, nth: u64) -> bool {
    !is_successful_read(method, status) || every <= 1 || nth.is_multiple_of(every)
}

/// Root span of every request, carrying its id, so every log line of the
/// request has it. The span holds the id and, once known, the route; what
/// else the access log tells (method, path, status, duration, client, user
/// agent, the error) is formatted only into the `request finished` line, and
/// only for the answers [`LogSampling`] keeps.
pub struct MotcuaRootSpan;

impl RootSpanBuilder for MotcuaRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let id = incoming_request_id(request).unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let span = tracing::info_span!(
            "request",
            request_id = %id,
            http.route = tracing::field::Empty,
        );
        let mut extensions = request.extensions_mut();
        extensions.insert(RequestId(id));
        extensions.insert(Started(std::time::Instant::now()));
        span
    }

    /// Logs the path but never the query string: tracking look-ups carry
    /// citizen ID numbers there.
    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        if !tracing::enabled!(tracing::Level::INFO) {
            return;
        }
        match outcome {
            Ok(res) => finished_line(&span, res),
            // An error no middleware turned into a response (the request is gone with it).
            Err(error) => {
                let status = error.as_response_error().status_code().as_u16();
                tracing::info!(parent: &span, status, error = %error, "request finished");
            }
        }
    }
}

/// The access-log line of one answer, unless sampled out.
fn finished_line<B>(span: &Span, res: &ServiceResponse<B>) {
    let request = res.request();
    let status = res.status().as_u16();
    let keep = request
        .app_data::<actix_web::web::Data<crate::state::AppState>>()
        .is_none_or(|state| state.log_sampling.keeps(request.method(), status));
    if !keep {
        return;
    }
    if let Some(route) = request.match_pattern() {
        span.record("http.route", route.as_str());
    }
    let millis = request
        .extensions()
        .get::<Started>()
        .map_or(0.0, |s| s.0.elapsed().as_secs_f64() * 1000.0);
    let user_agent = request
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let info = request.connection_info();
    let client_ip = info.realip_remote_addr().unwrap_or("");
    match res.response().error() {
        Some(error) => tracing::info!(
            parent: span,
            method = %request.method(),
            path = %request.path(),
            status,
            duration_ms = millis,
            client_ip,
            user_agent,
            error = %error,
            "request finished"
        ),
        None => tracing::info!(
            parent: span,
            method = %request.method(),
            path = %request.path(),
            status,
            duration_ms = millis,
            client_ip,
            user_agent,
            "request finished"
        ),
    }
}

/// The largest body any route accepts, in bytes; set as app data.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub u64);

/// Refuses, before any handler runs or any body is read: a declared
/// `Content-Length` above [`BodyLimit`] (413 at once instead of waiting for
/// the bytes), and a NUL character (`%00`) in the path or query string
/// (400 `invalid_character`; PostgreSQL cannot store it in text).
pub async fn request_guards(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody, BoxBody>>, Error> {
    let refused = if let Some(BodyLimit(limit)) = req.app_data::<BodyLimit>().copied()
        && let Some(declared) = declared_length(req.headers())
        && declared > limit
    {
        Some(ApiError::new(ErrorCode::PayloadTooLarge).detail(
            format!("Tối đa {limit} byte."),
            format!("At most {limit} bytes."),
        ))
    } else if has_encoded_nul(req.uri().path()) || req.uri().query().is_some_and(has_encoded_nul) {
        Some(crate::extract::nul_error())
    } else {
        None
    };
    match refused {
        // As a response carrying the error, so the problem middleware renders it.
        Some(error) => Ok(req
            .into_response(HttpResponse::from_error(error))
            .map_into_right_body()),
        None => Ok(next.call(req).await?.map_into_left_body()),
    }
}

/// The `Content-Length` a request declares, if it declares a number.
pub fn declared_length(headers: &actix_web::http::header::HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// `%00` anywhere in a still-encoded path or query string.
fn has_encoded_nul(raw: &str) -> bool {
    raw.contains("%00") || raw.contains('\0')
}

/// Echoes the request id on every response, and says that responses vary
/// with `Accept-Language` (titles, details, CSV headers, pages).
pub async fn request_id_header(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = req.extensions().get::<RequestId>().cloned();
    let mut res = next.call(req).await?;
    let varies = res.headers().get_all(header::VARY).any(|v| {
        v.to_str()
            .is_ok_and(|v| v.to_ascii_lowercase().contains("accept-language"))
    });
    if !varies {
        res.headers_mut()
            .append(header::VARY, HeaderValue::from_static("Accept-Language"));
    }
    if let Some(RequestId(id)) = id
        && let Ok(value) = HeaderValue::from_str(&id)
    {
        res.headers_mut().insert(REQUEST_ID, value);
    }
    Ok(res)
}

fn code_for_status(status: StatusCode) -> ErrorCode {
    match status.as_u16() {
        401 => ErrorCode::Unauthenticated,
        403 => ErrorCode::Forbidden,
        404 => ErrorCode::RouteNotFound,
        405 => ErrorCode::MethodNotAllowed,
        406 => ErrorCode::NotAcceptable,
        409 => ErrorCode::Conflict,
        413 => ErrorCode::PayloadTooLarge,
        415 => ErrorCode::UnsupportedMediaType,
        422 => ErrorCode::ValidationFailed,
        429 => ErrorCode::TooManyRequests,
        400..=499 => ErrorCode::BadRequest,
        503 => ErrorCode::DatabaseUnavailable,
        _ => ErrorCode::InternalError,
    }
}

fn is_json(res: &HttpResponse<impl MessageBody>) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json") || ct.starts_with(PROBLEM_JSON))
}

/// Every error leaves as problem+json in the caller's language: our own
/// errors are re-rendered with the request's language, id and path; errors
/// from actix itself or from other middleware (CORS, payload limits) are
/// converted by their status code.
pub async fn problems(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<BoxBody>>, Error> {
    let lang = Lang::of(req.request());
    let path = req.path().to_owned();
    let request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
    // No clone of the request may live across the call: routing needs it unshared.
    let render = |error: ApiError| error.render(lang, Some(path.clone()), request_id.clone());
    match next.call(req).await {
        Ok(res) => {
            let api = res
                .response()
                .error()
                .and_then(|e| e.as_error::<ApiError>())
                .cloned();
            if let Some(api) = api {
                let (req, _) = res.into_parts();
                return Ok(ServiceResponse::new(req, render(api)).map_into_right_body());
            }
            let status = res.status();
            if (status.is_client_error() || status.is_server_error()) && !is_json(res.response()) {
                let mut error = ApiError::new(code_for_status(status));
                if let Some(inner) = res.response().error() {
                    if status.is_client_error() {
                        error = error.detail_same(inner.to_string());
                    } else {
                        tracing::error!(error = %inner, "unhandled error");
                    }
                }
                for name in [header::ALLOW, header::RETRY_AFTER] {
                    if let Some(value) = res.headers().get(&name) {
                        error = error.header(name, value.clone());
                    }
                }
                let (req, _) = res.into_parts();
                return Ok(ServiceResponse::new(req, render(error)).map_into_right_body());
            }
            Ok(res.map_into_boxed_body().map_into_left_body())
        }
        Err(err) => {
            let error = err.as_error::<ApiError>().cloned().unwrap_or_else(|| {
                let status = err.as_response_error().status_code();
                let e = ApiError::new(code_for_status(status));
                if status.is_client_error() {
                    e.detail_same(err.to_string())
                } else {
                    e
                }
            });
            Err(RenderedProblem {
                error,
                lang,
                instance: path,
                request_id,
            }
            .into())
        }
    }
}

/// A panicking handler answers 500 instead of dropping the connection.
pub async fn catch_panics(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<BoxBody>>, Error> {
    match AssertUnwindSafe(next.call(req)).catch_unwind().await {
        Ok(result) => result.map(|res| res.map_into_boxed_body().map_into_left_body()),
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "non-string panic".to_owned());
            tracing::error!(panic = %message, "handler panicked");
            // The request went down with the handler; the error travels up and
            // the problem middleware renders it.
            Err(ApiError::new(ErrorCode::InternalError).into())
        }
    }
}

/// An error already tied to its request's language, path and id, for the
/// paths where no response object is at hand.
#[derive(Debug)]
struct RenderedProblem {
    error: ApiError,
    lang: Lang,
    instance: String,
    request_id: Option<String>,
}

impl std::fmt::Display for RenderedProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl actix_web::ResponseError for RenderedProblem {
    fn status_code(&self) -> StatusCode {
        self.error.code.status()
    }

    fn error_response(&self) -> HttpResponse {
        self.error.render(
            self.lang,
            Some(self.instance.clone()),
            self.request_id.clone(),
        )
    }
}

/// Security headers for API responses; a handler that sets one keeps its own.
pub fn security_headers(production: bool) -> actix_web::middleware::DefaultHeaders {
    let mut headers = actix_web::middleware::DefaultHeaders::new()
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add((header::CACHE_CONTROL, "no-store"))
        .add((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; frame-ancestors 'none'",
        ))
        .add((
            HeaderName::from_static("cross-origin-resource-policy"),
            "same-site",
        ))
        .add((
            HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), geolocation=()",
        ));
    if production {
        headers = headers.add((
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        ));
    }
    headers
}

#[cfg(test)]
mod tests {
    use actix_web::middleware::from_fn;
    use actix_web::{App, HttpResponse, test, web};

    use super::*;

    /// (method, status, one in `every`, the read's number, line written)
    #[::std::prelude::v1::test]
    fn successful_reads_are_sampled_errors_and_writes_are_not() {
        let cases = [
            (Method::GET, 200, 1, 7, true),
            (Method::GET, 200, 10, 0, true),
            (Method::GET, 200, 10, 1, false),
            (Method::GET, 200, 10, 9, false),
            (Method::GET, 200, 10, 10, true),
            (Method::GET, 302, 10, 5, false),
            (Method::HEAD, 304, 10, 3, false),
            (Method::GET, 399, 2, 1, false),
            (Method::GET, 400, 10, 3, true),
            (Method::GET, 404, 10, 3, true),
            (Method::GET, 429, 10, 3, true),
            (Method::GET, 500, 10, 3, true),
            (Method::POST, 201, 10, 3, true),
            (Method::POST, 200, 10, 3, true),
            (Method::PUT, 200, 10, 3, true),
            (Method::PATCH, 200, 10, 3, true),
            (Method::DELETE, 204, 10, 3, true),
            (Method::OPTIONS, 204, 10, 3, true),
        ];
        for (method, status, every, nth, kept) in cases {
            assert_eq!(
                keeps_line(&method, status, every, nth),
                kept,
                "{method} {status}, 1 in {every}, read {nth}"
            );
        }
    }

    #[::std::prelude::v1::test]
    fn sampling_counts_only_successful_reads() {
        let sampling = LogSampling::new(3);
        let mut kept = 0;
        for i in 0..9 {
            kept += usize::from(sampling.keeps(&Method::GET, 200));
            // Writes and errors in between keep their lines and leave the count alone.
            assert!(sampling.keeps(&Method::POST, 201), "{i}");
            assert!(sampling.keeps(&Method::GET, 404), "{i}");
        }
        assert_eq!(kept, 3);
        let all = LogSampling::new(1);
        assert!((0..5).all(|_| all.keeps(&Method::GET, 200)));
        // 0 is refused by the settings' check; here it means all.
        assert!(LogSampling::new(0).keeps(&Method::GET, 200));
    }

    async fn boom() -> HttpResponse {
        panic!("handler bug")
    }

    #[actix_web::test]
    async fn a_panicking_handler_answers_500_problem_and_the_worker_survives() {
        let app = test::init_service(
            App::new()
                .wrap(from_fn(catch_panics))
                .wrap(from_fn(problems))
                .route("/boom", web::get().to(boom))
                .route(
                    "/ok",
                    web::get().to(|| async { HttpResponse::Ok().body("fine") }),
                ),
        )
        .await;
        let req = test::TestRequest::get()
            .uri("/boom")
            .insert_header(("accept-language", "en"))
            .to_request();
        // The error travels out of the middleware; actix's dispatcher renders it like this.
        let res = match test::try_call_service(&app, req).await {
            Ok(res) => res.into_parts().1.map_into_boxed_body(),
            Err(e) => e.error_response(),
        };
        assert_eq!(res.status(), 500);
        assert_eq!(
            res.headers().get(header::CONTENT_TYPE).unwrap(),
            PROBLEM_JSON
        );
        let bytes = actix_web::body::to_bytes(res.into_body()).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(body["code"], "internal_error");
        assert_eq!(body["title"], "Internal server error");
        assert!(
            !body.to_string().contains("handler bug"),
            "the panic text stays in the logs"
        );
        let res = test::call_service(&app, test::TestRequest::get().uri("/ok").to_request()).await;
        assert_eq!(res.status(), 200);
    }
}
