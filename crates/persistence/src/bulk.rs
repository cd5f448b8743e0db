//! Bulk writes for the synthetic data generator (`motcua-generator`) only:
//! batches of finished rows written straight to their tables, many rows per
//! statement, and the few reads the generator continues from. Storage only:
//! what the rows say (statuses, transitions, due moments) is decided by the
//! generator through the domain rules before it gets here.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use diesel::prelude::*;
use motcua_domain::Role;
use motcua_domain::calendar::Remaining;
use motcua_domain::document::{DocumentKind, DocumentStage};
use motcua_domain::dossier::{Action, Channel, DossierStatus, RatingScore};
use motcua_domain::feedback::{FeedbackAction, FeedbackStatus};
use motcua_domain::kpi::Grain;
use motcua_domain::payment::{PaymentMethod, PaymentStatus};
use motcua_domain::procedure::TimeUnit;
use motcua_domain::queue::TicketStatus;

use crate::repo::dossiers::SUBMIT;
use crate::repo::queue::Histogram;
use crate::schema::{
    apology_letters, applicants, documents, dossier_agencies, dossier_documents, dossier_events,
    dossier_ratings, dossier_sequences, dossiers, feedback, feedback_messages, payment_events,
    payments, queue_tickets, queue_waits, supplement_requests, ticket_sequences,
};
use crate::time::to_db;
use crate::{AnyConnection, StoreError, StoreResult, insert_many};

/// Rows per INSERT statement (within both backends' bind-parameter limits).
const ROWS_PER_INSERT: usize = 500;

/// The file every synthetic electronic document points at, stored once.
#[derive(Debug, Clone)]
pub struct Placeholder {
    pub storage_key: String,
    pub size_bytes: i64,
    pub sha256: String,
}

pub struct ApplicantRow {
    pub id: i64,
    pub id_number: String,
    pub full_name: String,
    pub created_at: DateTime<Utc>,
}

pub struct DossierRow {
    pub id: i64,
    pub code: String,
    pub procedure_id: i64,
    pub agency_id: i64,
    pub handling_agency_id: i64,
    pub applicant_id: i64,
    pub submitted_by: i64,
    pub channel: Channel,
    pub status: DossierStatus,
    pub time_unit: TimeUnit,
    pub regulated_days: i32,
    pub submitted_at: DateTime<Utc>,
    pub received_at: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    pub appointment_at: Option<DateTime<Utc>>,
    pub paused_at: Option<DateTime<Utc>>,
    pub paused_remaining: Option<Remaining>,
    pub supplement_from: Option<DossierStatus>,
    pub supplement_count: i32,
    pub processed_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub fees_due: i64,
    pub fees_paid: i64,
    /// The fee lines as stored (JSON).
    pub fees: String,
    pub search_text: String,
    pub updated_at: DateTime<Utc>,
}

pub struct DocumentRow {
    pub id: String,
    pub owner: i64,
    pub uploaded_by: i64,
    pub kind: DocumentKind,
    pub created_at: DateTime<Utc>,
}

/// A line of a dossier's document list.
pub struct LineRow {
    pub dossier_id: i64,
    pub requirement: Option<String>,
    pub document_id: Option<String>,
    pub paper: bool,
    pub reused: bool,
    pub stage: DocumentStage,
    pub added_at: DateTime<Utc>,
}

pub struct EventRow {
    pub dossier_id: i64,
    /// `None` for the submission, which is not an [`Action`].
    pub action: Option<Action>,
    pub from_status: Option<DossierStatus>,
    pub to_status: DossierStatus,
    pub actor_id: i64,
    pub actor_role: Role,
    pub actor_agency_id: Option<i64>,
    pub note: Option<&'static str>,
    pub at: DateTime<Utc>,
}

pub struct SupplementRequestRow {
    pub dossier_id: i64,
    pub requested_by: i64,
    pub requested_at: DateTime<Utc>,
    /// What is missing (stored as a JSON list).
    pub items: Vec<String>,
    pub deadline: NaiveDate,
    pub supplemented_at: Option<DateTime<Utc>>,
}

