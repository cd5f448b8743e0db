//! A citizen account's verification state, its attempts (one-time codes,
//! counter checks, identity-provider logins) and name mismatches for staff.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use motcua_domain::access::{IdentityStatus, VerificationMethod};
use motcua_domain::page::{Page, PageRequest};
use serde::Serialize;

use crate::schema::{identity_attempts, identity_mismatches, identity_verifications};
use crate::time::{from_db, to_db};
use crate::{AnyConnection, StoreResult, parse_enum};

/// Where an account stands; accounts without a stored row are unverified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Verification {
    pub status: IdentityStatus,
    pub method: Option<VerificationMethod>,
    /// The officer (counter) who verified; none for codes and identity providers.
    pub verified_by: Option<i64>,
    pub verified_at: Option<DateTime<Utc>>,
}

impl Verification {
    pub fn unverified() -> Self {
        Self {
            status: IdentityStatus::Unverified,
            method: None,
            verified_by: None,
            verified_at: None,
        }
    }
}

type StateRow = (String, Option<String>, Option<i64>, Option<NaiveDateTime>);
type PendingRow = (i64, i64, Option<String>, Option<NaiveDateTime>, i32);

pub fn of(conn: &mut AnyConnection, user_id: i64) -> StoreResult<Verification> {
    let row: Option<StateRow> = identity_verifications::table
        .find(user_id)
        .select((
            identity_verifications::status,
            identity_verifications::method,
            identity_verifications::verified_by,
            identity_verifications::verified_at,
        ))
        .first(conn)
        .optional()?;
    match row {
        None => Ok(Verification::unverified()),
        Some((status, method, verified_by, verified_at)) => Ok(Verification {
            status: parse_enum(&status)?,
            method: method.as_deref().map(parse_enum).transpose()?,
            verified_by,
            verified_at: verified_at.map(from_db),
        }),
    }
}

/// Marks an account verified as the person of `applicant_id`.
pub fn set_verified(
    conn: &mut AnyConnection,
    user_id: i64,
    applicant_id: i64,
    method: VerificationMethod,
    verified_by: Option<i64>,
    note: Option<&str>,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    diesel::delete(identity_verifications::table.find(user_id)).execute(conn)?;
    diesel::insert_into(identity_verifications::table)
        .values((
            identity_verifications::user_id.eq(user_id),
            identity_verifications::status.eq(IdentityStatus::Verified.as_str()),
            identity_verifications::method.eq(Some(method.as_str())),
            identity_verifications::applicant_id.eq(Some(applicant_id)),
            identity_verifications::verified_by.eq(verified_by),
            identity_verifications::verified_at.eq(Some(to_db(at))),
            identity_verifications::note.eq(note),
            identity_verifications::updated_at.eq(to_db(at)),
        ))
        .execute(conn)?;
    Ok(())
}

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    Pending,
    Verified,
    Expired,
    Exhausted,
    Superseded,
    Mismatch,
}

impl AttemptOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptOutcome::Pending => "pending",
            AttemptOutcome::Verified => "verified",
            AttemptOutcome::Expired => "expired",
            AttemptOutcome::Exhausted => "exhausted",
            AttemptOutcome::Superseded => "superseded",
            AttemptOutcome::Mismatch => "mismatch",
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewAttempt<'a> {
    pub user_id: i64,
    pub applicant_id: i64,
    pub method: VerificationMethod,
    pub channel: Option<&'a str>,
    /// Masked: the full contact stays on the applicant record.
    pub destination: Option<&'a str>,
    pub code_hash: Option<&'a str>,
    pub expires_at: Option<DateTime<Utc>>,
    pub outcome: AttemptOutcome,
    pub actor_id: Option<i64>,
    pub at: DateTime<Utc>,
}

/// Records an attempt; a new code supersedes any code still pending.
pub fn record_attempt(conn: &mut AnyConnection, a: &NewAttempt<'_>) -> StoreResult<i64> {
    if a.code_hash.is_some() {
        diesel::update(
            identity_attempts::table
                .filter(identity_attempts::user_id.eq(a.user_id))
                .filter(identity_attempts::outcome.eq(AttemptOutcome::Pending.as_str())),
        )
        .set((
            identity_attempts::outcome.eq(AttemptOutcome::Superseded.as_str()),
            identity_attempts::decided_at.eq(Some(to_db(a.at))),
        ))
        .execute(conn)?;
    }
    let decided = (a.outcome != AttemptOutcome::Pending).then(|| to_db(a.at));
    Ok(diesel::insert_into(identity_attempts::table)
        .values((
            identity_attempts::user_id.eq(a.user_id),
            identity_attempts::applicant_id.eq(a.applicant_id),
            identity_attempts::method.eq(a.method.as_str()),
            identity_attempts::channel.eq(a.channel),
            identity_attempts::destination.eq(a.destination),
            identity_attempts::code_hash.eq(a.code_hash),
            identity_attempts::expires_at.eq(a.expires_at.map(to_db)),
            identity_attempts::tries.eq(0),
            identity_attempts::outcome.eq(a.outcome.as_str()),
            identity_attempts::actor_id.eq(a.actor_id),
            identity_attempts::created_at.eq(to_db(a.at)),
            identity_attempts::decided_at.eq(decided),
        ))
        .returning(identity_attempts::id)
        .get_result(conn)?)
}

