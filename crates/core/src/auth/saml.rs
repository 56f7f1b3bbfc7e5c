//! SAML 2.0 sign-in for an org that imported its identity provider's metadata (`PUT
//! /api/v1/org/sso/saml`): meetvault is the service provider, one per org, with its entity id
//! at `{public_url}/api/v1/auth/saml/{org}/metadata` and its assertion consumer at `…/acs`.
//!
//! The start sends an unsigned AuthnRequest over the HTTP-Redirect binding and sets a login
//! cookie holding a signed state (`meetvault_oidc::StateKey`, bound to the cookie's own
//! secret) that names the org and the request's id. The IdP posts the response back from its
//! own page — a cross-site POST, so that cookie is `SameSite=None` (Secure, HttpOnly). The
//! response must answer that very request (`InResponseTo`: unsolicited responses are refused),
//! be signed by a key of the imported metadata, and pass `meetvault_saml::validate_response`'s
//! checks; its assertion id is kept until it expires, so a replay is refused.
//!
//! An org's IdP is trusted for that org only: the asserted email must be at one of the org's
//! SSO domains, an existing account is linked only if it is the org's, and a first sign-in
//! makes an account (just in time, if the org turned it on) with the role the IdP's role
//! attribute names (admin, member, viewer, billing — never owner) or the org's default.

use chrono::Utc;
use meetvault_oidc::{LoginState, ReturnTo, SecretString};
use meetvault_saml::{AttributeMap, AuthnRequest, IdpMetadata, SpConfig, Validation};
use meetvault_store::identity::UserRow;

use super::sso::{SsoSignedIn, now_secs, refused};
use super::{EmailAddress, Limited};
use crate::access::{RequestMeta, Role};
use crate::ids::OrgId;
use crate::{Core, CoreError};

/// A started SAML sign-in: send the browser to `url`, with `cookie` as its login cookie.
#[derive(Debug)]
pub struct SamlStart {
    pub url: String,
    pub cookie: SecretString,
}

impl Core {
    /// The org's service-provider identity: entity id and assertion consumer URL.
    pub(crate) fn saml_sp(&self, org: OrgId) -> Result<SpConfig, CoreError> {
        let base = self
            .config()
            .server
            .public_url
            .as_ref()
            .ok_or_else(|| refused("SAML sign-in needs server.public_url"))?;
        let base = format!(
            "{}/api/v1/auth/saml/{org}",
            base.as_str().trim_end_matches('/')
        );
        Ok(SpConfig::new(
            format!("{base}/metadata"),
            format!("{base}/acs"),
        ))
    }

    /// The org's imported IdP metadata.
    pub(crate) async fn saml_idp(&self, org: OrgId) -> Result<IdpMetadata, CoreError> {
        let xml = self
            .db()
            .org_saml(org.uuid())
            .await?
            .ok_or(CoreError::NotFound("SAML sign-in for this organization"))?;
        IdpMetadata::parse(&xml)
            .map_err(|e| CoreError::Integrity(format!("stored IdP metadata: {e}")))
    }

    /// The account a verified assertion signs in to, or why none.
    async fn saml_account(
        &self,
        org: OrgId,
        name_id: &str,
        mapped: &meetvault_saml::MappedUser,
        meta: &RequestMeta,
    ) -> Result<UserRow, CoreError> {
        let provider = format!("saml:{org}");
        let now = Utc::now().timestamp_millis();
        if let Some(link) = self.db().sso_identity(&provider, name_id).await?
            && let Some(user) = self.db().user(org.uuid(), link.user_id).await?
        {
            self.db()
                .touch_sso_identity(&provider, name_id, now)
                .await?;
            return Ok(user);
        }
        let email = mapped
            .email
            .as_deref()
            .and_then(|e| EmailAddress::parse(e).ok());
        let Some(email) = email else {
            self.audit_sso_refusal(&provider, "no_email", None, None, meta)
                .await?;
            return Err(refused(
                "the identity provider sent no email address: ask its administrator to release \
                 the email attribute to meetvault",
            ));
        };
        let domain = email
            .as_str()
            .rsplit_once('@')
            .map(|(_, d)| d.to_owned())
            .unwrap_or_default();
        let domains = self.sso_domains_of(org.uuid());
        if !domains.contains(&domain) {
            self.audit_sso_refusal(
                &provider,
                "foreign_domain",
                Some(email.as_str()),
                None,
                meta,
            )
            .await?;
            return Err(refused(
                "the identity provider signed in an address outside this organization's \
                 sign-in domains: an admin adds the domain under the organization's SSO settings",
            ));
        }
        if let Some(user) = self.db().user_by_email(email.as_str()).await? {
            return self
                .link_sso_account(&provider, name_id, user, Some(org.uuid()), &email, meta)
                .await;
        }
        let settings = self.db().org_sso(org.uuid()).await?;
        let Some(settings) = settings.filter(|s| s.jit) else {
            self.audit_sso_refusal(&provider, "no_account", Some(email.as_str()), None, meta)
                .await?;
            return Err(refused(&format!(
                "no meetvault account uses {}: ask your organization's admin to invite you, or \
                 to turn on accounts at first sign-in",
                email.as_str()
            )));
        };
        let role = mapped
            .roles
            .iter()
            .find_map(|r| super::parse_role(&r.to_ascii_lowercase()).ok())
            .filter(|r| *r != Role::Owner)
            .map_or_else(|| settings.default_role.clone(), |r| r.as_str().to_owned());
        self.provision_sso_account(
            &provider,
            name_id,
            &email,
            mapped.name.as_deref(),
            &role,
            org,
            meta,
        )
        .await
    }
}

