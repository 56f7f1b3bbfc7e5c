//! The customer's own buckets (migration 0015). Credentials are an envelope made by the caller.
//! Every read and write takes the `org_id` it is confined to.

use uuid::Uuid;

use crate::identity::with_pool;
use crate::{Database, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DestinationRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    pub endpoint: Option<String>,
    pub region: String,
    pub bucket: String,
    pub prefix: String,
    pub path_style: bool,
    pub credentials: Vec<u8>,
    pub key_hint: String,
    pub age_recipient: Option<String>,
    pub is_default: bool,
    /// With `is_default`: the default of this workspace (else of the org).
    pub workspace_id: Option<Uuid>,
    /// meetvault may delete what it wrote here (migration 0021).
    pub allow_delete: bool,
    pub created_by: Option<Uuid>,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, org_id, name, endpoint, region, bucket, prefix, path_style, credentials, \
    key_hint, age_recipient, is_default, workspace_id, allow_delete, created_by, created_at, updated_at";

impl Database {
    /// Adds a destination, or replaces one of the org's (same id); a new default ends the
    /// org's other default, in the same transaction.
    pub async fn put_destination(&self, d: &DestinationRow) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO destinations ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, endpoint = excluded.endpoint, \
             region = excluded.region, bucket = excluded.bucket, prefix = excluded.prefix, \
             path_style = excluded.path_style, credentials = excluded.credentials, \
             key_hint = excluded.key_hint, age_recipient = excluded.age_recipient, is_default = excluded.is_default, \
             workspace_id = excluded.workspace_id, allow_delete = excluded.allow_delete, updated_at = excluded.updated_at \
             WHERE destinations.org_id = excluded.org_id"
        );
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            if d.is_default {
                // One default per level: the org's, and each workspace's.
                sqlx::query(
                    "UPDATE destinations SET is_default = FALSE WHERE org_id = $1 AND id <> $2 \
                     AND ((workspace_id IS NULL AND $3 IS NULL) OR workspace_id = $3)",
                )
                .bind(d.org_id).bind(d.id).bind(d.workspace_id).execute(&mut *tx).await?;
            }
            sqlx::query(&sql)
                .bind(d.id).bind(d.org_id).bind(&d.name).bind(&d.endpoint).bind(&d.region)
                .bind(&d.bucket).bind(&d.prefix).bind(d.path_style).bind(&d.credentials)
                .bind(&d.key_hint).bind(&d.age_recipient).bind(d.is_default).bind(d.workspace_id).bind(d.allow_delete).bind(d.created_by).bind(d.created_at)
                .bind(d.updated_at)
                .execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Changes only the flags given (so two changes at once cannot undo each other); a new
    /// default ends the other default at its level, in the same transaction. False if there
    /// is no such destination.
    pub async fn set_destination_flags(
        &self,
        org_id: Uuid,
        id: Uuid,
        is_default: Option<bool>,
        allow_delete: Option<bool>,
        now: i64,
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let level: Option<(Option<Uuid>,)> = sqlx::query_as(
                "SELECT workspace_id FROM destinations WHERE org_id = $1 AND id = $2",
            )
            .bind(org_id).bind(id).fetch_optional(&mut *tx).await?;
            let Some((workspace_id,)) = level else {
                return Ok(false);
            };
            if is_default == Some(true) {
                sqlx::query(
                    "UPDATE destinations SET is_default = FALSE WHERE org_id = $1 AND id <> $2 \
                     AND ((workspace_id IS NULL AND $3 IS NULL) OR workspace_id = $3)",
                )
                .bind(org_id).bind(id).bind(workspace_id).execute(&mut *tx).await?;
            }
            sqlx::query(
                "UPDATE destinations SET is_default = COALESCE($3, is_default), \
                 allow_delete = COALESCE($4, allow_delete), updated_at = $5 \
                 WHERE org_id = $1 AND id = $2",
            )
            .bind(org_id).bind(id).bind(is_default).bind(allow_delete).bind(now)
            .execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    pub async fn destinations(&self, org_id: Uuid) -> Result<Vec<DestinationRow>, StoreError> {
        let sql =
            format!("SELECT {COLUMNS} FROM destinations WHERE org_id = $1 ORDER BY created_at, id");
        with_pool!(self, pool => Ok(sqlx::query_as::<_, DestinationRow>(&sql)
            .bind(org_id).fetch_all(pool).await?))
    }

    pub async fn destination(
        &self,
        org_id: Uuid,
        id: Uuid,
    ) -> Result<Option<DestinationRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM destinations WHERE org_id = $1 AND id = $2");
        with_pool!(self, pool => Ok(sqlx::query_as::<_, DestinationRow>(&sql)
            .bind(org_id).bind(id).fetch_optional(pool).await?))
    }

    /// The default destination for a meeting of `workspace`: the workspace's, else the org's.
    pub async fn default_destination(
        &self,
        org_id: Uuid,
        workspace: Option<Uuid>,
    ) -> Result<Option<DestinationRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM destinations WHERE org_id = $1 AND is_default \
             AND (workspace_id IS NULL OR workspace_id = $2) \
             ORDER BY CASE WHEN workspace_id IS NULL THEN 1 ELSE 0 END, created_at LIMIT 1"
        );
        with_pool!(self, pool => Ok(sqlx::query_as::<_, DestinationRow>(&sql)
            .bind(org_id).bind(workspace).fetch_optional(pool).await?))
    }

    pub async fn delete_destination(&self, org_id: Uuid, id: Uuid) -> Result<bool, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query("DELETE FROM destinations WHERE org_id = $1 AND id = $2")
            .bind(org_id).bind(id).execute(pool).await?.rows_affected() == 1))
    }
}

