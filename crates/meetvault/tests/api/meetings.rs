//! Meetings as a user manages them: list a page at a time (by workspace and date), change
//! one, and bad input refused without changing anything.

use meetvault_test_support::{Cred, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn meetings_list_a_page_at_a_time_filtered_by_workspace_and_date() {
    let app = TestApp::spawn_with(|c| c.auth.open_registration = true).await;
    let s = app.register("lister@example.com", "Lister").await;
    let cred = Cred::Session(s.clone());
    let r = app
        .send(
            &cred,
            Method::POST,
            "/api/v1/workspaces",
            Some(json!({"name": "Sales"})),
        )
        .await;
    let sales = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut ids = Vec::new();
    for i in 0..5 {
        let mut body = json!({"title": format!("Meeting {i}")});
        if i % 2 == 0 {
            body["workspace_id"] = json!(sales);
        }
        let r = app
            .send(&cred, Method::POST, "/api/v1/meetings", Some(body))
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        ids.push(
            r.json::<Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    // Pages of two, newest first, until the cursor runs out.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/meetings?limit=2&cursor={c}"),
            None => "/api/v1/meetings?limit=2".to_owned(),
        };
        let page: Value = app
            .send(&cred, Method::GET, &path, None)
            .await
            .json()
            .await
            .unwrap();
        for m in page["meetings"].as_array().unwrap() {
            assert!(m["title"].as_str().unwrap().starts_with("Meeting "));
            assert_eq!(m["locked"], false);
            seen.push(m["id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let mut newest_first = ids.clone();
    newest_first.reverse();
    assert_eq!(seen, newest_first);
    // One workspace.
    let page: Value = app
        .send(
            &cred,
            Method::GET,
            &format!("/api/v1/meetings?workspace_id={sales}"),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["meetings"].as_array().unwrap().len(), 3);
    // By date: nothing before yesterday, everything since.
    let yesterday = (chrono::Utc::now() - chrono::Duration::days(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let page: Value = app
        .send(
            &cred,
            Method::GET,
            &format!("/api/v1/meetings?to={yesterday}"),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(page["meetings"].as_array().unwrap().is_empty());
    let page: Value = app
        .send(
            &cred,
            Method::GET,
            &format!("/api/v1/meetings?from={yesterday}"),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["meetings"].as_array().unwrap().len(), 5);
    // Bad filters are named.
    for (q, field) in [
        ("limit=0", "limit"),
        ("cursor=nonsense", "cursor"),
        ("from=tuesday", "from"),
        ("workspace_id=wsp_x", ""),
    ] {
        let r = app
            .send(&cred, Method::GET, &format!("/api/v1/meetings?{q}"), None)
            .await;
        assert!(r.status().is_client_error(), "{q}: {}", r.status());
        assert!(r.text().await.unwrap().contains(field), "{q}");
    }
    // Another org sees none of them.
    let other = app.register("other-lister@example.com", "Other").await;
    let page: Value = app
        .send(&Cred::Session(other), Method::GET, "/api/v1/meetings", None)
        .await
        .json()
        .await
        .unwrap();
    assert!(page["meetings"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_meeting_is_changed_field_by_field_and_bad_changes_change_nothing() {
    let app = TestApp::spawn().await;
    let s = app.register("patcher@example.com", "Patcher").await;
    let cred = Cred::Session(s.clone());
    let r = app
        .send(
            &cred,
            Method::POST,
            "/api/v1/meetings",
            Some(json!({"title": "Kickoff", "participants": [{"name": "Ann"}], "started_at": "2026-11-24T09:00:00Z", "language": "en"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let m: Value = r.json().await.unwrap();
    let id = m["id"].as_str().unwrap();
    assert_eq!(m["language"], "en");
    assert_eq!(m["started_at"], "2026-11-24T09:00:00Z");
    let path = format!("/api/v1/meetings/{id}");

    let r = app
        .send(&cred, Method::PATCH, &path, Some(json!({"title": "Kickoff (moved)", "participants": [{"name": "Ann"}, {"name": "Ben", "email": "ben@example.com"}], "transcription": {"beam_size": 5}})))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let m: Value = r.json().await.unwrap();
    assert_eq!(m["title"], "Kickoff (moved)");
    assert_eq!(m["participants"].as_array().unwrap().len(), 2);
    assert_eq!(m["participants"][1]["email"], "ben@example.com");
    assert_eq!(m["transcription"]["beam_size"], 5);
    assert_eq!(m["language"], "en", "absent fields stay");
    assert!(m["updated_at"].is_string());

    let r = app
        .send(
            &cred,
            Method::PATCH,
            &path,
            Some(json!({"language": null, "started_at": null})),
        )
        .await;
    let m: Value = r.json().await.unwrap();
    assert!(
        m["language"].is_null() && m["started_at"].is_null(),
        "null clears: {m}"
    );

    for bad in [
        json!({"title": ""}),
        json!({"language": "english please"}),
        json!({"transcription": {"beam_size": 99}}),
        json!({"transcription": {"provider": "deepgram"}}),
        json!({"participants": [{"name": "X", "email": "not-an-email"}]}),
        json!({"surprise": true}),
    ] {
        let r = app
            .send(&cred, Method::PATCH, &path, Some(bad.clone()))
            .await;
        assert!(r.status().is_client_error(), "{bad}: {}", r.status());
    }
    let m: Value = app
        .send(&cred, Method::GET, &path, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        m["title"], "Kickoff (moved)",
        "refused changes changed nothing"
    );
    assert_eq!(m["participants"].as_array().unwrap().len(), 2);

    let viewer = app.user_with_role(&s, "viewer").await;
    let r = app
        .send(
            &Cred::Session(viewer),
            Method::PATCH,
            &path,
            Some(json!({"title": "Mine"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_language_whisper_does_not_know_is_refused_naming_the_field_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let s = app.register("lang@example.com", "Lang").await;
    let cred = Cred::Session(s.clone());
    let refused = |r: reqwest::Response| async move {
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let v: Value = r.json().await.unwrap();
        let message = v["error"]["message"].as_str().unwrap().to_owned();
        assert!(message.starts_with("language:"), "{message}");
    };
    for zz in ["zz", "en-", "xx-yy"] {
        let r = app
            .send(
                &cred,
                Method::POST,
                "/api/v1/meetings",
                Some(json!({"title": "Bad", "language": zz})),
            )
            .await;
        refused(r).await;
    }
    let page: Value = app
        .send(&cred, Method::GET, "/api/v1/meetings", None)
        .await
        .json()
        .await
        .unwrap();
    assert!(page["meetings"].as_array().unwrap().is_empty(), "{page}");

    // Whisper's codes, with a region a remote provider may want, are taken.
    let r = app
        .send(
            &cred,
            Method::POST,
            "/api/v1/meetings",
            Some(json!({"title": "Good", "language": "pt-BR"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let m: Value = r.json().await.unwrap();
    assert_eq!(m["language"], "pt-br");
    let path = format!("/api/v1/meetings/{}", m["id"].as_str().unwrap());
    let r = app
        .send(&cred, Method::PATCH, &path, Some(json!({"language": "zz"})))
        .await;
    refused(r).await;
    let m: Value = app
        .send(&cred, Method::GET, &path, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(m["language"], "pt-br", "the refused change changed nothing");
}
