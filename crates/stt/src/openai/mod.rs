//! OpenAI's audio transcription wire format (`verbose_json` answers and error bodies), shared by
//! the [`OpenAiCompatible`] client and by servers that offer an OpenAI-compatible
//! `POST /v1/audio/transcriptions`.
//!
//! Deserializing is lenient, because many servers speak this format: only `text` is expected
//! (and defaults to empty), `segments` and most of their fields may be missing or `null`.
//! Serializing writes every field OpenAI documents, leaving out the optional ones that are
//! `None`.

mod client;

pub use client::OpenAiCompatible;
use serde::{Deserialize, Deserializer, Serialize};

use crate::RawSegment;

/// A `response_format=verbose_json` transcription.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct VerboseJson {
    /// Always `transcribe` for this endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    /// The language's English name (`english`), as OpenAI reports it; some servers send a code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// The audio's duration in seconds (a number, or a numeric string from some servers).
    #[serde(
        default,
        deserialize_with = "number_or_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub duration: Option<f64>,
    /// The whole transcript.
    #[serde(default, deserialize_with = "null_as_default")]
    pub text: String,
    /// Timed segments (with `timestamp_granularities[]=segment`, the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segments: Option<Vec<VerboseSegment>>,
    /// Timed words (with `timestamp_granularities[]=word`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub words: Option<Vec<VerboseWord>>,
}

/// One segment of a [`VerboseJson`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerboseSegment {
    /// The segment's index.
    #[serde(default, deserialize_with = "null_as_default")]
    pub id: u32,
    /// Whisper's seek offset (in 10 ms frames) of the window the segment came from.
    #[serde(default, deserialize_with = "null_as_default")]
    pub seek: u32,
    /// Start, in seconds.
    pub start: f64,
    /// End, in seconds.
    pub end: f64,
    /// What was said.
    #[serde(default, deserialize_with = "null_as_default")]
    pub text: String,
    /// The segment's token ids.
    #[serde(default, deserialize_with = "null_as_default")]
    pub tokens: Vec<u32>,
    /// The sampling temperature the segment was decoded at.
    #[serde(default, deserialize_with = "null_as_default")]
    pub temperature: f32,
    /// Mean token log-probability.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avg_logprob: Option<f32>,
    /// The gzip compression ratio of the text (high means repetitive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression_ratio: Option<f32>,
    /// Probability that the segment holds no speech.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_speech_prob: Option<f32>,
}

/// One word of a [`VerboseJson`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerboseWord {
    /// The word.
    pub word: String,
    /// Start, in seconds.
    pub start: f64,
    /// End, in seconds.
    pub end: f64,
}

/// OpenAI's error body: `{"error": {"message", "type", "param", "code"}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// The `error` object of an [`ErrorBody`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// A message for a human.
    pub message: String,
    /// The error class, e.g. `invalid_request_error`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The request parameter at fault, if any.
    #[serde(default)]
    pub param: Option<String>,
    /// A machine-readable code, if any (e.g. `invalid_api_key`).
    #[serde(default)]
    pub code: Option<String>,
}

impl ErrorBody {
    /// An error body with `message` and `kind` (`type`), and no param or code.
    pub fn new(message: impl Into<String>, kind: impl Into<String>) -> Self {
        Self {
            error: ErrorDetail {
                message: message.into(),
                kind: kind.into(),
                param: None,
                code: None,
            },
        }
    }
}

impl VerboseJson {
    /// A transcription as OpenAI would answer it: `language` is a code (`en`) and is reported by
    /// its English name (`english`) when it has one; `text` is the segments' text joined.
    pub fn from_segments(language: Option<&str>, duration: f64, segments: &[RawSegment]) -> Self {
        let language = language.map(|l| {
            crate::language::name_for_code(l)
                .map(str::to_owned)
                .unwrap_or_else(|| l.to_owned())
        });
        let text = segments
            .iter()
            .map(|s| s.text.trim())
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let segments = segments
            .iter()
            .zip(0u32..)
            .map(|(s, id)| VerboseSegment {
                id,
                seek: 0,
                start: s.start,
                end: s.end,
                text: s.text.clone(),
                tokens: Vec::new(),
                temperature: 0.0,
                avg_logprob: s.avg_logprob,
                compression_ratio: None,
                no_speech_prob: s.no_speech_prob,
            })
            .collect();
        Self {
            task: Some("transcribe".to_owned()),
            language,
            duration: Some(duration),
            text,
            segments: Some(segments),
            words: None,
        }
    }

    /// Every word of `segments`, in order, trimmed as OpenAI writes them (`"Hello,"`).
    pub fn words_of(segments: &[RawSegment]) -> Vec<VerboseWord> {
        segments
            .iter()
            .flat_map(|s| &s.words)
            .map(|w| VerboseWord {
                word: w.text.trim().to_owned(),
                start: w.start,
                end: w.end,
            })
            .filter(|w| !w.word.is_empty())
            .collect()
    }

    /// The language (as a code where it is a known name) and the segments. An answer without
    /// segments but with text becomes one segment from 0 to `duration` (or to
    /// `fallback_duration`, the audio's own length, when the answer has none).
    pub fn into_segments(
        self,
        fallback_duration: Option<f64>,
    ) -> (Option<String>, Vec<RawSegment>) {
        let language = self
            .language
            .as_deref()
            .and_then(crate::language::normalize);
        let mut segments: Vec<RawSegment> = self
            .segments
            .unwrap_or_default()
            .into_iter()
            .map(|s| RawSegment {
                start: s.start,
                end: s.end,
                text: s.text,
                avg_logprob: s.avg_logprob,
                no_speech_prob: s.no_speech_prob,
                words: Vec::new(),
            })
            .collect();
        if segments.is_empty() && !self.text.trim().is_empty() {
            segments.push(RawSegment {
                start: 0.0,
                end: self.duration.or(fallback_duration).unwrap_or(0.0),
                text: self.text.trim().to_owned(),
                avg_logprob: None,
                no_speech_prob: None,
                words: Vec::new(),
            });
        }
        assign_words(&mut segments, self.words.unwrap_or_default());
        (language, segments)
    }
}

/// The answer's words (one list for the whole file) into its segments: each word goes to the
/// last segment that starts at or before the word's middle; a word before every segment goes
/// to the first. Written with a leading space, as Whisper's own words are; OpenAI's words carry
/// no punctuation, so put together they read as the text without it.
fn assign_words(segments: &mut [RawSegment], words: Vec<VerboseWord>) {
    for w in words {
        let text = w.word.trim();
        if text.is_empty() || !(w.start.is_finite() && w.end.is_finite()) {
            continue;
        }
        let middle = (w.start + w.end) / 2.0;
        let at = segments
            .iter()
            .rposition(|s| s.start <= middle)
            .unwrap_or(0);
        if let Some(segment) = segments.get_mut(at) {
            segment.words.push(crate::Word {
                text: format!(" {text}"),
                start: w.start,
                end: w.end.max(w.start),
                probability: None,
            });
        }
    }
}

fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

fn number_or_string<'de, D>(deserializer: D) -> Result<Option<f64>, D::Error>
where
    D: Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Lenient {
        Number(f64),
        Text(String),
    }
    Ok(match Option::<Lenient>::deserialize(deserializer)? {
        Some(Lenient::Number(n)) => Some(n),
        Some(Lenient::Text(s)) => s.trim().parse().ok(),
        None => None,
    })
}

#[cfg(test)]
mod tests;
