//! A bot's captured audio: every chunk of a track (16 kHz mono s16le PCM) is sealed under the
//! meeting's key as its own blob the moment it arrives, so a bot killed mid-meeting leaves
//! every chunk sent until then readable. When the bot ends (however it ends) each track's
//! chunks are joined, in order and with their gaps as silence, into a WAV recording of the
//! bot's meeting labelled with the participant the track was mapped to, and transcribed if
//! `transcription.auto` is on. Meanwhile each stored chunk also goes to live transcription
//! (`live.rs`).

use std::collections::BTreeMap;

use bytes::Bytes;
use chrono::Utc;
use futures::TryStreamExt;
use meetvault_crypto::envelope;
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

/// The chunk's own id is the blob key's last part (`…/{seq}-{uuid}`): the seal is bound to it.
fn chunk_id(blob_key: &str) -> Result<Uuid, CoreError> {
    blob_key
        .rsplit_once('-')
        .and_then(|(_, id)| Uuid::parse_str(id).ok())
        .ok_or_else(|| CoreError::Integrity(format!("bot audio blob key {blob_key:?}")))
}

impl Core {
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
        let (kref, key) = self
            .meeting_write_key(org, bot.meeting_id, bot.owner_id)
            .await?;
        let (encryptor, header) =
            StreamEncryptor::new(&key, kref, &bind(org, "bot_audio_chunks", id, "pcm"));
        let blob_key = BlobKey::parse(&format!(
            "orgs/{org}/meetings/{}/bots/{}/audio/{}/{seq}-{}",
            bot.meeting_id,
            bot.id,
            hex::encode(track),
            id.simple()
        ))?;
        let samples = i64::try_from(pcm.len() / 2).unwrap_or(i64::MAX);
        let live = pcm.clone();
        let body = futures::stream::once(async move { Ok::<_, std::io::Error>(pcm) });
        if let Err(e) = self
            .blobs()
            .put_stream(&blob_key, encrypt_stream(encryptor, header, body))
            .await
        {
            self.delete_blob(&blob_key).await;
            return Err(e.into());
        }
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
        } else {
            // A repeated chunk: the first copy stays.
            self.delete_blob(&blob_key).await;
        }
        Ok(stored)
    }

    /// One chunk's PCM bytes, opened with the meeting's keys.
    async fn open_audio_chunk(
        &self,
        keys: &MeetingKeys,
        chunk: &AudioChunkRow,
    ) -> Result<Vec<u8>, CoreError> {
        let blob_key = BlobKey::parse(&chunk.blob_key)?;
        let ct: Vec<u8> = self
            .blobs()
            .get_stream(&blob_key)
            .await?
            .try_fold(Vec::new(), |mut acc, b| async move {
                acc.extend_from_slice(&b);
                Ok(acc)
            })
            .await
            .map_err(CoreError::internal)?;
        let header = ct
            .get(..stream::HEADER_LEN)
            .ok_or_else(|| CoreError::Integrity("a bot audio chunk is truncated".into()))?;
        let kref = stream::header_key_ref(header).map_err(integrity("bot audio"))?;
        let mut dec = StreamDecryptor::new(
            keys.find(kref)?,
            &bind(
                chunk.org_id,
                "bot_audio_chunks",
                chunk_id(&chunk.blob_key)?,
                "pcm",
            ),
            header,
        )
        .map_err(integrity("bot audio"))?;
        let mut out = Vec::with_capacity(ct.len());
        dec.update(&ct[stream::HEADER_LEN..], &mut out)
            .map_err(integrity("bot audio"))?;
        dec.finish(&mut out).map_err(integrity("bot audio"))?;
        Ok(out)
    }

    /// Every track of a bot as 16 kHz PCM bytes, chunks in order with gaps as silence.
    pub(crate) async fn bot_tracks(
        &self,
        bot: &BotRow,
    ) -> Result<BTreeMap<String, Vec<u8>>, CoreError> {
        let keys = self
            .meeting_read_keys(bot.org_id, bot.meeting_id, bot.owner_id)
            .await?;
        let mut tracks: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        for chunk in self.db().audio_chunks(bot.org_id, bot.id).await? {
            let pcm = self.open_audio_chunk(&keys, &chunk).await?;
            let out = tracks.entry(chunk.track.clone()).or_default();
            let have_ms = i64::try_from(out.len() / 2).unwrap_or(i64::MAX) * 1000 / RATE;
            let gap = (chunk.start_ms - have_ms).clamp(0, MAX_GAP_MS);
            out.resize(
                out.len() + usize::try_from(gap * RATE / 1000 * 2).unwrap_or(0),
                0,
            );
            out.extend_from_slice(&pcm);
        }
        Ok(tracks)
    }

    /// Turns what an ended bot captured into recordings of its meeting (one per track).
    pub(crate) async fn process_bot_audio(&self, bot: &BotRow) -> Result<(), CoreError> {
        let tracks = self.bot_tracks(bot).await?;
        if tracks.is_empty() {
            return Ok(());
        }
        let keys = self
            .meeting_read_keys(bot.org_id, bot.meeting_id, bot.owner_id)
            .await?;
        let mut labels = BTreeMap::new();
        for p in self.db().bot_participants(bot.org_id, bot.id).await? {
            if let Some(track) = &p.track {
                let name = match &p.name {
                    Some(ct) => keys.text(bot.org_id, "bot_participants", p.id, "name", ct)?,
                    None => p.ext_id.clone(),
                };
                labels.insert(track.clone(), name);
            }
        }
        let options: super::BotOptions = serde_json::from_str(&bot.options).unwrap_or_default();
        if options.recording.mixed {
            self.store_bot_recording(bot, "mixed", &mix(tracks.values()))
                .await?;
        }
        if options.recording.per_speaker {
            for (track, pcm) in tracks {
                let speaker = labels.get(&track).cloned().unwrap_or(track);
                self.store_bot_recording(bot, &speaker, &pcm).await?;
            }
        }
        Ok(())
    }

    async fn store_bot_recording(
        &self,
        bot: &BotRow,
        speaker: &str,
        pcm: &[u8],
    ) -> Result<(), CoreError> {
        let org = bot.org_id;
        let id = Uuid::new_v4();
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

/// The tracks summed sample by sample (they share the meeting's time origin), saturating.
fn mix<'a>(tracks: impl Iterator<Item = &'a Vec<u8>>) -> Vec<u8> {
    let mut sum: Vec<i32> = Vec::new();
    for pcm in tracks {
        if sum.len() < pcm.len() / 2 {
            sum.resize(pcm.len() / 2, 0);
        }
        for (acc, s) in sum.iter_mut().zip(pcm.chunks_exact(2)) {
            *acc += i32::from(i16::from_le_bytes([s[0], s[1]]));
        }
    }
    sum.into_iter()
        .flat_map(|v| {
            i16::try_from(v.clamp(i32::from(i16::MIN), i32::from(i16::MAX)))
                .unwrap_or_default()
                .to_le_bytes()
        })
        .collect()
}

/// A canonical 44-byte-header WAV of 16 kHz mono 16-bit PCM.
fn wav_bytes(pcm: &[u8]) -> Vec<u8> {
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
