//! Single sign-on with OpenID Connect (authorization code + PKCE, through the backend): the
//! browser is sent to the provider with a `state` that is signed and bound to a cookie of the
//! browser that started (`meetvault_oidc::StateKey`: the nonce and the PKCE verifier are
//! derived from it, so nothing is stored between the two legs), comes back to the callback,
//! and the code is exchanged here — the client secret never reaches the browser. The ID token
//! is verified against the provider's JWKS (fetched again once when it names a key we do not
//! have: rotation), and then:
//!
//! - an identity linked before signs in to its account;
//! - else a **verified** email that is an account's is linked to it (audited) and signs in;
//! - else, if the email's domain is an org's SSO domain with just-in-time provisioning on,
//!   an account is made in that org with its default role (audited);
//! - else the sign-in is refused, saying what to do. An unverified email links nothing.
//!
//! An org may require SSO: its members' password logins are refused, but an owner's (the
//! break-glass path, for when the provider is down) which is audited as such. The provider's
//! discovery document and keys are fetched through the outbound client (its rules: https,
//! public addresses, or the operator's allow-list) and kept for an hour.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{TimeZone as _, Utc};
use meetvault_config::{OidcKind, OidcProviderConfig};
use meetvault_oidc::{
    AuthorizationRequest, CallbackError, ClientAuth, Discovery, Expectations, IdClaims,
    IdTokenError, IssuerRule, Jwks, LoginState, ReturnTo, SecretString, StateKey, TokenRequest,
    TokenResponse, parse_callback, verify_id_token,
};
use meetvault_store::identity::UserRow;
use meetvault_store::sso::SsoIdentityRow;
use uuid::Uuid;

use super::{EmailAddress, Limited, LoginOutcome};
use crate::access::{Actor, RequestMeta, Role};
use crate::audit::{AuditAction, Event, Outcome, Personal};
use crate::ids::UserId;
use crate::{Core, CoreError};

/// How long a provider's discovery document and keys are kept.
const METADATA_TTL: Duration = Duration::from_secs(3600);
/// The least time between two fetches of a provider's keys for an unknown key id.
const REFETCH_COOLDOWN: Duration = Duration::from_secs(60);
/// The largest discovery, JWKS or token response read.
const MAX_RESPONSE: usize = 256 * 1024;

/// A provider's discovery document and keys, as last fetched.
#[derive(Debug, Clone)]
struct Metadata {
    discovery: Discovery,
    jwks: Jwks,
    fetched: Instant,
}

/// Providers' metadata on this instance.
#[derive(Debug, Default)]
pub(crate) struct SsoCache(Mutex<HashMap<String, Metadata>>);

impl SsoCache {
    /// Forgets a provider's discovery and keys (an org changed or removed its provider).
    pub(crate) fn forget(&self, id: &str) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(id);
    }
}

/// A provider people may sign in with (`GET /api/v1/auth/sso`).
#[derive(Debug, Clone)]
pub struct SsoProviderView {
    pub id: String,
    pub name: String,
}

/// A started sign-in: send the browser to `url`, with `browser_secret` as its login cookie.
#[derive(Debug)]
pub struct SsoStart {
    pub url: String,
    pub browser_secret: SecretString,
}

/// One of the caller's identities at a provider (`provider` is an OIDC provider's id, or
/// `saml:{org}`).
#[derive(Debug, Clone)]
pub struct LinkedIdentity {
    pub provider: String,
    pub subject: String,
    pub linked_at: chrono::DateTime<Utc>,
    pub last_sign_in_at: chrono::DateTime<Utc>,
}

/// A finished sign-in: the session, and the path to send the browser to.
#[derive(Debug)]
pub struct SsoSignedIn {
    pub outcome: LoginOutcome,
    pub return_to: String,
}

/// A refusal whose message tells the person what to do.
pub(super) fn refused(message: &str) -> CoreError {
    CoreError::NotAllowed(message.to_owned())
}

/// Unix seconds now (signed states count in them).
pub(crate) fn now_secs() -> u64 {
    u64::try_from(Utc::now().timestamp()).unwrap_or(0)
}

