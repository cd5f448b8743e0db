//! One method per action: what each action checks and changes on the dossier read
//! by [`Step::open`], before [`Step::finish`] writes it.

use motcua_domain::dossier::ReturnBlocked;
use motcua_persistence::repo::results as postal;

use super::{
    ActionInput, AgencyRef, AnyConnection, DateTime, DocumentKind, DocumentStage, DocumentUse,
    DossierStatus, NewDossierDocument, Principal, Problem, RuleCode, Step, StoreError, Utc,
    WorkflowError, WorkflowResult, action_input, agencies, check_return, documents, dossiers,
    handling, invalid, json, procedures, rejected, result_line, usable,
};

impl Step {
    pub(super) fn receive(
        &mut self,
        conn: &mut AnyConnection,
        now: DateTime<Utc>,
    ) -> WorkflowResult<()> {
        let d = &self.dossier;
        let due = self.calendar.due(now, d.allowed_time, d.time_unit);
        self.change.received_at = Some(now);
        self.change.due_at = Some(due);
        self.change.appointment_at = Some(due);
        self.data.insert("due_at".into(), json!(due));
        // Accepted documents join the applicant's store.
        let accepted =
            self.document_ids(|d| d.stage != DocumentStage::Result.as_str() && !d.reused);
        documents::store(conn, &accepted)?;
        Ok(())
    }

