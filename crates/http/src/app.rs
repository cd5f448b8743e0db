//! The application: routes, middleware and the server. `build_app` is what
//! the binary serves and what the black-box tests start on port 0.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_cors::Cors;
use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpResponse, HttpServer, web};
use actix_web_prom::{PrometheusMetrics, PrometheusMetricsBuilder};
use prometheus::Registry;
use tracing_actix_web::TracingLogger;
use utoipa_actix_web::{AppExt, UtoipaApp, scope};

use crate::auth::TokenService;
use crate::error::{ApiError, ErrorCode};
use crate::extract::JsonLimit;
use crate::middleware::{
    BodyLimit, MotcuaRootSpan, catch_panics, problems, request_guards, request_id_header,
    security_headers,
};
use crate::routes::{
    agencies, audit, auth, calendar, catalog, documents, dossiers, events, feedback, forms,
    identity, kpi, notifications, ops, payments, queue, results, tracking, users, webhooks,
};
use crate::state::AppState;
use motcua_app::settings::Settings;

/// The routes of the modules that list their own services.
fn self_registered(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    webhooks::configure(cfg);
    notifications::configure(cfg);
    forms::configure(cfg);
    crate::routes::portal::configure(cfg);
    results::configure(cfg);
}

/// Every documented route, on any app (the real one, or a bare one for the spec).
pub fn routes<T>(app: App<T>, sandbox: bool) -> UtoipaApp<T>
where
    T: ServiceFactory<ServiceRequest, Config = (), Error = actix_web::Error, InitError = ()>,
{
    app.into_utoipa_app()
        .service(crate::docs::openapi_json)
        .service(crate::docs::page)
        .service(crate::docs::scalar_js)
        .service(crate::docs::init_js)
        .service(crate::docs::license)
        .service(ops::live)
        .service(ops::ready)
        .service(ops::metrics)
        .service(results::keys)
        .service(
            scope("/api/v1")
                .configure(accounts)
                .configure(catalog_and_calendar)
                .service(audit::list)
                .service(audit::export)
                .service(documents::upload_document)
                .service(documents::download)
                .service(documents::mine)
                .service(dossiers::submit)
                .service(dossiers::list)
                .service(dossiers::get)
                .service(dossiers::act)
                .service(dossiers::history)
                .service(dossiers::upload_to_dossier)
                .configure(dossiers::configure_papers)
                .service(dossiers::rate)
                .service(tracking::track)
                .service(payments::create)
                .service(payments::list)
                .service(payments::discrepancies)
                .service(payments::reconciliation)
                .service(payments::reconcile)
                .service(payments::run_jobs)
                .service(payments::ipn)
                .service(payments::return_page)
                .service(payments::get)
                .service(payments::cancel)
                .service(payments::refund)
                .service(payments::approve_refund)
                .configure(kpi::configure)
                .service(queue::take)
                .service(queue::get)
                .service(queue::call_next)
                .service(queue::complete)
                .service(feedback::submit)
                .service(feedback::list)
                .service(feedback::get)
                .service(feedback::reply)
                .service(feedback::track)
                .service(feedback::add_info)
                .service(events::feed)
                .configure(self_registered),
        )
        .configure(|cfg| {
            if sandbox {
                sandboxes(cfg);
            }
        })
}

/// The sandbox payment gateway and national portal (development only).
fn sandboxes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(crate::payments::sandbox::page)
        .service(crate::payments::sandbox::choose)
        .service(crate::payments::sandbox::complete_by_api)
        .service(crate::payments::sandbox::transaction)
        .service(crate::routes::portal_sandbox::receive)
        .service(crate::routes::portal_sandbox::dossier)
        .service(crate::routes::portal_sandbox::fail);
}

/// Shared pieces built once per server, cloned into each worker.
#[derive(Clone)]
pub struct Shared {
    pub state: web::Data<AppState>,
    pub registry: web::Data<Registry>,
    pub gauges: web::Data<ops::Gauges>,
    pub prometheus: PrometheusMetrics,
    pub openapi: web::Data<String>,
    pub methods: web::Data<RouteMethods>,
}

/// The methods each documented path answers, so that a known path asked with
/// another method gets 405 with `Allow` rather than 404.
#[derive(Debug, Clone, Default)]
pub struct RouteMethods(Vec<(Vec<String>, Vec<String>)>);

