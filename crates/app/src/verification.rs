//! Proving a citizen account is the person of its ID number. Every route
//! (a one-time code, an officer at the counter, an identity provider) ends in
//! [`link`], which checks the names and records the outcome.

use chrono::{DateTime, Duration, Utc};
use motcua_domain::Role;
use motcua_domain::access::{
    self, ContactChannel, IdentityStatus, OtpCheck, OtpState, VerificationMethod,
};

use motcua_persistence::repo::identity::{
    self, AttemptOutcome, NewAttempt, NewMismatch, Verification,
};
use motcua_persistence::repo::{applicants, users};
use motcua_persistence::{AnyConnection, write_tx};

use crate::dossiers::{WorkflowError, WorkflowResult};

/// How a request to link an account ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Linked {
    Verified(Verification),
    /// The names differ: refused, and recorded for staff.
    NameMismatch,
}

/// The citizen account and the applicant record it claims.
fn claim(
    conn: &mut AnyConnection,
    user_id: i64,
) -> WorkflowResult<(motcua_domain::user::User, applicants::Applicant)> {
    let user = users::by_id(conn, user_id).map_err(|e| match e {
        motcua_persistence::StoreError::NotFound => WorkflowError::NotFound,
        other => other.into(),
    })?;
    if user.role != Role::Citizen {
        return Err(WorkflowError::Forbidden);
    }
    let applicant_id = user.applicant_id.ok_or(WorkflowError::NotFound)?;
    let applicant = applicants::by_id(conn, applicant_id)?;
    Ok((user, applicant))
}

/// Checks the names and marks the account verified, or records the mismatch.
/// The one function every route ends in; runs inside the caller's transaction.
pub fn link(
    conn: &mut AnyConnection,
    user_id: i64,
    method: VerificationMethod,
    actor_id: Option<i64>,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> WorkflowResult<Linked> {
    let (user, applicant) = claim(conn, user_id)?;
    if !access::names_match(&user.full_name, &applicant.full_name) {
        identity::record_mismatch(
            conn,
            &NewMismatch {
                user_id,
                applicant_id: applicant.id,
                account_name: &user.full_name,
                record_name: &applicant.full_name,
                method,
                actor_id,
                at: now,
            },
        )?;
        if method != VerificationMethod::Otp {
            identity::record_attempt(
                conn,
                &attempt(
                    user_id,
                    applicant.id,
                    method,
                    AttemptOutcome::Mismatch,
                    actor_id,
                    now,
                ),
            )?;
        }
        tracing::warn!(user_id, %method, "identity names differ; not linked");
        return Ok(Linked::NameMismatch);
    }
    identity::set_verified(conn, user_id, applicant.id, method, actor_id, note, now)?;
    if method != VerificationMethod::Otp {
        identity::record_attempt(
            conn,
            &attempt(
                user_id,
                applicant.id,
                method,
                AttemptOutcome::Verified,
                actor_id,
                now,
            ),
        )?;
    }
    tracing::info!(user_id, %method, "identity verified");
    Ok(Linked::Verified(identity::of(conn, user_id)?))
}

fn attempt<'a>(
    user_id: i64,
    applicant_id: i64,
    method: VerificationMethod,
    outcome: AttemptOutcome,
    actor_id: Option<i64>,
    at: DateTime<Utc>,
) -> NewAttempt<'a> {
    NewAttempt {
        user_id,
        applicant_id,
        method,
        channel: None,
        destination: None,
        code_hash: None,
        expires_at: None,
        outcome,
        actor_id,
        at,
    }
}

/// Verification by an identity provider or an officer: [`link`] in its own
/// transaction, so a mismatch stays recorded while the request is refused.
pub fn verify(
    conn: &mut AnyConnection,
    user_id: i64,
    method: VerificationMethod,
    actor_id: Option<i64>,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> WorkflowResult<Linked> {
    write_tx(conn, |conn| {
        link(conn, user_id, method, actor_id, note, now)
    })
}

/// What asking for a one-time code led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeRequest {
    /// Send `code` to `destination`; only its hash is stored.
    Send {
        channel: ContactChannel,
        destination: String,
        masked: String,
        expires_at: DateTime<Utc>,
    },
    AlreadyVerified,
    /// No phone or e-mail on the agency's record: verify at the counter.
    NoContact,
    /// Wait this many seconds before another code.
    TooSoon(i64),
    NameMismatch,
}

