//! Meeting intelligence: a meeting's summary (read, regenerate, edit, export with the
//! transcript), its speaker analytics, search and questions across meetings, the list of
//! processors that see meeting content, and the embedded models served OpenAI-style.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use meetvault_core::ids::MeetingId;
use meetvault_core::intel::{ChatRequest, SummaryFormat};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::{Auth, perm};
use crate::middleware::security_headers::user_content;
use crate::state::AppState;
use crate::wire::errors::{AuthErrors, JsonBodyErrors};
use crate::wire::intel::{
    Analytics, AskAnswer, AskRequest, IntelligenceSettings, ProcessorList, SearchRequest,
    SearchResults, Summary, SummaryEdit, SummaryQueued,
};
use crate::wire::openai::{
    AssistantMessage, ChatChoice, ChatCompletion, ChatCompletionRequest, Embedding, EmbeddingList,
    EmbeddingsRequest, MessageContent, Strings, Usage, Vector,
};
use crate::{ApiError, ApiJson};

use super::parse_id;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SummaryQuery {
    /// Absent: the summary as JSON; `md` or `json`: the summary with the transcript, as an
    /// attachment (audited as `transcript.export`).
    pub format: Option<String>,
}

/// The meeting's summary: overview, key points, decisions and action items, each citing where
/// it was said. Made when the transcript is stored (`intelligence.auto`) or on demand.
#[utoipa::path(get, path = "/api/v1/meetings/{id}/summary", tag = "intelligence", params(("id" = crate::wire::ids::MeetingId, Path, description = "The meeting"), SummaryQuery), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "The summary; with `?format=`, the summary and transcript as an attachment",
            content((Summary = "application/json"), (String = "text/markdown"))),
        (status = 404, description = "No such meeting, or no summary yet", body = crate::error::ErrorBody), (status = 422, description = "Unknown format", body = crate::error::ErrorBody), (status = 423, description = "Locked by zero-access encryption", body = crate::error::ErrorBody)))]
pub async fn get_summary(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::MeetingsRead>,
    Path(id): Path<String>,
    Query(q): Query<SummaryQuery>,
) -> Result<Response, ApiError> {
    let id = parse_id::<MeetingId>(&id)?;
    let (format, content_type, ext) = match q.format.as_deref() {
        None => {
            let view = app.core.intelligence().summary(&scope, id).await?;
            return Ok(ApiJson(Summary::from(view)).into_response());
        }
        Some("md") => (
            SummaryFormat::Markdown,
            "text/markdown; charset=utf-8",
            "md",
        ),
        Some("json") => (SummaryFormat::Json, "application/json", "json"),
        Some(_) => {
            return Err(ApiError::Invalid {
                field: "format",
                message: "must be md or json".into(),
            });
        }
    };
    let text = app.core.intelligence().export(&scope, id, format).await?;
    user_content(
        Response::builder(),
        content_type,
        &format!("summary-{id}.{ext}"),
    )
    .body(Body::from(text))
    .map_err(ApiError::internal)
}

/// Makes the summary again from the current transcript (and the meeting's search index). An
/// optional body names settings for this run only — another provider, another prompt
/// template, another redaction — over the meeting's; a secret it names must be the caller's.
#[utoipa::path(post, path = "/api/v1/meetings/{id}/summary", tag = "intelligence", params(("id" = crate::wire::ids::MeetingId, Path, description = "The meeting")), request_body(content = Option<IntelligenceSettings>, description = "Optional: this run's settings"), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, JsonBodyErrors, (status = 202, description = "Queued", body = SummaryQueued), (status = 404, description = "No such meeting", body = crate::error::ErrorBody), (status = 409, description = "No transcript yet, or intelligence is off", body = crate::error::ErrorBody),
        (status = 422, description = "Invalid settings (the field is named)", body = crate::error::ErrorBody), (status = 423, description = "Locked by zero-access encryption", body = crate::error::ErrorBody)))]
pub async fn regenerate_summary(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::MeetingsWrite>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id::<MeetingId>(&id)?;
    let settings = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        Some(crate::json::parse::<IntelligenceSettings>(&body)?.into())
    };
    let job_id = app
        .core
        .intelligence()
        .regenerate(&scope, id, settings)
        .await?;
    Ok((StatusCode::ACCEPTED, ApiJson(SummaryQueued { job_id })))
}

