//! Keys on the wire: API keys (`mvk_…`) and support-access keys (`mvs_…`); the secret is in the
//! creating answer only.

use chrono::{DateTime, Utc};
use meetvault_core::auth::{
    ApiKeyCreated as CoreApiKeyCreated, ApiKeyView, SupportKeyCreated as CoreSupportKeyCreated,
    SupportKeyView,
};
use meetvault_core::ids::{ApiKeyId, SupportKeyId, UserId, WorkspaceId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::org::Permission;
use super::{ids, list_of};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiKey {
    #[schema(value_type = ids::ApiKeyId)]
    pub id: ApiKeyId,
    pub name: String,
    /// The public lookup part (`mvk_` and 8 characters): enough to recognise a key, not to use it.
    pub prefix: String,
    #[schema(value_type = Vec<Permission>)]
    pub permissions: Vec<String>,
    /// The one workspace the key is confined to.
    #[schema(value_type = Option<ids::WorkspaceId>, required = true)]
    pub workspace_id: Option<WorkspaceId>,
    #[schema(value_type = ids::UserId)]
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    #[schema(required = true)]
    pub last_used_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub expires_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiKeyView> for ApiKey {
    fn from(k: ApiKeyView) -> Self {
        Self {
            id: k.id,
            name: k.name,
            prefix: k.prefix,
            permissions: k.permissions,
            workspace_id: k.workspace_id,
            created_by: k.created_by,
            created_at: k.created_at,
            last_used_at: k.last_used_at,
            expires_at: k.expires_at,
            revoked_at: k.revoked_at,
        }
    }
}

/// A new API key: `key` (`mvk_…`; send as `Authorization: Bearer`) is shown this once.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "key": "mvk_…",
    "id": "key_0192f1c4a6e87c3d9b5e2f1a0c4d6e8f",
    "name": "CI",
    "prefix": "mvk_AbCdEfGh",
    "permissions": ["meetings:read", "meetings:write"],
    "workspace_id": null,
    "created_by": "usr_0192f1c4a6e87c3d9b5e2f1a0c4d6e8f",
    "created_at": "2026-11-24T08:00:00.000000Z",
    "last_used_at": null,
    "expires_at": null,
    "revoked_at": null
}))]
pub struct ApiKeyCreated {
    pub key: String,
    #[serde(flatten)]
    pub api_key: ApiKey,
}

impl From<CoreApiKeyCreated> for ApiKeyCreated {
    fn from(k: CoreApiKeyCreated) -> Self {
        Self {
            key: k.key,
            api_key: k.view.into(),
        }
    }
}

list_of!(ApiKeyList { api_keys: Vec<ApiKey> } from ApiKeyView);

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SupportKey {
    #[schema(value_type = ids::SupportKeyId)]
    pub id: SupportKeyId,
    /// Who it is for and why.
    pub note: String,
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    #[schema(required = true)]
    pub last_used_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<SupportKeyView> for SupportKey {
    fn from(k: SupportKeyView) -> Self {
        Self {
            id: k.id,
            note: k.note,
            prefix: k.prefix,
            created_at: k.created_at,
            expires_at: k.expires_at,
            last_used_at: k.last_used_at,
            revoked_at: k.revoked_at,
        }
    }
}

/// A new support-access key: `key` (`mvs_…`) is shown this once.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SupportKeyCreated {
    pub key: String,
    #[serde(flatten)]
    pub support_key: SupportKey,
}

impl From<CoreSupportKeyCreated> for SupportKeyCreated {
    fn from(k: CoreSupportKeyCreated) -> Self {
        Self {
            key: k.key,
            support_key: k.view.into(),
        }
    }
}

list_of!(SupportKeyList { support_keys: Vec<SupportKey> } from SupportKeyView);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyBody {
    pub name: String,
    /// At most what the creator holds.
    #[schema(value_type = Vec<Permission>)]
    pub permissions: Vec<String>,
    /// Confine the key to one workspace.
    #[schema(value_type = Option<ids::WorkspaceId>)]
    pub workspace_id: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SupportKeyBody {
    /// Who it is for and why (shown in the list and the audit log).
    pub note: String,
    #[schema(minimum = 1, maximum = 72)]
    pub expires_in_hours: u32,
}
