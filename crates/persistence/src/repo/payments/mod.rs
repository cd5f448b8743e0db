//! Payments, their transitions and refunds. Every transition is a conditional
//! update in one transaction with its event row, unique per gateway event, so
//! two racing notifications cannot both apply.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use motcua_domain::Role;
use motcua_domain::event::{EventType, PaymentEventData};
use motcua_domain::payment::{
    Effect, FailureCode, Payment, PaymentMethod, PaymentStatus, Refund, Settlement, effect, settle,
};

use crate::repo::dossiers::{self as dossier_repo, NewEvent};
use crate::schema::{dossiers, payment_events, payments, users};
use crate::time::{from_db, to_db};
use crate::{AnyConnection, StoreError, StoreResult, insert_or_ignore, parse_enum, write_tx};

#[derive(Queryable, Selectable)]
#[diesel(table_name = payments)]
struct Row {
    id: String,
    dossier_id: i64,
    method: String,
    gateway: String,
    txn_ref: String,
    amount_vnd: i64,
    status: String,
    failure_code: Option<String>,
    next_url: Option<String>,
    client_ip: Option<String>,
    receipt_number: Option<String>,
    created_by: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    expires_at: NaiveDateTime,
    finished_at: Option<NaiveDateTime>,
    gateway_txn_no: Option<String>,
    bank_code: Option<String>,
    paid_at: Option<NaiveDateTime>,
    corrected: bool,
    next_check_at: Option<NaiveDateTime>,
    check_attempts: i32,
    applied_vnd: i64,
}

fn into_domain(row: Row, dossier_code: String) -> StoreResult<Payment> {
    let status: PaymentStatus = parse_enum(&row.status)?;
    let surplus_vnd = if status == PaymentStatus::Success {
        (row.amount_vnd - row.applied_vnd).max(0)
    } else {
        0
    };
    Ok(Payment {
        id: row.id,
        dossier_id: row.dossier_id,
        dossier_code,
        method: parse_enum(&row.method)?,
        gateway: row.gateway,
        txn_ref: row.txn_ref,
        amount_vnd: row.amount_vnd,
        status,
        failure_code: row.failure_code.as_deref().map(parse_enum).transpose()?,
        next_url: row.next_url,
        client_ip: row.client_ip,
        receipt_number: row.receipt_number,
        created_by: row.created_by,
        created_at: from_db(row.created_at),
        updated_at: from_db(row.updated_at),
        expires_at: from_db(row.expires_at),
        finished_at: row.finished_at.map(from_db),
        gateway_txn_no: row.gateway_txn_no,
        bank_code: row.bank_code,
        paid_at: row.paid_at.map(from_db),
        corrected: row.corrected,
        applied_vnd: row.applied_vnd,
        surplus_vnd,
        next_check_at: row.next_check_at.map(from_db),
        check_attempts: row.check_attempts,
    })
}

fn load(
    conn: &mut AnyConnection,
    query: payments::BoxedQuery<'_, crate::db::Db>,
) -> StoreResult<Vec<Payment>> {
    let rows: Vec<(Row, String)> = query
        .inner_join(dossiers::table)
        .select((Row::as_select(), dossiers::code))
        .load(conn)?;
    rows.into_iter()
        .map(|(row, code)| into_domain(row, code))
        .collect()
}

pub fn get(conn: &mut AnyConnection, id: &str) -> StoreResult<Payment> {
    load(
        conn,
        payments::table
            .filter(payments::id.eq(id.to_owned()))
            .into_boxed(),
    )?
    .into_iter()
    .next()
    .ok_or(StoreError::NotFound)
}

pub fn by_txn_ref(conn: &mut AnyConnection, txn_ref: &str) -> StoreResult<Option<Payment>> {
    Ok(load(
        conn,
        payments::table
            .filter(payments::txn_ref.eq(txn_ref.to_owned()))
            .into_boxed(),
    )?
    .into_iter()
    .next())
}

