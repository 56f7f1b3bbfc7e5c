//! Glossaries: the names and jargon of an org or a meeting that the transcriber is prompted
//! with (Whisper's `initial_prompt`; the `prompt` of an OpenAI-compatible service), so "Anja
//! Schröder" and "meetvault" come out spelled the org's way. A glossary is content: a meeting's
//! is sealed under the meeting's key (with its title), the org's under the org key (re-sealed
//! when that key rotates). Must never: log a glossary, or keep one in plain text at rest.

use meetvault_crypto::envelope;
use uuid::Uuid;

use crate::vault::{bind, integrity, key_ref};
use crate::{Core, CoreError};

/// The longest glossary taken, in characters (its tokens are the real limit).
const MAX_GLOSSARY_CHARS: usize = 1000;

/// The longest prompt read, in characters, before it is encoded.
pub(crate) const MAX_PROMPT_CHARS: usize = 2000;

impl Core {
    /// A prompt as `field` gives it: trimmed, empty is none, refused (422 naming the field)
    /// when longer than `max_chars` or than a window's prompt holds
    /// (`meetvault_whisper::MAX_PROMPT_TOKENS` tokens of the installed model). Without a
    /// local model (remote providers only) the character limit alone applies.
    pub(crate) async fn check_prompt(
        &self,
        field: &'static str,
        prompt: &str,
        max_chars: usize,
    ) -> Result<Option<String>, CoreError> {
        let prompt = prompt.trim();
        if prompt.is_empty() {
            return Ok(None);
        }
        if prompt.chars().count() > max_chars {
            return Err(CoreError::invalid(
                field,
                format!(
                    "is over {max_chars} characters; a prompt holds at most {} tokens: keep the \
                     names and terms that matter",
                    meetvault_whisper::MAX_PROMPT_TOKENS
                ),
            ));
        }
        let model = match self.engine().model().await {
            Ok(model) => model,
            Err(CoreError::TranscriptionUnavailable(_)) => return Ok(Some(prompt.to_owned())),
            Err(e) => return Err(e),
        };
        match model.prompt_tokens(prompt) {
            Ok(_) => Ok(Some(prompt.to_owned())),
            Err(meetvault_whisper::WhisperError::Options(message)) => {
                Err(CoreError::invalid(field, message))
            }
            Err(e) => Err(CoreError::internal(e)),
        }
    }

    /// A glossary as `field` gives it (see [`Core::check_prompt`]).
    pub(crate) async fn check_glossary(
        &self,
        field: &'static str,
        glossary: &str,
    ) -> Result<Option<String>, CoreError> {
        self.check_prompt(field, glossary, MAX_GLOSSARY_CHARS).await
    }

    /// The org's glossary, opened with the org key version that sealed it.
    pub(crate) async fn org_glossary(&self, org: Uuid) -> Result<Option<String>, CoreError> {
        let Some(ct) = self.db().org_glossary(org).await? else {
            return Ok(None);
        };
        let version = envelope::key_ref(&ct)
            .map_err(integrity("org glossary"))?
            .version;
        let key = self
            .org_key_version(org, i32::try_from(version).unwrap_or(0))
            .await?;
        envelope::decrypt_string(&key, &bind(org, "orgs", org, "glossary"), &ct)
            .map(Some)
            .map_err(integrity("org glossary"))
    }

    /// Seals the org's glossary under the newest org key (`None` clears it).
    pub(crate) async fn set_org_glossary(
        &self,
        org: Uuid,
        glossary: Option<&str>,
    ) -> Result<(), CoreError> {
        let sealed = match glossary {
            Some(text) => {
                let (version, key) = self.org_key(org).await?;
                Some(envelope::encrypt(
                    &key,
                    key_ref(org, version),
                    &bind(org, "orgs", org, "glossary"),
                    text.as_bytes(),
                ))
            }
            None => None,
        };
        Ok(self.db().set_org_glossary(org, sealed.as_deref()).await?)
    }

    /// Re-seals the org's glossary under org key `version` when an older one sealed it (a
    /// rotation does this before it retires the older versions). Idempotent.
    pub(crate) async fn reseal_org_glossary(
        &self,
        org: Uuid,
        version: i32,
    ) -> Result<(), CoreError> {
        let Some(ct) = self.db().org_glossary(org).await? else {
            return Ok(());
        };
        let sealed_with = envelope::key_ref(&ct)
            .map_err(integrity("org glossary"))?
            .version;
        if i32::try_from(sealed_with).ok() == Some(version) {
            return Ok(());
        }
        let text = self.org_glossary(org).await?;
        let key = self.org_key_version(org, version).await?;
        let sealed = text.map(|text| {
            envelope::encrypt(
                &key,
                key_ref(org, version),
                &bind(org, "orgs", org, "glossary"),
                text.as_bytes(),
            )
        });
        Ok(self.db().set_org_glossary(org, sealed.as_deref()).await?)
    }

    /// The prompt a transcription of a meeting gets: the org's glossary, then the meeting's
    /// (the words nearest the audio weigh most, so the meeting's come last).
    pub(crate) fn transcription_prompt(
        org_glossary: Option<String>,
        meeting_glossary: Option<String>,
    ) -> Option<String> {
        match (org_glossary, meeting_glossary) {
            (None, None) => None,
            (Some(one), None) | (None, Some(one)) => Some(one),
            (Some(org), Some(meeting)) => Some(format!("{org} {meeting}")),
        }
    }

    /// `prompt` made to fit the local model's prompt window: when the glossaries do not fit
    /// together (or one was set under another model), words are cut from the start, the org's
    /// first, until they do. Only the local engine needs it: a remote provider takes the text
    /// as it is, and no local model is loaded for it.
    pub(crate) async fn fit_local_prompt(
        &self,
        prompt: Option<String>,
    ) -> Result<Option<String>, CoreError> {
        let Some(text) = prompt else {
            return Ok(None);
        };
        let model = self.engine().model().await?;
        let words: Vec<&str> = text.split_whitespace().collect();
        let fits = |from: usize| model.prompt_tokens(&words[from..].join(" ")).is_ok();
        // The fewest words to drop: fitting is monotone in how many are dropped.
        let (mut lo, mut hi) = (0, words.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            if fits(mid) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        Ok(Some(words[lo..].join(" ")).filter(|t| !t.is_empty()))
    }
}
