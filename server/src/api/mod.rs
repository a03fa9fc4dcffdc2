//! HTTP API: one router per module, merged here.

mod access_log;
mod addresses;
mod coverage;
mod coverage_tiles;
pub mod extract;
mod grids;
mod health;
mod history;
mod indicators;
mod locate;
mod openapi;
mod patrol_tracks;
mod patrols;
mod plans;
pub mod reports;
pub mod tiles;
mod web;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use tower_http::compression::CompressionLayer;
use tower_http::cors::CorsLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

use crate::AppState;
use crate::error::ApiError;

pub use openapi::ApiDoc;

/// Media type of GeoJSON answers (RFC 7946).
pub const GEOJSON: &str = "application/geo+json";

/// The whole service; tests call this directly.
pub fn app(state: Arc<AppState>) -> Router {
    let body_limit = state.config.max_body_bytes;
    Router::new()
        .merge(locate::router())
        .merge(addresses::router())
        .merge(grids::router())
        .merge(history::router())
        .merge(reports::router())
        .merge(indicators::router())
        .merge(health::router())
        .merge(openapi::router())
        .merge(tiles::router())
        .merge(web::router())
        .merge(patrols::router())
        .merge(coverage::router())
        .merge(coverage_tiles::router())
        .merge(patrol_tracks::router())
        .merge(plans::router())
        .fallback(not_found)
        .layer(axum::middleware::from_fn(health::track))
        .layer(axum::middleware::from_fn(access_log::log))
        // Outside the log: a client's `x-request-id` is kept, else a UUID is made; either is answered.
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(CompressionLayer::new())
        .layer(CorsLayer::permissive())
        .with_state(state)
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("path `{}`", uri.path()))
}

/// Serialises a GeoJSON value with its media type.
pub fn geojson_response(value: &serde_json::Value) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => ([(header::CONTENT_TYPE, GEOJSON)], body).into_response(),
        Err(e) => ApiError::Internal(e.to_string()).into_response(),
    }
}
