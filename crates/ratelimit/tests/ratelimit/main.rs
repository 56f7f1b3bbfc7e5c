//! Integration tests: the GCRA behaviour, written once and run against both backends
//! (`behaviour`), and what only the Redis backend promises (`redis_only`). Redis tests need
//! `TEST_REDIS_URL` (set by `scripts/test`, or `eval "$(scripts/services.sh start)"`) and fail,
//! never skip, without it.
// Test code: an unwrap that fails is a failing test, with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod behaviour;
mod redis_only;

use meetvault_ratelimit::RateLimiter;

/// Mirrors `meetvault_test_support::services::redis_url`. Not a dev-dependency on that crate:
/// it pulls in the whole server (and `meetvault-core`, which depends on this crate), which costs
/// minutes of build for one environment variable.
pub fn redis_url() -> String {
    let raw = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| {
        panic!(
            "TEST_REDIS_URL is not set, so this test cannot reach Redis. Run the suite with \
             `scripts/test` (it installs and starts PostgreSQL, the S3 server and Redis on \
             loopback), or start them with `scripts/services.sh start` and export the variables \
             it prints."
        )
    });
    let authority = raw
        .strip_prefix("redis://")
        .and_then(|rest| rest.split('/').next())
        .and_then(|auth| auth.rsplit('@').next())
        .unwrap_or_default();
    let host = match authority.split_once(']') {
        Some((v6, _)) => &authority[..=v6.len()],
        None => authority.split(':').next().unwrap_or_default(),
    };
    assert!(
        host == "127.0.0.1" || host == "localhost" || host == "[::1]",
        "TEST_REDIS_URL must be redis://HOST:PORT on loopback, not {raw}"
    );
    raw
}

pub async fn redis_limiter() -> RateLimiter {
    let url = redis_url();
    RateLimiter::redis(&url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to Redis at TEST_REDIS_URL: {e:?}"))
}

/// A key no other test, or earlier run against the same Redis, uses.
pub fn unique_key(what: &str) -> String {
    format!("test:{what}:{}", uuid::Uuid::new_v4().simple())
}
