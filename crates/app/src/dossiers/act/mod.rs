//! Actions on a dossier, checked in the order the API answers them.
//!
//! One action reads each thing once: the dossier with whether it passed
//! through the caller's agency, its rating, its stored KPI facts, whether
//! it carries form data and the calendar's generation in one statement; the
//! calendar from the process's copy (read only when its generation changed),
//! the document lines and the supplement requests once each (read again
//! only by the actions that add to them); the payments for the KPI facts. Then it writes the dossier, its trail line,
//! its facts and, last before the commit, the aggregate rows other actions
//! share. The response is assembled from what was read and written.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use motcua_domain::Role;
use motcua_domain::access::{Holding, Viewer};
use motcua_domain::action_input;
use motcua_domain::agency::AgencyRef;
use motcua_domain::calendar::{WorkingCalendar, WorkingHours};
use motcua_domain::document::{DocumentKind, DocumentStage};
use motcua_domain::dossier::{
    Action, Actor, Dossier, DossierStatus, Refusal, check_return, decide,
};
use motcua_domain::handling;
use motcua_domain::kpi::KpiFacts;
use motcua_domain::rule::RuleCode;
use motcua_domain::submission::{DocumentInput, DocumentUse};
use motcua_domain::validation::{FieldError, Problem};
use serde_json::{Map, Value, json};

use super::{Principal, WorkflowError, WorkflowResult, actor_with, invalid, usable};
use motcua_persistence::repo::calendar::CalendarCache;
use motcua_persistence::repo::dossiers::{
    self, Change, DossierDocument, NewDossierDocument, NewEvent, OpenSupplement, Rating,
    SupplementLine,
};
use motcua_persistence::repo::kpi::{self, FactLines};
use motcua_persistence::repo::{agencies, documents, procedures};
use motcua_persistence::{AnyConnection, StoreError, write_tx};

mod actions;

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
    /// JSON pointers of the form fields to correct (request_supplement).
    pub fields: Vec<String>,
    pub deadline: Option<NaiveDate>,
    /// Corrected form data (supplement): checked against the form version
    /// the dossier was filed under, stored as its next revision.
    pub form_data: Option<Value>,
    /// Documents added (supplement) or issued (issue_result: document ids).
    pub documents: Vec<DocumentInput>,
    /// The result exists on paper only (issue_result without a digital copy).
    pub paper_result: bool,
    pub new_appointment_date: Option<NaiveDate>,
    /// The postal service's tracking number (post).
    pub tracking_number: Option<String>,
    /// The key sealing the agencies' signing keys: with it, issue_result
    /// signs the result's first version (docs/results.md).
    pub sealing: Option<crate::results::SealingKey>,
}

/// A dossier after an action, with what its detail shows besides (but the
/// apology letters), as the action read and wrote them: no second read.
#[derive(Debug, Clone)]
pub struct Acted {
    pub dossier: Dossier,
    /// Whom the caller acts as on the dossier as it now stands.
    pub actor: Actor,
    pub calendar: Arc<WorkingCalendar>,
    /// It carries form data (`repo::forms::of_dossier` has something to show).
    pub has_form: bool,
    pub documents: Vec<DossierDocument>,
    pub open_supplement: Option<OpenSupplement>,
    pub rating: Option<Rating>,
    /// Money received beyond the fees (see `payments::surplus_of_dossier`).
    pub fees_overpaid_vnd: i64,
}

/// Takes an action on a dossier at `expected_version`; see [`act_and_show`].
/// Without a process's calendar copy: reads the calendar.
pub fn act(
    conn: &mut AnyConnection,
    caller: Principal,
    code: &str,
    expected_version: i32,
    input: ActionInput,
    hours: WorkingHours,
    now: DateTime<Utc>,
) -> WorkflowResult<Dossier> {
    act_and_show(
        conn,
        caller,
        code,
        Some(expected_version),
        input,
        &CalendarCache::new(hours),
        now,
    )
    .map(|a| a.dossier)
}

