//! Sending an API request and reading the provider's error shapes: Google's
//! `{"error": {"code", "message", "errors": [{"reason"}]}}` and Graph's
//! `{"error": {"code", "message"}}`, mapped to [`CalendarError`]. Must never: put a message the
//! provider wrote (which may quote event content) into an error; only codes and reasons.

use std::time::Duration;

use http::StatusCode;
use http::header::RETRY_AFTER;
use serde::de::DeserializeOwned;

use crate::error::CalendarError;
use crate::http::{Http, HttpRequest, HttpResponse};
use crate::secret::bounded_text;

/// The error code or first reason of an API error body (bounded), or `""`.
pub(crate) fn error_code(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Envelope {
        error: Option<Inner>,
    }
    #[derive(serde::Deserialize)]
    struct Inner {
        code: Option<serde_json::Value>,
        #[serde(default)]
        errors: Vec<Reason>,
    }
    #[derive(serde::Deserialize)]
    struct Reason {
        reason: Option<String>,
    }
    let Ok(Envelope { error: Some(inner) }) = serde_json::from_slice::<Envelope>(body) else {
        return String::new();
    };
    // Google: the reason of the first error names it (`fullSyncRequired`, `rateLimitExceeded`);
    // Graph: the string `code` does (`syncStateNotFound`).
    let code = inner
        .errors
        .into_iter()
        .find_map(|e| e.reason)
        .or(match inner.code {
            Some(serde_json::Value::String(s)) => Some(s),
            _ => None,
        })
        .unwrap_or_default();
    bounded_text(&code, 64)
        .chars()
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect()
}

fn retry_after(resp: &HttpResponse) -> Option<Duration> {
    let value = resp.headers.get(RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// Maps a non-success response to an error.
pub(crate) fn status_error(resp: &HttpResponse) -> CalendarError {
    let code = error_code(&resp.body);
    match resp.status {
        StatusCode::UNAUTHORIZED => CalendarError::Unauthorized,
        StatusCode::TOO_MANY_REQUESTS => CalendarError::RateLimited {
            retry_after: retry_after(resp),
        },
        StatusCode::FORBIDDEN
            if matches!(
                code.as_str(),
                "rateLimitExceeded" | "userRateLimitExceeded" | "quotaExceeded"
            ) =>
        {
            CalendarError::RateLimited {
                retry_after: retry_after(resp),
            }
        }
        StatusCode::FORBIDDEN => CalendarError::Forbidden { code },
        status => CalendarError::Provider {
            status: status.as_u16(),
            code,
        },
    }
}

/// Sends `req`; a success status is returned, anything else becomes an error.
pub(crate) async fn send_ok(
    http: &dyn Http,
    req: HttpRequest,
) -> Result<HttpResponse, CalendarError> {
    let resp = http.send(req).await?;
    if resp.status.is_success() {
        Ok(resp)
    } else {
        Err(status_error(&resp))
    }
}

/// Decodes a JSON success body.
pub(crate) fn json<T: DeserializeOwned>(
    resp: &HttpResponse,
    what: &'static str,
) -> Result<T, CalendarError> {
    serde_json::from_slice(&resp.body).map_err(|_| CalendarError::InvalidResponse(what))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_google_and_graph_error_codes() {
        let google = br#"{"error":{"errors":[{"domain":"global","reason":"fullSyncRequired","message":"Sync token is no longer valid, a full sync is required."}],"code":410,"message":"Sync token is no longer valid, a full sync is required."}}"#;
        assert_eq!(error_code(google), "fullSyncRequired");
        let graph = br#"{"error":{"code":"syncStateNotFound","message":"The sync state generation is not found.","innerError":{"request-id":"x"}}}"#;
        assert_eq!(error_code(graph), "syncStateNotFound");
        assert_eq!(error_code(b"not json"), "");
        assert_eq!(error_code(br#"{"error":{"code":"a\u0000b"}}"#), "a?b");
    }
}
