//! The org's meeting-intelligence settings (`GET`/`PUT /api/v1/org/intelligence`): which
//! provider writes summaries' overviews — the embedded model, or any OpenAI-compatible
//! `/chat/completions` (Ollama, vLLM, llama.cpp's server, OpenAI, Azure OpenAI, another
//! meetvault) with the configuring user's stored API key, used only on their behalf — and when
//! PII is redacted before a model reads a transcript. The remote call goes through the
//! outbound client (the URL checked again and its name pinned at every connection), and its
//! answer is read tolerantly (a JSON body with `choices[0].message.content`, or plain text).

use meetvault_config::PiiRedaction;
use serde::{Deserialize, Serialize};
use url::Url;

use super::Intelligence;
use crate::access::Scope;
use crate::access::proof::OrgManage;
use crate::audit::{AuditAction, Event};
use crate::ids::{OrgId, UserId};
use crate::{Core, CoreError};

/// Who writes overviews.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ChatProvider {
    /// SmolLM2 (or the configured GGUF) in this process.
    #[default]
    Embedded,
    /// Any OpenAI-compatible chat completions server.
    Openai,
}

/// An org's settings; absent fields take the server's `[intelligence]` defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntelSettings {
    #[serde(default)]
    pub provider: ChatProvider,
    /// The server's base URL, ending before `/chat/completions` (`https://api.openai.com/v1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<Url>,
    /// The remote model's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The name of the configuring user's stored secret holding the API key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Set by the server: who named `secret` (the key is theirs, used on their behalf).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configured_by: Option<UserId>,
    /// Unset: the server's `intelligence.pii_redaction`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pii_redaction: Option<PiiRedaction>,
}

/// The most an overview from a remote model may be.
const MAX_REMOTE_ANSWER: usize = 64 * 1024;

impl Core {
    /// The org's settings (the defaults when it set none, or what it stored no longer parses).
    pub(crate) async fn intel_settings(&self, org: uuid::Uuid) -> Result<IntelSettings, CoreError> {
        Ok(self
            .db()
            .org_intelligence(org)
            .await?
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default())
    }

    /// Asks the org's remote provider for an overview of `transcript` (already redacted when
    /// the settings say so): `Ok(None)` when it answered nothing usable.
    pub(crate) async fn remote_overview(
        &self,
        org: uuid::Uuid,
        settings: &IntelSettings,
        system: &str,
        transcript: &str,
    ) -> Result<Option<String>, CoreError> {
        let (Some(base), Some(model)) = (&settings.base_url, &settings.model) else {
            return Err(CoreError::Conflict(
                "the org's intelligence provider openai needs base_url and model".into(),
            ));
        };
        let key = match (&settings.secret, settings.configured_by) {
            (Some(name), Some(user)) => self
                .secrets()
                .value(OrgId::from(org), user, name)
                .await?
                .ok_or_else(|| {
                    CoreError::Conflict(format!(
                        "the stored secret {name:?} of the user who configured the provider is gone"
                    ))
                })
                .map(Some)?,
            _ => None,
        };
        let url = Url::parse(&format!(
            "{}/chat/completions",
            base.as_str().trim_end_matches('/')
        ))
        .map_err(|e| CoreError::invalid("base_url", e.to_string()))?;
        let http = self.outbound_client();
        let mut request = http
            .request(reqwest::Method::POST, url)
            .map_err(|e| CoreError::Conflict(format!("the provider URL is refused: {e}")))?
            .json(&serde_json::json!({
                "model": model,
                "messages": [
                    {"role": "system", "content": system},
                    {"role": "user", "content": format!("Transcript:\n{transcript}\n\nSummary:")},
                ],
                "max_tokens": 300,
                "temperature": 0,
            }));
        if let Some(key) = &key {
            let mut value =
                reqwest::header::HeaderValue::from_str(&format!("Bearer {}", key.as_str()))
                    .map_err(|_| {
                        CoreError::Conflict("the stored API key is not a valid header value".into())
                    })?;
            value.set_sensitive(true);
            request = request.header(reqwest::header::AUTHORIZATION, value);
        }
        let response = http.send(request).await.map_err(|e| {
            tracing::warn!(error = %e, "the intelligence provider could not be reached");
            CoreError::Unavailable("the org's intelligence provider")
        })?;
        let status = response.status();
        let body = http.read_body(response).await.map_err(|e| {
            tracing::warn!(error = %e, "the intelligence provider's answer was not read");
            CoreError::Unavailable("the org's intelligence provider")
        })?;
        if !status.is_success() {
            tracing::warn!(
                status = status.as_u16(),
                "the intelligence provider refused"
            );
            return Err(CoreError::Conflict(format!(
                "the org's intelligence provider answered {status}"
            )));
        }
        Ok(read_answer(&body))
    }
}

