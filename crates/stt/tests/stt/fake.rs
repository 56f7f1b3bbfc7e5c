//! A loopback HTTP server (127.0.0.1:0 only) that plays a transcription provider: it checks
//! the API key as the provider does, records every request, and answers with a canned reply.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Multipart, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use meetvault_stt::{Engine, Request, SttError};
use secrecy::SecretString;
use url::Url;

/// The key the fake providers accept.
pub const KEY: &str = "sk-meetvault-test-7f3a9c21d4e8b6a05f1e2d3c";

pub fn key() -> SecretString {
    SecretString::from(KEY)
}

/// One multipart form field as received.
#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    pub data: Vec<u8>,
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub fields: Vec<Field>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The text of every form field called `name`.
    pub fn field(&self, name: &str) -> Vec<String> {
        self.fields
            .iter()
            .filter(|f| f.name == name)
            .map(|f| String::from_utf8(f.data.clone()).unwrap())
            .collect()
    }

    pub fn query_pairs(&self) -> Vec<(String, String)> {
        let query = self.query.clone().unwrap_or_default();
        url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect()
    }
}

/// What the fake answers once the key checks out.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
    pub delay: Duration,
}

impl Reply {
    pub fn json(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            headers: vec![("content-type", "application/json".to_owned())],
            body: body.into(),
            delay: Duration::ZERO,
        }
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    OpenAi,
    Deepgram,
}

#[derive(Clone)]
struct Shared {
    kind: Kind,
    reply: Reply,
    received: Arc<Mutex<Vec<Received>>>,
}

/// A running fake provider.
pub struct Fake {
    pub base: Url,
    received: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Fake {
    /// Plays OpenAI: `POST /v1/audio/transcriptions`, multipart, `Authorization: Bearer`.
    pub async fn openai(reply: Reply) -> Self {
        Self::start(Kind::OpenAi, reply).await
    }

    /// Plays Deepgram: `POST /v1/listen`, raw audio body, `Authorization: Token`.
    pub async fn deepgram(reply: Reply) -> Self {
        Self::start(Kind::Deepgram, reply).await
    }

    async fn start(kind: Kind, reply: Reply) -> Self {
        let received = Arc::new(Mutex::new(Vec::new()));
        let shared = Shared {
            kind,
            reply,
            received: received.clone(),
        };
        let router = match kind {
            Kind::OpenAi => Router::new().route("/v1/audio/transcriptions", post(openai)),
            Kind::Deepgram => Router::new().route("/v1/listen", post(deepgram)),
        }
        .with_state(shared);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Self {
            base: Url::parse(&format!("http://{address}")).unwrap(),
            received,
            task,
        }
    }

    pub fn requests(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// The only request received.
    pub fn request(&self) -> Received {
        let requests = self.requests();
        assert_eq!(requests.len(), 1, "expected exactly one request");
        requests.into_iter().next().unwrap()
    }
}

async fn openai(
    State(shared): State<Shared>,
    uri: Uri,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Response {
    let mut fields = Vec::new();
    while let Some(field) = multipart.next_field().await.unwrap() {
        fields.push(Field {
            name: field.name().unwrap_or_default().to_owned(),
            file_name: field.file_name().map(str::to_owned),
            content_type: field.content_type().map(str::to_owned),
            data: field.bytes().await.unwrap().to_vec(),
        });
    }
    let request = Received {
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        headers,
        body: Vec::new(),
        fields,
    };
    answer(shared, request).await
}

async fn deepgram(
    State(shared): State<Shared>,
    uri: Uri,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = Received {
        path: uri.path().to_owned(),
        query,
        headers,
        body: body.to_vec(),
        fields: Vec::new(),
    };
    answer(shared, request).await
}

/// Records the request, then answers as the provider documents: 401 with its error body for a
/// wrong key, the canned reply otherwise.
async fn answer(shared: Shared, request: Received) -> Response {
    let authorization = request
        .header("authorization")
        .unwrap_or_default()
        .to_owned();
    shared.received.lock().unwrap().push(request);
    let (scheme, unauthorized) = match shared.kind {
        Kind::OpenAi => (
            "Bearer",
            // OpenAI echoes a masked key; the client must not pass even that on.
            r#"{"error": {"message": "Incorrect API key provided: sk-wron*********************abcd. You can find your API key at https://platform.openai.com/account/api-keys.", "type": "invalid_request_error", "param": null, "code": "invalid_api_key"}}"#,
        ),
        Kind::Deepgram => (
            "Token",
            r#"{"err_code": "INVALID_AUTH", "err_msg": "Invalid credentials.", "request_id": "2b7d6bd3-1c6e-4d2b-8d65-1d5f3a0e9d11"}"#,
        ),
    };
    if authorization != format!("{scheme} {KEY}") {
        return (
            StatusCode::UNAUTHORIZED,
            [("content-type", "application/json")],
            unauthorized,
        )
            .into_response();
    }
    let reply = shared.reply;
    tokio::time::sleep(reply.delay).await;
    let mut response = (StatusCode::from_u16(reply.status).unwrap(), reply.body).into_response();
    for (name, value) in reply.headers {
        response.headers_mut().insert(name, value.parse().unwrap());
    }
    response
}

/// A 16 kHz mono 16-bit WAV of `seconds` of a 440 Hz tone.
pub fn wav(seconds: f64) -> bytes::Bytes {
    let samples = (seconds * 16_000.0) as usize;
    let data = samples * 2;
    let mut out = Vec::with_capacity(44 + data);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&((36 + data) as u32).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&16_000u32.to_le_bytes());
    out.extend_from_slice(&32_000u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&(data as u32).to_le_bytes());
    for n in 0..samples {
        let t = n as f64 / 16_000.0;
        let sample = ((t * 440.0 * std::f64::consts::TAU).sin() * 8_000.0) as i16;
        out.extend_from_slice(&sample.to_le_bytes());
    }
    bytes::Bytes::from(out)
}

/// Transcribes half a second with `engine`, expecting an error whose text shows no key.
pub async fn failure(engine: &dyn Engine) -> SttError {
    let err = engine
        .transcribe(wav(0.5), &Request::default())
        .await
        .unwrap_err();
    assert_no_key(&err, &err.to_string());
    err
}

/// Asserts that neither `Display` nor `Debug` of `value` contains the key or a telling part
/// of it.
pub fn assert_no_key(value: &(impl std::fmt::Debug + ?Sized), display: &str) {
    let debug = format!("{value:?}");
    for text in [&debug, display] {
        assert!(!text.contains(KEY), "key leaked: {text}");
        assert!(
            !text.contains(&KEY[KEY.len() - 12..]),
            "key tail leaked: {text}"
        );
        assert!(!text.contains("sk-wron"), "masked key leaked: {text}");
    }
}
