//! The Kubernetes launcher's tests, in one binary: the generated objects against the Kubernetes
//! schemas (`schema`), the client against a loopback stand-in of the API server (`api`), and
//! the launcher inside the real server, installed as `meetvault serve` installs it (`orchestrated`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api;
mod fake_api;
mod orchestrated;
mod schema;
