//! The webhook worker: each round fans the outbox out to the active
//! subscriptions, claims the deliveries that are due, sends them signed after
//! the Standard Webhooks convention, logs every attempt, schedules retries and
//! switches off a subscription after a long run of failures (with a
//! `webhook.disabled` event in the same transaction). Time is the App clock's.
//!
//! Several processes on one database never send the same attempt twice: the
//! claims live in the database (`repo::webhooks::claim_due`). A delivery is at
//! least once (a process may die after sending and before recording); the
//! receiver de-duplicates by `webhook-id`, the event's stable id.

use std::io::{self, Read as _};
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, Utc};
use motcua_domain::event::{self, Envelope};
use motcua_domain::event::{EventType, WebhookEventData};
use motcua_domain::webhook::{self, Secret, SubscriptionStatus};
use motcua_persistence::repo::events as outbox;
use motcua_persistence::repo::webhooks::{
    self as store, AfterAttempt, Claimed, EventToSend, FailureRun, NewAttempt, Subscription,
};
use motcua_persistence::{AnyConnection, StoreError, write_tx};
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

use crate::App;

/// Events read from the feed per subscription and round.
const FAN_OUT_BATCH: i64 = 500;
/// Deliveries of one subscription sent in one claim, in feed order.
const PER_CLAIM: i64 = 10;
/// Claims one process makes per round (one subscription each).
const CLAIMS_PER_ROUND: usize = 20;
/// How much of a receiver's answer the log keeps.
const EXCERPT_BYTES: u64 = 512;

/// One delivery to send.
#[derive(Debug, Clone)]
pub struct Outgoing<'a> {
    pub url: &'a str,
    /// `webhook-id`, `webhook-timestamp`, `webhook-signature`.
    pub headers: &'a [(&'static str, String)],
    /// The event's envelope as JSON.
    pub body: &'a [u8],
}

/// What came of sending it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sent {
    /// The receiver's status; `None` when no answer came.
    pub status: Option<u16>,
    /// The start of the answer's body.
    pub excerpt: Option<String>,
    /// Why nothing was sent or received.
    pub error: Option<String>,
}

impl Sent {
    /// A 2xx answer: delivered.
    pub fn delivered(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// Sends deliveries (HTTP in production; a test may record instead).
pub trait Sender: Send + Sync + 'static {
    fn send(&self, request: &Outgoing<'_>) -> Sent;
}

/// Sends over HTTP(S), without redirects or proxies, refusing hosts that
/// resolve to a non-public address unless private targets are allowed.
#[derive(Debug)]
pub struct HttpSender {
    agent: ureq::Agent,
}

impl HttpSender {
    pub fn new(timeout: StdDuration, allow_private: bool) -> Self {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .proxy(None)
            .user_agent("motcua-webhooks/1")
            .build();
        let resolver = CheckedResolver {
            allow_private,
            inner: DefaultResolver::default(),
        };
        Self {
            agent: ureq::Agent::with_parts(config, DefaultConnector::default(), resolver),
        }
    }
}

impl Sender for HttpSender {
    fn send(&self, request: &Outgoing<'_>) -> Sent {
        let mut builder = self
            .agent
            .post(request.url)
            .header("content-type", "application/json");
        for (name, value) in request.headers {
            builder = builder.header(*name, value);
        }
        match builder.send(request.body) {
            Ok(mut response) => {
                let mut start = Vec::new();
                let read = response
                    .body_mut()
                    .as_reader()
                    .take(EXCERPT_BYTES)
                    .read_to_end(&mut start);
                Sent {
                    status: Some(response.status().as_u16()),
                    excerpt: Some(String::from_utf8_lossy(&start).into_owned()),
                    error: read.err().map(|e| format!("reading the answer: {e}")),
                }
            }
            Err(error) => Sent {
                status: None,
                excerpt: None,
                error: Some(error.to_string()),
            },
        }
    }
}

/// Resolves as usual, then checks every address (SSRF): the connection can
/// only go to an address checked here, so a name that resolves to a public
/// address at subscription time and a private one later is still refused.
#[derive(Debug)]
struct CheckedResolver {
    allow_private: bool,
    inner: DefaultResolver,
}

impl Resolver for CheckedResolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let addresses = self.inner.resolve(uri, config, timeout)?;
        if !self.allow_private
            && let Some(refused) = addresses.iter().find(|a| !webhook::is_public(a.ip()))
        {
            return Err(ureq::Error::Io(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "{} resolves to the non-public address {}: refused (webhooks.allow_private_targets)",
                    uri.host().unwrap_or_default(),
                    refused.ip()
                ),
            )));
        }
        Ok(addresses)
    }
}

