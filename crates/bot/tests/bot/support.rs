//! What the bot's browser tests share: one private network namespace that every browser of a
//! test joins (through the launch prefix), a tiny page server reachable inside it, and a look
//! at the process table.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use meetvault_bot::LaunchOptions;
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixListener;
use tokio::task::JoinHandle;

/// One meeting at a time: a meeting test runs several Chromiums and real-time WebRTC, and two
/// of them at once on a 2-core machine starve each other's jitter buffers (the audio-loss and
/// correlation bounds then measure the machine, not the bot). Every meeting test holds this.
pub async fn one_meeting_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    static MEETING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    MEETING.lock().await
}

/// The port the page server answers on inside the namespace.
pub const PORT: u16 = 8000;

/// A private network namespace with only loopback, held open by a `socat` that relays
/// `127.0.0.1:PORT` inside it to a unix socket this process serves (unix sockets on the
/// filesystem cross namespaces). Killed when dropped.
#[derive(Debug)]
pub struct Netns {
    holder: Child,
    server: JoinHandle<()>,
    _dir: TempDir,
}

impl Netns {
    /// Starts the namespace, serving `pages` (path → HTML) at `http://127.0.0.1:PORT`.
    pub async fn start(pages: HashMap<String, String>) -> Netns {
        for (tool, package) in [
            ("unshare", "util-linux"),
            ("nsenter", "util-linux"),
            ("setpriv", "util-linux"),
            ("socat", "socat"),
            ("ip", "iproute2"),
            ("chromium", "chromium"),
        ] {
            assert!(
                on_path(tool),
                "`{tool}` is needed by the bot's browser tests and is not installed: run \
                 scripts/deps.sh (apt-get install {package})"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("pages.sock");
        let listener = UnixListener::bind(&socket).unwrap();
        let server = tokio::spawn(serve(listener, pages));
        // No --fork: unshare execs the shell, which execs socat, so the child's pid is in the
        // namespace and names it for nsenter.
        let holder = Command::new("unshare")
            .args(["--net", "sh", "-c"])
            .arg(format!(
                "ip link set lo up && exec socat TCP-LISTEN:{PORT},bind=127.0.0.1,fork,reuseaddr \
                 UNIX-CONNECT:'{}'",
                socket.display()
            ))
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let netns = Netns {
            holder,
            server,
            _dir: dir,
        };
        let listening = format!(" 0100007F:{PORT:04X} 00000000:0000 0A");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let table = std::fs::read_to_string(format!("/proc/{}/net/tcp", netns.pid()))
                .unwrap_or_default();
            let own = std::fs::read_link("/proc/self/ns/net").ok();
            let theirs = std::fs::read_link(format!("/proc/{}/ns/net", netns.pid())).ok();
            if theirs.is_some() && theirs != own && table.contains(&listening) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "socat never listened in the namespace"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        netns
    }

    fn pid(&self) -> u32 {
        self.holder.id()
    }

    /// Launch options that start Chromium inside this namespace.
    pub fn options(&self, extra_args: &[String]) -> LaunchOptions {
        LaunchOptions {
            command_prefix: vec![
                "nsenter".into(),
                format!("--net=/proc/{}/ns/net", self.pid()),
                "--".into(),
            ],
            extra_args: extra_args.to_vec(),
            ..LaunchOptions::default()
        }
    }

    /// The URL of `path` as the browsers in the namespace see it.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{PORT}{path}")
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = self.holder.kill();
        let _ = self.holder.wait();
        self.server.abort();
    }
}

/// A minimal HTTP/1.0-style server: GET of a known path answers its HTML, anything else 404.
async fn serve(listener: UnixListener, pages: HashMap<String, String>) {
    while let Ok((mut stream, _)) = listener.accept().await {
        let pages = pages.clone();
        tokio::spawn(async move {
            let mut request = Vec::new();
            let mut buffer = [0u8; 4096];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 65536 {
                match stream.read(&mut buffer).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => request.extend_from_slice(&buffer[..n]),
                }
            }
            let head = String::from_utf8_lossy(&request);
            let path = head.split_whitespace().nth(1).unwrap_or("/");
            let path = path.split('?').next().unwrap_or("/");
            let response = match pages.get(path) {
                Some(html) => format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\n\
                     content-length: {}\r\nconnection: close\r\n\r\n{html}",
                    html.len()
                ),
                None => "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    .to_string(),
            };
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = stream.shutdown().await;
        });
    }
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file()))
}

