//! meetvault-oidc held to peers it did not write: npm `jose` signs ID tokens our verifier must
//! accept (and refuse once altered) and makes and judges widget visitor tokens alongside ours,
//! and npm `oidc-provider`, a certified OpenID Provider, runs the whole login with us. One test
//! binary, so it links once. The Node packages come from `scripts/oidc-tools.sh` (or
//! `OIDC_NODE_DIR`); without them the tests fail with the reason.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod browser;
mod jose_differential;
mod node;
mod oidc_provider_flow;
mod visitor_differential;
