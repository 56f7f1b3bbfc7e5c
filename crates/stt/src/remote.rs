//! What every remote provider client shares: base URL checks (the operator's outbound policy:
//! https to public hosts, plain http and private addresses only where allow-listed), the HTTP
//! client (meetvault's outbound client: the policy at every request, addresses resolved and
//! pinned by it, no redirects, timeouts), the `Authorization` header, and the mapping of answers
//! to [`SttError`] with sanitized messages. Must never: put the API key in a log, an error or a
//! `Debug` output, or echo a provider's raw body.

use std::fmt;
use std::time::Duration;

use meetvault_outbound::{Client, OutboundError, SendError};
use reqwest::header::{AUTHORIZATION, HeaderValue, RETRY_AFTER};
use reqwest::{RequestBuilder, Response, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::{RawSegment, Request, SttError};

/// How long to wait for a TCP + TLS connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a whole transcription request may take by default (upload, processing, answer).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// The largest successful answer read (a verbose_json of a very long meeting is a few MiB).
const MAX_RESPONSE_BYTES: usize = 64 << 20;
/// How much of an error answer is read to find its message.
const MAX_ERROR_BYTES: usize = 64 << 10;
/// The longest provider message kept in an error.
const MAX_MESSAGE_CHARS: usize = 200;

/// What sets one provider's HTTP API apart.
pub(crate) struct Provider {
    /// The engine name, in errors and logs.
    pub(crate) name: &'static str,
    /// The `Authorization` scheme (`Bearer`, `Token`).
    pub(crate) auth_scheme: &'static str,
    /// The endpoint's path after `/v1/`.
    pub(crate) path: &'static str,
    /// A model name to suggest when none is set.
    pub(crate) example_model: &'static str,
}

/// A provider endpoint with its key and model: the part of a client that talks HTTP.
pub(crate) struct Remote {
    pub(crate) provider: &'static str,
    base_url: Url,
    endpoint: Url,
    api_key: SecretString,
    auth_scheme: &'static str,
    model: String,
    http: Client,
    timeout: Duration,
}

impl fmt::Debug for Remote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.debug_as("Remote", f)
    }
}

