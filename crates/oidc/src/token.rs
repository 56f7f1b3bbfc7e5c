//! The token request (authorization code grant with PKCE) as form pairs and an optional
//! `Authorization` header, and the token response parsed into tokens or a typed OAuth error.
//! Sending the request is the caller's job; tokens never appear in `Debug` or errors.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use url::form_urlencoded;

use crate::oauth_error::OAuthError;
use crate::pkce::PkceVerifier;
use crate::secret::SecretString;

/// Larger token responses are refused before they are parsed.
pub const MAX_TOKEN_RESPONSE_BYTES: usize = 64 * 1024;

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone)]
pub enum ClientAuth {
    /// `client_secret_basic` (RFC 6749 2.3.1): HTTP Basic with the form-urlencoded id and secret.
    SecretBasic {
        /// The client id.
        client_id: String,
        /// The client secret.
        client_secret: SecretString,
    },
    /// `client_secret_post`: id and secret in the form body.
    SecretPost {
        /// The client id.
        client_id: String,
        /// The client secret.
        client_secret: SecretString,
    },
    /// A public client (`none`): only the id, PKCE is the proof.
    None {
        /// The client id.
        client_id: String,
    },
}

/// A token request for an authorization code.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    code: SecretString,
    redirect_uri: String,
    code_verifier: PkceVerifier,
    auth: ClientAuth,
}

impl TokenRequest {
    /// Exchanges `code` (from the callback), sent to `redirect_uri` (the same as in the
    /// authorization request), proven with `code_verifier` (from [`StateKey::finish`]).
    ///
    /// [`StateKey::finish`]: crate::StateKey::finish
    pub fn authorization_code(
        code: SecretString,
        redirect_uri: impl Into<String>,
        code_verifier: PkceVerifier,
        auth: ClientAuth,
    ) -> Self {
        Self {
            code,
            redirect_uri: redirect_uri.into(),
            code_verifier,
            auth,
        }
    }

    /// The form fields, in order. Contains the code and verifier (and, for
    /// `client_secret_post`, the secret): send, do not log.
    pub fn form_pairs(&self) -> Vec<(&'static str, SecretString)> {
        let mut pairs = vec![
            (
                "grant_type",
                SecretString::new("authorization_code".to_owned()),
            ),
            ("code", self.code.clone()),
            ("redirect_uri", SecretString::new(self.redirect_uri.clone())),
            (
                "code_verifier",
                SecretString::new(self.code_verifier.expose().to_owned()),
            ),
        ];
        match &self.auth {
            ClientAuth::SecretBasic { .. } => {}
            ClientAuth::SecretPost {
                client_id,
                client_secret,
            } => {
                pairs.push(("client_id", SecretString::new(client_id.clone())));
                pairs.push(("client_secret", client_secret.clone()));
            }
            ClientAuth::None { client_id } => {
                pairs.push(("client_id", SecretString::new(client_id.clone())));
            }
        }
        pairs
    }

    /// The `application/x-www-form-urlencoded` body.
    pub fn form_body(&self) -> SecretString {
        let mut body = form_urlencoded::Serializer::new(String::new());
        for (name, value) in self.form_pairs() {
            body.append_pair(name, value.expose());
        }
        SecretString::new(body.finish())
    }

    /// The `Authorization` header value for `client_secret_basic`:
    /// `Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 2.3.1).
    pub fn authorization_header(&self) -> Option<SecretString> {
        let ClientAuth::SecretBasic {
            client_id,
            client_secret,
        } = &self.auth
        else {
            return None;
        };
        let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let credentials = SecretString::new(format!(
            "{}:{}",
            encode(client_id),
            encode(client_secret.expose())
        ));
        Some(SecretString::new(format!(
            "Basic {}",
            STANDARD.encode(credentials.expose())
        )))
    }
}

/// A successful token response.
#[derive(Clone)]
pub struct TokenResponse {
    id_token: SecretString,
    access_token: SecretString,
    token_type: String,
    expires_in: Option<u64>,
    refresh_token: Option<SecretString>,
    scope: Option<String>,
}

/// Why a token response gave no tokens.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The provider answered with an OAuth error (`invalid_grant`, `invalid_client`, …).
    #[error("the token request failed: {0}")]
    OAuth(#[from] OAuthError),
    /// An error status without an OAuth error body.
    #[error(
        "the token endpoint answered HTTP {0} without an OAuth error; check the token endpoint URL"
    )]
    Status(u16),
    /// Larger than [`MAX_TOKEN_RESPONSE_BYTES`].
    #[error("the token response is larger than {MAX_TOKEN_RESPONSE_BYTES} bytes")]
    TooLarge,
    /// Not the JSON of a token response.
    #[error("the token response is malformed: {0}")]
    Malformed(&'static str),
    /// A token response without an ID token: the `openid` scope was not granted.
    #[error("the token response has no id_token; check that the provider grants the openid scope")]
    MissingIdToken,
}

#[derive(Deserialize)]
struct RawSuccess {
    id_token: Option<String>,
    access_token: String,
    token_type: String,
    expires_in: Option<NumberOrString>,
    refresh_token: Option<String>,
    scope: Option<String>,
}

/// Some providers (older Entra ID endpoints) send `expires_in` as a string.
#[derive(Deserialize)]
#[serde(untagged)]
enum NumberOrString {
    Number(u64),
    String(String),
}

#[derive(Deserialize)]
struct RawError {
    error: String,
    error_description: Option<String>,
}

