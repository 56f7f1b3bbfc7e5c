//! Linear against its loopback fake: the exact GraphQL requests (the raw API key or an OAuth
//! bearer, constant query texts, every value a variable), owner mapping by email, the marker
//! line and an idempotent retry through the paginated `issues` search, GraphQL errors (401,
//! `RATELIMITED`, an unknown team), 429 with Retry-After, OAuth expiry and refresh.

// common.rs's `http()` unwraps outside a test function, which clippy's test allowance misses.
mod common;

use std::time::Duration;

use common::{KEY, http, summary, task};
use meetvault_integrations::fake::{Fake, TOKEN};
use meetvault_integrations::linear::{CREATE_ISSUE, FIND_ISSUE, USER_BY_EMAIL, VIEWER};
use meetvault_integrations::{
    Credential, IntegrationError, Item, Kind, SecretString, Task, deliver, validate,
};
use serde_json::json;

/// The fake's one team.
const TEAM: &str = "9cfb482a-81e3-4154-b5b9-2c805e70a02d";

fn description(key: &str) -> String {
    format!(
        "From Weekly sync, said by Ana at 01:01.\n\n\
         [Open the moment in meetvault](https://meetvault.example/meetings/m1?t=61)\n\n\
         meetvault: {key}"
    )
}

fn unowned(title: &str) -> Item {
    Item::Task(Task {
        title: title.into(),
        notes: "No owner.".into(),
        owner_email: None,
        due: None,
        link: "https://meetvault.example/meetings/m2".into(),
    })
}

#[tokio::test]
async fn validate_sends_the_api_key_without_a_scheme_and_a_wrong_key_is_unauthorized() {
    let fake = Fake::start(Kind::Linear).await.unwrap();
    let target = fake.target(Some(TEAM));
    let account = validate(&http(), &target, &fake.credential())
        .await
        .unwrap();
    assert_eq!(account.name, "meetvault bot");
    let reqs = fake.requests_to("/graphql");
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.query, None);
    assert_eq!(r.header("authorization"), Some(TOKEN));
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(r.body, json!({"query": VIEWER, "variables": {}}));

    let wrong = Credential::Token(SecretString::new("lin_api_wrong"));
    let err = validate(&http(), &target, &wrong).await.unwrap_err();
    assert!(
        matches!(err, IntegrationError::Unauthorized(ref m) if m.contains("Authentication required")),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    assert!(!err.to_string().contains("lin_api_wrong"));
    // An API key is not a bearer token at Linear.
    let bearer = Credential::OAuth(meetvault_integrations::OAuthTokens {
        access_token: SecretString::new(TOKEN),
        refresh_token: SecretString::new("rt"),
        expires_at: chrono::Utc::now() + chrono::TimeDelta::hours(1),
        instance_url: None,
    });
    let err = validate(&http(), &target, &bearer).await.unwrap_err();
    assert!(matches!(err, IntegrationError::Unauthorized(_)), "{err:?}");
    let basic = Credential::Basic {
        email: "a@b.example".into(),
        token: SecretString::new(TOKEN),
    };
    let err = validate(&http(), &target, &basic).await.unwrap_err();
    assert!(matches!(err, IntegrationError::Invalid(_)), "{err:?}");
}

#[tokio::test]
async fn a_task_becomes_an_issue_assigned_by_email_with_the_marker_line() {
    let fake = Fake::start(Kind::Linear).await.unwrap();
    fake.add_user("bo@acme.example");
    let ana = fake.add_user("ana@acme.example");
    let target = fake.target(Some(TEAM));
    let sent = deliver(&http(), &target, &fake.credential(), &task(), KEY, false)
        .await
        .unwrap();
    assert_eq!(sent.external_id, "ENG-1");
    assert_eq!(
        sent.url.as_deref(),
        Some("https://linear.app/acme/issue/ENG-1")
    );
    let reqs = fake.requests_to("/graphql");
    assert_eq!(reqs.len(), 2, "owner lookup, then the creation; no search");
    for r in &reqs {
        assert_eq!(r.method, "POST");
        assert_eq!(r.header("authorization"), Some(TOKEN));
    }
    assert_eq!(
        reqs[0].body,
        json!({"query": USER_BY_EMAIL, "variables": {"email": "ana@acme.example"}})
    );
    assert_eq!(
        reqs[1].body,
        json!({"query": CREATE_ISSUE, "variables": {"input": {
            "teamId": TEAM,
            "title": "Send the deck",
            "description": description(KEY),
            "assigneeId": ana,
            "dueDate": "2026-12-11",
        }}})
    );
    let created = fake.created();
    assert_eq!(created.len(), 1);
    assert_eq!(created[0]["assigneeId"], ana.as_str());
    assert_eq!(created[0]["description"], description(KEY).as_str());
}

