//! Results (docs/results.md): the postal return of a dossier, its result
//! versions, corrections and revocations, the public verification of a
//! result and the published signing keys, key rotation, and the results'
//! KPI counts.

use actix_web::http::header::{CACHE_CONTROL, ETAG};
use actix_web::{HttpRequest, HttpResponse, get, post, put, web};
use chrono::{DateTime, Days, NaiveTime, Utc};
use motcua_app::results::correct::{CorrectionInput, Signing};
use motcua_app::results::postal::PostalInput;
use motcua_app::results::{self, KeySet, ResultVerification, SealingKey, VersionView};
use motcua_domain::Role;
use motcua_domain::local_time;
use motcua_domain::results::Requester;
use motcua_persistence::repo::agencies;
use motcua_persistence::repo::kpi::KpiFilter;
use motcua_persistence::repo::results::{self as repo, PostalReturn, ResultCounts};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Query};
use crate::routes::auth::client_address;
use crate::routes::dossiers::{if_match_optional, who};
use crate::routes::kpi::{Audience, KpiQuery, report_scope};
use crate::state::AppState;
use crate::throttle::Verdict;

/// The routes under `/api/v1` (the key set is served at the root).
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(set_postal_return)
        .service(get_postal_return)
        .service(list_versions)
        .service(correct)
        .service(revoke)
        .service(verify)
        .service(rotate)
        .service(counts);
}

/// Where the result goes by post.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostalReturnBody {
    #[schema(value_type = motcua_domain::rules::PersonName, example = "Nguyễn Văn An")]
    pub recipient: Option<String>,
    #[schema(example = "12 Lê Lợi, phường 1, Bến Tre", max_length = 500)]
    pub address: Option<String>,
    #[schema(example = "0912345678")]
    pub phone: Option<String>,
    /// The postal service's fee in đồng, if any (paid to the post).
    #[schema(minimum = 0, example = 30000)]
    pub fee_vnd: Option<i64>,
}

/// The postal return as recorded, with the dossier's new `ETag`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostalReturnView {
    pub postal_return: PostalReturn,
    pub dossier_etag: String,
}

/// Chooses to receive the result by post, or changes where to: the
/// applicant, a reception officer of the receiving agency or an admin,
/// until the result leaves the counter. `If-Match` is optional here.
#[utoipa::path(operation_id = "set_postal_return",
    tag = "results",
    security(("bearer" = [])),
    params(("code" = String, Path), ("If-Match" = Option<String>, Header, description = "The dossier's ETag; absent or `*`: whatever version is current")),
    request_body = PostalReturnBody,
    responses(
        (status = 200, body = PostalReturnView, headers(("ETag" = String))),
        (status = 403, body = crate::error::ProblemBody),
        (status = 404, body = crate::error::ProblemBody),
        (status = 409, description = "The result has left the counter, or the dossier is finished", body = crate::error::ProblemBody),
        (status = 412, body = crate::error::ProblemBody),
        (status = 422, body = crate::error::ProblemBody),
    )
)]
#[put("/dossiers/{code}/postal-return")]
pub async fn set_postal_return(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    code: web::Path<String>,
    body: Json<PostalReturnBody>,
) -> ApiResult<HttpResponse> {
    let version = if_match_optional(&req);
    let input = PostalInput {
        recipient: body.0.recipient,
        address: body.0.address,
        phone: body.0.phone,
        fee_vnd: body.0.fee_vnd,
    };
    let (me, code, clock) = (who(&caller), code.into_inner(), state.clock.clone());
    let (dossier, postal_return) = state
        .db(move |conn| {
            Ok(results::postal::choose(
                conn,
                me,
                &code,
                version,
                &input,
                clock.now(),
            )?)
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((ETAG, dossier.etag()))
        .json(PostalReturnView {
            postal_return,
            dossier_etag: dossier.etag(),
        }))
}

/// The dossier's postal return, to whoever may see the dossier.
#[utoipa::path(operation_id = "get_postal_return",
    tag = "results",
    security(("bearer" = [])),
    params(("code" = String, Path)),
    responses(
        (status = 200, body = PostalReturn),
        (status = 404, description = "No such dossier for the caller, or no postal return chosen", body = crate::error::ProblemBody),
    )
)]
#[get("/dossiers/{code}/postal-return")]
pub async fn get_postal_return(
    state: web::Data<AppState>,
    caller: Caller,
    code: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let (me, code) = (who(&caller), code.into_inner());
    let found = state
        .db(move |conn| {
            let (dossier, _) = motcua_app::dossiers::visible(conn, me, &code)?;
            repo::postal_of(conn, dossier.id)?.ok_or_else(ApiError::not_found)
        })
        .await?;
    Ok(HttpResponse::Ok().json(found))
}

