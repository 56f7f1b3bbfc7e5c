//! The layers every request passes through, outermost first: request id and access log,
//! security headers, metrics, error rendering, panic catching, timeout.

pub mod metrics;
pub mod request_id;
pub mod security_headers;
pub mod timeout;
