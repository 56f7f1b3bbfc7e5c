//! Background upkeep each instance runs beside its job workers: retrying blob deletions that
//! failed where failing was tolerated (recorded in `blob_deletions`, never silently dropped),
//! pruning the event outbox past its window, and the retention sweep (`retention/sweep.rs`).
//! Each is safe on every instance at once: a deletion is idempotent, a prune deletes what any
//! instance would, and one instance at a time holds the retention sweep's lease.

use std::sync::Weak;
use std::time::Duration;

use meetvault_jobs::now_ms;
use meetvault_store::BlobKey;

use crate::access::Actor;
use crate::audit::{AuditAction, Event, Outcome};
use crate::{Core, CoreError, Inner};

/// How often each sweeper looks for work.
const BLOB_SWEEP_EVERY: Duration = Duration::from_secs(30);
/// A failed deletion is retried after 30 s × 2^(attempts − 1), at most six hours.
const RETRY_BASE_MS: i64 = 30_000;
const RETRY_MAX_MS: i64 = 6 * 3600 * 1000;
/// The lease of the retention sweep (one instance at a time).
const RETENTION_LEASE: &str = "retention.sweep";
/// Rows per prune statement (a large backlog is deleted in several).
const PRUNE_BATCH: i64 = 5_000;

fn retry_delay_ms(attempts: i32) -> i64 {
    let exp = u32::try_from(attempts.clamp(1, 20) - 1).unwrap_or(0);
    RETRY_BASE_MS.saturating_mul(1_i64 << exp).min(RETRY_MAX_MS)
}

impl Core {
    /// The `test-access` door to the sweeper's [`Self::finish_pending_deletions`], with no
    /// minimum age.
    #[cfg(feature = "test-access")]
    pub async fn finish_pending_deletions_for_tests(&self) -> Result<usize, CoreError> {
        self.finish_pending_deletions(-1).await
    }

    /// Resumes the deletions a crash cut off (pending certificates older than `min_age_ms`; the
    /// sweeper waits a minute so it never races a deletion in progress): the sweeper's part of
    /// "a crash loses nothing".
    pub(crate) async fn finish_pending_deletions(
        &self,
        min_age_ms: i64,
    ) -> Result<usize, CoreError> {
        let older_than = now_ms() - min_age_ms;
        let pending = self.db().pending_certificates(older_than).await?;
        let mut done = 0;
        for cert in pending {
            let done_now = match cert.subject_kind.as_str() {
                crate::meetings::DELETION_KIND => {
                    let event =
                        Event::new(AuditAction::MeetingDelete, Actor::System, Outcome::Success);
                    self.finish_meeting_deletion(&cert, event).await
                }
                crate::erasure::ORG_KIND => self.finish_org_erasure(&cert).await,
                crate::requests::KIND => {
                    self.finish_participant_erasure(&cert, Actor::System).await
                }
                crate::erasure::KIND => {
                    let event =
                        Event::new(AuditAction::AccountErase, Actor::System, Outcome::Success);
                    self.finish_account_erasure(&cert, event).await
                }
                _ => continue,
            };
            match done_now {
                Ok(_) => done += 1,
                Err(e) => {
                    tracing::warn!(error = %e, certificate = %cert.id, "finishing a deletion failed; it will be retried")
                }
            }
        }
        Ok(done)
    }

    /// Deletes a blob whose row is already gone; a failure is recorded for the sweeper to retry
    /// (and logged), so the caller can go on.
    pub(crate) async fn delete_blob(&self, key: &BlobKey) {
        if let Err(e) = self.blobs().delete(key).await {
            tracing::warn!(error = %e, "deleting a blob failed; it will be retried");
            let now = now_ms();
            if let Err(e) = self
                .db()
                .defer_blob_deletion(key.as_str(), &e.to_string(), now, now + retry_delay_ms(1))
                .await
            {
                tracing::error!(error = %e, key = key.as_str(), "recording a blob deletion to retry failed; the blob is orphaned");
            }
        }
    }

    /// Retries the deferred blob deletions that are due; returns how many succeeded.
    pub async fn retry_blob_deletions(&self) -> Result<usize, crate::CoreError> {
        let now = now_ms();
        let mut done = 0;
        for (key, attempts) in self.db().due_blob_deletions(now, 500).await? {
            let deleted = match BlobKey::parse(&key) {
                Ok(k) => self.blobs().delete(&k).await,
                // A key that cannot name a blob has nothing to delete.
                Err(_) => Ok(()),
            };
            match deleted {
                Ok(()) => {
                    self.db().blob_deleted(&key).await?;
                    done += 1;
                }
                Err(e) => {
                    self.db()
                        .defer_blob_deletion(
                            &key,
                            &e.to_string(),
                            now,
                            now + retry_delay_ms(attempts + 1),
                        )
                        .await?;
                }
            }
        }
        Ok(done)
    }

