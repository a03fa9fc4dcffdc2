//! The `coverage` tile layer: `GET /tiles/coverage/{z}/{x}/{y}.mvt?from=&to=&radius_m=` and its `TileJSON`.
//!
//! A tile holds the uncovered parts of every ordinary grid whose bounding box meets it (attributes `code`,
//! `name`, `area_coverage`), from core's coverage over the window (parsed as `/v1/coverage` does; default
//! today). Grids' results are cached per (window, R, data and fixes version), see
//! [`CoverageCache`](crate::coverage_cache::CoverageCache); the tiles themselves are encoded per request
//! (cheap). Not in the composite tile: it depends on the window.

use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use geo::BoundingRect;
use geo_types::{Coord, Rect};
use gridmap_core::{AreaId, CleaningPolicy, CoverageParams, clean, coverage};
use gridmap_tiles::{COVERAGE_LAYER, LayerBuilder, Tile, TileCoord};
use serde::Deserialize;

use crate::AppState;
use crate::api::coverage::{grow, parse_radius, parse_window};
use crate::api::tiles::{base_url, parse_tile, tile_response, tilejson};
use crate::coverage_cache::{GridCover, WindowKey};
use crate::error::ApiError;
use crate::state::Snapshot;
use crate::store::{FixQuery, StoredFix};
use crate::tile_cache::EncodedTile;
use crate::tile_index::{buffered_bounds, encode_options, feature_id, layer_id};

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

/// Uncovered parts of the grids in one tile.
#[utoipa::path(get, path = "/tiles/coverage/{z}/{x}/{y}.mvt", tag = "tiles",
    params(
        ("z" = u32, Path, description = "Zoom, 0..=22 (empty below 11)"),
        ("x" = u32, Path, description = "Column, 0..2^z"),
        ("y" = String, Path, description = "Row 0..2^z (y = 0 north) with `.mvt` or `.pbf`"),
        CoverageTileQuery,
    ),
    responses(
        (status = 200, description = "MVT 2.1 tile, layer `coverage`", content_type = "application/vnd.mapbox-vector-tile"),
        (status = 204, description = "Nothing uncovered in this tile"),
        (status = 304, description = "Not modified (If-None-Match)"),
        (status = 400, description = "z/x/y out of range, or a bad window or radius", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn coverage_tile(
    State(state): State<Arc<AppState>>,
    path: Result<Path<(String, String, String)>, PathRejection>,
    query: Result<Query<CoverageTileQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Path((z, x, y)) = path.map_err(|e| ApiError::field("path", e.body_text()))?;
    let Query(query) = query?;
    let tile = parse_tile(&z, &x, &y)?;
    let now = state.now();
    let (from, to) = parse_window(query.from.as_deref(), query.to.as_deref(), now)?;
    let radius_m = parse_radius(query.radius_m.as_deref())?;
    let live = to > now;
    let snapshot = state.snapshot();
    let bytes = if tile.z() < COVERAGE_LAYER.min_zoom {
        Vec::new()
    } else {
        let covers = grid_covers(&state, &snapshot, tile, (from, to), radius_m, live).await?;
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

/// The ordinary grids whose bounding box meets the buffered tile.
fn grids_in(snapshot: &Snapshot, tile: TileCoord) -> Vec<AreaId> {
    let Some(grids) = layer_id("grids") else {
        return Vec::new();
    };
    let query = buffered_bounds(tile, encode_options().buffer_fraction());
    snapshot.tiles.ids_in(grids, &query)
}

/// Each grid's coverage, from the cache or computed now (the missing ones together, one at a time).
async fn grid_covers(
    state: &AppState,
    snapshot: &Arc<Snapshot>,
    tile: TileCoord,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    radius_m: f64,
    live: bool,
) -> Result<Vec<Arc<GridCover>>, ApiError> {
    let cache = &state.coverage_cache;
    let window = WindowKey::new(from, to, radius_m);
    let grids = grids_in(snapshot, tile);
    let lookup = |version: u64| -> (Vec<Arc<GridCover>>, Vec<AreaId>) {
        let mut found = Vec::with_capacity(grids.len());
        let mut missing = Vec::new();
        for &g in &grids {
            match cache.get(window, snapshot.generation, version, g) {
                Some(c) => found.push(c),
                None => missing.push(g),
            }
        }
        (found, missing)
    };
    let (found, missing) = lookup(cache.version());
    if missing.is_empty() {
        return Ok(found);
    }
    let _turn = cache.compute_lock.lock().await;
    // Another request may have computed them while this one waited.
    let version = cache.version();
    let (mut found, missing) = lookup(version);
    if missing.is_empty() {
        return Ok(found);
    }
    let Some(bbox) = union_bounds(snapshot, &missing) else {
        return Ok(found);
    };
    let fixes = state
        .store
        .patrol_fixes(&FixQuery {
            from,
            to,
            near: Some(grow(bbox, radius_m + 10.0)),
        })
        .await?;
    let computed = {
        let snapshot = snapshot.clone();
        let missing = missing.clone();
        tokio::task::spawn_blocking(move || {
            let cleaned = clean(
                fixes.iter().map(StoredFix::to_fix).collect(),
                &CleaningPolicy::default(),
            );
            let params = CoverageParams {
                radius_m,
                ..CoverageParams::new(from, to)
            };
            // Roads are not drawn: the area and its uncovered parts are what the layer shows.
            coverage(&snapshot.index, &missing, &cleaned.tracks, &[], &params)
        })
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
    };
    for (id, c) in missing.into_iter().zip(computed) {
        let cover = Arc::new(GridCover::new(
            c.code,
            c.name,
            c.area_coverage,
            c.uncovered,
            live,
        ));
        cache.insert(window, snapshot.generation, version, id, cover.clone());
        found.push(cover);
    }
    Ok(found)
}

fn union_bounds(snapshot: &Snapshot, ids: &[AreaId]) -> Option<Rect<f64>> {
    ids.iter()
        .filter_map(|&id| snapshot.index.area(id).geometry.bounding_rect())
        .reduce(|a, b| {
            Rect::new(
                Coord {
                    x: a.min().x.min(b.min().x),
                    y: a.min().y.min(b.min().y),
                },
                Coord {
                    x: a.max().x.max(b.max().x),
                    y: a.max().y.max(b.max().y),
                },
            )
        })
}

/// The tile's bytes: one feature per grid with something uncovered in it, in code order.
fn encode(tile: TileCoord, covers: &[Arc<GridCover>]) -> Vec<u8> {
    let options = encode_options();
    let query = buffered_bounds(tile, options.buffer_fraction());
    let mut builder = LayerBuilder::new(COVERAGE_LAYER.name, tile, options);
    let mut shown: Vec<&GridCover> = covers
        .iter()
        .map(AsRef::as_ref)
        .filter(|c| {
            c.bounds.is_some_and(|b| {
                b.min().x <= query.upper()[0]
                    && b.max().x >= query.lower()[0]
                    && b.min().y <= query.upper()[1]
                    && b.max().y >= query.lower()[1]
            })
        })
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
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Query(query) = query?;
    // Checked here so that a bad window fails once, not on every tile.
    parse_window(query.from.as_deref(), query.to.as_deref(), state.now())?;
    parse_radius(query.radius_m.as_deref())?;
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
