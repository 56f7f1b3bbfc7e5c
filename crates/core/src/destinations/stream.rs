//! A bot's tracks streamed into its destination while it records. Each track (when the bot
//! keeps per-speaker recordings and has a destination) is one S3 multipart upload of the WAV
//! it will become, at `{prefix}/meetings/{meeting}/recordings/{recording}.wav` (`.age` when
//! encrypted): as soon as more than a part of audio (5 MiB, 164 s) is stored past what was
//! sent, the next part leaves, and its number, ETag and SHA-256 are written down. A crash
//! loses nothing: the parts stay in the bucket, the row says where the next one starts (which
//! audio chunk, which offset), and the next chunk that arrives resumes it — an age stream
//! too, from its header and payload key (sealed under the meeting's key, and forgotten when
//! the upload completes or is aborted: meetvault keeps no key that opens a delivered file).
//!
//! Part 1 holds the WAV header, whose length is known only at the end, so it is sent last: the
//! delivery job, when the meeting is done, rebuilds the whole file from the recording, checks
//! every part already in the bucket against its SHA-256, sends part 1 and the rest, and
//! completes the upload; if anything does not match (or the bucket lost the upload) it aborts
//! it and uploads the file whole. A participant who opts out has their upload aborted at once.
//! A failure talking to the bucket is kept on the row (and shown on the bot): recording goes on
//! locally, the next part is tried again later, and the delivery at the end sends what is
//! missing. Uploads left open by a bot that is long done are aborted by the sweeper.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::StreamExt as _;
use meetvault_crypto::age;
use meetvault_crypto::envelope;
use meetvault_store::BlobKey;
use meetvault_store::bots::BotRow;
use meetvault_store::destinations::BucketUploadRow;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use super::{Destinations, bucket_error, join, short};
use crate::bots::{MIXED, TrackUpload};
use crate::events::DeliveredFile;
use crate::ids::{MeetingId, RecordingId};
use crate::vault::{MeetingKeys, bind};
use crate::{Core, CoreError};

/// A streamed part: S3's minimum, and a whole number of age chunks (80).
pub(crate) const PART: usize = 5 << 20;
/// A WAV's header (16 kHz mono 16-bit PCM): the offset of a track's first sample.
pub(super) const WAV_HEADER: i64 = 44;
/// How long after a failure the next part is tried (the bot records on meanwhile).
pub(super) const RETRY_AFTER_MS: i64 = 10_000;
/// An upload still open this long after its last part, its bot done, is aborted.
const ABANDONED_AFTER_MS: i64 = 6 * 3600 * 1000;

/// One part in the bucket.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct SentPart {
    n: usize,
    etag: String,
    sha256: String,
}

/// An open upload being sent to: its bucket and key, S3's id for it, its parts so far, the
/// meeting's keys (to open chunks) and the age payload key (with a recipient).
pub(super) struct Sending {
    pub(super) bucket: meetvault_store::BlobStore,
    key: BlobKey,
    upload_id: String,
    parts: Vec<SentPart>,
    pub(super) keys: MeetingKeys,
    age_key: Option<zeroize::Zeroizing<[u8; 32]>>,
}

impl std::fmt::Debug for Sending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sending")
            .field("key", &self.key)
            .field("parts", &self.parts.len())
            .finish_non_exhaustive()
    }
}

/// A track's lock: held by a streaming step, an abort or the finish.
type TrackLock = Arc<tokio::sync::Mutex<()>>;

/// One streaming step at a time per track on this instance, and the mix's pacing.
#[derive(Debug, Default)]
pub(crate) struct Streams(
    Mutex<HashMap<(Uuid, String), TrackLock>>,
    Mutex<HashMap<Uuid, super::mixed::Pace>>,
);

impl Streams {
    pub(super) fn pace(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, super::mixed::Pace>> {
        self.1.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn lock_for(&self, bot: Uuid, track: &str) -> TrackLock {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry((bot, track.to_owned()))
            .or_default()
            .clone()
    }

    pub(super) fn forget(&self, bot: Uuid, track: &str) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&(bot, track.to_owned()));
        if track == MIXED {
            self.pace().remove(&bot);
        }
    }
}

