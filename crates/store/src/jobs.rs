//! The durable job queue's rows. Claiming is one atomic statement on both backends: an
//! `UPDATE … WHERE id = (SELECT … LIMIT 1)` that SQLite runs under its single writer lock and
//! PostgreSQL under `FOR UPDATE SKIP LOCKED`, so two workers never hold the same job. Every
//! transition after the claim names the lease owner, so a worker whose lease expired (and whose
//! job another worker took over) cannot complete, retry or bury it. Every change of a job's
//! state (and of its progress) appends a `job.state_changed` event to the outbox in the same
//! transaction.

use uuid::Uuid;

use crate::identity::{LOCK_JOB_ENQUEUE, with_pool, with_write_tx};
use crate::outbox::{JobChange, append_job_change};
use crate::{Database, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct JobRow {
    pub id: Uuid,
    pub org_id: Option<Uuid>,
    pub kind: String,
    pub payload: String,
    pub resource_id: Option<Uuid>,
    pub state: String,
    pub attempts: i32,
    pub max_attempts: i32,
    /// Unix milliseconds, as are all the times here.
    pub run_at: i64,
    pub lease_owner: Option<String>,
    pub lease_until: Option<i64>,
    pub progress: i32,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
}

/// Where a job is in its life. Stored as its lower-case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Running,
    Succeeded,
    /// Failed for good (its last error says why).
    Dead,
    Cancelled,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Dead => "dead",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Queued,
            Self::Running,
            Self::Succeeded,
            Self::Dead,
            Self::Cancelled,
        ]
        .into_iter()
        .find(|j| j.as_str() == s)
    }

    /// Whether the job will not run again.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Dead | Self::Cancelled)
    }
}

impl JobRow {
    /// The row's state; a value the schema's CHECK would refuse reads as `Dead`.
    pub fn job_state(&self) -> JobState {
        JobState::parse(&self.state).unwrap_or(JobState::Dead)
    }

    /// This job's state as an outbox event's payload.
    fn change(&self) -> JobChange {
        JobChange {
            job_id: self.id,
            kind: self.kind.clone(),
            state: self.state.clone(),
            progress: self.progress,
            error: self.last_error.clone(),
        }
    }
}

const COLUMNS: &str = "id, org_id, kind, payload, resource_id, state, attempts, max_attempts, run_at, \
     lease_owner, lease_until, progress, last_error, created_at, updated_at, finished_at";

impl Database {
    /// Adds a job unless an identical one (same kind, resource and payload) is still waiting to
    /// run; returns the id of the job that will do the work.
    pub async fn enqueue_job(&self, job: &JobRow) -> Result<Uuid, StoreError> {
        with_write_tx!(self, LOCK_JOB_ENQUEUE, tx => {
            let waiting: Option<Uuid> = sqlx::query_scalar(
                "SELECT id FROM jobs WHERE kind = $1 AND resource_id IS NOT DISTINCT FROM $2 AND payload = $3 \
                 AND state = 'queued' AND attempts = 0 LIMIT 1",
            )
            .bind(&job.kind).bind(job.resource_id).bind(&job.payload)
            .fetch_optional(&mut *tx).await?;
            if let Some(id) = waiting {
                tx.commit().await?;
                return Ok(id);
            }
            sqlx::query(&format!("INSERT INTO jobs ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"))
                .bind(job.id).bind(job.org_id).bind(&job.kind).bind(&job.payload).bind(job.resource_id)
                .bind(&job.state).bind(job.attempts).bind(job.max_attempts).bind(job.run_at)
                .bind(&job.lease_owner).bind(job.lease_until).bind(job.progress).bind(&job.last_error)
                .bind(job.created_at).bind(job.updated_at).bind(job.finished_at)
                .execute(&mut *tx).await?;
            append_job_change!(tx, job.org_id, job.resource_id, &job.change(), job.created_at);
            tx.commit().await?;
            Ok(job.id)
        })
    }

