//! Meeting intelligence on the wire: a meeting's summary and its edit, analytics, search
//! across meetings, questions with their citations, documents attached to a meeting, and the
//! processors that see content.

use chrono::{DateTime, Utc};
use meetvault_core::ids::{DocumentId, JobId, MeetingId, WorkspaceId};
use meetvault_core::intel as core;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ids;

/// A sentence of a summary and where it was said.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SummaryPoint {
    pub text: String,
    #[serde(default)]
    #[schema(required = true)]
    pub speaker: Option<String>,
    /// Milliseconds from the start of the recording.
    #[serde(default)]
    #[schema(required = true)]
    pub start_ms: Option<u64>,
}

/// A task someone took or was given.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionItem {
    pub task: String,
    /// Who, when named.
    #[serde(default)]
    #[schema(required = true)]
    pub owner: Option<String>,
    /// When, as said ("Friday", "end of day").
    #[serde(default)]
    #[schema(required = true)]
    pub due: Option<String>,
    /// Where in the recording it was said (milliseconds).
    #[serde(default)]
    #[schema(required = true)]
    pub start_ms: Option<u64>,
    #[serde(default)]
    pub done: bool,
}

/// A meeting's summary and action items.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "meeting_id": "mtg_0192f1c4a6e87c3d9b5e2f1a0c4d6e8f",
    "overview": "The team reviewed the Q3 budget and agreed to delay the launch by a week.",
    "key_points": [{"text": "The vendor quote came in twenty percent higher.", "speaker": "Ana", "start_ms": 61000}],
    "decisions": [{"text": "We decided to move the launch to the 14th.", "speaker": "Ben", "start_ms": 305000}],
    "action_items": [{"task": "send the revised budget to finance", "owner": "Ben", "due": "Friday", "start_ms": 312000, "done": false}],
    "generated_by": "embedded",
    "generated_at": "2026-12-04T10:00:00Z",
    "edited_at": null,
    "redacted": false
}))]
pub struct Summary {
    #[schema(value_type = ids::MeetingId)]
    pub meeting_id: MeetingId,
    pub overview: String,
    pub key_points: Vec<SummaryPoint>,
    pub decisions: Vec<SummaryPoint>,
    pub action_items: Vec<ActionItem>,
    /// `embedded` (the overview written by the embedded model) or `rules` (no chat model: the
    /// overview is the meeting's most central sentences).
    pub generated_by: String,
    pub generated_at: DateTime<Utc>,
    #[schema(required = true)]
    pub edited_at: Option<DateTime<Utc>>,
    /// Personal data shows as typed placeholders (`[EMAIL_1]`): it was redacted before the
    /// model (`intelligence.pii_redaction = "all"`) and only the meeting's owner sees it restored.
    pub redacted: bool,
}

impl From<core::SummaryPoint> for SummaryPoint {
    fn from(p: core::SummaryPoint) -> Self {
        Self {
            text: p.text,
            speaker: p.speaker,
            start_ms: p.start_ms,
        }
    }
}

impl From<core::ActionItem> for ActionItem {
    fn from(a: core::ActionItem) -> Self {
        Self {
            task: a.task,
            owner: a.owner,
            due: a.due,
            start_ms: a.start_ms,
            done: a.done,
        }
    }
}

impl From<core::SummaryView> for Summary {
    fn from(v: core::SummaryView) -> Self {
        Self {
            meeting_id: v.meeting_id,
            overview: v.summary.overview,
            key_points: v.summary.key_points.into_iter().map(Into::into).collect(),
            decisions: v.summary.decisions.into_iter().map(Into::into).collect(),
            action_items: v.summary.action_items.into_iter().map(Into::into).collect(),
            generated_by: v.generated_by,
            generated_at: v.generated_at,
            edited_at: v.edited_at,
            redacted: v.redacted,
        }
    }
}

/// The owner's edit of a summary: the whole summary as it should read.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "overview": "Budget review; launch moved to the 14th.",
    "key_points": [],
    "decisions": [{"text": "Launch on the 14th.", "speaker": "Ben", "start_ms": 305000}],
    "action_items": [{"task": "send the revised budget to finance", "owner": "Ben", "due": "Friday", "start_ms": 312000, "done": true}]
}))]
pub struct SummaryEdit {
    pub overview: String,
    #[serde(default)]
    pub key_points: Vec<SummaryPoint>,
    #[serde(default)]
    pub decisions: Vec<SummaryPoint>,
    #[serde(default)]
    pub action_items: Vec<ActionItem>,
}

