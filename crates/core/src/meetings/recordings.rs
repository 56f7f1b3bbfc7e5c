//! Recordings: streamed in through the blob encryption layer (bounded memory, size-capped, a
//! stalled body stopped), checked by decoding them once in-process (a corrupt, truncated, empty,
//! unsupported or over-long file is refused and leaves no row and no blob), and read back whole
//! or by byte range. Each may carry a speaker label (one track per speaker, as the bot records), and its
//! upload queues a transcription job. Its media type is the one decoding detected
//! (`audio/…`), never the uploader's `Content-Type`, which is only a decoding hint: a member
//! must not be able to make a recording that a browser would render as a page.

use std::ops::Range;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::Stream;
use meetvault_audio::{MediaType, OCTET_STREAM};
use meetvault_crypto::envelope;
use meetvault_crypto::stream::{self, StreamDecryptor, StreamEncryptor};
use meetvault_store::vault::{MeetingRow, RecordingRow};
use meetvault_store::{BlobKey, BlobStream};
use uuid::Uuid;

use super::super::media::{BlobReader, audio_error};
use crate::access::Scope;
use crate::access::proof::{MeetingsRead, MeetingsWrite};
use crate::audit::AuditAction;
use crate::audit::Event;
use crate::ids::{JobId, MeetingId, RecordingId};
use crate::vault::{bind, check_text, decrypt_stream, encrypt_stream, integrity};
use crate::{Core, CoreError};

#[derive(Debug, Clone)]
pub struct RecordingView {
    pub id: RecordingId,
    pub size: i64,
    /// The detected audio type, from the allow-list of [`MediaType`] (anything else that an older
    /// version stored is `application/octet-stream`).
    pub content_type: &'static str,
    /// The track's speaker label, when the upload named one.
    pub speaker: Option<String>,
    pub duration_ms: Option<i64>,
    pub codec: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The transcription job this upload queued.
    pub job_id: Option<JobId>,
    /// Where it was delivered (the customer's bucket), when.
    pub delivered: Option<Delivered>,
    /// When meetvault deleted its own copy (once delivered): downloads answer 410 since.
    pub local_copy_deleted_at: Option<DateTime<Utc>>,
}

/// The decoder's hint for an uploaded file's name.
pub(crate) fn upload_hint(filename: Option<&str>) -> meetvault_audio::Hint {
    hint(filename, "application/octet-stream")
}

/// The decoder's hint for a stored recording (its declared media type).
pub(crate) fn recordings_hint(content_type: &str) -> meetvault_audio::Hint {
    hint(None, content_type)
}

/// A recording's copy in a destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    pub destination_id: crate::ids::DestinationId,
    pub key: String,
    pub at: DateTime<Utc>,
}

impl RecordingView {
    /// The name a download is saved under: `rec_….wav`.
    pub fn file_name(&self) -> String {
        format!(
            "{}.{}",
            self.id,
            MediaType::allowed(self.content_type).extension
        )
    }
}

/// What comes with an upload besides its bytes.
#[derive(Debug, Clone, Default)]
pub struct UploadOptions {
    /// The declared `Content-Type`: a hint for the decoder, never stored or served.
    pub content_type: Option<String>,
    /// The speaker of this track (one file per speaker); absent for a mixed recording.
    pub speaker: Option<String>,
    /// The file's name, whose extension hints at the format (the content decides).
    pub filename: Option<String>,
    /// Queue transcription (default: `transcription.auto`).
    pub transcribe: Option<bool>,
}

