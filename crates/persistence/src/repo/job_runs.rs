//! Claims of background job runs, so that a run (`job`, `run_key`: the
//! daily reconciliation of one day) happens once across every server process
//! sharing the database. Storage only: which runs are due is the caller's.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;

use crate::schema::job_runs;
use crate::time::{from_db, to_db};
use crate::{AnyConnection, StoreResult, insert_or_ignore, write_tx};

/// One claimed run as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRun {
    pub job: String,
    pub run_key: String,
    pub claimed_by: String,
    pub claimed_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// Claims the run for `owner` at `at` for `lease`. True when this caller now
/// owns it: nobody had claimed it, or a claim was left unfinished past its
/// lease. False when it is done or another process is on it.
pub fn claim(
    conn: &mut AnyConnection,
    job: &str,
    run_key: &str,
    owner: &str,
    at: DateTime<Utc>,
    lease: Duration,
) -> StoreResult<bool> {
    write_tx(conn, |conn| {
        let inserted = insert_or_ignore!(
            &mut *conn,
            job_runs::table,
            (
                job_runs::job.eq(job),
                job_runs::run_key.eq(run_key),
                job_runs::claimed_by.eq(owner),
                job_runs::claimed_at.eq(to_db(at)),
                job_runs::lease_until.eq(to_db(at + lease)),
            )
        )?;
        if inserted == 1 {
            return Ok(true);
        }
        let taken_over = diesel::update(
            job_runs::table
                .find((job, run_key))
                .filter(job_runs::finished_at.is_null())
                .filter(job_runs::lease_until.lt(to_db(at))),
        )
        .set((
            job_runs::claimed_by.eq(owner),
            job_runs::claimed_at.eq(to_db(at)),
            job_runs::lease_until.eq(to_db(at + lease)),
        ))
        .execute(conn)?;
        Ok(taken_over == 1)
    })
}

/// Marks the owner's run done: no process runs it again.
pub fn finish(
    conn: &mut AnyConnection,
    job: &str,
    run_key: &str,
    owner: &str,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    diesel::update(
        job_runs::table
            .find((job, run_key))
            .filter(job_runs::claimed_by.eq(owner)),
    )
    .set(job_runs::finished_at.eq(Some(to_db(at))))
    .execute(conn)?;
    Ok(())
}

/// Gives an unfinished claim of the owner's back (the run failed), so the
/// next round, here or elsewhere, tries again.
pub fn release(conn: &mut AnyConnection, job: &str, run_key: &str, owner: &str) -> StoreResult<()> {
    diesel::delete(
        job_runs::table
            .find((job, run_key))
            .filter(job_runs::claimed_by.eq(owner))
            .filter(job_runs::finished_at.is_null()),
    )
    .execute(conn)?;
    Ok(())
}

/// The runs of a job, oldest key first.
pub fn of_job(conn: &mut AnyConnection, job: &str) -> StoreResult<Vec<JobRun>> {
    type Row = (
        String,
        String,
        String,
        chrono::NaiveDateTime,
        Option<chrono::NaiveDateTime>,
    );
    let rows: Vec<Row> = job_runs::table
        .filter(job_runs::job.eq(job))
        .order(job_runs::run_key.asc())
        .select((
            job_runs::job,
            job_runs::run_key,
            job_runs::claimed_by,
            job_runs::claimed_at,
            job_runs::finished_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(job, run_key, claimed_by, claimed_at, finished_at)| JobRun {
                job,
                run_key,
                claimed_by,
                claimed_at: from_db(claimed_at),
                finished_at: finished_at.map(from_db),
            },
        )
        .collect())
}
