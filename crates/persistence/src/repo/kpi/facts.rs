//! The KPI facts of one dossier, kept in step with its changes.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::upsert::excluded;
use motcua_domain::calendar::{WorkingCalendar, WorkingHours};
use motcua_domain::dossier::{Dossier, RatingScore};
use motcua_domain::kpi::{self, KpiFacts};
use motcua_domain::kpi_facts::{self, DossierRecord, RecordDocument, RecordPayment};

use super::{add_to_rows, shard_of};
use crate::repo::dossiers::{DossierDocument, Rating, SupplementLine};
use crate::schema::{
    dossier_documents, dossier_facts, dossier_ratings, dossiers, payments, supplement_requests,
};
use crate::time::from_db;
use crate::{AnyConnection, StoreError, StoreResult, parse_enum};

pub(super) struct DossierRow {
    agency_id: i64,
    procedure_id: i64,
    channel: String,
    status: String,
    received_at: Option<NaiveDateTime>,
    due_at: Option<NaiveDateTime>,
    paused_at: Option<NaiveDateTime>,
    processed_at: Option<NaiveDateTime>,
    finished_at: Option<NaiveDateTime>,
    supplement_count: i32,
    regulated_days: i32,
    time_unit: String,
    fees_due_vnd: i64,
    /// Its form data reused an earlier dossier's (read besides the row).
    pub(super) form_reused: bool,
}

pub(super) type RawDossier = (
    i64,
    i64,
    i64,
    String,
    String,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    i32,
    i32,
    String,
    i64,
);

pub(super) fn split(raw: RawDossier) -> (i64, DossierRow) {
    let (
        id,
        agency_id,
        procedure_id,
        channel,
        status,
        received_at,
        due_at,
        paused_at,
        processed_at,
        finished_at,
        supplement_count,
        regulated_days,
        time_unit,
        fees_due_vnd,
    ) = raw;
    (
        id,
        DossierRow {
            agency_id,
            procedure_id,
            channel,
            status,
            received_at,
            due_at,
            paused_at,
            processed_at,
            finished_at,
            supplement_count,
            regulated_days,
            time_unit,
            fees_due_vnd,
            form_reused: false,
        },
    )
}

/// (requirement, document id, paper, reused, stage)
pub(super) type DocLine = (Option<String>, Option<String>, bool, bool, String);
/// (method, status, amount, paid or finished at)
pub(super) type PayLine = (String, String, i64, Option<NaiveDateTime>);
/// A supplement request: (requested at, supplemented at).
pub(super) type PauseLine = (NaiveDateTime, Option<NaiveDateTime>);

/// A dossier's facts from its stored state: what [`kpi::contributions`]
/// counts, decided by the domain's [`kpi_facts::facts`].
pub(super) fn facts_from(
    d: &DossierRow,
    docs: &[DocLine],
    pays: &[PayLine],
    pauses: &[PauseLine],
    rating: Option<&(String, NaiveDateTime)>,
    calendar: &WorkingCalendar,
) -> StoreResult<KpiFacts> {
    let at = |t: &Option<NaiveDateTime>| t.map(from_db);
    let record = DossierRecord {
        agency_id: d.agency_id,
        procedure_id: d.procedure_id,
        channel: parse_enum(&d.channel)?,
        status: parse_enum(&d.status)?,
        time_unit: parse_enum(&d.time_unit)?,
        received_at: at(&d.received_at),
        due_at: at(&d.due_at),
        paused_at: at(&d.paused_at),
        processed_at: at(&d.processed_at),
        finished_at: at(&d.finished_at),
        supplement_count: d.supplement_count,
        regulated_days: d.regulated_days,
        fees_due_vnd: d.fees_due_vnd,
        documents: docs
            .iter()
            .map(|(requirement, document_id, _paper, reused, stage)| {
                Ok(RecordDocument {
                    requirement: requirement.clone(),
                    electronic: document_id.is_some(),
                    reused: *reused,
                    stage: parse_enum(stage)?,
                })
            })
            .collect::<StoreResult<_>>()?,
        form_reused: d.form_reused,
        payments: pays
            .iter()
            .map(|(method, status, applied_vnd, paid_at)| {
                Ok(RecordPayment {
                    method: parse_enum(method)?,
                    status: parse_enum(status)?,
                    applied_vnd: *applied_vnd,
                    paid_at: at(paid_at),
                })
            })
            .collect::<StoreResult<_>>()?,
        pauses: pauses
            .iter()
            .map(|(stopped, resumed)| (from_db(*stopped), at(resumed)))
            .collect(),
        rating: match rating {
            Some((score, at)) => Some((parse_enum::<RatingScore>(score)?, from_db(*at))),
            None => None,
        },
    };
    Ok(kpi_facts::facts(&record, calendar))
}

