//! What only the Redis backend promises: instances share a budget, keys are namespaced and
//! expire, and an unreachable Redis is a prompt, password-free error.

use std::time::{Duration, Instant};

use meetvault_ratelimit::{KEY_PREFIX, Quota, RateLimitError, RateLimiter};

use crate::{redis_limiter, redis_url, unique_key};

/// A plain connection, to look at what the limiter stored.
async fn raw_connection() -> redis::aio::MultiplexedConnection {
    redis::Client::open(redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

#[tokio::test]
async fn two_instances_share_one_budget() {
    let (a, b) = (redis_limiter().await, redis_limiter().await);
    let key = unique_key("shared");
    let q = Quota::per_period(4, Duration::from_secs(60));
    for (i, rl) in [&a, &b, &a, &b].into_iter().enumerate() {
        assert!(rl.check(&key, q).await.unwrap().is_allowed(), "request {i}");
    }
    assert!(!a.check(&key, q).await.unwrap().is_allowed());
    assert!(!b.check(&key, q).await.unwrap().is_allowed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_checks_from_two_instances_allow_exactly_the_burst() {
    let instances = [redis_limiter().await, redis_limiter().await];
    let key = unique_key("concurrent2");
    let q = Quota::per_period(10, Duration::from_secs(60));
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let (rl, key) = (instances[i % 2].clone(), key.clone());
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

#[tokio::test]
async fn keys_are_namespaced_and_vanish_once_idle() {
    let rl = redis_limiter().await;
    let key = unique_key("ttl");
    let stored = format!("{KEY_PREFIX}{key}");
    assert_eq!(stored, format!("meetvault:rl:{key}"));
    let q = Quota::per_period(2, Duration::from_millis(400));
    rl.check(&key, q).await.unwrap();
    rl.check(&key, q).await.unwrap();
    let mut conn = raw_connection().await;
    let pttl: i64 = redis::cmd("PTTL")
        .arg(&stored)
        .query_async(&mut conn)
        .await
        .unwrap();
    // Two requests put the TAT 400 ms ahead; the entry lives exactly that long.
    assert!(pttl > 200 && pttl <= 400, "PTTL {pttl}");
    // A refused request neither writes nor extends the entry.
    assert!(!rl.check(&key, q).await.unwrap().is_allowed());
    let after: i64 = redis::cmd("PTTL")
        .arg(&stored)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(after <= pttl, "PTTL grew from {pttl} to {after}");
    tokio::time::sleep(Duration::from_millis(450)).await;
    let exists: i64 = redis::cmd("EXISTS")
        .arg(&stored)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(exists, 0, "an idle key must expire");
}

/// The script reloads itself into a Redis that lost it (restart, SCRIPT FLUSH).
#[tokio::test]
async fn works_after_the_script_cache_is_flushed() {
    let rl = redis_limiter().await;
    let q = Quota::per_period(1, Duration::from_secs(60));
    assert!(
        rl.check(&unique_key("before"), q)
            .await
            .unwrap()
            .is_allowed()
    );
    let mut conn = raw_connection().await;
    let _: () = redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query_async(&mut conn)
        .await
        .unwrap();
    let key = unique_key("after");
    assert!(rl.check(&key, q).await.unwrap().is_allowed());
    assert!(!rl.check(&key, q).await.unwrap().is_allowed());
}

#[tokio::test]
async fn ping_and_backend_names() {
    let rl = redis_limiter().await;
    rl.ping().await.unwrap();
    assert_eq!(rl.backend_name(), "redis");
    let local = RateLimiter::in_process();
    local.ping().await.unwrap();
    assert_eq!(local.backend_name(), "in-process");
}

/// A port that was just free on loopback: nothing listens there, so connecting is refused.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn an_unreachable_redis_is_a_prompt_error_without_the_password() {
    let port = closed_port();
    let url = format!("redis://:hunter2@127.0.0.1:{port}");
    let started = Instant::now();
    let result = tokio::time::timeout(Duration::from_secs(20), RateLimiter::redis(&url))
        .await
        .expect("RateLimiter::redis must give up on its own, not hang");
    let elapsed = started.elapsed();
    let err = result.expect_err("nothing listens on that port");
    assert!(
        matches!(
            err,
            RateLimitError::Connect { .. } | RateLimitError::ConnectTimeout { .. }
        ),
        "{err:?}"
    );
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
    let shown = err.to_string();
    assert!(
        shown.contains(&format!("127.0.0.1:{port}")),
        "the message should say where: {shown}"
    );
    assert!(!shown.contains("hunter2"), "password in Display: {shown}");
    assert!(!format!("{err:?}").contains("hunter2"), "password in Debug");
}

#[tokio::test]
async fn an_invalid_url_is_an_error_without_the_password() {
    let err = RateLimiter::redis("http://:hunter2@127.0.0.1:1")
        .await
        .expect_err("not a redis URL");
    assert!(matches!(err, RateLimitError::InvalidUrl { .. }), "{err:?}");
    assert!(!err.to_string().contains("hunter2"));
    assert!(!format!("{err:?}").contains("hunter2"));
}

#[tokio::test]
async fn debug_output_names_the_server_not_the_url() {
    let rl = redis_limiter().await;
    let shown = format!("{rl:?}");
    assert!(shown.contains("RedisLimiter"), "{shown}");
    assert!(!shown.contains("redis://"), "{shown}");
}
