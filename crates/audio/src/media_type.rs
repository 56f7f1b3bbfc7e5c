//! The media type a decoded recording is stored and served as, chosen by the container its
//! content turned out to be — never by what the uploader declared, which could say `text/html`.
//! The same table is the allow-list of types a recording may ever be served as.

/// A recording's media type and the file extension that goes with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaType {
    /// The MIME type (`audio/wav`).
    pub mime: &'static str,
    /// The extension for a download's file name, without the dot (`wav`).
    pub extension: &'static str,
}

/// What any byte stream that is not a known audio type is served as.
pub const OCTET_STREAM: MediaType = MediaType {
    mime: "application/octet-stream",
    extension: "bin",
};

/// (symphonia's container short name, media type). Matroska covers WebM: browsers play
/// `audio/webm`; ADTS is raw AAC (`audio/aac`), while AAC in an MP4 box is `audio/mp4`.
const BY_CONTAINER: &[(&str, MediaType)] = &[
    ("wave", audio("audio/wav", "wav")),
    ("aiff", audio("audio/aiff", "aiff")),
    ("flac", audio("audio/flac", "flac")),
    ("mp3", audio("audio/mpeg", "mp3")),
    ("mp2", audio("audio/mpeg", "mp2")),
    ("mp1", audio("audio/mpeg", "mp1")),
    ("aac", audio("audio/aac", "aac")),
    ("isomp4", audio("audio/mp4", "m4a")),
    ("ogg", audio("audio/ogg", "ogg")),
    ("matroska", audio("audio/webm", "webm")),
];

const fn audio(mime: &'static str, extension: &'static str) -> MediaType {
    MediaType { mime, extension }
}

impl MediaType {
    /// The type of audio decoded from `container` (an [`AudioInfo::container`](crate::AudioInfo)
    /// name); `application/octet-stream` for a container this table does not know.
    pub fn of_container(container: &str) -> MediaType {
        BY_CONTAINER
            .iter()
            .find(|(name, _)| *name == container)
            .map_or(OCTET_STREAM, |(_, media)| *media)
    }

    /// `mime` when it is one of the types a recording may be served as, else
    /// `application/octet-stream`: a stored value is never trusted to be safe to serve.
    pub fn allowed(mime: &str) -> MediaType {
        BY_CONTAINER
            .iter()
            .map(|(_, media)| *media)
            .find(|media| media.mime == mime)
            .unwrap_or(OCTET_STREAM)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_is_audio_and_the_allow_list_keeps_only_those() {
        for (container, media) in BY_CONTAINER {
            assert!(media.mime.starts_with("audio/"), "{container}");
            assert_eq!(MediaType::allowed(media.mime).mime, media.mime);
        }
        for claimed in [
            "text/html",
            "text/javascript",
            "image/svg+xml",
            "audio/wav; x=1",
            "",
        ] {
            assert_eq!(MediaType::allowed(claimed), OCTET_STREAM, "{claimed}");
        }
        assert_eq!(MediaType::of_container("wave").mime, "audio/wav");
        assert_eq!(MediaType::of_container("html"), OCTET_STREAM);
    }
}
