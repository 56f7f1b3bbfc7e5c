//! What can go wrong talking to a calendar provider, in this crate's terms. Messages never carry
//! a token, a URL with a token in it, or event content; provider-written text is bounded.

use std::time::Duration;

use crate::http::HttpError;

/// A failure of an OAuth or API call.
#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    /// The refresh token no longer works (`invalid_grant` on refresh: the user revoked access,
    /// changed the password, or the token expired). Mark the connection broken and ask the user
    /// to reconnect.
    #[error("the calendar connection was revoked; the user must reconnect")]
    Revoked,
    /// The authorization code was refused (`invalid_grant` on the code exchange: expired,
    /// already used, or a PKCE verifier that does not match). Start the connect flow again.
    #[error("the authorization code was refused; start connecting again")]
    CodeRejected,
    /// The provider did not hand out a refresh token, so the connection could not be kept.
    #[error("the provider returned no refresh token")]
    NoRefreshToken,
    /// Another OAuth error from the token endpoint (bounded, sanitized code).
    #[error("the token endpoint refused: {code}")]
    OAuth {
        /// The `error` code.
        code: String,
    },
    /// The API refused the access token (401): refresh it and try once more.
    #[error("the access token was refused")]
    Unauthorized,
    /// The API refused the operation (403), e.g. a missing scope.
    #[error("the provider refused the operation: {code}")]
    Forbidden {
        /// The provider's error code or reason (bounded).
        code: String,
    },
    /// The provider asks us to slow down (429, or Google's 403 rate-limit reasons).
    #[error("rate limited by the provider")]
    RateLimited {
        /// The `Retry-After` it sent, if any.
        retry_after: Option<Duration>,
    },
    /// Any other error status from the provider.
    #[error("the provider answered {status}: {code}")]
    Provider {
        /// The HTTP status.
        status: u16,
        /// The provider's error code or reason (bounded).
        code: String,
    },
    /// The provider's answer was not what its documentation describes.
    #[error("unexpected response from the provider: {0}")]
    InvalidResponse(&'static str),
    /// A sync needed more pages than the bound allows in one call.
    #[error("the sync did not finish within {0} pages")]
    TooManyPages(usize),
    /// Input we refuse before sending anything.
    #[error("invalid input: {0}")]
    Invalid(&'static str),
    /// The request got no response.
    #[error(transparent)]
    Http(#[from] HttpError),
}
