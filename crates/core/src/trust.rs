//! The trust page's facts (`core.instance().trust()`), read from the running configuration
//! and state, never written as prose about a control: each value is the setting in force (TLS,
//! HSTS, the master-key provider, Argon2id's parameters, session lifetimes, rate limits,
//! retention, webhook signing, the audit log's latest signed checkpoint and key, the
//! processors that see meeting content, sign-in methods, the security contact), and
//! `not_enabled` lists, in words, the controls this deployment does not have. Public: nothing
//! here is secret or any tenant's.

use chrono::{DateTime, Utc};
use meetvault_config::{KeyProvider, TranscriptionProvider};

use crate::{Core, CoreError};

/// How traffic reaches the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportFacts {
    /// The server terminates TLS itself.
    pub tls: bool,
    /// The protocol versions it accepts when it does.
    pub tls_versions: Vec<&'static str>,
    /// Plain HTTP on a second listener answers with a redirect to HTTPS.
    pub http_redirect: bool,
    /// Where users reach it.
    pub public_url: Option<String>,
}

/// Encryption at rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptionFacts {
    /// `local` (a key file on this server) or `aws-kms`.
    pub master_key_provider: &'static str,
    /// Keys: master → org → user → meeting; each meeting's content under a key of its own.
    pub key_hierarchy: &'static str,
    pub field_cipher: &'static str,
    pub blob_cipher: &'static str,
    /// People may hold their keys under their password, so the server cannot read their
    /// meetings while they are away.
    pub zero_access_available: bool,
    /// Argon2id for zero-access password keys.
    pub zero_access_kdf: Argon2Facts,
    /// Deleting a meeting destroys its keys first (crypto-shredding), with a signed certificate.
    pub crypto_shredding: bool,
}

/// Argon2id parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Facts {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

/// Accounts and sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountFacts {
    pub password_hash: &'static str,
    pub password_hash_params: Argon2Facts,
    pub password_min_chars: usize,
    pub session_lifetime_secs: u64,
    pub session_idle_timeout_secs: u64,
    pub second_factors: Vec<&'static str>,
    pub open_registration: bool,
    /// Sign-in methods beside the password.
    pub sso: Vec<String>,
    /// Calendar providers people may connect.
    pub calendars: Vec<&'static str>,
}

/// Attempt limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitFacts {
    pub login_attempts: u32,
    pub login_period_secs: u64,
    pub invitations_per_hour: u32,
    pub deletion_requests_per_hour: u32,
    /// `in process` or `redis` (shared by every instance).
    pub store: &'static str,
}

/// Retention defaults (orgs, workspaces and meetings may shorten them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionFacts {
    pub recordings: String,
    pub transcripts: String,
    pub bot_data: String,
    pub closed_org_grace_days: u32,
    pub sweep_interval_secs: u64,
}

/// Outgoing webhooks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookFacts {
    pub scheme: &'static str,
    pub signatures: Vec<&'static str>,
    pub retries: usize,
    pub disabled_after_failing_secs: u64,
    /// Where webhooks and other user-given URLs may point besides the public internet.
    pub outbound_allowed_private: Vec<String>,
}

/// The audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditFacts {
    pub structure: &'static str,
    /// The latest signed checkpoint, if one was signed yet.
    pub checkpoint_size: Option<i64>,
    pub checkpoint_root_hash: Option<String>,
    pub checkpoint_at: Option<DateTime<Utc>>,
    /// The signed note itself (C2SP signed-note format), for offline verification.
    pub checkpoint_note: Option<String>,
    /// The verifier key (`GET /.well-known/meetvault-signing-key`).
    pub public_key: String,
    pub checkpoint_every_entries: u64,
    pub checkpoint_interval_secs: u64,
}

/// Something that sees meeting content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessorFacts {
    pub name: String,
    pub purpose: &'static str,
    /// Where the data goes.
    pub location: String,
    /// Whether it is in use by default (else only when a meeting, workspace or org chooses it).
    pub default: bool,
}

/// Everything the trust page says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustReport {
    pub generated_at: DateTime<Utc>,
    pub version: &'static str,
    pub transport: TransportFacts,
    pub encryption: EncryptionFacts,
    pub accounts: AccountFacts,
    pub rate_limits: RateLimitFacts,
    pub retention: RetentionFacts,
    pub webhooks: WebhookFacts,
    pub audit: AuditFacts,
    pub processors: Vec<ProcessorFacts>,
    pub security_contact: Vec<String>,
    /// The controls this deployment does not have, each said plainly.
    pub not_enabled: Vec<String>,
}

