//! `meetvault webhook verify`: checks a webhook delivery (Standard Webhooks v1) the way a
//! receiver should, from the raw HTTP request on stdin. Exit 0 verified, 1 not verified, 2 a
//! usage error (a key that is not one, input that is not a request). Never prints a key.

use std::fmt;
use std::io::{IsTerminal as _, Read as _};

use clap::{ArgGroup, Args, Subcommand};
use meetvault_core::webhooks::standard::{self as webhook, Headers, VerifyKey, WebhookError};
use serde_json::json;

/// The widest `--tolerance` (10 years): keeps the time arithmetic far from overflow.
const MAX_TOLERANCE_SECS: i64 = 10 * 365 * 24 * 3600;

const VERIFY_ABOUT: &str = "Check a webhook delivery's signature (Standard Webhooks v1), as \
    your receiver should, from the raw HTTP request on stdin";

const VERIFY_LONG_ABOUT: &str = "Check a webhook delivery's signature (Standard Webhooks v1), as \
    your receiver should.\n\n\
    Reads the raw HTTP request from stdin: an optional request line (`POST /hook HTTP/1.1`), the \
    headers (`Name: value`, names in any case), a blank line, then the body exactly as received \
    (CRLF or LF line endings; the body is not trimmed). Checks that webhook-timestamp is within \
    --tolerance seconds of this machine's clock and that one of the signatures in \
    webhook-signature, over `{webhook-id}.{webhook-timestamp}.{body}`, verifies with one of the \
    keys given.\n\n\
    Prints `verified: <webhook-id> (<type>)` and exits 0; otherwise prints `not verified: \
    <reason>` on stderr and exits 1. Exit 2: a key that is not one, or input that is not an \
    HTTP request. Keys are never printed.";

const VERIFY_EXAMPLES: &str = "Examples:\n  \
    # Capture a delivery where the endpoint's URL leads (nc stands in for your receiver),\n  \
    # ask meetvault to send a test message, then check what arrived:\n  \
    nc -l 9000 > request.http &\n  \
    curl -X POST -H \"Authorization: Bearer $MEETVAULT_API_KEY\" \\\n       \
    https://meetvault.example.com/api/v1/webhooks/whk_…/test\n  \
    read -rs WEBHOOK_SECRET && export WEBHOOK_SECRET     # paste whsec_… (not echoed)\n  \
    cat request.http | meetvault webhook verify --secret-env WEBHOOK_SECRET\n\n  \
    # A request your receiver logged (headers, a blank line, the body), checked later:\n  \
    { printf 'webhook-id: %s\\r\\nwebhook-timestamp: %s\\r\\nwebhook-signature: %s\\r\\n\\r\\n' \\\n      \
    \"$ID\" \"$TS\" \"$SIG\"; cat body.json; } \\\n    \
    | meetvault webhook verify --secret-env WEBHOOK_SECRET --tolerance 604800 --json\n\n  \
    # During a rotation (24 hours), either secret verifies:\n  \
    meetvault webhook verify --secret-env OLD_SECRET --secret-env NEW_SECRET < request.http";

#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    #[command(about = VERIFY_ABOUT, long_about = VERIFY_LONG_ABOUT, after_help = VERIFY_EXAMPLES)]
    Verify(VerifyArgs),
}

#[derive(Args)]
#[command(group(
    ArgGroup::new("keys")
        .required(true)
        .multiple(true)
        .args(["secret", "secret_env"])
))]
pub struct VerifyArgs {
    /// A key to verify with: the endpoint's secret `whsec_…` (HMAC endpoints) or its
    /// `public_key` `whpk_…` (Ed25519 endpoints). Repeat it during a rotation: one verifying is
    /// enough. Prefer --secret-env, which keeps the secret out of shell history and `ps`.
    #[arg(long, value_name = "whsec_…|whpk_…")]
    secret: Vec<String>,
    /// The name of an environment variable holding a key (as --secret). Repeatable.
    #[arg(long, value_name = "NAME")]
    secret_env: Vec<String>,
    /// How far (seconds) webhook-timestamp may be from this machine's clock, either way.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = webhook::DEFAULT_TOLERANCE_SECS,
        value_parser = clap::value_parser!(i64).range(0..=MAX_TOLERANCE_SECS)
    )]
    tolerance: i64,
    /// Print {"verified", "webhook_id", "type", "error"} as JSON on stdout instead.
    #[arg(long)]
    json: bool,
}

/// By hand: the keys stay out of any debug output.
impl fmt::Debug for VerifyArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyArgs")
            .field("secret", &format_args!("[{} redacted]", self.secret.len()))
            .field("secret_env", &self.secret_env)
            .field("tolerance", &self.tolerance)
            .field("json", &self.json)
            .finish()
    }
}

/// How the command ended (already reported); `main` turns it into the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Verified,
    NotVerified,
    Usage,
}

pub fn run(command: &WebhookCommand) -> Outcome {
    match command {
        WebhookCommand::Verify(args) => verify(args),
    }
}

