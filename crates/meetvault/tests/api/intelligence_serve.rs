//! meetvault as a private model server: OpenAI's own Python SDK (PyPI `openai`, pinned by
//! `scripts/openai-sdk.sh`) calls `POST /v1/chat/completions` and `POST /v1/embeddings` with
//! an API key, as existing code would; the embeddings it gets back are sentence-transformers'
//! (the fixture the intel crate holds the engine to), and what the endpoint does not serve is
//! refused in a way the SDK reports.

use std::process::Command;

use meetvault_test_support::media::{chat_model_dir, embedding_model_dir};
use meetvault_test_support::{Cred, TestApp, json_str};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn sdk_python() -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new("bash")
        .arg(root.join("scripts/openai-sdk.sh"))
        .output()
        .expect("running scripts/openai-sdk.sh");
    assert!(
        out.status.success(),
        "OpenAI's Python SDK could not be installed (scripts/openai-sdk.sh needs PyPI): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Runs `program` with the SDK, `input` as JSON on stdin; its JSON on stdout.
fn sdk(program: &str, input: Value) -> Value {
    use std::io::Write as _;
    let mut child = Command::new(sdk_python())
        .arg("-c")
        .arg(program)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the SDK program failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

const PROGRAM: &str = r#"
import sys, json, openai
req = json.load(sys.stdin)
client = openai.OpenAI(base_url=req["base_url"], api_key=req["key"], max_retries=0)
out = {}
chat = client.chat.completions.create(
    model="smollm2-135m-instruct",
    messages=[{"role": "system", "content": "You answer in one short sentence."},
              {"role": "user", "content": "What is the capital of France?"}],
    max_tokens=24, temperature=0, seed=7)
out["chat"] = chat.model_dump()
# The SDK asks for base64 by default and decodes it.
emb = client.embeddings.create(model="all-minilm-l6-v2", input=req["sentences"])
out["embeddings"] = [d.embedding for d in emb.data]
out["embedding_usage"] = emb.usage.model_dump()
floats = client.embeddings.create(model="all-minilm-l6-v2", input=req["sentences"][0], encoding_format="float")
out["float"] = floats.data[0].embedding
# Structured outputs: the SDK turns a pydantic model into a strict JSON schema and parses the
# answer back into it; a raw schema's answer parses even when max_tokens cuts it short.
from pydantic import BaseModel
class Note(BaseModel):
    title: str
    topics: list[str]
    decided: bool
    attendees: int
parsed = client.chat.completions.parse(
    model="smollm2-135m-instruct",
    messages=[{"role": "system", "content": "Describe the meeting as JSON."},
              {"role": "user", "content": "Ana and Ben met to agree the budget; they agreed it."}],
    response_format=Note, max_tokens=200)
out["parsed"] = parsed.choices[0].message.parsed.model_dump()
out["parsed_finish"] = parsed.choices[0].finish_reason
for tokens in (400, 25):
    raw = client.chat.completions.create(
        model="smollm2-135m-instruct",
        messages=[{"role": "system", "content": "Summarise the transcript as JSON."},
                  {"role": "user", "content": "[1] Ana: The quote is high.\n[2] Ben: I'll send the budget to finance by Friday."}],
        response_format={"type": "json_schema", "json_schema": {"name": "summary", "strict": True, "schema": req["schema"]}},
        max_tokens=tokens)
    out[f"raw_{tokens}"] = json.loads(raw.choices[0].message.content)
    out[f"raw_{tokens}_finish"] = raw.choices[0].finish_reason
errors = {}
for name, call in [
    ("model", lambda: client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])),
    ("stream", lambda: client.chat.completions.create(model="smollm2-135m-instruct", messages=[{"role": "user", "content": "hi"}], stream=True)),
    ("json", lambda: client.chat.completions.create(model="smollm2-135m-instruct", messages=[{"role": "user", "content": "hi"}], response_format={"type": "json_object"})),
    ("ref", lambda: client.chat.completions.create(model="smollm2-135m-instruct", messages=[{"role": "user", "content": "hi"}], response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": {"$ref": "other.json"}}})),
    ("dimensions", lambda: client.embeddings.create(model="all-minilm-l6-v2", input="hi", dimensions=64)),
]:
    try:
        call()
        errors[name] = None
    except openai.APIStatusError as e:
        errors[name] = e.status_code
out["errors"] = errors
try:
    openai.OpenAI(base_url=req["base_url"], api_key=req["read_key"], max_retries=0).embeddings.create(model="all-minilm-l6-v2", input="hi")
    out["read_only"] = None
except openai.APIStatusError as e:
    out["read_only"] = e.status_code
print(json.dumps(out))
"#;

#[tokio::test]
async fn openais_sdk_gets_completions_and_sentence_transformers_embeddings_from_meetvault() {
    chat_model_dir();
    embedding_model_dir();
    let app = TestApp::spawn_with(|c| c.auth.open_registration = true).await;
    let owner = app.register("models@example.com", "Models").await;
    let oc = Cred::Session(owner.clone());
    let mut keys = Vec::new();
    for perms in [
        json!(["meetings:read", "meetings:write"]),
        json!(["meetings:read"]),
    ] {
        let r = app
            .send(
                &oc,
                Method::POST,
                "/api/v1/api-keys",
                Some(json!({"name": "sdk", "permissions": perms})),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        keys.push(json_str(r, "key").await);
    }
    let reference: Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../intel/tests/fixtures/minilm-reference.json"),
        )
        .unwrap(),
    )
    .unwrap();
    // OpenAI refuses empty inputs, and so does meetvault: the fixture's empty sentence is left
    // out (the intel crate's own test covers it).
    let kept: Vec<usize> = (0..reference["sentences"].as_array().unwrap().len())
        .filter(|&i| !reference["sentences"][i].as_str().unwrap().is_empty())
        .collect();
    let sentences: Vec<Value> = kept
        .iter()
        .map(|&i| reference["sentences"][i].clone())
        .collect();
    let url = app.url("/v1");
    let out = tokio::task::spawn_blocking(move || {
        sdk(
            PROGRAM,
            json!({"base_url": url, "key": keys[0], "read_key": keys[1], "sentences": sentences,
                "schema": meetvault_intel::structured::schema()}),
        )
    })
    .await
    .unwrap();

    let chat = &out["chat"];
    assert_eq!(chat["object"], "chat.completion", "{chat}");
    assert_eq!(chat["model"], "smollm2-135m-instruct");
    let answer = chat["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(answer.contains("Paris"), "{chat}");
    assert!(["stop", "length"].contains(&chat["choices"][0]["finish_reason"].as_str().unwrap()));
    let usage = &chat["usage"];
    assert!(usage["prompt_tokens"].as_u64().unwrap() > 10);
    assert_eq!(
        usage["total_tokens"].as_u64().unwrap(),
        usage["prompt_tokens"].as_u64().unwrap() + usage["completion_tokens"].as_u64().unwrap()
    );

    // Every vector is sentence-transformers' own, through the SDK's base64 decoding too.
    let expected: Vec<Value> = kept
        .iter()
        .map(|&i| reference["embeddings"][i].clone())
        .collect();
    let got = out["embeddings"].as_array().unwrap();
    assert_eq!(got.len(), expected.len());
    let cosine = |a: &Value, b: &Value| -> f64 {
        a.as_array()
            .unwrap()
            .iter()
            .zip(b.as_array().unwrap())
            .map(|(x, y)| x.as_f64().unwrap() * y.as_f64().unwrap())
            .sum()
    };
    for (g, e) in got.iter().zip(&expected) {
        assert_eq!(g.as_array().unwrap().len(), 384);
        let c = cosine(g, e);
        assert!(c > 0.9999, "cosine with sentence-transformers {c}");
    }
    assert!(cosine(&out["float"], &expected[0]) > 0.9999);
    assert!(out["embedding_usage"]["prompt_tokens"].as_u64().unwrap() > 20);

    // Answers held to a schema: pydantic (through the SDK) parsed one; the summary schema's
    // answer has every section, even cut short by max_tokens.
    let note = &out["parsed"];
    assert!(
        note["title"].is_string() && note["topics"].is_array(),
        "{note}"
    );
    assert!(
        note["decided"].is_boolean() && note["attendees"].is_u64(),
        "{note}"
    );
    for (key, finish) in [("raw_400", None), ("raw_25", Some("length"))] {
        let raw = &out[key];
        let draft: meetvault_intel::structured::Draft =
            serde_json::from_value(raw.clone()).unwrap_or_else(|e| panic!("{key}: {e}: {raw}"));
        assert!(
            raw["action_items"].is_array() && raw["overview"].is_string(),
            "{raw}"
        );
        if let Some(f) = finish {
            assert_eq!(out[format!("{key}_finish")], f, "{raw}");
        }
        drop(draft);
    }
    // What is not served is refused, and the SDK says so with the status.
    assert_eq!(
        out["errors"],
        json!({"model": 422, "stream": 422, "json": 422, "ref": 422, "dimensions": 422})
    );
    assert_eq!(out["read_only"], 403, "a key without meetings:write");
}

#[tokio::test]
async fn the_model_endpoints_can_be_turned_off() {
    let app = TestApp::spawn_with(|c| {
        c.auth.open_registration = true;
        c.intelligence.openai_endpoint = false;
    })
    .await;
    let owner = app.register("off@example.com", "Off").await;
    let r = app
        .send(
            &Cred::Session(owner),
            Method::POST,
            "/v1/embeddings",
            Some(json!({"model": "all-minilm-l6-v2", "input": "hi"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_orgs_remote_provider_is_another_meetvault_and_reads_only_redacted_text() {
    chat_model_dir();
    embedding_model_dir();
    // The provider: a second meetvault on loopback, serving its embedded chat model.
    let remote = TestApp::spawn_with(|c| c.auth.open_registration = true).await;
    let provider_owner = remote.register("provider@example.com", "Provider").await;
    let (key, _) = remote.api_key(&provider_owner, &["meetings:write"]).await;
    let host = remote.addr.to_string();
    let app = TestApp::spawn_with(|c| {
        c.auth.open_registration = true;
        c.intelligence.auto = true;
        c.outbound.allow_hosts = vec![host];
    })
    .await;
    let owner = app.register("client@example.com", "Client").await;
    let oc = Cred::Session(owner.clone());
    let put = |body: Value| {
        let app = &app;
        let oc = oc.clone();
        async move {
            app.send(&oc, Method::PUT, "/api/v1/org/intelligence", Some(body))
                .await
        }
    };
    let r = app
        .send(
            &oc,
            Method::PUT,
            "/api/v1/me/secrets/llm",
            Some(json!({"value": key})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let base = format!("{}/v1", remote.base_url);
    // Refused: a URL the outbound rules do not allow, no model, a secret the caller lacks.
    for body in [
        json!({"provider": "openai", "base_url": "http://10.1.2.3/v1", "model": "m"}),
        json!({"provider": "openai", "base_url": base}),
        json!({"provider": "openai", "base_url": base, "model": "smollm2-135m-instruct", "secret": "nope"}),
    ] {
        let r = put(body).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    let r = put(json!({"provider": "openai", "base_url": base, "model": "smollm2-135m-instruct", "secret": "llm"})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let set: Value = r.json().await.unwrap();
    assert_eq!(set["configured_by"], owner.user_id.as_str(), "{set}");
    assert!(!set.to_string().contains(&key), "the key is never shown");
    let r = app.send(&oc, Method::GET, "/api/v1/processors", None).await;
    let procs: Value = r.json().await.unwrap();
    assert!(
        procs.to_string().contains(&remote.addr.to_string()),
        "{procs}"
    );

    let id = crate::transcription::meeting(&app, &owner, json!({"title": "Contracts"})).await;
    let segments = json!({"segments": [
        {"start_ms": 0, "end_ms": 4000, "speaker": "Ana", "text": "Let's finish the contract review today."},
        {"start_ms": 5000, "end_ms": 9000, "speaker": "Ben", "text": "I'll email the signed contract to dana.reyes@northwind.example by Friday."},
    ]});
    let r = app
        .send(
            &oc,
            Method::POST,
            &format!("/api/v1/meetings/{id}/transcript"),
            Some(segments),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let started = std::time::Instant::now();
    let summary: Value = loop {
        let r = app
            .send(
                &oc,
                Method::GET,
                &format!("/api/v1/meetings/{id}/summary"),
                None,
            )
            .await;
        if r.status() == StatusCode::OK {
            break r.json().await.unwrap();
        }
        assert!(started.elapsed().as_secs() < 180, "no summary");
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    };
    // The overview came from the remote model when it passed the faithfulness check.
    assert!(
        ["openai:smollm2-135m-instruct", "rules"]
            .contains(&summary["generated_by"].as_str().unwrap()),
        "{summary}"
    );
    let metrics = remote.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains(r#"meetvault_http_requests_total{method="POST",route="/v1/chat/completions",status="200"} 1"#),
        "the provider answered once: {metrics}"
    );
    // The models read the transcript redacted (by default, before a remote provider): the
    // owner reads it restored, an admin reads the placeholder.
    assert!(
        summary.to_string().contains("dana.reyes@northwind.example"),
        "{summary}"
    );
    let admin = app.user_with_role(&owner, "admin").await;
    let r = app
        .send(
            &Cred::Session(admin),
            Method::GET,
            &format!("/api/v1/meetings/{id}/summary"),
            None,
        )
        .await;
    let theirs: Value = r.json().await.unwrap();
    assert_eq!(theirs["redacted"], true, "{theirs}");
    assert!(
        theirs.to_string().contains("[EMAIL_1]") && !theirs.to_string().contains("dana.reyes"),
        "{theirs}"
    );

    // A workspace that keeps to the embedded model: its meetings never reach the provider.
    let calls = || async {
        let m = remote.get("/metrics").await.text().await.unwrap();
        m.lines()
            .find(|l| l.starts_with(r#"meetvault_http_requests_total{method="POST",route="/v1/chat/completions",status="200"}"#))
            .and_then(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // A question is answered by the provider too (it must cite the excerpts it was given, or
    // the passages are quoted), from excerpts redacted first.
    let asked = calls().await;
    let r = app
        .send(
            &oc,
            Method::POST,
            "/api/v1/ask",
            Some(json!({"question": "Who will email the signed contract?", "meeting_id": id})),
        )
        .await;
    let a: Value = r.json().await.unwrap();
    assert_eq!(a["found"], true, "{a}");
    assert!(
        ["generated", "quoted"].contains(&a["method"].as_str().unwrap()),
        "{a}"
    );
    assert!(
        a["citations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["speaker"] == "Ben"),
        "{a}"
    );
    assert_eq!(calls().await, asked + 1, "the provider was asked");
    let (_, ws) = {
        let r = app
            .send(
                &oc,
                Method::POST,
                "/api/v1/workspaces",
                Some(json!({"name": "Legal"})),
            )
            .await;
        (r.status(), r.json::<Value>().await.unwrap())
    };
    let ws = ws["id"].as_str().unwrap().to_owned();
    let r = app
        .send(
            &oc,
            Method::PUT,
            &format!("/api/v1/workspaces/{ws}/intelligence"),
            Some(json!({"provider": "embedded"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let wait_summary = |id: String, after: Option<String>| {
        let app = &app;
        let oc = oc.clone();
        async move {
            let started = std::time::Instant::now();
            loop {
                let r = app
                    .send(
                        &oc,
                        Method::GET,
                        &format!("/api/v1/meetings/{id}/summary"),
                        None,
                    )
                    .await;
                if r.status() == StatusCode::OK {
                    let v: Value = r.json().await.unwrap();
                    if after.as_deref() != v["generated_at"].as_str() {
                        return v;
                    }
                }
                assert!(started.elapsed().as_secs() < 180, "no summary");
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            }
        }
    };
    let lines = json!({"segments": [
        {"start_ms": 0, "end_ms": 4000, "speaker": "Ana", "text": "The merger filing is due on the thirtieth."},
        {"start_ms": 5000, "end_ms": 9000, "speaker": "Eli", "text": "I'll send the antitrust notice to counsel tomorrow."},
    ]});
    let quiet =
        crate::transcription::meeting(&app, &owner, json!({"title": "Merger", "workspace_id": ws}))
            .await;
    app.send(
        &oc,
        Method::POST,
        &format!("/api/v1/meetings/{quiet}/transcript"),
        Some(lines.clone()),
    )
    .await;
    let before = calls().await;
    let s = wait_summary(quiet.clone(), None).await;
    assert_ne!(
        s["generated_by"].as_str().unwrap(),
        "openai:smollm2-135m-instruct",
        "{s}"
    );
    assert_eq!(
        calls().await,
        before,
        "the workspace's meetings stay on this server"
    );
    // …but a meeting there may name the provider itself, and a regeneration may name another
    // prompt: each reaches the provider once more.
    let own = crate::transcription::meeting(&app, &owner, json!({"title": "Filing", "workspace_id": ws,
        "intelligence": {"provider": "openai", "base_url": base, "model": "smollm2-135m-instruct", "secret": "llm"}})).await;
    app.send(
        &oc,
        Method::POST,
        &format!("/api/v1/meetings/{own}/transcript"),
        Some(lines.clone()),
    )
    .await;
    let first = wait_summary(own.clone(), None).await;
    assert_eq!(calls().await, before + 1, "{first}");
    let r = app
        .send(&oc, Method::POST, &format!("/api/v1/meetings/{quiet}/summary"),
            Some(json!({"provider": "openai", "base_url": base, "model": "smollm2-135m-instruct", "secret": "llm",
                "prompt": "Summarize the meeting in one sentence for a lawyer."})))
        .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    wait_summary(quiet.clone(), s["generated_at"].as_str().map(str::to_owned)).await;
    assert_eq!(calls().await, before + 2);
    // A provider that refuses (an unknown model) leaves the embedded path's summary in place.
    let r = app
        .send(&oc, Method::POST, &format!("/api/v1/meetings/{own}/summary"),
            Some(json!({"provider": "openai", "base_url": base, "model": "no-such-model", "secret": "llm"})))
        .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let fell_back = wait_summary(
        own.clone(),
        first["generated_at"].as_str().map(str::to_owned),
    )
    .await;
    assert!(
        !fell_back["generated_by"]
            .as_str()
            .unwrap()
            .starts_with("openai:"),
        "{fell_back}"
    );
    assert!(
        !fell_back["action_items"].as_array().unwrap().is_empty(),
        "{fell_back}"
    );
    // Refused settings: another's secret, a provider without its model, unknown fields.
    let admin = app.user_with_role(&owner, "admin").await;
    for (cred, body) in [
        (
            Cred::Session(admin.clone()),
            json!({"provider": "openai", "base_url": base, "model": "m", "secret": "llm"}),
        ),
        (oc.clone(), json!({"provider": "openai", "base_url": base})),
        (oc.clone(), json!({"temperature": 2})),
    ] {
        let r = app
            .send(
                &cred,
                Method::POST,
                &format!("/api/v1/meetings/{own}/summary"),
                Some(body.clone()),
            )
            .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    }
    // The processors list names the provider once, whichever level chose it.
    let procs: Value = app
        .send(&oc, Method::GET, "/api/v1/processors", None)
        .await
        .json()
        .await
        .unwrap();
    let named = procs["processors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| {
            p["location"]
                .as_str()
                .unwrap_or("")
                .contains(&remote.addr.to_string())
        })
        .count();
    assert_eq!(named, 1, "{procs}");
}
