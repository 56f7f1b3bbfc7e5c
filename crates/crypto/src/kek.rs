//! The master key (key-encryption key) behind every org key, as a trait: `local` (key versions
//! held in memory, loaded from a file by the caller) is here; `aws-kms` is implemented in `core`
//! over the `kms` client. Implementations never log or return key material.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::envelope::{self, Binding, KeyRef};
use crate::keys::SymmetricKey;

/// A key wrapped by a master key, with everything needed to find that key again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KekWrapped {
    /// `local` or `aws-kms`.
    pub provider: String,
    /// The master key's id: a fingerprint for `local`, a key id or ARN for `aws-kms`.
    pub key_id: String,
    /// The master key's version (`local`); 0 where the provider versions keys itself.
    pub version: u32,
    pub ciphertext: Vec<u8>,
}

/// What a wrapped key is bound to: the org it belongs to and its version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KekContext {
    pub org: [u8; 16],
    pub org_key_version: u32,
}

/// Why a master-key operation failed; messages name the provider and what to do, never keys.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KekError {
    /// The provider cannot be reached or is misconfigured.
    #[error("master key unavailable: {0}")]
    Unavailable(String),
    /// The provider refused or the wrapped key does not open under it.
    #[error("master key refused the operation: {0}")]
    Rejected(String),
}

/// A source of master-key wrapping.
#[async_trait::async_trait]
pub trait Kek: Send + Sync + fmt::Debug {
    /// `local` or `aws-kms`.
    fn provider(&self) -> &'static str;
    /// The key id new wraps are made under.
    fn current_key_id(&self) -> String;
    /// The version new wraps are made under.
    fn current_version(&self) -> u32;
    /// Whether `wrapped` was made under the current key and version (so a rotation can skip it).
    fn is_current(&self, wrapped: &KekWrapped) -> bool {
        wrapped.provider == self.provider()
            && wrapped.key_id == self.current_key_id()
            && wrapped.version == self.current_version()
    }
    /// A fresh key and its wrapped form (a KMS makes the key itself: GenerateDataKey).
    async fn generate(&self, context: &KekContext) -> Result<(SymmetricKey, KekWrapped), KekError> {
        let key = SymmetricKey::generate();
        let wrapped = self.wrap(&key, context).await?;
        Ok((key, wrapped))
    }
    async fn wrap(&self, key: &SymmetricKey, context: &KekContext) -> Result<KekWrapped, KekError>;
    async fn unwrap(
        &self,
        wrapped: &KekWrapped,
        context: &KekContext,
    ) -> Result<SymmetricKey, KekError>;
}

/// Master keys held locally: one or more versions, the newest wrapping, all unwrapping (so a
/// rotation can re-wrap at its own pace).
pub struct LocalKek {
    /// (version, key), ascending by version; never empty.
    versions: Vec<(u32, SymmetricKey)>,
    fingerprint: String,
}

impl fmt::Debug for LocalKek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalKek")
            .field(
                "versions",
                &self.versions.iter().map(|(v, _)| *v).collect::<Vec<_>>(),
            )
            .field("fingerprint", &self.fingerprint)
            .finish()
    }
}

/// A short public fingerprint of a master key, so a wrong key file is named as such.
pub fn fingerprint(key: &SymmetricKey) -> String {
    let mut hash = Sha256::new();
    hash.update(b"meetvault/master-key-fingerprint/v1");
    hash.update(key.expose());
    hex::encode(&hash.finalize()[..8])
}

fn binding(context: &KekContext) -> Binding<'static> {
    let mut row = [0u8; 16];
    row[12..].copy_from_slice(&context.org_key_version.to_be_bytes());
    Binding {
        org: context.org,
        table: "org_keys",
        row,
        field: "key",
    }
}

impl LocalKek {
    /// `versions` must not be empty; the highest version wraps.
    pub fn new(mut versions: Vec<(u32, SymmetricKey)>) -> Result<Self, KekError> {
        versions.sort_by_key(|(v, _)| *v);
        let Some((_, newest)) = versions.last() else {
            return Err(KekError::Unavailable("no local master key".into()));
        };
        let fingerprint = fingerprint(newest);
        Ok(Self {
            versions,
            fingerprint,
        })
    }

