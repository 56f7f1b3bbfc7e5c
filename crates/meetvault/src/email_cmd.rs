//! `meetvault email test`: sends one short message with the `[email]` settings, so an
//! operator can check them before participants depend on them. Needs no database or keys.
//! Exit 0 sent (or written to the log in development mode), 1 the server did not take it,
//! 2 a bad address or `[email]` setting.

use clap::{Args, Subcommand};
use meetvault_config::{Config, SmtpSecurity};
use meetvault_core::CoreError;
use meetvault_core::email::{Email, Mailer};
use serde_json::json;

use crate::Failure;

#[derive(Debug, Subcommand)]
pub enum EmailCommand {
    /// Send a test message with the [email] settings (email.smtp_url, email.from). Without
    /// email.smtp_url it is written to the log (stderr) instead: development mode.
    Test(TestArgs),
}

#[derive(Debug, Args)]
pub struct TestArgs {
    /// The recipient: an address such as someone@example.com.
    #[arg(long, value_name = "ADDRESS")]
    to: String,
    /// Print {"sent", "mode", "to", "server", "error"} as JSON.
    #[arg(long)]
    json: bool,
}

pub async fn run(config: &Config, command: EmailCommand) -> Result<(), Failure> {
    let EmailCommand::Test(args) = command;
    let mailer = Mailer::new(&config.email).map_err(|e| match e {
        CoreError::Invalid { field, message } => Failure::Config(anyhow::anyhow!(
            "invalid configuration: `{field}` {message}"
        )),
        other => Failure::Runtime(anyhow::anyhow!("cannot set up email: {other}")),
    })?;
    // Host and port only: the URL may hold a password.
    let server = config
        .email
        .smtp_server()
        .map_err(|e| Failure::Config(e.into()))?
        .map(|s| {
            let tls = match s.security {
                SmtpSecurity::ImplicitTls => "implicit TLS",
                SmtpSecurity::StartTls => "STARTTLS",
                SmtpSecurity::Plain => "plain, loopback",
            };
            (s.address(), tls)
        });
    let email = Email {
        to: args.to.trim().to_owned(),
        subject: "meetvault test email".to_owned(),
        body: format!(
            "This is a test message from meetvault {} (`meetvault email test`).\n\n\
             You can read it, so outbound email works: meetvault can send participants the \
             confirmation and the outcome of their deletion requests.\n",
            env!("CARGO_PKG_VERSION")
        ),
    };
    let mode = if mailer.is_log() { "log" } else { "smtp" };
    let report = |sent: bool, error: Option<&str>| {
        json!({
            "sent": sent,
            "mode": mode,
            "to": email.to,
            "server": server.as_ref().map(|(address, _)| address),
            "error": error,
        })
    };
    match mailer.send(&email).await {
        Ok(()) if args.json => println!("{}", report(true, None)),
        Ok(()) => match &server {
            None => println!(
                "no SMTP server is configured (email.smtp_url is not set): the test message to \
                 {} was written to the log (stderr, target meetvault::email, level info), not \
                 sent. Set email.smtp_url (or MEETVAULT_EMAIL__SMTP_URL) to send email.",
                email.to
            ),
            Some((address, tls)) => println!(
                "sent the test message to {} through {address} ({tls}) as {}",
                email.to, config.email.from
            ),
        },
        Err(CoreError::Invalid { field, message }) => {
            let error = format!("--to: {message}");
            if field != "email" {
                return Err(Failure::Runtime(anyhow::anyhow!("{field}: {message}")));
            }
            if args.json {
                println!("{}", report(false, Some(&error)));
            }
            eprintln!("error: {error}");
            return Err(Failure::Invalid);
        }
        Err(e) => {
            let error = format!(
                "the test message to {} was not sent: {e}. The server's SMTP code (or the kind of \
                 network error) is in the log above; check email.smtp_url (host, port, TLS mode, user \
                 and password) and email.from (the server may refuse to send as it).",
                email.to
            );
            if args.json {
                println!("{}", report(false, Some(&error)));
            }
            return Err(Failure::Runtime(anyhow::anyhow!(error)));
        }
    }
    Ok(())
}
