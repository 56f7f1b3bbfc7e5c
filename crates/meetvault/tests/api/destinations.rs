//! The customer's own bucket against a real S3 API server on loopback (moto): a destination is
//! checked with a probe write before it is saved (a missing bucket or an endpoint that points
//! inside is a 422, and nothing is saved), its credentials never come back, and delivering a
//! meeting puts its recordings there byte for byte, then announces them with
//! `recording.files_ready` (keys, sizes, SHA-256) on the org's webhooks.

use std::time::Duration;

use meetvault_test_support::receiver::Receiver;
use meetvault_test_support::{Cred, Session, TestApp, services};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::webhooks::{WAIT, app_with, call, create, new_meeting};

async fn destination_body(prefix: &str) -> Value {
    let s3 = services::s3_config(prefix).await;
    json!({
        "name": "Acme archive",
        "endpoint": s3.endpoint.unwrap().as_str(),
        "region": "us-east-1",
        "bucket": s3.bucket,
        "prefix": prefix,
        "path_style": true,
        "access_key_id": "AKIADESTINATION1234",
        "secret_access_key": "destination-secret-value-do-not-show",
    })
}

/// The test bucket, read with the server's credentials (as the customer would).
async fn bucket_reader() -> meetvault_store::BlobStore {
    meetvault_store::BlobStore::s3(&services::s3_config("").await, 8 << 20).unwrap()
}

