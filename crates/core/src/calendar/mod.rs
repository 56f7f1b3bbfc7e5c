//! Calendars (`core.calendars()`): a person connects their Google or Microsoft 365 calendar
//! (OAuth through a backend redirect with a browser-bound signed state and PKCE; the client
//! secret never leaves the server), meetvault reads its events (`sync.rs`: incremental, with
//! push notifications where configured, `push.rs`) and schedules a bot for each meeting the
//! rules select (`schedule.rs`: one bot per meeting and workspace, moved or cancelled with the
//! event). The protocol is `meetvault-calendar`'s; this module stores and decides.
//!
//! Tokens and sync cursors are sealed under the person's own key, events too (only the fields
//! the trust page lists). A connection acts in the background as a credential of its own
//! (`Credential::Calendar`): its person's permissions, capped to sending bots into its
//! workspace, re-checked on every sync — a person who loses the right to send bots, or leaves,
//! stops sending them.

mod connect;
pub(crate) mod net;
mod push;
mod schedule;
mod sync;

use chrono::{DateTime, TimeZone, Utc};
use meetvault_calendar::{Mode, ProviderKind, oauth};
use meetvault_oidc::SecretString;
use meetvault_store::calendar::CalendarConnectionRow;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::access::proof::BotsWrite;
use crate::access::{Credential, Permission, Permissions, Principal, RequestMeta, Scope};
use crate::audit::{AuditAction, Event};
use crate::ids::{BotId, CalendarId, WorkspaceId};
use crate::{Core, CoreError};

pub use push::GraphPushReply;
pub(crate) use sync::SyncHandler;

/// The job kind that syncs one connection.
pub(crate) const SYNC_JOB: &str = "calendar.sync";

/// How long a connect may take, from the redirect to the callback.
const CONNECT_TTL_SECS: u64 = 600;

/// A provider people may connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarProviderView {
    pub provider: ProviderKind,
    /// The scopes asked for, as the consent screen shows them.
    pub scopes: &'static str,
}

/// A started connect: send the browser to `url` and set `browser_secret` as its cookie.
#[derive(Debug)]
pub struct ConnectStart {
    pub url: String,
    pub browser_secret: SecretString,
}

/// A connection as its person sees it (never its tokens).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionView {
    pub id: CalendarId,
    pub provider: ProviderKind,
    pub workspace_id: WorkspaceId,
    /// `active`, or `revoked` (the person withdrew access at the provider: connect again).
    pub status: String,
    /// The last sync's failure, as a short code.
    pub error: Option<String>,
    pub last_sync_at: Option<DateTime<Utc>>,
    pub next_sync_at: DateTime<Utc>,
    /// Whether the provider notifies us of changes (else polling alone).
    pub push: bool,
    pub created_at: DateTime<Utc>,
}

/// Which events a person's calendar sends bots to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JoinMode {
    /// Every meeting with a Meet, Zoom or Teams link.
    #[default]
    All,
    /// Only meetings the person organizes.
    OnlyOrganizer,
    /// Only meetings with someone from outside the org's domains.
    OnlyExternal,
}

impl From<JoinMode> for Mode {
    fn from(m: JoinMode) -> Self {
        match m {
            JoinMode::All => Mode::All,
            JoinMode::OnlyOrganizer => Mode::OnlyOrganizer,
            JoinMode::OnlyExternal => Mode::OnlyExternal,
        }
    }
}

/// A person's auto-join rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UserRules {
    /// Whether the calendar sends bots at all (per-event "always" choices still do).
    pub auto_join: bool,
    /// Which meetings; unset: the workspace's.
    pub mode: Option<JoinMode>,
    /// Never a meeting whose title contains one of these.
    pub never_keywords: Vec<String>,
    /// Never a meeting with someone from one of these domains.
    pub never_domains: Vec<String>,
}

impl Default for UserRules {
    fn default() -> Self {
        Self {
            auto_join: true,
            mode: None,
            never_keywords: Vec::new(),
            never_domains: Vec::new(),
        }
    }
}

