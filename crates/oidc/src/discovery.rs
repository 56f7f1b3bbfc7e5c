//! The provider's discovery document (`{issuer}/.well-known/openid-configuration`), parsed into
//! endpoints we are willing to use. Fetching it is the caller's job; this module only judges
//! the bytes.

use serde::Deserialize;
use url::Url;

use crate::issuer::is_entra_multi_tenant_alias;
use crate::issuer::{GOOGLE_ISSUER, IssuerRule, MICROSOFT_TENANT_TEMPLATE};
use crate::jws::SUPPORTED_ALGS;
use crate::secret::bounded_text;

/// Larger discovery documents are refused before they are parsed.
pub const MAX_DISCOVERY_BYTES: usize = 256 * 1024;

/// A provider's endpoints and capabilities, checked against the issuer we asked for.
#[derive(Debug, Clone)]
pub struct Discovery {
    issuer: String,
    issuer_rule: IssuerRule,
    authorization_endpoint: Url,
    token_endpoint: Url,
    jwks_uri: Url,
    userinfo_endpoint: Option<Url>,
    id_token_signing_alg_values_supported: Vec<String>,
    code_challenge_methods_supported: Option<Vec<String>>,
    authorization_response_iss_parameter_supported: bool,
}

/// Why a discovery document was refused.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// The document is larger than [`MAX_DISCOVERY_BYTES`].
    #[error("the discovery document is larger than {MAX_DISCOVERY_BYTES} bytes")]
    TooLarge,
    /// Not JSON, or a required field is missing or of the wrong type.
    #[error("the discovery document is not valid: {0}")]
    Malformed(String),
    /// The document names another issuer than the one it was fetched for (OIDC Discovery 4.3):
    /// a misconfigured issuer URL, or a document served by someone else.
    #[error(
        "the discovery document names the issuer {found:?}, not the configured {expected:?}; \
         configure the issuer exactly as the provider names it"
    )]
    IssuerMismatch {
        /// The issuer we asked for.
        expected: String,
        /// What the document says (bounded).
        found: String,
    },
    /// An endpoint is not a usable absolute URL.
    #[error("the discovery document's {0} is not a valid absolute URL")]
    InvalidUrl(&'static str),
    /// An endpoint is plain http and the operator did not allow that.
    #[error(
        "the discovery document's {0} is not https; allow plain http only for a trusted local provider"
    )]
    NotHttps(&'static str),
    /// The provider lists PKCE methods and S256 is not among them.
    #[error("the provider does not support PKCE with S256, which meetvault requires")]
    NoPkceS256,
    /// The provider signs ID tokens only with algorithms we refuse.
    #[error(
        "the provider signs ID tokens only with algorithms meetvault does not accept (RS256, PS256, ES256, EdDSA)"
    )]
    NoSupportedAlg,
}

#[derive(Deserialize)]
struct Raw {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    userinfo_endpoint: Option<String>,
    id_token_signing_alg_values_supported: Option<Vec<String>>,
    code_challenge_methods_supported: Option<Vec<String>>,
    #[serde(default)]
    authorization_response_iss_parameter_supported: bool,
}

