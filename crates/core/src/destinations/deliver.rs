//! Delivery: the durable job (`destination.deliver`, ids only) that puts a meeting's
//! recordings — finishing the uploads its bot's tracks streamed — its chat and transcript into
//! the destination, then announces them with `recording.files_ready`; and where a bot's
//! recordings go (its destination, its workspace's default, the org's).

use meetvault_store::BlobKey;
use sha2::Digest as _;
use uuid::Uuid;

use super::{DELIVER_JOB, DeliverPayload, Destinations, join, short};
use crate::events::{DeliveredFile, DomainEvent, outbox_event};
use crate::ids::{JobId, RecordingId};
use crate::vault::{decrypt_stream, integrity};
use crate::{Core, CoreError};

impl Core {
    /// Where a bot's recordings go: its own destination, else its workspace's default, else
    /// the org's (a destination deleted since is skipped for the defaults).
    pub(crate) async fn bot_destination(
        &self,
        bot: &meetvault_store::bots::BotRow,
    ) -> Result<Option<Uuid>, CoreError> {
        let options: crate::bots::BotOptions =
            serde_json::from_str(&bot.options).unwrap_or_default();
        if let Some(d) = options.destination_id
            && self.db().destination(bot.org_id, d.0).await?.is_some()
        {
            return Ok(Some(d.0));
        }
        Ok(self
            .db()
            .default_destination(bot.org_id, Some(bot.workspace_id))
            .await?
            .map(|d| d.id))
    }

    /// Queues a delivery job (ids only).
    pub(crate) async fn enqueue_delivery(
        &self,
        org: Uuid,
        meeting: Uuid,
        destination: Uuid,
    ) -> Result<JobId, CoreError> {
        self.enqueue_deliver_job(org, meeting, destination, "recordings")
            .await
    }

    /// Queues the delivery of a meeting's transcript alone (a track's transcript was stored);
    /// one waiting job serves every track that finishes before it runs.
    pub(crate) async fn enqueue_transcript_delivery(
        &self,
        org: Uuid,
        meeting: Uuid,
        destination: Uuid,
    ) -> Result<JobId, CoreError> {
        self.enqueue_deliver_job(org, meeting, destination, "transcript")
            .await
    }

    async fn enqueue_deliver_job(
        &self,
        org: Uuid,
        meeting: Uuid,
        destination: Uuid,
        what: &str,
    ) -> Result<JobId, CoreError> {
        let payload = serde_json::to_value(DeliverPayload {
            meeting_id: meeting.into(),
            destination_id: destination,
            what: what.into(),
        })
        .map_err(CoreError::internal)?;
        let id = self
            .queue()
            .enqueue(meetvault_jobs::NewJob {
                org_id: Some(org),
                kind: DELIVER_JOB,
                payload,
                resource_id: Some(meeting),
            })
            .await
            .map_err(crate::jobs_error)?;
        Ok(id.into())
    }

