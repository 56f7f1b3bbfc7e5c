//! Integrations (`[integrations]`): how often the outbox is read for finished summaries, the
//! per-org outbound rate limit at each provider, and the OAuth apps meetvault refreshes
//! connections' tokens with. Parsing only: the flow lives in `core::integrations`, the requests
//! in `meetvault-integrations`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::{ConfigError, Secret};

/// The providers a key of `[integrations.oauth.*]` may name.
pub const OAUTH_PROVIDERS: [&str; 7] = [
    "slack",
    "notion",
    "google_drive",
    "linear",
    "jira",
    "hubspot",
    "salesforce",
];

/// `[integrations]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IntegrationsConfig {
    /// How often the outbox is read for new summaries (milliseconds).
    pub poll_ms: u64,
    /// Requests one org may send to one provider per minute (a burst of this many, then evenly
    /// spread), so one customer cannot spend a provider's quota for everyone.
    pub requests_per_minute: u32,
    /// Attempts at one item before it is marked failed (rate-limit waits included).
    pub max_attempts: u32,
    /// The OAuth apps, by provider (`[integrations.oauth.google_drive]`, …): used to refresh
    /// the access tokens of connections made with OAuth.
    pub oauth: BTreeMap<String, IntegrationOAuthApp>,
}

impl Default for IntegrationsConfig {
    fn default() -> Self {
        Self {
            poll_ms: 1000,
            requests_per_minute: 60,
            max_attempts: 8,
            oauth: BTreeMap::new(),
        }
    }
}

/// `[integrations.oauth.<provider>]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntegrationOAuthApp {
    pub client_id: String,
    pub client_secret: Secret,
    /// The provider's token endpoint (Google `https://oauth2.googleapis.com/token`, Salesforce
    /// `https://login.salesforce.com/services/oauth2/token`, …).
    pub token_url: Url,
    /// The consent page users are sent to when they connect (default: the provider's
    /// published one). Redirect URI to register: `{server.public_url}/api/v1/integrations/oauth/callback`.
    #[serde(default)]
    pub authorize_url: Option<Url>,
    /// The scopes asked for (default: the least meetvault needs, docs/integrations.md).
    #[serde(default)]
    pub scopes: Option<String>,
}

pub(crate) fn validate(c: &IntegrationsConfig) -> Result<(), ConfigError> {
    if c.poll_ms == 0 || c.requests_per_minute == 0 || c.max_attempts == 0 {
        return Err(ConfigError::Invalid {
            key: "integrations".into(),
            message: "poll_ms, requests_per_minute and max_attempts must be at least 1".into(),
        });
    }
    for (name, app) in &c.oauth {
        if !OAUTH_PROVIDERS.contains(&name.as_str()) {
            return Err(ConfigError::Invalid {
                key: format!("integrations.oauth.{name}"),
                message: format!("not a provider; one of {}", OAUTH_PROVIDERS.join(", ")),
            });
        }
        for (field, url) in [
            ("token_url", Some(&app.token_url)),
            ("authorize_url", app.authorize_url.as_ref()),
        ] {
            if let Some(url) = url
                && url.scheme() != "https"
                && url.host_str() != Some("127.0.0.1")
            {
                return Err(ConfigError::Invalid {
                    key: format!("integrations.oauth.{name}.{field}"),
                    message: "must be an https URL".into(),
                });
            }
        }
    }
    Ok(())
}