pub(super) fn parts_of(row: &BucketUploadRow) -> Result<Vec<SentPart>, CoreError> {
    serde_json::from_str(&row.parts)
        .map_err(|e| CoreError::Integrity(format!("bucket upload parts: {e}")))
}

pub(super) fn offset(n: i64) -> usize {
    usize::try_from(n).unwrap_or(0)
}

impl Core {
    /// After a chunk of `track` was stored: sends the next parts of its upload in the
    /// background, if there are any to send.
    pub(crate) fn stream_track(&self, bot: &BotRow, track: &str) {
        let core = self.clone();
        let bot = bot.clone();
        let track = track.to_owned();
        tokio::spawn(async move {
            let lock = core.inner.bucket_streams.lock_for(bot.id, &track);
            let _one = lock.lock().await;
            if let Err(e) = core.stream_step(&bot, &track).await {
                tracing::warn!(bot = %crate::ids::BotId::from(bot.id), error = %e, "streaming a track to its destination");
            }
        });
    }

    /// Creates the track's upload if it has none yet, then sends every whole part stored
    /// past what was sent (keeping at least a byte back: only the end is the last part).
    async fn stream_step(&self, bot: &BotRow, track: &str) -> Result<(), CoreError> {
        let org = bot.org_id;
        let existing = self.db().bucket_upload(org, bot.id, track).await?;
        match &existing {
            Some(up) => {
                let now = meetvault_jobs::now_ms();
                if (up.state != "creating" && up.state != "open")
                    || up.error_at.is_some_and(|at| now - at < RETRY_AFTER_MS)
                {
                    return Ok(());
                }
            }
            None => {
                let options: crate::bots::BotOptions =
                    serde_json::from_str(&bot.options).unwrap_or_default();
                if !options.recording.per_speaker || self.bot_destination(bot).await?.is_none() {
                    return Ok(());
                }
            }
        }
        // Part 1 is held back: the first part sent is part 2, from the first chunk on.
        let (resume_seq, resume_base, sent) =
            existing.as_ref().map_or((0, WAV_HEADER, PART as i64), |u| {
                (u.resume_seq, u.resume_base, u.sent)
            });
        // Enough audio for a part? Counted from the chunks' rows, without opening any.
        let chunks = self
            .db()
            .audio_chunks_from(org, bot.id, track, resume_seq)
            .await?;
        let mut end = offset(resume_base);
        for c in &chunks {
            end += crate::bots::gap_bytes(end - WAV_HEADER as usize, c.start_ms)
                + offset(c.samples) * 2;
        }
        if end <= offset(sent) + PART {
            return Ok(());
        }
        let mut up = match existing {
            Some(up) => up,
            None => match self.new_track_upload(bot, track).await? {
                Some(up) => up,
                None => return Ok(()),
            },
        };
        let Some(mut sending) = self.open_upload(bot, &mut up).await? else {
            return Ok(());
        };
        // WAV bytes from `up.sent` on.
        let mut buf: Vec<u8> = Vec::with_capacity(2 * PART);
        let mut pos = offset(up.resume_base);
        for c in &chunks {
            let start = pos;
            let gap = crate::bots::gap_bytes(start - WAV_HEADER as usize, c.start_ms);
            let pcm = self.open_audio_chunk(&sending.keys, c).await?;
            pos = start + gap + pcm.len();
            let sent = offset(up.sent);
            let skip = sent.saturating_sub(start);
            if skip < gap {
                buf.resize(buf.len() + gap - skip, 0);
                buf.extend_from_slice(&pcm);
            } else if skip - gap < pcm.len() {
                buf.extend_from_slice(&pcm[skip - gap..]);
            }
            while buf.len() > PART {
                let plain: Vec<u8> = buf.drain(..PART).collect();
                // Once sent, the next part starts inside this chunk (the buffer still holds
                // its end).
                let resume = (c.seq, i64::try_from(start).unwrap_or(i64::MAX));
                if !self
                    .send_part(&mut sending, &mut up, plain, Some(resume))
                    .await?
                {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// The upload's bucket, its multipart upload created if it was not yet, and its age key;
    /// none (the failure kept on the row) if the bucket cannot be reached.
    pub(super) async fn open_upload(
        &self,
        bot: &BotRow,
        up: &mut BucketUploadRow,
    ) -> Result<Option<Sending>, CoreError> {
        let bucket = match (Destinations { core: self })
            .bucket_of(up.org_id, up.destination_id)
            .await
        {
            Ok(b) => b,
            Err(e) => {
                self.upload_failed(up, short(&e.to_string())).await?;
                return Ok(None);
            }
        };
        let key = BlobKey::parse(&up.object_key)?;
        if up.upload_id.is_none() {
            match bucket.create_multipart(&key).await {
                Ok(id) => {
                    up.upload_id = Some(id);
                    up.state = "open".into();
                    up.updated_at = meetvault_jobs::now_ms();
                    self.db().update_bucket_upload(up).await?;
                }
                Err(e) => {
                    self.upload_failed(up, bucket_error(&e)).await?;
                    return Ok(None);
                }
            }
        }
        let keys = self
            .meeting_read_keys(up.org_id, bot.meeting_id, bot.owner_id)
            .await?;
        Ok(Some(Sending {
            age_key: self.upload_age_key(&keys, up)?,
            parts: parts_of(up)?,
            upload_id: up.upload_id.clone().unwrap_or_default(),
            bucket,
            key,
            keys,
        }))
    }

    /// Sends `plain` (a whole part, from `up.sent` on) and writes it down with where the next
    /// part starts (`resume`: its chunk and that chunk's offset); false (the failure kept on
    /// the row, nothing else changed) if the bucket refused it.
    pub(super) async fn send_part(
        &self,
        s: &mut Sending,
        up: &mut BucketUploadRow,
        plain: Vec<u8>,
        resume: Option<(i64, i64)>,
    ) -> Result<bool, CoreError> {
        let at = offset(up.sent);
        let body = match &s.age_key {
            Some(k) => age::Encryptor::resume(None, k, (at / age::CHUNK) as u64).push_more(&plain),
            None => plain,
        };
        let sha = hex::encode(Sha256::digest(&body));
        let n = at / PART + 1;
        let etag = match s
            .bucket
            .put_part(&s.key, &s.upload_id, n, Bytes::from(body))
            .await
        {
            Ok(etag) => etag,
            Err(e) => {
                self.upload_failed(up, bucket_error(&e)).await?;
                return Ok(false);
            }
        };
        s.parts.push(SentPart {
            n,
            etag,
            sha256: sha,
        });
        up.parts = serde_json::to_string(&s.parts).map_err(CoreError::internal)?;
        up.sent = i64::try_from(at + PART).unwrap_or(i64::MAX);
        if let Some((seq, base)) = resume {
            up.resume_seq = seq;
            up.resume_base = base;
        }
        up.error = None;
        up.error_at = None;
        up.updated_at = meetvault_jobs::now_ms();
        self.db().update_bucket_upload(up).await?;
        Ok(true)
    }

    /// A row for the track's upload (its recording id, key and age state chosen now); none
    /// when the bot has no destination or keeps no such recording (per-speaker, or for
    /// [`MIXED`] the mix).
    pub(super) async fn new_track_upload(
        &self,
        bot: &BotRow,
        track: &str,
    ) -> Result<Option<BucketUploadRow>, CoreError> {
        let options: crate::bots::BotOptions =
            serde_json::from_str(&bot.options).unwrap_or_default();
        let wanted = if track == MIXED {
            options.recording.mixed
        } else {
            options.recording.per_speaker
        };
        if !wanted {
            return Ok(None);
        }
        let Some(dest_id) = self.bot_destination(bot).await? else {
            return Ok(None);
        };
        let dest = Destinations { core: self }.row(bot.org_id, dest_id).await?;
        let id = Uuid::new_v4();
        let recipient = dest
            .age_recipient
            .as_deref()
            .map(age::Recipient::parse)
            .transpose()
            .map_err(|e| CoreError::Integrity(format!("destination age recipient: {e}")))?;
        let (age_header, age_key) = match &recipient {
            Some(r) => {
                let mut e = age::Encryptor::new(r);
                let payload_key = e.payload_key();
                let (kref, key) = self
                    .meeting_write_key(bot.org_id, bot.meeting_id, bot.owner_id)
                    .await?;
                let sealed = envelope::encrypt(
                    &key,
                    kref,
                    &bind(bot.org_id, "bucket_uploads", id, "age_key"),
                    payload_key.as_ref(),
                );
                (Some(e.header()), Some(sealed))
            }
            None => (None, None),
        };
        let suffix = if recipient.is_some() { ".age" } else { "" };
        let now = meetvault_jobs::now_ms();
        let row = BucketUploadRow {
            id,
            org_id: bot.org_id,
            bot_id: bot.id,
            meeting_id: bot.meeting_id,
            destination_id: dest.id,
            track: track.to_owned(),
            object_key: join(
                &dest.prefix,
                &format!(
                    "meetings/{}/recordings/{}.wav{suffix}",
                    MeetingId::from(bot.meeting_id),
                    RecordingId::from(id)
                ),
            ),
            upload_id: None,
            state: "creating".into(),
            parts: "[]".into(),
            // Part 1 is held back: the next part sent is part 2.
            sent: PART as i64,
            resume_seq: 0,
            resume_base: WAV_HEADER,
            age_header,
            age_key,
            error: None,
            error_at: None,
            created_at: now,
            updated_at: now,
        };
        if !self.db().insert_bucket_upload(&row).await? {
            // Another step made it first.
            return Ok(self.db().bucket_upload(bot.org_id, bot.id, track).await?);
        }
        Ok(Some(row))
    }

    fn upload_age_key(
        &self,
        keys: &MeetingKeys,
        up: &BucketUploadRow,
    ) -> Result<Option<zeroize::Zeroizing<[u8; 32]>>, CoreError> {
        let Some(sealed) = &up.age_key else {
            return Ok(None);
        };
        let plain = keys.bytes(up.org_id, "bucket_uploads", up.id, "age_key", sealed)?;
        let key: [u8; 32] = plain
            .as_slice()
            .try_into()
            .map_err(|_| CoreError::Integrity("a bucket upload's age key".into()))?;
        Ok(Some(zeroize::Zeroizing::new(key)))
    }

    /// Keeps the failure on the row (shown on the bot); the bot records on.
    pub(super) async fn upload_failed(
        &self,
        up: &mut BucketUploadRow,
        error: String,
    ) -> Result<(), CoreError> {
        tracing::warn!(track = %up.track, error = %error, "a part could not be sent to the destination; recording goes on locally");
        let now = meetvault_jobs::now_ms();
        up.error = Some(short(&error));
        up.error_at = Some(now);
        up.updated_at = now;
        self.db().update_bucket_upload(up).await?;
        Ok(())
    }

    /// Aborts the track's upload (its participant opted out): nothing of it stays in the
    /// bucket. Idempotent; a failure is kept for the sweeper to try again.
    pub(crate) async fn abort_track_upload(
        &self,
        bot: &BotRow,
        track: &str,
    ) -> Result<(), CoreError> {
        let lock = self.inner.bucket_streams.lock_for(bot.id, track);
        let _one = lock.lock().await;
        if let Some(mut up) = self.db().bucket_upload(bot.org_id, bot.id, track).await? {
            self.abort_upload(&mut up).await?;
        }
        self.inner.bucket_streams.forget(bot.id, track);
        Ok(())
    }

    /// Aborts an upload in the bucket and marks it so (an error leaves it as it was).
    pub(super) async fn abort_upload(&self, up: &mut BucketUploadRow) -> Result<(), CoreError> {
        if up.state == "aborted" || up.state == "completed" {
            return Ok(());
        }
        if let Some(upload_id) = &up.upload_id {
            let bucket = Destinations { core: self }
                .bucket_of(up.org_id, up.destination_id)
                .await;
            match bucket {
                Ok(bucket) => {
                    if let Err(e) = bucket
                        .abort_multipart(&BlobKey::parse(&up.object_key)?, upload_id)
                        .await
                    {
                        self.upload_failed(up, bucket_error(&e)).await?;
                        return Ok(());
                    }
                }
                // The destination is gone: nothing of ours can be reached there any more.
                Err(CoreError::NotFound(_)) => {}
                Err(e) => {
                    self.upload_failed(up, short(&e.to_string())).await?;
                    return Ok(());
                }
            }
        }
        self.abort_leftovers(up).await;
        up.state = "aborted".into();
        // The file's key is needed no more: meetvault keeps none that opens a delivered file.
        up.age_key = None;
        up.updated_at = meetvault_jobs::now_ms();
        self.db().update_bucket_upload(up).await?;
        Ok(())
    }

    /// Lists the uploads in progress at the upload's key and aborts them: none can be a live
    /// one of ours (that one is completed or aborted by now), so they are what a crash left
    /// (created in the bucket before its id was written down). A failure is only logged.
    async fn abort_leftovers(&self, up: &BucketUploadRow) {
        let dest = Destinations { core: self };
        let result = async {
            let ids = dest
                .uploads_at(up.org_id, up.destination_id, &up.object_key)
                .await?;
            if ids.is_empty() {
                return Ok::<_, CoreError>(0);
            }
            let bucket = dest.bucket_of(up.org_id, up.destination_id).await?;
            let key = BlobKey::parse(&up.object_key)?;
            for id in &ids {
                bucket.abort_multipart(&key, id).await?;
            }
            Ok(ids.len())
        }
        .await;
        match result {
            Ok(0) | Err(CoreError::NotFound(_)) => {}
            Ok(n) => {
                tracing::info!(track = %up.track, aborted = n, "aborted uploads a crash left in the destination")
            }
            Err(e) => {
                tracing::warn!(track = %up.track, error = %e, "listing the destination's uploads in progress")
            }
        }
    }

    /// A bot's streamed tracks, for its view.
    pub(crate) async fn track_uploads(&self, bot: &BotRow) -> Result<Vec<TrackUpload>, CoreError> {
        let mut out = Vec::new();
        for up in self.db().bucket_uploads_of_bot(bot.org_id, bot.id).await? {
            let parts = parts_of(&up)?;
            // Parts 2 on, as sent (sealed, with an age recipient).
            let streamed = (offset(up.sent) - PART) as u64;
            let streamed = if up.age_header.is_some() {
                age::sealed_len(streamed / age::CHUNK as u64)
            } else {
                streamed
            };
            out.push(TrackUpload {
                track: up.track.clone(),
                destination_id: up.destination_id.into(),
                key: up.object_key.clone(),
                state: up.state.clone(),
                parts: u32::try_from(parts.len()).unwrap_or(u32::MAX),
                bytes_sent: streamed,
                error: up.error.clone(),
                error_at: up.error_at.map(crate::bots::ms_time),
            });
        }
        Ok(out)
    }

    /// Finishes the upload a track of recording `rec` streamed, from the recording's whole
    /// file (`wav`: its plaintext): parts already sent are checked against their SHA-256,
    /// part 1 and the rest are sent, the upload completed. None (the upload aborted) if it
    /// cannot be finished — a part differs, or the bucket lost it — so the caller uploads the
    /// file whole.
    pub(super) async fn finish_track_upload(
        &self,
        bucket: &meetvault_store::BlobStore,
        keys: &MeetingKeys,
        up: &mut BucketUploadRow,
        wav: impl futures::Stream<Item = std::io::Result<Bytes>> + Send,
    ) -> Result<Option<DeliveredFile>, CoreError> {
        let lock = self.inner.bucket_streams.lock_for(up.bot_id, &up.track);
        let _one = lock.lock().await;
        if let Some(fresh) = self.db().bucket_upload_by_id(up.org_id, up.id).await? {
            *up = fresh;
        }
        let Some(upload_id) = up.upload_id.clone().filter(|_| up.state == "open") else {
            return Ok(None);
        };
        let key = BlobKey::parse(&up.object_key)?;
        let age_key = self.upload_age_key(keys, up)?;
        let sent = parts_of(up)?;
        let mut etags = Vec::new();
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let mut wav = std::pin::pin!(wav);
        let mut buf: Vec<u8> = Vec::with_capacity(2 * PART);
        let mut n = 1usize;
        let mut ended = false;
        while !ended {
            while buf.len() <= PART {
                match wav.next().await {
                    Some(chunk) => buf.extend_from_slice(&chunk.map_err(CoreError::internal)?),
                    None => {
                        ended = true;
                        break;
                    }
                }
            }
            let last = ended;
            let take = if last { buf.len() } else { PART };
            let plain: Vec<u8> = buf.drain(..take).collect();
            let at = (n - 1) * PART;
            let body = match &age_key {
                Some(k) => {
                    let header = (n == 1).then(|| up.age_header.clone().unwrap_or_default());
                    let mut e = age::Encryptor::resume(header, k, (at / age::CHUNK) as u64);
                    if last {
                        let mut out = e.push(&plain);
                        out.extend(e.finish());
                        out
                    } else {
                        e.push_more(&plain)
                    }
                }
                None => plain,
            };
            hasher.update(&body);
            size += body.len() as u64;
            let streamed = (n >= 2).then(|| sent.iter().find(|p| p.n == n)).flatten();
            match streamed {
                Some(p) if p.sha256 == hex::encode(Sha256::digest(&body)) => {
                    etags.push(p.etag.clone());
                }
                Some(_) => {
                    tracing::warn!(track = %up.track, part = n, "a streamed part differs from the recording; uploading the file whole");
                    self.abort_upload(up).await?;
                    return Ok(None);
                }
                None => match bucket
                    .put_part(&key, &upload_id, n, Bytes::from(body))
                    .await
                {
                    Ok(etag) => etags.push(etag),
                    Err(e) => return self.finish_failed(up, e).await,
                },
            }
            n += 1;
        }
        if sent.iter().any(|p| p.n >= n) {
            // The recording is shorter than what streamed: not the same file.
            self.abort_upload(up).await?;
            return Ok(None);
        }
        if let Err(e) = bucket.complete_multipart(&key, &upload_id, etags).await {
            return self.finish_failed(up, e).await;
        }
        self.abort_leftovers(up).await;
        up.state = "completed".into();
        up.age_key = None;
        up.error = None;
        up.error_at = None;
        up.updated_at = meetvault_jobs::now_ms();
        self.db().update_bucket_upload(up).await?;
        self.inner.bucket_streams.forget(up.bot_id, &up.track);
        Ok(Some(DeliveredFile {
            kind: "recording".into(),
            recording_id: Some(up.id.into()),
            key: up.object_key.clone(),
            size,
            sha256: hex::encode(hasher.finalize()),
            age_encrypted: up.age_header.is_some(),
        }))
    }

    /// The bucket no longer has the upload: aborted here, uploaded whole by the caller; any
    /// other failure is the delivery job's to retry.
    async fn finish_failed(
        &self,
        up: &mut BucketUploadRow,
        e: meetvault_store::StoreError,
    ) -> Result<Option<DeliveredFile>, CoreError> {
        let text = bucket_error(&e);
        if e.is_not_found() {
            self.abort_upload(up).await?;
            if up.state != "aborted" {
                up.state = "aborted".into();
                up.age_key = None;
                self.db().update_bucket_upload(up).await?;
            }
            return Ok(None);
        }
        self.upload_failed(up, text).await?;
        Err(e.into())
    }

    /// The sweeper's: aborts uploads left open by bots that are done (or gone) since long
    /// ago, and forgets rows never created in the bucket. How many it closed.
    pub(crate) async fn sweep_track_uploads(&self) -> Result<usize, CoreError> {
        let before = meetvault_jobs::now_ms() - ABANDONED_AFTER_MS;
        let mut closed = 0;
        for mut up in self.db().unfinished_bucket_uploads(before, 100).await? {
            let bot = self.db().bot(up.org_id, up.bot_id).await?;
            let done = match &bot {
                None => true,
                Some(b) => crate::bots::state_of(b)?.is_done(),
            };
            if !done {
                continue;
            }
            self.abort_upload(&mut up).await?;
            if up.state == "aborted" {
                closed += 1;
            }
        }
        Ok(closed)
    }
}