    /// Takes the next due job of `kind` (queued and due, or running with an expired lease) and
    /// leases it to `owner` until `lease_until`, counting an attempt.
    pub async fn claim_job(
        &self,
        kind: &str,
        owner: &str,
        now: i64,
        lease_until: i64,
    ) -> Result<Option<JobRow>, StoreError> {
        let pick = "SELECT id FROM jobs WHERE kind = $4 AND attempts < max_attempts \
             AND ((state = 'queued' AND run_at <= $3) OR (state = 'running' AND lease_until < $3)) \
             ORDER BY run_at, created_at LIMIT 1";
        let lock = match self {
            Database::Sqlite(..) => "",
            Database::Postgres(_) => " FOR UPDATE SKIP LOCKED",
        };
        let sql = format!(
            "UPDATE jobs SET state = 'running', lease_owner = $1, lease_until = $2, attempts = attempts + 1, \
             updated_at = $3 WHERE id = ({pick}{lock}) RETURNING {COLUMNS}"
        );
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let job = sqlx::query_as::<_, JobRow>(&sql)
                .bind(owner).bind(lease_until).bind(now).bind(kind)
                .fetch_optional(&mut *tx).await?;
            if let Some(job) = &job {
                append_job_change!(tx, job.org_id, job.resource_id, &job.change(), now);
            }
            tx.commit().await?;
            Ok(job)
        })
    }

    /// Extends a lease and records progress; `false` when the lease is no longer ours (the job
    /// was taken over, finished or cancelled): the worker must stop.
    pub async fn heartbeat_job(
        &self,
        id: Uuid,
        owner: &str,
        now: i64,
        lease_until: i64,
        progress: i32,
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let done = sqlx::query(
                "UPDATE jobs SET lease_until = $1, updated_at = $2 \
                 WHERE id = $3 AND lease_owner = $4 AND state = 'running'",
            )
            .bind(lease_until).bind(now).bind(id).bind(owner)
            .execute(&mut *tx).await?;
            if done.rows_affected() != 1 {
                tx.commit().await?;
                return Ok(false);
            }
            // Progress is an event only when it moved.
            let moved = sqlx::query_as::<_, JobRow>(&format!(
                "UPDATE jobs SET progress = $1 WHERE id = $2 AND progress <> $1 RETURNING {COLUMNS}"
            ))
            .bind(progress.clamp(0, 100)).bind(id)
            .fetch_optional(&mut *tx).await?;
            if let Some(job) = &moved {
                append_job_change!(tx, job.org_id, job.resource_id, &job.change(), now);
            }
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Ends a job: `succeeded`, `dead` (with its error) or back to `queued` at `run_at` (a retry;
    /// `release` also gives the attempt back, for a worker shutting down cleanly).
    pub async fn finish_job(
        &self,
        id: Uuid,
        owner: &str,
        end: JobEnd<'_>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let (sql, error, run_at) = match end {
            JobEnd::Succeeded => (
                "UPDATE jobs SET state = 'succeeded', progress = 100, lease_owner = NULL, lease_until = NULL, \
                 last_error = NULL, updated_at = $1, finished_at = $1 WHERE id = $2 AND lease_owner = $3 AND state = 'running' \
                 RETURNING {COLUMNS}",
                None,
                None,
            ),
            JobEnd::Dead(error) => (
                "UPDATE jobs SET state = 'dead', lease_owner = NULL, lease_until = NULL, last_error = $4, \
                 updated_at = $1, finished_at = $1 WHERE id = $2 AND lease_owner = $3 AND state = 'running' \
                 RETURNING {COLUMNS}",
                Some(error),
                None,
            ),
            JobEnd::Retry { error, run_at } => (
                "UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_until = NULL, last_error = $4, \
                 run_at = $5, updated_at = $1 WHERE id = $2 AND lease_owner = $3 AND state = 'running' \
                 RETURNING {COLUMNS}",
                Some(error),
                Some(run_at),
            ),
            JobEnd::Defer { reason, run_at } => (
                "UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_until = NULL, last_error = $4, \
                 run_at = $5, attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, \
                 updated_at = $1 WHERE id = $2 AND lease_owner = $3 AND state = 'running' \
                 RETURNING {COLUMNS}",
                Some(reason),
                Some(run_at),
            ),
            JobEnd::Release => (
                "UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_until = NULL, run_at = $1, \
                 attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, updated_at = $1 \
                 WHERE id = $2 AND lease_owner = $3 AND state = 'running' RETURNING {COLUMNS}",
                None,
                None,
            ),
        };
        let sql = sql.replace("{COLUMNS}", COLUMNS);
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let mut q = sqlx::query_as::<_, JobRow>(&sql).bind(now).bind(id).bind(owner);
            if let Some(e) = error {
                q = q.bind(e);
            }
            if let Some(at) = run_at {
                q = q.bind(at);
            }
            let job = q.fetch_optional(&mut *tx).await?;
            if let Some(job) = &job {
                append_job_change!(tx, job.org_id, job.resource_id, &job.change(), now);
            }
            tx.commit().await?;
            Ok(job.is_some())
        })
    }

    /// Marks as dead the running jobs whose lease expired on their last attempt (their worker
    /// died every time); returns how many.
    pub async fn bury_exhausted_jobs(&self, now: i64) -> Result<u64, StoreError> {
        let sql = format!(
            "UPDATE jobs SET state = 'dead', lease_owner = NULL, lease_until = NULL, updated_at = $1, finished_at = $1, \
             last_error = 'the worker stopped (crashed or was killed) on every attempt' \
             WHERE state = 'running' AND lease_until < $1 AND attempts >= max_attempts RETURNING {COLUMNS}"
        );
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let mut jobs = sqlx::query_as::<_, JobRow>(&sql).bind(now).fetch_all(&mut *tx).await?;
            // Orgs' sequence rows are taken in one order, so two buriers cannot deadlock.
            jobs.sort_by_key(|j| j.org_id);
            for job in &jobs {
                append_job_change!(tx, job.org_id, job.resource_id, &job.change(), now);
            }
            tx.commit().await?;
            Ok(jobs.len() as u64)
        })
    }

    /// Cancels the waiting and running jobs on a resource (a deleted meeting).
    pub async fn cancel_jobs_for(
        &self,
        org_id: Uuid,
        resource_id: Uuid,
        now: i64,
    ) -> Result<u64, StoreError> {
        let sql = format!(
            "UPDATE jobs SET state = 'cancelled', lease_owner = NULL, lease_until = NULL, updated_at = $1, finished_at = $1 \
             WHERE org_id = $2 AND resource_id = $3 AND state IN ('queued', 'running') RETURNING {COLUMNS}"
        );
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let jobs = sqlx::query_as::<_, JobRow>(&sql)
                .bind(now).bind(org_id).bind(resource_id).fetch_all(&mut *tx).await?;
            for job in &jobs {
                append_job_change!(tx, job.org_id, job.resource_id, &job.change(), now);
            }
            tx.commit().await?;
            Ok(jobs.len() as u64)
        })
    }

    pub async fn job(&self, org_id: Uuid, id: Uuid) -> Result<Option<JobRow>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_as::<_, JobRow>(&format!(
            "SELECT {COLUMNS} FROM jobs WHERE org_id = $1 AND id = $2"
        )).bind(org_id).bind(id).fetch_optional(pool).await?))
    }

    /// A job by id alone, for the worker that holds it.
    pub async fn job_by_id(&self, id: Uuid) -> Result<Option<JobRow>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_as::<_, JobRow>(&format!(
            "SELECT {COLUMNS} FROM jobs WHERE id = $1"
        )).bind(id).fetch_optional(pool).await?))
    }

    /// The jobs on a resource, oldest first.
    pub async fn jobs_for(
        &self,
        org_id: Uuid,
        resource_id: Uuid,
    ) -> Result<Vec<JobRow>, StoreError> {
        with_pool!(self, pool => Ok(sqlx::query_as::<_, JobRow>(&format!(
            "SELECT {COLUMNS} FROM jobs WHERE org_id = $1 AND resource_id = $2 ORDER BY created_at, id"
        )).bind(org_id).bind(resource_id).fetch_all(pool).await?))
    }
}

/// How a leased job ends.
#[derive(Debug, Clone, Copy)]
pub enum JobEnd<'a> {
    Succeeded,
    Dead(&'a str),
    Retry {
        error: &'a str,
        run_at: i64,
    },
    /// Back in the queue at `run_at` without spending the attempt (a wait of our own, such as
    /// a tenant's rate limit).
    Defer {
        reason: &'a str,
        run_at: i64,
    },
    Release,
}
