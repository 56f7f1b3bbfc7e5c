//! A bot's captured audio: every chunk of a track (16 kHz mono s16le PCM) is sealed under the
//! meeting's key as its own blob the moment it arrives, so a bot killed mid-meeting leaves
//! every chunk sent until then readable. When the bot ends (however it ends) each track's
//! chunks are joined, in order and with their gaps as silence, into a WAV recording of the
//! bot's meeting labelled with the participant the track was mapped to, and transcribed if
//! `transcription.auto` is on. A track whose participant opted out is deleted
//! ([`Core::forget_bot_track`]) and never becomes a recording. A mixed recording, if asked
//! for, sums every track on the meeting's clock (`mix.rs`). Meanwhile each stored chunk also
//! goes to live transcription (`live.rs`) and, with a destination, streams into the
//! customer's bucket (`destinations/stream.rs`, the mix `destinations/mixed.rs`).

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use chrono::Utc;
use futures::TryStreamExt;
use meetvault_crypto::envelope::{self, Binding};
use meetvault_crypto::stream::{self, StreamDecryptor, StreamEncryptor};
use meetvault_store::BlobKey;
use meetvault_store::bots::{AudioChunkRow, BotRow};
use meetvault_store::vault::RecordingRow;
use uuid::Uuid;

use crate::events::{DomainEvent, RecordingStored, outbox_event};
use crate::vault::{MeetingKeys, bind, encrypt_stream, integrity};
use crate::{Core, CoreError};

const RATE: i64 = 16_000;
/// The longest gap filled with silence between two chunks (a longer one is cut short).
const MAX_GAP_MS: i64 = 10 * 60 * 1000;

/// The silence (in PCM bytes) before a chunk starting at `start_ms`, after `have` bytes of
/// its track: the gap since the audio so far ended, at most [`MAX_GAP_MS`]. A track's audio
/// is its chunks in order, each after its gap (a recording, and what streams to a bucket).
pub(crate) fn gap_bytes(have: usize, start_ms: i64) -> usize {
    let have_ms = i64::try_from(have / 2).unwrap_or(i64::MAX) * 1000 / RATE;
    let gap = (start_ms - have_ms).clamp(0, MAX_GAP_MS);
    usize::try_from(gap * RATE / 1000 * 2).unwrap_or(0)
}

/// The chunk's own id is the blob key's last part (`…/{seq}-{uuid}`): the seal is bound to it.
fn chunk_id(blob_key: &str) -> Result<Uuid, CoreError> {
    blob_key
        .rsplit_once('-')
        .and_then(|(_, id)| Uuid::parse_str(id).ok())
        .ok_or_else(|| CoreError::Integrity(format!("bot audio blob key {blob_key:?}")))
}

impl Core {
    /// Seals `plain` under the bot's meeting key, bound to `aad`, as the blob `blob_key`.
    pub(super) async fn seal_bot_blob(
        &self,
        bot: &BotRow,
        blob_key: &BlobKey,
        aad: &Binding<'_>,
        plain: Bytes,
    ) -> Result<(), CoreError> {
        let (kref, key) = self
            .meeting_write_key(bot.org_id, bot.meeting_id, bot.owner_id)
            .await?;
        let (encryptor, header) = StreamEncryptor::new(&key, kref, aad);
        let body = futures::stream::once(async move { Ok::<_, std::io::Error>(plain) });
        if let Err(e) = self
            .blobs()
            .put_stream(blob_key, encrypt_stream(encryptor, header, body))
            .await
        {
            self.delete_blob(blob_key).await;
            return Err(e.into());
        }
        Ok(())
    }

