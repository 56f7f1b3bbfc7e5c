//! Retention (migration 0019): the org's and workspaces' policies, a meeting's own windows and
//! what retention already deleted of it, the sweeper's page of candidates, and the batched
//! deletions it makes. Policies are JSON the core parses; this layer stores them as given.

use uuid::Uuid;

use crate::identity::with_pool;
use crate::{Database, StoreError};

/// A meeting the retention sweeper looks at: its policy inputs and what it still holds.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RetentionCandidate {
    pub id: Uuid,
    pub org_id: Uuid,
    pub workspace_id: Uuid,
    pub retention: Option<String>,
    pub purged: Option<String>,
    /// Transcript segments stored.
    pub segments: i64,
    /// Recordings whose blob is still held here.
    pub recordings_held: i64,
    /// The latest `transcribed_at` of its recordings (Unix ms).
    pub transcribed_at: Option<i64>,
    pub bots: i64,
    /// Recordings meetvault wrote to customers' buckets whose destination lets it delete them.
    pub bucket_recordings: i64,
}

/// The columns of a [`RetentionCandidate`] of meeting `m`.
const FACTS: &str = "m.id, m.org_id, m.workspace_id, m.retention, m.purged, \
    (SELECT COUNT(*) FROM transcript_segments s WHERE s.meeting_id = m.id) AS segments, \
    (SELECT COUNT(*) FROM recordings r WHERE r.meeting_id = m.id AND r.local_deleted_at IS NULL) AS recordings_held, \
    (SELECT MAX(r.transcribed_at) FROM recordings r WHERE r.meeting_id = m.id) AS transcribed_at, \
    (SELECT COUNT(*) FROM bots b WHERE b.meeting_id = m.id) AS bots, \
    (SELECT COUNT(*) FROM bucket_objects o JOIN destinations d ON d.id = o.destination_id \
     WHERE o.meeting_id = m.id AND o.kind = 'recording' AND d.allow_delete = TRUE) \
     AS bucket_recordings";

