//! The domain: meetvault's services as plain Rust types. It opens the stores, owns the rules,
//! and knows nothing of HTTP, JSON bodies or status codes; `http` maps its errors.

pub mod access;
pub mod audit;
pub mod auth;
pub mod bots;
pub mod calendar;
pub mod certificates;
pub mod destinations;
pub mod email;
pub mod endpoint;
pub mod erasure;
mod error;
pub mod events;
mod glossary;
pub mod ids;
pub mod instance;
pub mod intake;
pub mod integrations;
pub mod intel;
pub mod intel_settings;
pub mod lifecycle;
mod media;
pub mod meetings;
pub mod org;
pub mod org_sso;
pub mod requests;
pub mod retention;
mod secrets;
mod sweepers;
pub mod transcription;
pub mod trust;
pub mod vault;
pub mod webhooks;
pub mod widgets;

use std::sync::Arc;

use meetvault_auth::password::{Argon2Params, PasswordHasher};
use meetvault_config::Config;
use meetvault_ratelimit::RateLimiter;
use meetvault_store::{BlobStore, Database, KeyMaterial, keyfile};

use crate::audit::{AuditSigner, RefusalLog};
pub use error::CoreError;
pub use meetvault_store::one_snapshot;
/// Counts a future's database queries (the HTTP layer's per-request metric).
pub use meetvault_store::stats::count_queries;
pub use secrets::ServerKeys;

/// Everything the services need, opened once at start. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Core {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: Arc<Config>,
    db: Database,
    blobs: BlobStore,
    /// 256-bit instance secret (`DATA_DIR/keys/instance.key`, 0600); the root for server-side
    /// MACs and peppers that later capabilities derive from it.
    instance_key: KeyMaterial,
    keys: ServerKeys,
    signer: AuditSigner,
    refusals: RefusalLog,
    hasher: PasswordHasher,
    limiter: RateLimiter,
    vault: vault::Vault,
    queue: meetvault_jobs::Queue,
    events: events::EventHub,
    engine: transcription::LocalEngine,
    /// The embedded models of meeting intelligence (loaded on first use).
    intel: intel::IntelModels,
    outbound: meetvault_outbound::Policy,
    /// The HTTP client for every URL a user supplied, under `outbound`.
    outbound_client: meetvault_outbound::Client,
    /// Webhook deliveries: the same policy, the webhook timeout.
    webhook_client: meetvault_outbound::Client,
    webhooks: webhooks::Hub,
    /// Customers' buckets: the same policy, long enough for a multipart part.
    destination_client: meetvault_outbound::Client,
    bots: bots::BotHub,
    /// Live transcribers of bots' tracks (in memory: a restart loses only live text).
    live: bots::LiveHub,
    /// Rolling summaries of bots' meetings (in memory, like live text).
    live_summaries: bots::RollingSummaries,
    /// Live transcripts of widget visitors' recordings (in memory, like live text).
    widget_live: widgets::LiveHub,
    /// Bots' tracks streaming into their destinations: one step at a time per track.
    bucket_streams: destinations::Streams,
    /// Sign-in providers' discovery documents and keys.
    sso_cache: auth::SsoCache,
    /// Outbound email (`[email]`): SMTP, or the log in development.
    mailer: email::Mailer,
}

