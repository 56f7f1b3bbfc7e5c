//! Files that must be rejected with a precise error, never a panic: empty, garbage, non-audio,
//! lying headers, truncation, no samples, video only, and over the duration limit.

use std::path::{Path, PathBuf};

use meetvault_audio::{AudioError, Limits, decode_file, encode_wav_16k};

use crate::fixtures::{dir, ffmpeg_lavfi, fixture, limits};

fn write(name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn rejected(path: &Path, limits: &Limits) -> AudioError {
    match decode_file(path, limits) {
        Ok((samples, info)) => panic!("{path:?} decoded: {} samples, {info:?}", samples.len()),
        Err(err) => err,
    }
}

/// A 16-bit mono 16 kHz WAV whose header declares `declared_frames` but that holds `body`.
fn wav_declaring(declared_frames: u32, body: &[f32]) -> Vec<u8> {
    let mut wav = encode_wav_16k(body);
    let data_size = declared_frames * 2;
    wav[4..8].copy_from_slice(&(data_size + 36).to_le_bytes());
    wav[40..44].copy_from_slice(&data_size.to_le_bytes());
    wav
}

fn one_second_of_tone() -> Vec<f32> {
    (0..16_000).map(|i| (i as f32 * 0.05).sin() * 0.3).collect()
}

#[test]
fn an_empty_file_is_rejected_as_empty() {
    let err = rejected(&write("empty.wav", b""), &limits());
    assert!(matches!(err, AudioError::Empty), "{err:?}");
    assert_eq!(err.code(), "audio_empty");
}

#[test]
fn a_few_random_bytes_are_rejected() {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let bytes: Vec<u8> = (0..64)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    for (name, len) in [("random4.mp3", 4), ("random64.wav", 64)] {
        let err = rejected(&write(name, &bytes[..len]), &limits());
        assert!(
            matches!(err.code(), "audio_unsupported" | "audio_corrupt"),
            "{name}: {err:?}"
        );
    }
}

#[test]
fn an_image_or_a_text_file_is_unsupported_and_named() {
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
    let err = rejected(&write("picture.wav", png), &limits());
    assert_eq!(err.code(), "audio_unsupported");
    assert!(
        err.to_string().starts_with("a PNG image is not supported"),
        "{err}"
    );

    let err = rejected(
        &write("notes.mp3", b"Minutes of the meeting\n- budget\n"),
        &limits(),
    );
    assert_eq!(err.code(), "audio_unsupported");
    assert!(
        err.to_string().starts_with("a text file is not supported"),
        "{err}"
    );
}

#[test]
fn a_wav_declaring_ten_hours_with_one_second_of_body_is_truncated() {
    let lying = write(
        "lying.wav",
        &wav_declaring(10 * 3600 * 16_000, &one_second_of_tone()),
    );
    // With room for ten hours the body is decoded and found short; with a smaller limit the
    // file's size gives the lie away before decoding. Either way: truncated, not too long.
    for limit in [24.0 * 3600.0, 3600.0] {
        let err = rejected(
            &lying,
            &Limits {
                max_duration_secs: limit,
            },
        );
        let AudioError::Truncated {
            declared_secs,
            actual_secs,
        } = err
        else {
            panic!("limit {limit}: {err:?}")
        };
        assert_eq!(declared_secs, 36_000.0);
        assert!((actual_secs - 1.0).abs() < 0.01, "{actual_secs}");
        assert_eq!(
            err.to_string(),
            "the file ends after 1.0 s but its header declares 36000.0 s: it is truncated; \
             upload the complete file"
        );
    }
}

#[test]
fn a_wav_with_a_valid_header_and_no_samples_is_rejected_as_empty() {
    let err = rejected(&write("no-samples.wav", &encode_wav_16k(&[])), &limits());
    assert!(matches!(err, AudioError::NoSamples { .. }), "{err:?}");
    assert_eq!(err.code(), "audio_empty");
}

#[test]
fn truncated_files_of_every_format_are_rejected() {
    let mut failures = Vec::new();
    for name in [
        "speech.wav",
        "speech.flac",
        "speech.mp3",
        "speech.m4a",
        "speech-faststart.m4a",
        "speech.ogg",
        "speech.opus",
        "speech.webm",
    ] {
        let bytes = std::fs::read(fixture(name)).unwrap();
        for (cut, len) in [("half", bytes.len() / 2), ("100-bytes", 100)] {
            let path = write(&format!("cut-{cut}-{name}"), &bytes[..len]);
            match decode_file(&path, &limits()) {
                Ok((_, info)) => failures.push(format!("{name} cut at {cut} decoded: {info:?}")),
                Err(err) => {
                    eprintln!("{name} cut at {cut}: {err}");
                    assert!(
                        matches!(err.code(), "audio_truncated" | "audio_corrupt"),
                        "{name} cut at {cut}: {err:?}"
                    );
                }
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn a_video_only_file_has_no_audio_track() {
    for name in ["video-only.webm", "video-only.mp4"] {
        let path = dir().join(name);
        let codec = if name.ends_with("webm") {
            "libvpx"
        } else {
            "libx264"
        };
        ffmpeg_lavfi(
            &path,
            &[
                "-f",
                "lavfi",
                "-i",
                "testsrc=duration=1:size=64x64:rate=10",
                "-c:v",
                codec,
            ],
        );
        let err = rejected(&path, &limits());
        assert!(
            matches!(err, AudioError::NoAudioTrack { .. }),
            "{name}: {err:?}"
        );
        assert!(err.to_string().contains("no audio track"), "{err}");
    }
}

#[test]
fn a_recording_over_the_limit_is_too_long() {
    let short = Limits {
        max_duration_secs: 2.0,
    };
    // Declared in the header (FLAC's STREAMINFO) and only found by decoding (an MP3 read through
    // a non-seekable source has no length up front): both stop with TooLong.
    for name in ["speech.flac", "speech.wav", "speech.opus", "speech.webm"] {
        let err = rejected(&fixture(name), &short);
        assert!(
            matches!(err, AudioError::TooLong { limit_secs } if limit_secs == 2.0),
            "{name}: {err:?}"
        );
        assert_eq!(err.code(), "audio_too_long");
    }
    let bytes = std::fs::read(fixture("speech.mp3")).unwrap();
    let source = meetvault_audio::ReadOnlySource::new(std::io::Cursor::new(bytes));
    let err =
        meetvault_audio::decode(source, &Default::default(), &short, &mut |_| {}).unwrap_err();
    assert!(matches!(err, AudioError::TooLong { .. }), "{err:?}");
}

#[test]
fn a_missing_file_is_an_io_error() {
    let err = decode_file(&dir().join("does-not-exist.wav"), &limits()).unwrap_err();
    assert!(matches!(err, AudioError::Io(_)), "{err:?}");
    assert!(!err.is_input_error());
}

#[test]
fn garbage_in_the_middle_of_any_format_is_an_error_or_a_decode_never_a_panic() {
    for name in [
        "speech.wav",
        "speech.flac",
        "speech.mp3",
        "speech-faststart.m4a",
        "speech.ogg",
        "speech.opus",
        "speech.webm",
    ] {
        let mut bytes = std::fs::read(fixture(name)).unwrap();
        let middle = bytes.len() / 2;
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for byte in &mut bytes[middle..middle + 2_000] {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            *byte = (state >> 56) as u8;
        }
        let path = write(&format!("garbled-{name}"), &bytes);
        // Lossy codecs may conceal the damage; what matters is a clean result either way.
        match decode_file(&path, &limits()) {
            Ok((samples, _)) => assert!(samples.iter().all(|s| s.is_finite()), "{name}"),
            Err(err) => assert!(err.is_input_error(), "{name}: {err:?}"),
        }
    }
}

#[test]
fn a_panicking_sink_is_the_callers_panic() {
    let bytes = std::fs::read(fixture("speech.wav")).unwrap();
    let outcome = std::panic::catch_unwind(|| {
        meetvault_audio::decode(
            std::io::Cursor::new(bytes),
            &Default::default(),
            &limits(),
            &mut |_| panic!("sink bug"),
        )
    });
    let payload = outcome.unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"sink bug"));
}
