//! The encryption canary: unique strings put into every kind of content (meeting title,
//! participant name and email, transcript text, an integration token, a recording, and what
//! meeting intelligence makes of the transcript: summary, action items, search index; a
//! document attached to the meeting: its name, text, chunks and vectors; a Slack connection's
//! bot token and the summary it posted) appear in
//! plaintext nowhere at rest — not in the SQLite file and its WAL, a `pg_dump`, the blob files
//! or S3 objects — nor in the server's debug log, with either master-key provider.

use std::path::Path;

use meetvault_test_support::{BlobBackendChoice, services};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Client, ServerProcess, blobs_env, database_env};

/// A new symmetric key in the loopback KMS (moto), and the endpoint.
pub(crate) async fn kms_key() -> (String, String) {
    let endpoint = services::s3_endpoint();
    let kms = meetvault_kms::AwsKms::new(meetvault_kms::AwsKmsSettings {
        endpoint: Some(endpoint.clone()),
        region: "us-east-1".into(),
        access_key_id: "testing".into(),
        secret_access_key: zeroize::Zeroizing::new("testing".into()),
        session_token: None,
    })
    .unwrap();
    let key = kms.create_key("meetvault test master key").await.unwrap();
    (key, endpoint.as_str().trim_end_matches('/').to_owned())
}

pub(crate) fn use_kms(c: &mut meetvault_config::Config, key_id: &str, endpoint: &str) {
    c.keys.provider = meetvault_config::KeyProvider::AwsKms;
    c.keys.aws_kms = Some(meetvault_config::AwsKmsConfig {
        key_id: Some(key_id.into()),
        endpoint: Some(endpoint.parse().unwrap()),
        region: "us-east-1".into(),
        access_key_id: Some(meetvault_config::Secret::new("testing")),
        secret_access_key: Some(meetvault_config::Secret::new("testing")),
        session_token: None,
    });
}

fn files_under(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

pub(crate) fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// Everything an attacker with the storage would hold, as bytes: every file under `dir` (the
/// SQLite database and its WAL, the blob directory, key files), a `pg_dump` of a PostgreSQL
/// database, and every object under the S3 prefix.
pub(crate) async fn storage_bytes(
    dir: &Path,
    db_url: &str,
    s3_prefix: Option<&str>,
) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut files = Vec::new();
    files_under(dir, &mut files);
    for f in files {
        out.push((
            f.display().to_string(),
            std::fs::read(&f).unwrap_or_default(),
        ));
    }
    if db_url.starts_with("postgres") {
        let pg_dump = glob_one("/usr/lib/postgresql", "bin/pg_dump");
        let dump = std::process::Command::new(pg_dump)
            .args(["--data-only", "--inserts", "-d", db_url])
            .output()
            .unwrap();
        assert!(
            dump.status.success(),
            "pg_dump failed: {}",
            String::from_utf8_lossy(&dump.stderr)
        );
        assert!(
            contains(&dump.stdout, "INSERT INTO public.meetings"),
            "the dump holds the content tables"
        );
        out.push(("pg_dump".into(), dump.stdout));
    }
    if let Some(prefix) = s3_prefix {
        use futures::TryStreamExt;
        let store =
            meetvault_store::BlobStore::s3(&services::s3_config(prefix).await, 8 << 20).unwrap();
        let objects = store.list("").await.unwrap();
        assert!(!objects.is_empty(), "the recording is in S3");
        for meta in objects {
            let key = meetvault_store::BlobKey::parse(&meta.key).unwrap();
            let bytes: Vec<u8> = store
                .get_stream(&key)
                .await
                .unwrap()
                .map_ok(|b| b.to_vec())
                .try_concat()
                .await
                .unwrap();
            out.push((format!("s3:{}", meta.key), bytes));
        }
    }
    out
}

fn glob_one(root: &str, suffix: &str) -> std::path::PathBuf {
    std::fs::read_dir(root)
        .unwrap_or_else(|e| panic!("{root}: {e} (PostgreSQL is installed by scripts/deps.sh)"))
        .flatten()
        .map(|e| e.path().join(suffix))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("no {suffix} under {root}"))
}

const CANARY_TITLE: &str = "canary-title-5b1e9f";
const CANARY_EMAIL: &str = "canary-guest-77c2@example.org";
const CANARY_NAME: &str = "Canaryname Qwxzt";
const CANARY_TEXT: &str = "canary-transcript-a41d03 the launch slips to March";
const CANARY_TOKEN: &str = "xoxb-canary-token-9e8d7c";
const CANARY_AUDIO: &str = "canary-recording-c0ffee";
/// Spoken, transcribed by the local engine, stored: the engine's output is content too.
const CANARY_SPOKEN: &str = "The marmalade was delicious this morning.";
const CANARY_HEARD: &str = "marmalade";
const CANARY_SPEAKER: &str = "Canaryspeaker Vqkz";
/// Said as a commitment, so it becomes an action item of the summary.
const CANARY_ACTION: &str = "canaryactionzq";
/// A document attached to the meeting: its name and its text.
const CANARY_DOC_NAME: &str = "canary-docname-61be";
const CANARY_DOC: &str = "canarydocqv3f9a";
const CANARY_ACTION_LINE: &str = "I'll send the canaryactionzq report to finance by Friday.";

