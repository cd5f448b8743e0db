//! E-forms (docs/forms.md): a procedure's form definition (public), a new
//! version of it (admins), and what pre-fills for the calling citizen.

use actix_web::http::header::CACHE_CONTROL;
use actix_web::{HttpRequest, HttpResponse, get, put, web};
use chrono::{DateTime, Utc};
use motcua_app::forms;
use motcua_domain::forms::{FormDefinition, PrefillValue, assemble};
use motcua_persistence::repo::forms::StoredForm;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::dossiers::who;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::extract::{Json, Query};
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(get_form).service(replace_form).service(prefill);
}

/// A version of a procedure's form: the JSON Schema (2020-12) of its data
/// and how to present it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProcedureForm {
    #[schema(example = "1.009397")]
    pub procedure_code: String,
    /// The form's version; a dossier keeps the version it was filed under.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    #[serde(flatten)]
    pub definition: FormDefinition,
}

impl ProcedureForm {
    fn of(code: String, form: StoredForm) -> Self {
        Self {
            procedure_code: code,
            version: form.version,
            created_at: form.created_at,
            definition: form.definition,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FormQuery {
    /// An earlier version (the one a dossier was filed under); default the latest.
    #[param(minimum = 1)]
    pub version: Option<i32>,
}

/// A procedure's e-form (tờ khai): its latest version, or the one asked for.
#[utoipa::path(operation_id = "get_procedure_form", tag = "forms", params(("code" = String, Path, example = "1.009397"), FormQuery), responses((status = 200, body = ProcedureForm), (status = 404, description = "No such procedure, or it has no form (of that version)", body = crate::error::ProblemBody)))]
#[get("/procedures/{code}/form")]
pub async fn get_form(
    state: web::Data<AppState>,
    code: web::Path<String>,
    query: Query<FormQuery>,
) -> ApiResult<HttpResponse> {
    let (code, version) = (code.into_inner(), query.0.version);
    let (procedure, form) = state
        .db(move |conn| Ok(forms::definition(conn, &code, version)?))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "public, max-age=60"))
        .json(ProcedureForm::of(procedure.spec.code, form)))
}

/// Publishes a new version of a procedure's e-form (admin). The definition
/// is checked first: a JSON Schema 2020-12 of an object, each field's
/// pointer in it, known pre-fill sources. Dossiers filed before keep their
/// version.
#[utoipa::path(operation_id = "replace_procedure_form", tag = "forms", security(("bearer" = [])), params(("code" = String, Path, example = "1.009397")), request_body = FormDefinition, responses((status = 200, body = ProcedureForm), (status = 403, body = crate::error::ProblemBody), (status = 404, body = crate::error::ProblemBody), (status = 422, body = crate::error::ProblemBody)))]
#[put("/procedures/{code}/form")]
pub async fn replace_form(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    code: web::Path<String>,
    body: Json<FormDefinition>,
) -> ApiResult<HttpResponse> {
    let (me, code, now) = (who(&caller), code.into_inner(), state.clock.now());
    let actor = super::audit::actor(&req, &caller);
    let (procedure, form) = state
        .db(move |conn| {
            Ok(forms::replace_definition(
                conn, me, &actor, &code, &body.0, now,
            )?)
        })
        .await?;
    tracing::info!(code = %procedure.spec.code, version = form.version, by = caller.user_id, "procedure form replaced");
    Ok(HttpResponse::Ok().json(ProcedureForm::of(procedure.spec.code, form)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PrefillQuery {
    /// The procedure's code.
    #[param(example = "1.009397")]
    pub procedure: String,
}

/// What a form pre-fills for the caller.
#[derive(Debug, Serialize, ToSchema)]
pub struct PrefillView {
    pub procedure_code: String,
    /// The form version the values are for.
    pub form_version: i32,
    /// Each value with its source: `profile` (the applicant's record) or
    /// `dossier` (the same field of the latest earlier dossier, named).
    pub values: Vec<PrefillValue>,
    /// The values assembled into form data to start from.
    #[schema(value_type = Object)]
    pub data: Value,
}

/// What the applicant's profile and earlier dossiers pre-fill in a
/// procedure's form (citizen). Filing values equal to those of an earlier
/// dossier counts toward the data-reuse KPI.
#[utoipa::path(operation_id = "get_prefill", tag = "forms", security(("bearer" = [])), params(PrefillQuery), responses((status = 200, body = PrefillView), (status = 403, body = crate::error::ProblemBody), (status = 404, body = crate::error::ProblemBody)))]
#[get("/me/prefill")]
pub async fn prefill(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<PrefillQuery>,
) -> ApiResult<HttpResponse> {
    let (me, code) = (who(&caller), query.0.procedure);
    let found = state
        .db(move |conn| Ok(forms::prefill_for(conn, me, &code)?))
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "no-store"))
        .json(PrefillView {
            procedure_code: found.procedure.spec.code,
            form_version: found.form_version,
            data: assemble(&found.values),
            values: found.values,
        }))
}