pub struct ApologyRow {
    pub dossier_id: i64,
    pub reason: &'static str,
    pub new_appointment_date: NaiveDate,
    pub created_by: i64,
    pub created_at: DateTime<Utc>,
}

/// A successful payment (its id is also its transaction reference).
pub struct PaymentRow {
    pub id: String,
    pub dossier_id: i64,
    pub method: PaymentMethod,
    pub amount_vnd: i64,
    pub created_by: i64,
    pub paid_at: DateTime<Utc>,
}

pub struct RatingRow {
    pub dossier_id: i64,
    pub score: RatingScore,
    pub rated_by: i64,
    pub rated_at: DateTime<Utc>,
}

/// A completed queue ticket.
pub struct TicketRow {
    pub agency_id: i64,
    pub sector_code: String,
    pub day: NaiveDate,
    pub number: i32,
    pub issued_at: DateTime<Utc>,
    pub called_at: DateTime<Utc>,
    pub counter: String,
    pub called_by: i64,
}

/// The rows of one batch, written in one transaction.
#[derive(Default)]
pub struct Batch {
    pub applicants: Vec<ApplicantRow>,
    pub dossiers: Vec<DossierRow>,
    /// (dossier, agency that may see it)
    pub dossier_agencies: Vec<(i64, i64)>,
    pub documents: Vec<DocumentRow>,
    pub lines: Vec<LineRow>,
    pub events: Vec<EventRow>,
    pub supplement_requests: Vec<SupplementRequestRow>,
    pub apologies: Vec<ApologyRow>,
    pub payments: Vec<PaymentRow>,
    pub ratings: Vec<RatingRow>,
    pub tickets: Vec<TicketRow>,
}

pub struct FeedbackRow {
    pub tracking_code: String,
    pub agency_id: i64,
    pub status: FeedbackStatus,
    pub handled_at: Option<DateTime<Utc>>,
    pub due_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub staff_id: i64,
}

/// The highest ids in use, to continue after.
#[derive(Debug, Clone, Copy)]
pub struct LastIds {
    pub dossier: i64,
    pub applicant: i64,
    pub feedback: i64,
}

pub fn last_ids(conn: &mut AnyConnection) -> StoreResult<LastIds> {
    Ok(LastIds {
        dossier: dossiers::table
            .select(diesel::dsl::max(dossiers::id))
            .first::<Option<i64>>(conn)?
            .unwrap_or(0),
        applicant: applicants::table
            .select(diesel::dsl::max(applicants::id))
            .first::<Option<i64>>(conn)?
            .unwrap_or(0),
        feedback: feedback::table
            .select(diesel::dsl::max(feedback::id))
            .first::<Option<i64>>(conn)?
            .unwrap_or(0),
    })
}

/// Per-agency daily sequences: (dossier codes, queue tickets), by (agency, day).
pub type Sequences = HashMap<(i64, NaiveDate), i64>;

/// The dossier-code and ticket sequences of `agencies` so far.
pub fn sequences(
    conn: &mut AnyConnection,
    agencies: &[i64],
) -> StoreResult<(Sequences, Sequences)> {
    let dossier = dossier_sequences::table
        .filter(dossier_sequences::agency_id.eq_any(agencies))
        .select((
            dossier_sequences::agency_id,
            dossier_sequences::day,
            dossier_sequences::last_value,
        ))
        .load::<(i64, NaiveDate, i64)>(conn)?
        .into_iter()
        .map(|(a, d, v)| ((a, d), v))
        .collect();
    let ticket = ticket_sequences::table
        .filter(ticket_sequences::agency_id.eq_any(agencies))
        .select((
            ticket_sequences::agency_id,
            ticket_sequences::day,
            ticket_sequences::last_value,
        ))
        .load::<(i64, NaiveDate, i64)>(conn)?
        .into_iter()
        .map(|(a, d, v)| ((a, d), v))
        .collect();
    Ok((dossier, ticket))
}

