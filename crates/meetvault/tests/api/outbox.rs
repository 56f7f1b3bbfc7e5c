//! The event outbox: every domain event is written with the change it describes, numbered per
//! org; a meeting's event stream reads it, so a listener on another instance sees every
//! segment of a job run elsewhere, in order, and a reconnect with `Last-Event-ID` misses none
//! and repeats none. Segment words are stored sealed; old events are pruned.

use std::time::{Duration, Instant};

use futures::StreamExt;
use meetvault_test_support::media::whisper_model_dir;
use meetvault_test_support::{Cred, Session, TestApp, execute};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::speech;
use crate::transcription::{meeting, upload};

/// One Server-Sent Event as received.
#[derive(Debug, Clone, PartialEq)]
struct Sse {
    id: Option<i64>,
    event: String,
    data: Value,
}

/// Reads a stream's events until `done` holds for one, or `limit` passes (a failure).
struct Reader<S> {
    body: S,
    buffer: String,
}

impl<S: futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin> Reader<S> {
    fn new(body: S) -> Self {
        Self {
            body,
            buffer: String::new(),
        }
    }

    async fn until(&mut self, limit: Duration, done: impl Fn(&Sse) -> bool) -> Vec<Sse> {
        let deadline = Instant::now() + limit;
        let mut events = Vec::new();
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                if let Some(e) = parse(&block) {
                    let stop = done(&e);
                    events.push(e);
                    if stop {
                        return events;
                    }
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.body.next()).await {
                Ok(Some(Ok(chunk))) => self.buffer.push_str(&String::from_utf8_lossy(&chunk)),
                other => panic!("the stream ended or stalled ({other:?}); it sent: {events:#?}"),
            }
        }
    }
}

fn parse(block: &str) -> Option<Sse> {
    let (mut id, mut event, mut data) = (None, None, String::new());
    for line in block.lines() {
        if let Some(v) = line.strip_prefix("id:") {
            id = Some(v.trim().parse().expect("a numeric event id"));
        } else if let Some(v) = line.strip_prefix("event:") {
            event = Some(v.trim().to_owned());
        } else if let Some(v) = line.strip_prefix("data:") {
            data.push_str(v.trim());
        }
    }
    Some(Sse {
        id,
        event: event?,
        data: serde_json::from_str(&data).expect("JSON data"),
    })
}

async fn open(
    app: &TestApp,
    s: &Session,
    meeting: &str,
    last_event_id: Option<i64>,
) -> reqwest::Response {
    let mut req = app
        .client
        .get(app.url(&format!("/api/v1/meetings/{meeting}/events")))
        .header("cookie", &s.cookie);
    if let Some(id) = last_event_id {
        req = req.header("last-event-id", id.to_string());
    }
    req.send().await.unwrap()
}

fn uuid_of(prefixed: &str) -> Uuid {
    Uuid::parse_str(&prefixed[4..]).unwrap()
}

fn succeeded(e: &Sse) -> bool {
    e.event == "job" && e.data["state"] == "succeeded"
}

