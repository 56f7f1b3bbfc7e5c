//! Documents attached to a meeting (migration 0023): the sealed name and the sealed content
//! (extracted text, chunk places and index segment) of each pre-read. Callers hand ciphertext
//! only; the meeting's deletion cascades to its documents.

use uuid::Uuid;

use crate::identity::with_pool;
use crate::{Database, StoreError};

/// A document's row without its content (what a listing shows).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DocumentRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub meeting_id: Uuid,
    pub name: Vec<u8>,
    pub media_type: String,
    pub size_bytes: i64,
    pub chars: i64,
    pub chunks: i64,
    pub expires_at: Option<i64>,
    pub created_by: Uuid,
    pub created_at: i64,
}

const COLUMNS: &str = "id, org_id, meeting_id, name, media_type, size_bytes, chars, chunks, \
    expires_at, created_by, created_at";

impl Database {
    /// Stores a document unless the meeting is gone or already holds `max` documents; returns
    /// whether it was stored.
    pub async fn put_meeting_document(
        &self,
        row: &DocumentRow,
        content: &[u8],
        max: i64,
    ) -> Result<PutDocument, StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let exists: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM meetings WHERE org_id = $1 AND id = $2",
            )
            .bind(row.org_id).bind(row.meeting_id)
            .fetch_one(&mut *tx).await?;
            if exists == 0 {
                return Ok(PutDocument::NoMeeting);
            }
            let held: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM meeting_documents WHERE org_id = $1 AND meeting_id = $2",
            )
            .bind(row.org_id).bind(row.meeting_id)
            .fetch_one(&mut *tx).await?;
            if held >= max {
                return Ok(PutDocument::Full);
            }
            sqlx::query(&format!(
                "INSERT INTO meeting_documents ({COLUMNS}, content) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
            ))
            .bind(row.id).bind(row.org_id).bind(row.meeting_id).bind(&row.name)
            .bind(&row.media_type).bind(row.size_bytes).bind(row.chars).bind(row.chunks)
            .bind(row.expires_at).bind(row.created_by).bind(row.created_at).bind(content)
            .execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(PutDocument::Stored)
        })
    }

    /// A meeting's documents, oldest first (without their content).
    pub async fn meeting_documents(
        &self,
        org_id: Uuid,
        meeting_id: Uuid,
    ) -> Result<Vec<DocumentRow>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_as::<_, DocumentRow>(&format!(
            "SELECT {COLUMNS} FROM meeting_documents WHERE org_id = $1 AND meeting_id = $2 \
             ORDER BY created_at, id"
        )).bind(org_id).bind(meeting_id).fetch_all(pool).await?))
    }

    /// The org's meetings that hold a document (a search opens only theirs).
    pub async fn meetings_with_documents(
        &self,
        org_id: Uuid,
    ) -> Result<std::collections::HashSet<Uuid>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_scalar::<_, Uuid>(
            "SELECT DISTINCT meeting_id FROM meeting_documents WHERE org_id = $1",
        ).bind(org_id).fetch_all(pool).await?.into_iter().collect()))
    }

    /// A meeting's documents with their sealed content, oldest first.
    pub async fn meeting_document_contents(
        &self,
        org_id: Uuid,
        meeting_id: Uuid,
    ) -> Result<Vec<(DocumentRow, Vec<u8>)>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct WithContent {
            #[sqlx(flatten)]
            row: DocumentRow,
            content: Vec<u8>,
        }
        with_pool!(self, pool => Ok(sqlx::query_as::<_, WithContent>(&format!(
            "SELECT {COLUMNS}, content FROM meeting_documents WHERE org_id = $1 AND meeting_id = $2 \
             ORDER BY created_at, id"
        )).bind(org_id).bind(meeting_id).fetch_all(pool).await?
            .into_iter().map(|w| (w.row, w.content)).collect()))
    }

    /// Deletes one document; false when it was not there (idempotent).
    pub async fn delete_meeting_document(
        &self,
        org_id: Uuid,
        meeting_id: Uuid,
        id: Uuid,
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query(
            "DELETE FROM meeting_documents WHERE org_id = $1 AND meeting_id = $2 AND id = $3",
        ).bind(org_id).bind(meeting_id).bind(id).execute(pool).await?.rows_affected() > 0))
    }

    /// Deletes a meeting's documents — only the ephemeral ones (the meeting ended) or all of
    /// them (its transcript's retention came due); idempotent. Returns how many.
    pub async fn delete_meeting_documents(
        &self,
        org_id: Uuid,
        meeting_id: Uuid,
        ephemeral_only: bool,
    ) -> Result<u64, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query(
            "DELETE FROM meeting_documents WHERE org_id = $1 AND meeting_id = $2 \
             AND ($3 = FALSE OR expires_at IS NOT NULL)",
        ).bind(org_id).bind(meeting_id).bind(ephemeral_only).execute(pool).await?.rows_affected()))
    }

    /// Deletes up to `limit` documents whose time ran out at `now` (Unix ms); returns each
    /// one's org, meeting and id (for the audit log).
    pub async fn purge_expired_documents(
        &self,
        now: i64,
        limit: i64,
    ) -> Result<Vec<(Uuid, Uuid, Uuid)>, StoreError> {
        with_pool!(self, pool => {
            let due: Vec<(Uuid, Uuid, Uuid)> = sqlx::query_as(
                "SELECT org_id, meeting_id, id FROM meeting_documents \
                 WHERE expires_at IS NOT NULL AND expires_at <= $1 ORDER BY expires_at LIMIT $2",
            ).bind(now).bind(limit).fetch_all(pool).await?;
            let mut gone = Vec::with_capacity(due.len());
            for (org, meeting, id) in due {
                let n = sqlx::query("DELETE FROM meeting_documents WHERE id = $1 AND expires_at <= $2")
                    .bind(id).bind(now).execute(pool).await?.rows_affected();
                if n > 0 {
                    gone.push((org, meeting, id));
                }
            }
            Ok(gone)
        })
    }
}

/// What [`Database::put_meeting_document`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutDocument {
    Stored,
    NoMeeting,
    /// The meeting holds the most documents allowed.
    Full,
}
