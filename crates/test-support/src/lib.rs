//! The test harness: [`TestApp`] starts the whole application in-process on a random loopback
//! port with a fresh database and blob store; [`services`] finds the loopback PostgreSQL and S3
//! servers the suite runs against, or fails loudly saying how to start them; [`browser`] drives
//! a headless Chromium confined to the ports a test forwards, several of them sharing one
//! [`netns`] when they must reach each other (WebRTC), and [`testmeet`] drives testmeet's
//! page in one. [`TestApp::on_events`] reads a meeting's event stream in the background;
//! [`smtp`] is a loopback SMTP sink that keeps what the mailer sends.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test tooling: a failure here is a test failure

mod accounts;
pub mod browser;
mod events;
pub mod idp;
pub mod media;
pub mod netns;
pub mod receiver;
pub mod services;
pub mod smtp;
pub mod testmeet;
mod tidy;

use std::net::SocketAddr;
use std::sync::{Arc, Once};

use meetvault_config::{BlobBackend, Config, DatabaseUrl};
use meetvault_core::Core;
use meetvault_store::Database;
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use accounts::{Cred, PASSWORD, Session, json_str};
pub use services::{Backend, BlobBackendChoice};

/// A running meetvault for one test. Shuts down when dropped.
#[derive(Debug)]
pub struct TestApp {
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT` (or `https://localhost:PORT` with TLS).
    pub base_url: String,
    pub redirect_addr: Option<SocketAddr>,
    pub client: reqwest::Client,
    pub config: Arc<Config>,
    core: Core,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), meetvault_http::ServerError>>>,
    _dir: Arc<TempDir>,
}

