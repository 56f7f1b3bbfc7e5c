//! Transcription: job status, a meeting's live events (Server-Sent Events), re-running a
//! meeting's transcription, and the OpenAI-compatible `POST /v1/audio/transcriptions` backed by
//! the local engine (so existing OpenAI SDKs can use meetvault with an API key).

use std::convert::Infallible;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::{Stream, TryStreamExt};
use meetvault_core::events::MeetingEvent;
use meetvault_core::ids::{JobId, MeetingId};
use meetvault_core::transcription::JobView;
use meetvault_stt::openai::VerboseJson;
use meetvault_stt::{ExportFormat, ExportMeta};
use tokio::sync::broadcast;

use crate::auth::{Auth, perm};
use crate::middleware::security_headers::user_content;
use crate::state::AppState;
use crate::{ApiError, ApiJson};

use super::parse_id;

/// A job's state and progress (transcription and later background work).
#[utoipa::path(get, path = "/api/v1/jobs/{id}", tag = "jobs", params(("id" = String, Path, description = "job_…")),
    responses((status = 200, description = "The job: state, progress, attempts, error", body = Object), (status = 404, description = "No such job", body = crate::error::ErrorBody)))]
pub async fn get_job(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::MeetingsRead>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id::<JobId>(&id)?;
    Ok(ApiJson(app.core.job(&scope, id).await?))
}

/// Queues transcription of every recording of the meeting again (after changing its settings).
#[utoipa::path(post, path = "/api/v1/meetings/{id}/transcribe", tag = "meetings", params(("id" = String, Path, description = "mtg_…")),
    responses((status = 202, description = "`{jobs: [job_…]}`", body = Object), (status = 404, description = "No such meeting", body = crate::error::ErrorBody), (status = 422, description = "No recording", body = crate::error::ErrorBody)))]
pub async fn transcribe_meeting(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::MeetingsWrite>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id::<MeetingId>(&id)?;
    let jobs = app.core.transcribe_meeting(&scope, id).await?;
    Ok((
        StatusCode::ACCEPTED,
        ApiJson(serde_json::json!({ "jobs": jobs })),
    ))
}

fn job_event(j: &JobView) -> MeetingEvent {
    MeetingEvent::Job {
        job_id: j.id,
        state: j.state.clone(),
        progress: j.progress,
        error: j.error.clone(),
    }
}

fn sse(event: &MeetingEvent) -> Event {
    Event::default()
        .event(event.name())
        .json_data(event)
        .unwrap_or_else(|_| Event::default().comment("unserializable event"))
}

struct Watch {
    app: AppState,
    scope: meetvault_core::access::Scope<perm::MeetingsRead>,
    meeting: MeetingId,
    rx: broadcast::Receiver<MeetingEvent>,
    pending: std::collections::VecDeque<MeetingEvent>,
    seen: std::collections::HashMap<JobId, (String, i32)>,
    poll: tokio::time::Interval,
    /// A `closed` event was sent: the stream ends.
    done: bool,
}

impl Watch {
    /// Queues job events whose state or progress changed since last seen.
    fn note_jobs(&mut self, jobs: &[JobView]) {
        for j in jobs {
            let now = (j.state.clone(), j.progress);
            if self.seen.get(&j.id) != Some(&now) {
                self.seen.insert(j.id, now);
                self.pending.push_back(job_event(j));
            }
        }
    }
}

/// Why a stream ended early, sent as its last event (`closed`).
fn closed(reason: &'static str) -> Event {
    Event::default()
        .event("closed")
        .json_data(serde_json::json!({ "type": "closed", "reason": reason }))
        .unwrap_or_else(|_| Event::default().comment(reason))
}

/// The meeting's live events as Server-Sent Events: `job` (state and progress, polled from the
/// database too, so jobs on other instances show), `segment` (each transcript segment as the
/// engine produces it) and `transcript_updated`. The caller's credential and right to read the
/// meeting are checked again every second: after a logout, a revoked or expired key, a
/// demotion or the meeting's deletion the stream sends a last `closed` event (`reason`:
/// `access_revoked` or `meeting_gone`) and ends.
#[utoipa::path(get, path = "/api/v1/meetings/{id}/events", tag = "meetings", params(("id" = String, Path, description = "mtg_…")),
    responses((status = 200, description = "text/event-stream"), (status = 404, description = "No such meeting", body = crate::error::ErrorBody)))]
