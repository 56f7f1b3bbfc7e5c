//! Participant deletion requests (migration 0020): a request's row (its personal details sealed
//! by the core under the org's key, its token stored as a hash only), its states, and the
//! row deletions that complete one. The core decides what matches; this layer deletes by id.

use uuid::Uuid;

use crate::identity::with_pool;
use crate::outbox::{NewEvent, append_event};
use crate::{Database, StoreError};

/// A participant's request.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DeletionRequestRow {
    pub id: Uuid,
    pub org_id: Uuid,
    /// SHA-256 of the requester's token.
    pub token_hash: Vec<u8>,
    /// Name, email, meeting and message: JSON sealed under the org's key.
    pub details: Vec<u8>,
    /// `unconfirmed`, `open`, `completed` or `rejected`.
    pub state: String,
    /// The owner's reason (rejected) or note (completed), sealed like `details`.
    pub decision: Option<Vec<u8>>,
    pub decided_by: Option<Uuid>,
    pub certificate_id: Option<Uuid>,
    pub created_at: i64,
    pub expires_at: i64,
    pub confirmed_at: Option<i64>,
    pub decided_at: Option<i64>,
}

const COLUMNS: &str = "id, org_id, token_hash, details, state, decision, decided_by, certificate_id, \
    created_at, expires_at, confirmed_at, decided_at";

/// Rows of a meeting's participant to delete, by table (ids only).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParticipantRows {
    pub segments: Vec<Uuid>,
    pub recordings: Vec<Uuid>,
    pub meeting_participants: Vec<Uuid>,
    pub bot_participants: Vec<Uuid>,
    pub chat_messages: Vec<Uuid>,
    /// `(bot, track)`.
    pub tracks: Vec<(Uuid, String)>,
    pub events: Vec<Uuid>,
    /// Webhook deliveries of those events, by the events' sequence numbers.
    pub event_seqs: Vec<i64>,
}

