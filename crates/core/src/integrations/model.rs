//! Integrations' inputs and views, the credential as it is sealed, and the checks on what a
//! caller sends. Plain Rust types; the wire types in `http` convert from and into them.

use chrono::{DateTime, TimeDelta, Utc};
use meetvault_integrations::target::{JiraDeployment, hint};
use meetvault_integrations::{Credential, Item, Kind, OAuthTokens, SecretString, Target};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::CoreError;
use crate::ids::{IntegrationId, IntegrationItemId, MeetingId, UserId, WorkspaceId};

/// The longest name.
pub const MAX_NAME: usize = 100;

/// A credential as the caller gives it.
#[derive(Debug, Clone)]
pub enum NewCredential {
    /// A Slack incoming webhook URL.
    WebhookUrl(SecretString),
    /// A bot token, integration token, API key, private app token or personal access token.
    Token(SecretString),
    /// Jira Cloud's email and API token.
    Basic { email: String, token: SecretString },
    /// Tokens from an OAuth grant the caller completed with the operator's app.
    OAuth {
        access_token: SecretString,
        refresh_token: SecretString,
        expires_in: i64,
        instance_url: Option<String>,
    },
}

impl NewCredential {
    pub(crate) fn into_credential(self) -> Result<Credential, CoreError> {
        let check = |field: &'static str, s: &SecretString| {
            let v = s.expose();
            if v.trim().is_empty() || v.len() > 4096 || v.chars().any(char::is_control) {
                return Err(CoreError::invalid(
                    field,
                    "must be 1 to 4096 printable characters",
                ));
            }
            Ok(())
        };
        Ok(match self {
            NewCredential::WebhookUrl(u) => {
                check("credential.webhook_url", &u)?;
                Credential::WebhookUrl(u)
            }
            NewCredential::Token(t) => {
                check("credential.token", &t)?;
                Credential::Token(t)
            }
            NewCredential::Basic { email, token } => {
                check("credential.api_token", &token)?;
                if !meetvault_integrations::item::plausible_email(&email) {
                    return Err(CoreError::invalid("credential.email", "is not an address"));
                }
                Credential::Basic { email, token }
            }
            NewCredential::OAuth {
                access_token,
                refresh_token,
                expires_in,
                instance_url,
            } => {
                check("credential.access_token", &access_token)?;
                check("credential.refresh_token", &refresh_token)?;
                Credential::OAuth(OAuthTokens {
                    access_token,
                    refresh_token,
                    expires_at: Utc::now() + TimeDelta::seconds(expires_in.clamp(0, 366 * 86_400)),
                    instance_url,
                })
            }
        })
    }
}

/// A new connection.
#[derive(Debug, Clone)]
pub struct NewIntegration {
    pub kind: String,
    pub name: Option<String>,
    /// Only this workspace's meetings.
    pub workspace_id: Option<WorkspaceId>,
    /// Only this person's own meetings.
    pub user_id: Option<UserId>,
    /// The API base: required for Jira (the site) and Salesforce (the instance); the
    /// provider's public one otherwise.
    pub base_url: Option<String>,
    pub destination: Option<String>,
    pub issue_type: Option<String>,
    pub jira_deployment: Option<JiraDeployment>,
    pub external_id_field: Option<String>,
    /// Required here; absent when connecting by consent (`Integrations::start_oauth`).
    pub credential: Option<NewCredential>,
    /// Post each summary (default: for providers that take summaries).
    pub on_summary: Option<bool>,
    /// Create an issue or task per action item (default: for trackers and CRMs).
    pub on_action_items: Option<bool>,
    /// Wait for an approver before sending (default: for trackers and CRMs).
    pub approval: Option<bool>,
    /// Replace personal data (emails, phone numbers, card numbers…) with placeholders before
    /// sending (default on).
    pub redact_pii: Option<bool>,
}

/// A connection waiting for its provider's consent: its settings (stored with the `state`
/// until the callback; configuration, no content or secret).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Pending {
    pub kind: String,
    pub name: Option<String>,
    pub workspace_id: Option<uuid::Uuid>,
    pub user_id: Option<uuid::Uuid>,
    pub base_url: Option<String>,
    pub destination: Option<String>,
    pub issue_type: Option<String>,
    pub jira_deployment: Option<JiraDeployment>,
    pub external_id_field: Option<String>,
    pub on_summary: Option<bool>,
    pub on_action_items: Option<bool>,
    pub approval: Option<bool>,
    pub redact_pii: Option<bool>,
}

