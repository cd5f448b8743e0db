//! Payments, their transitions and refunds. Every transition is a conditional
//! update in one transaction with its event row, unique per gateway event, so
//! two racing notifications cannot both apply.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use motcua_domain::Role;
use motcua_domain::page::{Page, PageRequest};
use motcua_domain::payment::{
    Effect, FailureCode, Payment, PaymentMethod, PaymentStatus, Refund, RefundStatus, Settlement,
    effect, refundable, settle,
};
use serde::Serialize;

use crate::repo::dossiers::{self as dossier_repo, NewEvent, Scope};
use crate::schema::{
    dossier_agencies, dossiers, gateway_notifications, payment_events, payments,
    reconciliation_items, reconciliation_runs, refunds, sandbox_transactions, users,
};
use crate::time::{from_db, now, to_db};
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

/// Inserts an online attempt in `created`.
pub fn insert(conn: &mut AnyConnection, p: &NewPayment<'_>) -> StoreResult<Payment> {
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
    get(conn, p.id)
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

pub struct CounterPayment<'a> {
    pub id: &'a str,
    pub dossier_id: i64,
    pub amount_vnd: i64,
    pub receipt_number: &'a str,
    pub recorded_by: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CounterRefusal {
    /// An online attempt awaits the gateway's outcome (money may be on its way).
    AttemptPending(String),
}

/// Fees paid in cash at the counter: recorded as a finished success. An online
/// attempt not yet at the gateway's outcome (`created`, `started`) is closed as
/// `superseded`; should the gateway take that money anyway it becomes a surplus.
/// One awaiting its outcome (`submitted`) refuses the counter payment.
pub fn record_counter(
    conn: &mut AnyConnection,
    c: &CounterPayment<'_>,
) -> StoreResult<Result<Payment, CounterRefusal>> {
    write_tx(conn, |conn| {
        lock_dossier(conn, c.dossier_id)?;
        let at = now();
        if let Some(open) = open_attempt(conn, c.dossier_id)? {
            if open.status == PaymentStatus::Submitted {
                return Ok(Err(CounterRefusal::AttemptPending(open.id)));
            }
            let facts = GatewayFacts {
                gateway: open.gateway.clone(),
                kind: "superseded_by_counter".into(),
                detail: Some(format!("counter payment {}", c.id)),
                ..Default::default()
            };
            match transition(
                conn,
                &open.id,
                PaymentStatus::Cancelled,
                Some(FailureCode::Superseded),
                &facts,
                at,
            )? {
                Transition::Applied(_) => {}
                other => {
                    return Err(StoreError::Conflict(format!(
                        "payments_one_open_per_dossier: {other:?}"
                    )));
                }
            }
        }
        diesel::insert_into(payments::table)
            .values((
                payments::id.eq(c.id),
                payments::dossier_id.eq(c.dossier_id),
                payments::method.eq(PaymentMethod::Counter.as_str()),
                payments::gateway.eq("counter"),
                payments::txn_ref.eq(c.id),
                payments::amount_vnd.eq(c.amount_vnd),
                payments::status.eq(PaymentStatus::Success.as_str()),
                payments::receipt_number.eq(c.receipt_number),
                payments::created_by.eq(c.recorded_by),
                payments::created_at.eq(to_db(at)),
                payments::updated_at.eq(to_db(at)),
                payments::expires_at.eq(to_db(at)),
                payments::finished_at.eq(Some(to_db(at))),
                payments::paid_at.eq(Some(to_db(at))),
                payments::corrected.eq(false),
                payments::check_attempts.eq(0),
                payments::applied_vnd.eq(0_i64),
            ))
            .execute(conn)?;
        diesel::insert_into(payment_events::table)
            .values((
                payment_events::payment_id.eq(c.id),
                payment_events::gateway.eq("counter"),
                payment_events::gateway_txn_no.eq(Some(c.receipt_number)),
                payment_events::kind.eq("counter_receipt"),
                payment_events::from_status.eq(PaymentStatus::Created.as_str()),
                payment_events::to_status.eq(PaymentStatus::Success.as_str()),
                payment_events::at.eq(to_db(at)),
            ))
            .execute(conn)?;
        let p = get(conn, c.id)?;
        settle_payment(conn, &p, at, false)?;
        Ok(Ok(get(conn, c.id)?))
    })
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PaymentEvent {
    pub kind: String,
    pub from_status: String,
    pub to_status: String,
    pub gateway_txn_no: Option<String>,
    pub at: DateTime<Utc>,
}

pub fn events(conn: &mut AnyConnection, id: &str) -> StoreResult<Vec<PaymentEvent>> {
    let rows: Vec<(String, String, String, Option<String>, NaiveDateTime)> = payment_events::table
        .filter(payment_events::payment_id.eq(id))
        .order(payment_events::id.asc())
        .select((
            payment_events::kind,
            payment_events::from_status,
            payment_events::to_status,
            payment_events::gateway_txn_no,
            payment_events::at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(kind, from_status, to_status, gateway_txn_no, at)| PaymentEvent {
                kind,
                from_status,
                to_status,
                gateway_txn_no,
                at: from_db(at),
            },
        )
        .collect())
}

pub fn record_notification(
    conn: &mut AnyConnection,
    gateway: &str,
    raw: &str,
    txn_ref: Option<&str>,
    reply: &str,
) -> StoreResult<()> {
    diesel::insert_into(gateway_notifications::table)
        .values((
            gateway_notifications::gateway.eq(gateway),
            gateway_notifications::raw_query.eq(raw),
            gateway_notifications::txn_ref.eq(txn_ref),
            gateway_notifications::reply_code.eq(reply),
            gateway_notifications::received_at.eq(to_db(now())),
        ))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct PaymentFilter {
    pub status: Option<PaymentStatus>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    pub dossier_code: Option<String>,
}

pub fn list(
    conn: &mut AnyConnection,
    scope: Scope,
    filter: &PaymentFilter,
    page: PageRequest,
) -> StoreResult<Page<Payment>> {
    let query = || {
        let mut q = payments::table.into_boxed::<crate::db::Db>();
        match scope {
            Scope::All => {}
            Scope::Applicant(a) => {
                q = q.filter(
                    payments::dossier_id.eq_any(
                        dossiers::table
                            .filter(dossiers::applicant_id.eq(a))
                            .select(dossiers::id),
                    ),
                )
            }
            Scope::Agency(a) => {
                q = q.filter(
                    payments::dossier_id.eq_any(
                        dossier_agencies::table
                            .filter(dossier_agencies::agency_id.eq(a))
                            .select(dossier_agencies::dossier_id),
                    ),
                )
            }
            Scope::Submitter(user) => {
                q = q.filter(
                    payments::dossier_id.eq_any(
                        dossiers::table
                            .filter(dossiers::submitted_by.eq(user))
                            .select(dossiers::id),
                    ),
                )
            }
            Scope::Integration(user) => {
                q = q.filter(
                    payments::dossier_id.eq_any(
                        dossiers::table
                            .filter(
                                dossiers::submitted_by
                                    .eq(user)
                                    .or(dossiers::agency_id.eq_any(
                                        crate::schema::integration_grants::table
                                            .filter(
                                                crate::schema::integration_grants::user_id.eq(user),
                                            )
                                            .select(crate::schema::integration_grants::agency_id),
                                    )),
                            )
                            .select(dossiers::id),
                    ),
                )
            }
        }
        if let Some(status) = filter.status {
            q = q.filter(payments::status.eq(status.as_str()));
        }
        if let Some(from) = filter.created_from {
            q = q.filter(payments::created_at.ge(to_db(from)));
        }
        if let Some(to) = filter.created_to {
            q = q.filter(payments::created_at.lt(to_db(to)));
        }
        if let Some(code) = &filter.dossier_code {
            q = q.filter(
                payments::dossier_id.eq_any(
                    dossiers::table
                        .filter(dossiers::code.eq(code.clone()))
                        .select(dossiers::id),
                ),
            );
        }
        q
    };
    let total: i64 = query().count().get_result(conn)?;
    let items = load(
        conn,
        query()
            .order((payments::created_at.desc(), payments::id.asc()))
            .offset(page.offset())
            .limit(page.limit()),
    )?;
    Ok(Page::new(items, page, total))
}

// ---- refunds ----

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundRefusal {
    /// Only successful payments can be refunded.
    NotPaid,
    /// More than what is still refundable.
    Exceeds { refundable: i64 },
}

type RefundRow = (
    String,
    String,
    i64,
    String,
    String,
    Option<i64>,
    NaiveDateTime,
    Option<NaiveDateTime>,
    Option<i64>,
    Option<NaiveDateTime>,
);

macro_rules! refund_columns {
    () => {
        (
            refunds::id,
            refunds::payment_id,
            refunds::amount_vnd,
            refunds::reason,
            refunds::status,
            refunds::created_by,
            refunds::created_at,
            refunds::finished_at,
            refunds::approved_by,
            refunds::approved_at,
        )
    };
}

fn refund_row(r: RefundRow) -> StoreResult<Refund> {
    let (
        id,
        payment_id,
        amount_vnd,
        reason,
        status,
        created_by,
        created_at,
        finished_at,
        approved_by,
        approved_at,
    ) = r;
    Ok(Refund {
        id,
        payment_id,
        amount_vnd,
        reason,
        status: parse_enum(&status)?,
        created_by,
        created_at: from_db(created_at),
        finished_at: finished_at.map(from_db),
        approved_by,
        approved_at: approved_at.map(from_db),
    })
}

pub fn refunds_of(conn: &mut AnyConnection, payment_id: &str) -> StoreResult<Vec<Refund>> {
    let rows: Vec<RefundRow> = refunds::table
        .filter(refunds::payment_id.eq(payment_id))
        .order((refunds::created_at.asc(), refunds::id.asc()))
        .select(refund_columns!())
        .load(conn)?;
    rows.into_iter().map(refund_row).collect()
}

/// A refund the system proposes (no author) for money it may not keep.
fn propose_refund(
    conn: &mut AnyConnection,
    payment_id: &str,
    amount_vnd: i64,
    reason: &str,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    diesel::insert_into(refunds::table)
        .values((
            refunds::id.eq(uuid::Uuid::new_v4().to_string()),
            refunds::payment_id.eq(payment_id),
            refunds::amount_vnd.eq(amount_vnd),
            refunds::reason.eq(reason),
            refunds::status.eq(RefundStatus::Proposed.as_str()),
            refunds::created_by.eq(None::<i64>),
            refunds::created_at.eq(to_db(at)),
        ))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApproveRefusal {
    /// Not (or no longer) a proposal: already approved, or entered by a person.
    NotProposed(RefundStatus),
}

/// Approves a proposed refund: it becomes `submitted` (the caller then asks
/// the gateway, outside any transaction). The payment row is locked, so two
/// approvals at once approve it once.
pub fn approve_refund(
    conn: &mut AnyConnection,
    payment_id: &str,
    refund_id: &str,
    by: i64,
) -> StoreResult<Result<Refund, ApproveRefusal>> {
    write_tx(conn, |conn| {
        lock_payment(conn, payment_id)?;
        let row: RefundRow = refunds::table
            .find(refund_id)
            .filter(refunds::payment_id.eq(payment_id))
            .select(refund_columns!())
            .first(conn)?;
        let refund = refund_row(row)?;
        if refund.status != RefundStatus::Proposed {
            return Ok(Err(ApproveRefusal::NotProposed(refund.status)));
        }
        diesel::update(
            refunds::table
                .find(refund_id)
                .filter(refunds::status.eq(RefundStatus::Proposed.as_str())),
        )
        .set((
            refunds::status.eq(RefundStatus::Submitted.as_str()),
            refunds::approved_by.eq(Some(by)),
            refunds::approved_at.eq(Some(to_db(now()))),
        ))
        .execute(conn)?;
        let row: RefundRow = refunds::table
            .find(refund_id)
            .select(refund_columns!())
            .first(conn)?;
        Ok(Ok(refund_row(row)?))
    })
}

pub fn refundable_of(conn: &mut AnyConnection, p: &Payment) -> StoreResult<i64> {
    if p.status != PaymentStatus::Success {
        return Ok(0);
    }
    let taken = refunds_of(conn, &p.id)?
        .into_iter()
        .map(|r| (r.status, r.amount_vnd));
    Ok(refundable(p.amount_vnd, taken))
}

/// Registers a refund in `submitted` if the amount is still refundable. The
/// payment row is locked first, so concurrent refunds queue and the sum of
/// refunds never exceeds what was paid.
pub fn create_refund(
    conn: &mut AnyConnection,
    payment_id: &str,
    refund_id: &str,
    amount_vnd: i64,
    reason: &str,
    by: i64,
) -> StoreResult<Result<Refund, RefundRefusal>> {
    write_tx(conn, |conn| {
        lock_payment(conn, payment_id)?;
        let p = get(conn, payment_id)?;
        if p.status != PaymentStatus::Success {
            return Ok(Err(RefundRefusal::NotPaid));
        }
        let left = refundable_of(conn, &p)?;
        if amount_vnd > left {
            return Ok(Err(RefundRefusal::Exceeds { refundable: left }));
        }
        diesel::insert_into(refunds::table)
            .values((
                refunds::id.eq(refund_id),
                refunds::payment_id.eq(payment_id),
                refunds::amount_vnd.eq(amount_vnd),
                refunds::reason.eq(reason),
                refunds::status.eq(RefundStatus::Submitted.as_str()),
                refunds::created_by.eq(Some(by)),
                refunds::created_at.eq(to_db(now())),
            ))
            .execute(conn)?;
        let row: RefundRow = refunds::table
            .find(refund_id)
            .select(refund_columns!())
            .first(conn)?;
        Ok(Ok(refund_row(row)?))
    })
}

/// `SELECT … FOR UPDATE` on PostgreSQL; SQLite's write transaction already excludes others.
fn lock_payment(conn: &mut AnyConnection, id: &str) -> StoreResult<()> {
    if let AnyConnection::Postgresql(c) = conn {
        payments::table
            .find(id)
            .select(payments::id)
            .for_update()
            .first::<String>(c)?;
    }
    Ok(())
}

pub fn finish_refund(
    conn: &mut AnyConnection,
    refund_id: &str,
    status: RefundStatus,
    gateway_ref: Option<&str>,
) -> StoreResult<()> {
    diesel::update(
        refunds::table
            .find(refund_id)
            .filter(refunds::status.eq(RefundStatus::Submitted.as_str())),
    )
    .set((
        refunds::status.eq(status.as_str()),
        refunds::gateway_ref.eq(gateway_ref),
        refunds::finished_at.eq(Some(to_db(now()))),
    ))
    .execute(conn)?;
    Ok(())
}

// ---- overpayments ----

/// A successful payment whose money was not (all) counted toward its
/// dossier's fee: the surplus must go back to the payer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Overpayment {
    pub payment_id: String,
    pub dossier_code: String,
    pub method: PaymentMethod,
    pub amount_vnd: i64,
    pub applied_vnd: i64,
    pub surplus_vnd: i64,
    pub fees_due_vnd: i64,
    pub fees_paid_vnd: i64,
    /// Whether it came after we had closed the attempt.
    pub corrected: bool,
    pub paid_at: Option<DateTime<Utc>>,
    /// The refund of the surplus (the system's proposal, or what became of it).
    pub refund_id: Option<String>,
    pub refund_status: Option<RefundStatus>,
    /// Surplus refunded successfully so far.
    pub refunded_vnd: i64,
    /// Surplus not yet given back.
    pub unresolved_vnd: i64,
}

/// Every overpayment, unresolved first, newest first. Read now, from the
/// payments themselves, not from the last reconciliation.
pub fn overpayments(conn: &mut AnyConnection) -> StoreResult<Vec<Overpayment>> {
    let found = load(
        conn,
        payments::table
            .filter(payments::status.eq(PaymentStatus::Success.as_str()))
            .filter(payments::applied_vnd.lt(payments::amount_vnd))
            .order((payments::created_at.desc(), payments::id.asc()))
            .into_boxed(),
    )?;
    let mut out = Vec::with_capacity(found.len());
    for p in found {
        let (due, paid): (i64, i64) = dossiers::table
            .find(p.dossier_id)
            .select((dossiers::fees_due_vnd, dossiers::fees_paid_vnd))
            .first(conn)?;
        let refunds = refunds_of(conn, &p.id)?;
        let refunded: i64 = refunds
            .iter()
            .filter(|r| r.status == RefundStatus::Success)
            .map(|r| r.amount_vnd)
            .sum();
        let refund = refunds
            .iter()
            .rev()
            .find(|r| r.created_by.is_none())
            .or(refunds.last());
        out.push(Overpayment {
            payment_id: p.id.clone(),
            dossier_code: p.dossier_code.clone(),
            method: p.method,
            amount_vnd: p.amount_vnd,
            applied_vnd: p.applied_vnd,
            surplus_vnd: p.surplus_vnd,
            fees_due_vnd: due,
            fees_paid_vnd: paid,
            corrected: p.corrected,
            paid_at: p.paid_at,
            refund_id: refund.map(|r| r.id.clone()),
            refund_status: refund.map(|r| r.status),
            refunded_vnd: refunded.min(p.surplus_vnd),
            unresolved_vnd: (p.surplus_vnd - refunded).max(0),
        });
    }
    out.sort_by_key(|o| o.unresolved_vnd == 0);
    Ok(out)
}

/// Unresolved overpayments: how many, and how much money (for the gauges).
pub fn overpaid_totals(conn: &mut AnyConnection) -> StoreResult<(i64, i64)> {
    let open: Vec<Overpayment> = overpayments(conn)?
        .into_iter()
        .filter(|o| o.unresolved_vnd > 0)
        .collect();
    let count = i64::try_from(open.len()).unwrap_or(i64::MAX);
    Ok((count, open.iter().map(|o| o.unresolved_vnd).sum()))
}

/// Money the dossier received beyond its fee (surpluses of its payments).
pub fn surplus_of_dossier(conn: &mut AnyConnection, dossier_id: i64) -> StoreResult<i64> {
    let rows: Vec<(i64, i64)> = payments::table
        .filter(payments::dossier_id.eq(dossier_id))
        .filter(payments::status.eq(PaymentStatus::Success.as_str()))
        .select((payments::amount_vnd, payments::applied_vnd))
        .load(conn)?;
    Ok(rows.iter().map(|(a, applied)| (a - applied).max(0)).sum())
}

/// A dossier that received more than its fee, all routes together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverpaidDossier {
    pub code: String,
    pub fees_due_vnd: i64,
    pub received_vnd: i64,
    /// A payment holding the surplus.
    pub surplus_payment_id: Option<String>,
}

/// Dossiers with a payment created between two instants that received more
/// than their fee.
pub fn overpaid_dossiers_between(
    conn: &mut AnyConnection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> StoreResult<Vec<OverpaidDossier>> {
    let ids: Vec<i64> = payments::table
        .filter(payments::created_at.ge(to_db(from)))
        .filter(payments::created_at.lt(to_db(to)))
        .select(payments::dossier_id)
        .distinct()
        .load(conn)?;
    let mut out = Vec::new();
    for id in ids {
        let (code, due): (String, i64) = dossiers::table
            .find(id)
            .select((dossiers::code, dossiers::fees_due_vnd))
            .first(conn)?;
        let paid: Vec<(String, i64, i64)> = payments::table
            .filter(payments::dossier_id.eq(id))
            .filter(payments::status.eq(PaymentStatus::Success.as_str()))
            .order(payments::created_at.asc())
            .select((payments::id, payments::amount_vnd, payments::applied_vnd))
            .load(conn)?;
        let received: i64 = paid.iter().map(|p| p.1).sum();
        if received > due {
            let surplus = paid.iter().find(|p| p.2 < p.1).map(|p| p.0.clone());
            out.push(OverpaidDossier {
                code,
                fees_due_vnd: due,
                received_vnd: received,
                surplus_payment_id: surplus,
            });
        }
    }
    Ok(out)
}

// ---- jobs ----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// Unfinished attempts past their expiry.
    Expiry,
    /// `submitted` attempts due for a status query.
    Requery,
}

/// The ids of payments a job should process at `at`, not claimed by anyone,
/// oldest deadline first: one selection for both backends, with the locking
/// clauses given (`for_update, skip_locked` on PostgreSQL).
macro_rules! due_ids {
    ($conn:expr, $job:expr, $at:expr, $limit:expr $(, $lock:ident)*) => {{
        let at = to_db($at);
        let base = payments::table
            .filter(payments::method.eq(PaymentMethod::Online.as_str()))
            .filter(
                payments::claimed_until
                    .is_null()
                    .or(payments::claimed_until.lt(at)),
            )
            .select(payments::id)
            .order(payments::expires_at.asc())
            .limit($limit);
        let ids: Vec<String> = match $job {
            Job::Expiry => base
                .filter(payments::status.eq_any([
                    PaymentStatus::Created.as_str(),
                    PaymentStatus::Started.as_str(),
                ]))
                .filter(payments::expires_at.lt(at))
                $(.$lock())*
                .load($conn)?,
            Job::Requery => base
                .filter(payments::status.eq(PaymentStatus::Submitted.as_str()))
                .filter(
                    payments::next_check_at
                        .is_null()
                        .or(payments::next_check_at.le(at)),
                )
                $(.$lock())*
                .load($conn)?,
        };
        ids
    }};
}

/// Claims up to `limit` payments a job should process now, for `lease`. On
/// PostgreSQL the rows are picked `FOR UPDATE SKIP LOCKED`, so processes running
/// the same job split the work instead of doing it twice.
pub fn claim(
    conn: &mut AnyConnection,
    job: Job,
    at: DateTime<Utc>,
    lease: Duration,
    limit: i64,
) -> StoreResult<Vec<Payment>> {
    write_tx(conn, |conn| {
        let ids = match conn {
            AnyConnection::Postgresql(pg) => due_ids!(pg, job, at, limit, for_update, skip_locked),
            AnyConnection::Sqlite(lite) => due_ids!(lite, job, at, limit),
        };
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        diesel::update(payments::table.filter(payments::id.eq_any(&ids)))
            .set(payments::claimed_until.eq(Some(to_db(at + lease))))
            .execute(conn)?;
        load(
            conn,
            payments::table
                .filter(payments::id.eq_any(ids))
                .into_boxed(),
        )
    })
}

/// After an inconclusive status query: try again later, waiting longer each time.
pub fn schedule_requery(
    conn: &mut AnyConnection,
    id: &str,
    next: DateTime<Utc>,
) -> StoreResult<()> {
    diesel::update(payments::table.find(id))
        .set((
            payments::next_check_at.eq(Some(to_db(next))),
            payments::check_attempts.eq(payments::check_attempts + 1),
            payments::claimed_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn release(conn: &mut AnyConnection, id: &str) -> StoreResult<()> {
    diesel::update(payments::table.find(id))
        .set(payments::claimed_until.eq(None::<NaiveDateTime>))
        .execute(conn)?;
    Ok(())
}

/// Online payments created between two instants (a reconciliation day).
pub fn online_between(
    conn: &mut AnyConnection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> StoreResult<Vec<Payment>> {
    load(
        conn,
        payments::table
            .filter(payments::method.eq(PaymentMethod::Online.as_str()))
            .filter(payments::created_at.ge(to_db(from)))
            .filter(payments::created_at.lt(to_db(to)))
            .into_boxed(),
    )
}

// ---- reconciliation ----

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReconciliationItem {
    pub txn_ref: String,
    pub payment_id: Option<String>,
    /// `matched`, `missing` (one side only), `mismatch` (status or amount
    /// differ) or `overpaid` (a dossier received more than its fee; `txn_ref`
    /// is then `dossier:{code}`).
    pub result: String,
    pub our_status: Option<String>,
    pub our_amount_vnd: Option<i64>,
    pub gateway_status: Option<String>,
    pub gateway_amount_vnd: Option<i64>,
    pub detail: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReconciliationRun {
    pub day: NaiveDate,
    pub run_at: DateTime<Utc>,
    pub matched: i32,
    pub missing: i32,
    pub mismatch: i32,
    /// Dossiers that received more than their fee.
    pub overpaid: i32,
}

/// Replaces a day's reconciliation with a new run, made at `at`.
pub fn store_reconciliation(
    conn: &mut AnyConnection,
    day: NaiveDate,
    items: &[ReconciliationItem],
    at: DateTime<Utc>,
) -> StoreResult<ReconciliationRun> {
    write_tx(conn, |conn| {
        diesel::delete(reconciliation_items::table.filter(reconciliation_items::day.eq(day)))
            .execute(conn)?;
        diesel::delete(reconciliation_runs::table.find(day)).execute(conn)?;
        for item in items {
            diesel::insert_into(reconciliation_items::table)
                .values((
                    reconciliation_items::day.eq(day),
                    reconciliation_items::txn_ref.eq(&item.txn_ref),
                    reconciliation_items::payment_id.eq(&item.payment_id),
                    reconciliation_items::result.eq(&item.result),
                    reconciliation_items::our_status.eq(&item.our_status),
                    reconciliation_items::our_amount_vnd.eq(item.our_amount_vnd),
                    reconciliation_items::gateway_status.eq(&item.gateway_status),
                    reconciliation_items::gateway_amount_vnd.eq(item.gateway_amount_vnd),
                    reconciliation_items::detail.eq(&item.detail),
                ))
                .execute(conn)?;
        }
        let count = |r: &str| {
            i32::try_from(items.iter().filter(|i| i.result == r).count()).unwrap_or(i32::MAX)
        };
        let run = ReconciliationRun {
            day,
            run_at: at,
            matched: count("matched"),
            missing: count("missing"),
            mismatch: count("mismatch"),
            overpaid: count("overpaid"),
        };
        diesel::insert_into(reconciliation_runs::table)
            .values((
                reconciliation_runs::day.eq(day),
                reconciliation_runs::run_at.eq(to_db(run.run_at)),
                reconciliation_runs::matched.eq(run.matched),
                reconciliation_runs::missing.eq(run.missing),
                reconciliation_runs::mismatch.eq(run.mismatch),
                reconciliation_runs::overpaid.eq(run.overpaid),
            ))
            .execute(conn)?;
        Ok(run)
    })
}

type ItemRow = (
    String,
    Option<String>,
    String,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<i64>,
    Option<String>,
);

pub fn reconciliation(
    conn: &mut AnyConnection,
    day: NaiveDate,
) -> StoreResult<Option<(ReconciliationRun, Vec<ReconciliationItem>)>> {
    let run: Option<(NaiveDateTime, i32, i32, i32, i32)> = reconciliation_runs::table
        .find(day)
        .select((
            reconciliation_runs::run_at,
            reconciliation_runs::matched,
            reconciliation_runs::missing,
            reconciliation_runs::mismatch,
            reconciliation_runs::overpaid,
        ))
        .first(conn)
        .optional()?;
    let Some((run_at, matched, missing, mismatch, overpaid)) = run else {
        return Ok(None);
    };
    let rows: Vec<ItemRow> = reconciliation_items::table
        .filter(reconciliation_items::day.eq(day))
        .order(reconciliation_items::txn_ref.asc())
        .select((
            reconciliation_items::txn_ref,
            reconciliation_items::payment_id,
            reconciliation_items::result,
            reconciliation_items::our_status,
            reconciliation_items::our_amount_vnd,
            reconciliation_items::gateway_status,
            reconciliation_items::gateway_amount_vnd,
            reconciliation_items::detail,
        ))
        .load(conn)?;
    let items = rows
        .into_iter()
        .map(
            |(
                txn_ref,
                payment_id,
                result,
                our_status,
                our_amount_vnd,
                gateway_status,
                gateway_amount_vnd,
                detail,
            )| ReconciliationItem {
                txn_ref,
                payment_id,
                result,
                our_status,
                our_amount_vnd,
                gateway_status,
                gateway_amount_vnd,
                detail,
            },
        )
        .collect();
    Ok(Some((
        ReconciliationRun {
            day,
            run_at: from_db(run_at),
            matched,
            missing,
            mismatch,
            overpaid,
        },
        items,
    )))
}

// ---- the sandbox gateway's records ----

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SandboxTransaction {
    pub txn_ref: String,
    pub txn_no: String,
    /// Gateway units: đồng × 100.
    pub amount: i64,
    /// `pending`, `paid`, `declined`, `cancelled`, `held`.
    pub status: String,
    pub response_code: Option<String>,
    pub pay_date: Option<String>,
    pub refunded: i64,
    pub queries: i32,
    pub created_at: DateTime<Utc>,
}

type SandboxRow = (
    String,
    String,
    i64,
    String,
    Option<String>,
    Option<String>,
    i64,
    i32,
    NaiveDateTime,
);

fn sandbox_row(r: SandboxRow) -> SandboxTransaction {
    let (txn_ref, txn_no, amount, status, response_code, pay_date, refunded, queries, created_at) =
        r;
    SandboxTransaction {
        txn_ref,
        txn_no,
        amount,
        status,
        response_code,
        pay_date,
        refunded,
        queries,
        created_at: from_db(created_at),
    }
}

macro_rules! sandbox_columns {
    () => {
        (
            sandbox_transactions::txn_ref,
            sandbox_transactions::txn_no,
            sandbox_transactions::amount,
            sandbox_transactions::status,
            sandbox_transactions::response_code,
            sandbox_transactions::pay_date,
            sandbox_transactions::refunded,
            sandbox_transactions::queries,
            sandbox_transactions::created_at,
        )
    };
}

/// The sandbox opens its side of a transaction when the citizen arrives; once per reference.
pub fn sandbox_open(
    conn: &mut AnyConnection,
    txn_ref: &str,
    txn_no: &str,
    amount: i64,
) -> StoreResult<SandboxTransaction> {
    let at = to_db(now());
    insert_or_ignore!(
        &mut *conn,
        sandbox_transactions::table,
        (
            sandbox_transactions::txn_ref.eq(txn_ref),
            sandbox_transactions::txn_no.eq(txn_no),
            sandbox_transactions::amount.eq(amount),
            sandbox_transactions::status.eq("pending"),
            sandbox_transactions::refunded.eq(0_i64),
            sandbox_transactions::queries.eq(0),
            sandbox_transactions::created_at.eq(at),
            sandbox_transactions::updated_at.eq(at),
        )
    )?;
    sandbox_get(conn, txn_ref)?.ok_or(StoreError::NotFound)
}

pub fn sandbox_get(
    conn: &mut AnyConnection,
    txn_ref: &str,
) -> StoreResult<Option<SandboxTransaction>> {
    Ok(sandbox_transactions::table
        .find(txn_ref)
        .select(sandbox_columns!())
        .first::<SandboxRow>(conn)
        .optional()?
        .map(sandbox_row))
}

pub fn sandbox_settle(
    conn: &mut AnyConnection,
    txn_ref: &str,
    status: &str,
    response_code: &str,
    pay_date: &str,
) -> StoreResult<()> {
    diesel::update(sandbox_transactions::table.find(txn_ref))
        .set((
            sandbox_transactions::status.eq(status),
            sandbox_transactions::response_code.eq(response_code),
            sandbox_transactions::pay_date.eq(pay_date),
            sandbox_transactions::updated_at.eq(to_db(now())),
        ))
        .execute(conn)?;
    Ok(())
}

/// A status query at the sandbox: counted, so tests can see each item was asked once.
pub fn sandbox_query(
    conn: &mut AnyConnection,
    txn_ref: &str,
) -> StoreResult<Option<SandboxTransaction>> {
    diesel::update(sandbox_transactions::table.find(txn_ref))
        .set(sandbox_transactions::queries.eq(sandbox_transactions::queries + 1))
        .execute(conn)?;
    sandbox_get(conn, txn_ref)
}

pub fn sandbox_refund(conn: &mut AnyConnection, txn_ref: &str, amount: i64) -> StoreResult<bool> {
    let n = diesel::update(
        sandbox_transactions::table
            .find(txn_ref)
            .filter(sandbox_transactions::status.eq("paid"))
            .filter((sandbox_transactions::refunded + amount).le(sandbox_transactions::amount)),
    )
    .set(sandbox_transactions::refunded.eq(sandbox_transactions::refunded + amount))
    .execute(conn)?;
    Ok(n == 1)
}

pub fn sandbox_between(
    conn: &mut AnyConnection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> StoreResult<Vec<SandboxTransaction>> {
    Ok(sandbox_transactions::table
        .filter(sandbox_transactions::created_at.ge(to_db(from)))
        .filter(sandbox_transactions::created_at.lt(to_db(to)))
        .select(sandbox_columns!())
        .load::<SandboxRow>(conn)?
        .into_iter()
        .map(sandbox_row)
        .collect())
}

/// Moves a sandbox transaction's clock (tests and demos of late notifications).
pub fn sandbox_exists(conn: &mut AnyConnection, txn_ref: &str) -> StoreResult<bool> {
    Ok(sandbox_get(conn, txn_ref)?.is_some())
}
