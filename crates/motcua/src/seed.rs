//! What a fresh installation starts with: the official holiday calendar
//! always; demo agencies, accounts and the catalog when demo data is on.

use anyhow::Context;
use chrono::{DateTime, Utc};
use motcua_app::password::{hash_password, random_token};
use motcua_domain::Role;
use motcua_domain::agency::NewAgency;
use motcua_domain::procedure::AdminLevel;
use motcua_domain::user::User;
use motcua_persistence::repo::{agencies, applicants, procedures, users};
use motcua_persistence::{AnyConnection, StoreResult, write_tx};

/// The official non-working and make-up days shipped in `data/holidays.json`.
pub const HOLIDAYS_JSON: &str = include_str!("../../../data/holidays.json");

#[derive(serde::Deserialize)]
struct HolidayFile {
    days: Vec<HolidayDay>,
}

#[derive(serde::Deserialize)]
struct HolidayDay {
    date: chrono::NaiveDate,
    kind: motcua_domain::calendar::DayKind,
    name: String,
}

/// Seeds the official calendar for every year in the file that was never
/// seeded; returns the years seeded now. Admin edits are never overwritten.
pub fn official_calendar(conn: &mut AnyConnection, at: DateTime<Utc>) -> anyhow::Result<Vec<i32>> {
    let file: HolidayFile = serde_json::from_str(HOLIDAYS_JSON).context("data/holidays.json")?;
    let days: Vec<motcua_persistence::repo::calendar::DayOverride> = file
        .days
        .into_iter()
        .map(|d| motcua_persistence::repo::calendar::DayOverride {
            date: d.date,
            kind: d.kind,
            name: d.name,
        })
        .collect();
    Ok(motcua_persistence::repo::calendar::seed(conn, &days, at)?)
}

/// The demo catalog shipped in `data/catalog.json`.
pub const CATALOG_JSON: &str = include_str!("../../../data/catalog.json");

/// The e-forms of the demo catalog's most common procedures (docs/forms.md),
/// one JSON file per procedure code under `data/forms/`.
pub const DEMO_FORMS: [(&str, &str); 8] = [
    (
        "1.009397",
        include_str!("../../../data/forms/1.009397.json"),
    ),
    (
        "1.007450",
        include_str!("../../../data/forms/1.007450.json"),
    ),
    (
        "1.007451",
        include_str!("../../../data/forms/1.007451.json"),
    ),
    (
        "1.004630",
        include_str!("../../../data/forms/1.004630.json"),
    ),
    (
        "1.004623",
        include_str!("../../../data/forms/1.004623.json"),
    ),
    (
        "1.001003",
        include_str!("../../../data/forms/1.001003.json"),
    ),
    (
        "1.000639",
        include_str!("../../../data/forms/1.000639.json"),
    ),
    (
        "1.001182",
        include_str!("../../../data/forms/1.001182.json"),
    ),
];

/// Stores the demo forms as version 1 of their procedures' forms, stamped
/// with the procedure's own time; each is checked as an admin's would be.
fn insert_demo_forms(conn: &mut AnyConnection) -> anyhow::Result<usize> {
    for (code, text) in DEMO_FORMS {
        let definition: motcua_domain::forms::FormDefinition =
            serde_json::from_str(text).with_context(|| format!("data/forms/{code}.json"))?;
        motcua_domain::forms::check_definition(&definition)
            .map_err(|e| anyhow::anyhow!("data/forms/{code}.json: {e:?}"))?;
        let procedure = procedures::get(conn, code)?;
        motcua_persistence::repo::forms::add_version(
            conn,
            procedure.id,
            &definition,
            None,
            procedure.updated_at,
        )?;
    }
    Ok(DEMO_FORMS.len())
}

pub const DEMO_DEPARTMENT: &str = "000.00.20.H56";

/// Demo agencies: the department, two of its divisions, a commune.
fn demo_agencies() -> [(&'static str, &'static str, AdminLevel, bool); 4] {
    [
        (
            DEMO_DEPARTMENT,
            "Sở Văn hóa, Thể thao và Du lịch (demo)",
            AdminLevel::Province,
            false,
        ),
        (
            "000.01.20.H56",
            "Phòng Quản lý Văn hóa và Gia đình (demo)",
            AdminLevel::Province,
            true,
        ),
        (
            "000.02.20.H56",
            "Phòng Quản lý Thể dục thể thao và Du lịch (demo)",
            AdminLevel::Province,
            true,
        ),
        (
            "000.00.31.H56",
            "Ủy ban nhân dân phường Một Cửa (demo)",
            AdminLevel::Commune,
            false,
        ),
    ]
}

#[derive(Debug, Clone)]
pub struct DemoAccount {
    pub username: String,
    pub password: String,
    pub role: Role,
}

#[derive(Debug, Clone, Default)]
pub struct DemoSeed {
    pub accounts: Vec<DemoAccount>,
    pub procedures: usize,
    pub department_id: i64,
}

/// True when nothing has been created yet: no agency, account or procedure.
pub fn is_empty(conn: &mut AnyConnection) -> anyhow::Result<bool> {
    Ok(agencies::count(conn)? == 0
        && procedures::count(conn)? == 0
        && users::count_by_role(conn, Role::Admin)? == 0)
}

/// Demo citizen: a valid-looking citizen ID of a fictional person.
pub const DEMO_CITIZEN_ID: &str = "001099012345";