fn verify(args: &VerifyArgs) -> Outcome {
    let keys = match keys(args) {
        Ok(keys) => keys,
        Err(message) => return usage(args.json, &message),
    };
    let stdin = std::io::stdin();
    if stdin.is_terminal() && !args.json {
        eprintln!("reading the HTTP request from stdin (end it with Ctrl-D)…");
    }
    let mut input = Vec::new();
    if let Err(e) = stdin.lock().read_to_end(&mut input) {
        return usage(args.json, &format!("cannot read stdin: {e}"));
    }
    let request = match Request::parse(&input) {
        Ok(r) => r,
        Err(message) => return usage(args.json, &message),
    };
    let id = request.header("webhook-id");
    let event_type = serde_json::from_slice::<serde_json::Value>(request.body)
        .ok()
        .and_then(|v| v.get("type")?.as_str().map(str::to_owned));
    let result = check(&request, &keys, now_secs(), args.tolerance);
    let id_text = id.ok().flatten();
    if args.json {
        println!(
            "{}",
            json!({
                "verified": result.is_ok(),
                "webhook_id": id_text,
                "type": event_type,
                "error": result.as_ref().err(),
            })
        );
    } else {
        match &result {
            Ok(()) => match &event_type {
                Some(t) => println!("verified: {} ({t})", id_text.unwrap_or_default()),
                None => println!("verified: {}", id_text.unwrap_or_default()),
            },
            Err(reason) => eprintln!("not verified: {reason}"),
        }
    }
    if result.is_ok() {
        Outcome::Verified
    } else {
        Outcome::NotVerified
    }
}

/// The keys of `--secret` and `--secret-env`, or why one is not a key (never its text).
fn keys(args: &VerifyArgs) -> Result<Vec<VerifyKey>, String> {
    const LOOKS: &str = "a key is whsec_ followed by base64 (an HMAC endpoint's secret, shown when \
        the endpoint was created or its secret rotated) or whpk_ followed by base64 (an Ed25519 \
        endpoint's public_key)";
    let mut keys = Vec::new();
    for (i, s) in args.secret.iter().enumerate() {
        let key = VerifyKey::parse(s.trim()).map_err(|_| {
            format!(
                "--secret (number {} of {}) is not a webhook key: {LOOKS}",
                i + 1,
                args.secret.len()
            )
        })?;
        keys.push(key);
    }
    for name in &args.secret_env {
        let value = std::env::var(name).map_err(|e| match e {
            std::env::VarError::NotPresent => {
                format!("--secret-env: the environment variable {name} is not set")
            }
            std::env::VarError::NotUnicode(_) => {
                format!("--secret-env: the environment variable {name} is not UTF-8 text")
            }
        })?;
        let key = VerifyKey::parse(value.trim())
            .map_err(|_| format!("--secret-env: {name} does not hold a webhook key: {LOOKS}"))?;
        keys.push(key);
    }
    Ok(keys)
}

/// Reports a usage error; exit 2.
fn usage(json: bool, message: &str) -> Outcome {
    if json {
        println!(
            "{}",
            json!({"verified": false, "webhook_id": null, "type": null, "error": message})
        );
    } else {
        eprintln!("error: {message}");
    }
    Outcome::Usage
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The verification, with a reason a person can act on when it fails.
fn check(
    request: &Request<'_>,
    keys: &[VerifyKey],
    now: i64,
    tolerance: i64,
) -> Result<(), String> {
    let headers = Headers {
        id: request.header("webhook-id")?,
        timestamp: request.header("webhook-timestamp")?,
        signature: request.header("webhook-signature")?,
    };
    // A negative time is no Unix time a sender uses; refusing it here also keeps the library's
    // age arithmetic away from i64::MIN.
    if headers
        .timestamp
        .and_then(|t| t.trim().parse::<i64>().ok())
        .is_some_and(|t| t < 0)
    {
        return Err(WebhookError::BadTimestamp.to_string());
    }
    match webhook::verify(keys, headers, request.body, now, tolerance) {
        Ok(()) => Ok(()),
        Err(e @ (WebhookError::TooOld(_) | WebhookError::TooNew(_))) => Err(format!(
            "{e} (the tolerance is {tolerance} s; --tolerance SECS widens it, to check an old capture)"
        )),
        Err(WebhookError::NoMatch) => Err(no_match(request, keys, headers.signature)),
        Err(e) => Err(e.to_string()),
    }
}

/// Why no signature matched, with what in the input may explain it.
fn no_match(request: &Request<'_>, keys: &[VerifyKey], signature: Option<&str>) -> String {
    let mut reason = format!(
        "no signature in webhook-signature verifies with the {} given (the body, webhook-id or \
         webhook-timestamp changed, or the key is not this endpoint's)",
        if keys.len() == 1 { "key" } else { "keys" }
    );
    let versions: Vec<&str> = signature
        .unwrap_or_default()
        .split(' ')
        .filter_map(|s| s.split_once(',').map(|(v, _)| v))
        .collect();
    let hmac_keys = keys.iter().any(|k| matches!(k, VerifyKey::Hmac(_)));
    let ed_keys = keys.iter().any(|k| matches!(k, VerifyKey::Ed25519(_)));
    if !versions.is_empty() && versions.iter().all(|v| *v == "v1") && !hmac_keys {
        reason.push_str("; the signatures are v1 (HMAC): verify with the endpoint's whsec_ secret");
    } else if !versions.is_empty() && versions.iter().all(|v| *v == "v1a") && !ed_keys {
        reason.push_str(
            "; the signatures are v1a (Ed25519): verify with the endpoint's whpk_ public_key",
        );
    }
    if let Ok(Some(te)) = request.header("transfer-encoding")
        && te.to_ascii_lowercase().contains("chunked")
    {
        reason.push_str("; the body is chunked (Transfer-Encoding: chunked): give it decoded");
    } else if let Ok(Some(len)) = request.header("content-length")
        && let Ok(len) = len.parse::<usize>()
        && len != request.body.len()
    {
        reason.push_str(&format!(
            "; the body is {} bytes but Content-Length says {len} (a newline added or lost?)",
            request.body.len()
        ));
    }
    reason
}

/// A request as read from stdin: its headers (lower-case names) and its body.
#[derive(Debug)]
struct Request<'a> {
    headers: Vec<(String, String)>,
    body: &'a [u8],
}

