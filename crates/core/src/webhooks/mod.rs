//! Webhooks (`core.webhooks()`): endpoints an org registers, signed with Standard Webhooks v1,
//! fed from the event outbox (`dispatch.rs`), each delivery and every attempt at it kept as a
//! log its owner can read, redeliver and test. An endpoint's URL is checked against private and
//! internal targets when it is set (resolved, so a name that points inside is refused with a
//! 422) and again by the outbound client at every attempt. Its signing secret is sealed under the
//! org's key and shown once, at creation or rotation; a rotated-out secret keeps signing beside
//! the new one for `webhooks.previous_secret_secs`.

pub mod catalog;
mod dispatch;
mod model;

/// The Standard Webhooks signature scheme (for `meetvault webhook verify` and receivers in Rust).
pub use meetvault_crypto::webhook as standard;

pub use model::{
    AttemptView, DeliveryPage, DeliveryView, NewWebhook, Signing, WebhookPatch, WebhookView,
    WebhookWithSecret,
};
use model::{
    attempt_view, check_content_url, check_description, check_types, delivery_view, parse_cursor,
    shown,
};

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use meetvault_crypto::webhook::SigningSecret;
use meetvault_store::webhooks::{DeliveryRow, EndpointChange, EndpointRow};
use tokio::sync::Notify;
use url::Url;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::access::Scope;
use crate::access::proof::WebhooksManage;
use crate::audit::{AuditAction, Event};
use crate::ids::{DeliveryId, WebhookId};
use crate::{Core, CoreError};

/// Longest URL and description accepted.
const MAX_URL: usize = 2048;
/// Endpoints per org.
const MAX_ENDPOINTS: usize = 50;

/// What a new endpoint is, past its URL.
struct Endpoint {
    description: String,
    event_types: Vec<String>,
    enabled: bool,
    include_content: bool,
    workspace_id: Option<Uuid>,
    /// A bot's own endpoint: (bot, its meeting).
    bot: Option<(Uuid, Uuid)>,
    signing: Signing,
}

/// The webhooks service.
#[derive(Debug, Clone, Copy)]
pub struct Webhooks<'a> {
    pub(crate) core: &'a Core,
}

