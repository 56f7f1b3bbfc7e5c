//! Microsoft Graph change notifications: creating, renewing and deleting a subscription on
//! `me/events`, the validation handshake (Graph POSTs `?validationToken=…` to the notification
//! URL and wants it echoed as `text/plain` with 200 within 10 seconds), and reading the
//! notifications (answer 202 within 3 seconds; then sync). Notifications carry no event
//! content (we never ask for resource data), only ids and the `clientState` we set.

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use http::Method;
use url::Url;

use crate::api;
use crate::error::CalendarError;
use crate::http::{Http, HttpRequest};
use crate::provider::Provider;
use crate::push::{PushError, PushSecret, check_address};
use crate::secret::SecretString;

/// The longest subscription on Outlook events: 4,230 minutes (under three days) per the
/// subscription lifetime table of the Graph documentation we could read. Later revisions of
/// that table allow 10,080 minutes for notifications without resource data; 4,230 is valid
/// under both, so it is what we ask for.
pub const MAX_SUBSCRIPTION_MINUTES: i64 = 4230;
/// The resource we watch: events of the user's default calendar.
pub const RESOURCE: &str = "me/events";
/// The longest validation token we echo (Graph's are far shorter).
pub const MAX_VALIDATION_TOKEN_LEN: usize = 2048;
/// The largest notification body we read.
pub const MAX_NOTIFICATION_BYTES: usize = 1 << 20;

/// A subscription: store `id` with the connection to find it when notifications arrive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphSubscription {
    /// Graph's id.
    pub id: String,
    /// When it expires unless renewed.
    pub expires_at: DateTime<Utc>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubscriptionResponse {
    id: String,
    expiration_date_time: String,
}

fn expiry(now: DateTime<Utc>, ttl: TimeDelta) -> DateTime<Utc> {
    // A minute of margin under the maximum, for clock skew.
    now + ttl.clamp(
        TimeDelta::minutes(45),
        TimeDelta::minutes(MAX_SUBSCRIPTION_MINUTES - 1),
    )
}

fn read(resp: &crate::http::HttpResponse) -> Result<GraphSubscription, CalendarError> {
    let s: SubscriptionResponse = api::json(resp, "a subscription")?;
    let expires_at = DateTime::parse_from_rfc3339(&s.expiration_date_time)
        .map_err(|_| CalendarError::InvalidResponse("a subscription expiry"))?
        .with_timezone(&Utc);
    if !valid_id(&s.id) {
        return Err(CalendarError::InvalidResponse("a subscription id"));
    }
    Ok(GraphSubscription {
        id: s.id,
        expires_at,
    })
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Creates a subscription for created, updated and deleted events, notifying
/// `notification_url`. Graph validates the URL (see [`validation_response`]) before it
/// answers, so the receiver must be up.
pub async fn subscribe(
    http: &dyn Http,
    provider: &Provider,
    access_token: &SecretString,
    notification_url: &Url,
    client_state: &SecretString,
    ttl: TimeDelta,
    now: DateTime<Utc>,
) -> Result<GraphSubscription, CalendarError> {
    check_address(notification_url)?;
    if client_state.expose().is_empty() || client_state.expose().len() > 128 {
        return Err(CalendarError::Invalid("clientState is 1 to 128 characters"));
    }
    let body = serde_json::json!({
        "changeType": "created,updated,deleted",
        "notificationUrl": notification_url.as_str(),
        "resource": RESOURCE,
        "expirationDateTime": expiry(now, ttl).to_rfc3339_opts(SecondsFormat::Secs, true),
        "clientState": client_state.expose(),
        "latestSupportedTlsVersion": "v1_2",
    });
    let url = provider.endpoints.api_url("/subscriptions")?;
    let resp = api::send_ok(
        http,
        HttpRequest::new(Method::POST, url)
            .bearer(access_token)
            .json(&body),
    )
    .await?;
    read(&resp)
}

/// Extends a subscription (PATCH of `expirationDateTime`). A 404 means Graph dropped it:
/// subscribe again.
pub async fn renew(
    http: &dyn Http,
    provider: &Provider,
    access_token: &SecretString,
    subscription_id: &str,
    ttl: TimeDelta,
    now: DateTime<Utc>,
) -> Result<GraphSubscription, CalendarError> {
    if !valid_id(subscription_id) {
        return Err(CalendarError::Invalid("a subscription id"));
    }
    let url = provider
        .endpoints
        .api_url(&format!("/subscriptions/{subscription_id}"))?;
    let body = serde_json::json!({
        "expirationDateTime": expiry(now, ttl).to_rfc3339_opts(SecondsFormat::Secs, true),
    });
    let resp = api::send_ok(
        http,
        HttpRequest::new(Method::PATCH, url)
            .bearer(access_token)
            .json(&body),
    )
    .await?;
    read(&resp)
}

/// Deletes a subscription; one Graph no longer knows (404) counts as deleted.
pub async fn unsubscribe(
    http: &dyn Http,
    provider: &Provider,
    access_token: &SecretString,
    subscription_id: &str,
) -> Result<(), CalendarError> {
    if !valid_id(subscription_id) {
        return Err(CalendarError::Invalid("a subscription id"));
    }
    let url = provider
        .endpoints
        .api_url(&format!("/subscriptions/{subscription_id}"))?;
    let resp = http
        .send(HttpRequest::new(Method::DELETE, url).bearer(access_token))
        .await?;
    if resp.status.is_success() || resp.status == http::StatusCode::NOT_FOUND {
        Ok(())
    } else {
        Err(api::status_error(&resp))
    }
}

/// The validation handshake. Given the raw query string of a POST to the notification URL:
/// `None` if it carries no `validationToken` (a notification), else the body to answer with
/// 200 and `Content-Type: text/plain` — the decoded token, unescaped, as Graph requires.
pub fn validation_response(query: Option<&str>) -> Option<Result<String, PushError>> {
    let query = query?;
    let (_, token) =
        url::form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "validationToken")?;
    if token.len() > MAX_VALIDATION_TOKEN_LEN {
        return Some(Err(PushError::TooLong));
    }
    Some(Ok(token.into_owned()))
}

