//! What every provider module shares: building an authorized request, sending it and reading
//! the answer into JSON or an [`IntegrationError`] (429 with `Retry-After`, 401, 4xx, 5xx).

use std::time::Duration;

use base64::Engine as _;
use http::header::{AUTHORIZATION, HeaderValue, RETRY_AFTER};
use http::{HeaderMap, Method};
use serde_json::Value;
use url::Url;
use zeroize::Zeroizing;

use crate::error::IntegrationError;
use crate::{Http, HttpRequest, HttpResponse, SecretString};

/// The longest provider-written text kept in an error.
pub const MAX_MESSAGE: usize = 200;

/// `base` joined with `path` (which has no leading `/`), keeping `base`'s own path: a Jira
/// site at `https://jira.example/jira/` gets `https://jira.example/jira/rest/api/2/…`.
pub fn endpoint(base: &Url, path: &str) -> Result<Url, IntegrationError> {
    let mut base = base.clone();
    if !base.path().ends_with('/') {
        let with_slash = format!("{}/", base.path());
        base.set_path(&with_slash);
    }
    base.join(path.trim_start_matches('/'))
        .map_err(|_| IntegrationError::Invalid(format!("cannot build a URL for {path}")))
}

/// A request to `url` with `Authorization: Bearer token`.
pub fn bearer(method: Method, url: Url, token: &SecretString) -> HttpRequest {
    HttpRequest::new(method, url).bearer(token)
}

/// A request with `Authorization` set to `value` as given (Linear's API keys have no scheme).
pub fn raw_authorization(method: Method, url: Url, value: &SecretString) -> HttpRequest {
    with_authorization(HttpRequest::new(method, url), value.expose())
}

/// A request with HTTP Basic authorization of `user:secret`.
pub fn basic(method: Method, url: Url, user: &str, secret: &SecretString) -> HttpRequest {
    let pair = Zeroizing::new(format!("{user}:{}", secret.expose()));
    let encoded = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(pair.as_bytes()));
    with_authorization(
        HttpRequest::new(method, url),
        &format!("Basic {}", encoded.as_str()),
    )
}

fn with_authorization(mut req: HttpRequest, value: &str) -> HttpRequest {
    if let Ok(mut v) = HeaderValue::from_str(value) {
        v.set_sensitive(true);
        req.headers.insert(AUTHORIZATION, v);
    }
    req
}

/// Sends `req` and reads a 2xx answer as JSON (`Null` when empty); any other status becomes
/// its [`IntegrationError`].
pub async fn send_json(http: &dyn Http, req: HttpRequest) -> Result<Value, IntegrationError> {
    let resp = http.send(req).await?;
    json_of(resp)
}

/// Reads a response as [`send_json`] does.
pub fn json_of(resp: HttpResponse) -> Result<Value, IntegrationError> {
    let status = resp.status.as_u16();
    if resp.status.is_success() {
        if resp.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        return serde_json::from_slice(&resp.body).map_err(|_| {
            IntegrationError::Unavailable(format!("the provider answered {status} with no JSON"))
        });
    }
    Err(status_error(&resp))
}

/// The error a non-2xx response stands for.
pub fn status_error(resp: &HttpResponse) -> IntegrationError {
    let status = resp.status.as_u16();
    let message = message_of(&resp.body);
    match status {
        429 => IntegrationError::RateLimited {
            retry_after: retry_after(&resp.headers),
        },
        401 => IntegrationError::Unauthorized(message),
        500..=599 => IntegrationError::Unavailable(format!("{status}: {message}")),
        _ => IntegrationError::Rejected { status, message },
    }
}

/// `Retry-After` as seconds or an HTTP date, capped at an hour.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    let secs = match value.parse::<u64>() {
        Ok(secs) => secs,
        Err(_) => {
            let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
            let left = at.timestamp() - chrono::Utc::now().timestamp();
            u64::try_from(left.max(0)).ok()?
        }
    };
    Some(Duration::from_secs(secs.min(3600)))
}

/// The provider's error text from a JSON error body (the common shapes: `message`, `error`,
/// `error_description`, Jira's `errorMessages`/`errors`, Salesforce's `[{"message"}]`,
/// GraphQL's `errors[].message`), bounded; the status alone when there is none.
pub fn message_of(body: &[u8]) -> String {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return String::from("no error message");
    };
    let first = |v: &Value| -> Option<String> {
        for key in ["message", "error_description", "error", "code"] {
            if let Some(s) = v.get(key).and_then(Value::as_str) {
                return Some(s.to_owned());
            }
        }
        None
    };
    let text = first(&v)
        .or_else(|| v.as_array().and_then(|a| a.first()).and_then(first))
        .or_else(|| {
            v.get("errors")
                .and_then(Value::as_array)
                .and_then(|a| a.first())
                .and_then(first)
        })
        .or_else(|| {
            v.get("errorMessages")
                .and_then(Value::as_array)
                .and_then(|a| a.first())
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .or_else(|| {
            v.get("errors").and_then(Value::as_object).map(|o| {
                o.iter()
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            })
        })
        .unwrap_or_else(|| String::from("no error message"));
    bounded(&text, MAX_MESSAGE)
}

/// Bounds provider-written text: control characters become spaces, cut at `max` characters.
pub fn bounded(text: &str, max: usize) -> String {
    let mut out: String = text
        .chars()
        .take(max)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

/// A string field of `v` at `pointer` (RFC 6901), or a clear error naming what was missing.
pub fn str_at<'a>(v: &'a Value, pointer: &str) -> Result<&'a str, IntegrationError> {
    v.pointer(pointer).and_then(Value::as_str).ok_or_else(|| {
        IntegrationError::Unavailable(format!("the provider's answer has no {pointer}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_keeps_the_base_path() {
        let base = Url::parse("https://jira.example/jira").unwrap();
        assert_eq!(
            endpoint(&base, "/rest/api/2/myself").unwrap().as_str(),
            "https://jira.example/jira/rest/api/2/myself"
        );
        let base = Url::parse("https://api.example/").unwrap();
        assert_eq!(
            endpoint(&base, "v1/users/me").unwrap().as_str(),
            "https://api.example/v1/users/me"
        );
    }

    #[test]
    fn error_bodies_of_each_shape_are_read_and_bounded() {
        assert_eq!(message_of(br#"{"message":"no"}"#), "no");
        assert_eq!(message_of(br#"[{"message":"sf","errorCode":"X"}]"#), "sf");
        assert_eq!(
            message_of(br#"{"errorMessages":["jira"],"errors":{}}"#),
            "jira"
        );
        assert_eq!(message_of(br#"{"errors":[{"message":"gql"}]}"#), "gql");
        assert_eq!(
            message_of(br#"{"errorMessages":[],"errors":{"summary":"required"}}"#),
            "summary: \"required\""
        );
        assert_eq!(message_of(b"<html>"), "no error message");
        let long = format!(r#"{{"message":"{}\u0007"}}"#, "a".repeat(500));
        let m = message_of(long.as_bytes());
        assert_eq!(m.chars().count(), MAX_MESSAGE + 1);
    }

    #[test]
    fn basic_authorization_is_sensitive_and_encoded() {
        let url = Url::parse("https://x.example/").unwrap();
        let req = basic(Method::GET, url, "me@x.example", &SecretString::new("tok"));
        let v = req.headers.get(AUTHORIZATION).unwrap();
        assert!(v.is_sensitive());
        assert_eq!(v.to_str().unwrap(), "Basic bWVAeC5leGFtcGxlOnRvaw==");
    }
}
