//! Jobs as the API shows them, and what a meeting's event stream may show its caller.

use meetvault_jobs::Job;

use crate::access::proof::MeetingsRead;
use crate::access::{Reach, Scope};
use crate::ids::{JobId, MeetingId};
use crate::{Core, CoreError};

/// A job as the API shows it.
#[derive(Debug, Clone)]
pub struct JobView {
    pub id: JobId,
    pub kind: String,
    /// `queued`, `running`, `succeeded`, `dead` (failed for good) or `cancelled`.
    pub state: meetvault_jobs::JobState,
    pub progress: i32,
    pub attempts: i32,
    pub max_attempts: i32,
    /// Why the last attempt failed (a curated message).
    pub error: Option<String>,
    pub meeting_id: Option<crate::ids::MeetingId>,
    pub created_at: Option<chrono::DateTime<chrono::Utc>>,
    pub updated_at: Option<chrono::DateTime<chrono::Utc>>,
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When a queued retry is due.
    pub run_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<Job> for JobView {
    fn from(j: Job) -> Self {
        let at = chrono::DateTime::from_timestamp_millis;
        Self {
            id: j.id.into(),
            state: j.job_state(),
            kind: j.kind,
            progress: j.progress,
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            error: j.last_error,
            meeting_id: j.resource_id.map(Into::into),
            created_at: at(j.created_at),
            updated_at: at(j.updated_at),
            finished_at: j.finished_at.and_then(at),
            run_at: at(j.run_at),
        }
    }
}

/// Transcription (`core.transcription()`): queue a meeting's transcription, and read its jobs.
#[derive(Debug, Clone, Copy)]
pub struct Transcription<'a> {
    pub(crate) core: &'a Core,
}

impl Transcription<'_> {
    pub async fn job(self, scope: &Scope<MeetingsRead>, id: JobId) -> Result<JobView, CoreError> {
        let job = self
            .core
            .queue()
            .job(scope.org_id().uuid(), id.uuid())
            .await
            .map_err(crate::jobs_error)?
            .ok_or(CoreError::NotFound("job"))?;
        // A caller confined to some workspaces sees only the jobs of meetings there.
        if scope.reach() != Reach::Org {
            let meeting = job.resource_id.ok_or(CoreError::NotFound("job"))?;
            self.core
                .meeting_row(scope, MeetingId::from(meeting))
                .await
                .map_err(|_| CoreError::NotFound("job"))?;
        }
        Ok(JobView::from(job))
    }

    /// The meeting's jobs as they are now, if the caller may read the meeting's content (its
    /// events carry transcript text): what a new event stream shows first.
    pub async fn watch_meeting(
        self,
        scope: &Scope<MeetingsRead>,
        meeting: MeetingId,
    ) -> Result<Vec<JobView>, CoreError> {
        let row = self.core.meeting_row(scope, meeting).await?;
        self.core.check_content_reader(scope, &row).await?;
        Ok(self
            .core
            .queue()
            .jobs_for(row.org_id, row.id)
            .await
            .map_err(crate::jobs_error)?
            .into_iter()
            .map(JobView::from)
            .collect())
    }
}
