use chrono::NaiveDate;
use motcua_domain::agency::NewAgency;
use motcua_domain::page::PageRequest;
use motcua_domain::procedure::*;
use motcua_domain::search::SearchQuery;
use motcua_persistence::repo::agencies;
use motcua_persistence::repo::procedures::{self, ImportOutcome, ProcedureFilter};
use motcua_persistence::{AnyConnection, Pool, StoreError};

use crate::on_both_backends;

fn sys() -> motcua_domain::audit::Actor {
    motcua_domain::audit::Actor::system("test")
}

on_both_backends!(
    create_update_abolish,
    search_is_accent_and_case_insensitive,
    filters_and_sectors,
    import_is_all_or_nothing,
);

pub fn spec(code: &str, name: &str, sector: &str) -> ProcedureSpec {
    ProcedureSpec {
        code: code.into(),
        name: name.into(),
        sector: sector.into(),
        levels: vec![AdminLevel::Province],
        regulated_days: 5,
        committed_days: 4,
        time_unit: TimeUnit::WorkingDays,
        steps: vec!["Nộp hồ sơ".into(), "Trả kết quả".into()],
        required_documents: vec![RequiredDocument {
            code: String::new(),
            name: "Văn bản đề nghị".into(),
            originals: 1,
            copies: 0,
            template: None,
            reusable: false,
            optional: false,
        }],
        fees: vec![],
        legal_basis: vec!["Nghị định số 144/2020/NĐ-CP".into()],
        result: "Văn bản chấp thuận".into(),
        applicant_types: vec![ApplicantKind::Organization],
        online_level: OnlineLevel::Full,
        inter_agency: false,
        supplement_clock: SupplementClock::Pause,
        correction_days: None,
        status: ProcedureStatus::Active,
        effective_date: NaiveDate::from_ymd_opt(2021, 2, 1).unwrap(),
        agency_code: None,
    }
    .prepared()
    .unwrap()
}

fn department(conn: &mut AnyConnection) -> i64 {
    agencies::insert(
        conn,
        &NewAgency {
            code: "000.00.20.H56".into(),
            name: "Sở VHTTDL".into(),
            level: AdminLevel::Province,
            parent_id: None,
            receiving_point: false,
        },
        chrono::Utc::now(),
    )
    .unwrap()
    .id
}

fn create_update_abolish(pool: &Pool) {
    let mut conn = pool.get().unwrap();
    let dept = department(&mut conn);
    let s = spec(
        "1.001029",
        "Cấp giấy phép tổ chức biểu diễn nghệ thuật",
        "Nghệ thuật biểu diễn",
    );
    let created =
        procedures::create(&mut conn, &s, Some(dept), &sys(), chrono::Utc::now()).unwrap();
    assert_eq!(created.version, 1);
    assert_eq!(created.sector_code, "nghe-thuat-bieu-dien");
    assert_eq!(created.agency.as_ref().unwrap().id, dept);
    assert_eq!(created.spec, s);
    assert!(
        procedures::create(&mut conn, &s, Some(dept), &sys(), chrono::Utc::now())
            .unwrap_err()
            .is_conflict_on("code")
    );

    let mut changed = s.clone();
    changed.committed_days = 3;
    let updated =
        procedures::update(&mut conn, &changed, Some(dept), &sys(), chrono::Utc::now()).unwrap();
    assert_eq!(updated.version, 2);
    assert_eq!(updated.spec.committed_days, 3);
    assert_eq!(updated.created_at, created.created_at);

    let abolished = procedures::abolish(&mut conn, "1.001029", &sys(), chrono::Utc::now()).unwrap();
    assert_eq!(abolished.spec.status, ProcedureStatus::Abolished);
    assert!(abolished.abolished_at.is_some());
    // Still readable, out of the default listing, in the abolished one.
    assert_eq!(
        procedures::get(&mut conn, "1.001029").unwrap().id,
        created.id
    );
    let default = procedures::list(
        &mut conn,
        &ProcedureFilter::default(),
        PageRequest::default(),
    )
    .unwrap();
    assert_eq!(default.total, 0);
    let filter = ProcedureFilter {
        status: Some(StatusFilter::Abolished),
        ..Default::default()
    };
    assert_eq!(
        procedures::list(&mut conn, &filter, PageRequest::default())
            .unwrap()
            .total,
        1
    );
    assert!(matches!(
        procedures::get(&mut conn, "9.999999"),
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        procedures::update(
            &mut conn,
            &spec("9.999999", "X", "Y"),
            None,
            &sys(),
            chrono::Utc::now()
        ),
        Err(StoreError::NotFound)
    ));
}

