//! Slack's Web API (`auth.test`, `chat.postMessage`, `conversations.history` with cursor
//! pagination and metadata) and incoming webhooks (`/services/T…/B…/…`), from
//! api.slack.com/methods and api.slack.com/messaging/webhooks. Web API errors are HTTP 200
//! with `{"ok": false, "error": code}`; a webhook answers plain text.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use std::collections::HashMap;

use super::{Shared, answer};

/// The secret path of the fake's incoming webhook (`/services/` + this).
pub const WEBHOOK_PATH: &str = "T0001/B0001/CANARYhookSecret42";

pub(crate) fn routes(r: Router<Shared>) -> Router<Shared> {
    r.route("/api/auth.test", post(auth_test))
        .route("/api/chat.postMessage", post(post_message))
        .route(
            "/api/conversations.history",
            axum::routing::get(history).post(history),
        )
        .route("/services/{t}/{b}/{secret}", post(webhook))
}

fn not_authed() -> Response {
    answer(200, json!({"ok": false, "error": "invalid_auth"}))
}

async fn auth_test(State(s): State<Shared>, headers: HeaderMap) -> Response {
    if !s.lock().bearer_ok(&headers) {
        return not_authed();
    }
    answer(
        200,
        json!({"ok": true, "url": "https://acme.slack.com/", "team": "Acme", "user": "meetvault",
               "team_id": "T0001", "user_id": "U0BOT", "bot_id": "B0001"}),
    )
}

async fn post_message(State(s): State<Shared>, headers: HeaderMap, body: String) -> Response {
    let mut st = s.lock();
    if !st.bearer_ok(&headers) {
        return not_authed();
    }
    let Ok(v) = serde_json::from_str::<Value>(&body) else {
        return answer(200, json!({"ok": false, "error": "invalid_json"}));
    };
    let Some(channel) = v["channel"].as_str().map(str::to_owned) else {
        return answer(200, json!({"ok": false, "error": "channel_not_found"}));
    };
    if v["text"].as_str().is_none_or(str::is_empty) && v["blocks"].as_array().is_none() {
        return answer(200, json!({"ok": false, "error": "no_text"}));
    }
    let n = st.id();
    let ts = format!("1733400000.{n:06}");
    let mut message = json!({"type": "message", "ts": ts, "channel": channel, "text": v["text"], "blocks": v["blocks"]});
    if v["metadata"].is_object() {
        message["metadata"] = v["metadata"].clone();
    }
    st.created.push(message.clone());
    answer(
        200,
        json!({"ok": true, "channel": channel, "ts": ts, "message": message}),
    )
}

async fn history(
    State(s): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let st = s.lock();
    if !st.bearer_ok(&headers) {
        return not_authed();
    }
    let Some(channel) = q.get("channel") else {
        return answer(200, json!({"ok": false, "error": "channel_not_found"}));
    };
    let with_metadata = q.get("include_all_metadata").is_some_and(|v| v == "true");
    // Newest first, like Slack.
    let mut all: Vec<Value> = st
        .created
        .iter()
        .filter(|m| m["channel"] == channel.as_str())
        .cloned()
        .collect();
    all.reverse();
    let start: usize = q
        .get("cursor")
        .and_then(|c| c.strip_prefix("next_"))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let limit = st.page_size;
    let page: Vec<Value> = all
        .iter()
        .skip(start)
        .take(limit)
        .map(|m| {
            let mut m = m.clone();
            if !with_metadata && let Some(o) = m.as_object_mut() {
                o.remove("metadata");
            }
            m
        })
        .collect();
    let more = start + limit < all.len();
    answer(
        200,
        json!({"ok": true, "messages": page, "has_more": more,
               "response_metadata": {"next_cursor": if more { format!("next_{}", start + limit) } else { String::new() }}}),
    )
}

async fn webhook(
    State(s): State<Shared>,
    Path((t, b, secret)): Path<(String, String, String)>,
    body: String,
) -> Response {
    if format!("{t}/{b}/{secret}") != WEBHOOK_PATH {
        return (axum::http::StatusCode::NOT_FOUND, "no_service").into_response();
    }
    let Ok(v) = serde_json::from_str::<Value>(&body) else {
        return (axum::http::StatusCode::BAD_REQUEST, "invalid_payload").into_response();
    };
    if v["text"].as_str().is_none_or(str::is_empty) && v["blocks"].as_array().is_none() {
        return (axum::http::StatusCode::BAD_REQUEST, "no_text").into_response();
    }
    let mut st = s.lock();
    st.created.push(
        json!({"type": "message", "via": "webhook", "text": v["text"], "blocks": v["blocks"]}),
    );
    (axum::http::StatusCode::OK, "ok").into_response()
}
