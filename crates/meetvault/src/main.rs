//! The `meetvault` command: parses flags, loads configuration, and wires the crates together.
//! No business logic lives here.

mod bot_cmd;
mod certificate_cmd;
mod email_cmd;
mod keys_cmd;
mod recipe_cmd;
mod transcribe_cmd;
mod webhook_cmd;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use meetvault_config::{Config, ConfigSource, LogFormat, Overrides};
use meetvault_telemetry::{Format, Output};

#[derive(Debug, Parser)]
#[command(
    name = "meetvault",
    version,
    about = "Self-hosted, privacy-first meeting bot and meeting-intelligence server",
    long_about = "Self-hosted, privacy-first meeting bot and meeting-intelligence server.\n\n\
        Configuration comes from built-in defaults, then meetvault.toml (or --config FILE), then \
        MEETVAULT_* environment variables (MEETVAULT_SERVER__LISTEN=…), then these flags. \
        `meetvault config example` prints an annotated file."
)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct GlobalArgs {
    /// Configuration file (default: ./meetvault.toml if it exists).
    #[arg(long, short = 'c', global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data directory for the SQLite database, blobs and keys (default ./meetvault-data).
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://USER:PASSWORD@HOST/DB.
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    /// Log filter: info, debug, or per target (meetvault_http=debug,info).
    #[arg(long, global = true, value_name = "FILTER")]
    log_level: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (applies pending migrations first).
    Serve {
        /// Address to listen on, e.g. 127.0.0.1:8080 (port 0 picks a free port).
        #[arg(long, value_name = "ADDR")]
        listen: Option<SocketAddr>,
    },
    /// Apply pending database migrations and exit.
    Migrate {
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Inspect configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Print the OpenAPI 3.1 document of the HTTP API.
    Openapi,
    /// The tamper-evident audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Encryption keys: rotate the master key or org keys.
    #[command(subcommand)]
    Keys(keys_cmd::KeysCommand),
    /// Transcribe audio files on this machine with the local Whisper model (no server, no
    /// network): prints the transcript, or writes it with --output.
    Transcribe(transcribe_cmd::TranscribeArgs),
    /// Local transcription models.
    #[command(subcommand)]
    Models(transcribe_cmd::ModelsCommand),
    /// Run testmeet, meetvault's own WebRTC meeting platform for tests and demos (rooms, a
    /// lobby, chat, a participant list; no TLS, no accounts, rooms in memory). Prints its URL;
    /// `POST /api/rooms` creates a room and answers its `url` and the host's `host_url`.
    Testmeet {
        /// Address to listen on; keep it on loopback (port 0 picks a free port).
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8090")]
        listen: SocketAddr,
    },
    /// Platform recipes: check one file, list a directory.
    #[command(subcommand)]
    Recipe(recipe_cmd::RecipeCommand),
    /// Meeting bots: `bot run` is one bot's process, as the server's orchestrator starts it.
    #[command(subcommand)]
    Bot(bot_cmd::BotCommand),
    /// Webhooks: `webhook verify` checks a delivery's signature, as a receiver should.
    #[command(subcommand)]
    Webhook(webhook_cmd::WebhookCommand),
    /// Deletion certificates: `certificate verify` checks one offline.
    #[command(subcommand)]
    Certificate(certificate_cmd::CertificateCommand),
    /// Outbound email: `email test` sends a test message with the [email] settings.
    #[command(subcommand)]
    Email(email_cmd::EmailCommand),
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Check the audit log: re-hash every entry, find the first one edited, removed, inserted
    /// or reordered, check every checkpoint signature and that each checkpoint is consistent
    /// with the one before. Exit 0 when intact, 3 when tampering is found.
    Verify {
        /// Verify an export (`GET /api/v1/audit/export`) instead of this server's database.
        #[arg(long, value_name = "FILE")]
        export: Option<PathBuf>,
        /// The verifier key to trust (as served at /.well-known/meetvault-signing-key); for an
        /// export, defaults to the key in its own header, which only proves self-consistency.
        #[arg(long, value_name = "KEY")]
        public_key: Option<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Validate the configuration and print the effective values, secrets shown as [redacted].
    Check {
        /// Print JSON instead of TOML.
        #[arg(long)]
        json: bool,
    },
    /// Print an annotated example meetvault.toml with every default.
    Example,
}

/// Exit codes: 0 success, 1 runtime failure, 2 bad configuration or usage.
fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Config(e)) => {
            eprintln!("error: {e:#}");
            eprintln!("hint: `meetvault config example` prints every key with its default.");
            ExitCode::from(2)
        }
        Err(Failure::Runtime(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
        Err(Failure::Tampered) => ExitCode::from(3),
        Err(Failure::Invalid) => ExitCode::from(2),
        Err(Failure::Rejected) => ExitCode::from(1),
    }
}

enum Failure {
    Config(anyhow::Error),
    Runtime(anyhow::Error),
    /// `audit verify` found tampering (already reported).
    Tampered,
    /// The input checked is invalid (already reported).
    Invalid,
    /// The input checked failed its check (already reported): a webhook not verified.
    Rejected,
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Self::Runtime(e)
    }
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let listen = match &cli.command {
        Command::Serve { listen } => *listen,
        _ => None,
    };
    if let Command::Config(ConfigCommand::Example) = cli.command {
        print!("{}", meetvault_config::EXAMPLE_TOML);
        return Ok(());
    }
    if let Command::Audit(AuditCommand::Verify {
        export: Some(file),
        public_key,
        json,
    }) = &cli.command
    {
        return audit_verify_export(file, public_key.as_deref(), *json);
    }
    if let Command::Testmeet { listen } = cli.command {
        return testmeet(listen).await.map_err(Failure::Runtime);
    }
    if let Command::Recipe(command) = &cli.command {
        return match recipe_cmd::run(command)? {
            true => Ok(()),
            false => Err(Failure::Invalid),
        };
    }
    if let Command::Webhook(command) = &cli.command {
        return match webhook_cmd::run(command) {
            webhook_cmd::Outcome::Verified => Ok(()),
            webhook_cmd::Outcome::NotVerified => Err(Failure::Rejected),
            webhook_cmd::Outcome::Usage => Err(Failure::Invalid),
        };
    }
    if let Command::Certificate(command) = &cli.command {
        return match certificate_cmd::run(command) {
            certificate_cmd::Outcome::Verified => Ok(()),
            certificate_cmd::Outcome::NotVerified => Err(Failure::Rejected),
            certificate_cmd::Outcome::Usage => Err(Failure::Invalid),
        };
    }
    if let Command::Bot(command) = cli.command {
        return bot_cmd::run(command, cli.global.log_level.as_deref()).await;
    }
    if let Command::Openapi = cli.command {
        let doc = meetvault_http::openapi_json().context("generating the OpenAPI document")?;
        print!("{doc}");
        return Ok(());
    }
    let config = load_config(&cli.global, listen).map_err(Failure::Config)?;
    match cli.command {
        Command::Transcribe(args) => {
            tokio::task::spawn_blocking(move || transcribe_cmd::transcribe(&config, args))
                .await
                .context("the transcription thread stopped")??;
        }
        Command::Models(command) => transcribe_cmd::models(&config, command)?,
        Command::Serve { .. } => {
            init_logs(&config, Output::Stdout).map_err(Failure::Config)?;
            serve(config).await?;
        }
        Command::Migrate { json } => {
            init_logs(&config, Output::Stderr).map_err(Failure::Config)?;
            migrate(&config, json).await?;
        }
        Command::Config(ConfigCommand::Check { json }) => {
            meetvault_telemetry::parse_filter(&config.log.level).map_err(|e| {
                Failure::Config(anyhow::anyhow!("invalid configuration: `log.level`: {e}"))
            })?;
            let text = if json {
                serde_json::to_string_pretty(&config).context("printing configuration")? + "\n"
            } else {
                toml::to_string_pretty(&config).context("printing configuration")?
            };
            print!("{text}");
        }
        Command::Audit(AuditCommand::Verify {
            public_key, json, ..
        }) => {
            init_logs(&config, Output::Stderr).map_err(Failure::Config)?;
            let core = meetvault_core::Core::open(Arc::new(config))
                .await
                .context("opening storage")?;
            let report = core
                .audit_log()
                .verify_database()
                .await
                .context("reading the audit log")?;
            let own = core.audit_log().verifier().to_vkey();
            core.close().await;
            if let Some(key) = public_key
                && key.trim() != own
            {
                return Err(Failure::Runtime(anyhow::anyhow!(
                    "this server's signing key is {own}, not the key given with --public-key"
                )));
            }
            return print_report(&report, json);
        }
        Command::Keys(command) => {
            init_logs(&config, Output::Stderr).map_err(Failure::Config)?;
            keys_cmd::run(config, command).await?;
        }
        Command::Email(command) => {
            init_logs(&config, Output::Stderr).map_err(Failure::Config)?;
            email_cmd::run(&config, command).await?;
        }
        Command::Config(ConfigCommand::Example)
        | Command::Openapi
        | Command::Testmeet { .. }
        | Command::Recipe(_)
        | Command::Bot(_)
        | Command::Webhook(_)
        | Command::Certificate(_) => {}
    }
    Ok(())
}

