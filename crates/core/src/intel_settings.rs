//! Meeting-intelligence settings, in layers: the server's `[intelligence]`, the org's
//! (`GET`/`PUT /api/v1/org/intelligence`), a workspace's (`…/workspaces/{id}/intelligence`),
//! a meeting's own (its `intelligence` field; a bot's are its meeting's), and — for one
//! regeneration — the request's. Each layer may name the provider that writes overviews (the
//! embedded model, or an OpenAI-compatible server with a stored API key used on its
//! configurer's behalf), the prompt it is given, when PII is redacted before a model reads a
//! transcript, and whether transcripts are stored redacted. A layer that names a provider
//! brings its whole provider block (URL, model, secret); the other fields are taken one by one
//! from the most specific layer that sets them.

use meetvault_config::PiiRedaction;
use meetvault_store::vault::MeetingRow;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::ids::UserId;
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

/// One layer's settings; an absent field inherits from the layer above.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntelSettings {
    /// Unset: the layer above's (the org's default: `embedded`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<ChatProvider>,
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
    /// The instruction the overview's writer is given instead of the built-in one (a prompt
    /// template: what to stress, how long, which language).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// Store transcripts with personal data replaced by typed placeholders, keeping no way
    /// back: the values never reach storage. Unset: false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redacted_transcripts: Option<bool>,
}

/// The longest prompt template.
const MAX_PROMPT: usize = 2_000;

impl IntelSettings {
    /// These settings over `base`: a provider named here brings its block with it.
    #[must_use]
    pub fn over(&self, base: &IntelSettings) -> IntelSettings {
        let (provider, base_url, model, secret, configured_by) = if self.provider.is_some() {
            (
                self.provider,
                self.base_url.clone(),
                self.model.clone(),
                self.secret.clone(),
                self.configured_by,
            )
        } else {
            (
                base.provider,
                base.base_url.clone(),
                base.model.clone(),
                base.secret.clone(),
                base.configured_by,
            )
        };
        IntelSettings {
            provider,
            base_url,
            model,
            secret,
            configured_by,
            pii_redaction: self.pii_redaction.or(base.pii_redaction),
            prompt: self.prompt.clone().or_else(|| base.prompt.clone()),
            redacted_transcripts: self.redacted_transcripts.or(base.redacted_transcripts),
        }
    }

    /// Whether a remote server writes the overview.
    pub fn remote(&self) -> bool {
        self.provider == Some(ChatProvider::Openai)
    }

    /// Nothing set.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    pub(crate) fn parse(json: Option<String>) -> Self {
        json.and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default()
    }
}

impl Core {
    /// The org's settings (the defaults when it set none, or what it stored no longer parses).
    pub(crate) async fn intel_settings(&self, org: uuid::Uuid) -> Result<IntelSettings, CoreError> {
        Ok(IntelSettings::parse(self.db().org_intelligence(org).await?))
    }

    /// What applies to a meeting: its own settings over its workspace's over its org's.
    pub(crate) async fn meeting_intel_settings(
        &self,
        row: &MeetingRow,
    ) -> Result<IntelSettings, CoreError> {
        let org = self.intel_settings(row.org_id).await?;
        let ws = IntelSettings::parse(
            self.db()
                .workspace_intelligence(row.org_id, row.workspace_id)
                .await?,
        );
        let own = IntelSettings::parse(row.intelligence.clone());
        Ok(own.over(&ws.over(&org)))
    }

    /// What applies to a workspace's meetings (`None`: the org's).
    pub(crate) async fn workspace_intel_settings(
        &self,
        org: uuid::Uuid,
        workspace: Option<uuid::Uuid>,
    ) -> Result<IntelSettings, CoreError> {
        let base = self.intel_settings(org).await?;
        Ok(match workspace {
            Some(ws) => {
                IntelSettings::parse(self.db().workspace_intelligence(org, ws).await?).over(&base)
            }
            None => base,
        })
    }

    /// The detectors `row`'s transcript is stored redacted with, when its settings say so.
    pub(crate) async fn transcript_redactor(
        &self,
        row: &MeetingRow,
    ) -> Result<Option<std::sync::Arc<meetvault_intel::pii::Detector>>, CoreError> {
        Ok(self
            .meeting_intel_settings(row)
            .await?
            .redacted_transcripts
            .unwrap_or(false)
            .then(|| self.inner.intel.detector()))
    }

    /// The PII redaction in force with `settings`.
    pub(crate) fn pii_mode(&self, settings: &IntelSettings) -> PiiRedaction {
        settings
            .pii_redaction
            .unwrap_or(self.config().intelligence.pii_redaction)
    }

    /// Checks a layer's settings as `author` sets them: a remote provider's URL must pass the
    /// outbound rules and name a model; a secret must be `author`'s own (it is used on their
    /// behalf), and `configured_by` becomes `author`.
    pub(crate) async fn check_intel_settings(
        &self,
        org: uuid::Uuid,
        author: UserId,
        settings: IntelSettings,
    ) -> Result<IntelSettings, CoreError> {
        self.check_settings_as(org, author, settings, false).await
    }

