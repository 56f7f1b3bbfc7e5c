//! The transcript model: what an engine returns for one track ([`RawSegment`]), what is stored
//! and exported ([`Segment`]), and [`merge_tracks`], which turns per-speaker tracks into one
//! transcript ordered by time.

use serde::{Deserialize, Serialize};

/// One transcript segment as stored and exported: who said what, and when (seconds from the
/// start of the recording).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// The speaker's display name (the track's owner).
    pub speaker: String,
    /// Start, in seconds from the start of the recording.
    pub start: f64,
    /// End, in seconds from the start of the recording.
    pub end: f64,
    /// What was said.
    pub text: String,
    /// The engine's mean token log-probability, when it reports one (closer to 0 is surer).
    pub avg_logprob: Option<f32>,
    /// The engine's probability that the segment holds no speech, when it reports one.
    pub no_speech_prob: Option<f32>,
    /// The segment's words with their times, when word timestamps were asked for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub words: Vec<Word>,
}

/// One timed word of a segment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Word {
    /// The word as the engine wrote it; Whisper keeps its leading space and punctuation, so a
    /// segment's words put together are its text.
    pub text: String,
    /// Start, in seconds (the same origin as its segment's).
    pub start: f64,
    /// End, in seconds.
    pub end: f64,
    /// The engine's confidence in the word (0–1), when it reports one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f32>,
}

/// What an engine returns for one track: a segment without a speaker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawSegment {
    /// Start, in seconds from the start of the track.
    pub start: f64,
    /// End, in seconds from the start of the track.
    pub end: f64,
    /// What was said.
    pub text: String,
    /// The engine's mean token log-probability, when it reports one.
    pub avg_logprob: Option<f32>,
    /// The engine's probability that the segment holds no speech, when it reports one.
    pub no_speech_prob: Option<f32>,
    /// Its words, when the engine timed them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub words: Vec<Word>,
}

/// One speaker's track, transcribed.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackTranscript {
    /// The speaker this track belongs to.
    pub speaker: String,
    /// The language the engine detected or was told, if any.
    pub language: Option<String>,
    /// The track's segments.
    pub segments: Vec<RawSegment>,
}

/// Merges per-speaker tracks into one transcript ordered by start time.
///
/// The tracks are assumed to share the recording's time origin, so timestamps are kept as they
/// are. The order is stable: segments that start together are ordered by end, then by speaker,
/// then by their order in the input. Text is trimmed (engines such as Whisper lead each segment
/// with a space) and segments left with no text are dropped.
pub fn merge_tracks(tracks: Vec<TrackTranscript>) -> Vec<Segment> {
    let mut merged: Vec<Segment> = tracks
        .into_iter()
        .flat_map(|track| {
            let speaker = track.speaker;
            track.segments.into_iter().filter_map(move |raw| {
                let text = raw.text.trim();
                (!text.is_empty()).then(|| Segment {
                    speaker: speaker.clone(),
                    start: raw.start,
                    end: raw.end,
                    text: text.to_owned(),
                    avg_logprob: raw.avg_logprob,
                    no_speech_prob: raw.no_speech_prob,
                    words: raw.words,
                })
            })
        })
        .collect();
    // `sort_by` is stable, and `total_cmp` gives NaN a place instead of an inconsistent order.
    merged.sort_by(|a, b| {
        a.start
            .total_cmp(&b.start)
            .then(a.end.total_cmp(&b.end))
            .then_with(|| a.speaker.cmp(&b.speaker))
    });
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(start: f64, end: f64, text: &str) -> RawSegment {
        RawSegment {
            start,
            end,
            text: text.to_owned(),
            avg_logprob: Some(-0.2),
            no_speech_prob: None,
            words: Vec::new(),
        }
    }

    fn track(speaker: &str, segments: Vec<RawSegment>) -> TrackTranscript {
        TrackTranscript {
            speaker: speaker.to_owned(),
            language: Some("en".to_owned()),
            segments,
        }
    }

    fn summary(segments: &[Segment]) -> Vec<(String, f64, f64, String)> {
        segments
            .iter()
            .map(|s| (s.speaker.clone(), s.start, s.end, s.text.clone()))
            .collect()
    }

    #[test]
    fn tracks_interleave_by_start_time_with_timestamps_kept() {
        let merged = merge_tracks(vec![
            track(
                "Bob",
                vec![raw(1.5, 3.0, " Hi Alice."), raw(6.0, 7.25, " Sure.")],
            ),
            track(
                "Alice",
                vec![raw(0.0, 1.4, " Hi Bob."), raw(3.2, 5.9, " Shall we?")],
            ),
        ]);
        let s = |sp: &str, a, b, t: &str| (sp.to_owned(), a, b, t.to_owned());
        assert_eq!(
            summary(&merged),
            vec![
                s("Alice", 0.0, 1.4, "Hi Bob."),
                s("Bob", 1.5, 3.0, "Hi Alice."),
                s("Alice", 3.2, 5.9, "Shall we?"),
                s("Bob", 6.0, 7.25, "Sure."),
            ]
        );
        assert_eq!(merged[0].avg_logprob, Some(-0.2));
    }

    #[test]
    fn ties_are_broken_by_end_then_speaker_then_input_order() {
        let merged = merge_tracks(vec![
            track("Zoe", vec![raw(1.0, 2.0, "z1"), raw(1.0, 2.0, "z2")]),
            track("Adam", vec![raw(1.0, 3.0, "a-long"), raw(1.0, 2.0, "a")]),
        ]);
        let texts: Vec<_> = merged.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(texts, ["a", "z1", "z2", "a-long"]);
    }

    #[test]
    fn blank_segments_are_dropped() {
        let merged = merge_tracks(vec![track(
            "Alice",
            vec![raw(0.0, 1.0, "  "), raw(1.0, 2.0, "kept")],
        )]);
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].text, "kept");
    }

    #[test]
    fn no_tracks_give_no_segments() {
        assert!(merge_tracks(Vec::new()).is_empty());
    }
}
