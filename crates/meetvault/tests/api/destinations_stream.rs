//! A bot's tracks stream into the customer's bucket while it records (moto on loopback): a part
//! leaves as soon as a part of audio is stored past what was sent, the bot shows it, an
//! instance that takes over resumes the same upload, and when the meeting ends the upload
//! completes into exactly the recording's file (age-encrypted too) and is announced; a
//! participant who opts out has theirs aborted; a bucket that disappears mid-meeting is
//! reported on the bot, which records on, and what could not be streamed is delivered whole
//! once the bucket is back; and on a moto of its own with signatures checked, a wrong secret
//! is refused and the signed listing of uploads in progress finds what a crash left.

use std::time::Duration;

use meetvault_test_support::receiver::Receiver;
use meetvault_test_support::{Cred, Session, TestApp, services};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::Digest as _;

use crate::bot_protocol::{app_with_bots, post_audio, report, report_code, token_of};
use crate::bots::{bot_body, send_bot, wait_bot};
use crate::webhooks::{call, create};

/// A part of a streamed file (the server's; S3's minimum).
pub(crate) const PART: usize = 5 << 20;
/// Seconds of audio per chunk the stand-in bot sends (160 kB of 16 kHz PCM).
pub(crate) const CHUNK_SECS: i64 = 5;

/// Five seconds of a track's PCM, different for every (seed, seq).
pub(crate) fn pcm(seed: u32, seq: i64) -> Vec<u8> {
    (0..16_000 * CHUNK_SECS as u32)
        .flat_map(|i| {
            let x = i
                .wrapping_add(seq as u32 * 80_000)
                .wrapping_mul(2_654_435_761)
                .wrapping_add(seed);
            ((x >> 16) as i16).to_le_bytes()
        })
        .collect()
}

pub(crate) struct Meeting {
    pub(crate) app: TestApp,
    pub(crate) owner: Session,
    pub(crate) cred: Cred,
    pub(crate) receiver: Receiver,
    pub(crate) bot: Value,
    pub(crate) id: String,
    pub(crate) token: String,
    _dir: tempfile::TempDir,
}

/// A bot recording, with `dest` (a destination body) as the org's default and a webhook
/// receiving `recording.files_ready`.
pub(crate) async fn recording_bot(dest: Value, bot_extra: Value) -> (Meeting, Value) {
    recording_bot_with(dest, bot_extra, |_| {}).await
}

