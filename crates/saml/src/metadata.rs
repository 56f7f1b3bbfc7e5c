//! Both sides' metadata: reading the IdP's EntityDescriptor (entity ID, single sign-on
//! locations, signing keys) and writing ours. The IdP metadata is the only source of trusted
//! keys; its own signature is not checked (the operator installs it by hand).

use roxmltree::Node;

use crate::cert::{SigningKey, public_key_from_der};
use crate::error::{SamlError, clip};
use crate::xml::{
    NS_DS, NS_MD, NS_SAMLP, children, decode_base64, escape, is, parse, text_content,
};

pub(crate) const BINDING_REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
pub(crate) const BINDING_POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";
pub(crate) const NAMEID_EMAIL: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
pub(crate) const NAMEID_PERSISTENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";

/// Metadata documents over this size are refused.
const MAX_METADATA_BYTES: usize = 1024 * 1024;

/// What we trust about one identity provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdpMetadata {
    /// The IdP's entityID: the only Issuer we accept.
    pub entity_id: String,
    /// SingleSignOnService for the HTTP-Redirect binding (where AuthnRequests go).
    pub sso_redirect_url: Option<String>,
    /// SingleSignOnService for the HTTP-POST binding.
    pub sso_post_url: Option<String>,
    /// The keys of the signing certificates; a response must be signed by one of them.
    pub signing_keys: Vec<SigningKey>,
}

impl IdpMetadata {
    /// Reads an `md:EntityDescriptor` (or an `md:EntitiesDescriptor` holding exactly one
    /// identity provider). Refuses metadata without a usable signing certificate.
    pub fn parse(xml: &str) -> Result<Self, SamlError> {
        if xml.len() > MAX_METADATA_BYTES {
            return Err(SamlError::TooLarge {
                size: xml.len(),
                limit: MAX_METADATA_BYTES,
            });
        }
        let doc = parse(xml)?;
        let root = doc.root_element();
        let entity = if is(root, NS_MD, "EntityDescriptor") {
            root
        } else if is(root, NS_MD, "EntitiesDescriptor") {
            let idps: Vec<_> = root
                .descendants()
                .filter(|n| is(*n, NS_MD, "EntityDescriptor"))
                .filter(|n| children(*n, NS_MD, "IDPSSODescriptor").next().is_some())
                .collect();
            match idps.as_slice() {
                [one] => *one,
                _ => {
                    return Err(SamlError::Metadata(format!(
                        "the document lists {} identity providers; use the metadata of exactly one",
                        idps.len()
                    )));
                }
            }
        } else {
            return Err(SamlError::Metadata(
                "the document element is not an md:EntityDescriptor".into(),
            ));
        };
        let entity_id = entity
            .attribute("entityID")
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| SamlError::Metadata("EntityDescriptor has no entityID".into()))?
            .to_owned();
        let idp = children(entity, NS_MD, "IDPSSODescriptor")
            .find(|d| {
                d.attribute("protocolSupportEnumeration")
                    .is_some_and(|p| p.split_ascii_whitespace().any(|p| p == NS_SAMLP))
            })
            .ok_or_else(|| {
                SamlError::Metadata(
                    "no IDPSSODescriptor supporting SAML 2.0 in the metadata".into(),
                )
            })?;

        let mut sso_redirect_url = None;
        let mut sso_post_url = None;
        for sso in children(idp, NS_MD, "SingleSignOnService") {
            let location = sso.attribute("Location").map(str::to_owned);
            match sso.attribute("Binding") {
                Some(BINDING_REDIRECT) if sso_redirect_url.is_none() => sso_redirect_url = location,
                Some(BINDING_POST) if sso_post_url.is_none() => sso_post_url = location,
                _ => {}
            }
        }

