//! The OpenAI-compatible endpoint's work, in bounded memory. A place in the engine's waiting
//! line (and the loaded model) is taken before any of the body is read, so a full line is a
//! prompt 429 and a missing model a prompt 503. The file streams into a temporary blob
//! encrypted under a random key that lives only in this request's memory (zeroized when
//! dropped), is decoded from there and deleted at once — also on error or cancellation — and
//! only then transcribed. Nothing is kept. A temporary blob a crash leaves behind cannot be
//! read by anyone (its key died with the process) and is swept an hour later.

use std::ops::ControlFlow;
use std::time::Duration;

use bytes::Bytes;
use futures::Stream;
use meetvault_crypto::envelope::KeyRef;
use meetvault_crypto::keys::SymmetricKey;
use meetvault_crypto::stream::{self, StreamDecryptor, StreamEncryptor};
use meetvault_store::{BlobKey, BlobStore};
use uuid::Uuid;

use crate::access::Scope;
use crate::access::proof::MeetingsWrite;
use crate::audit::AuditAction;
use crate::intake::Intake;
use crate::media::audio_limits;
use crate::media::{BlobReader, audio_error};
use crate::transcription::decode_options;
use crate::vault::{bind, encrypt_stream, integrity};
use crate::{Core, CoreError};

/// Where the endpoint's temporary blobs live.
const STAGING_PREFIX: &str = "tmp/transcriptions";
/// A temporary blob older than this belongs to no live request (each is deleted once decoded).
const STAGING_MAX_AGE: Duration = Duration::from_secs(3600);

/// A place in the endpoint's bounded waiting line, held from before the body is read until the
/// answer is ready.
#[derive(Debug)]
pub struct EndpointPlace {
    _permit: tokio::sync::OwnedSemaphorePermit,
}

/// An uploaded file in a temporary encrypted blob. Dropping it deletes the blob (in the
/// background; [`discard`](Self::discard) waits for it) and zeroizes the key.
#[derive(Debug)]
pub struct StagedAudio {
    blobs: BlobStore,
    /// `None` once deleted.
    blob: Option<BlobKey>,
    key: SymmetricKey,
    org: Uuid,
    id: Uuid,
    stored: u64,
}

impl StagedAudio {
    /// Deletes the blob now (a failure is logged; the sweep removes what is left).
    async fn discard(mut self) {
        if let Some(blob) = self.blob.take() {
            delete_staged(&self.blobs, &blob).await;
        }
    }
}

impl Drop for StagedAudio {
    fn drop(&mut self) {
        if let Some(blob) = self.blob.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let blobs = self.blobs.clone();
            runtime.spawn(async move { delete_staged(&blobs, &blob).await });
        }
    }
}

async fn delete_staged(blobs: &BlobStore, blob: &BlobKey) {
    if let Err(e) = blobs.delete(blob).await {
        tracing::warn!(error = %e, key = %blob, "deleting a temporary transcription upload");
    }
}

/// What a caller of the OpenAI-compatible endpoint asks for beside the file, each part checked
/// (`language`, `prompt`, `task`) as its form field arrives.
#[derive(Debug, Clone, Default)]
pub struct EndpointRequest {
    /// Time every word (`timestamp_granularities[]=word`).
    pub word_timestamps: bool,
    /// The spoken language; absent: detected.
    pub language: Option<String>,
    /// Names and jargon to spell the caller's way (Whisper's `initial_prompt`).
    pub prompt: Option<String>,
    /// Transcribe (`/v1/audio/transcriptions`) or translate into English
    /// (`/v1/audio/translations`).
    pub task: meetvault_whisper::Task,
}

/// What the OpenAI-compatible endpoint returns: the engine's transcript and the audio's length.
#[derive(Debug)]
pub struct AdHocTranscript {
    pub transcript: meetvault_whisper::Transcript,
    pub duration_secs: f64,
}

