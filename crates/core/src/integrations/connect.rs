//! Connecting by consent (OAuth 2.0 code flow with PKCE): `start_oauth` checks the settings as
//! a connection would be checked, stores them with a fresh `state` (only its SHA-256 is kept)
//! and the PKCE verifier (sealed under the org's key) for ten minutes, and answers the
//! provider's consent URL; `finish_oauth`, called by the same person's browser on the redirect
//! back, takes the state once, trades the code for tokens with the operator's app
//! (`[integrations.oauth.<provider>]`) and creates the connection exactly as `create` does —
//! the URL rules, the provider's check, the credential sealed and never returned.

use base64::Engine as _;
use meetvault_integrations::oauth::{self, ConnectApp, PkceVerifier};
use meetvault_integrations::{Kind, SecretString};
use meetvault_store::integrations::OAuthStateRow;
use rand::RngCore as _;
use sha2::Digest as _;
use uuid::Uuid;
use zeroize::Zeroizing;

use super::model::{NewIntegration, Pending};
use super::{IntegrationView, Integrations, refused};
use crate::access::Scope;
use crate::access::proof::IntegrationsManage;
use crate::calendar::net::OutboundHttp;
use crate::{Core, CoreError};

/// How long a consent may take.
const STATE_TTL_MS: i64 = 10 * 60 * 1000;

fn state_hash(state: &str) -> String {
    hex::encode(sha2::Sha256::digest(state.as_bytes()))
}

impl Core {
    /// The operator's app at `kind`, with the redirect URI; a clear error when it is missing.
    fn connect_app(&self, kind: Kind) -> Result<ConnectApp, CoreError> {
        let app = self
            .config()
            .integrations
            .oauth
            .get(kind.as_str())
            .ok_or_else(|| {
                CoreError::Conflict(format!(
                    "connecting {} by consent needs the operator's OAuth app in \
                     [integrations.oauth.{}]; or send a token as the credential",
                    kind.as_str(),
                    kind.as_str()
                ))
            })?;
        let public = self.config().server.public_url.as_ref().ok_or_else(|| {
            CoreError::Conflict(
                "connecting by consent needs server.public_url (the redirect URI is \
                 {public_url}/api/v1/integrations/oauth/callback)"
                    .into(),
            )
        })?;
        let redirect_uri = url::Url::parse(&format!(
            "{}/api/v1/integrations/oauth/callback",
            public.as_str().trim_end_matches('/')
        ))
        .map_err(CoreError::internal)?;
        let authorize_url = match &app.authorize_url {
            Some(u) => u.clone(),
            None => {
                url::Url::parse(oauth::default_authorize_url(kind)).map_err(CoreError::internal)?
            }
        };
        Ok(ConnectApp {
            authorize_url,
            token_url: app.token_url.clone(),
            client_id: app.client_id.clone(),
            client_secret: SecretString::new(app.client_secret.expose()),
            redirect_uri,
            scopes: app
                .scopes
                .clone()
                .unwrap_or_else(|| oauth::default_scopes(kind).to_owned()),
        })
    }
}

