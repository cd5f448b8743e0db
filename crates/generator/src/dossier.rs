//! One synthetic dossier: when and how it is filed, by whom, for which
//! procedure, its documents and queue ticket, and its row; its history is
//! walked in [`crate::review`].

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use motcua_domain::Role;
use motcua_domain::calendar::WorkingCalendar;
use motcua_domain::document::{DocumentKind, DocumentStage};
use motcua_domain::dossier::{Action, Channel, dossier_code};
use motcua_domain::numeric::{trunc_i64, trunc_usize};
use motcua_domain::procedure::{OnlineLevel, TimeUnit};
use motcua_domain::text::fold;
use motcua_persistence::bulk::{
    ApplicantRow, Batch, DocumentRow, DossierRow, LastIds, LineRow, Sequences, TicketRow,
};
use rand::Rng;
use rand::rngs::StdRng;

use crate::review::{Case, Clock, Walk, review};
use crate::setup::{Agency, Procedure, World, person_name, pick};
use crate::story::{Illegal, Story, Who};
use crate::{Plan, Report};

/// Applicants remembered for filing again.
const POOL: usize = 50_000;

/// Everything in flight while generating.
pub struct State {
    pub dossier_seq: Sequences,
    pub ticket_seq: Sequences,
    /// (agency, day, minutes waited) → tickets
    pub waits: HashMap<(i64, NaiveDate, i64), i64>,
    next_dossier: i64,
    next_applicant: i64,
    /// (id, name, ID number)
    applicant_pool: Vec<(i64, String, String)>,
    pub report: Report,
}

impl State {
    pub fn new(dossier_seq: Sequences, ticket_seq: Sequences, last: LastIds) -> Self {
        Self {
            dossier_seq,
            ticket_seq,
            waits: HashMap::new(),
            next_dossier: last.dossier + 1,
            next_applicant: last.applicant + 1,
            applicant_pool: Vec::new(),
            report: Report::default(),
        }
    }
}

pub fn at_local(day: NaiveDate, minutes: u32) -> DateTime<Utc> {
    let time = NaiveTime::from_num_seconds_from_midnight_opt(minutes.min(24 * 60 - 1) * 60, 0)
        .unwrap_or(NaiveTime::MIN);
    WorkingCalendar::local_datetime(day, time)
}

/// The applicant: often someone who filed before.
fn applicant(
    rng: &mut StdRng,
    st: &mut State,
    rows: &mut Batch,
    at: DateTime<Utc>,
) -> (i64, String, String) {
    if !st.applicant_pool.is_empty() && rng.random_bool(0.3) {
        return pick(rng, &st.applicant_pool).clone();
    }
    let id = st.next_applicant;
    st.next_applicant += 1;
    let person = (id, person_name(rng), format!("099{id:09}"));
    rows.applicants.push(ApplicantRow {
        id,
        id_number: person.2.clone(),
        full_name: person.1.clone(),
        created_at: at,
    });
    if st.applicant_pool.len() < POOL {
        st.applicant_pool.push(person.clone());
    }
    st.report.applicants += 1;
    person
}

/// How a dossier came in, as its documents need it.
struct Filing {
    dossier: i64,
    applicant_id: i64,
    uploaded_by: i64,
    channel: Channel,
    submitted: DateTime<Utc>,
    /// The draw that makes later years busier and more digital, in [0, 1).
    t: f64,
}

/// Online more often for procedures offered online, and more so each year.
fn draw_channel(rng: &mut StdRng, online: OnlineLevel, t: f64) -> Channel {
    let online_share = match online {
        OnlineLevel::Full => 0.25 + 0.55 * t,
        OnlineLevel::Partial => 0.15 + 0.4 * t,
        OnlineLevel::None => 0.0,
    };
    if rng.random_bool(online_share) {
        Channel::Online
    } else if rng.random_bool(0.03) {
        Channel::Postal
    } else {
        Channel::Counter
    }
}

/// Input documents: uploaded online, scanned at the counter (more each year), or paper.
fn input_documents(rng: &mut StdRng, rows: &mut Batch, p: &Procedure, filing: &Filing) {
    let id = filing.dossier;
    for (requirement, reusable) in &p.documents {
        let electronic = filing.channel == Channel::Online || rng.random_bool(0.3 + 0.6 * filing.t);
        let reused = electronic && *reusable && rng.random_bool(0.3);
        let doc = electronic.then(|| {
            let doc = format!("syn-{id}-{requirement}");
            rows.documents.push(DocumentRow {
                id: doc.clone(),
                owner: filing.applicant_id,
                uploaded_by: filing.uploaded_by,
                kind: DocumentKind::Input,
                created_at: filing.submitted,
            });
            doc
        });
        rows.lines.push(LineRow {
            dossier_id: id,
            requirement: Some(requirement.clone()),
            document_id: doc,
            paper: !electronic,
            reused,
            stage: DocumentStage::Submission,
            added_at: filing.submitted,
        });
    }
}

/// The queue ticket of a counter filing: called three minutes before it was
/// filed, after an exponential wait (mean 12 minutes, at most 3 hours).
fn counter_ticket(
    rng: &mut StdRng,
    st: &mut State,
    rows: &mut Batch,
    (agency, p): (&Agency, &Procedure),
    day: NaiveDate,
    submitted: DateTime<Utc>,
) {
    let sequence = st.ticket_seq.entry((agency.id, day)).or_insert(0);
    *sequence += 1;
    let waited = trunc_i64((-(1.0 - rng.random::<f64>()).ln() * 12.0).min(180.0)).unwrap_or(180);
    let called = submitted - Duration::minutes(3);
    rows.tickets.push(TicketRow {
        agency_id: agency.id,
        sector_code: p.sector.clone(),
        day,
        number: i32::try_from(*sequence).unwrap_or(i32::MAX),
        issued_at: called - Duration::minutes(waited),
        called_at: called,
        counter: "1".into(),
        called_by: agency.officer,
    });
    *st.waits.entry((agency.id, day, waited)).or_insert(0) += 1;
    st.report.tickets += 1;
}

