//! The local engine: the Whisper model, loaded once on first use and shared, and the semaphore
//! every inference waits on (`jobs.transcription_concurrency` permits), shared with the
//! OpenAI-compatible endpoint's bounded waiting line; and the decode settings and limits every
//! caller (jobs, the endpoint, uploads, the CLI) builds from the configuration.
//!
//! Live transcription (a bot's utterances during the meeting, `bots/live.rs`) shares the model
//! but not the semaphore: it has `transcription.live_concurrency` permits of its own, so a live
//! utterance never queues behind a long job. They share the CPU instead, and live work comes
//! first: while a live inference waits or runs, every other inference pauses at its next
//! 30-second window (at most [`LIVE_YIELD_MAX`] per window, so a busy meeting slows jobs down
//! but never stops them).

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{OnceCell, Semaphore};

use crate::CoreError;

/// The local engine, loaded on first use, and the semaphore every inference waits on.
#[derive(Debug)]
pub struct LocalEngine {
    dir: PathBuf,
    precision: meetvault_whisper::Precision,
    model: OnceCell<Arc<meetvault_whisper::Model>>,
    /// Whether a failure to load the model has been logged (once is enough).
    warned: std::sync::atomic::AtomicBool,
    permits: Arc<Semaphore>,
    endpoint_queue: Arc<Semaphore>,
    live_permits: Arc<Semaphore>,
    /// Live inferences waiting for a permit or running.
    live_pending: Arc<AtomicUsize>,
}

/// The longest an inference pauses at one window boundary for live work.
pub const LIVE_YIELD_MAX: Duration = Duration::from_secs(10);

