//! Decoding streams: a 20-minute recording synthesized on the fly, read through a non-seekable
//! source, reaches the sink in small chunks with exactly the right sample count.

use std::io::Read;

use meetvault_audio::{Hint, Limits, ReadOnlySource, SAMPLE_RATE, decode};

/// A 16 kHz mono 16-bit WAV of a sine tone, generated as it is read: nothing holds the file.
struct SynthesizedWav {
    header: Vec<u8>,
    position: u64,
    total: u64,
}

impl SynthesizedWav {
    fn new(frames: u32) -> Self {
        let mut header = meetvault_audio::encode_wav_16k(&[]);
        let data_size = frames * 2;
        header[4..8].copy_from_slice(&(data_size + 36).to_le_bytes());
        header[40..44].copy_from_slice(&data_size.to_le_bytes());
        let total = header.len() as u64 + u64::from(data_size);
        SynthesizedWav {
            header,
            position: 0,
            total,
        }
    }

    fn byte_at(&self, pos: u64) -> u8 {
        if pos < self.header.len() as u64 {
            return self.header[pos as usize];
        }
        let offset = pos - self.header.len() as u64;
        let frame = offset / 2;
        let value = ((frame as f64 * 0.07).sin() * 8_000.0) as i16;
        value.to_le_bytes()[(offset % 2) as usize]
    }
}

impl Read for SynthesizedWav {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min((self.total - self.position) as usize);
        for (i, byte) in buf[..n].iter_mut().enumerate() {
            *byte = self.byte_at(self.position + i as u64);
        }
        self.position += n as u64;
        Ok(n)
    }
}

#[test]
fn a_twenty_minute_recording_streams_in_small_chunks() {
    let frames = 20 * 60 * SAMPLE_RATE;
    let source = ReadOnlySource::new(SynthesizedWav::new(frames));
    let (mut total, mut chunks, mut largest) = (0u64, 0u64, 0usize);
    let limits = Limits {
        max_duration_secs: 3600.0,
    };
    let info = decode(source, &Hint::default(), &limits, &mut |chunk| {
        total += chunk.len() as u64;
        chunks += 1;
        largest = largest.max(chunk.len());
    })
    .unwrap();
    assert_eq!(total, u64::from(frames));
    assert!((info.duration_secs - 1200.0).abs() < 1e-6, "{info:?}");
    // Each chunk is one packet's worth, far below a second: nothing accumulates.
    assert!(
        largest <= SAMPLE_RATE as usize / 2,
        "largest chunk {largest}"
    );
    assert!(chunks > 2_000, "{chunks} chunks");
}
