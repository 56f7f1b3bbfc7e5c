//! What can go wrong driving the bot's browser, in the browser's own terms.

use std::time::Duration;

/// An error from the browser, its protocol or the capture.
#[derive(Debug, thiserror::Error)]
pub enum BotError {
    /// A program the bot needs is not installed.
    #[error("`{tool}` is not installed (Debian package `{package}`; scripts/deps.sh installs it)")]
    ToolMissing {
        /// The program.
        tool: String,
        /// The Debian package that provides it.
        package: &'static str,
    },
    /// Starting the browser failed.
    #[error("starting the browser failed: {0}")]
    Launch(#[source] std::io::Error),
    /// The browser started but never spoke the protocol.
    #[error("the browser did not answer in {0:?}")]
    StartTimeout(Duration),
    /// The browser exited or closed its protocol pipe.
    #[error("the browser closed (while waiting for {0})")]
    BrowserClosed(String),
    /// A protocol command got no answer in time.
    #[error("the browser did not answer {method} in {timeout:?}")]
    Timeout {
        /// The command.
        method: String,
        /// How long it waited.
        timeout: Duration,
    },
    /// The browser answered a command with an error.
    #[error("{method} failed: {message}")]
    Protocol {
        /// The command.
        method: String,
        /// The browser's message (its code and text).
        message: String,
    },
    /// A script evaluated in the page threw.
    #[error("the page script threw: {0}")]
    Exception(String),
    /// A navigation did not commit.
    #[error("navigating failed: {0}")]
    Navigation(String),
    /// The browser answered with something the protocol does not allow.
    #[error("unexpected answer to {method}: {detail}")]
    Unexpected {
        /// The command.
        method: String,
        /// What was wrong.
        detail: String,
    },
    /// A file or pipe operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: &'static str,
        /// The failure.
        #[source]
        source: std::io::Error,
    },
}

impl BotError {
    pub(crate) fn io(context: &'static str) -> impl FnOnce(std::io::Error) -> BotError {
        move |source| BotError::Io { context, source }
    }
}
