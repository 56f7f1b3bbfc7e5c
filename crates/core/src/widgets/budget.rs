//! What visitors may spend: requests per hour per address (an IPv6 /64 counted as one), and
//! per org, through the shared rate limiter.

use std::net::IpAddr;
use std::time::Duration;

use meetvault_ratelimit::{Decision, Quota};

use crate::{Core, CoreError};

/// The address a visitor is counted by: an IPv6 visitor holds a /64 at least, counted as one.
pub(super) fn visitor_key(ip: Option<IpAddr>) -> String {
    match ip {
        Some(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Some(IpAddr::V6(v6)) => v6
            .to_ipv4_mapped()
            .map_or_else(String::new, |v4| v4.to_string()),
        Some(ip) => ip.to_string(),
        None => "unknown".to_owned(),
    }
}

impl Core {
    /// Counts one request of `what` from `ip` against `per_hour` (a burst of that many, then
    /// evenly spread).
    pub(super) async fn visitor_budget(
        &self,
        what: &str,
        ip: Option<IpAddr>,
        per_hour: u32,
    ) -> Result<(), CoreError> {
        let who = visitor_key(ip);
        self.hourly_budget(&format!("{what}:{who}"), per_hour).await
    }

    /// Counts one request against `key`'s `per_hour` (a burst of that many, then evenly
    /// spread).
    pub(super) async fn hourly_budget(&self, key: &str, per_hour: u32) -> Result<(), CoreError> {
        let quota = Quota::per_period(per_hour, Duration::from_secs(3600));
        match self.limiter().check(key, quota).await {
            Ok(Decision::Allowed) => Ok(()),
            Ok(limited) => Err(CoreError::RateLimited {
                retry_after_secs: limited.retry_after_secs(),
            }),
            Err(e) => {
                tracing::warn!(error = %e, "the rate limiter is unavailable; a visitor was refused");
                Err(CoreError::Unavailable("the rate limiter"))
            }
        }
    }
}
