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
use crate::target::{Credential, Kind};
use crate::{Http, HttpRequest, SecretString};
pub use meetvault_calendar::PkceVerifier;

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

/// The operator's OAuth app at one provider, for connecting by consent.
#[derive(Clone)]
pub struct ConnectApp {
    /// Where the user consents.
    pub authorize_url: Url,
    /// The token endpoint.
    pub token_url: Url,
    pub client_id: String,
    pub client_secret: SecretString,
    /// `{server.public_url}/api/v1/integrations/oauth/callback`, as registered at the provider.
    pub redirect_uri: Url,
    /// What to ask for (see [`default_scopes`]).
    pub scopes: String,
}

impl fmt::Debug for ConnectApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectApp")
            .field("authorize_url", &self.authorize_url.host_str())
            .field("client_id", &self.client_id)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// Each provider's published consent page.
pub fn default_authorize_url(kind: Kind) -> &'static str {
    match kind {
        Kind::Slack => "https://slack.com/oauth/v2/authorize",
        Kind::Notion => "https://api.notion.com/v1/oauth/authorize",
        Kind::GoogleDrive => "https://accounts.google.com/o/oauth2/v2/auth",
        Kind::Linear => "https://linear.app/oauth/authorize",
        Kind::Jira => "https://auth.atlassian.com/authorize",
        Kind::Hubspot => "https://app.hubspot.com/oauth/authorize",
        Kind::Salesforce => "https://login.salesforce.com/services/oauth2/authorize",
    }
}

/// The least each provider needs (docs/integrations.md says why).
pub fn default_scopes(kind: Kind) -> &'static str {
    match kind {
        Kind::Slack => "chat:write,channels:history,groups:history",
        Kind::Notion => "",
        Kind::GoogleDrive => "https://www.googleapis.com/auth/drive.file",
        Kind::Linear => "read,write",
        Kind::Jira => "write:jira-work read:jira-work read:jira-user offline_access",
        Kind::Hubspot => {
            "crm.objects.contacts.read crm.objects.contacts.write crm.objects.owners.read"
        }
        Kind::Salesforce => "api refresh_token",
    }
}

/// The URL to send the user to: the code flow with PKCE (S256) and the provider's own
/// parameters for a refresh token (Google's `access_type=offline&prompt=consent`, Atlassian's
/// `audience`, Notion's `owner=user`).
pub fn authorization_url(
    kind: Kind,
    app: &ConnectApp,
    state: &str,
    verifier: &PkceVerifier,
) -> Url {
    let mut url = app.authorize_url.clone();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("client_id", &app.client_id)
            .append_pair("redirect_uri", app.redirect_uri.as_str())
            .append_pair("response_type", "code")
            .append_pair("state", state)
            .append_pair("code_challenge", &verifier.challenge())
            .append_pair("code_challenge_method", "S256");
        if !app.scopes.is_empty() {
            q.append_pair("scope", &app.scopes);
        }
        match kind {
            Kind::GoogleDrive => {
                q.append_pair("access_type", "offline")
                    .append_pair("prompt", "consent");
            }
            Kind::Jira => {
                q.append_pair("audience", "api.atlassian.com")
                    .append_pair("prompt", "consent");
            }
            Kind::Notion => {
                q.append_pair("owner", "user");
            }
            _ => {}
        }
    }
    url
}

/// Trades the callback's code for a credential: OAuth tokens when the provider hands out a
/// refresh token, else the (long-lived) access token itself (Slack's bot token, Notion's).
/// Notion authenticates the client with HTTP Basic and a JSON body; the others take the
/// client's credentials in the form (RFC 6749 §2.3.1). A refused code is `Rejected`.
pub async fn exchange_code(
    http: &dyn Http,
    kind: Kind,
    app: &ConnectApp,
    code: &str,
    verifier: &PkceVerifier,
) -> Result<Credential, IntegrationError> {
    let req = if kind == Kind::Notion {
        call::basic(
            Method::POST,
            app.token_url.clone(),
            &app.client_id,
            &app.client_secret,
        )
        .json(&serde_json::json!({
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": app.redirect_uri.as_str(),
        }))
    } else {
        HttpRequest::new(Method::POST, app.token_url.clone()).form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", app.redirect_uri.as_str()),
            ("client_id", &app.client_id),
            ("client_secret", app.client_secret.expose()),
            ("code_verifier", verifier.expose()),
        ])
    };
    let resp = http.send(req).await?;
    let v = call::json_of(resp)?;
    // Slack answers errors with 200 and `ok: false`.
    if v["ok"] == false {
        return Err(IntegrationError::Rejected {
            status: 200,
            message: call::bounded(v["error"].as_str().unwrap_or("refused"), 80),
        });
    }
    let answer: TokenAnswer = serde_json::from_value(v).map_err(|_| {
        IntegrationError::Unavailable("the token endpoint's answer has no access_token".into())
    })?;
    Ok(match answer.refresh_token {
        Some(refresh) => {
            let expires_in = answer.expires_in.unwrap_or(3600).clamp(60, 366 * 86_400);
            Credential::OAuth(OAuthTokens {
                access_token: SecretString::new(answer.access_token),
                refresh_token: SecretString::new(refresh),
                expires_at: Utc::now() + TimeDelta::seconds(expires_in),
                instance_url: answer.instance_url,
            })
        }
        None => Credential::Token(SecretString::new(answer.access_token)),
    })
}
