//! `meetvault bot run`'s side of the internal protocol (docs/bot-protocol.md): the spec the
//! server hands out, turned into a [`BotSpec`] and a [`Recipe`], and [`HttpReporter`], the
//! [`Reporter`] that sends transitions, events and audio to the server in order (retrying what
//! failed on the way, so a server restart loses nothing the bot captured), heartbeats on the
//! side, and long-polls the server's commands.
//!
//! The token (`MEETVAULT_BOT_TOKEN`) lives in memory only: a sensitive header value, zeroized
//! on drop, never logged, never passed to the browser.

use std::sync::Arc;
use std::time::Duration;

use meetvault_recipe::Recipe;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use zeroize::Zeroizing;

use crate::session::{AutomaticLeave, BotEvent, BotSpec, BotState, Command, RecordingOptions};
use crate::{Reporter, TrackKey, sub_code};

/// How long one request may take (the commands long-poll adds the server's wait).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a report is retried before it is given up (logged): long enough for a server
/// restart.
const RETRY_FOR: Duration = Duration::from_secs(120);
/// Reports waiting to be sent; beyond this the session waits (audio is never dropped).
const QUEUE: usize = 1024;

/// Why the bot cannot start: the server cannot be reached, refuses the token, or sends a spec
/// that cannot be run.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    #[error("the server at {0} cannot be reached: {1}")]
    Unreachable(String, String),
    #[error(
        "the server refused this bot's token (MEETVAULT_BOT_TOKEN): the bot has ended or the token is wrong"
    )]
    Refused,
    #[error("the server answered {0}: {1}")]
    Status(StatusCode, String),
    #[error("the spec cannot be run: {0}")]
    BadSpec(String),
    #[error("{0}")]
    Usage(String),
}

/// The server's spec, as `GET …/spec` sends it.
#[derive(Debug, Deserialize)]
struct WireSpec {
    meeting_url: String,
    bot_name: String,
    platform: String,
    #[serde(default)]
    consent_message: Option<String>,
    #[serde(default)]
    opt_out_phrase: Option<String>,
    #[serde(default)]
    recording: WireRecording,
    #[serde(default)]
    automatic_leave: WireLeave,
    #[serde(default)]
    recipe: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(default)]
struct WireRecording {
    per_speaker: bool,
    mixed: bool,
}

impl Default for WireRecording {
    fn default() -> Self {
        WireRecording {
            per_speaker: true,
            mixed: false,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WireLeave {
    waiting_room_timeout_secs: Option<u64>,
    no_one_joined_timeout_secs: Option<u64>,
    everyone_left_timeout_secs: Option<u64>,
    silence_timeout_secs: Option<u64>,
    max_duration_secs: Option<u64>,
}

/// The server's spec as a session's [`BotSpec`] and the platform's [`Recipe`]. The server's
/// leave rules are taken as they are (`null`: off), not the session's defaults.
pub fn spec_from_server(body: &Value) -> Result<(BotSpec, Recipe), ProtocolError> {
    let wire: WireSpec =
        serde_json::from_value(body.clone()).map_err(|e| ProtocolError::BadSpec(e.to_string()))?;
    let recipe = match &wire.recipe {
        Some(recipe) => Recipe::from_json_str(&recipe.to_string())
            .map_err(|e| ProtocolError::BadSpec(format!("recipe {}: {e}", wire.platform)))?,
        None => {
            return Err(ProtocolError::BadSpec(format!(
                "the server has no recipe for platform {:?}",
                wire.platform
            )));
        }
    };
    let secs = |s: Option<u64>| s.map(Duration::from_secs);
    let l = &wire.automatic_leave;
    let mut spec = BotSpec::new(wire.meeting_url, wire.bot_name);
    spec.consent_message = wire.consent_message.filter(|m| !m.trim().is_empty());
    if let Some(phrase) = wire.opt_out_phrase.filter(|p| !p.trim().is_empty()) {
        spec.opt_out_phrase = phrase;
    }
    spec.recording = RecordingOptions {
        per_speaker_audio: wire.recording.per_speaker || wire.recording.mixed,
        mixed_audio: wire.recording.mixed,
    };
    spec.automatic_leave = AutomaticLeave {
        waiting_room_timeout: secs(l.waiting_room_timeout_secs),
        no_one_joined_timeout: secs(l.no_one_joined_timeout_secs),
        everyone_left_timeout: secs(l.everyone_left_timeout_secs),
        silence_timeout: secs(l.silence_timeout_secs),
        max_duration: secs(l.max_duration_secs),
    };
    Ok((spec, recipe))
}

/// The sub-codes a `leave` command may carry, as the session's static names.
fn leave_code(code: &str) -> &'static str {
    match code {
        "max_duration" => sub_code::MAX_DURATION,
        "silence" => sub_code::SILENCE,
        "everyone_left" => sub_code::EVERYONE_LEFT,
        "no_one_joined" => sub_code::NO_ONE_JOINED,
        _ => sub_code::LEFT_BY_API,
    }
}

/// One bot's connection to its server.
#[derive(Clone)]
pub struct ServerClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    /// `{server}/internal/v1/bots/{id}`.
    base: String,
    auth: HeaderValue,
}

impl std::fmt::Debug for ServerClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerClient")
            .field("base", &self.inner.base)
            .finish_non_exhaustive()
    }
}

