//! Where document files live. A small trait so a deployment can swap the
//! local directory for object storage without touching the rest.

use std::io;
use std::path::PathBuf;

pub trait FileStore: Send + Sync {
    fn put(&self, key: &str, bytes: &[u8]) -> io::Result<()>;
    fn get(&self, key: &str) -> io::Result<Vec<u8>>;
    fn delete(&self, key: &str) -> io::Result<()>;
    /// Whether a file could be stored now (readiness checks).
    fn check_writable(&self) -> io::Result<()> {
        Ok(())
    }
}

/// Files under a directory (by default `<data_dir>/files`), spread over
/// subdirectories by the first two characters of the key.
#[derive(Debug, Clone)]
pub struct LocalFileStore {
    root: PathBuf,
}

impl LocalFileStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    fn path(&self, key: &str) -> io::Result<PathBuf> {
        // Keys are our own UUIDs; anything else is refused rather than joined.
        let bad = || io::Error::new(io::ErrorKind::InvalidInput, "bad storage key");
        if key.len() < 3 || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(bad());
        }
        let shard = key.get(..2).ok_or_else(bad)?;
        Ok(self.root.join(shard).join(key))
    }
}

impl FileStore for LocalFileStore {
    fn put(&self, key: &str, bytes: &[u8]) -> io::Result<()> {
        let path = self.path(key)?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        // Write then rename, so a crash never leaves half a file under the key.
        let tmp = path.with_extension("partial");
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(tmp, path)
    }

    fn get(&self, key: &str) -> io::Result<Vec<u8>> {
        std::fs::read(self.path(key)?)
    }

    fn delete(&self, key: &str) -> io::Result<()> {
        match std::fs::remove_file(self.path(key)?) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }

    /// Creates the directory if needed, then writes and removes a probe file in it.
    fn check_writable(&self) -> io::Result<()> {
        std::fs::create_dir_all(&self.root)?;
        let probe = self
            .root
            .join(format!(".ready-{}", uuid::Uuid::new_v4().simple()));
        std::fs::write(&probe, b"ok")?;
        std::fs::remove_file(probe)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refuses_odd_keys() {
        let root = std::env::temp_dir().join(format!("motcua-store-{}", uuid::Uuid::new_v4()));
        let store = LocalFileStore::new(&root);
        let key = uuid::Uuid::new_v4().to_string();
        store.put(&key, b"%PDF-1.4").unwrap();
        assert_eq!(store.get(&key).unwrap(), b"%PDF-1.4");
        store.delete(&key).unwrap();
        assert!(store.get(&key).is_err());
        store.delete(&key).unwrap();
        assert!(store.put("../escape", b"x").is_err());
        store.check_writable().unwrap();
        let _ = std::fs::remove_dir_all(&root);
        // A file where the directory should be: nothing can be stored.
        std::fs::write(&root, b"not a directory").unwrap();
        assert!(store.check_writable().is_err());
        let _ = std::fs::remove_file(root);
    }
}
