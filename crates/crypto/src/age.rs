//! Encryption to an age recipient (<https://age-encryption.org/v1>, X25519 recipients only), as
//! a stream: what meetvault writes into a customer's bucket when the destination names an
//! `age1…` recipient, so the bucket's operator never holds plaintext either. The customer
//! decrypts with the stock tool: `age --decrypt -i key.txt file.wav.age > file.wav`.
//!
//! The format: a header (version line, one `X25519` stanza wrapping a random 16-byte file key
//! to the recipient, an HMAC over the header), a 16-byte nonce, then the payload in 64 KiB
//! chunks sealed with ChaCha20-Poly1305 under a key derived from the file key and the nonce;
//! each chunk's nonce is its 11-byte counter and a last-chunk flag.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use rand::RngCore as _;
use sha2::Sha256;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use crate::CryptoError;

/// Plaintext bytes per payload chunk.
pub const CHUNK: usize = 64 * 1024;
const TAG: usize = 16;

/// An age X25519 recipient (`age1…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recipient([u8; 32]);

impl Recipient {
    /// Reads an `age1…` recipient (Bech32, checksum verified).
    pub fn parse(s: &str) -> Result<Self, CryptoError> {
        let bytes = bech32_decode(s.trim(), "age").ok_or(CryptoError::Malformed(
            "not an age recipient (age1… from `age-keygen -y`)",
        ))?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| CryptoError::Malformed("an age recipient holds 32 bytes"))?;
        Ok(Self(key))
    }
}

/// Encrypts a stream to one recipient: [`Encryptor::header`] first, then what
/// [`Encryptor::push`] returns for each piece of plaintext, then [`Encryptor::finish`].
pub struct Encryptor {
    payload: ChaCha20Poly1305,
    key: Zeroizing<[u8; 32]>,
    counter: u128,
    pending: Vec<u8>,
    header: Option<Vec<u8>>,
}

impl std::fmt::Debug for Encryptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("age::Encryptor")
    }
}

impl Encryptor {
    pub fn new(recipient: &Recipient) -> Self {
        let mut file_key = Zeroizing::new([0u8; 16]);
        rand::rng().fill_bytes(file_key.as_mut());
        let mut ephemeral = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(ephemeral.as_mut());
        let secret = StaticSecret::from(*ephemeral);
        let share = PublicKey::from(&secret);
        let their = PublicKey::from(recipient.0);
        let shared = secret.diffie_hellman(&their);
        let mut salt = Vec::with_capacity(64);
        salt.extend_from_slice(share.as_bytes());
        salt.extend_from_slice(&recipient.0);
        let wrap_key = hkdf(&salt, shared.as_bytes(), b"age-encryption.org/v1/X25519");
        let wrapped = ChaCha20Poly1305::new(Key::from_slice(wrap_key.as_ref()))
            .encrypt(Nonce::from_slice(&[0u8; 12]), file_key.as_ref())
            .unwrap_or_default();
        let mut header = String::from("age-encryption.org/v1\n");
        header.push_str(&format!(
            "-> X25519 {}\n",
            STANDARD_NO_PAD.encode(share.as_bytes())
        ));
        // The body's base64, wrapped at 64 columns (a final line shorter than 64; here 43).
        let body = STANDARD_NO_PAD.encode(&wrapped);
        for line in body.as_bytes().chunks(64) {
            header.push_str(std::str::from_utf8(line).unwrap_or_default());
            header.push('\n');
        }
        header.push_str("---");
        let mac_key = hkdf(&[], file_key.as_ref(), b"header");
        let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(mac_key.as_ref()) else {
            unreachable!("HMAC accepts keys of any length")
        };
        mac.update(header.as_bytes());
        header.push(' ');
        header.push_str(&STANDARD_NO_PAD.encode(mac.finalize().into_bytes()));
        header.push('\n');
        let mut nonce = [0u8; 16];
        rand::rng().fill_bytes(&mut nonce);
        let payload_key = hkdf(&nonce, file_key.as_ref(), b"payload");
        let mut head = header.into_bytes();
        head.extend_from_slice(&nonce);
        Self::resume(Some(head), &payload_key, 0)
    }

    /// An encryptor that continues a stream begun earlier: with its header (none if that went
    /// out already), its payload key ([`Encryptor::payload_key`]) and the number of chunks
    /// sealed so far. Fed the same plaintext, it writes the same bytes.
    pub fn resume(header: Option<Vec<u8>>, payload_key: &[u8; 32], chunks: u64) -> Self {
        Self {
            payload: ChaCha20Poly1305::new(Key::from_slice(payload_key)),
            key: Zeroizing::new(*payload_key),
            counter: u128::from(chunks),
            pending: Vec::with_capacity(CHUNK),
            header,
        }
    }

    /// The payload key, to resume the stream later (keep it as secret as the plaintext).
    pub fn payload_key(&self) -> Zeroizing<[u8; 32]> {
        self.key.clone()
    }

    /// Takes plaintext knowing that more follows: every full chunk is sealed now (the part
    /// of a stream sent before its end).
    pub fn push_more(&mut self, data: &[u8]) -> Vec<u8> {
        let mut out = self.push(data);
        if self.pending.len() == CHUNK {
            let chunk = std::mem::take(&mut self.pending);
            out.extend_from_slice(&self.seal(&chunk, false));
            self.pending.reserve(CHUNK);
        }
        out
    }

    /// The header and payload nonce (once; empty after).
    pub fn header(&mut self) -> Vec<u8> {
        self.header.take().unwrap_or_default()
    }

