//! Errors in the OpenAPI document: every `code` an error body can carry (with its status and
//! meaning), and the sets of error responses that many operations share, listed in a route's
//! `responses(...)` beside its own (`AuthErrors`, `JsonBodyErrors`).

use std::borrow::Cow;
use std::fmt::Write as _;

use serde::Serialize;
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

/// Every error code: (code, HTTP status, when).
pub const ERROR_CODES: &[(&str, u16, &str)] = &[
    (
        "malformed_json",
        400,
        "The body is not well-formed JSON (the message gives line and column).",
    ),
    (
        "bad_request",
        400,
        "A malformed header, path or query (e.g. an id of the wrong kind).",
    ),
    (
        "unauthenticated",
        401,
        "No valid session cookie or `Authorization: Bearer` key.",
    ),
    ("unauthorized", 401, "Missing or invalid credentials."),
    (
        "invalid_credentials",
        401,
        "Wrong email or password (or recovery key).",
    ),
    (
        "mfa_required",
        401,
        "The account uses two-factor authentication: send `totp_code` or `recovery_code`.",
    ),
    (
        "forbidden",
        403,
        "The role or key lacks the permission the route needs.",
    ),
    (
        "mfa_enrollment_required",
        403,
        "The organization requires two-factor authentication: enrol first.",
    ),
    (
        "session_required",
        403,
        "The route changes the account and needs a browser session, not a key.",
    ),
    (
        "org_closed",
        403,
        "An owner closed the organization: only the own account is open until it is erased or reopened.",
    ),
    (
        "csrf_failed",
        403,
        "A cookie-authenticated change without a same-site `Origin` or `X-CSRF-Token`.",
    ),
    (
        "not_allowed",
        403,
        "A rule forbids it (e.g. registration is by invitation, only owners act on owners).",
    ),
    (
        "zero_access_owner_only",
        403,
        "Content under zero-access encryption that only its owner can read.",
    ),
    (
        "not_found",
        404,
        "No such resource (or not yours: the API never tells them apart), or no such route.",
    ),
    (
        "method_not_allowed",
        405,
        "The path does not take this method (see `Allow`).",
    ),
    (
        "timeout",
        503,
        "The request took too long and was stopped (408 when a body stopped arriving).",
    ),
    (
        "body_timeout",
        408,
        "The upload sent nothing for `server.body_idle_timeout_secs`; nothing was kept.",
    ),
    (
        "conflict",
        409,
        "It already exists or is in another state (an email taken, MFA already on).",
    ),
    (
        "payload_too_large",
        413,
        "The body is over the limit the message states.",
    ),
    (
        "unsupported_media_type",
        415,
        "The wrong `Content-Type` (the message names the expected one).",
    ),
    ("audio_unsupported", 415, "Not a supported audio format."),
    (
        "document_unsupported",
        415,
        "A document that is not PDF, Markdown, HTML or plain text.",
    ),
    (
        "audio_no_audio_track",
        415,
        "The file holds no audio track.",
    ),
    (
        "misdirected_request",
        421,
        "The `Host` is not this server's (`server.public_url`, `server.allowed_hosts`).",
    ),
    (
        "invalid_json",
        422,
        "Well-formed JSON of the wrong shape (the message names the field).",
    ),
    (
        "invalid_input",
        422,
        "A value that breaks a rule (the message names the field).",
    ),
    ("audio_corrupt", 422, "The audio cannot be decoded."),
    ("audio_truncated", 422, "The audio ends early."),
    ("audio_empty", 422, "The audio holds no samples."),
    (
        "audio_too_long",
        422,
        "The audio is longer than `recordings.max_duration_secs`.",
    ),
    (
        "document_unreadable",
        422,
        "The document is not a valid file of its type (the message says why).",
    ),
    (
        "document_encrypted",
        422,
        "A password-protected PDF: attach one without a password.",
    ),
    (
        "document_no_text",
        422,
        "The document holds no text (a scan: no OCR is done).",
    ),
    (
        "document_too_large",
        422,
        "The document's text is longer than meetvault extracts (the message says the limit).",
    ),
    (
        "content_locked",
        423,
        "Zero-access content whose owner's key is locked: they must log in again.",
    ),
    (
        "not_checkpointed_yet",
        425,
        "No signed checkpoint covers the entry yet: retry after `Retry-After`.",
    ),
    (
        "rate_limited",
        429,
        "Too many attempts: retry after `Retry-After` seconds.",
    ),
    (
        "internal",
        500,
        "Something went wrong on the server; quote `request_id`.",
    ),
    (
        "integrity_failure",
        500,
        "Stored data failed its integrity check and was not returned.",
    ),
    (
        "unavailable",
        503,
        "A dependency (database, key service, engine) is unavailable; try again shortly.",
    ),
];

/// The `code` of an error body.
#[derive(Debug, Clone, Copy)]
pub struct ErrorCode;

