//! Meeting bots on the wire: a new bot, a bot with its timeline, a page of bots, a chat
//! message; and the internal protocol's bodies (the bot process's spec, transitions, events,
//! commands), which are not in the public OpenAPI document.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use meetvault_config::TranscriptionProvider;
use meetvault_core::bots as core;
use meetvault_core::ids::{BotId, MeetingId, WorkspaceId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ids;
use super::meetings::ProviderSchema;

/// How a bot's meeting is transcribed.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BotTranscription {
    /// `local` (the only one bots use for now); unset: the server's default.
    #[serde(default)]
    #[schema(value_type = Option<ProviderSchema>)]
    pub provider: Option<TranscriptionProvider>,
    /// A Whisper language code (`en`, `de`, …); unset: detected.
    #[serde(default)]
    pub language: Option<String>,
}

/// What the bot records.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BotRecording {
    /// One track per speaker (default true).
    #[serde(default = "yes")]
    pub per_speaker: bool,
    /// One mixed track (default false).
    #[serde(default)]
    pub mixed: bool,
    /// Keep meetvault's own copy of the recordings once they reached the bot's destination
    /// (default false: the copy here is deleted once they are delivered and transcribed).
    #[serde(default)]
    pub keep_local_copy: bool,
}

fn yes() -> bool {
    true
}

impl Default for BotRecording {
    fn default() -> Self {
        Self {
            per_speaker: true,
            mixed: false,
            keep_local_copy: false,
        }
    }
}

/// When the bot leaves by itself (seconds, 1–86400).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AutomaticLeave {
    /// Give up waiting to be admitted after this long (default 900).
    #[serde(default = "waiting_room_default")]
    pub waiting_room_timeout_secs: u64,
    /// Leave when no one else joined within this long.
    #[serde(default)]
    pub no_one_joined_timeout_secs: Option<u64>,
    /// Leave this long after everyone else left.
    #[serde(default)]
    pub everyone_left_timeout_secs: Option<u64>,
    /// Leave after this long without speech.
    #[serde(default)]
    pub silence_timeout_secs: Option<u64>,
    /// Leave after this long in any case.
    #[serde(default)]
    pub max_duration_secs: Option<u64>,
}

fn waiting_room_default() -> u64 {
    900
}

impl Default for AutomaticLeave {
    fn default() -> Self {
        core::AutomaticLeave::default().into()
    }
}

impl From<core::AutomaticLeave> for AutomaticLeave {
    fn from(a: core::AutomaticLeave) -> Self {
        Self {
            waiting_room_timeout_secs: a.waiting_room_timeout_secs,
            no_one_joined_timeout_secs: a.no_one_joined_timeout_secs,
            everyone_left_timeout_secs: a.everyone_left_timeout_secs,
            silence_timeout_secs: a.silence_timeout_secs,
            max_duration_secs: a.max_duration_secs,
        }
    }
}

impl From<AutomaticLeave> for core::AutomaticLeave {
    fn from(a: AutomaticLeave) -> Self {
        Self {
            waiting_room_timeout_secs: a.waiting_room_timeout_secs,
            no_one_joined_timeout_secs: a.no_one_joined_timeout_secs,
            everyone_left_timeout_secs: a.everyone_left_timeout_secs,
            silence_timeout_secs: a.silence_timeout_secs,
            max_duration_secs: a.max_duration_secs,
        }
    }
}