/// A lifecycle notification (sent to the same URL unless a separate one was registered).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LifecycleEvent {
    /// Graph removed the subscription: subscribe again, then sync.
    SubscriptionRemoved,
    /// Notifications were lost: sync.
    Missed,
    /// The subscription needs reauthorizing (`POST /subscriptions/{id}/reauthorize`) or
    /// renewing.
    ReauthorizationRequired,
    /// Something newer.
    Other(String),
}

/// One change notification, before verification of its `clientState`.
#[derive(Debug, Clone)]
pub struct GraphNotification {
    /// The subscription it belongs to: find the connection by it.
    pub subscription_id: String,
    /// `created`, `updated` or `deleted` (absent on lifecycle notifications).
    pub change_type: Option<String>,
    /// The changed event's id.
    pub resource_id: Option<String>,
    /// Set on lifecycle notifications.
    pub lifecycle: Option<LifecycleEvent>,
    /// The tenant the change happened in.
    pub tenant_id: Option<String>,
    client_state: Option<SecretString>,
}

impl GraphNotification {
    /// Whether its `clientState` is the one [`PushSecret`] derives for `binding` (constant
    /// time). Refuse the notification otherwise.
    pub fn verify(&self, secret: &PushSecret, binding: &str) -> bool {
        self.verify_client_state(&secret.graph_client_state(binding))
    }

    /// Whether its `clientState` equals `expected` (constant time).
    pub fn verify_client_state(&self, expected: &SecretString) -> bool {
        self.client_state
            .as_ref()
            .is_some_and(|cs| expected.ct_eq_str(cs.expose()))
    }
}

