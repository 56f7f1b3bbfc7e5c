//! The OpenAI-compatible endpoint on the wire: its multipart form and its JSON answers. The
//! answers are built by `meetvault_stt::openai` (which also reads remote providers' answers);
//! these are their schemas.

use serde::Serialize;
use utoipa::ToSchema;

/// `response_format` of the endpoint.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // a schema only: the handler parses the form field itself
pub enum ResponseFormat {
    Json,
    Text,
    Srt,
    Vtt,
    VerboseJson,
}

/// The multipart form of `POST /v1/audio/transcriptions` and `/v1/audio/translations`.
#[derive(Debug, ToSchema)]
#[allow(dead_code)] // a schema only: the handler streams the form with multer
pub struct TranscriptionForm {
    /// The audio, any supported format, up to 512 MiB.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// Any value; the local model answers.
    model: Option<String>,
    /// The spoken language, a Whisper code; absent: detected.
    language: Option<String>,
    /// Default `json`.
    response_format: Option<ResponseFormat>,
    /// Names and jargon to spell that way (Whisper's initial prompt), at most 223 tokens.
    prompt: Option<String>,
    /// Accepted and ignored.
    temperature: Option<f32>,
    /// `segment` (the default) and/or `word`, repeated; only with `verbose_json`.
    #[schema(rename = "timestamp_granularities[]")]
    timestamp_granularities: Option<Vec<String>>,
}

/// `response_format=json`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TranscriptionText {
    pub text: String,
}

/// `response_format=verbose_json`, as OpenAI documents it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[allow(dead_code)] // a schema of `meetvault_stt::openai::VerboseJson`
pub struct VerboseTranscription {
    /// `transcribe`.
    task: Option<String>,
    /// The language's English name (`english`).
    language: Option<String>,
    /// Seconds.
    duration: Option<f64>,
    text: String,
    segments: Option<Vec<VerboseSegment>>,
    words: Option<Vec<VerboseWord>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[allow(dead_code)] // a schema of `meetvault_stt::openai::VerboseSegment`
pub struct VerboseSegment {
    id: u32,
    seek: u32,
    /// Seconds.
    start: f64,
    end: f64,
    text: String,
    tokens: Vec<u32>,
    temperature: f32,
    avg_logprob: Option<f32>,
    compression_ratio: Option<f32>,
    no_speech_prob: Option<f32>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[allow(dead_code)] // a schema of `meetvault_stt::openai::VerboseWord`
pub struct VerboseWord {
    word: String,
    start: f64,
    end: f64,
}

/// The JSON answers: `{text}` (`json`) or the verbose form (`verbose_json`).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)] // a schema only
pub enum TranscriptionJson {
    Text(TranscriptionText),
    Verbose(VerboseTranscription),
}

#[cfg(test)]
mod tests {
    use meetvault_stt::openai::{
        VerboseJson, VerboseSegment as SttSegment, VerboseWord as SttWord,
    };

    use super::*;
    use crate::wire::{keys, schema_properties};

    #[test]
    fn the_verbose_schemas_name_every_field_the_endpoint_writes() {
        let word = SttWord {
            word: "hello".into(),
            start: 0.0,
            end: 0.4,
        };
        let segment = SttSegment {
            id: 0,
            seek: 0,
            start: 0.0,
            end: 1.0,
            text: "hello".into(),
            tokens: vec![1],
            temperature: 0.0,
            avg_logprob: Some(-0.2),
            compression_ratio: Some(1.0),
            no_speech_prob: Some(0.01),
        };
        let answer = serde_json::to_value(VerboseJson {
            task: Some("transcribe".into()),
            language: Some("english".into()),
            duration: Some(1.0),
            text: "hello".into(),
            segments: Some(vec![segment]),
            words: Some(vec![word]),
        })
        .unwrap();
        assert_eq!(keys(&answer), schema_properties::<VerboseTranscription>());
        assert_eq!(
            keys(&answer["segments"][0]),
            schema_properties::<VerboseSegment>()
        );
        assert_eq!(
            keys(&answer["words"][0]),
            schema_properties::<VerboseWord>()
        );
    }
}
