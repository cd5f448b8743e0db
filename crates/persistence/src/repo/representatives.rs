//! Representatives (migration 000030): who filed a dossier on behalf of its
//! applicant, with the authorisation document, and whom the dossier's
//! tracking and notifications reach. Stores rows; the rules are the domain's
//! (`motcua_domain::representation`).

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use motcua_domain::representation::{Contact, Representative, RepresentativeKind};

use crate::schema::dossier_representatives as r;
use crate::time::{from_db, to_db};
use crate::{AnyConnection, StoreResult, parse_enum};

/// A dossier's representative as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRepresentative {
    pub dossier_id: i64,
    pub representative: Representative,
    pub authorisation_document_id: Option<String>,
    pub contact: Contact,
    /// The representative's citizen account, when it filed online.
    pub user_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    /// When the representative's reach ended (the dossier finished).
    pub ended_at: Option<DateTime<Utc>>,
}

/// What a filing stores about its representative.
#[derive(Debug, Clone, Copy)]
pub struct NewRepresentative<'a> {
    pub dossier_id: i64,
    pub representative: &'a Representative,
    pub authorisation_document_id: Option<&'a str>,
    pub contact: Contact,
    pub user_id: Option<i64>,
}

type Row = (
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<NaiveDate>,
    String,
    Option<i64>,
    NaiveDateTime,
    Option<NaiveDateTime>,
);

fn stored(row: Row) -> StoreResult<StoredRepresentative> {
    let (dossier_id, kind, full_name, id_number, tax_code, phone, email, address) =
        (row.0, row.1, row.2, row.3, row.4, row.5, row.6, row.7);
    let (document, valid_until, contact, user_id, created_at, ended_at) =
        (row.8, row.9, row.10, row.11, row.12, row.13);
    Ok(StoredRepresentative {
        dossier_id,
        representative: Representative {
            kind: parse_enum::<RepresentativeKind>(&kind)?,
            full_name,
            id_number,
            tax_code,
            phone,
            email,
            address,
            valid_until,
        },
        authorisation_document_id: document,
        contact: parse_enum(&contact)?,
        user_id,
        created_at: from_db(created_at),
        ended_at: ended_at.map(from_db),
    })
}

/// Records a dossier's representative, at `at`.
pub fn insert(
    conn: &mut AnyConnection,
    new: &NewRepresentative<'_>,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let rep = new.representative;
    diesel::insert_into(r::table)
        .values((
            r::dossier_id.eq(new.dossier_id),
            r::kind.eq(rep.kind.as_str()),
            r::full_name.eq(&rep.full_name),
            r::id_number.eq(rep.id_number.as_deref()),
            r::tax_code.eq(rep.tax_code.as_deref()),
            r::phone.eq(rep.phone.as_deref()),
            r::email.eq(rep.email.as_deref()),
            r::address.eq(rep.address.as_deref()),
            r::authorisation_document_id.eq(new.authorisation_document_id),
            r::valid_until.eq(rep.valid_until),
            r::contact.eq(new.contact.as_str()),
            r::user_id.eq(new.user_id),
            r::created_at.eq(to_db(at)),
        ))
        .execute(conn)?;
    Ok(())
}

/// The dossier's representative, if it was filed by one.
pub fn of_dossier(
    conn: &mut AnyConnection,
    dossier_id: i64,
) -> StoreResult<Option<StoredRepresentative>> {
    let row: Option<Row> = r::table
        .find(dossier_id)
        .select((
            r::dossier_id,
            r::kind,
            r::full_name,
            r::id_number,
            r::tax_code,
            r::phone,
            r::email,
            r::address,
            r::authorisation_document_id,
            r::valid_until,
            r::contact,
            r::user_id,
            r::created_at,
            r::ended_at,
        ))
        .first(conn)
        .optional()?;
    row.map(stored).transpose()
}

/// Ends the representative's reach on a finished dossier, at `at` (once:
/// a row already ended keeps its moment). Nothing when there is none.
pub fn end(conn: &mut AnyConnection, dossier_id: i64, at: DateTime<Utc>) -> StoreResult<()> {
    diesel::update(
        r::table
            .filter(r::dossier_id.eq(dossier_id))
            .filter(r::ended_at.is_null()),
    )
    .set(r::ended_at.eq(to_db(at)))
    .execute(conn)?;
    Ok(())
}
