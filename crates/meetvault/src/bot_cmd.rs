//! `meetvault bot run`: one meeting bot, as the server's orchestrator starts it (a process of
//! its own, the token in `MEETVAULT_BOT_TOKEN`). It fetches its spec and recipe from the
//! server, runs the session (its own Chromium, a fresh profile wiped at the end), reports
//! everything over the internal protocol, and exits 0 when the bot ended, 1 when it failed.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use meetvault_bot::{BotState, LaunchOptions, ServerClient, Session, TOKEN_ENV};
use meetvault_telemetry::{Format, Output};
use zeroize::Zeroizing;

use crate::Failure;

/// How long reports still queued when the session ends may take to reach the server.
const FLUSH: Duration = Duration::from_secs(150);

#[derive(Debug, Subcommand)]
pub enum BotCommand {
    /// Run one bot (started by the server's orchestrator; the token comes in the environment
    /// variable MEETVAULT_BOT_TOKEN, never as an argument).
    Run(RunArgs),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The bot's id (bot_…).
    #[arg(long, value_name = "ID")]
    bot_id: String,
    /// Where the server is (http://127.0.0.1:8080).
    #[arg(long, value_name = "URL")]
    server: String,
    /// The Chromium to run (a name on PATH or a path).
    #[arg(long, value_name = "PATH", default_value = "chromium")]
    chromium: PathBuf,
    /// A word put before Chromium's command (repeat for several, in order), e.g. a wrapper
    /// that starts it in a network namespace: --browser-prefix=nsenter --browser-prefix=--net=…
    #[arg(
        long = "browser-prefix",
        value_name = "WORD",
        allow_hyphen_values = true
    )]
    browser_prefix: Vec<String>,
}

pub async fn run(command: BotCommand, log_level: Option<&str>) -> Result<(), Failure> {
    let BotCommand::Run(args) = command;
    meetvault_telemetry::init(log_level.unwrap_or("info"), Format::Json, Output::Stderr)
        .map_err(|e| Failure::Config(anyhow::anyhow!("--log-level: {e}")))?;
    let token = Zeroizing::new(std::env::var(TOKEN_ENV).map_err(|_| {
        Failure::Config(anyhow::anyhow!(
            "{TOKEN_ENV} is not set: `meetvault bot run` is started by the server's orchestrator, \
             which passes the bot's token in that variable"
        ))
    })?);
    let client = ServerClient::new(&args.server, &args.bot_id, token)
        .map_err(|e| Failure::Config(anyhow::anyhow!("{e}")))?;
    let (spec, recipe) = client
        .spec()
        .await
        .map_err(|e| Failure::Runtime(anyhow::anyhow!("{e}")))?;
    let mut launch = LaunchOptions {
        chromium: args.chromium,
        command_prefix: args.browser_prefix,
        ..LaunchOptions::default()
    };
    if running_as_root() {
        // Chromium's sandbox refuses root; production runs bots as an unprivileged user.
        tracing::warn!("running as root: Chromium's sandbox is off (run bots as a non-root user)");
        launch.extra_args.push("--no-sandbox".into());
    }
    tracing::info!(bot = %args.bot_id, platform = recipe.name(), "the bot starts");
    let (reporter, sent) = client.reporter();
    let outcome = Session::run(spec, recipe, reporter, launch).await;
    // The reporter is gone with the session: what it queued is sent, then the worker ends.
    if tokio::time::timeout(FLUSH, sent).await.is_err() {
        tracing::error!("reports still queued after {FLUSH:?} were not sent");
    }
    let loss: Vec<String> = outcome
        .tracks
        .iter()
        .map(|(track, stats)| format!("{track}: {:.3}%", stats.loss_percent()))
        .collect();
    tracing::info!(state = outcome.state.as_str(), sub_code = outcome.sub_code, loss = ?loss, "the bot ended");
    match outcome.state {
        BotState::FatalError => Err(Failure::Runtime(anyhow::anyhow!(
            "the bot failed: {}",
            outcome.sub_code
        ))),
        _ => Ok(()),
    }
}

/// Whether this process runs as root (its real uid, from /proc).
fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().next())
            == Some("0")
    })
}
