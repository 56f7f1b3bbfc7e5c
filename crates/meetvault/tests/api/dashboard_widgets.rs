//! The widgets' pages. Over HTTP: who may open them. In Chromium (axe-core, 360 px and 200 %,
//! no CSP violation): an admin creates a widget through the form (the origins one a line) and
//! is shown its secret and snippet once, opens its page (the snippet and the host page's
//! policy), changes its settings (a text cleared, live transcript turned off), makes a new
//! secret (shown once) and deletes it; hostile texts are shown as text.

use std::net::SocketAddr;

use meetvault_test_support::{Cred, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::dashboard_admin::html;
use crate::dashboard_browser::Ui;
use crate::dashboard_integrations::free_port;
use crate::deletion_requests::send;

#[tokio::test]
async fn widget_pages_manage_widgets_in_the_browser() {
    let port = free_port();
    let server = format!("http://127.0.0.1:{port}");
    let app = TestApp::spawn_with(|c| {
        c.server.listen = SocketAddr::from(([127, 0, 0, 1], port));
        c.server.public_url = Some(server.parse().unwrap());
    })
    .await;
    let owner = app.register("owner@example.com", "Acme").await;
    let member = app.user_with_role(&owner, "member").await;
    let (status, page) = html(&app, &owner.cookie, "/settings/widgets").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("No widget yet"), "{page}");
    assert!(page.contains("data-api=\"/api/v1/widgets\""));
    let (status, _) = html(&app, &member.cookie, "/settings/widgets").await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a member holds no widgets:manage"
    );
    let r = app
        .client
        .get(app.url("/settings/widgets"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    let me = Cred::Session(owner.clone());
    let (ui, _browser) = Ui::start(app).await;
    ui.sign_in_with("owner@example.com", meetvault_test_support::PASSWORD)
        .await;
    ui.open("/settings/widgets").await;
    ui.fill("#wn-name", "Support line").await;
    ui.fill(
        "#wn-origins",
        "https://www.example.com\n\n  https://shop.example.com  \n",
    )
    .await;
    ui.fill("#wn-prompt", "What went wrong?").await;
    ui.fill("#wn-privacy", "https://www.example.com/privacy")
        .await;
    ui.fill("#wn-max", "90").await;
    ui.click("form[data-api='/api/v1/widgets'] input[name=live_transcript]")
        .await;
    ui.click("form[data-api='/api/v1/widgets'] button[type=submit]")
        .await;
    let secret = ui.shown("form[data-api='/api/v1/widgets']", "secret").await;
    assert!(secret.starts_with("mvw_"), "{secret}");
    let snippet = ui
        .shown("form[data-api='/api/v1/widgets']", "widget.snippet")
        .await;
    assert!(
        snippet.starts_with(&format!(
            "<script src=\"{server}/widget/v1.js\" data-widget=\"wgt_"
        )),
        "{snippet}"
    );
    ui.check("widgets").await;

    // As the API holds it: the origins a list, the rest as entered.
    let (_, listed) = send(&ui.app, &me, Method::GET, "/api/v1/widgets", None).await;
    let w = &listed["widgets"][0];
    assert_eq!(
        w["allowed_origins"],
        json!(["https://www.example.com", "https://shop.example.com"]),
        "{w}"
    );
    assert_eq!(w["prompt"], "What went wrong?");
    assert_eq!(w["max_seconds"], 90);
    assert_eq!(w["live_transcript"], true);
    assert_eq!(w["enabled"], true);
    let id = w["id"].as_str().unwrap().to_owned();

    // Its page: the snippet, and what a strict host policy needs.
    ui.open("/settings/widgets").await;
    ui.click(&format!("a[href='/settings/widgets/{id}']")).await;
    ui.wait_path(&format!("/settings/widgets/{id}")).await;
    let text = ui.text().await;
    assert!(text.contains(&format!("data-widget=\"{id}\"")), "{text}");
    assert!(
        text.contains(&format!("script-src {server};\nconnect-src {server};")),
        "{text}"
    );
    ui.check("widget").await;
    ui.fill("#ws-greeting", "Talk to us").await;
    ui.fill("#ws-prompt", "").await;
    ui.click("form[data-method=PATCH] input[name=live_transcript]")
        .await;
    ui.tab
        .evaluate("window.__before = performance.timeOrigin")
        .await;
    ui.click("form[data-method=PATCH] button[type=submit]")
        .await;
    ui.tab
        .wait_for(
            "the page reloaded after saving",
            "window.__before === undefined && document.readyState === 'complete'",
            std::time::Duration::from_secs(10),
        )
        .await;
    let (_, w) = send(
        &ui.app,
        &me,
        Method::GET,
        &format!("/api/v1/widgets/{id}"),
        None,
    )
    .await;
    assert_eq!(w["greeting"], "Talk to us", "{w}");
    assert_eq!(w["prompt"], Value::Null, "a cleared text is cleared");
    assert_eq!(w["live_transcript"], false);
    assert_eq!(w["max_seconds"], 90, "what was not changed stays");
    assert_eq!(w["allowed_origins"].as_array().unwrap().len(), 2);

    // A new secret, shown once.
    ui.tab.evaluate("window.confirm = () => true").await;
    let rotate = format!("form[data-api='/api/v1/widgets/{id}/rotate-secret']");
    ui.click(&format!("{rotate} button[type=submit]")).await;
    let new_secret = ui.shown(&rotate, "secret").await;
    assert!(new_secret.starts_with("mvw_") && new_secret != secret);

    // Deleted: back to the list, which is empty again.
    ui.click(&format!(
        "form[data-api='/api/v1/widgets/{id}'][data-method=DELETE] button"
    ))
    .await;
    ui.wait_path("/settings/widgets").await;
    ui.tab
        .wait_for(
            "the empty list",
            "document.body.innerText.includes('No widget yet')",
            std::time::Duration::from_secs(10),
        )
        .await;
    let (status, _) = send(
        &ui.app,
        &me,
        Method::GET,
        &format!("/api/v1/widgets/{id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Texts are shown as text, never as markup.
    let hostile = "<img src=x onerror=alert(1)>\"'";
    let (status, v) = send(
        &ui.app,
        &me,
        Method::POST,
        "/api/v1/widgets",
        Some(
            json!({"name": hostile, "greeting": hostile, "prompt": hostile,
            "allowed_origins": ["https://www.example.com"]}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let id = v["widget"]["id"].as_str().unwrap();
    for path in [
        "/settings/widgets".to_owned(),
        format!("/settings/widgets/{id}"),
    ] {
        let (status, page) = html(&ui.app, &owner.cookie, &path).await;
        assert_eq!(status, StatusCode::OK);
        assert!(!page.contains("<img src=x"), "{path}: {page}");
        assert!(
            page.contains("&lt;img src=x onerror=alert(1)&gt;"),
            "{path}"
        );
    }
}
