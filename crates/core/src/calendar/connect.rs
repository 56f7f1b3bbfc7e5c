//! Connecting a calendar: the provider as configured (endpoints overridable for a test server,
//! our redirect URI `{public_url}/api/v1/calendar/callback`), the browser-bound signed state
//! (the same construction as sign-in's: `meetvault_oidc::StateKey`, its own key, so the PKCE
//! verifier is derived and nothing is stored between the redirect and the callback), the code
//! exchange, and the tokens sealed under the person's key.

use chrono::{TimeZone, Utc};
use meetvault_calendar::{PkceVerifier, ProviderKind, Tokens, oauth};
use meetvault_crypto::envelope;
use meetvault_oidc::{LoginState, ReturnTo, StateKey};
use meetvault_store::calendar::CalendarConnectionRow;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{
    CONNECT_TTL_SECS, Calendars, ConnectStart, ConnectionView, kind_str, net, parse_kind, view,
};
use crate::access::Scope;
use crate::access::proof::BotsWrite;
use crate::audit::{AuditAction, Event};
use crate::auth::now_secs;
use crate::ids::{CalendarId, WorkspaceId};
use crate::vault::{bind, key_ref};
use crate::{Core, CoreError};

/// Tokens as sealed: the secrets' text and when the access token expires.
#[derive(Serialize, Deserialize)]
struct SealedTokens {
    access_token: String,
    refresh_token: String,
    expires_at: i64,
    scope: String,
}

impl Core {
    /// The provider `kind` as configured, with our redirect URI.
    pub(crate) fn calendar_provider(
        &self,
        kind: ProviderKind,
    ) -> Result<meetvault_calendar::Provider, CoreError> {
        let c = &self.config().calendar;
        let base = self
            .config()
            .server
            .public_url
            .as_ref()
            .ok_or(CoreError::NotFound("calendar provider"))?;
        let redirect_uri = url::Url::parse(&format!(
            "{}/api/v1/calendar/callback",
            base.as_str().trim_end_matches('/')
        ))
        .map_err(CoreError::internal)?;
        let bad = |_| CoreError::KeyUnavailable("a calendar endpoint does not parse".into());
        match kind {
            ProviderKind::Google => {
                let g = c
                    .google
                    .as_ref()
                    .ok_or(CoreError::NotFound("calendar provider"))?;
                let mut endpoints = meetvault_calendar::Endpoints::google().map_err(bad)?;
                if let Some(u) = &g.authorize_url {
                    endpoints.authorize = u.clone();
                }
                if let Some(u) = &g.token_url {
                    endpoints.token = u.clone();
                }
                if let Some(u) = &g.revoke_url {
                    endpoints.revoke = Some(u.clone());
                }
                if let Some(u) = &g.api_url {
                    endpoints.api = u.clone();
                }
                Ok(meetvault_calendar::Provider {
                    kind,
                    endpoints,
                    app: meetvault_calendar::provider::OAuthApp {
                        client_id: g.client_id.clone(),
                        client_secret: meetvault_calendar::SecretString::new(
                            g.client_secret.expose(),
                        ),
                        redirect_uri,
                    },
                })
            }
            ProviderKind::Microsoft => {
                let m = c
                    .microsoft
                    .as_ref()
                    .ok_or(CoreError::NotFound("calendar provider"))?;
                let login = match &m.login_url {
                    Some(u) => u.clone(),
                    None => url::Url::parse("https://login.microsoftonline.com")
                        .map_err(CoreError::internal)?,
                };
                let graph = match &m.graph_url {
                    Some(u) => u.clone(),
                    None => url::Url::parse("https://graph.microsoft.com/v1.0")
                        .map_err(CoreError::internal)?,
                };
                let endpoints =
                    meetvault_calendar::Endpoints::microsoft_at(&login, &graph, &m.tenant)
                        .map_err(bad)?;
                Ok(meetvault_calendar::Provider {
                    kind,
                    endpoints,
                    app: meetvault_calendar::provider::OAuthApp {
                        client_id: m.client_id.clone(),
                        client_secret: meetvault_calendar::SecretString::new(
                            m.client_secret.expose(),
                        ),
                        redirect_uri,
                    },
                })
            }
        }
    }