/// A bot to send to a meeting.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"meeting_url": "https://meet.google.com/abc-defg-hij", "bot_name": "Notetaker", "metadata": {"crm_id": "42"}}))]
pub struct NewBot {
    /// `https` on Google Meet, Microsoft Teams or Zoom (or a test platform the operator
    /// configured).
    pub meeting_url: String,
    pub bot_name: String,
    /// When to join (RFC 3339); now when absent.
    #[serde(default)]
    pub join_at: Option<DateTime<Utc>>,
    /// `wsp_…`; the first workspace the caller may send bots to when absent.
    #[serde(default)]
    #[schema(value_type = Option<ids::WorkspaceId>)]
    pub workspace_id: Option<WorkspaceId>,
    #[serde(default)]
    pub transcription: BotTranscription,
    #[serde(default)]
    pub recording: BotRecording,
    /// Posted in the chat on admission; when absent the workspace's consent policy, else the
    /// org's, else a default that names the opt-out phrase.
    #[serde(default)]
    pub consent_message: Option<String>,
    /// `false`: the bot posts no consent message (refused, 422, where a consent policy
    /// requires it).
    #[serde(default = "yes")]
    pub post_consent: bool,
    /// What a participant types in the chat to be excluded from that moment; when absent the
    /// workspace's policy, else the org's, else `/optout`.
    #[serde(default)]
    pub opt_out_phrase: Option<String>,
    #[serde(default)]
    pub automatic_leave: AutomaticLeave,
    /// Up to 16 keys (letters, digits, `_-.`, 64 characters) of strings up to 500
    /// characters; stored encrypted.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// This bot's own webhook endpoint (https, public; see `/api/v1/webhooks`): every default
    /// event of its meeting, signed with a secret of its own, shown once in this answer
    /// (`webhook.secret`).
    #[serde(default)]
    pub webhook_url: Option<String>,
    /// `dst_…`: where its recordings and transcript go when it ends (else its workspace's
    /// default destination, else the org's).
    #[serde(default)]
    #[schema(value_type = Option<ids::DestinationId>)]
    pub destination_id: Option<meetvault_core::ids::DestinationId>,
    /// Its meeting's own retention windows (at most the org's maxima, else 422 naming
    /// `retention.<part>`); absent parts inherit from the workspace, the org, the default.
    /// `recording.keep_local_copy` with no `recordings` window keeps them `forever`.
    #[serde(default)]
    pub retention: super::retention::RetentionWindows,
    /// Its meeting's own intelligence settings (provider, prompt template, PII redaction);
    /// absent fields inherit the workspace's and org's.
    #[serde(default)]
    pub intelligence: Option<crate::wire::intel::IntelligenceSettings>,
}

impl From<NewBot> for core::NewBot {
    fn from(b: NewBot) -> Self {
        Self {
            meeting_url: b.meeting_url,
            bot_name: b.bot_name,
            title: None,
            join_at: b.join_at,
            workspace_id: b.workspace_id,
            language: b.transcription.language,
            provider: b.transcription.provider,
            recording: core::RecordingOptions {
                per_speaker: b.recording.per_speaker,
                mixed: b.recording.mixed,
                keep_local_copy: b.recording.keep_local_copy,
            },
            consent_message: b.consent_message,
            post_consent: b.post_consent,
            opt_out_phrase: b.opt_out_phrase,
            automatic_leave: b.automatic_leave.into(),
            metadata: b.metadata,
            webhook_url: b.webhook_url,
            destination_id: b.destination_id,
            retention: b.retention.into(),
            intelligence: b.intelligence.map(Into::into),
        }
    }
}

/// A bot's state: `scheduled`, `joining`, `waiting_room`, `joined`, `recording`, `paused`,
/// `leaving`, `post_processing`, `ended` or `fatal_error`.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // a schema only: fields carry core's state name
pub enum BotStateSchema {
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

/// One step of the timeline.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BotTransition {
    /// Absent for the bot's creation.
    #[schema(value_type = Option<BotStateSchema>, required = true)]
    pub from: Option<&'static str>,
    #[schema(value_type = BotStateSchema)]
    pub to: &'static str,
    /// Why (open-ended: `admission_denied`, `left_by_api`, `browser_crashed`, …).
    #[schema(required = true)]
    pub sub_code: Option<String>,
    pub at: DateTime<Utc>,
}

