//! meetvault's Whisper engine: offline, CPU-only speech-to-text in pure Rust.
//!
//! # Pipeline
//!
//! 1. **Voice activity** (`vad`, on by default): an energy detector with hysteresis finds the
//!    speech regions (a region whose energy is steady — a fan, swelling room noise, a held chord
//!    — is not speech); long silences are cut out and the regions concatenated. A map from the
//!    concatenation back to the original audio turns every timestamp into original time.
//! 2. **Log-mel** (`mel`): 16 kHz PCM → 80 (or 128) mel bins every 10 ms, exactly as
//!    faster-whisper's front end (the audio and one hop of zeros, Hann window of 400, reflect
//!    padding, Slaney mel filters, `log10`, floor at max − 8, `(x + 4) / 4`). The last window's
//!    frames past the audio are zeros, as `pad_or_trim` pads them.
//! 3. **Encoder** (`model`): each 30-second window (3000 frames) → 1500 audio states.
//! 4. **Decoder** (`model`, `search`): tokens one at a time with a self-attention KV cache; the
//!    cross-attention keys and values are computed once per window. Greedy (`beam_size` 1, the
//!    default) or beam search as CTranslate2's (patience 1, length penalty 1). The logit rules
//!    (`logits`) are Whisper's: suppress blank at the start, the configuration's suppressed
//!    tokens, timestamps in pairs that never go back, the first timestamp within 1.0 s, and a
//!    timestamp whenever timestamps together outweigh any text token. The prompt is the start
//!    of transcript, after `<|startofprev|>` and the last 223 tokens of the previous windows'
//!    segments when conditioning on previous text.
//! 5. **Seeking** (`transcribe`): a window's consecutive timestamp pairs cut it into segments;
//!    the next window starts at the last timestamp (or after the window if it ended on a lone
//!    timestamp), so audio of any length is transcribed.
//! 6. **Fallback**: a window whose text is repetitive (zlib compression ratio above 2.4) or
//!    improbable (average log-probability below −1) is decoded again at the next temperature
//!    (0.2, 0.4, … 1.0, the likeliest of 5 samples); an improbable window whose `<|nospeech|>`
//!    probability exceeds 0.6 is silence: not retried, and skipped.
//!
//!    Steps 2–6 are faster-whisper's, decision for decision: the differential test
//!    (`tests/engine/parity.rs`) runs faster-whisper (CTranslate2, float32, greedy, no VAD) on
//!    the same recordings and requires every window's prompt and tokens to match, allowing only
//!    a choice between two tokens within rounding of a tie.
//! 7. **The hallucination gate** (`gate`): a piece of text with no word in it (`. .`, `♪`,
//!    `[Music]`) is dropped, and so is one from a window the model judged to have no speech
//!    but decoded confidently (the "you" Whisper writes on silence) unless the audio under it
//!    looks like speech to the energy detector. With the VAD and the no-speech rule, a minute of
//!    digital silence, room noise, fan noise or music-like tones yields no segment, with or
//!    without the VAD (`tests/engine/silence.rs`); the rule is spelled out in the module docs.
//! 8. **Word timestamps** (`align`, `words`; [`DecodeOptions::word_timestamps`], off by
//!    default): after a window is decoded, the decoder runs once more over the start sequence,
//!    `<|notimestamps|>`, the window's text tokens and `<|endoftext|>`, keeping the
//!    cross-attention scores of the checkpoint's alignment heads (`alignment_heads` in
//!    CTranslate2's `config.json` or Hugging Face's `generation_config.json`; else every head of
//!    the second half of the decoder). Each head's attention over the window's frames is
//!    softmaxed, standardised over the tokens, median filtered along time (width 7) and
//!    averaged; dynamic time warping on the negated matrix gives each token the 20-ms step
//!    where the path reaches it. Tokens are grouped into words (at spaces; at complete
//!    characters for Chinese, Japanese, Thai, Lao, Burmese and Cantonese), punctuation joins
//!    its neighbour, and faster-whisper's duration heuristics cut words that swallow a pause.
//!    A word's probability is the mean of its tokens'. Segment boundaries then follow the
//!    words, and the next window starts after the last word, as in faster-whisper: the
//!    differential test (`tests/engine/words.rs`) holds every word's text and times to
//!    faster-whisper's `word_timestamps=True`, and a ground-truth test on words spoken one by
//!    one by espeak-ng (so their starts are known to the sample) bounds the median start error.
//! 9. **Language and task**: English-only checkpoints (`*.en`) always transcribe English.
//!    Multilingual checkpoints (Whisper base, installed by `scripts/models.sh --model base`)
//!    use the given language or detect it from the first window (a softmax over the language
//!    tokens at the start-of-transcript position, as CTranslate2's `detect_language`), or —
//!    with [`DecodeOptions::multilingual`] — again in every window, for a speaker who switches;
//!    each [`Segment`] carries its window's language. The start sequence is
//!    `<|startoftranscript|><|lang|><|transcribe|>`, or `<|translate|>` for English text from
//!    any language ([`Task::Translate`]).
//! 10. **Initial prompt**: [`DecodeOptions::initial_prompt`] (names and jargon: a glossary) is
//!     encoded by our byte-level BPE (`bpe`: GPT-2's pre-tokenizer and `tokenizer.json`'s merges)
//!     as `" " + prompt.trim()` and stands before the first window as previous text, as
//!     faster-whisper's; at most [`MAX_PROMPT_TOKENS`].
//!
//!    The differential tests hold all of this to faster-whisper on the real base model
//!    (`tests/engine/parity_base.rs`): English and German windows token for token, the language
//!    probabilities, translation, a prompt, per-window detection, and the BPE's tokens on mixed
//!    scripts against the `tokenizers` library faster-whisper runs. espeak-ng's German, French,
//!    Spanish and Italian (`tests/engine/multilingual.rs`) are detected right; their word error
//!    rates on base are high (espeak-ng is hard for a small model) and bounded as measured.
//!
//! # Checkpoints
//!
//! [`Model::load`] reads either a **CTranslate2** (faster-whisper) directory — `model.bin`,
//! `config.json`, `tokenizer.json` or `vocabulary.txt` — with our own bounds-checked parser of
//! `model.bin` (binary versions 1–6; float32, float16, bfloat16, and int8/int16 with their scales),
//! or a **Hugging Face** directory — `model.safetensors`, `config.json`, `tokenizer.json` — read
//! into memory (no mmap, which would need `unsafe`). [`inspect`] reads only headers and
//! configuration. Files are read whole; nothing is fetched from the network.
//!
//! # Why candle
//!
//! candle (`candle-core`, `candle-nn`) is pure Rust: no C++ toolchain, no BLAS, nothing to
//! download at build time, and its `gemm` kernels are fast on x86-64 and ARM (this crate turns
//! on `gemm`'s `x86-v4` feature: its AVX-512 kernels, chosen at run time where the CPU has
//! them). whisper.cpp was the alternative; on these 2-core machines its thread pool was
//! pathological. `candle-nn` is used only for layer norm. Softmax and exact GELU are our own
//! kernels (`kernels`): candle's were a third of the encoder's time.
//!
//! # Compute types
//!
//! [`Precision::Int8`] (the server's and the CLI's default since it beat faster-whisper int8 in
//! every bench row; `--compute-type f32`, `transcription.compute_type = "f32"` for f32, which
//! [`Model::load`] keeps as the library default because the differential tests against
//! faster-whisper float32 hold it: bench/README.md) quantises the decoder's linear layers
//! and the output projection at load to int8 with one scale per output channel (`int8`); each
//! product quantises its input rows on the fly and runs integer dot products: AVX-512 VNNI
//! where the CPU has it (`int8::vnni`, below), else AVX2 (detected at run time through
//! `pulp`'s safe intrinsics), portable Rust elsewhere — the same integers and the same f32
//! results on every path (unit tests run every path the machine has against the scalar one).
//! The token embeddings keep the checkpoint's values (f16 as stored, rows converted exactly
//! when looked up): read from the int8 projection they are tied to, they garbled a sentence of
//! the long fixture. Weights are quantised from f16 a row at a time and `model.bin` is read a
//! tensor at a time, so a load never holds a whole f32 copy of a matrix or the file at once. The decoder's
//! token-by-token products stream their weights, so a quarter of the bytes is most of the gain.
//! The encoder's products over a window's 1500 frames are int8 too where the CPU has AVX-512
//! VNNI (`vpdpbusd`: 64 multiply-adds per instruction; `int8::vnni`, weights quantised at load
//! straight into panels of 64 channels, register tiles of up to 6 rows × 64 channels): about
//! 3× the throughput of `gemm`'s f32 kernels on base's 1500 × 512 · 512 × 2048 product. The
//! decoder's few rows use the same panels, split across threads by panel. Without VNNI
//! they stay f32, which over many rows beats the AVX2 int8 dot products. The cross-attention
//! keys and values stay f32 in both compute types (int8, they changed words of a fixture).
//! [`Precision::F32`] keeps everything f32; it is what the differential test holds to
//! faster-whisper float32's tokens. On the speech fixtures the two compute types write the
//! same words (`tests/engine/compute_type.rs`).
//!
//! # Performance (tiny.en, 2 cores, 53 s of speech, greedy, no VAD)
//!
//! About 3.3 s wall (16× real time), against 2.0 s for faster-whisper `int8` on the same model
//! and threads. The encoder (about 0.8 s per 30-s window, mostly the 1500 × 1500 attention) is
//! the largest cost. Its attention runs one head at a time (9 MB of scores, not 54 MB: half the
//! page faults); the decoder's few-row products (beams) are computed as `(W xᵀ)ᵀ`, which spares
//! `gemm` repacking the 80 MB output projection on every step. Measured and not kept: a
//! hand-written few-row product and a fused attention in safe Rust (built for baseline x86-64,
//! SSE2 without FMA, they lose to `gemm`'s runtime-dispatched AVX2 kernels), pre-transposed
//! weights, threads for the beams' logit rules, parallel f16 → f32 conversion at load. Outside
//! this crate: candle asks `num_cpus::get_physical()` — a read of `/proc/cpuinfo` — on every
//! matrix product unless `RAYON_NUM_THREADS` is set, about 10% of greedy wall time here.
//!
//! Since: `gemm`'s AVX-512 kernels (10–20 % less CPU), and int8 decoder products (about 25 %
//! less CPU greedy, 44 % at beam 5): on a 58-s file about 4.4 s of CPU greedy and 5.8 s at
//! beam 5, against 3.2 s and 4.2 s for faster-whisper `int8` (bench/README.md; measured on a
//! shared machine, so in CPU seconds rather than wall time). Measured and not kept: int8 for
//! the encoder's 1500-row products with AVX2 (7.2 s of CPU against 4.5 s). Since then: AVX-512
//! VNNI for them (`int8::vnni`, the workspace's one module allowed `unsafe`: a single call into
//! code compiled for the instructions after the run-time check; `pulp` has no VNNI intrinsic).
//! Checkpoint tensors stored in f16 stay f16 until a layer takes them, so a load never holds
//! the model in f32 at once (base int8: peak RSS 441 → 352 MB).

