//! Salesforce against its loopback fake: the exact requests (bearer, SOQL, the upsert's path
//! and fields), owner mapping by email, contacts found across `nextRecordsUrl` pages, the
//! upsert as its own idempotent retry, 429 and `REQUEST_LIMIT_EXCEEDED`, OAuth expiry and
//! refresh, hostile text travelling only as JSON field values.

// common.rs's `http()` unwraps outside a test function, which clippy's allow-unwrap-in-tests
// does not cover.
mod common;

use std::time::Duration;

use chrono::Utc;
use common::{KEY, http, summary, task};
use meetvault_integrations::fake::Fake;
use meetvault_integrations::{
    Credential, IntegrationError, Item, Kind, OAuthTokens, SecretString, Task, deliver, oauth,
    validate,
};
use serde_json::json;

const UPSERT: &str = "/services/data/v60.0/sobjects/Task/Meetvault_Id__c/mv-0123456789abcdef";
const QUERY: &str = "/services/data/v60.0/query";

fn tokens_of(cred: &Credential) -> OAuthTokens {
    match cred {
        Credential::OAuth(t) => t.clone(),
        _ => panic!("not OAuth"),
    }
}

fn bearer_of(cred: &Credential) -> String {
    format!("Bearer {}", tokens_of(cred).access_token.expose())
}

#[tokio::test]
async fn validate_reads_the_limits_and_a_bad_session_is_unauthorized() {
    let fake = Fake::start(Kind::Salesforce).await.unwrap();
    let target = fake.target(None);
    let cred = fake.credential();
    let account = validate(&http(), &target, &cred).await.unwrap();
    assert_eq!(account.name, "Salesforce at 127.0.0.1");
    let r = &fake.requests_to("/services/data/v60.0/limits")[0];
    assert_eq!(r.method, "GET");
    assert_eq!(r.header("authorization"), Some(bearer_of(&cred).as_str()));

    let mut wrong = tokens_of(&cred);
    wrong.access_token = SecretString::new("00D-wrong-session");
    let err = validate(&http(), &target, &Credential::OAuth(wrong))
        .await
        .unwrap_err();
    assert!(
        matches!(err, IntegrationError::Unauthorized(ref c) if c == "INVALID_SESSION_ID"),
        "{err:?}"
    );
    // OAuth only.
    let err = validate(&http(), &target, &Credential::Token(SecretString::new("x")))
        .await
        .unwrap_err();
    assert!(matches!(err, IntegrationError::Invalid(_)), "{err:?}");
}

