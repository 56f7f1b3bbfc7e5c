//! meetvault's configuration: the typed tree, its defaults, and how it is loaded
//! (defaults < `meetvault.toml` < `MEETVAULT_*` environment < flags).
//! Pure data and validation: no I/O beyond reading the config file and `_FILE` secrets.

mod bot;
mod calendar;
mod email;
mod integrations;
mod intelligence;
mod kubernetes;
mod load;
mod media;
mod retention;
mod secret;
mod sso;
mod widgets;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use url::Url;

pub use bot::{BotConfig, BotLauncher};
pub use calendar::{CalendarConfig, GoogleCalendarConfig, MicrosoftCalendarConfig};
pub use email::{EmailConfig, SmtpSecurity, SmtpServer};
pub use integrations::{IntegrationOAuthApp, IntegrationsConfig};
pub use intelligence::{
    CHAT_MODEL_FOLDER, EMBEDDING_MODEL_FOLDER, IntelligenceConfig, PiiPattern, PiiRedaction,
};
pub use kubernetes::{
    KubernetesConfig, PullPolicy, RESERVED_LABEL_PREFIXES, TaintEffect, Toleration,
    TolerationOperator,
};
pub use load::{ConfigError, ConfigSource, ENV_PREFIX, Overrides, load};
pub use media::{
    ComputeType, EventsConfig, JobsConfig, LocalModel, OutboundConfig, RecordingsConfig,
    TranscriptionConfig, TranscriptionProvider, WebhooksConfig,
};
pub use retention::{MAX_DAYS as MAX_RETENTION_DAYS, RetentionConfig, Window};
pub use secret::{DatabaseKind, DatabaseUrl, REDACTED, Secret, lenient_string};
pub use sso::{OidcKind, OidcProviderConfig, SsoConfig, SsoDomainConfig};
pub use widgets::WidgetsConfig;

/// The annotated example file printed by `meetvault config example`; a test keeps it in step with
/// the defaults.
pub const EXAMPLE_TOML: &str = include_str!("../meetvault.example.toml");

/// The whole configuration. Every section has defaults, so an empty file is a working embedded setup.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the SQLite database, blob files and generated keys live.
    pub data_dir: PathBuf,
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub blobs: BlobConfig,
    pub log: LogConfig,
    pub security_txt: SecurityTxtConfig,
    pub auth: AuthConfig,
    pub rate_limit: RateLimitConfig,
    pub audit: AuditConfig,
    pub keys: KeysConfig,
    pub recordings: RecordingsConfig,
    pub transcription: TranscriptionConfig,
    pub jobs: JobsConfig,
    pub outbound: OutboundConfig,
    pub events: EventsConfig,
    pub webhooks: WebhooksConfig,
    pub bot: BotConfig,
    pub retention: RetentionConfig,
    pub email: EmailConfig,
    pub intelligence: IntelligenceConfig,
    pub sso: SsoConfig,
    pub calendar: CalendarConfig,
    pub integrations: IntegrationsConfig,
    pub widgets: WidgetsConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./meetvault-data"),
            server: ServerConfig::default(),
            database: DatabaseConfig::default(),
            blobs: BlobConfig::default(),
            log: LogConfig::default(),
            security_txt: SecurityTxtConfig::default(),
            auth: AuthConfig::default(),
            rate_limit: RateLimitConfig::default(),
            audit: AuditConfig::default(),
            keys: KeysConfig::default(),
            recordings: RecordingsConfig::default(),
            transcription: TranscriptionConfig::default(),
            jobs: JobsConfig::default(),
            outbound: OutboundConfig::default(),
            events: EventsConfig::default(),
            webhooks: WebhooksConfig::default(),
            bot: BotConfig::default(),
            retention: RetentionConfig::default(),
            email: EmailConfig::default(),
            intelligence: IntelligenceConfig::default(),
            sso: SsoConfig::default(),
            calendar: CalendarConfig::default(),
            integrations: IntegrationsConfig::default(),
            widgets: WidgetsConfig::default(),
        }
    }
}