/// One track of a bot streamed into a destination as a multipart upload (migration 0016).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BucketUploadRow {
    /// Also the recording the track becomes.
    pub id: Uuid,
    pub org_id: Uuid,
    pub bot_id: Uuid,
    pub meeting_id: Uuid,
    pub destination_id: Uuid,
    pub track: String,
    pub object_key: String,
    pub upload_id: Option<String>,
    /// `creating`, `open`, `completed` or `aborted`.
    pub state: String,
    /// JSON `[{"n", "etag", "sha256"}]`.
    pub parts: String,
    pub sent: i64,
    pub resume_seq: i64,
    pub resume_base: i64,
    pub age_header: Option<Vec<u8>>,
    pub age_key: Option<Vec<u8>>,
    pub error: Option<String>,
    pub error_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

const UPLOAD_COLUMNS: &str = "id, org_id, bot_id, meeting_id, destination_id, track, object_key, \
    upload_id, state, parts, sent, resume_seq, resume_base, age_header, age_key, error, error_at, \
    created_at, updated_at";

impl Database {
    /// Records a new upload before S3 is asked for it; false if the track has one already.
    pub async fn insert_bucket_upload(&self, u: &BucketUploadRow) -> Result<bool, StoreError> {
        let sql = format!(
            "INSERT INTO bucket_uploads ({UPLOAD_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
             $11, $12, $13, $14, $15, $16, $17, $18, $19) ON CONFLICT (bot_id, track) DO NOTHING"
        );
        with_pool!(self, pool => Ok(sqlx::query(&sql)
            .bind(u.id).bind(u.org_id).bind(u.bot_id).bind(u.meeting_id).bind(u.destination_id)
            .bind(&u.track).bind(&u.object_key).bind(&u.upload_id).bind(&u.state).bind(&u.parts)
            .bind(u.sent).bind(u.resume_seq).bind(u.resume_base).bind(&u.age_header).bind(&u.age_key)
            .bind(&u.error).bind(u.error_at).bind(u.created_at).bind(u.updated_at)
            .execute(pool).await?.rows_affected() == 1))
    }

    /// Writes an upload's progress (everything but its identity).
    pub async fn update_bucket_upload(&self, u: &BucketUploadRow) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query(
                "UPDATE bucket_uploads SET upload_id = $3, state = $4, parts = $5, sent = $6, \
                 resume_seq = $7, resume_base = $8, age_header = $9, age_key = $10, error = $11, \
                 error_at = $12, updated_at = $13 WHERE org_id = $1 AND id = $2",
            )
            .bind(u.org_id).bind(u.id).bind(&u.upload_id).bind(&u.state).bind(&u.parts).bind(u.sent)
            .bind(u.resume_seq).bind(u.resume_base).bind(&u.age_header).bind(&u.age_key)
            .bind(&u.error).bind(u.error_at).bind(u.updated_at)
            .execute(pool).await?;
            Ok(())
        })
    }

    pub async fn bucket_upload(
        &self,
        org_id: Uuid,
        bot_id: Uuid,
        track: &str,
    ) -> Result<Option<BucketUploadRow>, StoreError> {
        let sql = format!(
            "SELECT {UPLOAD_COLUMNS} FROM bucket_uploads WHERE org_id = $1 AND bot_id = $2 AND track = $3"
        );
        with_pool!(self, pool => Ok(sqlx::query_as::<_, BucketUploadRow>(&sql)
            .bind(org_id).bind(bot_id).bind(track).fetch_optional(pool).await?))
    }

    /// The upload whose track became recording `id`.
    pub async fn bucket_upload_by_id(
        &self,
        org_id: Uuid,
        id: Uuid,
    ) -> Result<Option<BucketUploadRow>, StoreError> {
        let sql =
            format!("SELECT {UPLOAD_COLUMNS} FROM bucket_uploads WHERE org_id = $1 AND id = $2");
        with_pool!(self, pool => Ok(sqlx::query_as::<_, BucketUploadRow>(&sql)
            .bind(org_id).bind(id).fetch_optional(pool).await?))
    }

    pub async fn bucket_uploads_of_bot(
        &self,
        org_id: Uuid,
        bot_id: Uuid,
    ) -> Result<Vec<BucketUploadRow>, StoreError> {
        let sql = format!(
            "SELECT {UPLOAD_COLUMNS} FROM bucket_uploads WHERE org_id = $1 AND bot_id = $2 ORDER BY track"
        );
        with_pool!(self, pool => Ok(sqlx::query_as::<_, BucketUploadRow>(&sql)
            .bind(org_id).bind(bot_id).fetch_all(pool).await?))
    }

    /// Forgets an aborted upload, so its track (the mixed recording, after an opt-out) can
    /// start another; false if it is not aborted.
    pub async fn delete_aborted_bucket_upload(
        &self,
        org_id: Uuid,
        id: Uuid,
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query(
            "DELETE FROM bucket_uploads WHERE org_id = $1 AND id = $2 AND state = 'aborted'",
        )
        .bind(org_id).bind(id).execute(pool).await?.rows_affected() == 1))
    }

    /// Uploads still `creating` or `open` last touched before `before` (the sweeper's).
    pub async fn unfinished_bucket_uploads(
        &self,
        before: i64,
        limit: i64,
    ) -> Result<Vec<BucketUploadRow>, StoreError> {
        let sql = format!(
            "SELECT {UPLOAD_COLUMNS} FROM bucket_uploads WHERE state IN ('creating', 'open') \
             AND updated_at < $1 ORDER BY updated_at LIMIT $2"
        );
        with_pool!(self, pool => Ok(sqlx::query_as::<_, BucketUploadRow>(&sql)
            .bind(before).bind(limit).fetch_all(pool).await?))
    }
}

