//! The OpenAI-compatible endpoint, called as an OpenAI SDK would (multipart, bearer API key),
//! and meetvault's own remote-provider client pointed at a second meetvault instance on
//! loopback: a meeting set to `provider: openai` is transcribed by the other server.

use std::time::Duration;

use meetvault_test_support::media::{wav_with_payload, whisper_model_dir};
use meetvault_test_support::{Cred, TestApp};
use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::speech;
use crate::transcription::{meeting, upload, wait_job};

fn form(audio: Vec<u8>, format: &str) -> Form {
    Form::new()
        .text("model", "whisper-1")
        .text("response_format", format.to_owned())
        .part(
            "file",
            Part::bytes(audio)
                .file_name("turn.wav")
                .mime_str("audio/wav")
                .unwrap(),
        )
}

async fn call(app: &TestApp, key: Option<&str>, form: Form) -> reqwest::Response {
    let mut req = app
        .client
        .post(app.url("/v1/audio/transcriptions"))
        .multipart(form);
    if let Some(key) = key {
        req = req.bearer_auth(key);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn the_openai_compatible_endpoint_answers_sdk_style_requests_with_an_api_key() {
    whisper_model_dir();
    let app = TestApp::spawn().await;
    let owner = app.register("openai@example.com", "OpenAI").await;
    let (key, _) = app.api_key(&owner, &["meetings:write"]).await;
    let (read_only, _) = app.api_key(&owner, &["meetings:read"]).await;
    let (tracks, turns) = speech::three_tracks();
    let audio = std::fs::read(&tracks[1].1).unwrap();
    let said: Vec<&str> = turns
        .iter()
        .filter(|t| t.speaker == tracks[1].0)
        .map(|t| t.text)
        .collect();

    let r = call(&app, Some(&key), form(audio.clone(), "verbose_json")).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["language"], "english");
    assert!(v["duration"].as_f64().unwrap() > 5.0);
    let segments = v["segments"].as_array().unwrap();
    assert!(!segments.is_empty());
    for s in segments {
        assert!(s["start"].as_f64().unwrap() <= s["end"].as_f64().unwrap());
        assert!(s["avg_logprob"].is_number() && s["no_speech_prob"].is_number());
    }
    let wer = meetvault_stt::word_error_rate(&said.join(" "), v["text"].as_str().unwrap());
    assert!(wer <= 0.15, "word error rate {wer:.3}: {v}");

    let r = call(&app, Some(&key), form(audio.clone(), "json")).await;
    assert!(
        r.json::<Value>().await.unwrap()["text"]
            .as_str()
            .unwrap()
            .len()
            > 20
    );
    let r = call(&app, Some(&key), form(audio.clone(), "text")).await;
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let r = call(&app, Some(&key), form(audio.clone(), "srt")).await;
    assert!(r.text().await.unwrap().contains(" --> "));

    // Refusals: no key, a key without meetings:write, no file, not audio, unknown format.
    assert_eq!(
        call(&app, None, form(audio.clone(), "json")).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(&app, Some(&read_only), form(audio.clone(), "json"))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let r = call(&app, Some(&key), Form::new().text("model", "whisper-1")).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = call(
        &app,
        Some(&key),
        form(b"not audio at all, just some text".to_vec(), "json"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let r = call(&app, Some(&key), form(audio, "docx")).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_meeting_set_to_a_remote_openai_provider_is_transcribed_by_a_second_instance() {
    whisper_model_dir();
    // The "provider": a second meetvault on loopback, serving its OpenAI-compatible endpoint.
    let remote = TestApp::spawn().await;
    let provider_owner = remote.register("provider@example.com", "Provider").await;
    let (key, _) = remote.api_key(&provider_owner, &["meetings:write"]).await;

    // The provider is on loopback over plain http: only an operator's allow-list lets a
    // meeting point there.
    let provider_host = remote.addr.to_string();
    let app = TestApp::spawn_with(|c| {
        c.transcription.auto = true;
        c.outbound.allow_hosts = vec![provider_host];
    })
    .await;
    let s = app.register("client@example.com", "Client").await;
    let cred = Cred::Session(s.clone());
    let r = app
        .send(
            &cred,
            Method::PUT,
            "/api/v1/me/secrets/remote-asr",
            Some(json!({"value": key})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    // A remote provider needs its URL and the name of the secret holding its key.
    let r = app
        .send(
            &cred,
            Method::POST,
            "/api/v1/meetings",
            Some(json!({"title": "Remote", "transcription": {"provider": "openai"}})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let id = meeting(
        &app,
        &s,
        json!({"title": "Remote", "transcription": {"provider": "openai", "base_url": remote.base_url, "secret": "remote-asr", "model": "whisper-1"}}),
    )
    .await;
    let got = app
        .send(&cred, Method::GET, &format!("/api/v1/meetings/{id}"), None)
        .await;
    let got = got.text().await.unwrap();
    assert!(
        got.contains("remote-asr") && !got.contains(&key),
        "settings name the secret, never the key: {got}"
    );

    let (_, turns) = speech::three_tracks();
    let r = crate::transcription::upload_track(&app, &s, &id, 2, "Carol").await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let job = r.json::<Value>().await.unwrap()["job_id"]
        .as_str()
        .unwrap()
        .to_owned();
    wait_job(&app, &s, &job, Duration::from_secs(600)).await;
    let r = app
        .send(
            &cred,
            Method::GET,
            &format!("/api/v1/meetings/{id}/transcript"),
            None,
        )
        .await;
    let segments = r.json::<Value>().await.unwrap()["segments"]
        .as_array()
        .unwrap()
        .clone();
    assert!(!segments.is_empty());
    assert!(segments.iter().all(|s| s["speaker"] == "Carol"));
    let said: Vec<&str> = turns
        .iter()
        .filter(|t| t.speaker == "Carol")
        .map(|t| t.text)
        .collect();
    let heard: Vec<&str> = segments
        .iter()
        .map(|s| s["text"].as_str().unwrap())
        .collect();
    let wer = meetvault_stt::word_error_rate(&said.join(" "), &heard.join(" "));
    assert!(wer <= 0.15, "word error rate {wer:.3}: {heard:?}");

    // A wrong key: the job fails for good, says why, and never shows the key.
    let r = app
        .send(
            &cred,
            Method::PUT,
            "/api/v1/me/secrets/remote-asr",
            Some(json!({"value": "mvk_wrongwrongwrong"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = upload(
        &app,
        &s,
        &id,
        "?speaker=Dan",
        "audio/wav",
        wav_with_payload(&[9u8; 64_000]),
    )
    .await;
    let job = r.json::<Value>().await.unwrap()["job_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut last = Value::Null;
    for _ in 0..300 {
        let r = app
            .send(&cred, Method::GET, &format!("/api/v1/jobs/{job}"), None)
            .await;
        last = r.json().await.unwrap();
        if last["state"] == "dead" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(last["state"], "dead", "{last}");
    let error = last["error"].as_str().unwrap();
    assert!(error.contains("API key"), "{error}");
    assert!(!error.contains("wrongwrong"), "{error}");
}

#[tokio::test]
async fn the_endpoint_refuses_an_unknown_language_and_one_the_english_only_model_lacks() {
    whisper_model_dir();
    let app = TestApp::spawn().await;
    let owner = app.register("babel@example.com", "Babel").await;
    let (key, _) = app.api_key(&owner, &["meetings:write"]).await;
    let audio = wav_with_payload(&[0u8; 32_000]);
    for (language, says) in [("zz", "Whisper's language codes"), ("de", "English-only")] {
        let r = call(
            &app,
            Some(&key),
            form(audio.clone(), "json").text("language", language),
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{language}");
        let v: Value = r.json().await.unwrap();
        let message = v["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with("language:") && message.contains(says),
            "{message}"
        );
    }
    let r = call(&app, Some(&key), form(audio, "json").text("language", "en")).await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_missing_model_is_a_503_that_does_not_say_where_the_server_looked() {
    let empty = tempfile::tempdir().unwrap();
    let dir = empty.path().to_owned();
    let app = TestApp::spawn_with(|c| c.transcription.model_dir = Some(dir.clone())).await;
    let owner = app.register("nomodel@example.com", "No model").await;
    let (key, _) = app.api_key(&owner, &["meetings:write"]).await;
    let r = call(
        &app,
        Some(&key),
        form(wav_with_payload(&[0u8; 32_000]), "json"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = r.text().await.unwrap();
    assert!(body.contains("model"), "{body}");
    assert!(
        !body.contains(dir.to_str().unwrap()) && !body.contains("/tmp"),
        "the answer shows a server path: {body}"
    );
}
