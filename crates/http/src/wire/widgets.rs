//! Voice-intake widgets on the wire: what their admins send and see (`/api/v1/widgets`), and
//! what a visitor's browser sends and sees (`/widget/v1/…`).

use chrono::{DateTime, Utc};
use meetvault_core::ids::{WidgetId, WorkspaceId};
use meetvault_core::widgets::{
    self as core, LiveTranscript, OnSubmit, PublicWidget, SessionOpened, VisitorView, WidgetSource,
    WidgetView, WidgetWithSecret,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::ids;
use super::list_of;
use super::retention::RetentionWindows;

/// What follows a submission's transcript.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WidgetOnSubmit {
    /// The transcript only (its events reach webhooks as any meeting's do).
    Transcript,
    /// A summary too (and what follows one: integrations listening to the workspace).
    Summary,
}

impl From<WidgetOnSubmit> for OnSubmit {
    fn from(o: WidgetOnSubmit) -> Self {
        match o {
            WidgetOnSubmit::Transcript => Self::Transcript,
            WidgetOnSubmit::Summary => Self::Summary,
        }
    }
}

impl From<OnSubmit> for WidgetOnSubmit {
    fn from(o: OnSubmit) -> Self {
        match o {
            OnSubmit::Transcript => Self::Transcript,
            OnSubmit::Summary => Self::Summary,
        }
    }
}

/// A new widget.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Support line", "allowed_origins": ["https://www.example.com"], "greeting": "Tell us what happened", "privacy_url": "https://www.example.com/privacy", "max_seconds": 180}))]
pub struct NewWidget {
    /// 1–100 characters; it titles the meetings its submissions become.
    pub name: String,
    /// Where submissions become meetings; default: the org's first workspace.
    #[serde(default)]
    #[schema(value_type = Option<ids::WorkspaceId>)]
    pub workspace_id: Option<WorkspaceId>,
    /// 1–20 exact origins allowed to embed it (`https://www.example.com`; `http` only for
    /// `localhost` and loopback addresses).
    pub allowed_origins: Vec<String>,
    /// The widget's heading (default "Leave us a voice message"); ≤ 200 characters.
    #[serde(default)]
    pub greeting: Option<String>,
    /// What the visitor is asked (≤ 1000 characters).
    #[serde(default)]
    pub prompt: Option<String>,
    /// Shown before the microphone is asked for (≤ 1000 characters).
    #[serde(default)]
    pub consent_text: Option<String>,
    /// Your privacy notice, linked beside the consent text (https).
    #[serde(default)]
    pub privacy_url: Option<String>,
    /// The longest recording, 1 to `widgets.max_seconds` (default 120).
    #[serde(default)]
    pub max_seconds: Option<u32>,
    #[serde(default)]
    pub on_submit: Option<WidgetOnSubmit>,
    /// Refuse visitors without a valid signed visitor token (default false).
    #[serde(default)]
    pub require_identity: Option<bool>,
    /// Show the visitor the transcript while they talk (default false).
    #[serde(default)]
    pub live_transcript: Option<bool>,
    /// The submissions' retention (none: the workspace's policy).
    #[serde(default)]
    pub retention: RetentionWindows,
    #[serde(default)]
    pub enabled: Option<bool>,
}

impl From<NewWidget> for core::NewWidget {
    fn from(n: NewWidget) -> Self {
        Self {
            name: n.name,
            workspace_id: n.workspace_id,
            allowed_origins: n.allowed_origins,
            greeting: n.greeting,
            prompt: n.prompt,
            consent_text: n.consent_text,
            privacy_url: n.privacy_url,
            max_seconds: n.max_seconds,
            on_submit: n.on_submit.map(Into::into),
            require_identity: n.require_identity,
            live_transcript: n.live_transcript,
            retention: n.retention.into(),
            enabled: n.enabled,
        }
    }
}

/// A change to a widget: absent fields stay; `prompt` and `privacy_url` take `null` to clear.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WidgetPatch {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<ids::WorkspaceId>)]
    pub workspace_id: Option<WorkspaceId>,
    /// Replaces the whole list.
    #[serde(default)]
    pub allowed_origins: Option<Vec<String>>,
    #[serde(default)]
    pub greeting: Option<String>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>)]
    pub prompt: Option<Option<String>>,
    #[serde(default)]
    pub consent_text: Option<String>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>)]
    pub privacy_url: Option<Option<String>>,
    #[serde(default)]
    pub max_seconds: Option<u32>,
    #[serde(default)]
    pub on_submit: Option<WidgetOnSubmit>,
    #[serde(default)]
    pub require_identity: Option<bool>,
    /// Show the visitor the transcript while they talk (default false).
    #[serde(default)]
    pub live_transcript: Option<bool>,
    /// Replaces the windows (for submissions from now on).
    #[serde(default)]
    pub retention: Option<RetentionWindows>,
    #[serde(default)]
    pub enabled: Option<bool>,
}

