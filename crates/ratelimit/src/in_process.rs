//! The in-process backend: each key's theoretical arrival time (TAT) in a sharded
//! `Mutex<HashMap>`, with expired entries pruned so a flood of distinct keys cannot grow memory
//! without bound.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use crate::quota::{Decision, Quota};

/// Enough shards that requests on 2-16 cores rarely wait for each other's lock.
const SHARDS: usize = 16;

/// A shard prunes when it holds this many entries, or twice what its last pruning left, whichever
/// is more. Doubling keeps pruning amortised O(1) per insert however many keys are live.
const MIN_PRUNE_LEN: usize = 1024;

/// Every this often the next check sweeps all shards, so keys expired in a shard that has since
/// gone quiet do not linger until that shard reaches its size threshold.
const SWEEP_EVERY: Duration = Duration::from_secs(10);

/// GCRA state kept in this process. Cheap to clone; clones share the state.
#[derive(Clone, Debug)]
pub struct InProcessLimiter {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    shards: Box<[Mutex<Shard>]>,
    // Randomly seeded so a client cannot choose keys that all land in one shard.
    hasher: RandomState,
    last_sweep: Mutex<Instant>,
}

#[derive(Debug)]
struct Shard {
    tats: HashMap<String, Instant>,
    prune_at_len: usize,
}

impl Shard {
    fn prune(&mut self, now: Instant) {
        // An entry whose TAT has passed says the same as no entry at all.
        self.tats.retain(|_, tat| *tat > now);
        let len = self.tats.len();
        self.prune_at_len = (len * 2).max(MIN_PRUNE_LEN);
        // retain() keeps the allocation; give it back after a flood has passed.
        if self.tats.capacity() > 4 * self.prune_at_len {
            self.tats.shrink_to(self.prune_at_len);
        }
    }
}

/// Poisoning only means another thread panicked while holding the lock; the map of timestamps
/// is still consistent, so carry on rather than fail every later request.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Default for InProcessLimiter {
    fn default() -> Self {
        Self::new()
    }
}

impl InProcessLimiter {
    pub fn new() -> Self {
        let shards = (0..SHARDS)
            .map(|_| {
                Mutex::new(Shard {
                    tats: HashMap::new(),
                    prune_at_len: MIN_PRUNE_LEN,
                })
            })
            .collect();
        Self {
            inner: Arc::new(Inner {
                shards,
                hasher: RandomState::new(),
                last_sweep: Mutex::new(Instant::now()),
            }),
        }
    }

    /// One GCRA check-and-update, atomic per key because the key's shard stays locked throughout.
    pub fn check(&self, key: &str, quota: Quota) -> Decision {
        let now = Instant::now();
        let decision = {
            let mut shard = lock(self.shard(key));
            match shard.tats.get_mut(key) {
                Some(tat) => match gcra(now, Some(*tat), quota) {
                    Ok(new_tat) => {
                        *tat = new_tat;
                        Decision::Allowed
                    }
                    Err(retry_after) => Decision::Limited { retry_after },
                },
                None => match gcra(now, None, quota) {
                    Ok(new_tat) => {
                        if shard.tats.len() >= shard.prune_at_len {
                            shard.prune(now);
                        }
                        shard.tats.insert(key.to_owned(), new_tat);
                        Decision::Allowed
                    }
                    // Only with a zero tolerance and no entry, which cannot be; kept for totality.
                    Err(retry_after) => Decision::Limited { retry_after },
                },
            }
        };
        self.maybe_sweep(now);
        decision
    }

    /// What `check` would answer, without counting the request.
    pub fn peek(&self, key: &str, quota: Quota) -> Decision {
        let now = Instant::now();
        let shard = lock(self.shard(key));
        match gcra(now, shard.tats.get(key).copied(), quota) {
            Ok(_) => Decision::Allowed,
            Err(retry_after) => Decision::Limited { retry_after },
        }
    }

    /// How many keys are tracked, expired ones not yet pruned included.
    pub fn tracked_keys(&self) -> usize {
        self.inner.shards.iter().map(|s| lock(s).tats.len()).sum()
    }

    /// Drops every expired entry now, instead of waiting for the periodic sweep.
    pub fn prune(&self) {
        let now = Instant::now();
        for shard in self.inner.shards.iter() {
            lock(shard).prune(now);
        }
    }

    fn shard(&self, key: &str) -> &Mutex<Shard> {
        let hash = self.inner.hasher.hash_one(key);
        // The modulo keeps the value below SHARDS, so the cast back cannot truncate.
        let index = (hash % SHARDS as u64) as usize;
        &self.inner.shards[index]
    }

    fn maybe_sweep(&self, now: Instant) {
        // try_lock: if another request is already sweeping, this one need not wait for it.
        let Ok(mut last) = self.inner.last_sweep.try_lock() else {
            return;
        };
        if now.saturating_duration_since(*last) < SWEEP_EVERY {
            return;
        }
        *last = now;
        for shard in self.inner.shards.iter() {
            lock(shard).prune(now);
        }
    }
}

