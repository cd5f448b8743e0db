//! The world the dossiers are filed in: synthetic agencies with an officer
//! and a leader each, one citizen account, and procedures. Created through
//! the ordinary repositories; what an earlier run created is kept.

use chrono::{DateTime, NaiveDate, Utc};
use motcua_domain::Role;
use motcua_domain::agency::NewAgency;
use motcua_domain::audit::Actor as AuditActor;
use motcua_domain::procedure::{
    AdminLevel, ApplicantKind, Fee, OnlineLevel, ProcedureSpec, ProcedureStatus, RequiredDocument,
    SupplementClock, TimeUnit,
};
use motcua_persistence::repo::{agencies, procedures, users};
use motcua_persistence::{AnyConnection, StoreError, StoreResult};
use rand::Rng;
use rand::rngs::StdRng;

use crate::Plan;

pub const SECTORS: [&str; 8] = [
    "Văn hóa cơ sở",
    "Du lịch",
    "Thể dục thể thao",
    "Gia đình",
    "Di sản văn hóa",
    "Nghệ thuật biểu diễn",
    "Mỹ thuật, nhiếp ảnh và triển lãm",
    "Quảng cáo",
];
const FAMILY: [&str; 10] = [
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng",
];
const MIDDLE: [&str; 8] = ["Văn", "Thị", "Hữu", "Minh", "Ngọc", "Thanh", "Đức", "Thu"];
const GIVEN: [&str; 12] = [
    "An", "Bình", "Chi", "Dũng", "Hà", "Hải", "Lan", "Long", "Mai", "Nam", "Phương", "Tâm",
];
const REGULATED_DAYS: [u32; 8] = [1, 3, 5, 7, 10, 15, 20, 30];
/// Not a password hash: nobody signs in as a synthetic account.
const NO_LOGIN: &str = "synthetic-no-login";

pub struct Agency {
    pub id: i64,
    pub code: String,
    pub officer: i64,
    pub leader: i64,
}

pub struct Procedure {
    pub id: i64,
    pub agency: usize,
    pub sector: String,
    pub regulated_days: u32,
    pub online: OnlineLevel,
    pub supplement_clock: SupplementClock,
    pub fee: i64,
    pub payable_online: bool,
    /// (requirement code, reusable from the applicant's store)
    pub documents: Vec<(String, bool)>,
}

pub struct World {
    pub agencies: Vec<Agency>,
    pub procedures: Vec<Procedure>,
    /// The citizen account every synthetic applicant acts through.
    pub citizen: i64,
}

pub fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

pub fn person_name(rng: &mut StdRng) -> String {
    format!(
        "{} {} {}",
        pick(rng, &FAMILY),
        pick(rng, &MIDDLE),
        pick(rng, &GIVEN)
    )
}

/// The synthetic account `username`, created when missing.
fn account(
    conn: &mut AnyConnection,
    username: &str,
    role: Role,
    agency_id: Option<i64>,
    full_name: &str,
    at: DateTime<Utc>,
) -> StoreResult<i64> {
    if let Some(u) = users::credentials(conn, username)? {
        return Ok(u.0.id);
    }
    Ok(users::insert(
        conn,
        &users::NewUser {
            username,
            password_hash: NO_LOGIN,
            role,
            agency_id,
            applicant_id: None,
            full_name,
            phone: None,
            email: None,
            demo: true,
        },
        at,
    )?
    .id)
}

fn agencies(conn: &mut AnyConnection, plan: &Plan) -> StoreResult<Vec<Agency>> {
    let count = (plan.procedures as usize / 8).clamp(2, 40);
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let code = format!("000.00.{:02}.H99", 10 + i);
        let agency = match agencies::by_code(conn, &code) {
            Ok(a) => a,
            Err(StoreError::NotFound) => agencies::insert(
                conn,
                &NewAgency {
                    code: code.clone(),
                    name: format!("Cơ quan mô phỏng số {}", i + 1),
                    level: AdminLevel::Province,
                    parent_id: None,
                    receiving_point: false,
                },
                plan.start(),
            )?,
            Err(e) => return Err(e),
        };
        let n = i + 1;
        let officer = account(
            conn,
            &format!("synthetic.officer.{n}"),
            Role::Officer,
            Some(agency.id),
            "Cán bộ mô phỏng",
            plan.start(),
        )?;
        let leader = account(
            conn,
            &format!("synthetic.leader.{n}"),
            Role::Leader,
            Some(agency.id),
            "Lãnh đạo mô phỏng",
            plan.start(),
        )?;
        out.push(Agency {
            id: agency.id,
            code: agency.code,
            officer,
            leader,
        });
    }
    Ok(out)
}