/// A workspace's rules: the default mode of its members' calendars, and exclusions no member
/// lifts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkspaceRules {
    pub mode: JoinMode,
    pub never_keywords: Vec<String>,
    pub never_domains: Vec<String>,
}

/// A person's choice for one event, beating the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventChoice {
    Always,
    Never,
}

impl EventChoice {
    fn as_str(self) -> &'static str {
        match self {
            Self::Always => "always",
            Self::Never => "never",
        }
    }
    fn parse(s: &str) -> Option<Self> {
        match s {
            "always" => Some(Self::Always),
            "never" => Some(Self::Never),
            _ => None,
        }
    }
}

/// One event of a connected calendar, with what meetvault will do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventView {
    pub connection_id: CalendarId,
    pub event_id: String,
    pub title: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// `google_meet`, `zoom` or `teams`, when the event has a link we can join.
    pub platform: Option<String>,
    /// Whether a bot records it.
    pub record: bool,
    /// Why (`matched`, `declined`, `keyword_excluded`, `override_never`, …).
    pub reason: String,
    pub choice: Option<EventChoice>,
    /// The bot scheduled for it (shared with colleagues invited to the same meeting).
    pub bot_id: Option<BotId>,
}

/// `google` or `microsoft`.
pub fn provider_name(kind: ProviderKind) -> &'static str {
    kind_str(kind)
}

/// `google` or `microsoft`, parsed.
pub fn parse_provider(s: &str) -> Option<ProviderKind> {
    parse_kind(s)
}

pub(crate) fn kind_str(kind: ProviderKind) -> &'static str {
    match kind {
        ProviderKind::Google => "google",
        ProviderKind::Microsoft => "microsoft",
    }
}

pub(crate) fn parse_kind(s: &str) -> Option<ProviderKind> {
    match s {
        "google" => Some(ProviderKind::Google),
        "microsoft" => Some(ProviderKind::Microsoft),
        _ => None,
    }
}

fn ms(t: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(t).single().unwrap_or_default()
}

impl Core {
    /// A calendar connection's background credential: its person, now, capped to sending bots
    /// into (and reading) the connection's workspace.
    pub(crate) async fn calendar_principal(
        &self,
        org: Uuid,
        id: CalendarId,
    ) -> Result<Principal, CoreError> {
        let row = self
            .db()
            .calendar_connection(org, id.uuid())
            .await?
            .filter(|r| r.status == "active")
            .ok_or(CoreError::Unauthenticated)?;
        self.principal_for(
            (org, row.user_id),
            Credential::Calendar(id),
            Permissions::of(&[Permission::BotsWrite, Permission::MeetingsRead]),
            Some(WorkspaceId::from(row.workspace_id)),
            None,
            RequestMeta::default(),
        )
        .await
    }

    /// The scope a connection sends bots with; `Forbidden` once its person may no longer.
    pub(crate) async fn calendar_scope(
        &self,
        org: Uuid,
        id: Uuid,
    ) -> Result<Scope<BotsWrite>, CoreError> {
        Ok(self
            .calendar_principal(org, CalendarId::from(id))
            .await?
            .authorize::<BotsWrite>()?)
    }

    async fn own_connection(
        &self,
        scope: &Scope<BotsWrite>,
        id: CalendarId,
    ) -> Result<CalendarConnectionRow, CoreError> {
        self.db()
            .calendar_connection(scope.org_id().uuid(), id.uuid())
            .await?
            .filter(|r| r.user_id == scope.user_id().uuid())
            .ok_or(CoreError::NotFound("calendar connection"))
    }

    /// Queues a sync of the connection now, or at `at` (Unix ms).
    pub(crate) async fn enqueue_calendar_sync_at(
        &self,
        org: Uuid,
        id: Uuid,
        at: Option<i64>,
    ) -> Result<(), CoreError> {
        let job = meetvault_jobs::NewJob {
            org_id: Some(org),
            kind: SYNC_JOB,
            payload: serde_json::json!({ "connection_id": CalendarId::from(id) }),
            resource_id: Some(id),
        };
        match at {
            Some(at) => self.queue().enqueue_at(job, at).await,
            None => self.queue().enqueue(job).await,
        }
        .map_err(crate::jobs_error)?;
        Ok(())
    }