impl Database {
    /// A policy: the org's (`scope` = the org's id) or a workspace's.
    pub async fn retention_policy(
        &self,
        org_id: Uuid,
        scope: Uuid,
    ) -> Result<Option<String>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_scalar(
            "SELECT policy FROM retention_policies WHERE org_id = $1 AND scope_id = $2",
        ).bind(org_id).bind(scope).fetch_optional(pool).await?))
    }

    /// Sets (or, with `None`, removes) a policy.
    pub async fn put_retention_policy(
        &self,
        org_id: Uuid,
        scope: Uuid,
        policy: Option<&str>,
        now: i64,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            match policy {
                Some(p) => sqlx::query(
                    "INSERT INTO retention_policies (org_id, scope_id, policy, updated_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (org_id, scope_id) DO UPDATE SET policy = excluded.policy, updated_at = excluded.updated_at",
                ).bind(org_id).bind(scope).bind(p).bind(now).execute(pool).await?,
                None => sqlx::query("DELETE FROM retention_policies WHERE org_id = $1 AND scope_id = $2")
                    .bind(org_id).bind(scope).execute(pool).await?,
            };
            Ok(())
        })
    }

    /// A meeting's own windows and what retention deleted of it: `(retention, purged)`.
    pub async fn meeting_retention(
        &self,
        org_id: Uuid,
        meeting_id: Uuid,
    ) -> Result<Option<(Option<String>, Option<String>)>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_as(
            "SELECT retention, purged FROM meetings WHERE org_id = $1 AND id = $2",
        ).bind(org_id).bind(meeting_id).fetch_optional(pool).await?))
    }

    pub async fn set_meeting_retention(
        &self,
        org_id: Uuid,
        meeting_id: Uuid,
        retention: Option<&str>,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("UPDATE meetings SET retention = $3 WHERE org_id = $1 AND id = $2")
                .bind(org_id).bind(meeting_id).bind(retention).execute(pool).await?;
            Ok(())
        })
    }

    pub async fn set_meeting_purged(
        &self,
        org_id: Uuid,
        meeting_id: Uuid,
        purged: &str,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("UPDATE meetings SET purged = $3 WHERE org_id = $1 AND id = $2")
                .bind(org_id).bind(meeting_id).bind(purged).execute(pool).await?;
            Ok(())
        })
    }

    /// The next page of meetings after `after` (by id) that still hold something retention
    /// deletes: segments, a recording's blob, or a bot.
    pub async fn retention_candidates(
        &self,
        after: Uuid,
        limit: i64,
    ) -> Result<Vec<RetentionCandidate>, StoreError> {
        let sql = format!(
            "SELECT * FROM (SELECT {FACTS} FROM meetings m WHERE m.id > $1 ORDER BY m.id LIMIT $2) c \
             WHERE c.segments > 0 OR c.recordings_held > 0 OR c.bots > 0 OR c.bucket_recordings > 0"
        );
        with_pool!(self, pool => Ok(sqlx::query_as::<_, RetentionCandidate>(&sql)
            .bind(after).bind(limit).fetch_all(pool).await?))
    }

    /// One meeting's retention facts.
    pub async fn retention_facts(
        &self,
        org_id: Uuid,
        meeting_id: Uuid,
    ) -> Result<Option<RetentionCandidate>, StoreError> {
        let sql = format!("SELECT {FACTS} FROM meetings m WHERE m.org_id = $1 AND m.id = $2");
        with_pool!(self, pool => Ok(sqlx::query_as::<_, RetentionCandidate>(&sql)
            .bind(org_id).bind(meeting_id).fetch_optional(pool).await?))
    }

    /// The last meeting id of the page after `after` (so a page with no candidate still moves
    /// the sweep on).
    pub async fn meetings_page_end(
        &self,
        after: Uuid,
        limit: i64,
    ) -> Result<Option<Uuid>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_scalar(
            "SELECT id FROM (SELECT id FROM meetings WHERE id > $1 ORDER BY id LIMIT $2) p ORDER BY id DESC LIMIT 1",
        ).bind(after).bind(limit).fetch_optional(pool).await?))
    }

    /// Deletes up to `limit` of a meeting's transcript segments; returns how many.
    pub async fn delete_segments_batch(
        &self,
        org_id: Uuid,
        meeting_id: Uuid,
        limit: i64,
    ) -> Result<u64, StoreError> {
        with_pool!(self, pool => {
            let done = sqlx::query(
                "DELETE FROM transcript_segments WHERE id IN \
                 (SELECT id FROM transcript_segments WHERE org_id = $1 AND meeting_id = $2 LIMIT $3)",
            ).bind(org_id).bind(meeting_id).bind(limit).execute(pool).await?;
            Ok(done.rows_affected())
        })
    }

    /// Deletes a bot and everything that hangs off it (timeline, participants, chat, commands,
    /// speakers, tracks, chunk rows); whether it was there.
    pub async fn delete_bot(&self, org_id: Uuid, bot_id: Uuid) -> Result<bool, StoreError> {
        with_pool!(self, pool => {
            let done = sqlx::query("DELETE FROM bots WHERE org_id = $1 AND id = $2")
                .bind(org_id).bind(bot_id).execute(pool).await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Deletes up to `limit` outbox events of `org` older than `before`; returns how many.
    pub async fn prune_org_events(
        &self,
        org_id: Uuid,
        before: i64,
        limit: i64,
    ) -> Result<u64, StoreError> {
        with_pool!(self, pool => {
            let done = sqlx::query(
                "DELETE FROM outbox_events WHERE id IN \
                 (SELECT id FROM outbox_events WHERE org_id = $1 AND created_at < $2 ORDER BY created_at LIMIT $3)",
            )
            .bind(org_id).bind(before).bind(limit).execute(pool).await?;
            Ok(done.rows_affected())
        })
    }

    /// The orgs whose own policy sets a window for the event outbox: `(org, policy)`.
    pub async fn org_retention_policies(&self) -> Result<Vec<(Uuid, String)>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_as(
            "SELECT org_id, policy FROM retention_policies WHERE org_id = scope_id",
        ).fetch_all(pool).await?))
    }
}

impl Database {
    /// Takes (or renews) lease `name` for `holder` until `until` when it is free, expired or
    /// already `holder`'s; whether `holder` has it now.
    pub async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        now: i64,
        until: i64,
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => {
            let done = sqlx::query(
                "INSERT INTO leases (name, holder, until) VALUES ($1, $2, $4) \
                 ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until \
                 WHERE leases.until < $3 OR leases.holder = excluded.holder",
            )
            .bind(name).bind(holder).bind(now).bind(until).execute(pool).await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Gives lease `name` back if `holder` has it.
    pub async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
                .bind(name).bind(holder).execute(pool).await?;
            Ok(())
        })
    }
}