    /// A blob sealed by [`Core::seal_bot_blob`], opened with the meeting's keys.
    pub(super) async fn open_bot_blob(
        &self,
        keys: &MeetingKeys,
        blob_key: &BlobKey,
        aad: &Binding<'_>,
    ) -> Result<Vec<u8>, CoreError> {
        let ct: Vec<u8> = self
            .blobs()
            .get_stream(blob_key)
            .await?
            .try_fold(Vec::new(), |mut acc, b| async move {
                acc.extend_from_slice(&b);
                Ok(acc)
            })
            .await
            .map_err(CoreError::internal)?;
        let header = ct
            .get(..stream::HEADER_LEN)
            .ok_or_else(|| CoreError::Integrity("a bot's blob is truncated".into()))?;
        let kref = stream::header_key_ref(header).map_err(integrity("bot blob"))?;
        let mut dec =
            StreamDecryptor::new(keys.find(kref)?, aad, header).map_err(integrity("bot blob"))?;
        let mut out = Vec::with_capacity(ct.len());
        dec.update(&ct[stream::HEADER_LEN..], &mut out)
            .map_err(integrity("bot blob"))?;
        dec.finish(&mut out).map_err(integrity("bot blob"))?;
        Ok(out)
    }

    /// Seals and stores one chunk; false if that (track, seq) was stored before.
    pub(crate) async fn store_audio_chunk(
        &self,
        bot: &BotRow,
        track: &str,
        seq: i64,
        start_ms: i64,
        pcm: Bytes,
    ) -> Result<bool, CoreError> {
        let org = bot.org_id;
        let id = Uuid::new_v4();
        let blob_key = BlobKey::parse(&format!(
            "orgs/{org}/meetings/{}/bots/{}/audio/{}/{seq}-{}",
            bot.meeting_id,
            bot.id,
            hex::encode(track),
            id.simple()
        ))?;
        let samples = i64::try_from(pcm.len() / 2).unwrap_or(i64::MAX);
        let live = pcm.clone();
        self.seal_bot_blob(
            bot,
            &blob_key,
            &bind(org, "bot_audio_chunks", id, "pcm"),
            pcm,
        )
        .await?;
        let stored = self
            .db()
            .insert_audio_chunk(&AudioChunkRow {
                bot_id: bot.id,
                track: track.to_owned(),
                seq,
                org_id: org,
                start_ms,
                samples,
                blob_key: blob_key.as_str().to_owned(),
                created_at: meetvault_jobs::now_ms(),
            })
            .await?;
        if stored {
            self.feed_live(bot, track, start_ms, live);
            self.stream_track(bot, track);
            self.stream_mix(bot);
        } else {
            // A repeated chunk: the first copy stays.
            self.delete_blob(&blob_key).await;
        }
        Ok(stored)
    }

    /// One chunk's PCM bytes, opened with the meeting's keys.
    pub(crate) async fn open_audio_chunk(
        &self,
        keys: &MeetingKeys,
        chunk: &AudioChunkRow,
    ) -> Result<Vec<u8>, CoreError> {
        let aad = bind(
            chunk.org_id,
            "bot_audio_chunks",
            chunk_id(&chunk.blob_key)?,
            "pcm",
        );
        self.open_bot_blob(keys, &BlobKey::parse(&chunk.blob_key)?, &aad)
            .await
    }

    /// Deletes everything stored of one track (its participant opted out): each chunk's blob,
    /// then its row, so a crash half-way leaves rows whose blobs may be gone, which the next
    /// call (the opt-out repeated, or the bot's end) deletes again. Idempotent.
    pub(crate) async fn forget_bot_track(
        &self,
        bot: &BotRow,
        track: &str,
    ) -> Result<(), CoreError> {
        // What live transcription heard of it goes too (its transcriber stops for good), and
        // what streamed of it into the customer's bucket.
        self.drop_live_track(bot.id, track).await?;
        self.abort_track_upload(bot, track).await?;
        let chunks = self
            .db()
            .audio_chunks_of_track(bot.org_id, bot.id, track)
            .await?;
        if !chunks.is_empty() {
            // The mix streamed so far may hold them: aborted, and started again without them
            // by the next chunk (`destinations/mixed.rs`).
            self.abort_track_upload(bot, super::MIXED).await?;
        }
        for chunk in chunks {
            // A blob that cannot be deleted now is queued for the blob sweeper's retries.
            self.delete_blob(&BlobKey::parse(&chunk.blob_key)?).await;
            self.db()
                .delete_audio_chunk(bot.org_id, bot.id, track, chunk.seq)
                .await?;
        }
        Ok(())
    }