impl Webhooks<'_> {
    /// Stops this instance's fan-out and senders after what they are sending now (shutdown);
    /// deliveries left pending go to the next instance that runs.
    pub fn stop(self) {
        self.core
            .inner
            .webhooks
            .stopped
            .store(true, Ordering::SeqCst);
        self.core.inner.webhooks.wake();
    }

    /// Registers an endpoint; its secret is in the answer, once.
    pub async fn create(
        self,
        scope: &Scope<WebhooksManage>,
        new: &NewWebhook,
    ) -> Result<WebhookWithSecret, CoreError> {
        let org = scope.org_id().uuid();
        if self.core.db().webhook_endpoints(org, false).await?.len() >= MAX_ENDPOINTS {
            return Err(CoreError::Conflict(format!(
                "an org may register at most {MAX_ENDPOINTS} webhook endpoints; delete one first"
            )));
        }
        let url = self.check_url(&new.url).await?;
        let include_content = new.include_content.unwrap_or(false);
        check_content_url(include_content, &url)?;
        let event_types = check_types(&new.event_types)?;
        let description = check_description(new.description.as_deref().unwrap_or(""))?;
        if let Some(w) = new.workspace_id {
            self.core.check_workspace_field(org, w).await?;
        }
        let (row, secret) = self
            .insert(
                org,
                scope.user_id().uuid(),
                &url,
                Endpoint {
                    description,
                    event_types,
                    enabled: new.enabled.unwrap_or(true),
                    include_content,
                    workspace_id: new.workspace_id.map(|w| w.0),
                    bot: None,
                    signing: new.signing.unwrap_or(Signing::Hmac),
                },
            )
            .await?;
        self.core
            .audit(Event::by(scope, AuditAction::WebhookCreate).resource(WebhookId::from(row.id)))
            .await?;
        Ok(WebhookWithSecret {
            webhook: self.view(&row, &secret).await?,
            secret: shown(&secret),
        })
    }

    /// A bot's own endpoint (`webhook_url` at creation): every default event of the bot's
    /// meeting, signed with a secret of its own that the bot's creation answer shows once.
    /// Checked like any endpoint's URL; made before the bot, so it hears the bot's first state.
    pub(crate) async fn create_for_bot(
        self,
        scope: &Scope<crate::access::proof::BotsWrite>,
        bot: Uuid,
        meeting: Uuid,
        url: &str,
    ) -> Result<(WebhookId, Zeroizing<String>), CoreError> {
        let url = self.check_url(url).await.map_err(|e| match e {
            CoreError::Invalid { message, .. } => CoreError::invalid("webhook_url", message),
            other => other,
        })?;
        let org = scope.org_id().uuid();
        let (row, secret) = self
            .insert(
                org,
                scope.user_id().uuid(),
                &url,
                Endpoint {
                    description: "this bot's webhook_url".into(),
                    event_types: Vec::new(),
                    enabled: true,
                    include_content: false,
                    workspace_id: None,
                    bot: Some((bot, meeting)),
                    signing: Signing::Hmac,
                },
            )
            .await?;
        Ok((row.id.into(), secret.to_secret_string()))
    }

    async fn insert(
        self,
        org: Uuid,
        created_by: Uuid,
        url: &Url,
        e: Endpoint,
    ) -> Result<(EndpointRow, SigningSecret), CoreError> {
        let secret = e.signing.generate();
        let id = Uuid::new_v4();
        let now = meetvault_jobs::now_ms();
        let row = EndpointRow {
            id,
            org_id: org,
            workspace_id: e.workspace_id,
            bot_id: e.bot.map(|(b, _)| b),
            meeting_id: e.bot.map(|(_, m)| m),
            url: url.to_string(),
            description: e.description,
            event_types: serde_json::to_string(&e.event_types).map_err(CoreError::internal)?,
            enabled: e.enabled,
            include_content: e.include_content,
            signing: e.signing.as_str().into(),
            secret: self.seal_secret(org, id, &secret, "secret").await?,
            previous_secret: None,
            previous_until: None,
            disabled_reason: None,
            failing_since: None,
            next_at: now,
            lease_owner: None,
            lease_until: None,
            created_by: Some(created_by),
            created_at: now,
            updated_at: now,
        };
        self.core.db().insert_webhook_endpoint(&row).await?;
        Ok((row, secret))
    }

    /// The org's endpoints (a bot's own `webhook_url` endpoints included), oldest first.
    pub async fn list(self, scope: &Scope<WebhooksManage>) -> Result<Vec<WebhookView>, CoreError> {
        let org = scope.org_id().uuid();
        let mut out = Vec::new();
        for row in self.core.db().webhook_endpoints(org, true).await? {
            let secret = self.open_secret(&row, &row.secret, "secret").await?;
            out.push(self.view(&row, &secret).await?);
        }
        Ok(out)
    }

    pub async fn get(
        self,
        scope: &Scope<WebhooksManage>,
        id: WebhookId,
    ) -> Result<WebhookView, CoreError> {
        let row = self.row(scope, id).await?;
        let secret = self.open_secret(&row, &row.secret, "secret").await?;
        self.view(&row, &secret).await
    }

    /// Changes an endpoint; re-enabling one the server disabled clears its failure record.
    pub async fn update(
        self,
        scope: &Scope<WebhooksManage>,
        id: WebhookId,
        patch: &WebhookPatch,
    ) -> Result<WebhookView, CoreError> {
        let row = self.row(scope, id).await?;
        let url = match &patch.url {
            Some(u) => self.check_url(u).await?,
            None => Url::parse(&row.url).map_err(CoreError::internal)?,
        };
        let include_content = patch.include_content.unwrap_or(row.include_content);
        check_content_url(include_content, &url)?;
        let event_types = match &patch.event_types {
            Some(t) => serde_json::to_string(&check_types(t)?).map_err(CoreError::internal)?,
            None => row.event_types.clone(),
        };
        let description = match &patch.description {
            Some(d) => check_description(d)?,
            None => row.description.clone(),
        };
        let workspace_id = match patch.workspace_id {
            Some(Some(w)) => {
                self.core.check_workspace_field(row.org_id, w).await?;
                Some(w.0)
            }
            Some(None) => None,
            None => row.workspace_id,
        };
        let enabled = patch.enabled.unwrap_or(row.enabled);
        let change = EndpointChange {
            url: url.to_string(),
            description,
            event_types,
            enabled,
            include_content,
            workspace_id,
            // Enabling it again is its owner's answer to the reason.
            disabled_reason: if enabled {
                None
            } else {
                row.disabled_reason.clone()
            },
            updated_at: meetvault_jobs::now_ms(),
        };
        if !self
            .core
            .db()
            .update_webhook_endpoint(row.org_id, row.id, &change)
            .await?
        {
            return Err(CoreError::NotFound("webhook"));
        }
        self.core
            .audit(Event::by(scope, AuditAction::WebhookUpdate).resource(id))
            .await?;
        self.core.inner.webhooks.wake();
        self.get(scope, id).await
    }

    /// Deletes an endpoint, its deliveries and their log.
    pub async fn delete(
        self,
        scope: &Scope<WebhooksManage>,
        id: WebhookId,
    ) -> Result<(), CoreError> {
        let row = self.row(scope, id).await?;
        self.core
            .db()
            .delete_webhook_endpoint(row.org_id, row.id)
            .await?;
        self.core
            .audit(Event::by(scope, AuditAction::WebhookDelete).resource(id))
            .await?;
        Ok(())
    }

    /// A new signing secret; the old one keeps signing beside it for
    /// `webhooks.previous_secret_secs` (24 hours by default), so receivers can switch over.
    pub async fn rotate_secret(
        self,
        scope: &Scope<WebhooksManage>,
        id: WebhookId,
    ) -> Result<WebhookWithSecret, CoreError> {
        let row = self.row(scope, id).await?;
        let old = self.open_secret(&row, &row.secret, "secret").await?;
        let signing = Signing::parse(&row.signing);
        let secret = signing.generate();
        let now = meetvault_jobs::now_ms();
        let until = now
            + i64::try_from(self.core.config().webhooks.previous_secret_secs)
                .unwrap_or(i64::MAX / 2_000)
                * 1000;
        let sealed = self
            .seal_secret(row.org_id, row.id, &secret, "secret")
            .await?;
        let previous = self
            .seal_secret(row.org_id, row.id, &old, "previous_secret")
            .await?;
        if !self
            .core
            .db()
            .rotate_webhook_secret(row.org_id, row.id, &sealed, &previous, until, now)
            .await?
        {
            return Err(CoreError::NotFound("webhook"));
        }
        self.core
            .audit(Event::by(scope, AuditAction::WebhookRotateSecret).resource(id))
            .await?;
        let row = self.row(scope, id).await?;
        Ok(WebhookWithSecret {
            webhook: self.view(&row, &secret).await?,
            secret: shown(&secret),
        })
    }

    /// An endpoint's deliveries, newest first, a page at a time.
    pub async fn deliveries(
        self,
        scope: &Scope<WebhooksManage>,
        id: WebhookId,
        cursor: Option<&str>,
        limit: Option<u32>,
    ) -> Result<DeliveryPage, CoreError> {
        let row = self.row(scope, id).await?;
        let limit = i64::from(limit.unwrap_or(50));
        if !(1..=200).contains(&limit) {
            return Err(CoreError::invalid("limit", "must be 1–200"));
        }
        let before = cursor.map(parse_cursor).transpose()?;
        let rows = self
            .core
            .db()
            .webhook_deliveries(row.org_id, row.id, before, limit)
            .await?;
        let next_cursor = (rows.len() as i64 == limit)
            .then(|| {
                rows.last()
                    .map(|d| format!("{}_{}", d.created_at, d.id.simple()))
            })
            .flatten();
        Ok(DeliveryPage {
            deliveries: rows.iter().map(|d| delivery_view(d, Vec::new())).collect(),
            next_cursor,
        })
    }

    /// One delivery with every attempt at it.
    pub async fn delivery(
        self,
        scope: &Scope<WebhooksManage>,
        id: WebhookId,
        delivery: DeliveryId,
    ) -> Result<DeliveryView, CoreError> {
        let row = self.row(scope, id).await?;
        let d = self
            .core
            .db()
            .webhook_delivery(row.org_id, row.id, delivery.0)
            .await?
            .ok_or(CoreError::NotFound("delivery"))?;
        let attempts = self.core.db().webhook_attempts(row.org_id, d.id).await?;
        Ok(delivery_view(
            &d,
            attempts.into_iter().map(attempt_view).collect(),
        ))
    }

    /// Sends a delivery again, now, with the same `webhook-id` (a receiver that has it drops it).
    pub async fn redeliver(
        self,
        scope: &Scope<WebhooksManage>,
        id: WebhookId,
        delivery: DeliveryId,
    ) -> Result<DeliveryView, CoreError> {
        let row = self.enabled_row(scope, id).await?;
        let now = meetvault_jobs::now_ms();
        if !self
            .core
            .db()
            .requeue_webhook_delivery(row.org_id, row.id, delivery.0, now)
            .await?
        {
            return Err(CoreError::NotFound("delivery"));
        }
        self.core
            .audit(Event::by(scope, AuditAction::WebhookRedeliver).resource(delivery))
            .await?;
        self.core.inner.webhooks.wake();
        self.delivery(scope, id, delivery).await
    }

    /// Queues a `webhook.test` message to the endpoint, ahead of anything waiting.
    pub async fn test(
        self,
        scope: &Scope<WebhooksManage>,
        id: WebhookId,
    ) -> Result<DeliveryView, CoreError> {
        let row = self.enabled_row(scope, id).await?;
        let now = meetvault_jobs::now_ms();
        let delivery = DeliveryId::new();
        let body = dispatch::body(
            catalog::TEST_TYPE,
            now,
            &serde_json::json!({ "webhook_id": id, "message": "A test message from meetvault." }),
        );
        let d = DeliveryRow {
            id: delivery.0,
            org_id: row.org_id,
            endpoint_id: row.id,
            msg_id: format!("msg_{}", delivery.0.simple()),
            event_type: catalog::TEST_TYPE.into(),
            // Ahead of the queue: a test answers now, whatever waits.
            event_seq: 0,
            meeting_id: None,
            body,
            sealed: false,
            state: "pending".into(),
            attempts: 0,
            next_at: now,
            last_status: None,
            created_at: now,
            updated_at: now,
            redeliver: false,
        };
        self.core.db().insert_webhook_delivery(&d).await?;
        self.core
            .audit(Event::by(scope, AuditAction::WebhookTest).resource(id))
            .await?;
        self.core.inner.webhooks.wake();
        Ok(delivery_view(&d, Vec::new()))
    }

    /// The endpoint, if it is enabled (a redelivery or a test of a disabled one is a 409).
    async fn enabled_row(
        self,
        scope: &Scope<WebhooksManage>,
        id: WebhookId,
    ) -> Result<EndpointRow, CoreError> {
        let row = self.row(scope, id).await?;
        if !row.enabled {
            return Err(CoreError::Conflict(
                "the endpoint is disabled; enable it (PATCH enabled: true) first".into(),
            ));
        }
        Ok(row)
    }

    async fn row(
        self,
        scope: &Scope<WebhooksManage>,
        id: WebhookId,
    ) -> Result<EndpointRow, CoreError> {
        self.core
            .db()
            .webhook_endpoint(scope.org_id().uuid(), id.0)
            .await?
            .ok_or(CoreError::NotFound("webhook"))
    }

    /// The URL rules: parsed, `https` (or allow-listed), no credentials, and every address its
    /// name resolves to public (or allow-listed). Refusals are 422s naming the rule.
    async fn check_url(self, raw: &str) -> Result<Url, CoreError> {
        if raw.len() > MAX_URL {
            return Err(CoreError::invalid(
                "url",
                format!("is longer than {MAX_URL} characters"),
            ));
        }
        let url = Url::parse(raw.trim())
            .map_err(|e| CoreError::invalid("url", format!("is not a URL ({e})")))?;
        if url.fragment().is_some() {
            return Err(CoreError::invalid("url", "must not have a #fragment"));
        }
        self.core
            .outbound()
            .resolve(&url)
            .await
            .map_err(|e| CoreError::invalid("url", e.to_string()))?;
        Ok(url)
    }

    async fn seal_secret(
        self,
        org: Uuid,
        id: Uuid,
        secret: &SigningSecret,
        field: &'static str,
    ) -> Result<Vec<u8>, CoreError> {
        self.core
            .seal_org_field(
                org,
                "webhook_endpoints",
                id,
                field,
                secret.to_secret_string().as_bytes(),
            )
            .await
    }

    pub(crate) async fn open_secret(
        self,
        row: &EndpointRow,
        sealed: &[u8],
        field: &'static str,
    ) -> Result<SigningSecret, CoreError> {
        let plain = self
            .core
            .open_org_field(row.org_id, "webhook_endpoints", row.id, field, sealed)
            .await?;
        let text = std::str::from_utf8(&plain)
            .map_err(|_| CoreError::Integrity("webhook secret is not UTF-8".into()))?;
        SigningSecret::parse(text).map_err(|e| CoreError::Integrity(format!("webhook secret: {e}")))
    }

    async fn view(
        self,
        row: &EndpointRow,
        secret: &SigningSecret,
    ) -> Result<WebhookView, CoreError> {
        let now = meetvault_jobs::now_ms();
        Ok(WebhookView {
            id: row.id.into(),
            url: row.url.clone(),
            description: row.description.clone(),
            event_types: serde_json::from_str(&row.event_types).unwrap_or_default(),
            enabled: row.enabled,
            include_content: row.include_content,
            workspace_id: row.workspace_id.map(Into::into),
            bot_id: row.bot_id.map(Into::into),
            signing: Signing::parse(&row.signing),
            public_key: secret.public_string(),
            disabled_reason: row.disabled_reason.clone(),
            failing_since: row.failing_since,
            previous_secret_until: row.previous_until.filter(|u| *u > now),
            pending_deliveries: self
                .core
                .db()
                .pending_webhook_deliveries(row.org_id, row.id)
                .await?,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// This instance's webhook machinery: the wake-up the senders wait on, and their stop.
#[derive(Debug, Default)]
pub(crate) struct Hub {
    pub(crate) notify: Arc<Notify>,
    stopped: AtomicBool,
}

impl Hub {
    pub(crate) fn wake(&self) {
        self.notify.notify_waiters();
    }

    pub(crate) fn stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }
}
