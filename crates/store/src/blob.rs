//! The blob store for recordings and documents: the local filesystem by default, any
//! S3-compatible service by configuration, both behind `object_store`. Uploads stream (multipart
//! above a threshold, with bounded memory), reads stream or take a byte range.
//! Knows nothing of encryption: callers hand it ciphertext.

use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt, TryStreamExt};
use meetvault_config::{BlobBackend, Config, S3Config};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path as ObjectPath;
use object_store::prefix::PrefixStore;
use object_store::{
    BackoffConfig, ClientOptions, GetOptions, GetRange, ObjectStore, PutPayload, RetryConfig,
    WriteMultipart,
};

use crate::{StoreError, fs_perms};

/// Parts uploaded concurrently by one multipart upload; with the part size this bounds memory.
const MULTIPART_CONCURRENCY: usize = 4;

/// A validated object key: `/`-separated segments of `[A-Za-z0-9._-]`, no `.`/`..`, no empty
/// segment, at most 1024 bytes. Keys built from ids cannot escape their prefix.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BlobKey(String);

impl BlobKey {
    pub fn parse(key: &str) -> Result<Self, StoreError> {
        let bad = |reason| {
            Err(StoreError::InvalidBlobKey {
                key: key.chars().take(80).collect(),
                reason,
            })
        };
        if key.is_empty() || key.len() > 1024 {
            return bad("must be 1 to 1024 bytes");
        }
        for segment in key.split('/') {
            if segment.is_empty() || segment == "." || segment == ".." {
                return bad("segments must be non-empty and not `.` or `..`");
            }
            if !segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
            {
                return bad("only A-Z, a-z, 0-9, `.`, `_`, `-` and `/` are allowed");
            }
        }
        Ok(Self(key.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn path(&self) -> ObjectPath {
        ObjectPath::from(self.0.as_str())
    }
}

impl std::fmt::Display for BlobKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the store knows of one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobMeta {
    pub key: String,
    pub size: u64,
    pub last_modified: DateTime<Utc>,
}

/// A stream of an object's bytes.
pub type BlobStream = futures::stream::BoxStream<'static, Result<Bytes, StoreError>>;

/// The configured blob backend. Cheap to clone.
#[derive(Clone)]
pub struct BlobStore {
    inner: Arc<dyn ObjectStore>,
    /// S3 without a prefix: multipart uploads driven part by part ([`BlobStore::put_part`]).
    multipart: Option<Arc<dyn MultipartStore>>,
    backend: BlobBackend,
    part_size: usize,
}

impl std::fmt::Debug for BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobStore")
            .field("backend", &self.backend)
            .field("part_size", &self.part_size)
            .finish_non_exhaustive()
    }
}

impl BlobStore {
    /// Opens the backend named by the configuration (creating the filesystem root, 0700).
    pub fn open(config: &Config) -> Result<Self, StoreError> {
        let part_size = config.blobs.multipart_threshold_bytes;
        match (config.blobs.backend, &config.blobs.s3) {
            (BlobBackend::Filesystem, _) => Self::filesystem(&config.blob_path(), part_size),
            (BlobBackend::S3, Some(s3)) => Self::s3(s3, part_size),
            (BlobBackend::S3, None) => Err(StoreError::BlobConfig(
                "blobs.backend is \"s3\" but [blobs.s3] is missing".into(),
            )),
        }
    }

    pub fn filesystem(root: &std::path::Path, part_size: usize) -> Result<Self, StoreError> {
        fs_perms::private_dir(root)?;
        let fs = LocalFileSystem::new_with_prefix(root)?.with_automatic_cleanup(true);
        Ok(Self {
            inner: Arc::new(fs),
            multipart: None,
            backend: BlobBackend::Filesystem,
            part_size,
        })
    }

    pub fn s3(s3: &S3Config, part_size: usize) -> Result<Self, StoreError> {
        Self::s3_built(Self::s3_builder(s3), s3, part_size)
    }

    /// A bucket reached through `connector` (a customer's bucket: the outbound client's
    /// screened HTTP stack, so an endpoint that points inside is never connected to).
    pub fn s3_through<C: object_store::client::HttpConnector>(
        s3: &S3Config,
        part_size: usize,
        connector: C,
    ) -> Result<Self, StoreError> {
        Self::s3_built(
            Self::s3_builder(s3).with_http_connector(connector),
            s3,
            part_size,
        )
    }

