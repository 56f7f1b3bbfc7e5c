//! Word timestamps through the product: a meeting set to time words gets each segment's words
//! (sealed in the database like the text), karaoke SRT and WebVTT exports; the
//! remote providers' words (a stand-in Deepgram and OpenAI-compatible server) are stored the same
//! way; the OpenAI-compatible endpoint answers `timestamp_granularities[]=word` as OpenAI does; the CLI
//! prints words and karaoke cues. Bad combinations are clear 422s or CLI errors.

use std::time::Duration;

use meetvault_test_support::media::whisper_model_dir;
use meetvault_test_support::receiver::{Answer, Receiver};
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

/// The meeting's transcript segments (the transcript read must succeed).
async fn segments(app: &TestApp, s: &Session, id: &str) -> Vec<Value> {
    let r = get(app, s, format!("/api/v1/meetings/{id}/transcript")).await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json::<Value>().await.unwrap()["segments"]
        .as_array()
        .unwrap()
        .clone()
}

/// Words are ordered, inside the audio, and put together they are their segment's text.
fn check_words(segment: &Value, with_probability: bool) -> Vec<Value> {
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
        // OpenAI reports no confidence per word; the others one in 0–1.
        match w["probability"].as_f64() {
            Some(p) => assert!((0.0..=1.0).contains(&p), "{w}"),
            None => assert!(!with_probability, "a word without its probability: {w}"),
        }
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

    let segments = segments(&app, &s, &id).await;
    assert!(!segments.is_empty());
    // Each of Bob's turns starts where his first word does (the fixture knows the turns).
    let (_, turns) = speech::three_tracks();
    let mut words = Vec::new();
    for seg in &segments {
        words.extend(check_words(seg, true));
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

/// Deepgram's documented pre-recorded answer, with utterances (each becomes a segment).
const DEEPGRAM: &str = r#"{
  "metadata": {"request_id": "5d7a1b2c-0e57-4a2c-b1b6-7f4e2f2f2a10", "duration": 6.2, "channels": 1},
  "results": {
    "channels": [{"alternatives": [{"transcript": "Good morning. Shall we start?", "confidence": 0.98,
      "words": []}]}],
    "utterances": [
      {"start": 0.08, "end": 0.9, "confidence": 0.98, "channel": 0, "transcript": "Good morning.",
       "words": [
         {"word": "good", "start": 0.08, "end": 0.4, "confidence": 0.99, "punctuated_word": "Good"},
         {"word": "morning", "start": 0.4, "end": 0.9, "confidence": 0.97, "punctuated_word": "morning."}
       ], "id": "a1b2"},
      {"start": 4.0, "end": 4.9, "confidence": 0.97, "channel": 0, "transcript": "Shall we start?",
       "words": [
         {"word": "shall", "start": 4.0, "end": 4.2, "confidence": 0.98, "punctuated_word": "Shall"},
         {"word": "we", "start": 4.2, "end": 4.4, "confidence": 0.96, "punctuated_word": "we"},
         {"word": "start", "start": 4.4, "end": 4.9, "confidence": 0.95, "punctuated_word": "start?"}
       ], "id": "c3d4"}
    ]
  }
}"#;

/// OpenAI's documented `verbose_json` answer with `timestamp_granularities[]=word`.
const OPENAI: &str = r#"{
  "task": "transcribe", "language": "english", "duration": 4.0,
  "text": "Hello there. General Kenobi.",
  "segments": [
    {"id": 0, "seek": 0, "start": 0.0, "end": 1.8, "text": " Hello there.",
     "avg_logprob": -0.2, "no_speech_prob": 0.01},
    {"id": 1, "seek": 0, "start": 2.0, "end": 4.0, "text": " General Kenobi.",
     "avg_logprob": -0.3, "no_speech_prob": 0.01}
  ],
  "words": [
    {"word": "Hello", "start": 0.0, "end": 0.6},
    {"word": "there.", "start": 0.7, "end": 1.8},
    {"word": "General", "start": 1.9, "end": 2.6},
    {"word": "Kenobi.", "start": 2.7, "end": 4.0}
  ]
}"#;

/// A segment's text and its words (text, start and end in milliseconds).
type Timed = (String, Vec<(String, i64, i64)>);

