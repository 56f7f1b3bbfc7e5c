//! Webhook endpoints, their deliveries and every attempt at one (migration 0014). The fan-out
//! turns an org's outbox events into deliveries and moves the org's cursor in one transaction,
//! compare-and-set on the cursor, so two instances never both advance it (and a delivery's
//! `msg_id` is unique per endpoint, so a repeat inserts nothing). A dispatcher leases one
//! endpoint at a time and sends its pending deliveries in event order; every attempt is
//! recorded with the endpoint's new schedule in one transaction that names the lease owner, so a
//! dispatcher whose lease ran out records nothing. Secrets and sealed bodies are envelopes made
//! by the caller. Every read and write takes the `org_id` it is confined to, except the
//! dispatcher's claim (which returns the org with the endpoint).

use uuid::Uuid;

use crate::identity::with_pool;
use crate::{Database, StoreError};

/// A registered endpoint.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct EndpointRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub workspace_id: Option<Uuid>,
    pub bot_id: Option<Uuid>,
    pub meeting_id: Option<Uuid>,
    pub url: String,
    pub description: String,
    /// JSON array of event types (empty: every type that is not opt-in).
    pub event_types: String,
    pub enabled: bool,
    pub include_content: bool,
    pub signing: String,
    pub secret: Vec<u8>,
    pub previous_secret: Option<Vec<u8>>,
    pub previous_until: Option<i64>,
    pub disabled_reason: Option<String>,
    pub failing_since: Option<i64>,
    pub next_at: i64,
    pub lease_owner: Option<String>,
    pub lease_until: Option<i64>,
    pub created_by: Option<Uuid>,
    pub created_at: i64,
    pub updated_at: i64,
}

const ENDPOINT_COLUMNS: &str = "id, org_id, workspace_id, bot_id, meeting_id, url, description, \
    event_types, enabled, include_content, signing, secret, previous_secret, previous_until, \
    disabled_reason, failing_since, next_at, lease_owner, lease_until, created_by, created_at, updated_at";

/// One event for one endpoint.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DeliveryRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub endpoint_id: Uuid,
    pub msg_id: String,
    pub event_type: String,
    pub event_seq: i64,
    pub meeting_id: Option<Uuid>,
    pub body: Vec<u8>,
    pub sealed: bool,
    /// `pending`, `succeeded` or `failed`.
    pub state: String,
    pub attempts: i32,
    pub next_at: i64,
    pub last_status: Option<i32>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Its owner asked for it again: the next attempt is a redelivery.
    pub redeliver: bool,
}

const DELIVERY_COLUMNS: &str = "id, org_id, endpoint_id, msg_id, event_type, event_seq, meeting_id, \
    body, sealed, state, attempts, next_at, last_status, created_at, updated_at, redeliver";

/// One attempt at a delivery.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AttemptRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub delivery_id: Uuid,
    pub at: i64,
    pub status: Option<i32>,
    pub latency_ms: i64,
    pub excerpt: Option<String>,
    pub error: Option<String>,
    pub next_retry_at: Option<i64>,
    /// `scheduled` (the queue), `redeliver` or `test`.
    pub trigger: String,
}

const ATTEMPT_COLUMNS: &str =
    "id, org_id, delivery_id, at, status, latency_ms, excerpt, error, next_retry_at, trigger";

/// What an attempt changes besides its own row: the delivery's state and the endpoint's queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptOutcome {
    /// `pending` (a retry at `delivery_next_at`), `succeeded` or `failed`.
    pub delivery_state: &'static str,
    pub delivery_next_at: i64,
    pub endpoint_next_at: i64,
    pub failing_since: Option<i64>,
    /// Set: the endpoint is disabled, for this reason.
    pub disable: Option<String>,
}

/// The fields of an endpoint its owner can change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointChange {
    pub url: String,
    pub description: String,
    pub event_types: String,
    pub enabled: bool,
    pub include_content: bool,
    pub workspace_id: Option<Uuid>,
    pub disabled_reason: Option<String>,
    pub updated_at: i64,
}