#[tokio::test]
async fn a_listener_on_another_instance_gets_every_segment_in_order_and_resumes_without_gaps() {
    whisper_model_dir();
    let a = TestApp::spawn_with(|c| {
        c.auth.open_registration = true;
        c.transcription.auto = true;
    })
    .await;
    // Instance B serves the API only: the job can run nowhere but on A.
    let b = a.spawn_serving_sibling().await;
    let s = a.register("two-instances@example.com", "Two").await;
    let id = meeting(&a, &s, json!({"title": "Across instances"})).await;
    let r = open(&b, &s, &id, None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let mut stream = Reader::new(Box::pin(r.bytes_stream()));
    let r = crate::transcription::upload_track(&a, &s, &id, 0, "Alice").await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let seen = stream.until(Duration::from_secs(600), succeeded).await;

    // Every event B sent carries its place in the org's sequence, strictly increasing.
    let ids: Vec<i64> = seen.iter().filter_map(|e| e.id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    let segments: Vec<&Sse> = seen.iter().filter(|e| e.event == "segment").collect();
    assert!(!segments.is_empty(), "no segment reached B: {seen:#?}");
    assert!(segments.iter().all(|e| e.data["speaker"] == "Alice"));
    assert!(
        segments
            .windows(2)
            .all(|w| w[0].data["start_ms"].as_i64() <= w[1].data["start_ms"].as_i64()),
        "segments in the order heard"
    );
    for kind in ["recording_stored", "transcript_updated"] {
        assert!(seen.iter().any(|e| e.event == kind), "no {kind}: {seen:#?}");
    }
    let running = seen
        .iter()
        .position(|e| e.event == "job" && e.data["state"] == "running")
        .expect("a running event");
    let first_segment = seen.iter().position(|e| e.event == "segment").unwrap();
    assert!(running < first_segment && first_segment < seen.len() - 1);
    // Each segment the job wrote reached B: as many as the outbox holds for the meeting.
    let rows = a
        .db()
        .events_after(uuid_of(&s.org_id), Some(uuid_of(&id)), 0, 10_000)
        .await
        .unwrap();
    let written = rows.iter().filter(|r| r.kind == "segment.produced").count();
    assert_eq!(written, segments.len());

    // Reconnect (to B) after the third event: exactly the rest, same ids, same data.
    let with_ids: Vec<Sse> = seen.iter().filter(|e| e.id.is_some()).cloned().collect();
    assert!(with_ids.len() > 4, "{with_ids:#?}");
    let resume_after = with_ids[2].id.unwrap();
    let r = open(&b, &s, &id, Some(resume_after)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let mut again = Reader::new(Box::pin(r.bytes_stream()));
    let resumed = again.until(Duration::from_secs(30), succeeded).await;
    assert_eq!(resumed, with_ids[3..].to_vec());
    // And nothing more follows: no event is sent twice.
    let extra = tokio::time::timeout(Duration::from_millis(2500), again.body.next()).await;
    if let Ok(Some(Ok(chunk))) = extra {
        let text = String::from_utf8_lossy(&chunk);
        assert!(!text.contains("data:"), "an event came again: {text}");
    }
    b.shutdown().await.unwrap();
}

const FIELD_WORDS: &str = "meeting_id workspace_id recording_id duration_ms job_id start_ms \
    end_ms progress transcribe succeeded running queued cancelled";

#[tokio::test]
async fn each_change_writes_one_event_in_order_and_segment_words_are_stored_sealed() {
    whisper_model_dir();
    let app = TestApp::spawn_with(|c| {
        c.auth.open_registration = true;
        c.transcription.auto = true;
    })
    .await;
    let s = app.register("outbox@example.com", "Outbox").await;
    let cred = Cred::Session(s.clone());
    let id = meeting(&app, &s, json!({"title": "Quarterly numbers"})).await;
    let path = format!("/api/v1/meetings/{id}");
    // A refused change writes nothing.
    let r = app
        .send(&cred, Method::PATCH, &path, Some(json!({"title": ""})))
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .send(
            &cred,
            Method::PATCH,
            &path,
            Some(json!({"title": "Renamed"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let (_, turns) = speech::three_tracks();
    let r = crate::transcription::upload_track(&app, &s, &id, 1, "Bob").await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let job = meetvault_test_support::json_str(r, "job_id").await;
    crate::transcription::wait_job(&app, &s, &job, Duration::from_secs(600)).await;
    let (org, mtg) = (uuid_of(&s.org_id), uuid_of(&id));
    let rows = app.db().events_after(org, None, 0, 10_000).await.unwrap();
    let seqs: Vec<i64> = rows.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, (1..=rows.len() as i64).collect::<Vec<_>>(), "no gap");
    let kinds: Vec<&str> = rows.iter().map(|r| r.kind.as_str()).collect();
    let first = |k: &str| kinds.iter().position(|x| *x == k).unwrap_or(usize::MAX);
    assert_eq!(kinds[0], "meeting.created");
    assert_eq!(kinds.iter().filter(|k| **k == "meeting.updated").count(), 1);
    assert!(first("meeting.updated") < first("recording.stored"));
    assert!(first("recording.stored") < first("segment.produced"));
    assert!(first("segment.produced") < first("transcript.ready"));
    assert_eq!(
        kinds.iter().filter(|k| **k == "recording.stored").count(),
        1
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == "transcript.ready").count(),
        1
    );
    assert!(kinds.contains(&"job.state_changed"));
    assert!(rows.iter().all(|r| r.resource_id == Some(mtg)));
    // Plain data carries ids and times only; the words are sealed.
    let spoken: Vec<&str> = turns
        .iter()
        .flat_map(|t| t.text.split_whitespace())
        .filter(|w| w.len() > 5)
        // Words that are also field names or states say nothing.
        .filter(|w| !FIELD_WORDS.contains(w.to_lowercase().as_str()))
        .collect();
    for r in &rows {
        for needle in spoken
            .iter()
            .copied()
            .chain(["Bob", "Quarterly", "Renamed"])
        {
            assert!(!r.data.contains(needle), "{needle} in {}", r.data);
            if let Some(sealed) = &r.sealed {
                assert!(
                    !sealed.windows(needle.len()).any(|w| w == needle.as_bytes()),
                    "{needle} in plain sight"
                );
            }
        }
    }
    let segment = rows.iter().find(|r| r.kind == "segment.produced").unwrap();
    assert!(segment.sealed.is_some());

    // Deleting the meeting deletes its events; only the deletion stays, in sequence.
    let r = app.send(&cred, Method::DELETE, &path, None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let after = app.db().events_after(org, None, 0, 10_000).await.unwrap();
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!(after[0].kind, "meeting.deleted");
    assert!(after[0].seq > rows.last().unwrap().seq);
    assert!(!after[0].data.contains("Quarterly") && after[0].sealed.is_none());
}

#[tokio::test]
async fn a_resume_id_that_is_not_a_number_is_refused() {
    let app = TestApp::spawn().await;
    let s = app.register("resume@example.com", "Resume").await;
    let id = meeting(&app, &s, json!({"title": "Standup"})).await;
    let r = app
        .client
        .get(app.url(&format!("/api/v1/meetings/{id}/events")))
        .header("cookie", &s.cookie)
        .header("last-event-id", "yesterday")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_input", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("last-event-id:")
    );
}

#[tokio::test]
async fn events_older_than_the_retention_are_pruned() {
    let app = TestApp::spawn_with(|c| c.events.retention_secs = 1).await;
    let s = app.register("prune@example.com", "Prune").await;
    meeting(&app, &s, json!({"title": "Old"})).await;
    let org = uuid_of(&s.org_id);
    assert_eq!(
        app.db()
            .events_after(org, None, 0, 100)
            .await
            .unwrap()
            .len(),
        1
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let kept = meeting(&app, &s, json!({"title": "New"})).await;
    // The instance's pruner runs every second here; a manual run does the same work.
    let deadline = Instant::now() + Duration::from_secs(5);
    let left = loop {
        app.core().prune_events().await.unwrap();
        let left = app.db().events_after(org, None, 0, 100).await.unwrap();
        if left.iter().all(|r| r.seq != 1) || Instant::now() > deadline {
            break left;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0].resource_id, Some(uuid_of(&kept)));
    // Numbering goes on after a prune, and a resume from before it starts afresh.
    assert_eq!(left[0].seq, 2);
    let r = app
        .client
        .get(app.url(&format!("/api/v1/meetings/{kept}/events")))
        .header("cookie", &s.cookie)
        .header("last-event-id", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let mut stream = Reader::new(Box::pin(r.bytes_stream()));
    let first = tokio::time::timeout(Duration::from_secs(5), stream.body.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&first);
    assert!(
        text.starts_with("id: 2") || text.starts_with("id:2"),
        "{text}"
    );
}

#[tokio::test]
async fn a_resume_from_a_number_never_handed_out_starts_afresh_at_the_head() {
    let app = TestApp::spawn().await;
    let s = app.register("future@example.com", "Future").await;
    let id = meeting(&app, &s, json!({"title": "Standup"})).await;
    let r = open(&app, &s, &id, Some(999)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let mut stream = Reader::new(Box::pin(r.bytes_stream()));
    let first = tokio::time::timeout(Duration::from_secs(5), stream.body.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&first);
    assert!(
        text.starts_with("id: 1") || text.starts_with("id:1"),
        "{text}"
    );
    // And what happens next arrives.
    let r = app
        .send(
            &Cred::Session(s.clone()),
            Method::PATCH,
            &format!("/api/v1/meetings/{id}"),
            Some(json!({"title": "Renamed"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let seen = stream
        .until(Duration::from_secs(10), |e| e.event == "meeting_updated")
        .await;
    assert_eq!(seen.last().unwrap().id, Some(2));
}

#[tokio::test]
async fn a_blob_that_fails_to_delete_is_recorded_and_retried_until_gone() {
    let app = TestApp::spawn().await;
    let s = app.register("blobs@example.com", "Blobs").await;
    let cred = Cred::Session(s.clone());
    let id = meeting(&app, &s, json!({"title": "Blob"})).await;
    let r = upload(
        &app,
        &s,
        &id,
        "?transcribe=false",
        "audio/wav",
        meetvault_test_support::media::wav_with_payload(&[7u8; 32_000]),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let rec = uuid_of(&meetvault_test_support::json_str(r, "id").await);
    let key = format!(
        "orgs/{}/meetings/{}/recordings/{rec}",
        uuid_of(&s.org_id),
        uuid_of(&id)
    );
    let blob = meetvault_store::BlobKey::parse(&key).unwrap();
    let blobs = app.blobs().clone();
    assert!(blobs.head(&blob).await.is_ok());
    let file = app.config.blob_path().join(&key);
    let on_disk = matches!(
        app.config.blobs.backend,
        meetvault_config::BlobBackend::Filesystem
    );
    if on_disk {
        // The store cannot delete a file that has become a directory with something in it.
        std::fs::remove_file(&file).unwrap();
        std::fs::create_dir_all(file.join("held")).unwrap();
    }
    let r = app
        .send(
            &cred,
            Method::DELETE,
            &format!("/api/v1/meetings/{id}"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK, "the meeting goes anyway");
    if on_disk {
        let due = app.db().due_blob_deletions(i64::MAX, 10).await.unwrap();
        assert_eq!(due, vec![(key.clone(), 1)], "the failure is recorded");
        // While the store still refuses, a retry records another attempt.
        execute(app.db(), "UPDATE blob_deletions SET next_at = 0").await;
        assert_eq!(app.core().retry_blob_deletions().await.unwrap(), 0);
        assert_eq!(
            app.db().due_blob_deletions(i64::MAX, 10).await.unwrap(),
            vec![(key.clone(), 2)]
        );
        std::fs::remove_dir_all(&file).unwrap();
        std::fs::write(&file, b"left behind").unwrap();
    } else {
        // S3 deletes never fail here; the recorded failure is planted, with a real object.
        assert!(
            app.db()
                .due_blob_deletions(i64::MAX, 10)
                .await
                .unwrap()
                .is_empty()
        );
        blobs
            .put(&blob, bytes::Bytes::from_static(b"left behind"))
            .await
            .unwrap();
        app.db()
            .defer_blob_deletion(&key, "planted", 0, 0)
            .await
            .unwrap();
    }
    // Not yet due: nothing is tried.
    execute(
        app.db(),
        "UPDATE blob_deletions SET next_at = 9000000000000",
    )
    .await;
    assert_eq!(app.core().retry_blob_deletions().await.unwrap(), 0);
    assert!(blobs.head(&blob).await.is_ok());
    execute(app.db(), "UPDATE blob_deletions SET next_at = 0").await;
    assert_eq!(app.core().retry_blob_deletions().await.unwrap(), 1);
    assert!(
        app.db()
            .due_blob_deletions(i64::MAX, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(blobs.head(&blob).await.is_err(), "the blob is gone");
}
