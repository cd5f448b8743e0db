//! Dossier storage: rows, their trail, their documents. The rules of what may
//! happen live in the domain; the use cases (`motcua_app::dossiers`) combine
//! the two.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use motcua_domain::Role;
use motcua_domain::agency::AgencyRef;
use motcua_domain::calendar::Remaining;
use motcua_domain::dossier::{
    ApplicantRef, Channel, Dossier, DossierStatus, ProcedureRef, RatingScore,
};
use motcua_domain::page::{Page, PageRequest};
use motcua_domain::procedure::Fee;
use serde::Serialize;

use crate::schema::{
    agencies, apology_letters, applicants, dossier_agencies, dossier_documents, dossier_events,
    dossier_ratings, dossier_tracking_pins, dossiers, procedures, supplement_requests, users,
};
use crate::time::{from_db, now, to_db};
use crate::{AnyConnection, StoreError, StoreResult, parse_enum};

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
                .flat_map(|r| [r.agency_id, r.handling_agency_id]),
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

diesel::alias!(agencies as handling_agencies: HandlingAgencies);

/// One dossier with what it refers to, in one statement.
type Joined = (
    Row,
    (String, String),
    ApplicantCols,
    (String, String),
    (String, String),
);

macro_rules! read_one {
    ($conn:expr, $filter:expr) => {{
        let (row, procedure, applicant, agency, handling): Joined = dossiers::table
            .inner_join(procedures::table)
            .inner_join(applicants::table)
            .inner_join(agencies::table.on(agencies::id.eq(dossiers::agency_id)))
            .inner_join(
                handling_agencies.on(handling_agencies
                    .field(agencies::id)
                    .eq(dossiers::handling_agency_id)),
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
            ))
            .first($conn)?;
        let refs = Refs {
            procedures: HashMap::from([(row.procedure_id, procedure)]),
            applicants: HashMap::from([(row.applicant_id, applicant)]),
            agencies: HashMap::from([(row.agency_id, agency), (row.handling_agency_id, handling)]),
        };
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
}

type ForActionRow = (
    Row,
    (String, String),
    ApplicantCols,
    (String, String),
    (String, String),
    Option<i64>,
    (Option<String>, Option<String>, Option<NaiveDateTime>),
    Option<String>,
);

/// The dossier `code` as [`ForAction`]; `agency_id` is the agency whose
/// passage is asked about (none: the answer is `false`).
pub fn for_action(
    conn: &mut AnyConnection,
    code: &str,
    agency_id: Option<i64>,
) -> StoreResult<ForAction> {
    use crate::schema::dossier_facts;
    // No agency has a negative id: without one, the join finds nothing.
    let agency = agency_id.unwrap_or(-1);
    let (row, procedure, applicant, receiving, handling, passed, rating, facts): ForActionRow =
        dossiers::table
            .inner_join(procedures::table)
            .inner_join(applicants::table)
            .inner_join(agencies::table.on(agencies::id.eq(dossiers::agency_id)))
            .inner_join(
                handling_agencies.on(handling_agencies
                    .field(agencies::id)
                    .eq(dossiers::handling_agency_id)),
            )
            .left_join(
                dossier_agencies::table.on(dossier_agencies::dossier_id
                    .eq(dossiers::id)
                    .and(dossier_agencies::agency_id.eq(agency))),
            )
            .left_join(dossier_ratings::table.on(dossier_ratings::dossier_id.eq(dossiers::id)))
            .left_join(dossier_facts::table.on(dossier_facts::dossier_id.eq(dossiers::id)))
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
                dossier_agencies::agency_id.nullable(),
                (
                    dossier_ratings::score.nullable(),
                    dossier_ratings::comment.nullable(),
                    dossier_ratings::rated_at.nullable(),
                ),
                dossier_facts::facts.nullable(),
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
    let refs = Refs {
        procedures: HashMap::from([(row.procedure_id, procedure)]),
        applicants: HashMap::from([(row.applicant_id, applicant)]),
        agencies: HashMap::from([
            (row.agency_id, receiving),
            (row.handling_agency_id, handling),
        ]),
    };
    Ok(ForAction {
        dossier: assemble(&refs, row)?,
        passed_agency: passed.is_some(),
        rating,
        facts,
    })
}

/// A dossier as filed. Its code is set last, by [`number`], in the same
/// transaction.
pub struct NewDossier<'a> {
    pub procedure_id: i64,
    pub agency_id: i64,
    pub applicant_id: i64,
    pub submitted_by: i64,
    pub channel: Channel,
    pub result_channel: Channel,
    pub time_unit: &'a str,
    pub allowed_time: u32,
    pub regulated_days: u32,
    pub submitted_at: DateTime<Utc>,
    pub fees: &'a [Fee],
    pub fees_due_vnd: i64,
    pub note: Option<&'a str>,
}

