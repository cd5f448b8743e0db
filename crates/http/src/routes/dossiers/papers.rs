//! The official papers of a dossier (Circular 01/2018 forms and the
//! declaration) as PDF or HTML: the facts gathered here, the wording from
//! `motcua_domain::papers`, the PDF drawn by `motcua_app::papers`.

use actix_web::http::header::{ACCEPT, CONTENT_DISPOSITION, CONTENT_SECURITY_POLICY};
use actix_web::{HttpRequest, HttpResponse, get, web};
use motcua_domain::papers::{
    self, ApologyFacts, DocumentFacts, PaperFacts, PaperKind, RefusalFacts, StepFacts,
    SupplementFacts,
};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::papers_html::paper_html;
use super::{
    Action, AnyConnection, ApiError, ApiResult, Caller, DateTime, Dossier, ErrorCode, Query, Utc,
    dossiers, receipt_of, who, workflow,
};
use crate::state::AppState;
use motcua_domain::forms::FormDefinition;
use motcua_persistence::repo::forms;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PaperQuery {
    /// `pdf` (default) or `html`; `Accept: text/html` also gives the page.
    #[param(inline)]
    pub format: Option<PaperFormat>,
}

/// How a paper is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaperFormat {
    Pdf,
    Html,
}

/// A PDF document.
pub struct PdfDocument;

impl utoipa::PartialSchema for PdfDocument {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .description(Some("A PDF document (A4, fonts embedded)."))
            .into()
    }
}

impl ToSchema for PdfDocument {}

