//! Integrations: connections (never their credential), the approval queue with exactly what
//! would be sent, and each connection's delivery log.

use chrono::{DateTime, NaiveDate, Utc};
use meetvault_core::ids::{IntegrationId, IntegrationItemId, MeetingId, UserId, WorkspaceId};
use meetvault_core::integrations::{
    self as core, AttemptView, DeliveryLog as CoreLog, IntegrationView, ItemView, JiraDeployment,
    SecretString,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ids;
use super::list_of;

/// The provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    Slack,
    Notion,
    GoogleDrive,
    Linear,
    Jira,
    Hubspot,
    Salesforce,
}

impl From<core::Kind> for Provider {
    fn from(k: core::Kind) -> Self {
        match k {
            core::Kind::Slack => Self::Slack,
            core::Kind::Notion => Self::Notion,
            core::Kind::GoogleDrive => Self::GoogleDrive,
            core::Kind::Linear => Self::Linear,
            core::Kind::Jira => Self::Jira,
            core::Kind::Hubspot => Self::Hubspot,
            core::Kind::Salesforce => Self::Salesforce,
        }
    }
}

impl Provider {
    fn as_str(self) -> &'static str {
        match self {
            Self::Slack => "slack",
            Self::Notion => "notion",
            Self::GoogleDrive => "google_drive",
            Self::Linear => "linear",
            Self::Jira => "jira",
            Self::Hubspot => "hubspot",
            Self::Salesforce => "salesforce",
        }
    }
}

/// Jira Cloud (REST v3) or Data Center (REST v2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JiraKind {
    Cloud,
    DataCenter,
}

impl From<JiraDeployment> for JiraKind {
    fn from(d: JiraDeployment) -> Self {
        match d {
            JiraDeployment::Cloud => Self::Cloud,
            JiraDeployment::DataCenter => Self::DataCenter,
        }
    }
}

impl From<JiraKind> for JiraDeployment {
    fn from(d: JiraKind) -> Self {
        match d {
            JiraKind::Cloud => Self::Cloud,
            JiraKind::DataCenter => Self::DataCenter,
        }
    }
}

/// A credential: exactly one of its shapes. Never returned.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, tag = "type", rename_all = "snake_case")]
pub enum NewCredential {
    /// A Slack incoming webhook URL (`https://hooks.slack.com/services/…`).
    WebhookUrl { url: String },
    /// A Slack bot token, a Notion internal integration token, a Linear API key, a HubSpot
    /// private app token or a Jira Data Center personal access token.
    Token { token: String },
    /// Jira Cloud: the account's email and an API token.
    Basic { email: String, api_token: String },
    /// Tokens of an OAuth grant made with the operator's app (`[integrations.oauth.*]`
    /// refreshes them).
    Oauth {
        access_token: String,
        refresh_token: String,
        /// Seconds until the access token expires.
        expires_in: i64,
        /// Salesforce's instance URL, as the token answer gave it.
        #[serde(default)]
        instance_url: Option<String>,
    },
}

impl std::fmt::Debug for NewCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewCredential([redacted])")
    }
}

impl From<NewCredential> for core::NewCredential {
    fn from(c: NewCredential) -> Self {
        match c {
            NewCredential::WebhookUrl { url } => Self::WebhookUrl(SecretString::new(url)),
            NewCredential::Token { token } => Self::Token(SecretString::new(token)),
            NewCredential::Basic { email, api_token } => Self::Basic {
                email,
                token: SecretString::new(api_token),
            },
            NewCredential::Oauth {
                access_token,
                refresh_token,
                expires_in,
                instance_url,
            } => Self::OAuth {
                access_token: SecretString::new(access_token),
                refresh_token: SecretString::new(refresh_token),
                expires_in,
                instance_url,
            },
        }
    }
}

