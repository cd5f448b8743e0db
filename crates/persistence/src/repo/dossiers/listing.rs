//! Listing dossiers by scope and filters, and staff of an agency.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use motcua_domain::Role;
use motcua_domain::dossier::{Channel, Dossier, DossierStatus};
use motcua_domain::page::{Page, PageRequest};

use super::{Row, assemble_all};
use crate::schema::{dossier_agencies, dossiers, procedures, users};
use crate::time::to_db;
use crate::{AnyConnection, StoreResult, parse_enum};

/// Who may see which dossiers in a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DossierScope {
    All,
    /// A citizen's (the domain's `ListScope::Citizen`): filed under its
    /// applicant record when verified; filed by this account for that record,
    /// or for someone else (as representative) while unfinished.
    Citizen {
        user: i64,
        applicant: Option<i64>,
        verified: bool,
    },
    /// Passed through this agency.
    Agency(i64),
    /// Filed by this integration account, or received by an agency it is granted.
    Integration(i64),
}

#[derive(Debug, Clone, Default)]
pub struct DossierFilter {
    pub statuses: Vec<DossierStatus>,
    pub procedure_code: Option<String>,
    pub agency_id: Option<i64>,
    pub channel: Option<Channel>,
    pub submitted_from: Option<DateTime<Utc>>,
    pub submitted_to: Option<DateTime<Utc>>,
    /// Folded words, each matched against code, applicant name and ID number.
    pub terms: Vec<String>,
    /// Unfinished and past due at this moment.
    pub overdue_at: Option<DateTime<Utc>>,
    /// Unfinished, not overdue at `now`, due by this moment.
    pub due_by: Option<(DateTime<Utc>, DateTime<Utc>)>,
    pub assignee_id: Option<i64>,
}

fn unfinished() -> [&'static str; 7] {
    [
        DossierStatus::Submitted.as_str(),
        DossierStatus::Received.as_str(),
        DossierStatus::InReview.as_str(),
        DossierStatus::PendingApproval.as_str(),
        DossierStatus::Approved.as_str(),
        DossierStatus::SupplementRequested.as_str(),
        DossierStatus::ResultReady.as_str(),
    ]
}

/// The dossiers a citizen's list shows (the domain's `access::reach` for
/// citizens): filed under its applicant record when verified; filed by the
/// account for that record, or for someone else while unfinished.
macro_rules! citizen_filter {
    ($user:expr, $applicant:expr, $verified:expr) => {{
        // `-1` matches no applicant record (ids are positive).
        let own: i64 = $applicant.unwrap_or(-1);
        let theirs: i64 = if $verified { own } else { -1 };
        dossiers::applicant_id
            .eq(theirs)
            .or(dossiers::submitted_by.eq($user).and(
                dossiers::applicant_id
                    .eq(own)
                    .or(dossiers::status.ne_all($crate::repo::dossiers::listing::finished())),
            ))
    }};
}
pub(crate) use citizen_filter;

/// The statuses of finished dossiers (the domain's `is_finished`).
pub(crate) fn finished() -> Vec<&'static str> {
    DossierStatus::ALL
        .iter()
        .filter(|s| s.is_finished())
        .map(|s| s.as_str())
        .collect()
}

/// The dossiers `scope` reaches, as a query to narrow further.
fn in_scope(scope: DossierScope) -> dossiers::BoxedQuery<'static, crate::db::Db> {
    let mut q = dossiers::table.into_boxed::<crate::db::Db>();
    match scope {
        DossierScope::All => {}
        DossierScope::Citizen {
            user,
            applicant,
            verified,
        } => q = q.filter(citizen_filter!(user, applicant, verified)),
        DossierScope::Agency(id) => {
            q = q.filter(
                dossiers::id.eq_any(
                    dossier_agencies::table
                        .filter(dossier_agencies::agency_id.eq(id))
                        .select(dossier_agencies::dossier_id),
                ),
            )
        }
        DossierScope::Integration(user) => {
            q = q.filter(
                dossiers::submitted_by
                    .eq(user)
                    .or(dossiers::agency_id.eq_any(
                        crate::schema::integration_grants::table
                            .filter(crate::schema::integration_grants::user_id.eq(user))
                            .select(crate::schema::integration_grants::agency_id),
                    )),
            )
        }
    }
    q
}