    /// The key that signs connect states: derived from the server's CSRF key for this purpose.
    pub(super) fn calendar_state_key(&self) -> StateKey {
        StateKey::new(meetvault_crypto::keys::hmac_sha256(
            &self.keys().csrf,
            b"meetvault calendar connect state v1",
        ))
    }

    pub(super) fn seal_tokens(
        key: &meetvault_crypto::keys::SymmetricKey,
        row: &CalendarConnectionRow,
        tokens: &Tokens,
    ) -> Result<Vec<u8>, CoreError> {
        let plain = zeroize::Zeroizing::new(
            serde_json::to_vec(&SealedTokens {
                access_token: tokens.access_token.expose().to_owned(),
                refresh_token: tokens.refresh_token.expose().to_owned(),
                expires_at: tokens.expires_at.timestamp(),
                scope: tokens.scope.clone(),
            })
            .map_err(CoreError::internal)?,
        );
        Ok(envelope::encrypt(
            key,
            key_ref(row.user_id, 1),
            &bind(row.org_id, "calendar_connections", row.id, "tokens"),
            &plain,
        ))
    }

    pub(super) fn open_tokens(
        key: &meetvault_crypto::keys::SymmetricKey,
        row: &CalendarConnectionRow,
    ) -> Result<Tokens, CoreError> {
        let plain = envelope::decrypt(
            key,
            &bind(row.org_id, "calendar_connections", row.id, "tokens"),
            &row.tokens,
        )
        .map_err(crate::vault::integrity("calendar tokens"))?;
        let t: SealedTokens = serde_json::from_slice(&plain)
            .map_err(|e| CoreError::Integrity(format!("calendar tokens: {e}")))?;
        Ok(Tokens {
            access_token: meetvault_calendar::SecretString::new(t.access_token),
            refresh_token: meetvault_calendar::SecretString::new(t.refresh_token),
            expires_at: Utc
                .timestamp_opt(t.expires_at, 0)
                .single()
                .unwrap_or_default(),
            scope: t.scope,
        })
    }
}

