//! The one error type of the API and the middleware that renders it.
//!
//! A handler returns `ApiError`; its `IntoResponse` only records what happened (an [`ErrorReport`]
//! in the response extensions). [`render_errors`] then writes the body
//! `{"error": {"code", "message", "request_id"}}` once, with the request id, and logs internal
//! failures with their whole source chain under that id. A 5xx body never carries more than
//! "Something went wrong on our side" and the request id.

use std::error::Error as StdError;
use std::sync::Arc;

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use meetvault_core::CoreError;
use meetvault_core::access::Denied;

use crate::middleware::request_id::RequestId;
pub use crate::wire::errors::{ErrorBody, ErrorDetail};

/// What a caller of a 5xx sees, in full.
pub const INTERNAL_MESSAGE: &str = "Something went wrong on our side";

type BoxError = Box<dyn StdError + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not well-formed JSON.
    #[error("{0}")]
    MalformedJson(String),
    /// Well-formed JSON that does not fit the expected shape; names the field.
    #[error("{0}")]
    InvalidJson(String),
    #[error("request body is larger than the limit of {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("expected Content-Type: {expected}")]
    UnsupportedMediaType { expected: &'static str },
    /// A request that is malformed in a way other than its JSON body (a header, a path).
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("method not allowed for this path")]
    MethodNotAllowed,
    #[error("missing or invalid credentials")]
    Unauthorized,
    /// No valid credential on a protected route.
    #[error("sign in first: send the session cookie or `Authorization: Bearer mvk_…`")]
    Unauthenticated,
    /// A visitor's bearer token (a widget session, a signed identity) that does not hold; why
    /// is never said.
    #[error("invalid token")]
    InvalidToken,
    #[error("the email or password is incorrect")]
    InvalidCredentials,
    #[error("this account uses two-factor authentication: send `totp_code` (or a `recovery_code`)")]
    MfaRequired,
    /// Authenticated, but not allowed; `code` names why (`forbidden`, `mfa_enrollment_required`,
    /// `session_required`, `csrf_failed`, `registration_closed`…).
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    #[error("{0}")]
    Conflict(String),
    /// Deleted on purpose; the message says where it is now.
    #[error("{0}")]
    Gone(String),
    /// Input that parsed but breaks a rule; names the field.
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("too many attempts; try again in {retry_after_secs} seconds")]
    RateLimited { retry_after_secs: u64 },
    /// The audit entry is newer than the latest signed checkpoint (reads never sign one).
    #[error(
        "no signed checkpoint covers this entry yet; the server signs one within {retry_after_secs} seconds"
    )]
    NotCheckpointedYet { retry_after_secs: u64 },
    /// The request named a host this server does not serve (`server.public_url`,
    /// `server.allowed_hosts`): a DNS-rebinding defence.
    #[error("this server does not serve the host named in the request")]
    MisdirectedHost,
    #[error("the request took too long and was stopped")]
    Timeout,
    /// A streamed upload sent nothing for `server.body_idle_timeout_secs`.
    #[error(
        "no request body arrived for {idle_secs} seconds, so the upload was stopped and nothing was kept; send the body without pauses"
    )]
    BodyTimeout { idle_secs: u64 },
    #[error("{0}")]
    Unavailable(String),
    /// An uploaded file that cannot be used: `code` is specific (`audio_corrupt`,
    /// `audio_truncated`, `audio_empty`, `audio_too_long`; `audio_unsupported` and
    /// `audio_no_audio_track` answer 415; so does `document_unsupported`).
    #[error("{message}")]
    BadMedia { code: &'static str, message: String },
    /// Zero-access content while its owner has no unlocked session.
    #[error(
        "this content is protected by zero-access encryption and its owner's key is locked: \
             the owner must log in again (or POST /api/v1/me/encryption/unlock) before it can be read"
    )]
    Locked,
    /// Stored data failed authentication; nothing was returned. The detail goes to the log.
    #[error(
        "stored data failed its integrity check and was not returned; the operator has been told (see the server log)"
    )]
    Integrity(String),
    /// Anything the caller cannot fix. The source goes to the log only.
    #[error("internal error")]
    Internal(#[source] BoxError),
}