    fn s3_builder(s3: &S3Config) -> AmazonS3Builder {
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&s3.bucket)
            .with_region(&s3.region)
            .with_virtual_hosted_style_request(!s3.path_style)
            .with_allow_http(s3.allow_http)
            .with_client_options(
                ClientOptions::new()
                    .with_allow_http(s3.allow_http)
                    .with_connect_timeout(Duration::from_secs(5))
                    .with_timeout(Duration::from_secs(120)),
            )
            // Fail within seconds, not minutes, so readiness and requests report a down store.
            .with_retry(RetryConfig {
                backoff: BackoffConfig::default(),
                max_retries: 3,
                retry_timeout: Duration::from_secs(15),
            });
        if let Some(endpoint) = &s3.endpoint {
            builder = builder.with_endpoint(endpoint.as_str().trim_end_matches('/'));
        }
        if let (Some(id), Some(secret)) = (&s3.access_key_id, &s3.secret_access_key) {
            builder = builder
                .with_access_key_id(id.expose())
                .with_secret_access_key(secret.expose());
        }
        builder
    }

    fn s3_built(
        builder: AmazonS3Builder,
        s3: &S3Config,
        part_size: usize,
    ) -> Result<Self, StoreError> {
        let store = builder.build()?;
        let prefix = s3.prefix.trim_matches('/');
        let (inner, multipart): (Arc<dyn ObjectStore>, Option<Arc<dyn MultipartStore>>) =
            if prefix.is_empty() {
                let store = Arc::new(store);
                (store.clone(), Some(store))
            } else {
                (Arc::new(PrefixStore::new(store, prefix)), None)
            };
        Ok(Self {
            inner,
            multipart,
            backend: BlobBackend::S3,
            part_size,
        })
    }

    pub fn backend(&self) -> BlobBackend {
        self.backend
    }

    /// Stores a whole object from memory.
    pub async fn put(&self, key: &BlobKey, bytes: Bytes) -> Result<u64, StoreError> {
        let size = bytes.len() as u64;
        self.inner.put(&key.path(), PutPayload::from(bytes)).await?;
        Ok(size)
    }

