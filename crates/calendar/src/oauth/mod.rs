//! OAuth 2.0 for calendar access: the authorization URL (minimal scopes, PKCE S256, offline
//! access), the code exchange, refresh and revocation, and [`Tokens`].
//!
//! Scopes, and why:
//! - Google: `calendar.events.readonly` ("View events on all your calendars"). It is the
//!   narrowest long-standing scope that both `events.list` and `events.watch` accept;
//!   `calendar.readonly` would also expose calendar lists, settings and sharing (ACLs). Google
//!   has since added `calendar.events.owned.readonly` (events of calendars the user owns, which
//!   includes the primary calendar): narrower still, but we could not verify from here that
//!   `events.watch` accepts it, so it is left as a follow-up to try against the real service.
//! - Microsoft: `offline_access Calendars.Read` — the least-privileged delegated permission of
//!   `calendarView/delta` and of event subscriptions, and `offline_access` for a refresh token.
//!
//! Disconnecting: Google's revocation endpoint invalidates the grant ([`revoke`]). Microsoft has
//! no revocation endpoint for a delegated refresh token: deleting the stored tokens is the
//! disconnect (the user can also remove the app at myapps.microsoft.com / account.live.com).

mod pkce;

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use http::Method;
use url::Url;

use crate::api;
use crate::error::CalendarError;
use crate::http::{Http, HttpRequest, HttpResponse};
use crate::provider::{Provider, ProviderKind};
use crate::secret::{SecretString, bounded_text};

pub use pkce::{PkceVerifier, challenge_of};

/// Google's scope (see the module documentation).
pub const GOOGLE_SCOPE: &str = "https://www.googleapis.com/auth/calendar.events.readonly";
/// Microsoft's scopes (see the module documentation).
pub const MICROSOFT_SCOPES: &str = "offline_access Calendars.Read";
/// Tokens are refreshed this long before they expire.
pub const REFRESH_MARGIN: TimeDelta = TimeDelta::minutes(5);
/// The longest `state` we put into an authorization URL.
pub const MAX_STATE_LEN: usize = 512;

/// The scope string we ask `provider` for.
pub fn scopes(kind: ProviderKind) -> &'static str {
    match kind {
        ProviderKind::Google => GOOGLE_SCOPE,
        ProviderKind::Microsoft => MICROSOFT_SCOPES,
    }
}

/// The URL to send the user to. `state` is the caller's opaque value (bind it to the browser
/// and keep `verifier` with it until the callback).
pub fn authorization_url(
    provider: &Provider,
    state: &str,
    verifier: &PkceVerifier,
) -> Result<Url, CalendarError> {
    if state.is_empty() || state.len() > MAX_STATE_LEN {
        return Err(CalendarError::Invalid("state must be 1 to 512 bytes"));
    }
    let mut url = provider.endpoints.authorize.clone();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("client_id", &provider.app.client_id)
            .append_pair("redirect_uri", provider.app.redirect_uri.as_str())
            .append_pair("response_type", "code")
            .append_pair("scope", scopes(provider.kind))
            .append_pair("state", state)
            .append_pair("code_challenge", &verifier.challenge())
            .append_pair("code_challenge_method", "S256");
        match provider.kind {
            // A refresh token, and the consent screen every time, so Google hands one out
            // again after a reconnect (it only does on consent).
            ProviderKind::Google => {
                q.append_pair("access_type", "offline")
                    .append_pair("prompt", "consent");
            }
            ProviderKind::Microsoft => {
                q.append_pair("response_mode", "query");
            }
        }
    }
    Ok(url)
}

/// A user's calendar tokens. The server stores them encrypted under the user's key; nothing
/// here serializes them.
#[derive(Clone, PartialEq, Eq)]
pub struct Tokens {
    /// The bearer token for API calls.
    pub access_token: SecretString,
    /// The refresh token (kept across refreshes when the provider does not rotate it).
    pub refresh_token: SecretString,
    /// When the access token expires.
    pub expires_at: DateTime<Utc>,
    /// The scopes granted, space-separated, as the provider reported them.
    pub scope: String,
}

