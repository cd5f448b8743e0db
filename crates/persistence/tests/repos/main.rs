//! Repository tests. Every scenario runs on SQLite, and on PostgreSQL when
//! `MOTCUA_TEST_POSTGRES_URL` is set, each in a database of its own.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use motcua_persistence::testing::TestDb;
use motcua_persistence::{Backend, Pool};

mod catalog;
mod events;
mod forms;
mod foundation;
mod kpi;
mod kpi_mix;
mod notifications;
mod payments_once;
mod workflow;

/// Declares `<scenario>::sqlite` and `<scenario>::postgres` tests for each scenario fn.
#[macro_export]
macro_rules! on_both_backends {
    ($($scenario:ident),+ $(,)?) => {
        $(
            mod $scenario {
                #[test]
                fn sqlite() {
                    $crate::run(motcua_persistence::Backend::Sqlite, super::$scenario);
                }
                #[test]
                fn postgres() {
                    $crate::run(motcua_persistence::Backend::Postgres, super::$scenario);
                }
            }
        )+
    };
}

pub fn run(backend: Backend, scenario: fn(&Pool)) {
    let Some(db) = TestDb::for_backend(backend) else {
        eprintln!("skipped on {}: no server configured", backend.as_str());
        return;
    };
    scenario(&db.pool());
}