    /// Stores an object from a stream without holding it in memory: one request for small
    /// objects, a multipart upload (parts of `multipart_threshold_bytes`) above that. If the
    /// stream fails, the upload is aborted and nothing is left under `key`.
    pub async fn put_stream<S>(&self, key: &BlobKey, stream: S) -> Result<u64, StoreError>
    where
        S: Stream<Item = Result<Bytes, std::io::Error>> + Send,
    {
        let mut stream = std::pin::pin!(stream);
        let mut head: Vec<Bytes> = Vec::new();
        let mut head_len = 0usize;
        // Buffer up to one part: most documents never need a multipart upload.
        while head_len <= self.part_size {
            match stream.next().await {
                Some(chunk) => {
                    let chunk = chunk.map_err(StoreError::io("reading upload stream"))?;
                    head_len += chunk.len();
                    head.push(chunk);
                }
                None => {
                    let payload: PutPayload = head.into_iter().collect();
                    self.inner.put(&key.path(), payload).await?;
                    return Ok(head_len as u64);
                }
            }
        }
        let upload = self.inner.put_multipart(&key.path()).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, self.part_size);
        let mut total = 0u64;
        let result: Result<(), StoreError> = async {
            for chunk in head {
                total += chunk.len() as u64;
                writer.put(chunk);
            }
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(StoreError::io("reading upload stream"))?;
                writer.wait_for_capacity(MULTIPART_CONCURRENCY).await?;
                total += chunk.len() as u64;
                writer.put(chunk);
            }
            Ok(())
        }
        .await;
        match result {
            Ok(()) => {
                writer.finish().await?;
                Ok(total)
            }
            Err(e) => {
                if let Err(abort) = writer.abort().await {
                    tracing::warn!(error = %abort, key = %key, "aborting a failed multipart upload");
                }
                Err(e)
            }
        }
    }

    /// Streams a whole object.
    pub async fn get_stream(&self, key: &BlobKey) -> Result<BlobStream, StoreError> {
        let result = self
            .inner
            .get(&key.path())
            .await
            .map_err(|e| not_found(e, key))?;
        Ok(result.into_stream().map_err(StoreError::from).boxed())
    }

    /// Streams the bytes `range` of an object (end exclusive).
    pub async fn get_range_stream(
        &self,
        key: &BlobKey,
        range: Range<u64>,
    ) -> Result<BlobStream, StoreError> {
        let options = GetOptions {
            range: Some(GetRange::Bounded(range)),
            ..GetOptions::default()
        };
        let result = self
            .inner
            .get_opts(&key.path(), options)
            .await
            .map_err(|e| not_found(e, key))?;
        Ok(result.into_stream().map_err(StoreError::from).boxed())
    }

    /// Reads the bytes `range` of an object into memory.
    pub async fn get_range(&self, key: &BlobKey, range: Range<u64>) -> Result<Bytes, StoreError> {
        self.inner
            .get_range(&key.path(), range)
            .await
            .map_err(|e| not_found(e, key))
    }

    pub async fn head(&self, key: &BlobKey) -> Result<BlobMeta, StoreError> {
        let meta = self
            .inner
            .head(&key.path())
            .await
            .map_err(|e| not_found(e, key))?;
        Ok(to_meta(meta))
    }

    /// Deletes an object. Deleting what is already gone succeeds, so retries are safe.
    pub async fn delete(&self, key: &BlobKey) -> Result<(), StoreError> {
        match self.inner.delete(&key.path()).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Every object whose key starts with the segment path `prefix` (`""` for all), sorted by key.
    pub async fn list(&self, prefix: &str) -> Result<Vec<BlobMeta>, StoreError> {
        let prefix = prefix.trim_matches('/');
        let path = (!prefix.is_empty()).then(|| ObjectPath::from(prefix));
        let mut items: Vec<BlobMeta> = self
            .inner
            .list(path.as_ref())
            .map_ok(to_meta)
            .try_collect()
            .await?;
        items.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(items)
    }

    fn multipart(&self) -> Result<&Arc<dyn MultipartStore>, StoreError> {
        self.multipart.as_ref().ok_or_else(|| {
            StoreError::BlobConfig("this store cannot drive multipart uploads part by part".into())
        })
    }

    /// Starts a multipart upload the caller drives part by part; S3's upload id.
    pub async fn create_multipart(&self, key: &BlobKey) -> Result<String, StoreError> {
        Ok(self.multipart()?.create_multipart(&key.path()).await?)
    }

    /// Uploads part `number` (1-based; every part but the last at least 5 MiB); its ETag.
    pub async fn put_part(
        &self,
        key: &BlobKey,
        upload_id: &str,
        number: usize,
        bytes: Bytes,
    ) -> Result<String, StoreError> {
        let part = self
            .multipart()?
            .put_part(
                &key.path(),
                &upload_id.to_owned(),
                number.saturating_sub(1),
                PutPayload::from(bytes),
            )
            .await?;
        Ok(part.content_id)
    }

    /// Joins the parts (ETags in part order) into the object.
    pub async fn complete_multipart(
        &self,
        key: &BlobKey,
        upload_id: &str,
        etags: Vec<String>,
    ) -> Result<(), StoreError> {
        let parts = etags
            .into_iter()
            .map(|content_id| PartId { content_id })
            .collect();
        self.multipart()?
            .complete_multipart(&key.path(), &upload_id.to_owned(), parts)
            .await?;
        Ok(())
    }

    /// Discards an upload and its parts.
    pub async fn abort_multipart(&self, key: &BlobKey, upload_id: &str) -> Result<(), StoreError> {
        Ok(self
            .multipart()?
            .abort_multipart(&key.path(), &upload_id.to_owned())
            .await?)
    }

    /// A cheap request that proves the backend is reachable and the bucket exists.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.inner.list_with_delimiter(None).await?;
        Ok(())
    }
}

fn to_meta(meta: object_store::ObjectMeta) -> BlobMeta {
    BlobMeta {
        key: meta.location.to_string(),
        size: meta.size,
        last_modified: meta.last_modified,
    }
}

fn not_found(e: object_store::Error, key: &BlobKey) -> StoreError {
    match e {
        object_store::Error::NotFound { .. } => StoreError::BlobNotFound(key.to_string()),
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_that_could_escape_or_confuse_are_rejected() {
        for bad in [
            "", "/a", "a/", "a//b", "../x", "a/../b", "a/./b", "a b", "a\\b", "ä", "a?b",
        ] {
            assert!(BlobKey::parse(bad).is_err(), "{bad:?} accepted");
        }
        for good in ["a", "recordings/mtg_1/track-0.enc", "x.y_z-1"] {
            assert!(BlobKey::parse(good).is_ok(), "{good:?} rejected");
        }
        assert!(BlobKey::parse(&"a".repeat(1025)).is_err());
    }
}