fn core_point(p: SummaryPoint) -> core::SummaryPoint {
    core::SummaryPoint {
        text: p.text,
        speaker: p.speaker,
        start_ms: p.start_ms,
    }
}

impl From<SummaryEdit> for core::SummaryContent {
    fn from(e: SummaryEdit) -> Self {
        Self {
            overview: e.overview,
            key_points: e.key_points.into_iter().map(core_point).collect(),
            decisions: e.decisions.into_iter().map(core_point).collect(),
            action_items: e
                .action_items
                .into_iter()
                .map(|a| core::ActionItem {
                    task: a.task,
                    owner: a.owner,
                    due: a.due,
                    start_ms: a.start_ms,
                    done: a.done,
                })
                .collect(),
        }
    }
}

/// The summary job queued.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SummaryQueued {
    #[schema(value_type = ids::JobId)]
    pub job_id: JobId,
}

/// A meeting's speaker analytics, from its transcript.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Analytics {
    /// From the first word to the last (milliseconds).
    pub duration_ms: u64,
    /// The share of the recording (or of the span spoken) in which nobody spoke, 0–1.
    pub silence_ratio: f64,
    /// Time two or more people spoke at once (milliseconds).
    pub overlap_ms: u64,
    pub questions: u32,
    pub interruptions: u32,
    #[schema(required = true)]
    pub longest_monologue: Option<Monologue>,
    pub speakers: Vec<SpeakerStats>,
}

/// The longest stretch one speaker held the floor.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Monologue {
    pub speaker: String,
    pub start_ms: u64,
    pub end_ms: u64,
}

/// One speaker's share.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SpeakerStats {
    pub speaker: String,
    pub talk_ms: u64,
    /// Of all talk time, 0–1.
    pub talk_share: f64,
    pub segments: u32,
    pub words: u32,
    pub words_per_minute: f64,
    pub questions: u32,
    /// Times this speaker started while another was still speaking.
    pub interruptions: u32,
    pub longest_monologue_ms: u64,
}

impl From<core::Analytics> for Analytics {
    fn from(a: core::Analytics) -> Self {
        Self {
            duration_ms: a.duration_ms,
            silence_ratio: a.silence_ratio,
            overlap_ms: a.overlap_ms,
            questions: a.questions,
            interruptions: a.interruptions,
            longest_monologue: a.longest_monologue.map(|m| Monologue {
                speaker: m.speaker,
                start_ms: m.start_ms,
                end_ms: m.end_ms,
            }),
            speakers: a
                .speakers
                .into_iter()
                .map(|s| SpeakerStats {
                    speaker: s.speaker,
                    talk_ms: s.talk_ms,
                    talk_share: s.talk_share,
                    segments: s.segments,
                    words: s.words,
                    words_per_minute: s.words_per_minute,
                    questions: s.questions,
                    interruptions: s.interruptions,
                    longest_monologue_ms: s.longest_monologue_ms,
                })
                .collect(),
        }
    }
}

/// A search across the meetings the caller may open.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"query": "revised budget", "speaker": "Ben", "limit": 10}))]
pub struct SearchRequest {
    /// Words or a question (1–1000 characters): matched by its words (BM25) and its meaning
    /// (embeddings), the two rankings fused.
    pub query: String,
    /// One meeting only.
    #[serde(default)]
    #[schema(value_type = Option<ids::MeetingId>)]
    pub meeting_id: Option<MeetingId>,
    #[serde(default)]
    #[schema(value_type = Option<ids::WorkspaceId>)]
    pub workspace_id: Option<WorkspaceId>,
    /// Only what this speaker said (case-insensitive).
    #[serde(default)]
    pub speaker: Option<String>,
    /// Meetings created at or after.
    #[serde(default)]
    pub from: Option<DateTime<Utc>>,
    /// Meetings created before.
    #[serde(default)]
    pub to: Option<DateTime<Utc>>,
    /// 1–100, default 20.
    #[serde(default)]
    pub limit: Option<u32>,
}

