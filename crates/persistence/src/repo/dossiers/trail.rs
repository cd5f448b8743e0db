//! The trail of a dossier: one event per step.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use motcua_domain::Role;
use motcua_domain::dossier::DossierStatus;
use serde::Serialize;

use crate::schema::{dossier_events, users};
use crate::time::{from_db, to_db};
use crate::{AnyConnection, StoreError, StoreResult, parse_enum};

/// One line of the trail.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Event {
    pub id: i64,
    pub action: String,
    pub from_status: Option<DossierStatus>,
    pub to_status: DossierStatus,
    pub actor_id: Option<i64>,
    pub actor_name: Option<String>,
    pub actor_role: Role,
    pub actor_agency_id: Option<i64>,
    pub note: Option<String>,
    /// What else the action carried: assignee, missing items, new appointment…
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub data: Option<serde_json::Value>,
    pub at: DateTime<Utc>,
}

pub struct NewEvent<'a> {
    pub dossier_id: i64,
    /// An [`Action`] name, or `submit`.
    pub action: &'a str,
    pub from_status: Option<DossierStatus>,
    pub to_status: DossierStatus,
    pub actor_id: Option<i64>,
    pub actor_role: Role,
    pub actor_agency_id: Option<i64>,
    pub note: Option<&'a str>,
    pub data: Option<serde_json::Value>,
    pub at: DateTime<Utc>,
}

pub fn append_event(conn: &mut AnyConnection, e: &NewEvent<'_>) -> StoreResult<i64> {
    Ok(diesel::insert_into(dossier_events::table)
        .values((
            dossier_events::dossier_id.eq(e.dossier_id),
            dossier_events::action.eq(e.action),
            dossier_events::from_status.eq(e.from_status.map(|s| s.as_str())),
            dossier_events::to_status.eq(e.to_status.as_str()),
            dossier_events::actor_id.eq(e.actor_id),
            dossier_events::actor_role.eq(e.actor_role.as_str()),
            dossier_events::actor_agency_id.eq(e.actor_agency_id),
            dossier_events::note.eq(e.note),
            dossier_events::data.eq(e.data.as_ref().map(ToString::to_string)),
            dossier_events::at.eq(to_db(e.at)),
        ))
        .returning(dossier_events::id)
        .get_result(conn)?)
}

type EventRow = (
    i64,
    String,
    Option<String>,
    String,
    Option<i64>,
    Option<String>,
    String,
    Option<i64>,
    Option<String>,
    Option<String>,
    NaiveDateTime,
);

pub fn history(conn: &mut AnyConnection, dossier_id: i64) -> StoreResult<Vec<Event>> {
    let rows: Vec<EventRow> = dossier_events::table
        .left_join(users::table.on(users::id.nullable().eq(dossier_events::actor_id)))
        .filter(dossier_events::dossier_id.eq(dossier_id))
        .order(dossier_events::id.asc())
        .select((
            dossier_events::id,
            dossier_events::action,
            dossier_events::from_status,
            dossier_events::to_status,
            dossier_events::actor_id,
            users::full_name.nullable(),
            dossier_events::actor_role,
            dossier_events::actor_agency_id,
            dossier_events::note,
            dossier_events::data,
            dossier_events::at,
        ))
        .load(conn)?;
    rows.into_iter()
        .map(
            |(id, action, from, to, actor_id, actor_name, role, agency, note, data, at)| {
                Ok(Event {
                    id,
                    action,
                    from_status: from.as_deref().map(parse_enum).transpose()?,
                    to_status: parse_enum(&to)?,
                    actor_id,
                    actor_name,
                    actor_role: parse_enum(&role)?,
                    actor_agency_id: agency,
                    note,
                    data: data
                        .as_deref()
                        .map(serde_json::from_str)
                        .transpose()
                        .map_err(StoreError::corrupt)?,
                    at: from_db(at),
                })
            },
        )
        .collect()
}