/// Stores a new code's hash for the account (superseding any pending one),
/// addressed to the contact on the agency's applicant record.
pub fn request_code(
    conn: &mut AnyConnection,
    user_id: i64,
    code_hash: &str,
    ttl: Duration,
    resend_gap: Duration,
    now: DateTime<Utc>,
) -> WorkflowResult<CodeRequest> {
    write_tx(conn, |conn| {
        let (user, applicant) = claim(conn, user_id)?;
        if identity::of(conn, user_id)?.status == IdentityStatus::Verified {
            return Ok(CodeRequest::AlreadyVerified);
        }
        let wait = access::resend_wait(identity::last_code_sent(conn, user_id)?, resend_gap, now);
        if wait > 0 {
            return Ok(CodeRequest::TooSoon(wait));
        }
        // A day's codes are capped: guessing cannot go on for ever, nor can
        // the person's phone be flooded.
        if identity::codes_sent_since(conn, user_id, now - Duration::hours(24))?
            >= access::OTP_MAX_PER_DAY
        {
            return Ok(CodeRequest::TooSoon(3600));
        }
        if !access::names_match(&user.full_name, &applicant.full_name) {
            // `link` records the mismatch; nothing is sent.
            link(conn, user_id, VerificationMethod::Otp, None, None, now)?;
            return Ok(CodeRequest::NameMismatch);
        }
        let Some((channel, destination)) =
            access::pick_contact(applicant.phone.as_deref(), applicant.email.as_deref())
        else {
            return Ok(CodeRequest::NoContact);
        };
        let masked = access::mask_contact(&channel, &destination);
        let expires_at = now + ttl;
        let channel_name = match channel {
            ContactChannel::Sms => "sms",
            ContactChannel::Email => "email",
        };
        identity::record_attempt(
            conn,
            &NewAttempt {
                user_id,
                applicant_id: applicant.id,
                method: VerificationMethod::Otp,
                channel: Some(channel_name),
                destination: Some(&masked),
                code_hash: Some(code_hash),
                expires_at: Some(expires_at),
                outcome: AttemptOutcome::Pending,
                actor_id: None,
                at: now,
            },
        )?;
        Ok(CodeRequest::Send {
            channel,
            destination,
            masked,
            expires_at,
        })
    })
}

/// What entering a code led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeEntry {
    Verified(Verification),
    Wrong {
        left: i32,
    },
    Expired,
    Exhausted,
    /// No code is pending: ask for one first.
    NoneSent,
    NameMismatch,
}

/// Checks an entered code (by its hash) against the account's pending code.
pub fn enter_code(
    conn: &mut AnyConnection,
    user_id: i64,
    entered_hash: &str,
    now: DateTime<Utc>,
) -> WorkflowResult<CodeEntry> {
    write_tx(conn, |conn| {
        let Some(pending) = identity::pending_code(conn, user_id)? else {
            return Ok(CodeEntry::NoneSent);
        };
        let state = OtpState {
            expires_at: pending.expires_at,
            tries: pending.tries,
        };
        let matches = constant_time_eq(pending.code_hash.as_bytes(), entered_hash.as_bytes());
        match access::check_otp(&state, matches, now) {
            OtpCheck::Accepted => {
                identity::record_try(
                    conn,
                    pending.id,
                    pending.tries,
                    AttemptOutcome::Verified,
                    now,
                )?;
                Ok(
                    match link(conn, user_id, VerificationMethod::Otp, None, None, now)? {
                        Linked::Verified(v) => CodeEntry::Verified(v),
                        Linked::NameMismatch => CodeEntry::NameMismatch,
                    },
                )
            }
            OtpCheck::Wrong { left } => {
                identity::record_try(
                    conn,
                    pending.id,
                    pending.tries + 1,
                    AttemptOutcome::Pending,
                    now,
                )?;
                Ok(CodeEntry::Wrong { left })
            }
            OtpCheck::Expired => {
                identity::record_try(
                    conn,
                    pending.id,
                    pending.tries,
                    AttemptOutcome::Expired,
                    now,
                )?;
                Ok(CodeEntry::Expired)
            }
            OtpCheck::Exhausted => {
                let tries = if matches {
                    pending.tries
                } else {
                    pending.tries + 1
                };
                identity::record_try(conn, pending.id, tries, AttemptOutcome::Exhausted, now)?;
                Ok(CodeEntry::Exhausted)
            }
        }
    })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