/// Runs `insert_many!` over `rows` in statements of [`ROWS_PER_INSERT`].
macro_rules! insert_chunks {
    ($conn:expr, $table:expr, $rows:expr, |$row:pat_param| $values:expr) => {{
        for chunk in $rows.chunks(ROWS_PER_INSERT) {
            let values: Vec<_> = chunk.iter().map(|$row| $values).collect();
            insert_many!(&mut *$conn, $table, values)?;
        }
    }};
}

fn json<T: serde::Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(StoreError::corrupt)
}

/// The gateway a synthetic payment went through.
fn gateway(method: PaymentMethod) -> &'static str {
    if method == PaymentMethod::Online {
        "synthetic"
    } else {
        "counter"
    }
}

/// Writes one batch; call inside a write transaction.
pub fn write_batch(
    conn: &mut AnyConnection,
    rows: &Batch,
    placeholder: &Placeholder,
) -> StoreResult<()> {
    insert_chunks!(conn, applicants::table, rows.applicants, |a| (
        applicants::id.eq(a.id),
        applicants::kind.eq("person"),
        applicants::id_number.eq(Some(&a.id_number)),
        applicants::full_name.eq(&a.full_name),
        applicants::created_at.eq(to_db(a.created_at)),
        applicants::updated_at.eq(to_db(a.created_at)),
    ));
    write_dossiers(conn, &rows.dossiers)?;
    insert_chunks!(
        conn,
        dossier_agencies::table,
        rows.dossier_agencies,
        |(dossier, agency)| (
            dossier_agencies::dossier_id.eq(*dossier),
            dossier_agencies::agency_id.eq(*agency),
        )
    );
    insert_chunks!(conn, documents::table, rows.documents, |d| (
        documents::id.eq(&d.id),
        documents::applicant_id.eq(Some(d.owner)),
        documents::uploaded_by.eq(d.uploaded_by),
        documents::kind.eq(d.kind.as_str()),
        documents::title.eq(if d.kind == DocumentKind::Result {
            "Kết quả giải quyết"
        } else {
            "Bản điện tử"
        }),
        documents::file_name.eq("ban-dien-tu.pdf"),
        documents::content_type.eq("application/pdf"),
        documents::size_bytes.eq(placeholder.size_bytes),
        documents::sha256.eq(&placeholder.sha256),
        documents::storage_key.eq(&placeholder.storage_key),
        documents::in_store.eq(d.kind == DocumentKind::Result),
        documents::created_at.eq(to_db(d.created_at)),
    ));
    insert_chunks!(conn, dossier_documents::table, rows.lines, |l| (
        dossier_documents::dossier_id.eq(l.dossier_id),
        dossier_documents::requirement.eq(l.requirement.as_deref()),
        dossier_documents::document_id.eq(l.document_id.as_deref()),
        dossier_documents::paper.eq(l.paper),
        dossier_documents::reused.eq(l.reused),
        dossier_documents::stage.eq(l.stage.as_str()),
        dossier_documents::added_at.eq(to_db(l.added_at)),
    ));
    insert_chunks!(conn, dossier_events::table, rows.events, |e| (
        dossier_events::dossier_id.eq(e.dossier_id),
        dossier_events::action.eq(e.action.map_or(SUBMIT, Action::as_str)),
        dossier_events::from_status.eq(e.from_status.map(DossierStatus::as_str)),
        dossier_events::to_status.eq(e.to_status.as_str()),
        dossier_events::actor_id.eq(Some(e.actor_id)),
        dossier_events::actor_role.eq(e.actor_role.as_str()),
        dossier_events::actor_agency_id.eq(e.actor_agency_id),
        dossier_events::note.eq(e.note),
        dossier_events::at.eq(to_db(e.at)),
    ));
    write_requests(conn, rows)?;
    write_payments(conn, &rows.payments)?;
    insert_chunks!(conn, dossier_ratings::table, rows.ratings, |r| (
        dossier_ratings::dossier_id.eq(r.dossier_id),
        dossier_ratings::score.eq(r.score.as_str()),
        dossier_ratings::rated_by.eq(r.rated_by),
        dossier_ratings::rated_at.eq(to_db(r.rated_at)),
    ));
    insert_chunks!(conn, queue_tickets::table, rows.tickets, |t| (
        queue_tickets::agency_id.eq(t.agency_id),
        queue_tickets::sector_code.eq(Some(&t.sector_code)),
        queue_tickets::day.eq(t.day),
        queue_tickets::number.eq(t.number),
        queue_tickets::status.eq(TicketStatus::Completed.as_str()),
        queue_tickets::issued_at.eq(to_db(t.issued_at)),
        queue_tickets::called_at.eq(Some(to_db(t.called_at))),
        queue_tickets::counter.eq(Some(&t.counter)),
        queue_tickets::called_by.eq(Some(t.called_by)),
        queue_tickets::completed_at.eq(Some(to_db(t.called_at + Duration::minutes(10)))),
    ));
    Ok(())
}

