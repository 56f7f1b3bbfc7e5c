//! Signing in with a real OpenID Provider (npm's `oidc-provider` on 127.0.0.1, reached
//! through the outbound allow-list): the backend redirect with a browser-bound state, the code
//! exchanged by the server, the ID token verified; just-in-time accounts for the domain the
//! operator gave an org, a verified email linking an existing member of that org, and every
//! refusal — an unverified email, an unknown person, an owner or an account of another org
//! with the same address (never linked), a callback in another browser or without its
//! cookie, a replayed code — audited and saying what to do; an org that requires SSO refuses
//! its members' passwords but lets an owner in through the audited break-glass path.

use meetvault_test_support::idp::{Browser, OidcProvider};
use meetvault_test_support::{Cred, PASSWORD, Session, TestApp};
use reqwest::Url;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

pub(crate) const PUBLIC: &str = "https://vault.example.test";
const CALLBACK: &str = "https://vault.example.test/api/v1/auth/sso/acme-idp/callback";
const LOGIN_COOKIE: &str = "__Host-mv_sso";
const SESSION_COOKIE: &str = "__Host-mv_session";

async fn setup() -> (TestApp, OidcProvider, Session) {
    let accounts = json!({
        "ada": {"email": "ada@acme.example", "email_verified": true, "name": "Ada Lovelace"},
        "owner": {"email": "owner@acme.example", "email_verified": true, "name": "Olga Owner"},
        "mia": {"email": "mia@acme.example", "email_verified": true, "name": "Mia Member"},
        "planted": {"email": "planted@acme.example", "email_verified": true, "name": "Planted"},
        "eve": {"email": "eve@acme.example", "email_verified": false, "name": "Eve Unverified"},
        "stranger": {"email": "sam@elsewhere.example", "email_verified": true, "name": "Sam"},
    });
    let idp = OidcProvider::start("meetvault", "idp-client-secret-value", CALLBACK, &accounts);
    let issuer = idp.issuer.clone();
    let (app, owner) = acme(|c| {
        c.outbound.allow_hosts = vec!["127.0.0.1/32".into()];
        c.sso.oidc = vec![meetvault_config::OidcProviderConfig {
            id: "acme-idp".into(),
            name: "Acme IdP".into(),
            kind: meetvault_config::OidcKind::Generic,
            issuer: Some(issuer.parse().unwrap()),
            tenant: None,
            allowed_tenants: Vec::new(),
            client_id: "meetvault".into(),
            client_secret: meetvault_config::Secret::new("idp-client-secret-value"),
        }];
    })
    .await;
    (app, idp, owner)
}

/// An instance at [`PUBLIC`] (open registration, `adjust` applied) whose first org, Acme
/// (owner@acme.example), the operator gave the domain acme.example — set with a restart, as
/// the org's id is known only once it exists.
pub(crate) async fn acme(adjust: impl FnOnce(&mut meetvault_config::Config)) -> (TestApp, Session) {
    let first = TestApp::spawn_with(|c| {
        c.auth.open_registration = true;
        c.server.public_url = Some(PUBLIC.parse().unwrap());
        c.server.allowed_hosts = vec!["127.0.0.1".into()];
        adjust(c);
    })
    .await;
    let owner = first.register("owner@acme.example", "Acme").await;
    let org = owner.org_id.clone();
    let app = first
        .spawn_sibling(|c| {
            c.sso.domains = vec![meetvault_config::SsoDomainConfig {
                domain: "acme.example".into(),
                org,
            }]
        })
        .await;
    first.shutdown().await.unwrap();
    (app, owner)
}

