//! Dossier storage: rows, their trail, their documents. The rules of what may
//! happen live in the domain; the use cases (`motcua_app::dossiers`) combine
//! the two.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use motcua_domain::agency::AgencyRef;
use motcua_domain::calendar::Remaining;
use motcua_domain::dossier::{ApplicantRef, Dossier, ProcedureRef};
use motcua_domain::procedure::Fee;

use crate::schema::{
    agencies, applicants, dossier_agencies, dossier_ratings, dossiers, procedures,
};
use crate::time::from_db;
use crate::{AnyConnection, StoreError, StoreResult, parse_enum};

mod documents;
pub(crate) mod listing;
mod steps;
mod trail;
mod write;

pub use documents::{
    DossierDocument, NewDossierDocument, add_document, add_documents, documents_of,
    set_tracking_pin, tracking_pin,
};
pub use listing::{DossierFilter, DossierScope, list, user_in_agency};
pub use steps::{
    Apology, OpenSupplement, Rating, SupplementLine, add_apology, add_supplement_request,
    apologies, close_supplement_request, open_among, open_supplement_request, rate, rating,
    supplement_requests_of,
};
pub use trail::{Event, NewEvent, append_event, history};
pub use write::{
    Change, NewDossier, Numbering, add_agency, insert, number, passed_agency, update_at,
    visible_to_agency,
};

#[derive(Queryable, Selectable)]
#[diesel(table_name = dossiers)]
struct Row {
    id: i64,
    code: String,
    procedure_id: i64,
    agency_id: i64,
    handling_agency_id: i64,
    applicant_id: i64,
    submitted_by: i64,
    channel: String,
    result_channel: String,
    status: String,
    assignee_id: Option<i64>,
    assigned_unit_id: Option<i64>,
    time_unit: String,
    allowed_time: i32,
    regulated_days: i32,
    submitted_at: NaiveDateTime,
    received_at: Option<NaiveDateTime>,
    due_at: Option<NaiveDateTime>,
    appointment_at: Option<NaiveDateTime>,
    paused_at: Option<NaiveDateTime>,
    paused_remaining: Option<String>,
    supplement_from: Option<String>,
    supplement_count: i32,
    processed_at: Option<NaiveDateTime>,
    finished_at: Option<NaiveDateTime>,
    fees_due_vnd: i64,
    fees_paid_vnd: i64,
    fees: String,
    note: Option<String>,
    version: i32,
    updated_at: NaiveDateTime,
    received_at_agency_id: Option<i64>,
}

type ApplicantCols = (String, String, Option<String>, Option<String>);

/// The rows a page of dossiers refers to, each read once by `IN (...)`:
/// procedures, applicants, agencies (receiving and handling).
struct Refs {
    procedures: HashMap<i64, (String, String)>,
    applicants: HashMap<i64, ApplicantCols>,
    agencies: HashMap<i64, (String, String)>,
}

fn distinct(ids: impl Iterator<Item = i64>) -> Vec<i64> {
    let mut ids: Vec<i64> = ids.collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

impl Refs {
    fn load(conn: &mut AnyConnection, rows: &[Row]) -> StoreResult<Self> {
        let procedure_ids = distinct(rows.iter().map(|r| r.procedure_id));
        let applicant_ids = distinct(rows.iter().map(|r| r.applicant_id));
        let agency_ids = distinct(
            rows.iter()
                .flat_map(|r| {
                    [
                        Some(r.agency_id),
                        Some(r.handling_agency_id),
                        r.received_at_agency_id,
                    ]
                })
                .flatten(),
        );
        let procedures: Vec<(i64, String, String)> = procedures::table
            .filter(procedures::id.eq_any(&procedure_ids))
            .select((procedures::id, procedures::code, procedures::name))
            .load(conn)?;
        let applicants: Vec<(i64, ApplicantCols)> = applicants::table
            .filter(applicants::id.eq_any(&applicant_ids))
            .select((
                applicants::id,
                (
                    applicants::kind,
                    applicants::full_name,
                    applicants::id_number,
                    applicants::tax_code,
                ),
            ))
            .load(conn)?;
        let agencies: Vec<(i64, String, String)> = agencies::table
            .filter(agencies::id.eq_any(&agency_ids))
            .select((agencies::id, agencies::code, agencies::name))
            .load(conn)?;
        Ok(Self {
            procedures: procedures
                .into_iter()
                .map(|(id, code, name)| (id, (code, name)))
                .collect(),
            applicants: applicants.into_iter().collect(),
            agencies: agencies
                .into_iter()
                .map(|(id, code, name)| (id, (code, name)))
                .collect(),
        })
    }

    fn agency(&self, id: i64) -> StoreResult<AgencyRef> {
        let (code, name) = self.agencies.get(&id).ok_or(StoreError::NotFound)?;
        Ok(AgencyRef {
            id,
            code: code.clone(),
            name: name.clone(),
        })
    }
}

/// Dossiers from their rows, with four statements whatever their number.
fn assemble_all(conn: &mut AnyConnection, rows: Vec<Row>) -> StoreResult<Vec<Dossier>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let refs = Refs::load(conn, &rows)?;
    rows.into_iter().map(|row| assemble(&refs, row)).collect()
}

