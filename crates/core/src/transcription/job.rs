//! The transcription job: one per recording (track). It decodes the encrypted recording in
//! memory, runs the meeting's engine (local Whisper, or a remote provider with the key its owner
//! configured), and replaces that track's segments in one transaction, so a job that runs again
//! after a crash leaves exactly one transcript. Progress and segments go to the meeting's event
//! stream as they are produced.

use std::ops::ControlFlow;

use meetvault_config::TranscriptionProvider;
use meetvault_jobs::{Handler, Job, JobContext, JobError, NewJob};
use meetvault_stt::Engine as _;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{decode_options, raw_segments};
use crate::access::Scope;
use crate::access::proof::MeetingsWrite;
use crate::audit::AuditAction;
use crate::events::{DomainEvent, SegmentTiming, SegmentWords, outbox_event};
use crate::ids::{JobId, MeetingId, RecordingId};
use crate::media::audio_limits;
use crate::meetings::{TrackSegment, TranscriptionSettings};
use crate::{Core, CoreError};

/// The job kind of a track's transcription.
pub const KIND: &str = "transcribe";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Payload {
    meeting: Uuid,
    recording: Uuid,
}

impl Core {
    /// Queues the transcription of one recording (a waiting identical job is reused).
    pub(crate) async fn enqueue_transcription(
        &self,
        org: Uuid,
        meeting: Uuid,
        recording: Uuid,
    ) -> Result<JobId, CoreError> {
        let payload =
            serde_json::to_value(Payload { meeting, recording }).map_err(CoreError::internal)?;
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
}

impl super::Transcription<'_> {
    /// Queues transcription of every recording of a meeting (after its settings changed, say).
    pub async fn transcribe(
        self,
        scope: &Scope<MeetingsWrite>,
        meeting: MeetingId,
    ) -> Result<Vec<JobId>, CoreError> {
        let row = self.core.meeting_row(scope, meeting).await?;
        let mut jobs = Vec::new();
        for rec in self.core.db().recordings(row.org_id, row.id).await? {
            jobs.push(
                self.core
                    .enqueue_transcription(row.org_id, row.id, rec.id)
                    .await?,
            );
        }
        if jobs.is_empty() {
            return Err(CoreError::invalid(
                "recordings",
                "the meeting has no recording to transcribe; upload one first",
            ));
        }
        self.core
            .audit(crate::audit::Event::by(scope, AuditAction::MeetingTranscribe).resource(row.id))
            .await?;
        Ok(jobs)
    }
}

