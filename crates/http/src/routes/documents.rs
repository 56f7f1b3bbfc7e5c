//! Documents attached to a meeting (pre-reads): attach one as the raw request body, list them,
//! delete one. Their text answers questions and search results beside the transcript's.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use futures::TryStreamExt;
use meetvault_core::ids::{DocumentId, MeetingId};
use meetvault_core::intel::DocumentUpload;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::{Auth, perm};
use crate::state::AppState;
use crate::wire::errors::AuthErrors;
use crate::wire::intel::{Document, DocumentList};
use crate::{ApiError, ApiJson};

use super::parse_id;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AttachQuery {
    /// The document's name, shown in listings and citations; default `document`.
    pub name: Option<String>,
    /// Keep it with the transcript (retention: transcripts) instead of deleting it when the
    /// meeting ends; default false.
    pub keep: Option<bool>,
}

/// Attaches a document to the meeting: the raw body is a PDF, Markdown, HTML or plain-text
/// file, its `Content-Type` says which. Its text is extracted, cut into chunks and indexed
/// (with the embedding model, embedded), sealed under the meeting's key; the file itself is
/// not kept. Ephemeral unless `keep=true`: deleted when the meeting's bot is done or
/// `intelligence.document_hours` after now, whichever is first. Audited `document.attach`.
#[utoipa::path(post, path = "/api/v1/meetings/{id}/documents", tag = "intelligence", params(("id" = crate::wire::ids::MeetingId, Path, description = "The meeting"), AttachQuery), security(("session" = []), ("api_key" = [])),
    request_body(description = "The document's bytes",
        content((crate::wire::Binary = "application/pdf"), (String = "text/markdown"), (String = "text/html"), (String = "text/plain"))),
    responses(AuthErrors, (status = 201, description = "Attached", body = Document), (status = 400, description = "The body broke off", body = crate::error::ErrorBody),
        (status = 404, description = "No such meeting", body = crate::error::ErrorBody), (status = 408, description = "The body stopped arriving", body = crate::error::ErrorBody),
        (status = 409, description = "The meeting holds `intelligence.documents_per_meeting` documents, or intelligence is off", body = crate::error::ErrorBody),
        (status = 413, description = "Over `intelligence.document_max_bytes`", body = crate::error::ErrorBody), (status = 415, description = "Not PDF, Markdown, HTML or text", body = crate::error::ErrorBody),
        (status = 422, description = "Unreadable, password-protected, without text, its text too long, or a bad name", body = crate::error::ErrorBody),
        (status = 423, description = "Locked by zero-access encryption", body = crate::error::ErrorBody), (status = 429, description = "The models' waiting line is full", body = crate::error::ErrorBody)))]
pub async fn attach_document(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::MeetingsWrite>,
    Path(id): Path<String>,
    Query(q): Query<AttachQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id::<MeetingId>(&id)?;
    super::refuse_declared_length(&headers, app.core.config().intelligence.document_max_bytes)?;
    let upload = DocumentUpload {
        name: q.name.unwrap_or_else(|| "document".to_owned()),
        media_type: super::content_type(&headers),
        keep: q.keep.unwrap_or(false),
    };
    let stream = body.into_data_stream().map_err(std::io::Error::other);
    let view = app
        .core
        .intelligence()
        .attach_document(&scope, id, upload, stream)
        .await?;
    Ok((StatusCode::CREATED, ApiJson(Document::from(view))))
}

/// The meeting's documents, oldest first.
#[utoipa::path(get, path = "/api/v1/meetings/{id}/documents", tag = "intelligence", params(("id" = crate::wire::ids::MeetingId, Path, description = "The meeting")), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "Documents", body = DocumentList), (status = 404, description = "No such meeting", body = crate::error::ErrorBody),
        (status = 423, description = "Locked by zero-access encryption", body = crate::error::ErrorBody)))]
pub async fn list_documents(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::MeetingsRead>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id::<MeetingId>(&id)?;
    Ok(ApiJson(DocumentList::from(
        app.core.intelligence().documents(&scope, id).await?,
    )))
}

/// Deletes a document with its chunks and vectors. Audited `document.delete`.
#[utoipa::path(delete, path = "/api/v1/meetings/{id}/documents/{document_id}", tag = "intelligence",
    params(("id" = crate::wire::ids::MeetingId, Path, description = "The meeting"), ("document_id" = crate::wire::ids::DocumentId, Path, description = "The document")),
    security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 204, description = "Deleted"), (status = 404, description = "No such meeting or document", body = crate::error::ErrorBody)))]
pub async fn delete_document(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::MeetingsWrite>,
    Path((id, document)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id::<MeetingId>(&id)?;
    let document = parse_id::<DocumentId>(&document)?;
    app.core
        .intelligence()
        .delete_document(&scope, id, document)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
