//! The durable job queue, and the workers that run it.
//!
//! A job is a row (`jobs` table, both backends): kind, payload (ids only, never content), state
//! (`queued` → `running` → `succeeded` | `dead` | `cancelled`), attempts, a lease, run-at,
//! progress 0–100 and the last error (a curated message, never a raw lower-layer error).
//!
//! - **Claiming** is one atomic statement (see `meetvault_store::JobRow`): a job is leased to one
//!   worker until `lease_until`. The worker's heartbeat extends the lease every third of its
//!   length and records progress.
//! - **A worker killed with SIGKILL loses nothing**: its lease runs out and the job becomes
//!   claimable again, by another instance or by this one restarted. Handlers are therefore
//!   idempotent: they may run again from the start after a crash, and must leave one result.
//! - **Failures** are retried with exponential backoff (`base × 2^(attempt−1)`, capped, with
//!   jitter) up to `max_attempts`, then dead-lettered. A handler may also fail permanently
//!   (bad input: retrying cannot help).
//! - **Cancellation**: when a heartbeat finds the lease gone (the job was cancelled, or another
//!   worker took it over after a stall), the handler's [`JobContext::cancelled`] fires and its
//!   result is discarded.
//! - **Shutdown** releases running jobs back to the queue at once (without counting the
//!   attempt) instead of waiting out their leases.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use meetvault_store::{Database, JobEnd, JobRow, StoreError};
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub use meetvault_store::JobRow as Job;
pub use meetvault_store::JobState;

/// How a handler failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Worth another attempt (a provider was unreachable, the database was busy).
    #[error("{0}")]
    Retryable(String),
    /// Worth another attempt, but not before the given wait (a provider's `Retry-After`, a
    /// rate limit of our own).
    #[error("{0}")]
    RetryAfter(String, Duration),
    /// Not now, and not a failure: run again after the wait without spending an attempt (a
    /// wait of our own, such as a tenant's rate limit).
    #[error("{0}")]
    Defer(String, Duration),
    /// Retrying cannot help (the input is bad, the meeting is gone): dead-letter now.
    #[error("{0}")]
    Permanent(String),
    /// The job was cancelled or taken over while running; nothing is recorded.
    #[error("the job was cancelled")]
    Cancelled,
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("job payload is not JSON")]
    Payload(#[from] serde_json::Error),
}

/// What a handler gets besides its job: progress reporting and cancellation.
#[derive(Debug, Clone)]
pub struct JobContext {
    progress: Arc<AtomicI32>,
    cancelled: CancellationToken,
    attempt: i32,
}

impl JobContext {
    /// Records progress (0–100); the heartbeat persists it.
    pub fn set_progress(&self, percent: u8) {
        self.progress
            .store(i32::from(percent.min(100)), Ordering::Relaxed);
    }
    /// Fires when the job is cancelled or its lease was lost: stop and return
    /// [`JobError::Cancelled`].
    pub fn cancelled(&self) -> &CancellationToken {
        &self.cancelled
    }
    /// 1 on the first attempt.
    pub fn attempt(&self) -> i32 {
        self.attempt
    }
}

/// Runs jobs of one kind.
#[async_trait::async_trait]
pub trait Handler: Send + Sync + 'static {
    fn kind(&self) -> &'static str;
    /// Jobs of this kind run at once on this instance.
    fn concurrency(&self) -> usize {
        1
    }
    async fn run(&self, job: &Job, ctx: &JobContext) -> Result<(), JobError>;
}

/// Queue timing.
#[derive(Debug, Clone)]
pub struct Settings {
    pub lease: Duration,
    pub max_attempts: u32,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    pub poll_interval: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(30),
            max_attempts: 5,
            backoff_base: Duration::from_secs(5),
            backoff_max: Duration::from_secs(600),
            poll_interval: Duration::from_secs(1),
        }
    }
}

/// A new job.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub org_id: Option<Uuid>,
    pub kind: &'static str,
    pub payload: serde_json::Value,
    pub resource_id: Option<Uuid>,
}