/// The body of a delivery: the event's envelope, as the change feed shows it.
pub fn envelope(event: &EventToSend) -> Vec<u8> {
    let data: serde_json::Value = serde_json::from_str(&event.payload)
        .unwrap_or_else(|_| serde_json::Value::String(event.payload.clone()));
    let envelope = Envelope {
        id: event.id.clone(),
        event_type: event.event_type,
        version: u16::try_from(event.version).unwrap_or(event::FIRST_VERSION),
        occurred_at: event.occurred_at,
        subject_kind: event.event_type.subject_kind(),
        subject: event.subject.clone(),
        agency_id: event.agency_id,
        data,
    };
    serde_json::to_vec(&envelope).unwrap_or_default()
}

/// The three headers of a delivery at `at`, signed with the subscription's
/// secret and, during a rotation's overlap, with the previous one too.
pub fn signed_headers(
    subscription: &Subscription,
    event_id: &str,
    at: DateTime<Utc>,
    body: &[u8],
) -> Result<Vec<(&'static str, String)>, webhook::SecretProblem> {
    let timestamp = at.timestamp();
    let mut signatures = vec![Secret::parse(&subscription.secret)?.sign(event_id, timestamp, body)];
    if let (Some(previous), Some(until)) = (
        &subscription.previous_secret,
        subscription.previous_secret_until,
    ) && at < until
    {
        signatures.push(Secret::parse(previous)?.sign(event_id, timestamp, body));
    }
    Ok(vec![
        ("webhook-id", event_id.to_owned()),
        ("webhook-timestamp", timestamp.to_string()),
        ("webhook-signature", signatures.join(" ")),
    ])
}

/// What one round did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WebhookRound {
    /// Deliveries queued from the feed.
    pub queued: usize,
    pub delivered: usize,
    /// Attempts that failed and will be tried again.
    pub retrying: usize,
    /// Deliveries given up after their last attempt.
    pub failed: usize,
    /// Subscriptions switched off after a long run of failures.
    pub disabled: usize,
}

impl WebhookRound {
    /// Whether the round did anything.
    pub fn is_idle(&self) -> bool {
        *self == Self::default()
    }
}

/// How one attempt ended up recorded.
enum Recorded {
    Delivered,
    Retrying,
    Failed,
    /// The attempt switched its subscription off.
    Disabled,
    /// The delivery was no longer this process's (its lease passed).
    Lost,
}

impl App {
    /// One round with the app's own sender. Blocking.
    pub fn webhook_round(&self) -> WebhookRound {
        self.webhook_round_with(self.webhook_sender.as_ref())
    }

    /// Fans out, then claims and sends what is due, through `sender`. Blocking.
    pub fn webhook_round_with(&self, sender: &dyn Sender) -> WebhookRound {
        let mut round = WebhookRound::default();
        match self.fan_out_webhooks() {
            Ok(queued) => round.queued = queued,
            Err(error) => tracing::warn!(%error, "webhook fan-out failed; will retry"),
        }
        for _ in 0..CLAIMS_PER_ROUND {
            let claimed = match self.claim_webhooks() {
                Ok(claimed) => claimed,
                Err(error) => {
                    tracing::warn!(%error, "claiming webhook deliveries failed; will retry");
                    break;
                }
            };
            if claimed.is_empty() {
                break;
            }
            self.send_claimed(sender, &claimed, &mut round);
        }
        round
    }

