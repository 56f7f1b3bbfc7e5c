//! Decodes uploaded meeting recordings to 16 kHz mono `f32` PCM, in process, with strict
//! validation. Must never: panic on any input, hold a whole recording in memory on the streaming
//! path, allocate in proportion to a header field, or put file bytes in an error message.
//!
//! # Pipeline
//!
//! 1. **Sniff** ([`sniff`](crate)): the first 512 bytes reject an empty file, and name common
//!    non-audio files (PNG, JPEG, PDF, ZIP, text, …) instead of calling them "unrecognised".
//! 2. **Probe**: symphonia identifies the container *from its content*. The [`Hint`] (extension,
//!    MIME type) only orders the guesses, so MP3 bytes named `.wav` still decode, and a file that
//!    is no supported container is rejected whatever its name.
//! 3. **Track**: the first audio track is decoded; a file with only video (or nothing) is
//!    [`AudioError::NoAudioTrack`].
//! 4. **Decode**, packet by packet: symphonia's decoders for PCM (WAV), FLAC, MP3, AAC (M4A/MP4
//!    and ADTS) and Vorbis (Ogg, WebM); libopus for Opus in Ogg or WebM/Matroska (symphonia has
//!    none), at 48 kHz, dropping the `OpusHead` pre-skip and the container's end trim.
//! 5. **Downmix and resample**: channels are averaged to mono, then resampled to
//!    [`SAMPLE_RATE`] and pushed to the caller's sink one packet's worth at a time.
//!
//! Memory is bounded by one packet, the resampler's short history and the demuxer's own state;
//! a multi-hour recording streams through. [`decode_to_vec`] collects the output, which is
//! bounded by [`Limits::max_duration_secs`]. A recording still being written (a browser's
//! chunks, uploaded as they are recorded) is decoded as it grows through [`growing`].
//!
//! # Validation
//!
//! - **Empty**: 0 bytes is [`AudioError::Empty`]; a valid header with no samples is
//!   [`AudioError::NoSamples`] (both `audio_empty`).
//! - **Lying or truncated**: the duration the container declares (WAV's data size, FLAC's
//!   STREAMINFO, MP3's Xing/Info frame count, MP4's sample tables, Ogg's final granule) is compared
//!   with what actually decodes; more than 0.25 s (or 1 %) short is [`AudioError::Truncated`],
//!   naming both durations. A header declaring more than the limit is `TooLong` at once — unless
//!   it is PCM and the file's size cannot hold what it declares (a WAV claiming 10 hours with a
//!   1-second body), which is `Truncated` without decoding. Malformed container data part-way
//!   through (a cut MP4's sample table pointing past the end) is also `Truncated` when the decoded
//!   duration falls short of the declared one, else `Corrupt`. A file that stops in the middle of
//!   a container block (a cut Ogg page) is [`AudioError::EndsMidStream`] — except a WebM written
//!   live (a browser's MediaRecorder: unknown sizes, no duration), which ends that way by design.
//! - **Damaged headers**: when no reader accepts a file whose first bytes are a supported
//!   container's (an MP4 whose `moov` index is missing, an ID3 tag with no MP3 frames after it),
//!   the error is `Corrupt` and says it is probably truncated, not "unsupported".
//! - **Corrupt**: malformed headers, more than 3 undecodable packets (a few isolated damaged
//!   frames are skipped), or a FLAC whose MD5 does not match its audio.
//! - **Too long**: decoding stops with [`AudioError::TooLong`] as soon as the decoded duration
//!   passes the limit.
//!
//! On any error the sink may already have received samples: discard them. A panic inside a
//! decoder (a dependency's bug on hostile input) is caught and reported as `Corrupt`.
//!
//! # Known limits
//!
//! - Symphonia does not read MP4 edit lists, so AAC in M4A keeps its encoder priming (1024
//!   frames: 21–46 ms of near-silence at the start); trailing padding is cut at the declared
//!   frame count.
//! - A truncated file that declares no length and ends on a block boundary (a live WebM, an MP3
//!   without a Xing/Info header) cannot be told from a complete one: it decodes as a shorter
//!   recording.
//! - An MP4 whose index (`moov`) is at the end needs a seekable source.
//!
//! # Resampler
//!
//! Our own streaming windowed-sinc resampler (`resample.rs`): Kaiser window (β = 8, about 80 dB
//! rejection), 24 zero crossings, cut-off at 92 % of 8 kHz, any input rate, exact integer timing,
//! constant memory. It is ~150 lines against `rubato`'s tree of adapter crates and a proc-macro,
//! and it is tested for level, alias rejection, exact length and chunking invariance.