/// The queue: enqueue jobs and read their state. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Queue {
    db: Database,
    settings: Arc<Settings>,
    wake: Arc<Notify>,
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Queue {
    pub fn new(db: Database, settings: Settings) -> Self {
        Self {
            db,
            settings: Arc::new(settings),
            wake: Arc::new(Notify::new()),
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Adds a job (or returns the identical one still waiting) and wakes this instance's
    /// workers.
    pub async fn enqueue(&self, job: NewJob) -> Result<Uuid, QueueError> {
        self.enqueue_at(job, now_ms()).await
    }

    /// Adds a job that no worker claims before `run_at` (Unix milliseconds; a scheduled bot's
    /// join time, say), or returns the identical one still waiting.
    pub async fn enqueue_at(&self, job: NewJob, run_at: i64) -> Result<Uuid, QueueError> {
        let now = now_ms();
        let row = JobRow {
            id: Uuid::new_v4(),
            org_id: job.org_id,
            kind: job.kind.to_owned(),
            payload: serde_json::to_string(&job.payload)?,
            resource_id: job.resource_id,
            state: "queued".into(),
            attempts: 0,
            max_attempts: i32::try_from(self.settings.max_attempts).unwrap_or(i32::MAX),
            run_at: run_at.max(now),
            lease_owner: None,
            lease_until: None,
            progress: 0,
            last_error: None,
            created_at: now,
            updated_at: now,
            finished_at: None,
        };
        let id = self.db.enqueue_job(&row).await?;
        self.wake.notify_waiters();
        Ok(id)
    }

    pub async fn job(&self, org: Uuid, id: Uuid) -> Result<Option<Job>, QueueError> {
        Ok(self.db.job(org, id).await?)
    }

    pub async fn jobs_for(&self, org: Uuid, resource: Uuid) -> Result<Vec<Job>, QueueError> {
        Ok(self.db.jobs_for(org, resource).await?)
    }

    /// Cancels a resource's waiting and running jobs (running ones stop at their next
    /// heartbeat).
    pub async fn cancel_for(&self, org: Uuid, resource: Uuid) -> Result<u64, QueueError> {
        Ok(self.db.cancel_jobs_for(org, resource, now_ms()).await?)
    }

    /// The delay before attempt `attempt + 1`, after `attempt` failures.
    pub fn backoff(&self, attempt: i32) -> Duration {
        let exp = u32::try_from(attempt.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
        let base = self
            .settings
            .backoff_base
            .saturating_mul(2u32.saturating_pow(exp));
        let capped = base.min(self.settings.backoff_max);
        // Up to 20 % jitter, so failed jobs of one outage do not all return at once.
        let jitter = capped.mul_f64(rand::random::<f64>() * 0.2);
        capped.saturating_sub(jitter)
    }
}

/// The running workers of one instance; dropping it does not stop them, [`Workers::shutdown`]
/// does.
#[derive(Debug)]
pub struct Workers {
    stop: CancellationToken,
    tasks: tokio::task::JoinSet<()>,
}

impl Workers {
    /// Starts one claim loop per handler kind, each running up to its concurrency at once.
    pub fn start(queue: &Queue, owner: &str, handlers: Vec<Arc<dyn Handler>>) -> Self {
        let stop = CancellationToken::new();
        let mut tasks = tokio::task::JoinSet::new();
        let mut seen = HashMap::new();
        for handler in handlers {
            if seen.insert(handler.kind(), ()).is_some() {
                tracing::warn!(kind = handler.kind(), "two handlers for one job kind");
                continue;
            }
            tasks.spawn(claim_loop(
                queue.clone(),
                format!("{owner}/{}", Uuid::new_v4().simple()),
                handler,
                stop.clone(),
            ));
        }
        Self { stop, tasks }
    }

    /// Stops claiming, cancels running jobs and releases them back to the queue.
    pub async fn shutdown(mut self) {
        self.stop.cancel();
        while self.tasks.join_next().await.is_some() {}
    }
}

async fn claim_loop(
    queue: Queue,
    owner: String,
    handler: Arc<dyn Handler>,
    stop: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(handler.concurrency().max(1)));
    let mut running = tokio::task::JoinSet::new();
    let mut next_sweep = 0;
    loop {
        let permit = tokio::select! {
            _ = stop.cancelled() => break,
            p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
        };
        let now = now_ms();
        // A job is exhausted only once a lease runs out, so one sweep per lease length is
        // enough (not a write on every idle poll).
        if now >= next_sweep {
            next_sweep = now + ms(queue.settings.lease);
            if let Err(e) = queue.db.bury_exhausted_jobs(now).await {
                tracing::warn!(error = %e, "dead-lettering exhausted jobs");
            }
        }
        let claimed = queue
            .db
            .claim_job(handler.kind(), &owner, now, now + ms(queue.settings.lease))
            .await;
        match claimed {
            Ok(Some(job)) => {
                let (queue, owner, handler, stop) =
                    (queue.clone(), owner.clone(), handler.clone(), stop.clone());
                running.spawn(async move {
                    run_one(&queue, &owner, handler.as_ref(), job, &stop).await;
                    drop(permit);
                });
            }
            Ok(None) => {
                drop(permit);
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = queue.wake.notified() => {}
                    _ = tokio::time::sleep(queue.settings.poll_interval) => {}
                }
            }
            Err(e) => {
                drop(permit);
                tracing::warn!(error = %e, kind = handler.kind(), "claiming a job");
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tokio::time::sleep(queue.settings.poll_interval) => {}
                }
            }
        }
        // Reap finished runs so the set does not grow.
        while running.try_join_next().is_some() {}
    }
    while running.join_next().await.is_some() {}
}

