use chrono::{Duration, TimeZone, Utc};
use diesel::Connection;
use diesel_migrations::MigrationHarness;
use motcua_domain::Role;
use motcua_domain::agency::NewAgency;
use motcua_domain::page::PageRequest;
use motcua_domain::procedure::AdminLevel;
use motcua_persistence::repo::{agencies, applicants, rate_limits, sessions, users};
use motcua_persistence::{Pool, StoreError, db};

use crate::on_both_backends;

on_both_backends!(
    migrations_are_current_and_reversible,
    agencies_are_unique_by_code,
    users_and_credentials,
    refresh_rotation_detects_reuse,
    rate_limit_windows,
    concurrent_writers_queue_instead_of_failing,
    timestamps_round_trip_at_microseconds,
);

fn migrations_are_current_and_reversible(pool: &Pool) {
    let mut conn = pool.get().unwrap();
    assert!(db::migrations_current(&mut conn).unwrap());
    // The `diesel migration redo` of every migration: all down, then all up.
    conn.revert_all_migrations(db::migrations_for(conn.backend()))
        .unwrap();
    assert!(!db::migrations_current(&mut conn).unwrap());
    let applied = db::run_migrations(&mut conn).unwrap();
    assert!(!applied.is_empty());
    assert!(db::migrations_current(&mut conn).unwrap());
}

fn department() -> NewAgency {
    NewAgency {
        code: "000.00.20.H56".into(),
        name: "Sở Văn hóa, Thể thao và Du lịch".into(),
        level: AdminLevel::Province,
        parent_id: None,
        receiving_point: false,
    }
}

fn agencies_are_unique_by_code(pool: &Pool) {
    let mut conn = pool.get().unwrap();
    let dept = agencies::insert(&mut conn, &department(), chrono::Utc::now()).unwrap();
    assert_eq!(dept.code, "000.00.20.H56");
    let division = agencies::insert(
        &mut conn,
        &NewAgency {
            code: "000.01.20.H56".into(),
            name: "Phòng Quản lý Văn hóa".into(),
            level: AdminLevel::Province,
            parent_id: Some(dept.id),
            receiving_point: false,
        },
        chrono::Utc::now(),
    )
    .unwrap();
    assert_eq!(division.parent_id, Some(dept.id));
    let err = agencies::insert(&mut conn, &department(), chrono::Utc::now()).unwrap_err();
    assert!(err.is_conflict_on("code"), "{err:?}");
    assert_eq!(
        agencies::by_code(&mut conn, "000.01.20.H56").unwrap().name,
        "Phòng Quản lý Văn hóa"
    );
    assert!(matches!(
        agencies::by_code(&mut conn, "nope"),
        Err(StoreError::NotFound)
    ));
    assert_eq!(agencies::list(&mut conn).unwrap().len(), 2);
    // A parent that does not exist is refused by the foreign key (on SQLite too).
    let orphan = NewAgency {
        code: "000.02.20.H56".into(),
        parent_id: Some(9999),
        receiving_point: false,
        ..department()
    };
    assert!(matches!(
        agencies::insert(&mut conn, &orphan, chrono::Utc::now()),
        Err(StoreError::Conflict(_))
    ));
}

