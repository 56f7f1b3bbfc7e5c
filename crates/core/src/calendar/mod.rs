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

mod net;
mod push;
mod schedule;
mod sync;

use chrono::{DateTime, TimeZone, Utc};
use meetvault_calendar::{Mode, PkceVerifier, ProviderKind, Tokens, oauth};
use meetvault_crypto::envelope;
use meetvault_oidc::{LoginState, ReturnTo, SecretString, StateKey};
use meetvault_store::calendar::CalendarConnectionRow;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::access::proof::BotsWrite;
use crate::access::{Credential, Permission, Permissions, Principal, RequestMeta, Scope};
use crate::audit::{AuditAction, Event};
use crate::ids::{BotId, CalendarId, WorkspaceId};
use crate::vault::{bind, key_ref};
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

fn now_secs() -> u64 {
    u64::try_from(Utc::now().timestamp()).unwrap_or(0)
}

/// Tokens as sealed: the secrets' text and when the access token expires.
#[derive(Serialize, Deserialize)]
struct SealedTokens {
    access_token: String,
    refresh_token: String,
    expires_at: i64,
    scope: String,
}

impl Core {
    /// The provider `kind` as configured, with our redirect URI.
    pub(crate) fn calendar_provider(
        &self,
        kind: ProviderKind,
    ) -> Result<meetvault_calendar::Provider, CoreError> {
        let c = &self.config().calendar;
        let base = self
            .config()
            .server
            .public_url
            .as_ref()
            .ok_or(CoreError::NotFound("calendar provider"))?;
        let redirect_uri = url::Url::parse(&format!(
            "{}/api/v1/calendar/callback",
            base.as_str().trim_end_matches('/')
        ))
        .map_err(CoreError::internal)?;
        let bad = |_| CoreError::KeyUnavailable("a calendar endpoint does not parse".into());
        match kind {
            ProviderKind::Google => {
                let g = c
                    .google
                    .as_ref()
                    .ok_or(CoreError::NotFound("calendar provider"))?;
                let mut endpoints = meetvault_calendar::Endpoints::google().map_err(bad)?;
                if let Some(u) = &g.authorize_url {
                    endpoints.authorize = u.clone();
                }
                if let Some(u) = &g.token_url {
                    endpoints.token = u.clone();
                }
                if let Some(u) = &g.revoke_url {
                    endpoints.revoke = Some(u.clone());
                }
                if let Some(u) = &g.api_url {
                    endpoints.api = u.clone();
                }
                Ok(meetvault_calendar::Provider {
                    kind,
                    endpoints,
                    app: meetvault_calendar::provider::OAuthApp {
                        client_id: g.client_id.clone(),
                        client_secret: meetvault_calendar::SecretString::new(
                            g.client_secret.expose(),
                        ),
                        redirect_uri,
                    },
                })
            }
            ProviderKind::Microsoft => {
                let m = c
                    .microsoft
                    .as_ref()
                    .ok_or(CoreError::NotFound("calendar provider"))?;
                let login = match &m.login_url {
                    Some(u) => u.clone(),
                    None => url::Url::parse("https://login.microsoftonline.com")
                        .map_err(CoreError::internal)?,
                };
                let graph = match &m.graph_url {
                    Some(u) => u.clone(),
                    None => url::Url::parse("https://graph.microsoft.com/v1.0")
                        .map_err(CoreError::internal)?,
                };
                let endpoints =
                    meetvault_calendar::Endpoints::microsoft_at(&login, &graph, &m.tenant)
                        .map_err(bad)?;
                Ok(meetvault_calendar::Provider {
                    kind,
                    endpoints,
                    app: meetvault_calendar::provider::OAuthApp {
                        client_id: m.client_id.clone(),
                        client_secret: meetvault_calendar::SecretString::new(
                            m.client_secret.expose(),
                        ),
                        redirect_uri,
                    },
                })
            }
        }
    }

    /// The key that signs connect states: derived from the server's CSRF key for this purpose.
    fn calendar_state_key(&self) -> StateKey {
        StateKey::new(meetvault_crypto::keys::hmac_sha256(
            &self.keys().csrf,
            b"meetvault calendar connect state v1",
        ))
    }

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

