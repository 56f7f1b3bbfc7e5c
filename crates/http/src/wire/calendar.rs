//! Calendar bodies: providers, connections, rules, events and per-event choices.

use chrono::{DateTime, Utc};
use meetvault_core::calendar::{
    CalendarProviderView, ConnectionView, EventChoice, EventView, JoinMode, UserRules,
    WorkspaceRules,
};
use meetvault_core::ids::{BotId, CalendarId, WorkspaceId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A calendar provider people may connect.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CalendarProvider {
    /// `google` or `microsoft`.
    pub provider: String,
    /// The OAuth scopes asked for (read-only calendar access).
    pub scopes: String,
}

impl From<CalendarProviderView> for CalendarProvider {
    fn from(p: CalendarProviderView) -> Self {
        Self {
            provider: meetvault_core::calendar::provider_name(p.provider).to_owned(),
            scopes: p.scopes.to_owned(),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CalendarProviderList {
    pub data: Vec<CalendarProvider>,
}

/// Connect a calendar: answers the provider's consent page to send the browser to.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCalendarConnection {
    /// `google` or `microsoft`.
    pub provider: String,
    /// The workspace its bots go to (default: your default workspace).
    #[schema(value_type = Option<crate::wire::ids::WorkspaceId>)]
    pub workspace_id: Option<WorkspaceId>,
    /// A path on this site the browser returns to once connected (default `/`).
    pub return_to: Option<String>,
}

/// Where to send the browser to connect (the connect cookie is set with it).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CalendarConnectStart {
    pub authorization_url: String,
}

/// A connected calendar (its tokens never leave the server).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CalendarConnection {
    #[schema(value_type = crate::wire::ids::CalendarId)]
    pub id: CalendarId,
    pub provider: String,
    #[schema(value_type = crate::wire::ids::WorkspaceId)]
    pub workspace_id: WorkspaceId,
    /// `active`, or `revoked` (access withdrawn at the provider: connect again).
    pub status: String,
    /// The last sync's failure: `unreachable`, `rate_limited`, `locked`, `provider_error`, ….
    pub error: Option<String>,
    pub last_sync_at: Option<DateTime<Utc>>,
    pub next_sync_at: DateTime<Utc>,
    /// Whether the provider notifies meetvault of changes (else it polls).
    pub push: bool,
    pub created_at: DateTime<Utc>,
}

impl From<ConnectionView> for CalendarConnection {
    fn from(c: ConnectionView) -> Self {
        Self {
            id: c.id,
            provider: meetvault_core::calendar::provider_name(c.provider).to_owned(),
            workspace_id: c.workspace_id,
            status: c.status,
            error: c.error,
            last_sync_at: c.last_sync_at,
            next_sync_at: c.next_sync_at,
            push: c.push,
            created_at: c.created_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CalendarConnectionList {
    pub data: Vec<CalendarConnection>,
}

/// Which meetings: `all` (with a Meet, Zoom or Teams link), `only_organizer`, `only_external`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CalendarJoinMode {
    All,
    OnlyOrganizer,
    OnlyExternal,
}

impl From<CalendarJoinMode> for JoinMode {
    fn from(m: CalendarJoinMode) -> Self {
        match m {
            CalendarJoinMode::All => Self::All,
            CalendarJoinMode::OnlyOrganizer => Self::OnlyOrganizer,
            CalendarJoinMode::OnlyExternal => Self::OnlyExternal,
        }
    }
}

impl From<JoinMode> for CalendarJoinMode {
    fn from(m: JoinMode) -> Self {
        match m {
            JoinMode::All => Self::All,
            JoinMode::OnlyOrganizer => Self::OnlyOrganizer,
            JoinMode::OnlyExternal => Self::OnlyExternal,
        }
    }
}

/// Your auto-join rules.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarRules {
    /// Whether your calendars send bots at all (an event you marked `always` still gets one).
    #[serde(default = "yes")]
    pub auto_join: bool,
    /// Which meetings; unset: your workspace's rule.
    #[serde(default)]
    pub mode: Option<CalendarJoinMode>,
    /// Never a meeting whose title contains one of these (case-insensitive).
    #[serde(default)]
    pub never_keywords: Vec<String>,
    /// Never a meeting with someone from one of these domains (or their subdomains).
    #[serde(default)]
    pub never_domains: Vec<String>,
}

fn yes() -> bool {
    true
}

impl From<CalendarRules> for UserRules {
    fn from(r: CalendarRules) -> Self {
        Self {
            auto_join: r.auto_join,
            mode: r.mode.map(Into::into),
            never_keywords: r.never_keywords,
            never_domains: r.never_domains,
        }
    }
}

impl From<UserRules> for CalendarRules {
    fn from(r: UserRules) -> Self {
        Self {
            auto_join: r.auto_join,
            mode: r.mode.map(Into::into),
            never_keywords: r.never_keywords,
            never_domains: r.never_domains,
        }
    }
}

/// A workspace's rules: the default for its members' calendars, and exclusions no member
/// lifts.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarWorkspaceRules {
    #[serde(default = "all")]
    pub mode: CalendarJoinMode,
    #[serde(default)]
    pub never_keywords: Vec<String>,
    #[serde(default)]
    pub never_domains: Vec<String>,
}

fn all() -> CalendarJoinMode {
    CalendarJoinMode::All
}

impl From<CalendarWorkspaceRules> for WorkspaceRules {
    fn from(r: CalendarWorkspaceRules) -> Self {
        Self {
            mode: r.mode.into(),
            never_keywords: r.never_keywords,
            never_domains: r.never_domains,
        }
    }
}

impl From<WorkspaceRules> for CalendarWorkspaceRules {
    fn from(r: WorkspaceRules) -> Self {
        Self {
            mode: r.mode.into(),
            never_keywords: r.never_keywords,
            never_domains: r.never_domains,
        }
    }
}

/// `always` or `never`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CalendarChoice {
    Always,
    Never,
}

