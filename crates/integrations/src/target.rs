//! Where a connection sends ([`Target`]: the provider, its API base URL and the destination in
//! it) and how it authenticates ([`Credential`]). A target is plain settings, stored as JSON; a
//! credential is secret and never serialized here (the server seals it).

use serde::{Deserialize, Serialize};
use url::Url;

use crate::SecretString;
use crate::error::IntegrationError;
use crate::oauth::OAuthTokens;

/// The seven providers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Slack,
    Notion,
    GoogleDrive,
    Linear,
    Jira,
    Hubspot,
    Salesforce,
}

impl Kind {
    /// Every provider.
    pub const ALL: [Kind; 7] = [
        Kind::Slack,
        Kind::Notion,
        Kind::GoogleDrive,
        Kind::Linear,
        Kind::Jira,
        Kind::Hubspot,
        Kind::Salesforce,
    ];

    /// The name in the API and the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Slack => "slack",
            Kind::Notion => "notion",
            Kind::GoogleDrive => "google_drive",
            Kind::Linear => "linear",
            Kind::Jira => "jira",
            Kind::Hubspot => "hubspot",
            Kind::Salesforce => "salesforce",
        }
    }

    /// The provider named `s`.
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// CRMs and trackers: what they receive waits for approval unless the connection says
    /// otherwise.
    pub fn approval_by_default(self) -> bool {
        matches!(
            self,
            Kind::Linear | Kind::Jira | Kind::Hubspot | Kind::Salesforce
        )
    }

    /// Whether it takes action items (issues or tasks); the others take summaries only.
    pub fn takes_tasks(self) -> bool {
        self.approval_by_default()
    }

    /// Whether it takes summaries (every provider but the trackers).
    pub fn takes_summaries(self) -> bool {
        !matches!(self, Kind::Linear | Kind::Jira)
    }

    /// The public API base, when the provider has one (Jira and Salesforce are per site).
    pub fn default_base(self) -> Option<&'static str> {
        match self {
            Kind::Slack => Some("https://slack.com/api/"),
            Kind::Notion => Some("https://api.notion.com/"),
            Kind::GoogleDrive => Some("https://www.googleapis.com/"),
            Kind::Linear => Some("https://api.linear.app/"),
            Kind::Hubspot => Some("https://api.hubapi.com/"),
            Kind::Jira | Kind::Salesforce => None,
        }
    }
}

/// Jira's two deployments: Cloud (REST v3, email + API token or OAuth) and Data Center (REST
/// v2, a personal access token).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum JiraDeployment {
    #[default]
    Cloud,
    DataCenter,
}

/// Where a connection sends. Stored as JSON beside the sealed credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// The provider.
    pub kind: Kind,
    /// The API base (the provider's public one, a Jira site, a Salesforce instance URL). For a
    /// Slack incoming webhook it is unused: the webhook URL is the credential.
    pub base_url: Url,
    /// The destination in it: a Slack channel id, a Notion parent page id, a Drive folder id, a
    /// Linear team id, a Jira project key. HubSpot and Salesforce need none.
    #[serde(default)]
    pub destination: Option<String>,
    /// Jira's issue type (`Task` when unset).
    #[serde(default)]
    pub issue_type: Option<String>,
    /// Jira's deployment.
    #[serde(default)]
    pub jira: JiraDeployment,
    /// Salesforce's external id field on Task, which makes a retried create an upsert
    /// (`Meetvault_Id__c` when unset; an admin creates it once, see docs/integrations.md).
    #[serde(default)]
    pub external_id_field: Option<String>,
}

impl Target {
    /// A target at the provider's public API base.
    pub fn public(kind: Kind, destination: Option<&str>) -> Result<Self, IntegrationError> {
        let base = kind.default_base().ok_or_else(|| {
            IntegrationError::Invalid(format!("{} needs its site's base URL", kind.as_str()))
        })?;
        Ok(Self {
            kind,
            base_url: Url::parse(base).map_err(|e| IntegrationError::Invalid(e.to_string()))?,
            destination: destination.map(str::to_owned),
            issue_type: None,
            jira: JiraDeployment::Cloud,
            external_id_field: None,
        })
    }

