//! What the webhooks service takes and shows, and the checks on what it takes.

use meetvault_crypto::webhook::SigningSecret;
use meetvault_store::webhooks::{AttemptRow, DeliveryRow};
use url::Url;
use uuid::Uuid;
use zeroize::Zeroizing;

use super::catalog;
use crate::CoreError;
use crate::ids::{BotId, DeliveryId, WebhookId, WorkspaceId};

/// Longest description accepted.
const MAX_DESCRIPTION: usize = 500;

/// How an endpoint signs: `hmac` (`whsec_`, `v1`) or `ed25519` (`whsk_`/`whpk_`, `v1a`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signing {
    Hmac,
    Ed25519,
}

impl Signing {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hmac => "hmac",
            Self::Ed25519 => "ed25519",
        }
    }
    pub(crate) fn parse(s: &str) -> Self {
        if s == "ed25519" {
            Self::Ed25519
        } else {
            Self::Hmac
        }
    }
    pub(crate) fn generate(self) -> SigningSecret {
        match self {
            Self::Hmac => SigningSecret::generate_hmac(),
            Self::Ed25519 => SigningSecret::generate_ed25519(),
        }
    }
}

/// A new endpoint.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub url: String,
    pub description: Option<String>,
    /// Empty: every type that is not opt-in.
    pub event_types: Vec<String>,
    pub enabled: Option<bool>,
    pub include_content: Option<bool>,
    pub workspace_id: Option<WorkspaceId>,
    pub signing: Option<Signing>,
}

/// A change to an endpoint: absent fields stay (`workspace_id: Some(None)` clears it).
#[derive(Debug, Clone, Default)]
pub struct WebhookPatch {
    pub url: Option<String>,
    pub description: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub enabled: Option<bool>,
    pub include_content: Option<bool>,
    pub workspace_id: Option<Option<WorkspaceId>>,
}

/// An endpoint as its owner sees it (never its secret).
#[derive(Debug, Clone)]
pub struct WebhookView {
    pub id: WebhookId,
    pub url: String,
    pub description: String,
    pub event_types: Vec<String>,
    pub enabled: bool,
    pub include_content: bool,
    pub workspace_id: Option<WorkspaceId>,
    pub bot_id: Option<BotId>,
    pub signing: Signing,
    /// `whpk_…` of an Ed25519 endpoint: what receivers verify with.
    pub public_key: Option<String>,
    /// Why the server disabled it (410 Gone, days of failure).
    pub disabled_reason: Option<String>,
    /// Unix ms of the first failure since the last success.
    pub failing_since: Option<i64>,
    /// Until when (Unix ms) the previous secret still signs beside the current one.
    pub previous_secret_until: Option<i64>,
    pub pending_deliveries: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// An endpoint with its signing secret, shown once (creation, rotation): the shared `whsec_`
/// secret of an HMAC endpoint. An Ed25519 endpoint's signing key never leaves the server;
/// receivers verify with its public key (`WebhookView::public_key`).
#[derive(Debug)]
pub struct WebhookWithSecret {
    pub webhook: WebhookView,
    pub secret: Option<Zeroizing<String>>,
}

/// What the owner is shown of a new secret: the shared secret, never a private key.
pub(crate) fn shown(secret: &SigningSecret) -> Option<Zeroizing<String>> {
    match secret {
        SigningSecret::Hmac(_) => Some(secret.to_secret_string()),
        SigningSecret::Ed25519(_) => None,
    }
}

/// One attempt at a delivery.
#[derive(Debug, Clone)]
pub struct AttemptView {
    pub at: i64,
    pub status: Option<i32>,
    pub latency_ms: i64,
    pub excerpt: Option<String>,
    pub error: Option<String>,
    pub next_retry_at: Option<i64>,
    pub trigger: String,
}

/// A delivery: one event for one endpoint, and its attempts (on the single read).
#[derive(Debug, Clone)]
pub struct DeliveryView {
    pub id: DeliveryId,
    pub webhook_id: WebhookId,
    pub msg_id: String,
    pub event_type: String,
    pub state: String,
    pub attempts: i32,
    pub next_attempt_at: Option<i64>,
    pub last_status: Option<i32>,
    /// The body sent (none when it carries content: that stays sealed).
    pub payload: Option<serde_json::Value>,
    pub created_at: i64,
    pub updated_at: i64,
    pub attempt_log: Vec<AttemptView>,
}

/// A page of deliveries, newest first.
#[derive(Debug, Clone)]
pub struct DeliveryPage {
    pub deliveries: Vec<DeliveryView>,
    pub next_cursor: Option<String>,
}

/// Content goes only over HTTPS.
pub(crate) fn check_content_url(include_content: bool, url: &Url) -> Result<(), CoreError> {
    if include_content && url.scheme() != "https" {
        return Err(CoreError::invalid(
            "include_content",
            "transcript text is sent only to https:// URLs",
        ));
    }
    Ok(())
}

pub(crate) fn check_types(types: &[String]) -> Result<Vec<String>, CoreError> {
    let mut out: Vec<String> = Vec::new();
    for t in types {
        if !catalog::known(t) {
            let names: Vec<&str> = catalog::EVENT_TYPES.iter().map(|t| t.name).collect();
            return Err(CoreError::invalid(
                "event_types",
                format!(
                    "unknown event type {:?}; known: {}",
                    t.chars().take(60).collect::<String>(),
                    names.join(", ")
                ),
            ));
        }
        if !out.contains(t) {
            out.push(t.clone());
        }
    }
    Ok(out)
}

pub(crate) fn check_description(d: &str) -> Result<String, CoreError> {
    if d.chars().count() > MAX_DESCRIPTION {
        return Err(CoreError::invalid(
            "description",
            format!("is longer than {MAX_DESCRIPTION} characters"),
        ));
    }
    if d.chars().any(|c| c.is_control()) {
        return Err(CoreError::invalid(
            "description",
            "must not contain control characters",
        ));
    }
    Ok(d.to_owned())
}

pub(crate) fn parse_cursor(c: &str) -> Result<(i64, Uuid), CoreError> {
    let bad = || CoreError::invalid("cursor", "is not a cursor this API returned");
    let (at, id) = c.split_once('_').ok_or_else(bad)?;
    Ok((
        at.parse().map_err(|_| bad())?,
        Uuid::try_parse(id).map_err(|_| bad())?,
    ))
}

pub(crate) fn delivery_view(d: &DeliveryRow, attempt_log: Vec<AttemptView>) -> DeliveryView {
    DeliveryView {
        id: d.id.into(),
        webhook_id: d.endpoint_id.into(),
        msg_id: d.msg_id.clone(),
        event_type: d.event_type.clone(),
        state: d.state.clone(),
        attempts: d.attempts,
        next_attempt_at: (d.state == "pending").then_some(d.next_at),
        last_status: d.last_status,
        payload: if d.sealed {
            None
        } else {
            serde_json::from_slice(&d.body).ok()
        },
        created_at: d.created_at,
        updated_at: d.updated_at,
        attempt_log,
    }
}

pub(crate) fn attempt_view(a: AttemptRow) -> AttemptView {
    AttemptView {
        at: a.at,
        status: a.status,
        latency_ms: a.latency_ms,
        excerpt: a.excerpt,
        error: a.error,
        next_retry_at: a.next_retry_at,
        trigger: a.trigger,
    }
}