impl Pending {
    pub(crate) fn of(n: &NewIntegration) -> Self {
        Self {
            kind: n.kind.clone(),
            name: n.name.clone(),
            workspace_id: n.workspace_id.map(|w| w.0),
            user_id: n.user_id.map(UserId::uuid),
            base_url: n.base_url.clone(),
            destination: n.destination.clone(),
            issue_type: n.issue_type.clone(),
            jira_deployment: n.jira_deployment,
            external_id_field: n.external_id_field.clone(),
            on_summary: n.on_summary,
            on_action_items: n.on_action_items,
            approval: n.approval,
            redact_pii: n.redact_pii,
        }
    }

    pub(crate) fn into_new(self) -> NewIntegration {
        NewIntegration {
            kind: self.kind,
            name: self.name,
            workspace_id: self.workspace_id.map(WorkspaceId),
            user_id: self.user_id.map(UserId),
            base_url: self.base_url,
            destination: self.destination,
            issue_type: self.issue_type,
            jira_deployment: self.jira_deployment,
            external_id_field: self.external_id_field,
            credential: None,
            on_summary: self.on_summary,
            on_action_items: self.on_action_items,
            approval: self.approval,
            redact_pii: self.redact_pii,
        }
    }
}

/// A change to a connection; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct IntegrationPatch {
    pub name: Option<String>,
    pub destination: Option<String>,
    pub issue_type: Option<String>,
    pub on_summary: Option<bool>,
    pub on_action_items: Option<bool>,
    pub approval: Option<bool>,
    pub redact_pii: Option<bool>,
    pub enabled: Option<bool>,
    /// A new credential: checked with the provider, and a broken connection works again.
    pub credential: Option<NewCredential>,
}

/// A connection as its managers read it: never the credential, only its kind, `…` + its last
/// four characters and when it was set.
#[derive(Debug, Clone)]
pub struct IntegrationView {
    pub id: IntegrationId,
    pub kind: Kind,
    pub name: String,
    pub workspace_id: Option<WorkspaceId>,
    pub user_id: Option<UserId>,
    pub base_url: String,
    pub destination: Option<String>,
    pub issue_type: Option<String>,
    pub jira_deployment: JiraDeployment,
    pub credential_kind: String,
    pub credential_hint: String,
    pub credential_set_at: DateTime<Utc>,
    /// When an OAuth access token expires (refreshed before it does).
    pub credential_expires_at: Option<DateTime<Utc>>,
    /// Who the credential belongs to, as the provider said when it was checked.
    pub account: String,
    pub on_summary: bool,
    pub on_action_items: bool,
    pub approval: bool,
    pub redact_pii: bool,
    pub enabled: bool,
    /// `active`, or `broken` (reconnect with a new credential).
    pub status: String,
    pub status_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One proposed item: with its content (exactly what is sent) in the approval queue.
#[derive(Debug, Clone)]
pub struct ItemView {
    pub id: IntegrationItemId,
    pub integration_id: IntegrationId,
    pub kind: Kind,
    pub meeting_id: MeetingId,
    pub state: String,
    /// The item's title, when its content was opened.
    pub title: Option<String>,
    /// What is sent; `None` when it can no longer be opened (the meeting was deleted) or the
    /// list leaves content out.
    pub item: Option<Item>,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub external_id: Option<String>,
    pub external_url: Option<String>,
    pub decided_by: Option<UserId>,
    pub decided_at: Option<DateTime<Utc>>,
    pub edited: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One attempt in a connection's delivery log (no content, provider text bounded).
#[derive(Debug, Clone)]
pub struct AttemptView {
    pub item_id: IntegrationItemId,
    pub at: DateTime<Utc>,
    pub outcome: String,
    pub error: Option<String>,
    pub latency_ms: i64,
}

/// A connection's delivery log: its items (newest last) and attempts (newest first).
#[derive(Debug, Clone)]
pub struct DeliveryLog {
    pub items: Vec<ItemView>,
    pub attempts: Vec<AttemptView>,
}

/// An approver's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Reject,
}

/// The credential as sealed under the org's key.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Stored {
    WebhookUrl {
        url: String,
    },
    Token {
        token: String,
    },
    Basic {
        email: String,
        token: String,
    },
    #[serde(rename = "oauth")]
    OAuth {
        access_token: String,
        refresh_token: String,
        expires_at_ms: i64,
        instance_url: Option<String>,
    },
}

impl Stored {
    pub(crate) fn of(c: &Credential) -> Self {
        match c {
            Credential::WebhookUrl(u) => Stored::WebhookUrl {
                url: u.expose().to_owned(),
            },
            Credential::Token(t) => Stored::Token {
                token: t.expose().to_owned(),
            },
            Credential::Basic { email, token } => Stored::Basic {
                email: email.clone(),
                token: token.expose().to_owned(),
            },
            Credential::OAuth(t) => Stored::OAuth {
                access_token: t.access_token.expose().to_owned(),
                refresh_token: t.refresh_token.expose().to_owned(),
                expires_at_ms: t.expires_at.timestamp_millis(),
                instance_url: t.instance_url.clone(),
            },
        }
    }

