use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::schema::applicants;
use crate::time::{from_db, to_db};
use crate::{AnyConnection, StoreResult};

/// A person or organisation that files dossiers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Applicant {
    pub id: i64,
    pub kind: String,
    pub id_number: Option<String>,
    pub tax_code: Option<String>,
    pub full_name: String,
    pub date_of_birth: Option<NaiveDate>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = applicants)]
struct Row {
    id: i64,
    kind: String,
    id_number: Option<String>,
    tax_code: Option<String>,
    full_name: String,
    date_of_birth: Option<NaiveDate>,
    phone: Option<String>,
    email: Option<String>,
    address: Option<String>,
    created_at: NaiveDateTime,
}

/// [`Row`]'s columns, for `RETURNING` (the multi-backend connection cannot
/// return `Row::as_select()`).
const ROW_COLUMNS: (
    applicants::id,
    applicants::kind,
    applicants::id_number,
    applicants::tax_code,
    applicants::full_name,
    applicants::date_of_birth,
    applicants::phone,
    applicants::email,
    applicants::address,
    applicants::created_at,
) = (
    applicants::id,
    applicants::kind,
    applicants::id_number,
    applicants::tax_code,
    applicants::full_name,
    applicants::date_of_birth,
    applicants::phone,
    applicants::email,
    applicants::address,
    applicants::created_at,
);

impl From<Row> for Applicant {
    fn from(r: Row) -> Self {
        Applicant {
            id: r.id,
            kind: r.kind,
            id_number: r.id_number,
            tax_code: r.tax_code,
            full_name: r.full_name,
            date_of_birth: r.date_of_birth,
            phone: r.phone,
            email: r.email,
            address: r.address,
            created_at: from_db(r.created_at),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct NewPerson<'a> {
    pub id_number: &'a str,
    pub full_name: &'a str,
    pub date_of_birth: Option<NaiveDate>,
    pub phone: Option<&'a str>,
    pub email: Option<&'a str>,
    pub address: Option<&'a str>,
}

pub fn insert_person(
    conn: &mut AnyConnection,
    person: &NewPerson<'_>,
    at: DateTime<Utc>,
) -> StoreResult<Applicant> {
    let at = to_db(at);
    // The row as written comes back with the insert: no read after it.
    let row = diesel::insert_into(applicants::table)
        .values((
            applicants::kind.eq("person"),
            applicants::id_number.eq(person.id_number),
            applicants::full_name.eq(person.full_name),
            applicants::date_of_birth.eq(person.date_of_birth),
            applicants::phone.eq(person.phone),
            applicants::email.eq(person.email),
            applicants::address.eq(person.address),
            applicants::created_at.eq(at),
            applicants::updated_at.eq(at),
        ))
        .returning(ROW_COLUMNS)
        .get_result::<Row>(conn)?;
    Ok(row.into())
}

#[derive(Debug, Clone, Default)]
pub struct NewOrganization<'a> {
    pub tax_code: &'a str,
    pub full_name: &'a str,
    pub phone: Option<&'a str>,
    pub email: Option<&'a str>,
    pub address: Option<&'a str>,
}

pub fn insert_organization(
    conn: &mut AnyConnection,
    org: &NewOrganization<'_>,
    at: DateTime<Utc>,
) -> StoreResult<Applicant> {
    let at = to_db(at);
    // The row as written comes back with the insert: no read after it.
    let row = diesel::insert_into(applicants::table)
        .values((
            applicants::kind.eq("organization"),
            applicants::tax_code.eq(org.tax_code),
            applicants::full_name.eq(org.full_name),
            applicants::phone.eq(org.phone),
            applicants::email.eq(org.email),
            applicants::address.eq(org.address),
            applicants::created_at.eq(at),
            applicants::updated_at.eq(at),
        ))
        .returning(ROW_COLUMNS)
        .get_result::<Row>(conn)?;
    Ok(row.into())
}

pub fn by_tax_code(conn: &mut AnyConnection, tax_code: &str) -> StoreResult<Option<Applicant>> {
    Ok(applicants::table
        .filter(applicants::tax_code.eq(tax_code))
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .map(Into::into))
}

pub fn by_id(conn: &mut AnyConnection, id: i64) -> StoreResult<Applicant> {
    Ok(applicants::table
        .find(id)
        .select(Row::as_select())
        .first(conn)?
        .into())
}

pub fn by_id_number(conn: &mut AnyConnection, id_number: &str) -> StoreResult<Option<Applicant>> {
    Ok(applicants::table
        .filter(applicants::id_number.eq(id_number))
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .map(Into::into))
}
