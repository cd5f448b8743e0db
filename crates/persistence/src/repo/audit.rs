//! The audit log: append-only (the database refuses UPDATE and DELETE on it).
//! [`record`] is the one way in; call it inside the transaction of the change
//! it describes, so the change and its entry commit or roll back together.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use motcua_domain::audit::{Actor, AuditEntry, Change, EntityType, changed_fields};
use motcua_domain::page::{Page, PageRequest};

use crate::schema::{audit_log, users};
use crate::time::{from_db, to_db};
use crate::{AnyConnection, StoreError, StoreResult};

/// Appends one entry for `change`, made by `actor`, in the caller's
/// transaction. The account's username and name are read now, so the entry
/// keeps them even if the account is renamed later. Returns the entry's id.
pub fn record(
    conn: &mut AnyConnection,
    actor: &Actor,
    change: &Change,
    at: DateTime<Utc>,
) -> StoreResult<i64> {
    let (username, name) = actor_names(conn, actor)?;
    let json = |v: &Option<serde_json::Value>| -> StoreResult<Option<String>> {
        v.as_ref()
            .map(|v| serde_json::to_string(v).map_err(StoreError::corrupt))
            .transpose()
    };
    let id = diesel::insert_into(audit_log::table)
        .values((
            audit_log::at.eq(to_db(at)),
            audit_log::actor_id.eq(actor.user_id),
            audit_log::actor_username.eq(username),
            audit_log::actor_name.eq(name),
            audit_log::client_addr.eq(actor.client_addr.as_deref()),
            audit_log::request_id.eq(actor.request_id.as_deref()),
            audit_log::entity_type.eq(change.entity_type.as_str()),
            audit_log::entity_id.eq(&change.entity_id),
            audit_log::action.eq(&change.action),
            audit_log::before_json.eq(json(&change.before)?),
            audit_log::after_json.eq(json(&change.after)?),
        ))
        .returning(audit_log::id)
        .get_result(conn)?;
    Ok(id)
}

/// The actor's username and name as they are now; `system:<what>` for the system.
pub(crate) fn actor_names(
    conn: &mut AnyConnection,
    actor: &Actor,
) -> StoreResult<(String, String)> {
    Ok(match actor.user_id {
        Some(id) => users::table
            .find(id)
            .select((users::username, users::full_name))
            .first::<(String, String)>(conn)
            .optional()?
            .unwrap_or_else(|| (format!("#{id}"), String::new())),
        None => {
            let name = actor.system_name();
            (name.clone(), name)
        }
    })
}

/// Records `after` as the new state of a setting when it differs from the
/// state the newest entry of that entity recorded (or none was recorded yet):
/// for configuration that is read at start-up rather than changed through the
/// API. Returns whether an entry was written.
pub fn record_if_changed(
    conn: &mut AnyConnection,
    actor: &Actor,
    entity_type: EntityType,
    entity_id: &str,
    action: &str,
    after: serde_json::Value,
    at: DateTime<Utc>,
) -> StoreResult<bool> {
    crate::write_tx(conn, |conn| {
        // Servers starting together record a change once: on PostgreSQL they
        // queue on a transaction lock; SQLite's write transaction already does.
        if let AnyConnection::Postgresql(c) = conn {
            diesel::sql_query("SELECT pg_advisory_xact_lock(7733009)").execute(c)?;
        }
        let before = latest(conn, entity_type, entity_id)?.and_then(|e| e.after);
        let change = Change::new(entity_type, entity_id, action, before, Some(after));
        if change.before == change.after {
            return Ok(false);
        }
        record(conn, actor, &change, at)?;
        Ok(true)
    })
}

/// An integration grant given, changed or taken away: the entry the grants
/// code writes (in its own transaction) for each of those. `action` is
/// `grant`, `change` or `revoke`; `before`/`after` the grant as JSON.
pub fn record_integration_grant(
    conn: &mut AnyConnection,
    actor: &Actor,
    grant_id: impl ToString,
    action: &str,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
    at: DateTime<Utc>,
) -> StoreResult<i64> {
    record(
        conn,
        actor,
        &Change::new(
            EntityType::IntegrationGrant,
            grant_id,
            action,
            before,
            after,
        ),
        at,
    )
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub entity_type: Option<EntityType>,
    pub entity_id: Option<String>,
    pub actor_id: Option<i64>,
    /// Inclusive.
    pub from: Option<DateTime<Utc>>,
    /// Exclusive.
    pub to: Option<DateTime<Utc>>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = audit_log)]
