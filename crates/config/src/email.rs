//! Outbound email: the SMTP server meetvault sends through, the sender it names and how long a
//! send may take. No server (`smtp_url` unset) is development mode: messages are written to
//! the log instead. Plain SMTP is accepted only to a loopback relay, so credentials and message
//! text never cross a network unencrypted. Parsing only: the mailer lives in `core`.

use std::fmt;

use serde::{Deserialize, Serialize};
use url::{Host, Url};

use crate::{ConfigError, Secret, lenient_string};

/// `[email]`: where outbound mail goes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmailConfig {
    /// `smtps://USER:PASS@HOST:465` (implicit TLS), `smtp://USER:PASS@HOST:587?tls=required`
    /// (STARTTLS), or plain `smtp://HOST:PORT` to a loopback relay only. Unset: development
    /// mode, messages are written to the log and not sent.
    pub smtp_url: Option<Secret>,
    /// The `From:` mailbox: `name <address>` or a bare address.
    #[serde(deserialize_with = "lenient_string")]
    pub from: String,
    /// The longest one message may take to send, connection included (seconds).
    pub timeout_secs: u64,
}

impl Default for EmailConfig {
    fn default() -> Self {
        Self {
            smtp_url: None,
            from: "meetvault <no-reply@localhost>".to_owned(),
            timeout_secs: 30,
        }
    }
}

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// `smtps://`: TLS from the first byte (port 465 by default).
    ImplicitTls,
    /// `smtp://…?tls=required`: STARTTLS, and no message without it (port 587 by default).
    StartTls,
    /// `smtp://` to a loopback relay: no TLS (port 25 by default).
    Plain,
}

/// `email.smtp_url`, parsed: where to connect, how, and as whom.
#[derive(Clone)]
pub struct SmtpServer {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    /// The login, percent-decoded; `None` sends without authenticating.
    pub username: Option<String>,
    /// The password, percent-decoded; present exactly when `username` is.
    pub password: Option<Secret>,
}

impl SmtpServer {
    /// `host:port`, for logs and messages: never the credentials.
    pub fn address(&self) -> String {
        match self.host.parse::<std::net::Ipv6Addr>() {
            Ok(_) => format!("[{}]:{}", self.host, self.port),
            Err(_) => format!("{}:{}", self.host, self.port),
        }
    }

    /// Parses an SMTP URL; the error says what to write instead and never repeats the URL
    /// (it may hold a password).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let url = Url::parse(raw.trim()).map_err(|e| {
            format!("is not a URL ({e}): write smtps://USER:PASS@HOST:465 or smtp://USER:PASS@HOST:587?tls=required")
        })?;
        let host = match url.host() {
            Some(Host::Domain(d)) if !d.is_empty() => d.to_owned(),
            Some(Host::Ipv4(ip)) => ip.to_string(),
            Some(Host::Ipv6(ip)) => ip.to_string(),
            _ => return Err("names no host: write smtps://USER:PASS@HOST:465".to_owned()),
        };
        let mut tls = None;
        for (key, value) in url.query_pairs() {
            match (key.as_ref(), value.as_ref()) {
                ("tls", "required") if tls.is_none() => tls = Some(()),
                ("tls", _) => {
                    return Err(
                        "has an unsupported `tls` parameter: the only one is ?tls=required (STARTTLS)"
                            .to_owned(),
                    );
                }
                (other, _) => {
                    return Err(format!(
                        "has an unknown parameter `{other}`: the only one is ?tls=required (STARTTLS)"
                    ));
                }
            }
        }
        if !matches!(url.path(), "" | "/") || url.fragment().is_some() {
            return Err("must have no path: write smtps://USER:PASS@HOST:465".to_owned());
        }
        let (security, default_port) = match (url.scheme(), tls) {
            ("smtps", None) => (SmtpSecurity::ImplicitTls, 465),
            ("smtps", Some(())) => {
                return Err(
                    "mixes smtps:// with ?tls=required: smtps:// is TLS already; drop the parameter"
                        .to_owned(),
                );
            }
            ("smtp", Some(())) => (SmtpSecurity::StartTls, 587),
            ("smtp", None) => (SmtpSecurity::Plain, 25),
            (other, _) => {
                return Err(format!(
                    "has the scheme `{other}`: use smtps:// (implicit TLS) or smtp://…?tls=required (STARTTLS)"
                ));
            }
        };
        if security == SmtpSecurity::Plain && !is_loopback(&url) {
            return Err(
                "is plain SMTP to a host that is not loopback: mail and the password would cross \
                 the network unencrypted; use smtps://HOST:465 or smtp://HOST:587?tls=required"
                    .to_owned(),
            );
        }
        let (username, password) = match (url.username(), url.password()) {
            ("", None) => (None, None),
            ("", Some(_)) => {
                return Err("has a password but no user: write USER:PASS@HOST".to_owned());
            }
            (_, None) => {
                return Err(
                    "has a user but no password: write USER:PASS@HOST (percent-encode : @ / in either)"
                        .to_owned(),
                );
            }
            (user, Some(pass)) => (
                Some(percent_decode(user)),
                Some(Secret::new(percent_decode(pass))),
            ),
        };
        Ok(Self {
            host,
            port: url.port().unwrap_or(default_port),
            security,
            username,
            password,
        })
    }
}

