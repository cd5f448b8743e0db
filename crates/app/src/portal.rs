//! National Public Service Portal synchronisation (docs/portal.md): the
//! adapter behind [`PortalClient`], the worker fed by the outbox, the
//! resync of a period and the filings that come in from the portal.
//!
//! A round reads the outbox after the worker's cursor and marks the dossiers
//! that changed (dossier and payment events) pending, in one transaction with
//! the cursor locked; then it claims the due dossiers (a lease in the
//! database, so several processes never push one dossier at once) and pushes
//! each one's current status, catching up the codes in between when several
//! changes came before a push (`domain::portal::catch_up`). A failure is
//! recorded with its reason and retried with back-off.

use std::io::Read as _;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use motcua_domain::event::SubjectKind;
use motcua_domain::portal::{self, PortalAnswer, SyncMessage};
use motcua_persistence::repo::dossiers;
use motcua_persistence::repo::events::{self as outbox, FeedFilter};
use motcua_persistence::repo::portal::{self as store, Pushed, SyncState};
use motcua_persistence::{AnyConnection, StoreError, write_tx};

use crate::App;
use crate::dossiers::{Filed, Principal, Submission, WorkflowError, WorkflowResult};

/// Events read from the outbox per round.
const FAN_OUT_BATCH: i64 = 500;
/// Dossiers one process claims per round.
const PER_ROUND: i64 = 50;
/// How much of a portal's answer a failure keeps.
const EXCERPT_BYTES: u64 = 512;

/// Why a push did not go through: the portal's refusal or the transport's error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PushError(pub String);

/// The national portal's dossier-sync API (HTTP in production and in the
/// sandbox; a test may answer itself).
pub trait PortalClient: Send + Sync + 'static {
    fn push(&self, message: &SyncMessage) -> Result<(), PushError>;
}

/// Posts each message as JSON to `{url}/dossiers` with a bearer token.
#[derive(Debug)]
pub struct HttpPortalClient {
    agent: ureq::Agent,
    url: String,
    token: Option<String>,
}

impl HttpPortalClient {
    pub fn new(url: &str, token: Option<String>, timeout: StdDuration) -> Self {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent("motcua-portal/1")
            .build();
        Self {
            agent: ureq::Agent::new_with_config(config),
            url: format!("{}/dossiers", url.trim_end_matches('/')),
            token,
        }
    }
}

impl PortalClient for HttpPortalClient {
    fn push(&self, message: &SyncMessage) -> Result<(), PushError> {
        let body = serde_json::to_vec(message).map_err(|e| PushError(e.to_string()))?;
        let mut request = self
            .agent
            .post(&self.url)
            .header("content-type", "application/json");
        if let Some(token) = &self.token {
            request = request.header("authorization", &format!("Bearer {token}"));
        }
        let mut response = request
            .send(&body[..])
            .map_err(|e| PushError(format!("portal unreachable: {e}")))?;
        let status = response.status().as_u16();
        let mut start = Vec::new();
        // What could be read is judged; a cut answer reads as no answer.
        let _ = response
            .body_mut()
            .as_reader()
            .take(EXCERPT_BYTES)
            .read_to_end(&mut start);
        match serde_json::from_slice::<PortalAnswer>(&start) {
            Ok(answer) if answer.success && (200..300).contains(&status) => Ok(()),
            Ok(answer) => Err(PushError(format!(
                "portal answered {status} {}: {}",
                answer.error_code.unwrap_or_default(),
                answer.message.unwrap_or_default()
            ))),
            Err(_) => Err(PushError(format!(
                "portal answered {status}: {}",
                String::from_utf8_lossy(&start)
            ))),
        }
    }
}