#[tokio::test]
async fn an_unknown_owner_leaves_the_issue_unassigned_and_a_summary_is_refused() {
    let fake = Fake::start(Kind::Linear).await.unwrap();
    fake.add_user("bo@acme.example");
    let target = fake.target(Some(TEAM));
    let cred = fake.credential();
    deliver(&http(), &target, &cred, &task(), KEY, false)
        .await
        .unwrap();
    let reqs = fake.requests_to("/graphql");
    assert_eq!(reqs.len(), 2);
    let input = &reqs[1].body["variables"]["input"];
    assert!(input.get("assigneeId").is_none(), "{input}");
    assert_eq!(input["dueDate"], "2026-12-11");
    assert!(fake.created()[0]["assigneeId"].is_null());

    // No owner, no due date: no lookup, neither field.
    fake.clear_requests();
    deliver(
        &http(),
        &target,
        &cred,
        &unowned("Book a room"),
        "mv-unowned-0001",
        false,
    )
    .await
    .unwrap();
    let reqs = fake.requests_to("/graphql");
    assert_eq!(reqs.len(), 1);
    let input = reqs[0].body["variables"]["input"].as_object().unwrap();
    let mut keys: Vec<_> = input.keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, ["description", "teamId", "title"]);

    fake.clear_requests();
    let err = deliver(&http(), &target, &cred, &summary(), KEY, false)
        .await
        .unwrap_err();
    assert!(matches!(err, IntegrationError::Invalid(_)), "{err:?}");
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn a_retry_after_a_lost_answer_walks_the_search_and_finds_the_issue() {
    let fake = Fake::start(Kind::Linear).await.unwrap();
    let target = fake.target(Some(TEAM));
    let cred = fake.credential();
    // Keys that start with ours: `contains` matches them too, so they fill the first page.
    for suffix in ["0", "1"] {
        deliver(
            &http(),
            &target,
            &cred,
            &unowned("Other"),
            &format!("{KEY}{suffix}"),
            false,
        )
        .await
        .unwrap();
    }
    fake.fail_after_commit("/graphql", 502);
    let err = deliver(&http(), &target, &cred, &unowned("Ours"), KEY, false)
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    for suffix in ["2", "3"] {
        deliver(
            &http(),
            &target,
            &cred,
            &unowned("Other"),
            &format!("{KEY}{suffix}"),
            false,
        )
        .await
        .unwrap();
    }
    assert_eq!(fake.created().len(), 5);
    fake.clear_requests();

    let sent = deliver(&http(), &target, &cred, &unowned("Ours"), KEY, true)
        .await
        .unwrap();
    assert_eq!(fake.created().len(), 5, "nothing new");
    assert_eq!(sent.external_id, "ENG-3");
    assert_eq!(fake.created()[2]["title"], "Ours");
    let reqs = fake.requests_to("/graphql");
    assert_eq!(reqs.len(), 2, "two pages, no creation");
    let marker = format!("meetvault: {KEY}");
    assert_eq!(
        reqs[0].body,
        json!({"query": FIND_ISSUE, "variables": {
            "team": TEAM, "marker": marker, "first": 50, "after": null}})
    );
    let cursor = fake.created()[1]["id"].clone();
    assert_eq!(
        reqs[1].body,
        json!({"query": FIND_ISSUE, "variables": {
            "team": TEAM, "marker": marker, "first": 50, "after": cursor}})
    );

    // A retry of an item that was never created searches, then creates.
    fake.clear_requests();
    let sent = deliver(
        &http(),
        &target,
        &cred,
        &unowned("New"),
        "mv-fresh-00000001",
        true,
    )
    .await
    .unwrap();
    assert_eq!(sent.external_id, "ENG-6");
    let reqs = fake.requests_to("/graphql");
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].body["query"], FIND_ISSUE);
    assert_eq!(reqs[1].body["query"], CREATE_ISSUE);
}