/// When the account was last sent a code.
pub fn last_code_sent(
    conn: &mut AnyConnection,
    user_id: i64,
) -> StoreResult<Option<DateTime<Utc>>> {
    let at: Option<NaiveDateTime> = identity_attempts::table
        .filter(identity_attempts::user_id.eq(user_id))
        .filter(identity_attempts::code_hash.is_not_null())
        .select(diesel::dsl::max(identity_attempts::created_at))
        .first(conn)?;
    Ok(at.map(from_db))
}

/// How many codes the account was sent since `since`.
pub fn codes_sent_since(
    conn: &mut AnyConnection,
    user_id: i64,
    since: DateTime<Utc>,
) -> StoreResult<i64> {
    Ok(identity_attempts::table
        .filter(identity_attempts::user_id.eq(user_id))
        .filter(identity_attempts::code_hash.is_not_null())
        .filter(identity_attempts::created_at.ge(to_db(since)))
        .count()
        .get_result(conn)?)
}

/// The account's pending code, if any.
#[derive(Debug, Clone)]
pub struct PendingCode {
    pub id: i64,
    pub applicant_id: i64,
    pub code_hash: String,
    pub expires_at: DateTime<Utc>,
    pub tries: i32,
}

pub fn pending_code(conn: &mut AnyConnection, user_id: i64) -> StoreResult<Option<PendingCode>> {
    let row: Option<PendingRow> = identity_attempts::table
        .filter(identity_attempts::user_id.eq(user_id))
        .filter(identity_attempts::outcome.eq(AttemptOutcome::Pending.as_str()))
        .filter(identity_attempts::code_hash.is_not_null())
        .order(identity_attempts::id.desc())
        .select((
            identity_attempts::id,
            identity_attempts::applicant_id,
            identity_attempts::code_hash,
            identity_attempts::expires_at,
            identity_attempts::tries,
        ))
        .first(conn)
        .optional()?;
    Ok(row.and_then(|(id, applicant_id, hash, expires, tries)| {
        Some(PendingCode {
            id,
            applicant_id,
            code_hash: hash?,
            expires_at: from_db(expires?),
            tries,
        })
    }))
}

/// Counts a wrong entry; the code stays pending unless `outcome` closes it.
pub fn record_try(
    conn: &mut AnyConnection,
    id: i64,
    tries: i32,
    outcome: AttemptOutcome,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let decided = (outcome != AttemptOutcome::Pending).then(|| to_db(at));
    diesel::update(identity_attempts::table.find(id))
        .set((
            identity_attempts::tries.eq(tries),
            identity_attempts::outcome.eq(outcome.as_str()),
            identity_attempts::decided_at.eq(decided),
        ))
        .execute(conn)?;
    Ok(())
}

/// A name that did not match, for staff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Mismatch {
    pub id: i64,
    pub user_id: i64,
    pub applicant_id: i64,
    /// The name the account registered with.
    pub account_name: String,
    /// The name on the agency's applicant record.
    pub record_name: String,
    /// The route tried: `otp`, `counter` or `oidc`.
    pub method: String,
    /// The officer at the counter, if any.
    pub actor_id: Option<i64>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewMismatch<'a> {
    pub user_id: i64,
    pub applicant_id: i64,
    pub account_name: &'a str,
    pub record_name: &'a str,
    pub method: VerificationMethod,
    pub actor_id: Option<i64>,
    pub at: DateTime<Utc>,
}

pub fn record_mismatch(conn: &mut AnyConnection, m: &NewMismatch<'_>) -> StoreResult<()> {
    diesel::insert_into(identity_mismatches::table)
        .values((
            identity_mismatches::user_id.eq(m.user_id),
            identity_mismatches::applicant_id.eq(m.applicant_id),
            identity_mismatches::account_name.eq(m.account_name),
            identity_mismatches::record_name.eq(m.record_name),
            identity_mismatches::method.eq(m.method.as_str()),
            identity_mismatches::actor_id.eq(m.actor_id),
            identity_mismatches::created_at.eq(to_db(m.at)),
        ))
        .execute(conn)?;
    Ok(())
}

type MismatchRow = (
    i64,
    i64,
    i64,
    String,
    String,
    String,
    Option<i64>,
    NaiveDateTime,
);

/// Mismatches, newest first.
pub fn mismatches(conn: &mut AnyConnection, page: PageRequest) -> StoreResult<Page<Mismatch>> {
    let total: i64 = identity_mismatches::table.count().get_result(conn)?;
    let rows: Vec<MismatchRow> = identity_mismatches::table
        .order(identity_mismatches::id.desc())
        .offset(page.offset())
        .limit(page.limit())
        .select((
            identity_mismatches::id,
            identity_mismatches::user_id,
            identity_mismatches::applicant_id,
            identity_mismatches::account_name,
            identity_mismatches::record_name,
            identity_mismatches::method,
            identity_mismatches::actor_id,
            identity_mismatches::created_at,
        ))
        .load(conn)?;
    let items = rows
        .into_iter()
        .map(
            |(id, user_id, applicant_id, account_name, record_name, method, actor_id, at)| {
                Mismatch {
                    id,
                    user_id,
                    applicant_id,
                    account_name,
                    record_name,
                    method,
                    actor_id,
                    created_at: from_db(at),
                }
            },
        )
        .collect();
    Ok(Page::new(items, page, total))
}
