//! Voice-intake widgets (migration 0030): the widgets an org embeds, its visitors' sessions
//! and what their submissions became. A session's chunks are counted compare-and-set (chunk
//! `n` lands only after `n - 1`, and only while the session is open and under its size cap),
//! and a session is submitted once (`open` → `submitted`). Every read and write takes the
//! `org_id` it is confined to, except the two a visitor's request starts from: a widget by
//! its id and a session by its token's hash.

use uuid::Uuid;

use crate::identity::with_pool;
use crate::{Database, StoreError};

/// A widget.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct WidgetRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub workspace_id: Uuid,
    pub owner_id: Uuid,
    pub name: String,
    /// JSON: a list of origins.
    pub allowed_origins: String,
    /// JSON: the widget's settings.
    pub settings: String,
    /// JSON: retention windows, or none.
    pub retention: Option<String>,
    pub secret: Vec<u8>,
    pub enabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, org_id, workspace_id, owner_id, name, allowed_origins, settings, \
    retention, secret, enabled, created_at, updated_at";

/// An owner's change to a widget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WidgetChange {
    pub workspace_id: Uuid,
    pub name: String,
    pub allowed_origins: String,
    pub settings: String,
    pub retention: Option<String>,
    pub enabled: bool,
    pub updated_at: i64,
}

/// A visitor's session.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct WidgetSessionRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub widget_id: Uuid,
    pub token_hash: String,
    /// The verified identity claims, sealed under the org's key.
    pub visitor: Option<Vec<u8>>,
    pub chunks: i32,
    pub bytes: i64,
    /// `open` or `submitted`.
    pub state: String,
    /// The meeting a submission becomes (set when submitted).
    pub meeting_id: Option<Uuid>,
    pub created_at: i64,
    pub expires_at: i64,
}

const SESSION_COLUMNS: &str = "id, org_id, widget_id, token_hash, visitor, chunks, bytes, state, \
    meeting_id, created_at, expires_at";

/// What a submission became.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct WidgetSubmissionRow {
    pub meeting_id: Uuid,
    pub org_id: Uuid,
    pub widget_id: Option<Uuid>,
    /// The verified claims, sealed under the meeting's key.
    pub visitor: Option<Vec<u8>>,
    /// The widget asked for a summary after the transcript.
    pub summarize: bool,
    pub created_at: i64,
}