/// One demo account per role: (user name, role, agency code, full name).
const DEMO_ACCOUNTS: [(&str, Role, Option<&str>, &str); 6] = [
    ("demo.admin", Role::Admin, None, "Quản trị viên (demo)"),
    (
        "demo.officer",
        Role::Officer,
        Some(DEMO_DEPARTMENT),
        "Cán bộ một cửa (demo)",
    ),
    (
        "demo.handler",
        Role::Officer,
        Some("000.01.20.H56"),
        "Chuyên viên xử lý (demo)",
    ),
    (
        "demo.leader",
        Role::Leader,
        Some(DEMO_DEPARTMENT),
        "Lãnh đạo Sở (demo)",
    ),
    (
        "demo.portal",
        Role::Integration,
        None,
        "Cổng dịch vụ công tỉnh (demo)",
    ),
    (
        DEMO_CITIZEN_ID,
        Role::Citizen,
        None,
        "Nguyễn Văn Dân (demo)",
    ),
];

/// The demo agencies; returns the department's id.
fn insert_demo_agencies(conn: &mut AnyConnection, at: DateTime<Utc>) -> StoreResult<i64> {
    let mut department_id = 0;
    for (code, name, level, division) in demo_agencies() {
        let parent_id = if division { Some(department_id) } else { None };
        let agency = agencies::insert(
            conn,
            &NewAgency {
                code: code.into(),
                name: name.into(),
                level,
                parent_id,
                receiving_point: level == AdminLevel::Commune,
            },
            at,
        )?;
        if code == DEMO_DEPARTMENT {
            department_id = agency.id;
        }
    }
    Ok(department_id)
}

/// One demo account; the citizen with its applicant record, verified.
fn insert_demo_user(
    conn: &mut AnyConnection,
    (username, role, agency, name): (&str, Role, Option<&str>, &str),
    hash: &str,
    at: DateTime<Utc>,
) -> StoreResult<User> {
    let agency_id = match agency {
        Some(code) => Some(agencies::by_code(conn, code)?.id),
        None => None,
    };
    let applicant_id = if role == Role::Citizen {
        let person = applicants::NewPerson {
            id_number: username,
            full_name: name,
            phone: Some("0912000111"),
            email: Some("dan.demo@example.vn"),
            ..Default::default()
        };
        Some(applicants::insert_person(conn, &person, at)?.id)
    } else {
        None
    };
    let user = users::insert(
        conn,
        &users::NewUser {
            username,
            password_hash: hash,
            role,
            agency_id,
            applicant_id,
            full_name: name,
            phone: None,
            email: None,
            demo: true,
        },
        at,
    )?;
    // The demo citizen stands for someone whose card was checked at the counter.
    if let Some(applicant_id) = applicant_id {
        motcua_persistence::repo::identity::set_verified(
            conn,
            user.id,
            applicant_id,
            motcua_domain::access::VerificationMethod::Counter,
            None,
            Some("demo seed"),
            at,
        )?;
    }
    Ok(user)
}

/// Seeds demo agencies, one account per role with fresh random passwords,
/// and the catalog. All in one transaction.
pub fn demo(conn: &mut AnyConnection, at: DateTime<Utc>) -> anyhow::Result<DemoSeed> {
    let specs = motcua_app::catalog_import::parse_json(CATALOG_JSON.as_bytes())
        .map_err(|e| anyhow::anyhow!("data/catalog.json: {e}"))?;
    let mut hashed = Vec::new();
    for (username, role, agency, name) in DEMO_ACCOUNTS {
        let password = random_token(12);
        let hash = hash_password(&password).map_err(|e| anyhow::anyhow!("hash: {e}"))?;
        hashed.push((username, role, agency, name, password, hash));
    }
    write_tx(conn, |conn| {
        let department_id = insert_demo_agencies(conn, at)?;
        let mut accounts = Vec::new();
        for (username, role, agency, name, password, hash) in &hashed {
            insert_demo_user(conn, (username, *role, *agency, name), hash, at)?;
            accounts.push(DemoAccount {
                username: (*username).to_owned(),
                password: password.clone(),
                role: *role,
            });
        }
        let report = procedures::import(
            conn,
            specs,
            Some(department_id),
            0,
            &motcua_domain::audit::Actor::system("seed"),
            at,
        )?;
        if !report.applied {
            let bad: Vec<String> = report
                .rows
                .iter()
                .filter(|r| !r.errors.is_empty())
                .map(|r| format!("row {} {:?}: {:?}", r.index, r.code, r.errors))
                .collect();
            anyhow::bail!("data/catalog.json has invalid rows: {}", bad.join("; "));
        }
        insert_demo_forms(conn)?;
        Ok(DemoSeed {
            accounts,
            procedures: report.created,
            department_id,
        })
    })
    .context("seeding demo data")
}

/// Prints demo credentials once, to standard output, clearly marked.
pub fn print_demo_accounts(seed: &DemoSeed) {
    println!("================ DEMO DATA (do not use in production) ================");
    println!(
        "Seeded {} procedures and these demo accounts. Passwords are shown ONCE:",
        seed.procedures
    );
    for account in &seed.accounts {
        let kind = if account.role == Role::Integration {
            "client_secret"
        } else {
            "password"
        };
        println!(
            "  {:<13} {:<14} {kind}: {}",
            account.role.as_str(),
            account.username,
            account.password
        );
    }
    println!("Start with --no-demo (or MOTCUA__DEMO=false) for an empty installation.");
    println!("=======================================================================");
}