impl From<WidgetPatch> for core::WidgetPatch {
    fn from(p: WidgetPatch) -> Self {
        Self {
            name: p.name,
            workspace_id: p.workspace_id,
            allowed_origins: p.allowed_origins,
            greeting: p.greeting,
            prompt: p.prompt,
            consent_text: p.consent_text,
            privacy_url: p.privacy_url,
            max_seconds: p.max_seconds,
            on_submit: p.on_submit.map(Into::into),
            require_identity: p.require_identity,
            live_transcript: p.live_transcript,
            retention: p.retention.map(Into::into),
            enabled: p.enabled,
        }
    }
}

/// A widget (never its secret).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Widget {
    #[schema(value_type = ids::WidgetId)]
    pub id: WidgetId,
    pub name: String,
    #[schema(value_type = ids::WorkspaceId)]
    pub workspace_id: WorkspaceId,
    pub allowed_origins: Vec<String>,
    pub greeting: String,
    #[schema(required = true)]
    pub prompt: Option<String>,
    pub consent_text: String,
    #[schema(required = true)]
    pub privacy_url: Option<String>,
    pub max_seconds: u32,
    pub on_submit: WidgetOnSubmit,
    pub require_identity: bool,
    pub live_transcript: bool,
    pub retention: RetentionWindows,
    pub enabled: bool,
    /// The `<script>` tag to paste into your page; null until the operator sets
    /// `server.public_url` (the page loads the script from there).
    #[schema(required = true)]
    pub snippet: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<WidgetView> for Widget {
    fn from(w: WidgetView) -> Self {
        Self {
            id: w.id,
            name: w.name,
            workspace_id: w.workspace_id,
            allowed_origins: w.allowed_origins,
            greeting: w.settings.greeting,
            prompt: w.settings.prompt,
            consent_text: w.settings.consent_text,
            privacy_url: w.settings.privacy_url.map(String::from),
            max_seconds: w.settings.max_seconds,
            on_submit: w.settings.on_submit.into(),
            require_identity: w.settings.require_identity,
            live_transcript: w.settings.live_transcript,
            retention: w.retention.into(),
            enabled: w.enabled,
            snippet: w.snippet,
            created_at: w.created_at,
            updated_at: w.updated_at,
        }
    }
}

/// A widget with its signing secret, shown this once: the HS256 key your site signs visitor
/// tokens with (`aud` = the widget's id).
#[derive(Clone, Serialize, ToSchema)]
pub struct WidgetCreated {
    pub widget: Widget,
    /// `mvw_…`: keep it on your server; it is not shown again.
    pub secret: String,
}

impl From<WidgetWithSecret> for WidgetCreated {
    fn from(w: WidgetWithSecret) -> Self {
        Self {
            widget: w.widget.into(),
            secret: w.secret.to_string(),
        }
    }
}

list_of!(
    /// The org's widgets.
    WidgetList { widgets: Vec<Widget> } from WidgetView
);

/// A visitor identity the widget's signing secret proved.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WidgetVisitor {
    /// The token's `sub`: your id for the visitor.
    pub sub: String,
    #[schema(required = true)]
    pub email: Option<String>,
    #[schema(required = true)]
    pub name: Option<String>,
    pub verified_at: DateTime<Utc>,
}

impl From<VisitorView> for WidgetVisitor {
    fn from(v: VisitorView) -> Self {
        Self {
            sub: v.sub,
            email: v.email,
            name: v.name,
            verified_at: DateTime::from_timestamp_millis(v.verified_at).unwrap_or_default(),
        }
    }
}

/// Where a meeting came from when a widget's visitor submitted it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MeetingWidget {
    /// The widget (which may since have been deleted).
    #[schema(value_type = Option<ids::WidgetId>, required = true)]
    pub widget_id: Option<WidgetId>,
    /// Null when the visitor gave no signed identity (nothing unverified is ever stored).
    #[schema(required = true)]
    pub visitor: Option<WidgetVisitor>,
}

