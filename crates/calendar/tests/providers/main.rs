//! Integration tests against the loopback fakes of Google and Microsoft (feature `fake`):
//! connecting, syncing, push channels. One test binary, so it links once.

// Test helpers outside `#[test]` functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod google_sync;
mod graph_sync;
mod oauth;
mod push;
mod support;
