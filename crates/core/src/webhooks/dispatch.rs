//! From the outbox to the receiver. The **fan-out** reads each org's outbox after its cursor,
//! turns each event into messages (`catalog`), and inserts one delivery per matching endpoint
//! while moving the cursor, in one transaction (compare-and-set: one instance wins, and a
//! delivery's `msg_id` is unique per endpoint). The **senders** (`webhooks.concurrency` per
//! instance) each lease one due endpoint and send its pending deliveries in event order,
//! one at a time: a failure schedules the head's retry (`webhooks.retry_delays_ms`, ±10 %
//! jitter, or the receiver's `Retry-After` on 429/502/503/504) and the endpoint's queue waits
//! for it, so a receiver sees events in order. 2xx succeeds; anything else (a redirect
//! included: never followed) fails; 410 disables the endpoint; an endpoint failing without a
//! success for `webhooks.disable_after_secs` is disabled and its owner told (audit entry, and
//! the reason on the endpoint). Rows are the record: a restart (or `kill -9`) loses nothing,
//! and a message sent but not yet recorded is sent again with the same `webhook-id`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use meetvault_crypto::envelope;
use meetvault_crypto::webhook::SigningSecret;
use meetvault_outbound::SendError;
use meetvault_store::outbox::EventRow;
use meetvault_store::vault::MeetingRow;
use meetvault_store::webhooks::{AttemptOutcome, AttemptRow, DeliveryRow, EndpointRow};
use rand::Rng as _;
use serde_json::Value;
use url::Url;
use uuid::Uuid;

use super::catalog::{self, Message};
use crate::access::Actor;
use crate::audit::{AuditAction, Event, Outcome};
use crate::events::{DomainEvent, open_content};
use crate::vault::bind;
use crate::{Core, CoreError};

/// Events read per org per pass.
const PAGE: i64 = 500;
/// What is kept of a response body.
const EXCERPT: usize = 1024;