impl Config {
    /// The database URL in force: the configured one, or the SQLite file in the data directory.
    pub fn database_url(&self) -> DatabaseUrl {
        match &self.database.url {
            Some(url) => url.clone(),
            None => DatabaseUrl::sqlite_file(&self.data_dir.join("meetvault.db")),
        }
    }

    /// The filesystem blob root in force.
    pub fn blob_path(&self) -> PathBuf {
        self.blobs
            .path
            .clone()
            .unwrap_or_else(|| self.data_dir.join("blobs"))
    }

    /// Where generated key material is kept (directory 0700, files 0600).
    pub fn keys_dir(&self) -> PathBuf {
        self.data_dir.join("keys")
    }

    /// The local master key file in force.
    pub fn master_key_path(&self) -> PathBuf {
        self.keys
            .master_key_file
            .clone()
            .unwrap_or_else(|| self.keys_dir().join("master.key"))
    }

    /// The local Whisper model folder in force.
    pub fn model_dir(&self) -> PathBuf {
        self.transcription
            .model_dir
            .clone()
            .unwrap_or_else(|| self.local_model_dir(self.transcription.model))
    }

    /// The embedded chat model file in force.
    pub fn chat_model_path(&self) -> PathBuf {
        self.intelligence.chat_model.clone().unwrap_or_else(|| {
            self.data_dir
                .join("models")
                .join(CHAT_MODEL_FOLDER)
                .join("model.gguf")
        })
    }

    /// The embedding model folder in force.
    pub fn embedding_model_dir(&self) -> PathBuf {
        self.intelligence
            .embedding_model
            .clone()
            .unwrap_or_else(|| self.data_dir.join("models").join(EMBEDDING_MODEL_FOLDER))
    }

    /// Where `scripts/models.sh` installs `model`: `DATA_DIR/models/whisper-<name>`.
    pub fn local_model_dir(&self, model: LocalModel) -> PathBuf {
        self.data_dir.join("models").join(model.folder())
    }

