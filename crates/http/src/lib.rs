//! meetvault's HTTP face: the router, middleware, the one `ApiError`, the JSON extractor,
//! OpenAPI, TLS and the server lifecycle. The only crate that knows HTTP and JSON bodies;
//! handlers are thin and call `meetvault-core`.

pub mod auth;
pub mod dashboard;
pub mod error;
mod json;
pub mod middleware;
mod peer;
mod redirect;
mod router;
pub mod routes;
mod server;
mod state;
pub mod tls;
pub mod wire;

pub use error::ApiError;
pub use json::{ApiJson, BodyLimit, parse as parse_json};
pub use peer::PeerAddr;
pub use router::{app, openapi, openapi_json};
pub use server::{Server, ServerError};
pub use state::AppState;