    pub(crate) async fn enqueue_calendar_sync(&self, org: Uuid, id: Uuid) -> Result<(), CoreError> {
        self.enqueue_calendar_sync_at(org, id, None).await
    }
}

fn view(row: &CalendarConnectionRow) -> Result<ConnectionView, CoreError> {
    Ok(ConnectionView {
        id: row.id.into(),
        provider: parse_kind(&row.provider)
            .ok_or_else(|| CoreError::Integrity(format!("calendar provider {:?}", row.provider)))?,
        workspace_id: row.workspace_id.into(),
        status: row.status.clone(),
        error: row.error.clone(),
        last_sync_at: row.last_sync_at.map(ms),
        next_sync_at: ms(row.next_sync_at),
        push: row.channel_id.is_some(),
        created_at: ms(row.created_at),
    })
}

fn check_list(field: &'static str, list: &[String]) -> Result<(), CoreError> {
    if list.len() > 100 {
        return Err(CoreError::invalid(field, "holds at most 100 entries"));
    }
    for entry in list {
        let t = entry.trim();
        if t.is_empty() || t.chars().count() > 200 || t.chars().any(char::is_control) {
            return Err(CoreError::invalid(
                field,
                "entries are 1 to 200 characters of text",
            ));
        }
    }
    Ok(())
}

/// Calendars (`core.calendars()`): connect, list, disconnect, sync now, rules, events and
/// per-event choices.
#[derive(Debug, Clone, Copy)]
pub struct Calendars<'a> {
    pub(crate) core: &'a Core,
}