impl Tokens {
    /// Whether the access token expires within [`REFRESH_MARGIN`] of `now` (or already has).
    pub fn needs_refresh(&self, now: DateTime<Utc>) -> bool {
        now + REFRESH_MARGIN >= self.expires_at
    }
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokens")
            .field("access_token", &self.access_token)
            .field("refresh_token", &self.refresh_token)
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .finish()
    }
}

#[derive(serde::Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    expires_in: Option<i64>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    token_type: Option<String>,
}

#[derive(serde::Deserialize)]
struct ErrorResponse {
    error: String,
}

/// Which grant a token response answers: `invalid_grant` means different things.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Grant {
    Code,
    Refresh,
}

fn token_error(resp: &HttpResponse, grant: Grant) -> CalendarError {
    match serde_json::from_slice::<ErrorResponse>(&resp.body) {
        Ok(e) if e.error == "invalid_grant" => match grant {
            Grant::Refresh => CalendarError::Revoked,
            Grant::Code => CalendarError::CodeRejected,
        },
        Ok(e) => CalendarError::OAuth {
            code: bounded_text(&e.error, 64),
        },
        Err(_) => api::status_error(resp),
    }
}

async fn token_request(
    http: &dyn Http,
    provider: &Provider,
    form: &[(&str, &str)],
    grant: Grant,
    now: DateTime<Utc>,
) -> Result<(TokenResponse, DateTime<Utc>), CalendarError> {
    let req = HttpRequest::new(Method::POST, provider.endpoints.token.clone())
        .header(http::header::ACCEPT, "application/json")
        .form(form);
    let resp = http.send(req).await?;
    if !resp.status.is_success() {
        return Err(token_error(&resp, grant));
    }
    let body: TokenResponse = api::json(&resp, "a token response")?;
    if body.access_token.is_empty()
        || body
            .token_type
            .as_deref()
            .is_some_and(|t| !t.eq_ignore_ascii_case("bearer"))
    {
        return Err(CalendarError::InvalidResponse("a token response"));
    }
    // Without `expires_in` assume the common hour; clamp nonsense so arithmetic cannot overflow.
    let secs = body.expires_in.unwrap_or(3600).clamp(0, 86_400 * 366);
    Ok((body, now + TimeDelta::seconds(secs)))
}

/// Exchanges the authorization code from the callback for tokens.
pub async fn exchange_code(
    http: &dyn Http,
    provider: &Provider,
    code: &str,
    verifier: &PkceVerifier,
    now: DateTime<Utc>,
) -> Result<Tokens, CalendarError> {
    let app = &provider.app;
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", app.redirect_uri.as_str()),
        ("client_id", app.client_id.as_str()),
        ("client_secret", app.client_secret.expose()),
        ("code_verifier", verifier.expose()),
    ];
    if provider.kind == ProviderKind::Microsoft {
        form.push(("scope", MICROSOFT_SCOPES));
    }
    let (body, expires_at) = token_request(http, provider, &form, Grant::Code, now).await?;
    let refresh_token = body
        .refresh_token
        .filter(|t| !t.is_empty())
        .ok_or(CalendarError::NoRefreshToken)?;
    Ok(Tokens {
        access_token: SecretString::new(body.access_token),
        refresh_token: SecretString::new(refresh_token),
        expires_at,
        scope: body
            .scope
            .unwrap_or_else(|| scopes(provider.kind).to_owned()),
    })
}

/// Refreshes the access token. Google usually omits the refresh token on refresh (the old one
/// stays valid and is kept); Microsoft rotates it (the new one replaces it).
/// `invalid_grant` becomes [`CalendarError::Revoked`].
pub async fn refresh(
    http: &dyn Http,
    provider: &Provider,
    tokens: &Tokens,
    now: DateTime<Utc>,
) -> Result<Tokens, CalendarError> {
    let app = &provider.app;
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", tokens.refresh_token.expose()),
        ("client_id", app.client_id.as_str()),
        ("client_secret", app.client_secret.expose()),
    ];
    if provider.kind == ProviderKind::Microsoft {
        form.push(("scope", MICROSOFT_SCOPES));
    }
    let (body, expires_at) = token_request(http, provider, &form, Grant::Refresh, now).await?;
    Ok(Tokens {
        access_token: SecretString::new(body.access_token),
        refresh_token: match body.refresh_token.filter(|t| !t.is_empty()) {
            Some(rotated) => SecretString::new(rotated),
            None => tokens.refresh_token.clone(),
        },
        expires_at,
        scope: body.scope.unwrap_or_else(|| tokens.scope.clone()),
    })
}

