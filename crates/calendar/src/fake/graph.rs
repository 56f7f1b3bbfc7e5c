//! The fake Microsoft Graph: `GET /me/calendarView/delta` rounds (the window on the first
//! request, `$skiptoken` next links, a `$deltatoken` delta link at the end, `@removed` for
//! deleted events and for changed events now outside the window, 410 `syncStateNotFound` for
//! an invalidated token, page size from `Prefer: odata.maxpagesize`), and subscriptions:
//! `POST /subscriptions` performs the validation handshake against the notification URL
//! before it answers 201 (as Graph does), `PATCH` renews and `DELETE` removes.

use std::collections::HashMap;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, TimeZone as _, Utc};
use serde_json::{Value, json};

use super::state::{FakeRequest, Pending, Subscription, graph_json};
use super::{Shared, loopback_or_https};
use crate::provider::ProviderKind;

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({"error": {
        "code": code,
        "message": message,
        "innerError": {"date": "2024-05-01T10:00:00", "request-id": "00000000-0000-0000-0000-000000000000"}
    }});
    (status, Json(body)).into_response()
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION)?.to_str().ok()
}

fn unauthorized() -> Response {
    error(
        StatusCode::UNAUTHORIZED,
        "InvalidAuthenticationToken",
        "Access token has expired or is not yet valid.",
    )
}

fn prefer(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|v| v.trim().to_owned())
        .collect()
}

fn parse_window(q: &HashMap<String, String>) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let get = |k: &str| {
        q.iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(k))
            .and_then(|(_, v)| DateTime::parse_from_rfc3339(v).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    Some((get("startDateTime")?, get("endDateTime")?))
}

pub(crate) async fn delta(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Ok(mut state) = shared.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let prefer = prefer(&headers);
    state.requests.push(FakeRequest {
        path: "/v1.0/me/calendarView/delta".into(),
        query: q.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        prefer: prefer.clone(),
    });
    if !state.authorized(ProviderKind::Microsoft, bearer(&headers)) {
        return unauthorized();
    }
    let page_size = prefer
        .iter()
        .find_map(|p| p.strip_prefix("odata.maxpagesize="))
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(10)
        .max(1);
    let key = if let Some(skip) = q.get("$skiptoken") {
        skip.clone()
    } else {
        let user = state.user_email.clone();
        let current = state.seq;
        let (window, items) = if let Some(token) = q.get("$deltatoken") {
            let mut parts = token.split('_').map(|p| p.parse::<i64>().ok());
            let (Some(Some(since)), Some(Some(start)), Some(Some(end))) =
                (parts.next(), parts.next(), parts.next())
            else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    "Invalid delta token.",
                );
            };
            let calendar = state.calendar(ProviderKind::Microsoft);
            if (since as u64) < calendar.min_valid_seq {
                return error(
                    StatusCode::GONE,
                    "syncStateNotFound",
                    "The sync state generation is not found.",
                );
            }
            let (Some(start), Some(end)) = (
                Utc.timestamp_opt(start, 0).single(),
                Utc.timestamp_opt(end, 0).single(),
            ) else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    "Invalid delta token.",
                );
            };
            let items = calendar
                .events
                .iter()
                .filter(|e| e.seq > since as u64)
                .map(|e| {
                    let outside = e.end <= start || e.start >= end;
                    graph_json(e, &user, outside)
                })
                .collect();
            ((start, end), items)
        } else {
            let Some((start, end)) = parse_window(&q) else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "ErrorInvalidParameter",
                    "This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.",
                );
            };
            let items = state
                .calendar(ProviderKind::Microsoft)
                .events
                .iter()
                .filter(|e| !e.deleted && e.end > start && e.start < end)
                .map(|e| graph_json(e, &user, false))
                .collect();
            ((start, end), items)
        };
        let key = state.token("sk");
        state.pending.insert(
            key.clone(),
            Pending {
                items,
                final_token: format!(
                    "{current}_{}_{}",
                    window.0.timestamp(),
                    window.1.timestamp()
                ),
            },
        );
        key
    };
    let base = state.base.clone();
    let Some(pending) = state.pending.get_mut(&key) else {
        return error(StatusCode::BAD_REQUEST, "BadRequest", "Invalid skip token.");
    };
    let take = page_size.min(pending.items.len());
    let items: Vec<Value> = pending.items.drain(..take).collect();
    let link = |param: &str, value: &str| {
        let mut url = url::Url::parse(&format!("{base}/v1.0/me/calendarView/delta")).ok()?;
        url.query_pairs_mut().append_pair(param, value);
        Some(url.to_string())
    };
    let mut body = json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(event)",
        "value": items,
    });
    if !pending.items.is_empty() {
        body["@odata.nextLink"] = json!(link("$skiptoken", &key));
    } else if let Some(done) = state.pending.remove(&key) {
        body["@odata.deltaLink"] = json!(link("$deltatoken", &done.final_token));
    }
    (StatusCode::OK, Json(body)).into_response()
}