/// Writes a dossier, and its receiving agency as the first it passed
/// through, under a code of its own until [`number`] gives it its number.
pub fn insert(conn: &mut AnyConnection, new: &NewDossier<'_>) -> StoreResult<i64> {
    let fees = serde_json::to_string(new.fees).map_err(StoreError::corrupt)?;
    let at = to_db(new.submitted_at);
    // Unique like the codes it stands in for, and never seen outside the
    // transaction: `number` replaces it before the commit.
    let unnumbered = format!("~{}", uuid::Uuid::new_v4().simple());
    let id: i64 = diesel::insert_into(dossiers::table)
        .values((
            dossiers::code.eq(&unnumbered),
            dossiers::procedure_id.eq(new.procedure_id),
            dossiers::agency_id.eq(new.agency_id),
            dossiers::handling_agency_id.eq(new.agency_id),
            dossiers::applicant_id.eq(new.applicant_id),
            dossiers::submitted_by.eq(new.submitted_by),
            dossiers::channel.eq(new.channel.as_str()),
            dossiers::result_channel.eq(new.result_channel.as_str()),
            dossiers::status.eq(DossierStatus::Submitted.as_str()),
            dossiers::time_unit.eq(new.time_unit),
            dossiers::allowed_time.eq(i32::try_from(new.allowed_time).unwrap_or(i32::MAX)),
            dossiers::regulated_days.eq(i32::try_from(new.regulated_days).unwrap_or(i32::MAX)),
            dossiers::submitted_at.eq(at),
            dossiers::supplement_count.eq(0),
            dossiers::fees_due_vnd.eq(new.fees_due_vnd),
            dossiers::fees_paid_vnd.eq(0_i64),
            dossiers::fees.eq(fees),
            dossiers::search_text.eq(""),
            dossiers::note.eq(new.note),
            dossiers::version.eq(1),
            dossiers::updated_at.eq(at),
        ))
        .returning(dossiers::id)
        .get_result(conn)?;
    add_agency(conn, id, new.agency_id)?;
    Ok(id)
}

/// What a dossier's number completes: its code is `code_prefix` then the
/// number in at least four digits (`dossier_code`'s rule), its search text
/// `search_head`, the number, `search_tail`.
pub struct Numbering<'a> {
    pub agency_id: i64,
    pub day: NaiveDate,
    pub code_prefix: &'a str,
    pub search_head: &'a str,
    pub search_tail: &'a str,
}

#[derive(QueryableByName)]
struct Numbered {
    #[diesel(sql_type = diesel::sql_types::Text)]
    code: String,
}

/// Takes the next number of the agency's day (`dossier_sequences`) and
/// completes the dossier's code and search text with it; returns the code.
/// Meant as the last statement before the commit: on PostgreSQL it is one
/// statement, so the counter row is locked only from here to the commit;
/// on SQLite two (the write transaction excludes other writers anyway). A
/// rolled-back transaction gives its number back: no gaps, no repeats.
pub fn number(conn: &mut AnyConnection, dossier_id: i64, n: &Numbering<'_>) -> StoreResult<String> {
    use diesel::sql_types::{BigInt, Date, Text};
    match conn {
        AnyConnection::Postgresql(pg) => {
            let numbered: Numbered = diesel::sql_query(
                "WITH n AS ( \
                   INSERT INTO dossier_sequences (agency_id, day, last_value) VALUES ($1, $2, 1) \
                   ON CONFLICT (agency_id, day) \
                   DO UPDATE SET last_value = dossier_sequences.last_value + 1 \
                   RETURNING lpad(last_value::text, greatest(4, length(last_value::text)), '0') \
                     AS digits) \
                 UPDATE dossiers SET code = $3 || n.digits, search_text = $4 || n.digits || $5 \
                 FROM n WHERE dossiers.id = $6 RETURNING dossiers.code",
            )
            .bind::<BigInt, _>(n.agency_id)
            .bind::<Date, _>(n.day)
            .bind::<Text, _>(n.code_prefix)
            .bind::<Text, _>(n.search_head)
            .bind::<Text, _>(n.search_tail)
            .bind::<BigInt, _>(dossier_id)
            .get_result(pg)?;
            Ok(numbered.code)
        }
        AnyConnection::Sqlite(lite) => {
            use crate::schema::dossier_sequences::dsl as s;
            let last: i64 = diesel::insert_into(s::dossier_sequences)
                .values((
                    s::agency_id.eq(n.agency_id),
                    s::day.eq(n.day),
                    s::last_value.eq(1_i64),
                ))
                .on_conflict((s::agency_id, s::day))
                .do_update()
                .set(s::last_value.eq(s::last_value + 1_i64))
                .returning(s::last_value)
                .get_result(lite)?;
            let digits = format!("{last:04}");
            let code = format!("{}{digits}", n.code_prefix);
            diesel::update(dossiers::table.find(dossier_id))
                .set((
                    dossiers::code.eq(&code),
                    dossiers::search_text.eq(format!("{}{digits}{}", n.search_head, n.search_tail)),
                ))
                .execute(lite)?;
            Ok(code)
        }
    }
}