/// The client a server uses, from its settings: `portal.url` when set; in
/// development, with the sandbox gateway and a public base URL, the built-in
/// sandbox portal (`{public_base_url}/sandbox/portal`); none otherwise.
pub fn client(settings: &crate::Settings) -> Option<Arc<dyn PortalClient>> {
    let url = match settings.portal.url.as_deref().map(str::trim) {
        Some(url) if !url.is_empty() => url.to_owned(),
        _ if sandboxed(settings) => format!(
            "{}/sandbox/portal",
            settings.server.public_base_url.trim_end_matches('/')
        ),
        _ => return None,
    };
    Some(Arc::new(HttpPortalClient::new(
        &url,
        settings
            .portal
            .token
            .as_ref()
            .map(|t| t.expose().to_owned()),
        StdDuration::from_millis(settings.portal.timeout_ms.max(1)),
    )))
}

/// Whether the server serves the sandbox portal and can reach it.
fn sandboxed(settings: &crate::Settings) -> bool {
    !settings.is_production()
        && settings.payments.gateway == crate::settings::GatewayKind::Sandbox
        && !settings.server.public_base_url.trim().is_empty()
}

/// What one round did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PortalRound {
    /// Dossier changes read from the outbox.
    pub changes: usize,
    /// Dossiers whose current status the portal now holds.
    pub synced: usize,
    /// Dossiers whose push failed (retried later unless spent).
    pub failed: usize,
}

impl PortalRound {
    pub fn is_idle(&self) -> bool {
        *self == Self::default()
    }
}

/// The dossier an outbox event is about, if it is about one.
fn dossier_of(event: &outbox::StoredEvent) -> Option<String> {
    match event.subject_kind {
        SubjectKind::Dossier => Some(event.subject.clone()),
        SubjectKind::Payment => serde_json::from_str::<serde_json::Value>(&event.payload)
            .ok()?
            .get("dossier_code")?
            .as_str()
            .map(str::to_owned),
        _ => None,
    }
}

/// Reads the outbox after the worker's cursor and marks the dossiers that
/// changed pending, due at `now`; how many events were about a dossier.
pub fn fan_out(conn: &mut AnyConnection, now: DateTime<Utc>) -> Result<usize, StoreError> {
    write_tx(conn, |conn| {
        let cursor = store::lock_cursor(conn)?;
        let (events, next) =
            outbox::read_after(conn, cursor, &FeedFilter::default(), FAN_OUT_BATCH)?;
        let mut changes = 0;
        for event in &events {
            let Some(code) = dossier_of(event) else {
                continue;
            };
            if let Some(id) = store::dossier_id(conn, &code)? {
                store::mark_changed(conn, id, event.occurred_at, now)?;
                changes += 1;
            }
        }
        if next != cursor {
            store::set_cursor(conn, next)?;
        }
        Ok(changes)
    })
}

impl App {
    /// One round with the configured portal; idle when none is configured. Blocking.
    pub fn portal_round(&self) -> PortalRound {
        match &self.portal_client {
            Some(client) => self.portal_round_with(client.as_ref()),
            None => PortalRound::default(),
        }
    }

    /// Reads the outbox, then pushes the due dossiers through `client`. Blocking.
    pub fn portal_round_with(&self, client: &dyn PortalClient) -> PortalRound {
        let mut round = PortalRound::default();
        match self.with_conn(|conn| Ok(fan_out(conn, self.clock.now())?)) {
            Ok(changes) => round.changes = changes,
            Err(error) => tracing::warn!(%error, "portal fan-out failed; will retry"),
        }
        let lease = Duration::milliseconds(
            i64::try_from(self.settings.portal.timeout_ms).unwrap_or(60_000) * 4,
        ) * i32::try_from(PER_ROUND).unwrap_or(1)
            + Duration::seconds(30);
        let claimed = self.with_conn(|conn| {
            Ok(store::claim_due(
                conn,
                &self.instance,
                self.clock.now(),
                lease,
                PER_ROUND,
            )?)
        });
        let claimed = match claimed {
            Ok(claimed) => claimed,
            Err(error) => {
                tracing::warn!(%error, "claiming portal pushes failed; will retry");
                return round;
            }
        };
        for state in &claimed {
            match self.push_dossier(client, state) {
                Ok(true) => round.synced += 1,
                Ok(false) => round.failed += 1,
                Err(error) => {
                    tracing::warn!(dossier = state.dossier_id, %error, "portal push not recorded; its lease will pass");
                }
            }
        }
        round
    }

