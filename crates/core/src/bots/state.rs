//! The bot's state machine: its states, its open-ended sub-codes, and the one table of legal
//! transitions. A [`Transition`] exists only if the table allows it (its constructor checks),
//! and the store writes only transitions, so an illegal one cannot be recorded.
//!
//! ```text
//! scheduled → joining → waiting_room → joined → recording ⇄ paused → leaving → post_processing → ended
//!                 └──────────────────────┘  └→ leaving / post_processing     (shortcuts)
//! joining / waiting_room → leaving | ended        (not admitted, not found, left before admission)
//! scheduled → ended                               (cancelled)
//! any state but ended and fatal_error → fatal_error
//! ```

use std::fmt;

/// Where a bot is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BotState {
    Scheduled,
    Joining,
    WaitingRoom,
    Joined,
    Recording,
    Paused,
    Leaving,
    PostProcessing,
    Ended,
    FatalError,
}

impl BotState {
    pub const ALL: [BotState; 10] = [
        Self::Scheduled,
        Self::Joining,
        Self::WaitingRoom,
        Self::Joined,
        Self::Recording,
        Self::Paused,
        Self::Leaving,
        Self::PostProcessing,
        Self::Ended,
        Self::FatalError,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Joining => "joining",
            Self::WaitingRoom => "waiting_room",
            Self::Joined => "joined",
            Self::Recording => "recording",
            Self::Paused => "paused",
            Self::Leaving => "leaving",
            Self::PostProcessing => "post_processing",
            Self::Ended => "ended",
            Self::FatalError => "fatal_error",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Nothing follows: the bot is done (and its token no longer works).
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Ended | Self::FatalError)
    }

    /// The bot process is done: it ended, or the server is processing what it captured (its
    /// token no longer works).
    pub fn is_done(self) -> bool {
        self.is_terminal() || self == Self::PostProcessing
    }

    /// Inside the meeting (or on its way out of it): capturing may happen.
    pub fn is_in_meeting(self) -> bool {
        matches!(self, Self::Joined | Self::Recording | Self::Paused)
    }

    /// The states this one may move to: the whole transition table, one arm per state.
    pub fn successors(self) -> &'static [BotState] {
        use BotState::*;
        match self {
            Scheduled => &[Joining, Ended, FatalError],
            Joining => &[WaitingRoom, Joined, Leaving, Ended, FatalError],
            WaitingRoom => &[Joined, Leaving, Ended, FatalError],
            Joined => &[Recording, Leaving, PostProcessing, FatalError],
            Recording => &[Paused, Leaving, PostProcessing, FatalError],
            Paused => &[Recording, Leaving, PostProcessing, FatalError],
            Leaving => &[PostProcessing, Ended, FatalError],
            PostProcessing => &[Ended, FatalError],
            Ended | FatalError => &[],
        }
    }

    pub fn can_move_to(self, to: BotState) -> bool {
        self.successors().contains(&to)
    }
}

impl fmt::Display for BotState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a bot is where it is: an open-ended code (`[a-z0-9_]`, at most 64), so a platform can
/// report what this list does not know yet. The known ones are the constants below.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SubCode(String);

impl SubCode {
    pub const MEETING_NOT_FOUND: &'static str = "meeting_not_found";
    pub const ADMISSION_DENIED: &'static str = "admission_denied";
    pub const WAITING_ROOM_TIMEOUT: &'static str = "waiting_room_timeout";
    pub const REMOVED_BY_HOST: &'static str = "removed_by_host";
    pub const MEETING_ENDED: &'static str = "meeting_ended";
    pub const EVERYONE_LEFT: &'static str = "everyone_left";
    pub const NO_ONE_JOINED: &'static str = "no_one_joined";
    pub const SILENCE: &'static str = "silence";
    pub const MAX_DURATION: &'static str = "max_duration";
    pub const LEFT_BY_API: &'static str = "left_by_api";
    pub const PLATFORM_UI_CHANGED: &'static str = "platform_ui_changed";
    pub const BROWSER_CRASHED: &'static str = "browser_crashed";
    pub const CAPTURE_FAILED: &'static str = "capture_failed";
    pub const CANCELLED: &'static str = "cancelled";
    pub const LAUNCH_FAILED: &'static str = "launch_failed";

    /// The documented codes (others are accepted as long as they are well formed).
    pub const KNOWN: [&'static str; 15] = [
        Self::MEETING_NOT_FOUND,
        Self::ADMISSION_DENIED,
        Self::WAITING_ROOM_TIMEOUT,
        Self::REMOVED_BY_HOST,
        Self::MEETING_ENDED,
        Self::EVERYONE_LEFT,
        Self::NO_ONE_JOINED,
        Self::SILENCE,
        Self::MAX_DURATION,
        Self::LEFT_BY_API,
        Self::PLATFORM_UI_CHANGED,
        Self::BROWSER_CRASHED,
        Self::CAPTURE_FAILED,
        Self::CANCELLED,
        Self::LAUNCH_FAILED,
    ];

