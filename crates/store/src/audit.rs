//! The audit log's rows: append (serialized, gapless sequence), reads by org with filters and a
//! cursor, whole-log reads for verification, signed checkpoints, and per-subject keys. Rows are
//! never updated or deleted (triggers refuse it); erasing a subject clears only its key.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::identity::{LOCK_AUDIT_APPEND, with_pool, with_write_tx};
use crate::{Database, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditRow {
    pub seq: i64,
    pub created_at: DateTime<Utc>,
    pub org_id: Option<Uuid>,
    pub action: String,
    pub actor: String,
    pub resource: Option<String>,
    pub outcome: String,
    pub reason: Option<String>,
    pub subject_id: Option<Uuid>,
    /// Personal data sealed under the subject's key.
    pub personal: Option<Vec<u8>>,
    /// The canonical JSON the leaf hash commits to.
    pub entry: String,
    pub leaf_hash: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CheckpointRow {
    pub tree_size: i64,
    pub root_hash: Vec<u8>,
    pub note: String,
    pub created_at: DateTime<Utc>,
}

/// Filters for an org's audit listing. `after_seq` is the cursor.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub action: Option<String>,
    pub actor: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub after_seq: Option<i64>,
    pub limit: i64,
}

const COLUMNS: &str = "seq, created_at, org_id, action, actor, resource, outcome, reason, subject_id, \
                       personal, entry, leaf_hash";

impl Database {
    /// Appends one entry. `build` receives the next sequence number (1-based, gapless) and
    /// returns the row to insert, so the entry can commit to its own position.
    pub async fn append_audit(
        &self,
        build: impl FnOnce(i64) -> Result<AuditRow, StoreError>,
    ) -> Result<AuditRow, StoreError> {
        with_write_tx!(self, LOCK_AUDIT_APPEND, tx => {
            let last: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM audit_log")
                .fetch_one(&mut *tx)
                .await?;
            let row = build(last.unwrap_or(0) + 1)?;
            sqlx::query(
                "INSERT INTO audit_log (seq, created_at, org_id, action, actor, resource, outcome, \
                 reason, subject_id, personal, entry, leaf_hash) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(row.seq).bind(row.created_at).bind(row.org_id).bind(&row.action).bind(&row.actor)
            .bind(&row.resource).bind(&row.outcome).bind(&row.reason).bind(row.subject_id)
            .bind(&row.personal).bind(&row.entry).bind(&row.leaf_hash)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(row)
        })
    }

    /// An org's entries, oldest first after the cursor.
    pub async fn audit_entries(
        &self,
        org_id: Uuid,
        f: &AuditFilter,
    ) -> Result<Vec<AuditRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM audit_log WHERE org_id = $1 \
             AND ($2 IS NULL OR action = $2) AND ($3 IS NULL OR actor = $3) \
             AND ($4 IS NULL OR created_at >= $4) AND ($5 IS NULL OR created_at < $5) \
             AND seq > $6 ORDER BY seq LIMIT $7"
        );
        with_pool!(self, pool => Ok(sqlx::query_as::<_, AuditRow>(&sql)
            .bind(org_id).bind(&f.action).bind(&f.actor).bind(f.since).bind(f.until)
            .bind(f.after_seq.unwrap_or(0)).bind(f.limit)
            .fetch_all(pool).await?))
    }

    /// One entry, if it belongs to `org_id`.
    pub async fn audit_entry(
        &self,
        org_id: Uuid,
        seq: i64,
    ) -> Result<Option<AuditRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM audit_log WHERE org_id = $1 AND seq = $2");
        with_pool!(self, pool => Ok(sqlx::query_as::<_, AuditRow>(&sql).bind(org_id).bind(seq).fetch_optional(pool).await?))
    }

    /// Every entry in sequence order, for verification and exports (instance-level: the CLI).
    pub async fn audit_all(&self) -> Result<Vec<AuditRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM audit_log ORDER BY seq");
        with_pool!(self, pool => Ok(sqlx::query_as::<_, AuditRow>(&sql).fetch_all(pool).await?))
    }

    /// The leaf hashes of entries 1..=size in order (for roots and proofs).
    pub async fn audit_leaf_hashes(&self, size: i64) -> Result<Vec<Vec<u8>>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_scalar(
            "SELECT leaf_hash FROM audit_log WHERE seq <= $1 ORDER BY seq",
        ).bind(size).fetch_all(pool).await?))
    }

    pub async fn audit_size(&self) -> Result<i64, StoreError> {
        with_pool!(self, pool => {
            let n: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM audit_log").fetch_one(pool).await?;
            Ok(n.unwrap_or(0))
        })
    }

    /// Records a checkpoint; false if one for that size already exists (another instance wrote it).
    pub async fn insert_checkpoint(&self, row: &CheckpointRow) -> Result<bool, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query(
            "INSERT INTO audit_checkpoints (tree_size, root_hash, note, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tree_size) DO NOTHING",
        ).bind(row.tree_size).bind(&row.root_hash).bind(&row.note).bind(row.created_at)
            .execute(pool).await?.rows_affected() > 0))
    }

    pub async fn latest_checkpoint(&self) -> Result<Option<CheckpointRow>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_as::<_, CheckpointRow>(
            "SELECT tree_size, root_hash, note, created_at FROM audit_checkpoints ORDER BY tree_size DESC LIMIT 1",
        ).fetch_optional(pool).await?))
    }

    pub async fn checkpoints(&self) -> Result<Vec<CheckpointRow>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_as::<_, CheckpointRow>(
            "SELECT tree_size, root_hash, note, created_at FROM audit_checkpoints ORDER BY tree_size",
        ).fetch_all(pool).await?))
    }

    pub async fn insert_audit_subject(
        &self,
        id: Uuid,
        key: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("INSERT INTO audit_subjects (id, subject_key, created_at) VALUES ($1, $2, $3) \
                         ON CONFLICT (id) DO NOTHING")
                .bind(id).bind(key).bind(now).execute(pool).await?;
            Ok(())
        })
    }

    /// The subject's key; `None` when unknown or erased.
    pub async fn audit_subject_key(&self, id: Uuid) -> Result<Option<Vec<u8>>, StoreError> {
        with_pool!(self, pool => {
            let key: Option<Option<Vec<u8>>> = sqlx::query_scalar("SELECT subject_key FROM audit_subjects WHERE id = $1")
                .bind(id).fetch_optional(pool).await?;
            Ok(key.flatten())
        })
    }

    /// Crypto-shreds a subject: its sealed personal data becomes unreadable, proofs stay valid.
    pub async fn erase_audit_subject(
        &self,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query(
            "UPDATE audit_subjects SET subject_key = NULL, erased_at = $1 WHERE id = $2 AND subject_key IS NOT NULL",
        ).bind(now).bind(id).execute(pool).await?.rows_affected() > 0))
    }
}
