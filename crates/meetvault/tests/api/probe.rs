//! The probe suite: tenant isolation and authorization checked at the route layer, for every
//! route in the OpenAPI document (which the router is built from). Each route must be classified
//! below — an unclassified route fails the suite — and every non-public route is probed with no
//! credentials (401), another org's session (404 for this org's resources; never their data),
//! a viewer (403 unless the viewer holds the permission), a member of another workspace only
//! (org role billing, member in a second workspace: 404 for the first workspace's meetings, 403
//! for organization-level permissions, never their content), an API key without the
//! permission (403), and revoked and expired keys (401).

use std::collections::BTreeSet;

use meetvault_test_support::{Cred, Session, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::probe_routes::{Class, ROUTES};

/// How many of the first markers are content of the default workspace's meeting (what a member
/// of another workspace must never see; the rest identify the org, which they belong to).
const CONTENT_MARKERS: usize = 9;

/// Org A's resources that path templates are filled with, and everything that identifies A.
struct Fixture {
    owner: Session,
    viewer: Session,
    /// Org role billing, member of a second workspace: no right to the default workspace.
    elsewhere: Session,
    other: Session,
    narrow_key: String,
    revoked_key: String,
    expired_key: String,
    key_id: String,
    support_key_id: String,
    workspace_id: String,
    invitation_id: String,
    meeting_id: String,
    recording_id: String,
    job_id: String,
    bot_id: String,
    webhook_id: String,
    delivery_id: String,
    certificate_id: String,
    markers: Vec<String>,
}

async fn fixture(app: &TestApp) -> Fixture {
    let owner = app.register("owner-a@example.com", "Org A").await;
    let viewer = app.user_with_role(&owner, "viewer").await;
    let elsewhere = app.user_with_role(&owner, "billing").await;
    let r = app
        .send(
            &Cred::Session(owner.clone()),
            Method::POST,
            "/api/v1/workspaces",
            Some(json!({"name": "Elsewhere"})),
        )
        .await;
    let second = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .send(
            &Cred::Session(owner.clone()),
            Method::PUT,
            &format!("/api/v1/workspaces/{second}/members/{}", elsewhere.user_id),
            Some(json!({"role": "member"})),
        )
        .await;
    assert!(r.status().is_success(), "{}", r.status());
    let other = app.register("owner-b@example.com", "Org B").await;
    let (narrow_key, narrow_id) = app.api_key(&owner, &["billing:read"]).await;
    let (revoked_key, revoked_id) = app.api_key(&owner, &["keys:manage", "audit:read"]).await;
    let r = app
        .send(
            &Cred::Session(owner.clone()),
            Method::DELETE,
            &format!("/api/v1/api-keys/{revoked_id}"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (expired_key, expired_id) = app.api_key(&owner, &["keys:manage", "audit:read"]).await;
    let past = match app.db().kind() {
        meetvault_config::DatabaseKind::Sqlite => "2000-01-01T00:00:00+00:00",
        meetvault_config::DatabaseKind::Postgres => "2000-01-01T00:00:00Z",
    };
    let lookup = &expired_key[..12];
    meetvault_test_support::execute(
        app.db(),
        &format!("UPDATE api_keys SET expires_at = '{past}' WHERE lookup = '{lookup}'"),
    )
    .await;
    let owner_cred = Cred::Session(owner.clone());
    let r = app
        .send(
            &owner_cred,
            Method::POST,
            "/api/v1/support-keys",
            Some(json!({"note": "vendor ticket 1", "expires_in_hours": 24})),
        )
        .await;
    let support_key_id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .send(&owner_cred, Method::GET, "/api/v1/workspaces", None)
        .await;
    let workspace_id = r.json::<Value>().await.unwrap()["workspaces"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .send(
            &owner_cred,
            Method::POST,
            "/api/v1/invitations",
            Some(json!({"email": "pending-a@example.com", "role": "member"})),
        )
        .await;
    let invitation_id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .send(
            &owner_cred,
            Method::POST,
            "/api/v1/meetings",
            Some(json!({"title": "Org A meeting title", "participants": [{"name": "Alice A", "email": "alice-a@example.com"}]})),
        )
        .await;
    let meeting_id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let segments = json!({"segments": [{"start_ms": 0, "end_ms": 1, "speaker": "Alice A", "text": "Org A transcript words"}]});
    let r = app
        .send(
            &owner_cred,
            Method::POST,
            &format!("/api/v1/meetings/{meeting_id}/transcript"),
            Some(segments),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = app
        .send_bytes(
            &owner_cred,
            &format!("/api/v1/meetings/{meeting_id}/recordings"),
            "audio/wav",
            meetvault_test_support::media::wav_with_payload(b"Org A recording bytes"),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let recording_id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .send(
            &owner_cred,
            Method::PUT,
            "/api/v1/me/secrets/probe-secret",
            Some(json!({"value": "Org A secret value"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    // A transcription job on the meeting (its engine run is short: the recording is tiny).
    let r = app
        .send(
            &owner_cred,
            Method::POST,
            &format!("/api/v1/meetings/{meeting_id}/transcribe"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let job_id = r.json::<Value>().await.unwrap()["jobs"][0]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .send(
            &owner_cred,
            Method::POST,
            "/api/v1/bots",
            Some(json!({"meeting_url": "https://meet.google.com/org-abot-lnk", "bot_name": "Org A bot name"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let bot_id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // A webhook endpoint (allow-listed loopback, nothing listens: its deliveries fail) and a
    // delivery of it.
    let r = app
        .send(
            &owner_cred,
            Method::POST,
            "/api/v1/webhooks",
            Some(json!({"url": "http://127.0.0.1:9/org-a-hook", "description": "Org A hook"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let webhook_id = r.json::<Value>().await.unwrap()["webhook"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .send(
            &owner_cred,
            Method::POST,
            &format!("/api/v1/webhooks/{webhook_id}/test"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let delivery_id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let markers = vec![
        "Org A bot name".to_owned(),
        "orga-bot-link".to_owned(),
        meeting_id.clone(),
        job_id.clone(),
        recording_id.clone(),
        "Org A meeting title".to_owned(),
        "alice-a@example.com".to_owned(),
        "Org A transcript words".to_owned(),
        "Org A recording bytes".to_owned(),
        "Org A secret value".to_owned(),
        owner.org_id.clone(),
        owner.user_id.clone(),
        viewer.user_id.clone(),
        owner.email.clone(),
        viewer.email.clone(),
        narrow_id.clone(),
        expired_id,
        support_key_id.clone(),
        workspace_id.clone(),
        invitation_id.clone(),
        webhook_id.clone(),
        delivery_id.clone(),
        "org-a-hook".to_owned(),
        "Org A".to_owned(),
    ];
    // A deleted meeting's certificate (the public route serves it to anyone; the org's to
    // auditors only).
    let r = app
        .send(
            &Cred::Session(owner.clone()),
            Method::POST,
            "/api/v1/meetings",
            Some(json!({"title": "Org A deleted meeting"})),
        )
        .await;
    let doomed = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .send(
            &Cred::Session(owner.clone()),
            Method::DELETE,
            &format!("/api/v1/meetings/{doomed}"),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let certificate_id = r.json::<Value>().await.unwrap()["certificate"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    Fixture {
        owner,
        viewer,
        elsewhere,
        other,
        narrow_key,
        revoked_key,
        expired_key,
        key_id: narrow_id,
        support_key_id,
        workspace_id,
        invitation_id,
        meeting_id,
        recording_id,
        job_id,
        bot_id,
        webhook_id,
        delivery_id,
        certificate_id,
        markers,
    }
}

fn fill(path: &str, f: &Fixture) -> String {
    let id = if path.starts_with("/api/v1/auth/sessions/") {
        f.owner.session_id.clone()
    } else if path.starts_with("/api/v1/api-keys/") {
        f.key_id.clone()
    } else if path.starts_with("/api/v1/support-keys/") {
        f.support_key_id.clone()
    } else if path.starts_with("/api/v1/members/") {
        f.viewer.user_id.clone()
    } else if path.starts_with("/api/v1/workspaces/") {
        f.workspace_id.clone()
    } else if path.starts_with("/api/v1/meetings/") {
        f.meeting_id.clone()
    } else if path.starts_with("/api/v1/bots/") {
        f.bot_id.clone()
    } else if path.starts_with("/api/v1/jobs/") {
        f.job_id.clone()
    } else if path.starts_with("/api/v1/invitations/") {
        f.invitation_id.clone()
    } else if path.starts_with("/api/v1/webhooks/") {
        f.webhook_id.clone()
    } else if path.starts_with("/api/v1/certificates/") || path.starts_with("/api/certificates/") {
        f.certificate_id.clone()
    } else if path.starts_with("/api/v1/deletion-requests/") {
        // None exists in org A (a real one needs an emailed token); refused before the lookup.
        "dreq_0192f1c4a6e87c3d9b5e2f1a0c4d6e8f".to_owned()
    } else if path.starts_with("/api/v1/calendar/connections/") {
        // None exists (a real one needs a provider's consent); another org finds nothing.
        "cal_0192f1c4a6e87c3d9b5e2f1a0c4d6e8f".to_owned()
    } else if path.starts_with("/api/v1/integrations/") {
        // None exists in org A (a real one needs a provider); another org finds nothing.
        "int_0192f1c4a6e87c3d9b5e2f1a0c4d6e8f".to_owned()
    } else if path.starts_with("/api/v1/widgets/") {
        // None exists in org A (tests/api/widgets.rs makes real ones); another org finds nothing.
        "wgt_0192f1c4a6e87c3d9b5e2f1a0c4d6e8f".to_owned()
    } else if path.starts_with("/api/v1/approvals/") {
        "itm_0192f1c4a6e87c3d9b5e2f1a0c4d6e8f".to_owned()
    } else if path.starts_with("/api/v1/destinations/") {
        // None exists (a real one needs a bucket); every probe is refused before the lookup,
        // and another org's owner finds nothing.
        "dst_0192f1c4a6e87c3d9b5e2f1a0c4d6e8f".to_owned()
    } else {
        String::new()
    };
    path.replace("{id}", &id)
        .replace("{user_id}", &f.viewer.user_id)
        .replace("{seq}", "1")
        .replace("{recording}", &f.recording_id)
        .replace("{delivery}", &f.delivery_id)
        .replace("{name}", "probe-secret")
        .replace("{token}", "mvi_notarealtoken")
        .replace("{document_id}", "doc_0192f1c4a6e87c3d9b5e2f1a0c4d6e8f")
        .replace("{segment_id}", "seg_0192f1c4a6e87c3d9b5e2f1a0c4d6e8f")
        .replace("{event_id}", "probe-event")
}

/// A body the route would accept from a caller allowed to use it.
fn body(method: &str, path: &str) -> Option<Value> {
    if method == "GET" || (method == "DELETE" && path != "/api/v1/auth/mfa/totp") {
        return None;
    }
    Some(match path {
        "/api/v1/auth/password" => json!({"current_password": "x", "new_password": "y"}),
        "/api/v1/auth/mfa/totp/confirm" => json!({"code": "000000"}),
        "/api/v1/auth/mfa/totp" if method == "DELETE" => json!({"password": "x"}),
        "/api/v1/support-keys" => json!({"note": "probe", "expires_in_hours": 1}),
        "/api/v1/api-keys" => json!({"name": "probe", "permissions": ["audit:read"]}),
        "/api/v1/org" => json!({"name": "Renamed"}),
        "/api/v1/org/sso" => json!({"jit": false}),
        "/api/v1/meetings/{id}/transcript/{segment_id}" => json!({"text": "probe"}),
        "/api/v1/meetings/{id}/speakers/rename" => json!({"from": "Nobody", "to": "Someone"}),
        "/api/v1/calendar/connections" => json!({"provider": "google"}),
        "/api/v1/calendar/rules" => json!({"never_keywords": ["probe"]}),
        "/api/v1/workspaces/{id}/calendar-rules" => json!({"mode": "all"}),
        p if p.ends_with("/choice") => json!({"choice": "never"}),
        "/api/v1/org/sso/saml" => json!({"idp_metadata": "<EntityDescriptor/>"}),
        "/api/v1/org/sso/oidc" => {
            json!({"name": "p", "issuer": "https://idp.invalid", "client_id": "p", "client_secret": "p"})
        }
        "/api/v1/org/encryption" => json!({"kms_key_id": null}),
        "/api/v1/meetings" => json!({"title": "Probe"}),
        "/api/v1/webhooks" => json!({"url": "http://127.0.0.1:9/probe"}),
        "/api/v1/webhooks/{id}" => json!({"description": "probe"}),
        "/api/v1/integrations" => json!({"provider": "slack",
            "credential": {"type": "webhook_url", "url": "http://127.0.0.1:9/probe"}}),
        "/api/v1/integrations/{id}" => json!({"name": "probe"}),
        "/api/v1/widgets" => json!({"name": "probe", "allowed_origins": ["https://probe.example"]}),
        "/api/v1/widgets/{id}" => json!({"name": "probe"}),
        "/api/v1/integrations/oauth" => json!({"provider": "google_drive", "destination": "probe"}),
        "/api/v1/approvals/{id}" => json!({"content": {"type": "task", "title": "probe",
            "notes": "probe", "link": "https://meetvault.example/m"}}),
        "/api/v1/destinations" => {
            json!({"name": "p", "endpoint": "http://127.0.0.1:9", "bucket": "probe-bucket", "path_style": true, "access_key_id": "AKIAPROBE", "secret_access_key": "probe"})
        }
        "/api/v1/destinations/{id}" => json!({"is_default": false}),
        "/api/v1/deletion-requests/{id}/complete" => json!({"targets": []}),
        "/api/v1/deletion-requests/{id}/reject" => json!({"reason": "probe"}),
        "/api/v1/bots" => {
            json!({"meeting_url": "https://meet.google.com/prb-ebot-xyz", "bot_name": "Probe"})
        }
        p if p.ends_with("/chat") => json!({"message": "probe"}),
        "/api/v1/me/secrets/{name}" => json!({"value": "probe"}),
        "/api/v1/auth/recover" => {
            json!({"email": "x@example.com", "recovery_key": "x", "new_password": "y"})
        }
        p if p.starts_with("/api/v1/me/encryption/") => json!({"password": "x"}),
        p if p.ends_with("/transcript") => json!({"segments": []}),
        "/api/v1/workspaces" => json!({"name": "Probe"}),
        "/api/v1/search" => json!({"query": "probe"}),
        "/api/v1/ask" => json!({"question": "probe"}),
        "/v1/chat/completions" => json!({"model": "smollm2-135m-instruct",
            "messages": [{"role": "user", "content": "probe"}], "max_tokens": 1}),
        "/v1/embeddings" => json!({"model": "all-minilm-l6-v2", "input": "probe"}),
        "/api/v1/org/intelligence" => json!({"provider": "embedded"}),
        p if p.ends_with("/intelligence") => json!({"pii_redaction": "all"}),
        p if p.ends_with("/summary") && method == "POST" => json!({"pii_redaction": "all"}),
        p if p.ends_with("/summary") => json!({"overview": "probe"}),
        "/api/v1/invitations" => json!({"email": "probe@example.com", "role": "viewer"}),
        p if p.starts_with("/api/v1/members/") => json!({"role": "member"}),
        p if p.contains("/members/") => json!({"role": "member"}),
        p if p.ends_with("/bot-consent") => json!({"required": false}),
        p if p.starts_with("/api/v1/workspaces/") => json!({"name": "Renamed"}),
        _ => json!({}),
    })
}

#[tokio::test]
async fn every_route_is_classified_and_enforces_its_requirement_across_tenants_roles_and_keys() {
    let app = TestApp::spawn_with(|c| {
        c.auth.open_registration = true;
        c.outbound.allow_hosts = vec!["127.0.0.1/32".into()];
    })
    .await;
    // Every documented operation must be classified here.
    let doc: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    let classified: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p, ..)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    let unclassified: Vec<_> = documented.difference(&classified).collect();
    assert!(
        unclassified.is_empty(),
        "routes missing from the probe suite's table: {unclassified:?}"
    );
    let stale: Vec<_> = classified.difference(&documented).collect();
    assert!(
        stale.is_empty(),
        "the probe table names routes that no longer exist: {stale:?}"
    );
    // The document tells clients which routes need a credential, as the probes below find.
    for (method, template, class, _) in ROUTES {
        let op = &doc["paths"][*template][method.to_lowercase()];
        let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
        assert_eq!(
            secured,
            *class != Class::Public,
            "{method} {template}: its `security` in the OpenAPI document disagrees with its class"
        );
    }

    let f = fixture(&app).await;
    let mut checked = 0;
    for (method, template, class, resource) in ROUTES {
        if *class == Class::Public {
            continue;
        }
        let path = fill(template, &f);
        let m = Method::from_bytes(method.as_bytes()).unwrap();
        let b = || body(method, template);
        let what = format!("{method} {template}");

        let r = app.send(&Cred::None, m.clone(), &path, b()).await;
        assert_eq!(
            r.status(),
            StatusCode::UNAUTHORIZED,
            "{what} without credentials"
        );
        checked += 1;

        for (name, key) in [("revoked", &f.revoked_key), ("expired", &f.expired_key)] {
            let r = app
                .send(&Cred::Bearer(key.clone()), m.clone(), &path, b())
                .await;
            assert_eq!(
                r.status(),
                StatusCode::UNAUTHORIZED,
                "{what} with a {name} key"
            );
            checked += 1;
        }

        let r = app
            .send(&Cred::Bearer(f.narrow_key.clone()), m.clone(), &path, b())
            .await;
        match class {
            Class::AnyCaller => assert_eq!(r.status(), StatusCode::OK, "{what} with a key"),
            _ => assert_eq!(
                r.status(),
                StatusCode::FORBIDDEN,
                "{what} with a key lacking the permission"
            ),
        }
        checked += 1;

        if let Class::Perm(permission) = class {
            let r = app
                .send(&Cred::Session(f.viewer.clone()), m.clone(), &path, b())
                .await;
            // Viewers: `meetings:read` only (docs/permissions.md); the fixture's bot has no
            // diagnosis, and its meeting no summary (no transcript was stored to make one).
            let absent = (template.ends_with("/diagnosis") || template.ends_with("/summary"))
                && r.status() == StatusCode::NOT_FOUND;
            if *permission == "meetings:read" {
                assert!(
                    r.status().is_success() || absent,
                    "{what} as a viewer: {}",
                    r.status()
                );
            } else {
                assert_eq!(r.status(), StatusCode::FORBIDDEN, "{what} as a viewer");
            }
            checked += 1;
        }

        if let Class::Perm(permission) = class {
            let r = app
                .send(&Cred::Session(f.elsewhere.clone()), m.clone(), &path, b())
                .await;
            let status = r.status();
            let text = r.text().await.unwrap();
            let meeting_scoped = matches!(
                *permission,
                "meetings:read" | "meetings:write" | "meetings:delete" | "bots:write"
            );
            if !meeting_scoped {
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{what} as a member of another workspace only"
                );
            } else if *resource {
                assert_eq!(
                    status,
                    StatusCode::NOT_FOUND,
                    "{what} as a member of another workspace only: {text}"
                );
            }
            for marker in f.markers.iter().take(CONTENT_MARKERS) {
                assert!(
                    !text.contains(marker.as_str()),
                    "{what} as a member of another workspace leaked `{marker}`: {text}"
                );
            }
            checked += 1;
        }

        // Logging the other org out would end the probe; its session is needed below.
        if *template == "/api/v1/auth/logout" {
            continue;
        }
        let r = app
            .send(&Cred::Session(f.other.clone()), m.clone(), &path, b())
            .await;
        let status = r.status();
        let text = r.text().await.unwrap();
        if *resource {
            assert_eq!(
                status,
                StatusCode::NOT_FOUND,
                "{what} as another org: {text}"
            );
        }
        for marker in &f.markers {
            assert!(
                !text.contains(marker.as_str()),
                "{what} as another org leaked `{marker}`: {text}"
            );
        }
        checked += 1;
    }

    // Nothing the probes did reached org A: its viewer and keys are as they were.
    let r = app
        .send(
            &Cred::Session(f.viewer.clone()),
            Method::GET,
            "/api/v1/me",
            None,
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "the viewer survived every probe"
    );
    let r = app
        .send(
            &Cred::Session(f.owner.clone()),
            Method::GET,
            "/api/v1/api-keys",
            None,
        )
        .await;
    let keys: Value = r.json().await.unwrap();
    assert!(
        keys["api_keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["id"] == f.key_id.as_str() && k["revoked_at"].is_null())
    );
    let non_public = ROUTES.iter().filter(|r| r.2 != Class::Public).count();
    println!(
        "probe suite: {} routes ({non_public} protected) × probes = {checked} checks passed",
        ROUTES.len()
    );
}
