//! The recipe format as typed structs: what a recipe file may say, parsed with serde and
//! refusing unknown fields. The JSON Schema (`docs/recipe.schema.json`) is generated from these
//! types. Meaning (selectors non-empty, timeouts bounded, regexes compile) is checked in
//! `validate`, not here.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One platform: how to recognise its meeting URLs, join a meeting, tell where the bot stands,
/// read chat and participants, and send a chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "meetvault platform recipe")]
pub struct RecipeFile {
    /// Stable platform id: lowercase letters, digits and `-` (`google-meet`).
    #[schemars(length(min = 1, max = 63))]
    pub name: String,
    /// The recipe's own version, raised on every change (reported with each bot).
    #[schemars(range(min = 1))]
    pub version: u32,
    /// A platform for tests and demos (testmeet): its origins come from the operator's
    /// configuration (plain `http` on loopback allowed), never from the recipe.
    #[serde(default, skip_serializing_if = "is_false")]
    pub test_platform: bool,
    /// Which meeting URLs belong to this platform.
    pub urls: UrlPatterns,
    /// Steps from an empty tab to "asked to join"; the first is `navigate`.
    #[schemars(length(min = 1))]
    pub join: Vec<Step>,
    /// What the bot looks for to know where it stands.
    pub detect: Detectors,
    /// Reading and sending chat.
    pub chat: Chat,
    /// Reading the participant list.
    pub participants: Participants,
    /// Who is speaking now (optional; needed when tracks map by active speaker).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_speaker: Option<ActiveSpeaker>,
    /// How a received audio track is tied to a participant.
    pub tracks: TrackMapping,
    /// Steps that leave the meeting politely (optional: closing the tab also leaves).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub leave: Vec<Step>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Hosts and paths of this platform's meeting URLs. A URL matches when its host matches one of
/// `hosts` and its whole path matches one of `paths`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UrlPatterns {
    /// Exact host names (`meet.google.com`) or one leading wildcard label (`*.zoom.us`, which
    /// matches `us02web.zoom.us` but not `zoom.us`). Empty for a test platform.
    #[serde(default)]
    pub hosts: Vec<String>,
    /// Regular expressions the whole URL path must match (anchored for you).
    #[schemars(length(min = 1))]
    pub paths: Vec<String>,
}

/// One thing the bot does in the page. Every step has a timeout: a step that cannot complete
/// in time means the platform's page is not what the recipe expects (`platform_ui_changed`),
/// except `click_if_present`, which is then skipped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// Open the meeting URL.
    Navigate {
        #[schemars(range(min = 100, max = 600000))]
        timeout_ms: u32,
    },
    /// Wait until an element (or text) is there.
    WaitFor {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        selector: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
        #[schemars(range(min = 100, max = 600000))]
        timeout_ms: u32,
    },
    /// Type a value into an input, textarea or contenteditable element.
    Fill {
        selector: String,
        value: FillValue,
        #[schemars(range(min = 100, max = 600000))]
        timeout_ms: u32,
    },
    /// Click an enabled, visible element (optionally the one containing `text`).
    Click {
        selector: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
        #[schemars(range(min = 100, max = 600000))]
        timeout_ms: u32,
    },
    /// Click it if it appears within the timeout (a dialog to dismiss); skip it otherwise.
    ClickIfPresent {
        selector: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
        #[schemars(range(min = 100, max = 600000))]
        timeout_ms: u32,
    },
    /// Make sure a toggle (camera, microphone) is off: click it while `state_attribute` equals
    /// `on_value`, done once it does not.
    ToggleOff {
        selector: String,
        #[serde(default = "default_state_attribute")]
        state_attribute: String,
        #[serde(default = "default_on_value")]
        on_value: String,
        #[schemars(range(min = 100, max = 600000))]
        timeout_ms: u32,
    },
    /// Focus an element (or keep the focus where it is) and press a key through the browser's
    /// input pipeline.
    Press {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        selector: Option<String>,
        key: Key,
        #[schemars(range(min = 100, max = 600000))]
        timeout_ms: u32,
    },
}

