//! Recordings, transcription and the job queue that runs it.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::ConfigError;

/// Uploaded recordings: what is accepted.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecordingsConfig {
    /// The largest upload accepted, in bytes (streamed: memory use does not grow with it).
    pub max_bytes: u64,
    /// The longest recording accepted, in seconds of audio (checked while decoding).
    pub max_duration_secs: u64,
}

impl Default for RecordingsConfig {
    fn default() -> Self {
        Self {
            max_bytes: 4 * 1024 * 1024 * 1024,
            max_duration_secs: 6 * 3600,
        }
    }
}

/// Which engine transcribes a meeting unless the meeting names another.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, Eq, PartialEq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum TranscriptionProvider {
    /// Whisper on this machine (`transcription.model_dir`); nothing leaves the server.
    #[default]
    Local,
    /// An OpenAI-compatible `/v1/audio/transcriptions` service (the meeting names it).
    Openai,
    /// Deepgram's pre-recorded API (the meeting names it).
    Deepgram,
}

/// The local models `scripts/models.sh` installs, by the name `transcription.model`,
/// `meetvault transcribe --model` and `scripts/models.sh --model` take.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, Eq, PartialEq, Default)]
pub enum LocalModel {
    /// Whisper tiny.en: English only, fast (the quick start's).
    #[default]
    #[serde(rename = "tiny.en")]
    TinyEn,
    /// Whisper base: 99 languages, detection, translation into English; about 3× slower.
    #[serde(rename = "base")]
    Base,
}

impl LocalModel {
    /// Every known model.
    pub const ALL: [LocalModel; 2] = [LocalModel::TinyEn, LocalModel::Base];

    /// The name (`tiny.en`, `base`).
    pub fn name(self) -> &'static str {
        match self {
            Self::TinyEn => "tiny.en",
            Self::Base => "base",
        }
    }

    /// Its folder under `DATA_DIR/models`.
    pub fn folder(self) -> &'static str {
        match self {
            Self::TinyEn => "whisper-tiny.en",
            Self::Base => "whisper-base",
        }
    }

    /// The model of this name, if one.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }
}

/// How the local engine's linear layers compute.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, Eq, PartialEq, Default)]
#[serde(rename_all = "lowercase")]
pub enum ComputeType {
    /// f32 weights and products: what the differential tests against faster-whisper float32
    /// hold the engine to; the choice for bit-for-bit comparisons with a float32 peer.
    F32,
    /// The default: linear layers' weights quantised to int8 at load (one scale per output
    /// channel), integer dot products (the decoder's everywhere, the encoder's where the CPU
    /// has AVX-512 VNNI; cross-attention keys and values stay f32). A quarter to a half less
    /// CPU than `f32` and less memory on tiny.en and base, the same words on the speech
    /// fixtures within the bound `crates/whisper/tests/engine/compute_type.rs` holds
    /// (bench/README.md).
    #[default]
    Int8,
}

/// Local transcription.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TranscriptionConfig {
    /// Upload a recording and its meeting is transcribed (per track) without being asked.
    pub auto: bool,
    pub default_provider: TranscriptionProvider,
    /// The local model: `tiny.en` (English only) or `base` (multilingual), in
    /// `DATA_DIR/models/whisper-<name>` (installed by `scripts/models.sh --model <name>`).
    pub model: LocalModel,
    /// A model folder of your own (faster-whisper/CTranslate2 or Hugging Face), instead of
    /// `model`'s.
    pub model_dir: Option<PathBuf>,
    /// 1 = greedy decoding; 5 = beam search as in the Whisper paper (slower, sometimes better).
    pub beam_size: u32,
    /// Skip silence before decoding (energy voice-activity detection).
    pub vad: bool,
    /// Serve the OpenAI-compatible `POST /v1/audio/transcriptions` (API keys with
    /// `transcribe`), backed by the local engine.
    pub openai_endpoint: bool,
    /// Requests of the OpenAI-compatible endpoint that may wait for the engine at once; more
    /// get 429.
    pub endpoint_queue: u32,
    /// `int8` (the default) or `f32`: how the local engine's linear layers compute.
    pub compute_type: ComputeType,
    /// Transcribe a bot's audio with the local engine while the meeting goes on: each finished
    /// utterance becomes a `live_segment` event on the meeting's stream (the final transcript
    /// is still made from the stored audio after the bot leaves).
    pub live: bool,
    /// Live inferences at once, on permits of their own: they never wait behind a job's
    /// (jobs instead pause between 30-second windows while live work is waiting).
    pub live_concurrency: u32,
}

impl Default for TranscriptionConfig {
    fn default() -> Self {
        Self {
            auto: true,
            default_provider: TranscriptionProvider::Local,
            model: LocalModel::TinyEn,
            model_dir: None,
            beam_size: 1,
            vad: true,
            openai_endpoint: true,
            endpoint_queue: 4,
            compute_type: ComputeType::Int8,
            live: true,
            live_concurrency: 1,
        }
    }
}