mod align;
mod bpe;
mod checkpoint;
#[doc(hidden)]
pub mod ct2;
mod error;
mod gate;
mod hf;
mod int8;
mod kernels;
mod logits;
mod mel;
mod model;
mod nn;
mod search;
#[cfg(test)]
mod testing;
mod tokenizer;
mod transcribe;
mod vad;
mod words;

use std::ops::ControlFlow;
use std::path::Path;

use candle_core::Device;

pub use checkpoint::{ModelFile, ModelFormat, ModelInfo};
pub use error::WhisperError;
#[doc(hidden)]
pub use hf::write_hf_checkpoint;
pub use nn::Precision;
/// The energy detector's measures, for callers that find speech in audio as it arrives (a
/// bot's live transcription): 30-ms frame energies in dBFS and their spread.
pub use vad::{FRAME_SAMPLES, MIN_REGION_SPREAD_DB, frame_energies, spread_db};

use checkpoint::{Dims, Suppression};
use logits::LogitRules;
use mel::MelFrontEnd;
use model::{CrossKv, Decoder, Encoder, KvCache};
use tokenizer::Tokenizer;

/// Samples per second the engine expects (mono, f32 in −1..1).
pub const SAMPLE_RATE: usize = mel::SAMPLE_RATE;

/// A loaded Whisper model. `Send + Sync`: share it behind an `Arc`; each `transcribe` call keeps
/// its own state.
pub struct Model {
    info: ModelInfo,
    dims: Dims,
    device: Device,
    front: MelFrontEnd,
    encoder: Encoder,
    decoder: Decoder,
    tokenizer: Tokenizer,
    rules: LogitRules,
    precision: Precision,
    alignment_heads: Vec<(usize, usize)>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("info", &self.info)
            .field("precision", &self.precision)
            .finish()
    }
}

