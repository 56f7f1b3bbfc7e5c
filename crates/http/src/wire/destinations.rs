//! The customer's own buckets (destinations) and delivering a meeting to one.

use chrono::{DateTime, Utc};
use meetvault_core::destinations::Zeroizing;
use meetvault_core::destinations::{self as core, DestinationView};
use meetvault_core::ids::{DestinationId, JobId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ids;
use super::list_of;

/// A new destination: an S3-compatible bucket. Checked with a small probe write (deleted at
/// once) before it is saved.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Acme archive", "endpoint": "https://s3.eu-central-1.amazonaws.com", "region": "eu-central-1", "bucket": "acme-meetings", "prefix": "meetvault", "access_key_id": "AKIA…", "secret_access_key": "…", "is_default": true}))]
pub struct NewDestination {
    pub name: String,
    /// The S3 API's base URL (https; a private address only if the operator allow-listed it).
    /// Absent: AWS's endpoint for the region.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Default `us-east-1`.
    #[serde(default)]
    pub region: Option<String>,
    pub bucket: String,
    /// Objects go under it (`prefix/meetings/mtg_…/recordings/rec_….wav`).
    #[serde(default)]
    pub prefix: Option<String>,
    /// Path-style addressing (`endpoint/bucket/key`), as most self-hosted S3 servers need.
    #[serde(default)]
    pub path_style: Option<bool>,
    /// Scope it to the prefix; stored encrypted, never returned.
    pub access_key_id: String,
    pub secret_access_key: String,
    /// `age1…` (`age-keygen -y key.txt`): objects are encrypted to it before they leave
    /// (keys end in `.age`), so the bucket's operator never holds plaintext either. Decrypt
    /// with `age --decrypt -i key.txt FILE.age > FILE`.
    #[serde(default)]
    pub age_recipient: Option<String>,
    /// A default: bots deliver there when they end — the org's, or with `workspace_id` that
    /// workspace's (which comes first). A bot may name its own (`destination_id`).
    #[serde(default)]
    pub is_default: Option<bool>,
    /// `wsp_…`: with `is_default`, the default of this workspace's meetings.
    #[serde(default)]
    #[schema(value_type = Option<ids::WorkspaceId>)]
    pub workspace_id: Option<meetvault_core::ids::WorkspaceId>,
    /// Let meetvault delete what it wrote here when it deletes the meeting (or a participant's
    /// recordings), and under a `recordings` retention window of N days: checked with a probe
    /// write and delete, so the key needs `s3:DeleteObject` under the prefix. Off (the
    /// default), what was delivered stays, and each deletion certificate says so. Only
    /// objects meetvault wrote are ever deleted.
    #[serde(default)]
    pub allow_delete: Option<bool>,
}

impl From<NewDestination> for core::NewDestination {
    fn from(d: NewDestination) -> Self {
        Self {
            name: d.name,
            endpoint: d.endpoint,
            region: d.region,
            bucket: d.bucket,
            prefix: d.prefix,
            path_style: d.path_style,
            access_key_id: d.access_key_id,
            secret_access_key: Zeroizing::new(d.secret_access_key),
            age_recipient: d.age_recipient,
            is_default: d.is_default,
            workspace_id: d.workspace_id,
            allow_delete: d.allow_delete,
        }
    }
}

/// A change to a destination: each field given is changed.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"allow_delete": true}))]
pub struct DestinationPatch {
    /// Make it the default (bots deliver there when they end), or not.
    #[serde(default)]
    pub is_default: Option<bool>,
    /// Let meetvault delete what it wrote here (turning it on runs a probe delete), or not.
    #[serde(default)]
    pub allow_delete: Option<bool>,
}

impl From<DestinationPatch> for core::DestinationChange {
    fn from(p: DestinationPatch) -> Self {
        Self {
            is_default: p.is_default,
            allow_delete: p.allow_delete,
        }
    }
}

/// A destination (never its credentials).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Destination {
    #[schema(value_type = ids::DestinationId)]
    pub id: DestinationId,
    pub name: String,
    pub endpoint: Option<String>,
    pub region: String,
    pub bucket: String,
    pub prefix: String,
    pub path_style: bool,
    /// `…` and the access key id's last four characters.
    pub access_key_hint: String,
    /// Objects are encrypted to this age recipient.
    pub age_recipient: Option<String>,
    pub is_default: bool,
    /// The workspace it is the default of (none: the org's).
    #[schema(value_type = Option<ids::WorkspaceId>)]
    pub workspace_id: Option<meetvault_core::ids::WorkspaceId>,
    /// meetvault deletes what it wrote here when it deletes the meeting (or a participant's
    /// recordings).
    pub allow_delete: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<DestinationView> for Destination {
    fn from(v: DestinationView) -> Self {
        let time = |ms| DateTime::from_timestamp_millis(ms).unwrap_or_default();
        Self {
            id: v.id,
            name: v.name,
            endpoint: v.endpoint,
            region: v.region,
            bucket: v.bucket,
            prefix: v.prefix,
            path_style: v.path_style,
            access_key_hint: v.access_key_hint,
            age_recipient: v.age_recipient,
            is_default: v.is_default,
            workspace_id: v.workspace_id,
            allow_delete: v.allow_delete,
            created_at: time(v.created_at),
            updated_at: time(v.updated_at),
        }
    }
}

list_of!(DestinationList { destinations: Vec<Destination> } from DestinationView);

/// Where to deliver a meeting.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliverMeeting {
    /// `dst_…`; the org's default destination when absent.
    #[serde(default)]
    #[schema(value_type = Option<ids::DestinationId>)]
    pub destination_id: Option<DestinationId>,
}

/// The delivery job (`GET /api/v1/jobs/{id}`); `recording.files_ready` follows.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeliveryQueued {
    #[schema(value_type = ids::JobId)]
    pub job_id: JobId,
}
