//! The internal bot protocol (`/internal/v1/bots/{id}/…`), spoken by `meetvault bot run`: its
//! spec, transitions, heartbeats, events, audio chunks and a long-poll for commands. Every
//! request carries the bot's own `Authorization: Bearer mvb_…` token, valid for that bot only
//! and only until it ends; anything else is 401. Not part of the public API document.

use std::convert::Infallible;

use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Extension, Router};
use meetvault_core::bots::BotSession;
use meetvault_core::ids::BotId;
use serde::Deserialize;

use crate::json::BodyLimit;
use crate::state::AppState;
use crate::wire::bots::{BotSpec, Commands, ReportedEvent, ReportedTransition};
use crate::{ApiError, ApiJson};

/// Every route of the protocol (method, path), for the probes.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/internal/v1/bots/{id}/spec"),
    ("POST", "/internal/v1/bots/{id}/transitions"),
    ("POST", "/internal/v1/bots/{id}/heartbeat"),
    ("POST", "/internal/v1/bots/{id}/events"),
    ("POST", "/internal/v1/bots/{id}/audio"),
    ("GET", "/internal/v1/bots/{id}/commands"),
];

/// The largest event body (a diagnosis: a PNG in base64 and a DOM snapshot).
pub const EVENT_LIMIT: usize = 8 * 1024 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/internal/v1/bots/{id}/spec", get(spec))
        .route("/internal/v1/bots/{id}/transitions", post(transition))
        .route("/internal/v1/bots/{id}/heartbeat", post(heartbeat))
        .route(
            "/internal/v1/bots/{id}/events",
            // A diagnosis carries a screenshot and the page's DOM.
            post(event)
                .layer::<_, Infallible>(DefaultBodyLimit::max(EVENT_LIMIT))
                .layer::<_, Infallible>(Extension(BodyLimit(EVENT_LIMIT))),
        )
        .route("/internal/v1/bots/{id}/audio", post(audio))
        .route("/internal/v1/bots/{id}/commands", get(commands))
}

/// The bot the request's token belongs to: checked before any body is read.
struct BotAuth(BotSession);

impl FromRequestParts<AppState> for BotAuth {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        let Path(id) = Path::<String>::from_request_parts(parts, app)
            .await
            .map_err(|_| ApiError::Unauthenticated)?;
        let id: BotId = id.parse().map_err(|_| ApiError::Unauthenticated)?;
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(ApiError::Unauthenticated)?;
        Ok(Self(
            app.core
                .bot_runtime()
                .authenticate(id, bearer.trim())
                .await?,
        ))
    }
}

async fn spec(
    State(app): State<AppState>,
    BotAuth(s): BotAuth,
) -> Result<impl IntoResponse, ApiError> {
    Ok(ApiJson(BotSpec::from(
        app.core.bot_runtime().spec(&s).await?,
    )))
}

async fn transition(
    State(app): State<AppState>,
    BotAuth(s): BotAuth,
    ApiJson(body): ApiJson<ReportedTransition>,
) -> Result<StatusCode, ApiError> {
    app.core
        .bot_runtime()
        .transition(&s, &body.state, body.sub_code.as_deref())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn heartbeat(
    State(app): State<AppState>,
    BotAuth(s): BotAuth,
) -> Result<StatusCode, ApiError> {
    app.core.bot_runtime().heartbeat(&s).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn event(
    State(app): State<AppState>,
    BotAuth(s): BotAuth,
    ApiJson(body): ApiJson<ReportedEvent>,
) -> Result<StatusCode, ApiError> {
    app.core.bot_runtime().event(&s, &body.into()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AudioQuery {
    track: String,
    seq: i64,
    start_ms: i64,
}

async fn audio(
    State(app): State<AppState>,
    BotAuth(s): BotAuth,
    Query(q): Query<AudioQuery>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let fresh = app
        .core
        .bot_runtime()
        .audio(&s, &q.track, q.seq, q.start_ms, body)
        .await?;
    Ok(if fresh {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    })
}

async fn commands(
    State(app): State<AppState>,
    BotAuth(s): BotAuth,
) -> Result<impl IntoResponse, ApiError> {
    Ok(ApiJson(Commands::from(
        app.core.bot_runtime().commands(&s).await?,
    )))
}