/// How to decode.
#[derive(Debug, Clone)]
pub struct DecodeOptions {
    /// Language code (`en`, `de`, …); `None` detects it (multilingual models) or means English.
    pub language: Option<String>,
    /// Beams for decoding at temperature 0; 1 (the default) is greedy, about 3× faster than 5 at
    /// nearly the same accuracy on clear speech.
    pub beam_size: usize,
    /// Temperatures tried in turn when a window's decoding fails the thresholds.
    pub temperatures: Vec<f32>,
    /// Candidates sampled at each temperature above 0; the likeliest is kept (5).
    pub best_of: usize,
    /// Above this zlib compression ratio a window's text counts as repetitive (2.4).
    pub compression_ratio_threshold: Option<f32>,
    /// Below this average log-probability a window's text counts as improbable (−1.0).
    pub logprob_threshold: Option<f32>,
    /// Above this `<|nospeech|>` probability (and with an improbable decoding) a window is
    /// silence (0.6).
    pub no_speech_threshold: Option<f32>,
    /// Cut long silences out before decoding (energy VAD; see the crate docs).
    pub vad: bool,
    /// Prompt each window with the previous windows' text (more consistent, but a hallucination
    /// can propagate; the prompt is dropped after a window decoded above temperature 0.5).
    /// Default `false`; faster-whisper's `condition_on_previous_text` default is `true`. On a
    /// held-out 106-s recording it helped beam search without the VAD (10.4 % → 6.5 % WER) and
    /// hurt it with the VAD (9.5 % → 11.4 %), and twice added a closing "Bye." or "Thank you." on
    /// the quiet ending (bench/README.md): meeting audio is long and a loop must not propagate.
    pub condition_on_previous_text: bool,
    /// Transcribe in the spoken language, or translate into English (multilingual models).
    pub task: Task,
    /// Text that precedes the first window, as if it had been said before (faster-whisper's
    /// `initial_prompt`): names and jargon spelled the way the transcript should spell them.
    /// Encoded as `" " + prompt.trim()`; at most [`MAX_PROMPT_TOKENS`] tokens.
    pub initial_prompt: Option<String>,
    /// Without a given `language`, detect it again in every 30-second window rather than once
    /// (faster-whisper's `multilingual`): for a speaker who switches language. Each segment
    /// carries its window's language.
    pub multilingual: bool,
    /// Time every word ([`Segment::words`]) from the cross-attention of the checkpoint's
    /// alignment heads (see the crate docs). Off by default: it costs one more decoder pass per
    /// window, and segment boundaries then follow the words, as faster-whisper's.
    pub word_timestamps: bool,
}