impl utoipa::PartialSchema for ErrorCode {
    fn schema() -> RefOr<Schema> {
        let mut description = String::from(
            "Stable and machine-readable; `message` is for people.\n\n| code | status | when |\n| --- | --- | --- |\n",
        );
        for (code, status, when) in ERROR_CODES {
            let _ = writeln!(description, "| `{code}` | {status} | {when} |");
        }
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(description))
            .enum_values(Some(ERROR_CODES.iter().map(|(code, ..)| *code)))
            .into()
    }
}

impl utoipa::ToSchema for ErrorCode {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ErrorCode")
    }
}

/// What every authenticated route may answer besides its own errors.
#[derive(Debug, utoipa::IntoResponses)]
#[allow(dead_code)] // documentation: the errors are `ApiError`s
pub enum AuthErrors {
    /// `unauthenticated`: no valid session cookie or API key (a revoked or expired key too).
    #[response(status = 401)]
    Unauthenticated(ErrorBody),
    /// `forbidden` (the role or key lacks the permission), `mfa_enrollment_required`,
    /// `session_required` (a key on an account route), `org_closed` or `csrf_failed`.
    #[response(status = 403)]
    Forbidden(ErrorBody),
}

/// What every route taking a JSON body may answer about the body.
#[derive(Debug, utoipa::IntoResponses)]
#[allow(dead_code)] // documentation: the errors are `ApiError`s from `ApiJson`
pub enum JsonBodyErrors {
    /// `malformed_json`: not well-formed JSON.
    #[response(status = 400)]
    Malformed(ErrorBody),
    /// `payload_too_large`: over `server.body_limit_bytes`.
    #[response(status = 413)]
    TooLarge(ErrorBody),
    /// `unsupported_media_type`: the body is not `application/json`.
    #[response(status = 415)]
    NotJson(ErrorBody),
    /// `invalid_json` (the wrong shape; names the field) or `invalid_input` (breaks a rule).
    #[response(status = 422)]
    Invalid(ErrorBody),
}

/// The error body every failing response has.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable: `not_found`, `malformed_json`, `internal`, …
    #[schema(value_type = ErrorCode)]
    pub code: String,
    /// For people: what was wrong and, where it helps, what to do.
    pub message: String,
    /// Quote this when reporting a problem; the server log has the detail under it.
    pub request_id: String,
}

#[cfg(test)]
mod tests {
    use super::ERROR_CODES;
    use crate::ApiError;

    #[test]
    fn every_code_the_api_answers_is_documented_with_its_status() {
        let errors = [
            ApiError::MalformedJson(String::new()),
            ApiError::InvalidJson(String::new()),
            ApiError::PayloadTooLarge { limit: 1 },
            ApiError::UnsupportedMediaType {
                expected: "application/json",
            },
            ApiError::BadRequest(String::new()),
            ApiError::NotFound(String::new()),
            ApiError::MethodNotAllowed,
            ApiError::Unauthorized,
            ApiError::Unauthenticated,
            ApiError::InvalidCredentials,
            ApiError::MfaRequired,
            ApiError::Conflict(String::new()),
            ApiError::Invalid {
                field: "f",
                message: String::new(),
            },
            ApiError::RateLimited {
                retry_after_secs: 1,
            },
            ApiError::NotCheckpointedYet {
                retry_after_secs: 1,
            },
            ApiError::MisdirectedHost,
            ApiError::Timeout,
            ApiError::BodyTimeout { idle_secs: 1 },
            ApiError::Unavailable(String::new()),
            ApiError::Locked,
            ApiError::Integrity(String::new()),
            ApiError::internal("x"),
        ]
        .into_iter()
        .chain(
            [
                "forbidden",
                "mfa_enrollment_required",
                "session_required",
                "org_closed",
                "csrf_failed",
                "not_allowed",
                "zero_access_owner_only",
            ]
            .map(|code| ApiError::Forbidden {
                code,
                message: String::new(),
            }),
        )
        .chain(
            [
                "audio_corrupt",
                "audio_truncated",
                "audio_empty",
                "audio_too_long",
                "audio_unsupported",
                "audio_no_audio_track",
                "document_unsupported",
                "document_unreadable",
                "document_encrypted",
                "document_no_text",
                "document_too_large",
            ]
            .map(|code| ApiError::BadMedia {
                code,
                message: String::new(),
            }),
        );
        for error in errors {
            let (status, code) = error.status_and_code();
            let documented = ERROR_CODES.iter().find(|(c, ..)| *c == code);
            let Some((_, documented_status, _)) = documented else {
                panic!("`{code}` is answered but missing from ERROR_CODES");
            };
            // `timeout` is 503 for a slow request and 408 for a stalled body.
            assert!(
                *documented_status == status.as_u16() || code == "timeout",
                "`{code}` is answered with {status} but documented as {documented_status}"
            );
        }
    }
}