        let mut signing_keys = Vec::new();
        for descriptor in children(idp, NS_MD, "KeyDescriptor") {
            if !matches!(descriptor.attribute("use"), None | Some("signing")) {
                continue;
            }
            for cert in certificates(descriptor) {
                let der = decode_base64(&text_content(cert)).map_err(|()| {
                    SamlError::Certificate("an X509Certificate is not base64".into())
                })?;
                let key = public_key_from_der(&der)?;
                if !signing_keys.contains(&key) {
                    signing_keys.push(key);
                }
            }
        }
        if signing_keys.is_empty() {
            return Err(SamlError::Metadata(format!(
                "the IdP {} has no signing certificate (KeyDescriptor use=\"signing\" with an X509Certificate)",
                clip(&entity_id)
            )));
        }
        Ok(IdpMetadata {
            entity_id,
            sso_redirect_url,
            sso_post_url,
            signing_keys,
        })
    }

    /// Builds the IdP's description from parts, for IdPs configured without a metadata document
    /// (entity ID, sign-on URL and a PEM-less DER certificate pasted by the operator).
    pub fn from_parts(
        entity_id: impl Into<String>,
        sso_redirect_url: impl Into<String>,
        certificate_der: &[&[u8]],
    ) -> Result<Self, SamlError> {
        let signing_keys = certificate_der
            .iter()
            .map(|der| public_key_from_der(der))
            .collect::<Result<Vec<_>, _>>()?;
        if signing_keys.is_empty() {
            return Err(SamlError::Metadata("no signing certificate given".into()));
        }
        Ok(IdpMetadata {
            entity_id: entity_id.into(),
            sso_redirect_url: Some(sso_redirect_url.into()),
            sso_post_url: None,
            signing_keys,
        })
    }
}

fn certificates<'a, 'i>(descriptor: Node<'a, 'i>) -> impl Iterator<Item = Node<'a, 'i>> {
    children(descriptor, NS_DS, "KeyInfo")
        .flat_map(|k| children(k, NS_DS, "X509Data"))
        .flat_map(|d| children(d, NS_DS, "X509Certificate"))
}

/// This service provider, as the IdP sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpConfig {
    /// Our entityID (the Audience the IdP must name).
    pub entity_id: String,
    /// Our AssertionConsumerService URL (HTTP-POST binding).
    pub acs_url: String,
    /// The NameID format asked for in AuthnRequests; `None` leaves it to the IdP.
    pub name_id_format: Option<String>,
}

impl SpConfig {
    /// A service provider with the given entity ID and ACS URL, asking for no NameID format.
    pub fn new(entity_id: impl Into<String>, acs_url: impl Into<String>) -> Self {
        SpConfig {
            entity_id: entity_id.into(),
            acs_url: acs_url.into(),
            name_id_format: None,
        }
    }

