//! Meetings on the wire: a meeting, a page of them, a new one, a change to one, and how it is
//! transcribed.

use chrono::{DateTime, Utc};
use meetvault_config::TranscriptionProvider;
use meetvault_core::ids::{MeetingId, UserId, WorkspaceId};
use meetvault_core::meetings as core;
use meetvault_core::transcription::Task;
use serde::{Deserialize, Serialize};
use url::Url;
use utoipa::ToSchema;

use super::ids;

/// Which engine transcribes: `local` (Whisper on this server), `openai` (any OpenAI-compatible
/// service) or `deepgram`.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[schema(as = TranscriptionProvider)]
#[serde(rename_all = "kebab-case")]
#[allow(dead_code)] // a schema only: the field keeps config's enum (a test keeps them equal)
pub enum ProviderSchema {
    Local,
    Openai,
    Deepgram,
}

/// What the local engine writes: `transcribe` (the spoken language) or `translate` (English).
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[schema(as = TranscriptionTask)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)] // a schema only: the field keeps the engine's enum (a test keeps them equal)
pub enum TaskSchema {
    Transcribe,
    Translate,
}

/// How a meeting is transcribed. Names the owner's stored secret holding a remote provider's
/// API key; never the key.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TranscriptionSettings {
    /// Unset: the server's `transcription.default_provider`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<ProviderSchema>)]
    pub provider: Option<TranscriptionProvider>,
    /// The remote model (`whisper-1`, `nova-2`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Local engine: 1 = greedy, up to 16 (beam search).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 16)]
    pub beam_size: Option<u32>,
    /// The remote service's base URL (required for `openai`; Deepgram's by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = "uri")]
    pub base_url: Option<Url>,
    /// The name of the meeting owner's secret (`PUT /api/v1/me/secrets/{name}`) holding the
    /// remote provider's API key. Only the owner may name one: the key is theirs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Set by the server: the user who named `secret` (always the meeting's owner).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<ids::UserId>, read_only)]
    pub configured_by: Option<UserId>,
    /// Local engine: `transcribe` (default) or `translate` into English (needs the
    /// multilingual model: `transcription.model = "base"` on the server).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<TaskSchema>)]
    pub task: Option<Task>,
    /// Local engine, when the meeting names no `language`: detect the language in every
    /// 30-second window instead of once per track (speakers who switch language).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multilingual: Option<bool>,
    /// Local engine: time every word (one more decoder pass per 30-s window); the transcript's
    /// segments then carry `words`, and SRT/WebVTT exports can be karaoke (`?karaoke=true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub word_timestamps: Option<bool>,
}

impl From<core::TranscriptionSettings> for TranscriptionSettings {
    fn from(t: core::TranscriptionSettings) -> Self {
        Self {
            provider: t.provider,
            model: t.model,
            beam_size: t.beam_size,
            base_url: t.base_url,
            secret: t.secret,
            configured_by: t.configured_by,
            task: t.task,
            multilingual: t.multilingual,
            word_timestamps: t.word_timestamps,
        }
    }
}

impl From<TranscriptionSettings> for core::TranscriptionSettings {
    fn from(t: TranscriptionSettings) -> Self {
        Self {
            provider: t.provider,
            model: t.model,
            beam_size: t.beam_size,
            base_url: t.base_url,
            secret: t.secret,
            configured_by: t.configured_by,
            task: t.task,
            multilingual: t.multilingual,
            word_timestamps: t.word_timestamps,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Participant {
    pub name: String,
    #[schema(required = true, format = Email)]
    pub email: Option<String>,
}

/// A meeting, decrypted.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "mtg_0192f1c4a6e87c3d9b5e2f1a0c4d6e8f",
    "workspace_id": "wsp_0192f1c4a6e87c3d9b5e2f1a0c4d6e8f",
    "owner_id": "usr_0192f1c4a6e87c3d9b5e2f1a0c4d6e8f",
    "title": "Standup",
    "participants": [{"name": "Alice", "email": "alice@example.com"}],
    "started_at": "2026-11-24T09:00:00Z",
    "language": "en",
    "transcription": {"provider": "local"},
    "intelligence": {"provider": null, "base_url": null, "model": null, "secret": null, "pii_redaction": null, "prompt": null, "redacted_transcripts": null, "configured_by": null},
    "created_at": "2026-11-24T08:55:12.123456Z",
    "updated_at": null
}))]
pub struct Meeting {
    #[schema(value_type = ids::MeetingId)]
    pub id: MeetingId,
    #[schema(value_type = ids::WorkspaceId)]
    pub workspace_id: WorkspaceId,
    #[schema(value_type = ids::UserId)]
    pub owner_id: UserId,
    pub title: String,
    pub participants: Vec<Participant>,
    #[schema(required = true)]
    pub started_at: Option<DateTime<Utc>>,
    /// A Whisper language code (`en`), or null to detect it.
    #[schema(required = true)]
    pub language: Option<String>,
    pub transcription: TranscriptionSettings,
    /// The meeting's own intelligence settings (null fields inherit its workspace's and
    /// org's).
    pub intelligence: crate::wire::intel::IntelligenceSettings,
    /// Names and jargon the transcriber is prompted with (stored encrypted); null: none.
    #[schema(required = true)]
    pub glossary: Option<String>,
    /// The widget whose visitor submitted it (null for any other meeting).
    #[schema(required = true)]
    pub widget: Option<crate::wire::widgets::MeetingWidget>,
    pub created_at: DateTime<Utc>,
    #[schema(required = true)]
    pub updated_at: Option<DateTime<Utc>>,
}

