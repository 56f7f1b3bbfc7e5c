//! Transcription: job status, a meeting's live events (Server-Sent Events), re-running a
//! meeting's transcription, and the OpenAI-compatible `POST /v1/audio/transcriptions` and
//! `/v1/audio/translations` backed by the local engine (so existing OpenAI SDKs can use
//! meetvault with an API key).

use std::convert::Infallible;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::{Stream, TryStreamExt};
use meetvault_core::endpoint::EndpointRequest;
use meetvault_core::events::MeetingEvent;
use meetvault_core::ids::{JobId, MeetingId};
use meetvault_core::transcription::JobView;
use meetvault_core::transcription::Task;
use meetvault_stt::openai::VerboseJson;
use meetvault_stt::{ExportFormat, ExportMeta};
use tokio::sync::broadcast;

use crate::auth::{Auth, perm};
use crate::middleware::security_headers::user_content;
use crate::state::AppState;
use crate::wire::errors::AuthErrors;
use crate::wire::events::{ClosedReason, StreamEvent};
use crate::wire::jobs::{Job, JobsQueued};
use crate::wire::openai::{TranscriptionForm, TranscriptionJson, TranscriptionText};
use crate::{ApiError, ApiJson};

use super::parse_id;

/// A job's state and progress (transcription and later background work).
#[utoipa::path(get, path = "/api/v1/jobs/{id}", tag = "jobs", params(("id" = crate::wire::ids::JobId, Path, description = "The job")), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "The job: state, progress, attempts, error", body = Job), (status = 404, description = "No such job", body = crate::error::ErrorBody)))]
pub async fn get_job(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::MeetingsRead>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id::<JobId>(&id)?;
    Ok(ApiJson(Job::from(
        app.core.transcription().job(&scope, id).await?,
    )))
}

/// Queues transcription of every recording of the meeting again (after changing its settings).
#[utoipa::path(post, path = "/api/v1/meetings/{id}/transcribe", tag = "meetings", params(("id" = crate::wire::ids::MeetingId, Path, description = "The meeting")), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 202, description = "Queued, a job per recording", body = JobsQueued), (status = 404, description = "No such meeting", body = crate::error::ErrorBody), (status = 422, description = "No recording", body = crate::error::ErrorBody)))]
pub async fn transcribe_meeting(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::MeetingsWrite>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id::<MeetingId>(&id)?;
    let jobs = app.core.transcription().transcribe(&scope, id).await?;
    Ok((StatusCode::ACCEPTED, ApiJson(JobsQueued { jobs })))
}

fn job_event(j: &JobView) -> MeetingEvent {
    MeetingEvent::Job {
        job_id: j.id,
        state: j.state,
        progress: j.progress,
        error: j.error.clone(),
    }
}

/// An event as sent: its outbox sequence number is its SSE `id` (snapshot events have none).
fn sse(seq: Option<i64>, event: MeetingEvent) -> Event {
    let event = StreamEvent::from(event);
    let e = Event::default()
        .event(event.name())
        .json_data(&event)
        .unwrap_or_else(|_| Event::default().comment("unserializable event"));
    match seq {
        Some(seq) => e.id(seq.to_string()),
        None => e,
    }
}

struct Watch {
    app: AppState,
    scope: meetvault_core::access::Scope<perm::MeetingsRead>,
    meeting: MeetingId,
    /// When the caller's right to read was last checked.
    checked: Instant,
    /// The last outbox sequence number sent (or skipped).
    after: i64,
    wake: broadcast::Receiver<()>,
    pending: std::collections::VecDeque<Event>,
    poll: tokio::time::Interval,
    /// The last page was full: read the next at once.
    more: bool,
    /// A `closed` event was sent: the stream ends.
    done: bool,
}