impl Core {
    /// Connects the database, applies pending migrations, opens the blob store and loads (or
    /// generates) the instance key.
    pub async fn open(config: Arc<Config>) -> Result<Self, CoreError> {
        meetvault_store::fs_perms::private_dir(&config.data_dir)?;
        let db = Database::connect(&config.database_url(), config.database.max_connections).await?;
        let applied = db.migrate().await?;
        if applied > 0 {
            tracing::info!(applied, "database migrations applied");
        }
        let blobs = BlobStore::open(&config)?;
        let instance_key = keyfile::load_or_generate(&config.keys_dir().join("instance.key"))?;
        let keys = ServerKeys::derive(instance_key.expose());
        let signer = AuditSigner::load_or_generate(
            &config.keys_dir().join("audit-signing.key.sealed"),
            &keys.audit_signing_wrap,
            config.audit.origin.clone(),
            config.server.public_url.as_ref(),
        )?;
        let a = &config.auth;
        let params = Argon2Params {
            memory_kib: a.argon2_memory_kib,
            iterations: a.argon2_iterations,
            parallelism: a.argon2_parallelism,
        };
        let hasher = PasswordHasher::new(params, a.password_hash_concurrency)
            .map_err(CoreError::internal)?;
        let limiter = match &config.rate_limit.redis_url {
            Some(url) => RateLimiter::redis(url.expose()).await.map_err(|e| {
                tracing::error!(error = %e, "cannot reach Redis for rate limits");
                CoreError::Unavailable("Redis (rate_limit.redis_url)")
            })?,
            None => RateLimiter::in_process(),
        };
        tracing::info!(backend = limiter.backend_name(), "rate limiter ready");
        let kms = vault::kms_client(&config)?;
        let master = vault::master_from_config(&config, kms.as_ref())?;
        tracing::info!(provider = master.provider(), "master key ready");
        let vault = vault::Vault::new(master, kms);
        let j = &config.jobs;
        let queue = meetvault_jobs::Queue::new(
            db.clone(),
            meetvault_jobs::Settings {
                lease: std::time::Duration::from_secs(j.lease_secs),
                max_attempts: j.max_attempts,
                backoff_base: std::time::Duration::from_secs(j.backoff_base_secs),
                backoff_max: std::time::Duration::from_secs(j.backoff_max_secs),
                poll_interval: std::time::Duration::from_millis(j.poll_interval_ms),
            },
        );
        let engine = transcription::LocalEngine::new(&config);
        let intel = intel::IntelModels::new(&config)?;
        let outbound = meetvault_outbound::Policy::new(&config.outbound.allow_hosts);
        let outbound_client = meetvault_outbound::Client::new(
            outbound.clone(),
            meetvault_outbound::ClientOptions::default(),
        )
        .map_err(CoreError::internal)?;
        let webhook_client = meetvault_outbound::Client::new(
            outbound.clone(),
            meetvault_outbound::ClientOptions {
                timeout: std::time::Duration::from_secs(config.webhooks.timeout_secs),
                connect_timeout: std::time::Duration::from_secs(
                    config.webhooks.timeout_secs.min(10),
                ),
                ..meetvault_outbound::ClientOptions::default()
            },
        )
        .map_err(CoreError::internal)?;
        let destination_client = meetvault_outbound::Client::new(
            outbound.clone(),
            meetvault_outbound::ClientOptions {
                timeout: std::time::Duration::from_secs(300),
                ..meetvault_outbound::ClientOptions::default()
            },
        )
        .map_err(CoreError::internal)?;
        let refusals = RefusalLog::new(std::time::Duration::from_secs(
            config.audit.refusal_window_secs,
        ));
        let bots = bots::BotHub::new(&config)?;
        let mailer = email::Mailer::new(&config.email)?;
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                db,
                blobs,
                instance_key,
                keys,
                signer,
                refusals,
                hasher,
                limiter,
                vault,
                queue,
                events: events::EventHub::default(),
                engine,
                intel,
                outbound,
                outbound_client,
                webhook_client,
                webhooks: webhooks::Hub::default(),
                destination_client,
                bots,
                live: bots::LiveHub::default(),
                live_summaries: bots::RollingSummaries::default(),
                widget_live: widgets::LiveHub::default(),
                bucket_streams: destinations::Streams::default(),
                sso_cache: auth::SsoCache::default(),
                mailer,
            }),
        })
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The database: services only (callers outside core go through them and their scoping).
    pub(crate) fn db(&self) -> &Database {
        &self.inner.db
    }

    pub(crate) fn blobs(&self) -> &BlobStore {
        &self.inner.blobs
    }

    /// The database under the services, for tests that must look beneath the API (the
    /// `test-access` feature, which only the test harness enables).
    #[cfg(feature = "test-access")]
    pub fn db_for_tests(&self) -> &Database {
        &self.inner.db
    }

    /// The blob store under the services, for tests (the `test-access` feature).
    #[cfg(feature = "test-access")]
    pub fn blobs_for_tests(&self) -> &BlobStore {
        &self.inner.blobs
    }

    pub fn instance_key(&self) -> &KeyMaterial {
        &self.inner.instance_key
    }

    pub fn keys(&self) -> &ServerKeys {
        &self.inner.keys
    }

    pub(crate) fn signer(&self) -> &AuditSigner {
        &self.inner.signer
    }

    pub(crate) fn refusals(&self) -> &RefusalLog {
        &self.inner.refusals
    }

    pub fn hasher(&self) -> &PasswordHasher {
        &self.inner.hasher
    }

    pub fn limiter(&self) -> &RateLimiter {
        &self.inner.limiter
    }

    pub fn queue(&self) -> &meetvault_jobs::Queue {
        &self.inner.queue
    }

    /// The rules for URLs users enter (transcription providers), from `outbound.allow_hosts`.
    pub fn outbound(&self) -> &meetvault_outbound::Policy {
        &self.inner.outbound
    }

    /// The HTTP client for URLs users supplied: every request checked against
    /// [`Core::outbound`], names resolved and pinned by the client itself.
    pub(crate) fn outbound_client(&self) -> &meetvault_outbound::Client {
        &self.inner.outbound_client
    }

    /// Outbound email: the configured SMTP server, or the log in development.
    pub(crate) fn mailer(&self) -> &email::Mailer {
        &self.inner.mailer
    }

    /// How long a streamed upload may send nothing before it is stopped.
    pub(crate) fn body_idle_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.config().server.body_idle_timeout_secs)
    }

    /// The local transcription engine (its model loads on first use).
    pub fn engine(&self) -> &transcription::LocalEngine {
        &self.inner.engine
    }

    /// Starts this instance's job workers (transcription), the bot orchestrator, the sweep of stale temporary
    /// uploads, the retry of failed blob deletions and the outbox pruner; stop the workers with
    /// [`meetvault_jobs::Workers::shutdown`] before closing.
    pub fn start_workers(&self, owner: &str) -> meetvault_jobs::Workers {
        self.spawn_staging_sweeper();
        self.spawn_sweepers();
        self.spawn_bot_orchestrator();
        self.spawn_webhooks(owner);
        self.spawn_calendar_poller();
        self.spawn_integrations();
        meetvault_jobs::Workers::start(
            &self.inner.queue,
            owner,
            vec![
                Arc::new(transcription::TranscribeHandler::new(self.clone())),
                Arc::new(bots::LaunchHandler { core: self.clone() }),
                Arc::new(destinations::DeliverHandler { core: self.clone() }),
                Arc::new(intel::SummarizeHandler::new(self.clone())),
                Arc::new(calendar::SyncHandler { core: self.clone() }),
                Arc::new(integrations::ProposeHandler { core: self.clone() }),
                Arc::new(integrations::SendHandler { core: self.clone() }),
                Arc::new(widgets::SubmitHandler { core: self.clone() }),
            ],
        )
    }

    /// Checks each dependency once; the outcome of each, with its failure kept for the log.
    pub async fn readiness(&self) -> Readiness {
        let (database, blobs) = futures::join!(self.inner.db.ping(), self.inner.blobs.ping());
        Readiness {
            database: database.map_err(CoreError::from),
            blobs: blobs.map_err(CoreError::from),
        }
    }

    /// Closes the pools at shutdown.
    pub async fn close(&self) {
        self.inner.db.close().await;
    }
}