    /// Deletes outbox events past their window: the org's own `events` retention window
    /// where it set one (`forever` keeps them), else `events.retention_secs`; returns how many.
    pub async fn prune_events(&self) -> Result<u64, crate::CoreError> {
        let now = now_ms();
        let mut own = Vec::new();
        let mut total = 0;
        for (org, text) in self.db().org_retention_policies().await? {
            let policy: crate::retention::OrgPolicy =
                serde_json::from_str(&text).map_err(crate::CoreError::internal)?;
            let Some(window) = policy.events else {
                continue;
            };
            own.push(org);
            let Some(keep_ms) = window.millis() else {
                continue;
            };
            loop {
                let n = self
                    .db()
                    .prune_org_events(org, now.saturating_sub(keep_ms), PRUNE_BATCH)
                    .await?;
                total += n;
                if n < PRUNE_BATCH as u64 {
                    break;
                }
            }
        }
        let keep_ms = i64::try_from(self.config().events.retention_secs)
            .unwrap_or(i64::MAX / 1000)
            .saturating_mul(1000);
        let before = now.saturating_sub(keep_ms);
        loop {
            let n = self.db().prune_events(before, PRUNE_BATCH, &own).await?;
            total += n;
            if n < PRUNE_BATCH as u64 {
                return Ok(total);
            }
        }
    }

    /// Deletes finished webhook deliveries (and their attempts) older than
    /// `webhooks.log_retention_secs`; returns how many.
    pub(crate) async fn prune_webhook_log(&self) -> Result<u64, crate::CoreError> {
        let keep_ms = i64::try_from(self.config().webhooks.log_retention_secs)
            .unwrap_or(i64::MAX / 1000)
            .saturating_mul(1000);
        let before = now_ms().saturating_sub(keep_ms);
        let mut total = 0;
        loop {
            let n = self
                .db()
                .prune_webhook_deliveries(before, PRUNE_BATCH)
                .await?;
            total += n;
            if n < PRUNE_BATCH as u64 {
                return Ok(total);
            }
        }
    }

    /// Deletes a bot's own webhook endpoints (`webhook_url`) once they have nothing left to
    /// hear — their bot is gone (its meeting was deleted) or ended longer than
    /// `webhooks.log_retention_secs` ago — and nothing waits to be sent to them (so a deleted
    /// meeting's `meeting.deleted` still arrives). Audited; returns how many.
    pub(crate) async fn retire_bot_webhooks(&self) -> Result<usize, crate::CoreError> {
        let keep_ms = i64::try_from(self.config().webhooks.log_retention_secs)
            .unwrap_or(i64::MAX / 1000)
            .saturating_mul(1000);
        let ended_before = now_ms().saturating_sub(keep_ms);
        let mut retired = 0;
        for (org, endpoint, bot) in self.db().bot_webhook_endpoints(500).await? {
            let done = match self.db().bot(org, bot).await? {
                None => true,
                Some(b) => crate::bots::state_of(&b)?.is_terminal() && b.updated_at < ended_before,
            };
            if !done || self.db().pending_webhook_deliveries(org, endpoint).await? > 0 {
                continue;
            }
            if self.db().delete_webhook_endpoint(org, endpoint).await? {
                let mut entry = crate::audit::Event::new(
                    crate::audit::AuditAction::WebhookDelete,
                    crate::access::Actor::System,
                    crate::audit::Outcome::Success,
                );
                entry.org_id = Some(org.into());
                entry.resource = Some(crate::ids::WebhookId::from(endpoint).to_string());
                self.audit(entry).await?;
                retired += 1;
            }
        }
        Ok(retired)
    }

    /// The `test-access` door to the sweep [`Self::retire_bot_webhooks`] (it runs with the
    /// outbox pruning, at most hourly).
    #[cfg(feature = "test-access")]
    pub async fn retire_bot_webhooks_for_tests(&self) -> Result<usize, crate::CoreError> {
        self.retire_bot_webhooks().await
    }