async fn canary(provider: &str) {
    let dir = tempfile::tempdir().unwrap();
    let db = database_env(dir.path()).await;
    let model = meetvault_test_support::media::whisper_model_dir();
    let chat = meetvault_test_support::media::chat_model_dir();
    let embed = meetvault_test_support::media::embedding_model_dir();
    let mut env: Vec<(String, String)> = vec![
        ("MEETVAULT_LOG__LEVEL".into(), "debug".into()),
        ("MEETVAULT_DATABASE__URL".into(), db.clone()),
        (
            "MEETVAULT_TRANSCRIPTION__MODEL_DIR".into(),
            model.to_str().unwrap().to_owned(),
        ),
        ("MEETVAULT_TRANSCRIPTION__AUTO".into(), "false".into()),
        // The summary and search index are made from the imported transcript.
        (
            "MEETVAULT_INTELLIGENCE__CHAT_MODEL".into(),
            chat.join("model.gguf").to_str().unwrap().to_owned(),
        ),
        (
            "MEETVAULT_INTELLIGENCE__EMBEDDING_MODEL".into(),
            embed.to_str().unwrap().to_owned(),
        ),
    ];
    // Slack, on loopback: the summary is posted with a bot token that must appear nowhere.
    let slack = meetvault_integrations::fake::Fake::start(meetvault_integrations::Kind::Slack)
        .await
        .unwrap();
    env.push((
        "MEETVAULT_OUTBOUND__ALLOW_HOSTS".into(),
        r#"["127.0.0.1/32"]"#.into(),
    ));
    env.push(("MEETVAULT_INTEGRATIONS__POLL_MS".into(), "100".into()));
    let prefix = format!("canary-{}", uuid::Uuid::new_v4().simple());
    let s3 = services::blob_backend() == BlobBackendChoice::S3;
    env.extend(blobs_env(&prefix).await);
    if provider == "aws-kms" {
        let (key, endpoint) = kms_key().await;
        for (k, v) in [
            ("PROVIDER", "aws-kms".to_owned()),
            ("AWS_KMS__KEY_ID", key),
            ("AWS_KMS__ENDPOINT", endpoint),
            ("AWS_KMS__ACCESS_KEY_ID", "testing".into()),
            ("AWS_KMS__SECRET_ACCESS_KEY", "testing".into()),
        ] {
            env.push((format!("MEETVAULT_KEYS__{k}"), v));
        }
    }
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let server = ServerProcess::start(dir.path(), &env_refs);
    let c = Client::register(&server.url(""), "canary-owner@example.com").await;
    let r = c
        .req(Method::POST, "/api/v1/integrations")
        .json(
            &json!({"provider": "slack", "base_url": slack.url("api/").as_str(),
            "destination": "C0123", "credential": {"type": "token",
            "token": meetvault_integrations::fake::TOKEN}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);

    let r = c
        .req(Method::POST, "/api/v1/meetings")
        .json(&json!({"title": CANARY_TITLE, "participants": [{"name": CANARY_NAME, "email": CANARY_EMAIL}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let meeting: Value = r.json().await.unwrap();
    let id = meeting["id"].as_str().unwrap().to_owned();
    let mut segments: Vec<Value> = (0..40).map(|i| json!({"start_ms": i * 1000, "end_ms": i * 1000 + 900, "speaker": CANARY_NAME, "text": format!("{CANARY_TEXT} #{i}")})).collect();
    segments.push(json!({"start_ms": 41_000, "end_ms": 44_000, "speaker": CANARY_NAME, "text": CANARY_ACTION_LINE}));
    let r = c
        .req(Method::POST, &format!("/api/v1/meetings/{id}/transcript"))
        .json(&json!({"segments": segments}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let mut payload = Vec::new();
    for i in 0..20_000u32 {
        payload.extend_from_slice(CANARY_AUDIO.as_bytes());
        payload.extend_from_slice(&i.to_le_bytes());
    }
    // A real recording (the upload is decoded to check it) whose samples carry the canary.
    let audio = meetvault_test_support::media::wav_with_payload(&payload);
    let r = c
        .req(Method::POST, &format!("/api/v1/meetings/{id}/recordings"))
        .header("content-type", "audio/wav")
        .body(audio.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let rec: Value = r.json().await.unwrap();
    let r = c
        .req(Method::PUT, "/api/v1/me/secrets/slack")
        .json(&json!({"value": CANARY_TOKEN}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // The content reads back in full through the API (so it really was stored)…
    let got: Value = c
        .req(Method::GET, &format!("/api/v1/meetings/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got["title"], CANARY_TITLE);
    assert_eq!(got["participants"][0]["email"], CANARY_EMAIL);
    let t: Value = c
        .req(Method::GET, &format!("/api/v1/meetings/{id}/transcript"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(t["segments"][39]["text"], format!("{CANARY_TEXT} #39"));
    // The summary (its action item) and the search index (a hit) hold the canaries too.
    let started = std::time::Instant::now();
    let summary: Value = loop {
        let r = c
            .req(Method::GET, &format!("/api/v1/meetings/{id}/summary"))
            .send()
            .await
            .unwrap();
        if r.status() == StatusCode::OK {
            break r.json().await.unwrap();
        }
        assert!(started.elapsed().as_secs() < 240, "no summary");
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    };
    assert!(
        summary["action_items"].to_string().contains(CANARY_ACTION),
        "{summary}"
    );
    let hits: Value = c
        .req(Method::POST, "/api/v1/search")
        .json(&json!({"query": CANARY_ACTION}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        hits["hits"][0]["text"]
            .as_str()
            .unwrap()
            .contains(CANARY_ACTION),
        "{hits}"
    );
    // A document attached to the meeting: its name, text, chunks and vectors are sealed too.
    let r = c
        .req(
            Method::POST,
            &format!("/api/v1/meetings/{id}/documents?name={CANARY_DOC_NAME}&keep=true"),
        )
        .header("content-type", "text/markdown")
        .body(format!(
            "# Pre-read\n\nThe {CANARY_DOC} plan covers the vendor contract renewal in detail.\n"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap()
    );
    let hits: Value = c
        .req(Method::POST, "/api/v1/search")
        .json(&json!({"query": CANARY_DOC}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        hits["hits"][0]["document"]["name"], CANARY_DOC_NAME,
        "{hits}"
    );
    let path = format!(
        "/api/v1/meetings/{id}/recordings/{}",
        rec["id"].as_str().unwrap()
    );
    let back = c
        .req(Method::GET, &path)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(back.as_ref(), audio.as_slice());
    let part = c
        .req(Method::GET, &path)
        .header("range", "bytes=200000-200099")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        part.bytes().await.unwrap().as_ref(),
        &audio[200_000..200_100]
    );
    let listed: Value = c
        .req(Method::GET, "/api/v1/me/secrets")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        !listed.to_string().contains(CANARY_TOKEN),
        "a secret's value is never returned"
    );

    // Speech the local engine transcribes: its transcript and the track's speaker label.
    let speech_dir = tempfile::tempdir().unwrap();
    let spoken = speech_dir.path().join("canary-spoken.wav");
    meetvault_test_support::media::speak(CANARY_SPOKEN, "en-us+m1", &spoken);
    let r = c
        .req(
            Method::POST,
            &format!(
                "/api/v1/meetings/{id}/recordings?transcribe=true&speaker=Canaryspeaker%20Vqkz"
            ),
        )
        .header("content-type", "audio/wav")
        .body(std::fs::read(&spoken).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let job = r.json::<Value>().await.unwrap()["job_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut state = Value::Null;
    for _ in 0..600 {
        state = c
            .req(Method::GET, &format!("/api/v1/jobs/{job}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if state["state"] == "succeeded" || state["state"] == "dead" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(state["state"], "succeeded", "{state}");
    let t: Value = c
        .req(Method::GET, &format!("/api/v1/meetings/{id}/transcript"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        t["segments"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["speaker"] == CANARY_SPEAKER
                && s["text"]
                    .as_str()
                    .unwrap()
                    .to_lowercase()
                    .contains(CANARY_HEARD)),
        "the engine heard the canary: {t}"
    );

    // …and appears nowhere at rest or in the log.
    // The summary reached Slack (so the token was used, and the item stored sealed).
    let start = std::time::Instant::now();
    while slack.created().is_empty() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(120),
            "the summary never reached Slack"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    drop(server.log());
    let storage = storage_bytes(dir.path(), &db, s3.then_some(prefix.as_str())).await;
    assert!(
        storage
            .iter()
            .any(|(name, _)| name.contains("blobs") || name.starts_with("s3:"))
    );
    for canary in [
        CANARY_TITLE,
        CANARY_EMAIL,
        CANARY_NAME,
        "canary-transcript-a41d03",
        CANARY_TOKEN,
        CANARY_AUDIO,
        CANARY_HEARD,
        CANARY_SPEAKER,
        CANARY_ACTION,
        CANARY_DOC_NAME,
        CANARY_DOC,
        meetvault_integrations::fake::TOKEN,
    ] {
        for (name, bytes) in &storage {
            assert!(
                !contains(bytes, canary),
                "{canary} in plaintext in {name} ({provider})"
            );
        }
        assert!(
            !server.log().contains(canary),
            "{canary} in the log ({provider})"
        );
    }
}

#[tokio::test]
async fn no_canary_reaches_storage_or_logs_with_the_local_master_key() {
    canary("local").await;
}

#[tokio::test]
async fn no_canary_reaches_storage_or_logs_with_aws_kms() {
    canary("aws-kms").await;
}
