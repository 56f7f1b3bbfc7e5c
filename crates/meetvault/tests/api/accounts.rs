//! Accounts and sessions through the API: registration rules, password policy, cookies, login
//! failures that look alike, sessions and password change, CSRF, TOTP with recovery codes, org
//! MFA requirement, role changes, API keys and support-access keys.

use meetvault_test_support::{Cred, PASSWORD, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn code(r: reqwest::Response) -> (StatusCode, String) {
    let status = r.status();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    (
        status,
        body["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

#[tokio::test]
async fn the_first_user_owns_a_new_org_and_later_registration_is_by_invitation() {
    let app = TestApp::spawn().await;
    let owner = app.register("first@example.com", "First Org").await;
    let me: Value = app
        .send(
            &Cred::Session(owner.clone()),
            Method::GET,
            "/api/v1/me",
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["user"]["role"], "owner");
    let r = app.client.post(app.url("/api/v1/auth/register"))
        .json(&json!({"email": "second@example.com", "password": PASSWORD, "name": "Second", "org_name": "Other"}))
        .send().await.unwrap();
    assert_eq!(
        code(r).await,
        (StatusCode::FORBIDDEN, "not_allowed".to_owned())
    );
    let member = app.user_with_role(&owner, "member").await;
    assert_eq!(
        member.org_id, owner.org_id,
        "an invitation joins the inviter's org"
    );
}

#[tokio::test]
async fn weak_and_common_passwords_are_refused_with_a_clear_message() {
    let app = TestApp::spawn().await;
    for (password, needle) in [("short", "at least 12"), ("password1234!", "commonly used")] {
        let r = app.client.post(app.url("/api/v1/auth/register"))
            .json(&json!({"email": "a@example.com", "password": password, "name": "A", "org_name": "O"}))
            .send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body: Value = r.json().await.unwrap();
        assert!(
            body["error"]["message"].as_str().unwrap().contains(needle),
            "{body}"
        );
    }
    let long: String = "é".repeat(1023) + "x";
    let r = app
        .client
        .post(app.url("/api/v1/auth/register"))
        .json(&json!({"email": "a@example.com", "password": long, "name": "A", "org_name": "O"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "1024 multibyte characters are accepted"
    );
    let truncated: String = "é".repeat(1023) + "y";
    assert_eq!(
        app.login("a@example.com", &truncated).await.status(),
        StatusCode::UNAUTHORIZED,
        "no truncation"
    );
    assert_eq!(
        app.login("a@example.com", &long).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_session_cookie_has_every_protective_attribute_and_host_prefix_over_https() {
    let app = TestApp::spawn().await;
    app.register("c@example.com", "O").await;
    let r = app.login("c@example.com", PASSWORD).await;
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("mv_session="))
        .unwrap();
    for attr in [
        "HttpOnly",
        "Secure",
        "SameSite=Lax",
        "Path=/",
        "Max-Age=604800",
    ] {
        assert!(cookie.contains(attr), "{cookie} lacks {attr}");
    }
    let token = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("mv_session=");
    assert_eq!(token.len(), 43, "256 bits, base64url");
    let stored: i64 = match app.db() {
        meetvault_store::Database::Sqlite(p, ..) => {
            sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE token_hash = $1")
                .bind(token)
                .fetch_one(p)
                .await
                .unwrap()
        }
        meetvault_store::Database::Postgres(p) => {
            sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE token_hash = $1")
                .bind(token)
                .fetch_one(p)
                .await
                .unwrap()
        }
    };
    assert_eq!(stored, 0, "only a hash of the token is stored");

    let https = TestApp::spawn_with(|c| {
        c.server.public_url = Some("https://meet.example.com".parse().unwrap());
        // The test client calls by address, not by the public name.
        c.server.allowed_hosts = vec!["127.0.0.1".into()];
    })
    .await;
    let r = https
        .client
        .post(https.url("/api/v1/auth/register"))
        .json(
            &json!({"email": "h@example.com", "password": PASSWORD, "name": "H", "org_name": "O"}),
        )
        .send()
        .await
        .unwrap();
    assert!(
        r.headers()
            .get_all("set-cookie")
            .iter()
            .any(|v| v.to_str().unwrap().starts_with("__Host-mv_session="))
    );
}

#[tokio::test]
async fn an_unknown_email_and_a_wrong_password_look_alike_but_are_audited_apart() {
    let app = TestApp::spawn().await;
    let owner = app.register("d@example.com", "O").await;
    let before = app.core().hasher().dummy_verifications();
    let unknown = code(app.login("nobody@example.com", PASSWORD).await).await;
    assert_eq!(
        app.core().hasher().dummy_verifications(),
        before + 1,
        "the unknown email ran Argon2id on the dummy hash"
    );
    let wrong = code(app.login("d@example.com", "not the right password").await).await;
    assert_eq!(unknown, wrong);
    assert_eq!(
        wrong,
        (StatusCode::UNAUTHORIZED, "invalid_credentials".to_owned())
    );
    let reasons: Vec<Option<String>> = app
        .db()
        .audit_all()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.action == "auth.login" && r.outcome == "failure")
        .map(|r| r.reason)
        .collect();
    assert_eq!(
        reasons,
        vec![
            Some("unknown_user".to_owned()),
            Some("bad_password".to_owned())
        ]
    );
    let audit: Value = app
        .send(
            &Cred::Session(owner),
            Method::GET,
            "/api/v1/audit?action=auth.login",
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let own: Vec<&Value> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["outcome"] == "failure")
        .collect();
    assert_eq!(
        own.len(),
        1,
        "the org sees the attempt on its own user only: {audit}"
    );
    assert_eq!(own[0]["reason"], "bad_password");
}

#[tokio::test]
async fn a_password_change_ends_every_other_session_on_its_next_request() {
    let app = TestApp::spawn().await;
    let first = app.register("e@example.com", "O").await;
    let second = app
        .session_from(app.login("e@example.com", PASSWORD).await, "e@example.com")
        .await;
    let sessions: Value = app
        .send(
            &Cred::Session(first.clone()),
            Method::GET,
            "/api/v1/auth/sessions",
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(sessions["sessions"].as_array().unwrap().len(), 2);
    let r = app
        .send(
            &Cred::Session(first.clone()),
            Method::POST,
            "/api/v1/auth/password",
            Some(json!({"current_password": PASSWORD, "new_password": "a brand new passphrase 7"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["sessions_ended"], 1);
    assert_eq!(
        app.send(&Cred::Session(second), Method::GET, "/api/v1/me", None)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.send(
            &Cred::Session(first.clone()),
            Method::GET,
            "/api/v1/me",
            None
        )
        .await
        .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.login("e@example.com", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // Revoking a session by id, and someone else's id is not found.
    let r = app
        .send(
            &Cred::Session(first.clone()),
            Method::DELETE,
            &format!("/api/v1/auth/sessions/{}", first.session_id),
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.send(&Cred::Session(first), Method::GET, "/api/v1/me", None)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn cookie_requests_that_change_things_need_our_origin_or_the_csrf_token() {
    let app = TestApp::spawn().await;
    let s = app.register("f@example.com", "O").await;
    let post = |origin: Option<&str>, token: Option<&str>| {
        let mut req = app
            .client
            .post(app.url("/api/v1/workspaces"))
            .header("cookie", &s.cookie)
            .json(&json!({"name": "W"}));
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        if let Some(t) = token {
            req = req.header("x-csrf-token", t);
        }
        req.send()
    };
    assert_eq!(
        code(post(None, None).await.unwrap()).await,
        (StatusCode::FORBIDDEN, "csrf_failed".to_owned())
    );
    assert_eq!(
        post(Some("https://evil.example"), None)
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post(None, Some("0000")).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post(Some(&app.base_url), None).await.unwrap().status(),
        StatusCode::CREATED
    );
    assert_eq!(
        post(None, Some(&s.csrf)).await.unwrap().status(),
        StatusCode::CREATED
    );
    let (key, _) = app.api_key(&s, &["org:manage"]).await;
    let r = app
        .client
        .post(app.url("/api/v1/workspaces"))
        .bearer_auth(key)
        .json(&json!({"name": "K"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "bearer requests are exempt"
    );
    let r = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("origin", "https://evil.example")
        .json(&json!({"email": "f@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "no login CSRF");
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn totp_enrolment_gates_login_and_recovery_codes_work_once() {
    let app = TestApp::spawn().await;
    let s = app.register("g@example.com", "O").await;
    let me = Cred::Session(s.clone());
    let enrol: Value = app
        .send(&me, Method::POST, "/api/v1/auth/mfa/totp", None)
        .await
        .json()
        .await
        .unwrap();
    let secret =
        meetvault_auth::totp::TotpSecret::from_base32(enrol["secret"].as_str().unwrap()).unwrap();
    assert!(
        enrol["otpauth_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/")
    );
    let r = app
        .send(
            &me,
            Method::POST,
            "/api/v1/auth/mfa/totp/confirm",
            Some(json!({"code": "000000"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let code_now = meetvault_auth::totp::code_at(&secret, now());
    let r = app
        .send(
            &me,
            Method::POST,
            "/api/v1/auth/mfa/totp/confirm",
            Some(json!({"code": code_now})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let codes: Vec<String> =
        serde_json::from_value(r.json::<Value>().await.unwrap()["recovery_codes"].clone()).unwrap();
    assert_eq!(codes.len(), 10);

    assert_eq!(
        code(app.login("g@example.com", PASSWORD).await).await.1,
        "mfa_required"
    );
    let with = |body: Value| {
        app.client
            .post(app.url("/api/v1/auth/login"))
            .json(&body)
            .send()
    };
    let next = meetvault_auth::totp::code_at(&secret, now() + 30);
    let r = with(json!({"email": "g@example.com", "password": PASSWORD, "totp_code": next}))
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "the next step's code is within the window"
    );
    let r = with(json!({"email": "g@example.com", "password": PASSWORD, "totp_code": next}))
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "a used code cannot be replayed"
    );
    let r = with(json!({"email": "g@example.com", "password": PASSWORD, "recovery_code": codes[0].to_uppercase()})).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r =
        with(json!({"email": "g@example.com", "password": PASSWORD, "recovery_code": codes[0]}))
            .await
            .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "a recovery code works once"
    );
}

#[tokio::test]
async fn an_org_requiring_mfa_holds_unenrolled_members_to_enrolment_and_role_changes_apply_at_once()
{
    let app = TestApp::spawn().await;
    let owner = app.register("h@example.com", "O").await;
    let admin = app.user_with_role(&owner, "admin").await;
    assert_eq!(
        app.send(
            &Cred::Session(admin.clone()),
            Method::GET,
            "/api/v1/members",
            None
        )
        .await
        .status(),
        StatusCode::OK
    );
    let r = app
        .send(
            &Cred::Session(owner.clone()),
            Method::PATCH,
            &format!("/api/v1/members/{}", admin.user_id),
            Some(json!({"role": "viewer"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        app.send(
            &Cred::Session(admin.clone()),
            Method::GET,
            "/api/v1/members",
            None
        )
        .await
        .status(),
        StatusCode::FORBIDDEN,
        "demotion applies on the next request"
    );
    let r = app
        .send(
            &Cred::Session(owner.clone()),
            Method::PATCH,
            &format!("/api/v1/members/{}", owner.user_id),
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "the last owner stays");

    let r = app
        .send(
            &Cred::Session(owner.clone()),
            Method::PATCH,
            "/api/v1/org",
            Some(json!({"require_mfa": true})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let (status, c) = code(
        app.send(
            &Cred::Session(owner.clone()),
            Method::GET,
            "/api/v1/members",
            None,
        )
        .await,
    )
    .await;
    assert_eq!(
        (status, c.as_str()),
        (StatusCode::FORBIDDEN, "mfa_enrollment_required")
    );
    assert_eq!(
        app.send(
            &Cred::Session(owner.clone()),
            Method::GET,
            "/api/v1/me",
            None
        )
        .await
        .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.send(
            &Cred::Session(owner),
            Method::POST,
            "/api/v1/auth/mfa/totp",
            None
        )
        .await
        .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn api_keys_are_checksummed_shown_once_capped_and_revocable() {
    let app = TestApp::spawn().await;
    let owner = app.register("i@example.com", "O").await;
    let (key, id) = app.api_key(&owner, &["members:manage"]).await;
    assert!(
        key.starts_with("mvk_")
            && key.len() == 4 + 32 + 6
            && key[4..].chars().all(|c| c.is_ascii_alphanumeric()),
        "{key}"
    );
    assert_eq!(
        app.send(
            &Cred::Bearer(key.clone()),
            Method::GET,
            "/api/v1/members",
            None
        )
        .await
        .status(),
        StatusCode::OK
    );
    let mut typo = key.clone().into_bytes();
    typo[10] = if typo[10] == b'a' { b'b' } else { b'a' };
    let typo = String::from_utf8(typo).unwrap();
    assert_eq!(
        app.send(&Cred::Bearer(typo), Method::GET, "/api/v1/members", None)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let list = app
        .send(
            &Cred::Session(owner.clone()),
            Method::GET,
            "/api/v1/api-keys",
            None,
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !list.contains(&key) && list.contains(&key[..12]),
        "listed by prefix, never the secret"
    );
    let member = app.user_with_role(&owner, "member").await;
    let r = app
        .send(
            &Cred::Session(member),
            Method::POST,
            "/api/v1/api-keys",
            Some(json!({"name": "x", "permissions": ["audit:read"]})),
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "members do not manage keys"
    );
    app.send(
        &Cred::Session(owner.clone()),
        Method::DELETE,
        &format!("/api/v1/api-keys/{id}"),
        None,
    )
    .await;
    assert_eq!(
        app.send(&Cred::Bearer(key), Method::GET, "/api/v1/members", None)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_support_key_reads_for_at_most_72_hours_and_every_use_is_audited() {
    let app = TestApp::spawn().await;
    let owner = app.register("j@example.com", "O").await;
    let me = Cred::Session(owner.clone());
    let r = app
        .send(
            &me,
            Method::POST,
            "/api/v1/support-keys",
            Some(json!({"note": "vendor", "expires_in_hours": 73})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = app
        .send(
            &me,
            Method::POST,
            "/api/v1/support-keys",
            Some(json!({"note": "vendor", "expires_in_hours": 72})),
        )
        .await;
    let key = r.json::<Value>().await.unwrap()["key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(key.starts_with("mvs_"));
    let who: Value = app
        .send(&Cred::Bearer(key.clone()), Method::GET, "/api/v1/me", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(who["credential"], "support_key");
    assert_eq!(
        app.send(
            &Cred::Bearer(key.clone()),
            Method::POST,
            "/api/v1/workspaces",
            Some(json!({"name": "no"}))
        )
        .await
        .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.send(
            &Cred::Bearer(key.clone()),
            Method::GET,
            "/api/v1/audit",
            None
        )
        .await
        .status(),
        StatusCode::FORBIDDEN,
        "read-only, and only the user's data"
    );
    let uses = app
        .db()
        .audit_all()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.action == "support_key.use")
        .count();
    assert_eq!(uses, 3);
}
