//! The GCRA arithmetic shared by both backends: [`Quota`] (burst and emission interval, in whole
//! microseconds so the in-process and Redis backends compute identical answers) and [`Decision`].

use std::time::Duration;

/// The longest period a quota may have. Redis's Lua keeps numbers as doubles, and a theoretical
/// arrival time in microseconds since the epoch plus this stays well below 2^53, so no precision
/// is lost there.
pub const MAX_PERIOD: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// How many requests a key may make: `burst` at once, then one per emission interval.
///
/// Under GCRA, with emission interval `T = period / burst` and tolerance `tau = T * (burst - 1)`,
/// a quiet key may send `burst` requests at once and then one every `T`; over any stretch of time
/// `t` it gets at most `burst + t / T` requests, so there is no fixed window whose edges could be
/// straddled to get twice the burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Quota {
    burst: u32,
    interval_us: u64,
}

impl Quota {
    /// `burst` requests per `period`, e.g. `per_period(10, Duration::from_secs(300))`: 10 at once,
    /// then one every 30 s.
    ///
    /// Never fails; out-of-range input is clamped so a configuration mistake cannot turn into a
    /// panic or a limiter that lets everything through: a `burst` of 0 counts as 1, `period` is
    /// clamped to `1 µs ..= MAX_PERIOD`, and the emission interval is `period / burst` rounded
    /// down to whole microseconds, at least 1 µs.
    pub fn per_period(burst: u32, period: Duration) -> Self {
        let burst = burst.max(1);
        let period_us = u64::try_from(period.min(MAX_PERIOD).as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        let interval_us = (period_us / u64::from(burst)).max(1);
        Self { burst, interval_us }
    }

    /// How many requests a quiet key may make at once.
    pub fn burst(&self) -> u32 {
        self.burst
    }

    /// `T`: once the burst is spent, one request is allowed per this interval.
    pub fn emission_interval(&self) -> Duration {
        Duration::from_micros(self.interval_us)
    }

    /// `tau`: how far ahead of now a key's theoretical arrival time may run before it is limited.
    pub fn tolerance(&self) -> Duration {
        Duration::from_micros(self.tolerance_us())
    }

    /// `burst * T`: equal to the period given, less what rounding `T` to microseconds took off.
    pub fn period(&self) -> Duration {
        Duration::from_micros(self.interval_us * u64::from(self.burst))
    }

    pub(crate) fn interval_us(&self) -> u64 {
        self.interval_us
    }

    pub(crate) fn tolerance_us(&self) -> u64 {
        // Cannot overflow: interval_us * burst is at most MAX_PERIOD or u32::MAX microseconds.
        self.interval_us * u64::from(self.burst - 1)
    }
}

/// What a check concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// The request must be refused; the key's next request is allowed after `retry_after`.
    Limited {
        retry_after: Duration,
    },
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allowed)
    }

    /// `retry_after` in whole seconds, rounded up, for a `Retry-After` header: rounding down
    /// would send clients back while they are still limited. 0 when allowed.
    pub fn retry_after_secs(&self) -> u64 {
        match self {
            Decision::Allowed => 0,
            Decision::Limited { retry_after } => {
                let secs = retry_after.as_secs();
                if retry_after.subsec_nanos() > 0 {
                    secs + 1
                } else {
                    secs
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_per_five_minutes_is_one_every_thirty_seconds_after_a_burst_of_ten() {
        let q = Quota::per_period(10, Duration::from_secs(300));
        assert_eq!(q.burst(), 10);
        assert_eq!(q.emission_interval(), Duration::from_secs(30));
        assert_eq!(q.tolerance(), Duration::from_secs(270));
        assert_eq!(q.period(), Duration::from_secs(300));
    }

    #[test]
    fn zero_and_huge_inputs_are_clamped_not_panicking() {
        let q = Quota::per_period(0, Duration::ZERO);
        assert_eq!(q.burst(), 1);
        assert_eq!(q.emission_interval(), Duration::from_micros(1));
        assert_eq!(q.tolerance(), Duration::ZERO);

        let q = Quota::per_period(u32::MAX, Duration::from_micros(5));
        assert_eq!(q.emission_interval(), Duration::from_micros(1));

        let q = Quota::per_period(1, Duration::MAX);
        assert_eq!(q.period(), MAX_PERIOD);
    }

    #[test]
    fn the_interval_rounds_down_so_the_burst_never_exceeds_what_was_asked() {
        let q = Quota::per_period(3, Duration::from_micros(10));
        assert_eq!(q.emission_interval(), Duration::from_micros(3));
        // tau = 2 T, so exactly 3 requests fit at once (at offsets 0, T, 2T <= tau).
        assert_eq!(q.tolerance(), Duration::from_micros(6));
    }

    #[test]
    fn retry_after_secs_rounds_up() {
        let limited = |d| Decision::Limited { retry_after: d };
        assert_eq!(Decision::Allowed.retry_after_secs(), 0);
        assert_eq!(limited(Duration::from_secs(30)).retry_after_secs(), 30);
        assert_eq!(
            limited(Duration::from_millis(29_001)).retry_after_secs(),
            30
        );
        assert_eq!(limited(Duration::from_micros(1)).retry_after_secs(), 1);
        assert!(Decision::Allowed.is_allowed());
        assert!(!limited(Duration::from_secs(1)).is_allowed());
    }
}
