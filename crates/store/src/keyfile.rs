//! Generated key material on disk: 256-bit keys created on first start with 0600 permissions,
//! read back on later starts, zeroized when dropped.

use std::io::Write;
use std::path::Path;

use rand::RngCore;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::{StoreError, fs_perms};

/// 32 bytes of key material. `Debug` never prints it.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct KeyMaterial([u8; 32]);

impl KeyMaterial {
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyMaterial([redacted])")
    }
}

/// Reads the key at `path`, or generates one there (directory 0700, file 0600) if none exists.
/// A file of the wrong size is an error, never silently replaced.
pub fn load_or_generate(path: &Path) -> Result<KeyMaterial, StoreError> {
    if let Some(dir) = path.parent() {
        fs_perms::private_dir(dir)?;
    }
    match std::fs::read(path) {
        Ok(mut bytes) => {
            let key = <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
                StoreError::Corrupt(format!(
                    "key file {} holds {} bytes, expected 32; restore it from backup (a new key \
                     would make existing data unreadable)",
                    path.display(),
                    bytes.len()
                ))
            });
            bytes.zeroize();
            fs_perms::private_file(path)?;
            Ok(KeyMaterial(key?))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut key = [0u8; 32];
            rand::rng().fill_bytes(&mut key);
            let material = KeyMaterial(key);
            key.zeroize();
            write_new(path, material.expose())?;
            Ok(material)
        }
        Err(e) => Err(StoreError::Io {
            context: format!("reading key file {}", path.display()),
            source: e,
        }),
    }
}

/// Reads the (already sealed) key blob at `path`, or writes `create()`'s output there (0600) if
/// none exists. For wrapped keys: the bytes are ciphertext, so no zeroizing is needed.
pub fn load_or_create(
    path: &Path,
    create: impl FnOnce() -> Vec<u8>,
) -> Result<Vec<u8>, StoreError> {
    if let Some(dir) = path.parent() {
        fs_perms::private_dir(dir)?;
    }
    match std::fs::read(path) {
        Ok(bytes) => {
            fs_perms::private_file(path)?;
            Ok(bytes)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let bytes = create();
            write_new(path, &bytes)?;
            Ok(bytes)
        }
        Err(e) => Err(StoreError::Io {
            context: format!("reading key file {}", path.display()),
            source: e,
        }),
    }
}

/// Length of one record of a versioned key file: version (u32 BE) and the 32-byte key.
const VERSIONED_RECORD: usize = 4 + 32;

/// Loads a versioned key file (the local master key: one or more `(version, key)` records),
/// generating version 1 on first start. Ascending by version.
pub fn load_or_generate_versioned(path: &Path) -> Result<Vec<(u32, KeyMaterial)>, StoreError> {
    let bytes = zeroize::Zeroizing::new(load_or_create(path, || {
        let mut record = vec![0u8; VERSIONED_RECORD];
        record[..4].copy_from_slice(&1u32.to_be_bytes());
        rand::rng().fill_bytes(&mut record[4..]);
        record
    })?);
    if bytes.is_empty() || bytes.len() % VERSIONED_RECORD != 0 {
        return Err(StoreError::Corrupt(format!(
            "master key file {} holds {} bytes, not a whole number of 36-byte records; restore it \
             from backup (without it, no encrypted content can be read)",
            path.display(),
            bytes.len()
        )));
    }
    let mut keys: Vec<(u32, KeyMaterial)> = bytes
        .chunks(VERSIONED_RECORD)
        .map(|r| {
            let version = u32::from_be_bytes([r[0], r[1], r[2], r[3]]);
            let mut key = [0u8; 32];
            key.copy_from_slice(&r[4..]);
            let material = KeyMaterial(key);
            key.zeroize();
            (version, material)
        })
        .collect();
    keys.sort_by_key(|(v, _)| *v);
    Ok(keys)
}

/// Replaces a versioned key file atomically (write a 0600 temporary file, fsync, rename), so an
/// interruption leaves either the old or the new file, never a torn one.
pub fn write_versioned(path: &Path, keys: &[(u32, &KeyMaterial)]) -> Result<(), StoreError> {
    let mut bytes = zeroize::Zeroizing::new(Vec::with_capacity(keys.len() * VERSIONED_RECORD));
    for (version, key) in keys {
        bytes.extend_from_slice(&version.to_be_bytes());
        bytes.extend_from_slice(key.expose());
    }
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    write_new(&tmp, &bytes)?;
    std::fs::rename(&tmp, path).map_err(StoreError::io(format!(
        "replacing key file {}",
        path.display()
    )))?;
    if let Some(dir) = path.parent()
        && let Ok(dir) = std::fs::File::open(dir)
    {
        let _ = dir.sync_all();
    }
    Ok(())
}

impl KeyMaterial {
    /// A fresh random key.
    pub fn random() -> Self {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        let material = Self(key);
        key.zeroize();
        material
    }

    /// Wraps existing bytes (e.g. a key given in configuration).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

fn write_new(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let context = || format!("writing key file {}", path.display());
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(StoreError::io(context()))?;
    file.write_all(bytes).map_err(StoreError::io(context()))?;
    file.sync_all().map_err(StoreError::io(context()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_generated_once_with_private_permissions_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/instance.key");
        let first = load_or_generate(&path).unwrap();
        let second = load_or_generate(&path).unwrap();
        assert_eq!(first.expose(), second.expose());
        assert_ne!(first.expose(), &[0u8; 32]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&path), 0o600);
            assert_eq!(mode(path.parent().unwrap()), 0o700);
        }
        assert!(
            !format!("{first:?}").contains(&format!("{}", first.expose()[0]))
                || format!("{first:?}").contains("redacted")
        );
    }

    #[test]
    fn a_damaged_key_file_is_an_error_not_a_new_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("instance.key");
        std::fs::write(&path, b"short").unwrap();
        let err = load_or_generate(&path).unwrap_err().to_string();
        assert!(err.contains("expected 32"), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), b"short");
    }
}