/// A byte range of a hit's text that matches the query's words.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Highlight {
    pub start: usize,
    pub end: usize,
}

/// The document a passage came from.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DocumentSource {
    #[schema(value_type = ids::DocumentId)]
    pub id: DocumentId,
    pub name: String,
    /// Where the passage starts in the document's text (characters).
    pub offset: u64,
}

impl From<core::DocumentRef> for DocumentSource {
    fn from(d: core::DocumentRef) -> Self {
        Self {
            id: d.id,
            name: d.name,
            offset: d.offset,
        }
    }
}

/// A passage found: a transcript segment (speaker and time) or a chunk of an attached
/// document (`document`; no speaker or time).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SearchHit {
    #[schema(value_type = ids::MeetingId)]
    pub meeting_id: MeetingId,
    pub meeting_title: String,
    #[schema(required = true)]
    pub speaker: Option<String>,
    #[schema(required = true)]
    pub start_ms: Option<u64>,
    #[schema(required = true)]
    pub end_ms: Option<u64>,
    /// The document it came from; null for a transcript segment.
    #[schema(required = true)]
    pub document: Option<DocumentSource>,
    pub text: String,
    pub highlights: Vec<Highlight>,
    /// The fused rank score (reciprocal-rank fusion; higher is better).
    pub score: f32,
    /// `keyword`, `semantic` or both.
    pub matched_by: Vec<String>,
}

/// Search results, best first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SearchResults {
    pub hits: Vec<SearchHit>,
}

impl From<core::SearchHit> for SearchHit {
    fn from(h: core::SearchHit) -> Self {
        let mut matched_by = Vec::new();
        if h.keyword {
            matched_by.push("keyword".into());
        }
        if h.semantic {
            matched_by.push("semantic".into());
        }
        let p = h.source;
        Self {
            meeting_id: p.meeting_id,
            meeting_title: p.meeting_title,
            speaker: p.speaker,
            start_ms: p.start_ms,
            end_ms: p.end_ms,
            document: p.document.map(DocumentSource::from),
            text: p.text,
            highlights: h
                .highlights
                .into_iter()
                .map(|(start, end)| Highlight { start, end })
                .collect(),
            score: h.score,
            matched_by,
        }
    }
}

impl From<SearchRequest> for core::SearchQuery {
    fn from(r: SearchRequest) -> Self {
        Self {
            query: r.query,
            meeting_id: r.meeting_id,
            workspace_id: r.workspace_id,
            speaker: r.speaker,
            from: r.from,
            to: r.to,
            limit: r.limit,
        }
    }
}

/// A question about one meeting, a workspace's, or all the caller may open.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"question": "Who sends the revised budget?", "from": "2026-11-01T00:00:00Z"}))]
pub struct AskRequest {
    /// 1–1000 characters.
    pub question: String,
    #[serde(default)]
    #[schema(value_type = Option<ids::MeetingId>)]
    pub meeting_id: Option<MeetingId>,
    #[serde(default)]
    #[schema(value_type = Option<ids::WorkspaceId>)]
    pub workspace_id: Option<WorkspaceId>,
    #[serde(default)]
    pub from: Option<DateTime<Utc>>,
    #[serde(default)]
    pub to: Option<DateTime<Utc>>,
}

impl From<AskRequest> for core::AskQuery {
    fn from(r: AskRequest) -> Self {
        Self {
            question: r.question,
            meeting_id: r.meeting_id,
            workspace_id: r.workspace_id,
            from: r.from,
            to: r.to,
        }
    }
}

/// A passage an answer rests on.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Citation {
    #[schema(value_type = ids::MeetingId)]
    pub meeting_id: MeetingId,
    pub meeting_title: String,
    #[schema(required = true)]
    pub speaker: Option<String>,
    #[schema(required = true)]
    pub start_ms: Option<u64>,
    #[schema(required = true)]
    pub end_ms: Option<u64>,
    /// The document it came from; null for a transcript segment.
    #[schema(required = true)]
    pub document: Option<DocumentSource>,
    pub text: String,
}

