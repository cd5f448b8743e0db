//! Realistic synthetic data at scale, for load tests and benchmarks: agencies,
//! procedures, applicants and dossiers spread over years with the channels,
//! outcomes, documents, payments, ratings, queue tickets and feedback a
//! provincial department sees. Rows are written in batches straight to the
//! tables (not through the workflow, which is far slower per dossier); the
//! KPI aggregates are then rebuilt from them, exactly as `rebuild-kpi` does.
//! Deterministic for a given seed.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use diesel::prelude::*;
use motcua_domain::Role;
use motcua_domain::agency::NewAgency;
use motcua_domain::calendar::{WorkingCalendar, WorkingHours};
use motcua_domain::dossier::{Channel, DossierStatus, RatingScore, dossier_code};
use motcua_domain::feedback::{FeedbackAction, FeedbackStatus};
use motcua_domain::kpi::{self as kpi_rules, Grain};
use motcua_domain::payment::{PaymentMethod, PaymentStatus};
use motcua_domain::procedure::{
    AdminLevel, ApplicantKind, Fee, OnlineLevel, ProcedureSpec, ProcedureStatus, RequiredDocument,
    SupplementClock, TimeUnit,
};
use motcua_domain::queue::TicketStatus;
use motcua_domain::text::fold;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::repo::queue::{Histogram, MAX_WAIT_MINUTES};
use crate::repo::{agencies, calendar, kpi, procedures, users};
use crate::schema::{
    applicants, documents, dossier_agencies, dossier_documents, dossier_events, dossier_ratings,
    dossier_sequences, dossiers, feedback, feedback_messages, payment_events, payments,
    queue_tickets, queue_waits, ticket_sequences,
};
use crate::time::to_db;
use crate::{AnyConnection, StoreError, StoreResult, insert_many, write_tx};

/// The file every synthetic electronic document points at, stored once.
#[derive(Debug, Clone)]
pub struct Placeholder {
    pub storage_key: String,
    pub size_bytes: i64,
    pub sha256: String,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub dossiers: u64,
    pub procedures: u32,
    /// Dossiers are submitted over this many years up to `until`.
    pub years: u32,
    pub until: DateTime<Utc>,
    pub seed: u64,
    pub placeholder: Placeholder,
}

#[derive(Debug, Clone, Default)]
pub struct Report {
    pub agencies: usize,
    pub procedures: usize,
    pub applicants: u64,
    pub dossiers: u64,
    pub documents: u64,
    pub events: u64,
    pub payments: u64,
    pub ratings: u64,
    pub tickets: u64,
    pub feedback: u64,
    pub aggregate_rows: usize,
    pub generate_secs: f64,
    pub rebuild_secs: f64,
}

const SECTORS: [&str; 8] = [
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
/// Dossiers written per transaction.
const BATCH: usize = 2000;
/// Rows per INSERT statement (within both backends' bind-parameter limits).
const ROWS_PER_INSERT: usize = 500;

struct Agency {
    id: i64,
    code: String,
    officer: i64,
}

struct Procedure {
    id: i64,
    agency: usize,
    sector: String,
    regulated_days: u32,
    online: OnlineLevel,
    fee: i64,
    payable_online: bool,
    documents: Vec<(String, bool)>,
}

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

fn name(rng: &mut StdRng) -> String {
    format!(
        "{} {} {}",
        pick(rng, &FAMILY),
        pick(rng, &MIDDLE),
        pick(rng, &GIVEN)
    )
}

fn setup(
    conn: &mut AnyConnection,
    plan: &Plan,
    rng: &mut StdRng,
) -> StoreResult<(Vec<Agency>, Vec<Procedure>, i64)> {
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
                },
            )?,
            Err(e) => return Err(e),
        };
        let username = format!("synthetic.officer.{}", i + 1);
        let officer = match users::credentials(conn, &username)? {
            Some(u) => u.0.id,
            None => {
                users::insert(
                    conn,
                    &users::NewUser {
                        username: &username,
                        // Not a password hash: nobody signs in as a synthetic account.
                        password_hash: "synthetic-no-login",
                        role: Role::Officer,
                        agency_id: Some(agency.id),
                        applicant_id: None,
                        full_name: "Cán bộ mô phỏng",
                        phone: None,
                        email: None,
                        demo: true,
                    },
                )?
                .id
            }
        };
        out.push(Agency {
            id: agency.id,
            code: agency.code,
            officer,
        });
    }
    let citizen = match users::credentials(conn, "synthetic.citizen")? {
        Some(u) => u.0.id,
        None => {
            users::insert(
                conn,
                &users::NewUser {
                    username: "synthetic.citizen",
                    password_hash: "synthetic-no-login",
                    role: Role::Citizen,
                    agency_id: None,
                    applicant_id: None,
                    full_name: "Công dân mô phỏng",
                    phone: None,
                    email: None,
                    demo: true,
                },
            )?
            .id
        }
    };
    let mut procs = Vec::with_capacity(plan.procedures as usize);
    for i in 0..plan.procedures as usize {
        let code = format!("9.{:06}", i + 1);
        let agency = i % out.len();
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
        let name = format!("Thủ tục mô phỏng số {} — {}", i + 1, sector.to_lowercase());
        let record = match procedures::get(conn, &code) {
            Ok(p) => p,
            Err(StoreError::NotFound) => {
                let spec = ProcedureSpec {
                    code: code.clone(),
                    name: name.clone(),
                    sector: sector.clone(),
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
                    status: ProcedureStatus::Active,
                    effective_date: NaiveDate::from_ymd_opt(2020, 1, 1).unwrap_or(NaiveDate::MIN),
                    agency_code: None,
                }
                .prepared()
                .map_err(|e| StoreError::Conflict(format!("synthetic procedure: {e:?}")))?;
                procedures::create(
                    conn,
                    &spec,
                    Some(out[agency].id),
                    &motcua_domain::audit::Actor::system("synthetic"),
                )?
            }
            Err(e) => return Err(e),
        };
        // A procedure kept from an earlier run keeps its stored attributes.
        let spec = &record.spec;
        procs.push(Procedure {
            id: record.id,
            agency: out
                .iter()
                .position(|a| Some(a.id) == record.agency.as_ref().map(|r| r.id))
                .unwrap_or(agency),
            sector: spec.sector_code(),
            regulated_days: spec.regulated_days,
            online: spec.online_level,
            fee: spec.fees.iter().map(|f| f.amount_vnd).sum(),
            payable_online: spec.fees.iter().all(|f| f.payable_online) && !spec.fees.is_empty(),
            documents: spec
                .required_documents
                .iter()
                .map(|d| (d.code.clone(), d.reusable))
                .collect(),
        });
    }
    Ok((out, procs, citizen))
}