#[derive(serde::Deserialize)]
struct Collection {
    value: Vec<Item>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Item {
    subscription_id: String,
    change_type: Option<String>,
    client_state: Option<String>,
    tenant_id: Option<String>,
    lifecycle_event: Option<String>,
    resource_data: Option<ResourceData>,
}

#[derive(serde::Deserialize)]
struct ResourceData {
    id: Option<String>,
}

/// Reads a notification POST body (`{"value": [...]}`), bounded in size and count.
pub fn parse_notifications(body: &[u8]) -> Result<Vec<GraphNotification>, PushError> {
    if body.len() > MAX_NOTIFICATION_BYTES {
        return Err(PushError::Malformed);
    }
    let collection: Collection = serde_json::from_slice(body).map_err(|_| PushError::Malformed)?;
    if collection.value.is_empty() || collection.value.len() > 1000 {
        return Err(PushError::Malformed);
    }
    collection
        .value
        .into_iter()
        .map(|item| {
            if !valid_id(&item.subscription_id) {
                return Err(PushError::Missing("subscriptionId"));
            }
            Ok(GraphNotification {
                subscription_id: item.subscription_id,
                change_type: item.change_type,
                resource_id: item.resource_data.and_then(|d| d.id),
                lifecycle: item.lifecycle_event.map(|e| match e.as_str() {
                    "subscriptionRemoved" => LifecycleEvent::SubscriptionRemoved,
                    "missed" => LifecycleEvent::Missed,
                    "reauthorizationRequired" => LifecycleEvent::ReauthorizationRequired,
                    _ => LifecycleEvent::Other(crate::secret::bounded_text(&e, 64)),
                }),
                tenant_id: item.tenant_id,
                client_state: item.client_state.map(SecretString::new),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_echoes_the_decoded_token() {
        let q = "validationToken=Validation%3a+Testing+client+application+reachability+for+subscription+Request-Id%3a+6a4fd2a3-4c9c-4e0b-9f3c-2a0c3fbd1c1e";
        assert_eq!(
            validation_response(Some(q)),
            Some(Ok("Validation: Testing client application reachability for subscription Request-Id: 6a4fd2a3-4c9c-4e0b-9f3c-2a0c3fbd1c1e".into()))
        );
        assert_eq!(validation_response(Some("<script>=1")), None);
        assert_eq!(validation_response(None), None);
        let raw = validation_response(Some("validationToken=%3Cb%3E%26"))
            .unwrap()
            .unwrap();
        assert_eq!(raw, "<b>&");
        let long = format!(
            "validationToken={}",
            "a".repeat(MAX_VALIDATION_TOKEN_LEN + 1)
        );
        assert_eq!(
            validation_response(Some(&long)),
            Some(Err(PushError::TooLong))
        );
    }

    #[test]
    fn notifications_verify_their_client_state() {
        let secret = PushSecret::from_bytes([3; 32]);
        let state = secret.graph_client_state("conn-1");
        let body = serde_json::json!({"value": [{
            "subscriptionId": "7f105c7d-2dc5-4530-97cd-4e7ae6534c07",
            "subscriptionExpirationDateTime": "2024-05-03T11:00:00.0000000Z",
            "changeType": "updated",
            "resource": "Users/abc/Events/AAMkAGI=",
            "resourceData": {"@odata.type": "#Microsoft.Graph.Event", "@odata.id": "Users/abc/Events/AAMkAGI=", "@odata.etag": "W/\"x\"", "id": "AAMkAGI="},
            "clientState": state.expose(),
            "tenantId": "84bd8158-6d4d-4958-8b9f-9d6445542f95"
        }]});
        let n = parse_notifications(body.to_string().as_bytes()).unwrap();
        assert_eq!(n.len(), 1);
        assert!(n[0].verify(&secret, "conn-1"));
        assert!(!n[0].verify(&secret, "conn-2"));
        assert!(!n[0].verify(&PushSecret::from_bytes([4; 32]), "conn-1"));
        assert_eq!(n[0].resource_id.as_deref(), Some("AAMkAGI="));
        assert!(!format!("{:?}", n[0]).contains(state.expose()));
    }

    #[test]
    fn lifecycle_and_malformed_bodies() {
        let body = br#"{"value":[{"subscriptionId":"abc-1","lifecycleEvent":"missed","clientState":"x"}]}"#;
        let n = parse_notifications(body).unwrap();
        assert_eq!(n[0].lifecycle, Some(LifecycleEvent::Missed));
        assert!(!n[0].verify_client_state(&SecretString::new("y")));
        assert_eq!(
            parse_notifications(b"{}").unwrap_err(),
            PushError::Malformed
        );
        assert_eq!(
            parse_notifications(br#"{"value":[]}"#).unwrap_err(),
            PushError::Malformed
        );
        assert_eq!(
            parse_notifications(br#"{"value":[{"subscriptionId":"../x"}]}"#).unwrap_err(),
            PushError::Missing("subscriptionId")
        );
    }
}