/// Takes an action on a dossier at `expected_version` (`None`: whatever
/// version is current when it is read; the write still refuses a concurrent
/// change). Checks, in order: visible (404), permitted for the caller (403),
/// current version (412), permitted from the status (409), the action's own
/// input (422), then preconditions such as payment and apology (409).
pub fn act_and_show(
    conn: &mut AnyConnection,
    caller: Principal,
    code: &str,
    expected_version: Option<i32>,
    input: ActionInput,
    calendars: &CalendarCache,
    now: DateTime<Utc>,
) -> WorkflowResult<Acted> {
    let Some(action) = input.action else {
        return Err(invalid("action", Problem::Required));
    };
    let step = write_tx(conn, |conn| {
        let mut step = Step::open(
            conn,
            caller,
            code,
            expected_version,
            action,
            &input,
            calendars,
        )?;
        step.take(conn, caller, action, &input, now)?;
        step.finish(conn, caller, action, now)
    })?;
    // As the dossier now stands: a transfer or a routing may have brought it
    // through the caller's agency.
    let mut holding = step.holding;
    if let (Role::Officer | Role::Leader, Some(agency)) = (step.viewer.role, step.viewer.agency_id)
    {
        holding.passed_viewer_agency |= step.agencies_added.contains(&agency);
    }
    let actor = actor_with(caller, step.viewer, holding, &step.dossier)?;
    Ok(Acted {
        open_supplement: dossiers::open_among(&step.requests),
        dossier: step.dossier,
        actor,
        calendar: step.calendar,
        has_form: step.form_reused.is_some(),
        documents: step.documents,
        rating: step.rating,
        fees_overpaid_vnd: step.fees_overpaid_vnd,
    })
}

fn rejected(error: FieldError) -> WorkflowError {
    WorkflowError::Invalid(vec![error])
}

/// Forbidden, stale or not allowed from the status, in the order the API
/// answers; otherwise the status the action leads to.
fn check_decision(
    dossier: &Dossier,
    action: Action,
    actor: Actor,
    expected_version: Option<i32>,
) -> WorkflowResult<DossierStatus> {
    let stale = expected_version.is_some_and(|v| v != dossier.version);
    match decide(dossier.facts(), action, actor) {
        Err(Refusal::Forbidden) => Err(WorkflowError::Forbidden),
        Ok(_) | Err(Refusal::NotAllowed { .. }) if stale => Err(WorkflowError::Stale {
            current: dossier.version,
        }),
        Err(Refusal::NotAllowed { allowed }) => Err(WorkflowError::NotAllowed {
            status: dossier.status,
            allowed,
        }),
        Ok(to) => Ok(to),
    }
}

/// One action in progress: the dossier as read, what the action changes,
/// and the lines read once and kept current for the KPI facts and the response.
struct Step {
    dossier: Dossier,
    viewer: Viewer,
    holding: Holding,
    from: DossierStatus,
    to: DossierStatus,
    note: Option<String>,
    calendar: Arc<WorkingCalendar>,
    change: Change,
    /// What the trail line records besides the statuses.
    data: Map<String, Value>,
    documents: Vec<DossierDocument>,
    requests: Vec<SupplementLine>,
    rating: Option<Rating>,
    old_facts: Option<KpiFacts>,
    /// Whether its form data counts as reused; `None`: filed without form data.
    form_reused: Option<bool>,
    /// The new handling agency, when the action moved the dossier.
    handling: Option<AgencyRef>,
    /// Agencies the dossier passed to with this action.
    agencies_added: Vec<i64>,
    fees_overpaid_vnd: i64,
}

impl Step {
    /// Reads the dossier and what the action needs, and runs the checks that
    /// come before the action's own (404, 403, 412, 409, the note).
    fn open(
        conn: &mut AnyConnection,
        caller: Principal,
        code: &str,
        expected_version: Option<i32>,
        action: Action,
        input: &ActionInput,
        calendars: &CalendarCache,
    ) -> WorkflowResult<Self> {
        let super::Held {
            viewer,
            read,
            holding,
        } = super::held(conn, caller, code)?;
        let dossier = read.dossier;
        let actor = actor_with(caller, viewer, holding, &dossier)?;
        let to = check_decision(&dossier, action, actor, expected_version)?;
        let note = action_input::note(action, input.note.as_deref()).map_err(rejected)?;
        let calendar = calendars.at_generation(conn, read.calendar_generation)?;
        let documents = dossiers::documents_of(conn, dossier.id)?;
        let requests = dossiers::supplement_requests_of(conn, dossier.id)?;
        let old_facts = read.facts.as_deref().map(kpi::parse_facts).transpose()?;
        let mut change = Change::from(&dossier);
        change.status = to;
        Ok(Step {
            from: dossier.status,
            dossier,
            viewer,
            holding,
            to,
            note,
            calendar,
            change,
            data: Map::new(),
            documents,
            requests,
            rating: read.rating,
            old_facts,
            form_reused: read.form_reused,
            handling: None,
            agencies_added: Vec::new(),
            fees_overpaid_vnd: 0,
        })
    }

