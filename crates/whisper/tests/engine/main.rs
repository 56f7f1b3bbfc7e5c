//! Integration tests of the Whisper engine on real speech (espeak-ng) and the real tiny.en
//! checkpoint: one test binary, so it links once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod audio;
mod compute_type;
mod loaders;
mod parity;
mod parser;
mod support;
mod transcription;