/// The body of a message: `{"type", "timestamp", "data"}` (RFC 3339 time of the event).
pub(crate) fn body(event_type: &str, at_ms: i64, data: &Value) -> Vec<u8> {
    let timestamp = chrono::DateTime::from_timestamp_millis(at_ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    serde_json::to_vec(&serde_json::json!({
        "type": event_type,
        "timestamp": timestamp,
        "data": data,
    }))
    .unwrap_or_default()
}

impl Core {
    /// Starts the fan-out and this instance's senders.
    pub(crate) fn spawn_webhooks(&self, owner: &str) {
        let every = Duration::from_millis(self.config().webhooks.poll_ms);
        let core = self.clone();
        tokio::spawn(async move {
            while !core.inner.webhooks.stopped() {
                match core.fan_out_webhooks().await {
                    Ok(true) => {
                        core.inner.webhooks.wake();
                        continue;
                    }
                    Ok(false) => {}
                    Err(e) => tracing::error!(error = %e, "webhook fan-out pass failed"),
                }
                // The next pass: when an event is appended here, else after `poll_ms` (events
                // appended by other instances).
                let _ = tokio::time::timeout(every, core.inner.events.appended()).await;
            }
        });
        // Unique per start: two instances given the same owner name never share a lease.
        let run = Uuid::new_v4().simple().to_string();
        for i in 0..self.config().webhooks.concurrency {
            let core = self.clone();
            let owner = format!("{owner}/{}/webhooks-{i}", &run[..8]);
            tokio::spawn(async move {
                while !core.inner.webhooks.stopped() {
                    let notify = core.inner.webhooks.notify.clone();
                    let woken = notify.notified();
                    match core.send_next_webhooks(&owner).await {
                        Ok(true) => continue,
                        Ok(false) => {}
                        Err(e) => tracing::error!(error = %e, "webhook sender pass failed"),
                    }
                    let _ = tokio::time::timeout(every, woken).await;
                }
            });
        }
    }

    /// How long a sender holds an endpoint between extensions (`webhooks.lease_secs`).
    fn lease_ms(&self) -> i64 {
        i64::try_from(self.config().webhooks.lease_secs)
            .unwrap_or(3600)
            .saturating_mul(1000)
    }

    /// One fan-out pass over every org with an enabled endpoint; true if it moved a cursor
    /// (more may be waiting).
    async fn fan_out_webhooks(&self) -> Result<bool, CoreError> {
        let mut moved = false;
        for (org, cursor) in self.db().webhook_cursors().await? {
            let rows = self.db().events_after(org, None, cursor, PAGE).await?;
            let Some(last) = rows.last().map(|r| r.seq) else {
                continue;
            };
            let endpoints: Vec<(EndpointRow, Vec<String>)> = self
                .db()
                .webhook_endpoints(org, true)
                .await?
                .into_iter()
                .filter(|e| e.enabled)
                .map(|e| {
                    let filter = serde_json::from_str(&e.event_types).unwrap_or_default();
                    (e, filter)
                })
                .collect();
            let mut meetings = HashMap::new();
            let mut deliveries = Vec::new();
            for row in &rows {
                self.deliveries_for(row, &endpoints, &mut meetings, &mut deliveries)
                    .await?;
            }
            moved |= self
                .db()
                .fan_out_webhooks(org, cursor, last, &deliveries)
                .await?;
        }
        Ok(moved)
    }

    /// The deliveries one outbox event makes.
    async fn deliveries_for(
        &self,
        row: &EventRow,
        endpoints: &[(EndpointRow, Vec<String>)],
        meetings: &mut HashMap<Uuid, Option<MeetingRow>>,
        out: &mut Vec<DeliveryRow>,
    ) -> Result<(), CoreError> {
        // Only endpoints that existed when it happened hear of it.
        let listening: Vec<&(EndpointRow, Vec<String>)> = endpoints
            .iter()
            .filter(|(e, _)| e.created_at <= row.created_at)
            .collect();
        if listening.is_empty() {
            return Ok(());
        }
        let meeting = match row.resource_id {
            Some(m) => {
                if let std::collections::hash_map::Entry::Vacant(slot) = meetings.entry(m) {
                    slot.insert(self.db().meeting(row.org_id, m).await?);
                }
                meetings.get(&m).cloned().flatten()
            }
            None => None,
        };
        // Content (a segment's words) is opened only for an endpoint that may receive it.
        let mut content_open = false;
        let content = if catalog::has_content(&row.kind) {
            let wanted = listening
                .iter()
                .any(|(_, f)| catalog::subscribed(f, "transcript.partial"));
            if !wanted {
                return Ok(());
            }
            let with_text = listening
                .iter()
                .any(|(e, f)| e.include_content && catalog::subscribed(f, "transcript.partial"));
            let opened = match (&meeting, with_text) {
                (Some(m), true) => match self.meeting_read_keys(row.org_id, m.id, m.owner_id).await
                {
                    Ok(keys) => open_content(row, &keys).ok().map(|c| c.to_vec()),
                    Err(_) => None,
                },
                _ => None,
            };
            content_open = opened.is_some();
            Some(opened.unwrap_or_else(|| br#"{"speaker":"","text":""}"#.to_vec()))
        } else {
            None
        };
        let event = match DomainEvent::decode(row, content.as_deref()) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(seq = row.seq, error = %e, "an outbox event cannot be read; no webhook for it");
                return Ok(());
            }
        };
        let workspace = match &event {
            DomainEvent::MeetingDeleted { workspace_id, .. } => workspace_id.map(|w| w.0),
            _ => meeting.as_ref().map(|m| m.workspace_id),
        };
        for message in catalog::messages(&event) {
            for (e, filter) in &listening {
                if !catalog::subscribed(filter, message.event_type)
                    || e.meeting_id.is_some_and(|m| Some(m) != row.resource_id)
                    || e.workspace_id.is_some_and(|w| Some(w) != workspace)
                {
                    continue;
                }
                let with_text = content_open && e.include_content && e.url.starts_with("https:");
                out.push(
                    self.delivery(row, e, &message, with_text, meeting.as_ref())
                        .await?,
                );
            }
        }
        Ok(())
    }

    async fn delivery(
        &self,
        row: &EventRow,
        endpoint: &EndpointRow,
        message: &Message,
        with_text: bool,
        meeting: Option<&MeetingRow>,
    ) -> Result<DeliveryRow, CoreError> {
        let mut data = message.data.clone();
        if let (true, Some(Value::Object(content)), Value::Object(d)) =
            (with_text, &message.content, &mut data)
        {
            d.extend(content.clone());
        }
        let id = Uuid::new_v4();
        let mut body = body(message.event_type, row.created_at, &data);
        let mut sealed = false;
        if with_text && let Some(m) = meeting {
            // Text rests only sealed under the meeting's key: shredded with the meeting.
            let (kref, key) = self.meeting_write_key(row.org_id, m.id, m.owner_id).await?;
            body = envelope::encrypt(
                &key,
                kref,
                &bind(row.org_id, "webhook_deliveries", id, "body"),
                &body,
            );
            sealed = true;
        }
        let mut material = Vec::with_capacity(64);
        material.extend_from_slice(row.id.as_bytes());
        material.extend_from_slice(endpoint.id.as_bytes());
        material.extend_from_slice(message.event_type.as_bytes());
        let mac = meetvault_crypto::keys::hmac_sha256(&self.keys().webhook_ids, &material);
        let now = meetvault_jobs::now_ms();
        Ok(DeliveryRow {
            id,
            org_id: row.org_id,
            endpoint_id: endpoint.id,
            msg_id: format!("msg_{}", hex::encode(&mac[..16])),
            event_type: message.event_type.into(),
            event_seq: row.seq,
            meeting_id: message.meeting.map(|m| m.0),
            body,
            sealed,
            state: "pending".into(),
            attempts: 0,
            next_at: now,
            last_status: None,
            created_at: now,
            updated_at: now,
            redeliver: false,
        })
    }

    /// Leases one due endpoint and sends its queue; false when none was due.
    async fn send_next_webhooks(&self, owner: &str) -> Result<bool, CoreError> {
        let now = meetvault_jobs::now_ms();
        let Some(endpoint) = self
            .db()
            .claim_webhook_endpoint(owner, now, now + self.lease_ms())
            .await?
        else {
            return Ok(false);
        };
        let id = endpoint.id;
        let result = self.send_queue(owner, endpoint).await;
        self.db().release_webhook_endpoint(id, owner).await?;
        result.map(|()| true)
    }

    /// Sends an endpoint's pending deliveries in order until one has to wait.
    async fn send_queue(&self, owner: &str, mut endpoint: EndpointRow) -> Result<(), CoreError> {
        let secrets = self.signing_secrets(&endpoint).await?;
        while let Some(d) = self
            .db()
            .head_webhook_delivery(endpoint.org_id, endpoint.id)
            .await?
        {
            let now = meetvault_jobs::now_ms();
            if d.next_at > now {
                // The head waits for its retry; so does the queue behind it.
                self.db()
                    .defer_webhook_endpoint(endpoint.id, owner, d.next_at)
                    .await?;
                return Ok(());
            }
            let Some(body) = self.delivery_body(&d).await? else {
                continue;
            };
            let (attempt, outcome) = self.attempt(&endpoint, &secrets, &d, &body).await;
            if !self
                .db()
                .record_webhook_attempt(owner, endpoint.id, &attempt, &outcome)
                .await?
            {
                tracing::warn!("a webhook sender lost its lease; another instance continues");
                return Ok(());
            }
            endpoint.failing_since = outcome.failing_since;
            if let Some(reason) = &outcome.disable {
                tracing::warn!(webhook = %crate::ids::WebhookId::from(endpoint.id), reason, "webhook endpoint disabled");
                let mut event = Event::new(
                    AuditAction::WebhookDisabled,
                    Actor::System,
                    Outcome::Success,
                )
                .resource(crate::ids::WebhookId::from(endpoint.id));
                event.org_id = Some(endpoint.org_id.into());
                event.subject = endpoint.created_by.map(Into::into);
                event.reason = Some(if attempt.status == Some(410) {
                    "gone"
                } else {
                    "failing_too_long"
                });
                self.audit(event).await?;
                return Ok(());
            }
            if outcome.delivery_state == "pending" {
                return Ok(());
            }
            if !self
                .db()
                .extend_webhook_lease(
                    endpoint.id,
                    owner,
                    meetvault_jobs::now_ms() + self.lease_ms(),
                )
                .await?
            {
                return Ok(());
            }
        }
        Ok(())
    }

    /// The endpoint's secrets that sign now: the current one, and the previous one during its
    /// overlap.
    async fn signing_secrets(&self, e: &EndpointRow) -> Result<Vec<SigningSecret>, CoreError> {
        let mut out = vec![self.webhooks().open_secret(e, &e.secret, "secret").await?];
        if let (Some(prev), Some(until)) = (&e.previous_secret, e.previous_until)
            && until > meetvault_jobs::now_ms()
        {
            out.push(
                self.webhooks()
                    .open_secret(e, prev, "previous_secret")
                    .await?,
            );
        }
        Ok(out)
    }

    /// A delivery's body; a sealed one whose meeting keys are gone (the meeting was deleted,
    /// or its zero-access owner is away) is marked failed and skipped.
    async fn delivery_body(&self, d: &DeliveryRow) -> Result<Option<Vec<u8>>, CoreError> {
        if !d.sealed {
            return Ok(Some(d.body.clone()));
        }
        let opened = match (
            d.meeting_id,
            self.db()
                .meeting(d.org_id, d.meeting_id.unwrap_or_default())
                .await?,
        ) {
            (Some(_), Some(m)) => match self.meeting_read_keys(d.org_id, m.id, m.owner_id).await {
                Ok(keys) => keys
                    .bytes(d.org_id, "webhook_deliveries", d.id, "body", &d.body)
                    .ok()
                    .map(|b| b.to_vec()),
                Err(_) => None,
            },
            _ => None,
        };
        if opened.is_none() {
            tracing::info!("a webhook delivery's content can no longer be opened; marked failed");
            self.db()
                .fail_webhook_delivery(d.org_id, d.id, meetvault_jobs::now_ms())
                .await?;
        }
        Ok(opened)
    }

    /// Sends one delivery and works out what follows.
    async fn attempt(
        &self,
        endpoint: &EndpointRow,
        secrets: &[SigningSecret],
        d: &DeliveryRow,
        body: &[u8],
    ) -> (AttemptRow, AttemptOutcome) {
        let cfg = &self.config().webhooks;
        let started = Instant::now();
        let at = meetvault_jobs::now_ms();
        let timestamp = at / 1000;
        let signature = secrets
            .iter()
            .map(|s| s.sign(&d.msg_id, timestamp, body))
            .collect::<Vec<_>>()
            .join(" ");
        let (status, retry_after, excerpt, error) =
            match self.post(endpoint, d, timestamp, &signature, body).await {
                Ok((status, retry_after, excerpt)) => (Some(status), retry_after, excerpt, None),
                Err(e) => (None, None, None, Some(e)),
            };
        let excerpt = excerpt.map(|e| redact(&e, secrets));
        let latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let now = meetvault_jobs::now_ms();
        let ok = status.is_some_and(|s| (200..300).contains(&s));
        let mut outcome = AttemptOutcome {
            delivery_state: "succeeded",
            delivery_next_at: now,
            endpoint_next_at: now,
            failing_since: None,
            disable: None,
        };
        let mut next_retry_at = None;
        if !ok {
            let failing_since = endpoint.failing_since.unwrap_or(at);
            outcome.failing_since = Some(failing_since);
            let done = usize::try_from(d.attempts).unwrap_or(0);
            // A test message and a redelivery are one attempt each: they answer their owner's
            // question now, and never hold the queue behind them.
            let single = d.event_type == catalog::TEST_TYPE || d.redeliver;
            let delay = (!single)
                .then(|| cfg.retry_delays_ms.get(done))
                .flatten()
                .map(|ms| {
                    let ms = i64::try_from(*ms).unwrap_or(i64::MAX / 4);
                    let jitter = ms / 10;
                    let jittered = if jitter > 0 {
                        ms + rand::rng().random_range(-jitter..=jitter)
                    } else {
                        ms
                    };
                    match (status, retry_after) {
                        (Some(429 | 502 | 503 | 504), Some(secs)) => secs.saturating_mul(1000),
                        _ => jittered,
                    }
                });
            let disable_after =
                i64::try_from(cfg.disable_after_secs).unwrap_or(i64::MAX / 2000) * 1000;
            if status == Some(410) {
                outcome.delivery_state = "failed";
                outcome.disable = Some(
                    "the receiver answered 410 Gone, which asks for no more deliveries; enable the endpoint again when it is back".into(),
                );
            } else if now - failing_since >= disable_after {
                outcome.delivery_state = "failed";
                outcome.disable = Some(format!(
                    "every attempt failed for {} days; fix the receiver, then enable the endpoint again (pending deliveries resume)",
                    (now - failing_since) / 86_400_000
                ));
            } else if let Some(delay) = delay {
                outcome.delivery_state = "pending";
                outcome.delivery_next_at = now + delay.max(0);
                outcome.endpoint_next_at = outcome.delivery_next_at;
                next_retry_at = Some(outcome.delivery_next_at);
            } else {
                outcome.delivery_state = "failed";
            }
        }
        let attempt = AttemptRow {
            id: Uuid::new_v4(),
            org_id: d.org_id,
            delivery_id: d.id,
            at,
            status,
            latency_ms,
            excerpt,
            error,
            next_retry_at,
            trigger: if d.event_type == catalog::TEST_TYPE {
                "test".into()
            } else if d.redeliver {
                "redeliver".into()
            } else {
                "scheduled".into()
            },
        };
        (attempt, outcome)
    }

    /// POSTs one message; the status, a `Retry-After` in seconds, and the start of the
    /// response body; or why nothing came back.
    async fn post(
        &self,
        endpoint: &EndpointRow,
        d: &DeliveryRow,
        timestamp: i64,
        signature: &str,
        body: &[u8],
    ) -> Result<(i32, Option<i64>, Option<String>), String> {
        let url = Url::parse(&endpoint.url).map_err(|e| format!("the URL does not parse: {e}"))?;
        let client = &self.inner.webhook_client;
        let request = client
            .request(reqwest::Method::POST, url)
            .map_err(describe)?
            .header("content-type", "application/json")
            .header(
                "user-agent",
                concat!("meetvault-webhooks/", env!("CARGO_PKG_VERSION")),
            )
            .header("webhook-id", &d.msg_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body.to_vec());
        let mut response = client.send(request).await.map_err(describe)?;
        let status = i32::from(response.status().as_u16());
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(retry_after_secs);
        // The start of the body, within a few seconds; the rest is not read.
        let mut excerpt = Vec::new();
        let read = async {
            while excerpt.len() < EXCERPT {
                match response.chunk().await {
                    Ok(Some(chunk)) => excerpt.extend_from_slice(&chunk),
                    _ => break,
                }
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(5), read).await;
        excerpt.truncate(EXCERPT);
        let text = String::from_utf8_lossy(&excerpt).into_owned();
        Ok((status, retry_after, (!text.is_empty()).then_some(text)))
    }
}

/// A `Retry-After` value, seconds or an HTTP date, as seconds from now (1 s to 24 h).
fn retry_after_secs(value: &str) -> Option<i64> {
    let value = value.trim();
    let secs = match value.parse::<i64>() {
        Ok(secs) => secs,
        Err(_) => {
            let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
            at.timestamp() - chrono::Utc::now().timestamp()
        }
    };
    Some(secs.clamp(1, 24 * 3600))
}

/// A failure as the delivery log shows it (never the URL's query or a secret).
fn describe(e: SendError) -> String {
    match e {
        SendError::Refused(r) => format!("refused: the URL {r}"),
        SendError::Http(e) if e.is_timeout() => "timed out".into(),
        SendError::Http(e) if e.is_connect() => "could not connect".into(),
        SendError::Http(e) => format!("the request failed: {}", e.without_url()),
        SendError::BodyTooLarge(n) => format!("the response was larger than {n} bytes"),
    }
}

/// Removes our secrets from what a receiver sent back (a receiver that echoes them).
fn redact(text: &str, secrets: &[SigningSecret]) -> String {
    let mut out = text.to_owned();
    for s in secrets {
        let full = s.to_secret_string();
        for needle in [full.as_str(), full.split_once('_').map_or("", |(_, b)| b)] {
            if needle.len() >= 16 {
                out = out.replace(needle, "[redacted]");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_lose_our_secrets() {
        let s = SigningSecret::generate_hmac();
        let full = s.to_secret_string();
        let raw = full.split_once('_').unwrap().1.to_owned();
        let text = format!("echo: {} and {raw}", full.as_str());
        let clean = redact(&text, &[s]);
        assert!(!clean.contains(&raw), "{clean}");
        assert_eq!(clean, "echo: [redacted] and [redacted]");
    }

    #[test]
    fn retry_after_is_seconds_or_a_date() {
        assert_eq!(retry_after_secs(" 120 "), Some(120));
        assert_eq!(retry_after_secs("0"), Some(1));
        assert_eq!(retry_after_secs("99999999"), Some(24 * 3600));
        let later = (chrono::Utc::now() + chrono::Duration::seconds(90)).to_rfc2822();
        let secs = retry_after_secs(&later.replace("+0000", "GMT")).unwrap();
        assert!((88..=90).contains(&secs), "{secs}");
        assert_eq!(retry_after_secs("soon"), None);
    }

    #[test]
    fn body_has_the_standard_shape() {
        let b = body(
            "bot.done",
            1_700_000_000_123,
            &serde_json::json!({"bot_id": "bot_1"}),
        );
        let v: Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(v["type"], "bot.done");
        assert_eq!(v["timestamp"], "2023-11-14T22:13:20.123Z");
        assert_eq!(v["data"]["bot_id"], "bot_1");
    }
}
