//! meetvault as a private model server: OpenAI-compatible chat completions and embeddings from
//! the embedded models, for API keys (`POST /v1/chat/completions`, `POST /v1/embeddings`), so
//! existing OpenAI SDKs — and another meetvault's remote provider — can use this one. Nothing is
//! stored or logged; each request waits for the same permits as the summary jobs.

use meetvault_intel::llm::{Finish, Message, Role, Sampling};

use super::Intelligence;
use crate::CoreError;
use crate::access::Scope;
use crate::access::proof::MeetingsWrite;

/// The most text one chat request may send (all messages).
const MAX_CHAT_CHARS: usize = 100_000;
/// The most texts one embeddings request may send, and characters per text.
const MAX_INPUTS: usize = 512;
const MAX_INPUT_CHARS: usize = 20_000;
/// The longest answer a request may ask for.
const MAX_ANSWER_TOKENS: u32 = 2_048;

/// A chat completion request, as the OpenAI API has it (text content only).
#[derive(Debug, Clone, Default)]
pub struct ChatRequest {
    pub model: String,
    /// (role, content): `system` (or `developer`), `user`, `assistant`.
    pub messages: Vec<(String, String)>,
    pub max_tokens: Option<u32>,
    pub temperature: Option<f32>,
    pub top_p: Option<f32>,
    pub seed: Option<u64>,
    pub stop: Vec<String>,
    pub frequency_penalty: Option<f32>,
    /// A JSON schema the answer is held to (structured outputs); greedy.
    pub schema: Option<serde_json::Value>,
}

/// The answer.
#[derive(Debug, Clone)]
pub struct ChatAnswer {
    pub model: String,
    pub text: String,
    /// `stop` or `length`.
    pub finish_reason: &'static str,
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
}

/// Embeddings of the inputs, in order.
#[derive(Debug, Clone)]
pub struct EmbeddingsAnswer {
    pub model: String,
    pub vectors: Vec<Vec<f32>>,
    pub tokens: u32,
}

fn check_model(asked: &str, served: &str) -> Result<(), CoreError> {
    if asked.trim().eq_ignore_ascii_case(served) {
        Ok(())
    } else {
        Err(CoreError::invalid(
            "model",
            format!("this server serves {served:?}"),
        ))
    }
}

