//! Liveness, session activity, statistics, sequences and databases for tests and benchmarks.

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::{Connection, RunQueryDsl};

use super::{AnyConnection, Backend};
use crate::StoreError;

/// Cheap liveness query used by readiness checks.
pub fn ping(conn: &mut AnyConnection) -> Result<(), StoreError> {
    diesel::sql_query("SELECT 1").execute(conn)?;
    Ok(())
}

/// PostgreSQL: what the other sessions on this database are doing right
/// now, counted by state and wait event (`active CPU` is running, `active
/// Lock:transactionid` waits for another transaction's row lock, `idle in
/// transaction Client:ClientRead` waits for its client inside a
/// transaction). For benchmarks telling a CPU bound from a lock; empty on SQLite.
pub fn session_activity(conn: &mut AnyConnection) -> Result<Vec<(String, i64)>, StoreError> {
    #[derive(diesel::QueryableByName)]
    struct Activity {
        #[diesel(sql_type = diesel::sql_types::Text)]
        what: String,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        sessions: i64,
    }
    if conn.backend() != Backend::Postgres {
        return Ok(Vec::new());
    }
    let rows: Vec<Activity> = diesel::sql_query(
        "SELECT state || ' ' || COALESCE(wait_event_type || ':' || wait_event, 'CPU') AS what, \
                COUNT(*) AS sessions \
         FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid() \
           AND state IN ('active', 'idle in transaction') \
         GROUP BY 1",
    )
    .load(conn)?;
    Ok(rows.into_iter().map(|r| (r.what, r.sessions)).collect())
}

/// After a bulk load, refreshes PostgreSQL's planner statistics, which
/// autovacuum would only do later: without them it mis-estimates the KPI
/// span conditions and reads every row of an agency instead of seeking each
/// span (7.6 ms instead of 0.8 ms at 10k dossiers). SQLite's planner picks
/// the span indexes without statistics.
pub fn refresh_statistics(conn: &mut AnyConnection) -> Result<(), StoreError> {
    if let AnyConnection::Postgresql(pg) = conn {
        pg.batch_execute("ANALYZE")?;
    }
    Ok(())
}

/// After rows were inserted with explicit ids, moves PostgreSQL's id
/// sequences past them (SQLite's AUTOINCREMENT follows by itself).
pub fn sync_id_sequences(conn: &mut AnyConnection, tables: &[&str]) -> Result<(), StoreError> {
    if let AnyConnection::Postgresql(pg) = conn {
        for table in tables {
            // Table names are ours, never input.
            if !table.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                return Err(StoreError::Conflict(format!("not a table name: {table}")));
            }
            pg.batch_execute(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                 GREATEST((SELECT COALESCE(MAX(id), 0) FROM {table}), 1))"
            ))?;
        }
    }
    Ok(())
}

/// The URL of database `name` on the PostgreSQL server at `server`.
pub fn with_database(server: &str, name: &str) -> String {
    match url::Url::parse(server) {
        Ok(mut url) => {
            url.set_path(&format!("/{name}"));
            url.to_string()
        }
        Err(_) => format!("{}/{name}", server.trim_end_matches('/')),
    }
}

/// Database `name` on the PostgreSQL server at `server` (dropped first when
/// `fresh`, created when missing), as a URL. For tools such as benchmarks.
pub fn postgres_database(server: &str, name: &str, fresh: bool) -> Result<String, StoreError> {
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(StoreError::Conflict(format!("not a database name: {name}")));
    }
    let mut admin = PgConnection::establish(server)
        .map_err(|e| StoreError::Conflict(format!("connect to {server}: {e}")))?;
    if fresh {
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
    }
    let exists = diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(&format!(
        "EXISTS (SELECT 1 FROM pg_database WHERE datname = '{name}')"
    )))
    .get_result::<bool>(&mut admin)?;
    if !exists {
        admin.batch_execute(&format!("CREATE DATABASE {name}"))?;
    }
    Ok(with_database(server, name))
}
