//! Citizen notifications (migration 000022): the messages rendered from the
//! outbox with their delivery state, admin templates, opt-outs and the
//! worker's feed cursor. Storage only: what a message says is the domain's.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use motcua_domain::event::EventType;
use motcua_domain::notification::{Channel, Status};

use crate::repo::events::{self, Cursor};
use crate::schema::{notification_opt_outs, notification_templates, notifications};
use crate::time::{from_db, to_db};
use crate::{AnyConnection, StoreError, StoreResult, insert_or_ignore, parse_enum, write_tx};

/// The `notification_feed.name` of the worker.
const FEED: &str = "notifications";

/// The worker's cursor, its row locked until the caller's transaction ends.
/// Call inside `write_tx`.
pub fn lock_cursor(conn: &mut AnyConnection) -> StoreResult<Cursor> {
    events::lock_feed_cursor(conn, FEED)
}

/// Moves the worker's cursor (in the transaction of [`lock_cursor`]).
pub fn set_cursor(conn: &mut AnyConnection, cursor: Cursor) -> StoreResult<()> {
    events::set_feed_cursor(conn, FEED, cursor)
}

/// A message to queue (or to record as skipped).
#[derive(Debug, Clone)]
pub struct NewNotification<'a> {
    pub event_id: &'a str,
    pub event_type: EventType,
    pub dossier_code: Option<&'a str>,
    pub applicant_id: Option<i64>,
    pub channel: Channel,
    pub recipient: &'a str,
    pub subject: Option<&'a str>,
    pub body: &'a str,
    /// `Queued`, or `Skipped` (opted out): the row shows why nothing went.
    pub status: Status,
    pub last_error: Option<&'a str>,
    pub at: DateTime<Utc>,
}

/// Inserts the message unless the event already has one on that channel;
/// true when inserted.
pub fn insert(conn: &mut AnyConnection, new: &NewNotification<'_>) -> StoreResult<bool> {
    let at = to_db(new.at);
    let inserted = insert_or_ignore!(
        &mut *conn,
        notifications::table,
        (
            notifications::event_id.eq(new.event_id),
            notifications::event_type.eq(new.event_type.as_str()),
            notifications::dossier_code.eq(new.dossier_code),
            notifications::applicant_id.eq(new.applicant_id),
            notifications::channel.eq(new.channel.as_str()),
            notifications::recipient.eq(new.recipient),
            notifications::subject.eq(new.subject),
            notifications::body.eq(new.body),
            notifications::status.eq(new.status.as_str()),
            notifications::attempts.eq(0),
            notifications::next_attempt_at.eq(at),
            notifications::last_error.eq(new.last_error),
            notifications::created_at.eq(at),
        )
    )?;
    Ok(inserted > 0)
}

/// One message as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub id: i64,
    pub event_id: String,
    pub event_type: EventType,
    pub dossier_code: Option<String>,
    pub applicant_id: Option<i64>,
    pub channel: Channel,
    pub recipient: String,
    pub subject: Option<String>,
    pub body: String,
    pub status: Status,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = notifications)]
struct Row {
    id: i64,
    event_id: String,
    event_type: String,
    dossier_code: Option<String>,
    applicant_id: Option<i64>,
    channel: String,
    recipient: String,
    subject: Option<String>,
    body: String,
    status: String,
    attempts: i32,
    next_attempt_at: chrono::NaiveDateTime,
    last_error: Option<String>,
    created_at: chrono::NaiveDateTime,
    sent_at: Option<chrono::NaiveDateTime>,
}

fn notification(row: Row) -> StoreResult<Notification> {
    Ok(Notification {
        id: row.id,
        event_id: row.event_id,
        event_type: parse_enum(&row.event_type)?,
        dossier_code: row.dossier_code,
        applicant_id: row.applicant_id,
        channel: parse_enum(&row.channel)?,
        recipient: row.recipient,
        subject: row.subject,
        body: row.body,
        status: parse_enum(&row.status)?,
        attempts: row.attempts,
        next_attempt_at: from_db(row.next_attempt_at),
        last_error: row.last_error,
        created_at: from_db(row.created_at),
        sent_at: row.sent_at.map(from_db),
    })
}

