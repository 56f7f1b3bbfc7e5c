//! [`Deepgram`]: a client for Deepgram's pre-recorded transcription (`POST /v1/listen`), and
//! the mapping of its answer (utterances, or words grouped into segments) to [`RawSegment`]s.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::CONTENT_TYPE;
use secrecy::SecretString;
use serde::Deserialize;
use url::Url;

use crate::remote::{Provider, Remote};
use crate::{Engine, RawSegment, Request, SttError};

const PROVIDER: Provider = Provider {
    name: "deepgram",
    auth_scheme: "Token",
    path: "listen",
    example_model: "nova-2",
};
/// A silence longer than this between two words starts a new segment.
const MAX_WORD_GAP_SECS: f64 = 1.0;

/// A client for Deepgram's pre-recorded API.
///
/// It posts the WAV as the body (`Content-Type: audio/wav`) to
/// `{base}/v1/listen?model=…&punctuate=true&utterances=true&smart_format=true` plus
/// `&language=…` when [`Request::language`] is set, or `&detect_language=true` when it is not,
/// authenticated with `Authorization: Token <key>`. Deepgram has no prompt or beam size;
/// [`Request::prompt`] and [`Request::beam_size`] are ignored.
///
/// Segments are Deepgram's utterances; without them, the words of the first channel's best
/// alternative are grouped into segments at sentence ends and at pauses over 1 s. Deepgram's
/// `confidence` (0..1) becomes `avg_logprob = ln(confidence)`.
pub struct Deepgram {
    remote: Remote,
}

impl fmt::Debug for Deepgram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.remote.debug_as("Deepgram", f)
    }
}

impl Deepgram {
    /// Deepgram's hosted API.
    pub const DEFAULT_BASE_URL: &'static str = "https://api.deepgram.com";
    /// The model used unless another is given.
    pub const DEFAULT_MODEL: &'static str = "nova-2";

    /// A client for Deepgram's hosted API with the default model.
    pub fn hosted(
        api_key: SecretString,
        http: meetvault_outbound::Client,
    ) -> Result<Self, SttError> {
        let base_url = Url::parse(Self::DEFAULT_BASE_URL)
            .map_err(|e| SttError::InvalidConfig(format!("bad default base URL: {e}")))?;
        Self::new(base_url, api_key, Self::DEFAULT_MODEL, http)
    }

    /// Checks the settings and builds the client; nothing is sent until the first request.
    ///
    /// The same rules as [`OpenAiCompatible::new`](crate::OpenAiCompatible::new): the outbound
    /// policy of `http`; `/v1` is not doubled if `base_url` ends in it.
    pub fn new(
        base_url: Url,
        api_key: SecretString,
        model: impl Into<String>,
        http: meetvault_outbound::Client,
    ) -> Result<Self, SttError> {
        let remote = Remote::new(&PROVIDER, base_url, api_key, model.into(), http)?;
        Ok(Self { remote })
    }

    /// Sets how long a whole request may take (default 15 minutes).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.remote.set_timeout(timeout);
        self
    }

    /// The URL requests are posted to (before the query).
    pub fn endpoint(&self) -> &Url {
        self.remote.endpoint()
    }

    /// The model asked for.
    pub fn model(&self) -> &str {
        self.remote.model()
    }
}

#[async_trait::async_trait]
impl Engine for Deepgram {
    fn name(&self) -> &str {
        PROVIDER.name
    }

    async fn transcribe(
        &self,
        wav_16k: Bytes,
        req: &Request,
    ) -> Result<(Option<String>, Vec<RawSegment>), SttError> {
        let fallback_duration = crate::wav::duration(&wav_16k);
        let mut url = self.remote.endpoint().clone();
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("model", self.remote.model())
                .append_pair("punctuate", "true")
                .append_pair("utterances", "true")
                .append_pair("smart_format", "true");
            match &req.language {
                Some(language) => query.append_pair("language", language),
                None => query.append_pair("detect_language", "true"),
            };
        }
        let request = self
            .remote
            .post(url)?
            .header(CONTENT_TYPE, "audio/wav")
            .body(wav_16k);
        let body = self.remote.send(request).await?;
        let answer: Listen = self.remote.parse(&body, "a Deepgram transcription")?;
        Ok(self
            .remote
            .finish(req, answer.into_segments(fallback_duration)))
    }
}

/// The parts of a pre-recorded answer that are used.
#[derive(Debug, Deserialize)]
struct Listen {
    #[serde(default)]
    metadata: Option<Metadata>,
    results: Results,
}