/// GCRA for one request at `now` given the key's stored TAT: `Ok(new_tat)` to store when allowed,
/// `Err(retry_after)` when limited (and then the TAT must stay as it was).
fn gcra(now: Instant, stored: Option<Instant>, quota: Quota) -> Result<Instant, Duration> {
    let tat = stored.map_or(now, |t| t.max(now));
    let ahead = tat - now;
    let tolerance = quota.tolerance();
    if ahead > tolerance {
        Err(ahead - tolerance)
    } else {
        Ok(tat + quota.emission_interval())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limited(secs: u64) -> Decision {
        Decision::Limited {
            retry_after: Duration::from_secs(secs),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn ten_per_five_minutes_on_a_paused_clock_is_exact() {
        let rl = InProcessLimiter::new();
        let q = Quota::per_period(10, Duration::from_secs(300));
        for i in 0..10 {
            assert_eq!(rl.check("k", q), Decision::Allowed, "request {i}");
        }
        assert_eq!(rl.check("k", q), limited(30));
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(rl.check("k", q), limited(20));
        tokio::time::advance(Duration::from_secs(20)).await;
        assert_eq!(rl.check("k", q), Decision::Allowed);
        assert_eq!(rl.check("k", q), limited(30));
        // A full period of quiet restores the whole burst.
        tokio::time::advance(Duration::from_secs(330)).await;
        for i in 0..10 {
            assert_eq!(
                rl.check("k", q),
                Decision::Allowed,
                "request {i} after quiet"
            );
        }
        assert_eq!(rl.check("k", q), limited(30));
    }

    /// A client sending every second for 20 minutes: in every stretch between two allowed
    /// requests, allowed <= burst + stretch / T. A fixed 5-minute window would allow 20 in the
    /// seconds around each window edge.
    #[tokio::test(start_paused = true)]
    async fn no_stretch_of_time_allows_more_than_burst_plus_elapsed_over_t() {
        let rl = InProcessLimiter::new();
        let q = Quota::per_period(10, Duration::from_secs(300));
        let t = q.emission_interval();
        let start = Instant::now();
        let mut allowed = Vec::new();
        for _ in 0..1200 {
            if rl.check("k", q).is_allowed() {
                allowed.push(Instant::now() - start);
            }
            tokio::time::advance(Duration::from_secs(1)).await;
        }
        // 10 at once, then one per 30 s over the remaining 1190 s.
        assert_eq!(allowed.len(), 10 + 1190 / 30);
        for i in 0..allowed.len() {
            for j in i..allowed.len() {
                let count = (j - i + 1) as u128;
                let bound = 10 + (allowed[j] - allowed[i]).as_micros() / t.as_micros();
                assert!(
                    count <= bound,
                    "{count} allowed in {:?}",
                    allowed[j] - allowed[i]
                );
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn expired_keys_are_swept_so_the_map_shrinks() {
        let rl = InProcessLimiter::new();
        let q = Quota::per_period(1, Duration::from_secs(1));
        for i in 0..5000 {
            rl.check(&format!("spray-{i}"), q);
        }
        assert_eq!(rl.tracked_keys(), 5000);
        tokio::time::advance(SWEEP_EVERY + Duration::from_secs(1)).await;
        rl.check("fresh", q);
        assert_eq!(rl.tracked_keys(), 1);
    }

    /// Between sweeps, a shard prunes itself when it grows past its threshold, so a key-spraying
    /// client cannot grow the map far past what is live.
    #[tokio::test(start_paused = true)]
    async fn a_key_spray_stays_bounded_between_sweeps() {
        let rl = InProcessLimiter::new();
        let q = Quota::per_period(1, Duration::from_millis(10));
        let mut most = 0;
        for i in 0..60_000 {
            rl.check(&format!("spray-{i}"), q);
            if i % 100 == 99 {
                // 100 keys per ms: about 1000 live at any moment, all within one sweep interval.
                tokio::time::advance(Duration::from_millis(1)).await;
                most = most.max(rl.tracked_keys());
            }
        }
        assert!(
            most <= SHARDS * (MIN_PRUNE_LEN + 1),
            "{most} keys tracked at once"
        );
        rl.prune();
        assert!(rl.tracked_keys() <= 1000, "{} left", rl.tracked_keys());
    }

    #[test]
    fn a_limited_request_leaves_the_tat_alone() {
        let now = Instant::now();
        let q = Quota::per_period(2, Duration::from_secs(2));
        let tat = now + Duration::from_secs(2);
        assert_eq!(gcra(now, Some(tat), q), Err(Duration::from_secs(1)));
        assert_eq!(
            gcra(now, Some(now), q),
            Ok(now + Duration::from_secs(1)),
            "a TAT equal to now is a quiet key"
        );
        assert_eq!(gcra(now, None, q), Ok(now + Duration::from_secs(1)));
    }
}