/// The text of a chat completion, read tolerantly: `choices[0].message.content` (a string, or
/// text parts), `choices[0].text` (completions), or a body of plain text.
pub(crate) fn read_answer(body: &[u8]) -> Option<String> {
    if body.len() > MAX_REMOTE_ANSWER {
        return None;
    }
    let text = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(v) => {
            let choice = &v["choices"][0];
            match &choice["message"]["content"] {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Array(parts) => parts
                    .iter()
                    .filter_map(|p| p["text"].as_str())
                    .collect::<Vec<_>>()
                    .join(""),
                _ => choice["text"].as_str()?.to_owned(),
            }
        }
        Err(_) => String::from_utf8(body.to_vec()).ok()?,
    };
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

impl Intelligence<'_> {
    /// The org's settings.
    pub async fn settings(self, scope: &Scope<OrgManage>) -> Result<IntelSettings, CoreError> {
        self.core.intel_settings(scope.org_id().uuid()).await
    }

    /// Replaces the org's settings; a remote provider's URL must pass the outbound rules and
    /// its secret must be the caller's own.
    pub async fn put_settings(
        self,
        scope: &Scope<OrgManage>,
        settings: IntelSettings,
    ) -> Result<IntelSettings, CoreError> {
        let mut s = IntelSettings {
            configured_by: None,
            ..settings
        };
        if let Some(url) = &s.base_url {
            self.core
                .outbound()
                .check_url(url)
                .map_err(|e| CoreError::invalid("base_url", e.to_string()))?;
        }
        if let Some(m) = &s.model {
            crate::vault::check_text("model", m, 200)?;
        }
        if s.provider == ChatProvider::Openai && (s.base_url.is_none() || s.model.is_none()) {
            return Err(CoreError::invalid(
                "base_url",
                "provider openai needs base_url and model",
            ));
        }
        if let Some(name) = &s.secret {
            let exists = self
                .core
                .db()
                .user_secrets(scope.org_id().uuid(), scope.user_id().uuid())
                .await?
                .iter()
                .any(|r| r.name == *name);
            if !exists {
                return Err(CoreError::invalid(
                    "secret",
                    "you have no stored secret of that name: store the provider's API key first \
                     with PUT /api/v1/me/secrets/{name}",
                ));
            }
            s.configured_by = Some(scope.user_id());
        }
        let json = serde_json::to_string(&s).map_err(CoreError::internal)?;
        self.core
            .db()
            .put_org_intelligence(scope.org_id().uuid(), Some(&json))
            .await?;
        self.core
            .audit(Event::by(scope, AuditAction::IntelligenceUpdate))
            .await?;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::read_answer;

    #[test]
    fn answers_are_read_tolerantly() {
        let openai = br#"{"choices":[{"index":0,"message":{"role":"assistant","content":" The budget moved. "},"finish_reason":"stop"}]}"#;
        assert_eq!(read_answer(openai).as_deref(), Some("The budget moved."));
        let parts = br#"{"choices":[{"message":{"content":[{"type":"text","text":"A"},{"type":"text","text":"B"}]}}]}"#;
        assert_eq!(read_answer(parts).as_deref(), Some("AB"));
        assert_eq!(
            read_answer(br#"{"choices":[{"text":"legacy"}]}"#).as_deref(),
            Some("legacy")
        );
        assert_eq!(read_answer(b"plain words").as_deref(), Some("plain words"));
        assert_eq!(read_answer(br#"{"choices":[]}"#), None);
        assert_eq!(
            read_answer(br#"{"choices":[{"message":{"content":"  "}}]}"#),
            None
        );
        assert_eq!(read_answer(&vec![b'a'; 70_000]), None);
    }
}
