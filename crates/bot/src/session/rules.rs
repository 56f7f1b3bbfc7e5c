//! The automatic leave rules, as a pure function of what the session has seen.

use std::time::Duration;

use tokio::time::Instant;

use super::{AutomaticLeave, sub_code};

/// What the leave rules look at.
#[derive(Debug, Clone, Copy)]
pub(super) struct Seen {
    pub admitted: Instant,
    pub seen_others: bool,
    pub alone_since: Option<Instant>,
    pub last_sound: Option<Instant>,
}

/// The leave rule that applies at `now`, if any (the first of max duration, everyone left,
/// no one joined, silence).
pub(super) fn leave_rule(
    rules: &AutomaticLeave,
    seen: &Seen,
    now: Instant,
) -> Option<&'static str> {
    let over = |limit: Option<Duration>, from: Option<Instant>| matches!((limit, from), (Some(limit), Some(from)) if now - from >= limit);
    if over(rules.max_duration, Some(seen.admitted)) {
        Some(sub_code::MAX_DURATION)
    } else if seen.seen_others && over(rules.everyone_left_timeout, seen.alone_since) {
        Some(sub_code::EVERYONE_LEFT)
    } else if !seen.seen_others && over(rules.no_one_joined_timeout, Some(seen.admitted)) {
        Some(sub_code::NO_ONE_JOINED)
    } else if over(rules.silence_timeout, seen.last_sound) {
        Some(sub_code::SILENCE)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> AutomaticLeave {
        AutomaticLeave {
            waiting_room_timeout: None,
            no_one_joined_timeout: Some(Duration::from_secs(10)),
            everyone_left_timeout: Some(Duration::from_secs(5)),
            silence_timeout: Some(Duration::from_secs(20)),
            max_duration: Some(Duration::from_secs(60)),
        }
    }

    #[test]
    fn each_leave_rule_fires_only_past_its_limit() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut seen = Seen {
            admitted: t0,
            seen_others: false,
            alone_since: Some(t0),
            last_sound: Some(t0),
        };
        // Nobody came.
        assert_eq!(leave_rule(&rules(), &seen, at(9)), None);
        assert_eq!(
            leave_rule(&rules(), &seen, at(10)),
            Some(sub_code::NO_ONE_JOINED)
        );
        // Someone came, then left at 12 s.
        seen.seen_others = true;
        seen.alone_since = Some(at(12));
        assert_eq!(leave_rule(&rules(), &seen, at(16)), None);
        assert_eq!(
            leave_rule(&rules(), &seen, at(17)),
            Some(sub_code::EVERYONE_LEFT)
        );
        // Someone is there, silent since the start.
        seen.alone_since = None;
        assert_eq!(leave_rule(&rules(), &seen, at(19)), None);
        assert_eq!(leave_rule(&rules(), &seen, at(20)), Some(sub_code::SILENCE));
        // Sound keeps it going until the maximum.
        seen.last_sound = Some(at(59));
        assert_eq!(leave_rule(&rules(), &seen, at(59)), None);
        assert_eq!(
            leave_rule(&rules(), &seen, at(60)),
            Some(sub_code::MAX_DURATION)
        );
        // A rule turned off never fires.
        let off = AutomaticLeave {
            max_duration: None,
            silence_timeout: None,
            ..rules()
        };
        assert_eq!(leave_rule(&off, &seen, at(3600)), None);
    }
}