impl Database {
    /// Adds an endpoint; the org's fan-out starts (if it has not yet) at its newest event, so an
    /// endpoint hears only what happens from now on.
    pub async fn insert_webhook_endpoint(&self, e: &EndpointRow) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO webhook_endpoints ({ENDPOINT_COLUMNS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)"
        );
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(&sql)
                .bind(e.id).bind(e.org_id).bind(e.workspace_id).bind(e.bot_id).bind(e.meeting_id)
                .bind(&e.url).bind(&e.description).bind(&e.event_types).bind(e.enabled)
                .bind(e.include_content).bind(&e.signing).bind(&e.secret).bind(&e.previous_secret)
                .bind(e.previous_until).bind(&e.disabled_reason).bind(e.failing_since).bind(e.next_at)
                .bind(&e.lease_owner).bind(e.lease_until).bind(e.created_by).bind(e.created_at)
                .bind(e.updated_at)
                .execute(&mut *tx).await?;
            sqlx::query(
                "INSERT INTO webhook_cursor (org_id, last_seq) \
                 VALUES ($1, COALESCE((SELECT last FROM outbox_seq WHERE org_id = $1), 0)) \
                 ON CONFLICT (org_id) DO NOTHING",
            )
            .bind(e.org_id)
            .execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// An org's endpoints, oldest first (a bot's own endpoints only when `with_bots`).
    pub async fn webhook_endpoints(
        &self,
        org_id: Uuid,
        with_bots: bool,
    ) -> Result<Vec<EndpointRow>, StoreError> {
        let sql = format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE org_id = $1 \
             AND ($2 OR bot_id IS NULL) ORDER BY created_at, id"
        );
        with_pool!(self, pool => Ok(sqlx::query_as::<_, EndpointRow>(&sql)
            .bind(org_id).bind(with_bots).fetch_all(pool).await?))
    }

    pub async fn webhook_endpoint(
        &self,
        org_id: Uuid,
        id: Uuid,
    ) -> Result<Option<EndpointRow>, StoreError> {
        let sql = format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE org_id = $1 AND id = $2"
        );
        with_pool!(self, pool => Ok(sqlx::query_as::<_, EndpointRow>(&sql)
            .bind(org_id).bind(id).fetch_optional(pool).await?))
    }

    /// The endpoint a bot was created with (`webhook_url`), if any.
    pub async fn webhook_endpoint_of_bot(
        &self,
        org_id: Uuid,
        bot_id: Uuid,
    ) -> Result<Option<Uuid>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_scalar::<_, Uuid>(
            "SELECT id FROM webhook_endpoints WHERE org_id = $1 AND bot_id = $2 LIMIT 1",
        ).bind(org_id).bind(bot_id).fetch_optional(pool).await?))
    }

    /// Writes an owner's change; a re-enabled endpoint starts afresh (due now, not failing).
    pub async fn update_webhook_endpoint(
        &self,
        org_id: Uuid,
        id: Uuid,
        c: &EndpointChange,
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query(
            "UPDATE webhook_endpoints SET url = $3, description = $4, event_types = $5, \
             failing_since = CASE WHEN $6 AND NOT enabled THEN NULL ELSE failing_since END, \
             next_at = CASE WHEN $6 AND NOT enabled THEN $10 ELSE next_at END, \
             enabled = $6, include_content = $7, workspace_id = $8, disabled_reason = $9, updated_at = $10 \
             WHERE org_id = $1 AND id = $2",
        )
        .bind(org_id).bind(id).bind(&c.url).bind(&c.description).bind(&c.event_types)
        .bind(c.enabled).bind(c.include_content).bind(c.workspace_id).bind(&c.disabled_reason)
        .bind(c.updated_at)
        .execute(pool).await?.rows_affected() == 1))
    }

    /// Replaces the signing secret; the old one signs beside it until `previous_until`.
    pub async fn rotate_webhook_secret(
        &self,
        org_id: Uuid,
        id: Uuid,
        secret: &[u8],
        previous: &[u8],
        previous_until: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query(
            "UPDATE webhook_endpoints SET secret = $3, previous_secret = $4, previous_until = $5, \
             updated_at = $6 WHERE org_id = $1 AND id = $2",
        )
        .bind(org_id).bind(id).bind(secret).bind(previous).bind(previous_until).bind(now)
        .execute(pool).await?.rows_affected() == 1))
    }

    /// Deletes an endpoint with its deliveries and their attempts.
    pub async fn delete_webhook_endpoint(
        &self,
        org_id: Uuid,
        id: Uuid,
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "DELETE FROM webhook_attempts WHERE delivery_id IN \
                 (SELECT id FROM webhook_deliveries WHERE org_id = $1 AND endpoint_id = $2)",
            )
            .bind(org_id).bind(id).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM webhook_deliveries WHERE org_id = $1 AND endpoint_id = $2")
                .bind(org_id).bind(id).execute(&mut *tx).await?;
            let gone = sqlx::query("DELETE FROM webhook_endpoints WHERE org_id = $1 AND id = $2")
                .bind(org_id).bind(id).execute(&mut *tx).await?.rows_affected() == 1;
            tx.commit().await?;
            Ok(gone)
        })
    }

    /// The orgs with at least one endpoint, and how far each one's fan-out has come (an org
    /// whose endpoints are all disabled still moves on: nothing that happened meanwhile is
    /// sent later).
    pub async fn webhook_cursors(&self) -> Result<Vec<(Uuid, i64)>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_as::<_, (Uuid, i64)>(
            "SELECT c.org_id, c.last_seq FROM webhook_cursor c WHERE EXISTS \
             (SELECT 1 FROM webhook_endpoints e WHERE e.org_id = c.org_id)",
        ).fetch_all(pool).await?))
    }

    /// Inserts the deliveries made from an org's events `(from, to]` and moves its cursor to
    /// `to`, only if it still stands at `from` (another instance did not get there first); new
    /// deliveries make their endpoints due at once unless they wait for a retry. Returns
    /// whether this call moved the cursor.
    pub async fn fan_out_webhooks(
        &self,
        org_id: Uuid,
        from: i64,
        to: i64,
        deliveries: &[DeliveryRow],
    ) -> Result<bool, StoreError> {
        let insert = format!(
            "INSERT INTO webhook_deliveries ({DELIVERY_COLUMNS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
             ON CONFLICT (endpoint_id, msg_id) DO NOTHING"
        );
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let moved = sqlx::query(
                "UPDATE webhook_cursor SET last_seq = $3 WHERE org_id = $1 AND last_seq = $2",
            )
            .bind(org_id).bind(from).bind(to)
            .execute(&mut *tx).await?.rows_affected() == 1;
            if !moved {
                tx.rollback().await?;
                return Ok(false);
            }
            for d in deliveries {
                bind_delivery(sqlx::query(&insert), d).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Adds one delivery outside the fan-out (a test message) and makes its endpoint due now.
    pub async fn insert_webhook_delivery(&self, d: &DeliveryRow) -> Result<(), StoreError> {
        let insert = format!(
            "INSERT INTO webhook_deliveries ({DELIVERY_COLUMNS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
        );
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            bind_delivery(sqlx::query(&insert), d).execute(&mut *tx).await?;
            sqlx::query("UPDATE webhook_endpoints SET next_at = $3 WHERE org_id = $1 AND id = $2 AND next_at > $3")
                .bind(d.org_id).bind(d.endpoint_id).bind(d.created_at)
                .execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Leases an enabled endpoint that has a pending delivery and is due, to `owner` until
    /// `lease_until`; an expired lease is taken over.
    pub async fn claim_webhook_endpoint(
        &self,
        owner: &str,
        now: i64,
        lease_until: i64,
    ) -> Result<Option<EndpointRow>, StoreError> {
        let pick = "SELECT e.id FROM webhook_endpoints e WHERE e.enabled AND e.next_at <= $3 \
             AND (e.lease_until IS NULL OR e.lease_until < $3) \
             AND EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.endpoint_id = e.id AND d.state = 'pending') \
             ORDER BY e.next_at LIMIT 1";
        let lock = match self {
            Database::Sqlite(..) => "",
            Database::Postgres(_) => " FOR UPDATE SKIP LOCKED",
        };
        let sql = format!(
            "UPDATE webhook_endpoints SET lease_owner = $1, lease_until = $2 \
             WHERE id = ({pick}{lock}) RETURNING {ENDPOINT_COLUMNS}"
        );
        with_pool!(self, pool => Ok(sqlx::query_as::<_, EndpointRow>(&sql)
            .bind(owner).bind(lease_until).bind(now).fetch_optional(pool).await?))
    }

    /// Extends a lease still held by `owner`; false when it was lost.
    pub async fn extend_webhook_lease(
        &self,
        id: Uuid,
        owner: &str,
        lease_until: i64,
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query(
            "UPDATE webhook_endpoints SET lease_until = $3 WHERE id = $1 AND lease_owner = $2",
        ).bind(id).bind(owner).bind(lease_until).execute(pool).await?.rows_affected() == 1))
    }

    /// Makes the endpoint's queue wait until `next_at` (its head's retry), if `owner` holds it.
    pub async fn defer_webhook_endpoint(
        &self,
        id: Uuid,
        owner: &str,
        next_at: i64,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("UPDATE webhook_endpoints SET next_at = $3 WHERE id = $1 AND lease_owner = $2")
                .bind(id).bind(owner).bind(next_at).execute(pool).await?;
            Ok(())
        })
    }

    /// Hands an endpoint back.
    pub async fn release_webhook_endpoint(&self, id: Uuid, owner: &str) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query(
                "UPDATE webhook_endpoints SET lease_owner = NULL, lease_until = NULL \
                 WHERE id = $1 AND lease_owner = $2",
            ).bind(id).bind(owner).execute(pool).await?;
            Ok(())
        })
    }

    /// The endpoint's next delivery (the head of its queue), if any: a redelivery first, then
    /// event order (a test message's number is 0).
    pub async fn head_webhook_delivery(
        &self,
        org_id: Uuid,
        endpoint_id: Uuid,
    ) -> Result<Option<DeliveryRow>, StoreError> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE org_id = $1 AND endpoint_id = $2 \
             AND state = 'pending' ORDER BY redeliver DESC, event_seq, created_at, id LIMIT 1"
        );
        with_pool!(self, pool => Ok(sqlx::query_as::<_, DeliveryRow>(&sql)
            .bind(org_id).bind(endpoint_id).fetch_optional(pool).await?))
    }

    /// Records an attempt with what it changes, if `owner` still holds the endpoint's lease
    /// (false, and nothing written, when it does not).
    pub async fn record_webhook_attempt(
        &self,
        owner: &str,
        endpoint_id: Uuid,
        attempt: &AttemptRow,
        outcome: &AttemptOutcome,
    ) -> Result<bool, StoreError> {
        let insert = format!(
            "INSERT INTO webhook_attempts ({ATTEMPT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        );
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let held = sqlx::query(
                "UPDATE webhook_endpoints SET next_at = $3, failing_since = $4, \
                 enabled = CASE WHEN $5 IS NULL THEN enabled ELSE FALSE END, \
                 disabled_reason = COALESCE($5, disabled_reason) \
                 WHERE id = $1 AND lease_owner = $2",
            )
            .bind(endpoint_id).bind(owner).bind(outcome.endpoint_next_at)
            .bind(outcome.failing_since).bind(&outcome.disable)
            .execute(&mut *tx).await?.rows_affected() == 1;
            if !held {
                tx.rollback().await?;
                return Ok(false);
            }
            bind_attempt(sqlx::query(&insert), attempt).execute(&mut *tx).await?;
            sqlx::query(
                "UPDATE webhook_deliveries SET state = $3, attempts = attempts + 1, next_at = $4, \
                 last_status = $5, updated_at = $6, redeliver = FALSE WHERE org_id = $1 AND id = $2",
            )
            .bind(attempt.org_id).bind(attempt.delivery_id).bind(outcome.delivery_state)
            .bind(outcome.delivery_next_at).bind(attempt.status).bind(attempt.at)
            .execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Marks a delivery failed without an attempt (its content can no longer be opened).
    pub async fn fail_webhook_delivery(
        &self,
        org_id: Uuid,
        id: Uuid,
        now: i64,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("UPDATE webhook_deliveries SET state = 'failed', updated_at = $3 WHERE org_id = $1 AND id = $2")
                .bind(org_id).bind(id).bind(now).execute(pool).await?;
            Ok(())
        })
    }

    /// Puts a delivery back at its place in the endpoint's queue, due now (a redelivery).
    pub async fn requeue_webhook_delivery(
        &self,
        org_id: Uuid,
        endpoint_id: Uuid,
        id: Uuid,
        now: i64,
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let found = sqlx::query(
                "UPDATE webhook_deliveries SET state = 'pending', next_at = $4, updated_at = $4, redeliver = TRUE \
                 WHERE org_id = $1 AND endpoint_id = $2 AND id = $3",
            )
            .bind(org_id).bind(endpoint_id).bind(id).bind(now)
            .execute(&mut *tx).await?.rows_affected() == 1;
            sqlx::query("UPDATE webhook_endpoints SET next_at = $3 WHERE org_id = $1 AND id = $2 AND next_at > $3")
                .bind(org_id).bind(endpoint_id).bind(now)
                .execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(found)
        })
    }

    /// An endpoint's deliveries, newest first, before `before` (`(created_at, id)` of the last
    /// one of the previous page).
    pub async fn webhook_deliveries(
        &self,
        org_id: Uuid,
        endpoint_id: Uuid,
        before: Option<(i64, Uuid)>,
        limit: i64,
    ) -> Result<Vec<DeliveryRow>, StoreError> {
        let (at, id) = before.unwrap_or((i64::MAX, Uuid::max()));
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE org_id = $1 AND endpoint_id = $2 \
             AND (created_at < $3 OR (created_at = $3 AND id < $4)) \
             ORDER BY created_at DESC, id DESC LIMIT $5"
        );
        with_pool!(self, pool => Ok(sqlx::query_as::<_, DeliveryRow>(&sql)
            .bind(org_id).bind(endpoint_id).bind(at).bind(id).bind(limit)
            .fetch_all(pool).await?))
    }

    pub async fn webhook_delivery(
        &self,
        org_id: Uuid,
        endpoint_id: Uuid,
        id: Uuid,
    ) -> Result<Option<DeliveryRow>, StoreError> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE org_id = $1 AND endpoint_id = $2 AND id = $3"
        );
        with_pool!(self, pool => Ok(sqlx::query_as::<_, DeliveryRow>(&sql)
            .bind(org_id).bind(endpoint_id).bind(id).fetch_optional(pool).await?))
    }

    /// A delivery's attempts, in order.
    pub async fn webhook_attempts(
        &self,
        org_id: Uuid,
        delivery_id: Uuid,
    ) -> Result<Vec<AttemptRow>, StoreError> {
        let sql = format!(
            "SELECT {ATTEMPT_COLUMNS} FROM webhook_attempts WHERE org_id = $1 AND delivery_id = $2 ORDER BY at, id"
        );
        with_pool!(self, pool => Ok(sqlx::query_as::<_, AttemptRow>(&sql)
            .bind(org_id).bind(delivery_id).fetch_all(pool).await?))
    }

    /// Endpoints that belong to a bot (its own `webhook_url`): (org, endpoint, bot), oldest
    /// first.
    pub async fn bot_webhook_endpoints(
        &self,
        limit: i64,
    ) -> Result<Vec<(Uuid, Uuid, Uuid)>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_as::<_, (Uuid, Uuid, Uuid)>(
            "SELECT org_id, id, bot_id FROM webhook_endpoints WHERE bot_id IS NOT NULL \
             ORDER BY created_at, id LIMIT $1",
        ).bind(limit).fetch_all(pool).await?))
    }

    /// How many deliveries an endpoint has waiting.
    pub async fn pending_webhook_deliveries(
        &self,
        org_id: Uuid,
        endpoint_id: Uuid,
    ) -> Result<i64, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM webhook_deliveries WHERE org_id = $1 AND endpoint_id = $2 AND state = 'pending'",
        ).bind(org_id).bind(endpoint_id).fetch_one(pool).await?))
    }

    /// Deletes up to `limit` finished deliveries (with their attempts) last changed before
    /// `before`; returns how many.
    pub async fn prune_webhook_deliveries(
        &self,
        before: i64,
        limit: i64,
    ) -> Result<u64, StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let pick = "SELECT id FROM webhook_deliveries WHERE state <> 'pending' AND updated_at < $1 \
                        ORDER BY updated_at LIMIT $2";
            sqlx::query(&format!("DELETE FROM webhook_attempts WHERE delivery_id IN ({pick})"))
                .bind(before).bind(limit).execute(&mut *tx).await?;
            let done = sqlx::query(&format!("DELETE FROM webhook_deliveries WHERE id IN ({pick})"))
                .bind(before).bind(limit).execute(&mut *tx).await?.rows_affected();
            tx.commit().await?;
            Ok(done)
        })
    }
}

