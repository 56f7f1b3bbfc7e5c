//! Outbound email: one [`Mailer`], built once from `[email]`, sends plain-text messages through
//! the configured SMTP server (implicit TLS or STARTTLS; plain SMTP only to loopback, as the
//! config enforces) — or, with no server configured, writes them to the log (development).
//! It knows nothing of what a message is for: callers compose the text. It never logs or
//! returns the SMTP credentials.

use std::fmt;
use std::time::Duration;

use lettre::message::header::ContentTransferEncoding;
use lettre::message::header::ContentType;
use lettre::message::{Body, Mailbox};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use meetvault_config::{ConfigError, EmailConfig, SmtpSecurity, SmtpServer};

use crate::CoreError;

/// What [`CoreError::Unavailable`] names when the mail server cannot take a message.
const UNAVAILABLE: &str = "the mail server (email.smtp_url)";

/// One plain-text message to one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// A bare address (`someone@example.com`).
    pub to: String,
    pub subject: String,
    /// Plain text; line ends may be `\n`.
    pub body: String,
}

/// Sends [`Email`]s through SMTP, or writes them to the log when no server is configured.
pub struct Mailer {
    from: Mailbox,
    /// The longest one send may take, connection included (`email.timeout_secs`).
    timeout: Duration,
    transport: Transport,
}

enum Transport {
    /// Development mode: each message goes to the log, target `meetvault::email`.
    Log,
    Smtp {
        /// Boxed: the transport is large beside the log variant.
        smtp: Box<AsyncSmtpTransport<Tokio1Executor>>,
        /// `host:port`, for logs.
        server: String,
    },
}

impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The transport holds the credentials: only its address is shown.
        let server = match &self.transport {
            Transport::Log => "log",
            Transport::Smtp { server, .. } => server.as_str(),
        };
        f.debug_struct("Mailer")
            .field("from", &self.from.to_string())
            .field("server", &server)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl Mailer {
    /// Builds the transport once (no connection is made until the first send). Without
    /// `email.smtp_url` the mailer writes to the log, and says so once, here.
    pub fn new(config: &EmailConfig) -> Result<Self, CoreError> {
        let from = parse_from(&config.from)?;
        let timeout = Duration::from_secs(config.timeout_secs.max(1));
        let server = config.smtp_server().map_err(|e| match e {
            ConfigError::Invalid { message, .. } => CoreError::invalid("email.smtp_url", message),
            other => CoreError::invalid("email.smtp_url", other.to_string()),
        })?;
        let transport = match server {
            None => {
                tracing::warn!(
                    target: "meetvault::email",
                    "email.smtp_url is not set: emails are written to this log, not sent \
                     (development only; set email.smtp_url to send them)"
                );
                Transport::Log
            }
            Some(server) => Transport::Smtp {
                smtp: Box::new(smtp_transport(&server, timeout)?),
                server: server.address(),
            },
        };
        Ok(Self {
            from,
            timeout,
            transport,
        })
    }

    /// True when messages go to the log rather than to an SMTP server.
    pub fn is_log(&self) -> bool {
        matches!(self.transport, Transport::Log)
    }

    /// Sends one message, or writes it to the log in development mode. A bad recipient or
    /// subject is [`CoreError::Invalid`]; a server that cannot be reached, refuses, or takes
    /// longer than `email.timeout_secs` is [`CoreError::Unavailable`] (its reply is logged).
    pub async fn send(&self, email: &Email) -> Result<(), CoreError> {
        let to = parse_recipient(&email.to)?;
        if email.subject.chars().any(char::is_control) {
            return Err(CoreError::invalid(
                "subject",
                "must be one line without control characters",
            ));
        }
        let (smtp, server) = match &self.transport {
            Transport::Log => {
                tracing::info!(
                    target: "meetvault::email",
                    from = %self.from,
                    to = %to,
                    subject = %email.subject,
                    body = %email.body,
                    "email written to the log, not sent (email.smtp_url is not set)"
                );
                return Ok(());
            }
            Transport::Smtp { smtp, server } => (smtp, server),
        };
        let message = self.message(to, email)?;
        let outcome = tokio::time::timeout(self.timeout, smtp.send(message)).await;
        match outcome {
            Ok(Ok(_)) => {
                tracing::info!(target: "meetvault::email", server = %server, "email sent");
                Ok(())
            }
            Ok(Err(e)) => {
                // The reply's code and class only: a server's reply text often repeats the
                // recipient's address, which is personal data.
                tracing::warn!(
                    target: "meetvault::email",
                    server = %server,
                    code = e.status().map(|c| c.to_string()).unwrap_or_default(),
                    permanent = e.is_permanent(),
                    transient = e.is_transient(),
                    timeout = e.is_timeout(),
                    tls = e.is_tls(),
                    "the mail server did not take the email"
                );
                Err(CoreError::Unavailable(UNAVAILABLE))
            }
            Err(_) => {
                tracing::warn!(
                    target: "meetvault::email",
                    server = %server,
                    timeout_secs = self.timeout.as_secs(),
                    "the mail server did not take the email in time (email.timeout_secs)"
                );
                Err(CoreError::Unavailable(UNAVAILABLE))
            }
        }
    }

    /// The RFC 5322 message: text/plain UTF-8, 7bit when the body allows it, quoted-printable
    /// otherwise (never base64, so it stays readable in transit logs and simple tools).
    fn message(&self, to: Address, email: &Email) -> Result<Message, CoreError> {
        let body = Body::new_with_encoding(email.body.clone(), ContentTransferEncoding::SevenBit)
            .or_else(|raw| Body::new_with_encoding(raw, ContentTransferEncoding::QuotedPrintable))
            .map_err(|_| CoreError::invalid("body", "cannot be encoded as quoted-printable"))?;
        let id = format!(
            "<{}@{}>",
            uuid::Uuid::new_v4().simple(),
            self.from.email.domain()
        );
        Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(None, to))
            .subject(email.subject.clone())
            .message_id(Some(id))
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(CoreError::internal)
    }
}

