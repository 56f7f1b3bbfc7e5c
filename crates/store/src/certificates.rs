//! Deletion certificates (migration 0018) and the inventory a deletion counts before it starts.
//! Rows have no foreign keys, so they outlive what they certify; an issued row is refused any
//! UPDATE or DELETE by a trigger on both backends.

use uuid::Uuid;

use crate::identity::with_pool;
use crate::{Database, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CertificateRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub subject_kind: String,
    pub subject_id: Uuid,
    /// `pending` (the deletion has started) or `issued`.
    pub state: String,
    pub draft: Option<String>,
    pub body: Option<String>,
    pub ed25519: Option<Vec<u8>>,
    pub hmac: Option<Vec<u8>>,
    pub digest: Option<Vec<u8>>,
    pub audit_seq: Option<i64>,
    pub inclusion: Option<String>,
    pub created_at: i64,
    pub issued_at: Option<i64>,
}

/// What the signing step adds to a pending row.
#[derive(Debug, Clone)]
pub struct IssuedCertificate {
    pub body: String,
    pub ed25519: Vec<u8>,
    pub hmac: Vec<u8>,
    pub digest: Vec<u8>,
    pub audit_seq: i64,
    pub inclusion: String,
    pub issued_at: i64,
}

/// What one meeting holds, counted before it is deleted: counts and key versions only.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MeetingInventory {
    pub participants: i64,
    pub segments: i64,
    pub recordings: i64,
    pub recording_bytes: i64,
    /// Recordings whose local copy was already deleted after delivery (their blobs are gone).
    pub recordings_local_deleted: i64,
    /// Recordings delivered to a customer's bucket, and the deliveries made (each also put
    /// the meeting's transcript and chat files there).
    pub recordings_delivered: i64,
    pub deliveries: i64,
    pub bots: i64,
    pub bot_events: i64,
    pub chat_messages: i64,
    pub audio_chunks: i64,
    /// Tracks streamed into a customer's bucket.
    pub streamed_uploads: i64,
    pub outbox_events: i64,
    pub webhook_deliveries: i64,
    /// Deliveries made before meetvault kept a ledger of what it wrote (migration 0021).
    #[serde(default)]
    pub deliveries_before_ledger: i64,
    /// Summaries and search index segments made from its transcript (migration 0022).
    #[serde(default)]
    pub summaries: i64,
    /// Documents attached to it (migration 0023).
    #[serde(default)]
    pub documents: i64,
    pub key_versions: Vec<i32>,
}

const COLUMNS: &str = "id, org_id, subject_kind, subject_id, state, draft, body, ed25519, hmac, digest, \
    audit_seq, inclusion, created_at, issued_at";

