//! [`OpenAiCompatible`]: a client for `POST /v1/audio/transcriptions` on OpenAI or any server
//! that speaks its API (a meetvault instance, self-hosted Whisper servers, other vendors).

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use reqwest::multipart::{Form, Part};
use secrecy::SecretString;
use url::Url;

use super::VerboseJson;
use crate::remote::{Provider, Remote};
use crate::{Engine, RawSegment, Request, SttError};

const PROVIDER: Provider = Provider {
    name: "openai-compatible",
    auth_scheme: "Bearer",
    path: "audio/transcriptions",
    example_model: "whisper-1",
};

/// A client for an OpenAI-compatible transcription endpoint.
///
/// It posts the WAV to `{base}/v1/audio/transcriptions` (or `{base}/audio/transcriptions` when
/// the base URL already ends in `/v1`, so both `https://api.openai.com` and
/// `https://api.openai.com/v1` work) with `response_format=verbose_json` and
/// `timestamp_granularities[]=segment`, authenticated with `Authorization: Bearer <key>`.
/// [`Request::language`] and [`Request::prompt`] are sent; [`Request::beam_size`] has no
/// OpenAI parameter and is ignored.
pub struct OpenAiCompatible {
    remote: Remote,
}

impl fmt::Debug for OpenAiCompatible {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.remote.debug_as("OpenAiCompatible", f)
    }
}

impl OpenAiCompatible {
    /// Checks the settings and builds the client; nothing is sent until the first request.
    ///
    /// Requests go through `http`, meetvault's outbound client, under its policy: `base_url`
    /// must be `https` to a public host, or a host (or network) the operator allow-listed,
    /// which may be plain `http`; other plain `http` would send the key in plaintext and is
    /// refused with [`SttError::InsecureUrl`]. The key is trimmed; an empty key or model is
    /// refused.
    pub fn new(
        base_url: Url,
        api_key: SecretString,
        model: impl Into<String>,
        http: meetvault_outbound::Client,
    ) -> Result<Self, SttError> {
        let remote = Remote::new(&PROVIDER, base_url, api_key, model.into(), http)?;
        Ok(Self { remote })
    }

    /// Sets how long a whole request may take (default 15 minutes).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.remote.set_timeout(timeout);
        self
    }

    /// The URL requests are posted to.
    pub fn endpoint(&self) -> &Url {
        self.remote.endpoint()
    }

    /// The model asked for.
    pub fn model(&self) -> &str {
        self.remote.model()
    }
}

#[async_trait::async_trait]
impl Engine for OpenAiCompatible {
    fn name(&self) -> &str {
        PROVIDER.name
    }

    async fn transcribe(
        &self,
        wav_16k: Bytes,
        req: &Request,
    ) -> Result<(Option<String>, Vec<RawSegment>), SttError> {
        let fallback_duration = crate::wav::duration(&wav_16k);
        let length = wav_16k.len() as u64;
        let file = Part::stream_with_length(reqwest::Body::from(wav_16k), length)
            .file_name("audio.wav")
            .mime_str("audio/wav")
            .map_err(|e| SttError::InvalidConfig(format!("cannot build the upload: {e}")))?;
        let mut form = Form::new()
            .part("file", file)
            .text("model", self.remote.model().to_owned())
            .text("response_format", "verbose_json")
            .text("timestamp_granularities[]", "segment");
        if req.word_timestamps {
            form = form.text("timestamp_granularities[]", "word");
        }
        if let Some(language) = &req.language {
            form = form.text("language", language.clone());
        }
        if let Some(prompt) = &req.prompt {
            form = form.text("prompt", prompt.clone());
        }
        let request = self
            .remote
            .post(self.remote.endpoint().clone())?
            .multipart(form);
        let body = self.remote.send(request).await?;
        let answer: VerboseJson = self.remote.parse(&body, "a verbose_json transcription")?;
        Ok(self
            .remote
            .finish(req, answer.into_segments(fallback_duration)))
    }
}
