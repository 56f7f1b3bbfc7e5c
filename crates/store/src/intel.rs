//! Meeting intelligence rows (migration 0022): a meeting's sealed summary and sealed search
//! index segment. Callers hand ciphertext only; the meeting's deletion cascades to its row.

use uuid::Uuid;

use crate::identity::with_pool;
use crate::outbox::{NewEvent, append_event};
use crate::vault::{MEETING_COLUMNS, MeetingQuery, MeetingRow};
use crate::{Database, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct IntelRow {
    pub meeting_id: Uuid,
    pub org_id: Uuid,
    pub summary: Option<Vec<u8>>,
    pub generated_by: Option<String>,
    pub generated_at: Option<i64>,
    pub edited_at: Option<i64>,
    pub edited_by: Option<Uuid>,
    pub search_index: Option<Vec<u8>>,
    pub indexed_at: Option<i64>,
    pub source_segments: i64,
}

const COLUMNS: &str = "meeting_id, org_id, summary, generated_by, generated_at, edited_at, \
    edited_by, search_index, indexed_at, source_segments";

impl Database {
    /// Stores a freshly generated summary and index (replacing any earlier one, edits too)
    /// with its events, in one transaction. Nothing is written when the meeting is gone.
    pub async fn put_meeting_intel(
        &self,
        row: &IntelRow,
        events: &[NewEvent],
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let exists: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM meetings WHERE org_id = $1 AND id = $2",
            )
            .bind(row.org_id).bind(row.meeting_id)
            .fetch_one(&mut *tx).await?;
            if exists == 0 {
                return Ok(false);
            }
            sqlx::query(&format!(
                "INSERT INTO meeting_intel ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                 ON CONFLICT (meeting_id) DO UPDATE SET summary = excluded.summary, \
                 generated_by = excluded.generated_by, generated_at = excluded.generated_at, \
                 edited_at = excluded.edited_at, edited_by = excluded.edited_by, \
                 search_index = excluded.search_index, indexed_at = excluded.indexed_at, \
                 source_segments = excluded.source_segments"
            ))
            .bind(row.meeting_id).bind(row.org_id).bind(&row.summary).bind(&row.generated_by)
            .bind(row.generated_at).bind(row.edited_at).bind(row.edited_by)
            .bind(&row.search_index).bind(row.indexed_at).bind(row.source_segments)
            .execute(&mut *tx).await?;
            for e in events {
                append_event!(tx, e);
            }
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Replaces a summary with its owner's edit; false when there is no summary to edit.
    pub async fn edit_meeting_summary(
        &self,
        org_id: Uuid,
        meeting_id: Uuid,
        summary: &[u8],
        edited_at: i64,
        edited_by: Uuid,
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => {
            let done = sqlx::query(
                "UPDATE meeting_intel SET summary = $3, edited_at = $4, edited_by = $5 \
                 WHERE org_id = $1 AND meeting_id = $2 AND summary IS NOT NULL",
            )
            .bind(org_id).bind(meeting_id).bind(summary).bind(edited_at).bind(edited_by)
            .execute(pool).await?;
            Ok(done.rows_affected() > 0)
        })
    }

    /// A meeting's intelligence row, if anything was made for it.
    pub async fn meeting_intel(
        &self,
        org_id: Uuid,
        meeting_id: Uuid,
    ) -> Result<Option<IntelRow>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_as::<_, IntelRow>(&format!(
            "SELECT {COLUMNS} FROM meeting_intel WHERE org_id = $1 AND meeting_id = $2"
        )).bind(org_id).bind(meeting_id).fetch_optional(pool).await?))
    }

    /// Deletes a meeting's summary and index (its transcript was purged); idempotent.
    pub async fn delete_meeting_intel(
        &self,
        org_id: Uuid,
        meeting_id: Uuid,
    ) -> Result<u64, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query(
            "DELETE FROM meeting_intel WHERE org_id = $1 AND meeting_id = $2",
        ).bind(org_id).bind(meeting_id).execute(pool).await?.rows_affected()))
    }

    /// The meetings a search may load, newest first: those with an index segment or an
    /// attached document, confined
    /// like the meeting list (`org_id`, `workspace_id`, `within`, `from`/`to` on
    /// `created_at`; `before` and `limit` as there). The caller opens each one's keys.
    pub async fn indexed_meetings(&self, q: &MeetingQuery) -> Result<Vec<MeetingRow>, StoreError> {
        let within = crate::vault::within_clause(q.within.as_deref(), 8);
        let sql = format!(
            "SELECT {MEETING_COLUMNS} FROM meetings WHERE org_id = $1 \
             AND ($2 IS NULL OR workspace_id = $2) \
             AND ($3 IS NULL OR created_at >= $3) AND ($4 IS NULL OR created_at < $4) \
             AND ($5 IS NULL OR created_at < $5 OR (created_at = $5 AND id < $6)){within} \
             AND (id IN (SELECT meeting_id FROM meeting_intel WHERE org_id = $1 AND search_index IS NOT NULL) \
             OR id IN (SELECT meeting_id FROM meeting_documents WHERE org_id = $1)) \
             ORDER BY created_at DESC, id DESC LIMIT $7"
        );
        let (after_at, after_id) = match q.before {
            Some((at, id)) => (Some(at), Some(id)),
            None => (None, None),
        };
        with_pool!(self, pool => {
            let mut query = sqlx::query_as::<_, MeetingRow>(&sql)
                .bind(q.org_id).bind(q.workspace_id).bind(q.from).bind(q.to).bind(after_at).bind(after_id).bind(q.limit);
            for ws in q.within.iter().flatten() {
                query = query.bind(*ws);
            }
            Ok(query.fetch_all(pool).await?)
        })
    }
}