fn assemble(refs: &Refs, row: Row) -> StoreResult<Dossier> {
    let (p_code, p_name) = refs
        .procedures
        .get(&row.procedure_id)
        .cloned()
        .ok_or(StoreError::NotFound)?;
    let (kind, full_name, id_number, tax_code) = refs
        .applicants
        .get(&row.applicant_id)
        .cloned()
        .ok_or(StoreError::NotFound)?;
    let agency = refs.agency(row.agency_id)?;
    let handling_agency = refs.agency(row.handling_agency_id)?;
    let received_at_agency = row
        .received_at_agency_id
        .map(|id| refs.agency(id))
        .transpose()?;
    let paused_remaining: Option<Remaining> = match &row.paused_remaining {
        Some(text) => Some(serde_json::from_str(text).map_err(StoreError::corrupt)?),
        None => None,
    };
    let fees: Vec<Fee> = serde_json::from_str(&row.fees).map_err(StoreError::corrupt)?;
    Ok(Dossier {
        id: row.id,
        code: row.code,
        procedure: ProcedureRef {
            id: row.procedure_id,
            code: p_code,
            name: p_name,
        },
        agency,
        handling_agency,
        received_at_agency,
        applicant: ApplicantRef {
            id: row.applicant_id,
            kind,
            full_name,
            id_number,
            tax_code,
        },
        submitted_by: row.submitted_by,
        channel: parse_enum(&row.channel)?,
        result_channel: parse_enum(&row.result_channel)?,
        status: parse_enum(&row.status)?,
        assignee_id: row.assignee_id,
        assigned_unit_id: row.assigned_unit_id,
        time_unit: parse_enum(&row.time_unit)?,
        allowed_time: u32::try_from(row.allowed_time).unwrap_or(0),
        regulated_days: u32::try_from(row.regulated_days).unwrap_or(0),
        submitted_at: from_db(row.submitted_at),
        received_at: row.received_at.map(from_db),
        due_at: row.due_at.map(from_db),
        appointment_at: row.appointment_at.map(from_db),
        paused_at: row.paused_at.map(from_db),
        paused_remaining,
        supplement_from: row.supplement_from.as_deref().map(parse_enum).transpose()?,
        supplement_count: u32::try_from(row.supplement_count).unwrap_or(0),
        processed_at: row.processed_at.map(from_db),
        finished_at: row.finished_at.map(from_db),
        fees_due_vnd: row.fees_due_vnd,
        fees_paid_vnd: row.fees_paid_vnd,
        fees,
        note: row.note,
        version: row.version,
        updated_at: from_db(row.updated_at),
    })
}

diesel::alias!(
    agencies as handling_agencies: HandlingAgencies,
    agencies as intake_agencies: IntakeAgencies
);

/// One dossier with what it refers to, in one statement.
type Joined = (
    Row,
    (String, String),
    ApplicantCols,
    (String, String),
    (String, String),
    Option<(String, String)>,
);

macro_rules! read_one {
    ($conn:expr, $filter:expr) => {{
        let (row, procedure, applicant, agency, handling, intake): Joined = dossiers::table
            .inner_join(procedures::table)
            .inner_join(applicants::table)
            .inner_join(agencies::table.on(agencies::id.eq(dossiers::agency_id)))
            .inner_join(
                handling_agencies.on(handling_agencies
                    .field(agencies::id)
                    .eq(dossiers::handling_agency_id)),
            )
            .left_join(
                intake_agencies.on(intake_agencies
                    .field(agencies::id)
                    .nullable()
                    .eq(dossiers::received_at_agency_id)),
            )
            .filter($filter)
            .select((
                Row::as_select(),
                (procedures::code, procedures::name),
                (
                    applicants::kind,
                    applicants::full_name,
                    applicants::id_number,
                    applicants::tax_code,
                ),
                (agencies::code, agencies::name),
                handling_agencies.fields((agencies::code, agencies::name)),
                intake_agencies
                    .fields((agencies::code, agencies::name))
                    .nullable(),
            ))
            .first($conn)?;
        let mut refs = Refs {
            procedures: HashMap::from([(row.procedure_id, procedure)]),
            applicants: HashMap::from([(row.applicant_id, applicant)]),
            agencies: HashMap::from([(row.agency_id, agency), (row.handling_agency_id, handling)]),
        };
        if let (Some(id), Some(point)) = (row.received_at_agency_id, intake) {
            refs.agencies.insert(id, point);
        }
        assemble(&refs, row)
    }};
}

pub fn by_code(conn: &mut AnyConnection, code: &str) -> StoreResult<Dossier> {
    read_one!(conn, dossiers::code.eq(code))
}

