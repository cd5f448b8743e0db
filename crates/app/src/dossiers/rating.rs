//! The applicant's rating of the service.

use chrono::{DateTime, Utc};
use motcua_domain::Role;
use motcua_domain::rules::{Comment, TextRule};
use motcua_domain::text::nfc;
use motcua_domain::validation::Problem;
use motcua_persistence::repo::{dossiers, kpi, users};
use motcua_persistence::{AnyConnection, StoreError, write_tx};

use super::{Principal, WorkflowError, WorkflowResult, invalid, visible};

/// The applicant rates the service once, after the outcome.
pub fn rate(
    conn: &mut AnyConnection,
    caller: Principal,
    code: &str,
    score: motcua_domain::dossier::RatingScore,
    comment: Option<&str>,
    now: DateTime<Utc>,
) -> WorkflowResult<dossiers::Rating> {
    write_tx(conn, |conn| {
        let (dossier, actor) = visible(conn, caller, code)?;
        if !actor.is_applicant {
            return Err(WorkflowError::Forbidden);
        }
        if !motcua_domain::dossier::may_rate(dossier.status) {
            return Err(WorkflowError::NotAllowed {
                status: dossier.status,
                allowed: Vec::new(),
            });
        }
        if dossiers::rating(conn, dossier.id)?.is_some() {
            return Err(WorkflowError::AlreadyRated);
        }
        let comment = comment.map(nfc).filter(|c| !c.is_empty());
        if comment
            .as_ref()
            .is_some_and(|c| c.chars().count() as u64 > Comment::MAX)
        {
            return Err(invalid("comment", Problem::TooLong { max: Comment::MAX }));
        }
        let rating = dossiers::rate(
            conn,
            dossier.id,
            caller.user_id,
            score,
            comment.as_deref(),
            now,
        )
        .map_err(|e| {
            if matches!(e, StoreError::Conflict(_)) {
                WorkflowError::AlreadyRated
            } else {
                e.into()
            }
        })?;
        kpi::refresh(conn, dossier.id)?;
        Ok(rating)
    })
}

/// The applicant record of a citizen caller.
pub fn applicant_of(conn: &mut AnyConnection, caller: Principal) -> WorkflowResult<Option<i64>> {
    if caller.role != Role::Citizen {
        return Ok(None);
    }
    Ok(users::by_id(conn, caller.user_id)?.applicant_id)
}
