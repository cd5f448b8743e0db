//! Writing a dossier: its row, number, agencies and changes.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use motcua_domain::agency::AgencyRef;
use motcua_domain::calendar::Remaining;
use motcua_domain::dossier::{Channel, Dossier, DossierStatus};
use motcua_domain::procedure::Fee;

use crate::schema::{dossier_agencies, dossiers};
use crate::time::{from_db, to_db};
use crate::{AnyConnection, StoreError, StoreResult};

/// A dossier as filed. Its code is set last, by [`number`], in the same
/// transaction.
pub struct NewDossier<'a> {
    pub procedure_id: i64,
    pub agency_id: i64,
    /// The receiving point that took it in for `agency_id`, if another agency.
    pub received_at_agency_id: Option<i64>,
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
            dossiers::received_at_agency_id.eq(new.received_at_agency_id),
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
    if let Some(point) = new.received_at_agency_id {
        // The receiving point's staff follow the dossier they took in.
        add_agency(conn, id, point)?;
    }
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
