//! Blob encryption in fixed-size segments (the STREAM construction of Hoang, Reyhanitabar,
//! Rogaway and Vizár): a recording of any size is encrypted and decrypted streaming, and a ranged
//! read decrypts only the segments it covers.
//!
//! Layout: a 56-byte header `"MVS" 0x01 || key ref (20) || salt (32)`, then segments of
//! [`SEGMENT_LEN`] plaintext bytes, each followed by its 16-byte tag (the last may be shorter,
//! down to empty). Each blob gets its own ChaCha20-Poly1305 key, HKDF-SHA256 of the meeting key
//! with the random salt, the key reference and the [`Binding`] — so segments of one blob never
//! verify in another, or under another row. Segment `i`'s nonce is `0^7 || i (u32 BE) || final`,
//! so reordering, swapping and truncation at a segment boundary all fail authentication.

use std::ops::Range;

use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use hkdf::Hkdf;
use rand::RngCore as _;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::CryptoError;
use crate::envelope::{Binding, KeyRef};
use crate::keys::SymmetricKey;

/// Plaintext bytes per segment.
pub const SEGMENT_LEN: usize = 64 * 1024;
const TAG_LEN: usize = 16;
/// Ciphertext bytes per full segment.
pub const SEGMENT_CT_LEN: usize = SEGMENT_LEN + TAG_LEN;
const MAGIC: [u8; 4] = *b"MVS\x01";
const SALT_LEN: usize = 32;
/// Bytes before the first segment.
pub const HEADER_LEN: usize = MAGIC.len() + KeyRef::ENCODED_LEN + SALT_LEN;

fn blob_cipher(
    dek: &SymmetricKey,
    header: &[u8; HEADER_LEN],
    binding: &Binding<'_>,
) -> ChaCha20Poly1305 {
    let salt = &header[MAGIC.len() + KeyRef::ENCODED_LEN..];
    let hkdf = Hkdf::<Sha256>::new(Some(salt), dek.expose());
    let mut info = b"meetvault/blob-stream/v1".to_vec();
    info.extend_from_slice(&header[..MAGIC.len() + KeyRef::ENCODED_LEN]);
    info.extend_from_slice(&binding.encode());
    let mut key = Zeroizing::new([0u8; 32]);
    let Ok(()) = hkdf.expand(&info, &mut *key) else {
        unreachable!("HKDF-SHA256 output of 32 bytes is within the RFC 5869 limit")
    };
    ChaCha20Poly1305::new((&*key).into())
}

fn nonce(index: u64, last: bool) -> Result<Nonce, CryptoError> {
    let index =
        u32::try_from(index).map_err(|_| CryptoError::Malformed("blob has too many segments"))?;
    let mut nonce = [0u8; 12];
    nonce[7..11].copy_from_slice(&index.to_be_bytes());
    nonce[11] = u8::from(last);
    Ok(nonce.into())
}

/// The key a blob header names.
pub fn header_key_ref(header: &[u8]) -> Result<KeyRef, CryptoError> {
    if header.len() < HEADER_LEN {
        return Err(CryptoError::StreamTruncated);
    }
    if header[..MAGIC.len()] != MAGIC {
        return Err(CryptoError::Malformed("not a meetvault encrypted blob"));
    }
    KeyRef::decode(&header[MAGIC.len()..])
}

/// Ciphertext size of a blob of `plain` bytes.
pub fn ciphertext_len(plain: u64) -> u64 {
    let segments = plain.div_ceil(SEGMENT_LEN as u64).max(1);
    HEADER_LEN as u64 + plain + segments * TAG_LEN as u64
}

/// Plaintext size of a blob whose ciphertext is `ct_len` bytes, and its segment count; an
/// impossible size (e.g. a cut inside a tag) is an error.
pub fn plaintext_len(ct_len: u64) -> Result<(u64, u64), CryptoError> {
    let body = ct_len
        .checked_sub(HEADER_LEN as u64)
        .filter(|b| *b >= TAG_LEN as u64)
        .ok_or(CryptoError::StreamTruncated)?;
    let full = body / SEGMENT_CT_LEN as u64;
    let rest = body % SEGMENT_CT_LEN as u64;
    match rest {
        0 => Ok((full * SEGMENT_LEN as u64, full)),
        r if r < TAG_LEN as u64 => Err(CryptoError::StreamTruncated),
        r => Ok((full * SEGMENT_LEN as u64 + r - TAG_LEN as u64, full + 1)),
    }
}

