//! The orchestrator: launches bot processes through a [`Launcher`] (at most
//! `bot.max_concurrent` at once; the rest wait, `scheduled`, in the `bots` table, which is
//! what survives a restart), watches their heartbeats (none for `bot.heartbeat_timeout_secs`,
//! or a process that died: `fatal_error/browser_crashed`, with what it captured still
//! processed) and enforces their maximum duration (a `leave` command, `max_duration`).
//!
//! [`LocalProcessLauncher`] runs `PROGRAM bot run --bot-id … --server …` with the bot's token in
//! `MEETVAULT_BOT_TOKEN` (never argv), in a process group of its own, so stopping a bot ends
//! everything it started. Other launchers (a Kubernetes pod per bot: crate `meetvault-k8s`) live
//! outside core and are installed by the binary at start (`core.bots().install_launcher`).

use std::collections::HashMap;
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use meetvault_auth::token::{self, Token};
use meetvault_config::BotLauncher;
use tokio::sync::{Notify, broadcast};
use uuid::Uuid;

use super::{BotOptions, BotState, Bots, SubCode};
use crate::access::Actor;
use crate::ids::BotId;
use crate::{Core, CoreError};

/// The job kind that wakes the orchestrator at a scheduled bot's join time.
pub(crate) const LAUNCH_JOB: &str = "bot.launch";

/// A scheduled bot's durable wake-up: a job in the queue due at its `join_at` (it survives
/// restarts like any job). Running it runs an orchestrator pass at once, which launches the bot
/// if a place is free; the `bots` table stays the record of who is waiting.
pub(crate) struct LaunchHandler {
    pub(crate) core: Core,
}

#[async_trait::async_trait]
impl meetvault_jobs::Handler for LaunchHandler {
    fn kind(&self) -> &'static str {
        LAUNCH_JOB
    }

    async fn run(
        &self,
        _job: &meetvault_jobs::Job,
        _ctx: &meetvault_jobs::JobContext,
    ) -> Result<(), meetvault_jobs::JobError> {
        self.core
            .orchestrate()
            .await
            .map_err(|e| meetvault_jobs::JobError::Retryable(e.to_string()))
    }
}

/// What a launcher needs to start one bot.
#[derive(Debug)]
pub struct LaunchRequest {
    pub bot_id: BotId,
    /// Where the bot reaches this server (`http://127.0.0.1:PORT`).
    pub server_url: String,
    /// The bot's own token (for its environment only).
    pub token: Token,
    /// The bot's `automatic_leave.max_duration_secs`, if it set one (a launcher may bound the
    /// process's life a little beyond it).
    pub max_duration_secs: Option<u64>,
}

/// Starts and stops bot processes (a local process each; a Kubernetes pod each). Its methods are
/// called from the orchestrator's async tasks and must not block for long.
pub trait Launcher: Send + Sync + std::fmt::Debug + 'static {
    fn launch(&self, request: &LaunchRequest) -> Result<(), CoreError>;
    /// Stops the bot's process (and everything it started), if this launcher started it.
    fn stop(&self, bot: BotId);
    /// Whether the bot's process runs; `None` when this launcher did not start it (another
    /// instance, or before a restart): heartbeats decide then.
    fn is_alive(&self, bot: BotId) -> Option<bool>;
}

/// A local process per bot, in its own process group.
#[derive(Debug)]
pub struct LocalProcessLauncher {
    program: PathBuf,
    /// `--chromium PATH` and `--browser-prefix=WORD` for each bot (`bot.chromium`,
    /// `bot.browser_command_prefix`).
    browser_args: Vec<String>,
    children: Mutex<HashMap<Uuid, std::process::Child>>,
}

impl LocalProcessLauncher {
    pub fn new(program: PathBuf) -> Self {
        Self {
            program,
            browser_args: Vec::new(),
            children: Mutex::new(HashMap::new()),
        }
    }

    /// The launcher `bot.*` describes: the program, and the browser its bots run.
    fn from_config(bot: &meetvault_config::BotConfig) -> Self {
        let program = bot
            .executable
            .clone()
            .or_else(|| std::env::current_exe().ok())
            .unwrap_or_else(|| PathBuf::from("meetvault"));
        let mut launcher = Self::new(program);
        if let Some(chromium) = &bot.chromium {
            launcher.browser_args.push("--chromium".into());
            launcher
                .browser_args
                .push(chromium.to_string_lossy().into_owned());
        }
        for word in &bot.browser_command_prefix {
            launcher
                .browser_args
                .push(format!("--browser-prefix={word}"));
        }
        launcher
    }