impl fmt::Debug for SmtpServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpServer")
            .field("address", &self.address())
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password)
            .finish()
    }
}

/// `%XX` escapes to bytes (a URL's user and password are percent-encoded); anything else as is.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| text.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        // An smtp:// URL's host is opaque (not a special scheme): an IPv4 literal arrives as
        // a domain.
        Some(Host::Domain(d)) => {
            d.eq_ignore_ascii_case("localhost")
                || d.parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

impl EmailConfig {
    /// The SMTP server in force; `None` is development mode (messages go to the log).
    pub fn smtp_server(&self) -> Result<Option<SmtpServer>, ConfigError> {
        self.smtp_url
            .as_ref()
            .map(|url| SmtpServer::parse(url.expose()))
            .transpose()
            .map_err(|message| ConfigError::Invalid {
                key: "email.smtp_url".to_owned(),
                message,
            })
    }
}

pub(crate) fn validate(email: &EmailConfig) -> Result<(), ConfigError> {
    email.smtp_server()?;
    if let Err(why) = check_mailbox(&email.from) {
        return Err(ConfigError::Invalid {
            key: "email.from".to_owned(),
            message: format!(
                "is not a mailbox ({why}): write `name <address@example.com>` or `address@example.com`"
            ),
        });
    }
    if email.timeout_secs == 0 {
        return Err(ConfigError::Invalid {
            key: "email.timeout_secs".to_owned(),
            message: "must be at least 1".to_owned(),
        });
    }
    Ok(())
}

/// A first check of `name <local@domain>` or `local@domain`, so a typo stops the start here;
/// the mailer parses it fully (RFC 5322) when it is built.
fn check_mailbox(text: &str) -> Result<(), &'static str> {
    let text = text.trim();
    if text.chars().any(char::is_control) {
        return Err("it contains a control character");
    }
    let address = match (text.find('<'), text.strip_suffix('>')) {
        (Some(open), Some(inner)) => {
            let name = &text[..open];
            if name.contains(['<', '>']) {
                return Err("unbalanced angle brackets");
            }
            &inner[open + 1..]
        }
        (None, None) => text,
        _ => return Err("unbalanced angle brackets"),
    };
    let (local, domain) = address.rsplit_once('@').ok_or("no @ in the address")?;
    let special = |c: char| c.is_whitespace() || "<>()[],;:\\\"@".contains(c);
    if local.is_empty() || local.chars().any(special) {
        return Err("the part before @ is empty or has a space or special character");
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    if !domain.split('.').all(label_ok) {
        return Err("the domain is not a host name");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_to_their_security_and_default_port() {
        let s = SmtpServer::parse("smtps://mv:p%40ss@mail.example.com").unwrap();
        assert_eq!(
            (s.security, s.port, s.host.as_str()),
            (SmtpSecurity::ImplicitTls, 465, "mail.example.com")
        );
        assert_eq!(s.username.as_deref(), Some("mv"));
        assert_eq!(s.password.unwrap().expose(), "p@ss");
        let s = SmtpServer::parse("smtp://mv:pw@mail.example.com?tls=required").unwrap();
        assert_eq!((s.security, s.port), (SmtpSecurity::StartTls, 587));
        let s = SmtpServer::parse("smtp://127.0.0.1:2525").unwrap();
        assert_eq!((s.security, s.port), (SmtpSecurity::Plain, 2525));
        assert_eq!(s.username, None);
        assert_eq!(
            SmtpServer::parse("smtp://[::1]").unwrap().address(),
            "[::1]:25"
        );
        assert!(SmtpServer::parse("smtp://LocalHost:25").is_ok());
    }

    #[test]
    fn plain_smtp_beyond_loopback_is_refused_without_echoing_the_password() {
        let err = SmtpServer::parse("smtp://mv:hunter2@mail.example.com:25").unwrap_err();
        assert!(
            err.contains("smtps://") && err.contains("tls=required"),
            "{err}"
        );
        assert!(!err.contains("hunter2"), "{err}");
        let err = SmtpServer::parse("smtp://mail.example.com?tls=opportunistic").unwrap_err();
        assert!(err.contains("tls=required"), "{err}");
        assert!(SmtpServer::parse("http://mail.example.com").is_err());
        assert!(SmtpServer::parse("smtps://user@mail.example.com").is_err());
        assert!(SmtpServer::parse("smtps://mail.example.com/x").is_err());
    }

    #[test]
    fn debug_never_prints_the_password() {
        let s = SmtpServer::parse("smtps://mv:hunter2@mail.example.com").unwrap();
        let text = format!("{s:?}");
        assert!(
            !text.contains("hunter2") && text.contains("mail.example.com:465"),
            "{text}"
        );
    }

    #[test]
    fn mailboxes_are_checked() {
        for ok in [
            "meetvault <no-reply@localhost>",
            "no-reply@example.com",
            "\"Meet Vault\" <a.b+c@mail.example.com>",
        ] {
            assert_eq!(check_mailbox(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "no-reply",
            "meetvault <no-reply@localhost",
            "a b@example.com",
            "a@exa mple.com",
            "a@",
            "a@example..com",
            "x <a@example.com>\r\nBcc: b@example.com",
        ] {
            assert!(check_mailbox(bad).is_err(), "{bad}");
        }
    }
}