impl super::Identity<'_> {
    /// Starts a SAML sign-in for `org`, coming back to `return_to` (a path here).
    pub async fn saml_start(
        self,
        org: OrgId,
        return_to: Option<&str>,
    ) -> Result<SamlStart, CoreError> {
        let core = self.core;
        let return_to = ReturnTo::parse(return_to.unwrap_or("/")).map_err(|_| {
            CoreError::invalid("return_to", "must be a path on this site, like /meetings")
        })?;
        let idp = core.saml_idp(org).await?;
        let sp = core.saml_sp(org)?;
        let request = AuthnRequest::new(&sp, &idp, Utc::now(), &ring::rand::SystemRandom::new())
            .map_err(|e| refused(&e.to_string()))?;
        let begun = core.sso_state_key().begin(
            LoginState::new(
                format!("saml:{org}:{}", request.id),
                Some(org.to_string()),
                return_to,
                now_secs(),
            ),
            &mut rand::rng(),
        );
        let url = request
            .redirect_url(None)
            .map_err(|e| refused(&e.to_string()))?;
        Ok(SamlStart {
            url,
            cookie: SecretString::new(format!("{}~{}", begun.state, begun.browser_secret.expose())),
        })
    }

    /// Finishes a SAML sign-in at the assertion consumer: `saml_response` is the posted
    /// `SAMLResponse`, `cookie` the login cookie. Every response counts against the address's
    /// budget (`Limited::SsoCallback`), before any work.
    pub async fn saml_finish(
        self,
        org: OrgId,
        saml_response: &str,
        cookie: Option<&str>,
        meta: RequestMeta,
    ) -> Result<SsoSignedIn, CoreError> {
        self.core
            .count_attempt(Limited::SsoCallback, meta.ip, None)
            .await?;
        self.saml_finish_inner(org, saml_response, cookie, meta)
            .await
    }

    async fn saml_finish_inner(
        self,
        org: OrgId,
        saml_response: &str,
        cookie: Option<&str>,
        meta: RequestMeta,
    ) -> Result<SsoSignedIn, CoreError> {
        let core = self.core;
        let provider = format!("saml:{org}");
        let idp = core.saml_idp(org).await?;
        let sp = core.saml_sp(org)?;
        let (state, secret) = cookie.and_then(|c| c.split_once('~')).unwrap_or(("", ""));
        let finished = match core.sso_state_key().finish(state, secret, now_secs()) {
            Ok(f) => f,
            Err(e) => {
                core.audit_sso_refusal(&provider, "bad_state", None, None, &meta)
                    .await?;
                let e = if cookie.is_none() {
                    meetvault_oidc::StateError::MissingBrowserSecret
                } else {
                    e
                };
                return Err(refused(&e.to_string()));
            }
        };
        let Some(request_id) = finished
            .login_state
            .provider()
            .strip_prefix(&format!("{provider}:"))
            .map(str::to_owned)
        else {
            core.audit_sso_refusal(&provider, "other_provider", None, None, &meta)
                .await?;
            return Err(refused(
                "this sign-in was started for another organization; start again",
            ));
        };
        let expected = [request_id];
        let ctx = Validation::new(&sp, &idp, &expected, Utc::now());
        let assertion = match meetvault_saml::validate_response(saml_response, &ctx) {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(org = %org, error = %e, "a SAML response was refused");
                core.audit_sso_refusal(&provider, "bad_response", None, None, &meta)
                    .await?;
                return Err(refused(&format!(
                    "the identity provider's answer was refused ({e}); start again, and tell your \
                     administrator if it keeps happening"
                )));
            }
        };
        let now = Utc::now().timestamp_millis();
        let fresh = core
            .db()
            .use_saml_assertion(
                org.uuid(),
                &assertion.id,
                assertion.not_on_or_after.timestamp_millis(),
                now,
            )
            .await?;
        if !fresh {
            core.audit_sso_refusal(&provider, "replayed", None, None, &meta)
                .await?;
            return Err(refused("this sign-in was used before; start again"));
        }
        let mapped = AttributeMap::default().extract(&assertion);
        let user = core
            .saml_account(org, &assertion.name_id, &mapped, &meta)
            .await?;
        core.signed_in(user, &provider, finished.login_state.return_to(), &meta)
            .await
    }
}
