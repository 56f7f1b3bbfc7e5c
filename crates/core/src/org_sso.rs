//! An org's single sign-on settings (`GET/PUT /api/v1/org/sso`, `org:manage`): whether a
//! first sign-in makes an account (just-in-time, with `default_role`, which the caller must be
//! able to grant; never owner), and whether its members must sign in through a provider. Its
//! email domains are the operator's word (`[[sso.domains]]`), shown here: meetvault does not
//! verify the addresses people register or are invited with, so an org cannot claim a domain
//! by itself. Also the org's SAML identity provider (`…/sso/saml`) and its own OpenID Connect
//! provider (`…/sso/oidc`).

use meetvault_config::OidcProviderConfig;
use meetvault_store::sso::OrgSsoRow;
use uuid::Uuid;

use crate::CoreError;
use crate::access::proof::OrgManage;
use crate::access::{Role, Scope};
use crate::audit::{AuditAction, Event};
use crate::org::Org;

/// The settings as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoSettings {
    pub domains: Vec<String>,
    pub jit: bool,
    pub default_role: Role,
    pub require_sso: bool,
    /// The providers this instance offers (their ids).
    pub providers: Vec<String>,
}

/// The settings to save (all of them).
#[derive(Debug, Clone)]
pub struct SsoSettingsInput {
    pub jit: bool,
    pub default_role: Role,
    pub require_sso: bool,
}

impl Org<'_> {
    pub async fn sso(self, scope: &Scope<OrgManage>) -> Result<SsoSettings, CoreError> {
        let org = scope.org_id().uuid();
        let row = self.core.db().org_sso(org).await?;
        Ok(SsoSettings {
            domains: self.core.sso_domains_of(org),
            jit: row.as_ref().is_some_and(|r| r.jit),
            default_role: match &row {
                Some(r) => crate::auth::parse_role(&r.default_role)?,
                None => Role::Member,
            },
            require_sso: row.as_ref().is_some_and(|r| r.require_sso),
            providers: self
                .core
                .config()
                .sso
                .oidc
                .iter()
                .map(|p| p.id.clone())
                .collect(),
        })
    }

    pub async fn set_sso(
        self,
        scope: &Scope<OrgManage>,
        input: &SsoSettingsInput,
    ) -> Result<SsoSettings, CoreError> {
        let org = scope.org_id().uuid();
        crate::org::check_grantable(scope.org_permissions(), input.default_role)?;
        if input.default_role == Role::Owner {
            return Err(CoreError::invalid(
                "default_role",
                "the owner role is never given at a first sign-in: choose admin, member, viewer or billing",
            ));
        }
        let own_provider = self.core.db().org_oidc(org).await?.is_some()
            || self.core.db().org_saml(org).await?.is_some();
        if input.require_sso && self.core.config().sso.oidc.is_empty() && !own_provider {
            return Err(CoreError::NotAllowed(
                "there is no sign-in provider for this organization (the instance's [[sso.oidc]], or its own OpenID Connect or SAML provider): single sign-on cannot be required".into(),
            ));
        }
        let row = OrgSsoRow {
            org_id: org,
            jit: input.jit,
            default_role: input.default_role.as_str().to_owned(),
            require_sso: input.require_sso,
            updated_at: meetvault_jobs::now_ms(),
        };
        self.core.db().put_org_sso(&row).await?;
        self.core
            .audit(Event::by(scope, AuditAction::OrgSsoUpdate).resource(scope.org_id()))
            .await?;
        self.sso(scope).await
    }
}

/// An org's SAML sign-in, as set up: its IdP (from the imported metadata) and what to give the
/// IdP about meetvault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SamlSettings {
    pub idp_entity_id: String,
    pub idp_sso_url: Option<String>,
    /// meetvault's entity id for this org, which is also where its metadata is served.
    pub sp_entity_id: String,
    /// Where the IdP posts its responses (HTTP-POST binding).
    pub sp_acs_url: String,
    /// Where people of this org start a SAML sign-in.
    pub start_url: String,
}