/// [`recording_bot`] with `adjust` applied to the configuration last.
pub(crate) async fn recording_bot_with(
    dest: Value,
    bot_extra: Value,
    adjust: impl FnOnce(&mut meetvault_config::Config),
) -> (Meeting, Value) {
    let dir = tempfile::tempdir().unwrap();
    let app = app_with_bots(dir.path(), "hold", |c| {
        c.outbound.allow_hosts = vec!["127.0.0.1/32".into()];
        c.webhooks.poll_ms = 50;
        c.transcription.auto = false;
        c.jobs.backoff_base_secs = 1;
        c.jobs.backoff_max_secs = 2;
        adjust(c);
    })
    .await;
    let owner = app.register("owner@example.com", "Acme").await;
    let cred = Cred::Session(owner.clone());
    let receiver = Receiver::start().await;
    create(
        &app,
        &owner,
        json!({"url": receiver.url("/files"), "event_types": ["recording.files_ready"]}),
    )
    .await;
    let mut body = dest;
    body["is_default"] = json!(true);
    let (status, dest) = call(
        &app,
        &owner,
        Method::POST,
        "/api/v1/destinations",
        Some(body),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{dest}");
    let mut new_bot = bot_body("https://meet.google.com/dst-strm-abc");
    for (k, v) in bot_extra.as_object().unwrap() {
        new_bot[k] = v.clone();
    }
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
    let m = Meeting {
        app,
        owner,
        cred,
        receiver,
        bot,
        id,
        token,
        _dir: dir,
    };
    (m, dest)
}

impl Meeting {
    /// Sends chunks `seqs` of `track` (seed `seed`), each at `seq * 5 s` plus `shift_ms`.
    pub(crate) async fn send(
        &self,
        app: &TestApp,
        track: &str,
        seed: u32,
        seqs: std::ops::Range<i64>,
        shift_ms: i64,
    ) {
        for seq in seqs {
            let q = format!(
                "track={track}&seq={seq}&start_ms={}",
                seq * CHUNK_SECS * 1000 + shift_ms
            );
            assert_eq!(
                post_audio(app, &self.token, &self.id, &q, pcm(seed, seq)).await,
                StatusCode::CREATED,
                "chunk {seq} of {track}"
            );
        }
    }

    /// A second instance of the installation takes over; this one stops.
    pub(crate) async fn take_over(&mut self) {
        let second = self.app.spawn_sibling(|_| {}).await;
        let first = std::mem::replace(&mut self.app, second);
        first.shutdown().await.unwrap();
    }

    /// The bot once its upload of `track` satisfies `pred`.
    pub(crate) async fn upload_when(&self, track: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let v = wait_bot(&self.app, &self.cred, &self.id, |v| {
            v["uploads"]
                .as_array()
                .unwrap()
                .iter()
                .any(|u| u["track"] == track && pred(u))
        })
        .await;
        v["uploads"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["track"] == track)
            .unwrap()
            .clone()
    }

    pub(crate) async fn end(&self) -> Vec<Value> {
        assert_eq!(
            report_code(
                &self.app,
                &self.token,
                &self.id,
                "ended",
                Some("meeting_ended")
            )
            .await,
            StatusCode::NO_CONTENT
        );
        wait_bot(&self.app, &self.cred, &self.id, |v| v["state"] == "ended").await;
        let got = self.receiver.wait_for(1, Duration::from_secs(120)).await;
        got[0].json()["data"]["files"].as_array().unwrap().clone()
    }

    /// The meeting's recording `rid`, downloaded as its owner would.
    pub(crate) async fn recording(&self, rid: &str) -> Vec<u8> {
        let r = self
            .app
            .send(
                &self.cred,
                Method::GET,
                &format!(
                    "/api/v1/meetings/{}/recordings/{rid}",
                    self.bot["meeting_id"].as_str().unwrap()
                ),
                None,
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        r.bytes().await.unwrap().to_vec()
    }
}

pub(crate) async fn moto_destination(bucket: &str) -> Value {
    let s3 = services::s3_config("").await;
    let endpoint = s3.endpoint.unwrap();
    let r = reqwest::Client::new()
        .put(endpoint.join(bucket).unwrap())
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_success(),
        "creating bucket {bucket}: {}",
        r.status()
    );
    json!({
        "name": "Acme archive",
        "endpoint": endpoint.as_str(),
        "bucket": bucket,
        "prefix": "calls",
        "path_style": true,
        "access_key_id": "AKIADESTINATION1234",
        "secret_access_key": "destination-secret-value-do-not-show",
    })
}

/// `bucket` at `endpoint` (path-style), read with `key:secret` as its owner would.
pub(crate) fn bucket_as(
    bucket: &str,
    endpoint: &str,
    key: &str,
    secret: &str,
) -> meetvault_store::BlobStore {
    meetvault_store::BlobStore::s3(
        &meetvault_config::S3Config {
            bucket: bucket.into(),
            endpoint: Some(endpoint.parse().unwrap()),
            region: "us-east-1".into(),
            prefix: String::new(),
            access_key_id: Some(meetvault_config::Secret::new(key)),
            secret_access_key: Some(meetvault_config::Secret::new(secret)),
            path_style: true,
            allow_http: true,
        },
        8 << 20,
    )
    .unwrap()
}

pub(crate) fn reader(bucket: &str, endpoint: &str) -> meetvault_store::BlobStore {
    bucket_as(bucket, endpoint, "testing", "testing")
}

pub(crate) async fn object(store: &meetvault_store::BlobStore, key: &str) -> Option<Vec<u8>> {
    let key = meetvault_store::BlobKey::parse(key).unwrap();
    let size = store.head(&key).await.ok()?.size;
    Some(store.get_range(&key, 0..size).await.unwrap().to_vec())
}

pub(crate) fn bucket_name() -> String {
    format!(
        "stream-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

#[tokio::test]
async fn a_track_streams_while_the_bot_records_resumes_on_another_instance_and_completes_as_its_recording()
 {
    let bucket = bucket_name();
    let dest_body = moto_destination(&bucket).await;
    let endpoint = dest_body["endpoint"].as_str().unwrap().to_owned();
    // Its copy here is kept, to compare the bucket's with it.
    let keep = json!({"recording": {"keep_local_copy": true}});
    let (mut m, dest) = recording_bot(dest_body, keep).await;

    // 70 s of a short speaker: below a part, it never streams and is delivered whole.
    m.send(&m.app, "1-0-0", 1, 0..14, 0).await;
    // 12 MiB of a long one (with a 7 s pause): part 2 leaves while the bot records
    // (part 1, with the header, waits for the end).
    m.send(&m.app, "2-0-0", 2, 0..40, 0).await;
    m.send(&m.app, "2-0-0", 2, 40..80, 7_000).await;
    let up = m.upload_when("2-0-0", |u| u["parts"] == 1).await;
    assert_eq!(up["state"], "open");
    assert_eq!(up["bytes_sent"], PART);
    assert_eq!(up["destination_id"], dest["id"]);
    assert!(up["error"].is_null(), "{up}");
    let key = up["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with(&format!(
        "calls/meetings/{}/recordings/rec_",
        m.bot["meeting_id"].as_str().unwrap()
    )));
    let store = reader(&bucket, &endpoint);
    assert!(
        object(&store, &key).await.is_none(),
        "an unfinished upload is no object yet"
    );

    // Another instance takes over (this one stops): it resumes the same upload where the
    // database says it stopped.
    m.take_over().await;
    m.send(&m.app, "2-0-0", 2, 80..120, 7_000).await;
    let up = m.upload_when("2-0-0", |u| u["parts"] == 2).await;
    assert_eq!(up["key"], key.as_str(), "a second upload was started");
    assert_eq!(up["bytes_sent"], 2 * PART);

    // An upload a crash left at the same key (created in the bucket, its id never written
    // down): found by listing the bucket's uploads in progress and aborted with ours done.
    let orphan = store
        .create_multipart(&meetvault_store::BlobKey::parse(&key).unwrap())
        .await
        .unwrap();
    assert!(!orphan.is_empty());
    assert_eq!(uploads_in_progress(&endpoint, &bucket).await.len(), 2);

    crate::bot_reports::send_events(
        &m.app,
        &m.token,
        &m.id,
        &[json!({"type": "chat_message", "id": "c-1", "sender": "Carol", "sender_id": "p3", "text": "Budget approved <b>&</b>"})],
    )
    .await;

    let files = m.end().await;
    assert_eq!(files.len(), 3, "{files:#?}");
    assert!(
        uploads_in_progress(&endpoint, &bucket).await.is_empty(),
        "an upload was left in progress"
    );
    // The chat, beside the recordings.
    let chat = files.iter().find(|f| f["kind"] == "chat").unwrap();
    let meeting = m.bot["meeting_id"].as_str().unwrap();
    assert_eq!(chat["key"], format!("calls/meetings/{meeting}/chat.json"));
    let stored = object(&store, chat["key"].as_str().unwrap()).await.unwrap();
    assert_eq!(chat["sha256"], hex::encode(sha2::Sha256::digest(&stored)));
    let v: Value = serde_json::from_slice(&stored).unwrap();
    assert_eq!(v["meeting_id"], meeting);
    assert_eq!(v["bot_id"], m.id.as_str());
    assert_eq!(v["messages"][0]["text"], "Budget approved <b>&</b>");
    assert_eq!(v["messages"][0]["sender"], "Carol");
    let files: Vec<Value> = files
        .into_iter()
        .filter(|f| f["kind"] == "recording")
        .collect();
    assert_eq!(files.len(), 2, "{files:#?}");
    for file in &files {
        assert_eq!(file["kind"], "recording");
        let rid = file["recording_id"].as_str().unwrap();
        let recording = m.recording(rid).await;
        let stored = object(&store, file["key"].as_str().unwrap()).await.unwrap();
        assert!(
            stored == recording,
            "the bucket holds other bytes than {rid}"
        );
        assert_eq!(file["size"], stored.len());
        assert_eq!(file["sha256"], hex::encode(sha2::Sha256::digest(&stored)));
    }
    let streamed = files.iter().find(|f| f["key"] == key.as_str()).unwrap();
    assert!(streamed["size"].as_u64().unwrap() > 3 * PART as u64);
    let up = m.upload_when("2-0-0", |u| u["state"] == "completed").await;
    assert_eq!(up["parts"], 2);
    let v = wait_bot(&m.app, &m.cred, &m.id, |_| true).await;
    assert_eq!(
        v["uploads"].as_array().unwrap().len(),
        1,
        "the short track never needed an upload: {v:#}"
    );
}

/// The keys of the multipart uploads in progress in `bucket` (moto answers unsigned requests).
pub(crate) async fn uploads_in_progress(endpoint: &str, bucket: &str) -> Vec<String> {
    let r = reqwest::Client::new()
        .get(format!(
            "{}/{bucket}?uploads",
            endpoint.trim_end_matches('/')
        ))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let xml = r.text().await.unwrap();
    xml.split("<Key>")
        .skip(1)
        .filter_map(|s| s.split("</Key>").next())
        .map(str::to_owned)
        .collect()
}

/// A fresh age identity: (its directory, the identity file, its `age1…` recipient).
fn age_identity() -> (tempfile::TempDir, std::path::PathBuf, String) {
    let dir = tempfile::tempdir().unwrap();
    let identity = dir.path().join("key.txt");
    let made = std::process::Command::new("age-keygen")
        .arg("-o")
        .arg(&identity)
        .output()
        .expect("`age-keygen` is not installed: Debian's `age` package (scripts/deps.sh)");
    assert!(made.status.success());
    let public = std::process::Command::new("age-keygen")
        .arg("-y")
        .arg(&identity)
        .output()
        .unwrap();
    let recipient = String::from_utf8(public.stdout).unwrap().trim().to_owned();
    (dir, identity, recipient)
}

/// `age --decrypt` (Debian's reference tool) of `sealed` with `identity`.
fn age_decrypt(identity: &std::path::Path, sealed: &[u8]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("file.age");
    std::fs::write(&path, sealed).unwrap();
    let out = std::process::Command::new("age")
        .arg("--decrypt")
        .arg("-i")
        .arg(identity)
        .arg(&path)
        .output()
        .expect("`age` is not installed: Debian's `age` package (scripts/deps.sh)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[tokio::test]
async fn an_age_stream_decrypts_with_age_and_a_speaker_who_opts_out_has_their_upload_aborted() {
    use crate::bot_reports::send_events;
    let bucket = bucket_name();
    let (_keys, identity, recipient) = age_identity();
    let mut body = moto_destination(&bucket).await;
    let endpoint = body["endpoint"].as_str().unwrap().to_owned();
    body["age_recipient"] = json!(recipient);
    let keep = json!({"recording": {"keep_local_copy": true}});
    let (m, _) = recording_bot(body, keep).await;
    send_events(
        &m.app,
        &m.token,
        &m.id,
        &[
            json!({"type": "participant_joined", "id": "p1", "name": "Alice Optout"}),
            json!({"type": "participant_joined", "id": "p2", "name": "Bob Stays"}),
            json!({"type": "track_mapped", "track": "1-0-1", "participant_id": "p1"}),
            json!({"type": "track_mapped", "track": "1-0-2", "participant_id": "p2"}),
            json!({"type": "chat_message", "id": "a-1", "sender": "Alice Optout", "sender_id": "p1", "text": "my salary is"}),
            json!({"type": "chat_message", "id": "b-1", "sender": "Bob Stays", "sender_id": "p2", "text": "ship it"}),
        ],
    )
    .await;
    m.send(&m.app, "1-0-1", 1, 0..70, 0).await;
    m.send(&m.app, "1-0-2", 2, 0..75, 0).await;
    let alice = m.upload_when("1-0-1", |u| u["parts"] == 1).await;
    let bob = m.upload_when("1-0-2", |u| u["parts"] == 1).await;
    assert!(
        alice["key"].as_str().unwrap().ends_with(".wav.age"),
        "{alice}"
    );
    // 5 MiB of plaintext is 80 sealed age chunks.
    assert_eq!(bob["bytes_sent"], 80 * (64 * 1024 + 16));
    let mut open = uploads_in_progress(&endpoint, &bucket).await;
    open.sort();
    let mut both = vec![
        alice["key"].as_str().unwrap().to_owned(),
        bob["key"].as_str().unwrap().to_owned(),
    ];
    both.sort();
    assert_eq!(open, both);

    // Alice opts out: her upload is aborted at once, nothing of her stays in the bucket.
    send_events(
        &m.app,
        &m.token,
        &m.id,
        &[json!({"type": "participant_opted_out", "participant_id": "p1"})],
    )
    .await;
    m.upload_when("1-0-1", |u| u["state"] == "aborted").await;
    assert_eq!(
        uploads_in_progress(&endpoint, &bucket).await,
        vec![bob["key"].as_str().unwrap().to_owned()]
    );

    let files = m.end().await;
    assert_eq!(files.len(), 2, "Bob's recording and the chat: {files:#?}");
    let store = reader(&bucket, &endpoint);
    let chat = files.iter().find(|f| f["kind"] == "chat").unwrap();
    assert!(
        chat["key"].as_str().unwrap().ends_with("/chat.json.age"),
        "{chat}"
    );
    let chat = age_decrypt(
        &identity,
        &object(&store, chat["key"].as_str().unwrap()).await.unwrap(),
    );
    let chat: Value = serde_json::from_slice(&chat).unwrap();
    let texts: Vec<&Value> = chat["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["text"])
        .collect();
    assert_eq!(
        texts,
        [&json!("ship it")],
        "what Alice wrote went with her opt-out"
    );
    let file = files.iter().find(|f| f["kind"] == "recording").unwrap();
    assert_eq!(file["key"], bob["key"]);
    assert_eq!(file["age_encrypted"], true);
    let sealed = object(&store, file["key"].as_str().unwrap()).await.unwrap();
    assert_eq!(file["size"], sealed.len());
    assert_eq!(file["sha256"], hex::encode(sha2::Sha256::digest(&sealed)));
    let rid = file["recording_id"].as_str().unwrap();
    assert!(
        age_decrypt(&identity, &sealed) == m.recording(rid).await,
        "age decrypts to other bytes than {rid}"
    );
    assert!(uploads_in_progress(&endpoint, &bucket).await.is_empty());
}

#[tokio::test]
async fn a_bucket_that_disappears_mid_meeting_is_reported_the_bot_records_on_and_the_file_arrives_when_it_is_back()
 {
    let bucket = bucket_name();
    let body = moto_destination(&bucket).await;
    let endpoint = body["endpoint"].as_str().unwrap().to_owned();
    let keep = json!({"recording": {"keep_local_copy": true}});
    let (m, _) = recording_bot(body, keep).await;
    m.send(&m.app, "1-0-0", 1, 0..70, 0).await;
    m.upload_when("1-0-0", |u| u["parts"] == 1).await;

    let bucket_url = format!("{}/{bucket}", endpoint.trim_end_matches('/'));
    let r = reqwest::Client::new()
        .delete(&bucket_url)
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_success(),
        "deleting the bucket: {}",
        r.status()
    );
    // The bot records on (every chunk stored); the failure shows on it.
    m.send(&m.app, "1-0-0", 1, 70..140, 0).await;
    let up = m.upload_when("1-0-0", |u| u["error"].is_string()).await;
    assert_eq!(up["parts"], 1, "{up}");
    assert!(
        !up["error"].as_str().unwrap().contains("destination-secret"),
        "{up}"
    );

    // The meeting ends while the bucket is gone: the upload cannot be finished (aborted) and
    // the whole file waits for the delivery job's retry.
    assert_eq!(
        report_code(&m.app, &m.token, &m.id, "ended", Some("meeting_ended")).await,
        StatusCode::NO_CONTENT
    );
    m.upload_when("1-0-0", |u| u["state"] == "aborted").await;
    assert!(m.receiver.received().is_empty());
    let r = reqwest::Client::new()
        .put(&bucket_url)
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_success(),
        "re-creating the bucket: {}",
        r.status()
    );
    let got = m.receiver.wait_for(1, Duration::from_secs(120)).await;
    let file = &got[0].json()["data"]["files"][0];
    let store = reader(&bucket, &endpoint);
    let stored = object(&store, file["key"].as_str().unwrap()).await.unwrap();
    let rid = file["recording_id"].as_str().unwrap();
    assert!(
        stored == m.recording(rid).await,
        "the bucket holds other bytes than {rid}"
    );
    assert!(stored.len() > 4 * PART);
}

/// The text between `<tag>` and the next `<` in `xml`.
fn xml_value<'a>(xml: &'a str, tag: &str) -> &'a str {
    let open = format!("<{tag}>");
    let start = xml
        .find(&open)
        .unwrap_or_else(|| panic!("no {tag} in {xml}"))
        + open.len();
    let end = start + xml[start..].find('<').unwrap();
    &xml[start..end]
}