    pub fn parse(s: &str) -> Option<Self> {
        let ok = (1..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        ok.then(|| Self(s.to_owned()))
    }

    /// One of the known codes (for the server's own transitions).
    pub fn known(code: &'static str) -> Self {
        Self(code.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A move the table allows: the only thing the store is asked to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    from: BotState,
    to: BotState,
    sub_code: Option<SubCode>,
}

/// A move the table does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a bot cannot go from {from} to {to}")]
pub struct IllegalTransition {
    pub from: BotState,
    pub to: BotState,
}

impl Transition {
    pub fn new(
        from: BotState,
        to: BotState,
        sub_code: Option<SubCode>,
    ) -> Result<Self, IllegalTransition> {
        if from.can_move_to(to) {
            Ok(Self { from, to, sub_code })
        } else {
            Err(IllegalTransition { from, to })
        }
    }

    pub fn from(&self) -> BotState {
        self.from
    }

    pub fn to(&self) -> BotState {
        self.to
    }

    pub fn sub_code(&self) -> Option<&SubCode> {
        self.sub_code.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::BotState::*;
    use super::*;

    /// The whole table, written out pair by pair: every (from, to) is either here or illegal.
    const LEGAL: &[(BotState, BotState)] = &[
        (Scheduled, Joining),
        (Scheduled, Ended),
        (Scheduled, FatalError),
        (Joining, WaitingRoom),
        (Joining, Joined),
        (Joining, Leaving),
        (Joining, Ended),
        (Joining, FatalError),
        (WaitingRoom, Joined),
        (WaitingRoom, Leaving),
        (WaitingRoom, Ended),
        (WaitingRoom, FatalError),
        (Joined, Recording),
        (Joined, Leaving),
        (Joined, PostProcessing),
        (Joined, FatalError),
        (Recording, Paused),
        (Recording, Leaving),
        (Recording, PostProcessing),
        (Recording, FatalError),
        (Paused, Recording),
        (Paused, Leaving),
        (Paused, PostProcessing),
        (Paused, FatalError),
        (Leaving, PostProcessing),
        (Leaving, Ended),
        (Leaving, FatalError),
        (PostProcessing, Ended),
        (PostProcessing, FatalError),
    ];

    #[test]
    fn every_pair_of_states_is_legal_exactly_when_the_table_says_so() {
        let mut legal = 0;
        for from in BotState::ALL {
            for to in BotState::ALL {
                let expected = LEGAL.contains(&(from, to));
                let made = Transition::new(from, to, None);
                assert_eq!(made.is_ok(), expected, "{from} → {to}");
                if let Ok(t) = made {
                    assert_eq!((t.from(), t.to()), (from, to));
                    legal += 1;
                } else {
                    assert_eq!(made.unwrap_err(), IllegalTransition { from, to });
                }
            }
        }
        assert_eq!(legal, LEGAL.len());
    }

    #[test]
    fn fatal_error_is_reachable_from_every_state_but_the_terminal_ones() {
        for from in BotState::ALL {
            assert_eq!(
                from.can_move_to(FatalError),
                !from.is_terminal(),
                "{from} → fatal_error"
            );
        }
        assert!(Ended.successors().is_empty() && FatalError.successors().is_empty());
    }

    #[test]
    fn the_main_path_is_walkable_and_nothing_returns_to_scheduled() {
        let path = [
            Scheduled,
            Joining,
            WaitingRoom,
            Joined,
            Recording,
            Paused,
            Recording,
            Leaving,
            PostProcessing,
            Ended,
        ];
        for pair in path.windows(2) {
            assert!(Transition::new(pair[0], pair[1], None).is_ok(), "{pair:?}");
        }
        for from in BotState::ALL {
            assert!(!from.can_move_to(Scheduled), "{from} → scheduled");
            assert!(!from.can_move_to(from), "{from} → itself");
        }
    }

    #[test]
    fn states_and_sub_codes_parse_their_names() {
        for s in BotState::ALL {
            assert_eq!(BotState::parse(s.as_str()), Some(s));
        }
        assert_eq!(BotState::parse("exploded"), None);
        for code in SubCode::KNOWN {
            assert_eq!(SubCode::parse(code).unwrap().as_str(), code);
        }
        assert!(SubCode::parse("some_new_platform_code").is_some());
        for bad in ["", "Upper", "with space", "semi;colon", &"x".repeat(65)] {
            assert!(SubCode::parse(bad).is_none(), "{bad:?}");
        }
    }
}