/// A new connection. The credential is checked with the provider's cheapest authenticated
/// call before anything is stored.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"provider": "linear", "name": "Product team", "destination": "TEAM-UUID", "credential": {"type": "token", "token": "lin_api_…"}}))]
pub struct NewIntegration {
    pub provider: Provider,
    #[serde(default)]
    pub name: Option<String>,
    /// Only this workspace's meetings (absent: the org's, or `user_id`'s).
    #[serde(default)]
    #[schema(value_type = Option<ids::WorkspaceId>)]
    pub workspace_id: Option<WorkspaceId>,
    /// Only this member's own meetings.
    #[serde(default)]
    #[schema(value_type = Option<ids::UserId>)]
    pub user_id: Option<UserId>,
    /// The API base: required for Jira (the site, `https://acme.atlassian.net`) and
    /// Salesforce (the instance URL); the provider's public API otherwise. Checked against
    /// private and internal addresses now and at every call.
    #[serde(default)]
    pub base_url: Option<String>,
    /// A Slack channel id, a Notion parent page id, a Drive folder id, a Linear team id, a
    /// Jira project key.
    #[serde(default)]
    pub destination: Option<String>,
    /// Jira's issue type (default `Task`).
    #[serde(default)]
    pub issue_type: Option<String>,
    #[serde(default)]
    pub jira_deployment: Option<JiraKind>,
    /// Salesforce's external id field on Task (default `Meetvault_Id__c`).
    #[serde(default)]
    pub external_id_field: Option<String>,
    pub credential: NewCredential,
    /// Send each summary (default: Slack, Notion, Drive, HubSpot, Salesforce).
    #[serde(default)]
    pub on_summary: Option<bool>,
    /// Create an issue or task per action item (default: Linear, Jira, HubSpot, Salesforce).
    #[serde(default)]
    pub on_action_items: Option<bool>,
    /// Wait for an approver (`approvals:decide`) before anything is sent (default: Linear,
    /// Jira, HubSpot, Salesforce).
    #[serde(default)]
    pub approval: Option<bool>,
    /// Replace personal data with placeholders before sending (default true).
    #[serde(default)]
    pub redact_pii: Option<bool>,
}

impl From<NewIntegration> for core::NewIntegration {
    fn from(n: NewIntegration) -> Self {
        Self {
            kind: n.provider.as_str().to_owned(),
            name: n.name,
            workspace_id: n.workspace_id,
            user_id: n.user_id,
            base_url: n.base_url,
            destination: n.destination,
            issue_type: n.issue_type,
            jira_deployment: n.jira_deployment.map(Into::into),
            external_id_field: n.external_id_field,
            credential: Some(n.credential.into()),
            on_summary: n.on_summary,
            on_action_items: n.on_action_items,
            approval: n.approval,
            redact_pii: n.redact_pii,
        }
    }
}

/// A change: absent fields stay. A new `credential` is checked with the provider and makes a
/// broken connection work again.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntegrationPatch {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub destination: Option<String>,
    #[serde(default)]
    pub issue_type: Option<String>,
    #[serde(default)]
    pub on_summary: Option<bool>,
    #[serde(default)]
    pub on_action_items: Option<bool>,
    #[serde(default)]
    pub approval: Option<bool>,
    #[serde(default)]
    pub redact_pii: Option<bool>,
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub credential: Option<NewCredential>,
}

impl From<IntegrationPatch> for core::IntegrationPatch {
    fn from(p: IntegrationPatch) -> Self {
        Self {
            name: p.name,
            destination: p.destination,
            issue_type: p.issue_type,
            on_summary: p.on_summary,
            on_action_items: p.on_action_items,
            approval: p.approval,
            redact_pii: p.redact_pii,
            enabled: p.enabled,
            credential: p.credential.map(Into::into),
        }
    }
}