impl Discovery {
    /// Parses the document fetched for `expected_issuer`.
    ///
    /// Refuses a document whose `issuer` is not `expected_issuer` (except Entra ID's
    /// `common`/`organizations` aliases, whose documents carry [`MICROSOFT_TENANT_TEMPLATE`]),
    /// endpoints that are not https unless `allow_http` (an operator's explicit allow-listing
    /// of a local provider), a PKCE method list without S256, and a signing algorithm list
    /// without any algorithm we verify.
    pub fn parse(
        bytes: &[u8],
        expected_issuer: &str,
        allow_http: bool,
    ) -> Result<Self, DiscoveryError> {
        if bytes.len() > MAX_DISCOVERY_BYTES {
            return Err(DiscoveryError::TooLarge);
        }
        let raw: Raw = serde_json::from_slice(bytes)
            .map_err(|e| DiscoveryError::Malformed(bounded_text(&e.to_string(), 200)))?;

        let issuer_rule = if raw.issuer == expected_issuer {
            if raw.issuer == GOOGLE_ISSUER {
                IssuerRule::google()
            } else {
                IssuerRule::Exact(raw.issuer.clone())
            }
        } else if is_entra_multi_tenant_alias(expected_issuer)
            && raw.issuer == MICROSOFT_TENANT_TEMPLATE
        {
            IssuerRule::entra_multi_tenant(None)
        } else {
            return Err(DiscoveryError::IssuerMismatch {
                expected: expected_issuer.to_owned(),
                found: bounded_text(&raw.issuer, 200),
            });
        };
        if !(raw.issuer.starts_with("https://") || allow_http && raw.issuer.starts_with("http://"))
        {
            return Err(DiscoveryError::NotHttps("issuer"));
        }

        let authorization_endpoint = endpoint(
            &raw.authorization_endpoint,
            "authorization_endpoint",
            allow_http,
        )?;
        let token_endpoint = endpoint(&raw.token_endpoint, "token_endpoint", allow_http)?;
        let jwks_uri = endpoint(&raw.jwks_uri, "jwks_uri", allow_http)?;
        let userinfo_endpoint = raw
            .userinfo_endpoint
            .as_deref()
            .map(|u| endpoint(u, "userinfo_endpoint", allow_http))
            .transpose()?;

        if let Some(methods) = &raw.code_challenge_methods_supported
            && !methods.iter().any(|m| m == "S256")
        {
            return Err(DiscoveryError::NoPkceS256);
        }
        // REQUIRED by OIDC Discovery, and RS256 is mandatory to implement: assume it if absent.
        let algs = raw
            .id_token_signing_alg_values_supported
            .unwrap_or_else(|| vec!["RS256".to_owned()]);
        if !algs.iter().any(|a| SUPPORTED_ALGS.contains(&a.as_str())) {
            return Err(DiscoveryError::NoSupportedAlg);
        }

        Ok(Self {
            issuer: raw.issuer,
            issuer_rule,
            authorization_endpoint,
            token_endpoint,
            jwks_uri,
            userinfo_endpoint,
            id_token_signing_alg_values_supported: algs,
            code_challenge_methods_supported: raw.code_challenge_methods_supported,
            authorization_response_iss_parameter_supported: raw
                .authorization_response_iss_parameter_supported,
        })
    }

    /// The issuer as the document names it (for Entra multi-tenant, the template).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// How ID tokens and authorization responses from this provider are checked for `iss`.
    /// For Entra multi-tenant it admits every tenant; build an
    /// [`IssuerRule::entra_multi_tenant`] with an allow-list to narrow it.
    pub fn issuer_rule(&self) -> &IssuerRule {
        &self.issuer_rule
    }

    /// Where the browser is sent to log in.
    pub fn authorization_endpoint(&self) -> &Url {
        &self.authorization_endpoint
    }

    /// Where the code is exchanged.
    pub fn token_endpoint(&self) -> &Url {
        &self.token_endpoint
    }

    /// Where the provider's public keys are.
    pub fn jwks_uri(&self) -> &Url {
        &self.jwks_uri
    }

    /// The UserInfo endpoint, if the provider has one.
    pub fn userinfo_endpoint(&self) -> Option<&Url> {
        self.userinfo_endpoint.as_ref()
    }

    /// The algorithms the provider may sign ID tokens with (RS256 if it did not say).
    pub fn id_token_signing_alg_values_supported(&self) -> &[String] {
        &self.id_token_signing_alg_values_supported
    }

    /// The PKCE methods the provider listed, if it listed any (then S256 is among them).
    pub fn code_challenge_methods_supported(&self) -> Option<&[String]> {
        self.code_challenge_methods_supported.as_deref()
    }

    /// Whether authorization responses carry `iss` (RFC 9207); if so, the callback must too.
    pub fn authorization_response_iss_parameter_supported(&self) -> bool {
        self.authorization_response_iss_parameter_supported
    }
}