pub fn of_dossier(conn: &mut AnyConnection, dossier_id: i64) -> StoreResult<Vec<Payment>> {
    load(
        conn,
        payments::table
            .filter(payments::dossier_id.eq(dossier_id))
            .order(payments::created_at.asc())
            .into_boxed(),
    )
}

pub struct NewPayment<'a> {
    pub id: &'a str,
    pub dossier_id: i64,
    pub method: PaymentMethod,
    pub gateway: &'a str,
    pub txn_ref: &'a str,
    pub amount_vnd: i64,
    pub client_ip: Option<&'a str>,
    pub created_by: i64,
    /// When the attempt is opened (the caller's clock).
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Inserts an online attempt in `created`, with its `payment.created` event.
pub fn insert(conn: &mut AnyConnection, p: &NewPayment<'_>) -> StoreResult<Payment> {
    write_tx(conn, |conn| insert_in_tx(conn, p))
}

fn insert_in_tx(conn: &mut AnyConnection, p: &NewPayment<'_>) -> StoreResult<Payment> {
    let at = to_db(p.created_at);
    diesel::insert_into(payments::table)
        .values((
            payments::id.eq(p.id),
            payments::dossier_id.eq(p.dossier_id),
            payments::method.eq(p.method.as_str()),
            payments::gateway.eq(p.gateway),
            payments::txn_ref.eq(p.txn_ref),
            payments::amount_vnd.eq(p.amount_vnd),
            payments::status.eq(PaymentStatus::Created.as_str()),
            payments::client_ip.eq(p.client_ip),
            payments::created_by.eq(p.created_by),
            payments::created_at.eq(at),
            payments::updated_at.eq(at),
            payments::expires_at.eq(to_db(p.expires_at)),
            payments::corrected.eq(false),
            payments::check_attempts.eq(0),
            payments::applied_vnd.eq(0_i64),
        ))
        .execute(conn)?;
    let created = get(conn, p.id)?;
    announce(conn, &created, None, p.created_at)?;
    Ok(created)
}

/// Writes the event a payment reaching its current status reports (see
/// `EventType::of_payment_status`), or `refund`'s `payment.refunded`, in the
/// caller's transaction: the one place payment events are made. Subject: the
/// payment's id; agency: its dossier's receiving agency.
pub(crate) fn announce(
    conn: &mut AnyConnection,
    p: &Payment,
    refund: Option<&Refund>,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let mut data = PaymentEventData::of(p);
    let event_type = match refund {
        Some(refund) => {
            data.refund_id = Some(refund.id.clone());
            data.refunded_vnd = Some(refund.amount_vnd);
            EventType::PaymentRefunded
        }
        None => match EventType::of_payment_status(p.status) {
            Some(t) => t,
            None => return Ok(()),
        },
    };
    let agency_id: i64 = dossiers::table
        .find(p.dossier_id)
        .select(dossiers::agency_id)
        .first(conn)?;
    crate::repo::events::record(conn, event_type, &p.id, Some(agency_id), at, &data)?;
    Ok(())
}

/// Takes the dossier's row lock until the end of the transaction
/// (`SELECT … FOR UPDATE` on PostgreSQL; SQLite's write transaction, begun
/// `IMMEDIATE` by [`crate::write_tx`], already excludes every other writer).
/// Everything that opens an attempt, records a counter payment or settles
/// money takes it first, so they queue per dossier: dossier first, then payment.
pub fn lock_dossier(conn: &mut AnyConnection, dossier_id: i64) -> StoreResult<()> {
    if let AnyConnection::Postgresql(c) = conn {
        dossiers::table
            .find(dossier_id)
            .select(dossiers::id)
            .for_update()
            .first::<i64>(c)?;
    }
    Ok(())
}

/// Whether a refused write hit one of the "once per dossier" indexes
/// (PostgreSQL names the index; SQLite names the column).
pub fn is_once_per_dossier_conflict(error: &StoreError) -> bool {
    error.is_conflict_on("payments_one_open_per_dossier")
        || error.is_conflict_on("payments_one_settlement_per_dossier")
        || error.is_conflict_on("payments.dossier_id")
}

