//! The internal bot protocol and the orchestrator. The bot process here is a stand-in, not
//! `meetvault bot run`: a shell script (`bot.executable`) that the real `LocalProcessLauncher`
//! starts as a real process (its own process group, the token in `MEETVAULT_BOT_TOKEN`), and
//! that speaks the internal protocol over real HTTP with curl. Tests drive the rest of the
//! protocol with the token the script hands over.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use meetvault_test_support::{Cred, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::bots::{WAIT, bot_body, get_bot, send_bot, wait_bot};

/// The stand-in bot program; `mode` (a file beside it) picks what it does.
fn fake_bot_program(dir: &Path) -> PathBuf {
    let script = format!(
        r#"#!/bin/sh
# A stand-in for `meetvault bot run`: a real process speaking the internal protocol with curl.
DIR='{dir}'
ID="$4"; SERVER="$6"
echo "$*" > "$DIR/$ID.args"
echo $$ > "$DIR/$ID.pid"
[ "$1 $2 $3 $5" = "bot run --bot-id --server" ] || exit 2
date +%s%3N > "$DIR/$ID.launched"
printf '%s' "$MEETVAULT_BOT_TOKEN" > "$DIR/$ID.token.tmp" && mv "$DIR/$ID.token.tmp" "$DIR/$ID.token"
AUTH="Authorization: Bearer $MEETVAULT_BOT_TOKEN"
T="$SERVER/internal/v1/bots/$ID"
case "$(cat "$DIR/mode")" in
silent)
  curl -sf -X POST -H "$AUTH" -H 'content-type: application/json' -d '{{"state":"joining"}}' "$T/transitions" || exit 3
  curl -sf -X POST -H "$AUTH" -H 'content-type: application/json' -d '{{"state":"joined"}}' "$T/transitions" || exit 3
  curl -sf -X POST -H "$AUTH" --data-binary @"$DIR/chunk.pcm" "$T/audio?track=t1&seq=0&start_ms=0" || exit 3
  echo sent > "$DIR/$ID.sent"
  sleep 30;;
*)
  i=0
  while [ $i -lt 120 ]; do
    # Like the real bot: a refused token or a server gone ends it; a busy one is tried again.
    code=$(curl -s -m 20 -o /dev/null -w '%{{http_code}}' -X POST -H "$AUTH" "$T/heartbeat")
    rc=$?
    [ "$code" = 401 ] || [ $rc = 7 ] || [ ! -d "$DIR" ] && exit 0
    sleep 0.25; i=$((i+1))
  done;;
esac
"#,
        dir = dir.display()
    );
    let path = dir.join("fake-bot.sh");
    std::fs::write(&path, script).unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

pub(crate) async fn app_with_bots(
    dir: &Path,
    mode: &str,
    adjust: impl FnOnce(&mut meetvault_config::Config),
) -> TestApp {
    for tool in ["/usr/bin/curl", "/usr/bin/pgrep"] {
        assert!(
            Path::new(tool).exists(),
            "{tool} is missing: run scripts/deps.sh"
        );
    }
    std::fs::write(dir.join("mode"), mode).unwrap();
    let program = fake_bot_program(dir);
    TestApp::spawn_with(|c| {
        c.bot.launcher = meetvault_config::BotLauncher::Local;
        c.bot.executable = Some(program);
        c.bot.poll_interval_ms = 100;
        adjust(c);
    })
    .await
}

