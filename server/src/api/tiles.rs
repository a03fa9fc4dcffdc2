//! Vector tiles (MVT 2.1) of the areas, excluded ground, roads and labels, and their `TileJSON` 3.0 documents.
//!
//! - `GET /tiles/{layer}/{z}/{x}/{y}.mvt` (or `.pbf`): one layer; `GET /tiles/{z}/{x}/{y}.mvt`: every layer
//!   with content at `z` (a layer has content from its `minzoom` up; beyond its `maxzoom` it is still exact).
//! - `GET /tiles/{layer}.json`, `GET /tiles.json`: `TileJSON` with absolute tile URLs.
//! - `?at=` (RFC 3339) on either tile: the boundaries as they were then (see [`crate::time_travel`]), rendered per
//!   request from a historical index (only the live city's tiles are cached).
//!
//! Answers carry a strong `ETag` (hash of the bytes; `-gz` appended for the gzip representation),
//! `Cache-Control: public, max-age=60` (data can change) and `X-Cache: hit|miss`; gzip comes from the cache,
//! compressed once per tile. 204 for a tile without features; 400 problem+json naming `layer`, `z`, `x` or `y`.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use gridmap_tiles::{LAYERS, LayerSpec, TileCoord, composite_zoom_range};
use serde_json::{Value, json};

use crate::AppState;
use crate::api::extract::{At, AtParam, Opt, TileZxy};
use crate::error::ApiError;
use crate::snapshot::Snapshot;
use crate::tile_cache::{EncodedTile, TileKey};
use crate::tile_index::{LayerId, has_content_at, layer_id};
use crate::time_travel::{CityAt, PastCity};

/// Media type of Mapbox Vector Tiles.
pub const MVT: &str = "application/vnd.mapbox-vector-tile";
/// Browsers and proxies may reuse a tile this long; the data can change at any time, so it is short.
pub const CACHE_CONTROL: &str = "public, max-age=60";
/// The pseudo layer id of the composite tile in the cache.
pub const COMPOSITE: LayerId = LAYERS.len();

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/tiles.json", get(composite_tilejson))
        .route("/tiles/{a}", get(layer_tilejson))
        .route("/tiles/{a}/{b}/{c}", get(composite_tile))
        .route("/tiles/{a}/{b}/{c}/{d}", get(layer_tile))
}

/// The answers of every tile route, for OpenAPI.
#[derive(utoipa::IntoResponses)]
pub enum TileAnswers {
    /// MVT 2.1 tile, gzip when accepted.
    #[response(status = 200, content_type = "application/vnd.mapbox-vector-tile")]
    Tile(Vec<u8>),
    /// No feature in this tile.
    #[response(status = 204)]
    Empty,
    /// Not modified (If-None-Match).
    #[response(status = 304)]
    NotModified,
    /// Unknown layer, z/x/y out of range, or a bad parameter.
    #[response(status = 400, content_type = "application/problem+json")]
    Invalid(crate::error::Problem),
}

/// One layer of one tile.
#[utoipa::path(get, path = "/tiles/{layer}/{z}/{x}/{y}.mvt", tag = "tiles",
    params(("layer" = String, Path, description = "districts, streets, communities, grids, micro_grids, exclusive, excluded, roads or labels"),
        TileZxy, AtParam),
    responses(TileAnswers))]
pub async fn layer_tile(
    State(state): State<Arc<AppState>>,
    path: Result<Path<(String, String, String, String)>, PathRejection>,
    TileZxy(tile): TileZxy,
    Opt(at): AtParam,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Path((layer, ..)) = path.map_err(|e| ApiError::field("path", e.body_text()))?;
    let layer = layer_id(&layer).ok_or_else(|| unknown_layer(&layer))?;
    let snapshot = match state.city_at(at.map(|At(t)| t)).await? {
        CityAt::Current(snapshot) => snapshot,
        CityAt::Past(past) => return past_tile(past, Some(layer), tile, &headers).await,
    };
    let (encoded, hit) = state
        .tile_cache
        .get_or_render(&snapshot, TileKey { layer, tile }, || {
            snapshot
                .tiles
                .render(&snapshot.index, &snapshot.roads, layer, tile)
        });
    Ok(tile_response(&encoded, hit, &headers))
}