impl Calendars<'_> {
    /// The providers configured on this instance.
    pub fn providers(self) -> Vec<CalendarProviderView> {
        let c = &self.core.config().calendar;
        let mut out = Vec::new();
        if c.google.is_some() {
            out.push(CalendarProviderView {
                provider: ProviderKind::Google,
                scopes: oauth::scopes(ProviderKind::Google),
            });
        }
        if c.microsoft.is_some() {
            out.push(CalendarProviderView {
                provider: ProviderKind::Microsoft,
                scopes: oauth::scopes(ProviderKind::Microsoft),
            });
        }
        out
    }

    /// The caller's connections.
    pub async fn connections(
        self,
        scope: &Scope<BotsWrite>,
    ) -> Result<Vec<ConnectionView>, CoreError> {
        self.core
            .db()
            .calendar_connections_of(scope.org_id().uuid(), scope.user_id().uuid())
            .await?
            .iter()
            .map(view)
            .collect()
    }

    /// Disconnects: stops the push channel, revokes the grant at the provider (Google; Graph
    /// has no revocation of delegated tokens, the person removes the app in their account),
    /// deletes the tokens and events, cancels the bots nobody else's calendar wants, audits.
    pub async fn disconnect(
        self,
        scope: &Scope<BotsWrite>,
        id: CalendarId,
    ) -> Result<(), CoreError> {
        let core = self.core;
        let row = core.own_connection(scope, id).await?;
        core.forget_calendar_connection(&row, true).await?;
        core.audit(Event::by(scope, AuditAction::CalendarDisconnect).resource(id))
            .await?;
        Ok(())
    }

    /// Syncs a connection now (in the background).
    pub async fn sync_now(self, scope: &Scope<BotsWrite>, id: CalendarId) -> Result<(), CoreError> {
        let row = self.core.own_connection(scope, id).await?;
        if row.status != "active" {
            return Err(CoreError::Conflict(
                "the calendar's access was revoked at the provider; connect it again".into(),
            ));
        }
        self.core.enqueue_calendar_sync(row.org_id, row.id).await
    }

    pub async fn user_rules(self, scope: &Scope<BotsWrite>) -> Result<UserRules, CoreError> {
        self.core
            .calendar_user_rules(scope.org_id().uuid(), scope.user_id().uuid())
            .await
    }

    /// Replaces the caller's rules; their calendars are read again at once.
    pub async fn set_user_rules(
        self,
        scope: &Scope<BotsWrite>,
        rules: &UserRules,
    ) -> Result<UserRules, CoreError> {
        check_list("never_keywords", &rules.never_keywords)?;
        check_list("never_domains", &rules.never_domains)?;
        let (org, user) = (scope.org_id().uuid(), scope.user_id().uuid());
        let now = Utc::now().timestamp_millis();
        let text = serde_json::to_string(rules).map_err(CoreError::internal)?;
        self.core
            .db()
            .put_calendar_user_rules(org, user, &text, now)
            .await?;
        for id in self
            .core
            .db()
            .calendar_resync(org, Some(user), None, now)
            .await?
        {
            self.core.enqueue_calendar_sync(org, id).await?;
        }
        self.core
            .audit(Event::by(scope, AuditAction::CalendarRules).resource("calendar/rules"))
            .await?;
        Ok(rules.clone())
    }

    pub async fn workspace_rules(
        self,
        scope: &Scope<crate::access::proof::OrgManage>,
        workspace: WorkspaceId,
    ) -> Result<WorkspaceRules, CoreError> {
        let org = scope.org_id().uuid();
        self.core.check_workspace(org, workspace).await?;
        self.core
            .calendar_workspace_rules(org, workspace.uuid())
            .await
    }

    /// Replaces a workspace's rules (org admins); the calendars sending bots there are read again
    /// at once.
    pub async fn set_workspace_rules(
        self,
        scope: &Scope<crate::access::proof::OrgManage>,
        workspace: WorkspaceId,
        rules: &WorkspaceRules,
    ) -> Result<WorkspaceRules, CoreError> {
        check_list("never_keywords", &rules.never_keywords)?;
        check_list("never_domains", &rules.never_domains)?;
        let org = scope.org_id().uuid();
        self.core.check_workspace(org, workspace).await?;
        let now = Utc::now().timestamp_millis();
        let text = serde_json::to_string(rules).map_err(CoreError::internal)?;
        self.core
            .db()
            .put_calendar_workspace_rules(org, workspace.uuid(), &text, now)
            .await?;
        for id in self
            .core
            .db()
            .calendar_resync(org, None, Some(workspace.uuid()), now)
            .await?
        {
            self.core.enqueue_calendar_sync(org, id).await?;
        }
        self.core
            .audit(Event::by(scope, AuditAction::CalendarRules).resource(workspace))
            .await?;
        Ok(rules.clone())
    }

    /// The events of the caller's calendars in the sync window, with the decisions.
    pub async fn events(self, scope: &Scope<BotsWrite>) -> Result<Vec<EventView>, CoreError> {
        let core = self.core;
        let (org, user) = (scope.org_id().uuid(), scope.user_id().uuid());
        let key = core.user_key(org, user).await?;
        let mut out = Vec::new();
        for c in core.db().calendar_connections_of(org, user).await? {
            for row in core.db().calendar_events(org, c.id).await? {
                let event = schedule::open_event(&key, &row)?;
                let bot_id = match &row.bot_key {
                    Some(k) if row.record => core
                        .db()
                        .calendar_bot(org, row.workspace_id, k)
                        .await?
                        .map(|b| BotId::from(b.bot_id)),
                    _ => None,
                };
                out.push(EventView {
                    connection_id: c.id.into(),
                    choice: core
                        .db()
                        .calendar_choice(c.id, &row.event_id)
                        .await?
                        .as_deref()
                        .and_then(EventChoice::parse),
                    event_id: row.event_id,
                    title: event.title,
                    start: ms(row.start_at),
                    end: ms(row.end_at),
                    platform: event
                        .conference
                        .map(|l| schedule::platform_str(l.platform).to_owned()),
                    record: row.record,
                    reason: row.reason,
                    bot_id,
                });
            }
        }
        out.sort_by(|a, b| a.start.cmp(&b.start).then(a.event_id.cmp(&b.event_id)));
        Ok(out)
    }

    /// Records the caller's choice for one event (`None` clears it) and applies it at once.
    pub async fn set_choice(
        self,
        scope: &Scope<BotsWrite>,
        id: CalendarId,
        event_id: &str,
        choice: Option<EventChoice>,
    ) -> Result<(), CoreError> {
        let core = self.core;
        let row = core.own_connection(scope, id).await?;
        if core
            .db()
            .calendar_event(row.org_id, row.id, event_id)
            .await?
            .is_none()
        {
            return Err(CoreError::NotFound("calendar event"));
        }
        core.db()
            .set_calendar_choice(
                row.id,
                event_id,
                choice.map(EventChoice::as_str),
                Utc::now().timestamp_millis(),
            )
            .await?;
        core.redecide_calendar_event(&row, event_id).await?;
        core.audit(
            Event::by(scope, AuditAction::CalendarEventChoice)
                .resource(id)
                .reason(choice.map_or("cleared", EventChoice::as_str)),
        )
        .await?;
        Ok(())
    }
}

