//! Notification messages: one per (event, channel), claimed by one process
//! at a time, recorded only by the process holding the claim.

use chrono::{Duration, Utc};
use motcua_domain::event::EventType;
use motcua_domain::notification::{Channel, Status};
use motcua_persistence::Pool;
use motcua_persistence::repo::events::{self, Cursor, NewEvent};
use motcua_persistence::repo::notifications::{self as store, NewNotification, Outcome};
use motcua_persistence::write_tx;

crate::on_both_backends!(messages_are_unique_claimed_once_and_recorded_by_their_claimant);

fn message(event_id: &str, now: chrono::DateTime<Utc>) -> NewNotification<'_> {
    NewNotification {
        event_id,
        event_type: EventType::DossierReceived,
        dossier_code: Some("H-0"),
        applicant_id: None,
        channel: Channel::Sms,
        recipient: "0905123456",
        subject: None,
        body: "Hồ sơ H-0 đã được tiếp nhận.",
        status: Status::Queued,
        last_error: None,
        at: now,
    }
}

fn messages_are_unique_claimed_once_and_recorded_by_their_claimant(pool: &Pool) {
    let mut conn = pool.get().unwrap();
    let now = Utc::now();
    let mut ids = Vec::new();
    for n in 0..4 {
        let id = uuid::Uuid::new_v4().to_string();
        events::append(
            &mut conn,
            &NewEvent {
                id: &id,
                event_type: EventType::DossierReceived,
                version: 1,
                subject: &format!("H-{n}"),
                agency_id: None,
                occurred_at: now,
                payload: "{}",
            },
        )
        .unwrap();
        ids.push(id);
    }
    for id in &ids {
        assert!(store::insert(&mut conn, &message(id, now)).unwrap());
    }
    // The same event and channel again: nothing inserted.
    assert!(!store::insert(&mut conn, &message(&ids[0], now)).unwrap());
    assert_eq!(store::of_dossier(&mut conn, "H-0").unwrap().len(), 4);

    // Two processes claim: disjoint sets, and nothing left for a third.
    let lease = Duration::minutes(5);
    let mut other = pool.get().unwrap();
    let a = store::claim_due(&mut conn, "a", now, lease, 2).unwrap();
    let b = store::claim_due(&mut other, "b", now, lease, 10).unwrap();
    assert_eq!((a.len(), b.len()), (2, 2));
    assert!(a.iter().all(|m| b.iter().all(|n| n.id != m.id)));
    assert!(
        store::claim_due(&mut conn, "c", now, lease, 10)
            .unwrap()
            .is_empty()
    );

    // Only the claimant records; a retry comes back once due; a lapsed lease is taken over.
    assert!(!store::record(&mut conn, a[0].id, "b", now, Outcome::Sent).unwrap());
    assert!(store::record(&mut conn, a[0].id, "a", now, Outcome::Sent).unwrap());
    let later = now + Duration::seconds(30);
    assert!(store::record(&mut conn, a[1].id, "a", now, Outcome::RetryAt(later, "503")).unwrap());
    assert!(
        store::claim_due(&mut conn, "c", now, lease, 10)
            .unwrap()
            .is_empty()
    );
    let retried = store::claim_due(&mut conn, "c", later, lease, 10).unwrap();
    assert_eq!(
        retried.iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![a[1].id]
    );
    assert_eq!(retried[0].attempts, 1);
    assert_eq!(retried[0].last_error.as_deref(), Some("503"));
    let taken_over =
        store::claim_due(&mut conn, "d", now + Duration::minutes(6), lease, 10).unwrap();
    assert_eq!(
        taken_over.len(),
        3,
        "b's two and c's one: their leases lapsed"
    );
    assert!(store::record(&mut conn, b[0].id, "d", now, Outcome::Failed("gave up")).unwrap());
    let all = store::of_dossier(&mut conn, "H-0").unwrap();
    let status = |id| all.iter().find(|m| m.id == id).unwrap().status;
    assert_eq!(status(a[0].id), Status::Sent);
    assert_eq!(status(b[0].id), Status::Failed);

    // The cursor starts at the start on an empty feed and moves under its lock.
    write_tx(&mut conn, |c| {
        assert_eq!(store::lock_cursor(c)?, Cursor::START);
        store::set_cursor(c, Cursor { tx: 5, position: 9 })
    })
    .unwrap();
    let moved = write_tx(&mut conn, store::lock_cursor).unwrap();
    assert_eq!(moved, Cursor { tx: 5, position: 9 });
}
