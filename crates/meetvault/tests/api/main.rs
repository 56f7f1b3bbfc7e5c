//! The integration suite: every test drives meetvault through HTTP or its CLI, on the backends
//! this run selects (`TEST_DATABASE`, `TEST_BLOBS`; see `meetvault-test-support`).
// Test code: an unwrap that fails is a failing test, with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accounts;
mod audit;
mod blobs;
mod bot_protocol;
mod bots;
mod canary;
mod cli;
mod cli_transcribe;
mod encryption;
mod enumeration;
mod errors;
mod event_streams;
mod generated_client;
mod glossary;
mod grants;
mod headers;
mod helpers;
mod hosts;
mod jobs;
mod lifecycle;
mod live;
mod logging;
mod meetings;
mod multilingual;
mod observability;
mod openai;
mod outbox;
mod owners;
mod probe;
mod provider_keys;
mod ratelimit;
mod recipe_cli;
mod recordings;
mod refusals;
mod shutdown;
mod speech;
mod streaming;
mod tls;
mod transcription;
mod word_timestamps;
mod workspace_access;
mod xss;
mod zero_access_readers;