    fn fan_out_webhooks(&self) -> anyhow::Result<usize> {
        let mut conn = self.conn()?;
        let mut queued = 0;
        for id in store::active_ids(&mut conn)? {
            queued += store::fan_out(&mut conn, id, self.clock.now(), FAN_OUT_BATCH)?;
        }
        Ok(queued)
    }

    fn claim_webhooks(&self) -> anyhow::Result<Vec<Claimed>> {
        let timeout = self.settings.webhooks.timeout_ms;
        // Long enough to send the whole claim one after the other, with room to record.
        let lease = Duration::milliseconds(i64::try_from(timeout).unwrap_or(i64::MAX / 2))
            * i32::try_from(PER_CLAIM).unwrap_or(i32::MAX)
            + Duration::seconds(30);
        let mut conn = self.conn()?;
        Ok(store::claim_due(
            &mut conn,
            &self.instance,
            self.clock.now(),
            lease,
            1,
            PER_CLAIM,
        )?)
    }

    /// Sends one claim (deliveries of one subscription, in feed order);
    /// stops when the subscription gets switched off.
    fn send_claimed(&self, sender: &dyn Sender, claimed: &[Claimed], round: &mut WebhookRound) {
        for (index, item) in claimed.iter().enumerate() {
            match self.deliver(sender, item) {
                Ok(Recorded::Delivered) => round.delivered += 1,
                Ok(Recorded::Retrying) => round.retrying += 1,
                Ok(Recorded::Failed) => round.failed += 1,
                Ok(Recorded::Lost) => {}
                Ok(Recorded::Disabled) => {
                    round.disabled += 1;
                    let rest = claimed.get(index + 1..).unwrap_or_default();
                    self.release(rest);
                    return;
                }
                Err(error) => {
                    tracing::warn!(delivery = item.delivery.id, %error, "webhook delivery not recorded; its lease will pass");
                }
            }
        }
    }

    fn release(&self, claimed: &[Claimed]) {
        let released = self.with_conn(|conn| {
            for item in claimed {
                store::release(conn, item.delivery.id, &self.instance)?;
            }
            Ok(())
        });
        if let Err(error) = released {
            tracing::warn!(%error, "releasing webhook deliveries failed; their leases will pass");
        }
    }

    /// Sends one delivery and records the attempt.
    fn deliver(&self, sender: &dyn Sender, item: &Claimed) -> anyhow::Result<Recorded> {
        let at = self.clock.now();
        let body = envelope(&item.event);
        let started = Instant::now();
        let sent = match self.check_and_sign(item, at, &body) {
            Ok(headers) => sender.send(&Outgoing {
                url: &item.subscription.url,
                headers: &headers,
                body: &body,
            }),
            Err(refused) => Sent {
                error: Some(refused),
                ..Sent::default()
            },
        };
        let latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let done = self.clock.now();
        let attempts = usize::try_from(item.delivery.attempts).unwrap_or(0) + 1;
        let after = if sent.delivered() {
            AfterAttempt::Delivered
        } else {
            webhook::retry_after(attempts).map_or(AfterAttempt::Failed, |wait| {
                AfterAttempt::RetryAt(done + wait)
            })
        };
        let attempt = NewAttempt {
            at,
            status_code: sent.status.map(i32::from),
            latency_ms,
            response_excerpt: sent.excerpt.as_deref(),
            error: sent.error.as_deref(),
        };
        self.with_conn(|conn| {
            Ok(write_tx(conn, |conn| {
                let Some(run) =
                    store::record_attempt(conn, item.delivery.id, &self.instance, &attempt, after)?
                else {
                    return Ok(Recorded::Lost);
                };
                if !sent.delivered()
                    && self.disable_if_failing(conn, &item.subscription, run, done)?
                {
                    return Ok(Recorded::Disabled);
                }
                Ok::<_, StoreError>(match after {
                    AfterAttempt::Delivered => Recorded::Delivered,
                    AfterAttempt::RetryAt(_) => Recorded::Retrying,
                    AfterAttempt::Failed => Recorded::Failed,
                })
            })?)
        })
    }