#[tokio::test]
async fn remote_providers_words_are_stored_and_exported_like_the_local_engines() {
    let provider = Receiver::start().await;
    let allowed = provider.addr.to_string();
    let app = TestApp::spawn_with(|c| {
        c.auth.open_registration = true;
        c.transcription.auto = true;
        c.outbound.allow_hosts = vec![allowed];
    })
    .await;
    let s = app.register("remote-words@example.com", "Words").await;
    let r = app
        .send(
            &Cred::Session(s.clone()),
            Method::PUT,
            "/api/v1/me/secrets/stt",
            Some(json!({"value": "remote-provider-key"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);

    for (name, answer, expected) in [
        (
            "deepgram",
            DEEPGRAM,
            vec![
                (
                    "Good morning.",
                    vec![("Good", 80, 400), ("morning.", 400, 900)],
                ),
                (
                    "Shall we start?",
                    vec![
                        ("Shall", 4000, 4200),
                        ("we", 4200, 4400),
                        ("start?", 4400, 4900),
                    ],
                ),
            ],
        ),
        (
            "openai",
            OPENAI,
            vec![
                (
                    "Hello there.",
                    vec![("Hello", 0, 600), ("there.", 700, 1800)],
                ),
                (
                    "General Kenobi.",
                    vec![("General", 1900, 2600), ("Kenobi.", 2700, 4000)],
                ),
            ],
        ),
    ] {
        provider.script([Answer::status(200)
            .header("content-type", "application/json")
            .body(answer)]);
        let before = provider.received().len();
        let id = meeting(
            &app,
            &s,
            json!({"title": format!("Remote words ({name})"), "language": "en", "transcription": {
                "provider": name, "base_url": provider.url("/"), "secret": "stt",
                "word_timestamps": true}}),
        )
        .await;
        let r = upload_track(&app, &s, &id, 1, "Bob").await;
        assert_eq!(r.status(), StatusCode::CREATED, "{name}");
        let rec: Value = r.json().await.unwrap();
        let job = wait_job(
            &app,
            &s,
            rec["job_id"].as_str().unwrap(),
            Duration::from_secs(120),
        )
        .await;
        assert_eq!(job["state"], "succeeded", "{name}: {job}");
        let sent = provider.received();
        assert_eq!(sent.len(), before + 1, "{name}: one request");
        if name == "openai" {
            // Asked for words: the multipart body names the word granularity.
            let body = String::from_utf8_lossy(&sent[before].body).into_owned();
            assert!(
                body.contains("name=\"timestamp_granularities[]\"\r\n\r\nword\r\n"),
                "{body}"
            );
        }

        let got: Vec<Timed> = segments(&app, &s, &id)
            .await
            .iter()
            .map(|seg| {
                let words = check_words(seg, name != "openai")
                    .iter()
                    .map(|w| {
                        (
                            w["text"].as_str().unwrap().trim().to_owned(),
                            w["start_ms"].as_i64().unwrap(),
                            w["end_ms"].as_i64().unwrap(),
                        )
                    })
                    .collect();
                (seg["text"].as_str().unwrap().to_owned(), words)
            })
            .collect();
        let expected: Vec<Timed> = expected
            .iter()
            .map(|(text, words)| {
                (
                    text.to_string(),
                    words
                        .iter()
                        .map(|(w, a, b)| (w.to_string(), *a, *b))
                        .collect(),
                )
            })
            .collect();
        assert_eq!(got, expected, "{name}");
        // Sealed like the local engine's words.
        let rows = app
            .db()
            .segments(uid(&s.org_id), meeting_uuid(&id))
            .await
            .unwrap();
        assert!(rows.iter().all(|r| {
            r.words
                .as_ref()
                .is_some_and(|ct| !ct.windows(7).any(|w| w == b"morning" || w == b"General"))
        }));
        let vtt = get(
            &app,
            &s,
            format!("/api/v1/meetings/{id}/transcript?format=vtt&karaoke=true"),
        )
        .await
        .text()
        .await
        .unwrap();
        // A timestamp before the first segment's second word.
        let second = format!("<00:00:00.{:03}>", expected[0].1[1].1);
        assert!(vtt.contains(&second), "{name}: {vtt}");
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