    /// Uploads a meeting's recordings to a destination and announces them.
    async fn run_delivery(
        &self,
        org: Uuid,
        payload: &str,
    ) -> Result<Vec<DeliveredFile>, CoreError> {
        let p: DeliverPayload = serde_json::from_str(payload)
            .map_err(|e| CoreError::Integrity(format!("delivery job: {e}")))?;
        let destinations = Destinations { core: self };
        let dest = destinations.row(org, p.destination_id).await?;
        let creds = destinations.open_credentials(&dest).await?;
        let bucket = destinations.open(&dest, &creds, "endpoint").await?;
        let meeting = self
            .db()
            .meeting(org, p.meeting_id.0)
            .await?
            .ok_or(CoreError::NotFound("meeting"))?;
        let keys = self
            .meeting_read_keys(org, meeting.id, meeting.owner_id)
            .await?;
        let recipient = dest
            .age_recipient
            .as_deref()
            .map(meetvault_crypto::age::Recipient::parse)
            .transpose()
            .map_err(|e| CoreError::Integrity(format!("destination age recipient: {e}")))?;
        let mut files = Vec::new();
        let recordings = if p.what == "transcript" {
            Vec::new()
        } else {
            self.db().recordings(org, meeting.id).await?
        };
        for rec in recordings {
            // A bot's track streamed while it recorded: finished in place, if it can be.
            if rec.local_deleted_at.is_some() {
                // Delivered before, and meetvault's copy deleted since: nothing to send again.
                tracing::info!(recording = %RecordingId::from(rec.id), "not delivered again: its copy here was deleted after its first delivery");
                continue;
            }
            if let Some(mut up) = self.db().bucket_upload_by_id(org, rec.id).await?
                && up.destination_id == dest.id
            {
                if up.state == "completed" {
                    // A re-run after the upload completed: its key is overwritten whole below.
                } else {
                    let plain = self.recording_plain(&meeting, &rec, &keys).await?;
                    let key = up.object_key.clone();
                    let at = Written::new(&key, "recording", Some(rec.id));
                    self.record_object(org, meeting.id, dest.id, &at).await?;
                    if let Some(file) = self
                        .finish_track_upload(&bucket, &keys, &mut up, plain)
                        .await?
                    {
                        self.db()
                            .recording_delivered(
                                org,
                                rec.id,
                                dest.id,
                                &file.key,
                                meetvault_jobs::now_ms(),
                            )
                            .await?;
                        self.record_object(org, meeting.id, dest.id, &at.size(file.size))
                            .await?;
                        files.push(file);
                        continue;
                    }
                    self.abort_upload(&mut up).await?;
                }
            }
            let plain = self.recording_plain(&meeting, &rec, &keys).await?;
            let ext = meetvault_audio::MediaType::allowed(&rec.content_type).extension;
            let name = format!(
                "meetings/{}/recordings/{}.{ext}",
                p.meeting_id,
                RecordingId::from(rec.id)
            );
            let key = object_key(&dest.prefix, &name, recipient.is_some());
            let at = Written::new(&key, "recording", Some(rec.id));
            self.record_object(org, meeting.id, dest.id, &at).await?;
            let mut file = upload(&bucket, &key, plain, recipient.as_ref()).await?;
            file.kind = "recording".into();
            file.recording_id = Some(rec.id.into());
            self.db()
                .recording_delivered(org, rec.id, dest.id, &file.key, meetvault_jobs::now_ms())
                .await?;
            self.record_object(org, meeting.id, dest.id, &at.size(file.size))
                .await?;
            files.push(file);
        }
        // What the bot saw in the meeting's chat (without those who opted out), when it saw any.
        if p.what != "transcript"
            && let Some(bot) = self.db().bot_of_meeting(org, meeting.id).await?
        {
            let chat = self.bot_reports(&keys, &bot).await?.chat;
            if !chat.is_empty() {
                let messages: Vec<serde_json::Value> = chat
                    .iter()
                    .map(|c| {
                        serde_json::json!({
                            "sender": c.sender,
                            "sender_id": c.sender_id,
                            "text": c.text,
                            "at": c.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                        })
                    })
                    .collect();
                let json = serde_json::to_vec_pretty(&serde_json::json!({
                    "meeting_id": p.meeting_id,
                    "bot_id": crate::ids::BotId::from(bot.id),
                    "messages": messages,
                }))
                .map_err(CoreError::internal)?;
                let plain = futures::stream::once(async move {
                    Ok::<_, std::io::Error>(bytes::Bytes::from(json))
                });
                let name = format!("meetings/{}/chat.json", p.meeting_id);
                let key = object_key(&dest.prefix, &name, recipient.is_some());
                let at = Written::new(&key, "chat", None);
                self.record_object(org, meeting.id, dest.id, &at).await?;
                let mut file = upload(&bucket, &key, plain, recipient.as_ref()).await?;
                file.kind = "chat".into();
                self.record_object(org, meeting.id, dest.id, &at.size(file.size))
                    .await?;
                files.push(file);
            }
        }
        // The transcript, when there is one: the JSON export (speakers, times, words).
        let segments = self.segments_with(&meeting, &keys).await?;
        if !segments.is_empty() {
            let title = keys.text(org, "meetings", meeting.id, "title", &meeting.title)?;
            let started = meeting.started_at.map(|t| t.to_rfc3339());
            let json = crate::meetings::export_segments(
                meetvault_stt::ExportFormat::Json,
                &meetvault_stt::ExportMeta {
                    title: &title,
                    started_at: started.as_deref(),
                    language: meeting.language.as_deref(),
                },
                segments,
                Default::default(),
            );
            let plain = futures::stream::once(async move {
                Ok::<_, std::io::Error>(bytes::Bytes::from(json.into_bytes()))
            });
            let name = format!("meetings/{}/transcript.json", p.meeting_id);
            let key = object_key(&dest.prefix, &name, recipient.is_some());
            let at = Written::new(&key, "transcript", None);
            self.record_object(org, meeting.id, dest.id, &at).await?;
            let mut file = upload(&bucket, &key, plain, recipient.as_ref()).await?;
            file.kind = "transcript".into();
            self.record_object(org, meeting.id, dest.id, &at.size(file.size))
                .await?;
            files.push(file);
        }
        if files.is_empty() {
            self.purge_delivered_copies(org, meeting.id).await?;
            return Ok(files);
        }
        let event = outbox_event(
            org,
            &DomainEvent::FilesReady(crate::events::FilesReady {
                meeting_id: p.meeting_id,
                destination_id: dest.id.into(),
                bucket: dest.bucket.clone(),
                files: files.clone(),
            }),
            None,
        )?;
        self.append_events(meeting.id, &[event]).await?;
        self.purge_delivered_copies(org, meeting.id).await?;
        Ok(files)
    }

