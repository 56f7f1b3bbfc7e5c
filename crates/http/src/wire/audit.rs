//! The audit log on the wire: entries as an org's auditors see them, a page of them, and an
//! inclusion proof. The export (JSON Lines) and the checkpoint (a signed note) are text.

use chrono::{DateTime, Utc};
use meetvault_core::audit::{AuditView, InclusionProof as CoreProof};
use serde::Serialize;
use utoipa::ToSchema;

/// An audit entry.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "seq": 42, "time": "2026-11-24T09:00:00.000000Z", "action": "auth.login",
    "actor": "usr_0192f1c4a6e87c3d9b5e2f1a0c4d6e8f", "resource": null, "outcome": "success",
    "reason": null, "count": 1, "ip": "192.0.2.10", "user_agent": "curl/8.5.0",
    "leaf_hash": "3f1c…"
}))]
pub struct AuditEntry {
    /// Position in the log, from 1.
    pub seq: i64,
    pub time: DateTime<Utc>,
    /// e.g. `auth.login`, `meeting.delete`, `auth.refused`.
    pub action: String,
    /// `usr_…`, `key_…`, `sup_…`, `system` or `anonymous`.
    pub actor: String,
    #[schema(required = true)]
    pub resource: Option<String>,
    /// `success` or `failure`.
    pub outcome: String,
    #[schema(required = true)]
    pub reason: Option<String>,
    /// How many attempts the entry stands for: more than one for an aggregated refusal.
    pub count: u64,
    /// Personal data, null once its subject has been erased.
    #[schema(required = true)]
    pub ip: Option<String>,
    #[schema(required = true)]
    pub user_agent: Option<String>,
    /// Hex SHA-256 leaf hash (RFC 9162).
    pub leaf_hash: String,
}

impl From<AuditView> for AuditEntry {
    fn from(e: AuditView) -> Self {
        Self {
            seq: e.seq,
            time: e.time,
            action: e.action,
            actor: e.actor,
            resource: e.resource,
            outcome: e.outcome,
            reason: e.reason,
            count: e.count,
            ip: e.ip,
            user_agent: e.user_agent,
            leaf_hash: e.leaf_hash,
        }
    }
}

/// A page of entries, oldest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Pass as `cursor` for the next page; null on the last.
    #[schema(required = true)]
    pub next_cursor: Option<i64>,
}

/// An inclusion proof (RFC 9162) of one entry against a signed checkpoint.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InclusionProof {
    pub seq: i64,
    pub leaf_index: u64,
    /// The entry's canonical JSON, as hashed.
    pub entry: String,
    pub leaf_hash: String,
    pub tree_size: u64,
    pub root_hash: String,
    /// The audit path, hex hashes from the leaf up.
    pub proof: Vec<String>,
    /// The signed note the proof is against.
    pub checkpoint: String,
}

impl From<CoreProof> for InclusionProof {
    fn from(p: CoreProof) -> Self {
        Self {
            seq: p.seq,
            leaf_index: p.leaf_index,
            entry: p.entry,
            leaf_hash: p.leaf_hash,
            tree_size: p.tree_size,
            root_hash: p.root_hash,
            proof: p.proof,
            checkpoint: p.checkpoint,
        }
    }
}