/// Encrypts a blob incrementally: feed any chunks to [`update`](Self::update), then
/// [`finish`](Self::finish). Holds at most one segment of plaintext (zeroized on drop).
pub struct StreamEncryptor {
    cipher: ChaCha20Poly1305,
    index: u64,
    pending: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for StreamEncryptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamEncryptor")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

impl StreamEncryptor {
    /// A new blob under `dek`; the header must be written first.
    pub fn new(
        dek: &SymmetricKey,
        key_ref: KeyRef,
        binding: &Binding<'_>,
    ) -> (Self, [u8; HEADER_LEN]) {
        let mut header = [0u8; HEADER_LEN];
        header[..MAGIC.len()].copy_from_slice(&MAGIC);
        header[MAGIC.len()..MAGIC.len() + KeyRef::ENCODED_LEN].copy_from_slice(&key_ref.encode());
        rand::rng().fill_bytes(&mut header[MAGIC.len() + KeyRef::ENCODED_LEN..]);
        let cipher = blob_cipher(dek, &header, binding);
        let encryptor = Self {
            cipher,
            index: 0,
            pending: Zeroizing::new(Vec::with_capacity(SEGMENT_LEN + 1)),
        };
        (encryptor, header)
    }

    fn seal(&mut self, last: bool, out: &mut Vec<u8>) -> Result<(), CryptoError> {
        let take = self.pending.len().min(SEGMENT_LEN);
        let start = out.len();
        out.extend_from_slice(&self.pending[..take]);
        let tag = self
            .cipher
            .encrypt_in_place_detached(&nonce(self.index, last)?, &[], &mut out[start..])
            .map_err(|_| CryptoError::Malformed("segment too large"))?;
        out.extend_from_slice(&tag);
        self.pending.drain(..take);
        self.index += 1;
        Ok(())
    }

    /// Appends every segment that is complete (and known not to be the last) to `out`.
    pub fn update(&mut self, mut data: &[u8], out: &mut Vec<u8>) -> Result<(), CryptoError> {
        while !data.is_empty() {
            let room = SEGMENT_LEN + 1 - self.pending.len();
            let take = room.min(data.len());
            self.pending.extend_from_slice(&data[..take]);
            data = &data[take..];
            // One byte past a full segment proves the segment is not the last.
            if self.pending.len() > SEGMENT_LEN {
                self.seal(false, out)?;
            }
        }
        Ok(())
    }

    /// Seals what is left as the final segment (an empty blob has one empty final segment).
    pub fn finish(mut self, out: &mut Vec<u8>) -> Result<(), CryptoError> {
        self.seal(true, out)
    }
}

/// Decrypts a blob, whole (streaming, via [`update`](Self::update)/[`finish`](Self::finish))
/// or by segment for ranged reads ([`open_segment`](Self::open_segment)).
pub struct StreamDecryptor {
    cipher: ChaCha20Poly1305,
    index: u64,
    pending: Vec<u8>,
}

impl std::fmt::Debug for StreamDecryptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamDecryptor")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

impl StreamDecryptor {
    /// Reads the header; `dek` must be the key it names (see [`header_key_ref`]).
    pub fn new(
        dek: &SymmetricKey,
        binding: &Binding<'_>,
        header: &[u8],
    ) -> Result<Self, CryptoError> {
        header_key_ref(header)?;
        let header: &[u8; HEADER_LEN] = header[..HEADER_LEN]
            .try_into()
            .map_err(|_| CryptoError::StreamTruncated)?;
        Ok(Self {
            cipher: blob_cipher(dek, header, binding),
            index: 0,
            pending: Vec::new(),
        })
    }

    /// Decrypts segment `index` (its ciphertext with tag); `last` says whether the blob's size
    /// makes it the final segment.
    pub fn open_segment(
        &self,
        index: u64,
        segment: &[u8],
        last: bool,
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        if segment.len() < TAG_LEN
            || segment.len() > SEGMENT_CT_LEN
            || (!last && segment.len() != SEGMENT_CT_LEN)
        {
            return Err(CryptoError::StreamTruncated);
        }
        let (body, tag) = segment.split_at(segment.len() - TAG_LEN);
        let mut buffer = Zeroizing::new(body.to_vec());
        let opened = self.cipher.decrypt_in_place_detached(
            &nonce(index, last)?,
            &[],
            &mut buffer,
            tag.into(),
        );
        if opened.is_err() {
            // A valid non-final segment where the final one should be: cut at a boundary.
            let mut probe = Zeroizing::new(body.to_vec());
            if last
                && self
                    .cipher
                    .decrypt_in_place_detached(&nonce(index, false)?, &[], &mut probe, tag.into())
                    .is_ok()
            {
                return Err(CryptoError::StreamTruncated);
            }
            return Err(CryptoError::SegmentFailed { index });
        }
        Ok(buffer)
    }

