//! Meeting bots' rows: the bot (created with its meeting in one transaction), its timeline of
//! transitions (each written with its outbox event, compare-and-set on the state), the
//! participants it saw, its captured audio chunks and its pending commands (what else it reports is `bot_reports`). Content columns
//! (`Vec<u8>`) are envelopes made by the caller. Reads by a tenant take its `org_id`; the
//! orchestrator's reads (due and running bots) and the bot's own credential lookup are the
//! unscoped ones.

use uuid::Uuid;

use crate::identity::with_pool;
use crate::outbox::{NewEvent, append_event};
use crate::vault::MeetingRow;
use crate::{Database, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BotRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub workspace_id: Uuid,
    pub meeting_id: Uuid,
    pub owner_id: Uuid,
    pub meeting_url: Vec<u8>,
    pub bot_name: Vec<u8>,
    pub metadata: Vec<u8>,
    pub options: String,
    pub state: String,
    pub sub_code: Option<String>,
    pub join_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub token_hash: Option<String>,
    pub launched_at: Option<i64>,
    pub heartbeat_at: Option<i64>,
    pub leave_requested: Option<String>,
    /// When the bot's audio clock started (Unix ms): every chunk's `start_ms` counts from it.
    pub audio_started_at: Option<i64>,
    /// When the bot stored a diagnosis of a page it gave up on.
    pub diagnosis_at: Option<i64>,
    /// When what it captured became recordings.
    pub audio_processed_at: Option<i64>,
}

pub(crate) const BOT_COLUMNS: &str = "id, org_id, workspace_id, meeting_id, owner_id, meeting_url, bot_name, metadata, options, state, sub_code, join_at, created_at, updated_at, token_hash, launched_at, heartbeat_at, leave_requested, audio_started_at, diagnosis_at, audio_processed_at";

/// One step of a bot's timeline (`from_state` is none for its creation).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TransitionRow {
    pub bot_id: Uuid,
    pub seq: i32,
    pub org_id: Uuid,
    pub from_state: Option<String>,
    pub to_state: String,
    pub sub_code: Option<String>,
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BotParticipantRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub bot_id: Uuid,
    pub ext_id: String,
    pub name: Option<Vec<u8>>,
    pub joined_at: i64,
    pub left_at: Option<i64>,
    pub track: Option<String>,
    /// When they opted out (their audio is deleted and refused from then on).
    pub opted_out_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AudioChunkRow {
    pub bot_id: Uuid,
    pub track: String,
    pub seq: i64,
    pub org_id: Uuid,
    pub start_ms: i64,
    pub samples: i64,
    pub blob_key: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BotCommandRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub bot_id: Uuid,
    pub kind: String,
    pub body: Option<Vec<u8>>,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
}

/// A state change to write: the bot must still be in `from` (compare-and-set).
#[derive(Debug, Clone)]
pub struct StateChange<'a> {
    pub org_id: Uuid,
    pub bot_id: Uuid,
    pub from: &'a str,
    pub to: &'a str,
    pub sub_code: Option<&'a str>,
    pub at: i64,
    /// The bot's token stops working (it ended).
    pub revoke_token: bool,
}

/// Which bots to list.
#[derive(Debug, Clone)]
pub struct BotQuery {
    pub org_id: Uuid,
    pub workspace_id: Option<Uuid>,
    /// Only bots in these workspaces; `None`: every workspace of the org.
    pub within: Option<Vec<Uuid>>,
    pub state: Option<String>,
    /// The last row of the previous page (`created_at`, `id`).
    pub before: Option<(i64, Uuid)>,
    pub limit: i64,
}

