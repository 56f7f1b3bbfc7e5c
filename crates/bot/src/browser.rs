//! Launching the bot's Chromium and making sure it dies with the bot.
//!
//! Each browser gets a fresh profile in a private temp dir, removed when the [`Browser`] is
//! dropped (and swept at the next launch if the bot was killed). Chromium is started as
//!
//! ```text
//! sh -c 'exec "$@" 3<&0 4>&1 0</dev/null 1>&2' - [PREFIX…] setpriv --pdeathsig KILL -- chromium FLAGS…
//! ```
//!
//! in its own process group: the shell only moves the two protocol pipes to fds 3 and 4 and
//! `exec`s, so Chromium is this process's child. Three things kill it: dropping the
//! [`Browser`] (SIGKILL to the whole group), the parent-death signal (`setpriv`, when this
//! process dies however it dies, even by SIGKILL), and Chromium's own children exiting when
//! their browser process is gone. The parent-death signal fires when the *thread* that spawned
//! the child exits, so each browser is spawned from a keeper thread that lives exactly as long
//! as Chromium (it waits for it).

use std::os::fd::OwnedFd;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::net::unix::pipe;
use tokio::sync::watch;

use crate::{BotError, Cdp, Page};

/// Features every bot browser disables, in Chromium's single `--disable-features` list (it
/// honours only the last such flag). Without the first, ICE never connects on a loopback-only
/// network.
pub const DISABLED_FEATURES: &[&str] = &[
    "WebRtcHideLocalIpsWithMdns",
    "Translate",
    "MediaRouter",
    "OptimizationHints",
    "DialMediaRouteProvider",
];

/// Prefix of each browser's private temp dir (`meetvault-bot-{pid}-…`).
const PROFILE_PREFIX: &str = "meetvault-bot-";

/// How to start a bot's browser.
#[derive(Debug, Clone)]
pub struct LaunchOptions {
    /// The Chromium executable (a name on `PATH` or a path).
    pub chromium: PathBuf,
    /// Words run before Chromium (after the shell that sets up its pipes, before `setpriv`),
    /// e.g. `["nsenter", "--net=/proc/N/ns/net", "--"]` to start it in a network namespace.
    pub command_prefix: Vec<String>,
    /// More Chromium flags (`--use-fake-device-for-media-stream`, `--no-sandbox` where a
    /// non-root bot cannot use the sandbox, …). A `--disable-features=` flag here is merged
    /// into the one list.
    pub extra_args: Vec<String>,
    /// Where the private profile dir is made (default: the system temp dir).
    pub temp_root: Option<PathBuf>,
    /// How long one protocol command may take.
    pub command_timeout: Duration,
    /// How long Chromium may take to start answering.
    pub start_timeout: Duration,
    /// Browser window size, in CSS pixels (what screenshots show).
    pub window_size: (u32, u32),
    /// Kill Chromium when this process dies (through `setpriv --pdeathsig KILL`). On by
    /// default; off only where util-linux's `setpriv` cannot run.
    pub parent_death_signal: bool,
}

impl Default for LaunchOptions {
    fn default() -> Self {
        LaunchOptions {
            chromium: PathBuf::from("chromium"),
            command_prefix: Vec::new(),
            extra_args: Vec::new(),
            temp_root: None,
            command_timeout: Duration::from_secs(30),
            start_timeout: Duration::from_secs(30),
            window_size: (1280, 720),
            parent_death_signal: true,
        }
    }
}

/// A running headless Chromium, driven over the DevTools pipe. Dropping it kills the browser
/// and every process in its group, and removes its profile.
#[derive(Debug)]
pub struct Browser {
    cdp: Cdp,
    pid: u32,
    exit: watch::Receiver<Option<ExitStatus>>,
    dir: Option<TempDir>,
}

