//! Voice-intake widgets (`core.widgets()`, `widgets:manage`): what an org embeds on its sites
//! so that visitors can leave a voice note. A widget names the workspace its submissions
//! become meetings in (owned by the widget's creator, whose keys seal them), the exact origins
//! allowed to embed it, the texts the visitor sees (a greeting, a prompt, the consent text and
//! a link to the customer's privacy notice), the longest recording, the meetings' retention,
//! whether a summary follows the transcript, and whether a signed visitor identity is required.
//! Its signing secret (HS256, for visitor identity tokens) is sealed under the org's key and
//! shown once, at creation or rotation. The visitor's side is `visitor.rs`.

mod budget;
mod live;
mod visitor;

pub use crate::meetings::{VisitorView, WidgetSource};
pub(crate) use live::LiveHub;
pub use live::{LiveLine, LiveTranscript};
pub(crate) use visitor::sweep_expired_sessions;
pub use visitor::{PublicWidget, SessionOpened, SubmitHandler};

use chrono::{DateTime, Utc};
use meetvault_auth::token::{self, Token};
use meetvault_store::widgets::{WidgetChange, WidgetRow};
use serde::{Deserialize, Serialize};
use url::Url;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::access::Scope;
use crate::access::proof::WidgetsManage;
use crate::audit::{AuditAction, Event};
use crate::ids::{WidgetId, WorkspaceId};
use crate::lifecycle::Windows;
use crate::vault::check_text;
use crate::{Core, CoreError};

/// Widgets per org.
const MAX_WIDGETS: usize = 100;
/// Origins per widget.
const MAX_ORIGINS: usize = 20;
const DEFAULT_GREETING: &str = "Leave us a voice message";
const DEFAULT_CONSENT: &str = "Your voice message is recorded, transcribed and kept under our \
    privacy notice. Recording starts only when you press the button.";

/// What follows a submission's transcript.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OnSubmit {
    /// The transcript only (its `transcript.*` events reach webhooks as any meeting's do).
    #[default]
    Transcript,
    /// A summary too (and what follows one: integrations listening to the workspace).
    Summary,
}

/// A widget's texts and limits (stored as JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WidgetSettings {
    pub greeting: String,
    pub prompt: Option<String>,
    pub consent_text: String,
    pub privacy_url: Option<Url>,
    pub max_seconds: u32,
    pub on_submit: OnSubmit,
    /// Sessions without a valid signed visitor token are refused.
    pub require_identity: bool,
    /// The visitor sees the transcript while talking (transcribed here as the audio arrives;
    /// the meeting's transcript is still made from the whole recording).
    #[serde(default)]
    pub live_transcript: bool,
}

/// A new widget; absent texts take the defaults.
#[derive(Debug, Clone, Default)]
pub struct NewWidget {
    pub name: String,
    /// Default: the org's first workspace.
    pub workspace_id: Option<WorkspaceId>,
    pub allowed_origins: Vec<String>,
    pub greeting: Option<String>,
    pub prompt: Option<String>,
    pub consent_text: Option<String>,
    pub privacy_url: Option<String>,
    /// Default 120; at most `widgets.max_seconds`.
    pub max_seconds: Option<u32>,
    pub on_submit: Option<OnSubmit>,
    pub require_identity: Option<bool>,
    pub live_transcript: Option<bool>,
    pub retention: Windows,
    pub enabled: Option<bool>,
}

/// A change to a widget; absent fields stay (`prompt`/`privacy_url`: `Some(None)` clears).
#[derive(Debug, Clone, Default)]
pub struct WidgetPatch {
    pub name: Option<String>,
    pub workspace_id: Option<WorkspaceId>,
    pub allowed_origins: Option<Vec<String>>,
    pub greeting: Option<String>,
    pub prompt: Option<Option<String>>,
    pub consent_text: Option<String>,
    pub privacy_url: Option<Option<String>>,
    pub max_seconds: Option<u32>,
    pub on_submit: Option<OnSubmit>,
    pub require_identity: Option<bool>,
    pub live_transcript: Option<bool>,
    pub retention: Option<Windows>,
    pub enabled: Option<bool>,
}

/// A widget as its admins see it (never its secret).
#[derive(Debug, Clone)]
pub struct WidgetView {
    pub id: WidgetId,
    pub name: String,
    pub workspace_id: WorkspaceId,
    pub allowed_origins: Vec<String>,
    pub settings: WidgetSettings,
    pub retention: Windows,
    pub enabled: bool,
    /// The `<script>` tag to paste into a page (none until `server.public_url` is set: the
    /// page must load the script from this server's public address).
    pub snippet: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A widget with its signing secret, shown this once.
pub struct WidgetWithSecret {
    pub widget: WidgetView,
    pub secret: Zeroizing<String>,
}

impl std::fmt::Debug for WidgetWithSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WidgetWithSecret")
            .field("widget", &self.widget)
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// The widgets service.
#[derive(Debug, Clone, Copy)]
pub struct Widgets<'a> {
    pub(crate) core: &'a Core,
}

