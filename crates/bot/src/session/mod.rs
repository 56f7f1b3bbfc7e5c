//! The bot session: what `meetvault bot run` runs once it has its spec. It launches Chromium,
//! installs the capture, runs the recipe's join steps, then every [`POLL`] asks the recipe's
//! detectors where it stands (in [`DetectorKind::STATE_ORDER`]), posts the consent message on
//! admission, scrapes chat and participants, maps tracks to participants, honours opt-outs,
//! applies the leave rules and the server's commands, and reports everything to a
//! [`Reporter`]. It ends with an [`Outcome`]: `ended` or `fatal_error` and a sub-code.
//!
//! Nothing here is specific to a platform: everything the page is asked comes from the recipe.

mod audio;
mod meeting;
mod report;
mod rules;
mod spec;

use std::collections::BTreeMap;
use std::time::Duration;

use meetvault_recipe::Recipe;
use meetvault_recipe::js::CompiledStep;
use serde_json::Value;
use tokio::time::Instant;

pub use audio::PIECE_SAMPLES;
pub use report::{
    BotEvent, BotState, Command, MemoryReporter, Recorded, RecordedAudio, RecordedEvent, Reporter,
    Transition,
};
pub use spec::{AutomaticLeave, BotSpec, DEFAULT_OPT_OUT_PHRASE, RecordingOptions, sub_code};

use crate::{BotError, Browser, LaunchOptions, TrackKey, TrackStats};
use meeting::Meeting;

/// How often the page is asked where the bot stands.
pub const POLL: Duration = Duration::from_millis(250);

/// How often the session reports it is alive.
pub const HEARTBEAT: Duration = Duration::from_secs(10);

/// A track whose RMS (in 16-bit sample units) stays below this is silence for the
/// `silence` rule (about −50 dBFS).
pub const SILENCE_RMS: f64 = 100.0;

/// How long the page may show none of the recipe's states (neither waiting room nor
/// admitted nor an ending) before the bot decides the platform's UI changed.
pub const UI_GRACE: Duration = Duration::from_secs(30);

/// How a session ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// [`BotState::Ended`] or [`BotState::FatalError`].
    pub state: BotState,
    /// Why (one of [`sub_code`]).
    pub sub_code: &'static str,
    /// For a fatal error, what failed (for the bot's log; no page content).
    pub detail: Option<String>,
    /// What each captured track delivered (loss is measured from these).
    pub tracks: BTreeMap<TrackKey, TrackStats>,
}

/// Why the session stops.
#[derive(Debug, Clone, PartialEq)]
enum End {
    /// The platform ended it (denied, removed, meeting ended, not found).
    Platform(&'static str),
    /// The bot leaves on its own (a leave rule or the API).
    Leave(&'static str),
    /// A recipe step or an expected element never appeared.
    UiChanged(String),
    /// Something else failed.
    Fatal(&'static str, String),
}

impl End {
    fn crashed() -> End {
        End::Fatal(sub_code::BROWSER_CRASHED, "the browser closed".into())
    }

    /// The end a browser error means while driving the page.
    fn from_error(e: &BotError, what: &str) -> End {
        match e {
            BotError::BrowserClosed(_) => End::crashed(),
            _ => End::UiChanged(format!("{what}: {e}")),
        }
    }
}

/// The bot session.
#[derive(Debug)]
pub struct Session;

impl Session {
    /// Runs one bot in one meeting, from launch to its end, reporting to `reporter`.
    /// Chromium is gone (and its profile removed) when this returns.
    pub async fn run<R: Reporter>(
        spec: BotSpec,
        recipe: Recipe,
        mut reporter: R,
        launch: LaunchOptions,
    ) -> Outcome {
        let commands = reporter.commands();
        reporter.transition(BotState::Joining, None).await;
        let browser = match Browser::launch(launch).await {
            Ok(browser) => browser,
            Err(e) => {
                return fatal(&reporter, sub_code::BROWSER_CRASHED, e.to_string()).await;
            }
        };
        let page = match browser.new_page().await {
            Ok(page) => page,
            Err(e) => {
                browser.close().await;
                return fatal(&reporter, sub_code::BROWSER_CRASHED, e.to_string()).await;
            }
        };
        let capture = match page.install_capture().await {
            Ok(capture) => capture,
            Err(e) => {
                browser.close().await;
                return fatal(&reporter, sub_code::CAPTURE_FAILED, e.to_string()).await;
            }
        };
        reporter
            .event(BotEvent::AudioClock {
                unix_ms: capture.installed_unix_ms(),
            })
            .await;
        let mut meeting = Meeting::new(spec, recipe, reporter, browser, page, capture, commands);
        let end = match meeting.join().await {
            Ok(()) => meeting.attend().await,
            Err(end) => end,
        };
        meeting.finish(end).await
    }
}

async fn fatal<R: Reporter>(reporter: &R, code: &'static str, detail: String) -> Outcome {
    tracing::warn!(sub_code = code, %detail, "the bot failed");
    reporter.transition(BotState::FatalError, Some(code)).await;
    Outcome {
        state: BotState::FatalError,
        sub_code: code,
        detail: Some(detail),
        tracks: BTreeMap::new(),
    }
}

/// Whether a page value counts as done for a step (`true` only).
fn is_true(value: &Value) -> bool {
    value == &Value::Bool(true)
}

/// A step's description for a diagnosis: which list, which step, what it waited for.
fn describe(list: &str, index: usize, step: &CompiledStep) -> String {
    format!(
        "{list} step {} did not succeed within {:?}",
        index + 1,
        step.timeout
    )
}

/// `deadline` has passed.
fn past(deadline: Instant) -> bool {
    Instant::now() >= deadline
}
