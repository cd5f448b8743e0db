//! The outbox's change feed: many writers committing in any order, a reader
//! polling as fast as it can, and the reader sees every committed event once,
//! in order, and none of a rolled-back change.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use motcua_domain::event::{EventType, SubjectKind};
use motcua_persistence::repo::events::{self, Cursor, FeedFilter, NewEvent};
use motcua_persistence::{Backend, Pool, StoreError, write_tx};

use crate::on_both_backends;

on_both_backends!(
    concurrent_writers_reach_a_polling_reader_once_in_order,
    a_late_commit_with_a_lower_position_is_not_skipped,
    filters_by_type_and_agency,
    record_keeps_the_typed_payload_and_the_oldest_is_seen_past_the_horizon,
);

const WRITERS: usize = 6;
const TRANSACTIONS: usize = 40;

fn event<'a>(id: &'a str, subject: &'a str, payload: &'a str) -> NewEvent<'a> {
    NewEvent {
        id,
        event_type: EventType::DossierReceived,
        version: 1,
        subject,
        agency_id: None,
        occurred_at: chrono::Utc::now(),
        payload,
    }
}

/// Each writer commits `TRANSACTIONS` transactions of two events (every
/// fifth one rolls back), pausing inside the transaction so that commits
/// land out of position order; the reader polls with a small page.
fn concurrent_writers_reach_a_polling_reader_once_in_order(pool: &Pool) {
    for trial in 0..3 {
        // How many events the writers committed, once they all have.
        let expected = Arc::new(AtomicUsize::new(usize::MAX));
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let pool = pool.clone();
                std::thread::spawn(move || write_many(&pool, trial, w))
            })
            .collect();
        let reader = {
            let (pool, expected) = (pool.clone(), expected.clone());
            std::thread::spawn(move || read_until_caught_up(&pool, trial, &expected))
        };
        let mut committed = HashSet::new();
        for writer in writers {
            committed.extend(writer.join().unwrap());
        }
        expected.store(committed.len(), Ordering::SeqCst);
        let seen = reader.join().unwrap();

        let ids: Vec<&str> = seen.iter().map(|e| e.id.as_str()).collect();
        let unique: HashSet<&str> = ids.iter().copied().collect();
        assert_eq!(
            unique.len(),
            ids.len(),
            "trial {trial}: an event seen twice"
        );
        let of_trial: HashSet<String> = unique
            .iter()
            .filter(|id| id.starts_with(&format!("t{trial}-")))
            .map(|id| (*id).to_owned())
            .collect();
        assert_eq!(of_trial, committed, "trial {trial}: seen ≠ committed");
        assert!(
            seen.windows(2).all(|w| w[0].cursor < w[1].cursor),
            "trial {trial}: cursors not increasing"
        );
        // Each writer's own events arrive in the order it committed them.
        let mut last: HashMap<String, usize> = HashMap::new();
        for e in seen
            .iter()
            .filter(|e| e.id.starts_with(&format!("t{trial}-")))
        {
            let n: usize = e.payload.parse().unwrap();
            if let Some(previous) = last.insert(e.subject.clone(), n) {
                assert!(
                    previous < n,
                    "trial {trial}: {} went {previous} → {n}",
                    e.subject
                );
            }
        }
    }
}

fn write_many(pool: &Pool, trial: usize, writer: usize) -> Vec<String> {
    let mut conn = pool.get().unwrap();
    let subject = format!("writer-{writer}");
    let mut committed = Vec::new();
    for t in 0..TRANSACTIONS {
        let ids = [
            format!("t{trial}-{writer}-{t}-a"),
            format!("t{trial}-{writer}-{t}-b"),
        ];
        let rolled_back = t % 5 == 4;
        let result: Result<(), StoreError> = write_tx(&mut conn, |conn| {
            events::append(conn, &event(&ids[0], &subject, &(2 * t).to_string()))?;
            // Hold the transaction open a little, so later positions commit first.
            std::thread::sleep(Duration::from_micros(
                ((writer * 7 + t * 13) % 5) as u64 * 400,
            ));
            events::append(conn, &event(&ids[1], &subject, &(2 * t + 1).to_string()))?;
            if rolled_back {
                return Err(StoreError::Conflict("rolled back on purpose".into()));
            }
            Ok(())
        });
        match result {
            Ok(()) => committed.extend(ids),
            Err(StoreError::Conflict(_)) if rolled_back => {}
            Err(other) => panic!("writer {writer}: {other}"),
        }
    }
    committed
}