    fn key(&self, version: u32) -> Option<&SymmetricKey> {
        self.versions
            .iter()
            .find(|(v, _)| *v == version)
            .map(|(_, k)| k)
    }

    /// The versions held.
    pub fn versions(&self) -> Vec<u32> {
        self.versions.iter().map(|(v, _)| *v).collect()
    }
}

#[async_trait::async_trait]
impl Kek for LocalKek {
    fn provider(&self) -> &'static str {
        "local"
    }
    fn current_key_id(&self) -> String {
        "local".into()
    }
    fn current_version(&self) -> u32 {
        self.versions.last().map_or(0, |(v, _)| *v)
    }

    async fn wrap(&self, key: &SymmetricKey, context: &KekContext) -> Result<KekWrapped, KekError> {
        let version = self.current_version();
        let master = self
            .key(version)
            .ok_or_else(|| KekError::Unavailable("no local master key".into()))?;
        let key_ref = KeyRef {
            id: [0; 16],
            version,
        };
        Ok(KekWrapped {
            provider: self.provider().into(),
            key_id: self.current_key_id(),
            version,
            ciphertext: envelope::wrap_key(master, key_ref, &binding(context), key),
        })
    }

    async fn unwrap(
        &self,
        wrapped: &KekWrapped,
        context: &KekContext,
    ) -> Result<SymmetricKey, KekError> {
        if wrapped.provider != self.provider() {
            return Err(KekError::Unavailable(format!(
                "this org key is wrapped by the {} provider, but keys.provider is \"local\"",
                wrapped.provider
            )));
        }
        let master = self.key(wrapped.version).ok_or_else(|| {
            KekError::Unavailable(format!(
                "local master key version {} is not in the key file (it holds {:?}); restore it or \
                 the org keys it wraps cannot be opened",
                wrapped.version,
                self.versions()
            ))
        })?;
        envelope::unwrap_key(master, &binding(context), &wrapped.ciphertext).map_err(|_| {
            KekError::Rejected(format!(
                "an org key does not open under local master key version {} (fingerprint {}): wrong key file?",
                wrapped.version,
                fingerprint(master)
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run<F: std::future::Future>(f: F) -> F::Output {
        // The local provider never awaits anything; a no-op waker drives it to completion.
        let mut f = std::pin::pin!(f);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match f.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => panic!("local KEK future pending"),
        }
    }

    #[test]
    fn newest_version_wraps_and_all_unwrap() {
        let ctx = KekContext {
            org: [7; 16],
            org_key_version: 1,
        };
        let v1 = SymmetricKey::generate();
        let v1_copy = SymmetricKey::from_bytes(*v1.expose());
        let old = LocalKek::new(vec![(1, v1)]).unwrap();
        let org_key = SymmetricKey::generate();
        let wrapped = run(old.wrap(&org_key, &ctx)).unwrap();
        assert_eq!(wrapped.version, 1);

        let both = LocalKek::new(vec![(2, SymmetricKey::generate()), (1, v1_copy)]).unwrap();
        assert_eq!(both.current_version(), 2);
        assert!(!both.is_current(&wrapped));
        assert_eq!(
            run(both.unwrap(&wrapped, &ctx)).unwrap().expose(),
            org_key.expose()
        );
        let rewrapped = run(both.wrap(&org_key, &ctx)).unwrap();
        assert!(both.is_current(&rewrapped));

        // Another org or org-key version: refused.
        let other = KekContext {
            org: [8; 16],
            org_key_version: 1,
        };
        assert!(matches!(
            run(both.unwrap(&wrapped, &other)),
            Err(KekError::Rejected(_))
        ));
        // Version 1 retired: a clear error naming the missing version.
        let newest_only = LocalKek::new(vec![(2, SymmetricKey::generate())]).unwrap();
        let err = run(newest_only.unwrap(&wrapped, &ctx)).unwrap_err();
        assert!(err.to_string().contains("version 1"), "{err}");
        assert!(!format!("{both:?}").contains(&hex::encode(org_key.expose())));
    }
}
