//! Just enough RIFF/WAVE reading to know how long a file is, for providers that answer
//! without a duration.

/// The duration in seconds of a PCM WAV file, from its `fmt ` byte rate and `data` size;
/// `None` if it is not a WAV file this can read.
pub(crate) fn duration(wav: &[u8]) -> Option<f64> {
    if wav.len() < 12 || &wav[0..4] != b"RIFF" || &wav[8..12] != b"WAVE" {
        return None;
    }
    let mut offset = 12;
    let mut byte_rate = None;
    while offset + 8 <= wav.len() {
        let id = &wav[offset..offset + 4];
        let size = u32::from_le_bytes(wav[offset + 4..offset + 8].try_into().ok()?) as usize;
        let body = offset + 8;
        if id == b"fmt " && size >= 12 && body + 12 <= wav.len() {
            byte_rate = Some(u32::from_le_bytes(
                wav[body + 8..body + 12].try_into().ok()?,
            ));
        } else if id == b"data" {
            // A streamed WAV may leave the size unset (0 or 0xFFFFFFFF): use what is there.
            let available = wav.len() - body;
            let size = if size == 0 || size > available {
                available
            } else {
                size
            };
            let rate = byte_rate.filter(|r| *r > 0)?;
            return Some(size as f64 / f64::from(rate));
        }
        offset = body.checked_add(size)?.checked_add(size % 2)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::duration;

    /// A 16 kHz mono 16-bit WAV of `samples` samples of silence.
    fn wav(samples: usize) -> Vec<u8> {
        let data = samples * 2;
        let mut out = Vec::new();
        out.extend_from_slice(b"RIFF");
        out.extend_from_slice(&((36 + data) as u32).to_le_bytes());
        out.extend_from_slice(b"WAVEfmt ");
        out.extend_from_slice(&16u32.to_le_bytes());
        out.extend_from_slice(&1u16.to_le_bytes()); // PCM
        out.extend_from_slice(&1u16.to_le_bytes()); // mono
        out.extend_from_slice(&16_000u32.to_le_bytes());
        out.extend_from_slice(&32_000u32.to_le_bytes());
        out.extend_from_slice(&2u16.to_le_bytes());
        out.extend_from_slice(&16u16.to_le_bytes());
        out.extend_from_slice(b"data");
        out.extend_from_slice(&(data as u32).to_le_bytes());
        out.resize(44 + data, 0);
        out
    }

    #[test]
    fn duration_comes_from_the_data_size_and_byte_rate() {
        assert_eq!(duration(&wav(24_000)), Some(1.5));
        assert_eq!(duration(&wav(0)), Some(0.0));
    }

    #[test]
    fn other_files_have_no_duration() {
        assert_eq!(duration(b""), None);
        assert_eq!(duration(b"fLaC\0\0\0\0\0\0\0\0\0\0"), None);
        assert_eq!(duration(&wav(10)[..30]), None);
    }
}