impl Database {
    pub async fn insert_deletion_request(&self, r: &DeletionRequestRow) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query(&format!(
                "INSERT INTO deletion_requests ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
            ))
            .bind(r.id).bind(r.org_id).bind(&r.token_hash).bind(&r.details).bind(&r.state)
            .bind(&r.decision).bind(r.decided_by).bind(r.certificate_id).bind(r.created_at)
            .bind(r.expires_at).bind(r.confirmed_at).bind(r.decided_at)
            .execute(pool).await?;
            Ok(())
        })
    }

    /// The request whose token hashes to `hash`.
    pub async fn deletion_request_by_token(
        &self,
        hash: &[u8],
    ) -> Result<Option<DeletionRequestRow>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_as::<_, DeletionRequestRow>(&format!(
            "SELECT {COLUMNS} FROM deletion_requests WHERE token_hash = $1"
        )).bind(hash).fetch_optional(pool).await?))
    }

    pub async fn deletion_request(
        &self,
        org_id: Uuid,
        id: Uuid,
    ) -> Result<Option<DeletionRequestRow>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_as::<_, DeletionRequestRow>(&format!(
            "SELECT {COLUMNS} FROM deletion_requests WHERE org_id = $1 AND id = $2"
        )).bind(org_id).bind(id).fetch_optional(pool).await?))
    }

    /// An org's confirmed requests (never the unconfirmed), newest first; only those in
    /// `state` when given.
    pub async fn deletion_requests(
        &self,
        org_id: Uuid,
        state: Option<&str>,
        limit: i64,
    ) -> Result<Vec<DeletionRequestRow>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_as::<_, DeletionRequestRow>(&format!(
            "SELECT {COLUMNS} FROM deletion_requests WHERE org_id = $1 AND state <> 'unconfirmed' \
             AND ($2 IS NULL OR state = $2) ORDER BY created_at DESC, id LIMIT $3"
        )).bind(org_id).bind(state).bind(limit).fetch_all(pool).await?))
    }

    /// Confirms an unconfirmed, unexpired request, with its events; whether it was.
    pub async fn confirm_deletion_request(
        &self,
        id: Uuid,
        now: i64,
        events: &[NewEvent],
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let done = sqlx::query(
                "UPDATE deletion_requests SET state = 'open', confirmed_at = $2 \
                 WHERE id = $1 AND state = 'unconfirmed' AND expires_at > $2",
            ).bind(id).bind(now).execute(&mut *tx).await?.rows_affected() == 1;
            if done {
                for e in events {
                    append_event!(tx, e);
                }
            }
            tx.commit().await?;
            Ok(done)
        })
    }

    /// Reserves an open request for its completion (`completing`): it can no longer be
    /// rejected or completed by anyone else; whether it was open.
    pub async fn reserve_deletion_request(
        &self,
        org_id: Uuid,
        id: Uuid,
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query(
            "UPDATE deletion_requests SET state = 'completing' WHERE org_id = $1 AND id = $2 AND state = 'open'",
        ).bind(org_id).bind(id).execute(pool).await?.rows_affected() == 1))
    }

    /// Closes a request as `state`: `rejected` from open, `completed` from open or
    /// completing; whether it was.
    #[allow(clippy::too_many_arguments)]
    pub async fn decide_deletion_request(
        &self,
        org_id: Uuid,
        id: Uuid,
        state: &str,
        decision: Option<&[u8]>,
        decided_by: Option<Uuid>,
        certificate_id: Option<Uuid>,
        now: i64,
        events: &[NewEvent],
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let done = sqlx::query(
                "UPDATE deletion_requests SET state = $3, decision = $4, decided_by = $5, certificate_id = $6, \
                 decided_at = $7 WHERE org_id = $1 AND id = $2 \
                 AND (state = 'open' OR (state = 'completing' AND $3 = 'completed'))",
            ).bind(org_id).bind(id).bind(state).bind(decision).bind(decided_by).bind(certificate_id)
            .bind(now).execute(&mut *tx).await?.rows_affected() == 1;
            if done {
                for e in events {
                    append_event!(tx, e);
                }
            }
            tx.commit().await?;
            Ok(done)
        })
    }

    /// Deletes up to `limit` unconfirmed requests whose token expired; returns how many.
    pub async fn delete_expired_deletion_requests(
        &self,
        now: i64,
        limit: i64,
    ) -> Result<u64, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query(
            "DELETE FROM deletion_requests WHERE id IN (SELECT id FROM deletion_requests \
             WHERE state = 'unconfirmed' AND expires_at <= $1 LIMIT $2)",
        ).bind(now).bind(limit).execute(pool).await?.rows_affected()))
    }

    /// Deletes a participant's rows of one meeting, in one transaction; idempotent (rows
    /// already gone count nothing). Returns how many rows went.
    pub async fn delete_participant_rows(
        &self,
        org_id: Uuid,
        meeting_id: Uuid,
        rows: &ParticipantRows,
    ) -> Result<u64, StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let mut done = 0;
            let by_id: [(&str, &[Uuid]); 5] = [
                ("DELETE FROM transcript_segments WHERE org_id = $1 AND meeting_id = $2 AND id = $3", &rows.segments),
                ("DELETE FROM recordings WHERE org_id = $1 AND meeting_id = $2 AND id = $3", &rows.recordings),
                ("DELETE FROM meeting_participants WHERE org_id = $1 AND meeting_id = $2 AND id = $3", &rows.meeting_participants),
                ("DELETE FROM bot_participants WHERE org_id = $1 AND id = $3 \
                  AND bot_id IN (SELECT id FROM bots WHERE meeting_id = $2)", &rows.bot_participants),
                ("DELETE FROM bot_chat_messages WHERE org_id = $1 AND id = $3 \
                  AND bot_id IN (SELECT id FROM bots WHERE meeting_id = $2)", &rows.chat_messages),
            ];
            for (sql, ids) in by_id {
                for id in ids {
                    done += sqlx::query(sql).bind(org_id).bind(meeting_id).bind(id)
                        .execute(&mut *tx).await?.rows_affected();
                }
            }
            for (bot, track) in &rows.tracks {
                for table in ["bot_audio_chunks", "bot_tracks"] {
                    done += sqlx::query(&format!(
                        "DELETE FROM {table} WHERE org_id = $1 AND bot_id = $2 AND track = $3"
                    )).bind(org_id).bind(bot).bind(track).execute(&mut *tx).await?.rows_affected();
                }
            }
            for seq in &rows.event_seqs {
                done += sqlx::query("DELETE FROM webhook_deliveries WHERE org_id = $1 AND meeting_id = $2 AND event_seq = $3")
                    .bind(org_id).bind(meeting_id).bind(seq).execute(&mut *tx).await?.rows_affected();
            }
            for id in &rows.events {
                done += sqlx::query("DELETE FROM outbox_events WHERE org_id = $1 AND resource_id = $2 AND id = $3")
                    .bind(org_id).bind(meeting_id).bind(id).execute(&mut *tx).await?.rows_affected();
            }
            tx.commit().await?;
            Ok(done)
        })
    }
}

impl Database {
    /// The instance's org when it has exactly one (a public form needs no org then).
    pub async fn sole_org(&self) -> Result<Option<Uuid>, StoreError> {
        let ids: Vec<Uuid> = with_pool!(self, pool => sqlx::query_scalar("SELECT id FROM orgs LIMIT 2")
            .fetch_all(pool).await?);
        Ok(match ids.as_slice() {
            [one] => Some(*one),
            _ => None,
        })
    }
}

impl Database {
    /// Deletes a request (its email could not be sent).
    pub async fn delete_deletion_request(&self, org_id: Uuid, id: Uuid) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("DELETE FROM deletion_requests WHERE org_id = $1 AND id = $2")
                .bind(org_id).bind(id).execute(pool).await?;
            Ok(())
        })
    }
}

impl Database {
    /// How many webhook deliveries a meeting's events numbered `seqs` made.
    pub async fn webhook_deliveries_of_events(
        &self,
        org_id: Uuid,
        meeting_id: Uuid,
        seqs: &[i64],
    ) -> Result<u64, StoreError> {
        let mut n = 0i64;
        with_pool!(self, pool => {
            for seq in seqs {
                n += sqlx::query_scalar::<_, i64>(
                    "SELECT COUNT(*) FROM webhook_deliveries WHERE org_id = $1 AND meeting_id = $2 AND event_seq = $3",
                ).bind(org_id).bind(meeting_id).bind(seq).fetch_one(pool).await?;
            }
        });
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
