//! Results by post, the agencies' signing keys and the issued result
//! versions (migration 000026). Storage only: what to sign, when a key is
//! used and which version stands are decided in `app` and `domain::results`.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use motcua_domain::dossier::Channel;
use motcua_domain::results::{PostalAddress, Requester, SignedFormat, Standing};
use serde::Serialize;

use crate::repo::kpi::KpiFilter;
use crate::schema::{dossiers, postal_returns, result_revocations, result_versions, signing_keys};
use crate::time::{from_db, to_db};
use crate::{AnyConnection, StoreError, StoreResult, parse_enum};

/// Where a dossier's result goes by post, and how far it got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PostalReturn {
    pub recipient: String,
    pub address: String,
    pub phone: String,
    /// The postal service's fee in đồng (paid to the post, not a procedure fee).
    pub fee_vnd: i64,
    /// The tracking number of the last hand-over to the post.
    pub tracking_number: Option<String>,
    pub posted_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// Deliveries that failed (the result came back to the counter).
    pub failures: i32,
    pub chosen_at: DateTime<Utc>,
}

type PostalRow = (
    String,
    String,
    String,
    i64,
    Option<String>,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    i32,
    NaiveDateTime,
);

/// The dossier's postal return, if one was chosen.
pub fn postal_of(conn: &mut AnyConnection, dossier_id: i64) -> StoreResult<Option<PostalReturn>> {
    let row: Option<PostalRow> = postal_returns::table
        .find(dossier_id)
        .select((
            postal_returns::recipient,
            postal_returns::address,
            postal_returns::phone,
            postal_returns::fee_vnd,
            postal_returns::tracking_number,
            postal_returns::posted_at,
            postal_returns::delivered_at,
            postal_returns::failures,
            postal_returns::chosen_at,
        ))
        .first(conn)
        .optional()?;
    Ok(row.map(|r| PostalReturn {
        recipient: r.0,
        address: r.1,
        phone: r.2,
        fee_vnd: r.3,
        tracking_number: r.4,
        posted_at: r.5.map(from_db),
        delivered_at: r.6.map(from_db),
        failures: r.7,
        chosen_at: from_db(r.8),
    }))
}

/// Records (or replaces) where the result goes by post, and marks the
/// dossier's result channel `postal`, bumping its version if still at
/// `version`; `false` when someone else changed it first.
pub fn choose_postal(
    conn: &mut AnyConnection,
    dossier_id: i64,
    version: i32,
    postal: &PostalAddress,
    at: DateTime<Utc>,
) -> StoreResult<bool> {
    let n = diesel::update(
        dossiers::table
            .filter(dossiers::id.eq(dossier_id))
            .filter(dossiers::version.eq(version)),
    )
    .set((
        dossiers::result_channel.eq(Channel::Postal.as_str()),
        dossiers::version.eq(version + 1),
        dossiers::updated_at.eq(to_db(at)),
    ))
    .execute(conn)?;
    if n != 1 {
        return Ok(false);
    }
    diesel::delete(postal_returns::table.find(dossier_id)).execute(conn)?;
    diesel::insert_into(postal_returns::table)
        .values((
            postal_returns::dossier_id.eq(dossier_id),
            postal_returns::recipient.eq(&postal.recipient),
            postal_returns::address.eq(&postal.address),
            postal_returns::phone.eq(&postal.phone),
            postal_returns::fee_vnd.eq(postal.fee_vnd),
            postal_returns::failures.eq(0),
            postal_returns::chosen_at.eq(to_db(at)),
        ))
        .execute(conn)?;
    Ok(true)
}

/// The result handed to the post under `tracking_number`.
pub fn mark_posted(
    conn: &mut AnyConnection,
    dossier_id: i64,
    tracking_number: &str,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    diesel::update(postal_returns::table.find(dossier_id))
        .set((
            postal_returns::tracking_number.eq(tracking_number),
            postal_returns::posted_at.eq(to_db(at)),
        ))
        .execute(conn)?;
    Ok(())
}

