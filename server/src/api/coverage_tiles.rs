//! The `coverage` tile layer: `GET /tiles/coverage/{z}/{x}/{y}.mvt?from=&to=&radius_m=` and its `TileJSON`.
//!
//! A tile holds the uncovered parts of every ordinary grid whose bounding box meets it (attributes `code`,
//! `name`, `area_coverage`), from core's coverage over the window (parsed as `/v1/coverage` does; default
//! today). Grids' results are cached per (window, R, data and fixes version), see
//! [`CoverageCache`](crate::coverage_cache::CoverageCache); the tiles themselves are encoded per request
//! (cheap). Not in the composite tile: it depends on the window.

use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use geo::Intersects;
use geo_types::Rect;
use gridmap_tiles::{COVERAGE_LAYER, LayerBuilder, Tile, TileCoord};
use serde::Deserialize;

use crate::AppState;
use crate::api::extract::{Opt, Radius, RadiusParam, TileZxy, Window};
use crate::api::tiles::{TileAnswers, base_url, tile_response, tilejson};
use crate::coverage_cache::GridCover;
use crate::error::ApiError;
use crate::service::coverage;
use crate::tile_cache::EncodedTile;
use crate::tile_index::{buffered_bounds, encode_options, feature_id};

/// Browsers may reuse a tile of a window that includes now only briefly: fixes keep arriving.
pub const LIVE_CACHE_CONTROL: &str = "public, max-age=10";
/// A past window changes only by late uploads.
pub const CLOSED_CACHE_CONTROL: &str = "public, max-age=300";

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/tiles/coverage.json", get(coverage_tilejson))
        .route("/tiles/coverage/{z}/{x}/{y}", get(coverage_tile))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct CoverageTileQuery {
    /// Start: RFC 3339 time or a date (its start in Beijing time). Default: today's start.
    pub from: Option<String>,
    /// End, exclusive: RFC 3339 time or a date (that whole day included). Default: `from` + 1 day.
    pub to: Option<String>,
    /// R in metres, 1..500 (default 30).
    pub radius_m: Option<String>,
}

/// Uncovered parts of the grids in one tile (empty below zoom 11).
#[utoipa::path(
    get,
    path = "/tiles/coverage/{z}/{x}/{y}.mvt",
    tag = "tiles",
    params(TileZxy, CoverageTileQuery),
    responses(TileAnswers)
)]
pub async fn coverage_tile(
    State(state): State<Arc<AppState>>,
    TileZxy(tile): TileZxy,
    window: Window,
    Opt(radius): RadiusParam,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let now = state.now();
    let (from, to) = coverage::window(window.from, window.to, now)?;
    let radius_m = Radius::or_default(radius);
    let live = to > now;
    let snapshot = state.snapshot();
    let bytes = if tile.z() < COVERAGE_LAYER.min_zoom {
        Vec::new()
    } else {
        let covers =
            coverage::grid_covers(&state, &snapshot, tile, (from, to), radius_m, live).await?;
        encode(tile, &covers)
    };
    let encoded = EncodedTile::new(bytes, snapshot.generation);
    let mut response = tile_response(&encoded, false, &headers);
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if live {
            LIVE_CACHE_CONTROL
        } else {
            CLOSED_CACHE_CONTROL
        }),
    );
    Ok(response)
}

/// The tile's bytes: one feature per grid with something uncovered in it, in code order.
fn encode(tile: TileCoord, covers: &[Arc<GridCover>]) -> Vec<u8> {
    let options = encode_options();
    let query = buffered_bounds(tile, options.buffer_fraction());
    let area = Rect::new(query.lower(), query.upper());
    let mut builder = LayerBuilder::new(COVERAGE_LAYER.name, tile, options);
    let mut shown: Vec<&GridCover> = covers
        .iter()
        .map(AsRef::as_ref)
        .filter(|c| c.bounds.is_some_and(|b| b.intersects(&area)))
        .collect();
    shown.sort_by(|a, b| a.code.cmp(&b.code));
    for c in shown {
        builder.add_multi_polygon(
            Some(feature_id(&c.code)),
            &c.uncovered,
            &[
                ("code", c.code.as_str().into()),
                ("name", c.name.as_str().into()),
                ("area_coverage", c.area_coverage.into()),
            ],
        );
    }
    if builder.is_empty() {
        return Vec::new();
    }
    Tile::from(builder.finish()).encode()
}

/// `TileJSON` of the coverage layer; its tile URL keeps the request's window parameters.
#[utoipa::path(get, path = "/tiles/coverage.json", tag = "tiles",
    params(CoverageTileQuery),
    responses((status = 200, description = "TileJSON 3.0.0", content_type = "application/json"),
        (status = 400, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn coverage_tilejson(
    State(state): State<Arc<AppState>>,
    query: Result<Query<CoverageTileQuery>, QueryRejection>,
    window: Window,
    _: RadiusParam,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Query(query) = query?;
    // Checked here so that a bad window fails once, not on every tile.
    coverage::window(window.from, window.to, state.now())?;
    let params: Vec<String> = [
        ("from", &query.from),
        ("to", &query.to),
        ("radius_m", &query.radius_m),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.as_deref().map(|v| format!("{k}={}", encode_param(v))))
    .collect();
    let mut url = format!(
        "{}/tiles/coverage/{{z}}/{{x}}/{{y}}.mvt",
        base_url(&state, &headers)
    );
    if !params.is_empty() {
        url = format!("{url}?{}", params.join("&"));
    }
    let doc = tilejson(
        &state.snapshot(),
        "gridmap coverage",
        COVERAGE_LAYER.description,
        &url,
        (COVERAGE_LAYER.min_zoom, COVERAGE_LAYER.max_zoom),
        &[&COVERAGE_LAYER],
    );
    Ok(axum::Json(doc).into_response())
}

/// Percent-encodes a query value (RFC 3986 unreserved characters pass).
fn encode_param(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~:".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