async fn run_one(
    queue: &Queue,
    owner: &str,
    handler: &dyn Handler,
    job: Job,
    stop: &CancellationToken,
) {
    let progress = Arc::new(AtomicI32::new(job.progress));
    let cancelled = CancellationToken::new();
    let ctx = JobContext {
        progress: progress.clone(),
        cancelled: cancelled.clone(),
        attempt: job.attempts,
    };
    tracing::info!(job = %job.id, kind = %job.kind, attempt = job.attempts, "job started");
    let lost = CancellationToken::new();
    let heartbeat = {
        let (db, id, owner, lease) = (
            queue.db.clone(),
            job.id,
            owner.to_owned(),
            queue.settings.lease,
        );
        let (progress, cancelled, lost) = (progress.clone(), cancelled.clone(), lost.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(lease / 3);
            tick.tick().await;
            loop {
                tokio::select! {
                    _ = cancelled.cancelled() => return,
                    _ = tick.tick() => {}
                }
                let now = now_ms();
                match db
                    .heartbeat_job(
                        id,
                        &owner,
                        now,
                        now + ms(lease),
                        progress.load(Ordering::Relaxed),
                    )
                    .await
                {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(job = %id, "lease lost (cancelled or taken over); stopping");
                        lost.cancel();
                        cancelled.cancel();
                        return;
                    }
                    Err(e) => tracing::warn!(job = %id, error = %e, "job heartbeat"),
                }
            }
        })
    };
    let result = tokio::select! {
        r = handler.run(&job, &ctx) => r,
        _ = stop.cancelled() => Err(JobError::Cancelled),
    };
    cancelled.cancel();
    let _ = heartbeat.await;
    let now = now_ms();
    let end = match &result {
        _ if lost.is_cancelled() => None,
        Err(JobError::Cancelled) if stop.is_cancelled() => Some(JobEnd::Release),
        Err(JobError::Cancelled) => None,
        Ok(()) => Some(JobEnd::Succeeded),
        Err(JobError::Permanent(e)) => Some(JobEnd::Dead(e)),
        Err(JobError::Retryable(e)) if job.attempts >= job.max_attempts => Some(JobEnd::Dead(e)),
        Err(JobError::Retryable(e)) => Some(JobEnd::Retry {
            error: e,
            run_at: now + ms(queue.backoff(job.attempts)),
        }),
        Err(JobError::RetryAfter(e, _)) if job.attempts >= job.max_attempts => {
            Some(JobEnd::Dead(e))
        }
        Err(JobError::RetryAfter(e, after)) => Some(JobEnd::Retry {
            error: e,
            run_at: now + ms((*after).max(Duration::from_millis(100))),
        }),
        Err(JobError::Defer(reason, after)) => Some(JobEnd::Defer {
            reason,
            run_at: now + ms((*after).max(Duration::from_millis(100))),
        }),
    };
    match &result {
        Ok(()) => tracing::info!(job = %job.id, kind = %job.kind, "job succeeded"),
        Err(e) => {
            tracing::warn!(job = %job.id, kind = %job.kind, attempt = job.attempts, error = %e, "job did not succeed")
        }
    }
    if let Some(end) = end {
        match queue.db.finish_job(job.id, owner, end, now).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(job = %job.id, "job finished after its lease was lost; result not recorded")
            }
            Err(e) => {
                tracing::warn!(job = %job.id, error = %e, "recording a job's end (its lease will expire and it will run again)")
            }
        }
    }
}

#[cfg(test)]
mod tests;
