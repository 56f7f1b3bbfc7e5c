//! What a visitor's browser calls, from a page on one of the widget's allowed origins: the
//! widget's texts, a session (with an optional signed visitor token), audio chunks in order,
//! the submission. The `Origin` header must be one the widget allows; only then do answers
//! carry CORS headers (`Access-Control-Allow-Origin` naming that origin, never `*`), so no
//! other site can read them. No cookie is read or set: the session is a bearer token the
//! widget holds in memory.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::options;
use meetvault_core::ids::WidgetId;

use crate::state::AppState;
use crate::wire::errors::JsonBodyErrors;
use crate::wire::widgets::{
    LiveQuery, NewWidgetSession, WidgetChunkAccepted, WidgetConfig, WidgetLiveTranscript,
    WidgetSessionCreated, WidgetSubmitted,
};
use crate::{ApiError, ApiJson};

use super::{Meta, parse_id};

/// The request's `Origin`, when it sent one that is text.
fn origin(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn bearer(headers: &HeaderMap) -> Result<String, ApiError> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned)
        .ok_or(ApiError::InvalidToken)
}

/// `origin` if widget `id` is enabled and allows it.
async fn allowed(app: &AppState, id: WidgetId, origin: Option<&str>) -> Option<String> {
    let origin = origin?;
    let (_, origins) = app.core.widgets().public(id).await.ok()?;
    origins.into_iter().find(|o| o == origin)
}

/// `result` as a response, with the CORS headers when `origin` is allowed (errors too, so the
/// widget can read why), and a resource policy that lets that page read it.
fn answer(origin: Option<String>, result: Result<Response, ApiError>) -> Response {
    let mut response = result.unwrap_or_else(IntoResponse::into_response);
    if let Some(origin) = origin
        && let Ok(value) = HeaderValue::from_str(&origin)
    {
        let h = response.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("retry-after"),
        );
        h.insert(
            HeaderName::from_static("cross-origin-resource-policy"),
            HeaderValue::from_static("cross-origin"),
        );
    }
    response
        .headers_mut()
        .append(header::VARY, HeaderValue::from_static("origin"));
    response
}

/// The widget's texts and limits.
#[utoipa::path(get, path = "/widget/v1/widgets/{id}/config", tag = "widgets", params(("id" = crate::wire::ids::WidgetId, Path, description = "The widget")),
    responses((status = 200, description = "What the widget shows", body = WidgetConfig), (status = 403, description = "The page's origin is not allowed", body = crate::error::ErrorBody), (status = 404, description = "No such widget, or it is disabled", body = crate::error::ErrorBody)))]
pub async fn widget_config(
    State(app): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let origin = origin(&headers);
    let result = async {
        let id = parse_id::<WidgetId>(&id)?;
        let (config, origins) = app.core.widgets().public(id).await?;
        if !origin.as_ref().is_some_and(|o| origins.contains(o)) {
            return Err(meetvault_core::CoreError::OriginNotAllowed.into());
        }
        Ok((
            origin.clone(),
            ApiJson(WidgetConfig::from(config)).into_response(),
        ))
    }
    .await;
    match result {
        Ok((allowed, response)) => answer(allowed, Ok(response)),
        Err(e) => answer(None, Err(e)),
    }
}

/// Opens a visitor's session (at most `widgets.sessions_per_ip_hour` per address).
#[utoipa::path(post, path = "/widget/v1/widgets/{id}/sessions", tag = "widgets", params(("id" = crate::wire::ids::WidgetId, Path, description = "The widget")), request_body = NewWidgetSession,
    responses(JsonBodyErrors, (status = 201, description = "Opened; the token is for this browser only", body = WidgetSessionCreated), (status = 401, description = "The visitor token does not verify (why is not said), or the widget requires one", body = crate::error::ErrorBody), (status = 403, description = "The page's origin is not allowed", body = crate::error::ErrorBody), (status = 404, description = "No such widget, or it is disabled", body = crate::error::ErrorBody), (status = 429, description = "Too many sessions from this address; `Retry-After` says when", body = crate::error::ErrorBody)))]
