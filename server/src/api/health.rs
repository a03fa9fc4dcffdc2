//! `/health` for load balancers and `/metrics` for Prometheus.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::Json;
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde::Serialize;

use crate::AppState;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(render_metrics))
}

/// The process-wide Prometheus recorder, installed on first use.
fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        // Fails only if another recorder is installed (tests building several apps share this one).
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// Counts requests and their latency per route.
pub async fn track(request: Request, next: Next) -> Response {
    let _ = prometheus();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("gridmap_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("gridmap_http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok` or `unavailable`.
    pub status: &'static str,
    /// `gpkg` or `postgis`.
    pub backend: &'static str,
    /// Areas in the in-memory index.
    pub areas: usize,
    pub addresses: usize,
    /// Store data version the index was built from.
    pub data_version: i64,
}

/// Up when the store answers (checked at most once a second) and the index is loaded.
#[utoipa::path(get, path = "/health", tag = "operations",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn health(State(state): State<Arc<AppState>>) -> (StatusCode, Json<Health>) {
    let snapshot = state.snapshot();
    let up = state.store_up().await;
    let body = Health {
        status: if up { "ok" } else { "unavailable" },
        backend: state.store.backend(),
        areas: snapshot.index.areas().len(),
        addresses: snapshot.addresses.len(),
        data_version: snapshot.data_version,
    };
    let status = if up {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
pub async fn render_metrics(State(state): State<Arc<AppState>>) -> Response {
    let snapshot = state.snapshot();
    metrics::gauge!("gridmap_areas").set(snapshot.index.areas().len() as f64);
    metrics::gauge!("gridmap_addresses").set(snapshot.addresses.len() as f64);
    metrics::gauge!("gridmap_data_version").set(snapshot.data_version as f64);
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        prometheus().render(),
    )
        .into_response()
}
