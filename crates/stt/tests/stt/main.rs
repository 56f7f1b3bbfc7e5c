//! The crate as a user sees it: exports checked by ffmpeg, and the provider clients against
//! loopback servers that behave like the providers' documentation says. One binary, so it
//! links once.

// Test helpers outside #[test] functions: a failed unwrap there is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod deepgram;
mod export;
mod fake;
mod openai;

/// The outbound client of a server whose operator allow-listed this machine (the fake
/// providers listen on 127.0.0.1).
pub fn loopback() -> meetvault_outbound::Client {
    meetvault_outbound::Client::new(
        meetvault_outbound::Policy::new(&["127.0.0.0/8".to_owned(), "::1/128".to_owned()]),
        meetvault_outbound::ClientOptions::default(),
    )
    .unwrap()
}

/// The outbound client with no allow-list: https to public hosts only.
pub fn public_only() -> meetvault_outbound::Client {
    meetvault_outbound::Client::new(
        meetvault_outbound::Policy::default(),
        meetvault_outbound::ClientOptions::default(),
    )
    .unwrap()
}
