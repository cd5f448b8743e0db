//! Refresh tokens. Only their SHA-256 is stored. Each login starts a family;
//! every refresh consumes the presented token and issues the next one in the
//! same family. A consumed token presented again means it leaked: the whole
//! family is revoked, so neither the thief nor the owner can continue.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use crate::schema::refresh_tokens;
use crate::time::{from_db, to_db};
use crate::{AnyConnection, StoreResult, write_tx};

/// user, family, expiry, used, revoked.
type TokenRow = (
    i64,
    String,
    chrono::NaiveDateTime,
    Option<chrono::NaiveDateTime>,
    Option<chrono::NaiveDateTime>,
);

pub struct NewToken<'a> {
    pub user_id: i64,
    pub family_id: &'a str,
    pub token_hash: &'a str,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

pub fn insert(conn: &mut AnyConnection, token: &NewToken<'_>) -> StoreResult<()> {
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::user_id.eq(token.user_id),
            refresh_tokens::family_id.eq(token.family_id),
            refresh_tokens::token_hash.eq(token.token_hash),
            refresh_tokens::created_at.eq(to_db(token.created_at)),
            refresh_tokens::expires_at.eq(to_db(token.expires_at)),
        ))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The token was valid and is now consumed; continue the family.
    Rotated {
        user_id: i64,
        family_id: String,
    },
    Unknown,
    Expired,
    Revoked,
    /// Presented after it was consumed: the family is now revoked.
    Reused,
}

/// Consumes the presented token if it is live at `at` (the app's clock);
/// detects reuse atomically.
pub fn consume(
    conn: &mut AnyConnection,
    token_hash: &str,
    at: DateTime<Utc>,
) -> StoreResult<Rotation> {
    write_tx(conn, |conn| {
        let found: Option<TokenRow> = refresh_tokens::table
            .filter(refresh_tokens::token_hash.eq(token_hash))
            .select((
                refresh_tokens::user_id,
                refresh_tokens::family_id,
                refresh_tokens::expires_at,
                refresh_tokens::used_at,
                refresh_tokens::revoked_at,
            ))
            .first(conn)
            .optional()?;
        let Some((user_id, family_id, expires_at, used_at, revoked_at)) = found else {
            return Ok(Rotation::Unknown);
        };
        if revoked_at.is_some() {
            return Ok(Rotation::Revoked);
        }
        if used_at.is_some() {
            revoke_family(conn, &family_id, at)?;
            return Ok(Rotation::Reused);
        }
        if from_db(expires_at) <= at {
            return Ok(Rotation::Expired);
        }
        // Conditional: of two concurrent refreshes with one token, one wins.
        let consumed = diesel::update(
            refresh_tokens::table
                .filter(refresh_tokens::token_hash.eq(token_hash))
                .filter(refresh_tokens::used_at.is_null()),
        )
        .set(refresh_tokens::used_at.eq(to_db(at)))
        .execute(conn)?;
        if consumed == 0 {
            revoke_family(conn, &family_id, at)?;
            return Ok(Rotation::Reused);
        }
        Ok(Rotation::Rotated { user_id, family_id })
    })
}

pub fn revoke_family(
    conn: &mut AnyConnection,
    family_id: &str,
    at: DateTime<Utc>,
) -> StoreResult<usize> {
    Ok(diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::family_id.eq(family_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(to_db(at)))
    .execute(conn)?)
}

/// Logout: revokes the family of the presented token, if any; returns whether one was found.
pub fn revoke_by_token(
    conn: &mut AnyConnection,
    token_hash: &str,
    at: DateTime<Utc>,
) -> StoreResult<bool> {
    let family: Option<String> = refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(token_hash))
        .select(refresh_tokens::family_id)
        .first(conn)
        .optional()?;
    match family {
        Some(family) => {
            revoke_family(conn, &family, at)?;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// Revokes every session of a user (deactivation, password change).
pub fn revoke_user(
    conn: &mut AnyConnection,
    user_id: i64,
    at: DateTime<Utc>,
) -> StoreResult<usize> {
    Ok(diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::user_id.eq(user_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(to_db(at)))
    .execute(conn)?)
}