/// An origin as browsers send it: `https://host[:port]`, nothing after; `http` only for
/// `localhost` and loopback addresses (a developer's machine).
pub(crate) fn check_origin(raw: &str) -> Result<String, CoreError> {
    let bad = |why: &str| {
        CoreError::invalid(
            "allowed_origins",
            format!("{raw:?} {why}: give an origin such as https://www.example.com"),
        )
    };
    let url = Url::parse(raw.trim()).map_err(|_| bad("is not a URL"))?;
    let host = url.host_str().ok_or_else(|| bad("has no host"))?;
    let loopback = host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err(bad("is not https")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("has credentials"));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(bad("has a path, query or fragment"));
    }
    Ok(url.origin().ascii_serialization())
}

/// The tag that embeds widget `id` from the server at `public_url` (which may have a path).
fn snippet(public_url: &Url, id: WidgetId) -> String {
    format!(
        "<script src=\"{}/widget/v1.js\" data-widget=\"{id}\" async></script>",
        public_url.as_str().trim_end_matches('/')
    )
}

fn check_origins(list: &[String]) -> Result<Vec<String>, CoreError> {
    if list.is_empty() || list.len() > MAX_ORIGINS {
        return Err(CoreError::invalid(
            "allowed_origins",
            format!("1 to {MAX_ORIGINS} origins: the sites that may embed the widget"),
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for o in list {
        let o = check_origin(o)?;
        if !out.contains(&o) {
            out.push(o);
        }
    }
    Ok(out)
}

fn check_name(name: &str) -> Result<String, CoreError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(CoreError::invalid("name", "must not be empty"));
    }
    check_text("name", name, 100)?;
    Ok(name.to_owned())
}

fn check_shown(field: &'static str, text: &str, max: usize) -> Result<String, CoreError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(CoreError::invalid(field, "must not be empty"));
    }
    check_text(field, text, max)?;
    Ok(text.to_owned())
}

fn check_privacy_url(raw: &str) -> Result<Url, CoreError> {
    let url = Url::parse(raw.trim())
        .ok()
        .filter(|u| u.scheme() == "https" && u.username().is_empty() && u.password().is_none())
        .ok_or_else(|| {
            CoreError::invalid("privacy_url", "must be an https URL (your privacy notice)")
        })?;
    if url.as_str().len() > 2048 {
        return Err(CoreError::invalid("privacy_url", "is longer than 2048"));
    }
    Ok(url)
}

impl Core {
    /// `v` with its embed snippet, from `server.public_url`.
    fn with_snippet(&self, mut v: WidgetView) -> WidgetView {
        v.snippet = self
            .config()
            .server
            .public_url
            .as_ref()
            .map(|u| snippet(u, v.id));
        v
    }

    fn check_max_seconds(&self, s: u32) -> Result<u32, CoreError> {
        let cap = self.config().widgets.max_seconds;
        if s == 0 || s > cap {
            return Err(CoreError::invalid(
                "max_seconds",
                format!("1 to {cap} seconds (widgets.max_seconds)"),
            ));
        }
        Ok(s)
    }
}