/// Replaces the summary with the meeting owner's edit (a later regeneration replaces it).
#[utoipa::path(put, path = "/api/v1/meetings/{id}/summary", tag = "intelligence", params(("id" = crate::wire::ids::MeetingId, Path, description = "The meeting")), request_body = SummaryEdit, security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, JsonBodyErrors, (status = 200, description = "Edited", body = Summary), (status = 404, description = "No such meeting, or no summary yet", body = crate::error::ErrorBody), (status = 422, description = "Invalid", body = crate::error::ErrorBody), (status = 423, description = "Locked by zero-access encryption", body = crate::error::ErrorBody)))]
pub async fn edit_summary(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::MeetingsWrite>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SummaryEdit>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id::<MeetingId>(&id)?;
    let view = app
        .core
        .intelligence()
        .edit(&scope, id, body.into())
        .await?;
    Ok(ApiJson(Summary::from(view)))
}

/// Speaker analytics from the transcript: talk time, words per minute, questions,
/// interruptions, the longest monologue, silence. No model is involved.
#[utoipa::path(get, path = "/api/v1/meetings/{id}/analytics", tag = "intelligence", params(("id" = crate::wire::ids::MeetingId, Path, description = "The meeting")), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "The analytics", body = Analytics), (status = 404, description = "No such meeting", body = crate::error::ErrorBody), (status = 423, description = "Locked by zero-access encryption", body = crate::error::ErrorBody)))]
pub async fn analytics(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::MeetingsRead>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id::<MeetingId>(&id)?;
    let a = app.core.intelligence().analytics(&scope, id).await?;
    Ok(ApiJson(Analytics::from(a)))
}

/// Searches the meetings the caller may open, by words and by meaning, with filters; results
/// are passages with their speaker, time and highlighted words.
#[utoipa::path(post, path = "/api/v1/search", tag = "intelligence", request_body = SearchRequest, security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, JsonBodyErrors, (status = 200, description = "The best passages first", body = SearchResults), (status = 404, description = "No such meeting (with `meeting_id`)", body = crate::error::ErrorBody), (status = 409, description = "Intelligence is off", body = crate::error::ErrorBody), (status = 422, description = "Invalid", body = crate::error::ErrorBody), (status = 429, description = "The model's waiting line is full; retry after `Retry-After`", body = crate::error::ErrorBody)))]
pub async fn search(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::MeetingsRead>,
    ApiJson(body): ApiJson<SearchRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let hits = app.core.intelligence().search(&scope, &body.into()).await?;
    Ok(ApiJson(SearchResults {
        hits: hits.into_iter().map(Into::into).collect(),
    }))
}

/// Answers a question from the meetings the caller may open (one meeting, a workspace, a date
/// range), citing the passages it rests on — or says it was not found.
#[utoipa::path(post, path = "/api/v1/ask", tag = "intelligence", request_body = AskRequest, security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, JsonBodyErrors, (status = 200, description = "The answer and its citations, or found: false", body = AskAnswer), (status = 404, description = "No such meeting (with `meeting_id`)", body = crate::error::ErrorBody), (status = 409, description = "Intelligence is off, or the embedding model is not installed", body = crate::error::ErrorBody), (status = 422, description = "Invalid", body = crate::error::ErrorBody), (status = 429, description = "The model's waiting line is full; retry after `Retry-After`", body = crate::error::ErrorBody)))]
pub async fn ask(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::MeetingsRead>,
    ApiJson(body): ApiJson<AskRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let answer = app.core.intelligence().ask(&scope, &body.into()).await?;
    Ok(ApiJson(AskAnswer::from(answer)))
}

/// The processors that may see meeting content on this server: name, purpose, where the
/// data goes and what is kept.
#[utoipa::path(get, path = "/api/v1/processors", tag = "intelligence", security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "The processors", body = ProcessorList)))]
pub async fn processors(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::MeetingsRead>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(ApiJson(ProcessorList {
        processors: app
            .core
            .intelligence()
            .processors(&scope)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    }))
}

/// OpenAI-compatible chat completions from the embedded chat model (API keys with
/// `meetings:write`): text in; text out, or JSON held to a schema (`response_format`
/// `json_schema`); one choice, no streaming. Nothing is stored.
#[utoipa::path(post, path = "/v1/chat/completions", tag = "intelligence", request_body = ChatCompletionRequest, security(("api_key" = []), ("session" = [])),
    responses(AuthErrors, JsonBodyErrors, (status = 200, description = "The completion", body = ChatCompletion), (status = 404, description = "The endpoint is turned off (`intelligence.openai_endpoint`)", body = crate::error::ErrorBody), (status = 409, description = "The chat model is not installed, or intelligence is off", body = crate::error::ErrorBody), (status = 422, description = "Another model, streaming, n > 1, JSON without a schema, a schema keyword not served, or a value out of range", body = crate::error::ErrorBody), (status = 429, description = "The model's waiting line is full; retry after `Retry-After`", body = crate::error::ErrorBody)))]
