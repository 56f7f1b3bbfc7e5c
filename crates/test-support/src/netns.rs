//! A private network namespace shared by several processes: the browsers of a WebRTC test
//! (whose peers must reach each other over the namespace's loopback UDP) and, later, a bot
//! process and its own Chromium. Nothing inside reaches this host's network except the
//! loopback TCP ports forwarded into it, at the same addresses (see [`Netns::forward`]).
//!
//! How: `unshare --net sleep infinity` holds the namespace; `nsenter --net=/proc/PID/ns/net`
//! runs anything else inside it. For each forwarded port, `socat` listens on `127.0.0.1:PORT`
//! inside and relays to a unix socket (unix sockets on the filesystem cross network
//! namespaces) that this process serves by connecting to the same port on the host. Every
//! process started here is killed when the last clone of the [`Netns`] is dropped.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tempfile::TempDir;
use tokio::net::{TcpStream, UnixListener};
use tokio::task::JoinHandle;

/// The switch without which WebRTC gathers no loopback candidates (no ICE on loopback).
pub const ALLOW_LOOPBACK_FLAG: &str = "--allow-loopback-in-peer-connection";

/// The features WebRTC needs off on a loopback-only network, besides [`ALLOW_LOOPBACK_FLAG`]:
/// mDNS host candidates never resolve here. Chromium
/// honours only the last `--disable-features`, so every disabled feature goes in one list:
/// build it with [`disable_features_flag`].
pub const ALWAYS_DISABLED_FEATURES: &[&str] = &["WebRtcHideLocalIpsWithMdns"];

/// `--disable-features=WebRtcHideLocalIpsWithMdns,…extra`: the one list Chromium honours.
pub fn disable_features_flag(extra: &[String]) -> String {
    let mut features: Vec<&str> = ALWAYS_DISABLED_FEATURES.to_vec();
    for f in extra {
        if !features.contains(&f.as_str()) {
            features.push(f);
        }
    }
    format!("--disable-features={}", features.join(","))
}

/// How long the namespace or a relay may take to come up.
const START: Duration = Duration::from_secs(10);

/// A private network namespace with loopback up and chosen host ports forwarded into it.
/// Cheap to clone; everything in it is killed when the last clone is dropped.
#[derive(Debug, Clone)]
pub struct Netns {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    holder: Mutex<Child>,
    pid: u32,
    relays: Mutex<Vec<Relay>>,
    dir: TempDir,
}

#[derive(Debug)]
struct Relay {
    addr: SocketAddr,
    socat: Child,
    task: JoinHandle<()>,
}

