//! Reading an encrypted recording as a seekable byte source for the in-process decoder. Bytes
//! are fetched a window of segments at a time, authenticated and decrypted in memory; nothing
//! decrypted is written anywhere. Used on a blocking thread (it waits on the async blob store).
//! Also the limits every decode runs under.

use std::io::{Read, Seek, SeekFrom};

use meetvault_crypto::stream::{self, StreamDecryptor};
use meetvault_store::{BlobKey, BlobStore};
use zeroize::Zeroizing;

use crate::CoreError;

/// What decoding an upload may accept (`recordings.max_duration_secs`).
pub fn audio_limits(config: &meetvault_config::Config) -> meetvault_audio::Limits {
    meetvault_audio::Limits {
        max_duration_secs: config.recordings.max_duration_secs as f64,
    }
}

/// Segments fetched per blob request (1 MiB of audio).
const WINDOW: u64 = 16;

pub(crate) struct BlobReader {
    handle: tokio::runtime::Handle,
    blobs: BlobStore,
    key: BlobKey,
    dec: StreamDecryptor,
    stored: u64,
    plain_len: u64,
    segments: u64,
    pos: u64,
    /// Plaintext of segments `cache_first ..`, contiguous.
    cache_first: u64,
    cache: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for BlobReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobReader")
            .field("key", &self.key)
            .field("len", &self.plain_len)
            .field("pos", &self.pos)
            .finish_non_exhaustive()
    }
}

impl BlobReader {
    /// Must be created inside the runtime (it keeps a handle to it).
    pub(crate) fn new(
        blobs: BlobStore,
        key: BlobKey,
        dec: StreamDecryptor,
        stored: u64,
    ) -> Result<Self, CoreError> {
        let (plain_len, segments) = stream::plaintext_len(stored)
            .map_err(|e| CoreError::Integrity(format!("recording: {e}")))?;
        Ok(Self {
            handle: tokio::runtime::Handle::current(),
            blobs,
            key,
            dec,
            stored,
            plain_len,
            segments,
            pos: 0,
            cache_first: 0,
            cache: Zeroizing::new(Vec::new()),
        })
    }

    fn load(&mut self, first: u64) -> std::io::Result<()> {
        let n = WINDOW.min(self.segments - first);
        let ct_seg = stream::SEGMENT_CT_LEN as u64;
        let start = stream::HEADER_LEN as u64 + first * ct_seg;
        let end = (start + n * ct_seg).min(self.stored);
        let bytes = self
            .handle
            .block_on(self.blobs.get_range(&self.key, start..end))
            .map_err(std::io::Error::other)?;
        let mut plain = Zeroizing::new(Vec::with_capacity(bytes.len()));
        for (i, chunk) in bytes.chunks(stream::SEGMENT_CT_LEN).enumerate() {
            let index = first + i as u64;
            let opened = self
                .dec
                .open_segment(index, chunk, index + 1 == self.segments)
                .map_err(|e| {
                    std::io::Error::other(format!("recording failed its integrity check: {e}"))
                })?;
            plain.extend_from_slice(&opened);
        }
        self.cache_first = first;
        self.cache = plain;
        Ok(())
    }
}

impl Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.plain_len || buf.is_empty() {
            return Ok(0);
        }
        let seg_len = stream::SEGMENT_LEN as u64;
        let cached_from = self.cache_first * seg_len;
        let cached_to = cached_from + self.cache.len() as u64;
        if self.pos < cached_from || self.pos >= cached_to {
            self.load(self.pos / seg_len)?;
        }
        let offset = usize::try_from(self.pos - self.cache_first * seg_len)
            .map_err(std::io::Error::other)?;
        let available = &self.cache[offset.min(self.cache.len())..];
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for BlobReader {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let target = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.plain_len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        let target = target.ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek before the start")
        })?;
        self.pos = target;
        Ok(target)
    }
}

impl meetvault_audio::MediaSource for BlobReader {
    fn is_seekable(&self) -> bool {
        true
    }
    fn byte_len(&self) -> Option<u64> {
        Some(self.plain_len)
    }
}

/// A decoding failure as the caller sees it: the file's fault (4xx, naming the problem) or
/// ours (a storage or integrity failure).
pub(crate) fn audio_error(e: meetvault_audio::AudioError) -> CoreError {
    match e {
        meetvault_audio::AudioError::Io(io) => CoreError::internal(io),
        other => CoreError::BadMedia {
            code: other.code(),
            message: other.to_string(),
        },
    }
}