/// The post delivered the result.
pub fn mark_delivered(
    conn: &mut AnyConnection,
    dossier_id: i64,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    diesel::update(postal_returns::table.find(dossier_id))
        .set(postal_returns::delivered_at.eq(to_db(at)))
        .execute(conn)?;
    Ok(())
}

/// The post could not deliver: the result is back at the counter.
pub fn mark_failed(conn: &mut AnyConnection, dossier_id: i64) -> StoreResult<()> {
    diesel::update(postal_returns::table.find(dossier_id))
        .set(postal_returns::failures.eq(postal_returns::failures + 1))
        .execute(conn)?;
    Ok(())
}

/// An agency's signing key as stored: the secret half sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKey {
    pub kid: String,
    pub agency_id: i64,
    pub public_key: String,
    pub sealed_secret: String,
    pub created_at: DateTime<Utc>,
    pub retired_at: Option<DateTime<Utc>>,
}

type KeyRow = (
    String,
    i64,
    String,
    String,
    NaiveDateTime,
    Option<NaiveDateTime>,
);

fn key_of(r: KeyRow) -> SigningKey {
    SigningKey {
        kid: r.0,
        agency_id: r.1,
        public_key: r.2,
        sealed_secret: r.3,
        created_at: from_db(r.4),
        retired_at: r.5.map(from_db),
    }
}

const KEY_COLUMNS: (
    signing_keys::kid,
    signing_keys::agency_id,
    signing_keys::public_key,
    signing_keys::sealed_secret,
    signing_keys::created_at,
    signing_keys::retired_at,
) = (
    signing_keys::kid,
    signing_keys::agency_id,
    signing_keys::public_key,
    signing_keys::sealed_secret,
    signing_keys::created_at,
    signing_keys::retired_at,
);

/// The agency's key in use, if it has one.
pub fn active_key(conn: &mut AnyConnection, agency_id: i64) -> StoreResult<Option<SigningKey>> {
    let row: Option<KeyRow> = signing_keys::table
        .filter(signing_keys::agency_id.eq(agency_id))
        .filter(signing_keys::retired_at.is_null())
        .select(KEY_COLUMNS)
        .first(conn)
        .optional()?;
    Ok(row.map(key_of))
}

/// Every key, in use or retired, oldest first.
pub fn all_keys(conn: &mut AnyConnection) -> StoreResult<Vec<SigningKey>> {
    let rows: Vec<KeyRow> = signing_keys::table
        .order((signing_keys::created_at.asc(), signing_keys::kid.asc()))
        .select(KEY_COLUMNS)
        .load(conn)?;
    Ok(rows.into_iter().map(key_of).collect())
}

/// Retires the agency's key in use (if any), then stores `key` as the one
/// in use. The unique index on the agency's unretired key makes a second
/// concurrent writer fail instead of leaving two keys in use.
pub fn put_key(conn: &mut AnyConnection, key: &SigningKey, at: DateTime<Utc>) -> StoreResult<()> {
    diesel::update(
        signing_keys::table
            .filter(signing_keys::agency_id.eq(key.agency_id))
            .filter(signing_keys::retired_at.is_null()),
    )
    .set(signing_keys::retired_at.eq(to_db(at)))
    .execute(conn)?;
    diesel::insert_into(signing_keys::table)
        .values((
            signing_keys::kid.eq(&key.kid),
            signing_keys::agency_id.eq(key.agency_id),
            signing_keys::alg.eq("EdDSA"),
            signing_keys::public_key.eq(&key.public_key),
            signing_keys::sealed_secret.eq(&key.sealed_secret),
            signing_keys::created_at.eq(to_db(key.created_at)),
        ))
        .execute(conn)?;
    Ok(())
}

