use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use motcua_domain::agency::{Agency, AgencyRef, NewAgency};

use crate::schema::agencies;
use crate::time::{from_db, to_db};
use crate::{AnyConnection, StoreResult, parse_enum};

#[derive(Queryable, Selectable)]
#[diesel(table_name = agencies)]
struct Row {
    id: i64,
    code: String,
    name: String,
    level: String,
    parent_id: Option<i64>,
    created_at: NaiveDateTime,
    receiving_point: bool,
}

impl Row {
    fn into_domain(self) -> StoreResult<Agency> {
        Ok(Agency {
            id: self.id,
            code: self.code,
            name: self.name,
            level: parse_enum(&self.level)?,
            parent_id: self.parent_id,
            created_at: from_db(self.created_at),
            receiving_point: self.receiving_point,
        })
    }
}

pub fn insert(
    conn: &mut AnyConnection,
    agency: &NewAgency,
    at: DateTime<Utc>,
) -> StoreResult<Agency> {
    let row: Row = diesel::insert_into(agencies::table)
        .values((
            agencies::code.eq(&agency.code),
            agencies::name.eq(&agency.name),
            agencies::level.eq(agency.level.as_str()),
            agencies::parent_id.eq(agency.parent_id),
            agencies::created_at.eq(to_db(at)),
            agencies::receiving_point.eq(agency.receiving_point),
        ))
        .get_result(conn)?;
    row.into_domain()
}

pub fn list(conn: &mut AnyConnection) -> StoreResult<Vec<Agency>> {
    agencies::table
        .order(agencies::code.asc())
        .select(Row::as_select())
        .load(conn)?
        .into_iter()
        .map(Row::into_domain)
        .collect()
}

pub fn by_id(conn: &mut AnyConnection, id: i64) -> StoreResult<Agency> {
    agencies::table
        .find(id)
        .select(Row::as_select())
        .first(conn)?
        .into_domain()
}

pub fn by_code(conn: &mut AnyConnection, code: &str) -> StoreResult<Agency> {
    agencies::table
        .filter(agencies::code.eq(code))
        .select(Row::as_select())
        .first(conn)?
        .into_domain()
}

/// Makes the agency a receiving point for the province, or stops it.
pub fn set_receiving_point(
    conn: &mut AnyConnection,
    id: i64,
    receiving_point: bool,
) -> StoreResult<Agency> {
    diesel::update(agencies::table.find(id))
        .set(agencies::receiving_point.eq(receiving_point))
        .get_result::<Row>(conn)?
        .into_domain()
}

pub fn reference(agency: &Agency) -> AgencyRef {
    AgencyRef {
        id: agency.id,
        code: agency.code.clone(),
        name: agency.name.clone(),
    }
}

pub fn count(conn: &mut AnyConnection) -> StoreResult<i64> {
    Ok(agencies::table.count().get_result(conn)?)
}

/// The agency whose figures its staff see: itself, or for a division (a unit
/// under a parent of the same administrative level), the agency it belongs to.
pub fn home_agency(conn: &mut AnyConnection, id: i64) -> StoreResult<Agency> {
    let mut agency = by_id(conn, id)?;
    // Bounded: a parent cycle cannot loop forever.
    for _ in 0..16 {
        let Some(parent_id) = agency.parent_id else {
            break;
        };
        let parent = by_id(conn, parent_id)?;
        if parent.level != agency.level {
            break;
        }
        agency = parent;
    }
    Ok(agency)
}
