//! Opus decoding through libopus, for the packets symphonia's Ogg and Matroska/WebM demuxers
//! hand over (symphonia has no Opus decoder).
//!
//! The `OpusHead` identification header (the codec's extra data in both containers, RFC 7845 §5.1)
//! gives the channel layout, the pre-skip (encoder delay, in 48 kHz samples, dropped from the
//! start) and the output gain. Decoding is always at 48 kHz, the rate Opus is defined at.

use symphonia::core::packet::Packet;

use crate::AudioError;

/// The rate libopus decodes at.
pub(crate) const OPUS_RATE: u32 = 48_000;
/// The longest Opus packet: 120 ms at 48 kHz.
const MAX_FRAMES_PER_PACKET: usize = 5_760;
/// More channels than any meeting recorder produces; bounds the decode buffer.
const MAX_CHANNELS: u8 = 8;

/// The fields of an `OpusHead` this decoder needs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OpusHead {
    pub(crate) channels: u8,
    pub(crate) pre_skip: u16,
    /// Output gain in dB, Q7.8.
    pub(crate) output_gain: i16,
    pub(crate) streams: u8,
    pub(crate) coupled: u8,
    pub(crate) mapping: Vec<u8>,
}

impl OpusHead {
    pub(crate) fn parse(data: &[u8]) -> Result<Self, AudioError> {
        let bad = |what: &str| AudioError::corrupt(format!("the Opus header {what}"));
        if data.len() < 19 || &data[..8] != b"OpusHead" {
            return Err(bad("is missing or too short"));
        }
        if data[8] >> 4 != 0 {
            return Err(AudioError::unsupported(
                "an Opus stream of a newer, incompatible version",
            ));
        }
        let channels = data[9];
        if channels == 0 {
            return Err(bad("declares zero channels"));
        }
        if channels > MAX_CHANNELS {
            return Err(AudioError::unsupported(format!(
                "Opus audio with {channels} channels (at most {MAX_CHANNELS})"
            )));
        }
        let pre_skip = u16::from_le_bytes([data[10], data[11]]);
        let output_gain = i16::from_le_bytes([data[16], data[17]]);
        let family = data[18];
        let (streams, coupled, mapping) = if family == 0 {
            if channels > 2 {
                return Err(bad("declares more than 2 channels for mapping family 0"));
            }
            (1, channels - 1, (0..channels).collect())
        } else {
            let table = data
                .get(19..21 + usize::from(channels))
                .ok_or_else(|| bad("is truncated"))?;
            let (streams, coupled) = (table[0], table[1]);
            if streams == 0 || coupled > streams {
                return Err(bad("declares an impossible stream layout"));
            }
            (streams, coupled, table[2..].to_vec())
        };
        Ok(OpusHead {
            channels,
            pre_skip,
            output_gain,
            streams,
            coupled,
            mapping,
        })
    }
}

pub(crate) struct OpusDecoder {
    decoder: opus::MSDecoder,
    channels: usize,
    /// Pre-skip samples (per channel) still to drop.
    to_skip: usize,
    gain: f32,
    pcm: Vec<f32>,
}

impl std::fmt::Debug for OpusDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusDecoder")
            .field("channels", &self.channels)
            .finish_non_exhaustive()
    }
}

impl OpusDecoder {
    pub(crate) fn new(head: &OpusHead) -> Result<Self, AudioError> {
        let decoder = opus::MSDecoder::new(OPUS_RATE, head.streams, head.coupled, &head.mapping)
            .map_err(|e| {
                AudioError::corrupt(format!("the Opus header is rejected by libopus: {e}"))
            })?;
        let channels = usize::from(head.channels);
        Ok(OpusDecoder {
            decoder,
            channels,
            to_skip: usize::from(head.pre_skip),
            gain: 10f32.powf(f32::from(head.output_gain) / (20.0 * 256.0)),
            pcm: vec![0.0; MAX_FRAMES_PER_PACKET * channels],
        })
    }

    pub(crate) fn channels(&self) -> usize {
        self.channels
    }

    /// Decodes one packet into `out` (interleaved), after dropping pre-skip and the packet's
    /// end trim (the container's end-of-stream padding).
    pub(crate) fn decode(&mut self, packet: &Packet, out: &mut Vec<f32>) -> Result<(), AudioError> {
        out.clear();
        if packet.data.is_empty() {
            return Ok(());
        }
        let frames = self
            .decoder
            .decode_float(&packet.data, &mut self.pcm, false)
            .map_err(|e| AudioError::corrupt(format!("an Opus packet does not decode: {e}")))?
            .min(MAX_FRAMES_PER_PACKET);
        let pre_skip = self.to_skip.min(frames);
        self.to_skip -= pre_skip;
        let start = pre_skip
            .max(usize::try_from(packet.trim_start.get()).unwrap_or(0))
            .min(frames);
        let trim_end = usize::try_from(packet.trim_end.get()).unwrap_or(0);
        let end = frames.saturating_sub(trim_end).max(start);
        out.extend(
            self.pcm[start * self.channels..end * self.channels]
                .iter()
                .map(|s| s * self.gain),
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(channels: u8, family: u8, extra: &[u8]) -> Vec<u8> {
        let mut h = b"OpusHead".to_vec();
        h.extend_from_slice(&[1, channels, 0x38, 0x01, 0x80, 0xbb, 0, 0, 0, 0, family]);
        h.extend_from_slice(extra);
        h
    }

    #[test]
    fn a_stereo_family_zero_head_parses() {
        let parsed = OpusHead::parse(&head(2, 0, &[])).unwrap();
        assert_eq!(parsed.pre_skip, 312);
        assert_eq!(
            (parsed.streams, parsed.coupled, parsed.mapping),
            (1, 1, vec![0, 1])
        );
    }

    #[test]
    fn malformed_heads_are_errors_not_panics() {
        for bad in [
            b"OpusHea".to_vec(),
            head(0, 0, &[]),
            head(3, 0, &[]),
            head(2, 1, &[1]),
            head(2, 1, &[0, 0, 0, 1]),
            head(200, 1, &[]),
        ] {
            assert!(OpusHead::parse(&bad).is_err());
        }
    }
}
