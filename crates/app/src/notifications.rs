//! The notification worker: each round turns the new outbox events that
//! concern an applicant into messages (one per channel the applicant can be
//! reached on: phone → SMS, e-mail → e-mail), then claims the messages that
//! are due and sends them through the app's senders, retrying with back-off.
//!
//! An event becomes messages once: the feed cursor is read under a row lock
//! and moved in the transaction that inserts the messages, and a message is
//! unique per (event, channel). Several processes never send the same
//! attempt twice: due messages are claimed with a lease in the database.

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::Duration;
use motcua_domain::access::ContactChannel;
use motcua_domain::event::{DossierEventData, EventType};
use motcua_domain::local_time;
use motcua_domain::notification::{self as rules, Channel, Facts, Purpose, Status, Template};
use motcua_domain::representation::{self, Contact, Reachable};
use motcua_persistence::repo::events::{self as outbox, FeedFilter, StoredEvent};
use motcua_persistence::repo::notifications::{
    self as store, NewNotification, Notification, Outcome,
};
use motcua_persistence::repo::{applicants, dossiers, feedback, payments, representatives};
use motcua_persistence::{AnyConnection, StoreError, write_tx};

use crate::App;
use crate::notifier::Message;

/// Events read from the feed per round.
const BATCH: i64 = 500;
/// Messages one process claims at a time.
const PER_CLAIM: i64 = 20;
/// Claims per round.
const CLAIMS_PER_ROUND: usize = 10;

/// What one round did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct NotificationRound {
    /// Messages queued from new events.
    pub queued: usize,
    /// Messages recorded as not sent (opted out).
    pub skipped: usize,
    pub sent: usize,
    /// Attempts that failed and will be tried again.
    pub retrying: usize,
    /// Messages given up after their last attempt.
    pub failed: usize,
}

impl NotificationRound {
    pub fn is_idle(&self) -> bool {
        *self == Self::default()
    }
}

/// Attempts by channel and result since the process started (`/metrics`).
#[derive(Debug, Default)]
pub struct NotificationCounters {
    counts: [[AtomicU64; 3]; 2],
}

/// The `result` label values of [`NotificationCounters`].
pub const RESULTS: [&str; 3] = ["sent", "retry", "failed"];

