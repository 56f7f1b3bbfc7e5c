//! Transcription: one durable job per recording (track). The job decodes the encrypted
//! recording in memory, runs the meeting's engine (local Whisper, or a remote provider with the
//! owner's stored API key), and replaces that track's segments in one transaction, so a job that
//! runs again after a crash leaves exactly one transcript. Progress and segments are published
//! on the meeting's event stream as they are produced.
//!
//! The local model is loaded once, on first use, and shared; inference runs on blocking threads
//! behind a semaphore (`jobs.transcription_concurrency` permits), which the OpenAI-compatible
//! endpoint shares so that it queues behind jobs instead of starving them.

mod engine;
mod job;
mod views;

pub use engine::{LocalEngine, audio_limits, decode_options, raw_segments};
pub use job::{KIND, TranscribeHandler};
pub use views::JobView;
