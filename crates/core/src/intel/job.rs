//! The summary job: one per meeting, queued when a track's transcript (or an import) is stored
//! and on demand. It opens the transcript, redacts it first when `intelligence.pii_redaction =
//! "all"`, makes the summary (action items and decisions by rule, key points by centrality,
//! the overview by the embedded chat model when installed) and the meeting's search index
//! segment (each transcript segment a passage, with its embedding), seals both under the
//! meeting's key, and stores them with a `summary.ready` event in one transaction. Idempotent:
//! a re-run replaces what an earlier run stored.

use meetvault_intel::pii::Mapping;
use meetvault_intel::search::Segment;
use meetvault_intel::structured;
use meetvault_intel::summarize::{self, Line};
use meetvault_jobs::{Handler, Job, JobContext, JobError, NewJob};
use meetvault_store::intel::IntelRow;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::search::{IndexedPassage, seal_index};
use super::{ActionItem, EMBEDDED, RULES, Stored, SummaryContent, SummaryPoint, seal_summary};
use crate::events::{DomainEvent, SummaryReady, outbox_event};
use crate::ids::JobId;
use crate::intel_settings::IntelSettings;
use crate::{Core, CoreError};
use meetvault_config::PiiRedaction;

/// The job kind of a meeting's summary.
pub const KIND: &str = "summarize";

/// Embeddings are computed this many passages at a time.
const EMBED_BATCH: usize = 32;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Payload {
    meeting: Uuid,
    /// A regeneration's own settings (another provider or prompt), over the meeting's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    settings: Option<IntelSettings>,
}

impl Core {
    /// Queues a meeting's summary (a waiting identical job is reused); `settings`, checked
    /// already, go over the meeting's for this run only.
    pub(crate) async fn enqueue_summary(
        &self,
        org: Uuid,
        meeting: Uuid,
        settings: Option<IntelSettings>,
    ) -> Result<JobId, CoreError> {
        let payload =
            serde_json::to_value(Payload { meeting, settings }).map_err(CoreError::internal)?;
        let id = self
            .queue()
            .enqueue(NewJob {
                org_id: Some(org),
                kind: KIND,
                payload,
                resource_id: Some(meeting),
            })
            .await
            .map_err(crate::jobs_error)?;
        self.events().wake(meeting);
        Ok(id.into())
    }

    /// Queues the summary when a transcript was stored, if the operator wants it automatic.
    pub(crate) async fn summary_after_transcript(
        &self,
        org: Uuid,
        meeting: Uuid,
    ) -> Result<(), CoreError> {
        let c = &self.config().intelligence;
        if c.enabled && (c.auto || self.widget_wants_summary(org, meeting).await?) {
            self.enqueue_summary(org, meeting, None).await?;
        }
        Ok(())
    }

