//! Recordings on the wire: what an upload stored and the meeting's list of them. The bytes
//! themselves travel as `application/octet-stream` (upload) and `audio/…` (download).

use chrono::{DateTime, Utc};
use meetvault_core::ids::{JobId, RecordingId};
use meetvault_core::meetings::RecordingView;
use serde::Serialize;
use utoipa::ToSchema;

use super::{ids, list_of};

/// A stored recording (one mixed file, or one speaker's track).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "rec_0192f1c4a6e87c3d9b5e2f1a0c4d6e8f",
    "size": 482344,
    "content_type": "audio/wav",
    "speaker": "Alice",
    "duration_ms": 15040,
    "codec": "pcm_s16le",
    "created_at": "2026-11-24T09:31:02.120000Z",
    "job_id": "job_0192f1c4a6e87c3d9b5e2f1a0c4d6e8f"
}))]
pub struct Recording {
    #[schema(value_type = ids::RecordingId)]
    pub id: RecordingId,
    /// Bytes.
    pub size: i64,
    /// The detected audio type (`audio/…`, else `application/octet-stream`).
    pub content_type: &'static str,
    /// The track's speaker label, when the upload named one.
    #[schema(required = true)]
    pub speaker: Option<String>,
    #[schema(required = true)]
    pub duration_ms: Option<i64>,
    #[schema(required = true)]
    pub codec: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The transcription job this upload queued (in the upload's answer only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<ids::JobId>)]
    pub job_id: Option<JobId>,
    /// Where it was delivered (the customer's bucket: `POST /api/v1/destinations`), and when.
    #[schema(required = true)]
    pub delivered: Option<RecordingDelivered>,
    /// When meetvault deleted its own copy after delivering it (a bot's recordings, by default,
    /// once delivered and transcribed): its download answers 410 since.
    #[schema(required = true)]
    pub local_copy_deleted_at: Option<DateTime<Utc>>,
}

/// A recording's copy in a destination.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecordingDelivered {
    #[schema(value_type = ids::DestinationId)]
    pub destination_id: meetvault_core::ids::DestinationId,
    /// Its key in the bucket.
    pub key: String,
    pub at: DateTime<Utc>,
}

impl From<RecordingView> for Recording {
    fn from(r: RecordingView) -> Self {
        Self {
            id: r.id,
            size: r.size,
            content_type: r.content_type,
            speaker: r.speaker,
            duration_ms: r.duration_ms,
            codec: r.codec,
            created_at: r.created_at,
            job_id: r.job_id,
            delivered: r.delivered.map(|d| RecordingDelivered {
                destination_id: d.destination_id,
                key: d.key,
                at: d.at,
            }),
            local_copy_deleted_at: r.local_copy_deleted_at,
        }
    }
}

list_of!(
    /// The meeting's recordings.
    RecordingList { recordings: Vec<Recording> } from RecordingView
);