impl Database {
    pub async fn insert_widget(&self, r: &WidgetRow) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO widgets ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
             $11, $12)"
        );
        with_pool!(self, pool => {
            sqlx::query(&sql)
                .bind(r.id).bind(r.org_id).bind(r.workspace_id).bind(r.owner_id).bind(&r.name)
                .bind(&r.allowed_origins).bind(&r.settings).bind(&r.retention).bind(&r.secret)
                .bind(r.enabled).bind(r.created_at).bind(r.updated_at)
                .execute(pool).await?;
            Ok(())
        })
    }

    /// The org's widgets, oldest first.
    pub async fn widgets(&self, org_id: Uuid) -> Result<Vec<WidgetRow>, StoreError> {
        let sql =
            format!("SELECT {COLUMNS} FROM widgets WHERE org_id = $1 ORDER BY created_at, id");
        with_pool!(self, pool => Ok(sqlx::query_as::<_, WidgetRow>(&sql)
            .bind(org_id).fetch_all(pool).await?))
    }

    pub async fn widget(&self, org_id: Uuid, id: Uuid) -> Result<Option<WidgetRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM widgets WHERE org_id = $1 AND id = $2");
        with_pool!(self, pool => Ok(sqlx::query_as::<_, WidgetRow>(&sql)
            .bind(org_id).bind(id).fetch_optional(pool).await?))
    }

    /// A widget by its id alone: a visitor's request names only the widget.
    pub async fn public_widget(&self, id: Uuid) -> Result<Option<WidgetRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM widgets WHERE id = $1");
        with_pool!(self, pool => Ok(sqlx::query_as::<_, WidgetRow>(&sql)
            .bind(id).fetch_optional(pool).await?))
    }

    /// False when there is no such widget.
    pub async fn update_widget(
        &self,
        org_id: Uuid,
        id: Uuid,
        c: &WidgetChange,
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => {
            let done = sqlx::query(
                "UPDATE widgets SET workspace_id = $3, name = $4, allowed_origins = $5, \
                 settings = $6, retention = $7, enabled = $8, updated_at = $9 \
                 WHERE org_id = $1 AND id = $2",
            )
            .bind(org_id).bind(id).bind(c.workspace_id).bind(&c.name).bind(&c.allowed_origins)
            .bind(&c.settings).bind(&c.retention).bind(c.enabled).bind(c.updated_at)
            .execute(pool).await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// A new sealed secret; false when there is no such widget.
    pub async fn set_widget_secret(
        &self,
        org_id: Uuid,
        id: Uuid,
        secret: &[u8],
        now: i64,
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => {
            let done = sqlx::query(
                "UPDATE widgets SET secret = $3, updated_at = $4 WHERE org_id = $1 AND id = $2",
            )
            .bind(org_id).bind(id).bind(secret).bind(now)
            .execute(pool).await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Deletes a widget and its sessions (their chunk blobs are the caller's); false when
    /// there is no such widget.
    pub async fn delete_widget(&self, org_id: Uuid, id: Uuid) -> Result<bool, StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM widget_sessions WHERE org_id = $1 AND widget_id = $2")
                .bind(org_id).bind(id).execute(&mut *tx).await?;
            let done = sqlx::query("DELETE FROM widgets WHERE org_id = $1 AND id = $2")
                .bind(org_id).bind(id).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(done.rows_affected() == 1)
        })
    }

    pub async fn insert_widget_session(&self, r: &WidgetSessionRow) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO widget_sessions ({SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, \
             $8, $9, $10, $11)"
        );
        with_pool!(self, pool => {
            sqlx::query(&sql)
                .bind(r.id).bind(r.org_id).bind(r.widget_id).bind(&r.token_hash).bind(&r.visitor)
                .bind(r.chunks).bind(r.bytes).bind(&r.state).bind(r.meeting_id)
                .bind(r.created_at).bind(r.expires_at)
                .execute(pool).await?;
            Ok(())
        })
    }

    /// A widget's sessions (to delete with it).
    pub async fn widget_sessions_of(
        &self,
        org_id: Uuid,
        widget_id: Uuid,
    ) -> Result<Vec<WidgetSessionRow>, StoreError> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM widget_sessions WHERE org_id = $1 AND widget_id = $2"
        );
        with_pool!(self, pool => Ok(sqlx::query_as::<_, WidgetSessionRow>(&sql)
            .bind(org_id).bind(widget_id).fetch_all(pool).await?))
    }

    /// A session by its token's SHA-256 (hex).
    pub async fn widget_session_by_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<WidgetSessionRow>, StoreError> {
        let sql = format!("SELECT {SESSION_COLUMNS} FROM widget_sessions WHERE token_hash = $1");
        with_pool!(self, pool => Ok(sqlx::query_as::<_, WidgetSessionRow>(&sql)
            .bind(token_hash).fetch_optional(pool).await?))
    }

    pub async fn widget_session(
        &self,
        org_id: Uuid,
        id: Uuid,
    ) -> Result<Option<WidgetSessionRow>, StoreError> {
        let sql =
            format!("SELECT {SESSION_COLUMNS} FROM widget_sessions WHERE org_id = $1 AND id = $2");
        with_pool!(self, pool => Ok(sqlx::query_as::<_, WidgetSessionRow>(&sql)
            .bind(org_id).bind(id).fetch_optional(pool).await?))
    }

    /// Reserves position `seq` for a chunk of `bytes` bytes, before its blob is written: only
    /// if it is the next one, the session is open and the total stays within `max_bytes`, so
    /// of two uploads of one position only one writes. False otherwise (nothing changes).
    pub async fn widget_chunk_added(
        &self,
        org_id: Uuid,
        id: Uuid,
        seq: i32,
        bytes: i64,
        max_bytes: i64,
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => {
            let done = sqlx::query(
                "UPDATE widget_sessions SET chunks = chunks + 1, bytes = bytes + $4 \
                 WHERE org_id = $1 AND id = $2 AND chunks = $3 AND state = 'open' \
                 AND bytes + $4 <= $5",
            )
            .bind(org_id).bind(id).bind(seq).bind(bytes).bind(max_bytes)
            .execute(pool).await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Gives back position `seq` when its chunk's blob could not be written (only while
    /// nothing came after it).
    pub async fn widget_chunk_unreserve(
        &self,
        org_id: Uuid,
        id: Uuid,
        seq: i32,
        bytes: i64,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query(
                "UPDATE widget_sessions SET chunks = chunks - 1, bytes = bytes - $4 \
                 WHERE org_id = $1 AND id = $2 AND chunks = $3 + 1 AND state = 'open'",
            )
            .bind(org_id).bind(id).bind(seq).bind(bytes)
            .execute(pool).await?;
            Ok(())
        })
    }

    /// `open` → `submitted`, naming the meeting it becomes and how long the submission job
    /// has (`expires_at`); false when it was not open, held no chunk, or expired by `now`.
    pub async fn submit_widget_session(
        &self,
        org_id: Uuid,
        id: Uuid,
        meeting_id: Uuid,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => {
            let done = sqlx::query(
                "UPDATE widget_sessions SET state = 'submitted', meeting_id = $3, \
                 expires_at = $4 WHERE org_id = $1 AND id = $2 AND state = 'open' AND chunks > 0 \
                 AND expires_at >= $5",
            )
            .bind(org_id).bind(id).bind(meeting_id).bind(expires_at).bind(now)
            .execute(pool).await?;
            Ok(done.rows_affected() == 1)
        })
    }

    pub async fn delete_widget_session(&self, org_id: Uuid, id: Uuid) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("DELETE FROM widget_sessions WHERE org_id = $1 AND id = $2")
                .bind(org_id).bind(id).execute(pool).await?;
            Ok(())
        })
    }

    /// Up to `limit` sessions past their expiry: open ones never submitted, and submitted ones
    /// whose job did not finish in its time (the sweeper claims each, then deletes its chunks).
    pub async fn expired_widget_sessions(
        &self,
        now: i64,
        limit: i64,
    ) -> Result<Vec<WidgetSessionRow>, StoreError> {
        let sql = format!(
            "SELECT {SESSION_COLUMNS} FROM widget_sessions WHERE expires_at < $1 \
             ORDER BY expires_at LIMIT $2"
        );
        with_pool!(self, pool => Ok(sqlx::query_as::<_, WidgetSessionRow>(&sql)
            .bind(now).bind(limit).fetch_all(pool).await?))
    }

    /// Deletes a session if it is still past its expiry at `now`: true for the one caller that
    /// then deletes its chunks (a submission that won the race keeps them).
    pub async fn claim_expired_widget_session(
        &self,
        org_id: Uuid,
        id: Uuid,
        now: i64,
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => {
            let done = sqlx::query(
                "DELETE FROM widget_sessions WHERE org_id = $1 AND id = $2 AND expires_at < $3",
            )
            .bind(org_id).bind(id).bind(now)
            .execute(pool).await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Records what a submission became (a repeat of the same meeting changes nothing).
    pub async fn insert_widget_submission(
        &self,
        r: &WidgetSubmissionRow,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO widget_submissions (meeting_id, org_id, widget_id, visitor, summarize, \
                 created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (meeting_id) DO NOTHING",
            )
            .bind(r.meeting_id).bind(r.org_id).bind(r.widget_id).bind(&r.visitor)
            .bind(r.summarize).bind(r.created_at)
            .execute(pool).await?;
            Ok(())
        })
    }

    pub async fn widget_submission(
        &self,
        org_id: Uuid,
        meeting_id: Uuid,
    ) -> Result<Option<WidgetSubmissionRow>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_as::<_, WidgetSubmissionRow>(
            "SELECT meeting_id, org_id, widget_id, visitor, summarize, created_at FROM widget_submissions \
             WHERE org_id = $1 AND meeting_id = $2",
        ).bind(org_id).bind(meeting_id).fetch_optional(pool).await?))
    }
}
