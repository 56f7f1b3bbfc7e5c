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

/// `POST /v1/chat/completions`, as the OpenAI API has it (text only; one choice; no streaming).
#[derive(Debug, Clone, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"model": "smollm2-135m-instruct", "messages": [{"role": "user", "content": "Say hello."}], "max_tokens": 32}))]
pub struct ChatCompletionRequest {
    /// The served model's name (`GET /api/v1/processors` lists it): `smollm2-135m-instruct`
    /// unless `intelligence.chat_model` names another.
    pub model: String,
    pub messages: Vec<ChatMessage>,
    /// At most 2048; default 256.
    #[serde(default)]
    pub max_tokens: Option<u32>,
    /// The same as `max_tokens` (the newer name).
    #[serde(default)]
    pub max_completion_tokens: Option<u32>,
    /// 0 (the default): greedy; up to 2.
    #[serde(default)]
    pub temperature: Option<f32>,
    #[serde(default)]
    pub top_p: Option<f32>,
    #[serde(default)]
    pub seed: Option<u64>,
    /// A string or up to 4 strings.
    #[serde(default)]
    pub stop: Option<Strings>,
    /// Only `false` (streaming is not served).
    #[serde(default)]
    pub stream: Option<bool>,
    /// Only 1.
    #[serde(default)]
    pub n: Option<u32>,
    #[serde(default)]
    pub frequency_penalty: Option<f32>,
    /// Accepted, -2 to 2, and not applied.
    #[serde(default)]
    pub presence_penalty: Option<f32>,
    /// `{"type": "text"}`, or a JSON schema the answer is held to.
    #[serde(default)]
    pub response_format: Option<ResponseFormatSpec>,
    /// Accepted and ignored.
    #[serde(default)]
    pub user: Option<String>,
}

/// One message: its content a string, or a list of `{"type": "text", "text": …}` parts.
#[derive(Debug, Clone, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatMessage {
    /// `system`, `developer`, `user` or `assistant`.
    pub role: String,
    pub content: MessageContent,
    #[serde(default)]
    pub name: Option<String>,
}

/// The answer of `POST /v1/chat/completions`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChatCompletion {
    /// `chatcmpl-…`
    pub id: String,
    /// `chat.completion`
    pub object: &'static str,
    /// Unix seconds.
    pub created: i64,
    pub model: String,
    pub choices: Vec<ChatChoice>,
    pub usage: Usage,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChatChoice {
    pub index: u32,
    pub message: AssistantMessage,
    /// `stop` or `length`.
    pub finish_reason: &'static str,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AssistantMessage {
    /// `assistant`
    pub role: &'static str,
    pub content: String,
}

/// Tokens counted by the model's own tokenizer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Usage {
    pub prompt_tokens: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completion_tokens: Option<u32>,
    pub total_tokens: u32,
}

/// `POST /v1/embeddings`, as the OpenAI API has it.
#[derive(Debug, Clone, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"model": "all-minilm-l6-v2", "input": ["The budget is due on Friday."]}))]
pub struct EmbeddingsRequest {
    /// A string or a list of up to 512 strings (token arrays are not accepted).
    pub input: Strings,
    /// `all-minilm-l6-v2` unless `intelligence.embedding_model` names another folder.
    pub model: String,
    /// `float` (the default) or `base64` (little-endian float32, as OpenAI's SDKs ask for).
    #[serde(default)]
    pub encoding_format: Option<String>,
    /// Only the model's own (384).
    #[serde(default)]
    pub dimensions: Option<u32>,
    #[serde(default)]
    pub user: Option<String>,
}

/// The answer of `POST /v1/embeddings`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EmbeddingList {
    /// `list`
    pub object: &'static str,
    pub data: Vec<Embedding>,
    pub model: String,
    pub usage: Usage,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Embedding {
    /// `embedding`
    pub object: &'static str,
    pub index: u32,
    /// A list of floats, or a base64 string with `encoding_format: "base64"`.
    pub embedding: Vector,
}

/// A string or a list of strings.
#[derive(Debug, Clone, serde::Deserialize, ToSchema)]
#[serde(untagged)]
pub enum Strings {
    One(String),
    Many(Vec<String>),
}

impl Strings {
    pub fn into_vec(self) -> Vec<String> {
        match self {
            Strings::One(s) => vec![s],
            Strings::Many(v) => v,
        }
    }
}

/// A message's content: text, or text parts.
#[derive(Debug, Clone, serde::Deserialize, ToSchema)]
#[serde(untagged)]
pub enum MessageContent {
    Text(String),
    Parts(Vec<ContentPart>),
}

/// A part of a message: only `{"type": "text", "text": …}`.
#[derive(Debug, Clone, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContentPart {
    #[serde(rename = "type")]
    pub kind: String,
    pub text: String,
}

/// `response_format`: `text`; `json_schema` with `json_schema.schema` (OpenAI's structured
/// outputs); or `json_object` with a `schema` beside it (llama.cpp's form). A schema is
/// followed token by token: the answer always parses and matches it.
#[derive(Debug, Clone, serde::Deserialize, ToSchema)]
pub struct ResponseFormatSpec {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub json_schema: Option<JsonSchemaSpec>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub schema: Option<serde_json::Value>,
}

/// OpenAI's `response_format.json_schema`.
#[derive(Debug, Clone, serde::Deserialize, ToSchema)]
pub struct JsonSchemaSpec {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[schema(value_type = Object)]
    pub schema: serde_json::Value,
    /// Accepted: every schema served is followed strictly.
    #[serde(default)]
    pub strict: Option<bool>,
}

/// An embedding: floats, or base64 of little-endian float32s.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum Vector {
    Floats(Vec<f32>),
    Base64(String),
}
