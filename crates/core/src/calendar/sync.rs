//! Reading a calendar: a durable `calendar.sync` job per connection (queued by the connect, a
//! push notification, a rule change, "sync now", and the poller when a connection is due),
//! one at a time per connection (a lease). A sync refreshes the tokens when they near expiry,
//! reads the changes since the stored cursor (or the whole window), decides and stores each
//! event, schedules the bots, renews the push channel, and stores the new cursor. A grant
//! revoked at the provider marks the connection `revoked` and cancels what only it wanted.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use meetvault_calendar::{CalendarError, Change, SyncCursor, SyncOptions, oauth};
use meetvault_crypto::envelope;
use meetvault_store::calendar::CalendarConnectionRow;
use uuid::Uuid;

use super::{SYNC_JOB, net, parse_kind};
use crate::access::Actor;
use crate::audit::{AuditAction, Event, Outcome};
use crate::ids::CalendarId;
use crate::vault::{bind, key_ref};
use crate::{Core, CoreError};

/// How long one sync may hold its connection's lease.
const LEASE_MS: i64 = 10 * 60 * 1000;

/// Runs `calendar.sync` jobs.
pub(crate) struct SyncHandler {
    pub(crate) core: Core,
}

#[async_trait::async_trait]
impl meetvault_jobs::Handler for SyncHandler {
    fn kind(&self) -> &'static str {
        SYNC_JOB
    }

    async fn run(
        &self,
        job: &meetvault_jobs::Job,
        _ctx: &meetvault_jobs::JobContext,
    ) -> Result<(), meetvault_jobs::JobError> {
        let (Some(org), Some(id)) = (job.org_id, job.resource_id) else {
            return Err(meetvault_jobs::JobError::Permanent(
                "a calendar sync without its connection".into(),
            ));
        };
        self.core
            .sync_calendar(org, id)
            .await
            .map_err(|e| meetvault_jobs::JobError::Retryable(e.to_string()))
    }
}

/// A short, fixed code for a connection's `error` (never a provider's text).
fn error_code(e: &CalendarError) -> &'static str {
    match e {
        CalendarError::Revoked => "revoked",
        CalendarError::Unauthorized => "unauthorized",
        CalendarError::Http(_) => "unreachable",
        CalendarError::RateLimited { .. } => "rate_limited",
        _ => "provider_error",
    }
}

impl Core {
    /// Asks for every due connection's sync (the poller, on every instance; the lease keeps
    /// two syncs of one connection apart).
    pub(crate) async fn queue_due_calendar_syncs(&self) -> Result<usize, CoreError> {
        let now = Utc::now().timestamp_millis();
        let interval = self.calendar_interval_ms();
        let due = self.db().calendar_connections_due(now, 100).await?;
        for c in &due {
            // Pushed back first, so the next tick does not queue it again.
            self.db()
                .set_calendar_next_sync(c.org_id, c.id, now + interval)
                .await?;
            self.enqueue_calendar_sync(c.org_id, c.id).await?;
        }
        Ok(due.len())
    }

    fn calendar_interval_ms(&self) -> i64 {
        i64::try_from(self.config().calendar.poll_interval_secs)
            .unwrap_or(600)
            .saturating_mul(1000)
    }

    /// Syncs one connection, under its lease.
    pub(crate) async fn sync_calendar(&self, org: Uuid, id: Uuid) -> Result<(), CoreError> {
        let lease = format!("calendar:{}", id.simple());
        let holder = Uuid::new_v4().simple().to_string();
        let now = Utc::now().timestamp_millis();
        if !self
            .db()
            .take_lease(&lease, &holder, now, now + LEASE_MS)
            .await?
        {
            // Another sync runs and may have read the calendar before what woke this one: try
            // again once it is done (a job of its own, which the running sync cannot undo).
            self.enqueue_calendar_sync_at(org, id, Some(now + 30_000))
                .await?;
            return Ok(());
        }
        let result = self.sync_calendar_held(org, id).await;
        if let Err(e) = self.db().release_lease(&lease, &holder).await {
            tracing::warn!(error = %e, "releasing a calendar sync's lease failed");
        }
        result
    }

