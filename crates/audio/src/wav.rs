//! Encodes 16 kHz mono samples as an in-memory 16-bit PCM WAV file, the format remote
//! transcription providers accept everywhere.

use crate::SAMPLE_RATE;

/// A 16-bit PCM, mono, 16 kHz WAV file holding `samples` (clamped to [-1, 1]).
///
/// The RIFF size fields are 32-bit: past about 37 hours of audio they saturate, which readers
/// treat as "until the end of the file".
pub fn encode_wav_16k(samples: &[f32]) -> Vec<u8> {
    const HEADER: usize = 44;
    let data_len = samples.len().saturating_mul(2);
    let data_size = u32::try_from(data_len).unwrap_or(u32::MAX);
    let riff_size = data_size.saturating_add(36);
    let mut wav = Vec::with_capacity(HEADER.saturating_add(data_len));
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&riff_size.to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes()); // fmt chunk size
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&1u16.to_le_bytes()); // mono
    wav.extend_from_slice(&SAMPLE_RATE.to_le_bytes());
    wav.extend_from_slice(&(SAMPLE_RATE * 2).to_le_bytes()); // byte rate
    wav.extend_from_slice(&2u16.to_le_bytes()); // block align
    wav.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data_size.to_le_bytes());
    for &sample in samples {
        let clamped = if sample.is_finite() {
            sample.clamp(-1.0, 1.0)
        } else {
            0.0
        };
        let value = (clamped * f32::from(i16::MAX)).round() as i16;
        wav.extend_from_slice(&value.to_le_bytes());
    }
    wav
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_samples_are_laid_out_as_riff_wave() {
        let wav = encode_wav_16k(&[0.0, 1.0, -1.0, 2.0, f32::NAN]);
        assert_eq!(wav.len(), 44 + 10);
        assert_eq!(&wav[..4], b"RIFF");
        assert_eq!(
            u32::from_le_bytes([wav[4], wav[5], wav[6], wav[7]]),
            36 + 10
        );
        assert_eq!(
            u32::from_le_bytes([wav[24], wav[25], wav[26], wav[27]]),
            16_000
        );
        assert_eq!(u32::from_le_bytes([wav[40], wav[41], wav[42], wav[43]]), 10);
        let samples: Vec<i16> = wav[44..]
            .chunks(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect();
        assert_eq!(samples, [0, 32_767, -32_767, 32_767, 0]);
    }

    #[test]
    fn its_output_decodes_back_to_the_same_samples() {
        let input: Vec<f32> = (0..16_000)
            .map(|i| ((i as f32) * 0.01).sin() * 0.5)
            .collect();
        let wav = encode_wav_16k(&input);
        let limits = crate::Limits {
            max_duration_secs: 60.0,
        };
        let (decoded, info) =
            crate::decode_to_vec(std::io::Cursor::new(wav), &crate::Hint::default(), &limits)
                .unwrap();
        assert_eq!(info.source_sample_rate, 16_000);
        assert_eq!(decoded.len(), input.len());
        let max_err = decoded
            .iter()
            .zip(&input)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(max_err < 1e-4, "max error {max_err}");
    }
}