/// One issued result version as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultVersion {
    pub code: String,
    pub dossier_id: i64,
    pub dossier_code: String,
    pub version: i32,
    pub number: String,
    pub issued_at: DateTime<Utc>,
    pub agency_code: String,
    pub agency_name: String,
    pub procedure_code: String,
    pub procedure_name: String,
    /// SHA-256 of each result file, hex, in the order attached (a v1
    /// version holds its first file's only); empty on paper only.
    pub files_sha256: Vec<String>,
    /// The shape of the signed text.
    pub signed_format: SignedFormat,
    pub standing: Standing,
    pub standing_changed_at: Option<DateTime<Utc>>,
    pub kid: String,
    pub signature: String,
    pub correction_reason: Option<String>,
    pub requested_by: Option<Requester>,
    pub requested_at: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    pub created_by: i64,
    /// Once revoked: why, by whom, when, and the signature of the revocation.
    pub revocation: Option<Revocation>,
}

/// A version's revocation as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    pub reason: String,
    pub revoked_by: i64,
    pub revoked_at: DateTime<Utc>,
    pub kid: String,
    pub signature: String,
}

/// Stores a new version; the one of the dossier in force before it becomes
/// superseded. Returns how many were superseded (none for a first version;
/// none also when the one before was revoked meanwhile).
pub fn add_version(conn: &mut AnyConnection, v: &ResultVersion) -> StoreResult<usize> {
    let superseded = diesel::update(
        result_versions::table
            .filter(result_versions::dossier_id.eq(v.dossier_id))
            .filter(result_versions::standing.eq(Standing::Valid.as_str())),
    )
    .set((
        result_versions::standing.eq(Standing::Superseded.as_str()),
        result_versions::standing_changed_at.eq(to_db(v.issued_at)),
    ))
    .execute(conn)?;
    let files = match v.signed_format {
        SignedFormat::V1 => None,
        SignedFormat::V2 => Some(v.files_sha256.join(" ")),
    };
    diesel::insert_into(result_versions::table)
        .values((
            result_versions::code.eq(&v.code),
            result_versions::dossier_id.eq(v.dossier_id),
            result_versions::version.eq(v.version),
            result_versions::number.eq(&v.number),
            result_versions::issued_at.eq(to_db(v.issued_at)),
            result_versions::agency_code.eq(&v.agency_code),
            result_versions::agency_name.eq(&v.agency_name),
            result_versions::procedure_code.eq(&v.procedure_code),
            result_versions::procedure_name.eq(&v.procedure_name),
            result_versions::file_sha256.eq(v.files_sha256.first()),
            result_versions::signed_format.eq(v.signed_format.number()),
            result_versions::files_sha256.eq(files),
            result_versions::standing.eq(v.standing.as_str()),
            result_versions::kid.eq(&v.kid),
            result_versions::signature.eq(&v.signature),
            result_versions::correction_reason.eq(&v.correction_reason),
            result_versions::requested_by.eq(v.requested_by.map(Requester::as_str)),
            result_versions::requested_at.eq(v.requested_at.map(to_db)),
            result_versions::due_at.eq(v.due_at.map(to_db)),
            result_versions::created_by.eq(v.created_by),
        ))
        .execute(conn)?;
    Ok(superseded)
}

/// Revokes the version `code` if it is in force: its standing becomes
/// revoked and the revocation is stored. `false` when it was not in force
/// (superseded, or revoked already, by a concurrent request too).
pub fn revoke(conn: &mut AnyConnection, code: &str, r: &Revocation) -> StoreResult<bool> {
    let changed = diesel::update(
        result_versions::table
            .filter(result_versions::code.eq(code))
            .filter(result_versions::standing.eq(Standing::Valid.as_str())),
    )
    .set((
        result_versions::standing.eq(Standing::Revoked.as_str()),
        result_versions::standing_changed_at.eq(to_db(r.revoked_at)),
    ))
    .execute(conn)?;
    if changed == 0 {
        return Ok(false);
    }
    diesel::insert_into(result_revocations::table)
        .values((
            result_revocations::code.eq(code),
            result_revocations::reason.eq(&r.reason),
            result_revocations::revoked_by.eq(r.revoked_by),
            result_revocations::revoked_at.eq(to_db(r.revoked_at)),
            result_revocations::kid.eq(&r.kid),
            result_revocations::signature.eq(&r.signature),
        ))
        .execute(conn)?;
    Ok(true)
}

