//! Integrations (migration 0029): connections, the items finished meetings propose to them and
//! every attempt at sending one. The fan-out reads an org's outbox after its cursor and moves
//! the cursor compare-and-set (two instances never both advance it); a proposal is unique per
//! connection and `dedupe`, so making it twice inserts nothing. An item's state changes and its
//! attempt row are written in one transaction; a send only records when the item is still
//! `queued` (an approver cannot be overtaken, nor a sent item sent again). Credentials and
//! payloads are envelopes made by the caller. Every read and write takes the `org_id` it is
//! confined to, except the fan-out's list of cursors.

use uuid::Uuid;

use crate::identity::with_pool;
use crate::{Database, StoreError};

/// A connection.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct IntegrationRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub workspace_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub kind: String,
    pub name: String,
    /// JSON (`meetvault_integrations::Target`).
    pub target: String,
    pub credential: Vec<u8>,
    pub credential_kind: String,
    pub credential_hint: String,
    pub credential_set_at: i64,
    pub credential_expires_at: Option<i64>,
    pub account: String,
    pub on_summary: bool,
    pub on_action_items: bool,
    pub approval: bool,
    pub redact_pii: bool,
    pub enabled: bool,
    pub status: String,
    pub status_reason: Option<String>,
    pub created_by: Option<Uuid>,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, org_id, workspace_id, user_id, kind, name, target, credential, \
    credential_kind, credential_hint, credential_set_at, credential_expires_at, account, on_summary, on_action_items, \
    approval, redact_pii, enabled, status, status_reason, created_by, created_at, updated_at";

/// One proposed item.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ItemRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub integration_id: Uuid,
    pub meeting_id: Uuid,
    /// `summary` or `task`.
    pub kind: String,
    pub dedupe: String,
    /// `awaiting_approval`, `queued`, `sent`, `rejected` or `failed`.
    pub state: String,
    pub payload: Vec<u8>,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub external_id: Option<String>,
    pub external_url: Option<String>,
    pub decided_by: Option<Uuid>,
    pub decided_at: Option<i64>,
    pub edited: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

const ITEM_COLUMNS: &str = "id, org_id, integration_id, meeting_id, kind, dedupe, state, \
    payload, attempts, last_error, external_id, external_url, decided_by, decided_at, edited, \
    created_at, updated_at";

/// One attempt at sending an item.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AttemptRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub integration_id: Uuid,
    pub item_id: Uuid,
    pub at: i64,
    pub outcome: String,
    pub error: Option<String>,
    pub latency_ms: i64,
}

/// What an attempt changes on its item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemOutcome {
    /// The item's next state (`queued` again to retry).
    pub state: &'static str,
    pub last_error: Option<String>,
    pub external_id: Option<String>,
    pub external_url: Option<String>,
}

/// An owner's change to a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrationChange {
    pub name: String,
    pub target: String,
    pub on_summary: bool,
    pub on_action_items: bool,
    pub approval: bool,
    pub redact_pii: bool,
    pub enabled: bool,
    pub updated_at: i64,
}

/// A new credential (reconnecting clears a broken status).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialChange {
    pub credential: Vec<u8>,
    pub credential_kind: String,
    pub credential_hint: String,
    pub expires_at: Option<i64>,
    pub account: String,
    pub at: i64,
}

/// A connection waiting for its provider's consent.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OAuthStateRow {
    pub id: Uuid,
    pub state_hash: String,
    pub org_id: Uuid,
    pub user_id: Uuid,
    pub kind: String,
    /// JSON: the connection's settings.
    pub settings: String,
    pub verifier: Vec<u8>,
    pub expires_at: i64,
}

const STATE_COLUMNS: &str = "id, state_hash, org_id, user_id, kind, settings, verifier, expires_at";

