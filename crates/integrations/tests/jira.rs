//! Jira Cloud (REST v3) and Data Center (REST v2) against their loopback fake: the exact
//! requests (Basic, a PAT or an OAuth bearer; ADF or a plain description; the key as a
//! label), owner mapping through the paginated user search, an idempotent retry through the
//! paginated JQL search (`nextPageToken`, `startAt`), a second attempt without a field the
//! project refuses, errors (401, 400, 429 with Retry-After, 5xx), OAuth expiry and refresh.

// common.rs's `http()` unwraps outside a test function, which clippy's test allowance misses.
mod common;

use std::time::Duration;

use base64::Engine as _;
use common::{KEY, http, summary, task};
use meetvault_integrations::fake::{Fake, JIRA_EMAIL, TOKEN};
use meetvault_integrations::target::JiraDeployment;
use meetvault_integrations::{
    Credential, IntegrationError, Item, Kind, SecretString, Target, Task, deliver, validate,
};
use serde_json::{Value, json};

fn basic() -> String {
    let pair = format!("{JIRA_EMAIL}:{TOKEN}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

fn pat() -> Credential {
    Credential::Token(SecretString::new(TOKEN))
}

fn data_center(fake: &Fake, project: &str) -> Target {
    let mut t = fake.target(Some(project));
    t.jira = JiraDeployment::DataCenter;
    t
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

fn owned_by(email: &str) -> Item {
    Item::Task(Task {
        title: "Owned".into(),
        notes: String::new(),
        owner_email: Some(email.into()),
        due: None,
        link: "https://meetvault.example/meetings/m3".into(),
    })
}

fn created_fields(fake: &Fake, key: &str) -> Value {
    fake.created()
        .into_iter()
        .find(|i| i["key"] == key)
        .map(|i| i["fields"].clone())
        .unwrap_or_else(|| panic!("no issue {key} was created"))
}

const CLOUD_JQL: &str =
    "project = \"OPS\" AND labels = \"mv-0123456789abcdef\" ORDER BY created ASC";

#[tokio::test]
async fn cloud_validate_uses_basic_and_refusals_are_unauthorized() {
    let fake = Fake::start(Kind::Jira).await.unwrap();
    let target = fake.target(Some("OPS"));
    let account = validate(&http(), &target, &fake.credential())
        .await
        .unwrap();
    assert_eq!(account.name, "meetvault bot");
    let reqs = fake.requests_to("/rest/api/3/myself");
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].method, "GET");
    assert_eq!(reqs[0].query, None);
    assert_eq!(reqs[0].header("authorization"), Some(basic().as_str()));
    assert_eq!(reqs[0].header("accept"), Some("application/json"));

    let wrong = Credential::Basic {
        email: JIRA_EMAIL.into(),
        token: SecretString::new("ATATT-wrong-token"),
    };
    let err = validate(&http(), &target, &wrong).await.unwrap_err();
    assert!(
        matches!(err, IntegrationError::Unauthorized(ref m) if m.contains("not authenticated")),
        "{err:?}"
    );
    assert!(!err.to_string().contains("ATATT"));
    // Cloud takes no bare token: refused before any request.
    fake.clear_requests();
    let err = validate(&http(), &target, &pat()).await.unwrap_err();
    assert!(matches!(err, IntegrationError::Invalid(_)), "{err:?}");
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn a_cloud_task_is_an_issue_with_adf_the_key_as_label_and_the_owner_assigned() {
    let fake = Fake::start(Kind::Jira).await.unwrap();
    let ana = fake.add_user("ana@acme.example");
    let target = fake.target(Some("OPS"));
    let sent = deliver(&http(), &target, &fake.credential(), &task(), KEY, false)
        .await
        .unwrap();
    assert_eq!(sent.external_id, "OPS-1");
    assert_eq!(sent.url.as_deref(), Some(fake.url("browse/OPS-1").as_str()));

    let search = fake.requests_to("/rest/api/3/user/search");
    assert_eq!(search.len(), 1);
    assert_eq!(search[0].method, "GET");
    assert_eq!(
        search[0].query.as_deref(),
        Some("query=ana%40acme.example&startAt=0&maxResults=50")
    );
    assert_eq!(search[0].header("authorization"), Some(basic().as_str()));

    let posts = fake.requests_to("/rest/api/3/issue");
    assert_eq!(posts.len(), 1);
    let p = &posts[0];
    assert_eq!(p.method, "POST");
    assert_eq!(p.header("authorization"), Some(basic().as_str()));
    assert!(
        p.header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(
        p.body,
        json!({"fields": {
            "project": {"key": "OPS"},
            "issuetype": {"name": "Task"},
            "summary": "Send the deck",
            "description": {"type": "doc", "version": 1, "content": [
                {"type": "paragraph", "content": [
                    {"type": "text", "text": "From Weekly sync, said by Ana at 01:01."}]},
                {"type": "paragraph", "content": [
                    {"type": "text", "text": "Open the moment in meetvault", "marks": [
                        {"type": "link", "attrs": {"href": "https://meetvault.example/meetings/m1?t=61"}}]}]}
            ]},
            "labels": [KEY],
            "assignee": {"accountId": ana},
            "duedate": "2026-12-11",
        }})
    );
    assert!(fake.requests_to("/rest/api/3/search/jql").is_empty());
    assert_eq!(fake.created().len(), 1);
}

#[tokio::test]
async fn the_owner_is_found_on_a_later_page_of_the_user_search_or_left_unassigned() {
    let fake = Fake::start(Kind::Jira).await.unwrap();
    let target = fake.target(Some("OPS"));
    let cred = fake.credential();
    // Prefix matches fill the first page (page size 2).
    fake.add_user("ana@acme.example.net");
    fake.add_user("ana@acme.example.org");
    let ana = fake.add_user("ana@acme.example");
    fake.add_user("bo@acme.example.org");
    let sent = deliver(
        &http(),
        &target,
        &cred,
        &owned_by("ana@acme.example"),
        KEY,
        false,
    )
    .await
    .unwrap();
    let search = fake.requests_to("/rest/api/3/user/search");
    assert_eq!(search.len(), 2);
    assert_eq!(search[0].query_param("startAt").as_deref(), Some("0"));
    assert_eq!(search[1].query_param("startAt").as_deref(), Some("2"));
    assert_eq!(
        created_fields(&fake, &sent.external_id)["assignee"],
        json!({"accountId": ana})
    );

    // Only a longer address matches: read to the empty page, assign no one.
    fake.clear_requests();
    let sent = deliver(
        &http(),
        &target,
        &cred,
        &owned_by("bo@acme.example"),
        "mv-bo-000000001",
        false,
    )
    .await
    .unwrap();
    assert_eq!(fake.requests_to("/rest/api/3/user/search").len(), 2);
    let post = &fake.requests_to("/rest/api/3/issue")[0];
    assert!(post.body["fields"].get("assignee").is_none());
    assert!(created_fields(&fake, &sent.external_id)["assignee"].is_null());

    // No one at all.
    fake.clear_requests();
    deliver(
        &http(),
        &target,
        &cred,
        &owned_by("zed@acme.example"),
        "mv-zed-00000001",
        false,
    )
    .await
    .unwrap();
    assert_eq!(fake.requests_to("/rest/api/3/user/search").len(), 1);
    assert!(
        fake.requests_to("/rest/api/3/issue")[0].body["fields"]
            .get("assignee")
            .is_none()
    );
}

#[tokio::test]
async fn a_cloud_user_hiding_their_address_is_matched_when_the_search_finds_only_them() {
    let fake = Fake::start(Kind::Jira).await.unwrap();
    let cy = fake.add_user("cy@acme.example");
    fake.jira_hide_email("cy@acme.example");
    let target = fake.target(Some("OPS"));
    let sent = deliver(
        &http(),
        &target,
        &fake.credential(),
        &owned_by("cy@acme.example"),
        KEY,
        false,
    )
    .await
    .unwrap();
    let search = fake.requests_to("/rest/api/3/user/search");
    assert_eq!(search.len(), 2, "the one user, then an empty page");
    assert!(search[0].query_param("query").as_deref() == Some("cy@acme.example"));
    assert_eq!(
        created_fields(&fake, &sent.external_id)["assignee"],
        json!({"accountId": cy})
    );
}

#[tokio::test]
async fn a_cloud_retry_after_a_lost_answer_follows_the_jql_pages_and_creates_nothing() {
    let fake = Fake::start(Kind::Jira).await.unwrap();
    let target = fake.target(Some("OPS"));
    let cred = fake.credential();
    // Labels differing only in case: JQL matches them too, and they fill the first page.
    for k in ["MV-0123456789ABCDEF", "Mv-0123456789abcdef"] {
        deliver(&http(), &target, &cred, &unowned("Other"), k, false)
            .await
            .unwrap();
    }
    fake.fail_after_commit("/rest/api/3/issue", 500);
    let err = deliver(&http(), &target, &cred, &unowned("Ours"), KEY, false)
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    deliver(
        &http(),
        &target,
        &cred,
        &unowned("Other"),
        "mV-0123456789abcdef",
        false,
    )
    .await
    .unwrap();
    assert_eq!(fake.created().len(), 4);
    fake.clear_requests();

    let sent = deliver(&http(), &target, &cred, &unowned("Ours"), KEY, true)
        .await
        .unwrap();
    assert_eq!(sent.external_id, "OPS-3");
    assert_eq!(sent.url.as_deref(), Some(fake.url("browse/OPS-3").as_str()));
    assert_eq!(created_fields(&fake, "OPS-3")["summary"], "Ours");
    assert_eq!(fake.created().len(), 4, "nothing new");
    assert!(fake.requests_to("/rest/api/3/issue").is_empty());
    let searches = fake.requests_to("/rest/api/3/search/jql");
    assert_eq!(searches.len(), 2);
    assert_eq!(searches[0].method, "POST");
    assert_eq!(searches[0].header("authorization"), Some(basic().as_str()));
    assert_eq!(
        searches[0].body,
        json!({"jql": CLOUD_JQL, "fields": ["key", "labels"], "maxResults": 50})
    );
    assert_eq!(
        searches[1].body,
        json!({"jql": CLOUD_JQL, "fields": ["key", "labels"], "maxResults": 50,
               "nextPageToken": "page-2"})
    );

    // A retry of an item never created searches (one page: isLast), then creates.
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
    assert_eq!(sent.external_id, "OPS-5");
    assert_eq!(fake.requests_to("/rest/api/3/search/jql").len(), 1);
    assert_eq!(fake.requests_to("/rest/api/3/issue").len(), 1);
}

#[tokio::test]
async fn data_center_uses_v2_a_pat_a_plain_description_and_start_at_pages() {
    let fake = Fake::start(Kind::Jira).await.unwrap();
    let ana = fake.add_user("ana@acme.example");
    let mut target = data_center(&fake, "OPS");
    target.issue_type = Some("Bug".into());
    let account = validate(&http(), &target, &pat()).await.unwrap();
    assert_eq!(account.name, "meetvault bot");
    let me = &fake.requests_to("/rest/api/2/myself")[0];
    assert_eq!(
        me.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    let err = validate(
        &http(),
        &target,
        &Credential::Token(SecretString::new("wrong-pat")),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, IntegrationError::Unauthorized(_)), "{err:?}");

    let sent = deliver(&http(), &target, &pat(), &task(), KEY, false)
        .await
        .unwrap();
    assert_eq!(sent.external_id, "OPS-1");
    assert_eq!(sent.url.as_deref(), Some(fake.url("browse/OPS-1").as_str()));
    let search = &fake.requests_to("/rest/api/2/user/search")[0];
    assert_eq!(
        search.query.as_deref(),
        Some("username=ana%40acme.example&startAt=0&maxResults=50")
    );
    let post = &fake.requests_to("/rest/api/2/issue")[0];
    assert_eq!(
        post.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(
        post.body,
        json!({"fields": {
            "project": {"key": "OPS"},
            "issuetype": {"name": "Bug"},
            "summary": "Send the deck",
            "description": "From Weekly sync, said by Ana at 01:01.\n\n\
                Open the moment in meetvault: https://meetvault.example/meetings/m1?t=61",
            "labels": [KEY],
            "assignee": {"name": ana},
            "duedate": "2026-12-11",
        }})
    );
    assert!(fake.requests_to("/rest/api/3/issue").is_empty());

    // A retry after a lost answer, the issue on the second page (startAt).
    let key = "mv-dc-0000000001";
    for k in ["MV-DC-0000000001", "Mv-dc-0000000001"] {
        deliver(&http(), &target, &pat(), &unowned("Other"), k, false)
            .await
            .unwrap();
    }
    fake.fail_after_commit("/rest/api/2/issue", 504);
    deliver(&http(), &target, &pat(), &unowned("Ours"), key, false)
        .await
        .unwrap_err();
    fake.clear_requests();
    let sent = deliver(&http(), &target, &pat(), &unowned("Ours"), key, true)
        .await
        .unwrap();
    assert_eq!(sent.external_id, "OPS-4");
    assert_eq!(fake.created().len(), 4);
    assert!(fake.requests_to("/rest/api/2/issue").is_empty());
    let searches = fake.requests_to("/rest/api/2/search");
    assert_eq!(searches.len(), 2);
    let jql = "project = \"OPS\" AND labels = \"mv-dc-0000000001\" ORDER BY created ASC";
    for (r, start) in searches.iter().zip(["0", "2"]) {
        assert_eq!(r.method, "GET");
        assert_eq!(r.query_param("jql").as_deref(), Some(jql));
        assert_eq!(r.query_param("startAt").as_deref(), Some(start));
        assert_eq!(r.query_param("maxResults").as_deref(), Some("50"));
        assert_eq!(r.query_param("fields").as_deref(), Some("labels"));
    }
}

#[tokio::test]
async fn a_due_date_the_project_refuses_is_dropped_on_a_second_attempt() {
    let fake = Fake::start(Kind::Jira).await.unwrap();
    let ana = fake.add_user("ana@acme.example");
    let target = fake.target(Some("ENG"));
    let sent = deliver(&http(), &target, &fake.credential(), &task(), KEY, false)
        .await
        .unwrap();
    assert_eq!(sent.external_id, "ENG-1");
    let posts = fake.requests_to("/rest/api/3/issue");
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[0].body["fields"]["duedate"], "2026-12-11");
    assert!(posts[1].body["fields"].get("duedate").is_none());
    assert_eq!(
        posts[1].body["fields"]["assignee"],
        json!({"accountId": ana})
    );
    assert_eq!(fake.created().len(), 1);
}

#[tokio::test]
async fn rate_limits_refusals_and_outages_are_told_apart() {
    let fake = Fake::start(Kind::Jira).await.unwrap();
    let target = fake.target(Some("OPS"));
    let cred = fake.credential();
    fake.fail_next("/rest/api/3/issue", 429, Some("7"));
    let err = deliver(&http(), &target, &cred, &unowned("A"), KEY, false)
        .await
        .unwrap_err();
    assert!(
        matches!(err, IntegrationError::RateLimited { retry_after: Some(d) } if d == Duration::from_secs(7)),
        "{err:?}"
    );
    assert_eq!(
        fake.requests_to("/rest/api/3/issue").len(),
        1,
        "no second attempt"
    );

    let nowhere = fake.target(Some("NOPE"));
    let err = deliver(&http(), &nowhere, &cred, &unowned("A"), KEY, false)
        .await
        .unwrap_err();
    assert!(
        matches!(err, IntegrationError::Rejected { status: 400, ref message }
            if message == "project: \"valid project is required\""),
        "{err:?}"
    );
    assert!(!err.is_retryable());

    fake.fail_next("/rest/api/3/myself", 503, None);
    let err = validate(&http(), &target, &cred).await.unwrap_err();
    assert!(matches!(err, IntegrationError::Unavailable(_)), "{err:?}");

    fake.clear_requests();
    let err = deliver(&http(), &target, &cred, &summary(), KEY, false)
        .await
        .unwrap_err();
    assert!(matches!(err, IntegrationError::Invalid(_)), "{err:?}");
    assert!(fake.requests().is_empty());
    assert!(fake.created().is_empty());
}

#[tokio::test]
async fn a_hostile_title_never_reaches_the_jql() {
    let fake = Fake::start(Kind::Jira).await.unwrap();
    let target = fake.target(Some("OPS"));
    let hostile = "Ship \"it\"\n<!channel> ' OR 1=1 AND labels = \"x\"";
    let item = Item::Task(Task {
        title: hostile.into(),
        notes: "\" OR project = \"SECRET".into(),
        owner_email: None,
        due: None,
        link: "https://meetvault.example/m/1".into(),
    });
    let sent = deliver(&http(), &target, &fake.credential(), &item, KEY, true)
        .await
        .unwrap();
    let search = &fake.requests_to("/rest/api/3/search/jql")[0];
    assert_eq!(search.body["jql"], CLOUD_JQL);
    let post = &fake.requests_to("/rest/api/3/issue")[0];
    // One line, as Jira requires; otherwise exactly as written, as JSON data.
    assert_eq!(
        post.body["fields"]["summary"],
        "Ship \"it\" <!channel> ' OR 1=1 AND labels = \"x\""
    );
    assert_eq!(
        post.body["fields"]["description"]["content"][0]["content"][0]["text"],
        "\" OR project = \"SECRET"
    );
    assert_eq!(
        created_fields(&fake, &sent.external_id)["summary"],
        post.body["fields"]["summary"]
    );
}

#[tokio::test]
async fn an_expired_oauth_token_is_unauthorized_until_refreshed() {
    let fake = Fake::start(Kind::Jira).await.unwrap();
    let target = fake.target(Some("OPS"));
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
    assert_eq!(
        fake.requests_to("/rest/api/3/issue")[0]
            .header("authorization")
            .unwrap(),
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
    assert_ne!(
        fresh.refresh_token, tokens.refresh_token,
        "Atlassian rotates it"
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
    assert_eq!(sent.external_id, "OPS-2");
    assert_eq!(
        fake.requests_to("/rest/api/3/issue")[0]
            .header("authorization")
            .unwrap(),
        format!("Bearer {}", fresh.access_token.expose())
    );
}
