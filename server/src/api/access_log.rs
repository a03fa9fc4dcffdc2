//! One structured log line per request: method, matched route, status, latency and request id.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use tower_http::request_id::RequestId;
use tracing::Instrument;

/// Logs the request at `info` once its response head is ready (for a stream such as
/// `/v1/reports/stream` the latency is to the first byte); `/health`, `/metrics` and tiles, polled
/// all the time, at `debug` unless they fail. Whatever the handler logs carries the request id.
pub async fn log(request: Request, next: Next) -> Response {
    // The route pattern, not the path: ids stay out of the field, as in the metrics.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let quiet = route == "/health" || route == "/metrics" || is_tile(&route, request.uri().path());
    let method = request.method().clone();
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let started = Instant::now();
    let response = next
        .run(request)
        .instrument(tracing::info_span!("request", request_id = %request_id))
        .await;
    // Milliseconds to 0.01.
    let latency_ms = (started.elapsed().as_secs_f64() * 100_000.0).round() / 100.0;
    let status = response.status().as_u16();
    if quiet && !response.status().is_server_error() {
        tracing::debug!(%method, route, status, latency_ms, request_id, "request");
    } else {
        tracing::info!(%method, route, status, latency_ms, request_id, "request");
    }
    response
}

/// A vector tile (`/tiles/…/{y}.mvt`, coverage included), not a TileJSON document.
fn is_tile(route: &str, path: &str) -> bool {
    route.starts_with("/tiles/")
        && std::path::Path::new(path)
            .extension()
            .is_some_and(|e| e == "mvt")
}
