//! Single sign-on bodies: the providers offered, and an org's SSO settings.

use meetvault_core::auth::{LinkedIdentity, SsoProviderView};
use meetvault_core::org_sso::{SamlSettings, SsoSettings};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A provider people may sign in with: send the browser to
/// `/api/v1/auth/sso/{id}/start`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SsoProvider {
    pub id: String,
    pub name: String,
}

impl From<SsoProviderView> for SsoProvider {
    fn from(p: SsoProviderView) -> Self {
        Self {
            id: p.id,
            name: p.name,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SsoProviderList {
    pub data: Vec<SsoProvider>,
}

/// Where to go once signed in.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SsoStartQuery {
    /// A path on this site (default `/`).
    pub return_to: Option<String>,
}

/// An org's single sign-on settings.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrgSso {
    /// Email domains whose people sign in to this org through a provider (the operator's
    /// `[[sso.domains]]`).
    pub domains: Vec<String>,
    /// A first sign-in from one of the domains makes an account (just in time).
    pub jit: bool,
    /// The role such an account gets.
    #[schema(value_type = crate::wire::org::Role)]
    pub default_role: String,
    /// Members must sign in through a provider (owners keep an audited password path).
    pub require_sso: bool,
    /// The providers this instance offers (their ids).
    pub providers: Vec<String>,
}

impl From<SsoSettings> for OrgSso {
    fn from(s: SsoSettings) -> Self {
        Self {
            domains: s.domains,
            jit: s.jit,
            default_role: s.default_role.as_str().to_owned(),
            require_sso: s.require_sso,
            providers: s.providers,
        }
    }
}

/// The settings to save (all of them).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrgSsoBody {
    #[serde(default)]
    pub jit: bool,
    #[schema(value_type = Option<crate::wire::org::Role>)]
    pub default_role: Option<String>,
    #[serde(default)]
    pub require_sso: bool,
}

/// An org's SAML sign-in: its IdP, and what to give the IdP about meetvault.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrgSaml {
    pub idp_entity_id: String,
    pub idp_sso_url: Option<String>,
    /// meetvault's entity id for this org; its SP metadata is served there.
    pub sp_entity_id: String,
    /// The assertion consumer the IdP posts to (HTTP-POST).
    pub sp_acs_url: String,
    /// Where people of this org start a SAML sign-in.
    pub start_url: String,
}

impl From<SamlSettings> for OrgSaml {
    fn from(s: SamlSettings) -> Self {
        Self {
            idp_entity_id: s.idp_entity_id,
            idp_sso_url: s.idp_sso_url,
            sp_entity_id: s.sp_entity_id,
            sp_acs_url: s.sp_acs_url,
            start_url: s.start_url,
        }
    }
}

/// The IdP's metadata (an EntityDescriptor, XML).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrgSamlBody {
    pub idp_metadata: String,
}

/// One of the caller's identities at a provider.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Identity {
    /// An OIDC provider's id, or `saml:{org}`.
    pub provider: String,
    /// The provider's stable id for the person.
    pub subject: String,
    pub linked_at: chrono::DateTime<chrono::Utc>,
    pub last_sign_in_at: chrono::DateTime<chrono::Utc>,
}

impl From<LinkedIdentity> for Identity {
    fn from(i: LinkedIdentity) -> Self {
        Self {
            provider: i.provider,
            subject: i.subject,
            linked_at: i.linked_at,
            last_sign_in_at: i.last_sign_in_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IdentityList {
    pub data: Vec<Identity>,
}

/// An org's own OpenID Connect provider (its secret is never shown).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrgOidc {
    /// Its id in sign-in URLs (`org-…`).
    pub provider_id: String,
    pub name: String,
    /// `generic`, `google` or `entra`.
    pub kind: String,
    pub issuer: Option<String>,
    pub tenant: Option<String>,
    pub allowed_tenants: Vec<String>,
    pub client_id: String,
    /// Register this redirect URI at the provider.
    pub redirect_uri: String,
    /// Where the org's people start a sign-in.
    pub start_url: String,
}

impl From<meetvault_core::org_sso::OidcSettings> for OrgOidc {
    fn from(s: meetvault_core::org_sso::OidcSettings) -> Self {
        Self {
            provider_id: s.provider_id,
            name: s.name,
            kind: serde_json::to_value(s.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            issuer: s.issuer,
            tenant: s.tenant,
            allowed_tenants: s.allowed_tenants,
            client_id: s.client_id,
            redirect_uri: s.redirect_uri,
            start_url: s.start_url,
        }
    }
}

/// An org's own OpenID Connect provider to save.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrgOidcBody {
    /// What the sign-in button says.
    pub name: String,
    /// `generic` (with `issuer`), `google`, or `entra` (with `tenant`).
    #[serde(default = "generic")]
    pub kind: String,
    pub issuer: Option<String>,
    pub tenant: Option<String>,
    #[serde(default)]
    pub allowed_tenants: Vec<String>,
    pub client_id: String,
    /// Required the first time; left out, the stored one is kept.
    pub client_secret: Option<String>,
}

impl std::fmt::Debug for OrgOidcBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrgOidcBody")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

fn generic() -> String {
    "generic".to_owned()
}