/// How the connection authenticates: its kind, `…` and the last four characters of its
/// secret, and when it was set. The secret itself is never returned.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CredentialSummary {
    /// `webhook_url`, `token`, `basic` or `oauth`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `…` + the last four characters (`…` alone for short secrets).
    pub hint: String,
    pub set_at: DateTime<Utc>,
    /// When an OAuth access token expires; meetvault refreshes it before then.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A connection.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Integration {
    #[schema(value_type = ids::IntegrationId)]
    pub id: IntegrationId,
    pub provider: Provider,
    pub name: String,
    #[schema(value_type = Option<ids::WorkspaceId>)]
    pub workspace_id: Option<WorkspaceId>,
    #[schema(value_type = Option<ids::UserId>)]
    pub user_id: Option<UserId>,
    pub base_url: String,
    pub destination: Option<String>,
    pub issue_type: Option<String>,
    pub jira_deployment: JiraKind,
    pub credential: CredentialSummary,
    /// Who the credential belongs to, as the provider said when it was checked.
    pub account: String,
    pub on_summary: bool,
    pub on_action_items: bool,
    pub approval: bool,
    pub redact_pii: bool,
    pub enabled: bool,
    /// `active`, or `broken`: the provider refused the credential; send a new one.
    pub status: String,
    pub status_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<IntegrationView> for Integration {
    fn from(v: IntegrationView) -> Self {
        Self {
            id: v.id,
            provider: v.kind.into(),
            name: v.name,
            workspace_id: v.workspace_id,
            user_id: v.user_id,
            base_url: v.base_url,
            destination: v.destination,
            issue_type: v.issue_type,
            jira_deployment: v.jira_deployment.into(),
            credential: CredentialSummary {
                kind: v.credential_kind,
                hint: v.credential_hint,
                set_at: v.credential_set_at,
                expires_at: v.credential_expires_at,
            },
            account: v.account,
            on_summary: v.on_summary,
            on_action_items: v.on_action_items,
            approval: v.approval,
            redact_pii: v.redact_pii,
            enabled: v.enabled,
            status: v.status,
            status_reason: v.status_reason,
            created_at: v.created_at,
            updated_at: v.updated_at,
        }
    }
}

list_of!(IntegrationList { integrations: Vec<Integration> } from IntegrationView);

/// Exactly what is sent: a summary or one action item.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ItemContent {
    Summary {
        title: String,
        /// Markdown (headings, bullet lists).
        markdown: String,
        /// Back to the meeting.
        link: String,
        /// Attendees' addresses, used only to find CRM contacts.
        #[serde(default)]
        attendee_emails: Vec<String>,
    },
    Task {
        title: String,
        notes: String,
        /// Mapped to the provider's user by email.
        #[serde(default)]
        owner_email: Option<String>,
        #[serde(default)]
        due: Option<NaiveDate>,
        /// Back to the moment in the meeting.
        link: String,
    },
}

impl From<core::Item> for ItemContent {
    fn from(i: core::Item) -> Self {
        match i {
            core::Item::Summary(s) => Self::Summary {
                title: s.title,
                markdown: s.markdown,
                link: s.link,
                attendee_emails: s.attendee_emails,
            },
            core::Item::Task(t) => Self::Task {
                title: t.title,
                notes: t.notes,
                owner_email: t.owner_email,
                due: t.due,
                link: t.link,
            },
        }
    }
}

impl From<ItemContent> for core::Item {
    fn from(i: ItemContent) -> Self {
        match i {
            ItemContent::Summary {
                title,
                markdown,
                link,
                attendee_emails,
            } => Self::Summary(core::Summary {
                title,
                markdown,
                link,
                attendee_emails,
            }),
            ItemContent::Task {
                title,
                notes,
                owner_email,
                due,
                link,
            } => Self::Task(core::Task {
                title,
                notes,
                owner_email,
                due,
                link,
            }),
        }
    }
}

/// A proposed summary or action item.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IntegrationItem {
    #[schema(value_type = ids::IntegrationItemId)]
    pub id: IntegrationItemId,
    #[schema(value_type = ids::IntegrationId)]
    pub integration_id: IntegrationId,
    pub provider: Provider,
    #[schema(value_type = ids::MeetingId)]
    pub meeting_id: MeetingId,
    /// `awaiting_approval`, `queued`, `sent`, `rejected` or `failed`.
    pub state: String,
    /// With the content only (titles are content: never stored in the clear).
    pub title: Option<String>,
    /// What is sent (in the approval queue; absent in the delivery log, or when its meeting
    /// was deleted).
    pub content: Option<ItemContent>,
    pub attempts: i32,
    pub last_error: Option<String>,
    /// The provider's id once sent (a message `ts`, a page id, an issue key, a task id).
    pub external_id: Option<String>,
    pub external_url: Option<String>,
    #[schema(value_type = Option<ids::UserId>)]
    pub decided_by: Option<UserId>,
    pub decided_at: Option<DateTime<Utc>>,
    /// An approver changed it before it was sent.
    pub edited: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<ItemView> for IntegrationItem {
    fn from(v: ItemView) -> Self {
        Self {
            id: v.id,
            integration_id: v.integration_id,
            provider: v.kind.into(),
            meeting_id: v.meeting_id,
            state: v.state,
            title: v.title,
            content: v.item.map(Into::into),
            attempts: v.attempts,
            last_error: v.last_error,
            external_id: v.external_id,
            external_url: v.external_url,
            decided_by: v.decided_by,
            decided_at: v.decided_at,
            edited: v.edited,
            created_at: v.created_at,
            updated_at: v.updated_at,
        }
    }
}