    /// The action's own checks and writes, but the dossier's row.
    fn take(
        &mut self,
        conn: &mut AnyConnection,
        caller: Principal,
        action: Action,
        input: &ActionInput,
        now: DateTime<Utc>,
    ) -> WorkflowResult<()> {
        match action {
            Action::Receive => self.receive(conn, now)?,
            Action::Assign => self.assign(conn, input)?,
            Action::RequestSupplement => self.request_supplement(conn, caller, input, now)?,
            Action::Supplement => self.supplement(conn, caller, input, now)?,
            Action::Transfer => self.transfer(conn, input)?,
            Action::IssueResult => self.issue_result(conn, caller, input, now)?,
            Action::Return => self.hand_back(conn, now)?,
            Action::Apology => self.apology(conn, caller, input, now)?,
            Action::Post => self.post(conn, input, now)?,
            Action::Deliver => self.deliver(conn, now)?,
            Action::DeliveryFailed => {
                motcua_persistence::repo::results::mark_failed(conn, self.dossier.id)?
            }
            Action::Refuse | Action::Reject | Action::Cancel => {
                self.change.processed_at = Some(self.dossier.processed_at.unwrap_or(now));
                self.change.finished_at = Some(now);
            }
            Action::Withdraw => self.change.finished_at = Some(now),
            Action::Propose | Action::Approve | Action::SendBack => {}
        }
        Ok(())
    }

    /// The document ids of the lines with `stage` that `keep` accepts.
    fn document_ids(&self, keep: impl Fn(&DossierDocument) -> bool) -> Vec<String> {
        self.documents
            .iter()
            .filter(|d| keep(d))
            .filter_map(|d| d.document_id.clone())
            .collect()
    }

    /// Writes the dossier (if still at the version read), its trail line and
    /// its KPI facts, the shared aggregate rows last.
    fn finish(
        mut self,
        conn: &mut AnyConnection,
        caller: Principal,
        action: Action,
        now: DateTime<Utc>,
    ) -> WorkflowResult<Self> {
        let id = self.dossier.id;
        if !dossiers::update_at(conn, id, self.dossier.version, &self.change, now)? {
            let current = dossiers::by_id(conn, id)?.version;
            return Err(WorkflowError::Stale { current });
        }
        if self.to.is_finished() {
            // The representative's reach ends with the dossier.
            motcua_persistence::repo::representatives::end(conn, id, now)?;
        }
        let data = std::mem::take(&mut self.data);
        dossiers::append_event(
            conn,
            &NewEvent {
                dossier_id: id,
                action: action.as_str(),
                from_status: Some(self.from),
                to_status: self.to,
                actor_id: Some(caller.user_id),
                actor_role: caller.role,
                actor_agency_id: caller.agency_id,
                note: self.note.as_deref(),
                data: (!data.is_empty()).then_some(Value::Object(data)),
                at: now,
            },
        )?;
        let payments = kpi::payment_lines(conn, id)?;
        self.fees_overpaid_vnd = kpi::surplus(&payments);
        self.change
            .applied_to(&mut self.dossier, self.handling.take(), now);
        crate::outbox::dossier(conn, &self.dossier, Some(self.from), Some(action), now)?;
        let lines = FactLines {
            documents: &self.documents,
            payments: &payments,
            supplement_requests: &self.requests,
            rating: self.rating.as_ref(),
            form_reused: self.form_reused.unwrap_or(false),
        };
        let facts = kpi::facts_of(&self.dossier, lines, &self.calendar)?;
        kpi::write_change(conn, id, self.old_facts.as_ref(), &facts)?;
        Ok(self)
    }
}

/// A result line: an issued file, or the paper result.
fn result_line(document_id: Option<&str>) -> NewDossierDocument<'_> {
    NewDossierDocument {
        requirement: None,
        document_id,
        paper: document_id.is_none(),
        reused: false,
        stage: DocumentStage::Result.as_str(),
    }
}
