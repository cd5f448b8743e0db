//! The agencies' Ed25519 signing keys: made when an agency first signs,
//! rotated on an admin's request, never deleted (a retired key still
//! verifies what it signed).
//!
//! The 32-byte secret seed is stored sealed with AES-256-GCM (ring) under
//! the *sealing key*: SHA-256 of a fixed label and the server's secret
//! (`auth.jwt_secret`, required in production; a published development
//! constant otherwise, so a development database is not protected). The
//! key id is the associated data, so a sealed seed cannot be moved to
//! another key's row. The secret never leaves the server.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use ed25519_dalek::{Signer, SigningKey as Ed25519Key};
use rand::RngCore;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use sha2::{Digest, Sha256};

use motcua_persistence::repo::results::{self, SigningKey};
use motcua_persistence::{AnyConnection, StoreError, StoreResult};

use crate::settings::Settings;

/// The development secret the sealing key is derived from when no
/// `auth.jwt_secret` is configured: public, development only.
const DEVELOPMENT_SECRET: &str = "motcua-development-signing-keys-not-secret";

/// The key sealing the agencies' secret seeds (see the module's notes).
#[derive(Clone)]
pub struct SealingKey([u8; 32]);

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealingKey(..)")
    }
}

impl SealingKey {
    pub fn from_settings(settings: &Settings) -> Self {
        let secret = settings
            .auth
            .jwt_secret
            .as_ref()
            .map_or(DEVELOPMENT_SECRET, |s| s.expose());
        Self::from_secret(secret.as_bytes())
    }

    pub fn from_secret(secret: &[u8]) -> Self {
        let mut hash = Sha256::new();
        hash.update(b"motcua/signing-keys/v1\0");
        hash.update(secret);
        Self(hash.finalize().into())
    }

    fn aead(&self) -> StoreResult<LessSafeKey> {
        UnboundKey::new(&AES_256_GCM, &self.0)
            .map(LessSafeKey::new)
            .map_err(|_| StoreError::corrupt("sealing key"))
    }

    /// `base64url(nonce ‖ ciphertext ‖ tag)` of the seed, bound to `kid`.
    fn seal(&self, kid: &str, seed: &[u8; 32]) -> StoreResult<String> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let mut data = seed.to_vec();
        self.aead()?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(kid.as_bytes()),
                &mut data,
            )
            .map_err(|_| StoreError::corrupt("sealing a signing key"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Ok(URL_SAFE_NO_PAD.encode(out))
    }

    /// The seed sealed for `kid`, or `None` when it does not open (sealed
    /// under another server secret, or tampered with).
    fn open(&self, kid: &str, sealed: &str) -> Option<[u8; 32]> {
        let bytes = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        let (nonce, data) = bytes.split_at_checked(NONCE_LEN)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut data = data.to_vec();
        let plain = self
            .aead()
            .ok()?
            .open_in_place(nonce, Aad::from(kid.as_bytes()), &mut data)
            .ok()?;
        plain.try_into().ok()
    }
}

/// A key ready to sign: its id and the secret.
pub struct Signer25519 {
    pub kid: String,
    key: Ed25519Key,
}

impl Signer25519 {
    /// The Ed25519 signature of `message`, base64url without padding.
    pub fn sign(&self, message: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(self.key.sign(message).to_bytes())
    }
}

/// Makes a new key for the agency and puts it in use, retiring the one before.
pub fn rotate(
    conn: &mut AnyConnection,
    sealing: &SealingKey,
    agency_id: i64,
    now: DateTime<Utc>,
) -> StoreResult<Signer25519> {
    let mut seed = [0u8; 32];
    rand::rng().fill_bytes(&mut seed);
    let key = Ed25519Key::from_bytes(&seed);
    let mut id = [0u8; 9];
    rand::rng().fill_bytes(&mut id);
    let kid = format!("a{agency_id}-{}", URL_SAFE_NO_PAD.encode(id));
    let stored = SigningKey {
        sealed_secret: sealing.seal(&kid, &seed)?,
        kid: kid.clone(),
        agency_id,
        public_key: URL_SAFE_NO_PAD.encode(key.verifying_key().to_bytes()),
        created_at: now,
        retired_at: None,
    };
    results::put_key(conn, &stored, now)?;
    Ok(Signer25519 { kid, key })
}

/// The agency's key in use, made on its first signature. A key whose seed
/// no longer opens (the server secret changed) is retired for a new one.
pub fn signer_for(
    conn: &mut AnyConnection,
    sealing: &SealingKey,
    agency_id: i64,
    now: DateTime<Utc>,
) -> StoreResult<Signer25519> {
    if let Some(stored) = results::active_key(conn, agency_id)? {
        match sealing.open(&stored.kid, &stored.sealed_secret) {
            Some(seed) => {
                return Ok(Signer25519 {
                    kid: stored.kid,
                    key: Ed25519Key::from_bytes(&seed),
                });
            }
            None => tracing::warn!(
                kid = %stored.kid,
                "signing key does not open with this server's secret; rotating"
            ),
        }
    }
    rotate(conn, sealing, agency_id, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_seed_opens_only_with_its_key_and_kid() {
        let sealing = SealingKey::from_secret(b"one server secret of enough length");
        let seed = [7u8; 32];
        let sealed = sealing.seal("k1", &seed).unwrap();
        assert_eq!(sealing.open("k1", &sealed), Some(seed));
        assert_eq!(sealing.open("k2", &sealed), None);
        let other = SealingKey::from_secret(b"another server secret entirely!!");
        assert_eq!(other.open("k1", &sealed), None);
        assert_eq!(sealing.open("k1", "not base64!"), None);
        assert!(!sealed.contains(&URL_SAFE_NO_PAD.encode(seed)));
    }
}