impl From<CalendarChoice> for EventChoice {
    fn from(c: CalendarChoice) -> Self {
        match c {
            CalendarChoice::Always => Self::Always,
            CalendarChoice::Never => Self::Never,
        }
    }
}

impl From<EventChoice> for CalendarChoice {
    fn from(c: EventChoice) -> Self {
        match c {
            EventChoice::Always => Self::Always,
            EventChoice::Never => Self::Never,
        }
    }
}

/// Your choice for one event; `null` clears it (the rules decide again).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarEventChoiceBody {
    pub choice: Option<CalendarChoice>,
}

/// An event of your calendars, and what meetvault does about it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CalendarEvent {
    #[schema(value_type = crate::wire::ids::CalendarId)]
    pub connection_id: CalendarId,
    pub event_id: String,
    pub title: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// `google_meet`, `zoom` or `teams`, when it has a link a bot can join.
    pub platform: Option<String>,
    /// Whether a bot records it.
    pub record: bool,
    /// Why: `matched`, `override_always`, `override_never`, `declined`, `cancelled`,
    /// `no_conference_link`, `all_day`, `keyword_excluded`, `domain_excluded`,
    /// `not_organizer`, `no_external_attendee`, `auto_join_off`, `ended`.
    pub reason: String,
    pub choice: Option<CalendarChoice>,
    /// The bot scheduled for it (one per meeting, shared with colleagues invited to it).
    #[schema(value_type = Option<crate::wire::ids::BotId>)]
    pub bot_id: Option<BotId>,
}

impl From<EventView> for CalendarEvent {
    fn from(e: EventView) -> Self {
        Self {
            connection_id: e.connection_id,
            event_id: e.event_id,
            title: e.title,
            start: e.start,
            end: e.end,
            platform: e.platform,
            record: e.record,
            reason: e.reason,
            choice: e.choice.map(Into::into),
            bot_id: e.bot_id,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CalendarEventList {
    pub data: Vec<CalendarEvent>,
}