impl TestApp {
    /// The app on this run's backends (`TEST_DATABASE`, `TEST_BLOBS`) with default settings.
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// Like [`spawn`](Self::spawn), after `adjust` has changed the configuration.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> Self {
        init_test_logs();
        let dir = Arc::new(tempfile::tempdir().expect("creating a temp dir"));
        let mut config = fresh_config(dir.path()).await;
        adjust(&mut config);
        Self::start(config, dir, true).await
    }

    /// A second instance of the same installation (same data dir, keys and database), as a
    /// horizontally scaled deployment runs it, with `adjust` applied to a copy of the config.
    pub async fn spawn_sibling(&self, adjust: impl FnOnce(&mut Config)) -> Self {
        let mut config = (*self.config).clone();
        adjust(&mut config);
        Self::start(config, self._dir.clone(), true).await
    }

    /// A sibling that serves the API but runs no job workers, so every job runs elsewhere.
    pub async fn spawn_serving_sibling(&self) -> Self {
        Self::start((*self.config).clone(), self._dir.clone(), false).await
    }

    async fn start(config: Config, dir: Arc<TempDir>, workers: bool) -> Self {
        let config = Arc::new(config);
        let core = Core::open(config.clone())
            .await
            .expect("opening the stores");
        let server = meetvault_http::Server::bind(core.clone())
            .await
            .expect("binding the server");
        let addr = server.local_addr();
        let redirect_addr = server.redirect_addr();
        let scheme = server.scheme();
        let (tx, rx) = oneshot::channel::<()>();
        let workers = workers.then(|| core.start_workers("test"));
        let hooks = core.clone();
        let task = tokio::spawn(server.run(async move {
            let _ = rx.await;
            hooks.webhooks().stop();
            if let Some(workers) = workers {
                workers.shutdown().await;
            }
        }));
        let base_url = match scheme {
            "https" => format!("https://localhost:{}", addr.port()),
            _ => format!("http://{addr}"),
        };
        let app = Self {
            addr,
            base_url,
            redirect_addr,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            config,
            core,
            shutdown: Some(tx),
            task: Some(task),
            _dir: dir,
        };
        if scheme == "http" {
            app.wait_until_healthy().await;
        }
        app.wait_for_startup_checkpoint().await;
        app
    }

    /// Polls until the audit writer has signed its start-up checkpoint (it does so in the
    /// background, so that serving never waits on the database), so a test starts from a
    /// signed log as an operator's server does within moments of starting.
    async fn wait_for_startup_checkpoint(&self) {
        for _ in 0..1000 {
            if matches!(
                self.core.db_for_tests().latest_checkpoint().await,
                Ok(Some(_))
            ) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("the audit writer signed no start-up checkpoint within 10 s");
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    /// The database the app uses, for tests that must reach under the API.
    pub fn db(&self) -> &Database {
        self.core.db_for_tests()
    }

    /// The blob store the app uses, for tests that must reach under the API.
    pub fn blobs(&self) -> &meetvault_store::BlobStore {
        self.core.blobs_for_tests()
    }

    pub fn core(&self) -> &Core {
        &self.core
    }

    /// Polls `/healthz` until it answers (never sleeps a fixed time).
    async fn wait_until_healthy(&self) {
        for _ in 0..200 {
            if let Ok(r) = self.client.get(self.url("/healthz")).send().await
                && r.status().is_success()
            {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("the test app did not become healthy at {}", self.base_url);
    }

    /// Stops the server the way SIGTERM does and waits for it to finish.
    pub async fn shutdown(mut self) -> Result<(), meetvault_http::ServerError> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.task.take() {
            Some(task) => task.await.expect("server task panicked"),
            None => Ok(()),
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A configuration for a new app: a fresh database and blob store on this run's backends.
pub async fn fresh_config(dir: &std::path::Path) -> Config {
    let mut config = Config {
        data_dir: dir.join("data"),
        ..Config::default()
    };
    config.server.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    config.database.url = Some(fresh_database_url(dir).await);
    // Transcription runs only where a test asks for it (it keeps both cores busy); the model
    // is the shared one the test tools cache holds.
    config.transcription.auto = false;
    config.transcription.model_dir = Some(media::cached_model_dir(media::TINY_EN));
    // Summaries too (they load two models); the models are the tools cache's, installed by
    // the tests that use them (`media::chat_model_path`, `media::embedding_model_dir`).
    config.intelligence.auto = false;
    config.intelligence.chat_model =
        Some(media::cached_model_dir(media::SMOLLM2).join("model.gguf"));
    config.intelligence.embedding_model = Some(media::cached_model_dir(media::MINILM));
    // Data is kept until a test sets a retention window (the sweeper also runs at every
    // start, and a restarted server must not delete what a test goes on to read).
    config.retention.recordings = meetvault_config::Window::Forever;
    config.retention.transcripts = meetvault_config::Window::Forever;
    config.retention.bot_data = meetvault_config::Window::Forever;
    // Bot processes run only where a test gives them a program (`bot.executable`).
    config.bot.launcher = meetvault_config::BotLauncher::Disabled;
    match services::blob_backend() {
        BlobBackendChoice::Filesystem => config.blobs.backend = BlobBackend::Filesystem,
        BlobBackendChoice::S3 => {
            config.blobs.backend = BlobBackend::S3;
            config.blobs.s3 =
                Some(services::s3_config(&format!("app-{}", uuid::Uuid::new_v4().simple())).await);
        }
    }
    config
}

/// A URL to a new, empty database on this run's backend (a SQLite file in `dir`, or a new
/// PostgreSQL database).
pub async fn fresh_database_url(dir: &std::path::Path) -> DatabaseUrl {
    match services::database_backend() {
        Backend::Sqlite => DatabaseUrl::sqlite_file(&dir.join("test.db")),
        Backend::Postgres => services::fresh_postgres_database().await,
    }
}

/// Runs raw SQL against the app's database (to break it on purpose, or to inspect it).
pub async fn execute(db: &Database, sql: &str) {
    match db {
        Database::Sqlite(pool, ..) => {
            sqlx::raw_sql(sql).execute(pool).await.unwrap();
        }
        Database::Postgres(pool) => {
            sqlx::raw_sql(sql).execute(pool).await.unwrap();
        }
    }
}

static LOGS: Once = Once::new();

/// Tracing is silent in tests unless `TEST_LOG` is set (to a filter such as `debug`).
fn init_test_logs() {
    LOGS.call_once(|| {
        if let Ok(filter) = std::env::var("TEST_LOG") {
            let _ = meetvault_telemetry::init(
                &filter,
                meetvault_telemetry::Format::Pretty,
                meetvault_telemetry::Output::Stderr,
            );
        }
    });
}

/// A self-signed certificate for `localhost` and `127.0.0.1`, written as PEM files into `dir`.
pub fn self_signed_cert(
    dir: &std::path::Path,
) -> (std::path::PathBuf, std::path::PathBuf, Vec<u8>) {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    let cert_pem = certified.cert.pem();
    let cert_path = dir.join("cert.pem");
    let key_path = dir.join("key.pem");
    std::fs::write(&cert_path, &cert_pem).unwrap();
    std::fs::write(&key_path, certified.key_pair.serialize_pem()).unwrap();
    (cert_path, key_path, cert_pem.into_bytes())
}