/// A payment of a dossier, as its KPI facts and its overpayment read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentLine {
    pub method: String,
    pub status: String,
    pub amount_vnd: i64,
    /// What it paid towards the fees.
    pub applied_vnd: i64,
    pub paid_at: Option<NaiveDateTime>,
}

/// A dossier's payments, in one statement.
pub fn payment_lines(conn: &mut AnyConnection, dossier_id: i64) -> StoreResult<Vec<PaymentLine>> {
    let rows: Vec<(String, String, i64, i64, Option<NaiveDateTime>)> = payments::table
        .filter(payments::dossier_id.eq(dossier_id))
        .select((
            payments::method,
            payments::status,
            payments::amount_vnd,
            payments::applied_vnd,
            payments::paid_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(method, status, amount_vnd, applied_vnd, paid_at)| PaymentLine {
                method,
                status,
                amount_vnd,
                applied_vnd,
                paid_at,
            },
        )
        .collect())
}

/// What successful payments received beyond what they paid towards the fees
/// (as `payments::surplus_of_dossier` counts it).
pub fn surplus(lines: &[PaymentLine]) -> i64 {
    lines
        .iter()
        .filter(|p| p.status == motcua_domain::payment::PaymentStatus::Success.as_str())
        .map(|p| (p.amount_vnd - p.applied_vnd).max(0))
        .sum()
}

/// What a dossier's facts read besides its row, as a use case holds them.
#[derive(Debug, Clone, Copy)]
pub struct FactLines<'a> {
    pub documents: &'a [DossierDocument],
    pub payments: &'a [PaymentLine],
    pub supplement_requests: &'a [SupplementLine],
    pub rating: Option<&'a Rating>,
    /// Its form data reused an earlier dossier's (`forms::reused_of`).
    pub form_reused: bool,
}

/// A dossier's facts from the state a use case holds (the dossier as it
/// now stands and its lines), without reading anything: the same record
/// [`refresh`] and [`rebuild`] read from the tables.
pub fn facts_of(
    d: &Dossier,
    lines: FactLines<'_>,
    calendar: &WorkingCalendar,
) -> StoreResult<KpiFacts> {
    let record = DossierRecord {
        agency_id: d.agency.id,
        procedure_id: d.procedure.id,
        channel: d.channel,
        status: d.status,
        time_unit: d.time_unit,
        received_at: d.received_at,
        due_at: d.due_at,
        paused_at: d.paused_at,
        processed_at: d.processed_at,
        finished_at: d.finished_at,
        supplement_count: i32::try_from(d.supplement_count).unwrap_or(i32::MAX),
        regulated_days: i32::try_from(d.regulated_days).unwrap_or(i32::MAX),
        fees_due_vnd: d.fees_due_vnd,
        documents: lines
            .documents
            .iter()
            .map(|doc| {
                Ok(RecordDocument {
                    requirement: doc.requirement.clone(),
                    electronic: doc.document_id.is_some(),
                    reused: doc.reused,
                    stage: parse_enum(&doc.stage)?,
                })
            })
            .collect::<StoreResult<_>>()?,
        form_reused: lines.form_reused,
        payments: lines
            .payments
            .iter()
            .map(|p| {
                Ok(RecordPayment {
                    method: parse_enum(&p.method)?,
                    status: parse_enum(&p.status)?,
                    applied_vnd: p.applied_vnd,
                    paid_at: p.paid_at.map(from_db),
                })
            })
            .collect::<StoreResult<_>>()?,
        pauses: lines
            .supplement_requests
            .iter()
            .map(|r| (r.requested_at, r.supplemented_at))
            .collect(),
        rating: lines.rating.map(|r| (r.score, r.rated_at)),
    };
    Ok(kpi_facts::facts(&record, calendar))
}

