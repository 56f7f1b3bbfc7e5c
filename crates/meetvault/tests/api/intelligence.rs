//! Meeting intelligence end to end (issue 19): a recording becomes a transcript and then a
//! summary whose action items cite their moment; questions are answered with citations or "not
//! found"; search fuses words and meaning; none of it crosses a caller's reach; the owner edits
//! and exports; shredding a meeting removes it from search; PII redaction before every model
//! keeps placeholders for everyone but the owner. Real models (SmolLM2, MiniLM, Whisper tiny.en).

use std::time::{Duration, Instant};

use meetvault_test_support::media::{chat_model_dir, embedding_model_dir, speak};
use meetvault_test_support::{Cred, Session, TestApp, json_str};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::transcription::{meeting, upload, wait_job};

/// An app that summarizes and indexes every stored transcript with the embedded models.
async fn app(adjust: impl FnOnce(&mut meetvault_config::Config)) -> TestApp {
    chat_model_dir();
    embedding_model_dir();
    TestApp::spawn_with(|c| {
        c.auth.open_registration = true;
        c.intelligence.auto = true;
        adjust(c);
    })
    .await
}

async fn import(app: &TestApp, cred: &Cred, meeting: &str, lines: &[(&str, &str)]) {
    let segments: Vec<Value> = lines
        .iter()
        .enumerate()
        .map(|(i, (speaker, text))| {
            json!({"start_ms": i as i64 * 5000, "end_ms": i as i64 * 5000 + 4500, "speaker": speaker, "text": text})
        })
        .collect();
    let r = app
        .send(
            cred,
            Method::POST,
            &format!("/api/v1/meetings/{meeting}/transcript"),
            Some(json!({ "segments": segments })),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
}

/// Polls the summary until it is there (the job runs after the transcript is stored).
async fn summary(app: &TestApp, cred: &Cred, meeting: &str, limit: Duration) -> Value {
    let start = Instant::now();
    loop {
        let r = app
            .send(
                cred,
                Method::GET,
                &format!("/api/v1/meetings/{meeting}/summary"),
                None,
            )
            .await;
        if r.status() == StatusCode::OK {
            return r.json().await.unwrap();
        }
        assert_eq!(
            r.status(),
            StatusCode::NOT_FOUND,
            "{}",
            r.text().await.unwrap()
        );
        assert!(start.elapsed() < limit, "no summary within {limit:?}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

async fn post(app: &TestApp, cred: &Cred, path: &str, body: Value) -> (StatusCode, Value) {
    let r = app.send(cred, Method::POST, path, Some(body)).await;
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

const BUDGET: &[(&str, &str)] = &[
    (
        "Ana",
        "Good morning everyone, this is the quarterly budget review.",
    ),
    (
        "Ben",
        "The vendor quote for the new servers came in twenty percent higher than planned.",
    ),
    (
        "Ana",
        "That is a problem for the hardware line of the budget.",
    ),
    ("Ben", "I'll send the revised budget to finance by Friday."),
    (
        "Cara",
        "We decided to move the product launch to the fourteenth of March.",
    ),
    (
        "Ana",
        "Cara, can you update the launch plan and tell the sales team?",
    ),
    ("Cara", "Sure, I will update the launch plan tomorrow."),
    (
        "Ben",
        "The marketing agency asked for the brand guidelines again.",
    ),
];

#[tokio::test]
async fn a_recording_becomes_a_transcript_a_summary_with_timed_action_items_and_answers() {
    let app = app(|c| {
        meetvault_test_support::media::whisper_model_dir();
        c.transcription.auto = true;
    })
    .await;
    let s = app.register("owner@example.com", "Acme").await;
    let cred = Cred::Session(s.clone());
    let id = meeting(
        &app,
        &s,
        json!({"title": "Budget review", "language": "en"}),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("ben.wav");
    speak(
        "Good morning. The vendor quote came in higher than planned. \
         I will send the revised budget to finance by Friday. Thank you.",
        "en-us+m1",
        &wav,
    );
    let r = upload(
        &app,
        &s,
        &id,
        "?speaker=Ben",
        "audio/wav",
        std::fs::read(&wav).unwrap(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let job = json_str(r, "job_id").await;
    wait_job(&app, &s, &job, Duration::from_secs(300)).await;
    let sum = summary(&app, &cred, &id, Duration::from_secs(300)).await;
    // The model's overview is kept only when it passes the faithfulness check; else the
    // overview is extracted (`rules`). Either way it is there.
    assert!(
        ["embedded", "rules"].contains(&sum["generated_by"].as_str().unwrap()),
        "{sum}"
    );
    assert!(
        !sum["overview"].as_str().unwrap().trim().is_empty(),
        "{sum}"
    );
    let items = sum["action_items"].as_array().unwrap();
    let budget = items
        .iter()
        .find(|a| {
            a["task"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains("budget")
        })
        .unwrap_or_else(|| panic!("no action item about the budget: {sum}"));
    assert_eq!(budget["owner"], "Ben", "{sum}");
    // (Whisper tiny.en sometimes hears espeak's "by Friday" as "my Friday", which is then part
    // of the task rather than its due date: the import tests hold the due date exactly.)
    assert!(
        budget["due"] == "Friday" || budget["task"].as_str().unwrap().contains("Friday"),
        "{sum}"
    );
    let at = budget["start_ms"].as_u64().unwrap();
    assert!(
        at > 0 && at < 15_000,
        "the item's moment is in the recording: {sum}"
    );

    // A question is answered from the meeting, citing it; an unrelated one is not found.
    let (st, ans) = post(
        &app,
        &cred,
        "/api/v1/ask",
        json!({"question": "Who sends the revised budget to finance?"}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{ans}");
    assert_eq!(ans["found"], true, "{ans}");
    assert_eq!(ans["citations"][0]["meeting_id"], id.as_str());
    assert_eq!(ans["citations"][0]["speaker"], "Ben");
    assert!(
        ans["answer"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("budget"),
        "{ans}"
    );
    let (_, none) = post(
        &app,
        &cred,
        "/api/v1/ask",
        json!({"question": "What is the recipe for sourdough bread?"}),
    )
    .await;
    assert_eq!(none["found"], false, "{none}");
    assert_eq!(none["message"], "Not found in your meetings.");
    assert!(none["citations"].as_array().unwrap().is_empty());

    // The analytics need no model.
    let r = app
        .send(
            &cred,
            Method::GET,
            &format!("/api/v1/meetings/{id}/analytics"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let a: Value = r.json().await.unwrap();
    assert_eq!(a["speakers"][0]["speaker"], "Ben", "{a}");
    assert!(a["speakers"][0]["words"].as_u64().unwrap() > 10, "{a}");

    // The processors list says what saw the meeting.
    let r = app
        .send(&cred, Method::GET, "/api/v1/processors", None)
        .await;
    let p: Value = r.json().await.unwrap();
    let names: Vec<&str> = p["processors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["active"] == true)
        .map(|x| x["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"smollm2-135m-instruct")
            && names.contains(&"all-minilm-l6-v2")
            && names.contains(&"whisper-tiny.en"),
        "{p}"
    );
}

#[tokio::test]
async fn search_and_questions_never_reach_past_the_callers_meetings() {
    let app = app(|_| {}).await;
    let owner = app.register("owner@example.com", "Acme").await;
    let oc = Cred::Session(owner.clone());
    let ws = |name: &'static str| {
        let app = &app;
        let oc = oc.clone();
        async move {
            let (st, v) = post(app, &oc, "/api/v1/workspaces", json!({"name": name})).await;
            assert_eq!(st, StatusCode::CREATED);
            v["id"].as_str().unwrap().to_owned()
        }
    };
    let sales = ws("Sales").await;
    let legal = ws("Legal").await;
    let (_, m1) = post(
        &app,
        &oc,
        "/api/v1/meetings",
        json!({"title": "Pipeline", "workspace_id": sales}),
    )
    .await;
    let (_, m2) = post(
        &app,
        &oc,
        "/api/v1/meetings",
        json!({"title": "Merger", "workspace_id": legal}),
    )
    .await;
    let (m1, m2) = (
        m1["id"].as_str().unwrap().to_owned(),
        m2["id"].as_str().unwrap().to_owned(),
    );
    import(&app, &oc, &m1, BUDGET).await;
    import(&app, &oc, &m2, &[
        ("Dana", "The acquisition of Northwind closes on the thirtieth; keep the merger confidential."),
        ("Eli", "Our counsel will file the antitrust notice next week."),
    ]).await;
    summary(&app, &oc, &m1, Duration::from_secs(180)).await;
    summary(&app, &oc, &m2, Duration::from_secs(180)).await;

    // The owner finds both, by word and by meaning, with highlights and filters.
    let (st, r) = post(
        &app,
        &oc,
        "/api/v1/search",
        json!({"query": "merger acquisition"}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(r["hits"][0]["meeting_id"], m2.as_str(), "{r}");
    assert_eq!(r["hits"][0]["meeting_title"], "Merger");
    let h = &r["hits"][0]["highlights"][0];
    let text = r["hits"][0]["text"].as_str().unwrap();
    let word = &text[h["start"].as_u64().unwrap() as usize..h["end"].as_u64().unwrap() as usize];
    assert!(
        ["merger", "acquisition"].contains(&word.to_lowercase().as_str()),
        "{r}"
    );
    let (_, r) = post(
        &app,
        &oc,
        "/api/v1/search",
        json!({"query": "servers cost more than expected"}),
    )
    .await;
    assert_eq!(r["hits"][0]["meeting_id"], m1.as_str(), "{r}");
    assert!(
        r["hits"][0]["matched_by"]
            .as_array()
            .unwrap()
            .contains(&json!("semantic")),
        "{r}"
    );
    let (_, r) = post(
        &app,
        &oc,
        "/api/v1/search",
        json!({"query": "launch plan", "speaker": "cara"}),
    )
    .await;
    assert!(
        r["hits"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["speaker"] == "Cara"),
        "{r}"
    );
    assert!(!r["hits"].as_array().unwrap().is_empty());
    let (_, r) = post(
        &app,
        &oc,
        "/api/v1/search",
        json!({"query": "merger", "workspace_id": sales}),
    )
    .await;
    assert!(
        r["hits"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["meeting_id"] == m1.as_str()),
        "{r}"
    );

    // A key bound to Sales finds nothing of Legal's, and cannot name its meeting.
    let (st, k) = post(
        &app,
        &oc,
        "/api/v1/api-keys",
        json!({"name": "sales", "permissions": ["meetings:read"], "workspace_id": sales}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED);
    let key = Cred::Bearer(k["key"].as_str().unwrap().to_owned());
    let (_, r) = post(
        &app,
        &key,
        "/api/v1/search",
        json!({"query": "merger acquisition antitrust Northwind"}),
    )
    .await;
    assert!(
        r["hits"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["meeting_id"] == m1.as_str()),
        "{r}"
    );
    let (_, a) = post(
        &app,
        &key,
        "/api/v1/ask",
        json!({"question": "When does the Northwind acquisition close?"}),
    )
    .await;
    assert_eq!(a["found"], false, "{a}");
    let (st, _) = post(
        &app,
        &key,
        "/api/v1/ask",
        json!({"question": "When does it close?", "meeting_id": m2}),
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (_, a) = post(
        &app,
        &oc,
        "/api/v1/ask",
        json!({"question": "When does the Northwind acquisition close?"}),
    )
    .await;
    assert_eq!(a["found"], true, "{a}");
    assert_eq!(a["citations"][0]["meeting_id"], m2.as_str(), "{a}");

    // Bad input is refused and names the field.
    for body in [
        json!({"query": "  "}),
        json!({"query": "x", "limit": 0}),
        json!({"query": "x", "from": "2026-12-01T00:00:00Z", "to": "2026-11-01T00:00:00Z"}),
    ] {
        let (st, e) = post(&app, &oc, "/api/v1/search", body).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    }
    let (st, _) = post(
        &app,
        &oc,
        "/api/v1/ask",
        json!({"question": "x", "bogus": 1}),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);

    // Deleting (crypto-shredding) a meeting takes it out of search; its certificate counts it.
    let r = app
        .send(&oc, Method::DELETE, &format!("/api/v1/meetings/{m2}"), None)
        .await;
    assert!(r.status().is_success());
    let (_, r) = post(
        &app,
        &oc,
        "/api/v1/search",
        json!({"query": "merger acquisition antitrust Northwind"}),
    )
    .await;
    assert!(
        r["hits"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["meeting_id"] == m1.as_str()),
        "{r}"
    );
    let rows: i64 = sqlx_count(&app, &m2).await;
    assert_eq!(rows, 0, "the meeting's summary and index rows are gone");
}

async fn sqlx_count(app: &TestApp, meeting: &str) -> i64 {
    let id = meeting.trim_start_matches("mtg_");
    let uuid = uuid::Uuid::parse_str(id).unwrap();
    crate::retention::rows(app, "meeting_intel", "meeting_id", uuid).await
}

#[tokio::test]
async fn the_owner_edits_regenerates_and_exports_the_summary() {
    let app = app(|_| {}).await;
    let owner = app.register("owner@example.com", "Acme").await;
    let oc = Cred::Session(owner.clone());
    let id = meeting(&app, &owner, json!({"title": "Budget review"})).await;
    import(&app, &oc, &id, BUDGET).await;
    let first = summary(&app, &oc, &id, Duration::from_secs(180)).await;
    assert!(
        first["decisions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["text"].as_str().unwrap().contains("launch")),
        "{first}"
    );
    assert!(first["edited_at"].is_null());
    let item = first["action_items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["owner"] == "Ben")
        .unwrap_or_else(|| panic!("{first}"));
    assert!(
        item["task"]
            .as_str()
            .unwrap()
            .starts_with("send the revised budget to finance"),
        "{first}"
    );
    assert_eq!(item["due"], "Friday");
    assert_eq!(item["start_ms"], 15_000, "the segment it was said in");

    let edit = json!({"overview": "Budget review; launch moved.", "decisions": [], "key_points": [],
        "action_items": [{"task": "send the revised budget", "owner": "Ben", "due": "Friday", "start_ms": 15000, "done": true}]});
    let r = app
        .send(
            &oc,
            Method::PUT,
            &format!("/api/v1/meetings/{id}/summary"),
            Some(edit.clone()),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let edited: Value = r.json().await.unwrap();
    assert_eq!(edited["overview"], "Budget review; launch moved.");
    assert!(edited["edited_at"].is_string());
    let again = summary(&app, &oc, &id, Duration::from_secs(5)).await;
    assert_eq!(again["action_items"][0]["done"], true);

    // Someone else who may write the meeting may not edit its summary; nonsense is refused.
    let admin = app.user_with_role(&owner, "admin").await;
    let r = app
        .send(
            &Cred::Session(admin),
            Method::PUT,
            &format!("/api/v1/meetings/{id}/summary"),
            Some(edit),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app
        .send(
            &oc,
            Method::PUT,
            &format!("/api/v1/meetings/{id}/summary"),
            Some(json!({"overview": "x", "action_items": [{"task": " "}]})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // The export carries the summary and the transcript, as a sandboxed attachment.
    let r = app
        .send(
            &oc,
            Method::GET,
            &format!("/api/v1/meetings/{id}/summary?format=md"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let md = r.text().await.unwrap();
    assert!(md.starts_with("# Budget review"), "{md}");
    assert!(
        md.contains("- [x] send the revised budget — Ben (due Friday) [00:15]"),
        "{md}"
    );
    assert!(
        md.contains("## Transcript") && md.contains("quarterly budget review"),
        "{md}"
    );
    let r = app
        .send(
            &oc,
            Method::GET,
            &format!("/api/v1/meetings/{id}/summary?format=json"),
            None,
        )
        .await;
    let doc: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    assert_eq!(doc["transcript"].as_array().unwrap().len(), BUDGET.len());
    let r = app
        .send(
            &oc,
            Method::GET,
            &format!("/api/v1/meetings/{id}/summary?format=pdf"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Regenerating replaces the edit with a fresh summary.
    let (st, q) = post(
        &app,
        &oc,
        &format!("/api/v1/meetings/{id}/summary"),
        json!({}),
    )
    .await;
    assert_eq!(st, StatusCode::ACCEPTED, "{q}");
    wait_job(
        &app,
        &owner,
        q["job_id"].as_str().unwrap(),
        Duration::from_secs(180),
    )
    .await;
    let fresh = summary(&app, &oc, &id, Duration::from_secs(5)).await;
    assert!(fresh["edited_at"].is_null(), "{fresh}");
    assert_eq!(fresh["decisions"], first["decisions"]);

    // A meeting without a transcript has nothing to summarize.
    let empty = meeting(&app, &owner, json!({"title": "Empty"})).await;
    let (st, _) = post(
        &app,
        &oc,
        &format!("/api/v1/meetings/{empty}/summary"),
        json!({}),
    )
    .await;
    assert_eq!(st, StatusCode::CONFLICT);
}

#[tokio::test]
async fn with_redaction_before_every_model_only_the_owner_sees_personal_data() {
    let app = app(|c| c.intelligence.pii_redaction = meetvault_config::PiiRedaction::All).await;
    let owner = app.register("owner@example.com", "Acme").await;
    let oc = Cred::Session(owner.clone());
    let id = meeting(&app, &owner, json!({"title": "Contracts"})).await;
    import(
        &app,
        &oc,
        &id,
        &[
            ("Ana", "Let's finish the contract review today."),
            (
                "Ben",
                "I'll email the signed contract to dana.reyes@northwind.example by Friday.",
            ),
        ],
    )
    .await;
    let mine = summary(&app, &oc, &id, Duration::from_secs(180)).await;
    assert_eq!(mine["redacted"], false);
    assert!(
        mine.to_string().contains("dana.reyes@northwind.example"),
        "{mine}"
    );
    let admin: Session = app.user_with_role(&owner, "admin").await;
    let theirs = summary(&app, &Cred::Session(admin), &id, Duration::from_secs(5)).await;
    assert_eq!(theirs["redacted"], true, "{theirs}");
    assert!(!theirs.to_string().contains("dana.reyes"), "{theirs}");
    assert!(theirs.to_string().contains("[EMAIL_1]"), "{theirs}");
}

#[tokio::test]
async fn a_workspace_that_stores_transcripts_redacted_never_stores_the_values() {
    let app = app(|c| {
        c.intelligence.pii_patterns = vec![meetvault_config::PiiPattern {
            name: "EMPLOYEE_ID".into(),
            pattern: "EMP-[0-9]{6}".into(),
        }];
    })
    .await;
    let owner = app.register("owner@example.com", "Acme").await;
    let oc = Cred::Session(owner.clone());
    let (_, ws) = post(&app, &oc, "/api/v1/workspaces", json!({"name": "HR"})).await;
    let ws = ws["id"].as_str().unwrap().to_owned();
    let r = app
        .send(
            &oc,
            Method::PUT,
            &format!("/api/v1/workspaces/{ws}/intelligence"),
            Some(json!({"redacted_transcripts": true})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let got: Value = r.json().await.unwrap();
    assert_eq!(got["redacted_transcripts"], true, "{got}");
    assert_eq!(
        got["provider"],
        Value::Null,
        "it inherits the org's provider"
    );
    let hr = meeting(
        &app,
        &owner,
        json!({"title": "Onboarding", "workspace_id": ws}),
    )
    .await;
    let elsewhere = meeting(&app, &owner, json!({"title": "Sales"})).await;
    let lines = [
        (
            "Ana",
            "Send the offer to mira.k@example.org and file it under EMP-204871.",
        ),
        ("Ben", "Her card 4111 1111 1111 1111 pays the deposit."),
    ];
    import(&app, &oc, &hr, &lines).await;
    import(&app, &oc, &elsewhere, &lines).await;
    let transcript = |id: String| {
        let app = &app;
        let oc = oc.clone();
        async move {
            app.send(
                &oc,
                Method::GET,
                &format!("/api/v1/meetings/{id}/transcript"),
                None,
            )
            .await
            .text()
            .await
            .unwrap()
        }
    };
    let t = transcript(hr.clone()).await;
    for value in ["mira.k@example.org", "EMP-204871", "4111 1111 1111 1111"] {
        assert!(!t.contains(value), "{value} stored: {t}");
    }
    for placeholder in ["[EMAIL_1]", "[EMPLOYEE_ID_1]", "[CARD_1]"] {
        assert!(t.contains(placeholder), "{placeholder}: {t}");
    }
    // Nothing restores it, not even for the owner; the summary was made from it.
    let s = summary(&app, &oc, &hr, Duration::from_secs(180)).await;
    assert!(!s.to_string().contains("mira.k@example.org"), "{s}");
    // A meeting elsewhere keeps its words.
    assert!(transcript(elsewhere).await.contains("mira.k@example.org"));
    // A meeting may turn it off for itself; a bad setting is refused.
    let r = app
        .send(
            &oc,
            Method::PATCH,
            &format!("/api/v1/meetings/{hr}"),
            Some(json!({"intelligence": {"redacted_transcripts": false}})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let m: Value = r.json().await.unwrap();
    assert_eq!(m["intelligence"]["redacted_transcripts"], false, "{m}");
    import(
        &app,
        &oc,
        &hr,
        &[("Ana", "Call me at mira.k@example.org later.")],
    )
    .await;
    assert!(transcript(hr.clone()).await.contains("mira.k@example.org"));
    for bad in [
        json!({"intelligence": {"prompt": "  "}}),
        json!({"intelligence": {"model": "gpt"}}),
        json!({"intelligence": {"provider": "openai"}}),
        json!({"intelligence": {"provider": "magic"}}),
    ] {
        let r = app
            .send(
                &oc,
                Method::PATCH,
                &format!("/api/v1/meetings/{hr}"),
                Some(bad.clone()),
            )
            .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
}
