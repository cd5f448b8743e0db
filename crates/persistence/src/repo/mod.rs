//! Repositories: one module per aggregate. Every function takes a connection,
//! so callers choose the transaction.

pub mod agencies;
pub mod applicants;
pub mod audit;
pub mod calendar;
pub mod catalog_index;
pub mod documents;
pub mod dossiers;
pub mod events;
pub mod feedback;
pub mod forms;
pub mod idempotency;
pub mod identity;
pub mod integrations;
pub mod job_runs;
pub mod kpi;
pub mod notifications;
pub mod payments;
pub mod portal;
pub mod procedures;
pub mod queue;
pub mod rate_limits;
pub mod representatives;
pub mod results;
pub mod sessions;
pub mod tracking;
pub mod users;
pub mod webhooks;

/// Bumps and returns the next number of an agency's day in `$table` (columns
/// `agency_id`, `day`, `last_value`), in the caller's transaction: the row lock
/// (PostgreSQL) or the write lock (SQLite) makes concurrent callers queue, and
/// a rolled-back transaction gives its number back, so there are no gaps.
macro_rules! next_daily_number {
    ($conn:expr, $table:ident, $agency_id:expr, $day:expr) => {{
        use diesel::prelude::*;
        use $crate::schema::$table::dsl as s;
        let (agency_id, day): (i64, chrono::NaiveDate) = ($agency_id, $day);
        macro_rules! bump {
            ($c:expr) => {
                diesel::insert_into(s::$table)
                    .values((
                        s::agency_id.eq(agency_id),
                        s::day.eq(day),
                        s::last_value.eq(1_i64),
                    ))
                    .on_conflict((s::agency_id, s::day))
                    .do_update()
                    .set(s::last_value.eq(s::last_value + 1_i64))
                    .execute($c)
            };
        }
        match &mut *$conn {
            $crate::AnyConnection::Postgresql(c) => bump!(c)?,
            $crate::AnyConnection::Sqlite(c) => bump!(c)?,
        };
        let value: i64 = s::$table
            .find((agency_id, day))
            .select(s::last_value)
            .first($conn)?;
        Ok::<i64, $crate::StoreError>(value)
    }};
}
pub(crate) use next_daily_number;

/// `(grain = ? AND period >= ? AND period < ?) OR …` over `$spans` for a table
/// of day/month/year rows, or `None` without spans; `$refine` ANDs the other
/// filters into every branch. No neutral first term (`1 = 0 OR …`) and no
/// filter outside the ORs: SQLite seeks an index for each branch (its
/// MULTI-INDEX OR plan) only when every branch carries the whole filter, and
/// otherwise reads every row of the agency or the table.
macro_rules! within_spans {
    ($table:ident, $spans:expr) => {
        $crate::repo::within_spans!($table, $spans, |branch| branch)
    };
    ($table:ident, $spans:expr, $refine:expr) => {{
        type Condition = Box<
            dyn diesel::BoxableExpression<
                    $crate::schema::$table::table,
                    $crate::db::Db,
                    SqlType = diesel::sql_types::Bool,
                >,
        >;
        let refine: &dyn Fn(Condition) -> Condition = &$refine;
        let mut cond: Option<Condition> = None;
        for span in $spans {
            let branch: Condition = Box::new(
                $crate::schema::$table::grain
                    .eq(span.grain.as_str())
                    .and($crate::schema::$table::period.ge(span.from))
                    .and($crate::schema::$table::period.lt(span.to)),
            );
            let this: Condition = refine(branch);
            cond = Some(match cond {
                None => this,
                Some(c) => Box::new(c.or(this)),
            });
        }
        cond
    }};
}
pub(crate) use within_spans;
