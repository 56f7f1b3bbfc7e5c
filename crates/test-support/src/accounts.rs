//! Accounts for tests, made through the API as a user would: the first owner by registration,
//! everyone else by invitation; API keys with chosen permissions; and requests made as any of
//! them (session cookie with CSRF token, bearer key, or nothing).

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::TestApp;

/// A password that passes the policy.
pub const PASSWORD: &str = "correct horse battery staple 42";

/// A signed-in browser session.
#[derive(Debug, Clone)]
pub struct Session {
    pub cookie: String,
    pub csrf: String,
    pub user_id: String,
    pub org_id: String,
    pub email: String,
    pub session_id: String,
}

/// How a request authenticates.
#[derive(Debug, Clone)]
pub enum Cred {
    None,
    Session(Session),
    Bearer(String),
}

/// The `field` of a JSON answer, as text (an id, a key): fails the test if it is missing.
pub async fn json_str(r: Response, field: &str) -> String {
    let body: Value = r.json().await.unwrap();
    body[field]
        .as_str()
        .unwrap_or_else(|| panic!("no string `{field}` in {body}"))
        .to_owned()
}

impl TestApp {
    /// Registers `email` (with its own org when allowed) and returns the session.
    pub async fn register(&self, email: &str, org: &str) -> Session {
        let r = self
            .client
            .post(self.url("/api/v1/auth/register"))
            .json(&json!({"email": email, "password": PASSWORD, "name": "Test User", "org_name": org}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::CREATED,
            "register {email}: {}",
            r.text().await.unwrap()
        );
        self.session_from(r, email).await
    }

    /// Reads the session cookie and body of a login, register or accept response.
    pub async fn session_from(&self, r: Response, email: &str) -> Session {
        let name = meetvault_http::auth::session_cookie_name(&self.config);
        let cookie = r
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")))
            .and_then(|v| v.split(';').next())
            .expect("a session cookie")
            .to_owned();
        let body: Value = r.json().await.unwrap();
        Session {
            cookie,
            csrf: body["csrf_token"].as_str().unwrap().to_owned(),
            user_id: body["user"]["id"].as_str().unwrap().to_owned(),
            org_id: body["user"]["org_id"].as_str().unwrap().to_owned(),
            email: email.to_owned(),
            session_id: body["session_id"].as_str().unwrap().to_owned(),
        }
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.client
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap()
    }

    /// A new member of `owner`'s org with `role`, invited and accepted through the API.
    pub async fn user_with_role(&self, owner: &Session, role: &str) -> Session {
        let email = format!("{role}-{}@example.com", uuid::Uuid::new_v4().simple());
        let r = self
            .send(
                &Cred::Session(owner.clone()),
                Method::POST,
                "/api/v1/invitations",
                Some(json!({"email": email, "role": role})),
            )
            .await;
        assert_eq!(
            r.status(),
            StatusCode::CREATED,
            "invite: {}",
            r.text().await.unwrap()
        );
        let token = r.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned();
        let r = self
            .client
            .post(self.url(&format!("/api/v1/invitations/{token}/accept")))
            .json(&json!({"name": "Invited Person", "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::CREATED,
            "accept: {}",
            r.text().await.unwrap()
        );
        self.session_from(r, &email).await
    }

    /// A new API key of `owner` with `permissions`; returns (key, key id).
    pub async fn api_key(&self, owner: &Session, permissions: &[&str]) -> (String, String) {
        let r = self
            .send(
                &Cred::Session(owner.clone()),
                Method::POST,
                "/api/v1/api-keys",
                Some(json!({"name": "test key", "permissions": permissions})),
            )
            .await;
        assert_eq!(
            r.status(),
            StatusCode::CREATED,
            "api key: {}",
            r.text().await.unwrap()
        );
        let body: Value = r.json().await.unwrap();
        (
            body["key"].as_str().unwrap().to_owned(),
            body["id"].as_str().unwrap().to_owned(),
        )
    }

    /// Uploads raw bytes (a recording) as `cred`.
    pub async fn send_bytes(
        &self,
        cred: &Cred,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Response {
        let mut req = self
            .client
            .post(self.url(path))
            .header("content-type", content_type);
        match cred {
            Cred::None => {}
            Cred::Session(s) => {
                req = req
                    .header("cookie", &s.cookie)
                    .header("x-csrf-token", &s.csrf)
            }
            Cred::Bearer(key) => req = req.bearer_auth(key),
        }
        req.body(body).send().await.unwrap()
    }

    /// A request as `cred`. Sessions send their cookie and CSRF token (no Origin).
    pub async fn send(
        &self,
        cred: &Cred,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Response {
        let mut req = self.client.request(method, self.url(path));
        match cred {
            Cred::None => {}
            Cred::Session(s) => {
                req = req
                    .header("cookie", &s.cookie)
                    .header("x-csrf-token", &s.csrf)
            }
            Cred::Bearer(key) => req = req.bearer_auth(key),
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        req.send().await.unwrap()
    }
}
