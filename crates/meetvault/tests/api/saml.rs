//! SAML 2.0 sign-in for an org against a real identity provider: pysaml2 (signing with
//! xmlsec1, from scripts/saml-tools.sh) reads meetvault's SP metadata and AuthnRequest and
//! answers with a signed response, which the browser posts to meetvault's assertion consumer.
//! The response must answer the browser's own request, be signed by the imported metadata's
//! key, and be fresh; the org's IdP is trusted for the org's own domains only.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use meetvault_test_support::idp::Browser;
use meetvault_test_support::{Cred, Session, TestApp};
use reqwest::{Method, StatusCode, Url};
use serde_json::{Value, json};

use crate::sso::PUBLIC;
const LOGIN_COOKIE: &str = "__Host-mv_saml";
const SESSION_COOKIE: &str = "__Host-mv_session";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A python with pysaml2 (`SAML_PYTHON`, or what scripts/saml-tools.sh installs).
fn python() -> &'static Path {
    static PY: OnceLock<PathBuf> = OnceLock::new();
    PY.get_or_init(|| {
        if let Some(p) = std::env::var_os("SAML_PYTHON") {
            return PathBuf::from(p);
        }
        let out = Command::new("bash")
            .arg(repo().join("scripts/saml-tools.sh"))
            .output()
            .expect("bash");
        assert!(
            out.status.success(),
            "scripts/saml-tools.sh failed (it installs xmlsec1 and pysaml2):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    })
}

/// Runs the test IdP (crates/saml/tests/idp.py) in `dir`.
fn idp(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(python())
        .arg(repo().join("crates/saml/tests/idp.py"))
        .args(args)
        .arg("--dir")
        .arg(dir)
        .output()
        .expect("python");
    assert!(
        out.status.success(),
        "idp.py {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

async fn setup() -> (TestApp, Session, tempfile::TempDir) {
    let (app, owner) = crate::sso::acme(|_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    idp(dir.path(), &["metadata"]);
    (app, owner, dir)
}

async fn call(
    app: &TestApp,
    who: &Session,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let r = app
        .send(&Cred::Session(who.clone()), method, path, body)
        .await;
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Starts a sign-in for `org` in `browser`: the AuthnRequest (its `SAMLRequest`).
async fn start(app: &TestApp, browser: &mut Browser, org: &str) -> String {
    let url = Url::parse(&app.url(&format!(
        "/api/v1/auth/saml/{org}/start?return_to=/meetings"
    )))
    .unwrap();
    let page = browser.get(&url).await;
    assert_eq!(page.status, 303, "{}", page.body);
    let cookie = page
        .set_cookies
        .iter()
        .find(|c| c.starts_with(LOGIN_COOKIE))
        .unwrap();
    assert!(
        cookie.contains("SameSite=None")
            && cookie.contains("Secure")
            && cookie.contains("HttpOnly")
    );
    let to = page.location.unwrap();
    assert!(
        to.as_str().starts_with("https://idp.test.invalid/sso?"),
        "{to}"
    );
    to.query_pairs()
        .find(|(k, _)| k == "SAMLRequest")
        .unwrap()
        .1
        .into_owned()
}

/// The IdP's signed answer to `request` for `email` (its NameID and mail attribute).
fn respond(dir: &Path, request: &str, email: &str, name: &str, role: Option<&str>) -> String {
    let sp = dir.join("sp.xml");
    let mut identity = json!({"mail": [email], "displayName": [name]});
    if let Some(r) = role {
        identity["role"] = json!([r]);
    }
    idp(
        dir,
        &[
            "respond",
            "--sp-metadata",
            sp.to_str().unwrap(),
            "--request",
            request,
            "--name-id",
            email,
            "--identity",
            &identity.to_string(),
            "--sign-alg",
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            "--digest-alg",
            "http://www.w3.org/2001/04/xmlenc#sha256",
        ],
    )
}

/// pysaml2's default answer: signed with SHA-1.
fn respond_sha1(dir: &Path, request: &str, email: &str) -> String {
    let sp = dir.join("sp.xml");
    let identity = json!({"mail": [email]});
    idp(
        dir,
        &[
            "respond",
            "--sp-metadata",
            sp.to_str().unwrap(),
            "--request",
            request,
            "--name-id",
            email,
            "--identity",
            &identity.to_string(),
        ],
    )
}

async fn post_acs(
    app: &TestApp,
    browser: &mut Browser,
    org: &str,
    response: &str,
) -> meetvault_test_support::idp::Page {
    let url = Url::parse(&app.url(&format!("/api/v1/auth/saml/{org}/acs"))).unwrap();
    browser
        .post_form(&url, &[("SAMLResponse", response), ("RelayState", "")])
        .await
}

#[tokio::test]
async fn an_org_signs_in_with_its_saml_idp_and_forged_replayed_or_foreign_answers_are_refused() {
    let (app, owner, dir) = setup().await;
    let org = owner.org_id.clone();

    // Not set up: no metadata, no sign-in.
    let r = app.get(&format!("/api/v1/auth/saml/{org}/metadata")).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let (status, _) = call(
        &app,
        &owner,
        Method::PUT,
        "/api/v1/org/sso/saml",
        Some(json!({"idp_metadata": "<not xml"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // The IdP's metadata imported; meetvault's own handed to the IdP.
    let metadata = std::fs::read_to_string(dir.path().join("idp-metadata.xml")).unwrap();
    let (status, saml) = call(
        &app,
        &owner,
        Method::PUT,
        "/api/v1/org/sso/saml",
        Some(json!({"idp_metadata": metadata})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{saml}");
    assert_eq!(saml["idp_entity_id"], "https://idp.test.invalid/metadata");
    assert_eq!(
        saml["sp_acs_url"],
        format!("{PUBLIC}/api/v1/auth/saml/{org}/acs")
    );
    let r = app.get(&format!("/api/v1/auth/saml/{org}/metadata")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/samlmetadata+xml");
    std::fs::write(dir.path().join("sp.xml"), r.text().await.unwrap()).unwrap();
    let (status, _) = call(
        &app,
        &owner,
        Method::PUT,
        "/api/v1/org/sso",
        Some(json!({"jit": true, "default_role": "viewer"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // An IdP still signing with SHA-1 is told what to change.
    let mut browser = Browser::new();
    let request = start(&app, &mut browser, &org).await;
    let page = post_acs(
        &app,
        &mut browser,
        &org,
        &respond_sha1(dir.path(), &request, "ada@acme.example"),
    )
    .await;
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(page.body.contains("use SHA-256"), "{}", page.body);

    // Ada signs in: her account is made (the IdP's role attribute names "member").
    let mut browser = Browser::new();
    let request = start(&app, &mut browser, &org).await;
    let answer = respond(
        dir.path(),
        &request,
        "ada@acme.example",
        "Ada Lovelace",
        Some("member"),
    );
    let page = post_acs(&app, &mut browser, &org, &answer).await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert_eq!(page.location.unwrap().path(), "/meetings");
    let session = browser.cookie(SESSION_COOKIE).unwrap().to_owned();
    let me: Value = app
        .client
        .get(app.url("/api/v1/me"))
        .header("cookie", format!("{SESSION_COOKIE}={session}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["user"]["email"], "ada@acme.example");
    assert_eq!(me["user"]["role"], "member");

    // The same response again (the cookie put back): a replay.
    let mut again = Browser::new();
    let _ = start(&app, &mut again, &org).await;
    let page = post_acs(&app, &mut again, &org, &answer).await;
    assert_eq!(page.status, 403, "{}", page.body);
    // A response to another browser's request (login CSRF): not this browser's request.
    let mut victim = Browser::new();
    let _ = start(&app, &mut victim, &org).await;
    let mut attacker = Browser::new();
    let request = start(&app, &mut attacker, &org).await;
    let forged = respond(dir.path(), &request, "ada@acme.example", "Ada", None);
    let page = post_acs(&app, &mut victim, &org, &forged).await;
    assert_eq!(page.status, 403, "{}", page.body);
    // No cookie at all.
    let page = post_acs(&app, &mut Browser::new(), &org, &forged).await;
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(page.body.contains("cookie is missing"), "{}", page.body);

    // A byte changed after signing.
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut browser = Browser::new();
    let request = start(&app, &mut browser, &org).await;
    let answer = respond(dir.path(), &request, "bea@acme.example", "Bea", None);
    let xml = String::from_utf8(b64.decode(&answer).unwrap()).unwrap();
    let tampered = b64.encode(xml.replace("bea@acme.example", "boss@acme.example"));
    let page = post_acs(&app, &mut browser, &org, &tampered).await;
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(page.body.contains("refused"), "{}", page.body);

    // The org's IdP is trusted for the org's domains only.
    let mut browser = Browser::new();
    let request = start(&app, &mut browser, &org).await;
    let answer = respond(dir.path(), &request, "ceo@rival.example", "CEO", None);
    let page = post_acs(&app, &mut browser, &org, &answer).await;
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(
        page.body.contains("outside this organization"),
        "{}",
        page.body
    );
    // And it never signs in as the owner.
    let mut browser = Browser::new();
    let request = start(&app, &mut browser, &org).await;
    let answer = respond(dir.path(), &request, "owner@acme.example", "Owner", None);
    let page = post_acs(&app, &mut browser, &org, &answer).await;
    assert_eq!(page.status, 403, "{}", page.body);

    let (status, _) = call(&app, &owner, Method::DELETE, "/api/v1/org/sso/saml", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let r = app.get(&format!("/api/v1/auth/saml/{org}/metadata")).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}