/// What the decoder writes: the spoken language's text, or its English translation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    /// Text in the language spoken.
    #[default]
    Transcribe,
    /// English text, whatever the language spoken (multilingual models only).
    Translate,
}

/// The most tokens of prompt a window can take (half the decoder's 448-token context, less the
/// `<|startofprev|>` token): a longer `initial_prompt` is refused rather than cut.
pub const MAX_PROMPT_TOKENS: usize = 223;

impl Default for DecodeOptions {
    fn default() -> Self {
        Self {
            language: None,
            beam_size: 1,
            temperatures: vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0],
            best_of: 5,
            compression_ratio_threshold: Some(2.4),
            logprob_threshold: Some(-1.0),
            no_speech_threshold: Some(0.6),
            vad: true,
            condition_on_previous_text: false,
            task: Task::Transcribe,
            initial_prompt: None,
            multilingual: false,
            word_timestamps: false,
        }
    }
}

/// One transcribed stretch of speech; times are seconds in the original audio.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Segment {
    /// Start time.
    pub start: f64,
    /// End time (≥ start, ≤ the audio's duration).
    pub end: f64,
    /// The text, trimmed, with no special tokens.
    pub text: String,
    /// Average log-probability of the window's tokens.
    pub avg_logprob: f32,
    /// Probability that the window had no speech.
    pub no_speech_prob: f32,
    /// The language spoken in the segment's window: the given one, the one detected once, or,
    /// with [`DecodeOptions::multilingual`], the window's own.
    pub language: String,
    /// The segment's words, when [`DecodeOptions::word_timestamps`] asked for them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub words: Vec<Word>,
}

