//! Public tracking of a dossier with its code and the applicant's ID number.

use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::{DateTime, Utc};
use motcua_domain::dossier::DossierStatus;
use motcua_domain::identity::{CitizenId, TaxCode};
use motcua_domain::representation;
use motcua_persistence::repo::{dossiers, rate_limits, representatives, tracking};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ApiResult};
use crate::extract::Query;
use crate::routes::auth::client_address;
use crate::state::AppState;
use crate::throttle::Verdict;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TrackingQuery {
    /// The applicant's 12-digit citizen ID number, or an organisation's tax
    /// code; or, while the dossier is open, the citizen ID number of the
    /// person who filed it as the applicant's representative.
    pub id_number: String,
    /// With a tax code: the tracking PIN printed on the receipt.
    pub pin: Option<String>,
}

/// What anyone holding the code and the ID number may know: nothing more.
#[derive(Debug, Serialize, ToSchema)]
pub struct Tracking {
    pub code: String,
    pub status: DossierStatus,
    pub status_label: &'static str,
    pub received_at: Option<DateTime<Utc>>,
    /// The appointment to collect the result.
    pub appointment_at: Option<DateTime<Utc>>,
    /// Where the dossier is now, in Vietnamese.
    pub current_stage: String,
}

/// The shared counters' bucket (table `rate_limits`).
pub const BUCKET: &str = "tracking_address";

/// Public look-up. A wrong ID number and an unknown code answer the same 404,
/// so the endpoint tells nothing about dossiers one cannot already name.
/// Each client address gets `tracking.per_window` look-ups per window, counted
/// in memory (see `crate::throttle`): a look-up writes nothing.
#[utoipa::path(operation_id = "track_dossier", 
    tag = "dossiers",
    params(("code" = String, Path), TrackingQuery),
    responses((status = 200, body = Tracking), (status = 404, body = crate::error::ProblemBody), (status = 429, body = crate::error::ProblemBody))
)]
#[get("/tracking/{code}")]
pub async fn track(
    state: web::Data<AppState>,
    req: HttpRequest,
    code: web::Path<String>,
    query: Query<TrackingQuery>,
) -> ApiResult<HttpResponse> {
    let address = client_address(&req, state.settings.server.trust_forwarded_for);
    let verdict = state.tracking_limit.check(&address, state.clock.now());
    let flush = match verdict {
        Verdict::Allowed { flush } | Verdict::Refused { flush, .. } => flush,
    };
    if flush {
        actix_web::rt::spawn(flush_counts(state.clone()));
    }
    if let Verdict::Refused {
        retry_after_secs, ..
    } = verdict
    {
        return Err(ApiError::too_many_requests(retry_after_secs));
    }
    let (code, id_number) = (code.into_inner(), query.0.id_number.trim().to_owned());
    let pin = query.0.pin.map(|p| p.trim().to_owned());
    let found = state
        .db(move |conn| {
            let Some(dossier) = tracking::by_code(conn, &code)? else {
                return Err(ApiError::not_found());
            };
            let matches = match TaxCode::parse(&id_number) {
                Ok(tax_code) => {
                    dossier.applicant_tax_code.as_deref() == Some(tax_code.as_str())
                        && pin.is_some()
                        && dossiers::tracking_pin(conn, dossier.id)? == pin
                }
                Err(_) => dossier.applicant_id_number.as_deref() == Some(id_number.as_str()),
            };
            // A person representing the applicant tracks with its own ID
            // number while the dossier is open (one more read, on a mismatch only).
            let representative_matches = !matches
                && CitizenId::parse(&id_number).is_ok()
                && representatives::of_dossier(conn, dossier.id)?.is_some_and(|r| {
                    r.representative.id_number.as_deref() == Some(id_number.as_str())
                });
            if !representation::may_track(
                matches,
                representative_matches,
                dossier.status.is_finished(),
            ) {
                return Err(ApiError::not_found());
            }
            let current_stage = match dossier.status {
                s if s.is_finished() => s.label_vi().to_owned(),
                DossierStatus::SupplementRequested => "Chờ người nộp bổ sung hồ sơ".to_owned(),
                DossierStatus::ResultReady => {
                    format!("Có kết quả, chờ trả tại {}", dossier.agency_name)
                }
                _ => format!(
                    "{} tại {}",
                    dossier.status.label_vi(),
                    dossier.handling_agency_name
                ),
            };
            Ok(Tracking {
                status_label: dossier.status.label_vi(),
                code: dossier.code,
                status: dossier.status,
                received_at: dossier.received_at,
                appointment_at: dossier.appointment_at,
                current_stage,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(found))
}

/// Adds this process's counts to the shared ones and learns which addresses
/// are over the limit everywhere. Runs beside requests, never in their way.
pub(crate) async fn flush_counts(state: web::Data<AppState>) {
    let now = state.clock.now();
    let batch = state.tracking_limit.take(now);
    let (limit, window) = (
        i32::try_from(state.tracking_limit.limit).unwrap_or(i32::MAX),
        state.tracking_limit.window,
    );
    let shared = state
        .db(move |conn| {
            Ok(rate_limits::flush(
                conn,
                BUCKET,
                &batch.counted,
                limit,
                window,
                now,
            )?)
        })
        .await;
    if let Err(e) = &shared {
        tracing::warn!(error = ?e, "tracking limits: shared counters not updated");
    }
    state.tracking_limit.finish(shared.ok());
}