    /// Notes an object in the ledger a deletion reaches it by: before it is written (so a crash
    /// mid-upload leaves nothing a deletion cannot find; deleting a key that is not there is
    /// harmless), and again with its size once it is.
    async fn record_object(
        &self,
        org: Uuid,
        meeting: Uuid,
        destination: Uuid,
        at: &Written<'_>,
    ) -> Result<(), CoreError> {
        self.db()
            .record_bucket_object(&meetvault_store::destinations::BucketObjectRow {
                destination_id: destination,
                object_key: at.key.to_owned(),
                org_id: org,
                meeting_id: meeting,
                kind: at.kind.to_owned(),
                recording_id: at.recording_id,
                size: at.size.and_then(|s| i64::try_from(s).ok()),
                written_at: meetvault_jobs::now_ms(),
                refused_at: None,
            })
            .await?;
        Ok(())
    }

    /// Deletes meetvault's own copy of a bot meeting's recordings once they are safe in the
    /// customer's bucket: each recording delivered and transcribed (or not to be: with
    /// `transcription.auto` off), unless the bot keeps its copy (`recording.keep_local_copy`)
    /// or is still in the meeting. Each deletion is audited (`recording.local_copy_delete`).
    /// And the post-meeting purge of the bot's captured chunks (ephemeral: they hold the audio
    /// the recordings were made from): once the recordings are made, at once when nothing is to
    /// be delivered, else once every recording reached the bucket (a streamed upload finishes
    /// from them). Idempotent: run after every delivery of the meeting and when its bot's
    /// processing ends.
    pub(crate) async fn purge_delivered_copies(
        &self,
        org: Uuid,
        meeting: Uuid,
    ) -> Result<(), CoreError> {
        let Some(bot) = self.db().bot_of_meeting(org, meeting).await? else {
            return Ok(());
        };
        let options: crate::bots::BotOptions =
            serde_json::from_str(&bot.options).unwrap_or_default();
        let state = crate::bots::state_of(&bot)?;
        if !state.is_done() {
            return Ok(());
        }
        let needs_transcript = self.config().transcription.auto;
        let mut undelivered = 0;
        for rec in self.db().recordings(org, meeting).await? {
            if rec.local_deleted_at.is_some() {
                continue;
            }
            if rec.delivered_at.is_none() {
                undelivered += 1;
            }
            if options.recording.keep_local_copy
                || rec.delivered_at.is_none()
                || (needs_transcript && rec.transcribed_at.is_none())
            {
                continue;
            }
            self.delete_blob(&BlobKey::parse(&rec.blob_key)?).await;
            if self
                .db()
                .recording_local_deleted(org, rec.id, meetvault_jobs::now_ms())
                .await?
            {
                let mut entry = crate::audit::Event::new(
                    crate::audit::AuditAction::RecordingLocalCopyDelete,
                    crate::access::Actor::System,
                    crate::audit::Outcome::Success,
                );
                entry.org_id = Some(org.into());
                entry.resource = Some(format!(
                    "{}/recordings/{}",
                    crate::ids::MeetingId::from(meeting),
                    RecordingId::from(rec.id)
                ));
                self.audit(entry).await?;
            }
        }
        // The chunks are what the recordings were made from: needed until they were made, and
        // while a delivery may still finish a streamed upload from them.
        let delivering = undelivered > 0 && self.bot_destination(&bot).await?.is_some();
        if bot.audio_processed_at.is_some() && !delivering {
            for chunk in self.db().audio_chunks(org, bot.id).await? {
                self.delete_blob(&BlobKey::parse(&chunk.blob_key)?).await;
                self.db()
                    .delete_audio_chunk(org, bot.id, &chunk.track, chunk.seq)
                    .await?;
            }
        }
        Ok(())
    }
}

impl Core {
    /// A stored recording's plaintext, decrypted as it streams.
    async fn recording_plain(
        &self,
        meeting: &meetvault_store::vault::MeetingRow,
        rec: &meetvault_store::vault::RecordingRow,
        keys: &crate::vault::MeetingKeys,
    ) -> Result<
        impl futures::Stream<Item = std::io::Result<bytes::Bytes>> + Send + 'static,
        CoreError,
    > {
        let (blob_key, decryptor) = self.open_blob(meeting, rec, keys).await?;
        let stored = u64::try_from(rec.stored_size).unwrap_or(0);
        let span =
            meetvault_crypto::stream::span(0..u64::MAX, stored).map_err(integrity("recording"))?;
        let source = self
            .blobs()
            .get_range_stream(&blob_key, span.ciphertext.clone())
            .await?;
        Ok(futures::StreamExt::map(
            decrypt_stream(decryptor, span, source),
            |c| c.map_err(std::io::Error::other),
        ))
    }
}

