use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use motcua_domain::Role;
use motcua_domain::page::{Page, PageRequest};
use motcua_domain::user::User;

use crate::schema::users;
use crate::time::{from_db, to_db};
use crate::{AnyConnection, StoreResult, parse_enum};

diesel::define_sql_function! {
    /// SQL `lower()`, present on both backends.
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = users)]
struct Row {
    id: i64,
    username: String,
    role: String,
    agency_id: Option<i64>,
    applicant_id: Option<i64>,
    full_name: String,
    phone: Option<String>,
    email: Option<String>,
    active: bool,
    demo: bool,
    created_at: NaiveDateTime,
    last_login_at: Option<NaiveDateTime>,
}

impl Row {
    fn into_domain(self) -> StoreResult<User> {
        Ok(User {
            id: self.id,
            username: self.username,
            role: parse_enum(&self.role)?,
            agency_id: self.agency_id,
            applicant_id: self.applicant_id,
            full_name: self.full_name,
            phone: self.phone,
            email: self.email,
            active: self.active,
            demo: self.demo,
            created_at: from_db(self.created_at),
            last_login_at: self.last_login_at.map(from_db),
        })
    }
}

#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    pub username: &'a str,
    pub password_hash: &'a str,
    pub role: Role,
    pub agency_id: Option<i64>,
    pub applicant_id: Option<i64>,
    pub full_name: &'a str,
    pub phone: Option<&'a str>,
    pub email: Option<&'a str>,
    pub demo: bool,
}

pub fn insert(
    conn: &mut AnyConnection,
    user: &NewUser<'_>,
    at: DateTime<Utc>,
) -> StoreResult<User> {
    let at = to_db(at);
    let id: i64 = diesel::insert_into(users::table)
        .values((
            users::username.eq(user.username),
            users::password_hash.eq(user.password_hash),
            users::role.eq(user.role.as_str()),
            users::agency_id.eq(user.agency_id),
            users::applicant_id.eq(user.applicant_id),
            users::full_name.eq(user.full_name),
            users::phone.eq(user.phone),
            users::email.eq(user.email),
            users::active.eq(true),
            users::demo.eq(user.demo),
            users::created_at.eq(at),
            users::updated_at.eq(at),
        ))
        .returning(users::id)
        .get_result(conn)?;
    by_id(conn, id)
}

pub fn by_id(conn: &mut AnyConnection, id: i64) -> StoreResult<User> {
    users::table
        .find(id)
        .select(Row::as_select())
        .first(conn)?
        .into_domain()
}

/// The account and its password hash, for authentication only.
pub fn credentials(
    conn: &mut AnyConnection,
    username: &str,
) -> StoreResult<Option<(User, String)>> {
    let found: Option<(Row, String)> = users::table
        .filter(users::username.eq(username))
        .select((Row::as_select(), users::password_hash))
        .first(conn)
        .optional()?;
    found
        .map(|(row, hash)| Ok((row.into_domain()?, hash)))
        .transpose()
}

pub fn record_login(conn: &mut AnyConnection, id: i64, at: DateTime<Utc>) -> StoreResult<()> {
    diesel::update(users::table.find(id))
        .set(users::last_login_at.eq(to_db(at)))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    pub role: Option<Role>,
    pub agency_id: Option<i64>,
    /// Case-insensitive match on username or name.
    pub q: Option<String>,
}

pub fn list(
    conn: &mut AnyConnection,
    filter: &UserFilter,
    page: PageRequest,
) -> StoreResult<Page<User>> {
    let query = || {
        let mut q = users::table.into_boxed();
        if let Some(role) = filter.role {
            q = q.filter(users::role.eq(role.as_str()));
        }
        if let Some(agency) = filter.agency_id {
            q = q.filter(users::agency_id.eq(agency));
        }
        if let Some(text) = &filter.q {
            // lower() folds ASCII only on SQLite; good enough for an admin's look-up.
            let pattern = format!("%{}%", text.to_lowercase().replace(['%', '_', '\\'], ""));
            q = q.filter(
                users::username
                    .like(pattern.clone())
                    .or(lower(users::full_name).like(pattern)),
            );
        }
        q
    };
    let total: i64 = query().count().get_result(conn)?;
    let rows: Vec<Row> = query()
        .order(users::id.asc())
        .offset(page.offset())
        .limit(page.limit())
        .select(Row::as_select())
        .load(conn)?;
    let items = rows
        .into_iter()
        .map(Row::into_domain)
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(Page::new(items, page, total))
}

