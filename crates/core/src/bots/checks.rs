//! Checking a new bot: its meeting URL, name, join time, transcription, recording options,
//! consent message, automatic-leave timeouts and metadata; each error names its field.

use std::collections::BTreeMap;

use chrono::Utc;
use meetvault_config::TranscriptionProvider;

use super::{BotOptions, NewBot, check_meeting_url};
use crate::vault::check_text;
use crate::{Core, CoreError};

fn check_timeout(field: &'static str, value: Option<u64>) -> Result<(), CoreError> {
    match value {
        Some(v) if !(1..=86_400).contains(&v) => Err(CoreError::invalid(
            field,
            "must be between 1 and 86400 seconds",
        )),
        _ => Ok(()),
    }
}

fn check_metadata(metadata: &BTreeMap<String, String>) -> Result<(), CoreError> {
    if metadata.len() > 16 {
        return Err(CoreError::invalid("metadata", "at most 16 keys"));
    }
    for (k, v) in metadata {
        let key_ok = (1..=64).contains(&k.len())
            && k.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
        if !key_ok {
            return Err(CoreError::invalid(
                "metadata",
                "keys are 1–64 characters of letters, digits, `_`, `-` and `.`",
            ));
        }
        check_text("metadata", v, 500)?;
    }
    Ok(())
}

impl Core {
    /// Validates a new bot; returns its options (with the platform the URL belongs to).
    pub(super) fn check_new_bot(&self, new: &NewBot) -> Result<(BotOptions, String), CoreError> {
        let (url, platform) =
            check_meeting_url(&new.meeting_url, &self.config().bot.test_platform_origins)
                .map_err(|why| CoreError::invalid("meeting_url", why))?;
        let name = new.bot_name.trim();
        if name.is_empty() {
            return Err(CoreError::invalid("bot_name", "must not be empty"));
        }
        check_text("bot_name", name, 100)?;
        if let Some(at) = new.join_at
            && at > Utc::now() + chrono::Duration::days(90)
        {
            return Err(CoreError::invalid(
                "join_at",
                "must be within 90 days from now",
            ));
        }
        let language = crate::meetings::check_language(&new.language).map_err(|_| {
            CoreError::invalid(
                "transcription.language",
                "must be one of Whisper's language codes (en, de, fr, …)",
            )
        })?;
        if matches!(
            new.provider,
            Some(TranscriptionProvider::Openai | TranscriptionProvider::Deepgram)
        ) {
            return Err(CoreError::invalid(
                "transcription.provider",
                "bots transcribe with the local engine for now; use local (or leave it out)",
            ));
        }
        if !new.recording.per_speaker && !new.recording.mixed {
            return Err(CoreError::invalid(
                "recording",
                "record per speaker, mixed, or both",
            ));
        }
        if let Some(m) = &new.consent_message {
            if m.trim().is_empty() {
                return Err(CoreError::invalid("consent_message", "must not be empty"));
            }
            check_text("consent_message", m, 1000)?;
        }
        let a = &new.automatic_leave;
        check_timeout(
            "automatic_leave.waiting_room_timeout_secs",
            Some(a.waiting_room_timeout_secs),
        )?;
        check_timeout(
            "automatic_leave.no_one_joined_timeout_secs",
            a.no_one_joined_timeout_secs,
        )?;
        check_timeout(
            "automatic_leave.everyone_left_timeout_secs",
            a.everyone_left_timeout_secs,
        )?;
        check_timeout(
            "automatic_leave.silence_timeout_secs",
            a.silence_timeout_secs,
        )?;
        check_timeout("automatic_leave.max_duration_secs", a.max_duration_secs)?;
        check_metadata(&new.metadata)?;
        Ok((
            BotOptions {
                platform: platform.to_owned(),
                language,
                provider: new.provider,
                recording: new.recording.clone(),
                consent_message: new.consent_message.clone(),
                automatic_leave: a.clone(),
            },
            url.to_string(),
        ))
    }
}
