//! Search and questions across meetings. A meeting's index segment (its transcript's passages,
//! BM25 postings and embedding vectors) is sealed under its key; a query lists the meetings the
//! caller's scope reaches (the meeting list's confinement), skips those it may not open
//! (zero-access meetings of others, locked ones), opens each segment in memory for this
//! request only, and fuses keyword and semantic ranks (`meetvault_intel::search`). Nothing the
//! caller could not open through `GET /meetings/{id}/transcript` can be returned or even
//! counted in the statistics.

use chrono::{DateTime, Utc};
use meetvault_intel::ask;
use meetvault_intel::search::{self, Segment};
use meetvault_store::vault::{MeetingQuery, MeetingRow};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Intelligence;
use crate::access::proof::MeetingsRead;
use crate::access::{Reach, Scope};
use crate::ids::{DocumentId, MeetingId, WorkspaceId};
use crate::vault::{MeetingKeys, bind};
use crate::{Core, CoreError};

/// Semantic matches below this cosine are not search results (all-MiniLM-L6-v2).
const MIN_SIMILARITY: f32 = 0.3;
/// Meetings one query may open at most (newest first).
const MAX_MEETINGS: i64 = 5_000;

/// One passage of a meeting's index: a transcript segment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct IndexedPassage {
    pub speaker: String,
    pub start_ms: u64,
    pub end_ms: u64,
    pub text: String,
}

/// Seals a meeting's index: a little-endian `u32` length, the passages as JSON, then the
/// segment's bytes (`Segment::encode`).
pub(crate) fn seal_index(
    keys: &MeetingKeys,
    org: Uuid,
    meeting: Uuid,
    passages: &[IndexedPassage],
    segment: &Segment,
) -> Result<Vec<u8>, CoreError> {
    seal_passages(
        keys,
        org,
        ("meeting_intel", meeting, "search_index"),
        passages,
        segment,
    )
}

/// Where sealed passages live: table, row id and field (the ciphertext's binding).
pub(crate) type Place = (&'static str, Uuid, &'static str);

/// Seals passages of any kind with their index segment: a little-endian `u32` length, the
/// passages as JSON, then the segment's bytes (`Segment::encode`).
pub(crate) fn seal_passages<T: Serialize>(
    keys: &MeetingKeys,
    org: Uuid,
    (table, id, field): Place,
    passages: &[T],
    segment: &Segment,
) -> Result<Vec<u8>, CoreError> {
    let (kref, key) = keys.newest().ok_or(CoreError::NotFound("meeting"))?;
    let json = zeroize::Zeroizing::new(serde_json::to_vec(passages).map_err(CoreError::internal)?);
    let mut plain = zeroize::Zeroizing::new(Vec::with_capacity(4 + json.len()));
    plain.extend_from_slice(&u32::try_from(json.len()).unwrap_or(u32::MAX).to_le_bytes());
    plain.extend_from_slice(&json);
    plain.extend_from_slice(&segment.encode());
    Ok(meetvault_crypto::envelope::encrypt(
        key,
        kref,
        &bind(org, table, id, field),
        &plain,
    ))
}

/// Opens what [`seal_passages`] sealed.
pub(crate) fn open_passages<T: serde::de::DeserializeOwned>(
    keys: &MeetingKeys,
    org: Uuid,
    (table, id, field): Place,
    ct: &[u8],
) -> Result<(Vec<T>, Segment), CoreError> {
    let plain = keys.bytes(org, table, id, field, ct)?;
    let bad = || CoreError::Integrity(format!("{table}.{field} is not an index"));
    let len = u32::from_le_bytes(
        plain
            .get(..4)
            .ok_or_else(bad)?
            .try_into()
            .map_err(|_| bad())?,
    ) as usize;
    let json = plain.get(4..4 + len).ok_or_else(bad)?;
    let passages: Vec<T> = serde_json::from_slice(json).map_err(|_| bad())?;
    let segment = Segment::decode(&plain[4 + len..]).ok_or_else(bad)?;
    if segment.passages() != passages.len() {
        return Err(bad());
    }
    Ok((passages, segment))
}

/// A search across meetings.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    pub query: String,
    /// One meeting only.
    pub meeting_id: Option<MeetingId>,
    pub workspace_id: Option<WorkspaceId>,
    /// Passages of this speaker only (case-insensitive; documents are left out).
    pub speaker: Option<String>,
    /// Meetings created in `[from, to)`.
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub limit: Option<u32>,
}

/// The document a passage came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentRef {
    pub id: DocumentId,
    pub name: String,
    /// Where the chunk starts in the document's text (characters).
    pub offset: u64,
}

