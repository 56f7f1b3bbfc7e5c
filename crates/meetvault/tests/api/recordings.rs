//! Uploads: every supported format is accepted and decoded; a corrupt, empty, zero-length,
//! truncated, lying, unsupported or oversized file is refused with a clear 4xx and leaves no
//! row and no blob behind.

use meetvault_test_support::media::wav_with_payload;
use meetvault_test_support::{Session, TestApp};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::speech;
use crate::transcription::{meeting, upload};

async fn recordings(app: &TestApp, s: &Session, id: &str) -> Vec<Value> {
    let r = app
        .send(
            &meetvault_test_support::Cred::Session(s.clone()),
            reqwest::Method::GET,
            &format!("/api/v1/meetings/{id}/recordings"),
            None,
        )
        .await;
    r.json::<Value>().await.unwrap()["recordings"]
        .as_array()
        .unwrap()
        .clone()
}

/// Blobs under the meeting's prefix in the store (filesystem or S3).
async fn blobs(app: &TestApp, s: &Session, id: &str) -> usize {
    let meeting = id.trim_start_matches("mtg_");
    let org = s.org_id.trim_start_matches("org_");
    let prefix = format!(
        "orgs/{}/meetings/{}/",
        uuid::Uuid::parse_str(org).unwrap(),
        uuid::Uuid::parse_str(meeting).unwrap()
    );
    app.blobs().list(&prefix).await.unwrap().len()
}