/// Every layer with content at `z`, in the layer table's order (labels last).
#[utoipa::path(
    get,
    path = "/tiles/{z}/{x}/{y}.mvt",
    tag = "tiles",
    params(TileZxy, AtParam),
    responses(TileAnswers)
)]
pub async fn composite_tile(
    State(state): State<Arc<AppState>>,
    TileZxy(tile): TileZxy,
    Opt(at): AtParam,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let snapshot = match state.city_at(at.map(|At(t)| t)).await? {
        CityAt::Current(snapshot) => snapshot,
        CityAt::Past(past) => return past_tile(past, None, tile, &headers).await,
    };
    let cache = &state.tile_cache;
    let (encoded, hit) = cache.get_or_render(
        &snapshot,
        TileKey {
            layer: COMPOSITE,
            tile,
        },
        || composite_bytes(&state, &snapshot, tile),
    );
    Ok(tile_response(&encoded, hit, &headers))
}

/// A tile of a past city (`layer` `None`: the composite), rendered per request: the tile cache holds the
/// live city only. The `ETag` is the bytes' hash as for live tiles.
async fn past_tile(
    past: Arc<PastCity>,
    layer: Option<LayerId>,
    tile: TileCoord,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let bytes = tokio::task::spawn_blocking(move || {
        let render = |layer| {
            past.tiles()
                .render(&past.index, &past.base.roads, layer, tile)
        };
        match layer {
            Some(layer) => render(layer),
            None => LAYERS
                .iter()
                .enumerate()
                .filter(|(_, spec)| has_content_at(spec, tile.z()))
                .flat_map(|(layer, _)| render(layer))
                .collect(),
        }
    })
    .await?;
    Ok(tile_response(&EncodedTile::new(bytes, 0), false, headers))
}

/// The composite tile's bytes: protobuf concatenation of the single-layer tiles merges their layers.
fn composite_bytes(state: &AppState, snapshot: &Snapshot, tile: TileCoord) -> Vec<u8> {
    let parts: Vec<Arc<EncodedTile>> = LAYERS
        .iter()
        .enumerate()
        .filter(|(_, spec)| has_content_at(spec, tile.z()))
        .map(|(layer, _)| {
            state
                .tile_cache
                .get_or_render(snapshot, TileKey { layer, tile }, || {
                    snapshot
                        .tiles
                        .render(&snapshot.index, &snapshot.roads, layer, tile)
                })
                .0
        })
        .collect();
    let mut bytes = Vec::with_capacity(parts.iter().map(|p| p.bytes.len()).sum());
    for part in &parts {
        bytes.extend_from_slice(&part.bytes);
    }
    bytes
}

fn unknown_layer(name: &str) -> ApiError {
    let names: Vec<&str> = LAYERS.iter().map(|l| l.name).collect();
    ApiError::field(
        "layer",
        format!("unknown layer `{name}`; layers are {}", names.join(", ")),
    )
}

/// 200 with the bytes (gzip when accepted), 204 when empty, 304 when the client has them.
pub(crate) fn tile_response(tile: &EncodedTile, hit: bool, headers: &HeaderMap) -> Response {
    let gzip = accepts_gzip(headers);
    let hash = format!("{:016x}", tile.hash);
    let etag = if gzip {
        format!("\"{hash}-gz\"")
    } else {
        format!("\"{hash}\"")
    };
    let status = if if_none_match(headers, &hash) {
        StatusCode::NOT_MODIFIED
    } else if tile.bytes.is_empty() {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::OK
    };
    let mut response = if status == StatusCode::OK {
        if gzip {
            let mut r = Body::from(tile.gzip()).into_response();
            r.headers_mut()
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            r
        } else {
            Body::from(tile.bytes.clone()).into_response()
        }
    } else {
        Body::empty().into_response()
    };
    *response.status_mut() = status;
    let h = response.headers_mut();
    if status == StatusCode::OK {
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(MVT));
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        "x-cache",
        HeaderValue::from_static(if hit { "hit" } else { "miss" }),
    );
    response
}

/// True when `Accept-Encoding` lists gzip (or `*`) with a non-zero quality.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or_default().trim();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && q > 0.0
        })
}