/// Refreshes when [`Tokens::needs_refresh`]; `Some` holds the new tokens to store.
pub async fn refresh_if_needed(
    http: &dyn Http,
    provider: &Provider,
    tokens: &Tokens,
    now: DateTime<Utc>,
) -> Result<Option<Tokens>, CalendarError> {
    if tokens.needs_refresh(now) {
        refresh(http, provider, tokens, now).await.map(Some)
    } else {
        Ok(None)
    }
}

/// Revokes the grant at Google (by its refresh token, which revokes the access tokens too).
/// For Microsoft this does nothing and succeeds: deleting the tokens is the disconnect. A token
/// Google already considers invalid counts as revoked.
pub async fn revoke(
    http: &dyn Http,
    provider: &Provider,
    tokens: &Tokens,
) -> Result<(), CalendarError> {
    let Some(url) = provider.endpoints.revoke.clone() else {
        return Ok(());
    };
    let req = HttpRequest::new(Method::POST, url).form(&[("token", tokens.refresh_token.expose())]);
    let resp = http.send(req).await?;
    if resp.status.is_success() {
        return Ok(());
    }
    match serde_json::from_slice::<ErrorResponse>(&resp.body) {
        Ok(e) if e.error == "invalid_token" => Ok(()),
        _ => Err(token_error(&resp, Grant::Refresh)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::{Endpoints, OAuthApp};

    fn app() -> OAuthApp {
        OAuthApp {
            client_id: "client-1".into(),
            client_secret: SecretString::new("s3cret"),
            redirect_uri: Url::parse("https://mv.example/calendar/callback").unwrap(),
        }
    }

    fn query(url: &Url) -> std::collections::HashMap<String, String> {
        url.query_pairs().into_owned().collect()
    }

    #[test]
    fn google_authorization_url_asks_for_offline_access_with_pkce() {
        let p = Provider::google(app()).unwrap();
        let v = PkceVerifier::generate();
        let url = authorization_url(&p, "opaque-state", &v).unwrap();
        assert!(
            url.as_str()
                .starts_with("https://accounts.google.com/o/oauth2/v2/auth?")
        );
        let q = query(&url);
        assert_eq!(q["scope"], GOOGLE_SCOPE);
        assert_eq!(q["access_type"], "offline");
        assert_eq!(q["prompt"], "consent");
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["code_challenge"], v.challenge());
        assert_eq!(q["state"], "opaque-state");
        assert_eq!(q["redirect_uri"], "https://mv.example/calendar/callback");
        assert!(!url.as_str().contains(v.expose()));
        assert!(!url.as_str().contains("s3cret"));
    }

    #[test]
    fn microsoft_authorization_url_asks_for_calendars_read_only() {
        let p = Provider {
            kind: ProviderKind::Microsoft,
            endpoints: Endpoints::microsoft("organizations").unwrap(),
            app: app(),
        };
        let url = authorization_url(&p, "s", &PkceVerifier::generate()).unwrap();
        let q = query(&url);
        assert_eq!(q["scope"], "offline_access Calendars.Read");
        assert_eq!(q["response_mode"], "query");
        assert!(!q.contains_key("access_type"));
        assert!(authorization_url(&p, "", &PkceVerifier::generate()).is_err());
        assert!(authorization_url(&p, &"x".repeat(513), &PkceVerifier::generate()).is_err());
    }

    #[test]
    fn needs_refresh_five_minutes_before_expiry() {
        let now = Utc::now();
        let t = |secs| Tokens {
            access_token: SecretString::new("a"),
            refresh_token: SecretString::new("r"),
            expires_at: now + TimeDelta::seconds(secs),
            scope: String::new(),
        };
        assert!(!t(301).needs_refresh(now));
        assert!(t(300).needs_refresh(now));
        assert!(t(-1).needs_refresh(now));
        let printed = format!("{:?}", t(1));
        assert!(!printed.contains("\"a\"") && printed.contains("[redacted]"));
    }
}