fn users_and_credentials(pool: &Pool) {
    let mut conn = pool.get().unwrap();
    let applicant = applicants::insert_person(
        &mut conn,
        &applicants::NewPerson {
            id_number: "079203001234",
            full_name: "Nguyễn Văn An",
            phone: Some("0912345678"),
            ..Default::default()
        },
        chrono::Utc::now(),
    )
    .unwrap();
    let new = users::NewUser {
        username: "079203001234",
        password_hash: "$argon2id$fake",
        role: Role::Citizen,
        agency_id: None,
        applicant_id: Some(applicant.id),
        full_name: "Nguyễn Văn An",
        phone: Some("0912345678"),
        email: None,
        demo: false,
    };
    let user = users::insert(&mut conn, &new, chrono::Utc::now()).unwrap();
    assert_eq!(user.role, Role::Citizen);
    assert!(user.active);
    let (found, hash) = users::credentials(&mut conn, "079203001234")
        .unwrap()
        .unwrap();
    assert_eq!(found.id, user.id);
    assert_eq!(hash, "$argon2id$fake");
    assert!(users::credentials(&mut conn, "nobody").unwrap().is_none());
    let err = users::insert(
        &mut conn,
        &users::NewUser {
            applicant_id: None,
            ..new.clone()
        },
        chrono::Utc::now(),
    )
    .unwrap_err();
    assert!(err.is_conflict_on("username"), "{err:?}");

    let changed = users::update(
        &mut conn,
        user.id,
        users::UserChanges {
            active: Some(false),
            ..Default::default()
        },
        chrono::Utc::now(),
    )
    .unwrap();
    assert!(!changed.active);
    let page = users::list(
        &mut conn,
        &users::UserFilter {
            q: Some("văn an".into()),
            ..Default::default()
        },
        PageRequest::default(),
    )
    .unwrap();
    assert_eq!(page.total, 1);
    assert!(matches!(
        users::update(
            &mut conn,
            999,
            users::UserChanges::default(),
            chrono::Utc::now()
        ),
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        applicants::by_id_number(&mut conn, "079203001234")
            .unwrap()
            .unwrap()
            .id,
        applicant.id
    );
}

fn make_user(conn: &mut motcua_persistence::AnyConnection, name: &str) -> i64 {
    users::insert(
        conn,
        &users::NewUser {
            username: name,
            password_hash: "x",
            role: Role::Admin,
            agency_id: None,
            applicant_id: None,
            full_name: name,
            phone: None,
            email: None,
            demo: false,
        },
        chrono::Utc::now(),
    )
    .unwrap()
    .id
}

fn refresh_rotation_detects_reuse(pool: &Pool) {
    let mut conn = pool.get().unwrap();
    let user = make_user(&mut conn, "admin1");
    // Any instant: sessions judge expiry at the time they are given.
    let now = Utc.with_ymd_and_hms(2026, 1, 5, 8, 0, 0).unwrap();
    let later = now + Duration::days(1);
    sessions::insert(
        &mut conn,
        &sessions::NewToken {
            user_id: user,
            family_id: "fam",
            token_hash: "h1",
            created_at: now,
            expires_at: later,
        },
    )
    .unwrap();
    let rotated = sessions::consume(&mut conn, "h1", now).unwrap();
    assert_eq!(
        rotated,
        sessions::Rotation::Rotated {
            user_id: user,
            family_id: "fam".into()
        }
    );
    sessions::insert(
        &mut conn,
        &sessions::NewToken {
            user_id: user,
            family_id: "fam",
            token_hash: "h2",
            created_at: now,
            expires_at: later,
        },
    )
    .unwrap();
    // h1 again: reuse; the whole family, h2 included, is revoked.
    assert_eq!(
        sessions::consume(&mut conn, "h1", now).unwrap(),
        sessions::Rotation::Reused
    );
    assert_eq!(
        sessions::consume(&mut conn, "h2", now).unwrap(),
        sessions::Rotation::Revoked
    );
    assert_eq!(
        sessions::consume(&mut conn, "nope", now).unwrap(),
        sessions::Rotation::Unknown
    );

    let past = now - Duration::seconds(1);
    sessions::insert(
        &mut conn,
        &sessions::NewToken {
            user_id: user,
            family_id: "old",
            token_hash: "h3",
            created_at: now,
            expires_at: past,
        },
    )
    .unwrap();
    assert_eq!(
        sessions::consume(&mut conn, "h3", now).unwrap(),
        sessions::Rotation::Expired
    );

    sessions::insert(
        &mut conn,
        &sessions::NewToken {
            user_id: user,
            family_id: "f2",
            token_hash: "h4",
            created_at: now,
            expires_at: later,
        },
    )
    .unwrap();
    assert!(sessions::revoke_by_token(&mut conn, "h4", now).unwrap());
    assert_eq!(
        sessions::consume(&mut conn, "h4", now).unwrap(),
        sessions::Rotation::Revoked
    );
    assert!(!sessions::revoke_by_token(&mut conn, "zzz", now).unwrap());
}

fn rate_limit_windows(pool: &Pool) {
    let mut conn = pool.get().unwrap();
    let window = Duration::minutes(15);
    let t0 = Utc.with_ymd_and_hms(2026, 1, 5, 8, 0, 0).unwrap();
    assert_eq!(
        rate_limits::current(&mut conn, "login", "an", window, t0).unwrap(),
        None
    );
    for expected in 1..=3 {
        let w = rate_limits::hit(
            &mut conn,
            "login",
            "an",
            window,
            t0 + Duration::minutes(expected.into()),
        )
        .unwrap();
        assert_eq!(w.hits, expected);
        assert_eq!(w.resets_at, t0 + Duration::minutes(16));
    }
    assert_eq!(
        rate_limits::current(&mut conn, "login", "an", window, t0 + Duration::minutes(5))
            .unwrap()
            .unwrap()
            .hits,
        3
    );
    // After the window, the count starts again.
    let later = t0 + Duration::minutes(40);
    assert_eq!(
        rate_limits::current(&mut conn, "login", "an", window, later).unwrap(),
        None
    );
    assert_eq!(
        rate_limits::hit(&mut conn, "login", "an", window, later)
            .unwrap()
            .hits,
        1
    );
    rate_limits::clear(&mut conn, "login", "an").unwrap();
    assert_eq!(
        rate_limits::current(&mut conn, "login", "an", window, later).unwrap(),
        None
    );
}

fn concurrent_writers_queue_instead_of_failing(pool: &Pool) {
    let threads: Vec<_> = (0..6)
        .map(|_| {
            let pool = pool.clone();
            std::thread::spawn(move || {
                let mut conn = pool.get().unwrap();
                for _ in 0..15 {
                    rate_limits::hit(&mut conn, "b", "shared", Duration::hours(1), Utc::now())
                        .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let mut conn = pool.get().unwrap();
    assert_eq!(
        rate_limits::current(&mut conn, "b", "shared", Duration::hours(1), Utc::now())
            .unwrap()
            .unwrap()
            .hits,
        90
    );
}

fn timestamps_round_trip_at_microseconds(pool: &Pool) {
    let mut conn = pool.get().unwrap();
    let user = make_user(&mut conn, "admin2");
    let at = Utc.timestamp_opt(1_767_000_000, 123_456_789).unwrap();
    sessions::insert(
        &mut conn,
        &sessions::NewToken {
            user_id: user,
            family_id: "t",
            token_hash: "ht",
            created_at: at,
            expires_at: at,
        },
    )
    .unwrap();
    let got = conn
        .transaction::<_, diesel::result::Error, _>(|c| {
            use diesel::prelude::*;
            use motcua_persistence::schema::refresh_tokens::dsl::*;
            refresh_tokens
                .filter(token_hash.eq("ht"))
                .select(expires_at)
                .first::<chrono::NaiveDateTime>(c)
        })
        .unwrap();
    assert_eq!(
        motcua_persistence::time::from_db(got),
        motcua_persistence::time::from_db(motcua_persistence::time::to_db(at))
    );
    assert_eq!(got.and_utc().timestamp_subsec_nanos(), 123_456_000);
}