impl Watch {
    /// Reads the events after `after`, checking the caller's right to read again first when the
    /// last check is a second old (or `recheck`); `Err` is the `closed` event that ends the
    /// stream. A failure that says nothing about access (a busy database) is tried again on
    /// the next tick.
    async fn read(&mut self, recheck: bool) -> Result<(), Event> {
        if recheck || self.checked.elapsed() >= Duration::from_secs(1) {
            match self.app.core.identity().recheck(&self.scope).await {
                Ok(scope) => {
                    self.scope = scope;
                    self.checked = Instant::now();
                }
                Err(_) => {
                    self.done = true;
                    return Err(closed(ClosedReason::AccessRevoked));
                }
            }
        }
        match self
            .app
            .core
            .events()
            .page(&self.scope, self.meeting, self.after)
            .await
        {
            Ok(page) => {
                self.after = page.next_after;
                self.more = page.more;
                self.pending
                    .extend(page.events.into_iter().map(|(seq, e)| sse(Some(seq), e)));
                Ok(())
            }
            Err(e) => {
                use meetvault_core::CoreError as E;
                let reason = match e {
                    E::NotFound(_) => ClosedReason::MeetingGone,
                    E::Forbidden(_)
                    | E::NotAllowed(_)
                    | E::Unauthenticated
                    | E::ZeroAccessOwnerOnly
                    | E::Locked => ClosedReason::AccessRevoked,
                    other => {
                        tracing::warn!(error = %other, "reading a meeting's events; trying again");
                        self.more = false;
                        return Ok(());
                    }
                };
                self.done = true;
                Err(closed(reason))
            }
        }
    }
}

/// Why a stream ended early, sent as its last event (`closed`).
fn closed(reason: ClosedReason) -> Event {
    let event = StreamEvent::Closed { reason };
    Event::default()
        .event(event.name())
        .json_data(&event)
        .unwrap_or_else(|_| Event::default().comment("closed"))
}

/// Where a stream resumes: the `Last-Event-ID` a reconnecting client sends (the `id` of the
/// last event it received).
fn last_event_id(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    headers
        .get("last-event-id")
        .map(|v| {
            v.to_str()
                .ok()
                .and_then(|v| v.trim().parse::<i64>().ok())
                .filter(|n| *n >= 0)
                .ok_or(ApiError::Invalid {
                    field: "last-event-id",
                    message: "must be the id of an event this stream sent (a whole number)".into(),
                })
        })
        .transpose()
}

/// The meeting's events as Server-Sent Events, read from the event outbox, so a listener on
/// any instance sees everything: `job` (state and progress), `segment` (each transcript
/// segment as the engine produces it), `transcript_updated`, `meeting_updated`,
/// `recording_stored`, `bot_state` and `live_segment` (what a bot heard during the meeting,
/// provisional until the final transcript). Each event's `id` is its place in the org's event sequence: a client
/// that reconnects with `Last-Event-ID` gets every event after it, none twice (within the
/// outbox's retention). A new stream (no `Last-Event-ID`) starts with the meeting's jobs as
/// they are. The caller's credential and right to read the meeting are checked again every
/// second: after a logout, a revoked or expired key, a demotion or the meeting's deletion the
/// stream sends a last `closed` event (`reason`: `access_revoked` or `meeting_gone`) and ends.
#[utoipa::path(get, path = "/api/v1/meetings/{id}/events", tag = "meetings",
    params(("id" = crate::wire::ids::MeetingId, Path, description = "The meeting"),
        ("Last-Event-ID" = Option<String>, Header, description = "Resume after this event id (the `id` of the last event received)")),
    security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "Server-Sent Events: `job`, `segment`, `transcript_updated`, `meeting_updated`, `recording_stored`, `bot_state`, `live_segment` and a last `closed`; each `id` is the event's place in the org's sequence, each `data` a JSON object with its `type`",
        content_type = "text/event-stream", body = String), (status = 404, description = "No such meeting", body = crate::error::ErrorBody),
        (status = 422, description = "Invalid Last-Event-ID", body = crate::error::ErrorBody)))]