impl RouteMethods {
    pub fn from_document(doc: &serde_json::Value, sandbox: bool) -> Self {
        let mut table = Vec::new();
        if let Some(paths) = doc.get("paths").and_then(serde_json::Value::as_object) {
            for (path, item) in paths {
                if path.starts_with("/sandbox/") && !sandbox {
                    continue;
                }
                let methods = item
                    .as_object()
                    .map(|item| {
                        item.keys()
                            .filter(|m| {
                                ["get", "put", "post", "delete", "patch"].contains(&m.as_str())
                            })
                            .map(|m| m.to_ascii_uppercase())
                            .collect()
                    })
                    .unwrap_or_default();
                table.push((segments(path), methods));
            }
        }
        Self(table)
    }

    /// The methods a concrete request path answers, if it is a known route.
    /// As in OpenAPI, a literal segment wins over a parameter: the methods
    /// of `/procedures/import` are not those of `/procedures/{code}`.
    pub fn allowed(&self, path: &str) -> Option<String> {
        let asked = segments(path);
        let matching: Vec<(usize, &Vec<String>)> = self
            .0
            .iter()
            .filter(|(template, _)| {
                template.len() == asked.len()
                    && template
                        .iter()
                        .zip(&asked)
                        .all(|(t, a)| t == a || (t.starts_with('{') && !a.is_empty()))
            })
            .map(|(template, methods)| {
                let literal = template.iter().filter(|t| !t.starts_with('{')).count();
                (literal, methods)
            })
            .collect();
        let best = matching.iter().map(|(literal, _)| *literal).max()?;
        let mut methods: Vec<&str> = matching
            .iter()
            .filter(|(literal, _)| *literal == best)
            .flat_map(|(_, m)| m.iter().map(String::as_str))
            .collect();
        methods.sort_unstable();
        methods.dedup();
        (!methods.is_empty()).then(|| methods.join(", "))
    }
}

fn segments(path: &str) -> Vec<String> {
    path.split('/').map(str::to_owned).collect()
}

impl Shared {
    pub fn new(state: AppState) -> std::io::Result<Self> {
        let registry = Registry::new();
        let prometheus = PrometheusMetricsBuilder::new("motcua")
            .registry(registry.clone())
            .mask_unmatched_patterns("UNMATCHED")
            .exclude("/metrics")
            .buckets(&[
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ])
            .build()
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let gauges =
            ops::Gauges::register(&registry).map_err(|e| std::io::Error::other(e.to_string()))?;
        ops::NotificationMetrics::register(&registry, state.notification_counters.clone())
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let spec = crate::openapi::document_json();
        let value: serde_json::Value =
            serde_json::from_str(&spec).map_err(std::io::Error::other)?;
        let sandbox = state.settings.payments.gateway == motcua_app::settings::GatewayKind::Sandbox
            && !state.settings.is_production();
        let methods = RouteMethods::from_document(&value, sandbox);
        Ok(Self {
            state: web::Data::new(state),
            registry: web::Data::new(registry),
            gauges: web::Data::new(gauges),
            prometheus,
            openapi: web::Data::new(spec.clone()),
            methods: web::Data::new(methods),
        })
    }
}

fn cors(settings: &Settings) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::ACCEPT_LANGUAGE,
            header::IF_MATCH,
            header::HeaderName::from_static("idempotency-key"),
            header::HeaderName::from_static("x-request-id"),
        ])
        .expose_headers([
            header::ETAG,
            header::LOCATION,
            header::RETRY_AFTER,
            header::CONTENT_DISPOSITION,
            header::HeaderName::from_static("x-request-id"),
            header::HeaderName::from_static("idempotent-replayed"),
        ])
        .max_age(3600);
    for origin in settings.allowed_origins() {
        cors = cors.allowed_origin(&origin);
    }
    cors
}

/// No route matched: 405 with `Allow` when the path is known under other
/// methods, 404 otherwise.
async fn not_found(
    req: actix_web::HttpRequest,
    methods: web::Data<RouteMethods>,
) -> Result<HttpResponse, ApiError> {
    match methods.allowed(req.path()) {
        Some(allow) => Err(ApiError::new(ErrorCode::MethodNotAllowed)
            .detail(
                format!("Địa chỉ này nhận: {allow}."),
                format!("This path takes: {allow}."),
            )
            .header(header::ALLOW, allow)),
        None => Err(ApiError::new(ErrorCode::RouteNotFound)),
    }
}