/// A page of dossiers, soonest due first (those without a due moment last).
pub fn list(
    conn: &mut AnyConnection,
    scope: DossierScope,
    filter: &DossierFilter,
    page: PageRequest,
) -> StoreResult<Page<Dossier>> {
    let query = || {
        let mut q = in_scope(scope);
        if !filter.statuses.is_empty() {
            q = q.filter(
                dossiers::status.eq_any(
                    filter
                        .statuses
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>(),
                ),
            );
        }
        if let Some(code) = &filter.procedure_code {
            q = q.filter(
                dossiers::procedure_id.eq_any(
                    procedures::table
                        .filter(procedures::code.eq(code.clone()))
                        .select(procedures::id),
                ),
            );
        }
        if let Some(agency) = filter.agency_id {
            q = q.filter(
                dossiers::agency_id
                    .eq(agency)
                    .or(dossiers::handling_agency_id.eq(agency))
                    .or(dossiers::received_at_agency_id.eq(agency)),
            );
        }
        if let Some(channel) = filter.channel {
            q = q.filter(dossiers::channel.eq(channel.as_str()));
        }
        if let Some(from) = filter.submitted_from {
            q = q.filter(dossiers::submitted_at.ge(to_db(from)));
        }
        if let Some(to) = filter.submitted_to {
            q = q.filter(dossiers::submitted_at.lt(to_db(to)));
        }
        for term in &filter.terms {
            q = q.filter(dossiers::search_text.like(format!("% {term}%")));
        }
        // Only a running clock can run out: not while a supplement is
        // awaited, not once the result is issued (DOMAIN.md, Time rules).
        if let Some(at) = filter.overdue_at {
            q = q
                .filter(dossiers::status.eq_any(unfinished()))
                .filter(dossiers::processed_at.is_null())
                .filter(dossiers::paused_at.is_null())
                .filter(dossiers::due_at.lt(to_db(at)));
        }
        if let Some((now, by)) = filter.due_by {
            q = q
                .filter(dossiers::status.eq_any(unfinished()))
                .filter(dossiers::processed_at.is_null())
                .filter(dossiers::paused_at.is_null())
                .filter(dossiers::due_at.ge(to_db(now)))
                .filter(dossiers::due_at.le(to_db(by)));
        }
        if let Some(assignee) = filter.assignee_id {
            q = q.filter(dossiers::assignee_id.eq(assignee));
        }
        q
    };
    let total: i64 = query().count().get_result(conn)?;
    let rows: Vec<Row> = query()
        .order((
            dossiers::due_at.is_null().asc(),
            dossiers::due_at.asc(),
            dossiers::submitted_at.asc(),
            dossiers::id.asc(),
        ))
        .offset(page.offset())
        .limit(page.limit())
        .select(Row::as_select())
        .load(conn)?;
    let items = assemble_all(conn, rows)?;
    Ok(Page::new(items, page, total))
}

/// Users of an agency with a role, for routing checks.
pub fn user_in_agency(
    conn: &mut AnyConnection,
    user_id: i64,
    agency_id: i64,
) -> StoreResult<Option<Role>> {
    let row: Option<(String, Option<i64>, bool)> = users::table
        .find(user_id)
        .select((users::role, users::agency_id, users::active))
        .first(conn)
        .optional()?;
    match row {
        Some((role, Some(agency), true)) if agency == agency_id => Ok(Some(parse_enum(&role)?)),
        _ => Ok(None),
    }
}
