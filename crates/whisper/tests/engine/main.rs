//! Integration tests of the Whisper engine on real speech (espeak-ng) and the real tiny.en and
//! multilingual base checkpoints: one test binary, so it links once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod audio;
mod compute_type;
mod loaders;
mod multilingual;
mod parity;
mod parity_base;
mod parser;
mod silence;
mod support;
mod transcription;
mod words;
