//! Meeting intelligence: the embedded models (summaries, action items, answers, search) and
//! what is redacted before a model sees a transcript.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::ConfigError;

/// Where `scripts/models.sh --model smollm2` installs the embedded chat model, under
/// `DATA_DIR/models`.
pub const CHAT_MODEL_FOLDER: &str = "smollm2-135m-instruct";
/// Where `scripts/models.sh --model minilm` installs the embedding model, under
/// `DATA_DIR/models`.
pub const EMBEDDING_MODEL_FOLDER: &str = "all-minilm-l6-v2";

/// Summaries, action items, questions and search over meetings, on this machine.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IntelligenceConfig {
    /// Summaries, search and questions at all (off: the routes answer 409 and no job runs).
    pub enabled: bool,
    /// Summarize and index a meeting when its transcript is stored, without being asked.
    pub auto: bool,
    /// The embedded chat model, a Llama-family GGUF file (default
    /// `DATA_DIR/models/smollm2-135m-instruct/model.gguf`, from `scripts/models.sh --model
    /// smollm2`). Missing: overviews are the meeting's most central sentences instead.
    pub chat_model: Option<PathBuf>,
    /// The sentence-embedding model folder (all-MiniLM-L6-v2 layout; default
    /// `DATA_DIR/models/all-minilm-l6-v2`, from `scripts/models.sh --model minilm`). Missing:
    /// search is by keyword only and questions are refused.
    pub embedding_model: Option<PathBuf>,
    /// Tokens of context the chat model is run with (longer meetings are summarized in parts).
    pub context_tokens: u32,
    /// Model inferences at once on this instance (each uses every core).
    pub concurrency: u32,
    /// PII redaction before a model reads a transcript: `off`, `remote` (before any remote
    /// provider: the default) or `all` (before the embedded models too).
    pub pii_redaction: PiiRedaction,
    /// The operator's own PII patterns, redacted beside the built-in kinds: each a placeholder
    /// name (capitals, digits, `_`) and a regular expression (Rust `regex` syntax).
    pub pii_patterns: Vec<PiiPattern>,
    /// Serve the embedded models as OpenAI-compatible `POST /v1/chat/completions` and `POST
    /// /v1/embeddings` (API keys with `meetings:write`).
    pub openai_endpoint: bool,
    /// The largest document (a pre-read: PDF, Markdown, HTML, text) one may attach to a
    /// meeting, in bytes.
    pub document_max_bytes: u64,
    /// Documents one meeting holds at most.
    pub documents_per_meeting: u32,
    /// Hours an ephemeral document (the default) is kept when its meeting does not end
    /// sooner: the meeting's end (its bot done) deletes it, and so does this.
    pub document_hours: u32,
}

impl Default for IntelligenceConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            auto: true,
            chat_model: None,
            embedding_model: None,
            context_tokens: 2048,
            concurrency: 1,
            pii_redaction: PiiRedaction::Remote,
            pii_patterns: Vec::new(),
            openai_endpoint: true,
            document_max_bytes: 20 * 1024 * 1024,
            documents_per_meeting: 20,
            document_hours: 24,
        }
    }
}

/// One operator PII pattern (`[[intelligence.pii_patterns]]`): `name` becomes the placeholder
/// (`[EMPLOYEE_ID_1]`); checked when the server starts.
#[derive(Debug, Clone, Serialize, Deserialize, Eq, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PiiPattern {
    pub name: String,
    pub pattern: String,
}

/// When emails, phone numbers, card numbers… are replaced by typed placeholders.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, Eq, PartialEq, Default)]
#[serde(rename_all = "snake_case")]
pub enum PiiRedaction {
    Off,
    #[default]
    Remote,
    All,
}

pub(crate) fn validate(c: &IntelligenceConfig) -> Result<(), ConfigError> {
    let invalid = |key: &str, message: &str| {
        Err(ConfigError::Invalid {
            key: key.to_owned(),
            message: message.to_owned(),
        })
    };
    if !(600..=131_072).contains(&c.context_tokens) {
        return invalid(
            "intelligence.context_tokens",
            "must be between 600 and 131072",
        );
    }
    if !(1..=16).contains(&c.concurrency) {
        return invalid("intelligence.concurrency", "must be between 1 and 16");
    }
    if !(1024..=1 << 30).contains(&c.document_max_bytes) {
        return invalid(
            "intelligence.document_max_bytes",
            "must be between 1024 and 1073741824",
        );
    }
    if !(1..=1000).contains(&c.documents_per_meeting) {
        return invalid(
            "intelligence.documents_per_meeting",
            "must be between 1 and 1000",
        );
    }
    if !(1..=8760).contains(&c.document_hours) {
        return invalid(
            "intelligence.document_hours",
            "must be between 1 and 8760 (a year)",
        );
    }
    Ok(())
}
