//! Word timestamps through the product: a meeting set to time words gets each segment's words
//! (sealed in the database like the text), karaoke SRT and WebVTT exports; the
//! OpenAI-compatible endpoint answers `timestamp_granularities[]=word` as OpenAI does; the CLI
//! prints words and karaoke cues. Bad combinations are clear 422s or CLI errors.

use std::time::Duration;

use meetvault_test_support::media::whisper_model_dir;
use meetvault_test_support::{Cred, Session, TestApp, execute};
use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::encryption::{bytes_lit, id_lit, meeting_uuid, uid};
use crate::helpers::meetvault;
use crate::speech;
use crate::transcription::{meeting, upload_track, wait_job};

async fn get(app: &TestApp, s: &Session, path: String) -> reqwest::Response {
    app.send(&Cred::Session(s.clone()), Method::GET, &path, None)
        .await
}

/// Words are ordered, inside the audio, and put together they are their segment's text.
fn check_words(segment: &Value) -> Vec<Value> {
    let words = segment["words"].as_array().expect("a segment with words");
    let joined: String = words.iter().map(|w| w["text"].as_str().unwrap()).collect();
    assert_eq!(joined.trim(), segment["text"], "{segment}");
    let mut last = 0;
    for w in words {
        let (a, b) = (
            w["start_ms"].as_i64().unwrap(),
            w["end_ms"].as_i64().unwrap(),
        );
        assert!(last <= a && a <= b, "words out of order: {segment}");
        let p = w["probability"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&p), "{w}");
        last = b;
    }
    words.clone()
}

