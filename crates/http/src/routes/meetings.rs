//! Meetings and their encrypted content: title and participants, transcript segments, and
//! recordings (streamed in and out through the blob encryption layer, with byte ranges).

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::{StreamExt, TryStreamExt};
use meetvault_core::ids::{MeetingId, RecordingId, SegmentId, WorkspaceId};
use meetvault_core::meetings::{ListMeetings, UploadOptions};
use meetvault_stt::ExportFormat;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::{Auth, perm};
use crate::middleware::security_headers::user_content;
use crate::state::AppState;
use crate::wire::errors::{AuthErrors, JsonBodyErrors};
use crate::wire::meetings::{Meeting, MeetingPage, MeetingPatch, NewMeeting};
use crate::wire::recordings::{Recording, RecordingList};
use crate::wire::transcripts::{
    Segment, SegmentPatch, SegmentsBody, SegmentsStored, SpeakerRename, SpeakerRenamed, Transcript,
    TranscriptFormat,
};
use crate::{ApiError, ApiJson};

use super::parse_id;

/// Creates a meeting; its title and participants are encrypted under a new meeting key.
#[utoipa::path(post, path = "/api/v1/meetings", tag = "meetings", request_body = NewMeeting, security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, JsonBodyErrors, (status = 201, description = "Created", body = Meeting), (status = 422, description = "Invalid", body = crate::error::ErrorBody)))]
pub async fn create_meeting(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::MeetingsWrite>,
    ApiJson(body): ApiJson<NewMeeting>,
) -> Result<impl IntoResponse, ApiError> {
    let view = app.core.meetings().create(&scope, &body.into()).await?;
    Ok((StatusCode::CREATED, ApiJson(Meeting::from(view))))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// `wsp_…`: only this workspace's meetings.
    pub workspace_id: Option<String>,
    /// Created at or after (RFC 3339).
    pub from: Option<String>,
    /// Created before (RFC 3339).
    pub to: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1–200, default 50.
    pub limit: Option<u32>,
}