    /// [`Self::check_intel_settings`], naming fields `intelligence.…` when `nested` (a
    /// meeting's or a bot's field).
    pub(crate) async fn check_settings_as(
        &self,
        org: uuid::Uuid,
        author: UserId,
        settings: IntelSettings,
        nested: bool,
    ) -> Result<IntelSettings, CoreError> {
        let field = |name: &'static str| -> &'static str {
            if !nested {
                return name;
            }
            match name {
                "base_url" => "intelligence.base_url",
                "model" => "intelligence.model",
                "prompt" => "intelligence.prompt",
                "provider" => "intelligence.provider",
                _ => "intelligence.secret",
            }
        };
        let mut s = IntelSettings {
            configured_by: None,
            ..settings
        };
        if let Some(url) = &s.base_url {
            self.outbound()
                .check_url(url)
                .map_err(|e| CoreError::invalid(field("base_url"), e.to_string()))?;
        }
        if let Some(m) = &s.model {
            crate::vault::check_text(field("model"), m, 200)?;
        }
        if let Some(p) = &s.prompt {
            if p.trim().is_empty() {
                return Err(CoreError::invalid(field("prompt"), "must not be empty"));
            }
            crate::vault::check_text(field("prompt"), p, MAX_PROMPT)?;
        }
        if s.remote() && (s.base_url.is_none() || s.model.is_none()) {
            return Err(CoreError::invalid(
                field("base_url"),
                "provider openai needs base_url and model",
            ));
        }
        if s.provider != Some(ChatProvider::Openai)
            && (s.base_url.is_some() || s.model.is_some() || s.secret.is_some())
        {
            return Err(CoreError::invalid(
                field("provider"),
                "base_url, model and secret go with provider openai",
            ));
        }
        if let Some(name) = &s.secret {
            let exists = self
                .db()
                .user_secrets(org, author.uuid())
                .await?
                .iter()
                .any(|r| r.name == *name);
            if !exists {
                return Err(CoreError::invalid(
                    field("secret"),
                    "you have no stored secret of that name: store the provider's API key first \
                     with PUT /api/v1/me/secrets/{name}",
                ));
            }
            s.configured_by = Some(author);
        }
        Ok(s)
    }

    /// A meeting's own settings as stored (JSON), checked as `author` sets them; `None` when
    /// empty.
    pub(crate) async fn meeting_intel_json(
        &self,
        org: uuid::Uuid,
        author: UserId,
        settings: Option<IntelSettings>,
    ) -> Result<Option<String>, CoreError> {
        let Some(settings) = settings.filter(|s| !s.is_empty()) else {
            return Ok(None);
        };
        let s = self.check_settings_as(org, author, settings, true).await?;
        serde_json::to_string(&s)
            .map(Some)
            .map_err(CoreError::internal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote(model: &str) -> IntelSettings {
        IntelSettings {
            provider: Some(ChatProvider::Openai),
            base_url: Some(Url::parse("https://llm.example/v1").unwrap()),
            model: Some(model.into()),
            secret: Some("key".into()),
            ..Default::default()
        }
    }

    #[test]
    fn a_level_that_names_a_provider_brings_its_block_and_fields_inherit_one_by_one() {
        let org = IntelSettings {
            pii_redaction: Some(PiiRedaction::All),
            prompt: Some("org prompt".into()),
            ..remote("big")
        };
        // A workspace that names only a prompt keeps the org's provider.
        let ws = IntelSettings {
            prompt: Some("ws prompt".into()),
            ..Default::default()
        };
        let m = ws.over(&org);
        assert_eq!(m.model.as_deref(), Some("big"));
        assert_eq!(m.secret.as_deref(), Some("key"));
        assert_eq!(m.prompt.as_deref(), Some("ws prompt"));
        assert_eq!(m.pii_redaction, Some(PiiRedaction::All));
        // A meeting that names the embedded model drops the org's URL, model and secret.
        let meeting = IntelSettings {
            provider: Some(ChatProvider::Embedded),
            ..Default::default()
        };
        let e = meeting.over(&m);
        assert!(!e.remote());
        assert_eq!((e.base_url, e.model, e.secret), (None, None, None));
        assert_eq!(e.prompt.as_deref(), Some("ws prompt"));
        // Another remote provider replaces the whole block.
        let other = remote("small").over(&org);
        assert_eq!(other.model.as_deref(), Some("small"));
        assert!(
            IntelSettings::default()
                .over(&IntelSettings::default())
                .is_empty()
        );
        assert_eq!(
            IntelSettings::parse(Some("not json".into())),
            IntelSettings::default()
        );
        // What an org stored before providers could be inherited still reads.
        let old = IntelSettings::parse(Some(r#"{"provider":"embedded"}"#.into()));
        assert_eq!(old.provider, Some(ChatProvider::Embedded));
    }
}
