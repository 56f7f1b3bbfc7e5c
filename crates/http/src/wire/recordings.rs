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
        }
    }
}

list_of!(
    /// The meeting's recordings.
    RecordingList { recordings: Vec<Recording> } from RecordingView
);