#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    pub full_name: Option<String>,
    pub phone: Option<Option<String>>,
    pub email: Option<Option<String>>,
    pub role: Option<Role>,
    pub agency_id: Option<Option<i64>>,
    pub active: Option<bool>,
    pub password_hash: Option<String>,
}

#[derive(AsChangeset)]
#[diesel(table_name = users)]
struct Changeset {
    full_name: Option<String>,
    phone: Option<Option<String>>,
    email: Option<Option<String>>,
    role: Option<String>,
    agency_id: Option<Option<i64>>,
    active: Option<bool>,
    password_hash: Option<String>,
    updated_at: NaiveDateTime,
}

/// The account as it is, its row locked until the transaction ends
/// (`SELECT … FOR UPDATE` on PostgreSQL; SQLite's write transaction already
/// excludes other writers), so a change and its audit entry see one "before".
pub fn lock(conn: &mut AnyConnection, id: i64) -> StoreResult<User> {
    if let AnyConnection::Postgresql(c) = conn {
        users::table
            .find(id)
            .select(users::id)
            .for_update()
            .first::<i64>(c)?;
    }
    by_id(conn, id)
}

pub fn update(
    conn: &mut AnyConnection,
    id: i64,
    changes: UserChanges,
    at: DateTime<Utc>,
) -> StoreResult<User> {
    let changeset = Changeset {
        full_name: changes.full_name,
        phone: changes.phone,
        email: changes.email,
        role: changes.role.map(|r| r.as_str().to_owned()),
        agency_id: changes.agency_id,
        active: changes.active,
        password_hash: changes.password_hash,
        updated_at: to_db(at),
    };
    let ends_access = changeset.role.is_some()
        || changeset.agency_id.is_some()
        || changeset.active.is_some()
        || changeset.password_hash.is_some();
    let n = diesel::update(users::table.find(id))
        .set(changeset)
        .execute(conn)?;
    if n == 0 {
        return Err(crate::StoreError::NotFound);
    }
    if ends_access {
        bump_token_version(conn, id)?;
    }
    by_id(conn, id)
}

/// What an access token is checked against on every request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    pub role: Role,
    pub agency_id: Option<i64>,
    pub active: bool,
    pub token_version: i64,
}

/// The account's current role, agency, lock state and token version; `None` when it is gone.
pub fn access(conn: &mut AnyConnection, id: i64) -> StoreResult<Option<Access>> {
    let row: Option<(String, Option<i64>, bool, i64)> = users::table
        .find(id)
        .select((
            users::role,
            users::agency_id,
            users::active,
            users::token_version,
        ))
        .first(conn)
        .optional()?;
    row.map(|(role, agency_id, active, token_version)| {
        Ok(Access {
            role: parse_enum(&role)?,
            agency_id,
            active,
            token_version,
        })
    })
    .transpose()
}

/// Makes every access token issued so far for the account invalid; returns the new version.
pub fn bump_token_version(conn: &mut AnyConnection, id: i64) -> StoreResult<i64> {
    let n = diesel::update(users::table.find(id))
        .set(users::token_version.eq(users::token_version + 1))
        .execute(conn)?;
    if n == 0 {
        return Err(crate::StoreError::NotFound);
    }
    Ok(users::table
        .find(id)
        .select(users::token_version)
        .first(conn)?)
}

pub fn count_by_role(conn: &mut AnyConnection, role: Role) -> StoreResult<i64> {
    Ok(users::table
        .filter(users::role.eq(role.as_str()))
        .count()
        .get_result(conn)?)
}
