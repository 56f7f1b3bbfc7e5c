//! Encrypted content rows. Every `Vec<u8>` content column is an envelope made by the caller.

use chrono::{DateTime, Utc};
use rusqlite::Row;
use uuid::Uuid;

use crate::identity::with_pool;
use crate::outbox::{NewEvent, append_event};
use crate::reader::{self, FromReader};
use crate::{Database, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MeetingRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub workspace_id: Uuid,
    pub owner_id: Uuid,
    pub title: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    /// A BCP-47-ish language code (`en`), or none for detection.
    pub language: Option<String>,
    /// The transcription settings as JSON (provider, model, beam size, secret name).
    pub transcription: String,
    pub updated_at: Option<DateTime<Utc>>,
    /// The glossary the transcriber is prompted with, sealed; none when unset.
    pub glossary: Option<Vec<u8>>,
    /// The meeting's own intelligence settings as JSON; none inherits (migration 0024).
    pub intelligence: Option<String>,
    /// The widget whose visitor submitted it (migration 0030).
    pub widget_id: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ParticipantRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub meeting_id: Uuid,
    pub position: i32,
    pub name: Vec<u8>,
    pub email: Option<Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct SegmentRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub meeting_id: Uuid,
    pub position: i32,
    pub start_ms: i64,
    pub end_ms: i64,
    pub speaker: Vec<u8>,
    pub text: Vec<u8>,
    /// The track it was transcribed from; none for imported segments.
    pub recording_id: Option<Uuid>,
    pub avg_logprob: Option<f32>,
    pub no_speech_prob: Option<f32>,
    /// The language the engine heard (a Whisper code); none for imported segments.
    pub language: Option<String>,
    /// The timed words as sealed JSON; none when no words were timed.
    pub words: Option<Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RecordingRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub meeting_id: Uuid,
    pub blob_key: String,
    /// Plaintext bytes.
    pub size: i64,
    /// Ciphertext bytes in the blob store.
    pub stored_size: i64,
    pub content_type: String,
    pub created_at: DateTime<Utc>,
    /// The track's speaker label (encrypted), when the upload named one.
    pub speaker: Option<Vec<u8>>,
    /// What decoding the upload found.
    pub duration_ms: Option<i64>,
    pub codec: Option<String>,
    /// When its transcript was stored.
    pub transcribed_at: Option<i64>,
    /// When it reached a destination (the customer's bucket), which, and its key there.
    pub delivered_at: Option<i64>,
    pub delivered_to: Option<Uuid>,
    pub delivered_key: Option<String>,
    /// When meetvault deleted its own copy (the blob), after delivery.
    pub local_deleted_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UserSecretRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub value: Vec<u8>,
    pub updated_at: DateTime<Utc>,
}

pub(crate) const MEETING_COLUMNS: &str = "id, org_id, workspace_id, owner_id, title, created_at, started_at, language, transcription, updated_at, glossary, intelligence, widget_id";

impl FromReader for MeetingRow {
    const WIDTH: usize = 13;
    fn at(r: &Row<'_>, i: usize) -> rusqlite::Result<Self> {
        Ok(Self {
            id: reader::uuid(r, i)?,
            org_id: reader::uuid(r, i + 1)?,
            workspace_id: reader::uuid(r, i + 2)?,
            owner_id: reader::uuid(r, i + 3)?,
            title: r.get(i + 4)?,
            created_at: reader::time(r, i + 5)?,
            started_at: reader::opt_time(r, i + 6)?,
            language: r.get(i + 7)?,
            transcription: r.get(i + 8)?,
            updated_at: reader::opt_time(r, i + 9)?,
            glossary: r.get(i + 10)?,
            intelligence: r.get(i + 11)?,
            widget_id: reader::opt_uuid(r, i + 12)?,
        })
    }
}

impl FromReader for ParticipantRow {
    const WIDTH: usize = 6;
    fn at(r: &Row<'_>, i: usize) -> rusqlite::Result<Self> {
        Ok(Self {
            id: reader::uuid(r, i)?,
            org_id: reader::uuid(r, i + 1)?,
            meeting_id: reader::uuid(r, i + 2)?,
            position: r.get(i + 3)?,
            name: r.get(i + 4)?,
            email: r.get(i + 5)?,
        })
    }
}