    /// Pushes one claimed dossier's current status (with the codes between
    /// the last one pushed and it) and records the outcome; true when synced.
    fn push_dossier(&self, client: &dyn PortalClient, state: &SyncState) -> anyhow::Result<bool> {
        let dossier = self.with_conn(|conn| Ok(dossiers::by_id(conn, state.dossier_id)?))?;
        let target = dossier.portal_status();
        let mut pushed = state.pushed_code;
        let mut failure = None;
        if !(pushed == Some(target) && portal::is_final(target)) {
            for code in portal::catch_up(pushed, target) {
                match client.push(&SyncMessage::of(&dossier, code)) {
                    Ok(()) => pushed = Some(code),
                    Err(error) => {
                        failure = Some(error.0);
                        break;
                    }
                }
            }
        }
        let now = self.clock.now();
        let outcome = match &failure {
            None => Pushed::Synced {
                late: !portal::synced_in_time(state.changed_at, now),
            },
            Some(error) => Pushed::Failed {
                error,
                next: portal::retry_after(state.attempts + 1).map(|wait| now + wait),
            },
        };
        if let Some(error) = &failure {
            tracing::warn!(dossier = %dossier.code, %error, "portal push failed");
        }
        self.with_conn(|conn| {
            Ok(store::record(
                conn,
                state,
                &self.instance,
                pushed,
                now,
                &outcome,
            )?)
        })?;
        Ok(failure.is_none())
    }

    /// Marks every dossier filed from `from` to `to` (local days, inclusive)
    /// pending, so the next rounds push them again; how many.
    pub fn portal_resync(&self, from: NaiveDate, to: NaiveDate) -> anyhow::Result<usize> {
        let start = motcua_domain::local_time::instant(from, NaiveTime::MIN);
        let end = motcua_domain::local_time::instant(to.succ_opt().unwrap_or(to), NaiveTime::MIN);
        let now = self.clock.now();
        self.with_conn(|conn| Ok(store::resync(conn, start, end, now)?))
    }
}

/// A filing from the national portal: the dossier it became and whether
/// this request created it (false: the code was filed before).
#[derive(Debug, Clone)]
pub struct PortalFiling {
    pub dossier: motcua_domain::dossier::Dossier,
    pub created: bool,
}

/// Files a dossier the national portal received (online, on behalf of its
/// applicant) once per portal code: the same code again answers the dossier
/// it became. Two filings of one code at once: the second one fails (its
/// insert of the code on the key, or its documents already used by the
/// first), its transaction (dossier included) rolls back, and it answers the
/// first one's dossier.
pub fn file_from_portal(
    conn: &mut AnyConnection,
    caller: Principal,
    portal_code: &str,
    input: Submission,
    now: DateTime<Utc>,
) -> WorkflowResult<PortalFiling> {
    let existing = |conn: &mut AnyConnection| -> WorkflowResult<Option<PortalFiling>> {
        match store::inbound(conn, portal_code)? {
            Some(id) => Ok(Some(PortalFiling {
                dossier: dossiers::by_id(conn, id)?,
                created: false,
            })),
            None => Ok(None),
        }
    };
    if let Some(found) = existing(conn)? {
        return Ok(found);
    }
    let filed = write_tx(conn, |conn| {
        if let Some(found) = existing(conn)? {
            return Ok(found);
        }
        let Filed { dossier, .. } = crate::dossiers::file(conn, caller, input, now)?;
        store::add_inbound(conn, portal_code, dossier.id, now)?;
        Ok::<_, WorkflowError>(PortalFiling {
            dossier,
            created: true,
        })
    });
    match filed {
        // Refused because the same code was being filed at that moment (its
        // key taken, or its documents just used by that filing): answer that one.
        Err(error) => existing(conn)?.ok_or(error),
        ok => ok,
    }
}
