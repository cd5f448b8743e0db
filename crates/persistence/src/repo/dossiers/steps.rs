//! What some steps leave behind: supplement requests, apologies, ratings.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use motcua_domain::dossier::RatingScore;
use serde::Serialize;

use crate::schema::{apology_letters, dossier_ratings, supplement_requests};
use crate::time::{from_db, to_db};
use crate::{AnyConnection, StoreError, StoreResult, parse_enum};

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
    at: DateTime<Utc>,
) -> StoreResult<Rating> {
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
