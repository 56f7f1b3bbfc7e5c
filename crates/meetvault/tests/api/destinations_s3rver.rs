//! The customer's bucket on a second, independent S3 implementation (s3rver, Node, from npm:
//! `scripts/s3rver.sh`), which knows its access keys (it does not check SigV4 signatures, so
//! an unknown key id is what it refuses): wrong credentials are refused at creation with a
//! clear 422 that does not repeat them; a recording larger than a multipart part is delivered whole; a
//! server that is down when the delivery runs makes the durable job retry until it is back; a
//! server killed while a bot streams to it costs nothing: the bot records on and shows the
//! failure, the same upload resumes when the server is back, and completes into the recording.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use meetvault_test_support::receiver::Receiver;
use meetvault_test_support::{Session, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::destinations::upload_wav;
use crate::webhooks::{WAIT, app_with, call, create, new_meeting};

const BUCKET: &str = "acme-archive";

/// s3rver on a loopback port of its own, with its data in `dir` (killed when dropped).
struct S3rver {
    child: Child,
    port: u16,
    dir: std::path::PathBuf,
}

impl Drop for S3rver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl S3rver {
    async fn start(dir: &std::path::Path, port: Option<u16>) -> Self {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let out = Command::new("bash")
            .arg(root.join("scripts/s3rver.sh"))
            .output()
            .expect("running scripts/s3rver.sh");
        assert!(
            out.status.success(),
            "s3rver could not be installed (scripts/s3rver.sh needs npm): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let bin = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        let port = port.unwrap_or_else(|| {
            TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        });
        let mut child = Command::new("node")
            .arg(&bin)
            .args(["-d"])
            .arg(dir)
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "--no-vhost-buckets",
                "-s",
            ])
            .args(["--configure-bucket", BUCKET])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting s3rver");
        for _ in 0..300 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Self {
                    child,
                    port,
                    dir: dir.to_owned(),
                };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("s3rver did not listen on 127.0.0.1:{port} within 15 s");
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn reader(&self) -> meetvault_store::BlobStore {
        crate::destinations_stream::bucket_as(BUCKET, &self.endpoint(), "S3RVER", "S3RVER")
    }
}

fn body(s3: &S3rver, key_id: &str, secret: &str) -> Value {
    json!({
        "name": "Acme on s3rver",
        "endpoint": s3.endpoint(),
        "bucket": BUCKET,
        "prefix": "meetvault",
        "path_style": true,
        "access_key_id": key_id,
        "secret_access_key": secret,
    })
}

async fn add(app: &TestApp, s: &Session, body: Value) -> (StatusCode, Value) {
    call(app, s, Method::POST, "/api/v1/destinations", Some(body)).await
}