/// One of the dossier's official papers: the receipt and appointment slip,
/// the supplement request, the refusal notice, the apology letter, the
/// process control sheet or the declaration. Seen by whoever may see the
/// dossier; a paper the dossier does not have answers 409.
#[utoipa::path(operation_id = "get_dossier_paper",
    tag = "dossiers",
    security(("bearer" = [])),
    params(("code" = String, Path), ("kind" = PaperKind, Path), PaperQuery),
    responses((status = 200, description = "The paper as PDF; with `format=html` or `Accept: text/html`, as a printable page",
        content((PdfDocument = "application/pdf"), (String = "text/html"))),
        (status = 404, description = "No such dossier (or not visible to the caller), or no such kind of paper", body = crate::error::ProblemBody),
        (status = 409, description = "`paper_not_applicable`: the dossier has no such paper (no supplement requested, not refused, not late, not received)", body = crate::error::ProblemBody))
)]
#[get("/dossiers/{code}/papers/{kind}")]
pub async fn paper(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    query: Query<PaperQuery>,
) -> ApiResult<HttpResponse> {
    let (code, kind) = path.into_inner();
    let kind: PaperKind = kind.parse().map_err(|_| {
        ApiError::new(ErrorCode::NotFound).detail(
            format!(
                "Không có loại phiếu này; các loại: {}.",
                PaperKind::NAMES.join(", ")
            ),
            format!("No such paper; the kinds: {}.", PaperKind::NAMES.join(", ")),
        )
    })?;
    let html = match query.0.format {
        Some(PaperFormat::Html) => true,
        Some(PaperFormat::Pdf) => false,
        None => req
            .headers()
            .get(ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/html") && !a.contains("application/pdf")),
    };
    let base = match state.settings.server.public_base_url.trim_end_matches('/') {
        "" => {
            let info = req.connection_info();
            format!("{}://{}", info.scheme(), info.host())
        }
        base => base.to_owned(),
    };
    let (me, hours, now) = (who(&caller), state.hours, state.clock.now());
    let paper = state
        .db(move |conn| {
            let (dossier, _) = workflow::visible(conn, me, &code)?;
            let link = format!("{base}/api/v1/tracking/{}", dossier.code);
            let facts = facts_of(conn, &dossier, hours, link, now)?;
            papers::applies(kind, &facts).map_err(|why| {
                let (vi, en) = why.detail();
                ApiError::new(ErrorCode::PaperNotApplicable).detail(vi, en)
            })?;
            Ok(papers::paper(kind, &facts))
        })
        .await?;
    if html {
        return Ok(HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .insert_header((
                CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'",
            ))
            .body(paper_html(&paper)));
    }
    let file = format!("{}-{}.pdf", paper.kind, paper.code);
    let bytes = web::block(move || motcua_app::papers::pdf(&paper))
        .await
        .map_err(|_| ApiError::new(ErrorCode::InternalError))?
        .map_err(|e| {
            tracing::error!(error = %e, "a paper could not be drawn");
            ApiError::new(ErrorCode::InternalError)
        })?;
    Ok(HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((CONTENT_DISPOSITION, format!("inline; filename=\"{file}\"")))
        .body(bytes))
}

/// The dossier's form data as it stands, with the form version it was filed
/// under (its labels, sections and order print the declaration).
fn declaration_of(
    conn: &mut AnyConnection,
    dossier_id: i64,
) -> ApiResult<(Option<serde_json::Value>, Option<FormDefinition>)> {
    let Some(filed) = forms::of_dossier(conn, dossier_id)? else {
        return Ok((None, None));
    };
    let form = forms::at_version(conn, filed.procedure_id, filed.form_version)?;
    Ok((Some(filed.data), form.map(|f| f.definition)))
}

/// What the papers of `d` are made from: the receipt's data, the supplement
/// requests, apologies and refusal, and the trail.
fn facts_of(
    conn: &mut AnyConnection,
    d: &Dossier,
    hours: motcua_domain::calendar::WorkingHours,
    tracking_link: String,
    now: DateTime<Utc>,
) -> ApiResult<PaperFacts> {
    let receipt = match d.received_at {
        Some(_) => Some(receipt_of(conn, d, hours)?),
        None => None,
    };
    let history = dossiers::history(conn, d.id)?;
    let (form_data, form) = declaration_of(conn, d.id)?;
    let by_action = |action: Action| {
        history
            .iter()
            .filter(move |e| e.action == action.as_str())
            .collect::<Vec<_>>()
    };
    let requests = by_action(Action::RequestSupplement);
    let supplements = dossiers::supplement_requests_of(conn, d.id)?
        .into_iter()
        .enumerate()
        .map(|(i, s)| SupplementFacts {
            missing: s.missing,
            deadline: s.deadline,
            requested_at: s.requested_at,
            requested_by: requests.get(i).and_then(|e| e.actor_name.clone()),
            reason: requests.get(i).and_then(|e| e.note.clone()),
        })
        .collect();
    let refusal = by_action(Action::Refuse).last().map(|e| RefusalFacts {
        reason: e.note.clone().unwrap_or_default(),
        at: e.at,
        by: e.actor_name.clone(),
    });
    let apologies = dossiers::apologies(conn, d.id)?
        .into_iter()
        .map(|a| ApologyFacts {
            reason: a.reason,
            new_appointment_date: a.new_appointment_date,
            at: a.created_at,
        })
        .collect();
    let point = d.received_at_agency.as_ref();
    let agency_of = |id: Option<i64>| match id {
        Some(id) if id == d.agency.id => Some(d.agency.name.clone()),
        Some(id) if id == d.handling_agency.id => Some(d.handling_agency.name.clone()),
        Some(id) if point.is_some_and(|p| p.id == id) => point.map(|p| p.name.clone()),
        _ => None,
    };
    let steps = history
        .iter()
        .map(|e| StepFacts {
            action: e.action.clone(),
            to_status: e.to_status,
            actor: e.actor_name.clone(),
            agency: agency_of(e.actor_agency_id),
            note: e.note.clone(),
            at: e.at,
        })
        .collect();
    Ok(PaperFacts {
        code: d.code.clone(),
        agency_name: d.agency.name.clone(),
        handling_agency_name: d.handling_agency.name.clone(),
        received_at_agency_name: point.map(|p| p.name.clone()),
        procedure_code: d.procedure.code.clone(),
        procedure_name: d.procedure.name.clone(),
        applicant_name: d.applicant.full_name.clone(),
        applicant_id_number: d.applicant.id_number.as_deref().map(|n| {
            let shown = n.chars().count().saturating_sub(4);
            format!("********{}", n.chars().skip(shown).collect::<String>())
        }),
        applicant_tax_code: d.applicant.tax_code.clone(),
        status: d.status,
        submitted_at: d.submitted_at,
        received_at: d.received_at,
        received_by: receipt.as_ref().and_then(|r| r.received_by.clone()),
        appointment_at: d.appointment_at,
        due_at: d.due_at,
        fees_due_vnd: d.fees_due_vnd,
        documents: receipt
            .as_ref()
            .map(|r| {
                r.documents
                    .iter()
                    .map(|l| DocumentFacts {
                        name: l.name.clone(),
                        originals: l.originals,
                        copies: l.copies,
                        form: l.form.to_owned(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        supplements,
        refusal,
        apologies,
        steps,
        form_data,
        form,
        tracking_pin: dossiers::tracking_pin(conn, d.id)?,
        tracking_link,
        printed_at: now,
    })
}
