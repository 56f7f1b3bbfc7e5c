//! The layers every request passes through, outermost first: request id and access log,
//! security headers, metrics, error rendering, the allowed-hosts check, panic catching, timeout.

pub mod allowed_hosts;
pub mod metrics;
pub mod request_id;
pub mod security_headers;
pub mod timeout;
