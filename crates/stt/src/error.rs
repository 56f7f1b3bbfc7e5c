//! `SttError`, the one error type of this crate. Its messages are written for an operator and
//! never carry an API key or a provider's raw response body.

use std::time::Duration;

/// What went wrong while configuring or calling a transcription engine.
///
/// `provider` / `engine` is the engine's [`name`](crate::Engine::name), e.g. `openai-compatible`
/// or `deepgram`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SttError {
    /// The provider answered 401 or 403.
    #[error("{provider}: the provider rejected the API key; check the key")]
    Unauthorized {
        /// The engine's name.
        provider: &'static str,
    },

    /// The provider answered 429.
    #[error("{provider}: the provider is rate limiting this account; retry later{}",
        retry_after.map(|d| format!(" (it asked to wait {} s)", d.as_secs())).unwrap_or_default())]
    RateLimited {
        /// The engine's name.
        provider: &'static str,
        /// The provider's `Retry-After`, when it sent one in seconds.
        retry_after: Option<Duration>,
    },

    /// The provider refused the request (another 4xx): retrying it unchanged will not help.
    #[error("{provider} rejected the request (HTTP {status}): {message}")]
    Rejected {
        /// The engine's name.
        provider: &'static str,
        /// The HTTP status code.
        status: u16,
        /// The provider's own error message, sanitized and truncated.
        message: String,
    },

    /// A 5xx answer, a timeout or a network failure: worth retrying later.
    #[error("{provider} is unavailable: {detail}")]
    Unavailable {
        /// The engine's name.
        provider: &'static str,
        /// What failed (no key, no body).
        detail: String,
    },

    /// The provider answered 2xx with a body that is not the documented format, or answered
    /// with a redirect (which is never followed).
    #[error("{provider} sent a response that cannot be used: {detail}")]
    BadResponse {
        /// The engine's name.
        provider: &'static str,
        /// What was wrong with it.
        detail: String,
    },

    /// A base URL that would send the API key over plain HTTP to a host the operator did not
    /// allow-list.
    #[error(
        "base URL {url} is plain HTTP, which would send the API key unencrypted: use https \
         (http is accepted only for hosts the operator allow-lists in outbound.allow_hosts)"
    )]
    InsecureUrl {
        /// The URL, without any credentials.
        url: String,
    },

    /// The engine's settings are unusable (empty key or model, a URL with credentials, …).
    #[error("invalid transcription settings: {0}")]
    InvalidConfig(String),

    /// A local engine failed (for engines outside this crate, such as Whisper).
    #[error("{engine} failed: {detail}")]
    Engine {
        /// The engine's name.
        engine: String,
        /// What failed.
        detail: String,
    },
}

impl SttError {
    /// Whether the same request may succeed if tried again later (rate limits, 5xx answers,
    /// timeouts and network failures).
    pub fn retryable(&self) -> bool {
        match self {
            SttError::RateLimited { .. } | SttError::Unavailable { .. } => true,
            SttError::Unauthorized { .. }
            | SttError::Rejected { .. }
            | SttError::BadResponse { .. }
            | SttError::InsecureUrl { .. }
            | SttError::InvalidConfig(_)
            | SttError::Engine { .. } => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_rate_limits_and_outages_are_retryable() {
        let p = "deepgram";
        assert!(
            SttError::RateLimited {
                provider: p,
                retry_after: None
            }
            .retryable()
        );
        assert!(
            SttError::Unavailable {
                provider: p,
                detail: "HTTP 503".into()
            }
            .retryable()
        );
        assert!(!SttError::Unauthorized { provider: p }.retryable());
        assert!(
            !SttError::Rejected {
                provider: p,
                status: 400,
                message: "bad audio".into()
            }
            .retryable()
        );
        assert!(
            !SttError::BadResponse {
                provider: p,
                detail: "x".into()
            }
            .retryable()
        );
    }

    #[test]
    fn rate_limit_message_names_the_wait() {
        let e = SttError::RateLimited {
            provider: "openai-compatible",
            retry_after: Some(Duration::from_secs(20)),
        };
        assert_eq!(
            e.to_string(),
            "openai-compatible: the provider is rate limiting this account; retry later \
             (it asked to wait 20 s)"
        );
    }
}
