//! Calendars that send the bot, against loopback servers of the documented Google Calendar v3
//! and Microsoft Graph endpoints (`meetvault_calendar::fake`, reached through the outbound
//! allow-list like a real provider): connecting through the backend redirect with the
//! browser-bound state, the first sync scheduling a bot for each meeting the rules select,
//! moves and cancellations carried to the bot, rules of the person and the workspace and
//! per-event choices, one bot for colleagues invited to the same meeting, push notifications
//! (Google channels, Graph subscriptions with their handshake) with forged ones refused, a
//! grant revoked at the provider, disconnecting (revoked and audited), and the connect
//! refusals (another browser, another account, no cookie, a tampered state, an API key).

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Timelike, Utc};
use meetvault_calendar::ProviderKind;
use meetvault_calendar::fake::{CLIENT_ID, CLIENT_SECRET, FakeEvent, FakeProviders};
use meetvault_test_support::{Cred, Session, TestApp};
use reqwest::{Method, StatusCode, Url};
use serde_json::{Value, json};

const PUBLIC: &str = "https://vault.example.test";
pub(crate) const CONNECT_COOKIE: &str = "__Host-mv_calendar";
const MEET: &str = "https://meet.google.com/abc-defg-hij";
const ZOOM: &str = "https://us02web.zoom.us/j/81234567890?pwd=secretpass";
const TEAMS: &str = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_NjA0ZjQ1YjEtYzY3@thread.v2/0?context=%7b%22Tid%22%3a%22t%22%7d";

/// An instance whose calendar providers are `fake`, pushing (when `push` is set) to that
/// address; and its first org's owner.
pub(crate) async fn setup(fake: &FakeProviders, push: Option<String>) -> (TestApp, Session) {
    let base = fake.base_url().clone();
    let at = |p: &str| Some(base.join(p).unwrap());
    let app = TestApp::spawn_with(|c| {
        c.auth.open_registration = true;
        c.server.public_url = Some(PUBLIC.parse().unwrap());
        c.server.allowed_hosts = vec!["127.0.0.1".into()];
        c.outbound.allow_hosts = vec!["127.0.0.1/32".into()];
        c.calendar.google = Some(meetvault_config::GoogleCalendarConfig {
            client_id: CLIENT_ID.into(),
            client_secret: meetvault_config::Secret::new(CLIENT_SECRET),
            authorize_url: at("o/oauth2/v2/auth"),
            token_url: at("token"),
            revoke_url: at("revoke"),
            api_url: at("calendar/v3"),
        });
        c.calendar.microsoft = Some(meetvault_config::MicrosoftCalendarConfig {
            client_id: CLIENT_ID.into(),
            client_secret: meetvault_config::Secret::new(CLIENT_SECRET),
            tenant: "common".into(),
            login_url: at("ms"),
            graph_url: at("v1.0"),
        });
        c.calendar.push = push.is_some();
        c.calendar.push_url = push.map(|p| p.parse().unwrap());
    })
    .await;
    let owner = app.register("owner@acme.example", "Acme").await;
    (app, owner)
}

pub(crate) fn s(session: &Session) -> Cred {
    Cred::Session(session.clone())
}

pub(crate) async fn get(app: &TestApp, who: &Session, path: &str) -> Value {
    let r = app.send(&s(who), Method::GET, path, None).await;
    assert_eq!(r.status(), StatusCode::OK, "GET {path}");
    r.json().await.unwrap()
}