/// Leases to `owner` until `at + lease` up to `limit` queued messages that
/// are due and not under another process's lease (PostgreSQL: `FOR UPDATE
/// SKIP LOCKED`, so processes claim different rows; SQLite: one writer).
pub fn claim_due(
    conn: &mut AnyConnection,
    owner: &str,
    at: DateTime<Utc>,
    lease: chrono::Duration,
    limit: i64,
) -> StoreResult<Vec<Notification>> {
    let now = to_db(at);
    let ids = write_tx(conn, |conn| {
        let due = notifications::table
            .filter(notifications::status.eq(Status::Queued.as_str()))
            .filter(notifications::next_attempt_at.le(now))
            .filter(
                notifications::lease_until
                    .is_null()
                    .or(notifications::lease_until.lt(now)),
            )
            .order(notifications::id.asc())
            .limit(limit)
            .select(notifications::id);
        let ids: Vec<i64> = match &mut *conn {
            AnyConnection::Postgresql(pg) => due.for_update().skip_locked().load(pg)?,
            AnyConnection::Sqlite(lite) => due.load(lite)?,
        };
        diesel::update(notifications::table.filter(notifications::id.eq_any(&ids)))
            .set((
                notifications::claimed_by.eq(Some(owner)),
                notifications::lease_until.eq(Some(to_db(at + lease))),
            ))
            .execute(conn)?;
        Ok::<_, StoreError>(ids)
    })?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<Row> = notifications::table
        .filter(notifications::id.eq_any(&ids))
        .order(notifications::id.asc())
        .select(Row::as_select())
        .load(conn)?;
    rows.into_iter().map(notification).collect()
}

/// What came of one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome<'a> {
    Sent,
    /// Failed; try again at the given time.
    RetryAt(DateTime<Utc>, &'a str),
    /// Failed for the last time.
    Failed(&'a str),
}

/// Records an attempt of a message `owner` holds; false when its lease had
/// passed to another process (nothing recorded).
pub fn record(
    conn: &mut AnyConnection,
    id: i64,
    owner: &str,
    at: DateTime<Utc>,
    outcome: Outcome<'_>,
) -> StoreResult<bool> {
    let mine = notifications::table
        .filter(notifications::id.eq(id))
        .filter(notifications::claimed_by.eq(owner))
        .filter(notifications::status.eq(Status::Queued.as_str()));
    let attempts = notifications::attempts + 1;
    let none: Option<&str> = None;
    let none_at: Option<chrono::NaiveDateTime> = None;
    let changed = match outcome {
        Outcome::Sent => diesel::update(mine)
            .set((
                notifications::status.eq(Status::Sent.as_str()),
                notifications::attempts.eq(attempts),
                notifications::sent_at.eq(Some(to_db(at))),
                notifications::last_error.eq(none),
                notifications::claimed_by.eq(none),
                notifications::lease_until.eq(none_at),
            ))
            .execute(conn)?,
        Outcome::RetryAt(next, error) => diesel::update(mine)
            .set((
                notifications::attempts.eq(attempts),
                notifications::next_attempt_at.eq(to_db(next)),
                notifications::last_error.eq(Some(error)),
                notifications::claimed_by.eq(none),
                notifications::lease_until.eq(none_at),
            ))
            .execute(conn)?,
        Outcome::Failed(error) => diesel::update(mine)
            .set((
                notifications::status.eq(Status::Failed.as_str()),
                notifications::attempts.eq(attempts),
                notifications::last_error.eq(Some(error)),
                notifications::claimed_by.eq(none),
                notifications::lease_until.eq(none_at),
            ))
            .execute(conn)?,
    };
    Ok(changed > 0)
}

/// The messages about a dossier, oldest first.
pub fn of_dossier(conn: &mut AnyConnection, code: &str) -> StoreResult<Vec<Notification>> {
    let rows: Vec<Row> = notifications::table
        .filter(notifications::dossier_code.eq(code))
        .order(notifications::id.asc())
        .select(Row::as_select())
        .load(conn)?;
    rows.into_iter().map(notification).collect()
}

/// The messages of one event, by channel.
pub fn of_event(conn: &mut AnyConnection, event_id: &str) -> StoreResult<Vec<Notification>> {
    let rows: Vec<Row> = notifications::table
        .filter(notifications::event_id.eq(event_id))
        .order(notifications::id.asc())
        .select(Row::as_select())
        .load(conn)?;
    rows.into_iter().map(notification).collect()
}

/// How many messages are in each (channel, status).
pub fn counts(conn: &mut AnyConnection) -> StoreResult<Vec<(Channel, Status, i64)>> {
    let rows: Vec<(String, String, i64)> = notifications::table
        .group_by((notifications::channel, notifications::status))
        .select((
            notifications::channel,
            notifications::status,
            diesel::dsl::count_star(),
        ))
        .load(conn)?;
    rows.into_iter()
        .map(|(c, s, n)| Ok((parse_enum(&c)?, parse_enum(&s)?, n)))
        .collect()
}

/// An admin's template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTemplate {
    pub event_type: EventType,
    pub channel: Channel,
    pub subject: Option<String>,
    pub body: String,
    pub updated_by: Option<i64>,
    pub updated_at: DateTime<Utc>,
}