impl Core {
    async fn run_transcription(&self, job: &Job, ctx: &JobContext) -> Result<(), JobError> {
        let p: Payload = serde_json::from_str(&job.payload).map_err(|_| {
            JobError::Permanent("the job's payload is not a transcription request".into())
        })?;
        let org = job
            .org_id
            .ok_or_else(|| JobError::Permanent("the job names no org".into()))?;
        let job_id = JobId::from(job.id);
        let Some(row) = self.db().meeting(org, p.meeting).await.map_err(retry)? else {
            return Err(JobError::Permanent("the meeting was deleted".into()));
        };
        let Some(rec) = self
            .db()
            .recording(org, row.id, p.recording)
            .await
            .map_err(retry)?
        else {
            return Err(JobError::Permanent("the recording was deleted".into()));
        };
        let keys = self
            .meeting_read_keys(org, row.id, row.owner_id)
            .await
            .map_err(core_to_job)?;
        let speaker = match &rec.speaker {
            Some(ct) => keys
                .text(org, "recordings", rec.id, "speaker", ct)
                .map_err(core_to_job)?,
            None => "unknown".to_owned(),
        };
        let meeting_glossary = row
            .glossary
            .as_deref()
            .map(|g| keys.text(org, "meetings", row.id, "glossary", g))
            .transpose()
            .map_err(core_to_job)?;
        drop(keys);
        let org_glossary = self.org_glossary(org).await.map_err(core_to_job)?;
        let prompt = Core::transcription_prompt(org_glossary, meeting_glossary);
        // Decode in memory (the plaintext audio never touches the disk).
        let reader = self
            .recording_reader(&row, &rec)
            .await
            .map_err(core_to_job)?;
        let hint = crate::meetings::recordings_hint(&rec.content_type);
        let limits = audio_limits(self.config());
        let (pcm, _info) = tokio::task::spawn_blocking(move || {
            meetvault_audio::decode_to_vec(reader, &hint, &limits)
        })
        .await
        .map_err(|e| JobError::Retryable(format!("the decoder stopped: {e}")))?
        .map_err(|e| match e {
            meetvault_audio::AudioError::Io(_) => {
                JobError::Retryable("reading the recording failed".into())
            }
            other => JobError::Permanent(other.to_string()),
        })?;
        ctx.set_progress(5);
        let settings = TranscriptionSettings::parse(&row.transcription);
        let provider = settings
            .provider
            .unwrap_or(self.config().transcription.default_provider);
        let segments = match provider {
            TranscriptionProvider::Local => {
                let mut opts =
                    decode_options(self.config(), settings.beam_size, row.language.clone());
                opts.task = settings.task.unwrap_or_default();
                opts.multilingual = settings.multilingual.unwrap_or(false);
                opts.word_timestamps = settings.word_timestamps.unwrap_or(false);
                opts.initial_prompt = self.fit_local_prompt(prompt).await.map_err(core_to_job)?;
                let (heard, writer) = self.segment_writer(&row).await?;
                let (ctx2, speaker2, rec_id) =
                    (ctx.clone(), speaker.clone(), RecordingId::from(rec.id));
                let meeting_id = MeetingId::from(row.id);
                let attempt = job.attempts;
                let out = self
                    .engine()
                    .run(pcm, opts, move |progress| {
                        if ctx2.cancelled().is_cancelled() {
                            return ControlFlow::Break(());
                        }
                        match progress {
                            meetvault_whisper::Progress::Advanced {
                                done_secs,
                                total_secs,
                            } => {
                                let pct = if total_secs > 0.0 {
                                    5.0 + 90.0 * done_secs / total_secs
                                } else {
                                    95.0
                                };
                                ctx2.set_progress(pct.clamp(0.0, 99.0) as u8);
                            }
                            meetvault_whisper::Progress::Segment(s) => {
                                let _ = heard.send(DomainEvent::SegmentProduced(
                                    SegmentTiming {
                                        job_id,
                                        attempt,
                                        meeting_id,
                                        recording_id: rec_id,
                                        start_ms: (s.start * 1000.0).round() as i64,
                                        end_ms: (s.end * 1000.0).round() as i64,
                                    },
                                    SegmentWords {
                                        speaker: speaker2.clone(),
                                        text: s.text.trim().to_owned(),
                                    },
                                ));
                            }
                        }
                        ControlFlow::Continue(())
                    })
                    .await;
                // Every segment heard is in the outbox before the transcript is stored.
                if let Err(e) = writer.await {
                    tracing::warn!(error = %e, "writing live segments stopped");
                }
                if ctx.cancelled().is_cancelled() {
                    return Err(JobError::Cancelled);
                }
                let transcript = out.map_err(|e| match e {
                    CoreError::TranscriptionUnavailable(m) => JobError::Permanent(m),
                    other => core_to_job(other),
                })?;
                // Each segment with the language its window was heard in.
                raw_segments(&transcript)
                    .into_iter()
                    .zip(transcript.segments.iter().map(|s| Some(s.language.clone())))
                    .collect::<Vec<_>>()
            }
            TranscriptionProvider::Openai | TranscriptionProvider::Deepgram => self
                .run_remote(&row, &settings, provider, pcm, prompt)
                .await?
                .into_iter()
                .map(|s| (s, None))
                .collect(),
        };
        let segments: Vec<TrackSegment> = segments
            .into_iter()
            .filter(|(s, _)| !s.text.trim().is_empty())
            .map(|(s, language)| TrackSegment {
                start_ms: (s.start * 1000.0).round() as i64,
                end_ms: (s.end * 1000.0).round() as i64,
                speaker: speaker.clone(),
                text: s.text.trim().to_owned(),
                avg_logprob: s.avg_logprob,
                no_speech_prob: s.no_speech_prob,
                language,
                words: s.words,
            })
            .collect();
        // Inference takes a while: a meeting deleted meanwhile (its keys shredded) must not get
        // a new key or rows now.
        if ctx.cancelled().is_cancelled() {
            return Err(JobError::Cancelled);
        }
        if self
            .db()
            .meeting(org, row.id)
            .await
            .map_err(retry)?
            .is_none()
        {
            return Err(JobError::Permanent("the meeting was deleted".into()));
        }
        self.store_track_segments(&row, rec.id, &segments)
            .await
            .map_err(core_to_job)?;
        Ok(())
    }

    /// A sender for the segments an engine hears, and the task that seals each under the
    /// meeting's newest key and appends it to the outbox (in batches, in order; a failed batch
    /// is tried three times). The task ends once the sender is dropped and everything sent is
    /// written. It never makes a key: a meeting deleted (shredded) meanwhile has none, and the
    /// job ends there.
    async fn segment_writer(
        &self,
        row: &meetvault_store::vault::MeetingRow,
    ) -> Result<
        (
            tokio::sync::mpsc::UnboundedSender<DomainEvent>,
            tokio::task::JoinHandle<()>,
        ),
        JobError,
    > {
        let keys = self
            .meeting_read_keys(row.org_id, row.id, row.owner_id)
            .await
            .map_err(core_to_job)?;
        if keys.newest().is_none() {
            return Err(JobError::Permanent("the meeting was deleted".into()));
        }
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<DomainEvent>();
        let (core, org, meeting) = (self.clone(), row.org_id, row.id);
        let task = tokio::spawn(async move {
            let Some((kref, key)) = keys.newest() else {
                return;
            };
            let mut batch = Vec::new();
            while rx.recv_many(&mut batch, 64).await > 0 {
                let rows: Result<Vec<_>, _> = batch
                    .drain(..)
                    .map(|e| outbox_event(org, &e, Some((key, kref))))
                    .collect();
                let rows = match rows {
                    Ok(rows) => rows,
                    Err(e) => {
                        tracing::warn!(error = %e, "a live segment could not be sealed");
                        continue;
                    }
                };
                for attempt in 1..=3 {
                    match core.append_events(meeting, &rows).await {
                        Ok(()) => break,
                        Err(e) if attempt == 3 => {
                            tracing::warn!(error = %e, lost = rows.len(), "live segments could not be written to the outbox");
                        }
                        Err(_) => {
                            tokio::time::sleep(std::time::Duration::from_millis(250 * attempt))
                                .await;
                        }
                    }
                }
            }
        });
        Ok((tx, task))
    }