pub async fn open_session(
    State(app): State<AppState>,
    Path(id): Path<String>,
    Meta(meta): Meta,
    headers: HeaderMap,
    body: Result<ApiJson<NewWidgetSession>, ApiError>,
) -> Response {
    let origin = origin(&headers);
    let Ok(id) = parse_id::<WidgetId>(&id) else {
        return answer(None, Err(ApiError::NotFound("widget not found".into())));
    };
    let cors = allowed(&app, id, origin.as_deref()).await;
    let body = match body {
        Ok(ApiJson(b)) => b,
        Err(e) => return answer(cors, Err(e)),
    };
    let result = app
        .core
        .widgets()
        .open_session(
            id,
            origin.as_deref(),
            meta.ip,
            body.visitor_token.as_deref(),
        )
        .await
        .map(|s| (StatusCode::CREATED, ApiJson(WidgetSessionCreated::from(s))).into_response())
        .map_err(ApiError::from);
    answer(cors, result)
}

/// Stores chunk `seq` (0, 1, 2… in order) of the session's recording: the browser's encoded
/// audio (Opus in WebM or Ogg), as it is recorded. `Authorization: Bearer mvv_…`: the
/// session's token (no account credential is involved).
#[utoipa::path(put, path = "/widget/v1/widgets/{id}/chunks/{seq}", tag = "widgets", params(("id" = crate::wire::ids::WidgetId, Path, description = "The widget"), ("seq" = u32, Path, description = "The chunk's position, from 0")), request_body(content = crate::wire::Binary, content_type = "application/octet-stream"),
    responses((status = 200, description = "Stored", body = WidgetChunkAccepted), (status = 401, description = "No valid session token", body = crate::error::ErrorBody), (status = 403, description = "The page's origin is not allowed", body = crate::error::ErrorBody), (status = 409, description = "Out of order, or already submitted; the message names the next position", body = crate::error::ErrorBody), (status = 413, description = "A chunk over `widgets.max_chunk_bytes`", body = crate::error::ErrorBody), (status = 422, description = "Empty, or the recording is longer than the widget allows", body = crate::error::ErrorBody)))]
pub async fn put_chunk(
    State(app): State<AppState>,
    Path((id, seq)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let origin = origin(&headers);
    let Ok(id) = parse_id::<WidgetId>(&id) else {
        return answer(None, Err(ApiError::NotFound("widget not found".into())));
    };
    let cors = allowed(&app, id, origin.as_deref()).await;
    let result = async {
        let token = bearer(&headers)?;
        let seq: u32 = seq.parse().map_err(|_| ApiError::Invalid {
            field: "seq",
            message: "a chunk's position: 0, 1, 2…".into(),
        })?;
        let limit =
            usize::try_from(app.core.config().widgets.max_chunk_bytes).unwrap_or(usize::MAX);
        let audio = axum::body::to_bytes(body, limit)
            .await
            .map_err(|_| ApiError::PayloadTooLarge { limit })?;
        let next = app
            .core
            .widgets()
            .put_chunk(id, origin.as_deref(), &token, seq, audio)
            .await?;
        Ok(ApiJson(WidgetChunkAccepted { next_seq: next }).into_response())
    }
    .await;
    answer(cors, result)
}

/// Submits the session's recording: it becomes a meeting in the widget's workspace, transcribed
/// privately (at most `widgets.submissions_per_ip_hour` per address). Repeating it changes
/// nothing. `Authorization: Bearer mvv_…`: the session's token.
#[utoipa::path(post, path = "/widget/v1/widgets/{id}/submit", tag = "widgets", params(("id" = crate::wire::ids::WidgetId, Path, description = "The widget")),
    responses((status = 202, description = "Received", body = WidgetSubmitted), (status = 401, description = "No valid session token", body = crate::error::ErrorBody), (status = 403, description = "The page's origin is not allowed", body = crate::error::ErrorBody), (status = 422, description = "Nothing was recorded", body = crate::error::ErrorBody), (status = 429, description = "Too many submissions from this address, or to this organization's widgets; `Retry-After` says when", body = crate::error::ErrorBody)))]
