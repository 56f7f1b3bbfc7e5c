//! The crate as a user sees it: exports checked by ffmpeg, and the provider clients against
//! loopback servers that behave like the providers' documentation says. One binary, so it
//! links once.

// Test helpers outside #[test] functions: a failed unwrap there is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod deepgram;
mod export;
mod fake;
mod openai;