    /// The settings are usable: an http(s) base without credentials, query or fragment, and
    /// the destination the provider needs, in a safe shape.
    pub fn check(&self) -> Result<(), IntegrationError> {
        let u = &self.base_url;
        if !matches!(u.scheme(), "https" | "http")
            || !u.username().is_empty()
            || u.password().is_some()
            || u.query().is_some()
            || u.fragment().is_some()
        {
            return Err(IntegrationError::Invalid(
                "base_url must be an https URL without credentials, query or fragment".into(),
            ));
        }
        let needs = match self.kind {
            Kind::Notion => Some("the parent page id"),
            Kind::GoogleDrive => Some("the folder id"),
            Kind::Linear => Some("the team id"),
            Kind::Jira => Some("the project key"),
            Kind::Slack | Kind::Hubspot | Kind::Salesforce => None,
        };
        match (&self.destination, needs) {
            (None, Some(what)) => {
                return Err(IntegrationError::Invalid(format!(
                    "{} needs a destination: {what}",
                    self.kind.as_str()
                )));
            }
            (Some(d), _) if !safe_id(d) => {
                return Err(IntegrationError::Invalid(
                    "destination must be 1 to 128 letters, digits, '-', '_' or '.'".into(),
                ));
            }
            _ => {}
        }
        for (name, v) in [
            ("issue_type", &self.issue_type),
            ("external_id_field", &self.external_id_field),
        ] {
            if let Some(v) = v
                && !(safe_id(v) || (name == "issue_type" && safe_label(v)))
            {
                return Err(IntegrationError::Invalid(format!(
                    "{name} must be letters, digits, '-', '_' or '.'"
                )));
            }
        }
        Ok(())
    }

    /// The destination, or the error naming it (after [`Target::check`], present when needed).
    pub fn destination(&self) -> Result<&str, IntegrationError> {
        self.destination
            .as_deref()
            .ok_or_else(|| IntegrationError::Invalid("no destination set".into()))
    }
}

/// Ids that go into paths, JQL and SOQL: nothing that could change their meaning.
pub fn safe_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn safe_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_alphanumeric() || c == ' ' || c == '-')
}

/// How a connection authenticates. Never serialized here; `Debug` shows no secret.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A Slack incoming webhook: the URL is the secret.
    WebhookUrl(SecretString),
    /// A bearer-style token: a Slack bot token, a Notion internal integration token, a Linear
    /// API key, a HubSpot private app token, a Jira Data Center personal access token.
    Token(SecretString),
    /// Jira Cloud: the account's email and an API token (HTTP Basic).
    Basic {
        /// The account's email.
        email: String,
        /// The API token.
        token: SecretString,
    },
    /// OAuth 2.0 tokens (refreshed by the caller before expiry, see [`crate::oauth`]).
    OAuth(OAuthTokens),
}

impl Credential {
    /// The secret a response may show the end of (`…` + its last 4 characters).
    pub fn secret_for_hint(&self) -> &SecretString {
        match self {
            Credential::WebhookUrl(s) | Credential::Token(s) => s,
            Credential::Basic { token, .. } => token,
            Credential::OAuth(t) => &t.refresh_token,
        }
    }

    /// The bearer token of a token or OAuth credential.
    pub fn bearer_token(&self) -> Result<&SecretString, IntegrationError> {
        match self {
            Credential::Token(t) => Ok(t),
            Credential::OAuth(t) => Ok(&t.access_token),
            Credential::WebhookUrl(_) | Credential::Basic { .. } => Err(IntegrationError::Invalid(
                "this provider needs a token or an OAuth grant".into(),
            )),
        }
    }
}

/// `…` and the last four characters of `secret` (all of it hidden when shorter than 12).
pub fn hint(secret: &SecretString) -> String {
    let s = secret.expose();
    let n = s.chars().count();
    if n < 12 {
        return "…".into();
    }
    let tail: String = s.chars().skip(n - 4).collect();
    format!("…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_trackers_wait_for_approval() {
        for k in Kind::ALL {
            assert_eq!(Kind::parse(k.as_str()), Some(k));
        }
        assert!(Kind::Jira.approval_by_default() && !Kind::Slack.approval_by_default());
        assert_eq!(Kind::parse("teams"), None);
    }

    #[test]
    fn destinations_that_could_change_a_query_are_refused() {
        let mut t = Target::public(Kind::Linear, Some("TEAM-1")).unwrap();
        assert!(t.check().is_ok());
        for bad in ["", "a b", "x' OR 1=1", "../x", "a\"b", &"a".repeat(129)] {
            t.destination = Some(bad.into());
            assert!(t.check().is_err(), "{bad}");
        }
        t.destination = None;
        assert!(t.check().is_err());
        let mut t = Target::public(Kind::Hubspot, None).unwrap();
        assert!(t.check().is_ok());
        t.base_url = Url::parse("https://u:p@api.hubapi.com/").unwrap();
        assert!(t.check().is_err());
    }

    #[test]
    fn the_hint_shows_only_the_last_four() {
        assert_eq!(hint(&SecretString::new("xoxb-1234567890-abcd")), "…abcd");
        assert_eq!(hint(&SecretString::new("short")), "…");
    }
}
