//! `Idempotency-Key` for writes that must not happen twice: the first request
//! with a key claims it, does its work and stores its response in the same
//! transaction; a repeat gets that response again with `Idempotent-Replayed: true`.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName};
use actix_web::{HttpRequest, HttpResponse};
use motcua_persistence::repo::idempotency::{self, Claim};
use motcua_persistence::{AnyConnection, write_tx};
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::state::AppState;

pub const HEADER: HeaderName = HeaderName::from_static("idempotency-key");
pub const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// The key of a request, if it sent one: 1–255 characters of `[A-Za-z0-9-]`.
pub fn key_of(req: &HttpRequest) -> ApiResult<Option<String>> {
    let Some(value) = req.headers().get(HEADER) else {
        return Ok(None);
    };
    let key = value.to_str().unwrap_or("").trim().to_owned();
    let valid = (1..=255).contains(&key.len())
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !valid {
        return Err(ApiError::new(ErrorCode::InvalidHeader).detail(
            "Idempotency-Key gồm 1–255 ký tự A-Z, a-z, 0-9 hoặc '-'.",
            "Idempotency-Key takes 1-255 characters of A-Z, a-z, 0-9 or '-'.",
        ));
    }
    Ok(Some(key))
}

/// SHA-256 of the method, path and body with object keys sorted, so that the
/// same request written with keys in another order is the same request.
pub fn fingerprint(method: &str, path: &str, body: &serde_json::Value) -> String {
    fn canonical(value: &serde_json::Value, out: &mut String) {
        match value {
            serde_json::Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                out.push('{');
                for (i, key) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&serde_json::Value::String(key.clone()).to_string());
                    out.push(':');
                    canonical(&map[key], out);
                }
                out.push('}');
            }
            serde_json::Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    canonical(item, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut text = format!("{method} {path}\n");
    canonical(body, &mut text);
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// What a write produced, to send now and to replay later.
pub struct Written {
    pub status: StatusCode,
    pub body: serde_json::Value,
    pub location: Option<String>,
    pub etag: Option<String>,
}

fn respond(outcome: &Written, replayed: bool) -> HttpResponse {
    let status = if replayed {
        StatusCode::OK
    } else {
        outcome.status
    };
    let mut res = HttpResponse::build(status);
    if let Some(location) = &outcome.location {
        res.insert_header((header::LOCATION, location.as_str()));
    }
    if let Some(etag) = &outcome.etag {
        res.insert_header((header::ETAG, etag.as_str()));
    }
    if replayed {
        res.insert_header((REPLAYED, "true"));
    }
    res.json(&outcome.body)
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Stored {
    body: serde_json::Value,
    location: Option<String>,
    etag: Option<String>,
}

/// Runs `work` once per (caller, key), in one write transaction with the
/// claim of the key and the stored response, so the claim costs no
/// transaction of its own. A repeat sent meanwhile waits for that
/// transaction (the key's row on PostgreSQL, the write lock on SQLite) and
/// then replays its answer, or does the work itself if it failed (a failure
/// rolls the claim back with the work: the key stays free for a corrected
/// request). Without a key `work` simply runs, in a write transaction too.
pub async fn once<F>(
    state: &AppState,
    caller: &str,
    key: Option<String>,
    fingerprint: String,
    work: F,
) -> ApiResult<HttpResponse>
where
    F: FnOnce(&mut AnyConnection) -> ApiResult<Written> + Send + 'static,
{
    let caller = caller.to_owned();
    let now = state.clock.now();
    let (outcome, replayed) = state
        .db(move |conn| {
            write_tx(conn, |conn| {
                if let Some(key) = &key {
                    let claim = idempotency::claim_in_tx(conn, &caller, key, &fingerprint, now)?;
                    if let Some(earlier) = earlier_answer(claim)? {
                        return Ok((earlier, true));
                    }
                }
                let outcome = work(conn)?;
                if let Some(key) = &key {
                    store(conn, &caller, key, &outcome)?;
                }
                Ok((outcome, false))
            })
        })
        .await?;
    Ok(respond(&outcome, replayed))
}

/// Like [`once`] for work that calls out (a gateway) and so must not hold a
/// database transaction meanwhile: `work` takes connections as it needs them,
/// and the response is stored when it is done. A crash in between leaves the
/// key in flight until it is abandoned; the work's own records stay.
pub async fn once_unlocked<F>(
    state: &AppState,
    caller: &str,
    key: Option<String>,
    fingerprint: String,
    work: F,
) -> ApiResult<HttpResponse>
where
    F: FnOnce(&motcua_persistence::Pool) -> ApiResult<Written> + Send + 'static,
{
    let pool = state.pool.clone();
    let Some(key) = key else {
        let outcome = AppState::cpu(move || work(&pool)).await??;
        return Ok(respond(&outcome, false));
    };
    let caller = caller.to_owned();
    if let Some(replayed) = claim(state, &caller, &key, fingerprint).await? {
        return Ok(replayed);
    }
    let result = match AppState::cpu(move || work(&pool)).await? {
        Ok(outcome) => {
            let (c, k, o) = (caller.clone(), key.clone(), outcome);
            state
                .db(move |conn| {
                    store(conn, &c, &k, &o)?;
                    Ok(o)
                })
                .await
        }
        Err(error) => Err(error),
    };
    finish(state, caller, key, result).await
}

/// Claims the key in a transaction of its own (`None`), or answers for the
/// request that held it (`Some`).
async fn claim(
    state: &AppState,
    caller: &str,
    key: &str,
    fingerprint: String,
) -> ApiResult<Option<HttpResponse>> {
    let (c, k) = (caller.to_owned(), key.to_owned());
    let now = state.clock.now();
    let claim = state
        .db(move |conn| Ok(idempotency::claim(conn, &c, &k, &fingerprint, now)?))
        .await?;
    Ok(earlier_answer(claim)?.map(|earlier| respond(&earlier, true)))
}

/// `None` when the key is ours; the earlier answer to replay; or why the key
/// cannot be used now.
fn earlier_answer(claim: Claim) -> ApiResult<Option<Written>> {
    match claim {
        Claim::Claimed => Ok(None),
        Claim::Replay { status, body, .. } => {
            let stored: Stored = serde_json::from_str(&body)
                .map_err(|e| ApiError::internal("stored response", e))?;
            Ok(Some(Written {
                status: StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
                body: stored.body,
                location: stored.location,
                etag: stored.etag,
            }))
        }
        Claim::Mismatch => Err(ApiError::new(ErrorCode::IdempotencyKeyReused)),
        Claim::InFlight => {
            Err(ApiError::new(ErrorCode::IdempotencyInFlight).header(header::RETRY_AFTER, "1"))
        }
    }
}

fn store(conn: &mut AnyConnection, caller: &str, key: &str, outcome: &Written) -> ApiResult<()> {
    let stored = Stored {
        body: outcome.body.clone(),
        location: outcome.location.clone(),
        etag: outcome.etag.clone(),
    };
    let text =
        serde_json::to_string(&stored).map_err(|e| ApiError::internal("store response", e))?;
    idempotency::complete(
        conn,
        caller,
        key,
        outcome.status.as_u16(),
        &text,
        outcome.location.as_deref(),
    )?;
    Ok(())
}

/// Answers, giving the key back when the work failed: failures are not
/// stored, so a corrected request may use the key.
async fn finish(
    state: &AppState,
    caller: String,
    key: String,
    result: ApiResult<Written>,
) -> ApiResult<HttpResponse> {
    match result {
        Ok(outcome) => Ok(respond(&outcome, false)),
        Err(error) => {
            if let Err(e) = state
                .db(move |conn| Ok(idempotency::release(conn, &caller, &key)?))
                .await
            {
                tracing::warn!(error = %e, "could not release an idempotency key");
            }
            Err(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_ignores_key_order_but_not_values() {
        let a = serde_json::json!({"a": 1, "b": {"x": [1, 2], "y": "z"}});
        let b = serde_json::json!({"b": {"y": "z", "x": [1, 2]}, "a": 1});
        let c = serde_json::json!({"b": {"y": "z", "x": [2, 1]}, "a": 1});
        assert_eq!(fingerprint("POST", "/p", &a), fingerprint("POST", "/p", &b));
        assert_ne!(fingerprint("POST", "/p", &a), fingerprint("POST", "/p", &c));
        assert_ne!(fingerprint("POST", "/p", &a), fingerprint("POST", "/q", &a));
    }
}
