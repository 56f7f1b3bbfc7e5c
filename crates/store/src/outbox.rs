//! The event outbox's rows, and the retry list of tolerated blob deletions. An event is appended
//! inside the transaction of the change it describes ([`append_event!`]): the org's
//! `outbox_seq` row is bumped first, which holds that row locked until commit (PostgreSQL) or
//! runs under the single writer (SQLite), so sequence numbers become visible in order and a
//! reader that remembers the last one it saw misses nothing.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::identity::with_pool;
use crate::{Database, StoreError};

/// An event to append. `data` is JSON without content; `sealed` is content encrypted by the
/// caller (under the meeting's key).
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub id: Uuid,
    pub org_id: Uuid,
    pub kind: &'static str,
    pub version: i32,
    pub resource_id: Option<Uuid>,
    pub data: String,
    pub sealed: Option<Vec<u8>>,
    pub created_at: i64,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct EventRow {
    pub org_id: Uuid,
    pub seq: i64,
    pub id: Uuid,
    pub kind: String,
    pub version: i32,
    pub resource_id: Option<Uuid>,
    pub data: String,
    pub sealed: Option<Vec<u8>>,
    pub created_at: i64,
}

const EVENT_COLUMNS: &str = "org_id, seq, id, kind, version, resource_id, data, sealed, created_at";

/// Kind and version of the job-state event the queue writes itself (its payload is
/// [`JobChange`]); the domain catalogue in core reads it back.
pub const JOB_STATE_CHANGED: &str = "job.state_changed";
pub const JOB_STATE_CHANGED_VERSION: i32 = 1;

/// The payload of a job's state change, as the queue writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobChange {
    pub job_id: Uuid,
    pub kind: String,
    pub state: String,
    pub progress: i32,
    pub error: Option<String>,
}