pub async fn chat_completions(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::MeetingsWrite>,
    ApiJson(body): ApiJson<ChatCompletionRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let refuse = |field: &'static str, message: &str| ApiError::Invalid {
        field,
        message: message.into(),
    };
    if body.stream == Some(true) {
        return Err(refuse(
            "stream",
            "streaming is not served; send stream: false",
        ));
    }
    if body.n.is_some_and(|n| n != 1) {
        return Err(refuse("n", "only one choice is served"));
    }
    let schema = match body.response_format.clone() {
        None => None,
        Some(f) => match (f.kind.as_str(), f.json_schema, f.schema) {
            ("text", None, None) => None,
            ("json_schema", Some(spec), None) => Some(spec.schema),
            ("json_object", None, Some(schema)) => Some(schema),
            _ => {
                return Err(refuse(
                    "response_format",
                    "serve {\"type\": \"text\"}, {\"type\": \"json_schema\", \"json_schema\": {\"schema\": …}} \
                     or {\"type\": \"json_object\", \"schema\": …}: free-form JSON without a schema is not served",
                ));
            }
        },
    };
    if body
        .presence_penalty
        .is_some_and(|p| !(-2.0..=2.0).contains(&p))
    {
        return Err(refuse("presence_penalty", "must be between -2 and 2"));
    }
    let mut messages = Vec::with_capacity(body.messages.len());
    for m in body.messages {
        let content = match m.content {
            MessageContent::Text(t) => t,
            MessageContent::Parts(parts) => {
                if parts.iter().any(|p| p.kind != "text") {
                    return Err(refuse("messages", "only text parts are served"));
                }
                parts
                    .into_iter()
                    .map(|p| p.text)
                    .collect::<Vec<_>>()
                    .join("\n")
            }
        };
        messages.push((m.role, content));
    }
    let answer = app
        .core
        .intelligence()
        .chat(
            &scope,
            ChatRequest {
                model: body.model,
                messages,
                max_tokens: body.max_completion_tokens.or(body.max_tokens),
                temperature: body.temperature,
                top_p: body.top_p,
                seed: body.seed,
                stop: body.stop.map(Strings::into_vec).unwrap_or_default(),
                frequency_penalty: body.frequency_penalty,
                schema,
            },
        )
        .await?;
    Ok(ApiJson(ChatCompletion {
        id: format!("chatcmpl-{}", uuid::Uuid::new_v4().simple()),
        object: "chat.completion",
        created: chrono::Utc::now().timestamp(),
        model: answer.model,
        choices: vec![ChatChoice {
            index: 0,
            message: AssistantMessage {
                role: "assistant",
                content: answer.text,
            },
            finish_reason: answer.finish_reason,
        }],
        usage: Usage {
            prompt_tokens: answer.prompt_tokens,
            completion_tokens: Some(answer.completion_tokens),
            total_tokens: answer
                .prompt_tokens
                .saturating_add(answer.completion_tokens),
        },
    }))
}

/// OpenAI-compatible embeddings from the embedded model (API keys with `meetings:write`): unit
/// vectors as sentence-transformers makes them, as floats or base64. Nothing is stored.
#[utoipa::path(post, path = "/v1/embeddings", tag = "intelligence", request_body = EmbeddingsRequest, security(("api_key" = []), ("session" = [])),
    responses(AuthErrors, JsonBodyErrors, (status = 200, description = "One embedding per input, in order", body = EmbeddingList), (status = 404, description = "The endpoint is turned off (`intelligence.openai_endpoint`)", body = crate::error::ErrorBody), (status = 409, description = "The embedding model is not installed, or intelligence is off", body = crate::error::ErrorBody), (status = 422, description = "Another model, other dimensions, an unknown encoding, or inputs out of range", body = crate::error::ErrorBody), (status = 429, description = "The model's waiting line is full; retry after `Retry-After`", body = crate::error::ErrorBody)))]
