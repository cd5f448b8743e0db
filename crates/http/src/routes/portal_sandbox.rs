//! The sandbox national portal (development and tests only, mounted with
//! the payment sandbox): it receives dossier-sync messages, checks each one
//! as the portal does (`domain::portal::validate`: required fields, code
//! formats, the transition from the last status it accepted for the
//! dossier) and answers like the portal, `{"success": …, "error_code",
//! "message"}`. It can be told to fail the next pushes, and shows what it
//! received. It keeps all this in the process's memory.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use actix_web::{HttpResponse, get, post, web};
use motcua_domain::portal::{self, PortalAnswer, SyncMessage};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::state::AppState;

/// What the sandbox portal holds.
#[derive(Debug, Default)]
pub struct PortalSandbox {
    inner: Mutex<Held>,
}

#[derive(Debug, Default)]
struct Held {
    /// Pushes still to answer with `unavailable`.
    failures: u32,
    /// Accepted status codes per dossier, in order, and the last message.
    dossiers: HashMap<String, (Vec<u8>, SyncMessage)>,
}

impl PortalSandbox {
    fn held(&self) -> std::sync::MutexGuard<'_, Held> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Answers one message as the portal would.
    pub fn receive(&self, message: SyncMessage) -> (u16, PortalAnswer) {
        let mut held = self.held();
        if held.failures > 0 {
            held.failures -= 1;
            return (
                503,
                PortalAnswer::error("unavailable", "the portal is unavailable, try again later"),
            );
        }
        let last = held
            .dossiers
            .get(&message.dossier_code)
            .and_then(|(codes, _)| codes.last().copied());
        if let Err(refusal) = portal::validate(&message, last) {
            return (422, PortalAnswer::error(&refusal.code, refusal.message));
        }
        let entry = held
            .dossiers
            .entry(message.dossier_code.clone())
            .or_insert_with(|| (Vec::new(), message.clone()));
        entry.0.push(message.status);
        entry.1 = message;
        (200, PortalAnswer::ok())
    }
}

/// Receives one dossier-sync message.
#[utoipa::path(operation_id = "sandbox_portal_receive", tag = "sandbox", request_body = SyncMessage,
    responses((status = 200, body = PortalAnswer), (status = 400, description = "Not a sync message", body = PortalAnswer),
        (status = 422, description = "Refused: missing field, bad format or transition", body = PortalAnswer),
        (status = 503, description = "Told to fail", body = PortalAnswer)))]
#[post("/sandbox/portal/dossiers")]
pub async fn receive(state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    let (status, answer) = match serde_json::from_slice::<SyncMessage>(&body) {
        Ok(message) => state.portal_sandbox.receive(message),
        Err(error) => (400, PortalAnswer::error("bad_format", error.to_string())),
    };
    let status = actix_web::http::StatusCode::from_u16(status)
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    HttpResponse::build(status).json(answer)
}

/// What the sandbox portal holds of one dossier.
#[derive(Debug, Serialize, ToSchema)]
pub struct SandboxPortalDossier {
    pub dossier_code: String,
    /// Every status code it accepted for the dossier, in order.
    pub statuses: Vec<u8>,
    pub last: SyncMessage,
}

/// What the sandbox portal received for a dossier.
#[utoipa::path(operation_id = "sandbox_portal_dossier", tag = "sandbox", params(("code" = String, Path)),
    responses((status = 200, body = SandboxPortalDossier), (status = 404, body = crate::error::ProblemBody)))]
#[get("/sandbox/portal/dossiers/{code}")]
pub async fn dossier(
    state: web::Data<AppState>,
    code: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let code = code.into_inner();
    let held = state.portal_sandbox.held();
    let (statuses, last) = held.dossiers.get(&code).ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(SandboxPortalDossier {
        dossier_code: code.clone(),
        statuses: statuses.clone(),
        last: last.clone(),
    }))
}

/// How many next pushes the sandbox portal answers `503 unavailable`.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SandboxPortalFailures {
    #[schema(minimum = 0, maximum = 1000)]
    pub times: u32,
}

/// More failures than any retry schedule would meet.
const MAX_SANDBOX_FAILURES: u32 = 1000;

/// Tells the sandbox portal to fail the next pushes.
#[utoipa::path(operation_id = "sandbox_portal_fail", tag = "sandbox", request_body = SandboxPortalFailures,
    responses((status = 200, body = SandboxPortalFailures), (status = 422, body = crate::error::ProblemBody)))]
#[post("/sandbox/portal/failures")]
pub async fn fail(
    state: web::Data<AppState>,
    body: Json<SandboxPortalFailures>,
) -> ApiResult<HttpResponse> {
    if body.0.times > MAX_SANDBOX_FAILURES {
        return Err(ApiError::field(
            "times",
            motcua_domain::validation::Problem::OutOfRange {
                min: 0,
                max: i64::from(MAX_SANDBOX_FAILURES),
            },
        ));
    }
    state.portal_sandbox.held().failures = body.0.times;
    Ok(HttpResponse::Ok().json(SandboxPortalFailures {
        times: body.0.times,
    }))
}
