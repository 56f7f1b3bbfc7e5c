//! A real browser for tests: headless Chromium driven over the DevTools protocol (CDP), for
//! what only a browser shows (a download rendered as a page, a script run in our origin, a
//! testmeet meeting between several browsers).
//!
//! Chromium runs in a private network namespace ([`Netns`]), so it reaches nothing but the
//! loopback ports the test forwards, at their own addresses: URLs, `Host` and `Origin` are
//! therefore the app's own. [`Browser::launch`] gives each browser a namespace of its own;
//! [`Browser::launch_in`] puts several in one, where their WebRTC peers reach each other over
//! loopback UDP (the loopback switches WebRTC needs are always on). The protocol itself goes
//! over `--remote-debugging-pipe`, through two named FIFOs: no debugging port exists for
//! anything to reach. A missing tool is a loud failure naming `scripts/deps.sh`, never a
//! skipped test; every Chromium process dies with its [`Browser`].

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::pipe;
use tokio::sync::{broadcast, oneshot};

pub use crate::netns::Netns;
use crate::netns::{ALLOW_LOOPBACK_FLAG, disable_features_flag, require_tools, shell_quote};

/// How long one protocol command, a page load or the browser's start may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// A headless Chromium in a private network namespace. Killed, with all its processes, when
/// dropped (the namespace lives on while another browser or clone of its [`Netns`] does).
#[derive(Debug)]
pub struct Browser {
    cdp: Cdp,
    child: Child,
    dir: TempDir,
    /// Dropped after the browser is killed (fields drop after `Drop::drop`).
    _netns: Netns,
}

/// What a browser is started with, beyond the harness's own switches.
#[derive(Debug, Clone, Default)]
pub struct BrowserOptions {
    /// Extra Chromium switches, each with its leading `--`
    /// (`--use-file-for-fake-audio-capture=/tmp/a.wav`).
    pub flags: Vec<String>,
    /// Features to disable besides `WebRtcHideLocalIpsWithMdns`: the harness puts them all
    /// in the one `--disable-features` list Chromium honours.
    pub disable_features: Vec<String>,
}

impl BrowserOptions {
    /// A meeting participant: camera and microphone are Chromium's fake devices, allowed
    /// without a prompt, and media plays without a user gesture.
    pub fn fake_media() -> Self {
        BrowserOptions::default()
            .flag("--use-fake-ui-for-media-stream")
            .flag("--use-fake-device-for-media-stream")
            .flag("--autoplay-policy=no-user-gesture-required")
    }

    /// [`BrowserOptions::fake_media`] whose microphone plays `wav` in a loop (a WAV file;
    /// 48 kHz mono 16-bit is safest).
    pub fn speaking(wav: &Path) -> Self {
        Self::fake_media().flag(&format!(
            "--use-file-for-fake-audio-capture={}",
            path_str(wav)
        ))
    }

    /// Adds one switch (with its leading `--`).
    pub fn flag(mut self, flag: &str) -> Self {
        self.flags.push(flag.to_owned());
        self
    }
}

/// One tab, attached with its own protocol session.
#[derive(Debug, Clone)]
pub struct Page {
    cdp: Cdp,
    session: String,
}

/// How a navigation ended.
#[derive(Debug, Clone)]
pub struct Navigation {
    /// The response was a download: nothing was rendered and the page stayed where it was.
    pub is_download: bool,
    /// Chromium's reason when the navigation did not commit (`net::ERR_ABORTED` for a
    /// download).
    pub error: Option<String>,
}

impl Browser {
    /// Starts Chromium in a namespace of its own where only `forward` (loopback addresses of
    /// this host, such as a [`TestApp`](crate::TestApp)'s) can be reached, at the same
    /// addresses. Downloads are refused, so nothing a page offers is saved.
    pub async fn launch(forward: &[SocketAddr]) -> Browser {
        let netns = Netns::new(forward).await;
        Browser::launch_in(&netns, BrowserOptions::default()).await
    }