/// (dossier, requirement, document, paper, reused, stage, added at)
type LineRow = (
    i64,
    Option<String>,
    Option<String>,
    bool,
    bool,
    &'static str,
    NaiveDateTime,
);
/// (dossier, action, from, to, actor, actor role, actor agency, at)
type EventRow = (
    i64,
    &'static str,
    Option<&'static str>,
    &'static str,
    i64,
    &'static str,
    i64,
    NaiveDateTime,
);
/// (agency, sector, day, number, issued, called, counter, called by)
type TicketRow = (
    i64,
    String,
    NaiveDate,
    i32,
    NaiveDateTime,
    NaiveDateTime,
    String,
    i64,
);

/// The rows of one batch, written together.
#[derive(Default)]
struct Rows {
    /// (id, ID number, name, created at)
    applicants: Vec<(i64, String, String, NaiveDateTime)>,
    dossiers: Vec<DossierRow>,
    /// (dossier, agency that may see it)
    agencies: Vec<(i64, i64)>,
    /// (id, owner, uploaded by, kind, created at)
    documents: Vec<(String, i64, i64, &'static str, NaiveDateTime)>,
    lines: Vec<LineRow>,
    events: Vec<EventRow>,
    /// (id, dossier, method, amount, recorded by, paid at)
    payments: Vec<(String, i64, &'static str, i64, i64, NaiveDateTime)>,
    /// (dossier, score, rated by, at)
    ratings: Vec<(i64, &'static str, i64, NaiveDateTime)>,
    tickets: Vec<TicketRow>,
}

struct DossierRow {
    id: i64,
    code: String,
    procedure_id: i64,
    agency_id: i64,
    handling_agency_id: i64,
    applicant_id: i64,
    submitted_by: i64,
    channel: Channel,
    status: DossierStatus,
    regulated_days: i32,
    submitted_at: NaiveDateTime,
    received_at: Option<NaiveDateTime>,
    due_at: Option<NaiveDateTime>,
    supplement_count: i32,
    processed_at: Option<NaiveDateTime>,
    finished_at: Option<NaiveDateTime>,
    fees_due: i64,
    fees_paid: i64,
    fees: String,
    search_text: String,
    updated_at: NaiveDateTime,
}

fn at_local(day: NaiveDate, minutes: u32) -> DateTime<Utc> {
    let time = NaiveTime::from_num_seconds_from_midnight_opt(minutes.min(24 * 60 - 1) * 60, 0)
        .unwrap_or(NaiveTime::MIN);
    motcua_domain::local_time::instant(day, time)
}

/// Everything in flight while generating.
struct State {
    dossier_seq: HashMap<(i64, NaiveDate), i64>,
    ticket_seq: HashMap<(i64, NaiveDate), i64>,
    /// (agency, day, minutes) → tickets
    waits: HashMap<(i64, NaiveDate, i64), i64>,
    next_dossier: i64,
    next_applicant: i64,
    applicant_pool: Vec<(i64, String, String)>,
    report: Report,
}

#[allow(clippy::too_many_arguments)]
fn one_dossier(
    rng: &mut StdRng,
    st: &mut State,
    rows: &mut Rows,
    cal: &WorkingCalendar,
    plan: &Plan,
    agencies: &[Agency],
    procs: &[Procedure],
    citizen: i64,
) {
    let until = plan.until;
    let days = i64::from(plan.years.max(1)) * 365;
    let start = motcua_domain::local_time::date(until) - Duration::days(days);
    // More dossiers in recent years; popular procedures more often.
    let t: f64 = rng.random::<f64>().sqrt();
    let day = start + Duration::days(((t * days as f64) as i64).min(days - 1));
    let u: f64 = rng.random();
    let p = &procs[((u * u) * procs.len() as f64) as usize % procs.len()];
    let agency = &agencies[p.agency];
    let online_share = match p.online {
        OnlineLevel::Full => 0.25 + 0.55 * t,
        OnlineLevel::Partial => 0.15 + 0.4 * t,
        OnlineLevel::None => 0.0,
    };
    let channel = if rng.random_bool(online_share) {
        Channel::Online
    } else if rng.random_bool(0.03) {
        Channel::Postal
    } else {
        Channel::Counter
    };
    let submitted = match channel {
        Channel::Online => at_local(day, rng.random_range(0..24 * 60)),
        _ => at_local(day, rng.random_range(7 * 60 + 30..16 * 60 + 30)),
    };
    if submitted > until {
        return;
    }
    // The applicant: often someone who filed before.
    let (applicant_id, applicant_name, id_number) =
        if !st.applicant_pool.is_empty() && rng.random_bool(0.3) {
            pick(rng, &st.applicant_pool).clone()
        } else {
            let id = st.next_applicant;
            st.next_applicant += 1;
            let person = (id, name(rng), format!("099{id:09}"));
            rows.applicants
                .push((id, person.2.clone(), person.1.clone(), to_db(submitted)));
            if st.applicant_pool.len() < 50_000 {
                st.applicant_pool.push(person.clone());
            }
            st.report.applicants += 1;
            person
        };
    let id = st.next_dossier;
    st.next_dossier += 1;
    let sequence = st.dossier_seq.entry((agency.id, day)).or_insert(0);
    *sequence += 1;
    let code = dossier_code(&agency.code, day, *sequence);
    let officer = agency.officer;
    let event = |rows: &mut Rows,
                 action: &'static str,
                 from: Option<DossierStatus>,
                 to: DossierStatus,
                 at: DateTime<Utc>| {
        rows.events.push((
            id,
            action,
            from.map(DossierStatus::as_str),
            to.as_str(),
            officer,
            Role::Officer.as_str(),
            agency.id,
            to_db(at),
        ));
    };
    event(rows, "submit", None, DossierStatus::Submitted, submitted);

    let mut status = DossierStatus::Submitted;
    let mut received = None;
    let mut due = None;
    let mut processed = None;
    let mut finished = None;
    let mut supplements = 0;
    let mut paid = 0;
    let mut last = submitted;
    let handling = if rng.random_bool(0.01) && agencies.len() > 1 {
        agencies[(p.agency + 1) % agencies.len()].id
    } else {
        agency.id
    };
    rows.agencies.push((id, agency.id));
    if handling != agency.id {
        rows.agencies.push((id, handling));
    }

    let receive_at = match channel {
        Channel::Counter => submitted,
        _ => submitted + Duration::minutes(rng.random_range(30..36 * 60)),
    };
    if rng.random_bool(0.015) && receive_at <= until {
        status = DossierStatus::Refused;
        processed = Some(receive_at);
        finished = Some(receive_at);
        event(
            rows,
            "refuse",
            Some(DossierStatus::Submitted),
            status,
            receive_at,
        );
    } else if receive_at <= until {
        received = Some(receive_at);
        let due_at = cal.due(receive_at, p.regulated_days, TimeUnit::WorkingDays);
        due = Some(due_at);
        status = DossierStatus::InReview;
        event(
            rows,
            "receive",
            Some(DossierStatus::Submitted),
            DossierStatus::Received,
            receive_at,
        );
        last = receive_at;
        let span = (due_at - receive_at).num_minutes().max(60);
        supplements = match rng.random_range(0..100) {
            0 => 2,
            1..9 => 1,
            _ => 0,
        };
        for k in 0..supplements {
            let asked = receive_at + Duration::minutes(span / 4 * (k + 1));
            event(
                rows,
                "request_supplement",
                Some(DossierStatus::InReview),
                DossierStatus::SupplementRequested,
                asked,
            );
            event(
                rows,
                "supplement",
                Some(DossierStatus::SupplementRequested),
                DossierStatus::InReview,
                asked + Duration::hours(20),
            );
        }
        let draw = rng.random_range(0..1000);
        let end = match draw {
            0..620 => Some((
                "issue_result",
                receive_at + Duration::minutes((span as f64 * rng.random_range(0.2..0.85)) as i64),
            )),
            620..840 => Some((
                "issue_result",
                due_at - Duration::minutes(rng.random_range(60..8 * 60)),
            )),
            840..920 => Some((
                "issue_result",
                due_at + Duration::days(rng.random_range(1..15)),
            )),
            920..950 => Some((
                "reject",
                receive_at + Duration::minutes((span as f64 * rng.random_range(0.2..0.9)) as i64),
            )),
            950..975 => Some(("cancel", receive_at + Duration::minutes(span / 3))),
            975..997 => Some(("withdraw", receive_at + Duration::minutes(span / 5))),
            // A few stay stuck in review.
            _ => None,
        };
        match end {
            Some((action, at)) if at <= until => {
                last = at;
                match action {
                    "issue_result" => {
                        processed = Some(at);
                        status = DossierStatus::ResultReady;
                        event(
                            rows,
                            "issue_result",
                            Some(DossierStatus::Approved),
                            status,
                            at,
                        );
                        let digital = rng.random_bool(0.4 + 0.55 * t);
                        let doc = digital
                            .then(|| document(rows, id, "r", applicant_id, officer, "result", at));
                        rows.lines
                            .push((id, None, doc, !digital, false, "result", to_db(at)));
                        let returned = at + Duration::hours(rng.random_range(1..5 * 24));
                        if p.fee > 0 {
                            let pay_at = receive_at + Duration::minutes(rng.random_range(5..240));
                            let online = p.payable_online && rng.random_bool(0.2 + 0.6 * t);
                            rows.payments.push((
                                format!("SYN-{id}"),
                                id,
                                if online {
                                    PaymentMethod::Online.as_str()
                                } else {
                                    PaymentMethod::Counter.as_str()
                                },
                                p.fee,
                                officer,
                                to_db(pay_at.min(until)),
                            ));
                            paid = p.fee;
                        }
                        if returned <= until {
                            status = DossierStatus::Returned;
                            finished = Some(returned);
                            last = returned;
                            event(
                                rows,
                                "return",
                                Some(DossierStatus::ResultReady),
                                status,
                                returned,
                            );
                            if rng.random_bool(0.35) {
                                let score = match rng.random_range(0..100) {
                                    0..85 => RatingScore::Satisfied,
                                    85..96 => RatingScore::Normal,
                                    _ => RatingScore::Unsatisfied,
                                };
                                let rated = (returned + Duration::hours(rng.random_range(1..72)))
                                    .min(until);
                                rows.ratings
                                    .push((id, score.as_str(), citizen, to_db(rated)));
                            }
                        }
                    }
                    "reject" => {
                        processed = Some(at);
                        finished = Some(at);
                        status = DossierStatus::Rejected;
                        event(
                            rows,
                            "reject",
                            Some(DossierStatus::PendingApproval),
                            status,
                            at,
                        );
                    }
                    "cancel" => {
                        processed = Some(at);
                        finished = Some(at);
                        status = DossierStatus::Cancelled;
                        event(rows, "cancel", Some(DossierStatus::InReview), status, at);
                    }
                    _ => {
                        finished = Some(at);
                        status = DossierStatus::Withdrawn;
                        event(rows, "withdraw", Some(DossierStatus::InReview), status, at);
                    }
                }
            }
            _ => {}
        }
    }
    // Input documents: uploaded online, scanned at the counter (more each year), or paper.
    for (requirement, reusable) in &p.documents {
        let electronic = channel == Channel::Online || rng.random_bool(0.3 + 0.6 * t);
        let reused = electronic && *reusable && rng.random_bool(0.3);
        let doc = electronic.then(|| {
            document(
                rows,
                id,
                requirement,
                applicant_id,
                officer,
                "input",
                submitted,
            )
        });
        rows.lines.push((
            id,
            Some(requirement.clone()),
            doc,
            !electronic,
            reused,
            "submission",
            to_db(submitted),
        ));
    }
    if channel == Channel::Counter {
        let sequence = st.ticket_seq.entry((agency.id, day)).or_insert(0);
        *sequence += 1;
        let waited = (-(1.0 - rng.random::<f64>()).ln() * 12.0).min(180.0) as i64;
        let called = submitted - Duration::minutes(3);
        let issued = called - Duration::minutes(waited);
        rows.tickets.push((
            agency.id,
            p.sector.clone(),
            day,
            i32::try_from(*sequence).unwrap_or(i32::MAX),
            to_db(issued),
            to_db(called),
            "1".into(),
            officer,
        ));
        *st.waits.entry((agency.id, day, waited)).or_insert(0) += 1;
        st.report.tickets += 1;
    }
    let fees = if p.fee > 0 {
        serde_json::json!([{ "code": "F1", "name": "Phí thẩm định", "amount_vnd": p.fee, "payable_online": p.payable_online }]).to_string()
    } else {
        "[]".to_owned()
    };
    rows.dossiers.push(DossierRow {
        id,
        search_text: format!(" {} {} {} ", fold(&code), fold(&applicant_name), id_number),
        code,
        procedure_id: p.id,
        agency_id: agency.id,
        handling_agency_id: handling,
        applicant_id,
        submitted_by: officer,
        channel,
        status,
        regulated_days: i32::try_from(p.regulated_days).unwrap_or(i32::MAX),
        submitted_at: to_db(submitted),
        received_at: received.map(to_db),
        due_at: due.map(to_db),
        supplement_count: supplements as i32,
        processed_at: processed.map(to_db),
        finished_at: finished.map(to_db),
        fees_due: p.fee,
        fees_paid: paid,
        fees,
        updated_at: to_db(last),
    });
    st.report.dossiers += 1;
}

fn document(
    rows: &mut Rows,
    dossier: i64,
    which: &str,
    owner: i64,
    by: i64,
    kind: &'static str,
    at: DateTime<Utc>,
) -> String {
    let id = format!("syn-{dossier}-{which}");
    rows.documents
        .push((id.clone(), owner, by, kind, to_db(at)));
    id
}

/// Runs `$insert!(conn, table, values)` over `rows` in statements of [`ROWS_PER_INSERT`].
macro_rules! insert_chunks {
    ($conn:expr, $table:expr, $rows:expr, |$row:pat_param| $values:expr) => {{
        for chunk in $rows.chunks(ROWS_PER_INSERT) {
            let values: Vec<_> = chunk.iter().map(|$row| $values).collect();
            insert_many!(&mut *$conn, $table, values)?;
        }
    }};
}

fn write(conn: &mut AnyConnection, rows: &Rows, placeholder: &Placeholder) -> StoreResult<()> {
    insert_chunks!(conn, applicants::table, rows.applicants, |(
        id,
        number,
        name,
        at,
    )| (
        applicants::id.eq(*id),
        applicants::kind.eq("person"),
        applicants::id_number.eq(Some(number)),
        applicants::full_name.eq(name),
        applicants::created_at.eq(*at),
        applicants::updated_at.eq(*at),
    ));
    insert_chunks!(conn, dossiers::table, rows.dossiers, |d| (
        (
            dossiers::id.eq(d.id),
            dossiers::code.eq(&d.code),
            dossiers::procedure_id.eq(d.procedure_id),
            dossiers::agency_id.eq(d.agency_id),
            dossiers::handling_agency_id.eq(d.handling_agency_id),
            dossiers::applicant_id.eq(d.applicant_id),
            dossiers::submitted_by.eq(d.submitted_by),
            dossiers::channel.eq(d.channel.as_str()),
            dossiers::result_channel.eq(d.channel.as_str()),
            dossiers::status.eq(d.status.as_str()),
            dossiers::time_unit.eq(TimeUnit::WorkingDays.as_str()),
            dossiers::allowed_time.eq(d.regulated_days),
            dossiers::regulated_days.eq(d.regulated_days),
        ),
        (
            dossiers::submitted_at.eq(d.submitted_at),
            dossiers::received_at.eq(d.received_at),
            dossiers::due_at.eq(d.due_at),
            dossiers::appointment_at.eq(d.due_at),
            dossiers::supplement_count.eq(d.supplement_count),
            dossiers::processed_at.eq(d.processed_at),
            dossiers::finished_at.eq(d.finished_at),
            dossiers::fees_due_vnd.eq(d.fees_due),
            dossiers::fees_paid_vnd.eq(d.fees_paid),
            dossiers::fees.eq(&d.fees),
            dossiers::search_text.eq(&d.search_text),
            dossiers::version.eq(1),
            dossiers::updated_at.eq(d.updated_at),
        ),
    ));
    insert_chunks!(conn, dossier_agencies::table, rows.agencies, |(
        dossier,
        agency,
    )| (
        dossier_agencies::dossier_id.eq(*dossier),
        dossier_agencies::agency_id.eq(*agency),
    ));
    insert_chunks!(conn, documents::table, rows.documents, |(
        id,
        owner,
        by,
        kind,
        at,
    )| (
        documents::id.eq(id),
        documents::applicant_id.eq(Some(*owner)),
        documents::uploaded_by.eq(*by),
        documents::kind.eq(*kind),
        documents::title.eq(if *kind == "result" {
            "Kết quả giải quyết"
        } else {
            "Bản điện tử"
        }),
        documents::file_name.eq("ban-dien-tu.pdf"),
        documents::content_type.eq("application/pdf"),
        documents::size_bytes.eq(placeholder.size_bytes),
        documents::sha256.eq(&placeholder.sha256),
        documents::storage_key.eq(&placeholder.storage_key),
        documents::in_store.eq(*kind == "result"),
        documents::created_at.eq(*at),
    ));
    insert_chunks!(conn, dossier_documents::table, rows.lines, |(
        dossier,
        requirement,
        doc,
        paper,
        reused,
        stage,
        at,
    )| (
        dossier_documents::dossier_id.eq(*dossier),
        dossier_documents::requirement.eq(requirement.as_deref()),
        dossier_documents::document_id.eq(doc.as_deref()),
        dossier_documents::paper.eq(*paper),
        dossier_documents::reused.eq(*reused),
        dossier_documents::stage.eq(*stage),
        dossier_documents::added_at.eq(*at),
    ));
    insert_chunks!(conn, dossier_events::table, rows.events, |(
        dossier,
        action,
        from,
        to,
        actor,
        role,
        agency,
        at,
    )| (
        dossier_events::dossier_id.eq(*dossier),
        dossier_events::action.eq(*action),
        dossier_events::from_status.eq(*from),
        dossier_events::to_status.eq(*to),
        dossier_events::actor_id.eq(Some(*actor)),
        dossier_events::actor_role.eq(*role),
        dossier_events::actor_agency_id.eq(Some(*agency)),
        dossier_events::at.eq(*at),
    ));
    insert_chunks!(conn, payments::table, rows.payments, |(
        id,
        dossier,
        method,
        amount,
        by,
        at,
    )| (
        (
            payments::id.eq(id),
            payments::dossier_id.eq(*dossier),
            payments::method.eq(*method),
            payments::gateway.eq(if *method == PaymentMethod::Online.as_str() {
                "synthetic"
            } else {
                "counter"
            }),
            payments::txn_ref.eq(id),
            payments::amount_vnd.eq(*amount),
            payments::status.eq(PaymentStatus::Success.as_str()),
            payments::created_by.eq(*by),
        ),
        (
            payments::created_at.eq(*at),
            payments::updated_at.eq(*at),
            payments::expires_at.eq(*at),
            payments::finished_at.eq(Some(*at)),
            payments::paid_at.eq(Some(*at)),
            payments::corrected.eq(false),
            payments::check_attempts.eq(0),
            payments::applied_vnd.eq(*amount),
        ),
    ));
    insert_chunks!(conn, payment_events::table, rows.payments, |(
        id,
        _,
        method,
        _,
        _,
        at,
    )| (
        payment_events::payment_id.eq(id),
        payment_events::gateway.eq(if *method == PaymentMethod::Online.as_str() {
            "synthetic"
        } else {
            "counter"
        }),
        payment_events::gateway_txn_no.eq(Some(id)),
        payment_events::kind.eq("synthetic"),
        payment_events::from_status.eq(PaymentStatus::Created.as_str()),
        payment_events::to_status.eq(PaymentStatus::Success.as_str()),
        payment_events::at.eq(*at),
    ));
    insert_chunks!(conn, dossier_ratings::table, rows.ratings, |(
        dossier,
        score,
        by,
        at,
    )| (
        dossier_ratings::dossier_id.eq(*dossier),
        dossier_ratings::score.eq(*score),
        dossier_ratings::rated_by.eq(*by),
        dossier_ratings::rated_at.eq(*at),
    ));
    insert_chunks!(conn, queue_tickets::table, rows.tickets, |(
        agency,
        sector,
        day,
        number,
        issued,
        called,
        counter,
        by,
    )| (
        queue_tickets::agency_id.eq(*agency),
        queue_tickets::sector_code.eq(Some(sector)),
        queue_tickets::day.eq(*day),
        queue_tickets::number.eq(*number),
        queue_tickets::status.eq(TicketStatus::Completed.as_str()),
        queue_tickets::issued_at.eq(*issued),
        queue_tickets::called_at.eq(Some(*called)),
        queue_tickets::counter.eq(Some(counter)),
        queue_tickets::called_by.eq(Some(*by)),
        queue_tickets::completed_at.eq(Some(*called + Duration::minutes(10))),
    ));
    Ok(())
}

/// Upserts `value` by key, one row at a time
/// (few rows; SQLite takes no conflict clause on multi-row inserts through diesel).
macro_rules! upsert_each {
    ($conn:expr, $table:path, ($($key:ident),+), $value:ident, $rows:expr) => {{
        use diesel::upsert::excluded;
        use $table as t;
        for (($($key),+), value) in $rows {
            macro_rules! run {
                ($c:expr) => {
                    diesel::insert_into(t::table)
                        .values(($(t::$key.eq($key),)+ t::$value.eq(value)))
                        .on_conflict(($(t::$key),+))
                        .do_update()
                        .set(t::$value.eq(excluded(t::$value)))
                        .execute($c)
                };
            }
            match &mut *$conn {
                AnyConnection::Postgresql(c) => run!(c)?,
                AnyConnection::Sqlite(c) => run!(c)?,
            };
        }
    }};
}

fn finish(conn: &mut AnyConnection, st: &State, feedback_rows: &[FeedbackRow]) -> StoreResult<()> {
    let dossier_seq = st
        .dossier_seq
        .iter()
        .map(|((agency, day), v)| ((*agency, *day), *v));
    upsert_each!(
        conn,
        crate::schema::dossier_sequences,
        (agency_id, day),
        last_value,
        dossier_seq
    );
    let ticket_seq = st
        .ticket_seq
        .iter()
        .map(|((agency, day), v)| ((*agency, *day), *v));
    upsert_each!(
        conn,
        crate::schema::ticket_sequences,
        (agency_id, day),
        last_value,
        ticket_seq
    );
    // Waits by agency and day, added month by month and year by year.
    let mut by_day: BTreeMap<(i64, NaiveDate), Histogram> = BTreeMap::new();
    for ((agency, day, minutes), n) in &st.waits {
        *by_day
            .entry((*agency, *day))
            .or_default()
            .entry(*minutes)
            .or_insert(0) += n;
    }
    let mut rows: BTreeMap<(Grain, NaiveDate, i64), Histogram> = BTreeMap::new();
    for ((agency, day), histogram) in by_day {
        for grain in Grain::ALL {
            let merged = rows
                .entry((*grain, kpi_rules::period_start(*grain, day), agency))
                .or_default();
            for (minutes, n) in &histogram {
                *merged
                    .entry((*minutes).clamp(0, MAX_WAIT_MINUTES))
                    .or_insert(0) += n;
            }
        }
    }
    let existing: Vec<(String, NaiveDate, i64, String)> = queue_waits::table
        .select((
            queue_waits::grain,
            queue_waits::period,
            queue_waits::agency_id,
            queue_waits::histogram,
        ))
        .load(conn)?;
    for (grain, period, agency, text) in existing {
        let grain: Grain = crate::parse_enum(&grain)?;
        if let Some(merged) = rows.get_mut(&(grain, period, agency)) {
            let before: Histogram = serde_json::from_str(&text).map_err(StoreError::corrupt)?;
            for (minutes, n) in before {
                *merged.entry(minutes).or_insert(0) += n;
            }
            diesel::delete(queue_waits::table.find((grain.as_str(), period, agency)))
                .execute(conn)?;
        }
    }
    let rows: Vec<((Grain, NaiveDate, i64), Histogram)> = rows.into_iter().collect();
    insert_chunks!(conn, queue_waits::table, rows, |(
        (grain, period, agency),
        histogram,
    )| (
        queue_waits::grain.eq(grain.as_str()),
        queue_waits::period.eq(*period),
        queue_waits::agency_id.eq(*agency),
        queue_waits::tickets.eq(histogram.values().sum::<i64>()),
        queue_waits::histogram.eq(serde_json::to_string(histogram).unwrap_or_else(|_| "{}".into())),
    ));
    for f in feedback_rows {
        let id: i64 = diesel::insert_into(feedback::table)
            .values((
                feedback::tracking_code.eq(&f.tracking_code),
                feedback::agency_id.eq(f.agency_id),
                feedback::subject.eq("Đề nghị đơn giản hóa thành phần hồ sơ"),
                feedback::content.eq("Phản ánh mô phỏng về quy định hành chính."),
                feedback::contact.eq(Some("0912345678")),
                feedback::status.eq(f.status.as_str()),
                feedback::handled_at.eq(f.handled_at),
                feedback::due_at.eq(f.due_at),
                feedback::created_at.eq(f.created_at),
                feedback::updated_at.eq(f.handled_at.unwrap_or(f.created_at)),
            ))
            .returning(feedback::id)
            .get_result(conn)?;
        if let Some(at) = f.handled_at {
            diesel::insert_into(feedback_messages::table)
                .values((
                    feedback_messages::feedback_id.eq(id),
                    feedback_messages::action.eq(FeedbackAction::Answer.as_str()),
                    feedback_messages::from_status.eq(FeedbackStatus::Received.as_str()),
                    feedback_messages::to_status.eq(FeedbackStatus::Answered.as_str()),
                    feedback_messages::body.eq("Cơ quan đã tiếp thu và trả lời."),
                    feedback_messages::staff_id.eq(Some(f.staff_id)),
                    feedback_messages::at.eq(at),
                ))
                .execute(conn)?;
        }
    }
    Ok(())
}

struct FeedbackRow {
    tracking_code: String,
    agency_id: i64,
    status: FeedbackStatus,
    handled_at: Option<NaiveDateTime>,
    due_at: NaiveDateTime,
    created_at: NaiveDateTime,
    staff_id: i64,
}

fn feedback_rows(
    rng: &mut StdRng,
    plan: &Plan,
    cal: &WorkingCalendar,
    agencies: &[Agency],
    first_id: i64,
) -> Vec<FeedbackRow> {
    let count = (plan.dossiers / 500).max(5);
    let days = i64::from(plan.years.max(1)) * 365;
    let start = motcua_domain::local_time::date(plan.until) - Duration::days(days);
    (0..count)
        .filter_map(|i| {
            let agency = pick(rng, agencies);
            let day = start + Duration::days(rng.random_range(0..days));
            let created = at_local(day, rng.random_range(0..24 * 60));
            let due = cal.due(created, 15, TimeUnit::WorkingDays);
            let handled = match rng.random_range(0..100) {
                0..85 => Some(
                    created
                        + Duration::minutes(
                            ((due - created).num_minutes() as f64 * rng.random_range(0.1..0.95))
                                as i64,
                        ),
                ),
                85..93 => Some(due + Duration::days(rng.random_range(1..20))),
                _ => None,
            }
            .filter(|at| *at <= plan.until);
            (created <= plan.until).then(|| FeedbackRow {
                tracking_code: format!("PA-SYN-{}", first_id + i as i64),
                agency_id: agency.id,
                status: if handled.is_some() {
                    FeedbackStatus::Answered
                } else {
                    FeedbackStatus::Received
                },
                handled_at: handled.map(to_db),
                due_at: to_db(due),
                created_at: to_db(created),
                staff_id: agency.officer,
            })
        })
        .collect()
}

fn max_id(conn: &mut AnyConnection, which: &str) -> StoreResult<i64> {
    Ok(match which {
        "dossiers" => dossiers::table
            .select(diesel::dsl::max(dossiers::id))
            .first::<Option<i64>>(conn)?,
        "applicants" => applicants::table
            .select(diesel::dsl::max(applicants::id))
            .first::<Option<i64>>(conn)?,
        _ => feedback::table
            .select(diesel::dsl::max(feedback::id))
            .first::<Option<i64>>(conn)?,
    }
    .unwrap_or(0))
}

/// Generates `plan.dossiers` dossiers with everything around them, then
/// rebuilds the KPI aggregates. `progress` is told after every batch.
pub fn generate(
    conn: &mut AnyConnection,
    plan: &Plan,
    mut progress: impl FnMut(&Report),
) -> StoreResult<Report> {
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(plan.seed);
    let (agencies, procs, citizen) = write_tx(conn, |c| setup(c, plan, &mut rng))?;
    let cal = calendar::load(conn, WorkingHours::default())?;
    let ids: Vec<i64> = agencies.iter().map(|a| a.id).collect();
    let dossier_seq: HashMap<(i64, NaiveDate), i64> = dossier_sequences::table
        .filter(dossier_sequences::agency_id.eq_any(&ids))
        .select((
            dossier_sequences::agency_id,
            dossier_sequences::day,
            dossier_sequences::last_value,
        ))
        .load::<(i64, NaiveDate, i64)>(conn)?
        .into_iter()
        .map(|(a, d, v)| ((a, d), v))
        .collect();
    let ticket_seq: HashMap<(i64, NaiveDate), i64> = ticket_sequences::table
        .filter(ticket_sequences::agency_id.eq_any(&ids))
        .select((
            ticket_sequences::agency_id,
            ticket_sequences::day,
            ticket_sequences::last_value,
        ))
        .load::<(i64, NaiveDate, i64)>(conn)?
        .into_iter()
        .map(|(a, d, v)| ((a, d), v))
        .collect();
    let mut st = State {
        dossier_seq,
        ticket_seq,
        waits: HashMap::new(),
        next_dossier: max_id(conn, "dossiers")? + 1,
        next_applicant: max_id(conn, "applicants")? + 1,
        applicant_pool: Vec::new(),
        report: Report {
            agencies: agencies.len(),
            procedures: procs.len(),
            ..Report::default()
        },
    };
    while st.report.dossiers < plan.dossiers {
        let n = (plan.dossiers - st.report.dossiers).min(BATCH as u64);
        let mut rows = Rows::default();
        for _ in 0..n {
            one_dossier(
                &mut rng, &mut st, &mut rows, &cal, plan, &agencies, &procs, citizen,
            );
        }
        st.report.events += rows.events.len() as u64;
        st.report.documents += rows.documents.len() as u64;
        st.report.payments += rows.payments.len() as u64;
        st.report.ratings += rows.ratings.len() as u64;
        write_tx(conn, |c| write(c, &rows, &plan.placeholder))?;
        progress(&st.report);
    }
    let first_feedback = max_id(conn, "feedback")? + 1;
    let fb = feedback_rows(&mut rng, plan, &cal, &agencies, first_feedback);
    st.report.feedback = fb.len() as u64;
    write_tx(conn, |c| finish(c, &st, &fb))?;
    crate::db::sync_id_sequences(conn, &["applicants", "dossiers"])?;
    st.report.generate_secs = started.elapsed().as_secs_f64();
    let rebuilding = Instant::now();
    st.report.aggregate_rows = kpi::rebuild(conn)?.rows;
    st.report.rebuild_secs = rebuilding.elapsed().as_secs_f64();
    Ok(st.report)
}
