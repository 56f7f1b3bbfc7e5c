//! Meeting intelligence (`core.intelligence()`): a meeting's summary (overview, key points,
//! decisions, action items — each citing the moment it came from), made by a durable job when
//! its transcript is stored (`job.rs`) or on demand, editable by the meeting's owner and
//! exported with the transcript; speaker analytics; search and questions across the meetings a
//! caller may open (`search.rs`); and the list of processors that see meeting content.
//!
//! Everything stored is sealed under the meeting's key (table `meeting_intel`, fields `summary`
//! and `search_index`): a search opens, in memory and for that request only, the index segment
//! of each meeting the caller could open, so the index is never a plaintext copy of meetings
//! and a shredded meeting drops out of search with its keys.

mod docs;
mod job;
mod models;
mod pdf;
mod remote;
mod search;
mod serve;
mod settings;

use chrono::{DateTime, TimeZone, Utc};
use meetvault_intel::pii::Mapping;
use meetvault_stt::{ExportFormat, ExportMeta, ExportOptions};
use serde::{Deserialize, Serialize};

use crate::access::Scope;
use crate::access::proof::{MeetingsRead, MeetingsWrite};
use crate::audit::{AuditAction, Event};
use crate::ids::{JobId, MeetingId};
use crate::vault::{bind, check_text};
use crate::{Core, CoreError};

pub use crate::intel_settings::{ChatProvider, IntelSettings};
pub use docs::{DocumentUpload, DocumentView};
pub use job::{KIND as SUMMARY_JOB_KIND, SummarizeHandler};
pub use meetvault_config::PiiRedaction;
pub use meetvault_intel::analytics::Analytics;
pub(crate) use models::IntelModels;
pub use search::{Answer, AskQuery, Citation, DocumentRef, PassageSource, SearchHit, SearchQuery};
pub use serve::{ChatAnswer, ChatRequest, EmbeddingsAnswer};

/// The processor name of summaries made by rules and centrality alone (no chat model).
pub const RULES: &str = "rules";
/// The processor name of summaries whose overview the embedded chat model wrote.
pub const EMBEDDED: &str = "embedded";

/// A sentence of a summary and where it was said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummaryPoint {
    pub text: String,
    pub speaker: Option<String>,
    /// Milliseconds from the start of the recording.
    pub start_ms: Option<u64>,
}

/// A task someone took or was given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionItem {
    pub task: String,
    /// Who, when named.
    pub owner: Option<String>,
    /// When, as said ("Friday", "end of day").
    pub due: Option<String>,
    /// Where in the recording it was said.
    pub start_ms: Option<u64>,
    #[serde(default)]
    pub done: bool,
}

/// A summary as stored (sealed) and as read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummaryContent {
    pub overview: String,
    pub key_points: Vec<SummaryPoint>,
    pub decisions: Vec<SummaryPoint>,
    pub action_items: Vec<ActionItem>,
}

/// The sealed document: the summary, and — when the transcript was redacted before a model
/// read it — the placeholders' values, restored for the meeting's owner only.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Stored {
    pub(crate) summary: SummaryContent,
    #[serde(default)]
    mapping: Option<Mapping>,
}

/// A meeting's summary as a caller reads it.
#[derive(Debug, Clone)]
pub struct SummaryView {
    pub meeting_id: MeetingId,
    pub summary: SummaryContent,
    /// `embedded` (the overview by the embedded model), `rules` (no chat model: the overview
    /// is the meeting's most central sentences) …
    pub generated_by: String,
    pub generated_at: DateTime<Utc>,
    /// The owner's last edit, if any.
    pub edited_at: Option<DateTime<Utc>>,
    /// Personal data in it shows as typed placeholders (`[EMAIL_1]`): it was redacted before
    /// the model and the caller is not the meeting's owner.
    pub redacted: bool,
}

/// One processor that may see meeting content, for the trust page.
#[derive(Debug, Clone)]
pub struct ProcessorView {
    pub name: String,
    pub purpose: &'static str,
    /// `this server (in process)`, or the remote service.
    pub location: String,
    pub retention: &'static str,
    /// Whether it is installed and would be used now.
    pub active: bool,
}

/// A summary export's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SummaryFormat {
    Markdown,
    Json,
}