impl Calendars<'_> {
    /// Starts connecting the caller's calendar at `kind`; its bots go to `workspace` (the
    /// caller's default workspace when unset). Only a person signed in, in a browser.
    pub async fn connect_start(
        self,
        scope: &Scope<BotsWrite>,
        kind: ProviderKind,
        workspace: Option<WorkspaceId>,
        return_to: Option<&str>,
    ) -> Result<ConnectStart, CoreError> {
        let core = self.core;
        if scope.session_id().is_none() {
            return Err(CoreError::NotAllowed(
                "connecting a calendar needs you signed in in a browser, not an API key".into(),
            ));
        }
        let provider = core.calendar_provider(kind)?;
        let org = scope.org_id().uuid();
        let workspace = core.workspace_of(scope, workspace).await?;
        let zero_access = core
            .db()
            .user_key(org, scope.user_id().uuid())
            .await?
            .is_some_and(|k| k.mode == "zero_access");
        if zero_access {
            return Err(CoreError::Conflict(
                "your account is in zero-access mode: the server cannot read a calendar while you are away, so calendars cannot be connected".into(),
            ));
        }
        let return_to = ReturnTo::parse(return_to.unwrap_or("/")).map_err(|_| {
            CoreError::invalid("return_to", "must be a path on this site, like /settings")
        })?;
        let begun = core.calendar_state_key().begin(
            LoginState::new(
                format!(
                    "calendar:{}:{}:{}",
                    kind_str(kind),
                    scope.user_id().uuid().simple(),
                    workspace.simple()
                ),
                Some(org.simple().to_string()),
                return_to,
                now_secs(),
            )
            .with_ttl(CONNECT_TTL_SECS),
            &mut rand::rng(),
        );
        let verifier = PkceVerifier::parse(begun.pkce_verifier.expose())
            .ok_or_else(|| CoreError::Integrity("a derived PKCE verifier".into()))?;
        let url = oauth::authorization_url(&provider, &begun.state, &verifier)
            .map_err(|e| CoreError::Integrity(format!("a calendar authorization URL: {e}")))?;
        Ok(ConnectStart {
            url: url.to_string(),
            browser_secret: begun.browser_secret,
        })
    }

    /// Finishes a connect at the callback, in the browser and session that started it:
    /// exchanges the code, seals the tokens under the person's key, stores the connection
    /// (replacing an earlier one to the same provider), audits it and syncs at once. Answers
    /// the connection and where to send the browser.
    pub async fn connect_finish(
        self,
        scope: &Scope<BotsWrite>,
        query: &[(String, String)],
        browser_secret: Option<&str>,
    ) -> Result<(ConnectionView, String), CoreError> {
        let core = self.core;
        let get = |k: &str| {
            query
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        if let Some(error) = get("error") {
            let code: String = error
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .take(40)
                .collect();
            return Err(CoreError::invalid(
                "error",
                format!(
                    "the calendar provider did not grant access ({code}); connect again and allow calendar access"
                ),
            ));
        }
        let (Some(code), Some(state)) = (get("code"), get("state")) else {
            return Err(CoreError::invalid(
                "code",
                "the provider's answer lacks its code or state; connect again",
            ));
        };
        let finished = core
            .calendar_state_key()
            .finish(state, browser_secret.unwrap_or(""), now_secs())
            .map_err(|e| CoreError::invalid("state", e.to_string()))?;
        let login = &finished.login_state;
        let mut parts = login.provider().split(':');
        let (Some("calendar"), Some(kind), Some(user), Some(workspace), None) = (
            parts.next(),
            parts.next().and_then(parse_kind),
            parts.next().and_then(|u| Uuid::parse_str(u).ok()),
            parts.next().and_then(|w| Uuid::parse_str(w).ok()),
            parts.next(),
        ) else {
            return Err(CoreError::invalid(
                "state",
                "is not a calendar connect; connect again",
            ));
        };
        let org = scope.org_id().uuid();
        if login.org() != Some(org.simple().to_string().as_str()) || user != scope.user_id().uuid()
        {
            return Err(CoreError::NotAllowed(
                "this calendar connect was started by another account; sign in as that account, or connect again".into(),
            ));
        }
        if !scope.reaches(WorkspaceId::from(workspace)) {
            return Err(CoreError::NotAllowed(
                "you may no longer send bots into that workspace".into(),
            ));
        }
        let provider = core.calendar_provider(kind)?;
        let verifier = PkceVerifier::parse(finished.pkce_verifier.expose())
            .ok_or_else(|| CoreError::Integrity("a derived PKCE verifier".into()))?;
        let http = net::OutboundHttp(core.outbound_client());
        let tokens = oauth::exchange_code(&http, &provider, code, &verifier, Utc::now())
            .await
            .map_err(|e| match e {
                meetvault_calendar::CalendarError::CodeRejected => CoreError::invalid(
                    "code",
                    "the provider refused the code (used or expired); connect again",
                ),
                other => {
                    tracing::warn!(provider = kind_str(kind), error = %other, "a calendar code exchange failed");
                    CoreError::Unavailable("the calendar provider")
                }
            })?;
        let now = Utc::now().timestamp_millis();
        let mut row = CalendarConnectionRow {
            id: Uuid::new_v4(),
            org_id: org,
            user_id: user,
            workspace_id: workspace,
            provider: kind_str(kind).to_owned(),
            tokens: Vec::new(),
            cursor: None,
            status: "active".into(),
            error: None,
            last_sync_at: None,
            next_sync_at: now,
            channel_id: None,
            channel_resource: None,
            channel_expires_at: None,
            created_at: now,
            updated_at: now,
        };
        let key = core.user_key(org, user).await?;
        row.tokens = Core::seal_tokens(&key, &row, &tokens)?;
        // A reconnect replaces the old connection: let go of what it scheduled first.
        for old in core.db().calendar_connections_of(org, user).await? {
            if old.provider == row.provider {
                core.forget_calendar_connection(&old, false).await?;
            }
        }
        core.db().put_calendar_connection(&row).await?;
        core.audit(
            Event::by(scope, AuditAction::CalendarConnect)
                .resource(CalendarId::from(row.id))
                .reason(kind_str(kind)),
        )
        .await?;
        core.enqueue_calendar_sync(org, row.id).await?;
        Ok((view(&row)?, login.return_to().as_str().to_owned()))
    }
}
