//! The routes, one module per resource. Each handler is annotated for OpenAPI and registered in
//! [`crate::router`], so the served document is generated from the handlers themselves.

pub mod health;
pub mod instance;
pub mod metrics;
pub mod openapi;
pub mod security_txt;
