//! OAuth 2.0 tokens for the providers that use them (Google Drive and Salesforce always; Notion,
//! Linear, Jira Cloud and HubSpot optionally): the refresh-token grant (RFC 6749 §6) against the
//! operator's OAuth app, run by the server before an access token expires.
//!
//! Salesforce answers a refresh with `instance_url` too, which may move: [`OAuthTokens`] keeps
//! it and the caller stores the new one. Providers that rotate refresh tokens (HubSpot, Jira,
//! Linear) return a new one, which replaces the old; those that do not (Google, Salesforce)
//! keep the old.

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use http::Method;
use serde::Deserialize;
use url::Url;

use crate::call;
use crate::error::IntegrationError;
use crate::{Http, HttpRequest, SecretString};

/// Tokens are refreshed this long before they expire.
pub const REFRESH_MARGIN: TimeDelta = TimeDelta::minutes(5);

/// The operator's OAuth app at one provider.
#[derive(Clone)]
pub struct OAuthApp {
    /// The token endpoint.
    pub token_url: Url,
    /// The client id.
    pub client_id: String,
    /// The client secret.
    pub client_secret: SecretString,
}

impl fmt::Debug for OAuthApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthApp")
            .field("token_url", &self.token_url.host_str())
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// A connection's OAuth tokens. `Debug` shows no secret.
#[derive(Clone, PartialEq, Eq)]
pub struct OAuthTokens {
    /// The bearer token.
    pub access_token: SecretString,
    /// The refresh token.
    pub refresh_token: SecretString,
    /// When the access token expires.
    pub expires_at: DateTime<Utc>,
    /// Salesforce's instance URL, as the last token answer gave it.
    pub instance_url: Option<String>,
}

impl fmt::Debug for OAuthTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthTokens")
            .field("expires_at", &self.expires_at)
            .field("instance_url", &self.instance_url)
            .finish_non_exhaustive()
    }
}

impl OAuthTokens {
    /// Whether the access token expires within [`REFRESH_MARGIN`] of `now`.
    pub fn needs_refresh(&self, now: DateTime<Utc>) -> bool {
        now + REFRESH_MARGIN >= self.expires_at
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    expires_in: Option<i64>,
    #[serde(default)]
    instance_url: Option<String>,
}

/// Trades the refresh token for a new access token. `invalid_grant` is [`IntegrationError::Revoked`].
pub async fn refresh(
    http: &dyn Http,
    app: &OAuthApp,
    tokens: &OAuthTokens,
) -> Result<OAuthTokens, IntegrationError> {
    let req = HttpRequest::new(Method::POST, app.token_url.clone()).form(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", tokens.refresh_token.expose()),
        ("client_id", &app.client_id),
        ("client_secret", app.client_secret.expose()),
    ]);
    let resp = http.send(req).await?;
    if resp.status.is_client_error() && resp.status.as_u16() != 429 {
        let v: serde_json::Value = serde_json::from_slice(&resp.body).unwrap_or_default();
        if v["error"] == "invalid_grant" {
            return Err(IntegrationError::Revoked);
        }
    }
    let v = call::json_of(resp)?;
    let answer: TokenAnswer = serde_json::from_value(v).map_err(|_| {
        IntegrationError::Unavailable("the token endpoint's answer has no access_token".into())
    })?;
    // Salesforce gives no expires_in (its session lifetime is an org setting): assume an hour.
    let expires_in = answer.expires_in.unwrap_or(3600).clamp(60, 366 * 86_400);
    Ok(OAuthTokens {
        access_token: SecretString::new(answer.access_token),
        refresh_token: answer
            .refresh_token
            .map_or_else(|| tokens.refresh_token.clone(), SecretString::new),
        expires_at: Utc::now() + TimeDelta::seconds(expires_in),
        instance_url: answer.instance_url.or_else(|| tokens.instance_url.clone()),
    })
}