fn write_dossiers(conn: &mut AnyConnection, rows: &[DossierRow]) -> StoreResult<()> {
    let remaining: Vec<Option<String>> = rows
        .iter()
        .map(|d| d.paused_remaining.as_ref().map(json).transpose())
        .collect::<StoreResult<_>>()?;
    let rows: Vec<(&DossierRow, &Option<String>)> = rows.iter().zip(&remaining).collect();
    insert_chunks!(conn, dossiers::table, rows, |(d, remaining)| (
        (
            dossiers::id.eq(d.id),
            dossiers::code.eq(&d.code),
            dossiers::procedure_id.eq(d.procedure_id),
            dossiers::agency_id.eq(d.agency_id),
            dossiers::handling_agency_id.eq(d.handling_agency_id),
            dossiers::applicant_id.eq(d.applicant_id),
            dossiers::submitted_by.eq(d.submitted_by),
            dossiers::channel.eq(d.channel.as_str()),
            dossiers::result_channel.eq(d.channel.as_str()),
            dossiers::status.eq(d.status.as_str()),
            dossiers::time_unit.eq(d.time_unit.as_str()),
            dossiers::allowed_time.eq(d.regulated_days),
            dossiers::regulated_days.eq(d.regulated_days),
            dossiers::submitted_at.eq(to_db(d.submitted_at)),
            dossiers::received_at.eq(d.received_at.map(to_db)),
            dossiers::due_at.eq(d.due_at.map(to_db)),
        ),
        (
            dossiers::appointment_at.eq(d.appointment_at.map(to_db)),
            dossiers::paused_at.eq(d.paused_at.map(to_db)),
            dossiers::paused_remaining.eq(remaining.as_deref()),
            dossiers::supplement_from.eq(d.supplement_from.map(DossierStatus::as_str)),
            dossiers::supplement_count.eq(d.supplement_count),
            dossiers::processed_at.eq(d.processed_at.map(to_db)),
            dossiers::finished_at.eq(d.finished_at.map(to_db)),
            dossiers::fees_due_vnd.eq(d.fees_due),
            dossiers::fees_paid_vnd.eq(d.fees_paid),
            dossiers::fees.eq(&d.fees),
            dossiers::search_text.eq(&d.search_text),
            dossiers::version.eq(1),
            dossiers::updated_at.eq(to_db(d.updated_at)),
        ),
    ));
    Ok(())
}

