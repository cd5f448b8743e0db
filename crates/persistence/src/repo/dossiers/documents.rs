//! The documents of a dossier and its tracking PIN.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::schema::{dossier_documents, dossier_tracking_pins};
use crate::time::{from_db, to_db};
use crate::{AnyConnection, StoreResult};

/// A document line of a dossier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DossierDocument {
    pub requirement: Option<String>,
    pub document_id: Option<String>,
    pub title: Option<String>,
    pub content_type: Option<String>,
    pub size_bytes: Option<i64>,
    pub paper: bool,
    pub reused: bool,
    pub stage: String,
    pub added_at: DateTime<Utc>,
}

/// Stores the PIN an organisation's dossier is tracked with.
pub fn set_tracking_pin(conn: &mut AnyConnection, dossier_id: i64, pin: &str) -> StoreResult<()> {
    diesel::insert_into(dossier_tracking_pins::table)
        .values((
            dossier_tracking_pins::dossier_id.eq(dossier_id),
            dossier_tracking_pins::pin.eq(pin),
        ))
        .execute(conn)?;
    Ok(())
}

/// The tracking PIN of an organisation's dossier; `None` for a person's.
pub fn tracking_pin(conn: &mut AnyConnection, dossier_id: i64) -> StoreResult<Option<String>> {
    Ok(dossier_tracking_pins::table
        .find(dossier_id)
        .select(dossier_tracking_pins::pin)
        .first(conn)
        .optional()?)
}

pub struct NewDossierDocument<'a> {
    pub requirement: Option<&'a str>,
    pub document_id: Option<&'a str>,
    pub paper: bool,
    pub reused: bool,
    pub stage: &'a str,
}

pub fn add_document(
    conn: &mut AnyConnection,
    dossier_id: i64,
    d: &NewDossierDocument<'_>,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    diesel::insert_into(dossier_documents::table)
        .values((
            dossier_documents::dossier_id.eq(dossier_id),
            dossier_documents::requirement.eq(d.requirement),
            dossier_documents::document_id.eq(d.document_id),
            dossier_documents::paper.eq(d.paper),
            dossier_documents::reused.eq(d.reused),
            dossier_documents::stage.eq(d.stage),
            dossier_documents::added_at.eq(to_db(at)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Writes a dossier's document lines, added at `at`, in one statement.
pub fn add_documents(
    conn: &mut AnyConnection,
    dossier_id: i64,
    lines: &[NewDossierDocument<'_>],
    at: DateTime<Utc>,
) -> StoreResult<()> {
    if lines.is_empty() {
        return Ok(());
    }
    let at = to_db(at);
    let rows: Vec<_> = lines
        .iter()
        .map(|d| {
            (
                dossier_documents::dossier_id.eq(dossier_id),
                dossier_documents::requirement.eq(d.requirement),
                dossier_documents::document_id.eq(d.document_id),
                dossier_documents::paper.eq(d.paper),
                dossier_documents::reused.eq(d.reused),
                dossier_documents::stage.eq(d.stage),
                dossier_documents::added_at.eq(at),
            )
        })
        .collect();
    crate::insert_many!(&mut *conn, dossier_documents::table, &rows)?;
    Ok(())
}

type DocRow = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
    bool,
    bool,
    String,
    NaiveDateTime,
);

pub fn documents_of(
    conn: &mut AnyConnection,
    dossier_id: i64,
) -> StoreResult<Vec<DossierDocument>> {
    use crate::schema::documents;
    let rows: Vec<DocRow> = dossier_documents::table
        .left_join(documents::table)
        .filter(dossier_documents::dossier_id.eq(dossier_id))
        .order(dossier_documents::id.asc())
        .select((
            dossier_documents::requirement,
            dossier_documents::document_id,
            documents::title.nullable(),
            documents::content_type.nullable(),
            documents::size_bytes.nullable(),
            dossier_documents::paper,
            dossier_documents::reused,
            dossier_documents::stage,
            dossier_documents::added_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(
                requirement,
                document_id,
                title,
                content_type,
                size_bytes,
                paper,
                reused,
                stage,
                at,
            )| DossierDocument {
                requirement,
                document_id,
                title,
                content_type,
                size_bytes,
                paper,
                reused,
                stage,
                added_at: from_db(at),
            },
        )
        .collect())
}
