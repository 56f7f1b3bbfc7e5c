//! OpenID Connect relying party, without I/O.
//!
//! This crate owns the decisions of an OIDC login (authorization code flow with PKCE), as plain
//! functions over bytes and strings:
//!
//! - [`Discovery`]: the provider's `/.well-known/openid-configuration`, refused unless it names
//!   the issuer we asked for and its endpoints are https (or the operator allowed http);
//!   [`IssuerRule`] for exact issuers, Google, and Entra ID's multi-tenant `{tenantid}` template.
//! - [`Jwks`]: the provider's public keys (RSA ≥ 2048 bits, P-256, Ed25519).
//! - [`verify_id_token`]: a compact-JWS ID token, its signature (RS256, PS256, ES256, EdDSA via
//!   ring) and its claims, into [`IdClaims`].
//! - [`StateKey`]: the signed, browser-bound `state`, from which the nonce and the PKCE
//!   verifier are derived, so the server stores nothing between login start and callback.
//! - [`AuthorizationRequest`], [`parse_callback`], [`TokenRequest`] and [`TokenResponse`]: the
//!   messages of the flow.
//! - [`visitor`]: the embeddable widget's optional visitor identity token, an HS256 JWT the
//!   customer's website signs with the widget's secret ([`visitor::verify_visitor_token`]).
//!
//! What it must never do:
//!
//! - I/O. It does not fetch discovery documents or key sets, call the token endpoint, read the
//!   clock or set cookies; the caller (the HTTP layer) does, and passes bytes and `now` in.
//! - Trust a key from the token itself. The `jwk`, `jku`, `x5u` and `x5c` headers are never
//!   read: the key always comes from the provider's JWKS, chosen by `kid`, and it must be of
//!   the type the token's `alg` needs (so an RSA public key can never become an HMAC secret).
//! - Accept `alg: none`, HMAC algorithms, encrypted tokens (JWE) or `crit` extensions in an ID
//!   token. A visitor token is the one HMAC token, HS256 only, keyed by the widget's secret and
//!   nothing else.
//! - Print secrets: the client secret, the state key, the browser secret, the PKCE verifier,
//!   codes and tokens print as `[redacted]` in `Debug`, are wiped when dropped, and never appear
//!   in error messages.

mod authorize;
mod callback;
mod discovery;
mod id_token;
mod issuer;
mod jwks;
mod jws;
mod oauth_error;
mod pkce;
mod secret;
mod state;
mod strict_json;
#[cfg(test)]
mod test_signer;
mod token;
pub mod visitor;

pub use authorize::{AuthorizationRequest, BASE_SCOPES, Prompt};
pub use callback::{CallbackError, CallbackParams, MAX_CODE_LEN, parse_callback};
pub use discovery::{Discovery, DiscoveryError, MAX_DISCOVERY_BYTES};
pub use id_token::{
    DEFAULT_LEEWAY_SECS, DEFAULT_MAX_AGE_SECS, Expectations, IdClaims, IdTokenError,
    MAX_ID_TOKEN_BYTES, verify_id_token,
};
pub use issuer::{
    GOOGLE_ISSUER, IssuerMismatch, IssuerRule, MICROSOFT_TENANT_TEMPLATE, entra_issuer,
    is_entra_multi_tenant_alias,
};
pub use jwks::{Jwk, Jwks, JwksError, MAX_JWKS_BYTES, MAX_JWKS_KEYS};
pub use jws::Alg;
pub use oauth_error::{MAX_ERROR_DESCRIPTION_CHARS, OAuthError, OAuthErrorCode};
pub use pkce::{CODE_CHALLENGE_METHOD, CodeChallenge, PkceError, PkceVerifier};
pub use secret::SecretString;
pub use state::{
    Begun, DEFAULT_LOGIN_TTL_SECS, Finished, LoginState, MAX_STATE_LEN, ReturnTo, ReturnToError,
    StateError, StateKey, StateKeyLengthError,
};
pub use token::{ClientAuth, MAX_TOKEN_RESPONSE_BYTES, TokenError, TokenRequest, TokenResponse};
