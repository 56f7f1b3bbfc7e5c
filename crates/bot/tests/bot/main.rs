//! The bot's browser against real Chromium: launch and cleanup, and per-track capture of real
//! WebRTC audio, every browser in a private network namespace.

// Test helpers outside `#[test]` functions fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod capture;
mod lifecycle;
mod page;
mod session;
mod support;
