//! meetvault-intel's integration tests, one binary: the embedding model against
//! sentence-transformers' vectors, PII redaction on its corpus, the embedded chat model.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod embed;
mod llm;
mod pii;
mod support;
