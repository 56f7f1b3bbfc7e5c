//! Sending one item (`integrations.send`, a durable job per item). Only a `queued` item goes:
//! an item waiting for approval, rejected or sent already is left alone, and the attempt is
//! recorded only while the item is still queued (one transaction with its new state). Before
//! the request: the org's own rate limit at that provider (`integrations.requests_per_minute`,
//! so one customer cannot spend a provider's quota for everyone), and an OAuth access token
//! near its expiry is refreshed with the operator's app and stored sealed again. The request
//! goes through the outbound client (the SSRF rules, again at every call). A provider's 429
//! waits its `Retry-After`; 5xx and transport failures back off; a refused credential is
//! refreshed once (OAuth) or marks the connection broken, its items waiting for a reconnect;
//! any other refusal fails the item. A retry asks the provider for the item's key first, so a
//! lost answer never makes a second issue or task.

use std::time::{Duration, Instant};

use meetvault_integrations::{Credential, IntegrationError, Kind, OAuthApp, SecretString};
use meetvault_jobs::{Handler, Job, JobContext, JobError};
use meetvault_ratelimit::{Decision, Quota};
use meetvault_store::integrations::{AttemptRow, IntegrationRow, ItemOutcome, ItemRow};
use uuid::Uuid;

use super::model::{credential_expiry, credential_hint, credential_kind};
use super::propose::to_job;
use super::{kind_of, target_row};
use crate::access::Actor;
use crate::audit::{AuditAction, Event, Outcome};
use crate::calendar::net::OutboundHttp;
use crate::ids::{IntegrationId, IntegrationItemId};
use crate::{Core, CoreError};
use meetvault_store::integrations::CredentialChange;

/// The send job's kind.
pub const SEND_KIND: &str = "integrations.send";