fn write_requests(conn: &mut AnyConnection, rows: &Batch) -> StoreResult<()> {
    let items: Vec<String> = rows
        .supplement_requests
        .iter()
        .map(|r| json(&r.items))
        .collect::<StoreResult<_>>()?;
    let requests: Vec<(&SupplementRequestRow, &String)> =
        rows.supplement_requests.iter().zip(&items).collect();
    insert_chunks!(conn, supplement_requests::table, requests, |(r, items)| (
        supplement_requests::dossier_id.eq(r.dossier_id),
        supplement_requests::requested_by.eq(r.requested_by),
        supplement_requests::requested_at.eq(to_db(r.requested_at)),
        supplement_requests::items.eq(*items),
        supplement_requests::deadline.eq(r.deadline),
        supplement_requests::supplemented_at.eq(r.supplemented_at.map(to_db)),
    ));
    insert_chunks!(conn, apology_letters::table, rows.apologies, |a| (
        apology_letters::dossier_id.eq(a.dossier_id),
        apology_letters::reason.eq(a.reason),
        apology_letters::new_appointment_date.eq(a.new_appointment_date),
        apology_letters::created_by.eq(a.created_by),
        apology_letters::created_at.eq(to_db(a.created_at)),
    ));
    Ok(())
}

fn write_payments(conn: &mut AnyConnection, rows: &[PaymentRow]) -> StoreResult<()> {
    insert_chunks!(conn, payments::table, rows, |p| (
        (
            payments::id.eq(&p.id),
            payments::dossier_id.eq(p.dossier_id),
            payments::method.eq(p.method.as_str()),
            payments::gateway.eq(gateway(p.method)),
            payments::txn_ref.eq(&p.id),
            payments::amount_vnd.eq(p.amount_vnd),
            payments::status.eq(PaymentStatus::Success.as_str()),
            payments::created_by.eq(p.created_by),
        ),
        (
            payments::created_at.eq(to_db(p.paid_at)),
            payments::updated_at.eq(to_db(p.paid_at)),
            payments::expires_at.eq(to_db(p.paid_at)),
            payments::finished_at.eq(Some(to_db(p.paid_at))),
            payments::paid_at.eq(Some(to_db(p.paid_at))),
            payments::corrected.eq(false),
            payments::check_attempts.eq(0),
            payments::applied_vnd.eq(p.amount_vnd),
        ),
    ));
    insert_chunks!(conn, payment_events::table, rows, |p| (
        payment_events::payment_id.eq(&p.id),
        payment_events::gateway.eq(gateway(p.method)),
        payment_events::gateway_txn_no.eq(Some(&p.id)),
        payment_events::kind.eq("synthetic"),
        payment_events::from_status.eq(PaymentStatus::Created.as_str()),
        payment_events::to_status.eq(PaymentStatus::Success.as_str()),
        payment_events::at.eq(to_db(p.paid_at)),
    ));
    Ok(())
}

/// Upserts `value` by key, one row at a time
/// (few rows; SQLite takes no conflict clause on multi-row inserts through diesel).
macro_rules! upsert_each {
    ($conn:expr, $table:path, ($($key:ident),+), $value:ident, $rows:expr) => {{
        use diesel::upsert::excluded;
        use $table as t;
        for (($($key),+), value) in $rows {
            macro_rules! run {
                ($c:expr) => {
                    diesel::insert_into(t::table)
                        .values(($(t::$key.eq($key),)+ t::$value.eq(value)))
                        .on_conflict(($(t::$key),+))
                        .do_update()
                        .set(t::$value.eq(excluded(t::$value)))
                        .execute($c)
                };
            }
            match &mut *$conn {
                AnyConnection::Postgresql(c) => run!(c)?,
                AnyConnection::Sqlite(c) => run!(c)?,
            };
        }
    }};
}

/// Stores where the dossier-code and ticket sequences now stand.
pub fn write_sequences(
    conn: &mut AnyConnection,
    dossier: &Sequences,
    ticket: &Sequences,
) -> StoreResult<()> {
    let dossier = dossier.iter().map(|((a, d), v)| ((*a, *d), *v));
    upsert_each!(
        conn,
        crate::schema::dossier_sequences,
        (agency_id, day),
        last_value,
        dossier
    );
    let ticket = ticket.iter().map(|((a, d), v)| ((*a, *d), *v));
    upsert_each!(
        conn,
        crate::schema::ticket_sequences,
        (agency_id, day),
        last_value,
        ticket
    );
    Ok(())
}