/// Meeting intelligence (`core.intelligence()`).
#[derive(Debug, Clone, Copy)]
pub struct Intelligence<'a> {
    pub(crate) core: &'a Core,
}

fn ms_time(ms: Option<i64>) -> Option<DateTime<Utc>> {
    ms.and_then(|m| Utc.timestamp_millis_opt(m).single())
}

impl Core {
    pub(crate) fn check_intelligence(&self) -> Result<(), CoreError> {
        if self.config().intelligence.enabled {
            Ok(())
        } else {
            Err(CoreError::Conflict(
                "meeting intelligence is turned off on this server (intelligence.enabled)".into(),
            ))
        }
    }

    /// A meeting's stored summary, opened with `keys`; `None` when none was made.
    pub(crate) fn open_summary(
        &self,
        row: &meetvault_store::intel::IntelRow,
        keys: &crate::vault::MeetingKeys,
    ) -> Result<Option<Stored>, CoreError> {
        let Some(ct) = &row.summary else {
            return Ok(None);
        };
        let json = keys.bytes(row.org_id, "meeting_intel", row.meeting_id, "summary", ct)?;
        serde_json::from_slice(&json)
            .map(Some)
            .map_err(|_| CoreError::Integrity("meeting_intel.summary is not a summary".into()))
    }
}

fn seal_summary(
    keys: &crate::vault::MeetingKeys,
    org: uuid::Uuid,
    meeting: uuid::Uuid,
    doc: &Stored,
) -> Result<Vec<u8>, CoreError> {
    let (kref, key) = keys.newest().ok_or(CoreError::NotFound("meeting"))?;
    let json = zeroize::Zeroizing::new(serde_json::to_vec(doc).map_err(CoreError::internal)?);
    Ok(meetvault_crypto::envelope::encrypt(
        key,
        kref,
        &bind(org, "meeting_intel", meeting, "summary"),
        &json,
    ))
}

