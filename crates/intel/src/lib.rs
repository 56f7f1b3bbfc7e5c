//! Meeting intelligence that runs on the server's own CPU, with no model server and no network:
//! PII redaction before analysis ([`pii`]) and speaker analytics from segments ([`analytics`]).
//! Must never: do I/O beyond reading model files, or log content.

pub mod analytics;
pub mod embed;
mod error;
pub mod llm;
pub mod pii;
pub use error::{IntelError, Result};
