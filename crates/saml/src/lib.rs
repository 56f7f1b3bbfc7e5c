//! SAML 2.0 service provider (Web Browser SSO profile), without I/O.
//!
//! Owns: reading IdP metadata ([`IdpMetadata`]), writing our SP metadata
//! ([`SpConfig::sp_metadata_xml`]), building the unsigned AuthnRequest for the HTTP-Redirect
//! binding ([`AuthnRequest`]), and validating the signed Response posted to the ACS endpoint
//! ([`validate_response`]) — XML-DSig verification with exclusive C14N implemented here, the
//! signature-wrapping defences, and the protocol checks (status, issuer, destination, audience,
//! recipient, time windows, InResponseTo).
//!
//! Must never: do I/O (no HTTP, files, clocks or database — the caller passes `now`, the
//! random source and the pending request ids, and stores the replay cache); trust a key or
//! certificate found in the document (keys come only from the IdP metadata); resolve DTDs,
//! entities or anything outside the document; return data read from anywhere but the element
//! whose signature was verified; decrypt (encrypted assertions are refused with a message that
//! says to turn encryption off at the IdP).
//!
//! Replay protection is split: [`validate_response`] returns the assertion id and its expiry
//! ([`Assertion::not_on_or_after`]); the caller records the id until then and refuses a second
//! use ([`ReplayCache`]).

mod attributes;
pub mod c14n;
mod cert;
mod dsig;
mod error;
mod metadata;
mod request;
mod response;
mod xml;

pub use attributes::{AttributeMap, InMemoryReplayCache, MappedUser, ReplayCache};
pub use cert::SigningKey;
pub use error::SamlError;
pub use metadata::{IdpMetadata, SpConfig};
pub use request::AuthnRequest;
pub use response::{
    Assertion, MAX_RESPONSE_BYTES, Validation, validate_response, validate_response_xml,
};