#[derive(Debug, Deserialize)]
struct Metadata {
    #[serde(default)]
    duration: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct Results {
    #[serde(default)]
    utterances: Option<Vec<Utterance>>,
    #[serde(default)]
    channels: Vec<Channel>,
}

#[derive(Debug, Deserialize)]
struct Utterance {
    start: f64,
    end: f64,
    #[serde(default)]
    transcript: String,
    #[serde(default)]
    confidence: Option<f64>,
    #[serde(default)]
    words: Vec<Word>,
}

#[derive(Debug, Deserialize)]
struct Channel {
    #[serde(default)]
    alternatives: Vec<Alternative>,
    #[serde(default)]
    detected_language: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Alternative {
    #[serde(default)]
    transcript: String,
    #[serde(default)]
    confidence: Option<f64>,
    #[serde(default)]
    words: Vec<Word>,
}

#[derive(Debug, Deserialize)]
struct Word {
    word: String,
    start: f64,
    end: f64,
    #[serde(default)]
    confidence: Option<f64>,
    #[serde(default)]
    punctuated_word: Option<String>,
}

impl Listen {
    fn into_segments(self, fallback_duration: Option<f64>) -> (Option<String>, Vec<RawSegment>) {
        let duration = self.metadata.and_then(|m| m.duration).or(fallback_duration);
        let mut channels = self.results.channels.into_iter();
        let first = channels.next();
        let language = first
            .as_ref()
            .and_then(|c| c.detected_language.as_deref())
            .and_then(crate::language::normalize);

        if let Some(utterances) = self.results.utterances.filter(|u| !u.is_empty()) {
            let segments = utterances
                .into_iter()
                .map(|u| RawSegment {
                    start: u.start,
                    end: u.end,
                    text: u.transcript.trim().to_owned(),
                    avg_logprob: u.confidence.map(log_confidence),
                    no_speech_prob: None,
                    words: timed(u.words.iter()),
                })
                .collect();
            return (language, segments);
        }

        let Some(best) = first.and_then(|c| c.alternatives.into_iter().next()) else {
            return (language, Vec::new());
        };
        if !best.words.is_empty() {
            return (language, group_words(&best.words));
        }
        let text = best.transcript.trim();
        if text.is_empty() {
            return (language, Vec::new());
        }
        let whole = RawSegment {
            start: 0.0,
            end: duration.unwrap_or(0.0),
            text: text.to_owned(),
            avg_logprob: best.confidence.map(log_confidence),
            no_speech_prob: None,
            words: Vec::new(),
        };
        (language, vec![whole])
    }
}

/// Words into segments: a segment ends after a word that ends a sentence, or before a word
/// that follows a pause longer than [`MAX_WORD_GAP_SECS`].
fn group_words(words: &[Word]) -> Vec<RawSegment> {
    let mut segments = Vec::new();
    let mut current: Vec<&Word> = Vec::new();
    for word in words {
        if current
            .last()
            .is_some_and(|last| word.start - last.end > MAX_WORD_GAP_SECS)
        {
            segments.extend(segment_of(&current));
            current.clear();
        }
        current.push(word);
        if shown(word).ends_with(['.', '?', '!']) {
            segments.extend(segment_of(&current));
            current.clear();
        }
    }
    segments.extend(segment_of(&current));
    segments
}

/// The punctuated word where Deepgram gave one that is not blank, else the bare word.
fn shown(word: &Word) -> &str {
    word.punctuated_word
        .as_deref()
        .filter(|w| !w.trim().is_empty())
        .unwrap_or(&word.word)
}

fn segment_of(words: &[&Word]) -> Option<RawSegment> {
    let (first, last) = (words.first()?, words.last()?);
    let text = words.iter().map(|w| shown(w)).collect::<Vec<_>>().join(" ");
    let confidences: Vec<f64> = words.iter().filter_map(|w| w.confidence).collect();
    let avg_logprob = (!confidences.is_empty())
        .then(|| log_confidence(confidences.iter().sum::<f64>() / confidences.len() as f64));
    Some(RawSegment {
        start: first.start,
        end: last.end,
        text,
        avg_logprob,
        no_speech_prob: None,
        words: timed(words.iter().copied()),
    })
}

/// Deepgram's words as segment words: punctuated where it punctuated them, with a leading
/// space as Whisper's, its confidence as the probability.
fn timed<'a>(words: impl Iterator<Item = &'a Word>) -> Vec<crate::Word> {
    words
        .filter(|w| w.start.is_finite() && w.end.is_finite() && !shown(w).trim().is_empty())
        .map(|w| crate::Word {
            text: format!(" {}", shown(w).trim()),
            start: w.start,
            end: w.end.max(w.start),
            probability: w.confidence.map(|c| c.clamp(0.0, 1.0) as f32),
        })
        .collect()
}

/// `ln(confidence)`, with the confidence kept in (0, 1] so the result is finite.
fn log_confidence(confidence: f64) -> f32 {
    confidence.clamp(1e-6, 1.0).ln() as f32
}

#[cfg(test)]
mod tests;