    /// Every track of a bot as 16 kHz PCM bytes, chunks in order with gaps as silence, and
    /// where its chunks sit on the mixed timeline; the tracks of participants who opted out
    /// are not among them.
    pub(crate) async fn bot_track_audio(
        &self,
        bot: &BotRow,
        skip: &BTreeSet<String>,
    ) -> Result<(BTreeMap<String, Vec<u8>>, super::Timeline), CoreError> {
        let keys = self
            .meeting_read_keys(bot.org_id, bot.meeting_id, bot.owner_id)
            .await?;
        let timeline = super::Timeline::of(self.db().audio_chunks(bot.org_id, bot.id).await?, skip);
        let mut tracks: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        for placed in &timeline.chunks {
            let pcm = self.open_audio_chunk(&keys, &placed.row).await?;
            let out = tracks.entry(placed.row.track.clone()).or_default();
            out.resize(placed.track_offset, 0);
            out.extend_from_slice(&pcm);
        }
        Ok((tracks, timeline))
    }

    /// Turns what a bot captured into recordings of its meeting (one per track, labelled with
    /// the participant it was mapped to), after deleting once more whatever is left of the
    /// tracks of participants who opted out.
    pub(crate) async fn process_bot_audio(&self, bot: &BotRow) -> Result<(), CoreError> {
        if let Some(row) = self.db().bot(bot.org_id, bot.id).await?
            && row.audio_processed_at.is_some()
        {
            // Done before (a restart cut off what came after): its recordings exist.
            return Ok(());
        }
        let mapped = self.db().bot_tracks(bot.org_id, bot.id).await?;
        let mut opted_out = BTreeSet::new();
        for t in mapped.iter().filter(|t| t.opted_out_at.is_some()) {
            self.forget_bot_track(bot, &t.track).await?;
            opted_out.insert(t.track.clone());
        }
        let (tracks, timeline) = self.bot_track_audio(bot, &opted_out).await?;
        if tracks.is_empty() {
            return Ok(());
        }
        let keys = self
            .meeting_read_keys(bot.org_id, bot.meeting_id, bot.owner_id)
            .await?;
        let mut names = BTreeMap::new();
        for p in self.db().bot_participants(bot.org_id, bot.id).await? {
            let name = match &p.name {
                Some(ct) => keys.text(bot.org_id, "bot_participants", p.id, "name", ct)?,
                None => p.ext_id.clone(),
            };
            names.insert(p.ext_id, name);
        }
        let labels: BTreeMap<String, String> = mapped
            .into_iter()
            .filter_map(|t| {
                let who = t.participant_id?;
                Some((t.track, names.get(&who).cloned().unwrap_or(who)))
            })
            .collect();
        let options: super::BotOptions = serde_json::from_str(&bot.options).unwrap_or_default();
        // A track (or the mix) that streamed into a bucket becomes the recording its upload
        // names.
        let streamed: BTreeMap<String, Uuid> = self
            .db()
            .bucket_uploads_of_bot(bot.org_id, bot.id)
            .await?
            .into_iter()
            .map(|u| (u.track, u.id))
            .collect();
        let stored: BTreeSet<Uuid> = self
            .db()
            .recordings(bot.org_id, bot.meeting_id)
            .await?
            .into_iter()
            .map(|r| r.id)
            .collect();
        if options.recording.mixed {
            let id = streamed.get(super::MIXED).copied();
            if !id.is_some_and(|id| stored.contains(&id)) {
                let mixed = timeline.mix(0, timeline.len(), |p| {
                    tracks.get(&p.row.track)?.get(p.track_range())
                });
                self.store_bot_recording(bot, "mixed", &mixed, id).await?;
            }
        }
        if options.recording.per_speaker {
            for (track, pcm) in tracks {
                let id = streamed.get(&track).copied();
                if id.is_some_and(|id| stored.contains(&id)) {
                    // Stored by a run a restart cut short.
                    continue;
                }
                let speaker = labels.get(&track).cloned().unwrap_or_else(|| track.clone());
                self.store_bot_recording(bot, &speaker, &pcm, id).await?;
            }
        }
        self.db()
            .bot_audio_processed(bot.org_id, bot.id, meetvault_jobs::now_ms())
            .await?;
        // The customer's bucket gets them next (the bot's, its workspace's or the org's).
        if let Some(dest) = self.bot_destination(bot).await? {
            self.enqueue_delivery(bot.org_id, bot.meeting_id, dest)
                .await?;
        }
        Ok(())
    }

