//! GCRA rate limiting behind one [`RateLimiter`]: in this process (the default, for a single
//! server) or in Redis (so several server instances share each key's budget).
//!
//! GCRA keeps one timestamp per key, its theoretical arrival time (TAT). A request at `now` sees
//! `tat = max(stored, now)`; if `tat - now` exceeds the quota's tolerance it is limited until the
//! difference shrinks back, otherwise it is allowed and `tat + T` is stored. A limited request
//! changes nothing, so hammering a limit does not extend it.

mod in_process;
mod quota;
mod redis_backend;

use std::time::Duration;

pub use in_process::InProcessLimiter;
pub use quota::{Decision, MAX_PERIOD, Quota};
pub use redis_backend::{KEY_PREFIX, RedisLimiter};

/// Why a check could not be made. Whether to then let the request through is the caller's call.
///
/// No variant's message contains the Redis URL: it may carry a password. They name `host:port`.
#[derive(Debug, thiserror::Error)]
pub enum RateLimitError {
    #[error("invalid Redis URL")]
    InvalidUrl { source: redis::RedisError },
    #[error("cannot connect to Redis at {target}")]
    Connect {
        target: String,
        source: redis::RedisError,
    },
    #[error("connecting to Redis at {target} did not finish within {after:?}")]
    ConnectTimeout { target: String, after: Duration },
    #[error("Redis at {target} failed the rate-limit command")]
    Command {
        target: String,
        source: redis::RedisError,
    },
    #[error("unexpected reply from Redis: {0}")]
    UnexpectedReply(String),
}

/// A rate limiter, in this process or in Redis. Cheap to clone; clones share state.
#[derive(Clone, Debug)]
pub enum RateLimiter {
    InProcess(InProcessLimiter),
    Redis(RedisLimiter),
}

impl RateLimiter {
    /// State in this process: right for one server instance, lost on restart.
    pub fn in_process() -> Self {
        Self::InProcess(InProcessLimiter::new())
    }

    /// State in the Redis at `url`, shared with every instance using the same Redis. Fails within
    /// a few seconds when Redis cannot be reached; once connected, a dropped connection is
    /// re-established by the next check.
    pub async fn redis(url: &str) -> Result<Self, RateLimitError> {
        RedisLimiter::connect(url).await.map(Self::Redis)
    }

    /// Counts one request for `key` against `quota`, as one atomic check-and-update.
    pub async fn check(&self, key: &str, quota: Quota) -> Result<Decision, RateLimitError> {
        match self {
            Self::InProcess(limiter) => Ok(limiter.check(key, quota)),
            Self::Redis(limiter) => limiter.check(key, quota).await,
        }
    }

    /// What `check` would answer now, without counting a request: for paths that count only
    /// failures but must refuse every attempt while the budget is spent.
    pub async fn peek(&self, key: &str, quota: Quota) -> Result<Decision, RateLimitError> {
        match self {
            Self::InProcess(limiter) => Ok(limiter.peek(key, quota)),
            Self::Redis(limiter) => limiter.peek(key, quota).await,
        }
    }

    /// Whether the backend answers, for readiness checks.
    pub async fn ping(&self) -> Result<(), RateLimitError> {
        match self {
            Self::InProcess(_) => Ok(()),
            Self::Redis(limiter) => limiter.ping().await,
        }
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Self::InProcess(_) => "in-process",
            Self::Redis(_) => "redis",
        }
    }
}