/// The OpenAI-compatible transcription endpoint (`core.endpoint()`): a place in its waiting
/// line, its body intake, and an ad-hoc transcription of the staged audio.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint<'a> {
    pub(crate) core: &'a Core,
}

impl Endpoint<'_> {
    /// Watches a streamed request body that is parsed before it is stored (multipart): at most
    /// `max` bytes, no silence longer than `server.body_idle_timeout_secs`.
    pub fn watch_body<S>(
        self,
        body: S,
        max: u64,
    ) -> (
        Intake,
        impl futures::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send + use<S>,
    )
    where
        S: futures::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send,
    {
        Intake::watch(body, max, self.core.body_idle_timeout())
    }

    /// Takes a place in the endpoint's waiting line (429 when full) and makes sure the local
    /// model is loaded (503 when it is not installed): both before the caller's body is read.
    pub async fn place(self) -> Result<EndpointPlace, CoreError> {
        let permit = self
            .core
            .engine()
            .try_queue()
            .ok_or(CoreError::RateLimited {
                retry_after_secs: 10,
            })?;
        self.core.engine().model().await?;
        Ok(EndpointPlace { _permit: permit })
    }

    /// The endpoint's `language`: one of Whisper's codes, and `en` when the installed model is
    /// English-only (422 naming the field otherwise).
    pub async fn language(self, language: Option<String>) -> Result<Option<String>, CoreError> {
        let language = crate::meetings::check_language(&language)?;
        if let Some(code) = &language
            && crate::meetings::primary_language(code) != "en"
            && !self.core.engine().model().await?.info().multilingual
        {
            return Err(CoreError::invalid(
                "language",
                "the installed transcription model is English-only: send `en` or leave the \
                 language out (a multilingual model transcribes other languages)",
            ));
        }
        Ok(language)
    }

    /// The endpoint's `prompt`: empty is none; more than a window's prompt holds
    /// (`meetvault_whisper::MAX_PROMPT_TOKENS` tokens) is refused (422 naming the field).
    pub async fn prompt(self, prompt: String) -> Result<Option<String>, CoreError> {
        self.core
            .check_prompt("prompt", &prompt, crate::glossary::MAX_PROMPT_CHARS)
            .await
    }

    /// Refuses translation when the installed model is English-only (422 saying what to do).
    pub async fn task(self, task: meetvault_whisper::Task) -> Result<(), CoreError> {
        if task == meetvault_whisper::Task::Translate
            && !self.core.engine().model().await?.info().multilingual
        {
            return Err(CoreError::invalid(
                "model",
                "the installed transcription model is English-only and cannot translate: the \
                 operator can install the multilingual one (`scripts/models.sh --model base`, \
                 transcription.model = \"base\")",
            ));
        }
        Ok(())
    }

    /// Streams an uploaded file (at most `max` bytes; a body silent for
    /// `server.body_idle_timeout_secs` is stopped) into a temporary blob under a fresh key that
    /// is never stored. A refused or failed upload leaves no blob.
    pub async fn stage_audio<S>(
        self,
        scope: &Scope<MeetingsWrite>,
        _place: &EndpointPlace,
        body: S,
        max: u64,
    ) -> Result<StagedAudio, CoreError>
    where
        S: Stream<Item = Result<Bytes, std::io::Error>> + Send,
    {
        let (org, id) = (scope.org_id().uuid(), Uuid::new_v4());
        let key = SymmetricKey::generate();
        let kref = KeyRef {
            id: id.into_bytes(),
            version: 0,
        };
        let (encryptor, header) = StreamEncryptor::new(&key, kref, &staging_binding(org, id));
        let blob = BlobKey::parse(&format!("{STAGING_PREFIX}/{id}"))?;
        let (intake, body) = Intake::watch(body, max, self.core.body_idle_timeout());
        let mut staged = StagedAudio {
            blobs: self.core.blobs().clone(),
            blob: Some(blob.clone()),
            key,
            org,
            id,
            stored: 0,
        };
        match self
            .core
            .blobs()
            .put_stream(&blob, encrypt_stream(encryptor, header, body))
            .await
        {
            Ok(stored) => {
                staged.stored = stored;
                Ok(staged)
            }
            Err(e) => {
                staged.discard().await;
                Err(intake.blame(e))
            }
        }
    }

    /// Transcribes a staged upload with the local engine. The temporary blob is deleted as soon
    /// as it is decoded; nothing is stored; the call is audited without content.
    pub async fn transcribe_now(
        self,
        scope: &Scope<MeetingsWrite>,
        place: EndpointPlace,
        audio: StagedAudio,
        filename: Option<&str>,
        request: EndpointRequest,
    ) -> Result<AdHocTranscript, CoreError> {
        let language = self.language(request.language).await?;
        self.task(request.task).await?;
        let reader = self.core.staged_reader(&audio).await?;
        let hint = crate::meetings::upload_hint(filename);
        let limits = audio_limits(self.core.config());
        let decoded = tokio::task::spawn_blocking(move || {
            meetvault_audio::decode_to_vec(reader, &hint, &limits)
        })
        .await;
        audio.discard().await;
        let (pcm, info) = decoded.map_err(CoreError::internal)?.map_err(audio_error)?;
        let mut opts = decode_options(self.core.config(), None, language);
        opts.task = request.task;
        opts.initial_prompt = request.prompt;
        opts.word_timestamps = request.word_timestamps;
        let transcript = self
            .core
            .engine()
            .run(pcm, opts, |_| ControlFlow::Continue(()))
            .await?;
        drop(place);
        let mut event = crate::audit::Event::by(scope, AuditAction::TranscriptionApi);
        event.reason = Some("local");
        self.core.audit(event).await?;
        Ok(AdHocTranscript {
            transcript,
            duration_secs: info.duration_secs,
        })
    }
}