impl Core {
    /// [`Recordings::put`]'s work for a meeting already found (an upload, or a widget's
    /// submission): the stream sealed under the meeting's key, checked by decoding it once,
    /// its row and `recording.stored` event, its transcription queued as `opts` says.
    pub(crate) async fn store_recording<S>(
        &self,
        row: &MeetingRow,
        opts: &UploadOptions,
        body: S,
    ) -> Result<RecordingView, CoreError>
    where
        S: Stream<Item = Result<Bytes, std::io::Error>> + Send,
    {
        let declared = opts
            .content_type
            .clone()
            .unwrap_or_else(|| OCTET_STREAM.mime.into());
        if declared.len() > 200 || declared.chars().any(|c| c.is_control()) {
            return Err(CoreError::invalid("content-type", "is not a media type"));
        }
        let speaker = match opts.speaker.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(s) => {
                check_text("speaker", s, 200)?;
                Some(s.to_owned())
            }
        };
        let org = row.org_id;
        let id = Uuid::new_v4();
        let (kref, key) = self.meeting_write_key(org, row.id, row.owner_id).await?;
        let binding = bind(org, "recordings", id, "blob");
        let (encryptor, header) = StreamEncryptor::new(&key, kref, &binding);
        let blob_key = BlobKey::parse(&format!("orgs/{org}/meetings/{}/recordings/{id}", row.id))?;
        let (intake, body) = crate::intake::Intake::watch(
            body,
            self.config().recordings.max_bytes,
            self.body_idle_timeout(),
        );
        let stored = match self
            .blobs()
            .put_stream(&blob_key, encrypt_stream(encryptor, header, body))
            .await
        {
            Ok(stored) => stored,
            Err(e) => {
                self.delete_blob(&blob_key).await;
                return Err(intake.blame(e));
            }
        };
        let plain = intake.size();
        // Decode it once, from the encrypted blob, to refuse what cannot be transcribed.
        let info = match self
            .probe_recording(
                &blob_key,
                &binding,
                &key,
                stored,
                opts.filename.as_deref(),
                &declared,
            )
            .await
        {
            Ok(info) => info,
            Err(e) => {
                self.delete_blob(&blob_key).await;
                return Err(e);
            }
        };
        let recording = RecordingRow {
            id,
            org_id: org,
            meeting_id: row.id,
            blob_key: blob_key.as_str().to_owned(),
            size: i64::try_from(plain).unwrap_or(i64::MAX),
            stored_size: i64::try_from(stored).unwrap_or(i64::MAX),
            content_type: info.media_type().mime.to_owned(),
            created_at: Utc::now(),
            speaker: speaker.as_ref().map(|s| {
                envelope::encrypt(
                    &key,
                    kref,
                    &bind(org, "recordings", id, "speaker"),
                    s.as_bytes(),
                )
            }),
            duration_ms: Some((info.duration_secs * 1000.0).round() as i64),
            codec: Some(format!("{}/{}", info.container, info.codec)),
            transcribed_at: None,
            delivered_at: None,
            delivered_to: None,
            delivered_key: None,
            local_deleted_at: None,
        };
        let stored_event = crate::events::outbox_event(
            org,
            &crate::events::DomainEvent::RecordingStored(crate::events::RecordingStored {
                meeting_id: row.id.into(),
                recording_id: id.into(),
                duration_ms: recording.duration_ms,
            }),
            None,
        )?;
        if let Err(e) = self
            .db()
            .insert_recording(&recording, &[stored_event])
            .await
        {
            self.delete_blob(&blob_key).await;
            return Err(e.into());
        }
        self.events().wake(row.id);
        let mut view = RecordingView {
            speaker,
            ..recording_view(row, recording, None)?
        };
        if opts.transcribe.unwrap_or(self.config().transcription.auto) {
            view.job_id = Some(self.enqueue_transcription(org, row.id, id).await?);
        }
        Ok(view)
    }

    /// Decodes a stored recording without keeping the audio: format, duration, and whether it
    /// is whole.
    async fn probe_recording(
        &self,
        blob_key: &BlobKey,
        binding: &meetvault_crypto::envelope::Binding<'_>,
        key: &meetvault_crypto::keys::SymmetricKey,
        stored: u64,
        filename: Option<&str>,
        content_type: &str,
    ) -> Result<meetvault_audio::AudioInfo, CoreError> {
        let header = self
            .blobs()
            .get_range(blob_key, 0..stream::HEADER_LEN as u64)
            .await?;
        let decryptor =
            StreamDecryptor::new(key, binding, &header).map_err(integrity("recording"))?;
        let reader = BlobReader::new(self.blobs().clone(), blob_key.clone(), decryptor, stored)?;
        let hint = hint(filename, content_type);
        let limits = crate::media::audio_limits(self.config());
        tokio::task::spawn_blocking(move || {
            meetvault_audio::decode(reader, &hint, &limits, &mut |_| {})
        })
        .await
        .map_err(CoreError::internal)?
        .map_err(audio_error)
    }

    /// A stored recording's blob key and a decryptor under the key its header names (a
    /// destroyed or foreign key is an integrity error).
    pub(crate) async fn open_blob(
        &self,
        row: &MeetingRow,
        rec: &RecordingRow,
        keys: &crate::vault::MeetingKeys,
    ) -> Result<(BlobKey, StreamDecryptor), CoreError> {
        if rec.local_deleted_at.is_some() {
            return Err(CoreError::Gone(format!(
                "this recording was delivered to your bucket ({}) and meetvault's copy was then deleted; fetch it from there",
                rec.delivered_key.as_deref().unwrap_or("its destination")
            )));
        }
        let blob_key = BlobKey::parse(&rec.blob_key)?;
        let header = self
            .blobs()
            .get_range(&blob_key, 0..stream::HEADER_LEN as u64)
            .await?;
        let kref = stream::header_key_ref(&header).map_err(integrity("recording"))?;
        let decryptor = StreamDecryptor::new(
            keys.find(kref)?,
            &bind(row.org_id, "recordings", rec.id, "blob"),
            &header,
        )
        .map_err(integrity("recording"))?;
        Ok((blob_key, decryptor))
    }

    /// Opens a stored recording for decoding (synchronous reads, for a blocking thread).
    pub(crate) async fn recording_reader(
        &self,
        row: &MeetingRow,
        rec: &RecordingRow,
    ) -> Result<BlobReader, CoreError> {
        let keys = self
            .meeting_read_keys(row.org_id, row.id, row.owner_id)
            .await?;
        let (blob_key, decryptor) = self.open_blob(row, rec, &keys).await?;
        BlobReader::new(
            self.blobs().clone(),
            blob_key,
            decryptor,
            u64::try_from(rec.stored_size).unwrap_or(0),
        )
    }
}

