//! The dashboard's administrative pages: a workspace's members and policies, the
//! organization's processors, own sign-in provider, key and destinations, the data subjects'
//! deletion requests, a meeting's retention and delivery, closing and reopening the
//! organization. Over HTTP, each page shows what the API holds and names the API's routes;
//! in the browser (Chromium, axe-core, 360 px and 200 %, no CSP violation), an admin does it.

use std::time::Duration;

use meetvault_test_support::smtp::SmtpSink;
use meetvault_test_support::{Cred, PASSWORD, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::dashboard_browser::Ui;
use crate::deletion_requests::{MAIL_WAIT, send, submission, token_in, with_mail};

pub(crate) async fn html(app: &TestApp, cookie: &str, path: &str) -> (StatusCode, String) {
    let r = app
        .client
        .get(app.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

#[tokio::test]
async fn admin_pages_show_what_the_api_holds_and_name_its_routes() {
    let app = TestApp::spawn_with(|c| c.auth.open_registration = true).await;
    let owner = app.register("owner@acme.example", "Acme").await;
    let me = Cred::Session(owner.clone());
    let member = app.user_with_role(&owner, "member").await;
    let (status, ws) = send(
        &app,
        &me,
        Method::POST,
        "/api/v1/workspaces",
        Some(json!({"name": "Sales <b>team</b>"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{ws}");
    let ws = ws["id"].as_str().unwrap().to_owned();

    // A workspace's members: listed by the API as set, and on its page as a select each.
    let members = format!("/api/v1/workspaces/{ws}/members");
    let (status, list) = send(&app, &me, Method::GET, &members, None).await;
    assert_eq!((status, list), (StatusCode::OK, json!({"members": []})));
    let (status, _) = send(
        &app,
        &me,
        Method::PUT,
        &format!("{members}/{}", member.user_id),
        Some(json!({"role": "admin"})),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, list) = send(&app, &me, Method::GET, &members, None).await;
    assert_eq!(
        list,
        json!({"members": [{"user_id": member.user_id, "role": "admin"}]})
    );
    let (status, page) = html(&app, &owner.cookie, &format!("/settings/workspaces/{ws}")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains("Workspace: Sales &lt;b&gt;team&lt;/b&gt;"),
        "{page}"
    );
    assert!(page.contains(&format!(
        "data-api=\"/api/v1/workspaces/{ws}/members/{}\"",
        member.user_id
    )));
    assert!(page.contains("<option value=\"admin\" selected>"), "{page}");
    for route in [
        format!("/api/v1/retention?workspace_id={ws}"),
        format!("/api/v1/workspaces/{ws}/bot-consent"),
        format!("/api/v1/workspaces/{ws}/calendar-rules"),
        format!("/api/v1/workspaces/{ws}/intelligence"),
    ] {
        assert!(
            page.contains(&format!("data-api=\"{route}\" data-method=\"PUT\"")),
            "{route}"
        );
    }
    // Another org's workspace, and a malformed id: not found, as the API says.
    let other = app.register("other@elsewhere.example", "Elsewhere").await;
    let (status, _) = html(&app, &other.cookie, &format!("/settings/workspaces/{ws}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = send(
        &app,
        &Cred::Session(other.clone()),
        Method::GET,
        &members,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = html(&app, &owner.cookie, "/settings/workspaces/nope").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // A member may not manage the org: refused.
    let (status, _) = html(&app, &member.cookie, &format!("/settings/workspaces/{ws}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The organization page: the processors, its own provider's forms, the key.
    let (status, enc) = send(&app, &me, Method::GET, "/api/v1/org/encryption", None).await;
    assert_eq!(
        (status, enc),
        (
            StatusCode::OK,
            json!({"kms_available": false, "kms_key_id": null})
        )
    );
    let (status, page) = html(&app, &owner.cookie, "/settings/organization").await;
    assert_eq!(status, StatusCode::OK);
    let (_, processors) = send(&app, &me, Method::GET, "/api/v1/processors", None).await;
    for p in processors["processors"].as_array().unwrap() {
        assert!(
            page.contains(&format!("<td>{}</td>", p["name"].as_str().unwrap())),
            "{p}"
        );
    }
    for needle in [
        "data-api=\"/api/v1/org/sso/oidc\" data-method=\"PUT\"",
        "data-api=\"/api/v1/org/sso/saml\" data-method=\"PUT\"",
        "no AWS KMS configured",
        "No destinations",
        "href=\"/settings/privacy-requests\"",
        &format!("href=\"/settings/workspaces/{ws}\""),
    ] {
        assert!(page.contains(needle), "{needle}");
    }

    // A meeting's page: its retention part by part, delivery and transcribing again.
    let (_, m) = send(
        &app,
        &me,
        Method::POST,
        "/api/v1/meetings",
        Some(json!({"title": "Kept"})),
    )
    .await;
    let id = m["id"].as_str().unwrap();
    let (_, retention) = send(
        &app,
        &me,
        Method::GET,
        &format!("/api/v1/meetings/{id}/retention"),
        None,
    )
    .await;
    let (_, page) = html(&app, &owner.cookie, &format!("/meetings/{id}")).await;
    for p in retention["parts"].as_array().unwrap() {
        let part = p["part"].as_str().unwrap().replace('_', " ");
        assert!(page.contains(&format!("<tr><td>{part}</td>")), "{part}");
    }
    assert!(page.contains(&format!("data-api=\"/api/v1/meetings/{id}/deliver\"")));
    assert!(page.contains(&format!("data-api=\"/api/v1/meetings/{id}/transcribe\"")));
    // A viewer reads the retention but gets neither button.
    let viewer = app.user_with_role(&owner, "viewer").await;
    let (status, page) = html(&app, &viewer.cookie, &format!("/meetings/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("id=\"keep-h\""));
    assert!(!page.contains("/deliver\"") && !page.contains("/transcribe\""));

    // Settings: an owner may close the organization; a member is not offered it.
    let (_, page) = html(&app, &owner.cookie, "/settings").await;
    assert!(page.contains("data-api=\"/api/v1/org/close\""));
    let (_, page) = html(&app, &member.cookie, "/settings").await;
    assert!(!page.contains("/api/v1/org/close"));
}

#[tokio::test]
async fn an_admin_runs_the_organization_in_the_browser() {
    let sink = SmtpSink::start().await;
    let mail = with_mail(&sink);
    let app = TestApp::spawn_with(move |c| {
        mail(c);
        // The browser's origin is the app's own address (links in emails are not followed here).
        c.server.public_url = None;
        c.auth.open_registration = true;
    })
    .await;
    let owner = app.register("owner@acme.example", "Acme").await;
    let me = Cred::Session(owner.clone());
    let member = app.user_with_role(&owner, "member").await;
    let (_, ws) = send(
        &app,
        &me,
        Method::POST,
        "/api/v1/workspaces",
        Some(json!({"name": "Sales"})),
    )
    .await;
    let ws = ws["id"].as_str().unwrap().to_owned();
    // A data subject's request, confirmed from their email.
    let (status, r) = send(
        &app,
        &Cred::None,
        Method::POST,
        "/api/v1/deletion-requests",
        Some(submission(&owner.org_id, "alice@example.org")),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{r}");
    let token = token_in(&sink.wait_for("alice@example.org", MAIL_WAIT).await.body());
    let (status, _) = send(
        &app,
        &Cred::None,
        Method::POST,
        "/api/v1/deletion-requests/confirm",
        Some(json!({"token": token})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let (ui, _browser) = Ui::start(app).await;
    ui.sign_in_with("owner@acme.example", PASSWORD).await;

    // A workspace's page, from the organization's.
    ui.open("/settings/organization").await;
    ui.check("organization-admin").await;
    ui.click(&format!("a[href='/settings/workspaces/{ws}']"))
        .await;
    ui.wait_path("/settings/workspaces/").await;
    ui.check("workspace").await;
    let role_form = format!(
        "form[data-api='/api/v1/workspaces/{ws}/members/{}']",
        member.user_id
    );
    // A role set, then taken away again (the empty choice is sent as null).
    for (role, want) in [
        (
            "viewer",
            json!([{"user_id": member.user_id, "role": "viewer"}]),
        ),
        ("", json!([])),
    ] {
        ui.fill(&format!("#wrole-{}", member.user_id), role).await;
        ui.click(&format!("{role_form} button[type=submit]")).await;
        assert_eq!(ui.outcome(&role_form).await, "Saved.", "{role:?}");
        ui.tab
            .evaluate(&format!(
                "document.querySelector(\"{role_form} .form-done\").textContent = ''"
            ))
            .await;
        let (_, list) = send(
            &ui.app,
            &me,
            Method::GET,
            &format!("/api/v1/workspaces/{ws}/members"),
            None,
        )
        .await;
        assert_eq!(list["members"], want, "{role:?}");
    }
    // Each of the workspace's policies, as shown, saves as it is.
    for path in [
        format!("/api/v1/retention?workspace_id={ws}"),
        format!("/api/v1/workspaces/{ws}/bot-consent"),
        format!("/api/v1/workspaces/{ws}/calendar-rules"),
        format!("/api/v1/workspaces/{ws}/intelligence"),
    ] {
        let form = format!("form[data-api='{path}']");
        ui.click(&format!("{form} button[type=submit]")).await;
        assert_eq!(ui.outcome(&form).await, "Saved.", "{path}");
    }

    // The deletion request: listed, opened, rejected with a reason the requester is sent.
    ui.open("/settings/privacy-requests").await;
    ui.check("privacy-requests").await;
    assert!(ui.text().await.contains("Alice Erase"));
    ui.click("a[href^='/settings/privacy-requests/']").await;
    ui.wait_path("/settings/privacy-requests/dr").await;
    ui.check("privacy-request").await;
    ui.fill("#rej-reason", "We hold no recording of that meeting.")
        .await;
    ui.click("form[data-api$='/reject'] button[type=submit]")
        .await;
    ui.tab
        .wait_for(
            "the rejected request",
            "document.readyState === 'complete' && !document.querySelector('#rej-reason') \
             && document.body.innerText.includes('rejected')",
            Duration::from_secs(10),
        )
        .await;
    // (The first message after the confirmation link may be another notice: up to three.)
    let mut told = Vec::new();
    for _ in 0..3 {
        told.push(sink.wait_for("alice@example.org", MAIL_WAIT).await.body());
        if told
            .last()
            .unwrap()
            .contains("We hold no recording of that meeting.")
        {
            break;
        }
    }
    assert!(
        told.last()
            .unwrap()
            .contains("We hold no recording of that meeting."),
        "{told:#?}"
    );

    // Closing the organization from the owner's settings, then reopening it.
    ui.open("/settings").await;
    ui.fill("#close-pw", PASSWORD).await;
    ui.tab.evaluate("window.confirm = () => true").await;
    ui.click("form[data-api='/api/v1/org/close'] button[type=submit]")
        .await;
    ui.tab
        .wait_for(
            "the closed organization",
            "document.readyState === 'complete' && !!document.querySelector(\"form[data-api='/api/v1/org/reopen']\")",
            Duration::from_secs(10),
        )
        .await;
    assert!(ui.text().await.contains("The organization is closed"));
    ui.check("closed").await;
    let (_, closure) = send(&ui.app, &me, Method::GET, "/api/v1/org/closure", None).await;
    assert_eq!(closure["closed"], Value::Bool(true), "{closure}");
    ui.click("form[data-api='/api/v1/org/reopen'] button[type=submit]")
        .await;
    ui.tab
        .wait_for(
            "the reopened organization",
            "document.readyState === 'complete' && !!document.querySelector(\"form[data-api='/api/v1/org/close']\")",
            Duration::from_secs(10),
        )
        .await;
    let (_, closure) = send(&ui.app, &me, Method::GET, "/api/v1/org/closure", None).await;
    assert_eq!(closure["closed"], Value::Bool(false), "{closure}");
}
