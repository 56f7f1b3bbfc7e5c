//! The integrations and approvals pages (issue 21's pages for issue 23's API). Over HTTP: who
//! may open them, what they show, and where the OAuth callback sends a browser. In Chromium
//! (axe-core, 360 px and 200 %, no CSP violation): an admin connects Google Drive by consent
//! through the provider's loopback fake and is brought back to the page, changes the
//! connection's settings; an approver edits what waits for Linear, approves it and rejects
//! another, and only the edited one arrives.

use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use meetvault_integrations::Kind;
use meetvault_integrations::fake::{Fake, TOKEN};
use meetvault_test_support::{Cred, PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::dashboard_admin::html;
use crate::dashboard_browser::Ui;
use crate::deletion_requests::send;
use crate::integrations::{LINEAR_TEAM, app_with, approvals, connect, finished_meeting};

fn addr_of(fake: &Fake) -> SocketAddr {
    let u = fake.base_url();
    format!("{}:{}", u.host_str().unwrap(), u.port().unwrap())
        .parse()
        .unwrap()
}

/// A loopback port nothing listens on now (the app's, known before it starts, so its public
/// URL can be its own address).
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn integration_pages_show_the_api_and_the_callback_brings_a_browser_back() {
    let drive = Fake::start(Kind::GoogleDrive).await.unwrap();
    let app = app_with(&[("google_drive", &drive)], |c| {
        c.server.public_url = Some("https://meetvault.example".parse().unwrap());
        c.server.allowed_hosts = vec!["127.0.0.1".into()];
    })
    .await;
    let owner = app.register("owner@example.com", "Acme").await;
    let member = app.user_with_role(&owner, "member").await;
    let page = |cookie: String, path: &'static str| {
        let app = &app;
        async move { html(app, &cookie, path).await }
    };
    // Nothing yet; the consent form offers exactly the providers with an OAuth app.
    let (status, html) = page(owner.cookie.clone(), "/settings/integrations").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Nothing is connected"), "{html}");
    assert!(html.contains("<option value=\"google_drive\">Google Drive</option>"));
    assert!(!html.contains("<option value=\"slack\">"));
    assert!(html.contains("data-api=\"/api/v1/integrations/oauth\""));
    // Signed out: to the sign-in page, and back here after it.
    let r = app
        .client
        .get(app.url("/settings/approvals"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers()["location"],
        "/login?next=%2Fsettings%2Fapprovals"
    );
    // A member may open neither page (refused as the API refuses, and audited).
    for path in ["/settings/integrations", "/settings/approvals"] {
        let (status, _) = page(member.cookie.clone(), path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }

    // The callback: a program gets JSON; a browser's navigation is sent to the page, with a
    // fixed word for what failed (never the provider's own text).
    let start = |body: Value| {
        let app = &app;
        let owner = &owner;
        async move {
            let (status, v) = send(
                app,
                &Cred::Session(owner.clone()),
                Method::POST,
                "/api/v1/integrations/oauth",
                Some(body),
            )
            .await;
            assert_eq!(status, StatusCode::CREATED, "{v}");
            v["authorization_url"].as_str().unwrap().to_owned()
        }
    };
    let navigate = |query: String| {
        let app = &app;
        let cookie = owner.cookie.clone();
        async move {
            let r = app
                .client
                .get(app.url(&format!("/api/v1/integrations/oauth/callback?{query}")))
                .header("cookie", cookie)
                .header("accept", "text/html,application/xhtml+xml")
                .header("sec-fetch-mode", "navigate")
                .send()
                .await
                .unwrap();
            (
                r.status(),
                r.headers()
                    .get("location")
                    .map(|l| l.to_str().unwrap().to_owned()),
            )
        }
    };
    let drive_body = json!({"provider": "google_drive", "base_url": drive.base_url().as_str(),
                            "destination": "1FolderAbcXyz_0", "name": "Minutes folder"});
    let (_, state) = drive
        .consent(&start(drive_body.clone()).await)
        .await
        .unwrap();
    assert_eq!(
        navigate(format!(
            "state={state}&error=%3Cscript%3Ealert(1)%3C/script%3E"
        ))
        .await,
        (
            StatusCode::SEE_OTHER,
            Some("/settings/integrations?failed=declined".into())
        )
    );
    assert_eq!(
        navigate("state=made-up&code=x".into()).await,
        (
            StatusCode::SEE_OTHER,
            Some("/settings/integrations?failed=state".into())
        )
    );
    let (status, html) = page(
        owner.cookie.clone(),
        "/settings/integrations?failed=%3Cb%3Ehi%3C/b%3E",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("The provider refused the connection") && !html.contains("<b>hi"));
    let (code, state) = drive.consent(&start(drive_body).await).await.unwrap();
    let (status, to) = navigate(format!("state={state}&code={code}")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let to = to.unwrap();
    let id = to
        .strip_prefix("/settings/integrations?connected=")
        .unwrap_or_else(|| panic!("{to}"));
    assert!(id.starts_with("int_"), "{to}");

    // The list and the connection's own page show what the API holds, never the credential.
    let (_, html) = page(owner.cookie.clone(), "/settings/integrations").await;
    assert!(html.contains("Minutes folder") && html.contains("1FolderAbcXyz_0"));
    let r = app
        .client
        .get(app.url(&format!("/settings/integrations/{id}")))
        .header("cookie", owner.cookie.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = r.text().await.unwrap();
    assert!(r.contains(&format!(
        "data-api=\"/api/v1/integrations/{id}\" data-method=\"PATCH\""
    )));
    assert!(r.contains("Nothing has been proposed or sent yet"));
    assert!(!r.contains(TOKEN) && !r.contains("CANARY"), "{r}");
}

#[tokio::test]
async fn an_admin_connects_and_an_approver_decides_in_the_browser() {
    let drive = Fake::start(Kind::GoogleDrive).await.unwrap();
    let linear = Fake::start(Kind::Linear).await.unwrap();
    let port = free_port();
    let app = app_with(&[("google_drive", &drive)], |c| {
        c.server.listen = SocketAddr::from(([127, 0, 0, 1], port));
        // The provider sends the browser back to the app's own address.
        c.server.public_url = Some(format!("http://127.0.0.1:{port}").parse().unwrap());
    })
    .await;
    let owner = app.register("owner@example.com", "Acme").await;
    let me = Cred::Session(owner.clone());
    linear.add_user("ben@acme.example");
    connect(
        &app,
        &owner,
        json!({"provider": "linear", "name": "Product", "base_url": linear.base_url().as_str(),
               "destination": LINEAR_TEAM, "credential": {"type": "token", "token": TOKEN}}),
    )
    .await;
    finished_meeting(&app, &owner, "Budget review", None).await;
    let waiting = approvals(&app, &owner, 2).await;
    assert_eq!(waiting.len(), 2, "{waiting:#?}");

    let (ui, _browser) = Ui::start_with(app, &[addr_of(&drive)]).await;
    ui.sign_in_with("owner@example.com", PASSWORD).await;

    // Connecting Google Drive by consent: to the provider and back, then listed.
    ui.open("/settings/integrations").await;
    ui.check("integrations").await;
    ui.fill("#oa-dest", "1FolderAbcXyz_0").await;
    ui.fill("#oa-base", drive.base_url().as_str()).await;
    ui.fill("#oa-name", "Minutes folder").await;
    ui.click("form[data-api='/api/v1/integrations/oauth'] button[type=submit]")
        .await;
    ui.tab
        .wait_for(
            "back from the provider",
            "location.search.startsWith('?connected=int_') && document.readyState === 'complete'",
            Duration::from_secs(20),
        )
        .await;
    let text = ui.text().await;
    assert!(
        text.contains("Connected") && text.contains("Minutes folder"),
        "{text}"
    );
    assert_eq!(drive.requests_to("/oauth/token").len(), 1);
    ui.check("integrations-connected").await;

    // Its page: the settings saved as shown, then turned off through the same form.
    let id = ui
        .tab
        .evaluate("new URLSearchParams(location.search).get('connected')")
        .await
        .as_str()
        .unwrap()
        .to_owned();
    ui.click(&format!("a[href='/settings/integrations/{id}']"))
        .await;
    ui.wait_path(&format!("/settings/integrations/{id}")).await;
    ui.check("integration").await;
    let form = format!("form[data-api='/api/v1/integrations/{id}'][data-method=PATCH]");
    ui.click(&format!("{form} button[type=submit]")).await;
    assert_eq!(ui.outcome(&form).await, "Saved.");
    ui.tab
        .evaluate(&format!(
            "(() => {{ const t = document.querySelector(\"{form} textarea\"); \
             const v = JSON.parse(t.value); v.enabled = false; t.value = JSON.stringify(v); \
             document.querySelector(\"{form} .form-done\").textContent = ''; }})()"
        ))
        .await;
    ui.click(&format!("{form} button[type=submit]")).await;
    assert_eq!(ui.outcome(&form).await, "Saved.");
    let (_, v) = send(
        &ui.app,
        &me,
        Method::GET,
        &format!("/api/v1/integrations/{id}"),
        None,
    )
    .await;
    assert_eq!(v["enabled"], Value::Bool(false), "{v}");

    // The approvals: Ben's item edited and approved, Cara's rejected.
    ui.open("/settings/approvals").await;
    ui.check("approvals").await;
    let text = ui.text().await;
    assert!(
        text.contains("An action item to Linear") && text.contains("Ben"),
        "{text}"
    );
    let ben = waiting
        .iter()
        .find(|i| i["content"]["owner_email"] == "ben@acme.example")
        .unwrap_or_else(|| panic!("{waiting:#?}"));
    let cara = waiting.iter().find(|i| i["id"] != ben["id"]).unwrap();
    let ben_path = format!("/api/v1/approvals/{}", ben["id"].as_str().unwrap());
    let edit = format!("form[data-api='{ben_path}'][data-method=PATCH]");
    ui.tab
        .evaluate(&format!(
            "(() => {{ const f = document.querySelector(\"{edit}\"); f.closest('details').open = true; \
             const t = f.querySelector('textarea'); const v = JSON.parse(t.value); \
             v.content.title = 'Send the revised budget (checked in the browser)'; t.value = JSON.stringify(v); }})()"
        ))
        .await;
    ui.click(&format!("{edit} button[type=submit]")).await;
    assert_eq!(
        ui.outcome(&edit).await,
        "Saved: it still waits for approval."
    );
    ui.click(&format!(
        "form[data-api='{ben_path}/approve'] button[type=submit]"
    ))
    .await;
    ui.tab
        .wait_for(
            "Ben's item gone from the queue",
            &format!(
                "document.readyState === 'complete' && !document.querySelector(\"form[data-api='{ben_path}/approve']\")"
            ),
            Duration::from_secs(10),
        )
        .await;
    let cara_path = format!("/api/v1/approvals/{}", cara["id"].as_str().unwrap());
    ui.tab.evaluate("window.confirm = () => true").await;
    ui.click(&format!(
        "form[data-api='{cara_path}/reject'] button[type=submit]"
    ))
    .await;
    ui.tab
        .wait_for(
            "an empty queue",
            "document.readyState === 'complete' && document.body.innerText.includes('Nothing here.')",
            Duration::from_secs(10),
        )
        .await;
    // The rejected one, under its own filter.
    ui.open("/settings/approvals?state=rejected").await;
    ui.check("approvals-rejected").await;
    assert!(ui.text().await.contains("rejected"));

    let start = std::time::Instant::now();
    while linear.created().is_empty() {
        if start.elapsed() > Duration::from_secs(60) {
            let (_, log) = send(
                &ui.app,
                &me,
                Method::GET,
                &format!("/api/v1/approvals/{}", ben["id"].as_str().unwrap()),
                None,
            )
            .await;
            panic!("the approved issue did not reach Linear: {log:#}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let created = serde_json::to_string(&linear.created()).unwrap();
    assert_eq!(linear.created().len(), 1, "{created}");
    assert!(
        created.contains("Send the revised budget (checked in the browser)"),
        "{created}"
    );
}