/// The dossier's result versions, first issued first, each with its
/// verification code, QR payload and standing.
#[utoipa::path(operation_id = "list_result_versions",
    tag = "results",
    security(("bearer" = [])),
    params(("code" = String, Path)),
    responses(
        (status = 200, body = Vec<VersionView>),
        (status = 404, body = crate::error::ProblemBody),
    )
)]
#[get("/dossiers/{code}/results")]
pub async fn list_versions(
    state: web::Data<AppState>,
    caller: Caller,
    code: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let (me, code) = (who(&caller), code.into_inner());
    let base = state.settings.server.public_base_url.clone();
    let found = state
        .db(move |conn| {
            let (dossier, _) = motcua_app::dossiers::visible(conn, me, &code)?;
            Ok(results::versions(conn, dossier.id, &base)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(found))
}

/// A correction of an issued result.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CorrectionBody {
    /// What was wrong in the result.
    #[schema(value_type = motcua_domain::rules::Reason, example = "Sai ngày sinh của người được cấp")]
    pub reason: Option<String>,
    /// Who asked: the applicant, or the agency itself (default).
    pub requested_by: Option<Requester>,
    /// When the request came (default: now); the due date counts from it.
    pub requested_at: Option<DateTime<Utc>>,
    /// The corrected result file (uploaded as `kind=result`).
    pub document_id: Option<String>,
    /// The corrected result exists on paper only.
    #[serde(default)]
    pub paper: bool,
}

/// Records a correction (đính chính) of an issued result: a new result
/// version; the one before stays readable, superseded. Free of charge; due
/// the procedure's correction time (5 working days by default) after the
/// request. An officer of the dossier's agencies, or an admin.
#[utoipa::path(operation_id = "correct_result",
    tag = "results",
    security(("bearer" = [])),
    params(("code" = String, Path)),
    request_body = CorrectionBody,
    responses(
        (status = 201, description = "Every version, the new one last", body = Vec<VersionView>),
        (status = 403, body = crate::error::ProblemBody),
        (status = 404, body = crate::error::ProblemBody),
        (status = 409, description = "No issued result to correct", body = crate::error::ProblemBody),
        (status = 422, body = crate::error::ProblemBody),
    )
)]
#[post("/dossiers/{code}/corrections")]
pub async fn correct(
    state: web::Data<AppState>,
    caller: Caller,
    code: web::Path<String>,
    body: Json<CorrectionBody>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    let input = CorrectionInput {
        reason: b.reason,
        requested_by: b.requested_by,
        requested_at: b.requested_at,
        document_id: b.document_id,
        paper: b.paper,
    };
    let (me, code, clock) = (who(&caller), code.into_inner(), state.clock.clone());
    let signer = Signer::of(&state);
    let versions = state
        .db(move |conn| {
            Ok(results::correct::correct(
                conn,
                me,
                &code,
                &input,
                &signer.signing(),
                clock.now(),
            )?)
        })
        .await?;
    Ok(HttpResponse::Created().json(versions))
}

/// Why a result is revoked.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeBody {
    #[schema(value_type = motcua_domain::rules::Reason, example = "Cấp sai đối tượng")]
    pub reason: Option<String>,
}

/// Revokes (thu hồi) the result version in force: the public verification
/// then answers `revoked`, with the revocation signed by the agency's key.
/// A leader of the dossier's agencies (the role that approves results), or
/// an admin. A revoked result is neither revoked again nor corrected (409
/// `result_revoked`); a superseded version is not revoked (409
/// `result_superseded`). The dossier's status and KPIs are untouched.
#[utoipa::path(operation_id = "revoke_result",
    tag = "results",
    security(("bearer" = [])),
    params(("code" = String, Path), ("version" = i32, Path, description = "The result version, 1 for the result as first issued")),
    request_body = RevokeBody,
    responses(
        (status = 200, description = "Every version, the revoked one marked so", body = Vec<VersionView>),
        (status = 403, body = crate::error::ProblemBody),
        (status = 404, description = "No such dossier for the caller, or no such version", body = crate::error::ProblemBody),
        (status = 409, description = "The version is not in force: revoked already, or superseded", body = crate::error::ProblemBody),
        (status = 422, body = crate::error::ProblemBody),
    )
)]
#[post("/dossiers/{code}/results/{version}/revoke")]
pub async fn revoke(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, i32)>,
    body: Json<RevokeBody>,
) -> ApiResult<HttpResponse> {
    let (code, version) = path.into_inner();
    let reason = body.0.reason;
    let (me, clock) = (who(&caller), state.clock.clone());
    let signer = Signer::of(&state);
    let versions = state
        .db(move |conn| {
            Ok(results::revoke::revoke(
                conn,
                me,
                &code,
                version,
                reason.as_deref(),
                &signer.signing(),
                clock.now(),
            )?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(versions))
}

/// Public verification of a result version by its code (printed on the
/// result and in its QR code). No sign-in; counted against the same
/// per-address limit as public tracking; any code that is not one answers
/// the same 404. The signature covers `signature.signed_text`; check it
/// with the key `signature.kid` of `/.well-known/motcua-keys`.
#[utoipa::path(operation_id = "verify_result",
    tag = "results",
    params(("code" = String, Path, description = "The 32-character verification code")),
    responses(
        (status = 200, body = ResultVerification),
        (status = 404, body = crate::error::ProblemBody),
        (status = 429, body = crate::error::ProblemBody),
    )
)]
#[get("/verify/{code}")]
pub async fn verify(
    state: web::Data<AppState>,
    req: HttpRequest,
    code: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let address = client_address(&req, state.settings.server.trust_forwarded_for);
    let verdict = state.tracking_limit.check(&address, state.clock.now());
    let flush = match verdict {
        Verdict::Allowed { flush } | Verdict::Refused { flush, .. } => flush,
    };
    if flush {
        actix_web::rt::spawn(crate::routes::tracking::flush_counts(state.clone()));
    }
    if let Verdict::Refused {
        retry_after_secs, ..
    } = verdict
    {
        return Err(ApiError::too_many_requests(retry_after_secs));
    }
    let code = code.into_inner();
    let found = state
        .db(move |conn| results::verify(conn, &code)?.ok_or_else(ApiError::not_found))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "no-store"))
        .json(found))
}

