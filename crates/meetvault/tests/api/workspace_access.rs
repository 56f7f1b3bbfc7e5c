//! Workspace roles and workspace-bound keys (security review, finding 10): a workspace role
//! grants meeting permissions in its workspace and nowhere else, a workspace-bound key acts in
//! its workspace only, and a caller confined to some workspaces sees and changes only their
//! meetings — as docs/permissions.md says.

use meetvault_test_support::{Cred, Session, TestApp, json_str};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn workspace(app: &TestApp, owner: &Session, name: &str) -> String {
    let r = app
        .send(
            &Cred::Session(owner.clone()),
            Method::POST,
            "/api/v1/workspaces",
            Some(json!({"name": name})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    json_str(r, "id").await
}

async fn create(app: &TestApp, cred: &Cred, ws: Option<&str>) -> reqwest::Response {
    let mut body = json!({"title": "Planning"});
    if let Some(ws) = ws {
        body["workspace_id"] = json!(ws);
    }
    app.send(cred, Method::POST, "/api/v1/meetings", Some(body))
        .await
}

async fn listed(app: &TestApp, cred: &Cred) -> Vec<String> {
    let r = app.send(cred, Method::GET, "/api/v1/meetings", None).await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json::<Value>().await.unwrap()["meetings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_workspace_member_writes_in_their_workspace_and_only_reads_elsewhere() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@example.com", "Acme").await;
    let sales = workspace(&app, &owner, "Sales").await;
    let legal = workspace(&app, &owner, "Legal").await;
    let viewer = app.user_with_role(&owner, "viewer").await;
    let r = app
        .send(
            &Cred::Session(owner.clone()),
            Method::PUT,
            &format!("/api/v1/workspaces/{sales}/members/{}", viewer.user_id),
            Some(json!({"role": "member"})),
        )
        .await;
    assert!(r.status().is_success(), "{}", r.status());
    let cred = Cred::Session(viewer.clone());

    // In Sales the viewer is a member: they create, change and delete meetings there.
    let r = create(&app, &cred, Some(&sales)).await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap()
    );
    let mine = json_str(r, "id").await;
    // Without a workspace, the meeting goes to the first one they may write in.
    let r = create(&app, &cred, None).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.json::<Value>().await.unwrap()["workspace_id"], sales);
    let r = app
        .send(
            &cred,
            Method::PATCH,
            &format!("/api/v1/meetings/{mine}"),
            Some(json!({"title": "Renamed"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);

    // Elsewhere only their org role counts: read, never write.
    let r = create(&app, &cred, Some(&legal)).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let theirs = json_str(
        create(&app, &Cred::Session(owner.clone()), Some(&legal)).await,
        "id",
    )
    .await;
    let r = app
        .send(
            &cred,
            Method::GET,
            &format!("/api/v1/meetings/{theirs}"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK, "an org viewer reads everywhere");
    let r = app
        .send(
            &cred,
            Method::PATCH,
            &format!("/api/v1/meetings/{theirs}"),
            Some(json!({"title": "Hijacked"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app
        .send(
            &cred,
            Method::DELETE,
            &format!("/api/v1/meetings/{theirs}"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Moving their own meeting into a workspace they cannot write in is refused too.
    let r = app
        .send(
            &cred,
            Method::PATCH,
            &format!("/api/v1/meetings/{mine}"),
            Some(json!({"workspace_id": legal})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app
        .send(
            &cred,
            Method::DELETE,
            &format!("/api/v1/meetings/{mine}"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_workspace_bound_key_acts_only_in_its_workspace() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@example.com", "Acme").await;
    let sales = workspace(&app, &owner, "Sales").await;
    let legal = workspace(&app, &owner, "Legal").await;
    let owner_cred = Cred::Session(owner.clone());
    let in_legal = json_str(create(&app, &owner_cred, Some(&legal)).await, "id").await;
    let r = app
        .send(
            &owner_cred,
            Method::POST,
            "/api/v1/api-keys",
            Some(json!({"name": "sales bot", "permissions": ["meetings:read", "meetings:write"], "workspace_id": sales})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let key = Cred::Bearer(json_str(r, "key").await);

    let r = create(&app, &key, Some(&sales)).await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "{}",
        r.text().await.unwrap()
    );
    let in_sales = json_str(r, "id").await;
    let r = create(&app, &key, None).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.json::<Value>().await.unwrap()["workspace_id"], sales);
    assert_eq!(
        create(&app, &key, Some(&legal)).await.status(),
        StatusCode::FORBIDDEN
    );

    // It lists only its workspace's meetings, and another workspace's meeting is not found.
    let seen = listed(&app, &key).await;
    assert!(seen.contains(&in_sales), "{seen:?}");
    assert!(!seen.contains(&in_legal), "{seen:?}");
    let r = app
        .send(
            &key,
            Method::GET,
            &format!("/api/v1/meetings/{in_legal}"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = app
        .send(
            &key,
            Method::GET,
            &format!("/api/v1/meetings?workspace_id={legal}"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.json::<Value>().await.unwrap()["meetings"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // Organization-level routes stay closed to it.
    let r = app.send(&key, Method::GET, "/api/v1/org", None).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_workspace_only_member_sees_nothing_of_other_workspaces() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@example.com", "Acme").await;
    let sales = workspace(&app, &owner, "Sales").await;
    let legal = workspace(&app, &owner, "Legal").await;
    // Billing holds no meeting permission at org level: all of it comes from the workspace.
    let clerk = app.user_with_role(&owner, "billing").await;
    let r = app
        .send(
            &Cred::Session(owner.clone()),
            Method::PUT,
            &format!("/api/v1/workspaces/{sales}/members/{}", clerk.user_id),
            Some(json!({"role": "viewer"})),
        )
        .await;
    assert!(r.status().is_success());
    let owner_cred = Cred::Session(owner.clone());
    let in_sales = json_str(create(&app, &owner_cred, Some(&sales)).await, "id").await;
    let in_legal = json_str(create(&app, &owner_cred, Some(&legal)).await, "id").await;
    let cred = Cred::Session(clerk);
    assert_eq!(listed(&app, &cred).await, vec![in_sales.clone()]);
    let r = app
        .send(
            &cred,
            Method::GET,
            &format!("/api/v1/meetings/{in_legal}"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = app
        .send(
            &cred,
            Method::GET,
            &format!("/api/v1/meetings/{in_legal}/transcript"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = app
        .send(
            &cred,
            Method::GET,
            &format!("/api/v1/meetings/{in_sales}"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        create(&app, &cred, Some(&sales)).await.status(),
        StatusCode::FORBIDDEN
    );
}