impl Intelligence<'_> {
    /// A meeting's summary; `NotFound("summary")` until one was made.
    pub async fn summary(
        self,
        scope: &Scope<MeetingsRead>,
        meeting: MeetingId,
    ) -> Result<SummaryView, CoreError> {
        let row = self.core.meeting_row(scope, meeting).await?;
        let keys = self.core.meeting_keys_for(scope, &row).await?;
        let intel = self
            .core
            .db()
            .meeting_intel(row.org_id, row.id)
            .await?
            .ok_or(CoreError::NotFound("summary"))?;
        let stored = self
            .core
            .open_summary(&intel, &keys)?
            .ok_or(CoreError::NotFound("summary"))?;
        let owner = scope.user_id().uuid() == row.owner_id;
        let (summary, redacted) = match &stored.mapping {
            Some(m) if !m.is_empty() && owner => (restore(&stored.summary, m), false),
            Some(m) if !m.is_empty() => (stored.summary, true),
            _ => (stored.summary, false),
        };
        Ok(SummaryView {
            meeting_id: meeting,
            summary,
            generated_by: intel.generated_by.unwrap_or_else(|| RULES.into()),
            generated_at: ms_time(intel.generated_at).unwrap_or_else(Utc::now),
            edited_at: ms_time(intel.edited_at),
            redacted,
        })
    }

    /// Queues the summary (and search index) to be made again from the current transcript;
    /// `settings` (another provider, another prompt) go over the meeting's for this run only,
    /// checked as the caller sets them (a secret named must be the caller's).
    pub async fn regenerate(
        self,
        scope: &Scope<MeetingsWrite>,
        meeting: MeetingId,
        settings: Option<IntelSettings>,
    ) -> Result<JobId, CoreError> {
        self.core.check_intelligence()?;
        let row = self.core.meeting_row(scope, meeting).await?;
        self.core.check_content_reader(scope, &row).await?;
        if self
            .core
            .db()
            .segments(row.org_id, row.id)
            .await?
            .is_empty()
        {
            return Err(CoreError::Conflict(
                "the meeting has no transcript to summarize yet: upload a recording (it is \
                 transcribed) or import segments first"
                    .into(),
            ));
        }
        let settings = match settings.filter(|s| !s.is_empty()) {
            Some(s) => Some(
                self.core
                    .check_intel_settings(row.org_id, scope.user_id(), s)
                    .await?,
            ),
            None => None,
        };
        let job = self
            .core
            .enqueue_summary(row.org_id, row.id, settings)
            .await?;
        self.core
            .audit(Event::by(scope, AuditAction::SummaryGenerate).resource(row.id))
            .await?;
        Ok(job)
    }

    /// Replaces the summary with the owner's edit (a later regeneration replaces the edit).
    pub async fn edit(
        self,
        scope: &Scope<MeetingsWrite>,
        meeting: MeetingId,
        summary: SummaryContent,
    ) -> Result<SummaryView, CoreError> {
        let row = self.core.meeting_row(scope, meeting).await?;
        if scope.user_id().uuid() != row.owner_id {
            return Err(CoreError::NotAllowed(
                "only the meeting's owner edits its summary".into(),
            ));
        }
        check_summary(&summary)?;
        let keys = self.core.meeting_keys_for(scope, &row).await?;
        let intel = self
            .core
            .db()
            .meeting_intel(row.org_id, row.id)
            .await?
            .ok_or(CoreError::NotFound("summary"))?;
        // The owner edits what they read (restored); nothing is left to restore afterwards.
        let _ = self.core.open_summary(&intel, &keys)?;
        let sealed = seal_summary(
            &keys,
            row.org_id,
            row.id,
            &Stored {
                summary: summary.clone(),
                mapping: None,
            },
        )?;
        let now = Utc::now();
        if !self
            .core
            .db()
            .edit_meeting_summary(
                row.org_id,
                row.id,
                &sealed,
                now.timestamp_millis(),
                scope.user_id().uuid(),
            )
            .await?
        {
            return Err(CoreError::NotFound("summary"));
        }
        self.core
            .audit(Event::by(scope, AuditAction::SummaryEdit).resource(row.id))
            .await?;
        Ok(SummaryView {
            meeting_id: meeting,
            summary,
            generated_by: intel.generated_by.unwrap_or_else(|| RULES.into()),
            generated_at: ms_time(intel.generated_at).unwrap_or(now),
            edited_at: Some(now),
            redacted: false,
        })
    }

    /// The summary and the transcript as one document (Markdown or JSON); audited as
    /// `transcript.export`.
    pub async fn export(
        self,
        scope: &Scope<MeetingsRead>,
        meeting: MeetingId,
        format: SummaryFormat,
    ) -> Result<String, CoreError> {
        let view = self.summary(scope, meeting).await?;
        let meeting_view = self.core.meetings().get(scope, meeting).await?;
        let segments = self.core.transcripts().get(scope, meeting).await?;
        let text = match format {
            SummaryFormat::Markdown => {
                let started = meeting_view.started_at.map(|t| t.to_rfc3339());
                let transcript = crate::meetings::export_segments(
                    ExportFormat::Md,
                    &ExportMeta {
                        title: &meeting_view.title,
                        started_at: started.as_deref(),
                        language: meeting_view.language.as_deref(),
                    },
                    segments,
                    ExportOptions::default(),
                );
                markdown(&view, &transcript)
            }
            SummaryFormat::Json => serde_json::to_string_pretty(&serde_json::json!({
                "meeting_id": meeting,
                "title": meeting_view.title,
                "summary": view.summary,
                "generated_by": view.generated_by,
                "generated_at": view.generated_at,
                "edited_at": view.edited_at,
                "transcript": segments.iter().map(|s| serde_json::json!({
                    "speaker": s.speaker, "start_ms": s.start_ms, "end_ms": s.end_ms, "text": s.text,
                })).collect::<Vec<_>>(),
            }))
            .map_err(CoreError::internal)?,
        };
        let mut event = Event::by(scope, AuditAction::TranscriptExport).resource(meeting.uuid());
        event.reason = Some(match format {
            SummaryFormat::Markdown => "summary.md",
            SummaryFormat::Json => "summary.json",
        });
        self.core.audit(event).await?;
        Ok(text)
    }

    /// Talk time, interruptions, monologues, questions and silence, from the transcript.
    pub async fn analytics(
        self,
        scope: &Scope<MeetingsRead>,
        meeting: MeetingId,
    ) -> Result<meetvault_intel::analytics::Analytics, CoreError> {
        let row = self.core.meeting_row(scope, meeting).await?;
        let segments = self.core.transcripts().get(scope, meeting).await?;
        let recording_ms = self
            .core
            .db()
            .recordings(row.org_id, row.id)
            .await?
            .iter()
            .filter_map(|r| r.duration_ms)
            .max()
            .and_then(|d| u64::try_from(d).ok());
        let utterances: Vec<meetvault_intel::analytics::Utterance<'_>> = segments
            .iter()
            .map(|s| meetvault_intel::analytics::Utterance {
                speaker: &s.speaker,
                start_ms: u64::try_from(s.start_ms).unwrap_or(0),
                end_ms: u64::try_from(s.end_ms).unwrap_or(0),
                text: &s.text,
            })
            .collect();
        Ok(meetvault_intel::analytics::analyze(
            &utterances,
            recording_ms,
        ))
    }

    /// The processors that may see meeting content on this server, with where data goes and
    /// what they keep (the trust page reads this).
    pub async fn processors(
        self,
        scope: &Scope<MeetingsRead>,
    ) -> Result<Vec<ProcessorView>, CoreError> {
        let c = self.core.config();
        let org = scope.org_id().uuid();
        let settings = self.core.intel_settings(org).await?;
        let remote = settings.remote();
        // Every remote provider configured at any level: the org's, then its workspaces' and
        // meetings' own (each once).
        let mut remotes = vec![(settings.clone(), "the org's OpenAI-compatible provider")];
        for json in self.core.db().scoped_intelligence(org).await? {
            if let Ok(s) = serde_json::from_str::<IntelSettings>(&json)
                && s.remote()
                && !remotes
                    .iter()
                    .any(|(r, _)| r.base_url == s.base_url && r.model == s.model)
            {
                remotes.push((
                    s,
                    "an OpenAI-compatible provider a workspace or meeting chose",
                ));
            }
        }
        let models = &self.core.inner.intel;
        let (chat, embed) = models.installed();
        let here = "this server (in process)".to_owned();
        let mut out = vec![ProcessorView {
            name: c
                .model_dir()
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "whisper".into()),
            purpose: "transcription (local engine)",
            location: here.clone(),
            retention: "nothing kept by the engine: audio is decoded in memory; the transcript is stored sealed under the meeting's key and kept as its retention policy says",
            active: c.transcription.default_provider
                == meetvault_config::TranscriptionProvider::Local,
        }];
        if c.intelligence.enabled {
            out.push(ProcessorView {
                name: models.chat_name(),
                purpose: "summaries (the overview; action items and decisions are found by rules)",
                location: here.clone(),
                retention: "nothing kept by the model; the summary is stored sealed under the meeting's key and deleted with its transcript",
                active: chat && !remote,
            });
            for (settings, whose) in remotes.iter().filter(|(s, _)| s.remote()) {
                let at = settings
                    .base_url
                    .as_ref()
                    .map(|u| {
                        format!("{}://{}", u.scheme(), u.host_str().unwrap_or_default())
                            + &u.port().map(|p| format!(":{p}")).unwrap_or_default()
                    })
                    .unwrap_or_default();
                let redacted = self.core.pii_mode(settings) != PiiRedaction::Off;
                out.push(ProcessorView {
                    name: settings.model.clone().unwrap_or_default(),
                    purpose: if redacted {
                        "summaries (the overview), from the transcript with personal data redacted first"
                    } else {
                        "summaries (the overview), from the transcript as spoken (redaction is off)"
                    },
                    location: format!("{at} ({whose})"),
                    retention: "as the provider's own terms say; meetvault keeps only the summary, sealed under the meeting's key",
                    active: true,
                });
            }
            out.push(ProcessorView {
                name: "all-minilm-l6-v2".into(),
                purpose: "search and questions (sentence embeddings)",
                location: here,
                retention: "vectors are stored in the meeting's search index, sealed under its key, and deleted with its transcript",
                active: embed,
            });
        }
        out.push(ProcessorView {
            name: "openai-compatible or deepgram (per meeting)".into(),
            purpose: "transcription by a remote provider, only for meetings whose owner chose one",
            location: "the provider URL the meeting's owner configured (checked against outbound.allow_hosts rules)".into(),
            retention: "as the provider's own terms say; meetvault sends the audio only",
            active: c.transcription.default_provider != meetvault_config::TranscriptionProvider::Local,
        });
        Ok(out)
    }
}