impl Core {
    /// The org the operator says `domain` belongs to (`[[sso.domains]]`).
    pub(crate) fn sso_domain_org(&self, domain: &str) -> Option<Uuid> {
        self.config()
            .sso
            .domains
            .iter()
            .find(|d| d.domain == domain)
            .and_then(|d| d.org.parse::<crate::ids::OrgId>().ok())
            .map(|o| o.uuid())
    }

    /// The email domains that sign in to `org`.
    pub(crate) fn sso_domains_of(&self, org: Uuid) -> Vec<String> {
        self.config()
            .sso
            .domains
            .iter()
            .filter(|d| {
                d.org
                    .parse::<crate::ids::OrgId>()
                    .is_ok_and(|o| o.uuid() == org)
            })
            .map(|d| d.domain.clone())
            .collect()
    }

    /// The key that signs login states: derived from the server's CSRF key for this purpose.
    pub(super) fn sso_state_key(&self) -> StateKey {
        StateKey::new(meetvault_crypto::keys::hmac_sha256(
            &self.keys().csrf,
            b"meetvault sso login state v1",
        ))
    }

    /// `{public_url}/api/v1/auth/sso/{id}/callback`, as registered at the provider.
    fn sso_redirect_uri(&self, id: &str) -> Result<String, CoreError> {
        let base = self
            .config()
            .server
            .public_url
            .as_ref()
            .ok_or_else(|| refused("single sign-on needs server.public_url"))?;
        Ok(format!(
            "{}/api/v1/auth/sso/{id}/callback",
            base.as_str().trim_end_matches('/')
        ))
    }

    async fn sso_get(&self, url: &url::Url) -> Result<Vec<u8>, CoreError> {
        let unreachable = |e: &dyn std::fmt::Display| {
            tracing::warn!(url = %url, error = %e, "fetching a sign-in provider's metadata");
            CoreError::Unavailable("the sign-in provider")
        };
        let http = self.outbound_client();
        let request = http
            .request(reqwest::Method::GET, url.clone())
            .map_err(|e| unreachable(&e))?;
        let response = http.send(request).await.map_err(|e| unreachable(&e))?;
        if !response.status().is_success() {
            return Err(unreachable(&response.status()));
        }
        let body = http
            .read_body(response)
            .await
            .map_err(|e| unreachable(&e))?;
        if body.len() > MAX_RESPONSE {
            return Err(unreachable(&"response too large"));
        }
        Ok(body)
    }

