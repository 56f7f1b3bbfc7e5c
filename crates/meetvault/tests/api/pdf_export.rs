//! A meeting as a PDF (`?format=pdf`): read back by poppler's `pdftotext` (not our code), the
//! title, the summary and action items, then every line with its time and speaker, in order,
//! accents intact and hostile text as text; an attachment under the sandboxing policy, audited
//! like the other exports. `pdftotext` comes from `scripts/pdf-tools.sh` (poppler-utils); a
//! machine without it fails here, naming the script.

use std::process::Command;

use meetvault_test_support::{Cred, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn pdftotext(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(&path)
        .arg("-")
        .output()
        .unwrap_or_else(|e| panic!("pdftotext did not run ({e}): run scripts/pdf-tools.sh"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "poppler complained: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Whitespace collapsed, so lines wrapped by the layout compare as written.
fn flat(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[tokio::test]
async fn a_meeting_exports_as_a_pdf_poppler_reads_in_order() {
    let app = TestApp::spawn_with(|c| c.auth.open_registration = true).await;
    let owner = app.register("pdf@example.com", "Acme").await;
    let cred = Cred::Session(owner.clone());
    let r = app
        .send(
            &cred,
            Method::POST,
            "/api/v1/meetings",
            Some(json!({"title": "Réunion d'équipe — Łódź", "language": "pl"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let lines = [
        (1_000, "Zoë", "Bonjour à tous, ça commence."),
        (7_500, "Łukasz", "Dziękuję; zażółć gęślą jaźń."),
        (65_000, "Ada", "A line with ) Tj ( and \\ and %%EOF in it."),
    ];
    let segments: Vec<Value> = lines
        .iter()
        .map(|(ms, who, text)| json!({"start_ms": ms, "end_ms": ms + 4_000, "speaker": who, "text": text}))
        .collect();
    let r = app
        .send(
            &cred,
            Method::POST,
            &format!("/api/v1/meetings/{id}/transcript"),
            Some(json!({"segments": segments})),
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap()
    );

    // Without a summary: the transcript alone.
    let r = app
        .send(
            &cred,
            Method::GET,
            &format!("/api/v1/meetings/{id}/transcript?format=pdf"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    assert!(
        r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("sandbox")
    );
    let pdf = r.bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let text = flat(&pdftotext(&pdf));
    let mut at = 0;
    for needle in [
        "Réunion d'équipe — Łódź",
        "Transcript",
        "[00:01] Zoë: Bonjour à tous, ça commence.",
        "[00:07] Łukasz: Dziękuję; zażółć gęślą jaźń.",
        "[01:05] Ada: A line with ) Tj ( and \\ and %%EOF in it.",
    ] {
        let found = text[at..]
            .find(needle)
            .unwrap_or_else(|| panic!("{needle:?} not found in order in: {text}"));
        at += found + needle.len();
    }
    assert!(!text.contains("Summary"), "{text}");

    // With a summary (made, then edited to known words), it comes first with its action items.
    let r = app
        .send(
            &cred,
            Method::POST,
            &format!("/api/v1/meetings/{id}/summary"),
            None,
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::ACCEPTED,
        "{}",
        r.text().await.unwrap()
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let r = app
            .send(
                &cred,
                Method::GET,
                &format!("/api/v1/meetings/{id}/summary"),
                None,
            )
            .await;
        if r.status() == StatusCode::OK {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no summary was made");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let r = app
        .send(
            &cred,
            Method::PUT,
            &format!("/api/v1/meetings/{id}/summary"),
            Some(json!({
                "overview": "The team agreed to ship in Kraków.",
                "key_points": [{"text": "Élan is high"}],
                "decisions": [{"text": "Ship on Friday"}],
                "action_items": [{"task": "Book the venue", "owner": "Zoë", "due": "Friday"}],
            })),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    let pdf = app
        .send(
            &cred,
            Method::GET,
            &format!("/api/v1/meetings/{id}/transcript?format=pdf"),
            None,
        )
        .await
        .bytes()
        .await
        .unwrap();
    let text = flat(&pdftotext(&pdf));
    let mut at = 0;
    for needle in [
        "Réunion d'équipe — Łódź",
        "The team agreed to ship in Kraków.",
        "Élan is high",
        "Ship on Friday",
        "Book the venue",
        "Zoë",
        "Friday",
        "[00:01] Zoë: Bonjour",
    ] {
        let found = text[at..]
            .find(needle)
            .unwrap_or_else(|| panic!("{needle:?} not found in order in: {text}"));
        at += found + needle.len();
    }

    // Karaoke is for subtitles only; each export is audited with its format.
    let r = app
        .send(
            &cred,
            Method::GET,
            &format!("/api/v1/meetings/{id}/transcript?format=pdf&karaoke=true"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let audit: Value = app
        .send(
            &cred,
            Method::GET,
            "/api/v1/audit?action=transcript.export",
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let pdfs = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["reason"] == "pdf")
        .count();
    assert_eq!(pdfs, 2, "{audit:#}");
    // Another org cannot have it.
    let other = app.register("other@example.com", "Other").await;
    let r = app
        .send(
            &Cred::Session(other),
            Method::GET,
            &format!("/api/v1/meetings/{id}/transcript?format=pdf"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}
