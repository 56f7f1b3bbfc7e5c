//! What can go wrong sending to a provider, in this crate's terms. Messages never carry a token,
//! a URL, or the content sent; provider-written text is bounded ([`crate::call::bounded`]).

use std::time::Duration;

use meetvault_calendar::HttpError;

/// A failure of a provider call.
#[derive(Debug, thiserror::Error)]
pub enum IntegrationError {
    /// The connection's settings or the item are not usable (caught before any request).
    #[error("{0}")]
    Invalid(String),
    /// The provider refused the credential (401, Slack's `invalid_auth`…). With OAuth, refresh
    /// and try once more; otherwise the user must reconnect.
    #[error("the provider refused the credential: {0}")]
    Unauthorized(String),
    /// The refresh token no longer works: the user must reconnect.
    #[error("the connection was revoked; reconnect it")]
    Revoked,
    /// The provider asks us to slow down (429, or its own rate-limit answer).
    #[error("rate limited by the provider")]
    RateLimited {
        /// The `Retry-After` it sent, if any.
        retry_after: Option<Duration>,
    },
    /// The provider refused the request for good (a 4xx other than 401/429, a GraphQL error):
    /// retrying the same request cannot help.
    #[error("the provider refused the request ({status}): {message}")]
    Rejected {
        /// The HTTP status (200 for an error inside a 200 answer, as Slack and GraphQL do).
        status: u16,
        /// The provider's error code or message (bounded).
        message: String,
    },
    /// The provider failed or could not be reached (5xx, transport, timeout): worth a retry.
    #[error("the provider is unavailable: {0}")]
    Unavailable(String),
    /// The URL was refused by the caller's policy (the server's SSRF rules).
    #[error("the URL was refused: {0}")]
    Refused(String),
}

impl IntegrationError {
    /// Whether a later attempt of the same request may succeed (a refused credential is not:
    /// the caller refreshes an OAuth token, or the user reconnects).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::RateLimited { .. } | Self::Unavailable(_))
    }
}

impl From<HttpError> for IntegrationError {
    fn from(e: HttpError) -> Self {
        match e {
            HttpError::Refused(r) => Self::Refused(r),
            other => Self::Unavailable(other.to_string()),
        }
    }
}
