//! Encryption at rest, end to end: zero-access content cannot be read with the database, blobs
//! and master key in hand; tampered or swapped ciphertexts fail clearly; a shredded meeting stays
//! unreadable when old copies are restored; org keys move under an org's own KMS key and rotate
//! without re-encrypting content. (The canary scan is in `canary.rs`.)

use meetvault_test_support::{Cred, PASSWORD, Session, TestApp, execute};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::canary::{kms_key, use_kms};
use crate::helpers::meetvault;

async fn meeting_with_transcript(app: &TestApp, cred: &Cred, text: &str) -> String {
    let r = app
        .send(
            cred,
            Method::POST,
            "/api/v1/meetings",
            Some(json!({"title": "Board sync"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let segs = json!({"segments": [{"start_ms": 0, "end_ms": 1000, "speaker": "A", "text": text}, {"start_ms": 1000, "end_ms": 2000, "speaker": "B", "text": "second"}]});
    let r = app
        .send(
            cred,
            Method::POST,
            &format!("/api/v1/meetings/{id}/transcript"),
            Some(segs),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    id
}

async fn transcript(app: &TestApp, cred: &Cred, id: &str) -> (StatusCode, Value) {
    let r = app
        .send(
            cred,
            Method::GET,
            &format!("/api/v1/meetings/{id}/transcript"),
            None,
        )
        .await;
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn login(app: &TestApp, email: &str, password: &str) -> Session {
    let r = app.login(email, password).await;
    assert_eq!(r.status(), StatusCode::OK);
    app.session_from(r, email).await
}

#[tokio::test]
async fn zero_access_content_needs_the_password_or_the_recovery_key() {
    let app = TestApp::spawn().await;
    let owner = app.register("za-owner@example.com", "ZA").await;
    let admin = Cred::Session(app.user_with_role(&owner, "admin").await);
    let me = Cred::Session(owner.clone());
    // The owner's own key reads what the owner may read: it shows when content is locked.
    let own_key = Cred::Bearer(app.api_key(&owner, &["meetings:read"]).await.0);
    let id = meeting_with_transcript(&app, &me, "secret plan").await;

    let r = app
        .send(
            &me,
            Method::POST,
            "/api/v1/me/encryption/zero-access",
            Some(json!({"password": "not my password 1"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .send(
            &me,
            Method::POST,
            "/api/v1/me/encryption/zero-access",
            Some(json!({"password": PASSWORD})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let body: Value = r.json().await.unwrap();
    let recovery = body["recovery_key"].as_str().unwrap().to_owned();
    assert!(
        body["warning"]
            .as_str()
            .unwrap()
            .contains("cannot be recovered")
    );
    let row = app
        .db()
        .user_key(uid(&owner.org_id), uid(&owner.user_id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.mode, "zero_access");
    assert!(
        row.org_wrapped.is_none(),
        "nothing the server holds wraps the key any more"
    );
    assert!(
        row.kdf_memory_kib.unwrap() >= 65536
            && row.kdf_iterations.unwrap() >= 3
            && row.kdf_parallelism.unwrap() >= 4
    );

    // Unlocked session: readable by the owner and the owner's own keys — and by no one else,
    // not even an admin of the org (zero-access content is its owner's alone).
    assert_eq!(
        transcript(&app, &me, &id).await.1["segments"][0]["text"],
        "secret plan"
    );
    assert_eq!(transcript(&app, &own_key, &id).await.0, StatusCode::OK);
    let (status, body) = transcript(&app, &admin, &id).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "zero_access_owner_only");

    // The owner logs out: with the database, blobs and master key all in this process, the
    // content is locked.
    assert_eq!(
        app.send(&me, Method::POST, "/api/v1/auth/logout", None)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let (status, body) = transcript(&app, &own_key, &id).await;
    assert_eq!(status, StatusCode::LOCKED, "{body}");
    assert_eq!(body["error"]["code"], "content_locked");
    assert_eq!(app.core().vault().unlocked_count(), 0);

    // Data arriving while the owner is away is sealed to the owner's public key: written, not
    // readable back.
    let late = json!({"segments": [{"start_ms": 5000, "end_ms": 6000, "speaker": "Bot", "text": "written at night"}]});
    assert_eq!(
        app.send(
            &admin,
            Method::POST,
            &format!("/api/v1/meetings/{id}/transcript"),
            Some(late)
        )
        .await
        .status(),
        StatusCode::CREATED
    );
    assert_eq!(transcript(&app, &own_key, &id).await.0, StatusCode::LOCKED);

    // Another instance of the same installation re-derives the key at login there.
    let sibling = app.spawn_sibling(|_| {}).await;
    let s2 = Cred::Session(login(&sibling, "za-owner@example.com", PASSWORD).await);
    let (status, body) = transcript(&sibling, &s2, &id).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["segments"][2]["text"], "written at night");
    // …while this instance, which never saw that login, still cannot read it.
    assert_eq!(transcript(&app, &own_key, &id).await.0, StatusCode::LOCKED);
    let r = app
        .send(
            &s2,
            Method::POST,
            "/api/v1/me/encryption/unlock",
            Some(json!({"password": PASSWORD})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(transcript(&app, &own_key, &id).await.0, StatusCode::OK);
    assert_eq!(
        transcript(&app, &admin, &id).await.0,
        StatusCode::FORBIDDEN,
        "unlocked is not shared"
    );

    // A password change re-wraps the key (content untouched); the new password opens it.
    let new_pw = "a brand new passphrase 42";
    let r = app
        .send(
            &s2,
            Method::POST,
            "/api/v1/auth/password",
            Some(json!({"current_password": PASSWORD, "new_password": new_pw})),
        )
        .await;
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    assert_eq!(
        app.send(&s2, Method::POST, "/api/v1/auth/logout", None)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(transcript(&app, &own_key, &id).await.0, StatusCode::LOCKED);

    // Forgotten password: a wrong recovery key is refused; the right one sets a new password,
    // returns a new recovery key, and the content is readable again.
    let wrong = recovery.chars().rev().collect::<String>();
    let r = app.send(&Cred::None, Method::POST, "/api/v1/auth/recover", Some(json!({"email": "za-owner@example.com", "recovery_key": wrong, "new_password": "another passphrase 77"}))).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = app.send(&Cred::None, Method::POST, "/api/v1/auth/recover", Some(json!({"email": "za-owner@example.com", "recovery_key": recovery, "new_password": "another passphrase 77"}))).await;
    assert_eq!(r.status(), StatusCode::OK);
    let fresh: Value = r.json().await.unwrap();
    assert_ne!(fresh["recovery_key"].as_str().unwrap(), recovery);
    let again = Cred::Session(login(&app, "za-owner@example.com", "another passphrase 77").await);
    let (status, body) = transcript(&app, &again, &id).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["segments"][0]["text"], "secret plan");
    let r = app.send(&Cred::None, Method::POST, "/api/v1/auth/recover", Some(json!({"email": "za-owner@example.com", "recovery_key": recovery, "new_password": "yet another phrase 99"}))).await;
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "the old recovery key stopped working"
    );

    // Turning the mode off puts the org key back; content stays readable after logout.
    let r = app
        .send(
            &again,
            Method::POST,
            "/api/v1/me/encryption/zero-access/disable",
            Some(json!({"password": "another passphrase 77"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.send(&again, Method::POST, "/api/v1/auth/logout", None)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(transcript(&app, &admin, &id).await.0, StatusCode::OK);
}

pub(crate) fn id_lit(db: &meetvault_store::Database, id: uuid::Uuid) -> String {
    match db {
        meetvault_store::Database::Sqlite(..) => format!("X'{}'", id.simple()),
        meetvault_store::Database::Postgres(_) => format!("'{id}'::uuid"),
    }
}

pub(crate) fn bytes_lit(db: &meetvault_store::Database, bytes: &[u8]) -> String {
    match db {
        meetvault_store::Database::Sqlite(..) => format!("X'{}'", hex::encode(bytes)),
        meetvault_store::Database::Postgres(_) => format!("'\\x{}'::bytea", hex::encode(bytes)),
    }
}

/// The UUID inside a typed id (`org_…`, `usr_…`, `mtg_…`).
pub(crate) fn uid(id: &str) -> uuid::Uuid {
    uuid::Uuid::parse_str(id.split_once('_').unwrap().1).unwrap()
}

pub(crate) fn meeting_uuid(id: &str) -> uuid::Uuid {
    uuid::Uuid::parse_str(id.trim_start_matches("mtg_")).unwrap()
}

pub(crate) async fn upload(app: &TestApp, cred: &Cred, id: &str, body: Vec<u8>) -> String {
    let Cred::Session(s) = cred else {
        panic!("session expected")
    };
    let r = app
        .client
        .post(app.url(&format!("/api/v1/meetings/{id}/recordings")))
        .header("cookie", &s.cookie)
        .header("x-csrf-token", &s.csrf)
        .header("content-type", "audio/wav")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn download(
    app: &TestApp,
    cred: &Cred,
    id: &str,
    rec: &str,
    range: Option<&str>,
) -> (StatusCode, Vec<u8>) {
    let Cred::Session(s) = cred else {
        panic!("session expected")
    };
    let mut req = app
        .client
        .get(app.url(&format!("/api/v1/meetings/{id}/recordings/{rec}")))
        .header("cookie", &s.cookie);
    if let Some(range) = range {
        req = req.header("range", range);
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    (
        status,
        r.bytes().await.map(|b| b.to_vec()).unwrap_or_default(),
    )
}

#[tokio::test]
async fn tampered_and_swapped_ciphertexts_fail_clearly() {
    let app = TestApp::spawn_with(|c| c.auth.open_registration = true).await;
    let sa = app.register("tamper-a@example.com", "A").await;
    let a = Cred::Session(sa.clone());
    let id = meeting_with_transcript(&app, &a, "first words").await;
    let db = app.db();
    let meeting = db
        .meeting(uid(&sa.org_id), meeting_uuid(&id))
        .await
        .unwrap()
        .unwrap();
    let segs = db.segments(meeting.org_id, meeting.id).await.unwrap();
    assert_eq!(segs.len(), 2);
    let set_text = |row: uuid::Uuid, bytes: &[u8]| {
        format!(
            "UPDATE transcript_segments SET text = {} WHERE id = {}",
            bytes_lit(db, bytes),
            id_lit(db, row)
        )
    };
    let expect_integrity = |(status, body): (StatusCode, Value)| {
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
        assert_eq!(body["error"]["code"], "integrity_failure");
        assert!(!body.to_string().contains("first words") && !body.to_string().contains("second"));
    };

    // Segment 0's text copied into segment 1: bound to another row, it fails.
    execute(db, &set_text(segs[1].id, &segs[0].text)).await;
    expect_integrity(transcript(&app, &a, &id).await);
    execute(db, &set_text(segs[1].id, &segs[1].text)).await;
    assert_eq!(
        transcript(&app, &a, &id).await.0,
        StatusCode::OK,
        "restored"
    );

    // One flipped bit anywhere in the envelope (header, nonce, body, tag).
    for at in [1, 20, 30, segs[0].text.len() - 1] {
        let mut flipped = segs[0].text.clone();
        flipped[at] ^= 1;
        execute(db, &set_text(segs[0].id, &flipped)).await;
        expect_integrity(transcript(&app, &a, &id).await);
    }
    execute(db, &set_text(segs[0].id, &segs[0].text)).await;

    // Another org's title copied over this meeting's: fails, never shows the other org's text.
    let sb = app.register("tamper-b@example.com", "B").await;
    let b = Cred::Session(sb.clone());
    let r = app
        .send(
            &b,
            Method::POST,
            "/api/v1/meetings",
            Some(json!({"title": "org B secret title"})),
        )
        .await;
    let other = meeting_uuid(r.json::<Value>().await.unwrap()["id"].as_str().unwrap());
    let other_row = db.meeting(uid(&sb.org_id), other).await.unwrap().unwrap();
    execute(
        db,
        &format!(
            "UPDATE meetings SET title = {} WHERE id = {}",
            bytes_lit(db, &other_row.title),
            id_lit(db, meeting.id)
        ),
    )
    .await;
    let r = app
        .send(&a, Method::GET, &format!("/api/v1/meetings/{id}"), None)
        .await;
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!r.text().await.unwrap().contains("org B secret title"));
    execute(
        db,
        &format!(
            "UPDATE meetings SET title = {} WHERE id = {}",
            bytes_lit(db, &meeting.title),
            id_lit(db, meeting.id)
        ),
    )
    .await;

    // A recording of four segments: truncated at a segment boundary, segments reordered, one
    // bit flipped — each is refused; the intact blob and its ranges read back.
    let payload: Vec<u8> = (0..(3 * 65536 + 1000)).map(|i| (i % 253) as u8).collect();
    let audio = meetvault_test_support::media::wav_with_payload(&payload);
    let rec = upload(&app, &a, &id, audio.clone()).await;
    let (status, body) = download(&app, &a, &id, &rec, Some("bytes=70000-70009")).await;
    assert_eq!(
        (status, body.as_slice()),
        (StatusCode::PARTIAL_CONTENT, &audio[70000..70010])
    );
    let row = &db.recordings(meeting.org_id, meeting.id).await.unwrap()[0];
    let key = meetvault_store::BlobKey::parse(&row.blob_key).unwrap();
    let blobs = app.blobs();
    let stored = blobs
        .get_range(&key, 0..row.stored_size as u64)
        .await
        .unwrap()
        .to_vec();
    let seg = 65536 + 16;
    let header = 56;
    let mut reordered = stored.clone();
    reordered[header..header + seg].copy_from_slice(&stored[header + seg..header + 2 * seg]);
    reordered[header + seg..header + 2 * seg].copy_from_slice(&stored[header..header + seg]);
    let mut flipped = stored.clone();
    flipped[header + 10] ^= 0x40;
    for (what, bytes, range) in [
        ("reordered", reordered, None),
        ("flipped", flipped, Some("bytes=0-99")),
    ] {
        blobs.put(&key, bytes.into()).await.unwrap();
        let (status, body) = download(&app, &a, &id, &rec, range).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{what}");
        assert!(
            String::from_utf8_lossy(&body).contains("integrity_failure"),
            "{what}"
        );
    }
    // Truncated to three whole segments (the recorded size is unchanged, so the last read
    // segment is expected to be final and is not).
    blobs
        .put(&key, stored[..header + 3 * seg].to_vec().into())
        .await
        .unwrap();
    let (status, body) = download(&app, &a, &id, &rec, Some("bytes=196700-196799")).await;
    assert_eq!(
        status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "truncation went unnoticed"
    );
    assert!(String::from_utf8_lossy(&body).contains("integrity_failure"));
    // Segments before the cut are intact and authentic, so a range inside them still reads.
    let (status, body) = download(&app, &a, &id, &rec, Some("bytes=196000-196099")).await;
    assert_eq!(
        (status, body.as_slice()),
        (StatusCode::PARTIAL_CONTENT, &audio[196000..196100])
    );
    blobs.put(&key, stored.into()).await.unwrap();
    let (status, body) = download(&app, &a, &id, &rec, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, audio);
}

#[tokio::test]
async fn a_shredded_meeting_stays_unreadable_when_old_copies_are_restored() {
    let app = TestApp::spawn().await;
    let s = app.register("shred@example.com", "S").await;
    let me = Cred::Session(s.clone());
    let id = meeting_with_transcript(&app, &me, "to be forgotten").await;
    let audio = meetvault_test_support::media::wav_with_payload(&[7u8; 100_000]);
    let rec = upload(&app, &me, &id, audio).await;
    let db = app.db();
    let (org, m) = (uid(&s.org_id), meeting_uuid(&id));
    // The "backup": every content row and the blob, as they were.
    let meeting = db.meeting(org, m).await.unwrap().unwrap();
    let segs = db.segments(org, m).await.unwrap();
    let recording = db.recordings(org, m).await.unwrap().remove(0);
    let key = meetvault_store::BlobKey::parse(&recording.blob_key).unwrap();
    let blob = app
        .blobs()
        .get_range(&key, 0..recording.stored_size as u64)
        .await
        .unwrap();
    let wrapped = db.meeting_keys(org, m).await.unwrap();
    assert_eq!(wrapped.len(), 1);

    let first = app
        .send(&me, Method::DELETE, &format!("/api/v1/meetings/{id}"), None)
        .await;
    assert_eq!(first.status(), StatusCode::OK);
    let first: Value = first.json().await.unwrap();
    assert!(db.meeting_keys(org, m).await.unwrap().is_empty());
    let again = app
        .send(&me, Method::DELETE, &format!("/api/v1/meetings/{id}"), None)
        .await;
    assert_eq!(again.status(), StatusCode::OK, "idempotent");
    assert_eq!(
        again.json::<Value>().await.unwrap()["certificate"],
        first["certificate"],
        "the same certificate"
    );
    if let Some(path) = app.config.database_url().expose().strip_prefix("sqlite://") {
        let file = std::fs::read(path.split('?').next().unwrap()).unwrap();
        assert!(
            !contains_bytes(&file, &wrapped[0].wrapped),
            "secure_delete left the wrapped key in the file"
        );
    }

    // Restore the old ciphertexts beside the current keys.
    db.insert_meeting(&meeting, &[], &[]).await.unwrap();
    db.insert_segments(&segs).await.unwrap();
    db.insert_recording(&recording, &[]).await.unwrap();
    app.blobs().put(&key, blob).await.unwrap();
    let (status, body) = transcript(&app, &me, &id).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert!(
        body["error"]["code"] == "integrity_failure" && !body.to_string().contains("forgotten")
    );
    assert_eq!(
        app.send(&me, Method::GET, &format!("/api/v1/meetings/{id}"), None)
            .await
            .status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
    let (status, _) = download(&app, &me, &id, &rec, None).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    // A write to the restored meeting gets a new key; the old ciphertexts stay unreadable.
    let late = json!({"segments": [{"start_ms": 0, "end_ms": 1, "speaker": "x", "text": "new"}]});
    app.send(
        &me,
        Method::POST,
        &format!("/api/v1/meetings/{id}/transcript"),
        Some(late),
    )
    .await;
    assert_eq!(
        transcript(&app, &me, &id).await.0,
        StatusCode::INTERNAL_SERVER_ERROR
    );
}

fn contains_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn org_keys_move_to_the_orgs_own_kms_key_and_rotate_without_touching_content() {
    let (master, endpoint) = kms_key().await;
    let (byok, _) = kms_key().await;
    let app = TestApp::spawn_with(|c| use_kms(c, &master, &endpoint)).await;
    let s = app.register("byok@example.com", "K").await;
    let me = Cred::Session(s.clone());
    let org = uid(&s.org_id);
    let id = meeting_with_transcript(&app, &me, "kms content").await;
    let keys = app.db().org_keys(org).await.unwrap();
    assert_eq!(
        (keys[0].kek_provider.as_str(), keys[0].kek_key_id.as_str()),
        ("aws-kms", master.as_str())
    );
    let segs_before = app.db().segments(org, meeting_uuid(&id)).await.unwrap();

    // A key KMS does not know is refused with a clear 422 and changes nothing.
    let r = app
        .send(
            &me,
            Method::PUT,
            "/api/v1/org/encryption",
            Some(json!({"kms_key_id": "00000000-0000-0000-0000-000000000000"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.db().org_keys(org).await.unwrap()[0].kek_key_id, master);

    let r = app
        .send(
            &me,
            Method::PUT,
            "/api/v1/org/encryption",
            Some(json!({"kms_key_id": byok})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.db().org_keys(org).await.unwrap()[0].kek_key_id, byok);
    // A fresh instance (no cached keys) opens the org key through the org's own KMS key.
    let sibling = app.spawn_sibling(|_| {}).await;
    let s2 = Cred::Session(login(&sibling, "byok@example.com", PASSWORD).await);
    assert_eq!(
        transcript(&sibling, &s2, &id).await.1["segments"][0]["text"],
        "kms content"
    );

    // Org-key rotation re-wraps user keys; no content row changes; old version deleted.
    let report = app
        .core()
        .encryption()
        .rotate_org_key(org.into(), &|_: u64, _: u64| {})
        .await
        .unwrap();
    assert_eq!((report.rewrapped, report.retired), (1, 1));
    let versions: Vec<i32> = app
        .db()
        .org_keys(org)
        .await
        .unwrap()
        .iter()
        .map(|k| k.version)
        .collect();
    assert_eq!(versions, vec![2]);
    assert_eq!(
        app.db().segments(org, meeting_uuid(&id)).await.unwrap(),
        segs_before
    );
    let third = app.spawn_sibling(|_| {}).await;
    let s3 = Cred::Session(login(&third, "byok@example.com", PASSWORD).await);
    assert_eq!(transcript(&third, &s3, &id).await.0, StatusCode::OK);
}

#[tokio::test]
async fn rotate_master_rewraps_org_keys_and_retires_the_old_version() {
    let app = TestApp::spawn().await;
    let s = app.register("rotate@example.com", "R").await;
    let me = Cred::Session(s.clone());
    let id = meeting_with_transcript(&app, &me, "survives rotation").await;
    let before = app.db().org_keys(uid(&s.org_id)).await.unwrap();
    assert_eq!(before[0].kek_version, 1);
    let master_file = app.config.master_key_path();
    let old_file = std::fs::read(&master_file).unwrap();
    assert_eq!(old_file.len(), 36);

    let dir = app.config.data_dir.parent().unwrap().to_owned();
    let out = meetvault()
        .args(["keys", "rotate-master", "--json", "--data-dir"])
        .arg(&app.config.data_dir)
        .args(["--database-url", app.config.database_url().expose()])
        .env("MEETVAULT_LOG__LEVEL", "warn")
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["rewrapped"], 1, "{report}");
    let after = app.db().org_keys(uid(&s.org_id)).await.unwrap();
    assert_eq!(after[0].kek_version, 2);
    assert_eq!(
        after[0].version, before[0].version,
        "the org key itself is unchanged"
    );
    let new_file = std::fs::read(&master_file).unwrap();
    assert_eq!(new_file.len(), 36, "only the new version is left");
    assert_ne!(new_file[4..], old_file[4..]);

    // Re-running is harmless.
    let out = meetvault()
        .args(["keys", "rotate-master", "--json", "--data-dir"])
        .arg(&app.config.data_dir)
        .args(["--database-url", app.config.database_url().expose()])
        .env("MEETVAULT_LOG__LEVEL", "warn")
        .output()
        .unwrap();
    assert!(out.status.success());
    let again: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        again["rewrapped"], 1,
        "a rotation always moves to a fresh version"
    );

    // A restarted instance (fresh caches, the new key file) reads the old content.
    let sibling = app.spawn_sibling(|_| {}).await;
    let s2 = Cred::Session(login(&sibling, "rotate@example.com", PASSWORD).await);
    assert_eq!(
        transcript(&sibling, &s2, &id).await.1["segments"][0]["text"],
        "survives rotation"
    );
}
