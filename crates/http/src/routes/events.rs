//! The change feed: every event of the outbox, oldest first, with a cursor to
//! continue from (admins and integration accounts; docs/events.md).

use actix_web::{HttpResponse, get, web};
use motcua_domain::Role;
use motcua_domain::access;
use motcua_domain::event::{Envelope, EventType};
use motcua_domain::validation::{FieldError, Problem};
use motcua_persistence::repo::events::{self, Cursor, FeedFilter, StoredEvent};
use motcua_persistence::repo::integrations;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::Query;
use crate::state::AppState;

/// Events per page when `limit` is not given, and at most.
const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 500;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// The `next` cursor of the previous page; omit to start from the first event.
    #[param(example = "7361-42")]
    pub after: Option<String>,
    /// Comma-separated event types, e.g. `dossier.received,payment.paid`; omit for all.
    pub types: Option<String>,
    /// Only this agency's events (admins: any agency; integration accounts: one they are granted).
    pub agency: Option<i64>,
    /// Events per page, 1–500 (default 100).
    pub limit: Option<i64>,
}

/// A page of the feed. Poll again with `next` (it stays the same while nothing new has committed).
#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage {
    pub items: Vec<Envelope>,
    /// Where to continue from.
    #[schema(example = "7361-42")]
    pub next: String,
}

fn bad_query(field: &str, problem: Problem) -> ApiError {
    let mut e = ApiError::new(ErrorCode::InvalidQuery);
    e.errors.push(FieldError {
        field: field.to_owned(),
        problem,
    });
    e
}

fn parse_types(raw: Option<&str>) -> ApiResult<Vec<EventType>> {
    raw.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            t.parse::<EventType>()
                .map_err(|_| bad_query("types", Problem::one_of(EventType::NAMES)))
        })
        .collect()
}

fn envelope(event: StoredEvent) -> ApiResult<Envelope> {
    let data = serde_json::from_str(&event.payload)
        .map_err(|e| ApiError::internal("stored event payload", e))?;
    Ok(Envelope {
        id: event.id,
        event_type: event.event_type,
        version: u16::try_from(event.version)
            .map_err(|e| ApiError::internal("stored event version", e))?,
        occurred_at: event.occurred_at,
        subject_kind: event.subject_kind,
        subject: event.subject,
        agency_id: event.agency_id,
        data,
    })
}

/// The change feed (admins, integration accounts): events oldest first,
/// from `after`. An event appears once it can no longer be overtaken by one
/// committing later, so a reader that follows `next` sees every event exactly
/// once, in order. Integration accounts see the events of the agencies they
/// are granted, and catalog events.
#[utoipa::path(operation_id = "list_events", tag = "events", security(("bearer" = [])), params(FeedQuery), responses((status = 200, body = EventPage)))]
#[get("/events")]
pub async fn feed(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<FeedQuery>,
) -> ApiResult<HttpResponse> {
    caller.require(&[Role::Admin, Role::Integration])?;
    let q = query.0;
    let after = match q.after.as_deref().map(str::trim) {
        None | Some("") => Cursor::START,
        Some(raw) => raw
            .parse::<Cursor>()
            .map_err(|_| bad_query("after", Problem::format("7361-42")))?,
    };
    let types = parse_types(q.types.as_deref())?;
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(bad_query(
            "limit",
            Problem::OutOfRange {
                min: 1,
                max: MAX_LIMIT,
            },
        ));
    }
    let integration = caller.is(Role::Integration).then_some(caller.user_id);
    let role = caller.role;
    let (found, next) = state
        .db(move |conn| {
            let granted: Vec<i64> = match integration {
                Some(user) => integrations::grants_of(conn, user)?
                    .into_iter()
                    .map(|g| g.agency_id)
                    .collect(),
                None => Vec::new(),
            };
            let reach =
                access::event_reach(role, &granted, q.agency).map_err(|_| ApiError::forbidden())?;
            let filter = FeedFilter {
                types,
                agency_ids: reach.agency_ids,
                with_unassigned: reach.with_unassigned,
            };
            Ok(events::read_after(conn, after, &filter, limit)?)
        })
        .await?;
    let items = found
        .into_iter()
        .map(envelope)
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(HttpResponse::Ok().json(EventPage {
        items,
        next: next.to_string(),
    }))
}
