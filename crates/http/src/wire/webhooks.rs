//! Webhook endpoints, their deliveries and attempts, and the messages meetvault sends (the
//! OpenAPI document's `webhooks` section, built in `document.rs` from
//! `meetvault_core::webhooks::catalog`).

use chrono::{DateTime, Utc};
use meetvault_core::ids::{BotId, DeliveryId, WebhookId, WorkspaceId};
use meetvault_core::webhooks::{
    self as core, AttemptView, DeliveryPage as CoreDeliveryPage, DeliveryView, Signing,
    WebhookView, WebhookWithSecret,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ids;
use super::list_of;

fn time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// How the endpoint signs its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum WebhookSigning {
    /// HMAC-SHA256 with a shared `whsec_` secret; signatures `v1,…`.
    Hmac,
    /// Ed25519; the signing key never leaves the server, receivers verify with `public_key`
    /// (`whpk_`); signatures `v1a,…`.
    Ed25519,
}

impl From<WebhookSigning> for Signing {
    fn from(s: WebhookSigning) -> Self {
        match s {
            WebhookSigning::Hmac => Self::Hmac,
            WebhookSigning::Ed25519 => Self::Ed25519,
        }
    }
}

impl From<Signing> for WebhookSigning {
    fn from(s: Signing) -> Self {
        match s {
            Signing::Hmac => Self::Hmac,
            Signing::Ed25519 => Self::Ed25519,
        }
    }
}

/// A new endpoint.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"url": "https://hooks.example.com/meetvault", "event_types": ["bot.done", "transcript.ready"], "description": "CRM sync"}))]
pub struct NewWebhook {
    /// `https://…` whose host resolves only to public addresses (plain `http` and private
    /// addresses only for hosts the operator allow-listed in `outbound.allow_hosts`).
    pub url: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Event types to send; empty or absent: every type that is not opt-in
    /// (`transcript.partial` is).
    #[serde(default)]
    pub event_types: Vec<String>,
    /// Default true.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Send transcript text in `transcript.partial` (https URLs only). Default false: ids,
    /// states and links only.
    #[serde(default)]
    pub include_content: Option<bool>,
    /// `wsp_…`: only events of this workspace's meetings.
    #[serde(default)]
    #[schema(value_type = Option<ids::WorkspaceId>)]
    pub workspace_id: Option<WorkspaceId>,
    /// Default `hmac`.
    #[serde(default)]
    pub signing: Option<WebhookSigning>,
}

impl From<NewWebhook> for core::NewWebhook {
    fn from(w: NewWebhook) -> Self {
        Self {
            url: w.url,
            description: w.description,
            event_types: w.event_types,
            enabled: w.enabled,
            include_content: w.include_content,
            workspace_id: w.workspace_id,
            signing: w.signing.map(Into::into),
        }
    }
}

/// A change: absent fields stay; `workspace_id: null` makes it org-wide.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub event_types: Option<Vec<String>>,
    /// `true` re-enables an endpoint the server disabled (its pending deliveries resume).
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub include_content: Option<bool>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<ids::WorkspaceId>)]
    pub workspace_id: Option<Option<WorkspaceId>>,
}

impl From<WebhookPatch> for core::WebhookPatch {
    fn from(p: WebhookPatch) -> Self {
        Self {
            url: p.url,
            description: p.description,
            event_types: p.event_types,
            enabled: p.enabled,
            include_content: p.include_content,
            workspace_id: p.workspace_id,
        }
    }
}

/// An endpoint (never its secret).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Webhook {
    #[schema(value_type = ids::WebhookId)]
    pub id: WebhookId,
    pub url: String,
    pub description: String,
    /// Empty: every type that is not opt-in.
    pub event_types: Vec<String>,
    pub enabled: bool,
    pub include_content: bool,
    #[schema(value_type = Option<ids::WorkspaceId>)]
    pub workspace_id: Option<WorkspaceId>,
    /// Set for a bot's own `webhook_url`: only that bot's meeting's events.
    #[schema(value_type = Option<ids::BotId>)]
    pub bot_id: Option<BotId>,
    pub signing: WebhookSigning,
    /// `whpk_…` (Ed25519 endpoints): what receivers verify with.
    pub public_key: Option<String>,
    /// Why the server disabled it (410 Gone, days of failure).
    pub disabled_reason: Option<String>,
    /// The first failure since the last success; none while healthy.
    pub failing_since: Option<DateTime<Utc>>,
    /// Until when the previous secret still signs beside the current one (after a rotation).
    pub previous_secret_until: Option<DateTime<Utc>>,
    /// Deliveries waiting to be sent.
    pub pending_deliveries: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<WebhookView> for Webhook {
    fn from(v: WebhookView) -> Self {
        Self {
            id: v.id,
            url: v.url,
            description: v.description,
            event_types: v.event_types,
            enabled: v.enabled,
            include_content: v.include_content,
            workspace_id: v.workspace_id,
            bot_id: v.bot_id,
            signing: v.signing.into(),
            public_key: v.public_key,
            disabled_reason: v.disabled_reason,
            failing_since: v.failing_since.map(time),
            previous_secret_until: v.previous_secret_until.map(time),
            pending_deliveries: v.pending_deliveries,
            created_at: time(v.created_at),
            updated_at: time(v.updated_at),
        }
    }
}

