//! Google push notifications: opening a channel (`events.watch`), closing it
//! (`channels.stop`), and reading what Google POSTs to the address. The first message on a
//! channel has `X-Goog-Resource-State: sync` (answer 200, do nothing); `exists` and
//! `not_exists` mean something changed (answer 200, run a sync). The notification carries no
//! event data, only headers.

use chrono::{DateTime, TimeDelta, TimeZone as _, Utc};
use http::{HeaderMap, Method};
use url::Url;

use crate::api;
use crate::error::CalendarError;
use crate::http::{Http, HttpRequest};
use crate::provider::Provider;
use crate::push::{PushError, PushSecret, check_address};
use crate::secret::SecretString;

/// The longest channel life we ask for (Google may grant less; it says so in the answer).
pub const MAX_CHANNEL_TTL: TimeDelta = TimeDelta::days(7);

/// An open channel: store it to stop it later and to know when to renew (open a new one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoogleChannel {
    /// Our id for it (a UUID), echoed in `X-Goog-Channel-ID`.
    pub id: String,
    /// Google's id of the watched resource, needed to stop the channel.
    pub resource_id: String,
    /// When Google stops sending.
    pub expires_at: DateTime<Utc>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChannelResponse {
    id: String,
    resource_id: String,
    expiration: Option<serde_json::Value>,
}

/// Opens a channel on the primary calendar's events that POSTs to `address`.
pub async fn watch(
    http: &dyn Http,
    provider: &Provider,
    access_token: &SecretString,
    address: &Url,
    secret: &PushSecret,
    ttl: TimeDelta,
    now: DateTime<Utc>,
) -> Result<GoogleChannel, CalendarError> {
    check_address(address)?;
    let id = uuid::Uuid::new_v4().to_string();
    let token = secret.google_channel_token(&id);
    let requested = now + ttl.clamp(TimeDelta::minutes(5), MAX_CHANNEL_TTL);
    let body = serde_json::json!({
        "id": id,
        "type": "web_hook",
        "address": address.as_str(),
        "token": token.expose(),
        "expiration": requested.timestamp_millis(),
    });
    let url = provider
        .endpoints
        .api_url("/calendars/primary/events/watch")?;
    let resp = api::send_ok(
        http,
        HttpRequest::new(Method::POST, url)
            .bearer(access_token)
            .json(&body),
    )
    .await?;
    let channel: ChannelResponse = api::json(&resp, "a channel")?;
    if channel.id != id || channel.resource_id.is_empty() || channel.resource_id.len() > 1024 {
        return Err(CalendarError::InvalidResponse("a channel"));
    }
    // `expiration` is an int64 in milliseconds, which Google's JSON sends as a string.
    let millis = match channel.expiration {
        Some(serde_json::Value::String(s)) => s.parse::<i64>().ok(),
        Some(serde_json::Value::Number(n)) => n.as_i64(),
        _ => None,
    };
    let expires_at = millis
        .and_then(|ms| Utc.timestamp_millis_opt(ms).single())
        .unwrap_or(requested);
    Ok(GoogleChannel {
        id,
        resource_id: channel.resource_id,
        expires_at,
    })
}

/// Stops a channel. A channel Google no longer knows (404) counts as stopped.
pub async fn stop(
    http: &dyn Http,
    provider: &Provider,
    access_token: &SecretString,
    channel: &GoogleChannel,
) -> Result<(), CalendarError> {
    let url = provider.endpoints.api_url("/channels/stop")?;
    let body = serde_json::json!({"id": channel.id, "resourceId": channel.resource_id});
    let resp = http
        .send(
            HttpRequest::new(Method::POST, url)
                .bearer(access_token)
                .json(&body),
        )
        .await?;
    if resp.status.is_success() || resp.status == http::StatusCode::NOT_FOUND {
        Ok(())
    } else {
        Err(api::status_error(&resp))
    }
}

/// `X-Goog-Resource-State`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceState {
    /// The handshake after `watch`: answer 200 and do nothing.
    Sync,
    /// A resource was created or changed.
    Exists,
    /// A resource was deleted.
    NotExists,
}

