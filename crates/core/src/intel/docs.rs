//! Documents attached to a meeting: pre-reads (PDF, Markdown, HTML, text) whose text is
//! extracted, chunked and indexed (BM25 postings and, with the embedding model, vectors) for
//! questions and search. The file itself is never stored: the chunks and their index segment
//! are sealed together under the meeting's key (`meeting_documents.content`), the name too.
//!
//! A document is ephemeral unless attached with `keep`: the meeting's end (its bot done)
//! deletes it, and the sweeper deletes any left `intelligence.document_hours` after it was
//! attached. A kept one goes with the transcript (retention: transcripts) and with the
//! meeting.

use chrono::{DateTime, Utc};
use meetvault_intel::docs::{self, DocError, Format, Limits};
use meetvault_intel::pii::Mapping;
use meetvault_intel::search::Segment;
use meetvault_jobs::now_ms;
use meetvault_store::documents::{DocumentRow, PutDocument};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Intelligence, ms_time};
use crate::access::proof::{MeetingsRead, MeetingsWrite};
use crate::access::{Actor, Scope};
use crate::audit::{AuditAction, Event, Outcome};
use crate::ids::{DocumentId, MeetingId, OrgId};
use crate::vault::{MeetingKeys, bind, check_text};
use crate::{Core, CoreError};
use meetvault_config::PiiRedaction;

/// Words per chunk (all-MiniLM-L6-v2 reads 256 word pieces; about 1.3 per English word).
const CHUNK_WORDS: usize = 150;
/// Words consecutive chunks share, so a sentence cut at a boundary is whole in one of them.
const OVERLAP_WORDS: usize = 25;
/// Chunks embedded at a time.
const EMBED_BATCH: usize = 32;
/// Expired documents deleted per sweep statement.
const PURGE_BATCH: i64 = 500;

/// One chunk of a document's text as sealed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct DocChunk {
    /// Where it starts in the extracted text (characters).
    pub start: usize,
    pub text: String,
}

/// A document to attach (its bytes come as the request body).
#[derive(Debug, Clone)]
pub struct DocumentUpload {
    /// Shown in listings and citations.
    pub name: String,
    /// The `Content-Type` it came with (decides the format).
    pub media_type: Option<String>,
    /// Keep it with the transcript instead of deleting it when the meeting ends.
    pub keep: bool,
}

/// A document as a caller sees it.
#[derive(Debug, Clone)]
pub struct DocumentView {
    pub id: DocumentId,
    pub meeting_id: MeetingId,
    pub name: String,
    pub media_type: String,
    pub size_bytes: u64,
    /// Characters of extracted text, and the chunks they were cut into.
    pub chars: u64,
    pub chunks: u64,
    /// When it is deleted at the latest; `None`: kept with the transcript.
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

fn bad(code: &'static str, message: impl Into<String>) -> CoreError {
    CoreError::BadMedia {
        code,
        message: message.into(),
    }
}

fn doc_error(e: DocError) -> CoreError {
    match e {
        DocError::Unreadable(_) => bad("document_unreadable", e.to_string()),
        DocError::Encrypted => bad("document_encrypted", e.to_string()),
        DocError::TooLarge(_) => bad("document_too_large", e.to_string()),
        DocError::NoText => bad("document_no_text", e.to_string()),
    }
}

/// Seals a document's chunks and index segment under the meeting key.
fn seal_content(
    keys: &MeetingKeys,
    org: Uuid,
    id: Uuid,
    chunks: &[DocChunk],
    segment: &Segment,
) -> Result<Vec<u8>, CoreError> {
    super::search::seal_passages(
        keys,
        org,
        ("meeting_documents", id, "content"),
        chunks,
        segment,
    )
}

/// Opens a document's chunks and index segment.
pub(crate) fn open_content(
    keys: &MeetingKeys,
    org: Uuid,
    id: Uuid,
    ct: &[u8],
) -> Result<(Vec<DocChunk>, Segment), CoreError> {
    super::search::open_passages(keys, org, ("meeting_documents", id, "content"), ct)
}

impl Core {
    fn document_view(
        &self,
        keys: &MeetingKeys,
        row: &DocumentRow,
    ) -> Result<DocumentView, CoreError> {
        Ok(DocumentView {
            id: DocumentId::from(row.id),
            meeting_id: MeetingId::from(row.meeting_id),
            name: keys.text(row.org_id, "meeting_documents", row.id, "name", &row.name)?,
            media_type: row.media_type.clone(),
            size_bytes: u64::try_from(row.size_bytes).unwrap_or(0),
            chars: u64::try_from(row.chars).unwrap_or(0),
            chunks: u64::try_from(row.chunks).unwrap_or(0),
            expires_at: ms_time(row.expires_at),
            created_at: ms_time(Some(row.created_at)).unwrap_or_else(Utc::now),
        })
    }