    fn seal_tokens(
        key: &meetvault_crypto::keys::SymmetricKey,
        row: &CalendarConnectionRow,
        tokens: &Tokens,
    ) -> Result<Vec<u8>, CoreError> {
        let plain = zeroize::Zeroizing::new(
            serde_json::to_vec(&SealedTokens {
                access_token: tokens.access_token.expose().to_owned(),
                refresh_token: tokens.refresh_token.expose().to_owned(),
                expires_at: tokens.expires_at.timestamp(),
                scope: tokens.scope.clone(),
            })
            .map_err(CoreError::internal)?,
        );
        Ok(envelope::encrypt(
            key,
            key_ref(row.user_id, 1),
            &bind(row.org_id, "calendar_connections", row.id, "tokens"),
            &plain,
        ))
    }

    fn open_tokens(
        key: &meetvault_crypto::keys::SymmetricKey,
        row: &CalendarConnectionRow,
    ) -> Result<Tokens, CoreError> {
        let plain = envelope::decrypt(
            key,
            &bind(row.org_id, "calendar_connections", row.id, "tokens"),
            &row.tokens,
        )
        .map_err(crate::vault::integrity("calendar tokens"))?;
        let t: SealedTokens = serde_json::from_slice(&plain)
            .map_err(|e| CoreError::Integrity(format!("calendar tokens: {e}")))?;
        Ok(Tokens {
            access_token: meetvault_calendar::SecretString::new(t.access_token),
            refresh_token: meetvault_calendar::SecretString::new(t.refresh_token),
            expires_at: Utc
                .timestamp_opt(t.expires_at, 0)
                .single()
                .unwrap_or_default(),
            scope: t.scope,
        })
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

    pub(crate) async fn enqueue_calendar_sync(&self, org: Uuid, id: Uuid) -> Result<(), CoreError> {
        self.queue()
            .enqueue(meetvault_jobs::NewJob {
                org_id: Some(org),
                kind: SYNC_JOB,
                payload: serde_json::json!({ "connection_id": CalendarId::from(id) }),
                resource_id: Some(id),
            })
            .await
            .map_err(crate::jobs_error)?;
        Ok(())
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

    /// Starts connecting the caller's calendar at `kind`; its bots go to `workspace` (the
    /// caller's default workspace when unset). Only a person signed in, in a browser.
    pub async fn connect_start(
        self,
        scope: &Scope<BotsWrite>,
        kind: ProviderKind,
        workspace: Option<WorkspaceId>,
        return_to: Option<&str>,
    ) -> Result<ConnectStart, CoreError> {
        let core = self.core;
        if scope.session_id().is_none() {
            return Err(CoreError::NotAllowed(
                "connecting a calendar needs you signed in in a browser, not an API key".into(),
            ));
        }
        let provider = core.calendar_provider(kind)?;
        let org = scope.org_id().uuid();
        let workspace = core.workspace_of(scope, workspace).await?;
        let zero_access = core
            .db()
            .user_key(org, scope.user_id().uuid())
            .await?
            .is_some_and(|k| k.mode == "zero_access");
        if zero_access {
            return Err(CoreError::Conflict(
                "your account is in zero-access mode: the server cannot read a calendar while you are away, so calendars cannot be connected".into(),
            ));
        }
        let return_to = ReturnTo::parse(return_to.unwrap_or("/")).map_err(|_| {
            CoreError::invalid("return_to", "must be a path on this site, like /settings")
        })?;
        let begun = core.calendar_state_key().begin(
            LoginState::new(
                format!(
                    "calendar:{}:{}:{}",
                    kind_str(kind),
                    scope.user_id().uuid().simple(),
                    workspace.simple()
                ),
                Some(org.simple().to_string()),
                return_to,
                now_secs(),
            )
            .with_ttl(CONNECT_TTL_SECS),
            &mut rand::rng(),
        );
        let verifier = PkceVerifier::parse(begun.pkce_verifier.expose())
            .ok_or_else(|| CoreError::Integrity("a derived PKCE verifier".into()))?;
        let url = oauth::authorization_url(&provider, &begun.state, &verifier)
            .map_err(|e| CoreError::Integrity(format!("a calendar authorization URL: {e}")))?;
        Ok(ConnectStart {
            url: url.to_string(),
            browser_secret: begun.browser_secret,
        })
    }

    /// Finishes a connect at the callback, in the browser and session that started it:
    /// exchanges the code, seals the tokens under the person's key, stores the connection
    /// (replacing an earlier one to the same provider), audits it and syncs at once. Answers
    /// the connection and where to send the browser.
    pub async fn connect_finish(
        self,
        scope: &Scope<BotsWrite>,
        query: &[(String, String)],
        browser_secret: Option<&str>,
    ) -> Result<(ConnectionView, String), CoreError> {
        let core = self.core;
        let get = |k: &str| {
            query
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        if let Some(error) = get("error") {
            let code: String = error
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .take(40)
                .collect();
            return Err(CoreError::invalid(
                "error",
                format!(
                    "the calendar provider did not grant access ({code}); connect again and allow calendar access"
                ),
            ));
        }
        let (Some(code), Some(state)) = (get("code"), get("state")) else {
            return Err(CoreError::invalid(
                "code",
                "the provider's answer lacks its code or state; connect again",
            ));
        };
        let finished = core
            .calendar_state_key()
            .finish(state, browser_secret.unwrap_or(""), now_secs())
            .map_err(|e| CoreError::invalid("state", e.to_string()))?;
        let login = &finished.login_state;
        let mut parts = login.provider().split(':');
        let (Some("calendar"), Some(kind), Some(user), Some(workspace), None) = (
            parts.next(),
            parts.next().and_then(parse_kind),
            parts.next().and_then(|u| Uuid::parse_str(u).ok()),
            parts.next().and_then(|w| Uuid::parse_str(w).ok()),
            parts.next(),
        ) else {
            return Err(CoreError::invalid(
                "state",
                "is not a calendar connect; connect again",
            ));
        };
        let org = scope.org_id().uuid();
        if login.org() != Some(org.simple().to_string().as_str()) || user != scope.user_id().uuid()
        {
            return Err(CoreError::NotAllowed(
                "this calendar connect was started by another account; sign in as that account, or connect again".into(),
            ));
        }
        if !scope.reaches(WorkspaceId::from(workspace)) {
            return Err(CoreError::NotAllowed(
                "you may no longer send bots into that workspace".into(),
            ));
        }
        let provider = core.calendar_provider(kind)?;
        let verifier = PkceVerifier::parse(finished.pkce_verifier.expose())
            .ok_or_else(|| CoreError::Integrity("a derived PKCE verifier".into()))?;
        let http = net::OutboundHttp(core.outbound_client());
        let tokens = oauth::exchange_code(&http, &provider, code, &verifier, Utc::now())
            .await
            .map_err(|e| match e {
                meetvault_calendar::CalendarError::CodeRejected => CoreError::invalid(
                    "code",
                    "the provider refused the code (used or expired); connect again",
                ),
                other => {
                    tracing::warn!(provider = kind_str(kind), error = %other, "a calendar code exchange failed");
                    CoreError::Unavailable("the calendar provider")
                }
            })?;
        let now = Utc::now().timestamp_millis();
        let mut row = CalendarConnectionRow {
            id: Uuid::new_v4(),
            org_id: org,
            user_id: user,
            workspace_id: workspace,
            provider: kind_str(kind).to_owned(),
            tokens: Vec::new(),
            cursor: None,
            status: "active".into(),
            error: None,
            last_sync_at: None,
            next_sync_at: now,
            channel_id: None,
            channel_resource: None,
            channel_expires_at: None,
            created_at: now,
            updated_at: now,
        };
        let key = core.user_key(org, user).await?;
        row.tokens = Core::seal_tokens(&key, &row, &tokens)?;
        // A reconnect replaces the old connection: let go of what it scheduled first.
        for old in core.db().calendar_connections_of(org, user).await? {
            if old.provider == row.provider {
                core.forget_calendar_connection(&old, false).await?;
            }
        }
        core.db().put_calendar_connection(&row).await?;
        core.audit(
            Event::by(scope, AuditAction::CalendarConnect)
                .resource(CalendarId::from(row.id))
                .reason(kind_str(kind)),
        )
        .await?;
        core.enqueue_calendar_sync(org, row.id).await?;
        Ok((view(&row)?, login.return_to().as_str().to_owned()))
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
