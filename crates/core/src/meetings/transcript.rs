//! Transcript segments: imported through the API or produced per track by a transcription job,
//! each speaker and text encrypted under the meeting's key and bound to its row; read back merged
//! by time, and exported as JSON, SRT, WebVTT, Markdown or plain text (each export audited).

use meetvault_crypto::envelope::{self, KeyRef};
use meetvault_crypto::keys::SymmetricKey;
use meetvault_store::vault::{MeetingRow, SegmentRow};
use meetvault_stt::{ExportFormat, ExportMeta, ExportOptions, Word};
use uuid::Uuid;

use crate::access::Scope;
use crate::access::proof::{MeetingsRead, MeetingsWrite};
use crate::audit::AuditAction;
use crate::audit::Event;
use crate::ids::{MeetingId, RecordingId, SegmentId};
use crate::vault::{bind, check_text};
use crate::{Core, CoreError};

const MAX_SEGMENTS_PER_CALL: usize = 5000;
/// More words than a segment's 20 000 characters could hold are not kept.
const MAX_WORDS_PER_SEGMENT: usize = 10_000;

#[derive(Debug, Clone)]
pub struct NewSegment {
    pub start_ms: i64,
    pub end_ms: i64,
    pub speaker: String,
    pub text: String,
}

/// A segment produced by an engine for one track.
#[derive(Debug, Clone)]
pub struct TrackSegment {
    pub start_ms: i64,
    pub end_ms: i64,
    pub speaker: String,
    pub text: String,
    pub avg_logprob: Option<f32>,
    pub no_speech_prob: Option<f32>,
    /// The language the engine heard (local engine; a Whisper code).
    pub language: Option<String>,
    /// Timed words, when the transcription asked for them (stored sealed, as the text).
    pub words: Vec<Word>,
}

#[derive(Debug, Clone)]
pub struct SegmentView {
    pub id: SegmentId,
    pub start_ms: i64,
    pub end_ms: i64,
    pub speaker: String,
    pub text: String,
    /// The track it was transcribed from (absent for imported segments).
    pub recording_id: Option<RecordingId>,
    pub avg_logprob: Option<f32>,
    pub no_speech_prob: Option<f32>,
    /// The language the engine heard (absent for imported segments and remote providers).
    pub language: Option<String>,
    /// Timed words (times in seconds from the start of the recording); empty when none were
    /// timed.
    pub words: Vec<Word>,
}

/// Replaces a segment's personal data by typed placeholders for good (no mapping is kept) and
/// drops its timed words, which would spell the values out again.
fn redact_segment(detector: &meetvault_intel::pii::Detector, s: &mut TrackSegment) {
    s.text = meetvault_intel::pii::Mapping::new().redact(detector, &s.text);
    s.words.clear();
}

fn seal(
    key: &SymmetricKey,
    kref: KeyRef,
    row: &MeetingRow,
    position: i32,
    recording: Option<Uuid>,
    s: &TrackSegment,
) -> SegmentRow {
    let id = Uuid::new_v4();
    let org = row.org_id;
    SegmentRow {
        id,
        org_id: org,
        meeting_id: row.id,
        position,
        start_ms: s.start_ms,
        end_ms: s.end_ms,
        speaker: envelope::encrypt(
            key,
            kref,
            &bind(org, "transcript_segments", id, "speaker"),
            s.speaker.as_bytes(),
        ),
        text: envelope::encrypt(
            key,
            kref,
            &bind(org, "transcript_segments", id, "text"),
            s.text.as_bytes(),
        ),
        recording_id: recording,
        avg_logprob: s.avg_logprob.filter(|v| v.is_finite()),
        no_speech_prob: s.no_speech_prob.filter(|v| v.is_finite()),
        language: s.language.clone(),
        words: seal_words(key, kref, org, id, &s.words),
    }
}