    /// Checks that hold across keys; each error names the key at fault.
    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: &str| {
            Err(ConfigError::Invalid {
                key: key.to_owned(),
                message: message.to_owned(),
            })
        };
        if self.data_dir.as_os_str().is_empty() {
            return invalid("data_dir", "must not be empty");
        }
        if self.server.request_timeout_secs == 0 {
            return invalid("server.request_timeout_secs", "must be at least 1");
        }
        if self.server.body_idle_timeout_secs == 0 {
            return invalid("server.body_idle_timeout_secs", "must be at least 1");
        }
        if self.server.body_limit_bytes < 1024 {
            return invalid("server.body_limit_bytes", "must be at least 1024");
        }
        if let Some(url) = &self.server.public_url
            && !matches!(url.scheme(), "http" | "https")
        {
            return invalid("server.public_url", "must be an http:// or https:// URL");
        }
        if let Some(tls) = &self.server.tls
            && tls.redirect_listen == Some(self.server.listen)
        {
            return invalid(
                "server.tls.redirect_listen",
                "must differ from server.listen (the HTTPS listener)",
            );
        }
        if self.blobs.backend == BlobBackend::S3 {
            match &self.blobs.s3 {
                None => return invalid("blobs.s3", "is required when blobs.backend = \"s3\""),
                Some(s3) if s3.bucket.trim().is_empty() => {
                    return invalid("blobs.s3.bucket", "must not be empty");
                }
                Some(s3) if s3.access_key_id.is_some() != s3.secret_access_key.is_some() => {
                    return invalid(
                        "blobs.s3.secret_access_key",
                        "access_key_id and secret_access_key must be set together",
                    );
                }
                Some(_) => {}
            }
        }
        if self.blobs.multipart_threshold_bytes < 5 * 1024 * 1024 {
            return invalid(
                "blobs.multipart_threshold_bytes",
                "must be at least 5242880 (S3's smallest multipart part)",
            );
        }
        if self.security_txt.expires_days == 0 || self.security_txt.expires_days > 366 {
            return invalid(
                "security_txt.expires_days",
                "must be between 1 and 366 (RFC 9116 advises less than a year)",
            );
        }
        for (i, proxy) in self.server.trusted_proxies.iter().enumerate() {
            if parse_ip_range(proxy).is_none() {
                return invalid(
                    &format!("server.trusted_proxies[{i}]"),
                    "must be an IP address or a CIDR range such as 10.0.0.0/8",
                );
            }
        }
        for (i, host) in self.server.allowed_hosts.iter().enumerate() {
            if host.is_empty()
                || host
                    .chars()
                    .any(|c| c.is_whitespace() || matches!(c, '/' | '@' | '*'))
            {
                return invalid(
                    &format!("server.allowed_hosts[{i}]"),
                    "must be a host name or IP address such as meetvault.example.com (no scheme, path or wildcard)",
                );
            }
        }
        let a = &self.auth;
        if a.argon2_memory_kib < 19456 || a.argon2_iterations < 2 || a.argon2_parallelism < 1 {
            return invalid(
                "auth.argon2_memory_kib",
                "Argon2id parameters must be at least the OWASP minimum (memory 19456 KiB, 2 iterations, parallelism 1)",
            );
        }
        if a.password_hash_concurrency == 0 {
            return invalid("auth.password_hash_concurrency", "must be at least 1");
        }
        if a.session_idle_timeout_secs == 0 || a.session_idle_timeout_secs > a.session_ttl_secs {
            return invalid(
                "auth.session_idle_timeout_secs",
                "must be at least 1 and at most auth.session_ttl_secs",
            );
        }
        if self.rate_limit.attempts == 0 || self.rate_limit.period_secs == 0 {
            return invalid(
                "rate_limit.attempts",
                "attempts and period_secs must be at least 1",
            );
        }
        if self.rate_limit.invitations_per_hour == 0 {
            return invalid("rate_limit.invitations_per_hour", "must be at least 1");
        }
        if self.rate_limit.deletion_requests_per_hour == 0 {
            return invalid(
                "rate_limit.deletion_requests_per_hour",
                "must be at least 1",
            );
        }
        if self.audit.checkpoint_every == 0 || self.audit.checkpoint_interval_secs == 0 {
            return invalid(
                "audit.checkpoint_every",
                "checkpoint_every and checkpoint_interval_secs must be at least 1",
            );
        }
        if self.retention.sweep_interval_secs == 0 || self.retention.batch == 0 {
            return invalid(
                "retention.sweep_interval_secs",
                "sweep_interval_secs and batch must be at least 1",
            );
        }
        if self.events.retention_secs == 0 {
            return invalid("events.retention_secs", "must be at least 1");
        }
        let w = &self.webhooks;
        if w.retry_delays_ms.len() > 20
            || w.retry_delays_ms.iter().any(|d| *d > 7 * 24 * 3600 * 1000)
        {
            return invalid(
                "webhooks.retry_delays_ms",
                "at most 20 delays, each at most 7 days",
            );
        }
        if w.timeout_secs == 0 || w.concurrency == 0 || w.poll_ms == 0 || w.disable_after_secs == 0
        {
            return invalid(
                "webhooks",
                "timeout_secs, concurrency, poll_ms, disable_after_secs and lease_secs must be at least 1",
            );
        }
        if self.audit.refusal_window_secs == 0 {
            return invalid("audit.refusal_window_secs", "must be at least 1");
        }
        let k = &self.keys;
        if k.zero_access_memory_kib < 65536
            || k.zero_access_iterations < 3
            || k.zero_access_parallelism < 4
        {
            return invalid(
                "keys.zero_access_memory_kib",
                "zero-access Argon2id parameters must be at least RFC 9106's second recommendation (65536 KiB, 3 iterations, parallelism 4)",
            );
        }
        match (k.provider, &k.aws_kms) {
            (KeyProvider::AwsKms, None) => {
                return invalid(
                    "keys.aws_kms",
                    "keys.provider is \"aws-kms\" but [keys.aws_kms] is missing",
                );
            }
            (KeyProvider::AwsKms, Some(kms)) if kms.key_id.is_none() => {
                return invalid(
                    "keys.aws_kms.key_id",
                    "the master key id (or ARN) is required when keys.provider is \"aws-kms\"",
                );
            }
            _ => {}
        }
        media::validate(&self.recordings, &self.transcription, &self.jobs)?;
        intelligence::validate(&self.intelligence)?;
        sso::validate(&self.sso, self.server.public_url.as_ref())?;
        calendar::validate(&self.calendar, self.server.public_url.as_ref())?;
        integrations::validate(&self.integrations)?;
        widgets::validate(&self.widgets)?;
        bot::validate(&self.bot)?;
        email::validate(&self.email)?;
        for (i, contact) in self.security_txt.contact.iter().enumerate() {
            let ok = Url::parse(contact)
                .map(|u| matches!(u.scheme(), "mailto" | "https" | "tel"))
                .unwrap_or(false);
            if !ok {
                return invalid(
                    &format!("security_txt.contact[{i}]"),
                    "must be a mailto:, https: or tel: URI",
                );
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address of the main listener (HTTPS when `tls` is set, plain HTTP otherwise).
    pub listen: SocketAddr,
    /// The URL users reach this server at; used for redirects and security.txt's Canonical.
    pub public_url: Option<Url>,
    /// A request that takes longer is answered 503 with code `timeout`.
    pub request_timeout_secs: u64,
    /// Largest request body read into memory (JSON and forms); streaming uploads have their own limits.
    pub body_limit_bytes: usize,
    /// A streamed upload (recordings, `/v1/audio/transcriptions`) whose body sends nothing for
    /// this long is stopped with 408 and leaves nothing behind.
    pub body_idle_timeout_secs: u64,
    /// How long shutdown waits for in-flight requests before closing them.
    pub shutdown_grace_secs: u64,
    /// If set, `/metrics` requires `Authorization: Bearer <token>`.
    pub metrics_token: Option<Secret>,
    /// Proxies (addresses or CIDR ranges) whose `X-Forwarded-For` is believed; from any other
    /// peer the header is ignored and the peer address is the client.
    pub trusted_proxies: Vec<String>,
    /// Host names (or IP literals) requests may name in `Host`, besides `public_url`'s host.
    /// When this or `public_url` is set, any other host is answered 421 (a DNS-rebinding
    /// defence); the health, readiness and metrics probes are exempt.
    pub allowed_hosts: Vec<String>,
    pub tls: Option<TlsConfig>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            request_timeout_secs: 30,
            body_limit_bytes: 1024 * 1024,
            body_idle_timeout_secs: 30,
            shutdown_grace_secs: 30,
            metrics_token: None,
            trusted_proxies: Vec::new(),
            allowed_hosts: Vec::new(),
            tls: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain, leaf first.
    pub cert_file: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
    /// Optional plain-HTTP listener that answers every request with 301 to the HTTPS URL.
    #[serde(default)]
    pub redirect_listen: Option<SocketAddr>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite://PATH` or `postgres://USER:PASSWORD@HOST:PORT/DB`; unset means
    /// `DATA_DIR/meetvault.db`.
    pub url: Option<DatabaseUrl>,
    /// Pool size; unset picks 5 for SQLite and 10 for PostgreSQL.
    pub max_connections: Option<u32>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, Eq, PartialEq, Default)]
#[serde(rename_all = "lowercase")]
pub enum BlobBackend {
    #[default]
    Filesystem,
    S3,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BlobConfig {
    pub backend: BlobBackend,
    /// Filesystem root; unset means `DATA_DIR/blobs`.
    pub path: Option<PathBuf>,
    /// Objects larger than this are uploaded in parts of this size.
    pub multipart_threshold_bytes: usize,
    pub s3: Option<S3Config>,
}

impl Default for BlobConfig {
    fn default() -> Self {
        Self {
            backend: BlobBackend::Filesystem,
            path: None,
            multipart_threshold_bytes: 8 * 1024 * 1024,
            s3: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3Config {
    #[serde(deserialize_with = "lenient_string")]
    pub bucket: String,
    /// Any S3-compatible endpoint; unset means AWS's regional endpoint.
    #[serde(default)]
    pub endpoint: Option<Url>,
    #[serde(default = "default_region", deserialize_with = "lenient_string")]
    pub region: String,
    /// Key prefix inside the bucket, so one bucket can hold several deployments.
    #[serde(default, deserialize_with = "lenient_string")]
    pub prefix: String,
    #[serde(default)]
    pub access_key_id: Option<Secret>,
    #[serde(default)]
    pub secret_access_key: Option<Secret>,
    /// Path-style addressing (`endpoint/bucket/key`), needed by most self-hosted S3 servers.
    #[serde(default)]
    pub path_style: bool,
    /// Permit a plain `http://` endpoint (loopback test servers); off by default.
    #[serde(default)]
    pub allow_http: bool,
}

fn default_region() -> String {
    "us-east-1".to_owned()
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, Eq, PartialEq, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Json,
    Pretty,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A tracing filter: `info`, `debug`, or per target (`meetvault_http=debug,info`).
    #[serde(deserialize_with = "lenient_string")]
    pub level: String,
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".to_owned(),
            format: LogFormat::Json,
        }
    }
}

/// RFC 9116 `/.well-known/security.txt`. Served only once at least one contact is configured.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecurityTxtConfig {
    /// `mailto:`, `https:` or `tel:` URIs, in order of preference.
    pub contact: Vec<String>,
    /// Expires is written as now + this many days, so the file never goes stale while served.
    pub expires_days: u32,
    pub preferred_languages: Vec<String>,
    /// Defaults to `server.public_url` + `/.well-known/security.txt` when that is set.
    pub canonical: Option<Url>,
    pub policy: Option<Url>,
    pub encryption: Option<Url>,
    pub acknowledgments: Option<Url>,
}

impl Default for SecurityTxtConfig {
    fn default() -> Self {
        Self {
            contact: Vec::new(),
            expires_days: 180,
            preferred_languages: vec!["en".to_owned()],
            canonical: None,
            policy: None,
            encryption: None,
            acknowledgments: None,
        }
    }
}

/// Accounts, sessions and passwords.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// After the first user, anyone may register a new organization (otherwise: by invitation).
    pub open_registration: bool,
    /// Absolute lifetime of a browser session.
    pub session_ttl_secs: u64,
    /// A session unused for this long ends.
    pub session_idle_timeout_secs: u64,
    /// Argon2id cost; below the OWASP minimum is refused. Raising it re-hashes on next login.
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_parallelism: u32,
    /// Password hashes computed at once (on their own threads, niced); more wait, so a login
    /// storm slows logins, not the API. One (about 50 logins a second) keeps a core for
    /// everything else on a small server (bench/run.sh measures the storm).
    pub password_hash_concurrency: usize,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            open_registration: false,
            session_ttl_secs: 7 * 24 * 3600,
            session_idle_timeout_secs: 24 * 3600,
            argon2_memory_kib: 19456,
            argon2_iterations: 2,
            argon2_parallelism: 1,
            password_hash_concurrency: 1,
        }
    }
}

