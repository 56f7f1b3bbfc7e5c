//! Every supported format decodes to 16 kHz mono that matches the lossless reference in length
//! and content; stereo is averaged; the content, not the name, decides the format.

use meetvault_audio::{Hint, SAMPLE_RATE, decode_file, decode_to_vec};

use crate::fixtures::{best_correlation, fixture, limits, reference, rms};

/// Decodes a fixture and checks it against the WAV reference: same duration within 50 ms
/// (codec priming and padding), and a waveform correlation above 0.9 at some lag within ±75 ms
/// (AAC in MP4 keeps its 1024-frame priming: symphonia does not read edit lists).
fn assert_matches_reference(name: &str, container: &str, codec: &str) {
    let (reference, ref_info) = reference();
    let (samples, info) = decode_file(&fixture(name), &limits()).unwrap();
    assert_eq!(info.container, container, "{name}: {info:?}");
    assert_eq!(info.codec, codec, "{name}: {info:?}");
    let secs = samples.len() as f64 / f64::from(SAMPLE_RATE);
    assert!(
        (secs - ref_info.duration_secs).abs() < 0.05,
        "{name}: {secs} s decoded, reference {} s",
        ref_info.duration_secs
    );
    assert!(
        (info.duration_secs - secs).abs() < 0.01,
        "{name}: info {info:?} vs {secs} s of output"
    );
    let correlation = best_correlation(reference, &samples, 1_200);
    assert!(correlation > 0.9, "{name}: correlation {correlation}");
}

#[test]
fn wav_decodes_to_16k_mono() {
    let (samples, info) = reference();
    assert_eq!(
        (info.container.as_str(), info.codec.as_str()),
        ("wave", "pcm_s16le")
    );
    assert_eq!((info.source_sample_rate, info.channels), (22_050, 1));
    assert!((info.duration_secs - 5.09).abs() < 0.1, "{info:?}");
    assert!(rms(samples) > 0.01, "the reference is silent");
}

#[test]
fn flac_matches_the_reference() {
    assert_matches_reference("speech.flac", "flac", "flac");
}

#[test]
fn flac_at_44k_is_resampled_and_matches() {
    assert_matches_reference("speech-44k.flac", "flac", "flac");
}

#[test]
fn mp3_matches_the_reference() {
    assert_matches_reference("speech.mp3", "mp3", "mp3");
}

#[test]
fn m4a_aac_matches_the_reference() {
    assert_matches_reference("speech.m4a", "isomp4", "aac");
    assert_matches_reference("speech-faststart.m4a", "isomp4", "aac");
}

#[test]
fn ogg_vorbis_matches_the_reference() {
    assert_matches_reference("speech.ogg", "ogg", "vorbis");
}

#[test]
fn ogg_opus_matches_the_reference() {
    assert_matches_reference("speech.opus", "ogg", "opus");
}

#[test]
fn webm_opus_matches_the_reference() {
    assert_matches_reference("speech.webm", "matroska", "opus");
    assert_matches_reference("speech-live.webm", "matroska", "opus");
}

#[test]
fn stereo_is_averaged_to_mono() {
    let (reference, _) = reference();
    let (samples, info) = decode_file(&fixture("speech-stereo-48k.wav"), &limits()).unwrap();
    assert_eq!((info.channels, info.source_sample_rate), (2, 48_000));
    assert!(best_correlation(reference, &samples, 320) > 0.95);
    // Left is the speech, right is silent: the mean is half the speech.
    let ratio = rms(&samples) / rms(reference);
    assert!((ratio - 0.5).abs() < 0.02, "level ratio {ratio}");
}

#[test]
fn mp3_named_wav_decodes_by_its_content() {
    let bytes = std::fs::read(fixture("speech.mp3")).unwrap();
    let hint = Hint {
        extension: Some("wav".into()),
        mime: Some("audio/wav".into()),
    };
    let (samples, info) = decode_to_vec(std::io::Cursor::new(bytes), &hint, &limits()).unwrap();
    assert_eq!(info.codec, "mp3");
    assert!(best_correlation(&reference().0, &samples, 320) > 0.9);
}
