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

/// A recording decoded while it is uploaded: half of it fed, its audio so far must come out
/// before the rest arrives, and the whole must decode exactly as the finished file does.
fn decodes_while_it_grows(name: &str) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, mpsc};
    use std::time::{Duration, Instant};

    let path = crate::fixtures::fixture(name);
    let (whole, _) = meetvault_audio::decode_file(&path, &crate::fixtures::limits()).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let (feeder, source) = meetvault_audio::growing(Duration::from_secs(30));
    let heard = Arc::new(AtomicUsize::new(0));
    let (done_tx, done_rx) = mpsc::channel();
    let counter = heard.clone();
    std::thread::spawn(move || {
        let mut out = Vec::new();
        let r = decode(
            source,
            &Hint::default(),
            &crate::fixtures::limits(),
            &mut |c| {
                out.extend_from_slice(c);
                counter.store(out.len(), Ordering::SeqCst);
            },
        );
        let _ = done_tx.send((r, out));
    });
    // Uneven pieces, as MediaRecorder's one-second chunks cut a stream at any byte.
    let half = bytes.len() / 2;
    for piece in bytes[..half].chunks(997) {
        assert!(feeder.push(piece.to_vec()));
    }
    let waited = Instant::now();
    while heard.load(Ordering::SeqCst) == 0 {
        assert!(
            waited.elapsed() < Duration::from_secs(20),
            "{name}: nothing decoded from the first half until the rest arrived"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let early = heard.load(Ordering::SeqCst);
    for piece in bytes[half..].chunks(1531) {
        feeder.push(piece.to_vec());
    }
    drop(feeder);
    let (r, out) = done_rx.recv_timeout(Duration::from_secs(60)).unwrap();
    let info = r.unwrap();
    assert_eq!(info.codec, "opus", "{info:?}");
    assert_eq!(
        out.len(),
        whole.len(),
        "{name}: the grown stream decodes to its whole"
    );
    assert!(out.iter().zip(&whole).all(|(a, b)| (a - b).abs() < 1e-6));
    assert!(
        early < whole.len(),
        "{name}: {early} of {} before the end",
        whole.len()
    );
}

#[test]
fn a_live_webm_decodes_while_it_grows() {
    decodes_while_it_grows("speech-live.webm");
}

#[test]
fn an_ogg_opus_decodes_while_it_grows() {
    decodes_while_it_grows("speech.opus");
}

#[test]
fn a_stopped_growing_source_ends_at_once() {
    use std::io::Read;
    let (feeder, mut source) = meetvault_audio::growing(std::time::Duration::from_secs(60));
    feeder.push(vec![1; 10]);
    feeder.push(vec![2; 10]);
    let mut buf = [0u8; 4];
    assert_eq!(source.read(&mut buf).unwrap(), 4);
    source.stopper().stop();
    // Neither the rest of the piece nor the next one is read, and the writer is still there.
    assert_eq!(source.read(&mut buf).unwrap(), 0);
    drop(feeder);
}

#[test]
fn a_growing_source_ends_when_idle() {
    let (feeder, source) = meetvault_audio::growing(std::time::Duration::from_millis(50));
    feeder.push(b"not audio at all".to_vec());
    // The writer is still there but sends nothing: the read ends, and decoding with it.
    let r = decode(
        source,
        &Hint::default(),
        &crate::fixtures::limits(),
        &mut |_| {},
    );
    assert!(r.is_err());
    drop(feeder);
}
