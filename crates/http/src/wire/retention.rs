//! Retention policies and a meeting's retention schedule as the API shows them. A window is a
//! number of days (`0`: deleted as soon as the part is processed) or `"forever"`.

use chrono::{DateTime, Utc};
use meetvault_config::Window;
use meetvault_core::retention::{self as core, MeetingRetention, RetentionView};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ids;

/// A number of days (0–36500; `0` deletes as soon as the part is processed and delivered) or
/// `"forever"`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)] // a schema only
pub enum RetentionWindow {
    Days(u32),
    /// `"forever"`
    Forever(String),
}

/// A window per part; an absent part inherits from the level above (workspace → org →
/// the operator's default).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionWindows {
    /// Recordings (audio), from their transcription (and delivery, where a destination waits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<RetentionWindow>)]
    pub recordings: Option<Window>,
    /// Transcripts, from the last transcription.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<RetentionWindow>)]
    pub transcripts: Option<Window>,
    /// Bot data (the bot, its timeline, participant events, chat), from the bot's end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<RetentionWindow>)]
    pub bot_data: Option<Window>,
}

impl From<RetentionWindows> for core::Windows {
    fn from(w: RetentionWindows) -> Self {
        Self {
            recordings: w.recordings,
            transcripts: w.transcripts,
            bot_data: w.bot_data,
        }
    }
}

impl From<core::Windows> for RetentionWindows {
    fn from(w: core::Windows) -> Self {
        Self {
            recordings: w.recordings,
            transcripts: w.transcripts,
            bot_data: w.bot_data,
        }
    }
}

/// A retention policy: the org's (windows, the event outbox's, the maxima below it) or, with
/// `?workspace_id=`, a workspace's (windows only).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"recordings": 0, "transcripts": 30, "bot_data": 90, "events": 7, "max": {"transcripts": 365}}))]
pub struct RetentionPolicy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<RetentionWindow>)]
    pub recordings: Option<Window>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<RetentionWindow>)]
    pub transcripts: Option<Window>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<RetentionWindow>)]
    pub bot_data: Option<Window>,
    /// The event outbox (the org only): at least 1 day, since webhooks are delivered from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<RetentionWindow>)]
    pub events: Option<Window>,
    /// The org only: what no workspace, bot or the org itself may exceed.
    #[serde(default)]
    pub max: RetentionWindows,
}

impl From<RetentionPolicy> for core::OrgPolicy {
    fn from(p: RetentionPolicy) -> Self {
        Self {
            recordings: p.recordings,
            transcripts: p.transcripts,
            bot_data: p.bot_data,
            events: p.events,
            max: p.max.into(),
        }
    }
}

impl From<core::OrgPolicy> for RetentionPolicy {
    fn from(p: core::OrgPolicy) -> Self {
        Self {
            recordings: p.recordings,
            transcripts: p.transcripts,
            bot_data: p.bot_data,
            events: p.events,
            max: p.max.into(),
        }
    }
}

/// A window in force and where it comes from: `default` (the operator's), `org`,
/// `workspace`, `meeting` (its bot's), or `org_maximum` (a level asked for more).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EffectiveWindow {
    #[schema(value_type = RetentionWindow)]
    pub window: Window,
    pub source: &'static str,
}

impl From<core::Effective> for EffectiveWindow {
    fn from(e: core::Effective) -> Self {
        Self {
            window: e.window,
            source: e.source.as_str(),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EffectiveWindows {
    pub recordings: EffectiveWindow,
    pub transcripts: EffectiveWindow,
    pub bot_data: EffectiveWindow,
    /// The event outbox's window.
    #[schema(value_type = RetentionWindow)]
    pub events: Window,
}

/// A workspace's own windows.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WorkspaceRetention {
    #[schema(value_type = ids::WorkspaceId)]
    pub workspace_id: meetvault_core::ids::WorkspaceId,
    pub windows: RetentionWindows,
}

/// The org's policy (and a workspace's), the operator's defaults, and what is in force for a
/// meeting with no windows of its own.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Retention {
    pub org: RetentionPolicy,
    pub workspace: Option<WorkspaceRetention>,
    pub defaults: RetentionWindows,
    pub effective: EffectiveWindows,
}

impl From<RetentionView> for Retention {
    fn from(v: RetentionView) -> Self {
        Self {
            org: v.org.into(),
            workspace: v.workspace.map(|(id, w)| WorkspaceRetention {
                workspace_id: id,
                windows: w.into(),
            }),
            defaults: RetentionWindows {
                recordings: Some(v.defaults.recordings),
                transcripts: Some(v.defaults.transcripts),
                bot_data: Some(v.defaults.bot_data),
            },
            effective: EffectiveWindows {
                recordings: v.effective.recordings.into(),
                transcripts: v.effective.transcripts.into(),
                bot_data: v.effective.bot_data.into(),
                events: v.events,
            },
        }
    }
}

/// When one part of a meeting is (or was) deleted.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PartRetention {
    /// `recordings`, `transcripts` or `bot_data`.
    pub part: &'static str,
    #[schema(value_type = RetentionWindow)]
    pub window: Window,
    pub source: &'static str,
    /// Whether the meeting holds anything of this part now.
    pub held: bool,
    /// When the sweeper deletes it (at its first pass after this time); absent when kept
    /// forever, when nothing is held, or while it waits.
    pub delete_at: Option<DateTime<Utc>>,
    /// What the window waits for before it starts: `transcription`, `delivery`, `the bot's
    /// end`.
    pub waiting: Option<&'static str>,
    /// When retention last deleted this part, and its certificate.
    pub deleted_at: Option<DateTime<Utc>>,
    #[schema(value_type = Option<ids::CertificateId>)]
    pub certificate_id: Option<meetvault_core::ids::CertificateId>,
}

/// A meeting's retention: its own windows (its bot's) and each part's schedule.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MeetingRetentionBody {
    #[schema(value_type = ids::MeetingId)]
    pub meeting_id: meetvault_core::ids::MeetingId,
    pub own: RetentionWindows,
    pub parts: Vec<PartRetention>,
}

impl From<MeetingRetention> for MeetingRetentionBody {
    fn from(m: MeetingRetention) -> Self {
        Self {
            meeting_id: m.meeting_id,
            own: m.own.into(),
            parts: m
                .parts
                .into_iter()
                .map(|p| PartRetention {
                    part: core::field(p.part),
                    window: p.window,
                    source: p.source.as_str(),
                    held: p.held,
                    delete_at: p.delete_at,
                    waiting: p.waiting,
                    deleted_at: p.deleted_at,
                    certificate_id: p.certificate_id,
                })
                .collect(),
        }
    }
}