#[derive(Queryable)]
struct VersionRow {
    code: String,
    dossier_id: i64,
    dossier_code: String,
    version: i32,
    number: String,
    issued_at: NaiveDateTime,
    agency_code: String,
    agency_name: String,
    procedure_code: String,
    procedure_name: String,
    file_sha256: Option<String>,
    standing: String,
    standing_changed_at: Option<NaiveDateTime>,
    kid: String,
    signature: String,
    correction_reason: Option<String>,
    requested_by: Option<String>,
    requested_at: Option<NaiveDateTime>,
    due_at: Option<NaiveDateTime>,
    created_by: i64,
    signed_format: i32,
    files_sha256: Option<String>,
    revocation: Option<RevocationRow>,
}

#[derive(Queryable)]
struct RevocationRow {
    reason: String,
    revoked_by: i64,
    revoked_at: NaiveDateTime,
    kid: String,
    signature: String,
}

fn version_of(r: VersionRow) -> StoreResult<ResultVersion> {
    let signed_format = SignedFormat::from_number(r.signed_format)
        .ok_or_else(|| StoreError::corrupt("result_versions.signed_format"))?;
    let files_sha256 = match (signed_format, r.files_sha256) {
        (SignedFormat::V1, _) => r.file_sha256.into_iter().collect(),
        (SignedFormat::V2, files) => files
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
    };
    Ok(ResultVersion {
        code: r.code,
        dossier_id: r.dossier_id,
        dossier_code: r.dossier_code,
        version: r.version,
        number: r.number,
        issued_at: from_db(r.issued_at),
        agency_code: r.agency_code,
        agency_name: r.agency_name,
        procedure_code: r.procedure_code,
        procedure_name: r.procedure_name,
        files_sha256,
        signed_format,
        standing: parse_enum(&r.standing)?,
        standing_changed_at: r.standing_changed_at.map(from_db),
        kid: r.kid,
        signature: r.signature,
        correction_reason: r.correction_reason,
        requested_by: r.requested_by.as_deref().map(parse_enum).transpose()?,
        requested_at: r.requested_at.map(from_db),
        due_at: r.due_at.map(from_db),
        created_by: r.created_by,
        revocation: r.revocation.map(|x| Revocation {
            reason: x.reason,
            revoked_by: x.revoked_by,
            revoked_at: from_db(x.revoked_at),
            kid: x.kid,
            signature: x.signature,
        }),
    })
}

macro_rules! version_columns {
    () => {
        (
            result_versions::code,
            result_versions::dossier_id,
            dossiers::code,
            result_versions::version,
            result_versions::number,
            result_versions::issued_at,
            result_versions::agency_code,
            result_versions::agency_name,
            result_versions::procedure_code,
            result_versions::procedure_name,
            result_versions::file_sha256,
            result_versions::standing,
            result_versions::standing_changed_at,
            result_versions::kid,
            result_versions::signature,
            result_versions::correction_reason,
            result_versions::requested_by,
            result_versions::requested_at,
            result_versions::due_at,
            result_versions::created_by,
            result_versions::signed_format,
            result_versions::files_sha256,
            (
                result_revocations::reason,
                result_revocations::revoked_by,
                result_revocations::revoked_at,
                result_revocations::kid,
                result_revocations::signature,
            )
                .nullable(),
        )
    };
}

/// The version with this verification code.
pub fn version_by_code(conn: &mut AnyConnection, code: &str) -> StoreResult<Option<ResultVersion>> {
    let row: Option<VersionRow> = result_versions::table
        .inner_join(dossiers::table)
        .left_join(result_revocations::table)
        .filter(result_versions::code.eq(code))
        .select(version_columns!())
        .first(conn)
        .optional()?;
    row.map(version_of).transpose()
}

