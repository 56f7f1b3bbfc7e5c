//! A minimal browser for the login pages of the test provider: follows nothing by itself,
//! keeps cookies (by name and path), and refuses to talk to anything but 127.0.0.1.

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use url::Url;

pub struct Browser {
    client: reqwest::Client,
    cookies: Vec<Cookie>,
}

struct Cookie {
    name: String,
    value: String,
    path: String,
}

#[derive(Debug)]
pub struct Page {
    pub status: u16,
    /// The redirect target, resolved against the page's URL.
    pub location: Option<Url>,
    pub body: String,
}

impl Browser {
    /// A fresh browser: no cookies, no session at the provider.
    pub fn new() -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .unwrap();
        Self {
            client,
            cookies: Vec::new(),
        }
    }

    pub async fn get(&mut self, url: &Url) -> Page {
        let request = self.client.get(url.clone());
        self.send(url, request).await
    }

    pub async fn post_form(&mut self, url: &Url, form: &[(&str, &str)]) -> Page {
        let request = self.client.post(url.clone()).form(form);
        self.send(url, request).await
    }

    async fn send(&mut self, url: &Url, request: reqwest::RequestBuilder) -> Page {
        assert_eq!(
            url.host_str(),
            Some("127.0.0.1"),
            "the test browser only visits loopback: {url}"
        );
        let cookie_header: Vec<String> = self
            .cookies
            .iter()
            .filter(|c| url.path().starts_with(&c.path))
            .map(|c| format!("{}={}", c.name, c.value))
            .collect();
        let request = if cookie_header.is_empty() {
            request
        } else {
            request.header(COOKIE, cookie_header.join("; "))
        };
        let response = request.send().await.unwrap();
        for header in response.headers().get_all(SET_COOKIE) {
            self.store(header.to_str().unwrap());
        }
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get(LOCATION)
            .map(|l| url.join(l.to_str().unwrap()).unwrap());
        let body = response.text().await.unwrap();
        Page {
            status,
            location,
            body,
        }
    }

    fn store(&mut self, set_cookie: &str) {
        let mut parts = set_cookie.split(';').map(str::trim);
        let Some((name, value)) = parts.next().and_then(|nv| nv.split_once('=')) else {
            return;
        };
        let mut path = "/".to_owned();
        let mut expired = false;
        for attribute in parts {
            let (key, val) = attribute.split_once('=').unwrap_or((attribute, ""));
            match key.to_ascii_lowercase().as_str() {
                "path" => path = val.to_owned(),
                "max-age" => expired |= val.trim().starts_with('-') || val.trim() == "0",
                "expires" => expired |= val.contains("1970"),
                _ => {}
            }
        }
        self.cookies.retain(|c| !(c.name == name && c.path == path));
        if !expired {
            self.cookies.push(Cookie {
                name: name.to_owned(),
                value: value.to_owned(),
                path,
            });
        }
    }
}

/// The `action` of the page's form and the value of its hidden `prompt` input
/// (oidc-provider's development login and consent pages).
pub fn interaction_form(html: &str) -> (String, String) {
    let after = |marker: &str, from: &str| -> String {
        let start = from
            .find(marker)
            .unwrap_or_else(|| panic!("no {marker} in page:\n{html}"))
            + marker.len();
        let end = from[start..].find('"').unwrap() + start;
        from[start..end].replace("&amp;", "&")
    };
    let form = &html[html
        .find("<form")
        .unwrap_or_else(|| panic!("no form in page:\n{html}"))..];
    (
        after("action=\"", form),
        after("name=\"prompt\" value=\"", form),
    )
}