mod error;
mod growing;
mod media_type;
mod mono;
mod opus;
mod pipeline;
mod resample;
mod sniff;
mod wav;

use std::panic::AssertUnwindSafe;
use std::path::Path;

pub use error::AudioError;
pub use growing::{Feeder, GrowingSource, Stopper, growing};
pub use media_type::{MediaType, OCTET_STREAM};
pub use resample::Resampler;
pub use symphonia::core::io::{MediaSource, ReadOnlySource};
pub use wav::encode_wav_16k;

/// The output sample rate, in Hz: what Whisper and the transcription providers take.
pub const SAMPLE_RATE: u32 = 16_000;

/// Bounds on what a decode accepts.
#[derive(Debug, Clone)]
pub struct Limits {
    /// The longest recording accepted, in seconds (declared or decoded).
    pub max_duration_secs: f64,
}

/// What the container's name or the upload says the file is. Only a hint: the content decides.
#[derive(Debug, Clone, Default)]
pub struct Hint {
    /// A file extension, with or without the dot (`wav`, `.m4a`).
    pub extension: Option<String>,
    /// A MIME type (`audio/ogg`).
    pub mime: Option<String>,
}

impl Hint {
    /// The hint a path's extension gives.
    pub fn from_path(path: &Path) -> Self {
        Hint {
            extension: path.extension().and_then(|e| e.to_str()).map(str::to_owned),
            mime: None,
        }
    }
}

/// What was decoded.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AudioInfo {
    /// The container's short name (`wave`, `flac`, `mp3`, `aac` for ADTS, `isomp4`, `ogg`, `matroska`).
    pub container: String,
    /// The codec's short name (`pcm_s16le`, `flac`, `mp3`, `aac`, `vorbis`, `opus`, …).
    pub codec: String,
    /// The rate the audio was decoded at (48 000 for Opus).
    pub source_sample_rate: u32,
    /// The source's channel count, before the downmix.
    pub channels: u16,
    /// The decoded duration, in seconds.
    pub duration_secs: f64,
}

impl AudioInfo {
    /// The media type the decoded container is stored and served as.
    pub fn media_type(&self) -> MediaType {
        MediaType::of_container(&self.container)
    }
}

/// Decodes `source` to 16 kHz mono, pushing chunks to `sink` as they are ready.
///
/// The source is read once, front to back (seeks happen only if it is seekable, e.g. to read
/// an MP4 index at its end). On error, discard whatever the sink received.
pub fn decode<S: MediaSource + 'static>(
    source: S,
    hint: &Hint,
    limits: &Limits,
    sink: &mut dyn FnMut(&[f32]),
) -> Result<AudioInfo, AudioError> {
    // A decoder panic on hostile input must not take the worker down: it becomes `Corrupt`.
    // A panic in the caller's sink is the caller's, and is resumed as it was.
    let mut sink_panic = None;
    let result = {
        let mut guarded = |chunk: &[f32]| {
            if sink_panic.is_none() {
                let call = std::panic::catch_unwind(AssertUnwindSafe(|| sink(chunk)));
                sink_panic = call.err();
            }
        };
        std::panic::catch_unwind(AssertUnwindSafe(|| {
            pipeline::run(Box::new(source), hint, limits, &mut guarded)
        }))
    };
    if let Some(payload) = sink_panic {
        std::panic::resume_unwind(payload);
    }
    result.unwrap_or_else(|_| Err(AudioError::corrupt("the decoder failed on malformed data")))
}

/// Decodes `source` to 16 kHz mono samples in memory.
pub fn decode_to_vec<S: MediaSource + 'static>(
    source: S,
    hint: &Hint,
    limits: &Limits,
) -> Result<(Vec<f32>, AudioInfo), AudioError> {
    let mut samples = Vec::new();
    let info = decode(source, hint, limits, &mut |chunk| {
        samples.extend_from_slice(chunk)
    })?;
    Ok((samples, info))
}

/// Decodes the file at `path`, hinted by its extension.
pub fn decode_file(path: &Path, limits: &Limits) -> Result<(Vec<f32>, AudioInfo), AudioError> {
    let file = std::fs::File::open(path).map_err(AudioError::Io)?;
    decode_to_vec(file, &Hint::from_path(path), limits)
}
