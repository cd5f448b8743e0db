use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use motcua_domain::document::{Document, DocumentKind};

use crate::schema::{documents, dossier_documents};
use crate::time::{from_db, to_db};
use crate::{AnyConnection, StoreResult, parse_enum};

#[derive(Queryable, Selectable)]
#[diesel(table_name = documents)]
struct Row {
    id: String,
    applicant_id: Option<i64>,
    uploaded_by: i64,
    kind: String,
    title: String,
    file_name: String,
    content_type: String,
    size_bytes: i64,
    sha256: String,
    in_store: bool,
    created_at: NaiveDateTime,
}

impl Row {
    fn into_domain(self) -> StoreResult<Document> {
        Ok(Document {
            id: self.id,
            applicant_id: self.applicant_id,
            uploaded_by: self.uploaded_by,
            kind: parse_enum(&self.kind)?,
            title: self.title,
            file_name: self.file_name,
            content_type: self.content_type,
            size_bytes: self.size_bytes,
            sha256: self.sha256,
            in_store: self.in_store,
            created_at: from_db(self.created_at),
        })
    }
}

pub struct NewDocument<'a> {
    pub id: &'a str,
    pub applicant_id: Option<i64>,
    pub uploaded_by: i64,
    pub kind: DocumentKind,
    pub title: &'a str,
    pub file_name: &'a str,
    pub content_type: &'a str,
    pub size_bytes: i64,
    pub sha256: &'a str,
}

pub fn insert(
    conn: &mut AnyConnection,
    doc: &NewDocument<'_>,
    at: DateTime<Utc>,
) -> StoreResult<Document> {
    diesel::insert_into(documents::table)
        .values((
            documents::id.eq(doc.id),
            documents::applicant_id.eq(doc.applicant_id),
            documents::uploaded_by.eq(doc.uploaded_by),
            documents::kind.eq(doc.kind.as_str()),
            documents::title.eq(doc.title),
            documents::file_name.eq(doc.file_name),
            documents::content_type.eq(doc.content_type),
            documents::size_bytes.eq(doc.size_bytes),
            documents::sha256.eq(doc.sha256),
            documents::storage_key.eq(doc.id),
            documents::in_store.eq(false),
            documents::created_at.eq(to_db(at)),
        ))
        .execute(conn)?;
    get(conn, doc.id)
}

pub fn get(conn: &mut AnyConnection, id: &str) -> StoreResult<Document> {
    documents::table
        .find(id)
        .select(Row::as_select())
        .first(conn)?
        .into_domain()
}

pub fn storage_key(conn: &mut AnyConnection, id: &str) -> StoreResult<String> {
    Ok(documents::table
        .find(id)
        .select(documents::storage_key)
        .first(conn)?)
}

/// The applicant's store: accepted inputs and returned results, newest first.
pub fn store_of(conn: &mut AnyConnection, applicant_id: i64) -> StoreResult<Vec<Document>> {
    documents::table
        .filter(documents::applicant_id.eq(applicant_id))
        .filter(documents::in_store.eq(true))
        .order(documents::created_at.desc())
        .select(Row::as_select())
        .load(conn)?
        .into_iter()
        .map(Row::into_domain)
        .collect()
}

/// Dossiers a document is part of.
pub fn dossiers_of(conn: &mut AnyConnection, id: &str) -> StoreResult<Vec<i64>> {
    Ok(dossier_documents::table
        .filter(dossier_documents::document_id.eq(id))
        .select(dossier_documents::dossier_id)
        .load(conn)?)
}

pub fn set_owner(conn: &mut AnyConnection, id: &str, applicant_id: i64) -> StoreResult<()> {
    diesel::update(documents::table.find(id))
        .set(documents::applicant_id.eq(applicant_id))
        .execute(conn)?;
    Ok(())
}

/// Puts documents into their applicant's store.
pub fn store(conn: &mut AnyConnection, ids: &[String]) -> StoreResult<()> {
    if !ids.is_empty() {
        diesel::update(documents::table.filter(documents::id.eq_any(ids)))
            .set(documents::in_store.eq(true))
            .execute(conn)?;
    }
    Ok(())
}

/// Removes a document row that never joined a dossier.
pub fn delete(conn: &mut AnyConnection, id: &str) -> StoreResult<()> {
    diesel::delete(documents::table.find(id)).execute(conn)?;
    Ok(())
}