/// The whole application for one worker.
pub fn build_app(
    shared: Shared,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let settings = shared.state.settings.clone();
    let json_limit = settings.server.max_json_bytes;
    // The largest body of any route: an upload (file plus multipart framing),
    // a catalog import, or JSON. A request declaring more is refused at once.
    let body_limit = [
        settings.uploads.max_file_bytes.saturating_add(1024 * 1024),
        catalog::IMPORT_LIMIT,
        json_limit,
    ]
    .into_iter()
    .max()
    .unwrap_or(json_limit);
    let app = App::new()
        .app_data(shared.state.clone())
        .app_data(shared.registry.clone())
        .app_data(shared.gauges.clone())
        .app_data(shared.openapi.clone())
        .app_data(shared.methods.clone())
        .app_data(JsonLimit(json_limit))
        .app_data(BodyLimit(body_limit as u64))
        .app_data(web::PayloadConfig::new(json_limit))
        .app_data(web::PathConfig::default().error_handler(|_, _| ApiError::not_found().into()))
        .wrap(from_fn(request_guards))
        .wrap(from_fn(crate::access_log::integration_access_log))
        .wrap(from_fn(catch_panics))
        .wrap(from_fn(problems))
        // CORS and security headers go on problem responses too; a CORS
        // refusal is itself turned into a problem by the second pass.
        .wrap(cors(&settings))
        .wrap(from_fn(problems))
        .wrap(security_headers(settings.is_production()))
        .wrap(from_fn(request_id_header))
        .wrap(TracingLogger::<MotcuaRootSpan>::new())
        .wrap(shared.prometheus.clone());
    let sandbox = settings.payments.gateway == motcua_app::settings::GatewayKind::Sandbox
        && !settings.is_production();
    routes(app, sandbox)
        .into_app()
        .default_service(web::to(not_found))
}

/// The handlers' state around an [`motcua_app::App`].
pub fn state(app: motcua_app::App) -> AppState {
    let settings = &app.settings;
    let tokens = TokenService::new(
        &app.jwt_secret,
        &settings.auth.issuer,
        settings.auth.access_ttl_secs,
    )
    .with_clock(app.clock.clone());
    let accounts =
        crate::auth::AccountCache::new(Duration::from_millis(settings.auth.account_cache_ms));
    let code_key: Arc<[u8]> = {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(b"motcua one-time codes\0");
        h.update(&app.jwt_secret);
        h.finalize().to_vec().into()
    };
    let hasher = crate::hashing::Hasher::new(settings.auth.hash_concurrency);
    let tracking_limit = crate::throttle::Throttle::new(
        crate::routes::tracking::BUCKET,
        settings.tracking.per_window,
        Duration::from_secs(settings.tracking.window_secs),
        Duration::from_millis(settings.tracking.shared_flush_ms),
    );
    let log_sampling = crate::middleware::LogSampling::new(settings.log.sample_reads);
    AppState {
        app,
        hasher,
        tracking_limit,
        catalog: Arc::new(motcua_persistence::repo::catalog_index::CatalogIndex::new()),
        tokens,
        accounts,
        code_key,
        log_sampling,
        portal_sandbox: Arc::default(),
    }
}

/// Serves on an already bound listener (port 0 in tests). Stops gracefully on
/// SIGTERM/SIGINT, letting in-flight requests finish within the timeout.
pub fn serve(shared: Shared, listener: TcpListener) -> std::io::Result<Server> {
    let settings = shared.state.settings.clone();
    // The caller owns signals (see `motcua::serve`): actix would install its
    // handlers only once the server task first runs, too late for an early SIGTERM.
    let mut server = HttpServer::new(move || build_app(shared.clone()))
        .disable_signals()
        .shutdown_timeout(settings.server.shutdown_timeout_secs)
        .client_request_timeout(Duration::from_secs(30));
    if let Some(workers) = settings.server.workers {
        server = server.workers(workers.max(1));
    }
    Ok(server.listen(listener)?.run())
}

/// Sign-in, identity, accounts and agencies.
fn accounts(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(auth::register)
        .service(auth::login)
        .service(auth::token)
        .service(auth::refresh)
        .service(auth::logout)
        .service(auth::logout_all)
        .service(auth::me)
        .service(identity::request_code)
        .service(identity::confirm_code)
        .service(identity::verify_at_counter)
        .service(identity::mismatches)
        .service(identity::grants)
        .service(identity::grant)
        .service(identity::revoke)
        .service(identity::access_log)
        .service(users::list)
        .service(users::create)
        .service(users::get)
        .service(users::update)
        .service(agencies::list)
        .service(agencies::create)
        .service(agencies::get)
        .service(agencies::update);
}

/// The procedure catalog and the working calendar.
fn catalog_and_calendar(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(catalog::list)
        .service(catalog::import)
        .service(catalog::create)
        .service(catalog::get)
        .service(catalog::update)
        .service(catalog::abolish)
        .service(catalog::history)
        .service(catalog::history_version)
        .service(catalog::sectors)
        .service(calendar::year)
        .service(calendar::day)
        .service(calendar::set)
        .service(calendar::remove)
        .service(calendar::confirm_year)
        .service(calendar::appointment);
}