#[tokio::test]
async fn a_task_is_upserted_on_the_key_and_owned_by_the_user_with_that_address() {
    let fake = Fake::start(Kind::Salesforce).await.unwrap();
    let target = fake.target(None);
    let cred = fake.credential();
    fake.add_user("bo@acme.example");
    let ana = fake.add_user("Ana@Acme.example");
    let sent = deliver(&http(), &target, &cred, &task(), KEY, false)
        .await
        .unwrap();

    let q = &fake.requests_to(QUERY)[0];
    assert_eq!(q.method, "GET");
    assert_eq!(q.header("authorization"), Some(bearer_of(&cred).as_str()));
    assert_eq!(
        q.query_param("q").as_deref(),
        Some("SELECT Id FROM User WHERE Email = 'ana@acme.example' AND IsActive = true LIMIT 1")
    );
    assert_eq!(
        q.query.as_deref(),
        Some(
            "q=SELECT+Id+FROM+User+WHERE+Email+%3D+%27ana%40acme.example%27+AND+IsActive+%3D+true+LIMIT+1"
        )
    );

    let ups = fake.requests_to(UPSERT);
    assert_eq!(ups.len(), 1);
    let u = &ups[0];
    assert_eq!(u.method, "PATCH");
    assert_eq!(u.header("authorization"), Some(bearer_of(&cred).as_str()));
    assert!(
        u.header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(
        u.body,
        json!({
            "Subject": "Send the deck",
            "Description": "From Weekly sync, said by Ana at 01:01.\n\nOpen the moment in meetvault: \
                            https://meetvault.example/meetings/m1?t=61",
            "Status": "Not Started",
            "ActivityDate": "2026-12-11",
            "OwnerId": ana,
        })
    );
    let created = fake.created();
    assert_eq!(created.len(), 1);
    assert_eq!(created[0]["Meetvault_Id__c"], KEY);
    assert_eq!(sent.external_id, created[0]["Id"].as_str().unwrap());
    assert_eq!(
        sent.url,
        Some(fake.url(&sent.external_id).to_string()),
        "the instance's record link"
    );
}

#[tokio::test]
async fn an_unknown_owner_leaves_the_connecting_user_as_owner() {
    let fake = Fake::start(Kind::Salesforce).await.unwrap();
    let cred = fake.credential();
    fake.add_user("bo@acme.example");
    let mut item = task();
    if let Item::Task(t) = &mut item {
        t.due = None;
    }
    deliver(&http(), &fake.target(None), &cred, &item, KEY, false)
        .await
        .unwrap();
    assert_eq!(fake.requests_to(QUERY).len(), 1);
    let u = &fake.requests_to(UPSERT)[0];
    assert!(u.body.get("OwnerId").is_none());
    assert!(u.body.get("ActivityDate").is_none());
    // The fake's connecting user, Salesforce's default owner.
    assert_eq!(fake.created()[0]["OwnerId"], "005000000000APIAAA");
}

#[tokio::test]
async fn a_summary_is_a_completed_task_on_the_first_attendee_found_across_pages() {
    let fake = Fake::start(Kind::Salesforce).await.unwrap();
    let target = fake.target(None);
    let cred = fake.credential();
    // In the query's order the first attendee's contact comes last, on the second page.
    fake.add_contact("di@customer.example");
    fake.add_contact("cy@customer.example");
    fake.add_contact("bo@customer.example");
    fake.add_contact("someone@else.example");
    let ana = fake.add_contact("ANA@customer.example");
    let mut item = summary();
    if let Item::Summary(s) = &mut item {
        s.attendee_emails = vec![
            "x' OR Email != '".into(),
            "Ana@Customer.example".into(),
            "bo@customer.example".into(),
            "cy@customer.example".into(),
            "di@customer.example".into(),
            "ana@customer.example".into(),
        ];
    }
    let before = Utc::now().date_naive();
    let sent = deliver(&http(), &target, &cred, &item, KEY, false)
        .await
        .unwrap();
    let after = Utc::now().date_naive();

    let queries = fake.requests_to(QUERY);
    assert_eq!(queries.len(), 1);
    assert_eq!(
        queries[0].query_param("q").as_deref(),
        Some(
            "SELECT Id, Email FROM Contact WHERE Email IN ('ana@customer.example', \
             'bo@customer.example', 'cy@customer.example', 'di@customer.example')"
        )
    );
    let pages: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/services/data/v60.0/query/"))
        .collect();
    assert_eq!(pages.len(), 1, "followed nextRecordsUrl to the last page");
    assert_eq!(pages[0].method, "GET");
    assert!(pages[0].path.ends_with("-2"), "{}", pages[0].path);
    assert_eq!(
        pages[0].header("authorization"),
        Some(bearer_of(&cred).as_str())
    );

    let u = &fake.requests_to(UPSERT)[0];
    let day = u.body["ActivityDate"].as_str().unwrap().to_owned();
    assert!(day == before.to_string() || day == after.to_string());
    assert_eq!(
        u.body,
        json!({
            "Subject": "Meeting notes: Weekly sync",
            "Description": "Overview\nWe agreed on the launch.\n\nAction items\n• Ana: send the deck\
                            \n\nOpen the meeting in meetvault: https://meetvault.example/meetings/m1",
            "ActivityDate": day,
            "Status": "Completed",
            "WhoId": ana,
        })
    );
    assert_eq!(sent.external_id, fake.created()[0]["Id"].as_str().unwrap());
}

#[tokio::test]
async fn a_summary_matching_no_contact_is_refused() {
    let fake = Fake::start(Kind::Salesforce).await.unwrap();
    fake.add_contact("someone@else.example");
    let err = deliver(
        &http(),
        &fake.target(None),
        &fake.credential(),
        &summary(),
        KEY,
        false,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, IntegrationError::Invalid(_)), "{err:?}");
    assert!(fake.requests_to(UPSERT).is_empty());
    assert!(fake.created().is_empty());
}

#[tokio::test]
async fn a_retry_after_a_lost_answer_upserts_the_same_task() {
    let fake = Fake::start(Kind::Salesforce).await.unwrap();
    let target = fake.target(None);
    let cred = fake.credential();
    deliver(&http(), &target, &cred, &task(), "mv-other-00000001", false)
        .await
        .unwrap();
    fake.fail_after_commit(UPSERT, 503);
    let err = deliver(&http(), &target, &cred, &task(), KEY, false)
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    assert_eq!(fake.created().len(), 2, "the lost answer's task exists");
    let ours = fake.created()[1]["Id"].as_str().unwrap().to_owned();

    fake.clear_requests();
    let sent = deliver(&http(), &target, &cred, &task(), KEY, true)
        .await
        .unwrap();
    assert_eq!(sent.external_id, ours);
    assert_eq!(fake.created().len(), 2, "nothing new");
    // The retry is the same request: no search before it.
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 2, "the owner query and the upsert");
    assert_eq!(reqs[1].path, UPSERT);
    assert_eq!(reqs[1].method, "PATCH");
}