#[tokio::test]
async fn every_supported_format_uploads_and_decodes_to_its_duration() {
    let app = TestApp::spawn().await;
    let s = app.register("formats@example.com", "Formats").await;
    let id = meeting(&app, &s, json!({"title": "Formats"})).await;
    let (tracks, _) = speech::three_tracks();
    let wav = &tracks[0].1;
    let wav_ms = {
        let r = upload(&app, &s, &id, "", "audio/wav", std::fs::read(wav).unwrap()).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        r.json::<Value>().await.unwrap()["duration_ms"]
            .as_i64()
            .unwrap()
    };
    for (ext, ctype, args, codec) in [
        ("flac", "audio/flac", &[][..], "flac"),
        (
            "mp3",
            "audio/mpeg",
            &["-c:a", "libmp3lame", "-b:a", "64k"][..],
            "mp3",
        ),
        (
            "m4a",
            "audio/mp4",
            &["-c:a", "aac", "-b:a", "64k"][..],
            "aac",
        ),
        ("ogg", "audio/ogg", &["-c:a", "libvorbis"][..], "vorbis"),
        ("opus", "audio/ogg", &["-c:a", "libopus"][..], "opus"),
        ("webm", "audio/webm", &["-c:a", "libopus"][..], "opus"),
    ] {
        let file = speech::convert(wav, ext, args);
        let r = upload(
            &app,
            &s,
            &id,
            &format!("?filename=track.{ext}"),
            ctype,
            std::fs::read(&file).unwrap(),
        )
        .await;
        assert_eq!(
            r.status(),
            StatusCode::CREATED,
            "{ext}: {}",
            r.text().await.unwrap()
        );
        let rec: Value = r.json().await.unwrap();
        let ms = rec["duration_ms"].as_i64().unwrap();
        assert!(
            (ms - wav_ms).abs() <= 120,
            "{ext}: {ms} ms decoded, the WAV is {wav_ms} ms"
        );
        assert!(
            rec["codec"].as_str().unwrap().ends_with(codec),
            "{ext}: {rec}"
        );
        assert_eq!(rec["content_type"], ctype, "{ext}: the detected type");
        assert!(
            rec.get("job_id").is_none(),
            "transcription is off in this app"
        );
    }
    // The content decides, not the name: MP3 bytes called .wav are an MP3.
    let mp3 = speech::convert(wav, "mp3", &[]);
    let r = upload(
        &app,
        &s,
        &id,
        "?filename=mislabelled.wav",
        "audio/wav",
        std::fs::read(&mp3).unwrap(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let rec: Value = r.json().await.unwrap();
    assert!(rec["codec"].as_str().unwrap().ends_with("mp3"), "{rec}");
    assert_eq!(
        rec["content_type"], "audio/mpeg",
        "the content's type, not the claim"
    );
    assert_eq!(recordings(&app, &s, &id).await.len(), 8);
}

#[tokio::test]
async fn bad_files_are_refused_clearly_and_leave_nothing_behind() {
    let app = TestApp::spawn_with(|c| c.recordings.max_duration_secs = 600).await;
    let s = app.register("bad-files@example.com", "Bad").await;
    let id = meeting(&app, &s, json!({"title": "Bad files"})).await;
    let (tracks, _) = speech::three_tracks();
    let wav = std::fs::read(&tracks[0].1).unwrap();
    let flac = std::fs::read(speech::convert(&tracks[0].1, "flac", &[])).unwrap();
    // A WAV header declaring ten hours, followed by one second of samples.
    let mut lying = wav_with_payload(&vec![1u8; 32_000]);
    let ten_hours: u32 = 10 * 3600 * 32_000;
    lying[40..44].copy_from_slice(&ten_hours.to_le_bytes());
    lying[4..8].copy_from_slice(&(ten_hours + 36).to_le_bytes());
    // A valid header with no samples at all.
    let mut zero = wav_with_payload(&[])[..44].to_vec();
    zero[40..44].copy_from_slice(&0u32.to_le_bytes());
    zero[4..8].copy_from_slice(&36u32.to_le_bytes());
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0\x90wS\xde".to_vec();
    let cases: Vec<(&str, Vec<u8>, StatusCode, &str)> = vec![
        (
            "empty",
            Vec::new(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "audio_empty",
        ),
        (
            "zero-length WAV",
            zero,
            StatusCode::UNPROCESSABLE_ENTITY,
            "audio_empty",
        ),
        (
            "random bytes",
            (0..5000u32).map(|i| (i * 7919 % 251) as u8).collect(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "audio_unsupported",
        ),
        (
            "a PNG called .wav",
            png,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "audio_unsupported",
        ),
        (
            "10-hour header, 1-second body",
            lying,
            StatusCode::UNPROCESSABLE_ENTITY,
            "audio_truncated",
        ),
        (
            "truncated FLAC",
            flac[..flac.len() / 2].to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "audio_truncated",
        ),
        (
            "truncated WAV",
            wav[..wav.len() / 3].to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "audio_truncated",
        ),
    ];
    for (what, bytes, status, code) in cases {
        let r = upload(
            &app,
            &s,
            &id,
            "?filename=x.wav&transcribe=true",
            "audio/wav",
            bytes,
        )
        .await;
        assert_eq!(r.status(), status, "{what}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], code, "{what}: {body}");
        assert!(
            body["error"]["message"].as_str().unwrap().len() > 20,
            "{what}: the message says what is wrong"
        );
    }
    assert!(
        recordings(&app, &s, &id).await.is_empty(),
        "no row was left"
    );
    assert_eq!(blobs(&app, &s, &id).await, 0, "no blob was left");

    // Over the configured duration limit.
    let short = TestApp::spawn_with(|c| c.recordings.max_duration_secs = 2).await;
    let s2 = short.register("too-long@example.com", "Long").await;
    let id2 = meeting(&short, &s2, json!({"title": "Long"})).await;
    let r = upload(&short, &s2, &id2, "", "audio/wav", wav.clone()).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "audio_too_long"
    );
    assert_eq!(blobs(&short, &s2, &id2).await, 0);
}

#[tokio::test]
async fn an_upload_over_the_size_limit_is_413_whether_declared_or_streamed() {
    let app = TestApp::spawn_with(|c| c.recordings.max_bytes = 50_000).await;
    let s = app.register("size@example.com", "Size").await;
    let id = meeting(&app, &s, json!({"title": "Size"})).await;
    let big = wav_with_payload(&vec![3u8; 80_000]);
    // Declared by Content-Length.
    let r = upload(&app, &s, &id, "", "audio/wav", big.clone()).await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // Streamed without a length: cut off once past the limit.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        big.chunks(8192).map(|c| Ok(c.to_vec())).collect();
    let r = app
        .client
        .post(app.url(&format!("/api/v1/meetings/{id}/recordings")))
        .header("cookie", &s.cookie)
        .header("x-csrf-token", &s.csrf)
        .header("content-type", "audio/wav")
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(recordings(&app, &s, &id).await.is_empty());
    assert_eq!(blobs(&app, &s, &id).await, 0);
    // Under the limit is fine.
    let r = upload(
        &app,
        &s,
        &id,
        "",
        "audio/wav",
        wav_with_payload(&[5u8; 20_000]),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
}