fn restore(s: &SummaryContent, m: &Mapping) -> SummaryContent {
    let p = |x: &SummaryPoint| SummaryPoint {
        text: m.restore(&x.text),
        speaker: x.speaker.as_deref().map(|v| m.restore(v)),
        start_ms: x.start_ms,
    };
    SummaryContent {
        overview: m.restore(&s.overview),
        key_points: s.key_points.iter().map(p).collect(),
        decisions: s.decisions.iter().map(p).collect(),
        action_items: s
            .action_items
            .iter()
            .map(|a| ActionItem {
                task: m.restore(&a.task),
                owner: a.owner.as_deref().map(|v| m.restore(v)),
                due: a.due.as_deref().map(|v| m.restore(v)),
                ..a.clone()
            })
            .collect(),
    }
}

fn check_summary(s: &SummaryContent) -> Result<(), CoreError> {
    check_text("overview", &s.overview, 20_000)?;
    for (field, list) in [("key_points", &s.key_points), ("decisions", &s.decisions)] {
        if list.len() > 100 {
            return Err(CoreError::invalid(field, "at most 100 items"));
        }
        for p in list {
            check_text(field, &p.text, 2_000)?;
            if let Some(sp) = &p.speaker {
                check_text(field, sp, 200)?;
            }
        }
    }
    if s.action_items.len() > 200 {
        return Err(CoreError::invalid("action_items", "at most 200 items"));
    }
    for a in &s.action_items {
        if a.task.trim().is_empty() {
            return Err(CoreError::invalid("action_items", "each needs a task"));
        }
        check_text("action_items", &a.task, 2_000)?;
        for v in [&a.owner, &a.due].into_iter().flatten() {
            check_text("action_items", v, 200)?;
        }
    }
    Ok(())
}