#[tokio::test]
async fn a_named_external_id_field_and_an_update_answered_204_are_handled() {
    let fake = Fake::start(Kind::Salesforce).await.unwrap();
    let mut target = fake.target(None);
    target.external_id_field = Some("Ext_Key__c".into());
    let cred = fake.credential();
    // An org without that field: refused for good, with the code only.
    let err = deliver(&http(), &target, &cred, &task(), KEY, false)
        .await
        .unwrap_err();
    assert!(
        matches!(err, IntegrationError::Rejected { status: 404, ref message } if message == "NOT_FOUND"),
        "{err:?}"
    );
    fake.salesforce_external_id_field("Ext_Key__c");
    let first = deliver(&http(), &target, &cred, &task(), KEY, false)
        .await
        .unwrap();
    fake.salesforce_answer_updates_with_204();
    fake.clear_requests();
    let again = deliver(&http(), &target, &cred, &task(), KEY, true)
        .await
        .unwrap();
    assert_eq!(again, first);
    let path = "/services/data/v60.0/sobjects/Task/Ext_Key__c/mv-0123456789abcdef";
    let reqs = fake.requests_to(path);
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].method, "PATCH");
    assert_eq!(reqs[1].method, "GET");
    assert_eq!(reqs[1].query.as_deref(), Some("fields=Id"));
    assert_eq!(fake.created().len(), 1);
}

#[tokio::test]
async fn rate_limits_and_refusals_are_told_apart() {
    let fake = Fake::start(Kind::Salesforce).await.unwrap();
    let target = fake.target(None);
    let cred = fake.credential();
    let mut item = task();
    if let Item::Task(t) = &mut item {
        t.owner_email = None;
    }
    fake.fail_next(UPSERT, 429, Some("7"));
    let err = deliver(&http(), &target, &cred, &item, KEY, false)
        .await
        .unwrap_err();
    assert!(
        matches!(err, IntegrationError::RateLimited { retry_after: Some(d) } if d == Duration::from_secs(7)),
        "{err:?}"
    );
    fake.salesforce_exhaust_api_limit();
    let err = deliver(&http(), &target, &cred, &item, KEY, false)
        .await
        .unwrap_err();
    assert!(
        matches!(err, IntegrationError::RateLimited { retry_after: None }),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert!(fake.created().is_empty());
}

#[tokio::test]
async fn an_expired_session_is_unauthorized_and_a_refreshed_one_works() {
    let fake = Fake::start(Kind::Salesforce).await.unwrap();
    let target = fake.target(None);
    let cred = fake.credential();
    let tokens = tokens_of(&cred);
    fake.expire_access_tokens();
    let err = deliver(&http(), &target, &cred, &task(), KEY, false)
        .await
        .unwrap_err();
    assert!(
        matches!(err, IntegrationError::Unauthorized(ref c) if c == "INVALID_SESSION_ID"),
        "{err:?}"
    );
    assert!(!err.to_string().contains("CANARY"));
    let fresh = oauth::refresh(&http(), &fake.oauth_app(), &tokens)
        .await
        .unwrap();
    assert_eq!(
        fresh.refresh_token, tokens.refresh_token,
        "Salesforce keeps it"
    );
    assert_eq!(
        fresh
            .instance_url
            .as_deref()
            .map(|u| u.trim_end_matches('/')),
        Some(fake.base_url().as_str().trim_end_matches('/'))
    );
    let cred = Credential::OAuth(fresh);
    let sent = deliver(&http(), &target, &cred, &task(), KEY, true)
        .await
        .unwrap();
    assert_eq!(sent.external_id, fake.created()[0]["Id"].as_str().unwrap());
    assert_eq!(
        fake.requests_to(UPSERT)
            .last()
            .unwrap()
            .header("authorization"),
        Some(bearer_of(&cred).as_str())
    );
}

#[tokio::test]
async fn hostile_text_travels_only_as_json_field_values() {
    let fake = Fake::start(Kind::Salesforce).await.unwrap();
    let target = fake.target(None);
    let cred = fake.credential();
    let hostile = "Q3 \"plan\"\n<!channel> ' OR 1=1 -- \\' LIMIT 1";
    let item = Item::Task(Task {
        title: hostile.into(),
        notes: hostile.into(),
        owner_email: Some("x' OR Email != '@acme.example".into()),
        due: None,
        link: "https://meetvault.example/m/1".into(),
    });
    // An owner address that is not plausible is refused before anything is sent.
    let err = deliver(&http(), &target, &cred, &item, KEY, false)
        .await
        .unwrap_err();
    assert!(matches!(err, IntegrationError::Invalid(_)), "{err:?}");
    assert!(fake.requests().is_empty());

    let item = Item::Task(Task {
        title: hostile.into(),
        notes: hostile.into(),
        owner_email: Some("ana@acme.example".into()),
        due: None,
        link: "https://meetvault.example/m/1".into(),
    });
    deliver(&http(), &target, &cred, &item, KEY, false)
        .await
        .unwrap();
    let u = &fake.requests_to(UPSERT)[0];
    // Subject is one line: the line break is a space; the rest exactly as written.
    assert_eq!(u.body["Subject"], hostile.replace('\n', " "));
    assert_eq!(
        u.body["Description"],
        format!("{hostile}\n\nOpen the moment in meetvault: https://meetvault.example/m/1")
    );
    let q = &fake.requests_to(QUERY)[0];
    assert!(!q.query.as_deref().unwrap().contains("OR"));
    assert_eq!(fake.created()[0]["Subject"], hostile.replace('\n', " "));
}