impl Integrations<'_> {
    /// Starts connecting by consent: the URL to send the person to. Nothing is stored but the
    /// settings, until they come back.
    pub async fn start_oauth(
        self,
        scope: &Scope<IntegrationsManage>,
        mut n: NewIntegration,
    ) -> Result<String, CoreError> {
        let org = scope.org_id().uuid();
        if n.credential.is_some() {
            return Err(CoreError::invalid(
                "credential",
                "connecting by consent takes no credential",
            ));
        }
        // Salesforce's API is wherever its token answer says (`instance_url`), checked then.
        let salesforce = Kind::parse(n.kind.trim()) == Some(Kind::Salesforce);
        if salesforce {
            n.base_url = Some("https://login.salesforce.com/".into());
        }
        let (kind, target) = self.settings_of(org, &n).await?;
        let app = self.core.connect_app(kind)?;
        if !salesforce {
            self.core
                .outbound()
                .resolve(&target.base_url)
                .await
                .map_err(|e| CoreError::invalid("base_url", e.to_string()))?;
        }
        let mut raw = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(raw.as_mut());
        let state =
            Zeroizing::new(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw.as_ref()));
        let verifier = PkceVerifier::generate();
        let id = Uuid::new_v4();
        let now = meetvault_jobs::now_ms();
        let row = OAuthStateRow {
            id,
            state_hash: state_hash(&state),
            org_id: org,
            user_id: scope.user_id().uuid(),
            kind: kind.as_str().to_owned(),
            settings: serde_json::to_string(&Pending::of(&n)).map_err(CoreError::internal)?,
            verifier: self
                .core
                .seal_org_field(
                    org,
                    "integration_oauth_states",
                    id,
                    "verifier",
                    verifier.expose().as_bytes(),
                )
                .await?,
            expires_at: now + STATE_TTL_MS,
        };
        self.core
            .db()
            .insert_integration_oauth_state(&row, now)
            .await?;
        Ok(oauth::authorization_url(kind, &app, &state, &verifier).to_string())
    }

    /// Finishes connecting: the provider redirected back with `code` (or `error`) and `state`.
    /// The state is good once, for ten minutes, for the person who started.
    pub async fn finish_oauth(
        self,
        scope: &Scope<IntegrationsManage>,
        state: &str,
        code: Option<&str>,
        error: Option<&str>,
    ) -> Result<IntegrationView, CoreError> {
        let org = scope.org_id().uuid();
        let row = self
            .core
            .db()
            .take_integration_oauth_state(org, &state_hash(state))
            .await?
            .filter(|r| r.user_id == scope.user_id().uuid())
            .filter(|r| r.expires_at >= meetvault_jobs::now_ms())
            .ok_or_else(|| {
                CoreError::invalid(
                    "state",
                    "unknown, used or expired (it lasts ten minutes, once, for who started); \
                     start connecting again",
                )
            })?;
        if let Some(e) = error {
            return Err(CoreError::invalid(
                "error",
                format!(
                    "the provider did not grant access ({}); start connecting again",
                    meetvault_integrations::call::bounded(e, 64)
                ),
            ));
        }
        let code = code
            .filter(|c| !c.is_empty() && c.len() <= 2048)
            .ok_or_else(|| CoreError::invalid("code", "missing; start connecting again"))?;
        let pending: Pending = serde_json::from_str(&row.settings)
            .map_err(|_| CoreError::Integrity("integration_oauth_states.settings".into()))?;
        let kind = Kind::parse(&row.kind)
            .ok_or_else(|| CoreError::Integrity("integration_oauth_states.kind".into()))?;
        let verifier = {
            let plain = Zeroizing::new(
                self.core
                    .open_org_field(
                        org,
                        "integration_oauth_states",
                        row.id,
                        "verifier",
                        &row.verifier,
                    )
                    .await?,
            );
            let text = std::str::from_utf8(&plain)
                .map_err(|_| CoreError::Integrity("integration_oauth_states.verifier".into()))?;
            PkceVerifier::parse(text.to_owned())
                .ok_or_else(|| CoreError::Integrity("integration_oauth_states.verifier".into()))?
        };
        let app = self.core.connect_app(kind)?;
        let http = OutboundHttp(self.core.outbound_client());
        let credential = oauth::exchange_code(&http, kind, &app, code, &verifier)
            .await
            .map_err(refused)?;
        let mut n = pending.into_new();
        // Salesforce names its instance in the token answer: that is where the API is.
        if let meetvault_integrations::Credential::OAuth(t) = &credential
            && kind == Kind::Salesforce
            && let Some(instance) = &t.instance_url
        {
            n.base_url = Some(instance.clone());
        }
        self.create_with(scope, n, credential).await
    }
}
