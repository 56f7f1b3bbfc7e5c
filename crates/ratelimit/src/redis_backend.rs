//! The Redis backend: GCRA in a Lua script, so every server instance sharing the Redis shares each
//! key's budget, reading Redis's clock so instances with skewed clocks still agree.

use std::fmt;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::RateLimitError;
use crate::quota::{Decision, Quota};

/// Every key this crate writes starts with this, so the rate limiter can share a Redis.
pub const KEY_PREFIX: &str = "meetvault:rl:";

/// Each attempt to open a TCP connection gives up after this.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// A command without a reply after this fails, so a stalled Redis fails requests rather than
/// hanging them.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
/// Connection attempts after the first, with backoff, when connecting or reconnecting.
const RETRIES: usize = 2;
/// Upper bound on the whole of `connect`, retries and backoff included.
const CONNECT_DEADLINE: Duration = Duration::from_secs(8);

/// KEYS[1]: the key. ARGV[1]: the emission interval T, ARGV[2]: the tolerance tau, both in µs.
/// Returns {1, 0} when allowed, {0, retry_after_us} when limited. Redis runs a script alone, so
/// the read and the write cannot interleave with another instance's.
const SCRIPT: &str = r"
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then
  tat = now
end
local ahead = tat - now
if ahead > tolerance then
  return {0, ahead - tolerance}
end
local new_tat = tat + interval
if ARGV[3] == '1' then
  return {1, 0}
end
-- The entry means nothing once its TAT has passed, so let Redis drop it then.
local ttl_ms = math.ceil((new_tat - now) / 1000)
-- %d, not tostring: Lua would print a 16-digit number as 1.7e+15 and lose microseconds.
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', string.format('%d', ttl_ms))
return {1, 0}
";

/// GCRA state in a Redis shared by several server instances. Cheap to clone; clones share one
/// multiplexed connection, re-established automatically after it drops.
#[derive(Clone)]
pub struct RedisLimiter {
    conn: ConnectionManager,
    script: redis::Script,
    /// `host:port` only: the URL's password must not reach logs.
    target: String,
}

// By hand: the connection manager's client would print the URL's password.
impl fmt::Debug for RedisLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisLimiter")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl RedisLimiter {
    /// Connects to `url` (`redis://[:password@]host:port[/db]`), failing within a few seconds
    /// when Redis cannot be reached.
    pub async fn connect(url: &str) -> Result<Self, RateLimitError> {
        let client =
            redis::Client::open(url).map_err(|source| RateLimitError::InvalidUrl { source })?;
        let target = client.get_connection_info().addr.to_string();
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(CONNECT_TIMEOUT)
            .set_response_timeout(RESPONSE_TIMEOUT)
            .set_number_of_retries(RETRIES)
            .set_max_delay(500);
        let conn = match tokio::time::timeout(
            CONNECT_DEADLINE,
            ConnectionManager::new_with_config(client, config),
        )
        .await
        {
            Ok(Ok(conn)) => conn,
            Ok(Err(source)) => return Err(RateLimitError::Connect { target, source }),
            Err(_) => {
                return Err(RateLimitError::ConnectTimeout {
                    target,
                    after: CONNECT_DEADLINE,
                });
            }
        };
        tracing::debug!(%target, "rate limiter connected to Redis");
        Ok(Self {
            conn,
            script: redis::Script::new(SCRIPT),
            target,
        })
    }

    /// One atomic check-and-update in Redis. EVALSHA first; on NOSCRIPT (a fresh or flushed
    /// Redis) the script is loaded and the call repeated.
    pub async fn check(&self, key: &str, quota: Quota) -> Result<Decision, RateLimitError> {
        self.run(key, quota, false).await
    }

    /// What `check` would answer, without counting the request.
    pub async fn peek(&self, key: &str, quota: Quota) -> Result<Decision, RateLimitError> {
        self.run(key, quota, true).await
    }

    async fn run(&self, key: &str, quota: Quota, dry: bool) -> Result<Decision, RateLimitError> {
        let mut conn = self.conn.clone();
        let (allowed, retry_after_us): (i64, i64) = self
            .script
            .key(format!("{KEY_PREFIX}{key}"))
            .arg(quota.interval_us())
            .arg(quota.tolerance_us())
            .arg(if dry { "1" } else { "0" })
            .invoke_async(&mut conn)
            .await
            .map_err(|source| self.command_error(source))?;
        match (allowed, u64::try_from(retry_after_us)) {
            (1, _) => Ok(Decision::Allowed),
            (0, Ok(us)) if us > 0 => Ok(Decision::Limited {
                retry_after: Duration::from_micros(us),
            }),
            _ => Err(RateLimitError::UnexpectedReply(format!(
                "the rate-limit script returned {{{allowed}, {retry_after_us}}}"
            ))),
        }
    }

    pub async fn ping(&self) -> Result<(), RateLimitError> {
        let mut conn = self.conn.clone();
        let reply: String = redis::cmd("PING")
            .query_async(&mut conn)
            .await
            .map_err(|source| self.command_error(source))?;
        if reply == "PONG" {
            Ok(())
        } else {
            Err(RateLimitError::UnexpectedReply(format!(
                "PING answered {reply:?}"
            )))
        }
    }

    fn command_error(&self, source: redis::RedisError) -> RateLimitError {
        RateLimitError::Command {
            target: self.target.clone(),
            source,
        }
    }
}
