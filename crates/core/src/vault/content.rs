//! Encrypted content: meetings (title, participants), transcript segments, recordings (blob
//! streams) and user secrets (integration tokens, webhook secrets). Every value is encrypted
//! individually under its meeting's or user's key, bound to (org, table, row, field).

use std::ops::Range;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt};
use meetvault_crypto::envelope::{self, KeyRef};
use meetvault_crypto::keys::SymmetricKey;
use meetvault_crypto::stream::{self, StreamDecryptor, StreamEncryptor};
use meetvault_store::vault::{MeetingRow, ParticipantRow, RecordingRow, SegmentRow, UserSecretRow};
use meetvault_store::{BlobKey, BlobStream, StoreError};
use uuid::Uuid;

use super::{bind, integrity, key_ref};
use crate::access::Scope;
use crate::audit::Event;
use crate::ids::{MeetingId, RecordingId, UserId, WorkspaceId};
use crate::{Core, CoreError};

/// The opened key versions of one meeting.
#[derive(Debug)]
pub struct MeetingKeys {
    meeting: Uuid,
    keys: Vec<(KeyRef, SymmetricKey)>,
}

impl MeetingKeys {
    pub(crate) fn new(meeting: Uuid, keys: Vec<(KeyRef, SymmetricKey)>) -> Self {
        Self { meeting, keys }
    }
    pub(crate) fn empty(meeting: Uuid) -> Self {
        Self {
            meeting,
            keys: Vec::new(),
        }
    }

    /// The key a ciphertext names; a destroyed (shredded) key is an integrity error.
    fn for_ciphertext(&self, ciphertext: &[u8]) -> Result<&SymmetricKey, CoreError> {
        let wanted = envelope::key_ref(ciphertext).map_err(integrity("field"))?;
        self.find(wanted)
    }

    fn find(&self, wanted: KeyRef) -> Result<&SymmetricKey, CoreError> {
        if wanted.id != self.meeting.into_bytes() {
            return Err(CoreError::Integrity(
                "a field names another meeting's key".into(),
            ));
        }
        self.keys
            .iter()
            .find(|(r, _)| *r == wanted)
            .map(|(_, k)| k)
            .ok_or_else(|| {
                CoreError::Integrity(format!(
                    "meeting key version {} no longer exists (shredded)",
                    wanted.version
                ))
            })
    }

    fn text(
        &self,
        org: Uuid,
        table: &'static str,
        row: Uuid,
        field: &'static str,
        ct: &[u8],
    ) -> Result<String, CoreError> {
        envelope::decrypt_string(self.for_ciphertext(ct)?, &bind(org, table, row, field), ct)
            .map_err(integrity(table))
    }
}

#[derive(Debug, Clone, serde::Deserialize)]
pub struct NewParticipant {
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
}