/// The calendar the aggregates use: only its days matter here.
pub(super) fn calendar(conn: &mut AnyConnection) -> StoreResult<WorkingCalendar> {
    crate::repo::calendar::load(conn, WorkingHours::default())
}

fn load_facts(conn: &mut AnyConnection, dossier_id: i64) -> StoreResult<Option<KpiFacts>> {
    let text: Option<String> = dossier_facts::table
        .find(dossier_id)
        .select(dossier_facts::facts)
        .first(conn)
        .optional()?;
    text.as_deref().map(parse_facts).transpose()
}

fn save_facts(conn: &mut AnyConnection, dossier_id: i64, facts: &KpiFacts) -> StoreResult<()> {
    let text = serde_json::to_string(facts).map_err(StoreError::corrupt)?;
    let row = (
        dossier_facts::dossier_id.eq(dossier_id),
        dossier_facts::facts.eq(text),
    );
    let replace = dossier_facts::facts.eq(excluded(dossier_facts::facts));
    match conn {
        AnyConnection::Postgresql(c) => diesel::insert_into(dossier_facts::table)
            .values(row)
            .on_conflict(dossier_facts::dossier_id)
            .do_update()
            .set(replace)
            .execute(c)?,
        AnyConnection::Sqlite(c) => diesel::insert_into(dossier_facts::table)
            .values(row)
            .on_conflict(dossier_facts::dossier_id)
            .do_update()
            .set(replace)
            .execute(c)?,
    };
    Ok(())
}

/// Stores a dossier's new facts and adds the difference from `old` to the
/// aggregates: two statements whatever the number of rows touched, the
/// shared aggregate rows last, so that their locks are held only until the
/// commit that should follow. Nothing when the facts did not change.
pub fn write_change(
    conn: &mut AnyConnection,
    dossier_id: i64,
    old: Option<&KpiFacts>,
    new: &KpiFacts,
) -> StoreResult<()> {
    if old == Some(new) {
        return Ok(());
    }
    save_facts(conn, dossier_id, new)?;
    let shard = shard_of(conn, dossier_id);
    add_to_rows(conn, shard, &kpi::change(old, Some(new)))
}

/// Facts as [`write_change`] stored them.
pub fn parse_facts(text: &str) -> StoreResult<KpiFacts> {
    serde_json::from_str(text).map_err(StoreError::corrupt)
}

/// Recomputes one dossier's facts and applies the change to the aggregates.
/// Call inside the transaction that changed the dossier.
pub fn refresh(conn: &mut AnyConnection, dossier_id: i64) -> StoreResult<()> {
    let raw: RawDossier = dossiers::table
        .find(dossier_id)
        .select(dossier_columns!())
        .first(conn)?;
    let (_, mut row) = split(raw);
    row.form_reused = crate::repo::forms::reused_of(conn, dossier_id)?;
    let docs: Vec<DocLine> = dossier_documents::table
        .filter(dossier_documents::dossier_id.eq(dossier_id))
        .select((
            dossier_documents::requirement,
            dossier_documents::document_id,
            dossier_documents::paper,
            dossier_documents::reused,
            dossier_documents::stage,
        ))
        .load(conn)?;
    let pays: Vec<PayLine> = payments::table
        .filter(payments::dossier_id.eq(dossier_id))
        .select((
            payments::method,
            payments::status,
            payments::applied_vnd,
            payments::paid_at,
        ))
        .load(conn)?;
    let rating: Option<(String, NaiveDateTime)> = dossier_ratings::table
        .find(dossier_id)
        .select((dossier_ratings::score, dossier_ratings::rated_at))
        .first(conn)
        .optional()?;
    let pauses: Vec<PauseLine> = supplement_requests::table
        .filter(supplement_requests::dossier_id.eq(dossier_id))
        .select((
            supplement_requests::requested_at,
            supplement_requests::supplemented_at,
        ))
        .load(conn)?;
    let cal = calendar(conn)?;
    let new = facts_from(&row, &docs, &pays, &pauses, rating.as_ref(), &cal)?;
    let old = load_facts(conn, dossier_id)?;
    write_change(conn, dossier_id, old.as_ref(), &new)
}