/// Where a passage was found: a transcript segment (speaker and time) or a document chunk.
#[derive(Debug, Clone)]
pub struct PassageSource {
    pub meeting_id: MeetingId,
    pub meeting_title: String,
    pub speaker: Option<String>,
    pub start_ms: Option<u64>,
    pub end_ms: Option<u64>,
    pub document: Option<DocumentRef>,
    pub text: String,
}

/// A passage found.
#[derive(Debug, Clone)]
pub struct SearchHit {
    pub source: PassageSource,
    /// Byte ranges of `text` matching the query's words.
    pub highlights: Vec<(usize, usize)>,
    pub score: f32,
    /// Found by its words, by its meaning, or both.
    pub keyword: bool,
    pub semantic: bool,
}

/// A question about one meeting or many.
#[derive(Debug, Clone, Default)]
pub struct AskQuery {
    pub question: String,
    pub meeting_id: Option<MeetingId>,
    pub workspace_id: Option<WorkspaceId>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// A passage an answer rests on.
pub type Citation = PassageSource;

/// An answer, or "not found in your meetings".
#[derive(Debug, Clone)]
pub struct Answer {
    pub found: bool,
    /// The answer (with the embedded models: the cited passages themselves).
    pub text: Option<String>,
    /// `quoted` or `generated`.
    pub method: Option<&'static str>,
    pub citations: Vec<Citation>,
}

/// One opened index segment's passages: a meeting's transcript or one of its documents.
enum Passages {
    Transcript(Vec<IndexedPassage>),
    Document {
        id: DocumentId,
        name: String,
        chunks: Vec<super::docs::DocChunk>,
    },
}

/// What one query opened: per segment, its meeting's id and title and its passages.
struct Opened {
    sources: Vec<(MeetingId, String, Passages)>,
    segments: Vec<Segment>,
}

impl Opened {
    fn source(&self, segment: usize, passage: usize) -> Option<PassageSource> {
        let (meeting_id, title, passages) = self.sources.get(segment)?;
        let mut s = PassageSource {
            meeting_id: *meeting_id,
            meeting_title: title.clone(),
            speaker: None,
            start_ms: None,
            end_ms: None,
            document: None,
            text: String::new(),
        };
        match passages {
            Passages::Transcript(list) => {
                let p = list.get(passage)?;
                s.speaker = Some(p.speaker.clone());
                s.start_ms = Some(p.start_ms);
                s.end_ms = Some(p.end_ms);
                s.text = p.text.clone();
            }
            Passages::Document { id, name, chunks } => {
                let c = chunks.get(passage)?;
                s.document = Some(DocumentRef {
                    id: *id,
                    name: name.clone(),
                    offset: c.start as u64,
                });
                s.text = c.text.clone();
            }
        }
        Some(s)
    }