/// Inserts a `MeetingRow` in the transaction `$tx` (inside `with_pool!`, so either backend):
/// the one INSERT of a meeting, for a meeting of its own and for a bot's.
macro_rules! insert_meeting_row {
    ($tx:ident, $meeting:expr) => {{
        let meeting: &$crate::vault::MeetingRow = $meeting;
        sqlx::query(&format!(
            "INSERT INTO meetings ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            $crate::vault::MEETING_COLUMNS
        ))
        .bind(meeting.id)
        .bind(meeting.org_id)
        .bind(meeting.workspace_id)
        .bind(meeting.owner_id)
        .bind(&meeting.title)
        .bind(meeting.created_at)
        .bind(meeting.started_at)
        .bind(&meeting.language)
        .bind(&meeting.transcription)
        .bind(meeting.updated_at)
        .bind(&meeting.glossary)
        .bind(&meeting.intelligence)
        .bind(meeting.widget_id)
        .execute(&mut *$tx)
        .await?;
    }};
}
pub(crate) use insert_meeting_row;
const SEGMENT_COLUMNS: &str = "id, org_id, meeting_id, position, start_ms, end_ms, speaker, text, recording_id, avg_logprob, no_speech_prob, language, words";
const RECORDING_INSERT: &str = "id, org_id, meeting_id, blob_key, size, stored_size, content_type, created_at, speaker, duration_ms, codec";
const RECORDING_COLUMNS: &str = "id, org_id, meeting_id, blob_key, size, stored_size, content_type, created_at, speaker, duration_ms, codec, \
    transcribed_at, delivered_at, delivered_to, delivered_key, local_deleted_at";