/// Stores the URL the citizen is sent to (kept for the payer to resume, never logged).
pub fn set_next_url(conn: &mut AnyConnection, id: &str, url: &str) -> StoreResult<()> {
    diesel::update(payments::table.find(id))
        .set(payments::next_url.eq(url))
        .execute(conn)?;
    Ok(())
}

/// An online attempt of the dossier still open (created, started or submitted).
pub fn open_attempt(conn: &mut AnyConnection, dossier_id: i64) -> StoreResult<Option<Payment>> {
    let open = [
        PaymentStatus::Created.as_str(),
        PaymentStatus::Started.as_str(),
        PaymentStatus::Submitted.as_str(),
    ];
    Ok(load(
        conn,
        payments::table
            .filter(payments::dossier_id.eq(dossier_id))
            .filter(payments::method.eq(PaymentMethod::Online.as_str()))
            .filter(payments::status.eq_any(open))
            .into_boxed(),
    )?
    .into_iter()
    .next())
}

/// What a gateway said, to keep with the transition.
#[derive(Debug, Clone, Default)]
pub struct GatewayFacts {
    pub gateway: String,
    pub txn_no: Option<String>,
    /// `notification_paid`, `query_declined`, `expired`, `cancelled`…
    pub kind: String,
    pub bank_code: Option<String>,
    pub paid_at: Option<DateTime<Utc>>,
    pub detail: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    Applied(Payment),
    /// Money taken for an attempt we had closed: recorded (any surplus kept on
    /// the payment and proposed for refund), and an alert is due.
    Corrected(Payment),
    /// The payment was already there; nothing changed.
    Repeat(Payment),
    /// Not allowed from its status; nothing changed.
    Refused(Payment),
}

enum TxError {
    Store(StoreError),
    Already,
}

impl From<diesel::result::Error> for TxError {
    fn from(e: diesel::result::Error) -> Self {
        TxError::Store(e.into())
    }
}

impl From<StoreError> for TxError {
    fn from(e: StoreError) -> Self {
        TxError::Store(e)
    }
}