fn default_state_attribute() -> String {
    "aria-pressed".to_owned()
}

fn default_on_value() -> String {
    "true".to_owned()
}

/// What a `fill` step types: the bot's name (join steps) or the message (chat send steps).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FillValue {
    BotName,
    ChatMessage,
}

/// A key a `press` step sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Key {
    Enter,
    Escape,
    Tab,
}

/// An element (or text) on the page. Every field given must hold: the element matches
/// `selector` (any element when absent: then the page's visible text is searched), is visible,
/// its visible text contains `text` (ignoring case) and matches `pattern`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Matcher {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// A regular expression in the common subset of JavaScript and Rust syntax.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
}

/// The states the bot recognises. Each is a list of matchers; the detector fires when any of
/// them matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Detectors {
    /// Waiting to be let in (lobby).
    #[schemars(length(min = 1))]
    pub waiting_room: Vec<Matcher>,
    /// In the meeting.
    #[schemars(length(min = 1))]
    pub admitted: Vec<Matcher>,
    /// The host refused to let the bot in.
    #[schemars(length(min = 1))]
    pub denied: Vec<Matcher>,
    /// The host removed the bot.
    #[schemars(length(min = 1))]
    pub removed: Vec<Matcher>,
    /// The meeting ended for everyone.
    #[schemars(length(min = 1))]
    pub meeting_ended: Vec<Matcher>,
    /// The meeting does not exist (optional).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub meeting_not_found: Vec<Matcher>,
}

/// Reading and sending chat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Chat {
    /// Fires while the chat panel is open.
    #[schemars(length(min = 1))]
    pub panel: Vec<Matcher>,
    /// Steps that open the panel when `panel` does not fire.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub open: Vec<Step>,
    /// Where the messages are.
    pub messages: ChatMessages,
    /// Steps that send a message: a `fill` with `value = "chat_message"`, then a click or a
    /// key press.
    #[schemars(length(min = 1))]
    pub send: Vec<Step>,
}

/// The chat messages: one element per message, and where in it each part is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatMessages {
    /// Selects every message element, in order.
    pub item: String,
    /// The sender's display name. A message without one (grouped under the previous message's
    /// header) takes the previous message's sender.
    pub sender: Field,
    /// A stable id of the sender (optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_id: Option<Field>,
    /// The message text.
    pub text: Field,
    /// Parts joined into the message's dedupe key. Empty: sender, text and how many times that
    /// pair occurred before.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub key: Vec<Field>,
}

/// The participant list: one element per participant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Participants {
    /// Steps that open the participant panel when `item` finds nothing (optional).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub open: Vec<Step>,
    /// Selects every participant element.
    pub item: String,
    /// A stable id of the participant.
    pub id: Field,
    /// The display name.
    pub name: Field,
    /// The id of the media stream the participant sends (needed by `stream_id_attribute`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_id: Option<Field>,
}

/// Who speaks now: the elements of participants shown as speaking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActiveSpeaker {
    /// Selects the element of each participant currently speaking.
    pub item: String,
    /// The participant's id, the same as `participants.id` gives.
    pub id: Field,
}

/// A value read from an element: starting at the item (or at its nearest ancestor matching
/// `closest`, for a sender shown once above a group of messages), the element `selector` finds
/// inside (the start itself when absent), then its `attribute` (its visible text when absent).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Field {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribute: Option<String>,
}

/// How a received audio track is tied to a participant. More kinds will come with more
/// platforms; a bot that meets a kind it does not know refuses the recipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum TrackMapping {
    /// Each participant element carries the id of the media stream it sends
    /// (`participants.stream_id`): the track whose `msid` stream id equals it is theirs.
    StreamIdAttribute,
    /// The n-th remote audio track belongs to the n-th participant in the list (fragile; for
    /// platforms that expose nothing better).
    DomOrder,
    /// The platform mixes audio into a few tracks: attribute what a track carries to whoever
    /// `active_speaker` shows speaking at that moment.
    ActiveSpeaker,
}