/// `email.from` as a mailbox; the config checked its shape, this is the full RFC 5322 parse.
fn parse_from(text: &str) -> Result<Mailbox, CoreError> {
    let refused = || {
        CoreError::invalid(
            "email.from",
            "is not a mailbox: write `name <address@example.com>` or `address@example.com`",
        )
    };
    let text = text.trim();
    let mailbox: Mailbox = text.parse().map_err(|_| refused())?;
    // lettre's parser stops after the first mailbox: nothing may follow it.
    let address = mailbox.email.to_string();
    if text != address && !text.ends_with(&format!("<{address}>")) {
        return Err(refused());
    }
    Ok(mailbox)
}

/// A recipient: one bare address. The address is not repeated in the error (it is personal
/// data and the caller has it).
fn parse_recipient(text: &str) -> Result<Address, CoreError> {
    text.trim().parse::<Address>().map_err(|e| {
        CoreError::invalid(
            "email",
            format!(
                "is not an email address ({}): give one such as someone@example.com",
                e.to_string().to_lowercase()
            ),
        )
    })
}

/// The SMTP transport for `server`: TLS as the URL says, with webpki roots; `timeout` also
/// bounds the connection attempt (the whole send is bounded in [`Mailer::send`]).
fn smtp_transport(
    server: &SmtpServer,
    timeout: Duration,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, CoreError> {
    let tls = |host: &str| {
        TlsParameters::new(host.to_owned()).map_err(|e| {
            tracing::error!(target: "meetvault::email", error = %e, "cannot set up TLS for SMTP");
            CoreError::invalid(
                "email.smtp_url",
                "TLS cannot be set up for this host: check the host name in email.smtp_url",
            )
        })
    };
    let tls = match server.security {
        SmtpSecurity::ImplicitTls => Tls::Wrapper(tls(&server.host)?),
        SmtpSecurity::StartTls => Tls::Required(tls(&server.host)?),
        SmtpSecurity::Plain => Tls::None,
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(server.host.clone())
        .port(server.port)
        .tls(tls)
        .timeout(Some(timeout));
    if let (Some(user), Some(password)) = (&server.username, &server.password) {
        builder = builder.credentials(Credentials::new(user.clone(), password.expose().to_owned()));
    }
    Ok(builder.build())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(smtp_url: Option<&str>) -> EmailConfig {
        EmailConfig {
            smtp_url: smtp_url.map(meetvault_config::Secret::new),
            ..EmailConfig::default()
        }
    }

    #[test]
    fn the_default_sender_parses_and_no_server_means_the_log() {
        let mailer = Mailer::new(&EmailConfig::default()).unwrap();
        assert!(mailer.is_log());
        assert_eq!(mailer.from.email.to_string(), "no-reply@localhost");
    }

    #[test]
    fn debug_shows_the_server_but_never_the_password() {
        let mailer = Mailer::new(&config(Some("smtps://mv:hunter2@mail.example.com"))).unwrap();
        assert!(!mailer.is_log());
        let text = format!("{mailer:?}");
        assert!(text.contains("mail.example.com:465"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }

    #[test]
    fn senders_with_more_than_one_mailbox_are_refused() {
        for bad in [
            "a@example.com, b@example.com",
            "x <a@example.com> b@example.com",
        ] {
            assert!(parse_from(bad).is_err(), "{bad}");
        }
        assert!(parse_from("\"Meet Vault\" <a@example.com>").is_ok());
    }

    #[tokio::test]
    async fn a_bad_recipient_or_subject_is_invalid_even_in_log_mode() {
        let mailer = Mailer::new(&EmailConfig::default()).unwrap();
        let email = |to: &str, subject: &str| Email {
            to: to.to_owned(),
            subject: subject.to_owned(),
            body: "hello".to_owned(),
        };
        for to in ["not-an-address", "a@b@c", "", "x <a@example.com>"] {
            let err = mailer.send(&email(to, "hi")).await.unwrap_err();
            assert!(
                matches!(err, CoreError::Invalid { field: "email", .. }),
                "{to}: {err}"
            );
        }
        let err = mailer
            .send(&email("a@example.com", "hi\r\nBcc: b@example.com"))
            .await
            .unwrap_err();
        assert!(matches!(
            err,
            CoreError::Invalid {
                field: "subject",
                ..
            }
        ));
        mailer.send(&email("a@example.com", "hi")).await.unwrap();
    }

    #[tokio::test]
    async fn an_unreachable_server_is_unavailable_within_the_timeout() {
        // A loopback port nothing listens on: refused at once.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mailer = Mailer::new(&config(Some(&format!("smtp://127.0.0.1:{port}")))).unwrap();
        let err = mailer
            .send(&Email {
                to: "a@example.com".into(),
                subject: "hi".into(),
                body: "hello".into(),
            })
            .await
            .unwrap_err();
        assert!(matches!(err, CoreError::Unavailable(UNAVAILABLE)), "{err}");
    }

    #[test]
    fn bodies_are_7bit_or_quoted_printable() {
        let mailer = Mailer::new(&EmailConfig::default()).unwrap();
        let address: Address = "a@example.com".parse().unwrap();
        let email = |body: &str| Email {
            to: "a@example.com".into(),
            subject: "Grüße".into(),
            body: body.into(),
        };
        let plain = mailer.message(address.clone(), &email("hello\n")).unwrap();
        let text = String::from_utf8(plain.formatted()).unwrap();
        assert!(text.contains("Content-Transfer-Encoding: 7bit"), "{text}");
        assert!(
            text.contains("Message-ID: <") && text.contains("@localhost>"),
            "{text}"
        );
        let accented = mailer.message(address, &email("Grüße\n")).unwrap();
        let text = String::from_utf8(accented.formatted()).unwrap();
        assert!(
            text.contains("Content-Transfer-Encoding: quoted-printable"),
            "{text}"
        );
    }
}
