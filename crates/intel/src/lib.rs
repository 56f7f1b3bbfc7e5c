//! Meeting intelligence that runs on the server's own CPU, with no model server and no network:
//! PII redaction before analysis ([`pii`]), speaker analytics from segments ([`analytics`]),
//! sentence embeddings ([`embed`], all-MiniLM-L6-v2 on candle), an embedded chat model
//! ([`llm`], any Llama-family GGUF on candle's quantized kernels), summaries ([`summarize`]:
//! action items and decisions by rule, key points by centrality, an overview by the model),
//! hybrid search over per-meeting index segments ([`search`]), cited answers or "not found"
//! ([`ask`]), a remote model's structured summary held to the transcript ([`structured`]), and
//! the text and chunks of documents attached to a meeting ([`docs`]: PDF,
//! Markdown, HTML, plain text). See docs/intelligence.md. Must never: do I/O beyond reading
//! model files, or log content.

pub mod analytics;
pub mod ask;
pub mod docs;
pub mod embed;
mod error;
pub mod llm;
pub mod pii;
pub mod search;
pub mod structured;
pub mod summarize;

pub use error::{IntelError, Result};
