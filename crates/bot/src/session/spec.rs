//! What a bot is asked to do: the spec the server hands `meetvault bot run`
//! (`GET /internal/v1/bots/{id}/spec`, contract.md), and the sub-codes it ends with.

use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// The opt-out phrase when the spec names none.
pub const DEFAULT_OPT_OUT_PHRASE: &str = "/optout";

/// One bot's job: which meeting, under which name, what it says, when it leaves.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BotSpec {
    /// The meeting link (already matched to the recipe by the server).
    pub meeting_url: String,
    /// The name the bot joins under (also how it finds itself in the participant list).
    pub bot_name: String,
    /// Posted in the chat on admission, before anything is recorded; `None` posts nothing.
    #[serde(default)]
    pub consent_message: Option<String>,
    /// A participant whose chat message is exactly this (case and surrounding space aside)
    /// is excluded from that moment.
    #[serde(default = "default_opt_out")]
    pub opt_out_phrase: String,
    /// When the bot leaves on its own.
    #[serde(default)]
    pub automatic_leave: AutomaticLeave,
    /// What is recorded.
    #[serde(default)]
    pub recording: RecordingOptions,
}

fn default_opt_out() -> String {
    DEFAULT_OPT_OUT_PHRASE.to_owned()
}

impl BotSpec {
    /// A spec with the defaults: no consent message, `/optout`, the default leave rules.
    pub fn new(meeting_url: impl Into<String>, bot_name: impl Into<String>) -> BotSpec {
        BotSpec {
            meeting_url: meeting_url.into(),
            bot_name: bot_name.into(),
            consent_message: None,
            opt_out_phrase: default_opt_out(),
            automatic_leave: AutomaticLeave::default(),
            recording: RecordingOptions::default(),
        }
    }
}

/// The automatic leave rules. In the spec's JSON each is a number of seconds (fractions
/// allowed); `null` turns the rule off; absent takes the default.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default)]
pub struct AutomaticLeave {
    /// Longest wait in the waiting room (default 900 s) → `waiting_room_timeout`.
    #[serde(deserialize_with = "seconds")]
    pub waiting_room_timeout: Option<Duration>,
    /// Admitted, and nobody else ever appeared for this long (default 900 s) →
    /// `no_one_joined`.
    #[serde(deserialize_with = "seconds")]
    pub no_one_joined_timeout: Option<Duration>,
    /// Others were there and only the bot has remained for this long (default 60 s) →
    /// `everyone_left`.
    #[serde(deserialize_with = "seconds")]
    pub everyone_left_timeout: Option<Duration>,
    /// No track carried sound (RMS above [`SILENCE_RMS`](crate::SILENCE_RMS)) for this long
    /// since admission (default 1800 s) → `silence`.
    #[serde(deserialize_with = "seconds")]
    pub silence_timeout: Option<Duration>,
    /// Longest stay from admission (default 4 h) → `max_duration`.
    #[serde(deserialize_with = "seconds")]
    pub max_duration: Option<Duration>,
}

impl Default for AutomaticLeave {
    fn default() -> Self {
        AutomaticLeave {
            waiting_room_timeout: Some(Duration::from_secs(900)),
            no_one_joined_timeout: Some(Duration::from_secs(900)),
            everyone_left_timeout: Some(Duration::from_secs(60)),
            silence_timeout: Some(Duration::from_secs(1800)),
            max_duration: Some(Duration::from_secs(4 * 3600)),
        }
    }
}

fn seconds<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    match Option::<f64>::deserialize(d)? {
        None => Ok(None),
        Some(s) if (0.0..=30.0 * 86_400.0).contains(&s) => Ok(Some(Duration::from_secs_f64(s))),
        Some(s) => Err(serde::de::Error::custom(format!(
            "{s} is not a number of seconds between 0 and 30 days"
        ))),
    }
}

/// What is recorded.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct RecordingOptions {
    /// Each participant's track on its own (default on). Off: no audio is reported.
    pub per_speaker_audio: bool,
    /// A mixed track as well (default off). The bot reports per-track audio only; the
    /// server mixes from it when this is asked.
    pub mixed_audio: bool,
}

impl Default for RecordingOptions {
    fn default() -> Self {
        RecordingOptions {
            per_speaker_audio: true,
            mixed_audio: false,
        }
    }
}

/// Why a bot ended (open-ended strings; these are the ones this runtime writes).
pub mod sub_code {
    /// The platform says the meeting does not exist, or its page did not load.
    pub const MEETING_NOT_FOUND: &str = "meeting_not_found";
    /// The host refused the bot.
    pub const ADMISSION_DENIED: &str = "admission_denied";
    /// Nobody admitted the bot within `waiting_room_timeout`.
    pub const WAITING_ROOM_TIMEOUT: &str = "waiting_room_timeout";
    /// The host removed the bot.
    pub const REMOVED_BY_HOST: &str = "removed_by_host";
    /// The meeting ended for everyone.
    pub const MEETING_ENDED: &str = "meeting_ended";
    /// Everyone else left.
    pub const EVERYONE_LEFT: &str = "everyone_left";
    /// Nobody else ever came.
    pub const NO_ONE_JOINED: &str = "no_one_joined";
    /// No sound for `silence_timeout`.
    pub const SILENCE: &str = "silence";
    /// `max_duration` reached.
    pub const MAX_DURATION: &str = "max_duration";
    /// The API asked the bot to leave.
    pub const LEFT_BY_API: &str = "left_by_api";
    /// A recipe step or an expected element never appeared (a diagnosis is reported).
    pub const PLATFORM_UI_CHANGED: &str = "platform_ui_changed";
    /// Chromium exited or closed its pipe.
    pub const BROWSER_CRASHED: &str = "browser_crashed";
    /// The capture could not run in the page.
    pub const CAPTURE_FAILED: &str = "capture_failed";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minimal_spec_takes_the_defaults_and_null_turns_a_rule_off() {
        let spec: BotSpec = serde_json::from_str(
            r#"{"meeting_url": "https://meet.example/abc", "bot_name": "Notes",
                "automatic_leave": {"silence_timeout": null, "waiting_room_timeout": 2.5}}"#,
        )
        .unwrap();
        assert_eq!(spec.opt_out_phrase, "/optout");
        assert_eq!(spec.consent_message, None);
        assert!(spec.recording.per_speaker_audio);
        let leave = spec.automatic_leave;
        assert_eq!(leave.silence_timeout, None);
        assert_eq!(
            leave.waiting_room_timeout,
            Some(Duration::from_millis(2500))
        );
        assert_eq!(leave.everyone_left_timeout, Some(Duration::from_secs(60)));
    }

    #[test]
    fn a_negative_timeout_is_refused() {
        let err = serde_json::from_str::<BotSpec>(
            r#"{"meeting_url": "u", "bot_name": "b", "automatic_leave": {"max_duration": -1}}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("not a number of seconds"), "{err}");
    }
}