/// A participant the bot saw.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BotParticipant {
    /// The platform's id for them.
    pub participant_id: String,
    #[schema(required = true)]
    pub name: Option<String>,
    /// The captured track that is theirs.
    #[schema(required = true)]
    pub track: Option<String>,
    pub joined_at: DateTime<Utc>,
    #[schema(required = true)]
    pub left_at: Option<DateTime<Utc>>,
    /// When they typed the opt-out phrase: what was captured of them is deleted, and nothing
    /// more is.
    #[schema(required = true)]
    pub opted_out_at: Option<DateTime<Utc>>,
}

/// A chat message the bot saw (each once).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BotChatMessage {
    /// The sender's display name.
    pub sender: String,
    /// The platform's id for the sender, when it shows one.
    #[schema(required = true)]
    pub sender_id: Option<String>,
    pub text: String,
    pub at: DateTime<Utc>,
}

/// A captured track and what its capture measured.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BotTrack {
    /// The track's key (`doc-pc-mid`, e.g. `1-0-2`).
    pub track: String,
    /// The participant it belongs to.
    #[schema(required = true)]
    pub participant_id: Option<String>,
    /// Samples the track's timestamps say were sent (once it ended).
    #[schema(required = true)]
    pub samples_expected: Option<u64>,
    /// Samples that arrived (once it ended).
    #[schema(required = true)]
    pub samples_received: Option<u64>,
    /// The share of expected samples lost, in percent.
    #[schema(required = true)]
    pub loss_percent: Option<f64>,
    #[schema(required = true)]
    pub ended_at: Option<DateTime<Utc>>,
    /// When its participant opted out (its audio is deleted).
    #[schema(required = true)]
    pub opted_out_at: Option<DateTime<Utc>>,
}

/// Who the platform showed speaking from `at` on (empty: nobody).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BotSpeakers {
    pub participant_ids: Vec<String>,
    pub at: DateTime<Utc>,
}

/// What a bot showed when it gave up on a page (`platform_ui_changed`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BotDiagnosis {
    /// What was expected and did not appear.
    pub reason: String,
    /// A PNG of the page, base64 (empty when none could be taken).
    pub screenshot_png: String,
    /// The page's DOM as HTML.
    pub dom_html: String,
    pub at: DateTime<Utc>,
}

impl From<core::Diagnosis> for BotDiagnosis {
    fn from(d: core::Diagnosis) -> Self {
        Self {
            reason: d.reason,
            screenshot_png: d.screenshot_png,
            dom_html: d.dom_html,
            at: d.at,
        }
    }
}