    async fn run_summary(&self, job: &Job) -> Result<(), JobError> {
        let p: Payload = serde_json::from_str(&job.payload).map_err(|_| {
            JobError::Permanent("the job's payload is not a summary request".into())
        })?;
        let org = job
            .org_id
            .ok_or_else(|| JobError::Permanent("the job names no org".into()))?;
        let Some(row) = self.db().meeting(org, p.meeting).await.map_err(retry)? else {
            return Err(JobError::Permanent("the meeting was deleted".into()));
        };
        let keys = self
            .meeting_read_keys(org, row.id, row.owner_id)
            .await
            .map_err(core_to_job)?;
        let segments = self.segments_with(&row, &keys).await.map_err(core_to_job)?;
        if segments.is_empty() {
            return Err(JobError::Permanent(
                "the meeting has no transcript to summarize".into(),
            ));
        }
        let models = &self.inner.intel;
        let settings = self
            .meeting_intel_settings(&row)
            .await
            .map_err(core_to_job)?;
        let settings = match &p.settings {
            Some(run) => run.over(&settings),
            None => settings,
        };
        let remote = settings.remote();
        // What a model reads is redacted first: before a remote one by default, before every
        // one with `all`.
        let redact = match self.pii_mode(&settings) {
            PiiRedaction::Off => false,
            PiiRedaction::Remote => remote,
            PiiRedaction::All => true,
        };
        let chat = if remote { None } else { models.chat().await };
        let embedder = models.embedder().await;
        let passages: Vec<IndexedPassage> = segments
            .iter()
            .map(|s| IndexedPassage {
                speaker: s.speaker.clone(),
                start_ms: u64::try_from(s.start_ms).unwrap_or(0),
                end_ms: u64::try_from(s.end_ms).unwrap_or(0),
                text: s.text.clone(),
            })
            .collect();
        let work_passages = passages.clone();
        let detector = models.detector();
        let (mut content, mapping, segment, by_model, read) = models
            .run(move || -> Result<_, meetvault_intel::IntelError> {
                // What the models read: the transcript, redacted first when asked.
                let mut mapping = Mapping::new();
                let texts: Vec<String> = work_passages
                    .iter()
                    .map(|p| {
                        if redact {
                            mapping.redact(&detector, &p.text)
                        } else {
                            p.text.clone()
                        }
                    })
                    .collect();
                let lines: Vec<Line<'_>> = work_passages
                    .iter()
                    .zip(&texts)
                    .map(|(p, t)| Line {
                        speaker: &p.speaker,
                        start_ms: p.start_ms,
                        text: t,
                    })
                    .collect();
                let s = summarize::summarize(&lines, chat.as_deref(), embedder.as_deref())?;
                let vectors = match &embedder {
                    Some(e) => {
                        let mut v = Vec::with_capacity(texts.len());
                        for batch in texts.chunks(EMBED_BATCH) {
                            let refs: Vec<&str> = batch.iter().map(String::as_str).collect();
                            v.extend(e.embed(&refs)?);
                        }
                        Some(v)
                    }
                    None => None,
                };
                // Keywords index what was said (no model reads them); vectors what the model read.
                let plain: Vec<&str> = work_passages.iter().map(|p| p.text.as_str()).collect();
                let segment = Segment::build(&plain, vectors.as_deref());
                let content = SummaryContent {
                    overview: s.overview.clone(),
                    key_points: s.key_points.iter().map(point).collect(),
                    decisions: s.decisions.iter().map(point).collect(),
                    action_items: s.action_items.iter().map(item).collect(),
                };
                Ok((
                    content,
                    (!mapping.is_empty()).then_some(mapping),
                    segment,
                    s.overview_by_model,
                    texts,
                ))
            })
            .await
            .map_err(core_to_job)?
            .map_err(|e| JobError::Permanent(format!("the summary could not be made: {e}")))?;
        // `embedded` (or the remote model) only when its overview passed the faithfulness check.
        let mut generated_by = if by_model {
            EMBEDDED.to_owned()
        } else {
            RULES.to_owned()
        };
        if remote {
            let lines: Vec<Line<'_>> = passages
                .iter()
                .zip(&read)
                .map(|(p, t)| Line {
                    speaker: &p.speaker,
                    start_ms: p.start_ms,
                    text: t,
                })
                .collect();
            let system = match &settings.prompt {
                Some(p) => format!("{} For the overview: {p}", structured::SYSTEM_PROMPT),
                None => structured::SYSTEM_PROMPT.to_owned(),
            };
            let script = structured::numbered(&lines, REMOTE_SCRIPT_BYTES);
            // Unreachable: retried. Refused (a 4xx, a bad setting): the summary is kept as
            // the embedded path made it, and says so (`generated_by`).
            let written = match self
                .remote_summary(
                    org,
                    &settings,
                    &system,
                    &script,
                    structured::response_formats(),
                )
                .await
            {
                Ok(w) => w,
                Err(CoreError::Unavailable(what)) => {
                    return Err(JobError::Retryable(format!("{what} could not be reached")));
                }
                Err(CoreError::Conflict(m) | CoreError::Invalid { message: m, .. }) => {
                    tracing::warn!(meeting = %row.id, reason = %m, "the remote provider refused; the summary is the embedded path's");
                    None
                }
                Err(other) => return Err(core_to_job(other)),
            };
            // A JSON draft is held to the transcript section by section; prose is an overview.
            let by_remote = match written.as_deref().map(|w| (w, structured::parse(w))) {
                Some((_, Some(draft))) => {
                    let c = structured::check(draft, &lines);
                    let mut used = false;
                    if let Some(o) = c.overview {
                        content.overview = o;
                        used = true;
                    }
                    if !c.key_points.is_empty() {
                        content.key_points = c.key_points.iter().map(point).collect();
                        used = true;
                    }
                    if !c.decisions.is_empty() {
                        content.decisions = c.decisions.iter().map(point).collect();
                        used = true;
                    }
                    if !c.action_items.is_empty() {
                        content.action_items = c.action_items.iter().map(item).collect();
                        used = true;
                    }
                    used
                }
                Some((text, None)) if summarize::faithful(text, &lines) => {
                    content.overview = text.trim().to_owned();
                    true
                }
                _ => false,
            };
            if by_remote {
                generated_by = format!("openai:{}", settings.model.as_deref().unwrap_or("model"));
            }
        }
        let action_items = u32::try_from(content.action_items.len()).unwrap_or(u32::MAX);
        let summary = seal_summary(
            &keys,
            org,
            row.id,
            &Stored {
                summary: content,
                mapping,
            },
        )
        .map_err(core_to_job)?;
        let index = seal_index(&keys, org, row.id, &passages, &segment).map_err(core_to_job)?;
        drop(keys);
        let now = chrono::Utc::now().timestamp_millis();
        let ready = outbox_event(
            org,
            &DomainEvent::SummaryReady(SummaryReady {
                meeting_id: row.id.into(),
                generated_by: generated_by.clone(),
                action_items,
            }),
            None,
        )
        .map_err(core_to_job)?;
        let stored = self
            .db()
            .put_meeting_intel(
                &IntelRow {
                    meeting_id: row.id,
                    org_id: org,
                    summary: Some(summary),
                    generated_by: Some(generated_by),
                    generated_at: Some(now),
                    edited_at: None,
                    edited_by: None,
                    search_index: Some(index),
                    indexed_at: Some(now),
                    source_segments: i64::try_from(passages.len()).unwrap_or(i64::MAX),
                },
                &[ready],
            )
            .await
            .map_err(retry)?;
        if !stored {
            return Err(JobError::Permanent("the meeting was deleted".into()));
        }
        self.events().wake(row.id);
        Ok(())
    }
}

