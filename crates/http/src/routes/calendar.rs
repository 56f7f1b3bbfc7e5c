//! Calendars: the providers offered, connecting one (the consent page's URL, with the connect
//! cookie `__Host-mv_calendar` over HTTPS binding the callback to this browser), the callback,
//! connections, rules, events and per-event choices, and the two push endpoints the providers
//! call (no credential: each notification carries the token meetvault derived for it).

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse, Response};
use meetvault_core::calendar::GraphPushReply;
use meetvault_core::ids::{CalendarId, WorkspaceId};

use crate::auth::{Auth, cookie, perm, set_cookie};
use crate::state::AppState;
use crate::wire::calendar::{
    CalendarConnectStart, CalendarConnection, CalendarConnectionList, CalendarEvent,
    CalendarEventChoiceBody, CalendarEventList, CalendarProvider, CalendarProviderList,
    CalendarRules, CalendarWorkspaceRules, NewCalendarConnection,
};
use crate::wire::errors::{AuthErrors, JsonBodyErrors};
use crate::{ApiError, ApiJson};

use super::parse_id;
use super::sso::host_cookie;

/// How long a started connect may take (seconds).
const CONNECT_COOKIE_SECS: u64 = 600;

fn connect_cookie_name(app: &AppState) -> String {
    host_cookie(app, "mv_calendar")
}

/// The calendar providers configured here.
#[utoipa::path(get, path = "/api/v1/calendar/providers", tag = "calendar", security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "The providers", body = CalendarProviderList)))]
pub async fn providers(
    State(app): State<AppState>,
    Auth(_scope, ..): Auth<perm::BotsWrite>,
) -> impl IntoResponse {
    ApiJson(CalendarProviderList {
        data: app
            .core
            .calendars()
            .providers()
            .into_iter()
            .map(CalendarProvider::from)
            .collect(),
    })
}

/// Your connected calendars.
#[utoipa::path(get, path = "/api/v1/calendar/connections", tag = "calendar", security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "Your connections", body = CalendarConnectionList)))]
pub async fn list_connections(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::BotsWrite>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(ApiJson(CalendarConnectionList {
        data: app
            .core
            .calendars()
            .connections(&scope)
            .await?
            .into_iter()
            .map(CalendarConnection::from)
            .collect(),
    }))
}

/// Starts connecting your calendar: answers the provider's consent page (send the browser
/// there) and sets the connect cookie. Signed-in people only (not API keys).
#[utoipa::path(post, path = "/api/v1/calendar/connections", tag = "calendar", request_body = NewCalendarConnection, security(("session" = [])),
    responses(AuthErrors, JsonBodyErrors,
        (status = 200, description = "Go to the consent page", body = CalendarConnectStart),
        (status = 404, description = "That provider is not configured here", body = crate::error::ErrorBody),
        (status = 409, description = "A zero-access account cannot connect a calendar", body = crate::error::ErrorBody),
    ))]
pub async fn connect(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::BotsWrite>,
    ApiJson(body): ApiJson<NewCalendarConnection>,
) -> Result<Response, ApiError> {
    let kind = meetvault_core::calendar::parse_provider(&body.provider).ok_or_else(|| {
        ApiError::from(meetvault_core::CoreError::invalid(
            "provider",
            "must be google or microsoft",
        ))
    })?;
    let started = app
        .core
        .calendars()
        .connect_start(&scope, kind, body.workspace_id, body.return_to.as_deref())
        .await?;
    let cookie = set_cookie(
        &connect_cookie_name(&app),
        started.browser_secret.expose(),
        CONNECT_COOKIE_SECS,
    );
    Ok((
        AppendHeaders([
            (header::SET_COOKIE, cookie),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ]),
        ApiJson(CalendarConnectStart {
            authorization_url: started.url,
        }),
    )
        .into_response())
}

/// Where the provider sends the browser back: stores the connection and redirects to the
/// path the connect started for. Only in the browser and session that started it.
#[utoipa::path(get, path = "/api/v1/calendar/callback", tag = "calendar", security(("session" = [])),
    responses(AuthErrors,
        (status = 303, description = "Connected: to the page it started from"),
        (status = 422, description = "Refused (the message says why and what to do)", body = crate::error::ErrorBody),
        (status = 503, description = "The provider cannot be reached", body = crate::error::ErrorBody),
    ))]
pub async fn callback(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::BotsWrite>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let name = connect_cookie_name(&app);
    let browser = cookie(&headers, &name);
    let (_, return_to) = app
        .core
        .calendars()
        .connect_finish(&scope, &pairs, browser.as_deref())
        .await?;
    Ok(super::sso::see_other(return_to, set_cookie(&name, "", 0)))
}

/// Disconnects a calendar: its push channel stopped, its grant revoked at the provider, its
/// tokens and events deleted, the bots only it wanted cancelled.
#[utoipa::path(delete, path = "/api/v1/calendar/connections/{id}", tag = "calendar", params(("id" = crate::wire::ids::CalendarId, Path, description = "The connection")), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors,
        (status = 204, description = "Disconnected"),
        (status = 404, description = "No such connection of yours", body = crate::error::ErrorBody),
    ))]
pub async fn disconnect(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::BotsWrite>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id::<CalendarId>(&id)?;
    app.core.calendars().disconnect(&scope, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Reads a calendar again now (in the background).
#[utoipa::path(post, path = "/api/v1/calendar/connections/{id}/sync", tag = "calendar", params(("id" = crate::wire::ids::CalendarId, Path, description = "The connection")), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors,
        (status = 202, description = "Queued"),
        (status = 404, description = "No such connection of yours", body = crate::error::ErrorBody),
        (status = 409, description = "Access was revoked: connect again", body = crate::error::ErrorBody),
    ))]