    /// Takes plaintext; returns the sealed chunks now complete. A full chunk is held back until
    /// more comes, because only the last chunk is marked last.
    pub fn push(&mut self, mut data: &[u8]) -> Vec<u8> {
        let mut out = self.header();
        while !data.is_empty() {
            if self.pending.len() == CHUNK {
                let chunk = std::mem::take(&mut self.pending);
                out.extend_from_slice(&self.seal(&chunk, false));
                self.pending.reserve(CHUNK);
            }
            let take = (CHUNK - self.pending.len()).min(data.len());
            self.pending.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        out
    }

    /// The last chunk (empty plaintext only when there was none at all).
    pub fn finish(mut self) -> Vec<u8> {
        let mut out = self.header();
        let last = std::mem::take(&mut self.pending);
        out.extend_from_slice(&self.seal(&last, true));
        out
    }

    fn seal(&mut self, chunk: &[u8], last: bool) -> Vec<u8> {
        let mut nonce = [0u8; 12];
        nonce[..11].copy_from_slice(&self.counter.to_be_bytes()[5..16]);
        nonce[11] = u8::from(last);
        self.counter += 1;
        let sealed = self
            .payload
            .encrypt(Nonce::from_slice(&nonce), chunk)
            .unwrap_or_default();
        debug_assert_eq!(sealed.len(), chunk.len() + TAG);
        sealed
    }
}

/// The sealed size of `chunks` full payload chunks.
pub const fn sealed_len(chunks: u64) -> u64 {
    chunks * (CHUNK + TAG) as u64
}

fn hkdf(salt: &[u8], ikm: &[u8], info: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    let salt = (!salt.is_empty()).then_some(salt);
    // 32 bytes is within HKDF-SHA256's limit.
    let _ = Hkdf::<Sha256>::new(salt, ikm).expand(info, out.as_mut());
    out
}

/// Bech32 (BIP 173) decoding with the expected human-readable part; `None` for anything else.
fn bech32_decode(s: &str, hrp: &str) -> Option<Vec<u8>> {
    const CHARSET: &[u8] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    let lower = s.to_ascii_lowercase();
    if lower != s && s.to_ascii_uppercase() != s {
        return None; // mixed case
    }
    let (h, data) = lower.rsplit_once('1')?;
    if h != hrp || data.len() < 6 {
        return None;
    }
    let values: Vec<u8> = data
        .bytes()
        .map(|c| CHARSET.iter().position(|&x| x == c).map(|p| p as u8))
        .collect::<Option<_>>()?;
    let polymod = |v: &[u8]| {
        const GEN: [u32; 5] = [
            0x3b6a_57b2,
            0x2650_8e6d,
            0x1ea1_19fa,
            0x3d42_33dd,
            0x2a14_62b3,
        ];
        let mut chk: u32 = 1;
        for &x in v {
            let top = chk >> 25;
            chk = ((chk & 0x1ff_ffff) << 5) ^ u32::from(x);
            for (i, g) in GEN.iter().enumerate() {
                if (top >> i) & 1 == 1 {
                    chk ^= g;
                }
            }
        }
        chk
    };
    let mut check: Vec<u8> = h.bytes().map(|b| b >> 5).collect();
    check.push(0);
    check.extend(h.bytes().map(|b| b & 31));
    check.extend_from_slice(&values);
    if polymod(&check) != 1 {
        return None;
    }
    // 5-bit groups to bytes.
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for &v in &values[..values.len() - 6] {
        acc = (acc << 5) | u32::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    if bits >= 5 || (acc & ((1 << bits) - 1)) != 0 {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipients_are_checked() {
        // From age's own test vectors (a valid X25519 recipient).
        let r = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";
        assert!(Recipient::parse(r).is_ok());
        let mut bad = r.to_owned();
        bad.replace_range(10..11, "q");
        assert!(
            Recipient::parse(&bad).is_err(),
            "a changed character passed the checksum"
        );
        for s in [
            "",
            "age1",
            "agx1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p",
            "AGE1ql3z",
        ] {
            assert!(Recipient::parse(s).is_err(), "{s}");
        }
    }

    #[test]
    fn chunks_are_sized_and_the_last_is_marked() {
        let r = Recipient::parse("age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p")
            .unwrap();
        for len in [0usize, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK] {
            let mut e = Encryptor::new(&r);
            let header_len = e.header.as_ref().unwrap().len();
            let mut out = Vec::new();
            for piece in vec![7u8; len].chunks(10_000) {
                out.extend(e.push(piece));
            }
            out.extend(e.finish());
            let chunks = if len == 0 { 1 } else { len.div_ceil(CHUNK) };
            assert_eq!(out.len(), header_len + len + chunks * TAG, "{len}");
        }
    }

    #[test]
    fn a_resumed_stream_writes_the_same_bytes() {
        let r = Recipient::parse("age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p")
            .unwrap();
        let data: Vec<u8> = (0..5 * CHUNK + 123).map(|i| (i % 251) as u8).collect();
        let mut e = Encryptor::new(&r);
        let header = e.header.clone().unwrap();
        let key = e.payload_key();
        let mut whole = e.push(&data);
        whole.extend(e.finish());
        // Two chunks sent before a crash, the rest by an encryptor resumed from the state kept.
        let mut first = Encryptor::resume(Some(header.clone()), &key, 0);
        let mut pieced = first.push_more(&data[..2 * CHUNK]);
        assert_eq!(pieced.len(), header.len() + sealed_len(2) as usize);
        let mut rest = Encryptor::resume(None, &key, 2);
        pieced.extend(rest.push(&data[2 * CHUNK..]));
        pieced.extend(rest.finish());
        assert_eq!(pieced, whole);
    }
}