    /// Feeds ciphertext (after the header); appends plaintext of each segment known not to be
    /// the last to `out`.
    pub fn update(&mut self, mut data: &[u8], out: &mut Vec<u8>) -> Result<(), CryptoError> {
        while !data.is_empty() {
            let room = SEGMENT_CT_LEN + 1 - self.pending.len();
            let take = room.min(data.len());
            self.pending.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.pending.len() > SEGMENT_CT_LEN {
                let plain =
                    self.open_segment(self.index, &self.pending[..SEGMENT_CT_LEN], false)?;
                out.extend_from_slice(&plain);
                self.pending.drain(..SEGMENT_CT_LEN);
                self.index += 1;
            }
        }
        Ok(())
    }

    /// Opens the final segment; a blob that ends early fails here.
    pub fn finish(self, out: &mut Vec<u8>) -> Result<(), CryptoError> {
        let plain = self.open_segment(self.index, &self.pending, true)?;
        out.extend_from_slice(&plain);
        Ok(())
    }
}

/// What a ranged read of plaintext bytes needs from the ciphertext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// First segment index to decrypt.
    pub first_segment: u64,
    /// Ciphertext byte range covering the segments (within the object).
    pub ciphertext: Range<u64>,
    /// Plaintext bytes to skip at the start of the first segment.
    pub skip: usize,
    /// Plaintext bytes to return in all.
    pub len: u64,
    /// Segment count of the whole blob, so the caller knows which one is final.
    pub segments: u64,
}

