//! Integration tests: real recordings made with espeak-ng and ffmpeg, decoded through the public
//! API. One test binary; this file only lists the modules.

// Test tooling: a failure in a helper is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fixtures;
mod formats;
mod rejections;
mod streaming;