    /// Starts Chromium inside `netns`, beside whatever else runs there (other browsers, whose
    /// WebRTC peers then reach each other over the namespace's loopback), with `options`. The
    /// WebRTC loopback switches are always on. The namespace lives at least as long as the
    /// browser.
    pub async fn launch_in(netns: &Netns, options: BrowserOptions) -> Browser {
        require_tools(&[("chromium", "chromium")]);
        let dir = tempfile::tempdir().expect("creating the browser's temp dir");
        let (to_browser, from_browser) = (dir.path().join("cdp.in"), dir.path().join("cdp.out"));
        for fifo in [&to_browser, &from_browser] {
            crate::media::run("mkfifo", "coreutils", &[fifo.to_str().expect("utf-8 path")]);
        }
        let mut flags = vec![
            format!("--user-data-dir={}", path_str(&dir.path().join("profile"))),
            ALLOW_LOOPBACK_FLAG.to_owned(),
            disable_features_flag(&options.disable_features),
        ];
        for flag in &options.flags {
            assert!(
                flag.starts_with("--") && !flag.starts_with("--disable-features"),
                "browser flags start with `--`, and disabled features go in \
                 BrowserOptions::disable_features (Chromium honours only one list): {flag}"
            );
            flags.push(flag.clone());
        }
        let flags: Vec<String> = flags.iter().map(|f| shell_quote(f)).collect();
        let script = format!(
            "exec chromium --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage \
             --no-first-run --no-default-browser-check \
             --disable-background-networking --disable-component-update --disable-sync \
             --disable-extensions --mute-audio --remote-debugging-pipe {flags} about:blank \
             3<{to_browser} 4>{from_browser}\n",
            flags = flags.join(" "),
            to_browser = shell_quote(path_str(&to_browser)),
            from_browser = shell_quote(path_str(&from_browser)),
        );
        let log = std::fs::File::create(dir.path().join("browser.log")).expect("browser log");
        // In a pid namespace of its own whose first process dies with `unshare`: killing the
        // one child takes every Chromium process with it.
        let mut child = netns
            .enter_command()
            .args(["unshare", "--pid", "--fork", "--mount-proc", "--kill-child"])
            .args(["sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("browser log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("starting nsenter for the browser: {e}"));
        // The shell opens the FIFOs in this order just before Chromium starts; opening blocks
        // until both ends are there, so a browser that never starts is a timeout, not a hang.
        let opened = tokio::time::timeout(TIMEOUT, async {
            let writer = open_fifo(to_browser.clone(), true).await?;
            let reader = open_fifo(from_browser.clone(), false).await?;
            std::io::Result::Ok((writer, reader))
        })
        .await;
        let (writer, reader) = match opened {
            Ok(Ok(pair)) => pair,
            failed => {
                // Release a blocked open (a FIFO opened for both never blocks), then report.
                for fifo in [&to_browser, &from_browser] {
                    let _ = std::fs::OpenOptions::new()
                        .read(true)
                        .write(true)
                        .open(fifo);
                }
                let _ = child.kill();
                let _ = child.wait();
                let why = match failed {
                    Ok(Err(e)) => format!("opening the DevTools pipe failed: {e}"),
                    _ => format!("Chromium did not open its DevTools pipe in {TIMEOUT:?}"),
                };
                panic!("{why}; the browser said:\n{}", read_log(dir.path()));
            }
        };
        let cdp = Cdp::start(
            pipe::Sender::from_file(writer).expect("the DevTools pipe"),
            pipe::Receiver::from_file(reader).expect("the DevTools pipe"),
        );
        cdp.call(
            None,
            "Browser.setDownloadBehavior",
            json!({"behavior": "deny"}),
        )
        .await;
        Browser {
            cdp,
            child,
            dir,
            _netns: netns.clone(),
        }
    }

    /// A new tab on `about:blank`.
    pub async fn new_page(&self) -> Page {
        let target = self
            .cdp
            .call(None, "Target.createTarget", json!({"url": "about:blank"}))
            .await;
        let attached = self
            .cdp
            .call(
                None,
                "Target.attachToTarget",
                json!({"targetId": target["targetId"], "flatten": true}),
            )
            .await;
        let page = Page {
            cdp: self.cdp.clone(),
            session: attached["sessionId"]
                .as_str()
                .expect("a session id")
                .to_owned(),
        };
        page.call("Page.enable", json!({})).await;
        page
    }

    /// Sends a protocol command to the browser itself (`Browser.setPermission`, …).
    pub async fn call(&self, method: &str, params: Value) -> Value {
        self.cdp.call(None, method, params).await
    }

    /// Chromium's own output so far (for a failure message).
    pub fn log(&self) -> String {
        read_log(self.dir.path())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // unshare's --kill-child takes the namespace's first process, and with it the rest.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Page {
    /// Sets a cookie for `url`'s site, as a server's `Set-Cookie: NAME=VALUE; HttpOnly;
    /// SameSite=Lax` would.
    pub async fn set_cookie(&self, url: &str, name: &str, value: &str) {
        let set = self
            .call(
                "Network.setCookie",
                json!({"url": url, "name": name, "value": value, "httpOnly": true, "sameSite": "Lax"}),
            )
            .await;
        assert_eq!(set["success"], json!(true), "setting cookie {name}: {set}");
    }

    /// Navigates to `url` and waits for the page's load event (every script has run), or for
    /// the navigation to end without a page (a download, an error).
    pub async fn navigate(&self, url: &str) -> Navigation {
        let mut events = self.cdp.events.subscribe();
        let started = self.call("Page.navigate", json!({"url": url})).await;
        let navigation = Navigation {
            is_download: started["isDownload"].as_bool().unwrap_or(false),
            error: started["errorText"].as_str().map(str::to_owned),
        };
        if navigation.is_download || navigation.error.is_some() {
            return navigation;
        }
        let loaded = tokio::time::timeout(TIMEOUT, async {
            loop {
                match events.recv().await {
                    Ok(event)
                        if event["method"] == "Page.loadEventFired"
                            && event["sessionId"] == self.session.as_str() =>
                    {
                        return;
                    }
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => {
                        panic!("the browser closed while loading {url}")
                    }
                }
            }
        })
        .await;
        assert!(
            loaded.is_ok(),
            "{url} did not finish loading in {TIMEOUT:?}"
        );
        navigation
    }

    /// Evaluates `expression` in the page and returns its value, awaiting it when it is a
    /// promise; an exception fails the test.
    pub async fn evaluate(&self, expression: &str) -> Value {
        let out = self
            .call(
                "Runtime.evaluate",
                json!({"expression": expression, "awaitPromise": true, "returnByValue": true}),
            )
            .await;
        if let Some(exception) = out.get("exceptionDetails") {
            panic!("`{expression}` threw: {exception}");
        }
        out["result"]["value"].clone()
    }

    /// Runs `source` in every document this page loads from now on, before the page's own
    /// scripts (`Page.addScriptToEvaluateOnNewDocument`).
    pub async fn add_init_script(&self, source: &str) {
        self.call(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({"source": source}),
        )
        .await;
    }

    /// Polls `expression` every 50 ms until it is truthy and returns that value; fails the
    /// test after `limit`, naming `what` and the last value seen.
    pub async fn wait_for(&self, what: &str, expression: &str, limit: Duration) -> Value {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            // A page that navigates meanwhile (a form sent, a reload) is asked again.
            let value = self
                .cdp
                .try_call(
                    Some(&self.session),
                    "Runtime.evaluate",
                    json!({"expression": expression, "awaitPromise": true, "returnByValue": true}),
                )
                .await
                .ok()
                .filter(|out| out.get("exceptionDetails").is_none())
                .map_or(Value::Null, |out| out["result"]["value"].clone());
            let truthy = match &value {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64().is_some_and(|n| n != 0.0),
                Value::String(s) => !s.is_empty(),
                Value::Array(_) | Value::Object(_) => true,
            };
            if truthy {
                return value;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "waited {limit:?} for {what}: `{expression}` is still {value}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sends any protocol command to this page's session and returns its result.
    pub async fn call(&self, method: &str, params: Value) -> Value {
        self.cdp.call(Some(&self.session), method, params).await
    }

    /// From now on, collects what the page's console and the browser's log say (CSP
    /// violations are logged there as errors of source `security`, exceptions as
    /// `exception: …`): one line each, as `LEVEL SOURCE: text`.
    pub async fn watch_console(&self) -> Console {
        let console = Console::default();
        let (lines, mut events, session) = (
            console.0.clone(),
            self.cdp.events.subscribe(),
            self.session.clone(),
        );
        tokio::spawn(async move {
            loop {
                let event = match events.recv().await {
                    Ok(event) => event,
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                if event["sessionId"] != session.as_str() {
                    continue;
                }
                let p = &event["params"];
                let line = match event["method"].as_str() {
                    Some("Log.entryAdded") => format!(
                        "{} {}: {}",
                        p["entry"]["level"].as_str().unwrap_or("?"),
                        p["entry"]["source"].as_str().unwrap_or("?"),
                        p["entry"]["text"].as_str().unwrap_or("")
                    ),
                    Some("Runtime.consoleAPICalled") => format!(
                        "{} console: {}",
                        p["type"].as_str().unwrap_or("?"),
                        p["args"]
                    ),
                    Some("Runtime.exceptionThrown") => {
                        format!("error exception: {}", p["exceptionDetails"])
                    }
                    _ => continue,
                };
                lines.lock().unwrap().push(line);
            }
        });
        self.call("Log.enable", json!({})).await;
        self.call("Runtime.enable", json!({})).await;
        console
    }

    /// Chooses `files` in the file input `selector` selects (as a person picking them would).
    pub async fn set_files(&self, selector: &str, files: &[&Path]) {
        let document = self.call("DOM.getDocument", json!({})).await;
        let node = self
            .call(
                "DOM.querySelector",
                json!({"nodeId": document["root"]["nodeId"], "selector": selector}),
            )
            .await;
        assert_ne!(node["nodeId"], json!(0), "no element matches {selector}");
        let files: Vec<String> = files.iter().map(|f| path_str(f).to_owned()).collect();
        self.call(
            "DOM.setFileInputFiles",
            json!({"nodeId": node["nodeId"], "files": files}),
        )
        .await;
    }

    /// Presses a key as a keyboard would (`Tab`, `Shift+Tab`, `Enter`, `Space`, `Escape`):
    /// focus moves, buttons activate and forms submit as they do for a person.
    pub async fn press(&self, key: &str) {
        let (shift, key) = match key.strip_prefix("Shift+") {
            Some(k) => (true, k),
            None => (false, key),
        };
        let (code, vk, text) = match key {
            "Tab" => ("Tab", 9, ""),
            "Enter" => ("Enter", 13, "\r"),
            "Space" => ("Space", 32, " "),
            "Escape" => ("Escape", 27, ""),
            other => panic!("press: no key {other}"),
        };
        let name = if key == "Space" { " " } else { key };
        let modifiers = if shift { 8 } else { 0 };
        for kind in ["keyDown", "keyUp"] {
            let mut event = json!({"type": kind, "key": name, "code": code, "modifiers": modifiers,
                "windowsVirtualKeyCode": vk, "nativeVirtualKeyCode": vk});
            if kind == "keyDown" && !text.is_empty() {
                event["text"] = json!(text);
            }
            self.call("Input.dispatchKeyEvent", event).await;
        }
    }

    /// Types `text` into whatever has the focus.
    pub async fn type_text(&self, text: &str) {
        self.call("Input.insertText", json!({"text": text})).await;
    }

    /// Saves a PNG of the whole page (not only the viewport) to `path`.
    pub async fn screenshot(&self, path: &Path) {
        use base64::Engine as _;
        let shot = self
            .call(
                "Page.captureScreenshot",
                json!({"format": "png", "captureBeyondViewport": true}),
            )
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("screenshot data"))
            .expect("screenshot base64");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(path, png).unwrap();
    }

    /// Emulates a viewport of `width`×`height` CSS pixels at `scale` device pixels each
    /// (a 1280 px window at 200 % zoom is 640 CSS pixels wide at scale 2).
    pub async fn viewport(&self, width: u32, height: u32, scale: f64) {
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": scale, "mobile": width < 500}),
        )
        .await;
    }
}

/// What a page's console and the browser's log said, collected by [`Page::watch_console`].
#[derive(Debug, Clone, Default)]
pub struct Console(Arc<Mutex<Vec<String>>>);

impl Console {
    /// Every line so far.
    pub fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    /// Forgets what was said so far (between pages).
    pub fn clear(&self) {
        self.0.lock().unwrap().clear();
    }
}

/// The protocol over the pipe: JSON messages, each ended by a NUL byte. Replies are matched to
/// commands by id; everything else is an event, broadcast to whoever listens.
#[derive(Debug, Clone)]
struct Cdp {
    writer: Arc<tokio::sync::Mutex<pipe::Sender>>,
    pending: Arc<Mutex<HashMap<u64, oneshot::Sender<Value>>>>,
    events: broadcast::Sender<Value>,
    next_id: Arc<AtomicU64>,
}

impl Cdp {
    fn start(writer: pipe::Sender, mut reader: pipe::Receiver) -> Cdp {
        let cdp = Cdp {
            writer: Arc::new(tokio::sync::Mutex::new(writer)),
            pending: Arc::default(),
            events: broadcast::channel(1024).0,
            next_id: Arc::new(AtomicU64::new(1)),
        };
        let (pending, events) = (cdp.pending.clone(), cdp.events.clone());
        tokio::spawn(async move {
            let mut buffer = Vec::new();
            let mut chunk = vec![0u8; 64 * 1024];
            while let Ok(n @ 1..) = reader.read(&mut chunk).await {
                buffer.extend_from_slice(&chunk[..n]);
                while let Some(end) = buffer.iter().position(|b| *b == 0) {
                    let message: Vec<u8> = buffer.drain(..=end).collect();
                    let Ok(message) = serde_json::from_slice::<Value>(&message[..end]) else {
                        continue;
                    };
                    match message["id"].as_u64() {
                        Some(id) => {
                            if let Some(reply) = pending.lock().unwrap().remove(&id) {
                                let _ = reply.send(message);
                            }
                        }
                        None => {
                            let _ = events.send(message);
                        }
                    }
                }
            }
            // The browser is gone: every waiting command learns it.
            pending.lock().unwrap().clear();
        });
        cdp
    }

    /// Sends `method` (to a page's `session`, or to the browser) and returns its result; a
    /// protocol error, a closed browser or a timeout fails the test.
    async fn call(&self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.try_call(session, method, params)
            .await
            .unwrap_or_else(|error| panic!("{method} failed: {error}"))
    }

    /// [`Cdp::call`], with the protocol's error as an `Err` (a page navigating away while a
    /// command runs in it answers one).
    async fn try_call(
        &self,
        session: Option<&str>,
        method: &str,
        params: Value,
    ) -> Result<Value, Value> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut message = json!({"id": id, "method": method, "params": params});
        if let Some(session) = session {
            message["sessionId"] = json!(session);
        }
        let (tx, rx) = oneshot::channel();
        self.pending.lock().unwrap().insert(id, tx);
        let mut bytes = serde_json::to_vec(&message).unwrap();
        bytes.push(0);
        {
            self.writer
                .lock()
                .await
                .write_all(&bytes)
                .await
                .unwrap_or_else(|e| panic!("sending {method} to the browser: {e}"));
        }
        let reply = match tokio::time::timeout(TIMEOUT, rx).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(_)) => panic!("the browser closed before answering {method}"),
            Err(_) => panic!("the browser did not answer {method} in {TIMEOUT:?}"),
        };
        if let Some(error) = reply.get("error") {
            return Err(error.clone());
        }
        Ok(reply["result"].clone())
    }
}

/// Opens one end of a FIFO (blocking until the other end is opened, on a blocking thread).
async fn open_fifo(path: PathBuf, write: bool) -> std::io::Result<std::fs::File> {
    tokio::task::spawn_blocking(move || {
        std::fs::OpenOptions::new()
            .read(!write)
            .write(write)
            .open(path)
    })
    .await
    .map_err(std::io::Error::other)?
}

fn read_log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("browser.log")).unwrap_or_default()
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}