pub async fn submit(
    State(app): State<AppState>,
    Path(id): Path<String>,
    Meta(meta): Meta,
    headers: HeaderMap,
) -> Response {
    let origin = origin(&headers);
    let Ok(id) = parse_id::<WidgetId>(&id) else {
        return answer(None, Err(ApiError::NotFound("widget not found".into())));
    };
    let cors = allowed(&app, id, origin.as_deref()).await;
    let result = async {
        let token = bearer(&headers)?;
        app.core
            .widgets()
            .submit(id, origin.as_deref(), meta.ip, &token)
            .await?;
        Ok((
            StatusCode::ACCEPTED,
            ApiJson(WidgetSubmitted { status: "received" }),
        )
            .into_response())
    }
    .await;
    answer(cors, result)
}

/// The transcript of the session's recording so far, while the visitor talks (for a widget
/// with `live_transcript`): poll it with the last answer's `next` until `done`. Held in the
/// server's memory only, for this session's token, and forgotten two minutes after the
/// recording ends. `Authorization: Bearer mvv_…`: the session's token.
#[utoipa::path(get, path = "/widget/v1/widgets/{id}/live", tag = "widgets", params(("id" = crate::wire::ids::WidgetId, Path, description = "The widget"), LiveQuery),
    responses((status = 200, description = "The lines so far", body = WidgetLiveTranscript), (status = 400, description = "A malformed query", body = crate::error::ErrorBody), (status = 401, description = "No valid session token", body = crate::error::ErrorBody), (status = 403, description = "The page's origin is not allowed", body = crate::error::ErrorBody)))]
pub async fn live(
    State(app): State<AppState>,
    Path(id): Path<String>,
    query: Result<Query<LiveQuery>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let origin = origin(&headers);
    let Ok(id) = parse_id::<WidgetId>(&id) else {
        return answer(None, Err(ApiError::NotFound("widget not found".into())));
    };
    let cors = allowed(&app, id, origin.as_deref()).await;
    let result = async {
        let Query(q) = query.map_err(|_| {
            ApiError::BadRequest(
                "`after` is the number of lines already seen (the last answer's `next`)".into(),
            )
        })?;
        let token = bearer(&headers)?;
        let t = app
            .core
            .widgets()
            .live_transcript(id, origin.as_deref(), &token, q.after.unwrap_or(0))
            .await?;
        Ok(ApiJson(WidgetLiveTranscript::from(t)).into_response())
    }
    .await;
    answer(cors, result)
}

/// The CORS preflight of the routes above: allowed only for the widget's origins.
async fn preflight(
    State(app): State<AppState>,
    Path(params): Path<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let origin = origin(&headers);
    let id = params.get("id").map(String::as_str).unwrap_or_default();
    let Ok(id) = parse_id::<WidgetId>(id) else {
        return answer(None, Err(ApiError::NotFound("widget not found".into())));
    };
    match allowed(&app, id, origin.as_deref()).await {
        Some(o) => {
            let mut response = StatusCode::NO_CONTENT.into_response();
            let h = response.headers_mut();
            h.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("GET, POST, PUT"),
            );
            h.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static("authorization, content-type"),
            );
            h.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static("600"),
            );
            answer(Some(o), Ok(response))
        }
        None => answer(
            None,
            Err(meetvault_core::CoreError::OriginNotAllowed.into()),
        ),
    }
}

/// The embeddable script (`assets/widget.js`): any page may load it (it does nothing without
/// a widget that allows the page's origin).
const WIDGET_JS: &str = include_str!("../../assets/widget.js");

async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
            (
                HeaderName::from_static("cross-origin-resource-policy"),
                "cross-origin",
            ),
        ],
        WIDGET_JS,
    )
        .into_response()
}

/// The script and the preflights (not in the OpenAPI document: a browser's, not a client's).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/widget/v1.js", axum::routing::get(script))
        .route("/widget/v1/widgets/{id}/config", options(preflight))
        .route("/widget/v1/widgets/{id}/sessions", options(preflight))
        .route("/widget/v1/widgets/{id}/chunks/{seq}", options(preflight))
        .route("/widget/v1/widgets/{id}/submit", options(preflight))
        .route("/widget/v1/widgets/{id}/live", options(preflight))
}
