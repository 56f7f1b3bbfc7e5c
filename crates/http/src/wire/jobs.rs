//! Jobs on the wire: a background job's state and progress, and the jobs a re-transcription
//! queued.

use chrono::{DateTime, Utc};
use meetvault_core::ids::{JobId, MeetingId};
use meetvault_core::transcription::JobView;
use serde::Serialize;
use utoipa::ToSchema;

use super::ids;

/// A job's lifecycle: `queued` → `running` → `succeeded` | `dead` (failed for good) |
/// `cancelled`; a failed attempt with retries left goes back to `queued`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Running,
    Succeeded,
    Dead,
    Cancelled,
}

impl From<meetvault_core::transcription::JobState> for JobState {
    fn from(s: meetvault_core::transcription::JobState) -> Self {
        use meetvault_core::transcription::JobState as Core;
        match s {
            Core::Queued => Self::Queued,
            Core::Running => Self::Running,
            Core::Succeeded => Self::Succeeded,
            Core::Dead => Self::Dead,
            Core::Cancelled => Self::Cancelled,
        }
    }
}

/// A background job (a track's transcription, and later work).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "job_0192f1c4a6e87c3d9b5e2f1a0c4d6e8f",
    "kind": "transcribe",
    "state": "succeeded",
    "progress": 100,
    "attempts": 1,
    "max_attempts": 5,
    "error": null,
    "meeting_id": "mtg_0192f1c4a6e87c3d9b5e2f1a0c4d6e8f",
    "created_at": "2026-11-24T09:31:02.120Z",
    "updated_at": "2026-11-24T09:31:09.480Z",
    "finished_at": "2026-11-24T09:31:09.480Z",
    "run_at": "2026-11-24T09:31:02.120Z"
}))]
pub struct Job {
    #[schema(value_type = ids::JobId)]
    pub id: JobId,
    /// `transcribe` for a track's transcription.
    pub kind: String,
    pub state: JobState,
    /// 0–100.
    #[schema(minimum = 0, maximum = 100)]
    pub progress: i32,
    pub attempts: i32,
    pub max_attempts: i32,
    /// Why the last attempt failed (a curated message).
    #[schema(required = true)]
    pub error: Option<String>,
    #[schema(value_type = Option<ids::MeetingId>, required = true)]
    pub meeting_id: Option<MeetingId>,
    #[schema(required = true)]
    pub created_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub updated_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub finished_at: Option<DateTime<Utc>>,
    /// When a queued retry is due.
    #[schema(required = true)]
    pub run_at: Option<DateTime<Utc>>,
}

impl From<JobView> for Job {
    fn from(j: JobView) -> Self {
        Self {
            id: j.id,
            kind: j.kind,
            state: j.state.into(),
            progress: j.progress,
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            error: j.error,
            meeting_id: j.meeting_id,
            created_at: j.created_at,
            updated_at: j.updated_at,
            finished_at: j.finished_at,
            run_at: j.run_at,
        }
    }
}

/// The jobs queued, one per recording.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JobsQueued {
    #[schema(value_type = Vec<ids::JobId>)]
    pub jobs: Vec<JobId>,
}