impl Intelligence<'_> {
    /// The served chat model's name, if it is installed and the endpoint is on.
    async fn served(&self) -> Result<(), CoreError> {
        self.core.check_intelligence()?;
        if !self.core.config().intelligence.openai_endpoint {
            return Err(CoreError::NotFound("endpoint"));
        }
        Ok(())
    }

    /// A chat completion by the embedded chat model.
    pub async fn chat(
        self,
        _scope: &Scope<MeetingsWrite>,
        req: ChatRequest,
    ) -> Result<ChatAnswer, CoreError> {
        self.served().await?;
        let models = &self.core.inner.intel;
        let name = models.chat_name();
        check_model(&req.model, &name)?;
        if req.messages.is_empty() {
            return Err(CoreError::invalid("messages", "must not be empty"));
        }
        if req.messages.iter().map(|(_, c)| c.len()).sum::<usize>() > MAX_CHAT_CHARS {
            return Err(CoreError::invalid(
                "messages",
                format!("at most {MAX_CHAT_CHARS} characters in all"),
            ));
        }
        let messages = req
            .messages
            .iter()
            .map(|(role, content)| {
                let role = match role.as_str() {
                    "system" | "developer" => Role::System,
                    "user" => Role::User,
                    "assistant" => Role::Assistant,
                    _ => {
                        return Err(CoreError::invalid(
                            "messages",
                            "each role must be system, developer, user or assistant",
                        ));
                    }
                };
                Ok(Message {
                    role,
                    content: content.clone(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let max_tokens = req.max_tokens.unwrap_or(256);
        if !(1..=MAX_ANSWER_TOKENS).contains(&max_tokens) {
            return Err(CoreError::invalid(
                "max_tokens",
                format!("must be between 1 and {MAX_ANSWER_TOKENS}"),
            ));
        }
        let temperature = req.temperature.unwrap_or(0.0);
        if !(0.0..=2.0).contains(&temperature) {
            return Err(CoreError::invalid("temperature", "must be between 0 and 2"));
        }
        let top_p = req.top_p.unwrap_or(1.0);
        if !(top_p > 0.0 && top_p <= 1.0) {
            return Err(CoreError::invalid("top_p", "must be above 0 and at most 1"));
        }
        if req.stop.len() > 4 || req.stop.iter().any(|s| s.is_empty() || s.len() > 200) {
            return Err(CoreError::invalid(
                "stop",
                "at most 4 sequences of 1 to 200 characters",
            ));
        }
        let penalty = req.frequency_penalty.unwrap_or(0.0);
        if !(-2.0..=2.0).contains(&penalty) {
            return Err(CoreError::invalid(
                "frequency_penalty",
                "must be between -2 and 2",
            ));
        }
        let Some(model) = models.chat().await else {
            return Err(CoreError::Conflict(
                "the embedded chat model is not installed: run scripts/models.sh --model smollm2 \
                 DATA_DIR/models (or set intelligence.chat_model)"
                    .into(),
            ));
        };
        let sampling = Sampling {
            max_tokens: max_tokens as usize,
            temperature,
            top_p,
            seed: req.seed.unwrap_or(0),
            // OpenAI's additive penalty has no exact match here; a positive one maps to the
            // multiplicative repeat penalty.
            repeat_penalty: 1.0 + penalty.max(0.0) / 2.0,
            stop: req.stop.clone(),
        };
        if let Some(schema) = &req.schema {
            meetvault_intel::llm::check_schema(schema)
                .map_err(|m| CoreError::invalid("response_format", m))?;
        }
        let schema = req.schema.clone();
        let done = models
            .run_interactive(move || match &schema {
                Some(schema) => model.complete_json(&messages, schema, sampling.max_tokens),
                None => model.complete(&messages, &sampling, |_| true),
            })
            .await?
            .map_err(|e| match e {
                meetvault_intel::IntelError::Input(m) => CoreError::invalid("messages", m),
                other => CoreError::internal(other),
            })?;
        Ok(ChatAnswer {
            model: name,
            text: done.text,
            finish_reason: match done.finish {
                Finish::Stop => "stop",
                Finish::Length => "length",
            },
            prompt_tokens: u32::try_from(done.prompt_tokens).unwrap_or(u32::MAX),
            completion_tokens: u32::try_from(done.completion_tokens).unwrap_or(u32::MAX),
        })
    }

    /// Embeddings of `inputs` by the embedded model (unit vectors, as sentence-transformers
    /// makes them).
    pub async fn embeddings(
        self,
        _scope: &Scope<MeetingsWrite>,
        model: &str,
        inputs: Vec<String>,
    ) -> Result<EmbeddingsAnswer, CoreError> {
        self.served().await?;
        let models = &self.core.inner.intel;
        let name = models.embedding_name();
        check_model(model, &name)?;
        if inputs.is_empty() || inputs.len() > MAX_INPUTS {
            return Err(CoreError::invalid(
                "input",
                format!("1 to {MAX_INPUTS} texts"),
            ));
        }
        if inputs
            .iter()
            .any(|t| t.is_empty() || t.len() > MAX_INPUT_CHARS)
        {
            return Err(CoreError::invalid(
                "input",
                format!("each text 1 to {MAX_INPUT_CHARS} characters"),
            ));
        }
        let Some(embedder) = models.embedder().await else {
            return Err(CoreError::Conflict(
                "the embedding model is not installed: run scripts/models.sh --model minilm \
                 DATA_DIR/models (or set intelligence.embedding_model)"
                    .into(),
            ));
        };
        let (vectors, tokens) = models
            .run_interactive(move || -> meetvault_intel::Result<_> {
                let mut tokens = 0usize;
                let mut vectors = Vec::with_capacity(inputs.len());
                for batch in inputs.chunks(32) {
                    let refs: Vec<&str> = batch.iter().map(String::as_str).collect();
                    for t in &refs {
                        tokens += embedder.count_tokens(t)?;
                    }
                    vectors.extend(embedder.embed(&refs)?);
                }
                Ok((vectors, tokens))
            })
            .await?
            .map_err(CoreError::internal)?;
        Ok(EmbeddingsAnswer {
            model: name,
            vectors,
            tokens: u32::try_from(tokens).unwrap_or(u32::MAX),
        })
    }
}