impl NotificationCounters {
    fn add(&self, channel: Channel, result: usize) {
        let c = match channel {
            Channel::Sms => 0,
            Channel::Email => 1,
        };
        if let Some(cell) = self.counts.get(c).and_then(|r| r.get(result)) {
            cell.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// (channel, result, count) for every pair.
    pub fn snapshot(&self) -> Vec<(Channel, &'static str, u64)> {
        let mut out = Vec::new();
        for (c, channel) in [Channel::Sms, Channel::Email].into_iter().enumerate() {
            for (r, result) in RESULTS.iter().enumerate() {
                let n = self
                    .counts
                    .get(c)
                    .and_then(|row| row.get(r))
                    .map_or(0, |cell| cell.load(Ordering::Relaxed));
                out.push((channel, *result, n));
            }
        }
        out
    }
}

/// One recipient of an event's messages.
struct Recipient {
    channel: Channel,
    address: String,
}

/// What an event's messages are built from.
struct Subject {
    facts: Facts,
    dossier_code: Option<String>,
    applicant_id: Option<i64>,
    recipients: Vec<Recipient>,
}

fn reachable(phone: Option<&str>, email: Option<&str>) -> Vec<Recipient> {
    let mut out = Vec::new();
    if let Some(phone) = phone.map(str::trim).filter(|p| !p.is_empty()) {
        out.push(Recipient {
            channel: Channel::Sms,
            address: phone.to_owned(),
        });
    }
    if let Some(email) = email.map(str::trim).filter(|e| e.contains('@')) {
        out.push(Recipient {
            channel: Channel::Email,
            address: email.to_owned(),
        });
    }
    out
}

/// The template in force: the admin's, else the built-in one.
pub fn template_in_force(
    conn: &mut AnyConnection,
    event: EventType,
    channel: Channel,
) -> Result<Option<Template>, StoreError> {
    if let Some(saved) = store::template(conn, event, channel)? {
        return Ok(Some(Template {
            subject: saved.subject,
            body: saved.body,
        }));
    }
    Ok(rules::default_template(event, channel))
}

/// The facts and recipients of a dossier (by code): the applicant's phone
/// and e-mail, or its representative's when that is the contact chosen.
fn dossier_subject(conn: &mut AnyConnection, code: &str) -> Result<Subject, StoreError> {
    let dossier = dossiers::by_code(conn, code)?;
    let applicant = applicants::by_id(conn, dossier.applicant.id)?;
    let stored = representatives::of_dossier(conn, dossier.id)?;
    let to = representation::contact_details(
        stored.as_ref().map_or(Contact::Applicant, |r| r.contact),
        Reachable {
            phone: applicant.phone.as_deref(),
            email: applicant.email.as_deref(),
        },
        stored.as_ref().map(|r| Reachable {
            phone: r.representative.phone.as_deref(),
            email: r.representative.email.as_deref(),
        }),
    );
    let appointment = dossier.appointment_at.or(dossier.due_at);
    Ok(Subject {
        facts: Facts {
            applicant_name: Some(applicant.full_name.clone()),
            dossier_code: Some(dossier.code.clone()),
            procedure_name: Some(dossier.procedure.name.clone()),
            agency_name: Some(dossier.agency.name.clone()),
            appointment_date: appointment.map(local_time::date),
            result_channel: Some(dossier.result_channel),
            ..Facts::default()
        },
        dossier_code: Some(dossier.code.clone()),
        applicant_id: Some(applicant.id),
        recipients: reachable(to.phone, to.email),
    })
}

/// Loads what the event's messages say and who they go to; `None` when the
/// event does not notify or its subject has nobody to tell.
fn subject_of(
    conn: &mut AnyConnection,
    event: &StoredEvent,
) -> Result<Option<Subject>, StoreError> {
    let mut subject = match event.event_type {
        EventType::PaymentCreated | EventType::PaymentPaid | EventType::PaymentRefunded => {
            let payment = payments::get(conn, &event.subject)?;
            let mut subject = dossier_subject(conn, &payment.dossier_code)?;
            subject.facts.amount_vnd = Some(payment.amount_vnd);
            subject.facts.payment_id = Some(payment.id.clone());
            subject
        }
        EventType::FeedbackAnswered => {
            let id: i64 = event
                .subject
                .parse()
                .map_err(|_| StoreError::corrupt(format!("feedback id {}", event.subject)))?;
            let item = feedback::get(conn, id)?;
            let contact = item.contact.as_deref().unwrap_or_default();
            let (phone, email) = if contact.contains('@') {
                (None, Some(contact))
            } else {
                (Some(contact), None)
            };
            let answer = item
                .messages
                .iter()
                .rev()
                .find(|m| m.from_staff)
                .map(|m| m.body.clone());
            Subject {
                facts: Facts {
                    tracking_code: Some(item.tracking_code.clone()),
                    feedback_subject: Some(item.subject.clone()),
                    answer: Some(answer.unwrap_or_default()),
                    ..Facts::default()
                },
                dossier_code: None,
                applicant_id: None,
                recipients: reachable(phone, email),
            }
        }
        t if rules::notifies(t) => {
            let mut subject = dossier_subject(conn, &event.subject)?;
            let dossier_id = dossiers::by_code(conn, &event.subject)?.id;
            // The payload's appointment when the writer put one in.
            if let Ok(data) = serde_json::from_str::<DossierEventData>(&event.payload)
                && let Some(due) = data.due_at
                && t == EventType::DossierReceived
            {
                subject.facts.appointment_date = Some(local_time::date(due));
            }
            match t {
                EventType::DossierSupplementRequested => {
                    if let Some(last) = dossiers::supplement_requests_of(conn, dossier_id)?
                        .into_iter()
                        .max_by_key(|l| l.requested_at)
                    {
                        subject.facts.missing = last.missing;
                        subject.facts.supplement_deadline = Some(last.deadline);
                    }
                }
                EventType::DossierApologised => {
                    if let Some(last) = dossiers::apologies(conn, dossier_id)?
                        .into_iter()
                        .max_by_key(|a| a.created_at)
                    {
                        subject.facts.reason = Some(last.reason);
                        subject.facts.appointment_date = Some(last.new_appointment_date);
                    }
                }
                EventType::DossierRefused | EventType::DossierCancelled => {
                    let note = dossiers::history(conn, dossier_id)?
                        .into_iter()
                        .rev()
                        .find_map(|e| e.note.filter(|n| !n.trim().is_empty()));
                    subject.facts.reason =
                        Some(note.unwrap_or_else(|| "không ghi lý do".to_owned()));
                }
                _ => {}
            }
            subject
        }
        _ => return Ok(None),
    };
    subject.recipients.retain(|r| !r.address.is_empty());
    Ok((!subject.recipients.is_empty()).then_some(subject))
}

impl App {
    /// One round: queue the new events' messages, then send what is due.
    /// Blocking.
    pub fn notification_round(&self) -> NotificationRound {
        let mut round = NotificationRound::default();
        match self.queue_notifications(&mut round) {
            Ok(()) => {}
            Err(error) => tracing::warn!(%error, "queueing notifications failed; will retry"),
        }
        for _ in 0..CLAIMS_PER_ROUND {
            let claimed = match self.with_conn(|conn| {
                let lease = Duration::milliseconds(
                    i64::try_from(self.settings.notifications.smtp_timeout_ms).unwrap_or(60_000),
                ) * i32::try_from(PER_CLAIM).unwrap_or(20)
                    + Duration::seconds(30);
                Ok(store::claim_due(
                    conn,
                    &self.instance,
                    self.clock.now(),
                    lease,
                    PER_CLAIM,
                )?)
            }) {
                Ok(claimed) => claimed,
                Err(error) => {
                    tracing::warn!(%error, "claiming notifications failed; will retry");
                    break;
                }
            };
            if claimed.is_empty() {
                break;
            }
            for message in &claimed {
                self.send_one(message, &mut round);
            }
        }
        round
    }

    /// Reads the events after the worker's cursor and queues their messages,
    /// moving the cursor, in one transaction.
    fn queue_notifications(&self, round: &mut NotificationRound) -> anyhow::Result<()> {
        let now = self.clock.now();
        let mut conn = self.conn()?;
        let (queued, skipped) = write_tx(&mut conn, |conn| {
            let cursor = store::lock_cursor(conn)?;
            // Every type, so the cursor moves past the events that notify nobody
            // (filtering by type would rescan them from an old cursor every round).
            let filter = FeedFilter::default();
            let (events, next) = outbox::read_after(conn, cursor, &filter, BATCH)?;
            let (mut queued, mut skipped) = (0, 0);
            for event in events.iter().filter(|e| rules::notifies(e.event_type)) {
                // A subject that cannot be read must not stop the feed: log it and go on.
                let subject = match write_tx(conn, |c| subject_of(c, event)) {
                    Ok(Some(subject)) => subject,
                    Ok(None) => continue,
                    Err(error) => {
                        tracing::warn!(event = %event.id, %error, "no notification for this event");
                        continue;
                    }
                };
                for recipient in &subject.recipients {
                    let opted_out = match subject.applicant_id {
                        Some(id) => store::opted_out(conn, id, recipient.channel)?,
                        None => false,
                    };
                    let Some(template) =
                        template_in_force(conn, event.event_type, recipient.channel)?
                    else {
                        continue;
                    };
                    let rendered = match rules::render_to_send(
                        recipient.channel,
                        &template,
                        &subject.facts,
                    ) {
                        Ok(rendered) => rendered,
                        Err(error) => {
                            tracing::warn!(event = %event.id, channel = %recipient.channel, %error, "template not renderable; message not queued");
                            continue;
                        }
                    };
                    let send = rules::may_send(Purpose::Notification, opted_out);
                    let inserted = store::insert(
                        conn,
                        &NewNotification {
                            event_id: &event.id,
                            event_type: event.event_type,
                            dossier_code: subject.dossier_code.as_deref(),
                            applicant_id: subject.applicant_id,
                            channel: recipient.channel,
                            recipient: &recipient.address,
                            subject: rendered.subject.as_deref(),
                            body: &rendered.body,
                            status: if send {
                                Status::Queued
                            } else {
                                Status::Skipped
                            },
                            last_error: (!send)
                                .then_some("the applicant opted out of this channel"),
                            at: now,
                        },
                    )?;
                    match (inserted, send) {
                        (true, true) => queued += 1,
                        (true, false) => skipped += 1,
                        (false, _) => {}
                    }
                }
            }
            if next != cursor {
                store::set_cursor(conn, next)?;
            }
            Ok::<_, StoreError>((queued, skipped))
        })?;
        round.queued += queued;
        round.skipped += skipped;
        Ok(())
    }

    /// Sends one claimed message and records the attempt.
    fn send_one(&self, message: &Notification, round: &mut NotificationRound) {
        let outgoing = Message {
            channel: ContactChannel::from(message.channel),
            to: message.recipient.clone(),
            subject: message.subject.clone().unwrap_or_default(),
            body: message.body.clone(),
        };
        let result = self.notifier.send(&outgoing);
        let at = self.clock.now();
        let settings = &self.settings.notifications;
        let attempts = u32::try_from(message.attempts).unwrap_or(0) + 1;
        let error_text;
        let (outcome, slot) = match &result {
            Ok(()) => (Outcome::Sent, 0),
            Err(error) => {
                error_text = error.chars().take(500).collect::<String>();
                match rules::retry_after(attempts, settings.max_attempts, settings.retry_base_ms) {
                    Some(wait) => (
                        Outcome::RetryAt(at + retry_wait(wait), error_text.as_str()),
                        1,
                    ),
                    None => (Outcome::Failed(error_text.as_str()), 2),
                }
            }
        };
        self.notification_counters.add(message.channel, slot);
        let recorded = self.with_conn(|conn| {
            Ok(store::record(
                conn,
                message.id,
                &self.instance,
                at,
                outcome,
            )?)
        });
        match recorded {
            Ok(true) => match outcome {
                Outcome::Sent => round.sent += 1,
                Outcome::RetryAt(..) => round.retrying += 1,
                Outcome::Failed(_) => round.failed += 1,
            },
            Ok(false) => {
                tracing::warn!(notification = message.id, "lease lost before recording")
            }
            Err(error) => {
                tracing::warn!(notification = message.id, %error, "attempt not recorded; its lease will pass")
            }
        }
        if let Err(error) = result {
            tracing::warn!(notification = message.id, channel = %message.channel, %error, attempts, "notification not sent");
        }
    }
}

fn retry_wait(wait: std::time::Duration) -> Duration {
    Duration::from_std(wait).unwrap_or(Duration::hours(6))
}