impl Remote {
    /// Checks `base_url`, the key and the model, and builds the client for
    /// `{base}/v1/{path}` (`/v1` is not doubled when the base already ends in it).
    pub(crate) fn new(
        provider: &Provider,
        base_url: Url,
        api_key: SecretString,
        model: String,
        http: Client,
    ) -> Result<Self, SttError> {
        let Provider {
            name: provider,
            auth_scheme,
            path,
            example_model,
        } = *provider;
        let model = model.trim().to_owned();
        if model.is_empty() {
            return Err(SttError::InvalidConfig(format!(
                "the {provider} model is empty: set one, e.g. {example_model}"
            )));
        }
        check_base_url(&base_url, &http)?;
        let key = api_key.expose_secret().trim();
        if key.is_empty() {
            return Err(SttError::InvalidConfig(format!(
                "the {provider} API key is empty: set the key"
            )));
        }
        if !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(SttError::InvalidConfig(format!(
                "the {provider} API key contains spaces or characters that cannot be sent in an \
                 HTTP header: check the key"
            )));
        }
        let api_key = SecretString::from(key.to_owned());
        let endpoint = endpoint(&base_url, path);
        Ok(Self {
            provider,
            base_url,
            endpoint,
            api_key,
            auth_scheme,
            model,
            http,
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// A client's `Debug`: where it sends, which model, and never the key.
    pub(crate) fn debug_as(&self, type_name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(type_name)
            .field("base_url", &self.base_url.as_str())
            .field("api_key", &"[redacted]")
            .field("model", &self.model)
            .field("timeout", &self.timeout)
            .finish()
    }

    pub(crate) fn model(&self) -> &str {
        &self.model
    }

    pub(crate) fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    pub(crate) fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    /// A POST to `url` (the endpoint, perhaps with a query) with the timeout set.
    pub(crate) fn post(&self, url: Url) -> Result<RequestBuilder, SttError> {
        Ok(self
            .http
            .request(reqwest::Method::POST, url)
            .map_err(|e| self.refused(e))?
            .timeout(self.timeout)
            .header(
                reqwest::header::USER_AGENT,
                concat!("meetvault/", env!("CARGO_PKG_VERSION")),
            ))
    }

    /// A request the outbound client would not send, or that failed on the way.
    fn refused(&self, e: SendError) -> SttError {
        let host = self.endpoint.host_str().unwrap_or("the provider");
        match e {
            SendError::Http(e) => self.network_error(&e),
            // A name that does not resolve now may later: worth another try.
            SendError::Refused(OutboundError::Unresolvable) => SttError::Unavailable {
                provider: self.provider,
                detail: format!("{host} could not be resolved"),
            },
            SendError::Refused(why) => {
                SttError::InvalidConfig(format!("the {} base URL {why}", self.provider))
            }
            SendError::BodyTooLarge(max) => {
                self.bad_response(format!("the answer is larger than {max} bytes"))
            }
        }
    }

    /// Sends `request` with the key, maps failures to [`SttError`], and returns the body of a
    /// successful answer.
    pub(crate) async fn send(&self, request: RequestBuilder) -> Result<Vec<u8>, SttError> {
        let mut authorization = HeaderValue::from_str(&format!(
            "{} {}",
            self.auth_scheme,
            self.api_key.expose_secret()
        ))
        .map_err(|_| {
            SttError::InvalidConfig("the API key cannot be sent in a header".to_owned())
        })?;
        authorization.set_sensitive(true);
        let response = self
            .http
            .send(request.header(AUTHORIZATION, authorization))
            .await
            .map_err(|e| self.refused(e))?;
        let status = response.status();
        if status.is_success() {
            return match read_body(response, MAX_RESPONSE_BYTES).await {
                Ok((body, false)) => Ok(body),
                Ok((_, true)) => Err(self.bad_response(format!(
                    "the answer is larger than {} MiB",
                    MAX_RESPONSE_BYTES >> 20
                ))),
                Err(e) => Err(self.network_error(&e)),
            };
        }
        Err(self.status_error(response).await)
    }

    /// Parses a successful answer as `T`, reporting only where it went wrong (never the body,
    /// which holds the transcript).
    pub(crate) fn parse<T: serde::de::DeserializeOwned>(
        &self,
        body: &[u8],
        what: &str,
    ) -> Result<T, SttError> {
        serde_json::from_slice(body).map_err(|e| {
            let kind = match e.classify() {
                serde_json::error::Category::Io => "unreadable",
                serde_json::error::Category::Syntax => "not JSON",
                serde_json::error::Category::Data => "JSON of another shape",
                serde_json::error::Category::Eof => "truncated JSON",
            };
            self.bad_response(format!(
                "expected {what}, got {kind} (line {}, column {})",
                e.line(),
                e.column()
            ))
        })
    }

    /// The engine's result: logged (counts only, never text), with the requested language
    /// standing in when the provider reports none.
    pub(crate) fn finish(
        &self,
        req: &Request,
        (language, segments): (Option<String>, Vec<RawSegment>),
    ) -> (Option<String>, Vec<RawSegment>) {
        tracing::debug!(
            provider = self.provider,
            segments = segments.len(),
            language = language.as_deref(),
            "transcribed"
        );
        let segments = match req.word_timestamps {
            true => segments,
            false => segments
                .into_iter()
                .map(|s| RawSegment {
                    words: Vec::new(),
                    ..s
                })
                .collect(),
        };
        (language.or_else(|| req.language.clone()), segments)
    }

    pub(crate) fn bad_response(&self, detail: String) -> SttError {
        SttError::BadResponse {
            provider: self.provider,
            detail,
        }
    }

    async fn status_error(&self, response: Response) -> SttError {
        let status = response.status();
        let provider = self.provider;
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = read_body(response, MAX_ERROR_BYTES)
            .await
            .map(|(body, _)| body)
            .unwrap_or_default();
        let message = error_message(&body, &self.api_key);
        match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => SttError::Unauthorized { provider },
            StatusCode::TOO_MANY_REQUESTS => SttError::RateLimited {
                provider,
                retry_after,
            },
            StatusCode::REQUEST_TIMEOUT => SttError::Unavailable {
                provider,
                detail: format!("HTTP {}: {message}", status.as_u16()),
            },
            s if s.is_redirection() => self.bad_response(format!(
                "it answered with a redirect (HTTP {}), which is not followed: check the base URL",
                s.as_u16()
            )),
            s if s.is_client_error() => SttError::Rejected {
                provider,
                status: s.as_u16(),
                message,
            },
            s if s.is_server_error() => SttError::Unavailable {
                provider,
                detail: format!("HTTP {}: {message}", s.as_u16()),
            },
            s => self.bad_response(format!("unexpected HTTP status {}", s.as_u16())),
        }
    }

    fn network_error(&self, e: &reqwest::Error) -> SttError {
        let host = self.endpoint.host_str().unwrap_or("the provider");
        let what = if e.is_timeout() {
            format!(
                "no complete answer from {host} within {} s",
                self.timeout.as_secs()
            )
        } else if e.is_connect() {
            format!("cannot connect to {host}")
        } else if e.is_body() || e.is_decode() {
            format!("the answer from {host} broke off")
        } else {
            format!("the request to {host} failed")
        };
        // The innermost cause ("connection refused", "certificate expired", …) without the
        // URL reqwest adds to its own message.
        let mut cause: &dyn std::error::Error = e;
        while let Some(inner) = cause.source() {
            cause = inner;
        }
        SttError::Unavailable {
            provider: self.provider,
            detail: format!("{what} ({})", sanitize(&cause.to_string(), &self.api_key)),
        }
    }
}

/// Reads at most `limit` bytes of the body; the flag says whether there was more.
async fn read_body(
    mut response: Response,
    limit: usize,
) -> Result<(Vec<u8>, bool), reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > limit {
            let room = limit - body.len();
            body.extend_from_slice(&chunk[..room]);
            return Ok((body, true));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, false))
}