/// One word of a segment, timed by aligning the decoder's cross-attention with the audio.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Word {
    /// The word as decoded, with its leading space and attached punctuation: a segment's words
    /// put together are its text.
    pub text: String,
    /// Start, seconds in the original audio.
    pub start: f64,
    /// End (≥ start).
    pub end: f64,
    /// Mean probability of the word's tokens.
    pub probability: f32,
}

/// A whole transcription.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Transcript {
    /// Language code.
    pub language: String,
    /// Audio duration in seconds.
    pub duration: f64,
    /// Segments in time order, non-overlapping.
    pub segments: Vec<Segment>,
}

/// One 30-second window as the decoder saw it: what [`Model::transcribe_traced`] reports, to
/// compare engines window by window (faster-whisper's `generate_with_fallback` sees the same).
#[derive(Debug, Clone, serde::Serialize)]
pub struct WindowTrace {
    /// First mel frame of the window (10 ms each) in the audio the decoder saw (after the VAD).
    pub seek: usize,
    /// The prompt: `<|startofprev|>` and the previous text when conditioning, then the start
    /// sequence.
    pub prompt: Vec<u32>,
    /// The tokens decoded (the result kept after any temperature fallback), end-of-text excluded.
    pub tokens: Vec<u32>,
    /// Their average log-probability.
    pub avg_logprob: f32,
    /// Probability of `<|nospeech|>` at the start-of-transcript position.
    pub no_speech_prob: f32,
    /// The temperature reported for the window (the last one tried when every one failed).
    pub temperature: f32,
}

/// What `transcribe` reports while it works; answer `ControlFlow::Break(())` to cancel.
#[derive(Debug)]
pub enum Progress<'a> {
    /// A new segment.
    Segment(&'a Segment),
    /// Audio up to `done_secs` (of `total_secs`) has been processed.
    Advanced {
        /// Seconds of the original audio done.
        done_secs: f64,
        /// Duration of the audio.
        total_secs: f64,
    },
}

/// Describe the checkpoint in `dir` without loading its weights.
pub fn inspect(dir: &Path) -> Result<ModelInfo, WhisperError> {
    match checkpoint::detect(dir)? {
        ModelFormat::Ctranslate2 => checkpoint::inspect_ct2(dir),
        ModelFormat::HuggingFace => hf::inspect_hf(dir),
    }
}

/// The languages the checkpoint in `dir` transcribes, as its vocabulary lists them (`en`
/// alone for an English-only model), without loading its weights.
pub fn languages(dir: &Path) -> Result<Vec<String>, WhisperError> {
    let info = inspect(dir)?;
    if !info.multilingual {
        return Ok(vec!["en".to_owned()]);
    }
    let tokenizer = Tokenizer::load(dir, info.n_vocab)?;
    Ok(tokenizer
        .special
        .languages
        .into_iter()
        .map(|(_, code)| code)
        .collect())
}

impl Model {
    /// Load the checkpoint in `dir` (CTranslate2 or Hugging Face, detected), with f32 linear
    /// layers ([`Precision::F32`]: what the differential tests hold; the server and the CLI
    /// default to the faster `int8`, see the crate docs).
    pub fn load(dir: &Path) -> Result<Model, WhisperError> {
        Self::load_with_precision(dir, Precision::F32)
    }

