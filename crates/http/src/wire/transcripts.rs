//! Transcripts on the wire: segments as read back (merged by time across tracks), segments to
//! import, and what an import stored. Exports (SRT, WebVTT, Markdown, text) are text bodies.

use meetvault_core::ids::{RecordingId, SegmentId};
use meetvault_core::meetings::{NewSegment as CoreNewSegment, SegmentEdit, SegmentView};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ids, list_of};

/// One timed, speaker-attributed stretch of the transcript.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Segment {
    /// Names the segment to correct (`PATCH /meetings/{id}/transcript/{segment_id}`).
    #[schema(value_type = ids::SegmentId)]
    pub id: SegmentId,
    pub start_ms: i64,
    pub end_ms: i64,
    pub speaker: String,
    pub text: String,
    /// The track it was transcribed from (null for imported segments).
    #[schema(value_type = Option<ids::RecordingId>, required = true)]
    pub recording_id: Option<RecordingId>,
    /// The engine's mean token log-probability (null for imported segments).
    #[schema(required = true)]
    pub avg_logprob: Option<f32>,
    /// The engine's estimate that the stretch holds no speech.
    #[schema(required = true)]
    pub no_speech_prob: Option<f32>,
    /// The language the local engine heard in the segment (a Whisper code: detected per track,
    /// or per 30-second window with `transcription.multilingual`); null for imported segments
    /// and remote providers.
    #[schema(required = true)]
    pub language: Option<String>,
    /// Its words, timed, when the transcription asked for word timestamps (absent otherwise).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub words: Vec<Word>,
}

/// One timed word of a segment.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Word {
    /// The word as the engine wrote it, with its leading space and punctuation (a segment's
    /// words put together are its text).
    pub text: String,
    pub start_ms: i64,
    pub end_ms: i64,
    /// The engine's confidence in the word, 0–1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f32>,
}

impl From<meetvault_stt::Word> for Word {
    fn from(w: meetvault_stt::Word) -> Self {
        Self {
            text: w.text,
            start_ms: (w.start * 1000.0).round() as i64,
            end_ms: (w.end * 1000.0).round() as i64,
            probability: w.probability,
        }
    }
}

impl From<SegmentView> for Segment {
    fn from(s: SegmentView) -> Self {
        Self {
            id: s.id,
            start_ms: s.start_ms,
            end_ms: s.end_ms,
            speaker: s.speaker,
            text: s.text,
            recording_id: s.recording_id,
            avg_logprob: s.avg_logprob,
            no_speech_prob: s.no_speech_prob,
            language: s.language,
            words: s.words.into_iter().map(Word::from).collect(),
        }
    }
}

list_of!(
    /// A meeting's transcript: every track's segments, merged by time.
    #[schema(example = json!({"segments": [{
        "id": "seg_0192f1c4a6e87c3d9b5e2f1a0c4d6e8f", "start_ms": 0, "end_ms": 2400, "speaker": "Alice", "text": "Good morning, everyone.",
        "recording_id": "rec_0192f1c4a6e87c3d9b5e2f1a0c4d6e8f", "avg_logprob": -0.21, "no_speech_prob": 0.01
    }]}))]
    Transcript { segments: Vec<Segment> } from SegmentView
);

/// A correction of one segment: its speaker, its text, or both.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"text": "We ship on Friday, not Thursday."}))]
pub struct SegmentPatch {
    /// 1–200 characters.
    pub speaker: Option<String>,
    /// Up to 20 000 characters; the segment's timed words are dropped (they no longer match).
    pub text: Option<String>,
}

impl From<SegmentPatch> for SegmentEdit {
    fn from(p: SegmentPatch) -> Self {
        Self {
            speaker: p.speaker,
            text: p.text,
        }
    }
}

/// A speaker's new name, in every segment of the meeting.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"from": "SPEAKER_1", "to": "Ada Lovelace"}))]
pub struct SpeakerRename {
    /// The name as the transcript has it now (exactly).
    pub from: String,
    /// 1–200 characters.
    pub to: String,
}

/// How many segments a rename changed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SpeakerRenamed {
    pub renamed: usize,
}

/// A segment to import.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSegment {
    pub start_ms: i64,
    pub end_ms: i64,
    pub speaker: String,
    pub text: String,
}

impl From<NewSegment> for CoreNewSegment {
    fn from(s: NewSegment) -> Self {
        Self {
            start_ms: s.start_ms,
            end_ms: s.end_ms,
            speaker: s.speaker,
            text: s.text,
        }
    }
}

/// Segments to append to a meeting's transcript.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SegmentsBody {
    /// At most 5000 per request.
    pub segments: Vec<NewSegment>,
}

/// How many segments were stored.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SegmentsStored {
    pub stored: usize,
}

/// `?format=` of `GET /meetings/{id}/transcript`: absent for the segments as JSON, or an export.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)] // a schema only: the query is parsed by `meetvault_stt::ExportFormat`
pub enum TranscriptFormat {
    Json,
    Srt,
    Vtt,
    Md,
    Txt,
    /// The meeting as a PDF: the summary and action items when there are any, then the
    /// transcript (`meetvault_pdf`).
    Pdf,
}

#[cfg(test)]
mod tests {
    use meetvault_stt::ExportFormat;

    use super::TranscriptFormat;

    #[test]
    fn the_format_schema_names_every_export() {
        let schema =
            serde_json::to_value(<TranscriptFormat as utoipa::PartialSchema>::schema()).unwrap();
        let named: Vec<&str> = schema["enum"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        let mut exports: Vec<&str> = ExportFormat::ALL.iter().map(|f| f.as_str()).collect();
        exports.push("pdf");
        assert_eq!(named, exports);
    }
}