/// Inserts one segment row on an open connection or transaction.
macro_rules! insert_segment {
    ($conn:expr, $s:expr) => {{
        let s: &SegmentRow = $s;
        sqlx::query(&format!(
            "INSERT INTO transcript_segments ({SEGMENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        ))
        .bind(s.id).bind(s.org_id).bind(s.meeting_id).bind(s.position).bind(s.start_ms).bind(s.end_ms)
        .bind(&s.speaker).bind(&s.text).bind(s.recording_id).bind(s.avg_logprob).bind(s.no_speech_prob)
        .bind(&s.language)
        .bind(&s.words)
        .execute($conn)
        .await?
    }};
}

/// Which meetings to list.
#[derive(Debug, Clone)]
pub struct MeetingQuery {
    pub org_id: Uuid,
    pub workspace_id: Option<Uuid>,
    /// Only meetings in these workspaces (a caller whose access comes from workspace roles);
    /// `None`: every workspace of the org.
    pub within: Option<Vec<Uuid>>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// The last row of the previous page (`created_at`, `id`).
    pub before: Option<(DateTime<Utc>, Uuid)>,
    pub limit: i64,
}

/// ` AND workspace_id IN ($first, …)` for a caller confined to some workspaces (both backends
/// take `$n`; the caller binds the ids after its other parameters), nothing for the whole org,
/// and a clause matching nothing for no workspace at all.
pub(crate) fn within_clause(within: Option<&[Uuid]>, first: usize) -> String {
    match within {
        None => String::new(),
        Some([]) => " AND 1 = 0".to_owned(),
        Some(list) => format!(
            " AND workspace_id IN ({})",
            (0..list.len())
                .map(|i| format!("${}", i + first))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

impl Database {
    /// Creates a meeting with its participants in one transaction.
    pub async fn insert_meeting(
        &self,
        meeting: &MeetingRow,
        participants: &[ParticipantRow],
        events: &[NewEvent],
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            insert_meeting_row!(tx, meeting);
            for p in participants {
                sqlx::query("INSERT INTO meeting_participants (id, org_id, meeting_id, position, name, email) VALUES ($1, $2, $3, $4, $5, $6)")
                    .bind(p.id).bind(p.org_id).bind(p.meeting_id).bind(p.position).bind(&p.name).bind(&p.email)
                    .execute(&mut *tx).await?;
            }
            for e in events {
                append_event!(tx, e);
            }
            tx.commit().await?;
            Ok(())
        })
    }

    pub async fn meeting(
        &self,
        org_id: Uuid,
        meeting_id: Uuid,
    ) -> Result<Option<MeetingRow>, StoreError> {
        let sql = format!("SELECT {MEETING_COLUMNS} FROM meetings WHERE org_id = $1 AND id = $2");
        if let Some(reader) = self.reader() {
            return reader.row(&sql, vec![reader::id(org_id), reader::id(meeting_id)]);
        }
        with_pool!(self, pool => Ok(sqlx::query_as::<_, MeetingRow>(&sql).bind(org_id).bind(meeting_id).fetch_optional(pool).await?))
    }

    /// A page of an org's meetings, newest first: those created before the cursor
    /// (`created_at`, `id`), optionally in one workspace and created within `[from, to)`.
    pub async fn meetings_page(&self, q: &MeetingQuery) -> Result<Vec<MeetingRow>, StoreError> {
        let within = within_clause(q.within.as_deref(), 8);
        let sql = format!(
            "SELECT {MEETING_COLUMNS} FROM meetings WHERE org_id = $1 \
             AND ($2 IS NULL OR workspace_id = $2) \
             AND ($3 IS NULL OR created_at >= $3) AND ($4 IS NULL OR created_at < $4) \
             AND ($5 IS NULL OR created_at < $5 OR (created_at = $5 AND id < $6)){within} \
             ORDER BY created_at DESC, id DESC LIMIT $7"
        );
        let (after_at, after_id) = match q.before {
            Some((at, id)) => (Some(at), Some(id)),
            None => (None, None),
        };
        if let Some(reader) = self.reader() {
            let mut params = vec![
                reader::id(q.org_id),
                reader::opt_id(q.workspace_id),
                reader::opt_at(q.from),
                reader::opt_at(q.to),
                reader::opt_at(after_at),
                reader::opt_id(after_id),
                q.limit.into(),
            ];
            params.extend(q.within.iter().flatten().map(|ws| reader::id(*ws)));
            return reader.rows(&sql, params);
        }
        with_pool!(self, pool => {
            let mut query = sqlx::query_as::<_, MeetingRow>(&sql)
                .bind(q.org_id).bind(q.workspace_id).bind(q.from).bind(q.to).bind(after_at).bind(after_id).bind(q.limit);
            for ws in q.within.iter().flatten() {
                query = query.bind(*ws);
            }
            Ok(query.fetch_all(pool).await?)
        })
    }

    /// Updates a meeting's plain and encrypted columns; replaces its participants when given.
    /// The events are appended only if the meeting was there to update.
    pub async fn update_meeting(
        &self,
        meeting: &MeetingRow,
        participants: Option<&[ParticipantRow]>,
        events: &[NewEvent],
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let done = sqlx::query(
                "UPDATE meetings SET workspace_id = $1, title = $2, started_at = $3, language = $4, transcription = $5, \
                 updated_at = $6, glossary = $7, intelligence = $10 WHERE org_id = $8 AND id = $9",
            )
            .bind(meeting.workspace_id).bind(&meeting.title).bind(meeting.started_at).bind(&meeting.language)
            .bind(&meeting.transcription).bind(meeting.updated_at).bind(&meeting.glossary)
            .bind(meeting.org_id).bind(meeting.id).bind(&meeting.intelligence)
            .execute(&mut *tx).await?;
            if let Some(participants) = participants {
                sqlx::query("DELETE FROM meeting_participants WHERE org_id = $1 AND meeting_id = $2")
                    .bind(meeting.org_id).bind(meeting.id).execute(&mut *tx).await?;
                for p in participants {
                    sqlx::query("INSERT INTO meeting_participants (id, org_id, meeting_id, position, name, email) VALUES ($1, $2, $3, $4, $5, $6)")
                        .bind(p.id).bind(p.org_id).bind(p.meeting_id).bind(p.position).bind(&p.name).bind(&p.email)
                        .execute(&mut *tx).await?;
                }
            }
            if done.rows_affected() == 1 {
                for e in events {
                    append_event!(tx, e);
                }
            }
            tx.commit().await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Replaces the segments transcribed from one track, in one transaction (a transcription
    /// that runs again after a crash leaves one copy).
    pub async fn replace_track_segments(
        &self,
        org_id: Uuid,
        recording_id: Uuid,
        segments: &[SegmentRow],
        events: &[NewEvent],
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM transcript_segments WHERE org_id = $1 AND recording_id = $2")
                .bind(org_id).bind(recording_id).execute(&mut *tx).await?;
            for s in segments {
                insert_segment!(&mut *tx, s);
            }
            sqlx::query("UPDATE recordings SET transcribed_at = $3 WHERE org_id = $1 AND id = $2")
                .bind(org_id).bind(recording_id).bind(chrono::Utc::now().timestamp_millis())
                .execute(&mut *tx).await?;
            for e in events {
                append_event!(tx, e);
            }
            tx.commit().await?;
            Ok(())
        })
    }

    pub async fn participants(
        &self,
        org_id: Uuid,
        meeting_id: Uuid,
    ) -> Result<Vec<ParticipantRow>, StoreError> {
        let sql = "SELECT id, org_id, meeting_id, position, name, email FROM meeting_participants \
                   WHERE org_id = $1 AND meeting_id = $2 ORDER BY position";
        if let Some(reader) = self.reader() {
            return reader.rows(sql, vec![reader::id(org_id), reader::id(meeting_id)]);
        }
        with_pool!(self, pool => Ok(sqlx::query_as::<_, ParticipantRow>(sql).bind(org_id).bind(meeting_id).fetch_all(pool).await?))
    }

    /// Appends transcript segments in one transaction.
    pub async fn insert_segments(&self, segments: &[SegmentRow]) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for s in segments {
                insert_segment!(&mut *tx, s);
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// Changes one segment's sealed speaker and/or text (`None`: kept); a changed text drops
    /// the timed words, which no longer match it. False when the meeting has no such segment.
    pub async fn update_segment(
        &self,
        org_id: Uuid,
        meeting_id: Uuid,
        id: Uuid,
        speaker: Option<&[u8]>,
        text: Option<&[u8]>,
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => {
            let done = sqlx::query(
                "UPDATE transcript_segments SET speaker = COALESCE($4, speaker), text = COALESCE($5, text), \
                 words = CASE WHEN $5 IS NULL THEN words ELSE NULL END \
                 WHERE org_id = $1 AND meeting_id = $2 AND id = $3",
            )
            .bind(org_id).bind(meeting_id).bind(id).bind(speaker).bind(text)
            .execute(pool).await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Sets the sealed speaker of each `(segment, speaker)` and each `(recording, label)` of a
    /// meeting, in one transaction.
    pub async fn set_speakers(
        &self,
        org_id: Uuid,
        meeting_id: Uuid,
        segments: &[(Uuid, Vec<u8>)],
        recordings: &[(Uuid, Vec<u8>)],
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for (id, speaker) in segments {
                sqlx::query(
                    "UPDATE transcript_segments SET speaker = $4 WHERE org_id = $1 AND meeting_id = $2 AND id = $3",
                )
                .bind(org_id).bind(meeting_id).bind(id).bind(speaker)
                .execute(&mut *tx).await?;
            }
            for (id, label) in recordings {
                sqlx::query(
                    "UPDATE recordings SET speaker = $4 WHERE org_id = $1 AND meeting_id = $2 AND id = $3",
                )
                .bind(org_id).bind(meeting_id).bind(id).bind(label)
                .execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// The next free segment position of a meeting.
    pub async fn next_segment_position(
        &self,
        org_id: Uuid,
        meeting_id: Uuid,
    ) -> Result<i32, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_scalar::<_, i32>(
            "SELECT COALESCE(MAX(position) + 1, 0) FROM transcript_segments WHERE org_id = $1 AND meeting_id = $2",
        ).bind(org_id).bind(meeting_id).fetch_one(pool).await?))
    }

    pub async fn segments(
        &self,
        org_id: Uuid,
        meeting_id: Uuid,
    ) -> Result<Vec<SegmentRow>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_as::<_, SegmentRow>(&format!(
            "SELECT {SEGMENT_COLUMNS} FROM transcript_segments \
             WHERE org_id = $1 AND meeting_id = $2 ORDER BY start_ms, position"
        )).bind(org_id).bind(meeting_id).fetch_all(pool).await?))
    }

    pub async fn insert_recording(
        &self,
        row: &RecordingRow,
        events: &[NewEvent],
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(&format!(
                "INSERT INTO recordings ({RECORDING_INSERT}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
            ))
            .bind(row.id).bind(row.org_id).bind(row.meeting_id).bind(&row.blob_key).bind(row.size)
            .bind(row.stored_size).bind(&row.content_type).bind(row.created_at).bind(&row.speaker)
            .bind(row.duration_ms).bind(&row.codec)
            .execute(&mut *tx).await?;
            for e in events {
                append_event!(tx, e);
            }
            tx.commit().await?;
            Ok(())
        })
    }

    pub async fn recording(
        &self,
        org_id: Uuid,
        meeting_id: Uuid,
        recording_id: Uuid,
    ) -> Result<Option<RecordingRow>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_as::<_, RecordingRow>(&format!(
            "SELECT {RECORDING_COLUMNS} FROM recordings \
             WHERE org_id = $1 AND meeting_id = $2 AND id = $3"
        )).bind(org_id).bind(meeting_id).bind(recording_id).fetch_optional(pool).await?))
    }

    pub async fn recordings(
        &self,
        org_id: Uuid,
        meeting_id: Uuid,
    ) -> Result<Vec<RecordingRow>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_as::<_, RecordingRow>(&format!(
            "SELECT {RECORDING_COLUMNS} FROM recordings \
             WHERE org_id = $1 AND meeting_id = $2 ORDER BY created_at, id"
        )).bind(org_id).bind(meeting_id).fetch_all(pool).await?))
    }

    /// Notes that a recording reached destination `to` as `key`.
    pub async fn recording_delivered(
        &self,
        org_id: Uuid,
        recording_id: Uuid,
        to: Uuid,
        key: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query(
                "UPDATE recordings SET delivered_at = $3, delivered_to = $4, delivered_key = $5 \
                 WHERE org_id = $1 AND id = $2",
            )
            .bind(org_id).bind(recording_id).bind(at).bind(to).bind(key)
            .execute(pool).await?;
            Ok(())
        })
    }

    /// Notes that meetvault's own copy of a recording (its blob) was deleted; false if it was
    /// noted before.
    pub async fn recording_local_deleted(
        &self,
        org_id: Uuid,
        recording_id: Uuid,
        at: i64,
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query(
            "UPDATE recordings SET local_deleted_at = $3 \
             WHERE org_id = $1 AND id = $2 AND local_deleted_at IS NULL",
        )
        .bind(org_id).bind(recording_id).bind(at)
        .execute(pool).await?.rows_affected() == 1))
    }

    /// Deletes a meeting's rows (participants, segments and recording rows cascade). The caller
    /// destroys its keys first and its blobs after. The meeting's events in the outbox are
    /// deleted too, and `events` appended, only if the meeting was there to delete.
    pub async fn delete_meeting(
        &self,
        org_id: Uuid,
        meeting_id: Uuid,
        events: &[NewEvent],
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let done = sqlx::query("DELETE FROM meetings WHERE org_id = $1 AND id = $2")
                .bind(org_id).bind(meeting_id).execute(&mut *tx).await?;
            if done.rows_affected() == 1 {
                // The meeting's earlier events go with it (their timings and ids say something
                // of it too); the deletion itself is the one that stays.
                sqlx::query("DELETE FROM outbox_events WHERE org_id = $1 AND resource_id = $2")
                    .bind(org_id).bind(meeting_id).execute(&mut *tx).await?;
                for e in events {
                    append_event!(tx, e);
                }
            }
            tx.commit().await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Stores (or replaces) a named secret of a user.
    pub async fn put_user_secret(&self, row: &UserSecretRow) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO user_secrets (id, org_id, user_id, name, value, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (user_id, name) DO UPDATE SET id = excluded.id, value = excluded.value, updated_at = excluded.updated_at",
            )
            .bind(row.id).bind(row.org_id).bind(row.user_id).bind(&row.name).bind(&row.value).bind(row.updated_at)
            .execute(pool).await?;
            Ok(())
        })
    }

    pub async fn user_secrets(
        &self,
        org_id: Uuid,
        user_id: Uuid,
    ) -> Result<Vec<UserSecretRow>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_as::<_, UserSecretRow>(
            "SELECT id, org_id, user_id, name, value, updated_at FROM user_secrets WHERE org_id = $1 AND user_id = $2 ORDER BY name",
        ).bind(org_id).bind(user_id).fetch_all(pool).await?))
    }

    pub async fn delete_user_secret(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        name: &str,
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => {
            let done = sqlx::query("DELETE FROM user_secrets WHERE org_id = $1 AND user_id = $2 AND name = $3")
                .bind(org_id).bind(user_id).bind(name).execute(pool).await?;
            Ok(done.rows_affected() == 1)
        })
    }
}
