//! API keys and support-access keys: created and shown once, stored as a peppered HMAC found by
//! a short lookup prefix, verified in constant time, and turned into a `Principal` on use.
//! A key never outlives its creator's rights: its permissions are intersected with the
//! creator's current role on every request.

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use meetvault_auth::token::{API_KEY, SUPPORT_KEY, Token};
use meetvault_store::identity::{ApiKeyRow, PrincipalRow, SupportKeyRow};
use uuid::Uuid;

use super::{Limited, parse_role};
use crate::access::proof::{KeysManage, OwnAccount};
use crate::access::{
    Actor, Credential, Permission, Permissions, Principal, RequestMeta, Role, Scope,
};
use crate::audit::AuditAction;
use crate::audit::Event;
use crate::ids::{ApiKeyId, OrgId, SupportKeyId, UserId, WorkspaceId};
use crate::{Core, CoreError};

#[derive(Debug)]
pub struct NewApiKey {
    pub name: String,
    pub permissions: Vec<String>,
    pub workspace_id: Option<WorkspaceId>,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct ApiKeyView {
    pub id: ApiKeyId,
    pub name: String,
    /// The public lookup part (`mvk_` and 8 characters): enough to recognise a key, not to use it.
    pub prefix: String,
    pub permissions: Vec<String>,
    pub workspace_id: Option<WorkspaceId>,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A new key: `key` is shown this once and never again.
#[derive(Debug)]
pub struct ApiKeyCreated {
    pub key: String,
    pub view: ApiKeyView,
}

#[derive(Debug)]
pub struct NewSupportKey {
    pub note: String,
    pub expires_in_hours: u32,
}

#[derive(Debug, Clone)]
pub struct SupportKeyView {
    pub id: SupportKeyId,
    pub note: String,
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug)]
pub struct SupportKeyCreated {
    pub key: String,
    pub view: SupportKeyView,
}

/// The longest a support-access key may live.
pub const SUPPORT_KEY_MAX_HOURS: u32 = 72;

impl Core {
    /// The principal of a stored API key that is neither revoked nor expired, with its
    /// creator's current role.
    pub(crate) async fn api_key_principal(
        &self,
        row: &ApiKeyRow,
        meta: RequestMeta,
        now: DateTime<Utc>,
    ) -> Result<Principal, CoreError> {
        let caller = self.db().principal_row(row.org_id, row.created_by).await?;
        Self::api_key_principal_of(row, caller, meta, now)
    }

    /// `api_key_principal` with the creator's standing already read (beside the key).
    fn api_key_principal_of(
        row: &ApiKeyRow,
        caller: Option<PrincipalRow>,
        meta: RequestMeta,
        now: DateTime<Utc>,
    ) -> Result<Principal, CoreError> {
        if row.revoked_at.is_some() || row.expires_at.is_some_and(|e| e <= now) {
            return Err(CoreError::Unauthenticated);
        }
        let permissions =
            Permissions::parse(row.permissions.split_whitespace()).map_err(|bad| {
                CoreError::Storage(meetvault_store::StoreError::Corrupt(format!(
                    "API key holds unknown permission `{bad}`"
                )))
            })?;
        Self::principal_of(
            caller,
            Credential::ApiKey(row.id.into()),
            permissions,
            row.workspace_id.map(WorkspaceId::from),
            row.expires_at,
            meta,
        )
    }

    /// The principal of a stored support key that is neither revoked nor expired: read-only,
    /// for its user.
    pub(crate) async fn support_key_principal(
        &self,
        row: &SupportKeyRow,
        meta: RequestMeta,
        now: DateTime<Utc>,
    ) -> Result<Principal, CoreError> {
        if row.revoked_at.is_some() || row.expires_at <= now {
            return Err(CoreError::Unauthenticated);
        }
        let read_only = Permissions::of(
            &Permission::ALL
                .into_iter()
                .filter(|p| p.support_may_use())
                .collect::<Vec<_>>(),
        );
        self.principal_for(
            (row.org_id, row.user_id),
            Credential::Support(row.id.into()),
            read_only,
            None,
            Some(row.expires_at),
            meta,
        )
        .await
    }