/// The services, one per area, each in its own module: a method is found by its area
/// (`core.meetings().delete(&scope, id)`). Each borrows the `Core` it came from.
impl Core {
    /// Accounts and credentials: registration, login, sessions, passwords, TOTP, and
    /// authenticating a request (`auth/`).
    pub fn identity(&self) -> auth::Identity<'_> {
        auth::Identity { core: self }
    }

    /// API keys and support-access keys (`auth/keys.rs`).
    pub fn api_keys(&self) -> auth::ApiKeys<'_> {
        auth::ApiKeys { core: self }
    }

    /// Meetings: create, read, list, update, delete (`meetings/`).
    pub fn meetings(&self) -> meetings::Meetings<'_> {
        meetings::Meetings { core: self }
    }

    /// A meeting's recordings: upload, list, read (`meetings/recordings.rs`).
    pub fn recordings(&self) -> meetings::Recordings<'_> {
        meetings::Recordings { core: self }
    }

    /// A meeting's transcript: import segments, read, export (`meetings/transcript.rs`).
    pub fn transcripts(&self) -> meetings::Transcripts<'_> {
        meetings::Transcripts { core: self }
    }

    /// Meeting bots: send, list, read, leave, chat, cancel (`bots/`).
    pub fn bots(&self) -> bots::Bots<'_> {
        bots::Bots { core: self }
    }

    /// The bot process's side of the internal bot protocol (`bots/runtime.rs`).
    pub fn bot_runtime(&self) -> bots::BotRuntime<'_> {
        bots::BotRuntime { core: self }
    }

    /// Deletion certificates: the public and the org's reads (`certificates/`); deletions
    /// issue them.
    pub fn certificates(&self) -> certificates::Certificates<'_> {
        certificates::Certificates { core: self }
    }

    /// Participants' deletion requests: submitted and confirmed without an account, completed
    /// or rejected by the org's owners and admins (`requests/`).
    pub fn deletion_requests(&self) -> requests::DeletionRequests<'_> {
        requests::DeletionRequests { core: self }
    }

    /// The customer's own buckets and deliveries to them (`destinations.rs`).
    pub fn destinations(&self) -> destinations::Destinations<'_> {
        destinations::Destinations { core: self }
    }

    /// Retention policies and each meeting's schedule (`retention/`; its sweeper deletes).
    pub fn retention(&self) -> retention::Retention<'_> {
        retention::Retention { core: self }
    }

    /// Webhook endpoints, their deliveries and log, redelivery and tests (`webhooks/`).
    pub fn webhooks(&self) -> webhooks::Webhooks<'_> {
        webhooks::Webhooks { core: self }
    }

    /// Connections to Slack, Notion, Drive, Linear, Jira, HubSpot and Salesforce, the
    /// approval queue and the delivery logs (`integrations/`).
    pub fn integrations(&self) -> integrations::Integrations<'_> {
        integrations::Integrations { core: self }
    }

    /// Voice-intake widgets: managed with `widgets:manage`; their visitors' sessions.
    pub fn widgets(&self) -> widgets::Widgets<'_> {
        widgets::Widgets { core: self }
    }

    /// Meeting event streams: head, resumption, pages, wake-ups (`events.rs`).
    pub fn events(&self) -> events::Events<'_> {
        events::Events { core: self }
    }

    /// Meeting intelligence: summaries, action items, analytics, search and questions
    /// (`intel/`).
    pub fn intelligence(&self) -> intel::Intelligence<'_> {
        intel::Intelligence { core: self }
    }

    /// Transcription jobs: queue, read, watch (`transcription/`).
    pub fn transcription(&self) -> transcription::Transcription<'_> {
        transcription::Transcription { core: self }
    }

    /// The OpenAI-compatible endpoint: waiting line, intake, ad-hoc runs (`endpoint.rs`).
    pub fn endpoint(&self) -> endpoint::Endpoint<'_> {
        endpoint::Endpoint { core: self }
    }

    /// The installation's identity (`instance.rs`).
    pub fn instance(&self) -> instance::Instance<'_> {
        instance::Instance { core: self }
    }

    /// The organization: settings, members, workspaces, invitations (`org.rs`).
    pub fn org(&self) -> org::Org<'_> {
        org::Org { core: self }
    }

    /// The audit log's reads: entries, proofs, exports, checkpoints, verification
    /// (`audit/`); appends go through `audit`, inside core.
    pub fn audit_log(&self) -> audit::AuditLog<'_> {
        audit::AuditLog { core: self }
    }

    /// Encryption at rest: status, zero-access, KMS key, rotation, shredding (`vault/`).
    pub fn encryption(&self) -> vault::Encryption<'_> {
        vault::Encryption { core: self }
    }

    /// A user's stored secrets (`vault/content.rs`).
    pub fn secrets(&self) -> vault::Secrets<'_> {
        vault::Secrets { core: self }
    }
}

/// A queue failure is a storage failure to the caller.
pub(crate) fn jobs_error(e: meetvault_jobs::QueueError) -> CoreError {
    match e {
        meetvault_jobs::QueueError::Store(e) => CoreError::Storage(e),
        other => CoreError::internal(other),
    }
}

/// The result of a readiness probe. Failures are for logs; callers only see which part failed.
#[derive(Debug)]
pub struct Readiness {
    pub database: Result<(), CoreError>,
    pub blobs: Result<(), CoreError>,
}

impl Readiness {
    pub fn is_ready(&self) -> bool {
        self.database.is_ok() && self.blobs.is_ok()
    }
}