fn seed(conn: &mut AnyConnection) {
    let dept = department(conn);
    let rows = [
        (
            "1.001029",
            "Cấp giấy phép tổ chức biểu diễn nghệ thuật",
            "Nghệ thuật biểu diễn",
        ),
        (
            "1.001030",
            "Thông báo tổ chức biểu diễn nghệ thuật",
            "Nghệ thuật biểu diễn",
        ),
        (
            "1.004628",
            "Cấp giấy phép kinh doanh dịch vụ lữ hành nội địa",
            "Du lịch",
        ),
        ("1.003644", "Đăng ký tổ chức lễ hội", "Văn hóa cơ sở"),
        (
            "1.001819",
            "Cấp giấy chứng nhận đủ điều kiện kinh doanh hoạt động thể thao",
            "Thể dục, thể thao",
        ),
    ];
    for (code, name, sector) in rows {
        procedures::create(
            conn,
            &spec(code, name, sector),
            Some(dept),
            &sys(),
            chrono::Utc::now(),
        )
        .unwrap();
    }
}

fn codes(page: &motcua_domain::page::Page<ProcedureRecord>) -> Vec<&str> {
    page.items.iter().map(|p| p.spec.code.as_str()).collect()
}

fn search_is_accent_and_case_insensitive(pool: &Pool) {
    let mut conn = pool.get().unwrap();
    seed(&mut conn);
    let find = |conn: &mut AnyConnection, q: &str| {
        let filter = ProcedureFilter {
            query: SearchQuery::parse(q),
            ..Default::default()
        };
        procedures::list(conn, &filter, PageRequest::default()).unwrap()
    };
    let found = find(&mut conn, "giay phep bieu dien");
    assert_eq!(codes(&found), ["1.001029"]);
    assert_eq!(found.total, 1);
    // Ranked: the phrase earlier in the name first.
    assert_eq!(
        codes(&find(&mut conn, "BIỂU DIỄN")),
        ["1.001030", "1.001029"]
    );
    assert_eq!(codes(&find(&mut conn, "dang ky le hoi")), ["1.003644"]);
    assert_eq!(codes(&find(&mut conn, "Đăng Ký")), ["1.003644"]);
    assert_eq!(codes(&find(&mut conn, "1.004628")), ["1.004628"]);
    assert_eq!(codes(&find(&mut conn, "the thao")), ["1.001819"]);
    assert!(find(&mut conn, "karaoke").items.is_empty());
    // Matches word starts, not the middle of words.
    assert!(find(&mut conn, "ieu").items.is_empty());
    // Paging over ranked results.
    let filter = ProcedureFilter {
        query: SearchQuery::parse("cap"),
        ..Default::default()
    };
    let page2 = procedures::list(
        &mut conn,
        &filter,
        PageRequest::new(Some(2), Some(1)).unwrap(),
    )
    .unwrap();
    assert_eq!(page2.total, 3);
    assert_eq!(page2.items.len(), 1);
}