impl Core {
    /// Calendars: connections, rules, events and per-event choices (`calendar/`).
    pub fn calendars(&self) -> Calendars<'_> {
        Calendars { core: self }
    }

    async fn check_workspace(&self, org: Uuid, workspace: WorkspaceId) -> Result<(), CoreError> {
        if self
            .db()
            .workspaces(org)
            .await?
            .iter()
            .any(|w| w.id == workspace.uuid())
        {
            Ok(())
        } else {
            Err(CoreError::NotFound("workspace"))
        }
    }

    pub(crate) async fn calendar_user_rules(
        &self,
        org: Uuid,
        user: Uuid,
    ) -> Result<UserRules, CoreError> {
        match self.db().calendar_user_rules(org, user).await? {
            Some(text) => serde_json::from_str(&text)
                .map_err(|e| CoreError::Integrity(format!("calendar rules: {e}"))),
            None => Ok(UserRules::default()),
        }
    }

    pub(crate) async fn calendar_workspace_rules(
        &self,
        org: Uuid,
        workspace: Uuid,
    ) -> Result<WorkspaceRules, CoreError> {
        match self.db().calendar_workspace_rules(org, workspace).await? {
            Some(text) => serde_json::from_str(&text)
                .map_err(|e| CoreError::Integrity(format!("calendar rules: {e}"))),
            None => Ok(WorkspaceRules::default()),
        }
    }

    /// Lets go of a connection: its push channel stopped, (with `revoke`) its grant revoked at
    /// the provider, its row deleted with its events, and the bots only it wanted cancelled.
    /// The provider's side is best effort: the row goes whatever the provider answers.
    pub(crate) async fn forget_calendar_connection(
        &self,
        row: &CalendarConnectionRow,
        revoke: bool,
    ) -> Result<(), CoreError> {
        if let (Some(kind), Ok(key)) = (
            parse_kind(&row.provider),
            self.user_key(row.org_id, row.user_id).await,
        ) && let Ok(tokens) = Core::open_tokens(&key, row)
            && let Ok(provider) = self.calendar_provider(kind)
        {
            let http = net::OutboundHttp(self.outbound_client());
            self.stop_calendar_push(&http, &provider, &tokens, row)
                .await;
            if revoke && let Err(e) = oauth::revoke(&http, &provider, &tokens).await {
                tracing::warn!(provider = %row.provider, error = %e, "revoking a calendar grant failed");
            }
        }
        let events = self.db().calendar_events(row.org_id, row.id).await?;
        self.db()
            .delete_calendar_connection(row.org_id, row.id)
            .await?;
        let keys: Vec<String> = events.into_iter().filter_map(|e| e.bot_key).collect();
        self.reconcile_calendar_keys(
            row.org_id,
            row.workspace_id,
            &keys,
            crate::access::Actor::Calendar(row.id.into()),
        )
        .await
    }
}