/// The largest IdP metadata document taken.
const MAX_METADATA: usize = 256 * 1024;

impl Org<'_> {
    fn saml_view(
        self,
        org: crate::ids::OrgId,
        idp: &meetvault_saml::IdpMetadata,
    ) -> Result<SamlSettings, CoreError> {
        let sp = self.core.saml_sp(org)?;
        let start_url = sp
            .acs_url
            .strip_suffix("/acs")
            .map(|base| format!("{base}/start"))
            .unwrap_or_default();
        Ok(SamlSettings {
            idp_entity_id: idp.entity_id.clone(),
            idp_sso_url: idp.sso_redirect_url.clone(),
            sp_entity_id: sp.entity_id,
            sp_acs_url: sp.acs_url,
            start_url,
        })
    }

    pub async fn saml(self, scope: &Scope<OrgManage>) -> Result<SamlSettings, CoreError> {
        let idp = self.core.saml_idp(scope.org_id()).await?;
        self.saml_view(scope.org_id(), &idp)
    }

    /// Imports the IdP's metadata (replacing any earlier one): it must name an IdP with an
    /// HTTP-Redirect sign-in URL and at least one usable signing key.
    pub async fn set_saml(
        self,
        scope: &Scope<OrgManage>,
        metadata_xml: &str,
    ) -> Result<SamlSettings, CoreError> {
        if metadata_xml.len() > MAX_METADATA {
            return Err(CoreError::invalid("idp_metadata", "larger than 256 KiB"));
        }
        let idp = meetvault_saml::IdpMetadata::parse(metadata_xml)
            .map_err(|e| CoreError::invalid("idp_metadata", e.to_string()))?;
        if idp.sso_redirect_url.is_none() {
            return Err(CoreError::invalid(
                "idp_metadata",
                "the IdP has no SingleSignOnService for the HTTP-Redirect binding",
            ));
        }
        let view = self.saml_view(scope.org_id(), &idp)?;
        self.core
            .db()
            .put_org_saml(
                scope.org_id().uuid(),
                metadata_xml,
                meetvault_jobs::now_ms(),
            )
            .await?;
        self.core
            .audit(
                Event::by(scope, AuditAction::OrgSsoUpdate)
                    .resource(format!("{}/saml", scope.org_id())),
            )
            .await?;
        Ok(view)
    }

    pub async fn delete_saml(self, scope: &Scope<OrgManage>) -> Result<(), CoreError> {
        if !self
            .core
            .db()
            .delete_org_saml(scope.org_id().uuid())
            .await?
        {
            return Err(CoreError::NotFound("SAML sign-in for this organization"));
        }
        self.core
            .audit(
                Event::by(scope, AuditAction::OrgSsoUpdate)
                    .resource(format!("{}/saml", scope.org_id())),
            )
            .await?;
        Ok(())
    }
}

impl crate::auth::Identity<'_> {
    /// meetvault's SP metadata for `org`, if it set up SAML sign-in.
    pub async fn saml_sp_metadata(self, org: crate::ids::OrgId) -> Result<String, CoreError> {
        self.core.saml_idp(org).await?;
        Ok(self.core.saml_sp(org)?.sp_metadata_xml())
    }
}

/// An org's own OpenID Connect provider, as read (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcSettings {
    /// Its id in sign-in URLs (`org-…`).
    pub provider_id: String,
    pub name: String,
    pub kind: meetvault_config::OidcKind,
    pub issuer: Option<String>,
    pub tenant: Option<String>,
    pub allowed_tenants: Vec<String>,
    pub client_id: String,
    /// The redirect URI to register at the provider.
    pub redirect_uri: String,
    /// Where the org's people start a sign-in.
    pub start_url: String,
}

/// An org's own provider to save; without `client_secret` the stored one is kept.
#[derive(Debug, Clone)]
pub struct OidcInput {
    pub name: String,
    pub kind: meetvault_config::OidcKind,
    pub issuer: Option<String>,
    pub tenant: Option<String>,
    pub allowed_tenants: Vec<String>,
    pub client_id: String,
    pub client_secret: Option<meetvault_config::Secret>,
}