    /// Support keys: failures count against the IP and the key's lookup; while either budget is
    /// spent, every attempt is refused. Every successful use is audited.
    async fn authenticate_support_key(
        &self,
        raw: &str,
        meta: RequestMeta,
    ) -> Result<Principal, CoreError> {
        let lookup = raw.get(..12).unwrap_or(raw).to_owned();
        let refused =
            |reason: &'static str| Event::refusal(AuditAction::SupportKeyUse, reason, &meta);
        if let Err(e) = self
            .refuse_if_spent(Limited::SupportKey, meta.ip, Some(&lookup))
            .await
        {
            if matches!(e, CoreError::RateLimited { .. }) {
                self.audit_refusal(refused("rate_limited")).await?;
            }
            return Err(e);
        }
        let now = Utc::now();
        let row = match Token::parse(SUPPORT_KEY, raw) {
            Ok(token) => match self.db().support_key_by_lookup(token.lookup()).await? {
                Some(row)
                    if self.keys().credential_matches(
                        row.pepper_version,
                        token.expose(),
                        &row.mac,
                    ) && row.revoked_at.is_none()
                        && row.expires_at > now =>
                {
                    Some(row)
                }
                _ => None,
            },
            Err(_) => None,
        };
        let Some(row) = row else {
            self.audit_refusal(refused("bad_key")).await?;
            self.count_attempt(Limited::SupportKey, meta.ip, Some(&lookup))
                .await?;
            return Err(CoreError::Unauthenticated);
        };
        let principal = self.support_key_principal(&row, meta.clone(), now).await?;
        let id = SupportKeyId::from(row.id);
        let event = Event::about(
            AuditAction::SupportKeyUse,
            Actor::Support(id),
            row.org_id.into(),
            row.user_id.into(),
            &meta,
            None,
        );
        self.audit(event.resource(id)).await?;
        if super::due_for_touch(row.last_used_at, now) {
            self.db().touch_support_key(row.id, now).await?;
        }
        Ok(principal)
    }
}

impl super::Identity<'_> {
    /// The principal behind `Authorization: Bearer …`: an API key (`mvk_…`) or a support key
    /// (`mvs_…`). A typo fails its checksum before any lookup. Every refusal is audited
    /// (aggregated): `bad_key` for one that names no key (in the org of the key its lookup
    /// names, if any), `revoked_key`, `expired_key`.
    pub async fn authenticate_bearer(
        self,
        raw: &str,
        meta: RequestMeta,
    ) -> Result<Principal, CoreError> {
        if raw.starts_with("mvs_") {
            return self.core.authenticate_support_key(raw, meta).await;
        }
        let found = match Token::parse(API_KEY, raw) {
            Ok(token) => self
                .core
                .db()
                .api_key_with_caller(token.lookup())
                .await?
                .map(|row| (token, row)),
            Err(_) => None,
        };
        let Some((token, (row, caller))) = found else {
            self.core
                .audit_refusal(key_refused("bad_key", None, &meta))
                .await?;
            return Err(CoreError::Unauthenticated);
        };
        let now = Utc::now();
        let reason =
            if !self
                .core
                .keys()
                .credential_matches(row.pepper_version, token.expose(), &row.mac)
            {
                Some("bad_key")
            } else if row.revoked_at.is_some() {
                Some("revoked_key")
            } else if row.expires_at.is_some_and(|e| e <= now) {
                Some("expired_key")
            } else {
                None
            };
        if let Some(reason) = reason {
            let key = (row.org_id.into(), ApiKeyId::from(row.id));
            self.core
                .audit_refusal(key_refused(reason, Some(key), &meta))
                .await?;
            return Err(CoreError::Unauthenticated);
        }
        let principal = Core::api_key_principal_of(&row, caller, meta, now)?;
        if super::due_for_touch(row.last_used_at, now) {
            self.core.db().touch_api_key(row.id, now).await?;
        }
        Ok(principal)
    }
}

/// API keys and support-access keys (`core.api_keys()`): create, list, revoke. Using one
/// is `core.identity().authenticate_bearer`.
#[derive(Debug, Clone, Copy)]
pub struct ApiKeys<'a> {
    pub(crate) core: &'a Core,
}