    /// Our metadata (EntityDescriptor with an SPSSODescriptor), to give to the IdP.
    pub fn sp_metadata_xml(&self) -> String {
        format!(
            concat!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
                "<md:EntityDescriptor xmlns:md=\"{md}\" entityID=\"{entity}\">\n",
                "  <md:SPSSODescriptor AuthnRequestsSigned=\"false\" WantAssertionsSigned=\"true\" ",
                "protocolSupportEnumeration=\"{samlp}\">\n",
                "    <md:NameIDFormat>{email}</md:NameIDFormat>\n",
                "    <md:NameIDFormat>{persistent}</md:NameIDFormat>\n",
                "    <md:AssertionConsumerService Binding=\"{post}\" Location=\"{acs}\" index=\"0\" isDefault=\"true\"/>\n",
                "  </md:SPSSODescriptor>\n",
                "</md:EntityDescriptor>\n"
            ),
            md = NS_MD,
            samlp = NS_SAMLP,
            entity = escape(&self.entity_id),
            email = NAMEID_EMAIL,
            persistent = NAMEID_PERSISTENT,
            post = BINDING_POST,
            acs = escape(&self.acs_url),
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn metadata(key_descriptors: &str) -> String {
        format!(
            r#"<md:EntityDescriptor xmlns:md="{NS_MD}" xmlns:ds="{NS_DS}" entityID="https://idp.example/">
                 <md:IDPSSODescriptor protocolSupportEnumeration="{NS_SAMLP}">{key_descriptors}
                   <md:SingleSignOnService Binding="{BINDING_POST}" Location="https://idp.example/post"/>
                   <md:SingleSignOnService Binding="{BINDING_REDIRECT}" Location="https://idp.example/redirect"/>
                 </md:IDPSSODescriptor>
               </md:EntityDescriptor>"#
        )
    }

    fn key_descriptor(usage: Option<&str>, cert_b64: &str) -> String {
        let usage = usage.map(|u| format!(" use=\"{u}\"")).unwrap_or_default();
        format!(
            "<md:KeyDescriptor{usage}><ds:KeyInfo><ds:X509Data><ds:X509Certificate>\n{cert_b64}\n</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
        )
    }

    /// The DER shape of a P-256 certificate; its signature bytes are placeholders, since only the
    /// walk to the SubjectPublicKeyInfo is under test (real keys are tested with pysaml2).
    const EC_CERT: &str = concat!(
        "MIIBfjCCASWgAwIBAgIUTnDzeJeKK0hPkUNfA0jONNvKhbUwCgYIKoZIzj0EAwIw",
        "FTETMBEGA1UEAwwKZWMuZXhhbXBsZTAeFw0yNDAxMDEwMDAwMDBaFw0zNDAxMDEw",
        "MDAwMDBaMBUxEzARBgNVBAMMCmVjLmV4YW1wbGUwWTATBgcqhkjOPQIBBggqhkjO",
        "PQMBBwNCAAQNmDhU6T8nqj6rM7Ff0r5E1rjt0HkI6p2Kd2Zbxn7DmJ7GlE1SCd0E",
        "5a6sM7QhW9rTLYwq7Q2WAZp7y3U6Xqkro1MwUTAdBgNVHQ4EFgQUAAAAAAAAAAAA",
        "AAAAAAAAAAAAAAAwHwYDVR0jBBgwFoAUAAAAAAAAAAAAAAAAAAAAAAAAAAAwDwYD",
        "VR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNHADBEAiAAAAAAAAAAAAAAAAAAAAAA",
        "AAAAAAAAAAAAAAAAAAAAAAIgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "AAA="
    );

    #[test]
    fn reads_entity_id_locations_and_signing_keys() {
        let xml = metadata(&format!(
            "{}{}",
            key_descriptor(Some("encryption"), "bm90IGEgY2VydA=="),
            key_descriptor(Some("signing"), EC_CERT)
        ));
        let idp = IdpMetadata::parse(&xml).unwrap();
        assert_eq!(idp.entity_id, "https://idp.example/");
        assert_eq!(
            idp.sso_redirect_url.as_deref(),
            Some("https://idp.example/redirect")
        );
        assert_eq!(
            idp.sso_post_url.as_deref(),
            Some("https://idp.example/post")
        );
        assert!(matches!(idp.signing_keys.as_slice(), [SigningKey::EcP256(k)] if k.len() == 65));
    }

    #[test]
    fn metadata_without_a_signing_certificate_is_refused() {
        let only_encryption = metadata(&key_descriptor(Some("encryption"), EC_CERT));
        assert!(matches!(
            IdpMetadata::parse(&only_encryption),
            Err(SamlError::Metadata(_))
        ));
        assert!(matches!(
            IdpMetadata::parse(&metadata("")),
            Err(SamlError::Metadata(_))
        ));
    }

    #[test]
    fn a_broken_certificate_is_refused() {
        let xml = metadata(&key_descriptor(None, "bm90IGEgY2VydA=="));
        assert!(matches!(
            IdpMetadata::parse(&xml),
            Err(SamlError::Certificate(_))
        ));
    }

    #[test]
    fn metadata_with_a_dtd_is_refused() {
        let xml = format!("<!DOCTYPE x [<!ENTITY e \"e\">]>{}", metadata(""));
        assert_eq!(IdpMetadata::parse(&xml), Err(SamlError::Dtd));
    }

    #[test]
    fn sp_metadata_is_escaped_and_well_formed() {
        let sp = SpConfig::new(
            "https://sp.example/?a=1&b=\"2\"",
            "https://sp.example/acs?x=<y>",
        );
        let xml = sp.sp_metadata_xml();
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let root = doc.root_element();
        assert_eq!(
            root.attribute("entityID"),
            Some("https://sp.example/?a=1&b=\"2\"")
        );
        let descriptor = children(root, NS_MD, "SPSSODescriptor").next().unwrap();
        assert_eq!(descriptor.attribute("AuthnRequestsSigned"), Some("false"));
        assert_eq!(descriptor.attribute("WantAssertionsSigned"), Some("true"));
        assert_eq!(
            descriptor.attribute("protocolSupportEnumeration"),
            Some(NS_SAMLP)
        );
        let formats: Vec<String> = children(descriptor, NS_MD, "NameIDFormat")
            .map(text_content)
            .collect();
        assert_eq!(formats, [NAMEID_EMAIL, NAMEID_PERSISTENT]);
        let acs = children(descriptor, NS_MD, "AssertionConsumerService")
            .next()
            .unwrap();
        assert_eq!(acs.attribute("Binding"), Some(BINDING_POST));
        assert_eq!(
            acs.attribute("Location"),
            Some("https://sp.example/acs?x=<y>")
        );
        assert_eq!(acs.attribute("index"), Some("0"));
    }
}
