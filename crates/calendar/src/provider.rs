//! Which provider, where it lives, and who we are to it: [`Provider`] bundles the kind, the
//! endpoint URLs (configurable, so tests point them at loopback) and the OAuth client
//! registration. Must never: hold a user's tokens (they pass through calls).

use std::fmt;

use url::Url;

use crate::error::CalendarError;
use crate::secret::SecretString;

/// Google Calendar API v3 or Microsoft Graph (Outlook / Microsoft 365 calendars).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// Google Calendar API v3.
    Google,
    /// Microsoft Graph v1.0.
    Microsoft,
}

/// The URLs of one provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// The user-facing authorization endpoint.
    pub authorize: Url,
    /// The token endpoint (code exchange and refresh).
    pub token: Url,
    /// The revocation endpoint (Google only; Microsoft has none for delegated tokens).
    pub revoke: Option<Url>,
    /// The API base, without trailing slash: `…/calendar/v3` or `…/v1.0`.
    pub api: Url,
}

fn parse(url: &str) -> Result<Url, CalendarError> {
    Url::parse(url).map_err(|_| CalendarError::Invalid("an endpoint URL does not parse"))
}

impl Endpoints {
    /// Google's published endpoints.
    pub fn google() -> Result<Self, CalendarError> {
        Ok(Self {
            authorize: parse("https://accounts.google.com/o/oauth2/v2/auth")?,
            token: parse("https://oauth2.googleapis.com/token")?,
            revoke: Some(parse("https://oauth2.googleapis.com/revoke")?),
            api: parse("https://www.googleapis.com/calendar/v3")?,
        })
    }

    /// Microsoft's published endpoints for `tenant`: `common`, `organizations`, `consumers`, a
    /// tenant id (GUID) or a verified domain. Anything else is refused, so a tenant cannot
    /// change the path of the URL.
    pub fn microsoft(tenant: &str) -> Result<Self, CalendarError> {
        Self::microsoft_at(
            &parse("https://login.microsoftonline.com")?,
            &parse("https://graph.microsoft.com/v1.0")?,
            tenant,
        )
    }

    /// Microsoft's endpoint layout under other hosts (national clouds, or a loopback fake).
    pub fn microsoft_at(login: &Url, graph: &Url, tenant: &str) -> Result<Self, CalendarError> {
        let valid = !tenant.is_empty()
            && tenant.len() <= 253
            && tenant
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
            && !tenant.starts_with('.')
            && !tenant.contains("..");
        if !valid {
            return Err(CalendarError::Invalid(
                "a Microsoft tenant is common, organizations, consumers, a tenant id or a domain",
            ));
        }
        let base = login.as_str().trim_end_matches('/');
        Ok(Self {
            authorize: parse(&format!("{base}/{tenant}/oauth2/v2.0/authorize"))?,
            token: parse(&format!("{base}/{tenant}/oauth2/v2.0/token"))?,
            revoke: None,
            api: graph.clone(),
        })
    }

    /// `api` joined with `path` (which starts with `/`).
    pub(crate) fn api_url(&self, path: &str) -> Result<Url, CalendarError> {
        parse(&format!(
            "{}{path}",
            self.api.as_str().trim_end_matches('/')
        ))
    }

    /// Whether `link` (a next or delta link the provider handed back) stays on the API's
    /// origin and under its path: we send the bearer token there, so a response must not be
    /// able to point it anywhere else.
    pub(crate) fn owns_link(&self, link: &Url) -> bool {
        let prefix = self.api.path().trim_end_matches('/');
        link.origin() == self.api.origin()
            && link.username().is_empty()
            && link.password().is_none()
            && link.path().starts_with(prefix)
    }
}

/// Our registration with the provider.
#[derive(Clone)]
pub struct OAuthApp {
    /// The client id.
    pub client_id: String,
    /// The client secret (a confidential web client).
    pub client_secret: SecretString,
    /// The redirect URI registered with the provider.
    pub redirect_uri: Url,
}

impl fmt::Debug for OAuthApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthApp")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("redirect_uri", &self.redirect_uri.as_str())
            .finish()
    }
}

/// One configured provider: its kind, endpoints and our registration with it.
#[derive(Debug, Clone)]
pub struct Provider {
    /// Google or Microsoft.
    pub kind: ProviderKind,
    /// Where it lives.
    pub endpoints: Endpoints,
    /// Who we are to it.
    pub app: OAuthApp,
}

impl Provider {
    /// Google with its published endpoints.
    pub fn google(app: OAuthApp) -> Result<Self, CalendarError> {
        Ok(Self {
            kind: ProviderKind::Google,
            endpoints: Endpoints::google()?,
            app,
        })
    }

    /// Microsoft with its published endpoints for `tenant`.
    pub fn microsoft(app: OAuthApp, tenant: &str) -> Result<Self, CalendarError> {
        Ok(Self {
            kind: ProviderKind::Microsoft,
            endpoints: Endpoints::microsoft(tenant)?,
            app,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_cannot_change_the_path() {
        assert!(Endpoints::microsoft("common").is_ok());
        assert!(Endpoints::microsoft("contoso.onmicrosoft.com").is_ok());
        assert!(Endpoints::microsoft("9188040d-6c67-4c5b-b112-36a304b66dad").is_ok());
        for bad in ["", "../x", "a/b", "a?b", "a#b", ".x", "a..b", "a b"] {
            assert!(Endpoints::microsoft(bad).is_err(), "{bad}");
        }
        let ms = Endpoints::microsoft("common").unwrap();
        assert_eq!(
            ms.token.as_str(),
            "https://login.microsoftonline.com/common/oauth2/v2.0/token"
        );
    }

    #[test]
    fn links_must_stay_on_the_api_origin() {
        let ms = Endpoints::microsoft("common").unwrap();
        let ok = Url::parse("https://graph.microsoft.com/v1.0/me/calendarView/delta?$skiptoken=x");
        assert!(ms.owns_link(&ok.unwrap()));
        for bad in [
            "https://evil.example/v1.0/me/calendarView/delta",
            "http://graph.microsoft.com/v1.0/me/calendarView/delta",
            "https://graph.microsoft.com:8443/v1.0/me",
            "https://graph.microsoft.com/beta/me",
            "https://user@graph.microsoft.com/v1.0/me",
        ] {
            assert!(!ms.owns_link(&Url::parse(bad).unwrap()), "{bad}");
        }
    }

    #[test]
    fn debug_hides_the_client_secret() {
        let app = OAuthApp {
            client_id: "id".into(),
            client_secret: SecretString::new("GOCSPX-secret"),
            redirect_uri: Url::parse("https://mv.example/cb").unwrap(),
        };
        assert!(!format!("{app:?}").contains("GOCSPX"));
    }
}
