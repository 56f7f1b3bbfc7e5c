//! Checking a new bot: its meeting URL, name, join time, transcription, recording options,
//! consent message, automatic-leave timeouts and metadata; each error names its field.

use std::collections::BTreeMap;

use chrono::Utc;
use meetvault_config::TranscriptionProvider;

use super::{BotOptions, NewBot};
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
        let hub = &self.inner.bots;
        let (url, recipe) = hub
            .recipes()
            .match_url(&new.meeting_url, hub.test_origins())
            .map_err(|why| CoreError::invalid("meeting_url", why.to_string()))?;
        let platform = recipe.name();
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
            super::consent::check_message("consent_message", m)?;
        }
        if let Some(p) = &new.opt_out_phrase {
            super::consent::check_phrase("opt_out_phrase", p)?;
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
                post_consent: new.post_consent,
                opt_out_phrase: new.opt_out_phrase.clone(),
                automatic_leave: a.clone(),
                destination_id: new.destination_id,
            },
            url.to_string(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use meetvault_recipe::{RecipeSet, TestOrigins};

    /// The recipes decide which URLs a bot may join: platform links pass, everything an
    /// attacker would try does not.
    #[test]
    fn platform_links_pass_and_hostile_ones_are_refused() {
        let set = RecipeSet::builtin().unwrap();
        let test = TestOrigins::parse(&["http://127.0.0.1:4100"]).unwrap();
        for (ok, platform) in [
            ("https://meet.google.com/abc-defg-hij", "google-meet"),
            (
                "https://teams.microsoft.com/l/meetup-join/19%3ameeting_x%40thread.v2/0",
                "microsoft-teams",
            ),
            (
                "https://teams.live.com/meet/9312345678901",
                "microsoft-teams",
            ),
            ("https://us02web.zoom.us/j/123456789?pwd=x", "zoom"),
            ("https://zoom.us/j/123456789", "zoom"),
            ("http://127.0.0.1:4100/r/room", "testmeet"),
        ] {
            let (_, recipe) = set
                .match_url(ok, &test)
                .unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert_eq!(recipe.name(), platform, "{ok}");
        }
        for bad in [
            "http://meet.google.com/abc-defg-hij",
            "ftp://meet.google.com/abc-defg-hij",
            "javascript:alert(1)",
            "file:///etc/passwd",
            "https://meet.google.com.evil.example/abc-defg-hij",
            "https://evilzoom.us/j/123456789",
            "https://zoom.us.evil.example/j/123456789",
            "https://meet-google.com/abc-defg-hij",
            "https://user:pw@meet.google.com/abc-defg-hij",
            "https://meet.google.com:8443/abc-defg-hij",
            "https://127.0.0.1/r/x",
            "https://[::1]/r/x",
            "https://169.254.169.254/latest/meta-data",
            "https://localhost/r/x",
            "http://127.0.0.1:4101/r/room",
            "http://127.0.0.1:4100/not-a-room",
            "https://xn--meet-google-com.example/x",
            "https://.zoom.us/j/1",
            "not a url",
            "",
        ] {
            assert!(set.match_url(bad, &test).is_err(), "{bad}");
        }
    }
}