list_of!(ApprovalList { approvals: Vec<IntegrationItem> } from ItemView);

/// An approver's edit (the item keeps waiting).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApprovalEdit {
    pub content: ItemContent,
}

/// An approval, optionally with the edited content to send instead.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApprovalDecision {
    #[serde(default)]
    pub content: Option<ItemContent>,
}

/// One attempt at sending.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IntegrationAttempt {
    #[schema(value_type = ids::IntegrationItemId)]
    pub item_id: IntegrationItemId,
    pub at: DateTime<Utc>,
    /// `sent`, `rate_limited`, `unavailable`, `unauthorized` or `refused`.
    pub outcome: String,
    /// The provider's answer, bounded; never content or credentials.
    pub error: Option<String>,
    pub latency_ms: i64,
}

impl From<AttemptView> for IntegrationAttempt {
    fn from(a: AttemptView) -> Self {
        Self {
            item_id: a.item_id,
            at: a.at,
            outcome: a.outcome,
            error: a.error,
            latency_ms: a.latency_ms,
        }
    }
}

/// A connection's delivery log: its items (without content) and every attempt, newest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IntegrationLog {
    pub items: Vec<IntegrationItem>,
    pub attempts: Vec<IntegrationAttempt>,
}

impl From<CoreLog> for IntegrationLog {
    fn from(l: CoreLog) -> Self {
        Self {
            items: l.items.into_iter().map(Into::into).collect(),
            attempts: l.attempts.into_iter().map(Into::into).collect(),
        }
    }
}

/// A connection to make by consent: everything but the credential, which the provider's
/// consent gives.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"provider": "google_drive", "destination": "1FolderAbc", "workspace_id": "wsp_0192f1c4a6e87c3d9b5e2f1a0c4d6e8f"}))]
pub struct OAuthStart {
    pub provider: Provider,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<ids::WorkspaceId>)]
    pub workspace_id: Option<WorkspaceId>,
    #[serde(default)]
    #[schema(value_type = Option<ids::UserId>)]
    pub user_id: Option<UserId>,
    /// As for a new connection (Salesforce's comes from the token answer).
    #[serde(default)]
    pub base_url: Option<String>,
    #[serde(default)]
    pub destination: Option<String>,
    #[serde(default)]
    pub issue_type: Option<String>,
    #[serde(default)]
    pub jira_deployment: Option<JiraKind>,
    #[serde(default)]
    pub external_id_field: Option<String>,
    #[serde(default)]
    pub on_summary: Option<bool>,
    #[serde(default)]
    pub on_action_items: Option<bool>,
    #[serde(default)]
    pub approval: Option<bool>,
    #[serde(default)]
    pub redact_pii: Option<bool>,
}

impl From<OAuthStart> for core::NewIntegration {
    fn from(n: OAuthStart) -> Self {
        Self {
            kind: n.provider.as_str().to_owned(),
            name: n.name,
            workspace_id: n.workspace_id,
            user_id: n.user_id,
            base_url: n.base_url,
            destination: n.destination,
            issue_type: n.issue_type,
            jira_deployment: n.jira_deployment.map(Into::into),
            external_id_field: n.external_id_field,
            credential: None,
            on_summary: n.on_summary,
            on_action_items: n.on_action_items,
            approval: n.approval,
            redact_pii: n.redact_pii,
        }
    }
}

/// Where to send the person: the provider's consent page. It comes back to
/// `/api/v1/integrations/oauth/callback` within ten minutes.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OAuthStarted {
    pub authorization_url: String,
}