impl TokenResponse {
    /// Parses the token endpoint's answer: its HTTP `status` and `body`.
    pub fn parse(status: u16, body: &[u8]) -> Result<Self, TokenError> {
        if body.len() > MAX_TOKEN_RESPONSE_BYTES {
            return Err(TokenError::TooLarge);
        }
        if let Ok(err) = serde_json::from_slice::<RawError>(body) {
            return Err(OAuthError::new(&err.error, err.error_description.as_deref()).into());
        }
        if !(200..300).contains(&status) {
            return Err(TokenError::Status(status));
        }
        let raw: RawSuccess = serde_json::from_slice(body)
            .map_err(|_| TokenError::Malformed("expected JSON with access_token and token_type"))?;
        let expires_in = match raw.expires_in {
            None => None,
            Some(NumberOrString::Number(n)) => Some(n),
            Some(NumberOrString::String(s)) => Some(
                s.parse()
                    .map_err(|_| TokenError::Malformed("expires_in is not a number"))?,
            ),
        };
        Ok(Self {
            id_token: SecretString::new(raw.id_token.ok_or(TokenError::MissingIdToken)?),
            access_token: SecretString::new(raw.access_token),
            token_type: raw.token_type,
            expires_in,
            refresh_token: raw.refresh_token.map(SecretString::new),
            scope: raw.scope,
        })
    }

    /// The ID token, for [`verify_id_token`](crate::verify_id_token).
    pub fn id_token(&self) -> &SecretString {
        &self.id_token
    }

    /// The access token (for the UserInfo endpoint).
    pub fn access_token(&self) -> &SecretString {
        &self.access_token
    }

    /// `token_type`, usually `Bearer`.
    pub fn token_type(&self) -> &str {
        &self.token_type
    }

    /// Seconds until the access token expires, if said.
    pub fn expires_in(&self) -> Option<u64> {
        self.expires_in
    }

    /// The refresh token, if one was issued.
    pub fn refresh_token(&self) -> Option<&SecretString> {
        self.refresh_token.as_ref()
    }

    /// The granted scopes, if the provider said (space-separated).
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("id_token", &self.id_token)
            .field("access_token", &self.access_token)
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .field("refresh_token", &self.refresh_token)
            .field("scope", &self.scope)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth_error::OAuthErrorCode;

    fn verifier() -> PkceVerifier {
        PkceVerifier::parse("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").unwrap()
    }

    fn form(request: &TokenRequest) -> Vec<(String, String)> {
        form_urlencoded::parse(request.form_body().expose().as_bytes())
            .into_owned()
            .collect()
    }

    #[test]
    fn basic_auth_form_urlencodes_id_and_secret_before_base64() {
        let request = TokenRequest::authorization_code(
            SecretString::new("the code".into()),
            "https://mv.example/cb",
            verifier(),
            ClientAuth::SecretBasic {
                client_id: "my client".into(),
                client_secret: SecretString::new("p@ss:w+rd/é".into()),
            },
        );
        let header = request.authorization_header().unwrap();
        let b64 = header.expose().strip_prefix("Basic ").unwrap();
        let decoded = String::from_utf8(STANDARD.decode(b64).unwrap()).unwrap();
        assert_eq!(decoded, "my+client:p%40ss%3Aw%2Brd%2F%C3%A9");
        assert_eq!(
            form(&request),
            [
                ("grant_type".into(), "authorization_code".into()),
                ("code".into(), "the code".into()),
                ("redirect_uri".into(), "https://mv.example/cb".into()),
                ("code_verifier".into(), verifier().expose().into()),
            ]
        );
        assert!(!format!("{request:?}").contains("p@ss"));
    }

    #[test]
    fn post_auth_puts_the_secret_in_the_body() {
        let request = TokenRequest::authorization_code(
            SecretString::new("c".into()),
            "https://mv.example/cb",
            verifier(),
            ClientAuth::SecretPost {
                client_id: "id".into(),
                client_secret: SecretString::new("s3cret".into()),
            },
        );
        assert!(request.authorization_header().is_none());
        let pairs = form(&request);
        assert!(pairs.contains(&("client_id".into(), "id".into())));
        assert!(pairs.contains(&("client_secret".into(), "s3cret".into())));
    }

    #[test]
    fn a_success_response_is_parsed_and_does_not_print_tokens() {
        let body = br#"{"access_token":"AT-123","token_type":"Bearer","expires_in":"3599",
            "id_token":"a.b.c","refresh_token":"RT-456","scope":"openid email"}"#;
        let response = TokenResponse::parse(200, body).unwrap();
        assert_eq!(response.id_token().expose(), "a.b.c");
        assert_eq!(response.expires_in(), Some(3599));
        assert_eq!(response.scope(), Some("openid email"));
        let debug = format!("{response:?}");
        assert!(!debug.contains("AT-123") && !debug.contains("RT-456") && !debug.contains("a.b.c"));
    }

    #[test]
    fn error_bodies_become_typed_errors() {
        let body = br#"{"error":"invalid_grant","error_description":"grant request is invalid"}"#;
        let TokenError::OAuth(err) = TokenResponse::parse(400, body).unwrap_err() else {
            panic!("not an OAuth error");
        };
        assert_eq!(err.code, OAuthErrorCode::InvalidGrant);
        assert_eq!(err.description.as_deref(), Some("grant request is invalid"));
        assert_eq!(
            TokenResponse::parse(502, b"<html>bad gateway</html>").unwrap_err(),
            TokenError::Status(502)
        );
        assert_eq!(
            TokenResponse::parse(200, br#"{"access_token":"x","token_type":"Bearer"}"#)
                .unwrap_err(),
            TokenError::MissingIdToken
        );
        assert!(matches!(
            TokenResponse::parse(200, b"{}"),
            Err(TokenError::Malformed(_))
        ));
        let big = vec![b' '; MAX_TOKEN_RESPONSE_BYTES + 1];
        assert_eq!(
            TokenResponse::parse(200, &big).unwrap_err(),
            TokenError::TooLarge
        );
    }
}