#[tokio::test]
async fn rate_limits_as_429_or_as_a_ratelimited_error_are_told_apart_from_refusals() {
    let fake = Fake::start(Kind::Linear).await.unwrap();
    let target = fake.target(Some(TEAM));
    let cred = fake.credential();
    fake.fail_next("/graphql", 429, Some("7"));
    let err = deliver(&http(), &target, &cred, &unowned("A"), KEY, false)
        .await
        .unwrap_err();
    assert!(
        matches!(err, IntegrationError::RateLimited { retry_after: Some(d) } if d == Duration::from_secs(7)),
        "{err:?}"
    );
    assert!(err.is_retryable());

    fake.linear_rate_limit_next();
    let err = deliver(&http(), &target, &cred, &unowned("A"), KEY, false)
        .await
        .unwrap_err();
    let IntegrationError::RateLimited {
        retry_after: Some(d),
    } = err
    else {
        panic!("{err:?}");
    };
    assert!(
        d > Duration::from_secs(5) && d <= Duration::from_secs(7),
        "{d:?}"
    );

    // An unknown team: HTTP 200 with an error and no data.
    let elsewhere = fake.target(Some("no-such-team"));
    let err = deliver(&http(), &elsewhere, &cred, &unowned("A"), KEY, false)
        .await
        .unwrap_err();
    assert!(
        matches!(err, IntegrationError::Rejected { status: 200, ref message } if message == "Entity not found: Team"),
        "{err:?}"
    );
    assert!(!err.is_retryable());
    fake.fail_next("/graphql", 503, None);
    let err = validate(&http(), &target, &cred).await.unwrap_err();
    assert!(matches!(err, IntegrationError::Unavailable(_)), "{err:?}");
    assert!(fake.created().is_empty());
}

#[tokio::test]
async fn a_hostile_title_travels_only_as_a_variable() {
    let fake = Fake::start(Kind::Linear).await.unwrap();
    let target = fake.target(Some(TEAM));
    let hostile = "Ship \"it\") { id }\n<!channel> ' OR 1=1 -- $input";
    let item = Item::Task(Task {
        title: hostile.into(),
        notes: "\"}) { viewer { id } } #".into(),
        owner_email: Some("ana@acme.example".into()),
        due: None,
        link: "https://meetvault.example/m/1".into(),
    });
    deliver(&http(), &target, &fake.credential(), &item, KEY, true)
        .await
        .unwrap();
    let reqs = fake.requests_to("/graphql");
    assert_eq!(reqs.len(), 3, "search, owner, create");
    for r in &reqs {
        let q = r.body["query"].as_str().unwrap();
        assert!(
            [FIND_ISSUE, USER_BY_EMAIL, CREATE_ISSUE].contains(&q),
            "{q}"
        );
        assert!(!q.contains("Ship") && !q.contains("1=1") && !q.contains(KEY));
    }
    let input = &reqs[2].body["variables"]["input"];
    // The newline is flattened (titles are one line); everything else arrives as written.
    assert_eq!(
        input["title"],
        "Ship \"it\") { id } <!channel> ' OR 1=1 -- $input"
    );
    assert!(
        input["description"]
            .as_str()
            .unwrap()
            .starts_with("\"}) { viewer { id } } #\n\n")
    );
    assert_eq!(fake.created()[0]["title"], input["title"]);
}

#[tokio::test]
async fn an_expired_oauth_token_is_unauthorized_until_refreshed() {
    let fake = Fake::start(Kind::Linear).await.unwrap();
    let target = fake.target(Some(TEAM));
    let tokens = fake.grant();
    let cred = Credential::OAuth(tokens.clone());
    deliver(
        &http(),
        &target,
        &cred,
        &unowned("One"),
        "mv-oauth-00000001",
        false,
    )
    .await
    .unwrap();
    let r = &fake.requests_to("/graphql")[0];
    assert_eq!(
        r.header("authorization").unwrap(),
        format!("Bearer {}", tokens.access_token.expose())
    );

    fake.expire_access_tokens();
    let err = deliver(
        &http(),
        &target,
        &cred,
        &unowned("Two"),
        "mv-oauth-00000002",
        false,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, IntegrationError::Unauthorized(_)), "{err:?}");

    let fresh = meetvault_integrations::oauth::refresh(&http(), &fake.oauth_app(), &tokens)
        .await
        .unwrap();
    assert_ne!(fresh.access_token, tokens.access_token);
    assert_ne!(
        fresh.refresh_token, tokens.refresh_token,
        "Linear rotates it"
    );
    fake.clear_requests();
    let sent = deliver(
        &http(),
        &target,
        &Credential::OAuth(fresh.clone()),
        &unowned("Two"),
        "mv-oauth-00000002",
        false,
    )
    .await
    .unwrap();
    assert_eq!(sent.external_id, "ENG-2");
    assert_eq!(
        fake.requests_to("/graphql")[0]
            .header("authorization")
            .unwrap(),
        format!("Bearer {}", fresh.access_token.expose())
    );
    assert_eq!(fake.refreshes(), 1);
}
