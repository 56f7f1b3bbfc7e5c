//! A remote provider: any OpenAI-compatible `/chat/completions` (Ollama, vLLM, llama.cpp's
//! server, OpenAI, Azure OpenAI, another meetvault) with the configuring user's stored API
//! key, used only on their behalf (`settings.rs` says which). The call goes through the
//! outbound client (the URL checked again and its name pinned at every connection), and its
//! answer is read tolerantly (a JSON body with `choices[0].message.content`, or plain text).

use url::Url;

use crate::ids::OrgId;
use crate::intel_settings::IntelSettings;
use crate::{Core, CoreError};

/// The most an overview from a remote model may be.
const MAX_REMOTE_ANSWER: usize = 64 * 1024;
/// Tokens a remote model may write: a whole summary as JSON, or an overview in prose.
const STRUCTURED_TOKENS: u32 = 1024;
const PROSE_TOKENS: u32 = 300;

impl Core {
    /// Asks the remote provider for a summary of `transcript` (already redacted when the
    /// settings say so) in one of `formats` (JSON schemas, tried in order), or in prose from a
    /// server that refuses them all. `Ok(None)` when it answered nothing usable.
    pub(crate) async fn remote_summary(
        &self,
        org: uuid::Uuid,
        settings: &IntelSettings,
        system: &str,
        transcript: &str,
        formats: Vec<serde_json::Value>,
    ) -> Result<Option<String>, CoreError> {
        let tokens = if formats.is_empty() {
            PROSE_TOKENS
        } else {
            STRUCTURED_TOKENS
        };
        self.remote_chat(
            org,
            settings,
            system,
            &format!("Transcript:\n{transcript}\n\nSummary:"),
            formats,
            tokens,
        )
        .await
    }

    /// One chat completion from the remote provider: `system` and `user` messages, at most
    /// `max_tokens`, in the first of `formats` (`response_format` values) the server takes:
    /// one it answers with 400, 422 or 500 is taken as not understood and the next is tried,
    /// then none (prose, at most prose's length). `Ok(None)` when it answered nothing
    /// usable; `Unavailable` when it could not be reached (or failed, 5xx or 429); `Conflict`
    /// when it refused.
    pub(crate) async fn remote_chat(
        &self,
        org: uuid::Uuid,
        settings: &IntelSettings,
        system: &str,
        user: &str,
        formats: Vec<serde_json::Value>,
        max_tokens: u32,
    ) -> Result<Option<String>, CoreError> {
        let (Some(base), Some(model)) = (&settings.base_url, &settings.model) else {
            return Err(CoreError::Conflict(
                "the intelligence provider openai needs base_url and model".into(),
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
        let mut body = serde_json::json!({
            "model": model,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": user},
            ],
            "max_tokens": max_tokens,
            "temperature": 0,
        });
        let http = self.outbound_client();
        let send = |body: serde_json::Value| {
            let url = url.clone();
            let key = key.clone();
            async move {
                let mut request = http
                    .request(reqwest::Method::POST, url)
                    .map_err(|e| CoreError::Conflict(format!("the provider URL is refused: {e}")))?
                    .json(&body);
                if let Some(key) = &key {
                    let mut value =
                        reqwest::header::HeaderValue::from_str(&format!("Bearer {}", key.as_str()))
                            .map_err(|_| {
                                CoreError::Conflict(
                                    "the stored API key is not a valid header value".into(),
                                )
                            })?;
                    value.set_sensitive(true);
                    request = request.header(reqwest::header::AUTHORIZATION, value);
                }
                let response = http.send(request).await.map_err(|e| {
                    tracing::warn!(error = %e, "the intelligence provider could not be reached");
                    CoreError::Unavailable("the intelligence provider")
                })?;
                let status = response.status();
                let body = http.read_body(response).await.map_err(|e| {
                    tracing::warn!(error = %e, "the intelligence provider's answer was not read");
                    CoreError::Unavailable("the intelligence provider")
                })?;
                Ok::<_, CoreError>((status, body))
            }
        };
        let mut formats = formats.into_iter();
        if let Some(first) = formats.next() {
            body["response_format"] = first;
        }
        let (mut status, mut answer) = send(body.clone()).await?;
        // A server that does not understand a response format says so with 400 or 422 (or,
        // llama-cpp-python's, 500): the next is tried, then prose.
        while body.get("response_format").is_some() && matches!(status.as_u16(), 400 | 422 | 500) {
            tracing::info!(
                status = status.as_u16(),
                "the intelligence provider refused a response format; trying the next"
            );
            match formats.next() {
                Some(next) => body["response_format"] = next,
                None => {
                    if let Some(map) = body.as_object_mut() {
                        map.remove("response_format");
                        // Without a schema it writes prose: an overview, not a whole summary.
                        map.insert("max_tokens".into(), PROSE_TOKENS.min(max_tokens).into());
                    }
                }
            }
            (status, answer) = send(body.clone()).await?;
        }
        if status.is_server_error() || status.as_u16() == 429 {
            tracing::warn!(status = status.as_u16(), "the intelligence provider failed");
            return Err(CoreError::Unavailable("the intelligence provider"));
        }
        if !status.is_success() {
            tracing::warn!(
                status = status.as_u16(),
                "the intelligence provider refused"
            );
            return Err(CoreError::Conflict(format!(
                "the intelligence provider answered {status}"
            )));
        }
        Ok(read_answer(&answer))
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