fn audit_verify_export(
    file: &std::path::Path,
    key: Option<&str>,
    json: bool,
) -> Result<(), Failure> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("reading {}", file.display()))
        .map_err(Failure::Config)?;
    let trusted = key
        .map(|k| meetvault_core::audit::NoteVerifier::parse(k.trim()))
        .transpose()
        .map_err(|e| Failure::Config(anyhow::anyhow!("--public-key: {e}")))?;
    let report = meetvault_core::audit::verify_export(&text, trusted.as_ref())
        .map_err(|e| Failure::Runtime(anyhow::anyhow!("{}: {e}", file.display())))?;
    print_report(&report, json)
}

/// Prints the report; tampering is exit code 3 so scripts can tell it from an I/O failure.
fn print_report(report: &meetvault_core::audit::Report, json: bool) -> Result<(), Failure> {
    if json {
        let mut value = serde_json::to_value(report).context("printing the report")?;
        value["ok"] = serde_json::Value::Bool(report.ok());
        value["first_problem"] = serde_json::json!(report.first_problem().map(ToString::to_string));
        println!("{value}");
    } else if report.ok() {
        println!(
            "audit log intact: {} entries, {} signed checkpoint(s) verified and consistent",
            report.entries, report.checkpoints
        );
    } else {
        if let Some(first) = report.first_problem() {
            println!("TAMPERING DETECTED: {first}");
        }
        for p in &report.problems {
            println!("  - {p}");
        }
    }
    if report.ok() {
        Ok(())
    } else {
        Err(Failure::Tampered)
    }
}

