//! The queue against a real database (SQLite, or PostgreSQL with `TEST_DATABASE=postgres`).

use std::sync::Mutex;

use super::*;

struct Db {
    db: Database,
    _dir: tempfile::TempDir,
}

async fn database() -> Db {
    let dir = tempfile::tempdir().unwrap();
    let url = meetvault_test_support::fresh_database_url(dir.path()).await;
    let db = Database::connect(&url, Some(8)).await.unwrap();
    db.migrate().await.unwrap();
    Db { db, _dir: dir }
}

fn fast() -> Settings {
    Settings {
        lease: Duration::from_millis(600),
        max_attempts: 3,
        backoff_base: Duration::from_millis(50),
        backoff_max: Duration::from_millis(200),
        poll_interval: Duration::from_millis(25),
    }
}

fn job(kind: &'static str, n: u32) -> NewJob {
    NewJob {
        org_id: None,
        kind,
        payload: serde_json::json!({ "n": n }),
        resource_id: None,
    }
}

/// Records every run; fails the first `fail` attempts of each job.
struct Recorder {
    kind: &'static str,
    runs: Mutex<Vec<(Uuid, i32)>>,
    fail: i32,
    permanent: bool,
    concurrency: usize,
    delay: Duration,
}

impl Recorder {
    fn new(kind: &'static str) -> Arc<Self> {
        Arc::new(Self {
            kind,
            runs: Mutex::new(Vec::new()),
            fail: 0,
            permanent: false,
            concurrency: 1,
            delay: Duration::ZERO,
        })
    }
    fn runs(&self) -> Vec<(Uuid, i32)> {
        self.runs.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl Handler for Recorder {
    fn kind(&self) -> &'static str {
        self.kind
    }
    fn concurrency(&self) -> usize {
        self.concurrency
    }
    async fn run(&self, job: &Job, ctx: &JobContext) -> Result<(), JobError> {
        self.runs.lock().unwrap().push((job.id, ctx.attempt()));
        ctx.set_progress(50);
        tokio::select! {
            _ = tokio::time::sleep(self.delay) => {}
            _ = ctx.cancelled().cancelled() => return Err(JobError::Cancelled),
        }
        if ctx.attempt() <= self.fail {
            return Err(if self.permanent {
                JobError::Permanent("the input is bad".into())
            } else {
                JobError::Retryable(format!("attempt {} failed", ctx.attempt()))
            });
        }
        Ok(())
    }
}

async fn wait_for(db: &Database, id: Uuid, state: &str) -> Job {
    for _ in 0..400 {
        let job = db.job_by_id(id).await.unwrap().unwrap();
        if job.state == state {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let job = db.job_by_id(id).await.unwrap().unwrap();
    panic!("job never reached {state}: {job:?}");
}

#[tokio::test]
async fn a_job_runs_once_and_succeeds_with_full_progress() {
    let d = database().await;
    let queue = Queue::new(d.db.clone(), fast());
    let handler = Recorder::new("echo");
    let workers = Workers::start(&queue, "test", vec![handler.clone()]);
    let id = queue.enqueue(job("echo", 1)).await.unwrap();
    let done = wait_for(&d.db, id, "succeeded").await;
    assert_eq!(done.progress, 100);
    assert_eq!(done.attempts, 1);
    assert!(done.finished_at.is_some() && done.lease_owner.is_none());
    workers.shutdown().await;
    assert_eq!(handler.runs(), vec![(id, 1)]);
}

#[tokio::test]
async fn a_failing_job_is_retried_with_backoff_then_succeeds() {
    let d = database().await;
    let queue = Queue::new(d.db.clone(), fast());
    let handler = Arc::new(Recorder {
        fail: 2,
        ..Arc::into_inner(Recorder::new("flaky")).unwrap()
    });
    let workers = Workers::start(&queue, "test", vec![handler.clone()]);
    let id = queue.enqueue(job("flaky", 1)).await.unwrap();
    let done = wait_for(&d.db, id, "succeeded").await;
    workers.shutdown().await;
    assert_eq!(done.attempts, 3);
    assert_eq!(done.last_error, None, "success clears the last error");
    let attempts: Vec<i32> = handler.runs().iter().map(|r| r.1).collect();
    assert_eq!(attempts, vec![1, 2, 3]);
}

#[tokio::test]
async fn exhausted_and_permanent_failures_are_dead_lettered_with_their_error() {
    let d = database().await;
    let queue = Queue::new(d.db.clone(), fast());
    let always = Arc::new(Recorder {
        fail: 99,
        ..Arc::into_inner(Recorder::new("always")).unwrap()
    });
    let bad = Arc::new(Recorder {
        fail: 99,
        permanent: true,
        ..Arc::into_inner(Recorder::new("bad")).unwrap()
    });
    let workers = Workers::start(&queue, "test", vec![always.clone(), bad.clone()]);
    let a = queue.enqueue(job("always", 1)).await.unwrap();
    let b = queue.enqueue(job("bad", 1)).await.unwrap();
    let dead = wait_for(&d.db, a, "dead").await;
    assert_eq!(dead.attempts, 3);
    assert_eq!(dead.last_error.as_deref(), Some("attempt 3 failed"));
    let dead = wait_for(&d.db, b, "dead").await;
    assert_eq!(dead.attempts, 1, "a permanent failure is not retried");
    assert_eq!(dead.last_error.as_deref(), Some("the input is bad"));
    workers.shutdown().await;
    assert_eq!(always.runs().len(), 3);
    assert_eq!(bad.runs().len(), 1);
}

#[tokio::test]
async fn a_lost_workers_job_is_resumed_after_its_lease_expires_and_the_old_worker_cannot_finish_it()
{
    let d = database().await;
    let queue = Queue::new(d.db.clone(), fast());
    let id = queue.enqueue(job("resume", 1)).await.unwrap();
    // A worker claims the job and dies (no heartbeat, no end).
    let now = now_ms();
    let claimed =
        d.db.claim_job("resume", "dead-worker", now, now + 300)
            .await
            .unwrap()
            .unwrap();
    assert_eq!((claimed.id, claimed.attempts), (id, 1));
    assert!(
        d.db.claim_job("resume", "other", now_ms(), now_ms() + 300)
            .await
            .unwrap()
            .is_none(),
        "a leased job is not claimed twice"
    );
    let handler = Recorder::new("resume");
    let workers = Workers::start(&queue, "test", vec![handler.clone()]);
    let done = wait_for(&d.db, id, "succeeded").await;
    workers.shutdown().await;
    assert_eq!(done.attempts, 2);
    assert_eq!(handler.runs(), vec![(id, 2)]);
    assert!(
        !d.db
            .finish_job(id, "dead-worker", JobEnd::Succeeded, now_ms())
            .await
            .unwrap(),
        "the worker that lost its lease cannot record an end"
    );
}

#[tokio::test]
async fn a_job_whose_worker_died_on_every_attempt_is_dead_lettered() {
    let d = database().await;
    let queue = Queue::new(
        d.db.clone(),
        Settings {
            max_attempts: 1,
            ..fast()
        },
    );
    let id = queue.enqueue(job("crashy", 1)).await.unwrap();
    let now = now_ms();
    d.db.claim_job("crashy", "dead-worker", now, now + 100)
        .await
        .unwrap()
        .unwrap();
    let handler = Recorder::new("crashy");
    let workers = Workers::start(&queue, "test", vec![handler.clone()]);
    let dead = wait_for(&d.db, id, "dead").await;
    workers.shutdown().await;
    assert!(dead.last_error.unwrap().contains("stopped"));
    assert!(handler.runs().is_empty());
}

#[tokio::test]
async fn two_instances_share_the_work_and_run_every_job_exactly_once() {
    let d = database().await;
    let queue = Queue::new(d.db.clone(), fast());
    let mk = || {
        Arc::new(Recorder {
            concurrency: 2,
            delay: Duration::from_millis(20),
            ..Arc::into_inner(Recorder::new("shared")).unwrap()
        })
    };
    let (h1, h2) = (mk(), mk());
    let w1 = Workers::start(&queue, "one", vec![h1.clone()]);
    let w2 = Workers::start(&Queue::new(d.db.clone(), fast()), "two", vec![h2.clone()]);
    let mut ids = Vec::new();
    for n in 0..24 {
        ids.push(queue.enqueue(job("shared", n)).await.unwrap());
    }
    for id in &ids {
        wait_for(&d.db, *id, "succeeded").await;
    }
    w1.shutdown().await;
    w2.shutdown().await;
    let mut ran: Vec<Uuid> = h1
        .runs()
        .into_iter()
        .chain(h2.runs())
        .map(|r| r.0)
        .collect();
    ran.sort();
    let mut want = ids.clone();
    want.sort();
    assert_eq!(ran, want, "every job ran exactly once");
}

#[tokio::test]
async fn an_identical_waiting_job_is_not_queued_twice() {
    let d = database().await;
    let queue = Queue::new(d.db.clone(), fast());
    let a = queue.enqueue(job("dedupe", 1)).await.unwrap();
    let b = queue.enqueue(job("dedupe", 1)).await.unwrap();
    let c = queue.enqueue(job("dedupe", 2)).await.unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[tokio::test]
async fn cancelling_stops_a_running_job_and_shutdown_releases_one() {
    let d = database().await;
    let queue = Queue::new(d.db.clone(), fast());
    let resource = Uuid::new_v4();
    let org = None;
    let slow = Arc::new(Recorder {
        delay: Duration::from_secs(30),
        ..Arc::into_inner(Recorder::new("slow")).unwrap()
    });
    let workers = Workers::start(&queue, "test", vec![slow.clone()]);
    let id = queue
        .enqueue(NewJob {
            org_id: org,
            kind: "slow",
            payload: serde_json::json!({}),
            resource_id: Some(resource),
        })
        .await
        .unwrap();
    wait_for(&d.db, id, "running").await;
    // Cancel through the database (jobs without an org are cancelled by id here).
    crate::tests::cancel(&d.db, id).await;
    let cancelled = wait_for(&d.db, id, "cancelled").await;
    assert!(cancelled.lease_owner.is_none());

    let second = queue.enqueue(job("slow", 7)).await.unwrap();
    wait_for(&d.db, second, "running").await;
    workers.shutdown().await;
    let released = d.db.job_by_id(second).await.unwrap().unwrap();
    assert_eq!(
        released.state, "queued",
        "shutdown hands the job back at once"
    );
    assert_eq!(
        released.attempts, 0,
        "and does not count the interrupted attempt"
    );
    assert_eq!(slow.runs().len(), 2);
}

async fn cancel(db: &Database, id: Uuid) {
    let sql = format!(
        "UPDATE jobs SET state = 'cancelled', lease_owner = NULL WHERE id = {}",
        match db {
            Database::Sqlite(..) => format!("x'{}'", id.simple()),
            Database::Postgres(_) => format!("'{id}'"),
        }
    );
    meetvault_test_support::execute(db, &sql).await;
}

#[tokio::test]
async fn backoff_doubles_up_to_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let url = meetvault_config::DatabaseUrl::sqlite_file(&dir.path().join("b.db"));
    let db = Database::connect(&url, Some(1)).await.unwrap();
    let q = Queue::new(
        db,
        Settings {
            backoff_base: Duration::from_secs(10),
            backoff_max: Duration::from_secs(60),
            ..Settings::default()
        },
    );
    for (attempt, full) in [(1, 10), (2, 20), (3, 40), (4, 60), (30, 60)] {
        let d = q.backoff(attempt).as_secs_f64();
        assert!(
            d <= full as f64 && d >= full as f64 * 0.8,
            "attempt {attempt}: {d}"
        );
    }
}

/// Defers five times (more than `max_attempts`), then asks for a retry after 300 ms, then
/// succeeds.
#[derive(Debug, Default)]
struct Waiter {
    runs: Mutex<Vec<(i32, std::time::Instant)>>,
}

#[async_trait::async_trait]
impl Handler for Waiter {
    fn kind(&self) -> &'static str {
        "waiter"
    }
    fn concurrency(&self) -> usize {
        1
    }
    async fn run(&self, _job: &Job, ctx: &JobContext) -> Result<(), JobError> {
        let n = {
            let mut runs = self.runs.lock().unwrap();
            runs.push((ctx.attempt(), std::time::Instant::now()));
            runs.len()
        };
        match n {
            1..=5 => Err(JobError::Defer(
                "our own limit".into(),
                Duration::from_millis(50),
            )),
            6 => Err(JobError::RetryAfter(
                "the provider asked".into(),
                Duration::from_millis(300),
            )),
            _ => Ok(()),
        }
    }
}

#[tokio::test]
async fn a_deferred_job_spends_no_attempt_and_a_retry_after_waits_as_asked() {
    let d = database().await;
    let queue = Queue::new(d.db.clone(), fast());
    let handler = Arc::new(Waiter::default());
    let workers = Workers::start(&queue, "test", vec![handler.clone()]);
    let id = queue.enqueue(job("waiter", 1)).await.unwrap();
    let done = wait_for(&d.db, id, "succeeded").await;
    workers.shutdown().await;
    let runs = handler.runs.lock().unwrap().clone();
    let attempts: Vec<i32> = runs.iter().map(|r| r.0).collect();
    assert_eq!(
        attempts,
        vec![1, 1, 1, 1, 1, 1, 2],
        "deferrals are not attempts"
    );
    assert_eq!(done.attempts, 2);
    assert!(
        runs[6].1 - runs[5].1 >= Duration::from_millis(300),
        "retried before it was asked to"
    );
}
