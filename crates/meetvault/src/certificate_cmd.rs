//! `meetvault certificate verify`: checks a deletion certificate offline — its canonical
//! bytes' digest, the Ed25519 signature, and the inclusion of its hash in the audit log under
//! a signed checkpoint. Exit 0 verified, 1 not verified, 2 a usage error (no such file, not a
//! certificate, a key that is not one). The HMAC signature needs the instance's secret and is
//! checked by the API (`verified.hmac_sha256`), not here.

use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use clap::{Args, Subcommand};
use meetvault_core::audit::NoteVerifier;
use meetvault_core::certificates::document::{self, Envelope};
use serde_json::json;

const VERIFY_LONG_ABOUT: &str = "Check a deletion certificate offline.\n\n\
    FILE is a certificate as the API returns it (`GET /api/certificates/crt_…`, or the answer \
    of `DELETE /api/v1/meetings/…`). Checks that the SHA-256 of its RFC 8785 canonical JSON is \
    the recorded digest, that the Ed25519 signature over those bytes verifies with the \
    instance's key, and that the audit log's `certificate.issue` entry commits to that digest \
    and is included in the tree a checkpoint signed by the same key.\n\n\
    Exit 0: verified. Exit 1: not verified (each failure is printed). Exit 2: a file that is \
    not a certificate, or a key that is not one.";

const VERIFY_EXAMPLES: &str = "Examples:\n  \
    curl -s https://meetvault.example.com/.well-known/meetvault-signing-key > key.txt\n  \
    curl -s https://meetvault.example.com/api/certificates/crt_… > cert.json\n  \
    meetvault certificate verify cert.json --key key.txt\n\n  \
    # Against a checkpoint you saved (or a witness holds) instead of the one in the file:\n  \
    curl -s https://meetvault.example.com/api/v1/audit/checkpoint > checkpoint.txt\n  \
    meetvault certificate verify cert.json --key key.txt --checkpoint checkpoint.txt --json";

#[derive(Debug, Subcommand)]
pub enum CertificateCommand {
    /// Check a deletion certificate offline: digest, Ed25519 signature, audit-log inclusion.
    #[command(long_about = VERIFY_LONG_ABOUT, after_help = VERIFY_EXAMPLES)]
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The certificate (JSON, as the API returns it).
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// The instance's signing key to trust, or a file holding it: as served at
    /// /.well-known/meetvault-signing-key (`name+id+base64`), a PEM public key, or the raw key
    /// in base64. Without it the key in the file is used, which proves only that the file is
    /// self-consistent.
    #[arg(long, value_name = "PUBKEY")]
    key: Option<String>,
    /// A signed checkpoint note to check the inclusion proof against instead of the file's.
    #[arg(long, value_name = "FILE")]
    checkpoint: Option<PathBuf>,
    /// Print {"verified", "checks", "problems", "key"} as JSON.
    #[arg(long)]
    json: bool,
}

/// What `run` found.
pub enum Outcome {
    Verified,
    NotVerified,
    Usage,
}

pub fn run(command: &CertificateCommand) -> Outcome {
    let CertificateCommand::Verify(args) = command;
    match verify(args) {
        Ok(outcome) => outcome,
        Err(message) => {
            eprintln!("error: {message}");
            Outcome::Usage
        }
    }
}

fn verify(args: &VerifyArgs) -> Result<Outcome, String> {
    let text = std::fs::read_to_string(&args.file)
        .map_err(|e| format!("reading {}: {e}", args.file.display()))?;
    let envelope: Envelope = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{} is not a certificate as the API returns it ({e})",
            args.file.display()
        )
    })?;
    let key_name = envelope
        .certificate
        .pointer("/issuer/key_name")
        .and_then(serde_json::Value::as_str)
        .ok_or("the certificate names no issuer.key_name")?
        .to_owned();
    let (verifier, trusted) = match &args.key {
        Some(k) if std::path::Path::new(k).is_file() => {
            let text = std::fs::read_to_string(k).map_err(|e| format!("reading {k}: {e}"))?;
            (parse_key(text.trim(), &key_name)?, true)
        }
        Some(k) => (parse_key(k.trim(), &key_name)?, true),
        None => (parse_key(&envelope.public_key, &key_name)?, false),
    };
    let checkpoint = args
        .checkpoint
        .as_ref()
        .map(|p| std::fs::read_to_string(p).map_err(|e| format!("reading {}: {e}", p.display())))
        .transpose()?;
    let checks = document::verify(&envelope, &verifier, checkpoint.as_deref(), None);
    let id = envelope
        .certificate
        .get("id")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("?");
    if args.json {
        println!(
            "{}",
            json!({
                "verified": checks.ok(),
                "id": id,
                "checks": {"digest": checks.digest, "ed25519": checks.ed25519,
                           "inclusion": checks.inclusion, "hmac_sha256": "not checked offline"},
                "problems": checks.problems,
                "key": {"name": verifier.name(), "id": format!("{:08x}", verifier.key_id()),
                        "from": if trusted { "--key" } else { "the file (untrusted)" }},
            })
        );
    } else if checks.ok() {
        println!(
            "verified: {id} (signature, digest{})",
            if checks.inclusion.is_some() {
                ", audit-log inclusion"
            } else {
                "; no inclusion proof in the file"
            }
        );
        if !trusted {
            eprintln!(
                "note: checked with the key in the file; pass --key with the key the instance publishes at /.well-known/meetvault-signing-key to trust the result"
            );
        }
    } else {
        eprintln!("not verified: {id}");
        for p in &checks.problems {
            eprintln!("  - {p}");
        }
    }
    Ok(if checks.ok() {
        Outcome::Verified
    } else {
        Outcome::NotVerified
    })
}

/// A note verifier key (`name+id+base64`), a PEM SubjectPublicKeyInfo, or a raw base64 key
/// (named `key_name`, the certificate's, so checkpoint signatures match by name).
fn parse_key(text: &str, key_name: &str) -> Result<NoteVerifier, String> {
    // `name+<8 hex>+base64`; a raw base64 key may hold `+` too, but never that shape.
    let mut parts = text.splitn(3, '+');
    if let (Some(_), Some(id), Some(_)) = (parts.next(), parts.next(), parts.next())
        && id.len() == 8
        && id.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return NoteVerifier::parse(text).map_err(|e| format!("--key: {e}"));
    }
    let raw = if text.starts_with("-----BEGIN PUBLIC KEY-----") {
        let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = STANDARD
            .decode(body.trim())
            .map_err(|_| "--key: the PEM body is not base64".to_owned())?;
        // SubjectPublicKeyInfo of an Ed25519 key: a fixed 12-byte prefix, then the key.
        const PREFIX: [u8; 12] = [
            0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
        ];
        if der.len() != 44 || der[..12] != PREFIX {
            return Err("--key: the PEM key is not an Ed25519 public key".into());
        }
        der[12..].to_vec()
    } else {
        STANDARD
            .decode(text)
            .map_err(|_| "--key: not a verifier key, a PEM key, or base64".to_owned())?
    };
    let raw = <[u8; 32]>::try_from(raw.as_slice())
        .map_err(|_| "--key: an Ed25519 public key is 32 bytes".to_owned())?;
    NoteVerifier::from_public_key(key_name, &raw).map_err(|e| format!("--key: {e}"))
}
