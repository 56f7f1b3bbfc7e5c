//! A tab as the bot drives it: init scripts before the page's own, bindings, evaluation and
//! its errors, and the screenshot and DOM snapshot a failure report keeps.

use std::time::Duration;

use meetvault_bot::{BotError, Browser, LaunchOptions};

#[tokio::test]
async fn a_page_runs_init_scripts_first_and_keeps_a_screenshot_and_its_dom() {
    // Its Chromium must not share the cores with a test measuring real-time capture.
    let _shared = crate::session::CORES.read().await;
    let browser = Browser::launch(LaunchOptions {
        command_prefix: vec!["unshare".into(), "--net".into(), "--".into()],
        ..LaunchOptions::default()
    })
    .await
    .unwrap();
    let page = browser.new_page().await.unwrap();
    let mut calls = page.events("Runtime.bindingCalled");
    page.add_binding("reportState").await.unwrap();
    page.add_init_script("reportState(document.readyState); window.early = true;")
        .await
        .unwrap();
    let html = "<!doctype html><title>t</title><h1 id=greeting>Hello</h1>\
                <script>document.getElementById('greeting').dataset.sawEarly = String(window.early)</script>";
    page.navigate(
        &format!("data:text/html,{}", html.replace('#', "%23")),
        Duration::from_secs(20),
    )
    .await
    .unwrap();

    // The init script ran before the document parsed, and before the page's script.
    let call = calls.recv().await.unwrap();
    assert_eq!(call.params["payload"], "loading");
    assert_eq!(
        page.evaluate("document.getElementById('greeting').dataset.sawEarly")
            .await
            .unwrap(),
        "true"
    );
    assert_eq!(
        page.evaluate("new Promise((r) => setTimeout(() => r(6 * 7), 10))")
            .await
            .unwrap(),
        42
    );
    let thrown = page.evaluate("null.nope").await.unwrap_err();
    assert!(
        matches!(&thrown, BotError::Exception(text) if text.contains("TypeError")),
        "{thrown}"
    );

    let dom = page.dom_snapshot().await.unwrap();
    assert!(
        dom.contains(r#"<h1 id="greeting" data-saw-early="true">Hello</h1>"#),
        "{dom}"
    );
    let png = page.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 1000);

    // Nothing is reachable inside the namespace: a clear navigation error.
    let refused = page
        .navigate("http://127.0.0.1:8001/", Duration::from_secs(20))
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, BotError::Navigation(e) if e.starts_with("net::ERR_")),
        "{refused}"
    );
    browser.close().await;
}