    /// The `test-access` door to the sweep of expired widget sessions (every 30 seconds).
    #[cfg(feature = "test-access")]
    pub async fn sweep_widget_sessions_for_tests(&self) -> Result<usize, crate::CoreError> {
        crate::widgets::sweep_expired_sessions(self).await
    }

    /// Starts the sweepers; they stop when the last handle to this core is dropped.
    pub(crate) fn spawn_sweepers(&self) {
        // The retention sweep runs on one instance at a time: the holder of its lease (an hour
        // past the sweep's start at most, so a crashed holder hands over).
        let holder = uuid::Uuid::new_v4().simple().to_string();
        spawn_every(
            std::sync::Arc::downgrade(&self.inner),
            Duration::from_secs(self.config().retention.sweep_interval_secs.max(1)),
            move |core| {
                let holder = holder.clone();
                async move {
                    let now = now_ms();
                    match core
                        .db()
                        .take_lease(RETENTION_LEASE, &holder, now, now + 3_600_000)
                        .await
                    {
                        Ok(true) => {}
                        Ok(false) => return,
                        Err(e) => {
                            tracing::warn!(error = %e, "taking the retention sweep's lease failed");
                            return;
                        }
                    }
                    let swept = core.sweep_retention(now).await;
                    if let Err(e) = core.db().release_lease(RETENTION_LEASE, &holder).await {
                        tracing::warn!(error = %e, "releasing the retention sweep's lease failed");
                    }
                    match swept {
                        Ok(r) if r.meetings_deleted + r.parts_purged + r.resumed == 0 => {}
                        Ok(r) => tracing::info!(
                            meetings_deleted = r.meetings_deleted,
                            parts_purged = r.parts_purged,
                            resumed = r.resumed,
                            "retention deleted expired data"
                        ),
                        Err(e) => {
                            tracing::warn!(error = %e, "the retention sweep failed; it runs again")
                        }
                    }
                }
            },
        );
        let prune_every = Duration::from_secs(self.config().events.retention_secs.clamp(1, 3600));
        spawn_every(
            std::sync::Arc::downgrade(&self.inner),
            BLOB_SWEEP_EVERY,
            |core| async move {
                match core.retry_blob_deletions().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(deleted = n, "retried blob deletions"),
                    Err(e) => tracing::warn!(error = %e, "retrying blob deletions"),
                }
                match core.finish_pending_deletions(60_000).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(finished = n, "finished deletions a crash cut off"),
                    Err(e) => tracing::warn!(error = %e, "finishing cut-off deletions"),
                }
            },
        );
        spawn_every(
            std::sync::Arc::downgrade(&self.inner),
            prune_every,
            |core| async move {
                match core.prune_events().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(pruned = n, "pruned old outbox events"),
                    Err(e) => tracing::warn!(error = %e, "pruning outbox events"),
                }
                match core.prune_webhook_log().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(pruned = n, "pruned old webhook deliveries"),
                    Err(e) => tracing::warn!(error = %e, "pruning webhook deliveries"),
                }
                match core.purge_expired_documents().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(deleted = n, "deleted expired meeting documents"),
                    Err(e) => tracing::warn!(error = %e, "deleting expired meeting documents"),
                }
                match core.retire_bot_webhooks().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(
                        deleted = n,
                        "deleted bots' webhook endpoints they no longer need"
                    ),
                    Err(e) => tracing::warn!(error = %e, "retiring bots' webhook endpoints"),
                }
                match crate::widgets::sweep_expired_sessions(&core).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(deleted = n, "deleted expired widget sessions"),
                    Err(e) => tracing::warn!(error = %e, "deleting expired widget sessions"),
                }
                match core.sweep_track_uploads().await {
                    Ok(0) => {}
                    Ok(n) => {
                        tracing::info!(aborted = n, "aborted abandoned uploads to destinations")
                    }
                    Err(e) => tracing::warn!(error = %e, "sweeping uploads to destinations"),
                }
            },
        );
    }
}

pub(crate) fn spawn_every<F, Fut>(inner: Weak<Inner>, every: Duration, work: F)
where
    F: Fn(Core) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(inner) = inner.upgrade() else { return };
            work(Core { inner }).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_to_a_ceiling() {
        assert_eq!(retry_delay_ms(1), 30_000);
        assert_eq!(retry_delay_ms(2), 60_000);
        assert_eq!(retry_delay_ms(5), 480_000);
        assert_eq!(retry_delay_ms(30), RETRY_MAX_MS);
    }
}