    /// The delivery's headers, after the URL passed the SSRF check; the
    /// refusal's text otherwise.
    fn check_and_sign(
        &self,
        item: &Claimed,
        at: DateTime<Utc>,
        body: &[u8],
    ) -> Result<Vec<(&'static str, String)>, String> {
        let url = url::Url::parse(&item.subscription.url).map_err(|e| format!("bad URL: {e}"))?;
        webhook::check_target(&url, self.settings.allow_private_webhook_targets())
            .map_err(|problem| format!("refused: {problem}"))?;
        signed_headers(&item.subscription, &item.event.id, at, body)
            .map_err(|problem| format!("the stored secret is unusable: {problem}"))
    }

    /// Switches the subscription off when its run of failures is long enough,
    /// appending a `webhook.disabled` event, in the caller's transaction.
    fn disable_if_failing(
        &self,
        conn: &mut AnyConnection,
        subscription: &Subscription,
        run: FailureRun,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let failures = u32::try_from(run.consecutive_failures).unwrap_or(0);
        let failing_for = run
            .failing_since
            .map_or(Duration::zero(), |since| at - since);
        if run.status != SubscriptionStatus::Active
            || !webhook::should_disable(failures, failing_for)
        {
            return Ok(false);
        }
        let reason = format!(
            "{failures} failed attempts in a row over {} days",
            failing_for.num_days()
        );
        if !store::set_status(
            conn,
            subscription.id,
            SubscriptionStatus::Disabled,
            Some(reason.as_str()),
        )? {
            return Ok(false);
        }
        let payload = WebhookEventData {
            subscription_id: subscription.id,
            reason: reason.clone(),
            consecutive_failures: failures,
            url: Some(subscription.url.clone()),
            failing_since: run.failing_since,
        };
        outbox::record(
            conn,
            EventType::WebhookDisabled,
            &subscription.id.to_string(),
            None,
            at,
            &payload,
        )?;
        tracing::warn!(subscription = subscription.id, %reason, "webhook subscription disabled");
        Ok(true)
    }
}

/// The outbox as the metrics show it.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxStats {
    /// Events the outbox holds.
    pub events: i64,
    /// Age of the oldest event not yet fanned out to an active subscription
    /// it is for (see `repo::webhooks::oldest_unfanned`); 0 when none waits.
    pub lag_seconds: f64,
    /// Delivery attempts in the log, by result (every result, zeros included).
    pub attempts: Vec<(webhook::AttemptResult, i64)>,
}

/// Reads the outbox's numbers at `now`.
pub fn outbox_stats(
    conn: &mut AnyConnection,
    now: DateTime<Utc>,
) -> Result<OutboxStats, StoreError> {
    let events = outbox::count(conn)?;
    let lag_seconds = store::oldest_unfanned(conn)?.map_or(0.0, |oldest| {
        // Milliseconds are plenty; an event stamped ahead of the clock is not late.
        let millis = (now - oldest).num_milliseconds().max(0);
        millis as f64 / 1000.0
    });
    let mut attempts: Vec<(webhook::AttemptResult, i64)> = webhook::AttemptResult::ALL
        .iter()
        .map(|r| (*r, 0))
        .collect();
    for (status, n) in store::attempts_by_status(conn)? {
        let result = webhook::AttemptResult::of(status);
        if let Some(entry) = attempts.iter_mut().find(|(r, _)| *r == result) {
            entry.1 += n;
        }
    }
    Ok(OutboxStats {
        events,
        lag_seconds,
        attempts,
    })
}

/// The sender a server uses, from its settings.
pub fn http_sender(settings: &crate::Settings) -> HttpSender {
    HttpSender::new(
        StdDuration::from_millis(settings.webhooks.timeout_ms.max(1)),
        settings.allow_private_webhook_targets(),
    )
}