/// The provider's own error message from a JSON error body, sanitized; never the raw body.
///
/// Knows OpenAI's `{"error": {"message"}}`, a bare `{"error": "…"}`, Deepgram's `err_msg` and
/// `message`, and FastAPI's `detail` (used by several self-hosted Whisper servers).
fn error_message(body: &[u8], api_key: &SecretString) -> String {
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) else {
        return "no error message".to_owned();
    };
    let found = [
        json.pointer("/error/message"),
        json.get("error"),
        json.get("err_msg"),
        json.get("message"),
        json.get("detail"),
    ]
    .into_iter()
    .flatten()
    .find_map(|v| v.as_str());
    match found.map(|m| sanitize(m, api_key)) {
        Some(message) if !message.is_empty() => message,
        _ => "no error message".to_owned(),
    }
}

/// One line, no control characters, no key and nothing shaped like a key, at most
/// [`MAX_MESSAGE_CHARS`] characters.
pub(crate) fn sanitize(message: &str, api_key: &SecretString) -> String {
    let key = api_key.expose_secret();
    let message = if key.is_empty() {
        message.to_owned()
    } else {
        message.replace(key, "[redacted]")
    };
    let cleaned: Vec<&str> = message
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .map(|w| {
            if looks_like_secret(w) {
                "[redacted]"
            } else {
                w
            }
        })
        .collect();
    let cleaned = cleaned.join(" ");
    if cleaned.chars().count() > MAX_MESSAGE_CHARS {
        let mut cut: String = cleaned.chars().take(MAX_MESSAGE_CHARS).collect();
        cut.push('…');
        cut
    } else {
        cleaned
    }
}

/// `sk-…` keys (even partly masked, as OpenAI echoes them) and long random-looking tokens such
/// as Deepgram's 40-hex-digit keys.
fn looks_like_secret(word: &str) -> bool {
    let word = word.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '*');
    let token_chars = word
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '*' | '.'));
    word.starts_with("sk-")
        || (word.len() >= 24
            && token_chars
            && word.chars().any(|c| c.is_ascii_digit())
            && word.chars().any(|c| c.is_ascii_alphabetic()))
}

