//! The trust page's body (`GET /api/v1/trust`): the running deployment's controls, read from
//! its configuration and state (`meetvault_core::trust`), plus the headers this server sends.

use chrono::{DateTime, Utc};
use meetvault_core::trust::{Argon2Facts, ProcessorFacts, TrustReport};
use serde::Serialize;
use utoipa::ToSchema;

use crate::middleware::security_headers::{CONTENT_SECURITY_POLICY, HEADERS};

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct Argon2 {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl From<Argon2Facts> for Argon2 {
    fn from(a: Argon2Facts) -> Self {
        Self {
            memory_kib: a.memory_kib,
            iterations: a.iterations,
            parallelism: a.parallelism,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrustTransport {
    /// Whether this server terminates TLS itself.
    pub tls: bool,
    pub tls_versions: Vec<String>,
    /// Plain HTTP on a second listener redirects to HTTPS.
    pub http_redirect: bool,
    /// The `Strict-Transport-Security` header every answer carries.
    pub hsts: String,
    /// The `Content-Security-Policy` of API answers.
    pub content_security_policy: String,
    pub public_url: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrustEncryption {
    /// `local` (a key file on this server) or `aws-kms`.
    pub master_key_provider: String,
    pub key_hierarchy: String,
    pub field_cipher: String,
    pub blob_cipher: String,
    pub zero_access_available: bool,
    pub zero_access_kdf: Argon2,
    pub crypto_shredding: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrustAccounts {
    pub password_hash: String,
    pub password_hash_params: Argon2,
    pub password_min_chars: usize,
    pub session_lifetime_secs: u64,
    pub session_idle_timeout_secs: u64,
    pub second_factors: Vec<String>,
    pub open_registration: bool,
    pub sso: Vec<String>,
    pub calendars: Vec<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrustRateLimits {
    pub login_attempts: u32,
    pub login_period_secs: u64,
    pub invitations_per_hour: u32,
    pub deletion_requests_per_hour: u32,
    /// `in process` or `redis`.
    pub store: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrustRetention {
    /// `30d`, `forever`, …
    pub recordings: String,
    pub transcripts: String,
    pub bot_data: String,
    pub closed_org_grace_days: u32,
    pub sweep_interval_secs: u64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrustWebhooks {
    pub scheme: String,
    pub signatures: Vec<String>,
    pub retries: usize,
    pub disabled_after_failing_secs: u64,
    /// Private addresses user-given URLs may reach (the operator's allow-list).
    pub outbound_allowed_private: Vec<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrustAudit {
    pub structure: String,
    pub checkpoint_size: Option<i64>,
    /// Hex.
    pub checkpoint_root_hash: Option<String>,
    pub checkpoint_at: Option<DateTime<Utc>>,
    /// The signed note (C2SP), to verify offline with `public_key`.
    pub checkpoint_note: Option<String>,
    /// The verifier key (Go `sumdb/note` form).
    pub public_key: String,
    pub checkpoint_every_entries: u64,
    pub checkpoint_interval_secs: u64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrustProcessor {
    pub name: String,
    pub purpose: String,
    /// Where the data goes.
    pub location: String,
    /// In use by default (else only when chosen).
    pub default: bool,
}

impl From<ProcessorFacts> for TrustProcessor {
    fn from(p: ProcessorFacts) -> Self {
        Self {
            name: p.name,
            purpose: p.purpose.to_owned(),
            location: p.location,
            default: p.default,
        }
    }
}

/// What this deployment does to protect its data, generated from its running configuration.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Trust {
    pub generated_at: DateTime<Utc>,
    pub version: String,
    pub transport: TrustTransport,
    pub encryption: TrustEncryption,
    pub accounts: TrustAccounts,
    pub rate_limits: TrustRateLimits,
    pub retention: TrustRetention,
    pub webhooks: TrustWebhooks,
    pub audit: TrustAudit,
    pub processors: Vec<TrustProcessor>,
    pub security_contact: Vec<String>,
    /// Controls this deployment does not have, said plainly.
    pub not_enabled: Vec<String>,
}

fn owned(v: Vec<&'static str>) -> Vec<String> {
    v.into_iter().map(str::to_owned).collect()
}

impl From<TrustReport> for Trust {
    fn from(r: TrustReport) -> Self {
        let hsts = HEADERS
            .iter()
            .find(|(name, _)| *name == "strict-transport-security")
            .map(|(_, v)| (*v).to_owned())
            .unwrap_or_default();
        let t = r.transport;
        let e = r.encryption;
        let a = r.accounts;
        let l = r.rate_limits;
        let k = r.retention;
        let w = r.webhooks;
        let u = r.audit;
        Self {
            generated_at: r.generated_at,
            version: r.version.to_owned(),
            transport: TrustTransport {
                tls: t.tls,
                tls_versions: owned(t.tls_versions),
                http_redirect: t.http_redirect,
                hsts,
                content_security_policy: CONTENT_SECURITY_POLICY.to_owned(),
                public_url: t.public_url,
            },
            encryption: TrustEncryption {
                master_key_provider: e.master_key_provider.to_owned(),
                key_hierarchy: e.key_hierarchy.to_owned(),
                field_cipher: e.field_cipher.to_owned(),
                blob_cipher: e.blob_cipher.to_owned(),
                zero_access_available: e.zero_access_available,
                zero_access_kdf: e.zero_access_kdf.into(),
                crypto_shredding: e.crypto_shredding,
            },
            accounts: TrustAccounts {
                password_hash: a.password_hash.to_owned(),
                password_hash_params: a.password_hash_params.into(),
                password_min_chars: a.password_min_chars,
                session_lifetime_secs: a.session_lifetime_secs,
                session_idle_timeout_secs: a.session_idle_timeout_secs,
                second_factors: owned(a.second_factors),
                open_registration: a.open_registration,
                sso: a.sso,
                calendars: owned(a.calendars),
            },
            rate_limits: TrustRateLimits {
                login_attempts: l.login_attempts,
                login_period_secs: l.login_period_secs,
                invitations_per_hour: l.invitations_per_hour,
                deletion_requests_per_hour: l.deletion_requests_per_hour,
                store: l.store.to_owned(),
            },
            retention: TrustRetention {
                recordings: k.recordings,
                transcripts: k.transcripts,
                bot_data: k.bot_data,
                closed_org_grace_days: k.closed_org_grace_days,
                sweep_interval_secs: k.sweep_interval_secs,
            },
            webhooks: TrustWebhooks {
                scheme: w.scheme.to_owned(),
                signatures: owned(w.signatures),
                retries: w.retries,
                disabled_after_failing_secs: w.disabled_after_failing_secs,
                outbound_allowed_private: w.outbound_allowed_private,
            },
            audit: TrustAudit {
                structure: u.structure.to_owned(),
                checkpoint_size: u.checkpoint_size,
                checkpoint_root_hash: u.checkpoint_root_hash,
                checkpoint_at: u.checkpoint_at,
                checkpoint_note: u.checkpoint_note,
                public_key: u.public_key,
                checkpoint_every_entries: u.checkpoint_every_entries,
                checkpoint_interval_secs: u.checkpoint_interval_secs,
            },
            processors: r.processors.into_iter().map(Into::into).collect(),
            security_contact: r.security_contact,
            not_enabled: r.not_enabled,
        }
    }
}
