//! Running the real `meetvault` binary as a child process, with its log captured line by line.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use meetvault_test_support::PASSWORD;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

pub fn meetvault() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_meetvault"));
    // The child sees only the configuration a test gives it.
    for (key, _) in std::env::vars() {
        if key.starts_with("MEETVAULT_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// `meetvault serve` on a random loopback port, killed when dropped.
pub struct ServerProcess {
    child: Child,
    pub addr: SocketAddr,
    lines: Arc<Mutex<Vec<String>>>,
}

impl ServerProcess {
    /// Starts the server in `dir` with extra environment and waits for its "listening" line.
    pub fn start(dir: &Path, env: &[(&str, &str)]) -> Self {
        let mut cmd = meetvault();
        cmd.args(["serve", "--listen", "127.0.0.1:0"])
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("starting meetvault");
        let lines = Arc::new(Mutex::new(Vec::new()));
        for reader in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let lines = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(reader).lines().map_while(Result::ok) {
                    lines.lock().unwrap().push(line);
                }
            });
        }
        let mut process = Self {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            lines,
        };
        let line = process.wait_for_log(|l| l.contains("\"listening\""), Duration::from_secs(30));
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        process.addr = v["addr"].as_str().unwrap().parse().unwrap();
        process
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The process id (to read its `/proc` status).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the process has logged so far.
    pub fn log(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    /// Waits for a log line matching `pred` (polling; fails with the log so far on timeout).
    pub fn wait_for_log(&mut self, pred: impl Fn(&str) -> bool, timeout: Duration) -> String {
        let start = Instant::now();
        loop {
            if let Some(line) = self.lines.lock().unwrap().iter().find(|l| pred(l)) {
                return line.clone();
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "meetvault exited ({status}) before the expected log line:\n{}",
                    self.log()
                );
            }
            assert!(
                start.elapsed() < timeout,
                "expected log line did not appear:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits for the process to exit by itself.
    pub fn wait(&mut self, timeout: Duration) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Let the reader threads drain what the process wrote last.
                std::thread::sleep(Duration::from_millis(100));
                return status;
            }
            assert!(
                start.elapsed() < timeout,
                "meetvault did not exit:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The database URL environment for a child process on this run's backend.
pub async fn database_env(dir: &Path) -> String {
    meetvault_test_support::fresh_database_url(dir)
        .await
        .expose()
        .to_owned()
}

/// The server's blob settings for this run's backend: none for the filesystem (the data dir's
/// default), the loopback S3 server under `prefix` for S3.
pub async fn blobs_env(prefix: &str) -> Vec<(String, String)> {
    use meetvault_test_support::{BlobBackendChoice, services};
    if services::blob_backend() != BlobBackendChoice::S3 {
        return Vec::new();
    }
    let c = services::s3_config(prefix).await;
    [
        ("BACKEND", "s3".to_owned()),
        ("S3__BUCKET", c.bucket.clone()),
        ("S3__ENDPOINT", c.endpoint.unwrap().to_string()),
        ("S3__PREFIX", prefix.to_owned()),
        ("S3__ACCESS_KEY_ID", "testing".into()),
        ("S3__SECRET_ACCESS_KEY", "testing".into()),
        ("S3__PATH_STYLE", "true".into()),
        ("S3__ALLOW_HTTP", "true".into()),
    ]
    .into_iter()
    .map(|(k, v)| (format!("MEETVAULT_BLOBS__{k}"), v))
    .collect()
}

/// A browser-like caller of a server process: registers, then sends its session cookie and
/// CSRF token.
pub struct Client {
    http: reqwest::Client,
    base: String,
    cookie: String,
    csrf: String,
}

impl Client {
    pub async fn register(base: &str, email: &str) -> Self {
        let http = reqwest::Client::new();
        let r = http
            .post(format!("{base}/api/v1/auth/register"))
            .json(
                &json!({"email": email, "password": PASSWORD, "name": "Owner", "org_name": "Org"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let cookie = r
            .headers()
            .get("set-cookie")
            .unwrap()
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let body: Value = r.json().await.unwrap();
        Self {
            http,
            base: base.to_owned(),
            cookie,
            csrf: body["csrf_token"].as_str().unwrap().to_owned(),
        }
    }

    /// Points the client at a restarted server (a new port); the session stays valid.
    pub fn rebase(&mut self, base: &str) {
        self.base = base.to_owned();
    }

    pub fn req(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .header("x-csrf-token", &self.csrf)
    }
}