/// A failed request: worth retrying (the server is away or overloaded) or not.
enum SendError {
    Retry(String),
    Final(StatusCode, String),
}

impl ServerClient {
    /// A client for bot `bot_id` at `server` (`http://127.0.0.1:8080`), proving itself with
    /// `token`.
    pub fn new(
        server: &str,
        bot_id: &str,
        token: Zeroizing<String>,
    ) -> Result<Self, ProtocolError> {
        let server = server.trim_end_matches('/');
        if !(server.starts_with("http://") || server.starts_with("https://")) {
            return Err(ProtocolError::Usage(format!(
                "--server must be an http:// or https:// URL, not {server:?}"
            )));
        }
        if bot_id.is_empty()
            || !bot_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(ProtocolError::Usage(format!(
                "--bot-id must be a bot id (bot_…), not {bot_id:?}"
            )));
        }
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", token.as_str()))
            .map_err(|_| ProtocolError::Usage("MEETVAULT_BOT_TOKEN is not a token".into()))?;
        auth.set_sensitive(true);
        let http = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| ProtocolError::Unreachable(server.to_owned(), e.to_string()))?;
        Ok(ServerClient {
            inner: Arc::new(Inner {
                http,
                base: format!("{server}/internal/v1/bots/{bot_id}"),
                auth,
            }),
        })
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Body,
        timeout: Duration,
    ) -> Result<reqwest::Response, SendError> {
        let mut request = self
            .inner
            .http
            .request(method, format!("{}/{path}", self.inner.base))
            .header(AUTHORIZATION, self.inner.auth.clone())
            .timeout(timeout);
        request = match body {
            Body::None => request,
            Body::Json(v) => request.json(&v),
            Body::Pcm(bytes) => request
                .header("content-type", "application/octet-stream")
                .body(bytes),
        };
        match request.send().await {
            Ok(r) if r.status().is_success() => Ok(r),
            Ok(r) => {
                let status = r.status();
                let text: String = r
                    .text()
                    .await
                    .unwrap_or_default()
                    .chars()
                    .take(300)
                    .collect();
                if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
                    Err(SendError::Retry(format!("{status}: {text}")))
                } else {
                    Err(SendError::Final(status, text))
                }
            }
            Err(e) => Err(SendError::Retry(e.without_url().to_string())),
        }
    }

    /// Sends a request until it succeeds, fails for good, or [`RETRY_FOR`] has passed.
    async fn send_retrying(&self, method: Method, path: &str, body: Body) -> Result<(), SendError> {
        let deadline = tokio::time::Instant::now() + RETRY_FOR;
        let mut pause = Duration::from_millis(200);
        loop {
            match self
                .send(method.clone(), path, body.clone(), REQUEST_TIMEOUT)
                .await
            {
                Ok(_) => return Ok(()),
                Err(SendError::Retry(why)) if tokio::time::Instant::now() + pause < deadline => {
                    tracing::debug!(path, %why, "the server did not take a report; retrying");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(5));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The bot's spec (retried while the server is unreachable, for [`RETRY_FOR`]).
    pub async fn spec(&self) -> Result<(BotSpec, Recipe), ProtocolError> {
        let deadline = tokio::time::Instant::now() + RETRY_FOR;
        loop {
            match self
                .send(Method::GET, "spec", Body::None, REQUEST_TIMEOUT)
                .await
            {
                Ok(r) => {
                    let body: Value = r
                        .json()
                        .await
                        .map_err(|e| ProtocolError::BadSpec(e.to_string()))?;
                    return spec_from_server(&body);
                }
                Err(SendError::Final(StatusCode::UNAUTHORIZED, _)) => {
                    return Err(ProtocolError::Refused);
                }
                Err(SendError::Final(status, text)) => {
                    return Err(ProtocolError::Status(status, text));
                }
                Err(SendError::Retry(why)) if tokio::time::Instant::now() < deadline => {
                    tracing::info!(%why, "waiting for the server");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                Err(SendError::Retry(why)) => {
                    return Err(ProtocolError::Unreachable(self.inner.base.clone(), why));
                }
            }
        }
    }

    /// A reporter over this connection, and the handle that finishes when every report was
    /// sent (or given up) after the reporter is dropped.
    pub fn reporter(&self) -> (HttpReporter, JoinHandle<()>) {
        let (queue, pending) = mpsc::channel(QUEUE);
        let worker = tokio::spawn(send_reports(self.clone(), pending));
        (
            HttpReporter {
                client: self.clone(),
                queue,
                poller: None,
            },
            worker,
        )
    }
}

#[derive(Debug, Clone)]
enum Body {
    None,
    Json(Value),
    Pcm(bytes::Bytes),
}

/// One report waiting to be sent.
struct Report {
    path: String,
    body: Body,
}

/// Sends reports one by one, in the order the session made them.
async fn send_reports(client: ServerClient, mut pending: mpsc::Receiver<Report>) {
    while let Some(report) = pending.recv().await {
        match client
            .send_retrying(Method::POST, &report.path, report.body)
            .await
        {
            Ok(()) => {}
            Err(SendError::Final(StatusCode::UNAUTHORIZED, _)) => {
                tracing::warn!("the server no longer accepts this bot's reports (it has ended it)");
                // Nothing more will be accepted: drain without sending.
                while pending.recv().await.is_some() {}
                return;
            }
            Err(SendError::Final(status, text)) => {
                tracing::warn!(path = %report.path, %status, %text, "the server refused a report");
            }
            Err(SendError::Retry(why)) => {
                tracing::error!(path = %report.path, %why, "a report was given up after retrying");
            }
        }
    }
}

/// The [`Reporter`] of a real bot: reports go to the server in order through a queue (the
/// meeting does not wait on the network unless the queue is full).
#[derive(Debug)]
pub struct HttpReporter {
    client: ServerClient,
    queue: mpsc::Sender<Report>,
    poller: Option<JoinHandle<()>>,
}

impl Drop for HttpReporter {
    fn drop(&mut self) {
        if let Some(poller) = self.poller.take() {
            poller.abort();
        }
    }
}

impl HttpReporter {
    async fn enqueue(&self, path: String, body: Body) {
        if self.queue.send(Report { path, body }).await.is_err() {
            tracing::error!("the report queue is closed; a report was lost");
        }
    }
}

impl Reporter for HttpReporter {
    async fn transition(&self, state: BotState, sub_code: Option<&'static str>) {
        let body = json!({"state": state.as_str(), "sub_code": sub_code});
        self.enqueue("transitions".into(), Body::Json(body)).await;
    }

    async fn heartbeat(&self) {
        // Not queued: it says the process is alive, now.
        if let Err(SendError::Retry(why) | SendError::Final(_, why)) = self
            .client
            .send(
                Method::POST,
                "heartbeat",
                Body::None,
                Duration::from_secs(5),
            )
            .await
        {
            tracing::debug!(%why, "a heartbeat did not reach the server");
        }
    }

    async fn event(&self, event: BotEvent) {
        match serde_json::to_value(&event) {
            Ok(body) => self.enqueue("events".into(), Body::Json(body)).await,
            Err(e) => tracing::error!(error = %e, "an event could not be encoded"),
        }
    }

    async fn audio(&self, track: &TrackKey, seq: u64, start_ms: u64, pcm16k: Vec<i16>) {
        let mut bytes = Vec::with_capacity(pcm16k.len() * 2);
        for s in pcm16k {
            bytes.extend_from_slice(&s.to_le_bytes());
        }
        let path = format!("audio?track={track}&seq={seq}&start_ms={start_ms}");
        self.enqueue(path, Body::Pcm(bytes.into())).await;
    }

    fn commands(&mut self) -> mpsc::Receiver<Command> {
        let (sender, receiver) = mpsc::channel(16);
        self.poller = Some(tokio::spawn(poll_commands(self.client.clone(), sender)));
        receiver
    }
}

/// Long-polls `GET …/commands` into `sender` until the session stops listening or the server
/// refuses the token.
async fn poll_commands(client: ServerClient, sender: mpsc::Sender<Command>) {
    loop {
        let answer = client
            .send(Method::GET, "commands", Body::None, Duration::from_secs(90))
            .await;
        let body: Value = match answer {
            Ok(r) => r.json().await.unwrap_or(Value::Null),
            Err(SendError::Final(StatusCode::UNAUTHORIZED, _)) => return,
            Err(SendError::Final(status, why)) => {
                tracing::warn!(%status, %why, "the commands long-poll failed");
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
            Err(SendError::Retry(why)) => {
                tracing::debug!(%why, "the commands long-poll failed; polling again");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        for command in body["commands"].as_array().into_iter().flatten() {
            let command = match command["type"].as_str() {
                Some("leave") => {
                    Command::Leave(leave_code(command["sub_code"].as_str().unwrap_or_default()))
                }
                Some("send_chat") => match command["text"].as_str() {
                    Some(text) => Command::SendChat(text.to_owned()),
                    None => continue,
                },
                other => {
                    tracing::warn!(kind = ?other, "an unknown command was skipped");
                    continue;
                }
            };
            if sender.send(command).await.is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn testmeet_recipe() -> Value {
        Recipe::from_toml_str(include_str!("../../../recipes/testmeet.toml"))
            .unwrap()
            .to_json()
    }

    #[test]
    fn the_server_spec_becomes_a_session_spec_with_its_own_leave_rules() {
        let body = json!({
            "bot_id": "bot_x", "meeting_url": "http://127.0.0.1:4100/r/a", "bot_name": "Notes",
            "platform": "testmeet", "consent_message": "We record.", "opt_out_phrase": "/stop",
            "state": "scheduled", "recording": {"per_speaker": true, "mixed": true},
            "automatic_leave": {"waiting_room_timeout_secs": 30, "no_one_joined_timeout_secs": null,
                "everyone_left_timeout_secs": 5, "silence_timeout_secs": null, "max_duration_secs": 600},
            "language": null, "recipe": testmeet_recipe()});
        let (spec, recipe) = spec_from_server(&body).unwrap();
        assert_eq!(recipe.name(), "testmeet");
        assert_eq!(spec.bot_name, "Notes");
        assert_eq!(spec.consent_message.as_deref(), Some("We record."));
        assert_eq!(spec.opt_out_phrase, "/stop");
        assert!(spec.recording.per_speaker_audio && spec.recording.mixed_audio);
        let l = spec.automatic_leave;
        assert_eq!(l.waiting_room_timeout, Some(Duration::from_secs(30)));
        assert_eq!(l.no_one_joined_timeout, None);
        assert_eq!(l.everyone_left_timeout, Some(Duration::from_secs(5)));
        assert_eq!(l.silence_timeout, None);
        assert_eq!(l.max_duration, Some(Duration::from_secs(600)));
    }

    #[test]
    fn a_spec_without_a_recipe_or_with_a_broken_one_cannot_run() {
        let mut body = json!({"meeting_url": "u", "bot_name": "b", "platform": "gone"});
        let e = spec_from_server(&body).unwrap_err().to_string();
        assert!(e.contains("no recipe for platform \"gone\""), "{e}");
        body["recipe"] = json!({"name": "x"});
        assert!(matches!(
            spec_from_server(&body),
            Err(ProtocolError::BadSpec(_))
        ));
    }

    #[test]
    fn leave_commands_keep_their_sub_code() {
        assert_eq!(leave_code("max_duration"), sub_code::MAX_DURATION);
        assert_eq!(leave_code("left_by_api"), sub_code::LEFT_BY_API);
        assert_eq!(leave_code("anything"), sub_code::LEFT_BY_API);
    }

    #[test]
    fn bad_arguments_are_named() {
        let token = || Zeroizing::new("mvb_x".to_owned());
        let e = ServerClient::new("ftp://x", "bot_1", token()).unwrap_err();
        assert!(e.to_string().contains("--server"), "{e}");
        let e = ServerClient::new("http://127.0.0.1:1", "../x", token()).unwrap_err();
        assert!(e.to_string().contains("--bot-id"), "{e}");
        let e = ServerClient::new("http://127.0.0.1:1", "bot_1", Zeroizing::new("a\nb".into()))
            .unwrap_err();
        assert!(e.to_string().contains("MEETVAULT_BOT_TOKEN"), "{e}");
    }
}
