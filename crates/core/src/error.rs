//! The domain's errors. Variants name what went wrong in domain terms; `http` maps each one.

use meetvault_store::StoreError;

use crate::access::Denied;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// A storage failure the caller cannot fix (database down, disk error, corrupt row).
    #[error("storage failure")]
    Storage(#[from] StoreError),
    /// Anything else internal (a crypto or serialization failure); logged, never shown.
    #[error("internal failure")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// No valid credential.
    #[error("authentication required")]
    Unauthenticated,
    /// Wrong email or password (which of them is never said).
    #[error("the email or password is incorrect")]
    InvalidCredentials,
    /// The password was right; a second factor is needed (or the one given was wrong).
    #[error("a second factor is required")]
    MfaRequired,
    #[error("permission denied")]
    Forbidden(Denied),
    /// A rule of the domain forbids this (last owner, self-demotion, closed registration…).
    #[error("{0}")]
    NotAllowed(String),
    /// The resource does not exist in the caller's org (or exists in another: same answer).
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    /// It existed and was deleted on purpose (a recording's copy here, once it reached the
    /// customer's bucket); the message says where it is now.
    #[error("{0}")]
    Gone(String),
    /// Input that parsed but breaks a rule; names the field.
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// A bearer token a visitor's browser presented (a widget session, a signed visitor
    /// identity) that does not hold: why is logged, never said.
    #[error("invalid token")]
    InvalidToken,
    /// A visitor's request from a site the widget does not allow.
    #[error("this site is not allowed to use the widget")]
    OriginNotAllowed,
    #[error("too many attempts")]
    RateLimited { retry_after_secs: u64 },
    /// The audit entry (or the log) is newer than the latest signed checkpoint; the writer
    /// signs one within `retry_after_secs`.
    #[error("no signed checkpoint covers this yet")]
    NotCheckpointedYet { retry_after_secs: u64 },
    /// A dependency (Redis) is down; the action was refused rather than done unprotected.
    #[error("{0} is unavailable")]
    Unavailable(&'static str),
    /// The content belongs to a zero-access user with no unlocked session: the server cannot
    /// read it until that user logs in (or unlocks) again.
    #[error("this content is locked by zero-access encryption")]
    Locked,
    /// The content belongs to a zero-access user and the caller is someone else: only its
    /// owner's own credentials may read it, even while it is unlocked.
    #[error("this content is protected by its owner's zero-access encryption")]
    ZeroAccessOwnerOnly,
    /// Stored ciphertext failed authentication (tampered, swapped or its key destroyed); nothing
    /// was returned. Names what failed, never any content.
    #[error("stored data failed its integrity check: {0}")]
    Integrity(String),
    /// An uploaded recording cannot be used: `code` is stable (`audio_corrupt`,
    /// `audio_truncated`, `audio_unsupported`…), `message` names the problem and what to do.
    #[error("{message}")]
    BadMedia { code: &'static str, message: String },
    /// An upload over the configured size limit (bytes).
    #[error("larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    /// A streamed upload sent nothing for `idle_secs` (`server.body_idle_timeout_secs`) and was
    /// stopped; nothing was kept.
    #[error("no request body arrived for {idle_secs} seconds")]
    BodyStalled { idle_secs: u64 },
    /// A streamed request body broke off or is malformed (the caller's side); says what.
    #[error("{0}")]
    BadBody(String),
    /// Transcription cannot run here now (no local model installed, engine busy); the message
    /// says what to do.
    #[error("{0}")]
    TranscriptionUnavailable(String),
    /// The master key (local file or KMS) cannot be used; the message says why and what to do.
    #[error("{0}")]
    KeyUnavailable(String),
}

impl CoreError {
    pub fn internal(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Internal(Box::new(e))
    }

    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            message: message.into(),
        }
    }
}

impl From<Denied> for CoreError {
    fn from(d: Denied) -> Self {
        Self::Forbidden(d)
    }
}
