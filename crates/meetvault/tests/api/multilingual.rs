//! The multilingual model through every door: `meetvault transcribe` and `models list`, the
//! OpenAI-compatible endpoints (`/v1/audio/transcriptions` with `language` and `prompt`,
//! `/v1/audio/translations`), and a meeting set to translate. Real speech (espeak-ng's German and
//! Spanish, and an English name Whisper misspells unless prompted) and the real base model.

use std::process::Output;
use std::time::Duration;

use meetvault_test_support::TestApp;
use meetvault_test_support::media::{whisper_base_model_dir, whisper_model_dir};
use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::meetvault;
use crate::speech;
use crate::transcription::{meeting, upload, wait_job};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// English words a translation of the Spanish fixture should have. (base translates espeak-ng's
/// German into nothing at all — faster-whisper too —, so translation is tested on Spanish.)
fn english_words(s: &str) -> usize {
    let lower = s.to_lowercase();
    [
        "good", "morning", "everyone", "meeting", "today", "team", "the", "please",
    ]
    .iter()
    .filter(|w| lower.split(|c: char| !c.is_alphabetic()).any(|x| x == **w))
    .count()
}

fn cli(data: &std::path::Path, args: &[&str]) -> Output {
    meetvault()
        .current_dir(data)
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .output()
        .expect("running meetvault")
}

