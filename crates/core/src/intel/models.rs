//! The embedded models of meeting intelligence — the chat model (summaries' overviews) and the
//! sentence-embedding model (search and questions) — each loaded once, on first use, and the
//! semaphore every inference waits on (`intelligence.concurrency` permits). A model that is not
//! installed is `None`, logged once with the command that installs it: summaries then fall back
//! to extractive overviews, search to keywords, and questions are refused.

use std::path::PathBuf;
use std::sync::Arc;

use meetvault_intel::embed::Embedder;
use meetvault_intel::llm::ChatModel;
use tokio::sync::{OnceCell, Semaphore};

use crate::CoreError;

/// The embedded models, loaded on first use.
#[derive(Debug)]
pub struct IntelModels {
    chat_path: PathBuf,
    embed_dir: PathBuf,
    context: usize,
    chat: OnceCell<Option<Arc<ChatModel>>>,
    embedder: OnceCell<Option<Arc<Embedder>>>,
    /// Summary jobs (minutes each for a long meeting).
    permits: Arc<Semaphore>,
    /// Requests a caller waits for (a search's query vector, a question, the model
    /// endpoints): their own permit, so they never queue behind a summary job; they share the
    /// CPU with it instead.
    interactive: Arc<Semaphore>,
    /// Places in the interactive waiting line; a request finding none gets 429.
    waiting: Arc<Semaphore>,
    /// The PII detectors: the built-in kinds and `intelligence.pii_patterns`.
    detector: Arc<meetvault_intel::pii::Detector>,
}

/// Interactive requests that may wait for the model at once (beyond the one running).
const WAITING_LINE: usize = 8;

impl IntelModels {
    /// Fails when an operator PII pattern is refused (the message names it).
    pub(crate) fn new(config: &meetvault_config::Config) -> Result<Self, CoreError> {
        let custom: Vec<meetvault_intel::pii::CustomPattern> = config
            .intelligence
            .pii_patterns
            .iter()
            .map(|p| meetvault_intel::pii::CustomPattern {
                name: p.name.clone(),
                pattern: p.pattern.clone(),
            })
            .collect();
        let detector = meetvault_intel::pii::Detector::new(&custom)
            .map_err(|e| CoreError::invalid("intelligence.pii_patterns", e.to_string()))?;
        Ok(Self {
            chat_path: config.chat_model_path(),
            embed_dir: config.embedding_model_dir(),
            context: usize::try_from(config.intelligence.context_tokens).unwrap_or(2048),
            chat: OnceCell::new(),
            embedder: OnceCell::new(),
            permits: Arc::new(Semaphore::new(
                usize::try_from(config.intelligence.concurrency)
                    .unwrap_or(1)
                    .max(1),
            )),
            interactive: Arc::new(Semaphore::new(1)),
            waiting: Arc::new(Semaphore::new(WAITING_LINE)),
            detector: Arc::new(detector),
        })
    }

    /// The PII detectors (built-in kinds and the operator's patterns).
    pub(crate) fn detector(&self) -> Arc<meetvault_intel::pii::Detector> {
        self.detector.clone()
    }

    /// The chat model, or `None` when it is not installed or does not load.
    pub(crate) async fn chat(&self) -> Option<Arc<ChatModel>> {
        let path = self.chat_path.clone();
        let context = self.context;
        self.chat
            .get_or_init(|| async move {
                if !path.is_file() {
                    tracing::warn!(
                        path = %path.display(),
                        "the embedded chat model is not installed: overviews are extractive; \
                         install it with `scripts/models.sh --model smollm2 DATA_DIR/models`"
                    );
                    return None;
                }
                let loaded = tokio::task::spawn_blocking(move || ChatModel::load(&path, context))
                    .await
                    .ok()?;
                match loaded {
                    Ok(m) => {
                        tracing::info!(model = m.name(), "embedded chat model loaded");
                        Some(Arc::new(m))
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "the embedded chat model does not load");
                        None
                    }
                }
            })
            .await
            .clone()
    }

    /// The embedding model, or `None` when it is not installed or does not load.
    pub(crate) async fn embedder(&self) -> Option<Arc<Embedder>> {
        let dir = self.embed_dir.clone();
        self.embedder
            .get_or_init(|| async move {
                if !dir.join("model.safetensors").is_file() {
                    tracing::warn!(
                        path = %dir.display(),
                        "the embedding model is not installed: search is by keyword only and \
                         questions are refused; install it with \
                         `scripts/models.sh --model minilm DATA_DIR/models`"
                    );
                    return None;
                }
                let loaded = tokio::task::spawn_blocking(move || Embedder::load(&dir))
                    .await
                    .ok()?;
                match loaded {
                    Ok(e) => Some(Arc::new(e)),
                    Err(e) => {
                        tracing::error!(error = %e, "the embedding model does not load");
                        None
                    }
                }
            })
            .await
            .clone()
    }

    /// Runs CPU work on the blocking pool once a permit is free.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, CoreError> {
        let _permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(CoreError::internal)?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(CoreError::internal)
    }

    /// Runs a caller's CPU work on the interactive permit (not behind summary jobs); 429 when
    /// the waiting line is full.
    pub(crate) async fn run_interactive<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, CoreError> {
        let Ok(_place) = self.waiting.clone().try_acquire_owned() else {
            return Err(CoreError::RateLimited {
                retry_after_secs: 2,
            });
        };
        let _permit = self
            .interactive
            .clone()
            .acquire_owned()
            .await
            .map_err(CoreError::internal)?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(CoreError::internal)
    }

    /// Whether each model file is where the configuration says (for the processors list).
    pub(crate) fn installed(&self) -> (bool, bool) {
        (
            self.chat_path.is_file(),
            self.embed_dir.join("model.safetensors").is_file(),
        )
    }

    /// The embedding model's folder name (the served model's name).
    pub(crate) fn embedding_name(&self) -> String {
        self.embed_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "embeddings".into())
    }

    /// The chat model's folder name (the served model's name, and the processors list's).
    pub(crate) fn chat_name(&self) -> String {
        self.chat_path
            .parent()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "chat model".into())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_operator_pattern_that_is_refused_stops_the_start_naming_it() {
        let mut config = meetvault_config::Config::default();
        config.intelligence.pii_patterns = vec![meetvault_config::PiiPattern {
            name: "EMAIL".into(),
            pattern: "x+".into(),
        }];
        let e = super::IntelModels::new(&config).unwrap_err().to_string();
        assert!(
            e.contains("intelligence.pii_patterns") && e.contains("EMAIL"),
            "{e}"
        );
        config.intelligence.pii_patterns[0] = meetvault_config::PiiPattern {
            name: "TICKET".into(),
            pattern: "(unclosed".into(),
        };
        assert!(super::IntelModels::new(&config).is_err());
        config.intelligence.pii_patterns[0].pattern = "TCK-[0-9]{4}".into();
        let m = super::IntelModels::new(&config).unwrap();
        let mut map = meetvault_intel::pii::Mapping::new();
        assert_eq!(map.redact(&m.detector(), "see TCK-1234"), "see [TICKET_1]");
    }
}