/// Starts a connect: the consent URL and the connect cookie (`name=value`).
pub(crate) async fn start_connect(app: &TestApp, who: &Session, provider: &str) -> (Url, String) {
    let r = app
        .send(
            &s(who),
            Method::POST,
            "/api/v1/calendar/connections",
            Some(json!({"provider": provider, "return_to": "/settings/calendar"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with(CONNECT_COOKIE))
        .expect("the connect cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("Secure"),
        "{cookie}"
    );
    let body: Value = r.json().await.unwrap();
    let url = Url::parse(body["authorization_url"].as_str().unwrap()).unwrap();
    (url, cookie.split(';').next().unwrap().to_owned())
}

/// The provider's redirect back, visited by `who` with `cookie`.
pub(crate) async fn callback(
    app: &TestApp,
    who: &Session,
    code: &str,
    state: &str,
    cookie: Option<&str>,
) -> reqwest::Response {
    let mut cookies = who.cookie.clone();
    if let Some(c) = cookie {
        cookies = format!("{cookies}; {c}");
    }
    app.client
        .get(app.url("/api/v1/calendar/callback"))
        .query(&[("code", code), ("state", state)])
        .header("cookie", cookies)
        .send()
        .await
        .unwrap()
}

/// Connects `who`'s calendar at `provider` and waits for its first sync; the connection id.
async fn connect(app: &TestApp, fake: &FakeProviders, who: &Session, provider: &str) -> String {
    let (url, cookie) = start_connect(app, who, provider).await;
    let (code, state) = fake.consent(&url).await.unwrap();
    let r = callback(app, who, &code, &state, Some(&cookie)).await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "{}",
        r.text().await.unwrap()
    );
    assert_eq!(r.headers()["location"], "/settings/calendar");
    let list = get(app, who, "/api/v1/calendar/connections").await;
    let conn = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["provider"] == provider)
        .unwrap()
        .clone();
    let id = conn["id"].as_str().unwrap().to_owned();
    wait_synced(app, who, &id, None).await;
    id
}

fn connection(list: &Value, id: &str) -> Value {
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .cloned()
        .unwrap_or(Value::Null)
}

/// Waits until the connection's `last_sync_at` differs from `before`.
async fn wait_synced(app: &TestApp, who: &Session, id: &str, before: Option<&Value>) -> Value {
    for _ in 0..300 {
        let list = get(app, who, "/api/v1/calendar/connections").await;
        let c = connection(&list, id);
        let synced = &c["last_sync_at"];
        if !synced.is_null() && Some(synced) != before {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let list = get(app, who, "/api/v1/calendar/connections").await;
    panic!("connection {id} did not sync within 30 s: {list:#}");
}

/// Asks for a sync now and waits for it.
async fn sync(app: &TestApp, who: &Session, id: &str) -> Value {
    let list = get(app, who, "/api/v1/calendar/connections").await;
    let before = connection(&list, id)["last_sync_at"].clone();
    // Two syncs within one millisecond would look alike.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let r = app
        .send(
            &s(who),
            Method::POST,
            &format!("/api/v1/calendar/connections/{id}/sync"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    wait_synced(app, who, id, Some(&before)).await
}

async fn events(app: &TestApp, who: &Session) -> Vec<Value> {
    get(app, who, "/api/v1/calendar/events").await["data"]
        .as_array()
        .unwrap()
        .clone()
}

fn event<'a>(list: &'a [Value], title: &str) -> &'a Value {
    list.iter()
        .find(|e| e["title"] == title)
        .unwrap_or_else(|| panic!("no event {title:?} in {list:#?}"))
}

async fn bot(app: &TestApp, who: &Session, id: &str) -> Value {
    get(app, who, &format!("/api/v1/bots/{id}")).await
}

async fn bots(app: &TestApp, who: &Session) -> Vec<Value> {
    get(app, who, "/api/v1/bots?limit=200").await["bots"]
        .as_array()
        .unwrap()
        .clone()
}

pub(crate) async fn audit(app: &TestApp, who: &Session, action: &str) -> Vec<Value> {
    get(app, who, &format!("/api/v1/audit?action={action}")).await["entries"]
        .as_array()
        .unwrap()
        .clone()
}

/// Tomorrow's whole `hour` (UTC), plus `days`.
fn at(days: i64, hour: u32) -> DateTime<Utc> {
    (Utc::now() + TimeDelta::days(days + 1))
        .with_hour(hour)
        .unwrap()
        .with_minute(0)
        .unwrap()
        .with_second(0)
        .unwrap()
        .with_nanosecond(0)
        .unwrap()
}

fn time(v: &Value) -> DateTime<Utc> {
    v.as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_google_calendar_schedules_moves_and_cancels_bots_by_the_rules() {
    let fake = FakeProviders::start().await.unwrap();
    let g = ProviderKind::Google;
    let review = fake.add_event(
        g,
        FakeEvent::meeting("Design review", at(1, 10), 60, Some(MEET)),
    );
    fake.add_event(g, FakeEvent::meeting("Lunch", at(1, 12), 60, None));
    fake.add_event(
        g,
        FakeEvent::meeting("Private 1:1 with Alice", at(1, 14), 30, Some(ZOOM)),
    );
    let declined = fake.add_event(
        g,
        FakeEvent::meeting("Vendor pitch", at(2, 9), 30, Some(MEET)),
    );
    fake.respond(g, &declined, "declined");
    let series = fake.add_series(
        g,
        FakeEvent::meeting("Weekly sync", at(1, 16), 30, Some(TEAMS)),
        3,
        TimeDelta::days(1),
    );
    let (app, owner) = setup(&fake, None).await;

    let providers = get(&app, &owner, "/api/v1/calendar/providers").await;
    assert_eq!(providers["data"][0]["provider"], "google");
    assert_eq!(
        providers["data"][0]["scopes"],
        "https://www.googleapis.com/auth/calendar.events.readonly"
    );
    let id = connect(&app, &fake, &owner, "google").await;
    let list = get(&app, &owner, "/api/v1/calendar/connections").await;
    let text = list.to_string();
    assert!(
        !text.contains("token") && !text.contains(CLIENT_SECRET),
        "{text}"
    );
    assert_eq!(connection(&list, &id)["status"], "active");
    assert_eq!(connection(&list, &id)["push"], false);

    // The first sync: one bot per meeting the rules select, each joining a minute early.
    let evs = events(&app, &owner).await;
    assert_eq!(evs.len(), 7, "{evs:#?}");
    let review_ev = event(&evs, "Design review");
    assert_eq!(review_ev["record"], true);
    assert_eq!(review_ev["reason"], "matched");
    assert_eq!(review_ev["platform"], "google_meet");
    assert_eq!(event(&evs, "Lunch")["reason"], "no_conference_link");
    assert_eq!(event(&evs, "Vendor pitch")["reason"], "declined");
    assert!(event(&evs, "Vendor pitch")["bot_id"].is_null());
    assert_eq!(event(&evs, "Private 1:1 with Alice")["platform"], "zoom");
    // The settings page lists the same events, each with the choice form the API takes.
    let page = app
        .client
        .get(app.url("/settings"))
        .header("cookie", &owner.cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("<td>Design review</td>") && page.contains("no conference link"),
        "{page}"
    );
    assert!(page.contains(&format!(
        "data-api=\"/api/v1/calendar/connections/{id}/events/{}/choice\"",
        review_ev["event_id"].as_str().unwrap()
    )));
    let weekly: Vec<&Value> = evs.iter().filter(|e| e["title"] == "Weekly sync").collect();
    assert_eq!(weekly.len(), 3);
    assert!(
        weekly
            .iter()
            .all(|e| e["record"] == true && e["platform"] == "teams")
    );
    let scheduled: Vec<Value> = bots(&app, &owner)
        .await
        .into_iter()
        .filter(|b| b["state"] == "scheduled")
        .collect();
    assert_eq!(scheduled.len(), 5, "{scheduled:#?}");
    let review_bot = review_ev["bot_id"].as_str().unwrap().to_owned();
    let b = bot(&app, &owner, &review_bot).await;
    assert_eq!(time(&b["join_at"]), at(1, 10) - TimeDelta::seconds(60));
    assert_eq!(b["meeting_url"], MEET);
    assert_eq!(b["metadata"]["source"], "calendar");
    let meeting = get(
        &app,
        &owner,
        &format!("/api/v1/meetings/{}", b["meeting_id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(meeting["title"], "Design review");
    // A sync with nothing new changes nothing.
    sync(&app, &owner, &id).await;
    assert_eq!(
        bots(&app, &owner)
            .await
            .iter()
            .filter(|b| b["state"] == "scheduled")
            .count(),
        5
    );

    // Moved: the same bot moves with it.
    assert!(fake.move_event(g, &review, at(1, 11), at(1, 12)));
    sync(&app, &owner, &id).await;
    let evs = events(&app, &owner).await;
    assert_eq!(event(&evs, "Design review")["bot_id"], review_bot.as_str());
    let b = bot(&app, &owner, &review_bot).await;
    assert_eq!(b["state"], "scheduled");
    assert_eq!(time(&b["join_at"]), at(1, 11) - TimeDelta::seconds(60));

    // Cancelled by its organizer: the bot is cancelled (and the cancellation audited).
    assert!(fake.cancel_event(g, &review));
    sync(&app, &owner, &id).await;
    let b = bot(&app, &owner, &review_bot).await;
    assert_eq!(b["state"], "ended");
    assert_eq!(b["sub_code"], "cancelled");
    assert!(
        audit(&app, &owner, "bot.cancel")
            .await
            .iter()
            .any(|e| e["resource"] == review_bot.as_str() && e["actor"] == id.as_str())
    );

    // The person's rules: never a meeting titled "private".
    let private_bot = event(&events(&app, &owner).await, "Private 1:1 with Alice")["bot_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = connection(
        &get(&app, &owner, "/api/v1/calendar/connections").await,
        &id,
    )["last_sync_at"]
        .clone();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let r = app
        .send(
            &s(&owner),
            Method::PUT,
            "/api/v1/calendar/rules",
            Some(json!({"never_keywords": ["PRIVATE"]})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    wait_synced(&app, &owner, &id, Some(&before)).await;
    let evs = events(&app, &owner).await;
    assert_eq!(
        event(&evs, "Private 1:1 with Alice")["reason"],
        "keyword_excluded"
    );
    assert_eq!(bot(&app, &owner, &private_bot).await["state"], "ended");
    let r = app
        .send(
            &s(&owner),
            Method::PUT,
            "/api/v1/calendar/rules",
            Some(json!({"never_keywords": ["\u{0}"]})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Per-event choices beat the rules: the declined pitch recorded, one weekly sync not.
    let choice = |event_id: &str, choice: Value| {
        let path = format!("/api/v1/calendar/connections/{id}/events/{event_id}/choice");
        let app = &app;
        let owner = owner.clone();
        async move {
            app.send(
                &s(&owner),
                Method::PUT,
                &path,
                Some(json!({ "choice": choice })),
            )
            .await
            .status()
        }
    };
    assert_eq!(
        choice(&declined, json!("always")).await,
        StatusCode::NO_CONTENT
    );
    let evs = events(&app, &owner).await;
    let pitch = event(&evs, "Vendor pitch");
    assert_eq!(pitch["reason"], "override_always");
    assert_eq!(pitch["choice"], "always");
    let pitch_bot = pitch["bot_id"].as_str().unwrap().to_owned();
    assert_eq!(bot(&app, &owner, &pitch_bot).await["state"], "scheduled");
    assert_eq!(
        choice(&series[1], json!("never")).await,
        StatusCode::NO_CONTENT
    );
    let evs = events(&app, &owner).await;
    let skipped = evs
        .iter()
        .find(|e| e["event_id"] == series[1].as_str())
        .unwrap();
    assert_eq!(skipped["reason"], "override_never");
    assert!(skipped["bot_id"].is_null());
    assert_eq!(
        choice("no-such-event", json!("never")).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        choice(&declined, json!("sometimes")).await,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // The workspace's rule: only meetings its members organize (Alice organizes them all);
    // the person's "always" still holds.
    let ws = get(&app, &owner, "/api/v1/workspaces").await;
    let ws = ws["workspaces"][0]["id"].as_str().unwrap().to_owned();
    let r = app
        .send(
            &s(&owner),
            Method::PUT,
            &format!("/api/v1/workspaces/{ws}/calendar-rules"),
            Some(json!({"mode": "only_organizer", "never_domains": ["competitor.example"]})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let rules = get(
        &app,
        &owner,
        &format!("/api/v1/workspaces/{ws}/calendar-rules"),
    )
    .await;
    assert_eq!(rules["mode"], "only_organizer");
    sync(&app, &owner, &id).await;
    let evs = events(&app, &owner).await;
    assert!(
        evs.iter()
            .filter(|e| e["title"] == "Weekly sync")
            .all(|e| e["record"] == false),
        "{evs:#?}"
    );
    assert_eq!(event(&evs, "Vendor pitch")["record"], true);
    let scheduled: Vec<String> = bots(&app, &owner)
        .await
        .into_iter()
        .filter(|b| b["state"] == "scheduled")
        .map(|b| b["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(scheduled, vec![pitch_bot.clone()]);

    for action in [
        "calendar.connect",
        "calendar.rules_update",
        "calendar.event_choice",
    ] {
        assert!(!audit(&app, &owner, action).await.is_empty(), "{action}");
    }

    assert_eq!(fake.revoked_grants(g), 0);
    // Disconnect: the grant revoked at Google, the connection and its events gone, the bot
    // only it wanted cancelled, audited.
    let r = app
        .send(
            &s(&owner),
            Method::DELETE,
            &format!("/api/v1/calendar/connections/{id}"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(fake.revoked_grants(g), 1);
    assert!(
        get(&app, &owner, "/api/v1/calendar/connections").await["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(events(&app, &owner).await.is_empty());
    assert_eq!(bot(&app, &owner, &pitch_bot).await["state"], "ended");
    assert_eq!(audit(&app, &owner, "calendar.disconnect").await.len(), 1);
    let r = app
        .send(
            &s(&owner),
            Method::DELETE,
            &format!("/api/v1/calendar/connections/{id}"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

/// Forwards connections from a port chosen before the app starts (the push address in its
/// configuration) to the app.
async fn relay() -> (String, tokio::sync::oneshot::Sender<std::net::SocketAddr>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<std::net::SocketAddr>();
    tokio::spawn(async move {
        let Ok(target) = rx.await else { return };
        while let Ok((mut inbound, _)) = listener.accept().await {
            tokio::spawn(async move {
                if let Ok(mut out) = tokio::net::TcpStream::connect(target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                }
            });
        }
    });
    (url, tx)
}

#[tokio::test]
async fn colleagues_share_one_bot_push_notifications_sync_and_a_revoked_grant_ends_a_connection() {
    let fake = FakeProviders::start().await.unwrap();
    let (g, m) = (ProviderKind::Google, ProviderKind::Microsoft);
    // The same Teams meeting on both calendars (the owner's Google one, a member's Microsoft
    // one), and one meeting on each alone.
    fake.add_event(
        g,
        FakeEvent::meeting("Quarterly planning", at(3, 15), 60, Some(TEAMS)),
    );
    fake.add_event(
        m,
        FakeEvent::meeting("Quarterly planning", at(3, 15), 60, Some(TEAMS)),
    );
    fake.add_event(
        g,
        FakeEvent::meeting("Owner only", at(3, 9), 30, Some(MEET)),
    );
    fake.add_event(
        m,
        FakeEvent::meeting("Member only", at(3, 10), 30, Some(ZOOM)),
    );
    let (push, target) = relay().await;
    let (app, owner) = setup(&fake, Some(push)).await;
    target.send(app.addr).unwrap();
    let member = app.user_with_role(&owner, "member").await;

    // Consent travels with the calendar's bots: the workspace's policy decides the message.
    let ws = get(&app, &owner, "/api/v1/workspaces").await["workspaces"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .send(
            &s(&owner),
            Method::PUT,
            &format!("/api/v1/workspaces/{ws}/bot-consent"),
            Some(json!({"required": true, "message": "Acme records this call; type /optout to leave it out."})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let owner_conn = connect(&app, &fake, &owner, "google").await;
    let member_conn = connect(&app, &fake, &member, "microsoft").await;

    // One bot for the shared meeting, both calendars pointing at it.
    let shared_owner = event(&events(&app, &owner).await, "Quarterly planning").clone();
    let shared_member = event(&events(&app, &member).await, "Quarterly planning").clone();
    assert!(shared_owner["bot_id"].is_string());
    assert_eq!(shared_owner["bot_id"], shared_member["bot_id"]);
    let all = bots(&app, &owner).await;
    assert_eq!(all.len(), 3, "{all:#?}");
    let b = bot(&app, &owner, shared_owner["bot_id"].as_str().unwrap()).await;
    assert_eq!(
        b["consent_message"],
        "Acme records this call; type /optout to leave it out."
    );
    assert_eq!(b["post_consent"], true);

    // Push channels: a Google watch channel and a Graph subscription (validated by Graph's
    // handshake through this instance's endpoint).
    assert_eq!(fake.google_channels(), 1);
    assert_eq!(fake.graph_subscriptions().len(), 1);
    let conns = get(&app, &member, "/api/v1/calendar/connections").await;
    assert_eq!(connection(&conns, &member_conn)["push"], true);

    // A change at Microsoft arrives by notification: no poll, no "sync now".
    let before = connection(&conns, &member_conn)["last_sync_at"].clone();
    let new_id = fake.add_event(
        m,
        FakeEvent::meeting("Pushed in", at(4, 11), 30, Some(MEET)),
    );
    assert_eq!(fake.notify_graph("created", &new_id, None).await, vec![202]);
    wait_synced(&app, &member, &member_conn, Some(&before)).await;
    assert_eq!(
        event(&events(&app, &member).await, "Pushed in")["record"],
        true
    );
    // … and at Google.
    let conns = get(&app, &owner, "/api/v1/calendar/connections").await;
    let before = connection(&conns, &owner_conn)["last_sync_at"].clone();
    fake.add_event(
        g,
        FakeEvent::meeting("Pushed at Google", at(4, 13), 30, Some(MEET)),
    );
    assert_eq!(fake.notify_google().await, vec![200]);
    wait_synced(&app, &owner, &owner_conn, Some(&before)).await;
    assert_eq!(
        event(&events(&app, &owner).await, "Pushed at Google")["record"],
        true
    );

    // Forged notifications are refused.
    assert_eq!(
        fake.notify_graph("updated", &new_id, Some("forged")).await,
        vec![403]
    );
    let r = app
        .client
        .post(app.url("/api/v1/calendar/push/google"))
        .header("X-Goog-Channel-ID", "00000000-0000-0000-0000-000000000000")
        .header("X-Goog-Channel-Token", "forged")
        .header("X-Goog-Resource-State", "exists")
        .header("X-Goog-Message-Number", "7")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app
        .client
        .post(app.url("/api/v1/calendar/push/microsoft"))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Graph's validation handshake echoes the token as plain text.
    let r = app
        .client
        .post(app.url("/api/v1/calendar/push/microsoft?validationToken=Validation%3A%20abc"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert_eq!(r.text().await.unwrap(), "Validation: abc");

    // The member withdraws access at Microsoft: the connection ends, the meeting only they
    // wanted loses its bot, the shared one keeps it (the owner's calendar still wants it).
    let member_only = event(&events(&app, &member).await, "Member only")["bot_id"]
        .as_str()
        .unwrap()
        .to_owned();
    fake.revoke_grants(m);
    let r = app
        .send(
            &s(&member),
            Method::POST,
            &format!("/api/v1/calendar/connections/{member_conn}/sync"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let mut c = Value::Null;
    for _ in 0..300 {
        c = connection(
            &get(&app, &member, "/api/v1/calendar/connections").await,
            &member_conn,
        );
        if c["status"] == "revoked" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(c["status"], "revoked", "{c:#}");
    assert_eq!(c["push"], false);
    assert_eq!(c["error"], "revoked");
    assert_eq!(bot(&app, &owner, &member_only).await["state"], "ended");
    let shared = shared_owner["bot_id"].as_str().unwrap();
    assert_eq!(bot(&app, &owner, shared).await["state"], "scheduled");
    assert_eq!(audit(&app, &owner, "calendar.revoked").await.len(), 1);
    let r = app
        .send(
            &s(&member),
            Method::POST,
            &format!("/api/v1/calendar/connections/{member_conn}/sync"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    // One person's connections are theirs alone.
    let r = app
        .send(
            &s(&member),
            Method::DELETE,
            &format!("/api/v1/calendar/connections/{owner_conn}"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}