impl ApiKeys<'_> {
    pub async fn create(
        self,
        scope: &Scope<KeysManage>,
        req: NewApiKey,
    ) -> Result<ApiKeyCreated, CoreError> {
        let name = super::parse_name("name", &req.name)?;
        let requested =
            Permissions::parse(req.permissions.iter().map(String::as_str)).map_err(|bad| {
                CoreError::invalid(
                    "permissions",
                    format!("`{bad}` is not a permission; see docs/permissions.md"),
                )
            })?;
        if requested == Permissions::default() {
            return Err(CoreError::invalid(
                "permissions",
                "must name at least one permission",
            ));
        }
        let creator = self.core.own_user(scope).await?;
        // A key never holds more than the credential creating it: its permissions, its
        // workspace and its lifetime are capped by the caller's (a narrow or short-lived key
        // cannot mint a broader or longer-lived one).
        let held = scope.org_permissions();
        if let Some(p) = requested.iter().find(|p| !held.contains(*p)) {
            return Err(CoreError::invalid(
                "permissions",
                format!(
                    "`{p}` is not held by the credential making this request, so a key it creates cannot hold it"
                ),
            ));
        }
        let workspace_id = match (scope.credential_workspace(), req.workspace_id) {
            (Some(bound), Some(ws)) if ws != bound => {
                return Err(CoreError::invalid(
                    "workspace_id",
                    "a workspace-bound key can only create keys bound to its own workspace",
                ));
            }
            (Some(bound), _) => Some(bound),
            (None, ws) => ws,
        };
        if let Some(ws) = workspace_id
            && self
                .core
                .db()
                .workspace(scope.org_id().uuid(), ws.uuid())
                .await?
                .is_none()
        {
            return Err(CoreError::invalid(
                "workspace_id",
                "no such workspace in your organization",
            ));
        }
        let now = Utc::now();
        if req.expires_at.is_some_and(|e| e <= now) {
            return Err(CoreError::invalid("expires_at", "must be in the future"));
        }
        let expires_at = match (scope.credential_expires_at(), req.expires_at) {
            (Some(limit), Some(wanted)) if wanted > limit => {
                return Err(CoreError::invalid(
                    "expires_at",
                    format!(
                        "must be no later than the expiry of the key making this request ({})",
                        limit.to_rfc3339()
                    ),
                ));
            }
            (Some(limit), None) => Some(limit),
            (_, wanted) => wanted,
        };
        let token = Token::generate(API_KEY);
        let (pepper_version, mac) = self.core.keys().current_credential_mac(token.expose());
        let row = ApiKeyRow {
            id: Uuid::new_v4(),
            org_id: scope.org_id().uuid(),
            created_by: creator.id,
            workspace_id: workspace_id.map(WorkspaceId::uuid),
            name,
            lookup: token.lookup().to_owned(),
            mac: mac.to_vec(),
            pepper_version,
            permissions: requested.to_names().join(" "),
            created_at: now,
            last_used_at: None,
            expires_at,
            revoked_at: None,
        };
        self.core.db().insert_api_key(&row).await?;
        self.core
            .audit(Event::by(scope, AuditAction::ApiKeyCreate).resource(ApiKeyId::from(row.id)))
            .await?;
        Ok(ApiKeyCreated {
            key: token.expose().to_owned(),
            view: api_key_view(row),
        })
    }

    pub async fn list(self, scope: &Scope<KeysManage>) -> Result<Vec<ApiKeyView>, CoreError> {
        Ok(self
            .core
            .db()
            .api_keys(scope.org_id().uuid())
            .await?
            .into_iter()
            .map(api_key_view)
            .collect())
    }

    /// Revokes one of the org's keys; a key made by an owner only an owner revokes.
    pub async fn revoke(self, scope: &Scope<KeysManage>, id: ApiKeyId) -> Result<(), CoreError> {
        let org = scope.org_id().uuid();
        let key = self
            .core
            .db()
            .api_key(org, id.uuid())
            .await?
            .ok_or(CoreError::NotFound("API key"))?;
        // A key whose creator is gone no longer works; anyone with `keys:manage` may tidy it.
        let creator = self.core.db().user(org, key.created_by).await?;
        let by_owner = match creator {
            Some(user) => parse_role(&user.role)? == Role::Owner,
            None => false,
        };
        self.core
            .only_an_owner_acts_on(
                scope,
                by_owner,
                "only an owner can revoke an owner's API key",
            )
            .await?;
        if !self
            .core
            .db()
            .revoke_api_key(scope.org_id().uuid(), id.uuid(), Utc::now())
            .await?
        {
            return Err(CoreError::NotFound("API key"));
        }
        self.core
            .audit(Event::by(scope, AuditAction::ApiKeyRevoke).resource(id))
            .await?;
        Ok(())
    }

    pub async fn create_support_key(
        self,
        scope: &Scope<OwnAccount>,
        req: NewSupportKey,
    ) -> Result<SupportKeyCreated, CoreError> {
        if req.expires_in_hours == 0 || req.expires_in_hours > SUPPORT_KEY_MAX_HOURS {
            return Err(CoreError::invalid(
                "expires_in_hours",
                format!("must be between 1 and {SUPPORT_KEY_MAX_HOURS}"),
            ));
        }
        let note = super::parse_name("note", &req.note)?;
        let now = Utc::now();
        let token = Token::generate(SUPPORT_KEY);
        let (pepper_version, mac) = self.core.keys().current_credential_mac(token.expose());
        let row = SupportKeyRow {
            id: Uuid::new_v4(),
            org_id: scope.org_id().uuid(),
            user_id: scope.user_id().uuid(),
            note,
            lookup: token.lookup().to_owned(),
            mac: mac.to_vec(),
            pepper_version,
            created_at: now,
            expires_at: now + ChronoDuration::hours(i64::from(req.expires_in_hours)),
            last_used_at: None,
            revoked_at: None,
        };
        self.core.db().insert_support_key(&row).await?;
        self.core
            .audit(
                Event::by(scope, AuditAction::SupportKeyCreate)
                    .resource(SupportKeyId::from(row.id)),
            )
            .await?;
        Ok(SupportKeyCreated {
            key: token.expose().to_owned(),
            view: support_key_view(row),
        })
    }

    pub async fn support_keys(
        self,
        scope: &Scope<OwnAccount>,
    ) -> Result<Vec<SupportKeyView>, CoreError> {
        let rows = self
            .core
            .db()
            .support_keys_of(scope.org_id().uuid(), scope.user_id().uuid())
            .await?;
        Ok(rows.into_iter().map(support_key_view).collect())
    }

    pub async fn revoke_support_key(
        self,
        scope: &Scope<OwnAccount>,
        id: SupportKeyId,
    ) -> Result<(), CoreError> {
        let revoked = self
            .core
            .db()
            .revoke_support_key(
                scope.org_id().uuid(),
                scope.user_id().uuid(),
                id.uuid(),
                Utc::now(),
            )
            .await?;
        if !revoked {
            return Err(CoreError::NotFound("support key"));
        }
        self.core
            .audit(Event::by(scope, AuditAction::SupportKeyRevoke).resource(id))
            .await?;
        Ok(())
    }
}

