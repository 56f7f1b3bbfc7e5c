//! Connecting an integration by consent (OAuth 2.0 with PKCE) through the API, against the
//! providers' loopback fakes: the authorization URL, the code traded once by who started, the
//! Salesforce instance, Notion's long-lived token, and the refusals.

use meetvault_integrations::Kind;
use meetvault_integrations::fake::Fake;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::integrations::{NOTION_PARENT, app_with};
use crate::webhooks::call;

#[tokio::test]
async fn connecting_by_consent_trades_the_code_once_and_keeps_nothing_secret_in_the_answer() {
    let drive = Fake::start(Kind::GoogleDrive).await.unwrap();
    let salesforce = Fake::start(Kind::Salesforce).await.unwrap();
    let notion = Fake::start(Kind::Notion).await.unwrap();
    let app = app_with(
        &[
            ("google_drive", &drive),
            ("salesforce", &salesforce),
            ("notion", &notion),
        ],
        |c| {
            c.server.public_url = Some("https://meetvault.example".parse().unwrap());
            c.server.allowed_hosts = vec!["127.0.0.1".into()];
        },
    )
    .await;
    let owner = app.register("owner@example.com", "Acme").await;
    let start = |body: Value| {
        let app = &app;
        let owner = &owner;
        async move {
            let (status, v) = call(
                app,
                owner,
                Method::POST,
                "/api/v1/integrations/oauth",
                Some(body),
            )
            .await;
            assert_eq!(status, StatusCode::CREATED, "{v}");
            v["authorization_url"].as_str().unwrap().to_owned()
        }
    };
    let finish = |query: String| {
        let app = &app;
        let owner = &owner;
        async move {
            call(
                app,
                owner,
                Method::GET,
                &format!("/api/v1/integrations/oauth/callback?{query}"),
                None,
            )
            .await
        }
    };

    // Google Drive: PKCE, offline access, the narrow scope, the registered redirect URI.
    let url = start(
        json!({"provider": "google_drive", "base_url": drive.base_url().as_str(),
                           "destination": "1FolderAbcXyz_0"}),
    )
    .await;
    let parsed = reqwest::Url::parse(&url).unwrap();
    let q: std::collections::HashMap<String, String> = parsed.query_pairs().into_owned().collect();
    assert_eq!(
        q["redirect_uri"],
        "https://meetvault.example/api/v1/integrations/oauth/callback"
    );
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["scope"], "https://www.googleapis.com/auth/drive.file");
    assert_eq!(q["access_type"], "offline");
    assert_eq!(q["client_id"], meetvault_integrations::fake::CLIENT_ID);
    assert!(!url.contains(meetvault_integrations::fake::CLIENT_SECRET));
    let (code, state) = drive.consent(&url).await.unwrap();
    let (status, v) = finish(format!("state={state}&code={code}&scope=drive.file")).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["provider"], "google_drive");
    assert_eq!(v["credential"]["type"], "oauth");
    assert!(v["credential"]["expires_at"].is_string());
    assert!(!v.to_string().contains("CANARY"), "{v}");
    let exchange = &drive.requests_to("/oauth/token")[0];
    assert_eq!(exchange.body["grant_type"], "authorization_code");
    assert_eq!(
        meetvault_calendar::oauth::challenge_of(exchange.body["code_verifier"].as_str().unwrap()),
        q["code_challenge"],
        "the verifier matches the challenge"
    );
    // The state is good once.
    let (status, v) = finish(format!("state={state}&code={code}")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.to_string().contains("state"), "{v}");

    // Salesforce: the API is where the token answer says.
    let url = start(json!({"provider": "salesforce"})).await;
    let (code, state) = salesforce.consent(&url).await.unwrap();
    let (status, v) = finish(format!("state={state}&code={code}")).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["base_url"], salesforce.base_url().as_str());

    // Notion: Basic client authentication, and a token that does not expire.
    let url = start(
        json!({"provider": "notion", "base_url": notion.base_url().as_str(),
                           "destination": NOTION_PARENT}),
    )
    .await;
    let (code, state) = notion.consent(&url).await.unwrap();
    let (status, v) = finish(format!("state={state}&code={code}")).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["credential"]["type"], "token");
    let exchange = &notion.requests_to("/v1/oauth/token")[0];
    assert!(
        exchange
            .header("authorization")
            .unwrap()
            .starts_with("Basic ")
    );

    // A declined consent, a state someone made up, a provider with no app: clear refusals,
    // nothing connected.
    let url = start(
        json!({"provider": "google_drive", "base_url": drive.base_url().as_str(),
                           "destination": "1FolderAbcXyz_0"}),
    )
    .await;
    let (_, state) = drive.consent(&url).await.unwrap();
    let (status, v) = finish(format!("state={state}&error=access_denied")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.to_string().contains("access_denied"), "{v}");
    let (status, _) = finish("state=made-up&code=x".into()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, v) = call(
        &app,
        &owner,
        Method::POST,
        "/api/v1/integrations/oauth",
        Some(json!({"provider": "hubspot"})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{v}");
    assert!(v.to_string().contains("integrations.oauth.hubspot"), "{v}");
    let (_, list) = call(&app, &owner, Method::GET, "/api/v1/integrations", None).await;
    assert_eq!(list["integrations"].as_array().unwrap().len(), 3);
}