/// Appends one event inside an open transaction (`$conn` is `&mut *tx`); its sequence number
/// is the org's next. Append last in a transaction, so the sequence row is held only briefly.
macro_rules! append_event {
    ($conn:expr, $event:expr) => {{
        let e: &$crate::outbox::NewEvent = $event;
        let seq: i64 = sqlx::query_scalar(
            "INSERT INTO outbox_seq (org_id, last) VALUES ($1, 1) \
             ON CONFLICT (org_id) DO UPDATE SET last = outbox_seq.last + 1 RETURNING last",
        )
        .bind(e.org_id)
        .fetch_one(&mut *$conn)
        .await?;
        sqlx::query(
            "INSERT INTO outbox_events (org_id, seq, id, kind, version, resource_id, data, sealed, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(e.org_id).bind(seq).bind(e.id).bind(e.kind).bind(e.version).bind(e.resource_id)
        .bind(&e.data).bind(&e.sealed).bind(e.created_at)
        .execute(&mut *$conn)
        .await?;
        seq
    }};
}
pub(crate) use append_event;

/// Appends the state change of a job (if it belongs to an org) inside an open transaction.
macro_rules! append_job_change {
    ($conn:expr, $org:expr, $resource:expr, $change:expr, $now:expr) => {{
        let org: Option<Uuid> = $org;
        if let Some(org_id) = org {
            let change: &$crate::outbox::JobChange = $change;
            let event = $crate::outbox::NewEvent {
                id: Uuid::new_v4(),
                org_id,
                kind: $crate::outbox::JOB_STATE_CHANGED,
                version: $crate::outbox::JOB_STATE_CHANGED_VERSION,
                resource_id: $resource,
                data: serde_json::to_string(change)
                    .map_err(|e| $crate::StoreError::Corrupt(e.to_string()))?,
                sealed: None,
                created_at: $now,
            };
            $crate::outbox::append_event!($conn, &event);
        }
    }};
}
pub(crate) use append_job_change;

impl Database {
    /// Appends events in one transaction of their own (events that describe no other write:
    /// a segment heard live, say).
    pub async fn append_events(&self, events: &[NewEvent]) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for e in events {
                append_event!(tx, e);
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// An org's events after `after`, in order, at most `limit`; only those about `resource`
    /// when given.
    pub async fn events_after(
        &self,
        org_id: Uuid,
        resource: Option<Uuid>,
        after: i64,
        limit: i64,
    ) -> Result<Vec<EventRow>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM outbox_events WHERE org_id = $1 AND seq > $2 \
             AND ($3 IS NULL OR resource_id = $3) ORDER BY seq LIMIT $4"
        );
        with_pool!(self, pool => Ok(sqlx::query_as::<_, EventRow>(&sql)
            .bind(org_id).bind(after).bind(resource).bind(limit)
            .fetch_all(pool).await?))
    }

    /// The last sequence number handed out in an org (0 before its first event).
    pub async fn last_event_seq(&self, org_id: Uuid) -> Result<i64, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_scalar::<_, i64>(
            "SELECT last FROM outbox_seq WHERE org_id = $1",
        ).bind(org_id).fetch_optional(pool).await?.unwrap_or(0)))
    }

    /// The oldest sequence number still kept in an org (older ones were pruned), if any.
    pub async fn first_event_seq(&self, org_id: Uuid) -> Result<Option<i64>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_scalar::<_, Option<i64>>(
            "SELECT MIN(seq) FROM outbox_events WHERE org_id = $1",
        ).bind(org_id).fetch_one(pool).await?))
    }

    /// Deletes the given events of an org (content withdrawn: a live segment of a participant
    /// who opted out); returns how many. Readers skip the gap: streams resume by number.
    pub async fn delete_events(&self, org_id: Uuid, ids: &[Uuid]) -> Result<u64, StoreError> {
        let mut done = 0;
        with_pool!(self, pool => {
            for id in ids {
                done += sqlx::query("DELETE FROM outbox_events WHERE org_id = $1 AND id = $2")
                    .bind(org_id).bind(id).execute(pool).await?.rows_affected();
            }
            Ok(done)
        })
    }

    /// Deletes up to `limit` events created before `before` (Unix ms), of every org but
    /// `except_orgs` (those with a window of their own are pruned by [`Self::prune_org_events`]);
    /// returns how many.
    pub async fn prune_events(
        &self,
        before: i64,
        limit: i64,
        except_orgs: &[Uuid],
    ) -> Result<u64, StoreError> {
        let except = if except_orgs.is_empty() {
            String::new()
        } else {
            let list: Vec<String> = (0..except_orgs.len())
                .map(|i| format!("${}", i + 3))
                .collect();
            format!(" AND org_id NOT IN ({})", list.join(", "))
        };
        let sql = format!(
            "DELETE FROM outbox_events WHERE id IN \
             (SELECT id FROM outbox_events WHERE created_at < $1{except} ORDER BY created_at LIMIT $2)"
        );
        with_pool!(self, pool => {
            let mut q = sqlx::query(&sql).bind(before).bind(limit);
            for org in except_orgs {
                q = q.bind(*org);
            }
            Ok(q.execute(pool).await?.rows_affected())
        })
    }

    /// Records a blob whose deletion failed, to retry from `next_at` (Unix ms).
    pub async fn defer_blob_deletion(
        &self,
        key: &str,
        error: &str,
        now: i64,
        next_at: i64,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO blob_deletions (blob_key, attempts, next_at, last_error, created_at) VALUES ($1, 1, $2, $3, $4) \
                 ON CONFLICT (blob_key) DO UPDATE SET attempts = blob_deletions.attempts + 1, \
                 next_at = excluded.next_at, last_error = excluded.last_error",
            )
            .bind(key).bind(next_at).bind(error).bind(now)
            .execute(pool).await?;
            Ok(())
        })
    }

    /// The deferred blob deletions due at `now`: (key, attempts so far), at most `limit`.
    pub async fn due_blob_deletions(
        &self,
        now: i64,
        limit: i64,
    ) -> Result<Vec<(String, i32)>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_as::<_, (String, i32)>(
            "SELECT blob_key, attempts FROM blob_deletions WHERE next_at <= $1 ORDER BY next_at LIMIT $2",
        ).bind(now).bind(limit).fetch_all(pool).await?))
    }

    /// Forgets a deferred deletion that has now succeeded.
    pub async fn blob_deleted(&self, key: &str) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("DELETE FROM blob_deletions WHERE blob_key = $1")
                .bind(key).execute(pool).await?;
            Ok(())
        })
    }
}
