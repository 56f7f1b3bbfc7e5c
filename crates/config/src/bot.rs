//! Meeting bots: how the orchestrator launches them, how many at once, how long a silent one
//! lives, and which test platforms a bot may be sent to besides the known ones.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::ConfigError;
use crate::kubernetes::{self, KubernetesConfig};

/// How bot processes are started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BotLauncher {
    /// A local process per bot (`meetvault bot run …`), in its own process group.
    Local,
    /// A pod per bot through the Kubernetes API (`[bot.kubernetes]`; crate `meetvault-k8s`).
    Kubernetes,
    /// No bot is launched: bots stay `scheduled` (an API-only instance).
    Disabled,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BotConfig {
    pub launcher: BotLauncher,
    /// The program run as `PROGRAM bot run --bot-id … --server …`; unset: this binary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub executable: Option<PathBuf>,
    /// The URL bots reach this server at; unset: the address this instance listens on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_url: Option<Url>,
    /// Bots running at once (launched and not ended, counted across the installation); more
    /// wait, `scheduled`, for a free place.
    pub max_concurrent: u32,
    /// A bot that sends no heartbeat for this long is `fatal_error/browser_crashed`.
    pub heartbeat_timeout_secs: u64,
    /// How often the orchestrator looks for due, silent and over-long bots.
    pub poll_interval_ms: u64,
    /// How long a bot's `GET …/commands` waits for a command before answering empty (at most
    /// a second less than `server.request_timeout_secs`).
    pub command_wait_secs: u64,
    /// Origins (`http://127.0.0.1:4100`) of test platforms a bot may join besides Google Meet,
    /// Teams and Zoom (testmeet on loopback); plain http is allowed for these only.
    pub test_platform_origins: Vec<Url>,
    /// A directory of platform recipes (`*.toml`, `*.json`) added to the built-in ones; a
    /// file with a built-in recipe's name replaces it (a platform fixed without a release).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recipes_dir: Option<PathBuf>,
    /// The Chromium a local bot process runs (`--chromium`); unset: `chromium` on `PATH`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chromium: Option<PathBuf>,
    /// Words a local bot process puts before Chromium's command (`--browser-prefix`), e.g.
    /// a wrapper that starts it in a network namespace of its own.
    pub browser_command_prefix: Vec<String>,
    /// The pods of `bot.launcher = "kubernetes"`.
    pub kubernetes: KubernetesConfig,
}

impl Default for BotConfig {
    fn default() -> Self {
        Self {
            launcher: BotLauncher::Local,
            executable: None,
            server_url: None,
            max_concurrent: 2,
            heartbeat_timeout_secs: 30,
            poll_interval_ms: 1000,
            command_wait_secs: 20,
            test_platform_origins: Vec::new(),
            recipes_dir: None,
            chromium: None,
            browser_command_prefix: Vec::new(),
            kubernetes: KubernetesConfig::default(),
        }
    }
}

/// Checks of the `[bot]` section.
pub(crate) fn validate(bot: &BotConfig) -> Result<(), ConfigError> {
    let invalid = |key: &str, message: &str| {
        Err(ConfigError::Invalid {
            key: key.to_owned(),
            message: message.to_owned(),
        })
    };
    if bot.max_concurrent == 0 {
        return invalid("bot.max_concurrent", "must be at least 1");
    }
    if bot.heartbeat_timeout_secs == 0 {
        return invalid("bot.heartbeat_timeout_secs", "must be at least 1");
    }
    if bot.poll_interval_ms < 10 {
        return invalid("bot.poll_interval_ms", "must be at least 10");
    }
    let kubernetes = bot.launcher == BotLauncher::Kubernetes;
    if kubernetes && bot.server_url.is_none() {
        return invalid(
            "bot.server_url",
            "is required when bot.launcher is \"kubernetes\": the URL pods reach this server at",
        );
    }
    kubernetes::validate(&bot.kubernetes, kubernetes)?;
    for origin in &bot.test_platform_origins {
        if !matches!(origin.scheme(), "http" | "https") || origin.host().is_none() {
            return invalid(
                "bot.test_platform_origins",
                "each must be an http:// or https:// origin such as http://127.0.0.1:4100",
            );
        }
    }
    if bot
        .browser_command_prefix
        .iter()
        .any(|w| w.is_empty() || w.contains('\0'))
    {
        return invalid(
            "bot.browser_command_prefix",
            "each word must be non-empty text without NUL",
        );
    }
    Ok(())
}