    pub(crate) fn to_credential(&self) -> Credential {
        match self {
            Stored::WebhookUrl { url } => Credential::WebhookUrl(SecretString::new(url.clone())),
            Stored::Token { token } => Credential::Token(SecretString::new(token.clone())),
            Stored::Basic { email, token } => Credential::Basic {
                email: email.clone(),
                token: SecretString::new(token.clone()),
            },
            Stored::OAuth {
                access_token,
                refresh_token,
                expires_at_ms,
                instance_url,
            } => Credential::OAuth(OAuthTokens {
                access_token: SecretString::new(access_token.clone()),
                refresh_token: SecretString::new(refresh_token.clone()),
                expires_at: DateTime::from_timestamp_millis(*expires_at_ms).unwrap_or_default(),
                instance_url: instance_url.clone(),
            }),
        }
    }

    /// The JSON to seal, wiped when dropped.
    pub(crate) fn to_json(&self) -> Result<Zeroizing<Vec<u8>>, CoreError> {
        serde_json::to_vec(self)
            .map(Zeroizing::new)
            .map_err(CoreError::internal)
    }
}

impl Drop for Stored {
    fn drop(&mut self) {
        use zeroize::Zeroize as _;
        match self {
            Stored::WebhookUrl { url } => url.zeroize(),
            Stored::Token { token } | Stored::Basic { token, .. } => token.zeroize(),
            Stored::OAuth {
                access_token,
                refresh_token,
                ..
            } => {
                access_token.zeroize();
                refresh_token.zeroize();
            }
        }
    }
}

/// The kind of a credential as a view names it.
pub(crate) fn credential_kind(c: &Credential) -> &'static str {
    match c {
        Credential::WebhookUrl(_) => "webhook_url",
        Credential::Token(_) => "token",
        Credential::Basic { .. } => "basic",
        Credential::OAuth(_) => "oauth",
    }
}

/// When an OAuth credential's access token expires.
pub(crate) fn credential_expiry(c: &Credential) -> Option<i64> {
    match c {
        Credential::OAuth(t) => Some(t.expires_at.timestamp_millis()),
        _ => None,
    }
}

/// `…` + the last four characters of the credential's secret.
pub(crate) fn credential_hint(c: &Credential) -> String {
    hint(c.secret_for_hint())
}

/// Which credentials a provider takes.
pub(crate) fn accepts(kind: Kind, c: &Credential) -> bool {
    matches!(
        (kind, c),
        (
            Kind::Slack,
            Credential::WebhookUrl(_) | Credential::Token(_)
        ) | (
            Kind::Jira,
            Credential::Basic { .. } | Credential::Token(_) | Credential::OAuth(_)
        ) | (Kind::GoogleDrive | Kind::Salesforce, Credential::OAuth(_))
            | (
                Kind::Notion | Kind::Linear | Kind::Hubspot,
                Credential::Token(_) | Credential::OAuth(_)
            )
    )
}

/// The target a new connection describes, checked.
pub(crate) fn target_of(n: &NewIntegration, kind: Kind) -> Result<Target, CoreError> {
    let base = match (&n.base_url, kind.default_base()) {
        (Some(b), _) => b.trim().to_owned(),
        (None, Some(d)) => d.to_owned(),
        (None, None) => {
            return Err(CoreError::invalid(
                "base_url",
                format!("{} needs its site's URL (https://…)", kind.as_str()),
            ));
        }
    };
    if base.len() > 2048 {
        return Err(CoreError::invalid(
            "base_url",
            "is longer than 2048 characters",
        ));
    }
    let base_url = url::Url::parse(&base)
        .map_err(|e| CoreError::invalid("base_url", format!("is not a URL ({e})")))?;
    let target = Target {
        kind,
        base_url,
        destination: n.destination.clone(),
        issue_type: n.issue_type.clone(),
        jira: n.jira_deployment.unwrap_or_default(),
        external_id_field: n.external_id_field.clone(),
    };
    target
        .check()
        .map_err(|e| CoreError::invalid("target", e.to_string()))?;
    Ok(target)
}

/// A name: trimmed, 1 to [`MAX_NAME`] characters, no control characters.
pub(crate) fn check_name(name: &str) -> Result<String, CoreError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(CoreError::invalid(
            "name",
            format!("must be 1 to {MAX_NAME} characters without control characters"),
        ));
    }
    Ok(name.to_owned())
}