impl Core {
    /// Opens a staged upload for decoding (synchronous reads, for a blocking thread).
    async fn staged_reader(&self, audio: &StagedAudio) -> Result<BlobReader, CoreError> {
        let blob = audio
            .blob
            .clone()
            .ok_or_else(|| CoreError::Integrity("temporary upload already deleted".into()))?;
        let header = self
            .blobs()
            .get_range(&blob, 0..stream::HEADER_LEN as u64)
            .await?;
        let decryptor =
            StreamDecryptor::new(&audio.key, &staging_binding(audio.org, audio.id), &header)
                .map_err(integrity("temporary upload"))?;
        BlobReader::new(self.blobs().clone(), blob, decryptor, audio.stored)
    }

    /// Deletes temporary uploads no live request can own (older than an hour), now and then
    /// hourly, for as long as the core is open.
    pub(crate) fn spawn_staging_sweeper(&self) {
        let core = std::sync::Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(STAGING_MAX_AGE);
            loop {
                every.tick().await;
                let Some(inner) = core.upgrade() else { return };
                let blobs = inner.blobs.clone();
                drop(inner);
                sweep_staging(&blobs).await;
            }
        });
    }
}

fn staging_binding(org: Uuid, id: Uuid) -> meetvault_crypto::envelope::Binding<'static> {
    bind(org, "transcriptions", id, "audio")
}

async fn sweep_staging(blobs: &BlobStore) {
    let listed = match blobs.list(STAGING_PREFIX).await {
        Ok(listed) => listed,
        Err(e) => {
            tracing::warn!(error = %e, "listing temporary transcription uploads");
            return;
        }
    };
    let cutoff = chrono::Utc::now()
        - chrono::Duration::from_std(STAGING_MAX_AGE).unwrap_or(chrono::Duration::hours(1));
    for meta in listed.into_iter().filter(|m| m.last_modified < cutoff) {
        if let Ok(key) = BlobKey::parse(&meta.key) {
            delete_staged(blobs, &key).await;
            tracing::info!(key = %meta.key, "swept a stale temporary transcription upload");
        }
    }
}
