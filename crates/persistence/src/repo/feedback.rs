//! Citizen feedback on administrative rules (PAKN) and its exchange.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Timestamp};
use motcua_domain::feedback::{self, Feedback, FeedbackAction, FeedbackMessage, FeedbackStatus};
use motcua_domain::kpi::FeedbackCounts;
use motcua_domain::page::{Page, PageRequest};

use crate::db::Db;
use crate::schema::{feedback as fb, feedback_messages};
use crate::time::{from_db, to_db};
use crate::{AnyConnection, StoreError, StoreResult, parse_enum, write_tx};

#[derive(Queryable, Selectable)]
#[diesel(table_name = fb)]
struct Row {
    id: i64,
    tracking_code: String,
    agency_id: i64,
    procedure_code: Option<String>,
    subject: String,
    content: String,
    sender_name: Option<String>,
    contact: Option<String>,
    status: String,
    handled_at: Option<NaiveDateTime>,
    due_at: NaiveDateTime,
    created_at: NaiveDateTime,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = feedback_messages)]
struct MessageRow {
    action: String,
    from_status: String,
    to_status: String,
    body: String,
    staff_id: Option<i64>,
    at: NaiveDateTime,
}

fn assemble(conn: &mut AnyConnection, row: Row) -> StoreResult<Feedback> {
    let messages = feedback_messages::table
        .filter(feedback_messages::feedback_id.eq(row.id))
        .order(feedback_messages::id.asc())
        .select(MessageRow::as_select())
        .load(conn)?
        .into_iter()
        .map(|m| {
            Ok(FeedbackMessage {
                action: parse_enum(&m.action)?,
                from_status: parse_enum(&m.from_status)?,
                to_status: parse_enum(&m.to_status)?,
                body: m.body,
                from_staff: m.staff_id.is_some(),
                at: from_db(m.at),
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(Feedback {
        id: row.id,
        tracking_code: row.tracking_code,
        agency_id: row.agency_id,
        procedure_code: row.procedure_code,
        subject: row.subject,
        content: row.content,
        sender_name: row.sender_name,
        contact: row.contact,
        status: parse_enum(&row.status)?,
        handled_at: row.handled_at.map(from_db),
        due_at: from_db(row.due_at),
        created_at: from_db(row.created_at),
        messages,
    })
}

pub fn get(conn: &mut AnyConnection, id: i64) -> StoreResult<Feedback> {
    let row = fb::table.find(id).select(Row::as_select()).first(conn)?;
    assemble(conn, row)
}

pub fn by_tracking_code(conn: &mut AnyConnection, code: &str) -> StoreResult<Feedback> {
    let row = fb::table
        .filter(fb::tracking_code.eq(code))
        .select(Row::as_select())
        .first(conn)?;
    assemble(conn, row)
}

pub struct NewFeedback<'a> {
    pub tracking_code: &'a str,
    pub agency_id: i64,
    pub procedure_code: Option<&'a str>,
    pub subject: &'a str,
    pub content: &'a str,
    pub sender_name: Option<&'a str>,
    pub contact: Option<&'a str>,
    pub sender_user_id: Option<i64>,
    pub due_at: DateTime<Utc>,
    pub at: DateTime<Utc>,
}

pub fn create(conn: &mut AnyConnection, new: &NewFeedback<'_>) -> StoreResult<Feedback> {
    let id: i64 = diesel::insert_into(fb::table)
        .values((
            fb::tracking_code.eq(new.tracking_code),
            fb::agency_id.eq(new.agency_id),
            fb::procedure_code.eq(new.procedure_code),
            fb::subject.eq(new.subject),
            fb::content.eq(new.content),
            fb::sender_name.eq(new.sender_name),
            fb::contact.eq(new.contact),
            fb::sender_user_id.eq(new.sender_user_id),
            fb::status.eq(FeedbackStatus::Received.as_str()),
            fb::due_at.eq(to_db(new.due_at)),
            fb::created_at.eq(to_db(new.at)),
            fb::updated_at.eq(to_db(new.at)),
        ))
        .returning(fb::id)
        .get_result(conn)?;
    get(conn, id)
}

#[derive(Debug, Clone, Default)]
pub struct FeedbackFilter {
    pub agency_id: Option<i64>,
    pub statuses: Option<Vec<FeedbackStatus>>,
}

/// Newest first.
pub fn list(
    conn: &mut AnyConnection,
    filter: &FeedbackFilter,
    page: PageRequest,
) -> StoreResult<Page<Feedback>> {
    let query = || {
        let mut q = fb::table.into_boxed::<Db>();
        if let Some(agency) = filter.agency_id {
            q = q.filter(fb::agency_id.eq(agency));
        }
        if let Some(statuses) = &filter.statuses {
            q = q.filter(fb::status.eq_any(statuses.iter().map(|s| s.as_str())));
        }
        q
    };
    let total: i64 = query().count().get_result(conn)?;
    let rows: Vec<Row> = query()
        .order((fb::created_at.desc(), fb::id.desc()))
        .offset(page.offset())
        .limit(page.limit())
        .select(Row::as_select())
        .load(conn)?;
    let items = rows
        .into_iter()
        .map(|row| assemble(conn, row))
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(Page::new(items, page, total))
}

#[derive(Debug)]
pub enum Reply {
    Done(Box<Feedback>),
    /// The action does not apply in the feedback's current status.
    NotAllowed(FeedbackStatus),
}

/// Records a step of the exchange and moves the status, or refuses it.
pub fn reply(
    conn: &mut AnyConnection,
    id: i64,
    action: FeedbackAction,
    body: &str,
    staff_id: Option<i64>,
    at: DateTime<Utc>,
) -> StoreResult<Reply> {
    write_tx(conn, |conn| {
        let current: String = fb::table.find(id).select(fb::status).first(conn)?;
        let from: FeedbackStatus = parse_enum(&current)?;
        let Some(to) = feedback::after(from, action) else {
            return Ok(Reply::NotAllowed(from));
        };
        let handled = matches!(action, FeedbackAction::Answer | FeedbackAction::Refuse);
        let n = diesel::update(fb::table.find(id).filter(fb::status.eq(from.as_str())))
            .set((fb::status.eq(to.as_str()), fb::updated_at.eq(to_db(at))))
            .execute(conn)?;
        if n != 1 {
            return Err(StoreError::Conflict("feedback changed meanwhile".into()));
        }
        if handled {
            diesel::update(fb::table.find(id).filter(fb::handled_at.is_null()))
                .set(fb::handled_at.eq(to_db(at)))
                .execute(conn)?;
        }
        diesel::insert_into(feedback_messages::table)
            .values((
                feedback_messages::feedback_id.eq(id),
                feedback_messages::action.eq(action.as_str()),
                feedback_messages::from_status.eq(from.as_str()),
                feedback_messages::to_status.eq(to.as_str()),
                feedback_messages::body.eq(body),
                feedback_messages::staff_id.eq(staff_id),
                feedback_messages::at.eq(to_db(at)),
            ))
            .execute(conn)?;
        Ok(Reply::Done(Box::new(get(conn, id)?)))
    })
}

/// Feedback received in `[from, to)` and how it was handled as of `as_of`,
/// per agency.
pub fn counts_by_agency(
    conn: &mut AnyConnection,
    agency_id: Option<i64>,
    procedure_codes: Option<&[String]>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    as_of: DateTime<Utc>,
) -> StoreResult<BTreeMap<i64, FeedbackCounts>> {
    // Counted in the database: the range can hold thousands of items.
    let mut q = fb::table
        .filter(fb::created_at.ge(to_db(from)))
        .filter(fb::created_at.lt(to_db(to)))
        .group_by(fb::agency_id)
        .select((
            fb::agency_id,
            sql::<BigInt>("COUNT(*)"),
            sql::<BigInt>(
                "CAST(COALESCE(SUM(CASE WHEN handled_at <= due_at THEN 1 ELSE 0 END), 0) AS BIGINT)",
            ),
            sql::<BigInt>(
                "CAST(COALESCE(SUM(CASE WHEN handled_at > due_at \
                 OR (handled_at IS NULL AND due_at < ",
            )
            .bind::<Timestamp, _>(to_db(as_of))
            .sql(") THEN 1 ELSE 0 END), 0) AS BIGINT)"),
        ))
        .into_boxed::<Db>();
    if let Some(agency) = agency_id {
        q = q.filter(fb::agency_id.eq(agency));
    }
    if let Some(codes) = procedure_codes {
        q = q.filter(fb::procedure_code.eq_any(codes.to_vec()));
    }
    let rows: Vec<(i64, i64, i64, i64)> = q.load(conn)?;
    let out = rows
        .into_iter()
        .map(|(agency, received, handled_in_time, overdue)| {
            let counts = FeedbackCounts {
                received,
                handled_in_time,
                overdue,
            };
            (agency, counts)
        })
        .collect();
    Ok(out)
}
