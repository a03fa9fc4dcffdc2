//! `GET /v1/grids` and `GET /v1/grids/{code}`: areas of every level as GeoJSON (RFC 7946).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use gridmap_core::{Area, Level};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::api::geojson_response;
use crate::api::views::StaffView;
use crate::error::ApiError;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/grids", get(list_grids))
        .route("/v1/grids/{code}", get(get_grid))
}

/// One area as a GeoJSON Feature; `with_staff` adds the staff list.
pub fn area_feature(area: &Area, with_staff: bool) -> Value {
    let mut properties = json!({
        "code": area.code,
        "name": area.name,
        "level": area.level.as_str(),
        "kind": area.kind.map(gridmap_core::GridKind::as_str),
        "parent": area.parent,
        "exclusive": area.is_exclusive(),
    });
    if with_staff {
        properties["staff"] = json!(area.staff.iter().map(StaffView::of).collect::<Vec<_>>());
    }
    json!({
        "type": "Feature",
        "id": area.code,
        "geometry": geojson::Geometry::from(&area.geometry),
        "properties": properties,
    })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct GridListParams {
    /// Only this level (`district`, `street`, `community`, `grid`, `micro_grid`).
    pub level: Option<String>,
    /// Only children of this code.
    pub parent: Option<String>,
    /// `minlon,minlat,maxlon,maxlat`: only areas whose bounding box meets it.
    pub bbox: Option<String>,
}

fn parse_bbox(text: &str) -> Result<[f64; 4], ApiError> {
    let parts: Vec<f64> = text
        .split(',')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| {
            ApiError::field("bbox", "expected four numbers: minlon,minlat,maxlon,maxlat")
        })?;
    let [a, b, c, d]: [f64; 4] = parts.try_into().map_err(|_| {
        ApiError::field("bbox", "expected four numbers: minlon,minlat,maxlon,maxlat")
    })?;
    if ![a, b, c, d].iter().all(|v| v.is_finite())
        || a > c
        || b > d
        || a < -180.0
        || c > 180.0
        || b < -90.0
        || d > 90.0
    {
        return Err(ApiError::field(
            "bbox",
            "must be finite, within -180..180 / -90..90, min before max",
        ));
    }
    Ok([a, b, c, d])
}

/// Areas as a FeatureCollection, filtered by level, parent and bbox.
#[utoipa::path(get, path = "/v1/grids", params(GridListParams), tag = "grids",
    responses((status = 200, description = "GeoJSON FeatureCollection", content_type = "application/geo+json"),
        (status = 400, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn list_grids(
    State(state): State<Arc<AppState>>,
    query: Result<Query<GridListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    use geo::BoundingRect;
    let Query(params) = query?;
    let level: Option<Level> = params.level.as_deref().map(str::parse).transpose()?;
    let bbox = params.bbox.as_deref().map(parse_bbox).transpose()?;
    let snapshot = state.snapshot();
    let features: Vec<Value> = snapshot
        .index
        .areas()
        .iter()
        .filter(|a| level.is_none_or(|l| a.level == l))
        .filter(|a| {
            params
                .parent
                .as_deref()
                .is_none_or(|p| a.parent.as_deref() == Some(p))
        })
        .filter(|a| {
            bbox.is_none_or(|[x0, y0, x1, y1]| {
                a.geometry.bounding_rect().is_some_and(|r| {
                    r.min().x <= x1 && r.max().x >= x0 && r.min().y <= y1 && r.max().y >= y0
                })
            })
        })
        .map(|a| area_feature(a, false))
        .collect();
    Ok(geojson_response(
        &json!({"type": "FeatureCollection", "features": features}),
    ))
}

/// One area with its staff and children.
#[utoipa::path(get, path = "/v1/grids/{code}", params(("code" = String, Path, description = "area code")), tag = "grids",
    responses((status = 200, description = "GeoJSON Feature", content_type = "application/geo+json"),
        (status = 404, body = crate::error::Problem, content_type = "application/problem+json")))]
pub async fn get_grid(
    State(state): State<Arc<AppState>>,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    let snapshot = state.snapshot();
    let id = snapshot
        .index
        .by_code(&code)
        .ok_or_else(|| ApiError::NotFound(format!("area `{code}`")))?;
    let mut feature = area_feature(snapshot.index.area(id), true);
    feature["properties"]["children"] = json!(
        snapshot
            .index
            .children(id)
            .iter()
            .map(|&c| &snapshot.index.area(c).code)
            .collect::<Vec<_>>()
    );
    Ok(geojson_response(&feature))
}
