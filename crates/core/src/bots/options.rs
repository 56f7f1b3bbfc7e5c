//! A bot's options as stored on its row (plain JSON: none of it is content): what it records,
//! when it leaves by itself, and what was resolved when it was sent.

use meetvault_config::TranscriptionProvider;
use serde::{Deserialize, Serialize};

/// What a bot records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordingOptions {
    /// One track per speaker (default on).
    pub per_speaker: bool,
    /// One mixed track (default off).
    pub mixed: bool,
    /// Keep meetvault's own copy of the recordings once they reached the bot's destination
    /// (default off: the local copy is deleted when they are delivered and transcribed). On,
    /// and with no `retention.recordings` window, the recordings are kept `forever` (within
    /// the org's maximum).
    #[serde(default)]
    pub keep_local_copy: bool,
}

impl Default for RecordingOptions {
    fn default() -> Self {
        Self {
            per_speaker: true,
            mixed: false,
            keep_local_copy: false,
        }
    }
}

/// When a bot leaves by itself (seconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutomaticLeave {
    pub waiting_room_timeout_secs: u64,
    pub no_one_joined_timeout_secs: Option<u64>,
    pub everyone_left_timeout_secs: Option<u64>,
    pub silence_timeout_secs: Option<u64>,
    pub max_duration_secs: Option<u64>,
}

impl Default for AutomaticLeave {
    fn default() -> Self {
        Self {
            waiting_room_timeout_secs: 900,
            no_one_joined_timeout_secs: None,
            everyone_left_timeout_secs: None,
            silence_timeout_secs: None,
            max_duration_secs: None,
        }
    }
}

/// A bot's settings as stored (plain JSON: none of it is content).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BotOptions {
    pub platform: String,
    pub language: Option<String>,
    pub provider: Option<TranscriptionProvider>,
    pub recording: RecordingOptions,
    /// The consent message, resolved when the bot was sent (request, workspace, org, default).
    pub consent_message: Option<String>,
    /// Whether the bot posts it (a policy may require it).
    #[serde(default = "yes")]
    pub post_consent: bool,
    /// The opt-out phrase, resolved like the message.
    #[serde(default)]
    pub opt_out_phrase: Option<String>,
    pub automatic_leave: AutomaticLeave,
    /// Where its recordings go when it ends (else its workspace's default destination, else
    /// the org's).
    #[serde(default)]
    pub destination_id: Option<crate::ids::DestinationId>,
}

fn yes() -> bool {
    true
}