/// A process as `/proc` shows it: its pid and start time (together they name it uniquely).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Process {
    pub pid: u32,
    pub start: u64,
    pub cmdline: String,
}

/// `pid` and every process descended from it, now.
pub fn process_tree(pid: u32) -> Vec<Process> {
    let mut all = HashMap::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(p) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if let Some((parent, process)) = read_process(p) {
            all.insert(p, (parent, process));
        }
    }
    let mut tree = Vec::new();
    let mut frontier = vec![pid];
    while let Some(next) = frontier.pop() {
        if let Some((_, process)) = all.get(&next) {
            tree.push(process.clone());
        }
        frontier.extend(
            all.iter()
                .filter(|(_, (parent, _))| *parent == next)
                .map(|(p, _)| *p),
        );
    }
    tree
}

/// Whether `process` (the same one, not a reuse of its pid) still exists (zombies count as
/// gone: they run nothing).
pub fn alive(process: &Process) -> bool {
    read_process(process.pid).is_some_and(|(_, p)| p.start == process.start)
        && !std::fs::read_to_string(format!("/proc/{}/stat", process.pid)).is_ok_and(|stat| {
            stat.rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
}

/// Waits up to `limit` for every one of `processes` to be gone; returns those still alive.
pub async fn wait_gone(processes: &[Process], limit: Duration) -> Vec<Process> {
    let deadline = Instant::now() + limit;
    loop {
        let left: Vec<Process> = processes.iter().filter(|p| alive(p)).cloned().collect();
        if left.is_empty() || Instant::now() > deadline {
            return left;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn read_process(pid: u32) -> Option<(u32, Process)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the command: state, ppid, …; the start time is field 22 (index 19 here).
    let parent = fields.get(1)?.parse().ok()?;
    let start = fields.get(19)?.parse().ok()?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .unwrap_or_default();
    Some((
        parent,
        Process {
            pid,
            start,
            cmdline,
        },
    ))
}

/// Speaks `text` with espeak-ng's `voice` into a 48 kHz mono 16-bit WAV in `dir`.
pub fn speech(dir: &Path, name: &str, voice: &str, text: &str) -> PathBuf {
    let raw = dir.join(format!("{name}-raw.wav"));
    let out = dir.join(format!("{name}.wav"));
    run(
        "espeak-ng",
        &["-v", voice, "-s", "150", "-w", raw.to_str().unwrap(), text],
    );
    run(
        "ffmpeg",
        &[
            "-v",
            "error",
            "-y",
            "-i",
            raw.to_str().unwrap(),
            "-ar",
            "48000",
            "-ac",
            "1",
            "-c:a",
            "pcm_s16le",
            out.to_str().unwrap(),
        ],
    );
    out
}

fn run(tool: &str, args: &[&str]) {
    let out = Command::new(tool).args(args).output().unwrap_or_else(|e| {
        panic!("`{tool}` is needed by this test and cannot run ({e}): run scripts/deps.sh")
    });
    assert!(
        out.status.success(),
        "`{tool} {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// CPU time (seconds, user + system) and proportional set size (MiB) of `pid`'s whole tree.
pub fn usage(pid: u32) -> (f64, f64) {
    let ticks = 100.0; // USER_HZ on Linux
    let (mut cpu, mut pss_kib) = (0.0, 0.0);
    for process in process_tree(pid) {
        if let Ok(stat) = std::fs::read_to_string(format!("/proc/{}/stat", process.pid))
            && let Some((_, rest)) = stat.rsplit_once(')')
        {
            let fields: Vec<&str> = rest.split_whitespace().collect();
            for i in [11, 12] {
                cpu += fields
                    .get(i)
                    .and_then(|f| f.parse::<f64>().ok())
                    .unwrap_or(0.0)
                    / ticks;
            }
        }
        let rollup = std::fs::read_to_string(format!("/proc/{}/smaps_rollup", process.pid))
            .unwrap_or_default();
        for line in rollup.lines() {
            if let Some(kib) = line.strip_prefix("Pss:") {
                pss_kib += kib
                    .trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<f64>()
                    .unwrap_or(0.0);
            }
        }
    }
    (cpu, pss_kib / 1024.0)
}