    async fn store_bot_recording(
        &self,
        bot: &BotRow,
        speaker: &str,
        pcm: &[u8],
        id: Option<Uuid>,
    ) -> Result<(), CoreError> {
        let org = bot.org_id;
        let id = id.unwrap_or_else(Uuid::new_v4);
        let (kref, key) = self
            .meeting_write_key(org, bot.meeting_id, bot.owner_id)
            .await?;
        let wav = wav_bytes(pcm);
        let plain = wav.len();
        let (encryptor, header) =
            StreamEncryptor::new(&key, kref, &bind(org, "recordings", id, "blob"));
        let blob_key = BlobKey::parse(&format!(
            "orgs/{org}/meetings/{}/recordings/{id}",
            bot.meeting_id
        ))?;
        let body = futures::stream::once(async move { Ok::<_, std::io::Error>(Bytes::from(wav)) });
        let stored = match self
            .blobs()
            .put_stream(&blob_key, encrypt_stream(encryptor, header, body))
            .await
        {
            Ok(n) => n,
            Err(e) => {
                self.delete_blob(&blob_key).await;
                return Err(e.into());
            }
        };
        let duration_ms = i64::try_from(pcm.len() / 2).unwrap_or(i64::MAX) * 1000 / RATE;
        let row = RecordingRow {
            id,
            org_id: org,
            meeting_id: bot.meeting_id,
            blob_key: blob_key.as_str().to_owned(),
            size: i64::try_from(plain).unwrap_or(i64::MAX),
            stored_size: i64::try_from(stored).unwrap_or(i64::MAX),
            content_type: "audio/wav".to_owned(),
            created_at: Utc::now(),
            speaker: Some(envelope::encrypt(
                &key,
                kref,
                &bind(org, "recordings", id, "speaker"),
                speaker.as_bytes(),
            )),
            duration_ms: Some(duration_ms),
            codec: Some("wav/pcm_s16le".to_owned()),
            transcribed_at: None,
            delivered_at: None,
            delivered_to: None,
            delivered_key: None,
            local_deleted_at: None,
        };
        let event = outbox_event(
            org,
            &DomainEvent::RecordingStored(RecordingStored {
                meeting_id: bot.meeting_id.into(),
                recording_id: id.into(),
                duration_ms: Some(duration_ms),
            }),
            None,
        )?;
        if let Err(e) = self.db().insert_recording(&row, &[event]).await {
            self.delete_blob(&blob_key).await;
            return Err(e.into());
        }
        self.events().wake(bot.meeting_id);
        if self.config().transcription.auto {
            self.enqueue_transcription(org, bot.meeting_id, id).await?;
        }
        Ok(())
    }
}

/// A canonical 44-byte-header WAV of 16 kHz mono 16-bit PCM.
pub(crate) fn wav_bytes(pcm: &[u8]) -> Vec<u8> {
    let data_len = u32::try_from(pcm.len()).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(44 + pcm.len());
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&data_len.saturating_add(36).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&16_000u32.to_le_bytes());
    out.extend_from_slice(&32_000u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    out.extend_from_slice(pcm);
    out
}