/// A bot in a list (no content).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BotSummary {
    #[schema(value_type = ids::BotId)]
    pub id: BotId,
    /// The bot's meeting: its transcript, recordings and events.
    #[schema(value_type = ids::MeetingId)]
    pub meeting_id: MeetingId,
    #[schema(value_type = ids::WorkspaceId)]
    pub workspace_id: WorkspaceId,
    #[schema(value_type = BotStateSchema)]
    pub state: &'static str,
    #[schema(required = true)]
    pub sub_code: Option<String>,
    #[schema(required = true)]
    pub join_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<core::BotSummary> for BotSummary {
    fn from(s: core::BotSummary) -> Self {
        Self {
            id: s.id,
            meeting_id: s.meeting_id,
            workspace_id: s.workspace_id,
            state: s.state.as_str(),
            sub_code: s.sub_code,
            join_at: s.join_at,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

/// A bot, its settings, timeline and the participants it saw.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Bot {
    #[serde(flatten)]
    pub summary: BotSummary,
    pub meeting_url: String,
    pub bot_name: String,
    pub metadata: BTreeMap<String, String>,
    /// The platform the URL belongs to: its recipe's name (`google-meet`, `microsoft-teams`,
    /// `zoom`, `testmeet`, or one from `bot.recipes_dir`).
    pub platform: String,
    pub transcription: BotTranscription,
    pub recording: BotRecording,
    /// The consent message as resolved when the bot was sent.
    #[schema(required = true)]
    pub consent_message: Option<String>,
    /// Whether the bot posts it.
    pub post_consent: bool,
    /// The opt-out phrase as resolved when the bot was sent.
    #[schema(required = true)]
    pub opt_out_phrase: Option<String>,
    pub automatic_leave: AutomaticLeave,
    pub transitions: Vec<BotTransition>,
    pub participants: Vec<BotParticipant>,
    /// The meeting's chat as the bot saw it.
    pub chat: Vec<BotChatMessage>,
    /// The tracks it captured.
    pub tracks: Vec<BotTrack>,
    /// Every change of who was speaking, as the platform showed it.
    pub active_speakers: Vec<BotSpeakers>,
    /// When its audio clock started: a recording of it starts at this time.
    #[schema(required = true)]
    pub audio_started_at: Option<DateTime<Utc>>,
    /// When it stored a diagnosis (`GET /api/v1/bots/{id}/diagnosis`).
    #[schema(required = true)]
    pub diagnosis_at: Option<DateTime<Utc>>,
    /// Its own webhook endpoint, when created with `webhook_url`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook: Option<BotWebhook>,
    /// Its tracks streaming into its destination as it records (empty without one).
    pub uploads: Vec<BotUpload>,
}

/// One track streaming into the bot's destination: an S3 multipart upload of the WAV it
/// becomes, part by part as it is captured; part 1 (with the header) goes when it ends.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BotUpload {
    /// The track; `*mixed` for the mixed recording (every track summed).
    pub track: String,
    #[schema(value_type = ids::DestinationId)]
    pub destination_id: meetvault_core::ids::DestinationId,
    /// The object's key in the bucket.
    pub key: String,
    /// `creating`, `open`, `completed` or `aborted` (its participant opted out, or it could not
    /// be finished and was uploaded whole).
    pub state: String,
    /// Parts in the bucket.
    pub parts: u32,
    /// Bytes in the bucket so far (parts 2 on while it records).
    pub bytes_sent: u64,
    /// The last failure talking to the bucket: the bot records on locally, and what is
    /// missing is sent when the meeting ends.
    #[schema(required = true)]
    pub error: Option<String>,
    #[schema(required = true)]
    pub error_at: Option<DateTime<Utc>>,
}

/// A bot's own webhook endpoint (see `/api/v1/webhooks`): its meeting's events.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BotWebhook {
    #[schema(value_type = ids::WebhookId)]
    pub id: meetvault_core::ids::WebhookId,
    /// `whsec_…`: in the creation answer only; verify this bot's deliveries with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl From<core::BotView> for Bot {
    fn from(v: core::BotView) -> Self {
        let o = v.options;
        Self {
            webhook: v.webhook.map(|w| BotWebhook {
                id: w.id,
                secret: w.secret.map(|s| s.to_string()),
            }),
            summary: v.summary.into(),
            meeting_url: v.meeting_url,
            bot_name: v.bot_name,
            metadata: v.metadata,
            platform: o.platform,
            transcription: BotTranscription {
                provider: o.provider,
                language: o.language,
            },
            recording: BotRecording {
                per_speaker: o.recording.per_speaker,
                mixed: o.recording.mixed,
                keep_local_copy: o.recording.keep_local_copy,
            },
            consent_message: o.consent_message,
            post_consent: o.post_consent,
            opt_out_phrase: o.opt_out_phrase,
            automatic_leave: o.automatic_leave.into(),
            transitions: v
                .transitions
                .into_iter()
                .map(|t| BotTransition {
                    from: t.from.map(core::BotState::as_str),
                    to: t.to.as_str(),
                    sub_code: t.sub_code,
                    at: t.at,
                })
                .collect(),
            participants: v
                .participants
                .into_iter()
                .map(|p| BotParticipant {
                    participant_id: p.participant_id,
                    name: p.name,
                    track: p.track,
                    joined_at: p.joined_at,
                    left_at: p.left_at,
                    opted_out_at: p.opted_out_at,
                })
                .collect(),
            chat: v
                .reports
                .chat
                .into_iter()
                .map(|c| BotChatMessage {
                    sender: c.sender,
                    sender_id: c.sender_id,
                    text: c.text,
                    at: c.at,
                })
                .collect(),
            tracks: v
                .reports
                .tracks
                .into_iter()
                .map(|t| BotTrack {
                    track: t.track,
                    participant_id: t.participant_id,
                    samples_expected: t.samples_expected,
                    samples_received: t.samples_received,
                    loss_percent: t.loss_percent,
                    ended_at: t.ended_at,
                    opted_out_at: t.opted_out_at,
                })
                .collect(),
            active_speakers: v
                .reports
                .active_speakers
                .into_iter()
                .map(|s| BotSpeakers {
                    participant_ids: s.participant_ids,
                    at: s.at,
                })
                .collect(),
            audio_started_at: v.audio_started_at,
            diagnosis_at: v.diagnosis_at,
            uploads: v
                .uploads
                .into_iter()
                .map(|u| BotUpload {
                    track: u.track,
                    destination_id: u.destination_id,
                    key: u.key,
                    state: u.state,
                    parts: u.parts,
                    bytes_sent: u.bytes_sent,
                    error: u.error,
                    error_at: u.error_at,
                })
                .collect(),
        }
    }
}