fn endpoint(value: &str, field: &'static str, allow_http: bool) -> Result<Url, DiscoveryError> {
    let url = Url::parse(value).map_err(|_| DiscoveryError::InvalidUrl(field))?;
    if url.host_str().is_none_or(str::is_empty) || url.fragment().is_some() {
        return Err(DiscoveryError::InvalidUrl(field));
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if allow_http => Ok(url),
        "http" => Err(DiscoveryError::NotHttps(field)),
        _ => Err(DiscoveryError::InvalidUrl(field)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(issuer: &str, scheme: &str, extra: &str) -> Vec<u8> {
        format!(
            r#"{{"issuer":"{issuer}",
            "authorization_endpoint":"{scheme}://op.example/auth",
            "token_endpoint":"{scheme}://op.example/token",
            "jwks_uri":"{scheme}://op.example/jwks"{extra}}}"#
        )
        .into_bytes()
    }

    #[test]
    fn accepts_a_minimal_https_document() {
        let d = Discovery::parse(
            &doc("https://op.example", "https", ""),
            "https://op.example",
            false,
        )
        .unwrap();
        assert_eq!(d.issuer(), "https://op.example");
        assert_eq!(d.token_endpoint().as_str(), "https://op.example/token");
        assert_eq!(d.id_token_signing_alg_values_supported(), ["RS256"]);
        assert!(d.userinfo_endpoint().is_none());
        assert_eq!(
            d.issuer_rule(),
            &IssuerRule::Exact("https://op.example".into())
        );
    }

    #[test]
    fn refuses_another_issuer() {
        let err = Discovery::parse(
            &doc("https://evil.example", "https", ""),
            "https://op.example",
            false,
        )
        .unwrap_err();
        assert!(
            matches!(err, DiscoveryError::IssuerMismatch { .. }),
            "{err}"
        );
        // A trailing slash is another issuer (exact comparison, OIDC Discovery 4.3).
        let err = Discovery::parse(
            &doc("https://op.example/", "https", ""),
            "https://op.example",
            false,
        )
        .unwrap_err();
        assert!(
            matches!(err, DiscoveryError::IssuerMismatch { .. }),
            "{err}"
        );
    }

    #[test]
    fn http_only_when_allowed() {
        let err = Discovery::parse(
            &doc("https://op.example", "http", ""),
            "https://op.example",
            false,
        )
        .unwrap_err();
        assert!(
            matches!(err, DiscoveryError::NotHttps("authorization_endpoint")),
            "{err}"
        );
        let err = Discovery::parse(
            &doc("http://op.example", "https", ""),
            "http://op.example",
            false,
        )
        .unwrap_err();
        assert!(matches!(err, DiscoveryError::NotHttps("issuer")), "{err}");
        Discovery::parse(
            &doc("http://op.example", "http", ""),
            "http://op.example",
            true,
        )
        .unwrap();
    }

    #[test]
    fn pkce_s256_is_required_when_methods_are_listed() {
        let extra = r#","code_challenge_methods_supported":["plain"]"#;
        let err = Discovery::parse(
            &doc("https://op.example", "https", extra),
            "https://op.example",
            false,
        )
        .unwrap_err();
        assert!(matches!(err, DiscoveryError::NoPkceS256));
        let extra = r#","code_challenge_methods_supported":["plain","S256"]"#;
        Discovery::parse(
            &doc("https://op.example", "https", extra),
            "https://op.example",
            false,
        )
        .unwrap();
    }

    #[test]
    fn refuses_a_provider_that_only_signs_with_hmac() {
        let extra = r#","id_token_signing_alg_values_supported":["HS256","none"]"#;
        let err = Discovery::parse(
            &doc("https://op.example", "https", extra),
            "https://op.example",
            false,
        )
        .unwrap_err();
        assert!(matches!(err, DiscoveryError::NoSupportedAlg));
    }

    #[test]
    fn entra_common_document_gives_the_tenant_template() {
        let d = Discovery::parse(
            &doc(
                MICROSOFT_TENANT_TEMPLATE,
                "https",
                r#","authorization_response_iss_parameter_supported":false"#,
            ),
            "https://login.microsoftonline.com/common/v2.0",
            false,
        )
        .unwrap();
        assert_eq!(d.issuer_rule(), &IssuerRule::entra_multi_tenant(None));
        // The template is only accepted for the multi-tenant aliases.
        let err = Discovery::parse(
            &doc(MICROSOFT_TENANT_TEMPLATE, "https", ""),
            "https://login.microsoftonline.com/9122040d-6c67-4c5b-b112-36a304b66dad/v2.0",
            false,
        )
        .unwrap_err();
        assert!(matches!(err, DiscoveryError::IssuerMismatch { .. }));
    }

    #[test]
    fn google_document_gives_the_google_rule() {
        let d = Discovery::parse(&doc(GOOGLE_ISSUER, "https", ""), GOOGLE_ISSUER, false).unwrap();
        assert_eq!(d.issuer_rule(), &IssuerRule::Google);
    }

    #[test]
    fn refuses_oversize_and_garbage() {
        let big = vec![b' '; MAX_DISCOVERY_BYTES + 1];
        assert!(matches!(
            Discovery::parse(&big, "https://op.example", false),
            Err(DiscoveryError::TooLarge)
        ));
        assert!(matches!(
            Discovery::parse(b"{\"issuer\":1}", "https://op.example", false),
            Err(DiscoveryError::Malformed(_))
        ));
    }
}