impl<'a> Request<'a> {
    /// An optional request line, header lines, a blank line, then the body (untouched). Lines
    /// end with LF or CRLF.
    fn parse(input: &'a [u8]) -> Result<Self, String> {
        let mut headers: Vec<(String, String)> = Vec::new();
        let mut pos = 0;
        let mut line_no = 0;
        loop {
            let Some(len) = input[pos..].iter().position(|b| *b == b'\n') else {
                return Err(
                    "the input has no blank line after the headers: give the request as received \
                     (an optional request line, the headers, a blank line, then the body)"
                        .into(),
                );
            };
            let raw = &input[pos..pos + len];
            pos += len + 1;
            line_no += 1;
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            if raw.is_empty() {
                break;
            }
            let line = std::str::from_utf8(raw)
                .map_err(|_| format!("line {line_no} of the headers is not UTF-8 text"))?;
            if line_no == 1 && is_request_line(line) {
                continue;
            }
            if line.starts_with([' ', '\t']) {
                // An obsolete folded header: the value continues.
                let Some((_, value)) = headers.last_mut() else {
                    return Err(format!(
                        "line {line_no} starts with a space but follows no header"
                    ));
                };
                value.push(' ');
                value.push_str(line.trim());
                continue;
            }
            if line.starts_with(':') {
                // An HTTP/2 pseudo-header (`:method: POST`) from a dump: not a signed header.
                continue;
            }
            let Some((name, value)) = line.split_once(':') else {
                return Err(format!(
                    "line {line_no} is neither a request line (POST /path HTTP/1.1) nor a header \
                     (Name: value); is a blank line missing before the body?"
                ));
            };
            if !is_token(name) {
                return Err(format!(
                    "line {line_no} is not a header (what precedes its colon is no header name); \
                     is a blank line missing before the body?"
                ));
            }
            headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
        }
        Ok(Self {
            headers,
            body: &input[pos..],
        })
    }

    /// The value of header `name` (lower case); an error when it appears more than once.
    fn header(&self, name: &'static str) -> Result<Option<&str>, String> {
        let mut found = self.headers.iter().filter(|(n, _)| n == name);
        let first = found.next().map(|(_, v)| v.as_str());
        if found.next().is_some() {
            return Err(format!("the {name} header appears more than once"));
        }
        Ok(first)
    }
}

/// An HTTP token (RFC 9110): what a header name is made of.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// `METHOD TARGET HTTP/x`.
fn is_request_line(line: &str) -> bool {
    let parts: Vec<&str> = line.split(' ').collect();
    matches!(parts.as_slice(), [method, target, version]
        if !method.is_empty()
            && method.bytes().all(|b| b.is_ascii_alphabetic())
            && !target.is_empty()
            && version.starts_with("HTTP/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_requests_with_or_without_a_request_line() {
        let r = Request::parse(b"POST /hook HTTP/1.1\r\nWebhook-ID: msg_1\r\n X\r\n\r\nbody\r\n")
            .unwrap();
        assert_eq!(r.header("webhook-id").unwrap(), Some("msg_1 X"));
        assert_eq!(r.body, b"body\r\n");
        let r = Request::parse(b"webhook-id:msg_2\n\n").unwrap();
        assert_eq!(r.header("webhook-id").unwrap(), Some("msg_2"));
        assert_eq!(r.body, b"");
        assert!(Request::parse(b"webhook-id: msg_1\n").is_err());
        assert!(Request::parse(b"webhook-id: msg_1\n{\"a\":1}").is_err());
        assert!(Request::parse(b"{\"type\":\"bot.done\"}\n\n").is_err());
        let twice = Request::parse(b"webhook-id: a\nwebhook-id: b\n\n").unwrap();
        assert!(twice.header("webhook-id").is_err());
    }

    #[test]
    fn debug_hides_the_secrets() {
        let args = VerifyArgs {
            secret: vec!["whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ=".into()],
            secret_env: Vec::new(),
            tolerance: 300,
            json: false,
        };
        assert!(!format!("{args:?}").contains("whsec_"));
    }
}
