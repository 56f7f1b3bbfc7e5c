//! Meeting bots: send one to a meeting, list and read them (state, sub-code, timeline,
//! participants seen, the bot's meeting), make one leave, post in chat through one, cancel one,
//! read its diagnosis.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use meetvault_core::bots::ListBots;
use meetvault_core::ids::{BotId, WorkspaceId};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::{Auth, perm};
use crate::state::AppState;
use crate::wire::bots::{Bot, BotChat, BotDiagnosis, BotPage, ConsentPolicy, NewBot};
use crate::wire::errors::{AuthErrors, JsonBodyErrors};
use crate::{ApiError, ApiJson};

use super::parse_id;

/// Sends a bot to a meeting (now, or at `join_at`); it gets a meeting of its own.
#[utoipa::path(post, path = "/api/v1/bots", tag = "bots", request_body = NewBot, security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, JsonBodyErrors, (status = 201, description = "Scheduled", body = Bot), (status = 422, description = "Invalid (the field is named)", body = crate::error::ErrorBody)))]
pub async fn create_bot(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::BotsWrite>,
    ApiJson(body): ApiJson<NewBot>,
) -> Result<impl IntoResponse, ApiError> {
    let view = app.core.bots().create(&scope, &body.into()).await?;
    Ok((StatusCode::CREATED, ApiJson(Bot::from(view))))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only bots in this state (`recording`, `ended`, …).
    pub state: Option<String>,
    /// `wsp_…`: only this workspace's bots.
    pub workspace_id: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1–200, default 50.
    pub limit: Option<u32>,
}

/// The org's bots, newest first, a page at a time.
#[utoipa::path(get, path = "/api/v1/bots", tag = "bots", params(ListQuery), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "A page of bots", body = BotPage), (status = 400, description = "A malformed `workspace_id`", body = crate::error::ErrorBody), (status = 422, description = "Invalid filter", body = crate::error::ErrorBody)))]
pub async fn list_bots(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::MeetingsRead>,
    Query(q): Query<ListQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let filter = ListBots {
        state: q.state,
        workspace_id: q
            .workspace_id
            .as_deref()
            .map(parse_id::<WorkspaceId>)
            .transpose()?,
        cursor: q.cursor,
        limit: q.limit,
    };
    Ok(ApiJson(BotPage::from(
        app.core.bots().list(&scope, &filter).await?,
    )))
}

/// A bot: state, sub-code, its timeline, the participants it saw, its meeting.
#[utoipa::path(get, path = "/api/v1/bots/{id}", tag = "bots", params(("id" = crate::wire::ids::BotId, Path, description = "The bot")), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "The bot", body = Bot), (status = 404, description = "No such bot", body = crate::error::ErrorBody), (status = 423, description = "Locked by zero-access encryption", body = crate::error::ErrorBody)))]
pub async fn get_bot(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::MeetingsRead>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id::<BotId>(&id)?;
    Ok(ApiJson(Bot::from(app.core.bots().get(&scope, id).await?)))
}

/// Makes a bot leave its meeting (`left_by_api`); one not launched yet is cancelled.
#[utoipa::path(post, path = "/api/v1/bots/{id}/leave", tag = "bots", params(("id" = crate::wire::ids::BotId, Path, description = "The bot")), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 202, description = "Asked to leave", body = Bot), (status = 404, description = "No such bot", body = crate::error::ErrorBody), (status = 409, description = "The bot has ended", body = crate::error::ErrorBody)))]
pub async fn leave_bot(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::BotsWrite>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id::<BotId>(&id)?;
    let view = app.core.bots().leave(&scope, id).await?;
    Ok((StatusCode::ACCEPTED, ApiJson(Bot::from(view))))
}

