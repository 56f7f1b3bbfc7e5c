//! Integration tests against a real KMS implementation: moto's server, on loopback only.
//!
//! When `TEST_KMS_ENDPOINT` or `TEST_S3_ENDPOINT` is set (`scripts/services.sh start` sets the
//! latter: moto serves KMS on the same port as S3), those tests use it; otherwise each test starts
//! its own `moto_server` from the virtualenv `scripts/deps.sh` installs, and stops it when done.
//! The signature tests always start their own, with moto's request authentication switched on.
//! A missing moto fails the tests; nothing is skipped.
// Test code: an unwrap that fails is a failing test, with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod against_moto;
mod offline;
mod signatures;

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use meetvault_kms::{AwsKms, AwsKmsSettings, EncryptionContext};
use url::Url;
use zeroize::Zeroizing;

pub const SECRET_ACCESS_KEY: &str = "test-secret-access-key-do-not-print";
pub const SESSION_TOKEN: &str = "test-session-token-do-not-print";

/// A KMS endpoint on loopback; stops the `moto_server` it started, if any, when dropped.
#[derive(Debug)]
pub struct Moto {
    pub endpoint: Url,
    child: Option<Child>,
}

impl Drop for Moto {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Moto {
    /// The shared test server when one is configured, else a fresh one.
    pub fn shared_or_new() -> Self {
        for var in ["TEST_KMS_ENDPOINT", "TEST_S3_ENDPOINT"] {
            if let Ok(raw) = std::env::var(var) {
                let endpoint = Url::parse(&raw).unwrap_or_else(|e| panic!("{var}={raw}: {e}"));
                let host = endpoint.host_str().unwrap_or_default();
                assert!(
                    host == "127.0.0.1",
                    "{var} must be on 127.0.0.1, not {host}: these tests only use loopback"
                );
                return Self {
                    endpoint,
                    child: None,
                };
            }
        }
        Self::start(&[])
    }

    /// Starts `moto_server` on a free loopback port with `env` added, and waits until it listens.
    pub fn start(env: &[(&str, &str)]) -> Self {
        let tools = std::env::var_os("MEETVAULT_TOOLS_DIR")
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME")
                    .map(|home| PathBuf::from(home).join(".cache/meetvault-tools"))
            })
            .expect("neither MEETVAULT_TOOLS_DIR nor HOME is set, so moto_server cannot be found");
        let binary = tools.join("venv/bin/moto_server");
        assert!(
            binary.is_file(),
            "{} does not exist: run scripts/deps.sh to install moto, or start the test services \
             with `eval \"$(scripts/services.sh start)\"` so TEST_S3_ENDPOINT is set",
            binary.display()
        );
        let port = free_port();
        let mut child = Command::new(&binary)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                panic!(
                    "{} exited ({status}) before listening; run it by hand to see why",
                    binary.display()
                );
            }
            if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
                break;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "{} did not listen on {address} within 60 s",
                    binary.display()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Self {
            endpoint: Url::parse(&format!("http://{address}")).unwrap(),
            child: Some(child),
        }
    }
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    listener.local_addr().unwrap().port()
}

pub fn settings(endpoint: &Url) -> AwsKmsSettings {
    AwsKmsSettings {
        endpoint: Some(endpoint.clone()),
        region: "us-east-1".to_owned(),
        access_key_id: "AKIDEXAMPLE".to_owned(),
        secret_access_key: Zeroizing::new(SECRET_ACCESS_KEY.to_owned()),
        session_token: Some(Zeroizing::new(SESSION_TOKEN.to_owned())),
    }
}

pub fn client(moto: &Moto) -> AwsKms {
    AwsKms::new(settings(&moto.endpoint)).unwrap()
}

pub fn context(pairs: &[(&str, &str)]) -> EncryptionContext {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}