/// A new procedure's specification, drawn at random.
fn draw_spec(rng: &mut StdRng, i: usize) -> StoreResult<ProcedureSpec> {
    let sector = SECTORS[i % SECTORS.len()].to_owned();
    let regulated_days = *pick(rng, &REGULATED_DAYS);
    let online = match rng.random_range(0..10) {
        0..4 => OnlineLevel::Full,
        4..8 => OnlineLevel::Partial,
        _ => OnlineLevel::None,
    };
    let fee = if rng.random_bool(0.4) {
        *pick(rng, &[50_000_i64, 200_000, 500_000, 1_500_000])
    } else {
        0
    };
    let payable_online = fee > 0 && online != OnlineLevel::None && rng.random_bool(0.8);
    let documents: Vec<(String, bool)> = (0..rng.random_range(1..=3))
        .map(|d| (format!("D{}", d + 1), d == 0 && rng.random_bool(0.5)))
        .collect();
    ProcedureSpec {
        code: format!("9.{:06}", i + 1),
        name: format!("Thủ tục mô phỏng số {} — {}", i + 1, sector.to_lowercase()),
        sector,
        levels: vec![AdminLevel::Province],
        regulated_days,
        committed_days: regulated_days,
        time_unit: TimeUnit::WorkingDays,
        steps: vec!["Nộp hồ sơ".into(), "Thẩm định".into(), "Trả kết quả".into()],
        required_documents: documents
            .iter()
            .map(|(code, reusable)| RequiredDocument {
                code: code.clone(),
                name: format!("Giấy tờ {code}"),
                originals: 1,
                copies: 0,
                template: None,
                reusable: *reusable,
                optional: false,
            })
            .collect(),
        fees: if fee > 0 {
            vec![Fee {
                code: "F1".into(),
                name: "Phí thẩm định".into(),
                amount_vnd: fee,
                payable_online,
                applies_when: None,
            }]
        } else {
            vec![]
        },
        legal_basis: vec!["Nghị định số 61/2018/NĐ-CP".into()],
        result: "Văn bản chấp thuận".into(),
        applicant_types: vec![ApplicantKind::Citizen],
        online_level: online,
        inter_agency: false,
        supplement_clock: SupplementClock::Pause,
        correction_days: None,
        status: ProcedureStatus::Active,
        effective_date: NaiveDate::from_ymd_opt(2020, 1, 1).unwrap_or(NaiveDate::MIN),
        agency_code: None,
    }
    .prepared()
    .map_err(|e| StoreError::Conflict(format!("synthetic procedure: {e:?}")))
}

/// Agencies, accounts and procedures; call inside a write transaction.
pub fn world(conn: &mut AnyConnection, plan: &Plan, rng: &mut StdRng) -> StoreResult<World> {
    let agencies = agencies(conn, plan)?;
    let citizen = account(
        conn,
        "synthetic.citizen",
        Role::Citizen,
        None,
        "Công dân mô phỏng",
        plan.start(),
    )?;
    let mut procs = Vec::with_capacity(plan.procedures as usize);
    for i in 0..plan.procedures as usize {
        let agency = i % agencies.len();
        // Drawn whether or not it is kept, so a rerun draws the same dossiers.
        let drawn = draw_spec(rng, i)?;
        let record = match procedures::get(conn, &drawn.code) {
            Ok(p) => p,
            Err(StoreError::NotFound) => procedures::create(
                conn,
                &drawn,
                Some(agencies[agency].id),
                &AuditActor::system("synthetic"),
                plan.start(),
            )?,
            Err(e) => return Err(e),
        };
        // A procedure kept from an earlier run keeps its stored attributes.
        let spec = &record.spec;
        procs.push(Procedure {
            id: record.id,
            agency: agencies
                .iter()
                .position(|a| Some(a.id) == record.agency.as_ref().map(|r| r.id))
                .unwrap_or(agency),
            sector: spec.sector_code(),
            regulated_days: spec.regulated_days,
            online: spec.online_level,
            supplement_clock: spec.supplement_clock,
            fee: spec.fees.iter().map(|f| f.amount_vnd).sum(),
            payable_online: spec.fees.iter().all(|f| f.payable_online) && !spec.fees.is_empty(),
            documents: spec
                .required_documents
                .iter()
                .map(|d| (d.code.clone(), d.reusable))
                .collect(),
        });
    }
    Ok(World {
        agencies,
        procedures: procs,
        citizen,
    })
}
