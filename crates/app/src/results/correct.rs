//! Correcting an issued result (đính chính): an officer records it with a
//! new result version; the version before stays readable, superseded. Free
//! of charge; due the procedure's correction time (5 working days unless
//! it says otherwise) after the request. The dossier itself is not changed:
//! its KPI facts stay those of the original; corrections count on their own.

use chrono::{DateTime, Utc};
use motcua_domain::calendar::WorkingHours;
use motcua_domain::document::{DocumentKind, DocumentStage};
use motcua_domain::event::EventType;
use motcua_domain::handling;
use motcua_domain::results::{
    Requester, check_correctable, correction_due, correction_reason, may_correct,
    may_record_correction,
};
use motcua_domain::rule::RuleCode;
use motcua_domain::validation::{FieldError, Problem};
use motcua_persistence::repo::dossiers::{self, NewDossierDocument};
use motcua_persistence::repo::results as repo;
use motcua_persistence::repo::{calendar, documents, procedures};
use motcua_persistence::{AnyConnection, StoreError, write_tx};

use super::{CorrectionFacts, SealingKey, VersionView, issue_version, trail, versions};
use crate::dossiers::{Principal, WorkflowError, WorkflowResult, visible};

/// What a correction carries.
#[derive(Debug, Clone, Default)]
pub struct CorrectionInput {
    /// What was wrong (required).
    pub reason: Option<String>,
    /// Who asked (the agency when absent).
    pub requested_by: Option<Requester>,
    /// When the request came (now when absent; never in the future).
    pub requested_at: Option<DateTime<Utc>>,
    /// The corrected result file: a result document the caller uploaded.
    pub document_id: Option<String>,
    /// The corrected result exists on paper only.
    pub paper: bool,
}

/// Where keys are sealed and what verification addresses start with.
#[derive(Debug, Clone)]
pub struct Signing<'a> {
    pub sealing: &'a SealingKey,
    pub public_base_url: &'a str,
    pub hours: WorkingHours,
}

fn invalid(field: &str, problem: Problem) -> WorkflowError {
    WorkflowError::Invalid(vec![FieldError {
        field: field.to_owned(),
        problem,
    }])
}

/// The corrected file's SHA-256, after checking it is a fresh result
/// document of the caller's and attaching it to the dossier.
fn corrected_file(
    conn: &mut AnyConnection,
    caller: Principal,
    dossier: &motcua_domain::dossier::Dossier,
    input: &CorrectionInput,
    now: DateTime<Utc>,
) -> WorkflowResult<Option<String>> {
    let given = usize::from(input.document_id.is_some());
    handling::check_result_given(given, false, input.paper)
        .map_err(|problem| invalid("document_id", problem))?;
    let Some(id) = input.document_id.as_deref() else {
        return Ok(None);
    };
    let unusable = || invalid("document_id", Problem::rule(RuleCode::DocumentNotUsable));
    let doc = match documents::get(conn, id) {
        Ok(d) => d,
        Err(StoreError::NotFound) => return Err(unusable()),
        Err(e) => return Err(e.into()),
    };
    let fresh = doc.kind == DocumentKind::Result
        && doc.uploaded_by == caller.user_id
        && documents::dossiers_of(conn, id)?.is_empty();
    if !fresh {
        return Err(unusable());
    }
    documents::set_owner(conn, id, dossier.applicant.id)?;
    dossiers::add_document(
        conn,
        dossier.id,
        &NewDossierDocument {
            requirement: None,
            document_id: Some(id),
            paper: false,
            reused: false,
            stage: DocumentStage::Result.as_str(),
        },
        now,
    )?;
    if dossier.status == motcua_domain::dossier::DossierStatus::Returned {
        documents::store(conn, &[id.to_owned()])?;
    }
    Ok(Some(doc.sha256))
}

/// Records a correction. Checks, in order: visible (404), the caller may
/// (403), the dossier's result is issued (409) and not revoked (409
/// `result_revoked`), the input (422). The trail gets a `correct_result` line.
pub fn correct(
    conn: &mut AnyConnection,
    caller: Principal,
    code: &str,
    input: &CorrectionInput,
    signing: &Signing<'_>,
    now: DateTime<Utc>,
) -> WorkflowResult<Vec<VersionView>> {
    write_tx(conn, |conn| {
        let (dossier, actor) = visible(conn, caller, code)?;
        if !may_record_correction(actor) {
            return Err(WorkflowError::Forbidden);
        }
        if !may_correct(dossier.status) {
            return Err(WorkflowError::NotAllowed {
                status: dossier.status,
                allowed: Vec::new(),
            });
        }
        let latest = repo::versions_of(conn, dossier.id)?
            .last()
            .map(|v| v.standing);
        check_correctable(latest).map_err(WorkflowError::NotInForce)?;
        let reason = correction_reason(input.reason.as_deref())?;
        let requested_at = input.requested_at.unwrap_or(now);
        if requested_at > now {
            return Err(invalid(
                "requested_at",
                Problem::rule(RuleCode::RequestedInFuture),
            ));
        }
        let file_sha256 = corrected_file(conn, caller, &dossier, input, now)?;
        let calendar = calendar::load(conn, signing.hours)?;
        let days = procedures::get_by_id(conn, dossier.procedure.id)?
            .spec
            .correction_days;
        let correction = CorrectionFacts {
            reason,
            requested_by: input.requested_by.unwrap_or(Requester::Agency),
            requested_at,
            due_at: correction_due(&calendar, requested_at, days),
        };
        let note = correction.reason.clone();
        let issued = issue_version(
            conn,
            signing.sealing,
            &dossier,
            file_sha256.into_iter().collect(),
            caller.user_id,
            Some(correction),
            now,
        )?;
        trail(
            conn,
            caller,
            &dossier,
            "correct_result",
            Some(&note),
            serde_json::json!({
                "version": issued.version,
                "number": issued.number,
                "requested_by": issued.requested_by,
                "due_at": issued.due_at,
            }),
            now,
        )?;
        crate::outbox::dossier_change(conn, EventType::DossierResultCorrected, &dossier, now)?;
        Ok(versions(conn, dossier.id, signing.public_base_url)?)
    })
}