#[tokio::test]
async fn wrong_credentials_are_refused_and_a_multipart_delivery_arrives_whole() {
    let dir = tempfile::tempdir().unwrap();
    let s3 = S3rver::start(dir.path(), None).await;
    let app = app_with(|c| c.transcription.auto = false).await;
    let owner = app.register("owner@example.com", "Acme").await;
    let receiver = Receiver::start().await;
    create(
        &app,
        &owner,
        json!({"url": receiver.url("/files"), "event_types": ["recording.files_ready"]}),
    )
    .await;

    let (status, v) = add(&app, &owner, body(&s3, "AKIANOSUCHKEY", "not-the-secret")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let text = v.to_string();
    assert!(text.contains("probe write"), "{text}");
    assert!(
        !text.contains("not-the-secret"),
        "the secret came back: {text}"
    );

    let (status, dest) = add(&app, &owner, body(&s3, "S3RVER", "S3RVER")).await;
    assert_eq!(status, StatusCode::CREATED, "{dest}");
    let meeting = new_meeting(&app, &owner, "Long one").await;
    // Larger than one 8 MiB part: a multipart upload.
    let payload: Vec<u8> = (0..9_500_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let wav = meetvault_test_support::media::wav_with_payload(&payload);
    upload_wav(&app, &owner, &meeting, &wav).await;
    let (status, _) = call(
        &app,
        &owner,
        Method::POST,
        &format!("/api/v1/meetings/{meeting}/deliver"),
        Some(json!({"destination_id": dest["id"]})),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let got = receiver.wait_for(1, Duration::from_secs(60)).await;
    let file = &got[0].json()["data"]["files"][0];
    let key = meetvault_store::BlobKey::parse(file["key"].as_str().unwrap()).unwrap();
    let reader = s3.reader();
    let size = reader.head(&key).await.unwrap().size;
    assert_eq!(size as usize, wav.len());
    let bytes = reader.get_range(&key, 0..size).await.unwrap();
    assert!(bytes.as_ref() == wav.as_slice(), "s3rver holds other bytes");
    use sha2::Digest as _;
    assert_eq!(file["sha256"], hex::encode(sha2::Sha256::digest(&bytes)));
}

#[tokio::test]
async fn a_delivery_while_the_bucket_is_down_is_retried_until_it_is_back() {
    let dir = tempfile::tempdir().unwrap();
    let s3 = S3rver::start(dir.path(), None).await;
    let app = app_with(|c| {
        c.transcription.auto = false;
        c.jobs.backoff_base_secs = 1;
        c.jobs.backoff_max_secs = 2;
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
    let (status, dest) = add(&app, &owner, body(&s3, "S3RVER", "S3RVER")).await;
    assert_eq!(status, StatusCode::CREATED, "{dest}");
    let meeting = new_meeting(&app, &owner, "Board").await;
    let wav = meetvault_test_support::media::wav_with_payload(&vec![5u8; 100_000]);
    upload_wav(&app, &owner, &meeting, &wav).await;

    // The server goes away; the delivery fails and waits for its retry.
    let (port, data) = (s3.port, s3.dir.clone());
    drop(s3);
    let (status, queued) = call(
        &app,
        &owner,
        Method::POST,
        &format!("/api/v1/meetings/{meeting}/deliver"),
        Some(json!({"destination_id": dest["id"]})),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let job = queued["job_id"].as_str().unwrap().to_owned();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (_, j) = call(
            &app,
            &owner,
            Method::GET,
            &format!("/api/v1/jobs/{job}"),
            None,
        )
        .await;
        if j["attempts"].as_i64().unwrap_or(0) >= 1 && j["error"].is_string() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the delivery never failed: {j:#}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(receiver.received().is_empty());
    // Back on the same port with the same data: the retry delivers.
    let s3 = S3rver::start(&data, Some(port)).await;
    let got = receiver.wait_for(1, Duration::from_secs(60)).await;
    let key = got[0].json()["data"]["files"][0]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let reader = s3.reader();
    let key = meetvault_store::BlobKey::parse(&key).unwrap();
    let size = reader.head(&key).await.unwrap().size;
    assert!(reader.get_range(&key, 0..size).await.unwrap().as_ref() == wav.as_slice());
}

#[tokio::test]
async fn a_server_killed_while_a_bot_streams_to_it_loses_nothing_and_the_file_arrives_whole() {
    use crate::destinations_stream::recording_bot;
    let dir = tempfile::tempdir().unwrap();
    let s3 = S3rver::start(dir.path(), None).await;
    let keep = json!({"recording": {"keep_local_copy": true}});
    let (m, _) = recording_bot(body(&s3, "S3RVER", "S3RVER"), keep).await;
    m.send(&m.app, "1-0-0", 1, 0..70, 0).await;
    let up = m.upload_when("1-0-0", |u| u["parts"] == 1).await;
    assert!(up["error"].is_null(), "{up}");

    // Killed mid-meeting: every chunk is still stored, the failure shows on the bot.
    let (port, data) = (s3.port, s3.dir.clone());
    drop(s3);
    m.send(&m.app, "1-0-0", 1, 70..140, 0).await;
    let up = m.upload_when("1-0-0", |u| u["error"].is_string()).await;
    assert_eq!(up["parts"], 1, "{up}");
    assert_eq!(up["state"], "open");

    // Back on the same port and data; the next chunks after the retry pause carry on.
    let s3 = S3rver::start(&data, Some(port)).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut seq = 140;
    let up = loop {
        m.send(&m.app, "1-0-0", 1, seq..seq + 1, 0).await;
        seq += 1;
        let v = crate::bots::wait_bot(&m.app, &m.cred, &m.id, |_| true).await;
        let up = v["uploads"][0].clone();
        if up["error"].is_null() || up["state"] != "open" {
            break up;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never resumed: {up}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    // s3rver keeps an upload's parts on disk: the same upload resumed.
    assert_eq!(up["state"], "open", "{up}");
    assert!(up["parts"].as_u64().unwrap() >= 2, "{up}");
    let files = m.end().await;
    let file = &files[0];
    let key = meetvault_store::BlobKey::parse(file["key"].as_str().unwrap()).unwrap();
    let reader = s3.reader();
    let size = reader.head(&key).await.unwrap().size;
    let bytes = reader.get_range(&key, 0..size).await.unwrap();
    let rid = file["recording_id"].as_str().unwrap();
    assert!(
        bytes.as_ref() == m.recording(rid).await.as_slice(),
        "s3rver holds other bytes"
    );
    use sha2::Digest as _;
    assert_eq!(file["sha256"], hex::encode(sha2::Sha256::digest(&bytes)));
    let v = crate::bots::wait_bot(&m.app, &m.cred, &m.id, |_| true).await;
    assert_eq!(v["uploads"][0]["state"], "completed", "{v:#}");
    assert_eq!(v["uploads"][0]["key"], file["key"]);
}