fn parse_time(
    field: &'static str,
    value: Option<&str>,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, ApiError> {
    value
        .map(|v| {
            chrono::DateTime::parse_from_rfc3339(v)
                .map(|t| t.with_timezone(&chrono::Utc))
                .map_err(|_| ApiError::Invalid {
                    field,
                    message: "must be an RFC 3339 time such as 2026-11-24T09:00:00Z".into(),
                })
        })
        .transpose()
}

/// The org's meetings, newest first, a page at a time (filter by workspace and creation date).
#[utoipa::path(get, path = "/api/v1/meetings", tag = "meetings", params(ListQuery), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "A page of meetings", body = MeetingPage), (status = 400, description = "A malformed `workspace_id`", body = crate::error::ErrorBody), (status = 422, description = "Invalid filter", body = crate::error::ErrorBody)))]
pub async fn list_meetings(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::MeetingsRead>,
    Query(q): Query<ListQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let filter = ListMeetings {
        workspace_id: q
            .workspace_id
            .as_deref()
            .map(parse_id::<WorkspaceId>)
            .transpose()?,
        from: parse_time("from", q.from.as_deref())?,
        to: parse_time("to", q.to.as_deref())?,
        cursor: q.cursor,
        limit: q.limit,
    };
    Ok(ApiJson(MeetingPage::from(
        app.core.meetings().list(&scope, &filter).await?,
    )))
}

/// Changes a meeting (title, workspace, start time, participants, language, transcription).
#[utoipa::path(patch, path = "/api/v1/meetings/{id}", tag = "meetings", params(("id" = crate::wire::ids::MeetingId, Path, description = "The meeting")), request_body = MeetingPatch, security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, JsonBodyErrors, (status = 200, description = "The meeting", body = Meeting), (status = 404, description = "No such meeting", body = crate::error::ErrorBody), (status = 422, description = "Invalid", body = crate::error::ErrorBody)))]
pub async fn patch_meeting(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::MeetingsWrite>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<MeetingPatch>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id::<MeetingId>(&id)?;
    Ok(ApiJson(Meeting::from(
        app.core.meetings().update(&scope, id, &body.into()).await?,
    )))
}

/// A meeting, decrypted (`423` while its zero-access owner's key is locked).
#[utoipa::path(get, path = "/api/v1/meetings/{id}", tag = "meetings", params(("id" = crate::wire::ids::MeetingId, Path, description = "The meeting")), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "The meeting", body = Meeting), (status = 404, description = "No such meeting", body = crate::error::ErrorBody), (status = 423, description = "Locked by zero-access encryption", body = crate::error::ErrorBody)))]
pub async fn get_meeting(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::MeetingsRead>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id::<MeetingId>(&id)?;
    Ok(ApiJson(Meeting::from(
        app.core.meetings().get(&scope, id).await?,
    )))
}

/// Deletes a meeting by destroying its keys (crypto-shredding), then its rows and blobs, and
/// returns the signed deletion certificate. Deleting it again returns the same certificate.
#[utoipa::path(delete, path = "/api/v1/meetings/{id}", tag = "meetings", params(("id" = crate::wire::ids::MeetingId, Path, description = "The meeting")), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "Deleted: the deletion certificate", body = crate::wire::certificates::CertificateEnvelope), (status = 404, description = "No such meeting", body = crate::error::ErrorBody)))]
pub async fn delete_meeting(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::MeetingsDelete>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id::<MeetingId>(&id)?;
    let view = app.core.meetings().delete(&scope, id).await?;
    Ok(ApiJson(
        crate::wire::certificates::CertificateEnvelope::from(view),
    ))
}

/// Appends transcript segments (imported, or from an engine); each field is encrypted.
#[utoipa::path(post, path = "/api/v1/meetings/{id}/transcript", tag = "meetings", params(("id" = crate::wire::ids::MeetingId, Path, description = "The meeting")), request_body = SegmentsBody, security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, JsonBodyErrors, (status = 201, description = "Stored", body = SegmentsStored), (status = 404, description = "No such meeting", body = crate::error::ErrorBody), (status = 422, description = "Invalid", body = crate::error::ErrorBody)))]
pub async fn add_segments(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::MeetingsWrite>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SegmentsBody>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id::<MeetingId>(&id)?;
    let segments: Vec<_> = body.segments.into_iter().map(Into::into).collect();
    let stored = app
        .core
        .transcripts()
        .add_segments(&scope, id, &segments)
        .await?;
    Ok((StatusCode::CREATED, ApiJson(SegmentsStored { stored })))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TranscriptQuery {
    /// Absent: the segments as JSON; or an export: `json` (a document), `srt`, `vtt`, `md`,
    /// `txt`, or `pdf` (with the summary and action items).
    #[param(value_type = Option<TranscriptFormat>, inline)]
    pub format: Option<String>,
    /// With `format=srt` or `vtt`: karaoke cues from the segments' timed words (WebVTT: a
    /// timestamp before each word; SRT: one cue per word, underlined). Segments without words
    /// are written as usual.
    pub karaoke: Option<bool>,
}

/// The transcript, decrypted and merged by time across tracks; or an export (SRT, WebVTT,
/// Markdown, text, JSON document, PDF) with `?format=`, each export audited and sent as a sandboxed
/// attachment.
#[utoipa::path(get, path = "/api/v1/meetings/{id}/transcript", tag = "meetings", params(("id" = crate::wire::ids::MeetingId, Path, description = "The meeting"), TranscriptQuery), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "The segments; with `?format=`, the export as an attachment",
            content((Transcript = "application/json"), (String = "application/x-subrip"), (String = "text/vtt"), (String = "text/markdown"), (String = "text/plain"), (crate::wire::Binary = "application/pdf"))),
        (status = 404, description = "No such meeting", body = crate::error::ErrorBody), (status = 422, description = "Unknown format", body = crate::error::ErrorBody), (status = 423, description = "Locked by zero-access encryption", body = crate::error::ErrorBody)))]
pub async fn transcript(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::MeetingsRead>,
    Path(id): Path<String>,
    Query(q): Query<TranscriptQuery>,
) -> Result<Response, ApiError> {
    let id = parse_id::<MeetingId>(&id)?;
    if q.format.as_deref() == Some("pdf") {
        if q.karaoke.is_some() {
            return Err(ApiError::Invalid {
                field: "karaoke",
                message: "karaoke cues are made only for format srt or vtt".into(),
            });
        }
        let pdf = app.core.intelligence().pdf(&scope, id).await?;
        return user_content(
            Response::builder(),
            "application/pdf",
            &format!("meeting-{id}.pdf"),
        )
        .body(Body::from(pdf))
        .map_err(ApiError::internal);
    }
    let Some(format) = q.format else {
        if q.karaoke.is_some() {
            return Err(ApiError::Invalid {
                field: "karaoke",
                message: "karaoke applies to an export: add format=srt or format=vtt".into(),
            });
        }
        let segments = app.core.transcripts().get(&scope, id).await?;
        return Ok(ApiJson(Transcript::from(segments)).into_response());
    };
    let format: ExportFormat =
        format
            .parse()
            .map_err(|e: meetvault_stt::UnknownExportFormat| ApiError::Invalid {
                field: "format",
                message: e.to_string(),
            })?;
    let karaoke = q.karaoke.unwrap_or(false);
    if karaoke && !matches!(format, ExportFormat::Srt | ExportFormat::Vtt) {
        return Err(ApiError::Invalid {
            field: "karaoke",
            message: "karaoke cues are made only for format srt or vtt".into(),
        });
    }
    let options = meetvault_stt::ExportOptions { karaoke };
    let text = app
        .core
        .transcripts()
        .export(&scope, id, format, options)
        .await?;
    user_content(
        Response::builder(),
        format.content_type(),
        &format!("transcript-{id}.{}", format.extension()),
    )
    .body(Body::from(text))
    .map_err(ApiError::internal)
}

