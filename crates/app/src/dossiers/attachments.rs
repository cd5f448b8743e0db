//! Documents attached to a dossier after filing, and who may read them.

use chrono::{DateTime, Utc};
use motcua_domain::Role;
use motcua_domain::access::{self, IdentityStatus};
use motcua_domain::document::{DocumentKind, DocumentStage};
use motcua_domain::dossier::Dossier;
use motcua_domain::handling::{self, AttachRefusal};
use motcua_domain::rule::RuleCode;
use motcua_domain::validation::Problem;
use motcua_persistence::repo::dossiers::{self, Change, NewDossierDocument, NewEvent};
use motcua_persistence::repo::{documents, kpi, procedures};
use motcua_persistence::{AnyConnection, write_tx};

use super::{Principal, WorkflowError, WorkflowResult, holding, invalid, viewer, visible};

/// Attaches a freshly uploaded document to a dossier: the applicant's
/// supplement, a scan of paper handed in at the counter, or the result.
pub fn attach(
    conn: &mut AnyConnection,
    caller: Principal,
    code: &str,
    document_id: &str,
    requirement: Option<&str>,
    now: DateTime<Utc>,
) -> WorkflowResult<Dossier> {
    write_tx(conn, |conn| {
        let (dossier, actor) = visible(conn, caller, code)?;
        let doc = documents::get(conn, document_id)?;
        let stage =
            handling::attach_stage(doc.kind, actor, dossier.status).map_err(
                |refusal| match refusal {
                    AttachRefusal::Forbidden => WorkflowError::Forbidden,
                    AttachRefusal::NotNow => WorkflowError::NotAllowed {
                        status: dossier.status,
                        allowed: Vec::new(),
                    },
                },
            )?;
        let procedure = procedures::get_by_id(conn, dossier.procedure.id)?;
        let requirement = requirement.map(str::trim).filter(|r| !r.is_empty());
        if let Some(r) = requirement
            && !procedure
                .spec
                .required_documents
                .iter()
                .any(|d| d.code == r)
        {
            return Err(invalid(
                "requirement",
                Problem::rule(RuleCode::UnknownRequirement),
            ));
        }
        if stage == DocumentStage::Submission && requirement.is_none() {
            return Err(invalid("requirement", Problem::Required));
        }
        documents::set_owner(conn, document_id, dossier.applicant.id)?;
        dossiers::add_document(
            conn,
            dossier.id,
            &NewDossierDocument {
                requirement,
                document_id: Some(document_id),
                paper: false,
                reused: false,
                stage: stage.as_str(),
            },
            now,
        )?;
        if stage == DocumentStage::Submission && dossier.received_at.is_some() {
            // A scan of a received paper joins the store like the other accepted documents.
            documents::store(conn, &[document_id.to_owned()])?;
        }
        if !dossiers::update_at(
            conn,
            dossier.id,
            dossier.version,
            &Change::from(&dossier),
            now,
        )? {
            return Err(WorkflowError::Stale {
                current: dossier.version,
            });
        }
        dossiers::append_event(
            conn,
            &NewEvent {
                dossier_id: dossier.id,
                action: "add_document",
                from_status: Some(dossier.status),
                to_status: dossier.status,
                actor_id: Some(caller.user_id),
                actor_role: caller.role,
                actor_agency_id: caller.agency_id,
                note: None,
                data: Some(
                    serde_json::json!({ "document_id": document_id, "stage": stage, "requirement": requirement }),
                ),
                at: now,
            },
        )?;
        kpi::refresh(conn, dossier.id)?;
        Ok(dossiers::by_id(conn, dossier.id)?)
    })
}

/// Whether the caller may download a document: its uploader, admins, and
/// whoever reaches a dossier holding it ([`visible`]); an applicant gets a
/// result only once it is in their store (returned, fees paid).
pub fn may_read_document(
    conn: &mut AnyConnection,
    caller: Principal,
    doc: &motcua_domain::document::Document,
) -> WorkflowResult<bool> {
    if caller.role == Role::Admin || doc.uploaded_by == caller.user_id {
        return Ok(true);
    }
    let viewer = viewer(conn, caller)?;
    if caller.role == Role::Citizen
        && viewer.identity == IdentityStatus::Verified
        && viewer.applicant_id.is_some()
        && doc.applicant_id == viewer.applicant_id
        && (doc.kind == DocumentKind::Input || doc.in_store)
    {
        return Ok(true);
    }
    for id in documents::dossiers_of(conn, &doc.id)? {
        let dossier = dossiers::by_id(conn, id)?;
        let Some(reach) = access::reach(viewer, holding(conn, viewer, &dossier)?) else {
            continue;
        };
        let applicant_side = reach.as_applicant && caller.role == Role::Citizen;
        if !applicant_side || doc.kind == DocumentKind::Input || doc.in_store {
            return Ok(true);
        }
    }
    Ok(false)
}
