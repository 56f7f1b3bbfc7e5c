//! A look at the first bytes before probing: an empty file, and common non-audio files (images,
//! documents, archives, text), get a precise rejection instead of a generic "unrecognised
//! format". Only the file's kind is reported, never its bytes.

use std::io::Read;

use symphonia::core::io::{MediaSourceStream, ReadBytes, SeekBuffered};

use crate::AudioError;

/// How much of the start is examined; well within the stream's seek-back buffer.
const PREFIX: usize = 512;

/// What the first bytes say about a file that may be audio.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Prefix {
    /// Why a failed probe of a file with this prefix means it is damaged rather than of an
    /// unknown kind: its first bytes belong to a supported container.
    pub(crate) damaged: Option<&'static str>,
}

/// Rejects what is certainly not audio, then rewinds the stream to where it was.
pub(crate) fn check(mss: &mut MediaSourceStream<'_>) -> Result<Prefix, AudioError> {
    let start = mss.pos();
    let mut prefix = [0u8; PREFIX];
    let mut len = 0;
    while len < PREFIX {
        match mss.read(&mut prefix[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(AudioError::Io(e)),
        }
    }
    mss.seek_buffered(start);
    if len == 0 {
        return Err(AudioError::Empty);
    }
    match kind(&prefix[..len]) {
        Some(what) => Err(AudioError::unsupported(what)),
        None => Ok(Prefix {
            damaged: damaged_container(&prefix[..len]),
        }),
    }
}

/// Names a known non-audio kind of file from its first bytes.
fn kind(prefix: &[u8]) -> Option<&'static str> {
    const SIGNATURES: &[(&[u8], &str)] = &[
        (b"\x89PNG\r\n\x1a\n", "a PNG image"),
        (b"\xff\xd8\xff", "a JPEG image"),
        (b"GIF8", "a GIF image"),
        (b"%PDF", "a PDF document"),
        (b"PK\x03\x04", "a ZIP archive (or an office document)"),
        (b"\x1f\x8b", "a gzip archive"),
        (b"\x7fELF", "an executable"),
        (b"MZ", "an executable"),
    ];
    if let Some((_, what)) = SIGNATURES
        .iter()
        .find(|(magic, _)| prefix.starts_with(magic))
    {
        return Some(what);
    }
    if prefix.len() >= 12 && &prefix[..4] == b"RIFF" && &prefix[8..12] == b"WEBP" {
        return Some("a WebP image");
    }
    looks_like_text(prefix).then_some("a text file")
}

/// For a supported container's signature: what it means that no reader accepted the file.
fn damaged_container(prefix: &[u8]) -> Option<&'static str> {
    if prefix.starts_with(b"ID3") {
        Some("it has an MP3 tag but no audio frames after it; it may be truncated")
    } else if prefix.get(4..8) == Some(b"ftyp") {
        Some("it is an MP4/M4A file without its index (moov box); it is probably truncated")
    } else if prefix.starts_with(b"RIFF") || prefix.starts_with(b"fLaC") {
        Some("its header is incomplete or damaged; it may be truncated")
    } else if prefix.starts_with(b"OggS") || prefix.starts_with(b"\x1a\x45\xdf\xa3") {
        Some("its stream headers are incomplete or damaged; it may be truncated")
    } else {
        None
    }
}

/// True when the prefix is printable UTF-8 text. Every supported container starts with binary
/// bytes (sizes, version fields, NULs) within its first few bytes.
fn looks_like_text(prefix: &[u8]) -> bool {
    let valid = match std::str::from_utf8(prefix) {
        Ok(text) => text,
        // A multi-byte character cut by the prefix's end is still text.
        Err(e) if e.error_len().is_none() => {
            match std::str::from_utf8(&prefix[..e.valid_up_to()]) {
                Ok(text) => text,
                Err(_) => return false,
            }
        }
        Err(_) => return false,
    };
    !valid.is_empty()
        && valid
            .chars()
            .all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r' | '\x0c'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_non_audio_files_are_named() {
        assert_eq!(kind(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Some("a PNG image"));
        assert_eq!(kind(b"meeting notes\nline two\n"), Some("a text file"));
        assert_eq!(kind("réunion".as_bytes()), Some("a text file"));
    }

    #[test]
    fn audio_containers_are_not_mistaken_for_text() {
        assert_eq!(kind(b"RIFF\x24\x08\0\0WAVEfmt "), None);
        assert_eq!(kind(b"fLaC\0\0\0\x22"), None);
        assert_eq!(kind(b"OggS\0\x02"), None);
        assert_eq!(kind(b"ID3\x04\0\0\0\0\x01\x0f"), None);
        assert_eq!(kind(b"\0\0\0\x20ftypM4A "), None);
        assert_eq!(kind(b"\x1a\x45\xdf\xa3"), None);
    }
}