impl Org<'_> {
    fn oidc_view(self, row: &meetvault_store::sso::OrgOidcRow) -> Result<OidcSettings, CoreError> {
        let id = org_oidc_id(row.org_id);
        let base = self
            .core
            .config()
            .server
            .public_url
            .as_ref()
            .map(|u| u.as_str().trim_end_matches('/').to_owned())
            .unwrap_or_default();
        Ok(OidcSettings {
            redirect_uri: format!("{base}/api/v1/auth/sso/{id}/callback"),
            start_url: format!("{base}/api/v1/auth/sso/{id}/start"),
            provider_id: id,
            name: row.name.clone(),
            kind: serde_json::from_value(serde_json::Value::String(row.kind.clone()))
                .map_err(|_| CoreError::Integrity("an org's OIDC kind".into()))?,
            issuer: row.issuer.clone(),
            tenant: row.tenant.clone(),
            allowed_tenants: serde_json::from_str(&row.allowed_tenants)
                .map_err(|_| CoreError::Integrity("an org's OIDC tenants".into()))?,
            client_id: row.client_id.clone(),
        })
    }

    pub async fn oidc(self, scope: &Scope<OrgManage>) -> Result<OidcSettings, CoreError> {
        let row = self
            .core
            .db()
            .org_oidc(scope.org_id().uuid())
            .await?
            .ok_or(CoreError::NotFound(
                "an OpenID Connect provider of this organization",
            ))?;
        self.oidc_view(&row)
    }

    /// Saves the org's own provider (replacing an earlier one), held to the rules of
    /// `[[sso.oidc]]`; the client secret sealed under the org's key. Needs
    /// `server.public_url` (the redirect URI is made from it).
    pub async fn set_oidc(
        self,
        scope: &Scope<OrgManage>,
        input: &OidcInput,
    ) -> Result<OidcSettings, CoreError> {
        let org = scope.org_id().uuid();
        if self.core.config().server.public_url.is_none() {
            return Err(CoreError::NotAllowed(
                "this instance has no server.public_url, so a provider's redirect URI cannot be made: ask its operator to set it".into(),
            ));
        }
        let id = org_oidc_id(org);
        let secret = match &input.client_secret {
            Some(s) => zeroize::Zeroizing::new(s.expose().to_owned()),
            None => match self.core.db().org_oidc(org).await? {
                Some(row) => zeroize::Zeroizing::new(
                    String::from_utf8(
                        self.core
                            .open_org_field(
                                org,
                                "org_oidc",
                                org,
                                "client_secret",
                                &row.client_secret,
                            )
                            .await?
                            .to_vec(),
                    )
                    .map_err(|_| CoreError::Integrity("an org's OIDC client secret".into()))?,
                ),
                None => return Err(CoreError::invalid("client_secret", "is required")),
            },
        };
        let issuer = input
            .issuer
            .as_deref()
            .map(url::Url::parse)
            .transpose()
            .map_err(|_| CoreError::invalid("issuer", "is not a URL"))?;
        let check = meetvault_config::OidcProviderConfig {
            id: id.clone(),
            name: input.name.trim().to_owned(),
            kind: input.kind,
            issuer: issuer.clone(),
            tenant: input.tenant.clone(),
            allowed_tenants: input.allowed_tenants.clone(),
            client_id: input.client_id.trim().to_owned(),
            client_secret: meetvault_config::Secret::new(secret.as_str()),
        };
        if let Err(e) = check.validate() {
            let field = match &e {
                meetvault_config::ConfigError::Invalid { key, .. } if key.ends_with(".issuer") => {
                    "issuer"
                }
                meetvault_config::ConfigError::Invalid { key, .. } if key.ends_with(".tenant") => {
                    "tenant"
                }
                meetvault_config::ConfigError::Invalid { key, .. }
                    if key.ends_with(".client_secret") =>
                {
                    "client_secret"
                }
                _ => "name",
            };
            let message = match e {
                meetvault_config::ConfigError::Invalid { message, .. } => message,
                other => other.to_string(),
            };
            return Err(CoreError::invalid(field, message));
        }
        if input.name.chars().count() > 100 || input.client_id.len() > 512 || secret.len() > 2048 {
            return Err(CoreError::invalid(
                "name",
                "name, client_id or client_secret is too long",
            ));
        }
        let row = meetvault_store::sso::OrgOidcRow {
            org_id: org,
            name: check.name.clone(),
            kind: serde_json::to_value(input.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            issuer: issuer.map(|u| u.to_string()),
            tenant: input.tenant.clone(),
            allowed_tenants: serde_json::to_string(&input.allowed_tenants)
                .map_err(CoreError::internal)?,
            client_id: check.client_id.clone(),
            client_secret: self
                .core
                .seal_org_field(org, "org_oidc", org, "client_secret", secret.as_bytes())
                .await?,
            updated_at: meetvault_jobs::now_ms(),
        };
        self.core.db().put_org_oidc(&row).await?;
        self.core.forget_sso_metadata(&id);
        self.core
            .audit(
                Event::by(scope, AuditAction::OrgSsoUpdate)
                    .resource(format!("{}/oidc", scope.org_id())),
            )
            .await?;
        self.oidc_view(&row)
    }

    pub async fn delete_oidc(self, scope: &Scope<OrgManage>) -> Result<(), CoreError> {
        let org = scope.org_id().uuid();
        if !self.core.db().delete_org_oidc(org).await? {
            return Err(CoreError::NotFound(
                "an OpenID Connect provider of this organization",
            ));
        }
        self.core.forget_sso_metadata(&org_oidc_id(org));
        self.core
            .audit(
                Event::by(scope, AuditAction::OrgSsoUpdate)
                    .resource(format!("{}/oidc", scope.org_id())),
            )
            .await?;
        Ok(())
    }
}

