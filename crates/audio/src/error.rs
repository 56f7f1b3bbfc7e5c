//! `AudioError`: every way an upload can fail to decode, each with a stable API code and a
//! message that names the problem and what to do. Messages never quote file bytes.

/// Why a recording could not be decoded.
///
/// `Display` is the user-facing message; [`AudioError::code`] is the stable API code.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// The file has no bytes at all.
    #[error("the file is empty (0 bytes); upload the recording again")]
    Empty,
    /// The container is valid but holds no audio samples.
    #[error(
        "the file is a valid {container} file but contains no audio samples; \
         upload a recording that has sound in it"
    )]
    NoSamples {
        /// The container's short name (`wave`, `flac`, …).
        container: String,
    },
    /// The container holds tracks, but none of them is audio (a video-only file, for example).
    #[error(
        "the file contains no audio track (it has {found}); upload a recording that contains audio"
    )]
    NoAudioTrack {
        /// What the file does contain, for the message (`1 video track`).
        found: String,
    },
    /// A format, codec or feature this decoder does not handle.
    #[error(
        "{what} is not supported; upload WAV, FLAC, MP3, AAC/M4A, Ogg Vorbis, Ogg Opus or WebM Opus"
    )]
    Unsupported {
        /// What is not supported, as a noun phrase (`a PNG image`).
        what: String,
    },
    /// The file is recognised but its data is malformed.
    #[error("the file is corrupt ({detail}); upload an intact copy of the recording")]
    Corrupt {
        /// What is malformed; never file content.
        detail: String,
    },
    /// The file holds less audio than its header declares.
    #[error(
        "the file ends after {actual_secs:.1} s but its header declares {declared_secs:.1} s: \
         it is truncated; upload the complete file"
    )]
    Truncated {
        /// The duration the header declares.
        declared_secs: f64,
        /// The duration actually present.
        actual_secs: f64,
    },
    /// The file stops in the middle of a block of data, and declares no length to compare with.
    #[error(
        "the file stops in the middle of its data after {actual_secs:.1} s: it is truncated; \
         upload the complete file"
    )]
    EndsMidStream {
        /// The duration decoded before the file stopped.
        actual_secs: f64,
    },
    /// The recording (declared or decoded so far) is longer than [`crate::Limits`] allows.
    #[error(
        "the recording is longer than the limit of {limit_secs:.0} s; \
         split it into shorter parts or ask an administrator to raise the limit"
    )]
    TooLong {
        /// The limit that was exceeded.
        limit_secs: f64,
    },
    /// Reading the source failed (a storage or decryption error, not a problem with the file).
    #[error("reading the recording failed")]
    Io(#[source] std::io::Error),
}

impl AudioError {
    /// The stable API code for this error.
    pub fn code(&self) -> &'static str {
        match self {
            AudioError::Empty | AudioError::NoSamples { .. } => "audio_empty",
            AudioError::NoAudioTrack { .. } => "audio_no_audio_track",
            AudioError::Unsupported { .. } => "audio_unsupported",
            AudioError::Corrupt { .. } => "audio_corrupt",
            AudioError::Truncated { .. } | AudioError::EndsMidStream { .. } => "audio_truncated",
            AudioError::TooLong { .. } => "audio_too_long",
            AudioError::Io(_) => "io",
        }
    }

    /// True when the file itself is at fault (a 4xx), false for a failure to read it (a 5xx).
    pub fn is_input_error(&self) -> bool {
        !matches!(self, AudioError::Io(_))
    }

    pub(crate) fn corrupt(detail: impl Into<String>) -> Self {
        AudioError::Corrupt {
            detail: detail.into(),
        }
    }

    pub(crate) fn unsupported(what: impl Into<String>) -> Self {
        AudioError::Unsupported { what: what.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_message_names_both_durations_and_the_remedy() {
        let err = AudioError::Truncated {
            declared_secs: 36_000.0,
            actual_secs: 1.0,
        };
        assert_eq!(
            err.to_string(),
            "the file ends after 1.0 s but its header declares 36000.0 s: it is truncated; \
             upload the complete file"
        );
        assert_eq!(err.code(), "audio_truncated");
    }

    #[test]
    fn only_io_is_not_the_callers_fault() {
        assert!(AudioError::Empty.is_input_error());
        assert!(!AudioError::Io(std::io::Error::other("disk")).is_input_error());
        assert_eq!(AudioError::Io(std::io::Error::other("disk")).code(), "io");
    }
}
