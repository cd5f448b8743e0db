//! Password hashing (argon2id, the crate's defaults: 19 MiB, t=2, p=1) and
//! random secret text, for the API's accounts and the administration commands.
//!
//! Each argon2 run needs its whole memory cost at once. Allocated per call,
//! that memory went back to the allocator's per-thread arenas and was never
//! returned: a process grew by 19 MiB per concurrent login it had ever seen
//! (526 MB after 200 logins 8 at a time). Here each run borrows a block of
//! memory from a small free list and gives it back; the API's `Hasher`
//! (crates/http) bounds how many runs go at once, so the process holds at most
//! that many blocks however many logins arrive.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
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

/// Memory blocks not in use, kept for the next hash.
static SPARE: Mutex<Vec<Vec<Block>>> = Mutex::new(Vec::new());
/// How many spare blocks to keep: the largest concurrency any hasher allows.
static KEEP: AtomicUsize = AtomicUsize::new(1);

/// Runs `work` with a block of at least `blocks` argon2 blocks, reused when one is spare.
fn with_memory<T>(blocks: usize, work: impl FnOnce(&mut [Block]) -> T) -> T {
    let spare = SPARE.lock().ok().and_then(|mut spare| {
        let at = spare.iter().position(|m| m.len() >= blocks)?;
        Some(spare.swap_remove(at))
    });
    let mut memory = spare.unwrap_or_else(|| vec![Block::new(); blocks]);
    let out = work(&mut memory);
    if let Ok(mut spare) = SPARE.lock()
        && spare.len() < KEEP.load(Ordering::Relaxed)
    {
        spare.push(memory);
    }
    out
}

fn argon2id() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::DEFAULT)
}

/// Raw argon2 output for `password` under `argon`'s parameters.
fn compute(argon: &Argon2<'_>, password: &[u8], salt: &[u8], out: &mut [u8]) -> bool {
    with_memory(argon.params().block_count(), |memory| {
        argon
            .hash_password_into_with_memory(password, salt, out, memory)
            .is_ok()
    })
}

/// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`), as stored.
fn hash(password: &str) -> Result<String, String> {
    let argon = argon2id();
    let mut salt = [0u8; argon2::RECOMMENDED_SALT_LEN];
    rand::rng().fill_bytes(&mut salt);
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    if !compute(&argon, password.as_bytes(), &salt, &mut out) {
        return Err("argon2 failed".into());
    }
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(argon.params()).map_err(|e| e.to_string())?,
        salt: Some(Salt::new(&salt).map_err(|e| e.to_string())?),
        hash: Some(Output::new(&out).map_err(|e| e.to_string())?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches a stored PHC string, with the parameters it was made with.
fn verify(password: &str, stored: &str) -> bool {
    let Ok(phc) = PasswordHash::new(stored) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&phc.salt, &phc.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::new(phc.algorithm.as_str()) else {
        return false;
    };
    let version = match phc.version.map(Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = Params::try_from(&phc) else {
        return false;
    };
    let argon = Argon2::new(algorithm, version, params);
    let mut buffer = [0u8; Output::MAX_LENGTH];
    let Some(out) = buffer.get_mut(..expected.len()) else {
        return false;
    };
    if !compute(&argon, password.as_bytes(), salt.as_ref(), out) {
        return false;
    }
    // `Output`'s equality is constant-time.
    Output::new(out).is_ok_and(|computed| &computed == expected)
}

/// How many spare memory blocks to keep: at least `n` (the largest number of
/// hashes any caller lets run at once).
pub fn keep_spare_blocks(n: usize) {
    KEEP.fetch_max(n, Ordering::Relaxed);
}

/// The PHC string kept for a password (`$argon2id$v=19$m=19456,t=2,p=1$…`).
pub fn hash_password(password: &str) -> Result<String, HashError> {
    hash(password).map_err(HashError)
}

/// Constant work whether or not the account exists, so timing tells nothing.
pub fn verify_password(password: &str, stored: Option<&str>) -> bool {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash_password("not-a-real-password-0").unwrap_or_default());
    let (hash, real) = match stored {
        Some(hash) => (hash, true),
        None => (dummy.as_str(), false),
    };
    verify(password, hash) && real
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

    #[test]
    fn verifies_what_the_argon2_crate_made_and_the_reverse() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let ours = hash("mat-khau-dai-1").unwrap();
        assert!(
            ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{ours}"
        );
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            argon2::Argon2::default()
                .verify_password(b"mat-khau-dai-1", &parsed)
                .is_ok()
        );
        let theirs = argon2::Argon2::default()
            .hash_password(b"mat-khau-dai-1")
            .unwrap()
            .to_string();
        assert!(verify("mat-khau-dai-1", &theirs));
        assert!(!verify("mat-khau-dai-2", &theirs));
        assert!(!verify("mat-khau-dai-1", "not a hash"));
    }

    #[test]
    fn older_weaker_parameters_still_verify() {
        use argon2::password_hash::PasswordHasher;
        let argon = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(1024, 1, 1, None).unwrap(),
        );
        let stored = argon.hash_password(b"cu").unwrap().to_string();
        assert!(verify("cu", &stored));
        assert!(!verify("moi", &stored));
    }
}