    /// Load with linear layers in `precision`.
    pub fn load_with_precision(dir: &Path, precision: Precision) -> Result<Model, WhisperError> {
        let device = Device::Cpu;
        let ckpt = match checkpoint::detect(dir)? {
            ModelFormat::Ctranslate2 => checkpoint::load_ct2(dir, &device)?,
            ModelFormat::HuggingFace => hf::load_hf(dir, &device)?,
        };
        let dims = ckpt.dims;
        let tokenizer = Tokenizer::load(dir, dims.n_vocab)?;
        let weights = nn::Weights::new(ckpt.tensors, precision);
        let encoder = Encoder::load(&weights, &dims)?;
        let decoder = Decoder::load(&weights, &dims)?;
        let suppress = if ckpt.suppress.always.is_empty() {
            default_suppression(&tokenizer)
        } else {
            ckpt.suppress
        };
        let rules = LogitRules::new(&tokenizer.special, &suppress);
        let front = MelFrontEnd::new(dims.n_mels, &device)?;
        let alignment_heads = align::alignment_heads(dir, &dims)?;
        Ok(Model {
            info: ckpt.info,
            dims,
            device,
            front,
            encoder,
            decoder,
            tokenizer,
            rules,
            precision,
            alignment_heads,
        })
    }

    /// What was loaded.
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// The language codes the model knows (`en`, `zh`, `de`, …); only `en` for English-only
    /// checkpoints.
    pub fn languages(&self) -> Vec<&str> {
        if self.dims.multilingual() {
            self.tokenizer
                .special
                .languages
                .iter()
                .map(|(_, c)| c.as_str())
                .collect()
        } else {
            vec!["en"]
        }
    }

    /// The tokens an `initial_prompt` becomes (`" " + text.trim()`, as faster-whisper), or
    /// [`WhisperError::Options`] when they are more than [`MAX_PROMPT_TOKENS`].
    pub fn prompt_tokens(&self, text: &str) -> Result<Vec<u32>, WhisperError> {
        let tokens = self.tokenizer.encode(&format!(" {}", text.trim()))?;
        if tokens.len() > MAX_PROMPT_TOKENS {
            return Err(WhisperError::Options(format!(
                "the initial prompt is {} tokens; at most {MAX_PROMPT_TOKENS} fit in a window's \
                 prompt: shorten it",
                tokens.len()
            )));
        }
        Ok(tokens)
    }

    /// The probability of each language in the first 30 seconds of 16 kHz mono PCM, likeliest
    /// first (the detection `transcribe` runs when no language is given). English-only models
    /// answer `en` with certainty.
    pub fn detect_language(
        &self,
        pcm_16k_mono: &[f32],
    ) -> Result<Vec<(String, f32)>, WhisperError> {
        if !self.dims.multilingual() {
            return Ok(vec![("en".to_owned(), 1.0)]);
        }
        let mel = self.front.compute(pcm_16k_mono)?;
        let len = mel.content_frames.min(mel::N_FRAMES);
        let window = mel.window(0, len, &self.device)?;
        let cross = self.decoder.cross_kv(&self.encoder.forward(&window)?)?;
        let mut probs = self.language_probabilities(&cross)?;
        probs.sort_by(|a, b| b.1.total_cmp(&a.1));
        Ok(probs)
    }