impl From<WidgetSource> for MeetingWidget {
    fn from(s: WidgetSource) -> Self {
        Self {
            widget_id: s.widget_id,
            visitor: s.visitor.map(Into::into),
        }
    }
}

/// What the embedded widget shows.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WidgetConfig {
    #[schema(value_type = ids::WidgetId)]
    pub id: WidgetId,
    pub greeting: String,
    #[schema(required = true)]
    pub prompt: Option<String>,
    pub consent_text: String,
    #[schema(required = true)]
    pub privacy_url: Option<String>,
    pub max_seconds: u32,
    pub max_chunk_bytes: u64,
    pub require_identity: bool,
    pub live_transcript: bool,
}

impl From<PublicWidget> for WidgetConfig {
    fn from(p: PublicWidget) -> Self {
        Self {
            id: p.id,
            greeting: p.greeting,
            prompt: p.prompt,
            consent_text: p.consent_text,
            privacy_url: p.privacy_url.map(String::from),
            max_seconds: p.max_seconds,
            max_chunk_bytes: p.max_chunk_bytes,
            require_identity: p.require_identity,
            live_transcript: p.live_transcript,
        }
    }
}

/// A visitor's new session.
#[derive(Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWidgetSession {
    /// An HS256 JWT your site signed with the widget's secret: `sub` (required), `email`,
    /// `name`, `aud` = the widget's id, `exp` at most one hour ahead. Only what it proves is
    /// kept with the submission.
    #[serde(default)]
    pub visitor_token: Option<String>,
}

/// A session, for the visitor's browser only.
#[derive(Clone, Serialize, ToSchema)]
pub struct WidgetSessionCreated {
    /// `mvv_…`: `Authorization: Bearer` for the chunks and the submission.
    pub session_token: String,
    pub expires_at: DateTime<Utc>,
    pub max_seconds: u32,
    pub max_chunk_bytes: u64,
    /// Whether a visitor token was given and verified.
    pub identified: bool,
    /// Whether `GET …/live` shows the transcript while the visitor talks (the widget has
    /// `live_transcript` on and the server a live transcriber free).
    pub live: bool,
}

impl From<SessionOpened> for WidgetSessionCreated {
    fn from(s: SessionOpened) -> Self {
        Self {
            session_token: s.token.to_string(),
            expires_at: s.expires_at,
            max_seconds: s.max_seconds,
            max_chunk_bytes: s.max_chunk_bytes,
            identified: s.identified,
            live: s.live,
        }
    }
}

/// A chunk was stored.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WidgetChunkAccepted {
    /// The position the next chunk goes to.
    pub next_seq: u32,
}

/// The recording was received; it is transcribed privately.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WidgetSubmitted {
    /// `received`.
    pub status: &'static str,
}

/// Which live lines to read.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LiveQuery {
    /// Lines already seen (the last answer's `next`); default 0.
    #[serde(default)]
    pub after: Option<usize>,
}

/// A line the visitor said, as transcribed live: ms from the recording's start.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WidgetLiveLine {
    pub start_ms: i64,
    pub end_ms: i64,
    pub text: String,
}

/// The live transcript of a session's recording, so far.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WidgetLiveTranscript {
    /// False when this server does not transcribe the session live (the widget does not ask
    /// for it, every live transcriber was busy, or the session was opened on another
    /// instance): the transcript is then only in the meeting.
    pub live: bool,
    /// The lines after `after`, in order (a line, once given, never changes).
    pub lines: Vec<WidgetLiveLine>,
    /// The next poll's `after`.
    pub next: usize,
    /// The recording was submitted and all of it transcribed: nothing more will come.
    pub done: bool,
}

impl From<LiveTranscript> for WidgetLiveTranscript {
    fn from(t: LiveTranscript) -> Self {
        Self {
            live: t.live,
            lines: t
                .lines
                .into_iter()
                .map(|l| WidgetLiveLine {
                    start_ms: l.start_ms,
                    end_ms: l.end_ms,
                    text: l.text,
                })
                .collect(),
            next: t.next,
            done: t.done,
        }
    }
}

impl std::fmt::Debug for WidgetCreated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WidgetCreated([redacted])")
    }
}

impl std::fmt::Debug for NewWidgetSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewWidgetSession([redacted])")
    }
}

impl std::fmt::Debug for WidgetSessionCreated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WidgetSessionCreated([redacted])")
    }
}