#[derive(Debug, Clone, serde::Deserialize)]
pub struct NewSegment {
    pub start_ms: i64,
    pub end_ms: i64,
    pub speaker: String,
    pub text: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ParticipantView {
    pub name: String,
    pub email: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct MeetingView {
    pub id: MeetingId,
    pub workspace_id: WorkspaceId,
    pub owner_id: UserId,
    pub title: String,
    pub participants: Vec<ParticipantView>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct SegmentView {
    pub start_ms: i64,
    pub end_ms: i64,
    pub speaker: String,
    pub text: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct RecordingView {
    pub id: RecordingId,
    pub size: i64,
    pub content_type: String,
    pub created_at: DateTime<Utc>,
}

impl From<RecordingRow> for RecordingView {
    fn from(r: RecordingRow) -> Self {
        Self {
            id: r.id.into(),
            size: r.size,
            content_type: r.content_type,
            created_at: r.created_at,
        }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct SecretView {
    pub name: String,
    pub updated_at: DateTime<Utc>,
}

fn check_text(field: &'static str, value: &str, max: usize) -> Result<(), CoreError> {
    if value.chars().count() > max {
        return Err(CoreError::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(CoreError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

const MAX_SEGMENTS_PER_CALL: usize = 5000;

impl Core {
    async fn meeting_row(&self, scope: &Scope, meeting: Uuid) -> Result<MeetingRow, CoreError> {
        self.db()
            .meeting(scope.org_id().uuid(), meeting)
            .await?
            .ok_or(CoreError::NotFound("meeting"))
    }

    /// Creates a meeting owned by the caller, in one of the org's workspaces.
    pub async fn create_meeting(
        &self,
        scope: &Scope,
        workspace: Option<Uuid>,
        title: &str,
        participants: &[NewParticipant],
    ) -> Result<MeetingView, CoreError> {
        let org = scope.org_id().uuid();
        let title = title.trim();
        if title.is_empty() {
            return Err(CoreError::invalid("title", "must not be empty"));
        }
        check_text("title", title, 500)?;
        if participants.len() > 1000 {
            return Err(CoreError::invalid(
                "participants",
                "at most 1000 per meeting",
            ));
        }
        for p in participants {
            check_text("participants.name", &p.name, 200)?;
            if let Some(email) = &p.email {
                crate::auth::EmailAddress::parse(email).map_err(|_| {
                    CoreError::invalid("participants.email", "is not an email address")
                })?;
            }
        }
        let workspaces = self.db().workspaces(org).await?;
        let workspace = match workspace {
            Some(id) => workspaces
                .iter()
                .find(|w| w.id == id)
                .ok_or(CoreError::invalid(
                    "workspace_id",
                    "no such workspace in your org",
                ))?,
            None => workspaces.first().ok_or(CoreError::invalid(
                "workspace_id",
                "your org has no workspace",
            ))?,
        };
        let id = Uuid::new_v4();
        let owner = scope.user_id().uuid();
        let (kref, key) = self.meeting_write_key(org, id, owner).await?;
        let row = MeetingRow {
            id,
            org_id: org,
            workspace_id: workspace.id,
            owner_id: owner,
            title: envelope::encrypt(
                &key,
                kref,
                &bind(org, "meetings", id, "title"),
                title.as_bytes(),
            ),
            created_at: Utc::now(),
        };
        let rows: Vec<ParticipantRow> = participants
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let pid = Uuid::new_v4();
                ParticipantRow {
                    id: pid,
                    org_id: org,
                    meeting_id: id,
                    position: i32::try_from(i).unwrap_or(i32::MAX),
                    name: envelope::encrypt(
                        &key,
                        kref,
                        &bind(org, "meeting_participants", pid, "name"),
                        p.name.trim().as_bytes(),
                    ),
                    email: p.email.as_ref().map(|e| {
                        envelope::encrypt(
                            &key,
                            kref,
                            &bind(org, "meeting_participants", pid, "email"),
                            e.trim().as_bytes(),
                        )
                    }),
                }
            })
            .collect();
        if let Err(e) = self.db().insert_meeting(&row, &rows).await {
            self.shred_meeting_keys(org, id).await?;
            return Err(e.into());
        }
        self.audit(Event::by(scope, "meeting.create").resource(id))
            .await?;
        Ok(MeetingView {
            id: id.into(),
            workspace_id: workspace.id.into(),
            owner_id: owner.into(),
            title: title.to_owned(),
            participants: participants
                .iter()
                .map(|p| ParticipantView {
                    name: p.name.trim().to_owned(),
                    email: p.email.as_ref().map(|e| e.trim().to_owned()),
                })
                .collect(),
            created_at: row.created_at,
        })
    }

    pub async fn meeting(&self, scope: &Scope, meeting: Uuid) -> Result<MeetingView, CoreError> {
        let row = self.meeting_row(scope, meeting).await?;
        let keys = self
            .meeting_read_keys(row.org_id, row.id, row.owner_id)
            .await?;
        let title = keys.text(row.org_id, "meetings", row.id, "title", &row.title)?;
        let mut participants = Vec::new();
        for p in self.db().participants(row.org_id, row.id).await? {
            participants.push(ParticipantView {
                name: keys.text(row.org_id, "meeting_participants", p.id, "name", &p.name)?,
                email: p
                    .email
                    .as_deref()
                    .map(|e| keys.text(row.org_id, "meeting_participants", p.id, "email", e))
                    .transpose()?,
            });
        }
        Ok(MeetingView {
            id: row.id.into(),
            workspace_id: row.workspace_id.into(),
            owner_id: row.owner_id.into(),
            title,
            participants,
            created_at: row.created_at,
        })
    }

    /// Appends transcript segments (from the engine, or imported), encrypted one field at a time.
    pub async fn add_segments(
        &self,
        scope: &Scope,
        meeting: Uuid,
        segments: &[NewSegment],
    ) -> Result<usize, CoreError> {
        let row = self.meeting_row(scope, meeting).await?;
        self.write_segments(&row, segments).await
    }

    /// Writes segments for a meeting (also for jobs running without a caller).
    pub async fn write_segments(
        &self,
        row: &MeetingRow,
        segments: &[NewSegment],
    ) -> Result<usize, CoreError> {
        if segments.len() > MAX_SEGMENTS_PER_CALL {
            return Err(CoreError::invalid(
                "segments",
                format!("at most {MAX_SEGMENTS_PER_CALL} per request"),
            ));
        }
        for s in segments {
            if s.start_ms < 0 || s.end_ms < s.start_ms {
                return Err(CoreError::invalid(
                    "segments",
                    "each needs 0 <= start_ms <= end_ms",
                ));
            }
            check_text("segments.speaker", &s.speaker, 200)?;
            check_text("segments.text", &s.text, 20_000)?;
        }
        let org = row.org_id;
        let (kref, key) = self.meeting_write_key(org, row.id, row.owner_id).await?;
        let first = self.db().next_segment_position(org, row.id).await?;
        let rows: Vec<SegmentRow> = segments
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let id = Uuid::new_v4();
                SegmentRow {
                    id,
                    org_id: org,
                    meeting_id: row.id,
                    position: first.saturating_add(i32::try_from(i).unwrap_or(i32::MAX)),
                    start_ms: s.start_ms,
                    end_ms: s.end_ms,
                    speaker: envelope::encrypt(
                        &key,
                        kref,
                        &bind(org, "transcript_segments", id, "speaker"),
                        s.speaker.as_bytes(),
                    ),
                    text: envelope::encrypt(
                        &key,
                        kref,
                        &bind(org, "transcript_segments", id, "text"),
                        s.text.as_bytes(),
                    ),
                }
            })
            .collect();
        self.db().insert_segments(&rows).await?;
        Ok(rows.len())
    }

    pub async fn transcript(
        &self,
        scope: &Scope,
        meeting: Uuid,
    ) -> Result<Vec<SegmentView>, CoreError> {
        let row = self.meeting_row(scope, meeting).await?;
        let keys = self
            .meeting_read_keys(row.org_id, row.id, row.owner_id)
            .await?;
        self.db()
            .segments(row.org_id, row.id)
            .await?
            .iter()
            .map(|s| {
                Ok(SegmentView {
                    start_ms: s.start_ms,
                    end_ms: s.end_ms,
                    speaker: keys.text(
                        row.org_id,
                        "transcript_segments",
                        s.id,
                        "speaker",
                        &s.speaker,
                    )?,
                    text: keys.text(row.org_id, "transcript_segments", s.id, "text", &s.text)?,
                })
            })
            .collect()
    }

    /// Stores a recording from a stream, encrypting segment by segment (bounded memory): the
    /// plaintext never reaches the blob store. A failed upload leaves no row and no blob.
    pub async fn put_recording<S>(
        &self,
        scope: &Scope,
        meeting: Uuid,
        content_type: &str,
        body: S,
    ) -> Result<RecordingView, CoreError>
    where
        S: Stream<Item = Result<Bytes, std::io::Error>> + Send,
    {
        let row = self.meeting_row(scope, meeting).await?;
        if content_type.len() > 200 || content_type.chars().any(|c| c.is_control()) {
            return Err(CoreError::invalid("content-type", "is not a media type"));
        }
        let org = row.org_id;
        let id = Uuid::new_v4();
        let (kref, key) = self.meeting_write_key(org, row.id, row.owner_id).await?;
        let (encryptor, header) =
            StreamEncryptor::new(&key, kref, &bind(org, "recordings", id, "blob"));
        let blob_key = BlobKey::parse(&format!("orgs/{org}/meetings/{}/recordings/{id}", row.id))?;
        let size = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counted = size.clone();
        let encrypted = encrypt_stream(
            encryptor,
            header,
            body.inspect(move |c| {
                if let Ok(bytes) = c {
                    counted.fetch_add(bytes.len() as u64, std::sync::atomic::Ordering::Relaxed);
                }
            }),
        );
        let stored = self.blobs().put_stream(&blob_key, encrypted).await?;
        let recording = RecordingRow {
            id,
            org_id: org,
            meeting_id: row.id,
            blob_key: blob_key.as_str().to_owned(),
            size: i64::try_from(size.load(std::sync::atomic::Ordering::Relaxed))
                .unwrap_or(i64::MAX),
            stored_size: i64::try_from(stored).unwrap_or(i64::MAX),
            content_type: content_type.to_owned(),
            created_at: Utc::now(),
        };
        if let Err(e) = self.db().insert_recording(&recording).await {
            let _ = self.blobs().delete(&blob_key).await;
            return Err(e.into());
        }
        self.audit(Event::by(scope, "recording.upload").resource(id))
            .await?;
        Ok(recording.into())
    }

    pub async fn recordings(
        &self,
        scope: &Scope,
        meeting: Uuid,
    ) -> Result<Vec<RecordingView>, CoreError> {
        let row = self.meeting_row(scope, meeting).await?;
        Ok(self
            .db()
            .recordings(row.org_id, row.id)
            .await?
            .into_iter()
            .map(RecordingView::from)
            .collect())
    }

    /// One recording of a meeting (its size, for a `Range` request).
    pub async fn recording(
        &self,
        scope: &Scope,
        meeting: Uuid,
        recording: Uuid,
    ) -> Result<RecordingView, CoreError> {
        let row = self.meeting_row(scope, meeting).await?;
        self.db()
            .recording(row.org_id, row.id, recording)
            .await?
            .map(RecordingView::from)
            .ok_or(CoreError::NotFound("recording"))
    }

    /// Reads a recording, whole or the plaintext byte `range`: only the segments covering the
    /// range are fetched and decrypted. A tampered, truncated or shredded blob ends the stream
    /// with an error; no unauthenticated byte is ever yielded.
    pub async fn read_recording(
        &self,
        scope: &Scope,
        meeting: Uuid,
        recording: Uuid,
        range: Option<Range<u64>>,
    ) -> Result<(RecordingView, Range<u64>, BlobStream), CoreError> {
        let row = self.meeting_row(scope, meeting).await?;
        let rec = self
            .db()
            .recording(row.org_id, row.id, recording)
            .await?
            .ok_or(CoreError::NotFound("recording"))?;
        let keys = self
            .meeting_read_keys(row.org_id, row.id, row.owner_id)
            .await?;
        let blob_key = BlobKey::parse(&rec.blob_key)?;
        let stored = u64::try_from(rec.stored_size).unwrap_or(0);
        let header = self
            .blobs()
            .get_range(&blob_key, 0..stream::HEADER_LEN as u64)
            .await?;
        let kref = stream::header_key_ref(&header).map_err(integrity("recording"))?;
        let key = keys.find(kref)?;
        let decryptor = StreamDecryptor::new(
            key,
            &bind(row.org_id, "recordings", rec.id, "blob"),
            &header,
        )
        .map_err(integrity("recording"))?;
        let span =
            stream::span(range.unwrap_or(0..u64::MAX), stored).map_err(integrity("recording"))?;
        let source = match self
            .blobs()
            .get_range_stream(&blob_key, span.ciphertext.clone())
            .await
        {
            Ok(source) => source,
            Err(e) => {
                // An object shorter or longer than recorded has been cut or altered.
                let actual = self.blobs().head(&blob_key).await.map(|m| m.size);
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
        let view = RecordingView::from(rec);
        self.audit(Event::by(scope, "recording.read").resource(rec_id))
            .await?;
        Ok((
            view,
            plain_start..plain_start + span.len,
            decrypt_stream(decryptor, span, source),
        ))
    }

    /// Deletes a meeting by destroying its keys first (crypto-shredding: every copy of its
    /// ciphertext anywhere becomes unreadable), then its rows and blobs. Idempotent.
    pub async fn delete_meeting(&self, scope: &Scope, meeting: Uuid) -> Result<(), CoreError> {
        let org = scope.org_id().uuid();
        let Some(row) = self.db().meeting(org, meeting).await? else {
            // Already gone; make sure no key survived an interrupted earlier delete.
            self.shred_meeting_keys(org, meeting).await?;
            return Err(CoreError::NotFound("meeting"));
        };
        let recordings = self.db().recordings(org, row.id).await?;
        let destroyed = self.shred_meeting_keys(org, row.id).await?;
        self.db().delete_meeting(org, row.id).await?;
        for r in recordings {
            let key = BlobKey::parse(&r.blob_key)?;
            if let Err(e) = self.blobs().delete(&key).await {
                // The blob is unreadable already (its key is gone); log and go on.
                tracing::warn!(error = %e, "deleting a shredded recording blob");
            }
        }
        let mut event = Event::by(scope, "meeting.delete").resource(row.id);
        event.reason = Some(if destroyed > 0 {
            "keys_destroyed"
        } else {
            "no_keys"
        });
        self.audit(event).await?;
        Ok(())
    }

    /// Stores a named secret of the caller (an integration token, a webhook secret), encrypted
    /// under the caller's user key. It is never returned by the API.
    pub async fn put_secret(
        &self,
        scope: &Scope,
        name: &str,
        value: &str,
    ) -> Result<SecretView, CoreError> {
        if name.is_empty()
            || name.len() > 64
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(CoreError::invalid(
                "name",
                "1 to 64 characters of A-Z, a-z, 0-9, - and _",
            ));
        }
        if value.is_empty() || value.len() > 16 * 1024 {
            return Err(CoreError::invalid("value", "must be 1 to 16384 bytes"));
        }
        let (org, user) = (scope.org_id().uuid(), scope.user_id().uuid());
        let key = self.user_key(org, user).await?;
        let id = Uuid::new_v4();
        let row = UserSecretRow {
            id,
            org_id: org,
            user_id: user,
            name: name.to_owned(),
            value: envelope::encrypt(
                &key,
                key_ref(user, 1),
                &bind(org, "user_secrets", id, "value"),
                value.as_bytes(),
            ),
            updated_at: Utc::now(),
        };
        self.db().put_user_secret(&row).await?;
        let mut event = Event::by(scope, "secret.put");
        event.reason = Some("stored");
        self.audit(event).await?;
        Ok(SecretView {
            name: row.name,
            updated_at: row.updated_at,
        })
    }

    /// Names of the caller's secrets (never values).
    pub async fn secrets(&self, scope: &Scope) -> Result<Vec<SecretView>, CoreError> {
        Ok(self
            .db()
            .user_secrets(scope.org_id().uuid(), scope.user_id().uuid())
            .await?
            .into_iter()
            .map(|r| SecretView {
                name: r.name,
                updated_at: r.updated_at,
            })
            .collect())
    }

    pub async fn delete_secret(&self, scope: &Scope, name: &str) -> Result<(), CoreError> {
        if !self
            .db()
            .delete_user_secret(scope.org_id().uuid(), scope.user_id().uuid(), name)
            .await?
        {
            return Err(CoreError::NotFound("secret"));
        }
        self.audit(Event::by(scope, "secret.delete")).await?;
        Ok(())
    }

    /// A secret's value, for the integration that uses it (server-side only).
    pub async fn secret_value(
        &self,
        org: Uuid,
        user: Uuid,
        name: &str,
    ) -> Result<Option<zeroize::Zeroizing<String>>, CoreError> {
        let Some(row) = self
            .db()
            .user_secrets(org, user)
            .await?
            .into_iter()
            .find(|r| r.name == name)
        else {
            return Ok(None);
        };
        let key = self.user_key(org, user).await?;
        let text = envelope::decrypt_string(
            &key,
            &bind(org, "user_secrets", row.id, "value"),
            &row.value,
        )
        .map_err(integrity("secret"))?;
        Ok(Some(zeroize::Zeroizing::new(text)))
    }
}

/// Wraps a plaintext stream into the encrypted blob stream (header first).
fn encrypt_stream<S>(
    encryptor: StreamEncryptor,
    header: [u8; stream::HEADER_LEN],
    body: S,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send
where
    S: Stream<Item = Result<Bytes, std::io::Error>> + Send,
{
    let body = Box::pin(body);
    futures::stream::unfold(
        (Some(encryptor), body, Some(header)),
        |(enc, mut body, header)| async move {
            if let Some(header) = header {
                return Some((Ok(Bytes::copy_from_slice(&header)), (enc, body, None)));
            }
            let mut enc = enc?;
            loop {
                match body.next().await {
                    Some(Ok(chunk)) => {
                        let mut out = Vec::new();
                        if let Err(e) = enc.update(&chunk, &mut out) {
                            return Some((Err(std::io::Error::other(e)), (None, body, None)));
                        }
                        if !out.is_empty() {
                            return Some((Ok(Bytes::from(out)), (Some(enc), body, None)));
                        }
                    }
                    Some(Err(e)) => return Some((Err(e), (None, body, None))),
                    None => {
                        let mut out = Vec::new();
                        return match enc.finish(&mut out) {
                            Ok(()) => Some((Ok(Bytes::from(out)), (None, body, None))),
                            Err(e) => Some((Err(std::io::Error::other(e)), (None, body, None))),
                        };
                    }
                }
            }
        },
    )
}

/// Decrypts the segments of `span` as they arrive; yields only authenticated plaintext.
fn decrypt_stream(dec: StreamDecryptor, span: stream::Span, source: BlobStream) -> BlobStream {
    let state = Reader {
        dec,
        index: span.first_segment,
        skip: span.skip,
        left: span.len,
        segments: span.segments,
        pending: Vec::new(),
        source,
        done: false,
    };
    futures::stream::unfold(state, |mut st| async move {
        loop {
            if st.done || st.left == 0 {
                return None;
            }
            let is_last = st.index + 1 == st.segments;
            if !is_last && st.pending.len() >= stream::SEGMENT_CT_LEN {
                let segment: Vec<u8> = st.pending.drain(..stream::SEGMENT_CT_LEN).collect();
                let item = st.open(&segment, false);
                return Some((item, st));
            }
            match st.source.next().await {
                Some(Ok(chunk)) => st.pending.extend_from_slice(&chunk),
                Some(Err(e)) => {
                    st.done = true;
                    return Some((Err(e), st));
                }
                None => {
                    st.done = true;
                    let segment = std::mem::take(&mut st.pending);
                    let item = if segment.is_empty() {
                        Err(StoreError::Corrupt("recording is truncated".into()))
                    } else {
                        st.open(&segment, is_last)
                    };
                    return Some((item, st));
                }
            }
        }
    })
    .boxed()
}

struct Reader {
    dec: StreamDecryptor,
    index: u64,
    skip: usize,
    left: u64,
    segments: u64,
    pending: Vec<u8>,
    source: BlobStream,
    done: bool,
}

impl Reader {
    fn open(&mut self, segment: &[u8], last: bool) -> Result<Bytes, StoreError> {
        let plain = self
            .dec
            .open_segment(self.index, segment, last)
            .map_err(|e| {
                self.done = true;
                StoreError::Corrupt(format!("recording failed its integrity check: {e}"))
            })?;
        self.index += 1;
        let from = self.skip.min(plain.len());
        self.skip = 0;
        let take = usize::try_from(self.left)
            .unwrap_or(usize::MAX)
            .min(plain.len() - from);
        self.left -= take as u64;
        Ok(Bytes::copy_from_slice(&plain[from..from + take]))
    }
}
