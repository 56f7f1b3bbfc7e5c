//! What a running bot reports besides transitions and audio: its audio clock, chat messages
//! (deduplicated by the platform's key), active-speaker changes, its tracks (whose, how much
//! was lost, opted out or not), participants' opt-outs and when it stored a diagnosis. Content
//! columns (`Vec<u8>`) are envelopes made by the caller. Every read and write takes the bot's
//! `org_id`.

use uuid::Uuid;

use crate::identity::with_pool;
use crate::outbox::{NewEvent, append_event};
use crate::{Database, StoreError};

/// A chat message the bot saw: the sender's name and the text sealed.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BotChatRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub bot_id: Uuid,
    pub dedupe_key: String,
    pub sender_id: Option<String>,
    pub sender: Vec<u8>,
    pub body: Vec<u8>,
    pub at: i64,
}

/// Who the platform showed speaking from `at` on (ids separated by spaces).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BotSpeakersRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub bot_id: Uuid,
    pub participant_ids: String,
    pub at: i64,
}

/// A captured track of a bot.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BotTrackRow {
    pub bot_id: Uuid,
    pub track: String,
    pub org_id: Uuid,
    pub participant_id: Option<String>,
    pub mapped_at: Option<i64>,
    pub samples_expected: Option<i64>,
    pub samples_received: Option<i64>,
    pub ended_at: Option<i64>,
    pub opted_out_at: Option<i64>,
}

const TRACK_COLUMNS: &str = "bot_id, track, org_id, participant_id, mapped_at, samples_expected, samples_received, ended_at, opted_out_at";