struct Row {
    id: i64,
    at: NaiveDateTime,
    actor_id: Option<i64>,
    actor_username: String,
    actor_name: String,
    client_addr: Option<String>,
    request_id: Option<String>,
    entity_type: String,
    entity_id: String,
    action: String,
    before_json: Option<String>,
    after_json: Option<String>,
}

impl Row {
    fn into_domain(self) -> StoreResult<AuditEntry> {
        let parse = |text: Option<String>| -> StoreResult<Option<serde_json::Value>> {
            text.map(|t| serde_json::from_str(&t).map_err(StoreError::corrupt))
                .transpose()
        };
        let before = parse(self.before_json)?;
        let after = parse(self.after_json)?;
        let changed = changed_fields(before.as_ref(), after.as_ref());
        Ok(AuditEntry {
            id: self.id,
            at: from_db(self.at),
            actor_id: self.actor_id,
            actor_username: self.actor_username,
            actor_name: self.actor_name,
            client_addr: self.client_addr,
            request_id: self.request_id,
            entity_type: self.entity_type,
            entity_id: self.entity_id,
            action: self.action,
            before,
            after,
            changed,
        })
    }
}

type Boxed<'a> = audit_log::BoxedQuery<'a, crate::db::Db>;

fn filtered(filter: &AuditFilter) -> Boxed<'_> {
    let mut q = audit_log::table.into_boxed();
    if let Some(t) = filter.entity_type {
        q = q.filter(audit_log::entity_type.eq(t.as_str()));
    }
    if let Some(id) = &filter.entity_id {
        q = q.filter(audit_log::entity_id.eq(id.clone()));
    }
    if let Some(actor) = filter.actor_id {
        q = q.filter(audit_log::actor_id.eq(actor));
    }
    if let Some(from) = filter.from {
        q = q.filter(audit_log::at.ge(to_db(from)));
    }
    if let Some(to) = filter.to {
        q = q.filter(audit_log::at.lt(to_db(to)));
    }
    q
}

fn load(query: Boxed<'_>, conn: &mut AnyConnection) -> StoreResult<Vec<AuditEntry>> {
    query
        .select(Row::as_select())
        .load::<Row>(conn)?
        .into_iter()
        .map(Row::into_domain)
        .collect()
}

/// Entries matching `filter`, newest first.
pub fn list(
    conn: &mut AnyConnection,
    filter: &AuditFilter,
    page: PageRequest,
) -> StoreResult<Page<AuditEntry>> {
    let total: i64 = filtered(filter).count().get_result(conn)?;
    let items = load(
        filtered(filter)
            .order(audit_log::id.desc())
            .offset(page.offset())
            .limit(page.limit()),
        conn,
    )?;
    Ok(Page::new(items, page, total))
}

/// Up to `limit` entries matching `filter` with ids above `after_id`, oldest
/// first: an export reads the log in such chunks.
pub fn chunk(
    conn: &mut AnyConnection,
    filter: &AuditFilter,
    after_id: i64,
    limit: i64,
) -> StoreResult<Vec<AuditEntry>> {
    load(
        filtered(filter)
            .filter(audit_log::id.gt(after_id))
            .order(audit_log::id.asc())
            .limit(limit),
        conn,
    )
}

/// The entries of one entity, oldest first (tests and tools).
pub fn of_entity(
    conn: &mut AnyConnection,
    entity_type: EntityType,
    entity_id: &str,
) -> StoreResult<Vec<AuditEntry>> {
    let filter = AuditFilter {
        entity_type: Some(entity_type),
        entity_id: Some(entity_id.to_owned()),
        ..Default::default()
    };
    chunk(conn, &filter, 0, i64::MAX)
}

/// The newest entry of one entity, if any.
pub fn latest(
    conn: &mut AnyConnection,
    entity_type: EntityType,
    entity_id: &str,
) -> StoreResult<Option<AuditEntry>> {
    let filter = AuditFilter {
        entity_type: Some(entity_type),
        entity_id: Some(entity_id.to_owned()),
        ..Default::default()
    };
    Ok(load(filtered(&filter).order(audit_log::id.desc()).limit(1), conn)?.pop())
}