fn clock(ms: u64) -> String {
    let s = ms / 1000;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{:02}:{:02}", s / 60, s % 60)
    }
}

/// The title, the summary in Markdown, then the transcript's own Markdown export.
fn markdown(view: &SummaryView, transcript: &str) -> String {
    use std::fmt::Write as _;
    let esc = |t: &str| t.replace(['\n', '\r'], " ");
    let mut out = String::from("## Summary\n\n");
    let _ = writeln!(out, "{}\n", esc(&view.summary.overview));
    let point = |out: &mut String, p: &SummaryPoint| {
        let at = match (&p.speaker, p.start_ms) {
            (Some(s), Some(ms)) => format!(" ({}, {})", esc(s), clock(ms)),
            (None, Some(ms)) => format!(" ({})", clock(ms)),
            (Some(s), None) => format!(" ({})", esc(s)),
            (None, None) => String::new(),
        };
        let _ = writeln!(out, "- {}{at}", esc(&p.text));
    };
    for (title, list) in [
        ("Key points", &view.summary.key_points),
        ("Decisions", &view.summary.decisions),
    ] {
        if !list.is_empty() {
            let _ = writeln!(out, "### {title}\n");
            for p in list {
                point(&mut out, p);
            }
            out.push('\n');
        }
    }
    if !view.summary.action_items.is_empty() {
        out.push_str("### Action items\n\n");
        for a in &view.summary.action_items {
            let mut line = format!("- [{}] {}", if a.done { "x" } else { " " }, esc(&a.task));
            if let Some(o) = &a.owner {
                let _ = write!(line, " — {}", esc(o));
            }
            if let Some(d) = &a.due {
                let _ = write!(line, " (due {})", esc(d));
            }
            if let Some(ms) = a.start_ms {
                let _ = write!(line, " [{}]", clock(ms));
            }
            let _ = writeln!(out, "{line}");
        }
        out.push('\n');
    }
    // The transcript's export opens with the title heading: the summary goes under it.
    match transcript.split_once("\n\n") {
        Some((title, rest)) if title.starts_with("# ") => {
            format!("{title}\n\n{out}## Transcript\n\n{rest}")
        }
        _ => format!("{out}## Transcript\n\n{transcript}"),
    }
}