list_of!(WebhookList { webhooks: Vec<Webhook> } from WebhookView);

/// An endpoint and its signing secret: shown this once (creation, rotation); store it where
/// your receiver can read it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookCreated {
    pub webhook: Webhook,
    /// `whsec_…`: what receivers of an HMAC endpoint verify with. Absent for an Ed25519
    /// endpoint, whose signing key never leaves the server: verify with `webhook.public_key`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl From<WebhookWithSecret> for WebhookCreated {
    fn from(w: WebhookWithSecret) -> Self {
        Self {
            webhook: w.webhook.into(),
            secret: w.secret.map(|s| s.to_string()),
        }
    }
}

/// One attempt at a delivery.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeliveryAttempt {
    pub at: DateTime<Utc>,
    /// The receiver's HTTP status; none when no answer came (see `error`).
    pub status: Option<i32>,
    pub latency_ms: i64,
    /// The start of the response body (at most 1 KiB; our secrets removed).
    pub excerpt: Option<String>,
    /// Why no answer came (refused by the URL rules, timed out, could not connect).
    pub error: Option<String>,
    /// When the next try is, if there is one.
    pub next_retry_at: Option<DateTime<Utc>>,
    /// `scheduled`, `redeliver` or `test`.
    pub trigger: String,
}

impl From<AttemptView> for DeliveryAttempt {
    fn from(a: AttemptView) -> Self {
        Self {
            at: time(a.at),
            status: a.status,
            latency_ms: a.latency_ms,
            excerpt: a.excerpt,
            error: a.error,
            next_retry_at: a.next_retry_at.map(time),
            trigger: a.trigger,
        }
    }
}

/// One event for one endpoint.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Delivery {
    #[schema(value_type = ids::DeliveryId)]
    pub id: DeliveryId,
    #[schema(value_type = ids::WebhookId)]
    pub webhook_id: WebhookId,
    /// The `webhook-id` header: the same for every attempt, so receivers can drop duplicates.
    pub msg_id: String,
    pub event_type: String,
    /// `pending`, `succeeded` or `failed`.
    pub state: String,
    pub attempts: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_status: Option<i32>,
    /// The body sent; absent when it carries transcript text (kept sealed).
    pub payload: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Every attempt, in order (on `GET …/deliveries/{id}` only).
    pub attempt_log: Vec<DeliveryAttempt>,
}

impl From<DeliveryView> for Delivery {
    fn from(d: DeliveryView) -> Self {
        Self {
            id: d.id,
            webhook_id: d.webhook_id,
            msg_id: d.msg_id,
            event_type: d.event_type,
            state: d.state,
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at.map(time),
            last_status: d.last_status,
            payload: d.payload,
            created_at: time(d.created_at),
            updated_at: time(d.updated_at),
            attempt_log: d.attempt_log.into_iter().map(Into::into).collect(),
        }
    }
}

/// A page of deliveries, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeliveryPage {
    pub deliveries: Vec<Delivery>,
    /// Pass as `cursor` for the next page; none on the last.
    pub next_cursor: Option<String>,
}

impl From<CoreDeliveryPage> for DeliveryPage {
    fn from(p: CoreDeliveryPage) -> Self {
        Self {
            deliveries: p.deliveries.into_iter().map(Into::into).collect(),
            next_cursor: p.next_cursor,
        }
    }
}

/// The body of every message meetvault sends (Standard Webhooks): signed with the
/// `webhook-id`, `webhook-timestamp` and `webhook-signature` headers.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookMessage {
    /// The event type (`bot.done`, …).
    #[serde(rename = "type")]
    pub event_type: String,
    /// When the event happened (RFC 3339).
    pub timestamp: DateTime<Utc>,
    /// Ids, states and links (transcript text only for `include_content` endpoints).
    pub data: serde_json::Value,
}
