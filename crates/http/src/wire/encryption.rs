//! Encryption on the wire: the caller's mode, zero-access on and recovery (each shows a recovery
//! key once), and the names of the caller's stored secrets.

use chrono::{DateTime, Utc};
use meetvault_core::vault::{EncryptionStatus as CoreStatus, SecretView};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::list_of;

/// `org` (the org key wraps the user key) or `zero_access`.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EncryptionMode {
    Org,
    ZeroAccess,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EncryptionStatus {
    #[schema(value_type = EncryptionMode)]
    pub mode: String,
    /// Whether this instance holds the user's key unlocked for this session.
    pub unlocked: bool,
    /// The password KDF, in zero-access mode.
    #[schema(required = true)]
    pub kdf: Option<Kdf>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Kdf {
    /// `argon2id`.
    pub algorithm: &'static str,
    pub memory_kib: i32,
    pub iterations: i32,
    pub parallelism: i32,
}

impl From<CoreStatus> for EncryptionStatus {
    fn from(s: CoreStatus) -> Self {
        Self {
            mode: s.mode,
            unlocked: s.unlocked,
            kdf: s.kdf.map(|k| Kdf {
                algorithm: k.algorithm,
                memory_kib: k.memory_kib,
                iterations: k.iterations,
                parallelism: k.parallelism,
            }),
        }
    }
}

/// Zero-access mode is on; `recovery_key` is shown this once.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ZeroAccessEnabled {
    pub mode: EncryptionMode,
    pub recovery_key: String,
    /// What losing both the password and the recovery key means.
    pub warning: &'static str,
}

/// A new recovery key (the old one stopped working), shown this once.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecoveryKeyIssued {
    pub recovery_key: String,
    pub warning: &'static str,
}

/// A stored secret: its name, never its value.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Secret {
    pub name: String,
    pub updated_at: DateTime<Utc>,
}

impl From<SecretView> for Secret {
    fn from(s: SecretView) -> Self {
        Self {
            name: s.name,
            updated_at: s.updated_at,
        }
    }
}

list_of!(SecretList { secrets: Vec<Secret> } from SecretView);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoverBody {
    #[schema(format = Email)]
    pub email: String,
    /// The recovery key shown when zero-access mode was turned on.
    pub recovery_key: String,
    #[schema(format = Password)]
    pub new_password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretBody {
    #[schema(format = Password)]
    pub value: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrgKmsBody {
    /// A KMS key id, alias or ARN; `null` returns the org to the instance's master key.
    #[schema(required = true)]
    pub kms_key_id: Option<String>,
}

/// The org's key arrangement: whether an org may bring its own KMS key here, and the one it
/// brought.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrgEncryption {
    /// `[keys.aws_kms]` is configured on this server.
    pub kms_available: bool,
    /// The org's own KMS key (id, alias or ARN); null: the server's master key wraps it.
    pub kms_key_id: Option<String>,
}