/// Limits on login, registration, password change, invitation accept and support-key use, and
/// on sending invitations.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitConfig {
    /// Attempts allowed per client IP and per target account in `period_secs` (GCRA).
    pub attempts: u32,
    pub period_secs: u64,
    /// Invitations an hour per inviting member and per organization (GCRA).
    pub invitations_per_hour: u32,
    /// Participant deletion requests an hour per client IP and per email address (GCRA).
    pub deletion_requests_per_hour: u32,
    /// Share the limits between instances through Redis; unset keeps them in process.
    /// The plain `REDIS_URL` environment variable is honoured too.
    pub redis_url: Option<Secret>,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            attempts: 10,
            period_secs: 300,
            invitations_per_hour: 60,
            deletion_requests_per_hour: 5,
            redis_url: None,
        }
    }
}

/// The tamper-evident audit log.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// A signed checkpoint is written after this many new entries…
    pub checkpoint_every: u64,
    /// …or this often when the log has grown (reads never sign).
    pub checkpoint_interval_secs: u64,
    /// Refused attempts of one kind from one source are written as their first entry and one
    /// summary with a count per this many seconds.
    pub refusal_window_secs: u64,
    /// The checkpoint origin line; unset: `<public_url host>/meetvault/audit` or
    /// `meetvault/<instance id>`.
    pub origin: Option<String>,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            checkpoint_every: 100,
            checkpoint_interval_secs: 60,
            refusal_window_secs: 60,
            origin: None,
        }
    }
}

