//! GCRA behaviour every backend must show, written once and instantiated per backend by
//! `behaviour_tests!`. Real clocks, so quotas are short and margins generous.

use std::time::{Duration, Instant};

use meetvault_ratelimit::{Decision, Quota, RateLimiter};

use crate::unique_key;

async fn check(rl: &RateLimiter, key: &str, quota: Quota) -> Decision {
    rl.check(key, quota)
        .await
        .unwrap_or_else(|e| panic!("check failed: {e:?}"))
}

fn retry_after(d: Decision) -> Duration {
    match d {
        Decision::Limited { retry_after } => retry_after,
        Decision::Allowed => panic!("expected Limited, got Allowed"),
    }
}

async fn count_allowed(rl: &RateLimiter, key: &str, quota: Quota, attempts: u32) -> u32 {
    let mut allowed = 0;
    for _ in 0..attempts {
        if check(rl, key, quota).await.is_allowed() {
            allowed += 1;
        }
    }
    allowed
}

pub async fn burst_is_allowed_then_limited_for_one_interval(rl: RateLimiter) {
    let key = unique_key("burst");
    let q = Quota::per_period(10, Duration::from_secs(300));
    for i in 0..10 {
        assert_eq!(check(&rl, &key, q).await, Decision::Allowed, "request {i}");
    }
    let d = check(&rl, &key, q).await;
    let wait = retry_after(d);
    assert!(
        wait > Duration::from_secs(29) && wait <= Duration::from_secs(30),
        "retry_after {wait:?}, expected just under 30 s"
    );
    assert_eq!(d.retry_after_secs(), 30);
}

pub async fn after_waiting_one_interval_the_next_request_is_allowed(rl: RateLimiter) {
    let key = unique_key("refill");
    let q = Quota::per_period(3, Duration::from_millis(1500));
    for i in 0..3 {
        assert_eq!(check(&rl, &key, q).await, Decision::Allowed, "request {i}");
    }
    let wait = retry_after(check(&rl, &key, q).await);
    assert!(
        wait <= q.emission_interval() && wait > Duration::from_millis(300),
        "retry_after {wait:?}, expected just under {:?}",
        q.emission_interval()
    );
    tokio::time::sleep(wait + Duration::from_millis(50)).await;
    assert_eq!(check(&rl, &key, q).await, Decision::Allowed);
    // One interval refilled one request, not the burst.
    assert!(!check(&rl, &key, q).await.is_allowed());
}

pub async fn limited_requests_do_not_extend_the_lockout(rl: RateLimiter) {
    let key = unique_key("hammer");
    let q = Quota::per_period(2, Duration::from_secs(1));
    assert_eq!(count_allowed(&rl, &key, q, 2).await, 2);
    let first = retry_after(check(&rl, &key, q).await);
    let mut previous = first;
    for _ in 0..20 {
        let wait = retry_after(check(&rl, &key, q).await);
        assert!(
            wait <= previous,
            "retry_after grew from {previous:?} to {wait:?}"
        );
        previous = wait;
    }
    // Had the 20 refused requests each advanced the TAT, this would be limited for 10 s more.
    tokio::time::sleep(first + Duration::from_millis(50)).await;
    assert_eq!(check(&rl, &key, q).await, Decision::Allowed);
}

pub async fn keys_are_independent(rl: RateLimiter) {
    let (a, b) = (unique_key("a"), unique_key("b"));
    let q = Quota::per_period(2, Duration::from_secs(60));
    assert_eq!(count_allowed(&rl, &a, q, 5).await, 2);
    assert_eq!(count_allowed(&rl, &b, q, 5).await, 2);
    assert!(!check(&rl, &a, q).await.is_allowed());
}

/// A fixed window of `period` lets a client spend the burst at the end of one window and again
/// at the start of the next: 2 x burst within moments. GCRA allows at most burst + elapsed / T.
pub async fn there_is_no_window_edge_burst(rl: RateLimiter) {
    let key = unique_key("edge");
    let burst = 4;
    let q = Quota::per_period(burst, Duration::from_secs(2));
    let t = q.emission_interval();
    let start = Instant::now();
    let first = count_allowed(&rl, &key, q, 2 * burst).await;
    assert_eq!(first, burst);
    // Any window edge between here and the next volley would have reset a fixed-window count.
    tokio::time::sleep(t + t / 5).await;
    let second = count_allowed(&rl, &key, q, 2 * burst).await;
    let elapsed = start.elapsed();
    let bound = u128::from(burst) + elapsed.as_micros() / t.as_micros();
    assert!(second >= 1, "one interval passed, so one request was due");
    assert!(
        u128::from(first + second) <= bound,
        "{} allowed in {elapsed:?}, more than burst + elapsed / T = {bound}",
        first + second
    );
    assert!(first + second < 2 * burst);
}

/// Check-and-update is one atomic step: concurrent requests cannot all read the same TAT.
pub async fn concurrent_checks_spend_the_burst_exactly_once(rl: RateLimiter) {
    let key = unique_key("concurrent");
    let q = Quota::per_period(10, Duration::from_secs(60));
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (rl, key) = (rl.clone(), key.clone());
            tokio::spawn(async move { rl.check(&key, q).await })
        })
        .collect();
    let mut allowed = 0;
    for task in tasks {
        if task.await.unwrap().unwrap().is_allowed() {
            allowed += 1;
        }
    }
    assert_eq!(allowed, 10);
}

pub async fn peek_reports_without_spending(rl: RateLimiter) {
    let key = unique_key("peek");
    let q = Quota::per_period(2, Duration::from_secs(60));
    for _ in 0..5 {
        assert!(
            rl.peek(&key, q).await.unwrap().is_allowed(),
            "peeking spends nothing"
        );
    }
    assert_eq!(count_allowed(&rl, &key, q, 3).await, 2);
    assert!(
        !rl.peek(&key, q).await.unwrap().is_allowed(),
        "peek sees the spent budget"
    );
}

macro_rules! behaviour_tests {
    ($backend:ident, $make:expr) => {
        mod $backend {
            #[tokio::test]
            async fn burst_is_allowed_then_limited_for_one_interval() {
                super::burst_is_allowed_then_limited_for_one_interval($make.await).await;
            }

            #[tokio::test]
            async fn after_waiting_one_interval_the_next_request_is_allowed() {
                super::after_waiting_one_interval_the_next_request_is_allowed($make.await).await;
            }

            #[tokio::test]
            async fn limited_requests_do_not_extend_the_lockout() {
                super::limited_requests_do_not_extend_the_lockout($make.await).await;
            }

            #[tokio::test]
            async fn peek_reports_without_spending() {
                super::peek_reports_without_spending($make.await).await;
            }

            #[tokio::test]
            async fn keys_are_independent() {
                super::keys_are_independent($make.await).await;
            }

            #[tokio::test]
            async fn there_is_no_window_edge_burst() {
                super::there_is_no_window_edge_burst($make.await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn concurrent_checks_spend_the_burst_exactly_once() {
                super::concurrent_checks_spend_the_burst_exactly_once($make.await).await;
            }
        }
    };
}

behaviour_tests!(
    in_process,
    std::future::ready(meetvault_ratelimit::RateLimiter::in_process())
);
behaviour_tests!(redis, crate::redis_limiter());
