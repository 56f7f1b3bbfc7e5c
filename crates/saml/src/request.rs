//! The AuthnRequest we send (unsigned) over the HTTP-Redirect binding. The caller keeps the
//! request id to check the response's InResponseTo against.

use std::io::Write as _;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use ring::rand::SecureRandom;

use crate::error::SamlError;
use crate::metadata::{BINDING_POST, IdpMetadata, SpConfig};
use crate::xml::{NS_SAML, NS_SAMLP, escape};

/// One sign-in request, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthnRequest {
    /// `_` and 32 hex digits; keep it until the response arrives.
    pub id: String,
    /// Where the request goes (the IdP's HTTP-Redirect SingleSignOnService).
    pub destination: String,
    /// The request document.
    pub xml: String,
}

impl AuthnRequest {
    /// A new request from `sp` to `idp`, issued at `now`. The id comes from `rng` (a
    /// `ring::rand::SystemRandom` in production; a fixed source makes tests reproducible).
    pub fn new(
        sp: &SpConfig,
        idp: &IdpMetadata,
        now: DateTime<Utc>,
        rng: &dyn SecureRandom,
    ) -> Result<Self, SamlError> {
        let destination = idp.sso_redirect_url.clone().ok_or_else(|| {
            SamlError::Metadata(
                "the IdP has no SingleSignOnService for the HTTP-Redirect binding".into(),
            )
        })?;
        let mut bytes = [0u8; 16];
        rng.fill(&mut bytes)
            .map_err(|_| SamlError::Xml("the random source failed".into()))?;
        let id: String = std::iter::once('_')
            .chain(bytes.iter().flat_map(|b| {
                let hex = b"0123456789abcdef";
                [
                    char::from(hex[usize::from(b >> 4)]),
                    char::from(hex[usize::from(b & 15)]),
                ]
            }))
            .collect();
        let format = sp
            .name_id_format
            .as_deref()
            .map(|f| format!(" Format=\"{}\"", escape(f)))
            .unwrap_or_default();
        let xml = format!(
            concat!(
                "<samlp:AuthnRequest xmlns:samlp=\"{samlp}\" xmlns:saml=\"{saml}\" ID=\"{id}\" ",
                "Version=\"2.0\" IssueInstant=\"{instant}\" Destination=\"{destination}\" ",
                "AssertionConsumerServiceURL=\"{acs}\" ProtocolBinding=\"{post}\">",
                "<saml:Issuer>{issuer}</saml:Issuer>",
                "<samlp:NameIDPolicy{format} AllowCreate=\"true\"/>",
                "</samlp:AuthnRequest>"
            ),
            samlp = NS_SAMLP,
            saml = NS_SAML,
            id = id,
            instant = now.format("%Y-%m-%dT%H:%M:%SZ"),
            destination = escape(&destination),
            acs = escape(&sp.acs_url),
            post = BINDING_POST,
            issuer = escape(&sp.entity_id),
            format = format,
        );
        Ok(AuthnRequest {
            id,
            destination,
            xml,
        })
    }

    /// The URL to redirect the browser to (HTTP-Redirect binding: raw DEFLATE, base64,
    /// URL-encoded; unsigned). `relay_state` comes back unchanged with the response.
    pub fn redirect_url(&self, relay_state: Option<&str>) -> Result<String, SamlError> {
        let mut encoder =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        encoder
            .write_all(self.xml.as_bytes())
            .and_then(|()| encoder.try_finish())
            .map_err(|_| SamlError::Xml("compressing the request failed".into()))?;
        let deflated = encoder
            .finish()
            .map_err(|_| SamlError::Xml("compressing the request failed".into()))?;
        let encoded = base64::engine::general_purpose::STANDARD.encode(deflated);
        let separator = if self.destination.contains('?') {
            '&'
        } else {
            '?'
        };
        let mut url = format!(
            "{}{separator}SAMLRequest={}",
            self.destination,
            percent_encode(&encoded)
        );
        if let Some(state) = relay_state {
            url.push_str("&RelayState=");
            url.push_str(&percent_encode(state));
        }
        Ok(url)
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::io::Read as _;

    use chrono::TimeZone as _;

    use super::*;
    use crate::cert::SigningKey;

    fn idp(redirect: &str) -> IdpMetadata {
        IdpMetadata {
            entity_id: "https://idp.example/".into(),
            sso_redirect_url: Some(redirect.into()),
            sso_post_url: None,
            signing_keys: vec![SigningKey::Rsa(vec![1])],
        }
    }

    fn request(redirect: &str) -> AuthnRequest {
        let sp = SpConfig::new("https://sp.example/", "https://sp.example/acs");
        let now = Utc.with_ymd_and_hms(2024, 5, 6, 7, 8, 9).unwrap();
        // ring's SecureRandom is sealed; its own fixed source is the only reproducible one.
        #[allow(deprecated)]
        let rng = ring::test::rand::FixedByteRandom { byte: 0xab };
        AuthnRequest::new(&sp, &idp(redirect), now, &rng).unwrap()
    }

    #[test]
    fn the_request_has_a_random_id_and_the_profile_fields() {
        let r = request("https://idp.example/sso");
        assert_eq!(r.id, format!("_{}", "ab".repeat(16)));
        let doc = roxmltree::Document::parse(&r.xml).unwrap();
        let root = doc.root_element();
        assert_eq!(root.tag_name().namespace(), Some(NS_SAMLP));
        assert_eq!(root.attribute("ID"), Some(r.id.as_str()));
        assert_eq!(root.attribute("Version"), Some("2.0"));
        assert_eq!(root.attribute("IssueInstant"), Some("2024-05-06T07:08:09Z"));
        assert_eq!(
            root.attribute("Destination"),
            Some("https://idp.example/sso")
        );
        assert_eq!(
            root.attribute("AssertionConsumerServiceURL"),
            Some("https://sp.example/acs")
        );
        assert_eq!(root.attribute("ProtocolBinding"), Some(BINDING_POST));
        assert!(
            r.xml
                .contains("<saml:Issuer>https://sp.example/</saml:Issuer>")
        );
        assert!(r.xml.contains("AllowCreate=\"true\""));
    }

    #[test]
    fn the_redirect_url_carries_the_deflated_request_and_relay_state() {
        let r = request("https://idp.example/sso?tenant=1");
        let url = r.redirect_url(Some("back to /x&y")).unwrap();
        assert!(url.starts_with("https://idp.example/sso?tenant=1&SAMLRequest="));
        assert!(url.ends_with("&RelayState=back%20to%20%2Fx%26y"));
        let encoded = url
            .split("SAMLRequest=")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap();
        let encoded = encoded
            .replace("%2B", "+")
            .replace("%2F", "/")
            .replace("%3D", "=");
        let deflated = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap();
        let mut xml = String::new();
        flate2::read::DeflateDecoder::new(deflated.as_slice())
            .read_to_string(&mut xml)
            .unwrap();
        assert_eq!(xml, r.xml);
    }

    #[test]
    fn an_idp_without_a_redirect_endpoint_is_reported() {
        let sp = SpConfig::new("https://sp.example/", "https://sp.example/acs");
        let mut idp = idp("x");
        idp.sso_redirect_url = None;
        let rng = ring::rand::SystemRandom::new();
        assert!(matches!(
            AuthnRequest::new(&sp, &idp, Utc::now(), &rng),
            Err(SamlError::Metadata(_))
        ));
    }
}