impl Browser {
    /// Starts Chromium with a fresh profile and connects to it.
    pub async fn launch(options: LaunchOptions) -> Result<Browser, BotError> {
        check_tool(&options.chromium.to_string_lossy(), "chromium")?;
        if options.parent_death_signal {
            check_tool("setpriv", "util-linux")?;
        }
        let root = options.temp_root.clone().unwrap_or_else(std::env::temp_dir);
        sweep_stale_profiles(&root);
        let dir = tempfile::Builder::new()
            .prefix(&format!("{PROFILE_PREFIX}{}-", std::process::id()))
            .tempdir_in(&root)
            .map_err(BotError::io("creating the browser's temp dir"))?;
        let log = std::fs::File::create(dir.path().join("chromium.log"))
            .map_err(BotError::io("creating the browser's log"))?;
        let (to_browser_read, to_browser_write) =
            std::io::pipe().map_err(BotError::io("creating the protocol pipe"))?;
        let (from_browser_read, from_browser_write) =
            std::io::pipe().map_err(BotError::io("creating the protocol pipe"))?;

        let mut command = Command::new("sh");
        command
            .args(["-c", r#"exec "$@" 3<&0 4>&1 0</dev/null 1>&2"#, "-"])
            .args(&options.command_prefix);
        if options.parent_death_signal {
            command.args(["setpriv", "--pdeathsig", "KILL", "--"]);
        }
        command
            .arg(&options.chromium)
            .args(chromium_args(&options, &dir.path().join("profile"))?)
            .stdin(Stdio::from(to_browser_read))
            .stdout(Stdio::from(from_browser_write))
            .stderr(Stdio::from(log))
            // The bot's token is the bot's alone: the page's process never sees it.
            .env_remove(crate::TOKEN_ENV)
            .process_group(0);

        let (spawned_tx, spawned) = tokio::sync::oneshot::channel();
        let (exit_tx, exit) = watch::channel(None);
        std::thread::Builder::new()
            .name("chromium-keeper".into())
            .spawn(move || {
                let spawned = command.spawn();
                // Our copies of the browser's pipe ends close here, so its exit is our EOF.
                drop(command);
                match spawned {
                    Ok(mut child) => {
                        let _ = spawned_tx.send(Ok(child.id()));
                        if let Ok(status) = child.wait() {
                            let _ = exit_tx.send(Some(status));
                        }
                    }
                    Err(e) => {
                        let _ = spawned_tx.send(Err(e));
                    }
                }
            })
            .map_err(BotError::Launch)?;
        let pid = spawned
            .await
            .map_err(|_| BotError::Launch(std::io::Error::other("the keeper thread died")))?
            .map_err(BotError::Launch)?;

        let writer = pipe::Sender::from_owned_fd(OwnedFd::from(to_browser_write))
            .map_err(BotError::io("opening the protocol pipe"))?;
        let reader = pipe::Receiver::from_owned_fd(OwnedFd::from(from_browser_read))
            .map_err(BotError::io("opening the protocol pipe"))?;
        let cdp = Cdp::start(writer, reader, options.command_timeout);
        let browser = Browser {
            cdp,
            pid,
            exit,
            dir: Some(dir),
        };
        let version = browser
            .cdp
            .call_with_timeout(None, "Browser.getVersion", json!({}), options.start_timeout)
            .await;
        match version {
            Ok(version) => {
                tracing::debug!(pid, product = %version["product"], "browser started");
                Ok(browser)
            }
            Err(BotError::Timeout { .. }) => Err(BotError::StartTimeout(options.start_timeout)),
            Err(BotError::BrowserClosed(_)) => Err(BotError::Launch(std::io::Error::other(
                format!("Chromium exited at start: {}", browser.log_tail(2000)),
            ))),
            Err(e) => Err(e),
        }
    }

    /// A new tab on `about:blank`, attached with its own session, with `Page` and `Runtime`
    /// events enabled.
    pub async fn new_page(&self) -> Result<Page, BotError> {
        let target = self
            .cdp
            .call(None, "Target.createTarget", json!({"url": "about:blank"}))
            .await?;
        let target_id = target["targetId"].clone();
        let attached = self
            .cdp
            .call(
                None,
                "Target.attachToTarget",
                json!({"targetId": target_id, "flatten": true}),
            )
            .await?;
        let Some(session) = attached["sessionId"].as_str() else {
            return Err(BotError::Unexpected {
                method: "Target.attachToTarget".into(),
                detail: "no sessionId".into(),
            });
        };
        Page::attach(self.cdp.clone(), session.to_owned(), target_id).await
    }

    /// Sends a browser-level protocol command.
    pub async fn call(&self, method: &str, params: Value) -> Result<Value, BotError> {
        self.cdp.call(None, method, params).await
    }

    /// The protocol connection (for commands and events this API does not wrap).
    pub fn cdp(&self) -> &Cdp {
        &self.cdp
    }

    /// Chromium's process id (also its process group's id).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The private temp dir (profile and log), removed on drop.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_ref().map(TempDir::path)
    }

    /// Resolves when Chromium has exited or closed its protocol pipe (a crash, an OOM kill).
    pub async fn closed(&self) {
        self.cdp.closed().await;
    }

    /// The last `max` bytes Chromium wrote to stderr (for a failure report).
    pub fn log_tail(&self, max: usize) -> String {
        let Some(dir) = &self.dir else {
            return String::new();
        };
        let log = std::fs::read(dir.path().join("chromium.log")).unwrap_or_default();
        String::from_utf8_lossy(&log[log.len().saturating_sub(max)..]).into_owned()
    }

    /// Asks Chromium to close, then kills what remains and removes the profile.
    pub async fn close(self) {
        let _ = self
            .cdp
            .call_with_timeout(None, "Browser.close", json!({}), Duration::from_secs(5))
            .await;
        let mut exit = self.exit.clone();
        let _ = tokio::time::timeout(
            Duration::from_secs(5),
            exit.wait_for(|status| status.is_some()),
        )
        .await;
        drop(self);
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Ok(pgid) = i32::try_from(self.pid) {
            let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
        }
        // Let the keeper reap it before the profile goes, so nothing writes into a removed dir.
        let deadline = Instant::now() + Duration::from_secs(2);
        while self.exit.borrow().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        if let Some(dir) = self.dir.take()
            && let Err(e) = dir.close()
        {
            tracing::warn!(error = %e, "removing the browser's profile");
        }
    }
}

/// Chromium's flags for one bot browser.
fn chromium_args(options: &LaunchOptions, profile: &Path) -> Result<Vec<String>, BotError> {
    let Some(profile) = profile.to_str() else {
        return Err(BotError::Launch(std::io::Error::other(
            "the temp dir's path is not UTF-8",
        )));
    };
    let mut disabled: Vec<String> = DISABLED_FEATURES.iter().map(|f| f.to_string()).collect();
    let mut extra = Vec::new();
    for arg in &options.extra_args {
        match arg.strip_prefix("--disable-features=") {
            Some(list) => disabled.extend(list.split(',').map(str::to_owned)),
            None => extra.push(arg.clone()),
        }
    }
    let (width, height) = options.window_size;
    let mut args: Vec<String> = [
        "--headless=new",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--disable-default-apps",
        "--password-store=basic",
        "--mute-audio",
        "--autoplay-policy=no-user-gesture-required",
        "--allow-loopback-in-peer-connection",
        // A bot's tab is never visible: its timers and media must not be throttled.
        "--disable-background-timer-throttling",
        "--disable-renderer-backgrounding",
        "--disable-backgrounding-occluded-windows",
        "--remote-debugging-pipe",
    ]
    .iter()
    .map(|a| a.to_string())
    .collect();
    if running_as_root() {
        // The sandbox needs an unprivileged user; production bots run as one, with it on.
        args.push("--no-sandbox".into());
    }
    args.push(format!("--user-data-dir={profile}"));
    args.push(format!("--window-size={width},{height}"));
    args.push(format!("--disable-features={}", disabled.join(",")));
    args.extend(extra);
    args.push("about:blank".into());
    Ok(args)
}

fn running_as_root() -> bool {
    // /proc/self belongs to the effective user.
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Removes profiles left by bots that were killed (their pid no longer runs).
fn sweep_stale_profiles(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(PROFILE_PREFIX)) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn check_tool(tool: &str, package: &'static str) -> Result<(), BotError> {
    let found = if tool.contains('/') {
        Path::new(tool).is_file()
    } else {
        std::env::var_os("PATH")
            .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file()))
    };
    if found {
        Ok(())
    } else {
        Err(BotError::ToolMissing {
            tool: tool.to_owned(),
            package,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_disabled_feature_goes_in_one_list() {
        let options = LaunchOptions {
            extra_args: vec![
                "--disable-features=AudioServiceOutOfProcess".into(),
                "--use-fake-device-for-media-stream".into(),
            ],
            ..LaunchOptions::default()
        };
        let args = chromium_args(&options, Path::new("/tmp/p")).unwrap();
        let lists: Vec<&String> = args
            .iter()
            .filter(|a| a.starts_with("--disable-features="))
            .collect();
        assert_eq!(lists.len(), 1, "{args:?}");
        assert!(lists[0].contains("WebRtcHideLocalIpsWithMdns"));
        assert!(lists[0].ends_with(",AudioServiceOutOfProcess"));
        assert!(args.contains(&"--allow-loopback-in-peer-connection".to_string()));
        assert!(args.contains(&"--use-fake-device-for-media-stream".to_string()));
        assert_eq!(args.last().map(String::as_str), Some("about:blank"));
    }

    #[test]
    fn a_missing_chromium_is_named_with_its_package() {
        let error = check_tool("/nonexistent/chromium", "chromium").unwrap_err();
        assert!(error.to_string().contains("scripts/deps.sh"), "{error}");
    }
}