    /// The provider's discovery document and keys (`fresh_keys`: fetch the keys again).
    async fn sso_metadata(
        &self,
        p: &OidcProviderConfig,
        fresh_keys: bool,
    ) -> Result<Metadata, CoreError> {
        if let Some(m) = self
            .inner
            .sso_cache
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&p.id)
        {
            // Keys are fetched again for an unknown key id at most once a minute: a token
            // naming random ids cannot make us hammer the provider.
            let fresh_enough = if fresh_keys {
                m.fetched.elapsed() < REFETCH_COOLDOWN
            } else {
                m.fetched.elapsed() < METADATA_TTL
            };
            if fresh_enough {
                return Ok(m.clone());
            }
        }
        let issuer = p
            .issuer_url()
            .map_err(|e| CoreError::Internal(Box::new(e)))?;
        let well_known = url::Url::parse(&format!(
            "{}/.well-known/openid-configuration",
            issuer.as_str().trim_end_matches('/')
        ))
        .map_err(CoreError::internal)?;
        let doc = self.sso_get(&well_known).await?;
        // Plain http only reaches an allow-listed host (the outbound rules refuse it otherwise).
        let discovery = Discovery::parse(
            &doc,
            issuer.as_str().trim_end_matches('/'),
            issuer.scheme() == "http",
        )
        .map_err(|e| {
            tracing::warn!(provider = %p.id, error = %e, "a sign-in provider's discovery document");
            CoreError::Unavailable("the sign-in provider")
        })?;
        let keys = self.sso_get(discovery.jwks_uri()).await?;
        let jwks = Jwks::parse(&keys).map_err(|e| {
            tracing::warn!(provider = %p.id, error = %e, "a sign-in provider's keys");
            CoreError::Unavailable("the sign-in provider")
        })?;
        let m = Metadata {
            discovery,
            jwks,
            fetched: Instant::now(),
        };
        self.inner
            .sso_cache
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(p.id.clone(), m.clone());
        Ok(m)
    }

    fn issuer_rule(p: &OidcProviderConfig, discovery: &Discovery) -> IssuerRule {
        match p.kind {
            OidcKind::Generic => discovery.issuer_rule().clone(),
            OidcKind::Google => IssuerRule::google(),
            OidcKind::Entra => match p.tenant.as_deref() {
                None | Some("organizations" | "common") => IssuerRule::entra_multi_tenant(
                    (!p.allowed_tenants.is_empty()).then(|| p.allowed_tenants.clone()),
                ),
                Some(t) => IssuerRule::entra_single_tenant(t),
            },
        }
    }

    pub(super) async fn audit_sso_refusal(
        &self,
        provider: &str,
        reason: &'static str,
        email: Option<&str>,
        user: Option<&UserRow>,
        meta: &RequestMeta,
    ) -> Result<(), CoreError> {
        let mut event = Event::new(
            AuditAction::AuthSsoLogin,
            Actor::Anonymous,
            Outcome::Failure,
        );
        event.reason = Some(reason);
        event.resource = Some(format!("sso/{provider}"));
        event.org_id = user.map(|u| u.org_id.into());
        event.subject = user.map(|u| u.id.into());
        event.personal = Personal::from_meta(meta, email);
        self.audit_refusal(event).await
    }

    /// The account an ID token's identity signs in to (linked, linked now, or provisioned
    /// now), or why none.
    async fn sso_account(
        &self,
        provider: &str,
        provider_org: Option<Uuid>,
        claims: &IdClaims,
        meta: &RequestMeta,
    ) -> Result<UserRow, CoreError> {
        let now = Utc::now().timestamp_millis();
        if let Some(link) = self.db().sso_identity(provider, claims.subject()).await? {
            let user = self
                .db()
                .user(link.org_id, link.user_id)
                .await?
                .ok_or(CoreError::Unauthenticated)?;
            self.db()
                .touch_sso_identity(provider, claims.subject(), now)
                .await?;
            return Ok(user);
        }
        let email = claims.email().and_then(|e| EmailAddress::parse(e).ok());
        let Some(email) = email.filter(|_| claims.email_verified()) else {
            self.audit_sso_refusal(provider, "unverified_email", claims.email(), None, meta)
                .await?;
            return Err(refused(
                "the provider did not say your email address is verified, so it cannot sign you in: \
                 verify it with the provider (or ask its administrator), then try again",
            ));
        };
        let domain = email
            .as_str()
            .rsplit_once('@')
            .map(|(_, d)| d.to_owned())
            .unwrap_or_default();
        let domain_org = self.sso_domain_org(&domain);
        // An org's own provider vouches for that org's domains only.
        if provider_org.is_some() && domain_org != provider_org {
            self.audit_sso_refusal(provider, "foreign_domain", Some(email.as_str()), None, meta)
                .await?;
            return Err(refused(
                "this organization's sign-in provider cannot sign in addresses outside the \
                 organization's sign-in domains: sign in with your password, or through your own \
                 organization's provider",
            ));
        }
        if let Some(user) = self.db().user_by_email(email.as_str()).await? {
            return self
                .link_sso_account(provider, claims.subject(), user, domain_org, &email, meta)
                .await;
        }
        let settings = match domain_org {
            Some(org) => self.db().org_sso(org).await?,
            None => None,
        };
        let Some(settings) = settings.filter(|s| s.jit) else {
            self.audit_sso_refusal(provider, "no_account", Some(email.as_str()), None, meta)
                .await?;
            return Err(refused(&format!(
                "no meetvault account uses {}: ask your organization's admin to invite you, or to \
                 turn on sign-in for your email domain",
                email.as_str()
            )));
        };
        self.provision_sso_account(
            provider,
            claims.subject(),
            &email,
            claims.name(),
            &settings.default_role,
            settings.org_id.into(),
            meta,
        )
        .await
    }

    /// Makes the account of a first sign-in (just in time) in `org`, with its identity at
    /// `provider`, and audits it.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn provision_sso_account(
        &self,
        provider: &str,
        subject: &str,
        email: &EmailAddress,
        name: Option<&str>,
        role: &str,
        org: crate::ids::OrgId,
        meta: &RequestMeta,
    ) -> Result<UserRow, CoreError> {
        let now = Utc::now().timestamp_millis();
        let name = name
            .map(|n| {
                n.chars()
                    .filter(|c| !c.is_control())
                    .take(200)
                    .collect::<String>()
            })
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| email.as_str().to_owned());
        // No password: one nobody knows (the account signs in through its provider; an
        // owner may set one later for the break-glass path).
        let unusable = super::account::new_password(
            hex::encode(meetvault_crypto::keys::SymmetricKey::generate().expose()),
            email.as_str(),
            "",
        )?;
        let hash = self
            .hasher()
            .hash(&unusable)
            .await
            .map_err(CoreError::internal)?;
        let user = UserRow {
            id: Uuid::new_v4(),
            org_id: org.uuid(),
            email: email.as_str().to_owned(),
            name,
            password_hash: hash,
            role: role.to_owned(),
            totp_secret: None,
            totp_enabled: false,
            totp_last_step: None,
            created_at: Utc::now(),
        };
        let identity = SsoIdentityRow {
            provider: provider.to_owned(),
            subject: subject.to_owned(),
            org_id: user.org_id,
            user_id: user.id,
            created_at: now,
            last_login_at: now,
        };
        if !self.db().provision_sso_user(&user, &identity).await? {
            return Err(CoreError::Conflict(
                "an account with this email was just made; sign in again".into(),
            ));
        }
        self.audit_sso_account(AuditAction::AuthSsoProvision, &user, email, provider, meta)
            .await?;
        Ok(user)
    }

    /// Links `user` (found by `email`) to `provider`'s `subject`, audited — only if it is an
    /// account of `org` (the org the email's domain signs in to) and neither an owner's nor
    /// one with a second factor: meetvault never verified its address, so a provider's word
    /// is not enough for those (refused, audited).
    pub(super) async fn link_sso_account(
        &self,
        provider: &str,
        subject: &str,
        user: UserRow,
        org: Option<Uuid>,
        email: &EmailAddress,
        meta: &RequestMeta,
    ) -> Result<UserRow, CoreError> {
        let refusal = if org != Some(user.org_id) {
            Some("not_domain_org")
        } else if user.totp_enabled || super::parse_role(&user.role)? == Role::Owner {
            Some("protected_account")
        } else {
            None
        };
        if let Some(reason) = refusal {
            self.audit_sso_refusal(provider, reason, Some(email.as_str()), Some(&user), meta)
                .await?;
            return Err(refused(
                "an account with this email already exists and cannot be linked to this \
                 provider automatically: sign in with your password",
            ));
        }
        let now = Utc::now().timestamp_millis();
        self.db()
            .link_sso_identity(&SsoIdentityRow {
                provider: provider.to_owned(),
                subject: subject.to_owned(),
                org_id: user.org_id,
                user_id: user.id,
                created_at: now,
                last_login_at: now,
            })
            .await?;
        self.audit_sso_account(AuditAction::AuthSsoLink, &user, email, provider, meta)
            .await?;
        Ok(user)
    }

    async fn audit_sso_account(
        &self,
        action: AuditAction,
        user: &UserRow,
        email: &EmailAddress,
        provider: &str,
        meta: &RequestMeta,
    ) -> Result<(), CoreError> {
        let id = UserId::from(user.id);
        let event = Event::about(
            action,
            Actor::User(id),
            user.org_id.into(),
            id,
            meta,
            Some(email.as_str()),
        );
        self.audit(event.resource(format!("sso/{provider}")))
            .await?;
        Ok(())
    }

    /// Starts the session of a sign-in through `provider` and audits it.
    pub(super) async fn signed_in(
        &self,
        user: UserRow,
        provider: &str,
        return_to: &ReturnTo,
        meta: &RequestMeta,
    ) -> Result<SsoSignedIn, CoreError> {
        let outcome = self.start_session(&user, meta).await?;
        let id = UserId::from(user.id);
        let mut event = Event::about(
            AuditAction::AuthSsoLogin,
            Actor::User(id),
            user.org_id.into(),
            id,
            meta,
            None,
        );
        event.resource = Some(format!("sso/{provider}"));
        self.audit(event).await?;
        Ok(SsoSignedIn {
            outcome,
            return_to: return_to.as_str().to_owned(),
        })
    }

    /// A password login of a member of an org that requires SSO: refused, but for an owner
    /// (break-glass: true, for the caller to audit once the login succeeds).
    pub(crate) async fn check_sso_required(&self, user: &UserRow) -> Result<bool, CoreError> {
        let Some(settings) = self.db().org_sso(user.org_id).await? else {
            return Ok(false);
        };
        if !settings.require_sso {
            return Ok(false);
        }
        if super::parse_role(&user.role)? == Role::Owner {
            return Ok(true);
        }
        Err(refused(
            "your organization signs in with single sign-on: use its sign-in button instead of a password",
        ))
    }
}

