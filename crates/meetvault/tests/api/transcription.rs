//! Transcription end to end, on real speech: upload a recording (or one track per speaker),
//! a durable job runs local Whisper, and the transcript comes back speaker-attributed, with
//! timestamps, under the word error rate bound; events stream as it works; exports parse.

use std::time::{Duration, Instant};

use futures::StreamExt;
use meetvault_test_support::media::whisper_model_dir;
use meetvault_test_support::{Cred, Session, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::speech::{self, words};

/// An app that transcribes every upload with the local model.
pub async fn app() -> TestApp {
    whisper_model_dir();
    TestApp::spawn_with(|c| {
        c.auth.open_registration = true;
        c.transcription.auto = true;
    })
    .await
}

pub async fn meeting(app: &TestApp, s: &Session, body: Value) -> String {
    let r = app
        .send(
            &Cred::Session(s.clone()),
            Method::POST,
            "/api/v1/meetings",
            Some(body),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

pub async fn upload(
    app: &TestApp,
    s: &Session,
    meeting: &str,
    query: &str,
    content_type: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    app.send_bytes(
        &Cred::Session(s.clone()),
        &format!("/api/v1/meetings/{meeting}/recordings{query}"),
        content_type,
        bytes,
    )
    .await
}

/// Uploads track `track` of the three-speaker fixture (a WAV) under the label `speaker`.
pub async fn upload_track(
    app: &TestApp,
    s: &Session,
    meeting: &str,
    track: usize,
    speaker: &str,
) -> reqwest::Response {
    let (tracks, _) = speech::three_tracks();
    upload(
        app,
        s,
        meeting,
        &format!("?speaker={speaker}"),
        "audio/wav",
        std::fs::read(&tracks[track].1).unwrap(),
    )
    .await
}

/// Polls a job until it ends; fails with its state on timeout.
pub async fn wait_job(app: &TestApp, s: &Session, job: &str, limit: Duration) -> Value {
    let start = Instant::now();
    loop {
        let r = app
            .send(
                &Cred::Session(s.clone()),
                Method::GET,
                &format!("/api/v1/jobs/{job}"),
                None,
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let j: Value = r.json().await.unwrap();
        match j["state"].as_str().unwrap() {
            "succeeded" => return j,
            "dead" | "cancelled" => panic!("job ended badly: {j}"),
            _ => {}
        }
        assert!(
            start.elapsed() < limit,
            "job did not finish in {limit:?}: {j}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn transcript(app: &TestApp, s: &Session, meeting: &str) -> Vec<Value> {
    let r = app
        .send(
            &Cred::Session(s.clone()),
            Method::GET,
            &format!("/api/v1/meetings/{meeting}/transcript"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json::<Value>().await.unwrap()["segments"]
        .as_array()
        .unwrap()
        .clone()
}

fn check_timestamps(segments: &[Value], duration_ms: i64) {
    let mut last_start = 0;
    for s in segments {
        let (a, b) = (
            s["start_ms"].as_i64().unwrap(),
            s["end_ms"].as_i64().unwrap(),
        );
        assert!(a >= last_start, "segments out of order: {segments:?}");
        assert!(a <= b, "a segment ends before it starts: {s}");
        assert!(
            b <= duration_ms + 100,
            "a segment ends after the audio ({duration_ms} ms): {s}"
        );
        last_start = a;
    }
}

#[tokio::test]
async fn a_single_speaker_recording_is_transcribed_offline_within_the_word_error_bound() {
    let app = app().await;
    let s = app.register("speech-one@example.com", "Speech").await;
    let id = meeting(&app, &s, json!({"title": "All hands", "language": "en"})).await;
    let (path, text) = speech::single_speaker();
    let r = upload(
        &app,
        &s,
        &id,
        "?filename=all-hands.wav",
        "audio/wav",
        std::fs::read(path).unwrap(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let rec: Value = r.json().await.unwrap();
    let duration = rec["duration_ms"].as_i64().unwrap();
    assert!(
        duration >= 60_000,
        "the recording must be at least a minute: {rec}"
    );
    let job = wait_job(
        &app,
        &s,
        rec["job_id"].as_str().unwrap(),
        Duration::from_secs(600),
    )
    .await;
    assert_eq!(job["progress"], 100);
    assert_eq!(job["attempts"], 1);

    let segments = transcript(&app, &s, &id).await;
    assert!(
        segments.len() >= 5,
        "a minute of speech is more than a few segments: {segments:?}"
    );
    check_timestamps(&segments, duration);
    for seg in &segments {
        assert_eq!(
            seg["speaker"], "unknown",
            "a mixed recording has no speaker label"
        );
        assert_eq!(seg["recording_id"], rec["id"]);
        assert!(seg["avg_logprob"].is_number() && seg["no_speech_prob"].is_number());
    }
    let heard: Vec<&str> = segments
        .iter()
        .map(|s| s["text"].as_str().unwrap())
        .collect();
    let wer = meetvault_stt::word_error_rate(text, &heard.join(" "));
    assert!(
        wer <= 0.15,
        "word error rate {wer:.3} over 15%:\n{}",
        heard.join("\n")
    );
}

#[tokio::test]
async fn three_tracks_are_transcribed_per_speaker_and_merged_by_time() {
    let app = app().await;
    let s = app.register("speech-three@example.com", "Speech").await;
    let id = meeting(
        &app,
        &s,
        json!({"title": "Standup", "participants": [{"name": "Alice"}, {"name": "Bob"}, {"name": "Carol"}]}),
    )
    .await;
    let (tracks, turns) = speech::three_tracks();
    let mut jobs = Vec::new();
    // One track per speaker, each in a different format: WAV, FLAC and Ogg Opus.
    for ((label, wav), (ext, ctype, args)) in tracks.iter().zip([
        ("wav", "audio/wav", &[][..]),
        ("flac", "audio/flac", &[][..]),
        ("opus", "audio/ogg", &["-c:a", "libopus", "-b:a", "48k"][..]),
    ]) {
        let file = if ext == "wav" {
            wav.clone()
        } else {
            speech::convert(wav, ext, args)
        };
        let r = upload(
            &app,
            &s,
            &id,
            &format!("?speaker={label}&filename=t.{ext}"),
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
        assert_eq!(rec["speaker"], *label);
        jobs.push(rec["job_id"].as_str().unwrap().to_owned());
    }
    for job in &jobs {
        wait_job(&app, &s, job, Duration::from_secs(600)).await;
    }
    let segments = transcript(&app, &s, &id).await;
    let total_ms = (turns.last().unwrap().end * 1000.0) as i64 + 1000;
    check_timestamps(&segments, total_ms);
    // Every segment is attributed to the speaker whose turn it transcribes.
    for seg in &segments {
        let heard = words(seg["text"].as_str().unwrap());
        let best = turns
            .iter()
            .max_by_key(|t| {
                let said = words(t.text);
                heard.iter().filter(|w| said.contains(w)).count()
            })
            .unwrap();
        assert_eq!(
            seg["speaker"], best.speaker,
            "segment {seg} belongs to {best:?}"
        );
        let start = seg["start_ms"].as_f64().unwrap() / 1000.0;
        assert!(
            start >= best.start - 1.0 && start <= best.end,
            "segment {seg} starts outside its turn {best:?}"
        );
    }
    // In time order the speakers take their turns.
    let mut order: Vec<&str> = segments
        .iter()
        .map(|s| s["speaker"].as_str().unwrap())
        .collect();
    order.dedup();
    let expected: Vec<&str> = turns.iter().map(|t| t.speaker).collect();
    assert_eq!(order, expected, "speaker turns in time order");
    let reference: Vec<&str> = turns.iter().map(|t| t.text).collect();
    let heard: Vec<&str> = segments
        .iter()
        .map(|s| s["text"].as_str().unwrap())
        .collect();
    let wer = meetvault_stt::word_error_rate(&reference.join(" "), &heard.join(" "));
    assert!(wer <= 0.15, "word error rate {wer:.3} over 15%: {heard:?}");
}

#[tokio::test]
async fn events_stream_job_progress_and_segments_as_they_are_produced() {
    let app = app().await;
    let s = app.register("speech-events@example.com", "Speech").await;
    let id = meeting(&app, &s, json!({"title": "Events"})).await;
    let r = app
        .client
        .get(app.url(&format!("/api/v1/meetings/{id}/events")))
        .header("cookie", &s.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut body = r.bytes_stream();
    let r = upload_track(&app, &s, &id, 0, "Alice").await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let mut text = String::new();
    let deadline = Instant::now() + Duration::from_secs(600);
    while !text.contains("\"state\":\"succeeded\"") {
        assert!(Instant::now() < deadline, "no success event: {text}");
        let chunk = tokio::time::timeout(Duration::from_secs(120), body.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(text.contains("event: job"), "{text}");
    assert!(text.contains("\"state\":\"running\""), "{text}");
    let segment = text
        .find("event: segment")
        .unwrap_or_else(|| panic!("no segment event: {text}"));
    assert!(text[segment..].contains("\"speaker\":\"Alice\""), "{text}");
    assert!(text.contains("event: transcript_updated"), "{text}");
    assert!(
        segment < text.find("\"state\":\"succeeded\"").unwrap(),
        "segments come before the end"
    );
}

#[tokio::test]
async fn exports_are_valid_srt_and_webvtt_with_speakers_and_each_is_audited() {
    let app = TestApp::spawn_with(|c| c.auth.open_registration = true).await;
    let s = app.register("export@example.com", "Export").await;
    let cred = Cred::Session(s.clone());
    let id = meeting(
        &app,
        &s,
        json!({"title": "Review <1>", "started_at": "2026-11-24T09:00:00Z"}),
    )
    .await;
    let segments = json!({"segments": [
        {"start_ms": 0, "end_ms": 2500, "speaker": "Alice", "text": "Hello --> everyone & welcome."},
        {"start_ms": 2600, "end_ms": 5000, "speaker": "Bob", "text": "Thanks <b>Alice</b>."},
        {"start_ms": 61000, "end_ms": 3_700_000, "speaker": "Alice", "text": "Long one."}
    ]});
    let r = app
        .send(
            &cred,
            Method::POST,
            &format!("/api/v1/meetings/{id}/transcript"),
            Some(segments),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let dir = tempfile::tempdir().unwrap();
    for (format, content_type) in [
        ("srt", "application/x-subrip"),
        ("vtt", "text/vtt"),
        ("md", "text/markdown"),
        ("txt", "text/plain"),
        ("json", "application/json"),
    ] {
        let r = app
            .send(
                &cred,
                Method::GET,
                &format!("/api/v1/meetings/{id}/transcript?format={format}"),
                None,
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK, "{format}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with(content_type),
            "{format}"
        );
        let body = r.text().await.unwrap();
        assert!(
            body.contains("Alice") && body.contains("Bob"),
            "{format} names the speakers: {body}"
        );
        if format == "srt" || format == "vtt" {
            let file = dir.path().join(format!("t.{format}"));
            std::fs::write(&file, &body).unwrap();
            let out = std::process::Command::new("ffmpeg")
                .args([
                    "-v",
                    "error",
                    "-i",
                    file.to_str().unwrap(),
                    "-f",
                    "srt",
                    "-",
                ])
                .output()
                .expect("ffmpeg is needed: apt-get install ffmpeg");
            assert!(
                out.status.success(),
                "ffmpeg rejects the {format}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let cues = String::from_utf8_lossy(&out.stdout)
                .matches(" --> ")
                .count();
            assert_eq!(cues, 3, "{format}: {body}");
        }
        if format == "json" {
            let v: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(v["segments"].as_array().unwrap().len(), 3);
        }
    }
    let r = app
        .send(
            &cred,
            Method::GET,
            &format!("/api/v1/meetings/{id}/transcript?format=docx"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("srt"));
    let r = app
        .send(
            &cred,
            Method::GET,
            "/api/v1/audit?action=transcript.export",
            None,
        )
        .await;
    let audit: Value = r.json().await.unwrap();
    let exports = audit["entries"].as_array().map(|e| e.len()).unwrap_or(0);
    assert_eq!(exports, 5, "one audit entry per export: {audit}");
}

#[tokio::test]
async fn deleting_a_meeting_mid_transcription_cancels_the_job_and_leaves_no_key_or_segment() {
    let app = app().await;
    let s = app.register("speech-delete@example.com", "Speech").await;
    let id = meeting(&app, &s, json!({"title": "Deleted while transcribing"})).await;
    let (path, _) = speech::single_speaker();
    let r = upload(&app, &s, &id, "", "audio/wav", std::fs::read(path).unwrap()).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let job = r.json::<Value>().await.unwrap()["job_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cred = Cred::Session(s.clone());
    let job_path = format!("/api/v1/jobs/{job}");
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let j: Value = app
            .send(&cred, Method::GET, &job_path, None)
            .await
            .json()
            .await
            .unwrap();
        if j["state"] == "running" {
            break;
        }
        assert!(Instant::now() < deadline, "the job never started: {j}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let r = app
        .send(
            &cred,
            Method::DELETE,
            &format!("/api/v1/meetings/{id}"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let j: Value = app
        .send(&cred, Method::GET, &job_path, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(j["state"], "cancelled", "{j}");
    // Let the engine run out (it stops at its next heartbeat, or finishes and is refused).
    tokio::time::sleep(Duration::from_secs(12)).await;
    let j: Value = app
        .send(&cred, Method::GET, &job_path, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(j["state"], "cancelled", "the job stays cancelled: {j}");
    let org = uuid::Uuid::parse_str(s.org_id.trim_start_matches("org_")).unwrap();
    let meeting = uuid::Uuid::parse_str(id.trim_start_matches("mtg_")).unwrap();
    assert!(
        app.db()
            .meeting_keys(org, meeting)
            .await
            .unwrap()
            .is_empty(),
        "no key came back"
    );
    assert!(app.db().segments(org, meeting).await.unwrap().is_empty());
}