impl ResourceState {
    /// Whether this notification should trigger a sync.
    pub fn triggers_sync(self) -> bool {
        !matches!(self, Self::Sync)
    }
}

/// A verified notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoogleNotice {
    /// `X-Goog-Channel-ID`: find the connection by it.
    pub channel_id: String,
    /// `X-Goog-Resource-ID`.
    pub resource_id: Option<String>,
    /// `X-Goog-Resource-State`.
    pub state: ResourceState,
    /// `X-Goog-Message-Number`: increases per channel (`sync` is 1); a number not above the
    /// last one seen is a replay and can be ignored.
    pub message_number: u64,
}

fn header<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<&'a str, PushError> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= 1024)
        .ok_or(PushError::Missing(name))
}

/// Verifies a notification's headers: the channel token must be the one [`PushSecret`]
/// derives for the channel id (compared in constant time). The caller still checks that the
/// channel id belongs to a live connection.
pub fn verify_notification(
    headers: &HeaderMap,
    secret: &PushSecret,
) -> Result<GoogleNotice, PushError> {
    let channel_id = header(headers, "x-goog-channel-id")?;
    let token = header(headers, "x-goog-channel-token")?;
    if !secret.google_channel_token(channel_id).ct_eq_str(token) {
        return Err(PushError::BadToken);
    }
    let state = match header(headers, "x-goog-resource-state")? {
        "sync" => ResourceState::Sync,
        "exists" => ResourceState::Exists,
        "not_exists" => ResourceState::NotExists,
        _ => return Err(PushError::Malformed),
    };
    let message_number = header(headers, "x-goog-message-number")?
        .parse()
        .map_err(|_| PushError::Malformed)?;
    Ok(GoogleNotice {
        channel_id: channel_id.to_owned(),
        resource_id: header(headers, "x-goog-resource-id")
            .ok()
            .map(str::to_owned),
        state,
        message_number,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn handshake_and_change_notifications_verify() {
        let secret = PushSecret::from_bytes([1; 32]);
        let token = secret.google_channel_token("c1");
        let sync = verify_notification(
            &headers(&[
                ("X-Goog-Channel-ID", "c1"),
                ("X-Goog-Channel-Token", token.expose()),
                ("X-Goog-Resource-State", "sync"),
                ("X-Goog-Message-Number", "1"),
                ("X-Goog-Resource-ID", "ret08u3rv24htgh289g"),
            ]),
            &secret,
        )
        .unwrap();
        assert_eq!(sync.state, ResourceState::Sync);
        assert!(!sync.state.triggers_sync());
        let exists = verify_notification(
            &headers(&[
                ("X-Goog-Channel-ID", "c1"),
                ("X-Goog-Channel-Token", token.expose()),
                ("X-Goog-Resource-State", "exists"),
                ("X-Goog-Message-Number", "2"),
            ]),
            &secret,
        )
        .unwrap();
        assert!(exists.state.triggers_sync());
        assert_eq!(exists.message_number, 2);
    }

    #[test]
    fn wrong_token_other_channel_or_missing_headers_are_refused() {
        let secret = PushSecret::from_bytes([1; 32]);
        let token = secret.google_channel_token("c1");
        let base = |id: &str, tok: &str| {
            headers(&[
                ("X-Goog-Channel-ID", id),
                ("X-Goog-Channel-Token", tok),
                ("X-Goog-Resource-State", "exists"),
                ("X-Goog-Message-Number", "3"),
            ])
        };
        assert_eq!(
            verify_notification(&base("c1", "nope"), &secret),
            Err(PushError::BadToken)
        );
        assert_eq!(
            verify_notification(&base("c2", token.expose()), &secret),
            Err(PushError::BadToken)
        );
        let other = PushSecret::from_bytes([2; 32]);
        assert_eq!(
            verify_notification(&base("c1", token.expose()), &other),
            Err(PushError::BadToken)
        );
        assert_eq!(
            verify_notification(&headers(&[("X-Goog-Channel-ID", "c1")]), &secret),
            Err(PushError::Missing("x-goog-channel-token"))
        );
    }
}