type Query<'q, DB> = sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>;

fn bind_delivery<'q, DB>(q: Query<'q, DB>, d: &'q DeliveryRow) -> Query<'q, DB>
where
    DB: sqlx::Database,
    Uuid: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i32: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    bool: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Vec<u8>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<Uuid>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<i32>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    q.bind(d.id)
        .bind(d.org_id)
        .bind(d.endpoint_id)
        .bind(&d.msg_id)
        .bind(&d.event_type)
        .bind(d.event_seq)
        .bind(d.meeting_id)
        .bind(&d.body)
        .bind(d.sealed)
        .bind(&d.state)
        .bind(d.attempts)
        .bind(d.next_at)
        .bind(d.last_status)
        .bind(d.created_at)
        .bind(d.updated_at)
        .bind(d.redeliver)
}

fn bind_attempt<'q, DB>(q: Query<'q, DB>, a: &'q AttemptRow) -> Query<'q, DB>
where
    DB: sqlx::Database,
    Uuid: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<i32>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<i64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    q.bind(a.id)
        .bind(a.org_id)
        .bind(a.delivery_id)
        .bind(a.at)
        .bind(a.status)
        .bind(a.latency_ms)
        .bind(&a.excerpt)
        .bind(&a.error)
        .bind(a.next_retry_at)
        .bind(&a.trigger)
}