/// Where the master key (the key-encryption key above every org key) comes from.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, Eq, PartialEq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum KeyProvider {
    /// A 256-bit key file (generated on first start, 0600) or `keys.master_key`.
    #[default]
    Local,
    /// AWS KMS (or any KMS-compatible API): GenerateDataKey / Decrypt / Encrypt.
    AwsKms,
}

/// Encryption at rest: the master-key provider and zero-access key derivation.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeysConfig {
    pub provider: KeyProvider,
    /// The local master key file; unset: `DATA_DIR/keys/master.key`.
    pub master_key_file: Option<PathBuf>,
    /// The local master key itself (64 hex digits), e.g. from `MEETVAULT_KEYS__MASTER_KEY` or
    /// `MEETVAULT_KEYS__MASTER_KEY_FILE`; overrides the key file (and cannot be rotated by
    /// `meetvault keys rotate-master`).
    pub master_key: Option<Secret>,
    /// Argon2id cost for zero-access password keys (RFC 9106 second option at least).
    pub zero_access_memory_kib: u32,
    pub zero_access_iterations: u32,
    pub zero_access_parallelism: u32,
    /// The KMS endpoint and master key, for `provider = "aws-kms"` and for orgs that bring
    /// their own KMS key.
    pub aws_kms: Option<AwsKmsConfig>,
}