impl super::Identity<'_> {
    /// The caller's linked identities.
    pub async fn linked_identities(
        self,
        scope: &crate::access::Scope<crate::access::proof::OwnAccount>,
    ) -> Result<Vec<LinkedIdentity>, CoreError> {
        let at = |ms: i64| Utc.timestamp_millis_opt(ms).single().unwrap_or_default();
        Ok(self
            .core
            .db()
            .sso_identities_of(scope.org_id().uuid(), scope.user_id().uuid())
            .await?
            .into_iter()
            .map(|r| LinkedIdentity {
                provider: r.provider,
                subject: r.subject,
                linked_at: at(r.created_at),
                last_sign_in_at: at(r.last_login_at),
            })
            .collect())
    }

    /// Unlinks the caller's identities at `provider` (audited): that provider signs in to
    /// this account again only by the rules of a first sign-in.
    pub async fn unlink_identity(
        self,
        scope: &crate::access::Scope<crate::access::proof::OwnAccount>,
        provider: &str,
    ) -> Result<(), CoreError> {
        let gone = self
            .core
            .db()
            .delete_sso_identities(scope.org_id().uuid(), scope.user_id().uuid(), provider)
            .await?;
        if gone == 0 {
            return Err(CoreError::NotFound("linked identity"));
        }
        self.core
            .audit(Event::by(scope, AuditAction::AuthSsoUnlink).resource(format!("sso/{provider}")))
            .await?;
        Ok(())
    }

    /// The providers people may sign in with.
    pub fn sso_providers(self) -> Vec<SsoProviderView> {
        self.core
            .config()
            .sso
            .oidc
            .iter()
            .map(|p| SsoProviderView {
                id: p.id.clone(),
                name: p.name.clone(),
            })
            .collect()
    }

    /// Starts a sign-in with provider `id`, coming back to `return_to` (a path here).
    pub async fn sso_start(self, id: &str, return_to: Option<&str>) -> Result<SsoStart, CoreError> {
        let (p, _) = self.core.sso_provider(id).await?;
        let p = &p;
        let return_to = ReturnTo::parse(return_to.unwrap_or("/")).map_err(|_| {
            CoreError::invalid("return_to", "must be a path on this site, like /meetings")
        })?;
        let m = self.core.sso_metadata(p, false).await?;
        let begun = self.core.sso_state_key().begin(
            LoginState::new(p.id.clone(), None, return_to, now_secs()),
            &mut rand::rng(),
        );
        let url = AuthorizationRequest::new(
            m.discovery.authorization_endpoint(),
            p.client_id.clone(),
            self.core.sso_redirect_uri(&p.id)?,
            &begun,
        )
        .to_url();
        Ok(SsoStart {
            url: url.to_string(),
            browser_secret: begun.browser_secret,
        })
    }

    /// Finishes a sign-in at the callback: `query` is the redirect's, `browser_secret` the
    /// login cookie (if the browser sent it). Every callback counts against the address's
    /// budget (`Limited::SsoCallback`), before any work.
    pub async fn sso_finish(
        self,
        id: &str,
        query: &[(String, String)],
        browser_secret: Option<&str>,
        meta: RequestMeta,
    ) -> Result<SsoSignedIn, CoreError> {
        self.core
            .count_attempt(Limited::SsoCallback, meta.ip, None)
            .await?;
        self.finish(id, query, browser_secret, meta).await
    }

    async fn finish(
        self,
        id: &str,
        query: &[(String, String)],
        browser_secret: Option<&str>,
        meta: RequestMeta,
    ) -> Result<SsoSignedIn, CoreError> {
        let core = self.core;
        let (p, provider_org) = core.sso_provider(id).await?;
        let p = &p;
        let m = core.sso_metadata(p, false).await?;
        let rule = Core::issuer_rule(p, &m.discovery);
        let params = match parse_callback(
            query.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            &rule,
            m.discovery.authorization_response_iss_parameter_supported(),
        ) {
            Ok(params) => params,
            Err(e) => {
                let reason = match &e {
                    CallbackError::Denied { .. } => "provider_denied",
                    CallbackError::Issuer(_) | CallbackError::MissingIssuer => "wrong_issuer",
                    _ => "bad_callback",
                };
                core.audit_sso_refusal(&p.id, reason, None, None, &meta)
                    .await?;
                return Err(refused(&e.to_string()));
            }
        };
        let finished = match core.sso_state_key().finish(
            &params.state,
            browser_secret.unwrap_or(""),
            now_secs(),
        ) {
            Ok(f) if f.login_state.provider() == p.id => f,
            Ok(_) => {
                core.audit_sso_refusal(&p.id, "other_provider", None, None, &meta)
                    .await?;
                return Err(refused(
                    "this sign-in was started with another provider; start again",
                ));
            }
            Err(e) => {
                core.audit_sso_refusal(&p.id, "bad_state", None, None, &meta)
                    .await?;
                return Err(refused(&e.to_string()));
            }
        };
        let request = TokenRequest::authorization_code(
            params.code,
            core.sso_redirect_uri(&p.id)?,
            finished.pkce_verifier,
            ClientAuth::SecretBasic {
                client_id: p.client_id.clone(),
                client_secret: SecretString::new(p.client_secret.expose().to_owned()),
            },
        );
        let tokens = self.sso_exchange(p, &m, &request, &meta).await?;
        let expect = Expectations::new(rule, p.client_id.clone(), finished.nonce);
        let token = tokens.id_token().expose();
        let claims = match verify_id_token(token, &m.jwks, &expect, now_secs()) {
            Err(IdTokenError::UnknownKey { .. }) => {
                // The provider rotated its keys: fetched again, once.
                let fresh = core.sso_metadata(p, true).await?;
                verify_id_token(token, &fresh.jwks, &expect, now_secs())
            }
            other => other,
        };
        let claims = match claims {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(provider = %p.id, error = %e, "an ID token was refused");
                core.audit_sso_refusal(&p.id, "bad_id_token", None, None, &meta)
                    .await?;
                return Err(refused(
                    "the provider's answer could not be verified; start again, and tell your \
                     administrator if it keeps happening",
                ));
            }
        };
        let user = core
            .sso_account(&p.id, provider_org, &claims, &meta)
            .await?;
        core.signed_in(user, &p.id, finished.login_state.return_to(), &meta)
            .await
    }

    async fn sso_exchange(
        self,
        p: &OidcProviderConfig,
        m: &Metadata,
        request: &TokenRequest,
        meta: &RequestMeta,
    ) -> Result<TokenResponse, CoreError> {
        let core = self.core;
        let http = core.outbound_client();
        let unreachable = |e: &dyn std::fmt::Display| {
            tracing::warn!(provider = %p.id, error = %e, "the sign-in provider's token endpoint");
            CoreError::Unavailable("the sign-in provider")
        };
        let mut builder = http
            .request(reqwest::Method::POST, m.discovery.token_endpoint().clone())
            .map_err(|e| unreachable(&e))?
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .body(request.form_body().expose().to_owned());
        if let Some(auth) = request.authorization_header() {
            builder = builder.header(reqwest::header::AUTHORIZATION, auth.expose());
        }
        let response = http.send(builder).await.map_err(|e| unreachable(&e))?;
        let status = response.status().as_u16();
        let body = http
            .read_body(response)
            .await
            .map_err(|e| unreachable(&e))?;
        match TokenResponse::parse(status, &body) {
            Ok(t) => Ok(t),
            Err(e) => {
                tracing::warn!(provider = %p.id, error = %e, "the sign-in provider refused the code");
                core.audit_sso_refusal(&p.id, "code_refused", None, None, meta)
                    .await?;
                Err(refused(
                    "the provider did not accept this sign-in (it may have been used already); \
                     start again",
                ))
            }
        }
    }
}