/// A dossier's result versions, first issued first.
pub fn versions_of(conn: &mut AnyConnection, dossier_id: i64) -> StoreResult<Vec<ResultVersion>> {
    let rows: Vec<VersionRow> = result_versions::table
        .inner_join(dossiers::table)
        .left_join(result_revocations::table)
        .filter(result_versions::dossier_id.eq(dossier_id))
        .order(result_versions::version.asc())
        .select(version_columns!())
        .load(conn)?;
    rows.into_iter().map(version_of).collect()
}

/// Results by post, corrections and revocations over a period, for the KPIs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResultCounts {
    /// Results handed to the post in the period.
    pub posted: i64,
    /// Results the post delivered in the period.
    pub delivered: i64,
    /// Results returned by post whose delivery failed at least once.
    pub with_failed_delivery: i64,
    /// Corrections recorded in the period (each on its own, the original dossier untouched).
    pub corrections: i64,
    /// Of those, recorded by their due moment.
    pub corrections_on_time: i64,
    pub corrections_late: i64,
    /// Result versions revoked in the period.
    pub revoked: i64,
}

/// Narrows a boxed query joined to `dossiers` to the dossiers `filter` keeps.
macro_rules! filtered {
    ($query:expr, $filter:expr) => {{
        let mut query = $query;
        if let Some(id) = $filter.agency_id {
            query = query.filter(dossiers::agency_id.eq(id));
        }
        if let Some(ids) = &$filter.procedure_ids {
            query = query.filter(dossiers::procedure_id.eq_any(ids.clone()));
        }
        if let Some(channel) = $filter.channel {
            query = query.filter(dossiers::channel.eq(channel.as_str()));
        }
        query
    }};
}

/// Counts postal returns, corrections and revocations of the dossiers
/// `filter` keeps (receiving agency, procedures, submission channel), their
/// moments within `[from, to)`.
pub fn counts(
    conn: &mut AnyConnection,
    filter: &KpiFilter,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> StoreResult<ResultCounts> {
    let (from, to) = (to_db(from), to_db(to));
    let posted = postal_returns::table
        .inner_join(dossiers::table)
        .filter(postal_returns::posted_at.ge(from))
        .filter(postal_returns::posted_at.lt(to))
        .select((postal_returns::delivered_at, postal_returns::failures))
        .into_boxed::<crate::db::Db>();
    let delivered = postal_returns::table
        .inner_join(dossiers::table)
        .filter(postal_returns::delivered_at.ge(from))
        .filter(postal_returns::delivered_at.lt(to))
        .select(postal_returns::failures)
        .into_boxed::<crate::db::Db>();
    let corrections = result_versions::table
        .inner_join(dossiers::table)
        .filter(result_versions::version.gt(1))
        .filter(result_versions::issued_at.ge(from))
        .filter(result_versions::issued_at.lt(to))
        .select((result_versions::issued_at, result_versions::due_at))
        .into_boxed::<crate::db::Db>();
    let revoked = result_revocations::table
        .inner_join(result_versions::table.inner_join(dossiers::table))
        .filter(result_revocations::revoked_at.ge(from))
        .filter(result_revocations::revoked_at.lt(to))
        .select(result_revocations::code)
        .into_boxed::<crate::db::Db>();
    let posted: Vec<(Option<NaiveDateTime>, i32)> = filtered!(posted, filter).load(conn)?;
    let delivered: Vec<i32> = filtered!(delivered, filter).load(conn)?;
    let corrections: Vec<(NaiveDateTime, Option<NaiveDateTime>)> =
        filtered!(corrections, filter).load(conn)?;
    let revoked: Vec<String> = filtered!(revoked, filter).load(conn)?;
    let on_time = corrections
        .iter()
        .filter(|(at, due)| due.is_none_or(|d| *at <= d))
        .count();
    let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    Ok(ResultCounts {
        posted: count(posted.len()),
        delivered: count(delivered.len()),
        with_failed_delivery: count(delivered.iter().filter(|f| **f > 0).count()),
        corrections: count(corrections.len()),
        corrections_on_time: count(on_time),
        corrections_late: count(corrections.len() - on_time),
        revoked: count(revoked.len()),
    })
}