/// One object meetvault wrote into a customer's bucket (migration 0021): what a deletion
/// there reaches.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BucketObjectRow {
    pub destination_id: Uuid,
    pub object_key: String,
    pub org_id: Uuid,
    pub meeting_id: Uuid,
    /// `recording`, `chat` or `transcript`.
    pub kind: String,
    pub recording_id: Option<Uuid>,
    /// Bytes written (none: written before the ledger).
    pub size: Option<i64>,
    pub written_at: i64,
    /// When the bucket last refused to delete it.
    pub refused_at: Option<i64>,
}

const OBJECT_COLUMNS: &str = "destination_id, object_key, org_id, meeting_id, kind, recording_id, \
    size, written_at, refused_at";

impl Database {
    /// Records an object written into a destination (a re-delivery overwrites the same key).
    pub async fn record_bucket_object(&self, o: &BucketObjectRow) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO bucket_objects ({OBJECT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (destination_id, object_key) DO UPDATE SET size = excluded.size, \
             written_at = excluded.written_at, recording_id = excluded.recording_id, refused_at = NULL \
             WHERE bucket_objects.org_id = excluded.org_id"
        );
        with_pool!(self, pool => {
            sqlx::query(&sql)
                .bind(o.destination_id).bind(&o.object_key).bind(o.org_id).bind(o.meeting_id)
                .bind(&o.kind).bind(o.recording_id).bind(o.size).bind(o.written_at).bind(o.refused_at)
                .execute(pool).await?;
            Ok(())
        })
    }

    /// What meetvault wrote into customers' buckets for a meeting, by destination and key.
    pub async fn bucket_objects_of_meeting(
        &self,
        org_id: Uuid,
        meeting_id: Uuid,
    ) -> Result<Vec<BucketObjectRow>, StoreError> {
        let sql = format!(
            "SELECT {OBJECT_COLUMNS} FROM bucket_objects WHERE org_id = $1 AND meeting_id = $2 \
             ORDER BY destination_id, object_key"
        );
        with_pool!(self, pool => Ok(sqlx::query_as::<_, BucketObjectRow>(&sql)
            .bind(org_id).bind(meeting_id).fetch_all(pool).await?))
    }

    /// Notes that the bucket refused to delete an object.
    pub async fn bucket_object_refused(
        &self,
        org_id: Uuid,
        destination_id: Uuid,
        object_key: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("UPDATE bucket_objects SET refused_at = $4 WHERE org_id = $1 AND destination_id = $2 AND object_key = $3")
                .bind(org_id).bind(destination_id).bind(object_key).bind(at).execute(pool).await?;
            Ok(())
        })
    }

    /// Forgets an object once it is deleted from the bucket.
    pub async fn forget_bucket_object(
        &self,
        org_id: Uuid,
        destination_id: Uuid,
        object_key: &str,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("DELETE FROM bucket_objects WHERE org_id = $1 AND destination_id = $2 AND object_key = $3")
                .bind(org_id).bind(destination_id).bind(object_key).execute(pool).await?;
            Ok(())
        })
    }
}