/// The durable job queue (transcription and, later, every background task).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JobsConfig {
    /// A worker holds a job this long without a heartbeat before another may take it over.
    pub lease_secs: u64,
    /// Attempts before a job is dead-lettered.
    pub max_attempts: u32,
    /// Retry delay: base × 2^(attempt−1), at most `backoff_max_secs`.
    pub backoff_base_secs: u64,
    pub backoff_max_secs: u64,
    /// How often an idle worker looks for due jobs (a new job on this instance wakes it at once).
    pub poll_interval_ms: u64,
    /// Transcription jobs run at once on this instance; each uses every core.
    pub transcription_concurrency: u32,
}

impl Default for JobsConfig {
    fn default() -> Self {
        Self {
            lease_secs: 30,
            max_attempts: 5,
            backoff_base_secs: 5,
            backoff_max_secs: 600,
            poll_interval_ms: 1000,
            transcription_concurrency: 1,
        }
    }
}

pub(crate) fn validate(
    recordings: &RecordingsConfig,
    transcription: &TranscriptionConfig,
    jobs: &JobsConfig,
) -> Result<(), ConfigError> {
    let invalid = |key: &str, message: &str| {
        Err(ConfigError::Invalid {
            key: key.to_owned(),
            message: message.to_owned(),
        })
    };
    if recordings.max_bytes == 0 || recordings.max_duration_secs == 0 {
        return invalid(
            "recordings.max_bytes",
            "max_bytes and max_duration_secs must be at least 1",
        );
    }
    if !matches!(transcription.beam_size, 1..=16) {
        return invalid("transcription.beam_size", "must be between 1 and 16");
    }
    if !matches!(transcription.live_concurrency, 1..=16) {
        return invalid("transcription.live_concurrency", "must be between 1 and 16");
    }
    if transcription.endpoint_queue == 0 {
        return invalid("transcription.endpoint_queue", "must be at least 1");
    }
    if jobs.lease_secs < 5 {
        return invalid("jobs.lease_secs", "must be at least 5");
    }
    if jobs.max_attempts == 0 || jobs.max_attempts > 100 {
        return invalid("jobs.max_attempts", "must be between 1 and 100");
    }
    if jobs.backoff_base_secs == 0 || jobs.backoff_max_secs < jobs.backoff_base_secs {
        return invalid(
            "jobs.backoff_base_secs",
            "must be at least 1 and at most jobs.backoff_max_secs",
        );
    }
    if jobs.poll_interval_ms < 10 {
        return invalid("jobs.poll_interval_ms", "must be at least 10");
    }
    if jobs.transcription_concurrency == 0 {
        return invalid("jobs.transcription_concurrency", "must be at least 1");
    }
    Ok(())
}

/// Where the server may connect on a user's behalf (a meeting's transcription provider; later
/// webhooks and the customer's bucket). Every such URL must be `https` to a host that resolves
/// only to public addresses, except the hosts listed here.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutboundConfig {
    /// Hosts (`host` or `host:port`) the operator trusts: users may point at them over plain
    /// `http` and on private addresses (an in-house Whisper server, say); and networks
    /// (`10.8.0.0/16`, `127.0.0.1/32`) whose addresses users may reach.
    pub allow_hosts: Vec<String>,
}

/// Webhook deliveries (`/api/v1/webhooks`): the retry schedule, when a failing endpoint is
/// disabled, and the dispatcher's pace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhooksConfig {
    /// Waits before each retry after the first, immediate attempt (milliseconds; ±10 % jitter).
    /// Default 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: eight attempts over about 28 hours.
    pub retry_delays_ms: Vec<u64>,
    /// An endpoint that has failed every attempt for this long is disabled (seconds; 5 days).
    pub disable_after_secs: u64,
    /// How long one attempt may take, connecting included (seconds).
    pub timeout_secs: u64,
    /// Endpoints delivered to at once by each instance (each endpoint in event order).
    pub concurrency: u32,
    /// How often the outbox is read for new events (milliseconds).
    pub poll_ms: u64,
    /// How long a rotated-out secret keeps signing beside the new one (seconds; 24 h).
    pub previous_secret_secs: u64,
    /// How long a finished delivery and its attempts stay in the log (seconds; 30 days).
    pub log_retention_secs: u64,
    /// How long a sender holds an endpoint between attempts (seconds): the longest a crashed
    /// instance's endpoint waits before another instance takes it over.
    pub lease_secs: u64,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        Self {
            retry_delays_ms: vec![
                5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000,
            ],
            disable_after_secs: 5 * 24 * 3600,
            timeout_secs: 15,
            concurrency: 4,
            poll_ms: 500,
            previous_secret_secs: 24 * 3600,
            log_retention_secs: 30 * 24 * 3600,
            lease_secs: 60,
        }
    }
}

/// The event outbox: every domain event, kept this long for event streams (and their resumes)
/// and later for webhooks; a sweeper deletes older ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EventsConfig {
    /// How long an event is kept (seconds; default 7 days).
    pub retention_secs: u64,
}

impl Default for EventsConfig {
    fn default() -> Self {
        Self {
            retention_secs: 7 * 24 * 3600,
        }
    }
}