/// The durable job's handler.
pub(crate) struct DeliverHandler {
    pub(crate) core: Core,
}

#[async_trait::async_trait]
impl meetvault_jobs::Handler for DeliverHandler {
    fn kind(&self) -> &'static str {
        DELIVER_JOB
    }

    fn concurrency(&self) -> usize {
        2
    }

    async fn run(
        &self,
        job: &meetvault_jobs::Job,
        _ctx: &meetvault_jobs::JobContext,
    ) -> Result<(), meetvault_jobs::JobError> {
        use meetvault_jobs::JobError;
        let org = job
            .org_id
            .ok_or_else(|| JobError::Permanent("a delivery job names no org".into()))?;
        match self.core.run_delivery(org, &job.payload).await {
            Ok(files) => {
                tracing::info!(
                    files = files.len(),
                    "delivered a meeting to its destination"
                );
                Ok(())
            }
            Err(
                e @ (CoreError::NotFound(_)
                | CoreError::Invalid { .. }
                | CoreError::Integrity(_)
                | CoreError::Gone(_)),
            ) => Err(JobError::Permanent(short(&e.to_string()))),
            Err(e) => Err(JobError::Retryable(short(&e.to_string()))),
        }
    }
}

/// An object a delivery writes, for the ledger: its key and kind, and once written its size.
struct Written<'a> {
    key: &'a str,
    kind: &'static str,
    recording_id: Option<Uuid>,
    size: Option<u64>,
}

impl<'a> Written<'a> {
    fn new(key: &'a str, kind: &'static str, recording_id: Option<Uuid>) -> Self {
        Self {
            key,
            kind,
            recording_id,
            size: None,
        }
    }

    fn size(&self, size: u64) -> Self {
        Self {
            size: Some(size),
            ..*self
        }
    }
}

/// The key of `name` under `prefix` (`.age` appended when it is encrypted).
fn object_key(prefix: &str, name: &str, encrypted: bool) -> String {
    let suffix = if encrypted { ".age" } else { "" };
    join(prefix, &format!("{name}{suffix}"))
}

/// Uploads a plaintext stream as `key` (made by `object_key`: encrypted to `recipient` when
/// there is one), hashing what goes into the bucket on the way.
async fn upload(
    bucket: &meetvault_store::BlobStore,
    key: &str,
    plain: impl futures::Stream<Item = std::io::Result<bytes::Bytes>> + Send + 'static,
    recipient: Option<&meetvault_crypto::age::Recipient>,
) -> Result<DeliveredFile, CoreError> {
    let outgoing: futures::stream::BoxStream<'static, std::io::Result<bytes::Bytes>> =
        match recipient {
            Some(r) => Box::pin(age_encrypt(plain, r)),
            None => Box::pin(plain),
        };
    let hasher = std::sync::Arc::new(std::sync::Mutex::new(sha2::Sha256::new()));
    let hashing = hasher.clone();
    let outgoing = futures::StreamExt::map(outgoing, move |chunk| {
        let bytes = chunk?;
        hashing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .update(&bytes);
        Ok::<_, std::io::Error>(bytes)
    });
    let size = bucket.put_stream(&BlobKey::parse(key)?, outgoing).await?;
    let digest = hasher
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
        .finalize();
    Ok(DeliveredFile {
        kind: String::new(),
        recording_id: None,
        key: key.to_owned(),
        size,
        sha256: hex::encode(digest),
        age_encrypted: recipient.is_some(),
    })
}

/// A plaintext stream encrypted to `recipient` as it goes (age v1).
fn age_encrypt(
    plain: impl futures::Stream<Item = std::io::Result<bytes::Bytes>> + Send + 'static,
    recipient: &meetvault_crypto::age::Recipient,
) -> impl futures::Stream<Item = std::io::Result<bytes::Bytes>> + Send + 'static {
    let encryptor = meetvault_crypto::age::Encryptor::new(recipient);
    futures::stream::unfold(
        (Box::pin(plain), Some(encryptor)),
        |(mut plain, encryptor)| async move {
            let mut enc = encryptor?;
            loop {
                match futures::StreamExt::next(&mut plain).await {
                    Some(Ok(chunk)) => {
                        let out = enc.push(&chunk);
                        if !out.is_empty() {
                            return Some((Ok(bytes::Bytes::from(out)), (plain, Some(enc))));
                        }
                    }
                    Some(Err(e)) => return Some((Err(e), (plain, None))),
                    None => return Some((Ok(bytes::Bytes::from(enc.finish())), (plain, None))),
                }
            }
        },
    )
}