#[tokio::test]
async fn a_meeting_set_to_time_words_stores_them_sealed_and_exports_karaoke_cues() {
    whisper_model_dir();
    let app = TestApp::spawn_with(|c| {
        c.auth.open_registration = true;
        c.transcription.auto = true;
    })
    .await;
    let s = app.register("words@example.com", "Words").await;
    let cred = Cred::Session(s.clone());

    // Only the local engine times words.
    let r = app
        .send(
            &cred,
            Method::POST,
            "/api/v1/meetings",
            Some(json!({"title": "Remote words", "transcription": {
                "provider": "deepgram", "secret": "dg", "word_timestamps": true}})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("word_timestamps"),
        "{body}"
    );

    let id = meeting(
        &app,
        &s,
        json!({"title": "Standup", "language": "en", "transcription": {"word_timestamps": true}}),
    )
    .await;
    let r = upload_track(&app, &s, &id, 1, "Bob").await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let rec: Value = r.json().await.unwrap();
    wait_job(
        &app,
        &s,
        rec["job_id"].as_str().unwrap(),
        Duration::from_secs(600),
    )
    .await;

    let r = get(&app, &s, format!("/api/v1/meetings/{id}/transcript")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let segments = r.json::<Value>().await.unwrap()["segments"]
        .as_array()
        .unwrap()
        .clone();
    assert!(!segments.is_empty());
    // Each of Bob's turns starts where his first word does (the fixture knows the turns).
    let (_, turns) = speech::three_tracks();
    let mut words = Vec::new();
    for seg in &segments {
        words.extend(check_words(seg));
    }
    for turn in turns.iter().filter(|t| t.speaker == "Bob") {
        let start_ms = (turn.start * 1000.0) as i64;
        let nearest = words
            .iter()
            .map(|w| (w["start_ms"].as_i64().unwrap() - start_ms).abs())
            .min()
            .unwrap();
        assert!(
            nearest <= 300,
            "no word starts within 300 ms of Bob's turn at {start_ms} ms: {words:?}"
        );
    }

    // Sealed: ciphertext in the row, bound to it (another row's words fail to open).
    let db = app.db();
    let rows = db
        .segments(uid(&s.org_id), meeting_uuid(&id))
        .await
        .unwrap();
    let sealed: Vec<&Vec<u8>> = rows.iter().filter_map(|r| r.words.as_ref()).collect();
    assert_eq!(sealed.len(), rows.len(), "every segment's words are stored");
    // The longest word: a one- or two-letter word ("I", "We") turns up in random ciphertext by
    // chance (a CI run failed that way), a word of five letters or more does not.
    let longest = words
        .iter()
        .map(|w| w["text"].as_str().unwrap().trim().as_bytes().to_vec())
        .max_by_key(Vec::len)
        .unwrap();
    assert!(
        longest.len() >= 5,
        "a word of five letters or more: {words:?}"
    );
    for ct in &sealed {
        assert!(!ct.windows(longest.len()).any(|w| w == longest));
    }
    if rows.len() >= 2 {
        let swap = |ct: &[u8]| {
            format!(
                "UPDATE transcript_segments SET words = {} WHERE id = {}",
                bytes_lit(db, ct),
                id_lit(db, rows[1].id)
            )
        };
        execute(db, &swap(sealed[0])).await;
        let r = get(&app, &s, format!("/api/v1/meetings/{id}/transcript")).await;
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "integrity_failure");
        execute(db, &swap(sealed[1])).await;
    }

    // Karaoke exports: WebVTT with a timestamp before words, SRT with a cue per word.
    let export = |q: &'static str| get(&app, &s, format!("/api/v1/meetings/{id}/transcript?{q}"));
    let r = export("format=vtt&karaoke=true").await;
    assert_eq!(r.status(), StatusCode::OK);
    let vtt = r.text().await.unwrap();
    assert!(vtt.starts_with("WEBVTT"), "{vtt}");
    let inline = vtt.matches("<00:00:").count();
    assert!(inline >= words.len() / 2, "inline timestamps: {vtt}");
    let r = export("format=srt&karaoke=true").await;
    let srt = r.text().await.unwrap();
    assert_eq!(srt.matches("<u>").count(), words.len(), "{srt}");
    let plain = export("format=srt").await.text().await.unwrap();
    assert!(!plain.contains("<u>"));
    // The JSON export carries the words too.
    let doc: Value = export("format=json").await.json().await.unwrap();
    assert!(
        doc["segments"][0]["words"]
            .as_array()
            .is_some_and(|w| !w.is_empty())
    );

    for (q, field) in [
        ("format=txt&karaoke=true", "karaoke"),
        ("karaoke=true", "karaoke"),
    ] {
        let r = export(q).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{q}");
        let body: Value = r.json().await.unwrap();
        assert!(
            body["error"]["message"].as_str().unwrap().contains(field),
            "{body}"
        );
    }
}

fn form(audio: Vec<u8>, format: &str, granularities: &[&str]) -> Form {
    let mut form = Form::new()
        .text("model", "whisper-1")
        .text("response_format", format.to_owned());
    for g in granularities {
        form = form.text("timestamp_granularities[]", (*g).to_owned());
    }
    form.part(
        "file",
        Part::bytes(audio)
            .file_name("turn.wav")
            .mime_str("audio/wav")
            .unwrap(),
    )
}

#[tokio::test]
async fn the_openai_compatible_endpoint_times_words_when_asked_for_word_granularity() {
    whisper_model_dir();
    let app = TestApp::spawn().await;
    let owner = app.register("openai-words@example.com", "Words").await;
    let (key, _) = app.api_key(&owner, &["meetings:write"]).await;
    let (tracks, turns) = speech::three_tracks();
    let audio = std::fs::read(&tracks[0].1).unwrap();
    let call = |form: Form| {
        app.client
            .post(app.url("/v1/audio/transcriptions"))
            .bearer_auth(&key)
            .multipart(form)
            .send()
    };

    // Words only: OpenAI leaves the segments out.
    let r = call(form(audio.clone(), "verbose_json", &["word"]))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    let v: Value = r.json().await.unwrap();
    assert!(v.get("segments").is_none(), "{v}");
    let words = v["words"].as_array().unwrap();
    let said: Vec<&str> = turns
        .iter()
        .filter(|t| t.speaker == tracks[0].0)
        .map(|t| t.text)
        .collect();
    let heard: Vec<&str> = words.iter().map(|w| w["word"].as_str().unwrap()).collect();
    let wer = meetvault_stt::word_error_rate(&said.join(" "), &heard.join(" "));
    assert!(wer <= 0.15, "word error rate {wer:.3}: {heard:?}");
    let mut last = 0.0;
    for w in words {
        let word = w["word"].as_str().unwrap();
        assert_eq!(word, word.trim(), "OpenAI's words carry no spaces");
        let (a, b) = (w["start"].as_f64().unwrap(), w["end"].as_f64().unwrap());
        assert!(last <= a && a <= b, "{v}");
        last = b;
    }
    // Each turn begins with a word (Whisper's first word may swallow some of the silence
    // before it: the engine's own tests measure the accuracy).
    for turn in turns.iter().filter(|t| t.speaker == tracks[0].0) {
        let nearest = words
            .iter()
            .map(|w| (w["start"].as_f64().unwrap() - turn.start).abs())
            .fold(f64::INFINITY, f64::min);
        assert!(
            nearest < 0.5,
            "no word within 0.5 s of the turn at {} s: {v}",
            turn.start
        );
    }

    // Both granularities: segments and words. No granularity: segments only.
    let v: Value = call(form(audio.clone(), "verbose_json", &["segment", "word"]))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(v["segments"].as_array().is_some_and(|s| !s.is_empty()));
    assert_eq!(v["words"].as_array().unwrap().len(), words.len());
    let v: Value = call(form(audio.clone(), "verbose_json", &[]))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(v.get("words").is_none() && v["segments"].is_array(), "{v}");

    // Refused: granularities without verbose_json, an unknown granularity.
    for (format, g) in [("json", "word"), ("verbose_json", "sentence")] {
        let r = call(form(audio.clone(), format, &[g])).await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{format} {g}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_input", "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("timestamp_granularities"),
            "{body}"
        );
    }
}

#[test]
fn the_cli_prints_words_and_karaoke_cues() {
    let model = whisper_model_dir();
    let model = model.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (tracks, _) = speech::three_tracks();
    let bob = tracks[1].1.to_str().unwrap();
    let run = |args: &[&str]| {
        let mut all = vec!["transcribe", bob, "--model", model];
        all.extend(args);
        meetvault()
            .current_dir(dir.path())
            .args(&all)
            .output()
            .unwrap()
    };

    let out = run(&["--word-timestamps", "--format", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let segments = doc["segments"].as_array().unwrap();
    assert!(!segments.is_empty());
    for s in segments {
        let words = s["words"].as_array().unwrap();
        let joined: String = words.iter().map(|w| w["text"].as_str().unwrap()).collect();
        assert_eq!(joined.trim(), s["text"]);
        assert!(
            words
                .iter()
                .all(|w| w["start"].as_f64() <= w["end"].as_f64())
        );
    }
    // Without the flag there are none.
    let out = run(&["--format", "json"]);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("\"words\""));

    let out = run(&["--karaoke", "--format", "vtt"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let vtt = String::from_utf8_lossy(&out.stdout);
    assert!(
        vtt.starts_with("WEBVTT") && vtt.contains("<00:00:"),
        "{vtt}"
    );

    let out = run(&["--karaoke", "--format", "txt"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--karaoke") && err.contains("srt"), "{err}");
}