pub fn add_agency(conn: &mut AnyConnection, dossier_id: i64, agency_id: i64) -> StoreResult<()> {
    crate::insert_or_ignore!(
        &mut *conn,
        dossier_agencies::table,
        (
            dossier_agencies::dossier_id.eq(dossier_id),
            dossier_agencies::agency_id.eq(agency_id)
        )
    )?;
    Ok(())
}

/// Whether staff of `agency_id` may see the dossier: it has passed through their agency.
pub fn visible_to_agency(
    conn: &mut AnyConnection,
    dossier_id: i64,
    agency_id: i64,
) -> StoreResult<bool> {
    Ok(dossier_agencies::table
        .find((dossier_id, agency_id))
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

/// Which of `dossier_ids` have passed through `agency_id`: one statement for a page.
pub fn passed_agency(
    conn: &mut AnyConnection,
    dossier_ids: &[i64],
    agency_id: i64,
) -> StoreResult<HashSet<i64>> {
    if dossier_ids.is_empty() {
        return Ok(HashSet::new());
    }
    let ids: Vec<i64> = dossier_agencies::table
        .filter(dossier_agencies::agency_id.eq(agency_id))
        .filter(dossier_agencies::dossier_id.eq_any(dossier_ids))
        .select(dossier_agencies::dossier_id)
        .load(conn)?;
    Ok(ids.into_iter().collect())
}

/// The new state of a dossier after an action; every field is written.
#[derive(Debug, Clone)]
pub struct Change {
    pub status: DossierStatus,
    pub handling_agency_id: i64,
    pub assignee_id: Option<i64>,
    pub assigned_unit_id: Option<i64>,
    pub received_at: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    pub appointment_at: Option<DateTime<Utc>>,
    pub paused_at: Option<DateTime<Utc>>,
    pub paused_remaining: Option<Remaining>,
    pub supplement_from: Option<DossierStatus>,
    pub supplement_count: u32,
    pub processed_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub fees_paid_vnd: i64,
}

impl Change {
    /// Starts from the dossier as it is.
    pub fn from(d: &Dossier) -> Self {
        Self {
            status: d.status,
            handling_agency_id: d.handling_agency.id,
            assignee_id: d.assignee_id,
            assigned_unit_id: d.assigned_unit_id,
            received_at: d.received_at,
            due_at: d.due_at,
            appointment_at: d.appointment_at,
            paused_at: d.paused_at,
            paused_remaining: d.paused_remaining,
            supplement_from: d.supplement_from,
            supplement_count: d.supplement_count,
            processed_at: d.processed_at,
            finished_at: d.finished_at,
            fees_paid_vnd: d.fees_paid_vnd,
        }
    }
}

impl Change {
    /// The dossier as [`update_at`] leaves it: the change written, the
    /// version bumped, stamped `at`; `handling` names the new handling
    /// agency when the change moved it.
    pub fn applied_to(&self, d: &mut Dossier, handling: Option<AgencyRef>, at: DateTime<Utc>) {
        if let Some(agency) = handling.filter(|a| a.id == self.handling_agency_id) {
            d.handling_agency = agency;
        }
        d.status = self.status;
        d.assignee_id = self.assignee_id;
        d.assigned_unit_id = self.assigned_unit_id;
        d.received_at = self.received_at;
        d.due_at = self.due_at;
        d.appointment_at = self.appointment_at;
        d.paused_at = self.paused_at;
        d.paused_remaining = self.paused_remaining;
        d.supplement_from = self.supplement_from;
        d.supplement_count = self.supplement_count;
        d.processed_at = self.processed_at;
        d.finished_at = self.finished_at;
        d.fees_paid_vnd = self.fees_paid_vnd;
        d.version += 1;
        d.updated_at = from_db(to_db(at));
    }
}

/// Writes a change if the dossier is still at `version`; `false` when someone else was first.
pub fn update(
    conn: &mut AnyConnection,
    id: i64,
    version: i32,
    change: &Change,
) -> StoreResult<bool> {
    update_at(conn, id, version, change, now())
}

/// [`update`], stamped `at` (at storage precision, see [`crate::time`]).
pub fn update_at(
    conn: &mut AnyConnection,
    id: i64,
    version: i32,
    change: &Change,
    at: DateTime<Utc>,
) -> StoreResult<bool> {
    let remaining = change
        .paused_remaining
        .map(|r| serde_json::to_string(&r))
        .transpose()
        .map_err(StoreError::corrupt)?;
    let n = diesel::update(
        dossiers::table
            .filter(dossiers::id.eq(id))
            .filter(dossiers::version.eq(version)),
    )
    .set((
        dossiers::status.eq(change.status.as_str()),
        dossiers::handling_agency_id.eq(change.handling_agency_id),
        dossiers::assignee_id.eq(change.assignee_id),
        dossiers::assigned_unit_id.eq(change.assigned_unit_id),
        dossiers::received_at.eq(change.received_at.map(to_db)),
        dossiers::due_at.eq(change.due_at.map(to_db)),
        dossiers::appointment_at.eq(change.appointment_at.map(to_db)),
        dossiers::paused_at.eq(change.paused_at.map(to_db)),
        dossiers::paused_remaining.eq(remaining),
        dossiers::supplement_from.eq(change.supplement_from.map(|s| s.as_str())),
        dossiers::supplement_count.eq(i32::try_from(change.supplement_count).unwrap_or(i32::MAX)),
        dossiers::processed_at.eq(change.processed_at.map(to_db)),
        dossiers::finished_at.eq(change.finished_at.map(to_db)),
        dossiers::fees_paid_vnd.eq(change.fees_paid_vnd),
        dossiers::version.eq(version + 1),
        dossiers::updated_at.eq(to_db(at)),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// One line of the trail.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Event {
    pub id: i64,
    pub action: String,
    pub from_status: Option<DossierStatus>,
    pub to_status: DossierStatus,
    pub actor_id: Option<i64>,
    pub actor_name: Option<String>,
    pub actor_role: Role,
    pub actor_agency_id: Option<i64>,
    pub note: Option<String>,
    /// What else the action carried: assignee, missing items, new appointment…
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub data: Option<serde_json::Value>,
    pub at: DateTime<Utc>,
}

pub struct NewEvent<'a> {
    pub dossier_id: i64,
    /// An [`Action`] name, or `submit`.
    pub action: &'a str,
    pub from_status: Option<DossierStatus>,
    pub to_status: DossierStatus,
    pub actor_id: Option<i64>,
    pub actor_role: Role,
    pub actor_agency_id: Option<i64>,
    pub note: Option<&'a str>,
    pub data: Option<serde_json::Value>,
    pub at: DateTime<Utc>,
}

pub fn append_event(conn: &mut AnyConnection, e: &NewEvent<'_>) -> StoreResult<i64> {
    Ok(diesel::insert_into(dossier_events::table)
        .values((
            dossier_events::dossier_id.eq(e.dossier_id),
            dossier_events::action.eq(e.action),
            dossier_events::from_status.eq(e.from_status.map(|s| s.as_str())),
            dossier_events::to_status.eq(e.to_status.as_str()),
            dossier_events::actor_id.eq(e.actor_id),
            dossier_events::actor_role.eq(e.actor_role.as_str()),
            dossier_events::actor_agency_id.eq(e.actor_agency_id),
            dossier_events::note.eq(e.note),
            dossier_events::data.eq(e.data.as_ref().map(ToString::to_string)),
            dossier_events::at.eq(to_db(e.at)),
        ))
        .returning(dossier_events::id)
        .get_result(conn)?)
}

type EventRow = (
    i64,
    String,
    Option<String>,
    String,
    Option<i64>,
    Option<String>,
    String,
    Option<i64>,
    Option<String>,
    Option<String>,
    NaiveDateTime,
);

pub fn history(conn: &mut AnyConnection, dossier_id: i64) -> StoreResult<Vec<Event>> {
    let rows: Vec<EventRow> = dossier_events::table
        .left_join(users::table.on(users::id.nullable().eq(dossier_events::actor_id)))
        .filter(dossier_events::dossier_id.eq(dossier_id))
        .order(dossier_events::id.asc())
        .select((
            dossier_events::id,
            dossier_events::action,
            dossier_events::from_status,
            dossier_events::to_status,
            dossier_events::actor_id,
            users::full_name.nullable(),
            dossier_events::actor_role,
            dossier_events::actor_agency_id,
            dossier_events::note,
            dossier_events::data,
            dossier_events::at,
        ))
        .load(conn)?;
    rows.into_iter()
        .map(
            |(id, action, from, to, actor_id, actor_name, role, agency, note, data, at)| {
                Ok(Event {
                    id,
                    action,
                    from_status: from.as_deref().map(parse_enum).transpose()?,
                    to_status: parse_enum(&to)?,
                    actor_id,
                    actor_name,
                    actor_role: parse_enum(&role)?,
                    actor_agency_id: agency,
                    note,
                    data: data
                        .as_deref()
                        .map(serde_json::from_str)
                        .transpose()
                        .map_err(StoreError::corrupt)?,
                    at: from_db(at),
                })
            },
        )
        .collect()
}

/// A document line of a dossier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DossierDocument {
    pub requirement: Option<String>,
    pub document_id: Option<String>,
    pub title: Option<String>,
    pub content_type: Option<String>,
    pub size_bytes: Option<i64>,
    pub paper: bool,
    pub reused: bool,
    pub stage: String,
    pub added_at: DateTime<Utc>,
}

/// Stores the PIN an organisation's dossier is tracked with.
pub fn set_tracking_pin(conn: &mut AnyConnection, dossier_id: i64, pin: &str) -> StoreResult<()> {
    diesel::insert_into(dossier_tracking_pins::table)
        .values((
            dossier_tracking_pins::dossier_id.eq(dossier_id),
            dossier_tracking_pins::pin.eq(pin),
        ))
        .execute(conn)?;
    Ok(())
}

/// The tracking PIN of an organisation's dossier; `None` for a person's.
pub fn tracking_pin(conn: &mut AnyConnection, dossier_id: i64) -> StoreResult<Option<String>> {
    Ok(dossier_tracking_pins::table
        .find(dossier_id)
        .select(dossier_tracking_pins::pin)
        .first(conn)
        .optional()?)
}

pub struct NewDossierDocument<'a> {
    pub requirement: Option<&'a str>,
    pub document_id: Option<&'a str>,
    pub paper: bool,
    pub reused: bool,
    pub stage: &'a str,
}

pub fn add_document(
    conn: &mut AnyConnection,
    dossier_id: i64,
    d: &NewDossierDocument<'_>,
) -> StoreResult<()> {
    diesel::insert_into(dossier_documents::table)
        .values((
            dossier_documents::dossier_id.eq(dossier_id),
            dossier_documents::requirement.eq(d.requirement),
            dossier_documents::document_id.eq(d.document_id),
            dossier_documents::paper.eq(d.paper),
            dossier_documents::reused.eq(d.reused),
            dossier_documents::stage.eq(d.stage),
            dossier_documents::added_at.eq(to_db(now())),
        ))
        .execute(conn)?;
    Ok(())
}

/// Writes a dossier's document lines, added at `at`, in one statement.
pub fn add_documents(
    conn: &mut AnyConnection,
    dossier_id: i64,
    lines: &[NewDossierDocument<'_>],
    at: DateTime<Utc>,
) -> StoreResult<()> {
    if lines.is_empty() {
        return Ok(());
    }
    let at = to_db(at);
    let rows: Vec<_> = lines
        .iter()
        .map(|d| {
            (
                dossier_documents::dossier_id.eq(dossier_id),
                dossier_documents::requirement.eq(d.requirement),
                dossier_documents::document_id.eq(d.document_id),
                dossier_documents::paper.eq(d.paper),
                dossier_documents::reused.eq(d.reused),
                dossier_documents::stage.eq(d.stage),
                dossier_documents::added_at.eq(at),
            )
        })
        .collect();
    crate::insert_many!(&mut *conn, dossier_documents::table, &rows)?;
    Ok(())
}

type DocRow = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
    bool,
    bool,
    String,
    NaiveDateTime,
);

pub fn documents_of(
    conn: &mut AnyConnection,
    dossier_id: i64,
) -> StoreResult<Vec<DossierDocument>> {
    use crate::schema::documents;
    let rows: Vec<DocRow> = dossier_documents::table
        .left_join(documents::table)
        .filter(dossier_documents::dossier_id.eq(dossier_id))
        .order(dossier_documents::id.asc())
        .select((
            dossier_documents::requirement,
            dossier_documents::document_id,
            documents::title.nullable(),
            documents::content_type.nullable(),
            documents::size_bytes.nullable(),
            dossier_documents::paper,
            dossier_documents::reused,
            dossier_documents::stage,
            dossier_documents::added_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(
                requirement,
                document_id,
                title,
                content_type,
                size_bytes,
                paper,
                reused,
                stage,
                at,
            )| DossierDocument {
                requirement,
                document_id,
                title,
                content_type,
                size_bytes,
                paper,
                reused,
                stage,
                added_at: from_db(at),
            },
        )
        .collect())
}

pub fn add_supplement_request(
    conn: &mut AnyConnection,
    dossier_id: i64,
    by: i64,
    items: &[String],
    deadline: NaiveDate,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let items = serde_json::to_string(items).map_err(StoreError::corrupt)?;
    diesel::insert_into(supplement_requests::table)
        .values((
            supplement_requests::dossier_id.eq(dossier_id),
            supplement_requests::requested_by.eq(by),
            supplement_requests::requested_at.eq(to_db(at)),
            supplement_requests::items.eq(items),
            supplement_requests::deadline.eq(deadline),
        ))
        .execute(conn)?;
    Ok(())
}

/// A supplement request still waiting for the applicant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenSupplement {
    pub id: i64,
    pub missing: Vec<String>,
    pub deadline: NaiveDate,
    pub requested_at: DateTime<Utc>,
}