fn load_config(global: &GlobalArgs, listen: Option<SocketAddr>) -> anyhow::Result<Config> {
    let source = match &global.config {
        Some(path) => ConfigSource::File(path.clone()),
        None => ConfigSource::Default,
    };
    let overrides = Overrides {
        listen,
        data_dir: global.data_dir.clone(),
        database_url: global.database_url.clone(),
        log_level: global.log_level.clone(),
    };
    Ok(meetvault_config::load(
        &source,
        std::env::vars(),
        &overrides,
    )?)
}

fn init_logs(config: &Config, output: Output) -> anyhow::Result<()> {
    let format = match config.log.format {
        LogFormat::Json => Format::Json,
        LogFormat::Pretty => Format::Pretty,
    };
    meetvault_telemetry::init(&config.log.level, format, output)
        .map_err(|e| anyhow::anyhow!("invalid configuration: `log.level`: {e}"))
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let config = Arc::new(config);
    if config.security_txt.contact.is_empty() {
        tracing::warn!("security_txt.contact is not set: /.well-known/security.txt answers 404");
    }
    let core = meetvault_core::Core::open(config.clone())
        .await
        .context("opening storage")?;
    meetvault_k8s::install(&core)
        .await
        .context("starting the Kubernetes bot launcher (bot.launcher = \"kubernetes\")")?;
    let server = meetvault_http::Server::bind(core.clone()).await?;
    tracing::info!(
        addr = %server.local_addr(),
        scheme = server.scheme(),
        redirect_addr = server.redirect_addr().map(|a| a.to_string()),
        database = ?config.database_url().kind(),
        blobs = ?config.blobs.backend,
        version = env!("CARGO_PKG_VERSION"),
        "listening"
    );
    // Where a person opens the dashboard: the public URL when one is set, else this listener.
    let dashboard = match &config.server.public_url {
        Some(url) => url.to_string(),
        None => format!("{}://{}/", server.scheme(), server.local_addr()),
    };
    tracing::info!(url = %dashboard, "the dashboard: open this URL in a browser");
    let workers = core.start_workers(&format!("pid{}", std::process::id()));
    let hooks = core.clone();
    server
        .run_until(
            async move {
                shutdown_signal().await;
                // Webhook senders stop taking endpoints; what they leave pending waits in the
                // database for the next instance.
                hooks.webhooks().stop();
            },
            // Running jobs go back to the queue at once (another instance, or this one
            // restarted, resumes them) before the database closes; the listeners have
            // stopped accepting already.
            workers.shutdown(),
        )
        .await?;
    Ok(())
}

async fn migrate(config: &Config, json: bool) -> anyhow::Result<()> {
    let url = config.database_url();
    if url.kind() == meetvault_config::DatabaseKind::Sqlite {
        meetvault_store::fs_perms::private_dir(&config.data_dir)?;
    }
    let db = meetvault_store::Database::connect(&url, config.database.max_connections)
        .await
        .with_context(|| format!("connecting to {url}"))?;
    let applied = db.migrate().await.context("applying migrations")?;
    let total = db.applied_migrations().await?;
    db.close().await;
    if json {
        println!(
            "{}",
            serde_json::json!({ "applied": applied, "total": total })
        );
    } else {
        println!("applied {applied} migration(s); the database is at version {total}");
    }
    Ok(())
}

/// Serves testmeet until SIGTERM or Ctrl-C; needs no configuration, database or keys.
async fn testmeet(listen: SocketAddr) -> anyhow::Result<()> {
    let server = meetvault_testmeet::Server::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    if !server.local_addr()?.ip().is_loopback() {
        eprintln!("warning: testmeet is plain HTTP for tests; it listens beyond loopback");
    }
    println!("testmeet listening on {}", server.url());
    server
        .run(shutdown_signal())
        .await
        .context("serving testmeet")
}

/// Resolves on SIGTERM or Ctrl-C (SIGINT).
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!(signal = "SIGINT", "shutdown requested"),
        () = terminate => tracing::info!(signal = "SIGTERM", "shutdown requested"),
    }
}