/// Polls as fast as it can until it has seen every committed event of the
/// trial, then a few more times (a duplicate would show up there). The
/// PostgreSQL horizon is the whole server's oldest running transaction, so
/// other databases' work may delay (never reorder) what the reader sees.
fn read_until_caught_up(
    pool: &Pool,
    trial: usize,
    expected: &AtomicUsize,
) -> Vec<events::StoredEvent> {
    let mut conn = pool.get().unwrap();
    let mut cursor = Cursor::START;
    let mut seen = Vec::new();
    let mut extra_polls = 0;
    let prefix = format!("t{trial}-");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (page, next) =
            events::read_after(&mut conn, cursor, &FeedFilter::default(), 7).unwrap();
        assert!(next >= cursor, "the cursor went back");
        cursor = next;
        seen.extend(page);
        let of_trial = seen.iter().filter(|e| e.id.starts_with(&prefix)).count();
        if of_trial >= expected.load(Ordering::SeqCst) {
            extra_polls += 1;
            if extra_polls > 20 {
                return seen;
            }
        }
        assert!(
            Instant::now() < deadline,
            "trial {trial}: the feed never caught up"
        );
    }
}

/// Reads from `cursor` until `want` events arrived (the horizon may hold
/// them back while other transactions on the server run).
fn drain(pool: &Pool, cursor: Cursor, want: usize) -> Vec<String> {
    let found = drain_filtered(pool, cursor, &FeedFilter::default(), want);
    found.into_iter().map(|e| e.id).collect()
}

fn drain_filtered(
    pool: &Pool,
    mut cursor: Cursor,
    filter: &FeedFilter,
    want: usize,
) -> Vec<events::StoredEvent> {
    let mut conn = pool.get().unwrap();
    let mut found = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while found.len() < want && Instant::now() < deadline {
        let (page, next) = events::read_after(&mut conn, cursor, filter, 10).unwrap();
        cursor = next;
        found.extend(page);
    }
    found
}

/// PostgreSQL: A takes position 1 and stays open, B takes position 2 and
/// commits. A feed ordered by position alone would hand out 2 and move past
/// 1 for good; ours shows nothing until A ends, then 1 and 2 in order.
/// SQLite cannot run A and B at once (one writer), so there it checks the plain order.
fn a_late_commit_with_a_lower_position_is_not_skipped(pool: &Pool) {
    let mut a = pool.get().unwrap();
    let mut b = pool.get().unwrap();
    let mut reader = pool.get().unwrap();
    let all = FeedFilter::default();
    if a.backend() == Backend::Postgres {
        a.batch_execute("BEGIN").unwrap();
        events::append(&mut a, &event("late", "a", "1")).unwrap();
        events::append(&mut b, &event("early", "b", "2")).unwrap();
        let (page, cursor) = events::read_after(&mut reader, Cursor::START, &all, 10).unwrap();
        assert!(
            page.is_empty(),
            "nothing is safe to hand out while A runs: {page:?}"
        );
        assert_eq!(cursor, Cursor::START);
        a.batch_execute("COMMIT").unwrap();
        assert_eq!(drain(pool, cursor, 2), ["late", "early"]);
    } else {
        events::append(&mut a, &event("first", "a", "1")).unwrap();
        events::append(&mut b, &event("second", "b", "2")).unwrap();
        assert_eq!(drain(pool, Cursor::START, 2), ["first", "second"]);
    }
    // A rolled-back change leaves no event.
    let rolled: Result<(), StoreError> = write_tx(&mut a, |conn| {
        events::append(conn, &event("never", "a", "3"))?;
        Err(StoreError::Conflict("undo".into()))
    });
    assert!(rolled.is_err());
    assert!(
        events::of_subject(&mut reader, SubjectKind::Dossier, "a")
            .unwrap()
            .iter()
            .all(|e| e.id != "never")
    );
}

