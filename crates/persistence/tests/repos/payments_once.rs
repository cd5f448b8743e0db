//! Migration 000006 on a database that already holds the defect it closes:
//! a dossier paid twice and two open attempts of one dossier. The upgrade
//! keeps every payment, applies the first success to the fee, turns the
//! second into a surplus, closes the older open attempt as superseded, and
//! then the indexes hold.

use diesel::prelude::*;
use diesel_migrations::MigrationHarness;
use motcua_domain::procedure::SupplementClock;
use motcua_persistence::schema::{dossiers, payments};
use motcua_persistence::{Pool, db};

use crate::on_both_backends;
use crate::workflow::world;

on_both_backends!(upgrading_keeps_double_payments_as_surpluses);

fn upgrading_keeps_double_payments_as_surpluses(pool: &Pool) {
    use motcua_generator::{self as synthetic, Placeholder, Plan};
    let conn = &mut pool.get().unwrap();
    world(conn, SupplementClock::Pause);
    let plan = Plan {
        dossiers: 120,
        procedures: 6,
        years: 1,
        until: chrono::Utc::now(),
        seed: 11,
        placeholder: Placeholder {
            storage_key: "synthetic-placeholder-pdf".into(),
            size_bytes: 1,
            sha256: "0".repeat(64),
        },
    };
    synthetic::generate(conn, &plan, |_| {}).unwrap();
    let (paid_dossier, first): (i64, String) = payments::table
        .filter(payments::status.eq("success"))
        .order(payments::id.asc())
        .select((payments::dossier_id, payments::id))
        .first(conn)
        .unwrap();
    let open_dossier: i64 = dossiers::table
        .filter(dossiers::id.ne(paid_dossier))
        .select(dossiers::id)
        .first(conn)
        .unwrap();
    write_what_the_race_left(conn, (paid_dossier, open_dossier), &first);
    db::run_migrations(conn).unwrap();
    let applied = |conn: &mut motcua_persistence::AnyConnection, id: &str| -> (i64, i64) {
        payments::table
            .find(id)
            .select((payments::applied_vnd, payments::amount_vnd))
            .first(conn)
            .unwrap()
    };
    let (a, amount) = applied(conn, &first);
    assert_eq!(a, amount, "the first success pays the fee");
    assert_eq!(
        applied(conn, "zzz-second-success").0,
        0,
        "the second is a surplus"
    );
    let (due, paid): (i64, i64) = dossiers::table
        .find(paid_dossier)
        .select((dossiers::fees_due_vnd, dossiers::fees_paid_vnd))
        .first(conn)
        .unwrap();
    assert_eq!(paid, due);
    let status =
        |conn: &mut motcua_persistence::AnyConnection, id: &str| -> (String, Option<String>) {
            payments::table
                .find(id)
                .select((payments::status, payments::failure_code))
                .first(conn)
                .unwrap()
        };
    assert_eq!(
        status(conn, "zzz-open-older"),
        ("cancelled".to_owned(), Some("superseded".to_owned()))
    );
    assert_eq!(status(conn, "zzz-open-newer").0, "started");
    let overpaid = motcua_persistence::repo::payments::overpayments(conn).unwrap();
    assert_eq!(overpaid.len(), 1);
    assert_eq!(overpaid[0].payment_id, "zzz-second-success");
    assert_eq!(
        overpaid[0].refund_status,
        Some(motcua_domain::payment::RefundStatus::Proposed),
        "the surplus found by the upgrade is proposed for refund"
    );
    assert_eq!(overpaid[0].unresolved_vnd, amount);
    // Down and up again.
    conn.revert_last_migration(db::migrations_for(conn.backend()))
        .unwrap();
    db::run_migrations(conn).unwrap();
    assert_eq!(applied(conn, "zzz-second-success").0, 0);
}

/// Back before 000006 (past any later migration): writes what the race used
/// to leave behind: a second success on `paid` (paid twice), two open
/// attempts on `open`, each a copy of the payment `first`.
fn write_what_the_race_left(
    conn: &mut motcua_persistence::AnyConnection,
    (paid_dossier, open_dossier): (i64, i64),
    first: &str,
) {
    let backend = conn.backend();
    loop {
        let reverted = conn
            .revert_last_migration(db::migrations_for(backend))
            .unwrap();
        if reverted.to_string().contains("000006") {
            break;
        }
    }
    let copy = |id: &str, dossier: i64, status: &str, at: &str| {
        let at = match backend {
            motcua_persistence::Backend::Postgres => format!("TIMESTAMP '{at}'"),
            motcua_persistence::Backend::Sqlite => format!("'{at}'"),
        };
        format!(
            "INSERT INTO payments (id, dossier_id, method, gateway, txn_ref, amount_vnd, status, \
             created_by, created_at, updated_at, expires_at, corrected, check_attempts) \
             SELECT '{id}', {dossier}, 'online', 'sandbox', '{id}', amount_vnd, '{status}', \
             created_by, {at}, {at}, {at}, FALSE, 0 FROM payments WHERE id = '{first}'"
        )
    };
    for statement in [
        copy(
            "zzz-second-success",
            paid_dossier,
            "success",
            "2099-01-01 00:00:00",
        ),
        format!("UPDATE dossiers SET fees_paid_vnd = fees_paid_vnd * 2 WHERE id = {paid_dossier}"),
        copy(
            "zzz-open-older",
            open_dossier,
            "started",
            "2026-01-01 00:00:00",
        ),
        copy(
            "zzz-open-newer",
            open_dossier,
            "started",
            "2026-01-02 00:00:00",
        ),
    ] {
        diesel::sql_query(statement).execute(conn).unwrap();
    }
}