    pub(super) fn assign(
        &mut self,
        conn: &mut AnyConnection,
        input: &ActionInput,
    ) -> WorkflowResult<()> {
        handling::check_assignment(input.assignee_id, input.unit_id)
            .map_err(|problem| invalid("assignee_id", problem))?;
        let handling = self.dossier.handling_agency.id;
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
        let unit = input.unit_id.or(self.dossier.assigned_unit_id);
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
            dossiers::add_agency(conn, self.dossier.id, u)?;
            self.agencies_added.push(u);
        }
        self.change.assignee_id = input.assignee_id;
        self.change.assigned_unit_id = unit;
        self.data
            .insert("assignee_id".into(), json!(input.assignee_id));
        self.data.insert("unit_id".into(), json!(input.unit_id));
        Ok(())
    }

    pub(super) fn request_supplement(
        &mut self,
        conn: &mut AnyConnection,
        caller: Principal,
        input: &ActionInput,
        now: DateTime<Utc>,
    ) -> WorkflowResult<()> {
        let missing = action_input::missing_items(&input.missing).map_err(rejected)?;
        let deadline = handling::supplement_deadline(&self.calendar, input.deadline, now)
            .map_err(|problem| invalid("deadline", problem))?;
        let id = self.dossier.id;
        let fields = crate::forms::point_supplement(conn, id, &input.fields)?;
        dossiers::add_supplement_request(conn, id, caller.user_id, &missing, deadline, now)?;
        self.requests = dossiers::supplement_requests_of(conn, id)?;
        self.change.supplement_from = Some(self.from);
        if self.from == DossierStatus::InReview {
            // The clock stops while the applicant gathers what is missing.
            self.change.supplement_count += 1;
            let d = &self.dossier;
            if let Some(due) = d.due_at {
                self.change.paused_at = Some(now);
                self.change.paused_remaining = Some(handling::remaining_at_supplement(
                    &self.calendar,
                    due,
                    d.received_at,
                    d.time_unit,
                    now,
                ));
            }
        }
        self.data.insert("missing".into(), json!(missing));
        if !fields.is_empty() {
            self.data.insert("fields".into(), json!(fields));
        }
        self.data.insert("deadline".into(), json!(deadline));
        Ok(())
    }

    /// Adds the supplement's documents; returns how many count as given.
    pub(super) fn add_supplement_documents(
        &mut self,
        conn: &mut AnyConnection,
        caller: Principal,
        input: &ActionInput,
        now: DateTime<Utc>,
    ) -> WorkflowResult<usize> {
        let applicant = self.dossier.applicant.id;
        let ids = action_input::document_ids(&input.documents).map_err(rejected)?;
        for (i, (doc, id)) in input.documents.iter().zip(&ids).enumerate() {
            let reused = match usable(conn, caller, applicant, id)? {
                DocumentUse::Fresh => false,
                DocumentUse::Stored => true,
                DocumentUse::Unusable => {
                    return Err(invalid(
                        &action_input::document_field(i),
                        Problem::rule(RuleCode::DocumentNotUsable),
                    ));
                }
            };
            if !reused {
                documents::set_owner(conn, id, applicant)?;
            }
            let line = NewDossierDocument {
                requirement: doc.requirement.as_deref(),
                document_id: Some(id),
                paper: false,
                reused,
                stage: DocumentStage::Supplement.as_str(),
            };
            dossiers::add_document(conn, self.dossier.id, &line, now)?;
        }
        if !ids.is_empty() {
            self.documents = dossiers::documents_of(conn, self.dossier.id)?;
        }
        // Files uploaded to the dossier since the request count too.
        let since_request = dossiers::open_among(&self.requests).map_or(0, |request| {
            self.documents
                .iter()
                .filter(|d| {
                    d.stage == DocumentStage::Supplement.as_str()
                        && d.added_at >= request.requested_at
                })
                .count()
        });
        Ok(ids.len() + since_request)
    }

    pub(super) fn supplement(
        &mut self,
        conn: &mut AnyConnection,
        caller: Principal,
        input: &ActionInput,
        now: DateTime<Utc>,
    ) -> WorkflowResult<()> {
        let added = self.add_supplement_documents(conn, caller, input, now)?;
        let corrected = match &input.form_data {
            Some(data) => Some(crate::forms::correct(
                conn,
                self.dossier.id,
                data,
                caller.user_id,
                now,
            )?),
            None => None,
        };
        handling::check_supplement_given(
            added + usize::from(corrected.is_some()),
            self.note.is_some(),
        )
        .map_err(|problem| invalid("documents", problem))?;
        if let Some(c) = corrected {
            self.data.insert("form_revision".into(), json!(c.revision));
            self.data.insert("form_fields".into(), json!(c.changed));
            self.data.insert("form_replaced".into(), c.previous);
        }
        if let Some(request) = dossiers::open_among(&self.requests) {
            dossiers::close_supplement_request(conn, request.id, now)?;
            let closed_at = motcua_persistence::time::from_db(motcua_persistence::time::to_db(now));
            for line in self.requests.iter_mut().filter(|r| r.id == request.id) {
                line.supplemented_at = Some(closed_at);
            }
        }
        // Accepted with the dossier, supplement documents join the
        // applicant's store like those checked at reception (a dossier not
        // yet received stores them when it is).
        if self.dossier.received_at.is_some() {
            let supplied =
                self.document_ids(|d| d.stage == DocumentStage::Supplement.as_str() && !d.reused);
            documents::store(conn, &supplied)?;
        }
        let d = &self.dossier;
        if d.supplement_from == Some(DossierStatus::InReview) {
            let clock = procedures::get_by_id(conn, d.procedure.id)?
                .spec
                .supplement_clock;
            let due = handling::due_after_supplement(
                &self.calendar,
                clock,
                d.paused_remaining,
                d.allowed_time,
                d.time_unit,
                now,
            );
            self.change.due_at = Some(due);
            self.change.appointment_at = Some(handling::appointment_after_supplement(
                d.appointment_at,
                due,
            ));
            self.data.insert("due_at".into(), json!(due));
        }
        self.change.paused_at = None;
        self.change.paused_remaining = None;
        self.change.supplement_from = None;
        self.data.insert("documents_added".into(), json!(added));
        Ok(())
    }

    pub(super) fn transfer(
        &mut self,
        conn: &mut AnyConnection,
        input: &ActionInput,
    ) -> WorkflowResult<()> {
        let from = self.dossier.handling_agency.id;
        let target = handling::check_transfer(from, input.target_agency_id)
            .map_err(|problem| invalid("target_agency_id", problem))?;
        let agency = match agencies::by_id(conn, target) {
            Ok(agency) => agency,
            Err(StoreError::NotFound) => {
                return Err(invalid(
                    "target_agency_id",
                    Problem::rule(RuleCode::UnknownAgency),
                ));
            }
            Err(e) => return Err(e.into()),
        };
        dossiers::add_agency(conn, self.dossier.id, target)?;
        self.agencies_added.push(target);
        self.handling = Some(AgencyRef {
            id: agency.id,
            code: agency.code,
            name: agency.name,
        });
        self.change.handling_agency_id = target;
        self.change.assignee_id = None;
        self.change.assigned_unit_id = None;
        self.data.insert("from_agency_id".into(), json!(from));
        self.data.insert("to_agency_id".into(), json!(target));
        Ok(())
    }

    pub(super) fn issue_result(
        &mut self,
        conn: &mut AnyConnection,
        caller: Principal,
        input: &ActionInput,
        now: DateTime<Utc>,
    ) -> WorkflowResult<()> {
        let ids = action_input::document_ids(&input.documents).map_err(rejected)?;
        for (i, id) in ids.iter().enumerate() {
            let unusable = || {
                invalid(
                    &action_input::document_field(i),
                    Problem::rule(RuleCode::DocumentNotUsable),
                )
            };
            let d = match documents::get(conn, id) {
                Ok(d) => d,
                Err(StoreError::NotFound) => return Err(unusable()),
                Err(e) => return Err(e.into()),
            };
            let fresh = d.kind == DocumentKind::Result
                && d.uploaded_by == caller.user_id
                && documents::dossiers_of(conn, id)?.is_empty();
            if !fresh {
                return Err(unusable());
            }
            documents::set_owner(conn, id, self.dossier.applicant.id)?;
            dossiers::add_document(conn, self.dossier.id, &result_line(Some(id)), now)?;
        }
        let attached = self
            .documents
            .iter()
            .any(|d| d.stage == DocumentStage::Result.as_str() && d.document_id.is_some());
        handling::check_result_given(ids.len(), attached, input.paper_result)
            .map_err(|problem| invalid("documents", problem))?;
        if input.paper_result {
            dossiers::add_document(conn, self.dossier.id, &result_line(None), now)?;
        }
        if !ids.is_empty() || input.paper_result {
            self.documents = dossiers::documents_of(conn, self.dossier.id)?;
        }
        self.change.processed_at = Some(now);
        self.data.insert("result_documents".into(), json!(ids));
        if let Some(sealing) = &input.sealing {
            // Every result file's hash, in the order attached: the signature covers them all.
            let mut files_sha256 = Vec::new();
            for id in self.document_ids(|d| d.stage == DocumentStage::Result.as_str()) {
                files_sha256.push(documents::get(conn, &id)?.sha256);
            }
            let version = crate::results::issue_version(
                conn,
                sealing,
                &self.dossier,
                files_sha256,
                caller.user_id,
                None,
                now,
            )?;
            self.data
                .insert("verification_code".into(), json!(version.code));
        }
        Ok(())
    }

    /// The result handed to the postal service (the `post` action): where
    /// to must be known, and the same conditions as a return at the counter
    /// hold. On-time is judged at this hand-over, not at the delivery.
    pub(super) fn post(
        &mut self,
        conn: &mut AnyConnection,
        input: &ActionInput,
        now: DateTime<Utc>,
    ) -> WorkflowResult<()> {
        let tracking = motcua_domain::results::tracking_number(input.tracking_number.as_deref())
            .map_err(rejected)?;
        let d = &self.dossier;
        if postal::postal_of(conn, d.id)?.is_none() {
            return Err(WorkflowError::Blocked(ReturnBlocked::PostalReturnMissing));
        }
        let late = handling::processed_late(&self.calendar, d.due_at, d.processed_at, d.time_unit);
        let apologised = !dossiers::apologies(conn, d.id)?.is_empty();
        check_return(late, apologised, d.fees_due_vnd, d.fees_paid_vnd)
            .map_err(WorkflowError::Blocked)?;
        postal::mark_posted(conn, d.id, &tracking, now)?;
        self.data.insert("tracking_number".into(), json!(tracking));
        self.data.insert("late".into(), json!(late));
        Ok(())
    }

    /// The post delivered the result (the `deliver` action): it is returned.
    pub(super) fn deliver(
        &mut self,
        conn: &mut AnyConnection,
        now: DateTime<Utc>,
    ) -> WorkflowResult<()> {
        postal::mark_delivered(conn, self.dossier.id, now)?;
        let results = self.document_ids(|d| d.stage == DocumentStage::Result.as_str());
        documents::store(conn, &results)?;
        self.change.finished_at = Some(now);
        Ok(())
    }

    /// The result handed to the applicant (the `return` action).
    pub(super) fn hand_back(
        &mut self,
        conn: &mut AnyConnection,
        now: DateTime<Utc>,
    ) -> WorkflowResult<()> {
        let d = &self.dossier;
        let late = handling::processed_late(&self.calendar, d.due_at, d.processed_at, d.time_unit);
        let apologised = !dossiers::apologies(conn, d.id)?.is_empty();
        check_return(late, apologised, d.fees_due_vnd, d.fees_paid_vnd)
            .map_err(WorkflowError::Blocked)?;
        let results = self.document_ids(|d| d.stage == DocumentStage::Result.as_str());
        documents::store(conn, &results)?;
        self.change.finished_at = Some(now);
        self.data.insert("late".into(), json!(late));
        Ok(())
    }

    pub(super) fn apology(
        &mut self,
        conn: &mut AnyConnection,
        caller: Principal,
        input: &ActionInput,
        now: DateTime<Utc>,
    ) -> WorkflowResult<()> {
        let date = action_input::apology_date(input.new_appointment_date).map_err(rejected)?;
        handling::check_apology_date(&self.calendar, date, now)
            .map_err(|problem| invalid("new_appointment_date", problem))?;
        let apology = dossiers::Apology {
            reason: self.note.clone().unwrap_or_default(),
            new_appointment_date: date,
            created_by: caller.user_id,
            created_at: now,
        };
        dossiers::add_apology(conn, self.dossier.id, &apology)?;
        self.change.appointment_at = Some(self.calendar.end_of_day(date));
        self.data.insert("new_appointment_date".into(), json!(date));
        Ok(())
    }
}