fn recording_view(
    row: &MeetingRow,
    r: RecordingRow,
    keys: Option<&crate::vault::MeetingKeys>,
) -> Result<RecordingView, CoreError> {
    let speaker = match (&r.speaker, keys) {
        (Some(ct), Some(keys)) => Some(keys.text(row.org_id, "recordings", r.id, "speaker", ct)?),
        _ => None,
    };
    Ok(RecordingView {
        id: r.id.into(),
        size: r.size,
        content_type: MediaType::allowed(&r.content_type).mime,
        speaker,
        duration_ms: r.duration_ms,
        codec: r.codec,
        created_at: r.created_at,
        job_id: None,
        delivered: match (r.delivered_to, r.delivered_key, r.delivered_at) {
            (Some(to), Some(key), Some(at)) => Some(Delivered {
                destination_id: to.into(),
                key,
                at: DateTime::from_timestamp_millis(at).unwrap_or_default(),
            }),
            _ => None,
        },
        local_copy_deleted_at: r.local_deleted_at.and_then(DateTime::from_timestamp_millis),
    })
}

/// Recordings (`core.recordings()`): a meeting's recorded tracks, streamed in encrypted and
/// checked by decoding, listed, and read back (whole or by byte range).
#[derive(Debug, Clone, Copy)]
pub struct Recordings<'a> {
    pub(crate) core: &'a Core,
}