pub async fn embeddings(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::MeetingsWrite>,
    ApiJson(body): ApiJson<EmbeddingsRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let base64 = match body.encoding_format.as_deref() {
        None | Some("float") => false,
        Some("base64") => true,
        Some(_) => {
            return Err(ApiError::Invalid {
                field: "encoding_format",
                message: "must be float or base64".into(),
            });
        }
    };
    let answer = app
        .core
        .intelligence()
        .embeddings(&scope, &body.model, body.input.into_vec())
        .await?;
    if let Some(d) = body.dimensions
        && answer
            .vectors
            .first()
            .is_some_and(|v| v.len() != d as usize)
    {
        return Err(ApiError::Invalid {
            field: "dimensions",
            message: "the model's vectors cannot be shortened; leave dimensions out".into(),
        });
    }
    let data = answer
        .vectors
        .into_iter()
        .enumerate()
        .map(|(i, v)| Embedding {
            object: "embedding",
            index: u32::try_from(i).unwrap_or(u32::MAX),
            embedding: if base64 {
                use base64::Engine as _;
                let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
                Vector::Base64(base64::engine::general_purpose::STANDARD.encode(bytes))
            } else {
                Vector::Floats(v)
            },
        })
        .collect();
    Ok(ApiJson(EmbeddingList {
        object: "list",
        data,
        model: answer.model,
        usage: Usage {
            prompt_tokens: answer.tokens,
            completion_tokens: None,
            total_tokens: answer.tokens,
        },
    }))
}

/// The org's meeting-intelligence settings: who writes overviews and when PII is redacted.
#[utoipa::path(get, path = "/api/v1/org/intelligence", tag = "intelligence", security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "The settings", body = IntelligenceSettings)))]
pub async fn get_intelligence_settings(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::OrgManage>,
) -> Result<impl IntoResponse, ApiError> {
    let mut s = app.core.intelligence().settings(&scope, None).await?;
    s.provider.get_or_insert_default();
    Ok(ApiJson(IntelligenceSettings::from(s)))
}

/// Replaces the org's meeting-intelligence settings. A remote provider (`openai`) needs its
/// base URL (checked against the outbound rules) and model; its API key is one of the caller's
/// stored secrets, used on their behalf. Audited as `intelligence.update`.
#[utoipa::path(put, path = "/api/v1/org/intelligence", tag = "intelligence", request_body = IntelligenceSettings, security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, JsonBodyErrors, (status = 200, description = "Stored", body = IntelligenceSettings), (status = 422, description = "Invalid: a refused URL, a missing model, an unknown secret", body = crate::error::ErrorBody)))]
pub async fn put_intelligence_settings(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::OrgManage>,
    ApiJson(body): ApiJson<IntelligenceSettings>,
) -> Result<impl IntoResponse, ApiError> {
    let mut s = app
        .core
        .intelligence()
        .put_settings(&scope, None, body.into())
        .await?;
    s.provider.get_or_insert_default();
    Ok(ApiJson(IntelligenceSettings::from(s)))
}

/// A workspace's own meeting-intelligence settings (null fields inherit the org's).
#[utoipa::path(get, path = "/api/v1/workspaces/{id}/intelligence", tag = "intelligence", params(("id" = crate::wire::ids::WorkspaceId, Path, description = "The workspace")), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "The workspace's settings", body = IntelligenceSettings), (status = 404, description = "No such workspace", body = crate::error::ErrorBody)))]
pub async fn get_workspace_intelligence(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::OrgManage>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let ws = parse_id::<meetvault_core::ids::WorkspaceId>(&id)?;
    let s = app.core.intelligence().settings(&scope, Some(ws)).await?;
    Ok(ApiJson(IntelligenceSettings::from(s)))
}

/// Replaces a workspace's own meeting-intelligence settings (all null: it inherits the
/// org's again); checked as the org's. Audited as `intelligence.update`.
#[utoipa::path(put, path = "/api/v1/workspaces/{id}/intelligence", tag = "intelligence", request_body = IntelligenceSettings, params(("id" = crate::wire::ids::WorkspaceId, Path, description = "The workspace")), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, JsonBodyErrors, (status = 200, description = "Stored", body = IntelligenceSettings), (status = 404, description = "No such workspace", body = crate::error::ErrorBody),
        (status = 422, description = "Invalid: a refused URL, a missing model, an unknown secret", body = crate::error::ErrorBody)))]
pub async fn put_workspace_intelligence(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::OrgManage>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<IntelligenceSettings>,
) -> Result<impl IntoResponse, ApiError> {
    let ws = parse_id::<meetvault_core::ids::WorkspaceId>(&id)?;
    let s = app
        .core
        .intelligence()
        .put_settings(&scope, Some(ws), body.into())
        .await?;
    Ok(ApiJson(IntelligenceSettings::from(s)))
}
