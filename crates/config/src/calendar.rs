//! Calendars (`[calendar]`): the OAuth apps meetvault is registered as at Google and Microsoft,
//! how often calendars are polled, how far ahead they are read and how early a bot joins.
//! Parsing only: the flow lives in `core::calendar`, the protocol in `meetvault-calendar`.

use serde::{Deserialize, Serialize};
use url::Url;

use crate::{ConfigError, Secret};

/// `[calendar]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CalendarConfig {
    /// How often each connected calendar is read when no push notification came (seconds).
    pub poll_interval_secs: u64,
    /// How far ahead events are read and bots scheduled (days).
    pub lookahead_days: u32,
    /// How long before an event's start its bot joins (seconds).
    pub join_early_secs: u64,
    /// Ask the providers to notify `push_url` of changes (Google watch channels, Graph
    /// subscriptions); polling still runs as a safety net.
    pub push: bool,
    /// Where providers deliver push notifications: `{push_url}/api/v1/calendar/push/{google,
    /// microsoft}`. Unset: `server.public_url`. Both providers require https.
    pub push_url: Option<Url>,
    /// Google Calendar (Google Cloud OAuth client, redirect URI
    /// `{server.public_url}/api/v1/calendar/callback`).
    pub google: Option<GoogleCalendarConfig>,
    /// Microsoft 365 calendars (an Entra ID app registration, same redirect URI).
    pub microsoft: Option<MicrosoftCalendarConfig>,
}

impl Default for CalendarConfig {
    fn default() -> Self {
        Self {
            poll_interval_secs: 600,
            lookahead_days: 14,
            join_early_secs: 60,
            push: true,
            push_url: None,
            google: None,
            microsoft: None,
        }
    }
}

/// `[calendar.google]`. The URLs default to Google's published endpoints; set them only to
/// point at a test server.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoogleCalendarConfig {
    pub client_id: String,
    pub client_secret: Secret,
    #[serde(default)]
    pub authorize_url: Option<Url>,
    #[serde(default)]
    pub token_url: Option<Url>,
    #[serde(default)]
    pub revoke_url: Option<Url>,
    /// The Calendar API base (`https://www.googleapis.com/calendar/v3`).
    #[serde(default)]
    pub api_url: Option<Url>,
}

/// `[calendar.microsoft]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MicrosoftCalendarConfig {
    pub client_id: String,
    pub client_secret: Secret,
    /// `common`, `organizations`, or a tenant id or domain (one company's accounts only).
    #[serde(default = "common")]
    pub tenant: String,
    /// The identity platform's host (`https://login.microsoftonline.com`).
    #[serde(default)]
    pub login_url: Option<Url>,
    /// The Graph base (`https://graph.microsoft.com/v1.0`).
    #[serde(default)]
    pub graph_url: Option<Url>,
}

fn common() -> String {
    "common".to_owned()
}

pub(crate) fn validate(c: &CalendarConfig, public_url: Option<&Url>) -> Result<(), ConfigError> {
    let invalid = |key: &str, message: &str| {
        Err(ConfigError::Invalid {
            key: key.to_owned(),
            message: message.to_owned(),
        })
    };
    if c.poll_interval_secs < 30 {
        return invalid("calendar.poll_interval_secs", "must be at least 30");
    }
    if !(1..=90).contains(&c.lookahead_days) {
        return invalid("calendar.lookahead_days", "must be between 1 and 90");
    }
    if c.join_early_secs > 900 {
        return invalid(
            "calendar.join_early_secs",
            "must be at most 900 (15 minutes)",
        );
    }
    let configured = c.google.is_some() || c.microsoft.is_some();
    if configured && public_url.is_none() {
        return invalid(
            "server.public_url",
            "is required with [calendar.google] or [calendar.microsoft]: it makes the redirect URI registered at the provider",
        );
    }
    if let Some(url) = &c.push_url
        && !matches!(url.scheme(), "https" | "http")
    {
        return invalid("calendar.push_url", "must be an https URL");
    }
    let secret = |key: &str, id: &str, s: &Secret| {
        if id.trim().is_empty() {
            return invalid(&format!("{key}.client_id"), "must not be empty");
        }
        if s.expose().is_empty() {
            return invalid(&format!("{key}.client_secret"), "must not be empty");
        }
        Ok(())
    };
    if let Some(g) = &c.google {
        secret("calendar.google", &g.client_id, &g.client_secret)?;
    }
    if let Some(m) = &c.microsoft {
        secret("calendar.microsoft", &m.client_id, &m.client_secret)?;
        let t = &m.tenant;
        let ok = !t.is_empty()
            && t.len() <= 253
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
            && !t.starts_with('.')
            && !t.contains("..");
        if !ok {
            return invalid(
                "calendar.microsoft.tenant",
                "must be common, organizations, a tenant id or a domain",
            );
        }
    }
    Ok(())
}