impl Database {
    /// The org's intelligence settings (JSON), if it set any.
    pub async fn org_intelligence(&self, org_id: Uuid) -> Result<Option<String>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_scalar::<_, Option<String>>(
            "SELECT intelligence FROM orgs WHERE id = $1",
        ).bind(org_id).fetch_optional(pool).await?.flatten()))
    }

    /// Sets (or, with `None`, clears) the org's intelligence settings.
    pub async fn put_org_intelligence(
        &self,
        org_id: Uuid,
        settings: Option<&str>,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("UPDATE orgs SET intelligence = $2 WHERE id = $1")
                .bind(org_id).bind(settings).execute(pool).await?;
            Ok(())
        })
    }

    /// A workspace's intelligence settings (JSON), if it set any.
    pub async fn workspace_intelligence(
        &self,
        org_id: Uuid,
        workspace_id: Uuid,
    ) -> Result<Option<String>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_scalar::<_, Option<String>>(
            "SELECT intelligence FROM workspaces WHERE org_id = $1 AND id = $2",
        ).bind(org_id).bind(workspace_id).fetch_optional(pool).await?.flatten()))
    }

    /// Sets (or clears) a workspace's intelligence settings; false when there is no such
    /// workspace.
    pub async fn put_workspace_intelligence(
        &self,
        org_id: Uuid,
        workspace_id: Uuid,
        settings: Option<&str>,
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query(
            "UPDATE workspaces SET intelligence = $3 WHERE org_id = $1 AND id = $2",
        ).bind(org_id).bind(workspace_id).bind(settings).execute(pool).await?.rows_affected() == 1))
    }

    /// Every distinct intelligence setting stored below the org (its workspaces' and its
    /// meetings'): the processors list names each remote provider among them.
    pub async fn scoped_intelligence(&self, org_id: Uuid) -> Result<Vec<String>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_scalar::<_, String>(
            "SELECT DISTINCT intelligence FROM workspaces WHERE org_id = $1 AND intelligence IS NOT NULL \
             UNION SELECT DISTINCT intelligence FROM meetings WHERE org_id = $1 AND intelligence IS NOT NULL",
        ).bind(org_id).fetch_all(pool).await?))
    }
}