/// The token the stand-in bot wrote once launched.
pub(crate) async fn token_of(dir: &Path, id: &str) -> String {
    let path = dir.join(format!("{id}.token"));
    let start = Instant::now();
    loop {
        if let Ok(t) = std::fs::read_to_string(&path) {
            return t;
        }
        assert!(start.elapsed() < WAIT, "bot {id} was never launched");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A request of the internal protocol with `token` (or none).
pub(crate) async fn internal(
    app: &TestApp,
    token: Option<&str>,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut req = app.client.request(method, app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    req.send().await.unwrap()
}

pub(crate) async fn report(app: &TestApp, token: &str, id: &str, state: &str) -> StatusCode {
    report_code(app, token, id, state, None).await
}

/// Reports `state` with a sub-code.
pub(crate) async fn report_code(
    app: &TestApp,
    token: &str,
    id: &str,
    state: &str,
    sub_code: Option<&str>,
) -> StatusCode {
    internal(
        app,
        Some(token),
        Method::POST,
        &format!("/internal/v1/bots/{id}/transitions"),
        Some(json!({"state": state, "sub_code": sub_code, "at": "2026-12-02T10:00:00Z"})),
    )
    .await
    .status()
}

pub(crate) async fn post_audio(
    app: &TestApp,
    token: &str,
    id: &str,
    q: &str,
    pcm: Vec<u8>,
) -> StatusCode {
    app.client
        .post(app.url(&format!("/internal/v1/bots/{id}/audio?{q}")))
        .bearer_auth(token)
        .body(pcm)
        .send()
        .await
        .unwrap()
        .status()
}

/// One second of a 16 kHz tone as s16le, distinct per `seed`.
pub(crate) fn pcm_second(seed: i16) -> Vec<u8> {
    (0..16_000i32)
        .flat_map(|i| {
            let v = ((i * (7 + i32::from(seed))) % 20_000 - 10_000) as i16;
            v.to_le_bytes()
        })
        .collect()
}

/// The meeting's recordings once there are `n`.
pub(crate) async fn recordings(app: &TestApp, cred: &Cred, meeting: &str, n: usize) -> Vec<Value> {
    let start = Instant::now();
    loop {
        let r = app
            .send(
                cred,
                Method::GET,
                &format!("/api/v1/meetings/{meeting}/recordings"),
                None,
            )
            .await;
        let v: Value = r.json().await.unwrap();
        let list = v["recordings"].as_array().cloned().unwrap_or_default();
        if list.len() >= n {
            return list;
        }
        assert!(start.elapsed() < WAIT, "no recording appeared: {v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn the_internal_protocol_takes_only_the_bots_own_token_checks_transitions_and_seals_audio() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_with_bots(dir.path(), "hold", |_| {}).await;
    let owner = app.register("protocol@example.com", "Protocol").await;
    let cred = Cred::Session(owner.clone());
    let mut body = bot_body("https://meet.google.com/pro-toco-lxx");
    body["metadata"] = json!({"crm_id": "canary-meta-7f3a"});
    let bot = send_bot(&app, &cred, body).await;
    let id = bot["id"].as_str().unwrap().to_owned();
    let meeting = bot["meeting_id"].as_str().unwrap().to_owned();
    let token = token_of(dir.path(), &id).await;
    assert!(token.starts_with("mvb_"), "{token}");
    let args = std::fs::read_to_string(dir.path().join(format!("{id}.args"))).unwrap();
    assert!(
        !args.contains("mvb_"),
        "the token must not be in argv: {args}"
    );
    let other = send_bot(
        &app,
        &cred,
        bot_body("https://meet.google.com/oth-erbo-txx"),
    )
    .await;
    let other_id = other["id"].as_str().unwrap().to_owned();
    let other_token = token_of(dir.path(), &other_id).await;
    let (api_key, _) = app.api_key(&owner, &["meetings:read", "bots:write"]).await;

    // Every route refuses a missing token, another bot's, a user's key and a mangled one.
    for (method, template) in meetvault_http::routes::bot_protocol::ROUTES {
        let path = template.replace("{id}", &id);
        let m = Method::from_bytes(method.as_bytes()).unwrap();
        let mut mangled = token.clone();
        mangled.replace_range(10..11, if &token[10..11] == "A" { "B" } else { "A" });
        for (who, t) in [
            ("no token", None),
            ("another bot's token", Some(other_token.as_str())),
            ("an API key", Some(api_key.as_str())),
            ("a mangled token", Some(mangled.as_str())),
        ] {
            let r = internal(&app, t, m.clone(), &path, Some(json!({"state": "joining"}))).await;
            assert_eq!(
                r.status(),
                StatusCode::UNAUTHORIZED,
                "{method} {path} with {who}"
            );
        }
        let r = app.send(&cred, m.clone(), &path, None).await;
        assert_eq!(
            r.status(),
            StatusCode::UNAUTHORIZED,
            "{method} {path} with a session"
        );
    }

    let r = internal(
        &app,
        Some(&token),
        Method::GET,
        &format!("/internal/v1/bots/{id}/spec"),
        None,
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let spec: Value = r.json().await.unwrap();
    assert_eq!(spec["meeting_url"], "https://meet.google.com/pro-toco-lxx");
    assert_eq!(spec["bot_name"], "Notetaker");
    assert_eq!(spec["opt_out_phrase"], "/optout");
    assert!(
        spec["consent_message"]
            .as_str()
            .unwrap()
            .contains("/optout")
    );
    assert_eq!(spec["automatic_leave"]["waiting_room_timeout_secs"], 900);

    for state in ["joining", "joined", "recording"] {
        assert_eq!(
            report(&app, &token, &id, state).await,
            StatusCode::NO_CONTENT,
            "{state}"
        );
    }
    assert_eq!(
        report(&app, &token, &id, "scheduled").await,
        StatusCode::CONFLICT
    );
    assert_eq!(
        report(&app, &token, &id, "waiting_room").await,
        StatusCode::CONFLICT
    );
    assert_eq!(
        report(&app, &token, &id, "exploded").await,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        report_code(&app, &token, &id, "paused", Some("Not A Code!")).await,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    for event in [
        json!({"type": "participant_joined", "id": "p1", "name": "Alice Example"}),
        json!({"type": "track_mapped", "track": "t1", "participant_id": "p1"}),
        json!({"type": "active_speakers", "participant_ids": ["p1"]}),
        json!({"type": "chat_message", "id": "m1", "sender": "Alice Example", "sender_id": "p1", "text": "canary-chat-91be"}),
    ] {
        let r = internal(
            &app,
            Some(&token),
            Method::POST,
            &format!("/internal/v1/bots/{id}/events"),
            Some(event.clone()),
        )
        .await;
        assert_eq!(r.status(), StatusCode::NO_CONTENT, "{event}");
    }
    let r = internal(
        &app,
        Some(&token),
        Method::POST,
        &format!("/internal/v1/bots/{id}/events"),
        Some(json!({"type": "participant_joined", "id": "../x", "name": "X"})),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let (a, b) = (pcm_second(1), pcm_second(2));
    assert_eq!(
        post_audio(&app, &token, &id, "track=t1&seq=0&start_ms=0", a.clone()).await,
        StatusCode::CREATED
    );
    assert_eq!(
        post_audio(&app, &token, &id, "track=t1&seq=1&start_ms=1000", b.clone()).await,
        StatusCode::CREATED
    );
    assert_eq!(
        post_audio(&app, &token, &id, "track=t1&seq=0&start_ms=0", a.clone()).await,
        StatusCode::OK
    );
    assert_eq!(
        post_audio(
            &app,
            &token,
            &id,
            "track=t1&seq=2&start_ms=2000",
            vec![1, 2, 3]
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // A chunk a day and a second into the meeting: a wild clock, refused (the mix would place
    // it there).
    assert_eq!(
        post_audio(
            &app,
            &token,
            &id,
            "track=t1&seq=2&start_ms=86401000",
            a.clone()
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // Stored sealed: no blob holds the PCM in clear.
    let probe = &a[3200..3264];
    let blobs = app.blobs().list("orgs/").await.unwrap();
    let chunks: Vec<_> = blobs.iter().filter(|m| m.key.contains("/bots/")).collect();
    assert_eq!(chunks.len(), 2, "{blobs:?}");
    for m in chunks {
        let key = meetvault_store::BlobKey::parse(&m.key).unwrap();
        let bytes = app.blobs().get_range(&key, 0..m.size).await.unwrap();
        assert!(
            !bytes.windows(probe.len()).any(|w| w == probe),
            "{} holds plaintext",
            m.key
        );
    }

    let v = get_bot(&app, &cred, &id).await;
    assert_eq!(v["state"], "recording");
    assert_eq!(v["participants"][0]["name"], "Alice Example");
    assert_eq!(v["participants"][0]["track"], "t1");
    assert_eq!(v["chat"][0]["text"], "canary-chat-91be");
    assert_eq!(v["chat"][0]["sender_id"], "p1");

    // Chat and leave reach the bot through its long-poll.
    let r = app
        .send(
            &cred,
            Method::POST,
            &format!("/api/v1/bots/{id}/chat"),
            Some(json!({"message": "Hello from the API"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let r = internal(
        &app,
        Some(&token),
        Method::GET,
        &format!("/internal/v1/bots/{id}/commands"),
        None,
    )
    .await;
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"commands": [{"type": "send_chat", "text": "Hello from the API"}]})
    );
    // A pre-read attached to its meeting goes when the meeting ends; one kept stays.
    for query in ["name=agenda.md", "name=contract.md&keep=true"] {
        let r = app
            .send_bytes(
                &cred,
                &format!("/api/v1/meetings/{meeting}/documents?{query}"),
                "text/markdown",
                b"# Agenda\n\nThe renewal terms and the launch date.".to_vec(),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED, "{query}");
    }
    // A long-poll already waiting is woken by the leave.
    let poll = {
        let url = app.url(&format!("/internal/v1/bots/{id}/commands"));
        let (client, token) = (app.client.clone(), token.clone());
        tokio::spawn(async move {
            client
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = app
        .send(
            &cred,
            Method::POST,
            &format!("/api/v1/bots/{id}/leave"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let commands = tokio::time::timeout(WAIT, poll).await.unwrap().unwrap();
    assert_eq!(
        commands,
        json!({"commands": [{"type": "leave", "sub_code": "left_by_api"}]})
    );

    // post_processing is the server's; the bot reports its end and the server goes through it.
    assert_eq!(
        report(&app, &token, &id, "post_processing").await,
        StatusCode::CONFLICT
    );
    for state in ["leaving", "ended"] {
        assert_eq!(
            report(&app, &token, &id, state).await,
            StatusCode::NO_CONTENT,
            "{state}"
        );
    }
    // Ended: the token no longer works.
    let r = internal(
        &app,
        Some(&token),
        Method::GET,
        &format!("/internal/v1/bots/{id}/spec"),
        None,
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let v = wait_bot(&app, &cred, &id, |v| v["state"] == "ended").await;
    let timeline: Vec<&str> = v["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["to"].as_str().unwrap())
        .collect();
    assert_eq!(
        timeline,
        [
            "scheduled",
            "joining",
            "joined",
            "recording",
            "leaving",
            "post_processing",
            "ended"
        ]
    );

    // What it captured became a recording of its meeting, labelled with the participant.
    let list = recordings(&app, &cred, &meeting, 1).await;
    let started = std::time::Instant::now();
    loop {
        let docs: Value = app
            .send(
                &cred,
                Method::GET,
                &format!("/api/v1/meetings/{meeting}/documents"),
                None,
            )
            .await
            .json()
            .await
            .unwrap();
        let names: Vec<&str> = docs["documents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["name"].as_str().unwrap())
            .collect();
        if names == ["contract.md"] {
            break;
        }
        assert!(
            started.elapsed() < WAIT,
            "the ephemeral document outlived the meeting: {names:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(list[0]["speaker"], "Alice Example");
    let rec = list[0]["id"].as_str().unwrap();
    let r = app
        .send(
            &cred,
            Method::GET,
            &format!("/api/v1/meetings/{meeting}/recordings/{rec}"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let wav = r.bytes().await.unwrap();
    assert_eq!(&wav[..4], b"RIFF");
    assert_eq!(&wav[44..], [a, b].concat().as_slice());

    // The post-meeting purge: with nothing to deliver, the captured chunks (the audio the
    // recording was made from) are gone once the recording is made, rows and blobs.
    let deadline = Instant::now() + WAIT;
    let (org_uuid, bot_uuid) = uid_of(&app, &id).await;
    loop {
        let blobs = app.blobs().list("").await.unwrap();
        let chunks = app.db().audio_chunks(org_uuid, bot_uuid).await.unwrap();
        if chunks.is_empty() && !blobs.iter().any(|m| m.key.contains("/audio/")) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "chunks left after processing: {} rows, blobs {blobs:?}",
            chunks.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Nothing of its content is at rest in clear: not in the database (file or dump), not in
    // any blob.
    let db = app
        .config
        .database
        .url
        .as_ref()
        .unwrap()
        .expose()
        .to_owned();
    let root = app.config.data_dir.parent().unwrap();
    let mut storage = crate::canary::storage_bytes(root, &db, None).await;
    for m in app.blobs().list("").await.unwrap() {
        let key = meetvault_store::BlobKey::parse(&m.key).unwrap();
        let bytes = app.blobs().get_range(&key, 0..m.size).await.unwrap();
        storage.push((m.key.clone(), bytes.to_vec()));
    }
    for marker in [
        "Alice Example",
        "pro-toco-lxx",
        "Hello from the API",
        "canary-meta-7f3a",
        "canary-chat-91be",
    ] {
        for (name, bytes) in &storage {
            assert!(
                !crate::canary::contains(bytes, marker),
                "`{marker}` is in clear in {name}"
            );
        }
    }

    // Deleting the bot's meeting takes its bot and its audio chunks with it.
    let r = app
        .send(
            &cred,
            Method::DELETE,
            &format!("/api/v1/meetings/{meeting}"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = app
        .send(&cred, Method::GET, &format!("/api/v1/bots/{id}"), None)
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let left = app.blobs().list("").await.unwrap();
    assert!(!left.iter().any(|m| m.key.contains("/bots/")), "{left:?}");
    let _ = report(&app, &other_token, &other_id, "joining").await;
    let _ = app
        .send(
            &cred,
            Method::DELETE,
            &format!("/api/v1/bots/{other_id}"),
            None,
        )
        .await;
}

#[tokio::test]
async fn a_bot_without_heartbeats_ends_browser_crashed_and_its_audio_is_still_processed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("chunk.pcm"), pcm_second(3)).unwrap();
    let app = app_with_bots(dir.path(), "silent", |c| c.bot.heartbeat_timeout_secs = 2).await;
    let owner = app.register("silent@example.com", "Silent").await;
    let cred = Cred::Session(owner);
    let mut body = bot_body("https://meet.google.com/sil-entb-otx");
    body["recording"] = json!({"per_speaker": true, "mixed": true});
    let bot = send_bot(&app, &cred, body).await;
    let id = bot["id"].as_str().unwrap();
    let v = wait_bot(&app, &cred, id, |v| v["state"] == "fatal_error").await;
    assert_eq!(v["sub_code"], "browser_crashed");
    assert!(
        dir.path().join(format!("{id}.sent")).exists(),
        "the stand-in never sent its chunk"
    );
    let timeline: Vec<&str> = v["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["to"].as_str().unwrap())
        .collect();
    assert_eq!(timeline, ["scheduled", "joining", "joined", "fatal_error"]);
    // Per speaker and mixed, as asked.
    let list = recordings(&app, &cred, bot["meeting_id"].as_str().unwrap(), 2).await;
    let mut speakers: Vec<&str> = list
        .iter()
        .map(|r| r["speaker"].as_str().unwrap())
        .collect();
    speakers.sort_unstable();
    assert_eq!(speakers, ["mixed", "t1"]);
    assert!(list.iter().all(|r| r["duration_ms"] == 1000), "{list:?}");
}

#[tokio::test]
async fn a_scheduled_bot_launches_at_join_at_and_bots_beyond_the_maximum_wait_their_turn() {
    let dir = tempfile::tempdir().unwrap();
    // The orchestrator's own poll is too slow to matter here: the bot's durable launch job,
    // due at join_at, is what wakes it then (creating and ending bots wake it too).
    let app = app_with_bots(dir.path(), "hold", |c| {
        c.bot.max_concurrent = 1;
        c.bot.poll_interval_ms = 120_000;
    })
    .await;
    let owner = app.register("queue@example.com", "Queue").await;
    let cred = Cred::Session(owner);
    let join_at = chrono::Utc::now() + chrono::Duration::seconds(3);
    let mut body = bot_body("https://meet.google.com/sch-edul-edx");
    body["join_at"] = json!(join_at.to_rfc3339());
    let first = send_bot(&app, &cred, body).await;
    let first_id = first["id"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        !dir.path().join(format!("{first_id}.token")).exists(),
        "launched before join_at"
    );
    token_of(dir.path(), &first_id).await;
    let launched: i64 = std::fs::read_to_string(dir.path().join(format!("{first_id}.launched")))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        launched >= join_at.timestamp_millis(),
        "launched {launched}, join_at {}",
        join_at.timestamp_millis()
    );

    // One place: the next bot waits, scheduled, until the first ends.
    let second = send_bot(
        &app,
        &cred,
        bot_body("https://meet.google.com/que-uedb-otx"),
    )
    .await;
    let second_id = second["id"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        !dir.path().join(format!("{second_id}.token")).exists(),
        "launched beyond the maximum"
    );
    assert_eq!(get_bot(&app, &cred, &second_id).await["state"], "scheduled");
    let r = app
        .send(
            &cred,
            Method::DELETE,
            &format!("/api/v1/bots/{first_id}"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["sub_code"], "cancelled");
    // Cancelled: its whole process group is gone.
    let pid = std::fs::read_to_string(dir.path().join(format!("{first_id}.pid"))).unwrap();
    let pid = pid.trim();
    let start = Instant::now();
    loop {
        let group = std::process::Command::new("pgrep")
            .args(["-g", pid])
            .output()
            .unwrap();
        if !Path::new(&format!("/proc/{pid}")).exists() && group.stdout.is_empty() {
            break;
        }
        assert!(
            start.elapsed() < WAIT,
            "bot process group {pid} outlived its cancel"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    token_of(dir.path(), &second_id).await;
    let r = app
        .send(
            &cred,
            Method::DELETE,
            &format!("/api/v1/bots/{second_id}"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_bot_past_its_maximum_duration_is_told_to_leave() {
    let dir = tempfile::tempdir().unwrap();
    let app = app_with_bots(dir.path(), "hold", |_| {}).await;
    let owner = app.register("max-duration@example.com", "Max").await;
    let cred = Cred::Session(owner);
    let mut body = bot_body("https://meet.google.com/max-dura-tio");
    body["automatic_leave"] = json!({"max_duration_secs": 1});
    let bot = send_bot(&app, &cred, body).await;
    let id = bot["id"].as_str().unwrap().to_owned();
    let token = token_of(dir.path(), &id).await;
    for state in ["joining", "joined", "recording"] {
        assert_eq!(
            report(&app, &token, &id, state).await,
            StatusCode::NO_CONTENT
        );
    }
    let r = internal(
        &app,
        Some(&token),
        Method::GET,
        &format!("/internal/v1/bots/{id}/commands"),
        None,
    )
    .await;
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"commands": [{"type": "leave", "sub_code": "max_duration"}]})
    );
    assert_eq!(
        report(&app, &token, &id, "leaving").await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        report_code(&app, &token, &id, "ended", Some("max_duration")).await,
        StatusCode::NO_CONTENT
    );
    let v = wait_bot(&app, &cred, &id, |v| v["state"] == "ended").await;
    assert_eq!(v["sub_code"], "max_duration");
}

/// A bot's (org, bot) row ids.
async fn uid_of(app: &TestApp, id: &str) -> (uuid::Uuid, uuid::Uuid) {
    let bot: meetvault_core::ids::BotId = id.parse().unwrap();
    let row = app.db().bot_by_id(bot.uuid()).await.unwrap().unwrap();
    (row.org_id, row.id)
}
