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
use crate::ids::{MeetingId, WorkspaceId};
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
    let (kref, key) = keys.newest().ok_or(CoreError::NotFound("meeting"))?;
    let json = serde_json::to_vec(passages).map_err(CoreError::internal)?;
    let mut plain = zeroize::Zeroizing::new(Vec::with_capacity(4 + json.len()));
    plain.extend_from_slice(&u32::try_from(json.len()).unwrap_or(u32::MAX).to_le_bytes());
    plain.extend_from_slice(&json);
    plain.extend_from_slice(&segment.encode());
    Ok(meetvault_crypto::envelope::encrypt(
        key,
        kref,
        &bind(org, "meeting_intel", meeting, "search_index"),
        &plain,
    ))
}

fn open_index(
    keys: &MeetingKeys,
    org: Uuid,
    meeting: Uuid,
    ct: &[u8],
) -> Result<(Vec<IndexedPassage>, Segment), CoreError> {
    let plain = keys.bytes(org, "meeting_intel", meeting, "search_index", ct)?;
    let bad = || CoreError::Integrity("meeting_intel.search_index is not an index".into());
    let len = u32::from_le_bytes(
        plain
            .get(..4)
            .ok_or_else(bad)?
            .try_into()
            .map_err(|_| bad())?,
    ) as usize;
    let json = plain.get(4..4 + len).ok_or_else(bad)?;
    let passages: Vec<IndexedPassage> = serde_json::from_slice(json).map_err(|_| bad())?;
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
    /// Passages of this speaker only (case-insensitive).
    pub speaker: Option<String>,
    /// Meetings created in `[from, to)`.
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub limit: Option<u32>,
}

/// A passage found.
#[derive(Debug, Clone)]
pub struct SearchHit {
    pub meeting_id: MeetingId,
    pub meeting_title: String,
    pub speaker: String,
    pub start_ms: u64,
    pub end_ms: u64,
    pub text: String,
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
#[derive(Debug, Clone)]
pub struct Citation {
    pub meeting_id: MeetingId,
    pub meeting_title: String,
    pub speaker: String,
    pub start_ms: u64,
    pub end_ms: u64,
    pub text: String,
}

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

/// What one query opened: each meeting's id, title, passages and segment.
struct Opened {
    meetings: Vec<(MeetingId, String, Vec<IndexedPassage>)>,
    segments: Vec<Segment>,
}

impl Core {
    /// Opens the index of every meeting `scope` may read within the filters.
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
        let mut opened = Opened {
            meetings: Vec::new(),
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
            let Some(intel) = self.db().meeting_intel(row.org_id, row.id).await? else {
                continue;
            };
            let Some(ct) = &intel.search_index else {
                continue;
            };
            let (passages, segment) = match open_index(&keys, row.org_id, row.id, ct) {
                Ok(v) => v,
                Err(CoreError::Integrity(what)) => {
                    tracing::warn!(meeting = %row.id, %what, "a search index was skipped");
                    continue;
                }
                Err(e) => return Err(e),
            };
            let title = keys
                .text(row.org_id, "meetings", row.id, "title", &row.title)
                .unwrap_or_default();
            opened
                .meetings
                .push((MeetingId::from(row.id), title, passages));
            opened.segments.push(segment);
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

fn check_query(field: &'static str, text: &str) -> Result<String, CoreError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(CoreError::invalid(field, "must not be empty"));
    }
    crate::vault::check_text(field, t, 1_000)?;
    Ok(t.to_owned())
}

impl Intelligence<'_> {
    /// Keyword and semantic search across the meetings `scope` may open.
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
                Some(want) => opened.meetings[si]
                    .2
                    .get(p)
                    .is_some_and(|x| x.speaker.to_lowercase() == *want),
            },
        );
        Ok(hits
            .into_iter()
            .filter_map(|h| {
                let (id, title, passages) = opened.meetings.get(h.segment)?;
                let p = passages.get(h.passage)?;
                Some(SearchHit {
                    meeting_id: *id,
                    meeting_title: title.clone(),
                    speaker: p.speaker.clone(),
                    start_ms: p.start_ms,
                    end_ms: p.end_ms,
                    highlights: search::highlights(&p.text, &query),
                    text: p.text.clone(),
                    score: h.score,
                    keyword: h.keyword_rank.is_some(),
                    semantic: h.semantic_rank.is_some(),
                })
            })
            .collect())
    }

    /// Answers a question from the meetings `scope` may open, citing the passages it rests
    /// on — or says it was not found.
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
                let (id, title, passages) = opened.meetings.get(h.segment)?;
                let p = passages.get(h.passage)?;
                let key = cited.len().to_string();
                cited.push(Citation {
                    meeting_id: *id,
                    meeting_title: title.clone(),
                    speaker: p.speaker.clone(),
                    start_ms: p.start_ms,
                    end_ms: p.end_ms,
                    text: p.text.clone(),
                });
                Some(ask::Passage {
                    key,
                    speaker: Some(p.speaker.clone()),
                    start_ms: Some(p.start_ms),
                    text: p.text.clone(),
                })
            })
            .collect();
        // The embedded 135M model cannot be trusted to restate facts: the answer is the cited
        // passages themselves.
        Ok(match ask::answer(&question, &passages, None) {
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