fn subscription_json(id: &str, s: &Subscription) -> Value {
    json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#subscriptions/$entity",
        "id": id,
        "resource": "me/events",
        "applicationId": super::CLIENT_ID,
        "changeType": "created,updated,deleted",
        "clientState": s.client_state,
        "notificationUrl": s.notification_url,
        "expirationDateTime": s.expiration.to_rfc3339_opts(SecondsFormat::Secs, true),
        "creatorId": "8ee44408-0679-472c-bc2a-692812af3437",
        "latestSupportedTlsVersion": "v1_2",
    })
}

const MAX_MINUTES: i64 = 4230;

pub(crate) async fn create_subscription(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let notification_url = body["notificationUrl"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let client_state = body["clientState"].as_str().map(str::to_owned);
    let expiration = body["expirationDateTime"]
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc));
    {
        let Ok(state) = shared.lock() else {
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        };
        if !state.authorized(ProviderKind::Microsoft, bearer(&headers)) {
            return unauthorized();
        }
    }
    let change_ok = body["changeType"].as_str().is_some_and(|c| {
        !c.is_empty()
            && c.split(',')
                .all(|t| matches!(t, "created" | "updated" | "deleted"))
    });
    let resource_ok = matches!(body["resource"].as_str(), Some("me/events" | "/me/events"));
    if !change_ok || !resource_ok || !loopback_or_https(&notification_url) {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "Invalid request.",
        );
    }
    if client_state.as_ref().is_some_and(|c| c.len() > 128) {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "clientState is too long.",
        );
    }
    let Some(expiration) = expiration else {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "expirationDateTime is required.",
        );
    };
    if expiration > Utc::now() + chrono::TimeDelta::minutes(MAX_MINUTES) {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "Subscription expiration can only be 4230 minutes in the future.",
        );
    }
    if !validate(&notification_url).await {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.",
        );
    }
    let Ok(mut state) = shared.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let id = uuid::Uuid::new_v4().to_string();
    let sub = Subscription {
        notification_url,
        client_state,
        expiration,
    };
    let body = subscription_json(&id, &sub);
    state.subscriptions.insert(id, sub);
    (StatusCode::CREATED, Json(body)).into_response()
}

/// Graph's validation request: POST `?validationToken=…` (URL-encoded), `text/plain`, and a
/// 200 `text/plain` answer echoing the token within 10 seconds.
async fn validate(notification_url: &str) -> bool {
    let token = format!(
        "Validation: Testing client application reachability for subscription Request-Id: {}",
        uuid::Uuid::new_v4()
    );
    let Ok(mut url) = url::Url::parse(notification_url) else {
        return false;
    };
    url.query_pairs_mut().append_pair("validationToken", &token);
    let Ok(client) = super::client(Duration::from_secs(10)) else {
        return false;
    };
    let Ok(resp) = client
        .post(url)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .send()
        .await
    else {
        return false;
    };
    let text_plain = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    resp.status() == StatusCode::OK && text_plain && resp.text().await.is_ok_and(|b| b == token)
}

pub(crate) async fn update_subscription(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let Ok(mut state) = shared.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if !state.authorized(ProviderKind::Microsoft, bearer(&headers)) {
        return unauthorized();
    }
    let expiration = body["expirationDateTime"]
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc));
    let Some(expiration) =
        expiration.filter(|e| *e <= Utc::now() + chrono::TimeDelta::minutes(MAX_MINUTES))
    else {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "Invalid expirationDateTime.",
        );
    };
    match state.subscriptions.get_mut(&id) {
        Some(sub) => {
            sub.expiration = expiration;
            let body = subscription_json(&id, sub);
            (StatusCode::OK, Json(body)).into_response()
        }
        None => error(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            "The object was not found.",
        ),
    }
}

pub(crate) async fn delete_subscription(
    State(shared): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let Ok(mut state) = shared.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if !state.authorized(ProviderKind::Microsoft, bearer(&headers)) {
        return unauthorized();
    }
    match state.subscriptions.remove(&id) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            "The object was not found.",
        ),
    }
}
