//! An org's single sign-on settings (`GET/PUT /api/v1/org/sso`, `org:manage`): whether a
//! first sign-in makes an account (just-in-time, with `default_role`, which the caller must be
//! able to grant; never owner), and whether its members must sign in through a provider. Its
//! email domains are the operator's word (`[[sso.domains]]`), shown here: meetvault does not
//! verify the addresses people register or are invited with, so an org cannot claim a domain
//! by itself. Also the org's SAML identity provider (`…/sso/saml`).

use meetvault_store::sso::OrgSsoRow;

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
        if input.require_sso && self.core.config().sso.oidc.is_empty() {
            return Err(CoreError::NotAllowed(
                "this instance has no sign-in provider ([[sso.oidc]]): single sign-on cannot be required".into(),
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
