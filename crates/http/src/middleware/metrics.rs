//! Prometheus metrics: request count, latency histogram and the database queries each request
//! made (`meetvault_core::count_queries`), by method, route template and status.
//! Labels use the matched route (`/api/v1/meetings/{id}`), never the raw path, so ids and
//! probes cannot blow up the series count.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub method: String,
    pub route: String,
    pub status: u16,
}

type Histograms = Family<HttpLabels, Histogram, fn() -> Histogram>;

#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<HttpLabels, Counter>,
    latency: Histograms,
    queries: Histograms,
}

const QUERY_BUCKETS: [f64; 12] = [
    0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 32.0, 64.0, 128.0,
];

const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("meetvault");
        let requests = Family::<HttpLabels, Counter>::default();
        let latency: Histograms = Family::new_with_constructor(|| Histogram::new(LATENCY_BUCKETS));
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by method, route and status",
            latency.clone(),
        );
        let queries: Histograms = Family::new_with_constructor(|| Histogram::new(QUERY_BUCKETS));
        registry.register(
            "http_request_db_queries",
            "Database queries an HTTP request made (a write transaction counts once), by method, \
             route and status",
            queries.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            queries,
        }
    }

    /// The OpenMetrics text exposition of every metric.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }

    fn observe(&self, labels: HttpLabels, seconds: f64, queries: u32) {
        self.requests.get_or_create(&labels).inc();
        self.latency.get_or_create(&labels).observe(seconds);
        self.queries
            .get_or_create(&labels)
            .observe(f64::from(queries));
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

pub async fn record(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let started = Instant::now();
    // A request that does not write reads one snapshot (on SQLite: one read transaction for
    // all of its reads, not one per statement — the store's reader says why). Not the bots'
    // protocol, whose command poll waits for seconds between reads.
    let reads_only = matches!(*request.method(), Method::GET | Method::HEAD)
        && !request.uri().path().starts_with("/internal/");
    let (response, queries) = if reads_only {
        meetvault_core::count_queries(meetvault_core::one_snapshot(next.run(request))).await
    } else {
        meetvault_core::count_queries(next.run(request)).await
    };
    metrics.observe(
        HttpLabels {
            method,
            route,
            status: response.status().as_u16(),
        },
        started.elapsed().as_secs_f64(),
        queries,
    );
    response
}
