//! The one error type of the Whisper engine: what went wrong, in the engine's own terms.

use std::path::PathBuf;

/// Everything that can go wrong while loading a model or transcribing audio.
#[derive(Debug, thiserror::Error)]
pub enum WhisperError {
    /// The directory holds neither a CTranslate2 (`model.bin`) nor a Hugging Face
    /// (`model.safetensors` + `config.json`) checkpoint.
    #[error(
        "no Whisper model found in {dir}: expected model.bin (CTranslate2) or model.safetensors + config.json (Hugging Face)"
    )]
    ModelNotFound {
        /// The directory that was searched.
        dir: PathBuf,
    },
    /// A model file could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file being read.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A model file is malformed, truncated or inconsistent; the message names the file and the
    /// offending field.
    #[error("invalid model: {0}")]
    ModelFormat(String),
    /// The tokenizer (`tokenizer.json` / `vocabulary.txt`) is missing or malformed.
    #[error("invalid tokenizer: {0}")]
    Tokenizer(String),
    /// The audio cannot be transcribed (for example it is not finite after sanitising).
    #[error("invalid audio: {0}")]
    Audio(String),
    /// The requested language is not one the model knows.
    #[error("unknown language {0:?} for this model")]
    UnknownLanguage(String),
    /// The decoding options are inconsistent (for example a beam size of 0).
    #[error("invalid decode options: {0}")]
    Options(String),
    /// The caller's progress callback asked to stop.
    #[error("transcription cancelled")]
    Cancelled,
    /// The tensor backend failed (shape mismatch, allocation failure); a bug or a corrupt model.
    #[error("inference failed: {0}")]
    Inference(#[from] candle_core::Error),
}

/// Shorthand used throughout the crate.
pub type Result<T, E = WhisperError> = std::result::Result<T, E>;