impl Database {
    /// Sets when the bot's audio clock started (the first report wins).
    pub async fn set_bot_audio_clock(
        &self,
        org_id: Uuid,
        bot_id: Uuid,
        unix_ms: i64,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("UPDATE bots SET audio_started_at = COALESCE(audio_started_at, $1) WHERE org_id = $2 AND id = $3")
                .bind(unix_ms).bind(org_id).bind(bot_id).execute(pool).await?;
            Ok(())
        })
    }

    /// Records that the bot's diagnosis blob was (re)written at `at`.
    pub async fn set_bot_diagnosis_at(
        &self,
        org_id: Uuid,
        bot_id: Uuid,
        at: i64,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("UPDATE bots SET diagnosis_at = $1 WHERE org_id = $2 AND id = $3")
                .bind(at).bind(org_id).bind(bot_id).execute(pool).await?;
            Ok(())
        })
    }

    /// Stores a chat message; false if one with its key was stored already (it stays).
    pub async fn insert_bot_chat(&self, row: &BotChatRow) -> Result<bool, StoreError> {
        with_pool!(self, pool => {
            let done = sqlx::query(
                // `at` is kept after the bot's last message (reports in one millisecond keep
                // the order they arrived in; ids are random and cannot break the tie).
                "INSERT INTO bot_chat_messages (id, org_id, bot_id, dedupe_key, sender_id, sender, body, at) \
                 SELECT $1, $2, $3, $4, $5, $6, $7, CASE WHEN $8 > prev.m THEN $8 ELSE prev.m + 1 END \
                 FROM (SELECT COALESCE(MAX(at), -1) AS m FROM bot_chat_messages WHERE bot_id = $3) prev \
                 WHERE true ON CONFLICT (bot_id, dedupe_key) DO NOTHING",
            )
            .bind(row.id).bind(row.org_id).bind(row.bot_id).bind(&row.dedupe_key)
            .bind(&row.sender_id).bind(&row.sender).bind(&row.body).bind(row.at)
            .execute(pool).await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Deletes the chat messages of one sender (they opted out).
    pub async fn delete_bot_chat_of(
        &self,
        org_id: Uuid,
        bot_id: Uuid,
        sender_id: &str,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("DELETE FROM bot_chat_messages WHERE org_id = $1 AND bot_id = $2 AND sender_id = $3")
                .bind(org_id).bind(bot_id).bind(sender_id).execute(pool).await?;
            Ok(())
        })
    }

    pub async fn bot_chat(
        &self,
        org_id: Uuid,
        bot_id: Uuid,
    ) -> Result<Vec<BotChatRow>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_as::<_, BotChatRow>(
            "SELECT id, org_id, bot_id, dedupe_key, sender_id, sender, body, at FROM bot_chat_messages \
             WHERE org_id = $1 AND bot_id = $2 ORDER BY at, id"
        ).bind(org_id).bind(bot_id).fetch_all(pool).await?))
    }

    pub async fn insert_bot_speakers(&self, row: &BotSpeakersRow) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query(
                // After the bot's last change, as chat messages are.
                "INSERT INTO bot_speaker_changes (id, org_id, bot_id, participant_ids, at) \
                 SELECT $1, $2, $3, $4, CASE WHEN $5 > prev.m THEN $5 ELSE prev.m + 1 END \
                 FROM (SELECT COALESCE(MAX(at), -1) AS m FROM bot_speaker_changes WHERE bot_id = $3) prev",
            )
            .bind(row.id).bind(row.org_id).bind(row.bot_id).bind(&row.participant_ids).bind(row.at)
            .execute(pool).await?;
            Ok(())
        })
    }

    pub async fn bot_speakers(
        &self,
        org_id: Uuid,
        bot_id: Uuid,
    ) -> Result<Vec<BotSpeakersRow>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_as::<_, BotSpeakersRow>(
            "SELECT id, org_id, bot_id, participant_ids, at FROM bot_speaker_changes \
             WHERE org_id = $1 AND bot_id = $2 ORDER BY at, id"
        ).bind(org_id).bind(bot_id).fetch_all(pool).await?))
    }

    /// Maps a track to a participant; the track is opted out at once if they already are.
    /// Returns the track as stored.
    pub async fn map_bot_track(
        &self,
        org_id: Uuid,
        bot_id: Uuid,
        track: &str,
        participant_id: &str,
        at: i64,
    ) -> Result<BotTrackRow, StoreError> {
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO bot_tracks (bot_id, track, org_id, participant_id, mapped_at, opted_out_at) \
                 VALUES ($1, $2, $3, $4, $5, (SELECT opted_out_at FROM bot_participants WHERE bot_id = $1 AND ext_id = $4)) \
                 ON CONFLICT (bot_id, track) DO UPDATE SET participant_id = excluded.participant_id, \
                 mapped_at = excluded.mapped_at, \
                 opted_out_at = COALESCE(bot_tracks.opted_out_at, excluded.opted_out_at)",
            )
            .bind(bot_id).bind(track).bind(org_id).bind(participant_id).bind(at)
            .execute(pool).await?;
            Ok(sqlx::query_as::<_, BotTrackRow>(&format!(
                "SELECT {TRACK_COLUMNS} FROM bot_tracks WHERE org_id = $1 AND bot_id = $2 AND track = $3"
            )).bind(org_id).bind(bot_id).bind(track).fetch_one(pool).await?)
        })
    }

    /// Records what the capture measured of a track that ended.
    pub async fn end_bot_track(
        &self,
        org_id: Uuid,
        bot_id: Uuid,
        track: &str,
        samples_expected: i64,
        samples_received: i64,
        at: i64,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO bot_tracks (bot_id, track, org_id, samples_expected, samples_received, ended_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (bot_id, track) DO UPDATE SET \
                 samples_expected = excluded.samples_expected, samples_received = excluded.samples_received, \
                 ended_at = excluded.ended_at",
            )
            .bind(bot_id).bind(track).bind(org_id).bind(samples_expected).bind(samples_received).bind(at)
            .execute(pool).await?;
            Ok(())
        })
    }

    pub async fn bot_tracks(
        &self,
        org_id: Uuid,
        bot_id: Uuid,
    ) -> Result<Vec<BotTrackRow>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_as::<_, BotTrackRow>(&format!(
            "SELECT {TRACK_COLUMNS} FROM bot_tracks WHERE org_id = $1 AND bot_id = $2 ORDER BY track"
        )).bind(org_id).bind(bot_id).fetch_all(pool).await?))
    }

    /// Whether `track`'s participant opted out (its audio is refused).
    pub async fn bot_track_opted_out(
        &self,
        org_id: Uuid,
        bot_id: Uuid,
        track: &str,
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM bot_tracks WHERE org_id = $1 AND bot_id = $2 AND track = $3 AND opted_out_at IS NOT NULL"
        ).bind(org_id).bind(bot_id).bind(track).fetch_one(pool).await? > 0))
    }

    /// Marks a participant opted out (a row is made for one never seen) and every track mapped
    /// to them, with `events` appended, in one transaction; false (no events) if they had
    /// opted out already.
    pub async fn opt_out_bot_participant(
        &self,
        org_id: Uuid,
        bot_id: Uuid,
        row_id: Uuid,
        participant_id: &str,
        at: i64,
        events: &[NewEvent],
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO bot_participants (id, org_id, bot_id, ext_id, name, joined_at, left_at, track) \
                 VALUES ($1, $2, $3, $4, NULL, $5, NULL, NULL) ON CONFLICT (bot_id, ext_id) DO NOTHING",
            )
            .bind(row_id).bind(org_id).bind(bot_id).bind(participant_id).bind(at)
            .execute(&mut *tx).await?;
            let fresh = sqlx::query(
                "UPDATE bot_participants SET opted_out_at = $1 WHERE org_id = $2 AND bot_id = $3 \
                 AND ext_id = $4 AND opted_out_at IS NULL",
            )
            .bind(at).bind(org_id).bind(bot_id).bind(participant_id)
            .execute(&mut *tx).await?
            .rows_affected() == 1;
            sqlx::query(
                "UPDATE bot_tracks SET opted_out_at = COALESCE(opted_out_at, $1) WHERE org_id = $2 \
                 AND bot_id = $3 AND participant_id = $4",
            )
            .bind(at).bind(org_id).bind(bot_id).bind(participant_id)
            .execute(&mut *tx).await?;
            if fresh {
                for e in events {
                    append_event!(tx, e);
                }
            }
            tx.commit().await?;
            Ok(fresh)
        })
    }

    /// One track's audio chunks, in order.
    pub async fn audio_chunks_of_track(
        &self,
        org_id: Uuid,
        bot_id: Uuid,
        track: &str,
    ) -> Result<Vec<crate::bots::AudioChunkRow>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_as::<_, crate::bots::AudioChunkRow>(
            "SELECT bot_id, track, seq, org_id, start_ms, samples, blob_key, created_at FROM bot_audio_chunks \
             WHERE org_id = $1 AND bot_id = $2 AND track = $3 ORDER BY seq"
        ).bind(org_id).bind(bot_id).bind(track).fetch_all(pool).await?))
    }

    /// A track's chunks from `seq` on, in order.
    pub async fn audio_chunks_from(
        &self,
        org_id: Uuid,
        bot_id: Uuid,
        track: &str,
        seq: i64,
    ) -> Result<Vec<crate::bots::AudioChunkRow>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_as::<_, crate::bots::AudioChunkRow>(
            "SELECT bot_id, track, seq, org_id, start_ms, samples, blob_key, created_at FROM bot_audio_chunks \
             WHERE org_id = $1 AND bot_id = $2 AND track = $3 AND seq >= $4 ORDER BY seq"
        ).bind(org_id).bind(bot_id).bind(track).bind(seq).fetch_all(pool).await?))
    }

    /// Forgets one chunk's row (its blob is deleted first, by the caller).
    pub async fn delete_audio_chunk(
        &self,
        org_id: Uuid,
        bot_id: Uuid,
        track: &str,
        seq: i64,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query(
                "DELETE FROM bot_audio_chunks WHERE org_id = $1 AND bot_id = $2 AND track = $3 AND seq = $4",
            )
            .bind(org_id).bind(bot_id).bind(track).bind(seq).execute(pool).await?;
            Ok(())
        })
    }
}