pub async fn meeting_events(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::MeetingsRead>,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let id = parse_id::<MeetingId>(&id)?;
    // Subscribe before the snapshot, so nothing falls between them.
    let rx = app.core.events().subscribe(id.uuid());
    let jobs = app.core.watch_meeting(&scope, id).await?;
    let mut watch = Watch {
        app,
        scope,
        meeting: id,
        rx,
        pending: Default::default(),
        seen: Default::default(),
        poll: tokio::time::interval(Duration::from_secs(1)),
        done: false,
    };
    watch.note_jobs(&jobs);
    let stream = futures::stream::unfold(watch, |mut w| async move {
        loop {
            if let Some(event) = w.pending.pop_front() {
                return Some((Ok(sse(&event)), w));
            }
            if w.done {
                return None;
            }
            tokio::select! {
                received = w.rx.recv() => match received {
                    Ok(event) => {
                        if let MeetingEvent::Job { job_id, state, progress, .. } = &event {
                            w.seen.insert(*job_id, (state.clone(), *progress));
                        }
                        return Some((Ok(sse(&event)), w));
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        let note = Event::default().comment(format!("{n} events dropped (slow reader)"));
                        return Some((Ok(note), w));
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
                _ = w.poll.tick() => {
                    // The right to read is checked again before anything more is sent.
                    let scope = match w.app.core.recheck(&w.scope).await {
                        Ok(scope) => scope,
                        Err(_) => {
                            w.done = true;
                            return Some((Ok(closed("access_revoked")), w));
                        }
                    };
                    match w.app.core.watch_meeting(&scope, w.meeting).await {
                        Ok(jobs) => w.note_jobs(&jobs),
                        Err(e) => {
                            w.done = true;
                            let reason = match e {
                                meetvault_core::CoreError::NotFound(_) => "meeting_gone",
                                _ => "access_revoked",
                            };
                            return Some((Ok(closed(reason)), w));
                        }
                    }
                    w.scope = scope;
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
/// (a Whisper language code), `response_format` (`json` default, `text`, `srt`, `vtt`,
/// `verbose_json`); `prompt`, `temperature` and `timestamp_granularities[]` are accepted and
/// ignored. Authenticate with an API key holding `meetings:write` (`Authorization: Bearer
/// mvk_…`). A full waiting line is refused (429) before the body is read; the file streams to
/// an encrypted temporary blob deleted once decoded; a body that pauses for
/// `server.body_idle_timeout_secs` is stopped (408). Nothing is stored.
#[utoipa::path(post, path = "/v1/audio/transcriptions", tag = "transcription",
    request_body(content = Object, content_type = "multipart/form-data"),
    responses((status = 200, description = "The transcript in the asked format", body = Object), (status = 408, description = "The body stopped arriving", body = crate::error::ErrorBody),
        (status = 413, description = "The file is over 512 MiB", body = crate::error::ErrorBody), (status = 415, description = "Not a supported audio format", body = crate::error::ErrorBody),
        (status = 422, description = "Missing file, corrupt audio, unknown language", body = crate::error::ErrorBody), (status = 429, description = "The engine's waiting line is full", body = crate::error::ErrorBody),
        (status = 503, description = "No local model installed", body = crate::error::ErrorBody)))]
pub async fn openai_transcriptions(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::MeetingsWrite>,
    headers: HeaderMap,
    body: Body,
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
    let place = app.core.endpoint_place().await?;
    let (intake, raw) = app.core.watch_body(
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
    let (mut file, mut filename, mut language, mut format) =
        (None, None, None, ResponseFormat::Json);
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
                    .stage_audio(&scope, &place, bytes, MAX_ENDPOINT_FILE)
                    .await
                    .map_err(|e| blame(e.into()))?;
                file = Some(staged);
            }
            "language" => {
                let text = field.text().await.map_err(|e| blame(bad(e)))?;
                // Checked as soon as it arrives, so a bad one is refused before the file.
                language = app.core.endpoint_language(Some(text)).await?;
            }
            "response_format" => {
                format = field.text().await.map_err(|e| blame(bad(e)))?.parse()?;
            }
            "model"
            | "prompt"
            | "temperature"
            | "timestamp_granularities[]"
            | "timestamp_granularities"
            | "stream" => {
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
    let out = app
        .core
        .transcribe_now(&scope, place, file, filename.as_deref(), language)
        .await?;
    format.render(&out)
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
    fn render(self, out: &meetvault_core::endpoint::AdHocTranscript) -> Result<Response, ApiError> {
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
            Self::Json => Ok(ApiJson(serde_json::json!({ "text": text() })).into_response()),
            Self::Text => download("text/plain; charset=utf-8", "txt", text()),
            Self::Srt => subtitles(ExportFormat::Srt),
            Self::Vtt => subtitles(ExportFormat::Vtt),
            Self::VerboseJson => Ok(ApiJson(VerboseJson::from_segments(
                language,
                out.duration_secs,
                &raw,
            ))
            .into_response()),
        }
    }
}