/// Corrects one segment's speaker or text (sealed again under the meeting's key; an edited text
/// drops its timed words); audited as `transcript.edit`. Re-transcribing its track replaces it.
#[utoipa::path(patch, path = "/api/v1/meetings/{id}/transcript/{segment_id}", tag = "meetings", params(("id" = crate::wire::ids::MeetingId, Path, description = "The meeting"), ("segment_id" = crate::wire::ids::SegmentId, Path, description = "The segment")), request_body = SegmentPatch, security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, JsonBodyErrors, (status = 200, description = "The segment as now stored", body = Segment), (status = 404, description = "No such meeting or segment", body = crate::error::ErrorBody), (status = 422, description = "Invalid (the field is named)", body = crate::error::ErrorBody), (status = 423, description = "Locked by zero-access encryption", body = crate::error::ErrorBody)))]
pub async fn edit_segment(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::MeetingsWrite>,
    Path((id, segment)): Path<(String, String)>,
    ApiJson(body): ApiJson<SegmentPatch>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id::<MeetingId>(&id)?;
    let segment = parse_id::<SegmentId>(&segment)?;
    let view = app
        .core
        .transcripts()
        .edit_segment(&scope, id, segment, &body.into())
        .await?;
    Ok(ApiJson(Segment::from(view)))
}

/// Renames a speaker in every segment of the meeting (an exact match of `from`); audited as
/// `transcript.speaker_rename`.
#[utoipa::path(post, path = "/api/v1/meetings/{id}/speakers/rename", tag = "meetings", params(("id" = crate::wire::ids::MeetingId, Path, description = "The meeting")), request_body = SpeakerRename, security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, JsonBodyErrors, (status = 200, description = "How many segments changed", body = SpeakerRenamed), (status = 404, description = "No such meeting", body = crate::error::ErrorBody), (status = 422, description = "Invalid (the field is named)", body = crate::error::ErrorBody), (status = 423, description = "Locked by zero-access encryption", body = crate::error::ErrorBody)))]
pub async fn rename_speaker(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::MeetingsWrite>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SpeakerRename>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id::<MeetingId>(&id)?;
    let renamed = app
        .core
        .transcripts()
        .rename_speaker(&scope, id, &body.from, &body.to)
        .await?;
    Ok(ApiJson(SpeakerRenamed { renamed }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// The speaker of this track (one file per speaker); absent for a mixed recording.
    pub speaker: Option<String>,
    /// The file's name; its extension hints at the format (the content decides).
    pub filename: Option<String>,
    /// Queue transcription (default: `transcription.auto`).
    pub transcribe: Option<bool>,
}

/// Uploads a recording as the raw request body: streamed and encrypted in 64 KiB segments
/// (never held whole in memory), then decoded once to check it. WAV, FLAC, MP3, AAC/M4A, Ogg
/// Vorbis, Ogg and WebM Opus. A corrupt, truncated, empty, unsupported or over-long file is
/// refused (`415`/`422` naming the problem; `413` over `recordings.max_bytes`) and leaves
/// nothing behind. Queues the track's transcription (`job_id`).
#[utoipa::path(post, path = "/api/v1/meetings/{id}/recordings", tag = "meetings", params(("id" = crate::wire::ids::MeetingId, Path, description = "The meeting"), UploadQuery), security(("session" = []), ("api_key" = [])),
    request_body(description = "The audio file's bytes (the content decides the format; `Content-Type` is a hint)",
        content((crate::wire::Binary = "application/octet-stream"))),
    responses(AuthErrors, (status = 201, description = "Stored; `job_id` is its transcription", body = Recording), (status = 400, description = "The body broke off", body = crate::error::ErrorBody),
        (status = 408, description = "The body stopped arriving", body = crate::error::ErrorBody), (status = 404, description = "No such meeting", body = crate::error::ErrorBody),
        (status = 413, description = "Too large", body = crate::error::ErrorBody), (status = 415, description = "Not a supported audio format", body = crate::error::ErrorBody),
        (status = 422, description = "Corrupt, truncated, empty or too long", body = crate::error::ErrorBody)))]
pub async fn upload_recording(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::MeetingsWrite>,
    Path(id): Path<String>,
    Query(q): Query<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id::<MeetingId>(&id)?;
    let content_type = super::content_type(&headers);
    super::refuse_declared_length(&headers, app.core.config().recordings.max_bytes)?;
    let opts = UploadOptions {
        content_type,
        speaker: q.speaker,
        filename: q.filename,
        transcribe: q.transcribe,
    };
    let stream = body.into_data_stream().map_err(std::io::Error::other);
    let view = app.core.recordings().put(&scope, id, &opts, stream).await?;
    Ok((StatusCode::CREATED, ApiJson(Recording::from(view))))
}