/// A segment's words as JSON sealed like its text (field `words`); `None` for no words. Words
/// with non-finite times are left out (JSON has no such numbers), and the text of each word is
/// capped like a segment's.
fn seal_words(
    key: &SymmetricKey,
    kref: KeyRef,
    org: Uuid,
    id: Uuid,
    words: &[Word],
) -> Option<Vec<u8>> {
    let kept: Vec<Word> = words
        .iter()
        .filter(|w| w.start.is_finite() && w.end.is_finite())
        .take(MAX_WORDS_PER_SEGMENT)
        .map(|w| Word {
            text: w
                .text
                .chars()
                .filter(|c| !c.is_control())
                .take(200)
                .collect(),
            probability: w.probability.filter(|p| p.is_finite()),
            ..w.clone()
        })
        .collect();
    if kept.is_empty() {
        return None;
    }
    let json = serde_json::to_vec(&kept).ok()?;
    Some(envelope::encrypt(
        key,
        kref,
        &bind(org, "transcript_segments", id, "words"),
        &json,
    ))
}

/// Transcripts (`core.transcripts()`): a meeting's segments, imported, read back merged, and
/// exported in a format.
#[derive(Debug, Clone, Copy)]
pub struct Transcripts<'a> {
    pub(crate) core: &'a Core,
}

impl Transcripts<'_> {
    /// Appends transcript segments (imported), encrypted one field at a time.
    pub async fn add_segments(
        self,
        scope: &Scope<MeetingsWrite>,
        meeting: MeetingId,
        segments: &[NewSegment],
    ) -> Result<usize, CoreError> {
        let row = self.core.meeting_row(scope, meeting).await?;
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
        let (kref, key) = self
            .core
            .meeting_write_key(org, row.id, row.owner_id)
            .await?;
        let first = self.core.db().next_segment_position(org, row.id).await?;
        let redactor = self.core.transcript_redactor(&row).await?;
        let rows: Vec<SegmentRow> = segments
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let mut seg = TrackSegment {
                    start_ms: s.start_ms,
                    end_ms: s.end_ms,
                    speaker: s.speaker.clone(),
                    text: s.text.clone(),
                    avg_logprob: None,
                    no_speech_prob: None,
                    language: None,
                    words: Vec::new(),
                };
                if let Some(d) = &redactor {
                    redact_segment(d, &mut seg);
                }
                let position = first.saturating_add(i32::try_from(i).unwrap_or(i32::MAX));
                seal(&key, kref, &row, position, None, &seg)
            })
            .collect();
        self.core.db().insert_segments(&rows).await?;
        self.core.summary_after_transcript(org, row.id).await?;
        Ok(rows.len())
    }
}

impl Core {
    /// Replaces one track's transcribed segments (a job that runs twice leaves one copy).
    pub(crate) async fn store_track_segments(
        &self,
        row: &MeetingRow,
        recording: Uuid,
        segments: &[TrackSegment],
    ) -> Result<(), CoreError> {
        let org = row.org_id;
        let (kref, key) = self.meeting_write_key(org, row.id, row.owner_id).await?;
        let redactor = self.transcript_redactor(row).await?;
        let rows: Vec<SegmentRow> = segments
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let mut s = s.clone();
                if let Some(d) = &redactor {
                    redact_segment(d, &mut s);
                }
                s.speaker = s.speaker.chars().take(200).collect();
                s.text = s
                    .text
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(20_000)
                    .collect();
                seal(
                    &key,
                    kref,
                    row,
                    i32::try_from(i).unwrap_or(i32::MAX),
                    Some(recording),
                    &s,
                )
            })
            .collect();
        let ready = crate::events::outbox_event(
            org,
            &crate::events::DomainEvent::TranscriptReady(crate::events::TranscriptReady {
                meeting_id: row.id.into(),
                recording_id: recording.into(),
            }),
            None,
        )?;
        self.db()
            .replace_track_segments(org, recording, &rows, &[ready])
            .await?;
        // A bot's transcript follows its recordings to its destination.
        if let Some(bot) = self.db().bot_of_meeting(org, row.id).await?
            && let Some(dest) = self.bot_destination(&bot).await?
        {
            self.enqueue_transcript_delivery(org, row.id, dest).await?;
        }
        self.summary_after_transcript(org, row.id).await?;
        self.events().wake(row.id);
        Ok(())
    }
}