/// Moves a payment to `to` at `at`, once. A success also records the money on the dossier.
pub fn transition(
    conn: &mut AnyConnection,
    id: &str,
    to: PaymentStatus,
    code: Option<FailureCode>,
    facts: &GatewayFacts,
    at: DateTime<Utc>,
) -> StoreResult<Transition> {
    let result = write_tx(conn, |conn| -> Result<Transition, TxError> {
        // Dossier first, then the payment: the order every writer of money keeps.
        let dossier_id: i64 = payments::table
            .find(id)
            .select(payments::dossier_id)
            .first(conn)?;
        lock_dossier(conn, dossier_id)?;
        let p = get(conn, id)?;
        let corrected = match effect(p.status, p.failure_code, to, code) {
            Effect::Repeat => return Ok(Transition::Repeat(p)),
            Effect::Refused => return Ok(Transition::Refused(p)),
            Effect::Apply => false,
            Effect::CorrectedSuccess => true,
        };
        let finished = to.is_finished().then_some(to_db(at));
        let n = diesel::update(
            payments::table
                .filter(payments::id.eq(id))
                .filter(payments::status.eq(p.status.as_str())),
        )
        .set((
            payments::status.eq(to.as_str()),
            payments::failure_code.eq(code.map(|c| c.as_str())),
            payments::updated_at.eq(to_db(at)),
            payments::finished_at.eq(finished),
            payments::gateway_txn_no.eq(facts.txn_no.clone().or(p.gateway_txn_no.clone())),
            payments::bank_code.eq(facts.bank_code.clone().or(p.bank_code.clone())),
            payments::paid_at.eq(facts.paid_at.map(to_db).or(p.paid_at.map(to_db))),
            payments::corrected.eq(p.corrected || corrected),
            payments::next_url.eq(if to == PaymentStatus::Started {
                p.next_url.clone()
            } else {
                None
            }),
            payments::claimed_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
        if n == 0 {
            // Someone else moved it first.
            let now_p = get(conn, id)?;
            return Ok(match effect(now_p.status, now_p.failure_code, to, code) {
                Effect::Repeat => Transition::Repeat(now_p),
                _ => Transition::Refused(now_p),
            });
        }
        let inserted = insert_or_ignore!(
            &mut *conn,
            payment_events::table,
            (
                payment_events::payment_id.eq(id),
                payment_events::gateway.eq(&facts.gateway),
                payment_events::gateway_txn_no.eq(&facts.txn_no),
                payment_events::kind.eq(&facts.kind),
                payment_events::from_status.eq(p.status.as_str()),
                payment_events::to_status.eq(to.as_str()),
                payment_events::detail.eq(&facts.detail),
                payment_events::at.eq(to_db(at)),
            )
        )?;
        if inserted == 0 {
            return Err(TxError::Already);
        }
        if to == PaymentStatus::Success {
            settle_payment(conn, &p, at, corrected)?;
        }
        let after = get(conn, id)?;
        announce(conn, &after, None, at)?;
        Ok(if corrected {
            Transition::Corrected(after)
        } else {
            Transition::Applied(after)
        })
    });
    match result {
        Ok(t) => Ok(t),
        Err(TxError::Store(e)) => Err(e),
        Err(TxError::Already) => Ok(Transition::Repeat(get(conn, id)?)),
    }
}

/// Counts a successful payment toward its dossier's fee, once: what is still
/// due is applied (the dossier's paid fees grow by it), the rest is a surplus
/// kept on the payment with a refund proposed for it. The dossier's row is
/// locked by the caller. Writes the dossier's trail line.
fn settle_payment(
    conn: &mut AnyConnection,
    p: &Payment,
    at: DateTime<Utc>,
    late: bool,
) -> StoreResult<Settlement> {
    let (due, paid): (i64, i64) = dossiers::table
        .find(p.dossier_id)
        .select((dossiers::fees_due_vnd, dossiers::fees_paid_vnd))
        .first(conn)?;
    let settlement = settle(due, paid, p.amount_vnd);
    diesel::update(payments::table.find(&p.id))
        .set(payments::applied_vnd.eq(settlement.applied))
        .execute(conn)?;
    diesel::update(dossiers::table.find(p.dossier_id))
        .set((
            dossiers::fees_paid_vnd.eq(dossiers::fees_paid_vnd + settlement.applied),
            dossiers::version.eq(dossiers::version + 1),
            dossiers::updated_at.eq(to_db(at)),
        ))
        .execute(conn)?;
    if settlement.surplus > 0 {
        propose_refund(
            conn,
            &p.id,
            settlement.surplus,
            "Tiền nộp thừa: phí của hồ sơ đã được thanh toán",
            at,
        )?;
        tracing::error!(
            payment = %p.id,
            dossier = %p.dossier_code,
            surplus_vnd = settlement.surplus,
            late,
            alert = "overpaid",
            "money received beyond the fee due; refund proposed"
        );
    }
    let status = dossier_repo::by_id(conn, p.dossier_id)?.status;
    let role: String = users::table
        .find(p.created_by)
        .select(users::role)
        .first(conn)?;
    dossier_repo::append_event(
        conn,
        &NewEvent {
            dossier_id: p.dossier_id,
            action: "payment",
            from_status: Some(status),
            to_status: status,
            actor_id: Some(p.created_by),
            actor_role: parse_enum::<Role>(&role)?,
            actor_agency_id: None,
            note: None,
            data: Some(serde_json::json!({
                "payment_id": p.id,
                "amount_vnd": p.amount_vnd,
                "applied_vnd": settlement.applied,
                "surplus_vnd": settlement.surplus,
                "method": p.method,
            })),
            at,
        },
    )?;
    crate::repo::kpi::refresh(conn, p.dossier_id)?;
    Ok(settlement)
}

mod counter;
mod events;
mod jobs;
mod listing;
mod overpayments;
mod reconciliation;
mod refund;
mod sandbox;

pub use counter::*;
pub use events::*;
pub use jobs::*;
pub use listing::*;
pub use overpayments::*;
pub use reconciliation::*;
pub use refund::*;
pub use sandbox::*;
