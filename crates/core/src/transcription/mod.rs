//! Transcription: one durable job per recording (track). The job decodes the encrypted
//! recording in memory, runs the meeting's engine (local Whisper, or a remote provider with the
//! owner's stored API key), and replaces that track's segments in one transaction, so a job that
//! runs again after a crash leaves exactly one transcript. Segments go to the event outbox as
//! they are heard (the queue writes the job's state changes and progress there itself).
//!
//! The local model is loaded once, on first use, and shared; inference runs on blocking threads
//! behind a semaphore (`jobs.transcription_concurrency` permits), which the OpenAI-compatible
//! endpoint shares so that it queues behind jobs instead of starving them.

mod engine;
mod job;
mod views;

pub use crate::media::audio_limits;
pub use crate::meetings::primary_language;
pub(crate) use engine::LiveTurn;
pub use engine::{LocalEngine, decode_options, precision, raw_segments};
pub use job::{KIND, TranscribeHandler};
pub use meetvault_jobs::JobState;
pub use meetvault_whisper::Task;
pub use views::{JobView, Transcription};
