//! The meeting bot's browser: a headless Chromium driven over the DevTools protocol on its
//! `--remote-debugging-pipe` (no port: nothing else can reach it), launched with a fresh
//! profile and made to die with the bot, plus per-track audio capture from the meeting page.
//!
//! [`Session::run`] is the whole bot (what `meetvault bot run` runs once it has its spec):
//! a recipe, a [`BotSpec`] and a [`Reporter`] in, an [`Outcome`] out. Underneath it:
//!
//! ```no_run
//! # async fn run() -> Result<(), meetvault_bot::BotError> {
//! use meetvault_bot::{Browser, CaptureEvent, LaunchOptions};
//! let browser = Browser::launch(LaunchOptions::default()).await?;
//! let page = browser.new_page().await?;
//! let mut capture = page.install_capture().await?; // before the meeting page loads
//! page.navigate("https://meet.example/abc", std::time::Duration::from_secs(30)).await?;
//! // … the recipe's steps through `page.evaluate`; on failure `page.screenshot()` and
//! // `page.dom_snapshot()` go to the diagnosis.
//! while let Some(event) = capture.next().await {
//!     if let CaptureEvent::Audio(chunk) = event { /* chunk.track, chunk.start_ms, chunk.pcm16k */ }
//! }
//! # Ok(()) }
//! ```
//!
//! Never: open a debugging port, keep a profile after the bot ends, leave a Chromium process
//! behind, read audio through ScriptProcessor, or log what a page sends.

mod browser;
mod capture;
mod cdp;
mod error;
mod page;
mod protocol;
mod session;

pub use browser::{Browser, DISABLED_FEATURES, LaunchOptions};
pub use capture::{AudioChunk, Capture, CaptureEvent, OUTPUT_RATE, TrackKey, TrackStats};
pub use cdp::{Cdp, Event};
pub use error::BotError;
pub use page::Page;
pub use protocol::{HttpReporter, ProtocolError, ServerClient, spec_from_server};
/// The environment variable that carries a bot's token (`mvb_…`) from its launcher: never in
/// argv, removed from the browser's environment.
pub const TOKEN_ENV: &str = "MEETVAULT_BOT_TOKEN";

pub use session::{
    AutomaticLeave, BotEvent, BotSpec, BotState, Command, DEFAULT_OPT_OUT_PHRASE, HEARTBEAT,
    MemoryReporter, Outcome, PIECE_SAMPLES, POLL, Recorded, RecordedAudio, RecordedEvent,
    RecordingOptions, Reporter, SILENCE_RMS, Session, Transition, UI_GRACE, sub_code,
};