impl Recordings<'_> {
    /// Stores a recording from a stream, encrypting segment by segment (bounded memory: the
    /// plaintext never reaches the blob store or the disk), then decodes it once to check it.
    /// A refused or failed upload leaves no row and no blob.
    pub async fn put<S>(
        self,
        scope: &Scope<MeetingsWrite>,
        meeting: MeetingId,
        opts: &UploadOptions,
        body: S,
    ) -> Result<RecordingView, CoreError>
    where
        S: Stream<Item = Result<Bytes, std::io::Error>> + Send,
    {
        let row = self.core.meeting_row(scope, meeting).await?;
        let view = self.core.store_recording(&row, opts, body).await?;
        self.core
            .audit(Event::by(scope, AuditAction::RecordingUpload).resource(view.id))
            .await?;
        Ok(view)
    }

    pub async fn list(
        self,
        scope: &Scope<MeetingsRead>,
        meeting: MeetingId,
    ) -> Result<Vec<RecordingView>, CoreError> {
        let row = self.core.meeting_row(scope, meeting).await?;
        let keys = self.core.meeting_keys_for(scope, &row).await?;
        self.core
            .db()
            .recordings(row.org_id, row.id)
            .await?
            .into_iter()
            .map(|r| recording_view(&row, r, Some(&keys)))
            .collect()
    }

    /// One recording of a meeting (its size, for a `Range` request).
    pub async fn get(
        self,
        scope: &Scope<MeetingsRead>,
        meeting: MeetingId,
        recording: RecordingId,
    ) -> Result<RecordingView, CoreError> {
        let row = self.core.meeting_row(scope, meeting).await?;
        let rec = self
            .core
            .db()
            .recording(row.org_id, row.id, recording.uuid())
            .await?
            .ok_or(CoreError::NotFound("recording"))?;
        let keys = self.core.meeting_keys_for(scope, &row).await?;
        recording_view(&row, rec, Some(&keys))
    }

    /// Reads a recording, whole or the plaintext byte `range`: only the segments covering the
    /// range are fetched and decrypted. A tampered, truncated or shredded blob ends the stream
    /// with an error; no unauthenticated byte is ever yielded.
    pub async fn read(
        self,
        scope: &Scope<MeetingsRead>,
        meeting: MeetingId,
        recording: RecordingId,
        range: Option<Range<u64>>,
    ) -> Result<(RecordingView, Range<u64>, BlobStream), CoreError> {
        let row = self.core.meeting_row(scope, meeting).await?;
        let rec = self
            .core
            .db()
            .recording(row.org_id, row.id, recording.uuid())
            .await?
            .ok_or(CoreError::NotFound("recording"))?;
        let keys = self.core.meeting_keys_for(scope, &row).await?;
        let (blob_key, decryptor) = self.core.open_blob(&row, &rec, &keys).await?;
        let stored = u64::try_from(rec.stored_size).unwrap_or(0);
        let span =
            stream::span(range.unwrap_or(0..u64::MAX), stored).map_err(integrity("recording"))?;
        let source = match self
            .core
            .blobs()
            .get_range_stream(&blob_key, span.ciphertext.clone())
            .await
        {
            Ok(source) => source,
            Err(e) => {
                // An object shorter or longer than recorded has been cut or altered.
                let actual = self.core.blobs().head(&blob_key).await.map(|m| m.size);
                if let Ok(size) = actual
                    && size != stored
                {
                    return Err(CoreError::Integrity(format!(
                        "recording is {size} bytes in the blob store, {stored} when written (truncated or altered)"
                    )));
                }
                return Err(e.into());
            }
        };
        let plain_start = span.first_segment * stream::SEGMENT_LEN as u64 + span.skip as u64;
        let rec_id = rec.id;
        let view = recording_view(&row, rec, Some(&keys))?;
        self.core
            .audit(Event::by(scope, AuditAction::RecordingRead).resource(rec_id))
            .await?;
        Ok((
            view,
            plain_start..plain_start + span.len,
            decrypt_stream(decryptor, span, source),
        ))
    }
}

/// The decoder's format hint: the file name's extension and the declared media type.
pub(crate) fn hint(filename: Option<&str>, content_type: &str) -> meetvault_audio::Hint {
    let extension = filename
        .and_then(|f| f.rsplit_once('.'))
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .filter(|e| e.len() <= 8 && e.bytes().all(|b| b.is_ascii_alphanumeric()));
    let mime = Some(content_type.to_owned()).filter(|m| m != OCTET_STREAM.mime);
    meetvault_audio::Hint { extension, mime }
}