fn filters_by_type_and_agency(pool: &Pool) {
    use diesel::prelude::*;
    use motcua_persistence::schema::agencies;
    let conn = &mut pool.get().unwrap();
    let agency: i64 = agencies::table
        .select(agencies::id)
        .first(conn)
        .unwrap_or_else(|_| {
            diesel::insert_into(agencies::table)
                .values((
                    agencies::code.eq("T01"),
                    agencies::name.eq("Sở thử"),
                    agencies::level.eq("province"),
                    agencies::created_at.eq(chrono::Utc::now().naive_utc()),
                ))
                .returning(agencies::id)
                .get_result(conn)
                .unwrap()
        });
    let paid = NewEvent {
        event_type: EventType::PaymentPaid,
        agency_id: Some(agency),
        ..event("paid", "p-1", "{}")
    };
    events::append(conn, &event("received", "D-1", "{}")).unwrap();
    events::append(conn, &paid).unwrap();
    let only_paid = FeedFilter {
        types: vec![EventType::PaymentPaid],
        ..FeedFilter::default()
    };
    // Both visible to an unfiltered reader first (the PostgreSQL horizon may lag).
    assert_eq!(drain(pool, Cursor::START, 2), ["received", "paid"]);
    let page = drain_filtered(pool, Cursor::START, &only_paid, 1);
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].subject_kind, SubjectKind::Payment);
    let (again, next) = events::read_after(conn, Cursor::START, &only_paid, 10).unwrap();
    assert_eq!(again, page);
    assert_eq!(next, page[0].cursor);
    let of_agency = FeedFilter {
        types: vec![],
        agency_ids: Some(vec![agency]),
        with_unassigned: false,
    };
    let (page, _) = events::read_after(conn, Cursor::START, &of_agency, 10).unwrap();
    assert_eq!(
        page.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        ["paid"]
    );
    let nobody = FeedFilter {
        types: vec![],
        agency_ids: Some(vec![]),
        with_unassigned: false,
    };
    assert!(
        events::read_after(conn, Cursor::START, &nobody, 10)
            .unwrap()
            .0
            .is_empty()
    );
    let with_unassigned = FeedFilter {
        with_unassigned: true,
        ..of_agency
    };
    let (page, _) = events::read_after(conn, Cursor::START, &with_unassigned, 10).unwrap();
    assert_eq!(
        page.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        ["received", "paid"]
    );
}

/// `record` makes the id (a UUID) and the payload's JSON once; `oldest_after`
/// (the metrics' lag) follows the same filters as the feed but, unlike the
/// feed, sees an event held back by the PostgreSQL horizon: it is late all
/// the same.
fn record_keeps_the_typed_payload_and_the_oldest_is_seen_past_the_horizon(pool: &Pool) {
    use motcua_domain::event::PaymentEventData;
    use motcua_domain::payment::PaymentStatus;
    let conn = &mut pool.get().unwrap();
    let data = PaymentEventData {
        payment_id: "p-9".into(),
        dossier_code: "D-9".into(),
        amount_vnd: 150_000,
        status: PaymentStatus::Success,
        method: None,
        failure_code: None,
        refund_id: None,
        refunded_vnd: None,
    };
    let at = chrono::DateTime::parse_from_rfc3339("2027-03-01T01:00:00Z")
        .unwrap()
        .to_utc();
    let all = FeedFilter::default();
    let only_received = FeedFilter {
        types: vec![EventType::DossierReceived],
        ..FeedFilter::default()
    };
    assert_eq!(
        events::oldest_after(conn, Cursor::START, &all).unwrap(),
        None
    );

    let mut holder = pool.get().unwrap();
    let held = holder.backend() == Backend::Postgres;
    if held {
        // Another transaction with an id holds the horizon back.
        holder
            .batch_execute("BEGIN; SELECT txid_current();")
            .unwrap();
    }
    let id = events::record(conn, EventType::PaymentPaid, "p-9", None, at, &data).unwrap();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    if held {
        let (page, _) = events::read_after(conn, Cursor::START, &all, 10).unwrap();
        assert!(page.is_empty(), "the feed waits for the horizon");
    }
    assert_eq!(
        events::oldest_after(conn, Cursor::START, &all).unwrap(),
        Some(at),
        "the lag counts it already"
    );
    assert_eq!(
        events::oldest_after(conn, Cursor::START, &only_received).unwrap(),
        None
    );
    if held {
        holder.batch_execute("COMMIT").unwrap();
    }
    let stored = events::of_subject(conn, SubjectKind::Payment, "p-9").unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].id, id);
    assert_eq!(stored[0].version, 1);
    assert_eq!(stored[0].event_type, EventType::PaymentPaid);
    let back: PaymentEventData = serde_json::from_str(&stored[0].payload).unwrap();
    assert_eq!(back, data);
    // Past its own cursor, nothing is old.
    assert_eq!(
        events::oldest_after(conn, stored[0].cursor, &all).unwrap(),
        None
    );
    assert_eq!(events::count(conn).unwrap(), 1);
}