impl Netns {
    /// A new namespace where `forward` (IPv4 loopback addresses of this host) can be reached
    /// at the same addresses. Fails the test, naming `scripts/deps.sh`, if a tool is missing.
    pub async fn new(forward: &[SocketAddr]) -> Netns {
        require_tools(&[
            ("socat", "socat"),
            ("unshare", "util-linux"),
            ("nsenter", "util-linux"),
            ("ip", "iproute2"),
        ]);
        let dir = tempfile::tempdir().expect("creating the namespace's temp dir");
        let holder = Command::new("unshare")
            .args(["--net", "sleep", "infinity"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting unshare for the network namespace: {e}"));
        let pid = holder.id();
        let netns = Netns {
            inner: Arc::new(Inner {
                holder: Mutex::new(holder),
                pid,
                relays: Mutex::default(),
                dir,
            }),
        };
        // The holder is in its own namespace once unshare(2) has run.
        let own = std::fs::read_link("/proc/self/ns/net").expect("this process's namespace");
        wait_until(START, "the network namespace to exist", || {
            std::fs::read_link(netns.net_path()).is_ok_and(|ns| ns != own)
        });
        let up = netns
            .enter_command()
            .args(["ip", "link", "set", "lo", "up"])
            .output()
            .expect("running ip in the namespace");
        assert!(
            up.status.success(),
            "setting lo up in the namespace failed: {}",
            String::from_utf8_lossy(&up.stderr)
        );
        for addr in forward {
            netns.forward(*addr).await;
        }
        netns
    }

    /// Makes `addr` (an IPv4 loopback address of this host) reachable inside at the same
    /// address; returns once it is. Forwarding an address twice is a no-op.
    pub async fn forward(&self, addr: SocketAddr) {
        assert!(
            addr.ip().is_loopback() && addr.is_ipv4(),
            "the namespace reaches only IPv4 loopback addresses, not {addr}"
        );
        if !self.start_relay(addr) {
            return;
        }
        // Listening: socket state 0A on 127.0.0.1:PORT in the namespace's own table.
        let line = format!(" 0100007F:{:04X} 00000000:0000 0A", addr.port());
        let table = format!("/proc/{}/net/tcp", self.inner.pid);
        let deadline = Instant::now() + START;
        while !std::fs::read_to_string(&table).is_ok_and(|t| t.contains(&line)) {
            assert!(
                Instant::now() < deadline,
                "socat never listened on {addr} in the namespace"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Starts the relay for `addr`; false if there already is one.
    fn start_relay(&self, addr: SocketAddr) -> bool {
        let mut relays = self.inner.relays.lock().unwrap();
        if relays.iter().any(|r| r.addr == addr) {
            return false;
        }
        let socket = self
            .inner
            .dir
            .path()
            .join(format!("port-{}.sock", addr.port()));
        let task = relay(&socket, addr);
        // In a pid namespace of its own whose first process dies with `unshare`, so killing
        // the one child takes socat's per-connection forks too.
        let socat = self
            .enter_command()
            .args(["unshare", "--pid", "--fork", "--kill-child", "socat"])
            .arg(format!(
                "TCP-LISTEN:{},bind=127.0.0.1,fork,reuseaddr",
                addr.port()
            ))
            .arg(format!(
                "UNIX-CONNECT:{}",
                socket.to_str().expect("utf-8 path")
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting socat in the namespace: {e}"));
        relays.push(Relay { addr, socat, task });
        true
    }

    /// `/proc/PID/ns/net` of the namespace (what `nsenter --net=` takes).
    pub fn net_path(&self) -> PathBuf {
        PathBuf::from(format!("/proc/{}/ns/net", self.inner.pid))
    }

    /// The words that run a program inside the namespace when put in front of it:
    /// `["nsenter", "--net=/proc/PID/ns/net", "--"]`. For a process started later and not
    /// through this crate (a bot launcher's command prefix, say): the program keeps its pid
    /// (nsenter execs it) and its children stay inside. The namespace must outlive it.
    pub fn enter_prefix(&self) -> Vec<String> {
        vec![
            "nsenter".into(),
            format!("--net={}", self.net_path().display()),
            "--".into(),
        ]
    }

    /// [`Netns::enter_prefix`] as a [`Command`]: append the program and its arguments.
    pub fn enter_command(&self) -> Command {
        let mut command = Command::new("nsenter");
        command
            .arg(format!("--net={}", self.net_path().display()))
            .arg("--");
        command
    }

    /// Processes now inside the namespace (found by their `/proc/PID/ns/net`), as `(pid,
    /// command name)`; the holder and relays included. Lets a test check that nothing it
    /// started outlived its owner.
    pub fn processes(&self) -> Vec<(u32, String)> {
        let Ok(ns) = std::fs::read_link(self.net_path()) else {
            return Vec::new();
        };
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter(|pid| {
                std::fs::read_link(format!("/proc/{pid}/ns/net")).is_ok_and(|link| link == ns)
            })
            .map(|pid| {
                let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
                (pid, comm.trim().to_owned())
            })
            .collect()
    }

    /// A scratch directory that lives as long as the namespace.
    pub fn dir(&self) -> &Path {
        self.inner.dir.path()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        for relay in self
            .relays
            .get_mut()
            .map(std::mem::take)
            .unwrap_or_default()
        {
            let mut socat = relay.socat;
            let _ = socat.kill();
            let _ = socat.wait();
            relay.task.abort();
        }
        if let Ok(holder) = self.holder.get_mut() {
            let _ = holder.kill();
            let _ = holder.wait();
        }
    }
}

/// Serves `socket` by relaying each connection to `target`.
fn relay(socket: &Path, target: SocketAddr) -> JoinHandle<()> {
    let listener = UnixListener::bind(socket).expect("binding the namespace's relay socket");
    tokio::spawn(async move {
        while let Ok((mut inside, _)) = listener.accept().await {
            tokio::spawn(async move {
                if let Ok(mut outside) = TcpStream::connect(target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inside, &mut outside).await;
                }
            });
        }
    })
}

fn wait_until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "waited {limit:?} for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Fails loudly, naming `scripts/deps.sh`, when a tool is missing.
pub(crate) fn require_tools(tools: &[(&str, &str)]) {
    for (tool, package) in tools {
        assert!(
            on_path(tool),
            "`{tool}` is needed by the browser tests and is not installed: run scripts/deps.sh \
             (apt-get install {package})"
        );
    }
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file()))
}

/// `path` as one single-quoted shell word.
pub(crate) fn shell_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}