impl Database {
    /// Creates a bot's meeting, the bot and its first timeline step in one transaction.
    pub async fn insert_bot(
        &self,
        meeting: &MeetingRow,
        bot: &BotRow,
        events: &[NewEvent],
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            crate::vault::insert_meeting_row!(tx, meeting);
            sqlx::query(&format!("INSERT INTO bots ({BOT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)"))
                .bind(bot.id).bind(bot.org_id).bind(bot.workspace_id).bind(bot.meeting_id).bind(bot.owner_id)
                .bind(&bot.meeting_url).bind(&bot.bot_name).bind(&bot.metadata).bind(&bot.options)
                .bind(&bot.state).bind(&bot.sub_code).bind(bot.join_at).bind(bot.created_at).bind(bot.updated_at)
                .bind(&bot.token_hash).bind(bot.launched_at).bind(bot.heartbeat_at).bind(&bot.leave_requested)
                .bind(bot.audio_started_at).bind(bot.diagnosis_at).bind(bot.audio_processed_at)
                .execute(&mut *tx).await?;
            sqlx::query("INSERT INTO bot_transitions (bot_id, seq, org_id, from_state, to_state, sub_code, at) VALUES ($1, 1, $2, NULL, $3, NULL, $4)")
                .bind(bot.id).bind(bot.org_id).bind(&bot.state).bind(bot.created_at)
                .execute(&mut *tx).await?;
            for e in events {
                append_event!(tx, e);
            }
            tx.commit().await?;
            Ok(())
        })
    }

    pub async fn bot(&self, org_id: Uuid, bot_id: Uuid) -> Result<Option<BotRow>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_as::<_, BotRow>(&format!(
            "SELECT {BOT_COLUMNS} FROM bots WHERE org_id = $1 AND id = $2"
        )).bind(org_id).bind(bot_id).fetch_optional(pool).await?))
    }

    /// A bot by id alone: the lookup by the bot's own credential (its token is checked by the
    /// caller against `token_hash`), and the orchestrator's.
    /// The bot that made this meeting, if one did.
    pub async fn bot_of_meeting(
        &self,
        org_id: Uuid,
        meeting_id: Uuid,
    ) -> Result<Option<BotRow>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_as::<_, BotRow>(&format!(
            "SELECT {BOT_COLUMNS} FROM bots WHERE org_id = $1 AND meeting_id = $2 LIMIT 1"
        )).bind(org_id).bind(meeting_id).fetch_optional(pool).await?))
    }

    pub async fn bot_by_id(&self, bot_id: Uuid) -> Result<Option<BotRow>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_as::<_, BotRow>(&format!(
            "SELECT {BOT_COLUMNS} FROM bots WHERE id = $1"
        )).bind(bot_id).fetch_optional(pool).await?))
    }

    /// A page of an org's bots, newest first.
    pub async fn bots_page(&self, q: &BotQuery) -> Result<Vec<BotRow>, StoreError> {
        let mut sql = format!("SELECT {BOT_COLUMNS} FROM bots WHERE org_id = $1");
        let mut n = 1;
        let mut next = || {
            n += 1;
            format!("${n}")
        };
        if q.workspace_id.is_some() {
            sql.push_str(&format!(" AND workspace_id = {}", next()));
        }
        if q.state.is_some() {
            sql.push_str(&format!(" AND state = {}", next()));
        }
        if q.before.is_some() {
            let (a, b, c) = (next(), next(), next());
            sql.push_str(&format!(
                " AND (created_at < {a} OR (created_at = {b} AND id < {c}))"
            ));
        }
        let within: Vec<Uuid> = q.within.clone().unwrap_or_default();
        if q.within.is_some() {
            if within.is_empty() {
                return Ok(Vec::new());
            }
            let list: Vec<String> = within.iter().map(|_| next()).collect();
            sql.push_str(&format!(" AND workspace_id IN ({})", list.join(", ")));
        }
        sql.push_str(&format!(
            " ORDER BY created_at DESC, id DESC LIMIT {}",
            next()
        ));
        with_pool!(self, pool => {
            let mut query = sqlx::query_as::<_, BotRow>(&sql).bind(q.org_id);
            if let Some(ws) = q.workspace_id {
                query = query.bind(ws);
            }
            if let Some(state) = &q.state {
                query = query.bind(state.clone());
            }
            if let Some((at, id)) = q.before {
                query = query.bind(at).bind(at).bind(id);
            }
            for ws in &within {
                query = query.bind(*ws);
            }
            Ok(query.bind(q.limit).fetch_all(pool).await?)
        })
    }

    /// Moves a bot from `change.from` to `change.to` and records the step and its events, in
    /// one transaction; false (nothing written) if the bot was no longer in `from`.
    pub async fn transition_bot(
        &self,
        change: &StateChange<'_>,
        events: &[NewEvent],
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let done = sqlx::query(
                "UPDATE bots SET state = $1, sub_code = COALESCE($2, sub_code), updated_at = $3, \
                 token_hash = CASE WHEN $4 THEN NULL ELSE token_hash END \
                 WHERE org_id = $5 AND id = $6 AND state = $7",
            )
            .bind(change.to).bind(change.sub_code).bind(change.at).bind(change.revoke_token)
            .bind(change.org_id).bind(change.bot_id).bind(change.from)
            .execute(&mut *tx).await?;
            if done.rows_affected() != 1 {
                return Ok(false);
            }
            sqlx::query(
                "INSERT INTO bot_transitions (bot_id, seq, org_id, from_state, to_state, sub_code, at) \
                 SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4, $5, $6 FROM bot_transitions WHERE bot_id = $1",
            )
            .bind(change.bot_id).bind(change.org_id).bind(change.from).bind(change.to)
            .bind(change.sub_code).bind(change.at)
            .execute(&mut *tx).await?;
            for e in events {
                append_event!(tx, e);
            }
            tx.commit().await?;
            Ok(true)
        })
    }

    pub async fn bot_transitions(
        &self,
        org_id: Uuid,
        bot_id: Uuid,
    ) -> Result<Vec<TransitionRow>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_as::<_, TransitionRow>(
            "SELECT bot_id, seq, org_id, from_state, to_state, sub_code, at FROM bot_transitions \
             WHERE org_id = $1 AND bot_id = $2 ORDER BY seq"
        ).bind(org_id).bind(bot_id).fetch_all(pool).await?))
    }

    /// Marks a bot launched with a fresh token (its hash), if it is still waiting to be.
    pub async fn launch_bot(
        &self,
        bot_id: Uuid,
        token_hash: &str,
        at: i64,
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => {
            let done = sqlx::query(
                "UPDATE bots SET token_hash = $1, launched_at = $2, heartbeat_at = $2, updated_at = $2 \
                 WHERE id = $3 AND state = 'scheduled' AND launched_at IS NULL",
            )
            .bind(token_hash).bind(at).bind(bot_id).execute(pool).await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Moves a bot's join time (and its meeting's start), if it is still waiting to launch.
    pub async fn reschedule_bot(
        &self,
        org_id: Uuid,
        bot_id: Uuid,
        join_at: Option<i64>,
        starts_at: chrono::DateTime<chrono::Utc>,
        at: i64,
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let done = sqlx::query(
                "UPDATE bots SET join_at = $3, updated_at = $4 \
                 WHERE org_id = $1 AND id = $2 AND state = 'scheduled' AND launched_at IS NULL",
            )
            .bind(org_id).bind(bot_id).bind(join_at).bind(at).execute(&mut *tx).await?;
            if done.rows_affected() != 1 {
                return Ok(false);
            }
            sqlx::query(
                "UPDATE meetings SET started_at = $3 WHERE org_id = $1 \
                 AND id = (SELECT meeting_id FROM bots WHERE org_id = $1 AND id = $2)",
            )
            .bind(org_id).bind(bot_id).bind(starts_at).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Notes that what the bot captured became recordings.
    pub async fn bot_audio_processed(
        &self,
        org_id: Uuid,
        bot_id: Uuid,
        at: i64,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("UPDATE bots SET audio_processed_at = $3 WHERE org_id = $1 AND id = $2")
                .bind(org_id).bind(bot_id).bind(at).execute(pool).await?;
            Ok(())
        })
    }

    pub async fn bot_heartbeat(&self, bot_id: Uuid, at: i64) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("UPDATE bots SET heartbeat_at = $1 WHERE id = $2")
                .bind(at).bind(bot_id).execute(pool).await?;
            Ok(())
        })
    }

    /// Records that a leave was asked for (the first reason wins).
    pub async fn request_bot_leave(
        &self,
        org_id: Uuid,
        bot_id: Uuid,
        sub_code: &str,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("UPDATE bots SET leave_requested = COALESCE(leave_requested, $1) WHERE org_id = $2 AND id = $3")
                .bind(sub_code).bind(org_id).bind(bot_id).execute(pool).await?;
            Ok(())
        })
    }

    /// Scheduled bots due to be launched (join time reached), oldest first, across orgs.
    pub async fn bots_due(&self, now: i64, limit: i64) -> Result<Vec<BotRow>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_as::<_, BotRow>(&format!(
            "SELECT {BOT_COLUMNS} FROM bots WHERE state = 'scheduled' AND launched_at IS NULL \
             AND (join_at IS NULL OR join_at <= $1) ORDER BY COALESCE(join_at, created_at), id LIMIT $2"
        )).bind(now).bind(limit).fetch_all(pool).await?))
    }

    /// Launched bots that have not ended, across orgs.
    pub async fn bots_running(&self) -> Result<Vec<BotRow>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_as::<_, BotRow>(&format!(
            "SELECT {BOT_COLUMNS} FROM bots WHERE launched_at IS NOT NULL \
             AND state NOT IN ('ended', 'fatal_error') ORDER BY launched_at"
        )).fetch_all(pool).await?))
    }

    /// Records a participant's arrival (or a new name for one already seen) or departure.
    pub async fn upsert_bot_participant(&self, row: &BotParticipantRow) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO bot_participants (id, org_id, bot_id, ext_id, name, joined_at, left_at, track) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (bot_id, ext_id) DO UPDATE SET \
                 name = COALESCE(excluded.name, bot_participants.name), left_at = excluded.left_at, \
                 track = COALESCE(excluded.track, bot_participants.track)",
            )
            .bind(row.id).bind(row.org_id).bind(row.bot_id).bind(&row.ext_id).bind(&row.name)
            .bind(row.joined_at).bind(row.left_at).bind(&row.track)
            .execute(pool).await?;
            Ok(())
        })
    }

    pub async fn bot_participants(
        &self,
        org_id: Uuid,
        bot_id: Uuid,
    ) -> Result<Vec<BotParticipantRow>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_as::<_, BotParticipantRow>(
            "SELECT id, org_id, bot_id, ext_id, name, joined_at, left_at, track, opted_out_at FROM bot_participants \
             WHERE org_id = $1 AND bot_id = $2 ORDER BY joined_at, ext_id"
        ).bind(org_id).bind(bot_id).fetch_all(pool).await?))
    }

    /// Records a stored audio chunk; false if that (track, seq) was stored already.
    pub async fn insert_audio_chunk(&self, row: &AudioChunkRow) -> Result<bool, StoreError> {
        with_pool!(self, pool => {
            let done = sqlx::query(
                "INSERT INTO bot_audio_chunks (bot_id, track, seq, org_id, start_ms, samples, blob_key, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (bot_id, track, seq) DO NOTHING",
            )
            .bind(row.bot_id).bind(&row.track).bind(row.seq).bind(row.org_id).bind(row.start_ms)
            .bind(row.samples).bind(&row.blob_key).bind(row.created_at)
            .execute(pool).await?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// A bot's audio chunks by track and sequence number.
    pub async fn audio_chunks(
        &self,
        org_id: Uuid,
        bot_id: Uuid,
    ) -> Result<Vec<AudioChunkRow>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_as::<_, AudioChunkRow>(
            "SELECT bot_id, track, seq, org_id, start_ms, samples, blob_key, created_at FROM bot_audio_chunks \
             WHERE org_id = $1 AND bot_id = $2 ORDER BY track, seq"
        ).bind(org_id).bind(bot_id).fetch_all(pool).await?))
    }

    pub async fn push_bot_command(&self, row: &BotCommandRow) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO bot_commands (id, org_id, bot_id, kind, body, created_at, delivered_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, NULL)",
            )
            .bind(row.id).bind(row.org_id).bind(row.bot_id).bind(&row.kind).bind(&row.body)
            .bind(row.created_at)
            .execute(pool).await?;
            Ok(())
        })
    }

    /// A bot's undelivered commands, oldest first, marked delivered as they are handed out
    /// (one statement: no read-then-write upgrade for two long-polls to trip over).
    pub async fn take_bot_commands(
        &self,
        bot_id: Uuid,
        now: i64,
    ) -> Result<Vec<BotCommandRow>, StoreError> {
        with_pool!(self, pool => {
            let mut rows = sqlx::query_as::<_, BotCommandRow>(
                "UPDATE bot_commands SET delivered_at = $1 WHERE bot_id = $2 AND delivered_at IS NULL \
                 RETURNING id, org_id, bot_id, kind, body, created_at, delivered_at",
            )
            .bind(now).bind(bot_id).fetch_all(pool).await?;
            rows.sort_by_key(|r| (r.created_at, r.id));
            Ok(rows)
        })
    }
}