#[tokio::test]
async fn with_signatures_checked_a_wrong_secret_is_refused_and_a_signed_listing_finds_what_a_crash_left()
 {
    use meetvault_test_support::services::PrivateMoto;
    // Four free requests: the IAM user, its policy, its key, the bucket; every later request
    // must carry a signature moto recomputes and finds equal.
    let moto = PrivateMoto::start(&[("INITIAL_NO_AUTH_ACTION_COUNT", "4")]).await;
    moto.iam(&[("Action", "CreateUser"), ("UserName", "archive")])
        .await;
    moto.iam(&[
        ("Action", "PutUserPolicy"),
        ("UserName", "archive"),
        ("PolicyName", "s3"),
        (
            "PolicyDocument",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#,
        ),
    ])
    .await;
    let created = moto
        .iam(&[("Action", "CreateAccessKey"), ("UserName", "archive")])
        .await;
    let key_id = xml_value(&created, "AccessKeyId").to_owned();
    let secret = xml_value(&created, "SecretAccessKey").to_owned();
    let bucket = bucket_name();
    let endpoint = moto.endpoint.as_str().to_owned();
    let r = reqwest::Client::new()
        .put(format!("{}{bucket}", endpoint))
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_success(),
        "creating the bucket: {}",
        r.status()
    );
    let body = |secret: &str| {
        json!({
            "name": "Signed archive",
            "endpoint": endpoint,
            "bucket": bucket,
            "prefix": "calls",
            "path_style": true,
            "access_key_id": key_id,
            "secret_access_key": secret,
        })
    };
    let keep = json!({"recording": {"keep_local_copy": true}});
    let (m, _) = recording_bot(body(&secret), keep).await;

    // The right key id with one character of the secret changed: refused, and not repeated.
    let mut wrong = secret.clone();
    let last = wrong.pop().unwrap();
    wrong.push(if last == 'A' { 'B' } else { 'A' });
    let (status, v) = call(
        &m.app,
        &m.owner,
        Method::POST,
        "/api/v1/destinations",
        Some(body(&wrong)),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.to_string().contains("SignatureDoesNotMatch"), "{v}");
    assert!(
        !v.to_string().contains(&wrong) && !v.to_string().contains(&secret),
        "{v}"
    );

    // Streaming, signed; an upload a crash left at the same key; the end lists (signed by
    // meetvault's own SigV4) and aborts it.
    m.send(&m.app, "1-0-0", 1, 0..70, 0).await;
    let up = m.upload_when("1-0-0", |u| u["parts"] == 1).await;
    assert!(up["error"].is_null(), "{up}");
    let owner_view = bucket_as(&bucket, &endpoint, &key_id, &secret);
    let key = meetvault_store::BlobKey::parse(up["key"].as_str().unwrap()).unwrap();
    let orphan = owner_view.create_multipart(&key).await.unwrap();
    let files = m.end().await;
    let stored = object(&owner_view, files[0]["key"].as_str().unwrap())
        .await
        .unwrap();
    let rid = files[0]["recording_id"].as_str().unwrap();
    assert!(
        stored == m.recording(rid).await,
        "the bucket holds other bytes"
    );
    assert!(!orphan.is_empty());
    // boto3 (the AWS SDK, signing with its own code) finds no upload left in progress.
    let python = std::path::PathBuf::from(std::env::var("HOME").unwrap())
        .join(".cache/meetvault-tools/venv/bin/python");
    let out = std::process::Command::new(&python)
        .args([
            "-c",
            "import sys, json, boto3\n\
             s3 = boto3.client('s3', endpoint_url=sys.argv[1], aws_access_key_id=sys.argv[2], \
             aws_secret_access_key=sys.argv[3], region_name='us-east-1')\n\
             print(json.dumps([u['Key'] for u in s3.list_multipart_uploads(Bucket=sys.argv[4]).get('Uploads', [])]))",
            &endpoint,
            &key_id,
            &secret,
            &bucket,
        ])
        .output()
        .expect("the tools virtualenv's python (scripts/deps.sh)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let left: Vec<String> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(left.is_empty(), "uploads left in progress: {left:?}");
}