/// A page of bots, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BotPage {
    pub bots: Vec<BotSummary>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

impl From<core::BotPage> for BotPage {
    fn from(p: core::BotPage) -> Self {
        Self {
            bots: p.bots.into_iter().map(Into::into).collect(),
            next_cursor: p.next_cursor,
        }
    }
}

/// A message the bot posts in the meeting's chat.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BotChat {
    /// Up to 2000 characters.
    pub message: String,
}

// The internal protocol's bodies (not in the public document).

/// What the bot process is told: `GET /internal/v1/bots/{id}/spec`.
#[derive(Debug, Clone, Serialize)]
pub struct BotSpec {
    pub bot_id: BotId,
    pub meeting_url: String,
    pub bot_name: String,
    pub platform: String,
    /// `null`: post nothing.
    pub consent_message: Option<String>,
    pub opt_out_phrase: String,
    pub state: &'static str,
    pub recording: BotRecording,
    pub automatic_leave: AutomaticLeave,
    pub language: Option<String>,
    /// The platform's recipe (its JSON form); `null` if the platform's recipe is gone from
    /// this instance (the bot then ends with `platform_ui_changed`).
    pub recipe: Option<serde_json::Value>,
}

impl From<core::BotSpec> for BotSpec {
    fn from(s: core::BotSpec) -> Self {
        Self {
            bot_id: s.bot_id,
            meeting_url: s.meeting_url,
            bot_name: s.bot_name,
            platform: s.options.platform,
            consent_message: s.consent_message,
            opt_out_phrase: s.opt_out_phrase,
            state: s.state.as_str(),
            recording: BotRecording {
                per_speaker: s.options.recording.per_speaker,
                mixed: s.options.recording.mixed,
                keep_local_copy: s.options.recording.keep_local_copy,
            },
            automatic_leave: s.options.automatic_leave.into(),
            language: s.options.language,
            recipe: s.recipe,
        }
    }
}

/// `POST /internal/v1/bots/{id}/transitions`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportedTransition {
    pub state: String,
    #[serde(default)]
    pub sub_code: Option<String>,
    /// The bot's clock; the timeline records the server's time of receipt.
    #[serde(default)]
    pub at: Option<serde_json::Value>,
}