pub fn open_supplement_request(
    conn: &mut AnyConnection,
    dossier_id: i64,
) -> StoreResult<Option<OpenSupplement>> {
    let row: Option<(i64, String, NaiveDate, NaiveDateTime)> = supplement_requests::table
        .filter(supplement_requests::dossier_id.eq(dossier_id))
        .filter(supplement_requests::supplemented_at.is_null())
        .order(supplement_requests::id.desc())
        .select((
            supplement_requests::id,
            supplement_requests::items,
            supplement_requests::deadline,
            supplement_requests::requested_at,
        ))
        .first(conn)
        .optional()?;
    row.map(|(id, items, deadline, at)| {
        let missing: Vec<String> = serde_json::from_str(&items).map_err(StoreError::corrupt)?;
        Ok(OpenSupplement {
            id,
            missing,
            deadline,
            requested_at: from_db(at),
        })
    })
    .transpose()
}

/// A supplement request of a dossier, answered or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupplementLine {
    pub id: i64,
    pub missing: Vec<String>,
    pub deadline: NaiveDate,
    pub requested_at: DateTime<Utc>,
    pub supplemented_at: Option<DateTime<Utc>>,
}

/// Every supplement request of a dossier, oldest first, in one statement.
pub fn supplement_requests_of(
    conn: &mut AnyConnection,
    dossier_id: i64,
) -> StoreResult<Vec<SupplementLine>> {
    let rows: Vec<(i64, String, NaiveDate, NaiveDateTime, Option<NaiveDateTime>)> =
        supplement_requests::table
            .filter(supplement_requests::dossier_id.eq(dossier_id))
            .order(supplement_requests::id.asc())
            .select((
                supplement_requests::id,
                supplement_requests::items,
                supplement_requests::deadline,
                supplement_requests::requested_at,
                supplement_requests::supplemented_at,
            ))
            .load(conn)?;
    rows.into_iter()
        .map(|(id, items, deadline, requested_at, supplemented_at)| {
            Ok(SupplementLine {
                id,
                missing: serde_json::from_str(&items).map_err(StoreError::corrupt)?,
                deadline,
                requested_at: from_db(requested_at),
                supplemented_at: supplemented_at.map(from_db),
            })
        })
        .collect()
}