/// Invites `email` into `by`'s org as a member and accepts it with a password.
async fn member(app: &TestApp, by: &Session, email: &str) {
    let r = app
        .send(
            &Cred::Session(by.clone()),
            Method::POST,
            "/api/v1/invitations",
            Some(json!({"email": email, "role": "member"})),
        )
        .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let token = r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .client
        .post(app.url(&format!("/api/v1/invitations/{token}/accept")))
        .json(&json!({"name": "Invited", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
}

/// The callback the provider sent the browser to, at this test's server.
fn at_app(app: &TestApp, callback: &Url) -> Url {
    let path = callback.as_str().strip_prefix(PUBLIC).unwrap();
    Url::parse(&app.url(path)).unwrap()
}

/// Starts a sign-in in `browser` and signs in at the provider as `account`: the callback
/// URL (not yet visited).
async fn to_callback(app: &TestApp, browser: &mut Browser, account: &str) -> Url {
    to_callback_at(app, browser, account, "acme-idp", CALLBACK).await
}

/// [`to_callback`] at provider `id`, whose callback is `callback`.
async fn to_callback_at(
    app: &TestApp,
    browser: &mut Browser,
    account: &str,
    id: &str,
    callback: &str,
) -> Url {
    let start =
        Url::parse(&app.url(&format!("/api/v1/auth/sso/{id}/start?return_to=/meetings"))).unwrap();
    let page = browser.get(&start).await;
    assert_eq!(page.status, 303, "{}", page.body);
    let login = page
        .set_cookies
        .iter()
        .find(|c| c.starts_with(LOGIN_COOKIE))
        .expect("the login cookie");
    assert!(
        login.contains("HttpOnly") && login.contains("Secure") && login.contains("SameSite=Lax")
    );
    let authorize = page.location.unwrap();
    assert!(
        authorize
            .as_str()
            .starts_with(&format!("{}/", &app_issuer(&authorize)))
    );
    let q: Vec<(String, String)> = authorize.query_pairs().into_owned().collect();
    for p in ["state", "nonce", "code_challenge"] {
        assert!(q.iter().any(|(k, _)| k == p), "{p} missing: {authorize}");
    }
    assert!(q.contains(&("code_challenge_method".into(), "S256".into())));
    assert!(
        !authorize.as_str().contains("idp-client-secret-value"),
        "the client secret reached the browser"
    );
    let back = browser
        .sign_in_at_provider(&authorize, account, callback)
        .await;
    at_app(app, &back)
}

fn app_issuer(u: &Url) -> String {
    format!("{}://{}", u.scheme(), u.host_str().unwrap())
        + &u.port().map(|p| format!(":{p}")).unwrap_or_default()
}

/// A whole sign-in as `account`: the callback's answer, and the browser.
async fn sign_in(app: &TestApp, account: &str) -> (meetvault_test_support::idp::Page, Browser) {
    let mut browser = Browser::new();
    let callback = to_callback(app, &mut browser, account).await;
    let page = browser.get(&callback).await;
    (page, browser)
}

async fn me(app: &TestApp, browser: &Browser) -> Value {
    let cookie = browser.cookie(SESSION_COOKIE).expect("a session cookie");
    let r = app
        .client
        .get(app.url("/api/v1/me"))
        .header("cookie", format!("{SESSION_COOKIE}={cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json::<Value>().await.unwrap()["user"].clone()
}

async fn audit_actions(app: &TestApp, owner: &Session, action: &str) -> Vec<Value> {
    let v: Value = app
        .send(
            &Cred::Session(owner.clone()),
            Method::GET,
            &format!("/api/v1/audit?action={action}"),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    v["entries"].as_array().unwrap().clone()
}

async fn put_sso(app: &TestApp, owner: &Session, body: Value) -> (StatusCode, Value) {
    let r = app
        .send(
            &Cred::Session(owner.clone()),
            Method::PUT,
            "/api/v1/org/sso",
            Some(body),
        )
        .await;
    (r.status(), r.json().await.unwrap())
}

#[tokio::test]
async fn people_sign_in_with_the_companys_provider_and_every_refusal_says_what_to_do() {
    let (app, _idp, owner) = setup().await;
    let listed: Value = app.get("/api/v1/auth/sso").await.json().await.unwrap();
    assert_eq!(
        listed["data"],
        json!([{"id": "acme-idp", "name": "Acme IdP"}])
    );

    // Nobody of the domain has an account yet and the org makes none at first sign-in.
    let (page, _) = sign_in(&app, "ada").await;
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(
        page.body.contains("ask your organization's admin"),
        "{}",
        page.body
    );

    // Domains are the operator's, not an admin's to claim; the owner role is never given
    // just in time.
    let (status, body) = put_sso(
        &app,
        &owner,
        json!({"domains": ["evil.example"], "jit": true}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = put_sso(&app, &owner, json!({"jit": true, "default_role": "owner"})).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "owner just in time: {body}"
    );
    let (status, body) =
        put_sso(&app, &owner, json!({"jit": true, "default_role": "viewer"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["domains"], json!(["acme.example"]));
    assert_eq!(body["providers"], json!(["acme-idp"]));

    // Ada's first sign-in makes her account (a viewer), then sends her where she started.
    let (page, browser) = sign_in(&app, "ada").await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.location.unwrap().path(), "/meetings");
    assert!(
        page.set_cookies
            .iter()
            .any(|c| c.starts_with(&format!("{LOGIN_COOKIE}=;"))),
        "the login cookie is cleared: {:?}",
        page.set_cookies
    );
    let ada = me(&app, &browser).await;
    assert_eq!(ada["email"], "ada@acme.example");
    assert_eq!(ada["name"], "Ada Lovelace");
    assert_eq!(ada["role"], "viewer");
    assert_eq!(ada["org_id"], owner.org_id.as_str());
    // Her second is the same account.
    let (page, browser) = sign_in(&app, "ada").await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(me(&app, &browser).await["id"], ada["id"]);
    // She sees the identity linked to her account, and can unlink it (audited).
    let created: Value = serde_json::from_str(&page.body).unwrap();
    let ada_session = Session {
        cookie: format!(
            "{SESSION_COOKIE}={}",
            browser.cookie(SESSION_COOKIE).unwrap()
        ),
        csrf: created["csrf_token"].as_str().unwrap().to_owned(),
        user_id: created["user"]["id"].as_str().unwrap().to_owned(),
        org_id: created["user"]["org_id"].as_str().unwrap().to_owned(),
        email: "ada@acme.example".into(),
        session_id: created["session_id"].as_str().unwrap().to_owned(),
    };
    let ada_cred = Cred::Session(ada_session);
    let listed: Value = app
        .send(&ada_cred, Method::GET, "/api/v1/me/identities", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["data"].as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed["data"][0]["provider"], "acme-idp");
    assert_eq!(listed["data"][0]["subject"], "ada");
    let r = app
        .send(
            &ada_cred,
            Method::DELETE,
            "/api/v1/me/identities/acme-idp",
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = app
        .send(
            &ada_cred,
            Method::DELETE,
            "/api/v1/me/identities/acme-idp",
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let listed: Value = app
        .send(&ada_cred, Method::GET, "/api/v1/me/identities", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["data"], json!([]));
    // Unlinked, her next sign-in goes by the first-sign-in rules: her verified address in
    // her org's domain links it again.
    let (page, browser) = sign_in(&app, "ada").await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(me(&app, &browser).await["id"], ada["id"]);

    // A member's verified email links the provider to their existing account.
    member(&app, &owner, "mia@acme.example").await;
    let (page, browser) = sign_in(&app, "mia").await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(me(&app, &browser).await["email"], "mia@acme.example");
    // An owner's account is never linked by email alone.
    let (page, _) = sign_in(&app, "owner").await;
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(
        page.body.contains("sign in with your password"),
        "{}",
        page.body
    );
    // Nor is an account another org made with an address of this domain (its address was
    // never verified): the provider's person does not land in that org.
    let mallory = app.register("mallory@evil.example", "Evil").await;
    member(&app, &mallory, "planted@acme.example").await;
    let (page, _) = sign_in(&app, "planted").await;
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(page.body.contains("cannot be linked"), "{}", page.body);

    // An email the provider did not verify links and makes nothing.
    let (page, _) = sign_in(&app, "eve").await;
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(page.body.contains("verified"), "{}", page.body);
    let (page, _) = sign_in(&app, "stranger").await;
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(
        page.body
            .contains("no meetvault account uses sam@elsewhere.example"),
        "{}",
        page.body
    );

    // A callback arriving in another browser (login CSRF) or without the cookie is refused.
    let mut victim = Browser::new();
    let mut attacker = Browser::new();
    let callback = to_callback(&app, &mut attacker, "ada").await;
    let started = Url::parse(&app.url("/api/v1/auth/sso/acme-idp/start")).unwrap();
    assert_eq!(victim.get(&started).await.status, 303);
    let page = victim.get(&callback).await;
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(page.body.contains("another browser"), "{}", page.body);
    let page = Browser::new().get(&callback).await;
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(page.body.contains("cookie is missing"), "{}", page.body);
    // The same callback in the right browser works once, and clears the login cookie; a
    // replay of its code, even with that cookie put back, does not.
    let login = attacker.cookie(LOGIN_COOKIE).unwrap().to_owned();
    let page = attacker.get(&callback).await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert!(attacker.cookie(LOGIN_COOKIE).is_none());
    attacker.set_cookie(LOGIN_COOKIE, &login);
    let page = attacker.get(&callback).await;
    assert_eq!(page.status, 403, "a replayed code: {}", page.body);
    assert!(!page.body.contains("idp-client-secret-value"));
    assert!(page.body.contains("used already"), "{}", page.body);

    // A tampered state, and a return_to that leaves the site.
    let mut tampered = callback.clone();
    let pairs: Vec<(String, String)> = callback
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "state" {
                format!("x{}", &v[1..])
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    tampered.query_pairs_mut().clear().extend_pairs(pairs);
    assert_eq!(attacker.get(&tampered).await.status, 403);
    let away =
        Url::parse(&app.url("/api/v1/auth/sso/acme-idp/start?return_to=//evil.example/")).unwrap();
    assert_eq!(Browser::new().get(&away).await.status, 422);
    let unknown = Url::parse(&app.url("/api/v1/auth/sso/nobody/start")).unwrap();
    assert_eq!(Browser::new().get(&unknown).await.status, 404);

    // All of it is in the audit log.
    assert_eq!(
        audit_actions(&app, &owner, "auth.sso_provision")
            .await
            .len(),
        1
    );
    // Mia's link, and Ada's again after she unlinked.
    assert_eq!(audit_actions(&app, &owner, "auth.sso_link").await.len(), 2);
    assert_eq!(
        audit_actions(&app, &owner, "auth.sso_unlink").await.len(),
        1
    );
    let logins = audit_actions(&app, &owner, "auth.sso_login").await;
    assert!(
        logins.iter().filter(|e| e["outcome"] == "success").count() >= 4,
        "{logins:#?}"
    );
    assert_eq!(audit_actions(&app, &owner, "org.sso_update").await.len(), 1);
    let refusals = audit_actions(&app, &owner, "auth.sso_login").await;
    assert!(
        refusals.iter().any(|e| e["reason"] == "protected_account"),
        "{refusals:#?}"
    );
}

#[tokio::test]
async fn an_org_that_requires_sso_refuses_member_passwords_and_audits_the_owners_break_glass() {
    let (app, _idp, owner) = setup().await;
    let member = app.user_with_role(&owner, "member").await;
    assert_eq!(
        app.login(&member.email, PASSWORD).await.status(),
        StatusCode::OK
    );
    let (status, body) = put_sso(&app, &owner, json!({"require_sso": true})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["require_sso"], true);

    let r = app.login(&member.email, PASSWORD).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let text = r.text().await.unwrap();
    assert!(text.contains("single sign-on"), "{text}");
    // A wrong password still says only that (nothing about SSO to a guesser).
    let r = app.login(&member.email, "wrong password entirely 99").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // The owner's password still works — audited as a break-glass login.
    assert_eq!(
        app.login("owner@acme.example", PASSWORD).await.status(),
        StatusCode::OK
    );
    let glass = audit_actions(&app, &owner, "auth.break_glass").await;
    assert_eq!(glass.len(), 1, "{glass:#?}");
    let refused: Vec<Value> = audit_actions(&app, &owner, "auth.login")
        .await
        .into_iter()
        .filter(|e| e["reason"] == "sso_required")
        .collect();
    assert_eq!(refused.len(), 1);
    // A crafted callback's own words are never shown.
    let crafted = Url::parse(&app.url(
        "/api/v1/auth/sso/acme-idp/callback?error=access_denied&error_description=Call+Quokka+helpdesk&state=x",
    ))
    .unwrap();
    let page = Browser::new().get(&crafted).await;
    assert_eq!(page.status, 403);
    // (A word no request id, which is hex, can hold.)
    assert!(!page.body.contains("Quokka"), "{}", page.body);

    // Callbacks are counted before any work: a flood of them from one address is cut off
    // (six times the login budget: 60 in 300 s here).
    let mut codes = Vec::new();
    for _ in 0..62 {
        codes.push(Browser::new().get(&crafted).await.status);
    }
    assert!(codes[..58].iter().all(|c| *c == 403), "{codes:?}");
    assert_eq!(codes.last(), Some(&429), "{codes:?}");

    // A viewer cannot change the settings.
    let viewer = app.user_with_role(&owner, "viewer").await;
    let (status, _) = put_sso(&app, &viewer, json!({"require_sso": false})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_org_signs_its_people_in_through_its_own_provider_for_its_domains_only() {
    let (app, owner) = acme(|c| c.outbound.allow_hosts = vec!["127.0.0.1/32".into()]).await;
    let id = format!("org-{}", owner.org_id.strip_prefix("org_").unwrap());
    let callback = format!("{PUBLIC}/api/v1/auth/sso/{id}/callback");
    let accounts = json!({
        "ada": {"email": "ada@acme.example", "email_verified": true, "name": "Ada Lovelace"},
        "stranger": {"email": "sam@elsewhere.example", "email_verified": true, "name": "Sam"},
    });
    let idp = OidcProvider::start("acme-own", "own-client-secret-value", &callback, &accounts);
    let put = |body: Value| {
        let app = &app;
        let owner = owner.clone();
        async move {
            let r = app
                .send(
                    &Cred::Session(owner),
                    Method::PUT,
                    "/api/v1/org/sso/oidc",
                    Some(body),
                )
                .await;
            (r.status(), r.text().await.unwrap())
        }
    };
    // The first save needs its secret; a bad kind or issuer is named.
    let (status, _) =
        put(json!({"name": "Acme IdP", "issuer": idp.issuer, "client_id": "acme-own"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = put(json!({"name": "Acme IdP", "kind": "okta", "issuer": idp.issuer, "client_id": "acme-own", "client_secret": "x"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, body) = put(json!({"name": "Acme IdP", "issuer": "ftp://idp.example", "client_id": "acme-own", "client_secret": "x"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = put(json!({
        "name": "Acme IdP", "issuer": idp.issuer, "client_id": "acme-own",
        "client_secret": "own-client-secret-value",
    }))
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(!body.contains("own-client-secret-value"), "{body}");
    let saved: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(saved["provider_id"], id.as_str());
    assert_eq!(saved["redirect_uri"], callback.as_str());
    // Saved again without the secret: the stored one is kept.
    let (status, _) =
        put(json!({"name": "Acme sign-in", "issuer": idp.issuer, "client_id": "acme-own"})).await;
    assert_eq!(status, StatusCode::OK);
    let r = app
        .send(
            &Cred::Session(owner.clone()),
            Method::GET,
            "/api/v1/org/sso/oidc",
            None,
        )
        .await;
    let got: Value = r.json().await.unwrap();
    assert_eq!(got["name"], "Acme sign-in");
    // Not offered on everyone's sign-in page: the org hands out its start URL.
    let listed: Value = app.get("/api/v1/auth/sso").await.json().await.unwrap();
    assert!(!listed.to_string().contains(&id));
    put_sso(&app, &owner, json!({"jit": true, "default_role": "member"})).await;

    // Ada of acme.example signs in and gets an account in the org.
    let mut browser = Browser::new();
    let back = to_callback_at(&app, &mut browser, "ada", &id, &callback).await;
    let page = browser.get(&back).await;
    assert_eq!(page.status, 303, "{}", page.body);
    let ada = me(&app, &browser).await;
    assert_eq!(ada["email"], "ada@acme.example");
    assert_eq!(ada["org_id"], owner.org_id.as_str());
    assert_eq!(
        audit_actions(&app, &owner, "auth.sso_provision")
            .await
            .len(),
        1
    );
    // Someone of another domain is refused, though the provider vouches for them.
    let mut browser = Browser::new();
    let back = to_callback_at(&app, &mut browser, "stranger", &id, &callback).await;
    let page = browser.get(&back).await;
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(page.body.contains("sign-in domains"), "{}", page.body);
    // Another org's provider id, and a removed one, are unknown.
    let r = app
        .get(&format!("/api/v1/auth/sso/org-{}/start", "0".repeat(32)))
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = app
        .send(
            &Cred::Session(owner.clone()),
            Method::DELETE,
            "/api/v1/org/sso/oidc",
            None,
        )
        .await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = app.get(&format!("/api/v1/auth/sso/{id}/start")).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(audit_actions(&app, &owner, "org.sso_update").await.len(), 4);
}

/// The dashboard's sign-in page offers the provider as a button; following it (as a browser
/// does: the link, the provider's pages, the callback) signs the person in and lands on the
/// page they asked for, now shown to them.
#[tokio::test]
async fn the_dashboards_sign_in_button_signs_people_in_and_back_to_their_page() {
    let (app, _idp, owner) = setup().await;
    let (status, body) =
        put_sso(&app, &owner, json!({"jit": true, "default_role": "member"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut browser = Browser::new();
    // Asking for a page signed out: to the sign-in page, which comes back to it.
    let asked = browser
        .get(&Url::parse(&app.url("/settings")).unwrap())
        .await;
    assert_eq!(asked.status, 303);
    let login_page = asked.location.unwrap();
    assert_eq!(login_page.as_str(), app.url("/login?next=%2Fsettings"));
    let page = browser.get(&login_page).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains(">Sign in with Acme IdP</a>"),
        "{}",
        page.body
    );
    let at = page.body.find("href=\"/api/v1/auth/sso/").unwrap() + "href=\"".len();
    let href = &page.body[at..at + page.body[at..].find('"').unwrap()];
    assert_eq!(
        href,
        "/api/v1/auth/sso/acme-idp/start?return_to=%2Fsettings"
    );
    let start = browser.get(&login_page.join(href).unwrap()).await;
    assert_eq!(start.status, 303, "{}", start.body);
    let back = browser
        .sign_in_at_provider(&start.location.unwrap(), "mia", CALLBACK)
        .await;
    let page = browser.get(&at_app(&app, &back)).await;
    assert_eq!(page.status, 303, "{}", page.body);
    let landed = page.location.unwrap();
    assert_eq!(landed.path(), "/settings");
    let settings = browser.get(&landed).await;
    assert_eq!(settings.status, 200, "{}", settings.body);
    assert!(
        settings.body.contains("mia@acme.example") && settings.body.contains("Sign out"),
        "{}",
        settings.body
    );
    // Her linked sign-in is listed on that page, with the way to unlink it.
    assert!(
        settings
            .body
            .contains("data-api=\"/api/v1/me/identities/acme-idp\" data-method=\"DELETE\""),
        "{}",
        settings.body
    );
}
