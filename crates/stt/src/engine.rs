//! The [`Engine`] trait every transcription engine implements (the remote providers here, the
//! local Whisper engine elsewhere), and the per-request options.

use bytes::Bytes;

use crate::{RawSegment, SttError};

/// Per-request transcription options. An engine ignores what it cannot use (see each engine).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// The spoken language as an ISO 639-1 code (`en`); `None` lets the engine detect it.
    pub language: Option<String>,
    /// Text that primes the engine's vocabulary and style (names, jargon).
    pub prompt: Option<String>,
    /// Beam search width, for engines that decode locally.
    pub beam_size: Option<usize>,
    /// Time each word (`RawSegment::words`); a segment's words are dropped otherwise.
    pub word_timestamps: bool,
}

/// A transcription engine: turns one track of audio into timed segments.
#[async_trait::async_trait]
pub trait Engine: Send + Sync {
    /// A short, stable name for logs and errors (`openai-compatible`, `deepgram`, `whisper`).
    fn name(&self) -> &str;

    /// Transcribes `wav_16k`, a 16 kHz mono 16-bit PCM WAV file, and returns the language the
    /// engine detected (or was told) and the segments, timed from the start of the audio.
    async fn transcribe(
        &self,
        wav_16k: Bytes,
        req: &Request,
    ) -> Result<(Option<String>, Vec<RawSegment>), SttError>;
}
