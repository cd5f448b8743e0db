//! Password hashing (argon2id) and random secret text, for the API's
//! accounts and the administration commands alike.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use rand::RngCore;

/// Hashing failed (argon2 refused its input or parameters).
#[derive(Debug, thiserror::Error)]
#[error("hashing the password failed: {0}")]
pub struct HashError(String);

/// Random secret text: refresh tokens, client secrets, demo passwords, dev keys.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, buf)
}

/// The PHC string kept for a password.
pub fn hash_password(password: &str) -> Result<String, HashError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// Constant work whether or not the account exists, so timing tells nothing.
pub fn verify_password(password: &str, stored: Option<&str>) -> bool {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash_password("not-a-real-password-0").unwrap_or_default());
    let (hash, real) = match stored {
        Some(hash) => (hash, true),
        None => (dummy.as_str(), false),
    };
    let ok = PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false);
    ok && real
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords() {
        let hash = hash_password("mat-khau-dai-1").unwrap_or_default();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("mat-khau-dai-1", Some(&hash)));
        assert!(!verify_password("mat-khau-dai-2", Some(&hash)));
        assert!(!verify_password("not-a-real-password-0", None));
        assert!(!verify_password("x", Some("garbage")));
    }

    #[test]
    fn random_tokens_differ() {
        let a = random_token(32);
        assert_ne!(a, random_token(32));
        assert_eq!(a.len(), 43);
    }
}
