//! Stored XSS through uploads: a member uploads a recording that is a valid WAV and also
//! JavaScript, declared `text/javascript`, and another declared `text/html` whose script tag
//! loads the first. Served as declared, the owner opening the second would run the script in
//! meetvault's origin, with the owner's session. A recording is served only as the audio type
//! decoding detected, always as a sandboxed attachment; so are transcript and audit exports.

use meetvault_test_support::browser::Browser;
use meetvault_test_support::media::wav_with_payload;
use meetvault_test_support::{Cred, Session, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::transcription::{meeting, upload};

/// What the global policy adds `sandbox` to for user-supplied bytes.
const USER_CONTENT_POLICY: &str =
    "sandbox; default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// A valid 16 kHz WAV that is also a classic script running `js` (one line): in `RIFF:/*`, the
/// RIFF size's bytes make `RIFF` a label and open a comment that hides the rest of the header;
/// the samples close it and hold the code; a line comment hides the silence that pads the file
/// to exactly the size its header declares (2.6 MiB).
fn wav_that_is_javascript(js: &str) -> Vec<u8> {
    assert!(!js.contains(['\n', '\r']) && !js.contains("*/"));
    let riff_size = u32::from_le_bytes(*b":/*\0");
    let mut wav = wav_with_payload(&vec![0; riff_size as usize - 36]);
    assert_eq!(
        &wav[..8],
        b"RIFF:/*\0",
        "the header's size spells the script"
    );
    let code = format!("*/{js}//");
    wav[44..44 + code.len()].copy_from_slice(code.as_bytes());
    wav
}

/// A valid WAV that is also an HTML page loading `src` as a script.
fn wav_that_is_html(src: &str) -> Vec<u8> {
    wav_with_payload(format!("<html><script src=\"{src}\"></script></html>").as_bytes())
}

/// What the script does with the owner's session: make the member an admin, and leave the
/// request's outcome where the test can read it.
fn promote(member: &Session) -> String {
    format!(
        "window.__xss = fetch('/api/v1/members/{}', {{method: 'PATCH', headers: \
         {{'content-type': 'application/json'}}, body: JSON.stringify({{role: 'admin'}})}}).then(r => r.status);",
        member.user_id
    )
}

struct Attack {
    app: TestApp,
    owner: Session,
    member: Session,
    meeting: String,
    /// The recordings uploaded as `text/javascript` and as `text/html`.
    script: String,
    page: String,
}

/// The owner's org, where a member uploads both polyglots to a meeting of theirs.
async fn attack() -> Attack {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@example.com", "Victim").await;
    let member = app.user_with_role(&owner, "member").await;
    let meeting = meeting(&app, &member, json!({"title": "Standup"})).await;
    let uploaded = |r: reqwest::Response| async move {
        assert_eq!(r.status(), StatusCode::CREATED);
        r.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let js = wav_that_is_javascript(&promote(&member));
    let script = uploaded(upload(&app, &member, &meeting, "", "text/javascript", js).await).await;
    let src = format!("/api/v1/meetings/{meeting}/recordings/{script}");
    let html = wav_that_is_html(&src);
    let page = uploaded(upload(&app, &member, &meeting, "", "text/html", html).await).await;
    Attack {
        app,
        owner,
        member,
        meeting,
        script,
        page,
    }
}

async fn download(app: &TestApp, who: &Session, meeting: &str, rec: &str) -> reqwest::Response {
    let path = format!("/api/v1/meetings/{meeting}/recordings/{rec}");
    app.send(&Cred::Session(who.clone()), Method::GET, &path, None)
        .await
}

/// Content-Type, attachment under `file_name`, nosniff and the sandbox policy.
fn assert_user_content(r: &reqwest::Response, content_type: &str, file_name: &str) {
    let header = |name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    assert_eq!(
        header("content-type").as_deref(),
        Some(content_type),
        "{}",
        r.url()
    );
    assert_eq!(
        header("content-disposition"),
        Some(format!("attachment; filename=\"{file_name}\"")),
        "{}",
        r.url()
    );
    assert_eq!(header("x-content-type-options").as_deref(), Some("nosniff"));
    assert_eq!(
        header("content-security-policy").as_deref(),
        Some(USER_CONTENT_POLICY),
        "{}",
        r.url()
    );
}

async fn role(app: &TestApp, who: &Session) -> String {
    let me: Value = app
        .send(&Cred::Session(who.clone()), Method::GET, "/api/v1/me", None)
        .await
        .json()
        .await
        .unwrap();
    me["user"]["role"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_recording_is_served_as_the_audio_its_decoding_found_never_as_the_declared_type() {
    let Attack {
        app,
        owner,
        meeting,
        script,
        page,
        ..
    } = attack().await;
    let listed = app
        .send(
            &Cred::Session(owner.clone()),
            Method::GET,
            &format!("/api/v1/meetings/{meeting}/recordings"),
            None,
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    let views = listed["recordings"].as_array().unwrap();
    assert_eq!(views.len(), 2);
    for view in views {
        assert_eq!(
            view["content_type"], "audio/wav",
            "stored as detected: {view}"
        );
    }
    for rec in [&script, &page] {
        let r = download(&app, &owner, &meeting, rec).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_user_content(&r, "audio/wav", &format!("{rec}.wav"));
        // A range is the same download.
        let r = app
            .client
            .get(app.url(&format!("/api/v1/meetings/{meeting}/recordings/{rec}")))
            .header("cookie", &owner.cookie)
            .header("range", "bytes=0-99")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
        assert_user_content(&r, "audio/wav", &format!("{rec}.wav"));
    }
}

#[tokio::test]
async fn a_type_stored_before_detection_is_served_as_bytes_and_the_upgrade_fixes_it() {
    let Attack {
        app,
        owner,
        meeting,
        page,
        ..
    } = attack().await;
    // What older versions stored: the uploader's claim.
    meetvault_test_support::execute(app.db(), "UPDATE recordings SET content_type = 'text/html'")
        .await;
    let r = download(&app, &owner, &meeting, &page).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_user_content(&r, "application/octet-stream", &format!("{page}.bin"));

    // Upgrading runs the migration that gives every row the type of its detected container.
    meetvault_test_support::execute(app.db(), "DELETE FROM _sqlx_migrations WHERE version = 6")
        .await;
    let upgraded = app.spawn_sibling(|_| {}).await;
    let r = download(&upgraded, &owner, &meeting, &page).await;
    assert_user_content(&r, "audio/wav", &format!("{page}.wav"));
}

#[tokio::test]
async fn transcript_and_audit_exports_are_sandboxed_attachments() {
    let Attack {
        app,
        owner,
        member,
        meeting,
        ..
    } = attack().await;
    let r = app
        .send(
            &Cred::Session(member.clone()),
            Method::POST,
            &format!("/api/v1/meetings/{meeting}/transcript"),
            Some(json!({"segments": [{"start_ms": 0, "end_ms": 900, "speaker": "<script>alert(1)</script>",
                "text": "<img src=x onerror=alert(1)><script>alert(2)</script>"}]})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    for (format, content_type) in [
        ("srt", "application/x-subrip; charset=utf-8"),
        ("vtt", "text/vtt; charset=utf-8"),
        ("md", "text/markdown; charset=utf-8"),
        ("txt", "text/plain; charset=utf-8"),
        ("json", "application/json"),
    ] {
        let r = app
            .send(
                &Cred::Session(owner.clone()),
                Method::GET,
                &format!("/api/v1/meetings/{meeting}/transcript?format={format}"),
                None,
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK, "{format}");
        assert_user_content(&r, content_type, &format!("transcript-{meeting}.{format}"));
    }
    let r = app
        .send(
            &Cred::Session(owner.clone()),
            Method::GET,
            "/api/v1/audit/export",
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_user_content(&r, "application/x-ndjson", "audit-export.jsonl");
}

/// The attack as it happened, in a real browser: the owner, signed in, opens the member's
/// "recording" link. It must be a download, run nothing, and leave the member a member.
#[tokio::test]
async fn a_recording_opened_in_the_owners_browser_runs_no_script_and_promotes_no_one() {
    let Attack {
        app,
        owner,
        member,
        meeting,
        page,
        ..
    } = attack().await;
    let browser = Browser::launch(&[app.addr]).await;
    let tab = browser.new_page().await;
    let (name, value) = owner.cookie.split_once('=').unwrap();
    tab.set_cookie(&app.base_url, name, value).await;
    // The owner is signed in in this browser: a same-origin page sees their session.
    tab.navigate(&app.url("/api/v1/me")).await;
    let me = tab.evaluate("document.body.innerText").await;
    assert!(
        me.as_str().unwrap().contains(&owner.user_id),
        "the browser is signed in as the owner: {me}"
    );

    let opened = tab
        .navigate(&app.url(&format!("/api/v1/meetings/{meeting}/recordings/{page}")))
        .await;
    let ran = tab
        .evaluate("Promise.resolve(window.__xss ?? 'no script ran')")
        .await;
    assert_eq!(
        role(&app, &member).await,
        "member",
        "the owner's browser ran the member's script (it answered {ran})"
    );
    assert_eq!(ran, "no script ran");
    assert!(
        opened.is_download,
        "the recording was rendered, not downloaded: {opened:?}"
    );
}
