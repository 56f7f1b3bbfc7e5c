//! Transcripts and the engines that make them: the segment model, exports, per-track merging,
//! word error rate, and clients for remote transcription providers. Must never: log or return
//! an API key or transcript content in an error, or send a key over plaintext HTTP.
//!
//! # The segment model
//!
//! meetvault records each participant on a separate track, so speakers are known without
//! diarization. An [`Engine`] turns one track (a 16 kHz mono 16-bit WAV) into [`RawSegment`]s:
//! timed text, with the engine's confidence when it reports one (`avg_logprob`,
//! `no_speech_prob`). Each track becomes a [`TrackTranscript`] with its speaker, and
//! [`merge_tracks`] interleaves the tracks into one list of [`Segment`]s ordered by start time,
//! keeping the timestamps (all tracks share the recording's time origin).
//!
//! # Exports
//!
//! [`export`] renders segments as JSON (`{title, started_at, language, segments}`), SubRip
//! (`Speaker: text` cues), WebVTT (`<v Speaker>` voice spans), Markdown
//! (`**Speaker** [mm:ss] text`) or plain text (`[HH:MM:SS] Speaker: text`). Content is
//! sanitized so it cannot break a file's structure: line breaks become spaces, `-->` becomes
//! `→`, WebVTT text is entity-escaped and Markdown backslash-escaped. Cues are at least 1 ms
//! long. [`ExportFormat`] parses the names users type and gives each format's content type and
//! extension.
//!
//! # Providers
//!
//! - [`OpenAiCompatible`]: `POST {base}/v1/audio/transcriptions` with `verbose_json`, for
//!   OpenAI and any server that speaks its API (including meetvault itself). Its wire types
//!   live in [`openai`] so a server can answer in the same format.
//! - [`Deepgram`]: `POST {base}/v1/listen` (pre-recorded), utterances as segments.
//!
//! Both connect within 10 s, allow 15 minutes per request unless told otherwise, follow no
//! redirects, and map answers to [`SttError`]: 401/403 → `Unauthorized`, 429 → `RateLimited`,
//! other 4xx → `Rejected`, 5xx and network failures → `Unavailable` (the two
//! [`retryable`](SttError::retryable) ones), an unusable body → `BadResponse`. Error messages
//! carry the HTTP status and at most a short, sanitized message from the provider's JSON error,
//! never its raw body.
//!
//! # Plaintext HTTP
//!
//! Every request goes through meetvault's outbound client (`meetvault-outbound`), under the
//! operator's policy: a provider's base URL must be `https` to a public host; plain `http`, or a
//! private address, only for hosts and networks the operator allow-listed
//! (`outbound.allow_hosts`: an in-house server). Other plain `http` is refused with
//! [`SttError::InsecureUrl`], because the API key would cross the network in plaintext.
//!
//! # Word error rate
//!
//! [`word_error_rate`] measures a transcript against a reference, for engine evaluation.

mod deepgram;
mod engine;
mod error;
mod export;
pub mod language;
pub mod openai;
mod remote;
mod segment;
mod wav;
mod wer;

pub use deepgram::Deepgram;
pub use engine::{Engine, Request};
pub use error::SttError;
pub use export::{
    ExportFormat, ExportMeta, ExportOptions, UnknownExportFormat, export, export_with,
};
pub use openai::OpenAiCompatible;
pub use remote::{CONNECT_TIMEOUT, DEFAULT_TIMEOUT};
pub use segment::{RawSegment, Segment, TrackTranscript, Word, merge_tracks};
pub use wer::word_error_rate;