#[test]
fn the_cli_detects_translates_and_takes_a_glossary_with_the_base_model_by_name() {
    let base = whisper_base_model_dir();
    let tiny = whisper_model_dir();
    let data = tempfile::tempdir().unwrap();
    // `--model base` finds DATA_DIR/models/whisper-base, where scripts/models.sh installs it.
    std::fs::create_dir_all(data.path().join("models")).unwrap();
    std::os::unix::fs::symlink(&base, data.path().join("models/whisper-base")).unwrap();
    let (german, said) = speech::in_language("de");
    let german = german.to_str().unwrap();

    let out = cli(
        data.path(),
        &["transcribe", german, "--model", "base", "--json"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["language"], "de", "{v}");
    assert_eq!(v["files"][0]["languages"], json!(["de"]));
    let heard: Vec<&str> = v["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["text"].as_str().unwrap())
        .collect();
    let wer = meetvault_stt::word_error_rate(&said, &heard.join(" "));
    assert!(wer <= 0.6, "German WER {wer:.2}: {heard:?}");

    let (spanish, _) = speech::in_language("es");
    let out = cli(
        data.path(),
        &[
            "transcribe",
            spanish.to_str().unwrap(),
            "--model",
            "base",
            "--task",
            "translate",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let english = text(&out.stdout);
    assert!(english_words(&english) >= 3, "not English: {english}");

    let siobhan = speech::siobhan();
    let out = cli(
        data.path(),
        &[
            "transcribe",
            siobhan.to_str().unwrap(),
            "--model",
            "base",
            "--prompt",
            "Siobhan, Mikkel Sørensen",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("Siobhan"),
        "{}",
        text(&out.stdout)
    );

    // Clear errors: translation with the English-only model, an unknown language, a prompt
    // longer than a window holds, an unknown task.
    let tiny = tiny.to_str().unwrap();
    let refused = [
        (vec!["--model", tiny, "--task", "translate"], "English-only"),
        (vec!["--model", "base", "--language", "xx"], "--language xx"),
        (vec!["--model", tiny, "--language", "de"], "--model base"),
    ];
    for (args, says) in refused {
        let mut all = vec!["transcribe", german];
        all.extend(args.iter());
        let out = cli(data.path(), &all);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            text(&out.stderr).contains(says),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    let long = "Siobhan Mikkel Sørensen Kubernetes ".repeat(40);
    let out = cli(
        data.path(),
        &["transcribe", german, "--model", "base", "--prompt", &long],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("shorten it"),
        "{}",
        text(&out.stderr)
    );
    let out = cli(data.path(), &["transcribe", german, "--task", "summarise"]);
    assert_eq!(out.status.code(), Some(2), "a usage error");

    // `models list`: both models, the one installed with its languages, the other with the
    // command that installs it.
    let out = cli(data.path(), &["models", "list", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let models = v["models"].as_array().unwrap();
    let tiny_en = models.iter().find(|m| m["name"] == "tiny.en").unwrap();
    assert_eq!(tiny_en["installed"], false);
    assert_eq!(tiny_en["default"], true);
    assert!(
        tiny_en["install"]
            .as_str()
            .unwrap()
            .starts_with("scripts/models.sh --model tiny.en ")
    );
    let base_m = models.iter().find(|m| m["name"] == "base").unwrap();
    assert_eq!(base_m["installed"], true);
    assert_eq!(base_m["multilingual"], true);
    assert_eq!(base_m["languages"], 99);
    assert!(base_m["bytes"].as_u64().unwrap() > 140_000_000);
    let out = cli(data.path(), &["models", "list"]);
    let table = text(&out.stdout);
    assert!(
        table.contains("tiny.en (default)")
            && table.contains("not installed")
            && table.contains("multilingual"),
        "{table}"
    );
}

fn audio_form(path: &std::path::Path, fields: &[(&str, &str)]) -> Form {
    let mut form = Form::new().text("model", "whisper-1").part(
        "file",
        Part::bytes(std::fs::read(path).unwrap())
            .file_name("speech.wav")
            .mime_str("audio/wav")
            .unwrap(),
    );
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    form
}

async fn post(app: &TestApp, key: &str, path: &str, form: Form) -> (StatusCode, Value) {
    let r = app
        .client
        .post(app.url(path))
        .bearer_auth(key)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_openai_endpoints_detect_translate_and_take_a_prompt_with_the_base_model() {
    let app = TestApp::spawn_with(|c| {
        c.transcription.model_dir = Some(whisper_base_model_dir());
    })
    .await;
    let owner = app.register("multilingual@example.com", "Polyglot").await;
    let (key, _) = app.api_key(&owner, &["meetings:write"]).await;
    let (german, _) = speech::in_language("de");

    let (status, v) = post(
        &app,
        &key,
        "/v1/audio/transcriptions",
        audio_form(&german, &[("response_format", "verbose_json")]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["language"], "german", "detected: {v}");
    assert_eq!(v["task"], "transcribe");

    let (spanish, _) = speech::in_language("es");
    let (status, v) = post(
        &app,
        &key,
        "/v1/audio/translations",
        audio_form(&spanish, &[("response_format", "verbose_json")]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["task"], "translate");
    assert_eq!(v["language"], "spanish", "the spoken language");
    let english = v["text"].as_str().unwrap();
    assert!(english_words(english) >= 3, "not English: {english}");

    let siobhan = speech::siobhan();
    let (status, v) = post(
        &app,
        &key,
        "/v1/audio/transcriptions",
        audio_form(
            &siobhan,
            &[("language", "en"), ("prompt", "Siobhan, Mikkel Sørensen")],
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert!(v["text"].as_str().unwrap().contains("Siobhan"), "{v}");

    let long = "Siobhan Mikkel Sørensen Kubernetes ".repeat(40);
    for (fields, says) in [
        (vec![("prompt", long.as_str())], "prompt:"),
        (vec![("language", "xx")], "language:"),
    ] {
        let (status, v) = post(
            &app,
            &key,
            "/v1/audio/transcriptions",
            audio_form(&siobhan, &fields),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(
            v["error"]["message"].as_str().unwrap().starts_with(says),
            "{v}"
        );
    }
}

#[tokio::test]
async fn a_meeting_set_to_translate_gets_an_english_transcript_and_tiny_en_refuses_it() {
    let app = TestApp::spawn_with(|c| {
        c.transcription.model_dir = Some(whisper_base_model_dir());
        c.transcription.auto = true;
    })
    .await;
    let s = app.register("translate@example.com", "Translator").await;
    let id = meeting(
        &app,
        &s,
        json!({"title": "Madrid sync", "transcription": {"task": "translate", "multilingual": true}}),
    )
    .await;
    let (spanish, _) = speech::in_language("es");
    let r = upload(
        &app,
        &s,
        &id,
        "?speaker=Lucia",
        "audio/wav",
        std::fs::read(&spanish).unwrap(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let rec: Value = r.json().await.unwrap();
    wait_job(
        &app,
        &s,
        rec["job_id"].as_str().unwrap(),
        Duration::from_secs(300),
    )
    .await;
    let r = app
        .send(
            &meetvault_test_support::Cred::Session(s.clone()),
            Method::GET,
            &format!("/api/v1/meetings/{id}/transcript"),
            None,
        )
        .await;
    let v: Value = r.json().await.unwrap();
    let heard: Vec<&str> = v["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["text"].as_str().unwrap())
        .collect();
    assert!(
        english_words(&heard.join(" ")) >= 3,
        "not English: {heard:?}"
    );
    for seg in v["segments"].as_array().unwrap() {
        assert_eq!(
            seg["language"], "es",
            "the language spoken, per segment: {seg}"
        );
    }
    let r = app
        .send(
            &meetvault_test_support::Cred::Session(s.clone()),
            Method::GET,
            &format!("/api/v1/meetings/{id}"),
            None,
        )
        .await;
    let m: Value = r.json().await.unwrap();
    assert_eq!(m["transcription"]["task"], "translate");
    assert_eq!(m["transcription"]["multilingual"], true);

    // The English-only model cannot translate; a remote provider does not do either.
    let tiny = TestApp::spawn().await;
    let s = tiny.register("tiny@example.com", "Tiny").await;
    for (body, field) in [
        (
            json!({"title": "x", "transcription": {"task": "translate"}}),
            "transcription.task",
        ),
        (
            json!({"title": "x", "transcription": {"provider": "deepgram", "secret": "dg", "multilingual": true}}),
            "transcription.multilingual",
        ),
    ] {
        let r = tiny
            .send(
                &meetvault_test_support::Cred::Session(s.clone()),
                Method::POST,
                "/api/v1/meetings",
                Some(body),
            )
            .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let v: Value = r.json().await.unwrap();
        assert!(
            v["error"]["message"].as_str().unwrap().starts_with(field),
            "{v}"
        );
    }
    let (key, _) = tiny.api_key(&s, &["meetings:write"]).await;
    let (status, v) = post(
        &tiny,
        &key,
        "/v1/audio/translations",
        audio_form(&spanish, &[]),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("English-only"),
        "{v}"
    );
}
