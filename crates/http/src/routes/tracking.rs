//! Public tracking of a dossier with its code and the applicant's ID number.

use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::{DateTime, Duration, Utc};
use motcua_domain::dossier::DossierStatus;
use motcua_domain::identity::TaxCode;
use motcua_persistence::repo::{dossiers, rate_limits};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ApiResult};
use crate::extract::Query;
use crate::routes::auth::client_address;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TrackingQuery {
    /// The applicant's 12-digit citizen ID number, or an organisation's tax code.
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

/// Tracking attempts allowed per client address per minute.
pub const PER_MINUTE: i32 = 20;

/// Public look-up. A wrong ID number and an unknown code answer the same 404,
/// so the endpoint tells nothing about dossiers one cannot already name.
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
    let (code, id_number) = (code.into_inner(), query.0.id_number.trim().to_owned());
    let pin = query.0.pin.map(|p| p.trim().to_owned());
    let found = state
        .db(move |conn| {
            let window = rate_limits::hit(
                conn,
                "tracking_address",
                &address,
                Duration::minutes(1),
                Utc::now(),
            )?;
            if window.hits > PER_MINUTE {
                return Err(ApiError::too_many_requests(
                    (window.resets_at - Utc::now()).num_seconds(),
                ));
            }
            let dossier = match dossiers::by_code(conn, &code) {
                Ok(d) => d,
                Err(motcua_persistence::StoreError::NotFound) => return Err(ApiError::not_found()),
                Err(e) => return Err(e.into()),
            };
            let matches = match TaxCode::parse(&id_number) {
                Ok(tax_code) => {
                    dossier.applicant.tax_code.as_deref() == Some(tax_code.as_str())
                        && pin.is_some()
                        && dossiers::tracking_pin(conn, dossier.id)? == pin
                }
                Err(_) => dossier.applicant.id_number.as_deref() == Some(id_number.as_str()),
            };
            if !matches {
                return Err(ApiError::not_found());
            }
            let current_stage = match dossier.status {
                s if s.is_finished() => s.label_vi().to_owned(),
                DossierStatus::SupplementRequested => "Chờ người nộp bổ sung hồ sơ".to_owned(),
                DossierStatus::ResultReady => {
                    format!("Có kết quả, chờ trả tại {}", dossier.agency.name)
                }
                _ => format!(
                    "{} tại {}",
                    dossier.status.label_vi(),
                    dossier.handling_agency.name
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