    async fn run_remote(
        &self,
        row: &meetvault_store::vault::MeetingRow,
        settings: &TranscriptionSettings,
        provider: TranscriptionProvider,
        pcm: Vec<f32>,
        prompt: Option<String>,
    ) -> Result<Vec<meetvault_stt::RawSegment>, JobError> {
        // A key is used only on behalf of the user who owns it and configured its use: the
        // meeting's owner. Settings from before that rule, or tampered with, are refused.
        let owner = row.owner_id;
        let (Some(secret_name), Some(_)) = (
            settings.secret.as_deref(),
            settings.configured_by.filter(|u| u.uuid() == owner),
        ) else {
            return Err(JobError::Permanent(
                "the meeting's remote transcription was not set up by its owner: the owner must \
                 set `transcription` again"
                    .into(),
            ));
        };
        let key = self
            .secrets()
            .value(row.org_id.into(), owner.into(), secret_name)
            .await
            .map_err(core_to_job)?
            .ok_or_else(|| {
                JobError::Permanent(
                    "the API key for the meeting's transcription provider is no longer stored: \
                     its owner must store it again"
                        .into(),
                )
            })?;
        let key = secrecy::SecretString::from(key.as_str().to_owned());
        let wav = bytes::Bytes::from(meetvault_audio::encode_wav_16k(&pcm));
        drop(pcm);
        let request = meetvault_stt::Request {
            language: row.language.clone(),
            prompt,
            word_timestamps: settings.word_timestamps.unwrap_or(false),
            ..meetvault_stt::Request::default()
        };
        let base = match (provider, settings.base_url.clone()) {
            (_, Some(url)) => url,
            (TranscriptionProvider::Deepgram, None) => {
                url::Url::parse(meetvault_stt::Deepgram::DEFAULT_BASE_URL)
                    .map_err(|e| JobError::Permanent(format!("bad Deepgram URL: {e}")))?
            }
            (_, None) => {
                return Err(JobError::Permanent(
                    "provider openai needs transcription.base_url".into(),
                ));
            }
        };
        // Through the outbound client: the URL checked again and its name resolved and pinned
        // by the client right before it connects, so a name that now resolves to this server's
        // own network is refused even if it did not when configured.
        let http = self.outbound_client().clone();
        let result = match provider {
            TranscriptionProvider::Openai => {
                let engine = meetvault_stt::OpenAiCompatible::new(
                    base,
                    key,
                    settings.model.clone().unwrap_or_else(|| "whisper-1".into()),
                    http,
                )
                .map_err(stt_to_job)?;
                engine.transcribe(wav, &request).await
            }
            TranscriptionProvider::Deepgram => {
                let model = settings
                    .model
                    .clone()
                    .unwrap_or_else(|| meetvault_stt::Deepgram::DEFAULT_MODEL.into());
                let engine =
                    meetvault_stt::Deepgram::new(base, key, model, http).map_err(stt_to_job)?;
                engine.transcribe(wav, &request).await
            }
            TranscriptionProvider::Local => {
                return Err(JobError::Permanent(
                    "the local engine is not a remote provider".into(),
                ));
            }
        };
        result.map(|(_, segments)| segments).map_err(stt_to_job)
    }
}

fn retry(e: impl std::fmt::Display) -> JobError {
    JobError::Retryable(format!("storage: {e}"))
}

fn stt_to_job(e: meetvault_stt::SttError) -> JobError {
    if e.retryable() {
        JobError::Retryable(e.to_string())
    } else {
        JobError::Permanent(e.to_string())
    }
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
        CoreError::TranscriptionUnavailable(m) => JobError::Permanent(m),
        other => {
            tracing::warn!(error = ?other, "transcription job failed");
            JobError::Retryable("an internal error occurred; the job will be retried".into())
        }
    }
}

/// The job handler registered with the workers.
#[derive(Debug)]
pub struct TranscribeHandler {
    core: Core,
}

impl TranscribeHandler {
    pub fn new(core: Core) -> Self {
        Self { core }
    }
}

#[async_trait::async_trait]
impl Handler for TranscribeHandler {
    fn kind(&self) -> &'static str {
        KIND
    }
    fn concurrency(&self) -> usize {
        usize::try_from(self.core.config().jobs.transcription_concurrency)
            .unwrap_or(1)
            .max(1)
    }
    /// The queue records the job's end (and its event) once this returns.
    async fn run(&self, job: &Job, ctx: &JobContext) -> Result<(), JobError> {
        self.core.run_transcription(job, ctx).await
    }
}