    async fn sync_calendar_held(&self, org: Uuid, id: Uuid) -> Result<(), CoreError> {
        let Some(mut conn) = self.db().calendar_connection(org, id).await? else {
            return Ok(());
        };
        if conn.status != "active" {
            return Ok(());
        }
        let kind = parse_kind(&conn.provider).ok_or_else(|| {
            CoreError::Integrity(format!("calendar provider {:?}", conn.provider))
        })?;
        let now = Utc::now();
        conn.next_sync_at = now.timestamp_millis() + self.calendar_interval_ms();
        let provider = match self.calendar_provider(kind) {
            Ok(p) => p,
            Err(_) => {
                conn.error = Some("provider_not_configured".into());
                self.db().update_calendar_connection(&conn).await?;
                return Ok(());
            }
        };
        let key = match self.user_key(org, conn.user_id).await {
            Ok(k) => k,
            Err(CoreError::Locked) => {
                conn.error = Some("locked".into());
                self.db().update_calendar_connection(&conn).await?;
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let http = net::OutboundHttp(self.outbound_client());
        let mut tokens = Core::open_tokens(&key, &conn)?;
        // Refreshed before use when near expiry; stored at once (Microsoft rotates refresh
        // tokens, so the new one must not be lost to a later failure).
        match oauth::refresh_if_needed(&http, &provider, &tokens, now).await {
            Ok(Some(fresh)) => {
                tokens = fresh;
                conn.tokens = Core::seal_tokens(&key, &conn, &tokens)?;
                self.db().update_calendar_connection(&conn).await?;
            }
            Ok(None) => {}
            Err(e) => return self.calendar_sync_failed(conn, e).await,
        }
        let cursor = match &conn.cursor {
            Some(sealed) => {
                let plain = envelope::decrypt(
                    &key,
                    &bind(org, "calendar_connections", conn.id, "cursor"),
                    sealed,
                )
                .map_err(crate::vault::integrity("a calendar cursor"))?;
                serde_json::from_slice::<SyncCursor>(&plain).ok()
            }
            None => None,
        };
        let days = i64::from(self.config().calendar.lookahead_days);
        let options = SyncOptions {
            lookbehind: TimeDelta::days(1),
            lookahead: TimeDelta::days(days),
            min_lookahead: TimeDelta::days(days) - TimeDelta::hours(12),
            ..SyncOptions::default()
        };
        let decider = self.calendar_decider(&conn).await?;
        let mut cursor = cursor;
        let mut refreshed = false;
        // A full sync may span several calls: what it returned, across them.
        let mut full: Option<std::collections::BTreeSet<String>> = None;
        // A long calendar comes in several bounded rounds; each is applied before the next.
        for _ in 0..20 {
            let result = match meetvault_calendar::sync(
                &http,
                &provider,
                &tokens.access_token,
                cursor.as_ref(),
                Utc::now(),
                &options,
            )
            .await
            {
                Ok(r) => r,
                Err(CalendarError::Unauthorized) if !refreshed => {
                    refreshed = true;
                    match oauth::refresh(&http, &provider, &tokens, Utc::now()).await {
                        Ok(fresh) => {
                            tokens = fresh;
                            conn.tokens = Core::seal_tokens(&key, &conn, &tokens)?;
                            self.db().update_calendar_connection(&conn).await?;
                            continue;
                        }
                        Err(e) => return self.calendar_sync_failed(conn, e).await,
                    }
                }
                Err(e) => return self.calendar_sync_failed(conn, e).await,
            };
            let mut applied = Vec::new();
            if result.reset {
                full = Some(std::collections::BTreeSet::new());
            }
            for change in result.changes {
                match change {
                    Change::Upsert(event) => {
                        if let Some(seen) = &mut full {
                            seen.insert(event.id.clone());
                        }
                        applied.push(
                            self.store_calendar_event(&conn, &key, &decider, *event, Utc::now())
                                .await?,
                        );
                    }
                    Change::Removed(event_id) => {
                        applied.push(self.remove_calendar_event(&conn, &key, &event_id).await?);
                    }
                }
            }
            if let (Some(seen), true) = (&full, result.complete) {
                // A full sync: what it did not return is gone from the window.
                for row in self.db().calendar_events(org, conn.id).await? {
                    if !seen.contains(&row.event_id) {
                        applied.push(
                            self.remove_calendar_event(&conn, &key, &row.event_id)
                                .await?,
                        );
                    }
                }
            }
            self.schedule_calendar_changes(&conn, &applied).await?;
            if full.is_some() && result.complete {
                self.db().prune_calendar_choices(conn.id).await?;
            }
            let plain = zeroize::Zeroizing::new(
                serde_json::to_vec(&result.cursor).map_err(CoreError::internal)?,
            );
            conn.cursor = Some(envelope::encrypt(
                &key,
                key_ref(conn.user_id, 1),
                &bind(org, "calendar_connections", conn.id, "cursor"),
                &plain,
            ));
            // Stored per round: a crash re-reads at most the round it was in.
            self.db().update_calendar_connection(&conn).await?;
            let complete = result.complete;
            cursor = Some(result.cursor);
            if complete {
                break;
            }
        }
        self.ensure_calendar_push(&http, &provider, &tokens, &mut conn)
            .await;
        conn.error = None;
        conn.last_sync_at = Some(Utc::now().timestamp_millis());
        conn.updated_at = Utc::now().timestamp_millis();
        self.db().update_calendar_connection(&conn).await?;
        self.db()
            .prune_calendar_bots(Utc::now().timestamp_millis() - 2 * 86_400_000)
            .await?;
        Ok(())
    }

    /// A sync that could not finish: a revoked grant ends the connection (its waiting bots
    /// cancelled, audited); anything else is noted and the next poll tries again.
    async fn calendar_sync_failed(
        &self,
        mut conn: CalendarConnectionRow,
        e: CalendarError,
    ) -> Result<(), CoreError> {
        conn.error = Some(error_code(&e).to_owned());
        conn.updated_at = Utc::now().timestamp_millis();
        tracing::warn!(connection = %CalendarId::from(conn.id), error = %e, "a calendar sync failed");
        if !matches!(e, CalendarError::Revoked) {
            self.db().update_calendar_connection(&conn).await?;
            return Ok(());
        }
        conn.status = "revoked".into();
        conn.cursor = None;
        conn.channel_id = None;
        conn.channel_resource = None;
        conn.channel_expires_at = None;
        self.db().update_calendar_connection(&conn).await?;
        let actor = Actor::Calendar(conn.id.into());
        let mut keys = Vec::new();
        for row in self.db().calendar_events(conn.org_id, conn.id).await? {
            self.db()
                .delete_calendar_event(conn.org_id, conn.id, &row.event_id)
                .await?;
            keys.extend(row.bot_key);
        }
        self.reconcile_calendar_keys(conn.org_id, conn.workspace_id, &keys, actor)
            .await?;
        let mut entry = Event::new(AuditAction::CalendarRevoked, actor, Outcome::Success)
            .resource(CalendarId::from(conn.id));
        entry.org_id = Some(conn.org_id.into());
        entry.subject = Some(conn.user_id.into());
        self.audit(entry).await?;
        Ok(())
    }

    /// Starts the poller: every half minute (or the poll interval, if shorter), the due
    /// connections are queued.
    pub(crate) fn spawn_calendar_poller(&self) {
        if self.config().calendar.google.is_none() && self.config().calendar.microsoft.is_none() {
            return;
        }
        let every = Duration::from_secs(self.config().calendar.poll_interval_secs.clamp(1, 30));
        crate::sweepers::spawn_every(
            std::sync::Arc::downgrade(&self.inner),
            every,
            |core| async move {
                if let Err(e) = core.queue_due_calendar_syncs().await {
                    tracing::warn!(error = %e, "queueing calendar syncs failed");
                }
            },
        );
    }
}