impl Database {
    /// Stores a consent in progress (and clears the expired ones).
    pub async fn insert_integration_oauth_state(
        &self,
        r: &OAuthStateRow,
        now: i64,
    ) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO integration_oauth_states ({STATE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        );
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM integration_oauth_states WHERE expires_at < $1")
                .bind(now).execute(&mut *tx).await?;
            sqlx::query(&sql)
                .bind(r.id).bind(&r.state_hash).bind(r.org_id).bind(r.user_id).bind(&r.kind)
                .bind(&r.settings).bind(&r.verifier).bind(r.expires_at)
                .execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Takes a consent in progress by its state's hash: it can be taken once.
    pub async fn take_integration_oauth_state(
        &self,
        org_id: Uuid,
        state_hash: &str,
    ) -> Result<Option<OAuthStateRow>, StoreError> {
        let sql = format!(
            "DELETE FROM integration_oauth_states WHERE org_id = $1 AND state_hash = $2 \
             RETURNING {STATE_COLUMNS}"
        );
        with_pool!(self, pool => Ok(sqlx::query_as::<_, OAuthStateRow>(&sql)
            .bind(org_id).bind(state_hash).fetch_optional(pool).await?))
    }

    /// Adds a connection and starts its org's cursor at the outbox's end: a new connection
    /// hears only of meetings summarized from now on.
    pub async fn insert_integration(&self, r: &IntegrationRow) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO integrations ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
             $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)"
        );
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(&sql)
                .bind(r.id).bind(r.org_id).bind(r.workspace_id).bind(r.user_id).bind(&r.kind)
                .bind(&r.name).bind(&r.target).bind(&r.credential).bind(&r.credential_kind)
                .bind(&r.credential_hint).bind(r.credential_set_at).bind(r.credential_expires_at)
                .bind(&r.account)
                .bind(r.on_summary).bind(r.on_action_items).bind(r.approval).bind(r.redact_pii)
                .bind(r.enabled).bind(&r.status).bind(&r.status_reason).bind(r.created_by)
                .bind(r.created_at).bind(r.updated_at)
                .execute(&mut *tx).await?;
            sqlx::query(
                "INSERT INTO integration_cursor (org_id, last_seq) \
                 VALUES ($1, COALESCE((SELECT last FROM outbox_seq WHERE org_id = $1), 0)) \
                 ON CONFLICT (org_id) DO NOTHING",
            )
            .bind(r.org_id)
            .execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// An org's connections, oldest first.
    pub async fn integrations(&self, org_id: Uuid) -> Result<Vec<IntegrationRow>, StoreError> {
        let sql =
            format!("SELECT {COLUMNS} FROM integrations WHERE org_id = $1 ORDER BY created_at, id");
        with_pool!(self, pool => Ok(sqlx::query_as::<_, IntegrationRow>(&sql)
            .bind(org_id).fetch_all(pool).await?))
    }

    pub async fn integration(
        &self,
        org_id: Uuid,
        id: Uuid,
    ) -> Result<Option<IntegrationRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM integrations WHERE org_id = $1 AND id = $2");
        with_pool!(self, pool => Ok(sqlx::query_as::<_, IntegrationRow>(&sql)
            .bind(org_id).bind(id).fetch_optional(pool).await?))
    }

    /// Writes an owner's change.
    pub async fn update_integration(
        &self,
        org_id: Uuid,
        id: Uuid,
        c: &IntegrationChange,
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query(
            "UPDATE integrations SET name = $3, target = $4, on_summary = $5, on_action_items = $6, \
             approval = $7, redact_pii = $8, enabled = $9, updated_at = $10 \
             WHERE org_id = $1 AND id = $2",
        )
        .bind(org_id).bind(id).bind(&c.name).bind(&c.target).bind(c.on_summary)
        .bind(c.on_action_items).bind(c.approval).bind(c.redact_pii).bind(c.enabled)
        .bind(c.updated_at)
        .execute(pool).await?.rows_affected() == 1))
    }

    /// Replaces the credential (a reconnect, or refreshed OAuth tokens); `reconnect` also
    /// makes a broken connection active again.
    pub async fn set_integration_credential(
        &self,
        org_id: Uuid,
        id: Uuid,
        c: &CredentialChange,
        reconnect: bool,
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query(
            "UPDATE integrations SET credential = $3, credential_kind = $4, credential_hint = $5, \
             account = $6, credential_set_at = CASE WHEN $7 THEN $8 ELSE credential_set_at END, \
             status = CASE WHEN $7 THEN 'active' ELSE status END, \
             status_reason = CASE WHEN $7 THEN NULL ELSE status_reason END, updated_at = $8, \
             credential_expires_at = $9 \
             WHERE org_id = $1 AND id = $2",
        )
        .bind(org_id).bind(id).bind(&c.credential).bind(&c.credential_kind)
        .bind(&c.credential_hint).bind(&c.account).bind(reconnect).bind(c.at).bind(c.expires_at)
        .execute(pool).await?.rows_affected() == 1))
    }

    /// Marks a connection broken (the provider refused its credential).
    pub async fn break_integration(
        &self,
        org_id: Uuid,
        id: Uuid,
        reason: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query(
                "UPDATE integrations SET status = 'broken', status_reason = $3, updated_at = $4 \
                 WHERE org_id = $1 AND id = $2",
            )
            .bind(org_id).bind(id).bind(reason).bind(at).execute(pool).await?;
            Ok(())
        })
    }

    /// Deletes a connection with its credential, items and attempts.
    pub async fn delete_integration(&self, org_id: Uuid, id: Uuid) -> Result<bool, StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM integration_attempts WHERE org_id = $1 AND integration_id = $2")
                .bind(org_id).bind(id).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM integration_items WHERE org_id = $1 AND integration_id = $2")
                .bind(org_id).bind(id).execute(&mut *tx).await?;
            let gone = sqlx::query("DELETE FROM integrations WHERE org_id = $1 AND id = $2")
                .bind(org_id).bind(id).execute(&mut *tx).await?.rows_affected() == 1;
            tx.commit().await?;
            Ok(gone)
        })
    }

    /// The orgs with a connection and how far each one's outbox has been read.
    pub async fn integration_cursors(&self) -> Result<Vec<(Uuid, i64)>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_as::<_, (Uuid, i64)>(
            "SELECT c.org_id, c.last_seq FROM integration_cursor c WHERE EXISTS \
             (SELECT 1 FROM integrations i WHERE i.org_id = c.org_id)",
        ).fetch_all(pool).await?))
    }

    /// Moves an org's cursor from `from` to `to`; false when another instance moved it first.
    pub async fn move_integration_cursor(
        &self,
        org_id: Uuid,
        from: i64,
        to: i64,
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query(
            "UPDATE integration_cursor SET last_seq = $3 WHERE org_id = $1 AND last_seq = $2",
        )
        .bind(org_id).bind(from).bind(to)
        .execute(pool).await?.rows_affected() == 1))
    }

    /// Inserts proposals; one already made (same connection and `dedupe`) is left as it is.
    pub async fn propose_integration_items(&self, items: &[ItemRow]) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO integration_items ({ITEM_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, \
             $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
             ON CONFLICT (integration_id, dedupe) DO NOTHING"
        );
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for i in items {
                sqlx::query(&sql)
                    .bind(i.id).bind(i.org_id).bind(i.integration_id).bind(i.meeting_id)
                    .bind(&i.kind).bind(&i.dedupe).bind(&i.state).bind(&i.payload)
                    .bind(i.attempts).bind(&i.last_error).bind(&i.external_id)
                    .bind(&i.external_url).bind(i.decided_by).bind(i.decided_at).bind(i.edited)
                    .bind(i.created_at).bind(i.updated_at)
                    .execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    pub async fn integration_item(
        &self,
        org_id: Uuid,
        id: Uuid,
    ) -> Result<Option<ItemRow>, StoreError> {
        let sql =
            format!("SELECT {ITEM_COLUMNS} FROM integration_items WHERE org_id = $1 AND id = $2");
        with_pool!(self, pool => Ok(sqlx::query_as::<_, ItemRow>(&sql)
            .bind(org_id).bind(id).fetch_optional(pool).await?))
    }

    /// Items of an org in `state` (all states when `None`), of one connection when given,
    /// oldest first, at most `limit`.
    pub async fn integration_items(
        &self,
        org_id: Uuid,
        integration: Option<Uuid>,
        state: Option<&str>,
        limit: i64,
    ) -> Result<Vec<ItemRow>, StoreError> {
        let sql = format!(
            "SELECT {ITEM_COLUMNS} FROM integration_items WHERE org_id = $1 \
             AND ($2 IS NULL OR integration_id = $2) AND ($3 IS NULL OR state = $3) \
             ORDER BY created_at, id LIMIT $4"
        );
        with_pool!(self, pool => Ok(sqlx::query_as::<_, ItemRow>(&sql)
            .bind(org_id).bind(integration).bind(state).bind(limit).fetch_all(pool).await?))
    }

    /// An approver's decision: `awaiting_approval` becomes `state` (`queued` or `rejected`),
    /// with an edited payload when given. False when the item no longer waits.
    pub async fn decide_integration_item(
        &self,
        org_id: Uuid,
        id: Uuid,
        state: &str,
        payload: Option<&[u8]>,
        by: Uuid,
        at: i64,
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query(
            "UPDATE integration_items SET state = $3, payload = COALESCE($4, payload), \
             edited = edited OR $4 IS NOT NULL, decided_by = $5, \
             decided_at = $6, updated_at = $6 \
             WHERE org_id = $1 AND id = $2 AND state = 'awaiting_approval'",
        )
        .bind(org_id).bind(id).bind(state).bind(payload).bind(by).bind(at)
        .execute(pool).await?.rows_affected() == 1))
    }

    /// An edit that keeps the item waiting.
    pub async fn edit_integration_item(
        &self,
        org_id: Uuid,
        id: Uuid,
        payload: &[u8],
        at: i64,
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query(
            "UPDATE integration_items SET payload = $3, edited = TRUE, updated_at = $4 \
             WHERE org_id = $1 AND id = $2 AND state = 'awaiting_approval'",
        )
        .bind(org_id).bind(id).bind(payload).bind(at)
        .execute(pool).await?.rows_affected() == 1))
    }

    /// Records an attempt and its outcome on a queued item, in one transaction; false (and
    /// nothing written) when the item is no longer queued.
    pub async fn record_integration_attempt(
        &self,
        a: &AttemptRow,
        o: &ItemOutcome,
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let held = sqlx::query(
                "UPDATE integration_items SET state = $3, attempts = attempts + 1, last_error = $4, \
                 external_id = COALESCE($5, external_id), external_url = COALESCE($6, external_url), \
                 updated_at = $7 WHERE org_id = $1 AND id = $2 AND state = 'queued'",
            )
            .bind(a.org_id).bind(a.item_id).bind(o.state).bind(&o.last_error)
            .bind(&o.external_id).bind(&o.external_url).bind(a.at)
            .execute(&mut *tx).await?.rows_affected() == 1;
            if !held {
                tx.rollback().await?;
                return Ok(false);
            }
            sqlx::query(
                "INSERT INTO integration_attempts (id, org_id, integration_id, item_id, at, outcome, \
                 error, latency_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(a.id).bind(a.org_id).bind(a.integration_id).bind(a.item_id).bind(a.at)
            .bind(&a.outcome).bind(&a.error).bind(a.latency_ms)
            .execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Marks a queued item failed without an attempt (its content can no longer be opened, its
    /// connection is gone).
    pub async fn fail_integration_item(
        &self,
        org_id: Uuid,
        id: Uuid,
        reason: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query(
                "UPDATE integration_items SET state = 'failed', last_error = $3, updated_at = $4 \
                 WHERE org_id = $1 AND id = $2 AND state IN ('queued', 'awaiting_approval')",
            )
            .bind(org_id).bind(id).bind(reason).bind(at).execute(pool).await?;
            Ok(())
        })
    }

    /// Deletes a meeting's items and their attempts (its transcript went: what was made of it
    /// goes too); idempotent. Returns how many items went.
    pub async fn delete_integration_items_of_meeting(
        &self,
        org_id: Uuid,
        meeting_id: Uuid,
    ) -> Result<u64, StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "DELETE FROM integration_attempts WHERE org_id = $1 AND item_id IN \
                 (SELECT id FROM integration_items WHERE org_id = $1 AND meeting_id = $2)",
            )
            .bind(org_id).bind(meeting_id).execute(&mut *tx).await?;
            let n = sqlx::query("DELETE FROM integration_items WHERE org_id = $1 AND meeting_id = $2")
                .bind(org_id).bind(meeting_id).execute(&mut *tx).await?.rows_affected();
            tx.commit().await?;
            Ok(n)
        })
    }

    /// A connection's attempts, newest first, at most `limit`.
    pub async fn integration_attempts(
        &self,
        org_id: Uuid,
        integration: Uuid,
        limit: i64,
    ) -> Result<Vec<AttemptRow>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_as::<_, AttemptRow>(
            "SELECT id, org_id, integration_id, item_id, at, outcome, error, latency_ms \
             FROM integration_attempts WHERE org_id = $1 AND integration_id = $2 \
             ORDER BY at DESC, id LIMIT $3",
        )
        .bind(org_id).bind(integration).bind(limit).fetch_all(pool).await?))
    }
}