/// An answer with its citations, or `found: false` ("not found in your meetings").
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "found": true,
    "answer": "Ben: \u{201c}I'll send the revised budget to finance by Friday.\u{201d}",
    "method": "quoted",
    "message": null,
    "citations": [{"meeting_id": "mtg_0192f1c4a6e87c3d9b5e2f1a0c4d6e8f", "meeting_title": "Budget review", "speaker": "Ben", "start_ms": 312000, "end_ms": 316000, "document": null, "text": "I'll send the revised budget to finance by Friday."}]
}))]
pub struct AskAnswer {
    pub found: bool,
    /// The answer: with the embedded models, the cited passages themselves (`quoted`).
    #[schema(required = true)]
    pub answer: Option<String>,
    /// `quoted` or `generated`; null when not found.
    #[schema(required = true)]
    pub method: Option<String>,
    /// "Not found in your meetings." when nothing answers it.
    #[schema(required = true)]
    pub message: Option<String>,
    pub citations: Vec<Citation>,
}

impl From<core::Answer> for AskAnswer {
    fn from(a: core::Answer) -> Self {
        Self {
            message: (!a.found).then(|| "Not found in your meetings.".to_owned()),
            found: a.found,
            answer: a.text,
            method: a.method.map(str::to_owned),
            citations: a
                .citations
                .into_iter()
                .map(|c| Citation {
                    meeting_id: c.meeting_id,
                    meeting_title: c.meeting_title,
                    speaker: c.speaker,
                    start_ms: c.start_ms,
                    end_ms: c.end_ms,
                    document: c.document.map(DocumentSource::from),
                    text: c.text,
                })
                .collect(),
        }
    }
}

/// A processor that may see meeting content.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Processor {
    pub name: String,
    pub purpose: String,
    /// Where the data goes.
    pub location: String,
    /// What it keeps, and for how long.
    pub retention: String,
    /// Installed and in use now.
    pub active: bool,
}

/// The processors configured on this server.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProcessorList {
    pub processors: Vec<Processor>,
}

impl From<core::ProcessorView> for Processor {
    fn from(p: core::ProcessorView) -> Self {
        Self {
            name: p.name,
            purpose: p.purpose.into(),
            location: p.location,
            retention: p.retention.into(),
            active: p.active,
        }
    }
}

/// Who writes summaries' overviews.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ChatProvider {
    /// The embedded model, in process.
    Embedded,
    /// Any OpenAI-compatible `/chat/completions` server.
    Openai,
}

/// PII redaction before a model reads a transcript.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PiiRedaction {
    Off,
    Remote,
    All,
}

/// Meeting-intelligence settings: the org's, a workspace's, a meeting's (or a bot's), or one
/// regeneration's. An absent (null) field inherits from the level above (meeting → workspace
/// → org → the server's `[intelligence]`); a level that names `provider` brings its
/// `base_url`, `model` and `secret` with it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"provider": "openai", "base_url": "https://llm.internal.example/v1", "model": "llama3.1:8b", "secret": "llm-key", "pii_redaction": "remote", "prompt": null, "redacted_transcripts": null, "configured_by": "usr_0192f1c4a6e87c3d9b5e2f1a0c4d6e8f"}))]
pub struct IntelligenceSettings {
    /// Who writes overviews; null inherits (the org's default: `embedded`).
    #[serde(default)]
    #[schema(required = true)]
    pub provider: Option<ChatProvider>,
    /// The server's base URL, before `/chat/completions`; must pass the outbound rules.
    #[serde(default)]
    #[schema(value_type = Option<String>, required = true)]
    pub base_url: Option<url::Url>,
    #[serde(default)]
    #[schema(required = true)]
    pub model: Option<String>,
    /// The name of your stored secret (`PUT /api/v1/me/secrets/{name}`) holding the API key:
    /// it is used on your behalf.
    #[serde(default)]
    #[schema(required = true)]
    pub secret: Option<String>,
    /// Null inherits (the server's `intelligence.pii_redaction`).
    #[serde(default)]
    #[schema(required = true)]
    pub pii_redaction: Option<PiiRedaction>,
    /// The instruction a remote provider's overview is written to (a prompt template, at most
    /// 2,000 characters) instead of the built-in one; the embedded 135M model keeps its own.
    #[serde(default)]
    #[schema(required = true)]
    pub prompt: Option<String>,
    /// Store transcripts with personal data replaced by typed placeholders and no way back
    /// (the values never reach storage); null inherits, false at the top.
    #[serde(default)]
    #[schema(required = true)]
    pub redacted_transcripts: Option<bool>,
    /// Set by the server: who named the secret.
    #[serde(default, skip_deserializing)]
    #[schema(value_type = Option<ids::UserId>, required = true, read_only)]
    pub configured_by: Option<meetvault_core::ids::UserId>,
}