pub async fn sync_now(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::BotsWrite>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id::<CalendarId>(&id)?;
    app.core.calendars().sync_now(&scope, id).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Your auto-join rules.
#[utoipa::path(get, path = "/api/v1/calendar/rules", tag = "calendar", security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "Your rules", body = CalendarRules)))]
pub async fn get_rules(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::BotsWrite>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(ApiJson(CalendarRules::from(
        app.core.calendars().user_rules(&scope).await?,
    )))
}

/// Replaces your auto-join rules; your calendars are read again at once.
#[utoipa::path(put, path = "/api/v1/calendar/rules", tag = "calendar", request_body = CalendarRules, security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, JsonBodyErrors, (status = 200, description = "Saved", body = CalendarRules)))]
pub async fn put_rules(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::BotsWrite>,
    ApiJson(body): ApiJson<CalendarRules>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(ApiJson(CalendarRules::from(
        app.core
            .calendars()
            .set_user_rules(&scope, &body.into())
            .await?,
    )))
}

/// A workspace's calendar rules.
#[utoipa::path(get, path = "/api/v1/workspaces/{id}/calendar-rules", tag = "calendar", params(("id" = crate::wire::ids::WorkspaceId, Path, description = "The workspace")), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "The rules", body = CalendarWorkspaceRules), (status = 404, description = "No such workspace", body = crate::error::ErrorBody)))]
pub async fn get_workspace_rules(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::OrgManage>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let ws = parse_id::<WorkspaceId>(&id)?;
    Ok(ApiJson(CalendarWorkspaceRules::from(
        app.core.calendars().workspace_rules(&scope, ws).await?,
    )))
}

/// Replaces a workspace's calendar rules (its members' default mode, and exclusions no member
/// lifts); every calendar of the org is read again soon.
#[utoipa::path(put, path = "/api/v1/workspaces/{id}/calendar-rules", tag = "calendar", request_body = CalendarWorkspaceRules, params(("id" = crate::wire::ids::WorkspaceId, Path, description = "The workspace")), security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, JsonBodyErrors, (status = 200, description = "Saved", body = CalendarWorkspaceRules), (status = 404, description = "No such workspace", body = crate::error::ErrorBody)))]
pub async fn put_workspace_rules(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::OrgManage>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CalendarWorkspaceRules>,
) -> Result<impl IntoResponse, ApiError> {
    let ws = parse_id::<WorkspaceId>(&id)?;
    Ok(ApiJson(CalendarWorkspaceRules::from(
        app.core
            .calendars()
            .set_workspace_rules(&scope, ws, &body.into())
            .await?,
    )))
}

/// The events of your calendars in the sync window, with what meetvault does about each.
#[utoipa::path(get, path = "/api/v1/calendar/events", tag = "calendar", security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, (status = 200, description = "Events", body = CalendarEventList)))]
pub async fn events(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::BotsWrite>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(ApiJson(CalendarEventList {
        data: app
            .core
            .calendars()
            .events(&scope)
            .await?
            .into_iter()
            .map(CalendarEvent::from)
            .collect(),
    }))
}

/// Your choice for one event (`always`, `never`, or `null` to let the rules decide), applied
/// at once.
#[utoipa::path(put, path = "/api/v1/calendar/connections/{id}/events/{event_id}/choice", tag = "calendar", request_body = CalendarEventChoiceBody,
    params(("id" = crate::wire::ids::CalendarId, Path, description = "The connection"), ("event_id" = String, Path, description = "The provider's event id")),
    security(("session" = []), ("api_key" = [])),
    responses(AuthErrors, JsonBodyErrors,
        (status = 204, description = "Applied"),
        (status = 404, description = "No such event of yours", body = crate::error::ErrorBody),
    ))]
pub async fn put_choice(
    State(app): State<AppState>,
    Auth(scope, ..): Auth<perm::BotsWrite>,
    Path((id, event_id)): Path<(String, String)>,
    ApiJson(body): ApiJson<CalendarEventChoiceBody>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id::<CalendarId>(&id)?;
    app.core
        .calendars()
        .set_choice(&scope, id, &event_id, body.choice.map(Into::into))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Google Calendar's push notifications (a watch channel's `sync` and `exists` messages).
#[utoipa::path(post, path = "/api/v1/calendar/push/google", tag = "calendar",
    responses(
        (status = 200, description = "Taken: the calendar is read again soon"),
        (status = 403, description = "Not a channel of ours", body = crate::error::ErrorBody),
    ))]
pub async fn push_google(
    State(app): State<AppState>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    app.core.calendars().push_google(&headers).await?;
    Ok(StatusCode::OK)
}

/// Microsoft Graph's change notifications, and its subscription validation handshake
/// (`validationToken` echoed as text/plain).
#[utoipa::path(post, path = "/api/v1/calendar/push/microsoft", tag = "calendar",
    request_body(content = String, description = "Graph's notification batch (JSON); empty for the handshake", content_type = "application/json"),
    responses(
        (status = 200, description = "The validation token, as text/plain"),
        (status = 202, description = "Taken: the calendar is read again soon"),
        (status = 403, description = "Not a subscription of ours", body = crate::error::ErrorBody),
        (status = 422, description = "Not a notification batch", body = crate::error::ErrorBody),
    ))]
pub async fn push_microsoft(
    State(app): State<AppState>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    match app
        .core
        .calendars()
        .push_microsoft(query.as_deref(), &body)
        .await?
    {
        GraphPushReply::Validation(token) => Ok((
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            token,
        )
            .into_response()),
        GraphPushReply::Accepted => Ok(StatusCode::ACCEPTED.into_response()),
    }
}