/// The fee lines of a dossier as stored (JSON).
fn fees_json(p: &Procedure) -> String {
    if p.fee > 0 {
        serde_json::json!([{ "code": "F1", "name": "Phí thẩm định", "amount_vnd": p.fee, "payable_online": p.payable_online }]).to_string()
    } else {
        "[]".to_owned()
    }
}

/// Reception at `receive_at` (if the plan reaches it): refused there, or
/// received and reviewed.
fn receive(
    rng: &mut StdRng,
    cal: &WorkingCalendar,
    walk: &mut Walk,
    rows: &mut Batch,
    (case, officer): (&Case<'_>, Who),
    receive_at: DateTime<Utc>,
) -> Result<Clock, Illegal> {
    let refused = rng.random_bool(0.015);
    Ok(if receive_at > walk.until {
        Clock::default()
    } else if refused {
        walk.reaches(receive_at);
        walk.story.act(Action::Refuse, officer, receive_at)?;
        Clock {
            processed: Some(receive_at),
            finished: Some(receive_at),
            ..Clock::default()
        }
    } else {
        review(rng, cal, walk, rows, case, receive_at)?
    })
}

/// Draws one dossier and its history into `rows` (none when it would be
/// filed after the plan's end).
pub fn one(
    rng: &mut StdRng,
    st: &mut State,
    rows: &mut Batch,
    cal: &WorkingCalendar,
    plan: &Plan,
    world: &World,
) -> Result<(), Illegal> {
    let until = plan.until;
    let days = i64::from(plan.years.max(1)) * 365;
    let start = WorkingCalendar::local_date(until) - Duration::days(days);
    // More dossiers in recent years; popular procedures more often.
    let t: f64 = rng.random::<f64>().sqrt();
    let offset = trunc_i64(t * days as f64).map_or(days - 1, |d| d.clamp(0, days - 1));
    let day = start + Duration::days(offset);
    let u: f64 = rng.random();
    let procs = &world.procedures;
    let p = &procs[trunc_usize((u * u) * procs.len() as f64).unwrap_or(0) % procs.len()];
    let agency = &world.agencies[p.agency];
    let channel = draw_channel(rng, p.online, t);
    let submitted = match channel {
        Channel::Online => at_local(day, rng.random_range(0..24 * 60)),
        _ => at_local(day, rng.random_range(7 * 60 + 30..16 * 60 + 30)),
    };
    if submitted > until {
        return Ok(());
    }
    let (applicant_id, applicant_name, id_number) = applicant(rng, st, rows, submitted);
    let id = st.next_dossier;
    st.next_dossier += 1;
    let sequence = st.dossier_seq.entry((agency.id, day)).or_insert(0);
    *sequence += 1;
    let code = dossier_code(&agency.code, day, *sequence);
    let officer = Who::staff(agency.officer, Role::Officer, agency.id);
    // Online the applicant files (through the one synthetic citizen account,
    // which stands for every synthetic applicant); otherwise the counter does.
    let citizen = Who::applicant(world.citizen);
    let filer = if channel == Channel::Online {
        citizen
    } else {
        officer
    };
    let story = Story::submitted(id, agency.id, filer, submitted);
    let mut walk = Walk::new(story, until, submitted);
    let transfer_to = (rng.random_bool(0.01) && world.agencies.len() > 1)
        .then(|| &world.agencies[(p.agency + 1) % world.agencies.len()]);
    rows.dossier_agencies.push((id, agency.id));
    let receive_at = match channel {
        Channel::Counter => submitted,
        _ => submitted + Duration::minutes(rng.random_range(30..36 * 60)),
    };
    let case = Case {
        dossier: id,
        applicant_id,
        procedure: p,
        receiving: agency,
        transfer_to,
        citizen,
        t,
    };
    let clock = receive(rng, cal, &mut walk, rows, (&case, officer), receive_at)?;
    let filing = Filing {
        dossier: id,
        applicant_id,
        uploaded_by: filer.user,
        channel,
        submitted,
        t,
    };
    input_documents(rng, rows, p, &filing);
    if channel == Channel::Counter {
        counter_ticket(rng, st, rows, (agency, p), day, submitted);
    }
    let fees = fees_json(p);
    let handling_agency_id = walk.story.handling_agency();
    let status = walk.story.status();
    let supplement_from = walk.story.supplement_from();
    rows.events.extend(walk.story.into_events());
    rows.dossiers.push(DossierRow {
        id,
        search_text: format!(" {} {} {} ", fold(&code), fold(&applicant_name), id_number),
        code,
        procedure_id: p.id,
        agency_id: agency.id,
        handling_agency_id,
        applicant_id,
        submitted_by: filer.user,
        channel,
        status,
        time_unit: TimeUnit::WorkingDays,
        regulated_days: i32::try_from(p.regulated_days).unwrap_or(i32::MAX),
        submitted_at: submitted,
        received_at: clock.received,
        due_at: clock.due,
        appointment_at: clock.appointment,
        paused_at: clock.paused_at,
        paused_remaining: clock.paused_remaining,
        supplement_from,
        supplement_count: clock.supplements,
        processed_at: clock.processed,
        finished_at: clock.finished,
        fees_due: p.fee,
        fees_paid: clock.paid,
        fees,
        updated_at: walk.last,
    });
    st.report.dossiers += 1;
    Ok(())
}