impl Core {
    async fn send_item(&self, job: &Job) -> Result<(), JobError> {
        let last = job.attempts >= job.max_attempts;
        let org = job
            .org_id
            .ok_or_else(|| JobError::Permanent("the job names no org".into()))?;
        let id: Uuid = serde_json::from_str::<serde_json::Value>(&job.payload)
            .ok()
            .and_then(|v| v["item"].as_str().and_then(|s| s.parse().ok()))
            .ok_or_else(|| JobError::Permanent("the payload names no item".into()))?;
        let Some(item) = self.db().integration_item(org, id).await.map_err(retry)? else {
            return Ok(());
        };
        if item.state != "queued" {
            return Ok(());
        }
        let Some(c) = self
            .db()
            .integration(org, item.integration_id)
            .await
            .map_err(retry)?
        else {
            return Ok(());
        };
        if !c.enabled || c.status != "active" {
            // Sent once the connection is enabled or reconnected (which queues it again).
            return Ok(());
        }
        let kind = kind_of(&c).map_err(to_job)?;
        let max = self.config().integrations.max_attempts;
        if u32::try_from(item.attempts).unwrap_or(0) >= max {
            self.db()
                .fail_integration_item(org, id, "gave up after the configured attempts", now())
                .await
                .map_err(retry)?;
            return Ok(());
        }
        // The org's own share of the provider.
        let quota = Quota::per_period(
            self.config().integrations.requests_per_minute,
            Duration::from_secs(60),
        );
        let key = format!("integrations:{org}:{}", kind.as_str());
        match self.limiter().check(&key, quota).await {
            Ok(Decision::Allowed) => {}
            Ok(Decision::Limited { retry_after }) => {
                // Our own wait: no attempt is spent and none is logged.
                return Err(JobError::Defer(
                    "waiting for this org's rate limit at the provider".into(),
                    retry_after,
                ));
            }
            Err(e) => return Err(JobError::Retryable(format!("rate limiter: {e}"))),
        }
        let content = match self.open_item(&item).await {
            Ok(c) => c,
            Err(CoreError::Locked) => return Err(to_job(CoreError::Locked)),
            Err(e) => {
                tracing::info!(error = %e, "an integration item can no longer be opened; marked failed");
                let why = if matches!(e, CoreError::ZeroAccessOwnerOnly) {
                    "its meeting's owner turned on zero-access encryption"
                } else {
                    "its meeting was deleted"
                };
                self.db()
                    .fail_integration_item(org, id, why, now())
                    .await
                    .map_err(retry)?;
                return Ok(());
            }
        };
        let target = target_row(&c).map_err(to_job)?;
        let mut credential = self.open_credential(&c).await.map_err(to_job)?;
        if let Credential::OAuth(t) = &credential
            && t.needs_refresh(chrono::Utc::now())
        {
            credential = match self.refresh_integration(&c, kind, &credential).await {
                Ok(c) => c,
                Err(e) => return self.after_refused(&c, &item, e, last).await,
            };
        }
        let http = OutboundHttp(self.outbound_client());
        let idem = idempotency_key(item.id);
        let retry_send = item.attempts > 0;
        let started = Instant::now();
        let mut result = meetvault_integrations::deliver(
            &http,
            &target,
            &credential,
            &content,
            &idem,
            retry_send,
        )
        .await;
        if matches!(result, Err(IntegrationError::Unauthorized(_)))
            && matches!(credential, Credential::OAuth(_))
        {
            // The token was refused before its time: refresh once and try again (a retry, so
            // the provider is asked for the key first).
            match self.refresh_integration(&c, kind, &credential).await {
                Ok(fresh) => {
                    credential = fresh;
                    result = meetvault_integrations::deliver(
                        &http,
                        &target,
                        &credential,
                        &content,
                        &idem,
                        true,
                    )
                    .await;
                }
                Err(e) => result = Err(e),
            }
        }
        let latency = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        match result {
            Ok(sent) => {
                self.record(
                    &item,
                    "sent",
                    None,
                    latency,
                    ItemOutcome {
                        state: "sent",
                        last_error: None,
                        external_id: Some(sent.external_id),
                        external_url: sent.url,
                    },
                )
                .await?;
                let mut event = Event::new(
                    AuditAction::IntegrationSent,
                    Actor::System,
                    Outcome::Success,
                )
                .resource(IntegrationItemId::from(item.id))
                .reason(if item.kind == "task" {
                    "task"
                } else {
                    "summary"
                });
                event.org_id = Some(org.into());
                self.audit(event).await.map_err(to_job)?;
                Ok(())
            }
            Err(e) => self.after_refused(&c, &item, e, last).await,
        }
    }

    /// Records a failed attempt and decides what follows.
    async fn after_refused(
        &self,
        c: &IntegrationRow,
        item: &ItemRow,
        e: IntegrationError,
        last: bool,
    ) -> Result<(), JobError> {
        let message = e.to_string();
        // The last attempt the queue allows: what would wait fails instead.
        let queued = |m: &str| {
            let mut o = queued(m);
            if last {
                o.state = "failed";
            }
            o
        };
        match e {
            IntegrationError::RateLimited { retry_after } => {
                let wait = retry_after.unwrap_or(Duration::from_secs(30));
                self.record(item, "rate_limited", Some(&message), 0, queued(&message))
                    .await?;
                Err(JobError::RetryAfter(message, wait))
            }
            IntegrationError::Unavailable(_) => {
                self.record(item, "unavailable", Some(&message), 0, queued(&message))
                    .await?;
                Err(JobError::Retryable(message))
            }
            IntegrationError::Unauthorized(_) | IntegrationError::Revoked => {
                self.record(item, "unauthorized", Some(&message), 0, queued(&message))
                    .await?;
                self.db()
                    .break_integration(c.org_id, c.id, &message, now())
                    .await
                    .map_err(retry)?;
                let mut event = Event::new(
                    AuditAction::IntegrationBroken,
                    Actor::System,
                    Outcome::Failure,
                )
                .resource(IntegrationId::from(c.id))
                .reason("credential_refused");
                event.org_id = Some(c.org_id.into());
                event.subject = c.created_by.map(Into::into);
                self.audit(event).await.map_err(to_job)?;
                Ok(())
            }
            IntegrationError::Refused(_)
            | IntegrationError::Rejected { .. }
            | IntegrationError::Invalid(_) => {
                self.record(
                    item,
                    "refused",
                    Some(&message),
                    0,
                    ItemOutcome {
                        state: "failed",
                        last_error: Some(message.clone()),
                        external_id: None,
                        external_url: None,
                    },
                )
                .await?;
                Ok(())
            }
        }
    }