fn filters_and_sectors(pool: &Pool) {
    let mut conn = pool.get().unwrap();
    seed(&mut conn);
    let mut commune = spec("2.000001", "Công nhận gia đình văn hóa", "Văn hóa cơ sở");
    commune.levels = vec![AdminLevel::Commune];
    commune.online_level = OnlineLevel::None;
    procedures::create(&mut conn, &commune, None, &sys(), chrono::Utc::now()).unwrap();
    let list = |conn: &mut AnyConnection, filter: ProcedureFilter| {
        procedures::list(conn, &filter, PageRequest::default()).unwrap()
    };
    assert_eq!(
        list(
            &mut conn,
            ProcedureFilter {
                sector: Some("nghe-thuat-bieu-dien".into()),
                ..Default::default()
            }
        )
        .total,
        2
    );
    assert_eq!(
        codes(&list(
            &mut conn,
            ProcedureFilter {
                level: Some(AdminLevel::Commune),
                ..Default::default()
            }
        )),
        ["2.000001"]
    );
    assert_eq!(
        list(
            &mut conn,
            ProcedureFilter {
                online: Some(OnlineFilter::Any),
                ..Default::default()
            }
        )
        .total,
        5
    );
    assert_eq!(
        list(
            &mut conn,
            ProcedureFilter {
                online: Some(OnlineFilter::None),
                ..Default::default()
            }
        )
        .total,
        1
    );
    let all = list(&mut conn, ProcedureFilter::default());
    assert_eq!(all.total, 6);
    // Default order: by folded name.
    assert_eq!(
        all.items[0].spec.name,
        "Cấp giấy chứng nhận đủ điều kiện kinh doanh hoạt động thể thao"
    );
    assert!(
        all.items
            .iter()
            .find(|p| p.spec.code == "2.000001")
            .unwrap()
            .agency
            .is_none()
    );

    procedures::abolish(&mut conn, "1.001030", &sys(), chrono::Utc::now()).unwrap();
    let sectors = procedures::sectors_with_counts(&mut conn).unwrap();
    let count = |code: &str| {
        sectors
            .iter()
            .find(|s| s.code == code)
            .unwrap()
            .procedure_count
    };
    assert_eq!(count("nghe-thuat-bieu-dien"), 1);
    assert_eq!(count("van-hoa-co-so"), 2);
    assert_eq!(
        sectors.iter().find(|s| s.code == "du-lich").unwrap().name,
        "Du lịch"
    );
}

fn import_is_all_or_nothing(pool: &Pool) {
    let mut conn = pool.get().unwrap();
    let dept = department(&mut conn);
    procedures::create(
        &mut conn,
        &spec("1.001029", "Tên cũ", "Nghệ thuật biểu diễn"),
        Some(dept),
        &sys(),
        chrono::Utc::now(),
    )
    .unwrap();
    let mut bad = spec("1.000002", "Hai", "Du lịch");
    bad.committed_days = 10;
    let mut unknown_agency = spec("1.000003", "Ba", "Du lịch");
    unknown_agency.agency_code = Some("000.99.99.H99".into());
    let inputs = vec![
        Ok(spec("1.001029", "Tên mới", "Nghệ thuật biểu diễn")),
        Ok(bad),
        Ok(unknown_agency),
        Ok(spec("1.000004", "Bốn", "Du lịch")),
        Ok(spec("1.000004", "Bốn lặp", "Du lịch")),
    ];
    let report =
        procedures::import(&mut conn, inputs, Some(dept), 0, &sys(), chrono::Utc::now()).unwrap();
    assert!(!report.applied);
    assert_eq!(report.invalid, 3);
    let outcomes: Vec<ImportOutcome> = report.rows.iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        [
            ImportOutcome::Created,
            ImportOutcome::Invalid,
            ImportOutcome::Invalid,
            ImportOutcome::Created,
            ImportOutcome::Invalid
        ]
    );
    assert_eq!(report.rows[1].errors[0].field, "committed_days");
    assert_eq!(report.rows[2].errors[0].problem.code(), "unknown_agency");
    assert_eq!(report.rows[4].errors[0].problem.code(), "duplicate");
    // Nothing written.
    assert_eq!(procedures::count(&mut conn).unwrap(), 1);
    assert_eq!(
        procedures::get(&mut conn, "1.001029").unwrap().spec.name,
        "Tên cũ"
    );

    let report = procedures::import(
        &mut conn,
        vec![
            Ok(spec("1.001029", "Tên mới", "Nghệ thuật biểu diễn")),
            Ok(spec("1.000004", "Bốn", "Du lịch")),
        ],
        Some(dept),
        0,
        &sys(),
        chrono::Utc::now(),
    )
    .unwrap();
    assert!(report.applied);
    assert_eq!((report.created, report.updated), (1, 1));
    assert_eq!(
        procedures::get(&mut conn, "1.001029").unwrap().spec.name,
        "Tên mới"
    );
    // No default agency and none named: refused per row.
    let report = procedures::import(
        &mut conn,
        vec![Ok(spec("1.000005", "Năm", "Du lịch"))],
        None,
        0,
        &sys(),
        chrono::Utc::now(),
    )
    .unwrap();
    assert_eq!(report.rows[0].errors[0].problem.code(), "agency_required");
}
