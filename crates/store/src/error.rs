//! The store's errors, in its own terms. The HTTP layer decides what a caller may see of them.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error")]
    Database(#[from] sqlx::Error),
    /// A hot-path read on SQLite's own connections (`reader`).
    #[error("database error")]
    Read(#[from] rusqlite::Error),
    #[error("database migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("blob store error")]
    Blob(#[from] object_store::Error),
    #[error("blob `{0}` not found")]
    BlobNotFound(String),
    #[error("invalid blob key `{key}`: {reason}")]
    InvalidBlobKey { key: String, reason: &'static str },
    #[error("invalid blob store configuration: {0}")]
    BlobConfig(String),
    #[error("{context}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// The object, upload or bucket does not exist (S3's 404s: NoSuchKey, NoSuchUpload,
    /// NoSuchBucket).
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            Self::BlobNotFound(_) | Self::Blob(object_store::Error::NotFound { .. })
        )
    }

    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let context = context.into();
        move |source| Self::Io { context, source }
    }
}