impl Database {
    /// Starts a deletion's certificate: inserts the pending row unless the subject already has
    /// one, and returns the subject's row either way (a retried deletion finds its own).
    pub async fn begin_certificate(
        &self,
        row: &CertificateRow,
    ) -> Result<CertificateRow, StoreError> {
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO certificates (id, org_id, subject_kind, subject_id, state, draft, created_at) \
                 VALUES ($1, $2, $3, $4, 'pending', $5, $6) ON CONFLICT (subject_kind, subject_id) DO NOTHING",
            )
            .bind(row.id).bind(row.org_id).bind(&row.subject_kind).bind(row.subject_id)
            .bind(&row.draft).bind(row.created_at)
            .execute(pool).await?;
        });
        self.certificate_of(&row.subject_kind, row.subject_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("the certificate just written is gone".into()))
    }

    /// The certificate (pending or issued) of a subject.
    pub async fn certificate_of(
        &self,
        kind: &str,
        subject: Uuid,
    ) -> Result<Option<CertificateRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM certificates WHERE subject_kind = $1 AND subject_id = $2"
        );
        with_pool!(self, pool => Ok(sqlx::query_as::<_, CertificateRow>(&sql)
            .bind(kind).bind(subject).fetch_optional(pool).await?))
    }

    /// Replaces a pending certificate's draft (what the deletion has done so far).
    pub async fn save_certificate_draft(&self, id: Uuid, draft: &str) -> Result<bool, StoreError> {
        with_pool!(self, pool => {
            let done = sqlx::query("UPDATE certificates SET draft = $2 WHERE id = $1 AND state = 'pending'")
                .bind(id).bind(draft).execute(pool).await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Issues a pending certificate; false when it was issued already.
    pub async fn issue_certificate(
        &self,
        id: Uuid,
        issued: &IssuedCertificate,
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => {
            let done = sqlx::query(
                "UPDATE certificates SET state = 'issued', draft = NULL, body = $2, ed25519 = $3, hmac = $4, \
                 digest = $5, audit_seq = $6, inclusion = $7, issued_at = $8 WHERE id = $1 AND state = 'pending'",
            )
            .bind(id).bind(&issued.body).bind(&issued.ed25519).bind(&issued.hmac)
            .bind(&issued.digest).bind(issued.audit_seq).bind(&issued.inclusion).bind(issued.issued_at)
            .execute(pool).await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Any certificate by id: the public verification page's lookup (a certificate holds no
    /// content).
    pub async fn certificate(&self, id: Uuid) -> Result<Option<CertificateRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM certificates WHERE id = $1");
        with_pool!(self, pool => Ok(sqlx::query_as::<_, CertificateRow>(&sql)
            .bind(id).fetch_optional(pool).await?))
    }

    /// An org's issued certificates, newest first, older than `before` (ms) when given.
    pub async fn certificates(
        &self,
        org_id: Uuid,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<CertificateRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM certificates WHERE org_id = $1 AND state = 'issued' \
             AND ($2 IS NULL OR issued_at < $2) ORDER BY issued_at DESC, id LIMIT $3"
        );
        with_pool!(self, pool => Ok(sqlx::query_as::<_, CertificateRow>(&sql)
            .bind(org_id).bind(before).bind(limit).fetch_all(pool).await?))
    }

    /// Pending certificates older than `older_than` (ms): deletions a crash cut off.
    pub async fn pending_certificates(
        &self,
        older_than: i64,
    ) -> Result<Vec<CertificateRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM certificates WHERE state = 'pending' AND created_at < $1 ORDER BY created_at LIMIT 100"
        );
        with_pool!(self, pool => Ok(sqlx::query_as::<_, CertificateRow>(&sql)
            .bind(older_than).fetch_all(pool).await?))
    }

    /// Counts what a meeting holds (see [`MeetingInventory`]).
    pub async fn meeting_inventory(
        &self,
        org_id: Uuid,
        meeting_id: Uuid,
    ) -> Result<MeetingInventory, StoreError> {
        const BOTS: &str = "SELECT id FROM bots WHERE org_id = $1 AND meeting_id = $2";
        let counts: [(&str, String); 16] = [
            ("participants", "SELECT COUNT(*) FROM meeting_participants WHERE org_id = $1 AND meeting_id = $2".into()),
            ("segments", "SELECT COUNT(*) FROM transcript_segments WHERE org_id = $1 AND meeting_id = $2".into()),
            ("recordings", "SELECT COUNT(*) FROM recordings WHERE org_id = $1 AND meeting_id = $2".into()),
            ("recording_bytes", "SELECT CAST(COALESCE(SUM(stored_size), 0) AS BIGINT) FROM recordings WHERE org_id = $1 AND meeting_id = $2 AND local_deleted_at IS NULL".into()),
            ("recordings_local_deleted", "SELECT COUNT(*) FROM recordings WHERE org_id = $1 AND meeting_id = $2 AND local_deleted_at IS NOT NULL".into()),
            ("recordings_delivered", "SELECT COUNT(*) FROM recordings WHERE org_id = $1 AND meeting_id = $2 AND delivered_key IS NOT NULL".into()),
            ("deliveries", "SELECT COUNT(*) FROM outbox_events WHERE org_id = $1 AND resource_id = $2 AND kind = 'recording.files_ready'".into()),
            ("bots", format!("SELECT COUNT(*) FROM ({BOTS}) b")),
            ("bot_events", format!(
                "SELECT (SELECT COUNT(*) FROM bot_transitions WHERE bot_id IN ({BOTS})) \
                 + (SELECT COUNT(*) FROM bot_participants WHERE bot_id IN ({BOTS})) \
                 + (SELECT COUNT(*) FROM bot_commands WHERE bot_id IN ({BOTS})) \
                 + (SELECT COUNT(*) FROM bot_speaker_changes WHERE bot_id IN ({BOTS})) \
                 + (SELECT COUNT(*) FROM bot_tracks WHERE bot_id IN ({BOTS}))")),
            ("chat_messages", format!("SELECT COUNT(*) FROM bot_chat_messages WHERE bot_id IN ({BOTS})")),
            ("audio_chunks", format!("SELECT COUNT(*) FROM bot_audio_chunks WHERE bot_id IN ({BOTS})")),
            ("streamed_uploads", "SELECT COUNT(*) FROM bucket_uploads WHERE org_id = $1 AND meeting_id = $2 AND state = 'completed'".into()),
            ("outbox_events", "SELECT COUNT(*) FROM outbox_events WHERE org_id = $1 AND resource_id = $2".into()),
            ("summaries", "SELECT COUNT(*) FROM meeting_intel WHERE org_id = $1 AND meeting_id = $2".into()),
            ("documents", "SELECT COUNT(*) FROM meeting_documents WHERE org_id = $1 AND meeting_id = $2".into()),
            ("deliveries_before_ledger", "SELECT CAST(COALESCE(MAX(deliveries_before_ledger), 0) AS BIGINT) FROM meetings WHERE org_id = $1 AND id = $2".into()),
        ];
        let mut inv = MeetingInventory::default();
        with_pool!(self, pool => {
            for (name, sql) in &counts {
                let n: i64 = sqlx::query_scalar(sql).bind(org_id).bind(meeting_id).fetch_one(pool).await?;
                let slot = match *name {
                    "participants" => &mut inv.participants,
                    "segments" => &mut inv.segments,
                    "recordings" => &mut inv.recordings,
                    "recording_bytes" => &mut inv.recording_bytes,
                    "recordings_local_deleted" => &mut inv.recordings_local_deleted,
                    "recordings_delivered" => &mut inv.recordings_delivered,
                    "deliveries" => &mut inv.deliveries,
                    "bots" => &mut inv.bots,
                    "bot_events" => &mut inv.bot_events,
                    "chat_messages" => &mut inv.chat_messages,
                    "audio_chunks" => &mut inv.audio_chunks,
                    "streamed_uploads" => &mut inv.streamed_uploads,
                    "deliveries_before_ledger" => &mut inv.deliveries_before_ledger,
                    "summaries" => &mut inv.summaries,
                    "documents" => &mut inv.documents,
                    _ => &mut inv.outbox_events,
                };
                *slot = n;
            }
            inv.webhook_deliveries = sqlx::query_scalar(
                "SELECT COUNT(*) FROM webhook_deliveries WHERE org_id = $1 AND meeting_id = $2",
            ).bind(org_id).bind(meeting_id).fetch_one(pool).await?;
            inv.key_versions = sqlx::query_scalar(
                "SELECT version FROM meeting_keys WHERE org_id = $1 AND meeting_id = $2 ORDER BY version",
            ).bind(org_id).bind(meeting_id).fetch_all(pool).await?;
        });
        Ok(inv)
    }
}