/// The most transcript a remote model reads (whole lines), a size every current chat model's
/// context holds.
const REMOTE_SCRIPT_BYTES: usize = 48_000;

fn point(c: &summarize::Cited) -> SummaryPoint {
    SummaryPoint {
        text: c.text.clone(),
        speaker: Some(c.speaker.clone()),
        start_ms: Some(c.start_ms),
    }
}

fn item(a: &summarize::ActionItem) -> ActionItem {
    ActionItem {
        task: a.task.clone(),
        owner: a.owner.clone(),
        due: a.due.clone(),
        start_ms: Some(a.start_ms),
        done: false,
    }
}

fn retry(e: impl std::fmt::Display) -> JobError {
    JobError::Retryable(format!("storage: {e}"))
}

fn core_to_job(e: CoreError) -> JobError {
    match e {
        CoreError::Locked => JobError::Retryable(
            "the meeting is locked by zero-access encryption until its owner logs in".into(),
        ),
        CoreError::Integrity(what) => {
            JobError::Permanent(format!("stored data failed its integrity check ({what})"))
        }
        CoreError::NotFound(what) => JobError::Permanent(format!("{what} not found")),
        other => {
            tracing::warn!(error = ?other, "summary job failed");
            JobError::Retryable("an internal error occurred; the job will be retried".into())
        }
    }
}

/// The job handler registered with the workers.
#[derive(Debug)]
pub struct SummarizeHandler {
    core: Core,
}

impl SummarizeHandler {
    pub fn new(core: Core) -> Self {
        Self { core }
    }
}

#[async_trait::async_trait]
impl Handler for SummarizeHandler {
    fn kind(&self) -> &'static str {
        KIND
    }
    fn concurrency(&self) -> usize {
        usize::try_from(self.core.config().intelligence.concurrency)
            .unwrap_or(1)
            .max(1)
    }
    async fn run(&self, job: &Job, _ctx: &JobContext) -> Result<(), JobError> {
        self.core.run_summary(job).await
    }
}