/// The id of `org`'s own provider (`org-` and the org's 32 hex digits).
pub(crate) fn org_oidc_id(org: Uuid) -> String {
    format!("org-{}", org.simple())
}

impl crate::Core {
    /// The provider `id`: one of `[[sso.oidc]]`, or an org's own (`org-{org}`, its secret
    /// opened from under the org's key), with the org it alone signs in to.
    pub(crate) async fn sso_provider(
        &self,
        id: &str,
    ) -> Result<(OidcProviderConfig, Option<Uuid>), CoreError> {
        let missing = || CoreError::NotFound("sign-in provider");
        let Some(hex) = id.strip_prefix("org-") else {
            let p = self.config().sso.oidc.iter().find(|p| p.id == id);
            return Ok((p.ok_or_else(missing)?.clone(), None));
        };
        let org = Uuid::try_parse(hex).map_err(|_| missing())?;
        if id != org_oidc_id(org) {
            return Err(missing());
        }
        let row = self.db().org_oidc(org).await?.ok_or_else(missing)?;
        let secret = self
            .open_org_field(org, "org_oidc", org, "client_secret", &row.client_secret)
            .await?;
        let secret = String::from_utf8(secret.to_vec())
            .map_err(|_| CoreError::Integrity("an org's OIDC client secret".into()))?;
        let bad = |what: &str| CoreError::Integrity(format!("an org's OIDC {what}"));
        Ok((
            OidcProviderConfig {
                id: id.to_owned(),
                name: row.name,
                kind: serde_json::from_value(serde_json::Value::String(row.kind))
                    .map_err(|_| bad("kind"))?,
                issuer: row
                    .issuer
                    .map(|i| url::Url::parse(&i))
                    .transpose()
                    .map_err(|_| bad("issuer"))?,
                tenant: row.tenant,
                allowed_tenants: serde_json::from_str(&row.allowed_tenants)
                    .map_err(|_| bad("tenants"))?,
                client_id: row.client_id,
                client_secret: meetvault_config::Secret::new(secret),
            },
            Some(org),
        ))
    }

    /// Forgets a provider's cached discovery and keys (an org changed its provider).
    pub(crate) fn forget_sso_metadata(&self, id: &str) {
        self.inner.sso_cache.forget(id);
    }
}