/// A refused API key: anonymous, or the named key of its org when the lookup found one.
fn key_refused(reason: &'static str, key: Option<(OrgId, ApiKeyId)>, meta: &RequestMeta) -> Event {
    // Whoever holds a revoked or expired key's secret acts as that key; a wrong secret does not.
    let actor = match key {
        Some((_, id)) if reason != "bad_key" => Actor::ApiKey(id),
        _ => Actor::Anonymous,
    };
    let mut event = Event::refusal(AuditAction::AuthRefused, reason, meta);
    event.actor = actor;
    event.org_id = key.map(|(org, _)| org);
    event.resource = key.map(|(_, id)| id.to_string());
    event
}

fn api_key_view(r: ApiKeyRow) -> ApiKeyView {
    ApiKeyView {
        id: r.id.into(),
        name: r.name,
        prefix: r.lookup,
        permissions: r
            .permissions
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        workspace_id: r.workspace_id.map(WorkspaceId::from),
        created_by: r.created_by.into(),
        created_at: r.created_at,
        last_used_at: r.last_used_at,
        expires_at: r.expires_at,
        revoked_at: r.revoked_at,
    }
}

fn support_key_view(r: SupportKeyRow) -> SupportKeyView {
    SupportKeyView {
        id: r.id.into(),
        note: r.note,
        prefix: r.lookup,
        created_at: r.created_at,
        expires_at: r.expires_at,
        last_used_at: r.last_used_at,
        revoked_at: r.revoked_at,
    }
}
