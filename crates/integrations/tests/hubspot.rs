//! HubSpot against its loopback fake: the exact requests (bearer, paths, search filters,
//! properties, associations), owner mapping by email, paginated contact and retry searches,
//! 429 with Retry-After, an idempotent retry after a lost answer, OAuth expiry and refresh,
//! and hostile text travelling only as JSON property values.

// common.rs's `http()` unwraps outside a test function, which clippy's allow-unwrap-in-tests
// does not cover.
mod common;

use std::time::Duration;

use chrono::{DateTime, Utc};
use common::{KEY, http, summary, task};
use meetvault_integrations::fake::{Fake, TOKEN};
use meetvault_integrations::{
    Credential, IntegrationError, Item, Kind, SecretString, Task, deliver, oauth, validate,
};

fn bearer() -> String {
    format!("Bearer {TOKEN}")
}

fn is_recent(ts: &str) -> bool {
    DateTime::parse_from_rfc3339(ts)
        .is_ok_and(|t| (Utc::now() - t.with_timezone(&Utc)).num_seconds().abs() < 60)
}

#[tokio::test]
async fn validate_reads_the_portal_and_a_bad_token_is_unauthorized() {
    let fake = Fake::start(Kind::Hubspot).await.unwrap();
    let target = fake.target(None);
    let account = validate(&http(), &target, &fake.credential())
        .await
        .unwrap();
    assert_eq!(account.name, "HubSpot portal 62515");
    let r = &fake.requests_to("/account-info/v3/details")[0];
    assert_eq!(r.method, "GET");
    assert_eq!(r.header("authorization"), Some(bearer().as_str()));

    let wrong = Credential::Token(SecretString::new("pat-na1-wrong"));
    let err = validate(&http(), &target, &wrong).await.unwrap_err();
    assert!(
        matches!(err, IntegrationError::Unauthorized(ref c) if c == "INVALID_AUTHENTICATION"),
        "{err:?}"
    );
    assert!(!err.to_string().contains("wrong"));
}