impl ApiError {
    pub fn internal(source: impl Into<BoxError>) -> Self {
        Self::Internal(source.into())
    }

    pub(crate) fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::MalformedJson(_) => (StatusCode::BAD_REQUEST, "malformed_json"),
            Self::InvalidJson(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_json"),
            Self::PayloadTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Self::UnsupportedMediaType { .. } => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            Self::InvalidToken => (StatusCode::UNAUTHORIZED, "invalid_token"),
            Self::InvalidCredentials => (StatusCode::UNAUTHORIZED, "invalid_credentials"),
            Self::MfaRequired => (StatusCode::UNAUTHORIZED, "mfa_required"),
            Self::Forbidden { code, .. } => (StatusCode::FORBIDDEN, code),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Self::Gone(_) => (StatusCode::GONE, "gone"),
            Self::Invalid { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_input"),
            Self::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            Self::NotCheckpointedYet { .. } => (StatusCode::TOO_EARLY, "not_checkpointed_yet"),
            Self::MisdirectedHost => (StatusCode::MISDIRECTED_REQUEST, "misdirected_request"),
            Self::Timeout => (StatusCode::SERVICE_UNAVAILABLE, "timeout"),
            Self::BodyTimeout { .. } => (StatusCode::REQUEST_TIMEOUT, "body_timeout"),
            Self::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            Self::BadMedia {
                code: code @ ("audio_unsupported" | "audio_no_audio_track" | "document_unsupported"),
                ..
            } => (StatusCode::UNSUPPORTED_MEDIA_TYPE, code),
            Self::BadMedia { code, .. } => (StatusCode::UNPROCESSABLE_ENTITY, code),
            Self::Locked => (StatusCode::LOCKED, "content_locked"),
            Self::Integrity(_) => (StatusCode::INTERNAL_SERVER_ERROR, "integrity_failure"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        // Exhaustive on purpose: a new domain error must be given its HTTP meaning here.
        match e {
            CoreError::Storage(_) | CoreError::Internal(_) => Self::Internal(Box::new(e)),
            CoreError::Unauthenticated => Self::Unauthenticated,
            CoreError::InvalidCredentials => Self::InvalidCredentials,
            CoreError::InvalidToken => Self::InvalidToken,
            CoreError::OriginNotAllowed => Self::Forbidden {
                code: "origin_not_allowed",
                message: "this site is not allowed to use the widget: add its origin to the \
                          widget's allowed_origins"
                    .to_owned(),
            },
            CoreError::MfaRequired => Self::MfaRequired,
            CoreError::Forbidden(denied) => denied.into(),
            CoreError::NotAllowed(message) => Self::Forbidden {
                code: "not_allowed",
                message,
            },
            CoreError::NotFound(what) => Self::NotFound(format!("{what} not found")),
            CoreError::Conflict(message) => Self::Conflict(message),
            CoreError::Gone(message) => Self::Gone(message),
            CoreError::Invalid { field, message } => Self::Invalid { field, message },
            CoreError::RateLimited { retry_after_secs } => Self::RateLimited { retry_after_secs },
            CoreError::NotCheckpointedYet { retry_after_secs } => {
                Self::NotCheckpointedYet { retry_after_secs }
            }
            CoreError::Unavailable(what) => {
                Self::Unavailable(format!("{what} is unavailable; try again shortly"))
            }
            CoreError::Locked => Self::Locked,
            CoreError::ZeroAccessOwnerOnly => Self::Forbidden {
                code: "zero_access_owner_only",
                message: "this content is protected by its owner's zero-access encryption: \
                          only its owner can read it"
                    .to_owned(),
            },
            CoreError::Integrity(detail) => {
                tracing::error!(detail = %detail, "stored data failed its integrity check");
                Self::Integrity(detail)
            }
            CoreError::BadMedia { code, message } => Self::BadMedia { code, message },
            CoreError::TooLarge { limit } => Self::PayloadTooLarge {
                limit: usize::try_from(limit).unwrap_or(usize::MAX),
            },
            CoreError::BodyStalled { idle_secs } => Self::BodyTimeout { idle_secs },
            CoreError::BadBody(message) => Self::BadRequest(message),
            CoreError::TranscriptionUnavailable(message) => Self::Unavailable(message),
            CoreError::KeyUnavailable(detail) => {
                tracing::error!(detail = %detail, "master key unavailable");
                Self::Unavailable(
                    "the encryption key service is unavailable; the operator has been told (see the server log)".into(),
                )
            }
        }
    }
}

impl From<Denied> for ApiError {
    fn from(d: Denied) -> Self {
        match d {
            Denied::Missing(p) => Self::Forbidden {
                code: "forbidden",
                message: format!(
                    "this needs the `{p}` permission, which your role or key does not grant"
                ),
            },
            Denied::MfaEnrollmentRequired => Self::Forbidden {
                code: "mfa_enrollment_required",
                message: "your organization requires two-factor authentication: enrol at \
                          POST /api/v1/auth/mfa/totp first"
                    .to_owned(),
            },
            Denied::SessionRequired => Self::Forbidden {
                code: "session_required",
                message: "this changes your account and needs a browser session, not a key"
                    .to_owned(),
            },
            Denied::OrgClosed(at) => Self::Forbidden {
                code: "org_closed",
                message: format!(
                    "an owner closed this organization: it is erased at {}; until then an owner \
                     can reopen it (POST /api/v1/org/reopen), and you can still manage or erase \
                     your own account",
                    chrono::DateTime::from_timestamp_millis(at)
                        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                        .unwrap_or_default()
                ),
            },
        }
    }
}

/// The record an error response carries until [`render_errors`] writes it out.
#[derive(Debug, Clone)]
pub struct ErrorReport {
    code: &'static str,
    message: String,
    source: Option<Arc<BoxError>>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let message = self.to_string();
        let retry_after = match &self {
            Self::RateLimited { retry_after_secs }
            | Self::NotCheckpointedYet { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        };
        let source = match self {
            Self::Internal(source) => Some(Arc::new(source)),
            _ => None,
        };
        let mut response = status.into_response();
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        response.extensions_mut().insert(ErrorReport {
            code,
            message,
            source,
        });
        response
    }
}

/// Writes every error response's body, and logs internal errors once with their cause.
pub async fn render_errors(request: Request, next: Next) -> Response {
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .map(|r| r.as_str().to_owned())
        .unwrap_or_default();
    let mut response = next.run(request).await;
    let status = response.status();
    let report = response.extensions_mut().remove::<ErrorReport>();
    let report = match report {
        Some(report) => report,
        // Errors produced outside a handler (a layer, the router): give them the same shape.
        None if (status.is_client_error() || status.is_server_error()) && !is_json(&response) => {
            ErrorReport {
                code: fallback_code(status),
                message: fallback_message(status),
                source: None,
            }
        }
        None => return response,
    };
    let message = if status.is_server_error()
        && report.code != "timeout"
        && report.code != "unavailable"
    {
        match &report.source {
            Some(source) => tracing::error!(
                request_id = %request_id,
                status = status.as_u16(),
                error = %chain(source.as_ref().as_ref()),
                "internal error"
            ),
            None => {
                tracing::error!(request_id = %request_id, status = status.as_u16(), "internal error")
            }
        }
        INTERNAL_MESSAGE.to_owned()
    } else {
        report.message
    };
    let body = ErrorBody {
        error: ErrorDetail {
            code: report.code.to_owned(),
            message,
            request_id,
        },
    };
    let bytes = serde_json::to_vec(&body).unwrap_or_else(|_| b"{}".to_vec());
    let (mut parts, _) = response.into_parts();
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// A body of its own already: JSON, or one of meetvault's HTML pages (which render their own
/// errors for people).
fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"))
}

fn fallback_code(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::REQUEST_TIMEOUT => "timeout",
        s if s.is_server_error() => "internal",
        _ => "bad_request",
    }
}

fn fallback_message(status: StatusCode) -> String {
    match status {
        StatusCode::METHOD_NOT_ALLOWED => {
            "method not allowed for this path; the Allow header lists the methods it takes"
                .to_owned()
        }
        StatusCode::NOT_FOUND => "no such route; see /api/v1/openapi.json for the API".to_owned(),
        other => other.canonical_reason().unwrap_or("error").to_owned(),
    }
}

/// An error and all its sources, for the log.
pub fn chain(error: &(dyn StdError + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