impl Widgets<'_> {
    /// Creates a widget; its signing secret is in the answer, once.
    pub async fn create(
        self,
        scope: &Scope<WidgetsManage>,
        new: &NewWidget,
    ) -> Result<WidgetWithSecret, CoreError> {
        let core = self.core;
        let org = scope.org_id().uuid();
        if core.db().widgets(org).await?.len() >= MAX_WIDGETS {
            return Err(CoreError::Conflict(format!(
                "an org may have at most {MAX_WIDGETS} widgets; delete one first"
            )));
        }
        let name = check_name(&new.name)?;
        let origins = check_origins(&new.allowed_origins)?;
        let settings = WidgetSettings {
            greeting: check_shown(
                "greeting",
                new.greeting.as_deref().unwrap_or(DEFAULT_GREETING),
                200,
            )?,
            prompt: match new.prompt.as_deref() {
                Some(p) => Some(check_shown("prompt", p, 1000)?),
                None => None,
            },
            consent_text: check_shown(
                "consent_text",
                new.consent_text.as_deref().unwrap_or(DEFAULT_CONSENT),
                1000,
            )?,
            privacy_url: new
                .privacy_url
                .as_deref()
                .map(check_privacy_url)
                .transpose()?,
            max_seconds: core.check_max_seconds(new.max_seconds.unwrap_or(120))?,
            on_submit: new.on_submit.unwrap_or_default(),
            require_identity: new.require_identity.unwrap_or(false),
            live_transcript: new.live_transcript.unwrap_or(false),
        };
        core.check_meeting_retention(org, &new.retention).await?;
        let workspace = match new.workspace_id {
            Some(w) => {
                core.check_workspace_field(org, w).await?;
                w.uuid()
            }
            None => core
                .db()
                .workspaces(org)
                .await?
                .first()
                .map(|w| w.id)
                .ok_or_else(|| CoreError::invalid("workspace_id", "the org has no workspace"))?,
        };
        let id = Uuid::new_v4();
        let secret = Token::generate(token::WIDGET_SECRET);
        let now = meetvault_jobs::now_ms();
        let row = WidgetRow {
            id,
            org_id: org,
            workspace_id: workspace,
            owner_id: scope.user_id().uuid(),
            name,
            allowed_origins: serde_json::to_string(&origins).map_err(CoreError::internal)?,
            settings: serde_json::to_string(&settings).map_err(CoreError::internal)?,
            retention: retention_json(&new.retention)?,
            secret: core
                .seal_org_field(org, "widgets", id, "secret", secret.expose().as_bytes())
                .await?,
            enabled: new.enabled.unwrap_or(true),
            created_at: now,
            updated_at: now,
        };
        core.db().insert_widget(&row).await?;
        core.audit(Event::by(scope, AuditAction::WidgetCreate).resource(WidgetId::from(id)))
            .await?;
        Ok(WidgetWithSecret {
            widget: core.with_snippet(view(&row)?),
            secret: Zeroizing::new(secret.expose().to_owned()),
        })
    }

    /// The org's widgets, oldest first.
    pub async fn list(self, scope: &Scope<WidgetsManage>) -> Result<Vec<WidgetView>, CoreError> {
        let rows = self.core.db().widgets(scope.org_id().uuid()).await?;
        rows.iter()
            .map(|r| view(r).map(|v| self.core.with_snippet(v)))
            .collect()
    }

    pub async fn get(
        self,
        scope: &Scope<WidgetsManage>,
        id: WidgetId,
    ) -> Result<WidgetView, CoreError> {
        Ok(self.core.with_snippet(view(&self.row(scope, id).await?)?))
    }

    /// Changes a widget; what is absent stays.
    pub async fn update(
        self,
        scope: &Scope<WidgetsManage>,
        id: WidgetId,
        patch: &WidgetPatch,
    ) -> Result<WidgetView, CoreError> {
        let core = self.core;
        let row = self.row(scope, id).await?;
        let org = row.org_id;
        let old = view(&row)?;
        let mut s = old.settings;
        if let Some(g) = &patch.greeting {
            s.greeting = check_shown("greeting", g, 200)?;
        }
        if let Some(p) = &patch.prompt {
            s.prompt = p
                .as_deref()
                .map(|p| check_shown("prompt", p, 1000))
                .transpose()?;
        }
        if let Some(c) = &patch.consent_text {
            s.consent_text = check_shown("consent_text", c, 1000)?;
        }
        if let Some(u) = &patch.privacy_url {
            s.privacy_url = u.as_deref().map(check_privacy_url).transpose()?;
        }
        if let Some(m) = patch.max_seconds {
            s.max_seconds = core.check_max_seconds(m)?;
        }
        if let Some(o) = patch.on_submit {
            s.on_submit = o;
        }
        if let Some(r) = patch.require_identity {
            s.require_identity = r;
        }
        if let Some(l) = patch.live_transcript {
            s.live_transcript = l;
        }
        let retention = patch.retention.unwrap_or(old.retention);
        core.check_meeting_retention(org, &retention).await?;
        let workspace = match patch.workspace_id {
            Some(w) => {
                core.check_workspace_field(org, w).await?;
                w.uuid()
            }
            None => row.workspace_id,
        };
        let origins = match &patch.allowed_origins {
            Some(list) => check_origins(list)?,
            None => old.allowed_origins,
        };
        let change = WidgetChange {
            workspace_id: workspace,
            name: match &patch.name {
                Some(n) => check_name(n)?,
                None => row.name.clone(),
            },
            allowed_origins: serde_json::to_string(&origins).map_err(CoreError::internal)?,
            settings: serde_json::to_string(&s).map_err(CoreError::internal)?,
            retention: retention_json(&retention)?,
            enabled: patch.enabled.unwrap_or(row.enabled),
            updated_at: meetvault_jobs::now_ms(),
        };
        if !core.db().update_widget(org, row.id, &change).await? {
            return Err(CoreError::NotFound("widget"));
        }
        core.audit(Event::by(scope, AuditAction::WidgetUpdate).resource(id))
            .await?;
        self.get(scope, id).await
    }

    /// Deletes a widget and its open sessions (their chunks with them); the meetings its
    /// submissions became stay, under their own retention.
    pub async fn delete(self, scope: &Scope<WidgetsManage>, id: WidgetId) -> Result<(), CoreError> {
        let core = self.core;
        let row = self.row(scope, id).await?;
        core.forget_widget_sessions(&row).await?;
        if !core.db().delete_widget(row.org_id, row.id).await? {
            return Err(CoreError::NotFound("widget"));
        }
        core.audit(Event::by(scope, AuditAction::WidgetDelete).resource(id))
            .await?;
        Ok(())
    }

    /// A new signing secret, shown this once; tokens signed with the old one fail from now.
    pub async fn rotate_secret(
        self,
        scope: &Scope<WidgetsManage>,
        id: WidgetId,
    ) -> Result<WidgetWithSecret, CoreError> {
        let core = self.core;
        let row = self.row(scope, id).await?;
        let secret = Token::generate(token::WIDGET_SECRET);
        let sealed = core
            .seal_org_field(
                row.org_id,
                "widgets",
                row.id,
                "secret",
                secret.expose().as_bytes(),
            )
            .await?;
        let now = meetvault_jobs::now_ms();
        if !core
            .db()
            .set_widget_secret(row.org_id, row.id, &sealed, now)
            .await?
        {
            return Err(CoreError::NotFound("widget"));
        }
        core.audit(Event::by(scope, AuditAction::WidgetRotateSecret).resource(id))
            .await?;
        Ok(WidgetWithSecret {
            widget: self.get(scope, id).await?,
            secret: Zeroizing::new(secret.expose().to_owned()),
        })
    }

    async fn row(self, scope: &Scope<WidgetsManage>, id: WidgetId) -> Result<WidgetRow, CoreError> {
        self.core
            .db()
            .widget(scope.org_id().uuid(), id.uuid())
            .await?
            .ok_or(CoreError::NotFound("widget"))
    }
}