/// Adds wait histograms, already rolled up by (grain, period, agency), to
/// the stored ones.
pub fn add_queue_waits(
    conn: &mut AnyConnection,
    mut rows: std::collections::BTreeMap<(Grain, NaiveDate, i64), Histogram>,
) -> StoreResult<()> {
    let existing: Vec<(String, NaiveDate, i64, String)> = queue_waits::table
        .select((
            queue_waits::grain,
            queue_waits::period,
            queue_waits::agency_id,
            queue_waits::histogram,
        ))
        .load(conn)?;
    for (grain, period, agency, text) in existing {
        let grain: Grain = crate::parse_enum(&grain)?;
        if let Some(merged) = rows.get_mut(&(grain, period, agency)) {
            let before: Histogram = serde_json::from_str(&text).map_err(StoreError::corrupt)?;
            for (minutes, n) in before {
                *merged.entry(minutes).or_insert(0) += n;
            }
            diesel::delete(queue_waits::table.find((grain.as_str(), period, agency)))
                .execute(conn)?;
        }
    }
    let rows: Vec<((Grain, NaiveDate, i64), String, i64)> = rows
        .into_iter()
        .map(|(key, h)| Ok((key, json(&h)?, h.values().sum::<i64>())))
        .collect::<StoreResult<_>>()?;
    insert_chunks!(conn, queue_waits::table, rows, |(
        (grain, period, agency),
        histogram,
        tickets,
    )| (
        queue_waits::grain.eq(grain.as_str()),
        queue_waits::period.eq(*period),
        queue_waits::agency_id.eq(*agency),
        queue_waits::tickets.eq(*tickets),
        queue_waits::histogram.eq(histogram),
    ));
    Ok(())
}

/// Writes feedback, with the answer of the answered ones.
pub fn write_feedback(conn: &mut AnyConnection, rows: &[FeedbackRow]) -> StoreResult<()> {
    for f in rows {
        let id: i64 = diesel::insert_into(feedback::table)
            .values((
                feedback::tracking_code.eq(&f.tracking_code),
                feedback::agency_id.eq(f.agency_id),
                feedback::subject.eq("Đề nghị đơn giản hóa thành phần hồ sơ"),
                feedback::content.eq("Phản ánh mô phỏng về quy định hành chính."),
                feedback::contact.eq(Some("0912345678")),
                feedback::status.eq(f.status.as_str()),
                feedback::handled_at.eq(f.handled_at.map(to_db)),
                feedback::due_at.eq(to_db(f.due_at)),
                feedback::created_at.eq(to_db(f.created_at)),
                feedback::updated_at.eq(to_db(f.handled_at.unwrap_or(f.created_at))),
            ))
            .returning(feedback::id)
            .get_result(conn)?;
        if let Some(at) = f.handled_at {
            diesel::insert_into(feedback_messages::table)
                .values((
                    feedback_messages::feedback_id.eq(id),
                    feedback_messages::action.eq(FeedbackAction::Answer.as_str()),
                    feedback_messages::from_status.eq(FeedbackStatus::Received.as_str()),
                    feedback_messages::to_status.eq(f.status.as_str()),
                    feedback_messages::body.eq("Cơ quan đã tiếp thu và trả lời."),
                    feedback_messages::staff_id.eq(Some(f.staff_id)),
                    feedback_messages::at.eq(to_db(at)),
                ))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// After rows were written with explicit ids: PostgreSQL's id sequences
/// continue after them.
pub fn continue_ids(conn: &mut AnyConnection) -> StoreResult<()> {
    crate::db::sync_id_sequences(conn, &["applicants", "dossiers"])
}