    /// The meeting ended (its bot is done): its ephemeral documents go. Idempotent; audited
    /// as the system's when any went.
    pub(crate) async fn end_meeting_documents(
        &self,
        org: Uuid,
        meeting: Uuid,
    ) -> Result<u64, CoreError> {
        let n = self
            .db()
            .delete_meeting_documents(org, meeting, true)
            .await?;
        if n > 0 {
            let mut e = Event::new(AuditAction::DocumentDelete, Actor::System, Outcome::Success)
                .resource(MeetingId::from(meeting));
            e.org_id = Some(OrgId::from(org));
            e.reason = Some("meeting_ended");
            self.audit(e).await?;
        }
        Ok(n)
    }

    /// The sweeper's part: deletes the ephemeral documents whose time ran out, each audited.
    pub(crate) async fn purge_expired_documents(&self) -> Result<usize, CoreError> {
        let mut done = 0;
        loop {
            let gone = self
                .db()
                .purge_expired_documents(now_ms(), PURGE_BATCH)
                .await?;
            for (org, _meeting, id) in &gone {
                let mut e =
                    Event::new(AuditAction::DocumentDelete, Actor::System, Outcome::Success)
                        .resource(DocumentId::from(*id));
                e.org_id = Some(OrgId::from(*org));
                e.reason = Some("expired");
                self.audit(e).await?;
            }
            done += gone.len();
            if gone.len() < usize::try_from(PURGE_BATCH).unwrap_or(usize::MAX) {
                return Ok(done);
            }
        }
    }

