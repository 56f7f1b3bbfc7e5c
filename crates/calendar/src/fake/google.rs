//! The fake Google Calendar API: `events.list` on the primary calendar (full sync of a time
//! range, or changes since a sync token; pages of `maxResults`; `nextSyncToken` on the last
//! page; 410 `fullSyncRequired` for an invalidated token; 400 for a sync token combined with a
//! time range), `events.watch` (answers the channel, then POSTs the `sync` message to its
//! address) and `channels.stop`.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::state::{Channel, FakeRequest, Pending, google_json};
use super::{Shared, loopback_or_https};
use crate::provider::ProviderKind;

fn error(status: StatusCode, reason: &str, message: &str) -> Response {
    let body = json!({"error": {
        "errors": [{"domain": "global", "reason": reason, "message": message}],
        "code": status.as_u16(),
        "message": message
    }});
    (status, Json(body)).into_response()
}

fn unauthorized() -> Response {
    let body = json!({"error": {
        "code": 401,
        "message": "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
        "errors": [{"message": "Invalid Credentials", "domain": "global", "reason": "authError", "location": "Authorization", "locationType": "header"}],
        "status": "UNAUTHENTICATED"
    }});
    (StatusCode::UNAUTHORIZED, Json(body)).into_response()
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION)?.to_str().ok()
}

fn parse_time(q: &HashMap<String, String>, key: &str) -> Result<Option<DateTime<Utc>>, ()> {
    match q.get(key) {
        None => Ok(None),
        Some(v) => DateTime::parse_from_rfc3339(v)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|_| ()),
    }
}

pub(crate) async fn list_events(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Ok(mut state) = shared.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    state.requests.push(FakeRequest {
        path: "/calendar/v3/calendars/primary/events".into(),
        query: q.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        prefer: Vec::new(),
    });
    if !state.authorized(ProviderKind::Google, bearer(&headers)) {
        return unauthorized();
    }
    let page_size = q
        .get("maxResults")
        .and_then(|m| m.parse::<usize>().ok())
        .unwrap_or(250)
        .clamp(1, 2500);
    let (Ok(time_min), Ok(time_max)) = (parse_time(&q, "timeMin"), parse_time(&q, "timeMax"))
    else {
        return error(StatusCode::BAD_REQUEST, "badRequest", "Bad Request");
    };
    let key = match q.get("pageToken") {
        Some(token) => token.clone(),
        None => {
            let user = state.user_email.clone();
            let current = state.seq;
            let calendar = state.calendar(ProviderKind::Google);
            let items: Vec<Value> = match q.get("syncToken") {
                Some(token) => {
                    if time_min.is_some() || time_max.is_some() {
                        return error(
                            StatusCode::BAD_REQUEST,
                            "invalid",
                            "Sync token cannot be used with timeMin or timeMax.",
                        );
                    }
                    let since = token
                        .strip_prefix("gs-")
                        .and_then(|s| s.parse::<u64>().ok());
                    let Some(since) = since.filter(|s| *s >= calendar.min_valid_seq) else {
                        return error(
                            StatusCode::GONE,
                            "fullSyncRequired",
                            "Sync token is no longer valid, a full sync is required.",
                        );
                    };
                    // Changes since the token, deletions and cancellations included.
                    calendar
                        .events
                        .iter()
                        .filter(|e| e.seq > since)
                        .map(|e| google_json(e, &user))
                        .collect()
                }
                None => calendar
                    .events
                    .iter()
                    .filter(|e| !e.deleted && !e.cancelled)
                    .filter(|e| time_min.is_none_or(|t| e.end > t))
                    .filter(|e| time_max.is_none_or(|t| e.start < t))
                    .map(|e| google_json(e, &user))
                    .collect(),
            };
            let key = state.token("gp-");
            state.pending.insert(
                key.clone(),
                Pending {
                    items,
                    final_token: format!("gs-{current}"),
                },
            );
            key
        }
    };
    let Some(pending) = state.pending.get_mut(&key) else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid",
            "Invalid page token value.",
        );
    };
    let take = page_size.min(pending.items.len());
    let items: Vec<Value> = pending.items.drain(..take).collect();
    let mut body = json!({
        "kind": "calendar#events",
        "etag": "\"p33k\"",
        "summary": state.user_email,
        "updated": "2024-05-01T10:00:00.000Z",
        "timeZone": "UTC",
        "accessRole": "owner",
        "items": items,
    });
    let remaining = state.pending.get(&key).map(|p| p.items.len()).unwrap_or(0);
    if remaining > 0 {
        body["nextPageToken"] = json!(key);
    } else if let Some(done) = state.pending.remove(&key) {
        body["nextSyncToken"] = json!(done.final_token);
    }
    (StatusCode::OK, Json(body)).into_response()
}

pub(crate) async fn watch(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let (id, address, token, expiration, resource_id) = {
        let Ok(mut state) = shared.lock() else {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        };
        if !state.authorized(ProviderKind::Google, bearer(&headers)) {
            return unauthorized();
        }
        let id = body["id"].as_str().unwrap_or_default().to_owned();
        let address = body["address"].as_str().unwrap_or_default().to_owned();
        let token = body["token"].as_str().unwrap_or_default().to_owned();
        let id_ok = !id.is_empty()
            && id.len() <= 64
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_+/=".contains(&b));
        if body["type"] != "web_hook" || !id_ok || token.len() > 256 || !loopback_or_https(&address)
        {
            return error(StatusCode::BAD_REQUEST, "invalid", "Invalid channel.");
        }
        let default_exp = (Utc::now() + chrono::TimeDelta::days(7)).timestamp_millis();
        let expiration = body["expiration"]
            .as_i64()
            .or_else(|| body["expiration"].as_str().and_then(|s| s.parse().ok()))
            .unwrap_or(default_exp)
            .min(default_exp);
        let resource_id = state.token("res-");
        state.channels.insert(
            id.clone(),
            Channel {
                resource_id: resource_id.clone(),
                address: address.clone(),
                token: token.clone(),
                expiration_ms: expiration,
                message_number: 1,
            },
        );
        (id, address, token, expiration, resource_id)
    };
    // Google announces a new channel with a `sync` message.
    let message = super::GoogleMessage {
        address,
        channel_id: id.clone(),
        token: token.clone(),
        resource_id: resource_id.clone(),
        state: "sync",
        number: 1,
        expiration_ms: expiration,
    };
    tokio::spawn(async move {
        let _ = message.send().await;
    });
    let body = json!({
        "kind": "api#channel",
        "id": id,
        "resourceId": resource_id,
        "resourceUri": "https://www.googleapis.com/calendar/v3/calendars/primary/events?alt=json",
        "token": token,
        "expiration": expiration.to_string(),
    });
    (StatusCode::OK, Json(body)).into_response()
}

pub(crate) async fn stop(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let Ok(mut state) = shared.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if !state.authorized(ProviderKind::Google, bearer(&headers)) {
        return unauthorized();
    }
    let id = body["id"].as_str().unwrap_or_default();
    let resource_id = body["resourceId"].as_str().unwrap_or_default();
    match state.channels.get(id) {
        Some(c) if c.resource_id == resource_id => {
            state.channels.remove(id);
            StatusCode::NO_CONTENT.into_response()
        }
        _ => error(
            StatusCode::NOT_FOUND,
            "notFound",
            &format!("Channel '{id}' not found for project '0'"),
        ),
    }
}
