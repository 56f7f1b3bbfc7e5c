//! The authorization request URL (OIDC Core 3.1.2.1): code flow, PKCE S256, state and nonce,
//! and the provider-specific hints. Builds a URL; sending the browser there is the caller's job.

use url::Url;

use crate::pkce::{CODE_CHALLENGE_METHOD, CodeChallenge};
use crate::state::Begun;

/// The scopes every login asks for.
pub const BASE_SCOPES: [&str; 3] = ["openid", "email", "profile"];

/// OIDC `prompt` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prompt {
    /// `none`: fail rather than show any page.
    None,
    /// `login`: ask for credentials again.
    Login,
    /// `consent`: ask for consent again.
    Consent,
    /// `select_account`: let the user pick an account.
    SelectAccount,
}

impl Prompt {
    fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Login => "login",
            Self::Consent => "consent",
            Self::SelectAccount => "select_account",
        }
    }
}

/// An authorization request, built from a started login.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    endpoint: Url,
    client_id: String,
    redirect_uri: String,
    state: String,
    nonce: String,
    code_challenge: CodeChallenge,
    extra_scopes: Vec<String>,
    prompt: Option<Prompt>,
    login_hint: Option<String>,
    hosted_domain: Option<String>,
    domain_hint: Option<String>,
}

impl AuthorizationRequest {
    /// A request to `endpoint` (the discovery document's) for `client_id`, coming back to
    /// `redirect_uri` (exactly as registered at the provider), carrying `begun`'s state, nonce
    /// and code challenge.
    pub fn new(
        endpoint: &Url,
        client_id: impl Into<String>,
        redirect_uri: impl Into<String>,
        begun: &Begun,
    ) -> Self {
        Self {
            endpoint: endpoint.clone(),
            client_id: client_id.into(),
            redirect_uri: redirect_uri.into(),
            state: begun.state.clone(),
            nonce: begun.nonce.clone(),
            code_challenge: begun.code_challenge.clone(),
            extra_scopes: Vec::new(),
            prompt: None,
            login_hint: None,
            hosted_domain: None,
            domain_hint: None,
        }
    }

    /// Asks for one more scope besides `openid email profile` (ignored if blank, containing
    /// spaces, or already asked for).
    pub fn scope(mut self, scope: &str) -> Self {
        let fresh = !BASE_SCOPES.contains(&scope) && !self.extra_scopes.iter().any(|s| s == scope);
        if fresh && !scope.is_empty() && !scope.contains(char::is_whitespace) {
            self.extra_scopes.push(scope.to_owned());
        }
        self
    }

    /// Sets `prompt`.
    pub fn prompt(mut self, prompt: Prompt) -> Self {
        self.prompt = Some(prompt);
        self
    }

    /// Sets `login_hint` (an email or username to prefill).
    pub fn login_hint(mut self, hint: impl Into<String>) -> Self {
        self.login_hint = Some(hint.into());
        self
    }

    /// Google's `hd`: offer only accounts of this Workspace domain. A hint only: check
    /// [`IdClaims::hosted_domain`](crate::IdClaims::hosted_domain) after login.
    pub fn google_hosted_domain(mut self, domain: impl Into<String>) -> Self {
        self.hosted_domain = Some(domain.into());
        self
    }

    /// Microsoft's `domain_hint`: skip the account picker towards this tenant's domain.
    pub fn microsoft_domain_hint(mut self, domain: impl Into<String>) -> Self {
        self.domain_hint = Some(domain.into());
        self
    }

    /// The URL to send the browser to. Query parameters already in the endpoint are kept.
    pub fn to_url(&self) -> Url {
        let mut url = self.endpoint.clone();
        let mut scope = BASE_SCOPES.join(" ");
        for extra in &self.extra_scopes {
            scope.push(' ');
            scope.push_str(extra);
        }
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", &self.client_id)
                .append_pair("redirect_uri", &self.redirect_uri)
                .append_pair("scope", &scope)
                .append_pair("state", &self.state)
                .append_pair("nonce", &self.nonce)
                .append_pair("code_challenge", self.code_challenge.as_str())
                .append_pair("code_challenge_method", CODE_CHALLENGE_METHOD);
            if let Some(prompt) = self.prompt {
                q.append_pair("prompt", prompt.as_str());
            }
            if let Some(hint) = &self.login_hint {
                q.append_pair("login_hint", hint);
            }
            if let Some(hd) = &self.hosted_domain {
                q.append_pair("hd", hd);
            }
            if let Some(hint) = &self.domain_hint {
                q.append_pair("domain_hint", hint);
            }
        }
        url
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::state::{LoginState, ReturnTo, StateKey};

    #[test]
    fn the_url_carries_every_parameter_once() {
        let begun = StateKey::new([1; 32]).begin(
            LoginState::new("google", None, ReturnTo::root(), 0),
            &mut rand::rng(),
        );
        let endpoint = Url::parse("https://op.example/authorize?tenant=x").unwrap();
        let url = AuthorizationRequest::new(&endpoint, "client 1", "https://mv.example/cb", &begun)
            .scope("offline_access")
            .scope("email")
            .scope("bad scope")
            .prompt(Prompt::SelectAccount)
            .login_hint("ada@example.com")
            .google_hosted_domain("example.com")
            .microsoft_domain_hint("example.com")
            .to_url();
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let map: HashMap<_, _> = pairs.iter().cloned().collect();
        assert_eq!(pairs.len(), map.len(), "a parameter is repeated: {url}");
        assert_eq!(map["tenant"], "x");
        assert_eq!(map["response_type"], "code");
        assert_eq!(map["client_id"], "client 1");
        assert_eq!(map["redirect_uri"], "https://mv.example/cb");
        assert_eq!(map["scope"], "openid email profile offline_access");
        assert_eq!(map["state"], begun.state);
        assert_eq!(map["nonce"], begun.nonce);
        assert_eq!(map["code_challenge"], begun.code_challenge.as_str());
        assert_eq!(map["code_challenge_method"], "S256");
        assert_eq!(map["prompt"], "select_account");
        assert_eq!(map["login_hint"], "ada@example.com");
        assert_eq!(map["hd"], "example.com");
        assert_eq!(map["domain_hint"], "example.com");
        assert!(!url.as_str().contains(begun.pkce_verifier.expose()));
    }
}