impl From<core::IntelSettings> for IntelligenceSettings {
    fn from(s: core::IntelSettings) -> Self {
        Self {
            provider: s.provider.map(|p| match p {
                core::ChatProvider::Embedded => ChatProvider::Embedded,
                core::ChatProvider::Openai => ChatProvider::Openai,
            }),
            base_url: s.base_url,
            model: s.model,
            secret: s.secret,
            pii_redaction: s.pii_redaction.map(|p| match p {
                meetvault_core::intel::PiiRedaction::Off => PiiRedaction::Off,
                meetvault_core::intel::PiiRedaction::Remote => PiiRedaction::Remote,
                meetvault_core::intel::PiiRedaction::All => PiiRedaction::All,
            }),
            prompt: s.prompt,
            redacted_transcripts: s.redacted_transcripts,
            configured_by: s.configured_by,
        }
    }
}

impl From<IntelligenceSettings> for core::IntelSettings {
    fn from(s: IntelligenceSettings) -> Self {
        Self {
            provider: s.provider.map(|p| match p {
                ChatProvider::Openai => core::ChatProvider::Openai,
                ChatProvider::Embedded => core::ChatProvider::Embedded,
            }),
            base_url: s.base_url,
            model: s.model,
            secret: s.secret,
            configured_by: None,
            pii_redaction: s.pii_redaction.map(|p| match p {
                PiiRedaction::Off => meetvault_core::intel::PiiRedaction::Off,
                PiiRedaction::Remote => meetvault_core::intel::PiiRedaction::Remote,
                PiiRedaction::All => meetvault_core::intel::PiiRedaction::All,
            }),
            prompt: s.prompt,
            redacted_transcripts: s.redacted_transcripts,
        }
    }
}

/// A document attached to a meeting: its text was extracted, chunked and indexed; the file
/// itself is not kept.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "doc_0192f1c4a6e87c3d9b5e2f1a0c4d6e8f", "meeting_id": "mtg_0192f1c4a6e87c3d9b5e2f1a0c4d6e8f",
    "name": "Q3 budget pre-read.pdf", "media_type": "application/pdf", "size_bytes": 48213,
    "chars": 9120, "chunks": 9, "ephemeral": true, "expires_at": "2026-12-05T10:00:00Z",
    "created_at": "2026-12-04T10:00:00Z"
}))]
pub struct Document {
    #[schema(value_type = ids::DocumentId)]
    pub id: DocumentId,
    #[schema(value_type = ids::MeetingId)]
    pub meeting_id: MeetingId,
    pub name: String,
    /// `application/pdf`, `text/markdown`, `text/html` or `text/plain`.
    pub media_type: String,
    /// The uploaded file's size.
    pub size_bytes: u64,
    /// Characters of extracted text, and the chunks they were cut into.
    pub chars: u64,
    pub chunks: u64,
    /// Deleted when the meeting ends (its bot done) or at `expires_at`, whichever is first;
    /// false: attached with `keep`, it goes with the transcript.
    pub ephemeral: bool,
    #[schema(required = true)]
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<core::DocumentView> for Document {
    fn from(d: core::DocumentView) -> Self {
        Self {
            id: d.id,
            meeting_id: d.meeting_id,
            name: d.name,
            media_type: d.media_type,
            size_bytes: d.size_bytes,
            chars: d.chars,
            chunks: d.chunks,
            ephemeral: d.expires_at.is_some(),
            expires_at: d.expires_at,
            created_at: d.created_at,
        }
    }
}

/// A meeting's documents, oldest first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DocumentList {
    pub documents: Vec<Document>,
}

impl From<Vec<core::DocumentView>> for DocumentList {
    fn from(v: Vec<core::DocumentView>) -> Self {
        Self {
            documents: v.into_iter().map(Document::from).collect(),
        }
    }
}