/// The agencies' public keys, in use and retired: a key retired by a
/// rotation still verifies what it signed.
#[utoipa::path(operation_id = "list_signing_keys",
    tag = "results",
    responses((status = 200, body = KeySet))
)]
#[get("/.well-known/motcua-keys")]
pub async fn keys(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let set = state.db(|conn| Ok(results::key_set(conn)?)).await?;
    Ok(HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "public, max-age=300"))
        .json(set))
}

/// A key made by a rotation.
#[derive(Debug, Serialize, ToSchema)]
pub struct RotatedKey {
    pub kid: String,
    pub agency_id: i64,
}

/// Rotates an agency's signing key (admin): a new key signs from now on;
/// the old one is retired and stays published.
#[utoipa::path(operation_id = "rotate_signing_key",
    tag = "results",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The agency")),
    responses(
        (status = 201, body = RotatedKey),
        (status = 403, body = crate::error::ProblemBody),
        (status = 404, body = crate::error::ProblemBody),
    )
)]
#[post("/agencies/{id}/signing-keys")]
pub async fn rotate(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<i64>,
) -> ApiResult<HttpResponse> {
    caller.require(&[Role::Admin])?;
    let (agency_id, clock) = (id.into_inner(), state.clock.clone());
    let sealing = SealingKey::from_settings(&state.settings);
    let kid = state
        .db(move |conn| {
            motcua_persistence::write_tx(conn, |conn| {
                agencies::by_id(conn, agency_id)?;
                let signer = results::keys::rotate(conn, &sealing, agency_id, clock.now())?;
                Ok::<_, ApiError>(signer.kid)
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(RotatedKey { kid, agency_id }))
}

/// Results by post, corrections and revocations over a period, counted
/// apart from the dossiers' own KPIs (a corrected dossier still counts once
/// there). The same filters as the other KPI endpoints: period, receiving
/// agency, sector or procedure, submission channel.
#[utoipa::path(operation_id = "get_result_counts",
    tag = "kpi",
    security(("bearer" = [])),
    params(KpiQuery),
    responses((status = 200, body = ResultCounts), (status = 403, body = crate::error::ProblemBody))
)]
#[get("/kpi/results")]
pub async fn counts(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<KpiQuery>,
) -> ApiResult<HttpResponse> {
    let scope = report_scope(&state, query.0, Audience::Staff(caller)).await?;
    let start = |day| local_time::instant(day, NaiveTime::MIN);
    let (from, to) = (
        start(scope.from),
        start(scope.to.checked_add_days(Days::new(1)).unwrap_or(scope.to)),
    );
    let filter = KpiFilter {
        agency_id: scope.agency.as_ref().map(|a| a.id),
        procedure_ids: scope
            .procedures
            .as_ref()
            .map(|p| p.iter().map(|(id, _)| *id).collect()),
        channel: scope.channel,
    };
    let body = state
        .db(move |conn| Ok(repo::counts(conn, &filter, from, to)?))
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// What a result version is signed with, taken from the settings for a
/// request's database closure (corrections and revocations alike).
struct Signer {
    sealing: SealingKey,
    public_base_url: String,
    hours: motcua_domain::calendar::WorkingHours,
}

impl Signer {
    fn of(state: &AppState) -> Self {
        Self {
            sealing: SealingKey::from_settings(&state.settings),
            public_base_url: state.settings.server.public_base_url.clone(),
            hours: state.hours,
        }
    }

    fn signing(&self) -> Signing<'_> {
        Signing {
            sealing: &self.sealing,
            public_base_url: &self.public_base_url,
            hours: self.hours,
        }
    }
}