impl Default for KeysConfig {
    fn default() -> Self {
        Self {
            provider: KeyProvider::Local,
            master_key_file: None,
            master_key: None,
            zero_access_memory_kib: 65536,
            zero_access_iterations: 3,
            zero_access_parallelism: 4,
            aws_kms: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsKmsConfig {
    /// The master key id or ARN (required when `keys.provider = "aws-kms"`).
    #[serde(default)]
    pub key_id: Option<String>,
    /// Any KMS-compatible endpoint; unset means AWS's regional endpoint.
    #[serde(default)]
    pub endpoint: Option<Url>,
    #[serde(default = "default_region", deserialize_with = "lenient_string")]
    pub region: String,
    #[serde(default)]
    pub access_key_id: Option<Secret>,
    #[serde(default)]
    pub secret_access_key: Option<Secret>,
    #[serde(default)]
    pub session_token: Option<Secret>,
}

/// Parses `10.0.0.0/8`, `::1/128` or a bare address into (network, prefix length).
pub fn parse_ip_range(text: &str) -> Option<(std::net::IpAddr, u8)> {
    let (addr, len) = match text.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (text, None),
    };
    let addr: std::net::IpAddr = addr.trim().parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len = match len {
        Some(l) => l.trim().parse::<u8>().ok().filter(|l| *l <= max)?,
        None => max,
    };
    Some((addr, len))
}

/// The config file used when none is named: `meetvault.toml` in the working directory, if present.
pub fn default_config_path() -> &'static Path {
    Path::new("meetvault.toml")
}

#[cfg(test)]
mod tests;