/// Maps the plaintext range `range` of a blob with `ct_len` ciphertext bytes to segments; the
/// range is clamped to the blob's size.
pub fn span(range: Range<u64>, ct_len: u64) -> Result<Span, CryptoError> {
    let (plain_len, segments) = plaintext_len(ct_len)?;
    let end = range.end.min(plain_len);
    let start = range.start.min(end);
    let seg = SEGMENT_LEN as u64;
    let first = (start / seg).min(segments.saturating_sub(1));
    let last = if end > start { (end - 1) / seg } else { first };
    let ct_start = HEADER_LEN as u64 + first * SEGMENT_CT_LEN as u64;
    let ct_end = (HEADER_LEN as u64 + (last + 1) * SEGMENT_CT_LEN as u64).min(ct_len);
    Ok(Span {
        first_segment: first,
        ciphertext: ct_start..ct_end,
        skip: usize::try_from(start - first * seg).unwrap_or(0),
        len: end - start,
        segments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const REF: KeyRef = KeyRef {
        id: [5; 16],
        version: 1,
    };

    fn binding(row: u8) -> Binding<'static> {
        Binding {
            org: [1; 16],
            table: "recordings",
            row: [row; 16],
            field: "blob",
        }
    }

    fn encrypt_all(dek: &SymmetricKey, plain: &[u8], chunk: usize) -> Vec<u8> {
        let (mut enc, header) = StreamEncryptor::new(dek, REF, &binding(1));
        let mut out = header.to_vec();
        for piece in plain.chunks(chunk.max(1)) {
            enc.update(piece, &mut out).unwrap();
        }
        enc.finish(&mut out).unwrap();
        out
    }

    fn decrypt_all(
        dek: &SymmetricKey,
        blob: &[u8],
        row: u8,
        chunk: usize,
    ) -> Result<Vec<u8>, CryptoError> {
        let mut dec = StreamDecryptor::new(dek, &binding(row), blob)?;
        let mut out = Vec::new();
        for piece in blob[HEADER_LEN..].chunks(chunk) {
            dec.update(piece, &mut out)?;
        }
        dec.finish(&mut out)?;
        Ok(out)
    }

    fn sample(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 % 251) as u8).collect()
    }

    #[test]
    fn round_trips_at_every_boundary_and_chunking() {
        let dek = SymmetricKey::generate();
        for len in [
            0,
            1,
            SEGMENT_LEN - 1,
            SEGMENT_LEN,
            SEGMENT_LEN + 1,
            3 * SEGMENT_LEN,
            3 * SEGMENT_LEN + 77,
        ] {
            let plain = sample(len);
            for chunk in [1000, SEGMENT_LEN, 200_000] {
                let blob = encrypt_all(&dek, &plain, chunk);
                assert_eq!(blob.len() as u64, ciphertext_len(len as u64), "len {len}");
                assert_eq!(plaintext_len(blob.len() as u64).unwrap().0, len as u64);
                assert_eq!(header_key_ref(&blob).unwrap(), REF);
                assert_eq!(
                    decrypt_all(&dek, &blob, 1, 7777).unwrap(),
                    plain,
                    "len {len} chunk {chunk}"
                );
            }
        }
    }

    #[test]
    fn truncation_reordering_swapping_and_flips_fail() {
        let dek = SymmetricKey::generate();
        let plain = sample(3 * SEGMENT_LEN + 10);
        let blob = encrypt_all(&dek, &plain, 50_000);

        // Cut at a segment boundary: the last whole segment is not marked final.
        let cut = HEADER_LEN + 2 * SEGMENT_CT_LEN;
        assert_eq!(
            decrypt_all(&dek, &blob[..cut], 1, 9000),
            Err(CryptoError::StreamTruncated)
        );
        // Cut inside a segment.
        assert!(decrypt_all(&dek, &blob[..blob.len() - 5], 1, 9000).is_err());

        // Segments 0 and 1 swapped.
        let mut swapped = blob.clone();
        let (a, b) = (HEADER_LEN, HEADER_LEN + SEGMENT_CT_LEN);
        let first = blob[a..b].to_vec();
        swapped[a..b].copy_from_slice(&blob[b..b + SEGMENT_CT_LEN]);
        swapped[b..b + SEGMENT_CT_LEN].copy_from_slice(&first);
        assert_eq!(
            decrypt_all(&dek, &swapped, 1, 9000),
            Err(CryptoError::SegmentFailed { index: 0 })
        );

        // A segment from another blob under the same key.
        let other = encrypt_all(&dek, &plain, 50_000);
        let mut spliced = blob.clone();
        spliced[b..b + SEGMENT_CT_LEN].copy_from_slice(&other[b..b + SEGMENT_CT_LEN]);
        assert_eq!(
            decrypt_all(&dek, &spliced, 1, 9000),
            Err(CryptoError::SegmentFailed { index: 1 })
        );

        // Another row's binding, another key, a flipped bit anywhere.
        assert!(decrypt_all(&dek, &blob, 2, 9000).is_err());
        assert!(decrypt_all(&SymmetricKey::generate(), &blob, 1, 9000).is_err());
        for i in (0..blob.len()).step_by(4099) {
            let mut bad = blob.clone();
            bad[i] ^= 1;
            assert!(decrypt_all(&dek, &bad, 1, 9000).is_err(), "byte {i}");
        }
    }

    #[test]
    fn ranged_reads_decrypt_only_their_segments() {
        let dek = SymmetricKey::generate();
        let plain = sample(4 * SEGMENT_LEN + 123);
        let blob = encrypt_all(&dek, &plain, 100_000);
        let dec = StreamDecryptor::new(&dek, &binding(1), &blob).unwrap();
        let seg = SEGMENT_LEN as u64;
        for range in [
            0..10,
            seg - 3..seg + 3,
            2 * seg..3 * seg,
            4 * seg..4 * seg + 123,
            5..(5 * seg),
            100..100,
        ] {
            let span = span(range.clone(), blob.len() as u64).unwrap();
            let bytes = &blob[span.ciphertext.start as usize..span.ciphertext.end as usize];
            let mut out = Vec::new();
            for (i, segment) in bytes.chunks(SEGMENT_CT_LEN).enumerate() {
                let index = span.first_segment + i as u64;
                out.extend_from_slice(
                    &dec.open_segment(index, segment, index + 1 == span.segments)
                        .unwrap(),
                );
            }
            let got: Vec<u8> = out
                .into_iter()
                .skip(span.skip)
                .take(span.len as usize)
                .collect();
            let end = (range.end as usize).min(plain.len());
            assert_eq!(got, plain[range.start as usize..end], "{range:?}");
            assert!(
                span.ciphertext.end - span.ciphertext.start <= 2 * SEGMENT_CT_LEN as u64
                    || range.end > 3 * seg
            );
        }
    }

    #[test]
    fn impossible_sizes_are_rejected() {
        assert_eq!(plaintext_len(0), Err(CryptoError::StreamTruncated));
        assert_eq!(
            plaintext_len(HEADER_LEN as u64 + 15),
            Err(CryptoError::StreamTruncated)
        );
        assert_eq!(plaintext_len(HEADER_LEN as u64 + 16).unwrap(), (0, 1));
        assert_eq!(
            plaintext_len((HEADER_LEN + SEGMENT_CT_LEN + 3) as u64),
            Err(CryptoError::StreamTruncated)
        );
        assert!(matches!(
            header_key_ref(b"RIFF....................................................."),
            Err(CryptoError::Malformed(_))
        ));
    }
}