impl From<core::MeetingView> for Meeting {
    fn from(m: core::MeetingView) -> Self {
        Self {
            id: m.id,
            workspace_id: m.workspace_id,
            owner_id: m.owner_id,
            title: m.title,
            participants: m
                .participants
                .into_iter()
                .map(|p| Participant {
                    name: p.name,
                    email: p.email,
                })
                .collect(),
            started_at: m.started_at,
            language: m.language,
            transcription: m.transcription.into(),
            intelligence: m.intelligence.into(),
            glossary: m.glossary,
            widget: m.widget.map(Into::into),
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// One row of a meeting list. `title` is null (and `locked` true) when the meeting belongs to a
/// zero-access user who is not logged in.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MeetingSummary {
    #[schema(value_type = ids::MeetingId)]
    pub id: MeetingId,
    #[schema(value_type = ids::WorkspaceId)]
    pub workspace_id: WorkspaceId,
    #[schema(value_type = ids::UserId)]
    pub owner_id: UserId,
    #[schema(required = true)]
    pub title: Option<String>,
    pub locked: bool,
    #[schema(required = true)]
    pub started_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub language: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A page of meetings, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MeetingPage {
    pub meetings: Vec<MeetingSummary>,
    /// Pass as `cursor` for the next page; null on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

impl From<core::MeetingPage> for MeetingPage {
    fn from(p: core::MeetingPage) -> Self {
        Self {
            meetings: p
                .meetings
                .into_iter()
                .map(|m| MeetingSummary {
                    id: m.id,
                    workspace_id: m.workspace_id,
                    owner_id: m.owner_id,
                    title: m.title,
                    locked: m.locked,
                    started_at: m.started_at,
                    language: m.language,
                    created_at: m.created_at,
                })
                .collect(),
            next_cursor: p.next_cursor,
        }
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewParticipant {
    pub name: String,
    #[serde(default)]
    #[schema(format = Email)]
    pub email: Option<String>,
}

impl From<NewParticipant> for core::NewParticipant {
    fn from(p: NewParticipant) -> Self {
        Self {
            name: p.name,
            email: p.email,
        }
    }
}

/// A new meeting; its title and participants are encrypted under a new meeting key.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"title": "Standup", "language": "en", "participants": [{"name": "Alice"}]}))]
pub struct NewMeeting {
    pub title: String,
    /// The org's first workspace when absent.
    #[serde(default)]
    #[schema(value_type = Option<ids::WorkspaceId>)]
    pub workspace_id: Option<WorkspaceId>,
    #[serde(default)]
    pub participants: Vec<NewParticipant>,
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    /// A Whisper language code (`en`); absent: detected.
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub transcription: TranscriptionSettings,
    /// Its own intelligence settings (provider, prompt template, PII redaction); absent
    /// fields inherit its workspace's and org's. A secret named must be the caller's.
    #[serde(default)]
    pub intelligence: Option<crate::wire::intel::IntelligenceSettings>,
    /// Names and jargon to spell the meeting's way ("Anja Schröder, meetvault, SIEM"): the
    /// transcriber is prompted with them after the org's glossary. Stored encrypted; at most
    /// 1000 characters and one prompt window of the model's tokens.
    #[serde(default)]
    pub glossary: Option<String>,
}

impl From<NewMeeting> for core::NewMeeting {
    fn from(m: NewMeeting) -> Self {
        Self {
            title: m.title,
            workspace_id: m.workspace_id,
            participants: m.participants.into_iter().map(Into::into).collect(),
            started_at: m.started_at,
            language: m.language,
            transcription: m.transcription.into(),
            intelligence: m.intelligence.map(Into::into),
            glossary: m.glossary,
        }
    }
}

/// A partial update: absent fields stay, `null` clears `started_at`, `language` and `glossary`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeetingPatch {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<ids::WorkspaceId>)]
    pub workspace_id: Option<WorkspaceId>,
    /// Replaces the whole list.
    #[serde(default)]
    pub participants: Option<Vec<NewParticipant>>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub started_at: Option<Option<DateTime<Utc>>>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>)]
    pub language: Option<Option<String>>,
    #[serde(default)]
    pub transcription: Option<TranscriptionSettings>,
    /// Replaces its own intelligence settings (all null: inherit again); only its owner may
    /// name a secret.
    #[serde(default)]
    pub intelligence: Option<crate::wire::intel::IntelligenceSettings>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>)]
    pub glossary: Option<Option<String>>,
}

impl From<MeetingPatch> for core::MeetingPatch {
    fn from(p: MeetingPatch) -> Self {
        Self {
            title: p.title,
            workspace_id: p.workspace_id,
            participants: p
                .participants
                .map(|ps| ps.into_iter().map(Into::into).collect()),
            started_at: p.started_at,
            language: p.language,
            transcription: p.transcription.map(Into::into),
            intelligence: p.intelligence.map(Into::into),
            glossary: p.glossary,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_provider_schema_names_what_config_accepts() {
        for (schema, config) in [
            (ProviderSchema::Local, TranscriptionProvider::Local),
            (ProviderSchema::Openai, TranscriptionProvider::Openai),
            (ProviderSchema::Deepgram, TranscriptionProvider::Deepgram),
        ] {
            assert_eq!(
                serde_json::to_value(schema).unwrap(),
                serde_json::to_value(config).unwrap()
            );
        }
    }

    #[test]
    fn the_task_schema_names_what_the_engine_accepts() {
        for (schema, task) in [
            (TaskSchema::Transcribe, Task::Transcribe),
            (TaskSchema::Translate, Task::Translate),
        ] {
            assert_eq!(
                serde_json::to_value(schema).unwrap(),
                serde_json::to_value(task).unwrap()
            );
        }
    }
}