    /// The `test-access` door to [`Self::purge_expired_documents`].
    #[cfg(feature = "test-access")]
    pub async fn purge_expired_documents_for_tests(&self) -> Result<usize, CoreError> {
        self.purge_expired_documents().await
    }
}

impl Intelligence<'_> {
    /// Attaches a document: its text is extracted, chunked, embedded and sealed; the file is
    /// not kept. Bad files are refused (`415` an unsupported type, `422` unreadable,
    /// encrypted, textless or over the text limit) and leave nothing behind.
    pub async fn attach_document<S>(
        self,
        scope: &Scope<MeetingsWrite>,
        meeting: MeetingId,
        upload: DocumentUpload,
        body: S,
    ) -> Result<DocumentView, CoreError>
    where
        S: futures::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send,
    {
        let core = self.core;
        core.check_intelligence()?;
        let c = &core.config().intelligence;
        // Whose meeting first: a caller who may not reach it learns nothing else.
        let row = core.meeting_row(scope, meeting).await?;
        let keys = core.meeting_keys_for(scope, &row).await?;
        let name = upload.name.trim().to_owned();
        if name.is_empty() {
            return Err(CoreError::invalid("name", "must not be empty"));
        }
        check_text("name", &name, 200)?;
        let media = upload.media_type.as_deref().unwrap_or("");
        let format = Format::from_media_type(media).ok_or_else(|| {
            bad(
                "document_unsupported",
                format!(
                    "a document must be sent as application/pdf, text/markdown, text/html or \
                     text/plain (Content-Type was {:?})",
                    media.chars().take(80).collect::<String>()
                ),
            )
        })?;
        let bytes = crate::intake::read_all(
            body,
            c.document_max_bytes,
            std::time::Duration::from_secs(core.config().server.body_idle_timeout_secs.max(1)),
        )
        .await?;
        let redact = core.pii_mode(&core.meeting_intel_settings(&row).await?) == PiiRedaction::All;
        let size = bytes.len();
        let chunks = tokio::task::spawn_blocking(move || -> Result<_, DocError> {
            let text = docs::extract(format, &bytes, &Limits::default())?;
            Ok((
                text.chars().count(),
                docs::chunk(&text, CHUNK_WORDS, OVERLAP_WORDS),
            ))
        })
        .await
        .map_err(CoreError::internal)?;
        let (chars, chunks) = chunks.map_err(doc_error)?;
        if chunks.is_empty() {
            return Err(doc_error(DocError::NoText));
        }
        let chunks: Vec<DocChunk> = chunks
            .into_iter()
            .map(|c| DocChunk {
                start: c.start,
                text: c.text,
            })
            .collect();
        // Keywords index the text as written; the embedding model reads it redacted when
        // `pii_redaction = all`, as it reads transcripts.
        let embedder = core.inner.intel.embedder().await;
        let detector = core.inner.intel.detector();
        let texts: Vec<String> = chunks.iter().map(|c| c.text.clone()).collect();
        let segment = core
            .inner
            .intel
            .run_interactive(move || -> Result<Segment, meetvault_intel::IntelError> {
                let plain: Vec<&str> = texts.iter().map(String::as_str).collect();
                let vectors = match &embedder {
                    Some(e) => {
                        let mut mapping = Mapping::new();
                        let read: Vec<String> = texts
                            .iter()
                            .map(|t| {
                                if redact {
                                    mapping.redact(&detector, t)
                                } else {
                                    t.clone()
                                }
                            })
                            .collect();
                        let mut v = Vec::with_capacity(read.len());
                        for batch in read.chunks(EMBED_BATCH) {
                            let refs: Vec<&str> = batch.iter().map(String::as_str).collect();
                            v.extend(e.embed(&refs)?);
                        }
                        Some(v)
                    }
                    None => None,
                };
                Ok(Segment::build(&plain, vectors.as_deref()))
            })
            .await?
            .map_err(CoreError::internal)?;
        let id = Uuid::new_v4();
        let content = seal_content(&keys, row.org_id, id, &chunks, &segment)?;
        let (kref, key) = keys.newest().ok_or(CoreError::NotFound("meeting"))?;
        let sealed_name = meetvault_crypto::envelope::encrypt(
            key,
            kref,
            &bind(row.org_id, "meeting_documents", id, "name"),
            name.as_bytes(),
        );
        let now = now_ms();
        let hours = i64::from(c.document_hours);
        let doc = DocumentRow {
            id,
            org_id: row.org_id,
            meeting_id: row.id,
            name: sealed_name,
            media_type: format.media_type().to_owned(),
            size_bytes: i64::try_from(size).unwrap_or(i64::MAX),
            chars: i64::try_from(chars).unwrap_or(i64::MAX),
            chunks: i64::try_from(chunks.len()).unwrap_or(i64::MAX),
            expires_at: (!upload.keep).then(|| now + hours * 3_600_000),
            created_by: scope.user_id().uuid(),
            created_at: now,
        };
        match core
            .db()
            .put_meeting_document(&doc, &content, i64::from(c.documents_per_meeting))
            .await?
        {
            PutDocument::Stored => {}
            PutDocument::NoMeeting => return Err(CoreError::NotFound("meeting")),
            PutDocument::Full => {
                return Err(CoreError::Conflict(format!(
                    "the meeting holds {} documents, the most allowed \
                     (intelligence.documents_per_meeting): delete one first",
                    c.documents_per_meeting
                )));
            }
        }
        core.audit(Event::by(scope, AuditAction::DocumentAttach).resource(DocumentId::from(id)))
            .await?;
        core.document_view(&keys, &doc)
    }

    /// The meeting's documents, oldest first.
    pub async fn documents(
        self,
        scope: &Scope<MeetingsRead>,
        meeting: MeetingId,
    ) -> Result<Vec<DocumentView>, CoreError> {
        let core = self.core;
        let row = core.meeting_row(scope, meeting).await?;
        let keys = core.meeting_keys_for(scope, &row).await?;
        core.db()
            .meeting_documents(row.org_id, row.id)
            .await?
            .iter()
            .map(|d| core.document_view(&keys, d))
            .collect()
    }

    /// Deletes a document (its chunks and vectors with it); `NotFound` when it is not there.
    pub async fn delete_document(
        self,
        scope: &Scope<MeetingsWrite>,
        meeting: MeetingId,
        document: DocumentId,
    ) -> Result<(), CoreError> {
        let core = self.core;
        let row = core.meeting_row(scope, meeting).await?;
        core.check_content_reader(scope, &row).await?;
        if !core
            .db()
            .delete_meeting_document(row.org_id, row.id, document.uuid())
            .await?
        {
            return Err(CoreError::NotFound("document"));
        }
        core.audit(Event::by(scope, AuditAction::DocumentDelete).resource(document))
            .await?;
        Ok(())
    }
}