#[tokio::test]
async fn a_summary_is_a_note_on_the_attendees_contacts_found_across_search_pages() {
    let fake = Fake::start(Kind::Hubspot).await.unwrap();
    let target = fake.target(None);
    let ana = fake.add_contact("ana@customer.example");
    fake.add_contact("nobody@elsewhere.example");
    let bo = fake.add_contact("Bo@Customer.example");
    let cy = fake.add_contact("cy@customer.example");
    let di = fake.add_contact("di@customer.example");
    let ed = fake.add_contact("ed@customer.example");
    let mut item = summary();
    if let Item::Summary(s) = &mut item {
        s.attendee_emails = vec![
            "ana@customer.example".into(),
            "BO@customer.example".into(),
            "cy@customer.example".into(),
            "di@customer.example".into(),
            "stranger@customer.example".into(),
            "x' OR 1=1@a.b".into(),
            "ed@customer.example".into(),
        ];
    }
    let sent = deliver(&http(), &target, &fake.credential(), &item, KEY, false)
        .await
        .unwrap();

    // The contact search: only plausible, lower-cased addresses; three pages of two.
    let searches = fake.requests_to("/crm/v3/objects/contacts/search");
    assert_eq!(searches.len(), 3, "walked every page");
    for (i, s) in searches.iter().enumerate() {
        assert_eq!(s.method, "POST");
        assert_eq!(s.header("authorization"), Some(bearer().as_str()));
        assert_eq!(
            s.body["filterGroups"],
            serde_json::json!([{"filters": [{"propertyName": "email", "operator": "IN",
                "values": ["ana@customer.example", "bo@customer.example", "cy@customer.example",
                           "di@customer.example", "stranger@customer.example",
                           "ed@customer.example"]}]}])
        );
        assert_eq!(s.body["properties"], serde_json::json!(["email"]));
        assert_eq!(s.body["limit"], 100);
        let after = [None, Some("2"), Some("4")][i];
        assert_eq!(s.body["after"].as_str(), after);
    }

    let notes = fake.requests_to("/crm/v3/objects/notes");
    assert_eq!(notes.len(), 1);
    let n = &notes[0];
    assert_eq!(n.method, "POST");
    assert_eq!(n.header("authorization"), Some(bearer().as_str()));
    assert!(is_recent(
        n.body["properties"]["hs_timestamp"].as_str().unwrap()
    ));
    assert_eq!(
        n.body["properties"]["hs_note_body"],
        "<p><strong>Meeting notes: Weekly sync</strong></p><p><strong>Overview</strong></p>\
         <p>We agreed on the launch.</p><p><strong>Action items</strong></p><ul><li>\
         <strong>Ana</strong>: send the deck</li></ul><p><a href=\"https://meetvault.example/\
         meetings/m1\">Open the meeting in meetvault</a></p><p>meetvault: mv-0123456789abcdef</p>"
    );
    let associations = n.body["associations"].as_array().unwrap();
    let to: Vec<&str> = associations
        .iter()
        .map(|a| a["to"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        to,
        [
            ana.as_str(),
            bo.as_str(),
            cy.as_str(),
            di.as_str(),
            ed.as_str()
        ]
    );
    for a in associations {
        assert_eq!(
            a["types"],
            serde_json::json!([{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 202}])
        );
    }
    let created = fake.created();
    assert_eq!(created.len(), 1);
    assert_eq!(created[0]["object"], "notes");
    assert_eq!(sent.external_id, created[0]["id"].as_str().unwrap());
    assert_eq!(sent.url, None);
}

#[tokio::test]
async fn a_summary_matching_no_contact_is_refused_without_creating_anything() {
    let fake = Fake::start(Kind::Hubspot).await.unwrap();
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
    assert!(fake.created().is_empty());
    assert!(fake.requests_to("/crm/v3/objects/notes").is_empty());
}

#[tokio::test]
async fn a_task_is_owned_by_the_owner_with_that_address_and_due_at_noon_utc() {
    let fake = Fake::start(Kind::Hubspot).await.unwrap();
    let target = fake.target(None);
    fake.add_user("bo@acme.example");
    let ana = fake.add_user("Ana@Acme.example");
    let sent = deliver(&http(), &target, &fake.credential(), &task(), KEY, false)
        .await
        .unwrap();
    let lookups = fake.requests_to("/crm/v3/owners");
    assert_eq!(lookups.len(), 1);
    assert_eq!(lookups[0].method, "GET");
    assert_eq!(
        lookups[0].query.as_deref(),
        Some("email=ana%40acme.example&limit=100")
    );
    assert_eq!(lookups[0].header("authorization"), Some(bearer().as_str()));
    let t = &fake.requests_to("/crm/v3/objects/tasks")[0];
    assert_eq!(t.method, "POST");
    assert_eq!(t.header("authorization"), Some(bearer().as_str()));
    assert_eq!(
        t.body,
        serde_json::json!({"properties": {
            "hs_timestamp": "2026-12-11T12:00:00.000Z",
            "hs_task_subject": "Send the deck",
            "hs_task_body": "<p>From Weekly sync, said by Ana at 01:01.</p><p><a href=\"https://\
                meetvault.example/meetings/m1?t=61\">Open the moment in meetvault</a></p>\
                <p>meetvault: mv-0123456789abcdef</p>",
            "hs_task_status": "NOT_STARTED",
            "hs_task_type": "TODO",
            "hubspot_owner_id": ana,
        }})
    );
    assert!(t.body.get("associations").is_none());
    assert_eq!(sent.external_id, fake.created()[0]["id"].as_str().unwrap());
}

#[tokio::test]
async fn an_unknown_owner_leaves_the_task_unassigned_and_no_due_date_is_now() {
    let fake = Fake::start(Kind::Hubspot).await.unwrap();
    fake.add_user("bo@acme.example");
    let mut item = task();
    if let Item::Task(t) = &mut item {
        t.due = None;
    }
    deliver(
        &http(),
        &fake.target(None),
        &fake.credential(),
        &item,
        KEY,
        false,
    )
    .await
    .unwrap();
    assert_eq!(fake.requests_to("/crm/v3/owners").len(), 1);
    let t = &fake.requests_to("/crm/v3/objects/tasks")[0];
    assert!(t.body["properties"].get("hubspot_owner_id").is_none());
    assert!(is_recent(
        t.body["properties"]["hs_timestamp"].as_str().unwrap()
    ));

    // No owner address: no lookup at all.
    fake.clear_requests();
    if let Item::Task(t) = &mut item {
        t.owner_email = None;
    }
    deliver(
        &http(),
        &fake.target(None),
        &fake.credential(),
        &item,
        "mv-second-item-0001",
        false,
    )
    .await
    .unwrap();
    assert!(fake.requests_to("/crm/v3/owners").is_empty());
    assert_eq!(fake.created().len(), 2);
}

#[tokio::test]
async fn a_retry_after_a_lost_answer_finds_the_task_on_a_later_search_page() {
    let fake = Fake::start(Kind::Hubspot).await.unwrap();
    let target = fake.target(None);
    let cred = fake.credential();
    // Tasks that merely quote the key in their notes: the token search returns them too, and
    // only the exact marker counts.
    for i in 0..3 {
        let item = Item::Task(Task {
            title: format!("Other {i}"),
            notes: format!("About {KEY}, see the other item"),
            owner_email: None,
            due: None,
            link: "https://meetvault.example/meetings/m0".into(),
        });
        deliver(
            &http(),
            &target,
            &cred,
            &item,
            &format!("mv-other-{i:08}"),
            false,
        )
        .await
        .unwrap();
    }
    fake.fail_after_commit("/crm/v3/objects/tasks", 502);
    let err = deliver(&http(), &target, &cred, &task(), KEY, false)
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    assert_eq!(fake.created().len(), 4, "the lost answer's task exists");
    let ours = fake.created()[3]["id"].as_str().unwrap().to_owned();

    fake.clear_requests();
    let sent = deliver(&http(), &target, &cred, &task(), KEY, true)
        .await
        .unwrap();
    assert_eq!(sent.external_id, ours);
    assert_eq!(fake.created().len(), 4, "nothing new");
    assert!(fake.requests_to("/crm/v3/objects/tasks").is_empty());
    assert!(fake.requests_to("/crm/v3/owners").is_empty());
    let searches = fake.requests_to("/crm/v3/objects/tasks/search");
    assert_eq!(searches.len(), 2, "the match is on the second page");
    assert_eq!(
        searches[0].body,
        serde_json::json!({"filterGroups": [{"filters": [{"propertyName": "hs_task_body",
            "operator": "CONTAINS_TOKEN", "value": KEY}]}], "properties": ["hs_task_body"],
            "limit": 100})
    );
    assert_eq!(searches[0].header("authorization"), Some(bearer().as_str()));
    assert_eq!(searches[1].body["after"], "2");

    // A retry of an item never created searches, then creates it once.
    fake.clear_requests();
    let other = "mv-never-sent-0001";
    deliver(&http(), &target, &cred, &task(), other, true)
        .await
        .unwrap();
    assert_eq!(fake.requests_to("/crm/v3/objects/tasks/search").len(), 1);
    assert_eq!(fake.created().len(), 5);
}

#[tokio::test]
async fn a_retried_note_is_found_by_its_body_marker() {
    let fake = Fake::start(Kind::Hubspot).await.unwrap();
    let target = fake.target(None);
    fake.add_contact("ana@customer.example");
    fake.fail_after_commit("/crm/v3/objects/notes", 500);
    deliver(&http(), &target, &fake.credential(), &summary(), KEY, false)
        .await
        .unwrap_err();
    fake.clear_requests();
    let sent = deliver(&http(), &target, &fake.credential(), &summary(), KEY, true)
        .await
        .unwrap();
    assert_eq!(sent.external_id, fake.created()[0]["id"].as_str().unwrap());
    assert_eq!(fake.created().len(), 1);
    let s = &fake.requests_to("/crm/v3/objects/notes/search")[0];
    assert_eq!(
        s.body["filterGroups"][0]["filters"][0],
        serde_json::json!({"propertyName": "hs_note_body", "operator": "CONTAINS_TOKEN", "value": KEY})
    );
    assert!(
        fake.requests_to("/crm/v3/objects/contacts/search")
            .is_empty()
    );
}

#[tokio::test]
async fn rate_limits_and_refusals_are_told_apart() {
    let fake = Fake::start(Kind::Hubspot).await.unwrap();
    let target = fake.target(None);
    fake.fail_next("/crm/v3/objects/tasks", 429, Some("7"));
    let err = deliver(&http(), &target, &fake.credential(), &task(), KEY, false)
        .await
        .unwrap_err();
    assert!(
        matches!(err, IntegrationError::RateLimited { retry_after: Some(d) } if d == Duration::from_secs(7)),
        "{err:?}"
    );
    let wrong = Credential::Token(SecretString::new("pat-na1-wrong"));
    let err = deliver(&http(), &target, &wrong, &task(), KEY, false)
        .await
        .unwrap_err();
    assert!(matches!(err, IntegrationError::Unauthorized(_)), "{err:?}");
    assert!(fake.created().is_empty());
    // Trackers' items are checked before anything is sent.
    let mut bad = task();
    if let Item::Task(t) = &mut bad {
        t.title = String::new();
    }
    let err = deliver(&http(), &target, &fake.credential(), &bad, KEY, false)
        .await
        .unwrap_err();
    assert!(matches!(err, IntegrationError::Invalid(_)), "{err:?}");
}

#[tokio::test]
async fn an_expired_oauth_token_is_unauthorized_and_a_refreshed_one_works() {
    let fake = Fake::start(Kind::Hubspot).await.unwrap();
    let target = fake.target(None);
    let tokens = fake.grant();
    let cred = Credential::OAuth(tokens.clone());
    validate(&http(), &target, &cred).await.unwrap();
    assert_eq!(
        fake.requests()[0].header("authorization"),
        Some(format!("Bearer {}", tokens.access_token.expose()).as_str())
    );
    fake.expire_access_tokens();
    let err = deliver(&http(), &target, &cred, &task(), KEY, false)
        .await
        .unwrap_err();
    assert!(matches!(err, IntegrationError::Unauthorized(_)), "{err:?}");
    let fresh = oauth::refresh(&http(), &fake.oauth_app(), &tokens)
        .await
        .unwrap();
    assert_ne!(fresh.refresh_token, tokens.refresh_token, "HubSpot rotates");
    let sent = deliver(
        &http(),
        &target,
        &Credential::OAuth(fresh),
        &task(),
        KEY,
        true,
    )
    .await
    .unwrap();
    assert_eq!(sent.external_id, fake.created()[0]["id"].as_str().unwrap());
}

#[tokio::test]
async fn hostile_text_travels_only_as_json_property_values() {
    let fake = Fake::start(Kind::Hubspot).await.unwrap();
    let target = fake.target(None);
    let hostile = "Q3 \"plan\"\n<!channel> ' OR 1=1 -- <script>x</script>";
    let item = Item::Task(Task {
        title: hostile.into(),
        notes: hostile.into(),
        owner_email: Some("ana@acme.example".into()),
        due: None,
        link: "https://meetvault.example/m/1?a=\"><b>".into(),
    });
    deliver(&http(), &target, &fake.credential(), &item, KEY, true)
        .await
        .unwrap();
    let t = &fake.requests_to("/crm/v3/objects/tasks")[0];
    // A one-line field: the line break is a space; the rest exactly as written.
    assert_eq!(
        t.body["properties"]["hs_task_subject"],
        hostile.replace('\n', " ")
    );
    let body = t.body["properties"]["hs_task_body"].as_str().unwrap();
    assert!(body.starts_with(
        "<p>Q3 &quot;plan&quot;<br>&lt;!channel&gt; &#39; OR 1=1 -- &lt;script&gt;x&lt;/script&gt;</p>\
         <p><a href=\"https://meetvault.example/m/1?a=&quot;&gt;&lt;b&gt;\">"
    ));
    // The searches and the owner lookup carry only the key and the checked address.
    for r in fake.requests() {
        if r.path != "/crm/v3/objects/tasks" {
            let raw =
                String::from_utf8_lossy(&r.raw).into_owned() + r.query.as_deref().unwrap_or("");
            assert!(!raw.contains("OR 1=1") && !raw.contains("plan"), "{raw}");
        }
    }
    let mut s = summary();
    if let Item::Summary(x) = &mut s {
        x.title = hostile.into();
    }
    fake.add_contact("ana@customer.example");
    deliver(
        &http(),
        &target,
        &fake.credential(),
        &s,
        "mv-hostile-summary",
        false,
    )
    .await
    .unwrap();
    let n = &fake.requests_to("/crm/v3/objects/notes")[0];
    assert!(
        n.body["properties"]["hs_note_body"]
            .as_str()
            .unwrap()
            .starts_with(
                "<p><strong>Meeting notes: Q3 &quot;plan&quot; &lt;!channel&gt; &#39; OR 1=1"
            )
    );
}