    async fn record(
        &self,
        item: &ItemRow,
        outcome: &str,
        error: Option<&str>,
        latency_ms: i64,
        o: ItemOutcome,
    ) -> Result<(), JobError> {
        let attempt = AttemptRow {
            id: Uuid::new_v4(),
            org_id: item.org_id,
            integration_id: item.integration_id,
            item_id: item.id,
            at: now(),
            outcome: outcome.to_owned(),
            error: error.map(|e| meetvault_integrations::call::bounded(e, 300)),
            latency_ms,
        };
        if !self
            .db()
            .record_integration_attempt(&attempt, &o)
            .await
            .map_err(retry)?
        {
            tracing::info!("an integration item changed while it was sent; nothing recorded");
        }
        Ok(())
    }

    /// New OAuth tokens from the operator's app, stored sealed; `Revoked` when the grant is gone.
    async fn refresh_integration(
        &self,
        c: &IntegrationRow,
        kind: Kind,
        credential: &Credential,
    ) -> Result<Credential, IntegrationError> {
        let Credential::OAuth(tokens) = credential else {
            return Ok(credential.clone());
        };
        let app = self
            .config()
            .integrations
            .oauth
            .get(kind.as_str())
            .ok_or_else(|| {
                IntegrationError::Unauthorized(format!(
                    "the access token expired and [integrations.oauth.{}] is not configured to refresh it",
                    kind.as_str()
                ))
            })?;
        let app = OAuthApp {
            token_url: app.token_url.clone(),
            client_id: app.client_id.clone(),
            client_secret: SecretString::new(app.client_secret.expose()),
        };
        let http = OutboundHttp(self.outbound_client());
        let fresh =
            Credential::OAuth(meetvault_integrations::oauth::refresh(&http, &app, tokens).await?);
        let sealed = self
            .seal_credential(c.org_id, c.id, &fresh)
            .await
            .map_err(|e| IntegrationError::Unavailable(format!("sealing the new tokens: {e}")))?;
        let change = CredentialChange {
            credential: sealed,
            credential_kind: credential_kind(&fresh).to_owned(),
            credential_hint: credential_hint(&fresh),
            expires_at: credential_expiry(&fresh),
            account: c.account.clone(),
            at: now(),
        };
        self.db()
            .set_integration_credential(c.org_id, c.id, &change, false)
            .await
            .map_err(|e| IntegrationError::Unavailable(format!("storing the new tokens: {e}")))?;
        Ok(fresh)
    }
}

fn queued(message: &str) -> ItemOutcome {
    ItemOutcome {
        state: "queued",
        last_error: Some(message.to_owned()),
        external_id: None,
        external_url: None,
    }
}

/// The key written into what is created: stable for the item across every attempt.
pub(crate) fn idempotency_key(item: Uuid) -> String {
    format!("mv-{}", item.simple())
}

fn now() -> i64 {
    meetvault_jobs::now_ms()
}

fn retry(e: impl std::fmt::Display) -> JobError {
    JobError::Retryable(format!("storage: {e}"))
}

pub(crate) struct SendHandler {
    pub core: Core,
}

#[async_trait::async_trait]
impl Handler for SendHandler {
    fn kind(&self) -> &'static str {
        SEND_KIND
    }
    fn concurrency(&self) -> usize {
        2
    }
    async fn run(&self, job: &Job, _ctx: &JobContext) -> Result<(), JobError> {
        self.core.send_item(job).await
    }
}