pub fn by_id(conn: &mut AnyConnection, id: i64) -> StoreResult<Dossier> {
    read_one!(conn, dossiers::id.eq(id))
}

/// A dossier about to be acted on, with what the action needs besides the
/// row: read in one statement.
#[derive(Debug, Clone)]
pub struct ForAction {
    pub dossier: Dossier,
    /// It has passed through the agency asked about (see [`visible_to_agency`]).
    pub passed_agency: bool,
    pub rating: Option<Rating>,
    /// Its KPI facts as last stored (`repo::kpi`).
    pub facts: Option<String>,
    /// Whether it was filed with form data (`repo::forms`) and, if so,
    /// whether that data counts as reused: `None` without form data.
    pub form_reused: Option<bool>,
    /// The working calendar's generation (`repo::calendar::generation`),
    /// read in the same statement; `None` only if the row is missing.
    pub calendar_generation: Option<i64>,
}

type ForActionRow = (
    Row,
    (String, String),
    ApplicantCols,
    (String, String),
    (String, String),
    Option<(String, String)>,
    bool,
    (Option<String>, Option<String>, Option<NaiveDateTime>),
    Option<String>,
    Option<bool>,
    Option<i64>,
);

/// The dossier `code` as [`ForAction`]; `agency_id` is the agency whose
/// passage is asked about (none: the answer is `false`).
pub fn for_action(
    conn: &mut AnyConnection,
    code: &str,
    agency_id: Option<i64>,
) -> StoreResult<ForAction> {
    use crate::schema::{dossier_facts, dossier_forms};
    // No agency has a negative id: without one, the join finds nothing.
    let agency = agency_id.unwrap_or(-1);
    let (
        row,
        procedure,
        applicant,
        receiving,
        handling,
        intake,
        passed,
        rating,
        facts,
        form_reused,
        calendar_generation,
    ): ForActionRow = dossiers::table
        .inner_join(procedures::table)
        .inner_join(applicants::table)
        .inner_join(agencies::table.on(agencies::id.eq(dossiers::agency_id)))
        .inner_join(
            handling_agencies.on(handling_agencies
                .field(agencies::id)
                .eq(dossiers::handling_agency_id)),
        )
        .left_join(
            intake_agencies.on(intake_agencies
                .field(agencies::id)
                .nullable()
                .eq(dossiers::received_at_agency_id)),
        )
        .left_join(dossier_ratings::table.on(dossier_ratings::dossier_id.eq(dossiers::id)))
        .left_join(dossier_facts::table.on(dossier_facts::dossier_id.eq(dossiers::id)))
        .left_join(dossier_forms::table.on(dossier_forms::dossier_id.eq(dossiers::id)))
        .filter(dossiers::code.eq(code))
        .select((
            Row::as_select(),
            (procedures::code, procedures::name),
            (
                applicants::kind,
                applicants::full_name,
                applicants::id_number,
                applicants::tax_code,
            ),
            (agencies::code, agencies::name),
            handling_agencies.fields((agencies::code, agencies::name)),
            intake_agencies
                .fields((agencies::code, agencies::name))
                .nullable(),
            // A correlated EXISTS, not a join: it looks the pair up by the
            // primary key whatever the statistics say, where a join chose
            // the agency's index on a fresh table and read every dossier of
            // the agency (receive on PostgreSQL fell from ~520/s to ~200/s).
            diesel::dsl::exists(
                dossier_agencies::table
                    .filter(dossier_agencies::dossier_id.eq(dossiers::id))
                    .filter(dossier_agencies::agency_id.eq(agency)),
            ),
            (
                dossier_ratings::score.nullable(),
                dossier_ratings::comment.nullable(),
                dossier_ratings::rated_at.nullable(),
            ),
            dossier_facts::facts.nullable(),
            dossier_forms::reused.nullable(),
            crate::repo::calendar::generation_subquery(),
        ))
        .first(conn)?;
    let rating = match rating {
        (Some(score), comment, Some(rated_at)) => Some(Rating {
            score: parse_enum(&score)?,
            comment,
            rated_at: from_db(rated_at),
        }),
        _ => None,
    };
    let mut refs = Refs {
        procedures: HashMap::from([(row.procedure_id, procedure)]),
        applicants: HashMap::from([(row.applicant_id, applicant)]),
        agencies: HashMap::from([
            (row.agency_id, receiving),
            (row.handling_agency_id, handling),
        ]),
    };
    if let (Some(id), Some(point)) = (row.received_at_agency_id, intake) {
        refs.agencies.insert(id, point);
    }
    Ok(ForAction {
        dossier: assemble(&refs, row)?,
        passed_agency: passed,
        rating,
        facts,
        form_reused,
        calendar_generation,
    })
}

/// The action name of a submission in the trail (submission is not a domain [`Action`]).
pub const SUBMIT: &str = "submit";