impl crate::instance::Instance<'_> {
    /// The trust page's facts, from the configuration in force and the audit log's state.
    pub async fn trust(self) -> Result<TrustReport, CoreError> {
        let core: &Core = self.core;
        let c = core.config();
        let tls = c.server.tls.is_some();
        let checkpoint = core.db().latest_checkpoint().await?;
        let mut not_enabled = Vec::new();
        let mut say = |s: &str| not_enabled.push(s.to_owned());

        if !tls {
            say(
                "TLS is not terminated by this server: it listens on plain HTTP, so a proxy in front must provide HTTPS (browsers get the HSTS header only over HTTPS).",
            );
        }
        if c.server.public_url.is_none() {
            say(
                "No public URL is set: Host headers are not restricted to this server's name, and single sign-on and calendars are unavailable.",
            );
        }
        if c.keys.provider == KeyProvider::Local {
            say(
                "No external key management service: the master key is a key file on this server (keys.provider = \"local\").",
            );
        }
        if c.rate_limit.redis_url.is_none() {
            say(
                "Rate limits are counted in this process only: several instances each keep their own counts (no rate_limit.redis_url).",
            );
        }
        if c.retention.recordings == meetvault_config::Window::Forever {
            say("Recordings are kept until someone deletes them: no default retention window.");
        }
        if c.retention.transcripts == meetvault_config::Window::Forever {
            say("Transcripts are kept until someone deletes them: no default retention window.");
        }
        if c.security_txt.contact.is_empty() {
            say("No security contact is published (security_txt.contact is empty).");
        }
        if c.auth.open_registration {
            say(
                "Anyone who reaches this server may register an organization (auth.open_registration).",
            );
        }
        if c.sso.oidc.is_empty() {
            say(
                "No instance-wide single sign-on provider (organizations may still add their own OpenID Connect or SAML provider).",
            );
        }
        if c.transcription.default_provider != TranscriptionProvider::Local {
            say(
                "Transcription leaves this server by default: meetings go to a remote provider unless they choose the local engine.",
            );
        }
        if c.intelligence.pii_redaction == meetvault_config::PiiRedaction::Off {
            say(
                "Personal data is not redacted before a remote language model sees a transcript (intelligence.pii_redaction = \"off\").",
            );
        }
        if c.server.metrics_token.is_none() {
            say(
                "The metrics endpoint is open to anyone who can reach it (no server.metrics_token).",
            );
        }

        let mut processors = vec![ProcessorFacts {
            name: c
                .model_dir()
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "whisper".into()),
            purpose: "transcription (local Whisper engine)",
            location: "this server (in process)".into(),
            default: c.transcription.default_provider == TranscriptionProvider::Local,
        }];
        for (p, name, purpose) in [
            (
                TranscriptionProvider::Openai,
                "OpenAI-compatible transcription",
                "transcription, when a meeting names it with its owner's key",
            ),
            (
                TranscriptionProvider::Deepgram,
                "Deepgram",
                "transcription, when a meeting names it with its owner's key",
            ),
        ] {
            processors.push(ProcessorFacts {
                name: name.into(),
                purpose,
                location: "the provider's service (outside this server)".into(),
                default: c.transcription.default_provider == p,
            });
        }
        if c.intelligence.enabled {
            let (chat, embed) = core.inner.intel.installed();
            if chat {
                processors.push(ProcessorFacts {
                    name: core.inner.intel.chat_name(),
                    purpose: "summaries (local language model)",
                    location: "this server (in process)".into(),
                    default: true,
                });
            }
            if embed {
                processors.push(ProcessorFacts {
                    name: "all-minilm-l6-v2".into(),
                    purpose: "search and questions (local sentence embeddings)",
                    location: "this server (in process)".into(),
                    default: true,
                });
            }
            processors.push(ProcessorFacts {
                name: "OpenAI-compatible chat".into(),
                purpose: "summaries, when an org, workspace or meeting chooses a remote provider",
                location: "the provider the org names (outside this server)".into(),
                default: false,
            });
        } else {
            say(
                "Meeting intelligence (summaries, search, questions) is turned off (intelligence.enabled = false).",
            );
        }

        let mut sso: Vec<String> = c
            .sso
            .oidc
            .iter()
            .map(|p| format!("OpenID Connect: {}", p.name))
            .collect();
        if c.server.public_url.is_some() {
            sso.push("SAML 2.0 and OpenID Connect per organization".into());
        }
        let mut calendars = Vec::new();
        if c.calendar.google.is_some() {
            calendars.push("Google Calendar (read-only)");
        }
        if c.calendar.microsoft.is_some() {
            calendars.push("Microsoft 365 (read-only)");
        }
        let zero_access_kdf = Argon2Facts {
            memory_kib: c.keys.zero_access_memory_kib,
            iterations: c.keys.zero_access_iterations,
            parallelism: c.keys.zero_access_parallelism,
        };
        Ok(TrustReport {
            generated_at: Utc::now(),
            version: env!("CARGO_PKG_VERSION"),
            transport: TransportFacts {
                tls,
                tls_versions: if tls {
                    vec!["TLS 1.3", "TLS 1.2"]
                } else {
                    Vec::new()
                },
                http_redirect: c
                    .server
                    .tls
                    .as_ref()
                    .is_some_and(|t| t.redirect_listen.is_some()),
                public_url: c.server.public_url.as_ref().map(|u| u.to_string()),
            },
            encryption: EncryptionFacts {
                master_key_provider: match c.keys.provider {
                    KeyProvider::Local => "local",
                    KeyProvider::AwsKms => "aws-kms",
                },
                key_hierarchy: "master key → org key → user key → meeting key",
                field_cipher: "XChaCha20-Poly1305",
                blob_cipher: "XChaCha20-Poly1305 (STREAM segments)",
                zero_access_available: true,
                zero_access_kdf,
                crypto_shredding: true,
            },
            accounts: AccountFacts {
                password_hash: "Argon2id",
                password_hash_params: Argon2Facts {
                    memory_kib: c.auth.argon2_memory_kib,
                    iterations: c.auth.argon2_iterations,
                    parallelism: c.auth.argon2_parallelism,
                },
                password_min_chars: meetvault_auth::password::MIN_CHARS,
                session_lifetime_secs: c.auth.session_ttl_secs,
                session_idle_timeout_secs: c.auth.session_idle_timeout_secs,
                second_factors: vec!["TOTP (RFC 6238)", "recovery codes"],
                open_registration: c.auth.open_registration,
                sso,
                calendars,
            },
            rate_limits: RateLimitFacts {
                login_attempts: c.rate_limit.attempts,
                login_period_secs: c.rate_limit.period_secs,
                invitations_per_hour: c.rate_limit.invitations_per_hour,
                deletion_requests_per_hour: c.rate_limit.deletion_requests_per_hour,
                store: if c.rate_limit.redis_url.is_some() {
                    "redis"
                } else {
                    "in process"
                },
            },
            retention: RetentionFacts {
                recordings: c.retention.recordings.to_string(),
                transcripts: c.retention.transcripts.to_string(),
                bot_data: c.retention.bot_data.to_string(),
                closed_org_grace_days: c.retention.org_grace_days,
                sweep_interval_secs: c.retention.sweep_interval_secs,
            },
            webhooks: WebhookFacts {
                scheme: "Standard Webhooks v1",
                signatures: vec!["HMAC-SHA256 (whsec_)", "Ed25519 (v1a)"],
                retries: c.webhooks.retry_delays_ms.len(),
                disabled_after_failing_secs: c.webhooks.disable_after_secs,
                outbound_allowed_private: c.outbound.allow_hosts.clone(),
            },
            audit: AuditFacts {
                structure: "RFC 9162 Merkle tree; checkpoints signed as C2SP signed notes (Ed25519)",
                checkpoint_size: checkpoint.as_ref().map(|k| k.tree_size),
                checkpoint_root_hash: checkpoint.as_ref().map(|k| hex::encode(&k.root_hash)),
                checkpoint_at: checkpoint.as_ref().map(|k| k.created_at),
                checkpoint_note: checkpoint.map(|k| k.note),
                public_key: core.audit_log().verifier().to_vkey(),
                checkpoint_every_entries: c.audit.checkpoint_every,
                checkpoint_interval_secs: c.audit.checkpoint_interval_secs,
            },
            processors,
            security_contact: c.security_txt.contact.clone(),
            not_enabled,
        })
    }
}