type TemplateRow = (
    String,
    String,
    Option<String>,
    String,
    Option<i64>,
    chrono::NaiveDateTime,
);

fn template_of(row: TemplateRow) -> StoreResult<StoredTemplate> {
    let (event_type, channel, subject, body, updated_by, updated_at) = row;
    Ok(StoredTemplate {
        event_type: parse_enum(&event_type)?,
        channel: parse_enum(&channel)?,
        subject,
        body,
        updated_by,
        updated_at: from_db(updated_at),
    })
}

/// The admin's template for the type and channel, if one was saved.
pub fn template(
    conn: &mut AnyConnection,
    event_type: EventType,
    channel: Channel,
) -> StoreResult<Option<StoredTemplate>> {
    let row: Option<TemplateRow> = notification_templates::table
        .find((event_type.as_str(), channel.as_str()))
        .select(notification_templates::all_columns)
        .first(conn)
        .optional()?;
    row.map(template_of).transpose()
}

/// Every saved template.
pub fn templates(conn: &mut AnyConnection) -> StoreResult<Vec<StoredTemplate>> {
    let rows: Vec<TemplateRow> = notification_templates::table
        .select(notification_templates::all_columns)
        .order((
            notification_templates::event_type.asc(),
            notification_templates::channel.asc(),
        ))
        .load(conn)?;
    rows.into_iter().map(template_of).collect()
}

/// Saves (replaces) the admin's template of the type and channel.
pub fn put_template(conn: &mut AnyConnection, t: &StoredTemplate) -> StoreResult<()> {
    write_tx(conn, |conn| {
        diesel::delete(
            notification_templates::table.find((t.event_type.as_str(), t.channel.as_str())),
        )
        .execute(conn)?;
        diesel::insert_into(notification_templates::table)
            .values((
                notification_templates::event_type.eq(t.event_type.as_str()),
                notification_templates::channel.eq(t.channel.as_str()),
                notification_templates::subject.eq(&t.subject),
                notification_templates::body.eq(&t.body),
                notification_templates::updated_by.eq(t.updated_by),
                notification_templates::updated_at.eq(to_db(t.updated_at)),
            ))
            .execute(conn)?;
        Ok(())
    })
}

/// Drops the admin's template (back to the built-in one); true when there was one.
pub fn delete_template(
    conn: &mut AnyConnection,
    event_type: EventType,
    channel: Channel,
) -> StoreResult<bool> {
    let n =
        diesel::delete(notification_templates::table.find((event_type.as_str(), channel.as_str())))
            .execute(conn)?;
    Ok(n > 0)
}

/// Whether the applicant opted out of notifications on the channel.
pub fn opted_out(
    conn: &mut AnyConnection,
    applicant_id: i64,
    channel: Channel,
) -> StoreResult<bool> {
    let found: Option<i64> = notification_opt_outs::table
        .find((applicant_id, channel.as_str()))
        .select(notification_opt_outs::applicant_id)
        .first(conn)
        .optional()?;
    Ok(found.is_some())
}

/// The channels the applicant opted out of.
pub fn opt_outs(conn: &mut AnyConnection, applicant_id: i64) -> StoreResult<Vec<Channel>> {
    let rows: Vec<String> = notification_opt_outs::table
        .filter(notification_opt_outs::applicant_id.eq(applicant_id))
        .select(notification_opt_outs::channel)
        .order(notification_opt_outs::channel.asc())
        .load(conn)?;
    rows.iter().map(|c| parse_enum(c)).collect()
}

/// Opts out (idempotent).
pub fn opt_out(
    conn: &mut AnyConnection,
    applicant_id: i64,
    channel: Channel,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    insert_or_ignore!(
        &mut *conn,
        notification_opt_outs::table,
        (
            notification_opt_outs::applicant_id.eq(applicant_id),
            notification_opt_outs::channel.eq(channel.as_str()),
            notification_opt_outs::created_at.eq(to_db(at)),
        )
    )?;
    Ok(())
}

/// Opts back in (idempotent).
pub fn opt_in(conn: &mut AnyConnection, applicant_id: i64, channel: Channel) -> StoreResult<()> {
    diesel::delete(notification_opt_outs::table.find((applicant_id, channel.as_str())))
        .execute(conn)?;
    Ok(())
}