/// A live inference's turn ([`LocalEngine::live_turn`]).
pub(crate) struct LiveTurn {
    _pending: Pending,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

/// Counts a live inference as pending while it lives.
struct Pending(Arc<AtomicUsize>);

impl Pending {
    fn new(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Self(count.clone())
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl LocalEngine {
    pub(crate) fn new(config: &meetvault_config::Config) -> Self {
        Self {
            dir: config.model_dir(),
            precision: precision(config.transcription.compute_type),
            model: OnceCell::new(),
            warned: Default::default(),
            permits: Arc::new(Semaphore::new(
                usize::try_from(config.jobs.transcription_concurrency)
                    .unwrap_or(1)
                    .max(1),
            )),
            endpoint_queue: Arc::new(Semaphore::new(
                usize::try_from(config.transcription.endpoint_queue)
                    .unwrap_or(1)
                    .max(1),
            )),
            live_permits: Arc::new(Semaphore::new(
                usize::try_from(config.transcription.live_concurrency)
                    .unwrap_or(1)
                    .max(1),
            )),
            live_pending: Arc::default(),
        }
    }

    pub fn model_dir(&self) -> &std::path::Path {
        &self.dir
    }

    /// The loaded model (loading it now if needed).
    pub async fn model(&self) -> Result<Arc<meetvault_whisper::Model>, CoreError> {
        self.model
            .get_or_try_init(|| async {
                let dir = self.dir.clone();
                let precision = self.precision;
                let loaded = tokio::task::spawn_blocking(move || {
                    meetvault_whisper::Model::load_with_precision(&dir, precision)
                })
                    .await
                    .map_err(CoreError::internal)?;
                match loaded {
                    Ok(model) => {
                        tracing::info!(dir = %self.dir.display(), "local transcription model loaded");
                        Ok(Arc::new(model))
                    }
                    Err(e) => {
                        // The path and the cause are for the operator, once; callers hear
                        // only what to do.
                        if !self.warned.swap(true, std::sync::atomic::Ordering::Relaxed) {
                            tracing::warn!(dir = %self.dir.display(), error = %e, "cannot load the local transcription model");
                        }
                        Err(CoreError::TranscriptionUnavailable(
                            "no local transcription model is installed on this server; the operator can install one with `scripts/models.sh` or set transcription.model_dir (see the server log)".into(),
                        ))
                    }
                }
            })
            .await
            .cloned()
    }

    /// Runs the local engine on 16 kHz mono samples, on a blocking thread, once a permit is
    /// free. `on_progress` sees progress and each segment; returning `Break` cancels. While
    /// live work is pending it pauses at each window (see the module docs).
    pub async fn run(
        &self,
        pcm: Vec<f32>,
        opts: meetvault_whisper::DecodeOptions,
        mut on_progress: impl FnMut(meetvault_whisper::Progress<'_>) -> ControlFlow<()> + Send + 'static,
    ) -> Result<meetvault_whisper::Transcript, CoreError> {
        let model = self.model().await?;
        let _permit = self.permits.acquire().await.map_err(CoreError::internal)?;
        let live = self.live_pending.clone();
        let on_progress = move |p: meetvault_whisper::Progress<'_>| {
            if matches!(p, meetvault_whisper::Progress::Advanced { .. }) {
                let since = Instant::now();
                while live.load(Ordering::SeqCst) > 0 && since.elapsed() < LIVE_YIELD_MAX {
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
            on_progress(p)
        };
        self.infer(model, pcm, opts, on_progress).await
    }

    /// A turn at live inference: counted as pending (other inferences pause for it) from now,
    /// and holding one of the live permits once this returns.
    pub(crate) async fn live_turn(&self) -> Result<LiveTurn, CoreError> {
        let pending = Pending::new(&self.live_pending);
        let permit = self
            .live_permits
            .clone()
            .acquire_owned()
            .await
            .map_err(CoreError::internal)?;
        Ok(LiveTurn {
            _pending: pending,
            _permit: permit,
        })
    }

    /// Runs the local engine for live transcription, in a turn: on the live permits, ahead of
    /// other inferences (see the module docs). `on_progress` may cancel, as in [`Self::run`].
    pub(crate) async fn run_live(
        &self,
        _turn: &LiveTurn,
        pcm: Vec<f32>,
        opts: meetvault_whisper::DecodeOptions,
        on_progress: impl FnMut(meetvault_whisper::Progress<'_>) -> ControlFlow<()> + Send + 'static,
    ) -> Result<meetvault_whisper::Transcript, CoreError> {
        let model = self.model().await?;
        self.infer(model, pcm, opts, on_progress).await
    }

    async fn infer(
        &self,
        model: Arc<meetvault_whisper::Model>,
        pcm: Vec<f32>,
        opts: meetvault_whisper::DecodeOptions,
        mut on_progress: impl FnMut(meetvault_whisper::Progress<'_>) -> ControlFlow<()> + Send + 'static,
    ) -> Result<meetvault_whisper::Transcript, CoreError> {
        tokio::task::spawn_blocking(move || model.transcribe(&pcm, &opts, &mut on_progress))
            .await
            .map_err(CoreError::internal)?
            .map_err(|e| match e {
                meetvault_whisper::WhisperError::Cancelled => {
                    CoreError::Conflict("transcription was cancelled".into())
                }
                other => CoreError::internal(other),
            })
    }

    /// A place in the endpoint's bounded waiting line, or `None` when it is full (answer 429).
    pub fn try_queue(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.endpoint_queue.clone().try_acquire_owned().ok()
    }
}

/// The local engine's segments as a provider-neutral track (text trimmed).
pub fn raw_segments(t: &meetvault_whisper::Transcript) -> Vec<meetvault_stt::RawSegment> {
    t.segments
        .iter()
        .map(|s| meetvault_stt::RawSegment {
            start: s.start,
            end: s.end,
            text: s.text.trim().to_owned(),
            avg_logprob: Some(s.avg_logprob),
            no_speech_prob: Some(s.no_speech_prob),
            words: s
                .words
                .iter()
                .map(|w| meetvault_stt::Word {
                    text: w.text.clone(),
                    start: w.start,
                    end: w.end,
                    probability: Some(w.probability),
                })
                .collect(),
        })
        .collect()
}

/// The engine's precision for a configured compute type.
pub fn precision(compute: meetvault_config::ComputeType) -> meetvault_whisper::Precision {
    match compute {
        meetvault_config::ComputeType::F32 => meetvault_whisper::Precision::F32,
        meetvault_config::ComputeType::Int8 => meetvault_whisper::Precision::Int8,
    }
}

/// Decode options from the server's defaults and the meeting's (or caller's) settings.
pub fn decode_options(
    config: &meetvault_config::Config,
    beam: Option<u32>,
    language: Option<String>,
) -> meetvault_whisper::DecodeOptions {
    meetvault_whisper::DecodeOptions {
        // The engine knows languages, not regions (`pt-br` is Portuguese to it).
        language: language.map(|l| crate::meetings::primary_language(&l).to_owned()),
        beam_size: usize::try_from(beam.unwrap_or(config.transcription.beam_size))
            .unwrap_or(1)
            .max(1),
        vad: config.transcription.vad,
        ..meetvault_whisper::DecodeOptions::default()
    }
}
