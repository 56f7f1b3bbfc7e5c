//! The crate's error: what failed, in words an operator can act on. Never carries content.

use std::path::PathBuf;

/// Why a model could not be loaded or run.
#[derive(Debug, thiserror::Error)]
pub enum IntelError {
    #[error("cannot read {path}: {source} (install the model with scripts/models.sh)")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the model in {path} is not usable: {reason}")]
    Model { path: PathBuf, reason: String },
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("inference failed: {0}")]
    Inference(String),
    #[error("{0}")]
    Input(String),
}

impl From<candle_core::Error> for IntelError {
    fn from(e: candle_core::Error) -> Self {
        IntelError::Inference(e.to_string())
    }
}

pub type Result<T, E = IntelError> = std::result::Result<T, E>;

pub(crate) fn read(path: &std::path::Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| IntelError::Io {
        path: path.to_owned(),
        source,
    })
}