pub async fn meeting_events(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::MeetingsRead>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let id = parse_id::<MeetingId>(&id)?;
    let resume = last_event_id(&headers)?;
    // A resumed stream starts with what it missed. A new one — or one whose place is gone
    // (pruned, or a number never handed out) — starts with the jobs as they are, and the
    // sequence number it starts after as a bare `id` (so a reconnect resumes from there).
    let resume = match resume {
        Some(after) if app.core.events().can_resume(&scope, after).await? => Some(after),
        _ => None,
    };
    let (after, more, pending) = match resume {
        Some(after) => {
            let page = app.core.events().page(&scope, id, after).await?;
            let missed = page.events.into_iter().map(|(seq, e)| sse(Some(seq), e));
            (page.next_after, page.more, missed.collect())
        }
        None => {
            let head = app.core.events().head(&scope).await?;
            let jobs = app.core.transcription().watch_meeting(&scope, id).await?;
            let mut pending: std::collections::VecDeque<Event> =
                jobs.iter().map(|j| sse(None, job_event(j))).collect();
            pending.push_front(Event::default().id(head.to_string()));
            (head, false, pending)
        }
    };
    // Wakes come after the first read: one that falls between is the next poll's.
    let wake = app.core.events().subscribe(id);
    let mut poll = tokio::time::interval(Duration::from_secs(1));
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let watch = Watch {
        app,
        scope,
        meeting: id,
        checked: Instant::now(),
        after,
        wake,
        pending,
        poll,
        more,
        done: false,
    };
    let stream = futures::stream::unfold(watch, |mut w| async move {
        loop {
            if let Some(event) = w.pending.pop_front() {
                return Some((Ok(event), w));
            }
            if w.done {
                return None;
            }
            if w.more {
                if let Err(closed) = w.read(false).await {
                    return Some((Ok(closed), w));
                }
                continue;
            }
            tokio::select! {
                woken = w.wake.recv() => {
                    if matches!(woken, Err(broadcast::error::RecvError::Closed)) {
                        return None;
                    }
                    if let Err(closed) = w.read(false).await {
                        return Some((Ok(closed), w));
                    }
                }
                _ = w.poll.tick() => {
                    if let Err(closed) = w.read(true).await {
                        return Some((Ok(closed), w));
                    }
                }
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// The largest file the OpenAI-compatible endpoint takes (streamed to an encrypted temporary
/// blob, never held in memory).
const MAX_ENDPOINT_FILE: u64 = 512 * 1024 * 1024;
/// Room for the form's other fields beside the file.
const FORM_FIELDS: u64 = 64 * 1024;

/// OpenAI-compatible transcription with the local engine: multipart `file` (any supported
/// format, up to 512 MiB), `model` (any value; the local model answers), optional `language`
/// (a Whisper language code; absent: detected by a multilingual model), `prompt` (names and
/// jargon to spell that way, Whisper's initial prompt: at most 223 tokens), `response_format`
/// (`json` default, `text`, `srt`, `vtt`, `verbose_json`), `timestamp_granularities[]`
/// (`segment`, `word`; repeatable; only with `verbose_json`, whose `words` then lists every
/// word with its start and end, as OpenAI's); `temperature` is accepted and ignored.
/// Authenticate with an API key holding `meetings:write` (`Authorization: Bearer mvk_…`). A full
/// waiting line is refused (429) before the body is read; the file streams to an encrypted
/// temporary blob deleted once decoded; a body that pauses for
/// `server.body_idle_timeout_secs` is stopped (408). Nothing is stored.
#[utoipa::path(post, path = "/v1/audio/transcriptions", tag = "transcription", security(("api_key" = []), ("session" = [])),
    request_body(content = TranscriptionForm, content_type = "multipart/form-data"),
    responses(AuthErrors, (status = 200, description = "The transcript in the asked `response_format`",
            content((TranscriptionJson = "application/json"), (String = "text/plain"), (String = "application/x-subrip"), (String = "text/vtt"))),
        (status = 400, description = "A malformed multipart body", body = crate::error::ErrorBody),
        (status = 404, description = "The endpoint is turned off (`transcription.openai_endpoint`)", body = crate::error::ErrorBody), (status = 408, description = "The body stopped arriving", body = crate::error::ErrorBody),
        (status = 413, description = "The file is over 512 MiB", body = crate::error::ErrorBody), (status = 415, description = "Not a supported audio format", body = crate::error::ErrorBody),
        (status = 422, description = "Missing file, corrupt audio, unknown language, a prompt over 223 tokens, timestamp granularities other than word and segment or without verbose_json", body = crate::error::ErrorBody), (status = 429, description = "The engine's waiting line is full", body = crate::error::ErrorBody),
        (status = 503, description = "No local model installed", body = crate::error::ErrorBody)))]
pub async fn openai_transcriptions(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::MeetingsWrite>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    openai_audio(app, scope, headers, body, Task::Transcribe).await
}

/// OpenAI-compatible translation into English with the local engine, as
/// `/v1/audio/transcriptions` (the same form, limits and answers; `language`, the spoken one,
/// is optional and detected when absent). Needs a multilingual model (`transcription.model =
/// "base"`): with the English-only one the answer is 422.
#[utoipa::path(post, path = "/v1/audio/translations", tag = "transcription", security(("api_key" = []), ("session" = [])),
    request_body(content = TranscriptionForm, content_type = "multipart/form-data"),
    responses(AuthErrors, (status = 200, description = "The English translation in the asked `response_format`",
            content((TranscriptionJson = "application/json"), (String = "text/plain"), (String = "application/x-subrip"), (String = "text/vtt"))),
        (status = 400, description = "A malformed multipart body", body = crate::error::ErrorBody),
        (status = 404, description = "The endpoint is turned off (`transcription.openai_endpoint`)", body = crate::error::ErrorBody), (status = 408, description = "The body stopped arriving", body = crate::error::ErrorBody),
        (status = 413, description = "The file is over 512 MiB", body = crate::error::ErrorBody), (status = 415, description = "Not a supported audio format", body = crate::error::ErrorBody),
        (status = 422, description = "Missing file, corrupt audio, unknown language, a prompt over 223 tokens, an English-only model", body = crate::error::ErrorBody), (status = 429, description = "The engine's waiting line is full", body = crate::error::ErrorBody),
        (status = 503, description = "No local model installed", body = crate::error::ErrorBody)))]
pub async fn openai_translations(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::MeetingsWrite>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    openai_audio(app, scope, headers, body, Task::Translate).await
}

/// Both OpenAI-compatible audio routes: the form streamed and checked field by field, then the
/// local engine.
async fn openai_audio(
    app: AppState,
    scope: meetvault_core::access::Scope<perm::MeetingsWrite>,
    headers: HeaderMap,
    body: Body,
    task: Task,
) -> Result<Response, ApiError> {
    if !app.core.config().transcription.openai_endpoint {
        return Err(ApiError::NotFound(
            "the OpenAI-compatible endpoint is turned off (transcription.openai_endpoint)".into(),
        ));
    }
    // Parsed here rather than by axum's extractor: the file may be far larger than
    // `server.body_limit_bytes` (which is for JSON), up to its own limit.
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let boundary =
        multer::parse_boundary(content_type).map_err(|_| ApiError::UnsupportedMediaType {
            expected: "multipart/form-data",
        })?;
    // A place in the line before a byte of the body is read: a busy server answers at once.
    let place = app.core.endpoint().place().await?;
    app.core.endpoint().task(task).await?;
    let (intake, raw) = app.core.endpoint().watch_body(
        body.into_data_stream().map_err(std::io::Error::other),
        MAX_ENDPOINT_FILE + FORM_FIELDS,
    );
    // The body's own fault (too large, stalled, broken off) explains any failure after it.
    let blame = |e: ApiError| match intake.fault() {
        Some(meetvault_core::CoreError::TooLarge { .. }) => ApiError::PayloadTooLarge {
            limit: MAX_ENDPOINT_FILE as usize,
        },
        Some(fault) => fault.into(),
        None => e,
    };
    let mut form = multer::Multipart::with_constraints(
        raw,
        boundary,
        multer::Constraints::new().size_limit(
            multer::SizeLimit::new()
                .for_field("file", u64::MAX)
                .per_field(FORM_FIELDS),
        ),
    );
    let bad = |e: multer::Error| ApiError::BadRequest(format!("malformed multipart body: {e}"));
    let (mut file, mut filename, mut format) = (None, None, ResponseFormat::Json);
    let mut request = EndpointRequest {
        task,
        ..EndpointRequest::default()
    };
    let mut granularities: Option<Granularities> = None;
    while let Some(field) = form.next_field().await.map_err(|e| blame(bad(e)))? {
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "file" => {
                filename = field.file_name().map(str::to_owned);
                let bytes = field.map_err(|e| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("malformed multipart body: {e}"),
                    )
                });
                let staged = app
                    .core
                    .endpoint()
                    .stage_audio(&scope, &place, bytes, MAX_ENDPOINT_FILE)
                    .await
                    .map_err(|e| blame(e.into()))?;
                file = Some(staged);
            }
            "language" => {
                let text = field.text().await.map_err(|e| blame(bad(e)))?;
                // Checked as soon as it arrives, so a bad one is refused before the file.
                request.language = app.core.endpoint().language(Some(text)).await?;
            }
            "response_format" => {
                format = field.text().await.map_err(|e| blame(bad(e)))?.parse()?;
            }
            "prompt" => {
                let text = field.text().await.map_err(|e| blame(bad(e)))?;
                request.prompt = app.core.endpoint().prompt(text).await?;
            }
            "timestamp_granularities[]" | "timestamp_granularities" => {
                let text = field.text().await.map_err(|e| blame(bad(e)))?;
                granularities.get_or_insert_default().add(&text)?;
            }
            "model" | "temperature" | "stream" => {
                let _ = field.text().await.map_err(|e| blame(bad(e)))?;
            }
            other => {
                return Err(ApiError::Invalid {
                    field: "multipart",
                    message: format!(
                        "unknown field `{}`",
                        other.chars().take(40).collect::<String>()
                    ),
                });
            }
        }
    }
    let file = file.ok_or(ApiError::Invalid {
        field: "file",
        message: "the audio file is required".into(),
    })?;
    if granularities.is_some() && format != ResponseFormat::VerboseJson {
        return Err(ApiError::Invalid {
            field: "timestamp_granularities[]",
            message: "timestamp granularities need response_format verbose_json".into(),
        });
    }
    let granularities = granularities.unwrap_or(Granularities {
        segment: true,
        word: false,
    });
    request.word_timestamps = granularities.word;
    let out = app
        .core
        .endpoint()
        .transcribe_now(&scope, place, file, filename.as_deref(), request)
        .await?;
    format.render(&out, task, granularities)
}

