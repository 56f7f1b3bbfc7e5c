//! Documents attached to a meeting (issue 19): a pre-read (PDF made by reportlab, Markdown,
//! HTML, text) answers questions and search results beside the transcript, citing the
//! document; bad files are refused and leave nothing; a key confined to another workspace
//! never sees a chunk; ephemeral documents go when their time runs out or the meeting is
//! deleted, kept ones stay, and the deletion certificate counts them.

use meetvault_test_support::media::embedding_model_dir;
use meetvault_test_support::{Cred, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn app(adjust: impl FnOnce(&mut meetvault_config::Config)) -> TestApp {
    embedding_model_dir();
    TestApp::spawn_with(|c| {
        c.auth.open_registration = true;
        adjust(c);
    })
    .await
}

async fn post(app: &TestApp, cred: &Cred, path: &str, body: Value) -> (StatusCode, Value) {
    let r = app.send(cred, Method::POST, path, Some(body)).await;
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn attach(
    app: &TestApp,
    cred: &Cred,
    meeting: &str,
    query: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let r = app
        .send_bytes(
            cred,
            &format!("/api/v1/meetings/{meeting}/documents?{query}"),
            content_type,
            body,
        )
        .await;
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn listed(app: &TestApp, cred: &Cred, meeting: &str) -> Vec<Value> {
    let r = app
        .send(
            cred,
            Method::GET,
            &format!("/api/v1/meetings/{meeting}/documents"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json::<Value>().await.unwrap()["documents"]
        .as_array()
        .unwrap()
        .clone()
}

/// A two-page PDF written by reportlab (not by us), through `scripts/pdf-tools.sh`.
fn reportlab_pdf(lines: &[&str]) -> Vec<u8> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = std::process::Command::new("bash")
        .arg(root.join("scripts/pdf-tools.sh"))
        .output()
        .expect("run scripts/pdf-tools.sh");
    assert!(
        out.status.success(),
        "scripts/pdf-tools.sh failed (it installs reportlab): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let python = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pre-read.pdf");
    let script = "import sys\nfrom reportlab.pdfgen import canvas\nc = canvas.Canvas(sys.argv[1])\n\
        for i, line in enumerate(sys.argv[2:]):\n    if i and i % 2 == 0:\n        c.showPage()\n    \
        c.drawString(72, 720 - 20 * (i % 2), line)\nc.save()\n";
    let status = std::process::Command::new(&python)
        .arg("-c")
        .arg(script)
        .arg(&path)
        .args(lines)
        .status()
        .unwrap();
    assert!(status.success(), "reportlab could not write the PDF");
    std::fs::read(&path).unwrap()
}

#[tokio::test]
async fn a_pre_read_answers_questions_and_search_beside_the_transcript() {
    let app = app(|_| {}).await;
    let owner = app.register("owner@example.com", "Acme").await;
    let oc = Cred::Session(owner.clone());
    let (st, ws) = post(&app, &oc, "/api/v1/workspaces", json!({"name": "Sales"})).await;
    assert_eq!(st, StatusCode::CREATED);
    let sales = ws["id"].as_str().unwrap().to_owned();
    let (_, m) = post(
        &app,
        &oc,
        "/api/v1/meetings",
        json!({"title": "Vendor review"}),
    )
    .await;
    let m = m["id"].as_str().unwrap().to_owned();

    let pdf = reportlab_pdf(&[
        "Vendor review pre-read.",
        "The warehouse lease in Rotterdam renews on the first of July.",
        "The renewal raises the monthly rent by eleven percent.",
        "Facilities recommends signing for three more years.",
    ]);
    let (st, doc) = attach(
        &app,
        &oc,
        &m,
        "name=Lease%20pre-read.pdf",
        "application/pdf",
        pdf.clone(),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{doc}");
    assert_eq!(doc["name"], "Lease pre-read.pdf");
    assert_eq!(doc["media_type"], "application/pdf");
    assert_eq!(doc["size_bytes"], pdf.len() as u64);
    assert_eq!(doc["ephemeral"], true);
    assert!(doc["chunks"].as_u64().unwrap() >= 1, "{doc}");
    assert!(doc["id"].as_str().unwrap().starts_with("doc_"));
    let html = b"<html><head><title>x</title><style>p{color:red}</style><script>var secret='nope';</script></head>\
        <body><h1>Parking</h1><p>Visitors park in garage B &amp; show their badge at the gate.</p></body></html>"
        .to_vec();
    let (st, h) = attach(
        &app,
        &oc,
        &m,
        "name=parking.html&keep=true",
        "text/html; charset=utf-8",
        html,
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{h}");
    assert_eq!(h["ephemeral"], false);
    assert_eq!(h["expires_at"], Value::Null);
    let md = b"# Catering\n\n* The **caterer** needs the headcount by *Wednesday noon*.\n\n[menu](https://example.com/menu)\n".to_vec();
    let (st, _) = attach(&app, &oc, &m, "name=catering.md", "text/markdown", md).await;
    assert_eq!(st, StatusCode::CREATED);
    assert_eq!(listed(&app, &oc, &m).await.len(), 3);

    // Questions the documents answer cite the document, not a speaker or a time.
    let (st, a) = post(
        &app,
        &oc,
        "/api/v1/ask",
        json!({"question": "When does the warehouse lease renew?", "meeting_id": m}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{a}");
    assert_eq!(a["found"], true, "{a}");
    let c = &a["citations"][0];
    assert_eq!(c["document"]["name"], "Lease pre-read.pdf", "{a}");
    assert_eq!(c["document"]["id"], doc["id"]);
    assert_eq!(c["speaker"], Value::Null);
    assert_eq!(c["start_ms"], Value::Null);
    assert!(c["text"].as_str().unwrap().contains("first of July"), "{a}");
    let (_, a) = post(
        &app,
        &oc,
        "/api/v1/ask",
        json!({"question": "Where do visitors park?"}),
    )
    .await;
    assert_eq!(a["found"], true, "{a}");
    assert!(
        a["citations"][0]["text"]
            .as_str()
            .unwrap()
            .contains("garage B & show"),
        "{a}"
    );
    assert!(
        !a.to_string().contains("nope"),
        "script text is not document text: {a}"
    );
    // Search finds a chunk with highlights; a speaker filter leaves documents out.
    let (_, r) = post(
        &app,
        &oc,
        "/api/v1/search",
        json!({"query": "caterer headcount"}),
    )
    .await;
    let hit = &r["hits"][0];
    assert_eq!(hit["document"]["name"], "catering.md", "{r}");
    assert!(
        !hit["text"].as_str().unwrap().contains("**"),
        "markup stripped: {r}"
    );
    assert!(!hit["highlights"].as_array().unwrap().is_empty());
    let (_, r) = post(
        &app,
        &oc,
        "/api/v1/search",
        json!({"query": "caterer headcount", "speaker": "Ana"}),
    )
    .await;
    assert!(r["hits"].as_array().unwrap().is_empty(), "{r}");

    // A key confined to another workspace neither lists nor finds them.
    let (_, k) = post(&app, &oc, "/api/v1/api-keys", json!({"name": "sales", "permissions": ["meetings:read", "meetings:write"], "workspace_id": sales})).await;
    let key = Cred::Bearer(k["key"].as_str().unwrap().to_owned());
    let r = app
        .send(
            &key,
            Method::GET,
            &format!("/api/v1/meetings/{m}/documents"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let (_, r) = post(
        &app,
        &key,
        "/api/v1/search",
        json!({"query": "warehouse lease Rotterdam"}),
    )
    .await;
    assert!(r["hits"].as_array().unwrap().is_empty(), "{r}");
    let (_, a) = post(
        &app,
        &key,
        "/api/v1/ask",
        json!({"question": "When does the warehouse lease renew?"}),
    )
    .await;
    assert_eq!(a["found"], false, "{a}");
    let (st, _) = attach(
        &app,
        &key,
        &m,
        "name=x.txt",
        "text/plain",
        b"hello there".to_vec(),
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // Deleting one takes its chunks out of search at once; audited.
    let r = app
        .send(
            &oc,
            Method::DELETE,
            &format!(
                "/api/v1/meetings/{m}/documents/{}",
                h["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = app
        .send(
            &oc,
            Method::DELETE,
            &format!(
                "/api/v1/meetings/{m}/documents/{}",
                h["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::NOT_FOUND,
        "a second delete finds nothing"
    );
    let (_, r) = post(
        &app,
        &oc,
        "/api/v1/search",
        json!({"query": "garage badge"}),
    )
    .await;
    assert!(
        r["hits"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["document"]["name"] != "parking.html"),
        "{r}"
    );
    let audit = app
        .send(&oc, Method::GET, "/api/v1/audit?limit=100", None)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        audit.contains("document.attach") && audit.contains("document.delete"),
        "{audit}"
    );
}

#[tokio::test]
async fn bad_documents_are_refused_and_leave_nothing() {
    let app = app(|c| {
        c.intelligence.document_max_bytes = 4096;
        c.intelligence.documents_per_meeting = 2;
    })
    .await;
    let owner = app.register("owner@example.com", "Acme").await;
    let oc = Cred::Session(owner.clone());
    let (_, m) = post(&app, &oc, "/api/v1/meetings", json!({"title": "Review"})).await;
    let m = m["id"].as_str().unwrap().to_owned();
    let cases: Vec<(&str, &str, Vec<u8>, StatusCode, &str)> = vec![
        (
            "name=a.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            b"PK\x03\x04".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "document_unsupported",
        ),
        (
            "name=a.bin",
            "application/octet-stream",
            b"hello".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "document_unsupported",
        ),
        (
            "name=a.pdf",
            "application/pdf",
            b"%PDF-1.7\n this is not a pdf at all".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "document_unreadable",
        ),
        (
            "name=a.txt",
            "text/plain",
            vec![0xff, 0xfe, 0x00, 0x41, 0x80],
            StatusCode::UNPROCESSABLE_ENTITY,
            "document_unreadable",
        ),
        (
            "name=a.txt",
            "text/plain",
            b"   \n\n  ".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "document_no_text",
        ),
        (
            "name=big.txt",
            "text/plain",
            vec![b'a'; 5000],
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        (
            "name=%20",
            "text/plain",
            b"fine text".to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_input",
        ),
    ];
    for (query, ct, body, want, code) in cases {
        let (st, body) = attach(&app, &oc, &m, query, ct, body).await;
        assert_eq!(st, want, "{query} {ct}: {body}");
        assert_eq!(body["error"]["code"], code, "{query} {ct}: {body}");
    }
    let r = app
        .send_bytes(
            &oc,
            &format!("/api/v1/meetings/{m}/documents?keep=maybe"),
            "text/plain",
            b"x".to_vec(),
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "keep is a boolean");
    assert!(listed(&app, &oc, &m).await.is_empty(), "nothing was kept");
    // The meeting's limit; a document without a name is called `document`.
    for i in 0..2 {
        let (st, d) = attach(
            &app,
            &oc,
            &m,
            &format!("keep={}", i == 0),
            "text/plain",
            b"Some notes.".to_vec(),
        )
        .await;
        assert_eq!(st, StatusCode::CREATED);
        assert_eq!(d["name"], "document");
    }
    let (st, body) = attach(
        &app,
        &oc,
        &m,
        "name=n3.txt",
        "text/plain",
        b"Some notes.".to_vec(),
    )
    .await;
    assert_eq!(st, StatusCode::CONFLICT, "{body}");
    assert_eq!(listed(&app, &oc, &m).await.len(), 2);
    let r = app
        .send(
            &oc,
            Method::DELETE,
            &format!("/api/v1/meetings/{m}/documents/doc_nothex"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "a malformed id");
}

#[tokio::test]
async fn ephemeral_documents_expire_kept_ones_go_with_the_meeting() {
    let app = app(|_| {}).await;
    let owner = app.register("owner@example.com", "Acme").await;
    let oc = Cred::Session(owner.clone());
    let (_, m) = post(&app, &oc, "/api/v1/meetings", json!({"title": "Planning"})).await;
    let m = m["id"].as_str().unwrap().to_owned();
    let (st, eph) = attach(
        &app,
        &oc,
        &m,
        "name=agenda.txt",
        "text/plain",
        b"The agenda covers the migration to the new billing provider.".to_vec(),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{eph}");
    let expires =
        chrono::DateTime::parse_from_rfc3339(eph["expires_at"].as_str().unwrap()).unwrap();
    let hours = (expires.timestamp() - chrono::Utc::now().timestamp()) as f64 / 3600.0;
    assert!(
        (23.9..=24.1).contains(&hours),
        "document_hours (24) from now: {hours}"
    );
    let (st, kept) = attach(
        &app,
        &oc,
        &m,
        "name=contract.txt&keep=true",
        "text/plain",
        b"The contract with the billing provider runs until 2028.".to_vec(),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED);

    // Nothing is due yet; once the ephemeral one's time has run out, the sweeper deletes it.
    assert_eq!(
        app.core()
            .purge_expired_documents_for_tests()
            .await
            .unwrap(),
        0
    );
    let id = uuid::Uuid::parse_str(eph["id"].as_str().unwrap().trim_start_matches("doc_")).unwrap();
    let lit = match app.db() {
        meetvault_store::Database::Sqlite(..) => format!("X'{}'", id.simple()),
        meetvault_store::Database::Postgres(_) => format!("'{id}'"),
    };
    meetvault_test_support::execute(
        app.db(),
        &format!("UPDATE meeting_documents SET expires_at = 1 WHERE id = {lit}"),
    )
    .await;
    assert_eq!(
        app.core()
            .purge_expired_documents_for_tests()
            .await
            .unwrap(),
        1
    );
    let left = listed(&app, &oc, &m).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["id"], kept["id"]);
    let (_, r) = post(
        &app,
        &oc,
        "/api/v1/search",
        json!({"query": "agenda migration"}),
    )
    .await;
    assert!(
        r["hits"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["document"]["name"] != "agenda.txt"),
        "{r}"
    );

    // Deleting the meeting deletes the kept one; its certificate counts it.
    let r = app
        .send(&oc, Method::DELETE, &format!("/api/v1/meetings/{m}"), None)
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let cert: Value = r.json().await.unwrap();
    let uuid = uuid::Uuid::parse_str(m.trim_start_matches("mtg_")).unwrap();
    assert_eq!(
        crate::retention::rows(&app, "meeting_documents", "meeting_id", uuid).await,
        0
    );
    let documents = cert["certificate"]["deleted"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["kind"] == "documents")
        .unwrap_or_else(|| panic!("no documents in {cert}"));
    assert_eq!(documents["count"], 1, "{cert}");
}
