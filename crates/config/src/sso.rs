//! Single sign-on: the OpenID Connect providers people may sign in with (`[[sso.oidc]]`),
//! instance-wide. Each org then says which email domains of its own go to it, with what role,
//! and whether its members must use them (the org's SSO settings, in the database). Parsing
//! only: the flow lives in `core::auth::sso`, the protocol in `meetvault-oidc`.

use serde::{Deserialize, Serialize};
use url::Url;

use crate::{ConfigError, Secret};

/// `[sso]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SsoConfig {
    /// The OpenID Connect providers (Google, Microsoft Entra ID, or any issuer).
    pub oidc: Vec<OidcProviderConfig>,
    /// Email domains the operator vouches belong to an org: people of these domains signing
    /// in through a provider are that org's (linked, or made just in time if the org turned
    /// it on). Org admins cannot claim a domain themselves: meetvault does not verify the
    /// addresses people register or are invited with.
    pub domains: Vec<SsoDomainConfig>,
}

/// `[[sso.domains]]`: one domain and the org (`org_…`) it signs in to.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SsoDomainConfig {
    pub domain: String,
    pub org: String,
}

/// What kind of issuer a provider is: its `iss` rules differ.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OidcKind {
    /// Any issuer, by its discovery document (`{issuer}/.well-known/openid-configuration`).
    #[default]
    Generic,
    /// Google (`https://accounts.google.com`).
    Google,
    /// Microsoft Entra ID: `tenant` is a tenant id (single-tenant), or `organizations` /
    /// `common` (any work account; the token's own tenant is checked against its issuer).
    Entra,
}

/// `[[sso.oidc]]`: one provider, registered at the provider with the redirect URI
/// `{server.public_url}/api/v1/auth/sso/{id}/callback`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcProviderConfig {
    /// Its name in URLs: lowercase letters, digits and `-` (e.g. `google`).
    pub id: String,
    /// What the sign-in button says (e.g. `Google`).
    pub name: String,
    #[serde(default)]
    pub kind: OidcKind,
    /// The issuer (generic: required; Google: implied; Entra: from `tenant`).
    #[serde(default)]
    pub issuer: Option<Url>,
    /// Entra ID's tenant: a tenant id, `organizations` or `common`.
    #[serde(default)]
    pub tenant: Option<String>,
    /// Entra ID with `organizations`/`common`: the tenant ids whose people may sign in (empty:
    /// any work tenant — and, with `common`, personal Microsoft accounts too).
    #[serde(default)]
    pub allowed_tenants: Vec<String>,
    pub client_id: String,
    pub client_secret: Secret,
}

impl OidcProviderConfig {
    /// The issuer its discovery document is fetched from.
    pub fn issuer_url(&self) -> Result<Url, ConfigError> {
        let parsed = |s: &str| {
            Url::parse(s).map_err(|_| ConfigError::Invalid {
                key: format!("sso.oidc.{}.tenant", self.id),
                message: "must make a valid issuer URL".into(),
            })
        };
        match self.kind {
            OidcKind::Generic => self.issuer.clone().ok_or_else(|| ConfigError::Invalid {
                key: format!("sso.oidc.{}.issuer", self.id),
                message: "is required for a generic provider".into(),
            }),
            OidcKind::Google => parsed("https://accounts.google.com"),
            OidcKind::Entra => {
                let tenant = self.tenant.as_deref().unwrap_or("organizations");
                parsed(&format!("https://login.microsoftonline.com/{tenant}/v2.0"))
            }
        }
    }
}

impl OidcProviderConfig {
    /// Checks one provider on its own (ids, names, secrets, tenant and issuer); an org's own
    /// provider is held to the same rules.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: String, message: &str| {
            Err(ConfigError::Invalid {
                key,
                message: message.to_owned(),
            })
        };
        let ok_id = (1..=40).contains(&self.id.len())
            && self
                .id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !ok_id {
            return invalid(
                "sso.oidc.id".into(),
                "must be 1–40 lowercase letters, digits or `-`",
            );
        }
        if self.name.trim().is_empty() || self.client_id.trim().is_empty() {
            return invalid(
                format!("sso.oidc.{}", self.id),
                "needs a name and a client_id",
            );
        }
        if self.client_secret.expose().is_empty() {
            return invalid(
                format!("sso.oidc.{}.client_secret", self.id),
                "must not be empty",
            );
        }
        if self.kind == OidcKind::Entra
            && let Some(t) = &self.tenant
            && !t
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        {
            return invalid(
                format!("sso.oidc.{}.tenant", self.id),
                "must be a tenant id, `organizations` or `common`",
            );
        }
        let issuer = self.issuer_url()?;
        if !matches!(issuer.scheme(), "https" | "http") {
            return invalid(
                format!("sso.oidc.{}.issuer", self.id),
                "must be an https URL",
            );
        }
        Ok(())
    }
}

pub(crate) fn validate(sso: &SsoConfig, public_url: Option<&Url>) -> Result<(), ConfigError> {
    let invalid = |key: String, message: &str| {
        Err(ConfigError::Invalid {
            key,
            message: message.to_owned(),
        })
    };
    let mut seen = std::collections::BTreeSet::new();
    for p in &sso.oidc {
        p.validate()?;
        if p.id.starts_with("org-") {
            return invalid(
                format!("sso.oidc.{}", p.id),
                "ids starting with `org-` name organizations' own providers",
            );
        }
        if !seen.insert(p.id.clone()) {
            return invalid(format!("sso.oidc.{}", p.id), "is named twice");
        }
    }
    let mut domains = std::collections::BTreeSet::new();
    for d in &sso.domains {
        let name = d.domain.trim().trim_end_matches('.').to_ascii_lowercase();
        let ok = name.contains('.')
            && name.split('.').all(|l| {
                !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !ok || name != d.domain {
            return invalid(
                "sso.domains.domain".into(),
                "must be a lowercase domain name like acme.com",
            );
        }
        if !domains.insert(name) {
            return invalid(format!("sso.domains.{}", d.domain), "is named twice");
        }
        if !d.org.starts_with("org_") {
            return invalid(
                format!("sso.domains.{}.org", d.domain),
                "must be an org id (org_…)",
            );
        }
    }
    if !sso.oidc.is_empty() && public_url.is_none() {
        return invalid(
            "server.public_url".into(),
            "is required with [[sso.oidc]] providers: the provider redirects the browser back to it",
        );
    }
    Ok(())
}