/// `timestamp_granularities[]`: which timings a `verbose_json` answer carries (OpenAI's
/// default, when none is named, is segments only).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Granularities {
    segment: bool,
    word: bool,
}

impl Granularities {
    /// One form value: `word` or `segment` (a comma-separated list is taken too).
    fn add(&mut self, value: &str) -> Result<(), ApiError> {
        for g in value.split(',').map(str::trim) {
            match g {
                "word" => self.word = true,
                "segment" => self.segment = true,
                _ => {
                    return Err(ApiError::Invalid {
                        field: "timestamp_granularities[]",
                        message: "each must be word or segment".into(),
                    });
                }
            }
        }
        Ok(())
    }
}

/// The answers the OpenAI-compatible endpoint gives (`response_format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResponseFormat {
    Json,
    Text,
    Srt,
    Vtt,
    VerboseJson,
}

impl std::str::FromStr for ResponseFormat {
    type Err = ApiError;

    fn from_str(s: &str) -> Result<Self, ApiError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "json" => Ok(Self::Json),
            "text" => Ok(Self::Text),
            "srt" => Ok(Self::Srt),
            "vtt" => Ok(Self::Vtt),
            "verbose_json" => Ok(Self::VerboseJson),
            _ => Err(ApiError::Invalid {
                field: "response_format",
                message: "must be json, text, srt, vtt or verbose_json".into(),
            }),
        }
    }
}

