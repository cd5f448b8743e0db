//! What an integration (portal) account may reach besides its own filings,
//! and the log of everything it does on dossiers, documents and payments.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use motcua_domain::page::{Page, PageRequest};
use serde::Serialize;

use crate::schema::{integration_access_log, integration_grants};
use crate::time::{from_db, to_db};
use crate::{AnyConnection, StoreResult, insert_or_ignore};

/// An agency whose dossiers an integration account may read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Grant {
    pub user_id: i64,
    pub agency_id: i64,
    pub granted_by: i64,
    pub granted_at: DateTime<Utc>,
}

pub fn grants_of(conn: &mut AnyConnection, user_id: i64) -> StoreResult<Vec<Grant>> {
    let rows: Vec<(i64, i64, i64, NaiveDateTime)> = integration_grants::table
        .filter(integration_grants::user_id.eq(user_id))
        .order(integration_grants::agency_id.asc())
        .select((
            integration_grants::user_id,
            integration_grants::agency_id,
            integration_grants::granted_by,
            integration_grants::granted_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(user_id, agency_id, granted_by, at)| Grant {
            user_id,
            agency_id,
            granted_by,
            granted_at: from_db(at),
        })
        .collect())
}

pub fn is_granted(conn: &mut AnyConnection, user_id: i64, agency_id: i64) -> StoreResult<bool> {
    Ok(integration_grants::table
        .find((user_id, agency_id))
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

/// Grants an agency; granting it again changes nothing.
pub fn grant(
    conn: &mut AnyConnection,
    user_id: i64,
    agency_id: i64,
    granted_by: i64,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    insert_or_ignore!(
        conn,
        integration_grants::table,
        (
            integration_grants::user_id.eq(user_id),
            integration_grants::agency_id.eq(agency_id),
            integration_grants::granted_by.eq(granted_by),
            integration_grants::granted_at.eq(to_db(at)),
        )
    )?;
    Ok(())
}

/// Takes a grant away; `false` when there was none.
pub fn revoke(conn: &mut AnyConnection, user_id: i64, agency_id: i64) -> StoreResult<bool> {
    Ok(diesel::delete(integration_grants::table.find((user_id, agency_id))).execute(conn)? > 0)
}

/// One request of an integration account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Access {
    pub id: i64,
    pub user_id: i64,
    pub method: String,
    pub path: String,
    pub dossier_code: Option<String>,
    /// The HTTP status it was answered with.
    pub status: i32,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewAccess<'a> {
    pub user_id: i64,
    pub method: &'a str,
    pub path: &'a str,
    pub dossier_code: Option<&'a str>,
    pub status: i32,
    pub at: DateTime<Utc>,
}

pub fn log_access(conn: &mut AnyConnection, a: &NewAccess<'_>) -> StoreResult<()> {
    diesel::insert_into(integration_access_log::table)
        .values((
            integration_access_log::user_id.eq(a.user_id),
            integration_access_log::method.eq(a.method),
            integration_access_log::path.eq(a.path),
            integration_access_log::dossier_code.eq(a.dossier_code),
            integration_access_log::status.eq(a.status),
            integration_access_log::at.eq(to_db(a.at)),
        ))
        .execute(conn)?;
    Ok(())
}

type AccessRow = (i64, i64, String, String, Option<String>, i32, NaiveDateTime);

/// An integration account's requests, newest first.
pub fn access_log(
    conn: &mut AnyConnection,
    user_id: i64,
    page: PageRequest,
) -> StoreResult<Page<Access>> {
    let total: i64 = integration_access_log::table
        .filter(integration_access_log::user_id.eq(user_id))
        .count()
        .get_result(conn)?;
    let rows: Vec<AccessRow> = integration_access_log::table
        .filter(integration_access_log::user_id.eq(user_id))
        .order(integration_access_log::id.desc())
        .offset(page.offset())
        .limit(page.limit())
        .select((
            integration_access_log::id,
            integration_access_log::user_id,
            integration_access_log::method,
            integration_access_log::path,
            integration_access_log::dossier_code,
            integration_access_log::status,
            integration_access_log::at,
        ))
        .load(conn)?;
    let items = rows
        .into_iter()
        .map(
            |(id, user_id, method, path, dossier_code, status, at)| Access {
                id,
                user_id,
                method,
                path,
                dossier_code,
                status,
                at: from_db(at),
            },
        )
        .collect();
    Ok(Page::new(items, page, total))
}