/// The meeting's recordings.
#[utoipa::path(get, path = "/api/v1/meetings/{id}/recordings", tag = "meetings", params(("id" = crate::wire::ids::MeetingId, Path, description = "The meeting")), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "Recordings", body = RecordingList), (status = 404, description = "No such meeting", body = crate::error::ErrorBody)))]
pub async fn list_recordings(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::MeetingsRead>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id::<MeetingId>(&id)?;
    Ok(ApiJson(RecordingList::from(
        app.core.recordings().list(&scope, id).await?,
    )))
}

/// Parses `Range: bytes=a-b`, `bytes=a-` or `bytes=-n` (one range) against `size`.
fn parse_range(value: &str, size: u64) -> Result<std::ops::Range<u64>, ApiError> {
    let bad = || {
        ApiError::BadRequest(format!(
            "unsupported Range header `{}`: use one `bytes=START-END` range",
            value.chars().take(60).collect::<String>()
        ))
    };
    let spec = value.strip_prefix("bytes=").ok_or_else(bad)?;
    let (a, b) = spec.split_once('-').ok_or_else(bad)?;
    let range = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().map_err(|_| bad())?;
            size.saturating_sub(n)..size
        }
        (a, "") => a.parse().map_err(|_| bad())?..size,
        (a, b) => {
            let (a, b): (u64, u64) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
            if b < a {
                return Err(bad());
            }
            a..b.saturating_add(1).min(size)
        }
    };
    if range.start >= size && size > 0 {
        return Err(ApiError::BadRequest(format!(
            "Range starts beyond the recording's {size} bytes"
        )));
    }
    Ok(range)
}

/// Downloads a recording, decrypting only the segments the `Range` covers. Always an attachment
/// of the detected audio type (`audio/…`, else `application/octet-stream`), sandboxed.
#[utoipa::path(get, path = "/api/v1/meetings/{id}/recordings/{recording}", tag = "meetings",
    params(("id" = crate::wire::ids::MeetingId, Path, description = "The meeting"), ("recording" = crate::wire::ids::RecordingId, Path, description = "The recording"),
        ("Range" = Option<String>, Header, description = "One `bytes=START-END` range")), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "The recording, an attachment of its detected type",
            content((crate::wire::Binary = "audio/*"), (crate::wire::Binary = "application/octet-stream"))),
        (status = 206, description = "The requested range", content((crate::wire::Binary = "audio/*"), (crate::wire::Binary = "application/octet-stream"))),
        (status = 400, description = "An unsupported `Range`", body = crate::error::ErrorBody),
        (status = 404, description = "No such meeting or recording", body = crate::error::ErrorBody),
        (status = 410, description = "Delivered to the customer's bucket and deleted here (the message names its key)", body = crate::error::ErrorBody),
        (status = 423, description = "Locked by zero-access encryption", body = crate::error::ErrorBody)))]
pub async fn download_recording(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::MeetingsRead>,
    Path((id, recording)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = parse_id::<MeetingId>(&id)?;
    let recording = parse_id::<RecordingId>(&recording)?;
    let size = app.core.recordings().get(&scope, id, recording).await?.size;
    let size = u64::try_from(size).unwrap_or(0);
    let range = headers
        .get(header::RANGE)
        .map(|v| parse_range(v.to_str().unwrap_or(""), size))
        .transpose()?;
    let partial = range.is_some();
    let (view, served, mut stream) = app
        .core
        .recordings()
        .read(&scope, id, recording, range)
        .await?;
    // The first segment is checked before the status goes out, so a tampered or shredded blob
    // is a clear error rather than a truncated download.
    let first = match stream.next().await {
        Some(Ok(bytes)) => Some(bytes),
        Some(Err(e)) => return Err(ApiError::Integrity(e.to_string())),
        None => None,
    };
    let body = futures::stream::iter(first.map(Ok)).chain(stream);
    let mut response = user_content(Response::builder(), view.content_type, &view.file_name())
        .status(if partial {
            StatusCode::PARTIAL_CONTENT
        } else {
            StatusCode::OK
        })
        .header(header::CONTENT_LENGTH, served.end - served.start)
        .header(header::ACCEPT_RANGES, "bytes");
    if partial {
        let last = served.end.saturating_sub(1).max(served.start);
        response = response.header(
            header::CONTENT_RANGE,
            format!("bytes {}-{last}/{size}", served.start),
        );
    }
    response
        .body(Body::from_stream(body))
        .map_err(ApiError::internal)
}