/// The request still waiting for the applicant, among `lines` (the latest,
/// as [`open_supplement_request`] finds it).
pub fn open_among(lines: &[SupplementLine]) -> Option<OpenSupplement> {
    lines
        .iter()
        .rev()
        .find(|r| r.supplemented_at.is_none())
        .map(|r| OpenSupplement {
            id: r.id,
            missing: r.missing.clone(),
            deadline: r.deadline,
            requested_at: r.requested_at,
        })
}

pub fn close_supplement_request(
    conn: &mut AnyConnection,
    id: i64,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    diesel::update(supplement_requests::table.find(id))
        .set(supplement_requests::supplemented_at.eq(to_db(at)))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Apology {
    pub reason: String,
    pub new_appointment_date: NaiveDate,
    pub created_by: i64,
    pub created_at: DateTime<Utc>,
}

pub fn add_apology(
    conn: &mut AnyConnection,
    dossier_id: i64,
    apology: &Apology,
) -> StoreResult<()> {
    diesel::insert_into(apology_letters::table)
        .values((
            apology_letters::dossier_id.eq(dossier_id),
            apology_letters::reason.eq(&apology.reason),
            apology_letters::new_appointment_date.eq(apology.new_appointment_date),
            apology_letters::created_by.eq(apology.created_by),
            apology_letters::created_at.eq(to_db(apology.created_at)),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn apologies(conn: &mut AnyConnection, dossier_id: i64) -> StoreResult<Vec<Apology>> {
    let rows: Vec<(String, NaiveDate, i64, NaiveDateTime)> = apology_letters::table
        .filter(apology_letters::dossier_id.eq(dossier_id))
        .order(apology_letters::id.asc())
        .select((
            apology_letters::reason,
            apology_letters::new_appointment_date,
            apology_letters::created_by,
            apology_letters::created_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(reason, new_appointment_date, created_by, at)| Apology {
            reason,
            new_appointment_date,
            created_by,
            created_at: from_db(at),
        })
        .collect())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rating {
    pub score: RatingScore,
    pub comment: Option<String>,
    pub rated_at: DateTime<Utc>,
}

/// Records the one rating of a dossier; a second is a `Conflict`.
pub fn rate(
    conn: &mut AnyConnection,
    dossier_id: i64,
    by: i64,
    score: RatingScore,
    comment: Option<&str>,
) -> StoreResult<Rating> {
    let at = now();
    diesel::insert_into(dossier_ratings::table)
        .values((
            dossier_ratings::dossier_id.eq(dossier_id),
            dossier_ratings::score.eq(score.as_str()),
            dossier_ratings::comment.eq(comment),
            dossier_ratings::rated_by.eq(by),
            dossier_ratings::rated_at.eq(to_db(at)),
        ))
        .execute(conn)?;
    Ok(Rating {
        score,
        comment: comment.map(str::to_owned),
        rated_at: at,
    })
}

pub fn rating(conn: &mut AnyConnection, dossier_id: i64) -> StoreResult<Option<Rating>> {
    let row: Option<(String, Option<String>, NaiveDateTime)> = dossier_ratings::table
        .find(dossier_id)
        .select((
            dossier_ratings::score,
            dossier_ratings::comment,
            dossier_ratings::rated_at,
        ))
        .first(conn)
        .optional()?;
    row.map(|(score, comment, at)| {
        Ok(Rating {
            score: parse_enum(&score)?,
            comment,
            rated_at: from_db(at),
        })
    })
    .transpose()
}

/// Who may see which dossiers in a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DossierScope {
    All,
    /// Filed under this applicant record.
    Applicant(i64),
    /// Passed through this agency.
    Agency(i64),
    /// Filed by this account.
    Submitter(i64),
    /// Filed by this integration account, or received by an agency it is granted.
    Integration(i64),
}

#[derive(Debug, Clone, Default)]
pub struct DossierFilter {
    pub statuses: Vec<DossierStatus>,
    pub procedure_code: Option<String>,
    pub agency_id: Option<i64>,
    pub channel: Option<Channel>,
    pub submitted_from: Option<DateTime<Utc>>,
    pub submitted_to: Option<DateTime<Utc>>,
    /// Folded words, each matched against code, applicant name and ID number.
    pub terms: Vec<String>,
    /// Unfinished and past due at this moment.
    pub overdue_at: Option<DateTime<Utc>>,
    /// Unfinished, not overdue at `now`, due by this moment.
    pub due_by: Option<(DateTime<Utc>, DateTime<Utc>)>,
    pub assignee_id: Option<i64>,
}

fn unfinished() -> [&'static str; 7] {
    [
        DossierStatus::Submitted.as_str(),
        DossierStatus::Received.as_str(),
        DossierStatus::InReview.as_str(),
        DossierStatus::PendingApproval.as_str(),
        DossierStatus::Approved.as_str(),
        DossierStatus::SupplementRequested.as_str(),
        DossierStatus::ResultReady.as_str(),
    ]
}

/// A page of dossiers, soonest due first (those without a due moment last).
pub fn list(
    conn: &mut AnyConnection,
    scope: DossierScope,
    filter: &DossierFilter,
    page: PageRequest,
) -> StoreResult<Page<Dossier>> {
    let query = || {
        let mut q = dossiers::table.into_boxed::<crate::db::Db>();
        match scope {
            DossierScope::All => {}
            DossierScope::Applicant(id) => q = q.filter(dossiers::applicant_id.eq(id)),
            DossierScope::Agency(id) => {
                q = q.filter(
                    dossiers::id.eq_any(
                        dossier_agencies::table
                            .filter(dossier_agencies::agency_id.eq(id))
                            .select(dossier_agencies::dossier_id),
                    ),
                )
            }
            DossierScope::Submitter(user) => q = q.filter(dossiers::submitted_by.eq(user)),
            DossierScope::Integration(user) => {
                q = q.filter(
                    dossiers::submitted_by
                        .eq(user)
                        .or(dossiers::agency_id.eq_any(
                            crate::schema::integration_grants::table
                                .filter(crate::schema::integration_grants::user_id.eq(user))
                                .select(crate::schema::integration_grants::agency_id),
                        )),
                )
            }
        }
        if !filter.statuses.is_empty() {
            q = q.filter(
                dossiers::status.eq_any(
                    filter
                        .statuses
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>(),
                ),
            );
        }
        if let Some(code) = &filter.procedure_code {
            q = q.filter(
                dossiers::procedure_id.eq_any(
                    procedures::table
                        .filter(procedures::code.eq(code.clone()))
                        .select(procedures::id),
                ),
            );
        }
        if let Some(agency) = filter.agency_id {
            q = q.filter(
                dossiers::agency_id
                    .eq(agency)
                    .or(dossiers::handling_agency_id.eq(agency)),
            );
        }
        if let Some(channel) = filter.channel {
            q = q.filter(dossiers::channel.eq(channel.as_str()));
        }
        if let Some(from) = filter.submitted_from {
            q = q.filter(dossiers::submitted_at.ge(to_db(from)));
        }
        if let Some(to) = filter.submitted_to {
            q = q.filter(dossiers::submitted_at.lt(to_db(to)));
        }
        for term in &filter.terms {
            q = q.filter(dossiers::search_text.like(format!("% {term}%")));
        }
        // Only a running clock can run out: not while a supplement is
        // awaited, not once the result is issued (DOMAIN.md, Time rules).
        if let Some(at) = filter.overdue_at {
            q = q
                .filter(dossiers::status.eq_any(unfinished()))
                .filter(dossiers::processed_at.is_null())
                .filter(dossiers::paused_at.is_null())
                .filter(dossiers::due_at.lt(to_db(at)));
        }
        if let Some((now, by)) = filter.due_by {
            q = q
                .filter(dossiers::status.eq_any(unfinished()))
                .filter(dossiers::processed_at.is_null())
                .filter(dossiers::paused_at.is_null())
                .filter(dossiers::due_at.ge(to_db(now)))
                .filter(dossiers::due_at.le(to_db(by)));
        }
        if let Some(assignee) = filter.assignee_id {
            q = q.filter(dossiers::assignee_id.eq(assignee));
        }
        q
    };
    let total: i64 = query().count().get_result(conn)?;
    let rows: Vec<Row> = query()
        .order((
            dossiers::due_at.is_null().asc(),
            dossiers::due_at.asc(),
            dossiers::submitted_at.asc(),
            dossiers::id.asc(),
        ))
        .offset(page.offset())
        .limit(page.limit())
        .select(Row::as_select())
        .load(conn)?;
    let items = assemble_all(conn, rows)?;
    Ok(Page::new(items, page, total))
}

/// Users of an agency with a role, for routing checks.
pub fn user_in_agency(
    conn: &mut AnyConnection,
    user_id: i64,
    agency_id: i64,
) -> StoreResult<Option<Role>> {
    let row: Option<(String, Option<i64>, bool)> = users::table
        .find(user_id)
        .select((users::role, users::agency_id, users::active))
        .first(conn)
        .optional()?;
    match row {
        Some((role, Some(agency), true)) if agency == agency_id => Ok(Some(parse_enum(&role)?)),
        _ => Ok(None),
    }
}

/// The action name of a submission in the trail (submission is not a domain [`Action`]).
pub const SUBMIT: &str = "submit";
