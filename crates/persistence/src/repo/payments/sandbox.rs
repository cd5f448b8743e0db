//! The sandbox gateway's own records of its transactions.

use crate::schema::sandbox_transactions;
use crate::time::{from_db, to_db};
use crate::{AnyConnection, StoreError, StoreResult, insert_or_ignore};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

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
    at: DateTime<Utc>,
) -> StoreResult<SandboxTransaction> {
    let at = to_db(at);
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
    at: DateTime<Utc>,
) -> StoreResult<()> {
    diesel::update(sandbox_transactions::table.find(txn_ref))
        .set((
            sandbox_transactions::status.eq(status),
            sandbox_transactions::response_code.eq(response_code),
            sandbox_transactions::pay_date.eq(pay_date),
            sandbox_transactions::updated_at.eq(to_db(at)),
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