fn retention_json(w: &Windows) -> Result<Option<String>, CoreError> {
    if w.is_empty() {
        return Ok(None);
    }
    serde_json::to_string(w)
        .map(Some)
        .map_err(CoreError::internal)
}

fn integrity(what: &str) -> CoreError {
    CoreError::Integrity(format!("widget {what}"))
}

pub(crate) fn view(row: &WidgetRow) -> Result<WidgetView, CoreError> {
    let time = |ms| DateTime::from_timestamp_millis(ms).unwrap_or_default();
    Ok(WidgetView {
        id: row.id.into(),
        name: row.name.clone(),
        workspace_id: row.workspace_id.into(),
        allowed_origins: serde_json::from_str(&row.allowed_origins)
            .map_err(|_| integrity("origins"))?,
        settings: serde_json::from_str(&row.settings).map_err(|_| integrity("settings"))?,
        retention: match &row.retention {
            Some(r) => serde_json::from_str(r).map_err(|_| integrity("retention"))?,
            None => Windows::default(),
        },
        enabled: row.enabled,
        snippet: None,
        created_at: time(row.created_at),
        updated_at: time(row.updated_at),
    })
}

#[cfg(test)]
mod tests {
    use super::{check_origin, snippet};

    #[test]
    fn the_snippet_loads_the_script_from_the_public_url() {
        let id = crate::ids::WidgetId::from(uuid::Uuid::nil());
        for (url, src) in [
            (
                "https://mv.example.com",
                "https://mv.example.com/widget/v1.js",
            ),
            (
                "https://mv.example.com/",
                "https://mv.example.com/widget/v1.js",
            ),
            (
                "https://example.com/meetvault/",
                "https://example.com/meetvault/widget/v1.js",
            ),
        ] {
            let s = snippet(&url.parse().unwrap(), id);
            assert_eq!(
                s,
                format!("<script src=\"{src}\" data-widget=\"{id}\" async></script>")
            );
        }
    }

    #[test]
    fn an_origin_is_exact_https_or_loopback_http() {
        assert_eq!(
            check_origin("https://www.example.com").unwrap(),
            "https://www.example.com"
        );
        assert_eq!(
            check_origin("https://Example.COM:443/").unwrap(),
            "https://example.com"
        );
        assert_eq!(
            check_origin("https://example.com:8443").unwrap(),
            "https://example.com:8443"
        );
        assert_eq!(
            check_origin("http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            check_origin("http://localhost").unwrap(),
            "http://localhost"
        );
        for bad in [
            "http://example.com",
            "https://example.com/page",
            "https://example.com/?q=1",
            "https://user:pw@example.com",
            "javascript:alert(1)",
            "null",
            "*",
            "https://",
            "ftp://example.com",
        ] {
            assert!(check_origin(bad).is_err(), "{bad}");
        }
    }
}