/// True when `If-None-Match` names this content (either representation) or is `*`.
fn if_none_match(headers: &HeaderMap, hash: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/").trim_matches('"'))
        .any(|tag| tag == "*" || tag == hash || tag.strip_suffix("-gz") == Some(hash))
}

/// `TileJSON` of the composite tiles (all layers).
#[utoipa::path(get, path = "/tiles.json", tag = "tiles",
    responses((status = 200, description = "TileJSON 3.0.0", content_type = "application/json")))]
pub async fn composite_tilejson(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Response {
    let (min_zoom, max_zoom) = composite_zoom_range();
    let url = format!("{}/tiles/{{z}}/{{x}}/{{y}}.mvt", base_url(&state, &headers));
    let doc = tilejson(
        &state.snapshot(),
        "gridmap",
        "Grids of community governance: districts to micro-grids, exclusive grids, ground no grid takes, roads, labels",
        &url,
        (min_zoom, max_zoom),
        &LAYERS.iter().collect::<Vec<_>>(),
    );
    axum::Json(doc).into_response()
}

/// `TileJSON` of one layer: `GET /tiles/{layer}.json`.
#[utoipa::path(get, path = "/tiles/{layer}.json", tag = "tiles",
    params(("layer" = String, Path, description = "A layer name")),
    responses(
        (status = 200, description = "TileJSON 3.0.0", content_type = "application/json"),
        (status = 400, description = "Unknown layer", body = crate::error::Problem, content_type = "application/problem+json"),
    ))]
pub async fn layer_tilejson(
    State(state): State<Arc<AppState>>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Some(name) = file.strip_suffix(".json") else {
        return Err(ApiError::NotFound(format!("path `/tiles/{file}`")));
    };
    let spec = gridmap_tiles::layer(name).ok_or_else(|| unknown_layer(name))?;
    let url = format!(
        "{}/tiles/{}/{{z}}/{{x}}/{{y}}.mvt",
        base_url(&state, &headers),
        spec.name
    );
    let doc = tilejson(
        &state.snapshot(),
        &format!("gridmap {}", spec.name),
        spec.description,
        &url,
        (spec.min_zoom, spec.max_zoom),
        &[spec],
    );
    Ok(axum::Json(doc).into_response())
}

/// The configured public URL, else `http(s)://{Host}` from the request.
pub(crate) fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.config.public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let host = header("x-forwarded-host")
        .or_else(|| header(header::HOST.as_str()))
        .unwrap_or("localhost");
    let scheme = header("x-forwarded-proto").unwrap_or("http");
    format!("{scheme}://{host}")
}

pub(crate) fn tilejson(
    snapshot: &Snapshot,
    name: &str,
    description: &str,
    url: &str,
    (min_zoom, max_zoom): (u8, u8),
    layers: &[&LayerSpec],
) -> Value {
    let (bounds, center) = match snapshot.tiles.bounds() {
        Some(b) => {
            let span_deg = b.width().max(b.height()).max(1e-9);
            // The zoom at which the data's larger side spans about one 512 px tile.
            let fit = (360.0 / span_deg).log2().floor().clamp(0.0, 22.0) as u8;
            let zoom = fit.clamp(min_zoom, max_zoom);
            let c = b.center();
            (
                json!([b.min().x, b.min().y, b.max().x, b.max().y]),
                json!([c.x, c.y, zoom]),
            )
        }
        None => (
            json!([-180.0, -85.051_128_779_806_59, 180.0, 85.051_128_779_806_59]),
            json!([0.0, 0.0, min_zoom]),
        ),
    };
    let vector_layers: Vec<Value> = layers
        .iter()
        .map(|l| {
            let fields: serde_json::Map<String, Value> = l
                .fields
                .iter()
                .map(|(k, t)| ((*k).to_owned(), Value::String((*t).to_owned())))
                .collect();
            json!({
                "id": l.name,
                "description": l.description,
                "minzoom": l.min_zoom,
                "maxzoom": l.max_zoom,
                "fields": fields,
            })
        })
        .collect();
    json!({
        "tilejson": "3.0.0",
        "name": name,
        "description": description,
        "version": "1.0.0",
        "scheme": "xyz",
        "tiles": [url],
        "minzoom": min_zoom,
        "maxzoom": max_zoom,
        "bounds": bounds,
        "center": center,
        "vector_layers": vector_layers,
    })
}