/// `POST /internal/v1/bots/{id}/events`: `meetvault_bot::BotEvent` as it serializes.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ReportedEvent {
    AudioClock {
        unix_ms: i64,
    },
    ParticipantJoined {
        id: String,
        name: String,
    },
    ParticipantLeft {
        id: String,
        name: String,
    },
    ChatMessage {
        id: String,
        sender: String,
        sender_id: Option<String>,
        text: String,
    },
    ActiveSpeakers {
        participant_ids: Vec<String>,
    },
    TrackMapped {
        track: String,
        participant_id: String,
    },
    TrackEnded {
        track: String,
        // Signed, so a negative count is refused by the domain, naming its field.
        samples_expected: i64,
        samples_received: i64,
    },
    ParticipantOptedOut {
        participant_id: String,
    },
    Diagnosis {
        reason: String,
        /// Base64.
        screenshot_png: String,
        dom_html: String,
    },
}

impl From<ReportedEvent> for core::BotEvent {
    fn from(e: ReportedEvent) -> Self {
        use ReportedEvent as R;
        match e {
            R::AudioClock { unix_ms } => Self::AudioClock { unix_ms },
            R::ParticipantJoined { id, name } => Self::ParticipantJoined { id, name },
            R::ParticipantLeft { id, name } => Self::ParticipantLeft { id, name },
            R::ChatMessage {
                id,
                sender,
                sender_id,
                text,
            } => Self::ChatMessage {
                id,
                sender,
                sender_id,
                text,
            },
            R::ActiveSpeakers { participant_ids } => Self::ActiveSpeakers { participant_ids },
            R::TrackMapped {
                track,
                participant_id,
            } => Self::TrackMapped {
                track,
                participant_id,
            },
            R::TrackEnded {
                track,
                samples_expected,
                samples_received,
            } => Self::TrackEnded {
                track,
                samples_expected,
                samples_received,
            },
            R::ParticipantOptedOut { participant_id } => {
                Self::ParticipantOptedOut { participant_id }
            }
            R::Diagnosis {
                reason,
                screenshot_png,
                dom_html,
            } => Self::Diagnosis {
                reason,
                screenshot_png,
                dom_html,
            },
        }
    }
}

/// `GET /internal/v1/bots/{id}/commands`: `{"commands": [{"type": "leave", …}]}`.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Command {
    Leave { sub_code: String },
    SendChat { text: String },
}

#[derive(Debug, Clone, Serialize)]
pub struct Commands {
    pub commands: Vec<Command>,
}

impl From<Vec<core::BotCommand>> for Commands {
    fn from(list: Vec<core::BotCommand>) -> Self {
        Self {
            commands: list
                .into_iter()
                .map(|c| match c {
                    core::BotCommand::Leave { sub_code } => Command::Leave { sub_code },
                    core::BotCommand::SendChat { text } => Command::SendChat { text },
                })
                .collect(),
        }
    }
}

/// A bot consent policy (the org's, or a workspace's): absent fields defer to the next level
/// (workspace → org → built-in default).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"message": "Acme records this call for notes. Type /optout to be left out.", "opt_out_phrase": "/optout", "required": true}))]
pub struct ConsentPolicy {
    /// Posted by every bot on admission, unless the bot was sent with its own.
    #[serde(default)]
    pub message: Option<String>,
    /// What a participant types (alone in a chat message) to be excluded; 2–64 characters.
    #[serde(default)]
    pub opt_out_phrase: Option<String>,
    /// Every bot must post the consent message: `post_consent: false` is refused.
    #[serde(default)]
    pub required: bool,
}

impl From<core::ConsentPolicy> for ConsentPolicy {
    fn from(p: core::ConsentPolicy) -> Self {
        Self {
            message: p.message,
            opt_out_phrase: p.opt_out_phrase,
            required: p.required,
        }
    }
}

impl From<ConsentPolicy> for core::ConsentPolicy {
    fn from(p: ConsentPolicy) -> Self {
        Self {
            message: p.message,
            opt_out_phrase: p.opt_out_phrase,
            required: p.required,
        }
    }
}
