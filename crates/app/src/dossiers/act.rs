//! Actions on a dossier, checked in the order the API answers them.

use super::*;

/// What an action carries besides its name.
#[derive(Debug, Clone, Default)]
pub struct ActionInput {
    pub action: Option<Action>,
    /// Reason or remark; required for refuse, reject, cancel, send back and apology.
    pub note: Option<String>,
    pub assignee_id: Option<i64>,
    pub unit_id: Option<i64>,
    pub target_agency_id: Option<i64>,
    /// What the applicant must add (request_supplement).
    pub missing: Vec<String>,
    pub deadline: Option<NaiveDate>,
    /// Documents added (supplement) or issued (issue_result: document ids).
    pub documents: Vec<DocumentInput>,
    /// The result exists on paper only (issue_result without a digital copy).
    pub paper_result: bool,
    pub new_appointment_date: Option<NaiveDate>,
}

/// Takes an action on a dossier at `expected_version`. Checks, in order:
/// visible (404), permitted for the caller (403), current version (412),
/// permitted from the status (409), the action's own input (422), then
/// preconditions such as payment and apology (409).
pub fn act(
    conn: &mut AnyConnection,
    caller: Principal,
    code: &str,
    expected_version: i32,
    input: ActionInput,
    hours: WorkingHours,
    now: DateTime<Utc>,
) -> WorkflowResult<Dossier> {
    let Some(action) = input.action else {
        return Err(invalid("action", Problem::Required));
    };
    write_tx(conn, |conn| {
        let (dossier, actor) = visible(conn, caller, code)?;
        let to = match decide(dossier.facts(), action, actor) {
            Err(Refusal::Forbidden) => return Err(WorkflowError::Forbidden),
            Ok(_) | Err(Refusal::NotAllowed { .. }) if dossier.version != expected_version => {
                return Err(WorkflowError::Stale {
                    current: dossier.version,
                });
            }
            Err(Refusal::NotAllowed { allowed }) => {
                return Err(WorkflowError::NotAllowed {
                    status: dossier.status,
                    allowed,
                });
            }
            Ok(to) => to,
        };
        let note = input.note.as_deref().map(nfc).filter(|n| !n.is_empty());
        if action.needs_reason() && note.is_none() {
            return Err(invalid("note", Problem::rule(RuleCode::ReasonRequired)));
        }
        if note
            .as_ref()
            .is_some_and(|n| n.chars().count() as u64 > Note::MAX)
        {
            return Err(invalid("note", Problem::TooLong { max: Note::MAX }));
        }
        let calendar = calendar::load(conn, hours)?;
        let mut change = Change::from(&dossier);
        change.status = to;
        let mut data = serde_json::Map::new();
        let from = dossier.status;

        match action {
            Action::Receive => {
                let due = calendar.due(now, dossier.allowed_time, dossier.time_unit);
                change.received_at = Some(now);
                change.due_at = Some(due);
                change.appointment_at = Some(due);
                data.insert("due_at".into(), serde_json::json!(due));
                // Accepted documents join the applicant's store.
                let accepted: Vec<String> = dossiers::documents_of(conn, dossier.id)?
                    .into_iter()
                    .filter(|d| d.stage != DocumentStage::Result.as_str() && !d.reused)
                    .filter_map(|d| d.document_id)
                    .collect();
                documents::store(conn, &accepted)?;
            }
            Action::Assign => {
                handling::check_assignment(input.assignee_id, input.unit_id)
                    .map_err(|problem| invalid("assignee_id", problem))?;
                let handling = dossier.handling_agency.id;
                if let Some(unit) = input.unit_id {
                    match agencies::by_id(conn, unit) {
                        Ok(a) if a.parent_id == Some(handling) => {}
                        Ok(_) | Err(StoreError::NotFound) => {
                            return Err(invalid(
                                "unit_id",
                                Problem::rule(RuleCode::NotInHandlingAgency),
                            ));
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
                let unit = input.unit_id.or(dossier.assigned_unit_id);
                if let Some(user) = input.assignee_id {
                    let in_agency = dossiers::user_in_agency(conn, user, handling)?;
                    let in_unit = match unit {
                        Some(u) => dossiers::user_in_agency(conn, user, u)?,
                        None => None,
                    };
                    if !handling::assignee_fits(in_agency, in_unit) {
                        return Err(invalid(
                            "assignee_id",
                            Problem::rule(RuleCode::NotInHandlingAgency),
                        ));
                    }
                }
                if let Some(u) = input.unit_id {
                    dossiers::add_agency(conn, dossier.id, u)?;
                }
                change.assignee_id = input.assignee_id;
                change.assigned_unit_id = unit;
                data.insert("assignee_id".into(), serde_json::json!(input.assignee_id));
                data.insert("unit_id".into(), serde_json::json!(input.unit_id));
            }
            Action::RequestSupplement => {
                let missing: Vec<String> = input
                    .missing
                    .iter()
                    .map(|m| nfc(m))
                    .filter(|m| !m.is_empty())
                    .collect();
                if missing.is_empty() {
                    return Err(invalid("missing", Problem::Required));
                }
                if missing.iter().any(|m| m.chars().count() > 500) {
                    return Err(invalid("missing", Problem::TooLong { max: 500 }));
                }
                let deadline = handling::supplement_deadline(&calendar, input.deadline, now)
                    .map_err(|problem| invalid("deadline", problem))?;
                dossiers::add_supplement_request(
                    conn,
                    dossier.id,
                    caller.user_id,
                    &missing,
                    deadline,
                    now,
                )?;
                change.supplement_from = Some(from);
                if from == DossierStatus::InReview {
                    // The clock stops while the applicant gathers what is missing.
                    change.supplement_count += 1;
                    if let Some(due) = dossier.due_at {
                        change.paused_at = Some(now);
                        change.paused_remaining = Some(handling::remaining_at_supplement(
                            &calendar,
                            due,
                            dossier.received_at,
                            dossier.time_unit,
                            now,
                        ));
                    }
                }
                data.insert("missing".into(), serde_json::json!(missing));
                data.insert("deadline".into(), serde_json::json!(deadline));
            }
            Action::Supplement => {
                let applicant = dossier.applicant.id;
                let mut added = 0;
                for (i, doc) in input.documents.iter().enumerate() {
                    let Some(id) = doc.document_id.as_deref() else {
                        return Err(invalid(
                            &format!("documents[{i}].document_id"),
                            Problem::Required,
                        ));
                    };
                    let reused = match usable(conn, caller, applicant, id)? {
                        DocumentUse::Fresh => false,
                        DocumentUse::Stored => true,
                        DocumentUse::Unusable => {
                            return Err(invalid(
                                &format!("documents[{i}].document_id"),
                                Problem::rule(RuleCode::DocumentNotUsable),
                            ));
                        }
                    };
                    if !reused {
                        documents::set_owner(conn, id, applicant)?;
                    }
                    dossiers::add_document(
                        conn,
                        dossier.id,
                        &NewDossierDocument {
                            requirement: doc.requirement.as_deref(),
                            document_id: Some(id),
                            paper: false,
                            reused,
                            stage: DocumentStage::Supplement.as_str(),
                        },
                    )?;
                    added += 1;
                }
                let open = dossiers::open_supplement_request(conn, dossier.id)?;
                // Files uploaded to the dossier since the request count too.
                if let Some(request) = &open {
                    added += dossiers::documents_of(conn, dossier.id)?
                        .iter()
                        .filter(|d| {
                            d.stage == DocumentStage::Supplement.as_str()
                                && d.added_at >= request.requested_at
                        })
                        .count();
                }
                handling::check_supplement_given(added, note.is_some())
                    .map_err(|problem| invalid("documents", problem))?;
                if let Some(request) = open {
                    dossiers::close_supplement_request(conn, request.id, now)?;
                }
                // Accepted with the dossier, supplement documents join the
                // applicant's store like those checked at reception (a dossier
                // not yet received stores them when it is).
                if dossier.received_at.is_some() {
                    let supplied: Vec<String> = dossiers::documents_of(conn, dossier.id)?
                        .into_iter()
                        .filter(|d| d.stage == DocumentStage::Supplement.as_str() && !d.reused)
                        .filter_map(|d| d.document_id)
                        .collect();
                    documents::store(conn, &supplied)?;
                }
                if dossier.supplement_from == Some(DossierStatus::InReview) {
                    let clock = procedures::get_by_id(conn, dossier.procedure.id)?
                        .spec
                        .supplement_clock;
                    let due = handling::due_after_supplement(
                        &calendar,
                        clock,
                        dossier.paused_remaining,
                        dossier.allowed_time,
                        dossier.time_unit,
                        now,
                    );
                    change.due_at = Some(due);
                    change.appointment_at = Some(handling::appointment_after_supplement(
                        dossier.appointment_at,
                        due,
                    ));
                    data.insert("due_at".into(), serde_json::json!(due));
                }
                change.paused_at = None;
                change.paused_remaining = None;
                change.supplement_from = None;
                data.insert("documents_added".into(), serde_json::json!(added));
            }
            Action::Transfer => {
                let target =
                    handling::check_transfer(dossier.handling_agency.id, input.target_agency_id)
                        .map_err(|problem| invalid("target_agency_id", problem))?;
                match agencies::by_id(conn, target) {
                    Ok(_) => {}
                    Err(StoreError::NotFound) => {
                        return Err(invalid(
                            "target_agency_id",
                            Problem::rule(RuleCode::UnknownAgency),
                        ));
                    }
                    Err(e) => return Err(e.into()),
                }
                dossiers::add_agency(conn, dossier.id, target)?;
                change.handling_agency_id = target;
                change.assignee_id = None;
                change.assigned_unit_id = None;
                data.insert(
                    "from_agency_id".into(),
                    serde_json::json!(dossier.handling_agency.id),
                );
                data.insert("to_agency_id".into(), serde_json::json!(target));
            }
            Action::IssueResult => {
                let mut issued = Vec::new();
                for (i, doc) in input.documents.iter().enumerate() {
                    let Some(id) = doc.document_id.as_deref() else {
                        return Err(invalid(
                            &format!("documents[{i}].document_id"),
                            Problem::Required,
                        ));
                    };
                    let d = match documents::get(conn, id) {
                        Ok(d) => d,
                        Err(StoreError::NotFound) => {
                            return Err(invalid(
                                &format!("documents[{i}].document_id"),
                                Problem::rule(RuleCode::DocumentNotUsable),
                            ));
                        }
                        Err(e) => return Err(e.into()),
                    };
                    let fresh = d.kind == DocumentKind::Result
                        && d.uploaded_by == caller.user_id
                        && documents::dossiers_of(conn, id)?.is_empty();
                    if !fresh {
                        return Err(invalid(
                            &format!("documents[{i}].document_id"),
                            Problem::rule(RuleCode::DocumentNotUsable),
                        ));
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
                    )?;
                    issued.push(id.to_owned());
                }
                let attached = dossiers::documents_of(conn, dossier.id)?
                    .iter()
                    .any(|d| d.stage == DocumentStage::Result.as_str() && d.document_id.is_some());
                handling::check_result_given(issued.len(), attached, input.paper_result)
                    .map_err(|problem| invalid("documents", problem))?;
                if input.paper_result {
                    dossiers::add_document(
                        conn,
                        dossier.id,
                        &NewDossierDocument {
                            requirement: None,
                            document_id: None,
                            paper: true,
                            reused: false,
                            stage: DocumentStage::Result.as_str(),
                        },
                    )?;
                }
                change.processed_at = Some(now);
                data.insert("result_documents".into(), serde_json::json!(issued));
            }
            Action::Return => {
                let late = handling::processed_late(
                    &calendar,
                    dossier.due_at,
                    dossier.processed_at,
                    dossier.time_unit,
                );
                let apologised = !dossiers::apologies(conn, dossier.id)?.is_empty();
                check_return(
                    late,
                    apologised,
                    dossier.fees_due_vnd,
                    dossier.fees_paid_vnd,
                )
                .map_err(WorkflowError::Blocked)?;
                let results: Vec<String> = dossiers::documents_of(conn, dossier.id)?
                    .into_iter()
                    .filter(|d| d.stage == DocumentStage::Result.as_str())
                    .filter_map(|d| d.document_id)
                    .collect();
                documents::store(conn, &results)?;
                change.finished_at = Some(now);
                data.insert("late".into(), serde_json::json!(late));
            }
            Action::Apology => {
                let Some(date) = input.new_appointment_date else {
                    return Err(invalid("new_appointment_date", Problem::Required));
                };
                handling::check_apology_date(&calendar, date, now)
                    .map_err(|problem| invalid("new_appointment_date", problem))?;
                let reason = note.clone().unwrap_or_default();
                dossiers::add_apology(
                    conn,
                    dossier.id,
                    &dossiers::Apology {
                        reason,
                        new_appointment_date: date,
                        created_by: caller.user_id,
                        created_at: now,
                    },
                )?;
                change.appointment_at = Some(calendar.end_of_day(date));
                data.insert("new_appointment_date".into(), serde_json::json!(date));
            }
            Action::Refuse | Action::Reject | Action::Cancel => {
                change.processed_at = Some(dossier.processed_at.unwrap_or(now));
                change.finished_at = Some(now);
            }
            Action::Withdraw => {
                change.finished_at = Some(now);
            }
            Action::Propose | Action::Approve | Action::SendBack => {}
        }
        if !dossiers::update(conn, dossier.id, dossier.version, &change)? {
            let current = dossiers::by_id(conn, dossier.id)?.version;
            return Err(WorkflowError::Stale { current });
        }
        dossiers::append_event(
            conn,
            &NewEvent {
                dossier_id: dossier.id,
                action: action.as_str(),
                from_status: Some(from),
                to_status: to,
                actor_id: Some(caller.user_id),
                actor_role: caller.role,
                actor_agency_id: caller.agency_id,
                note: note.as_deref(),
                data: (!data.is_empty()).then_some(serde_json::Value::Object(data)),
                at: now,
            },
        )?;
        crate::repo::kpi::refresh(conn, dossier.id)?;
        Ok(dossiers::by_id(conn, dossier.id)?)
    })
}