impl Transcripts<'_> {
    /// The transcript, decrypted, every track merged by time.
    pub async fn get(
        self,
        scope: &Scope<MeetingsRead>,
        meeting: MeetingId,
    ) -> Result<Vec<SegmentView>, CoreError> {
        let row = self.core.meeting_row(scope, meeting).await?;
        self.core.transcript_of(scope, &row).await
    }
}

impl Core {
    async fn transcript_of(
        &self,
        scope: &Scope<MeetingsRead>,
        row: &MeetingRow,
    ) -> Result<Vec<SegmentView>, CoreError> {
        let keys = self.meeting_keys_for(scope, row).await?;
        self.segments_with(row, &keys).await
    }

    /// A meeting's transcript opened with `keys` (the caller checked who may read it).
    pub(crate) async fn segments_with(
        &self,
        row: &MeetingRow,
        keys: &crate::vault::MeetingKeys,
    ) -> Result<Vec<SegmentView>, CoreError> {
        self.db()
            .segments(row.org_id, row.id)
            .await?
            .iter()
            .map(|s| {
                Ok(SegmentView {
                    id: SegmentId::from(s.id),
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
                    recording_id: s.recording_id.map(RecordingId::from),
                    avg_logprob: s.avg_logprob,
                    no_speech_prob: s.no_speech_prob,
                    language: s.language.clone(),
                    words: match &s.words {
                        Some(ct) => {
                            let json =
                                keys.bytes(row.org_id, "transcript_segments", s.id, "words", ct)?;
                            serde_json::from_slice(&json).map_err(|_| {
                                CoreError::Integrity(
                                    "transcript_segments.words is not a list of words".into(),
                                )
                            })?
                        }
                        None => Vec::new(),
                    },
                })
            })
            .collect()
    }
}

impl Transcripts<'_> {
    /// The transcript in an export format (karaoke cues with `options`, from the segments'
    /// words); audited as `transcript.export` with the format.
    pub async fn export(
        self,
        scope: &Scope<MeetingsRead>,
        meeting: MeetingId,
        format: ExportFormat,
        options: ExportOptions,
    ) -> Result<String, CoreError> {
        let meeting_view = self.core.meetings().get(scope, meeting).await?;
        let row = self.core.meeting_row(scope, meeting).await?;
        let segments = self.core.transcript_of(scope, &row).await?;
        let started = meeting_view.started_at.map(|t| t.to_rfc3339());
        let text = export_segments(
            format,
            &ExportMeta {
                title: &meeting_view.title,
                started_at: started.as_deref(),
                language: meeting_view.language.as_deref(),
            },
            segments,
            options,
        );
        let mut event = Event::by(scope, AuditAction::TranscriptExport).resource(row.id);
        event.reason = Some(format.extension());
        self.core.audit(event).await?;
        Ok(text)
    }
}

/// A transcript in an export format.
pub(crate) fn export_segments(
    format: ExportFormat,
    meta: &ExportMeta<'_>,
    segments: Vec<SegmentView>,
    options: ExportOptions,
) -> String {
    let segments: Vec<meetvault_stt::Segment> = segments
        .into_iter()
        .map(|s| meetvault_stt::Segment {
            speaker: s.speaker,
            start: s.start_ms as f64 / 1000.0,
            end: s.end_ms as f64 / 1000.0,
            text: s.text,
            avg_logprob: s.avg_logprob,
            no_speech_prob: s.no_speech_prob,
            words: s.words,
        })
        .collect();
    meetvault_stt::export_with(format, meta, &segments, options)
}
