//! Calendar rows (migration 0027): connections (tokens and cursor sealed by core), the events of
//! their windows with what the rules decided, per-event choices, the one bot per meeting that
//! calendars scheduled, and the auto-join rules of people and workspaces.

use uuid::Uuid;

use crate::identity::with_pool;
use crate::{Database, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CalendarConnectionRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub user_id: Uuid,
    pub workspace_id: Uuid,
    pub provider: String,
    pub tokens: Vec<u8>,
    pub cursor: Option<Vec<u8>>,
    pub status: String,
    pub error: Option<String>,
    pub last_sync_at: Option<i64>,
    pub next_sync_at: i64,
    pub channel_id: Option<String>,
    pub channel_resource: Option<String>,
    pub channel_expires_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CalendarEventRow {
    pub connection_id: Uuid,
    pub event_id: String,
    pub org_id: Uuid,
    pub workspace_id: Uuid,
    pub data: Vec<u8>,
    pub start_at: i64,
    pub end_at: i64,
    pub bot_key: Option<String>,
    pub record: bool,
    pub reason: String,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CalendarBotRow {
    pub org_id: Uuid,
    pub workspace_id: Uuid,
    pub bot_key: String,
    pub bot_id: Uuid,
    pub start_at: i64,
    pub created_at: i64,
}

const CONNECTION: &str = "id, org_id, user_id, workspace_id, provider, tokens, cursor, status, \
     error, last_sync_at, next_sync_at, channel_id, channel_resource, channel_expires_at, \
     created_at, updated_at";
const EVENT: &str = "connection_id, event_id, org_id, workspace_id, data, start_at, end_at, bot_key, record, \
     reason, updated_at";

impl Database {
    /// Adds a connection, or replaces the person's connection to the same provider (a
    /// reconnect): its events and choices go with the old row.
    pub async fn put_calendar_connection(
        &self,
        row: &CalendarConnectionRow,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM calendar_connections WHERE org_id = $1 AND user_id = $2 AND provider = $3")
                .bind(row.org_id).bind(row.user_id).bind(&row.provider).execute(&mut *tx).await?;
            sqlx::query(&format!("INSERT INTO calendar_connections ({CONNECTION}) VALUES \
                ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"))
                .bind(row.id).bind(row.org_id).bind(row.user_id).bind(row.workspace_id)
                .bind(&row.provider).bind(&row.tokens).bind(&row.cursor).bind(&row.status)
                .bind(&row.error).bind(row.last_sync_at).bind(row.next_sync_at)
                .bind(&row.channel_id).bind(&row.channel_resource).bind(row.channel_expires_at)
                .bind(row.created_at).bind(row.updated_at)
                .execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    pub async fn calendar_connection(
        &self,
        org_id: Uuid,
        id: Uuid,
    ) -> Result<Option<CalendarConnectionRow>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_as::<_, CalendarConnectionRow>(&format!(
            "SELECT {CONNECTION} FROM calendar_connections WHERE org_id = $1 AND id = $2"
        )).bind(org_id).bind(id).fetch_optional(pool).await?))
    }

    /// A connection by its push channel (Google channel id or Graph subscription id).
    pub async fn calendar_connection_by_channel(
        &self,
        channel_id: &str,
    ) -> Result<Option<CalendarConnectionRow>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_as::<_, CalendarConnectionRow>(&format!(
            "SELECT {CONNECTION} FROM calendar_connections WHERE channel_id = $1"
        )).bind(channel_id).fetch_optional(pool).await?))
    }

    pub async fn calendar_connections_of(
        &self,
        org_id: Uuid,
        user_id: Uuid,
    ) -> Result<Vec<CalendarConnectionRow>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_as::<_, CalendarConnectionRow>(&format!(
            "SELECT {CONNECTION} FROM calendar_connections WHERE org_id = $1 AND user_id = $2 \
             ORDER BY created_at, id"
        )).bind(org_id).bind(user_id).fetch_all(pool).await?))
    }

    /// Active connections due for a sync at `now`, oldest first.
    pub async fn calendar_connections_due(
        &self,
        now: i64,
        limit: i64,
    ) -> Result<Vec<CalendarConnectionRow>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_as::<_, CalendarConnectionRow>(&format!(
            "SELECT {CONNECTION} FROM calendar_connections WHERE status = 'active' \
             AND next_sync_at <= $1 ORDER BY next_sync_at LIMIT $2"
        )).bind(now).bind(limit).fetch_all(pool).await?))
    }

    /// Saves what a sync changed: tokens, cursor, status, error, times and channel.
    pub async fn update_calendar_connection(
        &self,
        row: &CalendarConnectionRow,
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query(
            "UPDATE calendar_connections SET tokens = $3, cursor = $4, status = $5, error = $6, \
             last_sync_at = $7, next_sync_at = $8, channel_id = $9, channel_resource = $10, \
             channel_expires_at = $11, updated_at = $12 WHERE org_id = $1 AND id = $2",
        )
        .bind(row.org_id).bind(row.id).bind(&row.tokens).bind(&row.cursor).bind(&row.status)
        .bind(&row.error).bind(row.last_sync_at).bind(row.next_sync_at).bind(&row.channel_id)
        .bind(&row.channel_resource).bind(row.channel_expires_at).bind(row.updated_at)
        .execute(pool).await?.rows_affected() == 1))
    }

    /// Sets only when the connection is next due (the poller: a full-row write could undo
    /// what a running sync stored meanwhile).
    pub async fn set_calendar_next_sync(
        &self,
        org_id: Uuid,
        id: Uuid,
        at: i64,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("UPDATE calendar_connections SET next_sync_at = $3 WHERE org_id = $1 AND id = $2")
                .bind(org_id).bind(id).bind(at).execute(pool).await?;
            Ok(())
        })
    }

    /// Marks the push channel as due for renewal (a Graph lifecycle notice), touching nothing
    /// else.
    pub async fn expire_calendar_channel(&self, org_id: Uuid, id: Uuid) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("UPDATE calendar_connections SET channel_expires_at = 0 WHERE org_id = $1 AND id = $2")
                .bind(org_id).bind(id).execute(pool).await?;
            Ok(())
        })
    }

    /// Asks for a sync at `at` at the latest (a push notification, a rule change).
    pub async fn calendar_sync_soon(
        &self,
        org_id: Uuid,
        id: Uuid,
        at: i64,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("UPDATE calendar_connections SET next_sync_at = $3 WHERE org_id = $1 AND id = $2 AND next_sync_at > $3")
                .bind(org_id).bind(id).bind(at).execute(pool).await?;
            Ok(())
        })
    }

    /// Rules changed: the next sync of these connections (a person's, or a workspace's) reads
    /// the whole window again, so every event is decided anew; at `at` at the latest.
    pub async fn calendar_resync(
        &self,
        org_id: Uuid,
        user_id: Option<Uuid>,
        workspace_id: Option<Uuid>,
        at: i64,
    ) -> Result<Vec<Uuid>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_scalar::<_, Uuid>(
            "UPDATE calendar_connections SET cursor = NULL, next_sync_at = $4 \
             WHERE org_id = $1 AND ($2 IS NULL OR user_id = $2) AND ($3 IS NULL OR workspace_id = $3) \
             AND status = 'active' RETURNING id",
        ).bind(org_id).bind(user_id).bind(workspace_id).bind(at).fetch_all(pool).await?))
    }

    /// Deletes a connection with its events and choices; false if it was gone.
    pub async fn delete_calendar_connection(
        &self,
        org_id: Uuid,
        id: Uuid,
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query(
            "DELETE FROM calendar_connections WHERE org_id = $1 AND id = $2",
        ).bind(org_id).bind(id).execute(pool).await?.rows_affected() == 1))
    }

    pub async fn calendar_events(
        &self,
        org_id: Uuid,
        connection_id: Uuid,
    ) -> Result<Vec<CalendarEventRow>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_as::<_, CalendarEventRow>(&format!(
            "SELECT {EVENT} FROM calendar_events WHERE org_id = $1 AND connection_id = $2 \
             ORDER BY start_at, event_id"
        )).bind(org_id).bind(connection_id).fetch_all(pool).await?))
    }

    pub async fn calendar_event(
        &self,
        org_id: Uuid,
        connection_id: Uuid,
        event_id: &str,
    ) -> Result<Option<CalendarEventRow>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_as::<_, CalendarEventRow>(&format!(
            "SELECT {EVENT} FROM calendar_events WHERE org_id = $1 AND connection_id = $2 AND event_id = $3"
        )).bind(org_id).bind(connection_id).bind(event_id).fetch_optional(pool).await?))
    }

    pub async fn put_calendar_event(&self, row: &CalendarEventRow) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query(&format!(
                "INSERT INTO calendar_events ({EVENT}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
                 ON CONFLICT (connection_id, event_id) DO UPDATE SET data = excluded.data, \
                 start_at = excluded.start_at, end_at = excluded.end_at, bot_key = excluded.bot_key, \
                 record = excluded.record, reason = excluded.reason, updated_at = excluded.updated_at"
            ))
            .bind(row.connection_id).bind(&row.event_id).bind(row.org_id).bind(row.workspace_id)
            .bind(&row.data).bind(row.start_at).bind(row.end_at).bind(&row.bot_key)
            .bind(row.record).bind(&row.reason).bind(row.updated_at)
            .execute(pool).await?;
            Ok(())
        })
    }

    pub async fn delete_calendar_event(
        &self,
        org_id: Uuid,
        connection_id: Uuid,
        event_id: &str,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("DELETE FROM calendar_events WHERE org_id = $1 AND connection_id = $2 AND event_id = $3")
                .bind(org_id).bind(connection_id).bind(event_id).execute(pool).await?;
            Ok(())
        })
    }

    /// Whether any connection of the workspace still wants a bot for `bot_key`.
    pub async fn calendar_key_wanted(
        &self,
        org_id: Uuid,
        workspace_id: Uuid,
        bot_key: &str,
    ) -> Result<Option<(Uuid, String)>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_as::<_, (Uuid, String)>(
            "SELECT connection_id, event_id FROM calendar_events WHERE org_id = $1 AND workspace_id = $2 \
             AND bot_key = $3 AND record = TRUE ORDER BY updated_at, connection_id LIMIT 1",
        ).bind(org_id).bind(workspace_id).bind(bot_key).fetch_optional(pool).await?))
    }

    /// Forgets choices whose event left the connection's window.
    pub async fn prune_calendar_choices(&self, connection_id: Uuid) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query(
                "DELETE FROM calendar_choices WHERE connection_id = $1 AND event_id NOT IN \
                 (SELECT event_id FROM calendar_events WHERE connection_id = $1)",
            ).bind(connection_id).execute(pool).await?;
            Ok(())
        })
    }

    pub async fn calendar_choice(
        &self,
        connection_id: Uuid,
        event_id: &str,
    ) -> Result<Option<String>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_scalar::<_, String>(
            "SELECT choice FROM calendar_choices WHERE connection_id = $1 AND event_id = $2",
        ).bind(connection_id).bind(event_id).fetch_optional(pool).await?))
    }

    /// Sets (or with `None` clears) a person's choice for one event.
    pub async fn set_calendar_choice(
        &self,
        connection_id: Uuid,
        event_id: &str,
        choice: Option<&str>,
        at: i64,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            match choice {
                Some(c) => sqlx::query(
                    "INSERT INTO calendar_choices (connection_id, event_id, choice, updated_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (connection_id, event_id) DO UPDATE SET choice = excluded.choice, updated_at = excluded.updated_at",
                ).bind(connection_id).bind(event_id).bind(c).bind(at).execute(pool).await?,
                None => sqlx::query("DELETE FROM calendar_choices WHERE connection_id = $1 AND event_id = $2")
                    .bind(connection_id).bind(event_id).execute(pool).await?,
            };
            Ok(())
        })
    }

    pub async fn calendar_bot(
        &self,
        org_id: Uuid,
        workspace_id: Uuid,
        bot_key: &str,
    ) -> Result<Option<CalendarBotRow>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_as::<_, CalendarBotRow>(
            "SELECT org_id, workspace_id, bot_key, bot_id, start_at, created_at FROM calendar_bots \
             WHERE org_id = $1 AND workspace_id = $2 AND bot_key = $3",
        ).bind(org_id).bind(workspace_id).bind(bot_key).fetch_optional(pool).await?))
    }

    /// Claims `bot_key` for a bot; false if another sync claimed it first.
    pub async fn claim_calendar_bot(&self, row: &CalendarBotRow) -> Result<bool, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query(
            "INSERT INTO calendar_bots (org_id, workspace_id, bot_key, bot_id, start_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (org_id, workspace_id, bot_key) DO NOTHING",
        )
        .bind(row.org_id).bind(row.workspace_id).bind(&row.bot_key).bind(row.bot_id)
        .bind(row.start_at).bind(row.created_at)
        .execute(pool).await?.rows_affected() == 1))
    }

    /// Moves a bot's claim from one key to another (the meeting moved).
    pub async fn rekey_calendar_bot(
        &self,
        org_id: Uuid,
        workspace_id: Uuid,
        from: &str,
        to: &str,
        start_at: i64,
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query(
            "UPDATE calendar_bots SET bot_key = $4, start_at = $5 WHERE org_id = $1 AND workspace_id = $2 \
             AND bot_key = $3 AND NOT EXISTS (SELECT 1 FROM calendar_bots WHERE org_id = $1 AND workspace_id = $2 AND bot_key = $4)",
        ).bind(org_id).bind(workspace_id).bind(from).bind(to).bind(start_at)
        .execute(pool).await?.rows_affected() == 1))
    }

    pub async fn release_calendar_bot(
        &self,
        org_id: Uuid,
        workspace_id: Uuid,
        bot_key: &str,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("DELETE FROM calendar_bots WHERE org_id = $1 AND workspace_id = $2 AND bot_key = $3")
                .bind(org_id).bind(workspace_id).bind(bot_key).execute(pool).await?;
            Ok(())
        })
    }

    /// Forgets claims of meetings that started before `before` (their bots live on as bots).
    pub async fn prune_calendar_bots(&self, before: i64) -> Result<u64, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query("DELETE FROM calendar_bots WHERE start_at < $1")
            .bind(before).execute(pool).await?.rows_affected()))
    }

    pub async fn calendar_user_rules(
        &self,
        org_id: Uuid,
        user_id: Uuid,
    ) -> Result<Option<String>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_scalar::<_, String>(
            "SELECT rules FROM calendar_user_rules WHERE org_id = $1 AND user_id = $2",
        ).bind(org_id).bind(user_id).fetch_optional(pool).await?))
    }

    pub async fn put_calendar_user_rules(
        &self,
        org_id: Uuid,
        user_id: Uuid,
        rules: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO calendar_user_rules (org_id, user_id, rules, updated_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (org_id, user_id) DO UPDATE SET rules = excluded.rules, updated_at = excluded.updated_at",
            ).bind(org_id).bind(user_id).bind(rules).bind(at).execute(pool).await?;
            Ok(())
        })
    }

    pub async fn calendar_workspace_rules(
        &self,
        org_id: Uuid,
        workspace_id: Uuid,
    ) -> Result<Option<String>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_scalar::<_, String>(
            "SELECT rules FROM calendar_workspace_rules WHERE org_id = $1 AND workspace_id = $2",
        ).bind(org_id).bind(workspace_id).fetch_optional(pool).await?))
    }

    pub async fn put_calendar_workspace_rules(
        &self,
        org_id: Uuid,
        workspace_id: Uuid,
        rules: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO calendar_workspace_rules (org_id, workspace_id, rules, updated_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (org_id, workspace_id) DO UPDATE SET rules = excluded.rules, updated_at = excluded.updated_at",
            ).bind(org_id).bind(workspace_id).bind(rules).bind(at).execute(pool).await?;
            Ok(())
        })
    }
}
