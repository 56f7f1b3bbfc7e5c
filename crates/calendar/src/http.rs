//! The one door to the network: the [`Http`] trait, so the server can pass its SSRF-checked
//! client (crates/outbound) and tests a plain one ([`ReqwestHttp`]). Requests and responses are
//! plain data; bodies of requests are wiped when dropped (they carry codes, secrets and refresh
//! tokens), and a response body is bounded by whoever implements the trait.

use std::fmt;
use std::time::Duration;

use http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderName, HeaderValue};
use http::{HeaderMap, Method, StatusCode};
use url::Url;
use zeroize::Zeroizing;

use crate::secret::SecretString;

/// Sends one request and returns the response, whatever its status. Implementations must not
/// follow redirects, must bound the response body and must apply a deadline.
#[async_trait::async_trait]
pub trait Http: Send + Sync {
    /// Sends `req`.
    async fn send(&self, req: HttpRequest) -> Result<HttpResponse, HttpError>;
}

/// A request: method, URL, headers and an optional body (already encoded).
pub struct HttpRequest {
    /// The method.
    pub method: Method,
    /// The URL, query included.
    pub url: Url,
    /// Headers; `Authorization` is marked sensitive.
    pub headers: HeaderMap,
    /// The encoded body, wiped when dropped.
    pub body: Option<Zeroizing<Vec<u8>>>,
}

impl HttpRequest {
    /// A request without body.
    pub fn new(method: Method, url: Url) -> Self {
        Self {
            method,
            url,
            headers: HeaderMap::new(),
            body: None,
        }
    }

    /// Adds `Authorization: Bearer …` (sensitive, so `Debug` of the map hides it).
    pub fn bearer(mut self, token: &SecretString) -> Self {
        let value = Zeroizing::new(format!("Bearer {}", token.expose()));
        if let Ok(mut v) = HeaderValue::from_str(&value) {
            v.set_sensitive(true);
            self.headers.insert(AUTHORIZATION, v);
        }
        self
    }

    /// Adds a header (appended, so a name may repeat, as `Prefer` does).
    pub fn header(mut self, name: HeaderName, value: &str) -> Self {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.append(name, v);
        }
        self
    }

    /// An `application/x-www-form-urlencoded` body.
    pub fn form(mut self, pairs: &[(&str, &str)]) -> Self {
        let mut ser = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            ser.append_pair(k, v);
        }
        let body = Zeroizing::new(ser.finish());
        self.body = Some(Zeroizing::new(body.as_bytes().to_vec()));
        self.headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        self
    }

    /// A JSON body.
    pub fn json(mut self, value: &serde_json::Value) -> Self {
        self.body = Some(Zeroizing::new(value.to_string().into_bytes()));
        self.headers
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        self
    }
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may carry sync and delta tokens and the body codes and secrets: neither is
        // printed, only where the request goes.
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("host", &self.url.host_str())
            .field("path", &self.url.path())
            .field("body", &self.body.as_ref().map(|b| b.len()))
            .finish_non_exhaustive()
    }
}

/// A response: status, headers and the (bounded) body.
pub struct HttpResponse {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body, at most the implementation's bound.
    pub body: Vec<u8>,
}

impl fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Bodies hold tokens and event content: only their size is printed.
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// Why a request got no response. Messages never carry the URL (it may hold a token).
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The deadline passed.
    #[error("the request timed out")]
    Timeout,
    /// The response body was larger than the client keeps.
    #[error("the response body is larger than {0} bytes")]
    BodyTooLarge(usize),
    /// The caller's policy refused the URL (for example the server's SSRF rules).
    #[error("the URL was refused: {0}")]
    Refused(String),
    /// Connecting or transferring failed.
    #[error("the request failed: {0}")]
    Transport(String),
}

/// A plain reqwest client: no redirects, no proxy from the environment, a deadline and a body
/// bound. For tests and tools; the server passes its SSRF-checked client instead.
#[derive(Debug, Clone)]
pub struct ReqwestHttp {
    client: reqwest::Client,
    max_body: usize,
}

impl ReqwestHttp {
    /// Default limits: 20 s per request, 8 MiB of body.
    pub fn new() -> Result<Self, HttpError> {
        Self::with_limits(Duration::from_secs(20), 8 << 20)
    }

    /// A client with the given deadline and body bound.
    pub fn with_limits(timeout: Duration, max_body: usize) -> Result<Self, HttpError> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| HttpError::Transport(e.without_url().to_string()))?;
        Ok(Self { client, max_body })
    }
}

fn transport(e: reqwest::Error) -> HttpError {
    if e.is_timeout() {
        HttpError::Timeout
    } else {
        HttpError::Transport(e.without_url().to_string())
    }
}

#[async_trait::async_trait]
impl Http for ReqwestHttp {
    async fn send(&self, req: HttpRequest) -> Result<HttpResponse, HttpError> {
        let mut builder = self
            .client
            .request(req.method, req.url)
            .headers(req.headers);
        if let Some(body) = req.body {
            builder = builder.body(body.to_vec());
        }
        let mut response = builder.send().await.map_err(transport)?;
        let status = response.status();
        let headers = response.headers().clone();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > self.max_body {
                return Err(HttpError::BodyTooLarge(self.max_body));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_tokens_in_url_body_and_header() {
        let url = Url::parse("https://graph.example/v1.0/delta?$deltatoken=SECRETDELTA").unwrap();
        let req = HttpRequest::new(Method::POST, url)
            .bearer(&SecretString::new("ACCESSTOKEN"))
            .form(&[("refresh_token", "REFRESHTOKEN")]);
        let printed = format!("{req:?}");
        assert!(!printed.contains("SECRETDELTA"), "{printed}");
        assert!(!printed.contains("ACCESSTOKEN"), "{printed}");
        assert!(!printed.contains("REFRESHTOKEN"), "{printed}");
        assert!(format!("{:?}", req.headers).contains("Sensitive"));
    }
}