    /// The speaker of a transcript passage (`None` for a document's).
    fn speaker(&self, segment: usize, passage: usize) -> Option<&str> {
        match &self.sources.get(segment)?.2 {
            Passages::Transcript(list) => list.get(passage).map(|p| p.speaker.as_str()),
            Passages::Document { .. } => None,
        }
    }
}

impl Core {
    /// Opens the index of every meeting `scope` may read within the filters, and of each of
    /// their documents.
    async fn open_indexes(
        &self,
        scope: &Scope<MeetingsRead>,
        meeting: Option<MeetingId>,
        workspace: Option<WorkspaceId>,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> Result<Opened, CoreError> {
        if let (Some(f), Some(t)) = (from, to)
            && f >= t
        {
            return Err(CoreError::invalid("from", "must be before `to`"));
        }
        let rows: Vec<MeetingRow> = match meeting {
            Some(id) => vec![self.meeting_row(scope, id).await?],
            None => {
                self.db()
                    .indexed_meetings(&MeetingQuery {
                        org_id: scope.org_id().uuid(),
                        workspace_id: workspace.map(WorkspaceId::uuid),
                        within: match scope.reach() {
                            Reach::Org => None,
                            Reach::Workspaces(list) => {
                                Some(list.into_iter().map(WorkspaceId::uuid).collect())
                            }
                        },
                        from,
                        to,
                        before: None,
                        limit: MAX_MEETINGS,
                    })
                    .await?
            }
        };
        let with_documents = self
            .db()
            .meetings_with_documents(scope.org_id().uuid())
            .await?;
        let mut opened = Opened {
            sources: Vec::new(),
            segments: Vec::new(),
        };
        for row in rows {
            // A meeting the caller may not open (another's zero-access meeting, a locked one,
            // one shredded meanwhile) is left out, never an error for the whole search.
            let keys = match self.meeting_keys_for(scope, &row).await {
                Ok(k) => k,
                Err(CoreError::ZeroAccessOwnerOnly | CoreError::Locked) => continue,
                Err(e) => return Err(e),
            };
            let title = keys
                .text(row.org_id, "meetings", row.id, "title", &row.title)
                .unwrap_or_default();
            let id = MeetingId::from(row.id);
            let intel = self.db().meeting_intel(row.org_id, row.id).await?;
            if let Some(ct) = intel.as_ref().and_then(|i| i.search_index.as_ref()) {
                match open_passages::<IndexedPassage>(
                    &keys,
                    row.org_id,
                    ("meeting_intel", row.id, "search_index"),
                    ct,
                ) {
                    Ok((passages, segment)) => {
                        opened
                            .sources
                            .push((id, title.clone(), Passages::Transcript(passages)));
                        opened.segments.push(segment);
                    }
                    Err(CoreError::Integrity(what)) => {
                        tracing::warn!(meeting = %row.id, %what, "a search index was skipped");
                    }
                    Err(e) => return Err(e),
                }
            }
            if !with_documents.contains(&row.id) {
                continue;
            }
            for (doc, ct) in self
                .db()
                .meeting_document_contents(row.org_id, row.id)
                .await?
            {
                let opened_doc = super::docs::open_content(&keys, row.org_id, doc.id, &ct)
                    .and_then(|(chunks, segment)| {
                        let name =
                            keys.text(row.org_id, "meeting_documents", doc.id, "name", &doc.name)?;
                        Ok((name, chunks, segment))
                    });
                match opened_doc {
                    Ok((name, chunks, segment)) => {
                        opened.sources.push((
                            id,
                            title.clone(),
                            Passages::Document {
                                id: DocumentId::from(doc.id),
                                name,
                                chunks,
                            },
                        ));
                        opened.segments.push(segment);
                    }
                    Err(CoreError::Integrity(what)) => {
                        tracing::warn!(document = %doc.id, %what, "a document's index was skipped");
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(opened)
    }

    /// The query's unit vector, when the embedding model is installed.
    async fn query_vector(&self, text: &str) -> Result<Option<Vec<f32>>, CoreError> {
        let Some(embedder) = self.inner.intel.embedder().await else {
            return Ok(None);
        };
        let text = text.to_owned();
        let v = self
            .inner
            .intel
            .run_interactive(move || embedder.embed(&[text.as_str()]))
            .await?
            .map_err(CoreError::internal)?;
        Ok(v.into_iter().next())
    }
}

impl Intelligence<'_> {
    /// A remote provider's answer over the excerpts, redacted first unless redaction is off
    /// and restored after (the caller may read every passage it cites); `None` when it could
    /// not be had (the answer is then quoted).
    async fn remote_answer(
        self,
        org: uuid::Uuid,
        settings: &crate::intel_settings::IntelSettings,
        question: &str,
        passages: &[ask::Passage],
    ) -> Option<String> {
        let redact = self.core.pii_mode(settings) != meetvault_config::PiiRedaction::Off;
        let detector = self.core.inner.intel.detector();
        let mut mapping = meetvault_intel::pii::Mapping::new();
        let mut hide = |t: &str| {
            if redact {
                mapping.redact(&detector, t)
            } else {
                t.to_owned()
            }
        };
        let question_sent = hide(question);
        let sent: Vec<ask::Passage> = passages
            .iter()
            .map(|p| ask::Passage {
                key: p.key.clone(),
                speaker: p.speaker.clone(),
                start_ms: p.start_ms,
                text: hide(&p.text),
            })
            .collect();
        let user = format!(
            "Question: {question_sent}\n\nExcerpts:\n{}",
            ask::excerpts(&sent)
        );
        match self
            .core
            .remote_chat(org, settings, ask::ANSWER_PROMPT, &user, Vec::new(), 300)
            .await
        {
            Ok(answer) => answer.map(|a| mapping.restore(&a)),
            Err(e) => {
                tracing::warn!(error = %e, "the remote provider did not answer; the answer is quoted");
                None
            }
        }
    }
}

fn check_query(field: &'static str, text: &str) -> Result<String, CoreError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(CoreError::invalid(field, "must not be empty"));
    }
    crate::vault::check_text(field, t, 1_000)?;
    Ok(t.to_owned())
}

impl Intelligence<'_> {
    /// Keyword and semantic search across the meetings `scope` may open and their documents.
    pub async fn search(
        self,
        scope: &Scope<MeetingsRead>,
        q: &SearchQuery,
    ) -> Result<Vec<SearchHit>, CoreError> {
        self.core.check_intelligence()?;
        let query = check_query("query", &q.query)?;
        let limit = q.limit.unwrap_or(20);
        if !(1..=100).contains(&limit) {
            return Err(CoreError::invalid("limit", "must be between 1 and 100"));
        }
        if let Some(s) = &q.speaker {
            crate::vault::check_text("speaker", s, 200)?;
        }
        let opened = self
            .core
            .open_indexes(scope, q.meeting_id, q.workspace_id, q.from, q.to)
            .await?;
        let qvec = self.core.query_vector(&query).await?;
        let speaker = q.speaker.as_deref().map(|s| s.trim().to_lowercase());
        let refs: Vec<&Segment> = opened.segments.iter().collect();
        let hits = search::search(
            &refs,
            &query,
            qvec.as_deref(),
            limit as usize,
            MIN_SIMILARITY,
            |si, p| match &speaker {
                None => true,
                Some(want) => opened
                    .speaker(si, p)
                    .is_some_and(|x| x.to_lowercase() == *want),
            },
        );
        Ok(hits
            .into_iter()
            .filter_map(|h| {
                let source = opened.source(h.segment, h.passage)?;
                Some(SearchHit {
                    highlights: search::highlights(&source.text, &query),
                    source,
                    score: h.score,
                    keyword: h.keyword_rank.is_some(),
                    semantic: h.semantic_rank.is_some(),
                })
            })
            .collect())
    }

    /// Answers a question from the meetings `scope` may open (and their documents), citing
    /// the passages it rests on — or says it was not found.
    pub async fn ask(self, scope: &Scope<MeetingsRead>, q: &AskQuery) -> Result<Answer, CoreError> {
        self.core.check_intelligence()?;
        let question = check_query("question", &q.question)?;
        let opened = self
            .core
            .open_indexes(scope, q.meeting_id, q.workspace_id, q.from, q.to)
            .await?;
        let Some(qvec) = self.core.query_vector(&question).await? else {
            return Err(CoreError::Conflict(
                "questions need the embedding model, which is not installed: run \
                 scripts/models.sh --model minilm DATA_DIR/models (or set intelligence.embedding_model)"
                    .into(),
            ));
        };
        let refs: Vec<&Segment> = opened.segments.iter().collect();
        let hits = search::search(&refs, &question, Some(&qvec), 12, ask::RELATED, |_, _| true);
        let relevant = ask::relevant(&hits, 4);
        let mut cited = Vec::new();
        let passages: Vec<ask::Passage> = relevant
            .iter()
            .filter_map(|h| {
                let source = opened.source(h.segment, h.passage)?;
                let key = cited.len().to_string();
                let passage = ask::Passage {
                    key,
                    speaker: source.speaker.clone(),
                    start_ms: source.start_ms,
                    text: source.text.clone(),
                };
                cited.push(source);
                Some(passage)
            })
            .collect();
        // The embedded 135M model cannot be trusted to restate facts: the answer is the cited
        // passages themselves. A remote provider writes one, which must cite them.
        let settings = match q.meeting_id {
            Some(id) => {
                let row = self.core.meeting_row(scope, id).await?;
                self.core.meeting_intel_settings(&row).await?
            }
            None => {
                self.core
                    .workspace_intel_settings(
                        scope.org_id().uuid(),
                        q.workspace_id.map(WorkspaceId::uuid),
                    )
                    .await?
            }
        };
        let written = if settings.remote() && !passages.is_empty() {
            self.remote_answer(scope.org_id().uuid(), &settings, &question, &passages)
                .await
        } else {
            None
        };
        let mut generate = |_: &str, _: &str| written.clone();
        let generate: Option<ask::Generate<'_>> = written.is_some().then_some(&mut generate as _);
        Ok(match ask::answer(&question, &passages, generate) {
            ask::Answer::NotFound => Answer {
                found: false,
                text: None,
                method: None,
                citations: Vec::new(),
            },
            ask::Answer::Found {
                text,
                citations,
                method,
            } => Answer {
                found: true,
                text: Some(text),
                method: Some(match method {
                    ask::Method::Quoted => "quoted",
                    ask::Method::Generated => "generated",
                }),
                citations: citations
                    .iter()
                    .filter_map(|k| k.parse::<usize>().ok())
                    .filter_map(|i| cited.get(i).cloned())
                    .collect(),
            },
        })
    }
}