/// Has the bot post a message in the meeting's chat.
#[utoipa::path(post, path = "/api/v1/bots/{id}/chat", tag = "bots", params(("id" = crate::wire::ids::BotId, Path, description = "The bot")), request_body = BotChat, security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, JsonBodyErrors, (status = 202, description = "Queued for the bot"), (status = 404, description = "No such bot", body = crate::error::ErrorBody), (status = 409, description = "The bot has ended", body = crate::error::ErrorBody), (status = 422, description = "Invalid", body = crate::error::ErrorBody)))]
pub async fn bot_chat(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::BotsWrite>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<BotChat>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id::<BotId>(&id)?;
    app.core.bots().chat(&scope, id, &body.message).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Cancels a scheduled bot (`ended/cancelled`) or makes a running one leave.
#[utoipa::path(delete, path = "/api/v1/bots/{id}", tag = "bots", params(("id" = crate::wire::ids::BotId, Path, description = "The bot")), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "Cancelled, or asked to leave", body = Bot), (status = 404, description = "No such bot", body = crate::error::ErrorBody), (status = 409, description = "The bot has ended", body = crate::error::ErrorBody)))]
pub async fn delete_bot(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::BotsWrite>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id::<BotId>(&id)?;
    Ok(ApiJson(Bot::from(
        app.core.bots().cancel(&scope, id).await?,
    )))
}

/// What the bot showed when it gave up on a page (`platform_ui_changed`): the reason, a
/// screenshot and the DOM, kept sealed under the meeting's key.
#[utoipa::path(get, path = "/api/v1/bots/{id}/diagnosis", tag = "bots", params(("id" = crate::wire::ids::BotId, Path, description = "The bot")), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "The diagnosis", body = BotDiagnosis), (status = 404, description = "No such bot, or it stored no diagnosis", body = crate::error::ErrorBody), (status = 423, description = "Locked by zero-access encryption", body = crate::error::ErrorBody)))]
pub async fn get_bot_diagnosis(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::MeetingsRead>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_id::<BotId>(&id)?;
    Ok(ApiJson(BotDiagnosis::from(
        app.core.bots().diagnosis(&scope, id).await?,
    )))
}

/// The org's bot consent policy: the consent message, the opt-out phrase, whether every bot
/// must post it (workspaces may have their own, which come first).
#[utoipa::path(get, path = "/api/v1/bot-consent", tag = "bots", security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "The policy", body = ConsentPolicy)))]
pub async fn get_org_consent(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::OrgManage>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(ApiJson(ConsentPolicy::from(
        app.core.bots().consent(&scope, None).await?,
    )))
}

/// Replaces the org's bot consent policy (bots sent from now on take it).
#[utoipa::path(put, path = "/api/v1/bot-consent", tag = "bots", request_body = ConsentPolicy, security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, JsonBodyErrors, (status = 200, description = "Replaced", body = ConsentPolicy), (status = 422, description = "Invalid (the field is named)", body = crate::error::ErrorBody)))]
pub async fn put_org_consent(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::OrgManage>,
    ApiJson(body): ApiJson<ConsentPolicy>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(ApiJson(ConsentPolicy::from(
        app.core
            .bots()
            .set_consent(&scope, None, &body.into())
            .await?,
    )))
}

/// A workspace's bot consent policy (it comes before the org's).
#[utoipa::path(get, path = "/api/v1/workspaces/{id}/bot-consent", tag = "bots", params(("id" = crate::wire::ids::WorkspaceId, Path, description = "The workspace")), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "The policy", body = ConsentPolicy), (status = 404, description = "No such workspace", body = crate::error::ErrorBody)))]
pub async fn get_workspace_consent(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::OrgManage>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let ws = parse_id::<WorkspaceId>(&id)?;
    Ok(ApiJson(ConsentPolicy::from(
        app.core.bots().consent(&scope, Some(ws)).await?,
    )))
}

/// Replaces a workspace's bot consent policy; `required: true` makes every bot sent to this
/// workspace post its consent message.
#[utoipa::path(put, path = "/api/v1/workspaces/{id}/bot-consent", tag = "bots", request_body = ConsentPolicy, params(("id" = crate::wire::ids::WorkspaceId, Path, description = "The workspace")), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, JsonBodyErrors, (status = 200, description = "Replaced", body = ConsentPolicy), (status = 404, description = "No such workspace", body = crate::error::ErrorBody), (status = 422, description = "Invalid (the field is named)", body = crate::error::ErrorBody)))]
pub async fn put_workspace_consent(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::OrgManage>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ConsentPolicy>,
) -> Result<impl IntoResponse, ApiError> {
    let ws = parse_id::<WorkspaceId>(&id)?;
    Ok(ApiJson(ConsentPolicy::from(
        app.core
            .bots()
            .set_consent(&scope, Some(ws), &body.into())
            .await?,
    )))
}