    fn children(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, std::process::Child>> {
        self.children.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Launcher for LocalProcessLauncher {
    fn launch(&self, request: &LaunchRequest) -> Result<(), CoreError> {
        let child = std::process::Command::new(&self.program)
            .arg("bot")
            .arg("run")
            .arg("--bot-id")
            .arg(request.bot_id.to_string())
            .arg("--server")
            .arg(&request.server_url)
            .args(&self.browser_args)
            .env("MEETVAULT_BOT_TOKEN", request.token.expose())
            .stdin(std::process::Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|e| {
                tracing::error!(program = %self.program.display(), error = %e, "cannot start a bot process");
                CoreError::Unavailable("the bot program (bot.executable)")
            })?;
        self.children().insert(request.bot_id.uuid(), child);
        Ok(())
    }

    fn stop(&self, bot: BotId) {
        let Some(mut child) = self.children().remove(&bot.uuid()) else {
            return;
        };
        // The whole group (its id is the bot's pid): the bot and the browser it started.
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", child.id())])
            .stderr(std::process::Stdio::null())
            .status();
        let _ = child.kill();
        // Reaped off the runtime's threads.
        tokio::task::spawn_blocking(move || child.wait());
    }

    fn is_alive(&self, bot: BotId) -> Option<bool> {
        self.children()
            .get_mut(&bot.uuid())
            .map(|c| matches!(c.try_wait(), Ok(None)))
    }
}

/// A launcher that launches nothing, saying what is unavailable: `bot.launcher = "disabled"`,
/// or a launcher that lives outside core (`"kubernetes"`) until the binary installs it.
#[derive(Debug)]
struct NoLauncher(&'static str);

impl Launcher for NoLauncher {
    fn launch(&self, _: &LaunchRequest) -> Result<(), CoreError> {
        Err(CoreError::Unavailable(self.0))
    }
    fn stop(&self, _: BotId) {}
    fn is_alive(&self, _: BotId) -> Option<bool> {
        None
    }
}

/// This instance's bot machinery: the launcher, wake-ups of command long-polls, and a poke
/// that runs the orchestrator at once.
#[derive(Debug)]
pub struct BotHub {
    launcher: Arc<dyn Launcher>,
    installed: OnceLock<Arc<dyn Launcher>>,
    enabled: bool,
    commands: Mutex<HashMap<Uuid, broadcast::Sender<()>>>,
    poke: Notify,
    local_server: OnceLock<String>,
    pass: tokio::sync::Mutex<()>,
    recipes: meetvault_recipe::RecipeSet,
    test_origins: meetvault_recipe::TestOrigins,
    pub(crate) processing: super::finish::Processing,
}

impl BotHub {
    pub(crate) fn new(config: &meetvault_config::Config) -> Result<Self, CoreError> {
        let recipes =
            meetvault_recipe::RecipeSet::builtin_and_dir(config.bot.recipes_dir.as_deref())
                .map_err(|e| {
                    tracing::error!(error = %e, "cannot load the platform recipes");
                    CoreError::Unavailable("the platform recipes (bot.recipes_dir)")
                })?;
        let test_origins = meetvault_recipe::TestOrigins::parse(
            &config
                .bot
                .test_platform_origins
                .iter()
                .map(|u| u.as_str())
                .collect::<Vec<_>>(),
        )
        .map_err(|e| {
            tracing::error!(error = %e, "bot.test_platform_origins");
            CoreError::Unavailable("the test platform origins (bot.test_platform_origins)")
        })?;
        let (launcher, enabled): (Arc<dyn Launcher>, bool) = match config.bot.launcher {
            BotLauncher::Local => (
                Arc::new(LocalProcessLauncher::from_config(&config.bot)),
                true,
            ),
            BotLauncher::Kubernetes => (
                Arc::new(NoLauncher(
                    "the Kubernetes bot launcher (`meetvault serve` installs it at start)",
                )),
                true,
            ),
            BotLauncher::Disabled => (
                Arc::new(NoLauncher("bot launching (bot.launcher is disabled)")),
                false,
            ),
        };
        Ok(Self {
            launcher,
            installed: OnceLock::new(),
            enabled,
            commands: Mutex::new(HashMap::new()),
            poke: Notify::new(),
            local_server: OnceLock::new(),
            pass: tokio::sync::Mutex::new(()),
            recipes,
            test_origins,
            processing: Default::default(),
        })
    }

    /// The platform recipes this instance knows (built in, plus `bot.recipes_dir`).
    pub(crate) fn recipes(&self) -> &meetvault_recipe::RecipeSet {
        &self.recipes
    }

    /// The operator's test-platform origins.
    pub(crate) fn test_origins(&self) -> &meetvault_recipe::TestOrigins {
        &self.test_origins
    }

    pub(crate) fn launcher(&self) -> &dyn Launcher {
        self.installed.get().unwrap_or(&self.launcher).as_ref()
    }

    pub(crate) fn set_local_server(&self, addr: std::net::SocketAddr) {
        let _ = self.local_server.set(format!("http://{addr}"));
    }

    pub(crate) fn subscribe(&self, bot: Uuid) -> broadcast::Receiver<()> {
        let mut map = self.commands.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, tx| tx.receiver_count() > 0);
        map.entry(bot)
            .or_insert_with(|| broadcast::channel(8).0)
            .subscribe()
    }

    pub(crate) fn wake(&self, bot: Uuid) {
        let map = self.commands.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = map.get(&bot) {
            let _ = tx.send(());
        }
        self.poke.notify_one();
    }

    /// Runs the orchestrator's next pass now (a bot was created or ended).
    pub(crate) fn poke(&self) {
        self.poke.notify_one();
    }
}

impl Bots<'_> {
    /// Installs the launcher of `bot.launcher = "kubernetes"`, which lives outside core (crate
    /// `meetvault-k8s`); once, at start, before the workers. Refused for another launcher.
    pub fn install_launcher(self, launcher: Arc<dyn Launcher>) -> Result<(), CoreError> {
        if self.core.config().bot.launcher != BotLauncher::Kubernetes {
            return Err(CoreError::Unavailable(
                "another launcher (bot.launcher is not \"kubernetes\")",
            ));
        }
        self.core
            .inner
            .bots
            .installed
            .set(launcher)
            .map_err(|_| CoreError::Unavailable("a second launcher (one is installed)"))
    }
}

impl Core {
    /// Starts the orchestrator's loop (with the job workers); it stops with the runtime.
    pub(crate) fn spawn_bot_orchestrator(&self) {
        if !self.inner.bots.enabled {
            return;
        }
        if self.config().bot.server_url.is_none() && self.config().server.tls.is_some() {
            tracing::warn!(
                "bot.server_url is not set and the server listens with TLS: no bot is launched \
                 until bot.server_url says how bots reach this server"
            );
        }
        let core = self.clone();
        tokio::spawn(async move {
            let every = Duration::from_millis(core.config().bot.poll_interval_ms.max(10));
            loop {
                if let Err(e) = core.orchestrate().await {
                    tracing::error!(error = %e, "bot orchestrator pass failed");
                }
                let _ = tokio::time::timeout(every, core.inner.bots.poke.notified()).await;
            }
        });
    }

    /// One pass: end silent and dead bots, enforce maximum durations, launch due bots.
    async fn orchestrate(&self) -> Result<(), CoreError> {
        if !self.inner.bots.enabled {
            return Ok(());
        }
        // One pass at a time on this instance (the loop and a launch job may both call).
        let _pass = self.inner.bots.pass.lock().await;
        let cfg = &self.config().bot;
        let now = meetvault_jobs::now_ms();
        let timeout_ms =
            i64::try_from(cfg.heartbeat_timeout_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        let hub = &self.inner.bots;
        let mut running = 0u32;
        for bot in self.db().bots_running().await? {
            let id = BotId::from(bot.id);
            if bot.state == BotState::PostProcessing.as_str() {
                // Its process is done; its audio is being processed (here, or again after a
                // restart once it has sat there for a heartbeat timeout).
                if now.saturating_sub(bot.updated_at) > timeout_ms {
                    self.resume_post_processing(&bot);
                }
                continue;
            }
            let silent = bot
                .heartbeat_at
                .or(bot.launched_at)
                .is_some_and(|at| now.saturating_sub(at) > timeout_ms);
            let dead = hub.launcher().is_alive(id) == Some(false);
            if silent || dead {
                tracing::warn!(bot = %id, silent, dead, "bot lost: no heartbeat or its process ended");
                self.move_bot(
                    bot.id,
                    BotState::FatalError,
                    Some(SubCode::BROWSER_CRASHED),
                    Actor::System,
                )
                .await?;
                continue;
            }
            running += 1;
            let options: BotOptions = serde_json::from_str(&bot.options).unwrap_or_default();
            if let (Some(max), Some(launched), None) = (
                options.automatic_leave.max_duration_secs,
                bot.launched_at,
                &bot.leave_requested,
            ) && now.saturating_sub(launched)
                > i64::try_from(max.saturating_mul(1000)).unwrap_or(i64::MAX)
            {
                self.ask_bot_to_leave(&bot, SubCode::MAX_DURATION, Actor::System)
                    .await?;
            }
        }
        let free = cfg.max_concurrent.saturating_sub(running);
        if free == 0 {
            return Ok(());
        }
        let server_url = match (&cfg.server_url, hub.local_server.get()) {
            (Some(url), _) => url.as_str().trim_end_matches('/').to_owned(),
            (None, Some(local)) => local.clone(),
            (None, None) => return Ok(()),
        };
        for bot in self.db().bots_due(now, i64::from(free)).await? {
            let token = Token::generate(token::BOT_TOKEN);
            if !self
                .db()
                .launch_bot(bot.id, &token::sha256_hex(token.expose()), now)
                .await?
            {
                continue;
            }
            let options: BotOptions = serde_json::from_str(&bot.options).unwrap_or_default();
            let request = LaunchRequest {
                bot_id: bot.id.into(),
                server_url: server_url.clone(),
                token,
                max_duration_secs: options.automatic_leave.max_duration_secs,
            };
            if let Err(e) = hub.launcher().launch(&request) {
                tracing::error!(bot = %request.bot_id, error = %e, "launching a bot failed");
                self.move_bot(
                    bot.id,
                    BotState::FatalError,
                    Some(SubCode::LAUNCH_FAILED),
                    Actor::System,
                )
                .await?;
            } else {
                tracing::info!(bot = %request.bot_id, "bot launched");
            }
        }
        Ok(())
    }
}
