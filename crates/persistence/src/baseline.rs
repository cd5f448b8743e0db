//! The bare SQL of the API's hot paths, for the benchmark's baseline
//! (feature `bench`, not compiled into the server): what the database alone
//! does for the same work, statement for statement, with nothing around it.

use chrono::{NaiveDate, Utc};
use diesel::prelude::*;
use motcua_domain::Role;
use motcua_domain::dossier::{Channel, DossierStatus};

use crate::repo::dossiers::{self as repo, NewDossier, NewEvent, Numbering};
use crate::schema::{agencies, applicants, dossier_agencies, dossiers, procedures};
use crate::time::to_db;
use crate::{AnyConnection, StoreResult, write_tx};

/// The references a baseline dossier copies from an existing one.
#[derive(Debug, Clone, Copy)]
pub struct Template {
    pub procedure_id: i64,
    pub agency_id: i64,
    pub applicant_id: i64,
    pub submitted_by: i64,
}

/// The first stored dossier's references.
pub fn template(conn: &mut AnyConnection) -> StoreResult<Template> {
    let (procedure_id, agency_id, applicant_id, submitted_by) = dossiers::table
        .order(dossiers::id.asc())
        .select((
            dossiers::procedure_id,
            dossiers::agency_id,
            dossiers::applicant_id,
            dossiers::submitted_by,
        ))
        .first(conn)?;
    Ok(Template {
        procedure_id,
        agency_id,
        applicant_id,
        submitted_by,
    })
}

/// Submit: in one write transaction, the dossier row, its agency link, its
/// trail line and last the agency's number for `day` (the counter row) with
/// the code: the same statements, in the same order, as the API's filing.
pub fn submit(conn: &mut AnyConnection, t: Template, day: NaiveDate) -> StoreResult<i64> {
    write_tx(conn, |conn| {
        let now = Utc::now();
        let id = repo::insert(
            conn,
            &NewDossier {
                procedure_id: t.procedure_id,
                agency_id: t.agency_id,
                received_at_agency_id: None,
                applicant_id: t.applicant_id,
                submitted_by: t.submitted_by,
                channel: Channel::Counter,
                result_channel: Channel::Counter,
                time_unit: "working_days",
                allowed_time: 10,
                regulated_days: 10,
                submitted_at: now,
                fees: &[],
                fees_due_vnd: 0,
                note: None,
            },
        )?;
        repo::append_event(
            conn,
            &NewEvent {
                dossier_id: id,
                action: repo::SUBMIT,
                from_status: None,
                to_status: DossierStatus::Submitted,
                actor_id: Some(t.submitted_by),
                actor_role: Role::Officer,
                actor_agency_id: Some(t.agency_id),
                note: None,
                data: None,
                at: now,
            },
        )?;
        let prefix = format!("BENCH-{}-", day.format("%y%m%d"));
        repo::number(
            conn,
            id,
            &Numbering {
                agency_id: t.agency_id,
                day,
                code_prefix: &prefix,
                search_head: " bench ",
                search_tail: " ",
            },
        )?;
        Ok(id)
    })
}

/// Tracking: the point select of a dossier by code with its applicant's ID number.
pub fn track(
    conn: &mut AnyConnection,
    code: &str,
) -> StoreResult<Option<(String, Option<String>)>> {
    Ok(dossiers::table
        .inner_join(applicants::table)
        .filter(dossiers::code.eq(code))
        .select((dossiers::status, applicants::id_number))
        .first(conn)
        .optional()?)
}

/// Receive: in one write transaction, the dossier's new state (if still
/// submitted) and its trail line.
pub fn receive(conn: &mut AnyConnection, id: i64, actor: Template) -> StoreResult<bool> {
    write_tx(conn, |conn| {
        let now = Utc::now();
        let n = diesel::update(
            dossiers::table
                .filter(dossiers::id.eq(id))
                .filter(dossiers::status.eq(DossierStatus::Submitted.as_str())),
        )
        .set((
            dossiers::status.eq(DossierStatus::Received.as_str()),
            dossiers::received_at.eq(to_db(now)),
            dossiers::due_at.eq(to_db(now)),
            dossiers::appointment_at.eq(to_db(now)),
            dossiers::version.eq(dossiers::version + 1),
            dossiers::updated_at.eq(to_db(now)),
        ))
        .execute(conn)?;
        if n == 1 {
            repo::append_event(
                conn,
                &NewEvent {
                    dossier_id: id,
                    action: "receive",
                    from_status: Some(DossierStatus::Submitted),
                    to_status: DossierStatus::Received,
                    actor_id: Some(actor.submitted_by),
                    actor_role: Role::Officer,
                    actor_agency_id: Some(actor.agency_id),
                    note: None,
                    data: None,
                    at: now,
                },
            )?;
        }
        Ok(n == 1)
    })
}

/// Catalog search: how many active procedures hold the folded word, and the
/// first page of them by name.
pub fn search(conn: &mut AnyConnection, term: &str) -> StoreResult<(i64, Vec<(String, String)>)> {
    let pattern = format!("%{term}%");
    let total: i64 = procedures::table
        .filter(procedures::status.eq("active"))
        .filter(procedures::search_text.like(&pattern))
        .count()
        .get_result(conn)?;
    let page: Vec<(String, String)> = procedures::table
        .filter(procedures::status.eq("active"))
        .filter(procedures::search_text.like(&pattern))
        .order(procedures::name.asc())
        .limit(20)
        .select((procedures::code, procedures::name))
        .load(conn)?;
    Ok((total, page))
}

type ListRow = (String, String, String, String, String);

/// List page: how many dossiers passed through the agency, and 50 of them
/// soonest due first with their procedure, applicant and agency.
pub fn list_page(conn: &mut AnyConnection, agency_id: i64) -> StoreResult<(i64, Vec<ListRow>)> {
    let scope = dossier_agencies::table
        .filter(dossier_agencies::agency_id.eq(agency_id))
        .select(dossier_agencies::dossier_id);
    let total: i64 = dossiers::table
        .filter(dossiers::id.eq_any(scope))
        .count()
        .get_result(conn)?;
    let rows: Vec<ListRow> = dossiers::table
        .inner_join(procedures::table)
        .inner_join(applicants::table)
        .inner_join(agencies::table.on(agencies::id.eq(dossiers::agency_id)))
        .filter(dossiers::id.eq_any(scope))
        .order((
            dossiers::due_at.is_null().asc(),
            dossiers::due_at.asc(),
            dossiers::submitted_at.asc(),
            dossiers::id.asc(),
        ))
        .limit(50)
        .select((
            dossiers::code,
            dossiers::status,
            procedures::name,
            applicants::full_name,
            agencies::name,
        ))
        .load(conn)?;
    Ok((total, rows))
}
