//! The Kubernetes launcher's tests, in one binary: the generated objects against the Kubernetes
//! schemas (`schema`), and the client against a loopback stand-in of the API server (`api`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api;
mod fake_api;
mod schema;
