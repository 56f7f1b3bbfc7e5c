//! Integrations end to end against loopback fakes of the seven providers (issue 23): a
//! workspace connects each; a finished meeting's summary reaches Slack, Notion and Drive at
//! once, while action items and CRM notes wait in the approval queue with exactly what would
//! be sent, go only once approved (as edited), and arrive exactly once; rejected items never
//! leave; credentials never appear in a response or the delivery log; a 429 waits its
//! `Retry-After`, an expired OAuth token is refreshed, a refused credential breaks the
//! connection until it is replaced; an internal URL is refused at registration and at delivery.

use std::time::{Duration, Instant};

use meetvault_integrations::Kind;
use meetvault_integrations::fake::{Fake, JIRA_EMAIL, SLACK_WEBHOOK_PATH, TOKEN};
use meetvault_test_support::{Cred, Session, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::transcription::meeting;
use crate::webhooks::call;

/// Generous: a summary job can take tens of seconds on a busy two-core machine.
const WAIT: Duration = Duration::from_secs(120);
pub(crate) const NOTION_PARENT: &str = "0f1e2d3c-4b5a-4968-8776-655443322110";
pub(crate) const LINEAR_TEAM: &str = "9cfb482a-81e3-4154-b5b9-2c805e70a02d";

/// An app that summarizes stored transcripts by rule (no models installed here), reads the
/// outbox often, may reach loopback, and refreshes OAuth tokens at the given fakes.
pub(crate) async fn app_with(
    oauth: &[(&str, &Fake)],
    adjust: impl FnOnce(&mut meetvault_config::Config),
) -> TestApp {
    let apps: Vec<(String, meetvault_config::IntegrationOAuthApp)> = oauth
        .iter()
        .map(|(name, fake)| {
            (
                (*name).to_owned(),
                meetvault_config::IntegrationOAuthApp {
                    client_id: meetvault_integrations::fake::CLIENT_ID.into(),
                    client_secret: meetvault_config::Secret::new(
                        meetvault_integrations::fake::CLIENT_SECRET,
                    ),
                    token_url: fake.url(if *name == "notion" {
                        "v1/oauth/token"
                    } else {
                        "oauth/token"
                    }),
                    authorize_url: Some(fake.url("oauth/authorize")),
                    scopes: None,
                },
            )
        })
        .collect();
    TestApp::spawn_with(|c| {
        c.outbound.allow_hosts = vec!["127.0.0.1/32".into()];
        c.intelligence.auto = true;
        c.integrations.poll_ms = 50;
        c.jobs.backoff_base_secs = 1;
        c.jobs.backoff_max_secs = 1;
        c.integrations.oauth = apps.into_iter().collect();
        adjust(c);
    })
    .await
}

/// A meeting with three participants and a transcript whose summary has action items for Ben
/// and Cara; returns its id.
pub(crate) async fn finished_meeting(
    app: &TestApp,
    owner: &Session,
    title: &str,
    workspace: Option<&str>,
) -> String {
    let mut body = json!({"title": title, "started_at": "2026-12-03T09:00:00Z", "participants": [
            {"name": "Ana", "email": "ana@customer.example"},
            {"name": "Ben", "email": "ben@acme.example"},
            {"name": "Cara", "email": "cara@acme.example"}]});
    if let Some(w) = workspace {
        body["workspace_id"] = json!(w);
    }
    let id = meeting(app, owner, body).await;
    let lines = [
        (
            "Ana",
            "Good morning everyone, this is the quarterly budget review.",
        ),
        (
            "Ben",
            "The vendor quote for the new servers came in twenty percent higher than planned.",
        ),
        ("Ben", "I'll send the revised budget to finance by Friday."),
        (
            "Cara",
            "We decided to move the product launch to the fourteenth of March.",
        ),
        ("Cara", "Sure, I will update the launch plan tomorrow."),
    ];
    let segments: Vec<Value> = lines
        .iter()
        .enumerate()
        .map(|(i, (speaker, text))| {
            json!({"start_ms": i as i64 * 5000, "end_ms": i as i64 * 5000 + 4500, "speaker": speaker, "text": text})
        })
        .collect();
    let (status, v) = call(
        app,
        owner,
        Method::POST,
        &format!("/api/v1/meetings/{id}/transcript"),
        Some(json!({ "segments": segments })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    id
}

pub(crate) async fn connect(app: &TestApp, owner: &Session, body: Value) -> Value {
    let (status, v) = call(app, owner, Method::POST, "/api/v1/integrations", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{v:#}");
    v
}

/// Polls `done` until it holds; fails after [`WAIT`] with what it last saw.
async fn until<F: Fn() -> bool>(what: &str, done: F) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < WAIT,
            "{what} did not happen within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(crate) async fn approvals(app: &TestApp, s: &Session, want: usize) -> Vec<Value> {
    let start = Instant::now();
    loop {
        let (status, v) = call(app, s, Method::GET, "/api/v1/approvals", None).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        let list = v["approvals"].as_array().unwrap().clone();
        if list.len() >= want {
            return list;
        }
        assert!(
            start.elapsed() < WAIT,
            "{want} approvals did not arrive: {v:#}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_workspace_connects_all_seven_and_a_meetings_summary_and_approved_items_arrive_once() {
    let mut fakes = Vec::new();
    for kind in Kind::ALL {
        fakes.push(Fake::start(kind).await.unwrap());
    }
    let [slack, notion, drive, linear, jira, hubspot, salesforce] = &fakes[..] else {
        unreachable!()
    };
    for f in [linear, jira, hubspot, salesforce] {
        f.add_user("ben@acme.example");
        f.add_user("cara@acme.example");
    }
    for f in [hubspot, salesforce] {
        f.add_contact("ana@customer.example");
    }
    let app = app_with(
        &[("google_drive", drive), ("salesforce", salesforce)],
        |_| {},
    )
    .await;
    let owner = app.register("owner@example.com", "Acme").await;
    let (status, v) = call(
        &app,
        &owner,
        Method::POST,
        "/api/v1/workspaces",
        Some(json!({"name": "Sales"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let ws = v["id"].as_str().unwrap().to_owned();

    let drive_grant = drive.grant();
    let sf_grant = salesforce.grant();
    let bodies = [
        json!({"provider": "slack", "workspace_id": ws, "base_url": slack.url("api/").as_str(), "destination": "C0123",
               "credential": {"type": "token", "token": TOKEN}}),
        json!({"provider": "notion", "workspace_id": ws, "base_url": notion.base_url().as_str(), "destination": NOTION_PARENT,
               "credential": {"type": "token", "token": TOKEN}}),
        json!({"provider": "google_drive", "workspace_id": ws, "base_url": drive.base_url().as_str(), "destination": "1FolderAbcXyz_0",
               "credential": {"type": "oauth", "access_token": drive_grant.access_token.expose(),
                              "refresh_token": drive_grant.refresh_token.expose(), "expires_in": 3600}}),
        json!({"provider": "linear", "workspace_id": ws, "base_url": linear.base_url().as_str(), "destination": LINEAR_TEAM,
               "credential": {"type": "token", "token": TOKEN}}),
        json!({"provider": "jira", "workspace_id": ws, "base_url": jira.base_url().as_str(), "destination": "OPS",
               "credential": {"type": "basic", "email": JIRA_EMAIL, "api_token": TOKEN}}),
        json!({"provider": "hubspot", "workspace_id": ws, "base_url": hubspot.base_url().as_str(),
               "credential": {"type": "token", "token": TOKEN}}),
        json!({"provider": "salesforce", "workspace_id": ws, "base_url": salesforce.base_url().as_str(),
               "credential": {"type": "oauth", "access_token": sf_grant.access_token.expose(),
                              "refresh_token": sf_grant.refresh_token.expose(), "expires_in": 3600}}),
    ];
    let mut connections = Vec::new();
    for body in bodies {
        let v = connect(&app, &owner, body).await;
        let text = v.to_string();
        assert!(!text.contains("CANARY"), "a credential came back: {v:#}");
        assert!(
            v["credential"]["hint"].as_str().unwrap().starts_with('…'),
            "{v}"
        );
        assert_eq!(v["status"], "active");
        connections.push(v);
    }
    // Each was checked with the provider's cheapest authenticated call.
    assert_eq!(slack.requests_to("/api/auth.test").len(), 1);
    assert_eq!(notion.requests_to("/v1/users/me").len(), 1);
    assert_eq!(linear.requests_to("/graphql").len(), 1);
    assert_eq!(jira.requests_to("/rest/api/3/myself").len(), 1);
    // Defaults: trackers and CRMs wait for approval; only they take action items.
    let by = |p: &str| connections.iter().find(|c| c["provider"] == p).unwrap();
    assert_eq!(by("slack")["approval"], false);
    assert_eq!(by("jira")["approval"], true);
    assert_eq!(by("jira")["on_summary"], false);
    assert_eq!(by("hubspot")["on_action_items"], true);
    assert_eq!(by("notion")["on_action_items"], false);

    // A meeting elsewhere in the org is not this workspace's to send.
    finished_meeting(&app, &owner, "Elsewhere", None).await;
    let id = finished_meeting(&app, &owner, "Budget review", Some(&ws)).await;

    // Summaries reach Slack, Notion and Drive without approval.
    until("the Slack message", || !slack.created().is_empty()).await;
    until("the Notion page", || !notion.created().is_empty()).await;
    until("the Drive file", || !drive.created().is_empty()).await;
    let post = &slack.requests_to("/api/chat.postMessage")[0];
    assert_eq!(
        post.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(post.body["channel"], "C0123");
    assert_eq!(post.body["blocks"][0]["text"]["text"], "Budget review");
    let text = post.body.to_string();
    assert!(
        text.contains("send the revised budget to finance"),
        "{text}"
    );
    assert!(text.contains(&format!("/meetings/{id}")), "{text}");

    // Nothing has reached a tracker or CRM: it waits, with exactly what would be sent.
    // Two action items each for Linear, Jira, HubSpot, Salesforce, and the CRMs' summaries.
    let queue = approvals(&app, &owner, 10).await;
    assert_eq!(queue.len(), 10, "{queue:#?}");
    for f in [linear, jira, hubspot, salesforce] {
        assert!(f.created().is_empty(), "sent before approval");
    }
    let ben_jira = queue
        .iter()
        .find(|i| i["provider"] == "jira" && i["content"]["owner_email"] == "ben@acme.example")
        .unwrap_or_else(|| panic!("{queue:#?}"));
    assert_eq!(ben_jira["state"], "awaiting_approval");
    assert_eq!(ben_jira["content"]["type"], "task");
    assert_eq!(
        ben_jira["content"]["due"], "2026-12-04",
        "Friday after Thursday's meeting"
    );
    assert!(
        ben_jira["content"]["link"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/meetings/{id}?t=10")),
        "{ben_jira}"
    );

    // An approver edits one, approves all but one, rejects that one.
    let (approver_key, _) = app.api_key(&owner, &["approvals:decide"]).await;
    let approver = Cred::Bearer(approver_key);
    // The approver's key manages no connection.
    let r = app
        .send(&approver, Method::GET, "/api/v1/integrations", None)
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let mut edited = ben_jira["content"].clone();
    edited["title"] = json!("Send the revised Q1 budget to finance");
    let r = app
        .send(
            &approver,
            Method::POST,
            &format!(
                "/api/v1/approvals/{}/approve",
                ben_jira["id"].as_str().unwrap()
            ),
            Some(json!({"content": edited})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let cara_linear = queue
        .iter()
        .find(|i| i["provider"] == "linear" && i["content"]["owner_email"] == "cara@acme.example")
        .unwrap();
    let r = app
        .send(
            &approver,
            Method::POST,
            &format!(
                "/api/v1/approvals/{}/reject",
                cara_linear["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    for item in &queue {
        if item["id"] == ben_jira["id"] || item["id"] == cara_linear["id"] {
            continue;
        }
        let r = app
            .send(
                &approver,
                Method::POST,
                &format!("/api/v1/approvals/{}/approve", item["id"].as_str().unwrap()),
                Some(json!({})),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    }
    // A decided item cannot be decided again.
    let r = app
        .send(
            &approver,
            Method::POST,
            &format!(
                "/api/v1/approvals/{}/reject",
                ben_jira["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);

    until("the Jira issues", || jira.created().len() == 2).await;
    until("the Linear issue", || linear.created().len() == 1).await;
    until("HubSpot's note and tasks", || hubspot.created().len() == 3).await;
    until("Salesforce's tasks", || salesforce.created().len() == 3).await;
    let issue = &jira.requests_to("/rest/api/3/issue");
    let ben = issue
        .iter()
        .find(|r| r.body["fields"]["summary"] == "Send the revised Q1 budget to finance")
        .expect("the edited title was sent");
    assert_eq!(ben.body["fields"]["project"]["key"], "OPS");
    assert_eq!(ben.body["fields"]["duedate"], "2026-12-04");
    assert!(ben.header("authorization").unwrap().starts_with("Basic "));
    // The rejected item never left.
    let linear_text = serde_json::to_string(&linear.created()).unwrap();
    assert!(
        !linear_text.to_lowercase().contains("launch plan"),
        "{linear_text}"
    );

    // Exactly once: a regenerated summary proposes nothing new and nothing is sent again.
    let (status, v) = call(
        &app,
        &owner,
        Method::POST,
        &format!("/api/v1/meetings/{id}/summary"),
        Some(json!({})),
    )
    .await;
    assert!(status.is_success(), "{v}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(slack.created().len(), 1);
    assert_eq!(notion.created().len(), 1);
    assert_eq!(drive.created().len(), 1);
    assert_eq!(jira.created().len(), 2);
    assert_eq!(linear.created().len(), 1);
    assert_eq!(approvals(&app, &owner, 0).await.len(), 0);

    // The delivery log: every attempt, no content, no credential; the audit log has it all.
    let jira_id = by("jira")["id"].as_str().unwrap();
    let (_, log) = call(
        &app,
        &owner,
        Method::GET,
        &format!("/api/v1/integrations/{jira_id}/deliveries"),
        None,
    )
    .await;
    assert_eq!(log["items"].as_array().unwrap().len(), 2, "{log:#}");
    assert!(log["items"].as_array().unwrap().iter().all(|i| {
        i["state"] == "sent"
            && i["external_id"]
                .as_str()
                .is_some_and(|k| k.starts_with("OPS-"))
            && i["content"].is_null()
    }));
    assert_eq!(log["attempts"].as_array().unwrap().len(), 2);
    assert!(!log.to_string().contains("CANARY"));
    for action in [
        "integration.connect",
        "integration.approve",
        "integration.reject",
        "integration.sent",
    ] {
        let (_, audit) = call(
            &app,
            &owner,
            Method::GET,
            &format!("/api/v1/audit?action={action}"),
            None,
        )
        .await;
        assert!(
            !audit["entries"].as_array().unwrap().is_empty(),
            "{action} not audited"
        );
    }
    let (_, list) = call(&app, &owner, Method::GET, "/api/v1/integrations", None).await;
    assert_eq!(list["integrations"].as_array().unwrap().len(), 7);
    assert!(!list.to_string().contains("CANARY"));
}

#[tokio::test]
async fn a_429_waits_its_retry_after_an_expired_token_is_refreshed_and_a_refused_one_breaks_the_connection()
 {
    let slack = Fake::start(Kind::Slack).await.unwrap();
    let drive = Fake::start(Kind::GoogleDrive).await.unwrap();
    let app = app_with(&[("google_drive", &drive)], |_| {}).await;
    let owner = app.register("owner@example.com", "Acme").await;
    let grant = drive.grant();
    let d = connect(
        &app,
        &owner,
        json!({"provider": "google_drive", "base_url": drive.base_url().as_str(), "destination": "1FolderAbcXyz_0",
               "credential": {"type": "oauth", "access_token": grant.access_token.expose(),
                              "refresh_token": grant.refresh_token.expose(), "expires_in": 3600}}),
    )
    .await;
    let s = connect(
        &app,
        &owner,
        json!({"provider": "slack", "base_url": slack.url("api/").as_str(), "destination": "C0123",
               "credential": {"type": "token", "token": TOKEN}}),
    )
    .await;
    // Slack asks for two seconds; Drive's token is refused before its time.
    slack.fail_next("/api/chat.postMessage", 429, Some("2"));
    drive.expire_access_tokens();
    finished_meeting(&app, &owner, "Budget review", None).await;
    until("the Drive file", || drive.created().len() == 1).await;
    assert_eq!(
        drive.refreshes(),
        1,
        "refreshed once with the operator's app"
    );
    until("the Slack message", || slack.created().len() == 1).await;
    let posts = slack.requests_to("/api/chat.postMessage");
    assert_eq!(posts.len(), 2);
    let sid = s["id"].as_str().unwrap();
    let (_, log) = call(
        &app,
        &owner,
        Method::GET,
        &format!("/api/v1/integrations/{sid}/deliveries"),
        None,
    )
    .await;
    let outcomes: Vec<&str> = log["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|a| a["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["rate_limited", "sent"], "{log:#}");
    let at = |a: &Value| chrono::DateTime::parse_from_rfc3339(a["at"].as_str().unwrap()).unwrap();
    let attempts = log["attempts"].as_array().unwrap();
    assert!(
        at(&attempts[0]) - at(&attempts[1]) >= chrono::Duration::milliseconds(1900),
        "retried before Retry-After: {log:#}"
    );
    // The retry looked for the message first (its key), and found none.
    assert_eq!(slack.requests_to("/api/conversations.history").len(), 1);
    // The refreshed token is stored (sealed): a later expiry, the secret never shown.
    let did = d["id"].as_str().unwrap();
    let (_, view) = call(
        &app,
        &owner,
        Method::GET,
        &format!("/api/v1/integrations/{did}"),
        None,
    )
    .await;
    assert!(
        view["credential"]["expires_at"].as_str().unwrap()
            > d["credential"]["expires_at"].as_str().unwrap(),
        "{view:#}"
    );
    assert!(!view.to_string().contains("CANARY"));

    // A revoked grant: the connection is broken and what comes next waits for a reconnect.
    drive.revoke_grants();
    drive.expire_access_tokens();
    finished_meeting(&app, &owner, "Launch sync", None).await;
    let start = Instant::now();
    let view = loop {
        let (_, v) = call(
            &app,
            &owner,
            Method::GET,
            &format!("/api/v1/integrations/{did}"),
            None,
        )
        .await;
        if v["status"] == "broken" {
            break v;
        }
        if start.elapsed() > WAIT {
            let (_, log) = call(
                &app,
                &owner,
                Method::GET,
                &format!("/api/v1/integrations/{did}/deliveries"),
                None,
            )
            .await;
            panic!("not broken: {v:#} {log:#}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        view["status_reason"].as_str().unwrap().contains("revoked"),
        "{view}"
    );
    assert_eq!(drive.created().len(), 1);
    let fresh = drive.grant();
    let (status, v) = call(
        &app,
        &owner,
        Method::PATCH,
        &format!("/api/v1/integrations/{did}"),
        Some(
            json!({"credential": {"type": "oauth", "access_token": fresh.access_token.expose(),
                    "refresh_token": fresh.refresh_token.expose(), "expires_in": 3600}}),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "active");
    until("the waiting file", || drive.created().len() == 2).await;
}

#[tokio::test]
async fn internal_urls_are_refused_at_registration_and_at_delivery_and_bad_input_changes_nothing() {
    let jira = Fake::start(Kind::Jira).await.unwrap();
    let slack = Fake::start(Kind::Slack).await.unwrap();
    // Without the operator's allow-list, loopback is internal: refused before any request.
    let strict = TestApp::spawn_with(|c| c.intelligence.auto = true).await;
    let owner = strict.register("owner@example.com", "Acme").await;
    let body = json!({"provider": "jira", "base_url": jira.base_url().as_str(), "destination": "OPS",
                      "credential": {"type": "basic", "email": JIRA_EMAIL, "api_token": TOKEN}});
    let (status, v) = call(
        &strict,
        &owner,
        Method::POST,
        "/api/v1/integrations",
        Some(body),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.to_string().contains("base_url"), "{v}");
    for (bad, field) in [
        (
            json!({"provider": "jira", "base_url": "https://u:p@jira.example/", "destination": "OPS",
                "credential": {"type": "basic", "email": JIRA_EMAIL, "api_token": TOKEN}}),
            "base_url",
        ),
        (
            json!({"provider": "jira", "base_url": "https://jira.example/", "destination": "OPS\" OR 1=1",
                "credential": {"type": "basic", "email": JIRA_EMAIL, "api_token": TOKEN}}),
            "target",
        ),
        (
            json!({"provider": "salesforce", "credential": {"type": "token", "token": TOKEN}}),
            "base_url",
        ),
        (
            json!({"provider": "google_drive", "destination": "f", "credential": {"type": "token", "token": TOKEN}}),
            "credential",
        ),
        (
            json!({"provider": "slack", "credential": {"type": "webhook_url", "url": "http://169.254.169.254/latest/meta-data"}}),
            "webhook_url",
        ),
    ] {
        let (status, v) = call(
            &strict,
            &owner,
            Method::POST,
            "/api/v1/integrations",
            Some(bad.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {v}");
        assert!(v.to_string().contains(field), "{bad}: {v}");
        assert!(!v.to_string().contains("CANARY"), "{v}");
    }
    let (status, v) = call(
        &strict,
        &owner,
        Method::POST,
        "/api/v1/integrations",
        Some(json!({"provider": "teams", "credential": {"type": "token", "token": "x"}})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (_, list) = call(&strict, &owner, Method::GET, "/api/v1/integrations", None).await;
    assert_eq!(list["integrations"], json!([]));
    assert!(jira.requests().is_empty(), "a refused URL was contacted");
    drop(strict);

    // At delivery: connected while loopback was allowed, sent by an instance whose operator
    // removed the allow-list entry: refused, nothing connects.
    let app = app_with(&[], |_| {}).await;
    let owner = app.register("owner@example.com", "Acme").await;
    let hook = slack.url(&format!("services/{SLACK_WEBHOOK_PATH}"));
    connect(
        &app,
        &owner,
        json!({"provider": "slack", "base_url": slack.url("api/").as_str(),
               "credential": {"type": "webhook_url", "url": hook.as_str()}}),
    )
    .await;
    let sibling = app
        .spawn_sibling(|c| c.outbound.allow_hosts = Vec::new())
        .await;
    drop(app);
    tokio::time::sleep(Duration::from_millis(500)).await;
    slack.clear_requests();
    finished_meeting(&sibling, &owner, "Budget review", None).await;
    let start = Instant::now();
    let item = loop {
        let (_, log) = call(
            &sibling,
            &owner,
            Method::GET,
            "/api/v1/approvals?state=failed",
            None,
        )
        .await;
        if let Some(i) = log["approvals"].as_array().unwrap().first() {
            break i.clone();
        }
        assert!(start.elapsed() < WAIT, "{log:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        item["last_error"].as_str().unwrap().contains("refused"),
        "{item}"
    );
    assert!(
        slack.requests().is_empty(),
        "an internal URL was contacted at delivery"
    );
}

#[tokio::test]
async fn one_orgs_burst_waits_for_its_own_rate_limit_and_not_another_orgs() {
    let linear = Fake::start(Kind::Linear).await.unwrap();
    // One request a minute per org and provider: each org's first issue goes at once, its
    // second waits for its own bucket; the other org is not held up by the first.
    let app = app_with(&[], |c| {
        c.integrations.requests_per_minute = 1;
        c.auth.open_registration = true;
    })
    .await;
    let mut orgs = Vec::new();
    for (email, org) in [("a@example.com", "Org A"), ("b@example.com", "Org B")] {
        let owner = app.register(email, org).await;
        let c = connect(
            &app,
            &owner,
            json!({"provider": "linear", "base_url": linear.base_url().as_str(), "destination": LINEAR_TEAM,
                   "approval": false, "credential": {"type": "token", "token": TOKEN}}),
        )
        .await;
        orgs.push((owner, c["id"].as_str().unwrap().to_owned()));
    }
    for (owner, _) in &orgs {
        finished_meeting(&app, owner, "Budget review", None).await;
    }
    until("one issue per org", || linear.created().len() == 2).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(linear.created().len(), 2, "a bucket was shared or skipped");
    for (owner, id) in &orgs {
        let (_, log) = call(
            &app,
            owner,
            Method::GET,
            &format!("/api/v1/integrations/{id}/deliveries"),
            None,
        )
        .await;
        let mut states: Vec<&str> = log["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["state"].as_str().unwrap())
            .collect();
        states.sort_unstable();
        assert_eq!(states, ["queued", "sent"], "{log:#}");
        // The wait is ours, not the provider's: no attempt was spent on it.
        assert_eq!(log["attempts"].as_array().unwrap().len(), 1, "{log:#}");
    }
}
