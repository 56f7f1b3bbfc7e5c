//! What every handler can reach: the domain core and the metrics registry.

use std::sync::Arc;

use meetvault_core::Core;

use crate::middleware::metrics::Metrics;

#[derive(Debug, Clone)]
pub struct AppState {
    pub core: Core,
    pub metrics: Arc<Metrics>,
}