/// The shape of a base URL (no credentials, query or fragment) and the operator's outbound
/// policy: `https` to a public host, plain `http` or a private address only where the operator
/// allow-listed it (`outbound.allow_hosts`).
fn check_base_url(url: &Url, http: &Client) -> Result<(), SttError> {
    if !url.username().is_empty() || url.password().is_some() {
        return Err(SttError::InvalidConfig(
            "the base URL contains a user name or password: remove them; the API key is set \
             separately"
                .to_owned(),
        ));
    }
    if url.host().is_none() {
        return Err(SttError::InvalidConfig(format!(
            "base URL {url} has no host: use e.g. https://api.openai.com"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(SttError::InvalidConfig(format!(
            "base URL {} has a query or fragment: give only scheme, host, port and path",
            without_query(url)
        )));
    }
    match http.policy().check_url(url) {
        Ok(()) => Ok(()),
        Err(OutboundError::NotHttps) if url.scheme() == "http" => Err(SttError::InsecureUrl {
            url: url.to_string(),
        }),
        Err(OutboundError::NotHttps) => Err(SttError::InvalidConfig(format!(
            "base URL scheme {:?} is not supported: use https",
            url.scheme()
        ))),
        Err(why) => Err(SttError::InvalidConfig(format!("base URL {url} {why}"))),
    }
}

fn without_query(url: &Url) -> String {
    let mut url = url.clone();
    url.set_query(None);
    url.set_fragment(None);
    url.to_string()
}

/// `{base}/v1/{path}`, or `{base}/{path}` when the base path already ends in `/v1`.
fn endpoint(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let base_path = base.path().trim_end_matches('/');
    let joined = if base_path.ends_with("/v1") {
        format!("{base_path}/{path}")
    } else {
        format!("{base_path}/v1/{path}")
    };
    url.set_path(&joined);
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    fn key() -> SecretString {
        SecretString::from("sk-test-0123456789abcdefSECRET")
    }

    #[test]
    fn v1_is_appended_once() {
        let path = "audio/transcriptions";
        for (base, expected) in [
            (
                "https://api.openai.com",
                "https://api.openai.com/v1/audio/transcriptions",
            ),
            (
                "https://api.openai.com/",
                "https://api.openai.com/v1/audio/transcriptions",
            ),
            (
                "https://api.openai.com/v1",
                "https://api.openai.com/v1/audio/transcriptions",
            ),
            (
                "https://api.openai.com/v1/",
                "https://api.openai.com/v1/audio/transcriptions",
            ),
            (
                "https://h.example/proxy",
                "https://h.example/proxy/v1/audio/transcriptions",
            ),
            (
                "http://127.0.0.1:8080/x/v1",
                "http://127.0.0.1:8080/x/v1/audio/transcriptions",
            ),
        ] {
            assert_eq!(endpoint(&url(base), path).as_str(), expected, "{base}");
        }
    }

    /// A client whose operator allow-listed this machine.
    fn local() -> Client {
        let allow = ["127.0.0.0/8", "::1/128", "localhost"].map(String::from);
        Client::new(
            meetvault_outbound::Policy::new(&allow),
            meetvault_outbound::ClientOptions::default(),
        )
        .unwrap()
    }

    #[test]
    fn plain_http_is_accepted_only_where_the_operator_allow_listed_it() {
        let public_only = Client::new(
            meetvault_outbound::Policy::default(),
            meetvault_outbound::ClientOptions::default(),
        )
        .unwrap();
        assert!(matches!(
            check_base_url(&url("http://127.0.0.1:9000"), &public_only),
            Err(SttError::InsecureUrl { .. })
        ));
        for ok in [
            "https://api.example.com",
            "http://127.0.0.1:9000",
            "http://127.1.2.3",
            "http://[::1]:8000",
            "http://localhost:8000",
            "http://LOCALHOST",
        ] {
            assert!(check_base_url(&url(ok), &local()).is_ok(), "{ok}");
        }
        for insecure in [
            "http://api.example.com",
            "http://10.0.0.5:8000",
            "http://[::2]",
        ] {
            assert!(
                matches!(
                    check_base_url(&url(insecure), &local()),
                    Err(SttError::InsecureUrl { .. })
                ),
                "{insecure}"
            );
        }
        let err = check_base_url(&url("http://api.example.com"), &local()).unwrap_err();
        assert!(err.to_string().contains("plain HTTP"), "{err}");
    }

    #[test]
    fn odd_base_urls_are_refused_without_echoing_credentials() {
        let err =
            check_base_url(&url("https://user:hunter2@api.example.com"), &local()).unwrap_err();
        assert!(matches!(err, SttError::InvalidConfig(_)));
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert!(check_base_url(&url("https://api.example.com/?key=1"), &local()).is_err());
        assert!(check_base_url(&url("ftp://api.example.com"), &local()).is_err());
    }

    #[test]
    fn messages_lose_keys_control_characters_and_length() {
        let k = key();
        assert_eq!(
            sanitize("bad key sk-test-0123456789abcdefSECRET\nagain", &k),
            "bad key [redacted] again"
        );
        assert_eq!(
            sanitize("Incorrect API key provided: sk-proj-****abcd.", &k),
            "Incorrect API key provided: [redacted]"
        );
        assert_eq!(
            sanitize("token 0123456789abcdef0123456789abcdef01234567 refused", &k),
            "token [redacted] refused"
        );
        assert_eq!(sanitize("Invalid credentials.", &k), "Invalid credentials.");
        let long = "word ".repeat(100);
        let cut = sanitize(&long, &k);
        assert_eq!(cut.chars().count(), MAX_MESSAGE_CHARS + 1);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn error_messages_are_found_in_known_shapes_only() {
        let k = key();
        let cases: [(&str, &str); 6] = [
            (
                r#"{"error":{"message":"Invalid file format.","type":"invalid_request_error"}}"#,
                "Invalid file format.",
            ),
            (r#"{"error":"model not found"}"#, "model not found"),
            (
                r#"{"err_code":"Bad Request","err_msg":"corrupt or unsupported data"}"#,
                "corrupt or unsupported data",
            ),
            (
                r#"{"category":"INVALID_JSON","message":"Invalid JSON submitted."}"#,
                "Invalid JSON submitted.",
            ),
            (r#"{"detail":"Not Found"}"#, "Not Found"),
            (
                "<html>sk-test-0123456789abcdefSECRET</html>",
                "no error message",
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(error_message(body.as_bytes(), &k), expected, "{body}");
        }
    }
}