/// Uploads a WAV recording to a meeting.
pub(crate) async fn upload_wav(app: &TestApp, owner: &Session, meeting: &str, wav: &[u8]) {
    let r = app
        .send_bytes(
            &Cred::Session(owner.clone()),
            &format!("/api/v1/meetings/{meeting}/recordings"),
            "audio/wav",
            wav.to_vec(),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
}

async fn add(app: &TestApp, s: &Session, body: Value) -> (StatusCode, Value) {
    call(app, s, Method::POST, "/api/v1/destinations", Some(body)).await
}

#[tokio::test]
async fn a_destination_is_probed_before_it_is_saved_and_never_shows_its_credentials() {
    let app = app_with(|c| c.transcription.auto = false).await;
    let owner = app.register("owner@example.com", "Acme").await;
    let prefix = format!("dst-{}", uuid::Uuid::new_v4().simple());
    let body = destination_body(&prefix).await;

    // A bucket that does not exist: the probe write fails, a clear 422, nothing saved.
    let mut missing = body.clone();
    missing["bucket"] = json!(format!("missing-{}", &prefix[4..20]));
    let (status, v) = add(&app, &owner, missing).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.to_string().contains("probe write"), "{v}");
    // Bad names and missing keys are refused before any request.
    for (field, value) in [
        ("bucket", json!("Not_A_Bucket")),
        ("prefix", json!("../up")),
        ("region", json!("US East")),
    ] {
        let mut bad = body.clone();
        bad[field] = value;
        let (status, v) = add(&app, &owner, bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {v}");
        assert!(v.to_string().contains(field), "{v}");
    }
    let (_, list) = call(&app, &owner, Method::GET, "/api/v1/destinations", None).await;
    assert_eq!(list["destinations"], json!([]));

    let (status, created) = add(&app, &owner, body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["access_key_hint"], "…1234");
    let id = created["id"].as_str().unwrap().to_owned();
    let (_, one) = call(
        &app,
        &owner,
        Method::GET,
        &format!("/api/v1/destinations/{id}"),
        None,
    )
    .await;
    let (_, list) = call(&app, &owner, Method::GET, "/api/v1/destinations", None).await;
    for text in [created.to_string(), one.to_string(), list.to_string()] {
        assert!(
            !text.contains("destination-secret-value") && !text.contains("AKIADESTINATION"),
            "{text}"
        );
    }
    // The probe object is gone: the prefix holds nothing.
    let listing = reqwest::get(format!(
        "{}{}?list-type=2&prefix={prefix}",
        services::s3_endpoint(),
        body["bucket"].as_str().unwrap()
    ))
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    assert!(!listing.contains("<Key>"), "{listing}");
    // Nor an upload in progress: the probe was a multipart upload, aborted.
    let uploads: Vec<String> = crate::destinations_stream::uploads_in_progress(
        services::s3_endpoint().as_str(),
        body["bucket"].as_str().unwrap(),
    )
    .await
    .into_iter()
    .filter(|k| k.starts_with(&format!("{prefix}/")))
    .collect();
    assert!(uploads.is_empty(), "{uploads:?}");

    // Default on, then off; delete.
    let (status, v) = call(
        &app,
        &owner,
        Method::PATCH,
        &format!("/api/v1/destinations/{id}"),
        Some(json!({"is_default": true})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["is_default"], true);
    let (status, _) = call(
        &app,
        &owner,
        Method::DELETE,
        &format!("/api/v1/destinations/{id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(
        &app,
        &owner,
        Method::GET,
        &format!("/api/v1/destinations/{id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_endpoint_that_points_inside_is_refused_unless_the_operator_allows_it() {
    // No allow-list: the loopback S3 server is an internal address like any other.
    let app = TestApp::spawn_with(|_| {}).await;
    let owner = app.register("owner@example.com", "Acme").await;
    let prefix = format!("dst-{}", uuid::Uuid::new_v4().simple());
    let body = destination_body(&prefix).await;
    let (status, v) = add(&app, &owner, body.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.to_string().contains("endpoint"), "{v}");
    for endpoint in [
        "http://169.254.169.254",
        "https://10.0.0.5",
        "https://[::1]:9000",
        "https://user:pw@s3.example.com",
    ] {
        let mut bad = body.clone();
        bad["endpoint"] = json!(endpoint);
        let (status, v) = add(&app, &owner, bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{endpoint}: {v}");
    }
    let (_, list) = call(&app, &owner, Method::GET, "/api/v1/destinations", None).await;
    assert_eq!(list["destinations"], json!([]));
}

#[tokio::test]
async fn a_delivered_meeting_lands_in_the_bucket_byte_for_byte_and_is_announced() {
    let app = app_with(|c| c.transcription.auto = false).await;
    let owner = app.register("owner@example.com", "Acme").await;
    let receiver = Receiver::start().await;
    create(
        &app,
        &owner,
        json!({"url": receiver.url("/files"), "event_types": ["recording.files_ready"]}),
    )
    .await;
    let prefix = format!("dst-{}", uuid::Uuid::new_v4().simple());
    let body = destination_body(&prefix).await;
    let bucket = body["bucket"].as_str().unwrap().to_owned();
    let (status, dest) = add(&app, &owner, body).await;
    assert_eq!(status, StatusCode::CREATED, "{dest}");

    let meeting = new_meeting(&app, &owner, "Board").await;
    // No destination named and no default: a clear 422.
    let (status, v) = call(
        &app,
        &owner,
        Method::POST,
        &format!("/api/v1/meetings/{meeting}/deliver"),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let wav = meetvault_test_support::media::wav_with_payload(&vec![7u8; 300_000]);
    upload_wav(&app, &owner, &meeting, &wav).await;
    let segments = json!({"segments": [{"start_ms": 0, "end_ms": 1800, "speaker": "Ada", "text": "Ship it on Friday."}]});
    let (status, _) = call(
        &app,
        &owner,
        Method::POST,
        &format!("/api/v1/meetings/{meeting}/transcript"),
        Some(segments),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, queued) = call(
        &app,
        &owner,
        Method::POST,
        &format!("/api/v1/meetings/{meeting}/deliver"),
        Some(json!({"destination_id": dest["id"]})),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{queued}");
    assert!(queued["job_id"].as_str().unwrap().starts_with("job_"));

    let got = receiver.wait_for(1, WAIT).await;
    let ready = got[0].json();
    assert_eq!(ready["type"], "recording.files_ready");
    assert_eq!(ready["data"]["bucket"], bucket.as_str());
    let files = ready["data"]["files"].as_array().unwrap();
    assert_eq!(files.len(), 2, "{ready:#}");
    assert_eq!(files[0]["kind"], "recording");
    // The transcript too: the JSON export, its text as imported.
    assert_eq!(files[1]["kind"], "transcript");
    assert!(files[1]["recording_id"].is_null());
    let transcript_key = files[1]["key"].as_str().unwrap();
    assert_eq!(
        transcript_key,
        format!("{prefix}/meetings/{meeting}/transcript.json")
    );
    let reader = bucket_reader().await;
    let object = meetvault_store::BlobKey::parse(transcript_key).unwrap();
    let size = reader.head(&object).await.unwrap().size;
    let transcript: Value =
        serde_json::from_slice(&reader.get_range(&object, 0..size).await.unwrap()).unwrap();
    assert_eq!(transcript["title"], "Board");
    assert_eq!(transcript["segments"][0]["text"], "Ship it on Friday.");
    assert_eq!(transcript["segments"][0]["speaker"], "Ada");
    let key = files[0]["key"].as_str().unwrap();
    assert!(
        key.starts_with(&format!("{prefix}/meetings/{meeting}/recordings/rec_"))
            && key.ends_with(".wav"),
        "{key}"
    );
    assert_eq!(files[0]["size"], wav.len());
    let reader = bucket_reader().await;
    let object = meetvault_store::BlobKey::parse(key).unwrap();
    let size = reader.head(&object).await.unwrap().size;
    let bytes = reader.get_range(&object, 0..size).await.unwrap();
    assert!(
        bytes.as_ref() == wav.as_slice(),
        "the bucket holds other bytes"
    );
    use sha2::Digest as _;
    assert_eq!(
        files[0]["sha256"],
        hex::encode(sha2::Sha256::digest(&bytes))
    );
    tokio::time::sleep(Duration::from_millis(10)).await;
}

#[tokio::test]
async fn with_an_age_recipient_the_bucket_holds_only_ciphertext_that_age_decrypts() {
    let app = app_with(|c| c.transcription.auto = false).await;
    let owner = app.register("owner@example.com", "Acme").await;
    let receiver = Receiver::start().await;
    create(
        &app,
        &owner,
        json!({"url": receiver.url("/files"), "event_types": ["recording.files_ready"]}),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let identity = dir.path().join("key.txt");
    let made = std::process::Command::new("age-keygen")
        .arg("-o")
        .arg(&identity)
        .output();
    let made =
        made.expect("`age-keygen` is not installed: Debian's `age` package (scripts/deps.sh)");
    assert!(made.status.success());
    let public = std::process::Command::new("age-keygen")
        .arg("-y")
        .arg(&identity)
        .output()
        .unwrap();
    let recipient = String::from_utf8(public.stdout).unwrap().trim().to_owned();

    let prefix = format!("dst-{}", uuid::Uuid::new_v4().simple());
    let mut body = destination_body(&prefix).await;
    body["age_recipient"] = json!("age1notarecipient");
    let (status, v) = add(&app, &owner, body.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.to_string().contains("age_recipient"), "{v}");
    body["age_recipient"] = json!(recipient);
    body["is_default"] = json!(true);
    let (status, dest) = add(&app, &owner, body).await;
    assert_eq!(status, StatusCode::CREATED, "{dest}");
    assert_eq!(dest["age_recipient"], recipient.as_str());

    let meeting = new_meeting(&app, &owner, "Board").await;
    let wav = meetvault_test_support::media::wav_with_payload(&vec![3u8; 200_001]);
    upload_wav(&app, &owner, &meeting, &wav).await;
    // The org's default destination, with no body field.
    let (status, _) = call(
        &app,
        &owner,
        Method::POST,
        &format!("/api/v1/meetings/{meeting}/deliver"),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let got = receiver.wait_for(1, WAIT).await;
    let file = &got[0].json()["data"]["files"][0];
    let key = file["key"].as_str().unwrap();
    assert!(key.ends_with(".wav.age"), "{key}");
    assert_eq!(file["age_encrypted"], true);

    let reader = bucket_reader().await;
    let object = meetvault_store::BlobKey::parse(key).unwrap();
    let size = reader.head(&object).await.unwrap().size;
    let sealed = reader.get_range(&object, 0..size).await.unwrap();
    assert!(sealed.starts_with(b"age-encryption.org/v1\n"));
    assert!(
        !sealed.windows(16).any(|w| w == [3u8; 16]),
        "plaintext in the bucket"
    );
    use sha2::Digest as _;
    assert_eq!(file["sha256"], hex::encode(sha2::Sha256::digest(&sealed)));
    assert_eq!(file["size"], sealed.len());
    let path = dir.path().join("rec.wav.age");
    std::fs::write(&path, &sealed).unwrap();
    let out = std::process::Command::new("age")
        .arg("--decrypt")
        .arg("-i")
        .arg(&identity)
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout == wav, "age decrypted something else");
}

#[tokio::test]
async fn a_bots_recordings_go_to_its_own_destination_when_it_ends() {
    use crate::bot_protocol::{
        app_with_bots, pcm_second, post_audio, report, report_code, token_of,
    };
    use crate::bots::{bot_body, send_bot, wait_bot};
    let dir = tempfile::tempdir().unwrap();
    let app = app_with_bots(dir.path(), "hold", |c| {
        c.outbound.allow_hosts = vec!["127.0.0.1/32".into()];
        c.webhooks.poll_ms = 50;
        c.transcription.auto = false;
    })
    .await;
    let owner = app.register("owner@example.com", "Acme").await;
    let receiver = Receiver::start().await;
    create(
        &app,
        &owner,
        json!({"url": receiver.url("/files"), "event_types": ["recording.files_ready"]}),
    )
    .await;
    let prefix = format!("dst-{}", uuid::Uuid::new_v4().simple());
    let mut body = destination_body(&prefix).await;
    body["is_default"] = json!(true);
    let (status, default) = add(&app, &owner, body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{default}");
    // The bot names its own destination, which beats the org's default.
    body["is_default"] = json!(false);
    body["name"] = json!("This bot's");
    let (status, dest) = add(&app, &owner, body).await;
    assert_eq!(status, StatusCode::CREATED, "{dest}");

    let cred = Cred::Session(owner.clone());
    let mut new_bot = bot_body("https://meet.google.com/dst-bots-end");
    new_bot["destination_id"] = json!("dst_0192f1c4a6e87c3d9b5e2f1a0c4d6e8f");
    let r = app
        .send(&cred, Method::POST, "/api/v1/bots", Some(new_bot.clone()))
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    new_bot["destination_id"] = dest["id"].clone();
    let bot = send_bot(&app, &cred, new_bot).await;
    let id = bot["id"].as_str().unwrap().to_owned();
    let token = token_of(dir.path(), &id).await;
    for state in ["joining", "waiting_room", "joined", "recording"] {
        assert_eq!(
            report(&app, &token, &id, state).await,
            StatusCode::NO_CONTENT,
            "{state}"
        );
    }
    for (seq, seed) in [(0, 3), (1, 4)] {
        let query = format!("track=1-0-0&seq={seq}&start_ms={}", seq * 1000);
        assert_eq!(
            post_audio(&app, &token, &id, &query, pcm_second(seed)).await,
            StatusCode::CREATED
        );
    }
    assert_eq!(
        report_code(&app, &token, &id, "ended", Some("meeting_ended")).await,
        StatusCode::NO_CONTENT
    );
    wait_bot(&app, &cred, &id, |v| v["state"] == "ended").await;

    let got = receiver.wait_for(1, WAIT).await;
    let ready = got[0].json();
    assert_eq!(ready["data"]["meeting_id"], bot["meeting_id"]);
    assert_eq!(ready["data"]["destination_id"], dest["id"]);
    let file = &ready["data"]["files"][0];
    assert_eq!(file["kind"], "recording");
    let key = meetvault_store::BlobKey::parse(file["key"].as_str().unwrap()).unwrap();
    let reader = bucket_reader().await;
    let size = reader.head(&key).await.unwrap().size;
    assert_eq!(file["size"], size);
    let bytes = reader.get_range(&key, 0..size).await.unwrap();
    assert!(bytes.starts_with(b"RIFF"), "not a WAV");
}

#[tokio::test]
async fn a_workspaces_default_destination_comes_before_the_orgs() {
    let app = app_with(|c| c.transcription.auto = false).await;
    let owner = app.register("owner@example.com", "Acme").await;
    let receiver = Receiver::start().await;
    create(
        &app,
        &owner,
        json!({"url": receiver.url("/files"), "event_types": ["recording.files_ready"]}),
    )
    .await;
    let (status, ws) = call(
        &app,
        &owner,
        Method::POST,
        "/api/v1/workspaces",
        Some(json!({"name": "Sales"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{ws}");
    let prefix = format!("dst-{}", uuid::Uuid::new_v4().simple());
    let mut body = destination_body(&prefix).await;
    body["is_default"] = json!(true);
    let (_, org_default) = add(&app, &owner, body.clone()).await;
    body["workspace_id"] = ws["id"].clone();
    body["name"] = json!("Sales archive");
    let (status, sales_default) = add(&app, &owner, body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{sales_default}");
    assert_eq!(sales_default["workspace_id"], ws["id"]);
    // A workspace default does not end the org's.
    let (_, org_again) = call(
        &app,
        &owner,
        Method::GET,
        &format!(
            "/api/v1/destinations/{}",
            org_default["id"].as_str().unwrap()
        ),
        None,
    )
    .await;
    assert_eq!(org_again["is_default"], true);
    body["workspace_id"] = json!("wsp_0192f1c4a6e87c3d9b5e2f1a0c4d6e8f");
    let (status, v) = add(&app, &owner, body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");

    let wav = meetvault_test_support::media::wav_with_payload(&[9u8; 1000]);
    for (workspace, expected) in [
        (ws["id"].clone(), &sales_default),
        (Value::Null, &org_default),
    ] {
        let (status, m) = call(
            &app,
            &owner,
            Method::POST,
            "/api/v1/meetings",
            Some(json!({"title": "Call", "workspace_id": workspace})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{m}");
        let meeting = m["id"].as_str().unwrap().to_owned();
        upload_wav(&app, &owner, &meeting, &wav).await;
        let before = receiver.received().len();
        let (status, _) = call(
            &app,
            &owner,
            Method::POST,
            &format!("/api/v1/meetings/{meeting}/deliver"),
            Some(json!({})),
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED);
        let got = receiver.wait_for(before + 1, WAIT).await;
        let ready = got[before].json();
        assert_eq!(ready["data"]["meeting_id"], meeting.as_str());
        assert_eq!(ready["data"]["destination_id"], expected["id"], "{ready:#}");
    }
}