    /// Transcribe 16 kHz mono PCM. `on_progress` sees every segment as it is found and the
    /// progress after each window; returning `Break` stops with [`WhisperError::Cancelled`].
    pub fn transcribe(
        &self,
        pcm_16k_mono: &[f32],
        opts: &DecodeOptions,
        on_progress: &mut dyn FnMut(Progress<'_>) -> ControlFlow<()>,
    ) -> Result<Transcript, WhisperError> {
        transcribe::run(self, pcm_16k_mono, opts, on_progress, &mut |_| {})
    }

    /// [`Model::transcribe`], also reporting every window decoded (including windows then
    /// skipped as silence) to `on_window`: for comparing engines and debugging.
    pub fn transcribe_traced(
        &self,
        pcm_16k_mono: &[f32],
        opts: &DecodeOptions,
        on_window: &mut dyn FnMut(WindowTrace),
    ) -> Result<Transcript, WhisperError> {
        transcribe::run(
            self,
            pcm_16k_mono,
            opts,
            &mut |_| ControlFlow::Continue(()),
            on_window,
        )
    }

    /// The normalised log-mel features of 16 kHz mono PCM, frame-major (`frames × n_mels`), and
    /// the number of bins: the encoder's input, for comparing front ends.
    #[doc(hidden)]
    pub fn log_mel(&self, pcm_16k_mono: &[f32]) -> Result<(Vec<f32>, usize), WhisperError> {
        let mel = self.front.compute(pcm_16k_mono)?;
        Ok((mel.data, mel.n_mels))
    }

    /// The log-probabilities of the token after `prompt` + `tokens` in the window of `pcm`
    /// starting at mel frame `seek`, under the logit rules (−∞ where a rule forbids): what the
    /// decoder weighed where two engines chose differently.
    #[doc(hidden)]
    pub fn next_token_logprobs(
        &self,
        pcm_16k_mono: &[f32],
        seek: usize,
        prompt: &[u32],
        tokens: &[u32],
    ) -> Result<Vec<f32>, WhisperError> {
        let mel = self.front.compute(pcm_16k_mono)?;
        let len = mel.content_frames.saturating_sub(seek).min(mel::N_FRAMES);
        let window = mel.window(seek, len, &self.device)?;
        let cross = self.decoder.cross_kv(&self.encoder.forward(&window)?)?;
        let mut input = prompt.to_vec();
        input.extend_from_slice(tokens);
        let hidden = self.decoder.forward(
            std::slice::from_ref(&input),
            &cross,
            &mut KvCache::default(),
        )?;
        let mut logits = self
            .decoder
            .logits_at(&hidden, input.len().saturating_sub(1))?
            .pop()
            .unwrap_or_default();
        self.rules.apply(&mut logits, tokens);
        Ok(logits::log_softmax(&logits))
    }

    /// `<|endoftext|>`'s id.
    #[doc(hidden)]
    pub fn end_of_text(&self) -> u32 {
        self.tokenizer.special.eot
    }

    /// How `ids` read: text tokens as their text, timestamps as `<|1.23|>`, other special tokens
    /// as `<|id|>`; for printing token sequences.
    #[doc(hidden)]
    pub fn token_strings(&self, ids: &[u32]) -> Vec<String> {
        let special = &self.tokenizer.special;
        ids.iter()
            .map(|&id| {
                if id >= special.timestamp_begin {
                    format!("<|{:.2}|>", f64::from(id - special.timestamp_begin) * 0.02)
                } else if id >= special.eot {
                    format!("<|{id}|>")
                } else {
                    self.tokenizer.decode(&[id])
                }
            })
            .collect()
    }

    /// The logits at the start-of-transcript position of an encoded window.
    fn sot_logits(&self, cross: &CrossKv) -> Result<Vec<f32>, WhisperError> {
        let mut cache = KvCache::default();
        let hidden =
            self.decoder
                .forward(&[vec![self.tokenizer.special.sot]], cross, &mut cache)?;
        Ok(self
            .decoder
            .logits_at(&hidden, 0)?
            .pop()
            .unwrap_or_default())
    }

    /// The probability of each language in an encoded window, in token order.
    fn language_probabilities(&self, cross: &CrossKv) -> Result<Vec<(String, f32)>, WhisperError> {
        let logits = self.sot_logits(cross)?;
        Ok(logits::language_probabilities(
            &logits,
            &self.tokenizer.special.languages,
        ))
    }

    /// The likeliest language of an encoded window (multilingual models).
    fn window_language(&self, cross: &CrossKv) -> Result<String, WhisperError> {
        let logits = self.sot_logits(cross)?;
        Ok(
            logits::detect_language(&logits, &self.tokenizer.special.languages)
                .map_or_else(|| "en".to_owned(), |(code, _)| code),
        )
    }
}

/// Without a configured list: suppress blank and end-of-text at the start, nothing else beyond
/// the special tokens (which the rules always suppress).
fn default_suppression(tokenizer: &Tokenizer) -> Suppression {
    let mut at_begin = vec![tokenizer.special.eot];
    at_begin.extend(tokenizer.id_of("Ġ"));
    Suppression {
        always: Vec::new(),
        at_begin,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn model_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<super::Model>();
    }
}
