//! Health, readiness and metrics for operators.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use motcua_domain::dossier::DossierStatus;
use motcua_domain::payment::PaymentStatus;
use motcua_persistence::repo::kpi;

use actix_web::{HttpResponse, get, web};
use prometheus::{
    Encoder, Gauge, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiResult;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct Readiness {
    /// `ready` or `unavailable`.
    pub status: &'static str,
    /// `ok`, `unreachable` or `migrations_pending`.
    pub database: &'static str,
    pub backend: &'static str,
    /// `ok`, or `not_writable` when uploaded files could not be stored.
    pub uploads: &'static str,
}

/// The process is up. Checks nothing else.
#[utoipa::path(operation_id = "health_live", tag = "ops", responses((status = 200, body = Health)))]
#[get("/health/live")]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// The database is reachable, its migrations are applied and uploaded files
/// can be written; 503 otherwise. Recovers by itself when both come back.
#[utoipa::path(operation_id = "health_ready", tag = "ops", responses((status = 200, body = Readiness), (status = 503, body = Readiness)))]
#[get("/health/ready")]
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let check = state
        .db_quick(Duration::from_secs(2), |conn| {
            motcua_persistence::db::ping(conn)?;
            Ok(motcua_persistence::db::migrations_current(conn)?)
        })
        .await;
    let database = match check {
        Ok(true) => "ok",
        Ok(false) => "migrations_pending",
        Err(_) => "unreachable",
    };
    let files = state.files.clone();
    let uploads = match AppState::cpu(move || files.check_writable()).await {
        Ok(Ok(())) => "ok",
        Ok(Err(error)) => {
            tracing::warn!(%error, "uploads directory not writable");
            "not_writable"
        }
        Err(_) => "not_writable",
    };
    let ok = database == "ok" && uploads == "ok";
    let body = Readiness {
        status: if ok { "ready" } else { "unavailable" },
        database,
        backend: state.backend.as_str(),
        uploads,
    };
    if ok {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// Gauges read at scrape time, registered beside the request metrics.
#[derive(Clone)]
pub struct Gauges {
    pool_connections: IntGaugeVec,
    pool_max: IntGauge,
    dossiers: IntGaugeVec,
    overdue: IntGauge,
    payments: IntGaugeVec,
    /// Payments holding money beyond their dossier's fee, not yet given back
    /// (read at every scrape: an alert must not wait).
    overpaid: IntGauge,
    overpaid_vnd: IntGauge,
    /// The outbox, read from the database at every scrape (so every process
    /// shows the same numbers, restarts included).
    outbox_lag: Gauge,
    outbox_events: IntGauge,
    webhook_deliveries: IntGaugeVec,
    /// When the business gauges were last read from the database.
    counted_at: Arc<Mutex<Option<Instant>>>,
}

/// Business gauges count whole tables: read at most this often.
const BUSINESS_GAUGES_TTL: Duration = Duration::from_secs(15);

impl Gauges {
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let pool_connections = IntGaugeVec::new(
            Opts::new(
                "motcua_db_pool_connections",
                "Database pool connections by state",
            ),
            &["state"],
        )?;
        let pool_max = IntGauge::new("motcua_db_pool_max_connections", "Database pool size limit")?;
        let dossiers = IntGaugeVec::new(
            Opts::new("motcua_dossiers", "Dossiers by status"),
            &["status"],
        )?;
        let overdue = IntGauge::new(
            "motcua_dossiers_overdue",
            "Dossiers being processed past their due moment, clock running",
        )?;
        let payments = IntGaugeVec::new(
            Opts::new("motcua_payments", "Payment attempts by status"),
            &["status"],
        )?;
        registry.register(Box::new(pool_connections.clone()))?;
        registry.register(Box::new(pool_max.clone()))?;
        registry.register(Box::new(dossiers.clone()))?;
        registry.register(Box::new(overdue.clone()))?;
        let overpaid = IntGauge::new(
            "motcua_payments_overpaid",
            "Payments that brought money beyond their dossier's fee, not yet refunded",
        )?;
        let overpaid_vnd = IntGauge::new(
            "motcua_payments_overpaid_vnd",
            "Money received beyond dossiers' fees and not yet refunded, in dong",
        )?;
        registry.register(Box::new(payments.clone()))?;
        registry.register(Box::new(overpaid.clone()))?;
        registry.register(Box::new(overpaid_vnd.clone()))?;
        let outbox_lag = Gauge::new(
            "motcua_outbox_lag_seconds",
            "Age of the oldest event not yet fanned out to an active webhook subscription it is for (0: none waits)",
        )?;
        let outbox_events =
            IntGauge::new("motcua_outbox_events_total", "Events written to the outbox")?;
        let webhook_deliveries = IntGaugeVec::new(
            Opts::new(
                "motcua_webhook_deliveries_total",
                "Webhook delivery attempts in the delivery log, by result",
            ),
            &["result"],
        )?;
        registry.register(Box::new(outbox_lag.clone()))?;
        registry.register(Box::new(outbox_events.clone()))?;
        registry.register(Box::new(webhook_deliveries.clone()))?;
        Ok(Self {
            pool_connections,
            pool_max,
            dossiers,
            overdue,
            payments,
            overpaid,
            overpaid_vnd,
            outbox_lag,
            outbox_events,
            webhook_deliveries,
            counted_at: Arc::new(Mutex::new(None)),
        })
    }

    fn business_due(&self) -> bool {
        self.counted_at
            .lock()
            .map(|at| at.is_none_or(|at| at.elapsed() >= BUSINESS_GAUGES_TTL))
            .unwrap_or(true)
    }

    async fn refresh_business(&self, state: &AppState) -> ApiResult<()> {
        if !self.business_due() {
            return Ok(());
        }
        let now = state.clock.now();
        let (by_status, overdue, payments) = state
            .db(move |conn| {
                let (by_status, overdue) = kpi::status_counts(conn, now)?;
                Ok((by_status, overdue, kpi::payment_status_counts(conn)?))
            })
            .await?;
        let count = |list: &[(String, i64)], name: &str| {
            list.iter().find(|(s, _)| s == name).map_or(0, |(_, n)| *n)
        };
        for status in DossierStatus::ALL {
            self.dossiers
                .with_label_values(&[status.as_str()])
                .set(count(&by_status, status.as_str()));
        }
        self.overdue.set(overdue);
        for status in PaymentStatus::ALL {
            self.payments
                .with_label_values(&[status.as_str()])
                .set(count(&payments, status.as_str()));
        }
        if let Ok(mut at) = self.counted_at.lock() {
            *at = Some(Instant::now());
        }
        Ok(())
    }

    /// Overpayments are few and indexed by status: read at every scrape.
    async fn refresh_overpaid(&self, state: &AppState) -> ApiResult<()> {
        let (count, vnd) = state
            .db(|conn| Ok(motcua_persistence::repo::payments::overpaid_totals(conn)?))
            .await?;
        self.overpaid.set(count);
        self.overpaid_vnd.set(vnd);
        Ok(())
    }

    /// The outbox's numbers, through the app (read at each scrape: a stuck
    /// fan-out must show at once).
    async fn refresh_outbox(&self, state: &AppState) -> ApiResult<()> {
        let now = state.clock.now();
        let stats = state
            .db(move |conn| Ok(motcua_app::webhooks::outbox_stats(conn, now)?))
            .await?;
        self.outbox_lag.set(stats.lag_seconds);
        self.outbox_events.set(stats.events);
        for (result, n) in stats.attempts {
            self.webhook_deliveries
                .with_label_values(&[result.as_str()])
                .set(n);
        }
        Ok(())
    }

    fn refresh(&self, state: &AppState) {
        let pool = state.pool.state();
        let idle = i64::from(pool.idle_connections);
        self.pool_connections.with_label_values(&["idle"]).set(idle);
        self.pool_connections
            .with_label_values(&["in_use"])
            .set(i64::from(pool.connections) - idle);
        self.pool_max.set(i64::from(state.pool.max_size()));
    }
}

/// `motcua_notifications_total{channel, result}`: notification attempts of
/// this process by channel (`sms`, `email`) and result (`sent`, `retry`: failed
/// and tried again later, `failed`: given up), read from the worker's
/// counters at each scrape.
pub struct NotificationMetrics {
    counters: Arc<motcua_app::notifications::NotificationCounters>,
    desc: IntCounterVec,
}

const NOTIFICATIONS_TOTAL: &str = "motcua_notifications_total";
const NOTIFICATIONS_HELP: &str = "Notification attempts by channel and result";

impl NotificationMetrics {
    pub fn register(
        registry: &Registry,
        counters: Arc<motcua_app::notifications::NotificationCounters>,
    ) -> Result<(), prometheus::Error> {
        let desc = IntCounterVec::new(
            Opts::new(NOTIFICATIONS_TOTAL, NOTIFICATIONS_HELP),
            &["channel", "result"],
        )?;
        registry.register(Box::new(Self { counters, desc }))
    }
}

impl prometheus::core::Collector for NotificationMetrics {
    fn desc(&self) -> Vec<&prometheus::core::Desc> {
        self.desc.desc()
    }

    fn collect(&self) -> Vec<prometheus::proto::MetricFamily> {
        let Ok(fresh) = IntCounterVec::new(
            Opts::new(NOTIFICATIONS_TOTAL, NOTIFICATIONS_HELP),
            &["channel", "result"],
        ) else {
            return Vec::new();
        };
        for (channel, result, n) in self.counters.snapshot() {
            fresh
                .with_label_values(&[channel.as_str(), result])
                .inc_by(n);
        }
        fresh.collect()
    }
}

/// Prometheus text format: requests by route and status, latency histogram,
/// pool state, dossiers by status, overdue dossiers and payments by status
/// (counted at most every 15 s), unrefunded overpayments, and the outbox: its
/// lag, events written and webhook delivery attempts by result (read at each scrape).
#[utoipa::path(operation_id = "get_metrics", tag = "ops", responses((status = 200, description = "Prometheus text exposition", body = String, content_type = "text/plain")))]
#[get("/metrics")]
pub async fn metrics(
    state: web::Data<AppState>,
    registry: web::Data<Registry>,
    gauges: web::Data<Gauges>,
) -> ApiResult<HttpResponse> {
    gauges.refresh(&state);
    gauges.refresh_business(&state).await?;
    gauges.refresh_overpaid(&state).await?;
    gauges.refresh_outbox(&state).await?;
    let mut buffer = Vec::new();
    TextEncoder::new()
        .encode(&registry.gather(), &mut buffer)
        .map_err(|e| crate::error::ApiError::internal("encode metrics", e))?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(buffer))
}