impl ResponseFormat {
    /// The transcript in this format. Text made from the caller's audio is a sandboxed
    /// download, like every user-supplied text; JSON is JSON.
    fn render(
        self,
        out: &meetvault_core::endpoint::AdHocTranscript,
        task: Task,
        granularities: Granularities,
    ) -> Result<Response, ApiError> {
        let raw = meetvault_core::transcription::raw_segments(&out.transcript);
        let language = Some(out.transcript.language.as_str());
        let text = || {
            raw.iter()
                .map(|s| s.text.as_str())
                .filter(|t| !t.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        };
        let download = |content_type: &'static str, extension: &str, body: String| {
            user_content(
                Response::builder(),
                content_type,
                &format!("transcript.{extension}"),
            )
            .body(Body::from(body))
            .map_err(ApiError::internal)
        };
        let subtitles = |export: ExportFormat| {
            let segments = meetvault_stt::merge_tracks(vec![meetvault_stt::TrackTranscript {
                speaker: String::new(),
                language: None,
                segments: raw.clone(),
            }]);
            let meta = ExportMeta {
                title: "",
                started_at: None,
                language,
            };
            download(
                export.content_type(),
                export.extension(),
                meetvault_stt::export(export, &meta, &segments),
            )
        };
        match self {
            Self::Json => Ok(ApiJson(TranscriptionText { text: text() }).into_response()),
            Self::Text => download("text/plain; charset=utf-8", "txt", text()),
            Self::Srt => subtitles(ExportFormat::Srt),
            Self::Vtt => subtitles(ExportFormat::Vtt),
            Self::VerboseJson => {
                let mut answer = VerboseJson::from_segments(language, out.duration_secs, &raw);
                if task == Task::Translate {
                    answer.task = Some("translate".into());
                }
                if granularities.word {
                    answer.words = Some(VerboseJson::words_of(&raw));
                }
                if !granularities.segment {
                    answer.segments = None;
                }
                Ok(ApiJson(answer).into_response())
            }
        }
    }
}
