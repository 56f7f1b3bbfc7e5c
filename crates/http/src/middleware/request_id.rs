//! Request ids and the access log: `X-Request-Id` is accepted when well-formed (else a new UUID
//! is made), stored for the handlers and the error renderer, echoed on the response, and set on
//! the `request` span so every log line of the request carries it. The span names the matched
//! route template (`/api/v1/invitations/{token}/accept`), never the raw path: paths can carry
//! tokens (invitation links) and ids a log reader need not see.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the request being served.
#[derive(Debug, Clone)]
pub struct RequestId(String);

impl RequestId {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A caller's id is kept only if it is short and plain, so it is safe in logs and headers.
    fn from_header(value: Option<&HeaderValue>) -> Self {
        value
            .and_then(|v| v.to_str().ok())
            .filter(|v| {
                !v.is_empty()
                    && v.len() <= 128
                    && v.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
            })
            .map(|v| Self(v.to_owned()))
            .unwrap_or_else(|| Self(uuid::Uuid::new_v4().to_string()))
    }
}

pub async fn request_id_and_log(mut request: Request, next: Next) -> Response {
    let id = RequestId::from_header(request.headers().get(&X_REQUEST_ID));
    request.extensions_mut().insert(id.clone());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    // The route template only: a raw path or query string can carry tokens and personal data.
    let span = tracing::info_span!(
        "request",
        request_id = %id.as_str(),
        method = %request.method(),
        route = route.as_deref().unwrap_or("unmatched"),
    );
    let started = Instant::now();
    async move {
        tracing::debug!(headers = ?request.headers(), "request headers");
        let mut response = next.run(request).await;
        let status = response.status().as_u16();
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        tracing::info!(status, latency_ms, "request completed");
        if let Ok(value) = HeaderValue::from_str(id.as_str()) {
            response.headers_mut().insert(X_REQUEST_ID.clone(), value);
        }
        response
    }
    .instrument(span)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_formed_ids_are_kept_and_others_replaced() {
        let keep = HeaderValue::from_static("abc-123_x.y:z");
        assert_eq!(
            RequestId::from_header(Some(&keep)).as_str(),
            "abc-123_x.y:z"
        );
        for bad in ["", "has space", "semi;colon", "quote\"", &"a".repeat(129)] {
            let v = HeaderValue::from_str(bad).unwrap();
            let id = RequestId::from_header(Some(&v));
            assert_ne!(id.as_str(), bad);
            assert_eq!(id.as_str().len(), 36, "a UUID replaces {bad:?}");
        }
    }
}
